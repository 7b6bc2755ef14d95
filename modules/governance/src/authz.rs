//! What governance's instructions ask the policies: the resource is the `Proposal` (as it
//! would be opened, for a proposal), with its kind, the proposer's agency and whether it is
//! still open.

use crate::state::{Proposal, ProposalStatus, load_config, proposal_key};
use civitas_core::governance::GovernanceInstruction;
use civitas_core::identity::Account;
use civitas_identity::state::load_account;
use civitas_kit::authz::{Attr, Question, Resource};
use civitas_kit::{Outcome, Overlay, StateView, fail};

fn proposal(number: u64, kind: &str, agency: String, open: bool) -> Resource {
    Resource::Entity {
        type_name: "Proposal",
        id: number.to_string(),
        attrs: vec![
            ("number", Attr::Long(number)),
            ("kind", Attr::String(kind.to_string())),
            ("agency", Attr::String(agency)),
            ("open", Attr::Bool(open)),
        ],
    }
}

/// The question a governance instruction asks.
pub async fn question<'a, S: StateView>(
    principal: &'a Account,
    cosigners: &'a [Account],
    op: &GovernanceInstruction,
    state: &mut Overlay<'_, S>,
) -> Outcome<Question<'a>> {
    let resource = match op {
        GovernanceInstruction::Propose { action, .. } => proposal(
            load_config(state).await?.next_proposal,
            action.kind(),
            principal.agency.clone(),
            true,
        ),
        GovernanceInstruction::Approve { proposal: number } => {
            let Some(record) = state.get_typed::<Proposal>(&proposal_key(*number)).await? else {
                fail!("unknown_proposal", proposal = number);
            };
            let agency = load_account(state, &record.proposer)
                .await?
                .map(|a| a.agency)
                .unwrap_or_default();
            proposal(
                record.id,
                record.action.kind(),
                agency,
                record.status == ProposalStatus::Open,
            )
        }
    };
    Ok(Ok(Question {
        basis: None,
        principal,
        cosigners,
        action: op.name(),
        resource,
        params: Vec::new(),
    }))
}
