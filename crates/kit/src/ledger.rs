//! What a module's routes and pages read: the ledger as of the node's latest finalized block.
//!
//! A node implements [`Read`] (its consensus service does); the API wraps it in a [`Ledger`]
//! with the assembled key spaces and hands that to every module's routes as their state. A
//! module never sees the node itself, so its routes can read and prove records but cannot
//! submit, vote or change anything.

use crate::space::Space;
use civitas_core::bundle::{ProofBundle, StateKey};
use civitas_core::codec::from_slice;
use civitas_core::genesis::Genesis;
use civitas_core::governance::ValidatorSet;
use civitas_core::time::TimestampMs;
pub use civitas_state::proof::Proven;
use commonware_codec::Decode;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// Why a read failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum QueryError {
    /// Nothing there.
    #[error("{0}")]
    NotFound(String),
    /// Try again shortly.
    #[error("{0}")]
    Unavailable(String),
    /// Storage failed.
    #[error("{0}")]
    Internal(String),
    /// Too many queries are waiting; try again shortly.
    #[error("the node is answering as many queries as it can; try again in a moment")]
    Busy,
}

/// Why a record the ledger always holds is absent: no block is final yet (the genesis state is
/// written by the first block: try again), or the node's fault.
fn missing(key: &StateKey, height: u64) -> QueryError {
    if height == 0 {
        QueryError::Unavailable(
            "the network has not finalized its first block yet; try again in a moment".into(),
        )
    } else {
        QueryError::Internal(format!("{} is missing from the state", key.display()))
    }
}

/// An answer the node gives later.
pub type Answer<'a, T> = Pin<Box<dyn Future<Output = Result<T, QueryError>> + Send + 'a>>;

/// What a node answers about its latest finalized state.
pub trait Read: Send + Sync + 'static {
    /// A key's value (or absence) with its proof against the state root of the latest
    /// finalized height.
    fn state(&self, key: StateKey) -> Answer<'_, Proven>;
    /// A proof bundle for a key's value (or absence) at the latest certified height.
    fn bundle(&self, key: StateKey) -> Answer<'_, ProofBundle>;
    /// The genesis document.
    fn genesis(&self) -> &Genesis;
    /// The latest finalized height.
    fn height(&self) -> u64;
    /// The time of the latest finalized block (what "now" is on pages that show the ledger).
    fn time(&self) -> TimestampMs;
    /// The current epoch and its validator set.
    fn epoch(&self) -> (u64, ValidatorSet);
}

/// The ledger as a module's routes read it: a node's answers and the key spaces of every
/// registered module. Cheap to clone.
#[derive(Clone)]
pub struct Ledger {
    node: Arc<dyn Read>,
    spaces: &'static [&'static Space],
    index: Arc<std::sync::OnceLock<Reads>>,
    /// False on a node configured to keep no read model.
    keeps_index: bool,
}

/// The node's read model and its follower's progress.
#[derive(Clone)]
pub struct Reads {
    /// The index.
    pub index: civitas_index::Index,
    /// How far it has followed the chain.
    pub progress: Arc<civitas_index::follow::Progress>,
}

impl Ledger {
    /// `node`'s answers, read through `spaces` (the assembled list of every key space).
    pub fn new(node: impl Read, spaces: &'static [&'static Space]) -> Self {
        Self {
            node: Arc::new(node),
            spaces,
            index: Arc::default(),
            keeps_index: true,
        }
    }

    /// The same ledger on a node that keeps no read model: its lists say so.
    pub fn without_index(mut self) -> Self {
        self.keeps_index = false;
        self
    }

    /// The same ledger whose read model arrives through `cell` once it is open (a node whose
    /// database is not reachable at start keeps trying, and its lists answer once it is).
    pub fn with_index_later(mut self, cell: Arc<std::sync::OnceLock<Reads>>) -> Self {
        self.index = cell;
        self
    }

    /// The read model, for lists; unavailable on a node that keeps none, or not yet.
    pub fn reads(&self) -> Result<&Reads, QueryError> {
        self.index.get().ok_or_else(|| {
            QueryError::Unavailable(match self.keeps_index {
                true => "this node's read model is not open: its database cannot be reached yet, or the node's log says why it was not opened; ask another node".into(),
                false => "this node keeps no read model (its operator turned it off with [index] enabled = false): its lists, inbox and webhooks are off; ask another node".into(),
            })
        })
    }

    /// See [`Read::state`].
    pub async fn state(&self, key: StateKey) -> Result<Proven, QueryError> {
        self.node.state(key).await
    }

    /// See [`Read::bundle`].
    pub async fn bundle(&self, key: StateKey) -> Result<ProofBundle, QueryError> {
        self.node.bundle(key).await
    }

    /// The value at `key`, decoded, and the height it was read at; `None` if absent, an error
    /// if the stored bytes do not decode as `T` (the node's fault, not the client's).
    async fn value_at<T: Decode<Cfg = ()>>(
        &self,
        key: &StateKey,
    ) -> Result<(Option<T>, u64), QueryError> {
        let proven = self.node.state(key.clone()).await?;
        let value = match proven.value {
            None => None,
            Some(bytes) => Some(from_slice::<T>(&bytes, &()).map_err(|e| {
                QueryError::Internal(format!(
                    "the stored value of {} does not decode: {e}",
                    key.display()
                ))
            })?),
        };
        Ok((value, proven.height))
    }

    /// The value at `key`, decoded; `None` if absent, an error if the stored bytes do not
    /// decode as `T` (the node's fault, not the client's).
    pub async fn value<T: Decode<Cfg = ()>>(&self, key: StateKey) -> Result<Option<T>, QueryError> {
        self.value_at(&key).await.map(|(value, _)| value)
    }

    /// A record the ledger always holds, decoded, and the height it was read at.
    pub async fn required_at<T: Decode<Cfg = ()>>(
        &self,
        key: StateKey,
    ) -> Result<(T, u64), QueryError> {
        match self.value_at(&key).await? {
            (Some(value), height) => Ok((value, height)),
            (None, height) => Err(missing(&key, height)),
        }
    }

    /// A record the ledger always holds, decoded (absent is the node's fault too, once a
    /// block is final).
    pub async fn required<T: Decode<Cfg = ()>>(&self, key: StateKey) -> Result<T, QueryError> {
        self.required_at(key).await.map(|(value, _)| value)
    }

    /// See [`Read::genesis`].
    pub fn genesis(&self) -> &Genesis {
        self.node.genesis()
    }

    /// See [`Read::height`].
    pub fn height(&self) -> u64 {
        self.node.height()
    }

    /// See [`Read::time`].
    pub fn time(&self) -> TimestampMs {
        self.node.time()
    }

    /// See [`Read::epoch`].
    pub fn epoch(&self) -> (u64, ValidatorSet) {
        self.node.epoch()
    }

    /// Every key space, the ledger's first, then each module's in registration order.
    pub fn spaces(&self) -> &'static [&'static Space] {
        self.spaces
    }

    /// The key space named `name`.
    pub fn space(&self, name: &str) -> Option<&'static Space> {
        self.spaces.iter().copied().find(|space| space.name == name)
    }

    /// The JSON view of `bytes` stored in space `space`, if the space is known and they decode.
    pub fn view(&self, space: &str, bytes: &[u8]) -> Option<serde_json::Value> {
        self.space(space).and_then(|s| (s.view)(bytes))
    }
}
