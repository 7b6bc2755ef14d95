//! Parses untrusted JSON as instructions (what `POST /v1/transactions/prepare` and
//! `civitas tx send --instruction` read), checks whatever parses against its bounds, and checks
//! that an instruction within bounds survives the canonical binary encoding unchanged.
#![no_main]

use civitas_core::codec::from_slice;
use civitas_core::instruction::{Instruction, instructions_cfg};
use commonware_codec::Encode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(instructions) = serde_json::from_slice::<Vec<Instruction>>(data) else {
        return;
    };
    for instruction in instructions {
        if instruction.validate().is_err() {
            continue;
        }
        let bytes = vec![instruction.clone()].encode();
        let decoded = from_slice::<Vec<Instruction>>(bytes.as_ref(), &instructions_cfg())
            .expect("a valid instruction decodes after encoding");
        assert_eq!(decoded, vec![instruction]);
        let _ = serde_json::to_string(&decoded);
    }
});
