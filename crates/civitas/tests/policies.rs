//! End-to-end: agencies change an authorization policy through governance with real `civitas`
//! processes on 127.0.0.1, and officials meet it with co-signatures and multi-key accounts.
//!
//! A policy requiring two notaries to revoke a document is checked with `civitas policy check`,
//! proposed and approved by three agencies; from the block after, a lone notary's revocation
//! fails with the policy named, and the same revocation co-signed by a second notary passes.
//! A notary then makes its account 2-of-2 and can sign only with both keys.

use std::path::{Path, PathBuf};
use std::time::Duration;

mod common;
use common::*;

fn new_key(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(format!("{name}.json"));
    ok(civitas(&["keys", "new", "--out", path.to_str().unwrap()]));
    path
}

fn failure(output: std::process::Output) -> String {
    assert!(
        !output.status.success(),
        "expected a failure: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn a_policy_changed_by_governance_is_enforced_and_met_by_cosigners() {
    let network = TestNetwork::start("policies", 5, VALIDATORS);
    let (tmp, dir, apis) = (
        network.tmp.clone(),
        network.dir.clone(),
        network.apis.clone(),
    );
    let admin = |agency: &str| dir.join(format!("keys/{agency}.json"));
    let path = |p: &Path| p.to_str().unwrap().to_string();

    let notary = new_key(&tmp, "notary");
    let second = new_key(&tmp, "second-notary");
    for (key, name) in [(&notary, "First Notary"), (&second, "Second Notary")] {
        ok(civitas(&[
            "tx",
            "identity",
            "register-official",
            "--key",
            &path(&admin("finance")),
            "--official-key",
            &path(key),
            "--agency",
            "finance",
            "--name",
            name,
            "--roles",
            "notary",
            "--node",
            &apis[0],
        ]));
    }
    let docs: Vec<String> = (0..3).map(|i| format!("{:064x}", 0xd0c0 + i)).collect();
    for doc in &docs {
        ok(civitas(&[
            "tx",
            "notary",
            "anchor",
            doc,
            "--title",
            "Deed",
            "--key",
            &path(&notary),
            "--node",
            &apis[1],
        ]));
    }

    // Policies are checked before they are proposed.
    let bad = tmp.join("bad.cedar");
    std::fs::write(
        &bad,
        "@id(\"by-salary\")\npermit (principal, action == Action::\"notary.anchor\", resource)\n\
         when { principal.salary > 10 };\n",
    )
    .unwrap();
    let refused = failure(civitas(&[
        "policy",
        "check",
        &path(&bad),
        "--node",
        &apis[0],
    ]));
    assert!(refused.contains("salary"), "{refused}");
    let policy = tmp.join("two-notaries.cedar");
    std::fs::write(
        &policy,
        "@id(\"two-notaries-revoke\")\n\
         @description(\"revoking a document takes two notaries of the issuing agency\")\n\
         forbid (principal, action == Action::\"notary.revoke\", resource)\n\
         unless { context.signers.hasTag(\"notary\") && context.signers.getTag(\"notary\") >= 2 };\n",
    )
    .unwrap();
    let checked = ok(civitas(&[
        "policy",
        "check",
        &path(&policy),
        "--node",
        &apis[0],
    ]));
    assert!(checked.contains("two-notaries-revoke"), "{checked}");

    // Finance proposes; land and health approve.
    let out = ok(civitas(&[
        "tx",
        "governance",
        "set-policy",
        "--file",
        &path(&policy),
        "--reason",
        "revocations need a second pair of eyes",
        "--key",
        &path(&admin("finance")),
        "--node",
        &apis[0],
    ]));
    assert!(out.contains("proposal_opened #1"), "{out}");
    settle(&apis);
    ok(civitas(&[
        "tx",
        "governance",
        "approve",
        "1",
        "--yes",
        "--key",
        &path(&admin("land")),
        "--node",
        &apis[1],
    ]));
    settle(&apis);
    let out = ok(civitas(&[
        "tx",
        "governance",
        "approve",
        "1",
        "--yes",
        "--key",
        &path(&admin("health")),
        "--node",
        &apis[2],
    ]));
    assert!(
        out.contains("policy set version 2 is in force from height"),
        "{out}"
    );

    // Final through node 2; node 3 may be a block behind.
    settle(&apis);
    let shown = ok(civitas(&["policy", "show", "--node", &apis[3]]));
    assert!(shown.contains("policy set version 2"), "{shown}");
    assert!(shown.contains("forbid  two-notaries-revoke"), "{shown}");
    let api_view = get(&format!("{}/v1/policies/2", apis[2])).unwrap();
    assert_eq!(api_view["proposal"], 1, "{api_view}");

    // A lone notary is refused, and told which policy and why.
    let lone = failure(civitas(&[
        "tx",
        "notary",
        "revoke",
        &docs[0],
        "--reason",
        "superseded",
        "--key",
        &path(&notary),
        "--node",
        &apis[0],
    ]));
    assert!(
        lone.contains("policy \"two-notaries-revoke\" (revoking a document takes two notaries of the issuing agency) forbids notary.revoke for account"),
        "{lone}"
    );
    assert!(lone.contains("(not_authorized)"), "{lone}");
    // With the second notary's signature it passes.
    ok(civitas(&[
        "tx",
        "notary",
        "revoke",
        &docs[0],
        "--reason",
        "superseded",
        "--key",
        &path(&notary),
        "--cosign",
        &path(&second),
        "--node",
        &apis[0],
    ]));
    // Node 3 may apply the block a moment after node 0 reported it final.
    wait_for("the revocation on node 3", Duration::from_secs(10), || {
        get(&format!("{}/v1/notary/documents/{}", apis[3], docs[0]))
            .is_some_and(|record| !record["value"]["revocation"].is_null())
    });
    // The same, signed on two machines: the first notary writes the transaction to a file, the
    // second adds a signature after seeing what it does, and anyone submits it.
    let file = tmp.join("revoke.tx.json");
    let written = ok(civitas(&[
        "tx",
        "notary",
        "revoke",
        &docs[1],
        "--reason",
        "superseded",
        "--key",
        &path(&notary),
        "--out",
        &path(&file),
        "--expires-in",
        "60",
        "--node",
        &apis[0],
    ]));
    assert!(written.contains("written to"), "{written}");
    let shown = ok(civitas(&[
        "tx",
        "cosign",
        &path(&file),
        "--key",
        &path(&second),
    ]));
    assert!(
        shown.contains("\"op\":\"revoke\"") && shown.contains("it now carries 2 signatures"),
        "{shown}"
    );
    let again = failure(civitas(&[
        "tx",
        "cosign",
        &path(&file),
        "--key",
        &path(&second),
    ]));
    assert!(again.contains("has already signed"), "{again}");
    let submitted = ok(civitas(&["tx", "submit", &path(&file), "--node", &apis[3]]));
    assert!(submitted.contains("finalized"), "{submitted}");

    // The second notary makes its account 2-of-2: one key no longer signs.
    settle(&apis);
    let backup = new_key(&tmp, "second-notary-backup");
    ok(civitas(&[
        "tx",
        "identity",
        "set-keys",
        "--keys",
        &format!("{},{}", path(&second), path(&backup)),
        "--threshold",
        "2",
        "--key",
        &path(&second),
        "--node",
        &apis[1],
    ]));
    let alone = failure(civitas(&[
        "tx",
        "notary",
        "anchor",
        &docs[2].replace('d', "e"),
        "--title",
        "Deed",
        "--key",
        &path(&second),
        "--node",
        &apis[1],
    ]));
    assert!(
        alone.contains("needs 2 of its 2 keys to sign; 1 did"),
        "{alone}"
    );
    // Not-yet-final transactions are not public: reads are signed and decided by the policies.
    let notary_id = {
        let text = std::fs::read_to_string(&notary).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        value["public_key"].as_str().unwrap().to_string()
    };
    let own = ok(civitas(&[
        "query",
        "pending",
        "--key",
        &path(&notary),
        "--node",
        &apis[2],
    ]));
    assert!(own.contains("\"pending\""), "{own}");
    ok(civitas(&[
        "query",
        "pending",
        "--key",
        &path(&admin("finance")),
        "--account",
        &notary_id,
        "--node",
        &apis[2],
    ]));
    let other = failure(civitas(&[
        "query",
        "pending",
        "--key",
        &path(&admin("land")),
        "--account",
        &notary_id,
        "--node",
        &apis[2],
    ]));
    assert!(
        other.contains("no policy permits ledger.read_pending for account")
            && other.contains("\"agency-admin-reads-officials-pending\""),
        "{other}"
    );
    let unsigned = std::process::Command::new("curl")
        .args([
            "-s",
            &format!("{}/v1/accounts/{notary_id}/pending", apis[2]),
        ])
        .output()
        .unwrap();
    let unsigned = String::from_utf8_lossy(&unsigned.stdout);
    assert!(unsigned.contains("\"unauthenticated\""), "{unsigned}");
    ok(civitas(&[
        "tx",
        "notary",
        "anchor",
        &docs[2].replace('d', "e"),
        "--title",
        "Deed",
        "--key",
        &path(&second),
        "--cosign",
        &path(&backup),
        "--node",
        &apis[1],
    ]));
}
