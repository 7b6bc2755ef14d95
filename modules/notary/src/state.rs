//! Notary state: one record per anchored document.

use civitas_core::bundle::StateKey;
use civitas_core::codec::{read_list, read_str, str_size, write_str};
use civitas_core::crypto::AccountId;
use civitas_core::hash::Hash32;
use civitas_core::instruction::MetadataEntry;
use civitas_core::limits::*;
use civitas_core::time::TimestampMs;
use civitas_kit::Overlay;
use civitas_kit::{StateError, StateView};
use commonware_codec::{Buf, EncodeSize, Read, ReadExt, Write};
use serde::Serialize;

/// The module's key spaces, as `spaces::NAME` (see [`SPACES`]).
pub mod spaces {
    /// A notarised document, by SHA-256.
    pub const DOCUMENT: &str = "notary/document";

    use super::*;
    use civitas_kit::space::{Id, Space, view};

    /// Where the module's records are, how a client names one, and how a value is shown.
    pub const SPACES: &[Space] = &[Space {
        name: DOCUMENT,
        id: Id::Fingerprint("a document's SHA-256"),
        about: "SHA-256 of the document, hex",
        describe: Some(describe_document),
        view: view::<Document>,
    }];
}

/// A revocation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Revocation {
    /// Who revoked it.
    pub by: AccountId,
    /// Why.
    pub reason: String,
    /// Block height.
    pub height: u64,
    /// Block time.
    pub time: TimestampMs,
    /// The revoking transaction.
    pub tx: Hash32,
}

/// An anchored document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Document {
    /// SHA-256 of the document's bytes.
    pub hash: Hash32,
    /// The official who anchored it.
    pub issuer: AccountId,
    /// The issuer's agency.
    pub agency: String,
    /// Title.
    pub title: String,
    /// Public metadata.
    pub metadata: Vec<MetadataEntry>,
    /// Block height of the anchoring.
    pub height: u64,
    /// Block time of the anchoring.
    pub time: TimestampMs,
    /// The anchoring transaction.
    pub tx: Hash32,
    /// Present once revoked.
    pub revocation: Option<Revocation>,
}

/// Key of a document record.
pub fn document_key(hash: &Hash32) -> StateKey {
    StateKey::new(spaces::DOCUMENT, hash.0.to_vec())
}

/// Loads a document record.
pub async fn load_document<S: StateView>(
    state: &mut Overlay<'_, S>,
    hash: &Hash32,
) -> Result<Option<Document>, StateError> {
    state.get_typed(&document_key(hash)).await
}

impl Write for Revocation {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.by.write(buf);
        write_str(&self.reason, buf);
        self.height.write(buf);
        self.time.0.write(buf);
        self.tx.write(buf);
    }
}

impl EncodeSize for Revocation {
    fn encode_size(&self) -> usize {
        32 + str_size(&self.reason) + 8 + 8 + 32
    }
}

impl Read for Revocation {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        Ok(Self {
            by: AccountId::read(buf)?,
            reason: read_str(buf, REASON_MAX_BYTES)?,
            height: u64::read(buf)?,
            time: TimestampMs(u64::read(buf)?),
            tx: Hash32::read(buf)?,
        })
    }
}

impl Write for Document {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.hash.write(buf);
        self.issuer.write(buf);
        write_str(&self.agency, buf);
        write_str(&self.title, buf);
        self.metadata.write(buf);
        self.height.write(buf);
        self.time.0.write(buf);
        self.tx.write(buf);
        self.revocation.write(buf);
    }
}

impl EncodeSize for Document {
    fn encode_size(&self) -> usize {
        32 + 32
            + str_size(&self.agency)
            + str_size(&self.title)
            + self.metadata.encode_size()
            + 8
            + 8
            + 32
            + self.revocation.encode_size()
    }
}

impl Read for Document {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        Ok(Self {
            hash: Hash32::read(buf)?,
            issuer: AccountId::read(buf)?,
            agency: read_str(buf, AGENCY_ID_MAX_BYTES)?,
            title: read_str(buf, NAME_MAX_BYTES)?,
            metadata: read_list(buf, METADATA_ENTRIES_MAX, &())?,
            height: u64::read(buf)?,
            time: TimestampMs(u64::read(buf)?),
            tx: Hash32::read(buf)?,
            revocation: Option::<Revocation>::read(buf)?,
        })
    }
}

/// What a proof of a document's record shows.
fn describe_document(
    id: &[u8],
    document: Option<&serde_json::Value>,
    at: &civitas_kit::space::At,
) -> Option<String> {
    let hash: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let Some(doc) = document else {
        return Some(format!(
            "no document with SHA-256 {hash} has been notarised ({at})"
        ));
    };
    let revoked = match doc["revocation"].as_object() {
        Some(r) => format!(
            "; it was REVOKED at height {}: {}",
            r["height"],
            r["reason"].as_str().unwrap_or("")
        ),
        None => "; it has not been revoked".to_string(),
    };
    Some(format!(
        "document {hash} titled {:?} was notarised by {} (official {}) at height {}{revoked} ({at})",
        doc["title"].as_str().unwrap_or(""),
        doc["agency"].as_str().unwrap_or(""),
        doc["issuer"].as_str().unwrap_or(""),
        doc["height"],
    ))
}
