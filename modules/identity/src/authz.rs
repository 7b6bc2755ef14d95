//! What identity's instructions ask the policies, who co-signed a transaction, and the
//! decision on a signed read of a record that is not public.
//!
//! An account being registered is presented as it would be created, so a policy can look at
//! the new account's agency and roles. An instruction naming an account that does not exist
//! fails here, before any policy is asked.

use crate::state::{Account, key_index_key, load_account, load_agency};
use civitas_core::crypto::{AccountId, PublicKey};
use civitas_core::event::AccountKind;
use civitas_core::identity::IdentityInstruction;
use civitas_core::kit::Operations as _;
use civitas_kit::authz::{Param, Question, Resource, decide, load_active};
use civitas_kit::{BlockEnv, BlockError, Failure, Outcome, Overlay, StateView, TxContext};
use std::collections::BTreeMap;

/// The accounts other than `principal` whose keys signed the transaction, each at least its
/// own threshold of keys and active, in account-id order.
pub async fn cosigners<S: StateView>(
    signing_keys: &[&PublicKey],
    principal: &Account,
    state: &mut Overlay<'_, S>,
) -> Result<Vec<Account>, BlockError> {
    let mut counts: BTreeMap<AccountId, u32> = BTreeMap::new();
    for key in signing_keys {
        if principal.keys.contains(key) {
            continue;
        }
        if let Some(id) = state.get_typed::<AccountId>(&key_index_key(key)).await? {
            *counts.entry(id).or_insert(0) += 1;
        }
    }
    let mut accounts = Vec::new();
    for (id, signed) in counts {
        if id == principal.id {
            continue;
        }
        if let Some(account) = load_account(state, &id).await?
            && account.active
            && signed >= u32::from(account.threshold)
        {
            // An official of a retired agency no longer signs, as a co-signer either.
            if account.kind == AccountKind::Official
                && load_agency(state, &account.agency)
                    .await?
                    .is_some_and(|a| !a.in_force())
            {
                continue;
            }
            accounts.push(account);
        }
    }
    Ok(accounts)
}

fn unknown_account(account: &AccountId) -> Failure {
    civitas_kit::failure!("unknown_account", account = account)
}

fn new_account(
    ctx: &TxContext<'_>,
    principal: &Account,
    key: &PublicKey,
    kind: AccountKind,
    agency: &str,
    roles: &[String],
) -> Account {
    Account {
        id: key.account_id(),
        kind,
        agency: agency.to_string(),
        name: String::new(),
        roles: roles.to_vec(),
        keys: vec![key.clone()],
        threshold: 1,
        active: true,
        registered_height: ctx.env.height,
        registered_by: principal.id,
    }
}

/// The question an identity instruction asks: the resource is the account concerned.
pub async fn question<'a, S: StateView>(
    ctx: &TxContext<'_>,
    principal: &'a Account,
    cosigners: &'a [Account],
    op: &IdentityInstruction,
    state: &mut Overlay<'_, S>,
) -> Outcome<Question<'a>> {
    let mut params = Vec::new();
    let resource = match op {
        IdentityInstruction::RegisterOfficial {
            key, agency, roles, ..
        } => Resource::Account(new_account(
            ctx,
            principal,
            key,
            AccountKind::Official,
            agency,
            roles,
        )),
        IdentityInstruction::RegisterCitizen { key } => Resource::Account(new_account(
            ctx,
            principal,
            key,
            AccountKind::Citizen,
            "",
            &[],
        )),
        IdentityInstruction::SetRoles { account, roles } => {
            params.push(("roles", Param::Strings(roles.clone())));
            match load_account(state, account).await? {
                Some(target) => Resource::Account(target),
                None => return Ok(Err(unknown_account(account))),
            }
        }
        IdentityInstruction::Deactivate { account, .. } => {
            match load_account(state, account).await? {
                Some(target) => Resource::Account(target),
                None => return Ok(Err(unknown_account(account))),
            }
        }
        IdentityInstruction::RotateKey { .. } | IdentityInstruction::SetEncryptionKey { .. } => {
            Resource::Account(principal.clone())
        }
        IdentityInstruction::RecoverKey {
            account,
            delay_hours,
            ..
        } => {
            params.push(("delay_hours", Param::Long(i64::from(*delay_hours))));
            match load_account(state, account).await? {
                Some(target) => Resource::Account(target),
                None => return Ok(Err(unknown_account(account))),
            }
        }
        IdentityInstruction::CancelRecovery { account }
        | IdentityInstruction::CompleteRecovery { account } => {
            match load_account(state, account).await? {
                Some(target) => Resource::Account(target),
                None => return Ok(Err(unknown_account(account))),
            }
        }
        IdentityInstruction::SetKeys { keys, threshold } => {
            params.push(("keys", Param::Long(keys.len() as i64)));
            params.push(("threshold", Param::Long(i64::from(*threshold))));
            Resource::Account(principal.clone())
        }
    };
    Ok(Ok(Question {
        basis: None,
        principal,
        cosigners,
        action: op.name(),
        resource,
        params,
    }))
}

/// Who asks for a non-public record: the account and the keys that signed the request (already
/// verified).
pub struct Reader<'a> {
    /// The account asking.
    pub account: &'a AccountId,
    /// The keys whose signatures verified.
    pub signing_keys: &'a [&'a PublicKey],
}

/// Decides a read of a non-public record by the policies in force, as an instruction would be
/// decided: the reader must be an active account whose threshold of keys signed; other
/// accounts whose keys signed are co-signers. `env` is the latest finalized block (its time
/// and height go into the context).
pub async fn authorize_read<S: StateView>(
    state: &mut Overlay<'_, S>,
    env: &BlockEnv,
    reader: &Reader<'_>,
    action: &str,
    resource: Resource,
) -> Outcome<()> {
    let account = match crate::handler::signing_account(
        state,
        reader.account,
        reader.signing_keys,
        "request",
    )
    .await?
    {
        Ok(account) => account,
        Err(refusal) => {
            return Ok(Err(Failure::new(
                refusal.code,
                vec![("detail", refusal.message)],
            )));
        }
    };
    let cosigners = cosigners(reader.signing_keys, &account, state).await?;
    let compiled = load_active(state).await?;
    let question = Question {
        basis: None,
        principal: &account,
        cosigners: &cosigners,
        action,
        resource,
        params: Vec::new(),
    };
    Ok(decide(&compiled, env, &question))
}
