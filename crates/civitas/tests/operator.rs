//! What an operator sees: real node processes on 127.0.0.1, started as `civitas node start`,
//! with the mistakes operators make. Each is refused or reported in a sentence naming the fix;
//! a failed start leaves a fresh data directory untouched; a clean start and stop log no
//! warning and no error, and a log file gets no colour codes.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;
use common::*;

/// Node `i`'s configuration with `from` replaced by `to` (each must occur).
fn edit_config(dir: &Path, i: usize, edits: &[(&str, &str)]) {
    let path = dir.join(format!("node{i}/node.toml"));
    let mut text = std::fs::read_to_string(&path).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "{from} not in {text}");
        text = text.replace(from, to);
    }
    std::fs::write(&path, text).unwrap();
}

fn log_of(dir: &Path, i: usize) -> String {
    std::fs::read_to_string(dir.join(format!("node{i}/node.log"))).unwrap_or_default()
}

/// Lines of node `i`'s log at WARN or ERROR.
fn complaints(dir: &Path, i: usize) -> Vec<String> {
    log_of(dir, i)
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .map(str::to_string)
        .collect()
}

/// Starts node `i` in the foreground of this test and returns (success, stderr) once it exits.
fn start_failing(dir: &Path, i: usize) -> (bool, String) {
    let mut child = Command::new(BIN)
        .args(["node", "start", "--config"])
        .arg(dir.join(format!("node{i}/node.toml")))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A start that does not fail within 20 s is a start: stop it and report success.
    for _ in 0..100 {
        if let Some(status) = child.try_wait().unwrap() {
            let output = child.wait_with_output().unwrap();
            return (
                status.success(),
                String::from_utf8_lossy(&output.stderr).into_owned(),
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    (true, String::from_utf8_lossy(&output.stderr).into_owned())
}

fn terminate(nodes: &mut Nodes, i: usize) {
    if let Some(mut child) = nodes.children[i].take() {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let status = child.wait().unwrap();
        assert!(status.success(), "node {i} stopped with {status}");
    }
}

fn key_hex(file: &Path) -> String {
    let shown: Value = serde_json::from_str(&ok(civitas(&[
        "keys",
        "show",
        "--json",
        file.to_str().unwrap(),
    ])))
    .unwrap();
    shown["public_key"].as_str().unwrap().to_string()
}

fn metric(api: &str, name: &str) -> u64 {
    let output = Command::new("curl")
        .args(["-sf", "--max-time", "5", &format!("{api}/metrics")])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|rest| rest.trim().parse().ok())
        .unwrap_or(0)
}

/// Answers of `/readyz`: (HTTP status, body).
fn readyz(api: &str) -> (u16, Value) {
    let output = Command::new("curl")
        .args([
            "-s",
            "--max-time",
            "5",
            "-w",
            "\n%{http_code}",
            &format!("{api}/readyz"),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (
        code.trim().parse().unwrap_or(0),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

#[test]
fn a_node_explains_every_failure_to_start_or_connect() {
    let (tmp, dir, base) = init_devnet("operator", 11, &[]);
    let apis: Vec<String> = (0..VALIDATORS)
        .map(|i| format!("http://127.0.0.1:{}", base + i as u16))
        .collect();
    let data = |i: usize| dir.join(format!("node{i}/data"));

    // Ports already taken: refused, naming the address and the setting, before anything is
    // written into the (fresh) data directory.
    let taken = std::net::TcpListener::bind(("127.0.0.1", base + 1000)).unwrap();
    let (started, stderr) = start_failing(&dir, 0);
    assert!(!started, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot listen for peers on 127.0.0.1:{} (p2p_listen)",
            base + 1000
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!data(0).exists(), "a failed start wrote into data_dir");
    drop(taken);
    let taken = std::net::TcpListener::bind(("127.0.0.1", base)).unwrap();
    let (started, stderr) = start_failing(&dir, 0);
    assert!(!started, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot listen for the API on 127.0.0.1:{base} (api_listen)"
        )),
        "{stderr}"
    );
    assert!(!data(0).exists(), "a failed start wrote into data_dir");
    drop(taken);

    // A clean start and stop of the whole network: no warning, no error, no colour codes in
    // a log file.
    let mut nodes = Nodes {
        dir: dir.clone(),
        children: (0..VALIDATORS).map(|_| None).collect(),
    };
    for i in 0..VALIDATORS {
        nodes.start(i);
    }
    wait_for("the first blocks", Duration::from_secs(120), || {
        apis.iter().all(|api| height(api) >= 3)
    });
    wait_for(
        "every node connected to the three others",
        Duration::from_secs(60),
        || {
            apis.iter().all(|api| {
                get(&format!("{api}/v1/status"))
                    .is_some_and(|s| s["peers"]["connected"].as_array().map(Vec::len) == Some(3))
            })
        },
    );
    let (code, body) = readyz(&apis[0]);
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["peers"]["connected"], 3, "{body}");
    assert_eq!(body["peers"]["missing"], 0, "{body}");
    for i in 0..VALIDATORS {
        terminate(&mut nodes, i);
    }
    for i in 0..VALIDATORS {
        let log = log_of(&dir, i);
        assert!(
            !log.contains('\u{1b}'),
            "colour codes in node {i}'s log file"
        );
        assert!(log.contains("shutting down"), "node {i}: {log}");
        assert_eq!(complaints(&dir, i), Vec::<String>::new(), "node {i}");
    }

    // `node catch-up` started before its node waits for the API to come up.
    let catch_up = Command::new(BIN)
        .args(["node", "catch-up", "--node", &apis[2], "--timeout", "120"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));

    // Node 0 knows validator 3 by a host name that does not resolve (a typo in [peers]): it
    // starts anyway, says which validator it cannot resolve, and works with the others; /readyz
    // and /v1/status name the missing validator. It knows validator 1 by a name that resolves
    // (localhost), and connects to it.
    let key1 = key_hex(&dir.join("node1/validator.json"));
    let key3 = key_hex(&dir.join("node3/validator.json"));
    let config0 = dir.join("node0/node.toml");
    let original0 = std::fs::read_to_string(&config0).unwrap();
    std::fs::write(
        &config0,
        format!(
            "{original0}\n[peers]\n\"{key3}\" = \"validator-3.civitas-test.invalid:{}\"\n\
             \"{key1}\" = \"localhost:{}\"\n",
            base + 1003,
            base + 1001
        ),
    )
    .unwrap();
    for i in 0..3 {
        nodes.start(i);
    }
    let out = catch_up.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "catch-up: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("waiting for the node"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let before = height(&apis[0]);
    wait_for(
        "blocks from three of four",
        Duration::from_secs(120),
        || height(&apis[0]) > before + 2,
    );
    let log0 = log_of(&dir, 0);
    assert!(
        log0.contains("cannot resolve the p2p address of agency")
            && log0.contains("validator-3.civitas-test.invalid"),
        "{log0}"
    );
    eprintln!(
        "node 0: {}",
        log0.lines()
            .find(|l| l.contains("cannot resolve"))
            .unwrap_or_default()
    );
    // Node 0 connects to validator 1 by name and to validator 2 by address; only validator 3
    // stays missing. (A connection is made in its own time: wait for it, do not sample once.)
    wait_for(
        "node 0 connected to validators 1 and 2, validator 3 missing",
        Duration::from_secs(60),
        || {
            get(&format!("{}/v1/status", apis[0])).is_some_and(|s| {
                let keys = |list: &str| -> Vec<String> {
                    s["peers"][list]
                        .as_array()
                        .map(|l| {
                            l.iter()
                                .filter_map(|v| v["key"].as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default()
                };
                keys("connected").contains(&key1) && keys("missing") == [key3.clone()]
            })
        },
    );

    // Validator 3 started from a stale draft of genesis (another chain id, so another hash):
    // it connects to no one, and both it and the others say why and count it.
    let draft = dir.join("genesis-draft.json");
    let mut genesis: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("genesis.json")).unwrap()).unwrap();
    genesis["chain_id"] = Value::from("civitas-draft");
    std::fs::write(&draft, serde_json::to_string_pretty(&genesis).unwrap()).unwrap();
    edit_config(
        &dir,
        3,
        &[(
            "genesis = \"../genesis.json\"",
            "genesis = \"../genesis-draft.json\"",
        )],
    );
    let _ = std::fs::remove_dir_all(data(3));
    nodes.start(3);
    let refused = "civitas_p2p_handshakes_refused_total{reason=\"other_genesis\"}";
    wait_for(
        "the genesis mismatch to be seen",
        Duration::from_secs(60),
        || metric(&apis[1], refused) > 0 && log_of(&dir, 3).contains("runs another genesis"),
    );
    let log1 = log_of(&dir, 1);
    assert!(
        log1.contains("runs another genesis than this node")
            && log1.contains("civitas genesis show"),
        "{log1}"
    );
    for (i, log) in [(1, &log1), (3, &log_of(&dir, 3))] {
        let line = log.lines().find(|l| l.contains("runs another genesis"));
        eprintln!("node {i}: {}", line.unwrap_or_default());
    }
    let (code, body) = readyz(&apis[3]);
    eprintln!("node 3 /readyz: {body}");
    assert_eq!(code, 503, "{body}");
    let reason = body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        reason.contains("connected to 0 of 3 other validators"),
        "{body}"
    );
    assert!(reason.contains("not connected: "), "{body}");
    terminate(&mut nodes, 3);

    // Validators on loopback without allow_private_ips: the node warns at start, naming them.
    let _ = std::fs::remove_dir_all(data(3));
    edit_config(
        &dir,
        3,
        &[
            (
                "genesis = \"../genesis-draft.json\"",
                "genesis = \"../genesis.json\"",
            ),
            ("allow_private_ips = true", "allow_private_ips = false"),
        ],
    );
    nodes.start(3);
    wait_for(
        "the private-address warning",
        Duration::from_secs(30),
        || log_of(&dir, 3).contains("allow_private_ips = true to node.toml"),
    );
    // The warning comes before the node serves; a node stops cleanly on SIGTERM once it does
    // (before, the signal's default action ends it).
    wait_for("node 3's API", Duration::from_secs(60), || {
        get(&format!("{}/v1/status", apis[3])).is_some()
    });
    terminate(&mut nodes, 3);

    // A read model on a PostgreSQL server that is down when the node starts: the node runs,
    // its lists answer 503 and its log says why, and once the server is up the lists answer
    // without a restart.
    let postgres = civitas_index::testing::Postgres::start().expect("a PostgreSQL server");
    postgres.pause().unwrap();
    let _ = std::fs::remove_dir_all(data(3));
    let config = dir.join("node3/node.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!("\n[index]\nurl = \"{}\"\n", postgres.url()));
    std::fs::write(&config, text).unwrap();
    nodes.start(3);
    wait_for("node 3's API", Duration::from_secs(60), || {
        get(&format!("{}/v1/status", apis[3])).is_some()
    });
    let lists = |api: &str| {
        let output = std::process::Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
            .arg(format!("{api}/v1/blocks"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert_eq!(lists(&apis[3]), "503");
    wait_for("the log to say why", Duration::from_secs(30), || {
        log_of(&dir, 3).contains("the read model cannot be opened yet")
    });
    postgres.resume().unwrap();
    wait_for(
        "the lists once the database is up",
        Duration::from_secs(120),
        || lists(&apis[3]) == "200",
    );
    terminate(&mut nodes, 3);

    // A node told to keep no read model: it runs, writes no index, and its lists and the
    // index commands say why.
    let _ = std::fs::remove_dir_all(data(3));
    edit_config(
        &dir,
        3,
        &[(&format!("url = \"{}\"", postgres.url()), "enabled = false")],
    );
    nodes.start(3);
    wait_for("node 3's API", Duration::from_secs(60), || {
        get(&format!("{}/v1/status", apis[3])).is_some()
    });
    let output = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}"])
        .arg(format!("{}/v1/blocks", apis[3]))
        .output()
        .unwrap();
    let answer = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        answer.ends_with("\n503") && answer.contains("keeps no read model"),
        "{answer}"
    );
    assert!(
        log_of(&dir, 3).contains("this node keeps no read model"),
        "{}",
        log_of(&dir, 3)
    );
    assert!(!data(3).join("index.sqlite").exists(), "no index written");
    let refused = civitas(&[
        "index",
        "status",
        "--config",
        dir.join("node3/node.toml").to_str().unwrap(),
    ]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("enabled = false"),
        "{refused:?}"
    );
    drop(nodes);
    let _ = std::fs::remove_dir_all(&tmp);
}
