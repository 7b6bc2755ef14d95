//! The register executed block by block in memory, through the whole ledger (authentication,
//! the protocol version, the policies, the handler), as validators execute it.

use civitas_core::crypto::PrivateKey;
use civitas_core::genesis::{Genesis, GenesisAgency, genesis_version};
use civitas_core::hash::Hash32;
use civitas_core::instruction::{IdentityInstruction, Instruction};
use civitas_core::notices::NoticesInstruction;
use civitas_core::protocol::PROTOCOLS;
use civitas_core::receipt::{Receipt, TxOutcome};
use civitas_core::time::TimestampMs;
use civitas_core::tx::{SignedTx, TxBody};
use civitas_exec::overlay::MemoryState;
use civitas_exec::{BlockEnv, BlockError, Mode, NoneVerified, execute_block};
use civitas_modules::CivitasModules;
use civitas_notices::state::{Notice, notice_key};
use futures::executor::block_on;
use std::sync::Arc;

/// A chain whose genesis starts at protocol `version` (with the authorization
/// `civitas genesis init` gives it), blocks one second apart from time 1 s.
struct Chain {
    state: MemoryState,
    height: u64,
    genesis: Arc<Genesis>,
    version: u16,
}

fn agency(id: &str, seed: u64) -> GenesisAgency {
    GenesisAgency {
        id: id.into(),
        name: format!("Ministry of {id}"),
        validator_key: PrivateKey::from_test_seed(seed).public_key(),
        admin_keys: vec![PrivateKey::from_test_seed(seed + 100).public_key()],
        p2p_address: "127.0.0.1:1".into(),
    }
}

impl Chain {
    fn at(version: u16) -> Self {
        let genesis = Genesis {
            version: genesis_version(version),
            protocol: version,
            chain_id: "test".into(),
            genesis_time: TimestampMs(1_000),
            agencies: vec![agency("finance", 1), agency("land", 2), agency("health", 3)],
            epoch_length: 10,
            governance_threshold: 2,
            authorization: civitas_modules::authz::authorization_for(version),
        };
        let mut chain = Self {
            state: MemoryState::default(),
            height: 0,
            genesis: Arc::new(genesis),
            version,
        };
        chain.block(vec![]);
        chain
    }

    /// The time of the next block.
    fn time(&self) -> u64 {
        1_000 + self.height * 1_000
    }

    fn block(&mut self, txs: Vec<SignedTx>) -> Vec<Receipt> {
        let result = block_on(execute_block(
            &self.env(),
            txs,
            &self.state,
            &CivitasModules,
            Mode::Verify,
            &NoneVerified,
        ))
        .expect("the block executes");
        self.state.apply(&result.writes);
        self.height += 1;
        result.receipts
    }

    fn env(&self) -> BlockEnv {
        BlockEnv {
            height: self.height + 1,
            timestamp: TimestampMs(self.time()),
            parent: Hash32::sha256(&self.height.to_be_bytes()),
            genesis: self.genesis.clone(),
            protocol: *PROTOCOLS.get(self.version).expect("a known version"),
        }
    }

    fn one(&mut self, key: &PrivateKey, nonce: u64, op: Instruction) -> Receipt {
        let tx = self.signed(key, nonce, op);
        self.block(vec![tx]).remove(0)
    }

    fn signed(&self, key: &PrivateKey, nonce: u64, op: Instruction) -> SignedTx {
        TxBody {
            chain_id: "test".into(),
            signer: key.public_key().account_id(),
            nonce,
            expiry: TimestampMs(u64::MAX),
            instructions: vec![op],
            memo: String::new(),
        }
        .into_signed(&[key])
    }

    fn notice(&self, id: u64) -> Option<Notice> {
        self.state
            .0
            .get(&notice_key(id).hashed())
            .map(|b| civitas_core::codec::from_slice(b, &()).unwrap())
    }
}

fn code(receipt: &Receipt) -> Option<&str> {
    match &receipt.outcome {
        TxOutcome::Failed { code, .. } => Some(code),
        TxOutcome::Success => None,
    }
}

fn official(key: &PrivateKey, agency: &str, roles: &[&str]) -> Instruction {
    Instruction::Identity(IdentityInstruction::RegisterOfficial {
        key: key.public_key(),
        agency: agency.into(),
        name: "A. Publisher".into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
    })
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
        code(&chain.one(&admin, 0, official(&publisher, "finance", &["publisher"]))),
        None
    );

    let receipt = chain.one(&publisher, 0, publish("Hearing one", 50_000, None));
    assert_eq!(code(&receipt), None, "{receipt:?}");
    let receipt = chain.one(&publisher, 1, publish("Hearing two", 50_000, Some(90_000)));
    assert_eq!(code(&receipt), None, "{receipt:?}");
    let second = chain.notice(2).expect("notice 2");
    assert_eq!(second.agency, "finance");
    assert_eq!(second.title, "Hearing two");
    assert_eq!(second.expires, Some(TimestampMs(90_000)));
    assert_eq!(second.published_by, publisher.public_key().account_id());

    assert_eq!(code(&chain.one(&publisher, 2, withdraw(1))), None);
    let withdrawn = chain.notice(1).unwrap().withdrawal.expect("withdrawn");
    assert_eq!(withdrawn.reason, "the hearing moved");
    // Once only; an unknown notice is named; each failure still consumes its nonce.
    assert_eq!(
        code(&chain.one(&publisher, 3, withdraw(1))),
        Some("already_withdrawn")
    );
    assert_eq!(
        code(&chain.one(&publisher, 4, withdraw(9))),
        Some("unknown_notice")
    );
    assert!(chain.notice(2).unwrap().withdrawal.is_none());
}

#[test]
fn a_notice_already_expired_at_the_blocks_time_is_refused() {
    let mut chain = Chain::at(2);
    let admin = PrivateKey::from_test_seed(101);
    let publisher = PrivateKey::from_test_seed(600);
    chain.one(&admin, 0, official(&publisher, "finance", &["publisher"]));
    // The block's time, not a clock, decides: the next block's is `chain.time()`, and a notice
    // expiring at that very millisecond has expired.
    let next = chain.time();
    let receipt = chain.one(&publisher, 0, publish("Late", 1_000, Some(next)));
    assert_eq!(code(&receipt), Some("already_expired"));
    let message = receipt.outcome.message().unwrap();
    assert!(message.contains("before this block's time"), "{message}");
    assert!(chain.notice(1).is_none());
    let next = chain.time();
    let receipt = chain.one(&publisher, 1, publish("In time", 1_000, Some(next + 1)));
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
    chain.one(
        &finance_admin,
        0,
        official(&publisher, "finance", &["publisher"]),
    );
    chain.one(&finance_admin, 1, official(&notary, "finance", &["notary"]));
    chain.one(
        &land_admin,
        0,
        official(&land_publisher, "land", &["publisher"]),
    );
    assert_eq!(
        code(&chain.one(&publisher, 0, publish("Bylaw", 5_000, None))),
        None
    );

    // Another agency's publisher cannot withdraw it; the refusal names the policy.
    let receipt = chain.one(&land_publisher, 0, withdraw(1));
    assert_eq!(code(&receipt), Some("not_authorized"));
    let message = receipt.outcome.message().unwrap();
    assert!(
        message.contains("publishing-agency-withdraws-notices"),
        "{message}"
    );
    // An official without the role cannot publish.
    let receipt = chain.one(&notary, 0, publish("Bylaw", 5_000, None));
    assert_eq!(code(&receipt), Some("not_authorized"));
    // A citizen cannot publish.
    let citizen = PrivateKey::from_test_seed(900);
    chain.one(
        &finance_admin,
        2,
        Instruction::Identity(IdentityInstruction::RegisterCitizen {
            key: citizen.public_key(),
        }),
    );
    assert_eq!(
        code(&chain.one(&citizen, 0, publish("Mine", 5_000, None))),
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
    chain.one(&admin, 0, official(&publisher, "finance", &["publisher"]));
    let tx = chain.signed(&publisher, 0, publish("Too early", 5_000, None));
    let built = block_on(execute_block(
        &chain.env(),
        vec![tx.clone()],
        &chain.state,
        &CivitasModules,
        Mode::Build,
        &NoneVerified,
    ))
    .unwrap();
    assert!(built.included.is_empty());
    assert_eq!(built.rejected[0].1.code, "not_active");
    match block_on(execute_block(
        &chain.env(),
        vec![tx],
        &chain.state,
        &CivitasModules,
        Mode::Verify,
        &NoneVerified,
    )) {
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
    chain.one(&admin, 0, official(&publisher, "finance", &["publisher"]));
    let before = read_head(&chain);

    // The first block of version 2.
    chain.version = 2;
    let receipt = chain.one(&publisher, 0, publish("Hearing", 50_000, None));
    assert_eq!(code(&receipt), None, "{receipt:?}");
    assert!(schema(&chain).contains("notices.publish"));
    let after = read_head(&chain);
    assert_eq!(after.version, before.version + 1);
    assert_ne!(after.schema_digest, before.schema_digest);
    // Once: the next blocks of version 2 change nothing.
    chain.block(vec![]);
    assert_eq!(read_head(&chain), after);
    // A withdrawal by another agency's publisher is refused by the installed policy.
    let land_admin = PrivateKey::from_test_seed(102);
    let land_publisher = PrivateKey::from_test_seed(601);
    chain.one(
        &land_admin,
        0,
        official(&land_publisher, "land", &["publisher"]),
    );
    let receipt = chain.one(&land_publisher, 0, withdraw(1));
    assert_eq!(code(&receipt), Some("not_authorized"));
}
