//! A module's devnet sample data: the records a first look at a new network shows (officials
//! at work, documents, a budget being spent, tenders at every stage).
//!
//! A module writes its samples in [`crate::Module::samples`] as phases of signed transactions
//! against a [`Seeder`], which the binary's devnet provides: it keeps the keys (created on first
//! use, so another module's samples find the same people by name), submits, waits, and writes
//! the files a person can check on the portal. Samples run once per network, module by module
//! in registration order, so a module may use what an earlier one seeded.

use civitas_core::genesis::Genesis;
use civitas_core::instruction::Instruction;
use civitas_core::keyfile::KeyFile;

/// Why seeding failed, in words for the person running the devnet.
pub type SampleError = Box<dyn std::error::Error + Send + Sync>;

/// A module's samples: [`crate::Module::samples`].
pub type Seed = fn(&mut dyn Seeder) -> Result<(), SampleError>;

/// Where a sample file goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Folder {
    /// `samples/`: documents a person checks on the portal's verify page.
    Samples,
    /// `keys/`: secrets that belong with a key, such as a sealed bid's opening.
    Keys,
}

/// What a module's samples run against: a devnet's keys, its network and its folders.
pub trait Seeder {
    /// The network's genesis.
    fn genesis(&self) -> &Genesis;

    /// The key named `name` (`health-treasurer`), created on first use with `label` as its
    /// description; the genesis agencies' admin keys are named by the agency's id.
    fn key(&mut self, name: &str, label: &str) -> Result<KeyFile, SampleError>;

    /// Signs and submits transactions that do not depend on each other (one instruction each,
    /// with the signer's next nonces), then waits until every one is finalized; an error if any
    /// fails, naming it.
    fn phase(&mut self, txs: Vec<(KeyFile, Instruction)>) -> Result<(), SampleError>;

    /// Writes a file into `folder`.
    fn write(&mut self, folder: Folder, name: &str, content: &[u8]) -> Result<(), SampleError>;

    /// The time now, in milliseconds since 1970 (a devnet's blocks carry wall-clock times).
    fn now_ms(&self) -> u64;

    /// Returns once the time is past `ms` (at most `ms` minus now plus a few seconds).
    fn wait_until(&mut self, ms: u64) -> Result<(), SampleError>;
}

/// Whether the network has an agency with id `id` (samples that need one skip themselves
/// without it).
pub fn has_agency(seeder: &dyn Seeder, id: &str) -> bool {
    seeder.genesis().agencies.iter().any(|a| a.id == id)
}

/// What a workload needs first, seeded for the officials' agency.
pub type Setup = fn(&mut dyn Seeder, agency: &str) -> Result<(), SampleError>;

/// A benchmark workload (`civitas bench --workload <name>`): officials with `roles` sign
/// pre-built instructions as fast as the network takes them.
pub struct Workload {
    /// Its name on the command line.
    pub name: &'static str,
    /// What its transactions do, for `--help`.
    pub about: &'static str,
    /// The roles each client's official is registered with.
    pub roles: &'static [&'static str],
    /// What the network needs before the workload runs (officials, a budget), seeded for
    /// `agency`, the officials' agency.
    pub setup: Option<Setup>,
    /// The `n`th instruction of client `client` in run `run`: distinct across runs, clients
    /// and positions, and valid in that order.
    pub instruction: fn(run: u32, client: usize, n: usize) -> Instruction,
}
