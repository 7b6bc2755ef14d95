//! The signed-in person's notifications (the inbox on the account page, its live stream, read
//! marks) and the console's page of webhook subscriptions: the API's notification routes
//! (`crate::notify`), reached with the portal's session instead of a signed request. The
//! policies decide as for the API (`ledger.read_pending`), for the keys that signed the session
//! in.

use super::PortalState;
use super::html::{Page, esc, notice, table};
use super::session::{please_sign_in, same_origin, session_keys, signed_in, unauthenticated};
use crate::Reader;
use crate::notify::{ACTION, MarkQuery, NewWebhookQuery, ReplayQuery};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use civitas_consensus::service::ReadResource;
use civitas_kit::http::{ApiError, Budgets, PageQuery};
use civitas_kit::index::notify::{DeliveryStatus, Notification};
use civitas_kit::index::query::Order;
use serde_json::json;

/// Most notifications on the account page.
pub const SHOWN_MAX: u32 = 20;

/// The signed-in reader, allowed to read its own private records.
async fn reader(state: &PortalState, headers: &HeaderMap) -> Result<Reader, ApiError> {
    let (account, _) = signed_in(state, headers)
        .await
        .ok_or_else(|| unauthenticated("sign in first (your session may have ended)"))?;
    let reader = Reader {
        account,
        keys: session_keys(state, headers),
    };
    crate::allowed(&state.node, &reader, ACTION, ReadResource::Account(account)).await?;
    Ok(reader)
}

/// One notification as a list item: what happened, when, read or not, with a button to mark
/// it read.
pub fn item(notification: &Notification) -> String {
    let words = serde_json::from_value::<civitas_core::event::Event>(notification.event.clone())
        .map(|e| super::explorer::event_words(&e))
        .unwrap_or_else(|_| "an event".into());
    let button = if notification.read {
        String::new()
    } else {
        format!(
            " <button type=\"button\" class=\"secondary mark-read\" data-id=\"{id}\">Mark read</button>",
            id = esc(&notification.id)
        )
    };
    format!(
        "<li class=\"{class}\" data-id=\"{id}\"><span class=\"visually-hidden\">{state}: </span>\
         Block <a href=\"/explorer/blocks/{h}\">{h}</a>: {words} \
         <a href=\"/explorer/transactions/{tx}\">details</a>{button}</li>",
        class = if notification.read { "read" } else { "unread" },
        state = if notification.read { "Read" } else { "Unread" },
        id = esc(&notification.id),
        h = notification.height,
        words = esc(&words),
        tx = esc(&notification.tx),
    )
}

/// The inbox section of the account page.
pub async fn section(state: &PortalState, headers: &HeaderMap) -> String {
    let body = match reader(state, headers).await {
        Err(e) => notice(
            "info",
            &format!("Your notifications cannot be shown: {}", esc(&e.message)),
        ),
        Ok(reader) => {
            let page = PageQuery {
                order: Some(Order::Newest),
                cursor: None,
                limit: Some(SHOWN_MAX),
            };
            match crate::notify::inbox_page(&state.site.ledger, &reader.account, false, &page).await
            {
                Err(e) => notice(
                    "info",
                    &format!(
                        "Your notifications cannot be listed by this node now: {}",
                        esc(&e.message)
                    ),
                ),
                Ok(inbox) => {
                    let items = if inbox.items.is_empty() {
                        "<li class=\"empty\">Nothing yet.</li>".to_string()
                    } else {
                        inbox.items.iter().map(item).collect()
                    };
                    // Live from the page's own height, or from the chain's tip while the read
                    // model is rebuilt (rather than replay what it indexes again).
                    let tip = state.node.tip().height;
                    let after = civitas_kit::index::notify::Place::end_of(
                        if tip.saturating_sub(inbox.height) > crate::notify::REBUILDING_LAG {
                            tip
                        } else {
                            inbox.height
                        },
                    );
                    let newest = inbox
                        .items
                        .first()
                        .map(|n| n.id.clone())
                        .unwrap_or_default();
                    format!(
                        "<p>Events on the ledger that name your account, newest first, as of \
                         block {height}; new ones appear here as blocks are finalized. \
                         <strong id=\"unread-count\" aria-live=\"polite\">{unread}</strong> unread.</p>\
                         <p><button type=\"button\" id=\"mark-all-read\" class=\"secondary\" \
                         data-through=\"{newest}\">Mark all read</button></p>\
                         <ul id=\"notifications\" class=\"events inbox\" aria-live=\"polite\" data-after=\"{after}\">{items}</ul>",
                        height = inbox.height,
                        unread = unread_words(inbox.unread),
                        newest = esc(&newest),
                    )
                }
            }
        }
    };
    format!(
        "<section aria-labelledby=\"notes-heading\"><h2 id=\"notes-heading\">Notifications</h2>{body}</section>"
    )
}

fn unread_words(unread: u64) -> String {
    if unread >= civitas_kit::index::notify::UNREAD_COUNTED_MAX {
        format!("{unread} or more")
    } else {
        unread.to_string()
    }
}

/// `GET /portal/inbox/stream?after=`: the signed-in account's notifications, live, after the
/// page's own height (`after`, which the account page renders) or the stream's last event.
pub async fn stream(
    State(state): State<PortalState>,
    axum::Extension(budgets): axum::Extension<Budgets>,
    axum::Extension(notify): axum::Extension<crate::notify::Notify>,
    Query(query): Query<crate::notify::StreamQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let reader = reader(&state, &headers).await?;
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let after = last.or(query.after);
    Ok(crate::notify::inbox_stream(
        &state.site.ledger,
        &budgets,
        &notify,
        reader.account,
        reader.account,
        after.as_deref(),
        state.node.tip().height,
    )
    .await?
    .into_response())
}

/// `POST /portal/inbox/read?ids=…|through=…`.
pub async fn mark(
    State(state): State<PortalState>,
    Query(query): Query<MarkQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    same_origin(&headers)?;
    let reader = reader(&state, &headers).await?;
    let unread = crate::notify::mark(&state.site.ledger, &reader.account, &query).await?;
    Ok(Json(unread).into_response())
}

/// `GET /console/webhooks`: the signed-in account's webhook subscriptions, a form to make
/// one, and each one's dead letters with a button to replay them.
pub async fn webhooks_page(State(state): State<PortalState>, headers: HeaderMap) -> Html<String> {
    let title = "Webhook subscriptions";
    let Ok(reader) = reader(&state, &headers).await else {
        return please_sign_in(
            &state,
            title,
            "/console",
            "Sign in to manage the webhook subscriptions of your account.",
        );
    };
    let listing = match state.site.ledger.reads() {
        Err(e) => Err(ApiError::from(e)),
        Ok(reads) => reads
            .index
            .webhooks_of(&reader.account)
            .await
            .map_err(ApiError::from),
    };
    let subscriptions = match listing {
        Err(e) => notice(
            "error",
            &format!("Subscriptions cannot be listed now: {}", esc(&e.message)),
        ),
        Ok(webhooks) if webhooks.is_empty() => {
            "<p class=\"empty\" id=\"webhooks-empty\">None yet.</p>".to_string()
        }
        Ok(webhooks) => {
            let mut rows = Vec::new();
            let mut dead_lists = String::new();
            for webhook in &webhooks {
                let filter = [
                    webhook
                        .filter
                        .account
                        .map(|a| format!("naming <code>{}</code>", a.to_hex())),
                    webhook
                        .filter
                        .module
                        .as_ref()
                        .map(|m| format!("module {}", esc(m))),
                    webhook
                        .filter
                        .kind
                        .as_ref()
                        .map(|k| format!("type {}", esc(k))),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>();
                let filter = if filter.is_empty() {
                    "every event".to_string()
                } else {
                    filter.join(", ")
                };
                rows.push(vec![
                    format!("<code>{}</code>", esc(&webhook.id)),
                    format!("<code>{}</code>", esc(&webhook.url)),
                    filter,
                    format!(
                        "{} delivered, {} pending, {} dead",
                        webhook.delivered, webhook.pending, webhook.dead
                    ),
                    format!(
                        "<button type=\"button\" class=\"secondary webhook-replay\" data-id=\"{id}\"{disabled}>Replay dead</button> \
                         <button type=\"button\" class=\"secondary webhook-delete\" data-id=\"{id}\">Delete</button>",
                        id = esc(&webhook.id),
                        disabled = if webhook.dead == 0 { " disabled" } else { "" },
                    ),
                ]);
                if webhook.dead > 0 {
                    dead_lists.push_str(&dead_letters(&state, &webhook.id).await);
                }
            }
            format!(
                "{}{dead_lists}",
                table(
                    "Your subscriptions",
                    &[
                        "Subscription",
                        "Posts to",
                        "Events",
                        "Deliveries",
                        "Actions"
                    ],
                    &rows
                )
            )
        }
    };
    let body = format!(
        "<h1>{title}</h1>\
         <p class=\"lead\">This node posts each event finalized after a subscription is made, \
         and matching it, to the subscription's URL, signed with its secret as the Standard \
         Webhooks specification says (headers <code>webhook-id</code>, \
         <code>webhook-timestamp</code>, <code>webhook-signature</code>; see docs/API.md). A \
         delivery that fails is tried again for about 18 hours, then listed below as dead \
         until you replay it.</p>\
         <p><a href=\"/console\">Back to the console</a></p>\
         <h2>Subscribe</h2>\
         <form id=\"webhook-form\" novalidate>\
         <div class=\"field\"><label for=\"webhook-url\">URL to post to</label>\
         <input id=\"webhook-url\" name=\"url\" type=\"url\" required placeholder=\"https://\" aria-describedby=\"webhook-url-error\">\
         <p id=\"webhook-url-error\" class=\"field-error\"></p></div>\
         <div class=\"field\"><label for=\"webhook-account\">Only events naming this account (optional, 64 hex digits)</label>\
         <input id=\"webhook-account\" name=\"account\" pattern=\"[0-9a-f]{{64}}\" aria-describedby=\"webhook-account-error\">\
         <p id=\"webhook-account-error\" class=\"field-error\"></p></div>\
         <div class=\"field\"><label for=\"webhook-module\">Only events of this module (optional, such as notary)</label>\
         <input id=\"webhook-module\" name=\"module\" pattern=\"[a-z0-9_]{{1,64}}\" aria-describedby=\"webhook-module-error\">\
         <p id=\"webhook-module-error\" class=\"field-error\"></p></div>\
         <div class=\"field\"><label for=\"webhook-type\">Only events of this type (optional, such as document_anchored)</label>\
         <input id=\"webhook-type\" name=\"type\" pattern=\"[a-z0-9_]{{1,64}}\" aria-describedby=\"webhook-type-error\">\
         <p id=\"webhook-type-error\" class=\"field-error\"></p></div>\
         <button type=\"submit\">Subscribe</button></form>\
         <div id=\"webhook-result\" aria-live=\"polite\"></div>\
         <h2>Subscriptions</h2>{subscriptions}",
    );
    super::render(
        &state,
        Page {
            title,
            section: "/console",
            body,
            scripts: &["webhooks.js"],
        },
    )
}

/// A subscription's newest dead deliveries, as a table.
async fn dead_letters(state: &PortalState, webhook: &str) -> String {
    let Ok(mut snapshot) = civitas_kit::http::snapshot(&state.site.ledger).await else {
        return String::new();
    };
    let page = snapshot
        .deliveries(webhook, Some(DeliveryStatus::Dead), Order::Newest, None, 20)
        .await;
    let _ = snapshot.finish().await;
    let Ok(page) = page else {
        return String::new();
    };
    let rows: Vec<Vec<String>> = page
        .items
        .iter()
        .map(|d| {
            vec![
                format!("<code>{}</code>", esc(&d.id)),
                esc(&d.event),
                d.attempts.to_string(),
                esc(d.last_error.as_deref().unwrap_or("")),
            ]
        })
        .collect();
    table(
        &format!("Dead deliveries of {webhook} (newest 20)"),
        &["Delivery", "Event", "Attempts", "Last error"],
        &rows,
    )
}

/// `POST /portal/webhooks?url=&account=&module=&type=`.
pub async fn create(
    State(state): State<PortalState>,
    axum::Extension(notify): axum::Extension<crate::notify::Notify>,
    Query(query): Query<NewWebhookQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    same_origin(&headers)?;
    let reader = reader(&state, &headers).await?;
    let (made, webhook) =
        crate::notify::create_webhook(&state.node, &state.site.ledger, &notify, &reader, query)
            .await?;
    let status = if made {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(webhook)).into_response())
}

/// Most topics one request watches.
pub const WATCH_REQUEST_MAX: usize = 100;

/// The topics of a watch request, checked: 1 to [`WATCH_REQUEST_MAX`], each a topic.
fn topics_of(body: &[u8]) -> Result<Vec<String>, ApiError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Topics {
        topics: Vec<String>,
    }
    let wanted: Topics = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!("the body is {{\"topics\": [\"...\"]}}: {e}"))
    })?;
    if wanted.topics.is_empty() || wanted.topics.len() > WATCH_REQUEST_MAX {
        return Err(ApiError::bad_request(format!(
            "1 to {WATCH_REQUEST_MAX} topics at a time"
        )));
    }
    for topic in &wanted.topics {
        civitas_kit::index::notify::check_topic(topic).map_err(ApiError::bad_request)?;
    }
    Ok(wanted.topics)
}

/// `POST /portal/watches` with `{"topics": [...]}`: the signed-in account watches these topics
/// (such as `sharing/record/<id>`, from "My data"): the events filed under them from now on
/// are in its inbox and live stream, never in the public lists of what names it. The node (its
/// operator) then knows the account cares about them, which the page says first.
pub async fn watch(
    State(state): State<PortalState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    same_origin(&headers)?;
    let reader = reader(&state, &headers).await?;
    let topics = topics_of(&body)?;
    let index = &state.site.ledger.reads()?.index;
    let added = index
        .watch(&reader.account, &topics, crate::now_ms())
        .await?;
    let watching = index.watches_of(&reader.account).await?;
    Ok(Json(json!({ "added": added, "topics": watching })).into_response())
}

/// `POST /portal/watches/remove` with `{"topics": [...]}`: stops watching them; what they
/// brought leaves the inbox.
pub async fn unwatch(
    State(state): State<PortalState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    same_origin(&headers)?;
    let reader = reader(&state, &headers).await?;
    let topics = topics_of(&body)?;
    let index = &state.site.ledger.reads()?.index;
    let removed = index.unwatch(&reader.account, &topics).await?;
    let watching = index.watches_of(&reader.account).await?;
    Ok(Json(json!({ "removed": removed, "topics": watching })).into_response())
}

/// `GET /portal/watches`: the topics the signed-in account watches.
pub async fn watches(
    State(state): State<PortalState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let reader = reader(&state, &headers).await?;
    let watching = state
        .site
        .ledger
        .reads()?
        .index
        .watches_of(&reader.account)
        .await?;
    Ok(Json(json!({ "topics": watching })).into_response())
}

/// `POST /portal/webhooks/{id}/delete`.
pub async fn delete(
    State(state): State<PortalState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    same_origin(&headers)?;
    let reader = reader(&state, &headers).await?;
    let webhook = crate::notify::owned(&state.site.ledger, &reader, &id).await?;
    state
        .site
        .ledger
        .reads()?
        .index
        .delete_webhook(&webhook.id)
        .await?;
    Ok(Json(json!({"deleted": webhook.id})).into_response())
}

/// `POST /portal/webhooks/{id}/replay`.
pub async fn replay(
    State(state): State<PortalState>,
    Path(id): Path<String>,
    Query(query): Query<ReplayQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    same_origin(&headers)?;
    let reader = reader(&state, &headers).await?;
    let webhook = crate::notify::owned(&state.site.ledger, &reader, &id).await?;
    let replayed = state
        .site
        .ledger
        .reads()?
        .index
        .replay(&webhook.id, query.delivery.as_deref(), crate::now_ms())
        .await?;
    Ok(Json(json!({"replayed": replayed})).into_response())
}
