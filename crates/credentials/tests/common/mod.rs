//! The credential the tests issue: a citizen's age and residence, bound to a holder key, valid
//! for a day from `now`, with its claims (one nested, two array elements) disclosable.

use civitas_credentials::keys::SigningKey;
use civitas_credentials::sdjwt::{self, Issue, Issued};
use serde_json::{Map, Value, json};

/// Its claims.
pub fn claims(holder: &SigningKey, now: u64) -> Map<String, Value> {
    let Value::Object(map) = json!({
        "iss": "did:web:civitas.example:agencies:finance",
        "iat": now - 100,
        "exp": now + 86_400,
        "vct": "https://civitas.example/credentials/age-over-18",
        "cnf": {"jwk": holder.public().to_jwk()},
        "age_over_18": true,
        "residence": {"municipality": "Riverton", "since": "2019-04-01"},
        "nationalities": ["DE", "FR"],
    }) else {
        unreachable!("an object")
    };
    map
}

/// It, issued by `issuer`.
pub fn issued(issuer: &SigningKey, holder: &SigningKey, now: u64) -> Issued {
    sdjwt::issue(
        issuer,
        &Issue {
            typ: "dc+sd-jwt",
            header: Map::new(),
            claims: claims(holder, now),
            disclosable: &[
                "age_over_18",
                "residence",
                "residence.municipality",
                "residence.since",
                "nationalities.0",
                "nationalities.1",
            ],
            decoys: 2,
        },
    )
    .expect("issued")
}
