//! SD-JWT VCs: issuing one (a typical identity-attribute credential, eight disclosable claims,
//! two of them nested), a holder presenting two claims with a key binding, and a verifier
//! checking that presentation; ES256 (what wallets use) and EdDSA issuers. Before the timings
//! it prints the sizes of the issued credential and of the presentation.
//!
//! Run: `cargo bench -p civitas-credentials --bench sdjwt`

use civitas_credentials::keys::SigningKey;
use civitas_credentials::sdjwt::{self, Binding, Issue, KeyBinding, Policy};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Map, Value, json};
use std::hint::black_box;

const NOW: u64 = 1_900_000_000;
const DISCLOSABLE: &[&str] = &[
    "age_over_18",
    "age_over_65",
    "residence",
    "residence.municipality",
    "residence.since",
    "registered_citizen",
    "nationalities.0",
    "document_number",
];

fn claims(holder: &SigningKey) -> Map<String, Value> {
    let Value::Object(map) = json!({
        "iss": "did:web:civitas.example:agencies:finance",
        "iat": NOW - 60,
        "exp": NOW + 365 * 86_400,
        "vct": "https://civitas.example/credentials/identity-attributes",
        "cnf": {"jwk": holder.public().to_jwk()},
        "status": {"status_list": {"idx": 4_711, "uri": "https://civitas.example/v1/credentials/status/finance/identity-attributes"}},
        "age_over_18": true,
        "age_over_65": false,
        "residence": {"municipality": "Riverton", "since": "2019-04-01"},
        "registered_citizen": true,
        "nationalities": ["DE"],
        "document_number": "X4RTBPFW4",
    }) else {
        unreachable!("an object")
    };
    map
}

fn benches(c: &mut Criterion) {
    let holder = SigningKey::generate_p256().expect("a key");
    let policy = Policy {
        typ: Some(sdjwt::VC_TYPS),
        now: NOW,
        leeway_secs: 60,
        key_binding: Some(KeyBinding {
            audience: "https://verifier.example",
            nonce: "nonce-0001",
            max_age_secs: 300,
        }),
    };
    let binding = Binding {
        key: &holder,
        audience: "https://verifier.example",
        nonce: "nonce-0001",
        iat: NOW,
    };
    let mut group = c.benchmark_group("sdjwt");
    group.throughput(Throughput::Elements(1));
    for (name, issuer) in [
        ("es256", SigningKey::generate_p256().expect("a key")),
        ("eddsa", SigningKey::generate_ed25519().expect("a key")),
    ] {
        let spec = Issue {
            typ: "dc+sd-jwt",
            header: Map::new(),
            claims: claims(&holder),
            disclosable: DISCLOSABLE,
            decoys: 3,
        };
        let issued = sdjwt::issue(&issuer, &spec).expect("issued").serialize();
        let shown = sdjwt::present(
            &issued,
            &["age_over_18", "residence.municipality"],
            Some(&binding),
        )
        .expect("presented");
        println!(
            "{name}: issued credential {} bytes, presentation of two claims with key binding {} bytes",
            issued.len(),
            shown.len()
        );
        group.bench_function(format!("issue/{name}"), |b| {
            b.iter(|| sdjwt::issue(&issuer, black_box(&spec)).expect("issued"))
        });
        group.bench_function(format!("present/{name}"), |b| {
            b.iter(|| {
                sdjwt::present(
                    black_box(&issued),
                    &["age_over_18", "residence.municipality"],
                    Some(&binding),
                )
                .expect("presented")
            })
        });
        let key = issuer.public();
        group.bench_function(format!("verify/{name}"), |b| {
            b.iter(|| sdjwt::verify(black_box(&shown), &key, &policy).expect("verified"))
        });
    }
    group.finish();
}

criterion_group!(sdjwt_benches, benches);
criterion_main!(sdjwt_benches);
