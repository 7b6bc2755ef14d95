//! Identity handlers.

use crate::roles;
use crate::state::{
    Account, Agency, Recovery, account_key, agency_key, encryption_key_key, key_index_key,
    load_account, load_agency, recovery_key, reserved_key_key, store_account,
};
use civitas_core::crypto::{AccountId, PublicKey};
use civitas_core::event::{AccountKind, Event};
use civitas_core::genesis::Genesis;
use civitas_core::instruction::IdentityInstruction;
use civitas_core::tx::SignedTx;
use civitas_kit::StateView;
use civitas_kit::{BlockError, Failure, Overlay, Rejection, TxContext, failure};

/// Records the founding agencies and their admins.
pub async fn genesis<S: StateView>(
    genesis: &Genesis,
    state: &mut Overlay<'_, S>,
) -> Result<(), BlockError> {
    for agency in &genesis.agencies {
        let record = Agency {
            id: agency.id.clone(),
            name: agency.name.clone(),
            joined_height: 0,
            retired_height: None,
        };
        // A founding admin registers itself.
        let admins = agency
            .admin_keys
            .iter()
            .map(|k| (k.clone(), k.account_id()));
        record_agency(state, &record, admins);
    }
    Ok(())
}

/// Stores an agency that joins and an admin account for each of `admins` (a key and who
/// registered it). The caller has checked that the id and the keys are unused.
pub fn record_agency<S: StateView>(
    state: &mut Overlay<'_, S>,
    agency: &Agency,
    admins: impl IntoIterator<Item = (PublicKey, AccountId)>,
) -> Vec<Account> {
    state.put_typed(&agency_key(&agency.id), agency);
    let mut accounts = Vec::new();
    for (key, registered_by) in admins {
        let account = Account {
            id: key.account_id(),
            kind: AccountKind::Official,
            agency: agency.id.clone(),
            name: format!("{} administrator", agency.name),
            roles: vec![roles::ADMIN.to_string()],
            keys: vec![key.clone()],
            threshold: 1,
            active: true,
            registered_height: agency.joined_height,
            registered_by,
        };
        store_account(state, &account);
        state.put_typed(&key_index_key(&key), &account.id);
        accounts.push(account);
    }
    accounts
}

/// Whether `key` may become a new account's key: it signs for no account, is no account's id,
/// and no recovery under way promises it to an account.
pub async fn key_free<S: StateView>(
    key: &PublicKey,
    state: &mut Overlay<'_, S>,
) -> Result<bool, BlockError> {
    Ok(!state.contains(&key_index_key(key)).await?
        && !state.contains(&account_key(&key.account_id())).await?
        && !state.contains(&reserved_key_key(key)).await?)
}

/// The agency `id` if it exists and is in force; otherwise the failure to report
/// (`unknown_agency` or `agency_retired`).
pub async fn agency_in_force<S: StateView>(
    state: &mut Overlay<'_, S>,
    id: &str,
) -> Result<Result<Agency, Failure>, BlockError> {
    Ok(match load_agency(state, id).await? {
        None => Err(failure!("unknown_agency", agency = id)),
        Some(agency) => match agency.retired_height {
            Some(height) => Err(failure!("agency_retired", agency = id, height = height)),
            None => Ok(agency),
        },
    })
}

/// Checks that the signer's account exists, is active, and enough of its current keys signed.
pub async fn authenticate<S: StateView>(
    tx: &SignedTx,
    state: &mut Overlay<'_, S>,
) -> Result<Result<(), Rejection>, BlockError> {
    let keys: Vec<&PublicKey> = tx.signatures.iter().map(|s| &s.key).collect();
    Ok(
        signing_account(state, &tx.body.signer, &keys, "transaction")
            .await?
            .map(|_| ()),
    )
}

/// The account `id` if it exists, is active, and at least its threshold of keys are among
/// `signing_keys` (which must already be verified). `what` names the signed thing in the
/// refusal ("transaction", "request").
pub async fn signing_account<S: StateView>(
    state: &mut Overlay<'_, S>,
    id: &AccountId,
    signing_keys: &[&PublicKey],
    what: &str,
) -> Result<Result<Account, Rejection>, BlockError> {
    let Some(account) = load_account(state, id).await? else {
        return Ok(Err(Rejection::new(
            "unknown_account",
            format!("account {id} is not registered; ask an agency to register it"),
        )));
    };
    if !account.active {
        return Ok(Err(Rejection::new(
            "account_inactive",
            format!("account {} has been deactivated", account.id),
        )));
    }
    // An official of a retired agency no longer signs: retirement deactivates every official
    // of the agency at once, without rewriting each account.
    if account.kind == AccountKind::Official
        && let Some(height) = load_agency(state, &account.agency)
            .await?
            .and_then(|a| a.retired_height)
    {
        return Ok(Err(Rejection::new(
            "agency_retired",
            format!(
                "account {} is an official of agency {}, which retired at height {height}; its officials can no longer sign",
                account.id, account.agency
            ),
        )));
    }
    let signed = account.keys_signed(signing_keys.iter().copied());
    if signed < usize::from(account.threshold) {
        let message = if account.keys.len() == 1 {
            format!(
                "the {what} is not signed by account {}'s current key {}; if the key was rotated, sign with the new key",
                account.id, account.keys[0]
            )
        } else {
            format!(
                "account {} needs {} of its {} keys to sign; {signed} did",
                account.id,
                account.threshold,
                account.keys.len()
            )
        };
        return Ok(Err(Rejection::new("wrong_key", message)));
    }
    Ok(Ok(account))
}

/// Applies an identity instruction (already authorized).
pub async fn apply<S: StateView>(
    ctx: &TxContext<'_>,
    signer: &Account,
    op: &IdentityInstruction,
    state: &mut Overlay<'_, S>,
) -> Result<Result<Vec<Event>, Failure>, BlockError> {
    match op {
        IdentityInstruction::RegisterOfficial {
            key,
            agency,
            name,
            roles,
        } => {
            if let Err(failure) = agency_in_force(state, agency).await? {
                return Ok(Err(failure));
            }
            let account = Account {
                id: key.account_id(),
                kind: AccountKind::Official,
                agency: agency.clone(),
                name: name.clone(),
                roles: roles.clone(),
                keys: vec![key.clone()],
                threshold: 1,
                active: true,
                registered_height: ctx.env.height,
                registered_by: signer.id,
            };
            register(ctx, signer, account, state).await
        }
        IdentityInstruction::RegisterCitizen { key } => {
            let account = Account {
                id: key.account_id(),
                kind: AccountKind::Citizen,
                agency: String::new(),
                name: String::new(),
                roles: Vec::new(),
                keys: vec![key.clone()],
                threshold: 1,
                active: true,
                registered_height: ctx.env.height,
                registered_by: signer.id,
            };
            register(ctx, signer, account, state).await
        }
        IdentityInstruction::SetRoles { account, roles } => {
            let Some(mut target) = load_account(state, account).await? else {
                return Ok(Err(unknown(account)));
            };
            target.roles = roles.clone();
            store_account(state, &target);
            Ok(Ok(vec![Event::Identity(
                civitas_core::event::IdentityEvent::RolesChanged {
                    account: target.id,
                    roles: target.roles,
                    by: signer.id,
                },
            )]))
        }
        IdentityInstruction::RotateKey { new_key } => {
            if signer.keys.len() != 1 {
                return Ok(Err(failure!(
                    "multi_key_account",
                    account = signer.id,
                    keys = signer.keys.len()
                )));
            }
            if let Err(failure) = check_key_free(new_key, state).await? {
                return Ok(Err(failure));
            }
            let mut account = signer.clone();
            replace_keys(&mut account, vec![new_key.clone()], 1, state);
            let mut events = vec![Event::Identity(
                civitas_core::event::IdentityEvent::KeyRotated {
                    account: account.id,
                    new_key: new_key.clone(),
                },
            )];
            events.extend(holder_cancels_recovery(&account.id, state).await?);
            Ok(Ok(events))
        }
        IdentityInstruction::SetKeys { keys, threshold } => {
            for key in keys {
                // The account's own keys, and its first key (its id), may stay or come back.
                if signer.keys.contains(key) || key.account_id() == signer.id {
                    continue;
                }
                if let Err(failure) = check_key_free(key, state).await? {
                    return Ok(Err(failure));
                }
            }
            let mut account = signer.clone();
            replace_keys(&mut account, keys.clone(), *threshold, state);
            let mut events = vec![Event::Identity(
                civitas_core::event::IdentityEvent::KeysChanged {
                    account: account.id,
                    keys: keys.clone(),
                    threshold: *threshold,
                },
            )];
            events.extend(holder_cancels_recovery(&account.id, state).await?);
            Ok(Ok(events))
        }
        IdentityInstruction::SetEncryptionKey { key } => {
            state.put_typed(&encryption_key_key(&signer.id), key);
            Ok(Ok(vec![Event::Identity(
                civitas_core::event::IdentityEvent::EncryptionKeySet {
                    account: signer.id,
                    key: *key,
                },
            )]))
        }
        IdentityInstruction::RecoverKey {
            account,
            new_key,
            delay_hours,
        } => {
            let Some(target) = load_account(state, account).await? else {
                return Ok(Err(unknown(account)));
            };
            if !target.active {
                return Ok(Err(failure!("account_inactive", account = account)));
            }
            if let Some(pending) = state.get_typed::<Recovery>(&recovery_key(account)).await? {
                return Ok(Err(failure!(
                    "recovery_pending",
                    account = account,
                    new_key = pending.new_key,
                    by = pending.by
                )));
            }
            if let Err(failure) = check_key_free(new_key, state).await? {
                return Ok(Err(failure));
            }
            let effective = ctx
                .env
                .timestamp
                .saturating_add_ms(u64::from(*delay_hours) * 3_600_000);
            let recovery = Recovery {
                new_key: new_key.clone(),
                by: signer.id,
                started_height: ctx.env.height,
                effective,
                delay_hours: *delay_hours,
            };
            state.put_typed(&recovery_key(account), &recovery);
            state.put_typed(&reserved_key_key(new_key), account);
            Ok(Ok(vec![Event::Identity(
                civitas_core::event::IdentityEvent::RecoveryStarted {
                    account: *account,
                    new_key: new_key.clone(),
                    by: signer.id,
                    effective,
                },
            )]))
        }
        IdentityInstruction::CancelRecovery { account } => {
            match cancel_recovery(account, &signer.id, state).await? {
                Some(cancelled) => Ok(Ok(vec![cancelled])),
                None => Ok(Err(failure!("no_recovery", account = account))),
            }
        }
        IdentityInstruction::CompleteRecovery { account } => {
            let Some(pending) = state.get_typed::<Recovery>(&recovery_key(account)).await? else {
                return Ok(Err(failure!("no_recovery", account = account)));
            };
            if ctx.env.timestamp < pending.effective {
                return Ok(Err(failure!(
                    "recovery_not_due",
                    account = account,
                    effective = pending.effective.0
                )));
            }
            let Some(mut target) = load_account(state, account).await? else {
                return Ok(Err(unknown(account)));
            };
            if !target.active {
                return Ok(Err(failure!("account_inactive", account = account)));
            }
            // A recovery is completed only if its starter could still start it: an official
            // who no longer signs (deactivated, of an agency that retired) or whom the
            // policies no longer allow (a registrar who lost the role) cannot.
            if !starter_may_recover(ctx, &pending, &target, state).await? {
                return Ok(Err(failure!(
                    "recovery_starter_inactive",
                    account = account,
                    by = pending.by
                )));
            }
            // Reserved since the recovery started, so no other account took the key; checked
            // again all the same.
            if state
                .get_typed::<AccountId>(&key_index_key(&pending.new_key))
                .await?
                .is_some_and(|owner| owner != *account)
            {
                return Ok(Err(failure!("key_in_use", key = pending.new_key)));
            }
            state.delete(&recovery_key(account));
            state.delete(&reserved_key_key(&pending.new_key));
            replace_keys(&mut target, vec![pending.new_key.clone()], 1, state);
            // The lost key file held the account's encryption secret too: what is sealed to
            // the account from now on waits for the holder to register a new encryption key.
            state.delete(&encryption_key_key(account));
            Ok(Ok(vec![Event::Identity(
                civitas_core::event::IdentityEvent::KeyRecovered {
                    account: *account,
                    new_key: pending.new_key,
                    started_by: pending.by,
                    by: signer.id,
                },
            )]))
        }
        IdentityInstruction::Deactivate { account, reason } => {
            let Some(mut target) = load_account(state, account).await? else {
                return Ok(Err(unknown(account)));
            };
            if !target.active {
                return Ok(Err(failure!("already_inactive", account = account)));
            }
            target.active = false;
            store_account(state, &target);
            Ok(Ok(vec![Event::Identity(
                civitas_core::event::IdentityEvent::AccountDeactivated {
                    account: target.id,
                    reason: reason.clone(),
                    by: signer.id,
                },
            )]))
        }
    }
}

/// Replaces an account's keys and threshold, keeping the key index in step.
fn replace_keys<S: StateView>(
    account: &mut Account,
    keys: Vec<PublicKey>,
    threshold: u8,
    state: &mut Overlay<'_, S>,
) {
    for old in &account.keys {
        if !keys.contains(old) {
            state.delete(&key_index_key(old));
        }
    }
    for key in &keys {
        state.put_typed(&key_index_key(key), &account.id);
    }
    account.keys = keys;
    account.threshold = threshold;
    store_account(state, account);
}

/// Whether the official who started `pending` would still be allowed to start it now.
async fn starter_may_recover<S: StateView>(
    ctx: &TxContext<'_>,
    pending: &Recovery,
    target: &Account,
    state: &mut Overlay<'_, S>,
) -> Result<bool, BlockError> {
    let Some(starter) = load_account(state, &pending.by).await? else {
        return Ok(false);
    };
    if !starter.active
        || load_agency(state, &starter.agency)
            .await?
            .is_none_or(|agency| !agency.in_force())
    {
        return Ok(false);
    }
    let policies = civitas_kit::authz::load_active(state).await?;
    let question = civitas_kit::authz::Question {
        basis: None,
        principal: &starter,
        cosigners: &[],
        action: "identity.recover_key",
        resource: civitas_kit::authz::Resource::Account(target.clone()),
        params: vec![(
            "delay_hours",
            civitas_kit::authz::Param::Long(i64::from(pending.delay_hours)),
        )],
    };
    Ok(civitas_kit::authz::decide(&policies, ctx.env, &question).is_ok())
}

/// The holder showed it still has the account's keys (it rotated or replaced them): a recovery
/// under way is cancelled, by the account itself.
async fn holder_cancels_recovery<S: StateView>(
    account: &AccountId,
    state: &mut Overlay<'_, S>,
) -> Result<Option<Event>, BlockError> {
    cancel_recovery(account, account, state).await
}

/// Cancels the recovery under way of `account`, by `by`: its record and the reservation of
/// its new key go; gives the event, or `None` if none was under way.
async fn cancel_recovery<S: StateView>(
    account: &AccountId,
    by: &AccountId,
    state: &mut Overlay<'_, S>,
) -> Result<Option<Event>, BlockError> {
    let Some(pending) = state.get_typed::<Recovery>(&recovery_key(account)).await? else {
        return Ok(None);
    };
    state.delete(&recovery_key(account));
    state.delete(&reserved_key_key(&pending.new_key));
    Ok(Some(Event::Identity(
        civitas_core::event::IdentityEvent::RecoveryCancelled {
            account: *account,
            new_key: pending.new_key,
            by: *by,
        },
    )))
}

fn unknown(account: &AccountId) -> Failure {
    failure!("unknown_account", account = account)
}

async fn check_key_free<S: StateView>(
    key: &PublicKey,
    state: &mut Overlay<'_, S>,
) -> Result<Result<(), Failure>, BlockError> {
    if !key_free(key, state).await? {
        return Ok(Err(failure!("key_in_use", key = key)));
    }
    Ok(Ok(()))
}

async fn register<S: StateView>(
    _ctx: &TxContext<'_>,
    signer: &Account,
    account: Account,
    state: &mut Overlay<'_, S>,
) -> Result<Result<Vec<Event>, Failure>, BlockError> {
    for key in &account.keys {
        if let Err(failure) = check_key_free(key, state).await? {
            return Ok(Err(failure));
        }
        state.put_typed(&key_index_key(key), &account.id);
    }
    store_account(state, &account);
    Ok(Ok(vec![Event::Identity(
        civitas_core::event::IdentityEvent::AccountRegistered {
            account: account.id,
            kind: account.kind,
            agency: account.agency,
            roles: account.roles,
            by: signer.id,
        },
    )]))
}
