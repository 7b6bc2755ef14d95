//! Procurement instructions and events: plan, tender, sealed bids (commit, then open), evaluation,
//! award, standstill and complaints, contracts whose accepted milestones pay themselves.
//!
//! A bid is sealed by its commitment: before the deadline a bidder publishes only
//! [`bid_commitment`] of its price, its proposal document's SHA-256 and a secret salt. After the
//! deadline the bid is opened by revealing them; the ledger recomputes the commitment and refuses
//! an opening that does not match.

use civitas_primitives::codec::{DecodeError, check_text};
use civitas_primitives::crypto::AccountId;
use civitas_primitives::hash::Hash32;
use civitas_primitives::limits::*;
use civitas_primitives::money::Money;
use civitas_primitives::time::TimestampMs;
use civitas_primitives::{codec_enum, codec_struct};

pub mod sealed;
use serde::{Deserialize, Serialize};

/// How a tender is run (OCDS `procurementMethod`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ProcurementMethod)]
pub enum Method {
    /// Any registered vendor may bid.
    Open,
    /// Only pre-qualified vendors may bid (recorded; the ledger does not keep the list).
    Selective,
    /// The agency invites bids from chosen vendors.
    Limited,
    /// A single vendor is chosen without competition.
    Direct,
}
codec_enum!(Method { 0 => Open {}, 1 => Selective {}, 2 => Limited {}, 3 => Direct {} });

impl Method {
    /// The OCDS `procurementMethod` code.
    pub fn ocds(&self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Selective => "selective",
            Self::Limited => "limited",
            Self::Direct => "direct",
        }
    }
}

/// One evaluation criterion and its weight (the weights of a tender add up to 100).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Criterion {
    /// What is scored, such as "price" or "technical quality".
    pub name: String,
    /// Its weight, in percent.
    pub weight: u8,
}
codec_struct!(Criterion {
    name: NAME_MAX_BYTES,
    weight: ()
});

/// What a contract's milestone delivers and what it pays.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MilestoneTerms {
    /// What is delivered.
    pub title: String,
    /// What accepting it pays.
    pub amount: Money,
    /// When it is due.
    pub due: TimestampMs,
}
codec_struct!(MilestoneTerms {
    title: NAME_MAX_BYTES,
    amount: (),
    due: ()
});

/// Operations of the procurement module.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ProcurementInstruction {
    /// An agency plans a purchase, funded by one of its appropriations.
    Plan {
        /// The appropriation that will pay for it.
        appropriation: u64,
        /// Title.
        title: String,
        /// Scope of the purchase.
        description: String,
        /// Estimated value.
        estimated: Money,
        /// How it will be procured.
        method: Method,
    },
    /// The agency publishes the tender: notarised documents, deadline, criteria, committee.
    Publish {
        /// The tender (the planned process's number).
        tender: u64,
        /// SHA-256 of each tender document; each must be notarised by the agency.
        documents: Vec<Hash32>,
        /// No bid after this time.
        deadline: TimestampMs,
        /// How bids are scored; weights add up to 100.
        criteria: Vec<Criterion>,
        /// The officials who open, evaluate and award (1 to 9).
        committee: Vec<AccountId>,
        /// Days after the award during which complaints are recorded and no contract is signed.
        standstill_days: u16,
    },
    /// The agency publishes an answer to a bidder's question, before the deadline.
    Clarify {
        /// The tender.
        tender: u64,
        /// The question, as asked.
        question: String,
        /// The answer.
        answer: String,
    },
    /// A registered vendor submits a sealed bid: only its commitment, and optionally the bid
    /// encrypted to the committee. One bid per vendor; it cannot be changed.
    Bid {
        /// The tender.
        tender: u64,
        /// [`bid_commitment`] of the bid.
        commitment: Hash32,
        /// The bid encrypted to the committee, so it can be opened if the bidder does not.
        sealed: Vec<u8>,
    },
    /// After the deadline, the bidder (or a committee member holding the sealed bid) opens a bid
    /// by revealing what its commitment hides.
    Open {
        /// The tender.
        tender: u64,
        /// Whose bid.
        bidder: AccountId,
        /// The price offered.
        price: Money,
        /// SHA-256 of the technical proposal document.
        proposal: Hash32,
        /// The salt chosen when sealing.
        salt: Hash32,
    },
    /// A committee member scores an opened bid, one score (0 to 100) per criterion, with a
    /// written justification.
    Evaluate {
        /// The tender.
        tender: u64,
        /// Whose bid.
        bidder: AccountId,
        /// Scores in the order of the tender's criteria.
        scores: Vec<u8>,
        /// Why.
        justification: String,
    },
    /// A committee member awards the tender to an evaluated bid, with a justification. The
    /// standstill period starts.
    Award {
        /// The tender.
        tender: u64,
        /// The winning bidder.
        bidder: AccountId,
        /// Why this bid.
        justification: String,
    },
    /// Anyone with an account records a complaint against an award during its standstill.
    Complain {
        /// The tender.
        tender: u64,
        /// The complaint.
        text: String,
    },
    /// After the standstill, the agency signs the contract with its milestones (their amounts
    /// add up to the awarded price).
    Sign {
        /// The awarded tender.
        tender: u64,
        /// The milestones, in order.
        milestones: Vec<MilestoneTerms>,
    },
    /// The buying agency accepts a delivered milestone: its amount is committed and paid to
    /// the vendor from the tender's appropriation in the same transaction.
    Accept {
        /// The contract.
        contract: u64,
        /// The milestone's position (0 for the first).
        milestone: u16,
        /// What was checked.
        note: String,
    },
    /// The agency amends a contract: the milestones not yet accepted are replaced, with a
    /// reason; whoever signed is recorded as approving it.
    Amend {
        /// The contract.
        contract: u64,
        /// The new terms of every milestone not yet accepted.
        milestones: Vec<MilestoneTerms>,
        /// Why.
        reason: String,
    },
    /// The agency cancels a tender that has no contract, with a reason.
    Cancel {
        /// The tender.
        tender: u64,
        /// Why.
        reason: String,
    },
    /// A procurement official brings in one OCDS release of a historical contracting process
    /// (`civitas ocds import` validates the package against the OCDS 1.1 schema first). The
    /// release is kept as given; the ledger records who imported it and when.
    ImportRelease {
        /// The process's `ocid`.
        ocid: String,
        /// The release's `id`.
        release_id: String,
        /// The release's `date`, as written in it.
        date: String,
        /// The release, as JSON text.
        release: String,
    },
}

codec_enum!(ProcurementInstruction {
    0 => Plan {
        appropriation: (),
        title: NAME_MAX_BYTES,
        description: DESCRIPTION_MAX_BYTES,
        estimated: (),
        method: (),
    },
    1 => Publish {
        tender: (),
        documents: (TENDER_DOCUMENTS_MAX, ()),
        deadline: (),
        criteria: (CRITERIA_MAX, ()),
        committee: (COMMITTEE_MAX, ()),
        standstill_days: (),
    },
    2 => Clarify { tender: (), question: DESCRIPTION_MAX_BYTES, answer: DESCRIPTION_MAX_BYTES },
    3 => Bid { tender: (), commitment: (), sealed: (SEALED_BID_MAX_BYTES, ()) },
    4 => Open { tender: (), bidder: (), price: (), proposal: (), salt: () },
    5 => Evaluate { tender: (), bidder: (), scores: (CRITERIA_MAX, ()), justification: DESCRIPTION_MAX_BYTES },
    6 => Award { tender: (), bidder: (), justification: DESCRIPTION_MAX_BYTES },
    7 => Complain { tender: (), text: REASON_MAX_BYTES },
    8 => Sign { tender: (), milestones: (MILESTONES_MAX, ()) },
    9 => Accept { contract: (), milestone: (), note: REASON_MAX_BYTES },
    10 => Amend { contract: (), milestones: (MILESTONES_MAX, ()), reason: REASON_MAX_BYTES },
    11 => Cancel { tender: (), reason: REASON_MAX_BYTES },
    12 => ImportRelease {
        ocid: OCDS_ID_MAX_BYTES,
        release_id: OCDS_ID_MAX_BYTES,
        date: 64,
        release: OCDS_RELEASE_MAX_BYTES,
    },
});

/// The commitment that seals a bid: domain-separated SHA-256 of the tender number, the bidder,
/// the price (amount and currency), the proposal's SHA-256 and a 32-byte secret salt.
pub fn bid_commitment(
    tender: u64,
    bidder: &AccountId,
    price: &Money,
    proposal: &Hash32,
    salt: &Hash32,
) -> Hash32 {
    Hash32::tagged(
        b"civitas/sealed-bid",
        &[
            &tender.to_be_bytes(),
            &bidder.0,
            &price.amount.to_be_bytes(),
            price.currency.as_str().as_bytes(),
            &proposal.0,
            &salt.0,
        ],
    )
}

fn check_milestones(milestones: &[MilestoneTerms], allow_empty: bool) -> Result<(), DecodeError> {
    if (!allow_empty && milestones.is_empty()) || milestones.len() > MILESTONES_MAX {
        return Err(DecodeError::Invalid {
            field: "milestones",
            reason: format!("a contract has 1 to {MILESTONES_MAX} milestones"),
        });
    }
    for milestone in milestones {
        check_text("milestone title", &milestone.title, NAME_MAX_BYTES)?;
        milestone.amount.check("milestone amount", false)?;
    }
    Ok(())
}

impl ProcurementInstruction {
    /// `module.operation`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Plan { .. } => "procurement.plan",
            Self::Publish { .. } => "procurement.publish",
            Self::Clarify { .. } => "procurement.clarify",
            Self::Bid { .. } => "procurement.bid",
            Self::Open { .. } => "procurement.open",
            Self::Evaluate { .. } => "procurement.evaluate",
            Self::Award { .. } => "procurement.award",
            Self::Complain { .. } => "procurement.complain",
            Self::Sign { .. } => "procurement.sign",
            Self::Accept { .. } => "procurement.accept",
            Self::Amend { .. } => "procurement.amend",
            Self::Cancel { .. } => "procurement.cancel",
            Self::ImportRelease { .. } => "procurement.import_release",
        }
    }

    /// Checks the rules that need no state.
    pub fn validate(&self) -> Result<(), DecodeError> {
        match self {
            Self::Plan {
                title,
                description,
                estimated,
                ..
            } => {
                check_text("title", title, NAME_MAX_BYTES)?;
                check_text("description", description, DESCRIPTION_MAX_BYTES)?;
                estimated.check("estimated", false)
            }
            Self::Publish {
                documents,
                criteria,
                committee,
                standstill_days,
                ..
            } => {
                if documents.is_empty() {
                    return Err(DecodeError::Invalid {
                        field: "documents",
                        reason: format!(
                            "a tender publishes 1 to {TENDER_DOCUMENTS_MAX} notarised documents"
                        ),
                    });
                }
                if criteria.is_empty() {
                    return Err(DecodeError::Invalid {
                        field: "criteria",
                        reason: format!("a tender has 1 to {CRITERIA_MAX} evaluation criteria"),
                    });
                }
                for criterion in criteria {
                    check_text("criterion name", &criterion.name, NAME_MAX_BYTES)?;
                }
                let total: u32 = criteria.iter().map(|c| u32::from(c.weight)).sum();
                if total != 100 {
                    return Err(DecodeError::Invalid {
                        field: "criteria",
                        reason: format!("weights must add up to 100; they add up to {total}"),
                    });
                }
                let mut members = committee.clone();
                members.sort();
                members.dedup();
                if committee.is_empty() || members.len() != committee.len() {
                    return Err(DecodeError::Invalid {
                        field: "committee",
                        reason: format!("a committee has 1 to {COMMITTEE_MAX} distinct officials"),
                    });
                }
                if *standstill_days > STANDSTILL_DAYS_MAX {
                    return Err(DecodeError::Invalid {
                        field: "standstill_days",
                        reason: format!("at most {STANDSTILL_DAYS_MAX} days"),
                    });
                }
                Ok(())
            }
            Self::Clarify {
                question, answer, ..
            } => {
                check_text("question", question, DESCRIPTION_MAX_BYTES)?;
                check_text("answer", answer, DESCRIPTION_MAX_BYTES)
            }
            Self::Bid { .. } => Ok(()),
            Self::Open { price, .. } => price.check("price", false),
            Self::Evaluate {
                scores,
                justification,
                ..
            } => {
                if let Some(score) = scores.iter().find(|s| **s > 100) {
                    return Err(DecodeError::Invalid {
                        field: "scores",
                        reason: format!("each score is 0 to 100; one is {score}"),
                    });
                }
                check_text("justification", justification, DESCRIPTION_MAX_BYTES)
            }
            Self::Award { justification, .. } => {
                check_text("justification", justification, DESCRIPTION_MAX_BYTES)
            }
            Self::Complain { text, .. } => check_text("text", text, REASON_MAX_BYTES),
            Self::Sign { milestones, .. } => check_milestones(milestones, false),
            Self::Accept { note, .. } => check_text("note", note, REASON_MAX_BYTES),
            Self::Amend {
                milestones, reason, ..
            } => {
                check_milestones(milestones, true)?;
                check_text("reason", reason, REASON_MAX_BYTES)
            }
            Self::Cancel { reason, .. } => check_text("reason", reason, REASON_MAX_BYTES),
            Self::ImportRelease {
                ocid,
                release_id,
                date,
                release,
            } => {
                check_text("ocid", ocid, OCDS_ID_MAX_BYTES)?;
                check_text("release id", release_id, OCDS_ID_MAX_BYTES)?;
                check_text("date", date, 64)?;
                if release.len() > OCDS_RELEASE_MAX_BYTES || !release.starts_with('{') {
                    return Err(DecodeError::Invalid {
                        field: "release",
                        reason: format!(
                            "must be one JSON object of at most {OCDS_RELEASE_MAX_BYTES} bytes; it is {} bytes",
                            release.len()
                        ),
                    });
                }
                Ok(())
            }
        }
    }
}

/// Something the procurement module recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ProcurementEvent {
    /// A purchase was planned.
    TenderPlanned {
        /// The process's number.
        tender: u64,
        /// The buying agency.
        agency: String,
        /// Title.
        title: String,
        /// Estimated value.
        estimated: Money,
    },
    /// A tender was published.
    TenderPublished {
        /// The tender.
        tender: u64,
        /// Bid deadline.
        deadline: TimestampMs,
    },
    /// A clarification was published.
    TenderClarified {
        /// The tender.
        tender: u64,
        /// Its position among the tender's clarifications.
        number: u32,
    },
    /// A sealed bid was received.
    BidSubmitted {
        /// The tender.
        tender: u64,
        /// The bidder.
        bidder: AccountId,
        /// Its commitment.
        commitment: Hash32,
    },
    /// A bid was opened and matched its commitment.
    BidOpened {
        /// The tender.
        tender: u64,
        /// The bidder.
        bidder: AccountId,
        /// The price offered.
        price: Money,
    },
    /// A committee member scored a bid.
    BidEvaluated {
        /// The tender.
        tender: u64,
        /// The bidder.
        bidder: AccountId,
        /// The committee member.
        by: AccountId,
        /// Weighted score, 0 to 10,000 (hundredths of a point out of 100).
        score: u32,
    },
    /// A tender was awarded.
    TenderAwarded {
        /// The tender.
        tender: u64,
        /// The winner.
        bidder: AccountId,
        /// The awarded price.
        value: Money,
        /// End of the standstill period.
        standstill_until: TimestampMs,
    },
    /// The record raised an integrity signal on an award.
    IntegritySignal {
        /// The tender.
        tender: u64,
        /// The signal's code (such as `single_bidder`).
        signal: String,
        /// What in the record raised it.
        detail: String,
    },
    /// A complaint was recorded.
    ComplaintFiled {
        /// The tender.
        tender: u64,
        /// Who complained.
        by: AccountId,
        /// Its position among the tender's complaints.
        number: u32,
    },
    /// A contract was signed.
    ContractSigned {
        /// The contract's number.
        contract: u64,
        /// The tender.
        tender: u64,
        /// The vendor.
        vendor: AccountId,
        /// Its value.
        value: Money,
    },
    /// A milestone was accepted and paid.
    MilestoneAccepted {
        /// The contract.
        contract: u64,
        /// The milestone's position.
        milestone: u16,
        /// The commitment created for it.
        commitment: u64,
        /// The payment that released it.
        payment: u64,
        /// How much.
        amount: Money,
    },
    /// A contract was amended.
    ContractAmended {
        /// The contract.
        contract: u64,
        /// The amendment's position.
        number: u32,
        /// Value before.
        old_value: Money,
        /// Value after.
        new_value: Money,
    },
    /// A tender was cancelled.
    TenderCancelled {
        /// The tender.
        tender: u64,
    },
    /// A historical OCDS release was imported.
    ReleaseImported {
        /// The process's `ocid`.
        ocid: String,
        /// The release's `id`.
        release_id: String,
        /// SHA-256 of the release text.
        text: Hash32,
    },
}

codec_enum!(ProcurementEvent {
    0 => TenderPlanned { tender: (), agency: AGENCY_ID_MAX_BYTES, title: NAME_MAX_BYTES, estimated: () },
    1 => TenderPublished { tender: (), deadline: () },
    2 => TenderClarified { tender: (), number: () },
    3 => BidSubmitted { tender: (), bidder: (), commitment: () },
    4 => BidOpened { tender: (), bidder: (), price: () },
    5 => BidEvaluated { tender: (), bidder: (), by: (), score: () },
    6 => TenderAwarded { tender: (), bidder: (), value: (), standstill_until: () },
    7 => IntegritySignal { tender: (), signal: CODE_MAX_BYTES, detail: REASON_MAX_BYTES },
    8 => ComplaintFiled { tender: (), by: (), number: () },
    9 => ContractSigned { contract: (), tender: (), vendor: (), value: () },
    10 => MilestoneAccepted { contract: (), milestone: (), commitment: (), payment: (), amount: () },
    11 => ContractAmended { contract: (), number: (), old_value: (), new_value: () },
    12 => TenderCancelled { tender: () },
    13 => ReleaseImported { ocid: OCDS_ID_MAX_BYTES, release_id: OCDS_ID_MAX_BYTES, text: () },
});

impl civitas_primitives::kit::Operations for ProcurementInstruction {
    const MESSAGES: &'static [(&'static str, &'static str)] = MESSAGES;

    fn public_text(&self) -> Vec<civitas_primitives::personal::PublicText<'_>> {
        fn milestones(
            milestones: &[MilestoneTerms],
        ) -> Vec<civitas_primitives::personal::PublicText<'_>> {
            milestones
                .iter()
                .map(|m| civitas_primitives::personal::PublicText::prose("milestone", &m.title))
                .collect()
        }
        match self {
            Self::Plan {
                title, description, ..
            } => vec![
                civitas_primitives::personal::PublicText::prose("title", title),
                civitas_primitives::personal::PublicText::prose("description", description),
            ],
            Self::Publish { criteria, .. } => criteria
                .iter()
                .map(|c| civitas_primitives::personal::PublicText::prose("criterion", &c.name))
                .collect(),
            Self::Clarify {
                question, answer, ..
            } => vec![
                civitas_primitives::personal::PublicText::prose("question", question),
                civitas_primitives::personal::PublicText::prose("answer", answer),
            ],
            Self::Evaluate { justification, .. } | Self::Award { justification, .. } => {
                vec![civitas_primitives::personal::PublicText::prose(
                    "justification",
                    justification,
                )]
            }
            Self::Complain { text, .. } => vec![civitas_primitives::personal::PublicText::prose(
                "text", text,
            )],
            Self::Sign { milestones: m, .. } => milestones(m),
            Self::Accept { note, .. } => vec![civitas_primitives::personal::PublicText::prose(
                "note", note,
            )],
            Self::Amend {
                milestones: m,
                reason,
                ..
            } => {
                let mut texts = milestones(m);
                texts.push(civitas_primitives::personal::PublicText::prose(
                    "reason", reason,
                ));
                texts
            }
            Self::Cancel { reason, .. } => vec![civitas_primitives::personal::PublicText::prose(
                "reason", reason,
            )],
            Self::ImportRelease {
                ocid,
                release_id,
                date,
                release,
            } => vec![
                civitas_primitives::personal::PublicText::code("ocid", ocid),
                civitas_primitives::personal::PublicText::code("release_id", release_id),
                civitas_primitives::personal::PublicText::code("date", date),
                civitas_primitives::personal::PublicText::json("release", release),
            ],
            Self::Bid { .. } | Self::Open { .. } => Vec::new(),
        }
    }

    fn accounts(&self) -> Vec<AccountId> {
        match self {
            Self::Publish { committee, .. } => committee.clone(),
            Self::Open { bidder, .. }
            | Self::Evaluate { bidder, .. }
            | Self::Award { bidder, .. } => {
                vec![*bidder]
            }
            Self::Plan { .. }
            | Self::Clarify { .. }
            | Self::Bid { .. }
            | Self::Complain { .. }
            | Self::Sign { .. }
            | Self::Accept { .. }
            | Self::Amend { .. }
            | Self::Cancel { .. }
            | Self::ImportRelease { .. } => Vec::new(),
        }
    }

    fn name(&self) -> &'static str {
        ProcurementInstruction::name(self)
    }

    fn validate(&self) -> Result<(), DecodeError> {
        ProcurementInstruction::validate(self)
    }
}

impl civitas_primitives::kit::Events for ProcurementEvent {
    const TAGS: civitas_primitives::kit::EventTags = civitas_primitives::kit::EventTags::Own(12);

    fn accounts(&self) -> Vec<AccountId> {
        match self {
            Self::BidSubmitted { bidder, .. }
            | Self::BidOpened { bidder, .. }
            | Self::TenderAwarded { bidder, .. } => vec![*bidder],
            Self::BidEvaluated { bidder, by, .. } => vec![*bidder, *by],
            Self::ComplaintFiled { by, .. } => vec![*by],
            Self::ContractSigned { vendor, .. } => vec![*vendor],
            Self::TenderPlanned { .. }
            | Self::TenderPublished { .. }
            | Self::TenderClarified { .. }
            | Self::IntegritySignal { .. }
            | Self::MilestoneAccepted { .. }
            | Self::ContractAmended { .. }
            | Self::TenderCancelled { .. }
            | Self::ReleaseImported { .. } => Vec::new(),
        }
    }
}

/// The sentences of the procurement module's failure codes (see `civitas_core::messages`): a
/// template per code and set of arguments; `{name}` is replaced by the argument's value,
/// `{name:money}` by the amount with its currency, and `[problem=x]` chooses a template by the
/// `problem` argument.
pub const MESSAGES: &[(&str, &str)] = &[
    ("unknown_tender", "tender {tender} does not exist"),
    ("unknown_contract", "contract {contract} does not exist"),
    (
        "unknown_bid",
        "account {bidder} has no bid on tender {tender}",
    ),
    (
        "wrong_stage",
        "tender {tender} is {stage}; {doing} needs it {needed}",
    ),
    ("wrong_stage", "tender {tender} has no award"),
    (
        "wrong_stage",
        "tender {tender} is {stage}; only a tender without a contract can be cancelled",
    ),
    (
        "before_deadline",
        "{doing} on tender {tender} is possible from its deadline ({deadline} ms); the block \
         time is {now} ms",
    ),
    (
        "not_on_committee",
        "account {account} is not on the evaluation committee of tender {tender}; only its \
         members can {doing}",
    ),
    (
        "wrong_agency",
        "appropriation {appropriation} belongs to {owner}; {agency} can plan only against its own",
    ),
    (
        "wrong_agency",
        "process {ocid} was imported by {owner}; only its officials add releases to it",
    ),
    (
        "deadline_passed",
        "the deadline ({deadline} ms) must be after the block time ({now} ms)",
    ),
    (
        "deadline_passed",
        "clarifications of tender {tender} closed at its deadline ({deadline} ms)",
    ),
    (
        "document_not_notarised",
        "tender document {document} is not notarised; anchor it first",
    ),
    (
        "document_not_notarised",
        "tender document {document} was notarised by {notarised_by}, not by {agency}",
    ),
    (
        "document_revoked",
        "tender document {document} has been revoked",
    ),
    (
        "bad_committee",
        "committee member {member} is not an active official of {agency}",
    ),
    (
        "too_many",
        "tender {tender} already has {clarifications_max} clarifications",
    ),
    ("too_many", "tender {tender} already has {bids_max} bids"),
    (
        "too_many",
        "tender {tender} already has {complaints_max} complaints",
    ),
    (
        "too_many",
        "contract {contract} already has {amendments_max} amendments",
    ),
    (
        "too_many",
        "{accepted} accepted and {new} new milestones exceed the {milestones_max} a contract may \
         have",
    ),
    (
        "too_many",
        "process {ocid} already has {releases_max} imported releases",
    ),
    (
        "late_bid",
        "the deadline of tender {tender} was {deadline} ms; the block time is {now} ms: no bid \
         is accepted after it",
    ),
    (
        "bid_exists",
        "account {account} already bid on tender {tender}; a sealed bid cannot be changed",
    ),
    (
        "not_permitted",
        "only the bidder or a member of the committee of tender {tender} can open this bid",
    ),
    (
        "already_opened",
        "the bid of {bidder} on tender {tender} is already open",
    ),
    (
        "opening_mismatch",
        "the price, proposal and salt given do not match the commitment {commitment} sealed by \
         {bidder}; the bid stays sealed",
    ),
    (
        "not_opened",
        "the bid of {bidder} on tender {tender} is still sealed",
    ),
    (
        "already_evaluated",
        "{account} already evaluated this bid; an evaluation is not changed",
    ),
    (
        "wrong_scores",
        "tender {tender} has {criteria} criteria; {scores} scores were given",
    ),
    (
        "not_evaluated",
        "the bid of {bidder} on tender {tender} has not been evaluated",
    ),
    (
        "standstill_over",
        "the standstill of tender {tender} ended at {until} ms; complaints go to the review body \
         now",
    ),
    (
        "in_standstill",
        "tender {tender} is in its standstill period until {until} ms; the contract can be \
         signed after it",
    ),
    (
        "milestones_mismatch",
        "the milestones add up to {total:money}; the award is {award:money}",
    ),
    (
        "unknown_milestone",
        "contract {contract} has {milestones} milestones; there is no milestone {milestone}",
    ),
    (
        "already_accepted",
        "milestone {milestone} of contract {contract} was already accepted and paid (payment \
         {payment})",
    ),
    (
        "reserved_ocid",
        "ocids starting with {prefix} name this ledger's own processes",
    ),
    (
        "release_exists",
        "release {release} of {ocid} was already imported",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_primitives::codec::to_vec;
    use civitas_primitives::crypto::PrivateKey;
    use civitas_primitives::kit::decode_tagged;
    use civitas_primitives::money::Currency;

    fn eur(amount: u64) -> Money {
        Money::new(amount, Currency::parse("EUR").unwrap())
    }

    fn publish(weights: &[u8], committee: Vec<AccountId>) -> ProcurementInstruction {
        ProcurementInstruction::Publish {
            tender: 1,
            documents: vec![Hash32::sha256(b"terms")],
            deadline: TimestampMs(10),
            criteria: weights
                .iter()
                .enumerate()
                .map(|(i, w)| Criterion {
                    name: format!("c{i}"),
                    weight: *w,
                })
                .collect(),
            committee,
            standstill_days: 10,
        }
    }

    #[test]
    fn instructions_round_trip() {
        let a = PrivateKey::from_test_seed(1).public_key().account_id();
        let terms = MilestoneTerms {
            title: "Foundations".into(),
            amount: eur(10),
            due: TimestampMs(99),
        };
        for op in [
            ProcurementInstruction::Plan {
                appropriation: 1,
                title: "Bridge".into(),
                description: "A bridge".into(),
                estimated: eur(100),
                method: Method::Open,
            },
            publish(&[60, 40], vec![a]),
            ProcurementInstruction::Clarify {
                tender: 1,
                question: "q".into(),
                answer: "a".into(),
            },
            ProcurementInstruction::Bid {
                tender: 1,
                commitment: Hash32::sha256(b"c"),
                sealed: vec![1, 2, 3],
            },
            ProcurementInstruction::Open {
                tender: 1,
                bidder: a,
                price: eur(90),
                proposal: Hash32::sha256(b"p"),
                salt: Hash32::sha256(b"s"),
            },
            ProcurementInstruction::Evaluate {
                tender: 1,
                bidder: a,
                scores: vec![80, 70],
                justification: "good".into(),
            },
            ProcurementInstruction::Award {
                tender: 1,
                bidder: a,
                justification: "best".into(),
            },
            ProcurementInstruction::Complain {
                tender: 1,
                text: "unfair".into(),
            },
            ProcurementInstruction::Sign {
                tender: 1,
                milestones: vec![terms.clone()],
            },
            ProcurementInstruction::Accept {
                contract: 1,
                milestone: 0,
                note: "inspected".into(),
            },
            ProcurementInstruction::Amend {
                contract: 1,
                milestones: vec![terms],
                reason: "soil".into(),
            },
            ProcurementInstruction::Cancel {
                tender: 1,
                reason: "no need".into(),
            },
            ProcurementInstruction::ImportRelease {
                ocid: "ocds-213czf-000-00001".into(),
                release_id: "ocds-213czf-000-00001-01-tender".into(),
                date: "2010-05-10T10:30:00Z".into(),
                release: "{\"ocid\":\"ocds-213czf-000-00001\"}".into(),
            },
        ] {
            op.validate().unwrap();
            let bytes = to_vec(&op);
            assert_eq!(bytes.len(), commonware_codec::EncodeSize::encode_size(&op));
            assert_eq!(
                decode_tagged::<ProcurementInstruction>(&bytes),
                Ok(op.clone())
            );
        }
    }

    proptest::proptest! {
        /// Whatever random bytes decode as a procurement instruction re-encode to the same
        /// bytes: the declared codecs are canonical and never panic.
        #[test]
        fn random_instruction_bytes_decode_canonically(
            op in 0u8..14,
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
        ) {
            let mut bytes = vec![op];
            bytes.extend(body);
            if let Ok(instruction) = decode_tagged::<ProcurementInstruction>(&bytes) {
                proptest::prop_assert_eq!(to_vec(&instruction), bytes);
            }
        }

        /// Amounts in major units parse exactly and print back the same.
        #[test]
        fn amounts_round_trip(units in 0u64..=civitas_primitives::money::AMOUNT_MAX) {
            let eur = Currency::parse("EUR").unwrap();
            let text = Money::new(units, eur).to_string();
            let major = text.trim_end_matches(" EUR");
            proptest::prop_assert_eq!(Money::parse_major(major, eur).unwrap().amount, units);
        }
    }

    #[test]
    fn publish_rules() {
        let a = PrivateKey::from_test_seed(1).public_key().account_id();
        assert!(publish(&[50, 40], vec![a]).validate().is_err());
        assert!(publish(&[100], vec![a, a]).validate().is_err());
        assert!(publish(&[100], vec![]).validate().is_err());
        assert!(publish(&[100], vec![a]).validate().is_ok());
    }

    #[test]
    fn commitment_binds_every_part() {
        let a = PrivateKey::from_test_seed(1).public_key().account_id();
        let b = PrivateKey::from_test_seed(2).public_key().account_id();
        let p = Hash32::sha256(b"p");
        let s = Hash32::sha256(b"s");
        let base = bid_commitment(1, &a, &eur(5), &p, &s);
        assert_ne!(base, bid_commitment(2, &a, &eur(5), &p, &s));
        assert_ne!(base, bid_commitment(1, &b, &eur(5), &p, &s));
        assert_ne!(base, bid_commitment(1, &a, &eur(6), &p, &s));
        assert_ne!(
            base,
            bid_commitment(
                1,
                &a,
                &Money::new(5, Currency::parse("USD").unwrap()),
                &p,
                &s
            )
        );
        assert_ne!(base, bid_commitment(1, &a, &eur(5), &s, &s));
        assert_ne!(base, bid_commitment(1, &a, &eur(5), &p, &p));
    }
}
