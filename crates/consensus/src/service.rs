//! The node's query side: what the API may ask of a running validator.
//!
//! [`NodeHandle`] is a plain message interface (no commonware types), so the HTTP layer and
//! tools read the ledger without knowing about consensus or storage. Every answer comes from
//! finalized data.

use crate::app::{FinalizedBlock, Shared, Tip};
use crate::block::ChainBlock;
use crate::engine::Validator;
use crate::epochs::HandoverStore;
use crate::gossip::{Submission, SubmitError};
use crate::history::HistoryStore;
use crate::receipts::ReceiptStore;
use civitas_core::block::Block;
use civitas_core::bundle::{
    CertSignature, Claim, EarlierTxClaim, Finalization, Handover, ProofBundle, StateClaim,
    StateKey, TxClaim,
};
use civitas_core::governance::ValidatorSet;
use civitas_core::hash::Hash32;
use civitas_core::receipt::Receipt;
use civitas_core::tx::{SignedTx, TxHash};
use civitas_exec::Failure;
use civitas_state::{DbView, SharedDb, StateView, from_digest, proof::Proven};
use commonware_consensus::{
    marshal::{self, standard::Standard},
    simplex,
    types::Height,
};
use commonware_cryptography::sha256;
use commonware_runtime::{Clock, Spawner};
use futures::channel::oneshot;
use tokio::sync::mpsc;

use std::sync::Arc;
use std::time::Duration;

/// Queries waiting to be served; when full, a query is refused as busy at once.
pub const QUERY_QUEUE: usize = 256;
/// Queries served at once (on the query service's own thread).
pub const QUERY_CONCURRENCY: usize = 8;
/// How many times a bundle request waits for a height that has its own certificate.
const BUNDLE_ATTEMPTS: usize = 50;
/// Wait between bundle attempts.
const BUNDLE_RETRY_MS: u64 = 100;
/// How many finalized blocks a lag-dependent refusal waits for before it stands.
const LAG_RECHECKS: usize = 3;
/// Longest wait for each of those blocks, in milliseconds.
const LAG_WAIT_MS: u64 = 1_500;

/// Where a transaction stands.
#[derive(Clone, Debug)]
pub enum TxStatus {
    /// In this node's mempool.
    Pending,
    /// Included in a finalized block (successfully or not: see the receipt).
    Finalized(Receipt),
    /// Dropped without being included, with the reason.
    Rejected {
        /// Stable code.
        code: String,
        /// Explanation.
        message: String,
    },
    /// Never seen by this node (or long forgotten).
    Unknown,
}

/// A finalized block and its certificate.
#[derive(Clone, Debug)]
pub struct BlockInfo {
    /// The block.
    pub block: Arc<Block>,
    /// Its digest.
    pub digest: Hash32,
    /// Its own finalization certificate, when it has one (a block can also be final because a
    /// descendant was finalized).
    pub finalization: Option<Finalization>,
}

pub use civitas_kit::ledger::QueryError;

enum Request {
    NetworkTip(oneshot::Sender<u64>),
    TxStatus(TxHash, oneshot::Sender<TxStatus>),
    Block(Option<u64>, oneshot::Sender<Option<BlockInfo>>),
    Finalized(
        u64,
        oneshot::Sender<Result<Option<FinalizedBlock>, QueryError>>,
    ),
    State(StateKey, oneshot::Sender<Result<Proven, QueryError>>),
    Bundle(StateKey, oneshot::Sender<Result<ProofBundle, QueryError>>),
    TxBundle(
        TxHash,
        Option<u64>,
        oneshot::Sender<Result<ProofBundle, QueryError>>,
    ),
    AuthorizeRead(
        ReadQuestion,
        oneshot::Sender<Result<Result<(), Failure>, QueryError>>,
    ),
}

/// A read of a non-public record to authorize.
pub struct ReadQuestion {
    /// The account asking.
    pub account: civitas_core::crypto::AccountId,
    /// The keys whose signatures on the request verified.
    pub signing_keys: Vec<civitas_core::crypto::PublicKey>,
    /// The read action, such as `ledger.read_pending`.
    pub action: &'static str,
    /// The record asked for.
    pub resource: ReadResource,
}

/// The record a read asks for.
pub enum ReadResource {
    /// An account (its pending transactions, ...).
    Account(civitas_core::crypto::AccountId),
}

/// The other validators of a node's epoch, by whether it is connected to them.
#[derive(Default, Debug)]
pub struct Peers {
    /// Those with a p2p connection now.
    pub connected: Vec<civitas_core::governance::ValidatorEntry>,
    /// Those without.
    pub missing: Vec<civitas_core::governance::ValidatorEntry>,
}

/// The p2p layer's gauge with one series per connected peer (commonware's lookup tracker).
const CONNECTED_METRIC: &str = "p2p_tracker_directory_connected{peer=\"";

/// The keys (hex) of the peers the p2p layer reports connected in `metrics`, the runtime's
/// Prometheus text.
fn connected_peers(metrics: &str) -> std::collections::BTreeSet<String> {
    metrics
        .lines()
        .filter_map(|line| line.strip_prefix(CONNECTED_METRIC))
        .filter_map(|rest| {
            rest.split_once('"')
                .map(|(key, _)| key.to_ascii_lowercase())
        })
        .collect()
}

/// Renders the runtime's metrics (consensus, p2p, storage) in the Prometheus text format.
type MetricsEncoder = Arc<dyn Fn() -> String + Send + Sync>;

/// A cheap, cloneable handle to a running node.
#[derive(Clone)]
pub struct NodeHandle {
    requests: mpsc::Sender<Request>,
    submit: mpsc::Sender<Submission>,
    shared: Shared,
    runtime_metrics: MetricsEncoder,
    /// The connected peers' keys and when they were read, so that frequent readiness probes do
    /// not each render every runtime metric.
    connected: Arc<std::sync::Mutex<Option<(std::time::Instant, ConnectedKeys)>>>,
}

/// Hex keys of connected peers.
type ConnectedKeys = Arc<std::collections::BTreeSet<String>>;

/// How long a reading of the connected peers is reused.
const CONNECTED_FRESH: std::time::Duration = std::time::Duration::from_secs(1);

/// The node's answers, as a module's routes read them.
impl civitas_kit::ledger::Read for NodeHandle {
    fn state(&self, key: StateKey) -> civitas_kit::ledger::Answer<'_, Proven> {
        Box::pin(NodeHandle::state(self, key))
    }

    fn bundle(&self, key: StateKey) -> civitas_kit::ledger::Answer<'_, ProofBundle> {
        Box::pin(NodeHandle::bundle(self, key))
    }

    fn genesis(&self) -> &civitas_core::genesis::Genesis {
        NodeHandle::genesis(self)
    }

    fn height(&self) -> u64 {
        self.tip().height
    }

    fn time(&self) -> civitas_core::time::TimestampMs {
        self.tip().timestamp
    }

    fn epoch(&self) -> (u64, ValidatorSet) {
        NodeHandle::epoch(self)
    }
}

impl NodeHandle {
    /// Submits a transaction; returns its hash once admitted to the mempool.
    ///
    /// A refusal that may only mean this node lags a block behind the one that finalized the
    /// signer's registration or key change is checked again after each of the next few
    /// finalized blocks before it is returned.
    pub async fn submit(&self, tx: SignedTx) -> Result<TxHash, SubmitError> {
        let mut finalized = self.shared.finalized.subscribe();
        let mut result = self.submit_once(tx.clone()).await;
        for _ in 0..LAG_RECHECKS {
            let lagging = matches!(
                &result,
                Err(SubmitError::Refused { code, .. })
                    if matches!(*code, "unknown_account" | "wrong_key")
            );
            if !lagging {
                break;
            }
            let next = tokio::time::timeout(Duration::from_millis(LAG_WAIT_MS), finalized.recv());
            if !matches!(next.await, Ok(Ok(_))) {
                break;
            }
            result = self.submit_once(tx.clone()).await;
        }
        result
    }

    async fn submit_once(&self, tx: SignedTx) -> Result<TxHash, SubmitError> {
        let (respond, verdict) = oneshot::channel();
        self.submit
            .send((tx, respond))
            .await
            .map_err(|_| SubmitError::Unavailable)?;
        verdict.await.map_err(|_| SubmitError::Unavailable)?
    }

    /// Sends a query to the node: refused at once as [`QueryError::Busy`] when the queue is
    /// full, so a flood of queries waits in no unbounded place.
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Request,
    ) -> Result<T, QueryError> {
        let (respond, answer) = oneshot::channel();
        let stopping = || QueryError::Unavailable("node is shutting down".into());
        match self.requests.try_send(make(respond)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => return Err(QueryError::Busy),
            Err(mpsc::error::TrySendError::Closed(_)) => return Err(stopping()),
        }
        answer.await.map_err(|_| stopping())
    }

    /// Where a transaction stands.
    pub async fn tx_status(&self, hash: TxHash) -> Result<TxStatus, QueryError> {
        self.ask(|r| Request::TxStatus(hash, r)).await
    }

    /// A finalized block by height, or the latest when `None`.
    pub async fn block(&self, height: Option<u64>) -> Result<Option<BlockInfo>, QueryError> {
        self.ask(|r| Request::Block(height, r)).await
    }

    /// A finalized block at `height` with its receipts (what the read model projects), if it
    /// is applied.
    pub async fn finalized(&self, height: u64) -> Result<Option<FinalizedBlock>, QueryError> {
        self.ask(|r| Request::Finalized(height, r)).await?
    }

    /// A state value (or its absence) with a proof, at the latest applied height.
    pub async fn state(&self, key: StateKey) -> Result<Proven, QueryError> {
        self.ask(|r| Request::State(key, r)).await?
    }

    /// A proof bundle for a state key's value (or absence) at the latest certified height.
    pub async fn bundle(&self, key: StateKey) -> Result<ProofBundle, QueryError> {
        self.ask(|r| Request::Bundle(key, r)).await?
    }

    /// A proof bundle for a finalized transaction and its receipt, anchored at the block that
    /// included it (or, if that block has no certificate of its own, at the next that has).
    pub async fn tx_bundle(&self, tx: TxHash) -> Result<ProofBundle, QueryError> {
        self.tx_bundle_through(tx, None).await
    }

    /// A proof bundle for a finalized transaction anchored at the first certified block at or
    /// after height `through` (the block is proven through that block's history), so that
    /// many bundles can share one recent anchor; `None` anchors it as [`Self::tx_bundle`] does.
    pub async fn tx_bundle_through(
        &self,
        tx: TxHash,
        through: Option<u64>,
    ) -> Result<ProofBundle, QueryError> {
        self.ask(|r| Request::TxBundle(tx, through, r)).await?
    }

    /// Asks the policies in force whether a signed read may see a non-public record.
    ///
    /// `Ok(Err(failure))` carries the denial (or why the reader is not accepted).
    pub async fn authorize_read(
        &self,
        question: ReadQuestion,
    ) -> Result<Result<(), Failure>, QueryError> {
        self.ask(|r| Request::AuthorizeRead(question, r)).await?
    }

    /// The transactions of `account` waiting in this node's mempool, in nonce order.
    pub fn pending_of(&self, account: &civitas_core::crypto::AccountId) -> Vec<Arc<SignedTx>> {
        self.shared.mempool.pending_of(account)
    }

    /// The highest finalized height this node knows the network has reached (it may not have
    /// fetched or applied those blocks yet).
    pub async fn network_tip(&self) -> u64 {
        let applied = self.shared.tip().height;
        self.ask(Request::NetworkTip)
            .await
            .unwrap_or(applied)
            .max(applied)
    }

    /// The applied tip.
    pub fn tip(&self) -> Tip {
        self.shared.tip()
    }

    /// Why the node stopped following the chain (its release does not know the protocol
    /// version of the next block), if it has.
    pub fn halted(&self) -> Option<String> {
        self.shared.halted()
    }

    /// Waits until the node stops following the chain; returns why.
    pub fn until_halted(&self) -> impl std::future::Future<Output = String> + Send + 'static {
        self.shared.until_halted()
    }

    /// The protocol versions this release knows.
    pub fn protocols(&self) -> civitas_core::protocol::Protocols {
        self.shared.protocols
    }

    /// The account's next nonce counting its pending transactions in this node's mempool.
    pub fn pending_next_nonce(
        &self,
        account: &civitas_core::crypto::AccountId,
        finalized: u64,
    ) -> u64 {
        self.shared.mempool.next_nonce(account, finalized)
    }

    /// Transactions waiting in the mempool.
    pub fn mempool_len(&self) -> usize {
        self.shared.mempool.len()
    }

    /// The consensus epoch this node runs, and that epoch's validators.
    pub fn epoch(&self) -> (u64, ValidatorSet) {
        let epoch = self.shared.metrics.epoch();
        (epoch, self.shared.epochs.get(epoch).unwrap_or_default())
    }

    /// The genesis document.
    pub fn genesis(&self) -> &civitas_core::genesis::Genesis {
        &self.shared.genesis
    }

    /// Every metric of the node in the Prometheus text format: the ledger's own
    /// (`civitas_*`) followed by those of consensus, p2p and storage.
    pub fn metrics(&self) -> String {
        let tip = self.shared.tip();
        let mut text = self
            .shared
            .metrics
            .render(tip.height, self.shared.mempool.len());
        text.push_str(&(self.runtime_metrics)());
        text
    }

    /// The other validators of this node's epoch, split by whether the p2p layer is connected to
    /// them now.
    pub fn peers(&self) -> Peers {
        let (_, set) = self.epoch();
        let connected = {
            let mut cached = self.connected.lock().unwrap_or_else(|p| p.into_inner());
            match cached.as_ref() {
                Some((at, keys)) if at.elapsed() < CONNECTED_FRESH => keys.clone(),
                _ => {
                    let keys = Arc::new(connected_peers(&(self.runtime_metrics)()));
                    *cached = Some((std::time::Instant::now(), keys.clone()));
                    keys
                }
            }
        };
        let mut peers = Peers::default();
        for validator in set.validators {
            if Some(&validator.key) == self.shared.own_key.as_ref() {
                continue;
            }
            if connected.contains(&validator.key.to_hex()) {
                peers.connected.push(validator);
            } else {
                peers.missing.push(validator);
            }
        }
        peers
    }

    /// A feed of finalized blocks with their receipts.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<FinalizedBlock>> {
        self.shared.finalized.subscribe()
    }
}

type Marshal = marshal::core::Mailbox<simplex::scheme::ed25519::Scheme, Standard<ChainBlock>>;

/// Converts a commonware finalization into the bundle layout.
fn convert_finalization(
    finalization: &simplex::types::Finalization<simplex::scheme::ed25519::Scheme, sha256::Digest>,
) -> Finalization {
    let proposal = &finalization.proposal;
    let certificate = &finalization.certificate;
    let signatures = certificate
        .signers
        .iter()
        .zip(certificate.signatures.iter())
        .filter_map(|(signer, signature)| {
            let signature = signature.get()?;
            let bytes = commonware_codec::Encode::encode(signature);
            Some(CertSignature {
                signer: signer.get(),
                signature: civitas_core::crypto::Signature::from_bytes(&bytes).ok()?,
            })
        })
        .collect();
    Finalization {
        epoch: proposal.round.epoch().get(),
        view: proposal.round.view().get(),
        parent_view: proposal.parent.get(),
        block: from_digest(&proposal.payload),
        signatures,
    }
}

async fn block_info(marshal: &Marshal, height: u64) -> Option<BlockInfo> {
    let block = marshal.get_block(Height::new(height)).await?;
    let finalization = marshal
        .get_finalization(Height::new(height))
        .await
        .map(|f| convert_finalization(&f));
    let inner = block.inner().0.clone();
    Some(BlockInfo {
        digest: inner.digest(),
        block: inner,
        finalization,
    })
}

/// The block at `height` with its receipts, once it is applied (receipts are stored before
/// a block's state, so an applied block has all of them).
async fn finalized<E>(
    shared: &Shared,
    marshal: &Marshal,
    receipts: &ReceiptStore<E>,
    height: u64,
) -> Result<Option<FinalizedBlock>, QueryError>
where
    E: commonware_storage::Context,
{
    if height == 0 || height > shared.tip().height {
        return Ok(None);
    }
    let Some(info) = block_info(marshal, height).await else {
        return Ok(None);
    };
    let mut found = Vec::with_capacity(info.block.txs.len());
    for tx in &info.block.txs {
        let hash = tx.hash();
        match receipts.get(&hash).await {
            Ok(Some(receipt)) => found.push(receipt),
            Ok(None) => {
                return Err(QueryError::Internal(format!(
                    "the receipt of transaction {hash} in applied block {height} is missing"
                )));
            }
            Err(e) => return Err(QueryError::Internal(e.to_string())),
        }
    }
    let end = receipts
        .get(&civitas_core::receipt::block_end_id(height))
        .await
        .map_err(|e| QueryError::Internal(e.to_string()))?;
    Ok(Some(FinalizedBlock {
        block: info.block,
        digest: info.digest,
        receipts: found,
        end,
    }))
}

async fn tx_status<E>(shared: &Shared, receipts: &ReceiptStore<E>, hash: TxHash) -> TxStatus
where
    E: commonware_storage::Context,
{
    match receipts.get(&hash).await {
        Ok(Some(receipt)) => return TxStatus::Finalized(receipt),
        Ok(None) => {}
        // A failing store fails the node at its next block; until then, say what is known.
        Err(e) => tracing::warn!(%e, "reading a receipt failed"),
    }
    if shared.mempool.contains(&hash) {
        return TxStatus::Pending;
    }
    match shared.mempool.rejection(&hash) {
        Some((code, message)) => TxStatus::Rejected { code, message },
        None => TxStatus::Unknown,
    }
}

async fn prove<E>(db: &SharedDb<E>, key: &StateKey) -> Result<Proven, QueryError>
where
    E: commonware_storage::Context + Spawner + Clock + commonware_runtime::Metrics,
{
    let guard = db.read().await;
    civitas_state::proof::prove(&guard, key)
        .await
        .map_err(|e| QueryError::Internal(e.to_string()))
}

async fn authorize_read<E>(
    shared: &Shared,
    db: &SharedDb<E>,
    question: ReadQuestion,
) -> Result<Result<(), Failure>, QueryError>
where
    E: commonware_storage::Context + Spawner + Clock + commonware_runtime::Metrics,
{
    use civitas_modules::authz::{self, Reader, Resource};
    let view = DbView(db.clone());
    let mut state = civitas_exec::Overlay::new(&view);
    let internal = |e: civitas_exec::BlockError| QueryError::Internal(e.to_string());
    let resource = match &question.resource {
        ReadResource::Account(id) => {
            match civitas_modules::identity::state::load_account(&mut state, id)
                .await
                .map_err(|e| QueryError::Internal(e.to_string()))?
            {
                Some(account) => Resource::Account(account),
                None => {
                    return Ok(Err(civitas_exec::failure!("unknown_account", account = id)));
                }
            }
        }
    };
    let tip = shared.tip();
    let env = civitas_exec::BlockEnv {
        height: tip.height,
        timestamp: tip.timestamp,
        parent: tip.digest,
        genesis: shared.genesis.clone(),
        protocol: shared
            .protocols
            .get(tip.next_protocol)
            .or(shared.protocols.0.first())
            .copied()
            .unwrap_or(civitas_core::protocol::PROTOCOLS.0[0]),
    };
    let keys: Vec<&civitas_core::crypto::PublicKey> = question.signing_keys.iter().collect();
    let reader = Reader {
        account: &question.account,
        signing_keys: &keys,
    };
    authz::authorize_read(&mut state, &env, &reader, question.action, resource)
        .await
        .map_err(internal)
}

async fn bundle<E>(
    context: &E,
    shared: &Shared,
    db: &SharedDb<E>,
    handover_store: &HandoverStore<E>,
    marshal: &Marshal,
    key: StateKey,
) -> Result<ProofBundle, QueryError>
where
    E: commonware_storage::Context + Spawner + Clock + commonware_runtime::Metrics,
{
    for _ in 0..BUNDLE_ATTEMPTS {
        let proven = prove(db, &key).await?;
        if proven.height == 0 {
            return Err(QueryError::Unavailable(
                "no block has been finalized yet; try again in a moment".into(),
            ));
        }
        if let Some(info) = block_info(marshal, proven.height).await
            && let Some(finalization) = info.finalization
        {
            if info.block.header.state_root != proven.root {
                return Err(QueryError::Internal(format!(
                    "state root at height {} does not match its header",
                    proven.height
                )));
            }
            let genesis = &shared.genesis;
            let (handovers, validators) =
                handover_chain(shared, db, handover_store, marshal, info.block.header.epoch)
                    .await?;
            return Ok(ProofBundle {
                genesis: genesis.hash(),
                handovers,
                validators,
                header: info.block.header.clone(),
                finalization,
                claim: Claim::State(StateClaim {
                    key,
                    value: proven.value,
                    proof: proven.proof,
                }),
            });
        }
        context.sleep(Duration::from_millis(BUNDLE_RETRY_MS)).await;
    }
    Err(QueryError::Unavailable(
        "no certified block is available yet; try again in a moment".into(),
    ))
}

/// The validator-set changes from genesis to `epoch`, and `epoch`'s validators.
async fn handover_chain<E>(
    shared: &Shared,
    db: &SharedDb<E>,
    store: &HandoverStore<E>,
    marshal: &Marshal,
    epoch: u64,
) -> Result<(Vec<Handover>, Vec<civitas_core::crypto::PublicKey>), QueryError>
where
    E: commonware_storage::Context + Spawner + Clock + commonware_runtime::Metrics,
{
    let view = DbView(db.clone());
    let read = |key: StateKey| {
        let view = &view;
        async move {
            view.get(&key.hashed())
                .await
                .map_err(|e| QueryError::Internal(e.to_string()))
                .map(|value| value.map(|bytes| (key, bytes)))
        }
    };
    let epochs = match read(civitas_modules::governance::state::handovers_key()).await? {
        Some((key, bytes)) => {
            civitas_exec::decode_value::<civitas_modules::governance::state::Epochs>(&key, &bytes)
                .map_err(|e| QueryError::Internal(e.to_string()))?
                .0
        }
        None => Vec::new(),
    };
    let genesis = &shared.genesis;
    let mut chain = Vec::new();
    for next_epoch in epochs.into_iter().filter(|e| *e <= epoch) {
        let Some((key, bytes)) =
            read(civitas_modules::governance::state::epoch_key(next_epoch)).await?
        else {
            return Err(QueryError::Internal(format!(
                "the validator set of epoch {next_epoch} is not recorded"
            )));
        };
        let next = civitas_exec::decode_value::<ValidatorSet>(&key, &bytes)
            .map_err(|e| QueryError::Internal(e.to_string()))?;
        let proof = store.get(next_epoch).await.ok_or_else(|| {
            QueryError::Unavailable(format!(
                "this node does not hold the proof of the hand-over to epoch {next_epoch}; ask a node that applied that block"
            ))
        })?;
        let height = genesis.last_height_of(next_epoch - 1);
        let info = block_info(marshal, height).await.ok_or_else(|| {
            QueryError::Unavailable(format!("boundary block {height} is not available"))
        })?;
        let finalization = info.finalization.ok_or_else(|| {
            QueryError::Unavailable(format!("boundary block {height} has no certificate here"))
        })?;
        chain.push(Handover {
            header: info.block.header.clone(),
            finalization,
            next,
            proof,
        });
    }
    let validators = match chain.last() {
        Some(last) => last.next.keys(),
        None => genesis.validators(),
    };
    Ok((chain, validators))
}

/// How many blocks after a block without a certificate of its own are searched for one with a
/// certificate to prove it through.
const CERTIFIED_SEARCH_MAX: u64 = 1_024;

/// The stores a transaction bundle is built from.
struct BundleSources<'a, E>
where
    E: commonware_storage::Context + Spawner + Clock + commonware_runtime::Metrics,
{
    shared: &'a Shared,
    db: &'a SharedDb<E>,
    handovers: &'a HandoverStore<E>,
    receipts: &'a ReceiptStore<E>,
    history: &'a HistoryStore<E>,
    marshal: &'a Marshal,
}

/// A bundle proving that transaction `hash`, with its signatures, is in the block that
/// included it, with its receipt: the block's header and two Merkle paths (to `tx_root` and to
/// `receipts_root`), anchored at the block's own certificate, or, for a block made final by a
/// descendant's certificate, at the next block that has one, through its history root.
async fn tx_bundle<E>(
    sources: &BundleSources<'_, E>,
    hash: TxHash,
    through: Option<u64>,
) -> Result<ProofBundle, QueryError>
where
    E: commonware_storage::Context + Spawner + Clock + commonware_runtime::Metrics,
{
    let internal = |e: &dyn std::fmt::Display| QueryError::Internal(e.to_string());
    let receipt = sources
        .receipts
        .get(&hash)
        .await
        .map_err(|e| internal(&e))?
        .ok_or_else(|| {
            QueryError::NotFound(format!("transaction {hash} is not in a finalized block"))
        })?;
    if receipt.is_block_end() {
        return Err(QueryError::NotFound(format!(
            "{hash} is the end receipt of block {}, which no transaction caused and no bundle \
             proves: the records it changed have their own proofs (/v1/proofs/state/...)",
            receipt.height
        )));
    }
    let info = block_info(sources.marshal, receipt.height)
        .await
        .ok_or_else(|| {
            QueryError::NotFound(format!("block {} is not available", receipt.height))
        })?;
    let block = &info.block;
    let index = receipt.index as usize;
    let tx = block
        .txs
        .get(index)
        .filter(|tx| tx.hash() == hash)
        .cloned()
        .ok_or_else(|| QueryError::Internal("receipt does not match its block".into()))?;
    let signed: Vec<Hash32> = block.txs.iter().map(SignedTx::signed_hash).collect();
    let mut receipt_hashes = Vec::with_capacity(block.txs.len());
    for other in &block.txs {
        let other_hash = other.hash();
        let other = if other_hash == hash {
            receipt.clone()
        } else {
            sources
                .receipts
                .get(&other_hash)
                .await
                .map_err(|e| internal(&e))?
                .ok_or_else(|| {
                    QueryError::Internal(format!(
                        "the receipt of transaction {other_hash} is missing"
                    ))
                })?
        };
        receipt_hashes.push(other.hash());
    }
    let (Some(tx_path), Some(receipt_path)) = (
        civitas_core::merkle::prove(&signed, index),
        civitas_core::merkle::prove(&receipt_hashes, index),
    ) else {
        return Err(QueryError::Internal(
            "receipt index outside its block".into(),
        ));
    };
    let claim = TxClaim {
        tx,
        receipt,
        tx_path,
        receipt_path,
    };
    let own = info
        .finalization
        .filter(|_| through.is_none_or(|t| t <= block.header.height));
    let (header, finalization, claim) = match own {
        Some(finalization) => (
            block.header.clone(),
            finalization,
            Claim::Transaction(Box::new(claim)),
        ),
        None => {
            let after = through.map_or(block.header.height, |t| t.saturating_sub(1));
            let (anchor, finalization) =
                later_certified(sources, after.max(block.header.height)).await?;
            let proof = sources
                .history
                .prove(block.header.height, anchor.height)
                .await
                .map_err(|e| internal(&e))?;
            let claim = EarlierTxClaim {
                header: block.header.clone(),
                history_path: proof.path,
                history_peaks: proof.peaks,
                claim,
            };
            (
                anchor,
                finalization,
                Claim::EarlierTransaction(Box::new(claim)),
            )
        }
    };
    let (handovers, validators) = handover_chain(
        sources.shared,
        sources.db,
        sources.handovers,
        sources.marshal,
        header.epoch,
    )
    .await?;
    Ok(ProofBundle {
        genesis: sources.shared.genesis.hash(),
        handovers,
        validators,
        header,
        finalization,
        claim,
    })
}

/// The first applied block after `height` that has its own finalization certificate.
async fn later_certified<E>(
    sources: &BundleSources<'_, E>,
    height: u64,
) -> Result<(civitas_core::block::Header, Finalization), QueryError>
where
    E: commonware_storage::Context + Spawner + Clock + commonware_runtime::Metrics,
{
    let applied = sources.shared.tip().height;
    let last = applied.min(height.saturating_add(CERTIFIED_SEARCH_MAX));
    for later in height + 1..=last {
        // Only the certificate is looked up while searching; one block is loaded at the end.
        let Some(finalization) = sources.marshal.get_finalization(Height::new(later)).await else {
            continue;
        };
        let block = sources
            .marshal
            .get_block(Height::new(later))
            .await
            .ok_or_else(|| QueryError::Unavailable(format!("block {later} is not available")))?;
        return Ok((
            block.inner().header().clone(),
            convert_finalization(&finalization),
        ));
    }
    Err(QueryError::Unavailable(format!(
        "block {height} has no finalization certificate of its own and no later block with one \
         is applied on this node yet; try again shortly or ask another node"
    )))
}

/// What the query service reads from.
struct Services<E>
where
    E: commonware_storage::Context + Spawner + Clock + commonware_runtime::Metrics,
{
    shared: Shared,
    db: SharedDb<E>,
    marshal: Marshal,
    handovers: HandoverStore<E>,
    receipts: ReceiptStore<E>,
    history: HistoryStore<E>,
}

impl<E> Services<E>
where
    E: commonware_storage::Context + Spawner + Clock + commonware_runtime::Metrics,
{
    /// Answers one query.
    async fn answer(&self, context: &E, request: Request) {
        let Self {
            shared,
            db,
            marshal,
            handovers,
            receipts,
            history,
        } = self;
        match request {
            Request::NetworkTip(respond) => {
                let latest = marshal
                    .get_info(commonware_consensus::marshal::Identifier::Latest)
                    .await
                    .map(|(height, _)| height.get())
                    .unwrap_or(0);
                // Enough peers voting in a later epoch are past its first block.
                let ours = shared.metrics.epoch();
                let epoch = shared
                    .epochs
                    .get(ours)
                    .map_or(0, |set| shared.peer_epochs.network_epoch(&set));
                let seen = if epoch == 0 {
                    0
                } else {
                    shared.genesis.last_height_of(epoch - 1) + 1
                };
                let _ = respond.send(latest.max(seen));
            }
            Request::TxStatus(hash, respond) => {
                let _ = respond.send(tx_status(shared, receipts, hash).await);
            }
            Request::Block(height, respond) => {
                let height = height.unwrap_or_else(|| shared.tip().height);
                let _ = respond.send(block_info(marshal, height).await);
            }
            Request::Finalized(height, respond) => {
                let _ = respond.send(finalized(shared, marshal, receipts, height).await);
            }
            Request::State(key, respond) => {
                let _ = respond.send(prove(db, &key).await);
            }
            Request::AuthorizeRead(question, respond) => {
                let _ = respond.send(authorize_read(shared, db, question).await);
            }
            Request::Bundle(key, respond) => {
                let result = bundle(context, shared, db, handovers, marshal, key).await;
                let _ = respond.send(result);
            }
            Request::TxBundle(hash, through, respond) => {
                let sources = BundleSources {
                    shared,
                    db,
                    handovers,
                    receipts,
                    history,
                    marshal,
                };
                let _ = respond.send(tx_bundle(&sources, hash, through).await);
            }
        }
    }
}

/// What the query service needs of a runtime context.
pub trait QueryContext:
    commonware_storage::Context
    + Spawner
    + Clock
    + commonware_runtime::Metrics
    + commonware_runtime::Storage
{
}

impl<E> QueryContext for E where
    E: commonware_storage::Context
        + Spawner
        + Clock
        + commonware_runtime::Metrics
        + commonware_runtime::Storage
{
}

/// Starts the query service for `validator`; returns the handle.
pub fn start<E: QueryContext>(context: E, validator: &Validator<E>) -> NodeHandle {
    start_with(context, validator, || {})
}

/// Starts the query service for `validator` on a thread of its own, which first runs
/// `on_thread` (a node lowers that thread's priority there); returns the handle.
///
/// Every query is polled on that one thread, never on the consensus runtime's workers: proving
/// a value, reading blocks for the explorer or assembling a bundle is CPU work, and a flood of
/// queries must not take it from votes and blocks. Storage and marshal still answer on the
/// runtime, as they do for consensus.
pub fn start_with<E: QueryContext>(
    context: E,
    validator: &Validator<E>,
    on_thread: fn(),
) -> NodeHandle {
    use futures::StreamExt as _;
    let (requests, mut receiver) = mpsc::channel::<Request>(QUERY_QUEUE);
    let encoder = context.child("metrics");
    let runtime_metrics: MetricsEncoder = Arc::new(move || encoder.encode());
    let shared = validator.shared.clone();
    let services = Services {
        shared: shared.clone(),
        db: validator.db.clone(),
        marshal: validator.marshal.clone(),
        handovers: validator.handovers.clone(),
        receipts: validator.receipts.clone(),
        history: validator.history.clone(),
    };
    context
        .child("queries")
        .dedicated()
        .spawn(move |context| async move {
            on_thread();
            let services = services;
            let mut running = futures::stream::FuturesUnordered::new();
            loop {
                // At most QUERY_CONCURRENCY queries run at once; the rest wait in the bounded
                // queue, and beyond it are refused as busy.
                if running.len() >= QUERY_CONCURRENCY {
                    running.next().await;
                    continue;
                }
                // Biased, so that the order is the same on every run (the simulation replays
                // it from a seed): running queries progress first, then a new one is taken.
                tokio::select! {
                    biased;
                    Some(()) = running.next(), if !running.is_empty() => {}
                    request = receiver.recv() => match request {
                        Some(request) => running.push(services.answer(&context, request)),
                        None => break,
                    },
                }
            }
            while running.next().await.is_some() {}
        });
    NodeHandle {
        requests,
        submit: validator.submit.clone(),
        shared,
        runtime_metrics,
        connected: Arc::default(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn connected_peers_are_read_from_the_p2p_gauge() {
        let text = "# HELP p2p_tracker_directory_connected Unix timestamp\n\
                    p2p_tracker_directory_connected{peer=\"ab01\"} 1796309892896\n\
                    p2p_tracker_directory_reserved 2\n\
                    p2p_tracker_directory_connected{peer=\"CD02\"} 1796309893950\n";
        let connected = super::connected_peers(text);
        assert_eq!(
            connected.into_iter().collect::<Vec<_>>(),
            vec!["ab01".to_string(), "cd02".to_string()]
        );
    }

    use super::*;

    #[test]
    fn a_full_query_queue_answers_busy_at_once() {
        let (requests, _receiver) = mpsc::channel::<Request>(1);
        let (submit, _submissions) = mpsc::channel(1);
        let genesis = Arc::new(civitas_core::genesis::Genesis {
            version: civitas_core::genesis::GENESIS_VERSION,
            chain_id: "t".into(),
            genesis_time: civitas_core::time::TimestampMs(0),
            agencies: vec![],
            epoch_length: 10,
            governance_threshold: 1,
            authorization: civitas_core::genesis::GenesisAuthorization {
                schema: String::new(),
                policies: String::new(),
            },
            protocol: 1,
        });
        let handle = NodeHandle {
            requests,
            submit,
            shared: Shared::new(genesis),
            runtime_metrics: Arc::new(String::new),
            connected: Arc::default(),
        };
        // Nothing serves the queue: the first query takes its one place and waits; the next
        // is refused at once rather than waiting for a place.
        let (respond, _never) = oneshot::channel();
        handle
            .requests
            .try_send(Request::NetworkTip(respond))
            .unwrap();
        let answer = futures::executor::block_on(handle.tx_status(Hash32::ZERO));
        assert!(matches!(answer, Err(QueryError::Busy)));
        let answer = futures::executor::block_on(handle.block(Some(1)));
        assert!(matches!(answer, Err(QueryError::Busy)));
    }
}
