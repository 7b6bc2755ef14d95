//! The sharing module's records: one per registered record (never the data: its commitment,
//! schema, holder and life), one per share an agency was given, one per consent, one per
//! agency's vault, and the next consent number.

use civitas_core::bundle::StateKey;
use civitas_core::codec_struct;
use civitas_core::crypto::AccountId;
use civitas_core::hash::Hash32;
use civitas_core::limits::{ADDRESS_MAX_BYTES, AGENCY_ID_MAX_BYTES, POLICY_ID_MAX_BYTES};
use civitas_core::sharing::{COPIES_MAX, PURPOSE_MAX_BYTES, SCHEMA_MAX_BYTES};
use civitas_core::time::TimestampMs;
use civitas_kit::{Overlay, StateError, StateView};
use serde::Serialize;

/// The module's key spaces, as `spaces::NAME` (see [`SPACES`](spaces::SPACES)).
pub mod spaces {
    /// A record, by record id.
    pub const RECORD: &str = "sharing/record";
    /// A copy an agency was given, by record id and agency.
    pub const GRANT: &str = "sharing/grant";
    /// A consent, by number.
    pub const CONSENT: &str = "sharing/consent";
    /// An agency's vault, by agency id.
    pub const VAULT: &str = "sharing/vault";
    /// The next consent number.
    pub const CONFIG: &str = "sharing/config";

    use super::*;
    use civitas_kit::space::{Id, Space, view};

    /// Where the module's records are, how a client names one, and how a value is shown.
    pub const SPACES: &[Space] = &[
        Space {
            name: RECORD,
            id: Id::Hex32("a record id"),
            about: "record id (64 hex digits)",
            describe: Some(describe_record),
            view: view::<Record>,
        },
        Space {
            name: GRANT,
            id: Id::Custom {
                parse: |id| {
                    let parsed = id.split_once('/').and_then(|(record, agency)| {
                        Some((Hash32::from_hex(record).ok()?, agency))
                    });
                    match parsed {
                        Some((record, agency))
                            if !agency.is_empty() && agency.len() <= AGENCY_ID_MAX_BYTES =>
                        {
                            Ok(grant_key(&record, agency).id)
                        }
                        _ => Err("<record id, hex>/<agency id>".to_string()),
                    }
                },
                show: |id| {
                    let (record, agency) = id.split_at_checked(32)?;
                    let agency = std::str::from_utf8(agency).ok()?;
                    Some(format!("{}/{agency}", Hash32(record.try_into().ok()?)))
                },
            },
            about: "record id/agency",
            describe: None,
            view: view::<Grant>,
        },
        Space {
            name: CONSENT,
            id: Id::Number,
            about: "consent number",
            describe: None,
            view: view::<Consent>,
        },
        Space {
            name: VAULT,
            id: Id::Text,
            about: "agency id",
            describe: None,
            view: view::<Vault>,
        },
        Space {
            name: CONFIG,
            id: Id::Empty,
            about: "empty",
            describe: None,
            view: view::<SharingConfig>,
        },
    ];
}

/// An erasure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Erasure {
    /// The official who recorded it.
    pub by: AccountId,
    /// The legal basis cited.
    pub basis: String,
    /// Block height.
    pub height: u64,
    /// Block time.
    pub time: TimestampMs,
}
codec_struct!(Erasure {
    by: (),
    basis: POLICY_ID_MAX_BYTES,
    height: (),
    time: ()
});

/// What the ledger knows of a record a vault holds: never its content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Record {
    /// Its id (random, chosen by the vault).
    pub record: Hash32,
    /// Its schema.
    pub schema: String,
    /// The holding agency.
    pub holder: String,
    /// Its current version (1, then one more per rectification).
    pub version: u32,
    /// The commitment to the current version.
    pub commitment: Hash32,
    /// Its subject tag (who it is about, provable only with the subject salt).
    pub subject: Hash32,
    /// The legal basis it was registered under.
    pub basis: String,
    /// The official who registered it.
    pub registered_by: AccountId,
    /// Block height of registration.
    pub height: u64,
    /// Block time of registration.
    pub time: TimestampMs,
    /// The agencies given a copy, in the order they were.
    pub copies: Vec<String>,
    /// How many consents were given for it (at most `CONSENTS_MAX`).
    pub consents: u16,
    /// Present once erased.
    pub erasure: Option<Erasure>,
}
codec_struct!(Record {
    record: (),
    schema: SCHEMA_MAX_BYTES,
    holder: AGENCY_ID_MAX_BYTES,
    version: (),
    commitment: (),
    subject: (),
    basis: POLICY_ID_MAX_BYTES,
    registered_by: (),
    height: (),
    time: (),
    copies: (COPIES_MAX, AGENCY_ID_MAX_BYTES),
    consents: (),
    erasure: ()
});

/// A copy of a record an agency was given: the last share to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Grant {
    /// The record.
    pub record: Hash32,
    /// The agency given it.
    pub agency: String,
    /// The version it was given.
    pub version: u32,
    /// The official who asked.
    pub official: AccountId,
    /// What for.
    pub purpose: String,
    /// The legal basis cited.
    pub basis: String,
    /// The consent relied on, if any.
    pub consent: Option<u64>,
    /// Block height of the share.
    pub height: u64,
    /// Block time of the share.
    pub time: TimestampMs,
    /// The transaction that made it (the holder's vault answers the receiving vault citing it).
    pub tx: Hash32,
}
codec_struct!(Grant {
    record: (),
    agency: AGENCY_ID_MAX_BYTES,
    version: (),
    official: (),
    purpose: PURPOSE_MAX_BYTES,
    basis: POLICY_ID_MAX_BYTES,
    consent: (),
    height: (),
    time: (),
    tx: ()
});

/// A withdrawal of consent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Revocation {
    /// Block height.
    pub height: u64,
    /// Block time.
    pub time: TimestampMs,
}
codec_struct!(Revocation {
    height: (),
    time: ()
});

/// A consent a record's subject gave.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Consent {
    /// Its number.
    pub id: u64,
    /// The record.
    pub record: Hash32,
    /// The subject, who signed it.
    pub subject: AccountId,
    /// The agency that may receive the record.
    pub recipient: String,
    /// What for.
    pub purpose: String,
    /// Until when (block time).
    pub expires: TimestampMs,
    /// Block height it was given.
    pub height: u64,
    /// Block time it was given.
    pub time: TimestampMs,
    /// Present once withdrawn.
    pub revocation: Option<Revocation>,
}
codec_struct!(Consent {
    id: (),
    record: (),
    subject: (),
    recipient: AGENCY_ID_MAX_BYTES,
    purpose: PURPOSE_MAX_BYTES,
    expires: (),
    height: (),
    time: (),
    revocation: ()
});

/// An agency's vault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Vault {
    /// The agency.
    pub agency: String,
    /// The vault's account: records are wrapped to its encryption key, and it signs what the
    /// vault asks of other vaults.
    pub account: AccountId,
    /// Where it is reached.
    pub url: String,
    /// Block height it was named.
    pub height: u64,
}
codec_struct!(Vault {
    agency: AGENCY_ID_MAX_BYTES,
    account: (),
    url: ADDRESS_MAX_BYTES,
    height: ()
});

/// The next consent number (1 before the first).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SharingConfig {
    /// The number the next consent gets.
    pub next_consent: u64,
}
codec_struct!(SharingConfig { next_consent: () });

impl Default for SharingConfig {
    fn default() -> Self {
        Self { next_consent: 1 }
    }
}

/// Key of record `id`.
pub fn record_key(id: &Hash32) -> StateKey {
    StateKey::new(spaces::RECORD, id.0.to_vec())
}

/// Key of the copy of `record` given to `agency`.
pub fn grant_key(record: &Hash32, agency: &str) -> StateKey {
    let mut id = record.0.to_vec();
    id.extend_from_slice(agency.as_bytes());
    StateKey::new(spaces::GRANT, id)
}

/// Key of consent `id`.
pub fn consent_key(id: u64) -> StateKey {
    StateKey::new(spaces::CONSENT, id.to_be_bytes().to_vec())
}

/// Key of `agency`'s vault.
pub fn vault_key(agency: &str) -> StateKey {
    StateKey::new(spaces::VAULT, agency.as_bytes().to_vec())
}

/// Key of the next consent number.
pub fn config_key() -> StateKey {
    StateKey::new(spaces::CONFIG, Vec::new())
}

/// The record `id`, if registered.
pub async fn load_record<S: StateView>(
    state: &mut Overlay<'_, S>,
    id: &Hash32,
) -> Result<Option<Record>, StateError> {
    state.get_typed(&record_key(id)).await
}

/// The registered, not erased, record `id`, or why there is none to act on (`unknown_record`,
/// `record_erased`).
pub async fn live_record<S: StateView>(
    state: &mut Overlay<'_, S>,
    id: &Hash32,
) -> civitas_kit::Outcome<Record> {
    match load_record(state, id).await? {
        None => civitas_kit::fail!("unknown_record", record = id),
        Some(record) => match &record.erasure {
            Some(erasure) => {
                civitas_kit::fail!("record_erased", record = id, height = erasure.height)
            }
            None => Ok(Ok(record)),
        },
    }
}

/// What a proof of a record shows.
fn describe_record(
    id: &[u8],
    record: Option<&serde_json::Value>,
    at: &civitas_kit::space::At,
) -> Option<String> {
    let id = Hash32(id.try_into().ok()?);
    let Some(record) = record else {
        return Some(format!("no record {id} is registered ({at})"));
    };
    let erased = match record["erasure"].as_object() {
        Some(e) => format!(
            "; it was ERASED at height {} (basis {})",
            e["height"],
            e["basis"].as_str().unwrap_or("")
        ),
        None => "; it has not been erased".to_string(),
    };
    Some(format!(
        "record {id}, a {} held by {}, is at version {} with commitment {}; registered at \
         height {} (basis {}){erased} ({at})",
        record["schema"].as_str().unwrap_or(""),
        record["holder"].as_str().unwrap_or(""),
        record["version"],
        record["commitment"].as_str().unwrap_or(""),
        record["height"],
        record["basis"].as_str().unwrap_or(""),
    ))
}
