//! The authenticated state's per-block and per-proof costs, with a small and a large state.
//!
//! - commit a block's writes: what a block of 1,000 notarisations writes (1,000 nonce updates of
//!   existing keys, 1,000 new documents; receipts are committed by the header, not the state),
//!   merkleized, applied and committed durably to disk;
//! - prove a key's current value, and verify that proof offline.
//!
//! Run: `cargo bench -p civitas-state --bench state`. The state sizes are 10,000 and 1,000,000
//! keys; set `CIVITAS_BENCH_STATE_KEYS=10000,10000000` for others (loading 10 million keys
//! takes a few minutes). The memory a state of that size holds is counted by the allocator,
//! the page cache included.

use civitas_core::bundle::StateKey;
use civitas_state::{Db, StateValue, db_config, height_metadata, proof, stored_key};
use commonware_runtime::{Runner as _, buffer::paged::CacheRef, tokio as cw_tokio};
use commonware_storage::qmdb::floor::Proportional;
use commonware_utils::{NZU16, NZUsize};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures::channel::{mpsc, oneshot};
use futures::{SinkExt, StreamExt};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Notarisations per block: a nonce update and a document each.
const BLOCK_TXS: u64 = 1_000;

/// The page cache, as a node configures it.
const PAGE_CACHE_BYTES: usize = 4096 * 4096;

/// A proof to verify: root, key, value (none for absence), proof bytes.
type Sample = (
    civitas_core::hash::Hash32,
    StateKey,
    Option<Vec<u8>>,
    Vec<u8>,
);

enum Op {
    /// Commit this many blocks.
    Commit(u64),
    /// Prove this many existing keys.
    Prove(u64),
    /// Prove the absence of this many keys.
    ProveAbsent(u64),
    /// One proof of an existing key and one of an absent key, to verify outside the runtime.
    Sample(oneshot::Sender<[Sample; 2]>),
}

fn key(space: &str, i: u64) -> StateKey {
    StateKey::new(space, i.to_be_bytes().to_vec())
}

fn value(i: u64, size: usize) -> StateValue {
    let mut bytes = i.to_be_bytes().to_vec();
    bytes.resize(size, 0xab);
    StateValue(bytes)
}

type BenchDb = Db<cw_tokio::Context>;

/// Writes `writes` as the block at `height`: merkleized, applied and committed durably.
async fn commit(db: BenchDb, writes: Vec<(StateKey, StateValue)>, height: u64) -> BenchDb {
    let mut batch = db.new_batch();
    for (key, value) in writes {
        batch = batch.write(stored_key(&key), Some(value));
    }
    let merkleized = batch
        .merkleize(&db, Some(height_metadata(height)), &mut Proportional)
        .await
        .expect("merkleize");
    db.apply_batch(merkleized)
        .await
        .expect("apply")
        .commit()
        .await
        .expect("commit")
}

/// A state database of `keys` keys on disk, run by its own runtime on its own thread; each
/// request is timed inside the runtime.
struct State {
    requests: mpsc::Sender<(Op, oneshot::Sender<Duration>)>,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl State {
    fn new(keys: u64) -> Self {
        let dir =
            std::env::temp_dir().join(format!("civitas-state-bench-{}-{keys}", std::process::id()));
        let (requests, mut receiver) = mpsc::channel::<(Op, oneshot::Sender<Duration>)>(1);
        let storage = dir.clone();
        std::thread::spawn(move || {
            let config = cw_tokio::Config::new()
                .with_storage_directory(storage)
                .with_worker_threads(1);
            cw_tokio::Runner::new(config).start(|context| async move {
                let cache = CacheRef::new(NZU16!(4096), NZUsize!(PAGE_CACHE_BYTES / 4096));
                let mut db = Db::init(context, db_config("bench", cache), None)
                    .await
                    .expect("the database opens");
                let mut height = 0u64;
                let mut next = 0u64;
                // Load `keys` documents, 100,000 per commit.
                while next < keys {
                    let end = (next + 100_000).min(keys);
                    let writes = (next..end)
                        .map(|i| (key("doc", i), value(i, 160)))
                        .collect();
                    next = end;
                    height += 1;
                    db = commit(db, writes, height).await;
                }
                let mut probe = 0u64;
                while let Some((op, respond)) = receiver.next().await {
                    let start = Instant::now();
                    match op {
                        Op::Commit(blocks) => {
                            for _ in 0..blocks {
                                let mut writes = Vec::with_capacity(2 * BLOCK_TXS as usize);
                                for t in 0..BLOCK_TXS {
                                    writes.push((key("nonce", t % 64), value(height, 8)));
                                    writes.push((key("doc", next), value(next, 160)));
                                    next += 1;
                                }
                                height += 1;
                                db = commit(db, writes, height).await;
                            }
                        }
                        Op::Prove(count) => {
                            for _ in 0..count {
                                probe = (probe + 7_919) % keys.max(1);
                                let proven =
                                    proof::prove(&db, &key("doc", probe)).await.expect("prove");
                                assert!(proven.value.is_some());
                            }
                        }
                        Op::ProveAbsent(count) => {
                            for _ in 0..count {
                                probe += 1;
                                let proven = proof::prove(&db, &key("absent", probe))
                                    .await
                                    .expect("prove");
                                assert!(proven.value.is_none());
                            }
                        }
                        Op::Sample(reply) => {
                            let present = key("doc", keys / 2);
                            let absent = key("absent", 1);
                            let p = proof::prove(&db, &present).await.expect("prove");
                            let a = proof::prove(&db, &absent).await.expect("prove");
                            assert!(p.value.is_some() && a.value.is_none());
                            let _ = reply.send([
                                (p.root, present, p.value, p.proof),
                                (a.root, absent, a.value, a.proof),
                            ]);
                        }
                    }
                    let _ = respond.send(start.elapsed());
                }
            });
        });
        Self {
            requests,
            _dir: TempDir(dir),
        }
    }

    fn run(&self, op: Op) -> Duration {
        let (respond, answer) = oneshot::channel();
        let mut requests = self.requests.clone();
        futures::executor::block_on(async move {
            requests.send((op, respond)).await.expect("the state runs");
            answer.await.expect("the state answers")
        })
    }
}

/// The system allocator, counting the bytes currently allocated: what the database holds, as
/// opposed to resident memory, which also counts what the allocator kept after the load's
/// transient peaks.
struct Counting;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
            LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// This process's resident memory, in bytes (0 where /proc is missing).
fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kib| kib * 1024)
}

fn sizes() -> Vec<u64> {
    std::env::var("CIVITAS_BENCH_STATE_KEYS")
        .ok()
        .map(|text| {
            text.split(',')
                .filter_map(|n| n.trim().parse().ok())
                .collect()
        })
        .unwrap_or_else(|| vec![10_000, 1_000_000])
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("state");
    group.sample_size(10);
    for keys in sizes() {
        let (heap_before, resident_before) = (LIVE_BYTES.load(Ordering::Relaxed), resident_bytes());
        let state = State::new(keys);
        // Wait for the load to finish before timing anything.
        state.run(Op::Prove(1));
        let heap = LIVE_BYTES
            .load(Ordering::Relaxed)
            .saturating_sub(heap_before) as f64;
        let resident = resident_bytes().saturating_sub(resident_before) as f64;
        println!(
            "memory held for {keys} keys: {:.1} MiB allocated ({:.0} bytes per key, the page \
             cache's {} MiB included); resident {:.0} MiB (allocator retention after the load \
             included)",
            heap / 1_048_576.0,
            heap / keys as f64,
            PAGE_CACHE_BYTES >> 20,
            resident / 1_048_576.0,
        );
        group.throughput(Throughput::Elements(BLOCK_TXS));
        group.bench_function(
            BenchmarkId::new("commit a block of 1000 notarisations' writes", keys),
            |b| b.iter_custom(|iters| state.run(Op::Commit(iters))),
        );
        group.throughput(Throughput::Elements(1));
        group.bench_function(BenchmarkId::new("prove a key's value", keys), |b| {
            b.iter_custom(|iters| state.run(Op::Prove(iters)))
        });
        group.bench_function(BenchmarkId::new("prove a key's absence", keys), |b| {
            b.iter_custom(|iters| state.run(Op::ProveAbsent(iters)))
        });
        let (answer, reply) = oneshot::channel();
        state.run(Op::Sample(answer));
        let samples = futures::executor::block_on(reply).expect("sample proofs");
        for ((root, k, value, proof), what) in samples.iter().zip(["value", "absence"]) {
            group.bench_function(
                BenchmarkId::new(format!("verify a key's {what}"), keys),
                |b| b.iter(|| assert!(proof::verify(root, k, value.as_deref(), proof))),
            );
            println!(
                "proof of a key's {what} among {keys} keys: {} bytes",
                proof.len()
            );
        }
    }
    group.finish();
}

criterion_group!(state, benches);
criterion_main!(state);
