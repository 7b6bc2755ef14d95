//! Governance's routes: its settings and the validator sets, proposals, epochs, the agencies
//! in force, and the authorization policies (which only governance changes).

use crate::state::{GovernanceConfig, config_key, next_validators_key, protocol_key};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use civitas_core::bundle::spaces;
use civitas_core::governance::ValidatorSet;
use civitas_identity::state::{Agency, agency_key};
use civitas_kit::authz::{head_key, pending_key, schema_key, version_key};
use civitas_kit::http::{
    ApiError, ErrorBody, ProofQuery, StateValue, found_or_404, key, read_value,
};
use civitas_kit::ledger::Ledger;
use serde_json::json;
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

/// The agencies in force, each with the validators it runs this epoch and will run next.
#[utoipa::path(
    get,
    path = "/v1/agencies",
    operation_id = "listAgencies",
    tag = "identity",
    summary = "The agencies in force",
    description = "Each agency in force with its id, full name, the height it joined at (0 for a founding agency) and the validator keys it runs this epoch and next. Retired agencies are not listed; their records stay at /v1/agencies/{id}.",
    responses(
        (status = 200, description = "The agencies in force.", body = Object),
    )
)]
async fn agencies(State(ledger): State<Ledger>) -> Result<Json<serde_json::Value>, ApiError> {
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
    let runs = |agency: &str, set: &ValidatorSet| -> Vec<String> {
        set.validators
            .iter()
            .filter(|v| v.agency == agency)
            .map(|v| v.key.to_hex())
            .collect()
    };
    let agencies: Vec<serde_json::Value> = list
        .iter()
        .map(|a| {
            json!({
                "id": a.id,
                "name": a.name,
                "joined_height": a.joined_height,
                "validators": runs(&a.id, &current),
                "next_validators": runs(&a.id, &next),
            })
        })
        .collect();
    Ok(Json(
        json!({ "agencies": agencies, "height": proven.height }),
    ))
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
        (status = 200, description = "Governance overview.", body = Object),
    )
)]
async fn governance(State(ledger): State<Ledger>) -> Result<Json<serde_json::Value>, ApiError> {
    let (config, height) = read_value(&ledger, config_key()).await?;
    let (next, _) = read_value(&ledger, next_validators_key()).await?;
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
    Ok(Json(json!({
        "threshold": config["threshold"],
        "agencies": config["agencies"],
        "next_proposal": config["next_proposal"],
        "epoch": epoch,
        "epoch_length": genesis.epoch_length,
        "next_epoch_starts_at": genesis.last_height_of(epoch).saturating_add(1),
        "validators": current.validators,
        "next_validators": next["validators"],
        "protocol": protocol,
        "height": height,
    })))
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
        (status = 200, description = "The policy set in force.", body = Object),
    )
)]
async fn policies(State(ledger): State<Ledger>) -> Result<Json<serde_json::Value>, ApiError> {
    let (head, height) = read_value(&ledger, head_key()).await?;
    let version = head["version"].as_u64().unwrap_or(0);
    let (record, _) = read_value(&ledger, version_key(version)).await?;
    let (schema, _) = read_value(&ledger, schema_key()).await?;
    let pending = ledger.state(pending_key()).await?;
    let pending = pending
        .value
        .as_deref()
        .and_then(|bytes| ledger.view(spaces::AUTHZ_PENDING, bytes));
    Ok(Json(json!({
        "version": version,
        "effective_height": head["effective_height"],
        "proposal": record["proposal"],
        "digest": head["digest"],
        "schema_digest": head["schema_digest"],
        "policies": describe_policies(&record["policies"]),
        "schema": schema,
        "pending": pending,
        "height": height,
    })))
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
        (status = 200, description = "The policy set.", body = Object),
        (status = 400, description = "The version is not a number.", body = ErrorBody),
        (status = 404, description = "No such version.", body = ErrorBody),
    )
)]
async fn policy_version(
    State(ledger): State<Ledger>,
    Path(version): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let key = key(&ledger, spaces::AUTHZ_VERSION, &version)?;
    let proven = ledger.state(key).await?;
    let Some(bytes) = proven.value else {
        return Err(ApiError::not_found(format!(
            "policy set version {version} does not exist"
        )));
    };
    let mut record = ledger.view(spaces::AUTHZ_VERSION, &bytes).ok_or_else(|| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "corrupt_state",
            "the stored policy set does not decode",
        )
    })?;
    record["policies"] = describe_policies(&record["policies"]);
    record["height"] = json!(proven.height);
    Ok(Json(record))
}

/// Each policy with its effect and description, read from its text.
fn describe_policies(policies: &serde_json::Value) -> serde_json::Value {
    let list = policies.as_array().cloned().unwrap_or_default();
    serde_json::Value::Array(
        list.into_iter()
            .map(|mut entry| {
                let text = entry["text"].as_str().unwrap_or("");
                let summary = civitas_kit::authz::summarize(text);
                entry["effect"] = json!(summary.effect);
                entry["description"] = json!(summary.description);
                entry
            })
            .collect(),
    )
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
