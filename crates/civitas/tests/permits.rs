//! A permit from form to licence, with real processes on 127.0.0.1: land defines the business
//! licence; Ana sends her form to land's vault and files her application (`civitas vault
//! apply`); land's cashier records the fee, which is land's revenue in the public ledger of
//! money; the clerk completes the completeness check from the agency's queue; the inspector asks
//! for more and Ana answers with a corrected form (its next version in the vault); the licensing
//! officer grants the licence; the public register lists it; its proof bundle checks offline;
//! and Ana's inbox has every step.

mod common;

use common::{
    TestNetwork, json, run_fails as civitas_fails, run_ok as civitas, start_vault, wait_for,
};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The read model's applications for `query`, once it has caught up with `want` of them.
fn applications(api: &str, query: &str, want: usize) -> Vec<Value> {
    let url = format!("{api}/v1/permits/applications?{query}");
    let mut found = Vec::new();
    wait_for(
        &format!("{want} application(s) for {query}"),
        Duration::from_secs(30),
        || {
            found = common::get(&url)
                .and_then(|page| page["items"].as_array().cloned())
                .unwrap_or_default();
            found.len() == want
        },
    );
    found
}

#[test]
fn an_application_goes_from_form_to_licence_through_the_cli_and_api() {
    let net = TestNetwork::start("permits", 73, 2);
    let api = net.apis[0].clone();
    let keys = net.dir.join("keys");
    let key = |name: &str| keys.join(format!("{name}.json"));
    let k = |name: &str| key(name).to_string_lossy().into_owned();
    let id_of = |name: &str| -> String {
        let shown = civitas(&["keys", "show", &k(name), "--json"]);
        json(&shown)["account"].as_str().unwrap().to_string()
    };
    let send = |signer: &str, args: &[&str]| -> String {
        let mut all = vec!["tx"];
        all.extend_from_slice(args);
        let signer = k(signer);
        all.extend_from_slice(&["--key", &signer, "--node", &api]);
        civitas(&all)
    };
    let officials = [
        ("land", "land-vault", "land", "vault"),
        ("land", "notary", "land", "notary"),
        ("land", "clerk", "land", "clerk"),
        ("land", "inspector", "land", "inspector"),
        ("land", "licensing", "land", "licensing"),
        ("land", "cashier", "land", "cashier"),
        ("finance", "budget", "finance", "budget"),
    ];
    for (_, name, ..) in officials {
        civitas(&["keys", "new", "--out", &k(name), "--label", name]);
    }
    civitas(&["keys", "new", "--out", &k("ana"), "--label", "ana"]);
    for (admin, name, agency, roles) in officials {
        send(
            admin,
            &[
                "identity",
                "register-official",
                "--official-key",
                &k(name),
                "--agency",
                agency,
                "--name",
                name,
                "--roles",
                roles,
            ],
        );
    }
    send(
        "land",
        &["identity", "register-citizen", "--citizen-key", &k("ana")],
    );
    for name in ["land-vault", "ana"] {
        send(
            name,
            &[
                "identity",
                "set-encryption-key",
                "--encryption-key",
                &k(name),
            ],
        );
    }
    let vault_port = net.base + 3000;
    send(
        "land",
        &[
            "sharing",
            "set-vault",
            "--account",
            &id_of("land-vault"),
            "--url",
            &format!("http://127.0.0.1:{vault_port}"),
        ],
    );
    let _vault = start_vault(
        &net.tmp.join("land-vault"),
        &key("land-vault"),
        &api,
        vault_port,
    );

    // The finance authority opens the year fees are received in; land defines the type.
    let (year, ..) = civitas_core::time::TimestampMs(common::now_ms()).civil();
    let year = year.to_string();
    send(
        "budget",
        &[
            "treasury",
            "open-year",
            "--year",
            &year,
            "--currency",
            "EUR",
            "--procurement-threshold",
            "100000.00 EUR",
        ],
    );
    let definition = net.tmp.join("business-licence.json");
    std::fs::write(
        &definition,
        serde_json::to_string_pretty(&civitas_core::permits::examples::business_licence()).unwrap(),
    )
    .unwrap();
    send(
        "land",
        &[
            "permits",
            "define-type",
            "business-licence",
            "--definition",
            definition.to_str().unwrap(),
        ],
    );
    let plan = net.tmp.join("floor-plan.pdf");
    std::fs::write(&plan, b"%PDF floor plan of 12 Market Street, 1:100").unwrap();
    send(
        "notary",
        &[
            "notary",
            "anchor",
            plan.to_str().unwrap(),
            "--title",
            "Floor plan",
        ],
    );
    wait_for("the type to be listed", Duration::from_secs(30), || {
        common::get(&format!("{api}/v1/permits/types")).unwrap()["types"][0]["permit_type"]
            == "business-licence"
    });

    // A form that does not fit the type is refused by the vault, naming each problem; nothing
    // is filed.
    let answers = net.tmp.join("answers.json");
    std::fs::write(&answers, r#"{"trade": "bakery", "floor_area": 40}"#).unwrap();
    let apply = |answers: &Path| -> Vec<String> {
        [
            "vault",
            "apply",
            "business-licence",
            "--answers",
            answers.to_str().unwrap(),
            "--document",
            plan.to_str().unwrap(),
            "--key",
            &k("ana"),
            "--node",
            &api,
            "--json",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let args = apply(&answers);
    let refused = civitas_fails(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        refused.contains("form_incomplete") && refused.contains("trade"),
        "{refused}"
    );
    // Ana applies: her answers go to land's vault, the application to the ledger.
    std::fs::write(
        &answers,
        r#"{"trade": "food", "floor_area": 40, "notes": "ground floor, street entrance"}"#,
    )
    .unwrap();
    let args = apply(&answers);
    let filed = json(&civitas(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    assert_eq!(filed["application"], 1, "{filed}");
    assert_eq!(filed["fee"]["amount"], 12_000);
    let form = filed["form"].as_str().unwrap().to_string();
    // The ledger has the commitment, never the answers.
    let record = common::get(&format!("{api}/v1/permits/applications/1")).unwrap();
    assert!(!record.to_string().contains("street entrance"), "{record}");
    let waiting = applications(&api, "agency=land&status=awaiting_fee", 1);
    assert_eq!(waiting[0]["applicant"], id_of("ana"));

    // Land's cashier records the fee: the first step's clock starts, and the fee is land's
    // revenue, with its proof and in the year's export.
    send(
        "cashier",
        &[
            "permits",
            "record-fee",
            "1",
            "--reference",
            "PSP-2026-000123",
        ],
    );
    let queue = applications(
        &api,
        "agency=land&step=completeness&status=in_progress&order=oldest",
        1,
    );
    assert!(queue[0]["deadline_ms"].as_u64().is_some(), "{queue:?}");
    let revenue = common::get(&format!("{api}/v1/treasury/revenue/{year}")).unwrap();
    assert_eq!(revenue["total"]["received"]["amount"], 12_000, "{revenue}");
    assert_eq!(revenue["by_agency"][0]["value"], "land");
    assert_eq!(revenue["by_source"][0]["value"], "permit.business-licence");
    let csv = Command::new("curl")
        .args(["-sf", "--max-time", "20"])
        .arg(format!("{api}/v1/treasury/export/{year}/revenue.csv"))
        .output()
        .unwrap();
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert!(
        csv.contains(
            ",land,permit.business-licence,permits/application/1,PSP-2026-000123,EUR,120.00,"
        ),
        "{csv}"
    );

    // The clerk completes the check; the inspector asks for more.
    send(
        "clerk",
        &[
            "permits",
            "complete-step",
            "1",
            "completeness",
            "--reason",
            "all documents present",
        ],
    );
    send(
        "inspector",
        &[
            "permits",
            "request-information",
            "1",
            "inspection",
            "--request",
            "the floor area including the storeroom",
        ],
    );
    let asked = applications(
        &api,
        &format!("applicant={}&status=awaiting_applicant", id_of("ana")),
        1,
    );
    assert_eq!(asked[0]["step"], "inspection");
    assert!(asked[0]["deadline_ms"].is_null(), "the clock stops");

    // Ana answers with a corrected form: its next version in the vault.
    let corrected = net.tmp.join("corrected.json");
    std::fs::write(
        &corrected,
        r#"{"trade": "food", "floor_area": 55, "notes": "ground floor, street entrance"}"#,
    )
    .unwrap();
    let answered = json(&civitas(&[
        "vault",
        "answer",
        "1",
        "--answers",
        corrected.to_str().unwrap(),
        "--key",
        &k("ana"),
        "--node",
        &api,
        "--json",
    ]));
    assert_eq!(answered["form_revised"], true);
    applications(
        &api,
        "agency=land&step=inspection&status=in_progress&order=oldest",
        1,
    );
    let shared = common::get(&format!("{api}/v1/sharing/records/{form}")).unwrap();
    assert_eq!(shared["value"]["version"], 2, "{shared}");

    // The inspector reads the form through land's vault (the read is in its log), passes
    // the inspection, and the licensing officer grants the licence.
    let read = json(&civitas(&[
        "vault",
        "read",
        &form,
        "--purpose",
        "case-handling",
        "--basis",
        "permit-officials-read-applications",
        "--key",
        &k("inspector"),
        "--node",
        &api,
        "--json",
    ]));
    assert_eq!(read["data"]["answers"]["floor_area"], 55, "{read}");
    send(
        "inspector",
        &[
            "permits",
            "complete-step",
            "1",
            "inspection",
            "--reason",
            "premises inspected",
        ],
    );
    send(
        "licensing",
        &[
            "permits",
            "decide",
            "1",
            "decision",
            "--grant",
            "Café, 55 m², 12 Market Street",
            "--reason",
            "inspection passed",
        ],
    );
    let decided = applications(&api, "status=decided", 1);
    assert_eq!(decided[0]["outcome"], "approved");
    assert_eq!(decided[0]["licence"], 1);
    let register = common::get(&format!(
        "{api}/v1/permits/licences?permit_type=business-licence"
    ))
    .unwrap();
    assert_eq!(
        register["items"][0]["scope"],
        "Café, 55 m², 12 Market Street"
    );
    assert_eq!(register["items"][0]["status"], "valid");
    let licence = common::get(&format!("{api}/v1/permits/licences/1")).unwrap();
    assert_eq!(licence["holder"], id_of("ana"), "{licence}");

    // The licence's proof bundle checks offline against the genesis alone.
    let bundle = net.tmp.join("licence.cvpb");
    civitas(&[
        "proof",
        "state",
        "permits/licence",
        "1",
        "--node",
        &api,
        "--out",
        bundle.to_str().unwrap(),
    ]);
    let verdict = civitas(&[
        "verify",
        bundle.to_str().unwrap(),
        "--genesis",
        net.dir.join("genesis.json").to_str().unwrap(),
    ]);
    assert!(
        verdict.starts_with("VALID") && verdict.contains("not suspended or revoked"),
        "{verdict}"
    );

    // Ana's inbox has every step that concerned her.
    let inbox = json(&civitas(&[
        "inbox",
        "--limit",
        "50",
        "--key",
        &k("ana"),
        "--node",
        &api,
        "--json",
    ]));
    let kinds: Vec<&str> = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["event"]["type"].as_str())
        .collect();
    for kind in [
        "application_filed",
        "fee_paid",
        "step_completed",
        "information_requested",
        "information_provided",
        "application_decided",
        "licence_issued",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
}
