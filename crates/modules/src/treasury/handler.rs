//! Treasury handlers: the limits are checked here, by execution, on every validator.
//!
//! Committed never exceeds allotted, allotted never exceeds appropriated, paid never exceeds
//! committed, and none of them falls below the figure it bounds. A refusal says which limit and
//! by how much.

use super::state::*;
use crate::identity::state::{Account, Agency, agency_key};
use crate::load_required;
use civitas_core::crypto::AccountId;
use civitas_core::event::Event;
use civitas_core::money::{Money, format_amount};
use civitas_core::treasury::{Direction, EntryKind, TreasuryEvent, TreasuryInstruction};
use civitas_exec::{BlockError, Failure, Overlay, TxContext};
use civitas_state::StateView;

type Outcome = Result<Result<Vec<Event>, Failure>, BlockError>;

/// Loads an open fiscal year and checks `money` is in its currency.
pub(crate) async fn open_year<S: StateView>(
    state: &mut Overlay<'_, S>,
    year: u32,
    money: Option<&Money>,
) -> Result<Result<FiscalYear, Failure>, BlockError> {
    let Some(record) = state.get_typed::<FiscalYear>(&year_key(year)).await? else {
        return Ok(Err(Failure::new(
            "unknown_year",
            format!("fiscal year {year} has not been opened"),
        )));
    };
    if !record.open {
        return Ok(Err(Failure::new(
            "year_closed",
            format!("fiscal year {year} is closed"),
        )));
    }
    if let Some(money) = money
        && money.currency != record.currency
    {
        return Ok(Err(Failure::new(
            "currency_mismatch",
            format!(
                "fiscal year {year} is kept in {}; the amount is in {}",
                record.currency, money.currency
            ),
        )));
    }
    Ok(Ok(record))
}

/// Loads an appropriation.
pub async fn load_appropriation<S: StateView>(
    state: &mut Overlay<'_, S>,
    id: u64,
) -> Result<Result<Appropriation, Failure>, BlockError> {
    load_required(
        state,
        &appropriation_key(id),
        "unknown_appropriation",
        || format!("appropriation {id} does not exist"),
    )
    .await
}

/// Loads a commitment.
pub async fn load_commitment<S: StateView>(
    state: &mut Overlay<'_, S>,
    id: u64,
) -> Result<Result<Commitment, Failure>, BlockError> {
    load_required(state, &commitment_key(id), "unknown_commitment", || {
        format!("commitment {id} does not exist")
    })
    .await
}

/// Loads a payment.
pub async fn load_payment<S: StateView>(
    state: &mut Overlay<'_, S>,
    id: u64,
) -> Result<Result<Payment, Failure>, BlockError> {
    load_required(state, &payment_key(id), "unknown_payment", || {
        format!("payment {id} does not exist")
    })
    .await
}

/// Loads a registered vendor.
pub async fn load_vendor<S: StateView>(
    state: &mut Overlay<'_, S>,
    account: &AccountId,
) -> Result<Result<Vendor, Failure>, BlockError> {
    load_required(state, &vendor_key(account), "unknown_vendor", || {
        format!("account {account} is not a registered vendor")
    })
    .await
}

/// One movement of money about to be recorded.
pub(crate) struct Draft {
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
pub(crate) async fn post_entry<S: StateView>(
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
    let overflow = || {
        Failure::new(
            "total_overflow",
            format!(
                "recording {money} would take a total beyond what can be represented; split it"
            ),
        )
    };
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

/// Refuses `amount` more of `what` when it would exceed `limit_name`.
fn within(
    current: u64,
    amount: u64,
    limit: u64,
    currency: civitas_core::money::Currency,
    code: &'static str,
    subject: &str,
    limit_name: &str,
) -> Result<(), Failure> {
    let after = current.saturating_add(amount);
    if after > limit {
        return Err(Failure::new(
            code,
            format!(
                "{subject} would reach {} with {} more, {} above the {} {limit_name}",
                format_amount(after, currency),
                format_amount(amount, currency),
                format_amount(after - limit, currency),
                format_amount(limit, currency),
            ),
        ));
    }
    Ok(())
}

/// Refuses taking `amount` from `current` when it would fall below `floor`.
fn not_below(
    current: u64,
    amount: u64,
    floor: u64,
    currency: civitas_core::money::Currency,
    code: &'static str,
    what: &str,
    floor_name: &str,
) -> Result<(), Failure> {
    match current.checked_sub(amount) {
        Some(after) if after >= floor => Ok(()),
        Some(after) => Err(Failure::new(
            code,
            format!(
                "{what} by {} would bring it to {}, {} below the {} {floor_name}",
                format_amount(amount, currency),
                format_amount(after, currency),
                format_amount(floor - after, currency),
                format_amount(floor, currency),
            ),
        )),
        None => Err(Failure::new(
            code,
            format!(
                "{what} by {} is more than its current {}",
                format_amount(amount, currency),
                format_amount(current, currency),
            ),
        )),
    }
}

/// Commits `amount` of an appropriation to a vendor, within what is allotted. Shared by
/// `treasury.commit` and an accepted procurement milestone.
pub(crate) async fn commit<S: StateView>(
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
    tri!(within(
        figures.committed,
        amount.amount,
        figures.allotted,
        amount.currency,
        "exceeds_allotment",
        &format!("commitments against appropriation {}", appropriation.id),
        &format!(
            "allotted (appropriated: {})",
            format_amount(figures.appropriated, amount.currency)
        ),
    ));
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
pub(crate) async fn pay<S: StateView>(
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
        &format!("payments against commitment {}", commitment.id),
        "committed",
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
        return Err(BlockError::Invalid(
            "post_entry returned another event".into(),
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
                fail!("year_exists", "fiscal year {year} was already opened");
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
                fail!(
                    "vendor_exists",
                    "account {account} is already a registered vendor"
                );
            }
            match crate::identity::state::load_account(state, account).await? {
                Some(a) if a.kind == civitas_core::event::AccountKind::Citizen => {}
                Some(_) => fail!(
                    "not_a_business",
                    "account {account} is an official's; vendors are citizen or business accounts"
                ),
                None => fail!("unknown_account", "account {account} does not exist"),
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
            if state
                .get_typed::<Agency>(&agency_key(agency))
                .await?
                .is_none()
            {
                fail!("unknown_agency", "agency {agency} does not exist");
            }
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
            if decrease {
                tri!(not_below(
                    record.figures.appropriated,
                    amount.amount,
                    record.figures.allotted,
                    amount.currency,
                    "below_allotted",
                    &format!("lowering appropriation {appropriation}"),
                    "already allotted",
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
            let figures = record.figures;
            let check = if decrease {
                not_below(
                    figures.allotted,
                    amount.amount,
                    figures.committed,
                    amount.currency,
                    "below_committed",
                    &format!("taking back an allotment of appropriation {appropriation}"),
                    "already committed",
                )
            } else {
                within(
                    figures.allotted,
                    amount.amount,
                    figures.appropriated,
                    amount.currency,
                    "exceeds_appropriation",
                    &format!("allotments of appropriation {appropriation}"),
                    "appropriated",
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
                    &format!("lowering commitment {commitment}"),
                    "already paid against it",
                )
            } else {
                within(
                    figures.committed,
                    amount.amount,
                    figures.allotted,
                    amount.currency,
                    "exceeds_allotment",
                    &format!("commitments against appropriation {}", appropriation.id),
                    "allotted",
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
                    "payment {payment} was already reversed by entry {}",
                    reversal.entry
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
                return Err(BlockError::Invalid(
                    "post_entry returned another event".into(),
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
