//! The register's records: one per notice, numbered from 1, and the next number.

use civitas_core::bundle::StateKey;
use civitas_core::crypto::AccountId;
use civitas_core::hash::Hash32;
use civitas_core::limits::{AGENCY_ID_MAX_BYTES, NAME_MAX_BYTES, REASON_MAX_BYTES};
use civitas_core::time::TimestampMs;
use civitas_core::{codec_struct, notices::CATEGORY_MAX_BYTES};
use serde::Serialize;

/// The module's key spaces, as `spaces::NAME` (see [`SPACES`](spaces::SPACES)).
pub mod spaces {
    /// A notice, by number.
    pub const NOTICE: &str = "notices/notice";
    /// The register's next number.
    pub const CONFIG: &str = "notices/config";

    use super::*;
    use civitas_kit::space::{Id, Space, view};

    /// Where the module's records are, how a client names one, and how a value is shown.
    pub const SPACES: &[Space] = &[
        Space {
            name: NOTICE,
            id: Id::Number,
            about: "notice number",
            describe: Some(describe_notice),
            view: view::<Notice>,
        },
        Space {
            name: CONFIG,
            id: Id::Empty,
            about: "empty",
            describe: None,
            view: view::<NoticesConfig>,
        },
    ];
}

/// A withdrawal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Withdrawal {
    /// Who withdrew it.
    pub by: AccountId,
    /// Why.
    pub reason: String,
    /// Block height.
    pub height: u64,
    /// Block time.
    pub time: TimestampMs,
}
codec_struct!(Withdrawal {
    by: (),
    reason: REASON_MAX_BYTES,
    height: (),
    time: ()
});

/// A published notice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Notice {
    /// Its number.
    pub id: u64,
    /// The publishing agency.
    pub agency: String,
    /// Its category.
    pub category: String,
    /// Its title.
    pub title: String,
    /// SHA-256 of its full text.
    pub text: Hash32,
    /// When it takes effect.
    pub effective: TimestampMs,
    /// When it stops applying, if it does.
    pub expires: Option<TimestampMs>,
    /// The official who published it.
    pub published_by: AccountId,
    /// Block height of publication.
    pub height: u64,
    /// Block time of publication.
    pub time: TimestampMs,
    /// The publishing transaction.
    pub tx: Hash32,
    /// Present once withdrawn.
    pub withdrawal: Option<Withdrawal>,
}
codec_struct!(Notice {
    id: (),
    agency: AGENCY_ID_MAX_BYTES,
    category: CATEGORY_MAX_BYTES,
    title: NAME_MAX_BYTES,
    text: (),
    effective: (),
    expires: (),
    published_by: (),
    height: (),
    time: (),
    tx: (),
    withdrawal: ()
});

/// The register's next number (1 before the first notice).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NoticesConfig {
    /// The number the next notice gets.
    pub next_notice: u64,
}
codec_struct!(NoticesConfig { next_notice: () });

impl Default for NoticesConfig {
    fn default() -> Self {
        Self { next_notice: 1 }
    }
}

/// Key of notice `id`.
pub fn notice_key(id: u64) -> StateKey {
    StateKey::new(spaces::NOTICE, id.to_be_bytes().to_vec())
}

/// Key of the register's next number.
pub fn config_key() -> StateKey {
    StateKey::new(spaces::CONFIG, Vec::new())
}

/// What a proof of a notice's record shows.
fn describe_notice(
    id: &[u8],
    notice: Option<&serde_json::Value>,
    at: &civitas_kit::space::At,
) -> Option<String> {
    let number = u64::from_be_bytes(id.try_into().ok()?);
    let Some(notice) = notice else {
        return Some(format!("there is no notice {number} ({at})"));
    };
    let withdrawn = match notice["withdrawal"].as_object() {
        Some(w) => format!(
            "; it was WITHDRAWN at height {}: {}",
            w["height"],
            w["reason"].as_str().unwrap_or("")
        ),
        None => "; it has not been withdrawn".to_string(),
    };
    Some(format!(
        "notice {number}, a {} titled {:?} whose text has SHA-256 {}, was published by {} at \
         height {}{withdrawn} ({at})",
        notice["category"].as_str().unwrap_or(""),
        notice["title"].as_str().unwrap_or(""),
        notice["text"].as_str().unwrap_or(""),
        notice["agency"].as_str().unwrap_or(""),
        notice["height"],
    ))
}
