//! The ledger block as commonware consensus sees it.
//!
//! [`ChainBlock`] wraps [`civitas_core::Block`] and implements the consensus traits. The consensus
//! context (round, leader, parent view) is stored in our own header fields, so the digest commits
//! to it as the deferred-verification wrapper requires.
//!
//! The digest is the header's, and a block only decodes when its transactions (signatures
//! included) are the ones the header's `tx_root` commits to. So a block a peer sends, whether a
//! proposal or a finalized block served over backfill, is checked against its digest before
//! anything stores or applies it: marshal refuses a block that does not decode, blames the peer
//! that sent it and asks another.

use civitas_core::block::{Block, HEADER_ENCODED_BYTES, Header};
use civitas_core::crypto::PublicKey;
use civitas_core::limits::{BLOCK_ENCODED_MAX_BYTES, BLOCK_TXS_MAX, TX_ENCODED_MAX_BYTES};
use civitas_core::tx::SignedTx;
use civitas_state::{from_digest, to_digest};
use commonware_codec::{Buf, EncodeSize, Read, Write};
use commonware_consensus::{
    Block as ConsensusBlock, BoundedBlock, CertifiableBlock, Heightable,
    simplex::types::Context,
    types::{Epoch, Height, Round, View},
};
use commonware_cryptography::{Digestible, ed25519, sha256};
use std::sync::Arc;

/// The consensus context type.
pub type ConsensusContext = Context<sha256::Digest, ed25519::PublicKey>;

/// A ledger block, shared cheaply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainBlock(pub Arc<Block>);

impl ChainBlock {
    /// Wraps a block.
    pub fn new(block: Block) -> Self {
        Self(Arc::new(block))
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.0.header
    }

    /// The consensus context recorded in the header.
    pub fn consensus_context(&self) -> ConsensusContext {
        let header = self.header();
        Context {
            round: Round::new(Epoch::new(header.epoch), View::new(header.view)),
            leader: header.proposer.inner().clone(),
            parent: (View::new(header.parent_view), to_digest(&header.parent)),
        }
    }
}

/// Copies a consensus context into header fields: (epoch, view, parent view, leader, parent).
pub fn context_fields(
    context: &ConsensusContext,
) -> (u64, u64, u64, PublicKey, civitas_core::hash::Hash32) {
    (
        context.round.epoch().get(),
        context.round.view().get(),
        context.parent.0.get(),
        PublicKey::from_inner(context.leader.clone()),
        from_digest(&context.parent.1),
    )
}

impl Write for ChainBlock {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.0.write(buf);
    }
}

impl EncodeSize for ChainBlock {
    fn encode_size(&self) -> usize {
        self.0.encode_size()
    }
}

impl Read for ChainBlock {
    type Cfg = ();

    /// Reads a block, bounding each transaction and the whole block in bytes as they are read,
    /// and refusing transactions that do not match the header's `tx_root`.
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        let start = buf.remaining();
        let header = Header::read_cfg(buf, &())?;
        let count = usize::read_cfg(buf, &commonware_codec::RangeCfg::new(..=BLOCK_TXS_MAX))?;
        if count != header.tx_count as usize {
            return Err(commonware_codec::Error::Invalid(
                "Block",
                "tx_count mismatch",
            ));
        }
        let mut txs = Vec::with_capacity(count.min(1024));
        for _ in 0..count {
            let before = buf.remaining();
            txs.push(SignedTx::read_cfg(buf, &())?);
            if before - buf.remaining() > TX_ENCODED_MAX_BYTES {
                return Err(commonware_codec::Error::Invalid(
                    "Block",
                    "transaction too large",
                ));
            }
            if start - buf.remaining() > BLOCK_ENCODED_MAX_BYTES {
                return Err(commonware_codec::Error::Invalid("Block", "block too large"));
            }
        }
        let block = Block { header, txs };
        block.check_body()?;
        Ok(Self::new(block))
    }
}

impl Digestible for ChainBlock {
    type Digest = sha256::Digest;

    fn digest(&self) -> sha256::Digest {
        to_digest(&self.0.digest())
    }
}

impl Heightable for ChainBlock {
    fn height(&self) -> Height {
        Height::new(self.0.header.height)
    }
}

impl ConsensusBlock for ChainBlock {
    fn parent(&self) -> sha256::Digest {
        to_digest(&self.0.header.parent)
    }
}

impl CertifiableBlock for ChainBlock {
    type Context = ConsensusContext;

    fn context(&self) -> Self::Context {
        self.consensus_context()
    }
}

impl BoundedBlock for ChainBlock {
    fn max_encode_size(_: &()) -> usize {
        HEADER_ENCODED_BYTES + 5 + BLOCK_ENCODED_MAX_BYTES + TX_ENCODED_MAX_BYTES
    }
}
