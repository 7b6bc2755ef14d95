//! Public money through the real API and CLI of a 4-validator network on 127.0.0.1: a budget
//! from adoption to the last payment of a tendered contract, every rule refusing what it must,
//! totals equal to the sum of their records and provable offline, OCDS output valid against
//! the 1.1 schema, and the Fiscal Data Package export.

mod common;

use common::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

struct Env {
    net: TestNetwork,
    keys: PathBuf,
}

impl Env {
    fn key(&self, name: &str) -> String {
        self.keys.join(format!("{name}.json")).display().to_string()
    }

    fn api(&self) -> &str {
        &self.net.apis[0]
    }

    fn tx(&self, key: &str, args: &[&str], cosign: Option<&str>) -> Output {
        let mut all: Vec<String> = vec!["tx".into()];
        all.extend(args.iter().map(|s| s.to_string()));
        all.extend([
            "--key".into(),
            self.key(key),
            "--node".into(),
            self.api().into(),
        ]);
        if let Some(c) = cosign {
            all.extend(["--cosign".into(), self.key(c)]);
        }
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        civitas(&refs)
    }

    fn send(&self, key: &str, instruction: Value) -> Output {
        let text = instruction.to_string();
        self.tx(key, &["send", "--instruction", &text], None)
    }

    /// Sends and expects success.
    fn ok(&self, key: &str, instruction: Value) {
        ok(self.send(key, instruction));
    }

    /// Sends and expects the ledger to refuse it with `code`.
    fn refused(&self, key: &str, instruction: Value, code: &str) -> String {
        refused(self.send(key, instruction), code)
    }

    fn get(&self, path: &str) -> Value {
        get(&format!("{}{path}", self.api())).unwrap_or_else(|| panic!("GET {path} failed"))
    }
}

fn refused(output: Output, code: &str) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !output.status.success(),
        "expected {code}, but it succeeded: {text}"
    );
    assert!(text.contains(code), "expected {code}: {text}");
    text
}

fn eur(amount: u64) -> Value {
    json!({ "amount": amount, "currency": "EUR" })
}

fn new_key(dir: &Path, name: &str) {
    let path = dir.join(format!("{name}.json"));
    ok(civitas(&[
        "keys",
        "new",
        "--out",
        path.to_str().unwrap(),
        "--label",
        name,
    ]));
}

fn account(dir: &Path, name: &str) -> String {
    let shown = ok(civitas(&[
        "keys",
        "show",
        dir.join(format!("{name}.json")).to_str().unwrap(),
        "--json",
    ]));
    let value: Value = serde_json::from_str(&shown).unwrap();
    value["account"].as_str().unwrap().to_string()
}

fn post_json(url: &str, body: &Path) -> Value {
    let output = Command::new("curl")
        .args([
            "-sf",
            "--max-time",
            "20",
            "-H",
            "content-type: application/json",
        ])
        .arg("--data-binary")
        .arg(format!("@{}", body.display()))
        .arg(url)
        .output()
        .unwrap();
    assert!(output.status.success(), "POST {url} failed");
    serde_json::from_slice(&output.stdout).unwrap()
}

fn download(url: &str, to: &Path) {
    let status = Command::new("curl")
        .args(["-sf", "--max-time", "20", "-o"])
        .arg(to)
        .arg(url)
        .status()
        .unwrap();
    assert!(status.success(), "GET {url} failed");
}

#[test]
fn public_money_from_budget_to_last_payment_through_the_api() {
    let net = TestNetwork::start("money", 17, 4);
    let keys = net.dir.join("keys");
    let env = Env {
        keys: keys.clone(),
        net,
    };
    for name in [
        "budget",
        "treasurer",
        "treasurer-2",
        "buyer",
        "evaluator",
        "acme",
        "bolt",
    ] {
        new_key(&keys, name);
    }
    for (admin, official, agency, roles) in [
        ("finance", "budget", "finance", "budget"),
        ("health", "treasurer", "health", "treasurer"),
        ("health", "treasurer-2", "health", "treasurer"),
        ("health", "buyer", "health", "procurement,notary"),
        ("health", "evaluator", "health", "evaluator"),
    ] {
        let official_key = env.key(official);
        ok(env.tx(
            admin,
            &[
                "identity",
                "register-official",
                "--official-key",
                &official_key,
                "--agency",
                agency,
                "--name",
                official,
                "--roles",
                roles,
            ],
            None,
        ));
    }
    for business in ["acme", "bolt"] {
        let citizen_key = env.key(business);
        ok(env.tx(
            "health",
            &[
                "identity",
                "register-citizen",
                "--citizen-key",
                &citizen_key,
            ],
            None,
        ));
        // The vendor co-signs its own registration (protocol 3): its name is published.
        let register = json!({"module": "treasury", "op": "register_vendor",
               "account": account(&keys, business),
               "name": format!("{business} Construction"), "registration": format!("RC-{business}")});
        env.refused("buyer", register.clone(), "vendor_must_sign");
        ok(env.tx(
            "buyer",
            &["send", "--instruction", &register.to_string()],
            Some(business),
        ));
    }

    // The budget: adopted by the finance authority only, allotted, never exceeded.
    let open_year = json!({"module": "treasury", "op": "open_year", "year": 2026,
                           "currency": "EUR", "procurement_threshold": 10_000_000});
    env.refused("treasurer", open_year.clone(), "not_authorized");
    env.ok("budget", open_year);
    env.ok(
        "budget",
        json!({"module": "treasury", "op": "appropriate", "year": 2026, "agency": "health",
               "programme": "hospitals", "classification": "capital-works",
               "purpose": "Rural clinic programme", "amount": eur(30_000_000)}),
    );
    env.ok(
        "budget",
        json!({"module": "treasury", "op": "allot", "appropriation": 1, "direction": "increase",
               "amount": eur(20_000_000), "reason": "works season"}),
    );
    let message = env.refused(
        "budget",
        json!({"module": "treasury", "op": "allot", "appropriation": 1, "direction": "increase",
               "amount": eur(20_000_000), "reason": "too much"}),
        "exceeds_appropriation",
    );
    assert!(
        message.contains("100000.00 EUR above the 300000.00 EUR appropriated"),
        "{message}"
    );

    // A direct commitment and payments: two treasurers above 50,000.00.
    let acme = account(&keys, "acme");
    env.ok(
        "treasurer",
        json!({"module": "treasury", "op": "commit", "appropriation": 1, "vendor": acme,
               "amount": eur(6_000_000), "description": "Site survey and design"}),
    );
    let pay = json!({"module": "treasury", "op": "pay", "commitment": 1,
                     "amount": eur(6_000_000), "reference": "INV-2026-001"});
    env.refused("treasurer", pay.clone(), "two-treasurers-above-threshold");
    // The same payment from the treasury's own command, co-signed by a second treasurer.
    ok(env.tx(
        "treasurer",
        &[
            "treasury",
            "pay",
            "--commitment",
            "1",
            "--amount",
            "60000.00 EUR",
            "--reference",
            "INV-2026-001",
        ],
        Some("treasurer-2"),
    ));
    env.refused(
        "treasurer",
        json!({"module": "treasury", "op": "pay", "commitment": 1,
               "amount": eur(1), "reference": "INV-2026-002"}),
        "exceeds_commitment",
    );

    // The tender: notarised documents, a deadline, sealed bids.
    let terms = keys.join("tender-terms.txt");
    std::fs::write(&terms, "Rural clinic: terms of reference\n").unwrap();
    ok(env.tx(
        "buyer",
        &[
            "notary",
            "anchor",
            terms.to_str().unwrap(),
            "--title",
            "Rural clinic terms",
        ],
        None,
    ));
    let terms_hash = civitas_core::hash::Hash32::sha256(b"Rural clinic: terms of reference\n");
    env.ok(
        "buyer",
        json!({"module": "procurement", "op": "plan", "appropriation": 1,
               "title": "Rural clinic", "description": "Two-room clinic with solar roof",
               "estimated": eur(13_000_000), "method": "open"}),
    );
    let deadline = now_ms() + 25_000;
    env.ok(
        "buyer",
        json!({"module": "procurement", "op": "publish", "tender": 1,
               "documents": [terms_hash.to_hex()], "deadline": deadline,
               "criteria": [{"name": "price", "weight": 60}, {"name": "quality", "weight": 40}],
               "committee": [account(&keys, "evaluator")], "standstill_days": 0}),
    );
    let proposal = keys.join("proposal.txt");
    std::fs::write(&proposal, "Our offer\n").unwrap();
    for (bidder, price) in [("acme", "120000.00"), ("bolt", "125000.00")] {
        let secret = keys.join(format!("{bidder}.bid.json"));
        ok(env.tx(
            bidder,
            &[
                "procurement",
                "bid",
                "--tender",
                "1",
                "--price",
                price,
                "--currency",
                "EUR",
                "--proposal",
                proposal.to_str().unwrap(),
                "--secret",
                secret.to_str().unwrap(),
            ],
            None,
        ));
    }
    // A sealed bid cannot be changed.
    let again = keys.join("acme-again.bid.json");
    refused(
        env.tx(
            "acme",
            &[
                "procurement",
                "bid",
                "--tender",
                "1",
                "--price",
                "1.00",
                "--currency",
                "EUR",
                "--proposal",
                proposal.to_str().unwrap(),
                "--secret",
                again.to_str().unwrap(),
            ],
            None,
        ),
        "bid_exists",
    );
    let open = |bidder: &str| {
        let secret = keys.join(format!("{bidder}.bid.json"));
        env.tx(
            bidder,
            &["procurement", "open", "--secret", secret.to_str().unwrap()],
            None,
        )
    };
    refused(open("acme"), "before_deadline");
    wait_for("the bid deadline", Duration::from_secs(60), || {
        now_ms() > deadline + 2_000
    });
    // No bid after the deadline.
    refused(
        env.tx(
            "acme",
            &[
                "send",
                "--instruction",
                &json!({"module": "procurement", "op": "bid", "tender": 1,
                        "commitment": terms_hash.to_hex(), "sealed": []})
                .to_string(),
            ],
            None,
        ),
        "late_bid",
    );
    // An altered opening is refused; the real one opens.
    let secret: Value =
        serde_json::from_str(&std::fs::read_to_string(keys.join("acme.bid.json")).unwrap())
            .unwrap();
    let mut altered = json!({"module": "procurement", "op": "open", "tender": 1,
                             "bidder": acme, "price": eur(11_000_000),
                             "proposal": secret["proposal"], "salt": secret["salt"]});
    env.refused("acme", altered.clone(), "opening_mismatch");
    altered["price"] = secret["price"].clone();
    env.ok("acme", altered);
    ok(open("bolt"));

    let bolt = account(&keys, "bolt");
    for (bidder, scores) in [(&acme, [90, 80]), (&bolt, [85, 70])] {
        let evaluation = json!({"module": "procurement", "op": "evaluate", "tender": 1,
                                "bidder": bidder, "scores": scores,
                                "justification": "meets the terms of reference"});
        env.refused("buyer", evaluation.clone(), "not_on_committee");
        env.ok("evaluator", evaluation);
    }
    let award = json!({"module": "procurement", "op": "award", "tender": 1, "bidder": acme,
                       "justification": "highest weighted score"});
    env.refused("treasurer", award.clone(), "not_on_committee");
    // The committee member awards with the procurement module's own command.
    ok(env.tx(
        "evaluator",
        &[
            "procurement",
            "award",
            "--tender",
            "1",
            "--bidder",
            &acme,
            "--justification",
            "highest weighted score",
        ],
        None,
    ));
    // With no standstill (days are the unit; the in-memory tests cover complaints during
    // one), a complaint after the award is already too late.
    env.refused(
        "bolt",
        json!({"module": "procurement", "op": "complain", "tender": 1,
               "text": "our quality score ignores our certificate"}),
        "standstill_over",
    );
    env.ok(
        "buyer",
        json!({"module": "procurement", "op": "sign", "tender": 1, "milestones": [
            {"title": "Foundations", "amount": eur(4_000_000), "due": deadline + 86_400_000},
            {"title": "Handover", "amount": eur(8_000_000), "due": deadline + 172_800_000}]}),
    );
    // A payment of a milestone needs its acceptance; the large one a treasurer too.
    env.ok(
        "buyer",
        json!({"module": "procurement", "op": "accept", "contract": 1, "milestone": 0,
               "note": "inspected on site"}),
    );
    let accept = json!({"module": "procurement", "op": "accept", "contract": 1, "milestone": 1,
                        "note": "handover signed"});
    env.refused(
        "buyer",
        accept.clone(),
        "treasurer-cosigns-large-acceptance",
    );
    ok(env.tx(
        "buyer",
        &[
            "procurement",
            "accept",
            "--contract",
            "1",
            "--milestone",
            "1",
            "--note",
            "handover signed",
        ],
        Some("treasurer"),
    ));

    // Totals: each equals the sum of the records behind it, and is provable offline.
    let year = env.get("/v1/treasury/totals/2026?limit=500");
    let total = &year["total"];
    assert_eq!(total["appropriated"]["amount"], 30_000_000);
    assert_eq!(total["allotted"]["amount"], 20_000_000);
    assert_eq!(total["committed"]["amount"], 18_000_000);
    assert_eq!(total["paid"]["amount"], 18_000_000);
    assert_eq!(year["more"], false);
    for (figure, value) in [
        ("appropriated", 30_000_000),
        ("allotted", 20_000_000),
        ("committed", 18_000_000),
        ("paid", 18_000_000),
    ] {
        assert_eq!(year["records_sum"][figure], value.to_string(), "{figure}");
    }
    let vendor = env.get(&format!("/v1/treasury/totals/2026/vendor/{acme}"));
    assert_eq!(vendor["total"]["paid"]["amount"], 18_000_000);
    assert_eq!(vendor["records"].as_array().unwrap().len(), 6);
    let by_agency = env.get("/v1/treasury/breakdown/2026/agency");
    assert_eq!(by_agency["totals"][0]["value"], "health");
    let table = ok(civitas(&[
        "query",
        "spending",
        "2026",
        "--by",
        "agency",
        "--node",
        env.api(),
    ]));
    assert!(
        table.lines().any(|l| l.starts_with("health")
            && l.contains("300000.00 EUR")
            && l.contains("180000.00 EUR")),
        "{table}"
    );
    let tender_text = ok(civitas(&["query", "tender", "1", "--node", env.api()]));
    assert!(
        tender_text.contains("signal:     short_tender_period"),
        "{tender_text}"
    );
    assert!(
        tender_text.contains("accepted, paid (payment 3)"),
        "{tender_text}"
    );
    let bundle = env.net.tmp.join("total.cvpb");
    let proof = format!("{}{}", env.api(), total["proof_bundle"].as_str().unwrap());
    download(&proof, &bundle);
    let genesis = env.net.dir.join("genesis.json");
    let verified = ok(civitas(&[
        "verify",
        bundle.to_str().unwrap(),
        "--genesis",
        genesis.to_str().unwrap(),
    ]));
    assert!(verified.contains("VALID"), "{verified}");
    let python = python_verify(&bundle, &genesis);
    assert!(python.status.success(), "{python:?}");

    // The tender with its signals, and OCDS valid against the 1.1 schema.
    let tender = env.get("/v1/procurement/tenders/1");
    assert_eq!(tender["tender"]["stage"], "contracted");
    let signals: Vec<&str> = tender["tender"]["award"]["signals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect();
    assert_eq!(signals, ["short_tender_period"]);
    let releases = env.net.tmp.join("releases.json");
    download(&format!("{}/v1/ocds/releases/1", env.api()), &releases);
    let verdict = post_json(&format!("{}/v1/ocds/validate", env.api()), &releases);
    assert_eq!(verdict["valid"], true, "{verdict}");
    let record = env.get("/v1/ocds/records/1");
    let compiled = &record["records"][0]["compiledRelease"];
    assert_eq!(compiled["ocid"], "ocds-civitas-civitas-devnet-1");
    assert_eq!(compiled["awards"][0]["status"], "active");
    assert_eq!(
        compiled["contracts"][0]["implementation"]["transactions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let broken = env.net.tmp.join("broken.json");
    std::fs::write(&broken, r#"{"uri": "x", "releases": []}"#).unwrap();
    let verdict = post_json(&format!("{}/v1/ocds/validate", env.api()), &broken);
    assert_eq!(verdict["valid"], false);
    assert!(
        verdict["issues"].as_array().unwrap().len() >= 3,
        "{verdict}"
    );
    let refusal = civitas(&["ocds", "validate", broken.to_str().unwrap()]);
    let text = refused(refusal, "not a valid OCDS 1.1 release package");
    assert!(text.contains("/releases:"), "{text}");

    // Import: the same process published elsewhere comes in as history, release by release,
    // and compiles to the same record.
    let own = "ocds-civitas-civitas-devnet-1";
    let other = "ocds-213czf-000-00001";
    let package = std::fs::read_to_string(&releases)
        .unwrap()
        .replace(own, other);
    let history = env.net.tmp.join("history.json");
    std::fs::write(&history, package).unwrap();
    let buyer_key = env.key("buyer");
    let import = |key: &str| {
        civitas(&[
            "ocds",
            "import",
            history.to_str().unwrap(),
            "--key",
            key,
            "--node",
            env.api(),
        ])
    };
    let done = ok(import(&buyer_key));
    assert!(done.contains("imported 6 release(s)"), "{done}");
    let again = ok(import(&buyer_key));
    assert!(again.contains("6 were already on the ledger"), "{again}");
    refused(import(&env.key("treasurer")), "not_authorized");
    let imported = env.get(&format!("/v1/ocds/imported/{other}"));
    let mut theirs = imported["record"]["compiledRelease"].clone();
    let mut ours = compiled.clone();
    for release in [&mut theirs, &mut ours] {
        let map = release.as_object_mut().unwrap();
        for field in ["ocid", "id"] {
            map.remove(field);
        }
    }
    let ours = serde_json::to_string(&ours).unwrap().replace(own, other);
    assert_eq!(serde_json::to_string(&theirs).unwrap(), ours);
    assert_eq!(env.get("/v1/ocds/imported")["processes"][0]["ocid"], other);

    // The Fiscal Data Package export: a descriptor and CSVs whose lines add up.
    let descriptor = env.get("/v1/treasury/export/2026/datapackage.json");
    assert_eq!(descriptor["profile"], "fiscal-data-package");
    let entries = env.net.tmp.join("entries.csv");
    download(
        &format!("{}/v1/treasury/export/2026/entries.csv", env.api()),
        &entries,
    );
    let csv = std::fs::read_to_string(&entries).unwrap();
    let paid: f64 = csv
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(2) == Some("paid"))
        .map(|l| l.split(',').nth(13).unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(paid, 180_000.0);
    let budget = env.net.tmp.join("budget.csv");
    download(
        &format!("{}/v1/treasury/export/2026/budget.csv", env.api()),
        &budget,
    );
    let budget = std::fs::read_to_string(&budget).unwrap();
    assert!(
        budget.contains(",EUR,300000.00,200000.00,180000.00,180000.00"),
        "{budget}"
    );
}
