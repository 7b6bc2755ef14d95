//! The ledger's tables and the migrations that make every table.
//!
//! Migrations are numbered per module (`ledger` for the tables here); each runs once, in its
//! own SQL transaction with its record in `index_migrations`, and its text's hash is kept so
//! that a build whose migration differs from the one a database applied stops instead of
//! reading tables of another shape. A migration is never edited once released: a change is a
//! new one after it. The SQL is the part SQLite and PostgreSQL share.

use crate::{Index, IndexError};
use civitas_core::hash::Hash32;

/// The ledger's own tables, emptied by [`Index::reset`](crate::Index::reset).
pub const LEDGER_TABLES: &[&str] = &[
    "index_applied",
    "blocks",
    "transactions",
    "transaction_actions",
    "account_transactions",
    "transaction_keys",
    "account_keys",
    "events",
    "account_events",
];

/// The ledger's migrations, in order.
pub const LEDGER_MIGRATIONS: &[&str] = &[
    // 1: blocks, transactions, events, and who each concerns.
    "CREATE TABLE index_applied (
        singleton BIGINT PRIMARY KEY,
        height BIGINT NOT NULL,
        digest TEXT NOT NULL,
        chain TEXT NOT NULL
    );
    CREATE TABLE blocks (
        height BIGINT PRIMARY KEY,
        digest TEXT NOT NULL,
        timestamp_ms BIGINT NOT NULL,
        epoch BIGINT NOT NULL,
        proposer TEXT NOT NULL,
        tx_count BIGINT NOT NULL
    );
    CREATE INDEX blocks_with_transactions ON blocks (height) WHERE tx_count > 0;
    CREATE TABLE transactions (
        height BIGINT NOT NULL,
        position BIGINT NOT NULL,
        hash TEXT NOT NULL,
        signer TEXT NOT NULL,
        nonce BIGINT NOT NULL,
        actions TEXT NOT NULL,
        outcome TEXT NOT NULL,
        timestamp_ms BIGINT NOT NULL,
        PRIMARY KEY (height, position)
    );
    CREATE UNIQUE INDEX transactions_by_hash ON transactions (hash);
    CREATE INDEX transactions_failed ON transactions (height, position) WHERE outcome <> 'success';
    CREATE TABLE transaction_actions (
        action TEXT NOT NULL,
        height BIGINT NOT NULL,
        position BIGINT NOT NULL,
        PRIMARY KEY (action, height, position)
    );
    CREATE TABLE account_transactions (
        account TEXT NOT NULL,
        height BIGINT NOT NULL,
        position BIGINT NOT NULL,
        sent BIGINT NOT NULL,
        cosigned BIGINT NOT NULL,
        named BIGINT NOT NULL,
        PRIMARY KEY (account, height, position)
    );
    CREATE TABLE transaction_keys (
        height BIGINT NOT NULL,
        position BIGINT NOT NULL,
        signing_key TEXT NOT NULL,
        PRIMARY KEY (height, position, signing_key)
    );
    CREATE TABLE account_keys (
        signing_key TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        since BIGINT NOT NULL
    );
    CREATE TABLE events (
        height BIGINT NOT NULL,
        position BIGINT NOT NULL,
        seq BIGINT NOT NULL,
        module TEXT NOT NULL,
        kind TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (height, position, seq)
    );
    CREATE INDEX events_by_kind ON events (kind, height, position, seq);
    CREATE INDEX events_by_module ON events (module, height, position, seq);
    CREATE TABLE account_events (
        account TEXT NOT NULL,
        height BIGINT NOT NULL,
        position BIGINT NOT NULL,
        seq BIGINT NOT NULL,
        kind TEXT NOT NULL,
        PRIMARY KEY (account, height, position, seq)
    );
    CREATE INDEX account_events_by_kind ON account_events (account, kind, height, position, seq);",
];

/// Brings `index` up to date: the ledger's migrations, then each module's, each once.
pub(crate) async fn migrate(index: &Index) -> Result<(), IndexError> {
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS index_migrations (
            module TEXT NOT NULL,
            version BIGINT NOT NULL,
            checksum TEXT NOT NULL,
            PRIMARY KEY (module, version)
        )",
    )
    .execute(index.writer())
    .await?;
    let parts = [
        ("ledger", LEDGER_MIGRATIONS),
        ("notifications", crate::notify::MIGRATIONS),
    ]
    .into_iter()
    .chain(index.tables().iter().map(|t| (t.module, t.migrations)));
    for (module, migrations) in parts {
        for (number, text) in migrations.iter().enumerate() {
            let version = number as i64 + 1;
            let checksum = Hash32::sha256(text.as_bytes()).to_hex();
            let mut tx = index.writer().begin().await?;
            let applied: Option<(String,)> = sqlx::query_as(
                "SELECT checksum FROM index_migrations WHERE module = $1 AND version = $2",
            )
            .bind(module)
            .bind(version)
            .fetch_optional(&mut *tx)
            .await?;
            match applied {
                Some((found,)) if found == checksum => continue,
                Some(_) => {
                    return Err(IndexError::Migration {
                        module: module.into(),
                        version: version as u64,
                    });
                }
                None => {}
            }
            sqlx::raw_sql(*text).execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO index_migrations (module, version, checksum) VALUES ($1, $2, $3)",
            )
            .bind(module)
            .bind(version)
            .bind(&checksum)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            tracing::info!(module, version, "index migration applied");
        }
    }
    Ok(())
}
