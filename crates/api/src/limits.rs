//! What keeps the API's load from reaching consensus: per-client rate limits, a cap on requests
//! in flight, time limits, a small pool for CPU-heavy work, and a cap on event streams.
//!
//! The API runs on its own runtime (see `civitas_consensus::node::run`); queries reach the
//! ledger through a bounded queue. Here the API bounds what it asks of either: each client
//! (by IP address, IPv6 by /64: [`crate::connections::client_key`]) gets
//! [`Limits::requests_per_second`] with a burst and at most [`PER_CLIENT_IN_FLIGHT`] requests at
//! once, the whole API at most [`Limits::concurrent_requests`] requests at once (more are
//! refused at once rather than queued), each request [`Limits::request_timeout_ms`], and
//! handlers that verify proofs or validate large documents run on at most
//! [`Limits::heavy_concurrency`] blocking threads. Every refusal is `429` (or `503` for a
//! timeout) with `Retry-After` and a JSON error. Connections are bounded by the listener
//! ([`crate::connections`]).

use crate::connections::{ClientAddr, client_key};
use crate::error::ApiError;
use axum::error_handling::HandleErrorLayer;
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Duration;

use tower::ServiceBuilder;

/// How much load the API accepts.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Requests a second each client (IP address) may make, sustained.
    pub requests_per_second: u32,
    /// Requests a client may make at once beyond its sustained rate.
    pub burst: u32,
    /// Requests the whole API handles at once; more are refused with 429.
    pub concurrent_requests: usize,
    /// Longest a request may take, in milliseconds (event streams are not cut: only the time
    /// to their first byte counts).
    pub request_timeout_ms: u64,
    /// CPU-heavy requests (proof verification, OCDS validation) run at once.
    pub heavy_concurrency: usize,
    /// Event streams open at once.
    pub event_streams: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            requests_per_second: 50,
            burst: 200,
            concurrent_requests: 128,
            request_timeout_ms: 15_000,
            heavy_concurrency: 2,
            event_streams: 256,
        }
    }
}

/// The API's settings.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// Mark the portal's session cookie `Secure`, so browsers send it only over HTTPS. On
    /// unless the node is served over plain HTTP (the local devnet).
    pub secure_cookies: bool,
    /// How much load the API accepts.
    pub limits: Limits,
    /// How webhook deliveries are made (and which URLs subscriptions may name).
    pub webhooks: crate::webhooks::WebhookConfig,
    /// Whether the node keeps a read model (`[index] enabled`); without one, the lists say so.
    pub keeps_index: bool,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            secure_cookies: true,
            limits: Limits::default(),
            webhooks: crate::webhooks::WebhookConfig::default(),
            keeps_index: true,
        }
    }
}

pub use civitas_kit::http::Budgets;

/// Requests one client may have in flight at once.
pub const PER_CLIENT_IN_FLIGHT: u32 = 16;
/// How often the per-client rate limiter forgets clients that have gone quiet.
const FORGET_QUIET_CLIENTS: Duration = Duration::from_secs(60);

/// The rate limiter's key: the client of the connection ([`client_key`]).
#[derive(Clone, Copy, Debug)]
pub struct ClientKeyExtractor;

impl tower_governor::key_extractor::KeyExtractor for ClientKeyExtractor {
    type Key = std::net::IpAddr;

    fn extract<T>(
        &self,
        request: &axum::http::Request<T>,
    ) -> Result<Self::Key, tower_governor::GovernorError> {
        client_of(request).ok_or(tower_governor::GovernorError::UnableToExtractKey)
    }
}

fn client_of<T>(request: &axum::http::Request<T>) -> Option<std::net::IpAddr> {
    request
        .extensions()
        .get::<ConnectInfo<ClientAddr>>()
        .map(|info| client_key(info.0.0.ip()))
}

/// Requests in flight per client.
#[derive(Clone, Default)]
struct InFlight(Arc<std::sync::Mutex<std::collections::BTreeMap<std::net::IpAddr, u32>>>);

/// Holds one of a client's in-flight places until dropped.
struct InFlightSlot(InFlight, std::net::IpAddr);

impl Drop for InFlightSlot {
    fn drop(&mut self) {
        let mut map = (self.0).0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = map.get_mut(&self.1) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                map.remove(&self.1);
            }
        }
    }
}

/// Refuses a request when its client already has [`PER_CLIENT_IN_FLIGHT`] in flight.
async fn per_client_in_flight(
    axum::extract::State(in_flight): axum::extract::State<InFlight>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let Some(client) = client_of(&request) else {
        return next.run(request).await;
    };
    let slot = {
        let mut map = in_flight.0.lock().unwrap_or_else(|p| p.into_inner());
        let count = map.entry(client).or_default();
        if *count >= PER_CLIENT_IN_FLIGHT {
            None
        } else {
            *count += 1;
            Some(InFlightSlot(in_flight.clone(), client))
        }
    };
    match slot {
        Some(_slot) => next.run(request).await,
        None => {
            busy("this address already has as many requests in flight as it may").into_response()
        }
    }
}

pub use civitas_kit::http::busy;

/// Maps the errors of the concurrency and time limits to JSON answers.
async fn refused(error: tower::BoxError) -> Response {
    if error.is::<tower::timeout::error::Elapsed>() {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the request took too long and was stopped; try again in a moment",
        )
        .into_response();
    }
    if error.is::<tower::load_shed::error::Overloaded>() {
        return busy("the node is answering as many requests as it can").into_response();
    }
    tracing::error!(%error, "an API layer failed");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the request failed inside the node; its operator can find why in the node's log",
    )
    .into_response()
}

/// The JSON answer to a client over its rate.
fn rate_limited(error: tower_governor::GovernorError) -> Response<axum::body::Body> {
    let (wait, message) = match error {
        tower_governor::GovernorError::TooManyRequests { wait_time, .. } => (
            wait_time.max(1),
            format!(
                "this address sends too many requests; wait {} s",
                wait_time.max(1)
            ),
        ),
        _ => (
            1,
            "the client's address could not be read, so the request is refused".to_string(),
        ),
    };
    let mut response =
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message).into_response();
    if let Ok(value) = axum::http::HeaderValue::from_str(&wait.to_string()) {
        response.headers_mut().insert("retry-after", value);
    }
    response
}

/// Wraps every route of `router` in the limits. The server must be started with the peer's
/// address (`into_make_service_with_connect_info::<SocketAddr>()`).
pub fn apply(router: axum::Router, limits: &Limits) -> axum::Router {
    let per_request_ns = 1_000_000_000 / u64::from(limits.requests_per_second.max(1));
    let governor = tower_governor::governor::GovernorConfigBuilder::default()
        .per_nanosecond(per_request_ns.max(1))
        .burst_size(limits.burst.max(1))
        .key_extractor(ClientKeyExtractor)
        .finish();
    // One semaphore for every route (a layer applied to a router wraps each route apart).
    let in_flight =
        tower::limit::GlobalConcurrencyLimitLayer::new(limits.concurrent_requests.max(1));
    let layers = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(refused))
        .load_shed()
        .layer(in_flight)
        .timeout(Duration::from_millis(limits.request_timeout_ms.max(1)));
    let router = router
        .layer(layers)
        .layer(axum::middleware::from_fn_with_state(
            InFlight::default(),
            per_client_in_flight,
        ));
    match governor {
        Some(config) => {
            // The limiter keeps a state per client: forget those gone quiet, or a stream of
            // new addresses would grow it without bound.
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                let limiter = Arc::downgrade(config.limiter());
                runtime.spawn(async move {
                    loop {
                        tokio::time::sleep(FORGET_QUIET_CLIENTS).await;
                        let Some(limiter) = limiter.upgrade() else {
                            return;
                        };
                        limiter.retain_recent();
                        limiter.shrink_to_fit();
                    }
                });
            }
            let layer = tower_governor::GovernorLayer::new(config).error_handler(rate_limited);
            router.layer(layer)
        }
        None => {
            tracing::error!("the per-client rate limit is misconfigured; serving without it");
            router
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use tower::ServiceExt as _;

    fn app(limits: &Limits) -> axum::Router {
        let router = axum::Router::new()
            .route("/fast", get(|| async { "ok" }))
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    "slow"
                }),
            )
            .route(
                "/stuck",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    "never"
                }),
            );
        apply(router, limits)
    }

    /// A request from `from`, as the server passes it (with the peer's address).
    async fn call(app: &axum::Router, path: &str, from: [u8; 4]) -> axum::response::Response {
        let address = std::net::SocketAddr::from((from, 40_000));
        let mut request = Request::get(path).body(Body::empty()).unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(crate::connections::ClientAddr(address)));
        app.clone().oneshot(request).await.unwrap()
    }

    async fn code(response: axum::response::Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        json["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    #[tokio::test]
    async fn a_client_over_its_rate_is_told_when_to_come_back() {
        let limits = Limits {
            requests_per_second: 1,
            burst: 3,
            ..Limits::default()
        };
        let app = app(&limits);
        for _ in 0..3 {
            assert_eq!(
                call(&app, "/fast", [10, 0, 0, 1]).await.status(),
                StatusCode::OK
            );
        }
        let refused = call(&app, "/fast", [10, 0, 0, 1]).await;
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(refused.headers().contains_key("retry-after"));
        assert_eq!(code(refused).await, "rate_limited");
        // Another client is not affected.
        assert_eq!(
            call(&app, "/fast", [10, 0, 0, 2]).await.status(),
            StatusCode::OK
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn requests_beyond_the_cap_are_refused_at_once_and_slow_ones_stopped() {
        let limits = Limits {
            concurrent_requests: 2,
            request_timeout_ms: 1_000,
            ..Limits::default()
        };
        let app = app(&limits);
        let slow: Vec<_> = (0..2u8)
            .map(|i| {
                let app = app.clone();
                tokio::spawn(async move { call(&app, "/slow", [10, 0, 1, i]).await.status() })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let refused = call(&app, "/fast", [10, 0, 2, 1]).await;
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(refused.headers().contains_key("retry-after"));
        assert_eq!(code(refused).await, "overloaded");
        for handle in slow {
            assert_eq!(handle.await.unwrap(), StatusCode::OK);
        }
        let stopped = call(&app, "/stuck", [10, 0, 3, 1]).await;
        assert_eq!(stopped.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(stopped.headers().contains_key("retry-after"));
        assert_eq!(code(stopped).await, "timeout");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn heavy_work_and_event_streams_have_their_own_caps() {
        let budgets = Budgets::new(1, 1);
        let (started, waiting) = tokio::sync::oneshot::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let busy = budgets.clone();
        let first = tokio::spawn(async move {
            busy.heavy(move || {
                started.send(()).unwrap();
                released.recv().unwrap();
                7
            })
            .await
        });
        waiting.await.unwrap();
        let refused = budgets.heavy(|| 8).await.unwrap_err();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        release.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap(), 7);
        assert_eq!(budgets.heavy(|| 9).await.unwrap(), 9);
        let stream = budgets.stream().unwrap();
        assert!(budgets.stream().is_err());
        drop(stream);
        assert!(budgets.stream().is_ok());
    }
}
