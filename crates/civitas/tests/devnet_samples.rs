//! `civitas devnet` as a newcomer runs it: four validators on 127.0.0.1 that seed a believable
//! government on first start — officials, notarised documents, a budget with commitments and
//! payments, tenders at every stage — visible through the API, OCDS output that is valid, and
//! an OpenAPI document that describes it (checked with swagger-parser, from `tests/browser`,
//! which needs Node.js).

mod common;

use common::*;
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

#[test]
fn devnet_seeds_a_budget_payments_and_tenders_on_first_start() {
    let devnet = Devnet::start("samples", 23);
    let (api, dir, tmp) = (&devnet.api, &devnet.dir, &devnet.tmp);
    let status = get(&format!("{api}/v1/status")).unwrap();
    assert!(status["height"].as_u64().unwrap() > 10);
    // The read model follows the seeded chain.
    let seeded = status["height"].as_u64().unwrap();
    wait_for(
        "the read model to reach the seeded height",
        Duration::from_secs(60),
        || {
            get(&format!("{api}/v1/index"))
                .and_then(|s| s["height"].as_u64())
                .is_some_and(|h| h >= seeded)
        },
    );
    let tenders = get(&format!("{api}/v1/procurement/tenders")).unwrap();
    let stages: Vec<&str> = tenders["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["cancelled", "planned", "tendering", "contracted"]);
    let year = get(&format!(
        "{api}/v1/treasury/breakdown/{}/agency",
        this_year()
    ))
    .unwrap();
    let health = year["totals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["value"] == "health")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(health["appropriated"]["text"], "750000.00 EUR");
    assert_eq!(health["committed"]["text"], "80000.00 EUR");
    assert_eq!(health["paid"]["text"], "65000.00 EUR");
    let tender = get(&format!("{api}/v1/procurement/tenders/1")).unwrap();
    assert_eq!(tender["bids"].as_array().unwrap().len(), 2);
    let open = get(&format!("{api}/v1/procurement/tenders/2")).unwrap();
    assert!(
        open["bids"][0]["opening"].is_null(),
        "the open tender's bid stays sealed"
    );
    assert!(dir.join("keys/vendor-medsupply-tender-2.bid.json").exists());
    let releases = tmp.join("releases.json");
    let status = Command::new("curl")
        .args(["-sf", "--max-time", "20", "-o"])
        .arg(&releases)
        .arg(format!("{api}/v1/ocds/releases"))
        .status()
        .unwrap();
    assert!(status.success());
    let verdict = ok(civitas(&["ocds", "validate", releases.to_str().unwrap()]));
    assert!(
        verdict.contains("valid OCDS 1.1 release package"),
        "{verdict}"
    );
    the_served_document_describes_the_seeded_chain(api, tmp);
    the_read_model_rebuilt_answers_as_before(api, dir);
}

/// The lists of the seeded chain, then `civitas index rebuild --wait` on the running node:
/// the rebuilt read model lists the same transactions, events and tenders.
fn the_read_model_rebuilt_answers_as_before(api: &str, dir: &std::path::Path) {
    let lists = || -> Vec<Value> {
        [
            "/v1/transactions?order=oldest&limit=100",
            "/v1/index/events?order=oldest&limit=100",
            "/v1/procurement/tenders?limit=100",
            "/v1/treasury/entries?kind=paid&limit=100",
            "/v1/notary/documents?limit=100",
        ]
        .iter()
        .map(|path| {
            let page = get(&format!("{api}{path}")).unwrap_or_else(|| panic!("{path}"));
            page["items"].clone()
        })
        .collect()
    };
    let before = lists();
    assert!(
        before[0].as_array().unwrap().len() > 20,
        "the seeded chain's transactions are listed"
    );
    let config = dir.join("node0").join("node.toml");
    let said = ok(civitas(&[
        "index",
        "rebuild",
        "--config",
        config.to_str().unwrap(),
        "--wait",
    ]));
    assert!(said.contains("rebuilt to block"), "{said}");
    assert_eq!(
        lists(),
        before,
        "the rebuilt read model answers as the live one did"
    );
    let status = ok(civitas(&[
        "index",
        "status",
        "--config",
        config.to_str().unwrap(),
        "--json",
    ]));
    let status: Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["backend"], "sqlite");
    assert!(status["transactions"].as_u64().unwrap() > 20, "{status}");
    // The same lists from the command line.
    let paid = ok(civitas(&[
        "query",
        "transactions",
        "--action",
        "treasury.pay",
        "--node",
        api,
    ]));
    assert!(paid.contains("treasury.pay"), "{paid}");
}

/// The document the node serves describes what it writes: every block of the seeded chain, the
/// status of every transaction in it, the node's status and state values, each checked against
/// the served schemas by an independent JSON Schema validator (not the generator's code).
fn the_served_document_describes_the_seeded_chain(api: &str, tmp: &std::path::Path) {
    let document = get(&format!("{api}/v1/openapi.json")).expect("the document");
    assert_eq!(document["openapi"], "3.1.0");
    let validator = |name: &str| {
        let schema = serde_json::json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$ref": format!("#/components/schemas/{name}"),
            "components": document["components"],
        });
        jsonschema::draft202012::new(&schema).expect("a valid JSON Schema")
    };
    let check = |validator: &jsonschema::Validator, what: &str, instance: &Value| {
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{what}: {instance}\n{}",
            errors.join("\n")
        );
    };
    // Well under the API's per-client rate (50 a second).
    let fetch = |path: &str| {
        std::thread::sleep(std::time::Duration::from_millis(30));
        get(&format!("{api}{path}")).unwrap_or_else(|| panic!("GET {path}"))
    };
    let status = fetch("/v1/status");
    check(&validator("Status"), "status", &status);
    for (name, path) in [
        ("Health", "/healthz"),
        ("Ready", "/readyz"),
        ("Genesis", "/v1/genesis"),
    ] {
        check(&validator(name), path, &fetch(path));
    }
    let (blocks, statuses) = (validator("Block"), validator("TxStatus"));
    let (mut transactions, mut signer) = (0, None);
    let top = status["height"].as_u64().expect("a height");
    for height in 1..=top {
        let block = fetch(&format!("/v1/blocks/{height}"));
        check(&blocks, &format!("block {height}"), &block);
        for tx in block["transactions"].as_array().expect("transactions") {
            let hash = tx["hash"].as_str().expect("a hash");
            check(&statuses, hash, &fetch(&format!("/v1/transactions/{hash}")));
            transactions += 1;
            signer = signer.or_else(|| tx["body"]["signer"].as_str().map(String::from));
        }
    }
    assert!(transactions > 20, "only {transactions} sample transactions");
    let path = format!("/v1/accounts/{}/nonce", signer.expect("a signer"));
    check(&validator("Nonce"), &path, &fetch(&path));
    // The document itself, by an independent OpenAPI validator.
    let file = tmp.join("openapi.json");
    std::fs::write(&file, document.to_string()).expect("write the document");
    let output = Command::new("node")
        .arg("openapi.check.mjs")
        .arg(&file)
        .current_dir(node_suite())
        .output()
        .expect("node could not be started");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("{top} blocks and {transactions} transactions match the served schemas");
    let values = validator("StateValue");
    for path in [
        format!("/v1/state/treasury/year/{}?proof=true", this_year()),
        "/v1/state/treasury/total/2026/agency/nobody".to_string(),
        "/v1/agencies/finance".to_string(),
        "/v1/epochs/0".to_string(),
    ] {
        check(&values, &path, &fetch(&path));
    }
    // The modules' answers on the seeded records, each against the schema its operation
    // declares for 200.
    let year = this_year();
    let commitment = fetch("/v1/treasury/commitments/1");
    let vendor = commitment["vendor"].as_str().expect("a vendor").to_string();
    let mut answers = 0;
    for path in [
        format!("/v1/treasury/years/{year}"),
        format!("/v1/treasury/totals/{year}"),
        format!("/v1/treasury/totals/{year}/agency/health"),
        format!("/v1/treasury/breakdown/{year}/agency"),
        "/v1/treasury/appropriations/1".to_string(),
        "/v1/treasury/commitments/1".to_string(),
        "/v1/treasury/payments/1".to_string(),
        "/v1/treasury/entries/1".to_string(),
        format!("/v1/treasury/vendors/{vendor}"),
        format!("/v1/treasury/export/{year}/datapackage.json"),
        "/v1/procurement/tenders".to_string(),
        "/v1/procurement/tenders/1".to_string(),
        "/v1/procurement/contracts/1".to_string(),
        "/v1/ocds/releases/1".to_string(),
        "/v1/ocds/records/1".to_string(),
        "/v1/ocds/imported".to_string(),
        "/v1/agencies".to_string(),
        "/v1/governance".to_string(),
        "/v1/policies".to_string(),
        "/v1/policies/1".to_string(),
        "/v1/notices".to_string(),
        "/v1/notices/1".to_string(),
        "/v1/index".to_string(),
        "/v1/blocks?with_transactions=true".to_string(),
        "/v1/transactions?limit=5".to_string(),
        format!("/v1/accounts/{vendor}/transactions"),
        format!("/v1/accounts/{vendor}/events"),
        "/v1/index/events?type=document_anchored".to_string(),
        "/v1/notary/documents?q=tender".to_string(),
        format!("/v1/treasury/entries?kind=paid&vendor={vendor}"),
        "/v1/governance/proposals".to_string(),
    ] {
        let schema = answer_schema(&document, &path);
        let validator = jsonschema::draft202012::new(&serde_json::json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "allOf": [schema],
            "components": document["components"],
        }))
        .expect("a valid JSON Schema");
        check(&validator, &path, &fetch(&path));
        answers += 1;
    }
    eprintln!("{answers} answers of the modules match the served schemas");
}

/// The schema the document declares for a 200 JSON answer of `GET path`, found by matching the
/// path against the document's templates (`{x}` is one segment; a last `{x}` may hold slashes).
fn answer_schema(document: &Value, path: &str) -> Value {
    let path = path.split('?').next().unwrap_or(path);
    let segments: Vec<&str> = path.split('/').collect();
    let paths = document["paths"].as_object().expect("paths");
    let (template, item) = paths
        .iter()
        .filter(|(template, _)| {
            let parts: Vec<&str> = template.split('/').collect();
            let open_ended = parts.last().is_some_and(|p| p.starts_with('{'));
            (parts.len() == segments.len() || (open_ended && segments.len() > parts.len()))
                && parts
                    .iter()
                    .zip(&segments)
                    .all(|(part, segment)| part.starts_with('{') || part == segment)
        })
        // A template of as many segments wins over an open-ended one, then the most literal
        // (`/tenders/{id}` over `/{space}/{id}`).
        .min_by_key(|(template, _)| {
            (
                template.split('/').count() != segments.len(),
                template.matches('{').count(),
            )
        })
        .unwrap_or_else(|| panic!("no operation serves {path}"));
    item["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        .clone()
        .as_object()
        .map(|schema| Value::Object(schema.clone()))
        .unwrap_or_else(|| panic!("{template} declares no JSON answer"))
}

fn this_year() -> i64 {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    civitas_core::time::TimestampMs(ms).civil().0
}
