//! The ledger application: builds, verifies and finalizes blocks on the authenticated state.
//!
//! It plugs into commonware's `glue::stateful` actor, which keeps each unfinalized block's
//! speculative QMDB batch in memory, forks children from it, applies finalized blocks in height
//! order, and acknowledges them to marshal only once durable. This module supplies the rules:
//! what a valid block is, how a proposal is built from the mempool, and what happens once a
//! block is final.

use crate::block::{ChainBlock, ConsensusContext, context_fields};
use crate::epochs::{EpochEvent, HandoverStore};
use crate::history::HistoryStore;
use crate::mempool::Mempool;
use crate::receipts::ReceiptStore;
use civitas_core::block::{Block, Header, header_version};
use civitas_core::genesis::Genesis;
use civitas_core::genesis::validator_set_digest;
use civitas_core::governance::ProtocolSchedule;
use civitas_core::governance::ValidatorSet;
use civitas_core::hash::Hash32;
use civitas_core::instruction::Instruction;
use civitas_core::protocol::{Protocol, Protocols};
use civitas_core::receipt::Receipt;
use civitas_core::time::TimestampMs;
use civitas_exec::{BlockEnv, BlockError, BlockResult, Mode, execute_block, execute_block_until};
use civitas_modules::CivitasModules;
use civitas_state::{
    Batch, BatchView, Db, Merkleized, SharedDb, StateView, from_digest, height_metadata, to_digest,
};
use commonware_consensus::{marshal::ancestry::Ancestry, simplex};
use commonware_cryptography::Digested;
use commonware_glue::stateful::{
    Application, Finality, Input, Proposed,
    db::{DatabaseSet, Merkleized as _, Reader, Unmerkleized as _},
};
use commonware_runtime::{Clock, Spawner};
use commonware_storage::{Context as StorageContext, merkle::Location, qmdb::sync::Target};
use commonware_utils::non_empty_range;
use futures::StreamExt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};
use tracing::{debug, info, warn};

/// Most bytes of transactions in one proposal.
pub const PROPOSAL_TX_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Most transactions in one proposal (as many as a block may hold).
pub const PROPOSAL_TXS_MAX: usize = civitas_core::limits::BLOCK_TXS_MAX;
/// How long a proposer spends executing transactions into a proposal, in milliseconds. A
/// proposal must be built, sent, re-executed by every validator and voted on well within the
/// leader timeout even on a loaded machine, or the view is lost and the work done again; so the
/// proposer stops adding transactions after this long, whatever their number. (A fixed count
/// cannot do this: the cost per transaction differs by module and by machine.) Time is read
/// from the runtime's clock, which does not move during execution in deterministic
/// simulations, so simulated proposals stay reproducible.
pub const PROPOSAL_BUILD_BUDGET_MS: u64 = 150;
/// How long a proposer waits for transactions before proposing an empty block, in milliseconds,
/// unless the node is configured otherwise.
pub const EMPTY_BLOCK_WAIT_MS: u64 = 300;
/// How far ahead of this validator's clock a candidate block's timestamp may be, in ms. A
/// timestamp further ahead is refused (after waiting at most [`CLOCK_SKEW_WAIT_MAX_MS`] for the
/// clock to reach it), so a proposer cannot move the ledger's time ahead of the validators'
/// clocks. Finalized blocks are not checked against the clock: a quorum accepted them.
pub const CLOCK_SKEW_TOLERATED_MS: u64 = 2_000;
/// Longest a validator waits for its clock to reach a candidate's timestamp, in ms: well under
/// the 1 s leader timeout, whatever timestamp the block carries.
///
/// There is no rule against a timestamp *behind* the clock: a validator also processes older
/// candidates (the ancestors of a proposal it has not applied yet), which no waiting would make
/// acceptable. A proposer can therefore hold the ledger's time back to just after its parent's,
/// for its own block only: the next honest proposer stamps its clock.
pub const CLOCK_SKEW_WAIT_MAX_MS: u64 = 250;

/// How many finalized blocks the feed to subscribers (the event stream) holds. The feed keeps
/// its last values whether or not anyone reads them, so this bounds memory: at 1,024 blocks of
/// a few thousand transactions each it held most of a validator's memory under load. A
/// subscriber more than this many blocks behind is told it lagged.
pub const FINALIZED_FEED_BLOCKS: usize = 64;

/// A finalized block with the receipts of its transactions, as published to subscribers.
#[derive(Clone, Debug)]
pub struct FinalizedBlock {
    /// The block.
    pub block: Arc<Block>,
    /// Its digest.
    pub digest: Hash32,
    /// One receipt per transaction, in block order.
    pub receipts: Vec<Receipt>,
    /// The block's end receipt, when its end-of-block step emitted events
    /// ([`Receipt::block_end`]).
    pub end: Option<Receipt>,
}

/// What the node knows about the finalized chain's tip.
#[derive(Clone, Debug)]
pub struct Tip {
    /// Height of the latest applied block.
    pub height: u64,
    /// Its digest.
    pub digest: Hash32,
    /// Its state root.
    pub state_root: Hash32,
    /// Its timestamp.
    pub timestamp: TimestampMs,
    /// The protocol version the next block is made under (what the mempool admits).
    pub next_protocol: u16,
}

impl Default for Tip {
    fn default() -> Self {
        Self {
            height: 0,
            digest: Hash32::default(),
            state_root: Hash32::default(),
            timestamp: TimestampMs::default(),
            next_protocol: 1,
        }
    }
}

/// State shared between the application and the node's query side.
#[derive(Clone)]
pub struct Shared {
    /// The genesis document.
    pub genesis: Arc<Genesis>,
    /// Pending transactions.
    pub mempool: Mempool,
    /// Finalized blocks, as they are applied.
    pub finalized: tokio::sync::broadcast::Sender<Arc<FinalizedBlock>>,
    /// The applied tip.
    pub tip: Arc<Mutex<Tip>>,
    /// Ledger metrics.
    pub metrics: Arc<crate::metrics::LedgerMetrics>,
    /// The validator set of every epoch this node knows.
    pub epochs: crate::epochs::EpochSets,
    /// How long this node, as proposer, waits for transactions before proposing an empty
    /// block, in milliseconds.
    pub empty_block_wait_ms: u64,
    /// The latest epoch each validator of this node's epoch was seen voting in (a lower
    /// bound on the network's progress while this node catches up).
    pub peer_epochs: PeerEpochs,
    /// This node's validator key (None in tools that run no validator).
    pub own_key: Option<civitas_core::crypto::PublicKey>,
    /// The protocol versions this release knows.
    pub protocols: Protocols,
    /// Why the node stopped following the chain, once it has (its release does not know the
    /// protocol version active at the next block).
    pub halt: Arc<tokio::sync::watch::Sender<Option<String>>>,
    /// The proposal (plus one) of the last scheduled upgrade this release does not know that
    /// the log warned about.
    upgrade_warned: Arc<std::sync::atomic::AtomicU64>,
}

/// The epochs validators were seen voting in, one claim per validator. A single peer can claim
/// any epoch, so the network's epoch is taken as the highest that `f + 1` of them claim, at
/// least one of them honest.
#[derive(Clone, Default)]
pub struct PeerEpochs(Arc<Mutex<std::collections::BTreeMap<civitas_core::crypto::PublicKey, u64>>>);

impl PeerEpochs {
    /// Records that `peer`, a validator of `set`, votes in `epoch`; claims of peers outside the
    /// set are ignored, and only validators of `set` are kept.
    pub fn record(&self, set: &ValidatorSet, peer: civitas_core::crypto::PublicKey, epoch: u64) {
        if !set.contains(&peer) {
            return;
        }
        let mut claims = self.0.lock().unwrap_or_else(|p| p.into_inner());
        claims.retain(|key, _| set.contains(key));
        let claim = claims.entry(peer).or_default();
        *claim = (*claim).max(epoch);
    }

    /// The highest epoch that at least `f + 1` validators of `set` (of `n`, `f = (n - 1) / 3`)
    /// were seen voting in; 0 if there is none.
    pub fn network_epoch(&self, set: &ValidatorSet) -> u64 {
        let claims = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut epochs: Vec<u64> = claims
            .iter()
            .filter(|(key, _)| set.contains(key))
            .map(|(_, epoch)| *epoch)
            .collect();
        let faulty = set.validators.len().saturating_sub(1) / 3;
        epochs.sort_unstable_by(|a, b| b.cmp(a));
        epochs.get(faulty).copied().unwrap_or(0)
    }
}

impl Shared {
    /// Fresh shared state for `genesis`.
    pub fn new(genesis: Arc<Genesis>) -> Self {
        let (finalized, _) = tokio::sync::broadcast::channel(FINALIZED_FEED_BLOCKS);
        let tip = Tip {
            next_protocol: genesis.protocol,
            ..Tip::default()
        };
        Self {
            genesis,
            mempool: Mempool::new(),
            finalized,
            tip: Arc::new(Mutex::new(tip)),
            metrics: Arc::default(),
            epochs: crate::epochs::EpochSets::default(),
            empty_block_wait_ms: EMPTY_BLOCK_WAIT_MS,
            peer_epochs: PeerEpochs::default(),
            own_key: None,
            protocols: Protocols::default(),
            halt: Arc::new(tokio::sync::watch::Sender::new(None)),
            upgrade_warned: Arc::default(),
        }
    }

    /// Stops following the chain, for `reason` (said once, in the log and to whoever waits on
    /// [`Self::halted`]).
    pub fn halt(&self, reason: String) {
        self.halt.send_if_modified(|current| {
            if current.is_some() {
                return false;
            }
            tracing::error!("{reason}");
            *current = Some(reason);
            true
        });
    }

    /// Why the node stopped following the chain, if it has.
    pub fn halted(&self) -> Option<String> {
        self.halt.borrow().clone()
    }

    /// Waits until the node stops following the chain; returns why.
    pub fn until_halted(&self) -> impl std::future::Future<Output = String> + Send + 'static {
        let mut receiver = self.halt.subscribe();
        async move {
            let reason = match receiver.wait_for(Option::is_some).await {
                Ok(reason) => reason.clone(),
                Err(_) => None,
            };
            match reason {
                Some(reason) => reason,
                // The sender lives as long as the node: never halted.
                None => std::future::pending().await,
            }
        }
    }

    /// The protocol the next block after a tip at `height` is made under, by `schedule` (the
    /// tip's state), recorded in the tip; the node halts if this release does not know it.
    pub fn note_protocol(&self, schedule: &ProtocolSchedule, height: u64) {
        let (version, release) = schedule.at(height + 1);
        self.tip
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .next_protocol = version;
        let activation = schedule.active_since(height + 1);
        if let Some(reason) = self.protocols.cannot_follow(version, activation, release) {
            self.halt(reason);
        } else if let Some(next) = &schedule.next
            && next.height > height + 1
            && self.protocols.get(next.version).is_none()
            // Said once per scheduled upgrade (and again after a restart), not every block.
            && self.upgrade_warned.swap(next.proposal + 1, Ordering::Relaxed) != next.proposal + 1
        {
            warn!(
                "protocol version {} activates at block {} (proposal {}), and this release \
                 (civitas {}) runs protocol versions {}: install civitas {} or later before \
                 then, or this node stops at block {}",
                next.version,
                next.height,
                next.proposal,
                env!("CARGO_PKG_VERSION"),
                self.protocols.describe(),
                next.release,
                next.height - 1
            );
        }
    }

    /// The applied tip.
    pub fn tip(&self) -> Tip {
        self.tip.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The ledger application.
pub struct LedgerApp<E>
where
    E: commonware_runtime::Storage + Clock + commonware_runtime::Metrics,
{
    shared: Shared,
    genesis_block: ChainBlock,
    modules: CivitasModules,
    epoch_events: futures::channel::mpsc::UnboundedSender<EpochEvent>,
    handovers: HandoverStore<E>,
    receipts: ReceiptStore<E>,
    history: HistoryStore<E>,
    executed: ExecutedReceipts,
}

/// The receipts of blocks this node executed (proposed or verified) and has not yet seen
/// finalized, by block digest: a finalized block's receipts are stored from here before its
/// state is applied. Blocks at or below the finalized height are dropped, so this holds only
/// the few blocks in flight.
#[derive(Clone, Default)]
struct ExecutedReceipts(Arc<Mutex<std::collections::BTreeMap<Hash32, HeightReceipts>>>);

/// A block's height and its receipts.
type HeightReceipts = (u64, Arc<Vec<Receipt>>);

impl ExecutedReceipts {
    fn insert(&self, digest: Hash32, height: u64, receipts: Vec<Receipt>) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(digest, (height, Arc::new(receipts)));
    }

    /// Takes the receipts of `digest` and forgets every block at or below `height`.
    fn take(&self, digest: &Hash32, height: u64) -> Option<Arc<Vec<Receipt>>> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let found = map.remove(digest).map(|(_, receipts)| receipts);
        map.retain(|_, (h, _)| *h > height);
        found
    }
}

impl<E> Clone for LedgerApp<E>
where
    E: commonware_runtime::Storage + Clock + commonware_runtime::Metrics,
{
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
            genesis_block: self.genesis_block.clone(),
            modules: self.modules,
            epoch_events: self.epoch_events.clone(),
            handovers: self.handovers.clone(),
            receipts: self.receipts.clone(),
            history: self.history.clone(),
            executed: self.executed.clone(),
        }
    }
}

impl<E> LedgerApp<E>
where
    E: commonware_runtime::Storage + Clock + commonware_runtime::Metrics,
{
    /// The application for `shared.genesis`; it reports epoch boundaries and validator-set
    /// changes on `epoch_events`, keeps hand-over proofs in `handovers`, finalized
    /// transactions' receipts in `receipts` and the history MMR's nodes in `history`.
    pub fn new(
        shared: Shared,
        epoch_events: futures::channel::mpsc::UnboundedSender<EpochEvent>,
        stores: (HandoverStore<E>, ReceiptStore<E>, HistoryStore<E>),
    ) -> Self {
        let (handovers, receipts, history) = stores;
        let genesis_block = genesis_block(&shared.genesis);
        Self {
            shared,
            genesis_block,
            modules: CivitasModules,
            epoch_events,
            handovers,
            receipts,
            history,
            executed: ExecutedReceipts::default(),
        }
    }
}

/// The validator set of `epoch` as the state before a block of that epoch records it.
async fn epoch_set<V: StateView>(
    genesis: &Genesis,
    view: &V,
    epoch: u64,
) -> Result<ValidatorSet, String> {
    let key = civitas_modules::governance::state::epoch_key(epoch);
    match view.get(&key.hashed()).await {
        Ok(Some(bytes)) => civitas_exec::decode_value::<ValidatorSet>(&key, &bytes)
            .map_err(|e| format!("state failure: {e}")),
        // Block 1 runs on the empty state; epoch 0's set is the genesis set.
        Ok(None) if epoch == 0 => Ok(civitas_modules::governance::handler::genesis_validators(
            genesis,
        )),
        Ok(None) => Err(format!(
            "the validator set of epoch {epoch} is not recorded"
        )),
        Err(e) => Err(format!("state failure: {e}")),
    }
}

/// The protocol schedule as `view` (a block's state) records it; without a record, the chain
/// runs the version its genesis starts at (`genesis`).
pub async fn protocol_schedule<V: StateView>(
    view: &V,
    genesis: &Genesis,
) -> Result<ProtocolSchedule, String> {
    let key = civitas_modules::governance::state::protocol_key();
    match view.get(&key.hashed()).await {
        Ok(Some(bytes)) => civitas_exec::decode_value::<ProtocolSchedule>(&key, &bytes)
            .map_err(|e| format!("state failure: {e}")),
        Ok(None) => Ok(ProtocolSchedule::starting(genesis.protocol)),
        Err(e) => Err(format!("state failure: {e}")),
    }
}

/// The block at height 0: no transactions, the empty state, the genesis time.
pub fn genesis_block(genesis: &Genesis) -> ChainBlock {
    let validators = genesis.validators();
    let target = <SharedDb<commonware_runtime::deterministic::Context> as DatabaseSet<
        commonware_runtime::deterministic::Context,
    >>::initial_sync_targets();
    let ops_root = from_digest(&target.root);
    ChainBlock::new(Block {
        header: Header {
            // Made under the protocol the chain starts at: version 1 keeps format 3, so the
            // digest of every chain's first parent made before protocol versions is unchanged.
            version: header_version(genesis.protocol),
            protocol: genesis.protocol,
            chain: genesis.hash(),
            height: 0,
            parent: Hash32::ZERO,
            epoch: 0,
            view: 0,
            parent_view: 0,
            proposer: validators[0].clone(),
            timestamp: genesis.genesis_time,
            tx_count: 0,
            tx_root: civitas_core::merkle::root(&[]),
            receipts_root: civitas_core::merkle::root(&[]),
            state_root: ops_root,
            state_ops_root: ops_root,
            state_ops_start: *target.range.start(),
            state_ops_end: *target.range.end(),
            history_root: civitas_core::mmr::Peaks::default().root(),
            validator_set: genesis.validator_set_digest(),
        },
        txs: Vec::new(),
    })
}

fn now_ms(context: &impl Clock) -> u64 {
    context
        .current()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Writes `result` into `batch` and computes the new roots.
async fn seal<E>(
    batch: Batch<E>,
    height: u64,
    result: &BlockResult,
) -> Result<Merkleized<E>, String>
where
    E: StorageContext + Spawner,
{
    let mut batch = batch;
    for (key, value) in &result.writes {
        batch = batch.write(to_digest(key), value.clone().map(civitas_state::StateValue));
    }
    batch
        .with_metadata(height_metadata(height))
        .merkleize()
        .await
        .map_err(|e| format!("merkleizing the state failed: {e}"))
}

/// Fills the state-commitment fields of `header` from `merkleized`.
fn commit_state<E>(header: &mut Header, merkleized: &Merkleized<E>)
where
    E: StorageContext + Spawner,
{
    header.state_root = from_digest(&merkleized.root());
    header.state_ops_root = from_digest(&merkleized.ops_root());
    header.state_ops_start = *merkleized.sync_boundary();
    header.state_ops_end = *merkleized.bounds().tip.size;
}

impl<E> LedgerApp<E>
where
    E: commonware_runtime::Storage + Clock + commonware_runtime::Metrics,
{
    fn env(&self, header: &Header, protocol: Protocol) -> BlockEnv {
        BlockEnv {
            height: header.height,
            timestamp: header.timestamp,
            parent: header.parent,
            genesis: self.shared.genesis.clone(),
            protocol,
        }
    }

    /// The protocol a block at `height` on `state` (its parent's state) is made under, or why
    /// this release cannot make or check it.
    async fn protocol_at<V: StateView>(
        &self,
        state: &V,
        height: u64,
    ) -> Result<Protocol, BlockError> {
        // A state that cannot be read is a state failure, not a reason to stop following.
        let schedule = protocol_schedule(state, &self.shared.genesis)
            .await
            .map_err(|reason| {
                BlockError::State(civitas_state::StateError::Corrupt {
                    key: "governance/protocol".into(),
                    reason,
                })
            })?;
        let (version, release) = schedule.at(height);
        match self.shared.protocols.get(version) {
            Some(protocol) => Ok(*protocol),
            None => Err(BlockError::invalid(
                "protocol_unknown",
                self.shared
                    .protocols
                    .cannot_follow(version, schedule.active_since(height), release)
                    .unwrap_or_default(),
            )),
        }
    }

    /// Checks a candidate block's header against its parent, its epoch's validator set (as
    /// recorded in `state`, the parent's state) and, for a candidate, the local clock.
    async fn check_header<C: Clock, V: StateView>(
        &self,
        context: &C,
        state: &V,
        header: &Header,
        parent: &Header,
        protocol: Protocol,
        finality: Finality,
    ) -> Result<(), BlockError> {
        // One format per protocol version: 3 (as before protocol versions) for protocol 1.
        if header.version != header_version(header.protocol) {
            return Err(BlockError::invalid(
                "unknown_version",
                format!(
                    "header version {} is not the format of protocol version {}",
                    header.version, header.protocol
                ),
            ));
        }
        if header.protocol != protocol.version {
            return Err(BlockError::invalid(
                "wrong_protocol",
                format!(
                    "block {} is made under protocol version {}, but version {} is active",
                    header.height, header.protocol, protocol.version
                ),
            ));
        }
        if header.chain != self.shared.genesis.hash() {
            return Err(BlockError::invalid(
                "wrong_chain",
                "block belongs to another chain",
            ));
        }
        let genesis = &self.shared.genesis;
        let expected_epoch = genesis.epoch_of(header.height);
        if header.epoch != expected_epoch {
            return Err(BlockError::invalid(
                "wrong_epoch",
                format!(
                    "block {} belongs to epoch {expected_epoch}, not {}",
                    header.height, header.epoch
                ),
            ));
        }
        let set = epoch_set(genesis, state, header.epoch)
            .await
            .map_err(|reason| BlockError::invalid("validator_set_unknown", reason))?;
        if header.validator_set != validator_set_digest(&set.keys()) {
            return Err(BlockError::invalid(
                "wrong_validator_set",
                "validator-set digest does not match the epoch's validators",
            ));
        }
        civitas_exec::check_header_link(header, parent)?;
        if finality == Finality::Candidate {
            let ahead = |context: &C| header.timestamp.0.saturating_sub(now_ms(context));
            let first = ahead(context);
            if first > CLOCK_SKEW_TOLERATED_MS {
                // The proposer's clock may be a little ahead: wait briefly, never for as long as
                // the block says.
                let wait = (first - CLOCK_SKEW_TOLERATED_MS).min(CLOCK_SKEW_WAIT_MAX_MS);
                context.sleep(Duration::from_millis(wait)).await;
                let still = ahead(context);
                if still > CLOCK_SKEW_TOLERATED_MS {
                    return Err(BlockError::invalid(
                        "timestamp_ahead_of_clock",
                        format!("timestamp is {still} ms ahead of this validator's clock"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Logs and counts why a block was refused; a storage failure stops the node.
    fn refuse(&self, header: &Header, finality: Finality, error: BlockError) {
        match error {
            BlockError::Invalid { rule, detail } => {
                warn!(height = header.height, rule, %detail, ?finality, "refusing block");
                self.shared.metrics.record_refusal(rule);
            }
            BlockError::State(e) => panic!("state failure while verifying a block: {e}"),
        }
    }
}

impl<E> Application<E> for LedgerApp<E>
where
    E: StorageContext + Spawner + Clock + commonware_runtime::Metrics,
{
    type SigningScheme = simplex::scheme::ed25519::Scheme;
    type Context = ConsensusContext;
    type Block = ChainBlock;
    type Databases = SharedDb<E>;
    type Captured = Arc<Vec<Receipt>>;
    type Provider = Mempool;
    type Input = ();

    fn sync_targets(block: &ChainBlock) -> <SharedDb<E> as DatabaseSet<E>>::SyncTargets {
        let header = block.header();
        Target::new(
            to_digest(&header.state_ops_root),
            non_empty_range!(
                Location::new(header.state_ops_start),
                Location::new(header.state_ops_end.max(header.state_ops_start + 1))
            ),
        )
    }

    async fn genesis(&mut self) -> ChainBlock {
        self.genesis_block.clone()
    }

    async fn propose(
        &mut self,
        (runtime, context): (E, ConsensusContext),
        mut ancestry: impl Ancestry<ChainBlock>,
        batches: Batch<E>,
        input: Input<(), Mempool>,
    ) -> Option<Proposed<Self, E>> {
        let parent = ancestry.next().await?;
        let parent_header = parent.inner().header().clone();
        let mempool = input.provider;

        // Give transactions a moment to arrive rather than filling the chain with empty blocks.
        let mut waited = 0;
        while !mempool.has_candidates() && waited < self.shared.empty_block_wait_ms {
            runtime.sleep(Duration::from_millis(20)).await;
            waited += 20;
        }
        let timestamp = civitas_exec::next_timestamp(parent_header.timestamp, now_ms(&runtime));
        let (epoch, view, parent_view, proposer, _) = context_fields(&context);
        let height = parent_header.height + 1;
        if epoch != self.shared.genesis.epoch_of(height) {
            warn!(
                epoch,
                height, "not proposing: the height is outside the engine's epoch"
            );
            return None;
        }
        let set = match epoch_set(&self.shared.genesis, &BatchView::<E>(&batches), epoch).await {
            Ok(set) => set,
            Err(reason) => {
                warn!(%reason, "could not build a block");
                return None;
            }
        };
        let protocol = match self.protocol_at(&BatchView::<E>(&batches), height).await {
            Ok(protocol) => protocol,
            Err(error) => {
                warn!(%error, "not proposing");
                return None;
            }
        };
        let mut header = Header {
            version: header_version(protocol.version),
            protocol: protocol.version,
            chain: self.shared.genesis.hash(),
            height,
            parent: parent_header.digest(),
            epoch,
            view,
            parent_view,
            proposer,
            timestamp,
            tx_count: 0,
            tx_root: Hash32::ZERO,
            receipts_root: Hash32::ZERO,
            state_root: Hash32::ZERO,
            state_ops_root: Hash32::ZERO,
            state_ops_start: 0,
            state_ops_end: 0,
            history_root: Hash32::ZERO,
            validator_set: validator_set_digest(&set.keys()),
        };
        let candidates = mempool.candidates(PROPOSAL_TXS_MAX, PROPOSAL_TX_BYTES_MAX);
        let env = self.env(&header, protocol);
        let started = runtime.current();
        let out_of_time = || {
            runtime
                .current()
                .duration_since(started)
                .is_ok_and(|spent| spent > Duration::from_millis(PROPOSAL_BUILD_BUDGET_MS))
        };
        // Boxed: the execution future is large, and the engine moves the future that awaits
        // it; a pointer moves cheaply.
        let result = match Box::pin(execute_block_until(
            &env,
            candidates,
            &BatchView::<E>(&batches),
            &self.modules,
            Mode::Build,
            &mempool,
            &out_of_time,
        ))
        .await
        {
            Ok(result) => result,
            Err(BlockError::Invalid { rule, detail }) => {
                warn!(rule, %detail, "could not build a block");
                return None;
            }
            Err(BlockError::State(e)) => panic!("state failure while building a block: {e}"),
        };
        // Drop only what can never be included; the rest waits in the mempool until it is
        // finalized (possibly in another proposer's block) or superseded.
        let rejected: Vec<_> = result
            .rejected
            .iter()
            .filter(|(_, r)| r.is_final())
            .map(|(h, r)| (*h, r.code.to_string(), r.message.clone()))
            .collect();
        if !rejected.is_empty() {
            mempool.reject(&rejected);
        }
        let merkleized = match Box::pin(seal::<E>(batches, header.height, &result)).await {
            Ok(m) => m,
            Err(e) => panic!("{e}"),
        };
        header.tx_count = result.included.len() as u32;
        header.history_root = result.history_root;
        header.receipts_root = result.receipts_root;
        let block = Block {
            header,
            txs: result.included,
        };
        let mut block = block;
        block.header.tx_root = block.compute_tx_root();
        commit_state::<E>(&mut block.header, &merkleized);
        self.executed.insert(
            block.digest(),
            block.header.height,
            stored(result.receipts, result.end),
        );
        debug!(
            height = block.header.height,
            txs = block.txs.len(),
            "proposed block"
        );
        Some(Proposed {
            block: ChainBlock::new(block),
            merkleized,
        })
    }

    async fn process(
        &mut self,
        (runtime, _context): (E, ConsensusContext),
        mut ancestry: impl Ancestry<ChainBlock>,
        batches: Batch<E>,
        finality: Finality,
    ) -> Option<Merkleized<E>> {
        let block: Digested<ChainBlock> = ancestry.next().await?;
        let parent: Digested<ChainBlock> = ancestry.next().await?;
        let header = block.inner().header().clone();
        // The height the parent's state decides for (the block's own height is checked with
        // its header).
        let height = parent.inner().header().height + 1;
        let protocol = match self.protocol_at(&BatchView::<E>(&batches), height).await {
            Ok(protocol) => protocol,
            Err(error @ BlockError::State(_)) => {
                self.refuse(&header, finality, error);
                return None;
            }
            Err(error) => {
                if finality == Finality::Finalized {
                    // This release cannot apply the chain from here: stop before touching the
                    // state, and never return (a finalized block must produce its state).
                    if let BlockError::Invalid { detail, .. } = error {
                        self.shared.halt(detail);
                    }
                    return std::future::pending().await;
                }
                self.refuse(&header, finality, error);
                return None;
            }
        };
        match Box::pin(self.verify_block(
            &runtime,
            block.inner(),
            parent.inner(),
            batches,
            protocol,
            finality,
        ))
        .await
        {
            Ok(merkleized) => Some(merkleized),
            Err(error) => {
                self.refuse(&header, finality, error);
                None
            }
        }
    }

    /// Stores the block's receipts and its history node durably before its state is applied
    /// (see [`crate::receipts`] and [`crate::history`]), and hands the receipts to
    /// [`Self::finalized`].
    async fn capture(
        &mut self,
        _context: (E, ConsensusContext),
        block: &ChainBlock,
        _batches: &Merkleized<E>,
        readers: Reader<Db<E>>,
    ) -> Arc<Vec<Receipt>> {
        let header = block.header();
        let receipts = match self.executed.take(&header.digest(), header.height) {
            Some(receipts) => receipts,
            // Not executed by this process (never seen before it was finalized here): execute
            // it again on the state before it, which `readers` still shows.
            None => Arc::new(self.replay_receipts(block, &readers).await),
        };
        if let Err(e) = self.receipts.put_block(&receipts).await {
            panic!("cannot store the receipts of block {}: {e}", header.height);
        }
        if let Err(e) = self.history.append(header.height, &header.digest()).await {
            panic!("cannot store block {} in the history: {e}", header.height);
        }
        receipts
    }

    async fn finalized(
        &mut self,
        (runtime, _context): (E, ConsensusContext),
        block: &ChainBlock,
        captured: Arc<Vec<Receipt>>,
        readers: Reader<Db<E>>,
    ) {
        let header = block.header();
        let digest = header.digest();
        let mut receipts = Arc::unwrap_or_clone(captured);
        // The block's end receipt, stored after its transactions' (see `stored`).
        let end = if receipts.len() > block.0.txs.len()
            && receipts.last().is_some_and(Receipt::is_block_end)
        {
            receipts.pop()
        } else {
            None
        };
        self.update_pool(block, &receipts, &readers, now_ms(&runtime))
            .await;
        *self.shared.tip.lock().unwrap_or_else(|p| p.into_inner()) = Tip {
            height: header.height,
            digest,
            state_root: header.state_root,
            timestamp: header.timestamp,
            next_protocol: header.protocol,
        };
        match protocol_schedule(&ReaderView::<E>(&readers), &self.shared.genesis).await {
            Ok(schedule) => self.shared.note_protocol(&schedule, header.height),
            Err(e) => panic!("cannot read the protocol schedule: {e}"),
        }
        let failed = receipts.iter().filter(|r| !r.succeeded()).count() as u64;
        self.shared.metrics.record_block(
            receipts.len() as u64,
            failed,
            header.timestamp.0,
            now_ms(&runtime),
        );
        self.track_epochs(block, &readers).await;
        info!(height = header.height, txs = block.0.txs.len(), %digest, "finalized");
        let _ = self.shared.finalized.send(Arc::new(FinalizedBlock {
            block: block.0.clone(),
            digest,
            receipts,
            end,
        }));
    }
}

/// What a block's execution stores in the receipt store: its transactions' receipts, then its
/// end receipt if it has one.
fn stored(mut receipts: Vec<Receipt>, end: Option<Receipt>) -> Vec<Receipt> {
    receipts.extend(end);
    receipts
}

impl<E> LedgerApp<E>
where
    E: StorageContext + Spawner + Clock + commonware_runtime::Metrics,
{
    /// Checks `block` on `parent` and executes it on `batches` (the parent's state): every rule
    /// of a valid block, including that the roots in its header are those execution gives.
    async fn verify_block(
        &self,
        runtime: &E,
        block: &ChainBlock,
        parent: &ChainBlock,
        batches: Batch<E>,
        protocol: Protocol,
        finality: Finality,
    ) -> Result<Merkleized<E>, BlockError> {
        let header = block.header();
        self.check_header(
            runtime,
            &BatchView::<E>(&batches),
            header,
            parent.header(),
            protocol,
            finality,
        )
        .await?;
        // Blocks from peers were checked when decoded; this also covers blocks built here.
        if block.0.compute_tx_root() != header.tx_root {
            return Err(BlockError::invalid(
                "tx_root_mismatch",
                "tx_root does not match the transactions",
            ));
        }
        let mode = match finality {
            Finality::Candidate => Mode::Verify,
            Finality::Finalized => Mode::Replay,
        };
        let result = Box::pin(execute_block(
            &self.env(header, protocol),
            block.0.txs.clone(),
            &BatchView::<E>(&batches),
            &self.modules,
            mode,
            &self.shared.mempool,
        ))
        .await?;
        if result.history_root != header.history_root {
            return Err(BlockError::invalid(
                "history_root_mismatch",
                "history_root does not match",
            ));
        }
        if result.receipts_root != header.receipts_root {
            return Err(BlockError::invalid(
                "receipts_root_mismatch",
                "receipts_root does not match the receipts of executing the block",
            ));
        }
        let merkleized = match Box::pin(seal::<E>(batches, header.height, &result)).await {
            Ok(m) => m,
            Err(e) => panic!("{e}"),
        };
        let mut expected = header.clone();
        commit_state::<E>(&mut expected, &merkleized);
        if &expected != header {
            return Err(BlockError::invalid(
                "state_root_mismatch",
                format!(
                    "state root after execution is {}, the block claims {}",
                    expected.state_root, header.state_root
                ),
            ));
        }
        self.executed.insert(
            header.digest(),
            header.height,
            stored(result.receipts, result.end),
        );
        Ok(merkleized)
    }

    /// The receipts of finalized `block`, by executing it on the state before it.
    async fn replay_receipts(&self, block: &ChainBlock, readers: &Reader<Db<E>>) -> Vec<Receipt> {
        let header = block.header();
        // Processing checked the block's protocol before it was finalized here.
        let Some(protocol) = self.shared.protocols.get(header.protocol) else {
            panic!(
                "finalized block {} is made under protocol version {}, which this release does \
                 not know",
                header.height, header.protocol
            );
        };
        let result = Box::pin(execute_block(
            &self.env(header, *protocol),
            block.0.txs.clone(),
            &ReaderView::<E>(readers),
            &self.modules,
            Mode::Replay,
            &civitas_exec::NoneVerified,
        ))
        .await;
        match result {
            Ok(result) if result.receipts_root == header.receipts_root => {
                stored(result.receipts, result.end)
            }
            Ok(_) => panic!(
                "finalized block {} does not give the receipts its header commits to",
                header.height
            ),
            Err(e) => panic!("cannot execute finalized block {}: {e}", header.height),
        }
    }

    /// After a finalized block is applied: drops its transactions from the mempool, and those
    /// it made impossible (nonces it used; transactions of accounts whose keys or status it
    /// changed that no longer authenticate), and now and then those stuck behind a nonce gap.
    async fn update_pool(
        &self,
        block: &ChainBlock,
        receipts: &[Receipt],
        readers: &Reader<Db<E>>,
        now_ms: u64,
    ) {
        use civitas_core::event::Event;
        let mempool = &self.shared.mempool;
        let hashes: Vec<Hash32> = receipts.iter().map(|r| r.tx).collect();
        mempool.remove(&hashes);
        for tx in &block.0.txs {
            mempool.prune_stale(&tx.body.signer, tx.body.nonce + 1);
        }
        let mut changed: Vec<civitas_core::crypto::AccountId> = receipts
            .iter()
            .flat_map(|r| &r.events)
            .filter_map(Event::changes_signer)
            .collect();
        changed.sort();
        changed.dedup();
        mempool.mark_changed(&changed, block.header().height);
        if !changed.is_empty() {
            let view = ReaderView::<E>(readers);
            match crate::gossip::evict_unauthenticated(&self.shared, &view, &changed).await {
                Ok(0) => {}
                Ok(evicted) => debug!(evicted, "dropped transactions that no longer authenticate"),
                Err(e) => panic!("state failure while checking the mempool: {e}"),
            }
        }
        mempool.sweep(now_ms);
    }

    /// After a finalized block is applied: at an epoch's last block, learn the next epoch's
    /// set (keeping the state proof when it changed) and tell the orchestrator; after a
    /// governance transaction, report the next epoch's set so its validators get connected.
    async fn track_epochs(&self, block: &ChainBlock, readers: &Reader<Db<E>>) {
        let header = block.header();
        let genesis = &self.shared.genesis;
        let view = ReaderView::<E>(readers);
        let epoch = genesis.epoch_of(header.height);
        if header.height == genesis.last_height_of(epoch) {
            let next_epoch = epoch + 1;
            let key = civitas_modules::governance::state::epoch_key(next_epoch);
            let next = match epoch_set(genesis, &view, next_epoch).await {
                Ok(set) => set,
                Err(reason) => panic!(
                    "the boundary block {} left no next set: {reason}",
                    header.height
                ),
            };
            let current = epoch_set(genesis, &view, epoch).await.ok();
            if current.as_ref() != Some(&next) {
                let proven = {
                    let guard = readers.read().await;
                    civitas_state::proof::prove(&guard, &key).await
                };
                match proven {
                    Ok(proven) if proven.root == header.state_root => {
                        if let Err(e) = self.handovers.put(next_epoch, proven.proof).await {
                            panic!("cannot store the hand-over proof of epoch {next_epoch}: {e}");
                        }
                    }
                    Ok(_) => panic!(
                        "the state moved past boundary block {} before the proof of epoch \
                         {next_epoch}'s validator set was taken, so this node could never prove \
                         a block after it; stopping. Restore the data directory from a backup \
                         taken before block {} (or start from an empty one to fetch the chain \
                         from the other validators), and report this",
                        header.height, header.height
                    ),
                    Err(e) => panic!("cannot prove the validator set of epoch {next_epoch}: {e}"),
                }
            }
            self.shared.epochs.insert(next_epoch, next.clone());
            let _ = self.epoch_events.unbounded_send(EpochEvent::Boundary {
                epoch: next_epoch,
                set: next,
            });
        }
        let governs = block.0.txs.iter().any(|tx| {
            tx.body
                .instructions
                .iter()
                .any(|i| matches!(i, Instruction::Governance(_)))
        });
        if governs {
            let key = civitas_modules::governance::state::next_validators_key();
            if let Ok(Some(bytes)) = view.get(&key.hashed()).await
                && let Ok(set) = civitas_exec::decode_value::<ValidatorSet>(&key, &bytes)
            {
                let _ = self.epoch_events.unbounded_send(EpochEvent::NextSet(set));
            }
        }
    }
}

/// Reads through the applied-state reader handed to the finalized hook.
struct ReaderView<'a, E>(&'a Reader<Db<E>>)
where
    E: StorageContext + Spawner;

impl<E> StateView for ReaderView<'_, E>
where
    E: StorageContext + Spawner,
{
    async fn get(&self, key: &Hash32) -> Result<Option<Vec<u8>>, civitas_state::StateError> {
        let guard = self.0.read().await;
        guard
            .get(&to_digest(key))
            .await
            .map(|v| v.map(|v| v.0))
            .map_err(|e| civitas_state::StateError::Storage(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_core::crypto::PrivateKey;
    use civitas_core::governance::ValidatorEntry;

    fn set(n: u64) -> ValidatorSet {
        let mut validators: Vec<ValidatorEntry> = (0..n)
            .map(|i| ValidatorEntry {
                key: PrivateKey::from_test_seed(i).public_key(),
                agency: format!("a{i}"),
                p2p_address: "127.0.0.1:1".into(),
            })
            .collect();
        validators.sort_by(|a, b| a.key.cmp(&b.key));
        ValidatorSet { validators }
    }

    #[test]
    fn one_peer_cannot_claim_the_network_is_far_ahead() {
        let validators = set(4);
        let epochs = PeerEpochs::default();
        let key = |i: u64| PrivateKey::from_test_seed(i).public_key();
        epochs.record(&validators, key(0), u64::MAX);
        assert_eq!(
            epochs.network_epoch(&validators),
            0,
            "one claim is not enough"
        );
        // A key outside the set counts for nothing.
        epochs.record(&validators, key(9), u64::MAX);
        assert_eq!(epochs.network_epoch(&validators), 0);
        epochs.record(&validators, key(1), 7);
        assert_eq!(
            epochs.network_epoch(&validators),
            7,
            "two of four (f + 1) agree on 7"
        );
        epochs.record(&validators, key(2), 9);
        assert_eq!(epochs.network_epoch(&validators), 9);
    }
}
