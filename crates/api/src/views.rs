//! JSON views of ledger objects: each a type, so that the OpenAPI document describes exactly
//! what the handlers write.

use axum::response::sse::Event as SseEvent;
use civitas_consensus::app::FinalizedBlock;
use civitas_consensus::service::BlockInfo;
use civitas_core::block::Header;
use civitas_core::crypto::{AccountId, PublicKey, Signature};
use civitas_core::governance::ValidatorEntry;
use civitas_core::hash::Hash32;
use civitas_core::receipt::Receipt;
use civitas_core::time::TimestampMs;
use civitas_core::tx::{TxBody, TxSignature};
use serde::Serialize;
use serde_json::json;
use std::convert::Infallible;

/// A finalized block with its transactions and certificate.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Block)]
pub struct BlockView {
    /// Its height.
    pub height: u64,
    /// Its digest (the hash of its header).
    pub digest: Hash32,
    /// Its header.
    pub header: Header,
    /// Its transactions, in order.
    pub transactions: Vec<BlockTransaction>,
    /// Its own finalization certificate; absent when the block is final because a descendant
    /// was finalized.
    pub finalization: Option<FinalizationView>,
    /// What the ledger did on its own at the end of the block (deadlines that passed, and
    /// what they caused), if anything: its end receipt, which no one signed; every validator
    /// computes it, and the records it changed are in the state the header proves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<civitas_core::receipt::Receipt>,
}

/// One transaction of a block.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BlockTransaction {
    /// Its hash.
    pub hash: Hash32,
    /// What the signer asked for.
    pub body: TxBody,
    /// Its signatures.
    pub signatures: Vec<TxSignature>,
}

/// A finalization certificate: a quorum of the epoch's validators signed the block.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Finalization)]
pub struct FinalizationView {
    /// Consensus epoch.
    pub epoch: u64,
    /// Consensus view.
    pub view: u64,
    /// View of the parent proposal.
    pub parent_view: u64,
    /// The finalized block's digest.
    pub block: Hash32,
    /// Positions of the signers in the epoch's validator set (ascending key order).
    pub signers: Vec<u32>,
    /// Their signatures over the finalize message, in the same order.
    pub signatures: Vec<Signature>,
}

/// A block with its transactions and certificate.
pub fn block(info: &BlockInfo, end: Option<civitas_core::receipt::Receipt>) -> BlockView {
    BlockView {
        end,
        height: info.block.header.height,
        digest: info.digest,
        header: info.block.header.clone(),
        transactions: info
            .block
            .txs
            .iter()
            .map(|tx| BlockTransaction {
                hash: tx.hash(),
                body: tx.body.clone(),
                signatures: tx.signatures.clone(),
            })
            .collect(),
        finalization: info.finalization.as_ref().map(|f| FinalizationView {
            epoch: f.epoch,
            view: f.view,
            parent_view: f.parent_view,
            block: f.block,
            signers: f.signatures.iter().map(|s| s.signer).collect(),
            signatures: f.signatures.iter().map(|s| s.signature.clone()).collect(),
        }),
    }
}

pub use civitas_kit::http::StateValue;

/// What became of a transaction, as this node knows it.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = TxStatus)]
pub struct TransactionStatus {
    /// Its hash.
    pub hash: Hash32,
    /// `pending` (waiting for a block, or in a block this node has not applied yet),
    /// `finalized`, `failed` (included, with the receipt saying why) or `rejected` (dropped,
    /// with code and message).
    pub status: TxState,
    /// The height of the block that included it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
    /// Its receipt, once included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
    /// Why it was dropped (`rejected`): a stable code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Why it was dropped, for a person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Where a transaction stands.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TxState {
    /// Waiting for a block.
    Pending,
    /// Included and applied.
    Finalized,
    /// Included, and failed: its nonce is consumed, nothing else changed.
    Failed,
    /// Dropped without being included.
    Rejected,
}

impl TransactionStatus {
    /// A transaction in `status` with nothing more to say.
    pub fn new(hash: Hash32, status: TxState) -> Self {
        Self {
            hash,
            status,
            height: None,
            receipt: None,
            code: None,
            message: None,
        }
    }
}

/// The node and the chain it follows.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Status {
    /// The chain's id, from its genesis.
    pub chain_id: String,
    /// The hash of the genesis document.
    pub genesis_hash: Hash32,
    /// The height of the latest block this node has finalized and applied.
    pub height: u64,
    /// The highest finalized height this node knows the network reached.
    pub network_height: u64,
    /// Whether this node is far behind the network (reads may be stale).
    pub catching_up: bool,
    /// The digest of the block at `height`.
    pub block: Hash32,
    /// The state root after that block.
    pub state_root: Hash32,
    /// That block's timestamp.
    pub timestamp: TimestampMs,
    /// Transactions waiting in this node's mempool.
    pub mempool: u64,
    /// The current consensus epoch.
    pub epoch: u64,
    /// The last height of the current epoch.
    pub epoch_ends_at: u64,
    /// The validators of the current epoch.
    pub validators: Vec<PublicKey>,
    /// The other validators of the epoch, by whether this node is connected to them.
    pub peers: PeersView,
    /// The protocol versions: the next block's and those this release runs.
    pub protocol: ProtocolView,
    /// Why this node stopped following the chain (a protocol version it does not run), if it
    /// did.
    pub halted: Option<String>,
}

/// The other validators of the epoch, by connection.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PeersView {
    /// Those with a p2p connection now.
    pub connected: Vec<ValidatorEntry>,
    /// Those without.
    pub missing: Vec<ValidatorEntry>,
}

/// The protocol version of the next block, and those this release runs.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProtocolView {
    /// The protocol version the next block is made under.
    pub next_block: u16,
    /// The protocol versions this release runs.
    pub known: Vec<u16>,
    /// This release (`civitas --version`).
    pub release: String,
}

/// The server-sent events for one finalized block.
pub fn sse_events(
    finalized: &FinalizedBlock,
    module: Option<&str>,
) -> Vec<Result<SseEvent, Infallible>> {
    let header = &finalized.block.header;
    let mut out = Vec::new();
    if module.is_none() {
        let data = json!({
            "height": header.height,
            "digest": finalized.digest,
            "timestamp": header.timestamp,
            "tx_count": header.tx_count,
            "state_root": header.state_root,
        });
        out.push(Ok(SseEvent::default()
            .event("block")
            .data(data.to_string())));
    }
    for receipt in finalized.receipts.iter().chain(&finalized.end) {
        if module.is_none() {
            let data =
                json!({ "tx": receipt.tx, "height": receipt.height, "outcome": receipt.outcome });
            out.push(Ok(SseEvent::default()
                .event("receipt")
                .data(data.to_string())));
        }
        for event in &receipt.events {
            if module.is_some_and(|m| m != event.module()) {
                continue;
            }
            let data = json!({ "height": receipt.height, "tx": receipt.tx, "module": event.module(), "event": event });
            out.push(Ok(SseEvent::default()
                .event("event")
                .data(data.to_string())));
        }
    }
    out
}

/// The node is running.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
    /// The latest finalized height.
    pub height: u64,
}

/// The node follows the chain and can serve.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Ready {
    /// Always true (a node that is not ready answers 503).
    pub ready: bool,
    /// The latest finalized height.
    pub height: u64,
    /// How old the latest finalized block is, in milliseconds.
    pub block_age_ms: u64,
    /// How many of the epoch's other validators this node is connected to, and not.
    pub peers: PeerCounts,
}

/// How many validators a node is connected to, and not.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PeerCounts {
    /// Connected now.
    pub connected: u64,
    /// Not connected.
    pub missing: u64,
}

/// A transaction taken into the mempool.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Submitted {
    /// Its hash: follow it at `/v1/transactions/{hash}`.
    pub hash: Hash32,
    /// Always `pending`.
    pub status: TxState,
}

/// The verdicts on a batch, in the order sent.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BatchVerdicts {
    /// How many were taken into the mempool.
    pub accepted: u64,
    /// One per transaction, in the order sent.
    pub results: Vec<BatchVerdict>,
}

/// The verdict on one transaction of a batch: `status` when taken, `error` when refused.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BatchVerdict {
    /// Its hash.
    pub hash: Hash32,
    /// `pending` when it was taken into the mempool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<TxState>,
    /// Why it was refused, as a single submission would say it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<crate::error::ErrorDetail>,
}

/// A transaction body to sign, as `POST /v1/transactions/prepare` answers.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Prepared {
    /// The body, as JSON.
    pub body: TxBody,
    /// Its canonical encoding, in hex: the bytes to sign (after the namespace).
    pub body_hex: String,
    /// The transaction's hash.
    pub hash: Hash32,
    /// The namespace the signature is made in (`civitas/tx/v1`).
    pub signing_namespace: String,
}

/// What a proof bundle proves, as this node checked it: with `valid` false, only `reason`.
#[derive(Serialize, Default, utoipa::ToSchema)]
pub struct BundleVerdict {
    /// Whether the bundle checks against this network's genesis.
    pub valid: bool,
    /// Why it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What it proves, in plain words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
    /// `state` or `transaction`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim: Option<&'static str>,
    /// The state key (`space/id hex`) or the transaction hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    /// The chain the bundle belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain_id: Option<String>,
    /// The hash of its genesis.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub genesis_hash: Option<Hash32>,
    /// The height of the finalized block it proves against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
    /// That block's digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block: Option<Hash32>,
    /// That block's epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
    /// How many validators signed its certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signers: Option<u64>,
    /// How many validators the epoch had.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validators: Option<u64>,
    /// How many validator-set hand-overs it walks from the genesis.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handovers: Option<u64>,
}

/// An account's next nonce.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Nonce {
    /// The account.
    pub account: AccountId,
    /// The nonce its next transaction takes, counting those waiting in this node's mempool.
    pub next_nonce: u64,
    /// The next nonce as the latest finalized block leaves it.
    pub finalized_next_nonce: u64,
    /// That block's height.
    pub height: u64,
}

/// An account's transactions waiting in this node's mempool.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PendingTransactions {
    /// The account.
    pub account: AccountId,
    /// Its transactions, in nonce order.
    pub pending: Vec<PendingTransaction>,
    /// The latest finalized height.
    pub height: u64,
}

/// One transaction waiting for a block.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PendingTransaction {
    /// Its hash.
    pub hash: Hash32,
    /// Its nonce.
    pub nonce: u64,
    /// When it stops being valid.
    pub expiry: TimestampMs,
    /// What it asks for.
    pub instructions: Vec<civitas_core::instruction::Instruction>,
    /// Its memo.
    pub memo: String,
}
