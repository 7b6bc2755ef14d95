//! The permits' handlers, and what the end of each block does with deadlines that passed.
//!
//! An application moves through its type's steps (the version it was filed under). A step's
//! clock starts when the step begins (for the first, once the fee is paid), stops while the
//! applicant is asked for information, and starts again in full when they answer; each start
//! puts the step's deadline in the module's queue ([`crate::state::DUE`]) under the clock's
//! number, so a deadline of a clock that has since stopped or moved on is recognised when it
//! falls due and ignored. Every time is the block's.

use crate::state::{
    AppealRecord, Application, DUE, Decision, FeePayment, Licence, LicenceStop, Overdue,
    PermitType, PermitsConfig, TypeStats, TypeVersion, application_key, config_key, licence_key,
    open_key, stats_key, type_key, type_version_key,
};
use civitas_core::event::Event;
use civitas_core::hash::Hash32;
use civitas_core::identity::Account;
use civitas_core::permits::{
    FORM_BASIS, FORM_SCHEMA, LicenceAction, LicenceChange, OnOverdue, Outcome, PermitTypeDef,
    PermitsEvent, PermitsInstruction, Register, StepDef, form_nonce,
};
use civitas_core::time::TimestampMs;
use civitas_kit::{
    BlockEnv, BlockError, Failure, Outcome as Handled, Overlay, StateView, TxContext,
};
use civitas_kit::{fail, failure, load_required, tri};

/// Events a deadline that passes may emit: overdue, decided, licence issued.
const EVENTS_PER_DEADLINE: usize = 3;
/// Most deadlines one block reads from the queue (stale ones included).
pub const DEADLINES_PER_BLOCK: usize = 256;
/// Most applications one account has undecided under one permit type.
pub const OPEN_PER_APPLICANT_MAX: u32 = 8;
/// Most requests for information at one step.
pub const REQUESTS_PER_STEP_MAX: u8 = 3;

/// What a queued deadline is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Due {
    /// The deadline of application `id`'s step whose clock is `clock`.
    Step { id: u64, clock: u32 },
    /// The expiry of licence `id` after `renewals` renewals.
    Expiry { id: u64, renewals: u32 },
}

impl Due {
    fn encode(self) -> [u8; 13] {
        let (kind, id, seq) = match self {
            Self::Step { id, clock } => (0u8, id, clock),
            Self::Expiry { id, renewals } => (1u8, id, renewals),
        };
        let mut bytes = [0u8; 13];
        bytes[0] = kind;
        bytes[1..9].copy_from_slice(&id.to_be_bytes());
        bytes[9..].copy_from_slice(&seq.to_be_bytes());
        bytes
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let bytes: &[u8; 13] = bytes.try_into().ok()?;
        let id = u64::from_be_bytes(bytes[1..9].try_into().ok()?);
        let seq = u32::from_be_bytes(bytes[9..].try_into().ok()?);
        match bytes[0] {
            0 => Some(Self::Step { id, clock: seq }),
            1 => Some(Self::Expiry { id, renewals: seq }),
            _ => None,
        }
    }
}

fn permits(event: PermitsEvent) -> Event {
    Event::Permits(event)
}

fn after(now: TimestampMs, secs: u64) -> TimestampMs {
    TimestampMs(now.0.saturating_add(secs.saturating_mul(1_000)))
}

/// Loads a permit type, or fails `unknown_permit_type`.
pub async fn load_type<S: StateView>(state: &mut Overlay<'_, S>, id: &str) -> Handled<PermitType> {
    load_required(state, &type_key(id), || {
        failure!("unknown_permit_type", permit_type = id)
    })
    .await
}

/// Loads a version of a permit type's definition (it exists once the type names it).
pub async fn load_definition<S: StateView>(
    state: &mut Overlay<'_, S>,
    id: &str,
    version: u32,
) -> Result<PermitTypeDef, BlockError> {
    let key = type_version_key(id, version);
    match state.get_typed::<TypeVersion>(&key).await? {
        Some(record) => Ok(record.definition),
        None => Err(BlockError::State(civitas_kit::StateError::Corrupt {
            key: key.display(),
            reason: "a permit type names a version that is not stored".into(),
        })),
    }
}

/// Loads an application, or fails `unknown_application`.
pub async fn load_application<S: StateView>(
    state: &mut Overlay<'_, S>,
    id: u64,
) -> Handled<Application> {
    load_required(state, &application_key(id), || {
        failure!("unknown_application", application = id)
    })
    .await
}

/// Loads an application and the version of its type's definition it was filed under.
pub async fn load_filed<S: StateView>(
    state: &mut Overlay<'_, S>,
    id: u64,
) -> Handled<(Application, PermitTypeDef)> {
    let application = tri!(load_application(state, id).await?);
    let definition = load_definition(state, &application.permit_type, application.version).await?;
    Ok(Ok((application, definition)))
}

/// Loads a licence, or fails `unknown_licence`.
pub async fn load_licence<S: StateView>(state: &mut Overlay<'_, S>, id: u64) -> Handled<Licence> {
    load_required(state, &licence_key(id), || {
        failure!("unknown_licence", licence = id)
    })
    .await
}

async fn load_stats<S: StateView>(
    state: &mut Overlay<'_, S>,
    id: &str,
) -> Result<TypeStats, BlockError> {
    Ok(state
        .get_typed(&stats_key(id))
        .await?
        .unwrap_or_else(|| TypeStats {
            permit_type: id.to_string(),
            ..TypeStats::default()
        }))
}

/// Changes permit type `id`'s figures.
async fn update_stats<S: StateView>(
    state: &mut Overlay<'_, S>,
    id: &str,
    change: impl FnOnce(&mut TypeStats),
) -> Result<(), BlockError> {
    let mut stats = load_stats(state, id).await?;
    change(&mut stats);
    state.put_typed(&stats_key(id), &stats);
    Ok(())
}

/// The application's current step in the version of its type it was filed under (always
/// there: a step number never passes the last step).
pub fn current_step<'a>(
    application: &Application,
    definition: &'a PermitTypeDef,
) -> Option<&'a StepDef> {
    definition.steps.get(usize::from(application.step))
}

/// The role that acts at the application's current step now.
pub fn acting_role<'a>(application: &Application, definition: &'a PermitTypeDef) -> &'a str {
    match current_step(application, definition) {
        Some(step) if !application.escalated => &step.role,
        _ => &definition.supervisor_role,
    }
}

/// Starts the current step's clock at `now`: its deadline (if it has one) goes in the queue.
async fn start_clock<S: StateView>(
    state: &mut Overlay<'_, S>,
    application: &mut Application,
    definition: &PermitTypeDef,
    now: TimestampMs,
) -> Result<(), BlockError> {
    application.clock += 1;
    application.started = Some(now);
    application.entered.get_or_insert(now);
    application.deadline = None;
    let secs = current_step(application, definition).map_or(0, |s| s.deadline_secs);
    if secs > 0 {
        let due = Due::Step {
            id: application.id,
            clock: application.clock,
        };
        application.deadline = Some(DUE.push(state, after(now, secs), &due.encode()).await?);
    }
    Ok(())
}

/// Counts the current step's duration in the type's figures, as completed at `now`.
fn count_step(
    stats: &mut TypeStats,
    application: &Application,
    definition: &PermitTypeDef,
    now: TimestampMs,
) {
    let Some(step) = current_step(application, definition) else {
        return;
    };
    let Some(entered) = application.entered else {
        return;
    };
    if let Some(figures) = stats.step_mut(&step.name) {
        figures.count(now.0.saturating_sub(entered.0));
    }
}

/// Issues a licence for an application granted at block `env`, or renews the licence it
/// renews; returns the licence's number and the event.
async fn grant<S: StateView>(
    env: &BlockEnv,
    state: &mut Overlay<'_, S>,
    application: &Application,
    definition: &PermitTypeDef,
    scope: &str,
    by: Option<civitas_core::crypto::AccountId>,
    reason: &str,
) -> Result<(u64, Event), BlockError> {
    let now = env.timestamp;
    let validity = (definition.validity_secs > 0).then_some(definition.validity_secs);
    if let Some(id) = application.renews
        && let Some(mut licence) = state.get_typed::<Licence>(&licence_key(id)).await?
    {
        let from = licence.valid_until.map_or(now, |until| until.max(now));
        licence.valid_until = validity.map(|secs| after(from, secs));
        licence.renewals += 1;
        if licence.renewing == Some(application.id) {
            licence.renewing = None;
        }
        licence.application = application.id;
        schedule_expiry(state, &licence).await?;
        state.put_typed(&licence_key(id), &licence);
        return Ok((
            id,
            permits(PermitsEvent::LicenceChanged {
                licence: id,
                holder: licence.holder,
                change: LicenceChange::Renewed,
                by,
                reason: reason.to_string(),
                valid_until: licence.valid_until,
                scope: licence.scope.clone(),
            }),
        ));
    }
    let mut config: PermitsConfig = state.get_typed(&config_key()).await?.unwrap_or_default();
    let id = config.next_licence;
    config.next_licence += 1;
    state.put_typed(&config_key(), &config);
    let licence = Licence {
        id,
        permit_type: application.permit_type.clone(),
        version: application.version,
        agency: application.agency.clone(),
        holder: application.applicant,
        scope: scope.to_string(),
        application: application.id,
        public: definition.register == Register::Public,
        valid_until: validity.map(|secs| after(now, secs)),
        renewals: 0,
        renewing: None,
        stopped: None,
        height: env.height,
        time: now,
    };
    schedule_expiry(state, &licence).await?;
    state.put_typed(&licence_key(id), &licence);
    Ok((
        id,
        permits(PermitsEvent::LicenceIssued {
            licence: id,
            permit_type: licence.permit_type,
            agency: licence.agency,
            holder: licence.holder,
            scope: licence.scope,
            valid_until: licence.valid_until,
            public: licence.public,
            application: application.id,
        }),
    ))
}

async fn schedule_expiry<S: StateView>(
    state: &mut Overlay<'_, S>,
    licence: &Licence,
) -> Result<(), BlockError> {
    if let Some(until) = licence.valid_until {
        let due = Due::Expiry {
            id: licence.id,
            renewals: licence.renewals,
        };
        DUE.push(state, until, &due.encode()).await?;
    }
    Ok(())
}

/// Records a decision on `application` (granting a licence when its outcome does), counts it
/// and stores the application; returns the decision's events.
#[allow(clippy::too_many_arguments)]
async fn decide<S: StateView>(
    env: &BlockEnv,
    state: &mut Overlay<'_, S>,
    application: &mut Application,
    definition: &PermitTypeDef,
    outcome: Outcome,
    by: Option<civitas_core::crypto::AccountId>,
    scope: &str,
    reason: &str,
) -> Result<Vec<Event>, BlockError> {
    let mut events = Vec::new();
    let licence = if outcome.grants() {
        let (id, event) = grant(env, state, application, definition, scope, by, reason).await?;
        events.push(event);
        Some(id)
    } else {
        None
    };
    // The first decision (an appeal's comes after it).
    let first = application.decision.is_none();
    let mut stats = load_stats(state, &application.permit_type).await?;
    match outcome {
        Outcome::Approved => stats.approved += 1,
        Outcome::ApprovedOnAppeal => {
            stats.approved += 1;
            stats.refused = stats.refused.saturating_sub(1);
            stats.overturned += 1;
        }
        Outcome::ApprovedTacitly => {
            stats.approved += 1;
            stats.approved_tacitly += 1;
        }
        Outcome::Refused => stats.refused += 1,
        Outcome::Withdrawn => stats.withdrawn += 1,
        Outcome::AppealDismissed => {}
    }
    if first {
        // The applicant may file another of the type.
        let key = open_key(&application.permit_type, &application.applicant);
        let open: u32 = state.get_typed(&key).await?.unwrap_or(0);
        match open.saturating_sub(1) {
            0 => state.delete(&key),
            left => state.put_typed(&key, &left),
        }
        // A renewal decided other than by a grant frees the licence for another.
        if !outcome.grants()
            && let Some(id) = application.renews
            && let Some(mut licence) = state.get_typed::<Licence>(&licence_key(id)).await?
            && licence.renewing == Some(application.id)
        {
            licence.renewing = None;
            state.put_typed(&licence_key(id), &licence);
        }
    }
    if first && outcome != Outcome::Withdrawn {
        count_step(&mut stats, application, definition, env.timestamp);
    }
    state.put_typed(&stats_key(&application.permit_type), &stats);
    application.decision = Some(Decision {
        outcome,
        by,
        reason: reason.to_string(),
        licence,
        height: env.height,
        time: env.timestamp,
    });
    application.started = None;
    application.deadline = None;
    application.awaiting = None;
    events.insert(
        0,
        permits(PermitsEvent::ApplicationDecided {
            application: application.id,
            applicant: application.applicant,
            agency: application.agency.clone(),
            outcome,
            by,
            reason: reason.to_string(),
            licence,
        }),
    );
    state.put_typed(&application_key(application.id), application);
    Ok(events)
}

/// The checks every official's action on an application's current step makes: not their own
/// application, not decided, the fee paid, not waiting for the applicant, and at the step
/// named.
fn check_step(
    application: &Application,
    definition: &PermitTypeDef,
    step: &str,
    signer: &Account,
) -> Result<(), Failure> {
    check_not_own(application, signer)?;
    check_undecided(application)?;
    if let Some(fee) = &application.fee
        && application.paid.is_none()
    {
        return Err(failure!(
            "fee_unpaid",
            application = application.id,
            fee = fee
        ));
    }
    let current = current_step(application, definition).map_or("", |s| s.name.as_str());
    if current != step {
        return Err(failure!(
            "wrong_step",
            application = application.id,
            current = current,
            step = step
        ));
    }
    if application.awaiting.is_some() {
        return Err(failure!("awaiting_applicant", application = application.id));
    }
    Ok(())
}

/// What every official's action on an application's current step starts with: the
/// application and its type's version, the checks of [`check_step`], and a deadline that
/// passed settled ([`settle_deadline`], whose events go first in the receipt).
async fn open_step<S: StateView>(
    env: &BlockEnv,
    state: &mut Overlay<'_, S>,
    id: u64,
    step: &str,
    signer: &Account,
) -> Handled<(Application, PermitTypeDef, Vec<Event>)> {
    let (mut application, definition) = tri!(load_filed(state, id).await?);
    tri!(check_step(&application, &definition, step, signer));
    let events = tri!(settle_deadline(env, state, &mut application, &definition).await?);
    Ok(Ok((application, definition, events)))
}

/// Refuses an application already decided or withdrawn.
fn check_undecided(application: &Application) -> Result<(), Failure> {
    match &application.decision {
        Some(decision) => Err(failure!(
            "already_decided",
            application = application.id,
            outcome = decision.outcome.as_str()
        )),
        None => Ok(()),
    }
}

/// Refuses an official acting on their own application.
fn check_not_own(application: &Application, signer: &Account) -> Result<(), Failure> {
    if application.applicant == signer.id {
        return Err(failure!("own_application", application = application.id));
    }
    Ok(())
}

fn check_applicant(application: &Application, signer: &Account) -> Result<(), Failure> {
    if application.applicant != signer.id {
        return Err(failure!("not_the_applicant", application = application.id));
    }
    Ok(())
}

/// Checks that every document is notarised and not revoked.
async fn check_documents<S: StateView>(
    state: &mut Overlay<'_, S>,
    documents: &[Hash32],
) -> Handled<()> {
    for document in documents {
        match civitas_notary::state::load_document(state, document).await? {
            Some(record) if record.revocation.is_none() => {}
            _ => fail!("document_not_anchored", document = document),
        }
    }
    Ok(Ok(()))
}

/// Applies a permits instruction (already authorized).
pub async fn apply<S: StateView>(
    ctx: &TxContext<'_>,
    signer: &Account,
    op: &PermitsInstruction,
    state: &mut Overlay<'_, S>,
) -> Handled<Vec<Event>> {
    let env = ctx.env;
    let now = env.timestamp;
    match op {
        PermitsInstruction::DefineType {
            permit_type,
            definition,
        } => {
            let mut record = match state
                .get_typed::<PermitType>(&type_key(permit_type))
                .await?
            {
                Some(record) if record.agency != signer.agency => fail!(
                    "permit_type_of_another_agency",
                    permit_type = permit_type,
                    agency = record.agency
                ),
                Some(record) => record,
                None => PermitType {
                    id: permit_type.clone(),
                    agency: signer.agency.clone(),
                    version: 0,
                    retired: None,
                },
            };
            // A fee is received in the fiscal year of the block's calendar year: one in another
            // currency than that year's could never be recorded.
            if let Some(fee) = &definition.fee {
                let year = u32::try_from(now.civil().0).unwrap_or(0);
                if let Some(fiscal) = state
                    .get_typed::<civitas_treasury::state::FiscalYear>(
                        &civitas_treasury::state::year_key(year),
                    )
                    .await?
                    && fiscal.currency != fee.currency
                {
                    fail!(
                        "currency_mismatch",
                        year = year,
                        expected = fiscal.currency,
                        currency = fee.currency
                    );
                }
            }
            record.version += 1;
            record.retired = None;
            state.put_typed(
                &type_version_key(permit_type, record.version),
                &TypeVersion {
                    permit_type: permit_type.clone(),
                    version: record.version,
                    definition: definition.clone(),
                    by: signer.id,
                    height: env.height,
                    time: now,
                },
            );
            state.put_typed(&type_key(permit_type), &record);
            Ok(Ok(vec![permits(PermitsEvent::PermitTypeDefined {
                permit_type: permit_type.clone(),
                version: record.version,
                agency: record.agency,
            })]))
        }
        PermitsInstruction::RetireType { permit_type } => {
            let mut record = tri!(load_type(state, permit_type).await?);
            if record.agency != signer.agency {
                fail!(
                    "permit_type_of_another_agency",
                    permit_type = permit_type,
                    agency = record.agency
                );
            }
            if record.retired.is_some() {
                fail!("permit_type_retired", permit_type = permit_type);
            }
            record.retired = Some(env.height);
            state.put_typed(&type_key(permit_type), &record);
            Ok(Ok(vec![permits(PermitsEvent::PermitTypeRetired {
                permit_type: permit_type.clone(),
                agency: record.agency,
            })]))
        }
        PermitsInstruction::Apply {
            permit_type,
            form,
            documents,
            records,
            renews,
        } => {
            let record = tri!(load_type(state, permit_type).await?);
            if record.retired.is_some() {
                fail!("permit_type_retired", permit_type = permit_type);
            }
            let definition = load_definition(state, permit_type, record.version).await?;
            // The form's record id is bound to the signer (see `FormRecord`).
            let nonce = form_nonce(&signer.id, &form.seed);
            let form_id = civitas_core::sharing::record_id(&record.agency, &nonce);
            if documents.len() != definition.documents.len() {
                fail!(
                    "wrong_documents",
                    permit_type = permit_type,
                    expected = definition.documents.len() as u64,
                    given = documents.len() as u64
                );
            }
            tri!(check_documents(state, documents).await?);
            if records.len() != definition.records.len() {
                fail!(
                    "wrong_records",
                    permit_type = permit_type,
                    expected = definition.records.len() as u64,
                    given = records.len() as u64
                );
            }
            for (id, schema) in records.iter().zip(&definition.records) {
                let found: Option<civitas_sharing::state::Record> = state
                    .get_typed(&civitas_sharing::state::record_key(id))
                    .await?;
                match found {
                    Some(r) if r.erasure.is_none() && &r.schema == schema => {}
                    _ => fail!("record_not_usable", record = id, schema = schema),
                }
            }
            let open_key = open_key(permit_type, &signer.id);
            let open: u32 = state.get_typed(&open_key).await?.unwrap_or(0);
            if open >= OPEN_PER_APPLICANT_MAX {
                fail!(
                    "too_many_open_applications",
                    permit_type = permit_type,
                    open = u64::from(open)
                );
            }
            state.put_typed(&open_key, &(open + 1));
            let mut config: PermitsConfig =
                state.get_typed(&config_key()).await?.unwrap_or_default();
            let id = config.next_application;
            config.next_application += 1;
            state.put_typed(&config_key(), &config);
            if let Some(licence_id) = renews {
                let mut licence = tri!(load_licence(state, *licence_id).await?);
                tri!(check_renewal(
                    &licence,
                    signer,
                    permit_type,
                    &definition,
                    now
                ));
                if let Some(pending) = licence.renewing {
                    fail!(
                        "renewal_pending",
                        licence = licence_id,
                        application = pending
                    );
                }
                licence.renewing = Some(id);
                state.put_typed(&licence_key(*licence_id), &licence);
            }
            let mut application = Application {
                id,
                permit_type: permit_type.clone(),
                version: record.version,
                agency: record.agency.clone(),
                applicant: signer.id,
                form: form_id,
                documents: documents.clone(),
                records: records.clone(),
                renews: *renews,
                fee: definition.fee,
                paid: None,
                step: 0,
                clock: 0,
                entered: None,
                started: None,
                deadline: None,
                awaiting: None,
                requests: 0,
                escalated: false,
                overdue: None,
                decision: None,
                appeal: None,
                height: env.height,
                time: now,
            };
            // With a fee, the first step's clock starts once it is paid.
            if definition.fee.is_none() {
                start_clock(state, &mut application, &definition, now).await?;
            }
            // The form is a record of the agency's vault, registered here: every read of it
            // is in its access log, and its subject sees it.
            let registered = tri!(
                civitas_sharing::handler::register(
                    ctx,
                    state,
                    &record.agency,
                    signer.id,
                    form_id,
                    &nonce,
                    FORM_SCHEMA,
                    form.commitment,
                    form.subject,
                    FORM_BASIS,
                )
                .await?
            );
            update_stats(state, permit_type, |s| s.applications += 1).await?;
            let event = PermitsEvent::ApplicationFiled {
                application: id,
                permit_type: permit_type.clone(),
                version: record.version,
                agency: record.agency,
                applicant: signer.id,
                step: definition.steps[0].name.clone(),
                deadline: application.deadline,
                fee: application.fee,
            };
            state.put_typed(&application_key(id), &application);
            Ok(Ok(vec![registered, permits(event)]))
        }
        PermitsInstruction::RecordFee {
            application: id,
            reference,
        } => {
            let mut application = tri!(load_application(state, *id).await?);
            tri!(check_not_own(&application, signer));
            tri!(check_undecided(&application));
            let Some(fee) = application.fee else {
                fail!("no_fee", application = id);
            };
            if application.paid.is_some() {
                fail!("fee_already_paid", application = id);
            }
            // The fee is the agency's revenue, in the treasury's public ledger of money.
            let (revenue_year, revenue_entry, revenue) = tri!(
                civitas_treasury::handler::receive(
                    ctx,
                    state,
                    civitas_treasury::handler::Receipt {
                        agency: &application.agency,
                        source: format!("permit.{}", application.permit_type),
                        record: format!("permits/application/{id}"),
                        reference,
                        amount: fee,
                    },
                )
                .await?
            );
            application.paid = Some(FeePayment {
                amount: fee,
                reference: reference.clone(),
                by: signer.id,
                height: env.height,
                time: now,
                revenue_year,
                revenue_entry,
            });
            let definition =
                load_definition(state, &application.permit_type, application.version).await?;
            start_clock(state, &mut application, &definition, now).await?;
            state.put_typed(&application_key(*id), &application);
            Ok(Ok(vec![
                permits(PermitsEvent::FeePaid {
                    application: *id,
                    applicant: application.applicant,
                    amount: fee,
                    reference: reference.clone(),
                    deadline: application.deadline,
                }),
                revenue,
            ]))
        }
        PermitsInstruction::CompleteStep {
            application: id,
            step,
            reason,
        } => {
            let (mut application, definition, mut events) =
                tri!(open_step(env, state, *id, step, signer).await?);
            let next = usize::from(application.step) + 1;
            let Some(next_step) = definition.steps.get(next) else {
                fail!("last_step", application = id, step = step);
            };
            update_stats(state, &application.permit_type, |s| {
                count_step(s, &application, &definition, now)
            })
            .await?;
            application.step = next as u8;
            application.escalated = false;
            application.entered = None;
            application.requests = 0;
            start_clock(state, &mut application, &definition, now).await?;
            state.put_typed(&application_key(*id), &application);
            events.push(permits(PermitsEvent::StepCompleted {
                application: *id,
                applicant: application.applicant,
                step: step.clone(),
                by: signer.id,
                reason: reason.clone(),
                next: next_step.name.clone(),
                deadline: application.deadline,
            }));
            Ok(Ok(events))
        }
        PermitsInstruction::RequestInformation {
            application: id,
            step,
            request,
        } => {
            let (mut application, _, mut events) =
                tri!(open_step(env, state, *id, step, signer).await?);
            if application.requests >= REQUESTS_PER_STEP_MAX {
                fail!(
                    "too_many_requests",
                    application = id,
                    step = step,
                    requests = u64::from(application.requests)
                );
            }
            application.requests += 1;
            // The clock stops: the deadline in the queue no longer matches it.
            application.awaiting = Some(request.clone());
            application.started = None;
            application.deadline = None;
            state.put_typed(&application_key(*id), &application);
            events.push(permits(PermitsEvent::InformationRequested {
                application: *id,
                applicant: application.applicant,
                step: step.clone(),
                by: signer.id,
                request: request.clone(),
            }));
            Ok(Ok(events))
        }
        PermitsInstruction::ProvideInformation {
            application: id,
            form,
            documents,
        } => {
            let mut application = tri!(load_application(state, *id).await?);
            tri!(check_applicant(&application, signer));
            tri!(check_undecided(&application));
            if application.awaiting.is_none() {
                fail!("nothing_requested", application = id);
            }
            if application.documents.len() + documents.len()
                > 2 * civitas_core::permits::DOCUMENTS_MAX
            {
                fail!(
                    "too_many_documents",
                    application = id,
                    held = application.documents.len() as u64,
                    given = documents.len() as u64,
                    max = (2 * civitas_core::permits::DOCUMENTS_MAX) as u64
                );
            }
            tri!(check_documents(state, documents).await?);
            let definition =
                load_definition(state, &application.permit_type, application.version).await?;
            // The form's next version in the vault, if the answers changed.
            let mut events = Vec::new();
            if let Some(commitment) = form {
                let current =
                    tri!(civitas_sharing::state::live_record(state, &application.form).await?);
                events.push(tri!(
                    civitas_sharing::handler::rectify(
                        state,
                        &application.form,
                        current.version.saturating_add(1),
                        *commitment,
                        FORM_BASIS,
                        signer.id
                    )
                    .await?
                ));
            }
            application.documents.extend(documents.iter().copied());
            application.awaiting = None;
            start_clock(state, &mut application, &definition, now).await?;
            let step =
                current_step(&application, &definition).map_or(String::new(), |s| s.name.clone());
            state.put_typed(&application_key(*id), &application);
            events.push(permits(PermitsEvent::InformationProvided {
                application: *id,
                applicant: application.applicant,
                step,
                deadline: application.deadline,
            }));
            Ok(Ok(events))
        }
        PermitsInstruction::Decide {
            application: id,
            step,
            approve,
            scope,
            reason,
        } => {
            let (mut application, definition, mut events) =
                tri!(open_step(env, state, *id, step, signer).await?);
            if usize::from(application.step) + 1 != definition.steps.len() {
                fail!("not_the_last_step", application = id, step = step);
            }
            let outcome = if *approve {
                tri!(check_renewable(state, &application, now).await?);
                Outcome::Approved
            } else {
                Outcome::Refused
            };
            events.extend(
                decide(
                    env,
                    state,
                    &mut application,
                    &definition,
                    outcome,
                    Some(signer.id),
                    scope,
                    reason,
                )
                .await?,
            );
            Ok(Ok(events))
        }
        PermitsInstruction::Withdraw { application: id } => {
            let mut application = tri!(load_application(state, *id).await?);
            tri!(check_applicant(&application, signer));
            tri!(check_undecided(&application));
            let definition =
                load_definition(state, &application.permit_type, application.version).await?;
            let events = decide(
                env,
                state,
                &mut application,
                &definition,
                Outcome::Withdrawn,
                None,
                "",
                "withdrawn by the applicant",
            )
            .await?;
            Ok(Ok(events))
        }
        PermitsInstruction::Appeal {
            application: id,
            grounds,
        } => {
            let mut application = tri!(load_application(state, *id).await?);
            tri!(check_applicant(&application, signer));
            let Some(decision) = &application.decision else {
                fail!("not_refused", application = id);
            };
            if decision.outcome != Outcome::Refused {
                fail!("not_refused", application = id);
            }
            if application.appeal.is_some() {
                fail!("already_appealed", application = id);
            }
            let definition =
                load_definition(state, &application.permit_type, application.version).await?;
            let until = after(decision.time, definition.appeal_secs);
            if now.0 > until.0 {
                fail!("appeal_too_late", application = id, until = until);
            }
            application.appeal = Some(AppealRecord {
                grounds: *grounds,
                height: env.height,
                time: now,
            });
            update_stats(state, &application.permit_type, |s| s.appealed += 1).await?;
            state.put_typed(&application_key(*id), &application);
            Ok(Ok(vec![permits(PermitsEvent::ApplicationAppealed {
                application: *id,
                applicant: application.applicant,
                grounds: *grounds,
            })]))
        }
        PermitsInstruction::DecideAppeal {
            application: id,
            upheld,
            scope,
            reason,
        } => {
            let mut application = tri!(load_application(state, *id).await?);
            let refused = application
                .decision
                .as_ref()
                .is_some_and(|d| d.outcome == Outcome::Refused);
            if application.appeal.is_none() || !refused {
                fail!("not_appealed", application = id);
            }
            tri!(check_not_own(&application, signer));
            if *upheld {
                tri!(check_renewable(state, &application, now).await?);
            }
            let definition =
                load_definition(state, &application.permit_type, application.version).await?;
            let outcome = if *upheld {
                Outcome::ApprovedOnAppeal
            } else {
                Outcome::AppealDismissed
            };
            let events = decide(
                env,
                state,
                &mut application,
                &definition,
                outcome,
                Some(signer.id),
                scope,
                reason,
            )
            .await?;
            Ok(Ok(events))
        }
        PermitsInstruction::Amend {
            licence: id,
            scope,
            reason,
        } => {
            let mut licence = tri!(load_licence(state, *id).await?);
            tri!(check_not_holder(&licence, signer));
            tri!(check_standing(&licence, now));
            licence.scope = scope.clone();
            state.put_typed(&licence_key(*id), &licence);
            Ok(Ok(vec![permits(PermitsEvent::LicenceChanged {
                licence: *id,
                holder: licence.holder,
                change: LicenceChange::Amended,
                by: Some(signer.id),
                reason: reason.clone(),
                valid_until: licence.valid_until,
                scope: licence.scope.clone(),
            })]))
        }
        PermitsInstruction::ChangeLicence {
            licence: id,
            action,
            reason,
        } => {
            let mut licence = tri!(load_licence(state, *id).await?);
            tri!(check_not_holder(&licence, signer));
            let change = match action {
                LicenceAction::Suspend => {
                    tri!(check_standing(&licence, now));
                    if licence.stopped.is_some() {
                        fail!("licence_suspended", licence = id);
                    }
                    LicenceChange::Suspended
                }
                LicenceAction::Reinstate => match &licence.stopped {
                    Some(stop) if stop.action == LicenceAction::Suspend => {
                        LicenceChange::Reinstated
                    }
                    Some(stop) => fail!("licence_revoked", licence = id, height = stop.height),
                    None => fail!("licence_not_suspended", licence = id),
                },
                LicenceAction::Revoke => {
                    if let Some(stop) = &licence.stopped
                        && stop.action == LicenceAction::Revoke
                    {
                        fail!("licence_revoked", licence = id, height = stop.height);
                    }
                    LicenceChange::Revoked
                }
            };
            licence.stopped = match action {
                LicenceAction::Reinstate => None,
                LicenceAction::Suspend | LicenceAction::Revoke => Some(LicenceStop {
                    action: *action,
                    by: signer.id,
                    reason: reason.clone(),
                    height: env.height,
                    time: now,
                }),
            };
            state.put_typed(&licence_key(*id), &licence);
            Ok(Ok(vec![permits(PermitsEvent::LicenceChanged {
                licence: *id,
                holder: licence.holder,
                change,
                by: Some(signer.id),
                reason: reason.clone(),
                valid_until: licence.valid_until,
                scope: licence.scope.clone(),
            })]))
        }
    }
}

/// A licence that is neither revoked nor expired (a suspended one may still be amended,
/// suspended again is refused by the caller).
fn check_standing(licence: &Licence, now: TimestampMs) -> Result<(), Failure> {
    if let Some(stop) = &licence.stopped
        && stop.action == LicenceAction::Revoke
    {
        return Err(failure!(
            "licence_revoked",
            licence = licence.id,
            height = stop.height
        ));
    }
    if let Some(until) = licence.valid_until
        && until.0 <= now.0
    {
        return Err(failure!(
            "licence_expired",
            licence = licence.id,
            valid_until = until
        ));
    }
    Ok(())
}

/// Refuses an official acting on a licence they hold.
fn check_not_holder(licence: &Licence, signer: &Account) -> Result<(), Failure> {
    if licence.holder == signer.id {
        return Err(failure!("own_licence", licence = licence.id));
    }
    Ok(())
}

/// For a renewal about to be granted: the licence it renews still stands (not revoked,
/// suspended or expired).
async fn check_renewable<S: StateView>(
    state: &mut Overlay<'_, S>,
    application: &Application,
    now: TimestampMs,
) -> Handled<()> {
    let Some(id) = application.renews else {
        return Ok(Ok(()));
    };
    let licence = tri!(load_licence(state, id).await?);
    tri!(check_standing(&licence, now));
    if licence.stopped.is_some() {
        fail!("not_renewable", licence = id, reason = "it is suspended");
    }
    // Another renewal filed since (this one was refused, and is granted on appeal): one at a
    // time, or the licence would be extended twice.
    if let Some(other) = licence.renewing
        && other != application.id
    {
        fail!("renewal_pending", licence = id, application = other);
    }
    if licence.application > application.id {
        fail!(
            "not_renewable",
            licence = id,
            reason = "a later application renewed it"
        );
    }
    Ok(Ok(()))
}

/// Whether `signer` may apply to renew `licence` now under `definition`.
fn check_renewal(
    licence: &Licence,
    signer: &Account,
    permit_type: &str,
    definition: &PermitTypeDef,
    now: TimestampMs,
) -> Result<(), Failure> {
    if licence.holder != signer.id {
        return Err(failure!("not_the_holder", licence = licence.id));
    }
    check_standing(licence, now)?;
    if licence.stopped.is_some() {
        return Err(failure!(
            "not_renewable",
            licence = licence.id,
            reason = "it is suspended"
        ));
    }
    if licence.permit_type != permit_type {
        return Err(failure!(
            "not_renewable",
            licence = licence.id,
            reason = "it is of another permit type"
        ));
    }
    let Some(until) = licence.valid_until else {
        return Err(failure!(
            "not_renewable",
            licence = licence.id,
            reason = "it does not expire"
        ));
    };
    if definition.renewal_window_secs == 0 {
        return Err(failure!(
            "not_renewable",
            licence = licence.id,
            reason = "its permit type has no renewal"
        ));
    }
    let opens = TimestampMs(
        until
            .0
            .saturating_sub(definition.renewal_window_secs.saturating_mul(1_000)),
    );
    if now.0 < opens.0 {
        return Err(failure!(
            "not_renewable",
            licence = licence.id,
            reason = "its renewal window has not opened"
        ));
    }
    Ok(())
}

/// At the end of each block: acts on the deadlines that passed, in the order they fell due,
/// as many as `budget` events allow (a deadline that is acted on emits at most
/// [`EVENTS_PER_DEADLINE`]; a stale one, whose clock moved on, emits none and costs only its
/// reading), and at most [`DEADLINES_PER_BLOCK`] in all; the rest wait for the next blocks.
pub async fn end_block<S: StateView>(
    env: &BlockEnv,
    state: &mut Overlay<'_, S>,
    budget: usize,
) -> Result<Vec<Event>, BlockError> {
    let mut events = Vec::new();
    let mut looked = 0;
    loop {
        let room = budget.saturating_sub(events.len()) / EVENTS_PER_DEADLINE;
        let max = room.min(DEADLINES_PER_BLOCK - looked);
        if max == 0 {
            break;
        }
        let due = DUE.take(state, env.timestamp, max).await?;
        if due.is_empty() {
            break;
        }
        looked += due.len();
        for entry in due {
            match Due::decode(&entry) {
                Some(Due::Step { id, clock }) => {
                    step_overdue(env, state, id, clock, &mut events).await?;
                }
                Some(Due::Expiry { id, renewals }) => {
                    if let Some(licence) = state.get_typed::<Licence>(&licence_key(id)).await?
                        && licence.renewals == renewals
                        && licence.valid_until.is_some_and(|u| u.0 <= env.timestamp.0)
                        && licence
                            .stopped
                            .as_ref()
                            .is_none_or(|s| s.action != LicenceAction::Revoke)
                    {
                        events.push(permits(PermitsEvent::LicenceChanged {
                            licence: id,
                            holder: licence.holder,
                            change: LicenceChange::Expired,
                            by: None,
                            reason: String::new(),
                            valid_until: licence.valid_until,
                            scope: licence.scope.clone(),
                        }));
                    }
                }
                None => {}
            }
        }
    }
    Ok(events)
}

/// What follows when the running deadline of `application`'s current step has passed at
/// `now`, if it has (`None`: no deadline, the clock stopped, or not yet): an escalated step
/// late again is only reported, and a renewal whose licence no longer stands is not granted
/// by silence.
async fn passed_deadline<S: StateView>(
    state: &mut Overlay<'_, S>,
    application: &Application,
    definition: &PermitTypeDef,
    now: TimestampMs,
) -> Result<Option<(TimestampMs, OnOverdue)>, BlockError> {
    let Some(deadline) = application.deadline else {
        return Ok(None);
    };
    if application.decision.is_some() || application.awaiting.is_some() || deadline.0 > now.0 {
        return Ok(None);
    }
    let Some(step) = current_step(application, definition) else {
        return Ok(None);
    };
    let mut consequence = if application.escalated {
        OnOverdue::Notify
    } else {
        step.on_overdue
    };
    if consequence == OnOverdue::Approve
        && let Some(id) = application.renews
    {
        let stands = match state.get_typed::<Licence>(&licence_key(id)).await? {
            Some(licence) => {
                check_standing(&licence, now).is_ok()
                    && licence.stopped.is_none()
                    && licence.renewing.is_none_or(|r| r == application.id)
                    && licence.application < application.id
            }
            None => false,
        };
        if !stands {
            consequence = OnOverdue::Notify;
        }
    }
    Ok(Some((deadline, consequence)))
}

/// Marks `application` overdue at its current step's `deadline` and counts it; returns the
/// event. The caller applies the consequence and stores the application.
async fn mark_overdue<S: StateView>(
    env: &BlockEnv,
    state: &mut Overlay<'_, S>,
    application: &mut Application,
    definition: &PermitTypeDef,
    deadline: TimestampMs,
    consequence: OnOverdue,
) -> Result<Event, BlockError> {
    let step = current_step(application, definition).map_or(String::new(), |s| s.name.clone());
    let first_miss = application.overdue.is_none();
    update_stats(state, &application.permit_type, |stats| {
        if first_miss {
            stats.overdue += 1;
        }
        if let Some(figures) = stats.step_mut(&step) {
            figures.overdue += 1;
        }
    })
    .await?;
    application.overdue = Some(Overdue {
        step: step.clone(),
        deadline,
        height: env.height,
    });
    application.deadline = None;
    Ok(permits(PermitsEvent::ApplicationOverdue {
        application: application.id,
        applicant: application.applicant,
        agency: application.agency.clone(),
        step,
        deadline,
        consequence,
        supervisor_role: definition.supervisor_role.clone(),
    }))
}

/// Before an official acts on an application's current step: if its deadline has passed
/// and the queue has not yet acted on it, a deadline that is only reported is marked now (its
/// event goes first in the transaction's receipt); one that grants or escalates the step
/// refuses the action (`deadline_passed`): the ledger applies it at the end of the block.
async fn settle_deadline<S: StateView>(
    env: &BlockEnv,
    state: &mut Overlay<'_, S>,
    application: &mut Application,
    definition: &PermitTypeDef,
) -> Handled<Vec<Event>> {
    match passed_deadline(state, application, definition, env.timestamp).await? {
        None => Ok(Ok(Vec::new())),
        Some((deadline, OnOverdue::Notify)) => {
            let event = mark_overdue(
                env,
                state,
                application,
                definition,
                deadline,
                OnOverdue::Notify,
            )
            .await?;
            Ok(Ok(vec![event]))
        }
        Some((deadline, consequence)) => fail!(
            "deadline_passed",
            application = application.id,
            deadline = deadline,
            consequence = consequence.as_str()
        ),
    }
}

/// Application `id`'s step deadline under clock `clock` passed: if the clock still runs, the
/// application is overdue, and what the type says follows.
async fn step_overdue<S: StateView>(
    env: &BlockEnv,
    state: &mut Overlay<'_, S>,
    id: u64,
    clock: u32,
    events: &mut Vec<Event>,
) -> Result<(), BlockError> {
    let Some(mut application) = state.get_typed::<Application>(&application_key(id)).await? else {
        return Ok(());
    };
    if application.clock != clock {
        return Ok(());
    }
    let definition = load_definition(state, &application.permit_type, application.version).await?;
    let Some((deadline, consequence)) =
        passed_deadline(state, &application, &definition, env.timestamp).await?
    else {
        return Ok(());
    };
    events.push(
        mark_overdue(
            env,
            state,
            &mut application,
            &definition,
            deadline,
            consequence,
        )
        .await?,
    );
    match consequence {
        OnOverdue::Notify => {}
        OnOverdue::Approve => {
            let scope = format!("as applied for: {}", definition.title);
            let scope: String = scope
                .char_indices()
                .take_while(|(i, c)| i + c.len_utf8() <= civitas_core::limits::NAME_MAX_BYTES)
                .map(|(_, c)| c)
                .collect();
            let reason = format!(
                "the deadline of step {} passed with no decision: silence is consent",
                application.overdue.as_ref().map_or("", |o| o.step.as_str())
            );
            events.extend(
                decide(
                    env,
                    state,
                    &mut application,
                    &definition,
                    Outcome::ApprovedTacitly,
                    None,
                    &scope,
                    &reason,
                )
                .await?,
            );
        }
        OnOverdue::Escalate => {
            application.escalated = true;
            start_clock(state, &mut application, &definition, env.timestamp).await?;
        }
    }
    state.put_typed(&application_key(id), &application);
    Ok(())
}
