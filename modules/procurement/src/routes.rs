//! Procurement's routes: tenders with their bids, awards and integrity signals, contracts,
//! OCDS 1.1 release and record packages, the processes imported with `civitas ocds import`,
//! and a validator for release packages.

use crate::ocds;
use crate::state::{
    Bid, Contract, ImportRef, ImportedProcess, ProcurementConfig, ReleaseText, Tender, bid_key,
    config_key as procurement_config_key, contract_key, import_index_key, imported_key,
    release_text_key, tender_key,
};
use axum::Json;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};

use civitas_core::crypto::AccountId;
use civitas_core::hash::Hash32;
use civitas_identity::state::{Agency, agency_key};
use civitas_kit::http::{
    ApiError, Budgets, ErrorBody, ListQuery, Page, PageQuery, WithProof, account_query, listed,
    must, name_query, parse_number, proof_url, record,
};
use civitas_kit::ledger::Ledger;
use civitas_treasury::routes::EXPORT_MAX;
use civitas_treasury::state::{Vendor, vendor_key};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

/// Largest OCDS release package accepted for validation, in bytes.
pub const OCDS_BODY_MAX_BYTES: usize = 8 * 1024 * 1024;

/// Procurement's routes.
pub fn routes() -> OpenApiRouter<Ledger> {
    civitas_kit::http::router(
        "procurement",
        "Tenders, bids, awards and contracts, also as OCDS.",
    )
    .routes(routes!(tenders))
    .routes(routes!(tender))
    .routes(routes!(contract))
    .routes(routes!(ocds_releases))
    .routes(routes!(ocds_process_releases))
    .routes(routes!(ocds_records))
    .routes(routes!(imported_list))
    .routes(routes!(imported_process))
    .routes(routes!(ocds_process_record))
    .routes(routes!(ocds_validate).layer(DefaultBodyLimit::max(OCDS_BODY_MAX_BYTES)))
}

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
        (status = 200, description = "The contract, with `proof_bundle`.", body = WithProof<Contract>),
        (status = 404, description = "No such contract.", body = ErrorBody),
    )
)]
pub async fn contract(
    State(ledger): State<Ledger>,
    Path(id): Path<String>,
) -> Result<Json<WithProof<Contract>>, ApiError> {
    let id = parse_number(&id, "the contract number")?;
    record::<Contract>(
        &ledger,
        contract_key(id),
        format!("contract {id} does not exist"),
    )
    .await
}

/// `?stage=&agency=&vendor=&bidder=`.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TendersQuery {
    /// Only tenders at this stage.
    #[param(pattern = "^(planned|tendering|awarded|contracted|cancelled)$")]
    pub stage: Option<String>,
    /// Only tenders of this agency.
    pub agency: Option<String>,
    /// Only tenders awarded (or contracted) to this vendor (64 hex digits).
    pub vendor: Option<String>,
    /// Only tenders this account bid on (64 hex digits).
    pub bidder: Option<String>,
}

/// `GET /v1/procurement/tenders`: newest first, from the read model.
#[utoipa::path(
    get,
    path = "/v1/procurement/tenders",
    operation_id = "listTenders",
    tag = "procurement",
    summary = "Tenders, newest first, by stage, agency, vendor and bidder",
    params(TendersQuery, PageQuery),
    responses(
        (status = 200, description = "A page of tenders with their stage, award and integrity signals; each links to the tender with its proofs.", body = Page<crate::index::TenderItem>),
        (status = 400, description = "An unknown stage, a malformed account, or a cursor this list did not hand out (`bad_cursor`).", body = ErrorBody),
        (status = 429, description = "Too many lists at once; retry after `Retry-After`.", body = ErrorBody),
        (status = 503, description = "This node keeps no read model.", body = ErrorBody),
    )
)]
pub async fn tenders(
    State(ledger): State<Ledger>,
    Query(query): Query<TendersQuery>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<crate::index::TenderItem>>, ApiError> {
    if let Some(stage) = &query.stage
        && !["planned", "tendering", "awarded", "contracted", "cancelled"].contains(&stage.as_str())
    {
        return Err(ApiError::bad_request(
            "stage is one of planned, tendering, awarded, contracted, cancelled",
        ));
    }
    let filter = crate::index::TenderFilter {
        stage: query.stage,
        agency: name_query(query.agency, "agency")?,
        vendor: account_query(query.vendor.as_deref(), "vendor")?,
        bidder: account_query(query.bidder.as_deref(), "bidder")?,
    };
    listed(
        &ledger,
        async |s| {
            crate::index::tenders(s, &filter, page.order(), page.cursor(), page.limit()).await
        },
        |t| t,
    )
    .await
}

async fn load_process(
    ledger: &Ledger,
    id: u64,
) -> Result<(Tender, Vec<Bid>, Option<Contract>), ApiError> {
    let tender: Tender = must(
        ledger,
        tender_key(id),
        format!("tender {id} does not exist"),
    )
    .await?;
    let mut bids = Vec::new();
    for bidder in &tender.bidders {
        if let Some(bid) = ledger.value::<Bid>(bid_key(id, bidder)).await? {
            bids.push(bid);
        }
    }
    let contract = match tender.contract {
        Some(c) => ledger.value::<Contract>(contract_key(c)).await?,
        None => None,
    };
    Ok((tender, bids, contract))
}

/// A bid as shown: the record and the mean of its evaluations' scores.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BidView {
    /// The bid.
    #[serde(flatten)]
    pub bid: Bid,
    /// The mean of the committee's total scores, once evaluated.
    pub mean_score: Option<u32>,
}

/// Where a process is published in OCDS.
#[derive(Serialize, utoipa::ToSchema)]
pub struct OcdsLinks {
    /// Its releases, as a release package.
    pub releases: String,
    /// Its record, as a record package.
    pub record: String,
}

/// A tender with its bids and contract, each with its proof bundle address.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TenderView {
    /// The tender.
    pub tender: WithProof<Tender>,
    /// Its bids (sealed ones show only their commitment until opened).
    pub bids: Vec<WithProof<BidView>>,
    /// Its contract, once signed; null before.
    pub contract: Option<WithProof<Contract>>,
    /// The process in OCDS.
    pub ocds: OcdsLinks,
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
        (status = 200, description = "`tender`, `bids`, `contract`, each with `proof_bundle`, and the OCDS addresses.", body = TenderView),
        (status = 404, description = "No such tender.", body = ErrorBody),
    )
)]
pub async fn tender(
    State(ledger): State<Ledger>,
    Path(id): Path<String>,
) -> Result<Json<TenderView>, ApiError> {
    let id = parse_number(&id, "the tender number")?;
    let (tender, bids, contract) = load_process(&ledger, id).await?;
    let bids = bids
        .into_iter()
        .map(|bid| {
            let key = bid_key(id, &bid.bidder);
            let mean_score = bid.mean_score();
            WithProof::new(&ledger, BidView { bid, mean_score }, &key)
        })
        .collect();
    Ok(Json(TenderView {
        tender: WithProof::new(&ledger, tender, &tender_key(id)),
        bids,
        contract: contract.map(|c| {
            let key = contract_key(c.id);
            WithProof::new(&ledger, c, &key)
        }),
        ocds: OcdsLinks {
            releases: format!("/v1/ocds/releases/{id}"),
            record: format!("/v1/ocds/records/{id}"),
        },
    }))
}

async fn vendor_names(
    ledger: &Ledger,
    accounts: impl IntoIterator<Item = AccountId>,
) -> Result<BTreeMap<AccountId, String>, ApiError> {
    let mut names = BTreeMap::new();
    for account in accounts {
        if let Some(v) = ledger.value::<Vendor>(vendor_key(&account)).await? {
            names.insert(account, v.name);
        }
    }
    Ok(names)
}

async fn process_releases(ledger: &Ledger, id: u64) -> Result<Vec<Value>, ApiError> {
    let (tender, bids, contract) = load_process(ledger, id).await?;
    let buyer = ledger
        .value::<Agency>(agency_key(&tender.agency))
        .await?
        .map_or_else(|| tender.agency.clone(), |a| a.name);
    let vendors = vendor_names(ledger, tender.bidders.iter().copied()).await?;
    let prefix = format!("ocds-civitas-{}", ledger.genesis().chain_id);
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

async fn tender_ids(ledger: &Ledger, only: Option<&str>) -> Result<Vec<u64>, ApiError> {
    match only {
        Some(text) => Ok(vec![parse_number(text, "the tender number")?]),
        None => {
            let config = ledger
                .value::<ProcurementConfig>(procurement_config_key())
                .await?
                .unwrap_or_default();
            Ok((1..config.next_tender.min(EXPORT_MAX)).collect())
        }
    }
}

fn publisher_name(ledger: &Ledger) -> String {
    format!("Civitas ledger {}", ledger.genesis().chain_id)
}

/// The package's URI: this node's address as the client reached it, or a URN naming the
/// chain when the request carried no usable `Host`.
fn package_uri(ledger: &Ledger, headers: &HeaderMap, path: &str) -> String {
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
            ledger.genesis().chain_id,
            path.trim_start_matches('/').replace('/', ":")
        ),
    }
}

async fn releases_package(
    ledger: &Ledger,
    headers: &HeaderMap,
    only: Option<&str>,
) -> Result<Value, ApiError> {
    let mut releases = Vec::new();
    for id in tender_ids(ledger, only).await? {
        releases.extend(process_releases(ledger, id).await?);
    }
    let name = publisher_name(ledger);
    let uri = match only {
        Some(t) => format!("/v1/ocds/releases/{t}"),
        None => "/v1/ocds/releases".into(),
    };
    let uri = package_uri(ledger, headers, &uri);
    Ok(ocds::release_package(
        &ocds::Publisher {
            uri: &uri,
            name: &name,
        },
        releases,
    ))
}

async fn records_package(
    ledger: &Ledger,
    headers: &HeaderMap,
    only: Option<&str>,
) -> Result<Value, ApiError> {
    let mut processes = Vec::new();
    for id in tender_ids(ledger, only).await? {
        processes.push(process_releases(ledger, id).await?);
    }
    let name = publisher_name(ledger);
    let uri = match only {
        Some(t) => format!("/v1/ocds/records/{t}"),
        None => "/v1/ocds/records".into(),
    };
    let uri = package_uri(ledger, headers, &uri);
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
        (status = 200, description = "An OCDS 1.1 release package.", body = ocds::ReleasePackage),
    )
)]
pub async fn ocds_releases(
    State(ledger): State<Ledger>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    releases_package(&ledger, &headers, None).await.map(Json)
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
        (status = 200, description = "An OCDS 1.1 release package.", body = ocds::ReleasePackage),
        (status = 404, description = "No such tender.", body = ErrorBody),
    )
)]
pub async fn ocds_process_releases(
    State(ledger): State<Ledger>,
    headers: HeaderMap,
    Path(tender): Path<String>,
) -> Result<Json<Value>, ApiError> {
    releases_package(&ledger, &headers, Some(&tender))
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
        (status = 200, description = "An OCDS 1.1 record package.", body = ocds::RecordPackage),
    )
)]
pub async fn ocds_records(
    State(ledger): State<Ledger>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    records_package(&ledger, &headers, None).await.map(Json)
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
        (status = 200, description = "An OCDS 1.1 record package.", body = ocds::RecordPackage),
        (status = 404, description = "No such tender.", body = ErrorBody),
    )
)]
pub async fn ocds_process_record(
    State(ledger): State<Ledger>,
    headers: HeaderMap,
    Path(tender): Path<String>,
) -> Result<Json<Value>, ApiError> {
    records_package(&ledger, &headers, Some(&tender))
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
    request_body(content = ocds::CandidatePackage, description = "A candidate OCDS 1.1 release package: any JSON; what it lacks is reported."),
    responses(
        (status = 200, description = "The verdict and every issue with its JSON pointer.", body = ocds::Validation),
        (status = 400, description = "The body is not JSON.", body = ErrorBody),
    )
)]
pub async fn ocds_validate(
    axum::Extension(budgets): axum::Extension<Budgets>,
    body: axum::body::Body,
) -> Result<Json<ocds::Validation>, ApiError> {
    // Parsing and validating up to 8 MiB against the schema takes CPU: the bounded heavy pool.
    budgets
        .heavy_body(body, OCDS_BODY_MAX_BYTES, move |body| {
            let package: Value = serde_json::from_slice(&body)
                .map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))?;
            Ok(Json(ocds::Validation::of_release_package(&package)))
        })
        .await?
}

/// An imported process in a list.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ImportedSummary {
    /// Its OCDS id.
    pub ocid: String,
    /// The agency that imported it.
    pub agency: String,
    /// How many releases it has.
    pub releases: usize,
    /// The process as an OCDS record.
    pub link: String,
}

/// A page of imported processes, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ImportedList {
    /// The processes, newest first.
    pub processes: Vec<ImportedSummary>,
    /// Ask again with `before` set to this for the next page; null on the last.
    pub next_before: Option<u64>,
}

/// Who imported one release of a process, and where its text's proof is.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ImportedReleaseView {
    /// The release's `id`.
    pub id: String,
    /// Its `date`, as written.
    pub date: String,
    /// Who imported it.
    pub by: AccountId,
    /// Height of the import.
    pub height: u64,
    /// SHA-256 of its text, as imported.
    pub text_sha256: Hash32,
    /// The proof bundle of its text.
    pub proof_bundle: String,
}

/// An imported process as an OCDS record, with who imported each release.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ImportedView {
    /// Its OCDS id.
    pub ocid: String,
    /// The agency that imported it.
    pub agency: String,
    /// Each release's import.
    pub imported: Vec<ImportedReleaseView>,
    /// The OCDS record: the releases as imported, compiled and versioned.
    pub record: ocds::Record,
    /// The proof bundle of the process.
    pub proof_bundle: String,
}

/// `GET /v1/ocds/imported`: the historical processes brought in with `civitas ocds import`.
#[utoipa::path(
    get,
    path = "/v1/ocds/imported",
    operation_id = "listImported",
    tag = "procurement",
    summary = "Historical processes imported with `civitas ocds import`",
    params(
        ListQuery,
    ),
    responses(
        (status = 200, description = "A page of imported processes, newest first.", body = ImportedList),
    )
)]
pub async fn imported_list(
    State(ledger): State<Ledger>,
    Query(query): Query<ListQuery>,
) -> Result<Json<ImportedList>, ApiError> {
    let config = ledger
        .value::<ProcurementConfig>(procurement_config_key())
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
        let Some(entry) = ledger.value::<ImportRef>(import_index_key(n)).await? else {
            continue;
        };
        if let Some(process) = ledger
            .value::<ImportedProcess>(imported_key(&entry.ocid))
            .await?
        {
            rows.push(ImportedSummary {
                link: format!("/v1/ocds/imported/{}", process.ocid),
                releases: process.releases.len(),
                ocid: process.ocid,
                agency: process.agency,
            });
        }
    }
    Ok(Json(ImportedList {
        processes: rows,
        next_before: (n > 1).then_some(n),
    }))
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
        (status = 200, description = "`record` (releases, compiledRelease, versionedRelease) and `imported`.", body = ImportedView),
        (status = 404, description = "Never imported.", body = ErrorBody),
    )
)]
pub async fn imported_process(
    State(ledger): State<Ledger>,
    Path(ocid): Path<String>,
) -> Result<Json<ImportedView>, ApiError> {
    let key = imported_key(&ocid);
    let process: ImportedProcess = must(
        &ledger,
        key.clone(),
        format!("no process with ocid {ocid:?} has been imported"),
    )
    .await?;
    let mut releases = Vec::new();
    let mut imports = Vec::new();
    for release in &process.releases {
        let text: ReleaseText = must(
            &ledger,
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
        imports.push(ImportedReleaseView {
            id: release.id.clone(),
            date: release.date.clone(),
            by: release.by,
            height: release.height,
            text_sha256: release.text,
            proof_bundle: proof_url(&ledger, &release_text_key(&release.text)),
        });
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
    Ok(Json(ImportedView {
        proof_bundle: proof_url(&ledger, &imported_key(&process.ocid)),
        record: ocds::Record {
            ocid: process.ocid.clone(),
            releases,
            compiled_release: compiled,
            versioned_release: versioned,
        },
        ocid: process.ocid,
        agency: process.agency,
        imported: imports,
    }))
}
