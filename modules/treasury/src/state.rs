//! Treasury state: fiscal years, vendors, appropriations with their running figures,
//! commitments, payments, the journal of entries and the running totals the dashboard shows.
//!
//! Every total is a state value, so each figure has a proof. The records behind a total are
//! found without any index: each entry stores, per total it counts in, the number of the
//! previous entry of that total, and each total stores its latest entry. Walking back from a
//! total reaches exactly its entries, each provable.

use civitas_core::bundle::StateKey;
use civitas_core::crypto::AccountId;
use civitas_core::hash::Hash32;
use civitas_core::limits::*;
use civitas_core::money::{Currency, Money};
use civitas_core::time::TimestampMs;
use civitas_core::treasury::EntryKind;
use civitas_core::{codec_enum, codec_struct};
use civitas_kit::Overlay;
use civitas_kit::{StateError, StateView};
use serde::Serialize;

/// The module's key spaces, as `spaces::NAME` (see [`SPACES`]).
pub mod spaces {
    /// Treasury counters: next appropriation, commitment, payment and entry numbers (single key).
    pub const TREASURY_CONFIG: &str = "treasury/config";
    /// A fiscal year, by big-endian u32 year.
    pub const FISCAL_YEAR: &str = "treasury/year";
    /// A registered vendor, by account id.
    pub const VENDOR: &str = "treasury/vendor";
    /// An appropriation with its running figures, by big-endian u64 number.
    pub const APPROPRIATION: &str = "treasury/appropriation";
    /// A commitment, by big-endian u64 number.
    pub const COMMITMENT: &str = "treasury/commitment";
    /// A payment, by big-endian u64 number.
    pub const PAYMENT: &str = "treasury/payment";
    /// One money movement, by big-endian u64 sequence number.
    pub const ENTRY: &str = "treasury/entry";
    /// A running total, by UTF-8 `<year>/all` or `<year>/<dimension>/<value>` (dimension
    /// `agency`, `programme`, `classification`, `vendor` (account hex) or `month` (`YYYY-MM`)).
    pub const TOTAL: &str = "treasury/total";
    /// Money received (a fee), by big-endian u32 fiscal year and u64 number within it.
    pub const REVENUE: &str = "treasury/revenue";
    /// A running total of money received, by UTF-8 `<year>/all` or
    /// `<year>/<dimension>/<value>` (dimension `agency`, `source` or `month`).
    pub const REVENUE_TOTAL: &str = "treasury/revenue-total";

    use super::*;
    use civitas_kit::space::{Id, Space, view};

    /// Where the module's records are, how a client names one, and how a value is shown.
    pub const SPACES: &[Space] = &[
        Space {
            name: TREASURY_CONFIG,
            id: Id::Empty,
            about: "empty",
            describe: None,
            view: view::<TreasuryConfig>,
        },
        Space {
            name: FISCAL_YEAR,
            id: Id::Year,
            about: "year, such as 2026",
            describe: None,
            view: view::<FiscalYear>,
        },
        Space {
            name: VENDOR,
            id: Id::Hex32("an account id"),
            about: "account id, hex",
            describe: None,
            view: view::<Vendor>,
        },
        Space {
            name: APPROPRIATION,
            id: Id::Number,
            about: "appropriation number",
            describe: None,
            view: view::<Appropriation>,
        },
        Space {
            name: COMMITMENT,
            id: Id::Number,
            about: "commitment number",
            describe: None,
            view: view::<Commitment>,
        },
        Space {
            name: PAYMENT,
            id: Id::Number,
            about: "payment number",
            describe: None,
            view: view::<Payment>,
        },
        Space {
            name: ENTRY,
            id: Id::Number,
            about: "entry number",
            describe: None,
            view: view::<Entry>,
        },
        Space {
            name: TOTAL,
            id: Id::Custom {
                parse: |id| {
                    if parse_total_id(id).is_none() {
                        return Err(format!(
                            "2026/all or 2026/<dimension>/<value>, with dimension agency, \
                             programme, classification, vendor or month; got {id:?}"
                        ));
                    }
                    Ok(id.as_bytes().to_vec())
                },
                show: |id| std::str::from_utf8(id).ok().map(str::to_string),
            },
            about: "2026/all, or 2026/<agency|programme|classification|vendor|month>/<value>",
            describe: Some(describe_total),
            view: view::<Total>,
        },
        Space {
            name: REVENUE,
            id: Id::Custom {
                parse: |id| {
                    let (year, seq) = parse_revenue_id(id).ok_or_else(|| {
                        format!("a year and a number, such as 2026/17; got {id:?}")
                    })?;
                    Ok(revenue_key(year, seq).id)
                },
                show: |id| {
                    let year = u32::from_be_bytes(id.get(..4)?.try_into().ok()?);
                    let seq = u64::from_be_bytes(id.get(4..)?.try_into().ok()?);
                    Some(format!("{year}/{seq}"))
                },
            },
            about: "year/number, such as 2026/17",
            describe: None,
            view: view::<Revenue>,
        },
        Space {
            name: REVENUE_TOTAL,
            id: Id::Custom {
                parse: |id| {
                    if parse_revenue_total_id(id).is_none() {
                        return Err(format!(
                            "2026/all or 2026/<dimension>/<value>, with dimension agency, \
                             source or month; got {id:?}"
                        ));
                    }
                    Ok(id.as_bytes().to_vec())
                },
                show: |id| std::str::from_utf8(id).ok().map(str::to_string),
            },
            about: "2026/all, or 2026/<agency|source|month>/<value>",
            describe: Some(describe_revenue_total),
            view: view::<RevenueTotal>,
        },
    ];
}

/// Next numbers to hand out; all start at 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TreasuryConfig {
    /// Next appropriation number.
    pub next_appropriation: u64,
    /// Next commitment number.
    pub next_commitment: u64,
    /// Next payment number.
    pub next_payment: u64,
    /// Next entry number.
    pub next_entry: u64,
}
codec_struct!(TreasuryConfig {
    next_appropriation: (),
    next_commitment: (),
    next_payment: (),
    next_entry: ()
});

impl Default for TreasuryConfig {
    fn default() -> Self {
        Self {
            next_appropriation: 1,
            next_commitment: 1,
            next_payment: 1,
            next_entry: 1,
        }
    }
}

/// A fiscal year.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FiscalYear {
    /// The year.
    pub year: u32,
    /// Currency of every amount in it.
    pub currency: Currency,
    /// Open-tender threshold, minor units.
    pub procurement_threshold: u64,
    /// False once closed.
    pub open: bool,
    /// Who opened it.
    pub opened_by: AccountId,
    /// Height it was opened at.
    pub opened_height: u64,
}
codec_struct!(FiscalYear {
    year: (),
    currency: (),
    procurement_threshold: (),
    open: (),
    opened_by: (),
    opened_height: ()
});

/// A registered vendor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Vendor {
    /// Its account.
    pub account: AccountId,
    /// Legal name.
    pub name: String,
    /// Public registration number.
    pub registration: String,
    /// The official who registered it.
    pub registered_by: AccountId,
    /// Height of registration.
    pub height: u64,
}
codec_struct!(Vendor {
    account: (),
    name: NAME_MAX_BYTES,
    registration: REFERENCE_MAX_BYTES,
    registered_by: (),
    height: ()
});

/// The four figures of public money, in minor units of the year's currency.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Figures {
    /// Appropriated (the budget).
    pub appropriated: u64,
    /// Released for commitment.
    pub allotted: u64,
    /// Committed to vendors.
    pub committed: u64,
    /// Paid out.
    pub paid: u64,
}
codec_struct!(Figures {
    appropriated: (),
    allotted: (),
    committed: (),
    paid: ()
});

/// Which figure an entry of `kind` changes.
pub fn figure_mut(figures: &mut Figures, kind: EntryKind) -> &mut u64 {
    match figure_slot(kind) {
        0 => &mut figures.appropriated,
        1 => &mut figures.allotted,
        2 => &mut figures.committed,
        _ => &mut figures.paid,
    }
}

/// Which figure an entry of `kind` changes, as a position: 0 appropriated, 1 allotted,
/// 2 committed, 3 paid (the order of [`Figures`]).
pub fn figure_slot(kind: EntryKind) -> usize {
    match kind {
        EntryKind::Appropriated | EntryKind::AppropriationAdjusted => 0,
        EntryKind::Allotted => 1,
        EntryKind::Committed | EntryKind::CommitmentAdjusted => 2,
        EntryKind::Paid | EntryKind::PaymentReversed => 3,
    }
}

/// An appropriation and its running figures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Appropriation {
    /// Its number.
    pub id: u64,
    /// Fiscal year.
    pub year: u32,
    /// The spending agency.
    pub agency: String,
    /// Programme code.
    pub programme: String,
    /// Economic classification code.
    pub classification: String,
    /// What it is for.
    pub purpose: String,
    /// The year's currency.
    pub currency: Currency,
    /// Its figures.
    pub figures: Figures,
    /// Its latest entry.
    pub last_entry: u64,
}
codec_struct!(Appropriation {
    id: (),
    year: (),
    agency: AGENCY_ID_MAX_BYTES,
    programme: CODE_MAX_BYTES,
    classification: CODE_MAX_BYTES,
    purpose: DESCRIPTION_MAX_BYTES,
    currency: (),
    figures: (),
    last_entry: (),
});

/// The contract milestone a commitment pays for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MilestoneRef {
    /// The contract.
    pub contract: u64,
    /// The milestone's position.
    pub milestone: u16,
}
codec_struct!(MilestoneRef {
    contract: (),
    milestone: ()
});

/// A commitment (obligation) to a vendor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Commitment {
    /// Its number.
    pub id: u64,
    /// The appropriation charged.
    pub appropriation: u64,
    /// Fiscal year.
    pub year: u32,
    /// The spending agency.
    pub agency: String,
    /// Who will be paid.
    pub vendor: AccountId,
    /// What for.
    pub description: String,
    /// Amount committed (after adjustments).
    pub amount: Money,
    /// Paid so far against it (after reversals).
    pub paid: u64,
    /// The contract milestone it pays, if it came from procurement.
    pub milestone: Option<MilestoneRef>,
    /// Height it was made at.
    pub height: u64,
}
codec_struct!(Commitment {
    id: (),
    appropriation: (),
    year: (),
    agency: AGENCY_ID_MAX_BYTES,
    vendor: (),
    description: DESCRIPTION_MAX_BYTES,
    amount: (),
    paid: (),
    milestone: (),
    height: (),
});

/// How a payment was reversed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Reversal {
    /// Why.
    pub reason: String,
    /// Who reversed it.
    pub by: AccountId,
    /// The compensating entry.
    pub entry: u64,
    /// Height.
    pub height: u64,
}
codec_struct!(Reversal {
    reason: REASON_MAX_BYTES,
    by: (),
    entry: (),
    height: ()
});

/// A payment to a vendor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Payment {
    /// Its number.
    pub id: u64,
    /// The commitment paid.
    pub commitment: u64,
    /// The appropriation charged.
    pub appropriation: u64,
    /// The spending agency.
    pub agency: String,
    /// Who was paid.
    pub vendor: AccountId,
    /// How much.
    pub amount: Money,
    /// The invoice or other reference.
    pub reference: String,
    /// The officials who signed it (the signer first, then co-signers).
    pub approvers: Vec<AccountId>,
    /// Its entry.
    pub entry: u64,
    /// Block time.
    pub time: TimestampMs,
    /// Height.
    pub height: u64,
    /// The paying transaction.
    pub tx: Hash32,
    /// Present once reversed.
    pub reversal: Option<Reversal>,
}
codec_struct!(Payment {
    id: (),
    commitment: (),
    appropriation: (),
    agency: AGENCY_ID_MAX_BYTES,
    vendor: (),
    amount: (),
    reference: REFERENCE_MAX_BYTES,
    approvers: (TX_SIGNATURES_MAX, ()),
    entry: (),
    time: (),
    height: (),
    tx: (),
    reversal: (),
});

/// The totals an entry counts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// The whole year.
    All,
    /// Per agency.
    Agency,
    /// Per programme.
    Programme,
    /// Per economic classification.
    Classification,
    /// Per vendor (commitments and payments only).
    Vendor,
    /// Per calendar month of the block time (`YYYY-MM`, UTC).
    Month,
}
codec_enum!(Dimension {
    0 => All {},
    1 => Agency {},
    2 => Programme {},
    3 => Classification {},
    4 => Vendor {},
    5 => Month {},
});

impl Dimension {
    /// Every dimension.
    pub const ALL: [Dimension; 6] = [
        Self::All,
        Self::Agency,
        Self::Programme,
        Self::Classification,
        Self::Vendor,
        Self::Month,
    ];

    /// Its name in keys and URLs.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Agency => "agency",
            Self::Programme => "programme",
            Self::Classification => "classification",
            Self::Vendor => "vendor",
            Self::Month => "month",
        }
    }

    /// Parses a name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == text)
    }
}

/// One link of an entry: the previous entry of one total it counts in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Link {
    /// The total.
    pub dimension: Dimension,
    /// The previous entry counted in it (0: none).
    pub previous: u64,
}
codec_struct!(Link {
    dimension: (),
    previous: ()
});

/// One movement of money.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Entry {
    /// Sequence number.
    pub seq: u64,
    /// What moved.
    pub kind: EntryKind,
    /// Fiscal year.
    pub year: u32,
    /// The appropriation.
    pub appropriation: u64,
    /// The commitment, for commitments and payments.
    pub commitment: Option<u64>,
    /// The payment, for payments and reversals.
    pub payment: Option<u64>,
    /// The vendor, for commitments and payments.
    pub vendor: Option<AccountId>,
    /// The spending agency.
    pub agency: String,
    /// Programme code.
    pub programme: String,
    /// Economic classification code.
    pub classification: String,
    /// Calendar month of the block time, `YYYY-MM`.
    pub month: String,
    /// How much.
    pub amount: Money,
    /// Whether it lowers the figure.
    pub decrease: bool,
    /// The official who signed it.
    pub by: AccountId,
    /// Description, reason or reference.
    pub note: String,
    /// Block time.
    pub time: TimestampMs,
    /// Height.
    pub height: u64,
    /// The transaction.
    pub tx: Hash32,
    /// Previous entry of each total it counts in, the appropriation's own list last.
    pub links: Vec<Link>,
    /// Previous entry of the same appropriation (0: none).
    pub previous_of_appropriation: u64,
}
codec_struct!(Entry {
    seq: (),
    kind: (),
    year: (),
    appropriation: (),
    commitment: (),
    payment: (),
    vendor: (),
    agency: AGENCY_ID_MAX_BYTES,
    programme: CODE_MAX_BYTES,
    classification: CODE_MAX_BYTES,
    month: 7,
    amount: (),
    decrease: (),
    by: (),
    note: DESCRIPTION_MAX_BYTES,
    time: (),
    height: (),
    tx: (),
    links: (6, ()),
    previous_of_appropriation: (),
});

impl Entry {
    /// The value this entry has in `dimension`, if it counts in it.
    pub fn value_in(&self, dimension: Dimension) -> Option<String> {
        match dimension {
            Dimension::All => Some(String::new()),
            Dimension::Agency => Some(self.agency.clone()),
            Dimension::Programme => Some(self.programme.clone()),
            Dimension::Classification => Some(self.classification.clone()),
            Dimension::Vendor => self.vendor.map(|v| v.to_hex()),
            Dimension::Month => Some(self.month.clone()),
        }
    }

    /// The previous entry of the total in `dimension` (0 when this is its first).
    pub fn previous_in(&self, dimension: Dimension) -> Option<u64> {
        self.links
            .iter()
            .find(|l| l.dimension == dimension)
            .map(|l| l.previous)
    }

    /// Signed amount: negative for a decrease.
    pub fn signed_amount(&self) -> i128 {
        if self.decrease {
            -i128::from(self.amount.amount)
        } else {
            i128::from(self.amount.amount)
        }
    }
}

/// A running total: the four figures of one year, overall or for one agency, programme,
/// classification, vendor or month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Total {
    /// Fiscal year.
    pub year: u32,
    /// The dimension.
    pub dimension: Dimension,
    /// Its value (agency id, code, vendor account hex, `YYYY-MM`; empty for the whole year).
    pub value: String,
    /// Currency of the figures.
    pub currency: Currency,
    /// The figures.
    pub figures: Figures,
    /// How many entries count in it.
    pub entries: u64,
    /// The latest of them (0: none).
    pub last_entry: u64,
}
codec_struct!(Total {
    year: (),
    dimension: (),
    value: 64,
    currency: (),
    figures: (),
    entries: (),
    last_entry: (),
});

/// The totals money received counts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RevenueDimension {
    /// The whole year.
    All,
    /// Per receiving agency.
    Agency,
    /// Per source, such as `permit.business-licence` (the fees of one permit type).
    Source,
    /// Per calendar month of the block time (`YYYY-MM`, UTC).
    Month,
}
codec_enum!(RevenueDimension {
    0 => All {},
    1 => Agency {},
    2 => Source {},
    3 => Month {},
});

impl RevenueDimension {
    /// Every dimension, in the order an entry's links list them.
    pub const ALL: [RevenueDimension; 4] = [Self::All, Self::Agency, Self::Source, Self::Month];

    /// Its name in keys and URLs.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Agency => "agency",
            Self::Source => "source",
            Self::Month => "month",
        }
    }

    /// Parses a name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == text)
    }
}

// `receive` numbers an entry by the first total of `ALL`, the year's.
const _: () = assert!(matches!(RevenueDimension::ALL[0], RevenueDimension::All));

/// One link of a revenue entry: the previous entry of one total it counts in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RevenueLink {
    /// The total.
    pub dimension: RevenueDimension,
    /// The number, within the year, of the previous entry counted in it (0: none).
    pub previous: u64,
}
codec_struct!(RevenueLink {
    dimension: (),
    previous: ()
});

/// Longest address of the record money was received for (`permits/application/12`).
pub const REVENUE_RECORD_MAX_BYTES: usize = 96;

/// Money an agency received, such as a permit's fee: one entry of the public ledger of
/// revenue. Numbered within its fiscal year, the calendar year (UTC) of the block that
/// recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Revenue {
    /// Fiscal year.
    pub year: u32,
    /// Number within the year, from 1.
    pub seq: u64,
    /// The receiving agency.
    pub agency: String,
    /// Where the money comes from, such as `permit.business-licence`.
    pub source: String,
    /// The record it was received for, as `<space>/<id>` (`permits/application/12`).
    pub record: String,
    /// The receipt or payment reference.
    pub reference: String,
    /// How much, in the year's currency.
    pub amount: Money,
    /// Calendar month of the block time, `YYYY-MM`.
    pub month: String,
    /// The official who recorded it.
    pub by: AccountId,
    /// Block time.
    pub time: TimestampMs,
    /// Height.
    pub height: u64,
    /// The transaction.
    pub tx: Hash32,
    /// Previous entry of each total it counts in, in the order of [`RevenueDimension::ALL`].
    pub links: Vec<RevenueLink>,
}
codec_struct!(Revenue {
    year: (),
    seq: (),
    agency: AGENCY_ID_MAX_BYTES,
    source: REVENUE_SOURCE_MAX_BYTES,
    record: REVENUE_RECORD_MAX_BYTES,
    reference: REFERENCE_MAX_BYTES,
    amount: (),
    month: 7,
    by: (),
    time: (),
    height: (),
    tx: (),
    links: (4, ()),
});

/// Longest revenue source code.
pub const REVENUE_SOURCE_MAX_BYTES: usize = 48;

impl Revenue {
    /// The value this entry has in `dimension`.
    pub fn value_in(&self, dimension: RevenueDimension) -> String {
        match dimension {
            RevenueDimension::All => String::new(),
            RevenueDimension::Agency => self.agency.clone(),
            RevenueDimension::Source => self.source.clone(),
            RevenueDimension::Month => self.month.clone(),
        }
    }

    /// The previous entry of the total in `dimension` (0 when this is its first).
    pub fn previous_in(&self, dimension: RevenueDimension) -> Option<u64> {
        self.links
            .iter()
            .find(|l| l.dimension == dimension)
            .map(|l| l.previous)
    }
}

/// A running total of money received in a year: overall, or for one agency, source or month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RevenueTotal {
    /// Fiscal year.
    pub year: u32,
    /// The dimension.
    pub dimension: RevenueDimension,
    /// Its value (agency id, source code, `YYYY-MM`; empty for the whole year).
    pub value: String,
    /// Currency of the amount.
    pub currency: Currency,
    /// Received, in minor units (128 bits: however many fees of whatever size the year's
    /// agencies record, the shared totals never overflow).
    pub received: u128,
    /// How many entries count in it.
    pub entries: u64,
    /// The number of the latest of them (0: none).
    pub last_entry: u64,
}
codec_struct!(RevenueTotal {
    year: (),
    dimension: (),
    value: 64,
    currency: (),
    received: (),
    entries: (),
    last_entry: (),
});

/// Key of a revenue entry.
pub fn revenue_key(year: u32, seq: u64) -> StateKey {
    let mut id = year.to_be_bytes().to_vec();
    id.extend_from_slice(&seq.to_be_bytes());
    StateKey::new(spaces::REVENUE, id)
}

/// Parses a revenue entry's text id, `2026/17`.
pub fn parse_revenue_id(id: &str) -> Option<(u32, u64)> {
    let (year, seq) = id.split_once('/')?;
    Some((year.parse().ok()?, seq.parse().ok()?))
}

/// The text id of a revenue total: `2026/all`, `2026/source/permit.business-licence`.
pub fn revenue_total_id(year: u32, dimension: RevenueDimension, value: &str) -> String {
    match dimension {
        RevenueDimension::All => format!("{year}/all"),
        other => format!("{year}/{}/{value}", other.as_str()),
    }
}

/// Key of a revenue total.
pub fn revenue_total_key(year: u32, dimension: RevenueDimension, value: &str) -> StateKey {
    StateKey::new(
        spaces::REVENUE_TOTAL,
        revenue_total_id(year, dimension, value).into_bytes(),
    )
}

/// Parses a revenue total's text id back into year, dimension and value.
pub fn parse_revenue_total_id(id: &str) -> Option<(u32, RevenueDimension, String)> {
    let mut parts = id.splitn(3, '/');
    let year = parts.next()?.parse().ok()?;
    let dimension = RevenueDimension::parse(parts.next()?)?;
    let value = parts.next().unwrap_or("").to_string();
    if (dimension == RevenueDimension::All) != value.is_empty() || value.len() > 64 {
        return None;
    }
    // One text per total: `02026/all` or `2026/all/` would prove the absence of another key.
    (revenue_total_id(year, dimension, &value) == id).then_some((year, dimension, value))
}

/// Key of the counters.
pub fn config_key() -> StateKey {
    StateKey::new(spaces::TREASURY_CONFIG, Vec::new())
}

/// Key of a fiscal year.
pub fn year_key(year: u32) -> StateKey {
    StateKey::new(spaces::FISCAL_YEAR, year.to_be_bytes().to_vec())
}

/// Key of a vendor.
pub fn vendor_key(account: &AccountId) -> StateKey {
    StateKey::new(spaces::VENDOR, account.0.to_vec())
}

/// Key of an appropriation.
pub fn appropriation_key(id: u64) -> StateKey {
    StateKey::new(spaces::APPROPRIATION, id.to_be_bytes().to_vec())
}

/// Key of a commitment.
pub fn commitment_key(id: u64) -> StateKey {
    StateKey::new(spaces::COMMITMENT, id.to_be_bytes().to_vec())
}

/// Key of a payment.
pub fn payment_key(id: u64) -> StateKey {
    StateKey::new(spaces::PAYMENT, id.to_be_bytes().to_vec())
}

/// Key of an entry.
pub fn entry_key(seq: u64) -> StateKey {
    StateKey::new(spaces::ENTRY, seq.to_be_bytes().to_vec())
}

/// The text id of a total: `2026/all`, `2026/agency/health`, `2026/month/2026-11`.
pub fn total_id(year: u32, dimension: Dimension, value: &str) -> String {
    match dimension {
        Dimension::All => format!("{year}/all"),
        other => format!("{year}/{}/{value}", other.as_str()),
    }
}

/// Key of a total.
pub fn total_key(year: u32, dimension: Dimension, value: &str) -> StateKey {
    StateKey::new(spaces::TOTAL, total_id(year, dimension, value).into_bytes())
}

/// Parses a total's text id back into year, dimension and value.
pub fn parse_total_id(id: &str) -> Option<(u32, Dimension, String)> {
    let mut parts = id.splitn(3, '/');
    let year = parts.next()?.parse().ok()?;
    let dimension = Dimension::parse(parts.next()?)?;
    let value = parts.next().unwrap_or("").to_string();
    if (dimension == Dimension::All) != value.is_empty() || value.len() > 64 {
        return None;
    }
    Some((year, dimension, value))
}

/// Loads the counters (defaults before the first use).
pub async fn load_config<S: StateView>(
    state: &mut Overlay<'_, S>,
) -> Result<TreasuryConfig, StateError> {
    Ok(state.get_typed(&config_key()).await?.unwrap_or_default())
}

/// The calendar month (`YYYY-MM`, UTC) of a time.
pub fn month_of(time: TimestampMs) -> String {
    let (year, month, ..) = time.civil();
    format!("{year:04}-{month:02}")
}

/// What a proof of a running total shows; an absent total is described generically.
fn describe_total(
    _id: &[u8],
    total: Option<&serde_json::Value>,
    at: &civitas_kit::space::At,
) -> Option<String> {
    let total = total?;
    let currency = total["currency"].as_str().unwrap_or("");
    let money = |figure: &str| {
        let amount = total["figures"][figure].as_u64().unwrap_or(0);
        match Currency::parse(currency) {
            Ok(c) => civitas_core::money::format_amount(amount, c),
            Err(_) => format!("{amount} (minor units)"),
        }
    };
    let scope = match total["dimension"].as_str() {
        Some("all") | None => "the whole fiscal year".to_string(),
        Some(dimension) => format!("{dimension} {}", total["value"].as_str().unwrap_or("")),
    };
    Some(format!(
        "fiscal year {} totals for {scope}: appropriated {}, allotted {}, committed {}, \
         paid {}, over {} entries (the latest is entry {}; each is provable) ({at})",
        total["year"],
        money("appropriated"),
        money("allotted"),
        money("committed"),
        money("paid"),
        total["entries"],
        total["last_entry"],
    ))
}

/// What a proof of a revenue total shows.
fn describe_revenue_total(
    _id: &[u8],
    total: Option<&serde_json::Value>,
    at: &civitas_kit::space::At,
) -> Option<String> {
    let total = total?;
    let amount = total["received"].as_u64().map(u128::from).unwrap_or(0);
    let received = match Currency::parse(total["currency"].as_str().unwrap_or("")) {
        Ok(c) => civitas_core::money::format_amount(amount, c),
        Err(_) => format!("{amount} (minor units)"),
    };
    let scope = match total["dimension"].as_str() {
        Some("all") | None => "the whole fiscal year".to_string(),
        Some(dimension) => format!("{dimension} {}", total["value"].as_str().unwrap_or("")),
    };
    Some(format!(
        "fiscal year {} money received for {scope}: {received}, over {} entries (the latest \
         is entry {}; each is provable) ({at})",
        total["year"], total["entries"], total["last_entry"],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_core::codec::{from_slice, to_vec};

    #[test]
    fn months() {
        assert_eq!(month_of(TimestampMs(0)), "1970-01");
        // 2026-11-22T03:00:00Z
        assert_eq!(month_of(TimestampMs(1_795_316_400_000)), "2026-11");
        // 2024-02-29T23:59:59.999Z and the next millisecond.
        assert_eq!(month_of(TimestampMs(1_709_251_199_999)), "2024-02");
        assert_eq!(month_of(TimestampMs(1_709_251_200_000)), "2024-03");
        assert_eq!(month_of(TimestampMs(1_735_689_599_999)), "2024-12");
        assert_eq!(month_of(TimestampMs(1_735_689_600_000)), "2025-01");
    }

    #[test]
    fn total_ids_round_trip() {
        for (dimension, value) in [
            (Dimension::All, ""),
            (Dimension::Agency, "health"),
            (Dimension::Month, "2026-11"),
        ] {
            let id = total_id(2026, dimension, value);
            assert_eq!(
                parse_total_id(&id),
                Some((2026, dimension, value.to_string()))
            );
        }
        assert_eq!(parse_total_id("2026/all/x"), None);
        assert_eq!(parse_total_id("2026/agency"), None);
        assert_eq!(parse_total_id("2026/nope/x"), None);
    }

    #[test]
    fn records_round_trip() {
        let total = Total {
            year: 2026,
            dimension: Dimension::Vendor,
            value: "ab".repeat(32),
            currency: Currency::parse("EUR").unwrap(),
            figures: Figures {
                appropriated: 0,
                allotted: 0,
                committed: 5,
                paid: 3,
            },
            entries: 2,
            last_entry: 9,
        };
        assert_eq!(from_slice::<Total>(&to_vec(&total), &()).unwrap(), total);
    }
}
