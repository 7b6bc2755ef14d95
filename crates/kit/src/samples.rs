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
    fn phase(&mut self, txs: Vec<(KeyFile, Instruction)>) -> Result<(), SampleError> {
        self.phase_cosigned(
            txs.into_iter()
                .map(|(key, instruction)| (key, Vec::new(), instruction))
                .collect(),
        )
    }

    /// [`phase`](Seeder::phase), each transaction also signed by the co-signers given (a
    /// vendor co-signs its own registration).
    fn phase_cosigned(
        &mut self,
        txs: Vec<(KeyFile, Vec<KeyFile>, Instruction)>,
    ) -> Result<(), SampleError>;

    /// [`phase`](Seeder::phase) for many transactions at once (a benchmark's setup): submitted
    /// in batches; an error if any fails, naming it.
    fn batch(&mut self, txs: Vec<(KeyFile, Instruction)>) -> Result<(), SampleError> {
        self.phase(txs)
    }

    /// Writes a file into `folder`.
    fn write(&mut self, folder: Folder, name: &str, content: &[u8]) -> Result<(), SampleError>;

    /// The time now, in milliseconds since 1970 (a devnet's blocks carry wall-clock times).
    fn now_ms(&self) -> u64;

    /// Returns once the time is past `ms` (at most `ms` minus now plus a few seconds).
    fn wait_until(&mut self, ms: u64) -> Result<(), SampleError>;

    /// 32 secret bytes, such as a sealed bid's salt: random on a network.
    fn secret(&mut self) -> Result<[u8; 32], SampleError>;
}

/// Whether the network has an agency with id `id` (samples that need one skip themselves
/// without it).
pub fn has_agency(seeder: &dyn Seeder, id: &str) -> bool {
    seeder.genesis().agencies.iter().any(|a| a.id == id)
}

/// How large a benchmark run is: what a workload's setup and instructions are built for.
#[derive(Clone, Copy, Debug)]
pub struct Size {
    /// The run (distinct per run on one network).
    pub run: u32,
    /// How many clients sign, each with its own official.
    pub clients: usize,
    /// How many transactions each client signs.
    pub per_client: usize,
}

/// What a workload needs first, seeded for the officials' agency, for a run of `size`.
pub type Setup = fn(&mut dyn Seeder, agency: &str, size: &Size) -> Result<(), SampleError>;

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
    /// The `n`th instruction of client `client` in a run of `size`: distinct across runs,
    /// clients and positions, and valid in that order.
    pub instruction: fn(size: &Size, client: usize, n: usize) -> Instruction,
}

/// The agencies of a devnet, in the order its validators are created: `(id, name)`.
pub const AGENCIES: [(&str, &str); 7] = [
    ("finance", "Ministry of Finance"),
    ("land", "National Land Registry"),
    ("health", "Ministry of Health"),
    ("audit", "Supreme Audit Office"),
    ("interior", "Ministry of the Interior"),
    ("justice", "Ministry of Justice"),
    ("education", "Ministry of Education"),
];

/// One transaction a module's samples asked for, as a [`Recorder`] keeps it.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// The module whose samples asked for it.
    pub module: &'static str,
    /// The name of the key that signs it (`health-treasurer`).
    pub signer_name: String,
    /// That key's account.
    pub signer: civitas_core::crypto::AccountId,
    /// The instruction.
    pub instruction: Instruction,
}

/// A [`Seeder`] that runs samples without a network: it records the transactions they ask
/// for, in order, instead of submitting them. Keys are derived from their names, and the
/// clock starts at a fixed time and moves only when the samples wait, so the same samples
/// record the same transactions every time (their secrets too: [`Seeder::secret`] counts). The API's document takes its examples from it:
/// they are what a devnet seeds, with other keys and times.
pub struct Recorder<'a> {
    genesis: &'a Genesis,
    now: u64,
    module: &'static str,
    recorded: Vec<Recorded>,
    secrets: u64,
}

impl<'a> Recorder<'a> {
    /// 2026-01-05T09:00:00Z, the recorder's clock at the start.
    pub const START_MS: u64 = 1_767_603_600_000;

    /// A recorder for a network with `genesis`.
    pub fn new(genesis: &'a Genesis) -> Self {
        Self {
            genesis,
            now: Self::START_MS,
            module: "",
            recorded: Vec::new(),
            secrets: 0,
        }
    }

    /// Runs `seed`, the samples of `module`, recording what they ask for.
    pub fn run(&mut self, module: &'static str, seed: Seed) -> Result<(), SampleError> {
        self.module = module;
        seed(self)
    }

    /// What the samples asked for, in order.
    pub fn into_recorded(self) -> Vec<Recorded> {
        self.recorded
    }

    /// The key named `name`: its seed is the SHA-256 of the name, so it is the same in every
    /// run and never a real official's.
    pub fn key_named(name: &str) -> KeyFile {
        let seed =
            civitas_core::hash::Hash32::sha256(format!("civitas example key/{name}").as_bytes());
        // A 32-byte seed is always a key.
        let key = civitas_core::crypto::PrivateKey::from_seed_bytes(&seed.0)
            .unwrap_or_else(|_| civitas_core::crypto::PrivateKey::from_test_seed(0));
        KeyFile::new(&key, name)
    }
}

impl Seeder for Recorder<'_> {
    fn genesis(&self) -> &Genesis {
        self.genesis
    }

    fn key(&mut self, name: &str, _label: &str) -> Result<KeyFile, SampleError> {
        Ok(Self::key_named(name))
    }

    /// Co-signers are not recorded: the examples show what the signer signs.
    fn phase_cosigned(
        &mut self,
        txs: Vec<(KeyFile, Vec<KeyFile>, Instruction)>,
    ) -> Result<(), SampleError> {
        for (key, _, instruction) in txs {
            self.recorded.push(Recorded {
                module: self.module,
                signer_name: key.label.clone(),
                signer: key.account(),
                instruction,
            });
        }
        Ok(())
    }

    fn write(&mut self, _: Folder, _: &str, _: &[u8]) -> Result<(), SampleError> {
        Ok(())
    }

    fn now_ms(&self) -> u64 {
        self.now
    }

    fn wait_until(&mut self, ms: u64) -> Result<(), SampleError> {
        self.now = self.now.max(ms);
        Ok(())
    }

    /// Derived from a counter, so that the examples are the same every time; never secret.
    fn secret(&mut self) -> Result<[u8; 32], SampleError> {
        self.secrets += 1;
        let seed = format!("civitas example secret/{}", self.secrets);
        Ok(civitas_core::hash::Hash32::sha256(seed.as_bytes()).0)
    }
}
