//! The ledger's tables and the migrations that make every table.
//!
//! Migrations are numbered per module (`ledger` for the tables here); each runs once, in its
//! own SQL transaction with its record in `index_migrations`, and its text's hash is kept so
//! that a build whose migration differs from the one a database applied stops instead of
//! reading tables of another shape. A migration is never edited once released: a change is a
//! new one after it. The SQL is the part SQLite and PostgreSQL share, with one exception:
//! `) WITHOUT ROWID` closing a table keeps a SQLite table in its primary key's order (without
//! it SQLite stores each row twice, in the table and in the key's index), and is left out on
//! PostgreSQL, whose tables are heaps either way. The checksum is of the text as written.

use crate::{Index, IndexError};
use civitas_core::hash::Hash32;

/// The ledger's own tables, emptied by [`Index::reset`](crate::Index::reset).
pub const LEDGER_TABLES: &[&str] = &[
    "index_applied",
    "blocks",
    "transactions",
    "transaction_actions",
    "account_transactions",
    "account_keys",
    "events",
    "account_events",
    "event_topics",
    "official_agencies",
    "official_roles",
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
    // 2: writing less per transaction. The tables that are little more than their key are kept
    // in its order (SQLite otherwise stores each row twice: in the table and in the key's index),
    // and transaction_keys, which no list read, is gone.
    "DROP TABLE transaction_keys;
    CREATE TABLE transaction_actions_2 (
        action TEXT NOT NULL,
        height BIGINT NOT NULL,
        position BIGINT NOT NULL,
        PRIMARY KEY (action, height, position)
    ) WITHOUT ROWID;
    INSERT INTO transaction_actions_2 (action, height, position)
        SELECT action, height, position FROM transaction_actions
        ORDER BY action, height, position;
    DROP TABLE transaction_actions;
    ALTER TABLE transaction_actions_2 RENAME TO transaction_actions;
    CREATE TABLE account_transactions_2 (
        account TEXT NOT NULL,
        height BIGINT NOT NULL,
        position BIGINT NOT NULL,
        sent BIGINT NOT NULL,
        cosigned BIGINT NOT NULL,
        named BIGINT NOT NULL,
        PRIMARY KEY (account, height, position)
    ) WITHOUT ROWID;
    INSERT INTO account_transactions_2 (account, height, position, sent, cosigned, named)
        SELECT account, height, position, sent, cosigned, named FROM account_transactions
        ORDER BY account, height, position;
    DROP TABLE account_transactions;
    ALTER TABLE account_transactions_2 RENAME TO account_transactions;
    CREATE TABLE account_events_2 (
        account TEXT NOT NULL,
        height BIGINT NOT NULL,
        position BIGINT NOT NULL,
        seq BIGINT NOT NULL,
        kind TEXT NOT NULL,
        PRIMARY KEY (account, height, position, seq)
    ) WITHOUT ROWID;
    INSERT INTO account_events_2 (account, height, position, seq, kind)
        SELECT account, height, position, seq, kind FROM account_events
        ORDER BY account, height, position, seq;
    DROP TABLE account_events;
    ALTER TABLE account_events_2 RENAME TO account_events;
    CREATE INDEX account_events_by_kind ON account_events (account, kind, height, position, seq);",
    // 3: topics a module files its events under (a record's id, say), which people watch to
    // have those events in their inbox (`watches`, a notification table).
    "CREATE TABLE event_topics (
        topic TEXT NOT NULL,
        height BIGINT NOT NULL,
        position BIGINT NOT NULL,
        seq BIGINT NOT NULL,
        kind TEXT NOT NULL,
        PRIMARY KEY (topic, height, position, seq)
    );
    CREATE INDEX event_topics_by_height ON event_topics (height);",
    // 4: officials' agencies and roles, from the identity module's events: an official has in
    // the inbox the events filed under `role/<agency>/<role>` for each role it holds, from the
    // place it gained the role (`stale` marks, while a change of roles is applied, the roles
    // the new list may drop). An index of earlier blocks is built again from block 1 to fill
    // them (`index_rebuilds`).
    "INSERT INTO index_rebuilds (reason) VALUES ('ledger migration 4: the roles of officials');
    CREATE TABLE official_agencies (
        account TEXT PRIMARY KEY,
        agency TEXT NOT NULL
    );
    CREATE TABLE official_roles (
        account TEXT NOT NULL,
        role TEXT NOT NULL,
        height BIGINT NOT NULL,
        position BIGINT NOT NULL,
        seq BIGINT NOT NULL,
        stale BIGINT NOT NULL,
        PRIMARY KEY (account, role)
    ) WITHOUT ROWID;",
];

/// Brings `index` up to date: the ledger's first `ledger` migrations (all but in tests), then
/// each module's, each once.
pub(crate) async fn migrate(index: &Index, ledger: usize) -> Result<(), IndexError> {
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS index_migrations (
            module TEXT NOT NULL,
            version BIGINT NOT NULL,
            checksum TEXT NOT NULL,
            PRIMARY KEY (module, version)
        );
        CREATE TABLE IF NOT EXISTS index_rebuilds (reason TEXT NOT NULL)",
    )
    .execute(index.writer())
    .await?;
    let parts = [
        (
            "ledger",
            &LEDGER_MIGRATIONS[..ledger.min(LEDGER_MIGRATIONS.len())],
        ),
        ("notifications", crate::notify::MIGRATIONS),
    ]
    .into_iter()
    .chain(index.tables().iter().map(|t| (t.module, t.migrations)));
    for (module, migrations) in parts {
        let (newest,): (Option<i64>,) =
            sqlx::query_as("SELECT MAX(version) FROM index_migrations WHERE module = $1")
                .bind(module)
                .fetch_one(index.writer())
                .await?;
        if let Some(newest) = newest.filter(|&v| v > migrations.len() as i64) {
            return Err(IndexError::Newer {
                module: module.into(),
                version: newest as u64,
            });
        }
        for (number, text) in migrations.iter().enumerate() {
            let version = number as i64 + 1;
            let sql =
                for_backend(text, index.backend()).map_err(|reason| IndexError::Unportable {
                    module: module.into(),
                    version: version as u64,
                    reason,
                })?;
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
            // Said before it runs: one that reshapes tables copies them, which takes a while on
            // a large index (the lists answer 503 until it is done).
            tracing::info!(module, version, "applying an index migration");
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut *tx)
                .await?;
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
    // A migration whose new tables only the chain can fill asks for the index to be built
    // again from block 1 (the follower does it as it does after `civitas index rebuild`).
    let wanted: Vec<(String,)> = sqlx::query_as("SELECT reason FROM index_rebuilds")
        .fetch_all(index.writer())
        .await?;
    if !wanted.is_empty() {
        if index.applied().await?.is_some() {
            let reasons: Vec<&str> = wanted.iter().map(|(r,)| r.as_str()).collect();
            tracing::warn!(
                ?reasons,
                "building the read model again from block 1 (the lists are incomplete meanwhile)"
            );
            index.reset().await?;
        }
        sqlx::query("DELETE FROM index_rebuilds")
            .execute(index.writer())
            .await?;
    }
    Ok(())
}

/// `text` as `backend` runs it: `) WITHOUT ROWID` closing a table is SQLite's alone, and is
/// left out on PostgreSQL. Written any other way it would run on one backend and not the
/// other, so it is refused on both.
fn for_backend(text: &str, backend: crate::Backend) -> Result<String, &'static str> {
    const CLAUSE: &str = ") WITHOUT ROWID";
    if text.to_ascii_lowercase().matches("rowid").count() != text.matches(CLAUSE).count() {
        return Err("write WITHOUT ROWID exactly as `) WITHOUT ROWID`, closing a table");
    }
    Ok(match backend {
        crate::Backend::Sqlite => text.to_string(),
        crate::Backend::Postgres => text.replace(CLAUSE, ")"),
    })
}

#[cfg(test)]
mod dialect {
    use super::*;
    use crate::Backend;

    #[test]
    fn without_rowid_is_sqlite_s_alone_and_written_one_way() {
        let table = "CREATE TABLE t (a BIGINT PRIMARY KEY) WITHOUT ROWID;";
        assert_eq!(for_backend(table, Backend::Sqlite).unwrap(), table);
        assert_eq!(
            for_backend(table, Backend::Postgres).unwrap(),
            "CREATE TABLE t (a BIGINT PRIMARY KEY);"
        );
        for odd in [
            "CREATE TABLE t (a BIGINT PRIMARY KEY)\nWITHOUT ROWID;",
            "CREATE TABLE t (a BIGINT PRIMARY KEY) without rowid;",
            "CREATE TABLE t (a BIGINT PRIMARY KEY)  WITHOUT ROWID;",
            "CREATE TABLE t (a BIGINT PRIMARY KEY) WITHOUT\tROWID;",
        ] {
            assert!(for_backend(odd, Backend::Sqlite).is_err(), "{odd}");
            assert!(for_backend(odd, Backend::Postgres).is_err(), "{odd}");
        }
        for text in LEDGER_MIGRATIONS.iter().chain(crate::notify::MIGRATIONS) {
            assert!(for_backend(text, Backend::Postgres).is_ok());
        }
    }
}
