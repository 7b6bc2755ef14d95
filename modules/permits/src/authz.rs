//! What the permits' instructions ask the policies: the resource is the `PermitType` (as it
//! would be defined, for a new type), the `Application` with the role that acts at its current
//! step and the type's supervisor role, or the `Licence` with its type's supervisor role. That
//! the signer of an applicant's instruction is the applicant the handler checks: the policies
//! see roles and agencies, not account ids.

use crate::handler::{acting_role, load_definition, load_filed, load_licence};
use crate::state::{PermitType, type_key};
use civitas_core::identity::Account;
use civitas_core::kit::Operations as _;
use civitas_core::permits::PermitsInstruction;
use civitas_kit::authz::{Attr, Question, Resource};
use civitas_kit::{Outcome, Overlay, StateView, tri};

fn permit_type(id: &str, agency: String, retired: bool) -> Resource {
    Resource::Entity {
        type_name: "PermitType",
        id: id.to_string(),
        attrs: vec![
            ("agency", Attr::String(agency)),
            ("retired", Attr::Bool(retired)),
        ],
    }
}

/// The question a permits instruction asks.
pub async fn question<'a, S: StateView>(
    principal: &'a Account,
    cosigners: &'a [Account],
    op: &PermitsInstruction,
    state: &mut Overlay<'_, S>,
) -> Outcome<Question<'a>> {
    let resource = match op {
        PermitsInstruction::DefineType {
            permit_type: id, ..
        } => match state.get_typed::<PermitType>(&type_key(id)).await? {
            Some(record) => permit_type(id, record.agency, record.retired.is_some()),
            None => permit_type(id, principal.agency.clone(), false),
        },
        PermitsInstruction::RetireType { permit_type: id }
        | PermitsInstruction::Apply {
            permit_type: id, ..
        } => {
            let record = tri!(crate::handler::load_type(state, id).await?);
            permit_type(id, record.agency, record.retired.is_some())
        }
        PermitsInstruction::RecordFee { application, .. }
        | PermitsInstruction::CompleteStep { application, .. }
        | PermitsInstruction::RequestInformation { application, .. }
        | PermitsInstruction::ProvideInformation { application, .. }
        | PermitsInstruction::Decide { application, .. }
        | PermitsInstruction::Withdraw { application }
        | PermitsInstruction::Appeal { application, .. }
        | PermitsInstruction::DecideAppeal { application, .. } => {
            let (record, definition) = tri!(load_filed(state, *application).await?);
            Resource::Entity {
                type_name: "Application",
                id: application.to_string(),
                attrs: vec![
                    ("agency", Attr::String(record.agency.clone())),
                    ("permit_type", Attr::String(record.permit_type.clone())),
                    (
                        "step_role",
                        Attr::String(acting_role(&record, &definition).to_string()),
                    ),
                    (
                        "supervisor_role",
                        Attr::String(definition.supervisor_role.clone()),
                    ),
                ],
            }
        }
        PermitsInstruction::Amend { licence, .. }
        | PermitsInstruction::ChangeLicence { licence, .. } => {
            let record = tri!(load_licence(state, *licence).await?);
            let definition = load_definition(state, &record.permit_type, record.version).await?;
            Resource::Entity {
                type_name: "Licence",
                id: licence.to_string(),
                attrs: vec![
                    ("agency", Attr::String(record.agency)),
                    ("permit_type", Attr::String(record.permit_type)),
                    ("supervisor_role", Attr::String(definition.supervisor_role)),
                ],
            }
        }
    };
    // The form is kept in the agency's vault under the module's legal basis.
    let basis = matches!(
        op,
        PermitsInstruction::Apply { .. } | PermitsInstruction::ProvideInformation { .. }
    )
    .then(|| civitas_core::permits::FORM_BASIS.to_string());
    Ok(Ok(Question {
        basis,
        principal,
        cosigners,
        action: op.name(),
        resource,
        params: Vec::new(),
    }))
}
