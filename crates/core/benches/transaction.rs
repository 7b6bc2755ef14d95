//! The per-transaction work every node does before execution: decode untrusted bytes, check the
//! shape, verify the signatures, hash the body.
//!
//! Run: `cargo bench -p civitas-core --bench transaction`

use civitas_core::crypto::PrivateKey;
use civitas_core::hash::Hash32;
use civitas_core::instruction::{Instruction, MetadataEntry, NotaryInstruction};
use civitas_core::time::TimestampMs;
use civitas_core::tx::{SignedTx, TxBody};
use commonware_codec::Encode;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn notarisation(signers: usize) -> SignedTx {
    let keys: Vec<PrivateKey> = (0..signers as u64)
        .map(PrivateKey::from_test_seed)
        .collect();
    let refs: Vec<&PrivateKey> = keys.iter().collect();
    TxBody {
        chain_id: "civitas-devnet".into(),
        signer: keys[0].public_key().account_id(),
        nonce: 42,
        expiry: TimestampMs(1_800_000_000_000),
        instructions: vec![Instruction::Notary(NotaryInstruction::Anchor {
            document: Hash32::sha256(b"deed 2026/117"),
            title: "Deed 2026/117".into(),
            metadata: vec![MetadataEntry {
                key: "parcel".into(),
                value: "R-2231-B".into(),
            }],
        })],
        memo: String::new(),
    }
    .into_signed(&refs)
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("transaction");
    group.throughput(Throughput::Elements(1));
    for signers in [1usize, 2] {
        let tx = notarisation(signers);
        let bytes = tx.encode().to_vec();
        group.bench_function(format!("decode ({} bytes)", bytes.len()), |b| {
            b.iter(|| SignedTx::decode(black_box(&bytes)).unwrap())
        });
        group.bench_function(
            format!("check shape and verify {signers} signature(s)"),
            |b| b.iter(|| black_box(&tx).verify_stateless().unwrap()),
        );
        group.bench_function(
            format!("decode, verify {signers} signature(s), hash"),
            |b| {
                b.iter(|| {
                    let tx = SignedTx::decode(black_box(&bytes)).unwrap();
                    tx.verify_stateless().unwrap();
                    black_box(tx.hash())
                })
            },
        );
    }
    // Admission checks the transactions of a submission or gossip batch together.
    let mut rng =
        <rand_chacha::ChaCha20Rng as rand_chacha::rand_core::SeedableRng>::from_seed([1; 32]);
    for size in [64usize, 256] {
        let keys: Vec<PrivateKey> = (0..size as u64).map(PrivateKey::from_test_seed).collect();
        let txs: Vec<SignedTx> = keys
            .iter()
            .enumerate()
            .map(|(n, key)| {
                let mut tx = notarisation(1);
                tx.body.nonce = n as u64;
                tx.body.into_signed(&[key])
            })
            .collect();
        let refs: Vec<&SignedTx> = txs.iter().collect();
        group.throughput(Throughput::Elements(size as u64));
        group.bench_function(format!("verify {size} signatures in one batch"), |b| {
            b.iter(|| {
                let verdicts = SignedTx::verify_signatures_batch(black_box(&refs), &mut rng);
                assert!(verdicts.iter().all(Result::is_ok));
            })
        });
    }
    // Key decoding is cached; the cost when it is not (a key never seen before).
    group.throughput(Throughput::Elements(1));
    let fresh: Vec<[u8; 32]> = (1_000_000..1_020_000u64)
        .map(|seed| PrivateKey::from_test_seed(seed).public_key().to_bytes())
        .collect();
    let mut next = 0usize;
    group.bench_function("decode a public key not seen before", |b| {
        b.iter(|| {
            let mut raw = fresh[next % fresh.len()];
            next += 1;
            // Vary the key beyond the cache's reach; invalid encodings are rejected as fast.
            raw[2] ^= (next / fresh.len()) as u8;
            black_box(civitas_core::crypto::PublicKey::from_bytes(&raw).is_ok())
        })
    });
    let seen = PrivateKey::from_test_seed(5).public_key().to_bytes();
    group.bench_function("decode a recently seen public key", |b| {
        b.iter(|| civitas_core::crypto::PublicKey::from_bytes(black_box(&seen)).unwrap())
    });
    group.finish();
}

criterion_group!(transaction, benches);
criterion_main!(transaction);
