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
    the_sample_permits_stand_at_every_stage(api);
    the_served_document_describes_the_seeded_chain(api, tmp);
    the_read_model_rebuilt_answers_as_before(api, dir);
    notifications_reach_the_inbox_the_stream_and_a_webhook(api, dir, tmp);
    flooded_lists_are_refused_and_the_read_model_keeps_up(api);
    the_sample_stall_goes_overdue(api, dir);
}

/// The sample applications stand where the samples leave them: granted, waiting for the
/// applicant, refused and appealed, waiting for the fee, a private permit granted, in a queue;
/// and their fees are revenue.
fn the_sample_permits_stand_at_every_stage(api: &str) {
    let list = get(&format!(
        "{api}/v1/permits/applications?order=oldest&limit=20"
    ))
    .unwrap();
    let standing: Vec<(String, String)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["status"].as_str().unwrap().to_string(),
                a["outcome"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    for expected in [
        ("decided", "approved"),
        ("awaiting_applicant", ""),
        ("appealed", "refused"),
        ("awaiting_fee", ""),
        ("in_progress", ""),
    ] {
        assert!(
            standing
                .iter()
                .any(|(s, o)| (s.as_str(), o.as_str()) == expected),
            "no sample application is {expected:?}: {standing:?}"
        );
    }
    let register = get(&format!("{api}/v1/permits/licences")).unwrap();
    let public: Vec<u64> = register["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["licence"].as_u64().unwrap())
        .collect();
    assert_eq!(
        public,
        [1],
        "the building permit is private, the café's licence public"
    );
    let revenue = get(&format!("{api}/v1/treasury/revenue/{}", this_year())).unwrap();
    assert_eq!(
        revenue["total"]["received"]["text"], "955.00 EUR",
        "{revenue}"
    );
}

/// The stall's one-minute deadline passes with nobody acting: the ledger marks it overdue and
/// escalates it at the end of a block (checked last, while the other checks take their time),
/// and land's head of planning, the type's supervisor, has it in their inbox.
fn the_sample_stall_goes_overdue(api: &str, dir: &std::path::Path) {
    wait_for(
        "the stall's deadline to pass",
        Duration::from_secs(180),
        || {
            get(&format!(
                "{api}/v1/permits/applications?permit_type=street-market-stall&overdue=true"
            ))
            .is_some_and(|page| page["items"][0]["escalated"] == true)
        },
    );
    let key = dir.join("keys/land-planning-head.json");
    let inbox = ok(civitas(&[
        "inbox",
        "--key",
        key.to_str().unwrap(),
        "--node",
        api,
        "--json",
    ]));
    let told: Value = serde_json::from_str(&inbox).unwrap();
    assert!(
        told["items"].as_array().unwrap().iter().any(|n| {
            n["event"]["type"] == "application_overdue"
                && n["event"]["supervisor_role"] == "planning-head"
        }),
        "{inbox}"
    );
}

/// Lists asked for far faster than the read model's connections answer: every answer is a page
/// or a 429 with `Retry-After` (never an error or a hang), and the read model keeps following
/// the chain meanwhile.
fn flooded_lists_are_refused_and_the_read_model_keeps_up(api: &str) {
    let before = get(&format!("{api}/v1/index")).unwrap()["height"]
        .as_u64()
        .unwrap();
    let floods: Vec<_> = (10..18)
        .map(|n| {
            let mut curl = Command::new("curl");
            curl.args(["-s", "--max-time", "60", "--interface"])
                .arg(format!("127.0.0.{n}"))
                .args(["--parallel", "--parallel-max", "16"])
                .args(["-w", "%{http_code} %header{retry-after}\\n"]);
            for i in 0..48 {
                curl.args(["-o", "/dev/null"]).arg(format!(
                    "{api}/v1/index/events?limit=100&order={}",
                    if i % 2 == 0 { "oldest" } else { "newest" }
                ));
            }
            curl.stdout(std::process::Stdio::piped()).spawn().unwrap()
        })
        .collect();
    let mut statuses = std::collections::BTreeMap::<String, usize>::new();
    for flood in floods {
        let output = flood.wait_with_output().unwrap();
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            let (status, retry_after) = line.split_once(' ').unwrap_or((line, ""));
            if status == "429" {
                assert!(
                    retry_after.trim().parse::<u64>().is_ok(),
                    "a 429 without Retry-After: {line}"
                );
            }
            *statuses.entry(status.to_string()).or_default() += 1;
        }
    }
    eprintln!("flooded lists: {statuses:?}");
    assert_eq!(statuses.values().sum::<usize>(), 8 * 48, "{statuses:?}");
    assert!(
        statuses.keys().all(|s| s == "200" || s == "429"),
        "only pages and 429s: {statuses:?}"
    );
    assert!(
        statuses.get("200").copied().unwrap_or(0) > 0,
        "{statuses:?}"
    );
    wait_for(
        "the read model to follow the chain after the flood",
        Duration::from_secs(60),
        || {
            get(&format!("{api}/v1/index")).is_some_and(|s| {
                s["height"].as_u64().unwrap_or(0) > before && s["lag"].as_u64().unwrap_or(99) <= 5
            })
        },
    );
}

/// An official's notifications as an integrator and a person see them: a webhook subscription
/// (made with the CLI) receives the anchoring, signed as Standard Webhooks says (checked by
/// Python's own HMAC); the account's signed event stream sends it live; the inbox lists it
/// unread until it is marked read.
fn notifications_reach_the_inbox_the_stream_and_a_webhook(
    api: &str,
    dir: &std::path::Path,
    tmp: &std::path::Path,
) {
    use std::io::{BufRead as _, Read as _, Write as _};
    // A receiver on 127.0.0.1 (the devnet allows private targets) that records each request.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    let (sent, received) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = sent.send(format!("{head}\r\n{}", String::from_utf8_lossy(&body)));
        }
    });
    let key_path = dir.join("keys/finance-notary.json");
    let key = key_path.to_str().unwrap();
    let subscribe = || -> Value {
        let said = ok(civitas(&[
            "webhooks",
            "subscribe",
            "--url",
            &hook,
            "--module",
            "notary",
            "--type",
            "document_anchored",
            "--key",
            key,
            "--node",
            api,
            "--json",
        ]));
        serde_json::from_str(&said).unwrap()
    };
    let made = subscribe();
    let secret = made["secret"].as_str().unwrap().to_string();
    let subscription = made["webhook"]["id"].as_str().unwrap().to_string();

    // The account's live stream, signed as a read of its path.
    let keyfile =
        civitas_core::keyfile::KeyFile::from_json(&std::fs::read_to_string(&key_path).unwrap())
            .unwrap();
    let account = keyfile.account();
    let path = format!("/v1/accounts/{account}/inbox/stream");
    let chain_id = get(&format!("{api}/v1/status")).unwrap()["chain_id"]
        .as_str()
        .unwrap()
        .to_string();
    let private = keyfile.private_key().unwrap();
    let read = civitas_core::read::SignedRead::sign(
        &chain_id,
        &path,
        account,
        civitas_core::time::TimestampMs(now_ms()),
        &[&private],
    );
    let mut curl = Command::new("curl");
    curl.args(["-sN", "--max-time", "60"]);
    for (name, value) in read.headers() {
        curl.arg("-H").arg(format!("{name}: {value}"));
    }
    let mut stream = curl
        .arg(format!("{api}{path}"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = stream.stdout.take().unwrap();
    let (line_sent, lines) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if line_sent.send(line).is_err() {
                break;
            }
        }
    });
    // Give the stream a moment to start before the anchoring it should report.
    std::thread::sleep(Duration::from_secs(1));
    let document = tmp.join("notified.txt");
    std::fs::write(&document, "a document whose anchoring is notified").unwrap();
    ok(civitas(&[
        "tx",
        "notary",
        "anchor",
        document.to_str().unwrap(),
        "--title",
        "Notified anchoring",
        "--key",
        key,
        "--node",
        api,
    ]));

    // Live: the notification's id, with the anchoring's title.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut id = None;
    while id.is_none() && std::time::Instant::now() < deadline {
        if let Ok(line) = lines.recv_timeout(Duration::from_secs(1))
            && let Some(data) = line.strip_prefix("data:")
        {
            let item: Value = serde_json::from_str(data.trim()).unwrap();
            if item["event"]["title"] == "Notified anchoring" {
                assert_eq!(item["read"], false);
                id = item["id"].as_str().map(str::to_string);
            }
        }
    }
    let _ = stream.kill();
    let _ = stream.wait();
    let id = id.expect("the stream sends the notification");

    // The webhook: one signed delivery, logged under the same id.
    let request = received
        .recv_timeout(Duration::from_secs(30))
        .expect("the webhook is delivered");
    let (head, body) = request.split_once("\r\n\r\n").unwrap();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
            })
            .unwrap_or_else(|| panic!("no {name} header in {head}"))
    };
    let check = Command::new("python3")
        .args([
            "-c",
            "import sys,hmac,hashlib,base64\n\
             secret,msg_id,ts,sig=sys.argv[1:5]\n\
             body=sys.stdin.buffer.read()\n\
             key=base64.b64decode(secret.split('_',1)[1])\n\
             mac=hmac.new(key,msg_id.encode()+b'.'+ts.encode()+b'.'+body,hashlib.sha256).digest()\n\
             ok=any(s=='v1,'+base64.b64encode(mac).decode() for s in sig.split(' '))\n\
             sys.exit(0 if ok else 1)",
            &secret,
            &header("webhook-id"),
            &header("webhook-timestamp"),
            &header("webhook-signature"),
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(body.as_bytes())?;
            child.wait()
        })
        .unwrap();
    assert!(check.success(), "the signature checks in Python: {head}");
    let payload: Value = serde_json::from_str(body).unwrap();
    assert_eq!(payload["type"], "notary.document_anchored");
    assert_eq!(payload["data"]["event_id"], id.as_str());
    let log = ok(civitas(&[
        "webhooks",
        "deliveries",
        &subscription,
        "--key",
        key,
        "--node",
        api,
        "--json",
    ]));
    let log: Value = serde_json::from_str(&log).unwrap();
    assert_eq!(
        log["items"][0]["id"].as_str().unwrap(),
        header("webhook-id")
    );
    assert_eq!(log["items"][0]["status"], "delivered");

    // The secret is shown once: the same subscription again answers without it.
    let again = subscribe();
    assert_eq!(again["webhook"]["id"], subscription.as_str());
    assert!(again.get("secret").is_none(), "{again}");
    // Another key cannot speak for the owner: signed by Alice, naming the notary's account.
    let alice = civitas_core::keyfile::KeyFile::from_json(
        &std::fs::read_to_string(dir.join("keys/citizen-alice.json")).unwrap(),
    )
    .unwrap()
    .private_key()
    .unwrap();
    for (method, path) in [
        ("GET", "/v1/webhooks".to_string()),
        ("GET", format!("/v1/webhooks/{subscription}/deliveries")),
        ("DELETE", format!("/v1/webhooks/{subscription}")),
        (
            "POST",
            format!("/v1/accounts/{account}/inbox/read?through={id}"),
        ),
    ] {
        let forged = civitas_core::read::SignedRead::sign(
            &chain_id,
            &path,
            account,
            civitas_core::time::TimestampMs(now_ms()),
            &[&alice],
        );
        let mut curl = Command::new("curl");
        curl.args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", method]);
        for (name, value) in forged.headers() {
            curl.arg("-H").arg(format!("{name}: {value}"));
        }
        let status = curl.arg(format!("{api}{path}")).output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&status.stdout),
            "403",
            "{method} {path} with another account's name"
        );
    }
    assert_eq!(
        get_signed(api, &chain_id, "/v1/webhooks", &keyfile)["items"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "still there"
    );

    // The inbox: unread until marked read.
    let unread = |json: &str| -> Vec<String> {
        let inbox: Value = serde_json::from_str(json).unwrap();
        inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_str().unwrap().to_string())
            .collect()
    };
    let listed = ok(civitas(&[
        "inbox", "--unread", "--key", key, "--node", api, "--json",
    ]));
    assert!(unread(&listed).contains(&id), "{listed}");
    ok(civitas(&[
        "inbox",
        "--read-through",
        &id,
        "--key",
        key,
        "--node",
        api,
    ]));
    let listed = ok(civitas(&[
        "inbox", "--unread", "--key", key, "--node", api, "--json",
    ]));
    assert!(unread(&listed).is_empty(), "{listed}");
    // Another account's inbox is not this key's to read.
    let other = ok(civitas(&[
        "query",
        "account",
        &account.to_hex(),
        "--node",
        api,
    ]));
    assert!(other.contains("official"), "{other}");
    let refused = civitas(&[
        "inbox",
        "--account",
        &account.to_hex(),
        "--key",
        dir.join("keys/citizen-alice.json").to_str().unwrap(),
        "--node",
        api,
    ]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("not_authorized") || said.contains("not allowed") || said.contains("403"),
        "{said}"
    );
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
        format!("/v1/treasury/revenue/{year}"),
        format!("/v1/treasury/revenue/{year}/entries"),
        format!("/v1/treasury/revenue/{year}/entries/1"),
        "/v1/permits/types".to_string(),
        "/v1/permits/types/business-licence".to_string(),
        "/v1/permits/types/business-licence/versions/1".to_string(),
        "/v1/permits/types/business-licence/statistics".to_string(),
        "/v1/permits/applications?agency=finance&status=in_progress&order=oldest".to_string(),
        "/v1/permits/applications/1".to_string(),
        "/v1/permits/applications/1/timeline".to_string(),
        "/v1/permits/licences".to_string(),
        "/v1/permits/licences/1".to_string(),
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
    civitas_core::time::TimestampMs(now_ms()).civil().0
}

/// GET `path`, signed with `key`, as JSON.
fn get_signed(
    api: &str,
    chain_id: &str,
    path: &str,
    key: &civitas_core::keyfile::KeyFile,
) -> Value {
    let read = civitas_core::read::SignedRead::sign(
        chain_id,
        path,
        key.account(),
        civitas_core::time::TimestampMs(now_ms()),
        &[&key.private_key().unwrap()],
    );
    let mut curl = Command::new("curl");
    curl.args(["-sf", "--max-time", "10"]);
    for (name, value) in read.headers() {
        curl.arg("-H").arg(format!("{name}: {value}"));
    }
    let output = curl.arg(format!("{api}{path}")).output().unwrap();
    assert!(output.status.success(), "GET {path}");
    serde_json::from_slice(&output.stdout).unwrap()
}
