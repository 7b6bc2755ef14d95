//! Public money over HTTP: treasury figures with the records behind them, spending exports in
//! a Fiscal Data Package layout, tenders and contracts, and OCDS 1.1.
//!
//! Every figure is a state value: its proof bundle is at `/v1/proofs/state/<space>/<id>`, and
//! each response names that address. Lists walk the ledger's own links (an entry points to the
//! previous entry of each total it counts in), so the records behind a total are exactly those
//! it counts.

use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use civitas_consensus::service::NodeHandle;
use civitas_core::bundle::StateKey;
use civitas_core::codec::from_slice;
use civitas_core::crypto::AccountId;
use civitas_core::hash::Hash32;
use civitas_core::money::{Currency, format_amount};
use civitas_modules::identity::state::{Agency, agency_key};
use civitas_modules::procurement::ocds;
use civitas_modules::procurement::state::{
    Bid, Contract, ImportRef, ImportedProcess, ProcurementConfig, ReleaseText, Tender, bid_key,
    config_key as procurement_config_key, contract_key, import_index_key, imported_key,
    release_text_key, tender_key,
};
use civitas_modules::treasury::state::{
    Appropriation, Commitment, Dimension, Entry, FiscalYear, Payment, Total, TreasuryConfig,
    Vendor, appropriation_key, commitment_key, config_key as treasury_config_key, entry_key,
    figure_slot, parse_total_id, payment_key, total_id, total_key, vendor_key, year_key,
};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Most records one list returns.
pub const LIST_MAX: usize = 500;
/// Most records an export or a breakdown reads.
pub const EXPORT_MAX: u64 = 100_000;

/// Reads and decodes a state value; `None` if absent.
pub(crate) async fn read<T: commonware_codec::Decode<Cfg = ()>>(
    node: &NodeHandle,
    key: StateKey,
) -> Result<Option<T>, ApiError> {
    let proven = node.state(key.clone()).await?;
    match proven.value {
        None => Ok(None),
        Some(bytes) => from_slice::<T>(&bytes, &()).map(Some).map_err(|e| {
            ApiError::internal(format!("stored {} value does not decode: {e}", key.space))
        }),
    }
}

async fn must<T: commonware_codec::Decode<Cfg = ()>>(
    node: &NodeHandle,
    key: StateKey,
    missing: String,
) -> Result<T, ApiError> {
    read(node, key)
        .await?
        .ok_or_else(|| ApiError::not_found(missing))
}

fn proof_url(key: &StateKey) -> String {
    let id = match key.space.as_str() {
        civitas_modules::treasury::state::spaces::TOTAL
        | civitas_modules::identity::state::spaces::AGENCY => {
            String::from_utf8_lossy(&key.id).into_owned()
        }
        civitas_modules::treasury::state::spaces::FISCAL_YEAR => key
            .id
            .as_slice()
            .try_into()
            .map(|b: [u8; 4]| u32::from_be_bytes(b).to_string())
            .unwrap_or_default(),
        civitas_modules::treasury::state::spaces::VENDOR => hex::encode(&key.id),
        civitas_modules::procurement::state::spaces::BID if key.id.len() == 40 => {
            let mut tender = [0u8; 8];
            tender.copy_from_slice(&key.id[..8]);
            format!(
                "{}/{}",
                u64::from_be_bytes(tender),
                hex::encode(&key.id[8..])
            )
        }
        _ => key
            .id
            .as_slice()
            .try_into()
            .map(|b: [u8; 8]| u64::from_be_bytes(b).to_string())
            .unwrap_or_default(),
    };
    format!("/v1/proofs/state/{}/{id}", key.space)
}

fn with_proof(mut view: Value, key: &StateKey) -> Value {
    view["proof_bundle"] = json!(proof_url(key));
    view
}

fn parse_number(text: &str, what: &str) -> Result<u64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::bad_request(format!("{what} must be a number; got {text:?}")))
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

fn money_view(amount: u64, currency: Currency) -> Value {
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

fn entry_view(entry: &Entry) -> Value {
    let mut view = serde_json::to_value(entry).unwrap_or(Value::Null);
    view["amount_text"] = json!(entry.amount.to_string());
    view["date"] = json!(entry.time.rfc3339());
    with_proof(view, &entry_key(entry.seq))
}

// ---------------------------------------------------------------- treasury

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
pub(crate) async fn year(
    State(node): State<NodeHandle>,
    Path(year): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let year = parse_year(&year)?;
    let key = year_key(year);
    let record: FiscalYear = must(
        &node,
        key.clone(),
        format!("fiscal year {year} has not been opened"),
    )
    .await?;
    let total = read::<Total>(&node, total_key(year, Dimension::All, "")).await?;
    Ok(Json(json!({
        "year": with_proof(serde_json::to_value(&record).unwrap_or(Value::Null), &key),
        "total": total.map(|t| with_proof(total_view(&t), &total_key(year, Dimension::All, ""))),
    })))
}

#[derive(Deserialize, Default)]
pub(crate) struct ListQuery {
    /// Most records to return.
    pub(crate) limit: Option<usize>,
    /// Continue below this number (entries and tenders are listed newest first).
    pub(crate) before: Option<u64>,
}

impl ListQuery {
    fn limit(&self) -> usize {
        self.limit.unwrap_or(100).clamp(1, LIST_MAX)
    }
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
        ("limit" = Option<u64>, Query, minimum = 1, maximum = 500, description = "Most records to return (1 to 500; default 100)."),
        ("before" = Option<u64>, Query, description = "Continue below this number (lists are newest first)."),
    ),
    responses(
        (status = 200, description = "`total` (a Total), `records` (entries, newest first, each with its proof bundle address), `more`, `next_before`, and `records_sum` (each figure's sum over the records, when all were listed).", body = Object),
        (status = 400, description = "Not a year, or an unknown dimension.", body = ErrorBody),
        (status = 404, description = "Nothing recorded for it.", body = ErrorBody),
    )
)]
pub(crate) async fn total(
    State(node): State<NodeHandle>,
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
        &node,
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
                    must(&node, entry_key(seq), format!("entry {seq} is missing")).await?;
                seq = entry.previous_in(dimension).unwrap_or(0);
            }
            seq
        }
        None => total.last_entry,
    };
    let mut records = Vec::new();
    let mut sums = [0i128; 4];
    while next != 0 && records.len() < limit {
        let entry: Entry = must(&node, entry_key(next), format!("entry {next} is missing")).await?;
        sums[figure_slot(entry.kind)] += entry.signed_amount();
        next = entry.previous_in(dimension).unwrap_or(0);
        records.push(entry_view(&entry));
    }
    let complete = next == 0 && query.before.is_none();
    let mut view = json!({
        "total": with_proof(total_view(&total), &key),
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
pub(crate) async fn breakdown(
    State(node): State<NodeHandle>,
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
            let config = read::<TreasuryConfig>(&node, treasury_config_key())
                .await?
                .unwrap_or_default();
            for id in 1..config.next_commitment.min(EXPORT_MAX) {
                if let Some(c) = read::<Commitment>(&node, commitment_key(id)).await?
                    && c.year == year
                {
                    values.insert(c.vendor.to_hex());
                }
            }
        }
        _ => {
            let config = read::<TreasuryConfig>(&node, treasury_config_key())
                .await?
                .unwrap_or_default();
            for id in 1..config.next_appropriation.min(EXPORT_MAX) {
                if let Some(a) = read::<Appropriation>(&node, appropriation_key(id)).await?
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
        if let Some(total) = read::<Total>(&node, key.clone()).await? {
            rows.push(with_proof(total_view(&total), &key));
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
pub(crate) async fn appropriation(
    State(node): State<NodeHandle>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_number(&id, "the appropriation number")?;
    let key = appropriation_key(id);
    let record: Appropriation = must(
        &node,
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
    Ok(Json(with_proof(view, &key)))
}

macro_rules! record_endpoint {
    ($(#[$attr:meta])* $name:ident, $ty:ty, $key:expr, $what:literal) => {
        $(#[$attr])*
        pub(crate) async fn $name(
            State(node): State<NodeHandle>,
            Path(id): Path<String>,
        ) -> Result<Json<Value>, ApiError> {
            let id = parse_number(&id, concat!("the ", $what, " number"))?;
            let key = $key(id);
            let record: $ty = must(
                &node,
                key.clone(),
                format!(concat!($what, " {} does not exist"), id),
            )
            .await?;
            Ok(Json(with_proof(
                serde_json::to_value(&record).unwrap_or(Value::Null),
                &key,
            )))
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
record_endpoint!(
    #[utoipa::path(
        get,
        path = "/v1/procurement/contracts/{id}",
        operation_id = "getContract",
        tag = "procurement",
        summary = "A contract with its milestones, acceptances and amendments",
        params(
            ("id" = u64, Path, description = "The contract's number."),
        ),
        responses(
            (status = 200, description = "The contract, with `proof_bundle`.", body = Object),
            (status = 404, description = "No such contract.", body = ErrorBody),
        )
    )]
    contract,
    Contract,
    contract_key,
    "contract"
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
pub(crate) async fn vendor(
    State(node): State<NodeHandle>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let account = parse_account(&id)?;
    let key = vendor_key(&account);
    let record: Vendor = must(
        &node,
        key.clone(),
        format!("account {account} is not a registered vendor"),
    )
    .await?;
    Ok(Json(with_proof(
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

async fn year_record(node: &NodeHandle, year: u32) -> Result<FiscalYear, ApiError> {
    must(
        node,
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
pub(crate) async fn export(
    State(node): State<NodeHandle>,
    Path((year, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let year = parse_year(&year)?;
    let fiscal = year_record(&node, year).await?;
    let config = read::<TreasuryConfig>(&node, treasury_config_key())
        .await?
        .unwrap_or_default();
    let csv =
        |body: String| ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response();
    match file.as_str() {
        "datapackage.json" => Ok(Json(fiscal_descriptor(&node, &fiscal)).into_response()),
        "budget.csv" => {
            let mut out = String::from(
                "appropriation,fiscal_year,agency,programme,classification,purpose,currency,appropriated,allotted,committed,paid\n",
            );
            for id in 1..config.next_appropriation.min(EXPORT_MAX) {
                let Some(a) = read::<Appropriation>(&node, appropriation_key(id)).await? else {
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
                let Some(e) = read::<Entry>(&node, entry_key(seq)).await? else {
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
fn fiscal_descriptor(node: &NodeHandle, fiscal: &FiscalYear) -> Value {
    let year = fiscal.year;
    let currency = fiscal.currency.as_str();
    let chain = &node.genesis().chain_id;
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

fn tender_summary(t: &Tender) -> Value {
    json!({
        "id": t.id,
        "title": t.title,
        "agency": t.agency,
        "stage": t.stage.as_str(),
        "method": t.method.ocds(),
        "estimated": money_view(t.estimated.amount, t.estimated.currency),
        "deadline": if t.deadline.0 > 0 { json!(t.deadline.rfc3339()) } else { Value::Null },
        "bids": t.bidders.len(),
        "award": t.award.as_ref().map(|a| json!({
            "bidder": a.bidder,
            "value": money_view(a.value.amount, a.value.currency),
            "signals": a.signals,
        })),
        "contract": t.contract,
        "link": format!("/v1/procurement/tenders/{}", t.id),
    })
}

/// `GET /v1/procurement/tenders`: newest first.
#[utoipa::path(
    get,
    path = "/v1/procurement/tenders",
    operation_id = "listTenders",
    tag = "procurement",
    summary = "Tenders, newest first, with stage, award and integrity signals",
    params(
        ("limit" = Option<u64>, Query, minimum = 1, maximum = 500, description = "Most records to return (1 to 500; default 100)."),
        ("before" = Option<u64>, Query, description = "Continue below this number (lists are newest first)."),
    ),
    responses(
        (status = 200, description = "`tenders` and `next_before`.", body = Object),
    )
)]
pub(crate) async fn tenders(
    State(node): State<NodeHandle>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let config = read::<ProcurementConfig>(&node, procurement_config_key())
        .await?
        .unwrap_or_default();
    let top = query
        .before
        .unwrap_or(config.next_tender)
        .min(config.next_tender);
    let mut rows = Vec::new();
    let mut id = top;
    while id > 1 && rows.len() < query.limit() {
        id -= 1;
        if let Some(t) = read::<Tender>(&node, tender_key(id)).await? {
            rows.push(tender_summary(&t));
        }
    }
    Ok(Json(json!({
        "tenders": rows,
        "next_before": if id > 1 { json!(id) } else { Value::Null },
    })))
}

async fn load_process(
    node: &NodeHandle,
    id: u64,
) -> Result<(Tender, Vec<Bid>, Option<Contract>), ApiError> {
    let tender: Tender = must(node, tender_key(id), format!("tender {id} does not exist")).await?;
    let mut bids = Vec::new();
    for bidder in &tender.bidders {
        if let Some(bid) = read::<Bid>(node, bid_key(id, bidder)).await? {
            bids.push(bid);
        }
    }
    let contract = match tender.contract {
        Some(c) => read::<Contract>(node, contract_key(c)).await?,
        None => None,
    };
    Ok((tender, bids, contract))
}

/// `GET /v1/procurement/tenders/{id}`: the tender, its bids (sealed ones show only their
/// commitment), its contract, each with its proof address.
#[utoipa::path(
    get,
    path = "/v1/procurement/tenders/{id}",
    operation_id = "getTender",
    tag = "procurement",
    summary = "A tender with its bids (sealed bids show only their commitment), evaluations, award, complaints and contract",
    params(
        ("id" = u64, Path, description = "The tender's number."),
    ),
    responses(
        (status = 200, description = "`tender`, `bids`, `contract`, each with `proof_bundle`, and the OCDS addresses.", body = Object),
        (status = 404, description = "No such tender.", body = ErrorBody),
    )
)]
pub(crate) async fn tender(
    State(node): State<NodeHandle>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_number(&id, "the tender number")?;
    let (tender, bids, contract) = load_process(&node, id).await?;
    let bids: Vec<Value> = bids
        .iter()
        .map(|b| {
            let mut view = serde_json::to_value(b).unwrap_or(Value::Null);
            view["mean_score"] = json!(b.mean_score());
            with_proof(view, &bid_key(id, &b.bidder))
        })
        .collect();
    Ok(Json(json!({
        "tender": with_proof(serde_json::to_value(&tender).unwrap_or(Value::Null), &tender_key(id)),
        "bids": bids,
        "contract": contract.map(|c| with_proof(serde_json::to_value(&c).unwrap_or(Value::Null), &contract_key(c.id))),
        "ocds": {
            "releases": format!("/v1/ocds/releases/{id}"),
            "record": format!("/v1/ocds/records/{id}"),
        },
    })))
}

async fn vendor_names(
    node: &NodeHandle,
    accounts: impl IntoIterator<Item = AccountId>,
) -> Result<BTreeMap<AccountId, String>, ApiError> {
    let mut names = BTreeMap::new();
    for account in accounts {
        if let Some(v) = read::<Vendor>(node, vendor_key(&account)).await? {
            names.insert(account, v.name);
        }
    }
    Ok(names)
}

async fn process_releases(node: &NodeHandle, id: u64) -> Result<Vec<Value>, ApiError> {
    let (tender, bids, contract) = load_process(node, id).await?;
    let buyer = read::<Agency>(node, agency_key(&tender.agency))
        .await?
        .map_or_else(|| tender.agency.clone(), |a| a.name);
    let vendors = vendor_names(node, tender.bidders.iter().copied()).await?;
    let prefix = format!("ocds-civitas-{}", node.genesis().chain_id);
    let process = ocds::Process {
        prefix: &prefix,
        tender: &tender,
        bids: &bids,
        contract: contract.as_ref(),
        buyer_name: &buyer,
        vendors: &vendors,
    };
    Ok(process.releases())
}

async fn tender_ids(node: &NodeHandle, only: Option<&str>) -> Result<Vec<u64>, ApiError> {
    match only {
        Some(text) => Ok(vec![parse_number(text, "the tender number")?]),
        None => {
            let config = read::<ProcurementConfig>(node, procurement_config_key())
                .await?
                .unwrap_or_default();
            Ok((1..config.next_tender.min(EXPORT_MAX)).collect())
        }
    }
}

fn publisher_name(node: &NodeHandle) -> String {
    format!("Civitas ledger {}", node.genesis().chain_id)
}

/// The package's URI: this node's address as the client reached it, or a URN naming the
/// chain when the request carried no usable `Host`.
fn package_uri(node: &NodeHandle, headers: &HeaderMap, path: &str) -> String {
    match headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        }) {
        Some(host) => format!("http://{host}{path}"),
        None => format!(
            "urn:civitas:{}:{}",
            node.genesis().chain_id,
            path.trim_start_matches('/').replace('/', ":")
        ),
    }
}

async fn releases_package(
    node: &NodeHandle,
    headers: &HeaderMap,
    only: Option<&str>,
) -> Result<Value, ApiError> {
    let mut releases = Vec::new();
    for id in tender_ids(node, only).await? {
        releases.extend(process_releases(node, id).await?);
    }
    let name = publisher_name(node);
    let uri = match only {
        Some(t) => format!("/v1/ocds/releases/{t}"),
        None => "/v1/ocds/releases".into(),
    };
    let uri = package_uri(node, headers, &uri);
    Ok(ocds::release_package(
        &ocds::Publisher {
            uri: &uri,
            name: &name,
        },
        releases,
    ))
}

async fn records_package(
    node: &NodeHandle,
    headers: &HeaderMap,
    only: Option<&str>,
) -> Result<Value, ApiError> {
    let mut processes = Vec::new();
    for id in tender_ids(node, only).await? {
        processes.push(process_releases(node, id).await?);
    }
    let name = publisher_name(node);
    let uri = match only {
        Some(t) => format!("/v1/ocds/records/{t}"),
        None => "/v1/ocds/records".into(),
    };
    let uri = package_uri(node, headers, &uri);
    ocds::record_package(
        &ocds::Publisher {
            uri: &uri,
            name: &name,
        },
        processes,
    )
    .map_err(ApiError::internal)
}

/// `GET /v1/ocds/releases`: every contracting process's releases in one package.
#[utoipa::path(
    get,
    path = "/v1/ocds/releases",
    operation_id = "getOcdsReleases",
    tag = "procurement",
    summary = "Every contracting process as an OCDS 1.1 release package",
    responses(
        (status = 200, description = "An OCDS release package.", body = Object),
    )
)]
pub(crate) async fn ocds_releases(
    State(node): State<NodeHandle>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    releases_package(&node, &headers, None).await.map(Json)
}

/// `GET /v1/ocds/releases/{tender}`: one process's releases.
#[utoipa::path(
    get,
    path = "/v1/ocds/releases/{tender}",
    operation_id = "getOcdsProcessReleases",
    tag = "procurement",
    summary = "One process's OCDS releases",
    params(
        ("tender" = u64, Path, description = "The tender's number."),
    ),
    responses(
        (status = 200, description = "An OCDS release package.", body = Object),
        (status = 404, description = "No such tender.", body = ErrorBody),
    )
)]
pub(crate) async fn ocds_process_releases(
    State(node): State<NodeHandle>,
    headers: HeaderMap,
    Path(tender): Path<String>,
) -> Result<Json<Value>, ApiError> {
    releases_package(&node, &headers, Some(&tender))
        .await
        .map(Json)
}

/// `GET /v1/ocds/records`: every process as a record with compiled and versioned releases.
#[utoipa::path(
    get,
    path = "/v1/ocds/records",
    operation_id = "getOcdsRecords",
    tag = "procurement",
    summary = "Every process as an OCDS record, with compiled and versioned releases",
    responses(
        (status = 200, description = "An OCDS record package.", body = Object),
    )
)]
pub(crate) async fn ocds_records(
    State(node): State<NodeHandle>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    records_package(&node, &headers, None).await.map(Json)
}

/// `GET /v1/ocds/records/{tender}`: one process's record.
#[utoipa::path(
    get,
    path = "/v1/ocds/records/{tender}",
    operation_id = "getOcdsProcessRecord",
    tag = "procurement",
    summary = "One process as an OCDS record",
    params(
        ("tender" = u64, Path, description = "The tender's number."),
    ),
    responses(
        (status = 200, description = "An OCDS record package.", body = Object),
        (status = 404, description = "No such tender.", body = ErrorBody),
    )
)]
pub(crate) async fn ocds_process_record(
    State(node): State<NodeHandle>,
    headers: HeaderMap,
    Path(tender): Path<String>,
) -> Result<Json<Value>, ApiError> {
    records_package(&node, &headers, Some(&tender))
        .await
        .map(Json)
}

/// `POST /v1/ocds/validate`: checks a release package against the OCDS 1.1 schema.
#[utoipa::path(
    post,
    path = "/v1/ocds/validate",
    operation_id = "validateOcds",
    tag = "procurement",
    summary = "Check a release package against the OCDS 1.1 schema (up to 8 MiB)",
    request_body(content = Object, description = "An OCDS 1.1 release package."),
    responses(
        (status = 200, description = "The verdict and every issue with its JSON pointer.", body = ocds::Validation),
        (status = 400, description = "The body is not JSON.", body = ErrorBody),
    )
)]
pub(crate) async fn ocds_validate(
    axum::Extension(budgets): axum::Extension<crate::limits::Budgets>,
    body: axum::body::Body,
) -> Result<Json<ocds::Validation>, ApiError> {
    // Parsing and validating up to 8 MiB against the schema takes CPU: the bounded heavy pool.
    budgets
        .heavy_body(body, crate::OCDS_BODY_MAX_BYTES, move |body| {
            let package: Value = serde_json::from_slice(&body)
                .map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))?;
            Ok(Json(ocds::Validation::of_release_package(&package)))
        })
        .await?
}

/// `GET /v1/ocds/imported`: the historical processes brought in with `civitas ocds import`.
#[utoipa::path(
    get,
    path = "/v1/ocds/imported",
    operation_id = "listImported",
    tag = "procurement",
    summary = "Historical processes imported with `civitas ocds import`",
    params(
        ("limit" = Option<u64>, Query, minimum = 1, maximum = 500, description = "Most records to return (1 to 500; default 100)."),
        ("before" = Option<u64>, Query, description = "Continue below this number (lists are newest first)."),
    ),
    responses(
        (status = 200, description = "`processes` and `next_before`.", body = Object),
    )
)]
pub(crate) async fn imported_list(
    State(node): State<NodeHandle>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let config = read::<ProcurementConfig>(&node, procurement_config_key())
        .await?
        .unwrap_or_default();
    let top = query
        .before
        .unwrap_or(config.next_import)
        .min(config.next_import);
    let mut rows = Vec::new();
    let mut n = top;
    while n > 1 && rows.len() < query.limit() {
        n -= 1;
        let Some(entry) = read::<ImportRef>(&node, import_index_key(n)).await? else {
            continue;
        };
        if let Some(process) = read::<ImportedProcess>(&node, imported_key(&entry.ocid)).await? {
            rows.push(json!({
                "ocid": process.ocid,
                "agency": process.agency,
                "releases": process.releases.len(),
                "link": format!("/v1/ocds/imported/{}", process.ocid),
            }));
        }
    }
    Ok(Json(json!({
        "processes": rows,
        "next_before": if n > 1 { json!(n) } else { Value::Null },
    })))
}

/// `GET /v1/ocds/imported/{ocid}`: an imported process as an OCDS record (its releases as
/// imported, compiled and versioned), with who imported each release and its proof address.
#[utoipa::path(
    get,
    path = "/v1/ocds/imported/{*ocid}",
    operation_id = "getImported",
    tag = "procurement",
    summary = "An imported process as an OCDS record, with who imported each release",
    params(
        ("ocid" = String, Path, description = "The process's OCDS id (it may contain slashes)."),
    ),
    responses(
        (status = 200, description = "`record` (releases, compiledRelease, versionedRelease) and `imported`.", body = Object),
        (status = 404, description = "Never imported.", body = ErrorBody),
    )
)]
pub(crate) async fn imported_process(
    State(node): State<NodeHandle>,
    Path(ocid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let key = imported_key(&ocid);
    let process: ImportedProcess = must(
        &node,
        key.clone(),
        format!("no process with ocid {ocid:?} has been imported"),
    )
    .await?;
    let mut releases = Vec::new();
    let mut imports = Vec::new();
    for release in &process.releases {
        let text: ReleaseText = must(
            &node,
            release_text_key(&release.text),
            format!("the text of release {} is missing", release.id),
        )
        .await?;
        let value: Value = serde_json::from_str(&text.text).map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("imported release {} is not JSON: {e}", release.id),
            )
        })?;
        releases.push(value);
        imports.push(json!({
            "id": release.id,
            "date": release.date,
            "by": release.by,
            "height": release.height,
            "text_sha256": release.text,
            "proof_bundle": format!("/v1/proofs/state/{}/{}", civitas_modules::procurement::state::spaces::RELEASE_TEXT, release.text.to_hex()),
        }));
    }
    let compiled = ocds::merge::compile(&releases, ocds::merge_rules()).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unmergeable",
            e.to_string(),
        )
    })?;
    let versioned = ocds::merge::versioned(&releases, ocds::merge_rules()).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unmergeable",
            e.to_string(),
        )
    })?;
    Ok(Json(json!({
        "ocid": process.ocid,
        "agency": process.agency,
        "imported": imports,
        "record": {
            "ocid": process.ocid,
            "releases": releases,
            "compiledRelease": compiled,
            "versionedRelease": versioned,
        },
        "proof_bundle": format!("/v1/proofs/state/{}/{}", civitas_modules::procurement::state::spaces::IMPORTED, process.ocid),
    })))
}
