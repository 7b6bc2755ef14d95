//! No personal data on the ledger, enforced: every field of every module where a person types
//! public text, and the memo, is tried with synthetic personal data that has a recognizable
//! shape (an e-mail address, a phone number, an IBAN; in an OCDS release, a contact point or
//! duplicate keys). From protocol 3 a proposer leaves each such transaction out, and honest
//! validators refuse a block a Byzantine proposer filled with one (`personal_data`); the same
//! transaction with clean text passes the guard. A vendor co-signs its own registration. In the
//! end no byte of any block holds any of the synthetic data (and the same scan finds it in a
//! block of protocol 2, before the rule).

use civitas_core::crypto::{AccountId, PrivateKey};
use civitas_core::governance::{GovernanceAction, GovernanceInstruction};
use civitas_core::hash::Hash32;
use civitas_core::instruction::{IdentityInstruction, Instruction};
use civitas_core::money::{Currency, Money};
use civitas_core::notary::{MetadataEntry, NotaryInstruction};
use civitas_core::notices::NoticesInstruction;
use civitas_core::procurement::{Criterion, Method, MilestoneTerms, ProcurementInstruction};
use civitas_core::time::TimestampMs;
use civitas_core::treasury::{Direction, TreasuryInstruction};
use civitas_core::tx::{SignedTx, TxBody};
use civitas_exec::{BlockError, Mode};
use civitas_modules::testing::{Chain, failed_code as code, official, tx};

/// Synthetic personal data, one of each shape the guard knows.
const PERSONAL: &[(&str, &str)] = &[
    ("an e-mail address", "zelda.marlowe@example.org"),
    ("a phone number", "+44 20 7946 0958"),
    (
        "a bank account number (IBAN)",
        "GB82 WEST 1234 5698 7654 32",
    ),
];

fn eur(amount: u64) -> Money {
    Money::new(amount, Currency::parse("EUR").unwrap())
}

fn key(n: u8) -> Hash32 {
    Hash32([n; 32])
}

/// Every instruction with a public text field, as a function of the text put in it, with the
/// field's name as the guard reports it.
/// An instruction made with a given text in one of its public fields.
type Channel = Box<dyn Fn(&str) -> Instruction>;

fn channels() -> Vec<(&'static str, Channel)> {
    let someone = AccountId([9; 32]);
    fn milestone(title: &str) -> MilestoneTerms {
        MilestoneTerms {
            title: title.to_string(),
            amount: eur(1_000),
            due: TimestampMs(2_000_000_000_000),
        }
    }
    fn t(s: &str) -> String {
        s.to_string()
    }
    vec![
        (
            "reason",
            Box::new(move |s| {
                Instruction::Identity(IdentityInstruction::Deactivate {
                    account: someone,
                    reason: t(s),
                })
            }),
        ),
        (
            "title",
            Box::new(|s| {
                Instruction::Notary(NotaryInstruction::Anchor {
                    document: key(1),
                    title: t(s),
                    metadata: Vec::new(),
                })
            }),
        ),
        (
            "metadata",
            Box::new(|s| {
                Instruction::Notary(NotaryInstruction::Anchor {
                    document: key(1),
                    title: t("Deed"),
                    metadata: vec![MetadataEntry {
                        key: t("owner"),
                        value: t(s),
                    }],
                })
            }),
        ),
        (
            "reason",
            Box::new(|s| {
                Instruction::Notary(NotaryInstruction::Revoke {
                    document: key(1),
                    reason: t(s),
                })
            }),
        ),
        (
            "reason",
            Box::new(|s| {
                Instruction::Governance(GovernanceInstruction::Propose {
                    action: GovernanceAction::SetThreshold { threshold: 2 },
                    reason: t(s),
                })
            }),
        ),
        (
            "name",
            Box::new(|s| {
                Instruction::Governance(GovernanceInstruction::Propose {
                    action: GovernanceAction::RenameAgency {
                        id: t("land"),
                        name: t(s),
                    },
                    reason: t("a new name"),
                })
            }),
        ),
        (
            "name",
            Box::new(move |s| {
                Instruction::Treasury(TreasuryInstruction::RegisterVendor {
                    account: someone,
                    name: t(s),
                    registration: t("RC-1"),
                })
            }),
        ),
        (
            "purpose",
            Box::new(|s| {
                Instruction::Treasury(TreasuryInstruction::Appropriate {
                    year: 2026,
                    agency: t("health"),
                    programme: t("hospitals"),
                    classification: t("2111"),
                    purpose: t(s),
                    amount: eur(1_000),
                })
            }),
        ),
        (
            "reason",
            Box::new(|s| {
                Instruction::Treasury(TreasuryInstruction::Allot {
                    appropriation: 1,
                    direction: Direction::Increase,
                    amount: eur(1_000),
                    reason: t(s),
                })
            }),
        ),
        (
            "description",
            Box::new(move |s| {
                Instruction::Treasury(TreasuryInstruction::Commit {
                    appropriation: 1,
                    vendor: someone,
                    amount: eur(1_000),
                    description: t(s),
                })
            }),
        ),
        (
            "reason",
            Box::new(|s| {
                Instruction::Treasury(TreasuryInstruction::ReversePayment {
                    payment: 1,
                    reason: t(s),
                })
            }),
        ),
        (
            "title",
            Box::new(|s| {
                Instruction::Procurement(ProcurementInstruction::Plan {
                    appropriation: 1,
                    title: t(s),
                    description: t("Works"),
                    estimated: eur(1_000),
                    method: Method::Open,
                })
            }),
        ),
        (
            "criterion",
            Box::new(move |s| {
                Instruction::Procurement(ProcurementInstruction::Publish {
                    tender: 1,
                    documents: vec![key(2)],
                    deadline: TimestampMs(2_000_000_000_000),
                    criteria: vec![Criterion {
                        name: t(s),
                        weight: 100,
                    }],
                    committee: vec![someone],
                    standstill_days: 10,
                })
            }),
        ),
        (
            "answer",
            Box::new(|s| {
                Instruction::Procurement(ProcurementInstruction::Clarify {
                    tender: 1,
                    question: t("When?"),
                    answer: t(s),
                })
            }),
        ),
        (
            "justification",
            Box::new(move |s| {
                Instruction::Procurement(ProcurementInstruction::Award {
                    tender: 1,
                    bidder: someone,
                    justification: t(s),
                })
            }),
        ),
        (
            "text",
            Box::new(|s| {
                Instruction::Procurement(ProcurementInstruction::Complain {
                    tender: 1,
                    text: t(s),
                })
            }),
        ),
        (
            "milestone",
            Box::new(move |s| {
                Instruction::Procurement(ProcurementInstruction::Sign {
                    tender: 1,
                    milestones: vec![milestone(s)],
                })
            }),
        ),
        (
            "note",
            Box::new(|s| {
                Instruction::Procurement(ProcurementInstruction::Accept {
                    contract: 1,
                    milestone: 1,
                    note: t(s),
                })
            }),
        ),
        (
            "reason",
            Box::new(|s| {
                Instruction::Procurement(ProcurementInstruction::Cancel {
                    tender: 1,
                    reason: t(s),
                })
            }),
        ),
        (
            "release",
            Box::new(|s| {
                let release = serde_json::json!({
                    "ocid": "ocds-abc123-1", "id": "1", "date": "2026-01-01T00:00:00Z",
                    "tag": ["tender"], "parties": [{"name": "Acme", "address": {"note": s}}],
                });
                Instruction::Procurement(ProcurementInstruction::ImportRelease {
                    ocid: t("ocds-abc123-1"),
                    release_id: t("1"),
                    date: t("2026-01-01T00:00:00Z"),
                    release: release.to_string(),
                })
            }),
        ),
        (
            "question",
            Box::new(|s| {
                Instruction::Procurement(ProcurementInstruction::Clarify {
                    tender: 1,
                    question: t(s),
                    answer: t("Next week"),
                })
            }),
        ),
        (
            "justification",
            Box::new(move |s| {
                Instruction::Procurement(ProcurementInstruction::Evaluate {
                    tender: 1,
                    bidder: someone,
                    scores: vec![80],
                    justification: t(s),
                })
            }),
        ),
        (
            "reason",
            Box::new(|s| {
                Instruction::Procurement(ProcurementInstruction::Amend {
                    contract: 1,
                    milestones: vec![milestone("Phase 1")],
                    reason: t(s),
                })
            }),
        ),
        (
            "reason",
            Box::new(|s| {
                Instruction::Treasury(TreasuryInstruction::AdjustAppropriation {
                    appropriation: 1,
                    direction: Direction::Decrease,
                    amount: eur(1_000),
                    reason: t(s),
                })
            }),
        ),
        (
            "reason",
            Box::new(|s| {
                Instruction::Treasury(TreasuryInstruction::AdjustCommitment {
                    commitment: 1,
                    direction: Direction::Decrease,
                    amount: eur(1_000),
                    reason: t(s),
                })
            }),
        ),
        (
            "reference",
            Box::new(|s| {
                Instruction::Treasury(TreasuryInstruction::Pay {
                    commitment: 1,
                    amount: eur(1_000),
                    reference: t(s),
                })
            }),
        ),
        (
            "registration",
            Box::new(move |s| {
                Instruction::Treasury(TreasuryInstruction::RegisterVendor {
                    account: someone,
                    name: t("Acme Works Ltd"),
                    registration: t(s),
                })
            }),
        ),
        (
            "name",
            Box::new(|s| {
                Instruction::Governance(GovernanceInstruction::Propose {
                    action: GovernanceAction::AddAgency {
                        id: t("archive"),
                        name: t(s),
                        admin_keys: vec![PrivateKey::from_test_seed(77).public_key()],
                        validator: None,
                    },
                    reason: t("the archive joins"),
                })
            }),
        ),
        (
            "policy",
            Box::new(|s| {
                Instruction::Governance(GovernanceInstruction::Propose {
                    action: GovernanceAction::SetPolicy {
                        policy: format!(
                            "@id(\"p\")\n@description(\"{s}\")\npermit (principal, action, resource);"
                        ),
                    },
                    reason: t("a policy"),
                })
            }),
        ),
        (
            "p2p_address",
            Box::new(|s| {
                Instruction::Governance(GovernanceInstruction::Propose {
                    action: GovernanceAction::AddValidator {
                        agency: t("land"),
                        key: PrivateKey::from_test_seed(78).public_key(),
                        p2p_address: t(s),
                    },
                    reason: t("a validator"),
                })
            }),
        ),
        (
            "ocid",
            Box::new(|s| {
                Instruction::Procurement(ProcurementInstruction::ImportRelease {
                    ocid: t(s),
                    release_id: t("1"),
                    date: t("2026-01-01T00:00:00Z"),
                    release: t("{}"),
                })
            }),
        ),
        (
            "date",
            Box::new(|s| {
                Instruction::Procurement(ProcurementInstruction::ImportRelease {
                    ocid: t("ocds-abc123-1"),
                    release_id: t("1"),
                    date: t(s),
                    release: t("{}"),
                })
            }),
        ),
        (
            "url",
            Box::new(move |s| {
                Instruction::Sharing(civitas_core::sharing::SharingInstruction::SetVault {
                    account: someone,
                    // An address has no spaces: the data as a query, written compactly.
                    url: format!(
                        "https://vault.example/?q={}",
                        s.trim_start_matches("Contact ")
                            .trim_end_matches(" for details")
                            .replace(' ', "")
                    ),
                })
            }),
        ),
        (
            "title",
            Box::new(|s| {
                Instruction::Notices(NoticesInstruction::Publish {
                    category: t("hearing"),
                    title: t(s),
                    text: key(3),
                    effective: TimestampMs(2_000_000_000_000),
                    expires: None,
                })
            }),
        ),
        (
            "reason",
            Box::new(|s| {
                Instruction::Notices(NoticesInstruction::Withdraw {
                    notice: 1,
                    reason: t(s),
                })
            }),
        ),
    ]
}

fn signed(admin: &PrivateKey, nonce: u64, op: Instruction, memo: &str) -> SignedTx {
    TxBody {
        chain_id: "test".into(),
        signer: admin.public_key().account_id(),
        nonce,
        expiry: TimestampMs(u64::MAX),
        instructions: vec![op],
        memo: memo.to_string(),
    }
    .into_signed(&[admin])
}

#[test]
fn personal_data_in_any_public_field_is_refused_and_never_reaches_a_block() {
    let mut chain = Chain::at(3);
    let admin = PrivateKey::from_test_seed(101);
    let mut tried = 0;
    for (field, channel) in channels() {
        for (kind, text) in PERSONAL {
            let op = channel(&format!("Contact {text} for details"));
            op.validate()
                .unwrap_or_else(|e| panic!("{field} with {kind}: not a valid instruction: {e}"));
            let with_data = signed(&admin, 0, op, "");
            // An honest proposer leaves it out, saying why, without quoting it.
            let built = chain.build(vec![with_data.clone()]);
            assert!(
                built.included.is_empty(),
                "{field} with {kind} was included"
            );
            let rejection = &built.rejected[0].1;
            assert_eq!(rejection.code, "personal_data", "{field} with {kind}");
            assert!(
                rejection.message.contains(field) && rejection.message.contains(kind),
                "{}",
                rejection.message
            );
            assert!(!rejection.message.contains(text), "{}", rejection.message);
            // Honest validators refuse a block a Byzantine proposer filled with it.
            match chain.clone().block(vec![with_data], Mode::Verify) {
                Err(BlockError::Invalid { rule, .. }) => assert_eq!(rule, "personal_data"),
                other => panic!("{field} with {kind}: {other:?}"),
            }
            tried += 1;
        }
        // The same instruction with clean text passes the guard (whatever the ledger then
        // decides about it).
        let clean = signed(&admin, 0, channel("Reference 2026-17, see the file"), "");
        let built = chain.build(vec![clean]);
        assert!(
            built
                .rejected
                .iter()
                .all(|(_, r)| r.code != "personal_data"),
            "{field}: clean text refused: {:?}",
            built.rejected
        );
    }
    assert_eq!(tried, channels().len() * PERSONAL.len());

    // The memo too, and an OCDS release's contact point, or duplicate keys that could hide one.
    for (kind, text) in PERSONAL {
        let op = Instruction::Notary(NotaryInstruction::Anchor {
            document: key(4),
            title: "Deed".into(),
            metadata: Vec::new(),
        });
        let built = chain.build(vec![signed(&admin, 0, op, text)]);
        assert_eq!(
            built.rejected[0].1.code, "personal_data",
            "memo with {kind}"
        );
    }
    let contact = serde_json::json!({"ocid": "ocds-abc123-2", "id": "1",
        "date": "2026-01-01T00:00:00Z", "tag": ["tender"],
        "parties": [{"name": "Acme", "contactPoint": {"name": "Zelda Marlowe"}}]});
    let op = Instruction::Procurement(ProcurementInstruction::ImportRelease {
        ocid: "ocds-abc123-2".into(),
        release_id: "1".into(),
        date: "2026-01-01T00:00:00Z".into(),
        release: contact.to_string(),
    });
    let built = chain.build(vec![signed(&admin, 0, op, "")]);
    let rejection = &built.rejected[0].1;
    assert_eq!(rejection.code, "personal_data");
    assert!(
        rejection.message.contains("contact point"),
        "{}",
        rejection.message
    );
    let hidden = r#"{"ocid":"ocds-abc123-3","id":"1","date":"2026-01-01T00:00:00Z",
        "tag":["tender"],"description":"zelda.marlowe@example.org","description":"Works"}"#;
    let op = Instruction::Procurement(ProcurementInstruction::ImportRelease {
        ocid: "ocds-abc123-3".into(),
        release_id: "1".into(),
        date: "2026-01-01T00:00:00Z".into(),
        release: hidden.into(),
    });
    let built = chain.build(vec![signed(&admin, 0, op, "")]);
    let rejection = &built.rejected[0].1;
    assert_eq!(rejection.code, "personal_data");
    assert!(
        rejection.message.contains("strict JSON"),
        "{}",
        rejection.message
    );

    // A vendor's name and registration go on the ledger only if the vendor signs.
    let finance_admin = PrivateKey::from_test_seed(101);
    let treasurer = PrivateKey::from_test_seed(640);
    let sole_trader = PrivateKey::from_test_seed(641);
    let ok = |chain: &mut Chain, signed: SignedTx| {
        let receipt = chain.one(signed);
        assert_eq!(code(&receipt), None, "{receipt:?}");
    };
    ok(
        &mut chain,
        tx(
            &finance_admin,
            None,
            0,
            official(&treasurer, "finance", &["treasurer"]),
        ),
    );
    ok(
        &mut chain,
        tx(
            &finance_admin,
            None,
            1,
            Instruction::Identity(IdentityInstruction::RegisterCitizen {
                key: sole_trader.public_key(),
            }),
        ),
    );
    let register = Instruction::Treasury(TreasuryInstruction::RegisterVendor {
        account: sole_trader.public_key().account_id(),
        name: "Zelda Marlowe, carpenter".into(),
        registration: "RC-77".into(),
    });
    let receipt = chain.one(tx(&treasurer, None, 0, register.clone()));
    assert_eq!(code(&receipt), Some("vendor_must_sign"));
    let cosigned = TxBody {
        chain_id: "test".into(),
        signer: treasurer.public_key().account_id(),
        nonce: 1,
        expiry: TimestampMs(u64::MAX),
        instructions: vec![register],
        memo: String::new(),
    }
    .into_signed(&[&treasurer, &sole_trader]);
    ok(&mut chain, cosigned);

    // No block holds any of the synthetic data refused above.
    for block in &chain.blocks {
        let bytes = civitas_core::codec::to_vec(block.block.as_ref());
        for (kind, text) in PERSONAL {
            assert!(
                !bytes.windows(text.len()).any(|w| w == text.as_bytes()),
                "block {} holds {kind}",
                block.block.header.height
            );
        }
    }
}

/// Before protocol 3 the rule did not exist: blocks made then stay valid as they were (and the
/// scan that finds no personal data in a protocol-3 chain above finds it in one of these).
#[test]
fn blocks_before_protocol_3_keep_the_rules_they_were_made_under() {
    let mut chain = Chain::at(2);
    let admin = PrivateKey::from_test_seed(101);
    let op = Instruction::Notary(NotaryInstruction::Anchor {
        document: key(5),
        title: "Deed".into(),
        metadata: Vec::new(),
    });
    let email = "zelda.marlowe@example.org";
    let built = chain.build(vec![signed(&admin, 0, op.clone(), email)]);
    assert!(built.rejected.is_empty(), "{:?}", built.rejected);
    chain.one(signed(&admin, 0, op, email));
    let found = chain.blocks.iter().any(|block| {
        civitas_core::codec::to_vec(block.block.as_ref())
            .windows(email.len())
            .any(|w| w == email.as_bytes())
    });
    assert!(found, "the scan finds what a block of protocol 2 holds");
}
