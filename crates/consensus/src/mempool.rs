//! The mempool: verified transactions waiting for a block.
//!
//! Bounded in count and bytes, one entry per transaction hash, at most
//! [`MEMPOOL_PER_ACCOUNT_MAX`] per signer. Proposals take transactions fairly across signers
//! (round-robin, oldest signer first, each signer's in nonce order), so a few busy or hostile
//! accounts cannot crowd out the rest. Finalized transactions leave; so do transactions that can
//! no longer succeed: those a proposer found can never be included, those whose signer's keys
//! or status changed so that they no longer authenticate ([`Mempool::evict_unauthenticated`],
//! after each finalized block), and those stuck behind a missing nonce for longer than
//! [`NONCE_GAP_AGE_MAX_MS`]. Each leaves with its reason, which stays queryable for a while.

use civitas_core::crypto::AccountId;
use civitas_core::tx::{SignedTx, TxHash};
use commonware_codec::EncodeSize;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

/// Most transactions held.
pub const MEMPOOL_TXS_MAX: usize = 50_000;
/// Most bytes of transactions held.
pub const MEMPOOL_BYTES_MAX: usize = 64 * 1024 * 1024;
/// Most transactions held per signer.
pub const MEMPOOL_PER_ACCOUNT_MAX: usize = 1_024;
/// How far ahead of the account's next nonce a transaction may be.
pub const NONCE_WINDOW: u64 = 1_024;
/// How many recent rejection reasons are remembered.
pub const REJECTIONS_REMEMBERED: usize = 10_000;
/// Longest a transaction may wait behind a missing nonce of its signer, in milliseconds, before
/// it is dropped (the client sends it again with the missing one).
pub const NONCE_GAP_AGE_MAX_MS: u64 = 120_000;
/// How often finalized blocks trigger a sweep for transactions stuck behind a gap, in ms.
pub const NONCE_GAP_SWEEP_MS: u64 = 10_000;

/// Why the mempool refused a transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MempoolError {
    /// Already held.
    #[error("transaction {0} is already pending")]
    Duplicate(TxHash),
    /// The pool is full.
    #[error("the node's mempool is full ({0}); retry later")]
    Full(&'static str),
    /// Another transaction with the same signer and nonce is pending.
    #[error("another pending transaction already uses nonce {0} for this account")]
    NonceTaken(u64),
    /// The signer's keys or status changed after the transaction was checked.
    #[error("the account changed while the transaction was being checked; send it again")]
    Stale,
}

/// Most accounts whose latest change of keys or status the mempool remembers.
pub const CHANGED_ACCOUNTS_REMEMBERED: usize = 4_096;

struct Entry {
    tx: Arc<SignedTx>,
    bytes: usize,
    seq: u64,
    /// When this node admitted it (its clock, in ms since the Unix epoch).
    admitted_ms: u64,
}

/// One signer's pending transactions.
#[derive(Default)]
struct Queue {
    /// By nonce.
    txs: BTreeMap<u64, TxHash>,
    /// The signer's next nonce as last known from the finalized state: only a run of nonces
    /// starting here can go into a block.
    base: u64,
}

impl Queue {
    /// Whether the queue's first transaction can be included next.
    fn ready(&self) -> bool {
        self.txs
            .keys()
            .next()
            .is_some_and(|first| *first <= self.base)
    }

    /// The transactions that can go into a block now: the run of consecutive nonces from the
    /// signer's next nonce.
    fn run(&self) -> impl Iterator<Item = &TxHash> {
        let mut expected = self.base;
        self.txs
            .range(self.base..)
            .take_while(move |(nonce, _)| {
                let next = **nonce == expected;
                expected += 1;
                next
            })
            .map(|(_, hash)| hash)
    }

    /// The transactions behind a missing nonce.
    fn stuck(&self) -> impl Iterator<Item = &TxHash> {
        let run = self.run().count();
        self.txs.range(self.base..).skip(run).map(|(_, hash)| hash)
    }
}

#[derive(Default)]
struct Inner {
    by_hash: BTreeMap<TxHash, Entry>,
    by_sender: BTreeMap<AccountId, Queue>,
    order: BTreeMap<u64, TxHash>,
    bytes: usize,
    next_seq: u64,
    rejected: BTreeMap<TxHash, (String, String)>,
    rejected_order: VecDeque<TxHash>,
    /// The height of each account's latest finalized change of keys or status.
    changed: BTreeMap<AccountId, u64>,
}

/// A shared, bounded mempool.
#[derive(Clone, Default)]
pub struct Mempool {
    inner: Arc<Mutex<Inner>>,
    /// When the last sweep for stuck transactions ran (ms).
    swept_ms: Arc<std::sync::atomic::AtomicU64>,
}

impl Mempool {
    /// An empty mempool.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps inconsistent in a way that
        // matters more than stopping would; keep serving.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a verified transaction whose hash is `hash`; `next_nonce` is its signer's next
    /// nonce in the finalized state of height `checked_at`, which its checks were made
    /// against, and `now_ms` this node's clock. Refused as [`MempoolError::Stale`] if a block
    /// after `checked_at` changed the signer's keys or status: the checks would have to be made
    /// again, and the transaction would otherwise escape the eviction that block triggered.
    pub fn insert(
        &self,
        tx: SignedTx,
        hash: TxHash,
        next_nonce: u64,
        now_ms: u64,
        checked_at: u64,
    ) -> Result<TxHash, MempoolError> {
        let bytes = tx.encode_size();
        let mut inner = self.lock();
        if inner
            .changed
            .get(&tx.body.signer)
            .is_some_and(|height| *height > checked_at)
        {
            return Err(MempoolError::Stale);
        }
        if inner.by_hash.contains_key(&hash) {
            return Err(MempoolError::Duplicate(hash));
        }
        if inner.by_hash.len() >= MEMPOOL_TXS_MAX {
            return Err(MempoolError::Full("transaction count limit"));
        }
        if inner.bytes + bytes > MEMPOOL_BYTES_MAX {
            return Err(MempoolError::Full("byte limit"));
        }
        let sender = tx.body.signer;
        let nonce = tx.body.nonce;
        let queue = inner.by_sender.entry(sender).or_default();
        if queue.txs.contains_key(&nonce) {
            return Err(MempoolError::NonceTaken(nonce));
        }
        if queue.txs.len() >= MEMPOOL_PER_ACCOUNT_MAX {
            return Err(MempoolError::Full("per-account limit"));
        }
        queue.base = queue.base.max(next_nonce);
        queue.txs.insert(nonce, hash);
        let seq = inner.next_seq;
        inner.next_seq += 1;
        inner.order.insert(seq, hash);
        inner.bytes += bytes;
        inner.rejected.remove(&hash);
        inner.by_hash.insert(
            hash,
            Entry {
                tx: Arc::new(tx),
                bytes,
                seq,
                admitted_ms: now_ms,
            },
        );
        Ok(hash)
    }

    /// The nonce after the highest pending nonce of `account`, if it has pending transactions
    /// forming a contiguous run from `next_finalized`.
    pub fn next_nonce(&self, account: &AccountId, next_finalized: u64) -> u64 {
        let inner = self.lock();
        let mut next = next_finalized;
        if let Some(queue) = inner.by_sender.get(account) {
            while queue.txs.contains_key(&next) {
                next += 1;
            }
        }
        next
    }

    /// Whether exactly `tx` (same body and signatures) is pending, so its signatures were
    /// verified at admission.
    pub fn holds_exactly(&self, tx: &SignedTx) -> bool {
        self.lock()
            .by_hash
            .get(&tx.hash())
            .is_some_and(|entry| entry.tx.signatures == tx.signatures)
    }

    /// Whether `hash` is pending.
    pub fn contains(&self, hash: &TxHash) -> bool {
        self.lock().by_hash.contains_key(hash)
    }

    /// Number of pending transactions.
    pub fn len(&self) -> usize {
        self.lock().by_hash.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether some signer's next transaction is pending (so a proposal would not be empty).
    /// Transactions waiting behind a missing nonce do not count.
    pub fn has_candidates(&self) -> bool {
        self.lock().by_sender.values().any(Queue::ready)
    }

    /// Up to `max_txs` transactions totalling at most `max_bytes`, shared fairly between the
    /// signers that have one ready: round-robin over the signers, oldest first, taking each
    /// signer's transactions in nonce order (only runs of consecutive nonces from the signer's
    /// next nonce: a transaction behind a missing nonce cannot be included). With more
    /// transactions ready than fit, every ready signer gets an equal share, so a handful of
    /// accounts cannot keep the others' transactions out of blocks.
    pub fn candidates(&self, max_txs: usize, max_bytes: usize) -> Vec<SignedTx> {
        let inner = self.lock();
        // Each ready signer's run, oldest signer first; at most `max_txs` signers are needed.
        let mut runs: Vec<Vec<&Entry>> = Vec::new();
        let mut seen: std::collections::BTreeSet<AccountId> = std::collections::BTreeSet::new();
        for hash in inner.order.values() {
            if runs.len() >= max_txs {
                break;
            }
            let Some(entry) = inner.by_hash.get(hash) else {
                continue;
            };
            let sender = entry.tx.body.signer;
            if !seen.insert(sender) {
                continue;
            }
            let Some(queue) = inner.by_sender.get(&sender) else {
                continue;
            };
            let run: Vec<&Entry> = queue
                .run()
                .filter_map(|hash| inner.by_hash.get(hash))
                .collect();
            if !run.is_empty() {
                runs.push(run);
            }
        }
        let mut out = Vec::new();
        let mut bytes = 0usize;
        // A signer whose next transaction does not fit in the bytes left is done: its later
        // nonces depend on that one.
        let mut done = vec![false; runs.len()];
        for round in 0.. {
            let mut took = false;
            for (signer, run) in runs.iter().enumerate() {
                if done[signer] {
                    continue;
                }
                let Some(entry) = run.get(round) else {
                    done[signer] = true;
                    continue;
                };
                if out.len() >= max_txs {
                    return out;
                }
                if bytes + entry.bytes > max_bytes {
                    done[signer] = true;
                    continue;
                }
                bytes += entry.bytes;
                out.push((*entry.tx).clone());
                took = true;
            }
            if !took {
                break;
            }
        }
        out
    }

    /// The signers with pending transactions among `accounts`, with those transactions.
    pub fn pending_of_accounts(
        &self,
        accounts: &[AccountId],
    ) -> Vec<(AccountId, Vec<Arc<SignedTx>>)> {
        accounts
            .iter()
            .map(|account| (*account, self.pending_of(account)))
            .filter(|(_, txs)| !txs.is_empty())
            .collect()
    }

    /// Records that the block at `height` changed the keys or status of `accounts`.
    pub fn mark_changed(&self, accounts: &[AccountId], height: u64) {
        let mut inner = self.lock();
        for account in accounts {
            inner.changed.insert(*account, height);
        }
        if inner.changed.len() > CHANGED_ACCOUNTS_REMEMBERED {
            // Forget the oldest changes: transactions checked that long ago are long admitted.
            let mut heights: Vec<u64> = inner.changed.values().copied().collect();
            heights.sort_unstable();
            let cutoff = heights[heights.len() - CHANGED_ACCOUNTS_REMEMBERED];
            inner.changed.retain(|_, h| *h >= cutoff);
        }
    }

    /// Drops transactions that no longer authenticate against the finalized state (their
    /// signer's keys or status changed), remembering why.
    pub fn evict_unauthenticated(&self, evicted: &[(TxHash, &'static str, String)]) {
        let mut inner = self.lock();
        for (hash, code, message) in evicted {
            if remove_one(&mut inner, hash) {
                remember(&mut inner, *hash, (*code).to_string(), message.clone());
            }
        }
    }

    /// Runs [`Mempool::evict_stuck`] if [`NONCE_GAP_SWEEP_MS`] have passed since it last ran.
    pub fn sweep(&self, now_ms: u64) {
        use std::sync::atomic::Ordering;
        let last = self.swept_ms.load(Ordering::Relaxed);
        if now_ms.saturating_sub(last) >= NONCE_GAP_SWEEP_MS
            && self
                .swept_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.evict_stuck(now_ms);
        }
    }

    /// Drops the transactions that have waited behind a missing nonce of their signer for
    /// longer than [`NONCE_GAP_AGE_MAX_MS`] at `now_ms`; returns how many.
    pub fn evict_stuck(&self, now_ms: u64) -> usize {
        let mut inner = self.lock();
        let cutoff = now_ms.saturating_sub(NONCE_GAP_AGE_MAX_MS);
        let stuck: Vec<(TxHash, u64)> = inner
            .by_sender
            .values()
            .flat_map(|queue| queue.stuck())
            .filter_map(|hash| {
                let entry = inner.by_hash.get(hash)?;
                (entry.admitted_ms < cutoff).then_some((*hash, entry.tx.body.nonce))
            })
            .collect();
        for (hash, nonce) in &stuck {
            if remove_one(&mut inner, hash) {
                let message = format!(
                    "nonce {nonce} waited more than {} s for the account's earlier nonces; send \
                     them, then this transaction again",
                    NONCE_GAP_AGE_MAX_MS / 1000
                );
                remember(&mut inner, *hash, "nonce_gap".into(), message);
            }
        }
        stuck.len()
    }

    /// The pending transactions of `account`, in nonce order.
    pub fn pending_of(&self, account: &AccountId) -> Vec<Arc<SignedTx>> {
        let inner = self.lock();
        inner
            .by_sender
            .get(account)
            .map(|queue| {
                queue
                    .txs
                    .values()
                    .filter_map(|hash| inner.by_hash.get(hash).map(|e| e.tx.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Removes transactions (finalized ones).
    pub fn remove(&self, hashes: &[TxHash]) {
        let mut inner = self.lock();
        for hash in hashes {
            remove_one(&mut inner, hash);
        }
    }

    /// Removes transactions a proposer could not include, remembering why.
    pub fn reject(&self, rejected: &[(TxHash, String, String)]) {
        let mut inner = self.lock();
        for (hash, code, message) in rejected {
            if remove_one(&mut inner, hash) {
                remember(&mut inner, *hash, code.clone(), message.clone());
            }
        }
    }

    /// Why a transaction was dropped recently, as (code, message).
    pub fn rejection(&self, hash: &TxHash) -> Option<(String, String)> {
        self.lock().rejected.get(hash).cloned()
    }

    /// Drops the signer's transactions with a nonce below `next_nonce` (already used), which is
    /// the signer's next nonce in the finalized state.
    pub fn prune_stale(&self, signer: &AccountId, next_nonce: u64) {
        let mut inner = self.lock();
        let stale: Vec<TxHash> = match inner.by_sender.get_mut(signer) {
            Some(queue) => {
                queue.base = queue.base.max(next_nonce);
                queue.txs.range(..next_nonce).map(|(_, h)| *h).collect()
            }
            None => Vec::new(),
        };
        for hash in stale {
            if remove_one(&mut inner, &hash) {
                remember(
                    &mut inner,
                    hash,
                    "bad_nonce".into(),
                    "nonce already used".into(),
                );
            }
        }
    }
}

fn remove_one(inner: &mut Inner, hash: &TxHash) -> bool {
    let Some(entry) = inner.by_hash.remove(hash) else {
        return false;
    };
    inner.bytes -= entry.bytes;
    inner.order.remove(&entry.seq);
    let sender = entry.tx.body.signer;
    if let Some(queue) = inner.by_sender.get_mut(&sender) {
        queue.txs.remove(&entry.tx.body.nonce);
        if queue.txs.is_empty() {
            inner.by_sender.remove(&sender);
        }
    }
    true
}

fn remember(inner: &mut Inner, hash: TxHash, code: String, message: String) {
    if inner.rejected.insert(hash, (code, message)).is_none() {
        inner.rejected_order.push_back(hash);
    }
    while inner.rejected_order.len() > REJECTIONS_REMEMBERED {
        if let Some(old) = inner.rejected_order.pop_front() {
            inner.rejected.remove(&old);
        }
    }
}

impl civitas_exec::VerifiedTxs for Mempool {
    fn is_verified(&self, tx: &SignedTx) -> bool {
        self.holds_exactly(tx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_core::crypto::PrivateKey;
    use civitas_core::hash::Hash32;
    use civitas_core::instruction::{Instruction, NotaryInstruction};
    use civitas_core::time::TimestampMs;
    use civitas_core::tx::TxBody;

    fn tx(seed: u64, nonce: u64) -> SignedTx {
        let key = PrivateKey::from_test_seed(seed);
        TxBody {
            chain_id: "t".into(),
            signer: key.public_key().account_id(),
            nonce,
            expiry: TimestampMs(u64::MAX),
            instructions: vec![Instruction::Notary(NotaryInstruction::Anchor {
                document: Hash32::sha256(&nonce.to_be_bytes()),
                title: "x".into(),
                metadata: vec![],
            })],
            memo: String::new(),
        }
        .into_signed(&[&key])
    }

    fn add(pool: &Mempool, tx: SignedTx, next_nonce: u64) -> Result<TxHash, MempoolError> {
        add_at(pool, tx, next_nonce, 0)
    }

    fn add_at(
        pool: &Mempool,
        tx: SignedTx,
        next_nonce: u64,
        now_ms: u64,
    ) -> Result<TxHash, MempoolError> {
        let hash = tx.hash();
        pool.insert(tx, hash, next_nonce, now_ms, 0)
    }

    #[test]
    fn transactions_behind_a_missing_nonce_wait() {
        let pool = Mempool::new();
        // Signer 1's next final nonce is 5; 6 and 7 arrive before 5.
        add(&pool, tx(1, 6), 5).unwrap();
        add(&pool, tx(1, 7), 5).unwrap();
        assert!(!pool.has_candidates());
        assert!(pool.candidates(10, usize::MAX).is_empty());
        // Another signer's run 0, 1 then a gap before 3.
        add(&pool, tx(2, 0), 0).unwrap();
        add(&pool, tx(2, 1), 0).unwrap();
        add(&pool, tx(2, 3), 0).unwrap();
        assert!(pool.has_candidates());
        let nonces: Vec<u64> = pool
            .candidates(10, usize::MAX)
            .iter()
            .map(|t| t.body.nonce)
            .collect();
        assert_eq!(nonces, vec![0, 1]);
        // Nonce 5 arrives: signer 1's whole run can go.
        add(&pool, tx(1, 5), 5).unwrap();
        assert_eq!(pool.candidates(10, usize::MAX).len(), 5);
        // A block finalizes signer 1's nonce 5 elsewhere: 6 and 7 are next.
        pool.prune_stale(&tx(1, 0).body.signer, 6);
        let nonces: Vec<u64> = pool
            .candidates(10, usize::MAX)
            .iter()
            .filter(|t| t.body.signer == tx(1, 0).body.signer)
            .map(|t| t.body.nonce)
            .collect();
        assert_eq!(nonces, vec![6, 7]);
    }

    #[test]
    fn orders_by_signer_then_nonce_and_dedups() {
        let pool = Mempool::new();
        add(&pool, tx(1, 1), 0).unwrap();
        add(&pool, tx(2, 0), 0).unwrap();
        add(&pool, tx(1, 0), 0).unwrap();
        assert!(matches!(
            add(&pool, tx(1, 0), 0),
            Err(MempoolError::Duplicate(_))
        ));
        let picked = pool.candidates(10, usize::MAX);
        // Round-robin: signer 1 (oldest) then 2 in the first round, then signer 1's next.
        let order: Vec<(u64, u64)> = picked
            .iter()
            .map(|t| {
                (
                    if t.body.signer == tx(1, 0).body.signer {
                        1
                    } else {
                        2
                    },
                    t.body.nonce,
                )
            })
            .collect();
        assert_eq!(order, vec![(1, 0), (2, 0), (1, 1)]);
        pool.remove(&[picked[0].hash()]);
        assert_eq!(pool.len(), 2);
        pool.reject(&[(picked[2].hash(), "bad_nonce".into(), "x".into())]);
        assert_eq!(pool.rejection(&picked[2].hash()).unwrap().0, "bad_nonce");
        pool.prune_stale(&picked[1].body.signer, 1);
        assert!(pool.is_empty());
    }

    #[test]
    fn busy_signers_share_a_proposal_with_everyone_else() {
        let pool = Mempool::new();
        // Four accounts fill their whole window first; then twenty accounts send one each.
        for seed in 1..=4 {
            for nonce in 0..MEMPOOL_PER_ACCOUNT_MAX as u64 {
                add(&pool, tx(seed, nonce), 0).unwrap();
            }
        }
        for seed in 100..120 {
            add(&pool, tx(seed, 0), 0).unwrap();
        }
        let picked = pool.candidates(64, usize::MAX);
        assert_eq!(picked.len(), 64);
        let late: Vec<_> = (100..120).map(|seed| tx(seed, 0).body.signer).collect();
        let included = picked
            .iter()
            .filter(|t| late.contains(&t.body.signer))
            .count();
        assert_eq!(included, 20, "every later signer has a place");
        // Each busy signer gets an equal share of the rest, in nonce order.
        for seed in 1..=4 {
            let nonces: Vec<u64> = picked
                .iter()
                .filter(|t| t.body.signer == tx(seed, 0).body.signer)
                .map(|t| t.body.nonce)
                .collect();
            assert_eq!(nonces, (0..11).collect::<Vec<_>>(), "signer {seed}");
        }
    }

    #[test]
    fn transactions_stuck_behind_a_gap_leave_after_a_while() {
        let pool = Mempool::new();
        add_at(&pool, tx(1, 0), 0, 1_000).unwrap();
        add_at(&pool, tx(1, 2), 0, 1_000).unwrap();
        add_at(&pool, tx(2, 5), 0, 50_000).unwrap();
        assert_eq!(pool.evict_stuck(NONCE_GAP_AGE_MAX_MS), 0);
        assert_eq!(pool.evict_stuck(1_001 + NONCE_GAP_AGE_MAX_MS), 1);
        assert_eq!(pool.rejection(&tx(1, 2).hash()).unwrap().0, "nonce_gap");
        // The ready one stays; the other signer's is younger.
        assert!(pool.contains(&tx(1, 0).hash()));
        assert!(pool.contains(&tx(2, 5).hash()));
        assert_eq!(pool.evict_stuck(50_001 + NONCE_GAP_AGE_MAX_MS), 1);
        assert_eq!(pool.len(), 1);
        pool.evict_unauthenticated(&[(tx(1, 0).hash(), "wrong_key", "rotated".into())]);
        assert!(pool.is_empty());
        assert_eq!(pool.rejection(&tx(1, 0).hash()).unwrap().0, "wrong_key");
    }

    #[test]
    fn a_transaction_checked_before_its_signer_changed_is_checked_again() {
        let pool = Mempool::new();
        let signer = tx(1, 0).body.signer;
        pool.mark_changed(&[signer], 10);
        let stale = tx(1, 0);
        let hash = stale.hash();
        assert_eq!(
            pool.insert(stale.clone(), hash, 0, 0, 9),
            Err(MempoolError::Stale)
        );
        assert!(pool.insert(stale, hash, 0, 0, 10).is_ok());
        // Another signer is not affected.
        let other = tx(2, 0);
        assert!(pool.insert(other.clone(), other.hash(), 0, 0, 1).is_ok());
    }

    #[test]
    fn respects_count_and_byte_budgets() {
        let pool = Mempool::new();
        for n in 0..10 {
            add(&pool, tx(1, n), 0).unwrap();
        }
        assert_eq!(pool.candidates(3, usize::MAX).len(), 3);
        let one = tx(1, 0).encode_size();
        assert_eq!(pool.candidates(100, one * 2).len(), 2);
    }
}
