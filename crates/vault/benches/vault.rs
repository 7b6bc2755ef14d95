//! What a vault's operations cost, on this machine's disk: sealing a record in memory (a data
//! key, AES-256-GCM, two HPKE wraps), and through the store, each a committed transaction over
//! both files (fsync, `synchronous = FULL`): writing a record (seal, insert, activate), reading
//! one (unwrap, open, check the commitment), sharing one (a new wrap, kept), and erasing one.
//! Bodies are 1 KiB, about a certificate's fields.
//!
//! Run: `cargo bench -p civitas-vault --bench vault`

use civitas_core::crypto::AccountId;
use civitas_core::seal::DecryptionKey;
use civitas_vault::Store;
use civitas_vault::envelope::{Label, RecordId, seal_record, wrap};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn body() -> Vec<u8> {
    let mut body = br#"{"name":"Ada Example","born":"1990-04-01","notes":""#.to_vec();
    body.resize(1_000, b'x');
    body.extend_from_slice(b"\"}");
    body
}

fn vault(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let agency = DecryptionKey::from_test_seed(1);
    let citizen = DecryptionKey::from_test_seed(2);
    let other = DecryptionKey::from_test_seed(3);
    let body = body();
    let mut group = c.benchmark_group("vault");
    group.throughput(Throughput::Elements(1));

    group.bench_function("seal_in_memory", |b| {
        b.iter(|| {
            let label = Label {
                id: RecordId([7; 32]),
                version: 1,
                subject: AccountId([5; 32]),
                schema: "birth-certificate/v1",
            };
            let (sealed, key) = seal_record(&label, black_box(&body)).expect("seal");
            let holder = wrap(&label, &key, &agency.public()).expect("wrap");
            let subject = wrap(&label, &key, &citizen.public()).expect("wrap");
            black_box((sealed, holder, subject))
        })
    });

    let dir = std::env::temp_dir().join(format!("civitas-vault-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = runtime.block_on(Store::open(&dir)).expect("a vault");
    let mut n = 0u64;
    let mut write = |store: &Store| {
        n += 1;
        runtime.block_on(async {
            let (row, _) = store
                .create(
                    RecordId::random().unwrap(),
                    &agency.public(),
                    AccountId([(n % 251) as u8; 32]),
                    Some(&citizen.public()),
                    "birth-certificate/v1",
                    &body,
                    n,
                )
                .await
                .expect("create");
            store.activate(row.id, 1).await.expect("activate");
            row.id
        })
    };
    group.bench_function("write", |b| b.iter(|| write(&store)));
    let ids: Vec<RecordId> = (0..200).map(|_| write(&store)).collect();
    let mut next = 0usize;
    group.bench_function("read", |b| {
        b.iter(|| {
            next = (next + 1) % ids.len();
            runtime
                .block_on(store.read(ids[next], &agency))
                .expect("read")
        })
    });
    group.bench_function("share", |b| {
        b.iter(|| {
            next = (next + 1) % ids.len();
            runtime
                .block_on(store.share(ids[next], "permits", &other.public(), &agency))
                .expect("share")
        })
    });
    group.bench_function("erase", |b| {
        b.iter_batched(
            || write(&store),
            |id| runtime.block_on(store.erase(id, 1)).expect("erase"),
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
    runtime.block_on(store.close());
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = vault
}
criterion_main!(benches);
