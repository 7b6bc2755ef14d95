//! Epochs and validator-set hand-overs.
//!
//! Epoch `e` holds heights `e * L .. (e + 1) * L` (`L` = genesis `epoch_length`). The last block
//! of an epoch records the next epoch's validator set in the state (see the governance module).
//! Once that block is finalized and applied, the node enters the next epoch: it starts a fresh
//! simplex engine for it, signing if its key is in the new set and following otherwise, with the
//! boundary block as the new engine's genesis, and stops the old one. Marshal verifies each
//! finalization against the set of the epoch it names ([`EpochSchemes`]).
//!
//! When the set changes, the node also keeps the state proof of the new set at the boundary
//! block ([`HandoverStore`]), so any later proof bundle can carry the chain of hand-overs that
//! leads a verifier from the genesis validators to the block's epoch.

use crate::app::Shared;
use crate::block::ChainBlock;
use civitas_core::genesis::Genesis;
use civitas_core::governance::ValidatorSet;
use commonware_consensus::{
    marshal::{self, standard::Standard},
    simplex::{self, scheme::ed25519::Scheme},
    types::{Epoch, Height},
};
use commonware_cryptography::{
    certificate::{Provider, Scoped},
    ed25519,
};
use commonware_storage::metadata::{self, Metadata};
use commonware_utils::{ordered::Set, sequence::U64};
use futures::lock::Mutex as AsyncMutex;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// What the application tells the epoch orchestrator.
#[derive(Clone, Debug)]
pub enum EpochEvent {
    /// The last block of `epoch - 1` is finalized and applied: `epoch` starts with `set`.
    Boundary {
        /// The epoch that starts.
        epoch: u64,
        /// Its validators.
        set: ValidatorSet,
    },
    /// Governance changed the set the next epoch will have.
    NextSet(ValidatorSet),
}

/// The validator set of every epoch this node knows, shared by the application (which learns
/// them from finalized boundary blocks), marshal (which verifies certificates with them) and the
/// query side (which builds hand-over chains).
#[derive(Clone, Default)]
pub struct EpochSets {
    sets: Arc<Mutex<BTreeMap<u64, ValidatorSet>>>,
}

impl EpochSets {
    /// Records `epoch`'s validator set.
    pub fn insert(&self, epoch: u64, set: ValidatorSet) {
        self.sets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(epoch, set);
    }

    /// `epoch`'s validator set, if known.
    pub fn get(&self, epoch: u64) -> Option<ValidatorSet> {
        self.sets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&epoch)
            .cloned()
    }
}

/// Marshal's and simplex's view of [`EpochSets`]: a signing scheme per epoch (verify-only when
/// this node is not in that epoch's set).
#[derive(Clone)]
pub struct EpochSchemes {
    sets: EpochSets,
    namespace: Vec<u8>,
    signer: ed25519::PrivateKey,
    cache: Arc<Mutex<BTreeMap<u64, EpochScheme>>>,
}

/// An epoch's scheme, and whether this node signs with it.
type EpochScheme = (Arc<Scheme>, bool);

impl EpochSchemes {
    /// Schemes for `genesis`'s chain, signing with `signer` where it is a validator.
    pub fn new(sets: EpochSets, genesis: &Genesis, signer: ed25519::PrivateKey) -> Self {
        Self {
            sets,
            namespace: genesis.consensus_namespace(),
            signer,
            cache: Arc::default(),
        }
    }

    fn lookup(&self, epoch: u64) -> Option<EpochScheme> {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = cache.get(&epoch) {
            return Some(found.clone());
        }
        let set = self.sets.get(epoch)?;
        let participants: Set<ed25519::PublicKey> =
            Set::from_iter_dedup(set.keys().iter().map(|k| k.inner().clone()));
        let entry = match Scheme::signer(&self.namespace, participants.clone(), self.signer.clone())
        {
            Some(scheme) => (Arc::new(scheme), true),
            None => (
                Arc::new(Scheme::verifier(&self.namespace, participants)),
                false,
            ),
        };
        cache.insert(epoch, entry.clone());
        Some(entry)
    }
}

/// This node's consensus key.
pub(crate) fn own_key(schemes: &EpochSchemes) -> civitas_core::crypto::PublicKey {
    use commonware_cryptography::Signer as _;
    civitas_core::crypto::PublicKey::from_inner(schemes.signer.public_key())
}

impl Provider for EpochSchemes {
    type Scope = Epoch;
    type Scheme = Scheme;

    fn scoped(&self, scope: Epoch) -> Option<Scoped<Scheme>> {
        let (scheme, signs) = self.lookup(scope.get())?;
        Some(if signs {
            Scoped::scheme(scheme)
        } else {
            Scoped::verifier(scheme)
        })
    }

    fn scheme(&self, scope: Epoch) -> Option<Arc<Scheme>> {
        self.lookup(scope.get()).map(|(scheme, _)| scheme)
    }
}

type HandoverMetadata<E> = Metadata<E, U64, Vec<u8>>;

/// The state proofs of validator-set changes, by the epoch they hand over to. Kept by every node
/// that applies the boundary block; they cannot be made later, because a state proof is taken
/// against the state as it was at that block.
pub struct HandoverStore<E>
where
    E: commonware_runtime::Storage + commonware_runtime::Clock + commonware_runtime::Metrics,
{
    inner: Arc<AsyncMutex<Option<HandoverMetadata<E>>>>,
}

impl<E> Clone for HandoverStore<E>
where
    E: commonware_runtime::Storage + commonware_runtime::Clock + commonware_runtime::Metrics,
{
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<E> HandoverStore<E>
where
    E: commonware_runtime::Storage + commonware_runtime::Clock + commonware_runtime::Metrics,
{
    /// Opens the store in partition `{prefix}-handovers`.
    pub async fn open(context: E, prefix: &str) -> Result<Self, metadata::Error> {
        let store = Metadata::init(
            context,
            metadata::Config {
                partition: format!("{prefix}-handovers"),
                codec_config: (
                    commonware_codec::RangeCfg::new(..=civitas_core::bundle::STATE_PROOF_MAX_BYTES),
                    (),
                ),
            },
        )
        .await?;
        Ok(Self {
            inner: Arc::new(AsyncMutex::new(Some(store))),
        })
    }

    /// Stores (durably) the proof of the set that starts `epoch`.
    pub async fn put(&self, epoch: u64, proof: Vec<u8>) -> Result<(), String> {
        let mut guard = self.inner.lock().await;
        let Some(store) = guard.take() else {
            return Err("a previous write to the hand-over store failed".into());
        };
        let store = store
            .put_sync(U64::new(epoch), proof)
            .await
            .map_err(|e| e.to_string())?;
        *guard = Some(store);
        Ok(())
    }

    /// The proof of the set that starts `epoch`, if this node holds it.
    pub async fn get(&self, epoch: u64) -> Option<Vec<u8>> {
        let guard = self.inner.lock().await;
        guard.as_ref()?.get(&U64::new(epoch)).cloned()
    }
}

/// Tracks which peers the p2p layer should connect to: the current epoch's validators
/// (primary) and validators joining in the next epoch (secondary).
pub trait PeerTracker: Send + 'static {
    /// Replaces the tracked peers; `id` increases with every call.
    fn track(&mut self, id: u64, current: &ValidatorSet, next: &ValidatorSet);
}

/// For networks whose peers are fixed in advance (the simulator).
pub struct FixedPeers;

impl PeerTracker for FixedPeers {
    fn track(&mut self, _: u64, _: &ValidatorSet, _: &ValidatorSet) {}
}

pub(crate) type MarshalMailbox = marshal::core::Mailbox<Scheme, Standard<ChainBlock>>;

/// The floor a new epoch's engine starts from: genesis for epoch 0, otherwise the previous
/// epoch's last block.
pub(crate) async fn epoch_floor(
    genesis: &Genesis,
    genesis_digest: commonware_cryptography::sha256::Digest,
    marshal: &MarshalMailbox,
    epoch: u64,
) -> Option<simplex::config::Floor<Scheme, commonware_cryptography::sha256::Digest>> {
    if epoch == 0 {
        return Some(simplex::config::Floor::Genesis(genesis_digest));
    }
    let boundary = marshal
        .get_block(Height::new(genesis.last_height_of(epoch - 1)))
        .await?;
    Some(simplex::config::Floor::Genesis(
        commonware_cryptography::Digestible::digest(boundary.inner()),
    ))
}

/// Records the sets of the epoch a restarted node resumes in and the one before (whose last
/// certificate it may still receive), so marshal can verify them. Later sets are learned at
/// each boundary; older ones are never needed again, and reading them all would make start-up
/// grow with the chain.
pub(crate) async fn load_sets<V: civitas_state::StateView>(
    shared: &Shared,
    view: &V,
    through: u64,
) -> Result<(), civitas_state::StateError> {
    for epoch in through.saturating_sub(1)..=through {
        let key = civitas_modules::governance::state::epoch_key(epoch);
        if let Some(bytes) = view.get(&key.hashed()).await? {
            let set = civitas_exec::decode_value::<ValidatorSet>(&key, &bytes)?;
            shared.epochs.insert(epoch, set);
        }
    }
    Ok(())
}
