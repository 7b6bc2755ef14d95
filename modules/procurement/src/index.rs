//! Procurement's part of the read model: tenders by stage, agency and vendor, and each
//! bidder's bids.

use civitas_core::Instruction;
use civitas_core::crypto::AccountId;
use civitas_core::event::Event;
use civitas_core::money::Currency;
use civitas_core::procurement::{ProcurementEvent, ProcurementInstruction};
use civitas_kit::index::query::{
    AnyRow, Keyed, Listing, Order, Page, Snapshot, int, optional_int, optional_text, text,
};
use civitas_kit::index::{Context, IndexError, Rows};
use civitas_treasury::routes::{MoneyView, money_view};
use serde::Serialize;

/// Procurement's tables.
pub const TABLES: &[&str] = &["procurement_tenders", "procurement_bids"];

/// Their migrations.
pub const MIGRATIONS: &[&str] = &[
    // 1: tenders as they stand, and bids.
    "CREATE TABLE procurement_tenders (
        tender BIGINT PRIMARY KEY,
        agency TEXT NOT NULL,
        title TEXT NOT NULL,
        method TEXT NOT NULL,
        stage TEXT NOT NULL,
        estimated BIGINT NOT NULL,
        currency TEXT NOT NULL,
        deadline_ms BIGINT,
        bids BIGINT NOT NULL,
        awarded_to TEXT,
        award_value BIGINT,
        signals BIGINT NOT NULL,
        contract BIGINT,
        planned_height BIGINT NOT NULL,
        updated_height BIGINT NOT NULL
    );
    CREATE INDEX procurement_tenders_by_stage ON procurement_tenders (stage, tender);
    CREATE INDEX procurement_tenders_by_agency ON procurement_tenders (agency, tender);
    CREATE INDEX procurement_tenders_by_vendor ON procurement_tenders (awarded_to, tender);
    CREATE TABLE procurement_bids (
        bidder TEXT NOT NULL,
        tender BIGINT NOT NULL,
        submitted_height BIGINT NOT NULL,
        opened_height BIGINT,
        price BIGINT,
        PRIMARY KEY (bidder, tender)
    );",
];

/// The method of the planned tender the event at `ctx.seq` reports: a transaction's `plan`
/// instructions each report exactly one `TenderPlanned`, in order, and a transaction applies
/// whole or not at all, so the k-th such event is the k-th `plan`.
fn method_of(ctx: &Context<'_>) -> &'static str {
    let k = ctx
        .events
        .iter()
        .take(ctx.seq as usize)
        .filter(|e| {
            matches!(
                e,
                Event::Procurement(ProcurementEvent::TenderPlanned { .. })
            )
        })
        .count();
    ctx.tx
        .into_iter()
        .flat_map(|tx| &tx.body.instructions)
        .filter_map(|instruction| match instruction {
            Instruction::Procurement(ProcurementInstruction::Plan { method, .. }) => {
                Some(method.ocds())
            }
            _ => None,
        })
        .nth(k)
        .unwrap_or("unknown")
}

/// What a procurement event writes.
pub fn project(ctx: &Context<'_>, event: &Event, rows: &mut Rows) {
    let Event::Procurement(event) = event else {
        return;
    };
    let at = ctx.height;
    match event {
        ProcurementEvent::TenderPlanned {
            tender,
            agency,
            title,
            estimated,
        } => rows.push(
            "INSERT INTO procurement_tenders (tender, agency, title, method, stage, estimated, \
             currency, bids, signals, planned_height, updated_height) \
             VALUES ($1, $2, $3, $4, 'planned', $5, $6, 0, 0, $7, $7) \
             ON CONFLICT (tender) DO NOTHING",
            [
                (*tender).into(),
                agency.into(),
                title.into(),
                method_of(ctx).into(),
                estimated.amount.into(),
                estimated.currency.as_str().into(),
                at.into(),
            ],
        ),
        ProcurementEvent::TenderPublished { tender, deadline } => rows.push(
            "UPDATE procurement_tenders SET stage = 'tendering', deadline_ms = $1, \
             updated_height = $2 WHERE tender = $3",
            [deadline.0.into(), at.into(), (*tender).into()],
        ),
        ProcurementEvent::BidSubmitted { tender, bidder, .. } => {
            // A bidder may replace its sealed bid before the deadline: one bid each.
            rows.push(
                "INSERT INTO procurement_bids (bidder, tender, submitted_height) \
                 VALUES ($1, $2, $3) ON CONFLICT (bidder, tender) DO UPDATE SET \
                 submitted_height = excluded.submitted_height, opened_height = NULL, \
                 price = NULL",
                [bidder.into(), (*tender).into(), at.into()],
            );
            rows.push(
                "UPDATE procurement_tenders SET updated_height = $1, \
                 bids = (SELECT COUNT(*) FROM procurement_bids b WHERE b.tender = $2) \
                 WHERE tender = $2",
                [at.into(), (*tender).into()],
            );
        }
        ProcurementEvent::BidOpened {
            tender,
            bidder,
            price,
        } => rows.push(
            "UPDATE procurement_bids SET opened_height = $1, price = $2 \
             WHERE bidder = $3 AND tender = $4",
            [
                at.into(),
                price.amount.into(),
                bidder.into(),
                (*tender).into(),
            ],
        ),
        ProcurementEvent::TenderAwarded {
            tender,
            bidder,
            value,
            ..
        } => rows.push(
            "UPDATE procurement_tenders SET stage = 'awarded', awarded_to = $1, \
             award_value = $2, updated_height = $3 WHERE tender = $4",
            [
                bidder.into(),
                value.amount.into(),
                at.into(),
                (*tender).into(),
            ],
        ),
        ProcurementEvent::IntegritySignal { tender, .. } => rows.push(
            "UPDATE procurement_tenders SET signals = signals + 1, updated_height = $1 \
             WHERE tender = $2",
            [at.into(), (*tender).into()],
        ),
        ProcurementEvent::ContractSigned {
            contract,
            tender,
            vendor,
            ..
        } => rows.push(
            "UPDATE procurement_tenders SET stage = 'contracted', contract = $1, \
             awarded_to = $2, updated_height = $3 WHERE tender = $4",
            [
                (*contract).into(),
                vendor.into(),
                at.into(),
                (*tender).into(),
            ],
        ),
        ProcurementEvent::TenderCancelled { tender } => rows.push(
            "UPDATE procurement_tenders SET stage = 'cancelled', updated_height = $1 \
             WHERE tender = $2",
            [at.into(), (*tender).into()],
        ),
        ProcurementEvent::TenderClarified { .. }
        | ProcurementEvent::BidEvaluated { .. }
        | ProcurementEvent::ComplaintFiled { .. }
        | ProcurementEvent::MilestoneAccepted { .. }
        | ProcurementEvent::ContractAmended { .. }
        | ProcurementEvent::ReleaseImported { .. } => {}
    }
}

/// An award in a list of tenders.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AwardItem {
    /// The winning bidder (the vendor, once the contract is signed).
    pub bidder: AccountId,
    /// The awarded value.
    pub value: MoneyView,
}

/// A tender in a list.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct TenderItem {
    /// Its number.
    pub id: u64,
    /// Its title.
    pub title: String,
    /// The buying agency.
    pub agency: String,
    /// Its stage: `planned`, `tendering`, `awarded`, `contracted` or `cancelled`.
    pub stage: String,
    /// Its procurement method, as OCDS names it.
    pub method: String,
    /// The estimated value.
    pub estimated: MoneyView,
    /// The bid deadline (milliseconds since 1970), once published.
    pub deadline_ms: Option<u64>,
    /// How many bids it received.
    pub bids: u64,
    /// The award, once made.
    pub award: Option<AwardItem>,
    /// How many integrity signals its award raised.
    pub signals: u64,
    /// The contract's number, once signed.
    pub contract: Option<u64>,
    /// The tender with its bids and contract (and their proofs).
    pub link: String,
}

fn money(amount: u64, currency: &str) -> Result<MoneyView, IndexError> {
    let currency = Currency::parse(currency)
        .map_err(|_| IndexError::Database(format!("a tender's currency {currency:?}")))?;
    Ok(money_view(amount, currency))
}

impl Keyed for TenderItem {
    fn read(row: &AnyRow) -> Result<Self, IndexError> {
        let id = int(row, "tender")?;
        let currency = text(row, "currency")?;
        let award = match (
            optional_text(row, "awarded_to")?,
            optional_int(row, "award_value")?,
        ) {
            (Some(bidder), Some(value)) => match AccountId::from_hex(&bidder) {
                Ok(bidder) => Some(AwardItem {
                    bidder,
                    value: money(value, &currency)?,
                }),
                Err(_) => None,
            },
            _ => None,
        };
        Ok(Self {
            id,
            title: text(row, "title")?,
            agency: text(row, "agency")?,
            stage: text(row, "stage")?,
            method: text(row, "method")?,
            estimated: money(int(row, "estimated")?, &currency)?,
            deadline_ms: optional_int(row, "deadline_ms")?,
            bids: int(row, "bids")?,
            award,
            signals: int(row, "signals")?,
            contract: optional_int(row, "contract")?,
            link: format!("/v1/procurement/tenders/{id}"),
        })
    }

    fn key(&self) -> Vec<u64> {
        vec![self.id]
    }
}

/// Which tenders to list.
#[derive(Default)]
pub struct TenderFilter {
    /// At this stage.
    pub stage: Option<String>,
    /// Of this agency.
    pub agency: Option<String>,
    /// Awarded (or contracted) to this vendor.
    pub vendor: Option<AccountId>,
    /// On which this account bid.
    pub bidder: Option<AccountId>,
}

const TENDER_COLUMNS: &str = "t.tender AS tender, t.agency AS agency, t.title AS title, \
    t.method AS method, t.stage AS stage, t.estimated AS estimated, t.currency AS currency, \
    t.deadline_ms AS deadline_ms, t.bids AS bids, t.awarded_to AS awarded_to, \
    t.award_value AS award_value, t.signals AS signals, t.contract AS contract";

/// A page of tenders, by number.
pub async fn tenders(
    snapshot: &mut Snapshot,
    filter: &TenderFilter,
    order: Order,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<TenderItem>, IndexError> {
    let mut listing = Listing {
        from: "procurement_tenders t",
        filter: "1 = 1".into(),
        values: Vec::new(),
        columns: TENDER_COLUMNS,
        key: &["t.tender"],
    };
    if let Some(stage) = &filter.stage {
        listing.and("t.stage = {}", stage.into());
    }
    if let Some(agency) = &filter.agency {
        listing.and("t.agency = {}", agency.into());
    }
    if let Some(vendor) = &filter.vendor {
        listing.and("t.awarded_to = {}", vendor.into());
    }
    if let Some(bidder) = &filter.bidder {
        listing.and(
            "EXISTS (SELECT 1 FROM procurement_bids b WHERE b.tender = t.tender AND b.bidder = {})",
            bidder.into(),
        );
    }
    snapshot.page(&listing, order, cursor, limit).await
}
