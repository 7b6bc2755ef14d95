//! A write-buffering view over a version of the state.
//!
//! Reads fall through the current transaction's writes, then the block's, then the base state.
//! A transaction's writes are kept apart until it succeeds, so a failed transaction leaves no
//! trace but its receipt and nonce.

use crate::decode_value;
use civitas_core::bundle::StateKey;
use civitas_core::codec::to_vec;
use civitas_core::hash::Hash32;
use civitas_state::{StateError, StateView};
use commonware_codec::{Decode, Encode};
use std::collections::BTreeMap;

/// Buffered writes over a base state.
pub struct Overlay<'a, S> {
    base: &'a S,
    block: BTreeMap<Hash32, Option<Vec<u8>>>,
    tx: Option<BTreeMap<Hash32, Option<Vec<u8>>>>,
}

impl<'a, S: StateView> Overlay<'a, S> {
    /// An empty overlay over `base`.
    pub fn new(base: &'a S) -> Self {
        Self {
            base,
            block: BTreeMap::new(),
            tx: None,
        }
    }

    /// The raw value under a typed key.
    pub async fn get_raw(&mut self, key: &StateKey) -> Result<Option<Vec<u8>>, StateError> {
        let hashed = key.hashed();
        if let Some(tx) = &self.tx
            && let Some(value) = tx.get(&hashed)
        {
            return Ok(value.clone());
        }
        if let Some(value) = self.block.get(&hashed) {
            return Ok(value.clone());
        }
        self.base.get(&hashed).await
    }

    /// The decoded value under a typed key.
    pub async fn get_typed<T: Decode<Cfg = ()>>(
        &mut self,
        key: &StateKey,
    ) -> Result<Option<T>, StateError> {
        match self.get_raw(key).await? {
            Some(bytes) => Ok(Some(decode_value(key, &bytes)?)),
            None => Ok(None),
        }
    }

    /// Whether a key holds a value.
    pub async fn contains(&mut self, key: &StateKey) -> Result<bool, StateError> {
        Ok(self.get_raw(key).await?.is_some())
    }

    fn layer(&mut self) -> &mut BTreeMap<Hash32, Option<Vec<u8>>> {
        match &mut self.tx {
            Some(tx) => tx,
            None => &mut self.block,
        }
    }

    /// Writes raw bytes.
    pub fn put_raw(&mut self, key: &StateKey, value: Vec<u8>) {
        self.layer().insert(key.hashed(), Some(value));
    }

    /// Writes a value.
    pub fn put_typed<T: Encode>(&mut self, key: &StateKey, value: &T) {
        self.put_raw(key, to_vec(value));
    }

    /// Deletes a key.
    pub fn delete(&mut self, key: &StateKey) {
        self.layer().insert(key.hashed(), None);
    }

    /// Starts buffering a transaction's writes separately.
    pub fn begin_tx(&mut self) {
        debug_assert!(self.tx.is_none(), "transactions do not nest");
        self.tx = Some(BTreeMap::new());
    }

    /// Keeps the transaction's writes.
    pub fn commit_tx(&mut self) {
        if let Some(tx) = self.tx.take() {
            self.block.extend(tx);
        }
    }

    /// Drops the transaction's writes.
    pub fn rollback_tx(&mut self) {
        self.tx = None;
    }

    /// All writes, in key order.
    pub fn into_writes(mut self) -> BTreeMap<Hash32, Option<Vec<u8>>> {
        self.commit_tx();
        self.block
    }
}

/// A state held in memory (tests, tools).
#[derive(Clone, Debug, Default)]
pub struct MemoryState(pub BTreeMap<Hash32, Vec<u8>>);

impl MemoryState {
    /// Applies writes.
    pub fn apply(&mut self, writes: &BTreeMap<Hash32, Option<Vec<u8>>>) {
        for (key, value) in writes {
            match value {
                Some(v) => {
                    self.0.insert(*key, v.clone());
                }
                None => {
                    self.0.remove(key);
                }
            }
        }
    }
}

impl StateView for MemoryState {
    async fn get(&self, key: &Hash32) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.0.get(key).cloned())
    }
}
