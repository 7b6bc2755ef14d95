//! Receipts of finalized transactions, kept beside the blocks rather than in the state.
//!
//! Each header commits to its block's receipts through `receipts_root`, so a receipt needs no
//! state key to be provable: a transaction bundle carries the block's header, the receipt and
//! its Merkle path. Keeping receipts out of the authenticated state removes a key per
//! transaction that would stay in the state forever (its index entry in memory, its operation
//! and Merkle nodes on disk, and the re-linking of its neighbour in the ordered key space).
//!
//! The store is an archive of receipts numbered by the transaction's position in the chain, with
//! an in-memory index from the first 8 bytes of the transaction hash to that position (one map
//! entry per transaction: two 8-byte numbers and the map's overhead; a lookup reads one receipt
//! from disk). Writes are appended to buffered journals, so storing a block's receipts costs a
//! few writes, not a few per receipt. (An on-disk hash table, commonware's immutable archive,
//! keeps almost nothing in memory, but reads and rewrites a table bucket for every receipt: in
//! five paired benchmark runs it cost each validator 12–48% more CPU per transaction than the
//! build that still kept receipts in the state, where this design costs 25% less.)
//!
//! Durability: the application writes a block's receipts, and waits for them to be durable,
//! before the block's state is applied (the `capture` hook). If the node stops in between, the
//! block is applied again on restart and the receipts already stored are not stored twice.
//! Journals are replayed in order, so what a crash leaves of a block's receipts is always a
//! first part of them.

use civitas_core::receipt::Receipt;
use civitas_core::tx::TxHash;
use civitas_state::to_digest;
use commonware_runtime::buffer::paged::CacheRef;
use commonware_storage::archive::{Archive as _, Identifier, prunable};
use commonware_storage::translator::EightCap;
use commonware_utils::{NZU64, NZUsize};
use std::sync::Arc;
use tokio::sync::RwLock;

type ReceiptArchive<E> =
    prunable::Archive<EightCap, E, commonware_cryptography::sha256::Digest, Receipt>;

/// Durable receipts of finalized transactions, by transaction hash.
pub struct ReceiptStore<E>
where
    E: commonware_storage::Context,
{
    /// `None` only after a write failed (the archive is consumed by writes).
    inner: Arc<RwLock<Option<ReceiptArchive<E>>>>,
}

impl<E> Clone for ReceiptStore<E>
where
    E: commonware_storage::Context,
{
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

/// Why the receipt store failed. Storage failures are fatal for the node.
#[derive(Debug, thiserror::Error)]
#[error("receipt store: {0}")]
pub struct ReceiptStoreError(String);

/// Whether `archive` holds the receipt of `receipt.tx`.
async fn has<E: commonware_storage::Context>(
    archive: &ReceiptArchive<E>,
    receipt: &Receipt,
) -> Result<bool, ReceiptStoreError> {
    archive
        .has(Identifier::Key(&to_digest(&receipt.tx)))
        .await
        .map_err(|e| ReceiptStoreError(format!("cannot read: {e}")))
}

impl<E> ReceiptStore<E>
where
    E: commonware_storage::Context,
{
    /// Opens the store in the partitions `{prefix}-receipts-*`.
    pub async fn open(
        context: E,
        prefix: &str,
        page_cache: CacheRef,
    ) -> Result<Self, ReceiptStoreError> {
        let config = prunable::Config {
            translator: EightCap,
            metadata_partition: format!("{prefix}-receipts-metadata"),
            key_partition: format!("{prefix}-receipts-key"),
            key_page_cache: page_cache,
            value_partition: format!("{prefix}-receipts-value"),
            compression: None,
            codec_config: (),
            items_per_section: NZU64!(65_536),
            key_write_buffer: NZUsize!(64 * 1024),
            value_write_buffer: NZUsize!(256 * 1024),
            replay_buffer: NZUsize!(1024 * 1024),
        };
        let archive = prunable::Archive::init(context, config)
            .await
            .map_err(|e| ReceiptStoreError(format!("cannot open: {e}")))?;
        Ok(Self {
            inner: Arc::new(RwLock::new(Some(archive))),
        })
    }

    /// Stores a finalized block's receipts and returns once they are durable. Receipts already
    /// stored (the block is being applied again after a restart) are not stored twice.
    pub async fn put_block(&self, receipts: &[Receipt]) -> Result<(), ReceiptStoreError> {
        let (Some(first), Some(last)) = (receipts.first(), receipts.last()) else {
            return Ok(());
        };
        let mut guard = self.inner.write().await;
        let Some(mut archive) = guard.take() else {
            return Err(ReceiptStoreError("a previous write failed".into()));
        };
        if has(&archive, last).await? {
            *guard = Some(archive);
            return Ok(());
        }
        // A first part stored before a crash: skip it.
        let resumed = has(&archive, first).await?;
        let mut next = archive.last_index().map_or(0, |last| last + 1);
        for receipt in receipts {
            if resumed && has(&archive, receipt).await? {
                continue;
            }
            archive = archive
                .put(next, to_digest(&receipt.tx), receipt)
                .await
                .map_err(|e| ReceiptStoreError(format!("cannot write: {e}")))?;
            next += 1;
        }
        let archive = archive
            .sync()
            .await
            .map_err(|e| ReceiptStoreError(format!("cannot sync: {e}")))?;
        *guard = Some(archive);
        Ok(())
    }

    /// The receipt of the finalized transaction `tx`, if this node stores it.
    pub async fn get(&self, tx: &TxHash) -> Result<Option<Receipt>, ReceiptStoreError> {
        let guard = self.inner.read().await;
        let Some(archive) = guard.as_ref() else {
            return Err(ReceiptStoreError("a previous write failed".into()));
        };
        let receipt = archive
            .get(Identifier::Key(&to_digest(tx)))
            .await
            .map_err(|e| ReceiptStoreError(format!("cannot read: {e}")))?;
        // The archive finds entries by a hash table over the key: make sure the entry found
        // is this transaction's.
        Ok(receipt.filter(|r| r.tx == *tx))
    }

    /// How many receipts are stored.
    pub async fn count(&self) -> u64 {
        let guard = self.inner.read().await;
        guard
            .as_ref()
            .and_then(|archive| archive.last_index())
            .map_or(0, |last| last + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_core::crypto::AccountId;
    use civitas_core::hash::Hash32;
    use civitas_core::receipt::TxOutcome;
    use civitas_core::time::TimestampMs;
    use commonware_runtime::{Runner as _, Supervisor as _, deterministic};
    use commonware_utils::NZU16;

    fn receipt(height: u64, index: u32) -> Receipt {
        Receipt {
            tx: Hash32::sha256(&[height.to_be_bytes(), u64::from(index).to_be_bytes()].concat()),
            height,
            index,
            timestamp: TimestampMs(1_000 * height),
            signer: AccountId(Hash32::sha256(b"signer").0),
            nonce: u64::from(index),
            outcome: TxOutcome::Success,
            events: Vec::new(),
        }
    }

    #[test]
    fn receipts_survive_a_restart_and_a_block_stored_twice_is_stored_once() {
        deterministic::Runner::default().start(|context| async move {
            let cache = || CacheRef::new(NZU16!(1024), NZUsize!(16));
            let block1: Vec<Receipt> = (0..3).map(|i| receipt(1, i)).collect();
            let block2: Vec<Receipt> = (0..2).map(|i| receipt(2, i)).collect();
            {
                let store = ReceiptStore::open(context.child("first"), "t", cache())
                    .await
                    .unwrap();
                store.put_block(&block1).await.unwrap();
                store.put_block(&[]).await.unwrap();
                assert_eq!(store.count().await, 3);
            }
            let store = ReceiptStore::open(context.child("second"), "t", cache())
                .await
                .unwrap();
            assert_eq!(
                store.get(&block1[2].tx).await.unwrap(),
                Some(block1[2].clone())
            );
            // Applied again after a restart: nothing is added.
            store.put_block(&block1).await.unwrap();
            assert_eq!(store.count().await, 3);
            // A crash left only the first part of a block: the rest is stored once.
            store.put_block(&block2[..1]).await.unwrap();
            store.put_block(&block2).await.unwrap();
            assert_eq!(store.count().await, 5);
            for r in block1.iter().chain(&block2) {
                assert_eq!(store.get(&r.tx).await.unwrap().as_ref(), Some(r));
            }
            let unknown = Hash32::sha256(b"never included");
            assert_eq!(store.get(&unknown).await.unwrap(), None);
        });
    }
}
