//! Webhook deliveries end to end against a real HTTP receiver on 127.0.0.1: signed as Standard
//! Webhooks says (checked here with RustCrypto's HMAC, not the node's own code), retried, dead,
//! replayed under the same id, never sent again after a restart, and never posted to the
//! node's own network unless the operator allows it.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use civitas_api::webhooks::{self, WebhookConfig};
use civitas_core::crypto::PrivateKey;
use civitas_kit::index::Index;
use civitas_kit::index::notify::{DeliveryStatus, NewWebhook, Place, WebhookFilter};
use civitas_kit::index::query::Order;
use civitas_modules::testing::{Chain, official, tx};
use hmac::Mac as _;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the receiver got: (headers, body).
type Received = Arc<Mutex<Vec<(HeaderMap, String)>>>;

async fn receiver(status: Arc<AtomicU16>) -> (String, Received) {
    gated_receiver(status, None).await
}

/// A receiver that answers each request only once `gate` gives it a permit (if it has a gate).
async fn gated_receiver(
    status: Arc<AtomicU16>,
    gate: Option<Arc<tokio::sync::Semaphore>>,
) -> (String, Received) {
    let received: Received = Arc::default();
    type Shared = (
        Arc<AtomicU16>,
        Received,
        Option<Arc<tokio::sync::Semaphore>>,
    );
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(
                async |State((status, received, gate)): State<Shared>,
                       headers: HeaderMap,
                       body: String| {
                    if let Some(gate) = gate {
                        gate.acquire().await.unwrap().forget();
                    }
                    received.lock().unwrap().push((headers, body));
                    StatusCode::from_u16(status.load(Ordering::SeqCst)).unwrap()
                },
            ),
        )
        .with_state((status, received.clone(), gate));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}/hook"), received)
}

/// Checks a delivery's signature as a receiver would, from the specification alone.
fn verify(secret: &str, headers: &HeaderMap, body: &str) {
    let id = headers["webhook-id"].to_str().unwrap();
    let timestamp = headers["webhook-timestamp"].to_str().unwrap();
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let header = headers["webhook-signature"].to_str().unwrap();
    assert!(
        header.split(' ').any(|s| s == format!("v1,{expected}")),
        "{header} is not v1,{expected}"
    );
    let sent: u64 = timestamp.parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now.abs_diff(sent) < 300, "a fresh timestamp");
}

/// The finance admin registers the official with test seed `seed` (an event naming it).
fn register(chain: &mut Chain, seed: u64, nonce: u64) {
    let admin = PrivateKey::from_test_seed(101);
    let key = PrivateKey::from_test_seed(seed);
    let receipt = chain.one(tx(
        &admin,
        None,
        nonce,
        official(&key, "finance", &["registrar"]),
    ));
    assert!(civitas_modules::testing::failed_code(&receipt).is_none());
}

/// An empty directory of its own for a test, and the URL of a SQLite index in it.
fn fresh_index(name: &str) -> (std::path::PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite:{}", dir.join("index.sqlite").display());
    (dir, url)
}

async fn apply_new(index: &Index, chain: &Chain) {
    let applied = index.applied().await.unwrap().map_or(0, |a| a.height) as usize;
    index
        .apply(&chain.genesis.hash(), &chain.blocks[applied..])
        .await
        .unwrap();
}

#[tokio::test]
async fn deliveries_are_signed_retried_replayed_and_never_sent_twice() {
    let (dir, url) = fresh_index("civitas-webhooks");
    let mut chain = Chain::new();
    register(&mut chain, 500, 0);
    let index = Index::open(&url, civitas_modules::INDEX_TABLES)
        .await
        .unwrap();
    apply_new(&index, &chain).await;

    let status = Arc::new(AtomicU16::new(500));
    let (hook, received) = receiver(status.clone()).await;
    let secret = webhooks::new_secret().unwrap();
    let owner = PrivateKey::from_test_seed(101).public_key().account_id();
    let (webhook, _, _) = index
        .create_webhook(NewWebhook {
            owner,
            url: hook.clone(),
            filter: WebhookFilter {
                account: None,
                module: Some("identity".into()),
                kind: Some("account_registered".into()),
            },
            secret: secret.clone(),
            start: Place::end_of(0),
            now_ms: 0,
        })
        .await
        .unwrap();
    let config = WebhookConfig {
        retry_delays: vec![Duration::from_millis(1)],
        allow_private_targets: true,
        timeout: Duration::from_secs(5),
    };
    let client = webhooks::client(&config).unwrap();
    let round = async || {
        tokio::time::sleep(Duration::from_millis(5)).await;
        webhooks::round(&index, &client, &config).await.unwrap()
    };

    // Two attempts answered 500: dead.
    round().await;
    round().await;
    round().await;
    let log = async |status: Option<DeliveryStatus>| {
        let mut snapshot = index.snapshot().await.unwrap();
        let page = snapshot
            .deliveries(&webhook.id, status, Order::Oldest, None, 100)
            .await
            .unwrap();
        snapshot.finish().await.unwrap();
        page.items
    };
    let dead = log(Some(DeliveryStatus::Dead)).await;
    assert_eq!(dead.len(), 1, "{:?}", log(None).await);
    assert_eq!((dead[0].attempts, dead[0].last_status), (2, Some(500)));
    {
        let got = received.lock().unwrap();
        assert_eq!(got.len(), 2, "one attempt and one retry");
        for (headers, body) in got.iter() {
            verify(&secret, headers, body);
            assert_eq!(headers["webhook-id"].to_str().unwrap(), dead[0].id);
        }
    }

    // Replayed once the receiver is back: the same id, received.
    status.store(204, Ordering::SeqCst);
    assert_eq!(index.replay(&webhook.id, None, 0).await.unwrap(), 1);
    round().await;
    assert!(log(Some(DeliveryStatus::Dead)).await.is_empty());
    let delivered = log(Some(DeliveryStatus::Delivered)).await;
    assert_eq!(delivered.len(), 1);
    assert_eq!(
        delivered[0].attempts, 1,
        "a replay starts its attempts again"
    );
    {
        let got = received.lock().unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[2].0["webhook-id"].to_str().unwrap(), dead[0].id);
        let body: serde_json::Value = serde_json::from_str(&got[2].1).unwrap();
        assert_eq!(body["type"], "identity.account_registered");
        let registered = PrivateKey::from_test_seed(500).public_key().account_id();
        assert_eq!(body["data"]["event"]["account"], registered.to_hex());
        assert_eq!(body["data"]["subscription"], webhook.id);
        let tx = body["data"]["tx"].as_str().unwrap();
        assert_eq!(
            body["data"]["proof"],
            format!("/v1/proofs/transactions/{tx}")
        );
        assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
    }

    // New events, each delivered once; a restart sends nothing again.
    register(&mut chain, 501, 1);
    register(&mut chain, 502, 2);
    apply_new(&index, &chain).await;
    round().await;
    assert_eq!(received.lock().unwrap().len(), 5);
    index.close().await;
    let index = Index::open(&url, civitas_modules::INDEX_TABLES)
        .await
        .unwrap();
    webhooks::round(&index, &client, &config).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    webhooks::round(&index, &client, &config).await.unwrap();
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 5, "nothing twice after a restart");
    let mut ids: Vec<&str> = got[2..]
        .iter()
        .map(|(h, _)| h["webhook-id"].to_str().unwrap())
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 3, "one id per event");

    // Without the operator's leave, nothing is posted to the node's own network.
    let guarded = WebhookConfig {
        allow_private_targets: false,
        // A retry far off, so that the refused attempt stays pending to be looked at.
        retry_delays: vec![Duration::from_secs(600)],
        ..config.clone()
    };
    let guarded_client = webhooks::client(&guarded).unwrap();
    register(&mut chain, 503, 3);
    apply_new(&index, &chain).await;
    webhooks::round(&index, &guarded_client, &guarded)
        .await
        .unwrap();
    assert_eq!(received.lock().unwrap().len(), 5, "not posted");
    let mut snapshot = index.snapshot().await.unwrap();
    let pending = snapshot
        .deliveries(
            &webhook.id,
            Some(DeliveryStatus::Pending),
            Order::Oldest,
            None,
            10,
        )
        .await
        .unwrap()
        .items;
    snapshot.finish().await.unwrap();
    assert_eq!(pending.len(), 1);
    let error = pending[0].last_error.as_deref().unwrap_or("");
    assert!(error.contains("loopback or private"), "{error}");
    index.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A slow endpoint holds only its own slots: while one subscription's receiver does not
/// answer at all, another's deliveries all arrive; then the slow one gets all of its own.
#[tokio::test]
async fn a_slow_endpoint_does_not_hold_back_the_others() {
    let (dir, url) = fresh_index("civitas-webhooks-fair");
    let index = Index::open(&url, civitas_modules::INDEX_TABLES)
        .await
        .unwrap();
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let ok = Arc::new(AtomicU16::new(200));
    let (slow, slow_got) = gated_receiver(ok.clone(), Some(gate.clone())).await;
    let (fast, fast_got) = receiver(ok).await;
    let owner = PrivateKey::from_test_seed(101).public_key().account_id();
    for url in [&slow, &fast] {
        index
            .create_webhook(NewWebhook {
                owner,
                url: url.clone(),
                filter: WebhookFilter {
                    kind: Some("account_registered".into()),
                    ..WebhookFilter::default()
                },
                secret: webhooks::new_secret().unwrap(),
                start: Place::end_of(0),
                now_ms: 0,
            })
            .await
            .unwrap();
    }
    let progress = Arc::new(civitas_kit::index::follow::Progress::default());
    let config = WebhookConfig {
        allow_private_targets: true,
        timeout: Duration::from_secs(60),
        ..WebhookConfig::default()
    };
    let worker = webhooks::spawn(
        civitas_kit::ledger::Reads {
            index: index.clone(),
            progress,
        },
        config,
    )
    .unwrap();
    let mut chain = Chain::new();
    for n in 0..6 {
        register(&mut chain, 600 + n, n);
    }
    apply_new(&index, &chain).await;
    let arrived = |got: &Received, n: usize| {
        let got = got.clone();
        async move {
            for _ in 0..600 {
                if got.lock().unwrap().len() >= n {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            false
        }
    };
    assert!(
        arrived(&fast_got, 6).await,
        "the fast endpoint gets every event"
    );
    assert!(
        slow_got.lock().unwrap().is_empty(),
        "the slow one is still answering"
    );
    gate.add_permits(100);
    assert!(
        arrived(&slow_got, 6).await,
        "then the slow one gets its own"
    );
    worker.abort();
    index.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
