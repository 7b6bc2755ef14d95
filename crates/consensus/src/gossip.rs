//! Transaction admission and gossip.
//!
//! A transaction submitted to any validator is checked once (decode bounds, signatures, chain,
//! expiry, signer, nonce window) against the latest finalized state, added to the mempool, and
//! sent to every other validator in batches that each fit in one gossip message. A transaction
//! received from a peer is checked the same way and kept, but not forwarded again: validators
//! are fully connected.
//!
//! Peers are validators, but any of them may be Byzantine. A peer that sends an undecodable
//! batch or a transaction whose signatures do not verify (which an honest peer, having checked
//! it, never forwards) is blocked. Each peer may make this node admit at most
//! [`GOSSIP_TXS_PER_PEER_PER_SECOND`] transactions a second; batches beyond that are dropped.

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
use futures::StreamExt;
use futures::channel::{mpsc, oneshot};
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
/// Most transactions one peer may make this node check per second (sustained; a burst of
/// [`GOSSIP_BURST_TXS`] is allowed). Above it a peer's batches are dropped unchecked.
pub const GOSSIP_TXS_PER_PEER_PER_SECOND: u64 = 10_000;
/// Most transactions one peer may send at once, beyond its sustained rate.
pub const GOSSIP_BURST_TXS: u64 = 4 * GOSSIP_BATCH_MAX as u64;

/// A token bucket per peer: how many transactions each may still have checked.
#[derive(Default)]
struct PeerBudgets {
    /// Tokens (in thousandths of a transaction) and when they were last refilled (ms).
    peers: std::collections::BTreeMap<ed25519::PublicKey, (u64, u64)>,
}

impl PeerBudgets {
    /// Takes `count` transactions from `peer`'s budget at `now_ms`; false if it has too few.
    fn take(&mut self, peer: &ed25519::PublicKey, count: u64, now_ms: u64) -> bool {
        let capacity = GOSSIP_BURST_TXS * 1000;
        let (tokens, last) = self.peers.entry(peer.clone()).or_insert((capacity, now_ms));
        let refill = now_ms
            .saturating_sub(*last)
            .saturating_mul(GOSSIP_TXS_PER_PEER_PER_SECOND);
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
    /// Malformed or badly signed.
    #[error("{0}")]
    Invalid(String),
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
            Self::Invalid(_) => "invalid_transaction",
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
/// Signatures are verified together (see [`SignedTx::verify_signatures_batch`]), after the
/// cheap checks and after leaving out transactions already pending, so a transaction gossiped
/// or submitted twice is verified once.
pub async fn admit_batch<V: StateView>(
    shared: &Shared,
    view: &V,
    txs: Vec<SignedTx>,
    now: TimestampMs,
    rng: &mut impl rand_core::CryptoRng,
) -> Vec<Result<TxHash, SubmitError>> {
    let mut verdicts: Vec<Option<Result<TxHash, SubmitError>>> = Vec::with_capacity(txs.len());
    let mut hashes = Vec::with_capacity(txs.len());
    for tx in &txs {
        let hash = tx.hash();
        hashes.push(hash);
        let verdict = match tx.check_shape() {
            Err(e) => Some(Err(SubmitError::Invalid(e.to_string()))),
            Ok(()) if shared.mempool.contains(&hash) => Some(Err(SubmitError::Duplicate(hash))),
            Ok(()) => check_envelope(shared, tx, now).err().map(Err),
        };
        verdicts.push(verdict);
    }
    let unchecked: Vec<&SignedTx> = txs
        .iter()
        .zip(&verdicts)
        .filter(|(_, verdict)| verdict.is_none())
        .map(|(tx, _)| tx)
        .collect();
    let mut signatures = SignedTx::verify_signatures_batch(&unchecked, rng).into_iter();
    for verdict in verdicts.iter_mut().filter(|v| v.is_none()) {
        if let Some(Err(e)) = signatures.next() {
            *verdict = Some(Err(SubmitError::Invalid(e.to_string())));
        }
    }
    let mut out = Vec::with_capacity(txs.len());
    for ((tx, hash), verdict) in txs.into_iter().zip(hashes).zip(verdicts) {
        out.push(match verdict {
            Some(refused) => refused,
            None => admit_verified(shared, view, tx, hash, now).await,
        });
    }
    out
}

fn unavailable(e: civitas_exec::BlockError) -> SubmitError {
    SubmitError::Busy {
        code: "state_unavailable",
        message: format!("the node could not read its state ({e}); retry shortly"),
    }
}

/// The checks that need neither state nor signatures: chain and expiry.
fn check_envelope(shared: &Shared, tx: &SignedTx, now: TimestampMs) -> Result<(), SubmitError> {
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
    Ok(())
}

/// Checks a transaction whose shape and signatures were verified against the latest finalized
/// state (signer, keys, nonce window) and adds it to the mempool.
async fn admit_verified<V: StateView>(
    shared: &Shared,
    view: &V,
    tx: SignedTx,
    hash: TxHash,
    now: TimestampMs,
) -> Result<TxHash, SubmitError> {
    let refuse = |code, message: String| Err(SubmitError::Refused { code, message });
    let mut overlay = Overlay::new(view);
    let authenticated = CivitasModules
        .authenticate(&tx, &mut overlay)
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
    shared
        .mempool
        .insert(tx, hash, next, now.0)
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
) -> mpsc::Sender<Submission>
where
    E: Spawner + Clock + commonware_storage::Context + rand_core::CryptoRng,
    S: Sender<PublicKey = ed25519::PublicKey>,
    R: Receiver<PublicKey = ed25519::PublicKey>,
    B: commonware_p2p::Blocker<PublicKey = ed25519::PublicKey>,
{
    let (submit_tx, mut submit_rx) = mpsc::channel::<Submission>(SUBMISSION_QUEUE);

    // Transactions from peers.
    {
        let shared = shared.clone();
        let db = db.clone();
        context
            .child("from_peers")
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
                                "peer sent a malformed transaction batch; blocking it"
                            );
                            shared.metrics.record_peer_blocked("malformed_batch");
                            let _ = blocker.block(peer);
                            continue;
                        }
                    };
                    let now = now(&context);
                    if !budgets.take(&peer, txs.len() as u64, now.0) {
                        debug!(
                            ?peer,
                            txs = txs.len(),
                            "peer over its gossip budget; batch dropped"
                        );
                        continue;
                    }
                    let mut forged = false;
                    for verdict in admit_batch(&shared, &view, txs, now, &mut context).await {
                        match verdict {
                            Err(SubmitError::Invalid(e)) => {
                                debug!(?peer, error = %e, "peer sent an invalid transaction");
                                forged = true;
                            }
                            Err(e) => {
                                debug!(?peer, error = %e, "gossiped transaction not admitted")
                            }
                            Ok(_) => {}
                        }
                    }
                    if forged {
                        warn!(
                            ?peer,
                            "peer sent badly signed or malformed transactions; blocking it"
                        );
                        shared.metrics.record_peer_blocked("invalid_transaction");
                        let _ = blocker.block(peer);
                    }
                }
            });
    }

    // Transactions from this node's API.
    context
        .child("from_api")
        .spawn(move |mut context| async move {
            let view = DbView(db);
            while let Some(first) = submit_rx.next().await {
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
        assert!(budgets.take(&peer, GOSSIP_BURST_TXS, 0));
        assert!(!budgets.take(&peer, 1, 0));
        // 100 ms later: a tenth of a second's worth.
        assert!(budgets.take(&peer, GOSSIP_TXS_PER_PEER_PER_SECOND / 10, 100));
        assert!(!budgets.take(&peer, 1, 100));
        let other = PrivateKey::from_test_seed(4).public_key().inner().clone();
        assert!(budgets.take(&other, GOSSIP_BATCH_MAX as u64, 100));
    }
}
