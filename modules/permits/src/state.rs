//! The permits module's records: permit types and their versions, applications, licences, the
//! statistics of each type kept as the ledger runs (so that they have proofs), and the queue
//! of deadlines.

use civitas_core::bundle::StateKey;
use civitas_core::codec_struct;
use civitas_core::crypto::AccountId;
use civitas_core::hash::Hash32;
use civitas_core::limits::{
    AGENCY_ID_MAX_BYTES, NAME_MAX_BYTES, REASON_MAX_BYTES, REFERENCE_MAX_BYTES,
};
use civitas_core::money::Money;
use civitas_core::permits::{
    DOCUMENTS_MAX, LicenceAction, NAME_ID_MAX_BYTES, Outcome, PermitTypeDef, RECORDS_MAX,
    TYPE_ID_MAX_BYTES,
};
use civitas_core::time::TimestampMs;
use civitas_kit::schedule::Queue;
use serde::Serialize;

/// The module's key spaces, as `spaces::NAME` (see [`SPACES`](spaces::SPACES)).
pub mod spaces {
    /// A permit type, by id.
    pub const TYPE: &str = "permits/type";
    /// A version of a permit type, by `type/version`.
    pub const TYPE_VERSION: &str = "permits/type-version";
    /// An application, by number.
    pub const APPLICATION: &str = "permits/application";
    /// A licence, by number.
    pub const LICENCE: &str = "permits/licence";
    /// A permit type's figures, by id.
    pub const STATS: &str = "permits/stats";
    /// The next numbers.
    pub const CONFIG: &str = "permits/config";
    /// Deadlines (see `civitas_kit::schedule`).
    pub const DUE: &str = "permits/due";
    /// How many applications an applicant has undecided under a type, by `type/account`.
    pub const OPEN: &str = "permits/open";

    use super::*;
    use civitas_kit::space::{Id, Space, view};

    /// Where the module's records are, how a client names one, and how a value is shown.
    pub const SPACES: &[Space] = &[
        Space {
            name: TYPE,
            id: Id::Text,
            about: "permit type id",
            describe: None,
            view: view::<PermitType>,
        },
        Space {
            name: TYPE_VERSION,
            id: Id::Text,
            about: "permit type id/version",
            describe: None,
            view: view::<TypeVersion>,
        },
        Space {
            name: APPLICATION,
            id: Id::Number,
            about: "application number",
            describe: None,
            view: view::<Application>,
        },
        Space {
            name: LICENCE,
            id: Id::Number,
            about: "licence number",
            describe: Some(describe_licence),
            view: view::<Licence>,
        },
        Space {
            name: STATS,
            id: Id::Text,
            about: "permit type id",
            describe: None,
            view: view::<TypeStats>,
        },
        Space {
            name: OPEN,
            id: Id::Text,
            about: "permit type id/account id",
            describe: None,
            view: view::<u32>,
        },
        Space {
            name: CONFIG,
            id: Id::Empty,
            about: "empty",
            describe: None,
            view: view::<PermitsConfig>,
        },
    ];
}

/// The queue of the module's deadlines.
pub const DUE: Queue = Queue(spaces::DUE);

/// A permit type: who defined it, its version in force, and whether it takes applications.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PermitType {
    /// Its id.
    pub id: String,
    /// The agency that defined it.
    pub agency: String,
    /// The version new applications are filed under.
    pub version: u32,
    /// The height it was retired at, if it was.
    pub retired: Option<u64>,
}
codec_struct!(PermitType {
    id: TYPE_ID_MAX_BYTES,
    agency: AGENCY_ID_MAX_BYTES,
    version: (),
    retired: ()
});

/// One version of a permit type's definition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TypeVersion {
    /// The type.
    pub permit_type: String,
    /// The version.
    pub version: u32,
    /// The definition.
    pub definition: PermitTypeDef,
    /// The admin who published it.
    pub by: AccountId,
    /// Block height of publication.
    pub height: u64,
    /// Block time of publication.
    pub time: TimestampMs,
}
codec_struct!(TypeVersion {
    permit_type: TYPE_ID_MAX_BYTES,
    version: (),
    definition: (),
    by: (),
    height: (),
    time: ()
});

/// A fee paid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FeePayment {
    /// The amount.
    pub amount: Money,
    /// The payment's reference.
    pub reference: String,
    /// The official who recorded it.
    pub by: AccountId,
    /// Block height.
    pub height: u64,
    /// Block time.
    pub time: TimestampMs,
    /// The fiscal year of the treasury's revenue entry that records it.
    pub revenue_year: u32,
    /// That entry's number within the year (`treasury/revenue/<year>/<number>`).
    pub revenue_entry: u64,
}
codec_struct!(FeePayment {
    amount: (),
    reference: REFERENCE_MAX_BYTES,
    by: (),
    height: (),
    time: (),
    revenue_year: (),
    revenue_entry: ()
});

/// A step's deadline that passed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Overdue {
    /// The step.
    pub step: String,
    /// The deadline.
    pub deadline: TimestampMs,
    /// The height of the block whose end marked it.
    pub height: u64,
}
codec_struct!(Overdue {
    step: NAME_ID_MAX_BYTES,
    deadline: (),
    height: ()
});

/// A decision on an application (or its withdrawal).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Decision {
    /// How it was decided.
    pub outcome: Outcome,
    /// The official (none: a deadline decided, or the applicant withdrew).
    pub by: Option<AccountId>,
    /// The reason.
    pub reason: String,
    /// The licence issued, if any.
    pub licence: Option<u64>,
    /// Block height.
    pub height: u64,
    /// Block time.
    pub time: TimestampMs,
}
codec_struct!(Decision {
    outcome: (),
    by: (),
    reason: REASON_MAX_BYTES,
    licence: (),
    height: (),
    time: ()
});

/// An appeal against a refusal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AppealRecord {
    /// SHA-256 of the grounds.
    pub grounds: Hash32,
    /// Block height it was lodged at.
    pub height: u64,
    /// Block time.
    pub time: TimestampMs,
}
codec_struct!(AppealRecord {
    grounds: (),
    height: (),
    time: ()
});

/// An application, as the ledger keeps it: never its form, only the vault record that holds
/// it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Application {
    /// Its number.
    pub id: u64,
    /// The type.
    pub permit_type: String,
    /// The type's version it is filed under.
    pub version: u32,
    /// The agency.
    pub agency: String,
    /// The applicant.
    pub applicant: AccountId,
    /// The vault record holding its form (its versions and access log are the sharing
    /// module's: `sharing/record/<id>`).
    pub form: Hash32,
    /// Notarised documents, the required ones first in the type's order, then any given in
    /// answer to requests.
    pub documents: Vec<Hash32>,
    /// Vault records, in the type's order.
    pub records: Vec<Hash32>,
    /// The licence it renews, if it is a renewal.
    pub renews: Option<u64>,
    /// The fee due (the type's when filed).
    pub fee: Option<Money>,
    /// The fee paid.
    pub paid: Option<FeePayment>,
    /// The current step's position in the type's steps.
    pub step: u8,
    /// How many times a step's clock has started (identifies the deadline in force).
    pub clock: u32,
    /// When the current step began (none while the fee is unpaid): its duration counts from
    /// here.
    pub entered: Option<TimestampMs>,
    /// When the current step's clock last started (none while the fee is unpaid, or while
    /// the applicant is asked for information).
    pub started: Option<TimestampMs>,
    /// The current step's deadline, if its clock runs and it has one.
    pub deadline: Option<TimestampMs>,
    /// What the applicant is asked for, while the step waits for them.
    pub awaiting: Option<String>,
    /// How many times the applicant was asked at the current step.
    pub requests: u8,
    /// Whether the current step passed to the supervisor role when its deadline passed.
    pub escalated: bool,
    /// The last deadline that passed, if one did.
    pub overdue: Option<Overdue>,
    /// The decision, once decided or withdrawn.
    pub decision: Option<Decision>,
    /// The appeal, if the applicant appealed a refusal.
    pub appeal: Option<AppealRecord>,
    /// Block height of filing.
    pub height: u64,
    /// Block time of filing.
    pub time: TimestampMs,
}
codec_struct!(Application {
    id: (),
    permit_type: TYPE_ID_MAX_BYTES,
    version: (),
    agency: AGENCY_ID_MAX_BYTES,
    applicant: (),
    form: (),
    documents: (2 * DOCUMENTS_MAX, ()),
    records: (RECORDS_MAX, ()),
    renews: (),
    fee: (),
    paid: (),
    step: (),
    clock: (),
    entered: (),
    started: (),
    deadline: (),
    awaiting: REASON_MAX_BYTES,
    requests: (),
    escalated: (),
    overdue: (),
    decision: (),
    appeal: (),
    height: (),
    time: ()
});

/// A suspension or revocation of a licence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LicenceStop {
    /// Suspend or revoke.
    pub action: LicenceAction,
    /// The official.
    pub by: AccountId,
    /// Why.
    pub reason: String,
    /// Block height.
    pub height: u64,
    /// Block time.
    pub time: TimestampMs,
}
codec_struct!(LicenceStop {
    action: (),
    by: (),
    reason: REASON_MAX_BYTES,
    height: (),
    time: ()
});

/// A licence: what it permits, to whom, until when, and whether it stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Licence {
    /// Its number.
    pub id: u64,
    /// Its type.
    pub permit_type: String,
    /// The type's version it was issued under.
    pub version: u32,
    /// The issuing agency.
    pub agency: String,
    /// Its holder.
    pub holder: AccountId,
    /// What it permits.
    pub scope: String,
    /// The application that issued it (and, after renewals, the last that renewed it).
    pub application: u64,
    /// Whether it is on the public register.
    pub public: bool,
    /// Valid until (none: until revoked).
    pub valid_until: Option<TimestampMs>,
    /// How many times it was renewed (identifies the expiry in force).
    pub renewals: u32,
    /// The renewal application filed and not yet decided, if there is one.
    pub renewing: Option<u64>,
    /// Its suspension or revocation, while it stands.
    pub stopped: Option<LicenceStop>,
    /// Block height of issue.
    pub height: u64,
    /// Block time of issue.
    pub time: TimestampMs,
}
codec_struct!(Licence {
    id: (),
    permit_type: TYPE_ID_MAX_BYTES,
    version: (),
    agency: AGENCY_ID_MAX_BYTES,
    holder: (),
    scope: NAME_MAX_BYTES,
    application: (),
    public: (),
    valid_until: (),
    renewals: (),
    renewing: (),
    stopped: (),
    height: (),
    time: ()
});

/// Where a licence stands at a block time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LicenceStatus {
    /// Valid.
    Valid,
    /// Suspended.
    Suspended,
    /// Revoked.
    Revoked,
    /// Its validity ran out.
    Expired,
}

impl LicenceStatus {
    /// The name used in JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }
}

impl Licence {
    /// Where it stands at block time `now`: revoked, suspended, expired (its validity ended
    /// at or before `now`) or valid.
    pub fn status(&self, now: TimestampMs) -> LicenceStatus {
        match &self.stopped {
            Some(stop) if stop.action == LicenceAction::Revoke => LicenceStatus::Revoked,
            Some(_) => LicenceStatus::Suspended,
            None if self.valid_until.is_some_and(|until| until.0 <= now.0) => {
                LicenceStatus::Expired
            }
            None => LicenceStatus::Valid,
        }
    }
}

/// The upper bounds, in hours, of the buckets a step's durations are counted in; a last
/// bucket counts what is longer.
pub const DURATION_BUCKETS_HOURS: [u64; 16] = [
    1, 4, 8, 24, 48, 72, 120, 168, 240, 336, 504, 720, 1_080, 1_440, 2_160, 4_320,
];

/// How long one step took, counted as the ledger runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StepStats {
    /// The step.
    pub step: String,
    /// How many times it was completed (or decided, for the last).
    pub completed: u64,
    /// How many times its deadline passed.
    pub overdue: u64,
    /// How many took at most each of [`DURATION_BUCKETS_HOURS`], then more.
    pub durations: Vec<u64>,
}
codec_struct!(StepStats {
    step: NAME_ID_MAX_BYTES,
    completed: (),
    overdue: (),
    durations: (DURATION_BUCKETS_HOURS.len() + 1, ())
});

impl StepStats {
    /// Counts one duration.
    pub fn count(&mut self, millis: u64) {
        if self.durations.len() != DURATION_BUCKETS_HOURS.len() + 1 {
            self.durations = vec![0; DURATION_BUCKETS_HOURS.len() + 1];
        }
        let hours = millis.div_ceil(3_600_000);
        let bucket = DURATION_BUCKETS_HOURS
            .iter()
            .position(|bound| hours <= *bound)
            .unwrap_or(DURATION_BUCKETS_HOURS.len());
        self.durations[bucket] += 1;
        self.completed += 1;
    }

    /// The bound, in hours, of the bucket the `percent`th percentile falls in (`None`: nothing
    /// counted, or it falls in the last, unbounded bucket).
    pub fn percentile_hours(&self, percent: u64) -> Option<u64> {
        let total: u64 = self.durations.iter().sum();
        if total == 0 {
            return None;
        }
        // The smallest count that is at least `percent`% of the total.
        let rank = (total * percent).div_ceil(100).max(1);
        let mut seen = 0;
        for (bucket, count) in self.durations.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return DURATION_BUCKETS_HOURS.get(bucket).copied();
            }
        }
        None
    }
}

/// A permit type's figures, kept as the ledger runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TypeStats {
    /// The type.
    pub permit_type: String,
    /// Applications filed.
    pub applications: u64,
    /// Applications granted (by an official, by a deadline, or on appeal).
    pub approved: u64,
    /// Of those, granted because a deadline passed.
    pub approved_tacitly: u64,
    /// Applications refused and not granted on appeal (approved, refused and withdrawn add up
    /// to the applications decided).
    pub refused: u64,
    /// Applications withdrawn.
    pub withdrawn: u64,
    /// Refusals appealed.
    pub appealed: u64,
    /// Of those, granted on appeal.
    pub overturned: u64,
    /// Applications that missed at least one deadline.
    pub overdue: u64,
    /// Each step's figures, by name, in the order they first ran.
    pub steps: Vec<StepStats>,
}
codec_struct!(TypeStats {
    permit_type: TYPE_ID_MAX_BYTES,
    applications: (),
    approved: (),
    approved_tacitly: (),
    refused: (),
    withdrawn: (),
    appealed: (),
    overturned: (),
    overdue: (),
    steps: (4 * civitas_core::permits::STEPS_MAX, ())
});

impl TypeStats {
    /// The figures of `step`, added if it is new (a step a later version adds) and there is
    /// room.
    pub fn step_mut(&mut self, step: &str) -> Option<&mut StepStats> {
        let position = match self.steps.iter().position(|s| s.step == step) {
            Some(position) => position,
            None if self.steps.len() < 4 * civitas_core::permits::STEPS_MAX => {
                self.steps.push(StepStats {
                    step: step.to_string(),
                    ..StepStats::default()
                });
                self.steps.len() - 1
            }
            None => return None,
        };
        self.steps.get_mut(position)
    }
}

/// The next numbers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PermitsConfig {
    /// The next application's number.
    pub next_application: u64,
    /// The next licence's number.
    pub next_licence: u64,
}
codec_struct!(PermitsConfig {
    next_application: (),
    next_licence: ()
});

impl Default for PermitsConfig {
    fn default() -> Self {
        Self {
            next_application: 1,
            next_licence: 1,
        }
    }
}

/// Key of a permit type.
pub fn type_key(id: &str) -> StateKey {
    StateKey::new(spaces::TYPE, id.as_bytes().to_vec())
}

/// Key of a version of a permit type.
pub fn type_version_key(id: &str, version: u32) -> StateKey {
    StateKey::new(spaces::TYPE_VERSION, format!("{id}/{version}").into_bytes())
}

/// Key of an application.
pub fn application_key(id: u64) -> StateKey {
    StateKey::new(spaces::APPLICATION, id.to_be_bytes().to_vec())
}

/// Key of a licence.
pub fn licence_key(id: u64) -> StateKey {
    StateKey::new(spaces::LICENCE, id.to_be_bytes().to_vec())
}

/// Key of a permit type's figures.
pub fn stats_key(id: &str) -> StateKey {
    StateKey::new(spaces::STATS, id.as_bytes().to_vec())
}

/// Key of how many applications `applicant` has undecided under permit type `id`.
pub fn open_key(id: &str, applicant: &AccountId) -> StateKey {
    StateKey::new(
        spaces::OPEN,
        format!("{id}/{}", applicant.to_hex()).into_bytes(),
    )
}

/// Key of the next numbers.
pub fn config_key() -> StateKey {
    StateKey::new(spaces::CONFIG, Vec::new())
}

/// What a proof of a licence shows: "licence 7 (business-licence: a café at ...) of city:
/// valid until …, not suspended or revoked at height H".
fn describe_licence(
    id: &[u8],
    licence: Option<&serde_json::Value>,
    at: &civitas_kit::space::At,
) -> Option<String> {
    let number = u64::from_be_bytes(id.try_into().ok()?);
    let Some(licence) = licence else {
        return Some(format!("there is no licence {number} ({at})"));
    };
    // Expired is a matter of the proven block's time: the record keeps its end date.
    let until = match licence["valid_until"].as_u64() {
        Some(until) if until <= at.time.0 => {
            format!("EXPIRED on {}", TimestampMs(until).rfc3339())
        }
        Some(until) => format!("valid until {}", TimestampMs(until).rfc3339()),
        None => "valid until revoked".to_string(),
    };
    let standing = match licence["stopped"].as_object() {
        Some(stop) => format!(
            "{} at height {}: {}",
            if stop["action"] == "revoke" {
                "REVOKED"
            } else {
                "SUSPENDED"
            },
            stop["height"],
            stop["reason"].as_str().unwrap_or("")
        ),
        None => "not suspended or revoked".to_string(),
    };
    Some(format!(
        "licence {number} ({}: {}) of {}: {until}, {standing} {at}",
        licence["permit_type"].as_str().unwrap_or(""),
        licence["scope"].as_str().unwrap_or(""),
        licence["agency"].as_str().unwrap_or(""),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_kit::space::At;

    /// A proof of a licence says it expired once the proven block's time reached its end date,
    /// and that it is valid before.
    #[test]
    fn a_licence_proof_reads_expired_from_the_blocks_time() {
        let licence = Licence {
            id: 7,
            permit_type: "street-market-stall".into(),
            version: 1,
            agency: "land".into(),
            holder: AccountId([1; 32]),
            scope: "Stall 4".into(),
            application: 3,
            public: true,
            valid_until: Some(TimestampMs(86_400_000)),
            renewals: 0,
            renewing: None,
            stopped: None,
            height: 5,
            time: TimestampMs(1_000),
        };
        let view = serde_json::to_value(&licence).expect("a view");
        let at = |time| At {
            words: "at height 9 of chain c".into(),
            time: TimestampMs(time),
        };
        let before = describe_licence(&7u64.to_be_bytes(), Some(&view), &at(86_399_999));
        assert_eq!(
            before.as_deref(),
            Some(
                "licence 7 (street-market-stall: Stall 4) of land: valid until \
                 1970-01-02T00:00:00Z, not suspended or revoked at height 9 of chain c"
            )
        );
        let after = describe_licence(&7u64.to_be_bytes(), Some(&view), &at(86_400_000));
        assert_eq!(
            after.as_deref(),
            Some(
                "licence 7 (street-market-stall: Stall 4) of land: EXPIRED on \
                 1970-01-02T00:00:00Z, not suspended or revoked at height 9 of chain c"
            )
        );
    }
}
