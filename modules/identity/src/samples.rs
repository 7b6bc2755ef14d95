//! Identity's devnet samples: a citizen, Alice, whose key the portal's sign-in takes.

use civitas_core::instruction::{IdentityInstruction, Instruction};
use civitas_core::keyfile::KeyFile;
use civitas_kit::samples::{SampleError, Seeder};

/// An instruction registering `key` as an official of `agency` with `roles`, for the samples
/// of any module that needs its officials.
pub fn official(key: &KeyFile, agency: &str, name: &str, roles: &[&str]) -> Instruction {
    Instruction::Identity(IdentityInstruction::RegisterOfficial {
        key: key.public_key.clone(),
        agency: agency.into(),
        name: name.into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
    })
}

/// Registers the citizen Alice (key `citizen-alice`), by the first agency's admin.
pub fn seed(seeder: &mut dyn Seeder) -> Result<(), SampleError> {
    let Some(first) = seeder.genesis().agencies.first().map(|a| a.id.clone()) else {
        return Ok(());
    };
    let admin = seeder.key(&first, &format!("{first} admin"))?;
    let citizen = seeder.key("citizen-alice", "citizen Alice")?;
    seeder.phase(vec![(
        admin,
        Instruction::Identity(IdentityInstruction::RegisterCitizen {
            key: citizen.public_key.clone(),
        }),
    )])
}

/// A citizen registration for the benchmarks: a fresh key per run, client and position
/// (deterministic, so a run can be repeated).
pub fn bench_citizen(size: &civitas_kit::samples::Size, client: usize, n: usize) -> Instruction {
    let run = size.run;
    let seed = (u64::from(run) << 40) ^ ((client as u64) << 24) ^ n as u64;
    Instruction::Identity(IdentityInstruction::RegisterCitizen {
        key: civitas_core::crypto::PrivateKey::from_test_seed(seed).public_key(),
    })
}

/// Identity's benchmark workload.
pub const WORKLOADS: &[civitas_kit::samples::Workload] = &[civitas_kit::samples::Workload {
    name: "identity",
    about: "registrars register citizens",
    roles: &["registrar"],
    setup: None,
    instruction: bench_citizen,
}];
