//! What each instruction asks the policies: the record it touches, its parameters, and who
//! co-signed.
//!
//! Records that an instruction creates are presented as they would be created, so a policy
//! can look at the new account's agency and roles or the new document's agency. An instruction
//! whose target does not exist fails here, before any policy is asked.

use super::{Param, Question, Resource};
use crate::governance::state::{Proposal, ProposalStatus, load_config, proposal_key};
use crate::identity::state::{Account, key_index_key, load_account};
use crate::notary::state::load_document;
use civitas_core::crypto::{AccountId, PublicKey};
use civitas_core::event::AccountKind;
use civitas_core::instruction::{
    GovernanceInstruction, IdentityInstruction, Instruction, NotaryInstruction,
};
use civitas_exec::{BlockError, Failure, Overlay, TxContext};
use civitas_state::StateView;
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
            accounts.push(account);
        }
    }
    Ok(accounts)
}

fn unknown_account(account: &AccountId) -> Failure {
    Failure::new(
        "unknown_account",
        format!("account {account} does not exist"),
    )
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

/// The question `instruction` asks, or why it cannot be asked (its target does not exist).
pub async fn question<'a, S: StateView>(
    ctx: &TxContext<'_>,
    principal: &'a Account,
    cosigners: &'a [Account],
    instruction: &Instruction,
    state: &mut Overlay<'_, S>,
) -> Result<Result<Question<'a>, Failure>, BlockError> {
    let mut params = Vec::new();
    let resource = match instruction {
        Instruction::Identity(op) => match op {
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
            IdentityInstruction::RotateKey { .. } => Resource::Account(principal.clone()),
            IdentityInstruction::SetKeys { keys, threshold } => {
                params.push(("keys", Param::Long(keys.len() as i64)));
                params.push(("threshold", Param::Long(i64::from(*threshold))));
                Resource::Account(principal.clone())
            }
        },
        Instruction::Notary(op) => match op {
            NotaryInstruction::Anchor { document, .. } => Resource::Document {
                id: document.to_hex(),
                agency: principal.agency.clone(),
                revoked: false,
            },
            NotaryInstruction::Revoke { document, .. } => {
                match load_document(state, document).await? {
                    Some(record) => Resource::Document {
                        id: document.to_hex(),
                        agency: record.agency,
                        revoked: record.revocation.is_some(),
                    },
                    None => {
                        return Ok(Err(Failure::new(
                            "unknown_document",
                            format!("document {document} was never anchored"),
                        )));
                    }
                }
            }
        },
        Instruction::Governance(op) => match op {
            GovernanceInstruction::Propose { action, .. } => Resource::Proposal {
                number: load_config(state).await?.next_proposal,
                kind: action.kind(),
                agency: principal.agency.clone(),
                open: true,
            },
            GovernanceInstruction::Approve { proposal } => {
                let Some(record) = state
                    .get_typed::<Proposal>(&proposal_key(*proposal))
                    .await?
                else {
                    return Ok(Err(Failure::new(
                        "unknown_proposal",
                        format!("proposal {proposal} does not exist"),
                    )));
                };
                let agency = load_account(state, &record.proposer)
                    .await?
                    .map(|a| a.agency)
                    .unwrap_or_default();
                Resource::Proposal {
                    number: record.id,
                    kind: record.action.kind(),
                    agency,
                    open: record.status == ProposalStatus::Open,
                }
            }
        },
    };
    Ok(Ok(Question {
        principal,
        cosigners,
        action: instruction.name(),
        resource,
        params,
    }))
}
