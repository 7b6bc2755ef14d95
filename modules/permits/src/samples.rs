//! The permits' devnet samples: the officials who handle applications at finance and land, the
//! permit types they take (finance's business licence with an inspection; land's building
//! permit with documents and a fee, and its street-market stall permit, whose first step has a
//! one-minute deadline so that a newcomer sees a deadline pass), and the plans applicants
//! attach, notarised, in the devnet's `samples/` folder.
//!
//! Applications need the agencies' vaults (the form is a vault record), so the devnet files
//! them once its vaults run (`civitas devnet`, `devnet_permits.rs`), through `civitas vault
//! apply` and `civitas tx permits ...` as applicants and officials would.

use civitas_core::hash::Hash32;
use civitas_core::instruction::{
    IdentityInstruction, Instruction, MetadataEntry, NotaryInstruction,
};
use civitas_core::money::{Currency, Money};
use civitas_core::permits::examples::{building_permit, business_licence};
use civitas_core::permits::{FormRecord, OnOverdue, PermitTypeDef, PermitsInstruction, Register};
use civitas_identity::samples::official;
use civitas_kit::samples::{Folder, SampleError, Seeder, Size, Workload, has_agency};

/// The officials of the samples: key name, agency, name and roles.
pub const OFFICIALS: &[(&str, &str, &str, &[&str])] = &[
    ("finance-clerk", "finance", "Ida Wells", &["clerk"]),
    (
        "finance-inspector",
        "finance",
        "Lise Meitner",
        &["inspector"],
    ),
    (
        "finance-licensing",
        "finance",
        "Alan Turing",
        &["licensing"],
    ),
    ("finance-cashier", "finance", "John Napier", &["cashier"]),
    (
        "finance-licensing-head",
        "finance",
        "Rosalind Franklin",
        &["licensing-head"],
    ),
    ("land-clerk", "land", "Emmy Noether", &["clerk"]),
    ("land-planner", "land", "Jane Jacobs", &["planner"]),
    ("land-cashier", "land", "Luca Pacioli", &["cashier"]),
    (
        "land-planning-head",
        "land",
        "Frederick Olmsted",
        &["planning-head"],
    ),
    ("land-market", "land", "Mary Anning", &["market-officer"]),
];

/// The documents applicants attach: file, title (public, on the ledger: it names no sole
/// trader's address), content (stays in the file).
pub const DOCUMENTS: &[(&str, &str, &str)] = &[
    (
        "floor-plan-12-market-street.txt",
        "Floor plan, 12 Market Street",
        "Floor plan at 1:100 of the ground floor of 12 Market Street: sales area 55 m², \
         storeroom 12 m², one street entrance, one fire exit to the yard.\n",
    ),
    (
        "floor-plan-3-mill-lane.txt",
        "Floor plan of a workshop",
        "Floor plan at 1:100 of the workshop at 3 Mill Lane: 80 m², one entrance.\n",
    ),
    (
        "site-plan-4-river-road.txt",
        "Site plan of an extension",
        "Site plan at 1:500 of plot 4 River Road with the planned extension to the north.\n",
    ),
    (
        "structural-drawings-4-river-road.txt",
        "Structural drawings of an extension",
        "Structural drawings of the extension at 4 River Road, signed by the engineer of \
         record.\n",
    ),
];

/// A street-market stall permit of land's: a completeness check whose deadline is a minute
/// (passed, the step goes to the head of planning), and a decision in ten days (silence is
/// consent). A fee of 25.00 EUR, a year's validity, on the public register.
pub fn market_stall() -> PermitTypeDef {
    let mut definition = business_licence();
    definition.title = "Street-market stall".into();
    definition.description =
        "Needed to sell from a stall at the city's street markets; the sample's first step has \
         a one-minute deadline so that a newcomer sees one pass."
            .into();
    definition.steps.truncate(1);
    definition.steps[0].deadline_secs = 60;
    definition.steps[0].on_overdue = OnOverdue::Escalate;
    definition.steps.push(civitas_core::permits::StepDef {
        name: "decision".into(),
        title: "Decision".into(),
        role: "market-officer".into(),
        deadline_secs: 10 * 86_400,
        on_overdue: OnOverdue::Approve,
    });
    definition.documents.clear();
    definition.fee = Currency::parse("EUR")
        .ok()
        .map(|eur| Money::new(2_500, eur));
    definition.validity_secs = 365 * 86_400;
    definition.renewal_window_secs = 30 * 86_400;
    definition.register = Register::Public;
    definition.appeal_route = "Appeal to the head of planning within 14 days".into();
    definition.appeal_secs = 14 * 86_400;
    definition.supervisor_role = "planning-head".into();
    definition
}

/// Registers the officials, defines the three types and notarises the plans (by the first
/// agency's notary, whom the notary's samples register). Needs finance and land.
pub fn seed(seeder: &mut dyn Seeder) -> Result<(), SampleError> {
    if !has_agency(seeder, "finance") || !has_agency(seeder, "land") {
        return Ok(());
    }
    let mut txs = Vec::new();
    for (name, agency, person, roles) in OFFICIALS {
        let admin = seeder.key(agency, &format!("{agency} admin"))?;
        let key = seeder.key(name, &format!("{agency} {}", roles.join(", ")))?;
        txs.push((admin, official(&key, agency, person, roles)));
    }
    seeder.phase(txs)?;
    let finance = seeder.key("finance", "finance admin")?;
    let land = seeder.key("land", "land admin")?;
    let define = |permit_type: &str, definition: PermitTypeDef| {
        Instruction::Permits(PermitsInstruction::DefineType {
            permit_type: permit_type.into(),
            definition,
        })
    };
    let notary = seeder.key("finance-notary", "finance notary")?;
    let mut txs = vec![
        (finance, define("business-licence", business_licence())),
        (land.clone(), define("building-permit", building_permit())),
        (land, define("street-market-stall", market_stall())),
    ];
    for (file, title, content) in DOCUMENTS {
        seeder.write(Folder::Samples, file, content.as_bytes())?;
        txs.push((
            notary.clone(),
            Instruction::Notary(NotaryInstruction::Anchor {
                document: Hash32::sha256(content.as_bytes()),
                title: (*title).into(),
                metadata: vec![MetadataEntry {
                    key: "file".into(),
                    value: (*file).into(),
                }],
            }),
        ));
    }
    seeder.phase(txs)
}

/// The permit type of the benchmark: one step, decided by the `licensing` role, with no
/// deadline, fee or documents.
const BENCH_TYPE: &str = "bench-permit";

fn bench_type() -> PermitTypeDef {
    let mut definition = business_licence();
    definition.title = "Benchmark permit".into();
    definition.steps = vec![civitas_core::permits::StepDef {
        name: "decision".into(),
        title: "Decision".into(),
        role: "licensing".into(),
        deadline_secs: 0,
        on_overdue: OnOverdue::Notify,
    }];
    definition.documents.clear();
    definition.fee = None;
    definition
}

/// Most registrations one batch of the setup carries (one admin signs them all, and a signer
/// has at most 1,024 transactions waiting).
const REGISTRATIONS_PER_BATCH: usize = 1_000;

/// For the `permits` workload: the benchmark's permit type, and as many applications as the
/// run decides, filed by citizens (eight each, the most one may have undecided), numbered 1 to
/// `clients × per_client`. The filing is timed and reported: it is the apply rate.
fn bench_setup(seeder: &mut dyn Seeder, agency: &str, size: &Size) -> Result<(), SampleError> {
    let admin = seeder.key(agency, &format!("{agency} admin"))?;
    seeder.phase(vec![(
        admin.clone(),
        Instruction::Permits(PermitsInstruction::DefineType {
            permit_type: BENCH_TYPE.into(),
            definition: bench_type(),
        }),
    )])?;
    let total = size.clients * size.per_client;
    let per_applicant = crate::handler::OPEN_PER_APPLICANT_MAX as usize;
    let mut applicants = Vec::new();
    for i in 0..total.div_ceil(per_applicant) {
        applicants.push(seeder.key(&format!("bench-applicant-{i}"), "bench")?);
    }
    for chunk in applicants.chunks(REGISTRATIONS_PER_BATCH) {
        seeder.batch(
            chunk
                .iter()
                .map(|key| {
                    (
                        admin.clone(),
                        Instruction::Identity(IdentityInstruction::RegisterCitizen {
                            key: key.public_key.clone(),
                        }),
                    )
                })
                .collect(),
        )?;
    }
    let applications = (0..total)
        .map(|i| {
            let tag =
                |what: &str| Hash32::sha256(format!("bench {what} {} {i}", size.run).as_bytes());
            (
                applicants[i / per_applicant].clone(),
                Instruction::Permits(PermitsInstruction::Apply {
                    permit_type: BENCH_TYPE.into(),
                    form: FormRecord {
                        seed: tag("seed"),
                        commitment: tag("commitment"),
                        subject: tag("subject"),
                    },
                    documents: Vec::new(),
                    records: Vec::new(),
                    renews: None,
                }),
            )
        })
        .collect();
    let started = std::time::Instant::now();
    seeder.batch(applications)?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "setup: {total} applications filed (permits.apply, each registering its form) in \
         {seconds:.1} s: {:.0} a second, submitted 256 to a request",
        total as f64 / seconds.max(f64::MIN_POSITIVE)
    );
    Ok(())
}

/// Client `client`'s `n`th decision: granting application `1 + n·clients + client`, one the
/// setup filed, so the clients share them out without overlap. `civitas bench` starts a fresh
/// network for every run, so the setup's applications are numbered from 1.
fn bench_decide(size: &Size, client: usize, n: usize) -> Instruction {
    let application = 1 + (n * size.clients + client) as u64;
    Instruction::Permits(PermitsInstruction::Decide {
        application,
        step: "decision".into(),
        approve: true,
        scope: format!("Benchmark stall {application}"),
        reason: "benchmark".into(),
    })
}

/// The permits' benchmark workload.
pub const WORKLOADS: &[Workload] = &[Workload {
    name: "permits",
    about: "applications filed by citizens (the setup, timed) and granted by officials (a \
            licence issued per decision)",
    roles: &["licensing"],
    setup: Some(bench_setup),
    instruction: bench_decide,
}];
