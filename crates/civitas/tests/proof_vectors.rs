//! The published proof-bundle test vectors (`docs/proof-vectors/`, `docs/PROOFS.md` section
//! 11): `civitas verify` and the independent Python verifier (`tools/verify_bundle.py`, written
//! from the specification) each accept exactly the vectors marked valid.

mod common;

use common::*;
use std::path::{Path, PathBuf};

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/proof-vectors")
}

#[test]
fn both_verifiers_give_every_published_vector_its_verdict() {
    check_vectors(&vectors());
}

/// Bundles made before protocol versions keep verifying, byte for byte as
/// they were published.
#[test]
fn bundles_made_before_protocol_versions_still_verify() {
    check_vectors(&vectors().join("before-protocol-versions"));
}

fn check_vectors(dir: &Path) {
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let entries = manifest["vectors"].as_array().unwrap();
    assert!(entries.len() >= 20, "the vectors are published");
    let claims: std::collections::BTreeSet<&str> = entries
        .iter()
        .filter(|v| v["valid"] == true)
        .filter_map(|v| v["claim"].as_str())
        .collect();
    for kind in ["state", "transaction", "earlier_transaction"] {
        assert!(
            claims.contains(kind),
            "no genuine vector of claim kind {kind}"
        );
    }
    let python = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok();
    for vector in entries {
        let file = dir.join(vector["file"].as_str().unwrap());
        let genesis = dir.join(vector["genesis"].as_str().unwrap());
        let valid = vector["valid"].as_bool().unwrap();
        let bytes = std::fs::read(&file).unwrap();
        assert_eq!(
            civitas_core::hash::Hash32::sha256(&bytes).to_string(),
            vector["sha256"].as_str().unwrap(),
            "{} changed: regenerate the vectors",
            file.display()
        );
        let output = civitas(&[
            "verify",
            file.to_str().unwrap(),
            "--genesis",
            genesis.to_str().unwrap(),
            "--json",
        ]);
        let verdict: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
        assert_eq!(
            verdict["valid"].as_bool(),
            Some(valid),
            "civitas verify on {}: {verdict} {}",
            file.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(output.status.code(), Some(if valid { 0 } else { 2 }));
        if python {
            let output = python_verify(&file, &genesis);
            assert_eq!(
                output.status.code(),
                Some(if valid { 0 } else { 2 }),
                "the Python verifier on {}: {}{}",
                file.display(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
}
