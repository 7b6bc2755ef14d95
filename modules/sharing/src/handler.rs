//! The sharing handlers. The policies have allowed the instruction, and its legal basis (if it
//! cites one) is one of the policies that did; these check what no policy can change: a
//! record id is used once, versions follow each other, only the subject consents, a consent
//! covers only what it names and only until its block time, an agency reads only a record it
//! holds or was given, and nothing is done with an erased record. What the question already
//! checked on this same state (a consent covers a request; a copy may be read for this purpose,
//! on a basis in force) is not checked again here: `authz::question` runs first and stops the
//! instruction there. [`register`] and [`rectify`] are also called by other modules' handlers
//! (a permit application registers its form): the caller's own question has then been asked
//! and names the legal basis it passes.

use crate::authz::lapsed;
use crate::state::{
    Consent, Erasure, Grant, Record, Revocation, SharingConfig, Vault, config_key, consent_key,
    grant_key, live_record, load_record, record_key, vault_key,
};
use civitas_core::event::Event;
use civitas_core::identity::{Account, AccountKind};
use civitas_core::sharing::{
    CONSENT_DAYS_MAX, CONSENTS_MAX, COPIES_MAX, SharingEvent, SharingInstruction, record_id,
    subject_tag,
};
use civitas_identity::state::{load_account, load_encryption_key};
use civitas_kit::{Outcome, Overlay, StateView, TxContext, fail};

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

fn event(event: SharingEvent) -> Outcome<Vec<Event>> {
    Ok(Ok(vec![Event::Sharing(event)]))
}

/// Records that `holder`'s vault holds a record (version 1): `record` must be derived from
/// `holder` and `nonce` and unused. `by` registered it, citing `basis`. Another module whose
/// instruction puts a record in a vault (a permit application's form) registers it here, in
/// the same transaction.
#[allow(clippy::too_many_arguments)]
pub async fn register<S: StateView>(
    ctx: &TxContext<'_>,
    state: &mut Overlay<'_, S>,
    holder: &str,
    by: civitas_core::crypto::AccountId,
    record: civitas_core::hash::Hash32,
    nonce: &civitas_core::hash::Hash32,
    schema: &str,
    commitment: civitas_core::hash::Hash32,
    subject: civitas_core::hash::Hash32,
    basis: &str,
) -> Outcome<Event> {
    if record != record_id(holder, nonce) {
        fail!("record_id_not_derived", record = record, agency = holder);
    }
    if let Some(existing) = load_record(state, &record).await? {
        fail!("record_exists", record = existing.record);
    }
    let entry = Record {
        record,
        schema: schema.to_string(),
        holder: holder.to_string(),
        version: 1,
        commitment,
        subject,
        basis: basis.to_string(),
        registered_by: by,
        height: ctx.env.height,
        time: ctx.env.timestamp,
        copies: Vec::new(),
        consents: 0,
        erasure: None,
    };
    state.put_typed(&record_key(&record), &entry);
    Ok(Ok(Event::Sharing(SharingEvent::RecordRegistered {
        record,
        schema: entry.schema,
        holder: entry.holder,
        commitment,
        basis: basis.to_string(),
        by,
    })))
}

/// Records a record's next version (`version`, the current one plus one) with `commitment`;
/// `by` rectified it, citing `basis`.
pub async fn rectify<S: StateView>(
    state: &mut Overlay<'_, S>,
    record: &civitas_core::hash::Hash32,
    version: u32,
    commitment: civitas_core::hash::Hash32,
    basis: &str,
    by: civitas_core::crypto::AccountId,
) -> Outcome<Event> {
    let mut entry = civitas_kit::tri!(live_record(state, record).await?);
    let expected = entry.version.saturating_add(1);
    if version != expected {
        fail!(
            "wrong_version",
            record = record,
            current = entry.version,
            expected = expected,
            version = version
        );
    }
    entry.version = version;
    entry.commitment = commitment;
    state.put_typed(&record_key(record), &entry);
    Ok(Ok(Event::Sharing(SharingEvent::RecordRectified {
        record: *record,
        holder: entry.holder,
        version,
        commitment,
        basis: basis.to_string(),
        by,
    })))
}

/// Applies a sharing instruction (already authorized).
pub async fn apply<S: StateView>(
    ctx: &TxContext<'_>,
    signer: &Account,
    op: &SharingInstruction,
    state: &mut Overlay<'_, S>,
) -> Outcome<Vec<Event>> {
    match op {
        SharingInstruction::Register {
            record,
            nonce,
            schema,
            commitment,
            subject,
            basis,
        } => {
            let registered = civitas_kit::tri!(
                register(
                    ctx,
                    state,
                    &signer.agency,
                    signer.id,
                    *record,
                    nonce,
                    schema,
                    *commitment,
                    *subject,
                    basis
                )
                .await?
            );
            Ok(Ok(vec![registered]))
        }
        SharingInstruction::Rectify {
            record,
            version,
            commitment,
            basis,
        } => {
            let rectified = civitas_kit::tri!(
                rectify(state, record, *version, *commitment, basis, signer.id).await?
            );
            Ok(Ok(vec![rectified]))
        }
        SharingInstruction::Erase { record, basis } => {
            let mut entry = civitas_kit::tri!(live_record(state, record).await?);
            entry.erasure = Some(Erasure {
                by: signer.id,
                basis: basis.clone(),
                height: ctx.env.height,
                time: ctx.env.timestamp,
            });
            state.put_typed(&record_key(record), &entry);
            event(SharingEvent::RecordErased {
                record: *record,
                holder: entry.holder,
                copies: entry.copies,
                basis: basis.clone(),
                by: signer.id,
            })
        }
        SharingInstruction::Consent {
            record,
            salt,
            recipient,
            purpose,
            expires,
        } => {
            let mut entry = civitas_kit::tri!(live_record(state, record).await?);
            if subject_tag(record, salt, &signer.id) != entry.subject {
                fail!("not_the_subject", record = record);
            }
            if entry.consents >= CONSENTS_MAX {
                fail!(
                    "too_many_consents",
                    record = record,
                    consents_max = CONSENTS_MAX
                );
            }
            let now = ctx.env.timestamp.0;
            if expires.0 <= now {
                fail!(
                    "expires_in_the_past",
                    expires = expires,
                    now = ctx.env.timestamp
                );
            }
            let latest = now.saturating_add(CONSENT_DAYS_MAX * DAY_MS);
            if expires.0 > latest {
                fail!(
                    "consent_too_long",
                    days_max = CONSENT_DAYS_MAX,
                    latest = latest,
                    expires = expires
                );
            }
            civitas_kit::tri!(civitas_identity::handler::agency_in_force(state, recipient).await?);
            entry.consents += 1;
            state.put_typed(&record_key(record), &entry);
            let mut config: SharingConfig =
                state.get_typed(&config_key()).await?.unwrap_or_default();
            let id = config.next_consent;
            config.next_consent += 1;
            state.put_typed(&config_key(), &config);
            let consent = Consent {
                id,
                record: *record,
                subject: signer.id,
                recipient: recipient.clone(),
                purpose: purpose.clone(),
                expires: *expires,
                height: ctx.env.height,
                time: ctx.env.timestamp,
                revocation: None,
            };
            state.put_typed(&consent_key(id), &consent);
            event(SharingEvent::ConsentGiven {
                consent: id,
                record: *record,
                subject: signer.id,
                recipient: consent.recipient,
                purpose: consent.purpose,
                expires: *expires,
            })
        }
        SharingInstruction::RevokeConsent { consent } => {
            let Some(mut entry) = state.get_typed::<Consent>(&consent_key(*consent)).await? else {
                fail!("unknown_consent", consent = consent);
            };
            if entry.subject != signer.id {
                fail!("consent_not_yours", consent = consent);
            }
            if let Some(revocation) = &entry.revocation {
                fail!(
                    "consent_revoked",
                    consent = consent,
                    height = revocation.height
                );
            }
            entry.revocation = Some(Revocation {
                height: ctx.env.height,
                time: ctx.env.timestamp,
            });
            state.put_typed(&consent_key(*consent), &entry);
            event(SharingEvent::ConsentRevoked {
                consent: *consent,
                record: entry.record,
                recipient: entry.recipient,
                subject: signer.id,
            })
        }
        SharingInstruction::Request {
            record,
            purpose,
            basis,
            consent,
        } => {
            let mut entry = civitas_kit::tri!(live_record(state, record).await?);
            if entry.holder == signer.agency {
                fail!("own_record", record = record, agency = entry.holder);
            }
            // A share stands until its consent ends: asking again is for a new version, or
            // after that. (Replacing a standing share would change the basis its copy is read
            // under, and the transaction the holder's vault answers to.)
            let standing = state
                .get_typed::<Grant>(&grant_key(record, &signer.agency))
                .await?;
            if let Some(standing) = &standing
                && standing.version == entry.version
                && lapsed(ctx, state, standing).await?.is_none()
            {
                fail!(
                    "already_shared",
                    agency = signer.agency,
                    version = standing.version,
                    record = record,
                    tx = standing.tx
                );
            }
            // Shares are never deleted: an agency without one is not among the copies yet.
            if standing.is_none() {
                if entry.copies.len() >= COPIES_MAX {
                    fail!("too_many_copies", record = record, copies_max = COPIES_MAX);
                }
                entry.copies.push(signer.agency.clone());
                state.put_typed(&record_key(record), &entry);
            }
            let grant = Grant {
                record: *record,
                agency: signer.agency.clone(),
                version: entry.version,
                official: signer.id,
                purpose: purpose.clone(),
                basis: basis.clone(),
                consent: *consent,
                height: ctx.env.height,
                time: ctx.env.timestamp,
                tx: ctx.tx_hash,
            };
            state.put_typed(&grant_key(record, &signer.agency), &grant);
            event(SharingEvent::RecordShared {
                record: *record,
                holder: entry.holder,
                recipient: signer.agency.clone(),
                version: entry.version,
                official: signer.id,
                purpose: purpose.clone(),
                basis: basis.clone(),
                consent: *consent,
            })
        }
        SharingInstruction::Access {
            record,
            purpose,
            basis,
        } => {
            let entry = civitas_kit::tri!(live_record(state, record).await?);
            // A vault has only what it holds or was given: a read of anything else would be a
            // log entry for a read that cannot happen (reachable only under a policy that lets
            // an agency without a copy read). A copy's reader reads the version it was given;
            // whether the copy may be read now, the question checked.
            let version = if entry.holder == signer.agency {
                entry.version
            } else {
                match state
                    .get_typed::<Grant>(&grant_key(record, &signer.agency))
                    .await?
                {
                    Some(grant) => grant.version,
                    None => fail!("no_copy", agency = signer.agency, record = record),
                }
            };
            event(SharingEvent::RecordAccessed {
                record: *record,
                agency: signer.agency.clone(),
                version,
                official: signer.id,
                purpose: purpose.clone(),
                basis: basis.clone(),
            })
        }
        SharingInstruction::SetVault { account, url } => {
            let official = load_account(state, account).await?;
            let Some(official) = official.filter(|a| {
                a.active && a.kind == AccountKind::Official && a.agency == signer.agency
            }) else {
                fail!(
                    "vault_account_elsewhere",
                    account = account,
                    agency = signer.agency
                );
            };
            if load_encryption_key(state, &official.id).await?.is_none() {
                fail!("no_encryption_key", account = account);
            }
            let vault = Vault {
                agency: signer.agency.clone(),
                account: *account,
                url: url.clone(),
                height: ctx.env.height,
            };
            state.put_typed(&vault_key(&signer.agency), &vault);
            event(SharingEvent::VaultSet {
                agency: vault.agency,
                account: *account,
                url: vault.url,
            })
        }
    }
}
