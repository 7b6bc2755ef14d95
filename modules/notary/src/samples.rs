//! The notary's devnet samples: a notary of the first agency, and three documents anchored by
//! them (one revoked), whose files are in the devnet's `samples/` folder to check on the
//! portal's verify page.

use civitas_core::hash::Hash32;
use civitas_core::instruction::{
    IdentityInstruction, Instruction, MetadataEntry, NotaryInstruction,
};
use civitas_kit::samples::{Folder, SampleError, Seeder};

/// The sample documents: file, title, content, and whether it is revoked.
const DOCUMENTS: &[(&str, &str, &str, bool)] = &[
    (
        "budget-law-2026.txt",
        "Budget Law 2026",
        "Annual budget law as adopted.\n",
        false,
    ),
    (
        "procurement-notice-117.txt",
        "Procurement notice 117",
        "Notice of tender 117: school renovation.\n",
        false,
    ),
    (
        "permit-draft.txt",
        "Building permit (draft)",
        "Draft permit issued in error.\n",
        true,
    ),
];

/// Registers Ada Lovelace, notary and registrar of the first agency (key `<agency>-notary`),
/// and anchors the sample documents.
pub fn seed(seeder: &mut dyn Seeder) -> Result<(), SampleError> {
    let Some(first) = seeder.genesis().agencies.first().map(|a| a.id.clone()) else {
        return Ok(());
    };
    let admin = seeder.key(&first, &format!("{first} admin"))?;
    let notary = seeder.key(&format!("{first}-notary"), &format!("{first} notary"))?;
    seeder.phase(vec![(
        admin,
        Instruction::Identity(IdentityInstruction::RegisterOfficial {
            key: notary.public_key.clone(),
            agency: first,
            name: "Ada Lovelace".into(),
            roles: vec!["notary".into(), "registrar".into()],
        }),
    )])?;
    let mut anchors = Vec::new();
    let mut revocations = Vec::new();
    for (file, title, content, revoke) in DOCUMENTS {
        seeder.write(Folder::Samples, file, content.as_bytes())?;
        let document = Hash32::sha256(content.as_bytes());
        anchors.push((
            notary.clone(),
            Instruction::Notary(NotaryInstruction::Anchor {
                document,
                title: (*title).into(),
                metadata: vec![MetadataEntry {
                    key: "file".into(),
                    value: (*file).into(),
                }],
            }),
        ));
        if *revoke {
            revocations.push((
                notary.clone(),
                Instruction::Notary(NotaryInstruction::Revoke {
                    document,
                    reason: "issued in error; superseded".into(),
                }),
            ));
        }
    }
    seeder.phase(anchors)?;
    seeder.phase(revocations)
}

/// The document client `client` anchors `n`th in benchmark run `run`.
fn bench_document(run: u32, client: usize, n: usize) -> Hash32 {
    Hash32::sha256(format!("bench {run} {client} {n}").as_bytes())
}

fn bench_anchor(size: &civitas_kit::samples::Size, client: usize, n: usize) -> Instruction {
    let run = size.run;
    Instruction::Notary(NotaryInstruction::Anchor {
        document: bench_document(run, client, n),
        title: format!("Benchmark document {client}-{n}"),
        metadata: vec![],
    })
}

/// Of every 10: 7 anchors, 2 citizen registrations, and the revocation of the document
/// anchored five transactions earlier.
fn bench_mix(size: &civitas_kit::samples::Size, client: usize, n: usize) -> Instruction {
    let run = size.run;
    match n % 10 {
        7 | 8 => civitas_identity::samples::bench_citizen(size, client, n),
        9 => Instruction::Notary(NotaryInstruction::Revoke {
            document: bench_document(run, client, n - 5),
            reason: "superseded".into(),
        }),
        _ => bench_anchor(size, client, n),
    }
}

/// The notary's benchmark workloads.
pub const WORKLOADS: &[civitas_kit::samples::Workload] = &[
    civitas_kit::samples::Workload {
        name: "notary",
        about: "notaries anchor documents",
        roles: &["notary"],
        setup: None,
        instruction: bench_anchor,
    },
    civitas_kit::samples::Workload {
        name: "mix",
        about: "of every 10: 7 anchors, 2 citizen registrations, 1 revocation",
        roles: &["notary", "registrar"],
        setup: None,
        instruction: bench_mix,
    },
];
