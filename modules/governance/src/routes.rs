//! Governance's routes: its settings and the validator sets, proposals, epochs, the agencies
//! in force, and the authorization policies (which only governance changes).

use crate::state::{GovernanceConfig, config_key, next_validators_key, protocol_key};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use civitas_core::bundle::spaces;
use civitas_core::crypto::PublicKey;
use civitas_core::governance::{ProtocolSchedule, ValidatorEntry, ValidatorSet};
use civitas_core::hash::Hash32;
use civitas_identity::state::{Agency, agency_key};
use civitas_kit::authz::policies::SchemaText;
use civitas_kit::authz::{
    PolicyEntry, PolicyHead, PolicySetRecord, head_key, pending_key, schema_key, version_key,
};
use civitas_kit::http::{
    ApiError, ErrorBody, Page, PageQuery, ProofQuery, StateValue, found_or_404, key, listed,
    name_query,
};
use civitas_kit::ledger::Ledger;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Governance's routes.
pub fn routes() -> OpenApiRouter<Ledger> {
    civitas_kit::http::router(
        "governance",
        "Proposals, validator epochs, protocol versions and authorization policies.",
    )
    .routes(routes!(agencies))
    .routes(routes!(governance))
    .routes(routes!(proposals))
    .routes(routes!(proposal))
    .routes(routes!(epoch_set))
    .routes(routes!(policies))
    .routes(routes!(policy_version))
}

/// The agencies in force, as of the latest state: the governance settings list them, each
/// agency's record gives its name. Retired agencies keep their records (`/v1/agencies/{id}`)
/// but are not listed.
pub async fn agencies_in_force(ledger: &Ledger) -> Result<Vec<Agency>, ApiError> {
    let config: GovernanceConfig = ledger.required(config_key()).await?;
    let mut agencies = Vec::with_capacity(config.agencies.len());
    for id in &config.agencies {
        agencies.push(ledger.required::<Agency>(agency_key(id)).await?);
    }
    Ok(agencies)
}

/// An agency in force and the validators it runs.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AgencyInForce {
    /// Its short id.
    pub id: String,
    /// Its full name.
    pub name: String,
    /// The height it joined at (0 for a founding agency).
    pub joined_height: u64,
    /// The validator keys it runs this epoch.
    pub validators: Vec<PublicKey>,
    /// The validator keys it will run next epoch.
    pub next_validators: Vec<PublicKey>,
}

/// The agencies in force.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AgencyList {
    /// The agencies in force, in ascending id order.
    pub agencies: Vec<AgencyInForce>,
    /// The height they were read at.
    pub height: u64,
}

/// The agencies in force, each with the validators it runs this epoch and will run next.
#[utoipa::path(
    get,
    path = "/v1/agencies",
    operation_id = "listAgencies",
    tag = "identity",
    summary = "The agencies in force",
    description = "Each agency in force with its id, full name, the height it joined at (0 for a founding agency) and the validator keys it runs this epoch and next. Retired agencies are not listed; their records stay at /v1/agencies/{id}.",
    responses(
        (status = 200, description = "The agencies in force.", body = AgencyList),
        (status = 503, description = "No block is final yet (`unavailable`): try again.", body = ErrorBody),
    )
)]
async fn agencies(State(ledger): State<Ledger>) -> Result<Json<AgencyList>, ApiError> {
    let list = agencies_in_force(&ledger).await?;
    // The height answered is the one the next set was read at (the list is read just before).
    let key = next_validators_key();
    let proven = ledger.state(key.clone()).await?;
    let next: ValidatorSet = proven
        .value
        .as_deref()
        .and_then(|bytes| civitas_core::codec::from_slice(bytes, &()).ok())
        .ok_or_else(|| ApiError::internal(format!("{} does not decode", key.display())))?;
    let (_, current) = ledger.epoch();
    let runs = |agency: &str, set: &ValidatorSet| -> Vec<PublicKey> {
        set.validators
            .iter()
            .filter(|v| v.agency == agency)
            .map(|v| v.key.clone())
            .collect()
    };
    let agencies = list
        .into_iter()
        .map(|a| AgencyInForce {
            validators: runs(&a.id, &current),
            next_validators: runs(&a.id, &next),
            id: a.id,
            name: a.name,
            joined_height: a.joined_height,
        })
        .collect();
    Ok(Json(AgencyList {
        agencies,
        height: proven.height,
    }))
}

/// Governance settings, the validator sets and the protocol version.
#[derive(Serialize, utoipa::ToSchema)]
pub struct GovernanceView {
    /// Agencies that must approve a proposal.
    pub threshold: u32,
    /// The agencies in force (only their approvals count), in ascending order.
    pub agencies: Vec<String>,
    /// The number the next proposal gets.
    pub next_proposal: u64,
    /// The current epoch.
    pub epoch: u64,
    /// Blocks per epoch.
    pub epoch_length: u64,
    /// The first height of the next epoch.
    pub next_epoch_starts_at: u64,
    /// This epoch's validators.
    pub validators: Vec<ValidatorEntry>,
    /// The validators the next epoch will have (changed by executed proposals).
    pub next_validators: Vec<ValidatorEntry>,
    /// The protocol version active at the next block, and any upgrade scheduled.
    pub protocol: ProtocolSchedule,
    /// The height the settings were read at.
    pub height: u64,
}

/// Governance settings, the current epoch's validators and the set the next epoch will have.
#[utoipa::path(
    get,
    path = "/v1/governance",
    operation_id = "getGovernance",
    tag = "governance",
    summary = "Governance settings and validator sets",
    description = "The approval threshold, the agencies in force (only their approvals count), the current epoch and its validators, and the validator set the next epoch will have (changed by executed proposals).",
    responses(
        (status = 200, description = "Governance overview.", body = GovernanceView),
        (status = 503, description = "No block is final yet (`unavailable`): try again.", body = ErrorBody),
    )
)]
async fn governance(State(ledger): State<Ledger>) -> Result<Json<GovernanceView>, ApiError> {
    let (config, height) = ledger.required_at::<GovernanceConfig>(config_key()).await?;
    let next: ValidatorSet = ledger.required(next_validators_key()).await?;
    // A chain that started at protocol 1 has no record until its first upgrade is scheduled.
    let protocol = ledger
        .state(protocol_key())
        .await?
        .value
        .and_then(|bytes| civitas_core::codec::from_slice(&bytes, &()).ok())
        .unwrap_or_else(|| {
            civitas_core::governance::ProtocolSchedule::starting(ledger.genesis().protocol)
        })
        // As the next block sees it: an upgrade whose height has come is active.
        .settled(ledger.height() + 1);
    let (epoch, current) = ledger.epoch();
    let genesis = ledger.genesis();
    Ok(Json(GovernanceView {
        threshold: config.threshold,
        agencies: config.agencies,
        next_proposal: config.next_proposal,
        epoch,
        epoch_length: genesis.epoch_length,
        next_epoch_starts_at: genesis.last_height_of(epoch).saturating_add(1),
        validators: current.validators,
        next_validators: next.validators,
        protocol,
        height,
    }))
}

/// A policy with its effect and description, read from its text.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DescribedPolicy {
    /// The `@id` annotation's value.
    pub id: String,
    /// The Cedar text, annotations included.
    pub text: String,
    /// `permit` or `forbid` (`unknown` if the stored text does not parse).
    pub effect: String,
    /// Its `@description` annotation, if any.
    pub description: Option<String>,
    /// Its `@basis` annotation, if it is a legal basis (the law or consent it stands for),
    /// which instructions that share personal data cite by the policy's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basis: Option<String>,
}

fn describe(policies: Vec<PolicyEntry>) -> Vec<DescribedPolicy> {
    policies
        .into_iter()
        .map(|entry| {
            let summary = civitas_kit::authz::summarize(&entry.text);
            DescribedPolicy {
                id: entry.id,
                text: entry.text,
                effect: summary.effect.to_string(),
                description: summary.description,
                basis: summary.basis,
            }
        })
        .collect()
}

/// The policy set in force, its schema, and a set approved for the next block.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PoliciesView {
    /// 1 for genesis, then one more per change.
    pub version: u64,
    /// The first block authorized under it.
    pub effective_height: u64,
    /// The governance proposal that made it (0 for genesis and for a protocol version's new
    /// modules).
    pub proposal: u64,
    /// Digest of its policies.
    pub digest: Hash32,
    /// Digest of the schema they were checked against.
    pub schema_digest: Hash32,
    /// The policies, by id.
    pub policies: Vec<DescribedPolicy>,
    /// The Cedar schema, as text.
    pub schema: String,
    /// A set governance approved that takes effect at the next block; null if none.
    pub pending: Option<PolicySetRecord>,
    /// The height they were read at.
    pub height: u64,
}

/// One version of the policy set.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PolicySetView {
    /// 1 for genesis, then one more per change.
    pub version: u64,
    /// The first block authorized under it.
    pub effective_height: u64,
    /// The governance proposal that made it.
    pub proposal: u64,
    /// The policies, by id.
    pub policies: Vec<DescribedPolicy>,
    /// The height it was read at.
    pub height: u64,
}

/// The policy set in force: version, the height it took effect, the schema and every policy
/// with its text, plus a set approved for the next block, if any.
#[utoipa::path(
    get,
    path = "/v1/policies",
    operation_id = "getPolicies",
    tag = "governance",
    summary = "The authorization policies in force",
    description = "The Cedar policy set in force (version, the height it took effect, the proposal that made it, each policy with its text, effect and description), the schema policies are checked against, and a set approved by governance that takes effect at the next block, if any.",
    responses(
        (status = 200, description = "The policy set in force.", body = PoliciesView),
        (status = 503, description = "No block is final yet (`unavailable`): try again.", body = ErrorBody),
    )
)]
async fn policies(State(ledger): State<Ledger>) -> Result<Json<PoliciesView>, ApiError> {
    let (head, height) = ledger.required_at::<PolicyHead>(head_key()).await?;
    let record: PolicySetRecord = ledger.required(version_key(head.version)).await?;
    let schema: SchemaText = ledger.required(schema_key()).await?;
    let pending = ledger.value::<PolicySetRecord>(pending_key()).await?;
    Ok(Json(PoliciesView {
        version: head.version,
        effective_height: head.effective_height,
        proposal: record.proposal,
        digest: head.digest,
        schema_digest: head.schema_digest,
        policies: describe(record.policies),
        schema: schema.0,
        pending,
        height,
    }))
}

/// Policy set `version`, as it was in force from its `effective_height`.
#[utoipa::path(
    get,
    path = "/v1/policies/{version}",
    operation_id = "getPolicyVersion",
    tag = "governance",
    summary = "One version of the policy set",
    description = "Policy set `version` as it was in force from its `effective_height`: every version ever in force is kept.",
    params(
        ("version" = u64, Path, minimum = 1, description = "The policy set's version: 1 for genesis, one more per change."),
    ),
    responses(
        (status = 200, description = "The policy set.", body = PolicySetView),
        (status = 400, description = "The version is not a number.", body = ErrorBody),
        (status = 404, description = "No such version.", body = ErrorBody),
    )
)]
async fn policy_version(
    State(ledger): State<Ledger>,
    Path(version): Path<String>,
) -> Result<Json<PolicySetView>, ApiError> {
    let key = key(&ledger, spaces::AUTHZ_VERSION, &version)?;
    let proven = ledger.state(key).await?;
    let Some(bytes) = proven.value else {
        return Err(ApiError::not_found(format!(
            "policy set version {version} does not exist"
        )));
    };
    let record: PolicySetRecord = civitas_core::codec::from_slice(&bytes, &()).map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "corrupt_state",
            "the stored policy set does not decode",
        )
    })?;
    Ok(Json(PolicySetView {
        version: record.version,
        effective_height: record.effective_height,
        proposal: record.proposal,
        policies: describe(record.policies),
        height: proven.height,
    }))
}

#[utoipa::path(
    get,
    path = "/v1/governance/proposals/{id}",
    operation_id = "getProposal",
    tag = "governance",
    summary = "A governance proposal",
    params(
        ("id" = u64, Path),
        ProofQuery,
    ),
    responses(
        (status = 200, description = "The value (or its absence) at the latest finalized height.", body = StateValue),
        (status = 404, description = "No such proposal.", body = ErrorBody),
    )
)]
async fn proposal(
    State(ledger): State<Ledger>,
    Path(id): Path<String>,
    Query(query): Query<ProofQuery>,
) -> Result<Json<StateValue>, ApiError> {
    let key = key(&ledger, crate::state::spaces::PROPOSAL, &id)?;
    found_or_404(
        &ledger,
        key,
        query.proof,
        format!("proposal {id} does not exist"),
    )
    .await
}

#[utoipa::path(
    get,
    path = "/v1/epochs/{epoch}",
    operation_id = "getEpoch",
    tag = "governance",
    summary = "The validator set of an epoch",
    params(
        ("epoch" = u64, Path),
        ProofQuery,
    ),
    responses(
        (status = 200, description = "The value (or its absence) at the latest finalized height.", body = StateValue),
        (status = 404, description = "The epoch has not started.", body = ErrorBody),
    )
)]
async fn epoch_set(
    State(ledger): State<Ledger>,
    Path(epoch): Path<String>,
    Query(query): Query<ProofQuery>,
) -> Result<Json<StateValue>, ApiError> {
    let key = key(&ledger, spaces::EPOCH, &epoch)?;
    found_or_404(
        &ledger,
        key,
        query.proof,
        format!("epoch {epoch} has not started: its validator set is recorded by the last block of the epoch before"),
    )
    .await
}

/// `?status=&agency=&action=`.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ProposalsQuery {
    /// Only `open` or only `executed` proposals.
    #[param(pattern = "^(open|executed)$")]
    status: Option<String>,
    /// Only proposals of this agency.
    agency: Option<String>,
    /// Only proposals of this action (`add_validator`, `set_policy`, …).
    #[param(pattern = "^[a-z_]{1,64}$")]
    action: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/governance/proposals",
    operation_id = "listProposals",
    tag = "governance",
    summary = "Proposals, newest first, by status, agency and action",
    params(ProposalsQuery, PageQuery),
    responses(
        (status = 200, description = "A page of proposals; each links to its record and proof.", body = Page<crate::index::ProposalItem>),
        (status = 400, description = "An unknown status, or a cursor this list did not hand out (`bad_cursor`).", body = ErrorBody),
        (status = 429, description = "Too many lists at once; retry after `Retry-After`.", body = ErrorBody),
        (status = 503, description = "This node keeps no read model.", body = ErrorBody),
    )
)]
async fn proposals(
    State(ledger): State<Ledger>,
    Query(query): Query<ProposalsQuery>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<crate::index::ProposalItem>>, ApiError> {
    if let Some(status) = &query.status
        && status != "open"
        && status != "executed"
    {
        return Err(ApiError::bad_request("status is open or executed"));
    }
    let filter = crate::index::ProposalFilter {
        status: query.status,
        agency: name_query(query.agency, "agency")?,
        action: name_query(query.action, "action")?,
    };
    listed(
        &ledger,
        async |s| {
            crate::index::proposals(s, &filter, page.order(), page.cursor(), page.limit()).await
        },
        |p| p,
    )
    .await
}
