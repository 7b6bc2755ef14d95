//! End-to-end: a new agency joins a running 4-agency network with its validator through
//! governance, and a founding agency retires, with real `civitas` processes on 127.0.0.1.
//!
//! The new agency's node starts with a key that is not in genesis; the validators admit its
//! connections once three agency admins have approved the agency, it catches up, and at the
//! next epoch it signs. The newcomer's admin then votes to retire the audit agency: its admin
//! can no longer sign, and at the next epoch its validator leaves. With the retired validator
//! stopped and one founding validator killed, the chain only moves if the newcomer's votes
//! count (3 of the 4 are needed). A proof bundle from after both changes carries the two
//! hand-overs and verifies offline, in Rust and in the independent Python verifier.

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
fn an_agency_joins_with_its_validator_and_another_retires_by_vote() {
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

    // The joining agency creates its validator's and its admin's keys locally and follows
    // the chain.
    let node_dir = dir.join("node4");
    std::fs::create_dir_all(&node_dir).unwrap();
    let validator_key = node_dir.join("validator.json");
    let justice_admin = dir.join("keys/justice.json");
    for file in [&validator_key, &justice_admin] {
        ok(civitas(&["keys", "new", "--out", file.to_str().unwrap()]));
    }
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
    let add_agency = |id: &str, admin_key: &Path| {
        civitas(&[
            "tx",
            "governance",
            "add-agency",
            "--key",
            admin("finance").to_str().unwrap(),
            "--id",
            id,
            "--name",
            "Ministry of Justice",
            "--admin-key",
            &key_hex(admin_key),
            "--validator-key",
            &key_hex(&validator_key),
            "--p2p",
            &p2p,
            "--reason",
            "the Ministry of Justice joins the network",
            "--node",
            &apis[0],
        ])
    };
    let refused = |output: std::process::Output| {
        assert!(!output.status.success());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    // Impossible proposals are refused before signing: an id in use, an admin key in use.
    let taken = refused(add_agency("health", &justice_admin));
    assert!(
        taken.contains("agency id \"health\" is already taken"),
        "{taken}"
    );
    let in_use = refused(add_agency("justice", &admin("land")));
    assert!(in_use.contains("already belongs to an account"), "{in_use}");
    let out = ok(add_agency("justice", &justice_admin));
    assert!(out.contains("proposal_opened #1"), "{out}");
    settle(&apis);
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

    // What can be seen before approving: what the proposal does, who approved, what is missing.
    settle(&apis);
    let open = ok(civitas(&[
        "query",
        "governance",
        "--open",
        "--node",
        &apis[1],
    ]));
    assert!(
        open.contains("proposal 1: add agency justice (\"Ministry of Justice\") with 1 admin key")
            && open.contains(&format!(
                "its validator {} at {p2p}",
                key_hex(&validator_key)
            )),
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
    let approve = |proposal: &str, agency: &str, api: &str, yes: bool| {
        let mut args = vec!["tx", "governance", "approve", proposal];
        if yes {
            args.push("--yes");
        }
        let key = admin(agency);
        args.extend(["--key", key.to_str().unwrap(), "--node", api]);
        civitas(&args)
    };
    let asked = approve("1", "land", &apis[1], false);
    assert!(!asked.status.success());
    let stderr = String::from_utf8_lossy(&asked.stderr);
    assert!(
        stderr.contains("proposal 1: add agency justice"),
        "{stderr}"
    );
    assert!(stderr.contains("Pass --yes"), "{stderr}");
    ok(approve("1", "land", &apis[1], true));
    // Approving twice is refused before signing: the nonce moved once, for the approval.
    let twice = approve("1", "land", &apis[1], true);
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
    let out = ok(approve("1", "health", &apis[2], true));
    assert!(out.contains("proposal_executed #1"), "{out}");
    // Every node has the block that executed it before the next checks ask them.
    settle(&apis);
    let closed = approve("1", "audit", &apis[3], true);
    let stderr = String::from_utf8_lossy(&closed.stderr);
    assert!(
        stderr.contains("was already executed at height"),
        "{stderr}"
    );

    // A validator addition that cannot pass is refused before it is signed.
    let unknown = refused(add_validator("interior", &validator_key, "127.0.0.1:9"));
    assert!(
        unknown.contains("agency \"interior\" does not exist on this chain"),
        "{unknown}"
    );
    let again = refused(add_validator("justice", &validator_key, "127.0.0.1:9"));
    assert!(again.contains("is already a validator"), "{again}");
    let agencies = get(&format!("{}/v1/agencies", apis[2])).unwrap();
    let justice = agencies["agencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "justice")
        .cloned()
        .unwrap_or_default();
    assert_eq!(justice["name"], "Ministry of Justice", "{agencies}");
    assert_eq!(
        justice["next_validators"][0].as_str(),
        Some(key_hex(&validator_key).as_str()),
        "{agencies}"
    );
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

    // The newcomer votes at once: justice proposes retiring the audit agency (refused
    // before signing for an agency that does not exist), finance and land approve.
    let retire = |agency: &str, key: &Path| {
        civitas(&[
            "tx",
            "governance",
            "retire-agency",
            "--key",
            key.to_str().unwrap(),
            "--agency",
            agency,
            "--reason",
            "the audit office becomes part of the finance ministry",
            "--node",
            &apis[0],
        ])
    };
    let nowhere = refused(retire("interior", &justice_admin));
    assert!(
        nowhere.contains("does not exist on this chain"),
        "{nowhere}"
    );
    let out = ok(retire("audit", &justice_admin));
    assert!(out.contains("proposal_opened #2"), "{out}");
    settle(&apis);
    ok(approve("2", "finance", &apis[0], true));
    let out = ok(approve("2", "land", &apis[1], true));
    assert!(out.contains("proposal_executed #2"), "{out}");
    settle(&apis);
    // Its admin can no longer sign, and is told why.
    let audit = civitas(&[
        "tx",
        "governance",
        "set-threshold",
        "--threshold",
        "2",
        "--reason",
        "fewer",
        "--key",
        admin("audit").to_str().unwrap(),
        "--node",
        &apis[0],
    ]);
    let stderr = refused(audit);
    assert!(
        stderr.contains("an official of agency audit, which retired at height"),
        "{stderr}"
    );
    let again = refused(retire("audit", &admin("finance")));
    assert!(
        again.contains("agency \"audit\" retired at height"),
        "{again}"
    );
    let record = get(&format!("{}/v1/agencies/audit", apis[2])).unwrap();
    assert!(
        record["value"]["retired_height"].as_u64().is_some(),
        "{record}"
    );

    // At the next epoch audit's validator has left: four validators, of which 3 must sign.
    let audit_validator = key_hex(&dir.join("node3/validator.json"));
    let left = governance(&apis[0])["epoch"].as_u64().unwrap() + 1;
    wait_for(
        "the epoch after the retirement",
        Duration::from_secs(180),
        || {
            [&apis[0], &apis[1], &apis[2], &api].iter().all(|api| {
                let s = status(api);
                s["epoch"].as_u64() >= Some(left)
                    && s["validators"].as_array().is_some_and(|v| {
                        v.len() == 4 && v.iter().all(|k| k.as_str() != Some(&audit_validator))
                    })
            })
        },
    );
    // Stop the retired validator and kill a founding one: the chain moves only if the
    // newcomer signs.
    network.nodes.kill(3);
    network.nodes.kill(1);
    let before = height(&apis[0]);
    wait_for(
        "progress with validators 0, 2 and the newcomer",
        Duration::from_secs(120),
        || height(&apis[0]) >= before + 10,
    );

    // A bundle from after both changes carries the two hand-overs and verifies offline.
    let bundle = tmp.join("agency.cvpb");
    ok(civitas(&[
        "proof",
        "state",
        "identity/agency",
        "justice",
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
    assert!(verdict.contains("2 validator-set changes"), "{verdict}");
    let output = python_verify(&bundle, &genesis);
    assert!(
        output.status.success(),
        "the Python verifier rejects the bundle: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    // A protocol upgrade is scheduled by vote; one that could not take effect is refused
    // before it is signed.
    let running = [apis[0].clone(), apis[2].clone(), api.clone()];
    let schedule = |protocol: &str, at: u64| {
        civitas(&[
            "tx",
            "governance",
            "schedule-upgrade",
            "--key",
            admin("finance").to_str().unwrap(),
            "--protocol",
            protocol,
            "--height",
            &at.to_string(),
            "--release",
            "0.5.0",
            "--reason",
            "the register of official notices",
            "--node",
            &apis[0],
        ])
    };
    let now = height(&apis[0]);
    let behind = refused(schedule("5", now));
    assert!(behind.contains("is not ahead of the chain"), "{behind}");
    let same = refused(schedule("1", now + 100_000));
    assert!(
        same.contains("an upgrade names version 2 or later"),
        "{same}"
    );
    // The devnet starts at the newest version this release runs, 4.
    let skipping = refused(schedule("6", now + 100_000));
    assert!(
        skipping.contains("protocol version 4 is active, so an upgrade names version 5, not 6"),
        "{skipping}"
    );
    // This release knows versions 1 to 4: the command line refuses to schedule a version the
    // node it asks does not run (operators install the release first).
    let unknown = refused(schedule("5", now + 100_000));
    assert!(
        unknown.contains("which does not know protocol version 5"),
        "{unknown}"
    );
    // A script can still propose it (tx send checks nothing before signing); it is recorded.
    let upgrade_by_script = |at: u64| {
        civitas(&[
            "tx",
            "send",
            "--key",
            admin("finance").to_str().unwrap(),
            "--instruction",
            &serde_json::json!({
                "module": "governance",
                "op": "propose",
                "action": {
                    "action": "schedule_upgrade",
                    "version": 5,
                    "height": at,
                    "release": "0.5.0",
                },
                "reason": "the register of official notices",
            })
            .to_string(),
            "--node",
            &apis[0],
        ])
    };
    let out = ok(upgrade_by_script(now + 100_000));
    assert!(out.contains("proposal_opened #3"), "{out}");
    settle(&running);
    let open = ok(civitas(&[
        "query",
        "governance",
        "--open",
        "--node",
        &apis[0],
    ]));
    assert!(
        open.contains(&format!(
            "activate protocol version 5 at block {} (nodes need civitas 0.5.0 or later",
            now + 100_000
        )),
        "{open}"
    );
    ok(approve("3", "land", &apis[0], true));
    let out = ok(approve("3", "health", &apis[2], true));
    assert!(out.contains("proposal_executed #3"), "{out}");
    settle(&running);
    let protocol = &governance(&api)["protocol"];
    assert_eq!(protocol["active"], 4, "{protocol}");
    assert_eq!(protocol["next"]["version"], 5, "{protocol}");
    assert_eq!(protocol["next"]["height"], now + 100_000, "{protocol}");
    assert_eq!(protocol["next"]["release"], "0.5.0", "{protocol}");
    let status = status(&api);
    assert_eq!(status["protocol"]["next_block"], 4, "{status}");
    assert_eq!(
        status["protocol"]["known"],
        serde_json::json!([1, 2, 3, 4]),
        "{status}"
    );

    // The upgrade moved a few blocks ahead: this release does not know version 5, so every node
    // stops after the block before it, applies nothing more, and exits with status 78 naming
    // the release to install; started again, it stops at once, touching nothing.
    let soon = height(&apis[0]) + 40;
    let out = ok(upgrade_by_script(soon));
    assert!(out.contains("proposal_opened #4"), "{out}");
    settle(&running);
    ok(approve("4", "land", &apis[0], true));
    let out = ok(approve("4", "health", &apis[2], true));
    assert!(out.contains("proposal_executed #4"), "{out}");
    assert_eq!(governance(&api)["protocol"]["next"]["height"], soon);
    let log_of = |i: usize| {
        std::fs::read_to_string(dir.join(format!("node{i}/node.log"))).unwrap_or_default()
    };
    // The highest block a node's log says it finalized.
    let last_finalized = |log: &str| {
        log.lines()
            .filter(|l| l.contains(" finalized"))
            .filter_map(|l| l.split("height=").nth(1))
            .filter_map(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
            .max()
            .unwrap_or(0)
    };
    let expected = format!("protocol version 5 is active from block {soon}");
    for i in [0, 2, 4] {
        let mut exited = None;
        wait_for(
            "the node to stop at the upgrade",
            Duration::from_secs(120),
            || {
                let child = network.nodes.children[i].as_mut().unwrap();
                exited = child.try_wait().unwrap();
                exited.is_some()
            },
        );
        assert_eq!(exited.unwrap().code(), Some(78), "node {i}");
        network.nodes.children[i] = None;
        let log = log_of(i);
        assert!(
            log.contains(&expected) && log.contains("install civitas 0.5.0 or later"),
            "node {i}: {log}"
        );
        // The operator was warned when the upgrade was scheduled, before the stop.
        assert!(
            log.contains(&format!(
                "protocol version 5 activates at block {soon} (proposal 4)"
            )),
            "node {i}: {log}"
        );
        assert_eq!(
            last_finalized(&log),
            soon - 1,
            "node {i} applied past the switch"
        );
    }
    let before = log_of(0);
    network.nodes.start(0);
    let mut exited = None;
    wait_for(
        "the node to refuse to start",
        Duration::from_secs(60),
        || {
            exited = network.nodes.children[0]
                .as_mut()
                .unwrap()
                .try_wait()
                .unwrap();
            exited.is_some()
        },
    );
    assert_eq!(exited.unwrap().code(), Some(78));
    network.nodes.children[0] = None;
    let again = log_of(0);
    let restarted = &again[before.len()..];
    assert!(restarted.contains(&expected), "{restarted}");
    assert_eq!(last_finalized(&again), soon - 1);
}
