//! Treasury's routes: fiscal years, totals by agency, programme, classification, vendor and
//! month with the entries behind each, the records, and spending exports in a Fiscal Data
//! Package layout.
//!
//! Every figure is a state value: its proof bundle is at `/v1/proofs/state/<space>/<id>`, and
//! each answer names that address. Lists walk the ledger's own links (an entry points to the
//! previous entry of each total it counts in), so the records behind a total are exactly those
//! it counts.

use crate::state::{
    Appropriation, Commitment, Dimension, Entry, FiscalYear, Payment, Total, TreasuryConfig,
    Vendor, appropriation_key, commitment_key, config_key as treasury_config_key, entry_key,
    figure_slot, parse_total_id, payment_key, total_id, total_key, vendor_key, year_key,
};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use civitas_core::crypto::AccountId;
use civitas_core::hash::Hash32;
use civitas_core::money::{Currency, format_amount};
use civitas_kit::http::{ApiError, ErrorBody, ListQuery, must, parse_number, record, with_proof};
use civitas_kit::ledger::Ledger;
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
    .routes(routes!(entry))
    .routes(routes!(vendor))
    .routes(routes!(export))
}

fn parse_year(text: &str) -> Result<u32, ApiError> {
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

/// An amount as JSON: minor units, currency and the amount written out.
pub fn money_view(amount: u64, currency: Currency) -> Value {
    json!({ "amount": amount, "currency": currency.as_str(), "text": format_amount(amount, currency) })
}

fn total_view(total: &Total) -> Value {
    let f = total.figures;
    let c = total.currency;
    json!({
        "year": total.year,
        "dimension": total.dimension.as_str(),
        "value": total.value,
        "currency": c.as_str(),
        "appropriated": money_view(f.appropriated, c),
        "allotted": money_view(f.allotted, c),
        "committed": money_view(f.committed, c),
        "paid": money_view(f.paid, c),
        "available_to_commit": money_view(f.allotted.saturating_sub(f.committed), c),
        "entries": total.entries,
        "last_entry": total.last_entry,
    })
}

fn entry_view(ledger: &Ledger, entry: &Entry) -> Value {
    let mut view = serde_json::to_value(entry).unwrap_or(Value::Null);
    view["amount_text"] = json!(entry.amount.to_string());
    view["date"] = json!(entry.time.rfc3339());
    with_proof(ledger, view, &entry_key(entry.seq))
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
        (status = 200, description = "The year's record and total, each with its proof bundle address.", body = Object),
        (status = 404, description = "The year was never opened.", body = ErrorBody),
    )
)]
pub async fn year(
    State(ledger): State<Ledger>,
    Path(year): Path<String>,
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(json!({
        "year": with_proof(&ledger, serde_json::to_value(&record).unwrap_or(Value::Null), &key),
        "total": total.map(|t| with_proof(&ledger, total_view(&t), &total_key(year, Dimension::All, ""))),
    })))
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
        (status = 200, description = "`total` (a Total), `records` (entries, newest first, each with its proof bundle address), `more`, `next_before`, and `records_sum` (each figure's sum over the records, when all were listed).", body = Object),
        (status = 400, description = "Not a year, or an unknown dimension.", body = ErrorBody),
        (status = 404, description = "Nothing recorded for it.", body = ErrorBody),
    )
)]
pub async fn total(
    State(ledger): State<Ledger>,
    Path(path): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
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
        records.push(entry_view(&ledger, &entry));
    }
    let complete = next == 0 && query.before.is_none();
    let mut view = json!({
        "total": with_proof(&ledger, total_view(&total), &key),
        "records": records,
        "more": next != 0,
        "next_before": if next != 0 { json!(next + 1) } else { Value::Null },
    });
    if complete {
        // Every record was listed: their sums are the total's figures.
        view["records_sum"] = json!({
            "appropriated": sums[0].to_string(),
            "allotted": sums[1].to_string(),
            "committed": sums[2].to_string(),
            "paid": sums[3].to_string(),
        });
    }
    Ok(Json(view))
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
        (status = 200, description = "`totals`: a list of Total.", body = Object),
        (status = 400, description = "Unknown dimension.", body = ErrorBody),
    )
)]
pub async fn breakdown(
    State(ledger): State<Ledger>,
    Path((year, dimension)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
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
            let config = ledger
                .value::<TreasuryConfig>(treasury_config_key())
                .await?
                .unwrap_or_default();
            for id in 1..config.next_commitment.min(EXPORT_MAX) {
                if let Some(c) = ledger.value::<Commitment>(commitment_key(id)).await?
                    && c.year == year
                {
                    values.insert(c.vendor.to_hex());
                }
            }
        }
        _ => {
            let config = ledger
                .value::<TreasuryConfig>(treasury_config_key())
                .await?
                .unwrap_or_default();
            for id in 1..config.next_appropriation.min(EXPORT_MAX) {
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
            rows.push(with_proof(&ledger, total_view(&total), &key));
        }
    }
    Ok(Json(
        json!({ "year": year, "dimension": dimension.as_str(), "totals": rows }),
    ))
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
        (status = 200, description = "The record, with `proof_bundle`.", body = Object),
        (status = 404, description = "No such record.", body = ErrorBody),
    )
)]
pub async fn appropriation(
    State(ledger): State<Ledger>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_number(&id, "the appropriation number")?;
    let key = appropriation_key(id);
    let record: Appropriation = must(
        &ledger,
        key.clone(),
        format!("appropriation {id} does not exist"),
    )
    .await?;
    let mut view = serde_json::to_value(&record).unwrap_or(Value::Null);
    let c = record.currency;
    let f = record.figures;
    view["text"] = json!({
        "appropriated": format_amount(f.appropriated, c),
        "allotted": format_amount(f.allotted, c),
        "committed": format_amount(f.committed, c),
        "paid": format_amount(f.paid, c),
    });
    Ok(Json(with_proof(&ledger, view, &key)))
}

macro_rules! record_endpoint {
    ($(#[$attr:meta])* $name:ident, $ty:ty, $key:expr, $what:literal) => {
        $(#[$attr])*
        pub async fn $name(
            State(ledger): State<Ledger>,
            Path(id): Path<String>,
        ) -> Result<Json<Value>, ApiError> {
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
            (status = 200, description = "The record, with `proof_bundle`.", body = Object),
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
            (status = 200, description = "The record, with `proof_bundle`.", body = Object),
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
            (status = 200, description = "The record, with `proof_bundle`.", body = Object),
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
        (status = 200, description = "The vendor, with `proof_bundle`.", body = Object),
        (status = 404, description = "Not a vendor.", body = ErrorBody),
    )
)]
pub async fn vendor(
    State(ledger): State<Ledger>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let account = parse_account(&id)?;
    let key = vendor_key(&account);
    let record: Vendor = must(
        &ledger,
        key.clone(),
        format!("account {account} is not a registered vendor"),
    )
    .await?;
    Ok(Json(with_proof(
        &ledger,
        serde_json::to_value(&record).unwrap_or(Value::Null),
        &key,
    )))
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn decimal(amount: u64, currency: Currency) -> String {
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

/// `GET /v1/treasury/export/{year}/{file}`: `datapackage.json` (the descriptor),
/// `budget.csv` (one line per appropriation with its four figures) or `entries.csv` (every
/// money movement of the year).
#[utoipa::path(
    get,
    path = "/v1/treasury/export/{year}/{file}",
    operation_id = "getSpendingExport",
    tag = "treasury",
    summary = "Spending export in a Fiscal Data Package layout",
    params(
        ("year" = u64, Path, description = "The year."),
        ("file" = String, Path, pattern = "^(datapackage\\.json|budget\\.csv|entries\\.csv)$", description = "datapackage.json (the descriptor), budget.csv (one line per appropriation) or entries.csv (every money movement)."),
    ),
    responses(
        (status = 200, description = "The descriptor (JSON) or the CSV.", content(
            (Object = "application/json"),
            (String = "text/csv"),
        )),
        (status = 404, description = "Unknown year or file.", body = ErrorBody),
    )
)]
pub async fn export(
    State(ledger): State<Ledger>,
    Path((year, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let year = parse_year(&year)?;
    let fiscal = year_record(&ledger, year).await?;
    let config = ledger
        .value::<TreasuryConfig>(treasury_config_key())
        .await?
        .unwrap_or_default();
    let csv =
        |body: String| ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response();
    match file.as_str() {
        "datapackage.json" => Ok(Json(fiscal_descriptor(&ledger, &fiscal)).into_response()),
        "budget.csv" => {
            let mut out = String::from(
                "appropriation,fiscal_year,agency,programme,classification,purpose,currency,appropriated,allotted,committed,paid\n",
            );
            for id in 1..config.next_appropriation.min(EXPORT_MAX) {
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
        "entries.csv" => {
            let mut out = String::from(
                "entry,date,kind,fiscal_year,agency,programme,classification,appropriation,commitment,payment,vendor,currency,amount,signed_amount,note,transaction,height\n",
            );
            for seq in 1..config.next_entry.min(EXPORT_MAX) {
                let Some(e) = ledger.value::<Entry>(entry_key(seq)).await? else {
                    continue;
                };
                if e.year != year {
                    continue;
                }
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
            Ok(csv(out))
        }
        other => Err(ApiError::not_found(format!(
            "no export named {other:?}: use datapackage.json, budget.csv or entries.csv"
        ))),
    }
}

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
        "description": "Appropriations, allotments, commitments and payments as recorded on the ledger. Every line has a proof bundle at /v1/proofs/state/treasury/appropriation/<n> or /v1/proofs/state/treasury/entry/<n>.",
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
