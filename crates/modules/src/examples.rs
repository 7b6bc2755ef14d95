//! The examples of the API's document: the transactions every module's devnet samples sign,
//! recorded without a network ([`Recorder`]) against a genesis with the devnet's agencies.
//! The devnet seeds the same samples, so an example is what a new network shows, with other
//! keys and times.

use civitas_core::genesis::{Genesis, GenesisAgency, genesis_version};
use civitas_core::protocol::PROTOCOLS;
use civitas_core::time::TimestampMs;
use civitas_kit::samples::{AGENCIES, Recorded, Recorder};

/// A devnet's genesis: chain `civitas-devnet` at the newest protocol version, with the
/// authorization of that version's modules, `agencies`, and the default threshold.
pub fn devnet_genesis(
    agencies: Vec<GenesisAgency>,
    genesis_time: TimestampMs,
    epoch_length: u64,
) -> Genesis {
    let protocol = PROTOCOLS.newest();
    Genesis {
        version: genesis_version(protocol),
        protocol,
        chain_id: "civitas-devnet".into(),
        genesis_time,
        governance_threshold: Genesis::default_threshold(agencies.len()),
        authorization: crate::authz::authorization_for(protocol),
        agencies,
        epoch_length,
    }
}

/// A genesis like a devnet's of four agencies, with keys derived from their names.
pub fn sample_genesis() -> Genesis {
    let agencies = AGENCIES
        .iter()
        .take(4)
        .enumerate()
        .map(|(i, (id, name))| GenesisAgency {
            id: id.to_string(),
            name: name.to_string(),
            validator_key: Recorder::key_named(&format!("{id}-validator")).public_key,
            admin_keys: vec![Recorder::key_named(id).public_key],
            p2p_address: format!("127.0.0.1:{}", 9080 + i),
        })
        .collect();
    devnet_genesis(agencies, TimestampMs(Recorder::START_MS), 200)
}

/// Every module's sample transactions, in the order a devnet seeds them: an error names the
/// module whose samples failed.
pub fn sample_transactions() -> Result<Vec<Recorded>, String> {
    let genesis = sample_genesis();
    let mut recorder = Recorder::new(&genesis);
    for (module, seed) in crate::samples() {
        recorder
            .run(module, seed)
            .map_err(|e| format!("the samples of {module} failed: {e}"))?;
    }
    Ok(recorder.into_recorded())
}

/// One example per operation the samples use (its `module.operation` name and the first
/// transaction of it the samples sign), in seeding order.
pub fn instruction_examples() -> Result<Vec<(String, Recorded)>, String> {
    let mut seen = std::collections::BTreeSet::new();
    let mut examples = Vec::new();
    for recorded in sample_transactions()? {
        let name = recorded.instruction.name().to_string();
        if seen.insert(name.clone()) {
            examples.push((name, recorded));
        }
    }
    Ok(examples)
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_core::instruction::Instruction;

    #[test]
    fn every_module_s_samples_record_valid_instructions() {
        let recorded = sample_transactions().expect("samples run without a network");
        assert!(!recorded.is_empty(), "the samples record nothing");
        for r in &recorded {
            r.instruction
                .validate()
                .unwrap_or_else(|e| panic!("{}: {e}", r.instruction.name()));
            let json = serde_json::to_value(&r.instruction).unwrap();
            let back: Instruction = serde_json::from_value(json).unwrap();
            assert_eq!(back, r.instruction, "JSON round trip");
        }
    }

    #[test]
    fn the_examples_are_the_same_every_time() {
        let names = |v: Vec<(String, Recorded)>| {
            v.into_iter()
                .map(|(n, r)| (n, r.signer, serde_json::to_string(&r.instruction).unwrap()))
                .collect::<Vec<_>>()
        };
        let first = names(instruction_examples().expect("the samples run"));
        assert!(
            first.len() >= 10,
            "only {} operations have examples",
            first.len()
        );
        assert_eq!(
            first,
            names(instruction_examples().expect("the samples run"))
        );
    }
}
