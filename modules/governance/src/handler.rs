//! Governance handlers and the end-of-epoch hand-over record.

use crate::state::{
    Epochs, GovernanceConfig, Proposal, ProposalStatus, config_key, epoch_key, handovers_key,
    load_config, load_next_validators, load_protocol, next_validators_key, proposal_key,
    protocol_key,
};
use civitas_core::crypto::{AccountId, PublicKey};
use civitas_core::event::Event;
use civitas_core::genesis::Genesis;
use civitas_core::governance::{
    GovernanceAction, GovernanceInstruction, ProtocolSchedule, Upgrade, ValidatorEntry,
    ValidatorSet,
};
use civitas_core::limits::{AGENCIES_MAX, VALIDATORS_MAX};
use civitas_identity::handler::{agency_in_force, key_free, record_agency};
use civitas_identity::state::{
    Account, Agency, account_key, agency_key, key_index_key, load_agency,
};
use civitas_kit::StateView;
use civitas_kit::authz;
use civitas_kit::{BlockEnv, BlockError, Failure, Overlay, TxContext, failure};

/// The genesis validator set with each validator's agency and address.
pub fn genesis_validators(genesis: &Genesis) -> ValidatorSet {
    let mut set = ValidatorSet::default();
    for agency in &genesis.agencies {
        set.insert(ValidatorEntry {
            key: agency.validator_key.clone(),
            agency: agency.id.clone(),
            p2p_address: agency.p2p_address.clone(),
        });
    }
    set
}

/// Records the settings, the genesis validators as epoch 0's set and as the next epoch's, and
/// the protocol version the chain starts at when it is not 1 (a chain of version 1 has no
/// record until its first upgrade, as before protocol versions).
pub async fn genesis<S: StateView>(
    genesis: &Genesis,
    state: &mut Overlay<'_, S>,
) -> Result<(), BlockError> {
    let mut agencies: Vec<String> = genesis.agencies.iter().map(|a| a.id.clone()).collect();
    agencies.sort();
    state.put_typed(
        &config_key(),
        &GovernanceConfig {
            threshold: genesis.governance_threshold,
            next_proposal: 1,
            agencies,
        },
    );
    let set = genesis_validators(genesis);
    state.put_typed(&epoch_key(0), &set);
    state.put_typed(&next_validators_key(), &set);
    state.put_typed(&handovers_key(), &Epochs::default());
    if genesis.protocol != 1 {
        state.put_typed(
            &protocol_key(),
            &ProtocolSchedule::starting(genesis.protocol),
        );
    }
    Ok(())
}

/// At the last block of an epoch, fixes the next epoch's validator set: the block's state then
/// proves it, and its finalization hands consensus over.
pub async fn end_block<S: StateView>(
    env: &BlockEnv,
    state: &mut Overlay<'_, S>,
) -> Result<(), BlockError> {
    let genesis = &env.genesis;
    let epoch = genesis.epoch_of(env.height);
    if env.height != genesis.last_height_of(epoch) {
        return Ok(());
    }
    let next = load_next_validators(state).await?;
    let current: Option<ValidatorSet> = state.get_typed(&epoch_key(epoch)).await?;
    if current.as_ref() != Some(&next) {
        let mut handovers: Epochs = state.get_typed(&handovers_key()).await?.unwrap_or_default();
        handovers.0.push(epoch + 1);
        state.put_typed(&handovers_key(), &handovers);
    }
    state.put_typed(&epoch_key(epoch + 1), &next);
    Ok(())
}

/// Applies a governance instruction the policy has authorized for `signer` (an agency admin).
pub async fn apply<S: StateView>(
    ctx: &TxContext<'_>,
    signer: &Account,
    op: &GovernanceInstruction,
    state: &mut Overlay<'_, S>,
) -> Result<Result<Vec<Event>, Failure>, BlockError> {
    let mut config = load_config(state).await?;
    let agency = signer.agency.clone();
    match op {
        GovernanceInstruction::Propose { action, reason } => {
            // Check what can be checked now, so a proposal that could never pass is refused.
            if let Err(failure) = check_action(action, Stage::Propose, ctx.env, state).await? {
                return Ok(Err(failure));
            }
            // A joining agency's admin keys are reserved while the vote runs, so that nobody
            // can take one of them (and make the proposal fail) in the meantime.
            if let GovernanceAction::AddAgency { admin_keys, .. } = action {
                for key in admin_keys {
                    state.put_typed(&key_index_key(key), &key.account_id());
                }
            }
            let id = config.next_proposal;
            config.next_proposal += 1;
            state.put_typed(&config_key(), &config);
            let proposal = Proposal {
                id,
                action: action.clone(),
                reason: reason.clone(),
                proposer: signer.id,
                opened_height: ctx.env.height,
                approvals: vec![agency.clone()],
                status: ProposalStatus::Open,
            };
            let mut events = vec![Event::Governance(
                civitas_core::event::GovernanceEvent::ProposalOpened {
                    proposal: id,
                    action: action.clone(),
                    by: signer.id,
                    agency,
                },
            )];
            conclude(ctx, proposal, &config, state, &mut events).await
        }
        GovernanceInstruction::Approve { proposal: id } => {
            let Some(mut proposal) = state.get_typed::<Proposal>(&proposal_key(*id)).await? else {
                return Ok(Err(failure!("unknown_proposal", proposal = id)));
            };
            if proposal.status != ProposalStatus::Open {
                return Ok(Err(failure!("proposal_closed", proposal = id)));
            }
            // Approvals of agencies that have retired no longer count: dropped here, so the
            // list stays within the agencies in force (APPROVALS_MAX) however many come and go.
            proposal.approvals.retain(|a| config.in_force(a));
            match proposal.approvals.binary_search(&agency) {
                // Enough approvals with none left to give (the threshold was lowered or an
                // agency retired since): an approving agency's admin executes it.
                Ok(_) if config.counted(&proposal.approvals) >= config.threshold => {
                    return conclude(ctx, proposal, &config, state, &mut Vec::new()).await;
                }
                Ok(_) => {
                    return Ok(Err(failure!(
                        "already_approved",
                        agency = agency,
                        proposal = id
                    )));
                }
                Err(at) => proposal.approvals.insert(at, agency.clone()),
            }
            let mut events = vec![Event::Governance(
                civitas_core::event::GovernanceEvent::ProposalApproved {
                    proposal: *id,
                    agency,
                    by: signer.id,
                    approvals: config.counted(&proposal.approvals),
                    threshold: config.threshold,
                },
            )];
            conclude(ctx, proposal, &config, state, &mut events).await
        }
    }
}

/// Stores the proposal, executing it first if enough agencies in force have approved it.
async fn conclude<S: StateView>(
    ctx: &TxContext<'_>,
    mut proposal: Proposal,
    config: &GovernanceConfig,
    state: &mut Overlay<'_, S>,
    events: &mut Vec<Event>,
) -> Result<Result<Vec<Event>, Failure>, BlockError> {
    if config.counted(&proposal.approvals) >= config.threshold {
        let (effective_epoch, scheduled) = match execute(ctx.env, &proposal, state).await? {
            Ok(outcome) => outcome,
            Err(failure) => return Ok(Err(failure)),
        };
        proposal.status = ProposalStatus::Executed {
            height: ctx.env.height,
        };
        events.push(Event::Governance(
            civitas_core::event::GovernanceEvent::ProposalExecuted {
                proposal: proposal.id,
                action: proposal.action.clone(),
                effective_epoch,
            },
        ));
        events.extend(scheduled);
    }
    state.put_typed(&proposal_key(proposal.id), &proposal);
    Ok(Ok(std::mem::take(events)))
}

/// When an action is checked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// As it is proposed.
    Propose,
    /// As it executes (state may have changed since it was proposed).
    Execute,
}

/// Whether `key` may be a joining agency's admin key: unused, or (as the proposal executes)
/// reserved by it: indexed to the account it will create, which does not exist yet.
async fn admin_key_available<S: StateView>(
    key: &PublicKey,
    stage: Stage,
    state: &mut Overlay<'_, S>,
) -> Result<bool, BlockError> {
    if key_free(key, state).await? {
        return Ok(true);
    }
    let id = key.account_id();
    Ok(stage == Stage::Execute
        && state.get_typed::<AccountId>(&key_index_key(key)).await? == Some(id)
        && !state.contains(&account_key(&id)).await?)
}

/// Checks that `action` can take effect in the current state; for a policy change, returns the
/// checked policy set it would put in force.
async fn check_action<S: StateView>(
    action: &GovernanceAction,
    stage: Stage,
    env: &BlockEnv,
    state: &mut Overlay<'_, S>,
) -> Result<Result<Option<authz::PolicySetRecord>, Failure>, BlockError> {
    let height = env.height;
    let next = load_next_validators(state).await?;
    let config = load_config(state).await?;
    let checked = match action {
        GovernanceAction::AddValidator { agency, key, .. } => {
            match agency_in_force(state, agency).await? {
                Err(failure) => Err(failure),
                Ok(_) => check_new_validator(&next, key),
            }
        }
        GovernanceAction::AddAgency {
            id,
            admin_keys,
            validator,
            ..
        } => 'check: {
            if config.agencies.len() >= AGENCIES_MAX {
                break 'check Err(failure!("too_many_agencies", agencies_max = AGENCIES_MAX));
            }
            // A retired agency's record stays, so its id is never given again.
            if state.contains(&agency_key(id)).await? {
                break 'check Err(failure!("agency_exists", agency = id));
            }
            for key in admin_keys {
                if !admin_key_available(key, stage, state).await? {
                    break 'check Err(failure!("key_in_use", key = key));
                }
            }
            match validator {
                Some(validator) => check_new_validator(&next, &validator.key),
                None => Ok(()),
            }
        }
        GovernanceAction::RetireAgency { id } => match agency_in_force(state, id).await? {
            Err(failure) => Err(failure),
            Ok(_) => {
                let remaining = (config.agencies.len() as u32).saturating_sub(1);
                if remaining < config.threshold {
                    Err(failure!(
                        "bad_threshold",
                        agency = id,
                        agencies = remaining,
                        threshold = config.threshold
                    ))
                } else if next.validators.iter().all(|v| &v.agency == id) {
                    Err(failure!("last_validator", agency = id))
                } else {
                    Ok(())
                }
            }
        },
        GovernanceAction::RenameAgency { id, .. } => agency_in_force(state, id).await?.map(|_| ()),
        GovernanceAction::ScheduleUpgrade {
            version,
            height: at,
            ..
        } => {
            // One version at a time: versions are numbered without gaps, and a release knows
            // them in order, so skipping one would stop every node.
            let schedule = load_protocol(state, env.genesis.protocol)
                .await?
                .settled(height);
            let next = schedule.active.saturating_add(1);
            if *version != next {
                Err(failure!(
                    "bad_upgrade",
                    problem = "version",
                    version = version,
                    active = schedule.active,
                    next = next
                ))
            } else if *at <= height {
                Err(failure!(
                    "bad_upgrade",
                    problem = "height",
                    at = at,
                    height = height
                ))
            } else {
                Ok(())
            }
        }
        GovernanceAction::RemoveValidator { key } => {
            if !next.contains(key) {
                Err(failure!("not_validator", key = key))
            } else if next.validators.len() == 1 {
                Err(failure!("last_validator"))
            } else {
                Ok(())
            }
        }
        GovernanceAction::SetThreshold { threshold } => {
            let agencies = config.agencies.len() as u32;
            if *threshold == 0 || *threshold > agencies {
                Err(failure!("bad_threshold", agencies = agencies))
            } else {
                Ok(())
            }
        }
        GovernanceAction::SetPolicy { policy } => {
            let edit = |record: &mut authz::PolicySetRecord| match authz::parse_policy(policy) {
                Ok(entry) => {
                    record.upsert(entry);
                    Ok(())
                }
                Err(e) => Err(e.failure()),
            };
            return Ok(edit_policies(state, edit).await?.map(Some));
        }
        GovernanceAction::RemovePolicy { id } => {
            let edit = |record: &mut authz::PolicySetRecord| {
                if record.remove(id) {
                    Ok(())
                } else {
                    Err(failure!("unknown_policy", policy = id))
                }
            };
            return Ok(edit_policies(state, edit).await?.map(Some));
        }
    };
    Ok(checked.map(|()| None))
}

/// Checks that `key` can join the next epoch's set.
fn check_new_validator(next: &ValidatorSet, key: &PublicKey) -> Result<(), Failure> {
    if next.contains(key) {
        Err(failure!("already_validator", key = key))
    } else if next.validators.len() >= VALIDATORS_MAX {
        Err(failure!(
            "too_many_validators",
            validators_max = VALIDATORS_MAX
        ))
    } else {
        Ok(())
    }
}

/// The latest policy set (in force or approved for the next block) with `edit` applied,
/// checked against the chain's schema.
async fn edit_policies<S: StateView>(
    state: &mut Overlay<'_, S>,
    edit: impl FnOnce(&mut authz::PolicySetRecord) -> Result<(), Failure>,
) -> Result<Result<authz::PolicySetRecord, Failure>, BlockError> {
    let mut record = authz::load_latest(state).await?;
    if let Err(failure) = edit(&mut record) {
        return Ok(Err(failure));
    }
    let schema = authz::load_schema(state).await?;
    if let Err(e) = authz::compile(&schema, &record.policies) {
        return Ok(Err(e.failure()));
    }
    Ok(Ok(record))
}

/// Makes an approved proposal take effect; returns the epoch a validator change applies from
/// (0 when no validator changes) and the events of what it did besides (a policy change
/// scheduled, a joining agency's admin accounts registered).
async fn execute<S: StateView>(
    env: &BlockEnv,
    approved: &Proposal,
    state: &mut Overlay<'_, S>,
) -> Result<Result<(u64, Vec<Event>), Failure>, BlockError> {
    let (proposal, action) = (approved.id, &approved.action);
    let checked = match check_action(action, Stage::Execute, env, state).await? {
        Ok(checked) => checked,
        Err(failure) => return Ok(Err(failure)),
    };
    let effective = env.genesis.epoch_of(env.height) + 1;
    match action {
        GovernanceAction::AddValidator {
            agency,
            key,
            p2p_address,
        } => {
            let mut next = load_next_validators(state).await?;
            next.insert(ValidatorEntry {
                key: key.clone(),
                agency: agency.clone(),
                p2p_address: p2p_address.clone(),
            });
            state.put_typed(&next_validators_key(), &next);
            Ok(Ok((effective, Vec::new())))
        }
        GovernanceAction::RemoveValidator { key } => {
            let mut next = load_next_validators(state).await?;
            next.remove(key);
            state.put_typed(&next_validators_key(), &next);
            Ok(Ok((effective, Vec::new())))
        }
        GovernanceAction::SetThreshold { threshold } => {
            let mut config = load_config(state).await?;
            config.threshold = *threshold;
            state.put_typed(&config_key(), &config);
            Ok(Ok((0, Vec::new())))
        }
        GovernanceAction::AddAgency {
            id,
            name,
            admin_keys,
            validator,
        } => {
            let agency = Agency {
                id: id.clone(),
                name: name.clone(),
                joined_height: env.height,
                retired_height: None,
            };
            // The admins are registered by the proposal's author.
            let admins = admin_keys.iter().map(|k| (k.clone(), approved.proposer));
            let events = record_agency(state, &agency, admins)
                .into_iter()
                .map(|account| {
                    Event::Identity(civitas_core::event::IdentityEvent::AccountRegistered {
                        account: account.id,
                        kind: account.kind,
                        agency: account.agency,
                        roles: account.roles,
                        by: approved.proposer,
                    })
                })
                .collect();
            let mut config = load_config(state).await?;
            let at = config.agencies.partition_point(|a| a < id);
            config.agencies.insert(at, id.clone());
            state.put_typed(&config_key(), &config);
            let Some(validator) = validator else {
                return Ok(Ok((0, events)));
            };
            let mut next = load_next_validators(state).await?;
            next.insert(ValidatorEntry {
                key: validator.key.clone(),
                agency: id.clone(),
                p2p_address: validator.p2p_address.clone(),
            });
            state.put_typed(&next_validators_key(), &next);
            Ok(Ok((effective, events)))
        }
        GovernanceAction::RetireAgency { id } => {
            let Some(mut agency) = load_agency(state, id).await? else {
                return Ok(Err(failure!("unknown_agency", agency = id)));
            };
            agency.retired_height = Some(env.height);
            state.put_typed(&agency_key(id), &agency);
            let mut config = load_config(state).await?;
            config.agencies.retain(|a| a != id);
            state.put_typed(&config_key(), &config);
            let mut next = load_next_validators(state).await?;
            let before = next.validators.len();
            next.validators.retain(|v| &v.agency != id);
            if next.validators.len() == before {
                return Ok(Ok((0, Vec::new())));
            }
            state.put_typed(&next_validators_key(), &next);
            Ok(Ok((effective, Vec::new())))
        }
        GovernanceAction::RenameAgency { id, name } => {
            let Some(mut agency) = load_agency(state, id).await? else {
                return Ok(Err(failure!("unknown_agency", agency = id)));
            };
            agency.name = name.clone();
            state.put_typed(&agency_key(id), &agency);
            Ok(Ok((0, Vec::new())))
        }
        GovernanceAction::ScheduleUpgrade {
            version,
            height,
            release,
        } => {
            // An upgrade scheduled earlier that has not activated is replaced.
            let mut schedule = load_protocol(state, env.genesis.protocol)
                .await?
                .settled(env.height);
            schedule.next = Some(Upgrade {
                version: *version,
                height: *height,
                release: release.clone(),
                proposal,
            });
            state.put_typed(&protocol_key(), &schedule);
            Ok(Ok((0, Vec::new())))
        }
        GovernanceAction::SetPolicy { .. } | GovernanceAction::RemovePolicy { .. } => {
            // check_action returned the checked set for a policy change.
            let Some(mut record) = checked else {
                return Ok(Err(failure!("invalid_policy", problem = "unchecked")));
            };
            // Changes approved in the same block join one new version, in force from the
            // next block.
            if record.effective_height != env.height + 1 {
                record.version = authz::load_head(state).await?.version + 1;
                record.effective_height = env.height + 1;
            }
            record.proposal = proposal;
            authz::put_pending(state, &record);
            Ok(Ok((
                0,
                vec![Event::Governance(
                    civitas_core::event::GovernanceEvent::PoliciesScheduled {
                        proposal,
                        version: record.version,
                        effective_height: record.effective_height,
                    },
                )],
            )))
        }
    }
}
