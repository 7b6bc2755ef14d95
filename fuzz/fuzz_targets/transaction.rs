//! Decodes untrusted bytes as a transaction (what the API and gossip receive), and checks that
//! whatever decodes re-encodes to the same bytes and can be verified without panicking.
#![no_main]

use civitas_core::tx::SignedTx;
use commonware_codec::Encode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = SignedTx::decode(data) {
        assert_eq!(tx.encode().as_ref(), data, "decoding must be canonical");
        let _ = tx.verify_stateless();
        let _ = tx.hash();
    }
});
