//! The register's devnet samples: a publisher of the first agency, and three notices (one
//! withdrawn) whose texts are in the devnet's `samples/` folder.

use civitas_core::hash::Hash32;
use civitas_core::instruction::Instruction;
use civitas_core::notices::NoticesInstruction;
use civitas_core::time::TimestampMs;
use civitas_identity::samples::official;
use civitas_kit::samples::{Folder, SampleError, Seeder};

const DAY_MS: u64 = 86_400_000;

/// A sample notice.
struct Sample {
    /// Its text's file in `samples/`.
    file: &'static str,
    category: &'static str,
    title: &'static str,
    text: &'static str,
    /// Days from now until it takes effect.
    starts_in_days: u64,
    /// Days it applies, if it expires.
    lasts_days: Option<u64>,
    withdrawn: bool,
}

const NOTICES: &[Sample] = &[
    Sample {
        file: "notice-budget-consultation.txt",
        category: "consultation",
        title: "Consultation on the draft budget for next year",
        text: "The draft budget is open for comments for thirty days.\n",
        starts_in_days: 0,
        lasts_days: Some(30),
        withdrawn: false,
    },
    Sample {
        file: "notice-open-data-bylaw.txt",
        category: "bylaw",
        title: "Bylaw on open data for public contracts",
        text: "Every public contract is published in OCDS within ten days of signature.\n",
        starts_in_days: 7,
        lasts_days: None,
        withdrawn: false,
    },
    Sample {
        file: "notice-clinic-hearing.txt",
        category: "hearing",
        title: "Public hearing on the Northfield clinic site",
        text: "A public hearing on the site of the Northfield clinic is held at the town hall.\n",
        starts_in_days: 14,
        lasts_days: Some(15),
        withdrawn: true,
    },
];

/// Registers Hedy Lamarr, publisher of the first agency (key `<agency>-publisher`), and
/// publishes the sample notices, withdrawing one.
pub fn seed(seeder: &mut dyn Seeder) -> Result<(), SampleError> {
    let Some(first) = seeder.genesis().agencies.first().map(|a| a.id.clone()) else {
        return Ok(());
    };
    let admin = seeder.key(&first, &format!("{first} admin"))?;
    let publisher = seeder.key(
        &format!("{first}-publisher"),
        &format!("{first} publisher of notices"),
    )?;
    seeder.phase(vec![(
        admin,
        official(&publisher, &first, "Hedy Lamarr", &["publisher"]),
    )])?;
    let now = seeder.now_ms();
    let mut publications = Vec::new();
    for sample in NOTICES {
        seeder.write(Folder::Samples, sample.file, sample.text.as_bytes())?;
        let effective = now + sample.starts_in_days * DAY_MS;
        publications.push((
            publisher.clone(),
            Instruction::Notices(NoticesInstruction::Publish {
                category: sample.category.into(),
                title: sample.title.into(),
                text: Hash32::sha256(sample.text.as_bytes()),
                effective: TimestampMs(effective),
                expires: sample
                    .lasts_days
                    .map(|days| TimestampMs(effective + days * DAY_MS)),
            }),
        ));
    }
    // One signer: its nonces run in order, so the notices are numbered 1, 2, 3 as listed.
    seeder.phase(publications)?;
    let withdrawals = NOTICES
        .iter()
        .enumerate()
        .filter(|(_, sample)| sample.withdrawn)
        .map(|(index, _)| {
            (
                publisher.clone(),
                Instruction::Notices(NoticesInstruction::Withdraw {
                    notice: index as u64 + 1,
                    reason: "the hearing moved to a later date".into(),
                }),
            )
        })
        .collect();
    seeder.phase(withdrawals)
}
