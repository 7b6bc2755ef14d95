//! Transaction admission and gossip.
//!
//! A transaction submitted to any validator is checked once (decode bounds, signatures, chain,
//! expiry, signer, nonce window) against the latest finalized state, added to the mempool, and
//! sent to every other validator in batches. A transaction received from a peer is checked the
//! same way and kept, but not forwarded again: validators are fully connected.

use crate::app::Shared;
use crate::mempool::{MempoolError, NONCE_WINDOW};
use civitas_core::codec::read_list;
use civitas_core::time::TimestampMs;
use civitas_core::tx::{SignedTx, TxHash};
use civitas_exec::{Modules, Overlay, read_nonce};
use civitas_modules::CivitasModules;
use civitas_state::{DbView, SharedDb, StateView};
use commonware_codec::Encode;
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
    /// The node is overloaded; retry later.
    #[error("{0}")]
    Busy(String),
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
            Self::Busy(_) => "mempool_full",
            Self::Unavailable => "unavailable",
        }
    }
}

/// A submission waiting for its verdict.
pub type Submission = (SignedTx, oneshot::Sender<Result<TxHash, SubmitError>>);

/// Checks `tx` against the latest finalized state and adds it to the mempool.
pub async fn admit<V: StateView>(
    shared: &Shared,
    view: &V,
    tx: SignedTx,
    now: TimestampMs,
) -> Result<TxHash, SubmitError> {
    tx.verify_stateless()
        .map_err(|e| SubmitError::Invalid(e.to_string()))?;
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
    let mut overlay = Overlay::new(view);
    let authenticated = CivitasModules
        .authenticate(&tx, &mut overlay)
        .await
        .map_err(|e| SubmitError::Busy(format!("state unavailable: {e}")))?;
    if let Err(rejection) = authenticated {
        return refuse(rejection.code, rejection.message);
    }
    let next = read_nonce(&mut overlay, &tx.body.signer)
        .await
        .map_err(|e| SubmitError::Busy(format!("state unavailable: {e}")))?;
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
        return refuse(
            "nonce_too_far",
            format!(
                "nonce {} is more than {NONCE_WINDOW} ahead of the account's next nonce {next}",
                tx.body.nonce
            ),
        );
    }
    shared.mempool.insert(tx).map_err(|e| match e {
        MempoolError::Duplicate(hash) => SubmitError::Duplicate(hash),
        MempoolError::Full(_) => SubmitError::Busy(e.to_string()),
        MempoolError::NonceTaken(_) => SubmitError::Refused {
            code: "nonce_taken",
            message: e.to_string(),
        },
    })
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

/// Starts admission and gossip; returns where to send API submissions.
pub fn start<E, S, R>(
    context: E,
    shared: Shared,
    db: SharedDb<E>,
    (mut sender, mut receiver): (S, R),
) -> mpsc::Sender<Submission>
where
    E: Spawner + Clock + commonware_storage::Context,
    S: Sender<PublicKey = ed25519::PublicKey>,
    R: Receiver<PublicKey = ed25519::PublicKey>,
{
    let (submit_tx, mut submit_rx) = mpsc::channel::<Submission>(SUBMISSION_QUEUE);

    // Transactions from peers.
    {
        let shared = shared.clone();
        let db = db.clone();
        let clock = context.child("peer_clock");
        context.child("from_peers").spawn(move |_| async move {
            let view = DbView(db);
            loop {
                let (peer, message) = match receiver.recv().await {
                    Ok(message) => message,
                    Err(_) => return,
                };
                let mut buf = commonware_codec::Copying(message.as_ref());
                let Ok(txs) = read_list::<SignedTx>(&mut buf, GOSSIP_BATCH_MAX, &()) else {
                    warn!(?peer, "peer sent a malformed transaction batch");
                    continue;
                };
                for tx in txs {
                    if let Err(e) = admit(&shared, &view, tx, now(&clock)).await {
                        debug!(?peer, error = %e, "gossiped transaction not admitted");
                    }
                }
            }
        });
    }

    // Transactions from this node's API.
    context.child("from_api").spawn(move |context| async move {
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
            let mut verdicts = Vec::with_capacity(pending.len());
            for (tx, respond) in pending {
                let result = admit(&shared, &view, tx.clone(), now(&context)).await;
                if result.is_ok() {
                    batch.push(tx);
                }
                verdicts.push((respond, result));
            }
            // Hand the batch to the network before answering, so a client is told "accepted"
            // only once its transaction is on its way to the other validators.
            if !batch.is_empty() {
                let bytes = batch.encode();
                if bytes.len() <= MAX_GOSSIP_BYTES {
                    sender.send(Recipients::All, bytes, false);
                }
            }
            for (respond, result) in verdicts {
                let _ = respond.send(result);
            }
        }
    });
    submit_tx
}
