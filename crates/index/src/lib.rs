//! The read model: finalized blocks projected into SQL, for what the ledger answers badly on its
//! own: lists, filters, cursors, inboxes.
//!
//! The ledger proves single records and totals; anything that is a list would have to walk
//! blocks. The index walks them once, as they are finalized, and keeps the transactions,
//! receipts and events of every module in tables: [`schema`] holds the ledger's own, and each
//! module declares its own and how an event fills them ([`project::Tables`]).
//!
//! **Correct by construction.** A block's rows and the height the index has applied are written
//! in one SQL transaction ([`Index::apply`]): a crash or `kill -9` leaves either the whole block
//! or none of it, and the follower resumes after the height recorded. Every list is read inside
//! one transaction that first reads that height ([`query::Snapshot`]), so all of a page's rows
//! and the height it states come from the same moment. Nothing here is proven: each item names
//! its transaction, whose proof bundle comes from the ledger. The index can be dropped and
//! rebuilt from the chain at any time ([`Index::reset`]).
//!
//! **Backends.** SQLite (compiled in) is the default: a node needs nothing else. PostgreSQL is
//! chosen by the URL alone (`postgres://…`). Both run the same migrations and the same
//! queries, written in the SQL the two share (`BIGINT`, `TEXT`, `$n` parameters,
//! `ON CONFLICT`, row-value comparisons), and the tests run each against both.

pub mod follow;
pub mod notify;
pub mod project;
pub mod query;
pub mod schema;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

use civitas_core::crypto::AccountId;
use civitas_core::hash::Hash32;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor as _};
use std::sync::{Arc, Once};
use std::time::Duration;
use tokio::sync::Semaphore;

pub use project::{Context, Finalized, Rows, Tables, Value};

/// An agency's admin as genesis lists it (see [`Index::with_genesis_keys`]).
#[derive(Clone, Debug)]
pub struct GenesisAdmin {
    /// Its signing key.
    pub key: civitas_core::crypto::PublicKey,
    /// Its account (the key's id).
    pub account: AccountId,
    /// Its agency.
    pub agency: String,
    /// The role genesis gives it.
    pub role: String,
}

/// Connections a SQLite index keeps (one writer at a time; readers run beside it in WAL mode).
pub const SQLITE_CONNECTIONS: u32 = 4;
/// Pages each SQLite reading connection caches, in KiB.
pub const READER_CACHE_KIB: u32 = 32 * 1024;
/// Pages the SQLite writer caches, in KiB.
pub const WRITER_CACHE_KIB: u32 = 256 * 1024;
/// Connections a PostgreSQL index keeps.
pub const POSTGRES_CONNECTIONS: u32 = 8;
/// Writes asked for by requests (read marks, subscriptions) at once.
pub const USER_WRITES: usize = 2;
/// How long a query waits for a connection before it answers "busy".
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Which database holds the index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// A SQLite file beside the node's data (the default).
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
}

/// Why the index failed.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The setting names no database this build reads.
    #[error(
        "the index URL {0:?} names no database Civitas reads: use sqlite:<file> or postgres://<user>@<host>/<database>"
    )]
    Url(String),
    /// The index was made from another chain.
    #[error(
        "the index holds chain {found}, not this node's chain {expected}: point it at another database, or rebuild it (civitas index rebuild)"
    )]
    OtherChain {
        /// The chain the index records.
        found: String,
        /// The node's chain.
        expected: String,
    },
    /// A block handed to the index does not follow the one it applied last.
    #[error("the index has applied height {applied}; block {got} does not follow it")]
    Gap {
        /// The height applied.
        applied: u64,
        /// The height offered.
        got: u64,
    },
    /// A block's receipts do not match its transactions (a fault of the node that sent them).
    #[error("block {height}: {problem}")]
    Inconsistent {
        /// The block.
        height: u64,
        /// What does not match.
        problem: String,
    },
    /// A migration applied earlier has different text now.
    #[error(
        "migration {module}/{version} differs from the one this index applied: the build and the database disagree; point [index] url at an empty database, or delete the SQLite file (the node builds the index again from the chain)"
    )]
    Migration {
        /// The module.
        module: String,
        /// Its version.
        version: u64,
    },
    /// The database holds a migration this build does not know: a newer build made it.
    #[error(
        "the read model was made by a newer build of civitas (it applied migration {module}/{version}, which this build does not know); run that build, or point [index] url at an empty database, or delete the SQLite file (the node builds the index again from the chain)"
    )]
    Newer {
        /// The module.
        module: String,
        /// The newest version the database applied.
        version: u64,
    },
    /// A migration's text that one of the backends would not run as the other does.
    #[error("migration {module}/{version} is not portable: {reason}")]
    Unportable {
        /// The module.
        module: String,
        /// Its version.
        version: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// A cursor that this index did not hand out.
    #[error("the cursor {0:?} is not one this list handed out")]
    Cursor(String),
    /// Something asked for is not there.
    #[error("{0}")]
    NotFound(String),
    /// A bound is reached (subscriptions per account or per node).
    #[error("{0}")]
    Limit(String),
    /// Every connection is busy.
    #[error("the index is answering as many queries as it can; try again in a moment")]
    Busy,
    /// The database failed.
    #[error("index database: {0}")]
    Database(String),
    /// The node could not hand over a block.
    #[error("reading from the node: {0}")]
    Node(String),
}

impl From<sqlx::Error> for IndexError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut => Self::Busy,
            other => Self::Database(other.to_string()),
        }
    }
}

/// The height the index has applied.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Applied {
    /// The last block whose rows are in the index.
    pub height: u64,
    /// Its digest.
    pub digest: Hash32,
}

/// The read model's database, its migrations applied.
#[derive(Clone)]
pub struct Index {
    /// For reads: lists, status.
    pool: AnyPool,
    /// For writes: one connection (the follower's, a reset's, migrations).
    writer: AnyPool,
    /// A permit per reading connection: a list that finds none free is refused at once (busy)
    /// rather than queued.
    reads: Arc<Semaphore>,
    /// Permits for the writes people ask for (read marks, subscriptions), which share the
    /// follower's connection: beyond them a request is refused at once (busy), so that no
    /// number of requests holds the follower back for long.
    user_writes: Arc<Semaphore>,
    backend: Backend,
    tables: &'static [Tables],
    location: String,
    genesis_keys: Arc<Vec<GenesisAdmin>>,
}

static DRIVERS: Once = Once::new();

impl Index {
    /// Opens (creating it if needed) the index at `url` and brings its schema up to date:
    /// the ledger's tables and every module's in `tables`.
    ///
    /// `sqlite:<path>` is a file (created if missing); `postgres://…` a PostgreSQL database
    /// (its parameters as libpq takes them, such as `sslmode=verify-full&sslrootcert=<file>`).
    pub async fn open(url: &str, tables: &'static [Tables]) -> Result<Self, IndexError> {
        Self::open_at(url, tables, schema::LEDGER_MIGRATIONS.len()).await
    }

    /// [`Index::open`] with the ledger's first `ledger_migrations` migrations only: an index as
    /// an earlier build left it, for the tests of the later ones.
    pub(crate) async fn open_at(
        url: &str,
        tables: &'static [Tables],
        ledger_migrations: usize,
    ) -> Result<Self, IndexError> {
        DRIVERS.call_once(install_default_drivers);
        let (backend, url, location) = if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.trim_start_matches("//");
            if path.is_empty() || path.contains('?') {
                return Err(IndexError::Url(url.into()));
            }
            (
                Backend::Sqlite,
                format!("sqlite://{path}?mode=rwc"),
                path.to_string(),
            )
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_string(), redact(url))
        } else {
            return Err(IndexError::Url(redact(url)));
        };
        // Readers and the writer have pools of their own, so that no number of list requests
        // can take the connection the follower writes with.
        let readers = match backend {
            Backend::Sqlite => SQLITE_CONNECTIONS,
            Backend::Postgres => POSTGRES_CONNECTIONS,
        };
        let reader = connect(backend, &url, readers, READER_CACHE_KIB).await?;
        let writer = connect(backend, &url, 1, WRITER_CACHE_KIB).await?;
        let index = Self {
            pool: reader,
            writer,
            reads: Arc::new(Semaphore::new(readers as usize)),
            user_writes: Arc::new(Semaphore::new(USER_WRITES)),
            backend,
            tables,
            location,
            genesis_keys: Arc::new(Vec::new()),
        };
        schema::migrate(&index, ledger_migrations).await?;
        Ok(index)
    }

    /// The database this index is in.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Where the index is: the SQLite file, or the PostgreSQL URL without its password.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The modules' tables this index keeps.
    pub fn tables(&self) -> &'static [Tables] {
        self.tables
    }

    /// The readers' connection pool (lists go through [`Index::snapshot`], which bounds them).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The writer's connection.
    pub(crate) fn writer(&self) -> &AnyPool {
        &self.writer
    }

    /// The reading permits.
    pub(crate) fn reads(&self) -> &Arc<Semaphore> {
        &self.reads
    }

    /// A reading permit now, or busy.
    pub(crate) fn read_permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, IndexError> {
        self.reads
            .clone()
            .try_acquire_owned()
            .map_err(|_| IndexError::Busy)
    }

    /// A permit for a write a request asks for, now, or busy.
    pub(crate) fn user_write(&self) -> Result<tokio::sync::OwnedSemaphorePermit, IndexError> {
        self.user_writes
            .clone()
            .try_acquire_owned()
            .map_err(|_| IndexError::Busy)
    }

    /// The same index, told the accounts genesis makes (each agency's first admins), which
    /// no event registers: written with block 1, their keys so that a transaction they
    /// co-sign is listed under them, their agency and `admin` role so that the events filed
    /// for the role reach them.
    pub fn with_genesis_keys(mut self, admins: Vec<GenesisAdmin>) -> Self {
        self.genesis_keys = Arc::new(admins);
        self
    }

    /// See [`Index::with_genesis_keys`].
    pub(crate) fn genesis_keys(&self) -> &[GenesisAdmin] {
        &self.genesis_keys
    }

    /// The last block applied, if any (read on the writer's connection, which lists never
    /// hold).
    pub async fn applied(&self) -> Result<Option<Applied>, IndexError> {
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT height, digest FROM index_applied WHERE singleton = 1")
                .fetch_optional(&self.writer)
                .await?;
        row.map(|(height, digest)| {
            Ok(Applied {
                height: from_sql(height),
                digest: Hash32::from_hex(&digest)
                    .map_err(|_| IndexError::Database(format!("bad digest {digest:?}")))?,
            })
        })
        .transpose()
    }

    /// The chain the index was made from (the genesis hash), once a block is applied.
    pub async fn chain(&self) -> Result<Option<Hash32>, IndexError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT chain FROM index_applied WHERE singleton = 1")
                .fetch_optional(&self.writer)
                .await?;
        row.map(|(chain,)| {
            Hash32::from_hex(&chain)
                .map_err(|_| IndexError::Database(format!("bad chain {chain:?}")))
        })
        .transpose()
    }

    /// Checks that the index was made from `chain` (or is empty).
    pub async fn check_chain(&self, chain: &Hash32) -> Result<(), IndexError> {
        match self.chain().await? {
            Some(found) if found != *chain => Err(IndexError::OtherChain {
                found: found.to_hex(),
                expected: chain.to_hex(),
            }),
            _ => Ok(()),
        }
    }

    /// Empties every table of the index (the ledger's and the modules'), in one transaction,
    /// so that it is built again from block 1.
    pub async fn reset(&self) -> Result<(), IndexError> {
        let mut tx = self.writer.begin().await?;
        // Waits for a batch the follower is writing to commit (its row lock), so that none of
        // its rows outlive the reset.
        sqlx::query("UPDATE index_applied SET height = height WHERE singleton = 1")
            .execute(&mut *tx)
            .await?;
        for table in schema::LEDGER_TABLES
            .iter()
            .chain(self.tables.iter().flat_map(|t| t.tables.iter()))
        {
            // Table names come from this build's schema and modules, never from a request.
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// How many blocks, transactions and events the index holds.
    pub async fn counts(&self) -> Result<(u64, u64, u64), IndexError> {
        let mut counts = [0; 3];
        for (count, query) in counts.iter_mut().zip([
            "SELECT COUNT(*) FROM blocks",
            // A block's end receipt has a row of its own (`project::BLOCK_END_ACTION`), but is
            // no transaction.
            "SELECT COUNT(*) FROM transactions WHERE actions <> 'block.end'",
            "SELECT COUNT(*) FROM events",
        ]) {
            let (n,): (i64,) = sqlx::query_as(query).fetch_one(&self.pool).await?;
            *count = from_sql(n);
        }
        Ok((counts[0], counts[1], counts[2]))
    }

    /// Closes the connections.
    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }
}

/// A pool of `connections` to the index at `url`.
async fn connect(
    backend: Backend,
    url: &str,
    connections: u32,
    cache_kib: u32,
) -> Result<AnyPool, IndexError> {
    let options = AnyPoolOptions::new()
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .max_connections(connections);
    let pool = match backend {
        Backend::Sqlite => {
            options
                .after_connect(move |connection, _| {
                    Box::pin(async move {
                        // WAL lets readers run beside the writer; NORMAL syncs at checkpoints,
                        // which keeps every commit atomic (a crash loses at most the newest
                        // blocks, which are applied again). Each connection caches pages
                        // (SQLite's default is 2 MiB): the writer more, as its inserts land
                        // all over the indexes keyed by account and hash.
                        connection
                            .execute(sqlx::AssertSqlSafe(format!(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                 PRAGMA busy_timeout = 5000; PRAGMA cache_size = -{cache_kib};"
                            )))
                            .await?;
                        Ok(())
                    })
                })
                .connect(url)
                .await?
        }
        Backend::Postgres => options.connect(url).await?,
    };
    Ok(pool)
}

/// A URL without its password.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.into();
    };
    let Some((credentials, host)) = rest.split_once('@') else {
        return url.into();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.into(),
    }
}

/// A height, count or amount as SQL stores it. Every figure the ledger records is below
/// 2^63; one that is not is stored as the largest `BIGINT` rather than failing the block.
pub fn to_sql(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A figure read back from SQL (never negative: only [`to_sql`] writes them).
pub fn from_sql(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

#[cfg(test)]
mod tests;
