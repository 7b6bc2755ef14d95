//! Permits executed block by block in memory, through the whole ledger (authentication, the
//! protocol version, the policies, the handler, the end of each block), as validators execute
//! them: every transition, every refusal, and deadlines that pass with nobody sending anything.

use civitas_core::event::Event;
use civitas_core::hash::Hash32;
use civitas_core::instruction::Instruction;
use civitas_core::money::Currency;
use civitas_core::notary::NotaryInstruction;
use civitas_core::permits::examples::business_licence;
use civitas_core::permits::{
    FormRecord, LicenceAction, LicenceChange, OnOverdue, Outcome, PermitTypeDef, PermitsEvent,
    PermitsInstruction as Op,
};
use civitas_core::treasury::TreasuryInstruction;
use civitas_modules::testing::{Chain, People};
use civitas_permits::state::{
    Application, Licence, LicenceStatus, TypeStats, application_key, licence_key, stats_key,
};
use civitas_treasury::state::{
    Revenue, RevenueDimension, RevenueTotal, revenue_key, revenue_total_key,
};

const DAY: u64 = 86_400_000;

fn permits(op: Op) -> Instruction {
    Instruction::Permits(op)
}

/// The health agency's permits office and two citizens, on a chain at protocol 4, with the
/// business licence defined by health's admin and a floor plan notarised.
fn office() -> People {
    let mut people = People::on(Chain::at(4));
    people.official("registrar", 700, "health", &["registrar"]);
    people.official("notary", 701, "health", &["notary"]);
    people.official("clerk", 702, "health", &["clerk"]);
    people.official("inspector", 703, "health", &["inspector"]);
    people.official("licensing", 704, "health", &["licensing"]);
    people.official("head", 705, "health", &["licensing-head"]);
    people.official("cashier", 706, "health", &["cashier"]);
    people.official("land-clerk", 707, "land", &["clerk"]);
    people.citizen("ana", 800, "registrar");
    people.citizen("ben", 801, "registrar");
    define(&mut people, "business-licence", business_licence());
    notarise(&mut people, b"floor plan");
    open_fiscal_year(&mut people);
    people
}

/// The finance authority opens the fiscal year fees are received in: the test chain's clock
/// starts in 1970.
fn open_fiscal_year(people: &mut People) {
    people.official("budget", 719, "finance", &["budget"]);
    people.ok(
        "budget",
        Instruction::Treasury(TreasuryInstruction::OpenYear {
            year: 1970,
            currency: Currency::parse("EUR").expect("a currency"),
            procurement_threshold: 10_000_000,
        }),
    );
}

fn define(people: &mut People, id: &str, definition: PermitTypeDef) {
    people.ok(
        "health-admin",
        permits(Op::DefineType {
            permit_type: id.into(),
            definition,
        }),
    );
}

fn notarise(people: &mut People, document: &[u8]) -> Hash32 {
    let hash = Hash32::sha256(document);
    people.ok(
        "notary",
        Instruction::Notary(NotaryInstruction::Anchor {
            document: hash,
            title: "Floor plan".into(),
            metadata: Vec::new(),
        }),
    );
    hash
}

/// A form as health's vault would seal it: a fresh seed (the ledger derives the record's id
/// from the agency, the applicant and it), the commitment to the answers and the applicant's
/// subject tag.
fn form() -> FormRecord {
    static SEALED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SEALED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    FormRecord {
        seed: Hash32::sha256(format!("seed {n}").as_bytes()),
        commitment: Hash32::sha256(format!("the answers, salted, {n}").as_bytes()),
        subject: Hash32::sha256(b"the applicant's subject tag"),
    }
}

fn apply(permit_type: &str, documents: Vec<Hash32>, renews: Option<u64>) -> Instruction {
    permits(Op::Apply {
        permit_type: permit_type.into(),
        form: form(),
        documents,
        records: Vec::new(),
        renews,
    })
}

fn plan() -> Vec<Hash32> {
    vec![Hash32::sha256(b"floor plan")]
}

fn fee(application: u64) -> Instruction {
    permits(Op::RecordFee {
        application,
        reference: "PSP-2026-000123".into(),
    })
}

fn complete(application: u64, step: &str) -> Instruction {
    permits(Op::CompleteStep {
        application,
        step: step.into(),
        reason: format!("{step} done"),
    })
}

fn decide(application: u64, approve: bool) -> Instruction {
    permits(Op::Decide {
        application,
        step: "decision".into(),
        approve,
        scope: if approve {
            "Café, 40 m², 12 Market Street".into()
        } else {
            String::new()
        },
        reason: if approve {
            "inspection passed".into()
        } else {
            "the premises have no fire exit".into()
        },
    })
}

fn application(people: &People, id: u64) -> Application {
    people.chain.read(&application_key(id)).expect("filed")
}

fn licence(people: &People, id: u64) -> Licence {
    people.chain.read(&licence_key(id)).expect("issued")
}

fn stats(people: &People) -> TypeStats {
    people
        .chain
        .read(&stats_key("business-licence"))
        .expect("counted")
}

fn events(receipt: &civitas_core::receipt::Receipt) -> Vec<PermitsEvent> {
    receipt
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Permits(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

fn permit_events(events: Vec<Event>) -> Vec<PermitsEvent> {
    events
        .into_iter()
        .filter_map(|e| match e {
            Event::Permits(e) => Some(e),
            _ => None,
        })
        .collect()
}

/// Files Ana's application (number 1) and has its fee paid; the completeness step's clock
/// runs from then.
fn filed_and_paid(people: &mut People) {
    people.ok("ana", apply("business-licence", plan(), None));
    people.ok("cashier", fee(1));
}

#[test]
fn a_citizen_applies_pays_is_asked_for_more_answers_and_is_granted_a_licence() {
    let mut people = office();
    let receipt = people.ok("ana", apply("business-licence", plan(), None));
    let filed = events(&receipt);
    assert!(
        matches!(&filed[..], [PermitsEvent::ApplicationFiled { application: 1, version: 1, step, deadline: None, applicant, .. }]
            if step == "completeness" && *applicant == people.id("ana")),
        "{filed:?}"
    );
    // Nothing moves before the fee is paid; then the first step's clock starts.
    people.fails("clerk", complete(1, "completeness"), "fee_unpaid");
    let receipt = people.ok("cashier", fee(1));
    let paid = application(&people, 1);
    let payment = paid.paid.clone().expect("paid");
    assert_eq!(payment.amount.amount, 12_000);
    // The fee is health's revenue in the treasury's public ledger of money, with its totals.
    assert_eq!((payment.revenue_year, payment.revenue_entry), (1970, 1));
    let revenue: Revenue = people.chain.read(&revenue_key(1970, 1)).expect("recorded");
    assert_eq!(
        (
            revenue.agency.as_str(),
            revenue.source.as_str(),
            revenue.record.as_str(),
            revenue.amount,
            revenue.by
        ),
        (
            "health",
            "permit.business-licence",
            "permits/application/1",
            payment.amount,
            people.id("cashier")
        )
    );
    assert!(receipt.events.iter().any(|e| matches!(e,
        Event::Treasury(civitas_core::treasury::TreasuryEvent::RevenueReceived { year: 1970, entry: 1, agency, .. })
            if agency == "health")));
    for (dimension, value) in [
        (RevenueDimension::All, ""),
        (RevenueDimension::Agency, "health"),
        (RevenueDimension::Source, "permit.business-licence"),
        (RevenueDimension::Month, "1970-01"),
    ] {
        let total: RevenueTotal = people
            .chain
            .read(&revenue_total_key(1970, dimension, value))
            .expect("a total");
        assert_eq!(
            (total.received, total.entries, total.last_entry),
            (12_000, 1, 1)
        );
    }
    let deadline = paid
        .deadline
        .expect("the completeness check has a deadline");
    assert!(deadline.0 >= people.chain.time() - 1_000 + 10 * DAY);
    people.fails("cashier", fee(1), "fee_already_paid");

    let receipt = people.ok("clerk", complete(1, "completeness"));
    assert!(
        matches!(&events(&receipt)[..], [PermitsEvent::StepCompleted { next, deadline: Some(_), .. }] if next == "inspection")
    );
    // The inspector asks for more: the clock stops, and nothing is decided meanwhile.
    people.ok(
        "inspector",
        permits(Op::RequestInformation {
            application: 1,
            step: "inspection".into(),
            request: "a floor plan at 1:100".into(),
        }),
    );
    let waiting = application(&people, 1);
    assert_eq!(waiting.awaiting.as_deref(), Some("a floor plan at 1:100"));
    assert_eq!(waiting.deadline, None);
    people.fails("inspector", complete(1, "inspection"), "awaiting_applicant");
    // Only Ana answers, with a notarised document.
    let answer = |documents: Vec<Hash32>| {
        permits(Op::ProvideInformation {
            application: 1,
            form: Some(Hash32::sha256(b"answers, second version")),
            documents,
        })
    };
    people.fails("ben", answer(Vec::new()), "not_the_applicant");
    people.fails(
        "ana",
        answer(vec![Hash32::sha256(b"never notarised")]),
        "document_not_anchored",
    );
    let better = notarise(&mut people, b"floor plan at 1:100");
    people.ok("ana", answer(vec![better]));
    let answered = application(&people, 1);
    assert_eq!(answered.documents, vec![plan()[0], better]);
    assert!(answered.deadline.is_some());
    people.fails("ana", answer(Vec::new()), "nothing_requested");
    // The form is a record of health's vault, registered by the application and at its
    // second version since the answer; the inspector reads it, and the read is logged.
    let record: civitas_sharing::state::Record = people
        .chain
        .read(&civitas_sharing::state::record_key(&answered.form))
        .expect("the form is registered");
    assert_eq!(
        (
            record.schema.as_str(),
            record.holder.as_str(),
            record.version,
            record.basis.as_str()
        ),
        (
            "permit.application",
            "health",
            2,
            civitas_core::permits::FORM_BASIS
        )
    );
    assert_eq!(
        record.commitment,
        Hash32::sha256(b"answers, second version")
    );
    let read = |basis: &str| {
        Instruction::Sharing(civitas_core::sharing::SharingInstruction::Access {
            record: answered.form,
            purpose: "permit-application".into(),
            basis: basis.into(),
        })
    };
    people.fails(
        "inspector",
        read("holder-case-handling"),
        "basis_not_applicable",
    );
    let receipt = people.ok("inspector", read("permit-officials-read-applications"));
    assert!(matches!(
        &receipt.events[..],
        [Event::Sharing(
            civitas_core::sharing::SharingEvent::RecordAccessed { .. }
        )]
    ));
    people.fails(
        "land-clerk",
        read("permit-officials-read-applications"),
        "not_authorized",
    );

    people.ok("inspector", complete(1, "inspection"));
    let receipt = people.ok("licensing", decide(1, true));
    let decided = events(&receipt);
    assert!(
        matches!(
            &decided[..],
            [
                PermitsEvent::ApplicationDecided {
                    outcome: Outcome::Approved,
                    licence: Some(1),
                    ..
                },
                PermitsEvent::LicenceIssued {
                    licence: 1,
                    public: true,
                    ..
                },
            ]
        ),
        "{decided:?}"
    );
    let issued = licence(&people, 1);
    assert_eq!(issued.holder, people.id("ana"));
    assert_eq!(issued.scope, "Café, 40 m², 12 Market Street");
    assert_eq!(
        issued.status(civitas_core::time::TimestampMs(people.chain.time())),
        LicenceStatus::Valid
    );
    let counted = stats(&people);
    assert_eq!(
        (counted.applications, counted.approved, counted.refused),
        (1, 1, 0)
    );
    let steps: Vec<(&str, u64)> = counted
        .steps
        .iter()
        .map(|s| (s.step.as_str(), s.completed))
        .collect();
    assert_eq!(
        steps,
        vec![("completeness", 1), ("inspection", 1), ("decision", 1)]
    );
    assert_eq!(counted.steps[0].percentile_hours(50), Some(1));
    // Decided once.
    people.fails("licensing", decide(1, false), "already_decided");
    people.fails(
        "ana",
        permits(Op::Withdraw { application: 1 }),
        "already_decided",
    );
}

#[test]
fn the_wrong_role_agency_step_or_applicant_is_refused() {
    let mut people = office();
    filed_and_paid(&mut people);
    // The inspector's role is not the completeness check's; another agency's clerk has the
    // role but not the agency; a citizen has neither.
    people.fails("inspector", complete(1, "completeness"), "not_authorized");
    people.fails("land-clerk", complete(1, "completeness"), "not_authorized");
    people.fails("ben", complete(1, "completeness"), "not_authorized");
    people.fails("ana", fee(1), "not_authorized");
    // The right official at the wrong step, or deciding before the last step.
    people.fails("clerk", complete(1, "inspection"), "wrong_step");
    people.fails(
        "clerk",
        permits(Op::Decide {
            application: 1,
            step: "completeness".into(),
            approve: true,
            scope: "x".into(),
            reason: "y".into(),
        }),
        "not_the_last_step",
    );
    people.ok("clerk", complete(1, "completeness"));
    people.ok("inspector", complete(1, "inspection"));
    people.fails("licensing", complete(1, "decision"), "last_step");
    // Only admins define types, and only their agency's: another agency cannot take over a
    // type's id.
    people.fails(
        "clerk",
        permits(Op::DefineType {
            permit_type: "business-licence".into(),
            definition: business_licence(),
        }),
        "not_authorized",
    );
    people.fails(
        "land-admin",
        permits(Op::DefineType {
            permit_type: "business-licence".into(),
            definition: business_licence(),
        }),
        "not_authorized",
    );
    // Unknown records are named.
    people.fails("clerk", complete(99, "completeness"), "unknown_application");
    people.fails(
        "ana",
        apply("fishing-licence", plan(), None),
        "unknown_permit_type",
    );
    people.fails(
        "ana",
        apply("business-licence", Vec::new(), None),
        "wrong_documents",
    );
    people.fails(
        "ana",
        apply(
            "business-licence",
            vec![Hash32::sha256(b"not notarised")],
            None,
        ),
        "document_not_anchored",
    );
    // A withdrawn application is decided: nothing more happens to it.
    people.fails(
        "ben",
        permits(Op::Withdraw { application: 1 }),
        "not_the_applicant",
    );
    let receipt = people.ok("ana", permits(Op::Withdraw { application: 1 }));
    assert!(matches!(
        &events(&receipt)[..],
        [PermitsEvent::ApplicationDecided {
            outcome: Outcome::Withdrawn,
            by: None,
            licence: None,
            ..
        }]
    ));
    people.fails("licensing", decide(1, true), "already_decided");
    assert_eq!(stats(&people).withdrawn, 1);
}

#[test]
fn deadlines_enforce_themselves_at_the_end_of_a_block() {
    let mut people = office();
    filed_and_paid(&mut people);
    // Nine days: nothing. Past ten: the completeness check escalates to the head of
    // licensing, in the end receipt of the first block after the deadline.
    assert!(people.wait(9 * DAY).is_empty());
    let ended = permit_events(people.wait(DAY + 60_000));
    assert!(
        matches!(&ended[..], [PermitsEvent::ApplicationOverdue { application: 1, consequence: OnOverdue::Escalate, step, supervisor_role, applicant, .. }]
            if step == "completeness" && supervisor_role == "licensing-head" && *applicant == people.id("ana")),
        "{ended:?}"
    );
    let late = application(&people, 1);
    assert!(late.escalated);
    assert_eq!(
        late.overdue.as_ref().map(|o| o.step.as_str()),
        Some("completeness")
    );
    // The step is now the head's: the clerk may no longer act on it.
    people.fails("clerk", complete(1, "completeness"), "not_authorized");
    people.ok("head", complete(1, "completeness"));
    // The inspection's deadline passing is only reported; the inspector still acts.
    let ended = permit_events(people.wait(31 * DAY));
    assert!(
        matches!(
            &ended[..],
            [PermitsEvent::ApplicationOverdue {
                consequence: OnOverdue::Notify,
                ..
            }]
        ),
        "{ended:?}"
    );
    people.ok("inspector", complete(1, "inspection"));
    // The decision's deadline passing grants the licence: silence is consent.
    let ended = permit_events(people.wait(21 * DAY));
    assert!(
        matches!(
            &ended[..],
            [
                PermitsEvent::ApplicationOverdue {
                    consequence: OnOverdue::Approve,
                    ..
                },
                PermitsEvent::ApplicationDecided {
                    outcome: Outcome::ApprovedTacitly,
                    by: None,
                    licence: Some(1),
                    ..
                },
                PermitsEvent::LicenceIssued { licence: 1, .. },
            ]
        ),
        "{ended:?}"
    );
    assert!(
        licence(&people, 1)
            .scope
            .starts_with("as applied for: Business licence")
    );
    people.fails("licensing", decide(1, false), "already_decided");
    let counted = stats(&people);
    assert_eq!(
        (counted.overdue, counted.approved, counted.approved_tacitly),
        (1, 1, 1)
    );
    let overdue: Vec<u64> = counted.steps.iter().map(|s| s.overdue).collect();
    assert_eq!(overdue, vec![1, 1, 1]);
    // Nothing is left in the queue to fire again.
    assert!(people.wait(400 * DAY).is_empty());
}

#[test]
fn a_request_for_information_stops_the_clock_and_an_answer_restarts_it_in_full() {
    let mut people = office();
    filed_and_paid(&mut people);
    people.ok(
        "clerk",
        permits(Op::RequestInformation {
            application: 1,
            step: "completeness".into(),
            request: "the floor plan is unreadable".into(),
        }),
    );
    // Long past the deadline the first clock set: nothing, the clock is stopped.
    assert!(people.wait(40 * DAY).is_empty());
    people.ok(
        "ana",
        permits(Op::ProvideInformation {
            application: 1,
            form: Some(Hash32::sha256(b"answers v2")),
            documents: Vec::new(),
        }),
    );
    assert!(people.wait(9 * DAY).is_empty());
    let ended = permit_events(people.wait(DAY + 60_000));
    assert!(
        matches!(
            &ended[..],
            [PermitsEvent::ApplicationOverdue { application: 1, .. }]
        ),
        "{ended:?}"
    );
}

#[test]
fn a_refusal_is_appealed_in_time_and_the_supervisor_decides_the_appeal() {
    let mut people = office();
    for application in [1, 2] {
        people.ok("ana", apply("business-licence", plan(), None));
        people.ok("cashier", fee(application));
        people.ok("clerk", complete(application, "completeness"));
        people.ok("inspector", complete(application, "inspection"));
    }
    let appeal = |application: u64| {
        permits(Op::Appeal {
            application,
            grounds: Hash32::sha256(b"a fire exit was added"),
        })
    };
    // An application not refused cannot be appealed.
    people.fails("ana", appeal(1), "not_refused");
    people.ok("licensing", decide(1, false));
    people.ok("licensing", decide(2, false));
    people.fails("ben", appeal(1), "not_the_applicant");
    let receipt = people.ok("ana", appeal(1));
    assert!(matches!(
        &events(&receipt)[..],
        [PermitsEvent::ApplicationAppealed { application: 1, .. }]
    ));
    people.fails("ana", appeal(1), "already_appealed");
    // The licensing official may not decide the appeal; the head does.
    let uphold = permits(Op::DecideAppeal {
        application: 1,
        upheld: true,
        scope: "Café, 40 m², 12 Market Street".into(),
        reason: "the fire exit was added".into(),
    });
    people.fails("licensing", uphold.clone(), "not_authorized");
    let receipt = people.ok("head", uphold.clone());
    assert!(matches!(
        &events(&receipt)[..],
        [
            PermitsEvent::ApplicationDecided {
                outcome: Outcome::ApprovedOnAppeal,
                licence: Some(1),
                ..
            },
            PermitsEvent::LicenceIssued { .. },
        ]
    ));
    people.fails("head", uphold, "not_appealed");
    // Thirty days after the refusal the time to appeal has ended.
    people.wait(31 * DAY);
    people.fails("ana", appeal(2), "appeal_too_late");
    // Refused twice, one overturned: refused, approved and withdrawn add up to the decided.
    let counted = stats(&people);
    assert_eq!(
        (
            counted.refused,
            counted.appealed,
            counted.overturned,
            counted.approved
        ),
        (1, 1, 1, 1)
    );
}

/// A licence valid ten days, renewable in its last five, with no fee and one step.
fn short_licence() -> PermitTypeDef {
    let mut definition = business_licence();
    definition.steps.drain(..2);
    definition.documents.clear();
    definition.fee = None;
    definition.validity_secs = 10 * 86_400;
    definition.renewal_window_secs = 5 * 86_400;
    definition
}

#[test]
fn a_licence_is_renewed_amended_suspended_reinstated_revoked_and_expires() {
    let mut people = office();
    define(&mut people, "market-stall", short_licence());
    people.ok("ana", apply("market-stall", Vec::new(), None));
    people.ok("licensing", decide(1, true));
    let issued = licence(&people, 1);
    let until = issued.valid_until.expect("it expires");
    // Too early to renew; only the holder renews.
    people.fails(
        "ana",
        apply("market-stall", Vec::new(), Some(1)),
        "not_renewable",
    );
    people.wait(6 * DAY);
    people.fails(
        "ben",
        apply("market-stall", Vec::new(), Some(1)),
        "not_the_holder",
    );
    people.ok("ana", apply("market-stall", Vec::new(), Some(1)));
    let receipt = people.ok("licensing", decide(2, true));
    assert!(
        matches!(
            &events(&receipt)[..],
            [
                PermitsEvent::ApplicationDecided {
                    licence: Some(1),
                    ..
                },
                PermitsEvent::LicenceChanged {
                    licence: 1,
                    change: LicenceChange::Renewed,
                    ..
                },
            ]
        ),
        "{:?}",
        events(&receipt)
    );
    let renewed = licence(&people, 1);
    assert_eq!(renewed.valid_until.map(|u| u.0), Some(until.0 + 10 * DAY));
    assert_eq!(renewed.renewals, 1);
    // The old expiry passes without a word: the licence was renewed.
    assert!(permit_events(people.wait(5 * DAY)).is_empty());

    let change = |action: LicenceAction| {
        permits(Op::ChangeLicence {
            licence: 1,
            action,
            reason: "hygiene inspection failed".into(),
        })
    };
    people.fails(
        "licensing",
        change(LicenceAction::Suspend),
        "not_authorized",
    );
    people.fails(
        "head",
        change(LicenceAction::Reinstate),
        "licence_not_suspended",
    );
    people.ok("head", change(LicenceAction::Suspend));
    assert_eq!(
        licence(&people, 1).status(civitas_core::time::TimestampMs(people.chain.time())),
        LicenceStatus::Suspended
    );
    people.fails("head", change(LicenceAction::Suspend), "licence_suspended");
    people.ok("head", change(LicenceAction::Reinstate));
    people.ok(
        "head",
        permits(Op::Amend {
            licence: 1,
            scope: "Market stall, 6 m²".into(),
            reason: "a smaller pitch".into(),
        }),
    );
    assert_eq!(licence(&people, 1).scope, "Market stall, 6 m²");
    // Its expiry is reported in the end receipt of the block after it.
    let ended = permit_events(people.wait(10 * DAY));
    assert!(
        matches!(
            &ended[..],
            [PermitsEvent::LicenceChanged {
                licence: 1,
                change: LicenceChange::Expired,
                by: None,
                ..
            }]
        ),
        "{ended:?}"
    );
    assert_eq!(
        licence(&people, 1).status(civitas_core::time::TimestampMs(people.chain.time())),
        LicenceStatus::Expired
    );
    people.fails("head", change(LicenceAction::Suspend), "licence_expired");
    people.fails(
        "ana",
        apply("market-stall", Vec::new(), Some(1)),
        "licence_expired",
    );

    // Revoked for good.
    people.ok("ana", apply("market-stall", Vec::new(), None));
    people.ok("licensing", decide(3, true));
    let second = application(&people, 3)
        .decision
        .and_then(|d| d.licence)
        .expect("licence 2");
    let revoke = permits(Op::ChangeLicence {
        licence: second,
        action: LicenceAction::Revoke,
        reason: "obtained on false statements".into(),
    });
    people.ok("head", revoke.clone());
    people.fails("head", revoke, "licence_revoked");
    people.fails(
        "head",
        permits(Op::ChangeLicence {
            licence: second,
            action: LicenceAction::Reinstate,
            reason: "r".into(),
        }),
        "licence_revoked",
    );
    // A revoked licence's expiry says nothing.
    assert!(permit_events(people.wait(11 * DAY)).is_empty());
}

#[test]
fn a_new_version_applies_to_new_applications_only_and_a_retired_type_takes_none() {
    let mut people = office();
    filed_and_paid(&mut people);
    let mut second = business_licence();
    second.steps.remove(1);
    second.fee = None;
    define(&mut people, "business-licence", second);
    // Application 1 keeps version 1's three steps and fee; application 2 has version 2's.
    people.ok("ana", apply("business-licence", plan(), None));
    assert_eq!(
        (
            application(&people, 1).version,
            application(&people, 2).version
        ),
        (1, 2)
    );
    assert!(application(&people, 2).fee.is_none());
    people.ok("clerk", complete(1, "completeness"));
    assert_eq!(application(&people, 1).step, 1);
    people.ok("clerk", complete(2, "completeness"));
    people.ok("licensing", decide(2, true));
    people.fails("inspector", decide(1, true), "wrong_step");
    people.ok(
        "health-admin",
        permits(Op::RetireType {
            permit_type: "business-licence".into(),
        }),
    );
    people.fails(
        "ana",
        apply("business-licence", plan(), None),
        "permit_type_retired",
    );
    // Filed applications go on.
    people.ok("inspector", complete(1, "inspection"));
    people.ok("licensing", decide(1, true));
}

#[test]
fn permits_are_not_active_before_protocol_4() {
    let chain = Chain::at(3);
    let define = permits(Op::DefineType {
        permit_type: "business-licence".into(),
        definition: business_licence(),
    });
    let built = chain.build(vec![civitas_modules::testing::tx(
        &civitas_core::crypto::PrivateKey::from_test_seed(103),
        None,
        0,
        define,
    )]);
    assert!(built.included.is_empty());
    assert_eq!(built.rejected[0].1.code, "not_active");
}

/// Every permits action by every kind of actor, each on its own copy of one office where
/// every action has something to act on: application 1 filed (fee unpaid), 2 at its
/// completeness check, 3 waiting for the applicant, 4 at its decision, 5 refused, 6 appealed;
/// licence 1 issued.
#[test]
fn authorization_matrix_over_roles_and_permits_actions() {
    let mut people = office();
    for _ in 1..=6 {
        people.ok("ana", apply("business-licence", plan(), None));
    }
    for application in 2..=6 {
        people.ok("cashier", fee(application));
    }
    people.ok(
        "clerk",
        permits(Op::RequestInformation {
            application: 3,
            step: "completeness".into(),
            request: "a legible plan".into(),
        }),
    );
    for application in 4..=6 {
        people.ok("clerk", complete(application, "completeness"));
        people.ok("inspector", complete(application, "inspection"));
    }
    people.ok("licensing", decide(4, true));
    // Application 4 granted licence 1; file another at the decision for `decide`.
    people.ok("ana", apply("business-licence", plan(), None));
    people.ok("cashier", fee(7));
    people.ok("clerk", complete(7, "completeness"));
    people.ok("inspector", complete(7, "inspection"));
    people.ok("licensing", decide(5, false));
    people.ok("licensing", decide(6, false));
    let grounds = Hash32::sha256(b"grounds");
    people.ok(
        "ana",
        permits(Op::Appeal {
            application: 6,
            grounds,
        }),
    );

    let actions: Vec<(&str, Op)> = vec![
        (
            "define_type",
            Op::DefineType {
                permit_type: "business-licence".into(),
                definition: business_licence(),
            },
        ),
        (
            "retire_type",
            Op::RetireType {
                permit_type: "business-licence".into(),
            },
        ),
        (
            "apply",
            Op::Apply {
                permit_type: "business-licence".into(),
                form: form(),
                documents: plan(),
                records: Vec::new(),
                renews: None,
            },
        ),
        (
            "record_fee",
            Op::RecordFee {
                application: 1,
                reference: "PSP-1".into(),
            },
        ),
        (
            "complete_step",
            Op::CompleteStep {
                application: 2,
                step: "completeness".into(),
                reason: "complete".into(),
            },
        ),
        (
            "request_information",
            Op::RequestInformation {
                application: 2,
                step: "completeness".into(),
                request: "a plan".into(),
            },
        ),
        (
            "provide_information",
            Op::ProvideInformation {
                application: 3,
                form: Some(Hash32::sha256(b"c2")),
                documents: Vec::new(),
            },
        ),
        (
            "decide",
            Op::Decide {
                application: 7,
                step: "decision".into(),
                approve: false,
                scope: String::new(),
                reason: "no fire exit".into(),
            },
        ),
        ("withdraw", Op::Withdraw { application: 2 }),
        (
            "appeal",
            Op::Appeal {
                application: 5,
                grounds,
            },
        ),
        (
            "decide_appeal",
            Op::DecideAppeal {
                application: 6,
                upheld: false,
                scope: String::new(),
                reason: "the refusal stands".into(),
            },
        ),
        (
            "amend",
            Op::Amend {
                licence: 1,
                scope: "Café, 60 m²".into(),
                reason: "extension".into(),
            },
        ),
        (
            "change_licence",
            Op::ChangeLicence {
                licence: 1,
                action: LicenceAction::Suspend,
                reason: "hygiene".into(),
            },
        ),
    ];
    let actors = [
        "health-admin",
        "clerk",
        "inspector",
        "licensing",
        "head",
        "cashier",
        "land-admin",
        "land-clerk",
        "ana",
        "ben",
    ];
    // Who may, by the default policies; an applicant's action by anyone else reaches the
    // handler, which refuses it.
    let expected = |actor: &str, action: &str| -> Option<&'static str> {
        let allowed = match action {
            "define_type" | "retire_type" => actor == "health-admin",
            "apply" => true,
            "record_fee" => actor == "cashier",
            "complete_step" | "request_information" => actor == "clerk",
            "decide" => actor == "licensing",
            "provide_information" | "withdraw" | "appeal" => {
                return (actor != "ana").then_some("not_the_applicant");
            }
            "decide_appeal" | "amend" | "change_licence" => actor == "head",
            other => panic!("no expectation for {other}"),
        };
        (!allowed).then_some("not_authorized")
    };
    let mut checked = 0;
    for actor in actors {
        for (action, op) in &actions {
            let mut cell = people.clone();
            let receipt = cell.send(actor, permits(op.clone()));
            assert_eq!(
                civitas_modules::testing::failed_code(&receipt),
                expected(actor, action),
                "{actor} {action}: {receipt:?}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 130);
}

#[test]
fn an_official_never_decides_their_own_application_or_licence() {
    let mut people = office();
    // The clerk applies for a business licence of their own agency.
    people.ok("clerk", apply("business-licence", plan(), None));
    people.official("cashier-2", 708, "health", &["cashier", "clerk"]);
    people.ok("cashier-2", fee(1));
    people.fails("clerk", complete(1, "completeness"), "own_application");
    people.ok("cashier-2", complete(1, "completeness"));
    people.ok("inspector", complete(1, "inspection"));
    people.ok("licensing", decide(1, true));
    // The head of licensing holds a licence; they may not suspend it themselves.
    people.ok("head", apply("business-licence", plan(), None));
    people.ok("cashier-2", fee(2));
    people.ok("cashier-2", complete(2, "completeness"));
    people.ok("inspector", complete(2, "inspection"));
    people.ok("licensing", decide(2, true));
    let own = permits(Op::ChangeLicence {
        licence: 2,
        action: LicenceAction::Suspend,
        reason: "hygiene".into(),
    });
    people.fails("head", own, "own_licence");
}

#[test]
fn an_official_acting_after_a_deadline_meets_what_the_deadline_caused() {
    let mut people = office();
    filed_and_paid(&mut people);
    people.ok("clerk", complete(1, "completeness"));
    // The inspection is late (only reported): an inspector acting in the block that passes
    // the deadline finds it marked first, in the same receipt.
    people.chain.skip_ms += 31 * DAY;
    let receipt = people.ok("inspector", complete(1, "inspection"));
    assert!(
        matches!(
            &events(&receipt)[..],
            [
                PermitsEvent::ApplicationOverdue {
                    consequence: OnOverdue::Notify,
                    ..
                },
                PermitsEvent::StepCompleted { .. },
            ]
        ),
        "{:?}",
        events(&receipt)
    );
    // The decision is late (silence is consent): a refusal sent after the deadline is too
    // late; the ledger grants it at the end of that very block.
    // (Blocks are at most ten minutes apart: time passes up to a few minutes before the
    // deadline, then the next block crosses it.)
    assert!(people.wait(20 * DAY - 5 * 60_000).is_empty());
    people.chain.skip_ms += 10 * 60_000;
    people.fails("licensing", decide(1, false), "deadline_passed");
    let end = people
        .chain
        .blocks
        .last()
        .and_then(|b| b.end.clone())
        .expect("an end receipt");
    assert!(matches!(
        &permit_events(end.events)[..],
        [
            PermitsEvent::ApplicationOverdue {
                consequence: OnOverdue::Approve,
                ..
            },
            PermitsEvent::ApplicationDecided {
                outcome: Outcome::ApprovedTacitly,
                ..
            },
            PermitsEvent::LicenceIssued { .. },
        ]
    ));
}

#[test]
fn flooding_is_bounded_per_applicant_and_deadlines_are_met_in_order() {
    let mut people = office();
    let mut quick = business_licence();
    quick.fee = None;
    quick.documents.clear();
    quick.steps.truncate(1);
    quick.steps[0].on_overdue = OnOverdue::Notify;
    define(&mut people, "quick", quick);
    // Eight open applications per applicant and type.
    for _ in 0..8 {
        people.ok("ana", apply("quick", Vec::new(), None));
    }
    people.fails(
        "ana",
        apply("quick", Vec::new(), None),
        "too_many_open_applications",
    );
    people.ok("ana", permits(Op::Withdraw { application: 1 }));
    people.ok("ana", apply("quick", Vec::new(), None));
    // Many citizens, many deadlines in the same minutes: each block acts on as many as its
    // bound allows (64 events; a deadline that is only reported emits one), first filed first.
    const CITIZENS: [&str; 12] = [
        "c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", "c10", "c11",
    ];
    for (i, name) in CITIZENS.iter().enumerate() {
        people.citizen(name, 900 + i as u64, "registrar");
        for _ in 0..8 {
            people.ok(name, apply("quick", Vec::new(), None));
        }
    }
    people.chain.skip_ms += 11 * DAY;
    let mut overdue = Vec::new();
    for _ in 0..10 {
        let ended = permit_events(people.wait(1_000));
        assert!(ended.len() <= 64, "{}", ended.len());
        overdue.extend(ended.into_iter().filter_map(|e| match e {
            PermitsEvent::ApplicationOverdue { application, .. } => Some(application),
            _ => None,
        }));
    }
    // Every open application (the withdrawn one's deadline is stale): 8 of Ana's and 96.
    assert_eq!(overdue.len(), 104);
    let mut sorted = overdue.clone();
    sorted.sort();
    assert_eq!(overdue, sorted, "first filed, first acted on");
}

#[test]
fn a_renewal_is_one_at_a_time_and_never_of_a_licence_that_no_longer_stands() {
    let mut people = office();
    define(&mut people, "market-stall", short_licence());
    people.ok("ana", apply("market-stall", Vec::new(), None));
    people.ok("licensing", decide(1, true));
    people.wait(6 * DAY);
    people.ok("ana", apply("market-stall", Vec::new(), Some(1)));
    people.fails(
        "ana",
        apply("market-stall", Vec::new(), Some(1)),
        "renewal_pending",
    );
    // Revoked meanwhile: the renewal cannot be granted.
    people.ok(
        "head",
        permits(Op::ChangeLicence {
            licence: 1,
            action: LicenceAction::Revoke,
            reason: "obtained on false statements".into(),
        }),
    );
    people.fails("licensing", decide(2, true), "licence_revoked");
    people.ok("licensing", decide(2, false));
    assert_eq!(licence(&people, 1).renewing, None);
}

#[test]
fn an_official_asks_at_most_three_times_per_step() {
    let mut people = office();
    filed_and_paid(&mut people);
    let ask = permits(Op::RequestInformation {
        application: 1,
        step: "completeness".into(),
        request: "a legible plan".into(),
    });
    let answer = permits(Op::ProvideInformation {
        application: 1,
        form: Some(Hash32::sha256(b"again")),
        documents: Vec::new(),
    });
    for _ in 0..3 {
        people.ok("clerk", ask.clone());
        people.ok("ana", answer.clone());
    }
    people.fails("clerk", ask, "too_many_requests");
}

#[test]
fn a_form_is_bound_to_its_applicant() {
    let mut people = office();
    // Ana's application fails (no document), which shows her form's seed to everyone.
    let sealed = form();
    let ana_apply = |documents: Vec<Hash32>| {
        permits(Op::Apply {
            permit_type: "business-licence".into(),
            form: sealed.clone(),
            documents,
            records: Vec::new(),
            renews: None,
        })
    };
    people.fails("ana", ana_apply(Vec::new()), "wrong_documents");
    // Ben files with her seed and commitment: his form is another record, derived from him.
    people.ok("ben", ana_apply(plan()));
    let hers = civitas_core::sharing::record_id(
        "health",
        &civitas_core::permits::form_nonce(&people.id("ana"), &sealed.seed),
    );
    assert_ne!(application(&people, 1).form, hers);
    // Her own application still registers hers.
    people.ok("ana", ana_apply(plan()));
    assert_eq!(application(&people, 2).form, hers);
    // Nobody registers a form on its own, not even the agency's records officer.
    people.official("records", 709, "health", &["records"]);
    let nonce = Hash32::sha256(b"a records officer's nonce");
    people.fails(
        "records",
        Instruction::Sharing(civitas_core::sharing::SharingInstruction::Register {
            record: civitas_core::sharing::record_id("health", &nonce),
            nonce,
            schema: "permit.application".into(),
            commitment: Hash32::sha256(b"c"),
            subject: Hash32::sha256(b"s"),
            basis: "records-held-for-a-public-task".into(),
        }),
        "not_authorized",
    );
}

#[test]
fn a_renewal_granted_on_appeal_waits_for_one_filed_since() {
    let mut people = office();
    define(&mut people, "market-stall", short_licence());
    people.ok("ana", apply("market-stall", Vec::new(), None));
    people.ok("licensing", decide(1, true));
    let until = licence(&people, 1).valid_until.expect("it expires");
    people.wait(6 * DAY);
    // A first renewal is refused and appealed; a second is filed meanwhile.
    people.ok("ana", apply("market-stall", Vec::new(), Some(1)));
    people.ok("licensing", decide(2, false));
    people.ok(
        "ana",
        permits(Op::Appeal {
            application: 2,
            grounds: Hash32::sha256(b"grounds"),
        }),
    );
    people.ok("ana", apply("market-stall", Vec::new(), Some(1)));
    let uphold = permits(Op::DecideAppeal {
        application: 2,
        upheld: true,
        scope: "Market stall".into(),
        reason: "the refusal was wrong".into(),
    });
    people.fails("head", uphold.clone(), "renewal_pending");
    // The second is granted: the licence is renewed once.
    people.ok("licensing", decide(3, true));
    let renewed = licence(&people, 1);
    assert_eq!(renewed.valid_until.map(|u| u.0), Some(until.0 + 10 * DAY));
    assert_eq!((renewed.renewals, renewed.renewing), (1, None));
    // Nor does the first renew it again afterwards.
    people.fails("head", uphold, "not_renewable");
    assert_eq!(licence(&people, 1).renewals, 1);
}

#[test]
fn a_fee_is_recorded_only_in_an_open_fiscal_year_of_its_currency() {
    let mut people = office();
    people.ok("ana", apply("business-licence", plan(), None));
    people.ok(
        "budget",
        Instruction::Treasury(TreasuryInstruction::CloseYear { year: 1970 }),
    );
    // Money received in a closed year has nowhere to be counted: nothing changes.
    people.fails("cashier", fee(1), "year_closed");
    assert_eq!(application(&people, 1).paid, None);
    assert_eq!(
        people
            .chain
            .read::<RevenueTotal>(&revenue_total_key(1970, RevenueDimension::All, "")),
        None
    );
}

#[test]
fn fees_are_linked_revenue_and_a_type_in_another_currency_is_refused() {
    let mut people = office();
    filed_and_paid(&mut people);
    people.ok("ana", apply("business-licence", plan(), None));
    people.ok("cashier", fee(2));
    // The second entry links to the first in every total it counts in.
    let second: Revenue = people.chain.read(&revenue_key(1970, 2)).expect("recorded");
    for dimension in RevenueDimension::ALL {
        assert_eq!(second.previous_in(dimension), Some(1), "{dimension:?}");
    }
    let all: RevenueTotal = people
        .chain
        .read(&revenue_total_key(1970, RevenueDimension::All, ""))
        .expect("a total");
    assert_eq!((all.received, all.entries, all.last_entry), (24_000, 2, 2));
    // A fee the open year could never count is refused when the type is defined.
    let mut dollars = business_licence();
    dollars.fee = Some(civitas_core::money::Money::new(
        5_000,
        Currency::parse("USD").expect("a currency"),
    ));
    people.fails(
        "health-admin",
        permits(Op::DefineType {
            permit_type: "dollar-licence".into(),
            definition: dollars,
        }),
        "currency_mismatch",
    );
    // A fee beyond what one instruction may move is no fee.
    let mut huge = business_licence();
    huge.fee = Some(civitas_core::money::Money::new(
        u64::MAX,
        Currency::parse("EUR").expect("a currency"),
    ));
    assert!(huge.validate().is_err());
}

/// The read model, on SQLite and on PostgreSQL, as a node's lists show it: the types (one
/// retired and defined again takes applications), an agency's queue at a step the longest
/// waiting first, an applicant's applications, the timeline, the public register with a scope
/// amended, and the fees as revenue.
#[test]
fn the_read_model_lists_queues_timelines_the_register_and_revenue() {
    let mut people = office();
    filed_and_paid(&mut people);
    people.ok("ben", apply("business-licence", plan(), None));
    people.ok("cashier", fee(2));
    people.ok(
        "clerk",
        permits(Op::RequestInformation {
            application: 1,
            step: "completeness".into(),
            request: "a legible plan".into(),
        }),
    );
    people.ok(
        "ana",
        permits(Op::ProvideInformation {
            application: 1,
            form: None,
            documents: plan(),
        }),
    );
    people.ok("clerk", complete(1, "completeness"));
    people.ok("inspector", complete(1, "inspection"));
    people.ok("licensing", decide(1, true));
    people.ok(
        "head",
        permits(Op::Amend {
            licence: 1,
            scope: "Café, 60 m², 12 Market Street".into(),
            reason: "the storeroom joined the café".into(),
        }),
    );
    people.ok(
        "health-admin",
        permits(Op::RetireType {
            permit_type: "business-licence".into(),
        }),
    );
    define(&mut people, "business-licence", business_licence());
    on_both_databases("permits", async |url| listed(&people, url).await);
}

/// Runs `check` on a read model in SQLite and one in PostgreSQL.
fn on_both_databases(name: &str, check: impl AsyncFn(&str)) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let dir = std::env::temp_dir().join(format!("civitas-{name}-index-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a folder");
    let postgres = civitas_index::testing::Postgres::start().expect("a PostgreSQL server");
    for url in [
        format!("sqlite:{}", dir.join("index.sqlite").display()),
        postgres.database(name).expect("a database"),
    ] {
        runtime.block_on(check(&url));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

async fn listed(people: &People, url: &str) {
    use civitas_index::query::Order;
    use civitas_permits::index::{
        ApplicationFilter, RegisterFilter, applications, register, timeline, types,
    };
    let index = civitas_index::Index::open(url, civitas_modules::INDEX_TABLES)
        .await
        .expect("opened");
    index
        .apply(&people.chain.genesis.hash(), &people.chain.blocks)
        .await
        .expect("applied");
    let mut snapshot = index.snapshot().await.expect("a snapshot");
    let listed = types(&mut snapshot, Some("health")).await.expect("types");
    assert_eq!(listed.len(), 1, "{url}");
    assert!(!listed[0].retired, "defined again: {url}");
    assert_eq!(listed[0].version, 2);
    // Ben's application waits at the completeness check; Ana's is decided.
    let queue = applications(
        &mut snapshot,
        &ApplicationFilter {
            agency: Some("health".into()),
            step: Some("completeness".into()),
            status: Some("in_progress".into()),
            ..ApplicationFilter::default()
        },
        Order::Oldest,
        None,
        10,
    )
    .await
    .expect("a queue");
    let numbers: Vec<u64> = queue.items.iter().map(|a| a.application).collect();
    assert_eq!(numbers, [2], "{url}");
    assert!(queue.items[0].deadline_ms.is_some());
    let hers = applications(
        &mut snapshot,
        &ApplicationFilter {
            applicant: Some(people.id("ana").to_hex()),
            ..ApplicationFilter::default()
        },
        Order::Newest,
        None,
        10,
    )
    .await
    .expect("hers");
    assert_eq!(
        (
            hers.items[0].status.as_str(),
            hers.items[0].outcome.as_deref(),
            hers.items[0].licence
        ),
        ("decided", Some("approved"), Some(1)),
        "{url}"
    );
    let steps = timeline(&mut snapshot, 1, Order::Oldest, None, 50)
        .await
        .expect("a timeline");
    let kinds: Vec<&str> = steps.items.iter().map(|t| t.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "application_filed",
            "fee_paid",
            "information_requested",
            "information_provided",
            "step_completed",
            "step_completed",
            "application_decided",
            "licence_issued",
        ],
        "{url}"
    );
    let public = register(
        &mut snapshot,
        &RegisterFilter::default(),
        Order::Newest,
        None,
        10,
    )
    .await
    .expect("the register");
    assert_eq!(public.items.len(), 1);
    assert_eq!(
        public.items[0].scope, "Café, 60 m², 12 Market Street",
        "{url}"
    );
    assert_eq!(public.items[0].status, "valid");
    let received = civitas_treasury::index::revenue(
        &mut snapshot,
        1970,
        Some("health"),
        None,
        Order::Oldest,
        None,
        10,
    )
    .await
    .expect("revenue");
    let entries: Vec<(u64, u64)> = received.items.iter().map(|r| (r.entry, r.amount)).collect();
    assert_eq!(entries, [(1, 12_000), (2, 12_000)], "{url}");
    drop(snapshot);
    index.close().await;
}

#[test]
fn a_missed_deadline_reaches_the_supervisors_inbox() {
    use civitas_core::identity::IdentityInstruction;
    let mut people = office();
    // The head of licensing of another agency, and heads of health who lose the role, by a
    // change of roles, by an empty list, by deactivation.
    people.official("land-head", 720, "land", &["licensing-head"]);
    people.official("former-head", 721, "health", &["licensing-head"]);
    people.official("no-roles-head", 723, "health", &["licensing-head"]);
    people.official("gone-head", 724, "health", &["licensing-head"]);
    filed_and_paid(&mut people);
    // The head gains a role before the deadline passes, and keeps the one that tells them.
    let head = people.id("head");
    people.ok(
        "health-admin",
        Instruction::Identity(IdentityInstruction::SetRoles {
            account: head,
            roles: vec!["clerk".into(), "licensing-head".into()],
        }),
    );
    for (name, roles) in [
        ("former-head", vec!["clerk".to_string()]),
        ("no-roles-head", vec![]),
    ] {
        let account = people.id(name);
        people.ok(
            "health-admin",
            Instruction::Identity(IdentityInstruction::SetRoles { account, roles }),
        );
    }
    let gone = people.id("gone-head");
    people.ok(
        "health-admin",
        Instruction::Identity(IdentityInstruction::Deactivate {
            account: gone,
            reason: "left the agency".into(),
        }),
    );
    // Applied up to here before the head also watches the agency's overdue topic.
    let before = people.chain.blocks.len();
    let ended = permit_events(people.wait(10 * DAY + 60_000));
    assert!(
        matches!(&ended[..], [PermitsEvent::ApplicationOverdue { .. }]),
        "{ended:?}"
    );
    // A head appointed after the deadline passed is not told of it.
    people.official("new-head", 722, "health", &["licensing-head"]);
    on_both_databases("permits_inbox", async |url| {
        told(&people, before, url).await
    });
}

/// Who has the missed deadline in their inbox, once: the applicant (named by it) and the head
/// of health's licensing (who also watches the agency's overdue topic), nobody else.
async fn told(people: &People, before: usize, url: &str) {
    use civitas_index::query::Order;
    let index = civitas_index::Index::open(url, civitas_modules::INDEX_TABLES)
        .await
        .expect("opened");
    let genesis = people.chain.genesis.hash();
    let blocks = &people.chain.blocks;
    index
        .apply(&genesis, &blocks[..before])
        .await
        .expect("applied");
    let head = people.id("head");
    let watched = index
        .watch(&head, &["permits/overdue/health".to_string()], 0)
        .await
        .expect("watched");
    assert_eq!(watched, 1);
    index
        .apply(&genesis, &blocks[before..])
        .await
        .expect("applied");
    let mut snapshot = index.snapshot().await.expect("a snapshot");
    for (name, told) in [
        ("ana", true),
        ("head", true),
        ("former-head", false),
        ("no-roles-head", false),
        ("gone-head", false),
        ("land-head", false),
        ("new-head", false),
        ("clerk", false),
    ] {
        let inbox = snapshot
            .inbox(&people.id(name), false, Order::Newest, None, 50)
            .await
            .expect("an inbox");
        let overdue: Vec<&serde_json::Value> = inbox
            .items
            .iter()
            .map(|n| &n.event)
            .filter(|e| e["type"] == "application_overdue")
            .collect();
        assert_eq!(
            overdue.len(),
            usize::from(told),
            "{name} on {url}: {overdue:?}"
        );
        if told {
            assert_eq!(overdue[0]["supervisor_role"], "licensing-head");
            assert!(snapshot.unread(&people.id(name)).await.expect("unread") >= 1);
        }
    }
    drop(snapshot);
    index.close().await;
}
