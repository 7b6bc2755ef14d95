//! Notifications over the API: each account's inbox (read and unread), its live stream, and
//! webhook subscriptions with their delivery logs.
//!
//! None of this is public record, so every route takes a signed request (`docs/API.md`,
//! "Signed reads"; the portal uses its session instead) and asks the policies with action
//! `ledger.read_pending` on the account concerned: by default the holder, and the admins of an
//! official's agency. A webhook subscription belongs to the account that signed its making;
//! only that account sees, replays or deletes it. Each path that changes something has one
//! method and no `GET` of the same path, so a read's signature cannot be used to change
//! anything (which is why a subscription is made at `/v1/webhooks/subscribe`).

use crate::{ErrorBody, Reader, allowed, path_of, signed_reader};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use civitas_consensus::service::{NodeHandle, ReadResource};
use civitas_core::crypto::AccountId;
use civitas_kit::http::{ApiError, Budgets, Page, PageQuery};
use civitas_kit::index::notify::{
    Delivery, DeliveryStatus, NewWebhook, Notification, Place, Webhook, WebhookFilter,
};
use civitas_kit::index::query::Order;
use civitas_kit::ledger::{Ledger, Reads};
use futures::{Stream, StreamExt as _};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The action the policies are asked for every notification read and change.
pub const ACTION: &str = "ledger.read_pending";
/// Most notifications one request marks read.
pub const MARK_MAX: usize = 100;

/// What the notification routes need besides the node and the read model.
#[derive(Clone, Default)]
pub struct Notify {
    /// Whether subscriptions may post to private networks (the delivery task's setting).
    pub allow_private_targets: bool,
    /// Open inbox streams, by reader and account read.
    pub streams: Arc<Mutex<BTreeMap<(AccountId, AccountId), u32>>>,
}

/// Most inbox streams one reader keeps open on one account at once (its browsers and
/// devices).
pub const STREAMS_PER_ACCOUNT_MAX: u32 = 4;
/// Longest an inbox stream stays open: then it ends, and the client reconnects (with
/// `Last-Event-ID`, losing nothing), showing again that it may read it.
pub const STREAM_MAX: Duration = Duration::from_secs(10 * 60);
/// A read model further behind the chain than this is being rebuilt: a stream that names no
/// starting point starts at the chain's tip rather than replay what is being indexed again.
pub const REBUILDING_LAG: u64 = 1_000;

/// One open stream of an account, counted while it lives.
struct StreamOf {
    streams: Arc<Mutex<BTreeMap<(AccountId, AccountId), u32>>>,
    key: (AccountId, AccountId),
}

impl StreamOf {
    fn open(notify: &Notify, reader: AccountId, account: AccountId) -> Result<Self, ApiError> {
        let key = (reader, account);
        let mut streams = notify.streams.lock().unwrap_or_else(|p| p.into_inner());
        let count = streams.entry(key).or_default();
        if *count >= STREAMS_PER_ACCOUNT_MAX {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_streams",
                format!(
                    "{STREAMS_PER_ACCOUNT_MAX} streams of these notifications are open for this reader, the most there may be; close one"
                ),
            ));
        }
        *count += 1;
        Ok(Self {
            streams: notify.streams.clone(),
            key,
        })
    }
}

impl Drop for StreamOf {
    fn drop(&mut self) {
        let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = streams.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                streams.remove(&self.key);
            }
        }
    }
}

/// The reader of a signed request, allowed to read `account`'s private records.
async fn reader_of(
    node: &NodeHandle,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
    account: AccountId,
) -> Result<Reader, ApiError> {
    let reader = signed_reader(node, headers, path_of(uri)).await?;
    allowed(node, &reader, ACTION, ReadResource::Account(account)).await?;
    Ok(reader)
}

/// Refuses a reader who is not `account` itself: reading another's inbox may be allowed (an
/// agency's admin), marking it read is not.
pub fn holder(reader: &Reader, account: &AccountId) -> Result<(), ApiError> {
    if reader.account != *account {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_holder",
            "only the account's holder marks its notifications read",
        ));
    }
    Ok(())
}

/// The signer of a request about its own subscriptions: signatures checked, and the keys
/// checked to be the account's (the policies' read question on the account itself).
async fn owner_of(
    node: &NodeHandle,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
) -> Result<Reader, ApiError> {
    let reader = signed_reader(node, headers, path_of(uri)).await?;
    allowed(node, &reader, ACTION, ReadResource::Account(reader.account)).await?;
    Ok(reader)
}

/// An account's inbox: a page of notifications, and how many are unread.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Inbox {
    /// The height every item reflects.
    pub height: u64,
    /// Unread notifications, counted up to 1,000 (1,000 means "1,000 or more").
    pub unread: u64,
    /// The notifications.
    pub items: Vec<Notification>,
    /// Pass as `cursor` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// `?unread=true`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct InboxQuery {
    /// Only unread notifications.
    unread: Option<bool>,
}

/// Reads `account`'s inbox page and unread count.
pub async fn inbox_page(
    ledger: &Ledger,
    account: &AccountId,
    unread_only: bool,
    page: &PageQuery,
) -> Result<Inbox, ApiError> {
    let mut snapshot = civitas_kit::http::snapshot(ledger).await?;
    let found = snapshot
        .inbox(
            account,
            unread_only,
            page.order(),
            page.cursor(),
            page.limit(),
        )
        .await?;
    let unread = snapshot.unread(account).await?;
    snapshot.finish().await?;
    Ok(Inbox {
        height: found.height,
        unread,
        items: found.items,
        next: found.next,
    })
}

#[utoipa::path(
    get,
    path = "/v1/accounts/{id}/inbox",
    operation_id = "getInbox",
    tag = "notifications",
    summary = "An account's notifications, read and unread (signed read)",
    description = "The events on the ledger that name the account, newest first, each marked read or not; with the number unread. The read marks are kept by this node and survive restarts and rebuilds of its index. Signed read (headers as for `/v1/accounts/{id}/pending`); the policies decide with action `ledger.read_pending` on the account.",
    params(
        ("id" = AccountId, Path, description = "Account id."),
        InboxQuery,
        PageQuery,
    ),
    responses(
        (status = 200, description = "A page of the inbox.", body = Inbox),
        (status = 400, description = "A malformed account or cursor.", body = ErrorBody),
        (status = 401, description = "`unauthenticated`: unsigned, stale or wrongly signed.", body = ErrorBody),
        (status = 403, description = "The policies refuse (`not_authorized`), or the key or account is not valid.", body = ErrorBody),
        (status = 429, description = "Too many lists at once; retry after `Retry-After`.", body = ErrorBody),
        (status = 503, description = "This node keeps no read model.", body = ErrorBody),
    )
)]
async fn inbox(
    State(node): State<NodeHandle>,
    Extension(ledger): Extension<Ledger>,
    Path(id): Path<String>,
    Query(query): Query<InboxQuery>,
    Query(page): Query<PageQuery>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Json<Inbox>, ApiError> {
    let account = crate::lists::account_param(&id)?;
    reader_of(&node, &headers, &uri, account).await?;
    Ok(Json(
        inbox_page(&ledger, &account, query.unread.unwrap_or(false), &page).await?,
    ))
}

/// `?ids=` or `?through=`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MarkQuery {
    /// Notification ids to mark read, comma-separated (at most 100).
    #[param(max_length = 6400)]
    pub ids: Option<String>,
    /// Mark every notification up to and including this id read.
    #[param(max_length = 64)]
    pub through: Option<String>,
}

/// How many are unread after a change.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Unread {
    /// Unread notifications, counted up to 1,000; `null` when the node is too busy to count
    /// them now (the marks are made).
    pub unread: Option<u64>,
}

/// Marks `account`'s notifications read as `query` says.
pub async fn mark(
    ledger: &Ledger,
    account: &AccountId,
    query: &MarkQuery,
) -> Result<Unread, ApiError> {
    let index = &ledger.reads()?.index;
    let bad = |e: civitas_kit::index::IndexError| ApiError::bad_request(e.to_string());
    match (&query.ids, &query.through) {
        (Some(ids), None) => {
            let places: Vec<Place> = ids
                .split(',')
                .map(Place::parse)
                .collect::<Result<_, _>>()
                .map_err(bad)?;
            if places.len() > MARK_MAX {
                return Err(ApiError::bad_request(format!(
                    "at most {MARK_MAX} ids at once; mark older ones with through="
                )));
            }
            index.mark_read(account, &places).await?;
        }
        (None, Some(through)) => {
            index
                .mark_read_through(account, Place::parse(through).map_err(bad)?)
                .await?;
        }
        _ => {
            return Err(ApiError::bad_request(
                "say which notifications: ids=<id>,<id>… or through=<id>",
            ));
        }
    }
    // The marks are made: a count the node cannot make now is said as unknown, not as a
    // failure.
    let unread = async {
        let mut snapshot = civitas_kit::http::snapshot(ledger).await.ok()?;
        let unread = snapshot.unread(account).await.ok();
        let _ = snapshot.finish().await;
        unread
    }
    .await;
    Ok(Unread { unread })
}

#[utoipa::path(
    post,
    path = "/v1/accounts/{id}/inbox/read",
    operation_id = "markInboxRead",
    tag = "notifications",
    summary = "Mark notifications read (signed)",
    description = "Marks the notifications named by `ids`, or every one up to and including `through`, read. Signed as a read of this path with its query (the body is empty); the policies decide with action `ledger.read_pending` on the account.",
    params(
        ("id" = AccountId, Path, description = "Account id."),
        MarkQuery,
    ),
    responses(
        (status = 200, description = "Marked; the number still unread.", body = Unread),
        (status = 400, description = "Neither or both of `ids` and `through`, or a malformed id.", body = ErrorBody),
        (status = 401, description = "`unauthenticated`.", body = ErrorBody),
        (status = 403, description = "The policies refuse.", body = ErrorBody),
        (status = 404, description = "An id is not a notification of this account (`not_found`).", body = ErrorBody),
        (status = 503, description = "This node keeps no read model.", body = ErrorBody),
    )
)]
async fn mark_read(
    State(node): State<NodeHandle>,
    Extension(ledger): Extension<Ledger>,
    Path(id): Path<String>,
    Query(query): Query<MarkQuery>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Json<Unread>, ApiError> {
    let account = crate::lists::account_param(&id)?;
    let reader = reader_of(&node, &headers, &uri, account).await?;
    holder(&reader, &account)?;
    Ok(Json(mark(&ledger, &account, &query).await?))
}

/// `?after=`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Start after this notification id (as `Last-Event-ID` does); by default, with the
    /// notifications that come after the request.
    #[param(max_length = 64)]
    pub after: Option<String>,
}

/// The live stream of `account`'s notifications: first an event `ready` whose id is where it
/// starts, then those after `after` (or, if none, after the moment of the call; `tip` is the
/// node's finalized height), each as an event `notification` whose id is the notification's,
/// read from the index when the blocks it applies name the account. It ends after
/// [`STREAM_MAX`]; a client reconnects with `Last-Event-ID` and loses nothing.
pub async fn inbox_stream(
    ledger: &Ledger,
    budgets: &Budgets,
    notify: &Notify,
    reader: AccountId,
    account: AccountId,
    after: Option<&str>,
    tip: u64,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>> + use<>>, ApiError> {
    let reads = ledger.reads()?.clone();
    let cursor = match after {
        Some(text) => Place::parse(text).map_err(|e| ApiError::bad_request(e.to_string()))?,
        None => {
            let snapshot = civitas_kit::http::snapshot(ledger).await?;
            let height = snapshot.height();
            snapshot.finish().await?;
            if tip.saturating_sub(height) > REBUILDING_LAG {
                Place::end_of(tip)
            } else {
                Place::end_of(height)
            }
        }
    };
    let counted = StreamOf::open(notify, reader, account)?;
    let slot = budgets.stream()?;
    let ready = SseEvent::default()
        .event("ready")
        .id(cursor.to_string())
        .data(format!("{{\"after\":\"{cursor}\"}}"));
    struct Follow {
        reads: Reads,
        applied: tokio::sync::watch::Receiver<std::sync::Arc<civitas_kit::index::follow::Batch>>,
        account: AccountId,
        /// The last notification sent (or where the stream starts).
        cursor: Place,
        /// Every notification up to this height is sent; `None` until the index was read.
        checked: Option<u64>,
        queue: VecDeque<Notification>,
        ends: tokio::time::Instant,
        _slot: tokio::sync::OwnedSemaphorePermit,
        _counted: StreamOf,
    }
    let mut applied = reads.progress.watch();
    applied.mark_unchanged();
    let state = Follow {
        applied,
        reads,
        account,
        cursor,
        checked: None,
        queue: VecDeque::new(),
        ends: tokio::time::Instant::now() + STREAM_MAX,
        _slot: slot,
        _counted: counted,
    };
    let stream = futures::stream::unfold(state, |mut s| async move {
        loop {
            if tokio::time::Instant::now() >= s.ends {
                return None;
            }
            if let Some(item) = s.queue.pop_front() {
                let event = SseEvent::default()
                    .event("notification")
                    .id(item.id.clone())
                    .json_data(&item)
                    .unwrap_or_default();
                return Some((Ok(event), s));
            }
            if s.checked.is_none() {
                match next_notifications(&s.reads, &s.account, s.cursor).await {
                    Ok((items, height, more)) => {
                        if let Some(last) = items.last().and_then(|n| Place::parse(&n.id).ok()) {
                            s.cursor = last;
                        }
                        s.queue.extend(items);
                        // A full page: read on before waiting.
                        s.checked = (!more).then_some(height);
                        continue;
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "an inbox stream could not read the index");
                    }
                }
            }
            // Wait for blocks; look in the index only when they may name the account (or,
            // rarely, on a timer, in case the index was rebuilt or a batch was missed).
            tokio::select! {
                changed = s.applied.changed() => {
                    if changed.is_err() {
                        tokio::time::sleep(Duration::from_secs(2)).await;
                        s.checked = None;
                        continue;
                    }
                    let batch = s.applied.borrow_and_update().clone();
                    s.checked = match s.checked {
                        Some(checked) if batch.from == checked + 1 && !batch.may_name(&s.account) => {
                            Some(batch.to)
                        }
                        _ => None,
                    };
                }
                _ = tokio::time::sleep(STREAM_RECHECK) => s.checked = None,
                _ = tokio::time::sleep_until(s.ends) => return None,
            }
        }
    });
    let stream = futures::stream::once(async move { Ok(ready) }).chain(stream);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// How often a quiet stream looks in the index anyway.
const STREAM_RECHECK: Duration = Duration::from_secs(60);

/// The notifications after `cursor` (a page), the height they reflect, and whether there are
/// more.
async fn next_notifications(
    reads: &Reads,
    account: &AccountId,
    cursor: Place,
) -> Result<(Vec<Notification>, u64, bool), civitas_kit::index::IndexError> {
    let mut snapshot = reads.index.snapshot().await?;
    let page = snapshot
        .inbox(
            account,
            false,
            Order::Oldest,
            Some(&cursor.to_string()),
            100,
        )
        .await?;
    snapshot.finish().await?;
    Ok((page.items, page.height, page.next.is_some()))
}

#[utoipa::path(
    get,
    path = "/v1/accounts/{id}/inbox/stream",
    operation_id = "streamInbox",
    tag = "notifications",
    summary = "An account's notifications, live (signed read)",
    description = "Server-sent events: `notification` (the same JSON as an inbox item; its SSE id is the notification's id) for each event naming the account once this node's index has applied its block. Resume after a disconnection with `Last-Event-ID` or `?after=`: nothing in between is lost. Signed read; the policies decide with action `ledger.read_pending` on the account.",
    params(
        ("id" = AccountId, Path, description = "Account id."),
        StreamQuery,
        ("last-event-id" = Option<String>, Header, description = "The last notification id received (overrides `after`)."),
    ),
    responses(
        (status = 200, description = "Server-sent events: `ready` first (its id is where the stream starts), then `notification` for each new one. The stream ends after 10 minutes; reconnect with `Last-Event-ID`.", body = String, content_type = "text/event-stream"),
        (status = 400, description = "A malformed account or id.", body = ErrorBody),
        (status = 401, description = "`unauthenticated`.", body = ErrorBody),
        (status = 403, description = "The policies refuse.", body = ErrorBody),
        (status = 429, description = "This node serves as many event streams as it can, or this reader has 4 open on the account (`too_many_streams`).", body = ErrorBody),
        (status = 503, description = "This node keeps no read model.", body = ErrorBody),
    )
)]
async fn stream(
    State(node): State<NodeHandle>,
    Extension(ledger): Extension<Ledger>,
    Extension(budgets): Extension<Budgets>,
    Extension(notify): Extension<Notify>,
    Path(id): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let account = crate::lists::account_param(&id)?;
    let Query(query) = Query::<StreamQuery>::try_from_uri(&uri)
        .map_err(|e| ApiError::bad_request(e.body_text()))?;
    let reader = reader_of(&node, &headers, &uri, account).await?;
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let after = last.or(query.after);
    Ok(inbox_stream(
        &ledger,
        &budgets,
        &notify,
        reader.account,
        account,
        after.as_deref(),
        node.tip().height,
    )
    .await?
    .into_response())
}

/// `?url=&account=&module=&type=`: a new subscription.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NewWebhookQuery {
    /// Where to post (`https://…`; at most 2,048 bytes).
    #[param(max_length = 2048)]
    pub url: String,
    /// Only events naming this account (the signer must be allowed to read its private
    /// records). Without it, the events are public ones: the signer reads them for itself.
    #[param(max_length = 64)]
    pub account: Option<String>,
    /// Only events of this module (`notary`).
    #[param(max_length = 64)]
    pub module: Option<String>,
    /// Only events of this type (`document_anchored`).
    #[serde(rename = "type")]
    #[param(rename = "type", max_length = 64)]
    pub kind: Option<String>,
}

/// A subscription just made (or found the same), with its secret.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MadeWebhook {
    /// The subscription.
    pub webhook: Webhook,
    /// The secret its deliveries are signed with (`whsec_…`, Standard Webhooks), shown once,
    /// when the subscription is made (absent when the same one existed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// The subscriptions of an account.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Webhooks {
    /// Oldest first.
    pub items: Vec<Webhook>,
}

fn name_param(text: Option<String>, what: &str) -> Result<Option<String>, ApiError> {
    match text {
        Some(t)
            if t.is_empty()
                || t.len() > 64
                || !t
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') =>
        {
            Err(ApiError::bad_request(format!(
                "{what} is a name of lowercase letters, digits and _, at most 64"
            )))
        }
        other => Ok(other),
    }
}

/// Makes a subscription for `reader` (whom the caller has authenticated).
pub async fn create_webhook(
    node: &NodeHandle,
    ledger: &Ledger,
    notify: &Notify,
    reader: &Reader,
    query: NewWebhookQuery,
) -> Result<(bool, MadeWebhook), ApiError> {
    let url = crate::webhooks::check_url(&query.url, notify.allow_private_targets)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_url", e))?;
    let account = civitas_kit::http::account_query(query.account.as_deref(), "account")?;
    // Events naming an account are followed only by those who may read its private records;
    // other events are public, and the signer subscribes for itself.
    let concerned = account.unwrap_or(reader.account);
    allowed(node, reader, ACTION, ReadResource::Account(concerned)).await?;
    let filter = WebhookFilter {
        account,
        module: name_param(query.module, "module")?,
        kind: name_param(query.kind, "type")?,
    };
    let secret = crate::webhooks::new_secret().map_err(ApiError::internal)?;
    let (webhook, secret, made) = ledger
        .reads()?
        .index
        .create_webhook(NewWebhook {
            owner: reader.account,
            url: url.to_string(),
            filter,
            secret,
            start: Place::end_of(node.tip().height),
            now_ms: crate::now_ms(),
        })
        .await?;
    Ok((
        made,
        MadeWebhook {
            webhook,
            secret: made.then_some(secret),
        },
    ))
}

#[utoipa::path(
    post,
    path = "/v1/webhooks/subscribe",
    operation_id = "createWebhook",
    tag = "notifications",
    summary = "Subscribe a URL to events (signed)",
    description = "Makes a webhook subscription owned by the signing account: every event finalized after now that matches all the filters given is posted to `url`, signed with the secret in the answer (Standard Webhooks: headers `webhook-id`, `webhook-timestamp`, `webhook-signature`; see docs/API.md, \"Webhooks\"). Signed as a read of this path with its query (the body is empty). The same owner, URL and filters again return the existing subscription (200, without its secret). At most 16 per account and 1,000 per node; URLs on loopback or private networks are refused unless the operator allows them.",
    params(NewWebhookQuery),
    responses(
        (status = 201, description = "Made.", body = MadeWebhook),
        (status = 200, description = "The same subscription existed.", body = MadeWebhook),
        (status = 400, description = "A URL that is not http(s), on a private network (`bad_url`), or a malformed filter.", body = ErrorBody),
        (status = 401, description = "`unauthenticated`.", body = ErrorBody),
        (status = 403, description = "The policies refuse reading the account's private records.", body = ErrorBody),
        (status = 409, description = "`limit_reached`: the account or the node holds the most subscriptions.", body = ErrorBody),
        (status = 503, description = "This node keeps no read model.", body = ErrorBody),
    )
)]
async fn create(
    State(node): State<NodeHandle>,
    Extension(ledger): Extension<Ledger>,
    Extension(notify): Extension<Notify>,
    Query(query): Query<NewWebhookQuery>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let reader = owner_of(&node, &headers, &uri).await?;
    let (made, webhook) = create_webhook(&node, &ledger, &notify, &reader, query).await?;
    let status = if made {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(webhook)).into_response())
}

/// The signing account's own subscription `id`, or 404.
pub async fn owned(ledger: &Ledger, reader: &Reader, id: &str) -> Result<Webhook, ApiError> {
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no webhook subscription {id:?} of this account"),
        )
    };
    if id.len() > 64 {
        return Err(not_found());
    }
    match ledger.reads()?.index.webhook(id).await? {
        Some((webhook, _)) if webhook.owner == reader.account => Ok(webhook),
        _ => Err(not_found()),
    }
}

#[utoipa::path(
    get,
    path = "/v1/webhooks",
    operation_id = "listWebhooks",
    tag = "notifications",
    summary = "The signing account's webhook subscriptions (signed read)",
    responses(
        (status = 200, description = "Its subscriptions, with their counts of deliveries pending, dead and delivered.", body = Webhooks),
        (status = 401, description = "`unauthenticated`.", body = ErrorBody),
        (status = 503, description = "This node keeps no read model.", body = ErrorBody),
    )
)]
async fn list(
    State(node): State<NodeHandle>,
    Extension(ledger): Extension<Ledger>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Json<Webhooks>, ApiError> {
    let reader = owner_of(&node, &headers, &uri).await?;
    let items = ledger.reads()?.index.webhooks_of(&reader.account).await?;
    Ok(Json(Webhooks { items }))
}

#[utoipa::path(
    delete,
    path = "/v1/webhooks/{id}",
    operation_id = "deleteWebhook",
    tag = "notifications",
    summary = "Delete a webhook subscription and its log (signed)",
    params(("id" = String, Path, description = "The subscription (`wh_…`).")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, description = "`unauthenticated`.", body = ErrorBody),
        (status = 404, description = "No such subscription of the signing account.", body = ErrorBody),
    )
)]
async fn delete(
    State(node): State<NodeHandle>,
    Extension(ledger): Extension<Ledger>,
    Path(id): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let reader = owner_of(&node, &headers, &uri).await?;
    let webhook = owned(&ledger, &reader, &id).await?;
    ledger.reads()?.index.delete_webhook(&webhook.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `?status=`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct DeliveriesQuery {
    /// Only deliveries that are `pending`, `delivered` or `dead`.
    #[param(inline)]
    status: Option<DeliveryStatus>,
}

#[utoipa::path(
    get,
    path = "/v1/webhooks/{id}/deliveries",
    operation_id = "listWebhookDeliveries",
    tag = "notifications",
    summary = "A subscription's delivery log and dead letters (signed read)",
    description = "Its deliveries by event, newest first: each with its id (the `webhook-id` header), attempts, the last HTTP status and error. `status=dead` is the dead-letter list: replay it with `POST /v1/webhooks/{id}/replay`.",
    params(
        ("id" = String, Path, description = "The subscription (`wh_…`)."),
        DeliveriesQuery,
        PageQuery,
    ),
    responses(
        (status = 200, description = "A page of deliveries.", body = Page<Delivery>),
        (status = 401, description = "`unauthenticated`.", body = ErrorBody),
        (status = 404, description = "No such subscription of the signing account.", body = ErrorBody),
    )
)]
async fn deliveries(
    State(node): State<NodeHandle>,
    Extension(ledger): Extension<Ledger>,
    Path(id): Path<String>,
    Query(query): Query<DeliveriesQuery>,
    Query(page): Query<PageQuery>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Json<Page<Delivery>>, ApiError> {
    let reader = owner_of(&node, &headers, &uri).await?;
    let webhook = owned(&ledger, &reader, &id).await?;
    civitas_kit::http::listed(
        &ledger,
        async |s| {
            s.deliveries(
                &webhook.id,
                query.status,
                page.order(),
                page.cursor(),
                page.limit(),
            )
            .await
        },
        |d| d,
    )
    .await
}

/// `?delivery=`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReplayQuery {
    /// Only this dead delivery (`msg_…`); by default every dead one.
    #[param(max_length = 64)]
    pub delivery: Option<String>,
}

/// How many deliveries were sent again.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Replayed {
    /// Dead deliveries made pending again.
    pub replayed: u64,
}

#[utoipa::path(
    post,
    path = "/v1/webhooks/{id}/replay",
    operation_id = "replayWebhookDeliveries",
    tag = "notifications",
    summary = "Send dead deliveries again (signed)",
    description = "Makes the subscription's dead deliveries (or the one named) pending again, under the same ids, with a fresh series of attempts. Signed as a read of this path with its query.",
    params(
        ("id" = String, Path, description = "The subscription (`wh_…`)."),
        ReplayQuery,
    ),
    responses(
        (status = 200, description = "How many were replayed.", body = Replayed),
        (status = 401, description = "`unauthenticated`.", body = ErrorBody),
        (status = 404, description = "No such subscription of the signing account.", body = ErrorBody),
    )
)]
async fn replay(
    State(node): State<NodeHandle>,
    Extension(ledger): Extension<Ledger>,
    Path(id): Path<String>,
    Query(query): Query<ReplayQuery>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Json<Replayed>, ApiError> {
    let reader = owner_of(&node, &headers, &uri).await?;
    let webhook = owned(&ledger, &reader, &id).await?;
    let replayed = ledger
        .reads()?
        .index
        .replay(&webhook.id, query.delivery.as_deref(), crate::now_ms())
        .await?;
    Ok(Json(Replayed { replayed }))
}

/// The notification routes.
pub fn routes() -> utoipa_axum::router::OpenApiRouter<NodeHandle> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(inbox))
        .routes(routes!(mark_read))
        .routes(routes!(stream))
        .routes(routes!(create))
        .routes(routes!(list))
        .routes(routes!(delete))
        .routes(routes!(deliveries))
        .routes(routes!(replay))
}
