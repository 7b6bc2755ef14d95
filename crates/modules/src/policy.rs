//! Who may do what: the one authorization step every instruction passes before its handler.
//!
//! Each rule is named, and a denial says which rule applied and for whom. (Issue #4 moves these
//! rules into on-chain Cedar policies; this function is the seam.)

use crate::identity::state::{Account, load_account};
use crate::notary::state::load_document;
use crate::roles;
use civitas_core::event::AccountKind;
use civitas_core::instruction::{IdentityInstruction, Instruction, NotaryInstruction};
use civitas_exec::{BlockError, Failure, Overlay, TxContext};
use civitas_state::StateView;

fn deny(rule: &str, signer: &Account, instruction: &Instruction, why: String) -> Failure {
    Failure::new(
        "not_authorized",
        format!(
            "rule {rule:?} denied {} to account {}: {why}",
            instruction.name(),
            signer.id
        ),
    )
}

fn describe(account: &Account) -> String {
    match account.kind {
        AccountKind::Citizen => "a citizen".to_string(),
        AccountKind::Official => format!(
            "an official of {} with roles [{}]",
            account.agency,
            account.roles.join(", ")
        ),
    }
}

/// Decides whether `signer` may perform `instruction`.
pub async fn authorize<S: StateView>(
    _ctx: &TxContext<'_>,
    signer: &Account,
    instruction: &Instruction,
    state: &mut Overlay<'_, S>,
) -> Result<Result<(), Failure>, BlockError> {
    let who = describe(signer);
    let decision = match instruction {
        Instruction::Identity(op) => match op {
            IdentityInstruction::RegisterOfficial { agency, .. } => {
                if signer.is_official_with(agency, roles::ADMIN) {
                    Ok(())
                } else {
                    Err(deny(
                        "agency-admin-registers-own-officials",
                        signer,
                        instruction,
                        format!(
                            "only an admin of {agency} may register its officials; the signer is {who}"
                        ),
                    ))
                }
            }
            IdentityInstruction::RegisterCitizen { .. } => {
                if signer.has_role(roles::ADMIN) || signer.has_role(roles::REGISTRAR) {
                    Ok(())
                } else {
                    Err(deny(
                        "registrar-registers-citizens",
                        signer,
                        instruction,
                        format!(
                            "only an official with role admin or registrar may register citizens; the signer is {who}"
                        ),
                    ))
                }
            }
            IdentityInstruction::SetRoles { account, .. }
            | IdentityInstruction::Deactivate { account, .. } => {
                let target = load_account(state, account).await?;
                match target {
                    Some(target)
                        if target.kind == AccountKind::Official
                            && signer.is_official_with(&target.agency, roles::ADMIN) =>
                    {
                        Ok(())
                    }
                    Some(target) => Err(deny(
                        "agency-admin-manages-own-officials",
                        signer,
                        instruction,
                        format!(
                            "only an admin of the target's agency may change an official; the target is {} and the signer is {who}",
                            describe(&target)
                        ),
                    )),
                    None => Err(Failure::new(
                        "unknown_account",
                        format!("account {account} does not exist"),
                    )),
                }
            }
            IdentityInstruction::RotateKey { .. } => Ok(()),
        },
        Instruction::Notary(op) => match op {
            NotaryInstruction::Anchor { .. } => {
                if signer.has_role(roles::NOTARY) || signer.has_role(roles::ADMIN) {
                    Ok(())
                } else {
                    Err(deny(
                        "notary-anchors-documents",
                        signer,
                        instruction,
                        format!(
                            "only an official with role notary or admin may anchor documents; the signer is {who}"
                        ),
                    ))
                }
            }
            NotaryInstruction::Revoke { document, .. } => {
                match load_document(state, document).await? {
                    Some(doc)
                        if signer.is_official_with(&doc.agency, roles::NOTARY)
                            || signer.is_official_with(&doc.agency, roles::ADMIN) =>
                    {
                        Ok(())
                    }
                    Some(doc) => Err(deny(
                        "issuing-agency-revokes",
                        signer,
                        instruction,
                        format!(
                            "only a notary or admin of {} (the issuing agency) may revoke this document; the signer is {who}",
                            doc.agency
                        ),
                    )),
                    None => Err(Failure::new(
                        "unknown_document",
                        format!("document {document} was never anchored"),
                    )),
                }
            }
        },
        Instruction::Governance(_) => {
            if signer.has_role(roles::ADMIN) {
                Ok(())
            } else {
                Err(deny(
                    "agency-admins-govern",
                    signer,
                    instruction,
                    format!(
                        "only an agency admin may propose or approve for the agency; the signer is {who}"
                    ),
                ))
            }
        }
    };
    Ok(decision)
}
