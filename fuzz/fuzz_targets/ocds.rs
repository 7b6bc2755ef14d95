//! Feeds untrusted bytes to what `civitas ocds validate/import` and `POST /v1/ocds/validate`
//! run on a package: JSON parsing, schema validation, and merging its releases (compiled and
//! versioned). None may panic, whatever the input.
#![no_main]

use civitas_modules::procurement::ocds::{merge, merge_rules, validate_release_package};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(package) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let _ = validate_release_package(&package);
    if let Some(releases) = package.get("releases").and_then(|r| r.as_array()) {
        let _ = merge::compile(releases, merge_rules());
        let _ = merge::versioned(releases, merge_rules());
    }
});
