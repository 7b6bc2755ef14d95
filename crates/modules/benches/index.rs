//! The read model at scale (the ledger's tables and the modules'): a synthetic chain of `CIVITAS_INDEX_TXS` transactions (default 10
//! million) projected into SQLite and into a throwaway PostgreSQL server, then the main lists
//! timed, p50 and p99 over many requests, with the disk the index takes per transaction.
//!
//! `cargo bench -p civitas-modules --bench index` (add `CIVITAS_INDEX_TXS=1000000` for a quicker
//! run, `CIVITAS_INDEX_BACKENDS=sqlite` for one backend, `CIVITAS_INDEX_KEEP=1` to keep the
//! SQLite file for a look at it, with `sqlite3`'s `dbstat` for one). Loading is timed too: transactions
//! per second through the same projection the node runs (`Index::apply`, 64 blocks per SQL
//! transaction, as the follower does while it catches up).
//!
//! The chain: blocks of 100 transactions with an empty block after every two; 60% notarisations
//! by 1,000 officials (titles of four words from a vocabulary of 1,000), 40% payments by 100
//! treasurers to 100,000 vendors, each with its event.

use civitas_core::Instruction;
use civitas_core::block::{Block, HEADER_VERSION, Header};
use civitas_core::crypto::{AccountId, PrivateKey, Signature};
use civitas_core::event::Event;
use civitas_core::hash::Hash32;
use civitas_core::money::{Currency, Money};
use civitas_core::notary::{NotaryEvent, NotaryInstruction};
use civitas_core::receipt::{Receipt, TxOutcome};
use civitas_core::time::TimestampMs;
use civitas_core::treasury::{EntryKind, TreasuryEvent, TreasuryInstruction};
use civitas_core::tx::{SignedTx, TxBody, TxSignature};
use civitas_kit::index::query::{BlockFilter, EventFilter, Order, TxFilter};
use civitas_kit::index::{Finalized, Index};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PER_BLOCK: u64 = 100;
const OFFICIALS: u64 = 1_000;
const TREASURERS: u64 = 100;
const VENDORS: u64 = 100_000;
/// Requests timed per list.
const SAMPLES: usize = 300;

fn account(kind: u64, n: u64) -> AccountId {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&kind.to_be_bytes());
    bytes[8..16].copy_from_slice(&n.to_be_bytes());
    AccountId(bytes)
}

/// Spreads `n` over `0..m`.
fn spread(n: u64, m: u64) -> u64 {
    (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 24) % m
}

/// The official who signs notarisation `n` (those `n` with `n % 5 < 3`).
fn official_of(n: u64) -> AccountId {
    account(1, spread(n, OFFICIALS))
}

/// The vendor paid by payment `n` (those `n` with `n % 5 >= 3`).
fn vendor_of(n: u64) -> AccountId {
    account(3, spread(n, VENDORS))
}

const WORDS: [&str; 10] = [
    "permit", "road", "school", "clinic", "deed", "licence", "water", "bridge", "market", "park",
];

fn title(n: u64) -> String {
    format!(
        "{} {} {}{} notice {}",
        WORDS[(n % 10) as usize],
        WORDS[(n / 10 % 10) as usize],
        WORDS[(n / 100 % 10) as usize],
        n / 1000 % 100,
        n % 997
    )
}

/// Transaction `n` of the synthetic chain, with its events.
fn transaction(n: u64, key: &TxSignature) -> (SignedTx, Vec<Event>) {
    let (signer, instruction, events) = if n % 5 < 3 {
        let issuer = official_of(n);
        let document = Hash32::sha256(&n.to_be_bytes());
        let title = title(n);
        (
            issuer,
            Instruction::Notary(NotaryInstruction::Anchor {
                document,
                title: title.clone(),
                metadata: Vec::new(),
            }),
            vec![Event::Notary(NotaryEvent::DocumentAnchored {
                document,
                issuer,
                agency: format!("agency{}", n % 7),
                title,
            })],
        )
    } else {
        let treasurer = account(2, spread(n, TREASURERS));
        let vendor = vendor_of(n);
        let amount = Money::new(1_000 + n % 100_000, Currency::parse("EUR").expect("EUR"));
        (
            treasurer,
            Instruction::Treasury(TreasuryInstruction::Pay {
                commitment: n,
                amount,
                reference: format!("INV-{n}"),
            }),
            vec![Event::Treasury(TreasuryEvent::TreasuryEntry {
                entry: n + 1,
                kind: EntryKind::Paid,
                year: 2026,
                appropriation: n % 50 + 1,
                commitment: Some(n),
                payment: Some(n),
                vendor: Some(vendor),
                agency: format!("agency{}", n % 7),
                amount,
                decrease: false,
            })],
        )
    };
    let body = TxBody {
        chain_id: "bench".into(),
        signer,
        nonce: n,
        expiry: TimestampMs(u64::MAX / 2),
        instructions: vec![instruction],
        memo: String::new(),
    };
    (
        SignedTx {
            body,
            signatures: vec![key.clone()],
        },
        events,
    )
}

/// Block `height` after `parent`, holding transactions `first..first+count`.
fn block(height: u64, parent: Hash32, first: u64, count: u64, key: &TxSignature) -> Finalized {
    let timestamp = TimestampMs(1_767_225_600_000 + height * 300);
    let mut txs = Vec::with_capacity(count as usize);
    let mut receipts = Vec::with_capacity(count as usize);
    for (index, n) in (first..first + count).enumerate() {
        let (tx, events) = transaction(n, key);
        receipts.push(Receipt {
            tx: tx.hash(),
            height,
            index: index as u32,
            timestamp,
            signer: tx.body.signer,
            nonce: tx.body.nonce,
            outcome: TxOutcome::Success,
            events,
        });
        txs.push(tx);
    }
    let header = Header {
        version: HEADER_VERSION,
        protocol: 2,
        chain: Hash32::sha256(b"bench"),
        height,
        parent,
        epoch: 0,
        view: height,
        parent_view: height - 1,
        proposer: PrivateKey::from_test_seed(1).public_key(),
        timestamp,
        tx_count: count as u32,
        tx_root: Hash32::default(),
        receipts_root: Hash32::default(),
        state_root: Hash32::default(),
        state_ops_root: Hash32::default(),
        state_ops_start: 0,
        state_ops_end: 0,
        history_root: Hash32::default(),
        validator_set: Hash32::default(),
    };
    let block = Block { header, txs };
    Finalized {
        digest: block.header.digest(),
        block: Arc::new(block),
        receipts,
        end: None,
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Loads `txs` transactions into `index`; returns the load rate (transactions per second).
async fn load(index: &Index, txs: u64) -> f64 {
    let chain = Hash32::sha256(b"bench chain");
    let key = TxSignature {
        key: PrivateKey::from_test_seed(2).public_key(),
        signature: Signature::from_bytes(&[7; 64]).expect("64 bytes"),
    };
    let start = Instant::now();
    let mut parent = Hash32::default();
    let mut height = 0;
    let mut next = 0;
    let mut batch = Vec::with_capacity(64);
    let mut reported = Instant::now();
    let mut reported_at = 0;
    let mut applied = Duration::ZERO;
    while next < txs {
        height += 1;
        let count = if height % 3 == 0 {
            0
        } else {
            PER_BLOCK.min(txs - next)
        };
        let b = block(height, parent, next, count, &key);
        parent = b.digest;
        next += count;
        batch.push(b);
        if batch.len() == 64 || next == txs {
            let applying = Instant::now();
            index.apply(&chain, &batch).await.expect("apply");
            applied += applying.elapsed();
            batch.clear();
            if reported.elapsed() > Duration::from_secs(10) {
                eprintln!(
                    "  {next} transactions, {:.0} tx/s ({:.0} tx/s in apply; {:.0} tx/s since \
                     the last line)",
                    next as f64 / start.elapsed().as_secs_f64(),
                    next as f64 / applied.as_secs_f64(),
                    (next - reported_at) as f64 / reported.elapsed().as_secs_f64()
                );
                reported = Instant::now();
                reported_at = next;
            }
        }
    }
    txs as f64 / start.elapsed().as_secs_f64()
}

/// Times `SAMPLES` runs of one list (each a fresh snapshot, as a request reads it).
async fn time<F>(index: &Index, mut list: F) -> (f64, f64)
where
    F: AsyncFnMut(&mut civitas_kit::index::query::Snapshot, usize) -> usize,
{
    let mut times = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES {
        let start = Instant::now();
        let mut snapshot = index.snapshot().await.expect("snapshot");
        let found = list(&mut snapshot, i).await;
        snapshot.finish().await.expect("finish");
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        assert!(found > 0, "the list found nothing");
    }
    times.sort_by(|a, b| a.total_cmp(b));
    (percentile(&times, 50.0), percentile(&times, 99.0))
}

async fn measure(name: &str, url: &str, txs: u64, size: impl Fn() -> u64) -> serde_json::Value {
    let index = Index::open(url, civitas_modules::INDEX_TABLES)
        .await
        .expect("open");
    eprintln!("{name}: loading {txs} transactions");
    let rate = load(&index, txs).await;
    eprintln!("  loaded at {rate:.0} tx/s");
    let bytes = size();
    let newest = Order::Newest;
    let mut lists = serde_json::Map::new();
    let mut record = |what: &str, (p50, p99): (f64, f64)| {
        eprintln!("  {what:<48} p50 {p50:>7.2} ms  p99 {p99:>7.2} ms");
        lists.insert(
            what.into(),
            serde_json::json!({"p50_ms": p50, "p99_ms": p99}),
        );
    };
    record(
        "blocks with transactions, first page",
        time(&index, async |s, _| {
            let f = BlockFilter {
                with_transactions: true,
            };
            s.blocks(&f, newest, None, 20)
                .await
                .expect("list")
                .items
                .len()
        })
        .await,
    );
    record(
        "transactions, page deep in the chain (cursor)",
        time(&index, async |s, i| {
            let cursor = format!("{}.0", 1 + (i as u64 * 7919) % (txs / PER_BLOCK));
            s.transactions(&TxFilter::default(), newest, Some(&cursor), 20)
                .await
                .expect("list")
                .items
                .len()
                + 1
        })
        .await,
    );
    record(
        "an official's transactions (0.06% of all)",
        time(&index, async |s, i| {
            let f = TxFilter {
                account: Some(official_of(5 * (i as u64 * 7919 % (txs / 5)))),
                ..TxFilter::default()
            };
            s.transactions(&f, newest, None, 20)
                .await
                .expect("list")
                .items
                .len()
        })
        .await,
    );
    record(
        "a vendor's transactions naming it (0.0004% of all)",
        time(&index, async |s, i| {
            let f = TxFilter {
                account: Some(vendor_of(5 * (i as u64 * 7919 % (txs / 5)) + 3)),
                ..TxFilter::default()
            };
            s.transactions(&f, newest, None, 20)
                .await
                .expect("list")
                .items
                .len()
        })
        .await,
    );
    record(
        "transactions by action (notary.anchor)",
        time(&index, async |s, _| {
            let f = TxFilter {
                action: Some("notary.anchor".into()),
                ..TxFilter::default()
            };
            s.transactions(&f, newest, None, 20)
                .await
                .expect("list")
                .items
                .len()
        })
        .await,
    );
    record(
        "a vendor's events, by type",
        time(&index, async |s, i| {
            let f = EventFilter {
                account: Some(vendor_of(5 * (i as u64 * 7919 % (txs / 5)) + 3)),
                kind: Some("treasury_entry".into()),
                module: None,
            };
            s.events(&f, newest, None, 20)
                .await
                .expect("list")
                .items
                .len()
        })
        .await,
    );
    record(
        "events by type",
        time(&index, async |s, _| {
            let f = EventFilter {
                kind: Some("document_anchored".into()),
                ..EventFilter::default()
            };
            s.events(&f, newest, None, 20)
                .await
                .expect("list")
                .items
                .len()
        })
        .await,
    );
    index.close().await;
    serde_json::json!({
        "backend": name,
        "transactions": txs,
        "load_tps": rate,
        "bytes_per_tx": bytes as f64 / txs as f64,
        "lists": lists,
    })
}

fn main() {
    let txs: u64 = std::env::var("CIVITAS_INDEX_TXS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let backends =
        std::env::var("CIVITAS_INDEX_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = std::env::temp_dir().join(format!("civitas-index-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut results = Vec::new();
    for backend in backends.split(',') {
        let result = match backend {
            "sqlite" => {
                let path = dir.join("index.sqlite");
                let size = || {
                    ["", "-wal", "-shm"]
                        .iter()
                        .filter_map(|s| std::fs::metadata(format!("{}{s}", path.display())).ok())
                        .map(|m| m.len())
                        .sum()
                };
                runtime.block_on(measure(
                    "sqlite",
                    &format!("sqlite:{}", path.display()),
                    txs,
                    size,
                ))
            }
            "postgres" => {
                let server = civitas_index::testing::Postgres::start().expect("PostgreSQL");
                let data = server.dir().join("data");
                let size = || dir_bytes(&data);
                let result = runtime.block_on(measure("postgres", &server.url(), txs, size));
                drop(server);
                result
            }
            other => panic!("unknown backend {other}: sqlite or postgres"),
        };
        results.push(result);
    }
    if std::env::var_os("CIVITAS_INDEX_KEEP").is_some() {
        eprintln!("kept the SQLite index in {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&results).expect("results as JSON")
    );
}

fn dir_bytes(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
