//! Issuing, presenting and verifying SD-JWTs made here: what a holder shows is exactly what a
//! verifier sees, and every way of tampering with a credential or a presentation is refused
//! with its code.

mod common;

use civitas_credentials::b64;
use civitas_credentials::keys::SigningKey;
use civitas_credentials::sdjwt::{self, Binding, Disclosure, Issue, Issued, KeyBinding, Policy};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const NOW: u64 = 1_900_000_000;
const AUD: &str = "https://verifier.example";
const NONCE: &str = "n-0S6_WzA2Mj";

fn claims(holder: &SigningKey) -> Map<String, Value> {
    common::claims(holder, NOW)
}

fn issued(issuer: &SigningKey, holder: &SigningKey) -> Issued {
    common::issued(issuer, holder, NOW)
}

fn bound(nonce: &str) -> Policy<'_> {
    Policy {
        typ: Some(sdjwt::VC_TYPS),
        now: NOW,
        leeway_secs: 60,
        key_binding: Some(KeyBinding {
            audience: AUD,
            nonce,
            max_age_secs: 300,
        }),
    }
}

fn binding(holder: &SigningKey) -> Binding<'_> {
    Binding {
        key: holder,
        audience: AUD,
        nonce: NONCE,
        iat: NOW,
    }
}

struct World {
    issuer: SigningKey,
    holder: SigningKey,
    issued: Issued,
}

fn world() -> World {
    let issuer = SigningKey::generate_p256().expect("a key");
    let holder = SigningKey::generate_ed25519().expect("a key");
    let issued = issued(&issuer, &holder);
    World {
        issuer,
        holder,
        issued,
    }
}

fn refused(world: &World, text: &str, policy: &Policy<'_>) -> &'static str {
    match sdjwt::verify(text, &world.issuer.public(), policy) {
        Ok(verified) => panic!("accepted: {:?}", verified.claims),
        Err(error) => error.code(),
    }
}

#[test]
fn a_holder_shows_one_claim_bound_to_the_verifier_and_nothing_else() {
    let w = world();
    let shown = sdjwt::present(
        &w.issued.serialize(),
        &["age_over_18"],
        Some(&binding(&w.holder)),
    )
    .expect("presented");
    let verified = sdjwt::verify(&shown, &w.issuer.public(), &bound(NONCE)).expect("verified");
    assert!(verified.key_bound);
    assert_eq!(verified.disclosed, ["age_over_18"]);
    assert_eq!(verified.claims["age_over_18"], true);
    assert!(!verified.claims.contains_key("residence"));
    // The nationalities' elements, hidden, are gone; their array stays.
    assert_eq!(verified.claims["nationalities"], json!([]));
    // Decoys and undisclosed claims are counted, not told apart: residence and up to two
    // decoys at the top, the two elements (residence's own digests are inside its hidden
    // disclosure).
    assert!(
        (3..=5).contains(&verified.undisclosed),
        "{}",
        verified.undisclosed
    );
    assert_eq!(verified.holder, Some(w.holder.public()));
}

#[test]
fn a_nested_claim_brings_the_claim_that_holds_it() {
    let w = world();
    let shown = sdjwt::present(
        &w.issued.serialize(),
        &["residence.municipality", "nationalities.1"],
        None,
    )
    .expect("presented");
    let verified = sdjwt::verify(
        &shown,
        &w.issuer.public(),
        &Policy {
            key_binding: None,
            ..bound(NONCE)
        },
    )
    .expect("verified");
    assert_eq!(
        verified.claims["residence"],
        json!({"municipality": "Riverton"})
    );
    assert_eq!(verified.claims["nationalities"], json!(["FR"]));
    assert!(!verified.key_bound);
}

#[test]
fn every_tampering_is_refused_with_its_code() {
    let w = world();
    let all = w.issued.serialize();
    let shown = sdjwt::present(&all, &["age_over_18"], Some(&binding(&w.holder))).expect("shown");
    let policy = bound(NONCE);

    // Another issuer's key.
    let stranger = SigningKey::generate_p256().expect("a key");
    assert_eq!(
        sdjwt::verify(&shown, &stranger.public(), &policy).map_err(|e| e.code()),
        Err("bad_signature")
    );
    // A disclosure changed (its value): its digest is in no `_sd`.
    let forged = Disclosure::with_salt("salt-salt-salt", Some("age_over_18"), json!(true));
    let (jwt, _) = all.split_once('~').expect("a tilde");
    assert_eq!(
        refused(
            &w,
            &format!("{jwt}~{}~", forged.encoded),
            &Policy {
                key_binding: None,
                ..bound(NONCE)
            }
        ),
        "disclosure_unused"
    );
    // The same disclosure twice.
    let first = w.issued.disclosures[0].encoded.clone();
    assert_eq!(
        refused(
            &w,
            &format!("{jwt}~{first}~{first}~"),
            &Policy {
                key_binding: None,
                ..bound(NONCE)
            }
        ),
        "disclosure_repeated"
    );
    // A disclosure added after the holder bound the presentation: `sd_hash` no longer
    // matches.
    let (without_kb, kb) = shown.rsplit_once('~').expect("a binding");
    let extra = w
        .issued
        .disclosures
        .iter()
        .find(|d| d.name.as_deref() == Some("residence"))
        .expect("residence");
    assert_eq!(
        refused(&w, &format!("{without_kb}~{}~{kb}", extra.encoded), &policy),
        "key_binding"
    );
    // No binding where one is required.
    assert_eq!(
        refused(&w, &format!("{without_kb}~"), &policy),
        "key_binding_missing"
    );
    // Another verifier's nonce (a replay) or audience.
    assert_eq!(refused(&w, &shown, &bound("another-nonce")), "key_binding");
    let elsewhere = sdjwt::present(
        &all,
        &["age_over_18"],
        Some(&Binding {
            audience: "https://other.example",
            ..binding(&w.holder)
        }),
    )
    .expect("shown");
    assert_eq!(refused(&w, &elsewhere, &policy), "key_binding");
    // Bound by a key that is not the credential's holder key.
    let thief = SigningKey::generate_ed25519().expect("a key");
    let stolen = sdjwt::present(&all, &["age_over_18"], Some(&binding(&thief))).expect("shown");
    assert_eq!(refused(&w, &stolen, &policy), "key_binding");
    // Bound too long ago, or in the future.
    let old = sdjwt::present(
        &all,
        &["age_over_18"],
        Some(&Binding {
            iat: NOW - 3_600,
            ..binding(&w.holder)
        }),
    )
    .expect("shown");
    assert_eq!(refused(&w, &old, &policy), "key_binding");
    let early = sdjwt::present(
        &all,
        &["age_over_18"],
        Some(&Binding {
            iat: NOW + 3_600,
            ..binding(&w.holder)
        }),
    )
    .expect("shown");
    assert_eq!(refused(&w, &early, &policy), "key_binding");
    // Expired, and not yet valid.
    let later = Policy {
        typ: Some(sdjwt::VC_TYPS),
        now: NOW + 2 * 86_400,
        key_binding: None,
        ..bound(NONCE)
    };
    assert_eq!(refused(&w, &all, &later), "expired");
    // A presentation over the size bound.
    let huge = format!("{jwt}~{}~", "A".repeat(70_000));
    assert_eq!(refused(&w, &huge, &policy), "too_large");
}

/// An SD-JWT VC's header.
fn vc_header() -> Map<String, Value> {
    let mut header = Map::new();
    header.insert("typ".into(), json!("dc+sd-jwt"));
    header
}

/// An issuer that breaks the rules (the same digest twice, a disclosure of an element in an
/// object's `_sd`, a disclosed claim the object already has) is refused at verification.
#[test]
fn a_credential_that_breaks_the_digest_rules_is_refused() {
    let issuer = SigningKey::generate_p256().expect("a key");
    let sign = |payload: Value| civitas_credentials::jws::sign(&issuer, vc_header(), &payload);
    let named = Disclosure::with_salt("s1", Some("a"), json!(1));
    let exp = Disclosure::with_salt("s3", Some("exp"), json!(NOW + 60));
    let top_alg = Disclosure::with_salt("s4", Some("_sd_alg"), json!("sha-256"));
    let element = Disclosure::with_salt("s2", None, json!(2));
    let policy = Policy {
        typ: Some(sdjwt::VC_TYPS),
        now: NOW,
        leeway_secs: 0,
        key_binding: None,
    };
    let cases = [
        (
            json!({"_sd": [named.digest()], "b": {"_sd": [named.digest()]}}),
            vec![&named],
            "digest_reused",
        ),
        (
            json!({"_sd": [element.digest()]}),
            vec![&element],
            "disclosure_misplaced",
        ),
        (
            json!({"list": [{"...": named.digest()}]}),
            vec![&named],
            "disclosure_misplaced",
        ),
        (
            json!({"a": 0, "_sd": [named.digest()]}),
            vec![&named],
            "claim_collision",
        ),
        (json!({"_sd": "x"}), vec![], "malformed"),
        (json!({"list": [{"...": 5}]}), vec![], "malformed"),
        // A holder could hide an SD-JWT VC's expiry or status if they were disclosable.
        (
            json!({"_sd": [exp.digest()]}),
            vec![&exp],
            "not_disclosable",
        ),
        (
            json!({"_sd": [top_alg.digest()]}),
            vec![&top_alg],
            "claim_collision",
        ),
        (json!({"_sd_alg": "sha-512"}), vec![], "unsupported"),
        (json!({"exp": "tomorrow"}), vec![], "malformed"),
        (json!({"nbf": NOW + 600}), vec![], "not_yet_valid"),
    ];
    for (payload, disclosures, code) in cases {
        let mut text = format!("{}~", sign(payload.clone()));
        for d in disclosures {
            text.push_str(&d.encoded);
            text.push('~');
        }
        assert_eq!(
            sdjwt::verify(&text, &issuer.public(), &policy).map_err(|e| e.code()),
            Err(code),
            "{payload}"
        );
    }
    // A disclosure naming a reserved claim.
    let reserved = b64::encode(br#"["s", "_sd", 1]"#);
    assert_eq!(
        Disclosure::parse(&reserved).map_err(|e| e.code()),
        Err("claim_collision")
    );
}

#[test]
fn issuing_refuses_paths_that_name_no_claim_and_reserved_names() {
    let issuer = SigningKey::generate_p256().expect("a key");
    let mut spec = Issue {
        typ: "dc+sd-jwt",
        header: Map::new(),
        claims: claims(&issuer),
        disclosable: &["no_such_claim"],
        decoys: 0,
    };
    assert_eq!(
        sdjwt::issue(&issuer, &spec)
            .map(|_| ())
            .map_err(|e| e.code()),
        Err("malformed")
    );
    spec.disclosable = &["residence..since"];
    assert_eq!(
        sdjwt::issue(&issuer, &spec)
            .map(|_| ())
            .map_err(|e| e.code()),
        Err("malformed")
    );
    spec.disclosable = &[];
    spec.claims.insert("_sd".into(), json!([]));
    assert_eq!(
        sdjwt::issue(&issuer, &spec)
            .map(|_| ())
            .map_err(|e| e.code()),
        Err("claim_collision")
    );
}

fn claim_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::from),
        any::<u32>().prop_map(Value::from),
        "[a-zA-Zé ]{0,12}".prop_map(Value::from),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever claims are issued disclosable, whatever subset the holder shows: the verifier
    /// sees the plain claims and exactly the chosen ones, with their values.
    #[test]
    fn a_verifier_sees_exactly_what_the_holder_chose(
        values in proptest::collection::btree_map("[a-z]{1,8}", claim_value(), 1..8),
        hidden in proptest::collection::vec(any::<bool>(), 8),
        shown in proptest::collection::vec(any::<bool>(), 8),
    ) {
        let issuer = SigningKey::generate_ed25519().expect("a key");
        let names: Vec<&String> = values.keys().collect();
        let disclosable: Vec<&str> = names
            .iter()
            .zip(&hidden)
            .filter(|(_, h)| **h)
            .map(|(n, _)| n.as_str())
            .collect();
        let chosen: Vec<&str> = disclosable
            .iter()
            .zip(&shown)
            .filter(|(_, s)| **s)
            .map(|(n, _)| *n)
            .collect();
        let claims: Map<String, Value> = values.clone().into_iter().collect();
        let issued = sdjwt::issue(&issuer, &Issue {
            typ: "dc+sd-jwt",
            header: Map::new(),
            claims,
            disclosable: &disclosable,
            decoys: 1,
        }).expect("issued");
        let text = sdjwt::present(&issued.serialize(), &chosen, None).expect("presented");
        let verified = sdjwt::verify(&text, &issuer.public(), &Policy {
            typ: Some(sdjwt::VC_TYPS),
            now: NOW,
            leeway_secs: 0,
            key_binding: None,
        }).expect("verified");
        for (name, value) in &values {
            let visible = !disclosable.contains(&name.as_str()) || chosen.contains(&name.as_str());
            prop_assert_eq!(verified.claims.get(name), visible.then_some(value), "{}", name);
        }
        let mut disclosed = verified.disclosed.clone();
        disclosed.sort();
        let mut expected: Vec<String> = chosen.iter().map(|s| s.to_string()).collect();
        expected.sort();
        prop_assert_eq!(disclosed, expected);
    }

    /// Flipping any byte of a presentation never panics, and never yields a claim the issuer
    /// did not sign.
    #[test]
    fn a_flipped_byte_is_refused_or_changes_nothing_signed(position in 0usize..4_000, bit in 0u8..8) {
        let issuer = SigningKey::generate_p256().expect("a key");
        let holder = SigningKey::generate_p256().expect("a key");
        let issued = issued(&issuer, &holder);
        let text = issued.serialize();
        let mut bytes = text.clone().into_bytes();
        let at = position % bytes.len();
        bytes[at] ^= 1 << bit;
        let Ok(mutated) = String::from_utf8(bytes) else { return Ok(()) };
        let policy = Policy { typ: Some(sdjwt::VC_TYPS), now: NOW, leeway_secs: 0, key_binding: None };
        if let Ok(verified) = sdjwt::verify(&mutated, &issuer.public(), &policy) {
            let all = sdjwt::verify(&text, &issuer.public(), &policy).expect("the original");
            for (name, value) in &verified.claims {
                prop_assert_eq!(all.claims.get(name), Some(value), "{}", name);
            }
        }
    }
}

/// What is refused beyond the digests: another kind of JWT the issuer signed, a binding
/// without a holder key or of another type, a binding where none is asked (checked, but not
/// counted), issuing an SD-JWT VC whose validity could be hidden, too deep a nesting, and a
/// holder's presentation of a credential built to make its walk explode.
#[test]
fn types_bindings_and_bounds_are_enforced() {
    let w = world();
    let all = w.issued.serialize();
    let unbound = Policy {
        key_binding: None,
        ..bound(NONCE)
    };
    // A JWT of another typ, signed by the same key, is not a credential.
    let status_list = format!(
        "{}~",
        civitas_credentials::jws::sign(
            &w.issuer,
            {
                let mut h = Map::new();
                h.insert("typ".into(), json!("statuslist+jwt"));
                h
            },
            &json!({"iss": "x"})
        )
    );
    assert_eq!(refused(&w, &status_list, &unbound), "unsupported");
    // A binding sent where none is required is checked, and not counted as one.
    let shown = sdjwt::present(&all, &["age_over_18"], Some(&binding(&w.holder))).expect("shown");
    let verified = sdjwt::verify(&shown, &w.issuer.public(), &unbound).expect("verified");
    assert!(!verified.key_bound);
    // A binding of another typ, or signed with another algorithm than the holder key's.
    let (without_kb, _) = shown.rsplit_once('~').expect("a binding");
    let mut header = Map::new();
    header.insert("typ".into(), json!("JWT"));
    let kb_claims = json!({"iat": NOW, "aud": AUD, "nonce": NONCE,
        "sd_hash": b64::sha256(&format!("{without_kb}~"))});
    let wrong_typ = civitas_credentials::jws::sign(&w.holder, header, &kb_claims);
    assert_eq!(
        refused(&w, &format!("{without_kb}~{wrong_typ}"), &bound(NONCE)),
        "key_binding"
    );
    let other_alg = SigningKey::generate_p256().expect("a key");
    let mut header = Map::new();
    header.insert("typ".into(), json!("kb+jwt"));
    let wrong_alg = civitas_credentials::jws::sign(&other_alg, header, &kb_claims);
    assert_eq!(
        refused(&w, &format!("{without_kb}~{wrong_alg}"), &bound(NONCE)),
        "key_binding"
    );
    // No holder key in the credential to check a binding with.
    let mut no_cnf = claims_without_cnf();
    no_cnf.insert("exp".into(), json!(NOW + 60));
    let plain = sdjwt::issue(
        &w.issuer,
        &Issue {
            typ: "dc+sd-jwt",
            header: Map::new(),
            claims: no_cnf,
            disclosable: &["age_over_18"],
            decoys: 0,
        },
    )
    .expect("issued");
    let bound_anyway = sdjwt::present(
        &plain.serialize(),
        &["age_over_18"],
        Some(&binding(&w.holder)),
    )
    .expect("shown");
    assert_eq!(refused(&w, &bound_anyway, &bound(NONCE)), "no_holder_key");
    // An SD-JWT VC's validity, holder key and status are never disclosable.
    for path in ["exp", "cnf", "status", "iss", "vct"] {
        let mut claims = claims(&w.holder);
        claims.insert(
            "status".into(),
            json!({"status_list": {"idx": 1, "uri": "https://x"}}),
        );
        let refused = sdjwt::issue(
            &w.issuer,
            &Issue {
                typ: "dc+sd-jwt",
                header: Map::new(),
                claims,
                disclosable: &[path],
                decoys: 0,
            },
        );
        assert_eq!(
            refused.map(|_| ()).map_err(|e| e.code()),
            Err("not_disclosable"),
            "{path}"
        );
    }
    // Nesting deeper than the bound.
    let mut deep = json!(1);
    for _ in 0..20 {
        deep = json!({"d": deep});
    }
    let too_deep = format!(
        "{}~",
        civitas_credentials::jws::sign(&w.issuer, vc_header(), &json!({"deep": deep}))
    );
    assert_eq!(refused(&w, &too_deep, &unbound), "too_large");
    // More disclosures than the bound.
    let (jwt, _) = all.split_once('~').expect("a tilde");
    let crowded = format!("{jwt}~{}", "WyJhIiwgMV0~".repeat(300));
    assert_eq!(refused(&w, &crowded, &unbound), "too_large");
    // A chain of disclosures, each listing the next digest ten times: a holder's presentation
    // refuses it at once instead of walking 10^15 paths.
    let mut inner = Disclosure::with_salt("leaf", Some("leaf"), json!(1));
    let mut chain = vec![inner.clone()];
    for level in 0..15 {
        let digests: Vec<String> = (0..10).map(|_| inner.digest()).collect();
        inner = Disclosure::with_salt(&format!("s{level}"), Some("n"), json!({"_sd": digests}));
        chain.push(inner.clone());
    }
    let mut bomb =
        civitas_credentials::jws::sign(&w.issuer, vc_header(), &json!({"_sd": [inner.digest()]}));
    bomb.push('~');
    for d in &chain {
        bomb.push_str(&d.encoded);
        bomb.push('~');
    }
    assert_eq!(
        sdjwt::present(&bomb, &["n"], None)
            .map(|_| ())
            .map_err(|e| e.code()),
        Err("digest_reused")
    );
    assert_eq!(refused(&w, &bomb, &unbound), "digest_reused");
}

fn claims_without_cnf() -> Map<String, Value> {
    let mut map = Map::new();
    map.insert(
        "iss".into(),
        json!("did:web:civitas.example:agencies:finance"),
    );
    map.insert(
        "vct".into(),
        json!("https://civitas.example/credentials/age-over-18"),
    );
    map.insert("age_over_18".into(), json!(true));
    map
}
