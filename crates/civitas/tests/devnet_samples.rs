//! `civitas devnet` as a newcomer runs it: four validators on 127.0.0.1 that seed a believable
//! government on first start — officials, notarised documents, a budget with commitments and
//! payments, tenders at every stage — visible through the API, and OCDS output that is valid.

mod common;

use common::*;
use serde_json::Value;
use std::process::Command;

#[test]
fn devnet_seeds_a_budget_payments_and_tenders_on_first_start() {
    let devnet = Devnet::start("samples", 23);
    let (api, dir, tmp) = (&devnet.api, &devnet.dir, &devnet.tmp);
    let status = get(&format!("{api}/v1/status")).unwrap();
    assert!(status["height"].as_u64().unwrap() > 10);
    let tenders = get(&format!("{api}/v1/procurement/tenders")).unwrap();
    let stages: Vec<&str> = tenders["tenders"]
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
}

fn this_year() -> i64 {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    civitas_core::time::TimestampMs(ms).civil().0
}
