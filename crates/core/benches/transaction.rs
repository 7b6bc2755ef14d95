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
    group.finish();
}

criterion_group!(transaction, benches);
criterion_main!(transaction);
