//! Where a vault keeps records: two SQLite files in its folder.
//!
//! - `records.db`: each version of each record, sealed ([`crate::envelope`]), with whom it is
//!   about, its schema and its state; an erased version keeps only a tombstone.
//! - `keys.db`: the wraps of each version's data key, one per reader (the holding agency, the
//!   citizen, each agency it was shared with).
//!
//! Erasure deletes every wrap and the ciphertext in one transaction over both files. Both run
//! with `secure_delete` (freed bytes are overwritten with zeros) and a rollback journal that
//! is deleted at commit (no write-ahead log keeps old pages), so nothing in the folder opens an
//! erased record afterwards; `tests/erasure.rs` scans every byte to show it. Backups: the
//! record file may be kept as long as wanted, since it holds only ciphertext; the key file's
//! backups must not outlive the time erasure is promised in (`docs/PERSONAL-DATA.md`).

use crate::envelope::{
    self, DataKey, EnvelopeError, Label, RecordId, Sealed, open_record, seal_fresh, unwrap, wrap,
};
use civitas_core::crypto::AccountId;
use civitas_core::hash::Hash32;
use civitas_core::seal::{DecryptionKey, EncryptionKey};
use serde::Serialize;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqliteConnection, SqlitePool};
use std::path::Path;
use zeroize::Zeroizing;

/// The columns [`decode_row`] reads, to which a query adds its condition.
macro_rules! select_rows {
    ($tail:literal) => {
        concat!(
            "SELECT id, version, schema, subject, origin, commitment, status, created_ms, \
             erased_ms FROM records ",
            $tail
        )
    };
}

/// Who a wrap is for: the holding agency's vault.
pub const HOLDER: &str = "holder";
/// Who a wrap is for: the citizen the record is about.
pub const SUBJECT: &str = "subject";

/// Why a vault operation failed.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The database failed.
    #[error("vault storage: {0}")]
    Storage(#[from] sqlx::Error),
    /// Sealing or opening failed.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// No such record (or version).
    #[error("record {0} is not in this vault")]
    NotFound(String),
    /// The record is in a state that does not allow it.
    #[error("record {id} version {version} is {status}: {what}")]
    State {
        /// The record.
        id: RecordId,
        /// The version.
        version: u32,
        /// Its state.
        status: Status,
        /// What cannot be done.
        what: &'static str,
    },
    /// A stored row does not decode (the file was altered).
    #[error("vault storage holds a malformed row: {0}")]
    Corrupt(String),
}

/// The state of one version of a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Sealed here, waiting for its commitment to be final on the ledger.
    Pending,
    /// In force: what officials read, with a basis.
    Active,
    /// Replaced by a later version (rectified): kept sealed, for the citizen only.
    Superseded,
    /// Erased: only a tombstone is left.
    Erased,
}

impl Status {
    /// The name the store and the answers use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Superseded => "superseded",
            Self::Erased => "erased",
        }
    }

    fn parse(text: &str) -> Result<Self, VaultError> {
        Ok(match text {
            "pending" => Self::Pending,
            "active" => Self::Active,
            "superseded" => Self::Superseded,
            "erased" => Self::Erased,
            other => return Err(VaultError::Corrupt(format!("status {other:?}"))),
        })
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One version of a record, as listed (no personal data but whom it is about).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordRow {
    /// The record.
    pub id: RecordId,
    /// The version.
    pub version: u32,
    /// Its schema.
    pub schema: String,
    /// The citizen it is about; `None` once erased.
    pub subject: Option<AccountId>,
    /// The agency that holds the original, for a copy received in a share; `None` for a record
    /// this vault's agency holds.
    pub origin: Option<String>,
    /// Its commitment.
    pub commitment: Hash32,
    /// Its state.
    pub status: Status,
    /// When it was sealed here (the vault's clock, milliseconds).
    pub created_ms: u64,
    /// When it was erased, if it was.
    pub erased_ms: Option<u64>,
}

/// What a vault sends another agency's vault in a share: one version, sealed, with its data
/// key wrapped for the receiving agency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SharedCopy {
    /// The record.
    pub id: RecordId,
    /// The version.
    pub version: u32,
    /// Its schema.
    pub schema: String,
    /// The citizen it is about.
    pub subject: AccountId,
    /// The AES-GCM nonce, hex.
    pub nonce: String,
    /// The ciphertext, hex.
    pub ciphertext: String,
    /// Its commitment (the receiver checks it against the ledger's).
    pub commitment: Hash32,
    /// The data key wrapped for the receiving agency, hex.
    pub wrapped: String,
}

/// What a citizen downloads: one version, sealed, with its data key wrapped for the citizen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SubjectCopy {
    /// The record and its state.
    #[serde(flatten)]
    pub row: RecordRowJson,
    /// The AES-GCM nonce, hex.
    pub nonce: String,
    /// The ciphertext, hex.
    pub ciphertext: String,
    /// The data key wrapped for the citizen's encryption key, hex; absent when the citizen had
    /// no encryption key when it was sealed.
    pub wrapped: Option<String>,
    /// The citizen's request that the holding agency erase the record, until it is erased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erasure_request: Option<ErasureRequest>,
}

/// A person's request to erase a record, as the holding vault keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ErasureRequest {
    /// When it was asked (the vault's clock, milliseconds).
    pub requested_ms: u64,
    /// When a records officer declined it, if they did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declined_ms: Option<u64>,
    /// Why: one of [`ERASURE_REFUSALS`]' codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The reason in words, with the law it stands on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_text: Option<String>,
}

/// The grounds on which an agency may decline to erase (GDPR art. 17(3)), by code: a refusal
/// names one, never free text about the person.
pub const ERASURE_REFUSALS: &[(&str, &str)] = &[
    (
        "legal-obligation",
        "a law requires the agency to keep it (GDPR art. 17(3)(b))",
    ),
    (
        "public-task",
        "the agency needs it for a task carried out in the public interest or in the exercise \
         of official authority (GDPR art. 17(3)(b))",
    ),
    (
        "public-health",
        "reasons of public interest in public health (GDPR art. 17(3)(c))",
    ),
    (
        "archiving",
        "archiving in the public interest, scientific or historical research, or statistics \
         (GDPR art. 17(3)(d))",
    ),
    (
        "legal-claims",
        "the establishment, exercise or defence of legal claims (GDPR art. 17(3)(e))",
    ),
];

/// The refusal codes, for a message: `legal-obligation, public-task, ...`.
pub fn refusal_codes() -> String {
    ERASURE_REFUSALS
        .iter()
        .map(|(code, _)| *code)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The words of refusal code `code`, if it is one.
pub fn refusal_text(code: &str) -> Option<&'static str> {
    ERASURE_REFUSALS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, text)| *text)
}

/// [`RecordRow`] as JSON (for [`SubjectCopy`], which is read back by the citizen's tools).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RecordRowJson {
    /// The record.
    pub id: RecordId,
    /// The version.
    pub version: u32,
    /// Its schema.
    pub schema: String,
    /// The agency holding the original, for a received copy.
    pub origin: Option<String>,
    /// Its commitment.
    pub commitment: Hash32,
    /// `pending`, `active`, `superseded` or `erased`.
    pub status: String,
}

/// A vault's storage.
#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

const RECORDS_TABLE: &str = "CREATE TABLE IF NOT EXISTS records (
    id BLOB NOT NULL,
    version INTEGER NOT NULL,
    schema TEXT NOT NULL,
    subject BLOB,
    origin TEXT,
    commitment BLOB NOT NULL,
    nonce BLOB,
    ciphertext BLOB,
    status TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    erased_ms INTEGER,
    PRIMARY KEY (id, version)
) WITHOUT ROWID";
const RECORDS_BY_SUBJECT: &str =
    "CREATE INDEX IF NOT EXISTS records_by_subject ON records (subject, id, version)";
/// Ledger transactions the vault acted on once (an official's access entry, which opens one
/// read): a replayed request citing one is refused.
const USES_TABLE: &str = "CREATE TABLE IF NOT EXISTS ledger_uses (
    tx BLOB PRIMARY KEY,
    used_ms INTEGER NOT NULL
) WITHOUT ROWID";
/// Where the vault's reading of the ledger's events stands.
const FOLLOWER_TABLE: &str = "CREATE TABLE IF NOT EXISTS follower (
    name TEXT PRIMARY KEY,
    cursor TEXT NOT NULL
) WITHOUT ROWID";
/// Erasure requests the people records are about made, until the record is erased (which
/// deletes the request with the record's link to its subject); a declined one keeps when and
/// why, until the person asks again.
const ERASURE_REQUESTS_TABLE: &str = "CREATE TABLE IF NOT EXISTS erasure_requests (
    id BLOB PRIMARY KEY,
    requested_ms INTEGER NOT NULL,
    declined_ms INTEGER,
    reason TEXT
) WITHOUT ROWID";
const WRAPS_TABLE: &str = "CREATE TABLE IF NOT EXISTS keys.wraps (
    id BLOB NOT NULL,
    version INTEGER NOT NULL,
    recipient TEXT NOT NULL,
    wrapped BLOB NOT NULL,
    PRIMARY KEY (id, version, recipient)
) WITHOUT ROWID";

impl Store {
    /// Opens (creating if needed) the vault in `dir`.
    pub async fn open(dir: &Path) -> Result<Self, VaultError> {
        std::fs::create_dir_all(dir).map_err(|e| VaultError::Storage(sqlx::Error::Io(e)))?;
        let keys = dir.join("keys.db");
        let options = SqliteConnectOptions::new()
            .filename(dir.join("records.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Delete)
            .synchronous(SqliteSynchronous::Full)
            .pragma("secure_delete", "ON")
            // Temporary files (VACUUM's copy) stay in memory, never in a folder.
            .pragma("temp_store", "MEMORY")
            .foreign_keys(true);
        let keys_path = keys.to_string_lossy().to_string();
        // One connection: every operation is one transaction over both files, in order, and no
        // other runs between its check and its write; a vault writes a few records a second.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .after_connect(move |conn, _| {
                let keys_path = keys_path.clone();
                Box::pin(async move {
                    sqlx::query("ATTACH DATABASE ? AS keys")
                        .bind(&keys_path)
                        .execute(&mut *conn)
                        .await?;
                    for pragma in [
                        "PRAGMA keys.journal_mode = DELETE",
                        "PRAGMA keys.secure_delete = ON",
                        "PRAGMA keys.synchronous = FULL",
                    ] {
                        sqlx::query(pragma).execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        for statement in [
            RECORDS_TABLE,
            RECORDS_BY_SUBJECT,
            WRAPS_TABLE,
            USES_TABLE,
            FOLLOWER_TABLE,
            ERASURE_REQUESTS_TABLE,
        ] {
            sqlx::query(statement).execute(&pool).await?;
        }
        Ok(Self { pool })
    }

    /// Claims ledger transaction `tx` for one use: false if it was used before.
    pub async fn claim(&self, tx: &Hash32, now_ms: u64) -> Result<bool, VaultError> {
        let done = sqlx::query(
            "INSERT INTO ledger_uses (tx, used_ms) VALUES (?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(&tx.0[..])
        .bind(i64::try_from(now_ms).unwrap_or(i64::MAX))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The versions still pending that were sealed before `before_ms` (the vault's clock):
    /// their registration never became final, and they are discarded.
    pub async fn stale_pending(&self, before_ms: u64) -> Result<Vec<(RecordId, u32)>, VaultError> {
        let rows = sqlx::query(
            "SELECT id, version FROM records WHERE status = 'pending' AND created_ms < ? LIMIT 1000",
        )
        .bind(i64::try_from(before_ms).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let id: Vec<u8> = row.try_get("id")?;
                let version: i64 = row.try_get("version")?;
                let id = id
                    .try_into()
                    .map_err(|_| VaultError::Corrupt("a record id is not 32 bytes".into()))?;
                let version = u32::try_from(version)
                    .map_err(|_| VaultError::Corrupt(format!("version {version}")))?;
                Ok((RecordId(id), version))
            })
            .collect()
    }

    /// Where the reading of the ledger's events named `name` stands, if it started.
    pub async fn cursor(&self, name: &str) -> Result<Option<String>, VaultError> {
        let row = sqlx::query("SELECT cursor FROM follower WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => Some(row.try_get("cursor")?),
            None => None,
        })
    }

    /// Records where the reading named `name` stands.
    pub async fn set_cursor(&self, name: &str, cursor: &str) -> Result<(), VaultError> {
        sqlx::query(
            "INSERT INTO follower (name, cursor) VALUES (?, ?) \
             ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor",
        )
        .bind(name)
        .bind(cursor)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Closes the files.
    pub async fn close(self) {
        self.pool.close().await;
    }

    /// Seals version 1 of a new record about `subject`, with its key wrapped for the holding
    /// agency (`holder`) and for the citizen (`subject_key`, if it registered one). It is
    /// pending until [`activate`](Self::activate). Gives its row and its subject tag (what
    /// `sharing.register` puts on the ledger).
    #[allow(clippy::too_many_arguments)] // each is a distinct part of the new record
    pub async fn create(
        &self,
        id: RecordId,
        holder: &EncryptionKey,
        subject: AccountId,
        subject_key: Option<&EncryptionKey>,
        schema: &str,
        body: &[u8],
        now_ms: u64,
    ) -> Result<(RecordRow, Hash32), VaultError> {
        let (row, sealed, wraps, subject_tag) =
            seal_version(id, 1, holder, subject, subject_key, schema, body, now_ms)?;
        let mut tx = self.pool.begin().await?;
        insert_in(&mut tx, &row, &sealed, &wraps).await?;
        tx.commit().await?;
        Ok((row, subject_tag))
    }

    /// How many of `subject`'s records of `schema` are pending (sealed, not yet registered).
    pub async fn pending_of(&self, subject: &AccountId, schema: &str) -> Result<u64, VaultError> {
        let (count,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM records WHERE subject = ? AND schema = ? AND status = 'pending'",
        )
        .bind(&subject.0[..])
        .bind(schema)
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Seals a new version of record `id` (a rectification), pending until activated; the
    /// versions before it are superseded then. The record must be this agency's, in force, and
    /// have no version pending already.
    pub async fn rectify(
        &self,
        id: RecordId,
        holder: &EncryptionKey,
        subject_key: Option<&EncryptionKey>,
        body: &[u8],
        now_ms: u64,
    ) -> Result<RecordRow, VaultError> {
        let mut tx = self.pool.begin().await?;
        let latest = latest_in(&mut tx, id).await?;
        let subject = match (latest.status, latest.origin.as_ref(), latest.subject) {
            (Status::Active, None, Some(subject)) => subject,
            _ => {
                return Err(VaultError::State {
                    id,
                    version: latest.version,
                    status: latest.status,
                    what: "only a record this agency holds, in force and with no version \
                           pending, is rectified",
                });
            }
        };
        let (row, sealed, wraps, _) = seal_version(
            id,
            latest.version + 1,
            holder,
            subject,
            subject_key,
            &latest.schema,
            body,
            now_ms,
        )?;
        insert_in(&mut tx, &row, &sealed, &wraps).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Puts a pending version in force (its commitment is final on the ledger): the versions
    /// before it are superseded. Only the newest version is activated.
    pub async fn activate(&self, id: RecordId, version: u32) -> Result<(), VaultError> {
        let mut tx = self.pool.begin().await?;
        let latest = latest_in(&mut tx, id).await?;
        if latest.version != version || latest.status != Status::Pending {
            return Err(VaultError::State {
                id,
                version: latest.version,
                status: latest.status,
                what: "only the newest version, pending, is activated",
            });
        }
        sqlx::query(
            "UPDATE records SET status = 'superseded' WHERE id = ? AND version < ? \
             AND status = 'active'",
        )
        .bind(&id.0[..])
        .bind(i64::from(version))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE records SET status = 'active' WHERE id = ? AND version = ? \
             AND status = 'pending'",
        )
        .bind(&id.0[..])
        .bind(i64::from(version))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets a pending version whose commitment never reached the ledger: its row and wraps
    /// go, as an erasure would take them.
    pub async fn discard(&self, id: RecordId, version: u32) -> Result<(), VaultError> {
        let mut tx = self.pool.begin().await?;
        let row = version_in(&mut tx, id, version).await?;
        if row.status != Status::Pending {
            return Err(VaultError::State {
                id,
                version,
                status: row.status,
                what: "only a pending version is discarded",
            });
        }
        sqlx::query("DELETE FROM keys.wraps WHERE id = ? AND version = ?")
            .bind(&id.0[..])
            .bind(i64::from(version))
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM records WHERE id = ? AND version = ?")
            .bind(&id.0[..])
            .bind(i64::from(version))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.vacuum_keys().await
    }

    /// Opens the version in force of record `id` with the holding agency's key (or, for a
    /// received copy, the receiving agency's).
    pub async fn read(
        &self,
        id: RecordId,
        agency: &(impl Keyring + ?Sized),
    ) -> Result<(RecordRow, Zeroizing<Vec<u8>>), VaultError> {
        let mut tx = self.pool.begin().await?;
        let row = in_force(&mut tx, id, "only the version in force is read").await?;
        let (sealed, key) = sealed_and_key(&mut tx, &row, HOLDER, agency.keys()).await?;
        tx.commit().await?;
        let body = open_record(&label_of(&row)?, &sealed, &key, &row.commitment)?;
        Ok((row, body))
    }

    /// Every wrap kept for record `id`: (version, recipient, wrapped bytes). For audits.
    pub async fn wraps_of(&self, id: RecordId) -> Result<Vec<(u32, String, Vec<u8>)>, VaultError> {
        let rows = sqlx::query(
            "SELECT version, recipient, wrapped FROM keys.wraps WHERE id = ? \
             ORDER BY version, recipient",
        )
        .bind(&id.0[..])
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let version: i64 = row.try_get("version")?;
                Ok((
                    u32::try_from(version).unwrap_or(0),
                    row.try_get("recipient")?,
                    row.try_get("wrapped")?,
                ))
            })
            .collect()
    }

    /// Wraps the version in force of record `id` for `agency` (its vault's encryption key
    /// `to`) and returns the copy to send. The wrap is kept here until the record is erased;
    /// the receiving vault keeps its own copy, which its agency erases.
    pub async fn share(
        &self,
        id: RecordId,
        agency: &str,
        to: &EncryptionKey,
        holder: &(impl Keyring + ?Sized),
    ) -> Result<SharedCopy, VaultError> {
        let mut tx = self.pool.begin().await?;
        let row = in_force(&mut tx, id, "only the version in force is shared").await?;
        if row.origin.is_some() {
            return Err(VaultError::State {
                id,
                version: row.version,
                status: row.status,
                what: "only a record this agency holds is shared; a copy is asked of its holder",
            });
        }
        let label = label_of(&row)?;
        let (sealed, key) = sealed_and_key(&mut tx, &row, HOLDER, holder.keys()).await?;
        let wrapped = wrap(&label, &key, to)?;
        put_wrap(
            &mut *tx,
            id,
            row.version,
            &format!("agency:{agency}"),
            &wrapped,
        )
        .await?;
        tx.commit().await?;
        Ok(SharedCopy {
            id,
            version: row.version,
            schema: row.schema.clone(),
            subject: label.subject,
            nonce: hex::encode(sealed.nonce),
            ciphertext: hex::encode(&sealed.ciphertext),
            commitment: row.commitment,
            wrapped: hex::encode(&wrapped),
        })
    }

    /// Checks a copy received from `origin` against the commitment the ledger holds for it
    /// (which binds its id, version, subject, schema and body) and keeps it, readable with this
    /// agency's key (`mine`). Returns the body. A copy whose id this vault knows under another
    /// holder, subject or schema is refused, as is one of a record this vault erased unless
    /// `renewed` (the ledger gave this agency a new share of it after its copy was erased, which
    /// the caller checked: the tombstone is then replaced); an older version than one kept is
    /// kept superseded.
    #[allow(clippy::too_many_arguments)] // the copy, where it is from, and what checks it
    pub async fn receive(
        &self,
        copy: &SharedCopy,
        origin: &str,
        on_ledger: &Hash32,
        mine: &(impl Keyring + ?Sized),
        subject_key: Option<&EncryptionKey>,
        renewed: bool,
        now_ms: u64,
    ) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let corrupt = |what: &str| VaultError::Corrupt(format!("the copy's {what} is not hex"));
        let nonce: [u8; 12] = hex::decode(&copy.nonce)
            .map_err(|_| corrupt("nonce"))?
            .try_into()
            .map_err(|_| corrupt("nonce"))?;
        let ciphertext = hex::decode(&copy.ciphertext).map_err(|_| corrupt("ciphertext"))?;
        let wrapped = hex::decode(&copy.wrapped).map_err(|_| corrupt("wrap"))?;
        let label = Label {
            id: copy.id,
            version: copy.version,
            subject: copy.subject,
            schema: &copy.schema,
        };
        label.check()?;
        let key = unwrap_any(&label, &wrapped, mine.keys())?;
        let sealed = Sealed {
            nonce,
            ciphertext,
            commitment: *on_ledger,
        };
        let body = open_record(&label, &sealed, &key, on_ledger)?;
        let mut tx = self.pool.begin().await?;
        let mut known = versions_in(&mut tx, copy.id).await?;
        if let Some(other) = known.iter().find(|row| {
            row.origin.as_deref() != Some(origin)
                || row.schema != copy.schema
                || row.subject.is_some_and(|s| s != copy.subject)
        }) {
            return Err(VaultError::State {
                id: copy.id,
                version: other.version,
                status: other.status,
                what: "this vault knows the record under another holder, schema or subject",
            });
        }
        if renewed && known.iter().any(|row| row.status == Status::Erased) {
            sqlx::query("DELETE FROM records WHERE id = ? AND status = 'erased'")
                .bind(&copy.id.0[..])
                .execute(&mut *tx)
                .await?;
            known.retain(|row| row.status != Status::Erased);
        }
        if let Some(erased) = known.iter().find(|row| row.status == Status::Erased) {
            return Err(VaultError::State {
                id: copy.id,
                version: erased.version,
                status: Status::Erased,
                what: "this vault erased its copy of the record; it is not received again",
            });
        }
        if !known.iter().any(|row| row.version == copy.version) {
            let newest = known.iter().map(|row| row.version).max().unwrap_or(0);
            let status = if copy.version > newest {
                Status::Active
            } else {
                Status::Superseded
            };
            let row = RecordRow {
                id: copy.id,
                version: copy.version,
                schema: copy.schema.clone(),
                subject: Some(copy.subject),
                origin: Some(origin.to_string()),
                commitment: *on_ledger,
                status,
                created_ms: now_ms,
                erased_ms: None,
            };
            // Wrapped for this agency, and for the person, who downloads what every vault holds
            // about them.
            let mut wraps = vec![(HOLDER.to_string(), wrapped)];
            if let Some(subject_key) = subject_key {
                wraps.push((SUBJECT.to_string(), wrap(&label, &key, subject_key)?));
            }
            insert_in(&mut tx, &row, &sealed, &wraps).await?;
            if status == Status::Active {
                sqlx::query(
                    "UPDATE records SET status = 'superseded' WHERE id = ? AND version < ? \
                     AND status = 'active'",
                )
                .bind(&copy.id.0[..])
                .bind(i64::from(copy.version))
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(body)
    }

    /// Erases every version of record `id`: every wrap of its keys, its ciphertexts and whom
    /// it was about go, in one transaction; a tombstone (id, version, schema, commitment,
    /// when) stays. The key file is then rebuilt (`VACUUM`), so that no stale copy of a wrap
    /// SQLite moved between pages survives in it. Returns how many versions were erased now.
    pub async fn erase(&self, id: RecordId, now_ms: u64) -> Result<u32, VaultError> {
        let mut tx = self.pool.begin().await?;
        if versions_in(&mut tx, id).await?.is_empty() {
            return Err(VaultError::NotFound(id.to_hex()));
        }
        sqlx::query("DELETE FROM keys.wraps WHERE id = ?")
            .bind(&id.0[..])
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM erasure_requests WHERE id = ?")
            .bind(&id.0[..])
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query(
            "UPDATE records SET status = 'erased', nonce = NULL, ciphertext = NULL, \
             subject = NULL, erased_ms = ? WHERE id = ? AND status <> 'erased'",
        )
        .bind(i64::try_from(now_ms).unwrap_or(i64::MAX))
        .bind(&id.0[..])
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.vacuum_keys().await?;
        Ok(u32::try_from(done.rows_affected()).unwrap_or(u32::MAX))
    }

    async fn vacuum_keys(&self) -> Result<(), VaultError> {
        sqlx::query("VACUUM keys").execute(&self.pool).await?;
        Ok(())
    }

    /// Rebuilds the record file (`VACUUM`): what erasures left of ciphertexts and subjects in
    /// pages SQLite reorganised goes. Its cost grows with the file, so the vault service runs
    /// it once a day (`service::COMPACT_EVERY_CYCLES`; the key file is rebuilt at every
    /// erasure).
    pub async fn compact(&self) -> Result<(), VaultError> {
        sqlx::query("VACUUM main").execute(&self.pool).await?;
        Ok(())
    }

    /// Records that `subject` asks this agency to erase: a record it holds (not a copy it
    /// received) about `subject`, not yet erased. Returns when it was asked (the first time,
    /// if asked again while it waits; now, if asked again after it was declined). A record
    /// that is not there and one about someone else are the same answer,
    /// [`VaultError::NotFound`].
    pub async fn request_erasure(
        &self,
        id: RecordId,
        subject: &AccountId,
        now_ms: u64,
    ) -> Result<u64, VaultError> {
        let mut tx = self.pool.begin().await?;
        let held: Option<(i64,)> = sqlx::query_as(
            "SELECT 1 FROM records WHERE id = ? AND subject = ? AND origin IS NULL \
             AND status IN ('active', 'superseded') LIMIT 1",
        )
        .bind(&id.0[..])
        .bind(&subject.0[..])
        .fetch_optional(&mut *tx)
        .await?;
        if held.is_none() {
            return Err(VaultError::NotFound(id.to_hex()));
        }
        sqlx::query(
            "INSERT INTO erasure_requests (id, requested_ms) VALUES (?, ?) ON CONFLICT (id) \
             DO UPDATE SET requested_ms = excluded.requested_ms, declined_ms = NULL, \
             reason = NULL WHERE erasure_requests.declined_ms IS NOT NULL",
        )
        .bind(&id.0[..])
        .bind(i64::try_from(now_ms).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await?;
        let (at,): (i64,) =
            sqlx::query_as("SELECT requested_ms FROM erasure_requests WHERE id = ?")
                .bind(&id.0[..])
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(u64::try_from(at).unwrap_or(0))
    }

    /// Declines the waiting request to erase record `id`, for `reason` (one of
    /// [`ERASURE_REFUSALS`]' codes, checked by the caller); [`VaultError::NotFound`] if none
    /// waits.
    pub async fn decline_erasure(
        &self,
        id: RecordId,
        reason: &str,
        now_ms: u64,
    ) -> Result<(), VaultError> {
        let done = sqlx::query(
            "UPDATE erasure_requests SET declined_ms = ?, reason = ? \
             WHERE id = ? AND declined_ms IS NULL",
        )
        .bind(i64::try_from(now_ms).unwrap_or(i64::MAX))
        .bind(reason)
        .bind(&id.0[..])
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(VaultError::NotFound(id.to_hex()));
        }
        Ok(())
    }

    /// The erasure requests waiting (not declined), oldest first (at most `limit`): each
    /// record, its schema and when it was asked.
    pub async fn erasure_requests(
        &self,
        limit: u32,
    ) -> Result<Vec<(RecordId, String, u64)>, VaultError> {
        let rows: Vec<(Vec<u8>, Option<String>, i64)> = sqlx::query_as(
            "SELECT e.id, (SELECT schema FROM records r WHERE r.id = e.id LIMIT 1), \
             e.requested_ms FROM erasure_requests e WHERE e.declined_ms IS NULL \
             ORDER BY e.requested_ms, e.id LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, schema, at)| {
                let id: [u8; 32] = id
                    .try_into()
                    .map_err(|_| VaultError::Corrupt("an erasure request's id".into()))?;
                Ok((
                    RecordId(id),
                    schema.unwrap_or_default(),
                    u64::try_from(at).unwrap_or(0),
                ))
            })
            .collect()
    }

    /// The request to erase record `id`, if one was made.
    async fn erasure_request_in(
        conn: &mut SqliteConnection,
        id: RecordId,
    ) -> Result<Option<ErasureRequest>, VaultError> {
        let found: Option<(i64, Option<i64>, Option<String>)> = sqlx::query_as(
            "SELECT requested_ms, declined_ms, reason FROM erasure_requests WHERE id = ?",
        )
        .bind(&id.0[..])
        .fetch_optional(&mut *conn)
        .await?;
        Ok(found.map(|(requested, declined, reason)| ErasureRequest {
            requested_ms: u64::try_from(requested).unwrap_or(0),
            declined_ms: declined.map(|d| u64::try_from(d).unwrap_or(0)),
            reason_text: reason.as_deref().and_then(refusal_text).map(str::to_string),
            reason,
        }))
    }

    /// Every version of every record about `subject`, oldest first.
    pub async fn of_subject(&self, subject: &AccountId) -> Result<Vec<RecordRow>, VaultError> {
        let rows = sqlx::query(select_rows!("WHERE subject = ? ORDER BY id, version"))
            .bind(&subject.0[..])
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(decode_row).collect()
    }

    /// What `subject` downloads: every version about it, sealed, each with its data key
    /// wrapped for the subject (when the subject had an encryption key).
    pub async fn export(&self, subject: &AccountId) -> Result<Vec<SubjectCopy>, VaultError> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(select_rows!("WHERE subject = ? ORDER BY id, version"))
            .bind(&subject.0[..])
            .fetch_all(&mut *tx)
            .await?;
        let mut out = Vec::new();
        for row in rows.iter().map(decode_row) {
            let row = row?;
            let sealed = sealed_in(&mut tx, &row).await?;
            let wrapped = wrap_in(&mut tx, row.id, row.version, SUBJECT).await?;
            let erasure_request = if row.origin.is_none() {
                Self::erasure_request_in(&mut tx, row.id).await?
            } else {
                None
            };
            out.push(SubjectCopy {
                row: RecordRowJson {
                    id: row.id,
                    version: row.version,
                    schema: row.schema.clone(),
                    origin: row.origin.clone(),
                    commitment: row.commitment,
                    status: row.status.to_string(),
                },
                nonce: hex::encode(sealed.nonce),
                ciphertext: hex::encode(&sealed.ciphertext),
                wrapped: wrapped.map(hex::encode),
                erasure_request,
            });
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Wraps every version about `subject` that this agency can open for the subject's new
    /// encryption key (after a key recovery, or when it registers one); returns how many.
    pub async fn rewrap_subject(
        &self,
        subject: &AccountId,
        new_key: &EncryptionKey,
        agency: &(impl Keyring + ?Sized),
    ) -> Result<usize, VaultError> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(select_rows!("WHERE subject = ? ORDER BY id, version"))
            .bind(&subject.0[..])
            .fetch_all(&mut *tx)
            .await?;
        let mut done = 0;
        for row in rows.iter().map(decode_row) {
            let row = row?;
            let (_, key) = sealed_and_key(&mut tx, &row, HOLDER, agency.keys()).await?;
            let wrapped = wrap(&label_of(&row)?, &key, new_key)?;
            put_wrap(&mut *tx, row.id, row.version, SUBJECT, &wrapped).await?;
            done += 1;
        }
        tx.commit().await?;
        Ok(done)
    }

    /// One version of record `id`.
    pub async fn version(&self, id: RecordId, version: u32) -> Result<RecordRow, VaultError> {
        version_in(&mut *self.pool.acquire().await?, id, version).await
    }

    /// The newest version of record `id`.
    pub async fn latest(&self, id: RecordId) -> Result<RecordRow, VaultError> {
        latest_in(&mut *self.pool.acquire().await?, id).await
    }

    /// Every copy received from another agency that is not erased: (record, holding agency).
    pub async fn copies(&self) -> Result<Vec<(RecordId, String)>, VaultError> {
        let rows = sqlx::query(
            "SELECT DISTINCT id, origin FROM records WHERE origin IS NOT NULL \
             AND status <> 'erased' ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let id: Vec<u8> = row.try_get("id")?;
                let id = id
                    .try_into()
                    .map_err(|_| VaultError::Corrupt("a record id is not 32 bytes".into()))?;
                Ok((RecordId(id), row.try_get("origin")?))
            })
            .collect()
    }

    /// Every version of record `id`, oldest first.
    pub async fn versions(&self, id: RecordId) -> Result<Vec<RecordRow>, VaultError> {
        versions_in(&mut *self.pool.acquire().await?, id).await
    }
}

/// A version sealed and ready to insert: its row, its ciphertext, its wraps by recipient.
type SealedVersion = (RecordRow, Sealed, Vec<(String, Vec<u8>)>, Hash32);

/// Seals a version: its row, its sealed body and its wraps, to insert.
#[allow(clippy::too_many_arguments)]
fn seal_version(
    id: RecordId,
    version: u32,
    holder: &EncryptionKey,
    subject: AccountId,
    subject_key: Option<&EncryptionKey>,
    schema: &str,
    body: &[u8],
    now_ms: u64,
) -> Result<SealedVersion, VaultError> {
    let label = Label {
        id,
        version,
        subject,
        schema,
    };
    let (sealed, key, subject_tag) = seal_fresh(&label, body)?;
    let mut wraps = vec![(HOLDER.to_string(), wrap(&label, &key, holder)?)];
    if let Some(subject_key) = subject_key {
        wraps.push((SUBJECT.to_string(), wrap(&label, &key, subject_key)?));
    }
    let row = RecordRow {
        id,
        version,
        schema: schema.to_string(),
        subject: Some(subject),
        origin: None,
        commitment: sealed.commitment,
        status: Status::Pending,
        created_ms: now_ms,
        erased_ms: None,
    };
    Ok((row, sealed, wraps, subject_tag))
}

/// The label a row's version was sealed under; an erased row has none.
fn label_of(row: &RecordRow) -> Result<Label<'_>, VaultError> {
    let subject = row.subject.ok_or(VaultError::State {
        id: row.id,
        version: row.version,
        status: row.status,
        what: "nothing is left to open",
    })?;
    Ok(Label {
        id: row.id,
        version: row.version,
        subject,
        schema: &row.schema,
    })
}

async fn versions_in(
    conn: &mut SqliteConnection,
    id: RecordId,
) -> Result<Vec<RecordRow>, VaultError> {
    let rows = sqlx::query(select_rows!("WHERE id = ? ORDER BY version"))
        .bind(&id.0[..])
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(decode_row).collect()
}

async fn latest_in(conn: &mut SqliteConnection, id: RecordId) -> Result<RecordRow, VaultError> {
    versions_in(conn, id)
        .await?
        .pop()
        .ok_or_else(|| VaultError::NotFound(id.to_hex()))
}

async fn version_in(
    conn: &mut SqliteConnection,
    id: RecordId,
    version: u32,
) -> Result<RecordRow, VaultError> {
    let row = sqlx::query(select_rows!("WHERE id = ? AND version = ?"))
        .bind(&id.0[..])
        .bind(i64::from(version))
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| VaultError::NotFound(format!("{id} version {version}")))?;
    decode_row(&row)
}

/// The newest version of record `id`, which must be in force.
async fn in_force(
    conn: &mut SqliteConnection,
    id: RecordId,
    what: &'static str,
) -> Result<RecordRow, VaultError> {
    let row = latest_in(conn, id).await?;
    if row.status != Status::Active {
        return Err(VaultError::State {
            id,
            version: row.version,
            status: row.status,
            what,
        });
    }
    Ok(row)
}

/// A version's nonce and ciphertext; empty for an erased one.
async fn sealed_in(conn: &mut SqliteConnection, row: &RecordRow) -> Result<Sealed, VaultError> {
    let found = sqlx::query("SELECT nonce, ciphertext FROM records WHERE id = ? AND version = ?")
        .bind(&row.id.0[..])
        .bind(i64::from(row.version))
        .fetch_one(&mut *conn)
        .await?;
    let nonce: Option<Vec<u8>> = found.try_get("nonce")?;
    let ciphertext: Option<Vec<u8>> = found.try_get("ciphertext")?;
    let nonce: [u8; 12] = match nonce {
        Some(bytes) => bytes
            .try_into()
            .map_err(|_| VaultError::Corrupt("a nonce is not 12 bytes".into()))?,
        None => [0; 12],
    };
    Ok(Sealed {
        nonce,
        ciphertext: ciphertext.unwrap_or_default(),
        commitment: row.commitment,
    })
}

async fn wrap_in(
    conn: &mut SqliteConnection,
    id: RecordId,
    version: u32,
    recipient: &str,
) -> Result<Option<Vec<u8>>, VaultError> {
    Ok(sqlx::query_scalar(
        "SELECT wrapped FROM keys.wraps WHERE id = ? AND version = ? AND recipient = ?",
    )
    .bind(&id.0[..])
    .bind(i64::from(version))
    .bind(recipient)
    .fetch_optional(&mut *conn)
    .await?)
}

/// A vault's decryption keys: one key, or every key it ever had (newest last), so what was
/// wrapped before a rotation still opens.
pub trait Keyring: Sync {
    /// The keys, newest last.
    fn keys(&self) -> &[DecryptionKey];
}

impl Keyring for DecryptionKey {
    fn keys(&self) -> &[DecryptionKey] {
        std::slice::from_ref(self)
    }
}

impl Keyring for [DecryptionKey] {
    fn keys(&self) -> &[DecryptionKey] {
        self
    }
}

impl Keyring for Vec<DecryptionKey> {
    fn keys(&self) -> &[DecryptionKey] {
        self
    }
}

/// Unwraps `wrapped` with the first of `keys` (newest first) that opens it.
fn unwrap_any(
    label: &Label<'_>,
    wrapped: &[u8],
    keys: &[DecryptionKey],
) -> Result<DataKey, VaultError> {
    let mut last = EnvelopeError::Open;
    for key in keys.iter().rev() {
        match unwrap(label, wrapped, key) {
            Ok(data_key) => return Ok(data_key),
            Err(e) => last = e,
        }
    }
    Err(last.into())
}

async fn sealed_and_key(
    conn: &mut SqliteConnection,
    row: &RecordRow,
    recipient: &str,
    with: &[DecryptionKey],
) -> Result<(Sealed, DataKey), VaultError> {
    let label = label_of(row)?;
    let sealed = sealed_in(conn, row).await?;
    let wrapped = wrap_in(conn, row.id, row.version, recipient)
        .await?
        .ok_or_else(|| VaultError::NotFound(format!("{} (no key for {recipient})", row.id)))?;
    let key = unwrap_any(&label, &wrapped, with)?;
    Ok((sealed, key))
}

fn decode_row(row: &sqlx::sqlite::SqliteRow) -> Result<RecordRow, VaultError> {
    let bytes32 = |name: &str| -> Result<[u8; 32], VaultError> {
        let value: Vec<u8> = row.try_get(name)?;
        value
            .try_into()
            .map_err(|_| VaultError::Corrupt(format!("{name} is not 32 bytes")))
    };
    let version: i64 = row.try_get("version")?;
    let created: i64 = row.try_get("created_ms")?;
    let erased: Option<i64> = row.try_get("erased_ms")?;
    let status: String = row.try_get("status")?;
    let subject: Option<Vec<u8>> = row.try_get("subject")?;
    let subject = subject
        .map(|bytes| {
            bytes
                .try_into()
                .map(AccountId)
                .map_err(|_| VaultError::Corrupt("subject is not 32 bytes".into()))
        })
        .transpose()?;
    Ok(RecordRow {
        id: RecordId(bytes32("id")?),
        version: u32::try_from(version)
            .map_err(|_| VaultError::Corrupt(format!("version {version}")))?,
        schema: row.try_get("schema")?,
        subject,
        origin: row.try_get("origin")?,
        commitment: Hash32(bytes32("commitment")?),
        status: Status::parse(&status)?,
        created_ms: u64::try_from(created).unwrap_or(0),
        erased_ms: erased.map(|e| u64::try_from(e).unwrap_or(0)),
    })
}

/// Opens a citizen's downloaded copy with the citizen's account and decryption keys (any of
/// them, newest first), checked against `on_ledger`: the commitment the ledger holds for the
/// version, which the citizen reads from the ledger, not from the vault (the copy's own is
/// what the vault says).
pub fn open_subject_copy(
    copy: &SubjectCopy,
    subject: &AccountId,
    keys: &[DecryptionKey],
    on_ledger: &Hash32,
) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    open_subject_copy_with_salt(copy, subject, keys, on_ledger).map(|opened| opened.body)
}

/// [`open_subject_copy`], also giving the version's subject salt: of a first version, what the
/// person reveals in a consent to prove the record is about them.
pub fn open_subject_copy_with_salt(
    copy: &SubjectCopy,
    subject: &AccountId,
    keys: &[DecryptionKey],
    on_ledger: &Hash32,
) -> Result<envelope::Opened, VaultError> {
    let corrupt = |what: &str| VaultError::Corrupt(format!("the copy's {what} is not hex"));
    let wrapped = copy
        .wrapped
        .as_deref()
        .ok_or_else(|| VaultError::NotFound(format!("{} (no key for the citizen)", copy.row.id)))?;
    let wrapped = hex::decode(wrapped).map_err(|_| corrupt("wrap"))?;
    let nonce: [u8; 12] = hex::decode(&copy.nonce)
        .map_err(|_| corrupt("nonce"))?
        .try_into()
        .map_err(|_| corrupt("nonce"))?;
    let sealed = Sealed {
        nonce,
        ciphertext: hex::decode(&copy.ciphertext).map_err(|_| corrupt("ciphertext"))?,
        commitment: copy.row.commitment,
    };
    let label = Label {
        id: copy.row.id,
        version: copy.row.version,
        subject: *subject,
        schema: &copy.row.schema,
    };
    label.check()?;
    let data_key = unwrap_any(&label, &wrapped, keys)?;
    Ok(envelope::open_record_with_salt(
        &label, &sealed, &data_key, on_ledger,
    )?)
}

/// Stores one version and its wraps inside `tx`.
async fn insert_in(
    conn: &mut SqliteConnection,
    row: &RecordRow,
    sealed: &Sealed,
    wraps: &[(String, Vec<u8>)],
) -> Result<(), VaultError> {
    sqlx::query(
        "INSERT INTO records (id, version, schema, subject, origin, commitment, nonce, \
         ciphertext, status, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&row.id.0[..])
    .bind(i64::from(row.version))
    .bind(&row.schema)
    .bind(row.subject.as_ref().map(|s| &s.0[..]))
    .bind(row.origin.as_deref())
    .bind(&row.commitment.0[..])
    .bind(&sealed.nonce[..])
    .bind(&sealed.ciphertext[..])
    .bind(row.status.as_str())
    .bind(i64::try_from(row.created_ms).unwrap_or(i64::MAX))
    .execute(&mut *conn)
    .await?;
    for (recipient, wrapped) in wraps {
        put_wrap(&mut *conn, row.id, row.version, recipient, wrapped).await?;
    }
    Ok(())
}

/// Keeps (or replaces) the wrap of one version's key for `recipient`.
async fn put_wrap<'e, E: sqlx::Executor<'e, Database = sqlx::Sqlite>>(
    executor: E,
    id: RecordId,
    version: u32,
    recipient: &str,
    wrapped: &[u8],
) -> Result<(), VaultError> {
    sqlx::query(
        "INSERT INTO keys.wraps (id, version, recipient, wrapped) VALUES (?, ?, ?, ?) \
         ON CONFLICT (id, version, recipient) DO UPDATE SET wrapped = excluded.wrapped",
    )
    .bind(&id.0[..])
    .bind(i64::from(version))
    .bind(recipient)
    .bind(wrapped)
    .execute(executor)
    .await?;
    Ok(())
}
