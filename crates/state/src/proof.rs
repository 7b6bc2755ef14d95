//! State proofs: that a key holds a value, or that it is absent, under a state root.
//!
//! Encoding (see `docs/PROOFS.md`): one tag byte, `0` for a value proof followed by the QMDB
//! `KeyValueProof`, or `1` for an absence proof followed by the QMDB `ExclusionProof`.

use crate::{Db, StateError, from_digest, stored_key, to_digest};
use civitas_core::bundle::{BundleError, Claim, ProofBundle, StateKey};
use civitas_core::genesis::Genesis;
use civitas_core::hash::Hash32;
use commonware_codec::{Encode, Read};
use commonware_cryptography::{Sha256, sha256};
use commonware_runtime::{Spawner, Storage as RuntimeStorage};
use commonware_storage::{
    mmr,
    qmdb::{
        Error as QmdbError,
        any::value::VariableEncoding,
        current::ordered::proof::constant::{ExclusionProof, KeyValueProof},
    },
};

const TAG_VALUE: u8 = 0;
const TAG_ABSENT: u8 = 1;
/// Most digests accepted in one Merkle range proof.
const MAX_PROOF_DIGESTS: usize = 256;

type ValueProof =
    KeyValueProof<mmr::Family, sha256::Digest, sha256::Digest, { crate::CHUNK_BYTES }>;
type AbsenceProof = ExclusionProof<
    mmr::Family,
    sha256::Digest,
    VariableEncoding<crate::StateValue>,
    sha256::Digest,
    { crate::CHUNK_BYTES },
>;

/// A key's value (or absence) with its proof, taken from one consistent database state.
#[derive(Clone, Debug)]
pub struct Proven {
    /// Height of the block whose state this is.
    pub height: u64,
    /// The state root after that block.
    pub root: Hash32,
    /// The value, or `None` if absent.
    pub value: Option<Vec<u8>>,
    /// The encoded proof.
    pub proof: Vec<u8>,
}

/// Proves `key` against the database's current state.
pub async fn prove<E>(db: &Db<E>, key: &StateKey) -> Result<Proven, StateError>
where
    E: RuntimeStorage + commonware_runtime::Clock + commonware_runtime::Metrics + Spawner,
{
    let storage_error = |e: QmdbError<mmr::Family>| StateError::Storage(e.to_string());
    let height = crate::metadata_height(db.get_metadata().await.map_err(storage_error)?.as_ref())
        .unwrap_or(0);
    let root = from_digest(&db.root());
    let stored = stored_key(key);
    let value = db.get(&stored).await.map_err(storage_error)?.map(|v| v.0);
    let mut proof = Vec::new();
    match &value {
        Some(_) => {
            let p = db.key_value_proof(stored).await.map_err(storage_error)?;
            proof.push(TAG_VALUE);
            proof.extend_from_slice(&p.encode());
        }
        None => {
            let p = db.exclusion_proof(&stored).await.map_err(storage_error)?;
            proof.push(TAG_ABSENT);
            proof.extend_from_slice(&p.encode());
        }
    }
    Ok(Proven {
        height,
        root,
        value,
        proof,
    })
}

/// Checks that under `root`, `key` holds `value` (or is absent when `value` is `None`).
pub fn verify(root: &Hash32, key: &StateKey, value: Option<&[u8]>, proof: &[u8]) -> bool {
    let Some((&tag, body)) = proof.split_first() else {
        return false;
    };
    let root = to_digest(root);
    let stored = stored_key(key);
    let mut buf = commonware_codec::Copying(body);
    match (tag, value) {
        (TAG_VALUE, Some(value)) => {
            let Ok(p) = ValueProof::read_cfg(&mut buf, &(MAX_PROOF_DIGESTS, ())) else {
                return false;
            };
            if !buf.0.is_empty() {
                return false;
            }
            p.verify::<Sha256, VariableEncoding<crate::StateValue>>(
                stored,
                crate::StateValue(value.to_vec()),
                &root,
            )
        }
        (TAG_ABSENT, None) => {
            let cfg = (MAX_PROOF_DIGESTS, ((), ()), ());
            let Ok(p) = AbsenceProof::read_cfg(&mut buf, &cfg) else {
                return false;
            };
            if !buf.0.is_empty() {
                return false;
            }
            p.verify::<Sha256>(&stored, &root)
        }
        _ => false,
    }
}

/// Verifies a whole bundle offline: the anchor (genesis, validators, certificate) and the
/// claim: a state proof against the certified header's state root, or a transaction and its
/// receipt against the header's transaction and receipt roots.
pub fn verify_bundle(bundle: &ProofBundle, genesis: &Genesis) -> Result<(), BundleError> {
    bundle.verify_anchor(genesis, |root, key, value, proof| {
        verify(root, key, value, proof)
    })?;
    if let Claim::State(claim) = &bundle.claim
        && !verify(
            &bundle.header.state_root,
            &claim.key,
            claim.value.as_deref(),
            &claim.proof,
        )
    {
        return Err(BundleError::BadStateProof);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{db_config, height_metadata};
    use commonware_runtime::{Runner as _, buffer::paged::CacheRef, deterministic};
    use commonware_storage::qmdb::floor::Proportional;
    use commonware_utils::{NZU16, NZUsize};

    fn key(i: u32) -> StateKey {
        StateKey::new("test/space", i.to_be_bytes().to_vec())
    }

    #[test]
    fn value_and_absence_proofs_verify_and_resist_tampering() {
        deterministic::Runner::default().start(|context| async move {
            let cache = CacheRef::new(NZU16!(4096), NZUsize!(64));
            let db = Db::init(context, db_config("t", cache), None)
                .await
                .unwrap();
            let mut batch = db.new_batch();
            for i in 0..50u32 {
                batch = batch.write(
                    stored_key(&key(i)),
                    Some(crate::StateValue(format!("value {i}").into_bytes())),
                );
            }
            let merkleized = batch
                .merkleize(&db, Some(height_metadata(7)), &mut Proportional)
                .await
                .unwrap();
            let db = db
                .apply_batch(merkleized)
                .await
                .unwrap()
                .commit()
                .await
                .unwrap();

            let present = prove(&db, &key(3)).await.unwrap();
            assert_eq!(present.height, 7);
            assert_eq!(present.value.as_deref(), Some(b"value 3".as_slice()));
            assert!(verify(
                &present.root,
                &key(3),
                present.value.as_deref(),
                &present.proof
            ));
            // Wrong value, wrong key, wrong root, flipped proof byte: all fail.
            assert!(!verify(
                &present.root,
                &key(3),
                Some(b"value 4"),
                &present.proof
            ));
            assert!(!verify(
                &present.root,
                &key(4),
                present.value.as_deref(),
                &present.proof
            ));
            assert!(!verify(
                &Hash32::sha256(b"x"),
                &key(3),
                present.value.as_deref(),
                &present.proof
            ));
            assert!(!verify(&present.root, &key(3), None, &present.proof));
            for i in 0..present.proof.len() {
                let mut bad = present.proof.clone();
                bad[i] ^= 0x01;
                assert!(
                    !verify(&present.root, &key(3), present.value.as_deref(), &bad),
                    "flipping byte {i} still verified"
                );
            }

            let absent = prove(&db, &key(1000)).await.unwrap();
            assert!(absent.value.is_none());
            assert!(verify(&absent.root, &key(1000), None, &absent.proof));
            assert!(!verify(&absent.root, &key(3), None, &absent.proof));
            assert!(!verify(&absent.root, &key(1000), Some(b"x"), &absent.proof));
            assert!(!verify(&absent.root, &key(1000), None, &[]));
            assert!(!verify(
                &absent.root,
                &key(1000),
                None,
                &absent.proof[..absent.proof.len() - 1]
            ));
        });
    }

    #[test]
    fn empty_database_proves_absence() {
        deterministic::Runner::default().start(|context| async move {
            let cache = CacheRef::new(NZU16!(4096), NZUsize!(64));
            let db = Db::init(context, db_config("e", cache), None)
                .await
                .unwrap();
            let absent = prove(&db, &key(1)).await.unwrap();
            assert!(verify(&absent.root, &key(1), None, &absent.proof));
        });
    }
}
