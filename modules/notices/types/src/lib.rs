//! The notices module's vocabulary: the public register of official notices. An agency
//! publishes a notice (a bylaw, a decision, a public hearing, a consultation, a closure) with
//! its category, title, the SHA-256 of its full text and when it applies; anyone checks a
//! copy of the text against it; the agency withdraws it, giving a reason.
//!
//! Only the text's fingerprint goes on the ledger, never the text: a notice may name people,
//! and what names a person stays off the ledger.

use civitas_primitives::codec::{DecodeError, check_text};
use civitas_primitives::kit::{EventTags, Events, Operations};
use civitas_primitives::limits::{AGENCY_ID_MAX_BYTES, NAME_MAX_BYTES, REASON_MAX_BYTES};
use civitas_primitives::time::TimestampMs;
use civitas_primitives::{codec_enum, crypto::AccountId, hash::Hash32};
use serde::{Deserialize, Serialize};

/// The categories a notice may have.
pub const CATEGORIES: &[&str] = &["bylaw", "decision", "hearing", "consultation", "closure"];

/// Longest category name, in bytes.
pub const CATEGORY_MAX_BYTES: usize = 16;

/// Operations of the notices module.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum NoticesInstruction {
    /// Publish a notice of the signer's agency.
    Publish {
        /// One of `bylaw`, `decision`, `hearing`, `consultation`, `closure`.
        #[schema(pattern = "^(bylaw|decision|hearing|consultation|closure)$")]
        category: String,
        /// The notice's title, as the agency published it. Public: never a person's name.
        title: String,
        /// SHA-256 of the notice's full text (the text itself stays with the agency).
        text: Hash32,
        /// When the notice takes effect (or the hearing takes place).
        effective: TimestampMs,
        /// When it stops applying, if it does; after `effective` and after the block that
        /// publishes it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires: Option<TimestampMs>,
    },
    /// The publishing agency withdraws a notice, giving a reason.
    Withdraw {
        /// The notice's number.
        notice: u64,
        /// Why, for the public record.
        reason: String,
    },
}

codec_enum!(NoticesInstruction {
    0 => Publish {
        category: CATEGORY_MAX_BYTES,
        title: NAME_MAX_BYTES,
        text: (),
        effective: (),
        expires: (),
    },
    1 => Withdraw { notice: (), reason: REASON_MAX_BYTES },
});

impl Operations for NoticesInstruction {
    const MESSAGES: &'static [(&'static str, &'static str)] = MESSAGES;

    fn public_text(&self) -> Vec<civitas_primitives::personal::PublicText<'_>> {
        match self {
            Self::Publish { title, .. } => vec![civitas_primitives::personal::PublicText::prose(
                "title", title,
            )],
            Self::Withdraw { reason, .. } => vec![civitas_primitives::personal::PublicText::prose(
                "reason", reason,
            )],
        }
    }

    fn accounts(&self) -> Vec<AccountId> {
        match self {
            Self::Publish { .. } | Self::Withdraw { .. } => Vec::new(),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Self::Publish { .. } => "notices.publish",
            Self::Withdraw { .. } => "notices.withdraw",
        }
    }

    fn validate(&self) -> Result<(), DecodeError> {
        match self {
            Self::Publish {
                category,
                title,
                effective,
                expires,
                ..
            } => {
                if !CATEGORIES.contains(&category.as_str()) {
                    return Err(DecodeError::Invalid {
                        field: "category",
                        reason: format!("{category:?} is not one of {}", CATEGORIES.join(", ")),
                    });
                }
                check_text("title", title, NAME_MAX_BYTES)?;
                if let Some(expires) = expires
                    && expires.0 <= effective.0
                {
                    return Err(DecodeError::Invalid {
                        field: "expires",
                        reason: "a notice expires after it takes effect".into(),
                    });
                }
                Ok(())
            }
            Self::Withdraw { reason, .. } => check_text("reason", reason, REASON_MAX_BYTES),
        }
    }
}

/// What the notices module records in receipts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NoticesEvent {
    /// A notice was published.
    NoticePublished {
        /// Its number.
        notice: u64,
        /// The publishing agency.
        agency: String,
        /// Its category.
        category: String,
        /// Its title.
        title: String,
        /// SHA-256 of its text.
        text: Hash32,
    },
    /// A notice was withdrawn.
    NoticeWithdrawn {
        /// Its number.
        notice: u64,
        /// The official who withdrew it.
        by: AccountId,
        /// Why.
        reason: String,
    },
}
codec_enum!(NoticesEvent {
    0 => NoticePublished {
        notice: (),
        agency: AGENCY_ID_MAX_BYTES,
        category: CATEGORY_MAX_BYTES,
        title: NAME_MAX_BYTES,
        text: (),
    },
    1 => NoticeWithdrawn { notice: (), by: (), reason: REASON_MAX_BYTES },
});

impl Events for NoticesEvent {
    const TAGS: EventTags = EventTags::Own(13);

    fn accounts(&self) -> Vec<AccountId> {
        match self {
            Self::NoticePublished { .. } => Vec::new(),
            Self::NoticeWithdrawn { by, .. } => vec![*by],
        }
    }
}

/// The sentences of the notices module's failure codes (see `civitas_core::messages`).
pub const MESSAGES: &[(&str, &str)] = &[
    ("unknown_notice", "notice {notice} does not exist"),
    (
        "already_withdrawn",
        "notice {notice} was already withdrawn at height {height}",
    ),
    (
        "already_expired",
        "the notice would expire at {expires}, before this block's time {now}",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_primitives::codec::to_vec;
    use civitas_primitives::kit::decode_tagged;
    use proptest::prelude::*;

    fn publish(expires: Option<u64>) -> NoticesInstruction {
        NoticesInstruction::Publish {
            category: "consultation".into(),
            title: "Consultation on the 2027 budget".into(),
            text: Hash32::sha256(b"the text"),
            effective: TimestampMs(1_800_000_000_000),
            expires: expires.map(TimestampMs),
        }
    }

    #[test]
    fn instructions_round_trip_and_validate() {
        for op in [
            publish(None),
            publish(Some(1_900_000_000_000)),
            NoticesInstruction::Withdraw {
                notice: 7,
                reason: "the hearing moved to another date".into(),
            },
        ] {
            op.validate().unwrap();
            let bytes = to_vec(&op);
            assert_eq!(bytes.len(), commonware_codec::EncodeSize::encode_size(&op));
            assert_eq!(decode_tagged::<NoticesInstruction>(&bytes), Ok(op.clone()));
            let json = serde_json::to_string(&op).unwrap();
            assert_eq!(
                serde_json::from_str::<NoticesInstruction>(&json).unwrap(),
                op
            );
        }
        // Without `expires`, the JSON has none, and reads back as none.
        let json = serde_json::to_value(publish(None)).unwrap();
        assert!(json.get("expires").is_none(), "{json}");
    }

    #[test]
    fn bad_notices_are_refused_with_the_field_named() {
        let mut op = publish(Some(1_700_000_000_000));
        let error = op.validate().unwrap_err().to_string();
        assert!(error.contains("expires"), "{error}");
        if let NoticesInstruction::Publish { category, .. } = &mut op {
            *category = "gossip".into();
        }
        let error = op.validate().unwrap_err().to_string();
        assert!(error.contains("not one of bylaw"), "{error}");
        let blank = NoticesInstruction::Withdraw {
            notice: 1,
            reason: " ".into(),
        };
        assert!(blank.validate().is_err());
    }

    proptest! {
        /// No input makes the decoder panic, and what decodes encodes back to the same bytes.
        #[test]
        fn decoding_is_total_and_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(op) = decode_tagged::<NoticesInstruction>(&bytes) {
                prop_assert_eq!(to_vec(&op), bytes.clone());
            }
            if let Ok(event) = decode_tagged::<NoticesEvent>(&bytes) {
                prop_assert_eq!(to_vec(&event), bytes);
            }
        }
    }
}
