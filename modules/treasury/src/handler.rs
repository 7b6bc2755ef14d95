//! Treasury handlers: the limits are checked here, by execution, on every validator.
//!
//! Committed never exceeds allotted, allotted never exceeds appropriated, paid never exceeds
//! committed, and none of them falls below the figure it bounds. A refusal says which limit and
//! by how much.

use crate::state::*;
use civitas_core::crypto::AccountId;
use civitas_core::event::Event;
use civitas_core::limits::{AGENCY_ID_MAX_BYTES, REFERENCE_MAX_BYTES};
use civitas_core::money::Money;
use civitas_core::treasury::{Direction, EntryKind, TreasuryEvent, TreasuryInstruction};
use civitas_identity::handler::agency_in_force;
use civitas_identity::state::Account;
use civitas_kit::StateView;
use civitas_kit::{BlockError, Failure, Overlay, TxContext, failure};
use civitas_kit::{fail, load_required, tri};

type Outcome = Result<Result<Vec<Event>, Failure>, BlockError>;

/// Loads an open fiscal year and checks `money` is in its currency.
pub async fn open_year<S: StateView>(
    state: &mut Overlay<'_, S>,
    year: u32,
    money: Option<&Money>,
) -> Result<Result<FiscalYear, Failure>, BlockError> {
    let Some(record) = state.get_typed::<FiscalYear>(&year_key(year)).await? else {
        return Ok(Err(failure!("unknown_year", year = year)));
    };
    if !record.open {
        return Ok(Err(failure!("year_closed", year = year)));
    }
    if let Some(money) = money
        && money.currency != record.currency
    {
        return Ok(Err(failure!(
            "currency_mismatch",
            year = year,
            expected = record.currency,
            currency = money.currency
        )));
    }
    Ok(Ok(record))
}

/// Loads an appropriation.
pub async fn load_appropriation<S: StateView>(
    state: &mut Overlay<'_, S>,
    id: u64,
) -> Result<Result<Appropriation, Failure>, BlockError> {
    load_required(state, &appropriation_key(id), || {
        failure!("unknown_appropriation", appropriation = id)
    })
    .await
}

/// Loads a commitment.
pub async fn load_commitment<S: StateView>(
    state: &mut Overlay<'_, S>,
    id: u64,
) -> Result<Result<Commitment, Failure>, BlockError> {
    load_required(state, &commitment_key(id), || {
        failure!("unknown_commitment", commitment = id)
    })
    .await
}

/// Loads a payment.
pub async fn load_payment<S: StateView>(
    state: &mut Overlay<'_, S>,
    id: u64,
) -> Result<Result<Payment, Failure>, BlockError> {
    load_required(state, &payment_key(id), || {
        failure!("unknown_payment", payment = id)
    })
    .await
}

/// Loads a registered vendor.
pub async fn load_vendor<S: StateView>(
    state: &mut Overlay<'_, S>,
    account: &AccountId,
) -> Result<Result<Vendor, Failure>, BlockError> {
    load_required(state, &vendor_key(account), || {
        failure!("unknown_vendor", account = account)
    })
    .await
}

/// One movement of money about to be recorded.
pub struct Draft {
    pub kind: EntryKind,
    pub commitment: Option<u64>,
    pub payment: Option<u64>,
    pub vendor: Option<AccountId>,
    pub amount: u64,
    pub decrease: bool,
    pub note: String,
}

impl Draft {
    /// An entry that changes an appropriation's own figures (no commitment, payment or vendor).
    fn budget(kind: EntryKind, amount: u64, decrease: bool, note: &str) -> Self {
        Self {
            kind,
            commitment: None,
            payment: None,
            vendor: None,
            amount,
            decrease,
            note: note.to_string(),
        }
    }
}

fn apply_delta(figure: &mut u64, amount: u64, decrease: bool) -> Option<()> {
    *figure = if decrease {
        figure.checked_sub(amount)?
    } else {
        figure.checked_add(amount)?
    };
    Some(())
}

/// Records an entry: numbers it, updates the appropriation's figures and every total it counts
/// in, links it to each total's previous entry, and writes it. The caller has checked the
/// limits; a total that would overflow `u64` refuses the entry.
pub async fn post_entry<S: StateView>(
    ctx: &TxContext<'_>,
    appropriation: &mut Appropriation,
    draft: Draft,
    state: &mut Overlay<'_, S>,
) -> Result<Result<Event, Failure>, BlockError> {
    let mut config = load_config(state).await?;
    let seq = config.next_entry;
    config.next_entry += 1;
    let month = month_of(ctx.env.timestamp);
    let money = Money::new(draft.amount, appropriation.currency);
    let overflow = || failure!("total_overflow", amount = money);
    let mut entry = Entry {
        seq,
        kind: draft.kind,
        year: appropriation.year,
        appropriation: appropriation.id,
        commitment: draft.commitment,
        payment: draft.payment,
        vendor: draft.vendor,
        agency: appropriation.agency.clone(),
        programme: appropriation.programme.clone(),
        classification: appropriation.classification.clone(),
        month,
        amount: money,
        decrease: draft.decrease,
        by: ctx.signer,
        note: draft.note,
        time: ctx.env.timestamp,
        height: ctx.env.height,
        tx: ctx.tx_hash,
        links: Vec::new(),
        previous_of_appropriation: appropriation.last_entry,
    };
    let mut totals = Vec::new();
    for dimension in Dimension::ALL {
        let Some(value) = entry.value_in(dimension) else {
            continue;
        };
        let key = total_key(entry.year, dimension, &value);
        let mut total = state.get_typed::<Total>(&key).await?.unwrap_or(Total {
            year: entry.year,
            dimension,
            value,
            currency: appropriation.currency,
            figures: Figures::default(),
            entries: 0,
            last_entry: 0,
        });
        if apply_delta(
            figure_mut(&mut total.figures, draft.kind),
            draft.amount,
            draft.decrease,
        )
        .is_none()
        {
            return Ok(Err(overflow()));
        }
        entry.links.push(Link {
            dimension,
            previous: total.last_entry,
        });
        total.entries += 1;
        total.last_entry = seq;
        totals.push((key, total));
    }
    if apply_delta(
        figure_mut(&mut appropriation.figures, draft.kind),
        draft.amount,
        draft.decrease,
    )
    .is_none()
    {
        return Ok(Err(overflow()));
    }
    appropriation.last_entry = seq;
    for (key, total) in &totals {
        state.put_typed(key, total);
    }
    state.put_typed(&appropriation_key(appropriation.id), appropriation);
    state.put_typed(&entry_key(seq), &entry);
    state.put_typed(&config_key(), &config);
    Ok(Ok(Event::Treasury(TreasuryEvent::TreasuryEntry {
        entry: seq,
        kind: entry.kind,
        year: entry.year,
        appropriation: entry.appropriation,
        commitment: entry.commitment,
        payment: entry.payment,
        vendor: entry.vendor,
        agency: entry.agency,
        amount: money,
        decrease: entry.decrease,
    })))
}

/// Where money received comes from and what it was for: a module's part of a revenue entry.
pub struct Receipt<'a> {
    /// The receiving agency.
    pub agency: &'a str,
    /// The source code, such as `permit.business-licence`.
    pub source: String,
    /// The record it was received for, as `<space>/<id>`.
    pub record: String,
    /// The receipt or payment reference.
    pub reference: &'a str,
    /// How much.
    pub amount: Money,
}

/// Records money an agency received (a permit's fee): a revenue entry of the fiscal year of
/// the block's calendar year (UTC), counted in that year's totals overall and by agency,
/// source and month, each linked to its previous entry. The year must be open, in the
/// amount's currency. Returns the entry's number within the year and its event.
pub async fn receive<S: StateView>(
    ctx: &TxContext<'_>,
    state: &mut Overlay<'_, S>,
    receipt: Receipt<'_>,
) -> Result<Result<(u32, u64, Event), Failure>, BlockError> {
    let (year, ..) = ctx.env.timestamp.civil();
    let year = u32::try_from(year).unwrap_or(0);
    let fiscal = tri!(open_year(state, year, Some(&receipt.amount)).await?);
    if receipt.amount.amount == 0 {
        return Ok(Err(failure!("zero_amount", amount = receipt.amount)));
    }
    // What the calling module names must fit the record's bounds: a value written longer than
    // its bound would not read back.
    for (field, text, max) in [
        ("agency", receipt.agency, AGENCY_ID_MAX_BYTES),
        ("source", receipt.source.as_str(), REVENUE_SOURCE_MAX_BYTES),
        ("record", receipt.record.as_str(), REVENUE_RECORD_MAX_BYTES),
        ("reference", receipt.reference, REFERENCE_MAX_BYTES),
    ] {
        if text.len() > max {
            fail!("receipt_too_long", field = field, max = max);
        }
    }
    let mut entry = Revenue {
        year,
        seq: 0,
        agency: receipt.agency.to_string(),
        source: receipt.source,
        record: receipt.record,
        reference: receipt.reference.to_string(),
        amount: receipt.amount,
        month: month_of(ctx.env.timestamp),
        by: ctx.signer,
        time: ctx.env.timestamp,
        height: ctx.env.height,
        tx: ctx.tx_hash,
        links: Vec::new(),
    };
    let mut totals = Vec::new();
    for dimension in RevenueDimension::ALL {
        let value = entry.value_in(dimension);
        let key = revenue_total_key(year, dimension, &value);
        let mut total = state
            .get_typed::<RevenueTotal>(&key)
            .await?
            .unwrap_or(RevenueTotal {
                year,
                dimension,
                value,
                currency: fiscal.currency,
                received: 0,
                entries: 0,
                last_entry: 0,
            });
        let Some(received) = total.received.checked_add(u128::from(entry.amount.amount)) else {
            fail!("total_overflow", amount = entry.amount);
        };
        total.received = received;
        totals.push((key, total));
    }
    // The year's overall total (the first of `RevenueDimension::ALL`) counts every entry of the
    // year: the next number is its count.
    let seq = totals[0].1.entries + 1;
    entry.seq = seq;
    for (key, total) in &mut totals {
        entry.links.push(RevenueLink {
            dimension: total.dimension,
            previous: total.last_entry,
        });
        total.entries += 1;
        total.last_entry = seq;
        state.put_typed(key, &*total);
    }
    state.put_typed(&revenue_key(year, seq), &entry);
    let event = Event::Treasury(TreasuryEvent::RevenueReceived {
        year,
        entry: seq,
        agency: entry.agency,
        source: entry.source,
        amount: entry.amount,
    });
    Ok(Ok((year, seq, event)))
}

/// The record a limit is about, as a failure argument: its kind (`appropriation`,
/// `commitment`) and number.
type Subject = (&'static str, u64);

/// Refuses `amount` more when it would take `current` above `limit`; the failure (`code`)
/// names `subject` and the amounts.
fn within(
    current: u64,
    amount: u64,
    limit: u64,
    currency: civitas_core::money::Currency,
    code: &'static str,
    subject: Subject,
) -> Result<(), Failure> {
    let after = current.saturating_add(amount);
    if after > limit {
        let money = |minor| civitas_core::messages::money(minor, currency);
        return Err(Failure::new(
            code,
            vec![
                (subject.0, subject.1.to_string()),
                ("after", money(after)),
                ("amount", money(amount)),
                ("excess", money(after - limit)),
                ("limit", money(limit)),
            ],
        ));
    }
    Ok(())
}

/// Refuses taking `amount` from `current` when it would fall below `floor`; the failure
/// (`code`) names `subject` and the amounts.
fn not_below(
    current: u64,
    amount: u64,
    floor: u64,
    currency: civitas_core::money::Currency,
    code: &'static str,
    subject: Subject,
) -> Result<(), Failure> {
    let money = |minor| civitas_core::messages::money(minor, currency);
    let mut args = vec![
        (subject.0, subject.1.to_string()),
        ("amount", money(amount)),
    ];
    match current.checked_sub(amount) {
        Some(after) if after >= floor => return Ok(()),
        Some(after) => args.extend([
            ("after", money(after)),
            ("shortfall", money(floor - after)),
            ("floor", money(floor)),
        ]),
        None => args.push(("current", money(current))),
    }
    Err(Failure::new(code, args))
}

/// Commits `amount` of an appropriation to a vendor, within what is allotted. Shared by
/// `treasury.commit` and an accepted procurement milestone.
pub async fn commit<S: StateView>(
    ctx: &TxContext<'_>,
    appropriation: &mut Appropriation,
    vendor: AccountId,
    amount: Money,
    description: String,
    milestone: Option<MilestoneRef>,
    state: &mut Overlay<'_, S>,
) -> Result<Result<(Commitment, Event), Failure>, BlockError> {
    tri!(open_year(state, appropriation.year, Some(&amount)).await?);
    tri!(load_vendor(state, &vendor).await?);
    let figures = appropriation.figures;
    tri!(
        within(
            figures.committed,
            amount.amount,
            figures.allotted,
            amount.currency,
            "exceeds_allotment",
            ("appropriation", appropriation.id),
        )
        .map_err(|mut failure| {
            let appropriated = civitas_core::messages::money(figures.appropriated, amount.currency);
            failure.args.push(("appropriated", appropriated));
            failure
        })
    );
    let mut config = load_config(state).await?;
    let id = config.next_commitment;
    config.next_commitment += 1;
    state.put_typed(&config_key(), &config);
    let commitment = Commitment {
        id,
        appropriation: appropriation.id,
        year: appropriation.year,
        agency: appropriation.agency.clone(),
        vendor,
        description: description.clone(),
        amount,
        paid: 0,
        milestone,
        height: ctx.env.height,
    };
    state.put_typed(&commitment_key(id), &commitment);
    let draft = Draft {
        kind: EntryKind::Committed,
        commitment: Some(id),
        payment: None,
        vendor: Some(vendor),
        amount: amount.amount,
        decrease: false,
        note: description,
    };
    Ok(post_entry(ctx, appropriation, draft, state)
        .await?
        .map(|event| (commitment, event)))
}

/// Pays `amount` against a commitment, within what remains of it. Shared by `treasury.pay`
/// and an accepted procurement milestone.
pub async fn pay<S: StateView>(
    ctx: &TxContext<'_>,
    approvers: Vec<AccountId>,
    commitment: &mut Commitment,
    amount: Money,
    reference: String,
    state: &mut Overlay<'_, S>,
) -> Result<Result<(Payment, Event), Failure>, BlockError> {
    let mut appropriation = tri!(load_appropriation(state, commitment.appropriation).await?);
    tri!(open_year(state, commitment.year, Some(&amount)).await?);
    tri!(within(
        commitment.paid,
        amount.amount,
        commitment.amount.amount,
        amount.currency,
        "exceeds_commitment",
        ("commitment", commitment.id),
    ));
    let mut config = load_config(state).await?;
    let id = config.next_payment;
    config.next_payment += 1;
    state.put_typed(&config_key(), &config);
    let draft = Draft {
        kind: EntryKind::Paid,
        commitment: Some(commitment.id),
        payment: Some(id),
        vendor: Some(commitment.vendor),
        amount: amount.amount,
        decrease: false,
        note: reference.clone(),
    };
    let event = tri!(post_entry(ctx, &mut appropriation, draft, state).await?);
    let Event::Treasury(TreasuryEvent::TreasuryEntry { entry, .. }) = &event else {
        return Err(BlockError::invalid(
            "internal_invariant",
            "post_entry returned another event",
        ));
    };
    commitment.paid += amount.amount;
    state.put_typed(&commitment_key(commitment.id), commitment);
    let payment = Payment {
        id,
        commitment: commitment.id,
        appropriation: commitment.appropriation,
        agency: commitment.agency.clone(),
        vendor: commitment.vendor,
        amount,
        reference,
        approvers,
        entry: *entry,
        time: ctx.env.timestamp,
        height: ctx.env.height,
        tx: ctx.tx_hash,
        reversal: None,
    };
    state.put_typed(&payment_key(id), &payment);
    Ok(Ok((payment, event)))
}

/// Applies a treasury instruction (already authorized).
pub async fn apply<S: StateView>(
    ctx: &TxContext<'_>,
    signer: &Account,
    cosigners: &[Account],
    op: &TreasuryInstruction,
    state: &mut Overlay<'_, S>,
) -> Outcome {
    match op {
        TreasuryInstruction::OpenYear {
            year,
            currency,
            procurement_threshold,
        } => {
            if state.contains(&year_key(*year)).await? {
                fail!("year_exists", year = year);
            }
            state.put_typed(
                &year_key(*year),
                &FiscalYear {
                    year: *year,
                    currency: *currency,
                    procurement_threshold: *procurement_threshold,
                    open: true,
                    opened_by: signer.id,
                    opened_height: ctx.env.height,
                },
            );
            Ok(Ok(vec![Event::Treasury(TreasuryEvent::YearOpened {
                year: *year,
                currency: *currency,
                procurement_threshold: *procurement_threshold,
            })]))
        }
        TreasuryInstruction::CloseYear { year } => {
            let mut record = tri!(open_year(state, *year, None).await?);
            record.open = false;
            state.put_typed(&year_key(*year), &record);
            Ok(Ok(vec![Event::Treasury(TreasuryEvent::YearClosed {
                year: *year,
            })]))
        }
        TreasuryInstruction::RegisterVendor {
            account,
            name,
            registration,
        } => {
            if state.contains(&vendor_key(account)).await? {
                fail!("vendor_exists", account = account);
            }
            match civitas_identity::state::load_account(state, account).await? {
                Some(a) if a.kind == civitas_core::event::AccountKind::Citizen => {}
                Some(_) => fail!("not_a_business", account = account),
                None => fail!("unknown_account", account = account),
            }
            // From protocol 3 the vendor signs its own registration: a sole trader's name and
            // registration number are personal data, published only by the person.
            if ctx.env.protocol.version >= civitas_core::treasury::VENDOR_SIGNS_SINCE
                && !cosigners.iter().any(|c| c.id == *account)
            {
                fail!("vendor_must_sign", account = account);
            }
            state.put_typed(
                &vendor_key(account),
                &Vendor {
                    account: *account,
                    name: name.clone(),
                    registration: registration.clone(),
                    registered_by: signer.id,
                    height: ctx.env.height,
                },
            );
            Ok(Ok(vec![Event::Treasury(TreasuryEvent::VendorRegistered {
                account: *account,
                name: name.clone(),
            })]))
        }
        TreasuryInstruction::Appropriate {
            year,
            agency,
            programme,
            classification,
            purpose,
            amount,
        } => {
            let fiscal = tri!(open_year(state, *year, Some(amount)).await?);
            // A retired agency keeps its records but is given no new money.
            tri!(agency_in_force(state, agency).await?);
            let mut config = load_config(state).await?;
            let id = config.next_appropriation;
            config.next_appropriation += 1;
            state.put_typed(&config_key(), &config);
            let mut appropriation = Appropriation {
                id,
                year: *year,
                agency: agency.clone(),
                programme: programme.clone(),
                classification: classification.clone(),
                purpose: purpose.clone(),
                currency: fiscal.currency,
                figures: Figures::default(),
                last_entry: 0,
            };
            let draft = Draft::budget(EntryKind::Appropriated, amount.amount, false, purpose);
            Ok(post_entry(ctx, &mut appropriation, draft, state)
                .await?
                .map(|event| vec![event]))
        }
        TreasuryInstruction::AdjustAppropriation {
            appropriation,
            direction,
            amount,
            reason,
        } => {
            let mut record = tri!(load_appropriation(state, *appropriation).await?);
            tri!(open_year(state, record.year, Some(amount)).await?);
            let decrease = *direction == Direction::Decrease;
            if !decrease {
                tri!(agency_in_force(state, &record.agency).await?);
            }
            if decrease {
                tri!(not_below(
                    record.figures.appropriated,
                    amount.amount,
                    record.figures.allotted,
                    amount.currency,
                    "below_allotted",
                    ("appropriation", *appropriation),
                ));
            }
            let draft = Draft::budget(
                EntryKind::AppropriationAdjusted,
                amount.amount,
                decrease,
                reason,
            );
            Ok(post_entry(ctx, &mut record, draft, state)
                .await?
                .map(|event| vec![event]))
        }
        TreasuryInstruction::Allot {
            appropriation,
            direction,
            amount,
            reason,
        } => {
            let mut record = tri!(load_appropriation(state, *appropriation).await?);
            tri!(open_year(state, record.year, Some(amount)).await?);
            let decrease = *direction == Direction::Decrease;
            if !decrease {
                tri!(agency_in_force(state, &record.agency).await?);
            }
            let figures = record.figures;
            let check = if decrease {
                not_below(
                    figures.allotted,
                    amount.amount,
                    figures.committed,
                    amount.currency,
                    "below_committed",
                    ("appropriation", *appropriation),
                )
            } else {
                within(
                    figures.allotted,
                    amount.amount,
                    figures.appropriated,
                    amount.currency,
                    "exceeds_appropriation",
                    ("appropriation", *appropriation),
                )
            };
            tri!(check);
            let draft = Draft::budget(EntryKind::Allotted, amount.amount, decrease, reason);
            Ok(post_entry(ctx, &mut record, draft, state)
                .await?
                .map(|event| vec![event]))
        }
        TreasuryInstruction::Commit {
            appropriation,
            vendor,
            amount,
            description,
        } => {
            let mut record = tri!(load_appropriation(state, *appropriation).await?);
            Ok(commit(
                ctx,
                &mut record,
                *vendor,
                *amount,
                description.clone(),
                None,
                state,
            )
            .await?
            .map(|(_, event)| vec![event]))
        }
        TreasuryInstruction::AdjustCommitment {
            commitment,
            direction,
            amount,
            reason,
        } => {
            let mut record = tri!(load_commitment(state, *commitment).await?);
            let mut appropriation = tri!(load_appropriation(state, record.appropriation).await?);
            tri!(open_year(state, record.year, Some(amount)).await?);
            let decrease = *direction == Direction::Decrease;
            let figures = appropriation.figures;
            let check = if decrease {
                not_below(
                    record.amount.amount,
                    amount.amount,
                    record.paid,
                    amount.currency,
                    "below_paid",
                    ("commitment", *commitment),
                )
            } else {
                within(
                    figures.committed,
                    amount.amount,
                    figures.allotted,
                    amount.currency,
                    "exceeds_allotment",
                    ("appropriation", appropriation.id),
                )
            };
            tri!(check);
            if decrease {
                record.amount.amount -= amount.amount;
            } else {
                record.amount.amount += amount.amount;
            }
            state.put_typed(&commitment_key(record.id), &record);
            let draft = Draft {
                kind: EntryKind::CommitmentAdjusted,
                commitment: Some(record.id),
                payment: None,
                vendor: Some(record.vendor),
                amount: amount.amount,
                decrease,
                note: reason.clone(),
            };
            Ok(post_entry(ctx, &mut appropriation, draft, state)
                .await?
                .map(|event| vec![event]))
        }
        TreasuryInstruction::Pay {
            commitment,
            amount,
            reference,
        } => {
            let mut record = tri!(load_commitment(state, *commitment).await?);
            let approvers = std::iter::once(signer.id)
                .chain(cosigners.iter().map(|a| a.id))
                .collect();
            Ok(pay(
                ctx,
                approvers,
                &mut record,
                *amount,
                reference.clone(),
                state,
            )
            .await?
            .map(|(_, event)| vec![event]))
        }
        TreasuryInstruction::ReversePayment { payment, reason } => {
            let mut record = tri!(load_payment(state, *payment).await?);
            if let Some(reversal) = &record.reversal {
                fail!(
                    "already_reversed",
                    payment = payment,
                    entry = reversal.entry
                );
            }
            let mut commitment = tri!(load_commitment(state, record.commitment).await?);
            let mut appropriation = tri!(load_appropriation(state, record.appropriation).await?);
            tri!(open_year(state, commitment.year, None).await?);
            let draft = Draft {
                kind: EntryKind::PaymentReversed,
                commitment: Some(commitment.id),
                payment: Some(record.id),
                vendor: Some(record.vendor),
                amount: record.amount.amount,
                decrease: true,
                note: reason.clone(),
            };
            let event = tri!(post_entry(ctx, &mut appropriation, draft, state).await?);
            let Event::Treasury(TreasuryEvent::TreasuryEntry { entry, .. }) = &event else {
                return Err(BlockError::invalid(
                    "internal_invariant",
                    "post_entry returned another event",
                ));
            };
            commitment.paid = commitment.paid.saturating_sub(record.amount.amount);
            state.put_typed(&commitment_key(commitment.id), &commitment);
            record.reversal = Some(Reversal {
                reason: reason.clone(),
                by: signer.id,
                entry: *entry,
                height: ctx.env.height,
            });
            state.put_typed(&payment_key(record.id), &record);
            Ok(Ok(vec![event]))
        }
    }
}
