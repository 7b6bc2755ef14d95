//! End-to-end: a new validator joins a running 4-validator network through governance, with
//! real `civitas` processes on 127.0.0.1.
//!
//! The new agency node starts with a key that is not in genesis; the validators admit its
//! connections once three agency admins have approved adding it, it catches up, and at the next
//! epoch it signs. With one founding validator then
//! killed, the chain only moves if the newcomer's votes count (4 of the 5 are needed). A proof
//! bundle from after the change carries the hand-over and verifies offline, in Rust and in the
//! independent Python verifier.

use serde_json::Value;
use std::path::Path;
use std::time::Duration;

mod common;
use common::*;

const EPOCH_LENGTH: u64 = 30;

fn governance(api: &str) -> Value {
    get(&format!("{api}/v1/governance")).expect("governance overview")
}

fn status(api: &str) -> Value {
    get(&format!("{api}/v1/status")).unwrap_or_default()
}

fn key_hex(file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    value["public_key"].as_str().unwrap().to_string()
}

#[test]
fn a_validator_joins_through_governance_and_signs_from_the_next_epoch() {
    let mut network = TestNetwork::start_with(
        "governance",
        3,
        VALIDATORS,
        &["--epoch-length", &EPOCH_LENGTH.to_string()],
    );
    let (tmp, dir, apis, base) = (
        network.tmp.clone(),
        network.dir.clone(),
        network.apis.clone(),
        network.base,
    );
    let genesis = dir.join("genesis.json");

    // The newcomer creates its key locally and follows the chain.
    let node_dir = dir.join("node4");
    std::fs::create_dir_all(&node_dir).unwrap();
    let validator_key = node_dir.join("validator.json");
    ok(civitas(&[
        "keys",
        "new",
        "--out",
        validator_key.to_str().unwrap(),
    ]));
    let p2p = format!("127.0.0.1:{}", base + 1004);
    let api = format!("http://127.0.0.1:{}", base + 4);
    std::fs::write(
        node_dir.join("node.toml"),
        format!(
            "genesis = \"../genesis.json\"\nkey = \"validator.json\"\ndata_dir = \"data\"\n\
             p2p_listen = \"{p2p}\"\napi_listen = \"127.0.0.1:{}\"\nallow_private_ips = true\n",
            base + 4
        ),
    )
    .unwrap();
    network.nodes.children.push(None);
    network.nodes.start(4);

    // Finance proposes; land and health approve (3 of 4 agencies).
    let admin = |agency: &str| dir.join(format!("keys/{agency}.json"));
    let add_validator = |agency: &str, key: &Path, p2p: &str| {
        civitas(&[
            "tx",
            "governance",
            "add-validator",
            "--key",
            admin("finance").to_str().unwrap(),
            "--agency",
            agency,
            "--validator-key",
            key.to_str().unwrap(),
            "--p2p",
            p2p,
            "--reason",
            "the health ministry's second validator",
            "--node",
            &apis[0],
        ])
    };
    let out = ok(add_validator("health", &validator_key, &p2p));
    assert!(out.contains("proposal_opened #1"), "{out}");

    // What can be seen before approving: what the proposal does, who approved, what is missing.
    let open = ok(civitas(&[
        "query",
        "governance",
        "--open",
        "--node",
        &apis[1],
    ]));
    assert!(
        open.contains("proposal 1: add validator") && open.contains("for agency health"),
        "{open}"
    );
    assert!(open.contains("approved: finance (1 of 3 needed)"), "{open}");
    assert!(open.contains("missing:  2 more from"), "{open}");

    // Approving asks first; without a terminal (a script) it needs --yes, and signs nothing.
    let land_account = {
        let shown: Value = serde_json::from_str(&ok(civitas(&[
            "keys",
            "show",
            "--json",
            admin("land").to_str().unwrap(),
        ])))
        .unwrap();
        shown["account"].as_str().unwrap().to_string()
    };
    let nonce = || get(&format!("{}/v1/accounts/{land_account}/nonce", apis[1])).unwrap();
    let nonce_before = nonce();
    let approve = |agency: &str, api: &str, yes: bool| {
        let mut args = vec!["tx", "governance", "approve", "1"];
        if yes {
            args.push("--yes");
        }
        let key = admin(agency);
        args.extend(["--key", key.to_str().unwrap(), "--node", api]);
        civitas(&args)
    };
    let asked = approve("land", &apis[1], false);
    assert!(!asked.status.success());
    let stderr = String::from_utf8_lossy(&asked.stderr);
    assert!(stderr.contains("proposal 1: add validator"), "{stderr}");
    assert!(stderr.contains("Pass --yes"), "{stderr}");
    ok(approve("land", &apis[1], true));
    // Approving twice is refused before signing: the nonce moved once, for the approval.
    let twice = approve("land", &apis[1], true);
    assert!(!twice.status.success());
    let stderr = String::from_utf8_lossy(&twice.stderr);
    assert!(
        stderr.contains("agency land has already approved proposal 1"),
        "{stderr}"
    );
    assert_eq!(
        nonce()["next_nonce"].as_u64().unwrap(),
        nonce_before["next_nonce"].as_u64().unwrap() + 1,
        "{nonce_before}"
    );
    let out = ok(approve("health", &apis[2], true));
    assert!(out.contains("proposal_executed #1"), "{out}");
    let closed = approve("audit", &apis[3], true);
    let stderr = String::from_utf8_lossy(&closed.stderr);
    assert!(
        stderr.contains("was already executed at height"),
        "{stderr}"
    );

    // A validator addition that cannot pass is refused before it is signed.
    let refused = |agency: &str| {
        let output = add_validator(agency, &validator_key, "127.0.0.1:9");
        assert!(!output.status.success());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let unknown = refused("justice");
    assert!(
        unknown.contains("agency \"justice\" does not exist on this chain"),
        "{unknown}"
    );
    let again = refused("health");
    assert!(again.contains("is already a validator"), "{again}");
    let newcomer = key_hex(&validator_key);
    let overview = governance(&apis[3]);
    let next: Vec<&str> = overview["next_validators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["key"].as_str().unwrap())
        .collect();
    assert!(next.contains(&newcomer.as_str()), "{overview}");
    let effective = overview["epoch"].as_u64().unwrap() + 1;

    // The validators now admit the newcomer's connections (it is in the next set), so it
    // catches up before its epoch starts.
    wait_for("the newcomer to catch up", Duration::from_secs(120), || {
        height(&api) > 0 && height(&api) + 3 >= height(&apis[0])
    });

    // At the next epoch every node, the newcomer included, runs with five validators.
    wait_for("the next epoch", Duration::from_secs(180), || {
        apis.iter().chain([&api]).all(|api| {
            let s = status(api);
            s["epoch"].as_u64() >= Some(effective)
                && s["validators"]
                    .as_array()
                    .is_some_and(|v| v.iter().any(|k| k.as_str() == Some(&newcomer)))
        })
    });
    let epoch = get(&format!("{}/v1/epochs/{effective}", apis[0])).unwrap();
    assert_eq!(
        epoch["value"]["validators"].as_array().unwrap().len(),
        5,
        "{epoch}"
    );

    // Kill a founding validator: 4 of the remaining 5 must sign, so the newcomer must.
    network.nodes.kill(3);
    let before = height(&apis[0]);
    wait_for(
        "progress without validator 3",
        Duration::from_secs(120),
        || height(&apis[0]) >= before + 10,
    );

    // A bundle from after the change carries the hand-over and verifies offline.
    let bundle = tmp.join("agency.cvpb");
    ok(civitas(&[
        "proof",
        "state",
        "identity/agency",
        "health",
        "--node",
        &api,
        "--out",
        bundle.to_str().unwrap(),
    ]));
    let verdict = ok(civitas(&[
        "verify",
        bundle.to_str().unwrap(),
        "--genesis",
        genesis.to_str().unwrap(),
    ]));
    assert!(verdict.contains("1 validator-set change"), "{verdict}");
    let output = python_verify(&bundle, &genesis);
    assert!(
        output.status.success(),
        "the Python verifier rejects the bundle: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
