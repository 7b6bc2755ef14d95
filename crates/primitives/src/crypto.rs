//! Ed25519 keys, signatures and account identifiers.
//!
//! Signatures are always domain-separated: the signed message is
//! `varint(len(namespace)) || namespace || message` (commonware's `union_unique`), so a
//! signature made for one purpose can never be replayed as another.

use crate::codec::DecodeError;
use crate::hash::Hash32;
use bytes::BufMut;
use commonware_codec::Buf;
use commonware_codec::{DecodeExt, Encode, FixedSize, Read, ReadExt, Write};
use commonware_cryptography::{Signer as _, Verifier as _, ed25519};
use std::fmt;

/// Namespace for transaction signatures.
pub const TX_NAMESPACE: &[u8] = b"civitas/tx/v1";

/// An Ed25519 public key.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey(ed25519::PublicKey);

/// An Ed25519 signature.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Signature(ed25519::Signature);

/// An Ed25519 private key. Never serialised except into a key file the user owns.
#[derive(Clone)]
pub struct PrivateKey(ed25519::PrivateKey);

/// The identifier of an account: the public key it was created with. It stays the same when
/// the account's key is rotated.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct AccountId(pub [u8; 32]);

impl PublicKey {
    /// The 32 raw bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.0.as_ref());
        out
    }

    /// Parses 32 raw bytes; fails if they are not a valid curve point encoding.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let raw: [u8; 32] = bytes.try_into().map_err(|_| DecodeError::InvalidKey)?;
        key_cache::decompress(raw)
            .map(Self)
            .ok_or(DecodeError::InvalidKey)
    }

    /// Lowercase hexadecimal of the 32 bytes.
    pub fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }

    /// Parses 64 hexadecimal characters.
    pub fn from_hex(text: &str) -> Result<Self, DecodeError> {
        let bytes = hex::decode(text.trim()).map_err(|_| DecodeError::Hex("a public key"))?;
        Self::from_bytes(&bytes)
    }

    /// Verifies `signature` over `message` in `namespace`.
    pub fn verify(&self, namespace: &[u8], message: &[u8], signature: &Signature) -> bool {
        self.0.verify(namespace, message, &signature.0)
    }

    /// The account this key creates when it is registered.
    pub fn account_id(&self) -> AccountId {
        AccountId(self.to_bytes())
    }

    /// The commonware key (for the consensus and state crates).
    pub fn inner(&self) -> &ed25519::PublicKey {
        &self.0
    }

    /// Wraps a commonware key.
    pub fn from_inner(key: ed25519::PublicKey) -> Self {
        Self(key)
    }
}

impl Signature {
    /// The 64 raw bytes.
    pub fn to_bytes(&self) -> [u8; 64] {
        let encoded = self.0.encode();
        let mut out = [0u8; 64];
        out.copy_from_slice(&encoded);
        out
    }

    /// Parses 64 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        ed25519::Signature::decode(commonware_codec::Copying(bytes))
            .map(Self)
            .map_err(|_| DecodeError::InvalidSignature)
    }

    /// Lowercase hexadecimal.
    pub fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }

    /// Parses 128 hexadecimal characters.
    pub fn from_hex(text: &str) -> Result<Self, DecodeError> {
        let bytes = hex::decode(text.trim()).map_err(|_| DecodeError::Hex("a signature"))?;
        Self::from_bytes(&bytes)
    }

    /// The commonware signature.
    pub fn inner(&self) -> &ed25519::Signature {
        &self.0
    }
}

/// 32 bytes from the operating system's random number generator (salts, seeds). Never used in
/// execution.
pub fn random_32() -> Result<[u8; 32], DecodeError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| DecodeError::Randomness)?;
    Ok(bytes)
}

impl PrivateKey {
    /// A new key from the operating system's random number generator.
    pub fn generate() -> Result<Self, DecodeError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|_| DecodeError::Randomness)?;
        Self::from_seed_bytes(&seed)
    }

    /// A key from 32 secret bytes (the Ed25519 seed).
    pub fn from_seed_bytes(seed: &[u8]) -> Result<Self, DecodeError> {
        if seed.len() != 32 {
            return Err(DecodeError::InvalidKey);
        }
        let mut buf = commonware_codec::Copying(seed);
        ed25519::PrivateKey::read(&mut buf)
            .map(Self)
            .map_err(|_| DecodeError::InvalidKey)
    }

    /// A deterministic key for tests and simulations. Never use for real accounts.
    pub fn from_test_seed(seed: u64) -> Self {
        Self(ed25519::PrivateKey::from_seed(seed))
    }

    /// The 32 secret bytes.
    pub fn seed_bytes(&self) -> [u8; 32] {
        let encoded = self.0.encode();
        let mut out = [0u8; 32];
        out.copy_from_slice(&encoded);
        out
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.public_key())
    }

    /// Signs `message` in `namespace`.
    pub fn sign(&self, namespace: &[u8], message: &[u8]) -> Signature {
        Signature(self.0.sign(namespace, message))
    }

    /// The commonware key (for the consensus crate).
    pub fn inner(&self) -> &ed25519::PrivateKey {
        &self.0
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey({})", self.public_key())
    }
}

impl AccountId {
    /// Lowercase hexadecimal.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hexadecimal characters.
    pub fn from_hex(text: &str) -> Result<Self, DecodeError> {
        let hash = Hash32::from_hex(text).map_err(|_| DecodeError::Hex("an account id"))?;
        Ok(Self(hash.0))
    }
}

macro_rules! hex_display {
    ($ty:ty) => {
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.to_hex())
            }
        }
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.to_hex())
            }
        }
        impl std::str::FromStr for $ty {
            type Err = $crate::codec::DecodeError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::from_hex(s)
            }
        }
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.to_hex())
            }
        }
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <String as serde::Deserialize>::deserialize(deserializer)?;
                Self::from_hex(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use hex_display;
hex_display!(PublicKey);
hex_display!(Signature);
hex_display!(AccountId);

impl Write for PublicKey {
    fn write(&self, buf: &mut impl BufMut) {
        self.0.write(buf);
    }
}
impl FixedSize for PublicKey {
    const SIZE: usize = 32;
}
impl Read for PublicKey {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        let raw = <[u8; 32]>::read(buf)?;
        key_cache::decompress(raw)
            .map(Self)
            .ok_or(commonware_codec::Error::Invalid(
                "PublicKey",
                "not a valid Ed25519 point encoding",
            ))
    }
}

/// Recently decoded public keys.
///
/// Decoding a key decompresses a curve point (about 4.5 µs), and the same few thousand keys
/// are decoded again and again: in every transaction they sign, every block that carries it and
/// every account record read from the state. The cache holds the decoded form of recent valid
/// keys in two generations of at most [`key_cache::GENERATION`] entries each: a full current
/// generation becomes the previous one, and a key found there is carried forward. Memory stays
/// bounded and the keys in use stay decoded. Invalid encodings are never cached. Decoding is a
/// pure function of the 32 bytes, so the cache changes no result, only the time it takes.
mod key_cache {
    use commonware_codec::DecodeExt;
    use commonware_cryptography::ed25519;
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};

    /// Most keys in one generation.
    pub const GENERATION: usize = 8_192;

    #[derive(Default)]
    struct Generations {
        current: HashMap<[u8; 32], ed25519::PublicKey>,
        previous: HashMap<[u8; 32], ed25519::PublicKey>,
    }

    static CACHE: LazyLock<Mutex<Generations>> = LazyLock::new(Mutex::default);

    fn lookup(raw: &[u8; 32]) -> Option<ed25519::PublicKey> {
        let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(key) = cache.current.get(raw) {
            return Some(key.clone());
        }
        let key = cache.previous.remove(raw)?;
        insert(&mut cache, *raw, key.clone());
        Some(key)
    }

    fn insert(cache: &mut Generations, raw: [u8; 32], key: ed25519::PublicKey) {
        if cache.current.len() >= GENERATION {
            cache.previous = std::mem::take(&mut cache.current);
        }
        cache.current.insert(raw, key);
    }

    /// The decoded key, or `None` if `raw` is not a valid point encoding.
    pub fn decompress(raw: [u8; 32]) -> Option<ed25519::PublicKey> {
        if let Some(key) = lookup(&raw) {
            return Some(key);
        }
        // Decompress outside the lock.
        let key = ed25519::PublicKey::decode(commonware_codec::Copying(&raw[..])).ok()?;
        insert(
            &mut CACHE.lock().unwrap_or_else(|p| p.into_inner()),
            raw,
            key.clone(),
        );
        Some(key)
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::crypto::PrivateKey;

        #[test]
        fn cached_keys_decode_like_fresh_ones_and_invalid_ones_stay_invalid() {
            for seed in 0..(2 * GENERATION as u64 + 10) {
                let key = PrivateKey::from_test_seed(seed % 50).public_key();
                let raw = key.to_bytes();
                assert_eq!(decompress(raw).as_ref(), Some(key.inner()));
            }
            // Some y coordinates have no x on the curve: such encodings are not keys.
            let invalid = (0u8..=255)
                .map(|first| {
                    let mut raw = [0u8; 32];
                    raw[0] = first;
                    raw[1] = 1;
                    raw
                })
                .find(|raw| {
                    ed25519::PublicKey::decode(commonware_codec::Copying(&raw[..])).is_err()
                })
                .expect("an invalid encoding among 256 candidates");
            assert!(decompress(invalid).is_none());
            assert!(decompress(invalid).is_none());
            let cache = CACHE.lock().unwrap();
            assert!(cache.current.len() <= GENERATION && cache.previous.len() <= GENERATION);
            assert!(!cache.current.contains_key(&invalid));
        }
    }
}

impl Write for Signature {
    fn write(&self, buf: &mut impl BufMut) {
        self.0.write(buf);
    }
}
impl FixedSize for Signature {
    const SIZE: usize = 64;
}
impl Read for Signature {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        ed25519::Signature::read(buf).map(Self)
    }
}

impl Write for AccountId {
    fn write(&self, buf: &mut impl BufMut) {
        buf.put_slice(&self.0);
    }
}
impl FixedSize for AccountId {
    const SIZE: usize = 32;
}
impl Read for AccountId {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        Hash32::read(buf).map(|h| Self(h.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_with_namespace() {
        let key = PrivateKey::from_test_seed(7);
        let signature = key.sign(TX_NAMESPACE, b"hello");
        assert!(key.public_key().verify(TX_NAMESPACE, b"hello", &signature));
        assert!(!key.public_key().verify(TX_NAMESPACE, b"hellp", &signature));
        assert!(!key.public_key().verify(b"other", b"hello", &signature));
        let other = PrivateKey::from_test_seed(8);
        assert!(
            !other
                .public_key()
                .verify(TX_NAMESPACE, b"hello", &signature)
        );
    }

    #[test]
    fn seed_round_trip() {
        let key = PrivateKey::generate().unwrap();
        let again = PrivateKey::from_seed_bytes(&key.seed_bytes()).unwrap();
        assert_eq!(key.public_key(), again.public_key());
        assert!(PrivateKey::from_seed_bytes(&[1, 2, 3]).is_err());
    }

    #[test]
    fn hex_forms_round_trip() {
        let key = PrivateKey::from_test_seed(1).public_key();
        assert_eq!(PublicKey::from_hex(&key.to_hex()).unwrap(), key);
        let sig = PrivateKey::from_test_seed(1).sign(b"n", b"m");
        assert_eq!(Signature::from_hex(&sig.to_hex()).unwrap(), sig);
        assert!(PublicKey::from_hex("00").is_err());
    }
}
