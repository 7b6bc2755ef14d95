//! The sharing module's vocabulary: what the ledger knows of the personal data agencies hold in
//! their vaults, and of every use of it.
//!
//! A person's data never goes on the ledger. An agency's vault keeps each record encrypted; the
//! ledger keeps, per record, an opaque random id, its schema, the holding agency, a salted
//! commitment to its content, and a salted tag of its subject, and then every event of its
//! life: registered, rectified, shared with another agency (citing a legal basis or the
//! person's consent), read by an official (naming who, why, and on what basis), erased. Nothing
//! on the ledger names the person a record is about, unless that person signs a consent, which
//! links them to the record by their own choice.
//!
//! A legal basis is a `permit` policy in force that carries a `@basis("...")` annotation (the law
//! or the consent it stands for): governance adopts, changes and repeals them, and an
//! instruction that cites one is allowed only if that policy is one of those that permitted it.

use civitas_primitives::codec::{DecodeError, check_ident};
use civitas_primitives::hash::Hash32;
use civitas_primitives::kit::{EventTags, Events, Operations};
use civitas_primitives::limits::{ADDRESS_MAX_BYTES, AGENCY_ID_MAX_BYTES, POLICY_ID_MAX_BYTES};
use civitas_primitives::time::TimestampMs;
use civitas_primitives::{codec_enum, crypto::AccountId};
use serde::{Deserialize, Serialize};

/// Longest schema name, in bytes.
pub const SCHEMA_MAX_BYTES: usize = 64;
/// Longest purpose code, in bytes.
pub const PURPOSE_MAX_BYTES: usize = 48;
/// Most agencies one record is shared with.
pub const COPIES_MAX: usize = 32;
/// Longest a consent lasts, in days of block time from the block that records it.
pub const CONSENT_DAYS_MAX: u64 = 366;
/// Most consents ever given for one record.
pub const CONSENTS_MAX: u16 = 64;

/// Tag of a record id (see [`record_id`]).
pub const RECORD_ID_TAG: &[u8] = b"civitas/sharing/record-id/v1";

/// The id of the record an agency registers with `nonce` (32 random bytes its vault chose):
/// SHA-256 tagged `civitas/sharing/record-id/v1` over the agency id's length (one byte), the
/// agency id and the nonce. The ledger derives it again, so no other agency can take an id a
/// vault chose by registering it first.
pub fn record_id(agency: &str, nonce: &Hash32) -> Hash32 {
    let length = [u8::try_from(agency.len()).unwrap_or(u8::MAX)];
    Hash32::tagged(RECORD_ID_TAG, &[&length, agency.as_bytes(), &nonce.0])
}

/// Tag of a record's subject tag (see [`subject_tag`]).
pub const SUBJECT_TAG: &[u8] = b"civitas/sharing/subject/v1";

/// The subject tag the ledger keeps for a record: SHA-256 tagged `civitas/sharing/subject/v1`
/// over the record id, the subject salt and the subject's account id (see
/// [`Hash32::tagged`]). The subject salt is known only to those who can open the record (the
/// holding agency and the person), so the tag says nothing about who the subject is; the
/// person proves it is them by revealing the salt in a consent. Erasing the record destroys the
/// salt, and the tag cannot be linked to anyone after.
pub fn subject_tag(record: &Hash32, salt: &Hash32, subject: &AccountId) -> Hash32 {
    Hash32::tagged(SUBJECT_TAG, &[&record.0, &salt.0, &subject.0])
}

/// Checks a schema name: 1 to [`SCHEMA_MAX_BYTES`] of lowercase letters, digits, `-`, `_`, `.`
/// and `/`, starting with a letter (`civil.birth-certificate`, `birth-certificate/v1`). A schema
/// names a kind of record, never a person.
pub fn check_schema(field: &'static str, value: &str) -> Result<(), DecodeError> {
    let valid_start = value.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    let valid_chars = value.chars().all(|c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.' | '/')
    });
    if !valid_start || !valid_chars || value.len() > SCHEMA_MAX_BYTES {
        return Err(DecodeError::Invalid {
            field,
            reason: format!(
                "{value:?} must be 1 to {SCHEMA_MAX_BYTES} lowercase letters, digits, '-', '_', \
                 '.' or '/', starting with a letter"
            ),
        });
    }
    Ok(())
}

/// Checks a purpose: a code (`permit-application`), never free text, so nothing about the
/// person can be typed into it.
pub fn check_purpose(value: &str) -> Result<(), DecodeError> {
    check_ident("purpose", value, PURPOSE_MAX_BYTES)
}

/// Checks a vault's address: `http://` or `https://`, then printable ASCII without spaces.
pub fn check_url(value: &str) -> Result<(), DecodeError> {
    let scheme = value.starts_with("https://") || value.starts_with("http://");
    let host = value.split_once("://").map_or("", |(_, rest)| rest);
    if !scheme
        || host.is_empty()
        || value.len() > ADDRESS_MAX_BYTES
        || !value.chars().all(|c| c.is_ascii_graphic())
    {
        return Err(DecodeError::Invalid {
            field: "url",
            reason: format!(
                "{value:?} must be an http:// or https:// address of at most \
                 {ADDRESS_MAX_BYTES} printable characters"
            ),
        });
    }
    Ok(())
}

/// Operations of the sharing module.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum SharingInstruction {
    /// The signer's agency records that its vault holds a record (version 1).
    Register {
        /// The record's id: [`record_id`] of the signer's agency and `nonce`.
        record: Hash32,
        /// The 32 random bytes the vault chose the id from.
        nonce: Hash32,
        /// What kind of record it is (`civil.birth-certificate`).
        schema: String,
        /// The vault's salted commitment to version 1.
        commitment: Hash32,
        /// The record's subject tag ([`subject_tag`]).
        subject: Hash32,
        /// The legal basis for holding it: a policy id.
        basis: String,
    },
    /// The holding agency records a new version of a record (a rectification).
    Rectify {
        /// The record.
        record: Hash32,
        /// The new version: the current one plus one.
        version: u32,
        /// The commitment to the new version.
        commitment: Hash32,
        /// The legal basis: a policy id.
        basis: String,
    },
    /// The holding agency records that it erased a record (every wrapped copy of its keys
    /// destroyed); the agencies it was shared with erase their copies.
    Erase {
        /// The record.
        record: Hash32,
        /// The legal basis: a policy id.
        basis: String,
    },
    /// The record's subject consents to one agency receiving it for one purpose, until a time.
    Consent {
        /// The record.
        record: Hash32,
        /// The subject salt, which proves the signer is the record's subject (and links them to
        /// the record on the ledger, by their choice).
        salt: Hash32,
        /// The agency that may receive it.
        recipient: String,
        /// What for (a code).
        purpose: String,
        /// Until when (block time), at most [`CONSENT_DAYS_MAX`] days after the block.
        expires: TimestampMs,
    },
    /// The subject withdraws a consent; shares already made stay recorded.
    RevokeConsent {
        /// The consent's number.
        consent: u64,
    },
    /// An official asks for a record held by another agency, citing a legal basis; the policies
    /// decide, and the outcome is on the ledger either way. On success, the holder's vault
    /// wraps the record's key for the signer's agency's vault.
    Request {
        /// The record.
        record: Hash32,
        /// What for (a code).
        purpose: String,
        /// The legal basis: a policy id.
        basis: String,
        /// The consent relied on, if the basis is the subject's consent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        consent: Option<u64>,
    },
    /// An official records that they read a record (their agency holds it or was given a
    /// copy): the vault serves it only once this entry is final.
    Access {
        /// The record.
        record: Hash32,
        /// What for (a code).
        purpose: String,
        /// The legal basis: a policy id.
        basis: String,
    },
    /// An agency admin names the agency's vault: the account whose encryption key records are
    /// wrapped to, and the vault's address.
    SetVault {
        /// The vault's account (an official of the agency with an encryption key).
        account: AccountId,
        /// Where other agencies' vaults reach it.
        url: String,
    },
}

codec_enum!(SharingInstruction {
    0 => Register {
        record: (),
        nonce: (),
        schema: SCHEMA_MAX_BYTES,
        commitment: (),
        subject: (),
        basis: POLICY_ID_MAX_BYTES,
    },
    1 => Rectify { record: (), version: (), commitment: (), basis: POLICY_ID_MAX_BYTES },
    2 => Erase { record: (), basis: POLICY_ID_MAX_BYTES },
    3 => Consent {
        record: (),
        salt: (),
        recipient: AGENCY_ID_MAX_BYTES,
        purpose: PURPOSE_MAX_BYTES,
        expires: (),
    },
    4 => RevokeConsent { consent: () },
    5 => Request {
        record: (),
        purpose: PURPOSE_MAX_BYTES,
        basis: POLICY_ID_MAX_BYTES,
        consent: (),
    },
    6 => Access { record: (), purpose: PURPOSE_MAX_BYTES, basis: POLICY_ID_MAX_BYTES },
    7 => SetVault { account: (), url: ADDRESS_MAX_BYTES },
});

impl SharingInstruction {
    /// The legal basis the instruction cites, if it cites one.
    pub fn basis(&self) -> Option<&str> {
        match self {
            Self::Register { basis, .. }
            | Self::Rectify { basis, .. }
            | Self::Erase { basis, .. }
            | Self::Request { basis, .. }
            | Self::Access { basis, .. } => Some(basis),
            Self::Consent { .. } | Self::RevokeConsent { .. } | Self::SetVault { .. } => None,
        }
    }
}

impl Operations for SharingInstruction {
    const MESSAGES: &'static [(&'static str, &'static str)] = MESSAGES;

    fn public_text(&self) -> Vec<civitas_primitives::personal::PublicText<'_>> {
        match self {
            Self::SetVault { url, .. } => {
                vec![civitas_primitives::personal::PublicText::code("url", url)]
            }
            // Purposes, schemas, bases and agencies are codes the decoder and the policies
            // restrict.
            _ => Vec::new(),
        }
    }

    fn accounts(&self) -> Vec<AccountId> {
        match self {
            Self::SetVault { account, .. } => vec![*account],
            _ => Vec::new(),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Self::Register { .. } => "sharing.register",
            Self::Rectify { .. } => "sharing.rectify",
            Self::Erase { .. } => "sharing.erase",
            Self::Consent { .. } => "sharing.consent",
            Self::RevokeConsent { .. } => "sharing.revoke_consent",
            Self::Request { .. } => "sharing.request",
            Self::Access { .. } => "sharing.access",
            Self::SetVault { .. } => "sharing.set_vault",
        }
    }

    fn validate(&self) -> Result<(), DecodeError> {
        if let Some(basis) = self.basis() {
            check_ident("basis", basis, POLICY_ID_MAX_BYTES)?;
        }
        match self {
            Self::Register { schema, .. } => check_schema("schema", schema),
            Self::Rectify { version, .. } if *version < 2 => Err(DecodeError::Invalid {
                field: "version",
                reason: "a rectification makes version 2 or later".into(),
            }),
            Self::Consent {
                recipient, purpose, ..
            } => {
                check_ident("recipient", recipient, AGENCY_ID_MAX_BYTES)?;
                check_purpose(purpose)
            }
            Self::Request { purpose, .. } | Self::Access { purpose, .. } => check_purpose(purpose),
            Self::SetVault { url, .. } => check_url(url),
            Self::Rectify { .. } | Self::Erase { .. } | Self::RevokeConsent { .. } => Ok(()),
        }
    }
}

/// What the sharing module records in receipts. None names the person a record is about,
/// except a consent's, which the person signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SharingEvent {
    /// A vault holds a new record.
    RecordRegistered {
        /// The record.
        record: Hash32,
        /// Its schema.
        schema: String,
        /// The holding agency.
        holder: String,
        /// The commitment to version 1.
        commitment: Hash32,
        /// The legal basis cited.
        basis: String,
        /// The official who registered it.
        by: AccountId,
    },
    /// A record has a new version.
    RecordRectified {
        /// The record.
        record: Hash32,
        /// The holding agency.
        holder: String,
        /// The new version.
        version: u32,
        /// Its commitment.
        commitment: Hash32,
        /// The legal basis cited.
        basis: String,
        /// The official.
        by: AccountId,
    },
    /// A record was erased; the agencies it was shared with erase their copies.
    RecordErased {
        /// The record.
        record: Hash32,
        /// The holding agency.
        holder: String,
        /// The agencies holding copies.
        copies: Vec<String>,
        /// The legal basis cited.
        basis: String,
        /// The official.
        by: AccountId,
    },
    /// A record's subject consented to a share.
    ConsentGiven {
        /// The consent's number.
        consent: u64,
        /// The record.
        record: Hash32,
        /// The subject, who signed.
        subject: AccountId,
        /// The agency that may receive it.
        recipient: String,
        /// What for.
        purpose: String,
        /// Until when.
        expires: TimestampMs,
    },
    /// A consent was withdrawn.
    ConsentRevoked {
        /// The consent's number.
        consent: u64,
        /// The record.
        record: Hash32,
        /// The agency it was given to.
        recipient: String,
        /// The subject, who signed.
        subject: AccountId,
    },
    /// A record was shared with another agency: its vault receives the record's key.
    RecordShared {
        /// The record.
        record: Hash32,
        /// The holding agency.
        holder: String,
        /// The agency that receives it.
        recipient: String,
        /// The version shared.
        version: u32,
        /// The official who asked.
        official: AccountId,
        /// What for.
        purpose: String,
        /// The legal basis cited.
        basis: String,
        /// The consent relied on, if any.
        consent: Option<u64>,
    },
    /// An official read a record.
    RecordAccessed {
        /// The record.
        record: Hash32,
        /// The official's agency.
        agency: String,
        /// The version read.
        version: u32,
        /// The official.
        official: AccountId,
        /// What for.
        purpose: String,
        /// The legal basis cited.
        basis: String,
    },
    /// An agency named its vault.
    VaultSet {
        /// The agency.
        agency: String,
        /// The vault's account.
        account: AccountId,
        /// Its address.
        url: String,
    },
}

codec_enum!(SharingEvent {
    0 => RecordRegistered {
        record: (),
        schema: SCHEMA_MAX_BYTES,
        holder: AGENCY_ID_MAX_BYTES,
        commitment: (),
        basis: POLICY_ID_MAX_BYTES,
        by: (),
    },
    1 => RecordRectified {
        record: (),
        holder: AGENCY_ID_MAX_BYTES,
        version: (),
        commitment: (),
        basis: POLICY_ID_MAX_BYTES,
        by: (),
    },
    2 => RecordErased {
        record: (),
        holder: AGENCY_ID_MAX_BYTES,
        copies: (COPIES_MAX, AGENCY_ID_MAX_BYTES),
        basis: POLICY_ID_MAX_BYTES,
        by: (),
    },
    3 => ConsentGiven {
        consent: (),
        record: (),
        subject: (),
        recipient: AGENCY_ID_MAX_BYTES,
        purpose: PURPOSE_MAX_BYTES,
        expires: (),
    },
    4 => ConsentRevoked {
        consent: (),
        record: (),
        recipient: AGENCY_ID_MAX_BYTES,
        subject: (),
    },
    5 => RecordShared {
        record: (),
        holder: AGENCY_ID_MAX_BYTES,
        recipient: AGENCY_ID_MAX_BYTES,
        version: (),
        official: (),
        purpose: PURPOSE_MAX_BYTES,
        basis: POLICY_ID_MAX_BYTES,
        consent: (),
    },
    6 => RecordAccessed {
        record: (),
        agency: AGENCY_ID_MAX_BYTES,
        version: (),
        official: (),
        purpose: PURPOSE_MAX_BYTES,
        basis: POLICY_ID_MAX_BYTES,
    },
    7 => VaultSet { agency: AGENCY_ID_MAX_BYTES, account: (), url: ADDRESS_MAX_BYTES },
});

impl SharingEvent {
    /// The record the event is about, if any.
    pub fn record(&self) -> Option<&Hash32> {
        match self {
            Self::RecordRegistered { record, .. }
            | Self::RecordRectified { record, .. }
            | Self::RecordErased { record, .. }
            | Self::ConsentGiven { record, .. }
            | Self::ConsentRevoked { record, .. }
            | Self::RecordShared { record, .. }
            | Self::RecordAccessed { record, .. } => Some(record),
            Self::VaultSet { .. } => None,
        }
    }
}

impl Events for SharingEvent {
    const TAGS: EventTags = EventTags::Own(18);

    fn accounts(&self) -> Vec<AccountId> {
        match self {
            Self::RecordRegistered { by, .. }
            | Self::RecordRectified { by, .. }
            | Self::RecordErased { by, .. } => vec![*by],
            Self::ConsentGiven { subject, .. } | Self::ConsentRevoked { subject, .. } => {
                vec![*subject]
            }
            Self::RecordShared { official, .. } | Self::RecordAccessed { official, .. } => {
                vec![*official]
            }
            Self::VaultSet { account, .. } => vec![*account],
        }
    }
}

/// The sentences of the sharing module's failure codes (see `civitas_core::messages`).
pub const MESSAGES: &[(&str, &str)] = &[
    ("unknown_record", "record {record} is not registered"),
    (
        "record_id_not_derived",
        "record id {record} is not the one agency {agency} derives from the nonce given; a \
         vault derives ids from its agency and a random nonce",
    ),
    (
        "purpose_not_granted",
        "agency {agency} was given record {record} for {granted}, not for {asked}",
    ),
    (
        "basis_repealed",
        "record {record} was shared with {agency} under {basis}, which is no longer a legal \
         basis in force",
    ),
    (
        "already_shared",
        "agency {agency} already has version {version} of record {record} (share {tx}); ask \
         again after a new version, or once the consent it relied on ends",
    ),
    (
        "too_many_consents",
        "record {record} has had {consents_max} consents, the most it can have",
    ),
    (
        "record_exists",
        "record {record} is already registered (record ids are never reused, even erased)",
    ),
    (
        "record_erased",
        "record {record} was erased at height {height}; nothing can be done with it any more",
    ),
    (
        "wrong_version",
        "record {record} is at version {current}; a rectification makes version {expected}, \
         not {version}",
    ),
    (
        "not_the_subject",
        "the signer is not the subject of record {record} (the salt does not match its \
         subject tag)",
    ),
    (
        "expires_in_the_past",
        "the consent would expire at {expires}, before this block's time {now}",
    ),
    (
        "consent_too_long",
        "a consent lasts at most {days_max} days of block time: until {latest} at the latest, \
         not {expires}",
    ),
    ("unknown_consent", "consent {consent} does not exist"),
    (
        "consent_not_yours",
        "consent {consent} was given by another account; only its subject withdraws it",
    ),
    (
        "consent_revoked",
        "consent {consent} was withdrawn at height {height}",
    ),
    (
        "consent_expired",
        "consent {consent} expired at {expires}, before this block's time {now}",
    ),
    (
        "consent_mismatch",
        "consent {consent} does not cover this request: it is for {field} {granted}, not \
         {asked}",
    ),
    (
        "own_record",
        "record {record} is held by your agency {agency}; read it with sharing.access instead \
         of requesting it",
    ),
    (
        "no_copy",
        "agency {agency} neither holds record {record} nor was given a copy; request it first",
    ),
    (
        "too_many_copies",
        "record {record} is already shared with {copies_max} agencies, the most it can be",
    ),
    (
        "no_encryption_key",
        "account {account} has no encryption key; the vault's account must register one \
         (identity.set_encryption_key) first",
    ),
    (
        "vault_account_elsewhere",
        "account {account} is not an active official of agency {agency}",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_primitives::codec::to_vec;
    use civitas_primitives::kit::decode_tagged;
    use proptest::prelude::*;

    fn examples() -> Vec<SharingInstruction> {
        let record = Hash32::sha256(b"record");
        vec![
            SharingInstruction::Register {
                record,
                nonce: Hash32::sha256(b"nonce"),
                schema: "civil.birth-certificate".into(),
                commitment: Hash32::sha256(b"commitment"),
                subject: Hash32::sha256(b"subject"),
                basis: "civil-registration".into(),
            },
            SharingInstruction::Rectify {
                record,
                version: 2,
                commitment: Hash32::sha256(b"v2"),
                basis: "rectification-on-request".into(),
            },
            SharingInstruction::Erase {
                record,
                basis: "erasure-on-request".into(),
            },
            SharingInstruction::Consent {
                record,
                salt: Hash32::sha256(b"salt"),
                recipient: "permits".into(),
                purpose: "permit-application".into(),
                expires: TimestampMs(1_800_000_000_000),
            },
            SharingInstruction::RevokeConsent { consent: 3 },
            SharingInstruction::Request {
                record,
                purpose: "permit-application".into(),
                basis: "data-subject-consent".into(),
                consent: Some(3),
            },
            SharingInstruction::Request {
                record,
                purpose: "permit-application".into(),
                basis: "permits-act-12".into(),
                consent: None,
            },
            SharingInstruction::Access {
                record,
                purpose: "case-handling".into(),
                basis: "holder-case-handling".into(),
            },
            SharingInstruction::SetVault {
                account: AccountId([7; 32]),
                url: "https://vault.registry.example".into(),
            },
        ]
    }

    #[test]
    fn instructions_round_trip_and_validate() {
        for op in examples() {
            op.validate().unwrap();
            let bytes = to_vec(&op);
            assert_eq!(bytes.len(), commonware_codec::EncodeSize::encode_size(&op));
            assert_eq!(decode_tagged::<SharingInstruction>(&bytes), Ok(op.clone()));
            let json = serde_json::to_string(&op).unwrap();
            assert_eq!(
                serde_json::from_str::<SharingInstruction>(&json).unwrap(),
                op
            );
        }
    }

    #[test]
    fn free_text_has_no_way_in() {
        let refused = |op: SharingInstruction, field: &str| {
            let error = op.validate().unwrap_err().to_string();
            assert!(error.contains(field), "{error}");
        };
        let record = Hash32::sha256(b"record");
        // A purpose is a code: a sentence about the person is refused.
        refused(
            SharingInstruction::Access {
                record,
                purpose: "Jane Doe's housing benefit".into(),
                basis: "holder-case-handling".into(),
            },
            "purpose",
        );
        refused(
            SharingInstruction::Register {
                record,
                nonce: record,
                schema: "Birth certificate of J. Doe".into(),
                commitment: record,
                subject: record,
                basis: "civil-registration".into(),
            },
            "schema",
        );
        refused(
            SharingInstruction::Erase {
                record,
                basis: "asked by Jane on 3 May".into(),
            },
            "basis",
        );
        refused(
            SharingInstruction::SetVault {
                account: AccountId([1; 32]),
                url: "ftp://vault".into(),
            },
            "url",
        );
        refused(
            SharingInstruction::SetVault {
                account: AccountId([1; 32]),
                url: "https://".into(),
            },
            "url",
        );
        refused(
            SharingInstruction::Rectify {
                record,
                version: 1,
                commitment: record,
                basis: "rectification-on-request".into(),
            },
            "version",
        );
    }

    #[test]
    fn the_subject_tag_binds_record_salt_and_account() {
        let record = Hash32::sha256(b"record");
        let salt = Hash32::sha256(b"salt");
        let alice = AccountId([1; 32]);
        let tag = subject_tag(&record, &salt, &alice);
        assert_ne!(tag, subject_tag(&record, &salt, &AccountId([2; 32])));
        assert_ne!(tag, subject_tag(&record, &Hash32::sha256(b"other"), &alice));
        assert_ne!(tag, subject_tag(&Hash32::sha256(b"other"), &salt, &alice));
        // The published vector (docs/PERSONAL-DATA.md), as an outside SHA-256 computes it:
        // sha256(0x1a || "civitas/sharing/subject/v1" || 0x11*32 || 0x22*32 || 0x33*32).
        assert_eq!(
            subject_tag(
                &Hash32([0x11; 32]),
                &Hash32([0x22; 32]),
                &AccountId([0x33; 32])
            )
            .to_hex(),
            "b086c1f9c52a170c7a3c9157dffb501b354a4f9b76cf7c192aa997805d6fad8f"
        );
    }

    #[test]
    fn a_record_id_is_derived_from_the_agency_and_the_nonce() {
        let nonce = Hash32([0x44; 32]);
        assert_ne!(record_id("land", &nonce), record_id("health", &nonce));
        // The agency's length is part of the input: "ab" + nonce never equals "a" + "b...".
        assert_ne!(record_id("ab", &nonce), record_id("a", &nonce));
        // The published vector (docs/PROOFS.md, A.10.1), as an outside SHA-256 computes it:
        // sha256(0x1c || "civitas/sharing/record-id/v1" || 0x04 || "land" || 0x44*32).
        assert_eq!(
            record_id("land", &nonce).to_hex(),
            "2a9cd67ef71bfaead8b742983d0d6adf67a14a004e8a3ea0c5e36bb0d88cf6d7"
        );
    }

    proptest! {
        /// No input makes the decoder panic, and what decodes encodes back to the same bytes.
        #[test]
        fn decoding_is_total_and_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            if let Ok(op) = decode_tagged::<SharingInstruction>(&bytes) {
                prop_assert_eq!(to_vec(&op), bytes.clone());
            }
            if let Ok(event) = decode_tagged::<SharingEvent>(&bytes) {
                prop_assert_eq!(to_vec(&event), bytes);
            }
        }
    }
}
