//! What the notices' instructions ask the policies: the resource is the `Notice` (as it would
//! be published, for a publication), with its agency and whether it is withdrawn.

use crate::state::{Notice, NoticesConfig, config_key, notice_key};
use civitas_core::identity::Account;
use civitas_core::kit::Operations as _;
use civitas_core::notices::NoticesInstruction;
use civitas_kit::authz::{Attr, Question, Resource};
use civitas_kit::{Outcome, Overlay, StateView, fail};

fn notice(id: u64, agency: String, withdrawn: bool) -> Resource {
    Resource::Entity {
        type_name: "Notice",
        id: id.to_string(),
        attrs: vec![
            ("agency", Attr::String(agency)),
            ("withdrawn", Attr::Bool(withdrawn)),
        ],
    }
}

/// The question a notices instruction asks.
pub async fn question<'a, S: StateView>(
    principal: &'a Account,
    cosigners: &'a [Account],
    op: &NoticesInstruction,
    state: &mut Overlay<'_, S>,
) -> Outcome<Question<'a>> {
    let resource = match op {
        NoticesInstruction::Publish { .. } => {
            let config: NoticesConfig = state.get_typed(&config_key()).await?.unwrap_or_default();
            notice(config.next_notice, principal.agency.clone(), false)
        }
        NoticesInstruction::Withdraw { notice: id, .. } => {
            match state.get_typed::<Notice>(&notice_key(*id)).await? {
                Some(record) => notice(*id, record.agency, record.withdrawal.is_some()),
                None => fail!("unknown_notice", notice = id),
            }
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
