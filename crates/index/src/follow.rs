//! The follower: keeps the index at the node's finalized height.
//!
//! It reads the height the index has applied, asks the node for the blocks after it, and
//! applies them (several at once while it is behind, each batch one SQL transaction). A
//! restart resumes after the applied height; a database that fails is retried with a growing
//! pause, so an index that is down never stops the node, and nothing a block holds can make
//! the follower panic.

use crate::{Finalized, Index, IndexError};
use civitas_core::hash::Hash32;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Most blocks applied in one SQL transaction while the index is behind.
pub const BATCH_BLOCKS: usize = 64;
/// Most transactions in one batch.
pub const BATCH_TXS: usize = 20_000;
/// Longest pause after a failure.
pub const RETRY_MAX: Duration = Duration::from_secs(30);
/// Longest wait for a new block before the follower looks again on its own.
pub const POLL: Duration = Duration::from_secs(2);

/// An answer that comes later.
pub type Later<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where finalized blocks come from: the node.
pub trait Source: Send + Sync + 'static {
    /// The chain (the genesis hash).
    fn chain(&self) -> Hash32;
    /// The latest finalized height.
    fn tip(&self) -> u64;
    /// A finalized block with its receipts, if the node has it.
    fn block(&self, height: u64) -> Later<'_, Result<Option<Finalized>, String>>;
    /// Returns when a block may have been finalized since the last call (or after a while).
    fn changed(&self) -> Later<'_, ()>;
}

/// What the follower has done, for status pages and metrics, and for those waiting for new
/// rows (event streams, webhook deliveries: [`Progress::watch`]).
pub struct Progress {
    applied: AtomicU64,
    tip: AtomicU64,
    rows: AtomicU64,
    error: Mutex<Option<String>>,
    batch: tokio::sync::watch::Sender<Arc<Batch>>,
}

/// Most accounts a [`Batch`] lists; a batch that names more says only that it may name any.
pub const BATCH_ACCOUNTS_MAX: usize = 10_000;

/// The blocks the follower applied last, and the accounts their events name: a stream waiting
/// for one account's notifications looks in the index only when its account is among them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    /// The first block applied.
    pub from: u64,
    /// The last.
    pub to: u64,
    /// The accounts named by their events; `None` when there were more than
    /// [`BATCH_ACCOUNTS_MAX`] (any account may have news).
    pub accounts: Option<std::collections::BTreeSet<civitas_core::crypto::AccountId>>,
}

impl Batch {
    /// Whether `account` may have news in these blocks.
    pub fn may_name(&self, account: &civitas_core::crypto::AccountId) -> bool {
        self.accounts.as_ref().is_none_or(|a| a.contains(account))
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self {
            applied: AtomicU64::new(0),
            tip: AtomicU64::new(0),
            rows: AtomicU64::new(0),
            error: Mutex::new(None),
            batch: tokio::sync::watch::Sender::new(Arc::new(Batch::default())),
        }
    }
}

impl Progress {
    /// A receiver told each time the follower applies blocks (the value is the last batch).
    pub fn watch(&self) -> tokio::sync::watch::Receiver<Arc<Batch>> {
        self.batch.subscribe()
    }

    /// The height applied.
    pub fn applied(&self) -> u64 {
        self.applied.load(Ordering::Relaxed)
    }

    /// The node's height when the follower last looked.
    pub fn tip(&self) -> u64 {
        self.tip.load(Ordering::Relaxed)
    }

    /// Blocks the index is behind the node.
    pub fn lag(&self) -> u64 {
        self.tip().saturating_sub(self.applied())
    }

    /// Transactions applied since the follower started.
    pub fn transactions(&self) -> u64 {
        self.rows.load(Ordering::Relaxed)
    }

    /// The last failure, while it lasts.
    pub fn error(&self) -> Option<String> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set_error(&self, error: Option<String>) {
        *self.error.lock().unwrap_or_else(|p| p.into_inner()) = error;
    }
}

/// Follows `source` into `index` until the task is dropped.
pub async fn follow(index: Index, source: impl Source, progress: Arc<Progress>) {
    let chain = source.chain();
    let mut pause = Duration::from_millis(250);
    loop {
        match step(&index, &source, &chain, &progress).await {
            Ok(true) => {
                progress.set_error(None);
                pause = Duration::from_millis(250);
            }
            Ok(false) => {
                progress.set_error(None);
                pause = Duration::from_millis(250);
                let _ = tokio::time::timeout(POLL, source.changed()).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = pause.as_millis() as u64, "the index could not apply blocks");
                progress.set_error(Some(e.to_string()));
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(RETRY_MAX);
            }
        }
    }
}

/// Applies the next batch of blocks; `false` when the index was already at the tip.
pub async fn step(
    index: &Index,
    source: &impl Source,
    chain: &Hash32,
    progress: &Progress,
) -> Result<bool, IndexError> {
    let applied = index.applied().await?.map_or(0, |a| a.height);
    progress.applied.store(applied, Ordering::Relaxed);
    let tip = source.tip();
    progress.tip.store(tip, Ordering::Relaxed);
    if tip <= applied {
        return Ok(false);
    }
    let mut batch = Vec::new();
    let mut txs = 0;
    let mut height = applied + 1;
    while height <= tip && batch.len() < BATCH_BLOCKS && txs < BATCH_TXS {
        match source.block(height).await {
            Ok(Some(block)) => {
                txs += block.block.txs.len();
                batch.push(block);
            }
            Ok(None) => break,
            Err(e) => return Err(IndexError::Node(format!("block {height}: {e}"))),
        }
        height += 1;
    }
    if batch.is_empty() {
        return Ok(false);
    }
    index.apply(chain, &batch).await?;
    progress.applied.store(height - 1, Ordering::Relaxed);
    progress.rows.fetch_add(txs as u64, Ordering::Relaxed);
    // An event filed under a topic may be news to whoever watches it: any account may have
    // some (the follower does not read who watches what).
    let filed = index.filed_between(applied + 1, height - 1).await?;
    let mut accounts = (!filed).then(std::collections::BTreeSet::new);
    for event in batch
        .iter()
        .flat_map(|b| b.receipts.iter().chain(&b.end))
        .flat_map(|r| &r.events)
    {
        if let Some(set) = &mut accounts {
            set.extend(event.accounts());
            if set.len() > BATCH_ACCOUNTS_MAX {
                accounts = None;
            }
        }
    }
    progress.batch.send_replace(Arc::new(Batch {
        from: applied + 1,
        to: height - 1,
        accounts,
    }));
    Ok(true)
}
