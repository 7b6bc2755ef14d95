//! Reads untrusted text as an SD-JWT presentation (what a verifier receives from anyone): it
//! is refused or verified, never a panic, and a holder's presentation of it never panics; and
//! as a status list's `lst`, a did:key and a did:web.
#![no_main]

use civitas_credentials::keys::PublicKey;
use civitas_credentials::sdjwt::{self, KeyBinding, Policy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let issuer = PublicKey::from_jwk(&serde_json::json!({"kty": "EC", "crv": "P-256",
        "x": "b28d4MwZMjw8-00CG4xfnn9SLMVMM19SlqZpVb_uNtQ",
        "y": "Xv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk8"}))
    .expect("RFC 9901's example issuer key");
    let policy = Policy {
        typ: None,
        now: 1_800_000_000,
        leeway_secs: 60,
        key_binding: Some(KeyBinding {
            audience: "https://verifier.example.org",
            nonce: "1234567890",
            max_age_secs: 300,
        }),
    };
    let _ = sdjwt::verify(text, &issuer, &policy);
    let _ = sdjwt::present(text, &["address.country", "nationalities.0"], None);
    for part in text.split('~') {
        let _ = sdjwt::Disclosure::parse(part);
    }
    // A status list's lst, bounded as a verifier reads it, and identifiers.
    let _ = civitas_credentials::status::StatusList::from_json(
        &serde_json::json!({"bits": 1, "lst": text}),
        1 << 20,
    );
    let _ = civitas_credentials::did::from_did_key(text);
    let _ = civitas_credentials::did::did_web_url(text);
});
