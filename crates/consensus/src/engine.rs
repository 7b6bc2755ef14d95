//! Wiring of one validator: simplex, marshal, broadcast, resolvers and the ledger application.
//!
//! Generic over the runtime and the network, so the same wiring runs on real TCP (tokio) and in
//! the deterministic simulator.

use crate::app::{LedgerApp, Shared, genesis_block};
use crate::block::ChainBlock;
use crate::epochs::{
    EpochEvent, EpochSchemes, HandoverStore, MarshalMailbox, PeerTracker, epoch_floor,
};
use crate::history::HistoryStore;
use crate::receipts::ReceiptStore;
use civitas_core::crypto::PrivateKey;
use civitas_core::governance::ValidatorSet;
use civitas_state::StateView as _;
use civitas_state::{SharedDb, db_config};
use commonware_broadcast::buffered;
use commonware_consensus::{
    marshal::{
        self,
        core::Actor as MarshalActor,
        resolver::p2p as marshal_resolver,
        standard::{Deferred, Standard},
    },
    simplex::{
        self,
        config::{ForwardPolicy, SkipBudget, SkipPolicy},
        elector::RoundRobin,
    },
    types::{Epoch, FixedEpocher, ViewDelta},
};
use commonware_cryptography::{Digested, Sha256, certificate::Verifier as _, ed25519};
use commonware_glue::stateful::{
    Application, Config as StatefulConfig, Mailbox as StatefulMailbox, Stateful, SyncPlan,
    db::SyncEngineConfig,
};
use commonware_p2p::utils::mux::{Builder as _, Muxer};
use commonware_p2p::{Blocker, Provider, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::{Clock, Handle, Metrics, Spawner, Storage, buffer::paged::CacheRef};
use commonware_storage::{archive::prunable, translator::TwoCap};
use commonware_utils::{NZDuration, NZU16, NZU64, NZUsize};
use futures::StreamExt as _;
use rand_core::CryptoRng;
use std::num::{NonZeroU64, NonZeroUsize};
use std::time::Duration;
use tracing::{debug, info, warn};

/// Actor mailbox capacity.
const MAILBOX_SIZE: NonZeroUsize = NZUsize!(1024);
/// Storage I/O buffer.
const IO_BUFFER: NonZeroUsize = NZUsize!(64 * 1024);
/// Items per archive section.
const ITEMS_PER_SECTION: NonZeroU64 = NZU64!(4096);
/// Operations served per state-sync request.
const STATE_SYNC_BATCH: NonZeroU64 = NZU64!(1024);

/// One validator's channel pairs, in the order [`CHANNELS`] lists them.
pub struct Channels<S, R> {
    /// Simplex votes.
    pub votes: (S, R),
    /// Simplex certificates.
    pub certificates: (S, R),
    /// Simplex resolver.
    pub resolver: (S, R),
    /// Marshal backfill.
    pub backfill: (S, R),
    /// Block broadcast.
    pub broadcast: (S, R),
    /// State-sync resolver.
    pub state_sync: (S, R),
    /// Transaction gossip.
    pub txs: (S, R),
}

/// Channel ids.
pub const CHANNELS: [u64; 7] = [0, 1, 2, 3, 4, 5, 6];

impl<S, R> Channels<S, R> {
    /// Assigns channel pairs registered in the order of [`CHANNELS`].
    ///
    /// # Panics
    ///
    /// Panics if fewer than seven pairs are given.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (S, R)>) -> Self {
        let mut pairs = pairs.into_iter();
        let mut next = || {
            pairs
                .next()
                .expect("one channel pair per entry of CHANNELS")
        };
        Self {
            votes: next(),
            certificates: next(),
            resolver: next(),
            backfill: next(),
            broadcast: next(),
            state_sync: next(),
            txs: next(),
        }
    }
}

/// What a started validator exposes to the rest of the node.
pub struct Validator<E>
where
    E: Spawner + Clock + Metrics + Storage + commonware_storage::Context,
{
    /// Marshal, for reading finalized blocks and certificates.
    pub marshal: marshal::core::Mailbox<simplex::scheme::ed25519::Scheme, Standard<ChainBlock>>,
    /// The state database.
    pub db: SharedDb<E>,
    /// Shared application state (mempool, tip, finalized feed).
    pub shared: Shared,
    /// Proofs of validator-set hand-overs.
    pub handovers: HandoverStore<E>,
    /// Receipts of finalized transactions.
    pub receipts: ReceiptStore<E>,
    /// The history MMR's nodes, for proofs of blocks without a certificate of their own.
    pub history: HistoryStore<E>,
    /// Where to send transactions submitted to this node.
    pub submit: tokio::sync::mpsc::Sender<crate::gossip::Submission>,
    /// Handle of the validator's root task; aborting it stops every actor of the validator.
    pub engine: Handle<()>,
}

/// Configuration of one validator.
pub struct ValidatorConfig {
    /// The validator's consensus key.
    pub signer: PrivateKey,
    /// Storage partition prefix (unique per node on shared storage).
    pub partition_prefix: String,
    /// Shared application state, created by the caller so queries can start early.
    pub shared: Shared,
    /// Keeps the p2p layer connected to each epoch's validators.
    pub peers: Box<dyn PeerTracker>,
}

fn archive_config<C>(
    prefix: &str,
    name: &str,
    page_cache: CacheRef,
    codec: C,
) -> prunable::Config<TwoCap, C> {
    prunable::Config {
        translator: TwoCap,
        metadata_partition: format!("{prefix}-{name}-metadata"),
        key_partition: format!("{prefix}-{name}-key"),
        key_page_cache: page_cache,
        value_partition: format!("{prefix}-{name}-value"),
        compression: None,
        codec_config: codec,
        items_per_section: ITEMS_PER_SECTION,
        key_write_buffer: IO_BUFFER,
        value_write_buffer: IO_BUFFER,
        replay_buffer: IO_BUFFER,
    }
}

/// The p2p message size limit every validator of a chain must use.
pub fn max_message_size(validators: u32) -> u32 {
    commonware_p2p::max_message_size(&[
        simplex::max_payload_size::<
            simplex::scheme::ed25519::Scheme,
            commonware_cryptography::sha256::Digest,
        >(validators),
        marshal::max_payload_size::<Standard<ChainBlock>, simplex::scheme::ed25519::Scheme>(
            validators,
            &(),
        ),
        crate::gossip::MAX_GOSSIP_BYTES,
    ])
}

/// Sets the reported tip from storage after a restart, before new blocks arrive; returns the
/// applied height.
async fn restore_tip<E>(shared: &Shared, db: &SharedDb<E>, marshal: &MarshalMailbox) -> u64
where
    E: Spawner + Clock + Metrics + Storage + commonware_storage::Context,
{
    let height = {
        let guard = db.read().await;
        let metadata = guard.get_metadata().await.ok().flatten();
        civitas_state::metadata_height(metadata.as_ref()).unwrap_or(0)
    };
    if height == 0 {
        return 0;
    }
    if let Some(block) = marshal
        .get_block(commonware_consensus::types::Height::new(height))
        .await
    {
        let header = block.inner().header();
        *shared.tip.lock().unwrap_or_else(|p| p.into_inner()) = crate::app::Tip {
            height,
            digest: header.digest(),
            state_root: header.state_root,
            timestamp: header.timestamp,
            next_protocol: header.protocol,
        };
    }
    height
}

/// Stops the node, saying what to do, if the stores beside the state lag it: the history index
/// must hold every applied block, and a proof must be kept for every change of validator set
/// (without them the node could never prove what it holds).
async fn check_stores<E, V>(
    genesis: &civitas_core::genesis::Genesis,
    view: &V,
    history: &HistoryStore<E>,
    handovers: &HandoverStore<E>,
    applied: u64,
) where
    E: Spawner + Clock + Metrics + Storage + commonware_storage::Context,
    V: civitas_state::StateView,
{
    let restore = "restore the data directory from a backup, or start from an empty one to \
                   fetch the chain from the other validators";
    let held = history.len().await;
    if held < applied + 1 {
        panic!(
            "the history index holds {held} blocks but the state is at height {applied}: {restore}"
        );
    }
    let key = civitas_modules::governance::state::handovers_key();
    let changed = match view.get(&key.hashed()).await {
        Ok(Some(bytes)) => {
            civitas_exec::decode_value::<civitas_modules::governance::state::Epochs>(&key, &bytes)
                .map(|epochs| epochs.0)
                .unwrap_or_else(|e| panic!("the list of validator-set changes is unreadable: {e}"))
        }
        Ok(None) => Vec::new(),
        Err(e) => panic!("cannot read the list of validator-set changes: {e}"),
    };
    for epoch in changed {
        // The proof of the latest applied block is taken once it is applied, and taken again
        // if the node stopped in between (the block is delivered again): it may still come.
        if genesis.last_height_of(epoch.saturating_sub(1)) == applied {
            continue;
        }
        if handovers.get(epoch).await.is_none() {
            panic!(
                "the proof of the validator-set change into epoch {epoch} is missing: {restore}"
            );
        }
    }
}

/// Simplex settings shared by every epoch's engine.
struct EngineSettings<B, D> {
    blocker: B,
    deferred: D,
    page_cache: CacheRef,
    prefix: String,
}

/// What the validator runs as its application: the ledger application, or (in the Byzantine
/// simulations) a wrapper around it that misbehaves.
pub trait LedgerApplication<E>:
    Application<
        E,
        SigningScheme = simplex::scheme::ed25519::Scheme,
        Context = crate::block::ConsensusContext,
        Block = ChainBlock,
        Databases = SharedDb<E>,
        Provider = crate::mempool::Mempool,
        Input = (),
    >
where
    E: Spawner + Clock + Metrics + Storage + commonware_storage::Context,
{
}

impl<E, A> LedgerApplication<E> for A
where
    E: Spawner + Clock + Metrics + Storage + commonware_storage::Context,
    A: Application<
            E,
            SigningScheme = simplex::scheme::ed25519::Scheme,
            Context = crate::block::ConsensusContext,
            Block = ChainBlock,
            Databases = SharedDb<E>,
            Provider = crate::mempool::Mempool,
            Input = (),
        >,
{
}

/// Builds and starts a validator.
pub async fn start_validator<E, P, B, S, R>(
    context: E,
    config: ValidatorConfig,
    peers: P,
    blocker: B,
    channels: Channels<S, R>,
) -> Validator<E>
where
    E: Spawner
        + Clock
        + Metrics
        + Storage
        + commonware_storage::Context
        + CryptoRng
        + rand_core::Rng,
    P: Provider<PublicKey = ed25519::PublicKey>,
    B: Blocker<PublicKey = ed25519::PublicKey>,
    S: Sender<PublicKey = ed25519::PublicKey>,
    R: Receiver<PublicKey = ed25519::PublicKey>,
{
    start_validator_with(context, config, peers, blocker, channels, |app| app).await
}

/// Builds and starts a validator whose application is `wrap` applied to the ledger
/// application (the simulations wrap it in a Byzantine proposer).
pub async fn start_validator_with<E, P, B, S, R, A>(
    context: E,
    config: ValidatorConfig,
    peers: P,
    blocker: B,
    channels: Channels<S, R>,
    wrap: impl FnOnce(LedgerApp<E>) -> A,
) -> Validator<E>
where
    E: Spawner
        + Clock
        + Metrics
        + Storage
        + commonware_storage::Context
        + CryptoRng
        + rand_core::Rng,
    P: Provider<PublicKey = ed25519::PublicKey>,
    B: Blocker<PublicKey = ed25519::PublicKey>,
    S: Sender<PublicKey = ed25519::PublicKey>,
    R: Receiver<PublicKey = ed25519::PublicKey>,
    A: LedgerApplication<E>,
{
    let shared = config.shared.clone();
    let genesis = shared.genesis.clone();
    let prefix = config.partition_prefix.clone();
    let public_key = config.signer.public_key().inner().clone();
    let epocher = FixedEpocher::new(
        NonZeroU64::new(genesis.epoch_length).expect("genesis validation keeps epochs non-empty"),
    );
    shared.epochs.insert(
        0,
        civitas_modules::governance::handler::genesis_validators(&genesis),
    );
    let provider = EpochSchemes::new(
        shared.epochs.clone(),
        &genesis,
        config.signer.inner().clone(),
    );
    let page_cache = CacheRef::new(NZU16!(4096), NZUsize!(4096));

    let genesis_block = genesis_block(&genesis);
    let genesis_digest = commonware_cryptography::Digestible::digest(&genesis_block);
    let genesis_digested = Digested::precomputed(genesis_block.clone(), genesis_digest);

    // Block dissemination and backfill.
    let (broadcast_engine, buffer) = buffered::Engine::new(
        context.child("broadcast"),
        buffered::Config {
            public_key: public_key.clone(),
            mailbox_size: MAILBOX_SIZE,
            deque_size: 16,
            priority: false,
            codec_config: (),
            peer_provider: peers.clone(),
            strategy: Sequential,
        },
    );
    broadcast_engine.start(channels.broadcast);
    let backfill = marshal_resolver::init(
        context.child("backfill"),
        marshal_resolver::Config {
            public_key: public_key.clone(),
            peer_provider: peers.clone(),
            blocker: blocker.clone(),
            mailbox_size: MAILBOX_SIZE,
            fetch_timeout: NZDuration!(Duration::from_secs(2)),
            fetch_retry_delay: Duration::from_millis(200),
            priority_requests: false,
            priority_responses: false,
        },
        channels.backfill,
    );

    // Finalized block and certificate storage.
    let finalizations = prunable::Archive::init(
        context.child("finalizations"),
        archive_config(
            &prefix,
            "finalizations",
            page_cache.clone(),
            simplex::scheme::ed25519::Scheme::certificate_codec_config_unbounded(),
        ),
    )
    .await
    .expect("failed to open the finalization archive");
    let blocks = prunable::Archive::init(
        context.child("blocks"),
        archive_config(&prefix, "blocks", page_cache.clone(), ()),
    )
    .await
    .expect("failed to open the block archive");
    let handovers = HandoverStore::open(context.child("handovers"), &prefix)
        .await
        .expect("failed to open the hand-over store");
    let receipts = ReceiptStore::open(context.child("receipts"), &prefix, page_cache.clone())
        .await
        .expect("failed to open the receipt store");
    let history = HistoryStore::open(
        context.child("history"),
        &prefix,
        page_cache.clone(),
        &genesis_block.0.digest(),
    )
    .await
    .expect("failed to open the history store");

    let plan = SyncPlan::init(context.child("sync_plan"), prefix.clone()).await;
    let (marshal_actor, marshal_mailbox, floor) =
        MarshalActor::<_, Standard<ChainBlock>, _, _, _, _, _>::init(
            context.child("marshal"),
            finalizations,
            blocks,
            marshal::Config {
                provider: provider.clone(),
                epocher: epocher.clone(),
                start: plan.marshal_start(genesis_digested),
                partition_prefix: format!("{prefix}-marshal"),
                mailbox_size: MAILBOX_SIZE,
                view_retention: ViewDelta::new(10),
                prunable_items_per_section: ITEMS_PER_SECTION,
                page_cache: page_cache.clone(),
                replay_buffer: IO_BUFFER,
                key_write_buffer: IO_BUFFER,
                value_write_buffer: IO_BUFFER,
                block_codec_config: (),
                max_repair: NZUsize!(64),
                max_pending_acks: NZUsize!(1),
                strategy: Sequential,
            },
        )
        .await;

    // State sync is declined for now (see `civitas_state::NoStateSync`); the channel stays
    // registered so the wire layout does not change when it arrives.
    drop(channels.state_sync);

    let (epoch_events, epoch_receiver) = futures::channel::mpsc::unbounded();
    let (stateful_actor, stateful_mailbox): (_, StatefulMailbox<E, A>) = Stateful::new(
        context.child("stateful"),
        StatefulConfig {
            application: wrap(LedgerApp::new(
                shared.clone(),
                epoch_events,
                (handovers.clone(), receipts.clone(), history.clone()),
            )),
            db_config: db_config(&prefix, page_cache.clone()),
            provider: shared.mempool.clone(),
            marshal: (marshal_mailbox.clone(), floor),
            mailbox_size: MAILBOX_SIZE,
            plan,
            resolvers: civitas_state::NoStateSync::<E>::default(),
            sync_config: SyncEngineConfig {
                fetch_batch_size: STATE_SYNC_BATCH,
                apply_batch_size: NZU64!(1024),
                max_outstanding_requests: NZUsize!(8),
            },
            prune_config: None,
            strategy: Sequential,
        },
    );

    let deferred = Deferred::new(
        context.child("deferred"),
        stateful_mailbox.clone(),
        marshal_mailbox.clone(),
        epocher,
    );
    marshal_actor.start(stateful_mailbox.clone(), buffer, backfill);
    stateful_actor.start();
    let db = stateful_mailbox.subscribe_databases().await;
    let applied = restore_tip(&shared, &db, &marshal_mailbox).await;

    // The epoch this node resumes in, and every set up to it, from the applied state.
    let start_epoch = if applied == 0 {
        0
    } else {
        genesis.epoch_of(applied + 1)
    };
    let view = civitas_state::DbView(db.clone());
    crate::epochs::load_sets(&shared, &view, start_epoch)
        .await
        .expect("failed to read the validator sets from the state");
    check_stores(&genesis, &view, &history, &handovers, applied).await;
    // A release that does not know the protocol of the next block stops here, having applied
    // nothing.
    match crate::app::protocol_schedule(&view, &genesis).await {
        Ok(schedule) => shared.note_protocol(&schedule, applied),
        Err(e) => panic!("cannot read the protocol schedule: {e}"),
    }
    let next_set = view
        .get(&civitas_modules::governance::state::next_validators_key().hashed())
        .await
        .ok()
        .flatten()
        .and_then(|bytes| civitas_core::codec::from_slice::<ValidatorSet>(&bytes, &()).ok());

    let submit = crate::gossip::start(
        context.child("gossip"),
        shared.clone(),
        db.clone(),
        channels.txs,
        blocker.clone(),
    );

    // The epoch orchestrator runs on the root context, so aborting its handle stops every actor
    // above.
    let settings = EngineSettings {
        blocker,
        deferred,
        page_cache,
        prefix,
    };
    let marshal = marshal_mailbox.clone();
    let epochs_shared = shared.clone();
    let mut tracker = config.peers;
    let engine = context.spawn(move |context| async move {
        run_epochs(
            context,
            EpochRun {
                shared: epochs_shared,
                provider,
                marshal,
                genesis_digest,
                start_epoch,
                next_set,
                events: epoch_receiver,
            },
            settings,
            &mut *tracker,
            (channels.votes, channels.certificates, channels.resolver),
        )
        .await;
    });

    Validator {
        marshal: marshal_mailbox,
        db,
        shared,
        handovers,
        receipts,
        history,
        submit,
        engine,
    }
}

/// What each epoch's simplex engine drives: the marshal `Deferred` wrapper around the ledger
/// application.
trait EpochApp:
    commonware_consensus::CertifiableAutomaton<
        Context = simplex::types::Context<
            commonware_cryptography::sha256::Digest,
            ed25519::PublicKey,
        >,
        Digest = commonware_cryptography::sha256::Digest,
    > + commonware_consensus::Relay<
        Digest = commonware_cryptography::sha256::Digest,
        PublicKey = ed25519::PublicKey,
        Plan = simplex::Plan<ed25519::PublicKey>,
    > + commonware_consensus::Reporter<
        Activity = simplex::types::Activity<
            simplex::scheme::ed25519::Scheme,
            commonware_cryptography::sha256::Digest,
        >,
    > + Clone
{
}

impl<T> EpochApp for T where
    T: commonware_consensus::CertifiableAutomaton<
            Context = simplex::types::Context<
                commonware_cryptography::sha256::Digest,
                ed25519::PublicKey,
            >,
            Digest = commonware_cryptography::sha256::Digest,
        > + commonware_consensus::Relay<
            Digest = commonware_cryptography::sha256::Digest,
            PublicKey = ed25519::PublicKey,
            Plan = simplex::Plan<ed25519::PublicKey>,
        > + commonware_consensus::Reporter<
            Activity = simplex::types::Activity<
                simplex::scheme::ed25519::Scheme,
                commonware_cryptography::sha256::Digest,
            >,
        > + Clone
{
}

/// What the epoch orchestrator starts from.
struct EpochRun {
    shared: Shared,
    provider: EpochSchemes,
    marshal: MarshalMailbox,
    genesis_digest: commonware_cryptography::sha256::Digest,
    start_epoch: u64,
    next_set: Option<ValidatorSet>,
    events: futures::channel::mpsc::UnboundedReceiver<EpochEvent>,
}

/// Runs one simplex engine per epoch, entering each epoch once the application has applied the
/// previous epoch's last block, and asks marshal for that block's certificate when peers are
/// already voting in a later epoch.
async fn run_epochs<E, B, D, S, R>(
    context: E,
    run: EpochRun,
    mut settings: EngineSettings<B, D>,
    tracker: &mut dyn PeerTracker,
    (votes, certificates, resolver): ((S, R), (S, R), (S, R)),
) where
    E: Spawner + Clock + Metrics + Storage + CryptoRng + rand_core::Rng,
    B: Blocker<PublicKey = ed25519::PublicKey>,
    D: EpochApp,
    S: Sender<PublicKey = ed25519::PublicKey>,
    R: Receiver<PublicKey = ed25519::PublicKey>,
{
    let EpochRun {
        shared,
        provider,
        marshal,
        genesis_digest,
        start_epoch,
        next_set,
        mut events,
    } = run;
    let genesis = shared.genesis.clone();
    let (mux, mut vote_mux, mut vote_backup) =
        Muxer::builder(context.child("vote_mux"), votes.0, votes.1)
            .with_backup()
            .build();
    mux.start();
    let (mux, mut certificate_mux, mut certificate_backup) = Muxer::builder(
        context.child("certificate_mux"),
        certificates.0,
        certificates.1,
    )
    .with_backup()
    .build();
    mux.start();
    let (mux, mut resolver_mux) = Muxer::new(context.child("resolver_mux"), resolver.0, resolver.1);
    mux.start();

    let mut epoch = start_epoch;
    let mut tracked = 0u64;
    let mut next = next_set.unwrap_or_else(|| shared.epochs.get(epoch).unwrap_or_default());
    let current_set = |epoch: u64| shared.epochs.get(epoch).unwrap_or_default();
    tracked += 1;
    tracker.track(tracked, &current_set(epoch), &next);
    let Some(mut engine) = enter_epoch(
        &context,
        &mut settings,
        &provider,
        &marshal,
        &genesis,
        genesis_digest,
        epoch,
        (&mut vote_mux, &mut certificate_mux, &mut resolver_mux),
    )
    .await
    else {
        return;
    };
    shared.metrics.set_epoch(epoch);
    loop {
        tokio::select! {
            event = events.next() => {
                let Some(event) = event else { break };
                match event {
                    EpochEvent::Boundary { epoch: entered, set } if entered > epoch => {
                        let Some(started) = enter_epoch(
                            &context,
                            &mut settings,
                            &provider,
                            &marshal,
                            &genesis,
                            genesis_digest,
                            entered,
                            (&mut vote_mux, &mut certificate_mux, &mut resolver_mux),
                        )
                        .await
                        else {
                            break;
                        };
                        let old = std::mem::replace(&mut engine, started);
                        old.abort();
                        let _ = old.await;
                        let partition = simplex_partition(&settings.prefix, epoch);
                        if let Err(e) = context.remove(&partition, None).await {
                            debug!(%partition, error = %e, "could not remove an old epoch's journal");
                        }
                        info!(
                            epoch = entered,
                            validators = set.validators.len(),
                            member = set.contains(&crate::epochs::own_key(&provider)),
                            "entered epoch"
                        );
                        epoch = entered;
                        shared.metrics.set_epoch(epoch);
                        tracked += 1;
                        tracker.track(tracked, &set, &next);
                    }
                    EpochEvent::Boundary { .. } => {}
                    EpochEvent::NextSet(set) => {
                        next = set;
                        tracked += 1;
                        tracker.track(tracked, &current_set(epoch), &next);
                    }
                }
            },
            message = vote_backup.recv() => {
                let Some((their_epoch, (from, _))) = message else { break };
                hint_boundary(&shared, &marshal, epoch, their_epoch, from);
            },
            message = certificate_backup.recv() => {
                let Some((their_epoch, (from, _))) = message else { break };
                hint_boundary(&shared, &marshal, epoch, their_epoch, from);
            },
            result = &mut engine => {
                if let Err(e) = result {
                    warn!(epoch, error = %e, "consensus engine stopped");
                }
                break;
            },
        }
    }
}

/// A peer votes in a later epoch: the boundary block of ours is final, so fetch its
/// certificate from that peer.
fn hint_boundary(
    shared: &Shared,
    marshal: &MarshalMailbox,
    ours: u64,
    theirs: u64,
    from: ed25519::PublicKey,
) {
    let genesis = &shared.genesis;
    if theirs > ours {
        // The network is at least at the first block of their epoch, if enough of our epoch's
        // validators say so (one alone could claim any epoch).
        if let Some(set) = shared.epochs.get(ours) {
            let peer = civitas_core::crypto::PublicKey::from_inner(from.clone());
            shared.peer_epochs.record(&set, peer, theirs);
        }
        marshal.hint_finalized(
            commonware_consensus::types::Height::new(genesis.last_height_of(ours)),
            commonware_utils::vec::NonEmptyVec::new(from),
        );
    }
}

fn simplex_partition(prefix: &str, epoch: u64) -> String {
    format!("{prefix}-simplex-{epoch}")
}

/// Starts `epoch`'s simplex engine; `None` if the runtime is stopping.
#[allow(clippy::too_many_arguments)]
async fn enter_epoch<E, B, D, S>(
    context: &E,
    settings: &mut EngineSettings<B, D>,
    provider: &EpochSchemes,
    marshal: &MarshalMailbox,
    genesis: &civitas_core::genesis::Genesis,
    genesis_digest: commonware_cryptography::sha256::Digest,
    epoch: u64,
    (votes, certificates, resolver): (
        &mut commonware_p2p::utils::mux::MuxHandle<S>,
        &mut commonware_p2p::utils::mux::MuxHandle<S>,
        &mut commonware_p2p::utils::mux::MuxHandle<S>,
    ),
) -> Option<Handle<()>>
where
    E: Spawner + Clock + Metrics + Storage + CryptoRng + rand_core::Rng,
    B: Blocker<PublicKey = ed25519::PublicKey>,
    D: EpochApp,
    S: Sender<PublicKey = ed25519::PublicKey>,
{
    use commonware_cryptography::certificate::Provider as _;
    let scheme = provider
        .scheme(Epoch::new(epoch))
        .unwrap_or_else(|| panic!("the validator set of epoch {epoch} is not known"));
    // The boundary block is final before an epoch is entered, so marshal holds it.
    let floor = loop {
        if let Some(floor) = epoch_floor(genesis, genesis_digest, marshal, epoch).await {
            break floor;
        }
        warn!(epoch, "waiting for the previous epoch's last block");
        context.sleep(Duration::from_millis(500)).await;
    };
    let engine = simplex::Engine::new(
        context.child("simplex").with_attribute("epoch", epoch),
        simplex::Config {
            scheme: scheme.as_ref().clone(),
            elector: RoundRobin::<Sha256>::default(),
            blocker: settings.blocker.clone(),
            automaton: settings.deferred.clone(),
            relay: settings.deferred.clone(),
            reporter: settings.deferred.clone(),
            strategy: Sequential,
            partition: simplex_partition(&settings.prefix, epoch),
            mailbox_size: MAILBOX_SIZE,
            epoch: Epoch::new(epoch),
            floor,
            replay_buffer: IO_BUFFER,
            write_buffer: IO_BUFFER,
            page_cache: settings.page_cache.clone(),
            leader_timeout: Duration::from_secs(1),
            certification_timeout: Duration::from_secs(2),
            timeout_retry: Duration::from_millis(500),
            view_retention: ViewDelta::new(10),
            skip: SkipPolicy::Enabled {
                timeout: Duration::from_secs(5),
                budget: SkipBudget::Participants,
            },
            fetch_timeout: NZDuration!(Duration::from_secs(2)),
            fetch_retry_delay: Duration::from_millis(500),
            forward: ForwardPolicy::Disabled,
            track_historical_votes: false,
        },
    );
    let vote = votes.register(epoch).await.ok()?;
    let certificate = certificates.register(epoch).await.ok()?;
    let resolver = resolver.register(epoch).await.ok()?;
    Some(engine.start(vote, certificate, resolver))
}
