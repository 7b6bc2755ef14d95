//! The register executed block by block in memory, through the whole ledger (authentication,
//! the protocol version, the policies, the handler), as validators execute it.

use civitas_core::crypto::PrivateKey;
use civitas_core::hash::Hash32;
use civitas_core::instruction::{IdentityInstruction, Instruction};
use civitas_core::notices::NoticesInstruction;
use civitas_core::protocol::PROTOCOLS;
use civitas_core::receipt::Receipt;
use civitas_core::time::TimestampMs;
use civitas_exec::{BlockError, Mode};
use civitas_modules::testing::{Chain, failed_code as code, official, tx};
use civitas_notices::state::{Notice, notice_key};

/// A block of one instruction signed by `key` with `nonce`, and its receipt.
fn one(chain: &mut Chain, key: &PrivateKey, nonce: u64, op: Instruction) -> Receipt {
    chain.one(tx(key, None, nonce, op))
}

fn notice(chain: &Chain, id: u64) -> Option<Notice> {
    chain.read(&notice_key(id))
}

fn publish(title: &str, effective: u64, expires: Option<u64>) -> Instruction {
    Instruction::Notices(NoticesInstruction::Publish {
        category: "hearing".into(),
        title: title.into(),
        text: Hash32::sha256(title.as_bytes()),
        effective: TimestampMs(effective),
        expires: expires.map(TimestampMs),
    })
}

fn withdraw(notice: u64) -> Instruction {
    Instruction::Notices(NoticesInstruction::Withdraw {
        notice,
        reason: "the hearing moved".into(),
    })
}

#[test]
fn a_publisher_publishes_numbered_notices_and_withdraws_one_once() {
    let mut chain = Chain::at(2);
    let admin = PrivateKey::from_test_seed(101);
    let publisher = PrivateKey::from_test_seed(600);
    assert_eq!(
        code(&one(
            &mut chain,
            &admin,
            0,
            official(&publisher, "finance", &["publisher"])
        )),
        None
    );

    let receipt = one(
        &mut chain,
        &publisher,
        0,
        publish("Hearing one", 50_000, None),
    );
    assert_eq!(code(&receipt), None, "{receipt:?}");
    let receipt = one(
        &mut chain,
        &publisher,
        1,
        publish("Hearing two", 50_000, Some(90_000)),
    );
    assert_eq!(code(&receipt), None, "{receipt:?}");
    let second = notice(&chain, 2).expect("notice 2");
    assert_eq!(second.agency, "finance");
    assert_eq!(second.title, "Hearing two");
    assert_eq!(second.expires, Some(TimestampMs(90_000)));
    assert_eq!(second.published_by, publisher.public_key().account_id());

    assert_eq!(code(&one(&mut chain, &publisher, 2, withdraw(1))), None);
    let withdrawn = notice(&chain, 1).unwrap().withdrawal.expect("withdrawn");
    assert_eq!(withdrawn.reason, "the hearing moved");
    // Once only; an unknown notice is named; each failure still consumes its nonce.
    assert_eq!(
        code(&one(&mut chain, &publisher, 3, withdraw(1))),
        Some("already_withdrawn")
    );
    assert_eq!(
        code(&one(&mut chain, &publisher, 4, withdraw(9))),
        Some("unknown_notice")
    );
    assert!(notice(&chain, 2).unwrap().withdrawal.is_none());
}

#[test]
fn a_notice_already_expired_at_the_blocks_time_is_refused() {
    let mut chain = Chain::at(2);
    let admin = PrivateKey::from_test_seed(101);
    let publisher = PrivateKey::from_test_seed(600);
    one(
        &mut chain,
        &admin,
        0,
        official(&publisher, "finance", &["publisher"]),
    );
    // The block's time, not a clock, decides: the next block's is `chain.time()`, and a notice
    // expiring at that very millisecond has expired.
    let next = chain.time();
    let receipt = one(
        &mut chain,
        &publisher,
        0,
        publish("Late", 1_000, Some(next)),
    );
    assert_eq!(code(&receipt), Some("already_expired"));
    let message = receipt.outcome.message().unwrap();
    assert!(message.contains("before this block's time"), "{message}");
    assert!(notice(&chain, 1).is_none());
    let next = chain.time();
    let receipt = one(
        &mut chain,
        &publisher,
        1,
        publish("In time", 1_000, Some(next + 1)),
    );
    assert_eq!(code(&receipt), None, "{receipt:?}");
}

#[test]
fn only_a_publisher_of_the_publishing_agency_acts() {
    let mut chain = Chain::at(2);
    let finance_admin = PrivateKey::from_test_seed(101);
    let land_admin = PrivateKey::from_test_seed(102);
    let publisher = PrivateKey::from_test_seed(600);
    let land_publisher = PrivateKey::from_test_seed(601);
    let notary = PrivateKey::from_test_seed(602);
    one(
        &mut chain,
        &finance_admin,
        0,
        official(&publisher, "finance", &["publisher"]),
    );
    one(
        &mut chain,
        &finance_admin,
        1,
        official(&notary, "finance", &["notary"]),
    );
    one(
        &mut chain,
        &land_admin,
        0,
        official(&land_publisher, "land", &["publisher"]),
    );
    assert_eq!(
        code(&one(
            &mut chain,
            &publisher,
            0,
            publish("Bylaw", 5_000, None)
        )),
        None
    );

    // Another agency's publisher cannot withdraw it; the refusal names the policy.
    let receipt = one(&mut chain, &land_publisher, 0, withdraw(1));
    assert_eq!(code(&receipt), Some("not_authorized"));
    let message = receipt.outcome.message().unwrap();
    assert!(
        message.contains("publishing-agency-withdraws-notices"),
        "{message}"
    );
    // An official without the role cannot publish.
    let receipt = one(&mut chain, &notary, 0, publish("Bylaw", 5_000, None));
    assert_eq!(code(&receipt), Some("not_authorized"));
    // A citizen cannot publish.
    let citizen = PrivateKey::from_test_seed(900);
    one(
        &mut chain,
        &finance_admin,
        2,
        Instruction::Identity(IdentityInstruction::RegisterCitizen {
            key: citizen.public_key(),
        }),
    );
    assert_eq!(
        code(&one(&mut chain, &citizen, 0, publish("Mine", 5_000, None))),
        Some("not_authorized")
    );
}

/// Under protocol 1 a proposer leaves a notice out (for later) and a validator refuses a
/// block holding one: the register exists from protocol 2.
#[test]
fn protocol_1_does_not_admit_the_register() {
    let mut chain = Chain::at(1);
    let admin = PrivateKey::from_test_seed(101);
    let publisher = PrivateKey::from_test_seed(600);
    one(
        &mut chain,
        &admin,
        0,
        official(&publisher, "finance", &["publisher"]),
    );
    let signed = tx(&publisher, None, 0, publish("Too early", 5_000, None));
    let built = chain.build(vec![signed.clone()]);
    assert!(built.included.is_empty());
    assert_eq!(built.rejected[0].1.code, "not_active");
    match chain.block(vec![signed], Mode::Verify) {
        Err(BlockError::Invalid { rule, .. }) => assert_eq!(rule, "not_active"),
        other => panic!("{other:?}"),
    }
}

/// A network started at protocol 1 (by a release without the register) gets the register's
/// schema part and default policies at the first block of version 2: from that block a
/// publisher publishes, and the policy set in force is the next version, made by no proposal.
#[test]
fn a_network_started_at_protocol_1_gets_the_register_at_version_2() {
    use civitas_kit::authz::{PolicyHead, head_key, schema_key};
    let mut chain = Chain::at(1);
    let read_head = |chain: &Chain| -> PolicyHead {
        civitas_core::codec::from_slice(chain.state.0.get(&head_key().hashed()).unwrap(), &())
            .unwrap()
    };
    let schema = |chain: &Chain| -> String {
        let text: civitas_kit::authz::policies::SchemaText = civitas_core::codec::from_slice(
            chain.state.0.get(&schema_key().hashed()).unwrap(),
            &(),
        )
        .unwrap();
        text.0
    };
    assert!(!schema(&chain).contains("notices.publish"));
    let admin = PrivateKey::from_test_seed(101);
    let publisher = PrivateKey::from_test_seed(600);
    one(
        &mut chain,
        &admin,
        0,
        official(&publisher, "finance", &["publisher"]),
    );
    let before = read_head(&chain);

    // The first block of version 2.
    chain.protocol = *PROTOCOLS.get(2).expect("version 2");
    let receipt = one(&mut chain, &publisher, 0, publish("Hearing", 50_000, None));
    assert_eq!(code(&receipt), None, "{receipt:?}");
    assert!(schema(&chain).contains("notices.publish"));
    let after = read_head(&chain);
    assert_eq!(after.version, before.version + 1);
    assert_ne!(after.schema_digest, before.schema_digest);
    // Once: the next blocks of version 2 change nothing.
    chain.block(vec![], Mode::Verify).expect("an empty block");
    assert_eq!(read_head(&chain), after);
    // A withdrawal by another agency's publisher is refused by the installed policy.
    let land_admin = PrivateKey::from_test_seed(102);
    let land_publisher = PrivateKey::from_test_seed(601);
    one(
        &mut chain,
        &land_admin,
        0,
        official(&land_publisher, "land", &["publisher"]),
    );
    let receipt = one(&mut chain, &land_publisher, 0, withdraw(1));
    assert_eq!(code(&receipt), Some("not_authorized"));
}
