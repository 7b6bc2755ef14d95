//! Anonymous clients hammering the nodes' heaviest endpoints, for `civitas bench --attack N`.
//!
//! Each client has a loopback address of its own (127.1.x.y), so per-address rate limits do not
//! single them out: what protects consensus is the API's own runtime, its bounded queues and
//! pools and its cap on requests in flight. A client sends one request after another, each on a
//! new connection, round-robin over the heaviest endpoints: checking a proof bundle and an OCDS
//! package (CPU), proving a state value and a transaction, and the explorer page (each a walk
//! through the node's storage). The clients' own threads run at a lower priority, as if they
//! were on other machines, so that what is measured is the nodes' answer to the load, not the
//! bench machine's scheduler.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the attack did.
#[derive(Default, Debug)]
pub struct Counts {
    /// Requests sent.
    pub sent: AtomicU64,
    /// Answered 2xx.
    pub served: AtomicU64,
    /// Answered 429 (rate limited, overloaded, busy).
    pub refused: AtomicU64,
    /// Answered anything else, or not at all.
    pub failed: AtomicU64,
}

/// The requests the clients cycle through.
pub struct Targets {
    /// A proof bundle to have the node check.
    pub bundle: Vec<u8>,
    /// A document whose notary record to prove.
    pub document: String,
    /// A transaction to prove.
    pub transaction: String,
}

/// A large OCDS release package (about 1 MiB) for the validation endpoint.
fn ocds_package() -> Vec<u8> {
    let releases: Vec<serde_json::Value> = (0..1_500)
        .map(|n| {
            serde_json::json!({
                "ocid": format!("ocds-attack-{n}"),
                "id": format!("release-{n}"),
                "date": "2026-01-01T00:00:00Z",
                "tag": ["planning"],
                "initiationType": "tender",
                "parties": [{"id": "p", "name": "x".repeat(400), "roles": ["buyer"]}],
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "uri": "https://example.org/attack",
        "publishedDate": "2026-01-01T00:00:00Z",
        "publisher": {"name": "attack"},
        "version": "1.1",
        "releases": releases,
    }))
    .unwrap_or_default()
}

/// One HTTP/1.1 request from `source` to `port` on 127.0.0.1; the status code, if any.
async fn request(source: std::net::Ipv4Addr, port: u16, head: &str, body: &[u8]) -> Option<u16> {
    let socket = tokio::net::TcpSocket::new_v4().ok()?;
    socket.bind((source, 0).into()).ok()?;
    let mut stream = socket
        .connect(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .ok()?;
    let mut message = head.as_bytes().to_vec();
    message.extend_from_slice(body);
    stream.write_all(&message).await.ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.ok()?;
    let text = std::str::from_utf8(response.get(..12)?).ok()?;
    text.get(9..12)?.parse().ok()
}

/// The `n`th request of the cycle: (head, body).
fn nth(n: u64, targets: &Targets, ocds: &[u8]) -> (String, Vec<u8>) {
    let post = |path: &str, kind: &str, body: &[u8]| {
        (
            format!(
                "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            ),
            body.to_vec(),
        )
    };
    let get = |path: String| {
        (
            format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"),
            Vec::new(),
        )
    };
    match n % 5 {
        0 => post(
            "/v1/proofs/verify",
            "application/octet-stream",
            &targets.bundle,
        ),
        1 => post("/v1/ocds/validate", "application/json", ocds),
        2 => get(format!("/v1/proofs/notary/{}", targets.document)),
        3 => get(format!("/v1/proofs/transactions/{}", targets.transaction)),
        _ => get("/explorer".into()),
    }
}

/// Starts `clients` attack clients against the nodes at `ports`; they run until `stop` is set.
pub fn start(
    clients: usize,
    ports: Vec<u16>,
    targets: Targets,
    stop: Arc<AtomicBool>,
    counts: Arc<Counts>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .on_thread_start(|| {
                // The attackers stand for other machines: their own work yields to the nodes'.
                // SAFETY: setpriority on the calling thread (tid 0 means the caller) only.
                unsafe {
                    libc::setpriority(libc::PRIO_PROCESS, 0, 15);
                }
            })
            .build()
        {
            Ok(runtime) => runtime,
            Err(e) => {
                eprintln!("cannot start the attack clients: {e}");
                return;
            }
        };
        let targets = Arc::new(targets);
        let ocds = Arc::new(ocds_package());
        runtime.block_on(async move {
            let mut tasks = Vec::new();
            for client in 0..clients {
                let source =
                    std::net::Ipv4Addr::new(127, 1, (client / 250) as u8, (client % 250 + 1) as u8);
                let ports = ports.clone();
                let targets = targets.clone();
                let ocds = ocds.clone();
                let stop = stop.clone();
                let counts = counts.clone();
                tasks.push(tokio::spawn(async move {
                    let mut n = client as u64;
                    while !stop.load(Ordering::Relaxed) {
                        let (head, body) = nth(n, &targets, &ocds);
                        let port = ports[n as usize % ports.len()];
                        n += 1;
                        counts.sent.fetch_add(1, Ordering::Relaxed);
                        let answer = tokio::time::timeout(
                            Duration::from_secs(30),
                            request(source, port, &head, &body),
                        )
                        .await;
                        let counter = match answer {
                            Ok(Some(status)) if (200..300).contains(&status) => &counts.served,
                            Ok(Some(429)) => &counts.refused,
                            _ => {
                                // A refused connection would otherwise spin.
                                tokio::time::sleep(Duration::from_millis(10)).await;
                                &counts.failed
                            }
                        };
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                }));
            }
            for task in tasks {
                let _ = task.await;
            }
        });
    })
}
