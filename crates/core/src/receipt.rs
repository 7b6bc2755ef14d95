//! Receipts: the ledger's record of what became of each included transaction.
//!
//! A failed transaction is still recorded and consumes its nonce. Its receipt records a stable
//! machine-readable code and named arguments: data, not prose. The sentence a person reads is
//! rendered from them outside consensus ([`crate::messages`]), so rewording a message never
//! changes a receipt's hash.

use crate::codec::{read_list, read_str, str_size, write_str};
use crate::crypto::AccountId;
use crate::event::Event;
use crate::hash::Hash32;
use crate::limits::*;
use crate::messages::{ARG_NAME_MAX_BYTES, ARG_VALUE_MAX_BYTES, ARGS_MAX};
use crate::time::TimestampMs;
use bytes::BufMut;
use commonware_codec::Buf;
use commonware_codec::{EncodeSize, Read, ReadExt, Write};
use serde::{Deserialize, Serialize};

/// One named argument of a failure (see [`crate::messages`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FailureArg {
    /// Its name, such as `tender`.
    pub name: String,
    /// Its canonical text, such as `7`.
    pub value: String,
}

/// Whether the transaction's instructions took effect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxOutcome {
    /// Every instruction applied.
    Success,
    /// Nothing applied; the nonce was consumed.
    Failed {
        /// Index of the instruction that failed.
        instruction: u32,
        /// Stable code, such as `not_authorized` or `already_anchored`.
        code: String,
        /// Named arguments, in the order the rule recorded them.
        args: Vec<FailureArg>,
    },
}

impl TxOutcome {
    /// The sentence that says why it failed (rendered, not recorded); `None` on success.
    pub fn message(&self) -> Option<String> {
        match self {
            Self::Success => None,
            Self::Failed { code, args, .. } => {
                let pairs: Vec<(&str, &str)> = args
                    .iter()
                    .map(|a| (a.name.as_str(), a.value.as_str()))
                    .collect();
                Some(crate::messages::render(code, &pairs))
            }
        }
    }
}

/// The JSON view: `{"status": "success"}` or `{"status": "failed", "instruction", "code",
/// "args": [[name, value], ...], "message"}` (the message rendered from code and arguments).
impl Serialize for TxOutcome {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Self::Success => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("status", "success")?;
                map.end()
            }
            Self::Failed {
                instruction,
                code,
                args,
            } => {
                let mut map = serializer.serialize_map(Some(5))?;
                map.serialize_entry("status", "failed")?;
                map.serialize_entry("instruction", instruction)?;
                map.serialize_entry("code", code)?;
                let pairs: Vec<[&str; 2]> = args
                    .iter()
                    .map(|a| [a.name.as_str(), a.value.as_str()])
                    .collect();
                map.serialize_entry("args", &pairs)?;
                map.serialize_entry("message", &self.message())?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for TxOutcome {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(tag = "status", rename_all = "snake_case")]
        enum View {
            Success,
            Failed {
                instruction: u32,
                code: String,
                #[serde(default)]
                args: Vec<(String, String)>,
            },
        }
        Ok(match View::deserialize(deserializer)? {
            View::Success => Self::Success,
            View::Failed {
                instruction,
                code,
                args,
            } => Self::Failed {
                instruction,
                code,
                args: args
                    .into_iter()
                    .map(|(name, value)| FailureArg { name, value })
                    .collect(),
            },
        })
    }
}

// The JSON shape `TxOutcome` serializes to, for its OpenAPI schema (the API's tests validate
// receipts of both outcomes against it).
/// Whether the transaction's instructions took effect: `success`, or `failed` with the
/// instruction that failed, a stable code, its arguments and the sentence they make.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
#[schema(as = TxOutcome)]
#[allow(dead_code)] // Only its schema is used.
enum OutcomeShape {
    /// Every instruction applied.
    Success,
    /// Nothing applied; the nonce was consumed.
    Failed {
        /// Index of the instruction that failed.
        instruction: u32,
        /// Stable code, such as `not_authorized` or `already_anchored`.
        code: String,
        /// Named arguments as `[name, value]` pairs, in the order the rule recorded them.
        args: Vec<[String; 2]>,
        /// The sentence rendered from the code and arguments (not recorded on the ledger).
        message: String,
    },
}

impl utoipa::PartialSchema for TxOutcome {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <OutcomeShape as utoipa::PartialSchema>::schema()
    }
}

impl utoipa::ToSchema for TxOutcome {}

/// The record of one included transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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

/// The id of the end receipt of the block at `height`: where a receipt's `tx` would name a
/// transaction, this names the block's end-of-block step (see [`Receipt::block_end`]).
pub fn block_end_id(height: u64) -> Hash32 {
    Hash32::tagged(crate::hash::tag::BLOCK_END, &[&height.to_be_bytes()])
}

impl Receipt {
    /// The receipt of what the modules' end-of-block step did in the block at `height` with
    /// `tx_count` transactions: deadlines that passed, and what they caused. It follows the
    /// block's transaction receipts (`index` is `tx_count`), runs for no account (the zero
    /// id) and consumes no nonce. A block has one only when that step emitted events. It is
    /// not a leaf of `receipts_root`: it is what every validator computes from the block and
    /// the state before it, and what it changed is in the state the header's `state_root`
    /// proves.
    pub fn block_end(
        height: u64,
        tx_count: u32,
        timestamp: TimestampMs,
        events: Vec<Event>,
    ) -> Self {
        Self {
            tx: block_end_id(height),
            height,
            index: tx_count,
            timestamp,
            signer: AccountId(Hash32::ZERO.0),
            nonce: 0,
            outcome: TxOutcome::Success,
            events,
        }
    }

    /// Whether this is a block's end receipt rather than a transaction's.
    pub fn is_block_end(&self) -> bool {
        self.tx == block_end_id(self.height)
    }

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

impl Write for FailureArg {
    fn write(&self, buf: &mut impl BufMut) {
        write_str(&self.name, buf);
        write_str(&self.value, buf);
    }
}

impl EncodeSize for FailureArg {
    fn encode_size(&self) -> usize {
        str_size(&self.name) + str_size(&self.value)
    }
}

impl Read for FailureArg {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        Ok(Self {
            name: read_str(buf, ARG_NAME_MAX_BYTES)?,
            value: read_str(buf, ARG_VALUE_MAX_BYTES)?,
        })
    }
}

impl Write for TxOutcome {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            Self::Success => 0u8.write(buf),
            Self::Failed {
                instruction,
                code,
                args,
            } => {
                1u8.write(buf);
                instruction.write(buf);
                write_str(code, buf);
                args.write(buf);
            }
        }
    }
}

impl EncodeSize for TxOutcome {
    fn encode_size(&self) -> usize {
        match self {
            Self::Success => 1,
            Self::Failed { code, args, .. } => 1 + 4 + str_size(code) + args.encode_size(),
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
                code: read_str(buf, FAILURE_CODE_MAX_BYTES)?,
                args: read_list(buf, ARGS_MAX, &())?,
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
                code: "already_anchored".into(),
                args: vec![
                    FailureArg {
                        name: "document".into(),
                        value: "ab".into(),
                    },
                    FailureArg {
                        name: "agency".into(),
                        value: "land".into(),
                    },
                    FailureArg {
                        name: "height".into(),
                        value: "4".into(),
                    },
                ],
            },
            events: vec![Event::Notary(crate::event::NotaryEvent::DocumentRevoked {
                document: Hash32::sha256(b"d"),
                by: AccountId([2; 32]),
                reason: "forged".into(),
            })],
        };
        let bytes = to_vec(&receipt);
        assert_eq!(bytes.len(), receipt.encode_size());
        assert_eq!(from_slice::<Receipt>(&bytes, &()).unwrap(), receipt);
        assert_eq!(
            receipt.outcome.message().unwrap(),
            "document ab was already anchored by land at height 4"
        );
        let json = serde_json::to_value(&receipt).unwrap();
        assert_eq!(
            json["outcome"]["args"][1],
            serde_json::json!(["agency", "land"])
        );
        assert_eq!(
            json["outcome"]["message"],
            "document ab was already anchored by land at height 4"
        );
        let back: Receipt = serde_json::from_value(json).unwrap();
        assert_eq!(back, receipt);
    }
}
