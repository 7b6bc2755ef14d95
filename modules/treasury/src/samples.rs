//! Treasury's devnet samples: a budget for the year with allotments, three vendors, a
//! commitment and a payment, so a first look at the spending pages shows a working treasury.
//! They need the finance ministry (the budget) and a spending ministry, health; without either
//! they are skipped.

use civitas_core::instruction::{IdentityInstruction, Instruction, TreasuryInstruction};
use civitas_core::money::{AMOUNT_MAX, Currency, Money};
use civitas_core::time::TimestampMs;
use civitas_core::treasury::Direction;
use civitas_identity::samples::official;
use civitas_kit::samples::{SampleError, Seeder, has_agency};

/// The euro.
fn euro() -> Currency {
    Currency::parse("EUR").expect("EUR is a currency code")
}

/// `major` euros.
pub fn eur(major: u64) -> Money {
    Money::new(major * 100, euro())
}

/// The sample vendors: key name, label, registered name and registration number.
pub const VENDORS: &[(&str, &str, &str, &str)] = &[
    (
        "vendor-acme",
        "Acme Construction (vendor)",
        "Acme Construction",
        "RC-2019-0042",
    ),
    (
        "vendor-bolt",
        "Bolt Builders (vendor)",
        "Bolt Builders",
        "RC-2021-1187",
    ),
    (
        "vendor-medsupply",
        "MedSupply Ltd (vendor)",
        "MedSupply Ltd",
        "RC-2016-0733",
    ),
];

/// Budget lines (appropriations 1 to 4, those of agencies the network has): agency, programme,
/// classification, purpose and amount in euros.
const LINES: &[(&str, &str, &str, &str, u64)] = &[
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

fn treasury(op: TreasuryInstruction) -> Instruction {
    Instruction::Treasury(op)
}

/// Seeds the officials, the vendors, the year's budget, a commitment and a payment.
pub fn seed(seeder: &mut dyn Seeder) -> Result<(), SampleError> {
    if !has_agency(seeder, "finance") || !has_agency(seeder, "health") {
        return Ok(());
    }
    let finance_admin = seeder.key("finance", "finance admin")?;
    let health_admin = seeder.key("health", "health admin")?;
    let budget = seeder.key("finance-budget", "finance budget official")?;
    let treasurer = seeder.key("health-treasurer", "health treasurer")?;
    let treasurer_2 = seeder.key("health-treasurer-2", "health second treasurer")?;
    let mut vendors = Vec::new();
    for (name, label, registered, registration) in VENDORS {
        vendors.push((seeder.key(name, label)?, *registered, *registration));
    }

    let mut txs = vec![
        (
            finance_admin,
            official(&budget, "finance", "Grace Hopper", &["budget"]),
        ),
        (
            health_admin.clone(),
            official(&treasurer, "health", "Mary Seacole", &["treasurer"]),
        ),
        (
            health_admin.clone(),
            official(
                &treasurer_2,
                "health",
                "Florence Nightingale",
                &["treasurer"],
            ),
        ),
    ];
    for (key, ..) in &vendors {
        txs.push((
            health_admin.clone(),
            Instruction::Identity(IdentityInstruction::RegisterCitizen {
                key: key.public_key.clone(),
            }),
        ));
    }
    seeder.phase(txs)?;

    // The year the devnet starts in, as block times are wall-clock times.
    let year = TimestampMs(seeder.now_ms()).civil().0 as u32;
    let mut txs = vec![(
        budget.clone(),
        Vec::new(),
        treasury(TreasuryInstruction::OpenYear {
            year,
            currency: euro(),
            procurement_threshold: eur(100_000).amount,
        }),
    )];
    // Each vendor co-signs its registration: its name and registration become public.
    for (key, name, registration) in &vendors {
        txs.push((
            treasurer.clone(),
            vec![key.clone()],
            treasury(TreasuryInstruction::RegisterVendor {
                account: key.account(),
                name: name.to_string(),
                registration: registration.to_string(),
            }),
        ));
    }
    seeder.phase_cosigned(txs)?;

    let appropriations = LINES
        .iter()
        .filter(|(agency, ..)| has_agency(seeder, agency))
        .map(|(agency, programme, classification, purpose, amount)| {
            (
                budget.clone(),
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
    seeder.phase(appropriations)?;
    let allot = |appropriation, amount| {
        (
            budget.clone(),
            treasury(TreasuryInstruction::Allot {
                appropriation,
                direction: Direction::Increase,
                amount: eur(amount),
                reason: "first half of the year".into(),
            }),
        )
    };
    seeder.phase(vec![allot(1, 300_000), allot(2, 125_000)])?;

    // Direct spending on supplies: commitment 1, and a first payment on it.
    let medsupply = &vendors[2].0;
    seeder.phase(vec![(
        treasurer.clone(),
        treasury(TreasuryInstruction::Commit {
            appropriation: 2,
            vendor: medsupply.account(),
            amount: eur(40_000),
            description: "Vaccines and syringes, first quarter".into(),
        }),
    )])?;
    seeder.phase(vec![(
        treasurer,
        treasury(TreasuryInstruction::Pay {
            commitment: 1,
            amount: eur(25_000),
            reference: "MS-INV-2231".into(),
        }),
    )])
}

/// For the treasury workload: a budget official, a year, an appropriation and allotment as
/// large as allowed, a vendor, and commitment 1 that the clients pay against.
fn bench_setup(
    seeder: &mut dyn Seeder,
    agency: &str,
    _size: &civitas_kit::samples::Size,
) -> Result<(), SampleError> {
    let admin = seeder.key(agency, &format!("{agency} admin"))?;
    let budget = seeder.key("bench-budget", "bench")?;
    let treasurer = seeder.key("bench-treasurer", "bench")?;
    let vendor = seeder.key("bench-vendor", "bench")?;
    seeder.phase(vec![
        (
            admin.clone(),
            official(&budget, agency, "Bench budget", &["budget"]),
        ),
        (
            admin.clone(),
            official(&treasurer, agency, "Bench treasurer", &["treasurer"]),
        ),
        (
            admin,
            Instruction::Identity(IdentityInstruction::RegisterCitizen {
                key: vendor.public_key.clone(),
            }),
        ),
    ])?;
    let money = |amount| Money::new(amount, euro());
    // One signer's nonces run in order, so the year, appropriation and allotment apply in turn.
    seeder.phase_cosigned(vec![
        (
            budget.clone(),
            Vec::new(),
            treasury(TreasuryInstruction::OpenYear {
                year: 2026,
                currency: euro(),
                procurement_threshold: 10_000_000,
            }),
        ),
        (
            budget.clone(),
            Vec::new(),
            treasury(TreasuryInstruction::Appropriate {
                year: 2026,
                agency: agency.to_string(),
                programme: "benchmark".into(),
                classification: "2111".into(),
                purpose: "Benchmark payments".into(),
                amount: money(AMOUNT_MAX),
            }),
        ),
        (
            budget,
            Vec::new(),
            treasury(TreasuryInstruction::Allot {
                appropriation: 1,
                direction: Direction::Increase,
                amount: money(AMOUNT_MAX),
                reason: "benchmark".into(),
            }),
        ),
        (
            treasurer.clone(),
            vec![vendor.clone()],
            treasury(TreasuryInstruction::RegisterVendor {
                account: vendor.account(),
                name: "Bench vendor".into(),
                registration: "RC-BENCH".into(),
            }),
        ),
    ])?;
    seeder.phase(vec![(
        treasurer,
        treasury(TreasuryInstruction::Commit {
            appropriation: 1,
            vendor: vendor.account(),
            amount: money(AMOUNT_MAX),
            description: "Benchmark commitment".into(),
        }),
    )])
}

/// A payment below the two-treasurer threshold, against the commitment the setup made.
fn bench_payment(size: &civitas_kit::samples::Size, client: usize, n: usize) -> Instruction {
    let run = size.run;
    treasury(TreasuryInstruction::Pay {
        commitment: 1,
        amount: Money::new(100 + (n % 100) as u64, euro()),
        reference: format!("bench {run} {client}-{n}"),
    })
}

/// Treasury's benchmark workload.
pub const WORKLOADS: &[civitas_kit::samples::Workload] = &[civitas_kit::samples::Workload {
    name: "treasury",
    about: "treasurers pay against a commitment (a payment record, an entry and six running \
            totals per payment, each provable)",
    roles: &["treasurer"],
    setup: Some(bench_setup),
    instruction: bench_payment,
}];
