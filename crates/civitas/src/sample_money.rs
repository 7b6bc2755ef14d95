//! The devnet's public-money sample data: a budget for the year with allotments, commitments
//! and payments, and tenders at every stage (planned, open for bids, awarded and under
//! contract with a paid milestone, cancelled), so a first look at the API shows a working
//! treasury.
//!
//! Transactions are sent in phases: within a phase they do not depend on each other, so they
//! are all submitted before waiting for any (each signer's nonces counted here).

use crate::keys::write_new_key;
use crate::output::read_key;
use anyhow::{Context, Result, bail};
use civitas_client::{Client, build_tx};
use civitas_core::crypto::AccountId;
use civitas_core::genesis::Genesis;
use civitas_core::hash::Hash32;
use civitas_core::instruction::{
    IdentityInstruction, Instruction, MetadataEntry, NotaryInstruction, ProcurementInstruction,
    TreasuryInstruction,
};
use civitas_core::keyfile::KeyFile;
use civitas_core::money::{Currency, Money};
use civitas_core::procurement::{Criterion, Method, MilestoneTerms, bid_commitment};
use civitas_core::time::TimestampMs;
use civitas_core::treasury::Direction;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const DAY_MS: u64 = 86_400_000;
/// How long the sample tender that gets awarded takes bids, in seconds.
const SHORT_DEADLINE_S: u64 = 20;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn eur(major: u64) -> Money {
    Money::new(
        major * 100,
        Currency::parse("EUR").expect("EUR is a currency code"),
    )
}

/// Keys by short name, created in `keys/` on first use.
struct Keys<'a> {
    dir: &'a Path,
    loaded: BTreeMap<&'static str, KeyFile>,
}

impl Keys<'_> {
    fn get(&mut self, name: &'static str, label: &str) -> Result<KeyFile> {
        if let Some(key) = self.loaded.get(name) {
            return Ok(key.clone());
        }
        let path = self.dir.join("keys").join(format!("{name}.json"));
        let key = match read_key(&path) {
            Ok(key) => key,
            Err(_) => write_new_key(&path, label)?,
        };
        self.loaded.insert(name, key.clone());
        Ok(key)
    }
}

/// Submits a phase of independent transactions, then waits for all of them.
fn phase(client: &Client, chain: &str, txs: Vec<(&KeyFile, Instruction)>) -> Result<()> {
    let mut nonces: BTreeMap<AccountId, u64> = BTreeMap::new();
    let mut hashes = Vec::new();
    for (key, instruction) in txs {
        let account = key.account();
        let nonce = match nonces.get(&account) {
            Some(n) => *n,
            None => client.next_nonce(&account)?,
        };
        nonces.insert(account, nonce + 1);
        let name = instruction.name();
        let tx = build_tx(chain, key, nonce, vec![instruction], "devnet sample data")?;
        hashes.push((name, client.submit(&tx)?));
    }
    for (name, hash) in hashes {
        let finality = client.wait(&hash, Duration::from_secs(60))?;
        if finality.status != "finalized" {
            bail!(
                "sample {name} ({hash}) ended {}: {}",
                finality.status,
                finality.document
            );
        }
    }
    Ok(())
}

fn official(key: &KeyFile, agency: &str, name: &str, roles: &[&str]) -> Instruction {
    Instruction::Identity(IdentityInstruction::RegisterOfficial {
        key: key.public_key.clone(),
        agency: agency.into(),
        name: name.into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
    })
}

fn treasury(op: TreasuryInstruction) -> Instruction {
    Instruction::Treasury(op)
}

fn procurement(op: ProcurementInstruction) -> Instruction {
    Instruction::Procurement(op)
}

/// A sealed bid, with its secret written next to the vendor's key.
fn seal(
    dir: &Path,
    vendor: &KeyFile,
    vendor_name: &str,
    tender: u64,
    price: Money,
    proposal_text: &str,
) -> Result<(Instruction, Instruction)> {
    let proposal = Hash32::sha256(proposal_text.as_bytes());
    let salt = Hash32(civitas_core::crypto::random_32()?);
    let bidder = vendor.account();
    let commitment = bid_commitment(tender, &bidder, &price, &proposal, &salt);
    let secret = serde_json::json!({
        "tender": tender, "bidder": bidder, "price": price,
        "proposal": proposal, "salt": salt, "commitment": commitment,
    });
    std::fs::write(
        dir.join("keys")
            .join(format!("{vendor_name}-tender-{tender}.bid.json")),
        serde_json::to_string_pretty(&secret)? + "\n",
    )?;
    let bid = procurement(ProcurementInstruction::Bid {
        tender,
        commitment,
        sealed: Vec::new(),
    });
    let open = procurement(ProcurementInstruction::Open {
        tender,
        bidder,
        price,
        proposal,
        salt,
    });
    Ok((bid, open))
}

/// Seeds the public-money samples once (marker `sample-money.done`).
pub(crate) fn seed(dir: &Path, client: &Client, genesis: &Genesis) -> Result<()> {
    let marker = dir.join("sample-money.done");
    if marker.exists() {
        return Ok(());
    }
    let has = |id: &str| genesis.agencies.iter().any(|a| a.id == id);
    if !has("finance") || !has("health") {
        // The samples need the finance ministry (the budget) and a spending ministry.
        return Ok(());
    }
    let chain = genesis.chain_id.as_str();
    let mut keys = Keys {
        dir,
        loaded: BTreeMap::new(),
    };
    let finance_admin = keys.get("finance", "finance admin")?;
    let health_admin = keys.get("health", "health admin")?;
    let budget = keys.get("finance-budget", "finance budget official")?;
    let treasurer = keys.get("health-treasurer", "health treasurer")?;
    let treasurer_2 = keys.get("health-treasurer-2", "health second treasurer")?;
    let buyer = keys.get("health-procurement", "health procurement official")?;
    let evaluator = keys.get("health-evaluator", "health evaluation committee")?;
    let acme = keys.get("vendor-acme", "Acme Construction (vendor)")?;
    let bolt = keys.get("vendor-bolt", "Bolt Builders (vendor)")?;
    let medsupply = keys.get("vendor-medsupply", "MedSupply Ltd (vendor)")?;
    let vendors = [
        (&acme, "Acme Construction", "RC-2019-0042"),
        (&bolt, "Bolt Builders", "RC-2021-1187"),
        (&medsupply, "MedSupply Ltd", "RC-2016-0733"),
    ];

    phase(
        client,
        chain,
        [
            (
                &finance_admin,
                official(&budget, "finance", "Grace Hopper", &["budget"]),
            ),
            (
                &health_admin,
                official(&treasurer, "health", "Mary Seacole", &["treasurer"]),
            ),
            (
                &health_admin,
                official(
                    &treasurer_2,
                    "health",
                    "Florence Nightingale",
                    &["treasurer"],
                ),
            ),
            (
                &health_admin,
                official(
                    &buyer,
                    "health",
                    "Rosalind Franklin",
                    &["procurement", "notary"],
                ),
            ),
            (
                &health_admin,
                official(&evaluator, "health", "Elizabeth Blackwell", &["evaluator"]),
            ),
        ]
        .into_iter()
        .chain(vendors.iter().map(|(key, _, _)| {
            (
                &health_admin,
                Instruction::Identity(IdentityInstruction::RegisterCitizen {
                    key: key.public_key.clone(),
                }),
            )
        }))
        .collect(),
    )?;

    // The year the devnet starts in, as block times are wall-clock times.
    let year = TimestampMs(now_ms()).civil().0 as u32;
    let mut txs: Vec<(&KeyFile, Instruction)> = vec![(
        &budget,
        treasury(TreasuryInstruction::OpenYear {
            year,
            currency: Currency::parse("EUR")?,
            procurement_threshold: eur(100_000).amount,
        }),
    )];
    for (key, name, registration) in &vendors {
        txs.push((
            &buyer,
            treasury(TreasuryInstruction::RegisterVendor {
                account: key.account(),
                name: name.to_string(),
                registration: registration.to_string(),
            }),
        ));
    }
    phase(client, chain, txs)?;

    // Appropriations 1 to 4, then allotments.
    let lines = [
        (
            "health",
            "hospitals",
            "capital-works",
            "Rural clinics programme",
            500_000,
        ),
        (
            "health",
            "primary-care",
            "2211",
            "Medical supplies",
            250_000,
        ),
        (
            "land",
            "cadastre",
            "2212",
            "Cadastral survey services",
            120_000,
        ),
        (
            "finance",
            "administration",
            "2111",
            "Treasury operations",
            80_000,
        ),
    ];
    let appropriations: Vec<(&KeyFile, Instruction)> = lines
        .iter()
        .filter(|(agency, ..)| has(agency))
        .map(|(agency, programme, classification, purpose, amount)| {
            (
                &budget,
                treasury(TreasuryInstruction::Appropriate {
                    year,
                    agency: agency.to_string(),
                    programme: programme.to_string(),
                    classification: classification.to_string(),
                    purpose: purpose.to_string(),
                    amount: eur(*amount),
                }),
            )
        })
        .collect();
    phase(client, chain, appropriations)?;
    phase(
        client,
        chain,
        vec![
            (
                &budget,
                treasury(TreasuryInstruction::Allot {
                    appropriation: 1,
                    direction: Direction::Increase,
                    amount: eur(300_000),
                    reason: "first half of the year".into(),
                }),
            ),
            (
                &budget,
                treasury(TreasuryInstruction::Allot {
                    appropriation: 2,
                    direction: Direction::Increase,
                    amount: eur(125_000),
                    reason: "first half of the year".into(),
                }),
            ),
        ],
    )?;

    // Direct spending on supplies, and the tender documents.
    let documents = dir.join("samples");
    std::fs::create_dir_all(&documents)?;
    let terms = "Tender 1: rural clinic in Northfield. Two rooms, solar roof, 12 months.\n";
    let framework = "Tender 2: medical supplies framework, 24 months.\n";
    let mut anchors = Vec::new();
    for (file, title, text) in [
        ("tender-1-terms.txt", "Tender 1 terms of reference", terms),
        (
            "tender-2-terms.txt",
            "Tender 2 terms of reference",
            framework,
        ),
    ] {
        std::fs::write(documents.join(file), text)?;
        anchors.push((
            &buyer,
            Instruction::Notary(NotaryInstruction::Anchor {
                document: Hash32::sha256(text.as_bytes()),
                title: title.into(),
                metadata: vec![MetadataEntry {
                    key: "file".into(),
                    value: file.into(),
                }],
            }),
        ));
    }
    let mut txs = anchors;
    txs.push((
        &treasurer,
        treasury(TreasuryInstruction::Commit {
            appropriation: 2,
            vendor: medsupply.account(),
            amount: eur(40_000),
            description: "Vaccines and syringes, first quarter".into(),
        }),
    ));
    for (title, description, estimate, method) in [
        (
            "Rural clinic in Northfield",
            "Build a two-room clinic with a solar roof",
            130_000,
            Method::Open,
        ),
        (
            "Medical supplies framework",
            "Framework agreement for consumables",
            90_000,
            Method::Open,
        ),
        (
            "Ambulance maintenance",
            "Servicing of the ambulance fleet",
            30_000,
            Method::Limited,
        ),
        (
            "Hospital laundry service",
            "Outsourced laundry for the district hospital",
            45_000,
            Method::Open,
        ),
    ] {
        txs.push((
            &buyer,
            procurement(ProcurementInstruction::Plan {
                appropriation: if title.starts_with("Medical") { 2 } else { 1 },
                title: title.into(),
                description: description.into(),
                estimated: eur(estimate),
                method,
            }),
        ));
    }
    phase(client, chain, txs)?;

    // Tender 1 closes in seconds (to be awarded now); tender 2 stays open for a month.
    let short_deadline = TimestampMs(now_ms() + SHORT_DEADLINE_S * 1_000);
    let criteria = vec![
        Criterion {
            name: "price".into(),
            weight: 60,
        },
        Criterion {
            name: "quality".into(),
            weight: 40,
        },
    ];
    let publish = |tender: u64, text: &str, deadline: TimestampMs| {
        procurement(ProcurementInstruction::Publish {
            tender,
            documents: vec![Hash32::sha256(text.as_bytes())],
            deadline,
            criteria: criteria.clone(),
            committee: vec![evaluator.account()],
            standstill_days: 0,
        })
    };
    phase(
        client,
        chain,
        vec![
            (&buyer, publish(1, terms, short_deadline)),
            (
                &buyer,
                publish(2, framework, TimestampMs(now_ms() + 30 * DAY_MS)),
            ),
            (
                &buyer,
                procurement(ProcurementInstruction::Cancel {
                    tender: 4,
                    reason: "service moved in-house".into(),
                }),
            ),
            (
                &treasurer,
                treasury(TreasuryInstruction::Pay {
                    commitment: 1,
                    amount: eur(25_000),
                    reference: "MS-INV-2231".into(),
                }),
            ),
        ],
    )?;
    let (acme_bid, acme_open) = seal(dir, &acme, "vendor-acme", 1, eur(118_000), "Acme offer")?;
    let (bolt_bid, bolt_open) = seal(dir, &bolt, "vendor-bolt", 1, eur(124_500), "Bolt offer")?;
    let (med_bid, _) = seal(
        dir,
        &medsupply,
        "vendor-medsupply",
        2,
        eur(86_000),
        "MedSupply offer",
    )?;
    phase(
        client,
        chain,
        vec![
            (&acme, acme_bid),
            (&bolt, bolt_bid),
            (&medsupply, med_bid),
            (
                &buyer,
                procurement(ProcurementInstruction::Clarify {
                    tender: 2,
                    question: "Are deliveries to rural clinics included?".into(),
                    answer: "Yes, to every clinic listed in annex B.".into(),
                }),
            ),
        ],
    )?;

    let started = Instant::now();
    while now_ms() <= short_deadline.0 + 1_500 {
        if started.elapsed() > Duration::from_secs(SHORT_DEADLINE_S + 30) {
            bail!("the sample tender's deadline did not pass");
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    phase(client, chain, vec![(&acme, acme_open), (&bolt, bolt_open)])?;
    let evaluate = |bidder: &KeyFile, scores: Vec<u8>, why: &str| {
        procurement(ProcurementInstruction::Evaluate {
            tender: 1,
            bidder: bidder.account(),
            scores,
            justification: why.into(),
        })
    };
    phase(
        client,
        chain,
        vec![
            (
                &evaluator,
                evaluate(
                    &acme,
                    vec![90, 80],
                    "lowest price, complete method statement",
                ),
            ),
            (
                &evaluator,
                evaluate(&bolt, vec![84, 85], "strong quality plan, higher price"),
            ),
        ],
    )?;
    phase(
        client,
        chain,
        vec![(
            &evaluator,
            procurement(ProcurementInstruction::Award {
                tender: 1,
                bidder: acme.account(),
                justification: "highest weighted score (86.0 against 84.4)".into(),
            }),
        )],
    )?;
    let due = |days| TimestampMs(now_ms() + days * DAY_MS);
    phase(
        client,
        chain,
        vec![(
            &buyer,
            procurement(ProcurementInstruction::Sign {
                tender: 1,
                milestones: vec![
                    MilestoneTerms {
                        title: "Foundations and structure".into(),
                        amount: eur(40_000),
                        due: due(90),
                    },
                    MilestoneTerms {
                        title: "Roof, fittings and handover".into(),
                        amount: eur(78_000),
                        due: due(240),
                    },
                ],
            }),
        )],
    )?;
    phase(
        client,
        chain,
        vec![(
            &buyer,
            procurement(ProcurementInstruction::Accept {
                contract: 1,
                milestone: 0,
                note: "foundations inspected on site".into(),
            }),
        )],
    )
    .context("accepting the sample milestone")?;
    std::fs::write(
        marker,
        "sample budget, commitments, payments and tenders were seeded\n",
    )?;
    Ok(())
}
