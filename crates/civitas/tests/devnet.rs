//! End-to-end tests with real `civitas` processes on 127.0.0.1.
//!
//! A 4-validator network notarises documents through the API and the CLI, survives `kill -9`
//! of a validator under load, catches the restarted validator up, and produces proof bundles
//! that `civitas verify` accepts offline (and rejects once altered).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Loads the reference verifier and checks that flipping any one byte of a bundle makes it fail,
/// even when the forger also recomputes the trailing checksum (so the cryptography is tested,
/// not just the checksum).
const FLIP_EVERY_BYTE: &str = r#"
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("reference", sys.argv[1])
reference = importlib.util.module_from_spec(spec)
spec.loader.exec_module(reference)
data = open(sys.argv[2], "rb").read()
genesis = json.load(open(sys.argv[3]))
reference.verify(data, genesis)
body = data[:-32]
for i in range(len(body)):
    altered = bytearray(body)
    altered[i] ^= 0x01
    forged = bytes(altered) + reference.tagged(b"civitas/bundle", bytes(altered))
    try:
        reference.verify(forged, genesis)
    except reference.Invalid:
        continue
    sys.exit("flipping byte %d left the bundle valid" % i)
"#;

mod common;
use common::*;

fn write_document(dir: &Path, n: u32) -> PathBuf {
    let path = dir.join(format!("document-{n}.txt"));
    std::fs::write(&path, format!("official document number {n}\n")).unwrap();
    path
}

#[test]
fn devnet_notarises_survives_kill_and_proves_offline() {
    let mut network = TestNetwork::start("e2e", 1, VALIDATORS);
    let (tmp, dir, apis) = (
        network.tmp.clone(),
        network.dir.clone(),
        network.apis.clone(),
    );
    let genesis = dir.join("genesis.json");

    // The finance admin registers a notary official through the CLI.
    let notary = tmp.join("notary.json");
    ok(civitas(&["keys", "new", "--out", notary.to_str().unwrap()]));
    let admin = dir.join("keys/finance.json");
    ok(civitas(&[
        "tx",
        "identity",
        "register-official",
        "--key",
        admin.to_str().unwrap(),
        "--official-key",
        notary.to_str().unwrap(),
        "--agency",
        "finance",
        "--name",
        "Test Notary",
        "--roles",
        "notary",
        "--node",
        &apis[1],
    ]));

    // Notarise documents through different nodes.
    let docs: Vec<PathBuf> = (0..12).map(|n| write_document(&tmp, n)).collect();
    for (n, doc) in docs.iter().enumerate().take(4) {
        let out = ok(civitas(&[
            "tx",
            "notary",
            "anchor",
            doc.to_str().unwrap(),
            "--title",
            &format!("Document {n}"),
            "--key",
            notary.to_str().unwrap(),
            "--node",
            &apis[n % VALIDATORS],
        ]));
        assert!(out.contains("finalized"), "{out}");
    }

    // kill -9 validator 2 and keep notarising through the others.
    network.nodes.kill(2);
    for (n, doc) in docs.iter().enumerate().skip(4) {
        let node = [0, 1, 3][n % 3];
        ok(civitas(&[
            "tx",
            "notary",
            "anchor",
            doc.to_str().unwrap(),
            "--title",
            &format!("Document {n}"),
            "--key",
            notary.to_str().unwrap(),
            "--node",
            &apis[node],
        ]));
    }
    let target = height(&apis[0]);

    // Restart it: it catches up from its peers, which `civitas node catch-up` follows.
    network.nodes.start(2);
    wait_for("the restarted API", Duration::from_secs(60), || {
        get(&format!("{}/healthz", apis[2])).is_some()
    });
    let progress = ok(civitas(&[
        "node",
        "catch-up",
        "--node",
        &apis[2],
        "--timeout",
        "120",
    ]));
    assert!(progress.contains("caught up"), "{progress}");
    wait_for(
        "the restarted validator to catch up",
        Duration::from_secs(120),
        || height(&apis[2]) >= target,
    );

    // All validators hold the same block (and so the same state root) at a common height.
    let common = apis.iter().map(|a| height(a)).min().unwrap();
    let blocks: Vec<Value> = apis
        .iter()
        .map(|a| get(&format!("{a}/v1/blocks/{common}")).expect("block"))
        .collect();
    for block in &blocks[1..] {
        assert_eq!(block["digest"], blocks[0]["digest"]);
        assert_eq!(
            block["header"]["state_root"],
            blocks[0]["header"]["state_root"]
        );
    }

    // Every document is notarised, as seen from the restarted validator.
    for doc in &docs {
        let out = ok(civitas(&[
            "query",
            "notary",
            doc.to_str().unwrap(),
            "--node",
            &apis[2],
            "--json",
        ]));
        let value: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(value["found"], true);
    }

    // A bundle from the restarted validator verifies offline; an altered one does not.
    let bundle = tmp.join("document.cvpb");
    ok(civitas(&[
        "proof",
        "notary",
        docs[7].to_str().unwrap(),
        "--node",
        &apis[2],
        "--out",
        bundle.to_str().unwrap(),
    ]));
    let verdict = ok(civitas(&[
        "verify",
        bundle.to_str().unwrap(),
        "--genesis",
        genesis.to_str().unwrap(),
        "--file",
        docs[7].to_str().unwrap(),
    ]));
    assert!(verdict.starts_with("VALID"), "{verdict}");
    let mut bytes = std::fs::read(&bundle).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    let tampered = tmp.join("tampered.cvpb");
    std::fs::write(&tampered, &bytes).unwrap();
    let output = civitas(&[
        "verify",
        tampered.to_str().unwrap(),
        "--genesis",
        genesis.to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("INVALID"));

    // The bundle does not vouch for a different file.
    let output = civitas(&[
        "verify",
        bundle.to_str().unwrap(),
        "--genesis",
        genesis.to_str().unwrap(),
        "--file",
        docs[8].to_str().unwrap(),
    ]);
    assert!(!output.status.success());

    // An absence bundle verifies too.
    let absent = tmp.join("absent.cvpb");
    ok(civitas(&[
        "proof",
        "notary",
        &"ab".repeat(32),
        "--node",
        &apis[0],
        "--out",
        absent.to_str().unwrap(),
    ]));
    let verdict = ok(civitas(&[
        "verify",
        absent.to_str().unwrap(),
        "--genesis",
        genesis.to_str().unwrap(),
    ]));
    assert!(verdict.contains("no document"), "{verdict}");

    // So does a transaction bundle, and a state bundle.
    let status = ok(civitas(&[
        "query",
        "notary",
        docs[3].to_str().unwrap(),
        "--node",
        &apis[1],
        "--json",
    ]));
    let tx_hash = serde_json::from_str::<Value>(&status).unwrap()["value"]["tx"]
        .as_str()
        .unwrap()
        .to_string();
    let tx_bundle = tmp.join("tx.cvpb");
    ok(civitas(&[
        "proof",
        "tx",
        &tx_hash,
        "--node",
        &apis[3],
        "--out",
        tx_bundle.to_str().unwrap(),
    ]));
    let verdict = ok(civitas(&[
        "verify",
        tx_bundle.to_str().unwrap(),
        "--genesis",
        genesis.to_str().unwrap(),
    ]));
    assert!(
        verdict.contains(&format!("transaction {tx_hash} signed by")),
        "{verdict}"
    );
    assert!(verdict.contains("it succeeded"), "{verdict}");
    assert!(verdict.contains("receipt roots prove this"), "{verdict}");
    let agency_bundle = tmp.join("agency.cvpb");
    ok(civitas(&[
        "proof",
        "state",
        "identity/agency",
        "finance",
        "--node",
        &apis[1],
        "--out",
        agency_bundle.to_str().unwrap(),
    ]));

    // The independent verifier written from docs/PROOFS.md (Python, standard library only)
    // reaches the same verdicts, and rejects every single-byte change of a transaction bundle.
    let reference = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/verify_bundle.py");
    let python = |bundle: &Path| python_verify(bundle, &genesis);
    for good in [&bundle, &absent, &tx_bundle, &agency_bundle] {
        let output = python(good);
        assert!(
            output.status.success(),
            "{}: {}",
            good.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert!(!python(&tampered).status.success());
    let flips = Command::new("python3")
        .arg("-c")
        .arg(FLIP_EVERY_BYTE)
        .arg(&reference)
        .arg(&tx_bundle)
        .arg(&genesis)
        .output()
        .unwrap();
    assert!(
        flips.status.success(),
        "{}{}",
        String::from_utf8_lossy(&flips.stdout),
        String::from_utf8_lossy(&flips.stderr)
    );

    drop(network);
}

#[test]
fn api_errors_are_json_with_stable_codes() {
    let tmp = std::env::temp_dir().join(format!("civitas-api-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let dir = tmp.join("devnet");
    let base = free_base_port(2);
    ok(civitas(&[
        "devnet",
        "--init-only",
        "--validators",
        "1",
        "--dir",
        dir.to_str().unwrap(),
        "--base-port",
        &base.to_string(),
    ]));
    let mut nodes = Nodes {
        dir: dir.clone(),
        children: vec![None],
    };
    nodes.start(0);
    let api = format!("http://127.0.0.1:{base}");
    wait_for("a single-validator chain", Duration::from_secs(120), || {
        height(&api) >= 1
    });

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let call = |method: &str, path: &str, body: &str| -> (u16, Value) {
        let url = format!("{api}{path}");
        let mut response = if method == "POST" {
            agent
                .post(&url)
                .header("content-type", "application/json")
                .send(body)
                .unwrap()
        } else {
            agent.get(&url).call().unwrap()
        };
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    };
    let (status, body) = call("POST", "/v1/transactions", "{\"transaction\": \"zz\"}");
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "bad_request");
    let (status, body) = call("POST", "/v1/transactions", "{\"transaction\": \"00\"}");
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("malformed")
    );
    let (status, body) = call("GET", "/v1/transactions/1234", "");
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "bad_request");
    let (status, body) = call(
        "GET",
        &format!("/v1/notary/documents/{}", "cd".repeat(32)),
        "",
    );
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
    let (status, body) = call("GET", "/v1/nope", "");
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
    // A body just over the 64 KiB limit, sent whole in one write and read back on a raw
    // connection: the node answers 413 once it has read past the limit. (A much larger body
    // races: the node answers and closes while the client is still writing.)
    {
        use std::io::{Read, Write};
        let body = format!("{{\"transaction\": \"{}\"}}", "0".repeat(64 * 1024));
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", base)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let request = format!(
            "POST /v1/transactions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(request.as_bytes());
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(answer.contains("\"too_large\""), "a JSON error: {answer}");
    }
    let openapi = get(&format!("{api}/v1/openapi.json")).expect("openapi");
    assert_eq!(openapi["openapi"], "3.1.0");
    assert!(get(&format!("{api}/healthz")).is_some());
    let (status, body) = call("GET", "/readyz", "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ready"], true);
    let metrics = civitas_client::Client::new(&api)
        .get_bytes("/metrics")
        .expect("metrics");
    let metrics = String::from_utf8(metrics).unwrap();
    for name in [
        "civitas_block_height",
        "civitas_mempool_transactions",
        "civitas_transactions_finalized_total",
        "civitas_finality_latency_seconds_count",
    ] {
        assert!(metrics.contains(name), "{name} missing from /metrics");
    }
    assert!(metrics.lines().count() > 50, "runtime metrics are included");

    // The event stream announces the block, the receipt and the module event of a transaction.
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    {
        let url = format!("{api}/v1/events");
        std::thread::spawn(move || {
            use std::io::BufRead as _;
            let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
            let Ok(response) = agent.get(&url).call() else {
                return;
            };
            let reader = std::io::BufReader::new(response.into_body().into_reader());
            for line in reader.lines() {
                let Ok(line) = line else { return };
                if lines_tx.send(line).is_err() {
                    return;
                }
            }
        });
    }
    std::thread::sleep(Duration::from_millis(500));
    let citizen = tmp.join("citizen.json");
    ok(civitas(&[
        "keys",
        "new",
        "--out",
        citizen.to_str().unwrap(),
    ]));
    ok(civitas(&[
        "tx",
        "identity",
        "register-citizen",
        "--key",
        dir.join("keys/finance.json").to_str().unwrap(),
        "--citizen-key",
        citizen.to_str().unwrap(),
        "--node",
        &api,
    ]));
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut saw = (false, false, false);
    while Instant::now() < deadline && saw != (true, true, true) {
        let Ok(line) = lines_rx.recv_timeout(Duration::from_secs(1)) else {
            continue;
        };
        match line.as_str() {
            "event: block" => saw.0 = true,
            "event: receipt" => saw.1 = true,
            _ if line.starts_with("data: ") && line.contains("account_registered") => saw.2 = true,
            _ => {}
        }
    }
    assert_eq!(saw, (true, true, true), "block, receipt and module events");

    // A batch submission: each transaction gets its own verdict, in order.
    let client = civitas_client::Client::new(&api);
    let admin = civitas_core::keyfile::KeyFile::from_json(
        &std::fs::read_to_string(dir.join("keys/finance.json")).unwrap(),
    )
    .unwrap();
    let chain = get(&format!("{api}/v1/genesis")).unwrap()["chain_id"]
        .as_str()
        .unwrap()
        .to_string();
    let nonce = client.next_nonce(&admin.account()).unwrap();
    let anchor = |n: u64| {
        civitas_client::build_tx(
            &chain,
            &admin,
            nonce + n,
            vec![civitas_core::instruction::Instruction::Notary(
                civitas_core::instruction::NotaryInstruction::Anchor {
                    document: civitas_core::hash::Hash32::sha256(format!("batch {n}").as_bytes()),
                    title: format!("Batch document {n}"),
                    metadata: vec![],
                },
            )],
            "",
        )
        .unwrap()
    };
    let mut forged = anchor(2);
    forged.body.memo = "changed after signing".into();
    let first = anchor(0);
    let verdicts = client
        .submit_batch(&[first.clone(), anchor(1), forged, first.clone()])
        .unwrap();
    assert_eq!(verdicts.len(), 4);
    assert_eq!(verdicts[0].error, None);
    assert_eq!(verdicts[1].error, None);
    assert_eq!(verdicts[2].error.as_ref().unwrap().0, "invalid_transaction");
    assert_eq!(
        verdicts[3].error.as_ref().unwrap().0,
        "duplicate_transaction"
    );
    let last = client
        .wait(&verdicts[1].hash, Duration::from_secs(30))
        .unwrap();
    assert_eq!(last.status, "finalized");
    // Bad batches are refused whole, with the reason.
    let (status, body) = call("POST", "/v1/transactions/batch", "{\"transactions\": []}");
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no transaction")
    );
    let too_many = format!("{{\"transactions\": [{}]}}", vec!["\"00\""; 257].join(","));
    let (status, body) = call("POST", "/v1/transactions/batch", &too_many);
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 256")
    );
    drop(nodes);
    let _ = std::fs::remove_dir_all(&tmp);
}
