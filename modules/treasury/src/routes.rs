//! Treasury's routes: fiscal years, totals by agency, programme, classification, vendor and
//! month with the entries behind each, the records, and spending exports in a Fiscal Data
//! Package layout.
//!
//! Every figure is a state value: its proof bundle is at `/v1/proofs/state/<space>/<id>`, and
//! each answer names that address. Lists walk the ledger's own links (an entry points to the
//! previous entry of each total it counts in), so the records behind a total are exactly those
//! it counts.

use crate::state::{
    Appropriation, Commitment, Dimension, Entry, FiscalYear, Payment, Total, Vendor,
    appropriation_key, commitment_key, entry_key, figure_slot, parse_total_id, payment_key,
    total_id, total_key, vendor_key, year_key,
};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use civitas_core::bundle::StateKey;
use civitas_core::crypto::AccountId;
use civitas_core::hash::Hash32;
use civitas_core::money::{Currency, format_amount};
use civitas_kit::http::{
    ApiError, ErrorBody, ListQuery, Page, PageQuery, WithProof, account_query, listed, must,
    name_query, parse_number, record, snapshot,
};
use civitas_kit::ledger::Ledger;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Most records an export or a breakdown reads.
pub const EXPORT_MAX: u64 = 100_000;

/// Treasury's routes.
pub fn routes() -> OpenApiRouter<Ledger> {
    civitas_kit::http::router(
        "treasury",
        "Public money: budgets, commitments, payments, totals and exports.",
    )
    .routes(routes!(year))
    .routes(routes!(total))
    .routes(routes!(breakdown))
    .routes(routes!(appropriation))
    .routes(routes!(commitment))
    .routes(routes!(payment))
    .routes(routes!(entries))
    .routes(routes!(entry))
    .routes(routes!(vendor))
    .routes(routes!(export))
    .routes(routes!(crate::revenue::revenue_year))
    .routes(routes!(crate::revenue::revenue_entries))
    .routes(routes!(crate::revenue::revenue_entry))
}

pub(crate) fn parse_year(text: &str) -> Result<u32, ApiError> {
    text.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "the year must be a number such as 2026; got {text:?}"
        ))
    })
}

fn parse_account(text: &str) -> Result<AccountId, ApiError> {
    Hash32::from_hex(text)
        .map(|h| AccountId(h.0))
        .map_err(|_| ApiError::bad_request("an account id is 64 hexadecimal characters"))
}

/// An amount: minor units, currency and the amount written out.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct MoneyView {
    /// Minor units (cents).
    pub amount: u64,
    /// ISO 4217 code.
    pub currency: Currency,
    /// The amount written out, such as `1200.00 EUR`.
    pub text: String,
}

/// An amount as shown: minor units, currency and the amount written out.
pub fn money_view(amount: u64, currency: Currency) -> MoneyView {
    MoneyView {
        amount,
        currency,
        text: format_amount(amount, currency),
    }
}

/// A total as shown: its four figures and what is left to commit, each written out.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct TotalView {
    /// Fiscal year.
    pub year: u32,
    /// The dimension.
    pub dimension: Dimension,
    /// Its value (agency id, code, vendor account hex, `YYYY-MM`; empty for the whole year).
    pub value: String,
    /// Currency of the figures.
    pub currency: Currency,
    /// Adopted budget, after adjustments.
    pub appropriated: MoneyView,
    /// Released for commitment.
    pub allotted: MoneyView,
    /// Committed to vendors.
    pub committed: MoneyView,
    /// Paid out.
    pub paid: MoneyView,
    /// Allotted but not yet committed.
    pub available_to_commit: MoneyView,
    /// How many entries count in it.
    pub entries: u64,
    /// The latest of them (0: none).
    pub last_entry: u64,
}

/// `total`, stored at `key`, as shown.
fn total_view(ledger: &Ledger, total: &Total, key: &StateKey) -> WithProof<TotalView> {
    let f = total.figures;
    let c = total.currency;
    let view = TotalView {
        year: total.year,
        dimension: total.dimension,
        value: total.value.clone(),
        currency: c,
        appropriated: money_view(f.appropriated, c),
        allotted: money_view(f.allotted, c),
        committed: money_view(f.committed, c),
        paid: money_view(f.paid, c),
        available_to_commit: money_view(f.allotted.saturating_sub(f.committed), c),
        entries: total.entries,
        last_entry: total.last_entry,
    };
    WithProof::new(ledger, view, key)
}

/// An entry as shown in a list: the record, its amount written out and its date.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct EntryView {
    /// The entry.
    #[serde(flatten)]
    pub entry: Entry,
    /// The amount written out, such as `1200.00 EUR`.
    pub amount_text: String,
    /// Its block time, RFC 3339 (UTC).
    pub date: String,
}

fn entry_view(ledger: &Ledger, entry: Entry) -> WithProof<EntryView> {
    let key = entry_key(entry.seq);
    let view = EntryView {
        amount_text: entry.amount.to_string(),
        date: entry.time.rfc3339(),
        entry,
    };
    WithProof::new(ledger, view, &key)
}

/// A fiscal year and its overall total.
#[derive(Serialize, utoipa::ToSchema)]
pub struct YearView {
    /// The year's record.
    pub year: WithProof<FiscalYear>,
    /// Its overall total; null until money is appropriated.
    pub total: Option<WithProof<TotalView>>,
}

/// Each figure's sum over the records of a total, in minor units (signed, as text).
#[derive(Serialize, utoipa::ToSchema)]
pub struct FigureSums {
    /// Sum of appropriations and their adjustments.
    pub appropriated: String,
    /// Sum of allotments.
    pub allotted: String,
    /// Sum of commitments and their adjustments.
    pub committed: String,
    /// Sum of payments, less reversals.
    pub paid: String,
}

/// A total and the entries behind it, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TotalPage {
    /// The total.
    pub total: WithProof<TotalView>,
    /// Entries counting in it, newest first.
    pub records: Vec<WithProof<EntryView>>,
    /// Whether older entries remain.
    pub more: bool,
    /// Ask again with `before` set to this for the next page; null on the last.
    pub next_before: Option<u64>,
    /// Each figure's sum over the records, present when every record was listed: they equal
    /// the total's figures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records_sum: Option<FigureSums>,
}

/// Every total of one dimension in a year.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Breakdown {
    /// The year.
    pub year: u32,
    /// The dimension.
    pub dimension: Dimension,
    /// Its totals, by value.
    pub totals: Vec<WithProof<TotalView>>,
}

/// Each of an appropriation's figures written out, such as `1200.00 EUR`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FigureTexts {
    /// Adopted budget, after adjustments.
    pub appropriated: String,
    /// Released for commitment.
    pub allotted: String,
    /// Committed to vendors.
    pub committed: String,
    /// Paid out.
    pub paid: String,
}

/// An appropriation with its figures written out.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AppropriationView {
    /// The appropriation.
    #[serde(flatten)]
    pub appropriation: Appropriation,
    /// Its figures written out.
    pub text: FigureTexts,
}

#[utoipa::path(
    get,
    path = "/v1/treasury/years/{year}",
    operation_id = "getFiscalYear",
    tag = "treasury",
    summary = "A fiscal year and its overall total",
    params(
        ("year" = u64, Path, description = "The year, such as 2026."),
    ),
    responses(
        (status = 200, description = "The year's record and total, each with its proof bundle address.", body = YearView),
        (status = 404, description = "The year was never opened.", body = ErrorBody),
    )
)]
pub async fn year(
    State(ledger): State<Ledger>,
    Path(year): Path<String>,
) -> Result<Json<YearView>, ApiError> {
    let year = parse_year(&year)?;
    let key = year_key(year);
    let record: FiscalYear = must(
        &ledger,
        key.clone(),
        format!("fiscal year {year} has not been opened"),
    )
    .await?;
    let total = ledger
        .value::<Total>(total_key(year, Dimension::All, ""))
        .await?;
    Ok(Json(YearView {
        year: WithProof::new(&ledger, record, &key),
        total: total.map(|t| total_view(&ledger, &t, &total_key(year, Dimension::All, ""))),
    }))
}

/// `GET /v1/treasury/totals/{year}` or `/v1/treasury/totals/{year}/{dimension}/{value}`: the
/// total with its proof address, and the entries behind it, newest first.
#[utoipa::path(
    get,
    path = "/v1/treasury/totals/{*path}",
    operation_id = "getTotal",
    tag = "treasury",
    summary = "A total of a year, overall or by agency, programme, classification, vendor or month, and the entries behind it",
    params(
        ("path" = String, Path, description = "`<year>` for the year's total, or `<year>/<dimension>/<value>` for one agency, programme, classification, vendor (account id, hex) or month (`YYYY-MM`)."),
        ListQuery,
    ),
    responses(
        (status = 200, description = "`total` (a Total), `records` (entries, newest first, each with its proof bundle address), `more`, `next_before`, and `records_sum` (each figure's sum over the records, when all were listed).", body = TotalPage),
        (status = 400, description = "Not a year, or an unknown dimension.", body = ErrorBody),
        (status = 404, description = "Nothing recorded for it.", body = ErrorBody),
    )
)]
pub async fn total(
    State(ledger): State<Ledger>,
    Path(path): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Json<TotalPage>, ApiError> {
    let path = path.trim_matches('/');
    let id = if path.contains('/') {
        path.to_string()
    } else {
        format!("{path}/all")
    };
    let Some((year, dimension, value)) = parse_total_id(&id) else {
        return Err(ApiError::bad_request(format!(
            "expected /v1/treasury/totals/<year> or /v1/treasury/totals/<year>/<dimension>/<value> \
             with dimension agency, programme, classification, vendor or month; got {path:?}"
        )));
    };
    let key = total_key(year, dimension, &value);
    let total: Total = must(
        &ledger,
        key.clone(),
        format!(
            "nothing has been recorded for {}",
            total_id(year, dimension, &value)
        ),
    )
    .await?;
    let limit = query.limit();
    let mut next = match query.before {
        Some(before) => {
            // Start at the newest entry of this total below `before`.
            let mut seq = total.last_entry;
            while seq >= before && seq != 0 {
                let entry: Entry =
                    must(&ledger, entry_key(seq), format!("entry {seq} is missing")).await?;
                seq = entry.previous_in(dimension).unwrap_or(0);
            }
            seq
        }
        None => total.last_entry,
    };
    let mut records = Vec::new();
    let mut sums = [0i128; 4];
    while next != 0 && records.len() < limit {
        let entry: Entry =
            must(&ledger, entry_key(next), format!("entry {next} is missing")).await?;
        sums[figure_slot(entry.kind)] += entry.signed_amount();
        next = entry.previous_in(dimension).unwrap_or(0);
        records.push(entry_view(&ledger, entry));
    }
    // When every record was listed, their sums are the total's figures.
    let complete = next == 0 && query.before.is_none();
    Ok(Json(TotalPage {
        total: total_view(&ledger, &total, &key),
        records,
        more: next != 0,
        next_before: (next != 0).then_some(next + 1),
        records_sum: complete.then(|| FigureSums {
            appropriated: sums[0].to_string(),
            allotted: sums[1].to_string(),
            committed: sums[2].to_string(),
            paid: sums[3].to_string(),
        }),
    }))
}

/// The appropriations of fiscal year `year`, from the read model.
async fn year_appropriations(ledger: &Ledger, year: u32) -> Result<Vec<u64>, ApiError> {
    let mut snapshot = snapshot(ledger).await?;
    let ids = crate::index::appropriations_of(&mut snapshot, year).await?;
    snapshot.finish().await?;
    Ok(ids)
}

/// `?kind=&year=&agency=&vendor=&from=&to=`.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EntriesQuery {
    /// Only entries of this kind (`paid` for payments).
    #[param(
        pattern = "^(appropriated|appropriation_adjusted|allotted|committed|commitment_adjusted|paid|payment_reversed)$"
    )]
    pub kind: Option<String>,
    /// Only entries of this fiscal year.
    pub year: Option<u32>,
    /// Only entries of this agency.
    pub agency: Option<String>,
    /// Only entries to this vendor (64 hex digits).
    pub vendor: Option<String>,
    /// Only entries recorded on or after this day (`YYYY-MM-DD`, UTC).
    #[param(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub from: Option<String>,
    /// Only entries recorded before this day (`YYYY-MM-DD`, UTC).
    #[param(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub to: Option<String>,
}

/// Milliseconds since 1970 at the start of `day` (`YYYY-MM-DD`, UTC).
fn day_start(day: &str, what: &str) -> Result<u64, ApiError> {
    civitas_core::time::TimestampMs::parse_rfc3339(&format!("{day}T00:00:00Z"))
        .map(|t| t.0)
        .map_err(|_| ApiError::bad_request(format!("{what} must be a day, YYYY-MM-DD")))
}

/// `GET /v1/treasury/entries`: money movements, newest first, from the read model.
#[utoipa::path(
    get,
    path = "/v1/treasury/entries",
    operation_id = "listEntries",
    tag = "treasury",
    summary = "Money movements (payments, commitments, …), newest first, by kind, year, agency, vendor and period",
    params(EntriesQuery, PageQuery),
    responses(
        (status = 200, description = "A page of entries, each with its proof bundle's address.", body = Page<crate::index::EntryItem>),
        (status = 400, description = "An unknown kind, a malformed vendor or day, or a cursor this list did not hand out (`bad_cursor`).", body = ErrorBody),
        (status = 429, description = "Too many lists at once; retry after `Retry-After`.", body = ErrorBody),
        (status = 503, description = "This node keeps no read model.", body = ErrorBody),
    )
)]
pub async fn entries(
    State(ledger): State<Ledger>,
    Query(query): Query<EntriesQuery>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<crate::index::EntryItem>>, ApiError> {
    const KINDS: &[&str] = &[
        "appropriated",
        "appropriation_adjusted",
        "allotted",
        "committed",
        "commitment_adjusted",
        "paid",
        "payment_reversed",
    ];
    if let Some(kind) = &query.kind
        && !KINDS.contains(&kind.as_str())
    {
        return Err(ApiError::bad_request(format!(
            "kind is one of {}",
            KINDS.join(", ")
        )));
    }
    let vendor = account_query(query.vendor.as_deref(), "vendor")?;
    let filter = crate::index::EntryFilter {
        kind: query.kind,
        year: query.year,
        agency: name_query(query.agency, "agency")?,
        vendor,
        from_ms: query
            .from
            .as_deref()
            .map(|d| day_start(d, "from"))
            .transpose()?,
        to_ms: query
            .to
            .as_deref()
            .map(|d| day_start(d, "to"))
            .transpose()?,
    };
    listed(
        &ledger,
        async |s| {
            crate::index::entries(s, &filter, page.order(), page.cursor(), page.limit()).await
        },
        |e| e,
    )
    .await
}

/// `GET /v1/treasury/breakdown/{year}/{dimension}`: every total of a dimension in a year.
#[utoipa::path(
    get,
    path = "/v1/treasury/breakdown/{year}/{dimension}",
    operation_id = "getBreakdown",
    tag = "treasury",
    summary = "Every total of one dimension in a year (budget against committed against paid)",
    params(
        ("year" = u64, Path, description = "The year."),
        ("dimension" = String, Path, pattern = "^(agency|programme|classification|vendor|month)$", description = "agency, programme, classification, vendor or month."),
    ),
    responses(
        (status = 200, description = "Every total of the dimension in the year, by value.", body = Breakdown),
        (status = 400, description = "Unknown dimension.", body = ErrorBody),
    )
)]
pub async fn breakdown(
    State(ledger): State<Ledger>,
    Path((year, dimension)): Path<(String, String)>,
) -> Result<Json<Breakdown>, ApiError> {
    let year = parse_year(&year)?;
    let dimension = Dimension::parse(&dimension)
        .filter(|d| *d != Dimension::All)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "unknown dimension {dimension:?}: use agency, programme, classification, vendor or month"
            ))
        })?;
    let mut values: BTreeSet<String> = BTreeSet::new();
    match dimension {
        Dimension::Month => {
            // A fiscal year's money moves within the calendar years around it.
            for y in year.saturating_sub(1)..=year + 1 {
                for m in 1..=12 {
                    values.insert(format!("{y:04}-{m:02}"));
                }
            }
        }
        Dimension::Vendor => {
            // The year's vendors from the read model; each figure from the ledger.
            let mut snapshot = snapshot(&ledger).await?;
            let vendors = crate::index::vendors_of(&mut snapshot, year).await?;
            snapshot.finish().await?;
            values.extend(vendors);
        }
        _ => {
            for id in year_appropriations(&ledger, year).await? {
                if let Some(a) = ledger.value::<Appropriation>(appropriation_key(id)).await?
                    && a.year == year
                {
                    values.insert(match dimension {
                        Dimension::Agency => a.agency,
                        Dimension::Programme => a.programme,
                        _ => a.classification,
                    });
                }
            }
        }
    }
    let mut rows = Vec::new();
    for value in values {
        let key = total_key(year, dimension, &value);
        if let Some(total) = ledger.value::<Total>(key.clone()).await? {
            rows.push(total_view(&ledger, &total, &key));
        }
    }
    Ok(Json(Breakdown {
        year,
        dimension,
        totals: rows,
    }))
}

#[utoipa::path(
    get,
    path = "/v1/treasury/appropriations/{id}",
    operation_id = "getAppropriation",
    tag = "treasury",
    summary = "An appropriation with its four figures",
    params(
        ("id" = u64, Path, description = "Its number."),
    ),
    responses(
        (status = 200, description = "The record, with its figures written out and `proof_bundle`.", body = WithProof<AppropriationView>),
        (status = 404, description = "No such record.", body = ErrorBody),
    )
)]
pub async fn appropriation(
    State(ledger): State<Ledger>,
    Path(id): Path<String>,
) -> Result<Json<WithProof<AppropriationView>>, ApiError> {
    let id = parse_number(&id, "the appropriation number")?;
    let key = appropriation_key(id);
    let record: Appropriation = must(
        &ledger,
        key.clone(),
        format!("appropriation {id} does not exist"),
    )
    .await?;
    let c = record.currency;
    let f = record.figures;
    let text = FigureTexts {
        appropriated: format_amount(f.appropriated, c),
        allotted: format_amount(f.allotted, c),
        committed: format_amount(f.committed, c),
        paid: format_amount(f.paid, c),
    };
    let view = AppropriationView {
        appropriation: record,
        text,
    };
    Ok(Json(WithProof::new(&ledger, view, &key)))
}

macro_rules! record_endpoint {
    ($(#[$attr:meta])* $name:ident, $ty:ty, $key:expr, $what:literal) => {
        $(#[$attr])*
        pub async fn $name(
            State(ledger): State<Ledger>,
            Path(id): Path<String>,
        ) -> Result<Json<WithProof<$ty>>, ApiError> {
            let id = parse_number(&id, concat!("the ", $what, " number"))?;
            let missing = format!(concat!($what, " {} does not exist"), id);
            record::<$ty>(&ledger, $key(id), missing).await
        }
    };
}

record_endpoint!(
    #[utoipa::path(
        get,
        path = "/v1/treasury/commitments/{id}",
        operation_id = "getCommitment",
        tag = "treasury",
        summary = "A commitment",
        params(
            ("id" = u64, Path, description = "Its number."),
        ),
        responses(
            (status = 200, description = "The record, with `proof_bundle`.", body = WithProof<Commitment>),
            (status = 404, description = "No such record.", body = ErrorBody),
        )
    )]
    commitment,
    Commitment,
    commitment_key,
    "commitment"
);
record_endpoint!(
    #[utoipa::path(
        get,
        path = "/v1/treasury/payments/{id}",
        operation_id = "getPayment",
        tag = "treasury",
        summary = "A payment, with its approvers and any reversal",
        params(
            ("id" = u64, Path, description = "Its number."),
        ),
        responses(
            (status = 200, description = "The record, with `proof_bundle`.", body = WithProof<Payment>),
            (status = 404, description = "No such record.", body = ErrorBody),
        )
    )]
    payment,
    Payment,
    payment_key,
    "payment"
);
record_endpoint!(
    #[utoipa::path(
        get,
        path = "/v1/treasury/entries/{id}",
        operation_id = "getEntry",
        tag = "treasury",
        summary = "One money movement (entry), with its links to the previous entry of each total",
        params(
            ("id" = u64, Path, description = "Its number."),
        ),
        responses(
            (status = 200, description = "The record, with `proof_bundle`.", body = WithProof<Entry>),
            (status = 404, description = "No such record.", body = ErrorBody),
        )
    )]
    entry,
    Entry,
    entry_key,
    "entry"
);

#[utoipa::path(
    get,
    path = "/v1/treasury/vendors/{id}",
    operation_id = "getVendor",
    tag = "treasury",
    summary = "A registered vendor",
    params(
        ("id" = AccountId, Path, description = "The vendor's account id."),
    ),
    responses(
        (status = 200, description = "The vendor, with `proof_bundle`.", body = WithProof<Vendor>),
        (status = 404, description = "Not a vendor.", body = ErrorBody),
    )
)]
pub async fn vendor(
    State(ledger): State<Ledger>,
    Path(id): Path<String>,
) -> Result<Json<WithProof<Vendor>>, ApiError> {
    let account = parse_account(&id)?;
    let key = vendor_key(&account);
    let record: Vendor = must(
        &ledger,
        key.clone(),
        format!("account {account} is not a registered vendor"),
    )
    .await?;
    Ok(Json(WithProof::new(&ledger, record, &key)))
}

pub(crate) fn csv_field(text: &str) -> String {
    // A spreadsheet reads a cell starting with one of these as a formula: typed text (a
    // reference, a note) is kept text.
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

pub(crate) fn decimal(amount: u64, currency: Currency) -> String {
    let text = format_amount(amount, currency);
    text.split(' ').next().unwrap_or("").to_string()
}

async fn year_record(ledger: &Ledger, year: u32) -> Result<FiscalYear, ApiError> {
    must(
        ledger,
        year_key(year),
        format!("fiscal year {year} has not been opened"),
    )
    .await
}

/// The columns of `entries.csv`.
const ENTRIES_CSV_HEADER: &str = "entry,date,kind,fiscal_year,agency,programme,classification,appropriation,commitment,payment,vendor,currency,amount,signed_amount,note,transaction,height\n";

/// Entries of `entries.csv` read at once.
const ENTRIES_CSV_PAGE: u32 = 100;

/// A file of lines, one per record of a year, that streams.
#[derive(Clone, Copy)]
enum LinesFile {
    /// `entries.csv`: money moved.
    Entries,
    /// `revenue.csv`: money received.
    Revenue,
}

/// The lines of `file`'s next records in `year` after `cursor`, and the cursor after them.
async fn lines_page(
    ledger: &Ledger,
    file: LinesFile,
    year: u32,
    cursor: Option<&str>,
) -> Result<(String, Option<String>), ApiError> {
    match file {
        LinesFile::Entries => entries_csv_page(ledger, year, cursor).await,
        LinesFile::Revenue => {
            crate::revenue::revenue_csv_page(ledger, year, cursor, ENTRIES_CSV_PAGE).await
        }
    }
}

/// `file` of `year`, a page at a time: the year's records are numbered in the read model and
/// read from the ledger, so the file streams however many there are. `permit` is held until
/// the file ends.
fn lines_csv(
    ledger: Ledger,
    file: LinesFile,
    year: u32,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> impl futures::Stream<Item = Result<String, std::io::Error>> {
    let header = match file {
        LinesFile::Entries => ENTRIES_CSV_HEADER,
        LinesFile::Revenue => crate::revenue::REVENUE_CSV_HEADER,
    };
    let start = (
        ledger,
        Some(header.to_string()),
        None::<String>,
        false,
        permit,
    );
    futures::stream::unfold(
        start,
        move |(ledger, header, cursor, done, permit)| async move {
            if let Some(header) = header {
                return Some((Ok(header), (ledger, None, cursor, done, permit)));
            }
            if done {
                return None;
            }
            let mut page = lines_page(&ledger, file, year, cursor.as_deref()).await;
            // Lists busy for a moment: wait for a reading slot rather than cut the file short.
            for _ in 0..25 {
                match &page {
                    Err(e) if e.status == axum::http::StatusCode::TOO_MANY_REQUESTS => {
                        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                        page = lines_page(&ledger, file, year, cursor.as_deref()).await;
                    }
                    _ => break,
                }
            }
            match page {
                Ok((chunk, next)) => {
                    let done = next.is_none();
                    Some((Ok(chunk), (ledger, None, next, done, permit)))
                }
                Err(e) => {
                    tracing::error!(error = %e.message, year, "a CSV export stopped");
                    Some((
                        Err(std::io::Error::other(e.message)),
                        (ledger, None, None, true, permit),
                    ))
                }
            }
        },
    )
}

/// The lines of the next entries of `year` after `cursor`, and the cursor after them.
async fn entries_csv_page(
    ledger: &Ledger,
    year: u32,
    cursor: Option<&str>,
) -> Result<(String, Option<String>), ApiError> {
    let mut snapshot = snapshot(ledger).await?;
    let page = crate::index::entries(
        &mut snapshot,
        &crate::index::EntryFilter {
            year: Some(year),
            ..Default::default()
        },
        civitas_kit::index::query::Order::Oldest,
        cursor,
        ENTRIES_CSV_PAGE,
    )
    .await?;
    snapshot.finish().await?;
    let mut out = String::new();
    for item in &page.items {
        let Some(e) = ledger.value::<Entry>(entry_key(item.entry)).await? else {
            continue;
        };
        let amount = decimal(e.amount.amount, e.amount.currency);
        let signed = if e.decrease {
            format!("-{amount}")
        } else {
            amount.clone()
        };
        let opt = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_default();
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            e.seq,
            e.time.rfc3339(),
            e.kind.as_str(),
            e.year,
            csv_field(&e.agency),
            csv_field(&e.programme),
            csv_field(&e.classification),
            e.appropriation,
            opt(e.commitment),
            opt(e.payment),
            e.vendor.map(|v| v.to_hex()).unwrap_or_default(),
            e.amount.currency,
            amount,
            signed,
            csv_field(&e.note),
            e.tx.to_hex(),
            e.height,
        ));
    }
    Ok((out, page.next))
}

/// `GET /v1/treasury/export/{year}/{file}`: `datapackage.json` (the descriptor),
/// `budget.csv` (one line per appropriation with its four figures), `entries.csv` (every
/// money movement of the year) or `revenue.csv` (money received).
#[utoipa::path(
    get,
    path = "/v1/treasury/export/{year}/{file}",
    operation_id = "getSpendingExport",
    tag = "treasury",
    summary = "Spending export in a Fiscal Data Package layout",
    params(
        ("year" = u64, Path, description = "The year."),
        ("file" = String, Path, pattern = "^(datapackage\\.json|budget\\.csv|entries\\.csv|revenue\\.csv)$", description = "datapackage.json (the descriptor), budget.csv (one line per appropriation), entries.csv (every money movement) or revenue.csv (money received, such as fees)."),
    ),
    responses(
        (status = 200, description = "The descriptor (JSON) or the CSV.", content(
            (FiscalDataPackage = "application/json"),
            (String = "text/csv"),
        )),
        (status = 404, description = "Unknown year or file.", body = ErrorBody),
    )
)]
pub async fn export(
    State(ledger): State<Ledger>,
    axum::Extension(budgets): axum::Extension<civitas_kit::http::Budgets>,
    Path((year, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let year = parse_year(&year)?;
    let fiscal = year_record(&ledger, year).await?;
    let csv =
        |body: String| ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response();
    match file.as_str() {
        "datapackage.json" => Ok(Json(fiscal_descriptor(&ledger, &fiscal)).into_response()),
        "budget.csv" => {
            let mut out = String::from(
                "appropriation,fiscal_year,agency,programme,classification,purpose,currency,appropriated,allotted,committed,paid\n",
            );
            for id in year_appropriations(&ledger, year).await? {
                let Some(a) = ledger.value::<Appropriation>(appropriation_key(id)).await? else {
                    continue;
                };
                if a.year != year {
                    continue;
                }
                let f = a.figures;
                out.push_str(&format!(
                    "{},{},{},{},{},{},{},{},{},{},{}\n",
                    a.id,
                    a.year,
                    csv_field(&a.agency),
                    csv_field(&a.programme),
                    csv_field(&a.classification),
                    csv_field(&a.purpose),
                    a.currency,
                    decimal(f.appropriated, a.currency),
                    decimal(f.allotted, a.currency),
                    decimal(f.committed, a.currency),
                    decimal(f.paid, a.currency),
                ));
            }
            Ok(csv(out))
        }
        "entries.csv" | "revenue.csv" => {
            let file = if file == "entries.csv" {
                LinesFile::Entries
            } else {
                LinesFile::Revenue
            };
            // A download counts as an event stream while it lasts (the node serves a bounded
            // number at once).
            let permit = budgets.stream()?;
            Ok((
                [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
                axum::body::Body::from_stream(lines_csv(ledger, file, year, permit)),
            )
                .into_response())
        }
        other => Err(ApiError::not_found(format!(
            "no export named {other:?}: use datapackage.json, budget.csv, entries.csv or \
             revenue.csv"
        ))),
    }
}

/// A Fiscal Data Package descriptor, as the document describes it.
pub struct FiscalDataPackage;

impl utoipa::PartialSchema for FiscalDataPackage {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
        let text = |description: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(description.to_string()))
        };
        let object = |description: &str| {
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .description(Some(description.to_string()))
        };
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "A Fiscal Data Package descriptor (https://specs.frictionlessdata.io/fiscal-data-package/) \
                 of the year's three CSV files: budget.csv, entries.csv and revenue.csv.",
            ))
            .property("profile", text("Always `fiscal-data-package`."))
            .property("name", text("`<chain id>-spending-<year>`."))
            .property("title", text("What the package holds."))
            .property("description", text("Where each line's proof bundle is."))
            .property("fiscalPeriod", object("`start` and `end` of the year."))
            .property(
                "licenses",
                ArrayBuilder::new().items(object("A licence: `name` and `path`.")),
            )
            .property(
                "resources",
                ArrayBuilder::new().items(object(
                    "A CSV file: `name`, `path`, `format`, `mediatype`, `encoding` and its \
                     table `schema` (fields with name, type and description).",
                )),
            )
            .property(
                "model",
                object("The fiscal model: `measures` (the four figures) and `dimensions`."),
            )
            .required("profile")
            .required("name")
            .required("resources")
            .required("model")
            .into()
    }
}

impl utoipa::ToSchema for FiscalDataPackage {}

fn field(name: &str, kind: &str, description: &str) -> Value {
    json!({ "name": name, "type": kind, "description": description })
}

/// The Fiscal Data Package descriptor of a year's exports.
fn fiscal_descriptor(ledger: &Ledger, fiscal: &FiscalYear) -> Value {
    let year = fiscal.year;
    let currency = fiscal.currency.as_str();
    let chain = &ledger.genesis().chain_id;
    json!({
        "profile": "fiscal-data-package",
        "name": format!("{chain}-spending-{year}"),
        "title": format!("Public spending, fiscal year {year} ({chain})"),
        "description": "Appropriations, allotments, commitments and payments, and the money the agencies received (fees), as recorded on the ledger. Every line has a proof bundle at /v1/proofs/state/treasury/appropriation/<n>, /v1/proofs/state/treasury/entry/<n> or /v1/proofs/state/treasury/revenue/<year>/<n>. The model describes spending (budget.csv); revenue.csv is a table of its own.",
        "fiscalPeriod": { "start": format!("{year}-01-01"), "end": format!("{year}-12-31") },
        "licenses": [{ "name": "CC0-1.0", "path": "https://creativecommons.org/publicdomain/zero/1.0/" }],
        "resources": [
            {
                "name": "budget",
                "path": "budget.csv",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": {
                    "primaryKey": ["appropriation"],
                    "fields": [
                        field("appropriation", "integer", "Appropriation number on the ledger"),
                        field("fiscal_year", "year", "Fiscal year"),
                        field("agency", "string", "Spending agency (administrative classification)"),
                        field("programme", "string", "Programme (functional classification)"),
                        field("classification", "string", "Economic classification"),
                        field("purpose", "string", "What the appropriation is for"),
                        field("currency", "string", "ISO 4217 code"),
                        field("appropriated", "number", "Adopted budget, after adjustments (major units)"),
                        field("allotted", "number", "Released for commitment (major units)"),
                        field("committed", "number", "Committed to vendors (major units)"),
                        field("paid", "number", "Paid out (major units)"),
                    ],
                },
            },
            {
                "name": "entries",
                "path": "entries.csv",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": {
                    "primaryKey": ["entry"],
                    "fields": [
                        field("entry", "integer", "Entry number on the ledger"),
                        field("date", "datetime", "Block time of the entry (UTC)"),
                        field("kind", "string", "appropriated, appropriation_adjusted, allotted, committed, commitment_adjusted, paid or payment_reversed"),
                        field("fiscal_year", "year", "Fiscal year"),
                        field("agency", "string", "Spending agency"),
                        field("programme", "string", "Programme"),
                        field("classification", "string", "Economic classification"),
                        field("appropriation", "integer", "Appropriation charged"),
                        field("commitment", "integer", "Commitment (for commitments and payments)"),
                        field("payment", "integer", "Payment (for payments and reversals)"),
                        field("vendor", "string", "Vendor account id (for commitments and payments)"),
                        field("currency", "string", "ISO 4217 code"),
                        field("amount", "number", "Amount moved (major units)"),
                        field("signed_amount", "number", "Negative for decreases and reversals"),
                        field("note", "string", "Purpose, reason or invoice reference"),
                        field("transaction", "string", "Hash of the ledger transaction"),
                        field("height", "integer", "Block height"),
                    ],
                },
            },
            {
                "name": "revenue",
                "path": "revenue.csv",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": {
                    "primaryKey": ["fiscal_year", "entry"],
                    "fields": [
                        field("fiscal_year", "year", "Fiscal year (the calendar year of the block)"),
                        field("entry", "integer", "Entry number within the year"),
                        field("date", "datetime", "Block time of the entry (UTC)"),
                        field("agency", "string", "Receiving agency"),
                        field("source", "string", "Where the money comes from: permit.<type> for a permit type's fees"),
                        field("record", "string", "The ledger record it was received for, such as permits/application/12"),
                        field("reference", "string", "Receipt or payment reference"),
                        field("currency", "string", "ISO 4217 code"),
                        field("amount", "number", "Amount received (major units)"),
                        field("transaction", "string", "Hash of the ledger transaction"),
                        field("height", "integer", "Block height"),
                    ],
                },
            },
        ],
        "model": {
            "measures": {
                "appropriated": { "source": "appropriated", "currency": currency },
                "allotted": { "source": "allotted", "currency": currency },
                "committed": { "source": "committed", "currency": currency },
                "paid": { "source": "paid", "currency": currency },
            },
            "dimensions": {
                "administrative-classification": { "dimensionType": "classification", "classificationType": "administrative", "attributes": { "agency": { "source": "agency" } }, "primaryKey": ["agency"] },
                "functional-classification": { "dimensionType": "classification", "classificationType": "functional", "attributes": { "programme": { "source": "programme" } }, "primaryKey": ["programme"] },
                "economic-classification": { "dimensionType": "classification", "classificationType": "economic", "attributes": { "classification": { "source": "classification" } }, "primaryKey": ["classification"] },
                "date": { "dimensionType": "datetime", "attributes": { "year": { "source": "fiscal_year" } }, "primaryKey": ["year"] },
            },
        },
    })
}

// ---------------------------------------------------------------- procurement
