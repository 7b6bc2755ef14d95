//! Blocks and headers.
//!
//! The block digest is `H("civitas/header", header)`. The header commits to the transactions,
//! signatures included, through `tx_root` and to what became of them through `receipts_root`,
//! so a header alone (352 bytes) is enough to anchor any proof. A block whose transactions do
//! not match its header's `tx_count` and `tx_root` does not decode: a digest certified by
//! consensus therefore binds every byte of the block.

use crate::crypto::PublicKey;
use crate::hash::{Hash32, tag};
use crate::limits::BLOCK_TXS_MAX;
use crate::receipt::Receipt;
use crate::time::TimestampMs;
use crate::tx::SignedTx;
use bytes::BufMut;
use commonware_codec::Buf;
use commonware_codec::{Encode, EncodeSize, RangeCfg, Read, ReadExt, Write};
use serde::{Deserialize, Serialize};

/// The header format of blocks made under protocol version 2 or later: format 3 followed by
/// `protocol`. (Version 2 added `receipts_root`, receipts committed per block; version 3 builds
/// `tx_root` over signed transactions, signatures included; version 4 adds `protocol`, the
/// protocol version the block was made under, see [`crate::protocol`].)
pub const HEADER_VERSION: u16 = 4;

/// The header format of blocks made under protocol version 1: the format from before protocol
/// versions, unchanged, which does not encode `protocol`. So a release that knows protocol
/// versions makes, until an upgrade activates, exactly the blocks a release from before them
/// makes (the two can run side by side), every chain's genesis block keeps its digest, and
/// every bundle made before keeps verifying.
pub const HEADER_VERSION_BEFORE_PROTOCOLS: u16 = 3;

/// The only header format of a block made under `protocol`: 3 for protocol 1, 4 after.
pub fn header_version(protocol: u16) -> u16 {
    if protocol <= 1 {
        HEADER_VERSION_BEFORE_PROTOCOLS
    } else {
        HEADER_VERSION
    }
}

/// A block header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Header {
    /// Format version: 3 for protocol 1, 4 from protocol 2 ([`header_version`]).
    pub version: u16,
    /// The protocol version whose rules made this block (1 in a header of format 3, which
    /// does not encode it).
    pub protocol: u16,
    /// Hash of the genesis document: which chain this block belongs to.
    pub chain: Hash32,
    /// Distance from genesis (genesis is 0).
    pub height: u64,
    /// Digest of the parent block.
    pub parent: Hash32,
    /// Consensus epoch in which it was proposed.
    pub epoch: u64,
    /// Consensus view in which it was proposed.
    pub view: u64,
    /// Consensus view of the parent.
    pub parent_view: u64,
    /// Validator that proposed it.
    pub proposer: PublicKey,
    /// The proposer's clock when proposing; never earlier than the parent's.
    pub timestamp: TimestampMs,
    /// Number of transactions.
    pub tx_count: u32,
    /// Merkle root over the signed hashes of the transactions (see [`SignedTx::signed_hash`]
    /// and [`crate::merkle`]).
    pub tx_root: Hash32,
    /// Merkle root over the receipt hashes, in the same order (see [`crate::merkle`]).
    pub receipts_root: Hash32,
    /// Root of the authenticated state after applying this block.
    pub state_root: Hash32,
    /// Root of the state's operation log (lets a syncing node verify what peers send).
    pub state_ops_root: Hash32,
    /// Start of the state's retained operation range.
    pub state_ops_start: u64,
    /// End (exclusive) of the state's operation range.
    pub state_ops_end: u64,
    /// Root of the MMR over the digests of all earlier blocks (see [`crate::mmr`]).
    pub history_root: Hash32,
    /// Digest of the validator set of this block's epoch.
    pub validator_set: Hash32,
}

/// A header and its transactions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// The header.
    pub header: Header,
    /// The transactions, in execution order.
    pub txs: Vec<SignedTx>,
}

impl Header {
    /// The block digest.
    pub fn digest(&self) -> Hash32 {
        Hash32::tagged(tag::HEADER, &[&self.encode()])
    }
}

impl Block {
    /// The block digest (the header's digest).
    pub fn digest(&self) -> Hash32 {
        self.header.digest()
    }

    /// The Merkle root over this block's signed transactions.
    pub fn compute_tx_root(&self) -> Hash32 {
        tx_root(&self.txs)
    }

    /// Checks that the transactions are the ones the header commits to (count and `tx_root`).
    pub fn check_body(&self) -> Result<(), commonware_codec::Error> {
        if self.txs.len() != self.header.tx_count as usize {
            return Err(commonware_codec::Error::Invalid(
                "Block",
                "tx_count mismatch",
            ));
        }
        if self.compute_tx_root() != self.header.tx_root {
            return Err(commonware_codec::Error::Invalid(
                "Block",
                "transactions do not match tx_root",
            ));
        }
        Ok(())
    }
}

/// The Merkle root over `txs`' signed hashes, in block order, as committed by `tx_root`.
pub fn tx_root(txs: &[SignedTx]) -> Hash32 {
    let hashes: Vec<Hash32> = txs.iter().map(SignedTx::signed_hash).collect();
    crate::merkle::root(&hashes)
}

/// The Merkle root over receipts (in block order), as committed by `receipts_root`.
pub fn receipts_root(receipts: &[Receipt]) -> Hash32 {
    let hashes: Vec<Hash32> = receipts.iter().map(Receipt::hash).collect();
    crate::merkle::root(&hashes)
}

impl Write for Header {
    fn write(&self, buf: &mut impl BufMut) {
        self.version.write(buf);
        if self.version != HEADER_VERSION_BEFORE_PROTOCOLS {
            self.protocol.write(buf);
        }
        self.chain.write(buf);
        self.height.write(buf);
        self.parent.write(buf);
        self.epoch.write(buf);
        self.view.write(buf);
        self.parent_view.write(buf);
        self.proposer.write(buf);
        self.timestamp.0.write(buf);
        self.tx_count.write(buf);
        self.tx_root.write(buf);
        self.receipts_root.write(buf);
        self.state_root.write(buf);
        self.state_ops_root.write(buf);
        self.state_ops_start.write(buf);
        self.state_ops_end.write(buf);
        self.history_root.write(buf);
        self.validator_set.write(buf);
    }
}

/// Encoded size of a header of format 4 (the largest).
pub const HEADER_ENCODED_BYTES: usize =
    2 + 2 + 32 + 8 + 32 + 8 + 8 + 8 + 32 + 8 + 4 + 32 * 4 + 8 + 8 + 32 + 32;

impl EncodeSize for Header {
    fn encode_size(&self) -> usize {
        if self.version == HEADER_VERSION_BEFORE_PROTOCOLS {
            HEADER_ENCODED_BYTES - 2
        } else {
            HEADER_ENCODED_BYTES
        }
    }
}

impl Read for Header {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        let version = u16::read(buf)?;
        let protocol = match version {
            HEADER_VERSION => {
                // Protocol 1 is written in format 3 only: one encoding per header.
                let protocol = u16::read(buf)?;
                if protocol < 2 {
                    return Err(commonware_codec::Error::Invalid(
                        "Header",
                        "format 4 carries protocol version 2 or later",
                    ));
                }
                protocol
            }
            HEADER_VERSION_BEFORE_PROTOCOLS => 1,
            _ => {
                return Err(commonware_codec::Error::Invalid(
                    "Header",
                    "unknown version",
                ));
            }
        };
        Ok(Self {
            version,
            protocol,
            chain: Hash32::read(buf)?,
            height: u64::read(buf)?,
            parent: Hash32::read(buf)?,
            epoch: u64::read(buf)?,
            view: u64::read(buf)?,
            parent_view: u64::read(buf)?,
            proposer: PublicKey::read(buf)?,
            timestamp: TimestampMs(u64::read(buf)?),
            tx_count: u32::read(buf)?,
            tx_root: Hash32::read(buf)?,
            receipts_root: Hash32::read(buf)?,
            state_root: Hash32::read(buf)?,
            state_ops_root: Hash32::read(buf)?,
            state_ops_start: u64::read(buf)?,
            state_ops_end: u64::read(buf)?,
            history_root: Hash32::read(buf)?,
            validator_set: Hash32::read(buf)?,
        })
    }
}

impl Write for Block {
    fn write(&self, buf: &mut impl BufMut) {
        self.header.write(buf);
        self.txs.write(buf);
    }
}

impl EncodeSize for Block {
    fn encode_size(&self) -> usize {
        self.header.encode_size() + self.txs.encode_size()
    }
}

impl Read for Block {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        let header = Header::read(buf)?;
        let txs = Vec::<SignedTx>::read_cfg(buf, &(RangeCfg::new(..=BLOCK_TXS_MAX), ()))?;
        let block = Self { header, txs };
        block.check_body()?;
        Ok(block)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::codec::{from_slice, to_vec};
    use crate::crypto::PrivateKey;

    pub(crate) fn header() -> Header {
        Header {
            version: HEADER_VERSION,
            protocol: 2,
            chain: Hash32::sha256(b"chain"),
            height: 5,
            parent: Hash32::sha256(b"parent"),
            epoch: 0,
            view: 9,
            parent_view: 8,
            proposer: PrivateKey::from_test_seed(3).public_key(),
            timestamp: TimestampMs(1_700_000_000_000),
            tx_count: 0,
            tx_root: crate::merkle::root(&[]),
            receipts_root: crate::merkle::root(&[]),
            state_root: Hash32::sha256(b"state"),
            state_ops_root: Hash32::sha256(b"ops"),
            state_ops_start: 0,
            state_ops_end: 10,
            history_root: Hash32::sha256(b"history"),
            validator_set: Hash32::sha256(b"validators"),
        }
    }

    #[test]
    fn header_round_trip_and_digest_changes_with_any_field() {
        let h = header();
        let bytes = to_vec(&h);
        assert_eq!(bytes.len(), HEADER_ENCODED_BYTES);
        assert_eq!(from_slice::<Header>(&bytes, &()).unwrap(), h);
        let mut other = h.clone();
        other.timestamp = TimestampMs(1_700_000_000_001);
        assert_ne!(other.digest(), h.digest());
        let mut upgraded = h.clone();
        upgraded.protocol = 3;
        assert_ne!(upgraded.digest(), h.digest());
        assert_eq!(&to_vec(&upgraded)[..4], &[0, 4, 0, 3]);
        assert_eq!(header_version(1), 3);
        assert_eq!(header_version(2), 4);
    }

    proptest::proptest! {
        /// Whatever decodes as a header, of either format, encodes back to the same bytes (so
        /// a digest names one header), and any header of format 4 round-trips.
        #[test]
        fn headers_decode_canonically(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 340..360),
            version in proptest::prop_oneof![proptest::strategy::Just(3u16), proptest::strategy::Just(4u16)],
            protocol in 2u16..,
            height in proptest::prelude::any::<u64>(),
        ) {
            let mut bytes = bytes;
            bytes[..2].copy_from_slice(&version.to_be_bytes());
            if let Ok(read) = from_slice::<Header>(&bytes, &()) {
                proptest::prop_assert_eq!(to_vec(&read), bytes);
            }
            let mut h = header();
            h.protocol = protocol;
            h.height = height;
            proptest::prop_assert_eq!(from_slice::<Header>(&to_vec(&h), &()).unwrap(), h);
        }
    }

    #[test]
    fn headers_of_format_3_read_as_protocol_1_and_keep_their_bytes() {
        let mut old = header();
        old.version = HEADER_VERSION_BEFORE_PROTOCOLS;
        old.protocol = 1;
        let bytes = to_vec(&old);
        assert_eq!(bytes.len(), HEADER_ENCODED_BYTES - 2);
        // The format-3 layout: the chain follows the version at once.
        assert_eq!(&bytes[2..34], old.chain.as_ref());
        let read = from_slice::<Header>(&bytes, &()).unwrap();
        assert_eq!(read, old);
        assert_eq!(read.protocol, 1);
        // Format 4 with protocol 0 or 1 (protocol 1 is format 3 only), and formats 2 and 5, do
        // not decode.
        for protocol in [0u8, 1] {
            let mut low = to_vec(&header());
            low[3] = protocol;
            assert!(from_slice::<Header>(&low, &()).is_err());
        }
        for version in [2u16, 5] {
            let mut other = to_vec(&header());
            other[..2].copy_from_slice(&version.to_be_bytes());
            assert!(from_slice::<Header>(&other, &()).is_err());
        }
    }

    /// A block of two signed transactions, the second signed twice, with a matching header.
    fn block() -> Block {
        use crate::instruction::{Instruction, NotaryInstruction};
        let one = PrivateKey::from_test_seed(1);
        let two = PrivateKey::from_test_seed(2);
        let txs: Vec<SignedTx> = (0..2u64)
            .map(|n| {
                crate::tx::TxBody {
                    chain_id: "test".into(),
                    signer: one.public_key().account_id(),
                    nonce: n,
                    expiry: TimestampMs(10_000),
                    instructions: vec![Instruction::Notary(NotaryInstruction::Anchor {
                        document: Hash32::sha256(&n.to_be_bytes()),
                        title: "Deed".into(),
                        metadata: vec![],
                    })],
                    memo: String::new(),
                }
                .into_signed(&[&one, &two][..1 + n as usize])
            })
            .collect();
        let mut header = header();
        header.tx_count = 2;
        header.tx_root = tx_root(&txs);
        Block { header, txs }
    }

    #[test]
    fn the_digest_binds_every_byte_of_a_block() {
        let block = block();
        let bytes = to_vec(&block);
        assert_eq!(from_slice::<Block>(&bytes, &()).unwrap(), block);
        for index in 0..bytes.len() {
            let mut changed = bytes.clone();
            changed[index] ^= 0x01;
            if let Ok(decoded) = from_slice::<Block>(&changed, &()) {
                assert_ne!(decoded.digest(), block.digest(), "byte {index}");
            }
        }
        // A signature removed, or moved to another transaction, under the same header.
        let mut stripped = block.clone();
        stripped.txs[1].signatures.pop();
        assert!(from_slice::<Block>(&to_vec(&stripped), &()).is_err());
        let mut swapped = block.clone();
        let moved = swapped.txs[1].signatures.remove(1);
        swapped.txs[0].signatures.push(moved);
        assert!(from_slice::<Block>(&to_vec(&swapped), &()).is_err());
    }

    #[test]
    fn block_rejects_count_mismatch() {
        let mut block = Block {
            header: header(),
            txs: vec![],
        };
        block.header.tx_count = 1;
        assert!(from_slice::<Block>(&to_vec(&block), &()).is_err());
    }
}
