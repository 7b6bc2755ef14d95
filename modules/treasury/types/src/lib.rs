//! Treasury instructions and events: fiscal years, appropriations, allotments, commitments
//! and payments.
//!
//! Every movement of money is an *entry* with a sequence number; corrections are compensating
//! entries (a decrease, a reversal), never edits. The rules that keep commitments within
//! allotments within appropriations, and payments within commitments, live in
//! `civitas-modules`.

use civitas_primitives::codec::{DecodeError, check_ident, check_text};
use civitas_primitives::codec_enum;
use civitas_primitives::crypto::AccountId;
use civitas_primitives::limits::*;
use civitas_primitives::money::{Currency, Money};
use serde::{Deserialize, Serialize};

/// Up or down: how a compensating entry changes an amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Adds to the amount.
    Increase,
    /// Takes from the amount.
    Decrease,
}
codec_enum!(Direction { 0 => Increase {}, 1 => Decrease {} });

/// Operations of the treasury module.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum TreasuryInstruction {
    /// The finance authority opens a fiscal year in one currency.
    OpenYear {
        /// The year, such as 2026.
        year: u32,
        /// Currency of every amount of the year.
        currency: Currency,
        /// Contracts at or above this value must go through an open tender; awards just below
        /// it are watched for splitting (minor units).
        procurement_threshold: u64,
    },
    /// The finance authority closes a fiscal year: no more appropriations, commitments or
    /// payments in it.
    CloseYear {
        /// The year.
        year: u32,
    },
    /// Registers a business (an account) as a vendor that can bid and be paid.
    RegisterVendor {
        /// The business's account.
        account: AccountId,
        /// Its legal name.
        name: String,
        /// Its public registration number.
        registration: String,
    },
    /// The finance authority appropriates money to an agency's programme and economic
    /// classification for a year.
    Appropriate {
        /// Fiscal year.
        year: u32,
        /// The agency that may spend it.
        agency: String,
        /// Programme code, such as `primary-care`.
        programme: String,
        /// Economic classification code, such as `2211` or `capital-works`.
        classification: String,
        /// What it is for.
        purpose: String,
        /// How much.
        amount: Money,
    },
    /// The finance authority raises or lowers an appropriation (a supplementary budget or a
    /// cut), with a reason. It never falls below what is allotted.
    AdjustAppropriation {
        /// The appropriation's number.
        appropriation: u64,
        /// Up or down.
        direction: Direction,
        /// By how much.
        amount: Money,
        /// Why, for the public record.
        reason: String,
    },
    /// The finance authority releases (or takes back) part of an appropriation for
    /// commitment. Allotted never exceeds appropriated, nor falls below committed.
    Allot {
        /// The appropriation's number.
        appropriation: u64,
        /// Release or take back.
        direction: Direction,
        /// How much.
        amount: Money,
        /// Why (such as "second quarter").
        reason: String,
    },
    /// The spending agency commits (obligates) money to a vendor, within what is allotted.
    Commit {
        /// The appropriation charged.
        appropriation: u64,
        /// Who will be paid.
        vendor: AccountId,
        /// How much.
        amount: Money,
        /// What for.
        description: String,
    },
    /// The spending agency raises or lowers a commitment, with a reason. Raised only within
    /// what is allotted; lowered never below what is paid.
    AdjustCommitment {
        /// The commitment's number.
        commitment: u64,
        /// Up or down.
        direction: Direction,
        /// By how much.
        amount: Money,
        /// Why.
        reason: String,
    },
    /// The spending agency pays a vendor against a commitment, within what remains of it.
    Pay {
        /// The commitment paid.
        commitment: u64,
        /// How much.
        amount: Money,
        /// The vendor's invoice or other reference.
        reference: String,
    },
    /// Reverses a payment by a compensating entry (a payment made in error, a refund).
    ReversePayment {
        /// The payment's number.
        payment: u64,
        /// Why.
        reason: String,
    },
}

codec_enum!(TreasuryInstruction {
    0 => OpenYear { year: (), currency: (), procurement_threshold: () },
    1 => CloseYear { year: () },
    2 => RegisterVendor { account: (), name: NAME_MAX_BYTES, registration: REFERENCE_MAX_BYTES },
    3 => Appropriate {
        year: (),
        agency: AGENCY_ID_MAX_BYTES,
        programme: CODE_MAX_BYTES,
        classification: CODE_MAX_BYTES,
        purpose: DESCRIPTION_MAX_BYTES,
        amount: (),
    },
    4 => AdjustAppropriation { appropriation: (), direction: (), amount: (), reason: REASON_MAX_BYTES },
    5 => Allot { appropriation: (), direction: (), amount: (), reason: REASON_MAX_BYTES },
    6 => Commit { appropriation: (), vendor: (), amount: (), description: DESCRIPTION_MAX_BYTES },
    7 => AdjustCommitment { commitment: (), direction: (), amount: (), reason: REASON_MAX_BYTES },
    8 => Pay { commitment: (), amount: (), reference: REFERENCE_MAX_BYTES },
    9 => ReversePayment { payment: (), reason: REASON_MAX_BYTES },
});

/// The protocol version from which a vendor co-signs its own registration
/// (`vendor_must_sign`): a sole trader's name and registration are published only by them.
pub const VENDOR_SIGNS_SINCE: u16 = 3;

fn check_year(year: u32) -> Result<(), DecodeError> {
    if !(1900..=9999).contains(&year) {
        return Err(DecodeError::Invalid {
            field: "year",
            reason: format!("must be a four-digit year; it is {year}"),
        });
    }
    Ok(())
}

impl TreasuryInstruction {
    /// `module.operation`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::OpenYear { .. } => "treasury.open_year",
            Self::CloseYear { .. } => "treasury.close_year",
            Self::RegisterVendor { .. } => "treasury.register_vendor",
            Self::Appropriate { .. } => "treasury.appropriate",
            Self::AdjustAppropriation { .. } => "treasury.adjust_appropriation",
            Self::Allot { .. } => "treasury.allot",
            Self::Commit { .. } => "treasury.commit",
            Self::AdjustCommitment { .. } => "treasury.adjust_commitment",
            Self::Pay { .. } => "treasury.pay",
            Self::ReversePayment { .. } => "treasury.reverse_payment",
        }
    }

    /// Checks the rules that need no state.
    pub fn validate(&self) -> Result<(), DecodeError> {
        match self {
            Self::OpenYear {
                year,
                procurement_threshold,
                currency,
            } => {
                check_year(*year)?;
                Money::new(*procurement_threshold, *currency).check("procurement_threshold", false)
            }
            Self::CloseYear { year } => check_year(*year),
            Self::RegisterVendor {
                name, registration, ..
            } => {
                check_text("name", name, NAME_MAX_BYTES)?;
                check_text("registration", registration, REFERENCE_MAX_BYTES)
            }
            Self::Appropriate {
                year,
                agency,
                programme,
                classification,
                purpose,
                amount,
            } => {
                check_year(*year)?;
                check_ident("agency", agency, AGENCY_ID_MAX_BYTES)?;
                check_ident("programme", programme, CODE_MAX_BYTES)?;
                check_code("classification", classification)?;
                check_text("purpose", purpose, DESCRIPTION_MAX_BYTES)?;
                amount.check("amount", false)
            }
            Self::AdjustAppropriation { amount, reason, .. }
            | Self::Allot { amount, reason, .. }
            | Self::AdjustCommitment { amount, reason, .. } => {
                check_text("reason", reason, REASON_MAX_BYTES)?;
                amount.check("amount", false)
            }
            Self::Commit {
                amount,
                description,
                ..
            } => {
                check_text("description", description, DESCRIPTION_MAX_BYTES)?;
                amount.check("amount", false)
            }
            Self::Pay {
                amount, reference, ..
            } => {
                check_text("reference", reference, REFERENCE_MAX_BYTES)?;
                amount.check("amount", false)
            }
            Self::ReversePayment { reason, .. } => check_text("reason", reason, REASON_MAX_BYTES),
        }
    }
}

/// Checks a classification code: like an identifier, but it may start with a digit (economic
/// classifications are often numeric, such as `2211`).
pub fn check_code(field: &'static str, value: &str) -> Result<(), DecodeError> {
    let valid = !value.is_empty()
        && value.len() <= CODE_MAX_BYTES
        && value.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_' || c == '.'
        });
    if !valid {
        return Err(DecodeError::Invalid {
            field,
            reason: format!(
                "{value:?} must be 1 to {CODE_MAX_BYTES} lowercase letters, digits, '-', '_' or '.'"
            ),
        });
    }
    Ok(())
}

/// What kind of money movement an entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// An appropriation was adopted.
    Appropriated,
    /// An appropriation was raised or lowered.
    AppropriationAdjusted,
    /// Part of an appropriation was released (or taken back).
    Allotted,
    /// Money was committed to a vendor.
    Committed,
    /// A commitment was raised or lowered.
    CommitmentAdjusted,
    /// A vendor was paid.
    Paid,
    /// A payment was reversed.
    PaymentReversed,
}
codec_enum!(EntryKind {
    0 => Appropriated {},
    1 => AppropriationAdjusted {},
    2 => Allotted {},
    3 => Committed {},
    4 => CommitmentAdjusted {},
    5 => Paid {},
    6 => PaymentReversed {},
});

impl EntryKind {
    /// The name used in JSON, CSV and events.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Appropriated => "appropriated",
            Self::AppropriationAdjusted => "appropriation_adjusted",
            Self::Allotted => "allotted",
            Self::Committed => "committed",
            Self::CommitmentAdjusted => "commitment_adjusted",
            Self::Paid => "paid",
            Self::PaymentReversed => "payment_reversed",
        }
    }
}

/// Something the treasury recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TreasuryEvent {
    /// A fiscal year was opened.
    YearOpened {
        /// The year.
        year: u32,
        /// Its currency.
        currency: Currency,
        /// The open-tender threshold, in minor units.
        procurement_threshold: u64,
    },
    /// A fiscal year was closed.
    YearClosed {
        /// The year.
        year: u32,
    },
    /// A vendor was registered.
    VendorRegistered {
        /// Its account.
        account: AccountId,
        /// Its legal name.
        name: String,
    },
    /// Money moved: one entry of the public ledger of spending.
    TreasuryEntry {
        /// The entry's sequence number.
        entry: u64,
        /// What kind of movement.
        kind: EntryKind,
        /// Fiscal year.
        year: u32,
        /// The appropriation.
        appropriation: u64,
        /// The commitment, for commitments and payments.
        commitment: Option<u64>,
        /// The payment, for payments and reversals.
        payment: Option<u64>,
        /// The vendor, for commitments and payments.
        vendor: Option<AccountId>,
        /// The spending agency.
        agency: String,
        /// How much.
        amount: Money,
        /// Whether the entry lowers the figure it changes.
        decrease: bool,
    },
    /// An agency received money (such as a permit's fee): one entry of the public ledger of
    /// revenue.
    RevenueReceived {
        /// Fiscal year (the calendar year of the block).
        year: u32,
        /// The entry's number within the year.
        entry: u64,
        /// The receiving agency.
        agency: String,
        /// Where the money comes from, such as `permit.business-licence`.
        source: String,
        /// How much.
        amount: Money,
    },
}
codec_enum!(TreasuryEvent {
    0 => YearOpened { year: (), currency: (), procurement_threshold: () },
    1 => YearClosed { year: () },
    2 => VendorRegistered { account: (), name: NAME_MAX_BYTES },
    3 => TreasuryEntry {
        entry: (),
        kind: (),
        year: (),
        appropriation: (),
        commitment: (),
        payment: (),
        vendor: (),
        agency: AGENCY_ID_MAX_BYTES,
        amount: (),
        decrease: (),
    },
    4 => RevenueReceived { year: (), entry: (), agency: AGENCY_ID_MAX_BYTES, source: 48, amount: () },
});

impl civitas_primitives::kit::Operations for TreasuryInstruction {
    const MESSAGES: &'static [(&'static str, &'static str)] = MESSAGES;

    fn public_text(&self) -> Vec<civitas_primitives::personal::PublicText<'_>> {
        match self {
            // A vendor's name and registration are public by design; from protocol 3 the
            // vendor co-signs its registration (a sole trader's name is theirs to publish).
            Self::RegisterVendor {
                name, registration, ..
            } => vec![
                civitas_primitives::personal::PublicText::prose("name", name),
                civitas_primitives::personal::PublicText::code("registration", registration),
            ],
            Self::Appropriate { purpose, .. } => {
                vec![civitas_primitives::personal::PublicText::prose(
                    "purpose", purpose,
                )]
            }
            Self::AdjustAppropriation { reason, .. }
            | Self::Allot { reason, .. }
            | Self::AdjustCommitment { reason, .. }
            | Self::ReversePayment { reason, .. } => {
                vec![civitas_primitives::personal::PublicText::prose(
                    "reason", reason,
                )]
            }
            Self::Commit { description, .. } => {
                vec![civitas_primitives::personal::PublicText::prose(
                    "description",
                    description,
                )]
            }
            Self::Pay { reference, .. } => vec![civitas_primitives::personal::PublicText::code(
                "reference",
                reference,
            )],
            Self::OpenYear { .. } | Self::CloseYear { .. } => Vec::new(),
        }
    }

    fn accounts(&self) -> Vec<AccountId> {
        match self {
            Self::RegisterVendor { account, .. } => vec![*account],
            Self::Commit { vendor, .. } => vec![*vendor],
            Self::OpenYear { .. }
            | Self::CloseYear { .. }
            | Self::Appropriate { .. }
            | Self::AdjustAppropriation { .. }
            | Self::Allot { .. }
            | Self::AdjustCommitment { .. }
            | Self::Pay { .. }
            | Self::ReversePayment { .. } => Vec::new(),
        }
    }

    fn name(&self) -> &'static str {
        TreasuryInstruction::name(self)
    }

    fn validate(&self) -> Result<(), DecodeError> {
        TreasuryInstruction::validate(self)
    }
}

impl civitas_primitives::kit::Events for TreasuryEvent {
    const TAGS: civitas_primitives::kit::EventTags = civitas_primitives::kit::EventTags::Own(11);

    fn accounts(&self) -> Vec<AccountId> {
        match self {
            Self::VendorRegistered { account, .. } => vec![*account],
            Self::TreasuryEntry { vendor, .. } => vendor.iter().copied().collect(),
            Self::YearOpened { .. } | Self::YearClosed { .. } | Self::RevenueReceived { .. } => {
                Vec::new()
            }
        }
    }
}

/// The sentences of the treasury module's failure codes (see `civitas_core::messages`): a
/// template per code and set of arguments; `{name}` is replaced by the argument's value,
/// `{name:money}` by the amount with its currency, and `[problem=x]` chooses a template by the
/// `problem` argument.
pub const MESSAGES: &[(&str, &str)] = &[
    ("unknown_year", "fiscal year {year} has not been opened"),
    ("year_closed", "fiscal year {year} is closed"),
    ("year_exists", "fiscal year {year} was already opened"),
    (
        "receipt_too_long",
        "the {field} of money received is longer than its {max} bytes",
    ),
    (
        "zero_amount",
        "money received is recorded only when there is some; the amount is {amount:money}",
    ),
    (
        "currency_mismatch",
        "fiscal year {year} is kept in {expected}; the amount is in {currency}",
    ),
    (
        "currency_mismatch",
        "{what} is in {currency}; the tender is in {expected}",
    ),
    (
        "total_overflow",
        "recording {amount:money} would take a total beyond what can be represented; split it",
    ),
    (
        "exceeds_allotment",
        "commitments against appropriation {appropriation} would reach {after:money} with \
         {amount:money} more, {excess:money} above the {limit:money} allotted (appropriated: \
         {appropriated:money})",
    ),
    (
        "exceeds_allotment",
        "commitments against appropriation {appropriation} would reach {after:money} with \
         {amount:money} more, {excess:money} above the {limit:money} allotted",
    ),
    (
        "exceeds_commitment",
        "payments against commitment {commitment} would reach {after:money} with {amount:money} \
         more, {excess:money} above the {limit:money} committed",
    ),
    (
        "exceeds_appropriation",
        "allotments of appropriation {appropriation} would reach {after:money} with \
         {amount:money} more, {excess:money} above the {limit:money} appropriated",
    ),
    (
        "below_allotted",
        "lowering appropriation {appropriation} by {amount:money} would bring it to \
         {after:money}, {shortfall:money} below the {floor:money} already allotted",
    ),
    (
        "below_allotted",
        "lowering appropriation {appropriation} by {amount:money} is more than its current \
         {current:money}",
    ),
    (
        "below_committed",
        "taking back an allotment of appropriation {appropriation} by {amount:money} would bring \
         it to {after:money}, {shortfall:money} below the {floor:money} already committed",
    ),
    (
        "below_committed",
        "taking back an allotment of appropriation {appropriation} by {amount:money} is more \
         than its current {current:money}",
    ),
    (
        "below_paid",
        "lowering commitment {commitment} by {amount:money} would bring it to {after:money}, \
         {shortfall:money} below the {floor:money} already paid against it",
    ),
    (
        "below_paid",
        "lowering commitment {commitment} by {amount:money} is more than its current \
         {current:money}",
    ),
    (
        "vendor_exists",
        "account {account} is already a registered vendor",
    ),
    (
        "not_a_business",
        "account {account} is an official's; vendors are citizen or business accounts",
    ),
    (
        "vendor_must_sign",
        "account {account} must co-sign its registration as a vendor (its name and \
         registration are public); sign with its key too (--cosign)",
    ),
    (
        "already_reversed",
        "payment {payment} was already reversed by entry {entry}",
    ),
    (
        "unknown_appropriation",
        "appropriation {appropriation} does not exist",
    ),
    (
        "unknown_commitment",
        "commitment {commitment} does not exist",
    ),
    ("unknown_payment", "payment {payment} does not exist"),
    (
        "unknown_vendor",
        "account {account} is not a registered vendor",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_primitives::codec::to_vec;
    use civitas_primitives::crypto::PrivateKey;
    use civitas_primitives::kit::decode_tagged;

    fn eur(amount: u64) -> Money {
        Money::new(amount, Currency::parse("EUR").unwrap())
    }

    #[test]
    fn instructions_round_trip_and_validate() {
        let vendor = PrivateKey::from_test_seed(3).public_key().account_id();
        for op in [
            TreasuryInstruction::OpenYear {
                year: 2026,
                currency: Currency::parse("EUR").unwrap(),
                procurement_threshold: 10_000_000,
            },
            TreasuryInstruction::CloseYear { year: 2026 },
            TreasuryInstruction::RegisterVendor {
                account: vendor,
                name: "Acme Roads Ltd".into(),
                registration: "RC-1234".into(),
            },
            TreasuryInstruction::Appropriate {
                year: 2026,
                agency: "health".into(),
                programme: "primary-care".into(),
                classification: "2211".into(),
                purpose: "Clinic running costs".into(),
                amount: eur(50_000_000),
            },
            TreasuryInstruction::AdjustAppropriation {
                appropriation: 1,
                direction: Direction::Decrease,
                amount: eur(5),
                reason: "mid-year cut".into(),
            },
            TreasuryInstruction::Allot {
                appropriation: 1,
                direction: Direction::Increase,
                amount: eur(5),
                reason: "Q1".into(),
            },
            TreasuryInstruction::Commit {
                appropriation: 1,
                vendor,
                amount: eur(7),
                description: "Supplies".into(),
            },
            TreasuryInstruction::AdjustCommitment {
                commitment: 1,
                direction: Direction::Increase,
                amount: eur(1),
                reason: "price revision".into(),
            },
            TreasuryInstruction::Pay {
                commitment: 1,
                amount: eur(7),
                reference: "INV-9".into(),
            },
            TreasuryInstruction::ReversePayment {
                payment: 1,
                reason: "paid twice".into(),
            },
        ] {
            op.validate().unwrap();
            let bytes = to_vec(&op);
            assert_eq!(bytes.len(), commonware_codec::EncodeSize::encode_size(&op));
            assert_eq!(decode_tagged::<TreasuryInstruction>(&bytes), Ok(op.clone()));
            let json = serde_json::to_string(&op).unwrap();
            assert_eq!(
                serde_json::from_str::<TreasuryInstruction>(&json).unwrap(),
                op
            );
        }
    }

    #[test]
    fn bad_amounts_and_codes_are_refused() {
        let bad = TreasuryInstruction::Pay {
            commitment: 1,
            amount: eur(0),
            reference: "x".into(),
        };
        assert!(bad.validate().unwrap_err().to_string().contains("amount"));
        let bad = TreasuryInstruction::Appropriate {
            year: 2026,
            agency: "health".into(),
            programme: "Primary Care".into(),
            classification: "2211".into(),
            purpose: "x".into(),
            amount: eur(1),
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("programme")
        );
        assert!(check_code("classification", "2211.01").is_ok());
        assert!(check_code("classification", "22 11").is_err());
    }
}
