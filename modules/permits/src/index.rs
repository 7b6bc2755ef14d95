//! The permits' part of the read model: permit types, applications where they stand (an
//! agency's queue per step, oldest first; an applicant's own; a type's), and the public register
//! of licences. Every figure and record shown from here has its proof on the ledger; the read
//! model only finds them.
//!
//! Each application event is also filed under the topic `permits/application/<n>`, each
//! licence event under `permits/licence/<n>`, and each missed deadline under
//! `permits/overdue/<agency>` (anyone may watch it) and under `role/<agency>/<supervisor role>`,
//! which puts it in the inbox of every official of the agency holding the type's supervisor
//! role.

use civitas_core::event::Event;
use civitas_core::permits::{LicenceChange, PermitsEvent};
use civitas_kit::index::query::{
    AnyRow, Keyed, Listing, Order, Page, Snapshot, int, optional_int, optional_text, text,
};
use civitas_kit::index::{Context, IndexError, Rows, Value};
use serde::Serialize;

/// The permits' tables.
pub const TABLES: &[&str] = &[
    "permits_types",
    "permits_applications",
    "permits_licences",
    "permits_timeline",
];

/// Their migrations.
pub const MIGRATIONS: &[&str] = &[
    // 1: types, applications, licences, and each application's timeline (every event about
    // it, in order).
    "CREATE TABLE permits_types (
        permit_type TEXT PRIMARY KEY,
        agency TEXT NOT NULL,
        version BIGINT NOT NULL,
        retired BIGINT NOT NULL,
        defined_ms BIGINT NOT NULL
    );
    CREATE TABLE permits_applications (
        application BIGINT PRIMARY KEY,
        permit_type TEXT NOT NULL,
        version BIGINT NOT NULL,
        agency TEXT NOT NULL,
        applicant TEXT NOT NULL,
        step TEXT NOT NULL,
        status TEXT NOT NULL,
        outcome TEXT,
        deadline_ms BIGINT,
        since_ms BIGINT NOT NULL,
        overdue BIGINT NOT NULL,
        escalated BIGINT NOT NULL,
        licence BIGINT,
        filed_ms BIGINT NOT NULL,
        filed_height BIGINT NOT NULL
    );
    CREATE INDEX permits_applications_queue ON permits_applications
        (agency, status, since_ms, application);
    CREATE INDEX permits_applications_by_applicant ON permits_applications
        (applicant, application);
    CREATE INDEX permits_applications_by_type ON permits_applications
        (permit_type, application);
    CREATE TABLE permits_licences (
        licence BIGINT PRIMARY KEY,
        permit_type TEXT NOT NULL,
        agency TEXT NOT NULL,
        holder TEXT NOT NULL,
        public BIGINT NOT NULL,
        scope TEXT,
        status TEXT NOT NULL,
        valid_until_ms BIGINT,
        issued_ms BIGINT NOT NULL,
        application BIGINT NOT NULL
    );
    CREATE INDEX permits_licences_register ON permits_licences (public, permit_type, licence);
    CREATE INDEX permits_licences_by_holder ON permits_licences (holder, licence);
    CREATE TABLE permits_timeline (
        application BIGINT NOT NULL,
        height BIGINT NOT NULL,
        position BIGINT NOT NULL,
        seq BIGINT NOT NULL,
        kind TEXT NOT NULL,
        body TEXT NOT NULL,
        tx TEXT NOT NULL,
        timestamp_ms BIGINT NOT NULL,
        PRIMARY KEY (application, height, position, seq)
    );",
];

/// Where an application stands, as the read model lists it.
pub mod status {
    /// Filed; the fee is not yet recorded, so the first step's clock has not started.
    pub const AWAITING_FEE: &str = "awaiting_fee";
    /// At a step, with the agency.
    pub const IN_PROGRESS: &str = "in_progress";
    /// The agency asked for more information; the clock is stopped until the applicant answers.
    pub const AWAITING_APPLICANT: &str = "awaiting_applicant";
    /// Decided (granted, refused, withdrawn, or an appeal decided).
    pub const DECIDED: &str = "decided";
    /// Refused and appealed; the supervisor decides.
    pub const APPEALED: &str = "appealed";
    /// Every status, for checking a query.
    pub const ALL: &[&str] = &[
        AWAITING_FEE,
        IN_PROGRESS,
        AWAITING_APPLICANT,
        DECIDED,
        APPEALED,
    ];
}

const SET_STATUS: &str = "UPDATE permits_applications SET status = $2, deadline_ms = $3, \
                          since_ms = $4 WHERE application = $1";

/// What a permits event writes.
pub fn project(ctx: &Context<'_>, event: &Event, rows: &mut Rows) {
    let Event::Permits(event) = event else {
        return;
    };
    let now = ctx.timestamp.0;
    let ms = |t: &Option<civitas_core::time::TimestampMs>| Value::int(t.map(|t| t.0));
    let kind = serde_json::to_value(event)
        .ok()
        .and_then(|v| v["type"].as_str().map(str::to_string))
        .unwrap_or_default();
    match event {
        PermitsEvent::PermitTypeDefined {
            permit_type,
            version,
            agency,
        } => rows.push(
            "INSERT INTO permits_types (permit_type, agency, version, retired, defined_ms) \
             VALUES ($1, $2, $3, 0, $4) ON CONFLICT (permit_type) DO UPDATE SET \
             version = excluded.version, retired = 0",
            [
                permit_type.into(),
                agency.into(),
                (*version).into(),
                now.into(),
            ],
        ),
        PermitsEvent::PermitTypeRetired { permit_type, .. } => rows.push(
            "UPDATE permits_types SET retired = 1 WHERE permit_type = $1",
            [permit_type.into()],
        ),
        PermitsEvent::ApplicationFiled {
            application,
            permit_type,
            version,
            agency,
            applicant,
            step,
            deadline,
            fee,
        } => {
            let status = if fee.is_some() {
                status::AWAITING_FEE
            } else {
                status::IN_PROGRESS
            };
            rows.push(
                "INSERT INTO permits_applications (application, permit_type, version, agency, \
                 applicant, step, status, outcome, deadline_ms, since_ms, overdue, escalated, \
                 licence, filed_ms, filed_height) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, \
                 $9, 0, 0, NULL, $10, $11) ON CONFLICT (application) DO NOTHING",
                [
                    (*application).into(),
                    permit_type.into(),
                    (*version).into(),
                    agency.into(),
                    applicant.into(),
                    step.into(),
                    status.into(),
                    ms(deadline),
                    now.into(),
                    now.into(),
                    ctx.height.into(),
                ],
            );
        }
        PermitsEvent::FeePaid {
            application,
            deadline,
            ..
        } => rows.push(
            SET_STATUS,
            [
                (*application).into(),
                status::IN_PROGRESS.into(),
                ms(deadline),
                now.into(),
            ],
        ),
        // The step's clock starts again in full: its deadline has not passed.
        PermitsEvent::InformationProvided {
            application,
            deadline,
            ..
        } => rows.push(
            "UPDATE permits_applications SET status = $2, deadline_ms = $3, since_ms = $4, \
             overdue = 0 WHERE application = $1",
            [
                (*application).into(),
                status::IN_PROGRESS.into(),
                ms(deadline),
                now.into(),
            ],
        ),
        PermitsEvent::StepCompleted {
            application,
            next,
            deadline,
            ..
        } => rows.push(
            "UPDATE permits_applications SET step = $2, status = $3, deadline_ms = $4, \
             since_ms = $5, overdue = 0, escalated = 0 WHERE application = $1",
            [
                (*application).into(),
                next.into(),
                status::IN_PROGRESS.into(),
                ms(deadline),
                now.into(),
            ],
        ),
        PermitsEvent::InformationRequested { application, .. } => rows.push(
            SET_STATUS,
            [
                (*application).into(),
                status::AWAITING_APPLICANT.into(),
                Value::int(None),
                now.into(),
            ],
        ),
        PermitsEvent::ApplicationOverdue {
            application,
            consequence,
            agency,
            supervisor_role,
            ..
        } => {
            rows.push(
                "UPDATE permits_applications SET overdue = 1, escalated = \
                 (CASE WHEN $2 = 1 THEN 1 ELSE escalated END) WHERE application = $1",
                [
                    (*application).into(),
                    (*consequence == civitas_core::permits::OnOverdue::Escalate).into(),
                ],
            );
            rows.topic(ctx, &format!("permits/overdue/{agency}"), &kind);
            // In the inbox of the agency's officials holding the type's supervisor role.
            rows.topic(
                ctx,
                &civitas_kit::index::project::role_topic(agency, supervisor_role),
                &kind,
            );
        }
        PermitsEvent::ApplicationDecided {
            application,
            outcome,
            licence,
            ..
        } => rows.push(
            "UPDATE permits_applications SET status = $2, outcome = $3, deadline_ms = NULL, \
             since_ms = $4, licence = COALESCE($5, licence) WHERE application = $1",
            [
                (*application).into(),
                status::DECIDED.into(),
                outcome.as_str().into(),
                now.into(),
                Value::int(*licence),
            ],
        ),
        PermitsEvent::ApplicationAppealed { application, .. } => rows.push(
            SET_STATUS,
            [
                (*application).into(),
                status::APPEALED.into(),
                Value::int(None),
                now.into(),
            ],
        ),
        PermitsEvent::LicenceIssued {
            licence,
            permit_type,
            agency,
            holder,
            scope,
            valid_until,
            public,
            application,
        } => rows.push(
            "INSERT INTO permits_licences (licence, permit_type, agency, holder, public, scope, \
             status, valid_until_ms, issued_ms, application) VALUES ($1, $2, $3, $4, $5, $6, \
             'valid', $7, $8, $9) ON CONFLICT (licence) DO NOTHING",
            [
                (*licence).into(),
                permit_type.into(),
                agency.into(),
                holder.into(),
                (*public).into(),
                // A private licence is not on the register: its row keeps no scope to list.
                Value::text(public.then_some(scope.as_str())),
                ms(valid_until),
                now.into(),
                (*application).into(),
            ],
        ),
        PermitsEvent::LicenceChanged {
            licence,
            change,
            valid_until,
            scope,
            ..
        } => {
            let status = match change {
                LicenceChange::Suspended => Some("suspended"),
                LicenceChange::Revoked => Some("revoked"),
                LicenceChange::Expired => Some("expired"),
                LicenceChange::Reinstated | LicenceChange::Renewed => Some("valid"),
                LicenceChange::Amended => None,
            };
            rows.push(
                "UPDATE permits_licences SET status = COALESCE($2, status), \
                 valid_until_ms = $3, scope = (CASE WHEN public = 1 THEN $4 ELSE scope END) \
                 WHERE licence = $1",
                [
                    (*licence).into(),
                    Value::text(status),
                    ms(valid_until),
                    scope.into(),
                ],
            );
        }
    }
    if let Some(application) = event.application() {
        rows.topic(ctx, &format!("permits/application/{application}"), &kind);
        let body = serde_json::to_string(event).unwrap_or_default();
        rows.push(
            "INSERT INTO permits_timeline (application, height, position, seq, kind, body, tx, \
             timestamp_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            [
                application.into(),
                ctx.height.into(),
                ctx.position.into(),
                ctx.seq.into(),
                kind.as_str().into(),
                body.into(),
                ctx.tx_hash.into(),
                now.into(),
            ],
        );
    }
    if let Some(licence) = event.licence() {
        rows.topic(ctx, &format!("permits/licence/{licence}"), &kind);
    }
}

/// An application in a list.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ApplicationItem {
    /// Its number.
    pub application: u64,
    /// The permit type.
    pub permit_type: String,
    /// The type's version it was filed under.
    pub version: u64,
    /// The agency.
    pub agency: String,
    /// The applicant's account.
    pub applicant: String,
    /// The step it is at (or was decided at).
    pub step: String,
    /// `awaiting_fee`, `in_progress`, `awaiting_applicant`, `decided` or `appealed`.
    pub status: String,
    /// Once decided: `approved`, `approved_tacitly`, `refused`, `withdrawn`,
    /// `approved_on_appeal` or `appeal_dismissed`.
    pub outcome: Option<String>,
    /// The current step's statutory deadline (milliseconds since 1970), while its clock runs.
    pub deadline_ms: Option<u64>,
    /// When it entered where it stands (milliseconds since 1970): the queue's order.
    pub since_ms: u64,
    /// Whether the current step's deadline passed.
    pub overdue: bool,
    /// Whether the missed deadline passed it to the supervisor.
    pub escalated: bool,
    /// The licence it issued.
    pub licence: Option<u64>,
    /// When it was filed (milliseconds since 1970).
    pub filed_ms: u64,
    /// The block it was filed in.
    pub filed_height: u64,
    /// The proof bundle of its record.
    pub proof_bundle: String,
}

impl Keyed for ApplicationItem {
    fn read(row: &AnyRow) -> Result<Self, IndexError> {
        let application = int(row, "application")?;
        Ok(Self {
            application,
            permit_type: text(row, "permit_type")?,
            version: int(row, "version")?,
            agency: text(row, "agency")?,
            applicant: text(row, "applicant")?,
            step: text(row, "step")?,
            status: text(row, "status")?,
            outcome: optional_text(row, "outcome")?,
            deadline_ms: optional_int(row, "deadline_ms")?,
            since_ms: int(row, "since_ms")?,
            overdue: int(row, "overdue")? != 0,
            escalated: int(row, "escalated")? != 0,
            licence: optional_int(row, "licence")?,
            filed_ms: int(row, "filed_ms")?,
            filed_height: int(row, "filed_height")?,
            proof_bundle: format!("/v1/proofs/state/permits/application/{application}"),
        })
    }

    fn key(&self) -> Vec<u64> {
        vec![self.since_ms, self.application]
    }
}

/// Which applications to list.
#[derive(Default)]
pub struct ApplicationFilter {
    /// Of this agency.
    pub agency: Option<String>,
    /// At this step.
    pub step: Option<String>,
    /// Standing so.
    pub status: Option<String>,
    /// Of this type.
    pub permit_type: Option<String>,
    /// Filed by this account (hex).
    pub applicant: Option<String>,
    /// Only those whose deadline passed.
    pub overdue: Option<bool>,
}

/// A page of applications, by when they entered where they stand (`Order::Oldest`: the queue,
/// the longest waiting first).
pub async fn applications(
    snapshot: &mut Snapshot,
    filter: &ApplicationFilter,
    order: Order,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<ApplicationItem>, IndexError> {
    let mut listing = Listing {
        from: "permits_applications",
        filter: "1 = 1".into(),
        values: Vec::new(),
        columns: "application, permit_type, version, agency, applicant, step, status, outcome, \
                  deadline_ms, since_ms, overdue, escalated, licence, filed_ms, filed_height",
        key: &["since_ms", "application"],
    };
    if let Some(agency) = &filter.agency {
        listing.and("agency = {}", agency.into());
    }
    if let Some(step) = &filter.step {
        listing.and("step = {}", step.into());
    }
    if let Some(status) = &filter.status {
        listing.and("status = {}", status.into());
    }
    if let Some(permit_type) = &filter.permit_type {
        listing.and("permit_type = {}", permit_type.into());
    }
    if let Some(applicant) = &filter.applicant {
        listing.and("applicant = {}", applicant.into());
    }
    if let Some(overdue) = filter.overdue {
        listing.and("overdue = {}", overdue.into());
    }
    snapshot.page(&listing, order, cursor, limit).await
}

/// A licence on the public register.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct LicenceItem {
    /// Its number.
    pub licence: u64,
    /// The permit type.
    pub permit_type: String,
    /// The issuing agency.
    pub agency: String,
    /// The holder's account.
    pub holder: String,
    /// What it permits.
    pub scope: String,
    /// `valid`, `suspended`, `revoked` or `expired`, as of the read model's latest block (the
    /// licence's own route says where it stands, with its proof).
    pub status: String,
    /// Valid until (milliseconds since 1970); null: until revoked.
    pub valid_until_ms: Option<u64>,
    /// When it was issued (milliseconds since 1970).
    pub issued_ms: u64,
    /// The application that issued it.
    pub application: u64,
    /// The proof bundle of its record.
    pub proof_bundle: String,
}

impl Keyed for LicenceItem {
    fn read(row: &AnyRow) -> Result<Self, IndexError> {
        let licence = int(row, "licence")?;
        Ok(Self {
            licence,
            permit_type: text(row, "permit_type")?,
            agency: text(row, "agency")?,
            holder: text(row, "holder")?,
            scope: optional_text(row, "scope")?.unwrap_or_default(),
            status: text(row, "status")?,
            valid_until_ms: optional_int(row, "valid_until_ms")?,
            issued_ms: int(row, "issued_ms")?,
            application: int(row, "application")?,
            proof_bundle: format!("/v1/proofs/state/permits/licence/{licence}"),
        })
    }

    fn key(&self) -> Vec<u64> {
        vec![self.licence]
    }
}

/// Which licences of the public register to list.
#[derive(Default)]
pub struct RegisterFilter {
    /// Of this type.
    pub permit_type: Option<String>,
    /// Issued by this agency.
    pub agency: Option<String>,
    /// Held by this account (hex).
    pub holder: Option<String>,
    /// Standing so: `valid`, `suspended`, `revoked` or `expired`.
    pub status: Option<String>,
}

/// A page of the public register: licences of types whose register is public, as `filter`
/// narrows them.
pub async fn register(
    snapshot: &mut Snapshot,
    filter: &RegisterFilter,
    order: Order,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<LicenceItem>, IndexError> {
    let mut listing = Listing {
        from: "permits_licences",
        filter: "public = 1".into(),
        values: Vec::new(),
        columns: "licence, permit_type, agency, holder, scope, status, valid_until_ms, \
                  issued_ms, application",
        key: &["licence"],
    };
    if let Some(permit_type) = &filter.permit_type {
        listing.and("permit_type = {}", permit_type.into());
    }
    if let Some(agency) = &filter.agency {
        listing.and("agency = {}", agency.into());
    }
    if let Some(holder) = &filter.holder {
        listing.and("holder = {}", holder.into());
    }
    if let Some(status) = &filter.status {
        listing.and("status = {}", status.into());
    }
    snapshot.page(&listing, order, cursor, limit).await
}

/// A permit type in a list.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct TypeItem {
    /// Its id.
    pub permit_type: String,
    /// The agency that defined it.
    pub agency: String,
    /// The version in force.
    pub version: u64,
    /// Whether it is retired (it takes no new applications).
    pub retired: bool,
}

/// Most permit types listed at once (each is read from the ledger).
pub const TYPES_MAX: u32 = 200;

/// The permit types (the first [`TYPES_MAX`] by id), of one agency if given.
pub async fn types(
    snapshot: &mut Snapshot,
    agency: Option<&str>,
) -> Result<Vec<TypeItem>, IndexError> {
    let rows = match agency {
        Some(agency) => {
            snapshot
                .fetch(
                    "SELECT permit_type, agency, version, retired FROM permits_types \
                     WHERE agency = $1 ORDER BY permit_type LIMIT $2",
                    &[agency.into(), TYPES_MAX.into()],
                )
                .await?
        }
        None => {
            snapshot
                .fetch(
                    "SELECT permit_type, agency, version, retired FROM permits_types \
                     ORDER BY permit_type LIMIT $1",
                    &[TYPES_MAX.into()],
                )
                .await?
        }
    };
    rows.iter()
        .map(|row| {
            Ok(TypeItem {
                permit_type: text(row, "permit_type")?,
                agency: text(row, "agency")?,
                version: int(row, "version")?,
                retired: int(row, "retired")? != 0,
            })
        })
        .collect()
}

/// One step of an application's timeline: an event about it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct TimelineItem {
    /// The block.
    pub height: u64,
    /// The transaction's position in it (the block's transaction count for its end receipt).
    pub position: u64,
    /// The event's position in the transaction.
    pub seq: u64,
    /// The event's type, such as `step_completed`.
    pub kind: String,
    /// The event, as the ledger recorded it.
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
    /// The transaction (or the block's end receipt) that recorded it.
    pub tx: String,
    /// The block's time (milliseconds since 1970).
    pub timestamp_ms: u64,
}

impl Keyed for TimelineItem {
    fn read(row: &AnyRow) -> Result<Self, IndexError> {
        let body = text(row, "body")?;
        Ok(Self {
            height: int(row, "height")?,
            position: int(row, "position")?,
            seq: int(row, "seq")?,
            kind: text(row, "kind")?,
            event: serde_json::from_str(&body)
                .map_err(|e| IndexError::Database(format!("a timeline event: {e}")))?,
            tx: text(row, "tx")?,
            timestamp_ms: int(row, "timestamp_ms")?,
        })
    }

    fn key(&self) -> Vec<u64> {
        vec![self.height, self.position, self.seq]
    }
}

/// A page of `application`'s timeline.
pub async fn timeline(
    snapshot: &mut Snapshot,
    application: u64,
    order: Order,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<TimelineItem>, IndexError> {
    let mut listing = Listing {
        from: "permits_timeline",
        filter: "1 = 1".into(),
        values: Vec::new(),
        columns: "height, position, seq, kind, body, tx, timestamp_ms",
        key: &["height", "position", "seq"],
    };
    listing.and("application = {}", application.into());
    snapshot.page(&listing, order, cursor, limit).await
}
