//! Procurement state: one record per contracting process (plan, tender, award), one per bid,
//! one per contract, and each agency's recent awards for the integrity signals.

use civitas_core::bundle::StateKey;
use civitas_core::crypto::AccountId;
use civitas_core::hash::Hash32;
use civitas_core::limits::*;
use civitas_core::money::Money;
use civitas_core::procurement::{Criterion, Method, MilestoneTerms};
use civitas_core::time::TimestampMs;
use civitas_core::{codec_enum, codec_struct};
use serde::Serialize;

/// The module's key spaces, as `spaces::NAME` (see [`SPACES`]).
pub mod spaces {
    /// Procurement counters: next tender and contract numbers (single key).
    pub const PROCUREMENT_CONFIG: &str = "procurement/config";
    /// A contracting process (plan, tender, award), by big-endian u64 number.
    pub const TENDER: &str = "procurement/tender";
    /// A bid, by big-endian u64 tender number followed by the bidder's account id.
    pub const BID: &str = "procurement/bid";
    /// A contract with its milestones, by big-endian u64 number.
    pub const CONTRACT: &str = "procurement/contract";
    /// An agency's recent awards, read by the integrity signals, by agency id.
    pub const AWARDS: &str = "procurement/awards";
    /// An imported (historical) OCDS contracting process, by UTF-8 `ocid`.
    pub const IMPORTED: &str = "procurement/imported";
    /// The `ocid` of the n-th imported process, by big-endian u64 n (from 1).
    pub const IMPORT_INDEX: &str = "procurement/import-index";
    /// An imported OCDS release's JSON text, by its SHA-256.
    pub const RELEASE_TEXT: &str = "procurement/release-text";

    use super::*;
    use civitas_kit::space::{Id, Space, view};

    /// Where the module's records are, how a client names one, and how a value is shown.
    pub const SPACES: &[Space] = &[
        Space {
            name: PROCUREMENT_CONFIG,
            id: Id::Empty,
            about: "empty",
            describe: None,
            view: view::<ProcurementConfig>,
        },
        Space {
            name: TENDER,
            id: Id::Number,
            about: "tender number",
            describe: None,
            view: view::<Tender>,
        },
        Space {
            name: BID,
            id: Id::Custom {
                parse: |id| {
                    let parsed = id.split_once('/').and_then(|(tender, bidder)| {
                        Some((tender.parse::<u64>().ok()?, Hash32::from_hex(bidder).ok()?))
                    });
                    let Some((tender, bidder)) = parsed else {
                        return Err("<tender number>/<bidder account id, hex>".to_string());
                    };
                    let mut bytes = tender.to_be_bytes().to_vec();
                    bytes.extend_from_slice(&bidder.0);
                    Ok(bytes)
                },
                show: |id| {
                    let (tender, bidder) = id.split_first_chunk::<8>()?;
                    (bidder.len() == 32)
                        .then(|| format!("{}/{}", u64::from_be_bytes(*tender), hex::encode(bidder)))
                },
            },
            about: "<tender number>/<bidder account id, hex>",
            describe: None,
            view: view::<Bid>,
        },
        Space {
            name: CONTRACT,
            id: Id::Number,
            about: "contract number",
            describe: None,
            view: view::<Contract>,
        },
        Space {
            name: AWARDS,
            id: Id::Text,
            about: "agency id, such as health",
            describe: None,
            view: view::<RecentAwards>,
        },
        Space {
            name: IMPORTED,
            id: Id::Text,
            about: "an imported process's ocid",
            describe: None,
            view: view::<ImportedProcess>,
        },
        Space {
            name: IMPORT_INDEX,
            id: Id::Number,
            about: "import number",
            describe: None,
            view: view::<ImportRef>,
        },
        Space {
            name: RELEASE_TEXT,
            id: Id::Fingerprint("a release text's SHA-256"),
            about: "SHA-256 of the release text, hex",
            describe: None,
            view: view::<ReleaseText>,
        },
    ];
}

/// Next numbers to hand out; both start at 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ProcurementConfig {
    /// Next tender number.
    pub next_tender: u64,
    /// Next contract number.
    pub next_contract: u64,
    /// Next imported process's number.
    pub next_import: u64,
}
codec_struct!(ProcurementConfig {
    next_tender: (),
    next_contract: (),
    next_import: ()
});

impl Default for ProcurementConfig {
    fn default() -> Self {
        Self {
            next_tender: 1,
            next_contract: 1,
            next_import: 1,
        }
    }
}

/// One imported OCDS release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ImportedRelease {
    /// Its `id`.
    pub id: String,
    /// Its `date`, as written.
    pub date: String,
    /// SHA-256 of its text (the key of the text).
    pub text: Hash32,
    /// Who imported it.
    pub by: AccountId,
    /// Height of the import.
    pub height: u64,
}
codec_struct!(ImportedRelease {
    id: OCDS_ID_MAX_BYTES,
    date: 64,
    text: (),
    by: (),
    height: (),
});

/// A historical contracting process brought in from OCDS.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ImportedProcess {
    /// Its `ocid`.
    pub ocid: String,
    /// The agency that imported it.
    pub agency: String,
    /// Its number among imports.
    pub number: u64,
    /// Its releases, in import order.
    pub releases: Vec<ImportedRelease>,
}
codec_struct!(ImportedProcess {
    ocid: OCDS_ID_MAX_BYTES,
    agency: AGENCY_ID_MAX_BYTES,
    number: (),
    releases: (OCDS_RELEASES_MAX, ()),
});

/// An imported release's JSON text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReleaseText {
    /// The text.
    pub text: String,
}
codec_struct!(ReleaseText {
    text: OCDS_RELEASE_MAX_BYTES
});

/// An entry of the list of imported processes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ImportRef {
    /// The process's `ocid`.
    pub ocid: String,
}
codec_struct!(ImportRef {
    ocid: OCDS_ID_MAX_BYTES
});

/// Key of an imported process.
pub fn imported_key(ocid: &str) -> StateKey {
    StateKey::new(spaces::IMPORTED, ocid.as_bytes().to_vec())
}

/// Key of the n-th imported process's `ocid`.
pub fn import_index_key(n: u64) -> StateKey {
    StateKey::new(spaces::IMPORT_INDEX, n.to_be_bytes().to_vec())
}

/// Key of a release text.
pub fn release_text_key(hash: &Hash32) -> StateKey {
    StateKey::new(spaces::RELEASE_TEXT, hash.0.to_vec())
}

/// Where a contracting process stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Planned, not yet published.
    Planned,
    /// Published; bids are received until the deadline, then opened and evaluated.
    Tendering,
    /// Awarded; in standstill until `standstill_until`, then ready for the contract.
    Awarded,
    /// The contract is signed.
    Contracted,
    /// Cancelled.
    Cancelled,
}
codec_enum!(Stage { 0 => Planned {}, 1 => Tendering {}, 2 => Awarded {}, 3 => Contracted {}, 4 => Cancelled {} });

impl Stage {
    /// Its name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::Tendering => "tendering",
            Self::Awarded => "awarded",
            Self::Contracted => "contracted",
            Self::Cancelled => "cancelled",
        }
    }
}

/// A published clarification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Clarification {
    /// The question.
    pub question: String,
    /// The answer.
    pub answer: String,
    /// Block time.
    pub time: TimestampMs,
}
codec_struct!(Clarification {
    question: DESCRIPTION_MAX_BYTES,
    answer: DESCRIPTION_MAX_BYTES,
    time: ()
});

/// A recorded complaint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Complaint {
    /// Who complained.
    pub by: AccountId,
    /// The complaint.
    pub text: String,
    /// Block time.
    pub time: TimestampMs,
}
codec_struct!(Complaint {
    by: (),
    text: REASON_MAX_BYTES,
    time: ()
});

/// Why and when a tender was cancelled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Cancellation {
    /// Why.
    pub reason: String,
    /// Who cancelled it.
    pub by: AccountId,
    /// Block time.
    pub time: TimestampMs,
}
codec_struct!(Cancellation {
    reason: REASON_MAX_BYTES,
    by: (),
    time: ()
});

/// An integrity signal the record raised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Signal {
    /// Code, such as `single_bidder`.
    pub code: String,
    /// What raised it.
    pub detail: String,
}
codec_struct!(Signal {
    code: CODE_MAX_BYTES,
    detail: REASON_MAX_BYTES
});

/// The award.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Award {
    /// The winner.
    pub bidder: AccountId,
    /// The awarded price.
    pub value: Money,
    /// Why.
    pub justification: String,
    /// The committee member who awarded it.
    pub by: AccountId,
    /// Block time.
    pub time: TimestampMs,
    /// End of the standstill period.
    pub standstill_until: TimestampMs,
    /// Integrity signals raised.
    pub signals: Vec<Signal>,
}
codec_struct!(Award {
    bidder: (),
    value: (),
    justification: DESCRIPTION_MAX_BYTES,
    by: (),
    time: (),
    standstill_until: (),
    signals: (SIGNALS_MAX, ()),
});

/// A contracting process: plan, tender, award.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Tender {
    /// Its number.
    pub id: u64,
    /// The buying agency.
    pub agency: String,
    /// The appropriation that pays for it.
    pub appropriation: u64,
    /// Fiscal year of the appropriation.
    pub year: u32,
    /// Title.
    pub title: String,
    /// Scope.
    pub description: String,
    /// Estimated value.
    pub estimated: Money,
    /// Procurement method.
    pub method: Method,
    /// Where it stands.
    pub stage: Stage,
    /// Who planned it.
    pub planned_by: AccountId,
    /// When.
    pub planned_at: TimestampMs,
    /// When it was published (0 until then).
    pub published_at: TimestampMs,
    /// Tender documents (notarised).
    pub documents: Vec<Hash32>,
    /// Bid deadline (0 until published).
    pub deadline: TimestampMs,
    /// Evaluation criteria.
    pub criteria: Vec<Criterion>,
    /// Evaluation committee.
    pub committee: Vec<AccountId>,
    /// Standstill after the award, in days.
    pub standstill_days: u16,
    /// Published clarifications.
    pub clarifications: Vec<Clarification>,
    /// Bidders, in the order their sealed bids arrived.
    pub bidders: Vec<AccountId>,
    /// How many bids have been opened.
    pub opened: u32,
    /// The award.
    pub award: Option<Award>,
    /// Complaints recorded during the standstill.
    pub complaints: Vec<Complaint>,
    /// The contract, once signed.
    pub contract: Option<u64>,
    /// Why and when it was cancelled.
    pub cancellation: Option<Cancellation>,
}
codec_struct!(Tender {
    id: (),
    agency: AGENCY_ID_MAX_BYTES,
    appropriation: (),
    year: (),
    title: NAME_MAX_BYTES,
    description: DESCRIPTION_MAX_BYTES,
    estimated: (),
    method: (),
    stage: (),
    planned_by: (),
    planned_at: (),
    published_at: (),
    documents: (TENDER_DOCUMENTS_MAX, ()),
    deadline: (),
    criteria: (CRITERIA_MAX, ()),
    committee: (COMMITTEE_MAX, ()),
    standstill_days: (),
    clarifications: (CLARIFICATIONS_MAX, ()),
    bidders: (BIDS_MAX, ()),
    opened: (),
    award: (),
    complaints: (COMPLAINTS_MAX, ()),
    contract: (),
    cancellation: (),
});

/// A bid once opened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Opening {
    /// The price offered.
    pub price: Money,
    /// SHA-256 of the technical proposal.
    pub proposal: Hash32,
    /// Who opened it (the bidder or a committee member).
    pub opened_by: AccountId,
    /// Block time.
    pub time: TimestampMs,
}
codec_struct!(Opening {
    price: (),
    proposal: (),
    opened_by: (),
    time: ()
});

/// One committee member's evaluation of a bid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Evaluation {
    /// The committee member.
    pub by: AccountId,
    /// Scores, in the order of the criteria.
    pub scores: Vec<u8>,
    /// Weighted score, 0 to 10,000.
    pub score: u32,
    /// Why.
    pub justification: String,
    /// Block time.
    pub time: TimestampMs,
}
codec_struct!(Evaluation {
    by: (),
    scores: (CRITERIA_MAX, ()),
    score: (),
    justification: DESCRIPTION_MAX_BYTES,
    time: (),
});

/// A sealed bid, and what happened to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Bid {
    /// The tender.
    pub tender: u64,
    /// The bidder.
    pub bidder: AccountId,
    /// Its commitment.
    pub commitment: Hash32,
    /// The bid encrypted to the committee, if given.
    #[serde(serialize_with = "hex_bytes")]
    #[schema(value_type = String, pattern = "^([0-9a-f]{2})*$")]
    pub sealed: Vec<u8>,
    /// Block time of submission.
    pub time: TimestampMs,
    /// Present once opened.
    pub opening: Option<Opening>,
    /// The committee's evaluations.
    pub evaluations: Vec<Evaluation>,
}
codec_struct!(Bid {
    tender: (),
    bidder: (),
    commitment: (),
    sealed: (SEALED_BID_MAX_BYTES, ()),
    time: (),
    opening: (),
    evaluations: (COMMITTEE_MAX, ()),
});

fn hex_bytes<S: serde::Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&hex::encode(bytes))
}

impl Bid {
    /// The mean of the committee's weighted scores (0 to 10,000), if evaluated.
    pub fn mean_score(&self) -> Option<u32> {
        let count = self.evaluations.len() as u64;
        let sum: u64 = self.evaluations.iter().map(|e| u64::from(e.score)).sum();
        (count > 0).then(|| (sum / count) as u32)
    }
}

/// How a milestone was accepted and paid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Acceptance {
    /// The official who accepted it.
    pub by: AccountId,
    /// What was checked.
    pub note: String,
    /// Block time.
    pub time: TimestampMs,
    /// The commitment created.
    pub commitment: u64,
    /// The payment made.
    pub payment: u64,
}
codec_struct!(Acceptance {
    by: (),
    note: REASON_MAX_BYTES,
    time: (),
    commitment: (),
    payment: ()
});

/// A milestone of a contract.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Milestone {
    /// Its terms.
    pub terms: MilestoneTerms,
    /// Present once accepted.
    pub accepted: Option<Acceptance>,
}
codec_struct!(Milestone {
    terms: (),
    accepted: ()
});

/// An amendment of a contract.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Amendment {
    /// Why.
    pub reason: String,
    /// Who approved it (the signer first, then co-signers).
    pub approvers: Vec<AccountId>,
    /// Block time.
    pub time: TimestampMs,
    /// Value before.
    pub old_value: Money,
    /// Value after.
    pub new_value: Money,
}
codec_struct!(Amendment {
    reason: REASON_MAX_BYTES,
    approvers: (TX_SIGNATURES_MAX, ()),
    time: (),
    old_value: (),
    new_value: (),
});

/// A signed contract.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Contract {
    /// Its number.
    pub id: u64,
    /// The tender it came from.
    pub tender: u64,
    /// The buying agency.
    pub agency: String,
    /// The vendor.
    pub vendor: AccountId,
    /// The appropriation that pays it.
    pub appropriation: u64,
    /// Current value (after amendments).
    pub value: Money,
    /// Who signed it for the agency.
    pub signed_by: AccountId,
    /// Block time.
    pub signed_at: TimestampMs,
    /// Milestones in order.
    pub milestones: Vec<Milestone>,
    /// Amendments in order.
    pub amendments: Vec<Amendment>,
}
codec_struct!(Contract {
    id: (),
    tender: (),
    agency: AGENCY_ID_MAX_BYTES,
    vendor: (),
    appropriation: (),
    value: (),
    signed_by: (),
    signed_at: (),
    milestones: (MILESTONES_MAX, ()),
    amendments: (AMENDMENTS_MAX, ()),
});

impl Contract {
    /// Sum of the accepted milestones.
    pub fn paid(&self) -> u64 {
        self.milestones
            .iter()
            .filter(|m| m.accepted.is_some())
            .map(|m| m.terms.amount.amount)
            .sum()
    }
}

/// One award, as the integrity signals remember it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AwardNote {
    /// The tender.
    pub tender: u64,
    /// The winner.
    pub vendor: AccountId,
    /// The awarded value, minor units.
    pub value: u64,
    /// Block time.
    pub time: TimestampMs,
}
codec_struct!(AwardNote {
    tender: (),
    vendor: (),
    value: (),
    time: ()
});

/// An agency's most recent awards, newest last.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RecentAwards {
    /// Up to [`RECENT_AWARDS`] awards.
    pub awards: Vec<AwardNote>,
}
codec_struct!(RecentAwards {
    awards: (RECENT_AWARDS, ())
});

/// How many of an agency's awards the signals look back over.
pub const RECENT_AWARDS: usize = 16;

/// Key of the counters.
pub fn config_key() -> StateKey {
    StateKey::new(spaces::PROCUREMENT_CONFIG, Vec::new())
}

/// Key of a tender.
pub fn tender_key(id: u64) -> StateKey {
    StateKey::new(spaces::TENDER, id.to_be_bytes().to_vec())
}

/// Key of a bid.
pub fn bid_key(tender: u64, bidder: &AccountId) -> StateKey {
    let mut id = tender.to_be_bytes().to_vec();
    id.extend_from_slice(&bidder.0);
    StateKey::new(spaces::BID, id)
}

/// Key of a contract.
pub fn contract_key(id: u64) -> StateKey {
    StateKey::new(spaces::CONTRACT, id.to_be_bytes().to_vec())
}

/// Key of an agency's recent awards.
pub fn awards_key(agency: &str) -> StateKey {
    StateKey::new(spaces::AWARDS, agency.as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_core::codec::to_vec;
    use civitas_core::money::Currency;

    fn text(n: usize) -> String {
        "x".repeat(n)
    }

    /// The largest tender and contract the bounds allow still fit in one state value.
    #[test]
    fn largest_records_fit_a_state_value() {
        let eur = Money::new(1, Currency::parse("EUR").unwrap());
        let account = AccountId([7; 32]);
        let at = TimestampMs(1);
        let tender = Tender {
            id: 1,
            agency: text(AGENCY_ID_MAX_BYTES),
            appropriation: 1,
            year: 2026,
            title: text(NAME_MAX_BYTES),
            description: text(DESCRIPTION_MAX_BYTES),
            estimated: eur,
            method: Method::Open,
            stage: Stage::Awarded,
            planned_by: account,
            planned_at: at,
            published_at: at,
            documents: vec![Hash32::ZERO; TENDER_DOCUMENTS_MAX],
            deadline: at,
            criteria: vec![
                Criterion {
                    name: text(NAME_MAX_BYTES),
                    weight: 1
                };
                CRITERIA_MAX
            ],
            committee: vec![account; COMMITTEE_MAX],
            standstill_days: 1,
            clarifications: vec![
                Clarification {
                    question: text(DESCRIPTION_MAX_BYTES),
                    answer: text(DESCRIPTION_MAX_BYTES),
                    time: at,
                };
                CLARIFICATIONS_MAX
            ],
            bidders: vec![account; BIDS_MAX],
            opened: 1,
            award: Some(Award {
                bidder: account,
                value: eur,
                justification: text(DESCRIPTION_MAX_BYTES),
                by: account,
                time: at,
                standstill_until: at,
                signals: vec![
                    Signal {
                        code: text(CODE_MAX_BYTES),
                        detail: text(REASON_MAX_BYTES),
                    };
                    SIGNALS_MAX
                ],
            }),
            complaints: vec![
                Complaint {
                    by: account,
                    text: text(REASON_MAX_BYTES),
                    time: at,
                };
                COMPLAINTS_MAX
            ],
            contract: Some(1),
            cancellation: Some(Cancellation {
                reason: text(REASON_MAX_BYTES),
                by: account,
                time: at,
            }),
        };
        assert!(
            to_vec(&tender).len() <= STATE_VALUE_MAX_BYTES,
            "{}",
            to_vec(&tender).len()
        );
        let milestone = Milestone {
            terms: MilestoneTerms {
                title: text(NAME_MAX_BYTES),
                amount: eur,
                due: at,
            },
            accepted: Some(Acceptance {
                by: account,
                note: text(REASON_MAX_BYTES),
                time: at,
                commitment: 1,
                payment: 1,
            }),
        };
        let contract = Contract {
            id: 1,
            tender: 1,
            agency: text(AGENCY_ID_MAX_BYTES),
            vendor: account,
            appropriation: 1,
            value: eur,
            signed_by: account,
            signed_at: at,
            milestones: vec![milestone; MILESTONES_MAX],
            amendments: vec![
                Amendment {
                    reason: text(REASON_MAX_BYTES),
                    approvers: vec![account; TX_SIGNATURES_MAX],
                    time: at,
                    old_value: eur,
                    new_value: eur,
                };
                AMENDMENTS_MAX
            ],
        };
        assert!(
            to_vec(&contract).len() <= STATE_VALUE_MAX_BYTES,
            "{}",
            to_vec(&contract).len()
        );
    }
}
