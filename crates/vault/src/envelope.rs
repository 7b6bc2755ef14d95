//! How a record is sealed: the format `docs/PERSONAL-DATA.md` specifies, with its test vectors.
//!
//! Each version of a record gets a fresh random 256-bit data key. The body is encrypted with
//! AES-256-GCM under it, with a random 96-bit nonce (one message per key, so a nonce can never
//! repeat under a key) and associated data binding the record id, the version and the schema;
//! the plaintext is a fresh 32-byte salt followed by the body. The associated data also binds
//! the citizen the record is about, so a copy cannot be filed under another person. The data
//! key is wrapped (HPKE,
//! [`civitas_core::seal`]) for each reader: the citizen the record is about, the holding
//! agency's vault, and each agency it is shared with. The ledger gets only [`commitment`]: a
//! digest of the salt, the id, the version, the subject, the schema and the body. Without the salt, which
//! exists only inside the ciphertext, nobody can test a guess of the body against it; once
//! every wrap is destroyed the salt is gone with the body, and the commitment is unlinkable.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use civitas_core::crypto::{AccountId, random_32};
use civitas_core::hash::Hash32;
use civitas_core::seal::{self, DecryptionKey, EncryptionKey, SealError};
use serde::{Deserialize, Serialize};
use std::fmt;
use zeroize::{Zeroize, Zeroizing};

/// Associated data prefix of a record's ciphertext.
pub const RECORD_AAD: &[u8] = b"civitas/vault/record/v1";
/// HPKE `info` of a data key's wrap.
pub const WRAP_INFO: &[u8] = b"civitas/vault/wrap/v1";
/// Tag of the commitment's digest.
pub const COMMITMENT_TAG: &[u8] = b"civitas/vault/commitment/v1";
/// Most bytes of a schema name (`birth-certificate/v1`): the ledger's bound.
pub use civitas_core::sharing::SCHEMA_MAX_BYTES;
/// Most bytes of a record's body.
pub const BODY_MAX_BYTES: usize = 256 * 1024;

/// A record's identifier: 32 random bytes the vault draws, the same for all its versions.
/// It says nothing about whom the record is about.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordId(pub [u8; 32]);

impl RecordId {
    /// A new random id.
    pub fn random() -> Result<Self, EnvelopeError> {
        random_32().map(Self).map_err(|_| EnvelopeError::Randomness)
    }

    /// Lowercase hexadecimal.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hexadecimal characters.
    pub fn from_hex(text: &str) -> Result<Self, EnvelopeError> {
        let bytes = hex::decode(text.trim()).map_err(|_| EnvelopeError::RecordId)?;
        bytes
            .try_into()
            .map(Self)
            .map_err(|_| EnvelopeError::RecordId)
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}
impl fmt::Debug for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}
impl Serialize for RecordId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}
impl<'de> Deserialize<'de> for RecordId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// A data key: 32 secret bytes, wiped when dropped.
pub struct DataKey(Zeroizing<[u8; 32]>);

impl DataKey {
    /// A new random key.
    pub fn random() -> Result<Self, EnvelopeError> {
        let mut bytes = random_32().map_err(|_| EnvelopeError::Randomness)?;
        let key = Self(Zeroizing::new(bytes));
        bytes.zeroize();
        Ok(key)
    }

    /// The key from 32 bytes (for test vectors).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The secret bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&Key::<Aes256Gcm>::from(*self.0))
    }
}

/// What identifies one version of a record, and is bound into its encryption and commitment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label<'a> {
    /// The record.
    pub id: RecordId,
    /// Its version (1, 2, ... : each rectification adds one).
    pub version: u32,
    /// The citizen it is about.
    pub subject: AccountId,
    /// What the body is, such as `birth-certificate/v1`.
    pub schema: &'a str,
}

impl Label<'_> {
    fn aad(&self) -> Vec<u8> {
        let mut aad = Vec::with_capacity(RECORD_AAD.len() + 69 + self.schema.len());
        aad.extend_from_slice(RECORD_AAD);
        aad.extend_from_slice(&self.id.0);
        aad.extend_from_slice(&self.version.to_be_bytes());
        aad.extend_from_slice(&self.subject.0);
        aad.push(self.schema.len() as u8);
        aad.extend_from_slice(self.schema.as_bytes());
        aad
    }

    fn wrap_aad(&self) -> Vec<u8> {
        let mut aad = Vec::with_capacity(36);
        aad.extend_from_slice(&self.id.0);
        aad.extend_from_slice(&self.version.to_be_bytes());
        aad
    }

    /// Checks the schema name: 1 to [`SCHEMA_MAX_BYTES`] of lowercase letters, digits and
    /// `-`, `_`, `.`, `/`.
    pub fn check(&self) -> Result<(), EnvelopeError> {
        // The same rule as the ledger's, where the schema is registered.
        if civitas_core::sharing::check_schema("schema", self.schema).is_ok() {
            Ok(())
        } else {
            Err(EnvelopeError::Schema(self.schema.to_string()))
        }
    }
}

/// One version of a record, sealed: what the vault stores.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    /// The AES-GCM nonce.
    pub nonce: [u8; 12],
    /// The salt and the body, encrypted, with the 16-byte tag.
    pub ciphertext: Vec<u8>,
    /// What the ledger holds.
    pub commitment: Hash32,
}

/// Why a record could not be sealed or opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    /// The operating system gave no randomness.
    #[error("the operating system's random number generator is unavailable")]
    Randomness,
    /// Not a record id.
    #[error("a record id is 64 hexadecimal characters")]
    RecordId,
    /// A schema name outside the rule.
    #[error(
        "schema {0:?}: 1 to {SCHEMA_MAX_BYTES} bytes of lowercase letters, digits, '-', '_', '.', '/', starting with a letter"
    )]
    Schema(String),
    /// A body over the limit.
    #[error("a record's body is at most {BODY_MAX_BYTES} bytes; this one is {0}")]
    TooLarge(usize),
    /// The ciphertext does not open with this key and label.
    #[error("the record does not open: another key, another record or version, or altered")]
    Open,
    /// It opened, but is not what the commitment commits to.
    #[error("the record opened but does not match its commitment on the ledger")]
    Commitment,
    /// A wrap could not be made or opened.
    #[error("key wrap: {0}")]
    Wrap(#[from] SealError),
}

/// Tag of a record's subject salt.
pub const SUBJECT_SALT_TAG: &[u8] = b"civitas/vault/subject-salt/v1";

/// The subject salt of a record whose first version has salt `salt`: SHA-256 tagged
/// [`SUBJECT_SALT_TAG`] over that salt. The ledger's subject tag of the record is
/// `civitas_core::sharing::subject_tag(record, subject salt, subject)`. Whoever can open the
/// record (its holder, its subject) derives it; the subject reveals it in a consent to prove
/// the record is about them, which reveals nothing of the salt itself, so the commitment still
/// hides the body. Erasing the record destroys the salt, and with it any way to link the tag.
pub fn subject_salt(salt: &[u8; 32]) -> Hash32 {
    Hash32::tagged(SUBJECT_SALT_TAG, &[salt])
}

/// The subject tag the ledger keeps for the record of `label` (its first version), whose salt
/// is `salt`.
pub fn subject_tag(label: &Label<'_>, salt: &[u8; 32]) -> Hash32 {
    civitas_core::sharing::subject_tag(&Hash32(label.id.0), &subject_salt(salt), &label.subject)
}

/// The commitment the ledger holds for one version of a record: SHA-256 tagged
/// [`COMMITMENT_TAG`] over the salt (32 bytes), the record id (32), the version (4, big-endian),
/// the subject's account (32), the schema's length (1) and bytes, and the body.
pub fn commitment(salt: &[u8; 32], label: &Label<'_>, body: &[u8]) -> Hash32 {
    Hash32::tagged(
        COMMITMENT_TAG,
        &[
            salt,
            &label.id.0,
            &label.version.to_be_bytes(),
            &label.subject.0,
            &[label.schema.len() as u8],
            label.schema.as_bytes(),
            body,
        ],
    )
}

/// Seals `body` under a new data key and salt.
pub fn seal_record(label: &Label<'_>, body: &[u8]) -> Result<(Sealed, DataKey), EnvelopeError> {
    seal_fresh(label, body).map(|(sealed, key, _)| (sealed, key))
}

/// Seals `body` under a new data key and salt, and gives the subject tag that salt makes
/// ([`subject_tag`]: the ledger's, for a first version).
pub fn seal_fresh(
    label: &Label<'_>,
    body: &[u8],
) -> Result<(Sealed, DataKey, Hash32), EnvelopeError> {
    let key = DataKey::random()?;
    let salt = Zeroizing::new(random_32().map_err(|_| EnvelopeError::Randomness)?);
    let nonce_source = random_32().map_err(|_| EnvelopeError::Randomness)?;
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&nonce_source[..12]);
    let sealed = seal_with(label, body, &key, &salt, nonce)?;
    Ok((sealed, key, subject_tag(label, &salt)))
}

/// Seals `body` with the given key, salt and nonce: deterministic, for test vectors. A key
/// must never seal twice.
pub fn seal_with(
    label: &Label<'_>,
    body: &[u8],
    key: &DataKey,
    salt: &[u8; 32],
    nonce: [u8; 12],
) -> Result<Sealed, EnvelopeError> {
    label.check()?;
    if body.len() > BODY_MAX_BYTES {
        return Err(EnvelopeError::TooLarge(body.len()));
    }
    let mut plaintext = Zeroizing::new(Vec::with_capacity(32 + body.len()));
    plaintext.extend_from_slice(salt);
    plaintext.extend_from_slice(body);
    let aad = label.aad();
    let ciphertext = key
        .cipher()
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: &plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| EnvelopeError::Open)?;
    Ok(Sealed {
        nonce,
        ciphertext,
        commitment: commitment(salt, label, body),
    })
}

/// Opens one version of a record with its data key and checks it against `commitment` (the
/// ledger's): the body.
pub fn open_record(
    label: &Label<'_>,
    sealed: &Sealed,
    key: &DataKey,
    commitment_on_ledger: &Hash32,
) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    open_record_with_salt(label, sealed, key, commitment_on_ledger).map(|opened| opened.body)
}

/// A version opened: its body, and the subject salt its salt gives ([`subject_salt`]; the
/// record's, for a first version).
pub struct Opened {
    /// The body.
    pub body: Zeroizing<Vec<u8>>,
    /// The subject salt.
    pub subject_salt: Hash32,
}

/// [`open_record`], also giving the version's subject salt.
pub fn open_record_with_salt(
    label: &Label<'_>,
    sealed: &Sealed,
    key: &DataKey,
    commitment_on_ledger: &Hash32,
) -> Result<Opened, EnvelopeError> {
    label.check()?;
    let aad = label.aad();
    let plaintext = Zeroizing::new(
        key.cipher()
            .decrypt(
                &Nonce::from(sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| EnvelopeError::Open)?,
    );
    if plaintext.len() < 32 {
        return Err(EnvelopeError::Open);
    }
    let (salt, body) = plaintext.split_at(32);
    let mut salt_bytes = [0u8; 32];
    salt_bytes.copy_from_slice(salt);
    let found = commitment(&salt_bytes, label, body);
    let subject_salt = subject_salt(&salt_bytes);
    salt_bytes.zeroize();
    if found != *commitment_on_ledger {
        return Err(EnvelopeError::Commitment);
    }
    Ok(Opened {
        body: Zeroizing::new(body.to_vec()),
        subject_salt,
    })
}

/// Wraps a data key for the holder of `to`.
pub fn wrap(
    label: &Label<'_>,
    key: &DataKey,
    to: &EncryptionKey,
) -> Result<Vec<u8>, EnvelopeError> {
    Ok(seal::seal(
        to,
        WRAP_INFO,
        &label.wrap_aad(),
        key.as_bytes(),
    )?)
}

/// Unwraps a data key with `with`.
pub fn unwrap(
    label: &Label<'_>,
    wrapped: &[u8],
    with: &DecryptionKey,
) -> Result<DataKey, EnvelopeError> {
    let bytes = Zeroizing::new(seal::open(with, WRAP_INFO, &label.wrap_aad(), wrapped)?);
    let raw: [u8; 32] = bytes[..]
        .try_into()
        .map_err(|_| EnvelopeError::Wrap(SealError::Open))?;
    Ok(DataKey::from_bytes(raw))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn label(schema: &str) -> Label<'_> {
        Label {
            id: RecordId([7; 32]),
            version: 1,
            subject: AccountId([5; 32]),
            schema,
        }
    }

    #[test]
    fn a_record_opens_with_its_key_and_matches_its_commitment() {
        let label = label("birth-certificate/v1");
        let body = br#"{"name":"Ada Example","born":"1990-04-01"}"#;
        let (sealed, key) = seal_record(&label, body).unwrap();
        let opened = open_record(&label, &sealed, &key, &sealed.commitment).unwrap();
        assert_eq!(&opened[..], &body[..]);
        // Another version, record or schema does not open it.
        for other in [
            Label {
                version: 2,
                ..label.clone()
            },
            Label {
                id: RecordId([8; 32]),
                ..label.clone()
            },
            Label {
                subject: AccountId([6; 32]),
                ..label.clone()
            },
            Label {
                schema: "income/v1",
                ..label.clone()
            },
        ] {
            assert_eq!(
                open_record(&other, &sealed, &key, &sealed.commitment).err(),
                Some(EnvelopeError::Open)
            );
        }
        // A commitment for something else is refused.
        assert_eq!(
            open_record(&label, &sealed, &key, &Hash32([0; 32])).err(),
            Some(EnvelopeError::Commitment)
        );
        // Without the salt the commitment does not match the body.
        assert_ne!(commitment(&[0; 32], &label, body), sealed.commitment);
    }

    #[test]
    fn wraps_open_only_for_their_recipient_and_label() {
        let label = label("income/v1");
        let citizen = DecryptionKey::from_test_seed(1);
        let agency = DecryptionKey::from_test_seed(2);
        let (sealed, key) = seal_record(&label, b"12000").unwrap();
        let wrapped = wrap(&label, &key, &citizen.public()).unwrap();
        let again = unwrap(&label, &wrapped, &citizen).unwrap();
        assert_eq!(
            &open_record(&label, &sealed, &again, &sealed.commitment).unwrap()[..],
            b"12000"
        );
        assert!(unwrap(&label, &wrapped, &agency).is_err());
        let other = Label {
            version: 2,
            ..label.clone()
        };
        assert!(unwrap(&other, &wrapped, &citizen).is_err());
    }

    #[test]
    fn schemas_and_sizes_are_checked() {
        assert!(seal_record(&label(""), b"x").is_err());
        assert!(seal_record(&label("Has Capitals"), b"x").is_err());
        assert!(seal_record(&label(&"a".repeat(65)), b"x").is_err());
        assert_eq!(
            seal_record(&label("a"), &vec![0; BODY_MAX_BYTES + 1]).err(),
            Some(EnvelopeError::TooLarge(BODY_MAX_BYTES + 1))
        );
    }

    proptest! {
        #[test]
        fn any_body_round_trips_and_any_bytes_never_panic(
            body in proptest::collection::vec(any::<u8>(), 0..2048),
            junk in proptest::collection::vec(any::<u8>(), 0..128),
        ) {
            let label = label("x");
            let (sealed, key) = seal_record(&label, &body).unwrap();
            prop_assert_eq!(&open_record(&label, &sealed, &key, &sealed.commitment).unwrap()[..], &body[..]);
            let junk_sealed = Sealed { ciphertext: junk.clone(), ..sealed.clone() };
            prop_assert!(open_record(&label, &junk_sealed, &key, &sealed.commitment).is_err());
            prop_assert!(unwrap(&label, &junk, &DecryptionKey::from_test_seed(1)).is_err());
        }
    }
}
