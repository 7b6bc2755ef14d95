//! A module's HTTP routes: the errors every route answers with, the view of a state value,
//! and the helpers routes share (reading a record or answering 404, a proof bundle's answer,
//! parsing ids).
//!
//! A module declares its routes in [`crate::Module::routes`]: each handler carries its
//! `#[utoipa::path]` declaration and is registered with `utoipa_axum::routes!`, so the API's
//! OpenAPI document describes it from the same declaration. Every route's state is the
//! [`Ledger`]: reads of the latest finalized state, never the node itself.

use crate::ledger::{Ledger, QueryError};
use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use civitas_core::bundle::{ProofBundle, StateKey};
use civitas_core::hash::Hash32;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use utoipa_axum::router::OpenApiRouter;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: String,
    /// What happened and what to do.
    pub message: String,
}

/// The body of every error answer.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The code and message of an error answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, such as `not_found` or `bad_nonce`.
    pub code: String,
    /// What happened and what to do next, for a person.
    pub message: String,
}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_string(),
            message: message.into(),
        }
    }

    /// 400 with code `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 404 with code `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 500 with code `internal`: `detail` (what failed inside the node) goes to the node's log
    /// for its operator; the client is told only that something failed.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "a request failed inside the node");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the node could not read its own records; its operator can find why in the node's \
             log",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = Json(ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
            },
        })
        .into_response();
        *response.status_mut() = self.status;
        if self.status == StatusCode::TOO_MANY_REQUESTS
            || self.status == StatusCode::SERVICE_UNAVAILABLE
        {
            response
                .headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<QueryError> for ApiError {
    fn from(error: QueryError) -> Self {
        match error {
            QueryError::NotFound(m) => Self::new(StatusCode::NOT_FOUND, "not_found", m),
            QueryError::Unavailable(m) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", m)
            }
            // What failed inside the node is for its operator, not for whoever asked.
            QueryError::Internal(detail) => Self::internal(detail),
            QueryError::Busy => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "overloaded",
                QueryError::Busy.to_string(),
            ),
        }
    }
}

impl From<civitas_index::IndexError> for ApiError {
    fn from(error: civitas_index::IndexError) -> Self {
        use civitas_index::IndexError;
        match error {
            IndexError::Cursor(_) => {
                Self::new(StatusCode::BAD_REQUEST, "bad_cursor", error.to_string())
            }
            IndexError::Busy => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "overloaded",
                error.to_string(),
            ),
            IndexError::NotFound(_) => {
                Self::new(StatusCode::NOT_FOUND, "not_found", error.to_string())
            }
            IndexError::Limit(_) => {
                Self::new(StatusCode::CONFLICT, "limit_reached", error.to_string())
            }
            other => Self::internal(other),
        }
    }
}

/// An account a list is filtered by (`?vendor=<64 hex digits>`), or 400 naming the parameter.
pub fn account_query(
    text: Option<&str>,
    what: &str,
) -> Result<Option<civitas_core::crypto::AccountId>, ApiError> {
    text.map(civitas_core::crypto::AccountId::from_hex)
        .transpose()
        .map_err(|_| ApiError::bad_request(format!("{what} must be 64 hexadecimal characters")))
}

/// A name a list is filtered by (`?agency=`): at most 64 characters, or 400 naming the
/// parameter.
pub fn name_query(text: Option<String>, what: &str) -> Result<Option<String>, ApiError> {
    match text {
        Some(t) if t.len() > 64 => Err(ApiError::bad_request(format!(
            "{what} is at most 64 characters"
        ))),
        other => Ok(other),
    }
}

/// A consistent view of the node's read model, for one list.
pub async fn snapshot(ledger: &Ledger) -> Result<civitas_index::query::Snapshot, ApiError> {
    Ok(ledger.reads()?.index.snapshot().await?)
}

/// A page of a list read by `list` from one snapshot of the node's read model, each item shown
/// as `view` shows it.
pub async fn listed<T, U>(
    ledger: &Ledger,
    list: impl AsyncFnOnce(
        &mut civitas_index::query::Snapshot,
    ) -> Result<civitas_index::query::Page<U>, civitas_index::IndexError>,
    view: impl Fn(U) -> T,
) -> Result<axum::Json<Page<T>>, ApiError> {
    let mut snapshot = snapshot(ledger).await?;
    let found = list(&mut snapshot).await?;
    snapshot.finish().await?;
    Ok(axum::Json(Page::of(found, view)))
}

/// `?order=&cursor=&limit=`: a page of a list from the read model.
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// `newest` first (the default) or `oldest` first.
    #[param(inline)]
    pub order: Option<civitas_index::query::Order>,
    /// The `next` of the page before, to continue after it.
    #[param(max_length = 64)]
    pub cursor: Option<String>,
    /// Most items to return (1 to 100; default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

impl PageQuery {
    /// The order asked for.
    pub fn order(&self) -> civitas_index::query::Order {
        self.order.unwrap_or_default()
    }

    /// The cursor, if any.
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// Items on the page: `limit` within 1 to 100, 20 by default.
    pub fn limit(&self) -> u32 {
        self.limit
            .unwrap_or(civitas_index::query::PAGE_DEFAULT)
            .clamp(1, civitas_index::query::PAGE_MAX)
    }
}

/// A page of a list from the read model: the height of the ledger its items reflect (all
/// from that one height), the items, and the cursor of the next page.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// The height the items reflect: every item is from the index as of this block.
    pub height: u64,
    /// The items.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// The index's page, each item shown as `view` shows it.
    pub fn of<U>(page: civitas_index::query::Page<U>, view: impl Fn(U) -> T) -> Self {
        Self {
            height: page.height,
            items: page.items.into_iter().map(view).collect(),
            next: page.next,
        }
    }
}

/// A module's routes, grouped in the document under the tag `name` (the module's name) with
/// `description`. Register each handler with `.routes(utoipa_axum::routes!(handler))`.
pub fn router(name: &str, description: &str) -> OpenApiRouter<Ledger> {
    let mut document = utoipa::openapi::OpenApi::default();
    document.tags = Some(vec![
        utoipa::openapi::tag::TagBuilder::new()
            .name(name)
            .description(Some(description))
            .build(),
    ]);
    OpenApiRouter::with_openapi(document)
}

/// A value of the authenticated state, read at the latest finalized height.
#[derive(Serialize, utoipa::ToSchema)]
pub struct StateValue {
    /// Its key space, such as `notary/document`.
    pub space: String,
    /// Its key id, in hex.
    pub id: String,
    /// The finalized height it was read at.
    pub height: u64,
    /// The state root of that height, which the proof is against.
    pub state_root: Hash32,
    /// Whether the key holds a value.
    pub found: bool,
    /// The value's canonical encoding, in hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_hex: Option<String>,
    /// The value decoded, for known spaces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// The state proof (of the value or of its absence) against `state_root`, in hex, when
    /// asked for with `?proof=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proof_hex: Option<String>,
}

/// `?proof=true`: include the state proof.
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProofQuery {
    /// Include the state proof (hex) against `state_root` (default false).
    #[serde(default)]
    #[param(required = false)]
    pub proof: bool,
}

/// The value at `key` (or its absence) at the latest finalized height, decoded where its space
/// is known, with its proof if `with_proof`.
pub async fn read_state(
    ledger: &Ledger,
    key: StateKey,
    with_proof: bool,
) -> Result<StateValue, ApiError> {
    let proven = ledger.state(key.clone()).await?;
    Ok(StateValue {
        id: hex::encode(&key.id),
        height: proven.height,
        state_root: proven.root,
        found: proven.value.is_some(),
        value_hex: proven.value.as_ref().map(hex::encode),
        value: proven
            .value
            .as_ref()
            .and_then(|value| ledger.view(&key.space, value)),
        proof_hex: with_proof.then(|| hex::encode(&proven.proof)),
        space: key.space,
    })
}

/// The value at `key` as [`read_state`] reads it, or 404 saying `missing` when there is none.
pub async fn found_or_404(
    ledger: &Ledger,
    key: StateKey,
    with_proof: bool,
    missing: String,
) -> Result<Json<StateValue>, ApiError> {
    let view = read_state(ledger, key, with_proof).await?;
    if !view.found {
        return Err(ApiError::not_found(missing));
    }
    Ok(Json(view))
}

/// The key of `id` (as text) in space `space`, or 400 saying how its ids are written.
pub fn key(ledger: &Ledger, space: &str, id: &str) -> Result<StateKey, ApiError> {
    crate::space::key_from_text(ledger.spaces(), space, id)
        .map_err(|e| ApiError::bad_request(e.to_string()))
}

/// Where the proof bundle of `key` is served: `/v1/proofs/state/<space>/<id>`, each piece of
/// the id between slashes percent-encoded (an id such as an OCDS `ocid` may hold `?` or `#`).
pub fn proof_url(ledger: &Ledger, key: &StateKey) -> String {
    let id = ledger
        .space(&key.space)
        .and_then(|space| space.id.text(&key.id))
        .unwrap_or_else(|| hex::encode(&key.id));
    let id: Vec<String> = id
        .split('/')
        .map(crate::portal::html::url_segment)
        .collect();
    format!("/v1/proofs/state/{}/{}", key.space, id.join("/"))
}

/// A proof bundle as the answer: its canonical bytes, to save as a file.
pub fn bundle_response(bundle: ProofBundle) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/vnd.civitas.proof-bundle"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"proof.cvpb\"",
            ),
        ],
        bundle.to_bytes(),
    )
        .into_response()
}

/// A 32-byte hash written in hex, or 400 saying that `what` must be one.
pub fn parse_hash(text: &str, what: &str) -> Result<Hash32, ApiError> {
    Hash32::from_hex(text)
        .map_err(|_| ApiError::bad_request(format!("{what} must be 64 hexadecimal characters")))
}

/// Bytes sent as they are (a transaction's or a proof bundle's encoding), in a document.
pub struct Binary;

impl utoipa::PartialSchema for Binary {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .content_media_type("application/octet-stream")
            .description(Some(
                "Raw bytes, in the canonical encoding (docs/PROOFS.md).",
            ))
            .into()
    }
}

impl utoipa::ToSchema for Binary {}

/// 429 with `Retry-After`.
pub fn busy(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "overloaded",
        format!("{what}; try again in a moment"),
    )
}

/// Shared budgets handlers draw from.
#[derive(Clone)]
pub struct Budgets {
    heavy: Arc<Semaphore>,
    streams: Arc<Semaphore>,
}

impl Budgets {
    /// Budgets of `heavy` CPU-heavy requests and `streams` event streams at once (at least
    /// one of each).
    pub fn new(heavy: usize, streams: usize) -> Self {
        Self {
            heavy: Arc::new(Semaphore::new(heavy.max(1))),
            streams: Arc::new(Semaphore::new(streams.max(1))),
        }
    }

    /// Runs CPU-heavy `work` on a blocking thread, if one of the heavy slots is free.
    pub async fn heavy<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit = self.heavy_slot()?;
        run_heavy(permit, work).await
    }

    /// Reads `body` (at most `max_bytes`) and runs CPU-heavy `work` on it, taking a heavy slot
    /// before reading, so that requests refused for load never make the node hold their body.
    pub async fn heavy_body<T: Send + 'static>(
        &self,
        body: axum::body::Body,
        max_bytes: usize,
        work: impl FnOnce(axum::body::Bytes) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit = self.heavy_slot()?;
        let bytes = axum::body::to_bytes(body, max_bytes).await.map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("the body is over {max_bytes} bytes, or was not received whole"),
            )
        })?;
        run_heavy(permit, move || work(bytes)).await
    }

    fn heavy_slot(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.heavy
            .clone()
            .try_acquire_owned()
            .map_err(|_| busy("the node is already verifying or validating as much as it can"))
    }

    /// A slot for one event stream, held as long as the stream is open.
    pub fn stream(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.streams
            .clone()
            .try_acquire_owned()
            .map_err(|_| busy("this node serves as many event streams as it can"))
    }
}

/// Runs `work` on a blocking thread, holding `permit` until it is done.
async fn run_heavy<T: Send + 'static>(
    permit: OwnedSemaphorePermit,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let result = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work()
    })
    .await;
    result.map_err(|e| {
        tracing::error!(error = %e, "a heavy request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the request failed inside the node; its operator can find why in the node's log",
        )
    })
}

/// Most records one list returns.
pub const LIST_MAX: usize = 500;

/// `?limit=&before=`: a page of a list that is newest first.
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Most records to return (1 to 500; default 100).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
    /// Continue below this number (lists are newest first).
    pub before: Option<u64>,
}

impl ListQuery {
    /// The number of records to return: `limit` within 1 to [`LIST_MAX`], 100 by default.
    pub fn limit(&self) -> usize {
        self.limit.unwrap_or(100).clamp(1, LIST_MAX)
    }
}

/// A page of records numbered from 1 (below `next`, the number the next one gets), newest
/// first: those at `key(n)` for `n` from `query.before` (or `next`) down, at most
/// `query.limit()` of them, and the number to continue below, if any are left.
pub async fn newest_first<T: commonware_codec::Decode<Cfg = ()>>(
    ledger: &Ledger,
    query: &ListQuery,
    next: u64,
    key: fn(u64) -> StateKey,
) -> Result<(Vec<T>, Option<u64>), ApiError> {
    let mut n = query.before.unwrap_or(next).min(next);
    let mut records = Vec::new();
    while n > 1 && records.len() < query.limit() {
        n -= 1;
        if let Some(record) = ledger.value::<T>(key(n)).await? {
            records.push(record);
        }
    }
    Ok((records, (n > 1).then_some(n)))
}

/// The record at `key`, decoded, or 404 saying `missing`.
pub async fn must<T: commonware_codec::Decode<Cfg = ()>>(
    ledger: &Ledger,
    key: StateKey,
    missing: String,
) -> Result<T, ApiError> {
    ledger
        .value(key)
        .await?
        .ok_or_else(|| ApiError::not_found(missing))
}

/// A route's typed answer as JSON, for a page that shows what the API answers.
pub fn as_json<T: Serialize>(
    answer: Result<Json<T>, ApiError>,
) -> Result<Json<serde_json::Value>, ApiError> {
    answer.map(|Json(view)| Json(serde_json::to_value(view).unwrap_or_default()))
}

/// A record with where its proof bundle is served: the record's fields and `proof_bundle`.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct WithProof<T> {
    /// The record.
    #[serde(flatten)]
    pub record: T,
    /// The address of the record's proof bundle, which checks offline against the genesis
    /// alone (`/v1/proofs/state/<space>/<id>`).
    pub proof_bundle: String,
}

impl<T> WithProof<T> {
    /// `record`, stored at `key`, with the address of its proof bundle.
    pub fn new(ledger: &Ledger, record: T, key: &StateKey) -> Self {
        Self {
            record,
            proof_bundle: proof_url(ledger, key),
        }
    }
}

/// The record at `key` with the address of its proof bundle, or 404 saying `missing`.
pub async fn record<T: commonware_codec::Decode<Cfg = ()> + Serialize>(
    ledger: &Ledger,
    key: StateKey,
    missing: String,
) -> Result<Json<WithProof<T>>, ApiError> {
    let record: T = must(ledger, key.clone(), missing).await?;
    Ok(Json(WithProof::new(ledger, record, &key)))
}

/// A number in a path, or 400 saying that `what` must be one.
pub fn parse_number(text: &str, what: &str) -> Result<u64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::bad_request(format!("{what} must be a number; got {text:?}")))
}
