//! Treasury's part of the read model: every money movement (entry) by kind, vendor, agency,
//! year and time, so that payments to a vendor in a period, a year's vendors and a year's
//! entries are found without walking the ledger. The figures themselves (totals, with their
//! proofs) stay on the ledger.

use civitas_core::crypto::AccountId;
use civitas_core::event::Event;
use civitas_core::money::Currency;
use civitas_core::treasury::TreasuryEvent;
use civitas_kit::index::query::{
    AnyRow, Keyed, Listing, Order, Page, Snapshot, int, optional_int, optional_text, text,
};
use civitas_kit::index::{Context, IndexError, Rows, Value};
use serde::Serialize;

/// Treasury's tables.
pub const TABLES: &[&str] = &["treasury_entries", "treasury_revenue"];

/// Their migrations.
pub const MIGRATIONS: &[&str] = &[
    // 1: entries.
    "CREATE TABLE treasury_entries (
        entry BIGINT PRIMARY KEY,
        kind TEXT NOT NULL,
        year BIGINT NOT NULL,
        agency TEXT NOT NULL,
        appropriation BIGINT NOT NULL,
        commitment BIGINT,
        payment BIGINT,
        vendor TEXT,
        amount BIGINT NOT NULL,
        currency TEXT NOT NULL,
        decrease BIGINT NOT NULL,
        height BIGINT NOT NULL,
        timestamp_ms BIGINT NOT NULL,
        tx TEXT NOT NULL
    );
    CREATE INDEX treasury_entries_by_year ON treasury_entries (year, entry);
    CREATE INDEX treasury_entries_by_vendor ON treasury_entries (vendor, entry);
    CREATE INDEX treasury_entries_by_agency ON treasury_entries (agency, entry);
    CREATE INDEX treasury_entries_by_kind ON treasury_entries (kind, entry);
    CREATE INDEX treasury_entries_by_time ON treasury_entries (timestamp_ms, entry);
    CREATE INDEX treasury_entries_year_vendors ON treasury_entries (year, vendor);
    CREATE INDEX treasury_entries_year_appropriations ON treasury_entries (year, appropriation);",
    // 2: money received.
    "CREATE TABLE treasury_revenue (
        year BIGINT NOT NULL,
        entry BIGINT NOT NULL,
        agency TEXT NOT NULL,
        source TEXT NOT NULL,
        amount BIGINT NOT NULL,
        currency TEXT NOT NULL,
        height BIGINT NOT NULL,
        timestamp_ms BIGINT NOT NULL,
        tx TEXT NOT NULL,
        PRIMARY KEY (year, entry)
    );
    CREATE INDEX treasury_revenue_by_agency ON treasury_revenue (agency, year, entry);
    CREATE INDEX treasury_revenue_by_source ON treasury_revenue (source, year, entry);",
];

/// What a treasury event writes.
pub fn project(ctx: &Context<'_>, event: &Event, rows: &mut Rows) {
    if let Event::Treasury(TreasuryEvent::RevenueReceived {
        year,
        entry,
        agency,
        source,
        amount,
    }) = event
    {
        rows.push(
            "INSERT INTO treasury_revenue (year, entry, agency, source, amount, currency, \
             height, timestamp_ms, tx) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (year, entry) DO NOTHING",
            [
                (*year).into(),
                (*entry).into(),
                agency.into(),
                source.into(),
                amount.amount.into(),
                amount.currency.as_str().into(),
                ctx.height.into(),
                ctx.timestamp.0.into(),
                ctx.tx_hash.into(),
            ],
        );
        return;
    }
    let Event::Treasury(TreasuryEvent::TreasuryEntry {
        entry,
        kind,
        year,
        appropriation,
        commitment,
        payment,
        vendor,
        agency,
        amount,
        decrease,
    }) = event
    else {
        return;
    };
    rows.push(
        "INSERT INTO treasury_entries (entry, kind, year, agency, appropriation, commitment, \
         payment, vendor, amount, currency, decrease, height, timestamp_ms, tx) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (entry) DO NOTHING",
        [
            (*entry).into(),
            kind.as_str().into(),
            (*year).into(),
            agency.into(),
            (*appropriation).into(),
            Value::int(*commitment),
            Value::int(*payment),
            Value::text(vendor.as_ref()),
            amount.amount.into(),
            amount.currency.as_str().into(),
            (*decrease).into(),
            ctx.height.into(),
            ctx.timestamp.0.into(),
            ctx.tx_hash.into(),
        ],
    );
}

/// An entry in a list.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct EntryItem {
    /// Its number (entries are numbered in the order they happened).
    pub entry: u64,
    /// What moved: `appropriated`, `allotted`, `committed`, `paid`, `payment_reversed`, ….
    pub kind: String,
    /// The fiscal year.
    pub year: u64,
    /// The agency.
    pub agency: String,
    /// The appropriation it counts against.
    pub appropriation: u64,
    /// The commitment, for commitments and payments.
    pub commitment: Option<u64>,
    /// The payment, for payments and their reversals.
    pub payment: Option<u64>,
    /// The vendor, for commitments and payments.
    pub vendor: Option<String>,
    /// Minor units.
    pub amount: u64,
    /// ISO 4217 code.
    pub currency: String,
    /// The amount written out, such as `1200.00 EUR`.
    pub amount_text: String,
    /// Whether it lowers the figure (an adjustment down, a reversal).
    pub decrease: bool,
    /// The block that recorded it.
    pub height: u64,
    /// That block's time (milliseconds since 1970).
    pub timestamp_ms: u64,
    /// The transaction that recorded it.
    pub tx: String,
    /// The proof bundle of the entry's record.
    pub proof_bundle: String,
}

impl Keyed for EntryItem {
    fn read(row: &AnyRow) -> Result<Self, IndexError> {
        let entry = int(row, "entry")?;
        let amount = int(row, "amount")?;
        let currency = text(row, "currency")?;
        let amount_text = Currency::parse(&currency)
            .map(|c| civitas_core::money::format_amount(amount, c))
            .map_err(|_| IndexError::Database(format!("an entry's currency {currency:?}")))?;
        Ok(Self {
            entry,
            kind: text(row, "kind")?,
            year: int(row, "year")?,
            agency: text(row, "agency")?,
            appropriation: int(row, "appropriation")?,
            commitment: optional_int(row, "commitment")?,
            payment: optional_int(row, "payment")?,
            vendor: optional_text(row, "vendor")?,
            amount,
            currency,
            amount_text,
            decrease: int(row, "decrease")? != 0,
            height: int(row, "height")?,
            timestamp_ms: int(row, "timestamp_ms")?,
            tx: text(row, "tx")?,
            proof_bundle: format!("/v1/proofs/state/treasury/entry/{entry}"),
        })
    }

    fn key(&self) -> Vec<u64> {
        vec![self.entry]
    }
}

/// Which entries to list.
#[derive(Default)]
pub struct EntryFilter {
    /// Of this kind.
    pub kind: Option<String>,
    /// Of this fiscal year.
    pub year: Option<u32>,
    /// Of this agency.
    pub agency: Option<String>,
    /// To this vendor.
    pub vendor: Option<AccountId>,
    /// Recorded at or after this time (milliseconds since 1970).
    pub from_ms: Option<u64>,
    /// Recorded before this time.
    pub to_ms: Option<u64>,
}

/// A page of entries, by number.
pub async fn entries(
    snapshot: &mut Snapshot,
    filter: &EntryFilter,
    order: Order,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<EntryItem>, IndexError> {
    let mut listing = Listing {
        from: "treasury_entries",
        filter: "1 = 1".into(),
        values: Vec::new(),
        columns: "entry, kind, year, agency, appropriation, commitment, payment, vendor, \
                  amount, currency, decrease, height, timestamp_ms, tx",
        key: &["entry"],
    };
    if let Some(kind) = &filter.kind {
        listing.and("kind = {}", kind.into());
    }
    if let Some(year) = filter.year {
        listing.and("year = {}", year.into());
    }
    if let Some(agency) = &filter.agency {
        listing.and("agency = {}", agency.into());
    }
    if let Some(vendor) = &filter.vendor {
        listing.and("vendor = {}", vendor.into());
    }
    // Entries are numbered in the order their blocks were made, and block times only grow:
    // a period is a range of entry numbers, found from the time index.
    if let Some(from) = filter.from_ms {
        listing.and(
            "entry >= (SELECT MIN(entry) FROM treasury_entries WHERE timestamp_ms >= {})",
            from.into(),
        );
    }
    if let Some(to) = filter.to_ms {
        listing.and(
            "entry < COALESCE((SELECT MIN(entry) FROM treasury_entries WHERE timestamp_ms >= {}), \
             9223372036854775807)",
            to.into(),
        );
    }
    snapshot.page(&listing, order, cursor, limit).await
}

/// Most vendors or appropriations of a year a breakdown reads.
pub const YEAR_VALUES_MAX: u32 = 100_000;

/// The vendors paid or committed to in a fiscal year (the first [`YEAR_VALUES_MAX`] by id).
pub async fn vendors_of(snapshot: &mut Snapshot, year: u32) -> Result<Vec<String>, IndexError> {
    let rows = snapshot
        .fetch(
            "SELECT DISTINCT vendor FROM treasury_entries WHERE year = $1 AND vendor IS NOT NULL \
             ORDER BY vendor LIMIT $2",
            &[year.into(), YEAR_VALUES_MAX.into()],
        )
        .await?;
    rows.iter().map(|row| text(row, "vendor")).collect()
}

/// The appropriations of a fiscal year, by number (the first [`YEAR_VALUES_MAX`]).
pub async fn appropriations_of(snapshot: &mut Snapshot, year: u32) -> Result<Vec<u64>, IndexError> {
    let rows = snapshot
        .fetch(
            "SELECT DISTINCT appropriation FROM treasury_entries WHERE year = $1 \
             ORDER BY appropriation LIMIT $2",
            &[year.into(), YEAR_VALUES_MAX.into()],
        )
        .await?;
    rows.iter().map(|row| int(row, "appropriation")).collect()
}

/// Money received, in a list.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct RevenueItem {
    /// The fiscal year.
    pub year: u64,
    /// The entry's number within the year.
    pub entry: u64,
    /// The receiving agency.
    pub agency: String,
    /// Where the money comes from, such as `permit.business-licence`.
    pub source: String,
    /// Minor units.
    pub amount: u64,
    /// ISO 4217 code.
    pub currency: String,
    /// The amount written out, such as `120.00 EUR`.
    pub amount_text: String,
    /// The block that recorded it.
    pub height: u64,
    /// That block's time (milliseconds since 1970).
    pub timestamp_ms: u64,
    /// The transaction that recorded it.
    pub tx: String,
    /// The proof bundle of the entry's record.
    pub proof_bundle: String,
}

impl Keyed for RevenueItem {
    fn read(row: &AnyRow) -> Result<Self, IndexError> {
        let year = int(row, "year")?;
        let entry = int(row, "entry")?;
        let amount = int(row, "amount")?;
        let currency = text(row, "currency")?;
        let amount_text = Currency::parse(&currency)
            .map(|c| civitas_core::money::format_amount(amount, c))
            .map_err(|_| IndexError::Database(format!("a revenue currency {currency:?}")))?;
        Ok(Self {
            year,
            entry,
            agency: text(row, "agency")?,
            source: text(row, "source")?,
            amount,
            currency,
            amount_text,
            height: int(row, "height")?,
            timestamp_ms: int(row, "timestamp_ms")?,
            tx: text(row, "tx")?,
            proof_bundle: format!("/v1/proofs/state/treasury/revenue/{year}/{entry}"),
        })
    }

    fn key(&self) -> Vec<u64> {
        vec![self.entry]
    }
}

/// A page of one year's money received, by number, of one agency or source if given.
pub async fn revenue(
    snapshot: &mut Snapshot,
    year: u32,
    agency: Option<&str>,
    source: Option<&str>,
    order: Order,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<RevenueItem>, IndexError> {
    let mut listing = Listing {
        from: "treasury_revenue",
        filter: "1 = 1".into(),
        values: Vec::new(),
        columns: "year, entry, agency, source, amount, currency, height, timestamp_ms, tx",
        key: &["entry"],
    };
    listing.and("year = {}", year.into());
    if let Some(agency) = agency {
        listing.and("agency = {}", agency.into());
    }
    if let Some(source) = source {
        listing.and("source = {}", source.into());
    }
    snapshot.page(&listing, order, cursor, limit).await
}

/// Most agencies or sources a year's money received is broken down by (each total is read
/// from the ledger).
pub const REVENUE_VALUES_MAX: u32 = 500;

/// The agencies (`column` `agency`) or sources (`source`) that received money in a fiscal
/// year (the first [`REVENUE_VALUES_MAX`] by name).
pub async fn revenue_values(
    snapshot: &mut Snapshot,
    year: u32,
    column: RevenueColumn,
) -> Result<Vec<String>, IndexError> {
    let sql = match column {
        RevenueColumn::Agency => {
            "SELECT DISTINCT agency AS value FROM treasury_revenue WHERE year = $1 \
             ORDER BY value LIMIT $2"
        }
        RevenueColumn::Source => {
            "SELECT DISTINCT source AS value FROM treasury_revenue WHERE year = $1 \
             ORDER BY value LIMIT $2"
        }
    };
    let rows = snapshot
        .fetch(sql, &[year.into(), REVENUE_VALUES_MAX.into()])
        .await?;
    rows.iter().map(|row| text(row, "value")).collect()
}

/// A column of money received that totals are kept by.
#[derive(Clone, Copy)]
pub enum RevenueColumn {
    /// The receiving agency.
    Agency,
    /// The source.
    Source,
}
