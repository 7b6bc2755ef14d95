//! The notary's routes: a document's record by its SHA-256, and the proof bundle of that
//! record (or of its absence).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use civitas_kit::http::{
    ApiError, Binary, ErrorBody, Page, PageQuery, ProofQuery, StateValue, account_query,
    bundle_response, found_or_404, listed, name_query, parse_hash,
};
use civitas_kit::ledger::Ledger;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The notary's routes.
pub fn routes() -> OpenApiRouter<Ledger> {
    civitas_kit::http::router("notary", "Anchored documents.")
        .routes(routes!(documents))
        .routes(routes!(document))
        .routes(routes!(document_bundle))
}

/// Most words one search looks for.
pub const SEARCH_WORDS_MAX: usize = 8;

/// `?issuer=&agency=&q=`.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct DocumentsQuery {
    /// Only documents anchored by this official (64 hex digits).
    issuer: Option<String>,
    /// Only documents anchored by this agency.
    agency: Option<String>,
    /// Only documents whose titles hold every word of this text (whole words, any case).
    #[param(max_length = 200)]
    q: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/notary/documents",
    operation_id = "listDocuments",
    tag = "notary",
    summary = "Notarised documents, newest first, by issuer, agency and title words",
    params(DocumentsQuery, PageQuery),
    responses(
        (status = 200, description = "A page of documents, each with its proof bundle's address.", body = Page<crate::index::DocumentItem>),
        (status = 400, description = "A malformed issuer, a search of no words, or a cursor this list did not hand out (`bad_cursor`).", body = ErrorBody),
        (status = 429, description = "Too many lists at once; retry after `Retry-After`.", body = ErrorBody),
        (status = 503, description = "This node keeps no read model.", body = ErrorBody),
    )
)]
async fn documents(
    State(ledger): State<Ledger>,
    Query(query): Query<DocumentsQuery>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<crate::index::DocumentItem>>, ApiError> {
    let issuer = account_query(query.issuer.as_deref(), "issuer")?;
    let words = match query.q.as_deref() {
        Some(q) if q.len() > 200 => {
            return Err(ApiError::bad_request("q is at most 200 characters"));
        }
        Some(q) => {
            let words = civitas_kit::index::project::words(q);
            if words.is_empty() {
                return Err(ApiError::bad_request(
                    "q holds no word to search for (words of 2 to 32 letters or digits)",
                ));
            }
            if words.len() > SEARCH_WORDS_MAX {
                return Err(ApiError::bad_request(format!(
                    "q holds {} words; search with at most {SEARCH_WORDS_MAX}",
                    words.len()
                )));
            }
            words
        }
        None => Vec::new(),
    };
    let filter = crate::index::DocumentFilter {
        issuer,
        agency: name_query(query.agency, "agency")?,
        words,
    };
    listed(
        &ledger,
        async |s| {
            crate::index::documents(s, &filter, page.order(), page.cursor(), page.limit()).await
        },
        |d| d,
    )
    .await
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
