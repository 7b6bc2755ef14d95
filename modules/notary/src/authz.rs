//! What the notary's instructions ask the policies: the resource is the `Document` (as it
//! would be anchored, for an anchoring), with its issuing agency and whether it is revoked.

use crate::state::load_document;
use civitas_core::identity::Account;
use civitas_core::kit::Operations as _;
use civitas_core::notary::NotaryInstruction;
use civitas_kit::authz::{Attr, Question, Resource};
use civitas_kit::{Outcome, Overlay, StateView, fail};

fn document(id: String, agency: String, revoked: bool) -> Resource {
    Resource::Entity {
        type_name: "Document",
        id,
        attrs: vec![
            ("agency", Attr::String(agency)),
            ("revoked", Attr::Bool(revoked)),
        ],
    }
}

/// The question a notary instruction asks.
pub async fn question<'a, S: StateView>(
    principal: &'a Account,
    cosigners: &'a [Account],
    op: &NotaryInstruction,
    state: &mut Overlay<'_, S>,
) -> Outcome<Question<'a>> {
    let resource = match op {
        NotaryInstruction::Anchor { document: id, .. } => {
            document(id.to_hex(), principal.agency.clone(), false)
        }
        NotaryInstruction::Revoke { document: id, .. } => match load_document(state, id).await? {
            Some(record) => document(id.to_hex(), record.agency, record.revocation.is_some()),
            None => fail!("unknown_document", document = id),
        },
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
