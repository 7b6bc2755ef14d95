//! A chain executed in memory, block by block, through the whole ledger (authentication, the
//! protocol version, the policies, each module's handler), as validators execute it: what a
//! module's integration tests run against.
//!
//! `modules/notices/tests/register.rs` is a worked example: a chain at a protocol version
//! ([`Chain::at`]), officials registered by an agency's admin (test seed 101 for `finance`,
//! see [`agency`]), transactions of one instruction ([`tx`], [`Chain::one`]), a block built
//! as a proposer builds it ([`Chain::build`]), and records read back ([`Chain::read`]).

use civitas_core::bundle::StateKey;
use civitas_core::crypto::PrivateKey;
use civitas_core::genesis::{Genesis, GenesisAgency, genesis_version};
use civitas_core::hash::Hash32;
use civitas_core::instruction::{IdentityInstruction, Instruction};
use civitas_core::protocol::{PROTOCOLS, Protocol};
use civitas_core::receipt::{Receipt, TxOutcome};
use civitas_core::time::TimestampMs;
use civitas_core::tx::{SignedTx, TxBody};
use civitas_exec::overlay::MemoryState;
use civitas_exec::{BlockEnv, BlockError, BlockResult, Mode, NoneVerified, execute_block};
use futures::executor::block_on;
use std::sync::Arc;

use crate::CivitasModules;

/// A chain in memory: three founding agencies (`finance`, `land`, `health`), blocks one
/// second apart from time 1 s, chain id `test`.
#[derive(Clone)]
pub struct Chain {
    /// Its state after the last block.
    pub state: MemoryState,
    /// The last block's height.
    pub height: u64,
    /// Its genesis.
    pub genesis: Arc<Genesis>,
    /// Milliseconds added to every later block's time.
    pub skip_ms: u64,
    /// The protocol blocks are made under.
    pub protocol: Protocol,
    /// Every block applied, with its receipts, as a node hands finalized blocks to the read
    /// model (its header carries the height, time and transaction count; its roots are not
    /// computed).
    pub blocks: Vec<civitas_kit::index::Finalized>,
}

/// A founding agency `id` whose validator key is test seed `seed` and admin key `seed + 100`.
pub fn agency(id: &str, seed: u64) -> GenesisAgency {
    GenesisAgency {
        id: id.into(),
        name: format!("Ministry of {id}"),
        validator_key: PrivateKey::from_test_seed(seed).public_key(),
        admin_keys: vec![PrivateKey::from_test_seed(seed + 100).public_key()],
        p2p_address: "127.0.0.1:1".into(),
    }
}

impl Default for Chain {
    fn default() -> Self {
        Self::new()
    }
}

impl Chain {
    fn with(genesis: Genesis, protocol: Protocol) -> Self {
        let mut chain = Self {
            state: MemoryState::default(),
            height: 0,
            genesis: Arc::new(genesis),
            skip_ms: 0,
            protocol,
            blocks: Vec::new(),
        };
        // Genesis runs with the first block; an empty block never fails.
        if let Err(e) = chain.block(vec![], Mode::Verify) {
            panic!("the first block of a test chain failed: {e}");
        }
        chain
    }

    fn genesis(
        protocol: u16,
        authorization: civitas_core::genesis::GenesisAuthorization,
    ) -> Genesis {
        Genesis {
            version: genesis_version(protocol),
            protocol,
            chain_id: "test".into(),
            genesis_time: TimestampMs(1_000),
            agencies: vec![agency("finance", 1), agency("land", 2), agency("health", 3)],
            epoch_length: 10,
            governance_threshold: 2,
            authorization,
        }
    }

    /// A chain at protocol version 1 with the newest default authorization
    /// ([`starting_at`](Self::starting_at)`(1)`).
    pub fn new() -> Self {
        Self::starting_at(1)
    }

    /// A chain started at protocol version `version`, with the authorization
    /// `civitas genesis init` gives it, its blocks made under that version.
    pub fn at(version: u16) -> Self {
        let Some(protocol) = PROTOCOLS.get(version) else {
            panic!("protocol version {version} is not in this release's table");
        };
        Self::with(
            Self::genesis(version, crate::authz::authorization_for(version)),
            *protocol,
        )
    }

    /// A chain started at protocol version `version` as [`at`](Self::at) makes it, whose
    /// genesis also holds `policies` (Cedar, each with an `@id`): for tests of policies a
    /// network adopts, such as a law that is a legal basis.
    pub fn at_with_policies(version: u16, policies: &str) -> Self {
        let Some(protocol) = PROTOCOLS.get(version) else {
            panic!("protocol version {version} is not in this release's table");
        };
        let mut authorization = crate::authz::authorization_for(version);
        authorization.policies.push('\n');
        authorization.policies.push_str(policies);
        Self::with(Self::genesis(version, authorization), *protocol)
    }

    /// A chain whose genesis names protocol `protocol` but whose blocks run version 1's
    /// features, with the newest default authorization: for tests of the version rules
    /// themselves.
    pub fn starting_at(protocol: u16) -> Self {
        Self::with(
            Self::genesis(protocol, crate::authz::default_authorization()),
            Protocol {
                version: protocol,
                ..PROTOCOLS.0[0]
            },
        )
    }

    /// The environment of the next block.
    pub fn env(&self) -> BlockEnv {
        BlockEnv {
            height: self.height + 1,
            timestamp: TimestampMs(self.time()),
            parent: Hash32::sha256(&self.height.to_be_bytes()),
            genesis: self.genesis.clone(),
            protocol: self.protocol,
        }
    }

    /// The time of the next block, in milliseconds.
    pub fn time(&self) -> u64 {
        1_000 + self.height * 1_000 + self.skip_ms
    }

    /// Executes and applies a block of `txs`, checked as validators check a proposal
    /// (`Mode::Verify`) or built as a proposer builds one (`Mode::Build`).
    pub fn block(&mut self, txs: Vec<SignedTx>, mode: Mode) -> Result<Vec<Receipt>, BlockError> {
        let result = block_on(execute_block(
            &self.env(),
            txs,
            &self.state,
            &CivitasModules,
            mode,
            &NoneVerified,
        ))?;
        self.state.apply(&result.writes);
        self.record(&result);
        self.height += 1;
        Ok(result.receipts)
    }

    /// Keeps the block just executed, for [`Self::blocks`].
    fn record(&mut self, result: &BlockResult) {
        let env = self.env();
        let header = civitas_core::block::Header {
            version: civitas_core::block::header_version(self.protocol.version),
            protocol: self.protocol.version,
            chain: self.genesis.hash(),
            height: env.height,
            // The read model checks that each block names the one before it.
            parent: self.blocks.last().map_or(env.parent, |b| b.digest),
            epoch: 0,
            view: env.height,
            parent_view: self.height,
            proposer: PrivateKey::from_test_seed(1).public_key(),
            timestamp: env.timestamp,
            tx_count: result.included.len() as u32,
            tx_root: Hash32::default(),
            receipts_root: result.receipts_root,
            state_root: Hash32::default(),
            state_ops_root: Hash32::default(),
            state_ops_start: 0,
            state_ops_end: 0,
            history_root: result.history_root,
            validator_set: Hash32::default(),
        };
        let block = civitas_core::block::Block {
            header,
            txs: result.included.clone(),
        };
        self.blocks.push(civitas_kit::index::Finalized {
            digest: block.header.digest(),
            block: Arc::new(block),
            receipts: result.receipts.clone(),
            end: result.end.clone(),
        });
    }

    /// Builds a block as a proposer would (leaving out what fails authentication), without
    /// applying it.
    pub fn build(&self, txs: Vec<SignedTx>) -> BlockResult {
        let built = block_on(execute_block(
            &self.env(),
            txs,
            &self.state,
            &CivitasModules,
            Mode::Build,
            &NoneVerified,
        ));
        built.unwrap_or_else(|e| panic!("building the block failed: {e}"))
    }

    /// A block of one transaction, and its receipt.
    pub fn one(&mut self, tx: SignedTx) -> Receipt {
        match self.block(vec![tx], Mode::Verify) {
            Ok(mut receipts) => receipts.remove(0),
            Err(e) => panic!("the block failed: {e}"),
        }
    }

    /// The record at `key`, decoded; `None` if absent.
    pub fn read<T: commonware_codec::Decode<Cfg = ()>>(&self, key: &StateKey) -> Option<T> {
        self.state.0.get(&key.hashed()).map(|bytes| {
            civitas_core::codec::from_slice(bytes, &())
                .unwrap_or_else(|e| panic!("{} does not decode: {e}", key.display()))
        })
    }
}

/// A transaction of one instruction signed by `key`, for `account`'s account if given (an
/// account whose key was rotated), with nonce `nonce` and no expiry.
pub fn tx(key: &PrivateKey, account: Option<&PrivateKey>, nonce: u64, op: Instruction) -> SignedTx {
    TxBody {
        chain_id: "test".into(),
        signer: account.unwrap_or(key).public_key().account_id(),
        nonce,
        expiry: TimestampMs(u64::MAX),
        instructions: vec![op],
        memo: String::new(),
    }
    .into_signed(&[key])
}

/// The failure code of `receipt`, `None` if it succeeded.
pub fn failed_code(receipt: &Receipt) -> Option<&str> {
    match &receipt.outcome {
        TxOutcome::Failed { code, .. } => Some(code),
        TxOutcome::Success => None,
    }
}

/// Registers `key` as an official of `agency` with `roles` (signed by the agency's admin).
pub fn official(key: &PrivateKey, agency: &str, roles: &[&str]) -> Instruction {
    Instruction::Identity(IdentityInstruction::RegisterOfficial {
        key: key.public_key(),
        agency: agency.into(),
        name: "A. Official".into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
    })
}

/// People of a test chain by name, each with a key and the next nonce: what a module's tests
/// send transactions as (`people.ok("clerk", op)`).
#[derive(Clone)]
pub struct People {
    /// The chain.
    pub chain: Chain,
    keys: std::collections::BTreeMap<&'static str, PrivateKey>,
    nonces: std::collections::BTreeMap<&'static str, u64>,
}

impl People {
    /// `chain`'s people: the founding agencies' admins, named `finance-admin`, `land-admin`
    /// and `health-admin`, to start with.
    pub fn on(chain: Chain) -> Self {
        let mut people = Self {
            chain,
            keys: std::collections::BTreeMap::new(),
            nonces: std::collections::BTreeMap::new(),
        };
        for (name, seed) in [
            ("finance-admin", 101),
            ("land-admin", 102),
            ("health-admin", 103),
        ] {
            people.keys.insert(name, PrivateKey::from_test_seed(seed));
        }
        people
    }

    /// Adds `name` with the key of test seed `seed` (not registered: register them with
    /// [`official`] or a citizen's registration).
    pub fn add(&mut self, name: &'static str, seed: u64) -> &mut Self {
        self.keys.insert(name, PrivateKey::from_test_seed(seed));
        self
    }

    /// Registers `name` (test seed `seed`) as an official of `agency` with `roles`, signed by
    /// the agency's admin (`<agency>-admin`).
    pub fn official(&mut self, name: &'static str, seed: u64, agency: &str, roles: &[&str]) {
        self.add(name, seed);
        let admin = match agency {
            "finance" => "finance-admin",
            "land" => "land-admin",
            "health" => "health-admin",
            other => panic!("{other} is not a founding agency of the test chain"),
        };
        let op = official(&self.keys[name], agency, roles);
        self.ok(admin, op);
    }

    /// Registers `name` (test seed `seed`) as a citizen, signed by `registrar` (an official
    /// allowed to).
    pub fn citizen(&mut self, name: &'static str, seed: u64, registrar: &'static str) {
        self.add(name, seed);
        let key = self.keys[name].public_key();
        self.ok(
            registrar,
            Instruction::Identity(IdentityInstruction::RegisterCitizen { key }),
        );
    }

    /// `name`'s key.
    pub fn key(&self, name: &str) -> &PrivateKey {
        self.keys
            .get(name)
            .unwrap_or_else(|| panic!("nobody is named {name}"))
    }

    /// `name`'s account id.
    pub fn id(&self, name: &str) -> civitas_core::crypto::AccountId {
        self.key(name).public_key().account_id()
    }

    /// A transaction of `op` signed by `name` with their next nonce, alone in a block.
    pub fn send(&mut self, name: &'static str, op: Instruction) -> Receipt {
        let nonce = self.nonces.entry(name).or_insert(0);
        let signed = tx(&self.keys[name], None, *nonce, op);
        *nonce += 1;
        self.chain.one(signed)
    }

    /// [`send`](Self::send), which must succeed.
    pub fn ok(&mut self, name: &'static str, op: Instruction) -> Receipt {
        let receipt = self.send(name, op);
        assert_eq!(failed_code(&receipt), None, "{receipt:?}");
        receipt
    }

    /// [`send`](Self::send), which must fail with `code`.
    pub fn fails(&mut self, name: &'static str, op: Instruction, code: &str) -> Receipt {
        let receipt = self.send(name, op);
        assert_eq!(failed_code(&receipt), Some(code), "{receipt:?}");
        receipt
    }

    /// Time passes with nothing sent: an empty block `ms` milliseconds after the previous
    /// one would be, then, a second apart, as many empty blocks as the kit's deadline queue
    /// takes to walk that pause (a real chain's blocks are at most ten minutes apart, so one
    /// block does); returns the events of their end receipts.
    pub fn wait(&mut self, ms: u64) -> Vec<civitas_core::event::Event> {
        self.chain.skip_ms += ms;
        // The walk skips an empty day in one read: a block reaches ~a thousand days ahead.
        let days = ms / (civitas_kit::schedule::MINUTE_MS * 1_440);
        let blocks = 1 + days / civitas_kit::schedule::READS_PER_BLOCK;
        let mut events = Vec::new();
        for _ in 0..blocks {
            if let Err(e) = self.chain.block(Vec::new(), Mode::Verify) {
                panic!("an empty block failed: {e}");
            }
            if let Some(end) = self.chain.blocks.last().and_then(|b| b.end.clone()) {
                events.extend(end.events);
            }
        }
        events
    }
}
