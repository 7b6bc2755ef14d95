//! SHA-256 digests with domain separation.
//!
//! Every hash the ledger computes names its purpose: `H(tag, parts) = SHA-256(len(tag) as one
//! byte || tag || parts...)`. Two different purposes can never produce colliding inputs.

use crate::codec::DecodeError;
use bytes::BufMut;
use commonware_codec::Buf;
use commonware_codec::{EncodeSize, FixedSize, Read, Write};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};
use std::fmt;
use std::str::FromStr;

/// A 32-byte SHA-256 digest.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hash32(pub [u8; 32]);

/// Domain tags. Each is unique; see `docs/PROOFS.md`.
pub mod tag {
    /// Hash of a transaction body (the transaction hash).
    pub const TX: &[u8] = b"civitas/tx";
    /// Hash of a whole signed transaction, body and signatures (a leaf of `tx_root`).
    pub const SIGNED_TX: &[u8] = b"civitas/signed-tx";
    /// Hash of a block header (the block digest).
    pub const HEADER: &[u8] = b"civitas/header";
    /// A receipt's hash: `H("civitas/receipt", receipt encoding)`.
    pub const RECEIPT: &[u8] = b"civitas/receipt";
    /// Leaf of the transaction Merkle tree.
    pub const TX_LEAF: &[u8] = b"civitas/tx-leaf";
    /// Inner node of the transaction Merkle tree.
    pub const TX_NODE: &[u8] = b"civitas/tx-node";
    /// Root of an empty transaction Merkle tree.
    pub const TX_EMPTY: &[u8] = b"civitas/tx-empty";
    /// Leaf of the history Merkle Mountain Range.
    pub const MMR_LEAF: &[u8] = b"civitas/mmr-leaf";
    /// Inner node of the history Merkle Mountain Range.
    pub const MMR_NODE: &[u8] = b"civitas/mmr-node";
    /// Root of the history Merkle Mountain Range (bagged peaks).
    pub const MMR_ROOT: &[u8] = b"civitas/mmr-root";
    /// The genesis document.
    pub const GENESIS: &[u8] = b"civitas/genesis";
    /// An ordered validator set.
    pub const VALIDATOR_SET: &[u8] = b"civitas/validator-set";
    /// A state key (typed key to the 32-byte key stored in the authenticated state).
    pub const STATE_KEY: &[u8] = b"civitas/state-key";
    /// The checksum that ends a proof bundle.
    pub const BUNDLE: &[u8] = b"civitas/bundle";
    /// The id of a block's end receipt (what the modules' end-of-block step did), in place of
    /// a transaction hash: `H("civitas/block-end", be64 height)`.
    pub const BLOCK_END: &[u8] = b"civitas/block-end";
}

impl Hash32 {
    /// The all-zero digest, used as the parent of the genesis block.
    pub const ZERO: Self = Self([0u8; 32]);

    /// Domain-separated SHA-256 over the concatenation of `parts`.
    pub fn tagged(tag: &[u8], parts: &[&[u8]]) -> Self {
        debug_assert!(tag.len() < 256);
        let mut hasher = Sha256::new();
        hasher.update([tag.len() as u8]);
        hasher.update(tag);
        for part in parts {
            hasher.update(part);
        }
        Self(hasher.finalize().into())
    }

    /// Plain SHA-256 of `data` (used for document fingerprints, which must match `sha256sum`).
    pub fn sha256(data: &[u8]) -> Self {
        Self(Sha256::digest(data).into())
    }

    /// Lowercase hexadecimal.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hexadecimal characters.
    pub fn from_hex(text: &str) -> Result<Self, DecodeError> {
        let bytes = hex::decode(text.trim()).map_err(|_| DecodeError::Hex("a 32-byte digest"))?;
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| DecodeError::Hex("a 32-byte digest"))?;
        Ok(Self(array))
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl AsRef<[u8]> for Hash32 {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_hex())
    }
}

impl fmt::Display for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_hex())
    }
}

impl FromStr for Hash32 {
    type Err = DecodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_hex(s)
    }
}

impl Serialize for Hash32 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash32 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

impl Write for Hash32 {
    fn write(&self, buf: &mut impl BufMut) {
        buf.put_slice(&self.0);
    }
}

impl FixedSize for Hash32 {
    const SIZE: usize = 32;
}

impl Read for Hash32 {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        if buf.remaining() < 32 {
            return Err(commonware_codec::Error::EndOfBuffer);
        }
        let mut out = [0u8; 32];
        buf.copy_to_slice(&mut out);
        Ok(Self(out))
    }
}

// `EncodeSize` comes from `FixedSize` through commonware's blanket impl.
const _: fn() = || {
    fn assert_encode_size<T: EncodeSize>() {}
    assert_encode_size::<Hash32>();
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_separate_domains() {
        let a = Hash32::tagged(tag::TX, &[b"x"]);
        let b = Hash32::tagged(tag::HEADER, &[b"x"]);
        assert_ne!(a, b);
        // The tag length prefix stops ("ab","c") colliding with ("a","bc").
        assert_ne!(
            Hash32::tagged(b"ab", &[b"c"]),
            Hash32::tagged(b"a", &[b"bc"])
        );
    }

    #[test]
    fn sha256_matches_known_vector() {
        assert_eq!(
            Hash32::sha256(b"abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn hex_round_trip_and_errors() {
        let h = Hash32::sha256(b"civitas");
        assert_eq!(Hash32::from_hex(&h.to_hex()).unwrap(), h);
        assert!(Hash32::from_hex("abcd").is_err());
        assert!(Hash32::from_hex("zz").is_err());
    }
}
