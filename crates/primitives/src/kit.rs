//! What a module's vocabulary declares so that the ledger can assemble it.
//!
//! A module's instructions are one enum implementing [`Operations`], its events one enum
//! implementing [`Events`]. The ledger's registration list (`civitas_core::modules`) gives each
//! module a tag and builds the ledger's `Instruction` and `Event` enums from these, one variant
//! per module: typed, matched exhaustively, and encoded canonically.

use crate::codec::DecodeError;
use bytes::Buf as _;
use commonware_codec::{Buf, EncodeSize, Write};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

/// An enum encoded as a tag byte, then the fields of the variant the tag names.
///
/// [`codec_enum!`](crate::codec_enum) implements it.
pub trait Tagged: Sized + Write + EncodeSize {
    /// Reads the variant named by `tag` (already read from `buf`).
    fn read_tagged(tag: u8, buf: &mut impl Buf) -> Result<Self, commonware_codec::Error>;
}

/// A module's instructions: the operation byte and fields (as [`Tagged`]), a JSON shape tagged
/// `"op"`, a name and the rules that need no state.
pub trait Operations:
    Tagged + Clone + Debug + PartialEq + Eq + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// The sentences of the module's failure codes: `(code, template)`, as
    /// `civitas_core::messages` renders them outside consensus.
    const MESSAGES: &'static [(&'static str, &'static str)] = &[];

    /// `module.operation`, as used in receipts, errors and policies (`treasury.pay`).
    fn name(&self) -> &'static str;

    /// Checks the rules that need no state: lengths, identifiers, non-empty text.
    fn validate(&self) -> Result<(), DecodeError>;
}

/// Which tag bytes of the ledger's event encoding a module's events use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventTags {
    /// One tag of the module's own, followed by the module's event encoding (its variant byte,
    /// then fields). Every module after the first five is registered this way.
    Own(u8),
    /// The first modules' events share one tag space: the module's variant byte *is* the
    /// ledger's event tag, one of these. Kept so that receipts made before the kit decode
    /// unchanged.
    Shared(&'static [u8]),
}

/// A module's events: encoded as [`Tagged`], a JSON shape tagged `"type"` with names unique
/// across the ledger, and the tags they take.
pub trait Events:
    Tagged + Clone + Debug + PartialEq + Eq + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// The event tags of this module.
    const TAGS: EventTags;

    /// The account whose signing keys or standing this event changed, if any: transactions
    /// it has waiting are checked again, and dropped if they no longer authenticate.
    fn changes_signer(&self) -> Option<crate::crypto::AccountId> {
        None
    }
}

/// Decodes a whole [`Tagged`] value from `bytes`: its tag, its variant's fields, and nothing
/// after them.
pub fn decode_tagged<T: Tagged>(bytes: &[u8]) -> Result<T, DecodeError> {
    let mut buf = commonware_codec::Copying(bytes);
    let tag = <u8 as commonware_codec::ReadExt>::read(&mut buf)?;
    let value = T::read_tagged(tag, &mut buf)?;
    if buf.has_remaining() {
        return Err(commonware_codec::Error::ExtraData(buf.remaining()).into());
    }
    Ok(value)
}
