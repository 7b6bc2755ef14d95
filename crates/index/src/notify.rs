//! Notifications: each account's inbox (the events that name it, read or not) and webhook
//! subscriptions with their deliveries.
//!
//! The events come from the ledger's tables, which a rebuild empties and fills again; what
//! people did with them (read marks, subscriptions, deliveries) is kept in tables of its own
//! that a rebuild never touches. Everything is keyed by the event's place in the chain
//! (height, position of its transaction, its sequence number in the transaction), which is the
//! same in every index built from the chain, so a rebuilt index shows the same notifications as
//! read and a webhook never sends again what it sent before.
//!
//! A webhook subscription has its own cursor: the last event it has turned into deliveries. A
//! delivery's id is derived from the subscription and the event, so whatever happens (a crash
//! between sending and recording, a replay) a receiver sees one id for one event.

use crate::project::Value;
use crate::query::{Keyed, Listing, Order, Page, Snapshot, int, optional_int, optional_text, text};
use crate::{Index, IndexError, from_sql};
use civitas_core::crypto::AccountId;
use civitas_core::hash::Hash32;
use serde::Serialize;
use sqlx::any::AnyRow;

/// The notification tables' migrations (module `notifications`), in order. Their tables are
/// not emptied by [`Index::reset`].
pub const MIGRATIONS: &[&str] = &[
    // 1: read marks, webhook subscriptions, deliveries.
    "CREATE TABLE inbox_read (
        account TEXT NOT NULL,
        height BIGINT NOT NULL,
        position BIGINT NOT NULL,
        seq BIGINT NOT NULL,
        PRIMARY KEY (account, height, position, seq)
    );
    CREATE TABLE inbox_marks (
        account TEXT PRIMARY KEY,
        height BIGINT NOT NULL,
        position BIGINT NOT NULL,
        seq BIGINT NOT NULL
    );
    CREATE TABLE webhooks (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        url TEXT NOT NULL,
        account TEXT,
        module TEXT,
        kind TEXT,
        secret TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        height BIGINT NOT NULL,
        position BIGINT NOT NULL,
        seq BIGINT NOT NULL
    );
    CREATE INDEX webhooks_by_owner ON webhooks (owner, created_ms);
    CREATE TABLE webhook_deliveries (
        id TEXT PRIMARY KEY,
        webhook TEXT NOT NULL,
        height BIGINT NOT NULL,
        position BIGINT NOT NULL,
        seq BIGINT NOT NULL,
        status TEXT NOT NULL,
        attempts BIGINT NOT NULL,
        next_attempt_ms BIGINT NOT NULL,
        last_attempt_ms BIGINT,
        last_status BIGINT,
        last_error TEXT,
        created_ms BIGINT NOT NULL
    );
    CREATE INDEX deliveries_due ON webhook_deliveries (status, next_attempt_ms);
    CREATE INDEX deliveries_of_webhook ON webhook_deliveries (webhook, height, position, seq);
    CREATE INDEX deliveries_by_status ON webhook_deliveries (webhook, status);",
    // 2: topics people watch (`event_topics`): the events filed under one after the place the
    // watch began (the end of the block applied then) are in the watcher's inbox.
    "CREATE TABLE watches (
        account TEXT NOT NULL,
        topic TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        height BIGINT NOT NULL,
        position BIGINT NOT NULL,
        seq BIGINT NOT NULL,
        PRIMARY KEY (account, topic)
    );",
    // 3: `role/` topics are an official's by their roles (`official_roles`), not watched.
    "DELETE FROM watches WHERE topic LIKE 'role/%';",
];

/// Most topics one account watches.
pub const WATCHES_PER_ACCOUNT_MAX: u64 = 500;
/// Most watches a node keeps.
pub const WATCHES_MAX: u64 = 200_000;
/// Longest topic, in bytes.
pub const TOPIC_MAX_BYTES: usize = 128;

/// Checks a topic one watches: 1 to [`TOPIC_MAX_BYTES`] of lowercase letters, digits, `/`,
/// `-`, `_` (such as `sharing/record/<id>`), not under `role/` (those are in the inbox of the
/// officials holding the role, by the ledger's record of roles).
pub fn check_topic(topic: &str) -> Result<(), String> {
    if topic.starts_with("role/") {
        return Err(
            "topics under role/ are not watched: the officials holding the role have their \
             events in their inbox"
                .into(),
        );
    }
    let fine = !topic.is_empty()
        && topic.len() <= TOPIC_MAX_BYTES
        && topic.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'/' | b'-' | b'_')
        });
    if fine {
        Ok(())
    } else {
        Err(format!(
            "a topic is 1 to {TOPIC_MAX_BYTES} bytes of lowercase letters, digits, '/', '-' and \
             '_', such as sharing/record/<record id>"
        ))
    }
}

/// Most webhook subscriptions one account may hold.
pub const WEBHOOKS_PER_OWNER_MAX: u64 = 16;
/// Most webhook subscriptions a node keeps.
pub const WEBHOOKS_MAX: u64 = 1_000;
/// Most deliveries a subscription holds that are not delivered (waiting, retrying or dead).
/// Beyond it, new events wait (the subscription's cursor stays) until some are delivered,
/// replayed and delivered, or the subscription is deleted: nothing is dropped.
pub const UNDELIVERED_MAX: u64 = 1_000;
/// Delivered deliveries kept per subscription for its log (the oldest are dropped).
pub const DELIVERED_KEPT: u64 = 1_000;
/// Most events turned into deliveries per subscription per round.
pub const MATERIALIZE_BATCH: u32 = 100;
/// Deliveries of one subscription attempted at once.
pub const IN_FLIGHT_PER_WEBHOOK: u32 = 2;
/// Most unread notifications counted (an inbox with more says "at least" this many).
pub const UNREAD_COUNTED_MAX: u64 = 1_000;

/// An event's place in the chain: block height, its transaction's position, its sequence
/// number among the transaction's events. Written `h.p.s`, as list cursors are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Place {
    /// The block.
    pub height: u64,
    /// The transaction's position in the block.
    pub position: u64,
    /// The event's position among the transaction's events.
    pub seq: u64,
}

impl Place {
    /// Reads `h.p.s`, as a list's cursor is read.
    pub fn parse(text: &str) -> Result<Self, IndexError> {
        let parts = crate::query::parse_cursor(text, 3)?;
        Ok(Self {
            height: from_sql(parts[0]),
            position: from_sql(parts[1]),
            seq: from_sql(parts[2]),
        })
    }

    /// After every event up to and including block `height`.
    pub fn end_of(height: u64) -> Self {
        Self {
            height,
            position: i64::MAX as u64,
            seq: i64::MAX as u64,
        }
    }

    fn values(self) -> [Value; 3] {
        [self.height.into(), self.position.into(), self.seq.into()]
    }

    fn read(row: &AnyRow) -> Result<Self, IndexError> {
        Ok(Self {
            height: int(row, "height")?,
            position: int(row, "position")?,
            seq: int(row, "seq")?,
        })
    }
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.height, self.position, self.seq)
    }
}

/// One notification in an account's inbox: an event that names the account.
#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Notification {
    /// Its id: the event's place in the chain, `height.position.seq` (also the cursor).
    pub id: String,
    /// Whether the account has marked it read.
    pub read: bool,
    /// The block.
    pub height: u64,
    /// The transaction that caused it.
    pub tx: String,
    /// The block's time (milliseconds since 1970).
    pub timestamp_ms: u64,
    /// The event, as the ledger's JSON shows it (tagged `type`).
    #[schema(value_type = civitas_core::Event)]
    pub event: serde_json::Value,
}

impl Keyed for Notification {
    fn read(row: &AnyRow) -> Result<Self, IndexError> {
        let place = Place::read(row)?;
        let body = text(row, "body")?;
        Ok(Self {
            id: place.to_string(),
            read: int(row, "is_read")? != 0,
            height: place.height,
            tx: text(row, "hash")?,
            timestamp_ms: int(row, "timestamp_ms")?,
            event: serde_json::from_str(&body)
                .map_err(|e| IndexError::Database(format!("an event's body: {e}")))?,
        })
    }

    fn key(&self) -> Vec<u64> {
        Place::parse(&self.id)
            .map(|p| vec![p.height, p.position, p.seq])
            .unwrap_or_default()
    }
}

/// One account's notifications, for the account in parameter `$1`, as rows `a` of (account,
/// height, position, seq): the events that name it (`account_events`); the events filed under
/// a topic it watches (`event_topics`) after the place its watch began; and, for an official,
/// the events filed under `role/<agency>/<role>` for a role it holds, after the place it gained
/// the role (`official_roles`: a supervisor is told of a missed deadline without watching
/// anything). Each event is listed once however many ways it reaches the account (`UNION`).
/// Watched events stay out of `account_events`, which the public lists read: what an account
/// watches is its own business.
const NOTIFIED: &str = "(SELECT n.account AS account, n.height AS height, \
    n.position AS position, n.seq AS seq FROM account_events n WHERE n.account = $1 \
    UNION SELECT w.account, t.height, t.position, t.seq FROM watches w \
    JOIN event_topics t ON t.topic = w.topic \
    WHERE w.account = $1 AND (t.height, t.position, t.seq) > (w.height, w.position, w.seq) \
    UNION SELECT r.account, t.height, t.position, t.seq FROM official_roles r \
    JOIN official_agencies g ON g.account = r.account \
    JOIN event_topics t ON t.topic = 'role/' || g.agency || '/' || r.role \
    WHERE r.account = $1 AND (t.height, t.position, t.seq) > (r.height, r.position, r.seq)) a";

/// The inbox's rows (`a`, [`NOTIFIED`]), with whether each is read.
fn inbox_from() -> String {
    format!(
        "{NOTIFIED} \
         JOIN events e ON e.height = a.height AND e.position = a.position AND e.seq = a.seq \
         JOIN transactions t ON t.height = a.height AND t.position = a.position \
         LEFT JOIN inbox_read r ON r.account = a.account AND r.height = a.height \
             AND r.position = a.position AND r.seq = a.seq \
         LEFT JOIN inbox_marks m ON m.account = a.account"
    )
}
const INBOX_READ: &str = "(r.account IS NOT NULL OR (m.account IS NOT NULL \
    AND (a.height, a.position, a.seq) <= (m.height, m.position, m.seq)))";

impl Snapshot {
    /// `account`'s notifications (only the unread ones with `unread_only`).
    pub async fn inbox(
        &mut self,
        account: &AccountId,
        unread_only: bool,
        order: Order,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<Notification>, IndexError> {
        let columns = format!(
            "a.height AS height, a.position AS position, a.seq AS seq, t.hash AS hash, \
             t.timestamp_ms AS timestamp_ms, e.body AS body, \
             CAST(CASE WHEN {INBOX_READ} THEN 1 ELSE 0 END AS BIGINT) AS is_read"
        );
        let mark = if unread_only {
            self.mark(account).await?
        } else {
            None
        };
        let from = inbox_from();
        let mut listing = Listing {
            from: &from,
            filter: "1 = 1".into(),
            // `$1`, in [`NOTIFIED`].
            values: vec![account.into()],
            columns: &columns,
            key: &["a.height", "a.position", "a.seq"],
        };
        if unread_only {
            // Everything up to the mark is read: start after it.
            if let Some(mark) = mark {
                listing.values.extend(mark.values());
                let n = listing.values.len();
                listing.filter.push_str(&format!(
                    " AND (a.height, a.position, a.seq) > (${}, ${}, ${n})",
                    n - 2,
                    n - 1
                ));
            }
            listing.filter.push_str(&format!(" AND NOT {INBOX_READ}"));
        }
        self.page(&listing, order, cursor, limit).await
    }

    /// The place through which `account` marked everything read, if it did.
    async fn mark(&mut self, account: &AccountId) -> Result<Option<Place>, IndexError> {
        let rows = self
            .fetch(
                "SELECT height, position, seq FROM inbox_marks WHERE account = $1",
                &[account.into()],
            )
            .await?;
        rows.first().map(Place::read).transpose()
    }

    /// How many of `account`'s notifications are unread, counted up to
    /// [`UNREAD_COUNTED_MAX`] (from the read mark on, so a read inbox costs little).
    pub async fn unread(&mut self, account: &AccountId) -> Result<u64, IndexError> {
        let mark = self.mark(account).await?.unwrap_or(Place {
            height: 0,
            position: 0,
            seq: 0,
        });
        let [h, p, s] = mark.values();
        let rows = self
            .fetch(
                &format!(
                    "SELECT COUNT(*) AS n FROM (SELECT 1 FROM {NOTIFIED} \
                     WHERE (a.height, a.position, a.seq) > ($2, $3, $4) \
                     AND NOT EXISTS (SELECT 1 FROM inbox_read r WHERE r.account = a.account \
                     AND r.height = a.height AND r.position = a.position AND r.seq = a.seq) \
                     LIMIT {UNREAD_COUNTED_MAX}) u"
                ),
                &[account.into(), h, p, s],
            )
            .await?;
        rows.first().map_or(Ok(0), |row| int(row, "n"))
    }
}

/// Which events a webhook subscription delivers: all given conditions hold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct WebhookFilter {
    /// Events that name this account.
    #[schema(value_type = Option<String>)]
    pub account: Option<AccountId>,
    /// Events of this module (`notary`).
    pub module: Option<String>,
    /// Events of this type (`document_anchored`).
    pub kind: Option<String>,
}

/// A webhook subscription as its owner sees it (never with its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Webhook {
    /// Its id (`wh_` and 32 hexadecimal characters).
    pub id: String,
    /// The account that made it.
    #[schema(value_type = String)]
    pub owner: AccountId,
    /// Where deliveries are posted.
    pub url: String,
    /// Which events it delivers.
    pub filter: WebhookFilter,
    /// When it was made (the node's clock, milliseconds since 1970).
    pub created_ms: u64,
    /// The last event it has turned into deliveries (`height.position.seq`).
    pub cursor: String,
    /// Deliveries waiting or being retried.
    pub pending: u64,
    /// Deliveries that failed every attempt (replay them to send again).
    pub dead: u64,
    /// Delivered deliveries in the log (the newest 1,000 are kept).
    pub delivered: u64,
}

/// What a new subscription asks for.
#[derive(Clone, Debug)]
pub struct NewWebhook {
    /// The account making it.
    pub owner: AccountId,
    /// Where to post (already checked by the caller).
    pub url: String,
    /// Which events.
    pub filter: WebhookFilter,
    /// Its signing secret (`whsec_…`).
    pub secret: String,
    /// It delivers events after this place (the node's finalized height when it is made).
    pub start: Place,
    /// Now, on the node's clock (ms).
    pub now_ms: u64,
}

/// How a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Waiting for its first attempt or a retry.
    Pending,
    /// Received (the endpoint answered 2xx).
    Delivered,
    /// Every attempt failed; an operator or the owner may replay it.
    Dead,
}

impl DeliveryStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }

    fn from_str(text: &str) -> Result<Self, IndexError> {
        match text {
            "pending" => Ok(Self::Pending),
            "delivered" => Ok(Self::Delivered),
            "dead" => Ok(Self::Dead),
            other => Err(IndexError::Database(format!("delivery status {other:?}"))),
        }
    }
}

/// One delivery in a subscription's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    /// Its id (`msg_` and 32 hexadecimal characters), sent as `webhook-id`: the same for every
    /// attempt and replay.
    pub id: String,
    /// The event delivered (`height.position.seq`).
    pub event: String,
    /// How it stands.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: u64,
    /// When the next attempt is due (pending ones; ms since 1970).
    pub next_attempt_ms: Option<u64>,
    /// When the last attempt was made.
    pub last_attempt_ms: Option<u64>,
    /// The HTTP status the endpoint answered last, if it answered.
    pub last_status: Option<u64>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
}

impl Keyed for Delivery {
    fn read(row: &AnyRow) -> Result<Self, IndexError> {
        let place = Place::read(row)?;
        let status = DeliveryStatus::from_str(&text(row, "status")?)?;
        Ok(Self {
            id: text(row, "id")?,
            event: place.to_string(),
            status,
            attempts: int(row, "attempts")?,
            next_attempt_ms: (status == DeliveryStatus::Pending)
                .then(|| int(row, "next_attempt_ms"))
                .transpose()?,
            last_attempt_ms: optional_int(row, "last_attempt_ms")?,
            last_status: optional_int(row, "last_status")?,
            last_error: optional_text(row, "last_error")?,
        })
    }

    fn key(&self) -> Vec<u64> {
        Place::parse(&self.event)
            .map(|p| vec![p.height, p.position, p.seq])
            .unwrap_or_default()
    }
}

/// A delivery due now, with what it sends.
#[derive(Clone, Debug)]
pub struct Due {
    /// The delivery's id.
    pub id: String,
    /// The subscription's id.
    pub webhook: String,
    /// Where to post.
    pub url: String,
    /// The subscription's secret.
    pub secret: String,
    /// Attempts made before this one.
    pub attempts: u64,
    /// The event's place.
    pub place: Place,
    /// The transaction that caused it.
    pub tx: String,
    /// The block's time.
    pub timestamp_ms: u64,
    /// The event's module.
    pub module: String,
    /// The event's type.
    pub kind: String,
    /// The event, as the ledger's JSON shows it.
    pub event: serde_json::Value,
}

/// What an attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// The endpoint answered 2xx.
    Delivered {
        /// Its status.
        status: u16,
    },
    /// It did not: retry at `retry_at_ms`, or never (`None`: the delivery is dead).
    Failed {
        /// Its status, if it answered.
        status: Option<u16>,
        /// What went wrong.
        error: String,
        /// When to try again.
        retry_at_ms: Option<u64>,
    },
}

/// The id of the delivery of the event at `place` by subscription `webhook`.
pub fn delivery_id(webhook: &str, place: Place) -> String {
    let mut bytes = Vec::with_capacity(webhook.len() + 24);
    bytes.extend_from_slice(webhook.as_bytes());
    for part in [place.height, place.position, place.seq] {
        bytes.extend_from_slice(&part.to_be_bytes());
    }
    let hash = Hash32::sha256(&bytes).to_hex();
    format!("msg_{}", &hash[..32])
}

fn webhook_of(row: &AnyRow) -> Result<(Webhook, String), IndexError> {
    let account = optional_text(row, "account")?
        .map(|a| AccountId::from_hex(&a))
        .transpose()
        .map_err(|_| IndexError::Database("a webhook's account".into()))?;
    let owner = AccountId::from_hex(&text(row, "owner")?)
        .map_err(|_| IndexError::Database("a webhook's owner".into()))?;
    Ok((
        Webhook {
            id: text(row, "id")?,
            owner,
            url: text(row, "url")?,
            filter: WebhookFilter {
                account,
                module: optional_text(row, "module")?,
                kind: optional_text(row, "kind")?,
            },
            created_ms: int(row, "created_ms")?,
            cursor: Place::read(row)?.to_string(),
            pending: int(row, "pending")?,
            dead: int(row, "dead")?,
            delivered: int(row, "delivered")?,
        },
        text(row, "secret")?,
    ))
}

const WEBHOOK_COLUMNS: &str = "w.id AS id, w.owner AS owner, w.url AS url, \
    w.account AS account, w.module AS module, w.kind AS kind, w.secret AS secret, \
    w.created_ms AS created_ms, w.height AS height, w.position AS position, w.seq AS seq, \
    (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.webhook = w.id AND d.status = 'pending') AS pending, \
    (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.webhook = w.id AND d.status = 'dead') AS dead, \
    (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.webhook = w.id AND d.status = 'delivered') AS delivered";

/// Refuses `place` unless it is a notification of `account` (an event that names it).
async fn one_of(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    account: &AccountId,
    place: Place,
) -> Result<(), IndexError> {
    let [h, p, s] = place.values();
    let sql = format!(
        "SELECT a.height FROM {NOTIFIED} WHERE a.height = $2 AND a.position = $3 AND a.seq = $4"
    );
    let found = bound(&sql, &[account.into(), h, p, s])
        .fetch_optional(&mut **tx)
        .await?;
    if found.is_none() {
        return Err(IndexError::NotFound(format!(
            "no notification {place} in this account's inbox"
        )));
    }
    Ok(())
}

fn bound<'q>(
    sql: &'q str,
    values: &'q [Value],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    crate::project::bind(sqlx::query(sqlx::AssertSqlSafe(sql)), values)
}

impl Index {
    /// Has `account` watch `topics`: the events filed under each after the last block applied
    /// now are in its inbox (and its live stream), never in the public lists of what names it.
    /// Returns how many of the topics are newly watched (watching again changes nothing).
    /// Topics are checked by the caller ([`check_topic`]); over a limit, none is added.
    pub async fn watch(
        &self,
        account: &AccountId,
        topics: &[String],
        now_ms: u64,
    ) -> Result<u64, IndexError> {
        let _permit = self.user_write()?;
        let mut tx = self.writer().begin().await?;
        // The projection runs on this same connection: no block is half in as this is read.
        let applied: Option<(i64,)> = sqlx::query_as("SELECT height FROM index_applied")
            .fetch_optional(&mut *tx)
            .await?;
        let start = Place::end_of(applied.map_or(0, |(h,)| from_sql(h)));
        let counts: (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM watches WHERE account = $1), (SELECT COUNT(*) FROM watches)",
        )
        .bind(account.to_hex())
        .fetch_one(&mut *tx)
        .await?;
        let (mine, all) = (from_sql(counts.0), from_sql(counts.1));
        let mut added = 0;
        for topic in topics {
            let [h, p, s] = start.values();
            let done = bound(
                "INSERT INTO watches (account, topic, created_ms, height, position, seq) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                &[
                    account.into(),
                    topic.as_str().into(),
                    now_ms.into(),
                    h,
                    p,
                    s,
                ],
            )
            .execute(&mut *tx)
            .await?;
            added += done.rows_affected();
        }
        if mine + added > WATCHES_PER_ACCOUNT_MAX {
            return Err(IndexError::Limit(format!(
                "this account watches {mine} topics and may watch at most \
                 {WATCHES_PER_ACCOUNT_MAX}: stop watching some first"
            )));
        }
        if all + added > WATCHES_MAX {
            return Err(IndexError::Limit(format!(
                "this node keeps at most {WATCHES_MAX} watches; ask the operator or use another node"
            )));
        }
        tx.commit().await?;
        Ok(added)
    }

    /// Stops `account` watching `topics`; returns how many it watched. The events they
    /// brought leave its inbox too (it is computed from the watches).
    pub async fn unwatch(&self, account: &AccountId, topics: &[String]) -> Result<u64, IndexError> {
        let _permit = self.user_write()?;
        let mut tx = self.writer().begin().await?;
        let mut removed = 0;
        for topic in topics {
            let done = bound(
                "DELETE FROM watches WHERE account = $1 AND topic = $2",
                &[account.into(), topic.as_str().into()],
            )
            .execute(&mut *tx)
            .await?;
            removed += done.rows_affected();
        }
        tx.commit().await?;
        Ok(removed)
    }

    /// The topics `account` watches, in order.
    pub async fn watches_of(&self, account: &AccountId) -> Result<Vec<String>, IndexError> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT topic FROM watches WHERE account = $1 ORDER BY topic")
                .bind(account.to_hex())
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().map(|(topic,)| topic).collect())
    }

    /// Whether any event of blocks `from` to `to` was filed under a topic (someone may watch it).
    pub async fn filed_between(&self, from: u64, to: u64) -> Result<bool, IndexError> {
        let found = bound(
            "SELECT 1 FROM event_topics WHERE height >= $1 AND height <= $2 LIMIT 1",
            &[from.into(), to.into()],
        )
        .fetch_optional(self.pool())
        .await?;
        Ok(found.is_some())
    }

    /// Marks `account`'s notifications at `places` read. Refused (naming the first) when one
    /// is not a notification of the account.
    pub async fn mark_read(&self, account: &AccountId, places: &[Place]) -> Result<(), IndexError> {
        let _permit = self.user_write()?;
        let mut tx = self.writer().begin().await?;
        for place in places {
            one_of(&mut tx, account, *place).await?;
            let [h, p, s] = place.values();
            bound(
                "INSERT INTO inbox_read (account, height, position, seq) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT DO NOTHING",
                &[account.into(), h, p, s],
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Marks every notification of `account` up to and including `through` read (a mark only
    /// moves forward).
    pub async fn mark_read_through(
        &self,
        account: &AccountId,
        through: Place,
    ) -> Result<(), IndexError> {
        let _permit = self.user_write()?;
        let mut tx = self.writer().begin().await?;
        one_of(&mut tx, account, through).await?;
        let [h, p, s] = through.values();
        bound(
            "INSERT INTO inbox_marks (account, height, position, seq) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account) DO UPDATE SET height = $2, position = $3, seq = $4 \
             WHERE (inbox_marks.height, inbox_marks.position, inbox_marks.seq) < ($2, $3, $4)",
            &[account.into(), h.clone(), p.clone(), s.clone()],
        )
        .execute(&mut *tx)
        .await?;
        bound(
            "DELETE FROM inbox_read WHERE account = $1 AND (height, position, seq) <= \
             (SELECT height, position, seq FROM inbox_marks WHERE account = $1)",
            &[account.into()],
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a new subscription, unless its owner or the node holds the most allowed; one
    /// with the same owner, URL and filter is returned as it is (with its secret) instead of
    /// made twice.
    pub async fn create_webhook(
        &self,
        new: NewWebhook,
    ) -> Result<(Webhook, String, bool), IndexError> {
        let _permit = self.user_write()?;
        let mut tx = self.writer().begin().await?;
        let filter_values = [
            Value::text(new.filter.account.as_ref().map(AccountId::to_hex)),
            Value::text(new.filter.module.clone()),
            Value::text(new.filter.kind.clone()),
        ];
        let same = format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks w WHERE w.owner = $1 AND w.url = $2 \
             AND w.account IS NOT DISTINCT FROM $3 AND w.module IS NOT DISTINCT FROM $4 \
             AND w.kind IS NOT DISTINCT FROM $5"
        );
        let mut values = vec![(&new.owner).into(), new.url.as_str().into()];
        values.extend(filter_values.iter().cloned());
        if let Some(row) = bound(&same, &values).fetch_optional(&mut *tx).await? {
            let (webhook, secret) = webhook_of(&row)?;
            tx.commit().await?;
            return Ok((webhook, secret, false));
        }
        let counts: (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM webhooks WHERE owner = $1), (SELECT COUNT(*) FROM webhooks)",
        )
        .bind(new.owner.to_hex())
        .fetch_one(&mut *tx)
        .await?;
        if from_sql(counts.0) >= WEBHOOKS_PER_OWNER_MAX {
            return Err(IndexError::Limit(format!(
                "this account holds {WEBHOOKS_PER_OWNER_MAX} webhook subscriptions, the most one account may; delete one first"
            )));
        }
        if from_sql(counts.1) >= WEBHOOKS_MAX {
            return Err(IndexError::Limit(format!(
                "this node holds {WEBHOOKS_MAX} webhook subscriptions, the most it keeps; ask the operator or use another node"
            )));
        }
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).map_err(|e| IndexError::Database(e.to_string()))?;
        let id = format!("wh_{}", hex::encode(random));
        let [h, p, s] = new.start.values();
        let mut values = vec![
            id.as_str().into(),
            (&new.owner).into(),
            new.url.as_str().into(),
        ];
        values.extend(filter_values);
        values.extend([new.secret.as_str().into(), new.now_ms.into(), h, p, s]);
        bound(
            "INSERT INTO webhooks (id, owner, url, account, module, kind, secret, created_ms, \
             height, position, seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &values,
        )
        .execute(&mut *tx)
        .await?;
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks w WHERE w.id = $1");
        let row = bound(&sql, &[id.as_str().into()])
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| IndexError::Database("a webhook just made is missing".into()))?;
        let (webhook, secret) = webhook_of(&row)?;
        tx.commit().await?;
        Ok((webhook, secret, true))
    }

    /// The subscription `id` and its secret.
    pub async fn webhook(&self, id: &str) -> Result<Option<(Webhook, String)>, IndexError> {
        let _permit = self.read_permit()?;
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks w WHERE w.id = $1");
        bound(&sql, &[id.into()])
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(webhook_of)
            .transpose()
    }

    /// `owner`'s subscriptions, oldest first (at most [`WEBHOOKS_PER_OWNER_MAX`]).
    pub async fn webhooks_of(&self, owner: &AccountId) -> Result<Vec<Webhook>, IndexError> {
        let sql = format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks w WHERE w.owner = $1 \
             ORDER BY w.created_ms, w.id"
        );
        let _permit = self.read_permit()?;
        bound(&sql, &[owner.into()])
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|row| webhook_of(row).map(|(w, _)| w))
            .collect()
    }

    /// Deletes subscription `id` and its deliveries; `false` if there was none.
    pub async fn delete_webhook(&self, id: &str) -> Result<bool, IndexError> {
        let _permit = self.user_write()?;
        let mut tx = self.writer().begin().await?;
        bound(
            "DELETE FROM webhook_deliveries WHERE webhook = $1",
            &[id.into()],
        )
        .execute(&mut *tx)
        .await?;
        let done = bound("DELETE FROM webhooks WHERE id = $1", &[id.into()])
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Sends subscription `id`'s dead deliveries again (only `delivery` if given): each is
    /// pending with its attempts reset, under the same id. Returns how many.
    pub async fn replay(
        &self,
        id: &str,
        delivery: Option<&str>,
        now_ms: u64,
    ) -> Result<u64, IndexError> {
        let _permit = self.user_write()?;
        let mut values = vec![Value::from(now_ms), id.into()];
        let mut sql = "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, \
                       next_attempt_ms = $1 WHERE webhook = $2 AND status = 'dead'"
            .to_string();
        if let Some(delivery) = delivery {
            values.push(delivery.into());
            sql.push_str(" AND id = $3");
        }
        let done = bound(&sql, &values).execute(self.writer()).await?;
        Ok(done.rows_affected())
    }

    /// Turns the events after each subscription's cursor into pending deliveries (at most
    /// [`MATERIALIZE_BATCH`] per subscription, none for one holding [`UNDELIVERED_MAX`]
    /// undelivered), moving its cursor in the same transaction: to the last event taken, or,
    /// when it took all there were, to the end of the height the index had applied (so that a
    /// selective filter does not look through the same blocks again). Trims each log to
    /// [`DELIVERED_KEPT`] delivered deliveries. Returns how many deliveries were made.
    pub async fn materialize(&self, now_ms: u64) -> Result<u64, IndexError> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks w ORDER BY w.id");
        let webhooks: Vec<Webhook> = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|row| webhook_of(row).map(|(w, _)| w))
            .collect::<Result<_, _>>()?;
        let applied: Option<(i64,)> =
            sqlx::query_as("SELECT height FROM index_applied WHERE singleton = 1")
                .fetch_optional(self.pool())
                .await?;
        let indexed = Place::end_of(applied.map_or(0, |(h,)| crate::from_sql(h)));
        let mut made = 0;
        for webhook in webhooks {
            if webhook.delivered > DELIVERED_KEPT {
                bound(
                    "DELETE FROM webhook_deliveries WHERE webhook = $1 AND status = 'delivered' \
                     AND (height, position, seq) < (SELECT height, position, seq \
                     FROM webhook_deliveries WHERE webhook = $1 AND status = 'delivered' \
                     ORDER BY height DESC, position DESC, seq DESC LIMIT 1 OFFSET $2)",
                    &[webhook.id.as_str().into(), Value::from(DELIVERED_KEPT - 1)],
                )
                .execute(self.writer())
                .await?;
            }
            let room = UNDELIVERED_MAX.saturating_sub(webhook.pending + webhook.dead);
            if room == 0 {
                continue;
            }
            let cursor = Place::parse(&webhook.cursor)?;
            if cursor >= indexed {
                // Nothing applied after it (or the index is being rebuilt below it).
                continue;
            }
            let limit = room.min(MATERIALIZE_BATCH as u64);
            // The events and the height applied, read in one snapshot: a reset cannot fall
            // between them. Lists come first: when every reading connection is taken, this
            // subscription waits for the next round.
            let mut snapshot = match self.snapshot().await {
                Ok(snapshot) => snapshot,
                Err(IndexError::Busy) => continue,
                Err(e) => return Err(e),
            };
            let applied = snapshot.height();
            let places = matching(&mut snapshot, &webhook.filter, cursor, limit).await?;
            snapshot.finish().await?;
            let next = match places.last() {
                Some(last) if places.len() as u64 == limit => *last,
                _ => cursor.max(Place::end_of(applied)),
            };
            if next == cursor {
                continue;
            }
            let mut tx = self.writer().begin().await?;
            let [h, p, s] = cursor.values();
            let [nh, np, ns] = next.values();
            let moved = bound(
                "UPDATE webhooks SET height = $1, position = $2, seq = $3 \
                 WHERE id = $4 AND height = $5 AND position = $6 AND seq = $7",
                &[nh, np, ns, webhook.id.as_str().into(), h, p, s],
            )
            .execute(&mut *tx)
            .await?;
            if moved.rows_affected() == 0 {
                // Deleted, or moved by another worker meanwhile.
                continue;
            }
            for place in &places {
                let [h, p, s] = place.values();
                bound(
                    "INSERT INTO webhook_deliveries (id, webhook, height, position, seq, status, \
                     attempts, next_attempt_ms, created_ms) \
                     VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6) ON CONFLICT DO NOTHING",
                    &[
                        delivery_id(&webhook.id, *place).into(),
                        webhook.id.as_str().into(),
                        h,
                        p,
                        s,
                        now_ms.into(),
                    ],
                )
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            made += places.len() as u64;
        }
        Ok(made)
    }

    /// The pending deliveries due at `now_ms`, at most `limit`: the first of each subscription
    /// (soonest first), then the second, at most [`IN_FLIGHT_PER_WEBHOOK`] of each, so that a
    /// subscription with a backlog cannot take every place; a delivery whose event the index
    /// does not hold at the moment (it is being rebuilt) waits.
    pub async fn due(&self, now_ms: u64, limit: u32) -> Result<Vec<Due>, IndexError> {
        let sql = format!(
            "SELECT d.id AS id, d.webhook AS webhook, d.attempts AS attempts, \
             d.height AS height, d.position AS position, d.seq AS seq, w.url AS url, \
             w.secret AS secret, t.hash AS hash, t.timestamp_ms AS timestamp_ms, \
             e.module AS module, e.kind AS kind, e.body AS body \
             FROM (SELECT id, webhook, attempts, height, position, seq, next_attempt_ms, \
                   ROW_NUMBER() OVER (PARTITION BY webhook \
                       ORDER BY next_attempt_ms, height, position, seq) AS n \
                   FROM webhook_deliveries \
                   WHERE status = 'pending' AND next_attempt_ms <= $1) d \
             JOIN webhooks w ON w.id = d.webhook \
             JOIN events e ON e.height = d.height AND e.position = d.position AND e.seq = d.seq \
             JOIN transactions t ON t.height = d.height AND t.position = d.position \
             WHERE d.n <= {IN_FLIGHT_PER_WEBHOOK} \
             ORDER BY d.n, d.next_attempt_ms, d.height, d.position, d.seq LIMIT {limit}"
        );
        bound(&sql, &[now_ms.into()])
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|row| {
                let body = text(row, "body")?;
                Ok(Due {
                    id: text(row, "id")?,
                    webhook: text(row, "webhook")?,
                    url: text(row, "url")?,
                    secret: text(row, "secret")?,
                    attempts: int(row, "attempts")?,
                    place: Place::read(row)?,
                    tx: text(row, "hash")?,
                    timestamp_ms: int(row, "timestamp_ms")?,
                    module: text(row, "module")?,
                    kind: text(row, "kind")?,
                    event: serde_json::from_str(&body)
                        .map_err(|e| IndexError::Database(format!("an event's body: {e}")))?,
                })
            })
            .collect()
    }

    /// Records an attempt at delivery `id` made at `now_ms`.
    pub async fn record(&self, id: &str, now_ms: u64, attempt: &Attempt) -> Result<(), IndexError> {
        let (status, code, error, next) = match attempt {
            Attempt::Delivered { status } => (
                DeliveryStatus::Delivered,
                Some(u64::from(*status)),
                None,
                now_ms,
            ),
            Attempt::Failed {
                status,
                error,
                retry_at_ms,
            } => (
                if retry_at_ms.is_some() {
                    DeliveryStatus::Pending
                } else {
                    DeliveryStatus::Dead
                },
                status.map(u64::from),
                Some(error.chars().take(500).collect::<String>()),
                retry_at_ms.unwrap_or(now_ms),
            ),
        };
        bound(
            "UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, \
             next_attempt_ms = $2, last_attempt_ms = $3, last_status = $4, last_error = $5 \
             WHERE id = $6 AND status = 'pending'",
            &[
                status.as_str().into(),
                next.into(),
                now_ms.into(),
                Value::int(code),
                Value::text(error),
                id.into(),
            ],
        )
        .execute(self.writer())
        .await?;
        Ok(())
    }
}

/// The places of the events after `cursor` that `filter` selects, oldest first, at most
/// `limit`.
async fn matching(
    snapshot: &mut Snapshot,
    filter: &WebhookFilter,
    cursor: Place,
    limit: u64,
) -> Result<Vec<Place>, IndexError> {
    // With an account, its own rows (and their type) are the index to walk.
    let (from, key, kind) = match filter.account {
        Some(_) => (
            "account_events a JOIN events e ON e.height = a.height \
             AND e.position = a.position AND e.seq = a.seq",
            "a",
            "a.kind",
        ),
        None => ("events e", "e", "e.kind"),
    };
    let mut values: Vec<Value> = cursor.values().into();
    let mut sql = format!(
        "SELECT {key}.height AS height, {key}.position AS position, {key}.seq AS seq \
         FROM {from} WHERE ({key}.height, {key}.position, {key}.seq) > ($1, $2, $3)"
    );
    let mut and = |column: &str, value: Value| {
        values.push(value);
        sql.push_str(&format!(" AND {column} = ${}", values.len()));
    };
    if let Some(account) = &filter.account {
        and("a.account", account.into());
    }
    if let Some(module) = &filter.module {
        and("e.module", module.as_str().into());
    }
    if let Some(wanted) = &filter.kind {
        and(kind, wanted.as_str().into());
    }
    sql.push_str(&format!(
        " ORDER BY {key}.height, {key}.position, {key}.seq LIMIT {limit}"
    ));
    snapshot
        .fetch(&sql, &values)
        .await?
        .iter()
        .map(Place::read)
        .collect()
}

impl Snapshot {
    /// Subscription `webhook`'s deliveries (only those in `status` if given), by event.
    pub async fn deliveries(
        &mut self,
        webhook: &str,
        status: Option<DeliveryStatus>,
        order: Order,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<Delivery>, IndexError> {
        let mut listing = Listing {
            from: "webhook_deliveries d",
            filter: "1 = 1".into(),
            values: Vec::new(),
            columns: "d.id AS id, d.height AS height, d.position AS position, d.seq AS seq, \
                      d.status AS status, d.attempts AS attempts, \
                      d.next_attempt_ms AS next_attempt_ms, d.last_attempt_ms AS last_attempt_ms, \
                      d.last_status AS last_status, d.last_error AS last_error",
            key: &["d.height", "d.position", "d.seq"],
        };
        listing.and("d.webhook = {}", webhook.into());
        if let Some(status) = status {
            listing.and("d.status = {}", status.as_str().into());
        }
        self.page(&listing, order, cursor, limit).await
    }
}
