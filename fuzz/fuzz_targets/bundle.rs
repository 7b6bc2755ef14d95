//! Decodes and verifies untrusted bytes as a proof bundle (what `civitas verify` reads).
#![no_main]

use civitas_core::bundle::ProofBundle;
use civitas_core::crypto::PrivateKey;
use civitas_core::genesis::{GENESIS_VERSION, Genesis, GenesisAgency};
use civitas_core::time::TimestampMs;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn genesis() -> &'static Genesis {
    static GENESIS: OnceLock<Genesis> = OnceLock::new();
    GENESIS.get_or_init(|| Genesis {
        version: GENESIS_VERSION,
        chain_id: "fuzz".into(),
        genesis_time: TimestampMs(0),
        agencies: (0..4)
            .map(|i| GenesisAgency {
                id: format!("agency{i}"),
                name: format!("Agency {i}"),
                validator_key: PrivateKey::from_test_seed(i).public_key(),
                admin_keys: vec![PrivateKey::from_test_seed(100 + i).public_key()],
                p2p_address: "127.0.0.1:1".into(),
            })
            .collect(),
        epoch_length: 100,
        governance_threshold: 3,
        authorization: civitas_modules::authz::default_authorization(),
        protocol: 1,
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(bundle) = ProofBundle::from_bytes(data) {
        let _ = civitas_state::proof::verify_bundle(&bundle, genesis());
        // What `POST /v1/proofs/verify` and `civitas verify` say about a bundle.
        let _ = civitas_modules::queries::describe_bundle(&bundle, "fuzz");
        if let civitas_core::bundle::Claim::State(claim) = &bundle.claim {
            let _ = civitas_state::proof::verify(
                &bundle.header.state_root,
                &claim.key,
                claim.value.as_deref(),
                &claim.proof,
            );
        }
    }
});
