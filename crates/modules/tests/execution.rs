//! Executes blocks of identity, notary and governance transactions against in-memory state.

use civitas_core::crypto::PrivateKey;
use civitas_core::governance::ValidatorSet;
use civitas_core::hash::Hash32;
use civitas_core::instruction::{
    GovernanceAction, IdentityInstruction, Instruction, NotaryInstruction,
};
use civitas_core::time::TimestampMs;
use civitas_core::tx::SignedTx;
use civitas_exec::{BlockError, Mode, NoneVerified, execute_block};
use civitas_modules::CivitasModules;
use futures::executor::block_on;

mod common;
use common::*;

#[test]
fn official_anchors_and_revokes_a_document() {
    let mut chain = Chain::new();
    let admin = PrivateKey::from_test_seed(101);
    let notary = PrivateKey::from_test_seed(500);
    assert!(register_notary(&mut chain, &admin, 0, &notary, "finance").succeeded());

    let doc = Hash32::sha256(b"the deed");
    let receipt = chain.one(tx(&notary, None, 0, anchor(&doc)));
    assert!(receipt.succeeded(), "{receipt:?}");
    let record = chain.document(&doc).unwrap();
    assert_eq!(record.agency, "finance");
    assert!(record.revocation.is_none());

    // Anchoring twice fails but consumes the nonce.
    let receipt = chain.one(tx(&notary, None, 1, anchor(&doc)));
    assert_eq!(failed_code(&receipt), Some("already_anchored"));

    let revoke = Instruction::Notary(NotaryInstruction::Revoke {
        document: doc,
        reason: "issued in error".into(),
    });
    assert!(chain.one(tx(&notary, None, 2, revoke.clone())).succeeded());
    assert_eq!(
        chain.document(&doc).unwrap().revocation.unwrap().reason,
        "issued in error"
    );
    assert_eq!(
        failed_code(&chain.one(tx(&notary, None, 3, revoke))),
        Some("already_revoked")
    );
}

#[test]
fn cross_agency_and_citizen_actions_are_denied() {
    let mut chain = Chain::new();
    let finance_admin = PrivateKey::from_test_seed(101);
    let land_admin = PrivateKey::from_test_seed(102);
    let notary = PrivateKey::from_test_seed(500);
    let land_notary = PrivateKey::from_test_seed(501);
    // The land admin cannot register an official of finance.
    let receipt = register_notary(&mut chain, &land_admin, 0, &notary, "finance");
    assert_eq!(failed_code(&receipt), Some("not_authorized"));
    assert!(register_notary(&mut chain, &finance_admin, 0, &notary, "finance").succeeded());
    assert!(register_notary(&mut chain, &land_admin, 1, &land_notary, "land").succeeded());
    let doc = Hash32::sha256(b"finance doc");
    assert!(chain.one(tx(&notary, None, 0, anchor(&doc))).succeeded());
    // A land notary cannot revoke a finance document.
    let receipt = chain.one(tx(
        &land_notary,
        None,
        0,
        Instruction::Notary(NotaryInstruction::Revoke {
            document: doc,
            reason: "x".into(),
        }),
    ));
    assert_eq!(failed_code(&receipt), Some("not_authorized"));
    let message = receipt.outcome.message().unwrap();
    assert!(message.contains("issuing-agency-revokes"), "{message}");

    // A citizen cannot anchor.
    let citizen = PrivateKey::from_test_seed(900);
    assert!(
        chain
            .one(tx(
                &finance_admin,
                None,
                1,
                Instruction::Identity(IdentityInstruction::RegisterCitizen {
                    key: citizen.public_key()
                })
            ))
            .succeeded()
    );
    let receipt = chain.one(tx(&citizen, None, 0, anchor(&Hash32::sha256(b"c"))));
    assert_eq!(failed_code(&receipt), Some("not_authorized"));
}

#[test]
fn rotated_key_stops_working_and_new_key_signs() {
    let mut chain = Chain::new();
    let admin = PrivateKey::from_test_seed(101);
    let notary = PrivateKey::from_test_seed(500);
    let new_key = PrivateKey::from_test_seed(501);
    assert!(register_notary(&mut chain, &admin, 0, &notary, "finance").succeeded());
    let rotate = Instruction::Identity(IdentityInstruction::RotateKey {
        new_key: new_key.public_key(),
    });
    assert!(chain.one(tx(&notary, None, 0, rotate)).succeeded());
    // The old key is refused outright: such a block is invalid, a proposer leaves it out.
    let old = tx(&notary, None, 1, anchor(&Hash32::sha256(b"a")));
    assert!(matches!(
        chain.block(vec![old.clone()], Mode::Verify),
        Err(BlockError::Invalid { .. })
    ));
    let env = chain.env();
    let built = block_on(execute_block(
        &env,
        vec![old],
        &chain.state,
        &CivitasModules,
        Mode::Build,
        &NoneVerified,
    ))
    .unwrap();
    assert!(built.included.is_empty());
    assert_eq!(built.rejected[0].1.code, "wrong_key");
    // The new key signs for the same account.
    let receipt = chain.one(tx(
        &new_key,
        Some(&notary),
        1,
        anchor(&Hash32::sha256(b"a")),
    ));
    assert!(receipt.succeeded(), "{receipt:?}");
}

#[test]
fn replays_wrong_nonces_and_expired_transactions_are_refused() {
    let mut chain = Chain::new();
    let admin = PrivateKey::from_test_seed(101);
    let notary = PrivateKey::from_test_seed(500);
    let first = tx(
        &admin,
        None,
        0,
        Instruction::Identity(IdentityInstruction::RegisterOfficial {
            key: notary.public_key(),
            agency: "finance".into(),
            name: "N".into(),
            roles: vec!["notary".into()],
        }),
    );
    assert!(chain.one(first.clone()).succeeded());
    // Replaying the same transaction: its nonce is used.
    assert!(matches!(
        chain.block(vec![first], Mode::Verify),
        Err(BlockError::Invalid {
            rule: "bad_nonce",
            ..
        })
    ));
    // Skipping ahead.
    let ahead = tx(&notary, None, 5, anchor(&Hash32::sha256(b"z")));
    assert!(chain.block(vec![ahead], Mode::Verify).is_err());
    // Expired.
    let mut body = tx(&notary, None, 0, anchor(&Hash32::sha256(b"z"))).body;
    body.expiry = TimestampMs(1);
    let expired = body.into_signed(&[&notary]);
    assert!(matches!(
        chain.block(vec![expired], Mode::Verify),
        Err(BlockError::Invalid {
            rule: "expired",
            ..
        })
    ));
    // Unknown signer.
    let stranger = PrivateKey::from_test_seed(777);
    assert!(
        chain
            .block(
                vec![tx(&stranger, None, 0, anchor(&Hash32::sha256(b"s")))],
                Mode::Verify
            )
            .is_err()
    );
}

#[test]
fn execution_is_deterministic() {
    let run = || {
        let mut chain = Chain::new();
        let admin = PrivateKey::from_test_seed(101);
        let notary = PrivateKey::from_test_seed(500);
        register_notary(&mut chain, &admin, 0, &notary, "finance");
        let txs = (0..20)
            .map(|i| tx(&notary, None, i, anchor(&Hash32::sha256(&i.to_be_bytes()))))
            .collect();
        chain.block(txs, Mode::Verify).unwrap();
        chain.state.0
    };
    assert_eq!(run(), run());
}

#[test]
fn bad_signatures_invalidate_a_block_unless_already_verified() {
    struct All;
    impl civitas_exec::VerifiedTxs for All {
        fn is_verified(&self, _: &SignedTx) -> bool {
            true
        }
    }
    let chain = Chain::new();
    let admin = PrivateKey::from_test_seed(101);
    let citizen = PrivateKey::from_test_seed(900);
    let mut forged = tx(
        &admin,
        None,
        0,
        Instruction::Identity(IdentityInstruction::RegisterCitizen {
            key: citizen.public_key(),
        }),
    );
    forged.signatures[0].signature = admin.sign(b"other", b"message");
    let env = chain.env();
    let verified = block_on(execute_block(
        &env,
        vec![forged.clone()],
        &chain.state,
        &CivitasModules,
        Mode::Verify,
        &NoneVerified,
    ));
    assert!(matches!(
        verified,
        Err(BlockError::Invalid {
            rule: "bad_transaction",
            ..
        })
    ));
    // A node that verified exactly this transaction before does not verify it again.
    let cached = block_on(execute_block(
        &env,
        vec![forged],
        &chain.state,
        &CivitasModules,
        Mode::Verify,
        &All,
    ));
    assert!(cached.is_ok());
}

#[test]
fn governance_adds_a_validator_from_the_next_epoch() {
    use civitas_modules::governance::state::*;
    let mut chain = Chain::new();
    let finance = PrivateKey::from_test_seed(101);
    let land = PrivateKey::from_test_seed(102);
    let health = PrivateKey::from_test_seed(103);
    let newcomer = PrivateKey::from_test_seed(77).public_key();
    let genesis_set: ValidatorSet = read(&chain, &epoch_key(0)).unwrap();
    assert_eq!(genesis_set.keys(), chain.genesis.validators());

    // A notary may not govern.
    let notary = PrivateKey::from_test_seed(500);
    assert!(register_notary(&mut chain, &finance, 0, &notary, "finance").succeeded());
    let add = GovernanceAction::AddValidator {
        agency: "health".into(),
        key: newcomer.clone(),
        p2p_address: "127.0.0.1:9100".into(),
    };
    let denied = chain.one(tx(&notary, None, 0, propose(add.clone())));
    assert_eq!(failed_code(&denied), Some("not_authorized"));

    // One agency of the two required: still open, the next set unchanged.
    let opened = chain.one(tx(&finance, None, 1, propose(add.clone())));
    assert!(opened.succeeded(), "{:?}", opened.outcome);
    let proposal: Proposal = read(&chain, &proposal_key(1)).unwrap();
    assert_eq!(proposal.status, ProposalStatus::Open);
    assert_eq!(proposal.approvals, vec!["finance".to_string()]);
    let again = chain.one(tx(&finance, None, 2, approve(1)));
    assert_eq!(failed_code(&again), Some("already_approved"));
    let unknown = chain.one(tx(&land, None, 0, approve(9)));
    assert_eq!(failed_code(&unknown), Some("unknown_proposal"));

    // The second agency's approval executes it, for epoch 1.
    let executed = chain.one(tx(&land, None, 1, approve(1)));
    assert!(executed.succeeded(), "{:?}", executed.outcome);
    assert!(executed.events.iter().any(|e| matches!(
        e,
        civitas_core::event::Event::Governance(
            civitas_core::event::GovernanceEvent::ProposalExecuted {
                effective_epoch: 1,
                ..
            }
        )
    )));
    let next: ValidatorSet = read(&chain, &next_validators_key()).unwrap();
    assert!(next.contains(&newcomer));
    assert_eq!(next.validators.len(), 4);
    let closed = chain.one(tx(&health, None, 0, approve(1)));
    assert_eq!(failed_code(&closed), Some("proposal_closed"));
    // A proposal that cannot take effect is refused at once.
    let duplicate = chain.one(tx(&health, None, 1, propose(add)));
    assert_eq!(failed_code(&duplicate), Some("already_validator"));

    // Epoch 0's last block (height 9) records epoch 1's set.
    while chain.height < 9 {
        chain.block(vec![], Mode::Verify).unwrap();
    }
    let epoch1: ValidatorSet = read(&chain, &epoch_key(1)).unwrap();
    assert_eq!(epoch1, next);
    let handovers: Epochs = read(&chain, &handovers_key()).unwrap();
    assert_eq!(handovers.0, vec![1]);
    // An epoch without changes is recorded but is not a hand-over.
    while chain.height < 19 {
        chain.block(vec![], Mode::Verify).unwrap();
    }
    assert_eq!(read::<ValidatorSet>(&chain, &epoch_key(2)).unwrap(), next);
    let handovers: Epochs = read(&chain, &handovers_key()).unwrap();
    assert_eq!(handovers.0, vec![1]);
}

#[test]
fn an_upgrade_is_scheduled_by_vote_and_refused_when_it_could_not_take_effect() {
    use civitas_core::governance::{ProtocolSchedule, Upgrade};
    use civitas_modules::governance::state::*;
    let mut chain = Chain::new();
    let finance = PrivateKey::from_test_seed(101);
    let land = PrivateKey::from_test_seed(102);
    let upgrade = |version, height| {
        propose(GovernanceAction::ScheduleUpgrade {
            version,
            height,
            release: "0.2.0".into(),
        })
    };
    // No record: version 1 since genesis.
    assert_eq!(read::<ProtocolSchedule>(&chain, &protocol_key()), None);

    // A height that is not after the executing block is refused by name.
    let now = chain.height + 1;
    let late = chain.one(tx(&finance, None, 0, upgrade(2, now)));
    assert_eq!(failed_code(&late), Some("bad_upgrade"));
    assert!(
        late.outcome
            .message()
            .unwrap()
            .contains("propose a later height")
    );

    // Proposed and approved: recorded as the next version, from its height.
    assert!(chain.one(tx(&finance, None, 1, upgrade(2, 30))).succeeded());
    assert!(chain.one(tx(&land, None, 0, approve(1))).succeeded());
    let scheduled = ProtocolSchedule {
        active: 1,
        since: 0,
        next: Some(Upgrade {
            version: 2,
            height: 30,
            release: "0.2.0".into(),
            proposal: 1,
        }),
    };
    assert_eq!(read(&chain, &protocol_key()), Some(scheduled.clone()));
    assert_eq!(scheduled.at(29), (1, None));
    assert_eq!(scheduled.at(30), (2, Some("0.2.0")));

    // Postponed before it activates: a later proposal replaces it.
    assert!(chain.one(tx(&finance, None, 2, upgrade(2, 40))).succeeded());
    assert!(chain.one(tx(&land, None, 1, approve(2))).succeeded());
    let postponed: ProtocolSchedule = read(&chain, &protocol_key()).unwrap();
    assert_eq!(
        postponed.next.as_ref().map(|n| (n.height, n.proposal)),
        Some((40, 2))
    );

    // Once it has activated, it is the active version: the same version again is refused, the
    // next one is scheduled after it.
    while chain.height < 41 {
        chain.block(vec![], Mode::Verify).unwrap();
    }
    let again = chain.one(tx(&finance, None, 3, upgrade(2, 60)));
    assert_eq!(failed_code(&again), Some("bad_upgrade"));
    assert!(
        again
            .outcome
            .message()
            .unwrap()
            .contains("protocol version 2 is active, so an upgrade names version 3, not 2")
    );
    assert!(chain.one(tx(&finance, None, 4, upgrade(3, 60))).succeeded());
    assert!(chain.one(tx(&land, None, 2, approve(3))).succeeded());
    let third: ProtocolSchedule = read(&chain, &protocol_key()).unwrap();
    assert_eq!((third.active, third.since), (2, 40));
    assert_eq!(third.next.map(|n| n.version), Some(3));
}

/// On a chain whose genesis starts at protocol 2, block 1 records it, and the next upgrade is
/// version 3, whether or not the record is there (the handler reads the genesis's version
/// without it, as consensus does).
#[test]
fn a_chain_started_at_a_later_protocol_upgrades_to_the_one_after_it() {
    use civitas_core::governance::ProtocolSchedule;
    use civitas_modules::governance::state::*;
    let mut chain = Chain::starting_at(2);
    let finance = PrivateKey::from_test_seed(101);
    let upgrade = |version| {
        propose(GovernanceAction::ScheduleUpgrade {
            version,
            height: 50,
            release: "0.3.0".into(),
        })
    };
    assert_eq!(
        read::<ProtocolSchedule>(&chain, &protocol_key()),
        Some(ProtocolSchedule::starting(2))
    );
    let same = chain.one(tx(&finance, None, 0, upgrade(2)));
    assert_eq!(failed_code(&same), Some("bad_upgrade"));
    // Without the record, the genesis's version still counts.
    chain
        .state
        .apply(&[(protocol_key().hashed(), None)].into_iter().collect());
    assert_eq!(read::<ProtocolSchedule>(&chain, &protocol_key()), None);
    let same = chain.one(tx(&finance, None, 1, upgrade(2)));
    assert_eq!(failed_code(&same), Some("bad_upgrade"));
    assert!(chain.one(tx(&finance, None, 2, upgrade(3))).succeeded());
}

#[test]
fn a_block_holding_an_instruction_its_protocol_does_not_admit_is_invalid() {
    let without_revocation: Vec<&'static str> = civitas_core::protocol::VERSION_1
        .iter()
        .copied()
        .filter(|f| *f != "notary.revoke")
        .collect();
    let mut chain = Chain::new();
    let finance = PrivateKey::from_test_seed(101);
    let doc = Hash32::sha256(b"deed");
    assert!(chain.one(tx(&finance, None, 0, anchor(&doc))).succeeded());
    chain.protocol = civitas_core::protocol::Protocol {
        version: 1,
        release: "0.1.0",
        features: vec![&*without_revocation.leak()].leak(),
    };
    let revoke = tx(
        &finance,
        None,
        1,
        Instruction::Notary(NotaryInstruction::Revoke {
            document: doc,
            reason: "issued in error".into(),
        }),
    );
    // A proposer leaves it out and keeps it for later; a validator refuses a block holding it.
    let built = chain.build(vec![revoke.clone()]);
    assert!(built.included.is_empty());
    assert_eq!(built.rejected[0].1.code, "not_active");
    assert!(!built.rejected[0].1.is_final());
    match chain.block(vec![revoke.clone()], Mode::Verify) {
        Err(BlockError::Invalid { rule, detail }) => {
            assert_eq!(rule, "not_active");
            assert!(detail.contains("notary.revoke is not part of protocol version 1"));
        }
        other => panic!("{other:?}"),
    }
    // Under a version that admits it, the same transaction is valid.
    chain.protocol = civitas_core::protocol::PROTOCOLS.0[0];
    assert!(chain.one(revoke).succeeded());
}

#[test]
fn governance_refuses_impossible_changes_and_changes_the_threshold() {
    use civitas_modules::governance::state::*;
    let mut chain = Chain::new();
    let finance = PrivateKey::from_test_seed(101);
    let land = PrivateKey::from_test_seed(102);
    let stranger = PrivateKey::from_test_seed(78).public_key();
    let too_high = chain.one(tx(
        &finance,
        None,
        0,
        propose(GovernanceAction::SetThreshold { threshold: 4 }),
    ));
    assert_eq!(failed_code(&too_high), Some("bad_threshold"));
    let not_a_validator = chain.one(tx(
        &finance,
        None,
        1,
        propose(GovernanceAction::RemoveValidator { key: stranger }),
    ));
    assert_eq!(failed_code(&not_a_validator), Some("not_validator"));
    let unknown_agency = chain.one(tx(
        &finance,
        None,
        2,
        propose(GovernanceAction::AddValidator {
            agency: "nowhere".into(),
            key: PrivateKey::from_test_seed(79).public_key(),
            p2p_address: "127.0.0.1:1".into(),
        }),
    ));
    assert_eq!(failed_code(&unknown_agency), Some("unknown_agency"));

    // Lower the threshold to one agency; then one admin alone removes a validator.
    assert!(
        chain
            .one(tx(
                &finance,
                None,
                3,
                propose(GovernanceAction::SetThreshold { threshold: 1 }),
            ))
            .succeeded()
    );
    // Failed proposals took no number: this one is proposal 1.
    assert!(chain.one(tx(&land, None, 0, approve(1))).succeeded());
    let config: GovernanceConfig = read(&chain, &config_key()).unwrap();
    assert_eq!(config.threshold, 1);
    let removed = PrivateKey::from_test_seed(1).public_key();
    let receipt = chain.one(tx(
        &finance,
        None,
        4,
        propose(GovernanceAction::RemoveValidator {
            key: removed.clone(),
        }),
    ));
    assert!(receipt.succeeded(), "{:?}", receipt.outcome);
    let next: ValidatorSet = read(&chain, &next_validators_key()).unwrap();
    assert!(!next.contains(&removed));
    assert_eq!(next.validators.len(), 2);
}

#[test]
fn an_agency_joins_with_its_validator_is_renamed_and_retires_by_vote() {
    use civitas_core::governance::NewValidator;
    use civitas_modules::governance::state::*;
    use civitas_modules::identity::state::{Account, Agency, account_key, agency_key};
    let mut chain = Chain::new();
    let finance = PrivateKey::from_test_seed(101);
    let land = PrivateKey::from_test_seed(102);
    let health = PrivateKey::from_test_seed(103);
    let justice = PrivateKey::from_test_seed(104);
    let justice_validator = PrivateKey::from_test_seed(4).public_key();
    let land_notary = PrivateKey::from_test_seed(600);
    assert!(register_notary(&mut chain, &land, 0, &land_notary, "land").succeeded());

    // Justice joins with one admin and a validator: open (finance), then executed (health).
    let join = GovernanceAction::AddAgency {
        id: "justice".into(),
        name: "Ministry of Justice".into(),
        admin_keys: vec![justice.public_key()],
        validator: Some(NewValidator {
            key: justice_validator.clone(),
            p2p_address: "justice.example:9000".into(),
        }),
    };
    assert!(
        chain
            .one(tx(&finance, None, 0, propose(join.clone())))
            .succeeded()
    );
    // While the vote runs its admin key is reserved: nobody can take it meanwhile.
    let squat = chain.one(tx(
        &land,
        None,
        1,
        Instruction::Identity(IdentityInstruction::RegisterOfficial {
            key: justice.public_key(),
            agency: "land".into(),
            name: "Squatter".into(),
            roles: vec!["notary".into()],
        }),
    ));
    assert_eq!(failed_code(&squat), Some("key_in_use"));
    let executed = chain.one(tx(&health, None, 0, approve(1)));
    assert!(executed.succeeded(), "{:?}", executed.outcome);
    assert!(executed.events.iter().any(|e| matches!(
        e,
        civitas_core::event::Event::Governance(
            civitas_core::event::GovernanceEvent::ProposalExecuted {
                effective_epoch: 1,
                ..
            }
        )
    )));
    assert!(executed.events.iter().any(|e| matches!(
        e,
        civitas_core::event::Event::Identity(civitas_core::event::IdentityEvent::AccountRegistered { agency, .. }) if agency == "justice"
    )));
    let record: Agency = read(&chain, &agency_key("justice")).unwrap();
    assert_eq!(record.joined_height, chain.height);
    assert!(record.in_force());
    let admin: Account = read(&chain, &account_key(&justice.public_key().account_id())).unwrap();
    assert_eq!(
        (admin.agency.as_str(), admin.roles.clone()),
        ("justice", vec!["admin".to_string()])
    );
    let config: GovernanceConfig = read(&chain, &config_key()).unwrap();
    assert_eq!(config.agencies, ["finance", "health", "justice", "land"]);
    let next: ValidatorSet = read(&chain, &next_validators_key()).unwrap();
    assert!(
        next.validators
            .iter()
            .any(|v| v.key == justice_validator && v.agency == "justice")
    );
    // The id is taken for good, and an admin key in use cannot found another agency.
    let again = chain.one(tx(&finance, None, 1, propose(join)));
    assert_eq!(failed_code(&again), Some("agency_exists"));
    let reused = chain.one(tx(
        &finance,
        None,
        2,
        propose(GovernanceAction::AddAgency {
            id: "archive".into(),
            name: "National Archive".into(),
            admin_keys: vec![land_notary.public_key()],
            validator: None,
        }),
    ));
    assert_eq!(failed_code(&reused), Some("key_in_use"));

    // The newcomer votes at once: with four agencies in force a threshold of 5 is refused and
    // 3 passes (justice proposes, finance approves); its admin registers its officials.
    let five = chain.one(tx(
        &justice,
        None,
        0,
        propose(GovernanceAction::SetThreshold { threshold: 5 }),
    ));
    assert_eq!(failed_code(&five), Some("bad_threshold"));
    let three = GovernanceAction::SetThreshold { threshold: 3 };
    assert!(chain.one(tx(&justice, None, 1, propose(three))).succeeded());
    assert!(chain.one(tx(&finance, None, 3, approve(2))).succeeded());
    let config: GovernanceConfig = read(&chain, &config_key()).unwrap();
    assert_eq!(config.threshold, 3);
    let clerk = PrivateKey::from_test_seed(601);
    assert!(register_notary(&mut chain, &justice, 2, &clerk, "justice").succeeded());

    // Renamed by three votes.
    let rename = GovernanceAction::RenameAgency {
        id: "justice".into(),
        name: "Ministry of Justice and Law".into(),
    };
    assert!(
        chain
            .one(tx(&finance, None, 4, propose(rename)))
            .succeeded()
    );
    assert!(chain.one(tx(&land, None, 2, approve(3))).succeeded());
    assert!(chain.one(tx(&health, None, 1, approve(3))).succeeded());
    let record: Agency = read(&chain, &agency_key("justice")).unwrap();
    assert_eq!(record.name, "Ministry of Justice and Law");

    // Land opens a proposal (its approval), then retires: its approval stops counting.
    let two = GovernanceAction::SetThreshold { threshold: 2 };
    assert!(chain.one(tx(&land, None, 3, propose(two))).succeeded());
    let retire = GovernanceAction::RetireAgency { id: "land".into() };
    assert!(
        chain
            .one(tx(&finance, None, 5, propose(retire)))
            .succeeded()
    );
    assert!(chain.one(tx(&health, None, 2, approve(5))).succeeded());
    let retired = chain.one(tx(&justice, None, 3, approve(5)));
    assert!(retired.succeeded(), "{:?}", retired.outcome);
    let record: Agency = read(&chain, &agency_key("land")).unwrap();
    assert_eq!(record.retired_height, Some(chain.height));
    let config: GovernanceConfig = read(&chain, &config_key()).unwrap();
    assert_eq!(config.agencies, ["finance", "health", "justice"]);
    let next: ValidatorSet = read(&chain, &next_validators_key()).unwrap();
    assert!(next.validators.iter().all(|v| v.agency != "land"));
    assert_eq!(next.validators.len(), 3);
    // The current epoch's set is untouched: land's validator finishes the epoch.
    let epoch0: ValidatorSet = read(&chain, &epoch_key(0)).unwrap();
    assert!(epoch0.validators.iter().any(|v| v.agency == "land"));
    // Proposal 4 has land's approval, which no longer counts: with finance and health it has
    // 2 of the 3 needed, and justice's approval executes it.
    assert!(chain.one(tx(&finance, None, 6, approve(4))).succeeded());
    let approved = chain.one(tx(&health, None, 3, approve(4)));
    assert!(approved.events.iter().any(|e| matches!(
        e,
        civitas_core::event::Event::Governance(
            civitas_core::event::GovernanceEvent::ProposalApproved {
                approvals: 2,
                threshold: 3,
                ..
            }
        )
    )));
    let proposal: Proposal = read(&chain, &proposal_key(4)).unwrap();
    assert_eq!(
        proposal.status,
        ProposalStatus::Open,
        "land's approval counted"
    );
    assert!(chain.one(tx(&justice, None, 4, approve(4))).succeeded());
    let proposal: Proposal = read(&chain, &proposal_key(4)).unwrap();
    assert!(matches!(proposal.status, ProposalStatus::Executed { .. }));

    // Land's officials, admins included, no longer sign: a proposer leaves them out.
    for (key, nonce) in [(&land_notary, 0), (&land, 4)] {
        let built = chain.build(vec![tx(key, None, nonce, anchor(&Hash32::sha256(b"deed")))]);
        assert!(built.included.is_empty());
        assert_eq!(built.rejected[0].1.code, "agency_retired");
    }
    // Nor do they count as co-signers.
    let finance_account: Account =
        read(&chain, &account_key(&finance.public_key().account_id())).unwrap();
    let mut overlay = civitas_exec::Overlay::new(&chain.state);
    let notary_key = land_notary.public_key();
    let cosigners = futures::executor::block_on(civitas_modules::authz::cosigners(
        &[&notary_key],
        &finance_account,
        &mut overlay,
    ))
    .unwrap();
    assert!(cosigners.is_empty(), "{cosigners:?}");
    // Nothing new is given to a retired agency.
    let validator = chain.one(tx(
        &finance,
        None,
        7,
        propose(GovernanceAction::AddValidator {
            agency: "land".into(),
            key: PrivateKey::from_test_seed(9).public_key(),
            p2p_address: "127.0.0.1:9".into(),
        }),
    ));
    assert_eq!(failed_code(&validator), Some("agency_retired"));
}

#[test]
fn a_retirement_that_would_break_governance_or_stop_the_chain_is_refused() {
    use civitas_modules::governance::state::*;
    let mut chain = Chain::new();
    let finance = PrivateKey::from_test_seed(101);
    let land = PrivateKey::from_test_seed(102);
    // Three agencies, threshold 2: retiring one leaves 2, allowed; retiring a second is not.
    let raise = GovernanceAction::SetThreshold { threshold: 3 };
    assert!(chain.one(tx(&finance, None, 0, propose(raise))).succeeded());
    assert!(chain.one(tx(&land, None, 0, approve(1))).succeeded());
    let refused = chain.one(tx(
        &finance,
        None,
        1,
        propose(GovernanceAction::RetireAgency { id: "land".into() }),
    ));
    assert_eq!(failed_code(&refused), Some("bad_threshold"));
    let unknown = chain.one(tx(
        &finance,
        None,
        2,
        propose(GovernanceAction::RetireAgency {
            id: "nowhere".into(),
        }),
    ));
    assert_eq!(failed_code(&unknown), Some("unknown_agency"));
    // Only finance validates next epoch (two removals need threshold 3: all three vote).
    let health = PrivateKey::from_test_seed(103);
    for (i, seed) in [2u64, 3].into_iter().enumerate() {
        let remove = GovernanceAction::RemoveValidator {
            key: PrivateKey::from_test_seed(seed).public_key(),
        };
        let n = 2 + i as u64;
        assert!(
            chain
                .one(tx(&finance, None, 3 + i as u64, propose(remove)))
                .succeeded()
        );
        assert!(
            chain
                .one(tx(&land, None, 1 + i as u64, approve(n)))
                .succeeded()
        );
        assert!(
            chain
                .one(tx(&health, None, i as u64, approve(n)))
                .succeeded()
        );
    }
    let next: ValidatorSet = read(&chain, &next_validators_key()).unwrap();
    assert_eq!(next.validators.len(), 1);
    let lower = GovernanceAction::SetThreshold { threshold: 1 };
    assert!(chain.one(tx(&finance, None, 5, propose(lower))).succeeded());
    assert!(chain.one(tx(&land, None, 3, approve(4))).succeeded());
    assert!(chain.one(tx(&health, None, 2, approve(4))).succeeded());
    let stop = chain.one(tx(
        &finance,
        None,
        6,
        propose(GovernanceAction::RetireAgency {
            id: "finance".into(),
        }),
    ));
    assert_eq!(failed_code(&stop), Some("last_validator"));
}

#[test]
fn a_proposal_with_enough_approvals_after_a_lower_threshold_is_executed_by_a_second_approval() {
    use civitas_modules::governance::state::*;
    let mut chain = Chain::new();
    let finance = PrivateKey::from_test_seed(101);
    let land = PrivateKey::from_test_seed(102);
    let health = PrivateKey::from_test_seed(103);
    // Threshold 3 of 3 (proposal 1).
    let three = GovernanceAction::SetThreshold { threshold: 3 };
    assert!(chain.one(tx(&finance, None, 0, propose(three))).succeeded());
    assert!(chain.one(tx(&land, None, 0, approve(1))).succeeded());
    // Proposal 2 gets finance and land: 2 of 3, open.
    let rename = GovernanceAction::RenameAgency {
        id: "health".into(),
        name: "Ministry of Health and Care".into(),
    };
    assert!(
        chain
            .one(tx(&finance, None, 1, propose(rename)))
            .succeeded()
    );
    assert!(chain.one(tx(&land, None, 1, approve(2))).succeeded());
    // Proposal 3 lowers the threshold to 2, with all three.
    let two = GovernanceAction::SetThreshold { threshold: 2 };
    assert!(chain.one(tx(&finance, None, 2, propose(two))).succeeded());
    assert!(chain.one(tx(&land, None, 2, approve(3))).succeeded());
    assert!(chain.one(tx(&health, None, 0, approve(3))).succeeded());
    // Proposal 2 now has enough; an agency that approved it executes it by approving again.
    let proposal: Proposal = read(&chain, &proposal_key(2)).unwrap();
    assert_eq!(proposal.status, ProposalStatus::Open);
    let again = chain.one(tx(&land, None, 3, approve(2)));
    assert!(again.succeeded(), "{:?}", again.outcome);
    let proposal: Proposal = read(&chain, &proposal_key(2)).unwrap();
    assert!(matches!(proposal.status, ProposalStatus::Executed { .. }));
    // Once executed, a further approval is refused as usual.
    let closed = chain.one(tx(&finance, None, 3, approve(2)));
    assert_eq!(failed_code(&closed), Some("proposal_closed"));
}
