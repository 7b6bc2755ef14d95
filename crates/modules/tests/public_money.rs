//! Public money end to end, executed block by block: a budget, commitments and payments within
//! their limits, a tender from plan to the last milestone payment, and every rule that must
//! refuse (late bid, changed bid, altered opening, overspending, an award by someone not on the
//! committee, a payment without acceptance, a large payment by one official).

mod common;

use civitas_core::bundle::StateKey;
use civitas_core::crypto::{AccountId, PrivateKey};
use civitas_core::event::Event;
use civitas_core::hash::Hash32;
use civitas_core::instruction::{
    IdentityInstruction, Instruction, ProcurementInstruction, TreasuryInstruction,
};
use civitas_core::money::{Currency, Money};
use civitas_core::procurement::{
    Criterion, Method, MilestoneTerms, ProcurementEvent, bid_commitment,
};
use civitas_core::receipt::{Receipt, TxOutcome};
use civitas_core::time::TimestampMs;
use civitas_core::treasury::Direction;
use civitas_core::tx::{SignedTx, TxBody};
use civitas_kit::index::Index;
use civitas_kit::index::query::Order;
use civitas_modules::procurement::ocds;
use civitas_modules::procurement::state::{
    Bid, Contract, Stage, Tender, bid_key, contract_key, tender_key,
};
use civitas_modules::treasury::state::{
    Appropriation, Dimension, Entry, Payment, Total, appropriation_key, entry_key, figure_slot,
    payment_key, total_key,
};
use common::*;
use std::collections::BTreeMap;

struct World {
    chain: Chain,
    keys: BTreeMap<&'static str, PrivateKey>,
    nonces: BTreeMap<&'static str, u64>,
}

fn eur(amount: u64) -> Money {
    Money::new(amount, Currency::parse("EUR").unwrap())
}

fn treasury(op: TreasuryInstruction) -> Instruction {
    Instruction::Treasury(op)
}

fn procurement(op: ProcurementInstruction) -> Instruction {
    Instruction::Procurement(op)
}

impl World {
    fn new() -> Self {
        let mut world = Self {
            chain: Chain::new(),
            keys: BTreeMap::new(),
            nonces: BTreeMap::new(),
        };
        let names = [
            "finance-admin",
            "health-admin",
            "budget",
            "treasurer",
            "treasurer-2",
            "buyer",
            "evaluator",
            "acme",
            "bolt",
            "late",
        ];
        for (i, name) in names.iter().enumerate() {
            let seed = match *name {
                "finance-admin" => 101,
                "health-admin" => 103,
                _ => 700 + i as u64,
            };
            world.keys.insert(name, PrivateKey::from_test_seed(seed));
        }
        for (admin, official, agency, roles) in [
            ("finance-admin", "budget", "finance", vec!["budget"]),
            ("health-admin", "treasurer", "health", vec!["treasurer"]),
            ("health-admin", "treasurer-2", "health", vec!["treasurer"]),
            (
                "health-admin",
                "buyer",
                "health",
                vec!["procurement", "notary"],
            ),
            ("health-admin", "evaluator", "health", vec!["evaluator"]),
        ] {
            let op = Instruction::Identity(IdentityInstruction::RegisterOfficial {
                key: world.keys[official].public_key(),
                agency: agency.into(),
                name: official.into(),
                roles: roles.into_iter().map(String::from).collect(),
            });
            world.ok("", admin, op);
        }
        for business in ["acme", "bolt", "late"] {
            let op = Instruction::Identity(IdentityInstruction::RegisterCitizen {
                key: world.keys[business].public_key(),
            });
            world.ok("", "health-admin", op);
            let op = treasury(TreasuryInstruction::RegisterVendor {
                account: world.id(business),
                name: format!("{business} Ltd"),
                registration: format!("RC-{business}"),
            });
            world.ok("", "buyer", op);
        }
        world
    }

    fn id(&self, name: &str) -> AccountId {
        self.keys[name].public_key().account_id()
    }

    fn signed(&mut self, name: &'static str, signers: &[&str], op: Instruction) -> SignedTx {
        let nonce = self.nonces.entry(name).or_insert(0);
        let body = TxBody {
            chain_id: "test".into(),
            signer: self.keys[name].public_key().account_id(),
            nonce: *nonce,
            expiry: TimestampMs(u64::MAX),
            instructions: vec![op],
            memo: String::new(),
        };
        *nonce += 1;
        let keys: Vec<&PrivateKey> = signers.iter().map(|s| &self.keys[s]).collect();
        body.into_signed(&keys)
    }

    fn send_with(&mut self, name: &'static str, signers: &[&str], op: Instruction) -> Receipt {
        let tx = self.signed(name, signers, op);
        self.chain.one(tx)
    }

    fn send(&mut self, name: &'static str, op: Instruction) -> Receipt {
        self.send_with(name, &[name], op)
    }

    /// Sends and expects success.
    fn ok(&mut self, what: &str, name: &'static str, op: Instruction) -> Receipt {
        let receipt = self.send(name, op);
        assert!(receipt.succeeded(), "{what}: {receipt:?}");
        receipt
    }

    /// Sends and expects a failure with `code`; returns its message.
    fn refused(&mut self, code: &str, name: &'static str, op: Instruction) -> String {
        let receipt = self.send(name, op);
        let message = receipt.outcome.message().unwrap_or_default();
        match receipt.outcome {
            TxOutcome::Failed { code: got, .. } => {
                assert_eq!(got, code, "{message}");
                message
            }
            TxOutcome::Success => panic!("expected {code}, but it succeeded: {receipt:?}"),
        }
    }

    fn now(&self) -> TimestampMs {
        self.chain.env().timestamp
    }

    fn read<T: commonware_codec::Decode<Cfg = ()>>(&self, key: &StateKey) -> T {
        read(&self.chain, key).unwrap_or_else(|| panic!("{key:?} is missing"))
    }
}

/// Every entry of a total, newest first, by following the links back from the total.
fn walk(world: &World, total: &Total) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut next = total.last_entry;
    while next != 0 {
        let entry: Entry = world.read(&entry_key(next));
        next = entry.previous_in(total.dimension).unwrap();
        entries.push(entry);
    }
    entries
}

/// Each figure of a total equals the sum of the signed amounts of its entries.
fn check_total(world: &World, year: u32, dimension: Dimension, value: &str) -> Total {
    let total: Total = world.read(&total_key(year, dimension, value));
    let entries = walk(world, &total);
    assert_eq!(entries.len() as u64, total.entries);
    let mut sums = [0i128; 4];
    for entry in &entries {
        assert_eq!(entry.value_in(dimension).as_deref(), Some(value));
        sums[figure_slot(entry.kind)] += entry.signed_amount();
    }
    let f = total.figures;
    assert_eq!(
        sums,
        [
            i128::from(f.appropriated),
            i128::from(f.allotted),
            i128::from(f.committed),
            i128::from(f.paid)
        ],
        "{dimension:?} {value}"
    );
    total
}

#[test]
fn budget_limits_hold_and_every_total_equals_its_records() {
    let mut w = World::new();
    let open = treasury(TreasuryInstruction::OpenYear {
        year: 2026,
        currency: Currency::parse("EUR").unwrap(),
        procurement_threshold: 10_000_000,
    });
    // Only the finance authority opens years.
    w.refused("not_authorized", "treasurer", open.clone());
    w.ok("open year", "budget", open.clone());
    w.refused("year_exists", "budget", open);
    let appropriate = treasury(TreasuryInstruction::Appropriate {
        year: 2026,
        agency: "health".into(),
        programme: "primary-care".into(),
        classification: "2211".into(),
        purpose: "Clinic supplies and works".into(),
        amount: eur(100_000_000),
    });
    w.refused("not_authorized", "treasurer", appropriate.clone());
    w.ok("appropriate", "budget", appropriate);
    let usd = treasury(TreasuryInstruction::Allot {
        appropriation: 1,
        direction: Direction::Increase,
        amount: Money::new(5, Currency::parse("USD").unwrap()),
        reason: "Q1".into(),
    });
    w.refused("currency_mismatch", "budget", usd);

    // Nothing is committed before it is allotted.
    let commit = |amount| {
        treasury(TreasuryInstruction::Commit {
            appropriation: 1,
            vendor: PrivateKey::from_test_seed(707).public_key().account_id(),
            amount: eur(amount),
            description: "Medical supplies".into(),
        })
    };
    let message = w.refused("exceeds_allotment", "treasurer", commit(1_000));
    assert!(
        message.contains("10.00 EUR above the 0.00 EUR allotted"),
        "{message}"
    );
    let allot = |amount, direction| {
        treasury(TreasuryInstruction::Allot {
            appropriation: 1,
            direction,
            amount: eur(amount),
            reason: "first half".into(),
        })
    };
    w.ok("allot", "budget", allot(60_000_000, Direction::Increase));
    let message = w.refused(
        "exceeds_appropriation",
        "budget",
        allot(50_000_000, Direction::Increase),
    );
    assert!(
        message.contains("100000.00 EUR above the 1000000.00 EUR appropriated"),
        "{message}"
    );

    // Commitments within the allotment; payments within the commitment.
    w.ok("commit", "treasurer", commit(4_000_000));
    let pay = |commitment, amount| {
        treasury(TreasuryInstruction::Pay {
            commitment,
            amount: eur(amount),
            reference: "INV-1".into(),
        })
    };
    let message = w.refused("exceeds_commitment", "treasurer", pay(1, 4_500_000));
    assert!(
        message.contains("5000.00 EUR above the 40000.00 EUR committed"),
        "{message}"
    );
    w.ok("pay", "treasurer", pay(1, 3_000_000));
    // Another agency's treasurer cannot spend health's money.
    let message = w.refused("not_authorized", "budget", pay(1, 1));
    assert!(
        message.contains("treasurer-spends-own-agency-money"),
        "{message}"
    );

    // Above 50,000.00 a payment needs two treasurers.
    w.ok("commit large", "treasurer", commit(20_000_000));
    let message = w.refused("not_authorized", "treasurer", pay(2, 10_000_000));
    assert!(
        message.contains("two-treasurers-above-threshold"),
        "{message}"
    );
    let receipt = w.send_with(
        "treasurer",
        &["treasurer", "treasurer-2"],
        pay(2, 10_000_000),
    );
    assert!(receipt.succeeded(), "{receipt:?}");
    let payment: Payment = w.read(&payment_key(2));
    assert_eq!(
        payment.approvers,
        vec![w.id("treasurer"), w.id("treasurer-2")]
    );

    // Corrections are compensating entries.
    let reverse = treasury(TreasuryInstruction::ReversePayment {
        payment: 1,
        reason: "invoice paid twice".into(),
    });
    w.ok("reverse", "treasurer", reverse.clone());
    w.refused("already_reversed", "treasurer", reverse);
    let lower = treasury(TreasuryInstruction::AdjustCommitment {
        commitment: 2,
        direction: Direction::Decrease,
        amount: eur(15_000_000),
        reason: "scope reduced".into(),
    });
    let message = w.refused("below_paid", "treasurer", lower);
    assert!(
        message.contains("50000.00 EUR below the 100000.00 EUR already paid"),
        "{message}"
    );
    let message = w.refused(
        "below_committed",
        "budget",
        allot(40_000_000, Direction::Decrease),
    );
    assert!(
        message.contains("below the 240000.00 EUR already committed"),
        "{message}"
    );
    w.ok(
        "take back",
        "budget",
        allot(10_000_000, Direction::Decrease),
    );

    let appropriation: Appropriation = w.read(&appropriation_key(1));
    assert_eq!(appropriation.figures.appropriated, 100_000_000);
    assert_eq!(appropriation.figures.allotted, 50_000_000);
    assert_eq!(appropriation.figures.committed, 24_000_000);
    assert_eq!(appropriation.figures.paid, 10_000_000);

    let vendor = PrivateKey::from_test_seed(707)
        .public_key()
        .account_id()
        .to_hex();
    let month = civitas_modules::treasury::state::month_of(w.now());
    let all = check_total(&w, 2026, Dimension::All, "");
    assert_eq!(all.figures, appropriation.figures);
    for (dimension, value) in [
        (Dimension::Agency, "health"),
        (Dimension::Programme, "primary-care"),
        (Dimension::Classification, "2211"),
        (Dimension::Month, month.as_str()),
    ] {
        assert_eq!(check_total(&w, 2026, dimension, value).figures, all.figures);
    }
    let by_vendor = check_total(&w, 2026, Dimension::Vendor, &vendor);
    assert_eq!(by_vendor.figures.committed, 24_000_000);
    assert_eq!(by_vendor.figures.paid, 10_000_000);
    assert_eq!(by_vendor.figures.appropriated, 0);

    // A closed year takes no more payments.
    w.ok(
        "close",
        "budget",
        treasury(TreasuryInstruction::CloseYear { year: 2026 }),
    );
    w.refused("year_closed", "treasurer", pay(2, 1));
}

#[test]
fn a_tender_runs_from_plan_to_last_payment_and_refuses_every_shortcut() {
    tender_story();
}

/// A tender from plan to the last milestone payment, with every shortcut refused on the way;
/// the world at its end.
fn tender_story() -> World {
    let mut w = World::new();
    w.ok(
        "open year",
        "budget",
        treasury(TreasuryInstruction::OpenYear {
            year: 2026,
            currency: Currency::parse("EUR").unwrap(),
            procurement_threshold: 10_000_000,
        }),
    );
    for op in [
        TreasuryInstruction::Appropriate {
            year: 2026,
            agency: "health".into(),
            programme: "hospitals".into(),
            classification: "capital-works".into(),
            purpose: "Rural clinic".into(),
            amount: eur(30_000_000),
        },
        TreasuryInstruction::Allot {
            appropriation: 1,
            direction: Direction::Increase,
            amount: eur(20_000_000),
            reason: "works season".into(),
        },
    ] {
        w.ok("budget", "budget", treasury(op));
    }
    let terms = Hash32::sha256(b"tender terms for the rural clinic");
    w.ok("anchor", "buyer", anchor(&terms));
    let plan = procurement(ProcurementInstruction::Plan {
        appropriation: 1,
        title: "Rural clinic".into(),
        description: "Build a two-room clinic".into(),
        estimated: eur(15_000_000),
        method: Method::Open,
    });
    w.refused("not_authorized", "treasurer", plan.clone());
    w.ok("plan", "buyer", plan);

    let deadline = TimestampMs(w.now().0 + 30_000);
    let publish = |documents: Vec<Hash32>, committee| {
        procurement(ProcurementInstruction::Publish {
            tender: 1,
            documents,
            deadline,
            criteria: vec![
                Criterion {
                    name: "price".into(),
                    weight: 60,
                },
                Criterion {
                    name: "quality".into(),
                    weight: 40,
                },
            ],
            committee,
            standstill_days: 10,
        })
    };
    let unknown = Hash32::sha256(b"never notarised");
    let evaluator = w.id("evaluator");
    w.refused(
        "document_not_notarised",
        "buyer",
        publish(vec![unknown], vec![evaluator]),
    );
    w.refused(
        "bad_committee",
        "buyer",
        publish(vec![terms], vec![w.id("acme")]),
    );
    w.ok("publish", "buyer", publish(vec![terms], vec![evaluator]));
    w.ok(
        "clarify",
        "buyer",
        procurement(ProcurementInstruction::Clarify {
            tender: 1,
            question: "Is a solar roof required?".into(),
            answer: "Yes, see section 4.".into(),
        }),
    );

    // Sealed bids.
    let salt = |who: &str| Hash32::sha256(who.as_bytes());
    let proposal = |who: &str| Hash32::sha256(format!("{who} proposal").as_bytes());
    let seal = |w: &World, who: &str, price: u64| {
        bid_commitment(1, &w.id(who), &eur(price), &proposal(who), &salt(who))
    };
    let bid = |commitment| {
        procurement(ProcurementInstruction::Bid {
            tender: 1,
            commitment,
            sealed: vec![0xAB; 32],
        })
    };
    let acme_seal = seal(&w, "acme", 14_000_000);
    w.ok("acme bids", "acme", bid(acme_seal));
    let message = w.refused("bid_exists", "acme", bid(seal(&w, "acme", 9_000_000)));
    assert!(message.contains("cannot be changed"), "{message}");
    let bolt_seal = seal(&w, "bolt", 14_500_000);
    w.ok("bolt bids", "bolt", bid(bolt_seal));
    // Officials do not bid.
    w.refused("not_authorized", "buyer", bid(bolt_seal));

    let open = |w: &World, who: &str, price: u64, salt_of: &str| {
        procurement(ProcurementInstruction::Open {
            tender: 1,
            bidder: w.id(who),
            price: eur(price),
            proposal: proposal(who),
            salt: salt(salt_of),
        })
    };
    let early = open(&w, "acme", 14_000_000, "acme");
    w.refused("before_deadline", "acme", early);
    while w.now() < deadline {
        w.chain.block(vec![], civitas_exec::Mode::Verify).unwrap();
    }
    let late_seal = seal(&w, "late", 1_000_000);
    let message = w.refused("late_bid", "late", bid(late_seal));
    assert!(message.contains("no bid is accepted after it"), "{message}");

    // An opening must match its commitment.
    let altered = open(&w, "acme", 13_000_000, "acme");
    w.refused("opening_mismatch", "acme", altered);
    let wrong_salt = open(&w, "acme", 14_000_000, "bolt");
    w.refused("opening_mismatch", "acme", wrong_salt);
    let by_stranger = open(&w, "acme", 14_000_000, "acme");
    w.refused("not_permitted", "bolt", by_stranger);
    let opening = open(&w, "acme", 14_000_000, "acme");
    w.ok("acme opens", "acme", opening);
    // A committee member opens a bid with the sealed copy.
    let opening = open(&w, "bolt", 14_500_000, "bolt");
    w.ok("committee opens bolt", "evaluator", opening);

    let evaluate = |w: &World, who: &str, scores: Vec<u8>| {
        procurement(ProcurementInstruction::Evaluate {
            tender: 1,
            bidder: w.id(who),
            scores,
            justification: "meets all requirements".into(),
        })
    };
    // Only the committee evaluates and awards.
    let by_buyer = evaluate(&w, "acme", vec![90, 80]);
    w.refused("not_on_committee", "buyer", by_buyer);
    let wrong = evaluate(&w, "acme", vec![90]);
    w.refused("wrong_scores", "evaluator", wrong);
    let e = evaluate(&w, "acme", vec![90, 80]);
    w.ok("evaluate acme", "evaluator", e);
    let e = evaluate(&w, "bolt", vec![85, 70]);
    w.ok("evaluate bolt", "evaluator", e);
    let award = |w: &World| {
        procurement(ProcurementInstruction::Award {
            tender: 1,
            bidder: w.id("acme"),
            justification: "highest score (86.0) at a lower price".into(),
        })
    };
    let message = w.refused("not_on_committee", "buyer", award(&w));
    assert!(message.contains("only its members can award"), "{message}");
    let receipt = w.ok("award", "evaluator", award(&w));
    let signals: Vec<String> = receipt
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Procurement(ProcurementEvent::IntegritySignal { signal, .. }) => {
                Some(signal.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(signals, ["short_tender_period"]);
    let bid_record: Bid = w.read(&bid_key(1, &w.id("acme")));
    assert_eq!(bid_record.mean_score(), Some(90 * 60 + 80 * 40));

    // Standstill: complaints recorded, no contract yet.
    let milestones = |amounts: &[u64]| {
        amounts
            .iter()
            .enumerate()
            .map(|(i, a)| MilestoneTerms {
                title: format!("stage {i}"),
                amount: eur(*a),
                due: TimestampMs(10_000_000_000),
            })
            .collect::<Vec<_>>()
    };
    let sign = |amounts: &[u64]| {
        procurement(ProcurementInstruction::Sign {
            tender: 1,
            milestones: milestones(amounts),
        })
    };
    w.refused("in_standstill", "buyer", sign(&[4_000_000, 10_000_000]));
    let complain = procurement(ProcurementInstruction::Complain {
        tender: 1,
        text: "Our quality score ignores our certification".into(),
    });
    w.ok("complaint", "bolt", complain.clone());
    w.chain.skip_ms += 10 * 86_400_000;
    w.refused("standstill_over", "bolt", complain);
    w.refused(
        "milestones_mismatch",
        "buyer",
        sign(&[4_000_000, 9_000_000]),
    );
    w.ok("sign", "buyer", sign(&[4_000_000, 10_000_000]));
    let tender: Tender = w.read(&tender_key(1));
    assert_eq!(tender.stage, Stage::Contracted);
    assert_eq!(tender.complaints.len(), 1);

    // Accepting a milestone commits and pays it; the large one needs a treasurer co-signing.
    let accept = |milestone| {
        procurement(ProcurementInstruction::Accept {
            contract: 1,
            milestone,
            note: "inspected on site".into(),
        })
    };
    let receipt = w.ok("accept 0", "buyer", accept(0));
    assert_eq!(receipt.events.len(), 3, "{:?}", receipt.events);
    let message = w.refused("not_authorized", "buyer", accept(1));
    assert!(
        message.contains("treasurer-cosigns-large-acceptance"),
        "{message}"
    );
    // A payment without acceptance: the milestone's commitment is already fully paid.
    let message = w.refused(
        "exceeds_commitment",
        "treasurer",
        treasury(TreasuryInstruction::Pay {
            commitment: 1,
            amount: eur(1),
            reference: "extra".into(),
        }),
    );
    assert!(message.contains("commitment 1"), "{message}");
    // An amendment that would overspend the allotment is recorded, but accepting it refuses.
    w.ok(
        "amend",
        "buyer",
        procurement(ProcurementInstruction::Amend {
            contract: 1,
            milestones: milestones(&[17_000_000]),
            reason: "rock found under the site".into(),
        }),
    );
    let receipt = w.send_with("buyer", &["buyer", "treasurer"], accept(1));
    match &receipt.outcome {
        TxOutcome::Failed { code, .. } => {
            let message = receipt.outcome.message().unwrap_or_default();
            assert_eq!(code, "exceeds_allotment", "{message}");
            assert!(
                message.contains("10000.00 EUR above the 200000.00 EUR allotted"),
                "{message}"
            );
        }
        TxOutcome::Success => panic!("overspent: {receipt:?}"),
    }
    w.ok(
        "amend back",
        "buyer",
        procurement(ProcurementInstruction::Amend {
            contract: 1,
            milestones: milestones(&[10_000_000]),
            reason: "rock removed at the vendor's cost".into(),
        }),
    );
    let receipt = w.send_with("buyer", &["buyer", "treasurer"], accept(1));
    assert!(receipt.succeeded(), "{receipt:?}");
    w.refused("already_accepted", "buyer", accept(0));

    let contract: Contract = w.read(&contract_key(1));
    assert_eq!(contract.value, eur(14_000_000));
    assert_eq!(contract.paid(), 14_000_000);
    assert_eq!(contract.amendments.len(), 2);
    let appropriation: Appropriation = w.read(&appropriation_key(1));
    assert_eq!(appropriation.figures.committed, 14_000_000);
    assert_eq!(appropriation.figures.paid, 14_000_000);
    let acme = w.id("acme").to_hex();
    let vendor = check_total(&w, 2026, Dimension::Vendor, &acme);
    assert_eq!(vendor.figures.paid, 14_000_000);
    check_total(&w, 2026, Dimension::All, "");

    // Nothing moves after the contract: no cancel, no further bids.
    w.refused(
        "wrong_stage",
        "buyer",
        procurement(ProcurementInstruction::Cancel {
            tender: 1,
            reason: "changed our mind".into(),
        }),
    );

    // The whole process as OCDS: valid against the 1.1 schema, and its compiled release
    // carries the final state.
    let bids: Vec<Bid> = tender
        .bidders
        .iter()
        .map(|b| w.read(&bid_key(1, b)))
        .collect();
    let vendors = ["acme", "bolt"]
        .iter()
        .map(|n| (w.id(n), format!("{n} Ltd")))
        .collect();
    let tender: Tender = w.read(&tender_key(1));
    let process = ocds::Process {
        prefix: "ocds-civitas-test",
        tender: &tender,
        bids: &bids,
        contract: Some(&contract),
        buyer_name: "Ministry of health",
        vendors: &vendors,
    };
    let releases = process.releases();
    let tags: Vec<&str> = releases
        .iter()
        .map(|r| r["tag"][0].as_str().unwrap())
        .collect();
    assert_eq!(
        tags,
        [
            "planning",
            "tender",
            "award",
            "contract",
            "implementation",
            "contractAmendment",
            "contractAmendment",
            "implementation"
        ]
    );
    let publisher = ocds::Publisher {
        uri: "http://127.0.0.1/v1/ocds/releases/1",
        name: "Civitas test chain",
    };
    let package = ocds::release_package(&publisher, releases.clone());
    if let Err(issues) = ocds::validate_release_package(&package) {
        panic!("{issues:#?}");
    }
    let records = ocds::record_package(&publisher, vec![releases]).unwrap();
    let compiled = &records["records"][0]["compiledRelease"];
    assert_eq!(compiled["tender"]["status"], "complete");
    assert_eq!(compiled["awards"][0]["status"], "active");
    assert_eq!(compiled["contracts"][0]["value"]["amount"], 140000.0);
    assert_eq!(compiled["bids"]["details"].as_array().unwrap().len(), 2);
    let transactions = compiled["contracts"][0]["implementation"]["transactions"]
        .as_array()
        .unwrap();
    assert_eq!(transactions.len(), 2);
    let paid: f64 = transactions
        .iter()
        .map(|t| t["value"]["amount"].as_f64().unwrap())
        .sum();
    assert_eq!(paid, 140000.0);
    // An invalid package is refused with where and why.
    let mut broken = package.clone();
    broken["releases"][0]["tender"]["value"]["amount"] = serde_json::json!("a lot");
    broken["releases"][0]
        .as_object_mut()
        .unwrap()
        .remove("date");
    let issues = ocds::validate_release_package(&broken).unwrap_err();
    let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
    assert!(
        paths.contains(&"/releases/0/tender/value/amount"),
        "{issues:#?}"
    );
    assert!(paths.contains(&"/releases/0"), "{issues:#?}");
    w
}

/// What the read model lists about the tender story: tenders by stage, vendor and bidder;
/// payments by vendor and period; documents by issuer and title words; proposals; an
/// account's transactions and events. Each list as its JSON, for comparing two indexes.
async fn read_model_lists(index: &Index, w: &World) -> Vec<String> {
    use civitas_modules::governance::index::{ProposalFilter, proposals};
    use civitas_modules::notary::index::{DocumentFilter, documents};
    use civitas_modules::procurement::index::{TenderFilter, tenders};
    use civitas_modules::treasury::index::{EntryFilter, entries};
    let mut snapshot = index.snapshot().await.unwrap();
    let newest = Order::Newest;
    let mut out = Vec::new();
    let show = |page: &dyn erased::Show| page.show();
    let contracted = tenders(
        &mut snapshot,
        &TenderFilter {
            stage: Some("contracted".into()),
            ..Default::default()
        },
        newest,
        None,
        10,
    )
    .await
    .unwrap();
    assert_eq!(contracted.items.len(), 1, "{contracted:?}");
    let tender = &contracted.items[0];
    assert_eq!(tender.award.as_ref().unwrap().bidder, w.id("acme"));
    let record: Tender = w.read(&tender_key(tender.id));
    assert_eq!(
        tender.bids,
        record.bidders.len() as u64,
        "as the ledger counts them"
    );
    assert_eq!(tender.method, "open");
    out.push(show(&contracted));
    for filter in [
        TenderFilter {
            vendor: Some(w.id("acme")),
            ..Default::default()
        },
        TenderFilter {
            bidder: Some(w.id("bolt")),
            ..Default::default()
        },
        TenderFilter {
            agency: Some("health".into()),
            ..Default::default()
        },
    ] {
        let page = tenders(&mut snapshot, &filter, newest, None, 10)
            .await
            .unwrap();
        assert_eq!(page.items.len(), 1, "{page:?}");
        out.push(show(&page));
    }
    let nobody = tenders(
        &mut snapshot,
        &TenderFilter {
            bidder: Some(w.id("late")),
            stage: Some("contracted".into()),
            ..Default::default()
        },
        newest,
        None,
        10,
    )
    .await
    .unwrap();
    out.push(show(&nobody));

    // Payments to the winner, page by page, add up to the contract.
    let paid_to_acme = EntryFilter {
        kind: Some("paid".into()),
        vendor: Some(w.id("acme")),
        ..Default::default()
    };
    let mut cursor = None;
    let mut paid = 0;
    loop {
        let page = entries(
            &mut snapshot,
            &paid_to_acme,
            Order::Oldest,
            cursor.as_deref(),
            1,
        )
        .await
        .unwrap();
        paid += page.items.iter().map(|e| e.amount).sum::<u64>();
        out.push(show(&page));
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(paid, 14_000_000, "140,000.00 EUR in minor units");
    let before_time = entries(
        &mut snapshot,
        &EntryFilter {
            to_ms: Some(1_000),
            ..paid_to_acme
        },
        newest,
        None,
        10,
    )
    .await
    .unwrap();
    assert!(
        before_time.items.is_empty(),
        "nothing was paid before the chain began"
    );

    let by_words = documents(
        &mut snapshot,
        &DocumentFilter {
            words: vec!["clinic".into(), "terms".into()],
            ..Default::default()
        },
        newest,
        None,
        10,
    )
    .await
    .unwrap();
    assert_eq!(by_words.items.len(), 1, "{by_words:?}");
    assert_eq!(by_words.items[0].title, "Rural clinic: terms of reference");
    let by_issuer = documents(
        &mut snapshot,
        &DocumentFilter {
            issuer: Some(w.id("buyer")),
            ..Default::default()
        },
        newest,
        None,
        10,
    )
    .await
    .unwrap();
    // The tender's terms, the draft (revoked) and the final terms, newest first.
    let titles: Vec<(&str, bool)> = by_issuer
        .items
        .iter()
        .map(|d| (d.title.as_str(), d.revoked_height.is_some()))
        .collect();
    assert_eq!(titles.len(), 3, "{titles:?}");
    assert_eq!(titles[0], ("Rural clinic: terms of reference", false));
    assert_eq!(titles[1], ("Clinic plans (draft)", true));
    out.push(show(&by_issuer));

    let executed = proposals(
        &mut snapshot,
        &ProposalFilter {
            status: Some("executed".into()),
            ..Default::default()
        },
        newest,
        None,
        10,
    )
    .await
    .unwrap();
    assert_eq!(executed.items.len(), 1, "{executed:?}");
    assert_eq!(executed.items[0].action, "rename_agency");
    out.push(show(&executed));

    let acme = civitas_kit::index::query::TxFilter {
        account: Some(w.id("acme")),
        ..Default::default()
    };
    let acme_txs = snapshot
        .transactions(&acme, newest, None, 100)
        .await
        .unwrap();
    assert!(acme_txs.items.iter().any(|t| t.part.unwrap().sent));
    assert!(acme_txs.items.iter().any(|t| t.part.unwrap().named));
    // The payments it received name it through their events, not their instructions.
    let payments: Vec<&str> = acme_txs
        .items
        .iter()
        .filter(|t| t.part.unwrap().named && !t.part.unwrap().sent)
        .flat_map(|t| t.actions.iter().map(String::as_str))
        .filter(|a| *a == "treasury.pay" || *a == "procurement.accept")
        .collect();
    assert!(!payments.is_empty(), "{acme_txs:?}");
    out.push(show(&acme_txs));
    let acme_events = snapshot
        .events(
            &civitas_kit::index::query::EventFilter {
                account: Some(w.id("acme")),
                ..Default::default()
            },
            newest,
            None,
            100,
        )
        .await
        .unwrap();
    assert!(
        acme_events
            .items
            .iter()
            .any(|e| e.event["type"] == "tender_awarded")
    );
    out.push(show(&acme_events));
    snapshot.finish().await.unwrap();
    out
}

/// Pages shown as JSON, whatever their items.
mod erased {
    pub trait Show {
        fn show(&self) -> String;
    }
    impl<T: serde::Serialize> Show for civitas_kit::index::query::Page<T> {
        fn show(&self) -> String {
            serde_json::to_string(self).unwrap()
        }
    }
}

/// The tender story projected into the read model, on SQLite and on a throwaway PostgreSQL
/// server: the lists find what happened; a rebuilt index answers as the live one did; both
/// databases answer alike.
#[test]
fn the_read_model_lists_the_story_alike_on_both_backends() {
    let mut w = tender_story();
    let doc = |title: &str| {
        Instruction::Notary(civitas_core::notary::NotaryInstruction::Anchor {
            document: Hash32::sha256(title.as_bytes()),
            title: title.into(),
            metadata: vec![],
        })
    };
    w.ok("anchor", "buyer", doc("Clinic plans (draft)"));
    w.ok(
        "revoke",
        "buyer",
        Instruction::Notary(civitas_core::notary::NotaryInstruction::Revoke {
            document: Hash32::sha256(b"Clinic plans (draft)"),
            reason: "superseded".into(),
        }),
    );
    w.ok("anchor", "buyer", doc("Rural clinic: terms of reference"));
    w.ok(
        "propose",
        "finance-admin",
        propose(civitas_core::instruction::GovernanceAction::RenameAgency {
            id: "land".into(),
            name: "Ministry of Land and Maps".into(),
        }),
    );
    w.ok("approve", "health-admin", approve(1));

    let chain = w.chain.genesis.hash();
    let blocks = w.chain.blocks.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = std::env::temp_dir().join(format!("civitas-read-model-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let server = civitas_index::testing::Postgres::start()
            .expect("a throwaway PostgreSQL server starts");
        let mut answers = Vec::new();
        for url in [
            format!("sqlite:{}", dir.join("index.sqlite").display()),
            server.url(),
        ] {
            let index = Index::open(&url, civitas_modules::INDEX_TABLES)
                .await
                .unwrap();
            // In batches, as the follower applies them while it catches up.
            for batch in blocks.chunks(7) {
                index.apply(&chain, batch).await.unwrap();
            }
            let live = read_model_lists(&index, &w).await;
            index.reset().await.unwrap();
            for block in &blocks {
                index
                    .apply(&chain, std::slice::from_ref(block))
                    .await
                    .unwrap();
            }
            assert_eq!(
                read_model_lists(&index, &w).await,
                live,
                "{url}: rebuilt equals live"
            );
            index.close().await;
            answers.push(live);
        }
        assert_eq!(answers[0], answers[1], "SQLite and PostgreSQL answer alike");
        for url in [
            format!("sqlite:{}", dir.join("upgrade.sqlite").display()),
            server.database("upgrade").unwrap(),
        ] {
            notary_words_survive_their_reshaping(&url).await;
        }
        let _ = std::fs::remove_dir_all(&dir);
    });
}

/// A read model whose notary tables the first release made (title words naming their document)
/// finds the same documents by their words after the notary's later migrations.
async fn notary_words_survive_their_reshaping(url: &str) {
    use civitas_index::Tables;
    use civitas_modules::notary::index::{DocumentFilter, documents};
    let first: &'static [Tables] = Box::leak(
        civitas_modules::INDEX_TABLES
            .iter()
            .map(|t| match t.module {
                "notary" => Tables {
                    migrations: &t.migrations[..1],
                    ..*t
                },
                _ => *t,
            })
            .collect(),
    );
    let index = Index::open(url, first).await.unwrap();
    let issuer = "11".repeat(32);
    for (n, title) in [(1, "Clinic roof repair"), (2, "School roof")] {
        let document = format!("{n:064x}");
        sqlx::query(
            "INSERT INTO notary_documents (document, issuer, agency, title, height, position, \
             seq, timestamp_ms) VALUES ($1, $2, 'health', $3, $4, 0, 0, 1000)",
        )
        .bind(&document)
        .bind(&issuer)
        .bind(title)
        .bind(n)
        .execute(index.pool())
        .await
        .unwrap();
        for word in title.to_lowercase().split(' ') {
            sqlx::query(
                "INSERT INTO notary_title_words (word, height, position, seq, document) \
                 VALUES ($1, $2, 0, 0, $3)",
            )
            .bind(word)
            .bind(n)
            .bind(&document)
            .execute(index.pool())
            .await
            .unwrap();
        }
    }
    index.close().await;

    let index = Index::open(url, civitas_modules::INDEX_TABLES)
        .await
        .unwrap();
    let mut snapshot = index.snapshot().await.unwrap();
    async fn titles(snapshot: &mut civitas_index::query::Snapshot, words: &[&str]) -> Vec<String> {
        let filter = DocumentFilter {
            words: words.iter().map(|w| w.to_string()).collect(),
            ..Default::default()
        };
        let page = documents(snapshot, &filter, Order::Oldest, None, 10)
            .await
            .unwrap();
        page.items.into_iter().map(|d| d.title).collect()
    }
    assert_eq!(
        titles(&mut snapshot, &["roof"]).await,
        ["Clinic roof repair", "School roof"]
    );
    assert_eq!(
        titles(&mut snapshot, &["roof", "clinic"]).await,
        ["Clinic roof repair"]
    );
    assert!(
        titles(&mut snapshot, &["school", "repair"])
            .await
            .is_empty()
    );
    snapshot.finish().await.unwrap();
    index.close().await;
}
