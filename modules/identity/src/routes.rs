//! Identity's routes: an account and an agency by id. (The agencies in force, with the
//! validators each runs, are governance's: it keeps that list.)

use crate::state::spaces;
use axum::Json;
use axum::extract::{Path, Query, State};
use civitas_core::crypto::AccountId;
use civitas_kit::http::{ApiError, ErrorBody, ProofQuery, StateValue, found_or_404, key};
use civitas_kit::ledger::Ledger;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Identity's routes.
pub fn routes() -> OpenApiRouter<Ledger> {
    civitas_kit::http::router("identity", "Accounts and agencies.")
        .routes(routes!(account))
        .routes(routes!(agency))
}

#[utoipa::path(
    get,
    path = "/v1/accounts/{id}",
    operation_id = "getAccount",
    tag = "identity",
    summary = "An account",
    params(
        ("id" = AccountId, Path, description = "Account id."),
        ProofQuery,
    ),
    responses(
        (status = 200, description = "The value (or its absence) at the latest finalized height.", body = StateValue),
        (status = 404, description = "Not registered.", body = ErrorBody),
    )
)]
async fn account(
    State(ledger): State<Ledger>,
    Path(id): Path<String>,
    Query(query): Query<ProofQuery>,
) -> Result<Json<StateValue>, ApiError> {
    let key = key(&ledger, spaces::ACCOUNT, &id)?;
    found_or_404(
        &ledger,
        key,
        query.proof,
        format!("account {id} is not registered"),
    )
    .await
}

#[utoipa::path(
    get,
    path = "/v1/agencies/{id}",
    operation_id = "getAgency",
    tag = "identity",
    summary = "An agency, in force or retired",
    params(
        ("id" = String, Path, description = "The agency's id, such as `finance`."),
        ProofQuery,
    ),
    responses(
        (status = 200, description = "The value (or its absence) at the latest finalized height.", body = StateValue),
        (status = 404, description = "No such agency.", body = ErrorBody),
    )
)]
async fn agency(
    State(ledger): State<Ledger>,
    Path(id): Path<String>,
    Query(query): Query<ProofQuery>,
) -> Result<Json<StateValue>, ApiError> {
    let key = key(&ledger, spaces::AGENCY, &id)?;
    found_or_404(
        &ledger,
        key,
        query.proof,
        format!("agency {id} does not exist"),
    )
    .await
}
