//! Key spaces: where a module keeps its records in the state, how a client names a record
//! (`notary/document/<sha256>`), and how a stored value is shown as JSON.
//!
//! A module lists its spaces in [`crate::Module::SPACES`]; the ledger's own (nonces, history,
//! meta, epochs, authorization) are [`LEDGER`]. `civitas-modules` assembles them, and the API
//! and the CLI read any record through them, so a new module's records can be read, proven
//! and shown without a line elsewhere.

use civitas_core::bundle::{StateKey, spaces};
use civitas_core::codec::{DecodeError, from_slice};
use civitas_core::crypto::PublicKey;
use civitas_core::governance::ValidatorSet;
use civitas_core::hash::Hash32;
use civitas_core::mmr::Peaks;
use commonware_codec::Decode;
use serde::Serialize;

/// One key space.
pub struct Space {
    /// `module/records`, such as `notary/document`: the first part of every key in it.
    pub name: &'static str,
    /// How an id is written as text.
    pub id: Id,
    /// How ids are written, in words (listed when a client names an unknown space).
    pub about: &'static str,
    /// The JSON view of a stored value, or `None` if the bytes do not decode.
    pub view: fn(&[u8]) -> Option<serde_json::Value>,
    /// What a proof of a key in this space shows, in a sentence: from the key's id, the
    /// value's view (`None`: the key is absent) and where ([`At`]: `"at height 9 of chain x"`,
    /// and the block's time, for what a record's standing depends on, such as an expiry).
    /// Without one, or when it returns `None`, the proof is described as "`<key>` holds
    /// `<value>`" or "`<key>` is absent".
    pub describe: Option<Describe>,
}

/// See [`Space::describe`].
pub type Describe = fn(id: &[u8], value: Option<&serde_json::Value>, at: &At) -> Option<String>;

/// Where a proof stands: its words, as a sentence ends (`"at height 9 of chain x"`, what
/// `Display` writes), and the time of the proven block.
pub struct At {
    /// `"at height <h> of chain <genesis>"`.
    pub words: String,
    /// The proven block's time.
    pub time: civitas_core::time::TimestampMs,
}

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.words)
    }
}

/// How the id of a key is written as text, and becomes the key's bytes.
#[derive(Clone, Copy)]
pub enum Id {
    /// A single record: the id is empty.
    Empty,
    /// A number, stored as 8 big-endian bytes.
    Number,
    /// A year such as 2026, stored as 4 big-endian bytes.
    Year,
    /// 32 bytes written as 64 hexadecimal characters; the text says what they are
    /// (`"an account id"`).
    Hex32(&'static str),
    /// The SHA-256 of a file (a document, a release's text), written as 64 hexadecimal
    /// characters; the text says what the file is. `civitas verify --file` checks that a file
    /// is the one a bundle of such a record is about.
    Fingerprint(&'static str),
    /// A public key in hex.
    PublicKey,
    /// The text itself, as UTF-8.
    Text,
    /// A module's own form: `parse` makes the text the bytes, or says how ids are written
    /// (completed as "`<space>` ids are ..."); `show` writes the bytes as that text.
    Custom {
        /// The text to the key's bytes.
        parse: fn(&str) -> Result<Vec<u8>, String>,
        /// The key's bytes to the text `parse` reads, `None` if they are not an id here.
        show: fn(&[u8]) -> Option<String>,
    },
}

impl Id {
    /// The key bytes of `text` in `space`, or why the text is not an id there.
    pub fn parse(self, space: &str, text: &str) -> Result<Vec<u8>, DecodeError> {
        let invalid = |reason: String| DecodeError::Invalid {
            field: "id",
            reason,
        };
        Ok(match self {
            Id::Empty => Vec::new(),
            Id::Number => text
                .parse::<u64>()
                .map_err(|_| invalid(format!("{space} ids are numbers")))?
                .to_be_bytes()
                .to_vec(),
            Id::Year => text
                .parse::<u32>()
                .map_err(|_| invalid(format!("{space} ids are years, such as 2026")))?
                .to_be_bytes()
                .to_vec(),
            Id::Hex32(what) | Id::Fingerprint(what) => Hash32::from_hex(text)
                .map_err(|_| invalid(format!("{space} ids are {what}: 64 hexadecimal characters")))?
                .0
                .to_vec(),
            Id::PublicKey => PublicKey::from_hex(text)?.to_bytes().to_vec(),
            Id::Text => text.as_bytes().to_vec(),
            Id::Custom { parse, .. } => {
                parse(text).map_err(|how| invalid(format!("{space} ids are {how}")))?
            }
        })
    }

    /// The text of an id, as [`Id::parse`] reads it; `None` if the bytes are not an id of
    /// this form.
    pub fn text(self, id: &[u8]) -> Option<String> {
        match self {
            Id::Empty => id.is_empty().then(String::new),
            Id::Number => Some(u64::from_be_bytes(id.try_into().ok()?).to_string()),
            Id::Year => Some(u32::from_be_bytes(id.try_into().ok()?).to_string()),
            Id::Hex32(_) | Id::Fingerprint(_) | Id::PublicKey => {
                (id.len() == 32).then(|| hex::encode(id))
            }
            Id::Text => std::str::from_utf8(id).ok().map(str::to_string),
            Id::Custom { show, .. } => show(id),
        }
    }
}

/// The key named by a space's name and its id as text, among `spaces`; or why there is none
/// (an unknown space is answered with the list of known ones).
pub fn key_from_text(spaces: &[&Space], name: &str, id: &str) -> Result<StateKey, DecodeError> {
    let Some(found) = spaces.iter().find(|space| space.name == name) else {
        return Err(DecodeError::Invalid {
            field: "space",
            reason: format!(
                "unknown key space {name:?}; known spaces: {}",
                spaces.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
            ),
        });
    };
    Ok(StateKey::new(name, found.id.parse(name, id)?))
}

/// The JSON view of a value of type `T`: `view::<Document>` in a [`Space`].
pub fn view<T: Decode<Cfg = ()> + Serialize>(bytes: &[u8]) -> Option<serde_json::Value> {
    let value = from_slice::<T>(bytes, &()).ok()?;
    serde_json::to_value(value).ok()
}

/// The ledger's own spaces: nonces, the history, the chain's meta record, the validator sets
/// of epochs and their hand-overs, and the authorization records.
pub const LEDGER: &[Space] = &[
    Space {
        name: spaces::NONCE,
        id: Id::Hex32("an account id"),
        about: "account id, hex",
        describe: None,
        view: view::<u64>,
    },
    Space {
        name: spaces::HISTORY,
        id: Id::Empty,
        about: "empty",
        describe: None,
        view: view::<Peaks>,
    },
    Space {
        name: spaces::META,
        id: Id::Empty,
        about: "empty",
        describe: None,
        view: view::<Hash32>,
    },
    Space {
        name: spaces::EPOCH,
        id: Id::Number,
        about: "epoch number",
        describe: None,
        view: view::<ValidatorSet>,
    },
    Space {
        name: spaces::AUTHZ_SCHEMA,
        id: Id::Empty,
        about: "empty",
        describe: None,
        view: |bytes| {
            let text = from_slice::<crate::authz::policies::SchemaText>(bytes, &()).ok()?;
            Some(serde_json::Value::String(text.0))
        },
    },
    Space {
        name: spaces::AUTHZ_POLICIES,
        id: Id::Empty,
        about: "empty",
        describe: None,
        view: view::<crate::authz::PolicyHead>,
    },
    Space {
        name: spaces::AUTHZ_PENDING,
        id: Id::Empty,
        about: "empty",
        describe: None,
        view: view::<crate::authz::PolicySetRecord>,
    },
    Space {
        name: spaces::AUTHZ_VERSION,
        id: Id::Number,
        about: "policy set version number",
        describe: None,
        view: view::<crate::authz::PolicySetRecord>,
    },
    Space {
        name: spaces::AUTHZ_PROTOCOL,
        id: Id::Empty,
        about: "empty",
        describe: None,
        view: view::<u16>,
    },
];
