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
    ProcurementInstruction, TreasuryInstruction,
};
use civitas_core::money::Money;
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
            // An official of a retired agency no longer signs, as a co-signer either.
            if account.kind == civitas_core::event::AccountKind::Official
                && crate::identity::state::load_agency(state, &account.agency)
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
    civitas_exec::failure!("unknown_account", account = account)
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
                        return Ok(Err(civitas_exec::failure!(
                            "unknown_document",
                            document = document
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
                    return Ok(Err(civitas_exec::failure!(
                        "unknown_proposal",
                        proposal = proposal
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
        Instruction::Treasury(op) => {
            match treasury_resource(principal, op, &mut params, state).await? {
                Ok(resource) => resource,
                Err(failure) => return Ok(Err(failure)),
            }
        }
        Instruction::Procurement(op) => {
            match procurement_resource(principal, op, &mut params, state).await? {
                Ok(resource) => resource,
                Err(failure) => return Ok(Err(failure)),
            }
        }
    };
    Ok(Ok(Question {
        principal,
        cosigners,
        action: instruction.name(),
        resource,
        params,
    }))
}

fn record(kind: &'static str, id: impl ToString, agency: &str) -> Resource {
    Resource::Record {
        kind,
        id: id.to_string(),
        agency: agency.to_string(),
    }
}

fn amount_param(params: &mut Vec<(&'static str, Param)>, money: &Money) {
    params.push((
        "amount",
        Param::Long(i64::try_from(money.amount).unwrap_or(i64::MAX)),
    ));
}

/// Treasury records are presented with their agency; money-moving instructions carry
/// `context.amount` (minor units) so a policy can ask for more signers above a threshold.
async fn treasury_resource<S: StateView>(
    principal: &Account,
    op: &TreasuryInstruction,
    params: &mut Vec<(&'static str, Param)>,
    state: &mut Overlay<'_, S>,
) -> Result<Result<Resource, Failure>, BlockError> {
    use crate::treasury::handler::{load_appropriation, load_commitment, load_payment};
    Ok(Ok(match op {
        TreasuryInstruction::OpenYear { year, .. } | TreasuryInstruction::CloseYear { year } => {
            record("fiscal_year", year, "")
        }
        TreasuryInstruction::RegisterVendor { account, .. } => {
            record("vendor", account.to_hex(), &principal.agency)
        }
        TreasuryInstruction::Appropriate { agency, amount, .. } => {
            amount_param(params, amount);
            record("appropriation", "new", agency)
        }
        TreasuryInstruction::AdjustAppropriation {
            appropriation,
            amount,
            ..
        }
        | TreasuryInstruction::Allot {
            appropriation,
            amount,
            ..
        }
        | TreasuryInstruction::Commit {
            appropriation,
            amount,
            ..
        } => {
            amount_param(params, amount);
            match load_appropriation(state, *appropriation).await? {
                Ok(a) => record("appropriation", a.id, &a.agency),
                Err(failure) => return Ok(Err(failure)),
            }
        }
        TreasuryInstruction::AdjustCommitment {
            commitment, amount, ..
        }
        | TreasuryInstruction::Pay {
            commitment, amount, ..
        } => {
            amount_param(params, amount);
            match load_commitment(state, *commitment).await? {
                Ok(c) => record("commitment", c.id, &c.agency),
                Err(failure) => return Ok(Err(failure)),
            }
        }
        TreasuryInstruction::ReversePayment { payment, .. } => {
            match load_payment(state, *payment).await? {
                Ok(p) => {
                    amount_param(params, &p.amount);
                    record("payment", p.id, &p.agency)
                }
                Err(failure) => return Ok(Err(failure)),
            }
        }
    }))
}

/// Procurement records are presented with the buying agency; a plan carries its estimate and
/// an accepted milestone its amount as `context.amount`.
async fn procurement_resource<S: StateView>(
    principal: &Account,
    op: &ProcurementInstruction,
    params: &mut Vec<(&'static str, Param)>,
    state: &mut Overlay<'_, S>,
) -> Result<Result<Resource, Failure>, BlockError> {
    use crate::procurement::handler::{load_contract, load_tender};
    use crate::treasury::handler::load_appropriation;
    Ok(Ok(match op {
        ProcurementInstruction::Plan {
            appropriation,
            estimated,
            ..
        } => {
            amount_param(params, estimated);
            match load_appropriation(state, *appropriation).await? {
                Ok(a) => record("tender", "new", &a.agency),
                Err(failure) => return Ok(Err(failure)),
            }
        }
        ProcurementInstruction::Publish { tender, .. }
        | ProcurementInstruction::Clarify { tender, .. }
        | ProcurementInstruction::Bid { tender, .. }
        | ProcurementInstruction::Open { tender, .. }
        | ProcurementInstruction::Evaluate { tender, .. }
        | ProcurementInstruction::Award { tender, .. }
        | ProcurementInstruction::Complain { tender, .. }
        | ProcurementInstruction::Sign { tender, .. }
        | ProcurementInstruction::Cancel { tender, .. } => {
            match load_tender(state, *tender).await? {
                Ok(t) => record("tender", t.id, &t.agency),
                Err(failure) => return Ok(Err(failure)),
            }
        }
        ProcurementInstruction::Accept {
            contract,
            milestone,
            ..
        } => match load_contract(state, *contract).await? {
            Ok(c) => {
                if let Some(m) = c.milestones.get(usize::from(*milestone)) {
                    amount_param(params, &m.terms.amount);
                } else {
                    params.push(("amount", Param::Long(0)));
                }
                record("contract", c.id, &c.agency)
            }
            Err(failure) => return Ok(Err(failure)),
        },
        ProcurementInstruction::ImportRelease { ocid, .. } => {
            record("imported_process", ocid, &principal.agency)
        }
        ProcurementInstruction::Amend { contract, .. } => {
            match load_contract(state, *contract).await? {
                Ok(c) => record("contract", c.id, &c.agency),
                Err(failure) => return Ok(Err(failure)),
            }
        }
    }))
}
