//! The notary's routes: a document's record by its SHA-256, and the proof bundle of that
//! record (or of its absence).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use civitas_kit::http::{
    ApiError, Binary, ErrorBody, ProofQuery, StateValue, bundle_response, found_or_404, parse_hash,
};
use civitas_kit::ledger::Ledger;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The notary's routes.
pub fn routes() -> OpenApiRouter<Ledger> {
    civitas_kit::http::router("notary", "Anchored documents.")
        .routes(routes!(document))
        .routes(routes!(document_bundle))
}

#[utoipa::path(
    get,
    path = "/v1/notary/documents/{hash}",
    operation_id = "getDocument",
    tag = "notary",
    summary = "A notarised document by its SHA-256",
    params(
        ("hash" = civitas_core::hash::Hash32, Path, description = "SHA-256 of the document's bytes."),
        ProofQuery,
    ),
    responses(
        (status = 200, description = "The value (or its absence) at the latest finalized height.", body = StateValue),
        (status = 404, description = "Never notarised.", body = ErrorBody),
    )
)]
async fn document(
    State(ledger): State<Ledger>,
    Path(hash): Path<String>,
    Query(query): Query<ProofQuery>,
) -> Result<Json<StateValue>, ApiError> {
    let hash = parse_hash(&hash, "the document's SHA-256")?;
    found_or_404(
        &ledger,
        crate::state::document_key(&hash),
        query.proof,
        format!("no document with SHA-256 {hash} has been notarised"),
    )
    .await
}

#[utoipa::path(
    get,
    path = "/v1/proofs/notary/{hash}",
    operation_id = "getDocumentProof",
    tag = "proofs",
    summary = "Proof bundle for a document (or its absence)",
    params(
        ("hash" = civitas_core::hash::Hash32, Path, description = "SHA-256 of the document."),
    ),
    responses(
        (status = 200, description = "A proof bundle (format v4, see docs/PROOFS.md). Verify it offline with `civitas verify`.", body = Binary, content_type = "application/vnd.civitas.proof-bundle"),
        (status = 503, description = "No certified block yet; retry.", body = ErrorBody),
    )
)]
async fn document_bundle(
    State(ledger): State<Ledger>,
    Path(hash): Path<String>,
) -> Result<Response, ApiError> {
    let hash = parse_hash(&hash, "the document's SHA-256")?;
    Ok(bundle_response(
        ledger.bundle(crate::state::document_key(&hash)).await?,
    ))
}
