//! The portal: the pages every node serves at `/` for citizens, officials and auditors.
//!
//! Pages are rendered on the server from the same JSON views the API serves (one path out), so
//! they work without JavaScript; a few small hand-written scripts add what needs the browser:
//! hashing a file that never leaves it, live updates over server-sent events, and keys that
//! sign in the browser (WebCrypto Ed25519) so the server never sees a private key. There is no
//! build step: the scripts and the stylesheet are files compiled into the binary.

mod explorer;
mod inbox;
mod session;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use civitas_consensus::service::NodeHandle;
use civitas_kit::portal::html::{self, Page};
use civitas_kit::portal::{PageError, Section, Site};
use std::sync::Arc;
use std::sync::LazyLock;

pub use session::{SESSION_COOKIE, SESSIONS_MAX};

/// What the portal's handlers share: the node, the signed-in sessions and the sign-in
/// challenges.
#[derive(Clone)]
pub struct PortalState {
    node: NodeHandle,
    /// The ledger and the site's sections, as the modules' pages read them.
    site: Site,
    sessions: Arc<session::Sessions>,
    challenges: Arc<session::Challenges>,
    /// Whether the session cookie is marked `Secure`.
    secure_cookies: bool,
}

/// The portal's routes (pages, sign-in, assets), to be merged with the API's.
pub fn router(node: NodeHandle, site: Site, config: &crate::ApiConfig) -> Router {
    let state = PortalState {
        node,
        site: site.clone(),
        sessions: Arc::new(session::Sessions::default()),
        challenges: Arc::new(session::Challenges::default()),
        secure_cookies: config.secure_cookies,
    };
    Router::new()
        .route("/", get(explorer::home))
        .route("/explorer", get(explorer::explorer))
        .route("/explorer/blocks/{height}", get(explorer::block))
        .route("/explorer/transactions/{hash}", get(explorer::transaction))
        .route("/explorer/go", get(explorer::go))
        .route("/explorer/epochs/{epoch}", get(explorer::epoch))
        .route("/verify", get(explorer::verify))
        .route("/sign-in", get(session::sign_in_page))
        .route("/account", get(session::account))
        .route("/console", get(session::console))
        .route("/portal/session/challenge", post(session::challenge))
        .route("/portal/session", post(session::start))
        .route("/portal/session/end", post(session::end))
        .route("/portal/inbox/stream", get(inbox::stream))
        .route("/portal/inbox/read", post(inbox::mark))
        .route("/portal/watches", post(inbox::watch).get(inbox::watches))
        .route("/portal/watches/remove", post(inbox::unwatch))
        .route("/console/webhooks", get(inbox::webhooks_page))
        .route("/portal/webhooks", post(inbox::create))
        .route("/portal/webhooks/{id}/delete", post(inbox::delete))
        .route("/portal/webhooks/{id}/replay", post(inbox::replay))
        .route("/assets/{file}", get(asset))
        .with_state(state)
        .merge(civitas_modules::pages().with_state(site))
        .layer(axum::middleware::map_response(security_headers))
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::REQUEST_BODY_MAX_BYTES,
        ))
}

/// The site's sections in navigation order: the node's own pages, then each module's.
pub fn sections() -> &'static [Section] {
    &SECTIONS
}

static SECTIONS: LazyLock<Vec<Section>> = LazyLock::new(|| {
    let mut sections = vec![
        Section::new("/", "Home"),
        Section::new("/explorer", "Explorer"),
        Section::new("/verify", "Verify"),
    ];
    sections.extend(civitas_modules::sections());
    sections.push(Section::new("/account", "My account"));
    sections.push(Section::new("/console", "Agency console"));
    sections
});

/// Headers on every portal response: no inline script or style, no framing, no sniffing, no
/// referrer leaking ids to other sites.
async fn security_headers(mut response: Response) -> Response {
    add_security_headers(response.headers_mut());
    response
}

fn add_security_headers(headers: &mut axum::http::HeaderMap) {
    // A page that reaches more than this node (the citizen's "My data" reaches the vaults the
    // ledger names) sets the policy with those; every other page gets it with this node alone.
    static POLICY: LazyLock<HeaderValue> = LazyLock::new(|| {
        HeaderValue::from_str(&civitas_kit::portal::content_security_policy("'self'"))
            .unwrap_or(HeaderValue::from_static("default-src 'self'"))
    });
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert_with(|| POLICY.clone());
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// The static files: (name, content type, content).
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "portal.css",
        "text/css; charset=utf-8",
        include_str!("assets/portal.css"),
    ),
    (
        "portal.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/portal.js"),
    ),
    (
        "explorer.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/explorer.js"),
    ),
    (
        "verify.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/verify.js"),
    ),
    (
        "inbox.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/inbox.js"),
    ),
    (
        "webhooks.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/webhooks.js"),
    ),
    (
        "keys.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/keys.js"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/console.js"),
    ),
    (
        "mydata.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/mydata.js"),
    ),
    (
        "permits.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/permits.js"),
    ),
];

async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, kind, content)) => (
            [
                (header::CONTENT_TYPE, *kind),
                (header::CACHE_CONTROL, "public, max-age=300"),
            ],
            *content,
        )
            .into_response(),
        None => PageError::new(
            StatusCode::NOT_FOUND,
            "Not found",
            &format!("There is no asset named {file}."),
        )
        .into_response(),
    }
}

/// A rendered page for `state`'s chain.
fn render(state: &PortalState, page: Page<'_>) -> Html<String> {
    state.site.render(page)
}

/// The HTML answer for an unknown path outside the API.
pub fn not_found_page(path: &str) -> Response {
    let mut response = PageError::not_found(&format!(
        "There is no page at {path}. The sections are listed at the top of the page."
    ))
    .into_response();
    add_security_headers(response.headers_mut());
    response
}
