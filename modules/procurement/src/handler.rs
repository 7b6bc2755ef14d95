//! Procurement handlers: the process rules every validator enforces.
//!
//! Who may act for an agency is the policies' business (roles); what the process allows at
//! each step is decided here: no bid after the deadline, one unchangeable bid per vendor, an
//! opening must match its commitment, only the tender's committee evaluates and awards, no
//! contract during the standstill, and an accepted milestone pays only within the treasury's
//! limits.

use crate::signals;
use crate::state::*;
use civitas_core::crypto::AccountId;
use civitas_core::event::{AccountKind, Event};
use civitas_core::limits::*;
use civitas_core::money::Money;
use civitas_core::procurement::{ProcurementEvent, ProcurementInstruction, bid_commitment};
use civitas_core::time::TimestampMs;
use civitas_identity::state::{Account, load_account};
use civitas_kit::StateView;
use civitas_kit::{BlockError, Failure, Overlay, TxContext, failure};
use civitas_kit::{fail, load_required, tri};
use civitas_notary::state::load_document;
use civitas_treasury::handler as treasury;
use civitas_treasury::state::MilestoneRef;

type Outcome = Result<Result<Vec<Event>, Failure>, BlockError>;

const DAY_MS: u64 = 86_400_000;

fn event(e: ProcurementEvent) -> Event {
    Event::Procurement(e)
}

/// Loads a tender.
pub async fn load_tender<S: StateView>(
    state: &mut Overlay<'_, S>,
    id: u64,
) -> Result<Result<Tender, Failure>, BlockError> {
    load_required(state, &tender_key(id), || {
        failure!("unknown_tender", tender = id)
    })
    .await
}

/// Loads a contract.
pub async fn load_contract<S: StateView>(
    state: &mut Overlay<'_, S>,
    id: u64,
) -> Result<Result<Contract, Failure>, BlockError> {
    load_required(state, &contract_key(id), || {
        failure!("unknown_contract", contract = id)
    })
    .await
}

async fn load_bid<S: StateView>(
    state: &mut Overlay<'_, S>,
    tender: u64,
    bidder: &AccountId,
) -> Result<Result<Bid, Failure>, BlockError> {
    load_required(state, &bid_key(tender, bidder), || {
        failure!("unknown_bid", bidder = bidder, tender = tender)
    })
    .await
}

fn at_stage(tender: &Tender, stage: Stage, doing: &str) -> Result<(), Failure> {
    if tender.stage != stage {
        return Err(failure!(
            "wrong_stage",
            tender = tender.id,
            stage = tender.stage.as_str(),
            doing = doing,
            needed = stage.as_str()
        ));
    }
    Ok(())
}

fn after_deadline(tender: &Tender, now: TimestampMs, doing: &str) -> Result<(), Failure> {
    if now < tender.deadline {
        return Err(failure!(
            "before_deadline",
            doing = doing,
            tender = tender.id,
            deadline = tender.deadline,
            now = now
        ));
    }
    Ok(())
}

fn on_committee(tender: &Tender, account: &AccountId, doing: &str) -> Result<(), Failure> {
    if !tender.committee.contains(account) {
        return Err(failure!(
            "not_on_committee",
            account = account,
            tender = tender.id,
            doing = doing
        ));
    }
    Ok(())
}

fn same_currency(expected: &Money, given: &Money, what: &str) -> Result<(), Failure> {
    if expected.currency != given.currency {
        return Err(failure!(
            "currency_mismatch",
            what = what,
            currency = given.currency,
            expected = expected.currency
        ));
    }
    Ok(())
}

fn approvers(signer: &Account, cosigners: &[Account]) -> Vec<AccountId> {
    std::iter::once(signer.id)
        .chain(cosigners.iter().map(|a| a.id))
        .collect()
}

fn sum(milestones: &[civitas_core::procurement::MilestoneTerms]) -> u64 {
    milestones.iter().map(|m| m.amount.amount).sum()
}

/// Applies a procurement instruction (already authorized).
pub async fn apply<S: StateView>(
    ctx: &TxContext<'_>,
    signer: &Account,
    cosigners: &[Account],
    op: &ProcurementInstruction,
    state: &mut Overlay<'_, S>,
) -> Outcome {
    let now = ctx.env.timestamp;
    match op {
        ProcurementInstruction::Plan {
            appropriation,
            title,
            description,
            estimated,
            method,
        } => {
            let funding = tri!(treasury::load_appropriation(state, *appropriation).await?);
            if funding.agency != signer.agency {
                fail!(
                    "wrong_agency",
                    appropriation = appropriation,
                    owner = funding.agency,
                    agency = signer.agency
                );
            }
            tri!(treasury::open_year(state, funding.year, Some(estimated)).await?);
            let mut config: ProcurementConfig =
                state.get_typed(&config_key()).await?.unwrap_or_default();
            let id = config.next_tender;
            config.next_tender += 1;
            state.put_typed(&config_key(), &config);
            let tender = Tender {
                id,
                agency: funding.agency.clone(),
                appropriation: *appropriation,
                year: funding.year,
                title: title.clone(),
                description: description.clone(),
                estimated: *estimated,
                method: *method,
                stage: Stage::Planned,
                planned_by: signer.id,
                planned_at: now,
                published_at: TimestampMs(0),
                documents: Vec::new(),
                deadline: TimestampMs(0),
                criteria: Vec::new(),
                committee: Vec::new(),
                standstill_days: 0,
                clarifications: Vec::new(),
                bidders: Vec::new(),
                opened: 0,
                award: None,
                complaints: Vec::new(),
                contract: None,
                cancellation: None,
            };
            state.put_typed(&tender_key(id), &tender);
            Ok(Ok(vec![event(ProcurementEvent::TenderPlanned {
                tender: id,
                agency: tender.agency,
                title: tender.title,
                estimated: *estimated,
            })]))
        }
        ProcurementInstruction::Publish {
            tender,
            documents,
            deadline,
            criteria,
            committee,
            standstill_days,
        } => {
            let mut record = tri!(load_tender(state, *tender).await?);
            tri!(at_stage(&record, Stage::Planned, "publishing"));
            if *deadline <= now {
                fail!("deadline_passed", deadline = deadline, now = now);
            }
            for document in documents {
                match load_document(state, document).await? {
                    None => fail!("document_not_notarised", document = document),
                    Some(d) if d.agency != record.agency => fail!(
                        "document_not_notarised",
                        document = document,
                        notarised_by = d.agency,
                        agency = record.agency
                    ),
                    Some(d) if d.revocation.is_some() => {
                        fail!("document_revoked", document = document)
                    }
                    Some(_) => {}
                }
            }
            for member in committee {
                match load_account(state, member).await? {
                    Some(a)
                        if a.kind == AccountKind::Official
                            && a.active
                            && a.agency == record.agency => {}
                    _ => fail!("bad_committee", member = member, agency = record.agency),
                }
            }
            record.stage = Stage::Tendering;
            record.published_at = now;
            record.documents = documents.clone();
            record.deadline = *deadline;
            record.criteria = criteria.clone();
            record.committee = committee.clone();
            record.standstill_days = *standstill_days;
            state.put_typed(&tender_key(*tender), &record);
            Ok(Ok(vec![event(ProcurementEvent::TenderPublished {
                tender: *tender,
                deadline: *deadline,
            })]))
        }
        ProcurementInstruction::Clarify {
            tender,
            question,
            answer,
        } => {
            let mut record = tri!(load_tender(state, *tender).await?);
            tri!(at_stage(&record, Stage::Tendering, "a clarification"));
            if now >= record.deadline {
                fail!(
                    "deadline_passed",
                    tender = tender,
                    deadline = record.deadline
                );
            }
            if record.clarifications.len() >= CLARIFICATIONS_MAX {
                fail!(
                    "too_many",
                    tender = tender,
                    clarifications_max = CLARIFICATIONS_MAX
                );
            }
            record.clarifications.push(Clarification {
                question: question.clone(),
                answer: answer.clone(),
                time: now,
            });
            let number = record.clarifications.len() as u32;
            state.put_typed(&tender_key(*tender), &record);
            Ok(Ok(vec![event(ProcurementEvent::TenderClarified {
                tender: *tender,
                number,
            })]))
        }
        ProcurementInstruction::Bid {
            tender,
            commitment,
            sealed,
        } => {
            let mut record = tri!(load_tender(state, *tender).await?);
            tri!(at_stage(&record, Stage::Tendering, "bidding"));
            if now >= record.deadline {
                fail!(
                    "late_bid",
                    tender = tender,
                    deadline = record.deadline,
                    now = now
                );
            }
            tri!(treasury::load_vendor(state, &signer.id).await?);
            if record.bidders.contains(&signer.id) {
                fail!("bid_exists", account = signer.id, tender = tender);
            }
            if record.bidders.len() >= BIDS_MAX {
                fail!("too_many", tender = tender, bids_max = BIDS_MAX);
            }
            record.bidders.push(signer.id);
            state.put_typed(&tender_key(*tender), &record);
            state.put_typed(
                &bid_key(*tender, &signer.id),
                &Bid {
                    tender: *tender,
                    bidder: signer.id,
                    commitment: *commitment,
                    sealed: sealed.clone(),
                    time: now,
                    opening: None,
                    evaluations: Vec::new(),
                },
            );
            Ok(Ok(vec![event(ProcurementEvent::BidSubmitted {
                tender: *tender,
                bidder: signer.id,
                commitment: *commitment,
            })]))
        }
        ProcurementInstruction::Open {
            tender,
            bidder,
            price,
            proposal,
            salt,
        } => {
            let mut record = tri!(load_tender(state, *tender).await?);
            tri!(at_stage(&record, Stage::Tendering, "opening a bid"));
            tri!(after_deadline(&record, now, "opening a bid"));
            if signer.id != *bidder && !record.committee.contains(&signer.id) {
                fail!("not_permitted", tender = tender);
            }
            let mut bid = tri!(load_bid(state, *tender, bidder).await?);
            if bid.opening.is_some() {
                fail!("already_opened", bidder = bidder, tender = tender);
            }
            if bid_commitment(*tender, bidder, price, proposal, salt) != bid.commitment {
                fail!(
                    "opening_mismatch",
                    commitment = bid.commitment,
                    bidder = bidder
                );
            }
            tri!(same_currency(&record.estimated, price, "the price"));
            bid.opening = Some(Opening {
                price: *price,
                proposal: *proposal,
                opened_by: signer.id,
                time: now,
            });
            record.opened += 1;
            state.put_typed(&bid_key(*tender, bidder), &bid);
            state.put_typed(&tender_key(*tender), &record);
            Ok(Ok(vec![event(ProcurementEvent::BidOpened {
                tender: *tender,
                bidder: *bidder,
                price: *price,
            })]))
        }
        ProcurementInstruction::Evaluate {
            tender,
            bidder,
            scores,
            justification,
        } => {
            let record = tri!(load_tender(state, *tender).await?);
            tri!(at_stage(&record, Stage::Tendering, "evaluation"));
            tri!(after_deadline(&record, now, "evaluation"));
            tri!(on_committee(&record, &signer.id, "evaluate bids"));
            let mut bid = tri!(load_bid(state, *tender, bidder).await?);
            if bid.opening.is_none() {
                fail!("not_opened", bidder = bidder, tender = tender);
            }
            if bid.evaluations.iter().any(|e| e.by == signer.id) {
                fail!("already_evaluated", account = signer.id);
            }
            if scores.len() != record.criteria.len() {
                fail!(
                    "wrong_scores",
                    tender = tender,
                    criteria = record.criteria.len(),
                    scores = scores.len()
                );
            }
            let score: u32 = scores
                .iter()
                .zip(&record.criteria)
                .map(|(s, c)| u32::from(*s) * u32::from(c.weight))
                .sum();
            bid.evaluations.push(Evaluation {
                by: signer.id,
                scores: scores.clone(),
                score,
                justification: justification.clone(),
                time: now,
            });
            state.put_typed(&bid_key(*tender, bidder), &bid);
            Ok(Ok(vec![event(ProcurementEvent::BidEvaluated {
                tender: *tender,
                bidder: *bidder,
                by: signer.id,
                score,
            })]))
        }
        ProcurementInstruction::Award {
            tender,
            bidder,
            justification,
        } => {
            let mut record = tri!(load_tender(state, *tender).await?);
            tri!(at_stage(&record, Stage::Tendering, "an award"));
            tri!(after_deadline(&record, now, "an award"));
            tri!(on_committee(&record, &signer.id, "award"));
            let bid = tri!(load_bid(state, *tender, bidder).await?);
            let Some(opening) = &bid.opening else {
                fail!("not_opened", bidder = bidder, tender = tender);
            };
            if bid.evaluations.is_empty() {
                fail!("not_evaluated", bidder = bidder, tender = tender);
            }
            let fiscal = tri!(treasury::open_year(state, record.year, None).await?);
            let mut recent: RecentAwards = state
                .get_typed(&awards_key(&record.agency))
                .await?
                .unwrap_or_default();
            let note = AwardNote {
                tender: *tender,
                vendor: *bidder,
                value: opening.price.amount,
                time: now,
            };
            let raised = signals::on_award(&record, &note, &recent, fiscal.procurement_threshold);
            recent.awards.push(note);
            if recent.awards.len() > RECENT_AWARDS {
                recent.awards.remove(0);
            }
            state.put_typed(&awards_key(&record.agency), &recent);
            let standstill_until =
                now.saturating_add_ms(u64::from(record.standstill_days) * DAY_MS);
            let mut events = vec![event(ProcurementEvent::TenderAwarded {
                tender: *tender,
                bidder: *bidder,
                value: opening.price,
                standstill_until,
            })];
            events.extend(raised.iter().map(|s| {
                event(ProcurementEvent::IntegritySignal {
                    tender: *tender,
                    signal: s.code.clone(),
                    detail: s.detail.clone(),
                })
            }));
            record.award = Some(Award {
                bidder: *bidder,
                value: opening.price,
                justification: justification.clone(),
                by: signer.id,
                time: now,
                standstill_until,
                signals: raised,
            });
            record.stage = Stage::Awarded;
            state.put_typed(&tender_key(*tender), &record);
            Ok(Ok(events))
        }
        ProcurementInstruction::Complain { tender, text } => {
            let mut record = tri!(load_tender(state, *tender).await?);
            tri!(at_stage(&record, Stage::Awarded, "a complaint"));
            let until = record
                .award
                .as_ref()
                .map_or(TimestampMs(0), |a| a.standstill_until);
            if now >= until {
                fail!("standstill_over", tender = tender, until = until);
            }
            if record.complaints.len() >= COMPLAINTS_MAX {
                fail!("too_many", tender = tender, complaints_max = COMPLAINTS_MAX);
            }
            record.complaints.push(Complaint {
                by: signer.id,
                text: text.clone(),
                time: now,
            });
            let number = record.complaints.len() as u32;
            state.put_typed(&tender_key(*tender), &record);
            Ok(Ok(vec![event(ProcurementEvent::ComplaintFiled {
                tender: *tender,
                by: signer.id,
                number,
            })]))
        }
        ProcurementInstruction::Sign { tender, milestones } => {
            let mut record = tri!(load_tender(state, *tender).await?);
            tri!(at_stage(&record, Stage::Awarded, "signing the contract"));
            let Some(award) = record.award.clone() else {
                fail!("wrong_stage", tender = tender);
            };
            if now < award.standstill_until {
                fail!(
                    "in_standstill",
                    tender = tender,
                    until = award.standstill_until
                );
            }
            for m in milestones {
                tri!(same_currency(&award.value, &m.amount, "a milestone"));
            }
            let total = sum(milestones);
            if total != award.value.amount {
                fail!(
                    "milestones_mismatch",
                    total = civitas_core::messages::money(total, award.value.currency),
                    award = award.value
                );
            }
            let mut config: ProcurementConfig =
                state.get_typed(&config_key()).await?.unwrap_or_default();
            let id = config.next_contract;
            config.next_contract += 1;
            state.put_typed(&config_key(), &config);
            let contract = Contract {
                id,
                tender: *tender,
                agency: record.agency.clone(),
                vendor: award.bidder,
                appropriation: record.appropriation,
                value: award.value,
                signed_by: signer.id,
                signed_at: now,
                milestones: milestones
                    .iter()
                    .map(|terms| Milestone {
                        terms: terms.clone(),
                        accepted: None,
                    })
                    .collect(),
                amendments: Vec::new(),
            };
            state.put_typed(&contract_key(id), &contract);
            record.contract = Some(id);
            record.stage = Stage::Contracted;
            state.put_typed(&tender_key(*tender), &record);
            Ok(Ok(vec![event(ProcurementEvent::ContractSigned {
                contract: id,
                tender: *tender,
                vendor: award.bidder,
                value: award.value,
            })]))
        }
        ProcurementInstruction::Accept {
            contract,
            milestone,
            note,
        } => {
            let mut record = tri!(load_contract(state, *contract).await?);
            let index = usize::from(*milestone);
            let Some(entry) = record.milestones.get(index).cloned() else {
                fail!(
                    "unknown_milestone",
                    contract = contract,
                    milestones = record.milestones.len(),
                    milestone = milestone
                );
            };
            if let Some(accepted) = &entry.accepted {
                fail!(
                    "already_accepted",
                    milestone = milestone,
                    contract = contract,
                    payment = accepted.payment
                );
            }
            let mut appropriation =
                tri!(treasury::load_appropriation(state, record.appropriation).await?);
            let amount = entry.terms.amount;
            let description = format!(
                "contract {contract}, milestone {milestone}: {}",
                entry.terms.title
            );
            let (mut commitment, committed) = tri!(
                treasury::commit(
                    ctx,
                    &mut appropriation,
                    record.vendor,
                    amount,
                    description,
                    Some(MilestoneRef {
                        contract: *contract,
                        milestone: *milestone,
                    }),
                    state,
                )
                .await?
            );
            let (payment, paid) = tri!(
                treasury::pay(
                    ctx,
                    approvers(signer, cosigners),
                    &mut commitment,
                    amount,
                    format!("contract {contract} milestone {milestone}"),
                    state,
                )
                .await?
            );
            record.milestones[index].accepted = Some(Acceptance {
                by: signer.id,
                note: note.clone(),
                time: now,
                commitment: commitment.id,
                payment: payment.id,
            });
            state.put_typed(&contract_key(*contract), &record);
            Ok(Ok(vec![
                committed,
                paid,
                event(ProcurementEvent::MilestoneAccepted {
                    contract: *contract,
                    milestone: *milestone,
                    commitment: commitment.id,
                    payment: payment.id,
                    amount,
                }),
            ]))
        }
        ProcurementInstruction::Amend {
            contract,
            milestones,
            reason,
        } => {
            let mut record = tri!(load_contract(state, *contract).await?);
            if record.amendments.len() >= AMENDMENTS_MAX {
                fail!(
                    "too_many",
                    contract = contract,
                    amendments_max = AMENDMENTS_MAX
                );
            }
            for m in milestones {
                tri!(same_currency(&record.value, &m.amount, "a milestone"));
            }
            let mut kept: Vec<Milestone> = record
                .milestones
                .iter()
                .filter(|m| m.accepted.is_some())
                .cloned()
                .collect();
            if kept.len() + milestones.len() > MILESTONES_MAX {
                fail!(
                    "too_many",
                    accepted = kept.len(),
                    new = milestones.len(),
                    milestones_max = MILESTONES_MAX
                );
            }
            let old_value = record.value;
            let new_value = Money::new(record.paid() + sum(milestones), old_value.currency);
            kept.extend(milestones.iter().map(|terms| Milestone {
                terms: terms.clone(),
                accepted: None,
            }));
            record.milestones = kept;
            record.value = new_value;
            record.amendments.push(Amendment {
                reason: reason.clone(),
                approvers: approvers(signer, cosigners),
                time: now,
                old_value,
                new_value,
            });
            let number = record.amendments.len() as u32;
            state.put_typed(&contract_key(*contract), &record);
            Ok(Ok(vec![event(ProcurementEvent::ContractAmended {
                contract: *contract,
                number,
                old_value,
                new_value,
            })]))
        }
        ProcurementInstruction::ImportRelease {
            ocid,
            release_id,
            date,
            release,
        } => {
            if ocid.starts_with(crate::ocds::OWN_PREFIX) {
                fail!("reserved_ocid", prefix = crate::ocds::OWN_PREFIX);
            }
            let mut config: ProcurementConfig =
                state.get_typed(&config_key()).await?.unwrap_or_default();
            let mut process = match state
                .get_typed::<ImportedProcess>(&imported_key(ocid))
                .await?
            {
                Some(process) => process,
                None => {
                    let number = config.next_import;
                    config.next_import += 1;
                    state.put_typed(&config_key(), &config);
                    state.put_typed(&import_index_key(number), &ImportRef { ocid: ocid.clone() });
                    ImportedProcess {
                        ocid: ocid.clone(),
                        agency: signer.agency.clone(),
                        number,
                        releases: Vec::new(),
                    }
                }
            };
            if process.agency != signer.agency {
                fail!("wrong_agency", ocid = ocid, owner = process.agency);
            }
            if process.releases.iter().any(|r| r.id == *release_id) {
                fail!("release_exists", release = release_id, ocid = ocid);
            }
            if process.releases.len() >= OCDS_RELEASES_MAX {
                fail!("too_many", ocid = ocid, releases_max = OCDS_RELEASES_MAX);
            }
            let text = civitas_core::hash::Hash32::sha256(release.as_bytes());
            state.put_typed(
                &release_text_key(&text),
                &ReleaseText {
                    text: release.clone(),
                },
            );
            process.releases.push(ImportedRelease {
                id: release_id.clone(),
                date: date.clone(),
                text,
                by: signer.id,
                height: ctx.env.height,
            });
            state.put_typed(&imported_key(ocid), &process);
            Ok(Ok(vec![event(ProcurementEvent::ReleaseImported {
                ocid: ocid.clone(),
                release_id: release_id.clone(),
                text,
            })]))
        }
        ProcurementInstruction::Cancel { tender, reason } => {
            let mut record = tri!(load_tender(state, *tender).await?);
            if matches!(record.stage, Stage::Contracted | Stage::Cancelled) {
                fail!(
                    "wrong_stage",
                    tender = tender,
                    stage = record.stage.as_str()
                );
            }
            record.stage = Stage::Cancelled;
            record.cancellation = Some(Cancellation {
                reason: reason.clone(),
                by: signer.id,
                time: now,
            });
            state.put_typed(&tender_key(*tender), &record);
            Ok(Ok(vec![event(ProcurementEvent::TenderCancelled {
                tender: *tender,
            })]))
        }
    }
}
