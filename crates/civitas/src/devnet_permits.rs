//! The devnet's sample applications for permits, at every stage: a business licence granted
//! after a request for more information, one waiting for its applicant's answer, one refused
//! and appealed, one at its first step; a building permit waiting for its fee and one granted
//! (a private licence); and a street-market stall permit whose one-minute deadline passes a
//! minute or two after the devnet starts, so the clerk's queue shows it overdue and escalated.
//!
//! The permit types, officials and plans are the permits module's samples
//! (`modules/permits/src/samples.rs`). Everything here goes through the commands applicants and
//! officials run (`civitas vault apply`, `civitas vault answer`, `civitas tx permits ...`): the
//! forms are in finance's and land's vaults, never on the ledger.

use crate::devnet_vaults::{CITIZEN, Vaults, civitas};
use anyhow::{Context, Result};
use serde_json::{Value, json};

/// Marker: the sample applications are filed.
const SEEDED: &str = "sample-permit-applications.done";
/// The second sample applicant: a sole trader.
const TRADER: &str = "citizen-ben";

/// Whether the sample applications are filed (or there was nothing to file them with).
pub(crate) fn seeded(vaults: &Vaults<'_>) -> bool {
    vaults.dir.join(SEEDED).exists()
}

/// The sample applications, as applicants and officials file and decide them.
struct Office<'v, 'a> {
    vaults: &'v Vaults<'a>,
}

impl Office<'_, '_> {
    /// `civitas tx <args> --key <signer>` on the first node.
    fn tx(&self, signer: &str, args: &[&str]) -> Result<()> {
        let key = self.vaults.key(signer);
        let mut all = vec!["tx"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--key", &key, "--node", self.vaults.api(0)]);
        civitas(&all).map(|_| ())
    }

    /// `applicant` applies for `permit_type` with `answers` and `documents` (files in
    /// `samples/`); the number of the application.
    fn apply(
        &self,
        applicant: &str,
        permit_type: &str,
        answers: Value,
        documents: &[&str],
    ) -> Result<u64> {
        let samples = self.vaults.dir.join("samples");
        // The answers are the applicant's: they go to the vault, and the file goes.
        let file = samples.join(format!("{applicant}-{permit_type}-answers.json"));
        std::fs::write(&file, answers.to_string())?;
        let file_arg = file.to_string_lossy().into_owned();
        let key = self.vaults.key(applicant);
        let paths: Vec<String> = documents
            .iter()
            .map(|d| samples.join(d).to_string_lossy().into_owned())
            .collect();
        let mut args = vec![
            "vault",
            "apply",
            permit_type,
            "--answers",
            &file_arg,
            "--key",
            &key,
            "--node",
            self.vaults.api(0),
            "--json",
        ];
        for path in &paths {
            args.extend_from_slice(&["--document", path]);
        }
        let filed = civitas(&args);
        let _ = std::fs::remove_file(&file);
        let filed: Value = serde_json::from_str(&filed?)?;
        filed["application"]
            .as_u64()
            .context("civitas vault apply gave no application number")
    }

    /// `applicant` answers a request on `application` with corrected `answers`.
    fn answer(&self, applicant: &str, application: u64, answers: Value) -> Result<()> {
        let file = self
            .vaults
            .dir
            .join("samples")
            .join(format!("{applicant}-{application}-answers.json"));
        std::fs::write(&file, answers.to_string())?;
        let number = application.to_string();
        let done = civitas(&[
            "vault",
            "answer",
            &number,
            "--answers",
            &file.to_string_lossy(),
            "--key",
            &self.vaults.key(applicant),
            "--node",
            self.vaults.api(0),
        ]);
        let _ = std::fs::remove_file(&file);
        done.map(|_| ())
    }

    fn fee(&self, cashier: &str, application: u64, reference: &str) -> Result<()> {
        let number = application.to_string();
        self.tx(
            cashier,
            &["permits", "record-fee", &number, "--reference", reference],
        )
    }

    fn complete(&self, official: &str, application: u64, step: &str, reason: &str) -> Result<()> {
        let number = application.to_string();
        self.tx(
            official,
            &[
                "permits",
                "complete-step",
                &number,
                step,
                "--reason",
                reason,
            ],
        )
    }

    fn ask(&self, official: &str, application: u64, step: &str, request: &str) -> Result<()> {
        let number = application.to_string();
        self.tx(
            official,
            &[
                "permits",
                "request-information",
                &number,
                step,
                "--request",
                request,
            ],
        )
    }

    fn decide(
        &self,
        official: &str,
        application: u64,
        grant: Option<&str>,
        reason: &str,
    ) -> Result<()> {
        let number = application.to_string();
        let mut args = vec!["permits", "decide", &number, "decision", "--reason", reason];
        match grant {
            Some(scope) => args.extend_from_slice(&["--grant", scope]),
            None => args.push("--refuse"),
        }
        self.tx(official, &args)
    }
}

/// Files the sample applications once the vaults run (once per network). Skipped, and marked
/// done, on a network without finance, land and health (whose treasury samples open the year
/// fees are received in) or without the permit types.
pub(crate) fn seed(vaults: &Vaults<'_>) -> Result<()> {
    if seeded(vaults) {
        return Ok(());
    }
    let client = civitas_client::Client::new(vaults.api(0));
    let skip = || -> Result<()> {
        std::fs::write(vaults.dir.join(SEEDED), "no sample applications here\n")?;
        Ok(())
    };
    let genesis = client.get_json("/v1/genesis").unwrap_or_default();
    let agencies: Vec<&str> = genesis["agencies"]
        .as_array()
        .map(|a| a.iter().filter_map(|a| a["id"].as_str()).collect())
        .unwrap_or_default();
    if !["finance", "land", "health"]
        .iter()
        .all(|a| agencies.contains(a))
        || client
            .get_json("/v1/permits/types/business-licence")
            .is_err()
    {
        return skip();
    }
    // A run that stopped half way filed some: what it filed stays and nothing is filed twice
    // (the samples are for a newcomer to look at; a fresh devnet has them all).
    if client.get_json("/v1/permits/applications/1").is_ok() {
        return skip();
    }
    let office = Office { vaults };
    // The trader, with an encryption key (the vault seals each form for its applicant too).
    vaults.new_key(TRADER)?;
    let account = vaults.account(TRADER)?;
    if client.get_json(&format!("/v1/accounts/{account}")).is_err() {
        let trader = vaults.key(TRADER);
        office.tx(
            "land",
            &["identity", "register-citizen", "--citizen-key", &trader],
        )?;
        office.tx(
            TRADER,
            &[
                "identity",
                "set-encryption-key",
                "--encryption-key",
                &trader,
            ],
        )?;
    }
    let ana = CITIZEN;
    let plan = "floor-plan-12-market-street.txt";
    let workshop = "floor-plan-3-mill-lane.txt";
    let site = [
        "site-plan-4-river-road.txt",
        "structural-drawings-4-river-road.txt",
    ];

    // Ana's café: asked for more at the inspection, answered, granted.
    let cafe = office.apply(
        ana,
        "business-licence",
        json!({"trade": "food", "floor_area": 40, "opening": "2027-03-01",
               "notes": "ground floor, street entrance"}),
        &[plan],
    )?;
    office.fee("finance-cashier", cafe, "PSP-2026-000101")?;
    office.complete(
        "finance-clerk",
        cafe,
        "completeness",
        "all documents present",
    )?;
    office.ask(
        "finance-inspector",
        cafe,
        "inspection",
        "the floor area including the storeroom",
    )?;
    office.answer(
        ana,
        cafe,
        json!({"trade": "food", "floor_area": 55, "opening": "2027-03-01",
               "notes": "ground floor, street entrance; storeroom included"}),
    )?;
    office.complete(
        "finance-inspector",
        cafe,
        "inspection",
        "premises inspected: fire exit and ventilation in order",
    )?;
    office.decide(
        "finance-licensing",
        cafe,
        Some("Café, 55 m², 12 Market Street"),
        "inspection passed",
    )?;

    // Ben's workshop: the inspector waits for his answer.
    let workshop_application = office.apply(
        TRADER,
        "business-licence",
        json!({"trade": "workshop", "floor_area": 80}),
        &[workshop],
    )?;
    office.fee("finance-cashier", workshop_application, "PSP-2026-000102")?;
    office.complete(
        "finance-clerk",
        workshop_application,
        "completeness",
        "all documents present",
    )?;
    office.ask(
        "finance-inspector",
        workshop_application,
        "inspection",
        "a ventilation plan for the workshop",
    )?;

    // Ben's shop in the same premises: refused, and appealed.
    let shop = office.apply(
        TRADER,
        "business-licence",
        json!({"trade": "retail", "floor_area": 30}),
        &[workshop],
    )?;
    office.fee("finance-cashier", shop, "PSP-2026-000103")?;
    office.complete(
        "finance-clerk",
        shop,
        "completeness",
        "all documents present",
    )?;
    office.complete(
        "finance-inspector",
        shop,
        "inspection",
        "premises inspected",
    )?;
    office.decide(
        "finance-licensing",
        shop,
        None,
        "the zoning plan permits workshops at this site, not retail",
    )?;
    let grounds = civitas_core::hash::Hash32::sha256(
        b"Grounds of appeal: the zoning plan of 2019 allows retail on ground floors of Mill Lane.",
    )
    .to_hex();
    let number = shop.to_string();
    office.tx(
        TRADER,
        &["permits", "appeal", &number, "--grounds", &grounds],
    )?;

    // Ana's extension: filed, its fee not yet paid.
    office.apply(
        ana,
        "building-permit",
        json!({"works": "extension", "storeys": 2, "start": "2027-05-01", "heritage": false}),
        &site,
    )?;
    // Ben's alteration: granted, a private permit.
    let alteration = office.apply(
        TRADER,
        "building-permit",
        json!({"works": "alteration", "storeys": 1, "start": "2027-04-01", "heritage": false}),
        &site,
    )?;
    office.fee("land-cashier", alteration, "PSP-2026-000201")?;
    office.complete(
        "land-clerk",
        alteration,
        "completeness",
        "site plan and drawings present",
    )?;
    office.decide(
        "land-planner",
        alteration,
        Some("Ground-floor alteration as in the approved site plan"),
        "conforms to the local plan",
    )?;

    // Ana's second shop: paid, in the clerk's queue.
    let kiosk = office.apply(
        ana,
        "business-licence",
        json!({"trade": "retail", "floor_area": 20}),
        &[plan],
    )?;
    office.fee("finance-cashier", kiosk, "PSP-2026-000104")?;
    // Ben's market stall: paid; nobody checks it within the minute, so it goes overdue.
    let stall = office.apply(
        TRADER,
        "street-market-stall",
        json!({"trade": "food", "floor_area": 6}),
        &[],
    )?;
    office.fee("land-cashier", stall, "PSP-2026-000202")?;
    std::fs::write(
        vaults.dir.join(SEEDED),
        "the sample applications were filed\n",
    )?;
    Ok(())
}
