//! Personal data end to end, with real processes on 127.0.0.1: a two-agency network, a vault
//! beside each agency, a person's birth certificate sealed in land's vault and registered on the
//! ledger, shared with finance on the person's consent, read by officials of both agencies
//! (each read an entry on the ledger, each entry usable once), the person's download opened
//! with their own key, the consent withdrawn (finance's vault erases its copy), and the record
//! erased (land's vault keeps no byte of it).

mod common;

use common::{
    TestNetwork, json, run_fails as civitas_fails, run_ok as civitas, start_vault, wait_for,
};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A person's data, with words found nowhere else, so a scan finds them if they are left.
const BIRTH: &str =
    r#"{"name":"Zelda Quintessa Marlowe","born":"1990-04-01","place":"Northfield"}"#;

/// Every file under `dir`, with its bytes.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

#[test]
fn a_record_is_sealed_shared_on_consent_read_under_the_log_and_erased() {
    let net = TestNetwork::start("vault", 61, 2);
    let api = net.apis[0].clone();
    let keys = net.dir.join("keys");
    let key = |name: &str| keys.join(format!("{name}.json"));
    let k = |name: &str| key(name).to_string_lossy().into_owned();
    let id_of = |name: &str| -> String {
        let shown = civitas(&["keys", "show", &k(name), "--json"]);
        json(&shown)["account"].as_str().unwrap().to_string()
    };
    for name in [
        "land-records",
        "land-vault",
        "finance-caseworker",
        "finance-vault",
        "ana",
    ] {
        civitas(&["keys", "new", "--out", &k(name), "--label", name]);
    }
    // Officials, the citizen, encryption keys, vaults named.
    for (admin, name, agency, roles) in [
        ("land", "land-records", "land", "records"),
        ("land", "land-vault", "land", "vault"),
        ("finance", "finance-caseworker", "finance", "caseworker"),
        ("finance", "finance-vault", "finance", "vault"),
    ] {
        civitas(&[
            "tx",
            "identity",
            "register-official",
            "--key",
            &k(admin),
            "--node",
            &api,
            "--official-key",
            &k(name),
            "--agency",
            agency,
            "--name",
            name,
            "--roles",
            roles,
        ]);
    }
    civitas(&[
        "tx",
        "identity",
        "register-citizen",
        "--key",
        &k("land"),
        "--node",
        &api,
        "--citizen-key",
        &k("ana"),
    ]);
    for name in ["land-vault", "finance-vault", "ana"] {
        civitas(&[
            "tx",
            "identity",
            "set-encryption-key",
            "--key",
            &k(name),
            "--node",
            &api,
            "--encryption-key",
            &k(name),
        ]);
    }
    let land_port = net.base + 3000;
    let finance_port = net.base + 3001;
    for (admin, vault, port) in [
        ("land", "land-vault", land_port),
        ("finance", "finance-vault", finance_port),
    ] {
        civitas(&[
            "tx",
            "sharing",
            "set-vault",
            "--key",
            &k(admin),
            "--node",
            &api,
            "--account",
            &id_of(vault),
            "--url",
            &format!("http://127.0.0.1:{port}"),
        ]);
    }
    let land_dir = net.tmp.join("land-vault");
    let finance_dir = net.tmp.join("finance-vault");
    let _land = start_vault(&land_dir, &key("land-vault"), &api, land_port);
    let _finance = start_vault(
        &finance_dir,
        &key("finance-vault"),
        &net.apis[1],
        finance_port,
    );

    // Land's records officer seals Ana's birth certificate and registers it.
    let data = net.tmp.join("birth.json");
    std::fs::write(&data, BIRTH).unwrap();
    let put = json(&civitas(&[
        "vault",
        "put",
        "--subject",
        &id_of("ana"),
        "--schema",
        "civil.birth-certificate",
        "--data",
        data.to_str().unwrap(),
        "--basis",
        "records-held-for-a-public-task",
        "--key",
        &k("land-records"),
        "--node",
        &api,
        "--json",
    ]));
    let record = put["record"].as_str().unwrap().to_string();
    // The ledger holds its commitment and holder, never the data.
    let entry = common::get(&format!("{api}/v1/sharing/records/{record}")).unwrap();
    assert_eq!(entry["value"]["holder"], "land");
    assert!(!entry.to_string().contains("Zelda"));

    // Ana downloads what the vaults hold about her, opened with her key.
    let mine = json(&civitas(&[
        "vault",
        "mine",
        "--key",
        &k("ana"),
        "--node",
        &api,
        "--json",
    ]));
    let mine = mine.as_array().unwrap();
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["data"]["name"], "Zelda Quintessa Marlowe");
    assert_eq!(mine[0]["checked"], "against the ledger");
    let salt = mine[0]["subject_salt"].as_str().unwrap().to_string();

    // Finance has no copy: its caseworker's read is refused on the ledger.
    let refused = civitas_fails(&[
        "vault",
        "read",
        &record,
        "--purpose",
        "permit-application",
        "--basis",
        "recipient-uses-shared-copy",
        "--key",
        &k("finance-caseworker"),
        "--node",
        &api,
    ]);
    assert!(refused.contains("(not_authorized)"), "{refused}");

    // Ana consents to finance receiving it for a permit application, for 30 days; finance
    // asks for it.
    let expires = civitas_core::time::TimestampMs(common::now_ms() + 30 * 86_400_000).rfc3339();
    civitas(&[
        "tx",
        "sharing",
        "consent",
        "--record",
        &record,
        "--salt",
        &salt,
        "--recipient",
        "finance",
        "--purpose",
        "permit-application",
        "--expires",
        &expires,
        "--key",
        &k("ana"),
        "--node",
        &api,
    ]);
    civitas(&[
        "tx",
        "sharing",
        "request",
        "--record",
        &record,
        "--purpose",
        "permit-application",
        "--basis",
        "data-subject-consent",
        "--consent",
        "1",
        "--key",
        &k("finance-caseworker"),
        "--node",
        &api,
    ]);
    // Finance's caseworker reads it through finance's vault, which got it from land's and
    // checked it against the ledger.
    let read = json(&civitas(&[
        "vault",
        "read",
        &record,
        "--purpose",
        "permit-application",
        "--basis",
        "recipient-uses-shared-copy",
        "--key",
        &k("finance-caseworker"),
        "--node",
        &net.apis[1],
        "--json",
    ]));
    assert_eq!(read["data"]["name"], "Zelda Quintessa Marlowe");
    assert_eq!(read["holder"], "land");
    // Land's records officer reads the original.
    let read = json(&civitas(&[
        "vault",
        "read",
        &record,
        "--purpose",
        "case-handling",
        "--basis",
        "holder-case-handling",
        "--key",
        &k("land-records"),
        "--node",
        &api,
        "--json",
    ]));
    assert_eq!(read["data"]["born"], "1990-04-01");

    // An access entry opens one read: replaying the request is refused.
    let log = common::get(&format!(
        "{api}/v1/sharing/records/{record}/log?order=oldest"
    ))
    .unwrap();
    let kinds: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "registered",
            "consent_given",
            "shared",
            "accessed",
            "accessed"
        ],
        "{log}"
    );
    let last = &log["items"][4];
    assert_eq!(last["agency"], "land");
    assert_eq!(last["purpose"], "case-handling");
    let access = last["tx"].as_str().unwrap();
    let chain_id = common::get(&format!("{api}/v1/status")).unwrap()["chain_id"]
        .as_str()
        .unwrap()
        .to_string();
    let land_vault = civitas_client::Client::new(&format!("http://127.0.0.1:{land_port}"));
    let as_ = |name: &str| civitas_core::keyfile::read(&key(name)).unwrap();
    let code = |answer: Result<Value, civitas_client::ClientError>| {
        answer.unwrap_err().code().map(str::to_string)
    };
    let reread = format!("/v1/vault/records/{record}?access={access}");
    assert_eq!(
        code(land_vault.signed_json("GET", &reread, &chain_id, &as_("land-records"))).as_deref(),
        Some("entry_used")
    );
    // Another official of the agency cannot use someone else's entry; an official of another
    // agency is not let in at all.
    assert_eq!(
        code(land_vault.signed_json("GET", &reread, &chain_id, &as_("land-vault"))).as_deref(),
        Some("entry_not_yours")
    );
    assert_eq!(
        code(land_vault.signed_json("GET", &reread, &chain_id, &as_("finance-caseworker")))
            .as_deref(),
        Some("not_authorized")
    );
    // Only the vault the ledger names for finance receives finance's copies.
    let share_tx = log["items"][2]["tx"].as_str().unwrap().to_string();
    let share = format!("/v1/vault/shares?tx={share_tx}&record={record}");
    assert_eq!(
        code(land_vault.signed_json("POST", &share, &chain_id, &as_("finance-caseworker")))
            .as_deref(),
        Some("not_their_vault")
    );
    // A body must be the one the signed query names: a well-formed record under the hash of
    // another body is refused for its hash.
    let body = format!(
        r#"{{"subject":"{}","schema":"civil.birth-certificate","data":{{}}}}"#,
        id_of("ana")
    );
    let wrong = format!(
        "/v1/vault/records?sha256={}",
        civitas_core::hash::Hash32::sha256(b"another body")
    );
    let officer = as_("land-records");
    let read = civitas_core::read::SignedRead::sign(
        &chain_id,
        &wrong,
        officer.account(),
        civitas_core::time::TimestampMs(common::now_ms()),
        &[&officer.private_key().unwrap()],
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = agent.post(&format!("http://127.0.0.1:{land_port}{wrong}"));
    for (name, value) in read.headers() {
        request = request.header(name, value);
    }
    let mut answer = request.send(body.as_bytes()).unwrap();
    assert_eq!(answer.status().as_u16(), 400);
    let text = answer.body_mut().read_to_string().unwrap();
    assert!(text.contains("SHA-256"), "{text}");
    // A person's download signed for one vault opens no other.
    assert_eq!(
        code(land_vault.signed_json(
            "GET",
            "/v1/vault/mine?vault=finance",
            &chain_id,
            &as_("ana")
        ))
        .as_deref(),
        Some("bad_request")
    );

    // Finance's copy is Ana's to download too, sealed to her key by finance's vault.
    let theirs = json(&civitas(&[
        "vault",
        "mine",
        "--agency",
        "finance",
        "--key",
        &k("ana"),
        "--node",
        &api,
        "--json",
    ]));
    let theirs = theirs.as_array().unwrap();
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    assert_eq!(theirs[0]["held_by"], "land");
    assert_eq!(theirs[0]["data"]["place"], "Northfield");

    // Ana withdraws her consent: finance's vault erases its copy, and its reads are refused.
    civitas(&[
        "tx",
        "sharing",
        "revoke-consent",
        "1",
        "--key",
        &k("ana"),
        "--node",
        &api,
    ]);
    wait_for(
        "finance's vault to erase its copy",
        Duration::from_secs(30),
        || {
            let mine = json(&civitas(&[
                "vault",
                "mine",
                "--agency",
                "finance",
                "--key",
                &k("ana"),
                "--node",
                &api,
                "--json",
            ]));
            // An erased record is no longer anyone's: the vault gives nothing of it.
            mine.as_array().unwrap().is_empty()
        },
    );
    let refused = civitas_fails(&[
        "vault",
        "read",
        &record,
        "--purpose",
        "permit-application",
        "--basis",
        "recipient-uses-shared-copy",
        "--key",
        &k("finance-caseworker"),
        "--node",
        &api,
    ]);
    assert!(refused.contains("withdrawn"), "{refused}");
    // Land's vault no longer hands the copy over on that share.
    assert_eq!(
        code(land_vault.signed_json("POST", &share, &chain_id, &as_("finance-vault"))).as_deref(),
        Some("consent_lapsed")
    );

    // Ana asks land to erase the record. Only she can ask (an official of another agency is
    // told there is no such record of theirs), and only land's records officers see it.
    let asked = civitas(&[
        "vault",
        "request-erasure",
        &record,
        "--agency",
        "land",
        "--key",
        &k("ana"),
        "--node",
        &api,
    ]);
    assert!(asked.contains("asked land to erase"), "{asked}");
    let erasure = format!("/v1/vault/erasure-requests?vault=land&record={record}");
    assert_eq!(
        code(land_vault.signed_json("POST", &erasure, &chain_id, &as_("finance-caseworker")))
            .as_deref(),
        Some("not_found")
    );
    let waiting = json(&civitas(&[
        "vault",
        "erasure-requests",
        "--key",
        &k("land-records"),
        "--node",
        &api,
        "--json",
    ]));
    assert_eq!(
        waiting["requests"][0]["record"],
        record.as_str(),
        "{waiting}"
    );
    assert_eq!(waiting["requests"][0]["schema"], "civil.birth-certificate");
    assert_eq!(
        code(land_vault.signed_json(
            "GET",
            "/v1/vault/erasure-requests?vault=land",
            &chain_id,
            &as_("ana")
        ))
        .as_deref(),
        Some("not_authorized")
    );
    // Her download says she asked.
    let mine_at_land = || {
        json(&civitas(&[
            "vault",
            "mine",
            "--agency",
            "land",
            "--key",
            &k("ana"),
            "--node",
            &api,
            "--json",
        ]))
    };
    let mine = mine_at_land();
    assert_eq!(mine[0]["record"], record.as_str(), "{mine}");
    assert!(
        mine[0]["erasure_request"]["requested_ms"].is_u64(),
        "{mine}"
    );
    // Land's records officer declines it, on a ground the law gives (a code, never free
    // text); she cannot decline for them; she sees why, and asks again.
    let refused = civitas_fails(&[
        "vault",
        "decline-erasure",
        &record,
        "--reason",
        "we prefer not to",
        "--key",
        &k("land-records"),
        "--node",
        &api,
    ]);
    assert!(refused.contains("legal-obligation"), "{refused}");
    let decline = format!(
        "/v1/vault/erasure-requests/decline?vault=land&record={record}&reason=legal-obligation"
    );
    assert_eq!(
        code(land_vault.signed_json("POST", &decline, &chain_id, &as_("ana"))).as_deref(),
        Some("not_authorized")
    );
    civitas(&[
        "vault",
        "decline-erasure",
        &record,
        "--reason",
        "legal-obligation",
        "--key",
        &k("land-records"),
        "--node",
        &api,
    ]);
    let mine = mine_at_land();
    assert_eq!(
        mine[0]["erasure_request"]["reason"], "legal-obligation",
        "{mine}"
    );
    assert!(
        mine[0]["erasure_request"]["reason_text"]
            .as_str()
            .unwrap()
            .contains("17(3)(b)")
    );
    let waiting = json(&civitas(&[
        "vault",
        "erasure-requests",
        "--key",
        &k("land-records"),
        "--node",
        &api,
        "--json",
    ]));
    assert_eq!(waiting["requests"], serde_json::json!([]), "{waiting}");
    civitas(&[
        "vault",
        "request-erasure",
        &record,
        "--agency",
        "land",
        "--key",
        &k("ana"),
        "--node",
        &api,
    ]);
    let mine = mine_at_land();
    assert!(
        mine[0]["erasure_request"]["declined_ms"].is_null(),
        "{mine}"
    );
    // A browser on any portal may ask (the signature is the only credential): the vault
    // answers a preflight for the signed-read headers.
    let preflight = agent
        .options(&format!(
            "http://127.0.0.1:{land_port}/v1/vault/mine?vault=land"
        ))
        .header("origin", "http://127.0.0.1:8080")
        .header(
            "access-control-request-headers",
            "civitas-account, civitas-time, civitas-signature",
        )
        .call()
        .unwrap();
    assert_eq!(preflight.status().as_u16(), 204);
    assert_eq!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .unwrap(),
        "*"
    );
    assert!(
        preflight.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("civitas-signature")
    );

    // Land erases the record: its vault destroys every key and the ciphertext (byte by byte,
    // `crates/vault/tests/erasure.rs` checks no key is left on disk).
    civitas(&[
        "tx",
        "sharing",
        "erase",
        "--record",
        &record,
        "--basis",
        "erasure-on-request",
        "--key",
        &k("land-records"),
        "--node",
        &api,
    ]);
    wait_for(
        "land's vault to erase the record",
        Duration::from_secs(30),
        || {
            let mine = json(&civitas(&[
                "vault",
                "mine",
                "--agency",
                "land",
                "--key",
                &k("ana"),
                "--node",
                &api,
                "--json",
            ]));
            // An erased record is no longer anyone's: the vault gives nothing of it.
            mine.as_array().unwrap().is_empty()
        },
    );
    // The request went with the record.
    let waiting = json(&civitas(&[
        "vault",
        "erasure-requests",
        "--key",
        &k("land-records"),
        "--node",
        &api,
        "--json",
    ]));
    assert_eq!(waiting["requests"], serde_json::json!([]), "{waiting}");
    // No file of the network (blocks, state, read model, logs) nor of either vault ever held
    // the data in the clear.
    for dir in [&net.dir, &land_dir, &finance_dir] {
        for (path, bytes) in files(dir) {
            for needle in ["Zelda", "Quintessa", "Northfield"] {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                    "{} still holds {needle}",
                    path.display()
                );
            }
        }
    }
}
