//! Every failure a rule can record has a sentence in the catalogue (`civitas_core::messages`).
//!
//! Receipts record a code and named arguments; the sentence is rendered from the catalogue by
//! the code and the argument names. This test reads every `failure!`/`fail!` in the modules'
//! packages, the kit and the executor and checks that the catalogue has a template for exactly
//! those names, so a new rule cannot ship with a failure people would read as a bare code.

use civitas_core::messages::template;
use std::path::Path;

/// One `failure!`: its file, code, argument names and the literal value of `problem`, if any.
type Invocation = (String, String, Vec<String>, Option<String>);

/// Every `failure!(...)` and `fail!(...)` under `dir`.
fn invocations(dir: &Path, found: &mut Vec<Invocation>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            invocations(&path, found);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for marker in ["failure!(", "fail!("] {
            let mut rest = text.as_str();
            while let Some(at) = rest.find(marker) {
                let body = &rest[at + marker.len()..];
                rest = body;
                // The macro definitions themselves take token trees, not a code.
                let Some(body) = body.trim_start().strip_prefix('"') else {
                    continue;
                };
                let Some(end) = body.find('"') else { continue };
                let code = body[..end].to_string();
                // Up to the matching parenthesis.
                let mut depth = 1usize;
                let mut close = end;
                for (i, c) in body[end..].char_indices() {
                    match c {
                        '(' => depth += 1,
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                close = end + i;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                let args = &body[end + 1..close];
                let mut names = Vec::new();
                let problem = args.split_once("problem = \"").and_then(|(_, value)| {
                    value.split_once('"').map(|(value, _)| value.to_string())
                });
                let mut level = 0usize;
                for part in args.split_inclusive([',', '(', ')', '[', ']']) {
                    let trimmed = part.trim_start_matches([',', ' ', '\n']);
                    if level == 0
                        && let Some((name, _)) = trimmed.split_once(" =")
                        && !name.is_empty()
                        && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                    {
                        names.push(name.to_string());
                    }
                    level += part.matches(['(', '[']).count();
                    level = level.saturating_sub(part.matches([')', ']']).count());
                }
                found.push((path.display().to_string(), code, names, problem));
            }
        }
    }
}

#[test]
fn every_recorded_failure_has_a_sentence() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    // Every module's package (its handler and authorization), the kit and the executor.
    invocations(&root.join("../../modules"), &mut found);
    invocations(&root.join("../kit/src"), &mut found);
    invocations(&root.join("../exec/src"), &mut found);
    assert!(found.len() > 60, "only {} failures found", found.len());
    let mut problems = 0;
    for (file, code, names, problem) in &found {
        // `problem` selects among a code's templates by its value.
        let args: Vec<(&str, &str)> = names
            .iter()
            .map(|n| match (n.as_str(), problem) {
                ("problem", Some(value)) => ("problem", value.as_str()),
                (name, _) => (name, "1"),
            })
            .collect();
        problems += usize::from(problem.is_some());
        assert!(
            template(code, &args).is_some(),
            "{file}: failure {code:?} with arguments {names:?} has no sentence in \
             civitas_core::messages"
        );
    }
    assert!(
        problems >= 8,
        "the invalid_policy problems were not all found"
    );
}

#[test]
fn limits_of_money_name_their_record_and_amounts() {
    use civitas_core::messages::render;
    let exceeds = [
        ("appropriation", "4"),
        ("after", "1500 EUR"),
        ("amount", "500 EUR"),
        ("excess", "500 EUR"),
        ("limit", "1000 EUR"),
    ];
    for code in ["exceeds_allotment", "exceeds_appropriation"] {
        assert!(template(code, &exceeds).is_some(), "{code}");
    }
    let mut with_appropriated = exceeds.to_vec();
    with_appropriated.push(("appropriated", "3000 EUR"));
    assert!(template("exceeds_allotment", &with_appropriated).is_some());
    let mut commitment = exceeds.to_vec();
    commitment[0] = ("commitment", "2");
    assert!(template("exceeds_commitment", &commitment).is_some());
    for (code, subject) in [
        ("below_allotted", "appropriation"),
        ("below_committed", "appropriation"),
        ("below_paid", "commitment"),
    ] {
        let below = [
            (subject, "4"),
            ("amount", "500 EUR"),
            ("after", "500 EUR"),
            ("shortfall", "100 EUR"),
            ("floor", "600 EUR"),
        ];
        assert!(template(code, &below).is_some(), "{code}");
        let more = [
            (subject, "4"),
            ("amount", "500 EUR"),
            ("current", "400 EUR"),
        ];
        assert!(template(code, &more).is_some(), "{code}");
        assert!(!render(code, &more).contains('{'));
    }
}
