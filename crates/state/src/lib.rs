//! Authenticated state: a QMDB `current::ordered` database of 32-byte hashed keys to bounded
//! byte values, with proofs of a key's current value and of a key's absence under one root.
//!
//! Typed keys ([`civitas_core::bundle::StateKey`]) hash to the stored 32-byte keys. Each block's
//! commit carries the block height as QMDB commit metadata, so a reader holding the database can
//! always tell which header's `state_root` the current root is.
//!
//! Commonware storage types stay inside this crate and `civitas-consensus`.

pub mod proof;

use civitas_core::bundle::StateKey;
use civitas_core::hash::Hash32;
use commonware_cryptography::{Sha256, sha256};
use commonware_glue::stateful::db::{ManagedDb, Shared};
use commonware_parallel::Sequential;
use commonware_runtime::Spawner;
use commonware_runtime::buffer::paged::CacheRef;
use commonware_storage::Context as StorageContext;
use commonware_storage::{
    journal::contiguous::variable::Config as VariableJournalConfig,
    merkle::full::Config as MerkleConfig,
    mmr,
    qmdb::current::{VariableConfig, ordered::variable},
    translator::EightCap,
};
use commonware_utils::{NZU64, NZUsize};
use std::future::Future;

/// Bytes per bitmap chunk in the current-state database (one digest wide: smallest proofs).
pub const CHUNK_BYTES: usize = 32;

/// The authenticated state database.
pub type Db<E> = variable::Db<
    mmr::Family,
    E,
    sha256::Digest,
    StateValue,
    Sha256,
    EightCap,
    CHUNK_BYTES,
    Sequential,
>;

/// A stored value: at most [`civitas_core::limits::STATE_VALUE_MAX_BYTES`] bytes, encoded as a
/// varint length and the bytes. Its decoder needs no configuration, which state sync requires.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StateValue(pub Vec<u8>);

impl commonware_codec::Write for StateValue {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.0.write(buf);
    }
}

impl commonware_codec::EncodeSize for StateValue {
    fn encode_size(&self) -> usize {
        self.0.encode_size()
    }
}

impl commonware_codec::Read for StateValue {
    type Cfg = ();
    fn read_cfg(
        buf: &mut impl commonware_codec::Buf,
        _: &(),
    ) -> Result<Self, commonware_codec::Error> {
        Vec::<u8>::read_cfg(
            buf,
            &(
                commonware_codec::RangeCfg::new(..=civitas_core::limits::STATE_VALUE_MAX_BYTES),
                (),
            ),
        )
        .map(Self)
    }
}

/// The database as shared between the consensus application and readers.
pub type SharedDb<E> = Shared<Db<E>>;

/// Why a state read failed. Storage failures are fatal for the node; they are never a
/// transaction's fault.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The storage engine reported an error.
    #[error("state storage error: {0}")]
    Storage(String),
    /// A stored value could not be decoded: the state is corrupt or from other software.
    #[error("stored value under {key} is corrupt: {reason}")]
    Corrupt {
        /// Which key.
        key: String,
        /// What was wrong.
        reason: String,
    },
}

/// Read access to some version of the state.
pub trait StateView: Send + Sync {
    /// The value under the stored key `key`, if any.
    fn get(&self, key: &Hash32)
    -> impl Future<Output = Result<Option<Vec<u8>>, StateError>> + Send;
}

/// Converts our digest to commonware's.
pub fn to_digest(hash: &Hash32) -> sha256::Digest {
    sha256::Digest::from(hash.0)
}

/// Converts commonware's digest to ours.
pub fn from_digest(digest: &sha256::Digest) -> Hash32 {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    Hash32(out)
}

/// The stored key for a typed key.
pub fn stored_key(key: &StateKey) -> sha256::Digest {
    to_digest(&key.hashed())
}

/// Merkle nodes per file of the state's Merkle journal (32 bytes each: 8 MiB files).
///
/// Every file of a journal stays open; with 4,096 nodes per file a state of 10 million keys
/// needed more than 20,000 open files, and a chain of a few hundred thousand transactions more
/// than the 1,024 most systems allow a process by default.
pub const MERKLE_NODES_PER_BLOB: std::num::NonZeroU64 = NZU64!(262_144);
/// Operations per section (file) of the state's operation log and of its offsets.
pub const LOG_OPERATIONS_PER_SECTION: std::num::NonZeroU64 = NZU64!(65_536);

/// Storage configuration for the state database under `prefix`.
pub fn db_config(
    prefix: &str,
    page_cache: CacheRef,
) -> VariableConfig<EightCap, ((), ()), Sequential> {
    VariableConfig {
        merkle_config: MerkleConfig {
            journal_partition: format!("{prefix}-state-mmr-journal"),
            metadata_partition: format!("{prefix}-state-mmr-metadata"),
            items_per_blob: MERKLE_NODES_PER_BLOB,
            write_buffer: NZUsize!(64 * 1024),
            replay_buffer: NZUsize!(1024 * 1024),
            strategy: Sequential,
            page_cache: page_cache.clone(),
        },
        journal_config: VariableJournalConfig {
            partition: format!("{prefix}-state-log"),
            items_per_section: LOG_OPERATIONS_PER_SECTION,
            compression: None,
            codec_config: ((), ()),
            page_cache,
            write_buffer: NZUsize!(64 * 1024),
            replay_buffer: NZUsize!(1024 * 1024),
        },
        grafted_metadata_partition: format!("{prefix}-state-grafted-metadata"),
        translator: EightCap,
        init_cache: Some(NZUsize!(4096)),
        init_buffer: NZUsize!(1 << 20),
        init_concurrency: (),
    }
}

/// Encodes the commit metadata for a block at `height`.
pub fn height_metadata(height: u64) -> StateValue {
    StateValue(height.to_be_bytes().to_vec())
}

/// Decodes commit metadata written by [`height_metadata`].
pub fn metadata_height(metadata: Option<&StateValue>) -> Option<u64> {
    let bytes: [u8; 8] = metadata?.0.as_slice().try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

/// A speculative batch of writes on top of some version of the state.
pub type Batch<E> = <Db<E> as ManagedDb<E>>::Unmerkleized;
/// A batch whose root has been computed.
pub type Merkleized<E> = <Db<E> as ManagedDb<E>>::Merkleized;

/// Reads through a speculative batch (its writes, its ancestors', then the database).
pub struct BatchView<'a, E>(pub &'a Batch<E>)
where
    E: StorageContext + Spawner;

impl<E> StateView for BatchView<'_, E>
where
    E: StorageContext + Spawner,
{
    async fn get(&self, key: &Hash32) -> Result<Option<Vec<u8>>, StateError> {
        self.0
            .get(&to_digest(key))
            .await
            .map(|v| v.map(|v| v.0))
            .map_err(|e| StateError::Storage(e.to_string()))
    }
}

/// Reads the latest applied (finalized) state.
pub struct DbView<E>(pub SharedDb<E>)
where
    E: StorageContext + Spawner;

impl<E> StateView for DbView<E>
where
    E: StorageContext + Spawner,
{
    async fn get(&self, key: &Hash32) -> Result<Option<Vec<u8>>, StateError> {
        let guard = self.0.read().await;
        guard
            .get(&to_digest(key))
            .await
            .map(|v| v.map(|v| v.0))
            .map_err(|e| StateError::Storage(e.to_string()))
    }
}

/// The state-sync source this release uses: it declines every request, so nodes catch up by
/// replaying blocks (marshal backfill) rather than by downloading a recent state.
///
/// Commonware's p2p state-sync resolver only carries operations whose codec needs no
/// configuration, which variable-size values do not satisfy; a resolver for them is tracked as
/// follow-up work. Nothing requests state sync unless an operator persists a sync floor.
pub struct NoStateSync<E>(std::marker::PhantomData<fn() -> E>);

impl<E> Clone for NoStateSync<E> {
    fn clone(&self) -> Self {
        Self(std::marker::PhantomData)
    }
}

impl<E> Default for NoStateSync<E> {
    fn default() -> Self {
        Self(std::marker::PhantomData)
    }
}

/// Why a state-sync request was declined.
#[derive(Debug, thiserror::Error)]
#[error("state sync is not available in this release; the node catches up by replaying blocks")]
pub struct StateSyncUnavailable;

impl<E> commonware_storage::qmdb::sync::Source for NoStateSync<E>
where
    E: StorageContext + Spawner,
{
    type Family = mmr::Family;
    type Digest = sha256::Digest;
    type Op = <Db<E> as commonware_storage::qmdb::sync::Database>::Op;
    type Error = StateSyncUnavailable;

    async fn serve(
        &self,
        _request: commonware_storage::qmdb::sync::Request<Self::Family>,
    ) -> commonware_storage::qmdb::sync::source::Result<Self> {
        Err(StateSyncUnavailable)
    }
}

impl<E> commonware_glue::stateful::db::AttachableResolver<Db<E>> for NoStateSync<E>
where
    E: StorageContext + Spawner,
{
    async fn attach_database(&self, _db: SharedDb<E>) {}
}
