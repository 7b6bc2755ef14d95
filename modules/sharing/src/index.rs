//! The sharing module's part of the read model: each record's log, oldest first — every
//! registration, rectification, share, read, consent and erasure, with who, why, on what
//! basis, and the transaction whose proof bundle proves it.

use civitas_core::event::Event;
use civitas_core::sharing::SharingEvent;
use civitas_kit::index::query::{
    AnyRow, Keyed, Listing, Order, Page, Snapshot, int, optional_int, optional_text, text,
};
use civitas_kit::index::{Context, IndexError, Rows, Value};
use serde::Serialize;

/// The sharing module's tables.
pub const TABLES: &[&str] = &["sharing_log"];

/// Their migrations.
pub const MIGRATIONS: &[&str] = &[
    // 1: the log of every record.
    "CREATE TABLE sharing_log (
        record TEXT NOT NULL,
        height BIGINT NOT NULL,
        position BIGINT NOT NULL,
        seq BIGINT NOT NULL,
        kind TEXT NOT NULL,
        agency TEXT NOT NULL,
        official TEXT NOT NULL,
        purpose TEXT,
        basis TEXT,
        version BIGINT,
        consent BIGINT,
        tx TEXT NOT NULL,
        timestamp_ms BIGINT NOT NULL,
        PRIMARY KEY (record, height, position, seq)
    );",
    // A share names the holding agency too, so an agency's shares in and out are listed.
    // Entries projected before it get their holder from the record's registration.
    "ALTER TABLE sharing_log ADD COLUMN holder TEXT;
     UPDATE sharing_log SET holder = agency WHERE kind = 'registered';
     UPDATE sharing_log SET holder = (SELECT r.agency FROM sharing_log r
         WHERE r.record = sharing_log.record AND r.kind = 'registered')
       WHERE holder IS NULL AND kind IN ('shared', 'rectified', 'erased');
     CREATE INDEX sharing_log_by_agency ON sharing_log (kind, agency, height, position, seq);
     CREATE INDEX sharing_log_by_holder ON sharing_log (kind, holder, height, position, seq);",
];

/// What a sharing event writes: one log row for each event about a record.
pub fn project(ctx: &Context<'_>, event: &Event, rows: &mut Rows) {
    let Event::Sharing(event) = event else {
        return;
    };
    let Some(record) = event.record() else {
        return;
    };
    let (who, what): (Who<'_>, What<'_>) = match event {
        SharingEvent::RecordRegistered {
            holder, basis, by, ..
        } => (
            ("registered", holder, by),
            (None, Some(basis), Some(1), None),
        ),
        SharingEvent::RecordRectified {
            holder,
            version,
            basis,
            by,
            ..
        } => (
            ("rectified", holder, by),
            (None, Some(basis), Some(*version), None),
        ),
        SharingEvent::RecordErased {
            holder, basis, by, ..
        } => (("erased", holder, by), (None, Some(basis), None, None)),
        SharingEvent::ConsentGiven {
            consent,
            subject,
            recipient,
            purpose,
            ..
        } => (
            ("consent_given", recipient, subject),
            (Some(purpose), None, None, Some(*consent)),
        ),
        SharingEvent::ConsentRevoked {
            consent,
            recipient,
            subject,
            ..
        } => (
            ("consent_revoked", recipient, subject),
            (None, None, None, Some(*consent)),
        ),
        SharingEvent::RecordShared {
            holder,
            recipient,
            version,
            official,
            purpose,
            basis,
            consent,
            ..
        } => {
            let what = (Some(purpose), Some(basis), Some(*version), *consent);
            push(
                rows,
                ctx,
                record,
                ("shared", recipient, official),
                what,
                Some(holder.as_str()),
            );
            file(rows, ctx, record, "shared");
            return;
        }
        SharingEvent::RecordAccessed {
            agency,
            version,
            official,
            purpose,
            basis,
            ..
        } => (
            ("accessed", agency, official),
            (Some(purpose), Some(basis), Some(*version), None),
        ),
        SharingEvent::VaultSet { .. } => return,
    };
    // The holder, where the entry is the holder's own act.
    let holder = matches!(who.0, "registered" | "rectified" | "erased").then_some(who.1);
    push(rows, ctx, record, who, what, holder);
    file(rows, ctx, record, who.0);
}

/// The topic a record's events are filed under: whoever watches it (the person it is about,
/// from "My data") has every entry of its log in their inbox.
pub fn topic(record: &civitas_core::hash::Hash32) -> String {
    format!("sharing/record/{record}")
}

/// Files the entry of kind `kind` (the log's) under its record's topic, with the event's type.
fn file(rows: &mut Rows, ctx: &Context<'_>, record: &civitas_core::hash::Hash32, kind: &str) {
    let event_type = match kind {
        "consent_given" | "consent_revoked" => kind.to_string(),
        other => format!("record_{other}"),
    };
    rows.topic(ctx, &topic(record), &event_type);
}

type Who<'a> = (&'static str, &'a str, &'a civitas_core::crypto::AccountId);
type What<'a> = (
    Option<&'a String>,
    Option<&'a String>,
    Option<u32>,
    Option<u64>,
);

fn push(
    rows: &mut Rows,
    ctx: &Context<'_>,
    record: &civitas_core::hash::Hash32,
    (kind, agency, official): Who<'_>,
    (purpose, basis, version, consent): What<'_>,
    holder: Option<&str>,
) {
    rows.push(
        "INSERT INTO sharing_log (record, height, position, seq, kind, agency, official, \
         purpose, basis, version, consent, tx, timestamp_ms, holder) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT DO NOTHING",
        [
            record.into(),
            ctx.height.into(),
            ctx.position.into(),
            ctx.seq.into(),
            kind.into(),
            agency.into(),
            official.into(),
            Value::text(purpose),
            Value::text(basis),
            Value::int(version.map(u64::from)),
            Value::int(consent),
            ctx.tx_hash.into(),
            ctx.timestamp.0.into(),
            Value::text(holder),
        ],
    );
}

/// One entry of a record's log.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct LogEntry {
    /// The record.
    pub record: String,
    /// The holding agency, on entries that are its own acts or its shares.
    pub holder: Option<String>,
    /// `registered`, `rectified`, `shared`, `accessed`, `consent_given`, `consent_revoked` or
    /// `erased`.
    pub kind: String,
    /// The agency that acted (the holder; the recipient of a share or consent; the reader's).
    pub agency: String,
    /// The official who acted (the subject, for a consent).
    pub official: String,
    /// What for, if the entry says.
    pub purpose: Option<String>,
    /// The legal basis cited, if the entry cites one.
    pub basis: Option<String>,
    /// The record's version concerned, if the entry names one.
    pub version: Option<u64>,
    /// The consent concerned, if any.
    pub consent: Option<u64>,
    /// The transaction.
    pub tx: String,
    /// Its block.
    pub height: u64,
    /// That block's time (milliseconds since 1970).
    pub timestamp_ms: u64,
    /// The transaction's proof bundle, which proves this entry offline against the genesis.
    pub proof_bundle: String,
    #[serde(skip)]
    key: (u64, u64),
}

impl Keyed for LogEntry {
    fn read(row: &AnyRow) -> Result<Self, IndexError> {
        let tx = text(row, "tx")?;
        Ok(Self {
            record: text(row, "record")?,
            holder: optional_text(row, "holder")?,
            kind: text(row, "kind")?,
            agency: text(row, "agency")?,
            official: text(row, "official")?,
            purpose: optional_text(row, "purpose")?,
            basis: optional_text(row, "basis")?,
            version: optional_int(row, "version")?,
            consent: optional_int(row, "consent")?,
            height: int(row, "height")?,
            timestamp_ms: int(row, "timestamp_ms")?,
            proof_bundle: format!("/v1/proofs/transactions/{tx}"),
            tx,
            key: (int(row, "position")?, int(row, "seq")?),
        })
    }

    fn key(&self) -> Vec<u64> {
        vec![self.height, self.key.0, self.key.1]
    }
}

/// A page of a record's log.
pub async fn log(
    snapshot: &mut Snapshot,
    record: &str,
    order: Order,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<LogEntry>, IndexError> {
    let mut listing = log_listing();
    listing.and("l.record = {}", Value::from(record));
    snapshot.page(&listing, order, cursor, limit).await
}

/// The log's columns, every entry (narrowed by the caller).
fn log_listing() -> Listing<'static> {
    Listing {
        from: "sharing_log l",
        filter: "1 = 1".into(),
        values: Vec::new(),
        columns: "l.record AS record, l.holder AS holder, l.kind AS kind, l.agency AS agency, l.official AS official, \
                  l.purpose AS purpose, l.basis AS basis, l.version AS version, \
                  l.consent AS consent, l.tx AS tx, l.height AS height, \
                  l.position AS position, l.seq AS seq, l.timestamp_ms AS timestamp_ms",
        key: &["l.height", "l.position", "l.seq"],
    }
}

/// Which of an agency's shares: those it received, or those of records it holds.
#[derive(Clone, Copy, Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Records other agencies shared with it (its requests out, granted).
    In,
    /// Its records shared with other agencies (requests to it, granted).
    Out,
}

/// A page of the shares an agency received (`In`) or made of its records (`Out`).
pub async fn shares(
    snapshot: &mut Snapshot,
    agency: &str,
    direction: Direction,
    order: Order,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<LogEntry>, IndexError> {
    let mut listing = log_listing();
    listing.and("l.kind = {}", Value::from("shared"));
    match direction {
        Direction::In => listing.and("l.agency = {}", Value::from(agency)),
        Direction::Out => listing.and("l.holder = {}", Value::from(agency)),
    }
    snapshot.page(&listing, order, cursor, limit).await
}
