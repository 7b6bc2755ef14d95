//! Money the agencies receive (a permit's fee): the year's totals overall and by agency, source
//! and month, each a state value with its proof; the entries behind them from the read model,
//! each with its proof; and `revenue.csv` in the year's Fiscal Data Package.
//!
//! A revenue entry is numbered within its fiscal year, the calendar year (UTC) of the block that
//! recorded it: `treasury/revenue/<year>/<n>`.

use crate::index::{RevenueColumn, RevenueItem};
use crate::state::{Revenue, RevenueDimension, RevenueTotal, revenue_key, revenue_total_key};
use axum::Json;
use axum::extract::{Path, Query, State};
use civitas_core::bundle::StateKey;
use civitas_core::money::Currency;
use civitas_kit::http::{
    ApiError, ErrorBody, Page, PageQuery, WithProof, listed, must, name_query, parse_number,
    snapshot,
};
use civitas_kit::ledger::Ledger;
use serde::Serialize;

/// An amount received, in minor units (up to 128 bits), with its currency and written out.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ReceivedView {
    /// Minor units.
    #[schema(value_type = u64)]
    pub amount: u128,
    /// ISO 4217 code.
    pub currency: Currency,
    /// The amount written out, such as `955.00 EUR`.
    pub text: String,
}

/// A revenue total as shown.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct RevenueTotalView {
    /// Fiscal year.
    pub year: u32,
    /// The dimension.
    pub dimension: RevenueDimension,
    /// Its value (agency id, source code, `YYYY-MM`; empty for the whole year).
    pub value: String,
    /// Currency of the amount.
    pub currency: Currency,
    /// Received.
    pub received: ReceivedView,
    /// How many entries count in it.
    pub entries: u64,
    /// The number of the latest of them (0: none).
    pub last_entry: u64,
}

fn total_view(ledger: &Ledger, total: RevenueTotal, key: &StateKey) -> WithProof<RevenueTotalView> {
    let view = RevenueTotalView {
        received: ReceivedView {
            amount: total.received,
            currency: total.currency,
            text: civitas_core::money::format_amount(total.received, total.currency),
        },
        year: total.year,
        dimension: total.dimension,
        value: total.value,
        currency: total.currency,
        entries: total.entries,
        last_entry: total.last_entry,
    };
    WithProof::new(ledger, view, key)
}

/// Reads the total `id` names, if anything was received for it.
async fn read_total(
    ledger: &Ledger,
    year: u32,
    dimension: RevenueDimension,
    value: &str,
) -> Result<Option<WithProof<RevenueTotalView>>, ApiError> {
    let key = revenue_total_key(year, dimension, value);
    Ok(ledger
        .value::<RevenueTotal>(key.clone())
        .await?
        .map(|t| total_view(ledger, t, &key)))
}

/// A fiscal year's money received: overall and by agency, source and month.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RevenueYear {
    /// The year.
    pub year: u32,
    /// Everything received in it; null until something is.
    pub total: Option<WithProof<RevenueTotalView>>,
    /// Per receiving agency, by id.
    pub by_agency: Vec<WithProof<RevenueTotalView>>,
    /// Per source (`permit.<type>` for a permit type's fees), by code.
    pub by_source: Vec<WithProof<RevenueTotalView>>,
    /// Per calendar month, in order.
    pub by_month: Vec<WithProof<RevenueTotalView>>,
}

/// `GET /v1/treasury/revenue/{year}`.
#[utoipa::path(
    get,
    path = "/v1/treasury/revenue/{year}",
    operation_id = "getRevenue",
    tag = "treasury",
    summary = "Money the agencies received in a fiscal year (fees), overall and by agency, source and month",
    params(
        ("year" = u64, Path, description = "The year."),
    ),
    responses(
        (status = 200, description = "Each total with its proof bundle's address; the agencies and sources come from the read model, each figure from the ledger.", body = RevenueYear),
        (status = 400, description = "Not a year.", body = ErrorBody),
        (status = 429, description = "Too many lists at once; retry after `Retry-After`.", body = ErrorBody),
        (status = 503, description = "This node keeps no read model.", body = ErrorBody),
    )
)]
pub async fn revenue_year(
    State(ledger): State<Ledger>,
    Path(year): Path<String>,
) -> Result<Json<RevenueYear>, ApiError> {
    let year = crate::routes::parse_year(&year)?;
    let mut snapshot = snapshot(&ledger).await?;
    let agencies = crate::index::revenue_values(&mut snapshot, year, RevenueColumn::Agency).await?;
    let sources = crate::index::revenue_values(&mut snapshot, year, RevenueColumn::Source).await?;
    snapshot.finish().await?;
    let mut by_agency = Vec::new();
    for agency in agencies {
        by_agency.extend(read_total(&ledger, year, RevenueDimension::Agency, &agency).await?);
    }
    let mut by_source = Vec::new();
    for source in sources {
        by_source.extend(read_total(&ledger, year, RevenueDimension::Source, &source).await?);
    }
    let mut by_month = Vec::new();
    for month in 1..=12 {
        let value = format!("{year:04}-{month:02}");
        by_month.extend(read_total(&ledger, year, RevenueDimension::Month, &value).await?);
    }
    Ok(Json(RevenueYear {
        year,
        total: read_total(&ledger, year, RevenueDimension::All, "").await?,
        by_agency,
        by_source,
        by_month,
    }))
}

/// `?agency=&source=`.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RevenueQuery {
    /// Only money this agency received.
    pub agency: Option<String>,
    /// Only money from this source, such as `permit.business-licence`.
    pub source: Option<String>,
}

/// `GET /v1/treasury/revenue/{year}/entries`.
#[utoipa::path(
    get,
    path = "/v1/treasury/revenue/{year}/entries",
    operation_id = "listRevenue",
    tag = "treasury",
    summary = "Money received in a fiscal year, newest first, by agency and source",
    params(
        ("year" = u64, Path, description = "The year."),
        RevenueQuery,
        PageQuery,
    ),
    responses(
        (status = 200, description = "A page of entries, each with its proof bundle's address.", body = Page<RevenueItem>),
        (status = 400, description = "Not a year, a name too long, or a cursor this list did not hand out (`bad_cursor`).", body = ErrorBody),
        (status = 429, description = "Too many lists at once; retry after `Retry-After`.", body = ErrorBody),
        (status = 503, description = "This node keeps no read model.", body = ErrorBody),
    )
)]
pub async fn revenue_entries(
    State(ledger): State<Ledger>,
    Path(year): Path<String>,
    Query(query): Query<RevenueQuery>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<RevenueItem>>, ApiError> {
    let year = crate::routes::parse_year(&year)?;
    let agency = name_query(query.agency, "agency")?;
    let source = name_query(query.source, "source")?;
    listed(
        &ledger,
        async |s| {
            crate::index::revenue(
                s,
                year,
                agency.as_deref(),
                source.as_deref(),
                page.order(),
                page.cursor(),
                page.limit(),
            )
            .await
        },
        |e| e,
    )
    .await
}

/// A revenue entry as shown: the record and its amount and date written out.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct RevenueView {
    /// The entry.
    #[serde(flatten)]
    pub entry: Revenue,
    /// The amount written out, such as `120.00 EUR`.
    pub amount_text: String,
    /// Its block time, RFC 3339 (UTC).
    pub date: String,
}

/// `GET /v1/treasury/revenue/{year}/entries/{n}`.
#[utoipa::path(
    get,
    path = "/v1/treasury/revenue/{year}/entries/{n}",
    operation_id = "getRevenueEntry",
    tag = "treasury",
    summary = "One entry of money received, with its links to the previous entry of each total",
    params(
        ("year" = u64, Path, description = "The year."),
        ("n" = u64, Path, description = "Its number within the year."),
    ),
    responses(
        (status = 200, description = "The record, with `proof_bundle`.", body = WithProof<RevenueView>),
        (status = 400, description = "Not a year or a number.", body = ErrorBody),
        (status = 404, description = "No such entry.", body = ErrorBody),
    )
)]
pub async fn revenue_entry(
    State(ledger): State<Ledger>,
    Path((year, n)): Path<(String, String)>,
) -> Result<Json<WithProof<RevenueView>>, ApiError> {
    let year = crate::routes::parse_year(&year)?;
    let n = parse_number(&n, "the entry's number")?;
    let key = revenue_key(year, n);
    let entry: Revenue = must(
        &ledger,
        key.clone(),
        format!("fiscal year {year} has no revenue entry {n}"),
    )
    .await?;
    let view = RevenueView {
        amount_text: entry.amount.to_string(),
        date: entry.time.rfc3339(),
        entry,
    };
    Ok(Json(WithProof::new(&ledger, view, &key)))
}

/// The columns of `revenue.csv`.
pub const REVENUE_CSV_HEADER: &str =
    "fiscal_year,entry,date,agency,source,record,reference,currency,amount,transaction,height\n";

/// The lines of the next money received in `year` after `cursor`, and the cursor after them.
pub async fn revenue_csv_page(
    ledger: &Ledger,
    year: u32,
    cursor: Option<&str>,
    limit: u32,
) -> Result<(String, Option<String>), ApiError> {
    let mut snapshot = snapshot(ledger).await?;
    let page = crate::index::revenue(
        &mut snapshot,
        year,
        None,
        None,
        civitas_kit::index::query::Order::Oldest,
        cursor,
        limit,
    )
    .await?;
    snapshot.finish().await?;
    let mut out = String::new();
    for item in &page.items {
        let Some(r) = ledger
            .value::<Revenue>(revenue_key(year, item.entry))
            .await?
        else {
            continue;
        };
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{}\n",
            r.year,
            r.seq,
            r.time.rfc3339(),
            crate::routes::csv_field(&r.agency),
            crate::routes::csv_field(&r.source),
            crate::routes::csv_field(&r.record),
            crate::routes::csv_field(&r.reference),
            r.amount.currency,
            crate::routes::decimal(r.amount.amount, r.amount.currency),
            r.tx.to_hex(),
            r.height,
        ));
    }
    Ok((out, page.next))
}
