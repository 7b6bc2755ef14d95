//! Transaction admission and gossip.
//!
//! A transaction submitted to any validator is checked once (decode bounds, signatures, chain,
//! expiry, signer, nonce window) against the latest finalized state, added to the mempool, and
//! sent to every other validator in batches that each fit in one gossip message. A transaction
//! received from a peer is checked the same way and kept, but not forwarded again: validators
//! are fully connected.
//!
//! Peers are validators, but any of them may be Byzantine. A peer that sends a transaction whose
//! signatures do not verify (which an honest peer, having checked it, never forwards) is
//! blocked; one that sends [`GOSSIP_STRIKES_MAX`] batches this node cannot decode or whose
//! transactions break a bound is blocked too (one such batch may come from an honest peer
//! running another release during an upgrade). Each peer may make this node check at most
//! [`GOSSIP_SIGNATURES_PER_PEER_PER_SECOND`] signatures a second; batches beyond are dropped
//! unchecked. Admission and gossip run on threads of their own, not on those consensus runs on.

use crate::app::Shared;
use crate::mempool::{MempoolError, NONCE_WINDOW};
use civitas_core::codec::read_list;
use civitas_core::time::TimestampMs;
use civitas_core::tx::{SignedTx, TxHash};
use civitas_exec::{Modules, Overlay, read_nonce};
use civitas_modules::CivitasModules;
use civitas_state::{DbView, SharedDb, StateView};
use commonware_cryptography::ed25519;
use commonware_p2p::{Receiver, Recipients, Sender};
use commonware_runtime::{Clock, Spawner};
use futures::channel::oneshot;
use std::time::UNIX_EPOCH;
use tracing::{debug, warn};

/// Largest gossip message, in bytes.
pub const MAX_GOSSIP_BYTES: usize = 4 * 1024 * 1024;
/// Most transactions in one gossip message.
pub const GOSSIP_BATCH_MAX: usize = 256;
/// Furthest a transaction's expiry may be in the future, in milliseconds (one day).
pub const EXPIRY_AHEAD_MAX_MS: u64 = 24 * 3600 * 1000;
/// Queue of API submissions waiting for admission.
pub const SUBMISSION_QUEUE: usize = 4096;
/// Most signatures one peer may make this node check per second (sustained; a burst of
/// [`GOSSIP_BURST_SIGNATURES`] is allowed). Above it a peer's batches are dropped unchecked.
pub const GOSSIP_SIGNATURES_PER_PEER_PER_SECOND: u64 = 10_000;
/// Most signatures one peer may send at once, beyond its sustained rate: two full batches.
pub const GOSSIP_BURST_SIGNATURES: u64 =
    2 * (GOSSIP_BATCH_MAX * civitas_core::limits::TX_SIGNATURES_MAX) as u64;
/// Batches a peer may send that cannot be decoded or break a bound before it is blocked.
pub const GOSSIP_STRIKES_MAX: u32 = 3;

/// A token bucket per peer (how many signatures each may still have checked) and its strikes.
#[derive(Default)]
struct PeerBudgets {
    /// Tokens (in thousandths of a signature) and when they were last refilled (ms).
    peers: std::collections::BTreeMap<ed25519::PublicKey, (u64, u64)>,
    /// Malformed batches received from each peer.
    strikes: std::collections::BTreeMap<ed25519::PublicKey, u32>,
}

impl PeerBudgets {
    /// Records a malformed batch from `peer`; true once it has sent [`GOSSIP_STRIKES_MAX`].
    fn strike(&mut self, peer: &ed25519::PublicKey) -> bool {
        let strikes = self.strikes.entry(peer.clone()).or_default();
        *strikes += 1;
        *strikes >= GOSSIP_STRIKES_MAX
    }

    /// Takes `count` signatures from `peer`'s budget at `now_ms`; false if it has too few.
    fn take(&mut self, peer: &ed25519::PublicKey, count: u64, now_ms: u64) -> bool {
        let capacity = GOSSIP_BURST_SIGNATURES * 1000;
        let (tokens, last) = self.peers.entry(peer.clone()).or_insert((capacity, now_ms));
        let refill = now_ms
            .saturating_sub(*last)
            .saturating_mul(GOSSIP_SIGNATURES_PER_PEER_PER_SECOND);
        *tokens = tokens.saturating_add(refill).min(capacity);
        *last = now_ms;
        let cost = count.saturating_mul(1000);
        if *tokens < cost {
            return false;
        }
        *tokens -= cost;
        true
    }
}

/// Splits `txs` into batches whose encoding fits in one gossip message.
pub fn gossip_batches(txs: &[SignedTx]) -> Vec<Vec<u8>> {
    use commonware_codec::EncodeSize;
    // Room for the batch's length prefix.
    let budget = MAX_GOSSIP_BYTES - 8;
    let mut batches = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, tx) in txs.iter().enumerate() {
        let size = tx.encode_size();
        if i > start && (bytes + size > budget || i - start >= GOSSIP_BATCH_MAX) {
            batches.push(SignedTx::encode_batch(&txs[start..i]));
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < txs.len() {
        batches.push(SignedTx::encode_batch(&txs[start..]));
    }
    batches
}

/// Why a submitted transaction was refused. Each has a stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// Malformed, or breaks a bound.
    #[error("{0}")]
    Invalid(String),
    /// A signature does not verify.
    #[error("{0}")]
    Forged(String),
    /// Wrong chain, expired, unknown signer, wrong key, bad nonce: the client must fix it.
    #[error("{message}")]
    Refused {
        /// Stable code.
        code: &'static str,
        /// What to do.
        message: String,
    },
    /// Already pending.
    #[error("transaction {0} is already pending")]
    Duplicate(TxHash),
    /// The node cannot take it now (its mempool, or the account's window of pending nonces,
    /// is full); the same transaction may be sent again shortly.
    #[error("{message}")]
    Busy {
        /// Stable code: `mempool_full`, `nonce_too_far` or `state_unavailable`.
        code: &'static str,
        /// What to do.
        message: String,
    },
    /// The node is shutting down.
    #[error("the node is shutting down")]
    Unavailable,
}

impl SubmitError {
    /// Stable error code for the API.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) | Self::Forged(_) => "invalid_transaction",
            Self::Refused { code, .. } => code,
            Self::Duplicate(_) => "duplicate_transaction",
            Self::Busy { code, .. } => code,
            Self::Unavailable => "unavailable",
        }
    }
}

/// A submission waiting for its verdict.
pub type Submission = (SignedTx, oneshot::Sender<Result<TxHash, SubmitError>>);

/// Checks a batch of transactions and adds those that pass to the mempool; one verdict per
/// transaction, in order.
///
/// The cheapest checks come first: shape, already pending, chain and expiry, then the ledger
/// state (the signer exists and is active, the keys that signed are its keys, the nonce is in
/// its window), and only then the signatures, verified together (see
/// [`SignedTx::verify_signatures_batch`]). So a transaction gossiped or submitted twice is
/// verified once, and a flood of transactions from accounts that do not exist costs a state
/// read each, not a signature check.
pub async fn admit_batch<V: StateView>(
    shared: &Shared,
    view: &V,
    txs: Vec<SignedTx>,
    now: TimestampMs,
    rng: &mut impl rand_core::CryptoRng,
) -> Vec<Result<TxHash, SubmitError>> {
    // The finalized height the state checks are made at: an account whose keys or status a
    // later block changed is checked again (see `Mempool::insert`).
    let tip = shared.tip();
    let checked_at = tip.height;
    let mut verdicts: Vec<Result<(TxHash, u64), SubmitError>> = Vec::with_capacity(txs.len());
    for tx in &txs {
        let hash = tx.hash();
        let verdict = match tx.check_shape() {
            Err(e) => Err(SubmitError::Invalid(e.to_string())),
            Ok(()) if shared.mempool.contains(&hash) => Err(SubmitError::Duplicate(hash)),
            Ok(()) => match check_envelope(shared, tx, now, tip.next_protocol) {
                Err(refused) => Err(refused),
                Ok(()) => check_state(view, tx).await.map(|next| (hash, next)),
            },
        };
        verdicts.push(verdict);
    }
    let unchecked: Vec<&SignedTx> = txs
        .iter()
        .zip(&verdicts)
        .filter(|(_, verdict)| verdict.is_ok())
        .map(|(tx, _)| tx)
        .collect();
    let mut signatures = SignedTx::verify_signatures_batch(&unchecked, rng).into_iter();
    for verdict in verdicts.iter_mut().filter(|v| v.is_ok()) {
        if let Some(Err(e)) = signatures.next() {
            *verdict = Err(SubmitError::Forged(e.to_string()));
        }
    }
    txs.into_iter()
        .zip(verdicts)
        .map(|(tx, verdict)| {
            let (hash, next) = verdict?;
            insert(shared, tx, hash, next, now, checked_at)
        })
        .collect()
}

fn unavailable(e: civitas_exec::BlockError) -> SubmitError {
    // What failed is for the operator's log, not for whoever submitted.
    warn!(error = %e, "reading the state to admit a transaction failed");
    SubmitError::Busy {
        code: "state_unavailable",
        message: "the node could not read its state; retry shortly".into(),
    }
}

/// The checks that need neither state nor signatures: chain, expiry, and that the protocol
/// version of the next block (`version`) admits the instructions.
fn check_envelope(
    shared: &Shared,
    tx: &SignedTx,
    now: TimestampMs,
    version: u16,
) -> Result<(), SubmitError> {
    let refuse = |code, message: String| Err(SubmitError::Refused { code, message });
    if tx.body.chain_id != shared.genesis.chain_id {
        return refuse(
            "wrong_chain",
            format!(
                "transaction is for chain {:?}; this network is {:?}",
                tx.body.chain_id, shared.genesis.chain_id
            ),
        );
    }
    if tx.body.expiry < now {
        return refuse(
            "expired",
            format!(
                "transaction expired at {} ms; now is {} ms",
                tx.body.expiry.0, now.0
            ),
        );
    }
    if tx.body.expiry.0 > now.0.saturating_add(EXPIRY_AHEAD_MAX_MS) {
        return refuse(
            "expiry_too_far",
            "expiry may be at most 24 hours ahead; sign again with a nearer expiry".into(),
        );
    }
    let Some(protocol) = shared.protocols.get(version) else {
        return refuse(
            "upgrade_required",
            format!(
                "this node's release does not know protocol version {version}, active on the \
                 ledger; submit to another agency's node until its operator upgrades"
            ),
        );
    };
    if let Some(instruction) = tx.body.instructions.iter().find(|i| !protocol.admits(i)) {
        return refuse(
            "not_active",
            format!(
                "{} is not part of protocol version {version}, active on the ledger; it can be \
                 used once governance has activated a protocol version that includes it",
                instruction.name()
            ),
        );
    }
    if let Some(message) = tx.personal_data_refusal(version) {
        return refuse("personal_data", message);
    }
    Ok(())
}

/// Checks a transaction against the latest finalized state: its signer exists and is active,
/// the keys that signed it are the account's, and its nonce is in the account's window; returns
/// the account's next nonce. Signatures are not checked here.
async fn check_state<V: StateView>(view: &V, tx: &SignedTx) -> Result<u64, SubmitError> {
    let refuse = |code, message: String| Err(SubmitError::Refused { code, message });
    let mut overlay = Overlay::new(view);
    let authenticated = CivitasModules
        .authenticate(tx, &mut overlay)
        .await
        .map_err(unavailable)?;
    if let Err(rejection) = authenticated {
        return refuse(rejection.code, rejection.message);
    }
    let next = read_nonce(&mut overlay, &tx.body.signer)
        .await
        .map_err(unavailable)?;
    if tx.body.nonce < next {
        return refuse(
            "bad_nonce",
            format!(
                "nonce {} was already used; the account's next nonce is {next}",
                tx.body.nonce
            ),
        );
    }
    if tx.body.nonce >= next + NONCE_WINDOW {
        return Err(SubmitError::Busy {
            code: "nonce_too_far",
            message: format!(
                "nonce {} is more than {NONCE_WINDOW} ahead of the account's next final nonce \
                 {next}; send it again once the account's earlier transactions are final",
                tx.body.nonce
            ),
        });
    }
    Ok(next)
}

/// Adds a checked transaction to the mempool.
fn insert(
    shared: &Shared,
    tx: SignedTx,
    hash: TxHash,
    next: u64,
    now: TimestampMs,
    checked_at: u64,
) -> Result<TxHash, SubmitError> {
    shared
        .mempool
        .insert(tx, hash, next, now.0, checked_at)
        .map_err(|e| match e {
            MempoolError::Duplicate(hash) => SubmitError::Duplicate(hash),
            MempoolError::Full(_) => SubmitError::Busy {
                code: "mempool_full",
                message: e.to_string(),
            },
            MempoolError::NonceTaken(_) => SubmitError::Refused {
                code: "nonce_taken",
                message: e.to_string(),
            },
            MempoolError::Stale => SubmitError::Busy {
                code: "state_unavailable",
                message: e.to_string(),
            },
        })
}

/// Drops the pending transactions of `accounts` (whose keys or status a finalized block just
/// changed) that no longer authenticate against the finalized state `view`: they could never
/// be included, and would otherwise be tried in every proposal.
pub async fn evict_unauthenticated<V: StateView>(
    shared: &Shared,
    view: &V,
    accounts: &[civitas_core::crypto::AccountId],
) -> Result<usize, civitas_exec::BlockError> {
    let mut overlay = Overlay::new(view);
    let mut evicted = Vec::new();
    for (_, txs) in shared.mempool.pending_of_accounts(accounts) {
        for tx in txs {
            if let Err(rejection) = CivitasModules.authenticate(&tx, &mut overlay).await? {
                evicted.push((tx.hash(), rejection.code, rejection.message));
            }
        }
    }
    shared.mempool.evict_unauthenticated(&evicted);
    Ok(evicted.len())
}

fn now(context: &impl Clock) -> TimestampMs {
    TimestampMs(
        context
            .current()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0),
    )
}

/// Starts admission and gossip; returns where to send API submissions. Peers that send
/// malformed or badly signed transactions are reported to `blocker`.
pub fn start<E, S, R, B>(
    context: E,
    shared: Shared,
    db: SharedDb<E>,
    (mut sender, mut receiver): (S, R),
    mut blocker: B,
) -> tokio::sync::mpsc::Sender<Submission>
where
    E: Spawner + Clock + commonware_storage::Context + rand_core::CryptoRng,
    S: Sender<PublicKey = ed25519::PublicKey>,
    R: Receiver<PublicKey = ed25519::PublicKey>,
    B: commonware_p2p::Blocker<PublicKey = ed25519::PublicKey>,
{
    let (submit_tx, mut submit_rx) = tokio::sync::mpsc::channel::<Submission>(SUBMISSION_QUEUE);

    // Transactions from peers.
    {
        let shared = shared.clone();
        let db = db.clone();
        context
            .child("from_peers")
            .dedicated()
            .spawn(move |mut context| async move {
                let view = DbView(db);
                let mut budgets = PeerBudgets::default();
                loop {
                    let (peer, message) = match receiver.recv().await {
                        Ok(message) => message,
                        Err(_) => return,
                    };
                    let mut buf = commonware_codec::Copying(message.as_ref());
                    let decoded = read_list::<SignedTx>(&mut buf, GOSSIP_BATCH_MAX, &());
                    let txs = match decoded {
                        Ok(txs) if !bytes::Buf::has_remaining(&buf) => txs,
                        _ => {
                            warn!(
                                ?peer,
                                "peer sent a transaction batch this node cannot decode"
                            );
                            if budgets.strike(&peer) {
                                shared.metrics.record_peer_blocked("malformed_batch");
                                let _ = blocker.block(peer);
                            }
                            continue;
                        }
                    };
                    let now = now(&context);
                    let signatures: usize = txs.iter().map(|tx| tx.signatures.len()).sum();
                    if !budgets.take(&peer, signatures as u64, now.0) {
                        debug!(
                            ?peer,
                            signatures, "peer over its gossip budget; batch dropped"
                        );
                        continue;
                    }
                    let mut forged = false;
                    let mut malformed = false;
                    for verdict in admit_batch(&shared, &view, txs, now, &mut context).await {
                        match verdict {
                            Err(SubmitError::Forged(e)) => {
                                debug!(?peer, error = %e, "peer sent a badly signed transaction");
                                forged = true;
                            }
                            Err(SubmitError::Invalid(e)) => {
                                debug!(?peer, error = %e, "peer sent a malformed transaction");
                                malformed = true;
                            }
                            Err(e) => {
                                debug!(?peer, error = %e, "gossiped transaction not admitted")
                            }
                            Ok(_) => {}
                        }
                    }
                    if malformed && !forged && budgets.strike(&peer) {
                        warn!(
                            ?peer,
                            "peer keeps sending malformed transactions; blocking it"
                        );
                        shared.metrics.record_peer_blocked("malformed_batch");
                        let _ = blocker.block(peer);
                        continue;
                    }
                    if forged {
                        warn!(?peer, "peer sent badly signed transactions; blocking it");
                        shared.metrics.record_peer_blocked("invalid_transaction");
                        let _ = blocker.block(peer);
                    }
                }
            });
    }

    // Transactions from this node's API.
    context
        .child("from_api")
        .dedicated()
        .spawn(move |mut context| async move {
            let view = DbView(db);
            while let Some(first) = submit_rx.recv().await {
                let mut batch = Vec::new();
                let mut pending = vec![first];
                while pending.len() < GOSSIP_BATCH_MAX {
                    match submit_rx.try_recv() {
                        Ok(next) => pending.push(next),
                        _ => break,
                    }
                }
                let (txs, responders): (Vec<SignedTx>, Vec<_>) = pending.into_iter().unzip();
                let now = now(&context);
                let results = admit_batch(&shared, &view, txs.clone(), now, &mut context).await;
                for (tx, result) in txs.into_iter().zip(&results) {
                    if result.is_ok() {
                        batch.push(tx);
                    }
                }
                let verdicts = responders.into_iter().zip(results);
                // Hand the batch to the network before answering, so a client is told "accepted"
                // only once its transaction is on its way to the other validators. A batch too
                // large for one message goes in several.
                for bytes in gossip_batches(&batch) {
                    sender.send(Recipients::All, bytes, false);
                }
                for (respond, result) in verdicts {
                    let _ = respond.send(result);
                }
            }
        });
    submit_tx
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_core::crypto::PrivateKey;
    use civitas_core::hash::Hash32;
    use civitas_core::instruction::{Instruction, MetadataEntry, NotaryInstruction};
    use civitas_core::tx::TxBody;

    /// A transaction of about 16 KiB, the most a transaction may be.
    fn large(nonce: u64) -> SignedTx {
        let key = PrivateKey::from_test_seed(1);
        let metadata = (0..16)
            .map(|i| MetadataEntry {
                key: format!("k{i}"),
                value: "v".repeat(505),
            })
            .collect();
        TxBody {
            chain_id: "t".into(),
            signer: key.public_key().account_id(),
            nonce,
            expiry: TimestampMs(u64::MAX),
            instructions: vec![
                Instruction::Notary(NotaryInstruction::Anchor {
                    document: Hash32::sha256(&nonce.to_be_bytes()),
                    title: "x".into(),
                    metadata,
                });
                2
            ],
            memo: String::new(),
        }
        .into_signed(&[&key])
    }

    #[test]
    fn a_batch_too_large_for_one_message_goes_in_several() {
        use commonware_codec::EncodeSize;
        let txs: Vec<SignedTx> = (0..GOSSIP_BATCH_MAX as u64).map(large).collect();
        let total: usize = txs.iter().map(EncodeSize::encode_size).sum();
        assert!(
            total > MAX_GOSSIP_BYTES,
            "the test needs a batch over one message"
        );
        let batches = gossip_batches(&txs);
        assert!(batches.len() > 1);
        let mut decoded = Vec::new();
        for bytes in &batches {
            assert!(bytes.len() <= MAX_GOSSIP_BYTES);
            let mut buf = commonware_codec::Copying(bytes.as_slice());
            decoded.extend(read_list::<SignedTx>(&mut buf, GOSSIP_BATCH_MAX, &()).unwrap());
        }
        assert_eq!(decoded, txs);
    }

    #[test]
    fn a_peer_gets_its_rate_and_a_burst_then_waits() {
        let peer = PrivateKey::from_test_seed(3).public_key().inner().clone();
        let mut budgets = PeerBudgets::default();
        assert!(budgets.take(&peer, GOSSIP_BURST_SIGNATURES, 0));
        assert!(!budgets.take(&peer, 1, 0));
        // 100 ms later: a tenth of a second's worth.
        assert!(budgets.take(&peer, GOSSIP_SIGNATURES_PER_PEER_PER_SECOND / 10, 100));
        assert!(!budgets.take(&peer, 1, 100));
        let other = PrivateKey::from_test_seed(4).public_key().inner().clone();
        assert!(budgets.take(&other, GOSSIP_BATCH_MAX as u64, 100));
        // Strikes: blocked at the third malformed batch.
        assert!(!budgets.strike(&other));
        assert!(!budgets.strike(&other));
        assert!(budgets.strike(&other));
    }
}
