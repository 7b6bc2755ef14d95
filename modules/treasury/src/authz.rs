//! What the treasury's instructions ask the policies: the resource is a `Record` (a fiscal
//! year, vendor, appropriation, commitment or payment) with the agency it belongs to, and
//! money-moving instructions carry `context.amount` (minor units) so that a policy can ask for
//! more signers above a threshold.

use crate::handler::{load_appropriation, load_commitment, load_payment};
use civitas_core::identity::Account;
use civitas_core::money::Money;
use civitas_core::treasury::TreasuryInstruction;
use civitas_kit::authz::{Attr, Param, Question, Resource};
use civitas_kit::{Outcome, Overlay, StateView, tri};

/// A treasury or procurement record as the policies see it: entity `Record`, id `kind/id`.
pub fn record(kind: &'static str, id: impl ToString, agency: &str) -> Resource {
    Resource::Entity {
        type_name: "Record",
        id: format!("{kind}/{}", id.to_string()),
        attrs: vec![
            ("kind", Attr::String(kind.to_string())),
            ("agency", Attr::String(agency.to_string())),
        ],
    }
}

/// `context.amount`: the amount in minor units.
pub fn amount_param(params: &mut Vec<(&'static str, Param)>, money: &Money) {
    params.push((
        "amount",
        Param::Long(i64::try_from(money.amount).unwrap_or(i64::MAX)),
    ));
}

/// The question a treasury instruction asks.
pub async fn question<'a, S: StateView>(
    principal: &'a Account,
    cosigners: &'a [Account],
    op: &TreasuryInstruction,
    state: &mut Overlay<'_, S>,
) -> Outcome<Question<'a>> {
    let mut params = Vec::new();
    let resource = match op {
        TreasuryInstruction::OpenYear { year, .. } | TreasuryInstruction::CloseYear { year } => {
            record("fiscal_year", year, "")
        }
        TreasuryInstruction::RegisterVendor { account, .. } => {
            record("vendor", account.to_hex(), &principal.agency)
        }
        TreasuryInstruction::Appropriate { agency, amount, .. } => {
            amount_param(&mut params, amount);
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
            amount_param(&mut params, amount);
            let a = tri!(load_appropriation(state, *appropriation).await?);
            record("appropriation", a.id, &a.agency)
        }
        TreasuryInstruction::AdjustCommitment {
            commitment, amount, ..
        }
        | TreasuryInstruction::Pay {
            commitment, amount, ..
        } => {
            amount_param(&mut params, amount);
            let c = tri!(load_commitment(state, *commitment).await?);
            record("commitment", c.id, &c.agency)
        }
        TreasuryInstruction::ReversePayment { payment, .. } => {
            let p = tri!(load_payment(state, *payment).await?);
            amount_param(&mut params, &p.amount);
            record("payment", p.id, &p.agency)
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
