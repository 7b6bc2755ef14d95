//! Receipts: the ledger's record of what became of each included transaction.
//!
//! A failed transaction is still recorded, consumes its nonce, and its receipt says why in words
//! a person can act on, with a stable machine-readable code.

use crate::codec::{read_list, read_str, str_size, write_str};
use crate::crypto::AccountId;
use crate::event::Event;
use crate::hash::Hash32;
use crate::limits::*;
use crate::time::TimestampMs;
use bytes::BufMut;
use commonware_codec::Buf;
use commonware_codec::{EncodeSize, Read, ReadExt, Write};
use serde::{Deserialize, Serialize};

/// Whether the transaction's instructions took effect.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TxOutcome {
    /// Every instruction applied.
    Success,
    /// Nothing applied; the nonce was consumed.
    Failed {
        /// Index of the instruction that failed.
        instruction: u32,
        /// Stable code, such as `not_authorized` or `already_anchored`.
        code: String,
        /// What happened and what to do next.
        message: String,
    },
}

/// The record of one included transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The transaction hash.
    pub tx: Hash32,
    /// Height of the block that included it.
    pub height: u64,
    /// Position within that block.
    pub index: u32,
    /// The block's timestamp.
    pub timestamp: TimestampMs,
    /// The account it ran for.
    pub signer: AccountId,
    /// The nonce it consumed.
    pub nonce: u64,
    /// What became of it.
    pub outcome: TxOutcome,
    /// What it changed (empty when it failed).
    pub events: Vec<Event>,
}

impl Receipt {
    /// Whether the transaction succeeded.
    pub fn succeeded(&self) -> bool {
        matches!(self.outcome, TxOutcome::Success)
    }

    /// The receipt's hash, a leaf of its block's `receipts_root`.
    pub fn hash(&self) -> Hash32 {
        Hash32::tagged(
            crate::hash::tag::RECEIPT,
            &[&commonware_codec::Encode::encode(self)],
        )
    }
}

impl Write for TxOutcome {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            Self::Success => 0u8.write(buf),
            Self::Failed {
                instruction,
                code,
                message,
            } => {
                1u8.write(buf);
                instruction.write(buf);
                write_str(code, buf);
                write_str(message, buf);
            }
        }
    }
}

impl EncodeSize for TxOutcome {
    fn encode_size(&self) -> usize {
        match self {
            Self::Success => 1,
            Self::Failed { code, message, .. } => 1 + 4 + str_size(code) + str_size(message),
        }
    }
}

impl Read for TxOutcome {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        match u8::read(buf)? {
            0 => Ok(Self::Success),
            1 => Ok(Self::Failed {
                instruction: u32::read(buf)?,
                code: read_str(buf, 64)?,
                message: read_str(buf, RECEIPT_MESSAGE_MAX_BYTES)?,
            }),
            other => Err(commonware_codec::Error::InvalidEnum(other)),
        }
    }
}

impl Write for Receipt {
    fn write(&self, buf: &mut impl BufMut) {
        self.tx.write(buf);
        self.height.write(buf);
        self.index.write(buf);
        self.timestamp.0.write(buf);
        self.signer.write(buf);
        self.nonce.write(buf);
        self.outcome.write(buf);
        self.events.write(buf);
    }
}

impl EncodeSize for Receipt {
    fn encode_size(&self) -> usize {
        32 + 8 + 4 + 8 + 32 + 8 + self.outcome.encode_size() + self.events.encode_size()
    }
}

impl Read for Receipt {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        Ok(Self {
            tx: Hash32::read(buf)?,
            height: u64::read(buf)?,
            index: u32::read(buf)?,
            timestamp: TimestampMs(u64::read(buf)?),
            signer: AccountId::read(buf)?,
            nonce: u64::read(buf)?,
            outcome: TxOutcome::read(buf)?,
            events: read_list(buf, TX_EVENTS_MAX, &())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{from_slice, to_vec};

    #[test]
    fn receipt_round_trip() {
        let receipt = Receipt {
            tx: Hash32::sha256(b"t"),
            height: 7,
            index: 2,
            timestamp: TimestampMs(99),
            signer: AccountId([1; 32]),
            nonce: 4,
            outcome: TxOutcome::Failed {
                instruction: 0,
                code: "not_authorized".into(),
                message: "no".into(),
            },
            events: vec![Event::DocumentRevoked {
                document: Hash32::sha256(b"d"),
                by: AccountId([2; 32]),
                reason: "forged".into(),
            }],
        };
        let bytes = to_vec(&receipt);
        assert_eq!(bytes.len(), receipt.encode_size());
        assert_eq!(from_slice::<Receipt>(&bytes, &()).unwrap(), receipt);
    }
}
