//! The HTTP API every node serves under `/v1`, with its OpenAPI document.
//!
//! JSON in and out (transactions may also be sent as raw bytes), errors as
//! `{"error": {"code", "message"}}`, request bodies bounded, and every read served from finalized
//! data. Live updates stream as server-sent events. Load is bounded per client and in total
//! ([`limits`]), so no client can starve the node's consensus.

pub mod connections;
pub mod error;
pub mod limits;
pub mod portal;
mod public_money;
mod views;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use civitas_consensus::service::{NodeHandle, TxStatus};
use civitas_core::bundle::{StateKey, spaces};
use civitas_core::crypto::AccountId;
use civitas_core::hash::Hash32;
use civitas_core::tx::SignedTx;
use civitas_modules::queries::{key_from_text, value_json};
use error::ApiError;
use futures::Stream;
use futures::StreamExt as _;
use limits::Budgets;
pub use limits::{ApiConfig, Limits};
use serde::Deserialize;
use serde_json::json;
use std::convert::Infallible;
use std::time::Duration;
use tokio_stream::wrappers::BroadcastStream;

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

/// The OpenAPI document.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Builds the router for `node` with the default settings (secure cookies, default limits).
pub fn router(node: NodeHandle) -> Router {
    router_with(node, &ApiConfig::default())
}

/// Builds the router for `node`: the API under `/v1`, the portal, and the limits of `config`
/// around both. Serve it with `into_make_service_with_connect_info::<SocketAddr>()`, so that
/// each client's rate can be counted.
pub fn router_with(node: NodeHandle, config: &ApiConfig) -> Router {
    let budgets = Budgets::new(&config.limits);
    let routes = api_routes(node.clone())
        .merge(portal::router(node, config))
        .layer(Extension(budgets));
    limits::apply(routes, &config.limits)
}

fn api_routes(node: NodeHandle) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/status", get(status))
        .route("/v1/genesis", get(genesis))
        .route("/v1/transactions", post(submit))
        .route("/v1/transactions/prepare", post(prepare))
        .route(
            "/v1/proofs/verify",
            post(verify_bundle).layer(DefaultBodyLimit::max(BUNDLE_BODY_MAX_BYTES)),
        )
        .route(
            "/v1/transactions/batch",
            post(submit_batch).layer(DefaultBodyLimit::max(BATCH_BODY_MAX_BYTES)),
        )
        .route("/v1/transactions/{hash}", get(transaction))
        .route("/v1/blocks/latest", get(latest_block))
        .route("/v1/blocks/{height}", get(block))
        .route("/v1/state/{*path}", get(state))
        .route("/v1/accounts/{id}", get(account))
        .route("/v1/accounts/{id}/nonce", get(nonce))
        .route("/v1/accounts/{id}/pending", get(pending))
        .route("/v1/agencies", get(agencies))
        .route("/v1/agencies/{id}", get(agency))
        .route("/v1/notary/documents/{hash}", get(document))
        .route("/v1/proofs/notary/{hash}", get(document_bundle))
        .route("/v1/proofs/transactions/{hash}", get(transaction_bundle))
        .route("/v1/proofs/state/{*path}", get(state_bundle))
        .route("/v1/events", get(events))
        .route("/v1/governance", get(governance))
        .route("/v1/governance/proposals/{id}", get(proposal))
        .route("/v1/epochs/{epoch}", get(epoch_set))
        .route("/v1/policies", get(policies))
        .route("/v1/policies/{version}", get(policy_version))
        .route("/v1/treasury/years/{year}", get(public_money::year))
        .route("/v1/treasury/totals/{*path}", get(public_money::total))
        .route(
            "/v1/treasury/breakdown/{year}/{dimension}",
            get(public_money::breakdown),
        )
        .route(
            "/v1/treasury/appropriations/{id}",
            get(public_money::appropriation),
        )
        .route(
            "/v1/treasury/commitments/{id}",
            get(public_money::commitment),
        )
        .route("/v1/treasury/payments/{id}", get(public_money::payment))
        .route("/v1/treasury/entries/{id}", get(public_money::entry))
        .route("/v1/treasury/vendors/{id}", get(public_money::vendor))
        .route(
            "/v1/treasury/export/{year}/{file}",
            get(public_money::export),
        )
        .route("/v1/procurement/tenders", get(public_money::tenders))
        .route("/v1/procurement/tenders/{id}", get(public_money::tender))
        .route(
            "/v1/procurement/contracts/{id}",
            get(public_money::contract),
        )
        .route("/v1/ocds/releases", get(public_money::ocds_releases))
        .route(
            "/v1/ocds/releases/{tender}",
            get(public_money::ocds_process_releases),
        )
        .route("/v1/ocds/records", get(public_money::ocds_records))
        .route("/v1/ocds/imported", get(public_money::imported_list))
        .route(
            "/v1/ocds/imported/{*ocid}",
            get(public_money::imported_process),
        )
        .route(
            "/v1/ocds/records/{tender}",
            get(public_money::ocds_process_record),
        )
        .route(
            "/v1/ocds/validate",
            post(public_money::ocds_validate).layer(DefaultBodyLimit::max(OCDS_BODY_MAX_BYTES)),
        )
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(REQUEST_BODY_MAX_BYTES))
        .with_state(node)
}

/// Unknown paths: a JSON error under `/v1`, a page elsewhere.
async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/v1/") {
        ApiError::not_found("no such endpoint; see /v1/openapi.json").into_response()
    } else {
        portal::not_found_page(uri.path())
    }
}

async fn healthz(State(node): State<NodeHandle>) -> Json<serde_json::Value> {
    let tip = node.tip();
    Json(json!({ "status": "ok", "height": tip.height }))
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

async fn readyz(State(node): State<NodeHandle>) -> Result<Json<serde_json::Value>, ApiError> {
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
    Ok(Json(json!({
        "ready": true,
        "height": tip.height,
        "block_age_ms": age,
        "peers": { "connected": peers.connected.len(), "missing": peers.missing.len() },
    })))
}

async fn metrics(State(node): State<NodeHandle>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        node.metrics(),
    )
        .into_response()
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// A node more than this many blocks behind the network's finalized tip reports it is catching up.
pub const CATCHING_UP_BLOCKS: u64 = 2;

async fn status(State(node): State<NodeHandle>) -> Json<serde_json::Value> {
    let network_tip = node.network_tip().await;
    let tip = node.tip();
    let genesis = node.genesis();
    let (epoch, set) = node.epoch();
    let peers = node.peers();
    Json(json!({
        "chain_id": genesis.chain_id,
        "genesis_hash": genesis.hash(),
        "height": tip.height,
        "network_height": network_tip,
        "catching_up": network_tip > tip.height + CATCHING_UP_BLOCKS,
        "block": tip.digest,
        "state_root": tip.state_root,
        "timestamp": tip.timestamp,
        "mempool": node.mempool_len(),
        "epoch": epoch,
        "epoch_ends_at": genesis.last_height_of(epoch),
        "validators": set.keys(),
        // Each a ValidatorEntry: key, agency, p2p_address.
        "peers": { "connected": peers.connected, "missing": peers.missing },
        "protocol": {
            "next_block": tip.next_protocol,
            "known": node.protocols().0.iter().map(|p| p.version).collect::<Vec<_>>(),
            "release": env!("CARGO_PKG_VERSION"),
        },
        "halted": node.halted(),
    }))
}

async fn genesis(State(node): State<NodeHandle>) -> Json<serde_json::Value> {
    Json(serde_json::to_value(node.genesis()).unwrap_or_default())
}

#[derive(Deserialize)]
struct HexTransaction {
    transaction: String,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PrepareRequest {
    /// The account the transaction runs for.
    signer: String,
    /// The instructions, as JSON (`{"module": ..., "op": ..., ...}`).
    instructions: Vec<serde_json::Value>,
    #[serde(default)]
    memo: String,
    /// How long the transaction may wait for a block, in milliseconds.
    expires_in_ms: Option<u64>,
}

/// `POST /v1/transactions/prepare`: the canonical body of a transaction, for a signer that holds
/// its key elsewhere (a browser, a hardware module). The signer signs
/// `varint(len(ns)) || ns || body` with `ns = "civitas/tx/v1"` and submits
/// `{"body": <body>, "signatures": [{"key", "signature"}]}` to `/v1/transactions`. The nonce is
/// the account's next one, counting its transactions still waiting for a block.
async fn prepare(
    State(node): State<NodeHandle>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
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
    Ok(Json(json!({
        "body": tx_body,
        "body_hex": hex::encode(tx_body.encode()),
        "hash": tx_body.hash(),
        "signing_namespace": String::from_utf8_lossy(civitas_core::crypto::TX_NAMESPACE),
    })))
}

/// `POST /v1/proofs/verify`: checks a proof bundle (raw bytes) against this node's genesis and
/// says what it proves. Offline tools (`civitas verify`, `tools/verify_bundle.py`) give the same
/// verdict without trusting the node.
async fn verify_bundle(
    State(node): State<NodeHandle>,
    Extension(budgets): Extension<Budgets>,
    body: axum::body::Body,
) -> Result<Json<serde_json::Value>, ApiError> {
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
fn bundle_verdict(node: &NodeHandle, body: &[u8]) -> serde_json::Value {
    use civitas_core::bundle::{Claim, ProofBundle};
    let genesis = node.genesis();
    let bundle = match ProofBundle::from_bytes(body) {
        Ok(bundle) => bundle,
        Err(e) => {
            return json!({
                "valid": false,
                "reason": format!("this is not a readable proof bundle: {e}"),
            });
        }
    };
    if let Err(e) = civitas_state::proof::verify_bundle(&bundle, genesis) {
        return json!({ "valid": false, "reason": e.to_string() });
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
    json!({
        "valid": true,
        "statement": civitas_modules::queries::describe_bundle(&bundle, &genesis.chain_id),
        "claim": kind,
        "about": about,
        "chain_id": genesis.chain_id,
        "genesis_hash": genesis.hash(),
        "height": bundle.header.height,
        "block": bundle.header.digest(),
        "epoch": bundle.header.epoch,
        "signers": bundle.finalization.signatures.len(),
        "validators": bundle.validators.len(),
        "handovers": bundle.handovers.len(),
    })
}

async fn submit(
    State(node): State<NodeHandle>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let tx = parse_transaction(&headers, &body)?;
    let hash = node.submit(tx).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "hash": hash, "status": "pending" })),
    ))
}

#[derive(Deserialize)]
struct HexBatch {
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
    let mut accepted = 0usize;
    let mut busy = false;
    let results: Vec<serde_json::Value> = verdicts
        .into_iter()
        .map(|(hash, verdict)| match verdict {
            Ok(_) => {
                accepted += 1;
                json!({ "hash": hash, "status": "pending" })
            }
            Err(e) => {
                busy |= matches!(e, civitas_consensus::gossip::SubmitError::Busy { .. });
                json!({ "hash": hash, "error": { "code": e.code(), "message": e.to_string() } })
            }
        })
        .collect();
    let mut response = Json(json!({ "accepted": accepted, "results": results })).into_response();
    if busy {
        response
            .headers_mut()
            .insert("retry-after", axum::http::HeaderValue::from_static("1"));
    }
    Ok(response)
}

fn parse_hash(text: &str, what: &str) -> Result<Hash32, ApiError> {
    Hash32::from_hex(text)
        .map_err(|_| ApiError::bad_request(format!("{what} must be 64 hexadecimal characters")))
}

async fn transaction(
    State(node): State<NodeHandle>,
    Path(hash): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let hash = parse_hash(&hash, "the transaction hash")?;
    let view = match node.tx_status(hash).await? {
        TxStatus::Pending => json!({ "hash": hash, "status": "pending" }),
        // A block's receipts are stored a moment before its state is applied: until then the
        // transaction is still pending here, so that a client told "finalized" reads its effect
        // from this node at once.
        TxStatus::Finalized(receipt) if receipt.height > node.tip().height => {
            json!({ "hash": hash, "status": "pending" })
        }
        TxStatus::Finalized(receipt) => {
            let status = if receipt.succeeded() {
                "finalized"
            } else {
                "failed"
            };
            json!({ "hash": hash, "status": status, "height": receipt.height, "receipt": receipt })
        }
        TxStatus::Rejected { code, message } => {
            json!({ "hash": hash, "status": "rejected", "code": code, "message": message })
        }
        TxStatus::Unknown => {
            return Err(ApiError::not_found(format!(
                "transaction {hash} is unknown to this node: not pending, not finalized"
            )));
        }
    };
    Ok(Json(view))
}

async fn latest_block(State(node): State<NodeHandle>) -> Result<Json<serde_json::Value>, ApiError> {
    let info = node
        .block(None)
        .await?
        .ok_or_else(|| ApiError::not_found("no block has been finalized yet"))?;
    Ok(Json(views::block(&info)))
}

async fn block(
    State(node): State<NodeHandle>,
    Path(height): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let height: u64 = height
        .parse()
        .map_err(|_| ApiError::bad_request("height must be a non-negative integer"))?;
    let info = node.block(Some(height)).await?.ok_or_else(|| {
        ApiError::not_found(format!(
            "block {height} is not finalized (latest is {})",
            node.tip().height
        ))
    })?;
    Ok(Json(views::block(&info)))
}

#[derive(Deserialize, Default)]
struct ProofQuery {
    #[serde(default)]
    proof: bool,
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

async fn read_state(
    node: &NodeHandle,
    key: StateKey,
    with_proof: bool,
) -> Result<Json<serde_json::Value>, ApiError> {
    let proven = node.state(key.clone()).await?;
    let mut view = json!({
        "space": key.space,
        "id": hex::encode(&key.id),
        "height": proven.height,
        "state_root": proven.root,
        "found": proven.value.is_some(),
    });
    if let Some(value) = &proven.value {
        view["value_hex"] = json!(hex::encode(value));
        if let Some(decoded) = value_json(&key.space, value) {
            view["value"] = decoded;
        }
    }
    if with_proof {
        view["proof_hex"] = json!(hex::encode(&proven.proof));
    }
    Ok(Json(view))
}

async fn state(
    State(node): State<NodeHandle>,
    Path(path): Path<String>,
    Query(query): Query<ProofQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (space, id) = split_path(&path)?;
    let key = key_from_text(&space, &id).map_err(|e| ApiError::bad_request(e.to_string()))?;
    read_state(&node, key, query.proof).await
}

async fn found_or_404(
    node: &NodeHandle,
    key: StateKey,
    with_proof: bool,
    what: String,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Json(view) = read_state(node, key, with_proof).await?;
    if view["found"] == json!(false) {
        return Err(ApiError::not_found(what));
    }
    Ok(Json(view))
}

async fn account(
    State(node): State<NodeHandle>,
    Path(id): Path<String>,
    Query(query): Query<ProofQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let key = key_from_text(civitas_modules::identity::state::spaces::ACCOUNT, &id)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    found_or_404(
        &node,
        key,
        query.proof,
        format!("account {id} is not registered"),
    )
    .await
}

async fn nonce(
    State(node): State<NodeHandle>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let account = AccountId::from_hex(&id).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let key = StateKey::new(spaces::NONCE, account.0.to_vec());
    let proven = node.state(key).await?;
    let next = proven
        .value
        .as_deref()
        .and_then(|b| civitas_core::codec::from_slice::<u64>(b, &()).ok())
        .unwrap_or(0);
    let pending = node.pending_next_nonce(&account, next);
    Ok(Json(json!({
        "account": account,
        "next_nonce": pending,
        "finalized_next_nonce": next,
        "height": proven.height,
    })))
}

/// The account's transactions waiting in this node's mempool: not yet public record, so the
/// request must be signed by an account the policies let read them (`ledger.read_pending`).
async fn pending(
    State(node): State<NodeHandle>,
    Path(id): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let account = AccountId::from_hex(&id).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let path = uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or(uri.path());
    authorize_signed_read(
        &node,
        &headers,
        path,
        "ledger.read_pending",
        civitas_consensus::service::ReadResource::Account(account),
    )
    .await?;
    let pending: Vec<serde_json::Value> = node
        .pending_of(&account)
        .iter()
        .map(|tx| {
            json!({
                "hash": tx.hash(),
                "nonce": tx.body.nonce,
                "expiry": tx.body.expiry.0,
                "instructions": tx.body.instructions,
                "memo": tx.body.memo,
            })
        })
        .collect();
    Ok(Json(json!({
        "account": account,
        "pending": pending,
        "height": node.tip().height,
    })))
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
    let decision = node
        .authorize_read(civitas_consensus::service::ReadQuestion {
            account: read.account,
            signing_keys: keys,
            action,
            resource,
        })
        .await?;
    decision
        .map_err(|failure| ApiError::new(StatusCode::FORBIDDEN, failure.code, failure.message()))
}

/// The node's clock in milliseconds (for reads and sessions; nothing that feeds consensus).
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

async fn agency(
    State(node): State<NodeHandle>,
    Path(id): Path<String>,
    Query(query): Query<ProofQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let key = key_from_text(civitas_modules::identity::state::spaces::AGENCY, &id)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    found_or_404(
        &node,
        key,
        query.proof,
        format!("agency {id} does not exist"),
    )
    .await
}

/// The agencies in force, as of the latest state: the governance settings list them, each
/// agency's record gives its name. Retired agencies keep their records (`/v1/agencies/{id}`)
/// but are not listed.
pub(crate) async fn agencies_in_force(
    node: &NodeHandle,
) -> Result<Vec<civitas_modules::identity::state::Agency>, ApiError> {
    use civitas_modules::governance::state::{GovernanceConfig, config_key};
    use civitas_modules::identity::state::{Agency, agency_key};
    let config: GovernanceConfig = read_required(node, config_key()).await?;
    let mut agencies = Vec::with_capacity(config.agencies.len());
    for id in &config.agencies {
        agencies.push(read_required::<Agency>(node, agency_key(id)).await?);
    }
    Ok(agencies)
}

/// A record the ledger always holds, decoded (absent or undecodable is the node's fault).
async fn read_required<T: commonware_codec::Decode<Cfg = ()>>(
    node: &NodeHandle,
    key: StateKey,
) -> Result<T, ApiError> {
    let missing = format!("{} is missing from the state", key.display());
    public_money::read(node, key)
        .await?
        .ok_or_else(|| ApiError::internal(missing))
}

/// The agencies in force, each with the validators it runs this epoch and will run next.
async fn agencies(State(node): State<NodeHandle>) -> Result<Json<serde_json::Value>, ApiError> {
    use civitas_core::governance::ValidatorSet;
    use civitas_modules::governance::state::next_validators_key;
    let list = agencies_in_force(&node).await?;
    // The height answered is the one the next set was read at (the list is read just before).
    let key = next_validators_key();
    let proven = node.state(key.clone()).await?;
    let next: ValidatorSet = proven
        .value
        .as_deref()
        .and_then(|bytes| civitas_core::codec::from_slice(bytes, &()).ok())
        .ok_or_else(|| ApiError::internal(format!("{} does not decode", key.display())))?;
    let (_, current) = node.epoch();
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
async fn governance(State(node): State<NodeHandle>) -> Result<Json<serde_json::Value>, ApiError> {
    use civitas_modules::governance::state::{config_key, next_validators_key, protocol_key};
    let Json(config) = read_state(&node, config_key(), false).await?;
    let Json(next) = read_state(&node, next_validators_key(), false).await?;
    // A chain where no upgrade was ever scheduled has no record: protocol 1 since genesis.
    let protocol = node
        .state(protocol_key())
        .await?
        .value
        .and_then(|bytes| civitas_core::codec::from_slice(&bytes, &()).ok())
        .unwrap_or_else(civitas_core::governance::ProtocolSchedule::default)
        // As the next block sees it: an upgrade whose height has come is active.
        .settled(node.tip().height + 1);
    let (epoch, current) = node.epoch();
    let genesis = node.genesis();
    Ok(Json(json!({
        "threshold": config["value"]["threshold"],
        "agencies": config["value"]["agencies"],
        "next_proposal": config["value"]["next_proposal"],
        "epoch": epoch,
        "epoch_length": genesis.epoch_length,
        "next_epoch_starts_at": genesis.last_height_of(epoch).saturating_add(1),
        "validators": current.validators,
        "next_validators": next["value"]["validators"],
        "protocol": protocol,
        "height": config["height"],
    })))
}

/// The policy set in force: version, the height it took effect, the schema and every policy
/// with its text, plus a set approved for the next block, if any.
async fn policies(State(node): State<NodeHandle>) -> Result<Json<serde_json::Value>, ApiError> {
    use civitas_modules::authz::{head_key, pending_key, schema_key, version_key};
    let Json(head) = read_state(&node, head_key(), false).await?;
    let version = head["value"]["version"].as_u64().unwrap_or(0);
    let Json(record) = read_state(&node, version_key(version), false).await?;
    let Json(schema) = read_state(&node, schema_key(), false).await?;
    let pending = node.state(pending_key()).await?;
    let pending = pending
        .value
        .as_deref()
        .and_then(|bytes| civitas_modules::queries::value_json(spaces::AUTHZ_PENDING, bytes));
    Ok(Json(json!({
        "version": version,
        "effective_height": head["value"]["effective_height"],
        "proposal": record["value"]["proposal"],
        "digest": head["value"]["digest"],
        "schema_digest": head["value"]["schema_digest"],
        "policies": describe_policies(&record["value"]["policies"]),
        "schema": schema["value"],
        "pending": pending,
        "height": head["height"],
    })))
}

/// Policy set `version`, as it was in force from its `effective_height`.
async fn policy_version(
    State(node): State<NodeHandle>,
    Path(version): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let key = key_from_text(spaces::AUTHZ_VERSION, &version)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let proven = node.state(key).await?;
    let Some(bytes) = proven.value else {
        return Err(ApiError::not_found(format!(
            "policy set version {version} does not exist"
        )));
    };
    let mut record = civitas_modules::queries::value_json(spaces::AUTHZ_VERSION, &bytes)
        .ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
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
                let summary = civitas_modules::authz::summarize(text);
                entry["effect"] = json!(summary.effect);
                entry["description"] = json!(summary.description);
                entry
            })
            .collect(),
    )
}

async fn proposal(
    State(node): State<NodeHandle>,
    Path(id): Path<String>,
    Query(query): Query<ProofQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let key = key_from_text(civitas_modules::governance::state::spaces::PROPOSAL, &id)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    found_or_404(
        &node,
        key,
        query.proof,
        format!("proposal {id} does not exist"),
    )
    .await
}

async fn epoch_set(
    State(node): State<NodeHandle>,
    Path(epoch): Path<String>,
    Query(query): Query<ProofQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let key =
        key_from_text(spaces::EPOCH, &epoch).map_err(|e| ApiError::bad_request(e.to_string()))?;
    found_or_404(
        &node,
        key,
        query.proof,
        format!("epoch {epoch} has not started: its validator set is recorded by the last block of the epoch before"),
    )
    .await
}

async fn document(
    State(node): State<NodeHandle>,
    Path(hash): Path<String>,
    Query(query): Query<ProofQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let hash = parse_hash(&hash, "the document's SHA-256")?;
    let key = civitas_modules::notary::state::document_key(&hash);
    found_or_404(
        &node,
        key,
        query.proof,
        format!("no document with SHA-256 {hash} has been notarised"),
    )
    .await
}

fn bundle_response(bundle: civitas_core::bundle::ProofBundle) -> Response {
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

async fn document_bundle(
    State(node): State<NodeHandle>,
    Path(hash): Path<String>,
) -> Result<Response, ApiError> {
    let hash = parse_hash(&hash, "the document's SHA-256")?;
    let key = civitas_modules::notary::state::document_key(&hash);
    Ok(bundle_response(node.bundle(key).await?))
}

#[derive(Deserialize)]
struct ThroughQuery {
    /// `latest`, or a height: anchor the bundle at the first certified block from there.
    through: Option<String>,
}

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
