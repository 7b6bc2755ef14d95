//! Encryption to whoever holds a key: X25519 encryption keys, and HPKE (RFC 9180) in base mode
//! with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and AES-256-GCM (KEM `0x0020`, KDF `0x0001`,
//! AEAD `0x0002`), from the `hpke` crate. AES-256-GCM rather than ChaCha20-Poly1305 so that a
//! citizen's browser opens what is sealed to it with WebCrypto alone (X25519, HMAC, AES-GCM),
//! without a cipher written in JavaScript.
//!
//! An account registers an [`EncryptionKey`] beside its signing keys; anyone seals bytes to it
//! ([`seal`]) and only the holder of the matching [`DecryptionKey`] opens them ([`open`]). A
//! sealed value is the 32-byte encapsulated key followed by the ciphertext and its 16-byte
//! tag: [`SEAL_OVERHEAD`] bytes more than the plaintext. `info` names what is sealed (so a
//! value sealed for one purpose never opens as another) and `aad` binds what it belongs to;
//! both must be given again to open it.
//!
//! Nothing here runs in execution: a node stores sealed bytes and checks encryption keys'
//! encoding, nothing more.

use crate::codec::DecodeError;
use bytes::BufMut;
use commonware_codec::{Buf, FixedSize, Read, ReadExt, Write};
use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};
use std::fmt;
use zeroize::Zeroizing;

type Kem = hpke::kem::X25519HkdfSha256;
type Kdf = hpke::kdf::HkdfSha256;
type Aead = hpke::aead::AesGcm256;

/// Bytes a sealed value has beyond its plaintext: the encapsulated key (32) and the tag (16).
pub const SEAL_OVERHEAD: usize = 32 + 16;

/// An X25519 public key that values are sealed to (32 bytes, the RFC 7748 encoding). Only
/// canonical encodings of points that are not of small order are keys: a small-order point
/// would make every shared secret the same.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EncryptionKey([u8; 32]);

/// The secret half of an [`EncryptionKey`]. Wiped from memory when dropped.
#[derive(Clone)]
pub struct DecryptionKey(<Kem as hpke::Kem>::PrivateKey);

/// Why a value could not be sealed or opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    /// The sealed bytes are shorter than any sealed value.
    #[error("a sealed value is at least {SEAL_OVERHEAD} bytes; this one is {0}")]
    TooShort(usize),
    /// The key, the `info`, the `aad` or the bytes are not those it was sealed with.
    #[error("cannot open: sealed to another key, for another purpose, or altered")]
    Open,
    /// Encryption failed (the operating system gave no randomness, or the key is unusable).
    #[error("cannot seal: {0}")]
    Seal(String),
    /// Shares that cannot be combined: fewer than two, of different lengths, or one given
    /// twice.
    #[error("the shares cannot be combined: at least two distinct shares of one secret are needed")]
    Shares,
}

/// The prime 2^255 - 19, little-endian: an X25519 key is canonical when below it.
const FIELD_PRIME: [u8; 32] = {
    let mut p = [0xff; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    p
};

impl EncryptionKey {
    /// Checks 32 bytes: a canonical encoding of a point that is not of small order.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let invalid = |reason: &str| DecodeError::Invalid {
            field: "encryption key",
            reason: reason.into(),
        };
        let raw: [u8; 32] = bytes
            .try_into()
            .map_err(|_| invalid("an X25519 key is 32 bytes"))?;
        // Little-endian comparison with the prime, from the most significant byte.
        let canonical = raw
            .iter()
            .rev()
            .zip(FIELD_PRIME.iter().rev())
            .find(|(a, b)| a != b)
            .is_some_and(|(a, b)| a < b);
        if !canonical {
            return Err(invalid("not a canonical X25519 encoding"));
        }
        // A clamped scalar is a multiple of the cofactor 8, so it maps a point of small order
        // (and only such a point) to the identity, encoded as zero.
        if x25519_dalek::x25519([9; 32], raw) == [0; 32] {
            return Err(invalid("a point of small order is not a key"));
        }
        Ok(Self(raw))
    }

    /// The 32 bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// Lowercase hexadecimal.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hexadecimal characters.
    pub fn from_hex(text: &str) -> Result<Self, DecodeError> {
        let bytes = hex::decode(text.trim()).map_err(|_| DecodeError::Hex("an encryption key"))?;
        Self::from_bytes(&bytes)
    }

    fn hpke(&self) -> Result<<Kem as hpke::Kem>::PublicKey, SealError> {
        <Kem as hpke::Kem>::PublicKey::from_bytes(&self.0)
            .map_err(|e| SealError::Seal(e.to_string()))
    }
}

impl DecryptionKey {
    /// A new key from the operating system's random number generator.
    pub fn generate() -> Result<Self, DecodeError> {
        let seed = Zeroizing::new(crate::crypto::random_32()?);
        Self::from_bytes(&seed[..])
    }

    /// A key from its 32 secret bytes (clamped as RFC 7748 says).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() != 32 {
            return Err(DecodeError::InvalidKey);
        }
        <Kem as hpke::Kem>::PrivateKey::from_bytes(bytes)
            .map(Self)
            .map_err(|_| DecodeError::InvalidKey)
    }

    /// Parses 64 hexadecimal characters.
    pub fn from_hex(text: &str) -> Result<Self, DecodeError> {
        let bytes = Zeroizing::new(
            hex::decode(text.trim()).map_err(|_| DecodeError::Hex("a decryption key"))?,
        );
        Self::from_bytes(&bytes)
    }

    /// A deterministic key for tests and simulations. Never use for real accounts.
    pub fn from_test_seed(seed: u64) -> Self {
        let mut ikm = [0u8; 32];
        ikm[..8].copy_from_slice(&seed.to_le_bytes());
        ikm[8..24].copy_from_slice(b"civitas/test-dec");
        let (secret, _) = Kem::derive_keypair(&ikm);
        Self(secret)
    }

    /// The 32 secret bytes (clamped), to write into a key file.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(&self.0.to_bytes());
        out
    }

    /// Lowercase hexadecimal of the secret bytes.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(*self.to_bytes()))
    }

    /// The public half, which values are sealed to.
    pub fn public(&self) -> EncryptionKey {
        let public = Kem::sk_to_pk(&self.0);
        let mut raw = [0u8; 32];
        raw.copy_from_slice(&public.to_bytes());
        EncryptionKey(raw)
    }
}

impl fmt::Debug for DecryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DecryptionKey({})", self.public())
    }
}

/// Seals `plaintext` to `to`: only the holder of its decryption key opens it, given the same
/// `info` and `aad`.
pub fn seal(
    to: &EncryptionKey,
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, SealError> {
    let recipient = to.hpke()?;
    let (encapsulated, ciphertext) =
        hpke::single_shot_seal::<Aead, Kdf, Kem>(&OpModeS::Base, &recipient, info, plaintext, aad)
            .map_err(|e| SealError::Seal(e.to_string()))?;
    let mut out = Vec::with_capacity(SEAL_OVERHEAD + plaintext.len());
    out.extend_from_slice(&encapsulated.to_bytes());
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// Opens what [`seal`] made for `key`'s public half with the same `info` and `aad`.
pub fn open(
    key: &DecryptionKey,
    info: &[u8],
    aad: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, SealError> {
    if sealed.len() < SEAL_OVERHEAD {
        return Err(SealError::TooShort(sealed.len()));
    }
    let (encapsulated, ciphertext) = sealed.split_at(32);
    let encapsulated =
        <Kem as hpke::Kem>::EncappedKey::from_bytes(encapsulated).map_err(|_| SealError::Open)?;
    hpke::single_shot_open::<Aead, Kdf, Kem>(
        &OpModeR::Base,
        &key.0,
        &encapsulated,
        info,
        ciphertext,
        aad,
    )
    .map_err(|_| SealError::Open)
}

/// Splits `secret` into `count` shares of which any `threshold` rebuild it and fewer say
/// nothing about it: Shamir's scheme over GF(2^8), byte by byte (the `vsss-rs` crate, constant
/// time). A share is its x-coordinate (1 byte, 1 to `count`) followed by one byte per byte of
/// the secret. `threshold` is 2 or more and at most `count`, which is at most 255.
pub fn split_secret(
    secret: &[u8],
    threshold: usize,
    count: usize,
) -> Result<Vec<Zeroizing<Vec<u8>>>, SealError> {
    if threshold < 2 || threshold > count || count > 255 || secret.is_empty() {
        return Err(SealError::Seal(format!(
            "cannot split {} bytes into {count} shares of threshold {threshold}",
            secret.len()
        )));
    }
    let rng = hpke::rand_core::UnwrapErr(getrandom_sys::SysRng);
    let shares = vsss_rs::Gf256::split_bytes(threshold, count, secret, rng)
        .map_err(|e| SealError::Seal(format!("secret sharing: {e:?}")))?;
    Ok(shares.into_iter().map(Zeroizing::new).collect())
}

/// Rebuilds a secret from shares [`split_secret`] made (at least its threshold of them, each
/// once). Fewer shares, or shares of another secret, give other bytes, not an error: check the
/// result against what it must match.
pub fn combine_shares(shares: &[Vec<u8>]) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let length = shares.first().map_or(0, Vec::len);
    if shares.len() < 2 || length < 2 || shares.iter().any(|s| s.len() != length) {
        return Err(SealError::Shares);
    }
    let mut ids: Vec<u8> = shares.iter().map(|s| s[0]).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() != shares.len() || ids[0] == 0 {
        return Err(SealError::Shares);
    }
    vsss_rs::Gf256::combine_bytes(shares)
        .map(Zeroizing::new)
        .map_err(|_| SealError::Shares)
}

crate::crypto::hex_display!(EncryptionKey);

impl Write for EncryptionKey {
    fn write(&self, buf: &mut impl BufMut) {
        self.0.write(buf);
    }
}
impl FixedSize for EncryptionKey {
    const SIZE: usize = 32;
}
impl Read for EncryptionKey {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        let raw = <[u8; 32]>::read(buf)?;
        Self::from_bytes(&raw).map_err(|_| {
            commonware_codec::Error::Invalid("EncryptionKey", "not a usable X25519 public key")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::{DecodeExt, Encode};
    use proptest::prelude::*;

    #[test]
    fn sealed_values_open_only_with_the_key_info_and_aad() {
        let key = DecryptionKey::generate().unwrap();
        let other = DecryptionKey::generate().unwrap();
        let sealed = seal(&key.public(), b"purpose", b"context", b"the bid").unwrap();
        assert_eq!(sealed.len(), SEAL_OVERHEAD + 7);
        assert_eq!(
            open(&key, b"purpose", b"context", &sealed).unwrap(),
            b"the bid"
        );
        assert_eq!(
            open(&other, b"purpose", b"context", &sealed),
            Err(SealError::Open)
        );
        assert_eq!(
            open(&key, b"other", b"context", &sealed),
            Err(SealError::Open)
        );
        assert_eq!(
            open(&key, b"purpose", b"other", &sealed),
            Err(SealError::Open)
        );
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(
            open(&key, b"purpose", b"context", &altered),
            Err(SealError::Open)
        );
        assert_eq!(
            open(&key, b"purpose", b"context", &sealed[..40]),
            Err(SealError::TooShort(40))
        );
        // Sealing twice gives different bytes (a fresh ephemeral key each time).
        assert_ne!(
            sealed,
            seal(&key.public(), b"purpose", b"context", b"the bid").unwrap()
        );
    }

    #[test]
    fn keys_round_trip_through_hex_and_the_codec() {
        let key = DecryptionKey::from_test_seed(7);
        let again = DecryptionKey::from_hex(&key.to_hex()).unwrap();
        assert_eq!(again.public(), key.public());
        let public = key.public();
        assert_eq!(EncryptionKey::from_hex(&public.to_hex()).unwrap(), public);
        let encoded = public.encode();
        assert_eq!(EncryptionKey::decode(encoded).unwrap(), public);
        let json = serde_json::to_string(&public).unwrap();
        assert_eq!(
            serde_json::from_str::<EncryptionKey>(&json).unwrap(),
            public
        );
    }

    /// Small-order points and non-canonical encodings are refused (RFC 7748 §6.1 lists the
    /// small-order points; these are some of them).
    #[test]
    fn small_order_and_non_canonical_keys_are_refused() {
        let zero = [0u8; 32];
        let mut one = [0u8; 32];
        one[0] = 1;
        let order_8 =
            hex::decode("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")
                .unwrap();
        let order_8b =
            hex::decode("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157")
                .unwrap();
        for bad in [&zero[..], &one[..], &order_8, &order_8b, &FIELD_PRIME[..]] {
            assert!(
                EncryptionKey::from_bytes(bad).is_err(),
                "{}",
                hex::encode(bad)
            );
        }
        let mut high = DecryptionKey::from_test_seed(1).public().to_bytes();
        high[31] |= 0x80;
        assert!(EncryptionKey::from_bytes(&high).is_err());
        assert!(EncryptionKey::from_bytes(&[1u8; 31]).is_err());
    }

    #[test]
    fn a_threshold_of_shares_rebuilds_the_secret_and_fewer_do_not() {
        let secret = b"price 125000.00 EUR, proposal and salt";
        let shares = split_secret(secret, 3, 5).unwrap();
        assert_eq!(shares.len(), 5);
        let pick = |indices: &[usize]| -> Vec<Vec<u8>> {
            indices.iter().map(|&i| shares[i].to_vec()).collect()
        };
        for chosen in [[0, 1, 2], [4, 2, 0], [1, 3, 4]] {
            assert_eq!(&combine_shares(&pick(&chosen)).unwrap()[..], &secret[..]);
        }
        assert_eq!(
            &combine_shares(&pick(&[0, 1, 2, 3, 4])).unwrap()[..],
            &secret[..]
        );
        // Two of a threshold of three rebuild something else.
        assert_ne!(&combine_shares(&pick(&[0, 1])).unwrap()[..], &secret[..]);
        // A share given twice, one share, or shares of different lengths are refused.
        assert_eq!(combine_shares(&pick(&[0, 0, 1])), Err(SealError::Shares));
        assert_eq!(combine_shares(&pick(&[0])), Err(SealError::Shares));
        let mut short = pick(&[0, 1, 2]);
        short[2].pop();
        assert_eq!(combine_shares(&short), Err(SealError::Shares));
        assert!(split_secret(secret, 1, 5).is_err());
        assert!(split_secret(secret, 6, 5).is_err());
    }

    proptest! {
        #[test]
        fn any_plaintext_round_trips(plaintext in proptest::collection::vec(any::<u8>(), 0..512),
                                     aad in proptest::collection::vec(any::<u8>(), 0..64)) {
            let key = DecryptionKey::from_test_seed(3);
            let sealed = seal(&key.public(), b"info", &aad, &plaintext).unwrap();
            prop_assert_eq!(open(&key, b"info", &aad, &sealed).unwrap(), plaintext);
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = EncryptionKey::from_bytes(&bytes);
            let key = DecryptionKey::from_test_seed(4);
            let _ = open(&key, b"info", b"", &bytes);
        }
    }
}
