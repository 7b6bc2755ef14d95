//! Interoperability, both ways, with an independent implementation: the OpenWallet
//! Foundation's SD-JWT VC library for Node.js (`tests/interop`, installed with `npm ci` when
//! missing). It verifies a presentation Civitas made (signature, disclosures, key binding for
//! its nonce); it issues an SD-JWT VC with nested and array disclosures, and its presentation
//! verifies here, showing exactly what its holder chose.

mod common;

use civitas_credentials::keys::{PublicKey, SigningKey};
use civitas_credentials::sdjwt::{self, Binding, KeyBinding, Policy};
use serde_json::{Value, json};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

const AUDIENCE: &str = "https://verifier.civitas.example";
const NONCE: &str = "5e1d0c0b-interop";

/// `tests/interop`, its packages installed.
fn suite() -> PathBuf {
    let suite = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop");
    if !suite.join("node_modules/@sd-jwt/sd-jwt-vc").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&suite)
            .status()
            .expect("npm (Node.js 20 or later) is needed for the interoperability tests");
        assert!(status.success(), "npm ci in tests/interop failed");
    }
    suite
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[test]
fn sd_jwt_vcs_verify_both_ways_with_the_openwallet_foundation_library() {
    let now = now();
    let issuer = SigningKey::generate_p256().expect("a key");
    let holder = SigningKey::generate_p256().expect("a key");
    let issued = common::issued(&issuer, &holder, now);
    let presentation = sdjwt::present(
        &issued.serialize(),
        &["age_over_18", "residence.municipality", "nationalities.1"],
        Some(&Binding {
            key: &holder,
            audience: AUDIENCE,
            nonce: NONCE,
            iat: now,
        }),
    )
    .expect("presented");
    let input = json!({
        "issuer": issuer.public().to_jwk(),
        "presentation": presentation,
        "holder": holder.to_jwk(),
        "audience": AUDIENCE,
        "nonce": NONCE,
        "now": now,
    });
    let mut node = Command::new("node")
        .arg("sdjwt.mjs")
        .current_dir(suite())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node (Node.js 20 or later)");
    node.stdin
        .take()
        .expect("its input")
        .write_all(input.to_string().as_bytes())
        .expect("written");
    let output = node.wait_with_output().expect("it ran");
    assert!(
        output.status.success(),
        "the independent library refused: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: Value = serde_json::from_slice(&output.stdout).expect("its JSON");

    // 1. It saw what the holder chose, and nothing else.
    let seen = &answer["verified"];
    assert_eq!(seen["age_over_18"], true, "{seen}");
    assert_eq!(
        seen["residence"],
        json!({"municipality": "Riverton"}),
        "{seen}"
    );
    assert_eq!(seen["nationalities"], json!(["FR"]), "{seen}");
    assert_eq!(answer["kb"]["nonce"], NONCE);

    // 2. Its credential, presented by the holder, verifies here.
    let theirs = PublicKey::from_jwk(&answer["issuer"]).expect("its issuer key");
    let policy = Policy {
        typ: Some(sdjwt::VC_TYPS),
        now,
        leeway_secs: 60,
        key_binding: Some(KeyBinding {
            audience: AUDIENCE,
            nonce: NONCE,
            max_age_secs: 300,
        }),
    };
    let text = answer["presentation"].as_str().expect("a presentation");
    let verified = sdjwt::verify(text, &theirs, &policy).expect("verified here");
    assert!(verified.key_bound);
    assert_eq!(verified.claims["age_over_18"], true);
    assert_eq!(verified.claims["address"], json!({"locality": "Riverton"}));
    assert_eq!(verified.claims["nationalities"], json!(["FR"]));
    assert!(!verified.claims.contains_key("given_name"));
    assert_eq!(verified.header["typ"], "dc+sd-jwt");
    // Every disclosure it issued, processed here, gives the claims it was issued with.
    let all = answer["issued"].as_str().expect("issued");
    let everything = sdjwt::verify(
        all,
        &theirs,
        &Policy {
            key_binding: None,
            ..policy
        },
    )
    .expect("all of it");
    assert_eq!(everything.claims["given_name"], "Ana");
    assert_eq!(
        everything.claims["address"]["street_address"],
        "1 Mill Lane"
    );
    assert_eq!(everything.claims["nationalities"], json!(["PT", "FR"]));
    // The same presentation, for another verifier's nonce, is refused here.
    let other = Policy {
        key_binding: Some(KeyBinding {
            audience: AUDIENCE,
            nonce: "another",
            max_age_secs: 300,
        }),
        ..policy
    };
    assert_eq!(
        sdjwt::verify(text, &theirs, &other).map_err(|e| e.code()),
        Err("key_binding")
    );
}
