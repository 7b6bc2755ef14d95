//! Decodes untrusted bytes as a block (what peers send through broadcast and backfill).
#![no_main]

use civitas_consensus::block::ChainBlock;
use commonware_codec::{Decode, Encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(block) = ChainBlock::decode_cfg(commonware_codec::Copying(data), &()) {
        assert_eq!(block.encode().as_ref(), data, "decoding must be canonical");
        let _ = block.0.compute_tx_root();
    }
});
