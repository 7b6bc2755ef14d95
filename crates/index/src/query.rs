//! Lists read from the index: each page inside one read transaction, with the height the index
//! had applied in that transaction, so a page's rows all come from that height.
//!
//! Pages go newest first unless asked otherwise and end with an opaque cursor for the next
//! one (`next`); a cursor names the last item given, so a page never repeats or skips an item
//! however many blocks are applied between two requests.

use crate::project::Value;
use crate::{Index, IndexError, from_sql};
use civitas_core::crypto::AccountId;
use serde::Serialize;
pub use sqlx::any::AnyRow;
use sqlx::{Any, Row as _, Transaction};

/// Most items on one page.
pub const PAGE_MAX: u32 = 100;
/// Items on a page when the request does not say.
pub const PAGE_DEFAULT: u32 = 20;

/// The index as of one applied height: every read through it sees the same rows.
pub struct Snapshot {
    tx: Transaction<'static, Any>,
    height: u64,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

/// Longest a list's query may run on PostgreSQL before it is cancelled.
pub const STATEMENT_TIMEOUT_MS: u32 = 5_000;

impl Index {
    /// A consistent view of the index (a read-only transaction; on PostgreSQL at the
    /// repeatable-read level, on SQLite the WAL snapshot its first read takes).
    ///
    /// At most one snapshot per reading connection is open at once; beyond that this answers
    /// [`IndexError::Busy`] at once instead of queueing (the API answers 429).
    pub async fn snapshot(&self) -> Result<Snapshot, IndexError> {
        let permit = self
            .reads()
            .clone()
            .try_acquire_owned()
            .map_err(|_| IndexError::Busy)?;
        let mut tx = self.pool().begin().await?;
        if self.backend() == crate::Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .execute(&mut *tx)
                .await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"
            )))
            .execute(&mut *tx)
            .await?;
        }
        let height: Option<(i64,)> =
            sqlx::query_as("SELECT height FROM index_applied WHERE singleton = 1")
                .fetch_optional(&mut *tx)
                .await?;
        Ok(Snapshot {
            tx,
            height: height.map_or(0, |(h,)| from_sql(h)),
            _permit: permit,
        })
    }
}

impl Snapshot {
    /// The height every read of this snapshot reflects (0: nothing applied yet).
    pub fn height(&self) -> u64 {
        self.height
    }

    /// The rows of `sql` with `values` bound as `$1`, `$2`, …
    ///
    /// `sql` is assembled by this build's code from fixed fragments; what a request chooses
    /// goes in `values`, never into the text.
    pub async fn fetch(&mut self, sql: &str, values: &[Value]) -> Result<Vec<AnyRow>, IndexError> {
        let query = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()));
        Ok(crate::project::bind(query, values)
            .fetch_all(&mut *self.tx)
            .await?)
    }

    /// A page of `query`: the rows after `cursor` in `order`, at most `limit`.
    pub async fn page<T: Keyed>(
        &mut self,
        query: &Listing<'_>,
        order: Order,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<T>, IndexError> {
        let limit = limit.clamp(1, PAGE_MAX);
        let mut values = query.values.clone();
        let mut sql = format!("{} WHERE {}", query.from, query.filter);
        if let Some(cursor) = cursor {
            let key = parse_cursor(cursor, query.key.len())?;
            let columns = query.key.join(", ");
            let params: Vec<String> = key
                .iter()
                .map(|part| {
                    values.push(Value::Int(*part));
                    format!("${}", values.len())
                })
                .collect();
            let operator = match order {
                Order::Newest => "<",
                Order::Oldest => ">",
            };
            sql.push_str(&format!(
                " AND ({columns}) {operator} ({})",
                params.join(", ")
            ));
        }
        let direction = match order {
            Order::Newest => "DESC",
            Order::Oldest => "ASC",
        };
        let order_by: Vec<String> = query
            .key
            .iter()
            .map(|c| format!("{c} {direction}"))
            .collect();
        sql = format!(
            "SELECT {} FROM {sql} ORDER BY {} LIMIT {}",
            query.columns,
            order_by.join(", "),
            limit + 1
        );
        let rows = self.fetch(&sql, &values).await?;
        let mut items = rows.iter().map(T::read).collect::<Result<Vec<_>, _>>()?;
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|item| {
                item.key()
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(".")
            })
        } else {
            None
        };
        Ok(Page {
            height: self.height,
            items,
            next,
        })
    }

    /// Ends the read.
    pub async fn finish(self) -> Result<(), IndexError> {
        self.tx.rollback().await?;
        Ok(())
    }
}

/// A list as SQL: the tables, the filter, the columns read, and the key it is ordered and
/// paged by (numeric columns, unique together).
pub struct Listing<'a> {
    /// `table [JOIN …]`.
    pub from: &'a str,
    /// The conditions (`TRUE` for none), with `$n` parameters.
    pub filter: String,
    /// The parameters' values.
    pub values: Vec<Value>,
    /// The columns to read.
    pub columns: &'a str,
    /// The ordering key's columns.
    pub key: &'a [&'a str],
}

impl Listing<'_> {
    /// Adds a condition on one parameter: `template` with `{}` where the parameter goes.
    pub fn and(&mut self, template: &str, value: Value) {
        self.values.push(value);
        let parameter = format!("${}", self.values.len());
        self.filter
            .push_str(&format!(" AND {}", template.replace("{}", &parameter)));
    }
}

/// Which way a list runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Newest first (the default).
    #[default]
    Newest,
    /// Oldest first.
    Oldest,
}

/// One page of a list.
#[derive(Clone, Debug, Serialize)]
pub struct Page<T> {
    /// The height of the index the page reflects.
    pub height: u64,
    /// The items.
    pub items: Vec<T>,
    /// The cursor of the next page, if there is one.
    pub next: Option<String>,
}

/// An item of a list: read from a row, and placed by its key.
pub trait Keyed: Sized {
    /// Reads the item from its row.
    fn read(row: &AnyRow) -> Result<Self, IndexError>;
    /// Its key, the cursor's parts.
    fn key(&self) -> Vec<u64>;
}

pub(crate) fn parse_cursor(cursor: &str, parts: usize) -> Result<Vec<i64>, IndexError> {
    let bad = || IndexError::Cursor(cursor.chars().take(64).collect());
    let key: Vec<i64> = cursor
        .split('.')
        .map(|part| {
            if part.is_empty() || part.len() > 19 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            part.parse::<i64>().map_err(|_| bad())
        })
        .collect::<Result<_, _>>()?;
    if key.len() != parts {
        return Err(bad());
    }
    Ok(key)
}

/// A column of `row` as a number.
pub fn int(row: &AnyRow, column: &str) -> Result<u64, IndexError> {
    Ok(from_sql(row.try_get::<i64, _>(column)?))
}

/// A column of `row` as text.
pub fn text(row: &AnyRow, column: &str) -> Result<String, IndexError> {
    Ok(row.try_get::<String, _>(column)?)
}

/// A column of `row` as a number or `NULL`.
pub fn optional_int(row: &AnyRow, column: &str) -> Result<Option<u64>, IndexError> {
    Ok(row.try_get::<Option<i64>, _>(column)?.map(from_sql))
}

/// A column of `row` as text or `NULL`.
pub fn optional_text(row: &AnyRow, column: &str) -> Result<Option<String>, IndexError> {
    Ok(row.try_get::<Option<String>, _>(column)?)
}

/// A finalized block as lists show it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct BlockItem {
    /// Its height.
    pub height: u64,
    /// Its digest.
    pub digest: String,
    /// Its time (milliseconds since 1970).
    pub timestamp_ms: u64,
    /// Its epoch.
    pub epoch: u64,
    /// The proposer's consensus key.
    pub proposer: String,
    /// How many transactions it holds.
    pub tx_count: u64,
}

impl Keyed for BlockItem {
    fn read(row: &AnyRow) -> Result<Self, IndexError> {
        Ok(Self {
            height: int(row, "height")?,
            digest: text(row, "digest")?,
            timestamp_ms: int(row, "timestamp_ms")?,
            epoch: int(row, "epoch")?,
            proposer: text(row, "proposer")?,
            tx_count: int(row, "tx_count")?,
        })
    }

    fn key(&self) -> Vec<u64> {
        vec![self.height]
    }
}

/// A finalized transaction as lists show it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct TxItem {
    /// The block.
    pub height: u64,
    /// Its position in the block.
    pub position: u64,
    /// Its hash.
    pub hash: String,
    /// The account it ran for.
    pub signer: String,
    /// The nonce it consumed.
    pub nonce: u64,
    /// Its instructions, `module.operation` each.
    pub actions: Vec<String>,
    /// `success`, or the failure's code.
    pub outcome: String,
    /// The block's time (milliseconds since 1970).
    pub timestamp_ms: u64,
    /// How the account asked about takes part (when the list is an account's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part: Option<TxPart>,
}

/// How an account takes part in a transaction.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct TxPart {
    /// It signed it (the transaction ran for it).
    pub sent: bool,
    /// Its key co-signed it.
    pub cosigned: bool,
    /// An instruction names it.
    pub named: bool,
}

impl Keyed for TxItem {
    fn read(row: &AnyRow) -> Result<Self, IndexError> {
        let part = match row.try_get::<Option<i64>, _>("sent") {
            Ok(Some(sent)) => Some(TxPart {
                sent: sent != 0,
                cosigned: int(row, "cosigned")? != 0,
                named: int(row, "named")? != 0,
            }),
            _ => None,
        };
        Ok(Self {
            height: int(row, "height")?,
            position: int(row, "position")?,
            hash: text(row, "hash")?,
            signer: text(row, "signer")?,
            nonce: int(row, "nonce")?,
            actions: text(row, "actions")?
                .split(' ')
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .collect(),
            outcome: text(row, "outcome")?,
            timestamp_ms: int(row, "timestamp_ms")?,
            part,
        })
    }

    fn key(&self) -> Vec<u64> {
        vec![self.height, self.position]
    }
}

/// An event as lists show it.
#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct EventItem {
    /// The block.
    pub height: u64,
    /// The transaction's position in the block.
    pub position: u64,
    /// The event's position among the transaction's events.
    pub seq: u64,
    /// The transaction that caused it.
    pub tx: String,
    /// The block's time (milliseconds since 1970).
    pub timestamp_ms: u64,
    /// The event, as the ledger's JSON shows it (tagged `type`).
    #[schema(value_type = civitas_core::Event)]
    pub event: serde_json::Value,
}

impl Keyed for EventItem {
    fn read(row: &AnyRow) -> Result<Self, IndexError> {
        let body = text(row, "body")?;
        Ok(Self {
            height: int(row, "height")?,
            position: int(row, "position")?,
            seq: int(row, "seq")?,
            tx: text(row, "hash")?,
            timestamp_ms: int(row, "timestamp_ms")?,
            event: serde_json::from_str(&body)
                .map_err(|e| IndexError::Database(format!("an event's body: {e}")))?,
        })
    }

    fn key(&self) -> Vec<u64> {
        vec![self.height, self.position, self.seq]
    }
}

/// A transaction's columns in a list (`t` is `transactions`), with no account's part.
const TX_COLUMNS: &str = "t.height AS height, t.position AS position, t.hash AS hash, \
    t.signer AS signer, t.nonce AS nonce, t.actions AS actions, t.outcome AS outcome, \
    t.timestamp_ms AS timestamp_ms, NULL AS sent, NULL AS cosigned, NULL AS named";

/// A transaction's columns in an account's list (`a` is `account_transactions`).
const TX_OF_ACCOUNT_COLUMNS: &str = "t.height AS height, t.position AS position, \
    t.hash AS hash, t.signer AS signer, t.nonce AS nonce, t.actions AS actions, \
    t.outcome AS outcome, t.timestamp_ms AS timestamp_ms, a.sent AS sent, \
    a.cosigned AS cosigned, a.named AS named";

/// Which blocks to list.
#[derive(Clone, Debug, Default)]
pub struct BlockFilter {
    /// Only blocks that hold transactions.
    pub with_transactions: bool,
}

/// Which transactions to list.
#[derive(Clone, Debug, Default)]
pub struct TxFilter {
    /// Those that concern this account.
    pub account: Option<AccountId>,
    /// …in this way (with `account`).
    pub part: Option<Part>,
    /// Those with this instruction (`module.operation`).
    pub action: Option<String>,
    /// Only failed ones (`true`) or only successful ones (`false`).
    pub failed: Option<bool>,
}

/// A way an account takes part in a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    /// Signed by it.
    Sent,
    /// Co-signed by one of its keys.
    Cosigned,
    /// Naming it.
    Named,
}

/// Which events to list.
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    /// Those that name this account.
    pub account: Option<AccountId>,
    /// Of this type (`document_anchored`).
    pub kind: Option<String>,
    /// Of this module.
    pub module: Option<String>,
}

impl Snapshot {
    /// Blocks, by height.
    pub async fn blocks(
        &mut self,
        filter: &BlockFilter,
        order: Order,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<BlockItem>, IndexError> {
        let listing = Listing {
            from: "blocks",
            filter: if filter.with_transactions {
                "tx_count > 0".into()
            } else {
                "1 = 1".into()
            },
            values: Vec::new(),
            columns: "height, digest, timestamp_ms, epoch, proposer, tx_count",
            key: &["height"],
        };
        self.page(&listing, order, cursor, limit).await
    }

    /// Transactions, by position in the chain. Each filter is served by an index: an
    /// account's rows, an action's rows, the failed ones.
    pub async fn transactions(
        &mut self,
        filter: &TxFilter,
        order: Order,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<TxItem>, IndexError> {
        let mut listing = match (&filter.account, &filter.action) {
            (Some(account), _) => {
                let mut listing = Listing {
                    from: "account_transactions a JOIN transactions t \
                           ON t.height = a.height AND t.position = a.position",
                    filter: "1 = 1".into(),
                    values: Vec::new(),
                    columns: TX_OF_ACCOUNT_COLUMNS,
                    key: &["a.height", "a.position"],
                };
                listing.and("a.account = {}", account.into());
                match filter.part {
                    Some(Part::Sent) => listing.filter.push_str(" AND a.sent = 1"),
                    Some(Part::Cosigned) => listing.filter.push_str(" AND a.cosigned = 1"),
                    Some(Part::Named) => listing.filter.push_str(" AND a.named = 1"),
                    None => {}
                }
                if let Some(action) = &filter.action {
                    listing.and(
                        "EXISTS (SELECT 1 FROM transaction_actions x WHERE x.action = {} \
                         AND x.height = a.height AND x.position = a.position)",
                        action.into(),
                    );
                }
                listing
            }
            (None, Some(action)) => {
                let mut listing = Listing {
                    from: "transaction_actions x JOIN transactions t \
                           ON t.height = x.height AND t.position = x.position",
                    filter: "1 = 1".into(),
                    values: Vec::new(),
                    columns: TX_COLUMNS,
                    key: &["x.height", "x.position"],
                };
                listing.and("x.action = {}", action.into());
                listing
            }
            (None, None) => Listing {
                from: "transactions t",
                filter: "1 = 1".into(),
                values: Vec::new(),
                columns: TX_COLUMNS,
                key: &["t.height", "t.position"],
            },
        };
        match filter.failed {
            Some(true) => listing.filter.push_str(" AND t.outcome <> 'success'"),
            Some(false) => listing.filter.push_str(" AND t.outcome = 'success'"),
            None => {}
        }
        self.page(&listing, order, cursor, limit).await
    }

    /// Events, by position in the chain.
    pub async fn events(
        &mut self,
        filter: &EventFilter,
        order: Order,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<EventItem>, IndexError> {
        const COLUMNS: &str = "e.height AS height, e.position AS position, e.seq AS seq, \
                               t.hash AS hash, t.timestamp_ms AS timestamp_ms, e.body AS body";
        let mut listing = match &filter.account {
            Some(account) => {
                let mut listing = Listing {
                    from: "account_events a \
                           JOIN events e ON e.height = a.height AND e.position = a.position \
                           AND e.seq = a.seq \
                           JOIN transactions t ON t.height = a.height AND t.position = a.position",
                    filter: "1 = 1".into(),
                    values: Vec::new(),
                    columns: COLUMNS,
                    key: &["a.height", "a.position", "a.seq"],
                };
                listing.and("a.account = {}", account.into());
                if let Some(kind) = &filter.kind {
                    listing.and("a.kind = {}", kind.into());
                }
                listing
            }
            None => {
                let mut listing = Listing {
                    from: "events e \
                           JOIN transactions t ON t.height = e.height AND t.position = e.position",
                    filter: "1 = 1".into(),
                    values: Vec::new(),
                    columns: COLUMNS,
                    key: &["e.height", "e.position", "e.seq"],
                };
                if let Some(kind) = &filter.kind {
                    listing.and("e.kind = {}", kind.into());
                }
                listing
            }
        };
        if let Some(module) = &filter.module {
            listing.and("e.module = {}", module.into());
        }
        self.page(&listing, order, cursor, limit).await
    }

    /// The transaction with `hash`, if the index has it.
    pub async fn transaction(&mut self, hash: &str) -> Result<Option<TxItem>, IndexError> {
        let rows = self
            .fetch(
                &format!("SELECT {TX_COLUMNS} FROM transactions t WHERE t.hash = $1"),
                &[Value::from(hash)],
            )
            .await?;
        rows.first().map(TxItem::read).transpose()
    }
}
