//! The sharing module's benchmark workload: officials recording reads of a record their agency
//! holds (`civitas bench --workload access-log`), to measure what the access log costs the
//! ledger against other workloads on the same machine.

use civitas_core::hash::Hash32;
use civitas_core::instruction::Instruction;
use civitas_core::sharing::{SharingInstruction, record_id, subject_tag};
use civitas_identity::samples::official;
use civitas_kit::samples::{AGENCIES, SampleError, Seeder, Workload};

/// The workloads.
pub const WORKLOADS: &[Workload] = &[Workload {
    name: "access-log",
    about: "caseworkers record reads of a record their agency holds (sharing.access)",
    roles: &["caseworker"],
    setup: Some(bench_setup),
    instruction: bench_access,
}];

/// The nonce of the benchmark's record.
fn bench_nonce() -> Hash32 {
    Hash32::sha256(b"civitas benchmark record")
}

/// A records officer of `agency` registers the record the clients read.
fn bench_setup(
    seeder: &mut dyn Seeder,
    agency: &str,
    _size: &civitas_kit::samples::Size,
) -> Result<(), SampleError> {
    let admin = seeder.key(agency, &format!("{agency} admin"))?;
    let records = seeder.key("bench-records", "bench")?;
    seeder.phase(vec![(
        admin,
        official(&records, agency, "Bench records officer", &["records"]),
    )])?;
    let nonce = bench_nonce();
    let record = record_id(agency, &nonce);
    seeder.phase(vec![(
        records.clone(),
        Instruction::Sharing(SharingInstruction::Register {
            record,
            nonce,
            schema: "civil.birth-certificate".into(),
            commitment: Hash32::sha256(b"civitas benchmark commitment"),
            subject: subject_tag(&record, &nonce, &records.account()),
            basis: "records-held-for-a-public-task".into(),
        }),
    )])
}

/// A read of the benchmark's record (the bench's officials are of the first agency).
fn bench_access(_size: &civitas_kit::samples::Size, _client: usize, _n: usize) -> Instruction {
    Instruction::Sharing(SharingInstruction::Access {
        record: record_id(AGENCIES[0].0, &bench_nonce()),
        purpose: "case-handling".into(),
        basis: "holder-case-handling".into(),
    })
}
