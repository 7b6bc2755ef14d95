//! Encryption keys and key recovery (protocol 3), executed block by block in memory through the
//! whole ledger (authentication, the protocol version, the policies, the handler), as
//! validators execute them.

use civitas_core::crypto::PrivateKey;
use civitas_core::event::{Event, IdentityEvent};
use civitas_core::instruction::{IdentityInstruction, Instruction};
use civitas_core::receipt::Receipt;
use civitas_core::seal::{DecryptionKey, EncryptionKey};
use civitas_identity::state::{Account, Recovery, account_key, encryption_key_key, recovery_key};
use civitas_modules::testing::{Chain, failed_code as code, official, tx};

const HOUR_MS: u64 = 3_600_000;

/// A block of one instruction signed by `key` (for `account`'s account if given), and its
/// receipt.
fn one(
    chain: &mut Chain,
    key: &PrivateKey,
    account: Option<&PrivateKey>,
    nonce: u64,
    op: IdentityInstruction,
) -> Receipt {
    chain.one(tx(key, account, nonce, Instruction::Identity(op)))
}

/// A chain at protocol 3 with a registrar of `land` (seed 700) and a citizen (seed 800) it
/// registered.
fn setup() -> (Chain, PrivateKey, PrivateKey) {
    let mut chain = Chain::at(3);
    let land_admin = PrivateKey::from_test_seed(102);
    let registrar = PrivateKey::from_test_seed(700);
    let citizen = PrivateKey::from_test_seed(800);
    let registered = chain.one(tx(
        &land_admin,
        None,
        0,
        official(&registrar, "land", &["registrar"]),
    ));
    assert_eq!(code(&registered), None);
    let registered = one(
        &mut chain,
        &registrar,
        None,
        0,
        IdentityInstruction::RegisterCitizen {
            key: citizen.public_key(),
        },
    );
    assert_eq!(code(&registered), None);
    (chain, registrar, citizen)
}

#[test]
fn an_account_registers_its_encryption_key_and_replaces_it() {
    let (mut chain, registrar, citizen) = setup();
    let first = DecryptionKey::from_test_seed(1).public();
    let second = DecryptionKey::from_test_seed(2).public();
    let receipt = one(
        &mut chain,
        &citizen,
        None,
        0,
        IdentityInstruction::SetEncryptionKey { key: first },
    );
    assert_eq!(code(&receipt), None);
    let id = citizen.public_key().account_id();
    assert_eq!(
        receipt.events,
        vec![Event::Identity(IdentityEvent::EncryptionKeySet {
            account: id,
            key: first
        })]
    );
    assert_eq!(
        chain.read::<EncryptionKey>(&encryption_key_key(&id)),
        Some(first)
    );
    let receipt = one(
        &mut chain,
        &citizen,
        None,
        1,
        IdentityInstruction::SetEncryptionKey { key: second },
    );
    assert_eq!(code(&receipt), None);
    assert_eq!(
        chain.read::<EncryptionKey>(&encryption_key_key(&id)),
        Some(second)
    );
    // An official registers its own too; nobody registers another account's.
    let receipt = one(
        &mut chain,
        &registrar,
        None,
        1,
        IdentityInstruction::SetEncryptionKey { key: first },
    );
    assert_eq!(code(&receipt), None);
    assert_eq!(
        chain.read::<EncryptionKey>(&encryption_key_key(&registrar.public_key().account_id())),
        Some(first)
    );
}

#[test]
fn before_protocol_3_encryption_keys_and_recovery_are_refused() {
    let chain = Chain::at(2);
    let admin = PrivateKey::from_test_seed(101);
    // A block holding it is invalid before the version is active: a proposer leaves it out.
    for op in [
        IdentityInstruction::SetEncryptionKey {
            key: DecryptionKey::from_test_seed(1).public(),
        },
        IdentityInstruction::CompleteRecovery {
            account: admin.public_key().account_id(),
        },
    ] {
        let signed = tx(&admin, None, 0, Instruction::Identity(op));
        let built = chain.build(vec![signed.clone()]);
        assert!(built.included.is_empty());
        // A Byzantine proposer that puts it in a block anyway: honest validators refuse the
        // block.
        let refused = chain
            .clone()
            .block(vec![signed], civitas_exec::Mode::Verify);
        assert!(
            matches!(&refused, Err(e) if e.to_string().contains("not_active")),
            "{refused:?}"
        );
    }
}

#[test]
fn a_registrar_recovers_a_lost_key_after_the_delay_unless_cancelled() {
    let (mut chain, registrar, citizen) = setup();
    let id = citizen.public_key().account_id();
    let new_key = PrivateKey::from_test_seed(801);
    let recover = |delay_hours| IdentityInstruction::RecoverKey {
        account: id,
        new_key: new_key.public_key(),
        delay_hours,
    };

    // The default policies make the holder wait at least 72 hours.
    let receipt = one(&mut chain, &registrar, None, 1, recover(1));
    assert_eq!(code(&receipt), Some("not_authorized"), "{receipt:?}");

    // Started: nothing changes yet, and a second recovery is refused.
    let started_at = chain.time();
    let receipt = one(&mut chain, &registrar, None, 2, recover(72));
    assert_eq!(code(&receipt), None, "{receipt:?}");
    let pending: Recovery = chain.read(&recovery_key(&id)).unwrap();
    assert_eq!(pending.effective.0, started_at + 72 * HOUR_MS);
    assert_eq!(
        code(&one(&mut chain, &registrar, None, 3, recover(80))),
        Some("recovery_pending")
    );

    // The holder still has its key: it cancels, and can sign as before.
    let receipt = one(
        &mut chain,
        &citizen,
        None,
        0,
        IdentityInstruction::CancelRecovery { account: id },
    );
    assert_eq!(code(&receipt), None, "{receipt:?}");
    assert!(chain.read::<Recovery>(&recovery_key(&id)).is_none());
    assert_eq!(
        code(&one(
            &mut chain,
            &registrar,
            None,
            4,
            IdentityInstruction::CancelRecovery { account: id }
        )),
        Some("no_recovery")
    );

    // Started again; completing it early is refused.
    assert_eq!(
        code(&one(&mut chain, &registrar, None, 5, recover(72))),
        None
    );
    let early = one(
        &mut chain,
        &registrar,
        None,
        6,
        IdentityInstruction::CompleteRecovery { account: id },
    );
    assert_eq!(code(&early), Some("recovery_not_due"));
    // A citizen cannot complete a recovery, even its own (it would need the registrar).
    let other_citizen = PrivateKey::from_test_seed(802);
    assert_eq!(
        code(&one(
            &mut chain,
            &registrar,
            None,
            7,
            IdentityInstruction::RegisterCitizen {
                key: other_citizen.public_key()
            }
        )),
        None
    );
    chain.skip_ms += 72 * HOUR_MS;
    assert_eq!(
        code(&one(
            &mut chain,
            &other_citizen,
            None,
            0,
            IdentityInstruction::CompleteRecovery { account: id }
        )),
        Some("not_authorized")
    );
    let done = one(
        &mut chain,
        &registrar,
        None,
        8,
        IdentityInstruction::CompleteRecovery { account: id },
    );
    assert_eq!(code(&done), None, "{done:?}");
    assert!(matches!(
        &done.events[..],
        [Event::Identity(IdentityEvent::KeyRecovered { account, new_key: key, started_by, by })]
            if *account == id && *key == new_key.public_key()
                && *started_by == registrar.public_key().account_id()
                && *by == registrar.public_key().account_id()
    ));
    let account: Account = chain.read(&account_key(&id)).unwrap();
    assert_eq!(account.keys, vec![new_key.public_key()]);

    // The lost key no longer signs; the new one signs for the same account.
    let stale = chain.build(vec![tx(
        &citizen,
        None,
        1,
        Instruction::Identity(IdentityInstruction::SetEncryptionKey {
            key: DecryptionKey::from_test_seed(3).public(),
        }),
    )]);
    assert!(stale.included.is_empty());
    let receipt = one(
        &mut chain,
        &new_key,
        Some(&citizen),
        1,
        IdentityInstruction::SetEncryptionKey {
            key: DecryptionKey::from_test_seed(3).public(),
        },
    );
    assert_eq!(code(&receipt), None, "{receipt:?}");
}

#[test]
fn a_recovery_cannot_take_a_key_in_use_or_recover_ones_own_account() {
    let (mut chain, registrar, citizen) = setup();
    let id = citizen.public_key().account_id();
    // The registrar's own key is in use.
    let receipt = one(
        &mut chain,
        &registrar,
        None,
        1,
        IdentityInstruction::RecoverKey {
            account: id,
            new_key: registrar.public_key(),
            delay_hours: 72,
        },
    );
    assert_eq!(code(&receipt), Some("key_in_use"));
    // A registrar does not recover its own account (an official's is its admin's to recover).
    let receipt = one(
        &mut chain,
        &registrar,
        None,
        2,
        IdentityInstruction::RecoverKey {
            account: registrar.public_key().account_id(),
            new_key: PrivateKey::from_test_seed(900).public_key(),
            delay_hours: 72,
        },
    );
    assert_eq!(code(&receipt), Some("not_authorized"));
    // The land admin recovers its registrar's key.
    let land_admin = PrivateKey::from_test_seed(102);
    let receipt = one(
        &mut chain,
        &land_admin,
        None,
        1,
        IdentityInstruction::RecoverKey {
            account: registrar.public_key().account_id(),
            new_key: PrivateKey::from_test_seed(900).public_key(),
            delay_hours: 72,
        },
    );
    assert_eq!(code(&receipt), None, "{receipt:?}");
    // Another agency's admin does not.
    let finance_admin = PrivateKey::from_test_seed(101);
    let receipt = one(
        &mut chain,
        &finance_admin,
        None,
        0,
        IdentityInstruction::CancelRecovery {
            account: registrar.public_key().account_id(),
        },
    );
    assert_eq!(code(&receipt), Some("not_authorized"));
}

/// A chain started at protocol 2 gets protocol 3's identity actions and default policies at
/// the first version-3 block, as a chain started at 3 has them from genesis.
#[test]
fn a_chain_upgraded_to_protocol_3_gets_the_new_actions_and_their_policies() {
    let mut chain = Chain::at(2);
    chain.protocol = *civitas_core::protocol::PROTOCOLS.get(3).unwrap();
    let admin = PrivateKey::from_test_seed(101);
    let receipt = one(
        &mut chain,
        &admin,
        None,
        0,
        IdentityInstruction::SetEncryptionKey {
            key: DecryptionKey::from_test_seed(1).public(),
        },
    );
    assert_eq!(code(&receipt), None, "{receipt:?}");
    // The forbid that makes a recovery wait came with them.
    let citizen = PrivateKey::from_test_seed(800);
    assert_eq!(
        code(&one(
            &mut chain,
            &admin,
            None,
            1,
            IdentityInstruction::RegisterCitizen {
                key: citizen.public_key()
            }
        )),
        None
    );
    let receipt = one(
        &mut chain,
        &admin,
        None,
        2,
        IdentityInstruction::RecoverKey {
            account: citizen.public_key().account_id(),
            new_key: PrivateKey::from_test_seed(801).public_key(),
            delay_hours: 1,
        },
    );
    assert_eq!(code(&receipt), Some("not_authorized"));
}

/// While a recovery is under way its key is promised: no account takes it. A holder that
/// rotates its key shows it still has it, which cancels the recovery. A completed recovery
/// forgets the lost encryption key; one started by an official no longer in office is not
/// completed.
#[test]
fn a_pending_recovery_holds_its_key_and_yields_to_the_holder() {
    let (mut chain, registrar, citizen) = setup();
    let id = citizen.public_key().account_id();
    let promised = PrivateKey::from_test_seed(801);
    let start = |chain: &mut Chain, nonce| {
        one(
            chain,
            &registrar,
            None,
            nonce,
            IdentityInstruction::RecoverKey {
                account: id,
                new_key: promised.public_key(),
                delay_hours: 72,
            },
        )
    };
    assert_eq!(code(&start(&mut chain, 1)), None);
    let taken = one(
        &mut chain,
        &registrar,
        None,
        2,
        IdentityInstruction::RegisterCitizen {
            key: promised.public_key(),
        },
    );
    assert_eq!(code(&taken), Some("key_in_use"));

    // The holder rotates its key: the recovery is cancelled, by the account itself.
    let rotated_to = PrivateKey::from_test_seed(803);
    let rotated = one(
        &mut chain,
        &citizen,
        None,
        0,
        IdentityInstruction::RotateKey {
            new_key: rotated_to.public_key(),
        },
    );
    assert_eq!(code(&rotated), None);
    assert!(rotated.events.iter().any(|e| matches!(
        e,
        Event::Identity(IdentityEvent::RecoveryCancelled { account, by, .. })
            if *account == id && *by == id
    )));
    assert!(chain.read::<Recovery>(&recovery_key(&id)).is_none());
    // The key is free again.
    let registered = one(
        &mut chain,
        &registrar,
        None,
        3,
        IdentityInstruction::RegisterCitizen {
            key: promised.public_key(),
        },
    );
    assert_eq!(code(&registered), None);

    // A recovery to another key completes and forgets the encryption key the account had.
    let encryption = one(
        &mut chain,
        &rotated_to,
        Some(&citizen),
        1,
        IdentityInstruction::SetEncryptionKey {
            key: DecryptionKey::from_test_seed(9).public(),
        },
    );
    assert_eq!(code(&encryption), None);
    let fresh = PrivateKey::from_test_seed(804);
    let started = one(
        &mut chain,
        &registrar,
        None,
        4,
        IdentityInstruction::RecoverKey {
            account: id,
            new_key: fresh.public_key(),
            delay_hours: 72,
        },
    );
    assert_eq!(code(&started), None);
    chain.skip_ms += 72 * HOUR_MS;
    let done = one(
        &mut chain,
        &registrar,
        None,
        5,
        IdentityInstruction::CompleteRecovery { account: id },
    );
    assert_eq!(code(&done), None, "{done:?}");
    assert!(
        chain
            .read::<EncryptionKey>(&encryption_key_key(&id))
            .is_none()
    );

    // Started by a registrar the land admin then deactivates: not completed.
    let other = PrivateKey::from_test_seed(805);
    let other_id = other.public_key().account_id();
    assert_eq!(
        code(&one(
            &mut chain,
            &registrar,
            None,
            6,
            IdentityInstruction::RegisterCitizen {
                key: other.public_key()
            }
        )),
        None
    );
    assert_eq!(
        code(&one(
            &mut chain,
            &registrar,
            None,
            7,
            IdentityInstruction::RecoverKey {
                account: other_id,
                new_key: PrivateKey::from_test_seed(806).public_key(),
                delay_hours: 72,
            }
        )),
        None
    );
    let land_admin = PrivateKey::from_test_seed(102);
    assert_eq!(
        code(&one(
            &mut chain,
            &land_admin,
            None,
            1,
            IdentityInstruction::Deactivate {
                account: registrar.public_key().account_id(),
                reason: "left the registry".into(),
            }
        )),
        None
    );
    chain.skip_ms += 72 * HOUR_MS;
    let refused = one(
        &mut chain,
        &land_admin,
        None,
        2,
        IdentityInstruction::CompleteRecovery { account: other_id },
    );
    assert_eq!(code(&refused), Some("recovery_starter_inactive"));
}

/// A recovery whose starter lost the registrar role before the delay ended is not completed;
/// one the holder's `set_keys` overtakes is cancelled.
#[test]
fn a_recovery_needs_its_starter_still_allowed_and_yields_to_set_keys() {
    let (mut chain, registrar, citizen) = setup();
    let id = citizen.public_key().account_id();
    let started = one(
        &mut chain,
        &registrar,
        None,
        1,
        IdentityInstruction::RecoverKey {
            account: id,
            new_key: PrivateKey::from_test_seed(801).public_key(),
            delay_hours: 72,
        },
    );
    assert_eq!(code(&started), None);
    let land_admin = PrivateKey::from_test_seed(102);
    assert_eq!(
        code(&one(
            &mut chain,
            &land_admin,
            None,
            1,
            IdentityInstruction::SetRoles {
                account: registrar.public_key().account_id(),
                roles: vec![],
            }
        )),
        None
    );
    chain.skip_ms += 72 * HOUR_MS;
    let refused = one(
        &mut chain,
        &land_admin,
        None,
        2,
        IdentityInstruction::CompleteRecovery { account: id },
    );
    assert_eq!(code(&refused), Some("recovery_starter_inactive"));

    // The holder replaces its keys: the recovery is cancelled.
    let second = PrivateKey::from_test_seed(807);
    let replaced = chain.one(
        civitas_core::tx::TxBody {
            chain_id: "test".into(),
            signer: id,
            nonce: 0,
            expiry: civitas_core::time::TimestampMs(u64::MAX),
            instructions: vec![Instruction::Identity(IdentityInstruction::SetKeys {
                keys: vec![citizen.public_key(), second.public_key()],
                threshold: 1,
            })],
            memo: String::new(),
        }
        .into_signed(&[&citizen]),
    );
    assert_eq!(code(&replaced), None, "{replaced:?}");
    assert!(replaced.events.iter().any(|e| matches!(
        e,
        Event::Identity(IdentityEvent::RecoveryCancelled { account, by, .. })
            if *account == id && *by == id
    )));
    assert!(chain.read::<Recovery>(&recovery_key(&id)).is_none());
}
