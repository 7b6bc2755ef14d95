//! The sharing module executed block by block in memory through the whole ledger
//! (authentication, the protocol version, the policies and the legal basis each instruction
//! cites, the handler), as validators execute it; then each record's log as the read model
//! keeps it.

use civitas_core::crypto::PrivateKey;
use civitas_core::event::Event;
use civitas_core::governance::{GovernanceAction, GovernanceInstruction};
use civitas_core::hash::Hash32;
use civitas_core::instruction::{IdentityInstruction, Instruction};
use civitas_core::receipt::Receipt;
use civitas_core::seal::DecryptionKey;
use civitas_core::sharing::{
    CONSENTS_MAX, SharingEvent, SharingInstruction, record_id, subject_tag,
};
use civitas_core::time::TimestampMs;
use civitas_exec::{BlockError, Mode};
use civitas_modules::testing::{Chain, failed_code as code, official, tx};
use civitas_sharing::state::{Consent, Grant, Record, consent_key, grant_key, record_key};
use std::collections::BTreeMap;

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// A law this test network adopted at genesis: a legal basis for health's caseworkers to
/// obtain civil-status records for a permit application without asking the person again.
const PERMITS_ACT: &str = r#"
@id("permits-act-12")
@description("a caseworker of health obtains a civil-status record held by another agency for a permit application")
@basis("Permits Act, section 12 (a law of this test network): the permit office obtains civil-status certificates another authority holds")
permit (principal, action == Action::"sharing.request", resource)
when {
  principal.kind == "official" &&
  principal.agency == "health" &&
  principal.roles.contains("caseworker") &&
  resource.schema like "civil.*" &&
  context.purpose == "permit-application"
};
"#;

/// People of the test chain, with their keys and nonces.
struct World {
    chain: Chain,
    keys: BTreeMap<&'static str, PrivateKey>,
    nonces: BTreeMap<&'static str, u64>,
}

impl World {
    /// A chain at protocol 3 that adopted [`PERMITS_ACT`]: `land` keeps records (records
    /// officer, caseworker, registrar), `health` asks for them (caseworker, records officer),
    /// and two citizens.
    fn new() -> Self {
        Self::with_chain(Chain::at_with_policies(3, PERMITS_ACT))
    }

    /// The same people on `chain` (at protocol 3).
    fn with_chain(chain: Chain) -> Self {
        let mut world = Self {
            chain,
            keys: BTreeMap::new(),
            nonces: BTreeMap::new(),
        };
        for (name, seed) in [
            ("finance-admin", 101),
            ("land-admin", 102),
            ("health-admin", 103),
            ("records", 700),
            ("land-caseworker", 701),
            ("registrar", 702),
            ("health-caseworker", 710),
            ("health-records", 711),
            ("ana", 800),
            ("ben", 801),
        ] {
            world.keys.insert(name, PrivateKey::from_test_seed(seed));
        }
        for (admin, name, agency, role) in [
            ("land-admin", "records", "land", "records"),
            ("land-admin", "land-caseworker", "land", "caseworker"),
            ("land-admin", "registrar", "land", "registrar"),
            ("health-admin", "health-caseworker", "health", "caseworker"),
            ("health-admin", "health-records", "health", "records"),
        ] {
            let op = official(&world.keys[name], agency, &[role]);
            world.ok(admin, op);
        }
        for citizen in ["ana", "ben"] {
            let key = world.keys[citizen].public_key();
            world.ok(
                "registrar",
                Instruction::Identity(IdentityInstruction::RegisterCitizen { key }),
            );
        }
        world
    }

    fn id(&self, name: &str) -> civitas_core::crypto::AccountId {
        self.keys[name].public_key().account_id()
    }

    fn send(&mut self, who: &'static str, op: Instruction) -> Receipt {
        let nonce = self.nonces.entry(who).or_insert(0);
        let signed = tx(&self.keys[who], None, *nonce, op);
        *nonce += 1;
        self.chain.one(signed)
    }

    fn ok(&mut self, who: &'static str, op: Instruction) -> Receipt {
        let receipt = self.send(who, op);
        assert_eq!(code(&receipt), None, "{receipt:?}");
        receipt
    }

    fn fails(&mut self, who: &'static str, op: Instruction, expected: &str) -> Receipt {
        let receipt = self.send(who, op);
        assert_eq!(code(&receipt), Some(expected), "{receipt:?}");
        receipt
    }

    fn record(&self, id: &Hash32) -> Record {
        self.chain.read(&record_key(id)).expect("registered")
    }

    /// Registers, as land's records officer, a record of `schema` about `subject` with the
    /// subject salt `salt`; gives its id.
    fn register(&mut self, nonce: &[u8], schema: &str, subject: &str, salt: &Hash32) -> Hash32 {
        let nonce = Hash32::sha256(nonce);
        let id = record_id("land", &nonce);
        let tag = subject_tag(&id, salt, &self.id(subject));
        self.ok(
            "records",
            register(
                &nonce,
                "land",
                schema,
                tag,
                "records-held-for-a-public-task",
            ),
        );
        id
    }
}

fn sharing(op: SharingInstruction) -> Instruction {
    Instruction::Sharing(op)
}

/// `sharing.register` of the record `agency` derives from `nonce`.
fn register(
    nonce: &Hash32,
    agency: &str,
    schema: &str,
    subject: Hash32,
    basis: &str,
) -> Instruction {
    let id = record_id(agency, nonce);
    sharing(SharingInstruction::Register {
        record: id,
        nonce: *nonce,
        schema: schema.into(),
        commitment: Hash32::sha256(id.as_ref()),
        subject,
        basis: basis.into(),
    })
}

fn access(id: &Hash32, purpose: &str, basis: &str) -> Instruction {
    sharing(SharingInstruction::Access {
        record: *id,
        purpose: purpose.into(),
        basis: basis.into(),
    })
}

fn request(id: &Hash32, purpose: &str, basis: &str, consent: Option<u64>) -> Instruction {
    sharing(SharingInstruction::Request {
        record: *id,
        purpose: purpose.into(),
        basis: basis.into(),
        consent,
    })
}

fn consent(id: &Hash32, salt: &Hash32, recipient: &str, expires: u64) -> Instruction {
    sharing(SharingInstruction::Consent {
        record: *id,
        salt: *salt,
        recipient: recipient.into(),
        purpose: "permit-application".into(),
        expires: TimestampMs(expires),
    })
}

fn message(receipt: &Receipt) -> String {
    receipt.outcome.message().unwrap_or_default().to_string()
}

#[test]
fn a_record_is_registered_read_shared_by_law_rectified_and_erased() {
    let mut w = World::new();
    let salt = Hash32::sha256(b"subject salt");
    let birth = w.register(b"birth", "civil.birth-certificate", "ana", &salt);
    let record = w.record(&birth);
    assert_eq!(record.holder, "land");
    assert_eq!(record.version, 1);
    assert_eq!(record.registered_by, w.id("records"));
    // The ledger keeps a tag of whom it is about, which only the salt opens.
    assert_eq!(record.subject, subject_tag(&birth, &salt, &w.id("ana")));
    // An id is derived from the holder and a nonce: used once, and never taken by another
    // agency registering first.
    let nonce = Hash32::sha256(b"birth");
    w.fails(
        "records",
        register(
            &nonce,
            "land",
            "civil.birth-certificate",
            salt,
            "records-held-for-a-public-task",
        ),
        "record_exists",
    );
    let mut squat = register(
        &nonce,
        "health",
        "civil.birth-certificate",
        salt,
        "records-held-for-a-public-task",
    );
    if let Instruction::Sharing(SharingInstruction::Register { record, .. }) = &mut squat {
        *record = birth;
    }
    w.fails("health-records", squat, "record_id_not_derived");
    // The holder is always the signer's agency.
    let theirs = Hash32::sha256(b"health's own");
    w.ok(
        "health-records",
        register(
            &theirs,
            "health",
            "civil.residence",
            salt,
            "records-held-for-a-public-task",
        ),
    );
    assert_eq!(w.record(&record_id("health", &theirs)).holder, "health");
    // A basis that did not allow the instruction is refused, naming the ones that did.
    let receipt = w.fails(
        "records",
        register(
            &Hash32::sha256(b"other"),
            "land",
            "civil.birth-certificate",
            salt,
            "holder-case-handling",
        ),
        "basis_not_applicable",
    );
    assert!(
        message(&receipt).contains("records-held-for-a-public-task"),
        "{}",
        message(&receipt)
    );
    // Schemas are adopted codes: nothing about a person fits in one.
    let receipt = w.fails(
        "records",
        register(
            &Hash32::sha256(b"named"),
            "land",
            "civil.birth/jane-doe-1985",
            salt,
            "records-held-for-a-public-task",
        ),
        "not_authorized",
    );
    assert!(
        message(&receipt).contains("schemas-are-adopted-codes"),
        "{}",
        message(&receipt)
    );

    // The holder's caseworker reads it: the entry names the official, purpose and basis.
    let receipt = w.ok(
        "land-caseworker",
        access(&birth, "case-handling", "holder-case-handling"),
    );
    assert_eq!(
        receipt.events,
        vec![Event::Sharing(SharingEvent::RecordAccessed {
            record: birth,
            agency: "land".into(),
            version: 1,
            official: w.id("land-caseworker"),
            purpose: "case-handling".into(),
            basis: "holder-case-handling".into(),
        })]
    );
    // Purposes are adopted codes too.
    w.fails(
        "land-caseworker",
        access(&birth, "case-jane-doe-19850312", "holder-case-handling"),
        "not_authorized",
    );
    // Another agency has no copy: no policy lets it read. Another agency cannot rectify or
    // erase it either.
    w.fails(
        "health-caseworker",
        access(&birth, "permit-application", "recipient-uses-shared-copy"),
        "not_authorized",
    );
    // Health obtains it by the law this network adopted, for a permit application only.
    w.fails(
        "health-caseworker",
        request(&birth, "audit", "permits-act-12", None),
        "not_authorized",
    );
    let receipt = w.ok(
        "health-caseworker",
        request(&birth, "permit-application", "permits-act-12", None),
    );
    assert_eq!(
        receipt.events,
        vec![Event::Sharing(SharingEvent::RecordShared {
            record: birth,
            holder: "land".into(),
            recipient: "health".into(),
            version: 1,
            official: w.id("health-caseworker"),
            purpose: "permit-application".into(),
            basis: "permits-act-12".into(),
            consent: None,
        })]
    );
    let grant: Grant = w.chain.read(&grant_key(&birth, "health")).unwrap();
    assert_eq!(grant.tx, receipt.tx);
    assert_eq!(w.record(&birth).copies, vec!["health".to_string()]);
    // The share stands: asking again for the same version is refused, naming it.
    let receipt = w.fails(
        "health-caseworker",
        request(&birth, "permit-application", "permits-act-12", None),
        "already_shared",
    );
    assert!(
        message(&receipt).contains(&receipt_tx(&grant)),
        "{}",
        message(&receipt)
    );
    // The law covers health only.
    w.fails(
        "land-caseworker",
        request(&birth, "permit-application", "permits-act-12", None),
        "not_authorized",
    );
    // Health reads its copy on the basis and for the purpose it was shared under; not on the
    // holder's basis, not for another purpose.
    w.fails(
        "health-caseworker",
        access(&birth, "permit-application", "holder-case-handling"),
        "basis_not_applicable",
    );
    w.fails(
        "health-caseworker",
        access(&birth, "audit", "recipient-uses-shared-copy"),
        "purpose_not_granted",
    );
    w.ok(
        "health-caseworker",
        access(&birth, "permit-application", "recipient-uses-shared-copy"),
    );

    // Rectification: by the holder only, versions follow each other.
    let rectify = |version| {
        sharing(SharingInstruction::Rectify {
            record: birth,
            version,
            commitment: Hash32::sha256(b"version 2"),
            basis: "records-held-for-a-public-task".into(),
        })
    };
    w.fails("records", rectify(3), "wrong_version");
    w.fails("health-records", rectify(2), "not_authorized");
    w.ok("records", rectify(2));
    assert_eq!(w.record(&birth).version, 2);
    assert_eq!(w.record(&birth).commitment, Hash32::sha256(b"version 2"));
    // A new version may be asked for again; health's copy read is the version it was given.
    let receipt = w.ok(
        "health-caseworker",
        access(&birth, "permit-application", "recipient-uses-shared-copy"),
    );
    assert!(matches!(
        &receipt.events[..],
        [Event::Sharing(SharingEvent::RecordAccessed {
            version: 1,
            ..
        })]
    ));
    w.ok(
        "health-caseworker",
        request(&birth, "permit-application", "permits-act-12", None),
    );

    // Erasure: by the holder, recorded with who and why, naming the copies to erase; then
    // nothing more.
    let erase = sharing(SharingInstruction::Erase {
        record: birth,
        basis: "erasure-on-request".into(),
    });
    w.fails("health-records", erase.clone(), "not_authorized");
    let receipt = w.ok("records", erase.clone());
    assert_eq!(
        receipt.events,
        vec![Event::Sharing(SharingEvent::RecordErased {
            record: birth,
            holder: "land".into(),
            copies: vec!["health".into()],
            basis: "erasure-on-request".into(),
            by: w.id("records"),
        })]
    );
    let erasure = w.record(&birth).erasure.expect("erased");
    assert_eq!(erasure.by, w.id("records"));
    w.fails("records", erase, "record_erased");
    w.fails(
        "health-caseworker",
        access(&birth, "permit-application", "recipient-uses-shared-copy"),
        "record_erased",
    );
    w.fails("records", rectify(3), "record_erased");
    w.fails(
        "ana",
        consent(&birth, &salt, "health", w.chain.time() + DAY_MS),
        "record_erased",
    );
    w.fails(
        "records",
        register(
            &nonce,
            "land",
            "civil.birth-certificate",
            salt,
            "records-held-for-a-public-task",
        ),
        "record_exists",
    );
    w.fails(
        "land-caseworker",
        access(
            &Hash32::sha256(b"never"),
            "case-handling",
            "holder-case-handling",
        ),
        "unknown_record",
    );

    // The read model keeps the record's log, oldest first, failures left out.
    let log = read_log(&w.chain, &birth);
    assert_eq!(
        log,
        vec![
            "registered land records basis=records-held-for-a-public-task v1",
            "accessed land land-caseworker purpose=case-handling basis=holder-case-handling v1",
            "shared health health-caseworker purpose=permit-application basis=permits-act-12 v1",
            "accessed health health-caseworker purpose=permit-application \
             basis=recipient-uses-shared-copy v1",
            "rectified land records basis=records-held-for-a-public-task v2",
            "accessed health health-caseworker purpose=permit-application \
             basis=recipient-uses-shared-copy v1",
            "shared health health-caseworker purpose=permit-application basis=permits-act-12 v2",
            "erased land records basis=erasure-on-request",
        ]
        .into_iter()
        .map(|line| names(&w, line))
        .collect::<Vec<_>>()
    );
    // The console's lists: health received both versions from land, newest first; land gave
    // them; neither list of the other direction has them.
    use civitas_sharing::index::Direction;
    let given = vec![
        (
            birth.to_hex(),
            Some("land".to_string()),
            "health".to_string(),
            Some(2),
        ),
        (
            birth.to_hex(),
            Some("land".to_string()),
            "health".to_string(),
            Some(1),
        ),
    ];
    assert_eq!(read_shares(&w.chain, "health", Direction::In), given);
    assert_eq!(read_shares(&w.chain, "land", Direction::Out), given);
    assert!(read_shares(&w.chain, "land", Direction::In).is_empty());
    assert!(read_shares(&w.chain, "health", Direction::Out).is_empty());
}

fn receipt_tx(grant: &Grant) -> String {
    grant.tx.to_hex()
}

#[test]
fn a_copy_is_read_only_while_the_law_it_was_shared_under_is_in_force() {
    let mut w = World::new();
    let salt = Hash32::sha256(b"salt");
    let birth = w.register(b"birth", "civil.birth-certificate", "ana", &salt);
    w.ok(
        "health-caseworker",
        request(&birth, "permit-application", "permits-act-12", None),
    );
    let read = access(&birth, "permit-application", "recipient-uses-shared-copy");
    w.ok("health-caseworker", read.clone());
    // Governance repeals the law (two of three agencies approve).
    w.ok(
        "finance-admin",
        Instruction::Governance(GovernanceInstruction::Propose {
            action: GovernanceAction::RemovePolicy {
                id: "permits-act-12".into(),
            },
            reason: "the Permits Act section 12 was repealed".into(),
        }),
    );
    w.ok(
        "land-admin",
        Instruction::Governance(GovernanceInstruction::Approve { proposal: 1 }),
    );
    // The repeal takes effect at the next block (this one also shows an unknown consent is
    // named).
    w.fails(
        "ben",
        sharing(SharingInstruction::RevokeConsent { consent: 99 }),
        "unknown_consent",
    );
    let receipt = w.fails("health-caseworker", read, "basis_repealed");
    assert!(
        message(&receipt).contains("permits-act-12"),
        "{}",
        message(&receipt)
    );
}

#[test]
fn only_the_subject_consents_and_a_consent_covers_only_what_it_names_until_it_expires() {
    let mut w = World::new();
    let salt = Hash32::sha256(b"ana's salt for it");
    let income = w.register(b"income", "tax.income-statement", "ana", &salt);
    // Without consent no basis covers it: the law covers civil-status records only.
    w.fails(
        "health-caseworker",
        request(&income, "permit-application", "data-subject-consent", None),
        "not_authorized",
    );
    w.fails(
        "health-caseworker",
        request(&income, "permit-application", "permits-act-12", None),
        "not_authorized",
    );

    let now = w.chain.time();
    // Only the subject: a wrong salt, or another citizen with the right one, is refused.
    let wrong = Hash32::sha256(b"a guess");
    w.fails(
        "ana",
        consent(&income, &wrong, "health", now + DAY_MS),
        "not_the_subject",
    );
    let now = w.chain.time();
    w.fails(
        "ben",
        consent(&income, &salt, "health", now + DAY_MS),
        "not_the_subject",
    );
    // Officials do not consent for people.
    let now = w.chain.time();
    w.fails(
        "registrar",
        consent(&income, &salt, "health", now + DAY_MS),
        "not_authorized",
    );
    // Time-limited, relative to the block; to an agency that exists.
    let now = w.chain.time();
    w.fails(
        "ana",
        consent(&income, &salt, "health", now),
        "expires_in_the_past",
    );
    let now = w.chain.time();
    let receipt = w.fails(
        "ana",
        consent(&income, &salt, "health", now + 367 * DAY_MS),
        "consent_too_long",
    );
    assert!(
        message(&receipt).contains("366 days"),
        "{}",
        message(&receipt)
    );
    let now = w.chain.time();
    w.fails(
        "ana",
        consent(&income, &salt, "nowhere", now + DAY_MS),
        "unknown_agency",
    );
    let now = w.chain.time();
    let receipt = w.ok("ana", consent(&income, &salt, "health", now + 30 * DAY_MS));
    let [Event::Sharing(SharingEvent::ConsentGiven { consent: first, .. })] = &receipt.events[..]
    else {
        panic!("{receipt:?}");
    };
    let first = *first;
    let given: Consent = w.chain.read(&consent_key(first)).unwrap();
    assert_eq!(given.subject, w.id("ana"));
    assert_eq!(given.recipient, "health");

    // It covers this record, this agency, this purpose.
    let receipt = w.fails(
        "health-caseworker",
        request(&income, "audit", "data-subject-consent", Some(first)),
        "consent_mismatch",
    );
    assert!(
        message(&receipt).contains("purpose"),
        "{}",
        message(&receipt)
    );
    w.fails(
        "land-caseworker",
        request(
            &income,
            "permit-application",
            "data-subject-consent",
            Some(first),
        ),
        "consent_mismatch",
    );
    let other = w.register(b"other", "tax.income-statement", "ana", &salt);
    let receipt = w.fails(
        "health-caseworker",
        request(
            &other,
            "permit-application",
            "data-subject-consent",
            Some(first),
        ),
        "consent_mismatch",
    );
    assert!(
        message(&receipt).contains("record"),
        "{}",
        message(&receipt)
    );
    w.fails(
        "health-caseworker",
        request(
            &income,
            "permit-application",
            "data-subject-consent",
            Some(99),
        ),
        "unknown_consent",
    );
    let receipt = w.ok(
        "health-caseworker",
        request(
            &income,
            "permit-application",
            "data-subject-consent",
            Some(first),
        ),
    );
    assert!(matches!(
        &receipt.events[..],
        [Event::Sharing(SharingEvent::RecordShared { consent: Some(c), .. })] if *c == first
    ));
    let read = access(&income, "permit-application", "recipient-uses-shared-copy");
    w.ok("health-caseworker", read.clone());

    // Withdrawn by its subject only, once; then it covers nothing, and the copy obtained on it
    // is no longer read.
    let revoke = sharing(SharingInstruction::RevokeConsent { consent: first });
    w.fails("ben", revoke.clone(), "consent_not_yours");
    w.ok("ana", revoke.clone());
    w.fails("ana", revoke, "consent_revoked");
    w.fails(
        "health-caseworker",
        request(
            &income,
            "permit-application",
            "data-subject-consent",
            Some(first),
        ),
        "consent_revoked",
    );
    w.fails("health-caseworker", read.clone(), "consent_revoked");

    // A consent expires at a block time: the first block at or after it no longer uses it,
    // neither for a share nor for reading the copy obtained on it.
    let now = w.chain.time();
    let receipt = w.ok("ana", consent(&income, &salt, "health", now + 120_000));
    let [
        Event::Sharing(SharingEvent::ConsentGiven {
            consent: second, ..
        }),
    ] = &receipt.events[..]
    else {
        panic!("{receipt:?}");
    };
    let second = *second;
    // The share that relied on the withdrawn consent lapsed: asking again is allowed.
    w.ok(
        "health-caseworker",
        request(
            &income,
            "permit-application",
            "data-subject-consent",
            Some(second),
        ),
    );
    w.ok("health-caseworker", read.clone());
    w.chain.skip_ms = 120_000;
    let receipt = w.fails("health-caseworker", read, "consent_expired");
    assert!(
        message(&receipt).contains("expired"),
        "{}",
        message(&receipt)
    );
    w.chain.skip_ms = 0;

    // The holder does not request its own record, even with the person's consent.
    let now = w.chain.time();
    let receipt = w.ok("ana", consent(&income, &salt, "land", now + DAY_MS));
    let [
        Event::Sharing(SharingEvent::ConsentGiven {
            consent: to_land, ..
        }),
    ] = &receipt.events[..]
    else {
        panic!("{receipt:?}");
    };
    w.fails(
        "land-caseworker",
        request(
            &income,
            "permit-application",
            "data-subject-consent",
            Some(*to_land),
        ),
        "own_record",
    );

    // At most CONSENTS_MAX consents for one record, ever.
    let log = read_log(&w.chain, &income);
    assert!(
        log.iter().any(|l| l.starts_with("consent_given health")),
        "{log:?}"
    );
    assert!(
        log.iter().any(|l| l.starts_with("consent_revoked health")),
        "{log:?}"
    );
    for _ in 3..CONSENTS_MAX {
        let now = w.chain.time();
        w.ok("ana", consent(&income, &salt, "health", now + DAY_MS));
    }
    let now = w.chain.time();
    w.fails(
        "ana",
        consent(&income, &salt, "health", now + DAY_MS),
        "too_many_consents",
    );
}

#[test]
fn an_agency_names_a_vault_whose_account_has_an_encryption_key() {
    let mut w = World::new();
    let vault = |account| {
        sharing(SharingInstruction::SetVault {
            account,
            url: "https://vault.land.example".into(),
        })
    };
    let records = w.id("records");
    w.fails("land-admin", vault(records), "no_encryption_key");
    w.fails(
        "land-admin",
        vault(w.id("health-caseworker")),
        "vault_account_elsewhere",
    );
    w.fails("land-admin", vault(w.id("ana")), "vault_account_elsewhere");
    w.fails("records", vault(records), "not_authorized");
    w.ok(
        "records",
        Instruction::Identity(IdentityInstruction::SetEncryptionKey {
            key: DecryptionKey::from_test_seed(7).public(),
        }),
    );
    let receipt = w.ok("land-admin", vault(records));
    assert_eq!(
        receipt.events,
        vec![Event::Sharing(SharingEvent::VaultSet {
            agency: "land".into(),
            account: records,
            url: "https://vault.land.example".into(),
        })]
    );
    let stored: civitas_sharing::state::Vault = w
        .chain
        .read(&civitas_sharing::state::vault_key("land"))
        .unwrap();
    assert_eq!(stored.account, records);
}

/// Before protocol 3 a proposer leaves sharing instructions out, and honest validators refuse
/// a block a Byzantine proposer filled with one.
#[test]
fn before_protocol_3_sharing_is_refused() {
    let chain = Chain::at(2);
    let admin = PrivateKey::from_test_seed(102);
    let nonce = Hash32::sha256(b"early");
    let signed = tx(
        &admin,
        None,
        0,
        register(
            &nonce,
            "land",
            "civil.birth-certificate",
            nonce,
            "records-held-for-a-public-task",
        ),
    );
    let built = chain.build(vec![signed.clone()]);
    assert!(built.included.is_empty());
    assert_eq!(built.rejected[0].1.code, "not_active");
    match chain.clone().block(vec![signed], Mode::Verify) {
        Err(BlockError::Invalid { rule, .. }) => assert_eq!(rule, "not_active"),
        other => panic!("{other:?}"),
    }
}

/// `line` with each person's name replaced by their account id.
fn names(w: &World, line: &str) -> String {
    line.split(' ')
        .map(|word| match w.keys.get(word) {
            Some(key) => key.public_key().account_id().to_hex(),
            None => word.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What `read` lists from the read model, projected from the chain's blocks into SQLite.
fn read_index<T>(
    chain: &Chain,
    read: impl AsyncFnOnce(&mut civitas_index::query::Snapshot) -> T,
) -> T {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = std::env::temp_dir().join(format!("civitas-sharing-log-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite:{}", dir.join("index.sqlite").display());
        let index = civitas_index::Index::open(&url, civitas_modules::INDEX_TABLES)
            .await
            .unwrap();
        index
            .apply(&chain.genesis.hash(), &chain.blocks)
            .await
            .unwrap();
        let mut snapshot = index.snapshot().await.unwrap();
        let found = read(&mut snapshot).await;
        drop(snapshot);
        index.close().await;
        let _ = std::fs::remove_dir_all(&dir);
        found
    })
}

/// An agency's shares in `direction`, newest first: (record, holder, recipient, version).
fn read_shares(
    chain: &Chain,
    agency: &str,
    direction: civitas_sharing::index::Direction,
) -> Vec<(String, Option<String>, String, Option<u64>)> {
    read_index(chain, async |snapshot| {
        civitas_sharing::index::shares(
            snapshot,
            agency,
            direction,
            civitas_index::query::Order::Newest,
            None,
            50,
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| {
            assert_eq!(e.kind, "shared");
            (e.record, e.holder, e.agency, e.version)
        })
        .collect()
    })
}

/// The record's log, as the read model lists it, one line per entry.
fn read_log(chain: &Chain, record: &Hash32) -> Vec<String> {
    let page = read_index(chain, async |snapshot| {
        civitas_sharing::index::log(
            snapshot,
            &record.to_hex(),
            civitas_index::query::Order::Oldest,
            None,
            50,
        )
        .await
        .unwrap()
    });
    page.items
        .iter()
        .map(|e| {
            let mut line = format!("{} {} {}", e.kind, e.agency, e.official);
            if let Some(purpose) = &e.purpose {
                line.push_str(&format!(" purpose={purpose}"));
            }
            if let Some(basis) = &e.basis {
                line.push_str(&format!(" basis={basis}"));
            }
            if let Some(version) = e.version {
                line.push_str(&format!(" v{version}"));
            }
            assert_eq!(e.proof_bundle, format!("/v1/proofs/transactions/{}", e.tx));
            assert_eq!(e.record, record.to_hex());
            line
        })
        .collect()
}

/// A person who watches their record's topic (from "My data") has every entry of its log
/// after that in their inbox; what was logged before is not, and the public list of the events
/// that name them never shows what they watch. On both backends of the read model (PostgreSQL
/// from Debian's package, started here).
#[test]
fn whoever_watches_a_record_has_its_new_log_entries_in_their_inbox() {
    let mut w = World::new();
    let salt = Hash32::sha256(b"subject salt");
    let birth = w.register(b"birth", "civil.birth-certificate", "ana", &salt);
    w.ok(
        "land-caseworker",
        access(&birth, "case-handling", "holder-case-handling"),
    );
    let before = w.chain.blocks.len();
    w.ok(
        "land-caseworker",
        access(&birth, "identity-verification", "holder-case-handling"),
    );
    // Her own consent names her too: one notification, not two.
    let expires = w.chain.time() + DAY_MS;
    w.ok("ana", consent(&birth, &salt, "health", expires));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("civitas-sharing-watch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let postgres = civitas_index::testing::Postgres::start().expect("a PostgreSQL server");
    for url in [
        format!("sqlite:{}", dir.join("index.sqlite").display()),
        postgres.database("watch").unwrap(),
    ] {
        runtime.block_on(watched(&w, &birth, before, &url));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// [`whoever_watches_a_record_has_its_new_log_entries_in_their_inbox`] on the index at `url`:
/// Ana and Ben watch `record` after block `before`, Ben stops.
async fn watched(w: &World, record: &Hash32, before: usize, url: &str) {
    use civitas_index::query::{EventFilter, Order};
    let (ana, ben) = (w.id("ana"), w.id("ben"));
    let index = civitas_index::Index::open(url, civitas_modules::INDEX_TABLES)
        .await
        .unwrap();
    let genesis = w.chain.genesis.hash();
    index
        .apply(&genesis, &w.chain.blocks[..before])
        .await
        .unwrap();
    let topic = [civitas_sharing::index::topic(record)];
    assert_eq!(index.watch(&ana, &topic, 1).await.unwrap(), 1);
    assert_eq!(index.watch(&ana, &topic, 2).await.unwrap(), 0, "once");
    assert_eq!(index.watch(&ben, &topic, 1).await.unwrap(), 1);
    assert_eq!(index.unwatch(&ben, &topic).await.unwrap(), 1);
    assert_eq!(index.watches_of(&ana).await.unwrap(), topic);
    index
        .apply(&genesis, &w.chain.blocks[before..])
        .await
        .unwrap();

    let mut snapshot = index.snapshot().await.unwrap();
    let inbox = async |snapshot: &mut civitas_index::query::Snapshot, who| {
        snapshot
            .inbox(who, false, Order::Newest, None, 50)
            .await
            .unwrap()
            .items
    };
    let hers = inbox(&mut snapshot, &ana).await;
    let lines: Vec<String> = hers
        .iter()
        .filter(|n| n.event["record"] == record.to_hex().as_str())
        .map(|n| {
            format!(
                "{} {} read={}",
                n.event["type"].as_str().unwrap_or(""),
                n.event["purpose"].as_str().unwrap_or("-"),
                n.read
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            "consent_given permit-application read=false",
            "record_accessed identity-verification read=false",
        ]
    );
    // Unread: the consent, the new read, and her registration as a citizen (which names her).
    assert_eq!(snapshot.unread(&ana).await.unwrap(), 3);
    // Ben, who stopped watching, has nothing of it.
    let his = inbox(&mut snapshot, &ben).await;
    assert!(his.iter().all(|n| n.event["record"].is_null()), "{his:?}");
    // The public list of what names her shows her own consent, not what she watches.
    let filter = EventFilter {
        account: Some(ana),
        kind: None,
        module: Some("sharing".into()),
    };
    let public = snapshot
        .events(&filter, Order::Newest, None, 50)
        .await
        .unwrap();
    let kinds: Vec<&str> = public
        .items
        .iter()
        .map(|e| e.event["type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(kinds, ["consent_given"]);
    snapshot.finish().await.unwrap();
    // A watched notification is hers to mark read.
    let read = hers
        .iter()
        .find(|n| n.event["type"] == "record_accessed")
        .unwrap();
    let place = civitas_index::notify::Place::parse(&read.id).unwrap();
    index.mark_read(&ana, &[place]).await.unwrap();
    let mut snapshot = index.snapshot().await.unwrap();
    assert_eq!(snapshot.unread(&ana).await.unwrap(), 2);
    snapshot.finish().await.unwrap();
    index.close().await;
}

/// The bytes of a sharing instruction and event are those `docs/PROOFS.md` (B.5b, B.6, C.5)
/// gives, so a verifier written from it reads them.
#[test]
fn the_bytes_are_as_the_proofs_document_says() {
    let op = request(&Hash32([0xAA; 32]), "p", "b", Some(3));
    let mut expected = vec![0x07, 0x05];
    expected.extend([0xAA; 32]);
    expected.extend([0x01, b'p', 0x01, b'b', 0x01, 0, 0, 0, 0, 0, 0, 0, 3]);
    assert_eq!(civitas_core::codec::to_vec(&op), expected);
    let event = Event::Sharing(SharingEvent::ConsentRevoked {
        consent: 1,
        record: Hash32([0xBB; 32]),
        recipient: "h".into(),
        subject: civitas_core::crypto::AccountId([0xCC; 32]),
    });
    let mut expected = vec![18, 4, 0, 0, 0, 0, 0, 0, 0, 1];
    expected.extend([0xBB; 32]);
    expected.extend([0x01, b'h']);
    expected.extend([0xCC; 32]);
    assert_eq!(civitas_core::codec::to_vec(&event), expected);
}

/// What one record costs on the ledger, byte for byte (the figures `docs/PERSONAL-DATA.md`
/// gives): the registration and a read as signed transactions, the record's state value, and
/// the events their receipts keep.
#[test]
fn the_on_chain_footprint_is_as_documented() {
    let mut w = World::new();
    let salt = Hash32::sha256(b"salt");
    let birth = w.register(b"birth", "civil.birth-certificate", "ana", &salt);
    let nonce = Hash32::sha256(b"birth");
    let register_tx = tx(
        &w.keys["records"],
        None,
        9,
        register(
            &nonce,
            "land",
            "civil.birth-certificate",
            salt,
            "records-held-for-a-public-task",
        ),
    );
    let access_tx = tx(
        &w.keys["land-caseworker"],
        None,
        9,
        access(&birth, "case-handling", "holder-case-handling"),
    );
    let receipt = w.ok(
        "land-caseworker",
        access(&birth, "case-handling", "holder-case-handling"),
    );
    let size = |bytes: Vec<u8>| bytes.len();
    let record: Record = w.record(&birth);
    let sizes = [
        (
            "register transaction",
            size(civitas_core::codec::to_vec(&register_tx)),
        ),
        (
            "record state value",
            size(civitas_core::codec::to_vec(&record)),
        ),
        (
            "access transaction",
            size(civitas_core::codec::to_vec(&access_tx)),
        ),
        (
            "record_accessed event",
            size(civitas_core::codec::to_vec(&receipt.events[0])),
        ),
    ];
    assert_eq!(
        sizes.map(|(_, n)| n),
        [337, 212, 221, 110],
        "update docs/PERSONAL-DATA.md: {sizes:?}"
    );
}

/// Whatever the policies allow, an agency reads only what its vault holds or was given: under
/// a (careless) policy that lets any caseworker read any record, a read by an agency without a
/// copy is still refused by the ledger (`no_copy`), so no log entry stands for a read that
/// cannot happen.
#[test]
fn no_policy_makes_a_read_of_a_record_an_agency_was_not_given() {
    let careless = r#"
@id("anyone-reads")
@description("any caseworker reads any record")
@basis("a careless law of this test network")
permit (principal, action == Action::"sharing.access", resource)
when { principal.roles.contains("caseworker") };
"#;
    let mut w = World::with_chain(Chain::at_with_policies(
        3,
        &format!("{PERMITS_ACT}\n{careless}"),
    ));
    let salt = Hash32::sha256(b"salt");
    let birth = w.register(b"birth", "civil.birth-certificate", "ana", &salt);
    w.fails(
        "health-caseworker",
        access(&birth, "case-handling", "anyone-reads"),
        "no_copy",
    );
    w.ok(
        "land-caseworker",
        access(&birth, "case-handling", "anyone-reads"),
    );
}
