//! Lists from the node's read model, and the task that keeps the read model at the node's
//! finalized height.
//!
//! Every list is a page with the height it reflects and a cursor for the next
//! (`civitas_kit::http::Page`); a transaction in a list names its proof bundle, which comes from
//! the ledger, not from the index.

use axum::Json;
use axum::extract::{Path, Query, State};
use civitas_consensus::service::NodeHandle;
use civitas_core::crypto::AccountId;
use civitas_core::hash::Hash32;
use civitas_kit::http::{ApiError, ErrorBody, Page, PageQuery, account_query, listed};
use civitas_kit::index::follow::{Later, Progress, Source};
use civitas_kit::index::query::{
    BlockFilter, BlockItem, EventFilter, EventItem, Part, TxFilter, TxItem,
};
use civitas_kit::index::{Backend, Finalized, Index};
use civitas_kit::ledger::{Ledger, Reads};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The finalized blocks of a node, as the follower reads them.
struct NodeSource {
    node: NodeHandle,
    finalized: tokio::sync::Mutex<
        tokio::sync::broadcast::Receiver<Arc<civitas_consensus::app::FinalizedBlock>>,
    >,
}

impl Source for NodeSource {
    fn chain(&self) -> Hash32 {
        self.node.genesis().hash()
    }

    fn tip(&self) -> u64 {
        self.node.tip().height
    }

    fn block(&self, height: u64) -> Later<'_, Result<Option<Finalized>, String>> {
        Box::pin(async move {
            let block = self
                .node
                .finalized(height)
                .await
                .map_err(|e| e.to_string())?;
            Ok(block.map(|b| Finalized {
                block: b.block,
                digest: b.digest,
                receipts: b.receipts,
                end: b.end,
            }))
        })
    }

    fn changed(&self) -> Later<'_, ()> {
        Box::pin(async move {
            // A lagged feed also means "something changed": the follower reads by height.
            let _ = self.finalized.lock().await.recv().await;
        })
    }
}

/// Starts following `node` into `index` on the current runtime; the read model for the API.
pub fn follow(node: NodeHandle, index: Index) -> Reads {
    // The founding agencies' admins hold their keys and role from genesis, with no event to
    // say so.
    let admins = node
        .genesis()
        .agencies
        .iter()
        .flat_map(|agency| {
            agency
                .admin_keys
                .iter()
                .map(|key| civitas_kit::index::GenesisAdmin {
                    key: key.clone(),
                    account: key.account_id(),
                    agency: agency.id.clone(),
                    role: civitas_modules::roles::ADMIN.into(),
                })
        })
        .collect();
    let index = index.with_genesis_keys(admins);
    let progress = Arc::new(Progress::default());
    let source = NodeSource {
        finalized: tokio::sync::Mutex::new(node.subscribe()),
        node,
    };
    tokio::spawn(civitas_kit::index::follow::follow(
        index.clone(),
        source,
        progress.clone(),
    ));
    Reads { index, progress }
}

/// The list routes.
pub fn routes() -> OpenApiRouter<Ledger> {
    OpenApiRouter::new()
        .routes(routes!(index_status))
        .routes(routes!(blocks))
        .routes(routes!(transactions))
        .routes(routes!(account_transactions))
        .routes(routes!(account_events))
        .routes(routes!(events))
}

/// Where the read model stands.
#[derive(Serialize, utoipa::ToSchema)]
pub struct IndexStatus {
    /// `sqlite` or `postgres`.
    pub backend: Backend,
    /// The last block whose rows are in the index (0: none yet).
    pub height: u64,
    /// The node's latest finalized height.
    pub tip: u64,
    /// Blocks the index is behind the node.
    pub lag: u64,
    /// Transactions the index has applied since the node started.
    pub transactions_applied: u64,
    /// Whether the index is failing to apply blocks now (the node's log says why).
    pub failing: bool,
}

#[utoipa::path(
    get,
    path = "/v1/index",
    operation_id = "getIndexStatus",
    tag = "lists",
    summary = "Where the read model stands",
    description = "The lists (`/v1/blocks`, `/v1/transactions`, `/v1/accounts/{id}/transactions`, …) come from the node's read model, which follows the finalized chain; this says how far it has followed.",
    responses(
        (status = 200, description = "The read model's height and lag.", body = IndexStatus),
        (status = 503, description = "This node keeps no read model.", body = ErrorBody),
    )
)]
async fn index_status(State(ledger): State<Ledger>) -> Result<Json<IndexStatus>, ApiError> {
    let reads = ledger.reads()?;
    let progress = &reads.progress;
    let height = progress.applied();
    let tip = ledger.height();
    Ok(Json(IndexStatus {
        backend: reads.index.backend(),
        height,
        tip,
        lag: tip.saturating_sub(height),
        transactions_applied: progress.transactions(),
        failing: progress.error().is_some(),
    }))
}

/// `?with_transactions=`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct BlocksQuery {
    /// Only blocks that hold transactions (hides the empty ones).
    #[serde(default)]
    with_transactions: bool,
}

#[utoipa::path(
    get,
    path = "/v1/blocks",
    operation_id = "listBlocks",
    tag = "lists",
    summary = "Finalized blocks, newest first",
    params(BlocksQuery, PageQuery),
    responses(
        (status = 200, description = "A page of blocks.", body = Page<BlockItem>),
        (status = 400, description = "A cursor this list did not hand out (`bad_cursor`), or a parameter that does not parse.", body = ErrorBody),
        (status = 429, description = "Too many lists at once; retry after `Retry-After`.", body = ErrorBody),
        (status = 503, description = "This node keeps no read model.", body = ErrorBody),
    )
)]
async fn blocks(
    State(ledger): State<Ledger>,
    Query(filter): Query<BlocksQuery>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<BlockItem>>, ApiError> {
    let filter = BlockFilter {
        with_transactions: filter.with_transactions,
    };
    listed(
        &ledger,
        async |s| {
            s.blocks(&filter, page.order(), page.cursor(), page.limit())
                .await
        },
        |b| b,
    )
    .await
}

/// A transaction in a list, with the address of its proof bundle.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ListedTx {
    /// The transaction.
    #[serde(flatten)]
    pub tx: TxItem,
    /// Its proof bundle (the block, the receipt and its path), which checks offline against
    /// the genesis alone.
    pub proof_bundle: String,
}

fn with_proof(tx: TxItem) -> ListedTx {
    ListedTx {
        proof_bundle: format!("/v1/proofs/transactions/{}", tx.hash),
        tx,
    }
}

/// `?account=&part=&action=&failed=`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct TxQuery {
    /// Only transactions that concern this account (64 hex digits).
    account: Option<String>,
    /// With `account`: only those it `sent`, `cosigned` or is `named` in.
    #[param(inline)]
    part: Option<Part>,
    /// Only transactions with this instruction (`module.operation`, such as `notary.anchor`).
    #[param(pattern = "^[a-z_]+\\.[a-z_]+$")]
    action: Option<String>,
    /// `true`: only failed transactions; `false`: only successful ones.
    failed: Option<bool>,
}

/// An account named by the path or the query (64 hex digits), or 400.
pub(crate) fn account_param(text: &str) -> Result<AccountId, ApiError> {
    account_query(Some(text), "account")?
        .ok_or_else(|| ApiError::bad_request("account must be 64 hexadecimal characters"))
}

fn tx_filter(query: TxQuery, account: Option<AccountId>) -> Result<TxFilter, ApiError> {
    let account = match (account, query.account.as_deref()) {
        (Some(account), _) => Some(account),
        (None, Some(text)) => Some(account_param(text)?),
        (None, None) => None,
    };
    if query.part.is_some() && account.is_none() {
        return Err(ApiError::bad_request(
            "part (sent, cosigned, named) needs an account",
        ));
    }
    if let Some(action) = &query.action {
        let valid = action.len() <= 64
            && action.split_once('.').is_some_and(|(m, o)| {
                !m.is_empty()
                    && !o.is_empty()
                    && (m.to_string() + o)
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b == b'_')
            });
        if !valid {
            return Err(ApiError::bad_request(
                "action must be module.operation, such as notary.anchor",
            ));
        }
    }
    Ok(TxFilter {
        account,
        part: query.part,
        action: query.action,
        failed: query.failed,
    })
}

async fn list_transactions(
    ledger: &Ledger,
    filter: TxFilter,
    page: &PageQuery,
) -> Result<Json<Page<ListedTx>>, ApiError> {
    listed(
        ledger,
        async |s| {
            s.transactions(&filter, page.order(), page.cursor(), page.limit())
                .await
        },
        with_proof,
    )
    .await
}

#[utoipa::path(
    get,
    path = "/v1/transactions",
    operation_id = "listTransactions",
    tag = "lists",
    summary = "Finalized transactions, newest first, by account, instruction and outcome",
    params(TxQuery, PageQuery),
    responses(
        (status = 200, description = "A page of transactions, each with its proof bundle's address.", body = Page<ListedTx>),
        (status = 400, description = "A malformed account or action, `part` without an account, or a cursor this list did not hand out (`bad_cursor`).", body = ErrorBody),
        (status = 429, description = "Too many lists at once; retry after `Retry-After`.", body = ErrorBody),
        (status = 503, description = "This node keeps no read model.", body = ErrorBody),
    )
)]
async fn transactions(
    State(ledger): State<Ledger>,
    Query(query): Query<TxQuery>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<ListedTx>>, ApiError> {
    let filter = tx_filter(query, None)?;
    list_transactions(&ledger, filter, &page).await
}

#[utoipa::path(
    get,
    path = "/v1/accounts/{id}/transactions",
    operation_id = "listAccountTransactions",
    tag = "lists",
    summary = "An account's transactions: sent, co-signed, or naming it",
    params(
        ("id" = civitas_core::crypto::AccountId, Path, description = "The account (64 hex digits)."),
        TxQuery,
        PageQuery,
    ),
    responses(
        (status = 200, description = "A page of transactions, each saying how the account takes part and with its proof bundle's address.", body = Page<ListedTx>),
        (status = 400, description = "A malformed account or action, or a cursor this list did not hand out (`bad_cursor`).", body = ErrorBody),
        (status = 429, description = "Too many lists at once; retry after `Retry-After`.", body = ErrorBody),
        (status = 503, description = "This node keeps no read model.", body = ErrorBody),
    )
)]
async fn account_transactions(
    State(ledger): State<Ledger>,
    Path(id): Path<String>,
    Query(query): Query<TxQuery>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<ListedTx>>, ApiError> {
    let filter = tx_filter(query, Some(account_param(&id)?))?;
    list_transactions(&ledger, filter, &page).await
}

/// `?type=&module=&account=`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct EventQuery {
    /// Only events of this type (`document_anchored`, `treasury_entry`, …).
    #[serde(rename = "type")]
    #[param(rename = "type", pattern = "^[a-z_]{1,64}$")]
    kind: Option<String>,
    /// Only events of this module (`notary`, `treasury`, …).
    #[param(pattern = "^[a-z_]{1,64}$")]
    module: Option<String>,
    /// Only events that name this account (64 hex digits).
    account: Option<String>,
}

fn word(text: Option<String>, what: &str) -> Result<Option<String>, ApiError> {
    match text {
        Some(t)
            if t.is_empty()
                || t.len() > 64
                || !t.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') =>
        {
            Err(ApiError::bad_request(format!(
                "{what} must be lowercase letters and `_`, such as document_anchored"
            )))
        }
        other => Ok(other),
    }
}

async fn list_events(
    ledger: &Ledger,
    query: EventQuery,
    account: Option<AccountId>,
    page: &PageQuery,
) -> Result<Json<Page<EventItem>>, ApiError> {
    let account = match (account, query.account.as_deref()) {
        (Some(account), _) => Some(account),
        (None, Some(text)) => Some(account_param(text)?),
        (None, None) => None,
    };
    let filter = EventFilter {
        account,
        kind: word(query.kind, "type")?,
        module: word(query.module, "module")?,
    };
    listed(
        ledger,
        async |s| {
            s.events(&filter, page.order(), page.cursor(), page.limit())
                .await
        },
        |e| e,
    )
    .await
}

#[utoipa::path(
    get,
    path = "/v1/index/events",
    operation_id = "listEvents",
    tag = "lists",
    summary = "Recorded events, newest first, by type, module and account",
    description = "The events of finalized transactions, from the read model (the live feed is `/v1/events`).",
    params(EventQuery, PageQuery),
    responses(
        (status = 200, description = "A page of events, each with its transaction.", body = Page<EventItem>),
        (status = 400, description = "A malformed filter, or a cursor this list did not hand out (`bad_cursor`).", body = ErrorBody),
        (status = 429, description = "Too many lists at once; retry after `Retry-After`.", body = ErrorBody),
        (status = 503, description = "This node keeps no read model.", body = ErrorBody),
    )
)]
async fn events(
    State(ledger): State<Ledger>,
    Query(query): Query<EventQuery>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<EventItem>>, ApiError> {
    list_events(&ledger, query, None, &page).await
}

#[utoipa::path(
    get,
    path = "/v1/accounts/{id}/events",
    operation_id = "listAccountEvents",
    tag = "lists",
    summary = "The events that name an account, newest first",
    params(
        ("id" = civitas_core::crypto::AccountId, Path, description = "The account (64 hex digits)."),
        EventQuery,
        PageQuery,
    ),
    responses(
        (status = 200, description = "A page of events, each with its transaction.", body = Page<EventItem>),
        (status = 400, description = "A malformed account or filter, or a cursor this list did not hand out (`bad_cursor`).", body = ErrorBody),
        (status = 429, description = "Too many lists at once; retry after `Retry-After`.", body = ErrorBody),
        (status = 503, description = "This node keeps no read model.", body = ErrorBody),
    )
)]
async fn account_events(
    State(ledger): State<Ledger>,
    Path(id): Path<String>,
    Query(query): Query<EventQuery>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<EventItem>>, ApiError> {
    let account = account_param(&id)?;
    list_events(&ledger, query, Some(account), &page).await
}
