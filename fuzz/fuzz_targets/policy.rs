//! Parses untrusted text as a policy change (what a governance proposal carries) and, if it
//! parses, checks it against the default schema: never a panic, only a typed refusal.
#![no_main]

use civitas_modules::authz;
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static SCHEMA: LazyLock<String> = LazyLock::new(authz::default_schema);

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(entry) = authz::parse_policy(text)
    {
        let _ = authz::compile(&SCHEMA, &[entry]);
    }
});
