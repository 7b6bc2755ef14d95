//! The notary module's vocabulary: documents anchored by their SHA-256, and revoked.

use civitas_primitives::codec::{DecodeError, check_text};
use civitas_primitives::kit::{EventTags, Events, Operations};
use civitas_primitives::limits::*;
use civitas_primitives::{codec_enum, codec_struct};
use serde::{Deserialize, Serialize};

use civitas_primitives::{crypto::AccountId, hash::Hash32};

/// Operations of the notary module.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum NotaryInstruction {
    /// Anchor a document's SHA-256 with its issuer, a title and metadata.
    Anchor {
        /// SHA-256 of the document's bytes.
        document: Hash32,
        /// Human-readable title.
        title: String,
        /// Extra public facts about the document, as ordered key/value pairs.
        metadata: Vec<MetadataEntry>,
    },
    /// The issuing agency revokes an anchor, giving a reason.
    Revoke {
        /// SHA-256 of the document.
        document: Hash32,
        /// Why, for the public record.
        reason: String,
    },
}

codec_enum!(NotaryInstruction {
    0 => Anchor {
        document: (),
        title: NAME_MAX_BYTES,
        metadata: (METADATA_ENTRIES_MAX, ()),
    },
    1 => Revoke { document: (), reason: REASON_MAX_BYTES },
});

impl Operations for NotaryInstruction {
    const MESSAGES: &'static [(&'static str, &'static str)] = MESSAGES;

    fn public_text(&self) -> Vec<civitas_primitives::personal::PublicText<'_>> {
        match self {
            Self::Anchor {
                title, metadata, ..
            } => {
                let mut texts = vec![civitas_primitives::personal::PublicText::prose(
                    "title", title,
                )];
                for entry in metadata {
                    texts.push(civitas_primitives::personal::PublicText::code(
                        "metadata", &entry.key,
                    ));
                    texts.push(civitas_primitives::personal::PublicText::prose(
                        "metadata",
                        &entry.value,
                    ));
                }
                texts
            }
            Self::Revoke { reason, .. } => vec![civitas_primitives::personal::PublicText::prose(
                "reason", reason,
            )],
        }
    }

    fn accounts(&self) -> Vec<AccountId> {
        match self {
            Self::Anchor { .. } | Self::Revoke { .. } => Vec::new(),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Self::Anchor { .. } => "notary.anchor",
            Self::Revoke { .. } => "notary.revoke",
        }
    }

    fn validate(&self) -> Result<(), DecodeError> {
        match self {
            Self::Anchor {
                title, metadata, ..
            } => {
                check_text("title", title, NAME_MAX_BYTES)?;
                if metadata.len() > METADATA_ENTRIES_MAX {
                    return Err(DecodeError::Invalid {
                        field: "metadata",
                        reason: format!("at most {METADATA_ENTRIES_MAX} entries"),
                    });
                }
                for entry in metadata {
                    check_text("metadata key", &entry.key, METADATA_KEY_MAX_BYTES)?;
                    if entry.value.len() > METADATA_VALUE_MAX_BYTES {
                        return Err(DecodeError::Invalid {
                            field: "metadata value",
                            reason: format!("at most {METADATA_VALUE_MAX_BYTES} bytes"),
                        });
                    }
                }
                Ok(())
            }
            Self::Revoke { reason, .. } => check_text("reason", reason, REASON_MAX_BYTES),
        }
    }
}

/// One key/value pair of document metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MetadataEntry {
    /// The key, such as `reference`.
    pub key: String,
    /// The value.
    pub value: String,
}
codec_struct!(MetadataEntry {
    key: METADATA_KEY_MAX_BYTES,
    value: METADATA_VALUE_MAX_BYTES,
});

/// What the notary module records in receipts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NotaryEvent {
    /// A document's fingerprint was anchored.
    DocumentAnchored {
        /// SHA-256 of the document.
        document: Hash32,
        /// The official who anchored it.
        issuer: AccountId,
        /// The issuer's agency.
        agency: String,
        /// Its title.
        title: String,
    },
    /// An anchored document was revoked.
    DocumentRevoked {
        /// SHA-256 of the document.
        document: Hash32,
        /// The official who revoked it.
        by: AccountId,
        /// Why.
        reason: String,
    },
}
codec_enum!(NotaryEvent {
    4 => DocumentAnchored {
        document: (),
        issuer: (),
        agency: AGENCY_ID_MAX_BYTES,
        title: NAME_MAX_BYTES,
    },
    5 => DocumentRevoked { document: (), by: (), reason: REASON_MAX_BYTES },
});

impl Events for NotaryEvent {
    const TAGS: EventTags = EventTags::Shared(&[4, 5]);

    fn accounts(&self) -> Vec<AccountId> {
        match self {
            Self::DocumentAnchored { issuer, .. } => vec![*issuer],
            Self::DocumentRevoked { by, .. } => vec![*by],
        }
    }
}
/// The sentences of the notary module's failure codes (see `civitas_core::messages`): a
/// template per code and set of arguments; `{name}` is replaced by the argument's value,
/// `{name:money}` by the amount with its currency, and `[problem=x]` chooses a template by the
/// `problem` argument.
pub const MESSAGES: &[(&str, &str)] = &[
    (
        "already_anchored",
        "document {document} was already anchored by {agency} at height {height}",
    ),
    (
        "already_revoked",
        "document {document} was already revoked at height {height}",
    ),
];
