//! Wiring of one validator: simplex, marshal, broadcast, resolvers and the ledger application.
//!
//! Generic over the runtime and the network, so the same wiring runs on real TCP (tokio) and in
//! the deterministic simulator.

use crate::app::{LedgerApp, Shared, genesis_block};
use crate::block::ChainBlock;
use civitas_core::crypto::PrivateKey;
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
use commonware_cryptography::{
    Digested, Sha256,
    certificate::{ConstantProvider, Verifier as _},
    ed25519,
};
use commonware_glue::stateful::{
    Config as StatefulConfig, Mailbox as StatefulMailbox, Stateful, SyncPlan, db::SyncEngineConfig,
};
use commonware_p2p::{Blocker, Provider, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::{Clock, Handle, Metrics, Spawner, Storage, buffer::paged::CacheRef};
use commonware_storage::{archive::prunable, translator::TwoCap};
use commonware_utils::{NZDuration, NZU16, NZU64, NZUsize, ordered::Set};
use rand_core::CryptoRng;
use std::num::{NonZeroU64, NonZeroUsize};
use std::time::Duration;

/// Blocks per epoch: one epoch until validator-set changes exist.
pub const BLOCKS_PER_EPOCH: NonZeroU64 = NZU64!(u64::MAX);
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
    /// Where to send transactions submitted to this node.
    pub submit: futures::channel::mpsc::Sender<crate::gossip::Submission>,
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

/// Sets the reported tip from storage after a restart, before new blocks arrive.
async fn restore_tip<E>(
    shared: &Shared,
    db: &SharedDb<E>,
    marshal: &marshal::core::Mailbox<simplex::scheme::ed25519::Scheme, Standard<ChainBlock>>,
) where
    E: Spawner + Clock + Metrics + Storage + commonware_storage::Context,
{
    let height = {
        let guard = db.read().await;
        let metadata = guard.get_metadata().await.ok().flatten();
        civitas_state::metadata_height(metadata.as_ref()).unwrap_or(0)
    };
    if height == 0 {
        return;
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
        };
    }
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
    let shared = config.shared.clone();
    let genesis = shared.genesis.clone();
    let prefix = config.partition_prefix.clone();
    let public_key = config.signer.public_key().inner().clone();
    let participants: Set<ed25519::PublicKey> =
        Set::from_iter_dedup(genesis.validators().iter().map(|k| k.inner().clone()));
    let scheme = simplex::scheme::ed25519::Scheme::signer(
        &genesis.consensus_namespace(),
        participants.clone(),
        config.signer.inner().clone(),
    )
    .expect("the validator key must be in the genesis validator set");
    let provider = ConstantProvider::<_, Epoch>::new(scheme.clone());
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

    let plan = SyncPlan::init(context.child("sync_plan"), prefix.clone()).await;
    let (marshal_actor, marshal_mailbox, floor) =
        MarshalActor::<_, Standard<ChainBlock>, _, _, _, _, _>::init(
            context.child("marshal"),
            finalizations,
            blocks,
            marshal::Config {
                provider: provider.clone(),
                epocher: FixedEpocher::new(BLOCKS_PER_EPOCH),
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

    let (stateful_actor, stateful_mailbox): (_, StatefulMailbox<E, LedgerApp>) = Stateful::new(
        context.child("stateful"),
        StatefulConfig {
            application: LedgerApp::new(shared.clone()),
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
        FixedEpocher::new(BLOCKS_PER_EPOCH),
    );
    marshal_actor.start(stateful_mailbox.clone(), buffer, backfill);
    stateful_actor.start();
    let db = stateful_mailbox.subscribe_databases().await;
    restore_tip(&shared, &db, &marshal_mailbox).await;

    let submit = crate::gossip::start(
        context.child("gossip"),
        shared.clone(),
        db.clone(),
        channels.txs,
    );

    // The engine runs on the root context, so aborting its handle stops every actor above.
    let engine = simplex::Engine::new(
        context,
        simplex::Config {
            scheme,
            elector: RoundRobin::<Sha256>::default(),
            blocker,
            automaton: deferred.clone(),
            relay: deferred.clone(),
            reporter: deferred,
            strategy: Sequential,
            partition: format!("{prefix}-simplex"),
            mailbox_size: MAILBOX_SIZE,
            epoch: Epoch::zero(),
            floor: simplex::config::Floor::Genesis(genesis_digest),
            replay_buffer: IO_BUFFER,
            write_buffer: IO_BUFFER,
            page_cache,
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
    let engine = engine.start(channels.votes, channels.certificates, channels.resolver);

    Validator {
        marshal: marshal_mailbox,
        db,
        shared,
        submit,
        engine,
    }
}
