//! The OCDS merge against the reference implementation's published fixtures (`ocdsmerge`
//! 0.8.0, OCDS 1.1): every compiled and versioned release must come out exactly as published.

use civitas_modules::procurement::ocds::{merge, merge_rules};
use serde_json::Value;
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ocdsmerge-1.1")
}

fn load(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn compiled_and_versioned_releases_match_the_reference_fixtures() {
    let mut checked = 0;
    let mut names: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            name.ends_with(".json")
                && !name.ends_with("-compiled.json")
                && !name.ends_with("-versioned.json")
        })
        .collect();
    names.sort();
    let mut failures = Vec::new();
    for input in names {
        let stem = input.file_stem().unwrap().to_string_lossy().to_string();
        let releases = load(&input);
        let releases = releases.as_array().expect("a list of releases").clone();
        for (kind, expected_path) in [
            ("compiled", fixtures().join(format!("{stem}-compiled.json"))),
            (
                "versioned",
                fixtures().join(format!("{stem}-versioned.json")),
            ),
        ] {
            let expected = load(&expected_path);
            let got = match kind {
                "compiled" => merge::compile(&releases, merge_rules()),
                _ => merge::versioned(&releases, merge_rules()),
            }
            .unwrap_or_else(|e| panic!("{stem} ({kind}): {e}"));
            if got != expected {
                failures.push(format!(
                    "{stem} ({kind}):\n  expected {expected}\n  got      {got}"
                ));
            }
            checked += 1;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(checked, 34, "every fixture pair was read");
}
