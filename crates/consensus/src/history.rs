//! The nodes of the history Merkle Mountain Range, kept so any finalized block can be proven
//! against a later certified header.
//!
//! Every header's `history_root` commits to the digests of all earlier blocks (see
//! [`civitas_core::mmr`]); the state keeps only the MMR's peaks, enough to append. A proof for
//! an old block needs the inner nodes along its path, so this store keeps every node, in
//! post-order, in an append-only journal of 32-byte digests (two nodes per block on average).
//! A proof then reads O(log n) nodes. It serves transaction bundles for blocks that have no
//! finalization certificate of their own (they became final through a descendant's).
//!
//! Durability: a block's nodes are appended and made durable before its state is applied (the
//! application's `capture` hook), so the store never lags the applied state. Appending a block
//! again after a restart adds nothing. A crash in the middle of an append leaves a partial
//! block's nodes at the end, which opening the store discards.

use civitas_core::hash::Hash32;
use civitas_core::mmr::{self, MmrProof, Peaks};
use civitas_state::{from_digest, to_digest};
use commonware_runtime::buffer::paged::CacheRef;
use commonware_storage::journal::contiguous::{Contiguous as _, Many, fixed};
use commonware_utils::{NZU64, NZUsize};
use std::sync::Arc;
use tokio::sync::RwLock;

type Journal<E> = fixed::Journal<E, commonware_cryptography::sha256::Digest>;

/// Why the history store failed. Storage failures are fatal for the node.
#[derive(Debug, thiserror::Error)]
#[error("history store: {0}")]
pub struct HistoryStoreError(String);

struct Inner<E: commonware_storage::Context> {
    journal: Journal<E>,
    /// The frontier after the last block appended.
    peaks: Peaks,
}

/// Every node of the history MMR over the finalized blocks.
pub struct HistoryStore<E: commonware_storage::Context> {
    /// `None` only after a write failed (the journal is consumed by writes).
    inner: Arc<RwLock<Option<Inner<E>>>>,
}

impl<E: commonware_storage::Context> Clone for HistoryStore<E> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

fn journal_config(prefix: &str, page_cache: CacheRef) -> fixed::Config {
    fixed::Config {
        partition: format!("{prefix}-history"),
        items_per_blob: NZU64!(1 << 20),
        page_cache,
        // Two pages: commonware raises anything smaller to that, with a warning on every start.
        write_buffer: NZUsize!(8192),
        replay_buffer: NZUsize!(64 * 1024),
    }
}

fn storage(what: &str) -> impl Fn(commonware_storage::journal::Error) -> HistoryStoreError + '_ {
    move |e| HistoryStoreError(format!("cannot {what}: {e}"))
}

impl<E: commonware_storage::Context> HistoryStore<E> {
    /// Opens the store in the partitions `{prefix}-history*`; a new store starts with the
    /// genesis block's digest as leaf 0.
    pub async fn open(
        context: E,
        prefix: &str,
        page_cache: CacheRef,
        genesis: &Hash32,
    ) -> Result<Self, HistoryStoreError> {
        let config = journal_config(prefix, page_cache);
        let journal = Journal::init(context.child("journal"), config.clone())
            .await
            .map_err(storage("open"))?;
        let size = journal.size();
        let leaves = mmr::leaves_within(size);
        let whole = mmr::node_count(leaves);
        // Drop the nodes of a block whose append a crash interrupted.
        let journal = if whole < size {
            drop(journal);
            Journal::init_at_most(context.child("repaired"), config, whole)
                .await
                .map_err(storage("repair"))?
        } else {
            journal
        };
        let positions: Vec<u64> = mmr::peak_positions(leaves)
            .iter()
            .map(|(p, _)| *p)
            .collect();
        let peaks = journal
            .read_many(&positions)
            .await
            .map_err(storage("read"))?
            .iter()
            .map(from_digest)
            .collect();
        let store = Self {
            inner: Arc::new(RwLock::new(Some(Inner {
                journal,
                peaks: Peaks {
                    leaf_count: leaves,
                    peaks,
                },
            }))),
        };
        if leaves == 0 {
            store.append(0, genesis).await?;
        }
        Ok(store)
    }

    /// Appends the digest of finalized block `height` and returns once it is durable. A block
    /// already appended is not appended twice; a height beyond the next is an error (the
    /// store would skip a block).
    pub async fn append(&self, height: u64, digest: &Hash32) -> Result<(), HistoryStoreError> {
        let mut guard = self.inner.write().await;
        let Some(mut inner) = guard.take() else {
            return Err(HistoryStoreError("a previous write failed".into()));
        };
        let next = inner.peaks.leaf_count;
        if height < next {
            *guard = Some(inner);
            return Ok(());
        }
        if height > next {
            *guard = Some(inner);
            return Err(HistoryStoreError(format!(
                "block {height} follows block {} in the history, but the blocks between are \
                 missing",
                next.saturating_sub(1)
            )));
        }
        let nodes: Vec<_> = inner
            .peaks
            .append_nodes(digest)
            .iter()
            .map(to_digest)
            .collect();
        let (journal, _) = inner
            .journal
            .append_many(Many::Flat(&nodes))
            .await
            .map_err(storage("write"))?;
        inner.journal = journal.sync().await.map_err(storage("sync"))?;
        *guard = Some(inner);
        Ok(())
    }

    /// How many blocks the store holds (the next height to append).
    pub async fn len(&self) -> u64 {
        let guard = self.inner.read().await;
        guard.as_ref().map_or(0, |inner| inner.peaks.leaf_count)
    }

    /// Whether the store holds no block.
    pub async fn is_empty(&self) -> bool {
        self.len().await == 0
    }

    /// The proof that block `height` is leaf `height` of the MMR over blocks `0..leaf_count`
    /// (the history committed to by the header at height `leaf_count`).
    pub async fn prove(&self, height: u64, leaf_count: u64) -> Result<MmrProof, HistoryStoreError> {
        let guard = self.inner.read().await;
        let Some(inner) = guard.as_ref() else {
            return Err(HistoryStoreError("a previous write failed".into()));
        };
        if leaf_count > inner.peaks.leaf_count {
            return Err(HistoryStoreError(format!(
                "the history holds {} blocks, not {leaf_count}",
                inner.peaks.leaf_count
            )));
        }
        let path = mmr::path_positions(height, leaf_count).ok_or_else(|| {
            HistoryStoreError(format!(
                "block {height} is not in the history of {leaf_count} blocks"
            ))
        })?;
        let peaks: Vec<u64> = mmr::peak_positions(leaf_count)
            .iter()
            .map(|(p, _)| *p)
            .collect();
        let read = |positions: Vec<u64>| async move {
            // The journal reads strictly increasing positions.
            let mut sorted = positions.clone();
            sorted.sort_unstable();
            let values = inner
                .journal
                .read_many(&sorted)
                .await
                .map_err(storage("read"))?;
            Ok::<_, HistoryStoreError>(
                positions
                    .iter()
                    .map(|p| {
                        let at = sorted.binary_search(p).unwrap_or_default();
                        from_digest(&values[at])
                    })
                    .collect::<Vec<Hash32>>(),
            )
        };
        Ok(MmrProof {
            index: height,
            leaf_count,
            path: read(path).await?,
            peaks: read(peaks).await?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_runtime::{Runner as _, Supervisor as _, deterministic};
    use commonware_utils::NZU16;

    fn digest(height: u64) -> Hash32 {
        Hash32::sha256(&height.to_be_bytes())
    }

    #[test]
    fn proofs_verify_against_every_earlier_root_and_survive_a_restart() {
        deterministic::Runner::default().start(|context| async move {
            let cache = || CacheRef::new(NZU16!(1024), NZUsize!(16));
            let mut roots = vec![Peaks::default().root()];
            let mut frontier = Peaks::default();
            frontier.append(&digest(0));
            roots.push(frontier.root());
            {
                let store = HistoryStore::open(context.child("first"), "t", cache(), &digest(0))
                    .await
                    .unwrap();
                for height in 1..40 {
                    store.append(height, &digest(height)).await.unwrap();
                    // Applied again after a restart: nothing is added.
                    store.append(height, &digest(height)).await.unwrap();
                    frontier.append(&digest(height));
                    roots.push(frontier.root());
                }
                assert!(store.append(41, &digest(41)).await.is_err());
            }
            let store = HistoryStore::open(context.child("second"), "t", cache(), &digest(0))
                .await
                .unwrap();
            assert_eq!(store.len().await, 40);
            for leaf_count in 1..=40u64 {
                for height in 0..leaf_count {
                    let proof = store.prove(height, leaf_count).await.unwrap();
                    assert!(
                        proof.verify(&roots[leaf_count as usize], &digest(height)),
                        "block {height} of {leaf_count}"
                    );
                    assert!(!proof.verify(&roots[leaf_count as usize], &digest(height + 1)));
                }
            }
            assert!(store.prove(3, 41).await.is_err());
            assert!(store.prove(5, 5).await.is_err());
        });
    }

    #[test]
    fn a_partly_appended_block_is_discarded_when_opening() {
        deterministic::Runner::default().start(|context| async move {
            let cache = || CacheRef::new(NZU16!(1024), NZUsize!(16));
            {
                let store = HistoryStore::open(context.child("first"), "t", cache(), &digest(0))
                    .await
                    .unwrap();
                for height in 1..3 {
                    store.append(height, &digest(height)).await.unwrap();
                }
            }
            // Block 3 adds three nodes (a leaf and two merges); a crash kept only the leaf.
            {
                let journal = Journal::init(context.child("raw"), journal_config("t", cache()))
                    .await
                    .unwrap();
                assert_eq!(journal.size(), mmr::node_count(3));
                let (journal, _) = journal.append(&to_digest(&digest(99))).await.unwrap();
                journal.sync().await.unwrap();
            }
            let store = HistoryStore::open(context.child("second"), "t", cache(), &digest(0))
                .await
                .unwrap();
            assert_eq!(store.len().await, 3);
            store.append(3, &digest(3)).await.unwrap();
            let mut frontier = Peaks::default();
            for height in 0..4 {
                frontier.append(&digest(height));
            }
            let proof = store.prove(3, 4).await.unwrap();
            assert!(proof.verify(&frontier.root(), &digest(3)));
        });
    }
}
