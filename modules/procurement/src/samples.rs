//! Procurement's devnet samples: tenders at every stage (planned, open for bids, awarded and
//! under contract with a paid milestone, cancelled), on the budget treasury's samples adopted.
//! They need the finance and health ministries; without either they are skipped.

use civitas_core::hash::Hash32;
use civitas_core::instruction::{Instruction, MetadataEntry, NotaryInstruction};
use civitas_core::keyfile::KeyFile;
use civitas_core::money::Money;
use civitas_core::procurement::{
    Criterion, Method, MilestoneTerms, ProcurementInstruction, bid_commitment,
};
use civitas_core::time::TimestampMs;
use civitas_identity::samples::official;
use civitas_kit::samples::{Folder, SampleError, Seeder, has_agency};
use civitas_treasury::samples::eur;

const DAY_MS: u64 = 86_400_000;
/// How long the sample tender that gets awarded takes bids, in seconds.
const SHORT_DEADLINE_S: u64 = 20;

fn procurement(op: ProcurementInstruction) -> Instruction {
    Instruction::Procurement(op)
}

/// A sealed bid and the instruction that opens it, with its secret written next to the
/// vendor's key (`keys/<vendor>-tender-<n>.bid.json`).
fn seal(
    seeder: &mut dyn Seeder,
    vendor: &KeyFile,
    vendor_name: &str,
    tender: u64,
    price: Money,
    proposal_text: &str,
) -> Result<(Instruction, Instruction), SampleError> {
    let proposal = Hash32::sha256(proposal_text.as_bytes());
    let salt = Hash32(seeder.secret()?);
    let bidder = vendor.account();
    let commitment = bid_commitment(tender, &bidder, &price, &proposal, &salt);
    let secret = serde_json::json!({
        "tender": tender, "bidder": bidder, "price": price,
        "proposal": proposal, "salt": salt, "commitment": commitment,
    });
    seeder.write(
        Folder::Keys,
        &format!("{vendor_name}-tender-{tender}.bid.json"),
        (serde_json::to_string_pretty(&secret)? + "\n").as_bytes(),
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

/// Seeds the procurement officials and four tenders: tender 1 awarded to Acme, under contract
/// with its first milestone accepted and paid; tender 2 open for bids for a month; tender 3
/// planned; tender 4 cancelled.
pub fn seed(seeder: &mut dyn Seeder) -> Result<(), SampleError> {
    if !has_agency(seeder, "finance") || !has_agency(seeder, "health") {
        return Ok(());
    }
    let health_admin = seeder.key("health", "health admin")?;
    let buyer = seeder.key("health-procurement", "health procurement official")?;
    let evaluator = seeder.key("health-evaluator", "health evaluation committee")?;
    let acme = seeder.key("vendor-acme", "Acme Construction (vendor)")?;
    let bolt = seeder.key("vendor-bolt", "Bolt Builders (vendor)")?;
    let medsupply = seeder.key("vendor-medsupply", "MedSupply Ltd (vendor)")?;
    seeder.phase(vec![
        (
            health_admin.clone(),
            official(
                &buyer,
                "health",
                "Rosalind Franklin",
                &["procurement", "notary"],
            ),
        ),
        (
            health_admin,
            official(&evaluator, "health", "Elizabeth Blackwell", &["evaluator"]),
        ),
    ])?;

    // The tender documents, anchored by the procurement official (a notary too), and the plans.
    let terms = "Tender 1: rural clinic in Northfield. Two rooms, solar roof, 12 months.\n";
    let framework = "Tender 2: medical supplies framework, 24 months.\n";
    let mut txs = Vec::new();
    for (file, title, text) in [
        ("tender-1-terms.txt", "Tender 1 terms of reference", terms),
        (
            "tender-2-terms.txt",
            "Tender 2 terms of reference",
            framework,
        ),
    ] {
        seeder.write(Folder::Samples, file, text.as_bytes())?;
        txs.push((
            buyer.clone(),
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
            buyer.clone(),
            procurement(ProcurementInstruction::Plan {
                appropriation: if title.starts_with("Medical") { 2 } else { 1 },
                title: title.into(),
                description: description.into(),
                estimated: eur(estimate),
                method,
            }),
        ));
    }
    seeder.phase(txs)?;

    // Tender 1 closes in seconds (to be awarded now); tender 2 stays open for a month.
    let short_deadline = TimestampMs(seeder.now_ms() + SHORT_DEADLINE_S * 1_000);
    let month = TimestampMs(seeder.now_ms() + 30 * DAY_MS);
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
    seeder.phase(vec![
        (buyer.clone(), publish(1, terms, short_deadline)),
        (buyer.clone(), publish(2, framework, month)),
        (
            buyer.clone(),
            procurement(ProcurementInstruction::Cancel {
                tender: 4,
                reason: "service moved in-house".into(),
            }),
        ),
    ])?;
    let (acme_bid, acme_open) = seal(seeder, &acme, "vendor-acme", 1, eur(118_000), "Acme offer")?;
    let (bolt_bid, bolt_open) = seal(seeder, &bolt, "vendor-bolt", 1, eur(124_500), "Bolt offer")?;
    let (med_bid, _) = seal(
        seeder,
        &medsupply,
        "vendor-medsupply",
        2,
        eur(86_000),
        "MedSupply offer",
    )?;
    seeder.phase(vec![
        (acme.clone(), acme_bid),
        (bolt.clone(), bolt_bid),
        (medsupply, med_bid),
        (
            buyer.clone(),
            procurement(ProcurementInstruction::Clarify {
                tender: 2,
                question: "Are deliveries to rural clinics included?".into(),
                answer: "Yes, to every clinic listed in annex B.".into(),
            }),
        ),
    ])?;

    // Bids are opened once the deadline has passed, with a margin for the block times.
    seeder.wait_until(short_deadline.0 + 1_500)?;
    seeder.phase(vec![(acme.clone(), acme_open), (bolt.clone(), bolt_open)])?;
    let evaluate = |bidder: &KeyFile, scores: Vec<u8>, why: &str| {
        procurement(ProcurementInstruction::Evaluate {
            tender: 1,
            bidder: bidder.account(),
            scores,
            justification: why.into(),
        })
    };
    seeder.phase(vec![
        (
            evaluator.clone(),
            evaluate(
                &acme,
                vec![90, 80],
                "lowest price, complete method statement",
            ),
        ),
        (
            evaluator.clone(),
            evaluate(&bolt, vec![84, 85], "strong quality plan, higher price"),
        ),
    ])?;
    seeder.phase(vec![(
        evaluator,
        procurement(ProcurementInstruction::Award {
            tender: 1,
            bidder: acme.account(),
            justification: "highest weighted score (86.0 against 84.4)".into(),
        }),
    )])?;
    let now = seeder.now_ms();
    let due = |days| TimestampMs(now + days * DAY_MS);
    seeder.phase(vec![(
        buyer.clone(),
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
    )])?;
    seeder
        .phase(vec![(
            buyer,
            procurement(ProcurementInstruction::Accept {
                contract: 1,
                milestone: 0,
                note: "foundations inspected on site".into(),
            }),
        )])
        .map_err(|e| format!("accepting the sample milestone: {e}").into())
}
