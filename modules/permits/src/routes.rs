//! The permits' routes: a permit type with its definition in force, any version of it, an
//! application, a licence with where it stands now, and a type's figures; each with the
//! address of the proof bundle that checks it offline against the genesis.

use crate::state::{
    Application, Licence, LicenceStatus, PermitType, TypeStats, TypeVersion, application_key,
    licence_key, stats_key, type_key, type_version_key,
};
use axum::Json;
use axum::extract::{Path, Query, State};
use civitas_core::permits::{PermitTypeDef, TYPE_ID_MAX_BYTES};
use civitas_core::time::TimestampMs;
use civitas_kit::http::{
    ApiError, ErrorBody, Page, PageQuery, WithProof, account_query, listed, must, name_query,
    parse_number, proof_url, record, snapshot,
};
use civitas_kit::ledger::Ledger;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The permits' routes.
pub fn routes() -> OpenApiRouter<Ledger> {
    civitas_kit::http::router(
        "permits",
        "Permits and licences: permit types agencies define, applications and their steps, \
         licences and where they stand, each type's figures.",
    )
    .routes(routes!(types))
    .routes(routes!(applications))
    .routes(routes!(licences))
    .routes(routes!(permit_type))
    .routes(routes!(type_version))
    .routes(routes!(statistics))
    .routes(routes!(application))
    .routes(routes!(timeline))
    .routes(routes!(licence))
}

fn type_id(text: &str) -> Result<String, ApiError> {
    civitas_core::codec::check_ident("permit type", text, TYPE_ID_MAX_BYTES)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(text.to_string())
}

/// A permit type in the list: what a citizen choosing one needs.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TypeSummary {
    /// Its id.
    pub permit_type: String,
    /// The agency that defined it.
    pub agency: String,
    /// The version in force.
    pub version: u32,
    /// Its name, as the public sees it.
    pub title: String,
    /// What it permits and who needs it.
    pub description: String,
    /// The fee, if any.
    pub fee: Option<civitas_core::money::Money>,
    /// Whether its licences are on the public register.
    pub public_register: bool,
    /// The address of the type's proof bundle.
    pub proof_bundle: String,
}

/// The permit types that take applications.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TypeList {
    /// The types, by id.
    pub types: Vec<TypeSummary>,
}

/// `?agency=`.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TypesQuery {
    /// Only this agency's types.
    pub agency: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/permits/types",
    operation_id = "listPermitTypes",
    tag = "permits",
    summary = "The permit types that take applications, with their titles and fees",
    params(TypesQuery),
    responses(
        (status = 200, description = "The types in force (not retired), by id; each read from the ledger, with its proof bundle's address.", body = TypeList),
        (status = 400, description = "An agency id too long.", body = ErrorBody),
        (status = 429, description = "Too many lists at once; retry after `Retry-After`.", body = ErrorBody),
        (status = 503, description = "This node keeps no read model.", body = ErrorBody),
    )
)]
pub async fn types(
    State(ledger): State<Ledger>,
    Query(query): Query<TypesQuery>,
) -> Result<Json<TypeList>, ApiError> {
    let agency = name_query(query.agency, "agency")?;
    let mut snapshot = snapshot(&ledger).await?;
    let listed = crate::index::types(&mut snapshot, agency.as_deref()).await?;
    snapshot.finish().await?;
    let mut types = Vec::new();
    for item in listed.into_iter().filter(|t| !t.retired) {
        // The ledger says what is in force; the read model only found the ids.
        let Some(found) = ledger
            .value::<PermitType>(type_key(&item.permit_type))
            .await?
        else {
            continue;
        };
        if found.retired.is_some() {
            continue;
        }
        let Some(version) = ledger
            .value::<TypeVersion>(type_version_key(&found.id, found.version))
            .await?
        else {
            continue;
        };
        let definition = version.definition;
        types.push(TypeSummary {
            proof_bundle: proof_url(&ledger, &type_key(&found.id)),
            permit_type: found.id,
            agency: found.agency,
            version: found.version,
            title: definition.title,
            description: definition.description,
            fee: definition.fee,
            public_register: definition.register == civitas_core::permits::Register::Public,
        });
    }
    Ok(Json(TypeList { types }))
}

/// `?agency=&step=&status=&permit_type=&applicant=&overdue=`.
#[derive(serde::Deserialize, utoipa::IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct ApplicationsQuery {
    /// Only this agency's applications.
    pub agency: Option<String>,
    /// Only those at this step.
    pub step: Option<String>,
    /// Only those standing so.
    #[param(pattern = "^(awaiting_fee|in_progress|awaiting_applicant|decided|appealed)$")]
    pub status: Option<String>,
    /// Only those of this type.
    pub permit_type: Option<String>,
    /// Only those of this applicant (account id, 64 hex digits).
    pub applicant: Option<String>,
    /// Only those whose current step's deadline passed (`true`), or not (`false`).
    pub overdue: Option<bool>,
}

#[utoipa::path(
    get,
    path = "/v1/permits/applications",
    operation_id = "listApplications",
    tag = "permits",
    summary = "Applications where they stand: an agency's queue per step (order=oldest: the longest waiting first), an applicant's own, a type's",
    params(ApplicationsQuery, PageQuery),
    responses(
        (status = 200, description = "A page of applications, by when they entered where they stand, each with its deadline and its proof bundle's address.", body = Page<crate::index::ApplicationItem>),
        (status = 400, description = "An unknown status, a malformed applicant, or a cursor this list did not hand out (`bad_cursor`).", body = ErrorBody),
        (status = 429, description = "Too many lists at once; retry after `Retry-After`.", body = ErrorBody),
        (status = 503, description = "This node keeps no read model.", body = ErrorBody),
    )
)]
pub async fn applications(
    State(ledger): State<Ledger>,
    Query(query): Query<ApplicationsQuery>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<crate::index::ApplicationItem>>, ApiError> {
    if let Some(status) = &query.status
        && !crate::index::status::ALL.contains(&status.as_str())
    {
        return Err(ApiError::bad_request(format!(
            "status is one of {}",
            crate::index::status::ALL.join(", ")
        )));
    }
    let filter = crate::index::ApplicationFilter {
        agency: name_query(query.agency, "agency")?,
        step: name_query(query.step, "step")?,
        status: query.status,
        permit_type: name_query(query.permit_type, "permit_type")?,
        applicant: account_query(query.applicant.as_deref(), "applicant")?.map(|a| a.to_hex()),
        overdue: query.overdue,
    };
    listed(
        &ledger,
        async |s| {
            crate::index::applications(s, &filter, page.order(), page.cursor(), page.limit()).await
        },
        |a| a,
    )
    .await
}

/// `?permit_type=&agency=&holder=&status=`.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LicencesQuery {
    /// Only licences of this type.
    pub permit_type: Option<String>,
    /// Only licences this agency issued.
    pub agency: Option<String>,
    /// Only licences this account holds (64 hex digits).
    pub holder: Option<String>,
    /// Only licences standing so, as of the read model's latest block.
    #[param(pattern = "^(valid|suspended|revoked|expired)$")]
    pub status: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/permits/licences",
    operation_id = "listLicences",
    tag = "permits",
    summary = "The public register: licences of types whose register is public",
    params(LicencesQuery, PageQuery),
    responses(
        (status = 200, description = "A page of licences, newest first, each with its proof bundle's address. A licence of a type whose register is private is not listed; its record is read by its number.", body = Page<crate::index::LicenceItem>),
        (status = 400, description = "An unknown status, a malformed holder, or a cursor this list did not hand out (`bad_cursor`).", body = ErrorBody),
        (status = 429, description = "Too many lists at once; retry after `Retry-After`.", body = ErrorBody),
        (status = 503, description = "This node keeps no read model.", body = ErrorBody),
    )
)]
pub async fn licences(
    State(ledger): State<Ledger>,
    Query(query): Query<LicencesQuery>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<crate::index::LicenceItem>>, ApiError> {
    const STATUSES: &[&str] = &["valid", "suspended", "revoked", "expired"];
    if let Some(status) = &query.status
        && !STATUSES.contains(&status.as_str())
    {
        return Err(ApiError::bad_request(format!(
            "status is one of {}",
            STATUSES.join(", ")
        )));
    }
    let filter = crate::index::RegisterFilter {
        permit_type: name_query(query.permit_type, "permit_type")?,
        agency: name_query(query.agency, "agency")?,
        holder: account_query(query.holder.as_deref(), "holder")?.map(|a| a.to_hex()),
        status: query.status,
    };
    listed(
        &ledger,
        async |s| {
            crate::index::register(s, &filter, page.order(), page.cursor(), page.limit()).await
        },
        |l| l,
    )
    .await
}

/// A permit type with its definition in force.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PermitTypeView {
    /// The type: its agency, version in force and whether it is retired.
    #[serde(flatten)]
    pub permit_type: PermitType,
    /// The definition new applications are filed under.
    pub definition: PermitTypeDef,
    /// The address of the type's proof bundle.
    pub proof_bundle: String,
    /// The address of the proof bundle of the version in force.
    pub definition_proof_bundle: String,
}

#[utoipa::path(
    get,
    path = "/v1/permits/types/{id}",
    operation_id = "getPermitType",
    tag = "permits",
    summary = "A permit type and its definition in force",
    params(("id" = String, Path, description = "The type's id, such as `business-licence`.")),
    responses(
        (status = 200, description = "The type, its definition in force, and their proof bundles' addresses.", body = PermitTypeView),
        (status = 400, description = "Not a permit type id.", body = ErrorBody),
        (status = 404, description = "No such type.", body = ErrorBody),
    )
)]
pub async fn permit_type(
    State(ledger): State<Ledger>,
    Path(id): Path<String>,
) -> Result<Json<PermitTypeView>, ApiError> {
    let id = type_id(&id)?;
    let found: PermitType = must(
        &ledger,
        type_key(&id),
        format!("permit type {id} does not exist"),
    )
    .await?;
    let version_key = type_version_key(&id, found.version);
    let version: TypeVersion = must(
        &ledger,
        version_key.clone(),
        format!("permit type {id} names a version that is not stored"),
    )
    .await?;
    Ok(Json(PermitTypeView {
        proof_bundle: proof_url(&ledger, &type_key(&id)),
        definition_proof_bundle: proof_url(&ledger, &version_key),
        definition: version.definition,
        permit_type: found,
    }))
}

#[utoipa::path(
    get,
    path = "/v1/permits/types/{id}/versions/{version}",
    operation_id = "getPermitTypeVersion",
    tag = "permits",
    summary = "One version of a permit type's definition",
    params(
        ("id" = String, Path, description = "The type's id."),
        ("version" = u32, Path, description = "The version, from 1."),
    ),
    responses(
        (status = 200, description = "The version, who published it and when, with its proof bundle's address.", body = WithProof<TypeVersion>),
        (status = 400, description = "Not a permit type id or version.", body = ErrorBody),
        (status = 404, description = "No such version.", body = ErrorBody),
    )
)]
pub async fn type_version(
    State(ledger): State<Ledger>,
    Path((id, version)): Path<(String, String)>,
) -> Result<Json<WithProof<TypeVersion>>, ApiError> {
    let id = type_id(&id)?;
    let version = u32::try_from(parse_number(&version, "the version")?)
        .map_err(|_| ApiError::bad_request("the version is too large"))?;
    record(
        &ledger,
        type_version_key(&id, version),
        format!("permit type {id} has no version {version}"),
    )
    .await
}

/// One step's figures, read from its counts.
#[derive(Serialize, utoipa::ToSchema)]
pub struct StepFigures {
    /// The step.
    pub step: String,
    /// How many times it was completed (or decided, for the last).
    pub completed: u64,
    /// How many times its deadline passed.
    pub overdue: u64,
    /// Half of the completions took at most this many hours (the bound of the bucket the
    /// median falls in); absent when nothing was counted or it falls beyond the last bound.
    pub median_hours_at_most: Option<u64>,
    /// Nine in ten took at most this many hours; absent likewise.
    pub p90_hours_at_most: Option<u64>,
}

/// A permit type's figures, computed from the ledger, with their proof.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Statistics {
    /// The counts as the ledger keeps them.
    #[serde(flatten)]
    pub counts: TypeStats,
    /// Refusals per thousand applications decided (approved, refused or withdrawn).
    pub refused_per_mille: Option<u64>,
    /// Applications that missed a deadline, per thousand filed.
    pub overdue_per_mille: Option<u64>,
    /// Each step's figures.
    pub step_figures: Vec<StepFigures>,
    /// The address of the counts' proof bundle.
    pub proof_bundle: String,
}

fn per_mille(part: u64, whole: u64) -> Option<u64> {
    (whole > 0).then(|| part.saturating_mul(1_000) / whole)
}

#[utoipa::path(
    get,
    path = "/v1/permits/types/{id}/statistics",
    operation_id = "getPermitStatistics",
    tag = "permits",
    summary = "A permit type's figures: applications, decisions, deadlines missed, time per step",
    params(("id" = String, Path, description = "The type's id.")),
    responses(
        (status = 200, description = "The figures the ledger keeps, what is read from them, and their proof bundle's address.", body = Statistics),
        (status = 400, description = "Not a permit type id.", body = ErrorBody),
        (status = 404, description = "No such type.", body = ErrorBody),
    )
)]
pub async fn statistics(
    State(ledger): State<Ledger>,
    Path(id): Path<String>,
) -> Result<Json<Statistics>, ApiError> {
    let id = type_id(&id)?;
    let _: PermitType = must(
        &ledger,
        type_key(&id),
        format!("permit type {id} does not exist"),
    )
    .await?;
    let counts: TypeStats = ledger.value(stats_key(&id)).await?.unwrap_or(TypeStats {
        permit_type: id.clone(),
        ..TypeStats::default()
    });
    let decided = counts.approved + counts.refused + counts.withdrawn;
    Ok(Json(Statistics {
        refused_per_mille: per_mille(counts.refused, decided),
        overdue_per_mille: per_mille(counts.overdue, counts.applications),
        step_figures: counts
            .steps
            .iter()
            .map(|s| StepFigures {
                step: s.step.clone(),
                completed: s.completed,
                overdue: s.overdue,
                median_hours_at_most: s.percentile_hours(50),
                p90_hours_at_most: s.percentile_hours(90),
            })
            .collect(),
        proof_bundle: proof_url(&ledger, &stats_key(&id)),
        counts,
    }))
}

#[utoipa::path(
    get,
    path = "/v1/permits/applications/{id}",
    operation_id = "getPermitApplication",
    tag = "permits",
    summary = "An application: its step, deadline, decision and appeal",
    params(("id" = u64, Path, description = "The application's number.")),
    responses(
        (status = 200, description = "The application (never its form, which stays in the agency's vault), with its proof bundle's address.", body = WithProof<Application>),
        (status = 400, description = "Not a number.", body = ErrorBody),
        (status = 404, description = "No such application.", body = ErrorBody),
    )
)]
pub async fn application(
    State(ledger): State<Ledger>,
    Path(id): Path<String>,
) -> Result<Json<WithProof<Application>>, ApiError> {
    let id = parse_number(&id, "the application number")?;
    record(
        &ledger,
        application_key(id),
        format!("application {id} does not exist"),
    )
    .await
}

/// A licence and where it stands.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LicenceView {
    /// The licence.
    #[serde(flatten)]
    pub licence: Licence,
    /// Where it stands at `at_time`: `valid`, `suspended`, `revoked` or `expired`.
    pub status: LicenceStatus,
    /// The finalized height the status is read at.
    pub at_height: u64,
    /// That block's time.
    pub at_time: TimestampMs,
    /// The address of its proof bundle, which says "valid until …, not suspended or revoked
    /// at height H" (or what holds instead).
    pub proof_bundle: String,
}

#[utoipa::path(
    get,
    path = "/v1/permits/licences/{id}",
    operation_id = "getLicence",
    tag = "permits",
    summary = "A licence and where it stands: valid, suspended, revoked or expired",
    params(("id" = u64, Path, description = "The licence's number.")),
    responses(
        (status = 200, description = "The licence, its status at the latest finalized block, and its proof bundle's address.", body = LicenceView),
        (status = 400, description = "Not a number.", body = ErrorBody),
        (status = 404, description = "No such licence.", body = ErrorBody),
    )
)]
pub async fn licence(
    State(ledger): State<Ledger>,
    Path(id): Path<String>,
) -> Result<Json<LicenceView>, ApiError> {
    let id = parse_number(&id, "the licence number")?;
    let (at_height, at_time) = (ledger.height(), ledger.time());
    let licence: Licence = must(
        &ledger,
        licence_key(id),
        format!("licence {id} does not exist"),
    )
    .await?;
    Ok(Json(LicenceView {
        status: licence.status(at_time),
        at_height,
        at_time,
        proof_bundle: proof_url(&ledger, &licence_key(id)),
        licence,
    }))
}

#[utoipa::path(
    get,
    path = "/v1/permits/applications/{id}/timeline",
    operation_id = "getApplicationTimeline",
    tag = "permits",
    summary = "An application's timeline: every event about it (filed, fee paid, each step, requests and answers, deadlines passed, the decision, an appeal), oldest first by default",
    params(
        ("id" = u64, Path, description = "The application's number."),
        PageQuery,
    ),
    responses(
        (status = 200, description = "A page of events, each with its block, time and transaction (whose proof bundle proves it).", body = Page<crate::index::TimelineItem>),
        (status = 400, description = "Not a number, or a cursor this list did not hand out (`bad_cursor`).", body = ErrorBody),
        (status = 429, description = "Too many lists at once; retry after `Retry-After`.", body = ErrorBody),
        (status = 503, description = "This node keeps no read model.", body = ErrorBody),
    )
)]
pub async fn timeline(
    State(ledger): State<Ledger>,
    Path(id): Path<String>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<crate::index::TimelineItem>>, ApiError> {
    let id = parse_number(&id, "the application number")?;
    // Oldest first unless asked otherwise: a timeline reads forwards.
    let order = page
        .order
        .unwrap_or(civitas_kit::index::query::Order::Oldest);
    listed(
        &ledger,
        async |s| crate::index::timeline(s, id, order, page.cursor(), page.limit()).await,
        |t| t,
    )
    .await
}
