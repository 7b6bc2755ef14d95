//! Signing in with a key that stays in the browser, and the pages for signed-in people: the
//! citizen's account and the agency console.
//!
//! Signing in is a signed read (`docs/API.md`, `civitas/read/v1`) of
//! `/portal/session?challenge=<c>`, where `c` is a one-time challenge the node issued moments
//! before: the browser signs the chain id, that path and the time with the account's key(s),
//! the node takes the challenge back (so the signed request cannot be replayed), checks the
//! signatures against the account's registered keys and threshold, and answers with a session
//! cookie (random, `HttpOnly`, `SameSite=Strict`, and `Secure` unless the node is served over
//! plain HTTP). The server never sees a private key; the session only lets the node render the
//! person's pages, and it asks the policies before showing what is not public (pending
//! transactions: `ledger.read_pending`). Every action is still a transaction the browser signs
//! on its own.

use super::html::{Page, block_link, esc, facts, notice, proof_link, table, tx_link};
use super::{PortalState, render};
use crate::error::ApiError;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use civitas_core::crypto::{AccountId, PublicKey};
use civitas_core::read::{HEADER_ACCOUNT, HEADER_SIGNATURE, HEADER_TIME, SignedRead};
use civitas_core::time::TimestampMs;
use civitas_modules::queries::{key_from_text, value_json};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "civitas_session";
/// Most sessions a node keeps at once; the oldest is dropped beyond it.
pub const SESSIONS_MAX: usize = 10_000;
/// Most sessions of one account (browsers and devices); its oldest is dropped beyond it, so one
/// account signing in again and again cannot push everyone else out.
pub const SESSIONS_PER_ACCOUNT_MAX: usize = 8;
/// How long a session lasts, in milliseconds.
pub const SESSION_TTL_MS: u64 = 12 * 60 * 60 * 1000;
/// The path a sign-in signs (with `?challenge=<hex>`).
pub const SIGN_IN_PATH: &str = "/portal/session";
/// The header that carries the sign-in challenge.
pub const HEADER_CHALLENGE: &str = "civitas-challenge";
/// How long a sign-in challenge can be used, in milliseconds.
pub const CHALLENGE_TTL_MS: u64 = 2 * 60 * 1000;
/// Most challenges outstanding at once; the oldest is dropped beyond it.
pub const CHALLENGES_MAX: usize = 10_000;
/// Most transactions (and notifications) listed on the account page.
pub const ACCOUNT_TXS_MAX: u32 = 20;

/// One signed-in session.
struct Session {
    account: AccountId,
    /// The keys that signed the sign-in (for the policies' read questions).
    keys: Vec<PublicKey>,
    /// When it ends (ms).
    expires: u64,
}

/// The signed-in sessions of this node, by token.
pub struct Sessions {
    inner: Mutex<BTreeMap<[u8; 32], Session>>,
    total_max: usize,
    per_account_max: usize,
}

/// One-time sign-in challenges: each is issued once, used once, and expires.
#[derive(Default)]
pub struct Challenges {
    inner: Mutex<ChallengeSet>,
}

/// The outstanding challenges with their expiry, and the order they were issued in (expiries
/// grow with it, so the oldest and the expired are at the front).
#[derive(Default)]
struct ChallengeSet {
    live: BTreeMap<[u8; 32], u64>,
    order: std::collections::VecDeque<([u8; 32], u64)>,
}

impl Challenges {
    /// A fresh challenge, usable until `now_ms + CHALLENGE_TTL_MS`.
    fn issue(&self, now_ms: u64) -> Option<[u8; 32]> {
        let challenge = civitas_core::crypto::random_32().ok()?;
        let mut set = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        // Drop the expired, then the oldest while full (entries already used are skipped).
        while let Some((oldest, expires)) = set.order.front().copied() {
            if expires > now_ms && set.live.len() < CHALLENGES_MAX {
                break;
            }
            set.order.pop_front();
            if set.live.get(&oldest) == Some(&expires) {
                set.live.remove(&oldest);
            }
        }
        let expires = now_ms + CHALLENGE_TTL_MS;
        set.live.insert(challenge, expires);
        set.order.push_back((challenge, expires));
        Some(challenge)
    }

    /// Takes `challenge` back: true once, if it was issued and has not expired.
    fn take(&self, challenge: &[u8; 32], now_ms: u64) -> bool {
        let mut set = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        set.live
            .remove(challenge)
            .is_some_and(|expires| expires > now_ms)
    }
}

impl Default for Sessions {
    fn default() -> Self {
        Self::with_limits(SESSIONS_MAX, SESSIONS_PER_ACCOUNT_MAX)
    }
}

impl Sessions {
    fn with_limits(total_max: usize, per_account_max: usize) -> Self {
        Self {
            inner: Mutex::new(BTreeMap::new()),
            total_max,
            per_account_max,
        }
    }

    fn insert(&self, token: [u8; 32], account: AccountId, keys: Vec<PublicKey>, now_ms: u64) {
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, session| session.expires > now_ms);
        let oldest_of = |map: &BTreeMap<[u8; 32], Session>, only: Option<AccountId>| {
            map.iter()
                .filter(|(_, session)| only.is_none_or(|a| session.account == a))
                .min_by_key(|(_, session)| session.expires)
                .map(|(token, _)| *token)
        };
        while map.values().filter(|s| s.account == account).count() >= self.per_account_max {
            match oldest_of(&map, Some(account)) {
                Some(token) => map.remove(&token),
                None => break,
            };
        }
        while map.len() >= self.total_max {
            let oldest = oldest_of(&map, None);
            match oldest {
                Some(token) => map.remove(&token),
                None => break,
            };
        }
        map.insert(
            token,
            Session {
                account,
                keys,
                expires: now_ms + SESSION_TTL_MS,
            },
        );
    }

    fn get(&self, token: &[u8; 32], now_ms: u64) -> Option<(AccountId, Vec<PublicKey>)> {
        let map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        map.get(token)
            .filter(|session| session.expires > now_ms)
            .map(|session| (session.account, session.keys.clone()))
    }

    fn remove(&self, token: &[u8; 32]) {
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(token);
    }
}

/// The session token in the request's cookies, if any.
fn token(headers: &HeaderMap) -> Option<[u8; 32]> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    let value = cookies.split(';').find_map(|c| {
        let (name, value) = c.trim().split_once('=')?;
        (name == SESSION_COOKIE).then_some(value)
    })?;
    let bytes = hex::decode(value).ok()?;
    bytes.try_into().ok()
}

/// The signed-in account and its record, if the request carries a live session.
pub(super) async fn signed_in(
    state: &PortalState,
    headers: &HeaderMap,
) -> Option<(AccountId, Value)> {
    let (account, _) = state.sessions.get(&token(headers)?, crate::now_ms())?;
    let record = account_record(state, &account).await.ok()??;
    Some((account, record))
}

/// The keys that signed the request's session in.
pub(super) fn session_keys(state: &PortalState, headers: &HeaderMap) -> Vec<PublicKey> {
    token(headers)
        .and_then(|token| state.sessions.get(&token, crate::now_ms()))
        .map(|(_, keys)| keys)
        .unwrap_or_default()
}

/// `POST /portal/session/challenge`: a one-time challenge for the next sign-in.
pub async fn challenge(
    State(state): State<PortalState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    same_origin(&headers)?;
    let challenge = state.challenges.issue(crate::now_ms()).ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the node could not make a challenge; try again",
        )
    })?;
    Ok(Json(json!({
        "challenge": hex::encode(challenge),
        "sign": format!("{SIGN_IN_PATH}?challenge={}", hex::encode(challenge)),
        "expires_in_ms": CHALLENGE_TTL_MS,
    }))
    .into_response())
}

async fn account_record(
    state: &PortalState,
    account: &AccountId,
) -> Result<Option<Value>, ApiError> {
    let key = key_from_text(
        civitas_modules::identity::state::spaces::ACCOUNT,
        &account.to_hex(),
    )
    .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let proven = state.node.state(key.clone()).await?;
    Ok(proven
        .value
        .as_deref()
        .and_then(|bytes| value_json(&key.space, bytes)))
}

pub(super) fn unauthenticated(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
}

/// Refuses a request the browser says another origin made (`Sec-Fetch-Site` other than
/// `same-origin`, or an `Origin` whose host is not the one the request was sent to), so that no
/// page elsewhere, not even on a sibling subdomain, acts with the person's session: signs them
/// in or out, marks their notifications, changes their subscriptions. A request with neither
/// header comes from no browser, and so carries no session but its sender's own.
pub(super) fn same_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let refused = || {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "cross_site",
            "this is done only from this portal's own pages",
        )
    };
    if let Some(site) = header("sec-fetch-site") {
        return if site == "same-origin" {
            Ok(())
        } else {
            Err(refused())
        };
    }
    let Some(origin) = header("origin") else {
        return Ok(());
    };
    // The host without the scheme's default port, as browsers write an origin.
    let bare = |scheme: &str, host: &str| -> String {
        let default = if scheme == "https" { ":443" } else { ":80" };
        host.strip_suffix(default)
            .unwrap_or(host)
            .to_ascii_lowercase()
    };
    let Some((scheme, origin_host)) = origin.split_once("://") else {
        return Err(refused());
    };
    let host = header("host").unwrap_or_default();
    if !host.is_empty() && bare(scheme, origin_host) == bare(scheme, host) {
        Ok(())
    } else {
        Err(refused())
    }
}

/// `POST /portal/session`: sign in with a signed read of
/// `/portal/session?challenge=<challenge>`, the challenge in the `civitas-challenge` header.
pub async fn start(
    State(state): State<PortalState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    same_origin(&headers)?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let challenge: [u8; 32] = header(HEADER_CHALLENGE)
        .and_then(|c| hex::decode(c).ok())
        .and_then(|c| c.try_into().ok())
        .ok_or_else(|| {
            unauthenticated(format!(
                "ask POST {SIGN_IN_PATH}/challenge for a challenge, sign {SIGN_IN_PATH}?challenge=<it> \
                 and send it in the {HEADER_CHALLENGE} header"
            ))
        })?;
    let now = crate::now_ms();
    // Taken before anything else, so a signed sign-in works once at most.
    if !state.challenges.take(&challenge, now) {
        return Err(unauthenticated(
            "this sign-in challenge was already used, has expired or was never issued; sign in again",
        ));
    }
    let read = SignedRead::from_headers(
        header(HEADER_ACCOUNT),
        header(HEADER_TIME),
        header(HEADER_SIGNATURE),
    )
    .map_err(|e| unauthenticated(e.to_string()))?;
    let signed_path = format!("{SIGN_IN_PATH}?challenge={}", hex::encode(challenge));
    let keys = read
        .verify(
            &state.node.genesis().chain_id,
            &signed_path,
            TimestampMs(now),
        )
        .map_err(|e| unauthenticated(e.to_string()))?;
    let record = account_record(&state, &read.account).await?.ok_or_else(|| {
        unauthenticated(format!(
            "account {} is not registered on this ledger; an agency registers citizens and officials (give them this account id)",
            read.account.to_hex()
        ))
    })?;
    if record["active"] != json!(true) {
        return Err(unauthenticated(format!(
            "account {} is deactivated",
            read.account.to_hex()
        )));
    }
    let registered: Vec<&str> = record["keys"]
        .as_array()
        .map(|k| k.iter().filter_map(|k| k.as_str()).collect())
        .unwrap_or_default();
    let threshold = record["threshold"].as_u64().unwrap_or(1) as usize;
    // Distinct registered keys: a key listed twice counts once.
    let valid = keys
        .iter()
        .map(|k| k.to_string())
        .filter(|k| registered.contains(&k.as_str()))
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if valid < threshold {
        return Err(unauthenticated(format!(
            "the account needs {threshold} of its registered keys to sign in; {valid} signed (is this the account's current key?)"
        )));
    }
    let token = civitas_core::crypto::random_32().map_err(|e| {
        tracing::error!(error = %e, "the operating system's random source failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the node could not make a session; its operator can find why in the node's log",
        )
    })?;
    let signing_keys: Vec<PublicKey> = keys.into_iter().cloned().collect();
    state
        .sessions
        .insert(token, read.account, signing_keys, now);
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        hex::encode(token),
        SESSION_TTL_MS / 1000,
        if state.secure_cookies { "; Secure" } else { "" }
    );
    let mut response = Json(json!({
        "account": read.account,
        "kind": record["kind"],
        "name": record["name"],
        "agency": record["agency"],
        "roles": record["roles"],
    }))
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// `POST /portal/session/end`: sign out.
pub async fn end(State(state): State<PortalState>, headers: HeaderMap) -> Response {
    if let Err(refusal) = same_origin(&headers) {
        return refusal.into_response();
    }
    if let Some(token) = token(&headers) {
        state.sessions.remove(&token);
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("civitas_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    response
}

/// The key manager: create a key in the browser, import a key file, sign in and out.
fn key_manager() -> String {
    "<section aria-labelledby=\"keys-heading\" id=\"keys\"><h2 id=\"keys-heading\">Your key</h2>\
     <p>Your private key stays in this browser (WebCrypto Ed25519, kept in this browser's \
     storage for this site). The server never receives it: signing in and every transaction are \
     signed here.</p>\
     <div id=\"key-status\" role=\"status\" aria-live=\"polite\"><p>Checking this browser for a key…</p></div>\
     <div class=\"key-actions\">\
     <form id=\"import-form\" novalidate><label for=\"key-file\">Use a key file (<code>civitas keys new</code> makes one)</label>\
     <input type=\"file\" id=\"key-file\" accept=\".json,application/json\" aria-describedby=\"key-file-error\">\
     <p id=\"key-file-error\" class=\"field-error\"></p>\
     <button type=\"submit\">Use this key file</button></form>\
     <form id=\"create-form\"><p>No key yet? Create one here, then give its account id to an \
     agency to be registered.</p><button type=\"submit\">Create a key in this browser</button></form>\
     </div>\
     <div class=\"key-actions\"><button type=\"button\" id=\"sign-in\" disabled>Sign in</button>\
     <button type=\"button\" id=\"forget-key\" class=\"secondary\">Sign out and forget the key</button></div>\
     <div id=\"sign-in-result\" role=\"alert\"></div></section>"
        .to_string()
}

pub async fn sign_in_page(State(state): State<PortalState>, headers: HeaderMap) -> Html<String> {
    let current = match signed_in(&state, &headers).await {
        Some((account, record)) => notice(
            "ok",
            &format!(
                "Signed in as {} (<code>{}</code>). Go to <a href=\"/account\">your account</a>{}.",
                esc(record["name"]
                    .as_str()
                    .filter(|n| !n.is_empty())
                    .unwrap_or("a citizen")),
                account.to_hex(),
                if record["kind"] == json!("official") {
                    " or <a href=\"/console\">the agency console</a>"
                } else {
                    ""
                }
            ),
        ),
        None => String::new(),
    };
    let body = format!("<h1>Sign in</h1>{current}{}", key_manager());
    render(
        &state,
        Page {
            title: "Sign in",
            section: "",
            body,
            scripts: &["keys.js"],
        },
    )
}

pub(super) fn please_sign_in(
    state: &PortalState,
    title: &str,
    section: &str,
    why: &str,
) -> Html<String> {
    let body = format!(
        "<h1>{}</h1>{}{}",
        esc(title),
        notice("warn", &esc(why)),
        key_manager()
    );
    render(
        state,
        Page {
            title,
            section,
            body,
            scripts: &["keys.js"],
        },
    )
}

/// The account's latest transactions (sent, co-signed or naming it), newest first, from the
/// read model, with the height they reflect; `None` when this node keeps no read model or it
/// failed (the page says so).
async fn activity(state: &PortalState, account: &AccountId) -> Option<(Vec<Vec<String>>, u64)> {
    use civitas_kit::index::query::{Order, TxFilter};
    let mut snapshot = civitas_kit::http::snapshot(&state.site.ledger).await.ok()?;
    let txs = snapshot
        .transactions(
            &TxFilter {
                account: Some(*account),
                ..TxFilter::default()
            },
            Order::Newest,
            None,
            ACCOUNT_TXS_MAX,
        )
        .await
        .ok()?;
    let _ = snapshot.finish().await;
    let rows = txs
        .items
        .iter()
        .map(|tx| {
            let part = tx.part.unwrap_or(civitas_kit::index::query::TxPart {
                sent: false,
                cosigned: false,
                named: false,
            });
            let role = if part.sent {
                "you signed"
            } else if part.cosigned {
                "you co-signed"
            } else {
                "names you"
            };
            vec![
                tx_link(&tx.hash),
                block_link(tx.height),
                esc(&tx.actions.join(", ")),
                role.to_string(),
                if tx.outcome == "success" {
                    "succeeded".to_string()
                } else {
                    format!("failed (<code>{}</code>)", esc(&tx.outcome))
                },
            ]
        })
        .collect();
    Some((rows, txs.height))
}

pub async fn account(State(state): State<PortalState>, headers: HeaderMap) -> Html<String> {
    let Some((account, record)) = signed_in(&state, &headers).await else {
        return please_sign_in(
            &state,
            "My account",
            "/account",
            "Sign in with your key to see your account, your records and your notifications.",
        );
    };
    let id = account.to_hex();
    // Pending transactions are not public record: the policies decide who may see them, here
    // as through the API (`ledger.read_pending`), for the keys that signed this session in.
    let question = civitas_consensus::service::ReadQuestion {
        account,
        signing_keys: session_keys(&state, &headers),
        action: "ledger.read_pending",
        resource: civitas_consensus::service::ReadResource::Account(account),
    };
    let pending_section = match state.node.authorize_read(question).await {
        Ok(Ok(())) => {
            let pending: Vec<Vec<String>> = state
                .node
                .pending_of(&account)
                .iter()
                .map(|tx| {
                    let hash = tx.hash().to_string();
                    vec![
                        tx_link(&hash),
                        tx.body.nonce.to_string(),
                        esc(&super::explorer::instruction_names(tx)),
                    ]
                })
                .collect();
            table(
                "Pending transactions",
                &["Transaction", "Nonce", "Actions"],
                &pending,
            )
        }
        Ok(Err(denied)) => notice(
            "info",
            &format!(
                "The policies in force do not show your pending transactions here: {}",
                esc(&denied.message())
            ),
        ),
        Err(e) => notice(
            "error",
            &format!(
                "Pending transactions cannot be shown now: {}",
                esc(&ApiError::from(e).message)
            ),
        ),
    };
    let (activity, indexed) = match activity(&state, &account).await {
        Some((rows, height)) => (rows, Some(height)),
        None => (Vec::new(), None),
    };
    let inbox = super::inbox::section(&state, &headers).await;
    let activity_caption = match indexed {
        Some(height) => format!("Your latest transactions, as of block {height}"),
        None => "Your transactions cannot be listed by this node now (its index is unavailable)"
            .to_string(),
    };
    let business = civitas_modules::account_pages(&state.site, &account).await;
    let kind = record["kind"].as_str().unwrap_or("");
    let mut rows = vec![
        ("Account id", format!("<code>{id}</code>")),
        ("Kind", esc(kind)),
    ];
    if kind == "official" {
        rows.push(("Name", esc(record["name"].as_str().unwrap_or(""))));
        rows.push(("Agency", esc(record["agency"].as_str().unwrap_or(""))));
        let roles: Vec<&str> = record["roles"]
            .as_array()
            .map(|r| r.iter().filter_map(|r| r.as_str()).collect())
            .unwrap_or_default();
        rows.push(("Roles", esc(&roles.join(", "))));
    }
    rows.push((
        "Keys",
        format!(
            "{} registered, {} needed to sign",
            record["keys"].as_array().map(|k| k.len()).unwrap_or(0),
            record["threshold"]
        ),
    ));
    rows.push((
        "Registered",
        format!(
            "at block <a href=\"/explorer/blocks/{h}\">{h}</a>",
            h = record["registered_height"]
        ),
    ));
    let console = if kind == "official" {
        "<p><a href=\"/console\">Open the agency console</a> to act for your agency.</p>"
    } else {
        ""
    };
    let body = format!(
        "<h1>My account</h1>{facts}<p>{proof}</p>{console}{business}\
         {inbox}\
         <h2>Waiting for a block</h2>{pending}\
         <h2>Your recent transactions</h2>{activity}\
         <form id=\"sign-out-form\"><button type=\"button\" id=\"sign-out\" class=\"secondary\">Sign out</button></form>",
        facts = facts(&rows),
        proof = proof_link(
            &format!("/v1/proofs/state/identity/account/{id}"),
            "your account record"
        ),
        pending = pending_section,
        activity = table(
            &activity_caption,
            &["Transaction", "Block", "Actions", "Role", "Outcome"],
            &activity
        ),
    );
    render(
        &state,
        Page {
            title: "My account",
            section: "/account",
            body,
            scripts: &["keys.js", "inbox.js"],
        },
    )
}

fn action_form(action: &civitas_kit::portal::Action, agency: &str, yours: bool) -> String {
    let id = format!("{}-{}", action.module, action.op);
    let mut fields = String::new();
    for field in action.fields {
        let input_id = format!("{id}-{}", field.path.replace('.', "-"));
        let value = field.value.replace("{agency}", agency);
        if field.kind == "json" {
            let _ = write!(
                fields,
                "<input type=\"hidden\" data-path=\"{}\" data-kind=\"json\" value=\"{}\">",
                field.path,
                esc(&value)
            );
            continue;
        }
        let optional = if field.optional {
            " data-optional=\"true\""
        } else {
            ""
        };
        let input = match field.kind {
            "filehash" => format!(
                "<input type=\"file\" id=\"{input_id}\" data-path=\"{}\" data-kind=\"filehash\"{optional} \
                 aria-describedby=\"{input_id}-hint {input_id}-error\">",
                field.path
            ),
            "yesno" => format!(
                "<select id=\"{input_id}\" data-path=\"{}\" data-kind=\"yesno\"{optional} \
                 aria-describedby=\"{input_id}-hint {input_id}-error\">\
                 <option value=\"\">Choose…</option><option value=\"true\">Yes</option>\
                 <option value=\"false\">No</option></select>",
                field.path
            ),
            "datetime" => format!(
                "<input type=\"datetime-local\" id=\"{input_id}\" data-path=\"{}\" data-kind=\"datetime\"{optional} \
                 aria-describedby=\"{input_id}-hint {input_id}-error\">",
                field.path
            ),
            kind => format!(
                "<input type=\"text\" id=\"{input_id}\" data-path=\"{}\" data-kind=\"{kind}\"{optional} \
                 value=\"{}\" autocomplete=\"off\" spellcheck=\"false\"{} \
                 aria-describedby=\"{input_id}-hint {input_id}-error\">",
                field.path,
                esc(&value),
                if matches!(kind, "u64" | "amount") {
                    " inputmode=\"decimal\""
                } else {
                    ""
                }
            ),
        };
        let _ = write!(
            fields,
            "<div class=\"field\"><label for=\"{input_id}\">{}{}</label>{input}\
             <p class=\"hint\" id=\"{input_id}-hint\">{}</p>\
             <p class=\"field-error\" id=\"{input_id}-error\"></p></div>",
            esc(field.label),
            if field.optional { " (optional)" } else { "" },
            esc(field.hint)
        );
    }
    let extra = if action.op == "open" {
        format!(
            "<div class=\"field\"><label for=\"{id}-secret\">Or fill from the bid's secret file</label>\
             <input type=\"file\" id=\"{id}-secret\" class=\"bid-secret\" accept=\".json\" \
             aria-describedby=\"{id}-secret-error\"><p class=\"field-error\" id=\"{id}-secret-error\"></p></div>"
        )
    } else {
        String::new()
    };
    format!(
        "<details class=\"action\" id=\"{id}\"><summary>{title}{mine}</summary>\
         <form class=\"console-form\" data-module=\"{module}\" data-op=\"{op}\" data-title=\"{title}\" novalidate>\
         <p class=\"who\">Who may: {who}. <code>{module}.{op}</code></p>{extra}{fields}\
         <button type=\"submit\">Sign and submit</button>\
         <div class=\"result\" role=\"status\" aria-live=\"polite\"></div></form></details>",
        title = esc(action.title),
        mine = if yours {
            " <span class=\"mine\">(one of your roles)</span>"
        } else {
            ""
        },
        module = action.module,
        op = action.op,
        who = esc(action.who),
    )
}

pub async fn console(State(state): State<PortalState>, headers: HeaderMap) -> Html<String> {
    let Some((account, record)) = signed_in(&state, &headers).await else {
        return please_sign_in(
            &state,
            "Agency console",
            "/console",
            "Sign in with an official's key to act for your agency.",
        );
    };
    if record["kind"] != json!("official") {
        let body = format!(
            "<h1>Agency console</h1>{}",
            notice(
                "warn",
                "The console is for officials of an agency; this account is a citizen's. \
                 <a href=\"/account\">Go to your account</a>."
            )
        );
        return render(
            &state,
            Page {
                title: "Agency console",
                section: "/console",
                body,
                scripts: &[],
            },
        );
    }
    let agency = record["agency"].as_str().unwrap_or("");
    let roles: Vec<&str> = record["roles"]
        .as_array()
        .map(|r| r.iter().filter_map(|r| r.as_str()).collect())
        .unwrap_or_default();
    // The official's own actions first, then the rest in the order work runs.
    let yours =
        |action: &civitas_kit::portal::Action| action.roles.iter().any(|r| roles.contains(r));
    let mut forms = String::new();
    for action in civitas_modules::actions().filter(|a| yours(a)) {
        forms.push_str(&action_form(action, agency, true));
    }
    for action in civitas_modules::actions().filter(|a| !yours(a)) {
        forms.push_str(&action_form(action, agency, false));
    }
    let module_parts = civitas_modules::console_pages(&state.site, agency).await;
    let body = format!(
        "<h1>Agency console</h1>\
         <p class=\"lead\">Signed in as {name}, {roles} of {agency}. Each action is a transaction \
         your browser signs with your key; the ledger's policies decide whether it is allowed, \
         and a refusal says which rule refused it.</p>\
         <p>Account <code id=\"console-account\" data-account=\"{id}\">{id}</code>. \
         <a href=\"/console/webhooks\">Webhook subscriptions</a>: have this node post events \
         to your agency's systems.</p>\
         <details class=\"action\" id=\"cosigning\"><summary>Co-signers</summary>\
         <p>Some actions need a second signature: a payment above the large-payment threshold \
         (two treasurers), a large milestone acceptance (a treasurer with the procurement \
         official), or more keys of a multi-key account. Add the other person's key file here; \
         it is held in this page only, never stored or sent, and signs every action below until \
         removed.</p>\
         <form id=\"cosigner-form\" novalidate><label for=\"cosigner-file\">Co-signer's key file</label>\
         <input type=\"file\" id=\"cosigner-file\" accept=\".json,application/json\" aria-describedby=\"cosigner-file-error\">\
         <p id=\"cosigner-file-error\" class=\"field-error\"></p>\
         <button type=\"submit\">Add co-signer</button></form>\
         <ul id=\"cosigners\" class=\"events\" aria-live=\"polite\"></ul></details>\
         {forms}\
         <h2>Submitted from this page</h2>\
         <ul id=\"submitted\" class=\"events\" aria-live=\"polite\"><li class=\"empty\">Nothing yet.</li></ul>\
         {module_parts}",
        name = esc(record["name"].as_str().unwrap_or("")),
        roles = esc(&if roles.is_empty() {
            "official".to_string()
        } else {
            roles.join(", ")
        }),
        agency = esc(agency),
        id = account.to_hex(),
    );
    render(
        &state,
        Page {
            title: "Agency console",
            section: "/console",
            body,
            scripts: &["keys.js", "console.js"],
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_and_stay_bounded() {
        let sessions = Sessions::with_limits(50, 4);
        let account = AccountId([7; 32]);
        sessions.insert([1; 32], account, vec![], 1_000);
        assert_eq!(sessions.get(&[1; 32], 2_000).map(|(a, _)| a), Some(account));
        assert_eq!(sessions.get(&[1; 32], 1_000 + SESSION_TTL_MS), None);
        assert_eq!(sessions.get(&[2; 32], 2_000), None);
        // One account keeps at most SESSIONS_PER_ACCOUNT_MAX, dropping its oldest.
        for n in 0..7u64 {
            let mut token = [0u8; 32];
            token[..8].copy_from_slice(&n.to_be_bytes());
            sessions.insert(token, account, vec![], 10_000 + n);
        }
        let kept = |sessions: &Sessions| sessions.inner.lock().unwrap().len();
        assert_eq!(kept(&sessions), 4);
        assert!(
            sessions.get(&[0; 32], 10_000).is_none(),
            "the oldest went first"
        );
        // Many accounts: at most the total in all.
        for n in 0..55u64 {
            let mut token = [1u8; 32];
            token[..8].copy_from_slice(&n.to_be_bytes());
            let mut owner = [0u8; 32];
            owner[..8].copy_from_slice(&n.to_be_bytes());
            sessions.insert(token, AccountId(owner), vec![], 20_000 + n);
        }
        assert_eq!(kept(&sessions), 50);
        sessions.remove(&[1; 32]);
        assert!(sessions.get(&[1; 32], 2_000).is_none());
    }

    #[test]
    fn a_challenge_signs_in_once_and_expires() {
        let challenges = Challenges::default();
        let challenge = challenges.issue(1_000).unwrap();
        assert!(challenges.take(&challenge, 2_000));
        assert!(
            !challenges.take(&challenge, 2_000),
            "a second use is refused"
        );
        let late = challenges.issue(1_000).unwrap();
        assert!(!challenges.take(&late, 1_000 + CHALLENGE_TTL_MS));
        assert!(!challenges.take(&[3; 32], 2_000), "never issued");
        // Bounded: the oldest go first.
        for n in 0..CHALLENGES_MAX as u64 + 10 {
            challenges.issue(5_000 + n).unwrap();
        }
        assert_eq!(challenges.inner.lock().unwrap().live.len(), CHALLENGES_MAX);
    }

    #[test]
    fn the_session_cookie_is_read_among_others() {
        let mut headers = HeaderMap::new();
        let token = [9u8; 32];
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!(
                "a=b; {SESSION_COOKIE}={}; c=d",
                hex::encode(token)
            ))
            .unwrap(),
        );
        assert_eq!(super::token(&headers), Some(token));
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("civitas_session=zz"),
        );
        assert_eq!(super::token(&headers), None);
    }

    #[test]
    fn every_console_form_labels_its_inputs() {
        for action in civitas_modules::actions() {
            let html = action_form(action, "finance", false);
            for field in action.fields.iter().filter(|f| f.kind != "json") {
                let id = format!(
                    "{}-{}-{}",
                    action.module,
                    action.op,
                    field.path.replace('.', "-")
                );
                assert!(html.contains(&format!("<label for=\"{id}\">")), "{id}");
                assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
            }
        }
    }
}
