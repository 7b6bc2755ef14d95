//! Projection: what a finalized block writes into the index.
//!
//! The ledger's part is fixed (the block, each transaction, the accounts it concerns, its
//! events and the accounts they name); a module adds rows of its own tables for its events
//! through [`Tables::project`], a plain function from one event to statements ([`Rows`]), so
//! that a module never holds a connection and its projection is as deterministic as its
//! handler. All of it, for one or more blocks, is one SQL transaction that ends by recording
//! the height applied.

use crate::{Index, IndexError, to_sql};
use civitas_core::block::Block;
use civitas_core::crypto::AccountId;
use civitas_core::event::Event;
use civitas_core::hash::Hash32;
use civitas_core::identity::IdentityEvent;
use civitas_core::receipt::{Receipt, TxOutcome};
use civitas_core::time::TimestampMs;
use civitas_core::tx::SignedTx;
use sqlx::{Any, Transaction};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A finalized block with its receipts, as the node hands it over.
#[derive(Clone, Debug)]
pub struct Finalized {
    /// The block.
    pub block: Arc<Block>,
    /// Its digest.
    pub digest: Hash32,
    /// One receipt per transaction, in block order.
    pub receipts: Vec<Receipt>,
    /// The block's end receipt, when its end-of-block step emitted events
    /// ([`Receipt::block_end`]).
    pub end: Option<Receipt>,
}

/// A value of a statement's parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A `BIGINT`.
    Int(i64),
    /// A `TEXT`.
    Text(String),
    /// A `NULL` in a `BIGINT` column.
    NullInt,
    /// A `NULL` in a `TEXT` column (PostgreSQL types a parameter even when it is `NULL`).
    NullText,
}

impl Value {
    /// A number or `NULL`.
    pub fn int(value: Option<u64>) -> Self {
        value.map_or(Self::NullInt, Self::from)
    }

    /// A text or `NULL`.
    pub fn text(value: Option<impl Into<Value>>) -> Self {
        value.map_or(Self::NullText, Into::into)
    }
}

impl From<u64> for Value {
    fn from(value: u64) -> Self {
        Self::Int(to_sql(value))
    }
}

impl From<u32> for Value {
    fn from(value: u32) -> Self {
        Self::Int(i64::from(value))
    }
}

impl From<u16> for Value {
    fn from(value: u16) -> Self {
        Self::Int(i64::from(value))
    }
}

impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Self::Int(i64::from(value))
    }
}

impl From<&str> for Value {
    /// Text as stored: without NUL characters, which PostgreSQL's `TEXT` refuses (a title
    /// carrying one must not stop the index).
    fn from(value: &str) -> Self {
        Self::Text(value.replace('\0', ""))
    }
}

impl From<&String> for Value {
    fn from(value: &String) -> Self {
        Self::from(value.as_str())
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        if value.contains('\0') {
            Self::from(value.as_str())
        } else {
            Self::Text(value)
        }
    }
}

impl From<&AccountId> for Value {
    fn from(value: &AccountId) -> Self {
        Self::Text(value.to_hex())
    }
}

impl From<&Hash32> for Value {
    fn from(value: &Hash32) -> Self {
        Self::Text(value.to_hex())
    }
}

/// Statements a projection asks the index to run, in order, inside the block's transaction.
///
/// The index runs a batch's inserts many rows to a statement: within a run of consecutive
/// plain inserts (`INSERT INTO t (…) VALUES (…)`, optionally `ON CONFLICT … DO NOTHING`), the
/// rows of each table go together, so a module's inserts into different tables must commute
/// (no triggers, no foreign keys, no reads in an insert). Updates, deletes and inserts that
/// update on conflict run where they stand.
#[derive(Default, Debug)]
pub struct Rows {
    statements: Vec<(&'static str, Vec<Value>)>,
}

impl Rows {
    /// Adds a statement with its parameters (`$1`, `$2`, …, in order). The text is the
    /// module's own, fixed at build time: values only ever go in as parameters.
    pub fn push(&mut self, sql: &'static str, values: impl IntoIterator<Item = Value>) {
        self.statements.push((sql, values.into_iter().collect()));
    }

    /// Files the event at `ctx` (of kind `kind`, as its JSON `type` says) under `topic`: the
    /// accounts that watch the topic have it in their inbox (`watches`, read at query time, so
    /// nothing here depends on who watches).
    pub fn topic(&mut self, ctx: &Context<'_>, topic: &str, kind: &str) {
        self.push(
            "INSERT INTO event_topics (topic, height, position, seq, kind) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            [
                Value::from(topic),
                Value::from(ctx.height),
                Value::from(ctx.position),
                Value::from(ctx.seq),
                Value::from(kind),
            ],
        );
    }

    /// The statements added so far.
    pub fn statements(&self) -> &[(&'static str, Vec<Value>)] {
        &self.statements
    }
}

/// Where an event sits, for a module's projection.
pub struct Context<'a> {
    /// The block's height.
    pub height: u64,
    /// The block's time.
    pub timestamp: TimestampMs,
    /// The transaction's position in the block.
    pub position: u32,
    /// The event's position among its transaction's events.
    pub seq: u32,
    /// The transaction (`None` for the events of a block's end receipt, which no transaction
    /// caused).
    pub tx: Option<&'a SignedTx>,
    /// Its hash (the receipt's: not computed again per event).
    pub tx_hash: &'a civitas_core::tx::TxHash,
    /// All the events of the transaction, in order (`seq` is the position of this one).
    pub events: &'a [Event],
}

/// Most words of one text [`words`] keeps.
pub const WORDS_MAX: usize = 24;

/// The words of `text` a search matches: runs of letters and digits, lowercased, of 2 to 32
/// characters, each once, the first [`WORDS_MAX`] of them.
pub fn words(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        let count = word.chars().count();
        if !(2..=32).contains(&count) {
            continue;
        }
        let word = word.to_lowercase();
        if !found.contains(&word) {
            found.push(word);
            if found.len() == WORDS_MAX {
                break;
            }
        }
    }
    found
}

/// A module's part of the read model.
#[derive(Clone, Copy)]
pub struct Tables {
    /// The module's name (its migrations are numbered under it).
    pub module: &'static str,
    /// Its tables, emptied when the index is rebuilt.
    pub tables: &'static [&'static str],
    /// The migrations that make them, in order; never edited once released.
    pub migrations: &'static [&'static str],
    /// What one event of a successful transaction writes (events of other modules included:
    /// a module matches its own and ignores the rest).
    pub project: fn(&Context<'_>, &Event, &mut Rows),
}

/// One account's part in a transaction.
#[derive(Default, Clone, Copy)]
struct Part {
    sent: bool,
    cosigned: bool,
    named: bool,
}

impl Index {
    /// Applies finalized blocks, in order, each following the last one applied (the first
    /// one at height 1 on an empty index), with the height reached, in one SQL transaction.
    pub async fn apply(&self, chain: &Hash32, blocks: &[Finalized]) -> Result<(), IndexError> {
        let Some(last) = blocks.last() else {
            return Ok(());
        };
        let mut tx = self.writer().begin().await?;
        // Take the write lock (SQLite) and the row's lock (PostgreSQL) before reading where the
        // index stands, so that a reset cannot run between the read and the commit.
        sqlx::query("UPDATE index_applied SET height = height WHERE singleton = 1")
            .execute(&mut *tx)
            .await?;
        let applied: Option<(i64, String, String)> =
            sqlx::query_as("SELECT height, chain, digest FROM index_applied WHERE singleton = 1")
                .fetch_optional(&mut *tx)
                .await?;
        let (mut applied, mut parent) = match applied {
            Some((_, found, _)) if found != chain.to_hex() => {
                return Err(IndexError::OtherChain {
                    found,
                    expected: chain.to_hex(),
                });
            }
            Some((height, _, digest)) => (crate::from_sql(height), Some(digest)),
            None => (0, None),
        };
        let started = applied;
        let mut pending = Pending {
            mark: match self.backend() {
                crate::Backend::Sqlite => '?',
                crate::Backend::Postgres => '$',
            },
            core: Rows::default(),
            ordered: Rows::default(),
        };
        if started == 0 {
            for admin in self.genesis_keys() {
                sqlx::query(
                    "INSERT INTO account_keys (signing_key, account, since) VALUES ($1, $2, 0) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(admin.key.to_hex())
                .bind(admin.account.to_hex())
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO official_agencies (account, agency) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(admin.account.to_hex())
                .bind(admin.agency.as_str())
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO official_roles (account, role, height, position, seq, stale) \
                     VALUES ($1, $2, 0, 0, 0, 0) ON CONFLICT DO NOTHING",
                )
                .bind(admin.account.to_hex())
                .bind(admin.role.as_str())
                .execute(&mut *tx)
                .await?;
            }
        }
        for finalized in blocks {
            let header = &finalized.block.header;
            if header.height != applied + 1 {
                return Err(IndexError::Gap {
                    applied,
                    got: header.height,
                });
            }
            // Each block names the one before it: a block of another chain or fork is refused.
            if let Some(parent) = &parent
                && *parent != header.parent.to_hex()
            {
                return Err(IndexError::Inconsistent {
                    height: header.height,
                    problem: format!(
                        "its parent {} is not the block the index applied last ({parent})",
                        header.parent
                    ),
                });
            }
            if finalized.digest != header.digest() {
                return Err(IndexError::Inconsistent {
                    height: header.height,
                    problem: format!(
                        "its digest is {}, not {}",
                        header.digest(),
                        finalized.digest
                    ),
                });
            }
            self.project_block(&mut tx, &mut pending, finalized).await?;
            applied = header.height;
            parent = Some(finalized.digest.to_hex());
        }
        pending.flush(&mut tx).await?;
        // Record the height reached only if the index still stands where it was read: a
        // reset in between leaves no row, and the batch is rolled back (and applied again).
        let recorded = if started == 0 {
            sqlx::query(
                "INSERT INTO index_applied (singleton, height, digest, chain) \
                 VALUES (1, $1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(to_sql(last.block.header.height))
            .bind(last.digest.to_hex())
            .bind(chain.to_hex())
            .execute(&mut *tx)
            .await?
        } else {
            sqlx::query(
                "UPDATE index_applied SET height = $1, digest = $2 \
                 WHERE singleton = 1 AND height = $3",
            )
            .bind(to_sql(last.block.header.height))
            .bind(last.digest.to_hex())
            .bind(to_sql(started))
            .execute(&mut *tx)
            .await?
        };
        if recorded.rows_affected() != 1 {
            return Err(IndexError::Gap {
                applied: started,
                got: blocks[0].block.header.height,
            });
        }
        tx.commit().await?;
        Ok(())
    }

    async fn project_block(
        &self,
        tx: &mut Transaction<'static, Any>,
        pending: &mut Pending,
        finalized: &Finalized,
    ) -> Result<(), IndexError> {
        let block = &finalized.block;
        let header = &block.header;
        let height = header.height;
        if finalized.receipts.len() != block.txs.len() {
            return Err(IndexError::Inconsistent {
                height,
                problem: format!(
                    "{} transactions but {} receipts",
                    block.txs.len(),
                    finalized.receipts.len()
                ),
            });
        }
        pending.core.push(
            "INSERT INTO blocks (height, digest, timestamp_ms, epoch, proposer, tx_count) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            [
                height.into(),
                (&finalized.digest).into(),
                header.timestamp.0.into(),
                header.epoch.into(),
                header.proposer.to_hex().into(),
                header.tx_count.into(),
            ],
        );
        for (position, (signed, receipt)) in block.txs.iter().zip(&finalized.receipts).enumerate() {
            let position = u32::try_from(position).unwrap_or(u32::MAX);
            let hash = signed.hash();
            if receipt.tx != hash {
                return Err(IndexError::Inconsistent {
                    height,
                    problem: format!("receipt {position} is not transaction {hash}'s"),
                });
            }
            self.project_tx(
                tx,
                pending,
                header.timestamp,
                height,
                position,
                signed,
                receipt,
            )
            .await?;
        }
        if let Some(end) = &finalized.end {
            self.project_end(pending, header.timestamp, height, header.tx_count, end)?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn project_tx(
        &self,
        tx: &mut Transaction<'static, Any>,
        pending: &mut Pending,
        timestamp: TimestampMs,
        height: u64,
        position: u32,
        signed: &SignedTx,
        receipt: &Receipt,
    ) -> Result<(), IndexError> {
        let body = &signed.body;
        let actions: Vec<&str> = body.instructions.iter().map(|i| i.name()).collect();
        let outcome = match &receipt.outcome {
            TxOutcome::Success => "success".to_string(),
            TxOutcome::Failed { code, .. } => code.clone(),
        };
        pending.core.push(
            "INSERT INTO transactions \
             (height, position, hash, signer, nonce, actions, outcome, timestamp_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            [
                height.into(),
                position.into(),
                (&receipt.tx).into(),
                (&body.signer).into(),
                body.nonce.into(),
                actions.join(" ").into(),
                outcome.into(),
                timestamp.0.into(),
            ],
        );
        let mut distinct = actions.clone();
        distinct.sort_unstable();
        distinct.dedup();
        for action in distinct {
            pending.core.push(
                "INSERT INTO transaction_actions (action, height, position) VALUES ($1, $2, $3)",
                [action.into(), height.into(), position.into()],
            );
        }
        // Who the transaction concerns: its signer, the accounts whose keys co-signed it (as
        // the index knows them at this height), and the accounts its instructions name.
        let mut parts: BTreeMap<AccountId, Part> = BTreeMap::new();
        parts.entry(body.signer).or_default().sent = true;
        if signed.signatures.len() > 1 {
            // Keys registered earlier in this batch must be in the table before it is read.
            pending.ordered.flush_in_order(tx, pending.mark).await?;
            for signature in &signed.signatures {
                let owner: Option<(String,)> =
                    sqlx::query_as("SELECT account FROM account_keys WHERE signing_key = $1")
                        .bind(signature.key.to_hex())
                        .fetch_optional(&mut **tx)
                        .await?;
                if let Some(Ok(account)) = owner.map(|(a,)| AccountId::from_hex(&a))
                    && account != body.signer
                {
                    parts.entry(account).or_default().cosigned = true;
                }
            }
        }
        // Named: by an instruction (a vendor a commitment is for), or by an event of the
        // transaction (the vendor a payment reached, a bidder whose tender was awarded).
        let events_name = receipt.events.iter().flat_map(|e| e.accounts());
        for account in body
            .instructions
            .iter()
            .flat_map(|i| i.accounts())
            .chain(events_name)
        {
            if account != body.signer {
                parts.entry(account).or_default().named = true;
            }
        }
        for (account, part) in &parts {
            pending.core.push(
                "INSERT INTO account_transactions \
                 (account, height, position, sent, cosigned, named) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                [
                    account.into(),
                    height.into(),
                    position.into(),
                    part.sent.into(),
                    part.cosigned.into(),
                    part.named.into(),
                ],
            );
        }
        self.project_events(pending, timestamp, height, position, Some(signed), receipt);
        Ok(())
    }

    /// The end receipt of the block at `height` with `tx_count` transactions: a row in
    /// `transactions` (no signer: the zero account; the action `block.end`, listed under that
    /// action and under the accounts its events name) so that its events list, notify and
    /// stream as a transaction's do, and its events.
    fn project_end(
        &self,
        pending: &mut Pending,
        timestamp: TimestampMs,
        height: u64,
        tx_count: u32,
        end: &Receipt,
    ) -> Result<(), IndexError> {
        if !end.is_block_end() || end.height != height || end.index != tx_count {
            return Err(IndexError::Inconsistent {
                height,
                problem: format!("receipt {} is not the block's end receipt", end.tx),
            });
        }
        pending.core.push(
            "INSERT INTO transactions \
             (height, position, hash, signer, nonce, actions, outcome, timestamp_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            [
                height.into(),
                tx_count.into(),
                (&end.tx).into(),
                (&end.signer).into(),
                0u64.into(),
                BLOCK_END_ACTION.into(),
                "success".into(),
                timestamp.0.into(),
            ],
        );
        pending.core.push(
            "INSERT INTO transaction_actions (action, height, position) VALUES ($1, $2, $3)",
            [BLOCK_END_ACTION.into(), height.into(), tx_count.into()],
        );
        let mut named: Vec<AccountId> = end.events.iter().flat_map(|e| e.accounts()).collect();
        named.sort();
        named.dedup();
        for account in &named {
            pending.core.push(
                "INSERT INTO account_transactions \
                 (account, height, position, sent, cosigned, named) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                [
                    account.into(),
                    height.into(),
                    tx_count.into(),
                    false.into(),
                    false.into(),
                    true.into(),
                ],
            );
        }
        self.project_events(pending, timestamp, height, tx_count, None, end);
        Ok(())
    }

    /// The rows of a receipt's events: `events`, `account_events`, and each module's tables.
    fn project_events(
        &self,
        pending: &mut Pending,
        timestamp: TimestampMs,
        height: u64,
        position: u32,
        signed: Option<&SignedTx>,
        receipt: &Receipt,
    ) {
        let context = |seq| Context {
            height,
            timestamp,
            position,
            seq,
            tx: signed,
            tx_hash: &receipt.tx,
            events: &receipt.events,
        };
        for (seq, event) in receipt.events.iter().enumerate() {
            let seq = u32::try_from(seq).unwrap_or(u32::MAX);
            let body = serde_json::to_value(event).unwrap_or_default();
            let kind = body["type"].as_str().unwrap_or_default().to_string();
            pending.core.push(
                "INSERT INTO events (height, position, seq, module, kind, body) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                [
                    height.into(),
                    position.into(),
                    seq.into(),
                    event.module().into(),
                    kind.as_str().into(),
                    body.to_string().into(),
                ],
            );
            let mut named = event.accounts();
            named.sort();
            named.dedup();
            for account in &named {
                pending.core.push(
                    "INSERT INTO account_events (account, height, position, seq, kind) \
                     VALUES ($1, $2, $3, $4, $5)",
                    [
                        account.into(),
                        height.into(),
                        position.into(),
                        seq.into(),
                        kind.as_str().into(),
                    ],
                );
            }
            keys_of(event, height, &mut pending.ordered);
            roles_of(event, &context(seq), &mut pending.ordered);
            for tables in self.tables() {
                (tables.project)(&context(seq), event, &mut pending.ordered);
            }
        }
    }
}

/// The action the read model lists for a block's end receipt (see
/// [`Receipt::block_end`](civitas_core::receipt::Receipt::block_end)).
pub const BLOCK_END_ACTION: &str = "block.end";

/// The signing keys an identity event gives an account, kept so that later transactions signed
/// with them are listed as co-signed by it. An account's id is its first key's bytes; a key
/// change replaces the keys it held.
fn keys_of(event: &Event, height: u64, rows: &mut Rows) {
    let Event::Identity(event) = event else {
        return;
    };
    let (account, keys, replaces) = match event {
        IdentityEvent::AccountRegistered { account, .. } => {
            (account, vec![hex::encode(account.0)], false)
        }
        IdentityEvent::KeyRotated { account, new_key } => (account, vec![new_key.to_hex()], true),
        IdentityEvent::KeysChanged { account, keys, .. } => {
            (account, keys.iter().map(|k| k.to_hex()).collect(), true)
        }
        IdentityEvent::KeyRecovered {
            account, new_key, ..
        } => (account, vec![new_key.to_hex()], true),
        IdentityEvent::RolesChanged { .. }
        | IdentityEvent::AccountDeactivated { .. }
        | IdentityEvent::EncryptionKeySet { .. }
        | IdentityEvent::RecoveryStarted { .. }
        | IdentityEvent::RecoveryCancelled { .. } => return,
    };
    if replaces {
        rows.push(
            "DELETE FROM account_keys WHERE account = $1",
            [account.into()],
        );
    }
    for key in keys {
        rows.push(
            "INSERT INTO account_keys (signing_key, account, since) VALUES ($1, $2, $3) \
             ON CONFLICT (signing_key) DO UPDATE SET account = excluded.account, \
             since = excluded.since",
            [key.into(), account.into(), height.into()],
        );
    }
}

/// The topic whose events the officials of `agency` holding `role` have in their inbox.
pub fn role_topic(agency: &str, role: &str) -> String {
    format!("role/{agency}/{role}")
}

/// The roles an identity event gives an official (`official_agencies`, `official_roles`): a
/// role kept across a change keeps the place it was gained, so its events stay in the inbox;
/// a role dropped takes its events out of the inbox (they were the role's, not the person's).
fn roles_of(event: &Event, ctx: &Context<'_>, rows: &mut Rows) {
    let Event::Identity(event) = event else {
        return;
    };
    const GAIN: &str = "INSERT INTO official_roles (account, role, height, position, seq, stale) \
                        VALUES ($1, $2, $3, $4, $5, 0) \
                        ON CONFLICT (account, role) DO UPDATE SET stale = 0";
    let gain = |rows: &mut Rows, account: &AccountId, roles: &[String]| {
        for role in roles {
            rows.push(
                GAIN,
                [
                    account.into(),
                    role.into(),
                    ctx.height.into(),
                    ctx.position.into(),
                    ctx.seq.into(),
                ],
            );
        }
    };
    match event {
        IdentityEvent::AccountRegistered {
            account,
            agency,
            roles,
            ..
        } if !agency.is_empty() => {
            rows.push(
                "INSERT INTO official_agencies (account, agency) VALUES ($1, $2) \
                 ON CONFLICT (account) DO UPDATE SET agency = excluded.agency",
                [account.into(), agency.into()],
            );
            gain(rows, account, roles);
        }
        IdentityEvent::RolesChanged { account, roles, .. } => {
            rows.push(
                "UPDATE official_roles SET stale = 1 WHERE account = $1",
                [account.into()],
            );
            gain(rows, account, roles);
            rows.push(
                "DELETE FROM official_roles WHERE account = $1 AND stale = 1",
                [account.into()],
            );
        }
        // A deactivated account is no one's official: whatever roles a later change lists
        // (the ledger keeps them), nothing reaches it.
        IdentityEvent::AccountDeactivated { account, .. } => {
            rows.push(
                "DELETE FROM official_agencies WHERE account = $1",
                [account.into()],
            );
            rows.push(
                "DELETE FROM official_roles WHERE account = $1",
                [account.into()],
            );
        }
        _ => {}
    }
}

/// What a batch of blocks writes, held until the batch ends so that rows go in many to a
/// statement.
struct Pending {
    /// How statements of many rows number their parameters (`?` on SQLite, `$` on PostgreSQL).
    mark: char,
    /// The ledger's rows: inserts into tables only inserted into, in any order.
    core: Rows,
    /// The modules' statements and the key table's, whose order matters.
    ordered: Rows,
}

impl Pending {
    async fn flush(&mut self, tx: &mut Transaction<'static, Any>) -> Result<(), IndexError> {
        self.ordered.flush_in_order(tx, self.mark).await?;
        // The ledger's tables are only ever inserted into, each by one statement: all the rows
        // of a statement go together, whatever came between them.
        let mut groups: Vec<(&'static str, Vec<Vec<Value>>)> = Vec::new();
        for (sql, values) in std::mem::take(&mut self.core.statements) {
            match groups.iter_mut().find(|(s, _)| *s == sql) {
                Some((_, rows)) => rows.push(values),
                None => groups.push((sql, vec![values])),
            }
        }
        for (sql, rows) in groups {
            execute_rows(tx, self.mark, sql, rows).await?;
        }
        Ok(())
    }
}

impl Rows {
    /// Runs the statements in order, with the rows of inserts together: a run of consecutive
    /// inserts (into tables a module only adds to, each by one statement in the run) goes as
    /// one statement of many rows per table, since inserts into different tables commute and
    /// rows of one table keep their order. Anything else (an update, a second kind of insert
    /// into a table) runs where it stands.
    async fn flush_in_order(
        &mut self,
        tx: &mut Transaction<'static, Any>,
        mark: char,
    ) -> Result<(), IndexError> {
        let statements = std::mem::take(&mut self.statements);
        let mut i = 0;
        while i < statements.len() {
            let end = statements[i..]
                .iter()
                .position(|(sql, _)| multi_row(sql).is_none())
                .map_or(statements.len(), |n| i + n);
            if end == i {
                let (sql, values) = &statements[i];
                execute_rows(tx, mark, sql, vec![values.clone()]).await?;
                i += 1;
                continue;
            }
            let run = &statements[i..end];
            let mut groups: Vec<(&'static str, Vec<Vec<Value>>)> = Vec::new();
            for (sql, values) in run {
                match groups.iter_mut().find(|(s, _)| s == sql) {
                    Some((_, rows)) => rows.push(values.clone()),
                    None => groups.push((sql, vec![values.clone()])),
                }
            }
            let tables: Vec<&str> = groups.iter().map(|(sql, _)| table_of(sql)).collect();
            let distinct = tables
                .iter()
                .enumerate()
                .all(|(n, t)| !tables[..n].contains(t));
            if distinct {
                for (sql, rows) in groups {
                    execute_rows(tx, mark, sql, rows).await?;
                }
            } else {
                // Two kinds of insert into one table: keep their order, grouping only
                // neighbours.
                let mut j = 0;
                while j < run.len() {
                    let sql = run[j].0;
                    let k = run[j..]
                        .iter()
                        .position(|(s, _)| *s != sql)
                        .map_or(run.len(), |n| j + n);
                    let rows = run[j..k].iter().map(|(_, v)| v.clone()).collect();
                    execute_rows(tx, mark, sql, rows).await?;
                    j = k;
                }
            }
            i = end;
        }
        Ok(())
    }
}

/// The table an insert writes.
fn table_of(sql: &str) -> &str {
    sql.trim_start_matches("INSERT INTO ")
        .split([' ', '('])
        .next()
        .unwrap_or_default()
}

/// Most rows in one statement: 25 and 100 loaded a SQLite index equally fast, 400 a sixth
/// slower (`cargo bench -p civitas-modules --bench index`, 30,000 transactions).
const ROWS_PER_STATEMENT: usize = 100;

/// Most parameters in one statement (SQLite allows 32,766, PostgreSQL 65,535).
const PARAMETERS_MAX: usize = 30_000;

/// An insert's text around its row: `INSERT INTO t (…) VALUES `, `(…)` and what follows;
/// `None` for a statement that must run alone. Only the plainest inserts take several rows:
/// one row of parameters and literals (no subquery, whose read could move past other
/// inserts), followed by nothing or by `ON CONFLICT [(…)] DO NOTHING` (PostgreSQL refuses to
/// update one row twice in a statement, so an insert that updates on conflict runs alone).
fn multi_row(sql: &str) -> Option<(&str, &str, &str)> {
    let rest = sql.strip_prefix("INSERT INTO ")?;
    let name_end = rest.find(' ')?;
    let table = &rest[..name_end];
    if table.is_empty() || !table.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        return None;
    }
    let open = sql.find(" VALUES (")? + " VALUES ".len();
    if sql[open..].contains(" VALUES (") {
        return None;
    }
    let mut depth = 0;
    let mut quoted = false;
    let mut close = None;
    for (i, c) in sql[open..].char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => {
                depth -= 1;
                if depth == 0 {
                    close = Some(open + i + 1);
                    break;
                }
            }
            _ => {}
        }
    }
    let close = close?;
    let (tuple, tail) = (&sql[open..close], &sql[close..]);
    // A `$` inside a literal would be taken for a parameter when rows are renumbered.
    let mut literal = false;
    for c in tuple.chars() {
        match c {
            '\'' => literal = !literal,
            '$' if literal => return None,
            _ => {}
        }
    }
    if tuple.to_ascii_uppercase().contains("SELECT") {
        return None;
    }
    let tail_ok = tail.is_empty() || {
        let words: Vec<&str> = tail.split_whitespace().collect();
        match words.as_slice() {
            ["ON", "CONFLICT", "DO", "NOTHING"] => true,
            ["ON", "CONFLICT", .., "DO", "NOTHING"] => {
                let target = words[2..words.len() - 2].join(" ");
                target.starts_with('(')
                    && target.ends_with(')')
                    && !target.contains('$')
                    && !target.to_ascii_uppercase().contains("SELECT")
            }
            _ => false,
        }
    };
    tail_ok.then_some((&sql[..open], tuple, tail))
}

/// The highest `$n` of `sql`.
fn highest_parameter(sql: &str) -> usize {
    parameters(sql).into_iter().max().unwrap_or(0)
}

/// The `$n` of `tuple`, in the order they are written.
fn parameters(tuple: &str) -> Vec<usize> {
    tuple
        .split('$')
        .skip(1)
        .filter_map(|part| {
            let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<usize>().ok()
        })
        .collect()
}

/// `tuple` with each `$n` raised by `offset` and written `{mark}n`, or written `?` alone when
/// `anonymous`. SQLite is given `?n`: it looks each `$name` up among the names before it while
/// parsing, which costs the square of their number in a statement of thousands of rows, while
/// `?n` is a position. Better still is `?` alone where the parameters come in order
/// (`$1, $2, …`, each once): binding a numbered parameter makes sqlx ask SQLite its name, which
/// SQLite finds by walking the statement's list of names, again the square of their number.
fn renumber(tuple: &str, offset: usize, mark: char, anonymous: bool) -> String {
    let mut out = String::with_capacity(tuple.len() + 8);
    let mut chars = tuple.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
        } else {
            out.push(mark);
            let mut digits = String::new();
            while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                digits.push(d);
                chars.next();
            }
            match digits.parse::<usize>() {
                Ok(_) if anonymous => {}
                Ok(n) => out.push_str(&(n + offset).to_string()),
                Err(_) => out.push_str(&digits),
            }
        }
    }
    out
}

/// Runs `sql` once per row of `rows`: as inserts of many rows each where it can.
async fn execute_rows(
    tx: &mut Transaction<'static, Any>,
    mark: char,
    sql: &'static str,
    rows: Vec<Vec<Value>>,
) -> Result<(), IndexError> {
    let width = rows.first().map_or(0, Vec::len).max(1);
    // Every row must fill the statement's parameters exactly, or a row's missing values would
    // be bound as another row's.
    let uniform = rows.iter().all(|r| r.len() == width) && highest_parameter(sql) == width;
    let (Some((head, tuple, tail)), true) = (multi_row(sql), rows.len() > 1 && uniform) else {
        for values in rows {
            bind(sqlx::query(sql), &values).execute(&mut **tx).await?;
        }
        return Ok(());
    };
    // Parameters in order, each once, can be positional alone (SQLite's `?`).
    let anonymous = mark == '?' && parameters(tuple) == (1..=width).collect::<Vec<_>>();
    for chunk in rows.chunks((PARAMETERS_MAX / width).clamp(1, ROWS_PER_STATEMENT)) {
        let mut text = String::from(head);
        for (i, _) in chunk.iter().enumerate() {
            if i > 0 {
                text.push_str(", ");
            }
            text.push_str(&renumber(tuple, i * width, mark, anonymous));
        }
        text.push_str(tail);
        let values: Vec<Value> = chunk.iter().flatten().cloned().collect();
        // The text is this build's statement repeated; values go in as parameters.
        bind(sqlx::query(sqlx::AssertSqlSafe(text)), &values)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// `query` with `values` bound in order.
pub(crate) fn bind<'q>(
    mut query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>,
    values: &'q [Value],
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments> {
    for value in values {
        query = match value {
            Value::Int(v) => query.bind(*v),
            Value::Text(v) => query.bind(v.as_str()),
            Value::NullInt => query.bind(None::<i64>),
            Value::NullText => query.bind(None::<String>),
        };
    }
    query
}

#[cfg(test)]
mod statements {
    use super::*;

    /// The ledger's own inserts all take many rows.
    #[test]
    fn the_ledger_s_inserts_take_many_rows() {
        for sql in [
            "INSERT INTO transaction_actions (action, height, position) VALUES ($1, $2, $3)",
            "INSERT INTO account_events (account, height, position, seq, kind) \
             VALUES ($1, $2, $3, $4, $5)",
        ] {
            assert!(multi_row(sql).is_some(), "{sql}");
        }
    }

    #[test]
    fn inserts_take_many_rows_and_renumber_their_parameters() {
        let sql = "INSERT INTO t (a, b, c, d) VALUES ($1, 'x(', $2, $2) ON CONFLICT DO NOTHING";
        let (head, tuple, tail) = multi_row(sql).unwrap();
        assert_eq!(head, "INSERT INTO t (a, b, c, d) VALUES ");
        assert_eq!(tuple, "($1, 'x(', $2, $2)");
        assert_eq!(tail, " ON CONFLICT DO NOTHING");
        assert_eq!(renumber(tuple, 2, '$', false), "($3, 'x(', $4, $4)");
        assert_eq!(renumber("($9, $10)", 10, '?', false), "(?19, ?20)");
        assert_eq!(renumber("($1, 'x', $2)", 10, '?', true), "(?, 'x', ?)");
        assert_eq!(parameters("($1, $2, $3)"), [1, 2, 3]);
        assert_eq!(parameters("($2, $1)"), [2, 1]);
        assert_eq!(parameters("($1, $1)"), [1, 1]);
        assert!(multi_row("UPDATE t SET a = $1").is_none());
        for alone in [
            "INSERT INTO t (a) VALUES ($1) ON CONFLICT (a) DO UPDATE SET a = excluded.a",
            "INSERT INTO t (a) VALUES ($1) on conflict (a) do update set a = 1",
            "INSERT INTO t (a) VALUES ((SELECT MAX(a) FROM u))",
            "INSERT INTO t (a) VALUES ($1) ON CONFLICT (a) DO NOTHING RETURNING $2",
            "INSERT INTO t (a, b) VALUES ($1, '$2')",
            "INSERT INTO t (a) VALUES ($1); INSERT INTO t (a) VALUES ($2)",
        ] {
            assert!(multi_row(alone).is_none(), "{alone}");
        }
        assert_eq!(
            highest_parameter("INSERT INTO t (a, b) VALUES ($1, $12, $3)"),
            12
        );
        assert_eq!(
            table_of("INSERT INTO notary_documents (a) VALUES ($1)"),
            "notary_documents"
        );
        assert!(
            multi_row("INSERT INTO t (a) VALUES ($1) ON CONFLICT (a) DO UPDATE SET a = 1")
                .is_none()
        );
    }
}
