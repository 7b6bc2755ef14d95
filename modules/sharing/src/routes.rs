//! The sharing routes: a record's entry (what the ledger knows of it, never its content) and
//! its log, a consent, an agency's vault, and the legal bases in force.

use crate::state::{consent_key, record_key, vault_key};
use axum::Json;
use axum::extract::{Path, Query, State};
use civitas_kit::authz::{PolicyHead, PolicySetRecord, head_key, version_key};
use civitas_kit::http::{
    ApiError, ErrorBody, Page, PageQuery, ProofQuery, StateValue, found_or_404, listed, parse_hash,
    parse_number,
};
use civitas_kit::ledger::Ledger;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The sharing routes.
pub fn routes() -> OpenApiRouter<Ledger> {
    civitas_kit::http::router(
        "sharing",
        "Personal data held in agencies' vaults, as the ledger knows it: each record's \
         commitment, holder and log (every share, read, consent and erasure, with its legal \
         basis), consents, vaults, and the legal bases in force. Never the data itself.",
    )
    .routes(routes!(record))
    .routes(routes!(record_log))
    .routes(routes!(agency_shares))
    .routes(routes!(consent))
    .routes(routes!(vault))
    .routes(routes!(bases))
}

#[utoipa::path(
    get,
    path = "/v1/sharing/records/{id}",
    operation_id = "getSharingRecord",
    tag = "sharing",
    summary = "What the ledger knows of a record: schema, holder, version, commitment, copies, erasure",
    params(
        ("id" = civitas_core::hash::Hash32, Path, description = "The record's id."),
        ProofQuery,
    ),
    responses(
        (status = 200, description = "The record's entry at the latest finalized height (with `?proof=true`, its proof).", body = StateValue),
        (status = 400, description = "Not a record id.", body = ErrorBody),
        (status = 404, description = "No such record is registered.", body = ErrorBody),
    )
)]
async fn record(
    State(ledger): State<Ledger>,
    Path(id): Path<String>,
    Query(query): Query<ProofQuery>,
) -> Result<Json<StateValue>, ApiError> {
    let id = parse_hash(&id, "the record id")?;
    found_or_404(
        &ledger,
        record_key(&id),
        query.proof,
        format!("no record {id} is registered"),
    )
    .await
}

#[utoipa::path(
    get,
    path = "/v1/sharing/records/{id}/log",
    operation_id = "getSharingRecordLog",
    tag = "sharing",
    summary = "A record's log: every registration, rectification, share, read, consent and erasure",
    description = "Oldest first by default. Each entry names the agency and official, the purpose and legal basis, and the transaction whose proof bundle proves it offline.",
    params(
        ("id" = civitas_core::hash::Hash32, Path, description = "The record's id."),
        PageQuery,
    ),
    responses(
        (status = 200, description = "A page of the record's log.", body = Page<crate::index::LogEntry>),
        (status = 400, description = "Not a record id, or a cursor this list did not hand out (`bad_cursor`).", body = ErrorBody),
        (status = 429, description = "Too many lists at once; retry after `Retry-After`.", body = ErrorBody),
        (status = 503, description = "This node keeps no read model.", body = ErrorBody),
    )
)]
async fn record_log(
    State(ledger): State<Ledger>,
    Path(id): Path<String>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<crate::index::LogEntry>>, ApiError> {
    let id = parse_hash(&id, "the record id")?.to_hex();
    listed(
        &ledger,
        async |s| crate::index::log(s, &id, page.order(), page.cursor(), page.limit()).await,
        |e| e,
    )
    .await
}

/// Which of an agency's shares to list.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SharesQuery {
    /// `in`: records other agencies shared with it; `out`: its records shared with others.
    pub direction: crate::index::Direction,
}

#[utoipa::path(
    get,
    path = "/v1/sharing/agencies/{agency}/shares",
    operation_id = "getAgencyShares",
    tag = "sharing",
    summary = "An agency's shares: records it received (in) or gave (out), with who asked, why and on what basis",
    description = "Newest first by default. Each share is also in its record's log. Names no person: records are opaque ids.",
    params(
        ("agency" = String, Path, description = "The agency's id."),
        SharesQuery,
        PageQuery,
    ),
    responses(
        (status = 200, description = "A page of the agency's shares.", body = Page<crate::index::LogEntry>),
        (status = 400, description = "Not an agency id or direction, or a cursor this list did not hand out (`bad_cursor`).", body = ErrorBody),
        (status = 429, description = "Too many lists at once; retry after `Retry-After`.", body = ErrorBody),
        (status = 503, description = "This node keeps no read model.", body = ErrorBody),
    )
)]
async fn agency_shares(
    State(ledger): State<Ledger>,
    Path(agency): Path<String>,
    Query(which): Query<SharesQuery>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<crate::index::LogEntry>>, ApiError> {
    shares_of(&ledger, &agency, which.direction, &page).await
}

/// A page of `agency`'s shares in `direction` (the route's, and the console's).
pub async fn shares_of(
    ledger: &Ledger,
    agency: &str,
    direction: crate::index::Direction,
    page: &PageQuery,
) -> Result<Json<Page<crate::index::LogEntry>>, ApiError> {
    check_agency(agency)?;
    listed(
        ledger,
        async |s| {
            crate::index::shares(
                s,
                agency,
                direction,
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

fn check_agency(agency: &str) -> Result<(), ApiError> {
    if agency.is_empty() || agency.len() > civitas_core::limits::AGENCY_ID_MAX_BYTES {
        return Err(ApiError::bad_request(format!(
            "an agency id is 1 to {} bytes",
            civitas_core::limits::AGENCY_ID_MAX_BYTES
        )));
    }
    Ok(())
}

#[utoipa::path(
    get,
    path = "/v1/sharing/consents/{id}",
    operation_id = "getConsent",
    tag = "sharing",
    summary = "A consent: record, subject, recipient, purpose, expiry, withdrawal",
    params(
        ("id" = u64, Path, description = "The consent's number."),
        ProofQuery,
    ),
    responses(
        (status = 200, description = "The consent at the latest finalized height.", body = StateValue),
        (status = 400, description = "Not a number.", body = ErrorBody),
        (status = 404, description = "No such consent.", body = ErrorBody),
    )
)]
async fn consent(
    State(ledger): State<Ledger>,
    Path(id): Path<String>,
    Query(query): Query<ProofQuery>,
) -> Result<Json<StateValue>, ApiError> {
    let id = parse_number(&id, "the consent number")?;
    found_or_404(
        &ledger,
        consent_key(id),
        query.proof,
        format!("consent {id} does not exist"),
    )
    .await
}

#[utoipa::path(
    get,
    path = "/v1/sharing/vaults/{agency}",
    operation_id = "getVault",
    tag = "sharing",
    summary = "An agency's vault: its account (whose encryption key records are wrapped to) and address",
    params(
        ("agency" = String, Path, description = "The agency's id."),
        ProofQuery,
    ),
    responses(
        (status = 200, description = "The vault at the latest finalized height.", body = StateValue),
        (status = 400, description = "Not an agency id.", body = ErrorBody),
        (status = 404, description = "The agency has named no vault.", body = ErrorBody),
    )
)]
async fn vault(
    State(ledger): State<Ledger>,
    Path(agency): Path<String>,
    Query(query): Query<ProofQuery>,
) -> Result<Json<StateValue>, ApiError> {
    check_agency(&agency)?;
    found_or_404(
        &ledger,
        vault_key(&agency),
        query.proof,
        format!("agency {agency} has named no vault"),
    )
    .await
}

/// A legal basis in force.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LegalBasis {
    /// The policy's id: what an instruction cites as its `basis`.
    pub id: String,
    /// The law or consent it stands for (its `@basis` annotation).
    pub basis: String,
    /// What it allows (its `@description`).
    pub description: Option<String>,
    /// Its Cedar text: the actions and conditions it covers.
    pub text: String,
}

/// The legal bases in force.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LegalBases {
    /// The policy set's version.
    pub version: u64,
    /// The legal bases, by id.
    pub bases: Vec<LegalBasis>,
    /// The height they were read at.
    pub height: u64,
}

#[utoipa::path(
    get,
    path = "/v1/sharing/bases",
    operation_id = "getLegalBases",
    tag = "sharing",
    summary = "The legal bases in force: the permit policies with a @basis annotation",
    description = "Instructions that register, read, share or erase personal data cite one of these by id; the ledger accepts the citation only if that policy is one of those that allowed the instruction. Governance adopts, changes and repeals them.",
    responses(
        (status = 200, description = "The legal bases in force.", body = LegalBases),
        (status = 503, description = "No block is final yet (`unavailable`): try again.", body = ErrorBody),
    )
)]
async fn bases(State(ledger): State<Ledger>) -> Result<Json<LegalBases>, ApiError> {
    let (head, height) = ledger.required_at::<PolicyHead>(head_key()).await?;
    let record: PolicySetRecord = ledger.required(version_key(head.version)).await?;
    let bases = record
        .policies
        .into_iter()
        .filter_map(|entry| {
            let summary = civitas_kit::authz::summarize(&entry.text);
            let basis = summary.basis?;
            Some(LegalBasis {
                id: entry.id,
                basis,
                description: summary.description,
                text: entry.text,
            })
        })
        .collect();
    Ok(Json(LegalBases {
        version: head.version,
        bases,
        height,
    }))
}
