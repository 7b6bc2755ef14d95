//! What procurement's instructions ask the policies: the resource is the treasury's `Record`
//! entity (a tender, contract or imported process) with the buying agency; a plan carries its
//! estimate and an accepted milestone its amount as `context.amount`.

use crate::handler::{load_contract, load_tender};
use civitas_core::identity::Account;
use civitas_core::procurement::ProcurementInstruction;
use civitas_kit::authz::{Param, Question};
use civitas_kit::{Outcome, Overlay, StateView, tri};
use civitas_treasury::authz::{amount_param, record};
use civitas_treasury::handler::load_appropriation;

/// The question a procurement instruction asks.
pub async fn question<'a, S: StateView>(
    principal: &'a Account,
    cosigners: &'a [Account],
    op: &ProcurementInstruction,
    state: &mut Overlay<'_, S>,
) -> Outcome<Question<'a>> {
    let mut params = Vec::new();
    let resource = match op {
        ProcurementInstruction::Plan {
            appropriation,
            estimated,
            ..
        } => {
            amount_param(&mut params, estimated);
            let a = tri!(load_appropriation(state, *appropriation).await?);
            record("tender", "new", &a.agency)
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
            let t = tri!(load_tender(state, *tender).await?);
            record("tender", t.id, &t.agency)
        }
        ProcurementInstruction::Accept {
            contract,
            milestone,
            ..
        } => {
            let c = tri!(load_contract(state, *contract).await?);
            if let Some(m) = c.milestones.get(usize::from(*milestone)) {
                amount_param(&mut params, &m.terms.amount);
            } else {
                params.push(("amount", Param::Long(0)));
            }
            record("contract", c.id, &c.agency)
        }
        ProcurementInstruction::ImportRelease { ocid, .. } => {
            record("imported_process", ocid, &principal.agency)
        }
        ProcurementInstruction::Amend { contract, .. } => {
            let c = tri!(load_contract(state, *contract).await?);
            record("contract", c.id, &c.agency)
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
