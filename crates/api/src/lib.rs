//! The HTTP API every node serves under `/v1`, with its OpenAPI document.
//!
//! JSON in and out (transactions may also be sent as raw bytes), errors as
//! `{"error": {"code", "message"}}`, request bodies bounded, and every read served from finalized
//! data. Live updates stream as server-sent events. Load is bounded per client and in total
//! ([`limits`]), so no client can starve the node's consensus.

pub mod connections;
pub mod error;
pub mod limits;
pub mod lists;
pub mod notify;
pub mod portal;
mod views;
pub mod webhooks;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use civitas_consensus::service::{NodeHandle, TxStatus};
use civitas_core::bundle::{StateKey, spaces};
use civitas_core::crypto::AccountId;
use civitas_core::tx::SignedTx;
use civitas_kit::http::{Binary, ProofQuery, bundle_response, parse_hash, read_state};
use civitas_kit::ledger::Ledger;
use civitas_modules::queries::key_from_text;
use error::{ApiError, ErrorBody};
use futures::Stream;
use futures::StreamExt as _;
use limits::Budgets;
pub use limits::{ApiConfig, Limits};
use serde::Deserialize;
use std::convert::Infallible;
use std::time::Duration;
use tokio_stream::wrappers::BroadcastStream;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

/// Largest request body accepted, in bytes.
pub const REQUEST_BODY_MAX_BYTES: usize = 64 * 1024;
/// Largest body of a batch submission, in bytes.
pub const BATCH_BODY_MAX_BYTES: usize = 2 * 1024 * 1024;
/// Largest OCDS release package accepted for validation, in bytes.
pub const OCDS_BODY_MAX_BYTES: usize = 8 * 1024 * 1024;
/// Largest proof bundle accepted for verification, in bytes.
pub const BUNDLE_BODY_MAX_BYTES: usize = 4 * 1024 * 1024;
/// How long a prepared transaction stays valid unless asked otherwise, in milliseconds.
pub const PREPARED_EXPIRY_MS: u64 = 10 * 60 * 1000;
/// Longest validity a prepared transaction may ask for, in milliseconds: as far ahead as the
/// mempool accepts.
pub const PREPARED_EXPIRY_MAX_MS: u64 = civitas_consensus::gossip::EXPIRY_AHEAD_MAX_MS;
/// Most transactions in one batch submission.
pub const BATCH_TXS_MAX: usize = 256;

/// Builds the router for `node` with the default settings (secure cookies, default limits).
pub fn router(node: NodeHandle) -> Router {
    router_with(node, &ApiConfig::default())
}

/// Builds the router for `node`: the API under `/v1`, the portal, and the limits of `config`
/// around both. Serve it with `into_make_service_with_connect_info::<SocketAddr>()`, so that
/// each client's rate can be counted.
pub fn router_with(node: NodeHandle, config: &ApiConfig) -> Router {
    router_indexed(node, config, None)
}

/// [`router_with`], with the node's read model for the lists (see [`lists::follow`]).
pub fn router_indexed(
    node: NodeHandle,
    config: &ApiConfig,
    reads: Option<civitas_kit::ledger::Reads>,
) -> Router {
    let cell = std::sync::Arc::new(std::sync::OnceLock::new());
    if let Some(reads) = reads {
        let _ = cell.set(reads);
    }
    router_later(node, config, cell)
}

/// [`router_indexed`], with a read model that arrives once it is open (`cell`): until then
/// the lists answer 503.
pub fn router_later(
    node: NodeHandle,
    config: &ApiConfig,
    reads: std::sync::Arc<std::sync::OnceLock<civitas_kit::ledger::Reads>>,
) -> Router {
    let budgets = Budgets::new(config.limits.heavy_concurrency, config.limits.event_streams);
    let (api, mut document) = api_routes().split_for_parts();
    let (modules, module_document) = civitas_modules::routes()
        .merge(lists::routes())
        .split_for_parts();
    document.merge(module_document);
    let document = OpenApiJson(Bytes::from(served(document).to_string()));
    let ledger = Ledger::new(node.clone(), civitas_modules::queries::spaces());
    let ledger = match config.keeps_index {
        true => ledger.with_index_later(reads),
        false => ledger.without_index(),
    };
    let site = civitas_kit::portal::Site {
        ledger: ledger.clone(),
        sections: portal::sections(),
    };
    let routes = api
        .with_state(node.clone())
        .merge(modules.with_state(ledger.clone()))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(json_errors))
        .layer(DefaultBodyLimit::max(REQUEST_BODY_MAX_BYTES))
        .layer(Extension(document))
        .layer(Extension(ledger.clone()))
        .merge(portal::router(node, site.clone(), config))
        .layer(axum::middleware::map_response_with_state(
            site,
            civitas_kit::portal::error_pages,
        ))
        .layer(Extension(budgets))
        .layer(Extension(notify::Notify {
            allow_private_targets: config.webhooks.allow_private_targets,
            ..notify::Notify::default()
        }));
    limits::apply(routes, &config.limits)
}

/// The OpenAPI document every node serves at `/v1/openapi.json`, generated from the handlers'
/// declarations and the types they read and write.
pub fn openapi() -> serde_json::Value {
    let mut document = api_routes().into_openapi();
    document.merge(
        civitas_modules::routes()
            .merge(lists::routes())
            .into_openapi(),
    );
    served(document)
}

/// The document as served: axum's catch-all parameters (`{*path}`) written as OpenAPI path
/// parameters (`{path}`; their descriptions say they may contain slashes), and the doc
/// comments the descriptions come from without rustdoc's link brackets.
fn served(mut document: utoipa::openapi::OpenApi) -> serde_json::Value {
    let paths = std::mem::take(&mut document.paths.paths);
    document.paths.paths = paths
        .into_iter()
        .map(|(path, item)| (path.replace("{*", "{"), item))
        .collect();
    let mut json = serde_json::to_value(document).unwrap_or_default();
    unlink(&mut json);
    add_examples(&mut json);
    json
}

/// The examples of instructions and transactions: what every module's devnet samples sign
/// ([`civitas_modules::examples`]), one per operation they use, on the `Instruction` schema,
/// the body of `POST /v1/transactions/prepare` (named `module.operation`) and, signed, on
/// `POST /v1/transactions`.
fn add_examples(document: &mut serde_json::Value) {
    use commonware_codec::Encode as _;
    use serde_json::{Map, Value, json};
    let examples = match civitas_modules::examples::instruction_examples() {
        Ok(examples) => examples,
        Err(e) => {
            // The document is served without examples; the tests catch this before a release.
            tracing::error!(error = %e, "the OpenAPI examples could not be made");
            return;
        }
    };
    let instructions: Vec<Value> = examples
        .iter()
        .filter_map(|(_, r)| serde_json::to_value(&r.instruction).ok())
        .collect();
    if let Some(schema) = document.pointer_mut("/components/schemas/Instruction")
        && let Some(schema) = schema.as_object_mut()
    {
        schema.insert("examples".into(), Value::Array(instructions));
    }
    let mut prepared = Map::new();
    for (name, recorded) in &examples {
        prepared.insert(
            name.clone(),
            json!({
                "summary": format!("{name}, signed by the devnet's {}", recorded.signer_name),
                "value": {
                    "signer": recorded.signer,
                    "instructions": [recorded.instruction],
                    "memo": "devnet sample data",
                },
            }),
        );
    }
    if let Some(content) = document.pointer_mut(
        "/paths/~1v1~1transactions~1prepare/post/requestBody/content/application~1json",
    ) && let Some(content) = content.as_object_mut()
    {
        content.insert("examples".into(), Value::Object(prepared));
    }
    // The first sample, signed by its key (derived from its name, never a real official's).
    let Some((name, first)) = examples.first() else {
        return;
    };
    let Ok(key) = civitas_kit::samples::Recorder::key_named(&first.signer_name).private_key()
    else {
        return;
    };
    let signed = civitas_core::tx::TxBody {
        chain_id: civitas_modules::examples::sample_genesis().chain_id,
        signer: first.signer,
        nonce: 0,
        expiry: civitas_core::time::TimestampMs(
            civitas_kit::samples::Recorder::START_MS + PREPARED_EXPIRY_MS,
        ),
        instructions: vec![first.instruction.clone()],
        memo: "devnet sample data".into(),
    }
    .into_signed(&[&key]);
    if let Some(content) =
        document.pointer_mut("/paths/~1v1~1transactions/post/requestBody/content/application~1json")
        && let Some(content) = content.as_object_mut()
    {
        content.insert(
            "examples".into(),
            json!({
                "json": {
                    "summary": format!("{name} as a JSON transaction object"),
                    "value": signed,
                },
                "hex": {
                    "summary": format!("{name}, its canonical encoding in hex"),
                    "value": { "transaction": hex::encode(signed.encode()) },
                },
            }),
        );
    }
}

/// Rewrites every description's rustdoc links (``[`name`]``, ``[`name`](path)``) as code
/// (`` `name` ``).
fn unlink(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                match item {
                    serde_json::Value::String(text) if key == "description" => {
                        *text = without_links(text);
                    }
                    _ => unlink(item),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(unlink),
        _ => {}
    }
}

fn without_links(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("[`") {
        let Some(end) = rest[start..].find("`]") else {
            break;
        };
        out.push_str(&rest[..start]);
        out.push_str(&rest[start + 1..start + end + 1]);
        rest = &rest[start + end + 2..];
        // A link target, `(...)`, goes too.
        if let Some(target) = rest.strip_prefix('(')
            && let Some(close) = target.find(')')
        {
            rest = &target[close + 1..];
        }
    }
    out.push_str(rest);
    out
}

/// The served document, serialized once when the router is built.
#[derive(Clone)]
struct OpenApiJson(Bytes);

/// What the document says about the API as a whole, and its groups of operations.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Civitas node API",
        description = "Every Civitas node serves this API. Reads come from finalized blocks \
                       only. Errors are JSON `{\"error\": {\"code\", \"message\"}}` with a \
                       stable code; 429 and 503 answers carry `Retry-After`. This document is \
                       generated from the node's own types and handlers.",
    ),
    tags(
        (name = "node", description = "The node: health, readiness, metrics, status, genesis and this document."),
        (name = "transactions", description = "Submit, prepare and follow transactions."),
        (name = "blocks", description = "Finalized blocks with their certificates."),
        (name = "state", description = "Any value of the authenticated state, with its proof."),
        (name = "proofs", description = "Proof bundles that check offline against the genesis alone."),
        (name = "events", description = "Live updates as server-sent events."),
        (name = "notifications", description = "Each account's inbox (read and unread, live over server-sent events) and webhook subscriptions with their delivery logs: signed requests, decided by the policies."),
        (name = "lists", description = "Lists from the node's read model, with filters and cursors: each page states the height it reflects, and each transaction the address of its proof bundle."),
    ),
    components(schemas(
        civitas_core::instruction::Instruction,
        civitas_core::event::Event,
        civitas_core::tx::SignedTx,
        civitas_core::receipt::Receipt,
    ))
)]
struct Document;

/// The API's routes, each registered with its declaration so that none is missing from the
/// document (a test reads this crate's sources for routes registered any other way).
fn api_routes() -> OpenApiRouter<NodeHandle> {
    let mut base = <Document as utoipa::OpenApi>::openapi();
    base.info.version = env!("CARGO_PKG_VERSION").to_string();
    OpenApiRouter::with_openapi(base)
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
        .routes(routes!(openapi_document))
        .routes(routes!(status))
        .routes(routes!(genesis))
        .routes(routes!(submit))
        .routes(routes!(prepare))
        .routes(routes!(verify_bundle).layer(DefaultBodyLimit::max(BUNDLE_BODY_MAX_BYTES)))
        .routes(routes!(submit_batch).layer(DefaultBodyLimit::max(BATCH_BODY_MAX_BYTES)))
        .routes(routes!(transaction))
        .routes(routes!(latest_block))
        .routes(routes!(block))
        .routes(routes!(state))
        .routes(routes!(nonce))
        .routes(routes!(pending))
        .routes(routes!(transaction_bundle))
        .routes(routes!(state_bundle))
        .routes(routes!(events))
        .merge(notify::routes())
}

/// Answers under `/v1` that are errors but not JSON (the rejections of axum's extractors: a
/// body over its limit, a query or body that does not parse, a method the path does not take)
/// become JSON errors with a stable code, like every other error of the API.
async fn json_errors(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let api = request.uri().path().starts_with("/v1/");
    let response = next.run(request).await;
    let status = response.status();
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if !api || json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    // A rejection's text is a sentence or two; more is cut.
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_string())
        .unwrap_or_default();
    let (code, advice) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ("too_large", "send a smaller body"),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "see /v1/openapi.json for the methods each path takes",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "send JSON with content-type application/json",
        ),
        s if s.is_client_error() => ("bad_request", "see /v1/openapi.json"),
        _ => ("internal", "try again later"),
    };
    let message = if text.is_empty() {
        format!("{}: {advice}", status.canonical_reason().unwrap_or("error"))
    } else {
        format!("{text}; {advice}")
    };
    let mut answer = ApiError::new(status, code, message).into_response();
    // Keep what the client needs from the original answer (the methods a path takes).
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        answer.headers_mut().insert(header::ALLOW, allow.clone());
    }
    answer
}

/// Unknown paths: a JSON error under `/v1`, a page elsewhere.
async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/v1/") {
        ApiError::not_found("no such endpoint; see /v1/openapi.json").into_response()
    } else {
        portal::not_found_page(uri.path())
    }
}

#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "node",
    summary = "Liveness",
    responses(
        (status = 200, description = "The node is running.", body = views::Health),
    )
)]
async fn healthz(State(node): State<NodeHandle>) -> Json<views::Health> {
    Json(views::Health {
        status: "ok",
        height: node.tip().height,
    })
}

/// A node whose latest block is older than this is not ready, in milliseconds.
pub const READY_STALE_MS: u64 = 30_000;

/// What a node's connections look like, for an operator: "connected to 2 of 3 other validators;
/// not connected: health (10.0.0.3:9000), land (10.0.0.4:9000)".
fn connections(peers: &civitas_consensus::service::Peers) -> String {
    let total = peers.connected.len() + peers.missing.len();
    let mut text = format!(
        "connected to {} of {total} other validators",
        peers.connected.len()
    );
    if !peers.missing.is_empty() {
        let missing: Vec<String> = peers
            .missing
            .iter()
            .map(|v| format!("{} ({})", v.agency, v.p2p_address))
            .collect();
        text.push_str(&format!("; not connected: {}", missing.join(", ")));
    }
    text
}

/// The advice that goes with a node that has too few connections to make progress.
const CONNECT_ADVICE: &str = "see the node's log for why (a peer on another genesis, an unresolvable name, a private address without allow_private_ips = true), and check that each missing validator runs and that its p2p port is open to this host";

#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "node",
    summary = "Readiness",
    description = "200 when the node has applied a finalized block less than 30 s old, with how many of the other validators it is connected to; 503 (`not_ready`) otherwise, with the reason, the validators it is not connected to and what to check.",
    responses(
        (status = 200, description = "Ready.", body = views::Ready),
        (status = 503, description = "Not ready (`not_ready`).", body = ErrorBody),
    )
)]
async fn readyz(State(node): State<NodeHandle>) -> Result<Json<views::Ready>, ApiError> {
    let tip = node.tip();
    let peers = node.peers();
    let connections = connections(&peers);
    let advice = if !peers.missing.is_empty() {
        format!("; {CONNECT_ADVICE}")
    } else {
        String::new()
    };
    if tip.height == 0 {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            format!(
                "no block has been finalized yet; the node is starting or cannot reach a quorum of validators ({connections}){advice}"
            ),
        ));
    }
    let age = now_ms().saturating_sub(tip.timestamp.0);
    if age > READY_STALE_MS {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            format!(
                "the latest finalized block ({}) is {} s old; the node is catching up or the network has no quorum ({connections}){advice}",
                tip.height,
                age / 1000
            ),
        ));
    }
    Ok(Json(views::Ready {
        ready: true,
        height: tip.height,
        block_age_ms: age,
        peers: views::PeerCounts {
            connected: peers.connected.len() as u64,
            missing: peers.missing.len() as u64,
        },
    }))
}

#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "node",
    summary = "Prometheus metrics",
    description = "`civitas_*` ledger metrics (height, mempool size, finalized and failed transactions, transactions per second, finality latency histogram) followed by the consensus, p2p and storage metrics of the runtime.",
    responses(
        (status = 200, description = "Prometheus text format 0.0.4.", body = String, content_type = "text/plain"),
    )
)]
async fn metrics(State(node): State<NodeHandle>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        node.metrics(),
    )
        .into_response()
}

#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    operation_id = "openapi",
    tag = "node",
    summary = "This document",
    responses(
        (status = 200, description = "OpenAPI 3.1 document."),
    )
)]
async fn openapi_document(Extension(document): Extension<OpenApiJson>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], document.0).into_response()
}

/// A node more than this many blocks behind the network's finalized tip reports it is catching up.
pub const CATCHING_UP_BLOCKS: u64 = 2;

#[utoipa::path(
    get,
    path = "/v1/status",
    operation_id = "status",
    tag = "node",
    summary = "Chain and node status",
    responses(
        (status = 200, description = "Tip of the finalized chain.", body = views::Status),
    )
)]
async fn status(State(node): State<NodeHandle>) -> Json<views::Status> {
    let network_tip = node.network_tip().await;
    let tip = node.tip();
    let genesis = node.genesis();
    let (epoch, set) = node.epoch();
    let peers = node.peers();
    Json(views::Status {
        chain_id: genesis.chain_id.clone(),
        genesis_hash: genesis.hash(),
        height: tip.height,
        network_height: network_tip,
        catching_up: network_tip > tip.height + CATCHING_UP_BLOCKS,
        block: tip.digest,
        state_root: tip.state_root,
        timestamp: tip.timestamp,
        mempool: node.mempool_len() as u64,
        epoch,
        epoch_ends_at: genesis.last_height_of(epoch),
        validators: set.keys(),
        peers: views::PeersView {
            connected: peers.connected,
            missing: peers.missing,
        },
        protocol: views::ProtocolView {
            next_block: tip.next_protocol,
            known: node.protocols().0.iter().map(|p| p.version).collect(),
            release: env!("CARGO_PKG_VERSION").to_string(),
        },
        halted: node.halted(),
    })
}

#[utoipa::path(
    get,
    path = "/v1/genesis",
    operation_id = "genesis",
    tag = "node",
    summary = "The genesis document",
    responses(
        (status = 200, description = "genesis.json as the node loaded it.", body = civitas_core::genesis::Genesis),
    )
)]
async fn genesis(State(node): State<NodeHandle>) -> Json<civitas_core::genesis::Genesis> {
    Json(node.genesis().clone())
}

/// A transaction's canonical encoding, in hex.
#[derive(Deserialize, utoipa::ToSchema)]
struct HexTransaction {
    /// The encoded transaction, in hex.
    #[schema(pattern = "^([0-9a-fA-F]{2})+$")]
    transaction: String,
}

/// A transaction in JSON: its canonical encoding in hex, or the transaction itself.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // Describes the body for the OpenAPI document; the parser reads the parts.
enum SubmitTransaction {
    Encoded(HexTransaction),
    Json(SignedTx),
}

/// Whether the request body is raw bytes rather than JSON.
fn is_octet_stream(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/octet-stream"))
}

/// Why a hex-encoded transaction could not be read.
enum HexTxError {
    NotHex,
    Malformed(String),
}

fn decode_hex_tx(text: &str) -> Result<SignedTx, HexTxError> {
    let bytes = hex::decode(text.trim()).map_err(|_| HexTxError::NotHex)?;
    SignedTx::decode(&bytes).map_err(|e| HexTxError::Malformed(e.to_string()))
}

fn parse_transaction(headers: &HeaderMap, body: &Bytes) -> Result<SignedTx, ApiError> {
    if is_octet_stream(headers) {
        return SignedTx::decode(body).map_err(|e| ApiError::bad_request(e.to_string()));
    }
    if let Ok(wrapper) = serde_json::from_slice::<HexTransaction>(body) {
        return decode_hex_tx(&wrapper.transaction).map_err(|e| match e {
            HexTxError::NotHex => ApiError::bad_request("\"transaction\" must be hexadecimal"),
            HexTxError::Malformed(reason) => ApiError::bad_request(reason),
        });
    }
    serde_json::from_slice::<SignedTx>(body).map_err(|e| {
        ApiError::bad_request(format!(
            "send the encoded transaction as {{\"transaction\": \"<hex>\"}}, as raw bytes with content-type application/octet-stream, or as a JSON transaction object ({e})"
        ))
    })
}

/// What to prepare: the signer and the instructions.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PrepareRequest {
    /// The account the transaction runs for.
    #[schema(value_type = civitas_core::crypto::AccountId)]
    signer: String,
    /// The instructions, as JSON (`{"module": ..., "op": ..., ...}`).
    #[schema(value_type = Vec<civitas_core::instruction::Instruction>, min_items = 1, max_items = 16)]
    instructions: Vec<serde_json::Value>,
    /// Free text for the public record, at most 256 bytes of UTF-8.
    #[serde(default)]
    #[schema(max_length = 256)]
    memo: String,
    /// How long the transaction may wait for a block, in milliseconds (default 10 minutes,
    /// at most 24 hours).
    expires_in_ms: Option<u64>,
}

/// `POST /v1/transactions/prepare`: the canonical body of a transaction, for a signer that holds
/// its key elsewhere (a browser, a hardware module). The signer signs
/// `varint(len(ns)) || ns || body` with `ns = "civitas/tx/v1"` and submits
/// `{"body": <body>, "signatures": [{"key", "signature"}]}` to `/v1/transactions`. The nonce is
/// the account's next one, counting its transactions still waiting for a block.
#[utoipa::path(
    post,
    path = "/v1/transactions/prepare",
    operation_id = "prepareTransaction",
    tag = "transactions",
    summary = "Prepare a transaction for a signer that keeps its key elsewhere",
    description = "For signers that hold their key outside the node (the portal's browser keys, a hardware module). Give the signer and the instructions as JSON; the node checks each instruction, fills in the chain, the signer's next nonce (counting its transactions still waiting for a block) and an expiry, and returns the body with its canonical encoding. Sign `varint(len(ns)) || ns || body` with Ed25519, where `ns` is `signing_namespace` (`civitas/tx/v1`) and `body` the bytes of `body_hex`, then submit `{\"body\": <body>, \"signatures\": [{\"key\": \"<public key hex>\", \"signature\": \"<hex>\"}]}` to `POST /v1/transactions`. Nothing is stored: preparing twice gives two bodies with the same nonce, of which one can be final.",
    request_body = PrepareRequest,
    responses(
        (status = 200, description = "The body to sign.", body = views::Prepared),
        (status = 400, description = "Not JSON of that shape (`bad_request`), or an instruction that does not parse or breaks a bound (`invalid_instruction`, naming the instruction's position and the field).", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB.", body = ErrorBody),
    )
)]
async fn prepare(
    State(node): State<NodeHandle>,
    body: Bytes,
) -> Result<Json<views::Prepared>, ApiError> {
    use civitas_core::instruction::Instruction;
    use civitas_core::limits::{TX_ENCODED_MAX_BYTES, TX_INSTRUCTIONS_MAX, TX_MEMO_MAX_BYTES};
    use commonware_codec::{Encode as _, EncodeSize as _};
    let request: PrepareRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "send {{\"signer\": \"<account id>\", \"instructions\": [...], \"memo\": \"...\"}} ({e})"
        ))
    })?;
    let signer = AccountId::from_hex(&request.signer).map_err(|_| {
        ApiError::bad_request("signer must be an account id (64 hexadecimal characters)")
    })?;
    if request.instructions.is_empty() || request.instructions.len() > TX_INSTRUCTIONS_MAX {
        return Err(ApiError::bad_request(format!(
            "a transaction carries 1 to {TX_INSTRUCTIONS_MAX} instructions; got {}",
            request.instructions.len()
        )));
    }
    if request.memo.len() > TX_MEMO_MAX_BYTES {
        return Err(ApiError::bad_request(format!(
            "the memo is {} bytes; at most {TX_MEMO_MAX_BYTES}",
            request.memo.len()
        )));
    }
    let mut instructions = Vec::with_capacity(request.instructions.len());
    for (n, value) in request.instructions.into_iter().enumerate() {
        let instruction: Instruction = serde_json::from_value(value).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_instruction",
                format!("instruction {n}: {e}"),
            )
        })?;
        instruction.validate().map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_instruction",
                format!("instruction {n}: {e}"),
            )
        })?;
        instructions.push(instruction);
    }
    // What the ledger would refuse for personal data is refused before anything is signed.
    if let Some(message) = civitas_core::tx::personal_data_refusal(
        node.tip().next_protocol,
        &request.memo,
        &instructions,
    ) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "personal_data",
            message,
        ));
    }
    let key = StateKey::new(spaces::NONCE, signer.0.to_vec());
    let finalized_next = node
        .state(key)
        .await?
        .value
        .as_deref()
        .and_then(|b| civitas_core::codec::from_slice::<u64>(b, &()).ok())
        .unwrap_or(0);
    let expires_in = request
        .expires_in_ms
        .unwrap_or(PREPARED_EXPIRY_MS)
        .min(PREPARED_EXPIRY_MAX_MS);
    let tx_body = civitas_core::tx::TxBody {
        chain_id: node.genesis().chain_id.clone(),
        signer,
        nonce: node.pending_next_nonce(&signer, finalized_next),
        expiry: civitas_core::time::TimestampMs(now_ms().saturating_add(expires_in)),
        instructions,
        memo: request.memo,
    };
    // A signature adds at most this much to the encoding.
    const SIGNATURE_ENTRY_BYTES: usize = 32 + 64 + 1;
    let size = tx_body.encode_size() + SIGNATURE_ENTRY_BYTES;
    if size > TX_ENCODED_MAX_BYTES {
        return Err(ApiError::bad_request(format!(
            "the signed transaction would be about {size} bytes; the limit is {TX_ENCODED_MAX_BYTES}"
        )));
    }
    Ok(Json(views::Prepared {
        body_hex: hex::encode(tx_body.encode()),
        hash: tx_body.hash(),
        signing_namespace: String::from_utf8_lossy(civitas_core::crypto::TX_NAMESPACE).into_owned(),
        body: tx_body,
    }))
}

/// `POST /v1/proofs/verify`: checks a proof bundle (raw bytes) against this node's genesis and
/// says what it proves. Offline tools (`civitas verify`, `tools/verify_bundle.py`) give the same
/// verdict without trusting the node.
#[utoipa::path(
    post,
    path = "/v1/proofs/verify",
    operation_id = "verifyBundle",
    tag = "proofs",
    summary = "Check a proof bundle against this network's genesis",
    description = "Send the bundle's bytes. The node checks it exactly as `civitas verify` does offline (certificates from the genesis validators through every hand-over, the finalized header, the Merkle proof of the claim) and says in plain words what it proves. A verdict from a node is only as trustworthy as that node: to trust no one, run `civitas verify` or the independent `tools/verify_bundle.py` on the same file.",
    request_body(content = Binary, content_type = "application/octet-stream", description = "The proof bundle's bytes."),
    responses(
        (status = 200, description = "The verdict: `valid` with `statement`, or not `valid` with `reason`.", body = views::BundleVerdict),
        (status = 400, description = "Empty body (`bad_request`).", body = ErrorBody),
        (status = 413, description = "Body over 4 MiB.", body = ErrorBody),
    )
)]
async fn verify_bundle(
    State(node): State<NodeHandle>,
    Extension(budgets): Extension<Budgets>,
    body: axum::body::Body,
) -> Result<Json<views::BundleVerdict>, ApiError> {
    // Checking signatures and proofs takes CPU: it runs on the bounded heavy pool.
    let verdict = budgets
        .heavy_body(body, BUNDLE_BODY_MAX_BYTES, move |bytes| {
            (!bytes.is_empty()).then(|| bundle_verdict(&node, &bytes))
        })
        .await?;
    verdict
        .map(Json)
        .ok_or_else(|| ApiError::bad_request("send the proof bundle's bytes as the request body"))
}

/// The verdict on a proof bundle, as `POST /v1/proofs/verify` answers it.
fn bundle_verdict(node: &NodeHandle, body: &[u8]) -> views::BundleVerdict {
    use civitas_core::bundle::{Claim, ProofBundle};
    let invalid = |reason: String| views::BundleVerdict {
        valid: false,
        reason: Some(reason),
        ..Default::default()
    };
    let genesis = node.genesis();
    let bundle = match ProofBundle::from_bytes(body) {
        Ok(bundle) => bundle,
        Err(e) => return invalid(format!("this is not a readable proof bundle: {e}")),
    };
    if let Err(e) = civitas_state::proof::verify_bundle(&bundle, genesis) {
        return invalid(e.to_string());
    }
    let (kind, about) = match &bundle.claim {
        Claim::State(claim) => (
            "state",
            format!("{}/{}", claim.key.space, hex::encode(&claim.key.id)),
        ),
        Claim::Transaction(_) | Claim::EarlierTransaction(_) => (
            "transaction",
            bundle
                .claim
                .transaction()
                .map(|claim| claim.receipt.tx.to_string())
                .unwrap_or_default(),
        ),
    };
    views::BundleVerdict {
        valid: true,
        reason: None,
        statement: Some(civitas_modules::queries::describe_bundle(
            &bundle,
            &genesis.chain_id,
        )),
        claim: Some(kind),
        about: Some(about),
        chain_id: Some(genesis.chain_id.clone()),
        genesis_hash: Some(genesis.hash()),
        height: Some(bundle.header.height),
        block: Some(bundle.header.digest()),
        epoch: Some(bundle.header.epoch),
        signers: Some(bundle.finalization.signatures.len() as u64),
        validators: Some(bundle.validators.len() as u64),
        handovers: Some(bundle.handovers.len() as u64),
    }
}

#[utoipa::path(
    post,
    path = "/v1/transactions",
    operation_id = "submitTransaction",
    tag = "transactions",
    summary = "Submit a signed transaction",
    description = "Send the canonical encoding as raw bytes (`application/octet-stream`), as `{\"transaction\": \"<hex>\"}`, or as a JSON transaction object. The node checks signatures, chain, expiry, signer and nonce, keeps it in its mempool and gossips it to the other validators.",
    request_body(
        description = "The transaction: its canonical encoding as raw bytes or hex, or its JSON.",
        content(
            (SubmitTransaction = "application/json"),
            (Binary = "application/octet-stream"),
        ),
    ),
    responses(
        (status = 202, description = "Accepted into the mempool.", body = views::Submitted),
        (status = 400, description = "Malformed or badly signed (`bad_request`, `invalid_transaction`).", body = ErrorBody),
        (status = 409, description = "Already pending (`duplicate_transaction`).", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB.", body = ErrorBody),
        (status = 422, description = "Refused: `wrong_chain`, `expired`, `expiry_too_far`, `unknown_account`, `account_inactive`, `wrong_key`, `bad_nonce`, `nonce_taken`.", body = ErrorBody),
        (status = 429, description = "Not now: the mempool is full (`mempool_full`), the account already has 1,024 transactions waiting to be final (`nonce_too_far`), or the state could not be read (`state_unavailable`). Send the same transaction again after the `Retry-After` delay.", body = ErrorBody),
        (status = 503, description = "Node shutting down (`unavailable`).", body = ErrorBody),
    )
)]
async fn submit(
    State(node): State<NodeHandle>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<views::Submitted>), ApiError> {
    let tx = parse_transaction(&headers, &body)?;
    let hash = node.submit(tx).await.map_err(error::refused)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(views::Submitted {
            hash,
            status: views::TxState::Pending,
        }),
    ))
}

/// A batch of encoded transactions, each in hex.
#[derive(Deserialize, utoipa::ToSchema)]
struct HexBatch {
    /// Up to 256 encoded transactions, in hex.
    #[schema(max_items = 256)]
    transactions: Vec<String>,
}

/// The transactions of a batch body: the canonical encoding of a list of transactions as raw
/// bytes, or `{"transactions": ["<hex>", ...]}`.
fn parse_batch(headers: &HeaderMap, body: &Bytes) -> Result<Vec<SignedTx>, ApiError> {
    let txs = if is_octet_stream(headers) {
        SignedTx::decode_batch(body, BATCH_TXS_MAX).map_err(ApiError::bad_request)?
    } else {
        let batch = serde_json::from_slice::<HexBatch>(body).map_err(|e| {
            ApiError::bad_request(format!(
                "send {{\"transactions\": [\"<hex>\", ...]}} or the encoded list as application/octet-stream ({e})"
            ))
        })?;
        if batch.transactions.len() > BATCH_TXS_MAX {
            return Err(ApiError::bad_request(format!(
                "a batch holds at most {BATCH_TXS_MAX} transactions; split it"
            )));
        }
        let mut txs = Vec::with_capacity(batch.transactions.len());
        for (n, text) in batch.transactions.iter().enumerate() {
            txs.push(decode_hex_tx(text).map_err(|e| {
                ApiError::bad_request(match e {
                    HexTxError::NotHex => format!("transaction {n} is not hexadecimal"),
                    HexTxError::Malformed(reason) => format!("transaction {n}: {reason}"),
                })
            })?);
        }
        txs
    };
    if txs.is_empty() {
        return Err(ApiError::bad_request("the batch holds no transaction"));
    }
    Ok(txs)
}

/// Submits up to [`BATCH_TXS_MAX`] transactions in one request; each gets its own verdict, as
/// the single submission would give it. Transactions refused only for now (`mempool_full`,
/// `nonce_too_far`) may be sent again after the `Retry-After` delay.
#[utoipa::path(
    post,
    path = "/v1/transactions/batch",
    operation_id = "submitTransactionBatch",
    tag = "transactions",
    summary = "Submit up to 256 signed transactions at once",
    description = "Send the canonical encoding of a list of transactions (a varint count, then each transaction's encoding) as `application/octet-stream`, or `{\"transactions\": [\"<hex>\", ...]}`. Each transaction gets the verdict a single submission would give it, in order; the request fails as a whole only if the batch itself is malformed. When some transactions were refused only for now (`mempool_full`, `nonce_too_far`, `state_unavailable`), the response carries `Retry-After`.",
    request_body(
        description = "The transactions: the canonical encoding of the list as raw bytes, or each transaction's encoding in hex.",
        content(
            (HexBatch = "application/json"),
            (Binary = "application/octet-stream"),
        ),
    ),
    responses(
        (status = 200, description = "One verdict per transaction, in the order sent.", body = views::BatchVerdicts),
        (status = 400, description = "Malformed batch, more than 256 transactions, or none (`bad_request`).", body = ErrorBody),
        (status = 413, description = "Body over 2 MiB.", body = ErrorBody),
        (status = 503, description = "Node shutting down (`unavailable`).", body = ErrorBody),
    )
)]
async fn submit_batch(
    State(node): State<NodeHandle>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let txs = parse_batch(&headers, &body)?;
    let verdicts = futures::future::join_all(txs.into_iter().map(|tx| {
        let node = node.clone();
        async move {
            let hash = tx.hash();
            (hash, node.submit(tx).await)
        }
    }))
    .await;
    let mut accepted = 0u64;
    let mut busy = false;
    let results: Vec<views::BatchVerdict> = verdicts
        .into_iter()
        .map(|(hash, verdict)| match verdict {
            Ok(_) => {
                accepted += 1;
                views::BatchVerdict {
                    hash,
                    status: Some(views::TxState::Pending),
                    error: None,
                }
            }
            Err(e) => {
                busy |= matches!(e, civitas_consensus::gossip::SubmitError::Busy { .. });
                views::BatchVerdict {
                    hash,
                    status: None,
                    error: Some(error::ErrorDetail {
                        code: e.code().to_string(),
                        message: e.to_string(),
                    }),
                }
            }
        })
        .collect();
    let mut response = Json(views::BatchVerdicts { accepted, results }).into_response();
    if busy {
        response
            .headers_mut()
            .insert("retry-after", axum::http::HeaderValue::from_static("1"));
    }
    Ok(response)
}

#[utoipa::path(
    get,
    path = "/v1/transactions/{hash}",
    operation_id = "getTransaction",
    tag = "transactions",
    summary = "Status and receipt of a transaction",
    params(
        ("hash" = civitas_core::hash::Hash32, Path, description = "Transaction hash."),
    ),
    responses(
        (status = 200, description = "`pending`, `finalized` (with receipt), `failed` (included, with the receipt saying why) or `rejected` (dropped, with code and message).", body = views::TransactionStatus),
        (status = 400, description = "Bad hash.", body = ErrorBody),
        (status = 404, description = "Unknown to this node.", body = ErrorBody),
    )
)]
async fn transaction(
    State(node): State<NodeHandle>,
    Path(hash): Path<String>,
) -> Result<Json<views::TransactionStatus>, ApiError> {
    use views::{TransactionStatus, TxState};
    let hash = parse_hash(&hash, "the transaction hash")?;
    let view = match node.tx_status(hash).await? {
        TxStatus::Pending => TransactionStatus::new(hash, TxState::Pending),
        // A block's receipts are stored a moment before its state is applied: until then the
        // transaction is still pending here, so that a client told "finalized" reads its effect
        // from this node at once.
        TxStatus::Finalized(receipt) if receipt.height > node.tip().height => {
            TransactionStatus::new(hash, TxState::Pending)
        }
        TxStatus::Finalized(receipt) => {
            let status = if receipt.succeeded() {
                TxState::Finalized
            } else {
                TxState::Failed
            };
            TransactionStatus {
                height: Some(receipt.height),
                receipt: Some(receipt),
                ..TransactionStatus::new(hash, status)
            }
        }
        TxStatus::Rejected { code, message } => TransactionStatus {
            code: Some(code),
            message: Some(message),
            ..TransactionStatus::new(hash, TxState::Rejected)
        },
        TxStatus::Unknown => {
            return Err(ApiError::not_found(format!(
                "transaction {hash} is unknown to this node: not pending, not finalized"
            )));
        }
    };
    Ok(Json(view))
}

#[utoipa::path(
    get,
    path = "/v1/blocks/latest",
    operation_id = "getLatestBlock",
    tag = "blocks",
    summary = "The latest finalized block",
    responses(
        (status = 200, description = "Block with header, transactions and finalization certificate.", body = views::BlockView),
        (status = 404, description = "Nothing finalized yet.", body = ErrorBody),
    )
)]
async fn latest_block(State(node): State<NodeHandle>) -> Result<Json<views::BlockView>, ApiError> {
    let info = node
        .block(None)
        .await?
        .ok_or_else(|| ApiError::not_found("no block has been finalized yet"))?;
    let end = end_receipt(&node, info.block.header.height).await;
    Ok(Json(views::block(&info, end)))
}

#[utoipa::path(
    get,
    path = "/v1/blocks/{height}",
    operation_id = "getBlock",
    tag = "blocks",
    summary = "A finalized block by height",
    params(
        ("height" = u64, Path),
    ),
    responses(
        (status = 200, description = "The block.", body = views::BlockView),
        (status = 400, description = "Bad height.", body = ErrorBody),
        (status = 404, description = "Not finalized yet.", body = ErrorBody),
    )
)]
async fn block(
    State(node): State<NodeHandle>,
    Path(height): Path<String>,
) -> Result<Json<views::BlockView>, ApiError> {
    let height: u64 = height
        .parse()
        .map_err(|_| ApiError::bad_request("height must be a non-negative integer"))?;
    let info = node.block(Some(height)).await?.ok_or_else(|| {
        ApiError::not_found(format!(
            "block {height} is not finalized (latest is {})",
            node.tip().height
        ))
    })?;
    let end = end_receipt(&node, height).await;
    Ok(Json(views::block(&info, end)))
}

/// The end receipt of the block at `height`, if it has one.
pub(crate) async fn end_receipt(
    node: &NodeHandle,
    height: u64,
) -> Option<civitas_core::receipt::Receipt> {
    match node
        .tx_status(civitas_core::receipt::block_end_id(height))
        .await
    {
        Ok(TxStatus::Finalized(receipt)) => Some(receipt),
        _ => None,
    }
}

fn split_path(path: &str) -> Result<(String, String), ApiError> {
    let trimmed = path.trim_matches('/');
    // A space is two segments (`treasury/total`); the id is everything after it, slashes
    // included (`2026/agency/health`).
    let mut parts = trimmed.splitn(3, '/');
    let space = match (parts.next(), parts.next()) {
        (Some(module), Some(name)) => format!("{module}/{name}"),
        _ => String::new(),
    };
    let id = parts.next().unwrap_or("").to_string();
    let (space, id) = match () {
        _ if civitas_modules::queries::space(&space).is_some() => (space, id),
        _ => {
            return Err(ApiError::bad_request(format!(
                "expected /<space>/<id> with a known space: {}",
                civitas_modules::queries::spaces()
                    .iter()
                    .map(|s| format!("{} ({})", s.name, s.about))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    };
    Ok((space, id))
}

#[utoipa::path(
    get,
    path = "/v1/state/{*path}",
    operation_id = "getState",
    tag = "state",
    summary = "A state value by key, optionally with its proof",
    params(
        ("path" = String, Path, description = "The key: its space (two segments, such as `notary/document` or `treasury/total`) and its id, which may itself contain slashes (`treasury/total/2026/agency/health`). Unknown spaces are answered with the list of known ones."),
        ProofQuery,
    ),
    responses(
        (status = 200, description = "The value (or its absence) at the latest finalized height.", body = views::StateValue),
        (status = 400, description = "Unknown space or malformed id.", body = ErrorBody),
    )
)]
async fn state(
    Extension(ledger): Extension<Ledger>,
    Path(path): Path<String>,
    Query(query): Query<ProofQuery>,
) -> Result<Json<views::StateValue>, ApiError> {
    let (space, id) = split_path(&path)?;
    let key = key_from_text(&space, &id).map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(Json(read_state(&ledger, key, query.proof).await?))
}

#[utoipa::path(
    get,
    path = "/v1/accounts/{id}/nonce",
    operation_id = "getNonce",
    tag = "identity",
    summary = "The account's next nonce",
    params(
        ("id" = AccountId, Path, description = "Account id."),
    ),
    responses(
        (status = 200, description = "Next nonce.", body = views::Nonce),
    )
)]
async fn nonce(
    State(node): State<NodeHandle>,
    Path(id): Path<String>,
) -> Result<Json<views::Nonce>, ApiError> {
    let account = AccountId::from_hex(&id).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let key = StateKey::new(spaces::NONCE, account.0.to_vec());
    let proven = node.state(key).await?;
    let next = proven
        .value
        .as_deref()
        .and_then(|b| civitas_core::codec::from_slice::<u64>(b, &()).ok())
        .unwrap_or(0);
    let pending = node.pending_next_nonce(&account, next);
    Ok(Json(views::Nonce {
        account,
        next_nonce: pending,
        finalized_next_nonce: next,
        height: proven.height,
    }))
}

/// The account's transactions waiting in this node's mempool: not yet public record, so the
/// request must be signed by an account the policies let read them (`ledger.read_pending`).
#[utoipa::path(
    get,
    path = "/v1/accounts/{id}/pending",
    operation_id = "getPendingTransactions",
    tag = "identity",
    summary = "An account's transactions not final yet (signed read)",
    description = "The account's transactions waiting in this node's mempool, in nonce order. Not public record: the request must be signed by the reading account (headers below; see docs/AUTHORIZATION.md), and the policies decide with action `ledger.read_pending` on the account (by default the holder and the admins of an official's agency).",
    params(
        ("id" = AccountId, Path, description = "Account id."),
        ("civitas-account" = AccountId, Header, description = "The reading account's id, hex."),
        ("civitas-time" = String, Header, description = "Milliseconds since the Unix epoch when the request was signed (within 5 minutes of the node's clock)."),
        ("civitas-signature" = String, Header, description = "`<public key hex>:<signature hex>`, comma-separated for several keys; each signs string(chain_id) || string(path with query) || be64(time) in namespace `civitas/read/v1`."),
    ),
    responses(
        (status = 200, description = "The pending transactions.", body = views::PendingTransactions),
        (status = 400, description = "The account id is malformed.", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: the request is unsigned, stale, or its signature does not match.", body = ErrorBody),
        (status = 403, description = "`not_authorized` (with the policy's explanation), `wrong_key`, `unknown_account` or `account_inactive`.", body = ErrorBody),
    )
)]
async fn pending(
    State(node): State<NodeHandle>,
    Path(id): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Json<views::PendingTransactions>, ApiError> {
    let account = AccountId::from_hex(&id).map_err(|e| ApiError::bad_request(e.to_string()))?;
    authorize_signed_read(
        &node,
        &headers,
        path_of(&uri),
        "ledger.read_pending",
        civitas_consensus::service::ReadResource::Account(account),
    )
    .await?;
    let pending = node
        .pending_of(&account)
        .iter()
        .map(|tx| views::PendingTransaction {
            hash: tx.hash(),
            nonce: tx.body.nonce,
            expiry: tx.body.expiry,
            instructions: tx.body.instructions.clone(),
            memo: tx.body.memo.clone(),
        })
        .collect();
    Ok(Json(views::PendingTransactions {
        account,
        pending,
        height: node.tip().height,
    }))
}

/// The path with its query string, as a signed read signs it.
pub(crate) fn path_of(uri: &axum::http::Uri) -> &str {
    uri.path_and_query()
        .map(|p| p.as_str())
        .unwrap_or(uri.path())
}

/// Checks a signed read request and asks the policies whether its signer may read the record:
/// 401 `unauthenticated` when the signature is missing, stale or wrong, 403 with the policy's
/// explanation when the policies refuse.
async fn authorize_signed_read(
    node: &NodeHandle,
    headers: &HeaderMap,
    path: &str,
    action: &'static str,
    resource: civitas_consensus::service::ReadResource,
) -> Result<(), ApiError> {
    let reader = signed_reader(node, headers, path).await?;
    allowed(node, &reader, action, resource).await
}

/// Who signed a request, and with which keys (their signatures verified, not yet that they
/// are the account's: the policies' question checks that).
#[derive(Clone, Debug)]
pub struct Reader {
    /// The account asking.
    pub account: civitas_core::crypto::AccountId,
    /// The keys whose signatures verified.
    pub keys: Vec<civitas_core::crypto::PublicKey>,
}

/// Asks the policies whether `reader` may take `action` on `resource`: 403 with the policy's
/// explanation when not (also when the keys are not the account's, or it is inactive).
pub(crate) async fn allowed(
    node: &NodeHandle,
    reader: &Reader,
    action: &'static str,
    resource: civitas_consensus::service::ReadResource,
) -> Result<(), ApiError> {
    let decision = node
        .authorize_read(civitas_consensus::service::ReadQuestion {
            account: reader.account,
            signing_keys: reader.keys.clone(),
            action,
            resource,
        })
        .await?;
    decision
        .map_err(|failure| ApiError::new(StatusCode::FORBIDDEN, failure.code, failure.message()))
}

/// The signer of a signed request for `path`, its signatures checked; the account's keys and
/// standing are checked by [`allowed`], which every caller asks next (for the signer's own
/// account when nothing else is read).
pub(crate) async fn signed_reader(
    node: &NodeHandle,
    headers: &HeaderMap,
    path: &str,
) -> Result<Reader, ApiError> {
    use civitas_core::read::{HEADER_ACCOUNT, HEADER_SIGNATURE, HEADER_TIME, SignedRead};
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let unauthenticated = |e: civitas_core::read::ReadError| {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", e.to_string())
    };
    let read = SignedRead::from_headers(
        header(HEADER_ACCOUNT),
        header(HEADER_TIME),
        header(HEADER_SIGNATURE),
    )
    .map_err(unauthenticated)?;
    let keys = read
        .verify(
            &node.genesis().chain_id,
            path,
            civitas_core::time::TimestampMs(now_ms()),
        )
        .map_err(unauthenticated)?
        .into_iter()
        .cloned()
        .collect();
    Ok(Reader {
        account: read.account,
        keys,
    })
}

/// The node's clock in milliseconds (for reads and sessions; nothing that feeds consensus).
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[derive(Deserialize)]
struct ThroughQuery {
    /// `latest`, or a height: anchor the bundle at the first certified block from there.
    through: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/proofs/transactions/{hash}",
    operation_id = "getTransactionProof",
    tag = "proofs",
    summary = "Proof bundle for a transaction and its receipt",
    params(
        ("hash" = civitas_core::hash::Hash32, Path, description = "Transaction hash."),
        ("through" = Option<String>, Query, pattern = "^(latest|[0-9]{1,20})$", description = "Anchor the bundle at the first certified block at or after this height (`latest` for the node's latest), proving the transaction's block through that block's history. By default the bundle is anchored at the transaction's own block, or, when that block has no certificate of its own, at the next block that has one."),
    ),
    responses(
        (status = 200, description = "A proof bundle (format v4, see docs/PROOFS.md). Verify it offline with `civitas verify`.", body = Binary, content_type = "application/vnd.civitas.proof-bundle"),
        (status = 404, description = "Not finalized.", body = ErrorBody),
    )
)]
async fn transaction_bundle(
    State(node): State<NodeHandle>,
    Path(hash): Path<String>,
    Query(query): Query<ThroughQuery>,
) -> Result<Response, ApiError> {
    let hash = parse_hash(&hash, "the transaction hash")?;
    let through = match query.through.as_deref() {
        None => None,
        Some("latest") => Some(node.tip().height),
        Some(height) => Some(height.parse::<u64>().map_err(|_| {
            ApiError::bad_request(format!(
                "through={height:?} is neither `latest` nor a block height"
            ))
        })?),
    };
    Ok(bundle_response(
        node.tx_bundle_through(hash, through).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/v1/proofs/state/{*path}",
    operation_id = "getStateProof",
    tag = "proofs",
    summary = "Proof bundle for any state key",
    params(
        ("path" = String, Path, description = "The key: its space (two segments, such as `notary/document` or `treasury/total`) and its id, which may itself contain slashes (`treasury/total/2026/agency/health`). Unknown spaces are answered with the list of known ones."),
    ),
    responses(
        (status = 200, description = "A proof bundle (format v4, see docs/PROOFS.md). Verify it offline with `civitas verify`.", body = Binary, content_type = "application/vnd.civitas.proof-bundle"),
        (status = 400, description = "Unknown space or malformed id.", body = ErrorBody),
    )
)]
async fn state_bundle(
    State(node): State<NodeHandle>,
    Path(path): Path<String>,
) -> Result<Response, ApiError> {
    let (space, id) = split_path(&path)?;
    let key = key_from_text(&space, &id).map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(bundle_response(node.bundle(key).await?))
}

#[derive(Deserialize, Default)]
struct EventsQuery {
    /// Only events of this module (`identity`, `notary`).
    module: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/events",
    operation_id = "events",
    tag = "events",
    summary = "Live feed of finalized blocks, receipts and module events",
    params(
        ("module" = Option<String>, Query, description = "Only module events of this module (identity, notary)."),
    ),
    responses(
        (status = 200, description = "Server-sent events: `block` {height, digest, timestamp, tx_count, state_root}, `receipt` {tx, height, outcome}, `event` {height, tx, module, event}, `lagged` when the subscriber fell behind.", body = String, content_type = "text/event-stream"),
    )
)]
async fn events(
    State(node): State<NodeHandle>,
    Extension(budgets): Extension<Budgets>,
    Query(query): Query<EventsQuery>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let module = query.module;
    // The stream holds its slot until the client goes away.
    let slot = budgets.stream()?;
    let stream = BroadcastStream::new(node.subscribe()).flat_map(move |item| {
        let _slot = &slot;
        let events: Vec<Result<SseEvent, Infallible>> = match item {
            Ok(finalized) => views::sse_events(&finalized, module.as_deref()),
            Err(_) => vec![Ok(SseEvent::default().event("lagged").data(
                "{\"message\":\"this subscriber fell behind; some events were skipped\"}",
            ))],
        };
        futures::stream::iter(events)
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::{get, post};
    use tower::ServiceExt as _;

    async fn call(app: &Router, request: Request<Body>) -> (StatusCode, HeaderMap, String) {
        let response = app.clone().oneshot(request).await.expect("an answer");
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, 1 << 16).await.expect("a body");
        (
            parts.status,
            parts.headers,
            String::from_utf8_lossy(&body).into_owned(),
        )
    }

    #[tokio::test]
    async fn extractor_rejections_are_json_errors() {
        #[derive(Deserialize)]
        struct Flag {
            #[allow(dead_code)]
            proof: bool,
        }
        let app = Router::new()
            .route("/v1/query", get(|Query(_): Query<Flag>| async { "ok" }))
            .route(
                "/v1/body",
                post(|_: Bytes| async { "ok" }).layer(DefaultBodyLimit::max(8)),
            )
            .route("/page", get(|| async { (StatusCode::NOT_FOUND, "a page") }))
            .layer(axum::middleware::from_fn(json_errors));
        let get_of = |uri: &str| Request::get(uri).body(Body::empty()).expect("a request");

        let (status, _, body) = call(&app, get_of("/v1/query?proof=maybe")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(json["error"]["code"], "bad_request");
        assert!(
            json["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("proof"))
        );

        let large = Request::post("/v1/body")
            .body(Body::from(vec![b'x'; 100]))
            .expect("a request");
        let (status, _, body) = call(&app, large).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        let json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(json["error"]["code"], "too_large");

        let (status, headers, body) = call(&app, get_of("/v1/body")).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(headers[header::ALLOW], "POST");
        let json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(json["error"]["code"], "method_not_allowed");

        // Outside the API, answers are left as they are.
        let (status, _, body) = call(&app, get_of("/page")).await;
        assert_eq!((status, body.as_str()), (StatusCode::NOT_FOUND, "a page"));
        let (status, _, body) = call(&app, get_of("/v1/query?proof=true")).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));
    }

    #[test]
    fn rustdoc_links_become_code() {
        assert_eq!(
            without_links("see [`a`] and [`b::c`](crate::b::c), [not] `d`"),
            "see `a` and `b::c`, [not] `d`"
        );
        assert_eq!(without_links("[`open"), "[`open");
        assert_eq!(without_links("[`x`](unclosed"), "`x`(unclosed");
    }
}
