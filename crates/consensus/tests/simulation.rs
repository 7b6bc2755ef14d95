//! Deterministic simulation of a 4-validator network.
//!
//! Each run is driven by a seed: the same seed replays the same message order, timing, losses,
//! crashes and restarts. A failure prints the seed; rerun it with
//! `CIVITAS_SEED=<seed> cargo test -p civitas-consensus --test simulation -- --nocapture`, or run
//! more seeds with `CIVITAS_SEEDS=<count>` (from `CIVITAS_SEED_START`, 0 by default).
//!
//! Invariants checked after every scenario: no two validators ever hold different finalized
//! blocks at the same height (so every state root agrees, since headers commit to it), every
//! block a validator holds matches its digest (its transactions and signatures are those its
//! header commits to), each validator's state database matches the header of the height it
//! holds, every accepted transaction is in every validator's state, and progress resumes once
//! faults heal.
//!
//! Byzantine validators misbehave at the vote level (commonware's simplex mocks) and above it
//! (`sim/byzantine.rs`): a proposer whose blocks break one rule each, a peer that serves altered
//! blocks over backfill, and a peer that gossips forged transactions.

#[path = "sim/byzantine.rs"]
mod byzantine;

use byzantine::{ByzantineProposer, Fault, FaultLog, Rewrite, Tampering};
use civitas_consensus::app::Shared;
use civitas_consensus::engine::{
    CHANNELS, Channels, Validator, ValidatorConfig, max_message_size, start_validator,
    start_validator_with,
};
use civitas_core::bundle::Claim;
use civitas_core::crypto::PrivateKey;
use civitas_core::genesis::{GENESIS_VERSION, Genesis, GenesisAgency};
use civitas_core::hash::Hash32;
use civitas_core::instruction::{
    GovernanceAction, GovernanceInstruction, IdentityInstruction, Instruction, NotaryInstruction,
};
use civitas_core::protocol::{Protocol, Protocols};
use civitas_core::time::TimestampMs;
use civitas_core::tx::{SignedTx, TxBody};
use commonware_consensus::types::Height;
use commonware_cryptography::{Digestible, ed25519};
use commonware_p2p::simulated::{self, Link, Network, Oracle};
use commonware_p2p::utils::mux::Muxer;
use commonware_runtime::{Clock, Quota, Runner, Supervisor, deterministic};
use commonware_utils::{NZU32, NZUsize, Probability, probability};
use futures::channel::oneshot;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const VALIDATORS: u64 = 4;
/// Short epochs, so every scenario crosses several epoch boundaries.
const EPOCH_LENGTH: u64 = 20;
/// The rate each peer may send on each channel: what a node allows in production. (It also sizes
/// the channels' receive queues, which commonware allocates in full when a channel is opened.)
const QUOTA: Quota = Quota::per_second(NZU32!(1_000));
const FAST: Link = Link {
    latency: Duration::from_millis(10),
    jitter: Duration::from_millis(5),
    success_rate: probability!(1.0),
};

fn genesis() -> Arc<Genesis> {
    let names = ["finance", "land", "health", "audit"];
    Arc::new(Genesis {
        version: GENESIS_VERSION,
        chain_id: "sim".into(),
        genesis_time: TimestampMs(0),
        agencies: (0..VALIDATORS)
            .map(|i| GenesisAgency {
                id: names[i as usize].into(),
                name: format!("Agency {i}"),
                validator_key: PrivateKey::from_test_seed(i).public_key(),
                admin_keys: vec![PrivateKey::from_test_seed(100 + i).public_key()],
                p2p_address: format!("127.0.0.1:{}", 9000 + i),
            })
            .collect(),
        epoch_length: EPOCH_LENGTH,
        governance_threshold: 3,
        authorization: civitas_modules::authz::default_authorization(),
        protocol: 1,
    })
}

fn tx(key: &PrivateKey, nonce: u64, op: Instruction) -> SignedTx {
    TxBody {
        chain_id: "sim".into(),
        signer: key.public_key().account_id(),
        nonce,
        expiry: TimestampMs(20 * 3_600_000),
        instructions: vec![op],
        memo: String::new(),
    }
    .into_signed(&[key])
}

fn anchor(n: u64) -> Instruction {
    Instruction::Notary(NotaryInstruction::Anchor {
        document: Hash32::sha256(&n.to_be_bytes()),
        title: format!("Document {n}"),
        metadata: vec![],
    })
}

/// A simulated network of validators.
struct Sim {
    context: deterministic::Context,
    oracle: Oracle<ed25519::PublicKey, deterministic::Context>,
    genesis: Arc<Genesis>,
    peers: Vec<ed25519::PublicKey>,
    validators: Vec<Option<Validator<deterministic::Context>>>,
    restarts: Vec<u64>,
    /// The protocol versions each node's release knows (what a restart installs).
    releases: Vec<Protocols>,
    notary: PrivateKey,
    next_document: u64,
}

/// How a Byzantine validator misbehaves (commonware's simplex mocks).
#[derive(Clone, Copy, Debug)]
enum Byzantine {
    /// Votes for every proposal and for a random conflicting one.
    Conflicter,
    /// Votes to nullify every view.
    Nuller,
    /// As leader, sends different proposals to different validators.
    Equivocator,
}

impl Sim {
    async fn new(context: deterministic::Context) -> Self {
        Self::build(context, VALIDATORS as usize, None).await
    }

    async fn with_byzantine(
        context: deterministic::Context,
        byzantine: Option<(usize, Byzantine)>,
    ) -> Self {
        Self::build(context, VALIDATORS as usize, byzantine).await
    }

    /// A network of `nodes` nodes: the genesis validators, then nodes that only follow until
    /// governance makes them validators. Validator `byzantine.0`, if any, runs a Byzantine mock
    /// instead of the honest engine.
    async fn build(
        context: deterministic::Context,
        nodes: usize,
        byzantine: Option<(usize, Byzantine)>,
    ) -> Self {
        Self::build_on(context, nodes, byzantine, Protocols::default()).await
    }

    /// As [`Self::build`], every node running a release that knows the protocol versions
    /// `release`.
    async fn build_on(
        context: deterministic::Context,
        nodes: usize,
        byzantine: Option<(usize, Byzantine)>,
        release: Protocols,
    ) -> Self {
        Self::build_from(context, genesis(), nodes, byzantine, release).await
    }

    /// As [`Self::build_on`], on the chain of `genesis`.
    async fn build_from(
        context: deterministic::Context,
        genesis: Arc<Genesis>,
        nodes: usize,
        byzantine: Option<(usize, Byzantine)>,
        release: Protocols,
    ) -> Self {
        let peers: Vec<_> = (0..nodes as u64)
            .map(|i| PrivateKey::from_test_seed(i).public_key().inner().clone())
            .collect();
        let (network, oracle) = Network::new_with_peers(
            context.child("network"),
            simulated::Config {
                max_size: max_message_size(VALIDATORS as u32),
                max_peers_per_set: NZUsize!(8),
                disconnect_on_block: true,
                tracked_peer_sets: NZUsize!(3),
            },
            peers.clone(),
        )
        .await;
        network.start();
        let mut sim = Self {
            context,
            oracle,
            genesis,
            peers,
            validators: (0..nodes).map(|_| None).collect(),
            restarts: vec![0; nodes],
            releases: vec![release; nodes],
            notary: PrivateKey::from_test_seed(500),
            next_document: 0,
        };
        sim.link_all(FAST).await;
        for i in 0..nodes {
            match byzantine {
                Some((index, kind)) if index == i => sim.start_byzantine(i, kind).await,
                _ => sim.start(i).await,
            }
        }
        sim
    }

    async fn start_byzantine(&mut self, index: usize, kind: Byzantine) {
        use commonware_consensus::simplex::{mocks, scheme::ed25519::Scheme};
        let signer = PrivateKey::from_test_seed(index as u64);
        let control = self.oracle.control(signer.public_key().inner().clone());
        let mut pairs = Vec::new();
        for channel in CHANNELS {
            pairs.push(control.register(channel, QUOTA).await.unwrap());
        }
        let channels = Channels::from_pairs(pairs);
        let participants = commonware_utils::ordered::Set::from_iter_dedup(
            self.genesis.validators().iter().map(|k| k.inner().clone()),
        );
        let scheme = Scheme::signer(
            &self.genesis.consensus_namespace(),
            participants,
            signer.inner().clone(),
        )
        .unwrap();
        let context = self
            .context
            .child("byzantine")
            .with_attribute("index", index);
        // Honest validators multiplex consensus channels by epoch: speak epoch 0 like them.
        let mut muxed = Vec::new();
        for (name, (sender, receiver)) in [
            ("votes", channels.votes),
            ("certificates", channels.certificates),
        ] {
            let (mux, mut handle) = Muxer::new(context.child(name), sender, receiver);
            mux.start();
            muxed.push(handle.register(0).await.unwrap());
        }
        let certificates = muxed.pop().unwrap();
        let votes = muxed.pop().unwrap();
        match kind {
            Byzantine::Conflicter => {
                mocks::conflicter::Conflicter::<_, _, commonware_cryptography::Sha256>::new(
                    context,
                    mocks::conflicter::Config { scheme },
                )
                .start(votes);
            }
            Byzantine::Nuller => {
                mocks::nuller::Nuller::<_, _, commonware_cryptography::Sha256>::new(
                    context,
                    mocks::nuller::Config { scheme },
                )
                .start(votes);
            }
            Byzantine::Equivocator => {
                mocks::equivocator::Equivocator::<_, _, _, commonware_cryptography::Sha256>::new(
                    context,
                    mocks::equivocator::Config {
                        scheme,
                        elector: commonware_consensus::simplex::elector::RoundRobin::<
                            commonware_cryptography::Sha256,
                        >::default(),
                        epoch: commonware_consensus::types::Epoch::zero(),
                        relay: Arc::new(mocks::relay::Relay::new()),
                    },
                )
                .start(votes, certificates);
            }
        }
    }

    /// Sets every link between two different validators to `link`.
    async fn link_all(&self, link: Link) {
        for a in &self.peers {
            for b in &self.peers {
                if a != b {
                    let _ = self.oracle.remove_link(a.clone(), b.clone()).await;
                    self.oracle
                        .add_link(a.clone(), b.clone(), link.clone())
                        .await
                        .unwrap();
                }
            }
        }
    }

    /// Cuts every link between the two groups, both ways.
    async fn partition(&self, left: &[usize], right: &[usize]) {
        for &a in left {
            for &b in right {
                let _ = self
                    .oracle
                    .remove_link(self.peers[a].clone(), self.peers[b].clone())
                    .await;
                let _ = self
                    .oracle
                    .remove_link(self.peers[b].clone(), self.peers[a].clone())
                    .await;
            }
        }
    }

    /// Fresh shared state for node `index`, running the release `self.releases[index]`.
    fn shared(&self, index: usize) -> Shared {
        let mut shared = Shared::new(self.genesis.clone());
        shared.protocols = self.releases[index];
        shared
    }

    async fn start(&mut self, index: usize) {
        let signer = PrivateKey::from_test_seed(index as u64);
        let control = self.oracle.control(signer.public_key().inner().clone());
        let mut pairs = Vec::new();
        for channel in CHANNELS {
            pairs.push(control.register(channel, QUOTA).await.unwrap());
        }
        let context = self
            .context
            .child("validator")
            .with_attribute("index", index)
            .with_attribute("restart", self.restarts[index]);
        self.restarts[index] += 1;
        let validator = start_validator(
            context,
            ValidatorConfig {
                signer,
                partition_prefix: format!("validator{index}"),
                shared: self.shared(index),
                peers: Box::new(civitas_consensus::epochs::FixedPeers),
            },
            self.oracle.manager(),
            control,
            Channels::from_pairs(pairs),
        )
        .await;
        self.validators[index] = Some(validator);
    }

    /// Starts validator `index` as an honest node whose application is `wrap` of the ledger
    /// application and whose sends on channel `tampered` (an index into [`CHANNELS`]) pass
    /// through `rewrite`; returns the count of rewritten messages.
    async fn start_altered(
        &mut self,
        index: usize,
        wrap: impl FnOnce(
            civitas_consensus::app::LedgerApp<deterministic::Context>,
        ) -> ByzantineProposer,
        tampered: Option<(usize, Rewrite)>,
    ) -> Arc<std::sync::atomic::AtomicU64> {
        let signer = PrivateKey::from_test_seed(index as u64);
        let control = self.oracle.control(signer.public_key().inner().clone());
        let rewritten = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut pairs = Vec::new();
        for (position, channel) in CHANNELS.into_iter().enumerate() {
            let (sender, receiver) = control.register(channel, QUOTA).await.unwrap();
            let rewrite = tampered
                .as_ref()
                .filter(|(at, _)| *at == position)
                .map(|(_, rewrite)| rewrite.clone());
            pairs.push((Tampering::new(sender, rewrite, rewritten.clone()), receiver));
        }
        let context = self
            .context
            .child("validator")
            .with_attribute("index", index)
            .with_attribute("restart", self.restarts[index]);
        self.restarts[index] += 1;
        let validator = start_validator_with(
            context,
            ValidatorConfig {
                signer,
                partition_prefix: format!("validator{index}"),
                shared: self.shared(index),
                peers: Box::new(civitas_consensus::epochs::FixedPeers),
            },
            self.oracle.manager(),
            control,
            Channels::from_pairs(pairs),
            wrap,
        )
        .await;
        self.validators[index] = Some(validator);
        rewritten
    }

    /// Crashes a validator: every one of its tasks stops at once; its storage remains.
    fn crash(&mut self, index: usize) {
        if let Some(validator) = self.validators[index].take() {
            validator.engine.abort();
        }
    }

    fn running(&self) -> Vec<&Validator<deterministic::Context>> {
        self.validators.iter().flatten().collect()
    }

    fn min_height(&self) -> u64 {
        self.running()
            .iter()
            .map(|v| v.shared.tip().height)
            .min()
            .unwrap_or(0)
    }

    /// Waits until every running validator is at `height` or above; after ten simulated
    /// minutes, fails with where each validator stands and which peers block which.
    async fn wait_for_height(&self, height: u64) {
        let deadline = self.context.current() + Duration::from_secs(600);
        while self.min_height() < height {
            if self.context.current() >= deadline {
                let heights: Vec<String> = self
                    .validators
                    .iter()
                    .enumerate()
                    .map(|(i, v)| match v {
                        Some(v) => format!("{i}: {}", v.shared.tip().height),
                        None => format!("{i}: down"),
                    })
                    .collect();
                let index = |key: &commonware_cryptography::ed25519::PublicKey| {
                    self.peers.iter().position(|p| p == key)
                };
                let blocked: Vec<String> = self
                    .oracle
                    .blocked()
                    .await
                    .unwrap_or_default()
                    .iter()
                    .map(|(by, of)| format!("{:?} blocks {:?}", index(by), index(of)))
                    .collect();
                panic!(
                    "no progress to height {height} in ten minutes: heights {heights:?}, \
                     blocked {blocked:?}"
                );
            }
            self.context.sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until every running validator holds every document anchored so far; fails after
    /// ten simulated minutes.
    async fn wait_for_documents(&self) {
        let deadline = self.context.current() + Duration::from_secs(600);
        for index in 0..self.validators.len() {
            for n in 0..self.next_document {
                while self.validators[index].is_some() && !self.has_document(index, n).await {
                    assert!(
                        self.context.current() < deadline,
                        "validator {index} never applied document {n}"
                    );
                    self.context.sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    /// The header of the finalized block at height `h`, as validator `index` holds it.
    async fn header(&self, index: usize, h: u64) -> civitas_core::block::Header {
        let validator = self.validators[index].as_ref().expect("validator running");
        let block = validator
            .marshal
            .get_block(Height::new(h))
            .await
            .unwrap_or_else(|| panic!("finalized block {h} missing at validator {index}"));
        block.inner().header().clone()
    }

    /// Waits until validator `index` has finalized transaction `hash`, whatever its outcome,
    /// and returns its receipt; fails after ten simulated minutes.
    async fn wait_for_receipt(
        &self,
        index: usize,
        hash: civitas_core::tx::TxHash,
    ) -> civitas_core::receipt::Receipt {
        let deadline = self.context.current() + Duration::from_secs(600);
        loop {
            if let Some(validator) = self.validators[index].as_ref()
                && let Ok(Some(receipt)) = validator.receipts.get(&hash).await
            {
                return receipt;
            }
            assert!(
                self.context.current() < deadline,
                "validator {index} never finalized transaction {hash}"
            );
            self.context.sleep(Duration::from_millis(50)).await;
        }
    }

    /// Submits without insisting on admission (the node may have seen it already).
    async fn try_submit(&mut self, index: usize, tx: SignedTx) -> bool {
        let Some(validator) = self.validators[index].as_mut() else {
            return false;
        };
        let (respond, verdict) = oneshot::channel();
        if validator.submit.send((tx, respond)).await.is_err() {
            return false;
        }
        matches!(verdict.await, Ok(Ok(_)))
    }

    /// Whether document `n` is in validator `index`'s state.
    async fn has_document(&self, index: usize, n: u64) -> bool {
        let Some(validator) = self.validators[index].as_ref() else {
            return false;
        };
        let key = civitas_modules::notary::state::document_key(&Hash32::sha256(&n.to_be_bytes()));
        let guard = validator.db.read().await;
        guard
            .get(&civitas_state::stored_key(&key))
            .await
            .unwrap()
            .is_some()
    }

    async fn submit_to(&mut self, index: usize, tx: SignedTx) {
        let validator = self.validators[index].as_mut().expect("validator running");
        let (respond, verdict) = oneshot::channel();
        validator.submit.send((tx, respond)).await.unwrap();
        verdict.await.unwrap().expect("transaction admitted");
    }

    /// Registers the notary official (through validator 0).
    async fn register_notary(&mut self) {
        self.wait_for_height(1).await;
        let admin = PrivateKey::from_test_seed(100);
        let register = tx(
            &admin,
            0,
            Instruction::Identity(IdentityInstruction::RegisterOfficial {
                key: self.notary.public_key(),
                agency: "finance".into(),
                name: "Notary".into(),
                roles: vec!["notary".into()],
            }),
        );
        self.submit_to(0, register).await;
        let target = self.min_height() + 2;
        self.wait_for_height(target).await;
    }

    /// Anchors `count` documents, spreading submissions over `through`.
    async fn anchor_documents(&mut self, count: u64, through: &[usize]) {
        for _ in 0..count {
            let n = self.next_document;
            let target = through[(n as usize) % through.len()];
            let signed = tx(&self.notary.clone(), n, anchor(n));
            self.submit_to(target, signed).await;
            self.next_document += 1;
        }
    }

    /// Checks agreement on every finalized block, state roots, and that every anchored
    /// document is in every running validator's state.
    async fn check(&self) -> u64 {
        let running = self.running();
        let height = self.min_height();
        let mut canonical: BTreeMap<u64, Hash32> = BTreeMap::new();
        for validator in &running {
            for h in 1..=height {
                let block = validator
                    .marshal
                    .get_block(Height::new(h))
                    .await
                    .unwrap_or_else(|| panic!("finalized block {h} missing"));
                let digest = civitas_state::from_digest(&block.digest());
                // What the node stored is what the digest binds, signatures included.
                block
                    .inner()
                    .0
                    .check_body()
                    .unwrap_or_else(|e| panic!("stored block {h} does not match its digest: {e}"));
                assert_eq!(block.inner().0.digest(), digest);
                let expected = canonical.entry(h).or_insert(digest);
                assert_eq!(
                    *expected, digest,
                    "conflicting finalized blocks at height {h}"
                );
            }
            // The state database matches the header of the height it holds.
            let (held, root) = {
                let guard = validator.db.read().await;
                let metadata = guard.get_metadata().await.unwrap();
                (
                    civitas_state::metadata_height(metadata.as_ref()).unwrap(),
                    civitas_state::from_digest(&guard.root()),
                )
            };
            let header = validator
                .marshal
                .get_block(Height::new(held))
                .await
                .unwrap();
            assert_eq!(
                root,
                header.inner().header().state_root,
                "state root at height {held}"
            );
            // Every applied block's receipts are stored, and they are the receipts its header
            // commits to (a restarted validator stored those of the blocks it caught up on).
            for h in 1..=held {
                let block = validator.marshal.get_block(Height::new(h)).await.unwrap();
                let block = &block.inner().0;
                let mut receipts = Vec::with_capacity(block.txs.len());
                for tx in &block.txs {
                    let receipt = validator.receipts.get(&tx.hash()).await.unwrap();
                    receipts.push(
                        receipt.unwrap_or_else(|| panic!("a receipt of block {h} is missing")),
                    );
                }
                assert_eq!(
                    civitas_core::block::receipts_root(&receipts),
                    block.header.receipts_root,
                    "receipts of block {h}"
                );
            }
            for n in 0..self.next_document {
                let key =
                    civitas_modules::notary::state::document_key(&Hash32::sha256(&n.to_be_bytes()));
                let guard = validator.db.read().await;
                let value = guard.get(&civitas_state::stored_key(&key)).await.unwrap();
                assert!(value.is_some(), "document {n} missing");
            }
        }
        height
    }
}

fn run(
    seed: u64,
    scenario: fn(deterministic::Context, u64) -> futures::future::BoxFuture<'static, ()>,
) {
    let config = deterministic::Config::new()
        .with_seed(seed)
        .with_timeout(Some(Duration::from_secs(3_600)));
    deterministic::Runner::new(config).start(move |context| scenario(context, seed));
}

fn seeds() -> Vec<u64> {
    match std::env::var("CIVITAS_SEED") {
        Ok(seed) => vec![seed.parse().expect("CIVITAS_SEED must be a number")],
        Err(_) => {
            let number = |name: &str, default: u64| {
                std::env::var(name)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(default)
            };
            // CIVITAS_SEED_START lets a long soak be split between processes.
            let start = number("CIVITAS_SEED_START", 0);
            (start..start + number("CIVITAS_SEEDS", 3)).collect()
        }
    }
}

fn for_each_seed(
    name: &str,
    scenario: fn(deterministic::Context, u64) -> futures::future::BoxFuture<'static, ()>,
) {
    // Every seed runs even after one fails, so that a long soak reports all its failures.
    let mut failed = Vec::new();
    for seed in seeds() {
        let started = std::time::Instant::now();
        match std::panic::catch_unwind(|| run(seed, scenario)) {
            Ok(()) => eprintln!(
                "{name}: seed {seed} passed in {:.1} s",
                started.elapsed().as_secs_f64()
            ),
            Err(_) => {
                eprintln!("{name} failed with seed {seed}; reproduce with CIVITAS_SEED={seed}");
                failed.push(seed);
            }
        }
    }
    assert!(
        failed.is_empty(),
        "{name} failed with seeds {failed:?}; reproduce one with CIVITAS_SEED=<seed>"
    );
}

#[test]
fn four_validators_agree_through_a_crash_and_restart() {
    for_each_seed("crash and restart", |context, seed| {
        Box::pin(async move {
            let mut sim = Sim::new(context.child("sim")).await;
            sim.register_notary().await;
            sim.anchor_documents(20, &[0, 1, 2, 3]).await;
            let target = sim.min_height() + 5;
            sim.wait_for_height(target).await;

            // Crash validator 3; the other three keep finalizing.
            sim.crash(3);
            sim.anchor_documents(20, &[0, 1, 2]).await;
            let target = sim.min_height() + 10;
            sim.wait_for_height(target).await;

            // Restart it from its own storage: it must catch up.
            let target = sim.min_height();
            sim.start(3).await;
            sim.wait_for_height(target + 3).await;
            let height = sim.check().await;
            println!("seed {seed}: 4 validators agree on {height} finalized blocks after a crash");

            // A proof bundle from validator 0 verifies offline against genesis alone, and any
            // altered byte makes it fail.
            let handle = civitas_consensus::service::start(
                context.child("service"),
                sim.validators[0].as_ref().unwrap(),
            );
            let doc_key =
                civitas_modules::notary::state::document_key(&Hash32::sha256(&5u64.to_be_bytes()));
            let bundle = handle.bundle(doc_key).await.expect("bundle");
            civitas_state::proof::verify_bundle(&bundle, &sim.genesis).expect("bundle verifies");
            assert!(matches!(&bundle.claim, Claim::State(c) if c.value.is_some()));
            let bytes = bundle.to_bytes();
            for i in 0..bytes.len() {
                let mut tampered = bytes.clone();
                tampered[i] ^= 0x10;
                let verdict = civitas_core::bundle::ProofBundle::from_bytes(&tampered)
                    .and_then(|b| civitas_state::proof::verify_bundle(&b, &sim.genesis));
                assert!(verdict.is_err(), "tampering byte {i} still verified");
            }
            // Even with the checksum recomputed by a forger, no single-byte change of a value
            // bundle verifies: the certificate and the state proof bind every byte.
            assert_forgeries_fail(&bytes, &sim.genesis, 1);
            let absent = handle
                .bundle(civitas_modules::notary::state::document_key(
                    &Hash32::sha256(b"never"),
                ))
                .await
                .expect("absence bundle");
            assert!(matches!(&absent.claim, Claim::State(c) if c.value.is_none()));
            civitas_state::proof::verify_bundle(&absent, &sim.genesis)
                .expect("absence bundle verifies");

            // A transaction finalized while validator 3 was down: the restarted validator
            // proves it with its receipt, and no forged byte of that bundle verifies.
            let anchor_25 = tx(&sim.notary.clone(), 25, anchor(25)).hash();
            let handle_3 = civitas_consensus::service::start(
                context.child("service_3"),
                sim.validators[3].as_ref().unwrap(),
            );
            let bundle = handle_3
                .tx_bundle(anchor_25)
                .await
                .expect("transaction bundle");
            civitas_state::proof::verify_bundle(&bundle, &sim.genesis)
                .expect("transaction bundle verifies");
            let Claim::Transaction(claim) = &bundle.claim else {
                panic!("a transaction bundle claims a transaction");
            };
            assert_eq!(claim.receipt.tx, anchor_25);
            assert!(claim.receipt.succeeded());
            assert_forgeries_fail(&bundle.to_bytes(), &sim.genesis, 1);
            python_verifies(&bundle.to_bytes(), &sim.genesis, seed);

            // The same transaction proven through a later certified block's history (as for a
            // block with no certificate of its own): any forged byte fails there too.
            let latest = sim.min_height();
            let through = handle_3
                .tx_bundle_through(anchor_25, Some(latest))
                .await
                .expect("transaction bundle through a later block");
            let Claim::EarlierTransaction(earlier) = &through.claim else {
                panic!("a bundle through a later block proves the earlier one by history");
            };
            assert_eq!(earlier.claim.receipt.tx, anchor_25);
            assert!(through.header.height >= latest);
            civitas_state::proof::verify_bundle(&through, &sim.genesis)
                .expect("bundle through a later block verifies");
            assert_forgeries_fail(&through.to_bytes(), &sim.genesis, 1);
            python_verifies(&through.to_bytes(), &sim.genesis, seed);
        })
    });
}

#[test]
fn a_partition_without_quorum_stalls_safely_then_heals() {
    for_each_seed("partition", |context, seed| {
        Box::pin(async move {
            let mut sim = Sim::new(context.child("sim")).await;
            sim.register_notary().await;
            sim.anchor_documents(5, &[0, 1, 2, 3]).await;
            let target = sim.min_height() + 3;
            sim.wait_for_height(target).await;

            // Two against two: neither side has a quorum (3 of 4), so nothing is finalized.
            sim.partition(&[0, 1], &[2, 3]).await;
            context.sleep(Duration::from_secs(2)).await;
            let stalled = sim
                .running()
                .iter()
                .map(|v| v.shared.tip().height)
                .max()
                .unwrap();
            sim.anchor_documents(5, &[0, 1]).await;
            context.sleep(Duration::from_secs(10)).await;
            let still = sim
                .running()
                .iter()
                .map(|v| v.shared.tip().height)
                .max()
                .unwrap();
            assert_eq!(still, stalled, "no block may be finalized without a quorum");

            // Heal: progress resumes and the transactions sent during the partition finalize.
            sim.link_all(FAST).await;
            sim.wait_for_height(still + 5).await;
            let height = sim.check().await;
            println!("seed {seed}: progress resumed after the partition healed ({height} blocks)");
        })
    });
}

#[test]
fn lossy_and_slow_links_keep_agreement() {
    for_each_seed("lossy and slow links", |context, seed| {
        Box::pin(async move {
            let mut sim = Sim::new(context.child("sim")).await;
            sim.register_notary().await;
            // One message in ten lost, 150 ms latency with 100 ms jitter.
            sim.link_all(Link {
                latency: Duration::from_millis(150),
                jitter: Duration::from_millis(100),
                success_rate: Probability::from_f64(0.9).unwrap(),
            })
            .await;
            sim.anchor_documents(15, &[0, 1, 2, 3]).await;
            let target = sim.min_height() + 10;
            sim.wait_for_height(target).await;
            let height = sim.check().await;
            println!("seed {seed}: agreement on {height} blocks over lossy, slow links");
        })
    });
}

#[test]
fn one_byzantine_validator_cannot_break_agreement() {
    for kind in [
        Byzantine::Conflicter,
        Byzantine::Nuller,
        Byzantine::Equivocator,
    ] {
        let scenario: fn(deterministic::Context, u64) -> futures::future::BoxFuture<'static, ()> =
            match kind {
                Byzantine::Conflicter => |context, seed| {
                    Box::pin(byzantine_scenario(context, seed, Byzantine::Conflicter))
                },
                Byzantine::Nuller => {
                    |context, seed| Box::pin(byzantine_scenario(context, seed, Byzantine::Nuller))
                }
                Byzantine::Equivocator => |context, seed| {
                    Box::pin(byzantine_scenario(context, seed, Byzantine::Equivocator))
                },
            };
        for_each_seed(&format!("{kind:?}"), scenario);
    }
}

async fn byzantine_scenario(context: deterministic::Context, seed: u64, kind: Byzantine) {
    let mut sim = Sim::with_byzantine(context.child("sim"), Some((3, kind))).await;
    sim.register_notary().await;
    sim.anchor_documents(15, &[0, 1, 2]).await;
    let target = sim.min_height() + 8;
    sim.wait_for_height(target).await;
    let height = sim.check().await;
    println!("seed {seed}: 3 honest validators agree on {height} blocks beside a {kind:?}");
}

/// splitmix64, for fault schedules derived from the seed.
struct Schedule(u64);

impl Schedule {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % bound
    }
}

/// Simulated minutes of random faults per seed: 2 by default, `CIVITAS_SIM_MINUTES` to change
/// (the long mode, for example 60).
fn fault_minutes() -> u64 {
    std::env::var("CIVITAS_SIM_MINUTES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2)
}

#[test]
fn random_crashes_partitions_and_lossy_links_keep_safety_and_liveness() {
    for_each_seed("random faults", |context, seed| {
        Box::pin(async move {
            let mut sim = Sim::new(context.child("sim")).await;
            sim.register_notary().await;
            let mut schedule = Schedule(seed);
            let mut crashed: Option<usize> = None;
            let mut signed: Vec<SignedTx> = Vec::new();
            let steps = fault_minutes() * 60 / 5;
            for step in 0..steps {
                // Keep the load going through running validators.
                for _ in 0..3 {
                    let n = sim.next_document;
                    let transaction = tx(&sim.notary.clone(), n, anchor(n));
                    signed.push(transaction.clone());
                    sim.next_document += 1;
                    let target = loop {
                        let pick = schedule.next(VALIDATORS) as usize;
                        if Some(pick) != crashed {
                            break pick;
                        }
                    };
                    sim.try_submit(target, transaction).await;
                }
                // One fault (or repair) every five simulated seconds.
                match schedule.next(6) {
                    0 if crashed.is_none() => {
                        let victim = schedule.next(VALIDATORS) as usize;
                        sim.crash(victim);
                        crashed = Some(victim);
                    }
                    1 if crashed.is_some() => {
                        let index = crashed.take().unwrap();
                        sim.start(index).await;
                    }
                    2 => {
                        let alone = schedule.next(VALIDATORS) as usize;
                        let rest: Vec<usize> =
                            (0..VALIDATORS as usize).filter(|i| *i != alone).collect();
                        sim.link_all(FAST).await;
                        sim.partition(&[alone], &rest).await;
                    }
                    3 => {
                        sim.link_all(Link {
                            latency: Duration::from_millis(100),
                            jitter: Duration::from_millis(80),
                            success_rate: Probability::from_f64(0.8).unwrap(),
                        })
                        .await;
                    }
                    _ => sim.link_all(FAST).await,
                }
                let _ = step;
                context.sleep(Duration::from_secs(5)).await;
            }

            // Heal everything: progress must resume and every transaction must finalize once
            // clients resubmit the ones a crashed validator took down with it.
            sim.link_all(FAST).await;
            if let Some(index) = crashed.take() {
                sim.start(index).await;
            }
            let target = sim.min_height() + 3;
            sim.wait_for_height(target).await;
            for attempt in 0.. {
                let mut missing = Vec::new();
                for n in 0..sim.next_document {
                    if !sim.has_document(0, n).await {
                        missing.push(n);
                    }
                }
                if missing.is_empty() {
                    break;
                }
                assert!(attempt < 60, "documents {missing:?} never finalized");
                for n in missing {
                    let transaction = signed[n as usize].clone();
                    sim.try_submit((n % VALIDATORS) as usize, transaction).await;
                }
                context.sleep(Duration::from_secs(2)).await;
            }
            // Every validator, including one that was down or cut off for long, catches up to
            // where validator 0 holds every document.
            let target = sim.validators[0].as_ref().unwrap().shared.tip().height + 2;
            sim.wait_for_height(target).await;
            let height = sim.check().await;
            // A transaction in a block made final only by a descendant's certificate is proven
            // through a later certified block's history.
            let uncertified = prove_uncertified(&sim, &context, seed).await;
            println!(
                "seed {seed}: {} simulated minutes of faults, {} transactions, agreement on {height} blocks, {uncertified} blocks final through a descendant",
                fault_minutes(),
                sim.next_document
            );
        })
    });
}

/// Governance transactions of the sim's agency admins (seeds 100 + agency index).
struct Admins {
    nonces: [u64; VALIDATORS as usize],
}

impl Admins {
    fn sign(&mut self, agency: usize, op: GovernanceInstruction) -> SignedTx {
        let key = PrivateKey::from_test_seed(100 + agency as u64);
        let nonce = self.nonces[agency];
        self.nonces[agency] += 1;
        tx(&key, nonce, Instruction::Governance(op))
    }
}

/// Proposes `action` as agency 1's admin, approved by agencies 2 and 3 (the threshold is 3), all
/// submitted through `through`; waits until it is final.
async fn govern(
    sim: &mut Sim,
    admins: &mut Admins,
    proposal: u64,
    action: GovernanceAction,
    through: usize,
) {
    let propose = admins.sign(
        1,
        GovernanceInstruction::Propose {
            action,
            reason: "simulation".into(),
        },
    );
    // Each step waits for the previous one's receipt, not for a number of blocks: over lossy
    // links a transaction can take longer to be included, and an approval of a proposal not
    // yet made fails.
    let proposed = propose.hash();
    sim.submit_to(through, propose).await;
    sim.wait_for_receipt(through, proposed).await;
    let mut approvals = Vec::new();
    for agency in [2, 3] {
        let approve = admins.sign(agency, GovernanceInstruction::Approve { proposal });
        approvals.push(approve.hash());
        sim.submit_to(through, approve).await;
    }
    for approval in approvals {
        sim.wait_for_receipt(through, approval).await;
    }
    let target = sim.min_height() + 3;
    sim.wait_for_height(target).await;
}

/// The validator set the running node `index` uses for `epoch`.
fn epoch_keys(sim: &Sim, index: usize, epoch: u64) -> Vec<civitas_core::crypto::PublicKey> {
    sim.validators[index]
        .as_ref()
        .and_then(|v| v.shared.epochs.get(epoch))
        .map(|set| set.keys())
        .unwrap_or_default()
}

/// Brings node 4 in with `add` over lossy links while validator 2 crashes, then takes
/// validator 3 out with `remove`, stops it and crashes validator 1: the chain goes on only if
/// node 4 really signs (3 of the 4 validators 0, 1, 2, 4 are needed). Returns the epochs the
/// two changes took effect in and the height all running validators agree on.
async fn hand_over_under_faults(
    sim: &mut Sim,
    admins: &mut Admins,
    add: GovernanceAction,
    remove: GovernanceAction,
    seed: u64,
) -> (u64, u64, u64) {
    let joiner = PrivateKey::from_test_seed(4).public_key();
    let leaver = PrivateKey::from_test_seed(3).public_key();
    sim.register_notary().await;
    sim.anchor_documents(5, &[0, 1, 2]).await;

    // Add node 4, over lossy links, with validator 2 crashing mid-way.
    sim.link_all(Link {
        latency: Duration::from_millis(60),
        jitter: Duration::from_millis(40),
        success_rate: Probability::from_f64(0.9).unwrap(),
    })
    .await;
    govern(sim, admins, 1, add, 0).await;
    sim.crash(2);
    let added = sim.validators[0].as_ref().unwrap().shared.metrics.epoch() + 1;
    sim.wait_for_height(EPOCH_LENGTH * added + 2).await;
    sim.start(2).await;
    sim.link_all(FAST).await;
    assert!(
        epoch_keys(sim, 0, added).contains(&joiner),
        "seed {seed}: node 4 not added"
    );
    assert!(
        epoch_keys(sim, 4, added).contains(&joiner),
        "seed {seed}: node 4 did not learn its epoch"
    );

    // Take validator 3 out, then stop it and crash validator 1.
    govern(sim, admins, 2, remove, 0).await;
    let removed = sim.validators[0].as_ref().unwrap().shared.metrics.epoch() + 1;
    sim.wait_for_height(EPOCH_LENGTH * removed + 2).await;
    assert!(
        !epoch_keys(sim, 0, removed).contains(&leaver),
        "seed {seed}: validator 3 not removed"
    );
    sim.crash(3);
    sim.crash(1);
    sim.anchor_documents(5, &[0, 2, 4]).await;
    let target = sim.min_height() + 5;
    sim.wait_for_height(target).await;
    sim.start(1).await;
    let target = sim.min_height() + 3;
    sim.wait_for_height(target).await;
    let height = sim.check().await;
    (added, removed, height)
}

#[test]
fn validator_set_changes_hand_over_under_faults() {
    for_each_seed("validator-set change", |context, seed| {
        Box::pin(async move {
            // Node 4 is not in genesis: it follows the chain until governance adds it.
            let mut sim = Sim::build(context.child("sim"), VALIDATORS as usize + 1, None).await;
            let mut admins = Admins {
                nonces: [0; VALIDATORS as usize],
            };
            let add = GovernanceAction::AddValidator {
                agency: "health".into(),
                key: PrivateKey::from_test_seed(4).public_key(),
                p2p_address: "127.0.0.1:9004".into(),
            };
            let remove = GovernanceAction::RemoveValidator {
                key: PrivateKey::from_test_seed(3).public_key(),
            };
            let (added, removed, height) =
                hand_over_under_faults(&mut sim, &mut admins, add, remove, seed).await;

            // A bundle from after both changes verifies from genesis through two hand-overs.
            let handle = civitas_consensus::service::start(
                context.child("service"),
                sim.validators[4].as_ref().unwrap(),
            );
            let doc_key =
                civitas_modules::notary::state::document_key(&Hash32::sha256(&7u64.to_be_bytes()));
            let bundle = handle.bundle(doc_key).await.expect("bundle");
            assert_eq!(bundle.handovers.len(), 2, "seed {seed}: hand-over chain");
            civitas_state::proof::verify_bundle(&bundle, &sim.genesis).expect("bundle verifies");
            let bytes = bundle.to_bytes();
            assert_forgeries_fail(&bytes, &sim.genesis, 5);
            // The independent Python verifier follows the same chain.
            python_verifies(&bytes, &sim.genesis, seed);
            // Dropping a hand-over breaks the chain.
            let mut shortened = bundle.clone();
            shortened.handovers.remove(0);
            assert!(civitas_state::proof::verify_bundle(&shortened, &sim.genesis).is_err());
            println!(
                "seed {seed}: validator added in epoch {added}, removed in epoch {removed}; agreement on {height} blocks; bundle with 2 hand-overs ({} bytes) verifies",
                bytes.len()
            );
        })
    });
}

#[test]
fn agencies_join_with_a_validator_and_retire_under_faults() {
    for_each_seed("agency joins and retires", |context, seed| {
        Box::pin(async move {
            // Justice (node 4's operator) joins by vote with its validator; audit (validator
            // 3) retires by vote, and its validator leaves with it.
            let mut sim = Sim::build(context.child("sim"), VALIDATORS as usize + 1, None).await;
            let mut admins = Admins {
                nonces: [0; VALIDATORS as usize],
            };
            let justice_admin = PrivateKey::from_test_seed(104);
            let join = GovernanceAction::AddAgency {
                id: "justice".into(),
                name: "Ministry of Justice".into(),
                admin_keys: vec![justice_admin.public_key()],
                validator: Some(civitas_core::governance::NewValidator {
                    key: PrivateKey::from_test_seed(4).public_key(),
                    p2p_address: "127.0.0.1:9004".into(),
                }),
            };
            let retire = GovernanceAction::RetireAgency { id: "audit".into() };
            let (added, retired, height) =
                hand_over_under_faults(&mut sim, &mut admins, join, retire, seed).await;
            // Every running validator holds both records; the retired agency's admin can no
            // longer get a transaction admitted, the new agency's admin can.
            use civitas_modules::identity::state::{Agency, agency_key};
            for index in [0, 1, 2, 4] {
                let read = |id: &str| {
                    let key = civitas_state::stored_key(&agency_key(id));
                    let validator = sim.validators[index].as_ref().unwrap();
                    async move {
                        let guard = validator.db.read().await;
                        let bytes = guard.get(&key).await.unwrap().expect("agency record");
                        civitas_core::codec::from_slice::<Agency>(&bytes.0, &()).unwrap()
                    }
                };
                assert!(
                    read("justice").await.in_force(),
                    "seed {seed}: node {index}"
                );
                assert!(!read("audit").await.in_force(), "seed {seed}: node {index}");
            }
            let audit = admins.sign(3, GovernanceInstruction::Approve { proposal: 1 });
            assert!(
                !sim.try_submit(0, audit).await,
                "seed {seed}: a retired agency's admin was admitted"
            );
            let register = tx(
                &justice_admin,
                0,
                Instruction::Identity(IdentityInstruction::RegisterOfficial {
                    key: PrivateKey::from_test_seed(501).public_key(),
                    agency: "justice".into(),
                    name: "Clerk".into(),
                    roles: vec!["notary".into()],
                }),
            );
            let registered = register.hash();
            sim.submit_to(4, register).await;
            sim.wait_for_receipt(4, registered).await;
            println!(
                "seed {seed}: agency joined with its validator in epoch {added}, audit retired with its validator in epoch {retired}; agreement on {height} blocks"
            );
        })
    });
}

/// Version 1 of the upgrade test's releases: everything but revoking documents.
fn version_1_without_revocation() -> Protocol {
    static FEATURES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    static LISTS: std::sync::OnceLock<[&'static [&'static str]; 1]> = std::sync::OnceLock::new();
    Protocol {
        version: 1,
        release: "0.1.0",
        features: LISTS.get_or_init(|| {
            [FEATURES
                .get_or_init(|| {
                    civitas_core::protocol::VERSION_1
                        .iter()
                        .copied()
                        .filter(|f| *f != "notary.revoke")
                        .collect()
                })
                .as_slice()]
        }),
    }
}

/// The old release of the upgrade test: it knows protocol version 1 only.
fn old_release() -> Protocols {
    static TABLE: std::sync::OnceLock<Vec<Protocol>> = std::sync::OnceLock::new();
    Protocols(TABLE.get_or_init(|| vec![version_1_without_revocation()]))
}

/// The new release: it knows version 1 (the same) and version 2, which adds revocation.
fn new_release() -> Protocols {
    static TABLE: std::sync::OnceLock<Vec<Protocol>> = std::sync::OnceLock::new();
    Protocols(TABLE.get_or_init(|| {
        vec![
            version_1_without_revocation(),
            Protocol {
                version: 2,
                release: "0.2.0",
                features: &[civitas_core::protocol::VERSION_1],
            },
        ]
    }))
}

/// A network started at protocol 1 by a release without the register of notices (its
/// genesis authorization has no part for it) upgrades to this release's version 2 by vote:
/// every validator installs the register's schema part and policies at the first block of
/// version 2, identically, and a publisher publishes from then on.
#[test]
fn a_module_a_version_introduces_joins_a_running_chain_at_that_version() {
    for_each_seed("module joins at its version", |context, seed| {
        Box::pin(async move {
            let mut genesis = (*genesis()).clone();
            genesis.authorization = civitas_modules::authz::authorization_for(1);
            let mut sim = Sim::build_from(
                context.child("sim"),
                Arc::new(genesis),
                VALIDATORS as usize,
                None,
                civitas_core::protocol::PROTOCOLS,
            )
            .await;
            let mut admins = Admins {
                nonces: [0; VALIDATORS as usize],
            };
            sim.wait_for_height(1).await;
            let finance = PrivateKey::from_test_seed(100);
            let publisher = PrivateKey::from_test_seed(700);
            let register = tx(
                &finance,
                0,
                Instruction::Identity(IdentityInstruction::RegisterOfficial {
                    key: publisher.public_key(),
                    agency: "finance".into(),
                    name: "Publisher".into(),
                    roles: vec!["publisher".into()],
                }),
            );
            let registered = register.hash();
            sim.submit_to(0, register).await;
            sim.wait_for_receipt(0, registered).await;
            let publish = tx(
                &publisher,
                0,
                Instruction::Notices(civitas_core::notices::NoticesInstruction::Publish {
                    category: "hearing".into(),
                    title: "Public hearing".into(),
                    text: Hash32::sha256(b"the hearing"),
                    effective: TimestampMs(1),
                    expires: None,
                }),
            );
            match submit_verdict(&mut sim, 0, publish.clone()).await {
                Err(civitas_consensus::gossip::SubmitError::Refused { code, .. }) => {
                    assert_eq!(code, "not_active", "seed {seed}")
                }
                other => panic!("seed {seed}: a notice before the upgrade: {other:?}"),
            }

            let activation = sim.min_height() + 30;
            let upgrade = GovernanceAction::ScheduleUpgrade {
                version: 2,
                height: activation,
                release: "0.2.0".into(),
            };
            govern(&mut sim, &mut admins, 1, upgrade, 0).await;
            sim.wait_for_height(activation + 1).await;
            let published = publish.hash();
            submit_verdict(&mut sim, 2, publish)
                .await
                .unwrap_or_else(|e| panic!("seed {seed}: a notice after the upgrade: {e}"));
            let receipt = sim.wait_for_receipt(2, published).await;
            assert!(receipt.succeeded(), "seed {seed}: {receipt:?}");
            assert!(receipt.height >= activation, "seed {seed}");
            // Every validator holds the same state, the installed authorization included.
            sim.check().await;
        })
    });
}

/// A chain whose genesis starts at protocol 2 (genesis format 4): every block from the genesis
/// block on is made under version 2 (header format 4), what version 2 admits is accepted from
/// the first block, a release that does not run version 2 stops at once, and bundles verify in
/// Rust and in Python against the format-4 genesis.
#[test]
fn a_chain_starts_at_the_protocol_its_genesis_names() {
    for_each_seed("genesis protocol", |context, seed| {
        Box::pin(async move {
            let mut genesis = (*genesis()).clone();
            genesis.protocol = 2;
            genesis.version = civitas_core::genesis::genesis_version(2);
            genesis.validate().expect("a valid genesis");
            let genesis = Arc::new(genesis);
            let first = civitas_consensus::app::genesis_block(&genesis);
            assert_eq!(
                (first.header().protocol, first.header().version),
                (2, 4),
                "seed {seed}: the genesis block"
            );
            let mut sim = Sim::build_from(
                context.child("sim"),
                genesis.clone(),
                VALIDATORS as usize,
                None,
                new_release(),
            )
            .await;
            sim.register_notary().await;
            sim.anchor_documents(3, &[0, 1, 2, 3]).await;
            // Revoking, which version 1 leaves out in this test, is admitted from the start.
            let revoke = revoke_document_zero();
            let revoked = revoke.hash();
            submit_verdict(&mut sim, 0, revoke)
                .await
                .unwrap_or_else(|e| panic!("seed {seed}: revocation: {e}"));
            let receipt = sim.wait_for_receipt(0, revoked).await;
            assert!(receipt.succeeded(), "seed {seed}: {receipt:?}");

            // A release that runs version 1 only stops at once, applying nothing.
            let applied = |sim: &Sim| {
                let db = sim.validators[3].as_ref().unwrap().db.clone();
                async move {
                    let guard = db.read().await;
                    let metadata = guard.get_metadata().await.unwrap();
                    civitas_state::metadata_height(metadata.as_ref()).unwrap()
                }
            };
            let before = applied(&sim).await;
            sim.crash(3);
            sim.releases[3] = old_release();
            sim.start(3).await;
            let deadline = context.current() + Duration::from_secs(60);
            let reason = loop {
                if let Some(reason) = sim.validators[3].as_ref().unwrap().shared.halted() {
                    break reason;
                }
                assert!(
                    context.current() < deadline,
                    "seed {seed}: the old release did not stop"
                );
                context.sleep(Duration::from_millis(100)).await;
            };
            assert!(
                reason.contains("protocol version 2 is this chain's from its genesis")
                    && reason.contains("install a release that runs protocol version 2"),
                "seed {seed}: {reason}"
            );
            sim.anchor_documents(2, &[0, 1, 2]).await;
            assert_eq!(
                applied(&sim).await,
                before,
                "seed {seed}: the old release applied blocks"
            );
            sim.crash(3);
            sim.releases[3] = new_release();
            sim.start(3).await;

            sim.anchor_documents(2, &[0, 1, 2, 3]).await;
            let target = sim.min_height() + 2;
            sim.wait_for_height(target).await;
            sim.wait_for_documents().await;
            let height = sim.check().await;
            for h in 1..=height {
                let header = sim.header(1, h).await;
                assert_eq!(
                    (header.protocol, header.version),
                    (2, 4),
                    "seed {seed}: block {h}"
                );
            }
            let handle = civitas_consensus::service::start(
                context.child("service"),
                sim.validators[0].as_ref().unwrap(),
            );
            let document =
                civitas_modules::notary::state::document_key(&Hash32::sha256(&1u64.to_be_bytes()));
            let bundle = handle.bundle(document).await.expect("state bundle");
            civitas_state::proof::verify_bundle(&bundle, &genesis)
                .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            python_verifies(&bundle.to_bytes(), &genesis, seed);
            println!("seed {seed}: a chain started at protocol 2 ran {height} blocks under it");
        })
    });
}

/// Finance's admin, whose nonce 0 registered the notary, revokes document 0 (an instruction
/// version 1 leaves out in the protocol tests).
fn revoke_document_zero() -> SignedTx {
    tx(
        &PrivateKey::from_test_seed(100),
        1,
        Instruction::Notary(NotaryInstruction::Revoke {
            document: Hash32::sha256(&0u64.to_be_bytes()),
            reason: "issued in error".into(),
        }),
    )
}

/// What node `index` answers to a submission.
async fn submit_verdict(
    sim: &mut Sim,
    index: usize,
    tx: SignedTx,
) -> Result<civitas_core::tx::TxHash, civitas_consensus::gossip::SubmitError> {
    let validator = sim.validators[index].as_mut().expect("validator running");
    let (respond, verdict) = oneshot::channel();
    validator.submit.send((tx, respond)).await.unwrap();
    verdict.await.unwrap()
}

#[test]
fn a_protocol_upgrade_activates_at_its_height_without_a_fork() {
    for_each_seed("protocol upgrade", |context, seed| {
        Box::pin(async move {
            // Every validator starts on the old release, which knows protocol version 1 only.
            let mut sim = Sim::build_on(
                context.child("sim"),
                VALIDATORS as usize,
                None,
                old_release(),
            )
            .await;
            let mut admins = Admins {
                nonces: [0; VALIDATORS as usize],
            };
            sim.register_notary().await;
            sim.anchor_documents(5, &[0, 1, 2, 3]).await;

            // Revoking is not part of version 1: refused before anything is signed into a
            // block.
            let revoke = revoke_document_zero();
            match submit_verdict(&mut sim, 0, revoke.clone()).await {
                Err(civitas_consensus::gossip::SubmitError::Refused { code, .. }) => {
                    assert_eq!(code, "not_active", "seed {seed}")
                }
                other => panic!("seed {seed}: revocation before the upgrade: {other:?}"),
            }

            // Governance schedules version 2, far enough ahead for three operators to upgrade.
            let activation = sim.min_height() + 60;
            let upgrade = GovernanceAction::ScheduleUpgrade {
                version: 2,
                height: activation,
                release: "0.2.0".into(),
            };
            govern(&mut sim, &mut admins, 1, upgrade, 0).await;
            assert!(
                sim.min_height() + 20 < activation,
                "seed {seed}: the vote took too long"
            );

            // Three operators install the new release before the height, one at a time, while
            // documents keep coming; audit's operator (validator 3) does not.
            for index in 0..3 {
                sim.crash(index);
                sim.releases[index] = new_release();
                sim.start(index).await;
                let others: Vec<usize> = (0..4).filter(|&i| i != index).collect();
                sim.anchor_documents(3, &others).await;
                let target = sim.min_height() + 2;
                sim.wait_for_height(target).await;
            }
            assert!(
                sim.min_height() < activation,
                "seed {seed}: the upgrades took too long"
            );

            // The old release stops after the last block of version 1, having applied nothing
            // of version 2, and says which release to install.
            let deadline = context.current() + Duration::from_secs(600);
            let reason = loop {
                if let Some(reason) = sim.validators[3].as_ref().unwrap().shared.halted() {
                    break reason;
                }
                assert!(
                    context.current() < deadline,
                    "seed {seed}: the old release never stopped"
                );
                sim.anchor_documents(1, &[0, 1, 2]).await;
                context.sleep(Duration::from_millis(200)).await;
            };
            assert!(
                reason.contains(&format!(
                    "protocol version 2 is active from block {activation}"
                )) && reason.contains("install civitas 0.2.0 or later"),
                "seed {seed}: {reason}"
            );
            let stopped = sim.validators[3].as_ref().unwrap().shared.tip().height;
            assert_eq!(
                stopped,
                activation - 1,
                "seed {seed}: where the old release stopped"
            );
            // It stays there (its operator's service manager sees the exit).
            context.sleep(Duration::from_secs(5)).await;
            let held = {
                let guard = sim.validators[3].as_ref().unwrap().db.read().await;
                let metadata = guard.get_metadata().await.unwrap();
                civitas_state::metadata_height(metadata.as_ref()).unwrap()
            };
            assert_eq!(
                held,
                activation - 1,
                "seed {seed}: the old release applied more"
            );
            sim.crash(3);

            // The three upgraded validators cross the height; revocation is now admitted.
            sim.anchor_documents(3, &[0, 1, 2]).await;
            sim.wait_for_height(activation + 3).await;
            let revoked = revoke.hash();
            submit_verdict(&mut sim, 1, revoke)
                .await
                .unwrap_or_else(|e| panic!("seed {seed}: revocation after the upgrade: {e}"));
            let receipt = sim.wait_for_receipt(1, revoked).await;
            assert!(receipt.succeeded(), "seed {seed}: {receipt:?}");
            assert!(receipt.height >= activation, "seed {seed}");

            // Audit's operator installs the new release: the node continues from its data.
            sim.releases[3] = new_release();
            sim.start(3).await;
            sim.anchor_documents(3, &[0, 1, 2, 3]).await;
            let target = sim.min_height() + 3;
            sim.wait_for_height(target).await;
            sim.wait_for_documents().await;
            let height = sim.check().await;
            // Every block before the height was made under version 1, every block from it
            // under version 2.
            for h in 1..=height {
                let header = sim.header(3, h).await;
                let expected = if h < activation { 1 } else { 2 };
                assert_eq!(header.protocol, expected, "seed {seed}: block {h}");
                assert_eq!(header.version, if h < activation { 3 } else { 4 });
            }
            // Bundles across the switch verify, by this verifier and by the Python one: a record
            // proven at a block of protocol 2 (a format-4 header), and a transaction of protocol
            // 1 (a format-3 header) proven through a protocol-2 block's history.
            let handle = civitas_consensus::service::start(
                context.child("service"),
                sim.validators[0].as_ref().unwrap(),
            );
            let document =
                civitas_modules::notary::state::document_key(&Hash32::sha256(&0u64.to_be_bytes()));
            let state = handle.bundle(document).await.expect("state bundle");
            assert_eq!(state.header.protocol, 2, "seed {seed}");
            let anchored = tx(&sim.notary.clone(), 0, anchor(0)).hash();
            let earlier = handle
                .tx_bundle_through(anchored, Some(sim.min_height()))
                .await
                .expect("bundle through a later block");
            assert!(matches!(&earlier.claim, Claim::EarlierTransaction(_)));
            for bundle in [state, earlier] {
                civitas_state::proof::verify_bundle(&bundle, &sim.genesis)
                    .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
                python_verifies(&bundle.to_bytes(), &sim.genesis, seed);
            }
            println!(
                "seed {seed}: protocol 2 active at block {activation}; the old release stopped at \
                 block {stopped}; agreement on {height} blocks, {} documents, none lost",
                sim.next_document
            );
        })
    });
}

/// Runs `tools/verify_bundle.py` (written from docs/PROOFS.md alone) on `bundle`, when python3
/// is installed (CI installs it).
fn python_verifies(bundle: &[u8], genesis: &Genesis, seed: u64) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tools/verify_bundle.py");
    let dir = std::env::temp_dir().join(format!("civitas-sim-{}-{seed}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bundle_path = dir.join("bundle.cvpb");
    let genesis_path = dir.join("genesis.json");
    std::fs::write(&bundle_path, bundle).unwrap();
    std::fs::write(&genesis_path, genesis.to_json()).unwrap();
    let output = std::process::Command::new("python3")
        .arg(script)
        .arg(&bundle_path)
        .arg("--genesis")
        .arg(&genesis_path)
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    match output {
        Ok(output) => assert!(
            output.status.success(),
            "seed {seed}: the Python verifier rejects the bundle: {}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("python3 not installed; skipping the independent verifier")
        }
        Err(e) => panic!("cannot run python3: {e}"),
    }
}

/// Flips every `step`-th byte of a bundle's body, recomputing the checksum as a forger would:
/// no such bundle may verify.
fn assert_forgeries_fail(bytes: &[u8], genesis: &Genesis, step: usize) {
    let body_len = bytes.len() - 32;
    for i in (0..body_len).step_by(step) {
        let mut body = bytes[..body_len].to_vec();
        body[i] ^= 0x10;
        let checksum = Hash32::tagged(b"civitas/bundle", &[&body]);
        body.extend_from_slice(checksum.as_ref());
        let verdict = civitas_core::bundle::ProofBundle::from_bytes(&body)
            .and_then(|b| civitas_state::proof::verify_bundle(&b, genesis));
        assert!(verdict.is_err(), "forging byte {i} still verified");
    }
}

/// Honest validators' refusals of blocks that broke `rule`.
fn refusals(sim: &Sim, honest: &[usize], rule: &str) -> u64 {
    honest
        .iter()
        .filter_map(|i| sim.validators[*i].as_ref())
        .map(|v| v.shared.metrics.refusals(rule))
        .sum()
}

#[test]
fn a_byzantine_proposer_is_refused() {
    for_each_seed("Byzantine proposer", |context, seed| {
        Box::pin(async move {
            let log = FaultLog::new(seed);
            // Version 1 without revocation, so that a block can hold an instruction the active
            // version does not admit.
            let mut sim = Sim::build_on(
                context.child("sim"),
                VALIDATORS as usize,
                None,
                old_release(),
            )
            .await;
            // Validator 3 proposes a block breaking one rule in each of its views.
            sim.crash(3);
            let chain_id = sim.genesis.chain_id.clone();
            let faults = log.clone();
            sim.start_altered(
                3,
                move |honest| ByzantineProposer::new(honest, faults, &chain_id),
                None,
            )
            .await;
            sim.register_notary().await;
            let honest = [0, 1, 2];
            let mut rounds = 0;
            // A fault sent is not always a fault checked: its view may end before the honest
            // validators see the block. The proposer cycles through its faults until each was
            // sent and each one with a rule was refused by it.
            let every_rule_refused = |sim: &Sim| {
                Fault::ALL
                    .iter()
                    .filter_map(|fault| fault.rule())
                    .all(|rule| refusals(sim, &honest, rule) > 0)
            };
            while !(log.lock().unwrap().done() && every_rule_refused(&sim)) {
                sim.anchor_documents(2, &honest).await;
                context.sleep(Duration::from_secs(1)).await;
                rounds += 1;
                if rounds >= 600 {
                    break;
                }
            }
            assert!(
                log.lock().unwrap().done(),
                "seed {seed}: the Byzantine proposer never got to send every fault"
            );
            // Each fault was refused by the rule that names it (faults refused before the
            // application, because they do not decode or their round does not match, leave no
            // count but never finalize either).
            for fault in Fault::ALL {
                if let Some(rule) = fault.rule() {
                    assert!(
                        refusals(&sim, &honest, rule) > 0,
                        "seed {seed}: no honest validator refused a block for {rule} ({fault:?})"
                    );
                }
            }

            sim.wait_for_documents().await;
            let height = sim.check().await;
            no_byzantine_block_finalized(&sim, &log, height).await;
            println!(
                "seed {seed}: {} invalid proposals refused; agreement on {height} blocks",
                log.lock().unwrap().sent.len()
            );
        })
    });
}

/// Every block a Byzantine proposer sent that is stored at a height up to `height` by a
/// running validator fails the test.
async fn no_byzantine_block_finalized(
    sim: &Sim,
    log: &Arc<std::sync::Mutex<FaultLog>>,
    height: u64,
) {
    let sent = log.lock().unwrap().sent.clone();
    for validator in sim.running() {
        for h in 1..=height {
            let block = validator.marshal.get_block(Height::new(h)).await.unwrap();
            let digest = block.inner().0.digest();
            assert!(
                !sent.iter().any(|(_, d)| *d == digest),
                "a Byzantine block was finalized at height {h}"
            );
        }
    }
}

#[test]
fn a_lying_backfill_peer_is_refused() {
    for_each_seed("lying backfill peer", |context, seed| {
        Box::pin(async move {
            // A scenario of its own, apart from the Byzantine proposer's: here a second
            // validator goes down, which is beyond the one fault the network tolerates, so
            // progress needs validator 3's votes; after proposing invalid blocks it may rightly
            // be blocked by the honest validators, and the network would then stall (as it
            // should, with two faults of four).
            let mut sim = Sim::build(context.child("sim"), VALIDATORS as usize, None).await;
            sim.crash(3);
            let chain_id = sim.genesis.chain_id.clone();
            let served = sim
                .start_altered(
                    3,
                    move |honest| ByzantineProposer::new(honest, FaultLog::none(), &chain_id),
                    Some((3, Arc::new(byzantine::alter_served_block) as Rewrite)),
                )
                .await;
            sim.register_notary().await;
            // Backfill: validator 2 goes down, and on restart can reach only validator 3 until
            // the links heal. Every block 3 serves is altered (it votes and proposes honestly:
            // its lies are only over backfill, which consensus does not depend on): 2 must
            // refuse them all (blocking 3), never store one, and catch up from the others once
            // it can.
            sim.crash(2);
            sim.anchor_documents(6, &[0, 1]).await;
            let target = sim.min_height() + 8;
            sim.wait_for_height(target).await;
            sim.partition(&[2], &[0, 1]).await;
            let before = served.load(std::sync::atomic::Ordering::Relaxed);
            sim.start(2).await;
            for _ in 0..200 {
                if served.load(std::sync::atomic::Ordering::Relaxed) > before {
                    break;
                }
                context.sleep(Duration::from_millis(100)).await;
            }
            let altered = served.load(std::sync::atomic::Ordering::Relaxed) - before;
            assert!(
                altered > 0,
                "seed {seed}: validator 3 was never asked for a block"
            );
            context.sleep(Duration::from_secs(2)).await;
            // Reaching only the lying peer, validator 2 applied nothing of what it served.
            let stuck_at = sim.validators[2].as_ref().unwrap().shared.tip().height;
            let others = sim.validators[0].as_ref().unwrap().shared.tip().height;
            assert!(
                stuck_at + 8 <= others,
                "seed {seed}: validator 2 moved to {stuck_at} (the others are at {others}) on altered blocks"
            );
            sim.link_all(FAST).await;
            let target = sim.validators[0].as_ref().unwrap().shared.tip().height + 3;
            sim.wait_for_height(target).await;
            let height = sim.check().await;
            println!(
                "seed {seed}: {altered} altered backfill responses refused; agreement on {height} blocks"
            );
        })
    });
}

#[test]
fn a_peer_gossiping_forged_transactions_is_blocked() {
    for_each_seed("forged gossip", |context, seed| {
        Box::pin(async move {
            let mut sim = Sim::new(context.child("sim")).await;
            sim.crash(3);
            let forged = sim
                .start_altered(
                    3,
                    |honest| ByzantineProposer::new(honest, FaultLog::none(), "sim"),
                    Some((6, Arc::new(byzantine::forge_gossip) as Rewrite)),
                )
                .await;
            sim.register_notary().await;
            // Transactions sent to validator 3 reach the others with forged signatures.
            sim.anchor_documents(4, &[3]).await;
            let blocked = |sim: &Sim| {
                [0, 1, 2].iter().all(|i| {
                    sim.validators[*i]
                        .as_ref()
                        .is_some_and(|v| v.shared.metrics.peers_blocked("invalid_transaction") > 0)
                })
            };
            for _ in 0..100 {
                if blocked(&sim) {
                    break;
                }
                context.sleep(Duration::from_millis(100)).await;
            }
            assert!(forged.load(std::sync::atomic::Ordering::Relaxed) > 0);
            for i in [0, 1, 2] {
                assert!(
                    sim.validators[i]
                        .as_ref()
                        .unwrap()
                        .shared
                        .metrics
                        .peers_blocked("invalid_transaction")
                        > 0,
                    "seed {seed}: validator {i} did not block the forging peer"
                );
            }
            // Cut off by every honest validator, 3 can do no more; the chain goes on with the
            // other three, and the client resends what it had sent through 3.
            sim.crash(3);
            for n in 0..4 {
                let resent = tx(&sim.notary.clone(), n, anchor(n));
                sim.try_submit((n % 3) as usize, resent).await;
            }
            sim.anchor_documents(6, &[0, 1, 2]).await;
            let target = sim.min_height() + 5;
            sim.wait_for_height(target).await;
            let height = sim.check().await;
            println!(
                "seed {seed}: the forging peer was blocked by every honest validator; agreement on {height} blocks"
            );
        })
    });
}

#[test]
fn stale_transactions_cannot_clog_the_mempool() {
    for_each_seed("mempool clog", |context, seed| {
        Box::pin(async move {
            let mut sim = Sim::new(context.child("sim")).await;
            sim.register_notary().await;
            // Five officials (the finance admin registers them; its nonce 0 registered the
            // notary).
            let admin = PrivateKey::from_test_seed(100);
            let attackers: Vec<PrivateKey> = (0..5)
                .map(|i| PrivateKey::from_test_seed(600 + i))
                .collect();
            for (i, key) in attackers.iter().enumerate() {
                let register = tx(
                    &admin,
                    1 + i as u64,
                    Instruction::Identity(IdentityInstruction::RegisterOfficial {
                        key: key.public_key(),
                        agency: "finance".into(),
                        name: format!("Clerk {i}"),
                        roles: vec!["notary".into()],
                    }),
                );
                sim.submit_to(0, register).await;
            }
            let target = sim.min_height() + 3;
            sim.wait_for_height(target).await;
            // Each signs 1,000 anchors with its key (nonces 1 to 1,000, admitted while that key
            // is valid), then rotates the key (nonce 0): once the rotation is final, none of
            // the 5,000 can ever be included, and they are more than a proposal's window.
            let mut admitted = 0;
            for (i, key) in attackers.iter().enumerate() {
                for n in 1..=1_000u64 {
                    let stale = tx(key, n, anchor(1_000_000 + 10_000 * i as u64 + n));
                    admitted += u64::from(sim.try_submit(i % 4, stale).await);
                }
                let rotate = tx(
                    key,
                    0,
                    Instruction::Identity(IdentityInstruction::RotateKey {
                        new_key: PrivateKey::from_test_seed(700 + i as u64).public_key(),
                    }),
                );
                sim.submit_to(i % 4, rotate).await;
            }
            assert!(
                admitted >= 4_500,
                "seed {seed}: only {admitted} stale transactions admitted"
            );
            // Honest transactions keep finalizing.
            sim.anchor_documents(40, &[0, 1, 2, 3]).await;
            let start = sim.min_height();
            for attempt in 0.. {
                let mut missing = 0;
                for n in 0..sim.next_document {
                    missing += u64::from(!sim.has_document(0, n).await);
                }
                if missing == 0 {
                    break;
                }
                assert!(
                    attempt < 120,
                    "seed {seed}: {missing} honest documents still not final after {} blocks",
                    sim.min_height() - start
                );
                context.sleep(Duration::from_millis(500)).await;
            }
            let height = sim.check().await;
            // The stale transactions left the mempools, with the reason.
            for validator in sim.running() {
                for key in &attackers {
                    let pending = validator
                        .shared
                        .mempool
                        .pending_of(&key.public_key().account_id());
                    assert!(
                        pending.is_empty(),
                        "seed {seed}: {} stale transactions remain",
                        pending.len()
                    );
                }
            }
            println!(
                "seed {seed}: {admitted} stale transactions evicted; 40 honest ones final within {} blocks; agreement on {height} blocks",
                height - start
            );
        })
    });
}

/// Finds the blocks validator 0 holds without a certificate of their own; proves the first
/// transaction of the first such block (through a later certified block's history) and checks
/// the bundle with both verifiers. Returns how many such blocks there are.
async fn prove_uncertified(sim: &Sim, context: &deterministic::Context, seed: u64) -> usize {
    let validator = sim.validators[0].as_ref().unwrap();
    let mut found = Vec::new();
    for h in 1..=validator.shared.tip().height {
        if validator
            .marshal
            .get_finalization(Height::new(h))
            .await
            .is_none()
        {
            let block = validator.marshal.get_block(Height::new(h)).await.unwrap();
            found.push((h, block.inner().0.txs.first().map(SignedTx::hash)));
        }
    }
    if let Some((height, tx)) = found.iter().find_map(|(h, tx)| tx.map(|tx| (*h, tx))) {
        let handle = civitas_consensus::service::start(context.child("uncertified"), validator);
        let bundle = handle.tx_bundle(tx).await.expect("transaction bundle");
        let Claim::EarlierTransaction(claim) = &bundle.claim else {
            panic!(
                "seed {seed}: block {height} has no certificate; its bundle must prove it through a later one"
            );
        };
        assert_eq!(claim.header.height, height);
        assert!(bundle.header.height > height);
        civitas_state::proof::verify_bundle(&bundle, &sim.genesis).expect("bundle verifies");
        assert_forgeries_fail(&bundle.to_bytes(), &sim.genesis, 3);
        python_verifies(&bundle.to_bytes(), &sim.genesis, seed);
    }
    found.len()
}

/// Where the published proof-bundle test vectors live.
fn vectors_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/proof-vectors")
}

/// A vector: its file, the genesis it is checked against, its expected verdict and why.
struct Vector {
    file: &'static str,
    genesis: &'static str,
    valid: bool,
    claim: &'static str,
    why: &'static str,
}

/// Re-encodes `bundle` after `change`, with a correct checksum (as a forger would).
fn forged(
    bundle: &civitas_core::bundle::ProofBundle,
    change: impl FnOnce(&mut civitas_core::bundle::ProofBundle),
) -> Vec<u8> {
    let mut bundle = bundle.clone();
    change(&mut bundle);
    bundle.to_bytes()
}

/// `body` (a bundle without its checksum) followed by its checksum.
fn with_checksum(mut body: Vec<u8>) -> Vec<u8> {
    let checksum = Hash32::tagged(b"civitas/bundle", &[&body]);
    body.extend_from_slice(checksum.as_ref());
    body
}

/// Writes the proof-bundle test vectors of `docs/PROOFS.md` (section 10): genuine bundles of
/// every claim kind, one through a real validator-set change, and altered ones, each with its
/// verdict, from a seeded simulation (the same seed writes the same bytes). Run it by hand:
/// `cargo test -p civitas-consensus --test simulation write_proof_vectors -- --ignored`.
#[test]
#[ignore = "writes docs/proof-vectors; run by hand when the bundle format changes"]
fn write_proof_vectors() {
    use civitas_core::bundle::ProofBundle;
    run(7, |context, seed| {
        Box::pin(async move {
            let mut sim = Sim::build(context.child("sim"), VALIDATORS as usize + 1, None).await;
            let joiner = PrivateKey::from_test_seed(4).public_key();
            let mut admins = Admins {
                nonces: [0; VALIDATORS as usize],
            };
            sim.register_notary().await;
            // Enough documents for the state's operation log to pass a 256-operation chunk, so the
            // state proofs carry a grafted chunk.
            sim.anchor_documents(80, &[0, 1, 2]).await;
            let target = sim.min_height() + 2;
            sim.wait_for_height(target).await;
            // Anchoring document 0 again fails: a receipt with a code and arguments.
            let again = tx(&sim.notary.clone(), sim.next_document, anchor(0));
            sim.next_document += 1;
            let failed_hash = again.hash();
            sim.submit_to(1, again).await;
            let first_hash = tx(&sim.notary.clone(), 1, anchor(1)).hash();
            let target = sim.min_height() + 2;
            sim.wait_for_height(target).await;
            let handle = civitas_consensus::service::start(
                context.child("service"),
                sim.validators[0].as_ref().unwrap(),
            );
            // Epoch 0: no hand-over yet.
            let transaction = handle
                .tx_bundle(first_hash)
                .await
                .expect("transaction bundle");
            let failed = handle
                .tx_bundle(failed_hash)
                .await
                .expect("failed transaction bundle");
            assert!(matches!(&failed.claim, Claim::Transaction(c) if !c.receipt.succeeded()));

            // Add validator 4: later bundles carry the hand-over to its epoch.
            govern(
                &mut sim,
                &mut admins,
                1,
                GovernanceAction::AddValidator {
                    agency: "health".into(),
                    key: joiner.clone(),
                    p2p_address: "127.0.0.1:9004".into(),
                },
                0,
            )
            .await;
            let added = sim.validators[0].as_ref().unwrap().shared.metrics.epoch() + 1;
            sim.wait_for_height(EPOCH_LENGTH * added + 2).await;
            sim.anchor_documents(90, &[0, 1, 2]).await;
            let target = sim.min_height() + 2;
            sim.wait_for_height(target).await;
            let document = handle
                .bundle(civitas_modules::notary::state::document_key(
                    &Hash32::sha256(&4u64.to_be_bytes()),
                ))
                .await
                .expect("document bundle");
            assert_eq!(document.handovers.len(), 1, "seed {seed}: one hand-over");
            let absent = handle
                .bundle(civitas_modules::notary::state::document_key(
                    &Hash32::sha256(b"never notarised"),
                ))
                .await
                .expect("absence bundle");
            let earlier = handle
                .tx_bundle_through(first_hash, Some(sim.min_height()))
                .await
                .expect("bundle through a later block");
            assert!(matches!(&earlier.claim, Claim::EarlierTransaction(_)));
            assert_eq!(earlier.handovers.len(), 1);

            let dir = vectors_dir();
            // Only the files here: `before-protocol-versions/` keeps the bundles made before them.
            std::fs::create_dir_all(&dir).unwrap();
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_file() {
                    std::fs::remove_file(path).unwrap();
                }
            }
            std::fs::write(dir.join("genesis.json"), sim.genesis.to_json()).unwrap();
            let mut other = (*sim.genesis).clone();
            other.chain_id = "another-chain".into();
            std::fs::write(dir.join("genesis-other.json"), other.to_json()).unwrap();

            let mut vectors: Vec<(Vector, Vec<u8>)> = Vec::new();
            let mut add = |vector: Vector, bytes: Vec<u8>| vectors.push((vector, bytes));
            let genuine = |file, claim, why| Vector {
                file,
                genesis: "genesis.json",
                valid: true,
                claim,
                why,
            };
            let altered = |file, claim, why| Vector {
                file,
                genesis: "genesis.json",
                valid: false,
                claim,
                why,
            };
            add(
                genuine(
                    "state-value.cvpb",
                    "state",
                    "a notarised document's record, one validator-set change after genesis",
                ),
                document.to_bytes(),
            );
            add(
                genuine(
                    "state-absent.cvpb",
                    "state",
                    "a document that was never notarised (absence proof)",
                ),
                absent.to_bytes(),
            );
            add(
                genuine(
                    "transaction.cvpb",
                    "transaction",
                    "a transaction and its successful receipt, in epoch 0",
                ),
                transaction.to_bytes(),
            );
            add(
                genuine(
                    "transaction-failed.cvpb",
                    "transaction",
                    "a transaction whose receipt records a failure (already_anchored, with arguments)",
                ),
                failed.to_bytes(),
            );
            add(
                genuine(
                    "transaction-earlier.cvpb",
                    "earlier_transaction",
                    "the same transaction proven through a later certified block's history, across a validator-set change",
                ),
                earlier.to_bytes(),
            );

            // Altered bundles: each must be refused.
            let mut flipped = document.to_bytes();
            let middle = flipped.len() / 2;
            flipped[middle] ^= 0x01;
            add(
                altered(
                    "altered-checksum.cvpb",
                    "state",
                    "one byte changed and the checksum left as it was",
                ),
                flipped,
            );
            add(
                altered(
                    "altered-certificate.cvpb",
                    "state",
                    "a byte of a certificate signature changed (checksum recomputed)",
                ),
                forged(&document, |b| {
                    let mut bytes = b.finalization.signatures[0].signature.to_bytes();
                    bytes[0] ^= 0x01;
                    if let Ok(signature) = civitas_core::crypto::Signature::from_bytes(&bytes) {
                        b.finalization.signatures[0].signature = signature;
                    }
                }),
            );
            add(
                altered(
                    "altered-quorum.cvpb",
                    "state",
                    "a certificate with one signature fewer than a quorum (checksum recomputed)",
                ),
                forged(&document, |b| {
                    let quorum = civitas_core::bundle::quorum(b.validators.len());
                    b.finalization.signatures.truncate(quorum - 1);
                }),
            );
            add(
                altered(
                    "altered-state-value.cvpb",
                    "state",
                    "the document's title changed in the claimed value (checksum recomputed)",
                ),
                forged(&document, |b| {
                    if let Claim::State(claim) = &mut b.claim
                        && let Some(value) = &mut claim.value
                    {
                        let last = value.len() - 1;
                        value[last / 2] ^= 0x01;
                    }
                }),
            );
            add(
                altered(
                    "altered-absent-key.cvpb",
                    "state",
                    "the absence proof presented for a document that is notarised (checksum recomputed)",
                ),
                forged(&absent, |b| {
                    if let Claim::State(claim) = &mut b.claim {
                        claim.key = civitas_modules::notary::state::document_key(&Hash32::sha256(
                            &4u64.to_be_bytes(),
                        ));
                    }
                }),
            );
            add(
                altered(
                    "altered-handover.cvpb",
                    "state",
                    "the incoming validator set of the hand-over changed (checksum recomputed)",
                ),
                forged(&document, |b| {
                    b.handovers[0].next.validators[0].p2p_address = "10.9.9.9:9000".into();
                }),
            );
            add(
                altered(
                    "altered-handover-missing.cvpb",
                    "state",
                    "the hand-over left out (checksum recomputed)",
                ),
                forged(&document, |b| {
                    b.handovers.clear();
                }),
            );
            add(
                altered(
                    "altered-signature-added.cvpb",
                    "transaction",
                    "a valid signature of another key added to the transaction (checksum recomputed): the block committed to the signatures it holds",
                ),
                forged(&transaction, |b| {
                    if let Claim::Transaction(claim) = &mut b.claim {
                        let extra = claim.tx.body.sign(&PrivateKey::from_test_seed(77));
                        claim.tx.signatures.push(extra);
                    }
                }),
            );
            add(
                altered(
                    "altered-signature-replaced.cvpb",
                    "transaction",
                    "the signature replaced by another key's valid signature over the same body (checksum recomputed)",
                ),
                forged(&transaction, |b| {
                    if let Claim::Transaction(claim) = &mut b.claim {
                        claim.tx.signatures =
                            vec![claim.tx.body.sign(&PrivateKey::from_test_seed(77))];
                    }
                }),
            );
            add(
                altered(
                    "altered-receipt-outcome.cvpb",
                    "transaction",
                    "the failed receipt presented as a success (checksum recomputed)",
                ),
                forged(&failed, |b| {
                    if let Claim::Transaction(claim) = &mut b.claim {
                        claim.receipt.outcome = civitas_core::receipt::TxOutcome::Success;
                    }
                }),
            );
            add(
                altered(
                    "altered-history-peak.cvpb",
                    "earlier_transaction",
                    "a peak of the history proof changed (checksum recomputed)",
                ),
                forged(&earlier, |b| {
                    if let Claim::EarlierTransaction(claim) = &mut b.claim {
                        claim.history_peaks[0] = Hash32::sha256(b"another peak");
                    }
                }),
            );
            add(
                altered(
                    "altered-earlier-header.cvpb",
                    "earlier_transaction",
                    "the earlier block's timestamp changed (checksum recomputed)",
                ),
                forged(&earlier, |b| {
                    if let Claim::EarlierTransaction(claim) = &mut b.claim {
                        claim.header.timestamp = TimestampMs(claim.header.timestamp.0 + 1);
                    }
                }),
            );
            // Encodings a verifier must refuse.
            let body = |bundle: &ProofBundle| {
                let bytes = bundle.to_bytes();
                bytes[..bytes.len() - 32].to_vec()
            };
            let mut version = body(&transaction);
            version[5] = 5;
            add(
                altered(
                    "unknown-version.cvpb",
                    "transaction",
                    "bundle format version 5 (checksum recomputed): a verifier refuses versions it does not know",
                ),
                with_checksum(version),
            );
            let mut header_version = body(&transaction);
            // The header follows magic, version, genesis, an empty hand-over list and the
            // validator list: varint(4) and four keys.
            let header_at = 4 + 2 + 32 + 1 + 1 + 4 * 32;
            assert_eq!(
                &header_version[header_at..header_at + 2],
                &3u16.to_be_bytes(),
                "protocol 1 is written in format 3"
            );
            // The same header rewritten in format 4, claiming protocol `protocol`.
            let in_format_4 = |protocol: u8| {
                let mut bytes = header_version.clone();
                bytes[header_at + 1] = 4;
                bytes.splice(header_at + 2..header_at + 2, [0, protocol]);
                with_checksum(bytes)
            };
            let (format_4_protocol_1, format_4_protocol_2) = (in_format_4(1), in_format_4(2));
            header_version[header_at + 1] = 2;
            add(
                altered(
                    "header-version.cvpb",
                    "transaction",
                    "a header of version 2 (checksum recomputed)",
                ),
                with_checksum(header_version),
            );
            add(
                altered(
                    "header-format-4-protocol-1.cvpb",
                    "transaction",
                    "the header rewritten in format 4 with protocol 1 (checksum recomputed): protocol 1 is written in format 3 only",
                ),
                format_4_protocol_1,
            );
            add(
                altered(
                    "header-protocol.cvpb",
                    "transaction",
                    "the header rewritten in format 4 claiming protocol 2 (checksum recomputed): the certificate no longer matches",
                ),
                format_4_protocol_2,
            );
            let mut trailing = body(&transaction);
            trailing.push(0);
            add(
                altered(
                    "trailing-byte.cvpb",
                    "transaction",
                    "a byte after the claim (checksum recomputed)",
                ),
                with_checksum(trailing),
            );
            // The hand-over count (0) written as a two-byte varint: 0x80 0x00.
            let canonical = body(&transaction);
            let mut padded = canonical[..38].to_vec();
            assert_eq!(canonical[38], 0);
            padded.extend_from_slice(&[0x80, 0x00]);
            padded.extend_from_slice(&canonical[39..]);
            add(
                altered(
                    "non-canonical-varint.cvpb",
                    "transaction",
                    "the hand-over count written as a two-byte varint (checksum recomputed)",
                ),
                with_checksum(padded),
            );
            add(
                Vector {
                    file: "wrong-genesis.cvpb",
                    genesis: "genesis-other.json",
                    valid: false,
                    claim: "state",
                    why: "a genuine bundle checked against another chain's genesis",
                },
                document.to_bytes(),
            );

            let mut manifest = Vec::new();
            for (vector, bytes) in &vectors {
                let verdict = ProofBundle::from_bytes(bytes).and_then(|b| {
                    let genesis = if vector.genesis == "genesis.json" {
                        (*sim.genesis).clone()
                    } else {
                        other.clone()
                    };
                    civitas_state::proof::verify_bundle(&b, &genesis)
                });
                assert_eq!(
                    verdict.is_ok(),
                    vector.valid,
                    "{}: {verdict:?}",
                    vector.file
                );
                std::fs::write(dir.join(vector.file), bytes).unwrap();
                let reason = verdict.err().map(|e| e.to_string());
                manifest.push(serde_json::json!({
                    "file": vector.file,
                    "genesis": vector.genesis,
                    "valid": vector.valid,
                    "claim": vector.claim,
                    "why": vector.why,
                    "reason": reason,
                    "sha256": Hash32::sha256(bytes).to_string(),
                }));
            }
            std::fs::write(
                dir.join("manifest.json"),
                serde_json::to_string_pretty(&serde_json::json!({
                    "format": "civitas proof-bundle test vectors",
                    "bundle_version": civitas_core::bundle::BUNDLE_VERSION,
                    "written_by": "cargo test -p civitas-consensus --test simulation write_proof_vectors -- --ignored",
                    "vectors": manifest,
                }))
                .unwrap()
                    + "\n",
            )
            .unwrap();
        })
    });
}
