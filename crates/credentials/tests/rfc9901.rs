//! RFC 9901's own examples (Appendix A, Section 5.1), kept in `vectors/rfc9901.json`: its
//! disclosures digest as the RFC says, its SD-JWTs verify with the examples' issuer key and
//! give the claims the RFC shows, and a presentation of one, bound to the examples' holder
//! key, verifies.

use civitas_credentials::keys::{PublicKey, SigningKey};
use civitas_credentials::sdjwt::{self, Binding, Disclosure, KeyBinding, Policy};
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!("vectors/rfc9901.json")).expect("the vectors")
}

/// Before the examples' `exp` (2029-09-01).
const NOW: u64 = 1_800_000_000;

fn policy() -> Policy<'static> {
    Policy {
        typ: None,
        now: NOW,
        leeway_secs: 60,
        key_binding: None,
    }
}

#[test]
fn the_rfc_s_disclosures_digest_as_it_says() {
    for case in vectors()["disclosures"].as_array().expect("disclosures") {
        let encoded = case["encoded"].as_str().expect("encoded");
        let disclosure = Disclosure::parse(encoded).expect("parsed");
        assert_eq!(disclosure.salt, case["salt"]);
        assert_eq!(disclosure.name.as_deref(), case["name"].as_str());
        assert_eq!(disclosure.value, case["value"]);
        assert_eq!(disclosure.digest(), case["digest"], "{encoded}");
    }
}

#[test]
fn the_rfc_s_examples_verify_and_give_its_claims() {
    let vectors = vectors();
    let issuer = PublicKey::from_jwk(&vectors["issuer_key"]).expect("the issuer's key");
    for case in vectors["examples"].as_array().expect("examples") {
        let name = case["name"].as_str().unwrap_or("");
        let text = case["sd_jwt"].as_str().expect("an SD-JWT");
        let verified = sdjwt::verify(text, &issuer, &policy()).expect(name);
        assert_eq!(Value::Object(verified.claims), case["claims"], "{name}");
        assert_eq!(
            verified.disclosed.len() as u64,
            case["disclosed"].as_u64().unwrap_or(0),
            "{name}"
        );
        // Another key does not verify it.
        let stranger = SigningKey::generate_p256().expect("a key").public();
        assert_eq!(
            sdjwt::verify(text, &stranger, &policy()).map_err(|e| e.code()),
            Err("bad_signature"),
            "{name}"
        );
    }
}

#[test]
fn a_presentation_of_the_rfc_s_sd_jwt_vc_shows_only_what_is_chosen() {
    let vectors = vectors();
    let issuer = PublicKey::from_jwk(&vectors["issuer_key"]).expect("the issuer's key");
    let holder = SigningKey::from_jwk(&vectors["holder_key"]).expect("the holder's key");
    let issued = vectors["examples"][1]["sd_jwt"].as_str().expect("A.3");
    let binding = Binding {
        key: &holder,
        audience: "https://verifier.example.org",
        nonce: "1234567890",
        iat: NOW,
    };
    let shown = sdjwt::present(
        issued,
        &["age_equal_or_over.18", "address.country"],
        Some(&binding),
    )
    .expect("presented");
    let policy = Policy {
        key_binding: Some(KeyBinding {
            audience: "https://verifier.example.org",
            nonce: "1234567890",
            max_age_secs: 300,
        }),
        ..policy()
    };
    let verified = sdjwt::verify(&shown, &issuer, &policy).expect("verified");
    assert!(verified.key_bound);
    let mut disclosed = verified.disclosed.clone();
    disclosed.sort();
    assert_eq!(
        disclosed,
        ["address", "address.country", "age_equal_or_over.18"]
    );
    assert_eq!(verified.claims["age_equal_or_over"]["18"], true);
    assert_eq!(verified.claims["address"]["country"], "DE");
    for hidden in ["given_name", "family_name", "birthdate"] {
        assert!(
            !verified.claims.contains_key(hidden),
            "{hidden} is not shown"
        );
    }
    assert!(verified.claims["address"].get("locality").is_none());
}

/// The RFC's SD-JWT+KB (Appendix A.4): its key binding, made by the examples' holder key for
/// their verifier and nonce, verifies here, which checks `sd_hash` against an independent
/// computation; for another nonce it is refused.
#[test]
fn the_rfc_s_key_bound_presentation_verifies() {
    let vectors = vectors();
    let issuer = PublicKey::from_jwk(&vectors["issuer_key"]).expect("the issuer's key");
    for case in vectors["presentations"].as_array().expect("presentations") {
        let name = case["name"].as_str().unwrap_or("");
        let text = case["presentation"].as_str().expect("a presentation");
        let iat = case["iat"].as_u64().expect("iat");
        let audience = case["audience"].as_str().expect("audience");
        let nonce = case["nonce"].as_str().expect("nonce");
        let policy = |nonce| Policy {
            typ: None,
            now: iat + 10,
            leeway_secs: 60,
            key_binding: Some(KeyBinding {
                audience,
                nonce,
                max_age_secs: 300,
            }),
        };
        let verified = sdjwt::verify(text, &issuer, &policy(nonce)).expect(name);
        assert!(verified.key_bound, "{name}");
        assert_eq!(Value::Object(verified.claims), case["claims"], "{name}");
        assert_eq!(
            verified.disclosed.len() as u64,
            case["disclosed"].as_u64().unwrap_or(0)
        );
        assert_eq!(
            sdjwt::verify(text, &issuer, &policy("another")).map_err(|e| e.code()),
            Err("key_binding"),
            "{name}"
        );
    }
}
