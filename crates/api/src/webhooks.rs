//! Webhook deliveries: the task that posts each subscription's events to its URL, signed as
//! the Standard Webhooks specification says (<https://www.standardwebhooks.com/>), so a
//! receiver can check them with that specification's libraries or a few lines of its own.
//!
//! Each delivery is a `POST` of JSON with three headers:
//!
//! ```text
//! webhook-id: msg_<32 hex>            the same for every attempt and replay of one event
//! webhook-timestamp: <seconds since 1970, when this attempt was signed>
//! webhook-signature: v1,<base64 of HMAC-SHA256(key, "<id>.<timestamp>.<body>")>
//! ```
//!
//! where `key` is the subscription's secret `whsec_<base64>` without its prefix, decoded. The
//! subscription's events come from the read model in chain order ([`civitas_kit::index::notify`]);
//! an endpoint that answers anything but 2xx, or nothing within [`WebhookConfig::timeout`],
//! is tried again after each of [`WebhookConfig::retry_delays`], then the delivery is dead
//! until its owner replays it. Redirects are not followed, no proxy is used, and unless the
//! operator allows it no address that is loopback, private, link-local or otherwise not
//! public is ever connected to, whatever a name resolves to.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use civitas_kit::index::notify::{Attempt, Due};
use civitas_kit::index::{Index, IndexError};
use civitas_kit::ledger::Reads;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// The prefix of a subscription's secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// Bytes of a new secret (before base64).
pub const SECRET_BYTES: usize = 32;
/// Longest URL a subscription may post to.
pub const URL_MAX_BYTES: usize = 2_048;
/// Deliveries attempted at once.
pub const CONCURRENCY: usize = 16;
/// Deliveries taken per round.
pub const ROUND: u32 = 64;

/// How deliveries are made.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// The pause after each failed attempt: after the first failure the first delay, and so
    /// on; after the last, the delivery is dead. Default: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h
    /// (seven attempts over about 18 hours).
    pub retry_delays: Vec<Duration>,
    /// Allow URLs on loopback, private and link-local addresses (a local network; never on a
    /// node the public can reach, where it would let anyone make the node call its own
    /// network).
    pub allow_private_targets: bool,
    /// How long an attempt may take.
    pub timeout: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            retry_delays: [5, 300, 1_800, 7_200, 18_000, 36_000]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
            allow_private_targets: false,
            timeout: Duration::from_secs(10),
        }
    }
}

/// A new random secret, `whsec_<base64 of 32 bytes>`.
pub fn new_secret() -> Result<String, String> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    Ok(format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes)))
}

/// The `webhook-signature` header of `body` sent as `id` at `timestamp` (seconds).
pub fn signature(secret: &str, id: &str, timestamp: u64, body: &[u8]) -> Result<String, String> {
    let key = secret
        .strip_prefix(SECRET_PREFIX)
        .and_then(|b| STANDARD.decode(b).ok())
        .ok_or("a webhook secret is whsec_ followed by base64")?;
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
    let mut context = ring::hmac::Context::with_key(&key);
    context.update(id.as_bytes());
    context.update(b".");
    context.update(timestamp.to_string().as_bytes());
    context.update(b".");
    context.update(body);
    Ok(format!("v1,{}", STANDARD.encode(context.sign().as_ref())))
}

/// Whether `ip` is an ordinary public address (not loopback, private, link-local, shared,
/// documentation, multicast, unspecified or reserved).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || a == 0
                || a >= 240
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
                || (a == 198 && (18..20).contains(&b)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let [first, second, ..] = v6.segments();
            // Global unicast only (2000::/3), less documentation (2001:db8::/32), Teredo
            // (2001::/32) and 6to4 (2002::/16), which carry IPv4 addresses that may be private.
            (first & 0xe000) == 0x2000
                && !(first == 0x2001 && (second == 0x0db8 || second == 0))
                && first != 0x2002
        }
    }
}

/// Checks a subscription's URL: `http` or `https`, a host, no user or password, at most
/// [`URL_MAX_BYTES`], and (unless `allow_private`) not an address or a name of the node's own
/// networks. Names are checked again each time they are resolved.
pub fn check_url(text: &str, allow_private: bool) -> Result<reqwest::Url, String> {
    if text.len() > URL_MAX_BYTES {
        return Err(format!("the URL is over {URL_MAX_BYTES} bytes"));
    }
    let url = reqwest::Url::parse(text).map_err(|e| format!("the URL does not parse: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("the URL must be http:// or https://".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the URL must not carry a user or password: the deliveries are signed".into());
    }
    let private = match url.host() {
        None => return Err("the URL names no host".into()),
        Some(url::Host::Ipv4(v4)) => !is_public(IpAddr::V4(v4)),
        Some(url::Host::Ipv6(v6)) => !is_public(IpAddr::V6(v6)),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
    };
    if private && !allow_private {
        return Err(
            "the URL is on a loopback or private network, which this node does not post to".into(),
        );
    }
    Ok(url)
}

/// Resolves names as the system does, keeping only public addresses unless allowed.
struct Resolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!(
                    "{} resolves to no address this node posts to",
                    name.as_str()
                )
                .into());
            }
            let addresses: reqwest::dns::Addrs = Box::new(found.into_iter());
            Ok(addresses)
        })
    }
}

/// The HTTP client deliveries go through. A machine without CA certificates still gets one
/// (deliveries to `http` URLs work; to `https` ones they fail until the certificates are
/// installed, and say why), rather than no webhooks at all.
pub fn client(config: &WebhookConfig) -> Result<reqwest::Client, String> {
    let builder = || {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .user_agent(concat!("Civitas-Webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(Resolver {
                allow_private: config.allow_private_targets,
            }))
    };
    builder().build().or_else(|error| {
        tracing::warn!(
            error = %error,
            "the system's CA certificates could not be loaded: webhook deliveries to https URLs fail until they are (install ca-certificates)"
        );
        builder()
            .tls_certs_only(Vec::<reqwest::Certificate>::new())
            .build()
            .map_err(|e| format!("the webhook client cannot be made: {e}"))
    })
}

/// The body posted for `due`: `{type, timestamp, data}` as Standard Webhooks suggests, `type`
/// being `<module>.<event type>`, `timestamp` the block's time, `data` the event with its
/// place, transaction and proof.
pub fn payload(due: &Due) -> serde_json::Value {
    serde_json::json!({
        "type": format!("{}.{}", due.module, due.kind),
        "timestamp": civitas_core::time::TimestampMs(due.timestamp_ms).rfc3339(),
        "data": {
            "subscription": due.webhook,
            "event_id": due.place.to_string(),
            "height": due.place.height,
            "position": due.place.position,
            "seq": due.place.seq,
            "tx": due.tx,
            "timestamp_ms": due.timestamp_ms,
            "proof": format!("/v1/proofs/transactions/{}", due.tx),
            "event": due.event,
        }
    })
}

/// Starts delivering the subscriptions of `reads`' index on the current runtime.
pub fn spawn(reads: Reads, config: WebhookConfig) -> Result<tokio::task::JoinHandle<()>, String> {
    let client = client(&config)?;
    Ok(tokio::spawn(run(reads, client, config)))
}

async fn run(reads: Reads, client: reqwest::Client, config: WebhookConfig) {
    let mut scheduler = Scheduler::new(reads.index.clone(), client, config);
    let mut applied = reads.progress.watch();
    let mut materialized = tokio::time::Instant::now();
    let mut asked = tokio::time::Instant::now() - DUE_EVERY;
    let mut new_blocks = true;
    loop {
        // New events become deliveries when blocks are applied (and now and then, for the
        // subscriptions whose room was full).
        if new_blocks || materialized.elapsed() >= Duration::from_secs(5) {
            if let Err(e) = reads.index.materialize(crate::now_ms()).await {
                tracing::warn!(error = %e, "webhook deliveries could not be prepared");
            }
            materialized = tokio::time::Instant::now();
            new_blocks = false;
        }
        // The deliveries due are asked for at most every DUE_EVERY, however fast attempts
        // end: the query sorts the whole backlog.
        let wait = DUE_EVERY.saturating_sub(asked.elapsed());
        let free = scheduler.running.len() < CONCURRENCY;
        if wait.is_zero() && free {
            if let Err(e) = scheduler.start_due().await {
                tracing::warn!(error = %e, "webhook deliveries could not be read");
            }
            asked = tokio::time::Instant::now();
        }
        // A slot freed before the next question may be asked waits for it; otherwise retries
        // fall due with time.
        let pause = if free && !wait.is_zero() {
            wait
        } else {
            Duration::from_secs(1)
        };
        tokio::select! {
            // An attempt ended: its slot is free for the next one due.
            Some(joined) = scheduler.running.join_next_with_id(), if !scheduler.running.is_empty() => {
                scheduler.ended(joined);
            }
            changed = applied.changed() => {
                if changed.is_err() {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                new_blocks = true;
            }
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

/// Shortest pause between two questions for the deliveries due.
const DUE_EVERY: Duration = Duration::from_millis(200);

/// The attempts under way: at most [`CONCURRENCY`], at most
/// [`IN_FLIGHT_PER_WEBHOOK`](civitas_kit::index::notify::IN_FLIGHT_PER_WEBHOOK) of one
/// subscription; each slot is given to the next delivery due as soon as an attempt ends, so a
/// slow endpoint holds only its own slots, never a whole round.
struct Scheduler {
    index: Index,
    client: reqwest::Client,
    config: Arc<WebhookConfig>,
    running: tokio::task::JoinSet<()>,
    /// Each attempt under way: its delivery and that delivery's subscription.
    in_flight: std::collections::HashMap<tokio::task::Id, (String, String)>,
}

impl Scheduler {
    fn new(index: Index, client: reqwest::Client, config: WebhookConfig) -> Self {
        Self {
            index,
            client,
            config: Arc::new(config),
            running: tokio::task::JoinSet::new(),
            in_flight: std::collections::HashMap::new(),
        }
    }

    /// Starts attempts at the deliveries due, as slots allow; returns how many it started.
    async fn start_due(&mut self) -> Result<usize, IndexError> {
        while let Some(joined) = self.running.try_join_next_with_id() {
            self.ended(joined);
        }
        if self.running.len() >= CONCURRENCY {
            return Ok(0);
        }
        let cap = civitas_kit::index::notify::IN_FLIGHT_PER_WEBHOOK as usize;
        let due = self.index.due(crate::now_ms(), ROUND).await?;
        let mut started = 0;
        for due in due {
            if self.running.len() >= CONCURRENCY {
                break;
            }
            let mut under_way = self.in_flight.values();
            let of_webhook = under_way.clone().filter(|(_, w)| *w == due.webhook).count();
            if under_way.any(|(id, _)| *id == due.id) || of_webhook >= cap {
                continue;
            }
            let delivery = (due.id.clone(), due.webhook.clone());
            let (index, client, config) =
                (self.index.clone(), self.client.clone(), self.config.clone());
            let task = self.running.spawn(async move {
                let attempt = attempt(&client, &config, &due).await;
                if let Attempt::Failed { error, .. } = &attempt {
                    tracing::debug!(delivery = %due.id, %error, "a webhook delivery failed");
                }
                if let Err(e) = index.record(&due.id, crate::now_ms(), &attempt).await {
                    // Unrecorded, the delivery is still due: hold its slot a while rather
                    // than post it again at once.
                    tracing::warn!(delivery = %due.id, error = %e, "a webhook attempt could not be recorded");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            });
            self.in_flight.insert(task.id(), delivery);
            started += 1;
        }
        Ok(started)
    }

    /// Takes an attempt that ended, or panicked, off the list under way.
    fn ended(&mut self, joined: Result<(tokio::task::Id, ()), tokio::task::JoinError>) {
        let task = match joined {
            Ok((task, ())) => task,
            Err(e) => e.id(),
        };
        self.in_flight.remove(&task);
    }

    /// Waits for every attempt under way.
    async fn drain(&mut self) {
        while let Some(joined) = self.running.join_next_with_id().await {
            self.ended(joined);
        }
    }
}

/// One pass, for tests and tools: new events into deliveries, then every delivery due
/// attempted (as slots allow) until none is left that can start; `true` when some were left.
pub async fn round(
    index: &Index,
    client: &reqwest::Client,
    config: &WebhookConfig,
) -> Result<bool, IndexError> {
    index.materialize(crate::now_ms()).await?;
    let mut scheduler = Scheduler::new(index.clone(), client.clone(), config.clone());
    loop {
        let started = scheduler.start_due().await?;
        if started == 0 {
            break;
        }
        scheduler.drain().await;
    }
    Ok(index.due(crate::now_ms(), 1).await?.len() == 1)
}

/// Posts `due` once.
async fn attempt(client: &reqwest::Client, config: &WebhookConfig, due: &Due) -> Attempt {
    let failed = |status: Option<u16>, error: String| Attempt::Failed {
        status,
        error,
        retry_at_ms: config
            .retry_delays
            .get(due.attempts as usize)
            .map(|d| crate::now_ms().saturating_add(d.as_millis() as u64)),
    };
    // Checked again: the operator may have disallowed private targets since.
    let url = match check_url(&due.url, config.allow_private_targets) {
        Ok(url) => url,
        Err(e) => return failed(None, e),
    };
    let body = payload(due).to_string();
    let timestamp = crate::now_ms() / 1_000;
    let signature = match signature(&due.secret, &due.id, timestamp, body.as_bytes()) {
        Ok(s) => s,
        Err(e) => return failed(None, e),
    };
    let sent = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &due.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(response) if response.status().is_success() => Attempt::Delivered {
            status: response.status().as_u16(),
        },
        Ok(response) => failed(
            Some(response.status().as_u16()),
            format!("the endpoint answered HTTP {}", response.status().as_u16()),
        ),
        Err(e) => failed(None, error_text(&e)),
    }
}

/// A failure in words, with its causes.
fn error_text(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "no answer in time".to_string()
    } else if error.is_connect() {
        "could not connect".to_string()
    } else {
        "the request failed".to_string()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_the_standard_webhooks_example() {
        // The example in the Standard Webhooks specification (and its libraries' tests).
        let signed = signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(signed, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(signature("secret", "msg", 1, b"").is_err());
        let secret = new_secret().unwrap();
        assert!(secret.starts_with(SECRET_PREFIX));
        assert_eq!(STANDARD.decode(&secret[6..]).unwrap().len(), SECRET_BYTES);
        assert_ne!(secret, new_secret().unwrap());
    }

    #[test]
    fn urls_on_the_node_s_own_networks_are_refused() {
        for url in [
            "http://127.0.0.1:8080/hook",
            "http://[::1]/hook",
            "http://10.0.0.5/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://192.168.1.1/",
            "http://100.64.0.1/",
            "http://[fd00::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://localhost:9000/",
            "http://api.localhost/",
            "http://0.0.0.0/",
            "http://[::7f00:1]/",
            "http://[fec0::1]/",
            "http://[2002:a00:1::1]/",
            "http://[2001:0:a00:1::1]/",
            "http://[100::1]/",
            "http://[64:ff9b::a00:1]/",
        ] {
            assert!(check_url(url, false).is_err(), "{url}");
            assert!(check_url(url, true).is_ok(), "{url} on a local network");
        }
        for (url, why) in [
            ("ftp://example.org/", "http"),
            ("https://user:pw@example.org/", "user or password"),
            ("not a url", "does not parse"),
        ] {
            let error = check_url(url, true).expect_err(url);
            assert!(error.contains(why), "{url}: {error}");
        }
        assert!(check_url(&format!("https://example.org/{}", "a".repeat(3000)), true).is_err());
        assert!(check_url("https://hooks.example.org/civitas?x=1", false).is_ok());
        assert!(check_url("https://93.184.215.14/", false).is_ok());
        assert!(check_url("https://[2a00:1450:4001:80b::200e]/", false).is_ok());
    }
}
