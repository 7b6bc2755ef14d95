//! What the sharing instructions ask the policies: the resource is the `PersonalRecord` (as it would be
//! registered, for a registration) with its schema and holder, or the agency's `Vault`; a
//! request says whether a consent covers it, a read whether the reader's agency was given a
//! copy. Every instruction that cites a legal basis puts it in the question, and the kit allows
//! it only if that policy is one of those that permitted it.

use crate::state::{Consent, Grant, consent_key, grant_key, live_record, load_record};
use civitas_core::hash::Hash32;
use civitas_core::identity::Account;
use civitas_core::kit::Operations as _;
use civitas_core::sharing::SharingInstruction;
use civitas_kit::authz::{Attr, Param, Question, Resource};
use civitas_kit::{Outcome, Overlay, StateView, TxContext, fail};

fn record_entity(id: &Hash32, schema: String, holder: String) -> Resource {
    Resource::Entity {
        type_name: "PersonalRecord",
        id: id.to_hex(),
        attrs: vec![
            ("schema", Attr::String(schema)),
            ("holder", Attr::String(holder)),
        ],
    }
}

/// Whether consent `id` covers a request by `agency` for `record` and `purpose` at this
/// block; the failure says which part does not.
pub async fn consent_covers<S: StateView>(
    ctx: &TxContext<'_>,
    state: &mut Overlay<'_, S>,
    id: u64,
    record: &Hash32,
    agency: &str,
    purpose: &str,
) -> Outcome<Consent> {
    let Some(consent) = state.get_typed::<Consent>(&consent_key(id)).await? else {
        fail!("unknown_consent", consent = id);
    };
    let mismatch = |field: &str, granted: String, asked: String| {
        civitas_kit::failure!(
            "consent_mismatch",
            consent = id,
            field = field,
            granted = granted,
            asked = asked
        )
    };
    if consent.record != *record {
        return Ok(Err(mismatch(
            "record",
            consent.record.to_hex(),
            record.to_hex(),
        )));
    }
    if consent.recipient != agency {
        return Ok(Err(mismatch(
            "agency",
            consent.recipient,
            agency.to_string(),
        )));
    }
    if consent.purpose != purpose {
        return Ok(Err(mismatch(
            "purpose",
            consent.purpose,
            purpose.to_string(),
        )));
    }
    civitas_kit::tri!(in_force(ctx, &consent));
    Ok(Ok(consent))
}

/// Whether `consent` is still in force at this block: not withdrawn, not expired (block time,
/// never a clock: every validator decides the same).
pub fn in_force(ctx: &TxContext<'_>, consent: &Consent) -> Result<(), civitas_kit::Failure> {
    if let Some(revocation) = &consent.revocation {
        return Err(civitas_kit::failure!(
            "consent_revoked",
            consent = consent.id,
            height = revocation.height
        ));
    }
    if consent.expires.0 <= ctx.env.timestamp.0 {
        return Err(civitas_kit::failure!(
            "consent_expired",
            consent = consent.id,
            expires = consent.expires,
            now = ctx.env.timestamp
        ));
    }
    Ok(())
}

/// Why the share `grant` can no longer be used, if it cannot: a share made on the subject's
/// consent stands only while that consent is in force (withdrawing consent stops further use;
/// what was done before stays lawful and on record).
pub async fn lapsed<S: StateView>(
    ctx: &TxContext<'_>,
    state: &mut Overlay<'_, S>,
    grant: &Grant,
) -> Result<Option<civitas_kit::Failure>, civitas_kit::BlockError> {
    let Some(id) = grant.consent else {
        return Ok(None);
    };
    Ok(match state.get_typed::<Consent>(&consent_key(id)).await? {
        None => Some(civitas_kit::failure!("unknown_consent", consent = id)),
        Some(consent) => in_force(ctx, &consent).err(),
    })
}

/// The copy of `record` `agency` was given, if it may read it now for `purpose`: the share
/// still stands (its consent, if any, in force), the purpose is the one it was given for, and
/// the legal basis it was given under is still one in force.
pub async fn readable_grant<S: StateView>(
    ctx: &TxContext<'_>,
    state: &mut Overlay<'_, S>,
    record: &Hash32,
    agency: &str,
    purpose: &str,
) -> Outcome<Option<Grant>> {
    let Some(grant) = state.get_typed::<Grant>(&grant_key(record, agency)).await? else {
        return Ok(Ok(None));
    };
    if let Some(failure) = lapsed(ctx, state, &grant).await? {
        return Ok(Err(failure));
    }
    if grant.purpose != purpose {
        fail!(
            "purpose_not_granted",
            agency = agency,
            record = record,
            granted = grant.purpose,
            asked = purpose
        );
    }
    let policies = civitas_kit::authz::load_active(state).await?;
    if policies.legal_basis(&grant.basis).is_none() {
        fail!(
            "basis_repealed",
            record = record,
            agency = agency,
            basis = grant.basis
        );
    }
    Ok(Ok(Some(grant)))
}

/// The question a sharing instruction asks.
pub async fn question<'a, S: StateView>(
    ctx: &TxContext<'_>,
    principal: &'a Account,
    cosigners: &'a [Account],
    op: &SharingInstruction,
    state: &mut Overlay<'_, S>,
) -> Outcome<Question<'a>> {
    let mut params = Vec::new();
    let resource = match op {
        SharingInstruction::Register { record, schema, .. } => {
            record_entity(record, schema.clone(), principal.agency.clone())
        }
        SharingInstruction::Rectify { record, .. } | SharingInstruction::Erase { record, .. } => {
            let found = civitas_kit::tri!(live_record(state, record).await?);
            record_entity(record, found.schema, found.holder)
        }
        SharingInstruction::Consent {
            record,
            recipient,
            purpose,
            ..
        } => {
            let found = civitas_kit::tri!(live_record(state, record).await?);
            params.push(("recipient", Param::String(recipient.clone())));
            params.push(("purpose", Param::String(purpose.clone())));
            record_entity(record, found.schema, found.holder)
        }
        SharingInstruction::RevokeConsent { consent } => {
            let Some(found) = state.get_typed::<Consent>(&consent_key(*consent)).await? else {
                fail!("unknown_consent", consent = consent);
            };
            let Some(record) = load_record(state, &found.record).await? else {
                fail!("unknown_record", record = found.record);
            };
            record_entity(&record.record, record.schema, record.holder)
        }
        SharingInstruction::Request {
            record,
            purpose,
            consent,
            ..
        } => {
            let found = civitas_kit::tri!(live_record(state, record).await?);
            let consented = match consent {
                Some(id) => {
                    civitas_kit::tri!(
                        consent_covers(ctx, state, *id, record, &principal.agency, purpose).await?
                    );
                    true
                }
                None => false,
            };
            params.push(("purpose", Param::String(purpose.clone())));
            params.push(("consented", Param::Bool(consented)));
            record_entity(record, found.schema, found.holder)
        }
        SharingInstruction::Access {
            record, purpose, ..
        } => {
            let found = civitas_kit::tri!(live_record(state, record).await?);
            let granted = found.holder != principal.agency
                && civitas_kit::tri!(
                    readable_grant(ctx, state, record, &principal.agency, purpose).await?
                )
                .is_some();
            params.push(("purpose", Param::String(purpose.clone())));
            params.push(("granted", Param::Bool(granted)));
            record_entity(record, found.schema, found.holder)
        }
        SharingInstruction::SetVault { .. } => Resource::Entity {
            type_name: "Vault",
            id: principal.agency.clone(),
            attrs: vec![("agency", Attr::String(principal.agency.clone()))],
        },
    };
    Ok(Ok(Question {
        principal,
        cosigners,
        action: op.name(),
        resource,
        params,
        basis: op.basis().map(str::to_string),
    }))
}
