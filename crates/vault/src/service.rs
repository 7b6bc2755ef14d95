//! The vault as a service, run beside an agency's node (`civitas vault serve`).
//!
//! It follows the ledger and never acts on its own authority. Officials sign the ledger's side
//! themselves (`sharing.register`, `access`, `request`, `erase`); the vault:
//!
//! - seals what a records officer of its agency submits, and keeps it pending until that
//!   officer's `sharing.register` (or `rectify`) of the same commitment is final, discarding it
//!   after an hour otherwise;
//! - serves a record to an official only against that official's final `sharing.access` entry
//!   for it, recent (ten minutes of block time) and used once: the access log is complete by
//!   construction;
//! - answers another agency's vault with a copy wrapped for that agency only against a final
//!   `sharing.request` share to it, and checks a copy it receives against the ledger's
//!   commitment;
//! - erases what the ledger says is erased (its own records and copies), and the copies given
//!   on a consent that was withdrawn; re-wraps a person's records for the encryption key they
//!   register (after a key recovery);
//! - gives a person everything it holds about them, sealed to their own key.
//!
//! Every request is signed as a read (`docs/API.md`, "Signed reads"); a request with a body
//! names the body's SHA-256 in its query, so the signature covers the body too. Requests run a
//! bounded number at a time (`429` with `Retry-After` beyond), bodies are bounded, and every
//! answer that is an error is JSON with a stable code.

use crate::envelope::RecordId;
use crate::store::{SharedCopy, Status, Store, VaultError};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::routing::{get, post};
use axum::{Json, Router};
use civitas_client::{Client, ClientError};
use civitas_core::crypto::AccountId;
use civitas_core::event::Event;
use civitas_core::hash::Hash32;
use civitas_core::identity::{Account, AccountKind};
use civitas_core::keyfile::KeyFile;
use civitas_core::read::{HEADER_ACCOUNT, HEADER_SIGNATURE, HEADER_TIME, SignedRead};
use civitas_core::receipt::{Receipt, TxOutcome};
use civitas_core::seal::{DecryptionKey, EncryptionKey};
use civitas_core::sharing::SharingEvent;
use civitas_core::time::TimestampMs;
use civitas_kit::http::{ApiError, parse_hash};
use civitas_sharing::state::{Consent, Grant, Record, Vault as VaultEntry};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Most requests served at once; beyond, `429`.
pub const REQUESTS_AT_ONCE: usize = 32;
/// Largest request body (a record's data, as JSON), in bytes.
pub const BODY_MAX_BYTES: usize = 300 * 1024;
/// How long after its block an access entry lets its official read (block time).
pub const ACCESS_WINDOW_MS: u64 = 10 * 60 * 1000;
/// How long a sealed record waits for its registration to be final (the vault's clock).
pub const PENDING_MAX_MS: u64 = 60 * 60 * 1000;
/// Most permit application forms one account has pending here (sealed, waiting for its
/// application); beyond, `429`.
pub const PENDING_FORMS_MAX: u64 = 4;
/// Most requests of one account served at once; beyond, `429`.
pub const PER_ACCOUNT_AT_ONCE: usize = 4;
/// Every how many readings of the ledger the vault checks that its copies' shares still stand.
pub const SWEEP_EVERY_CYCLES: u64 = 60;
/// Every how many readings of the ledger the vault rebuilds its record file
/// ([`Store::compact`]): once a day at the default pace of one reading a second.
pub const COMPACT_EVERY_CYCLES: u64 = 86_400;
/// Roles that submit records to their agency's vault.
pub const RECORDS_ROLES: &[&str] = &["records", "admin"];

/// What the vault needs to run.
pub struct Config {
    /// Its data folder.
    pub dir: std::path::PathBuf,
    /// Its node's API (`http://127.0.0.1:8080`).
    pub node: String,
    /// The key file of the vault's account: an official of the agency whose encryption key
    /// records are wrapped to (named on the ledger by `sharing.set_vault`).
    pub key: KeyFile,
    /// How often it reads the ledger's new events.
    pub follow_every: Duration,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(message)
}

fn forbidden(code: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, code, message)
}

fn node_error(error: ClientError) -> ApiError {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "node_unavailable",
        format!("the vault could not read the ledger from its node: {error}"),
    )
}

impl From<VaultError> for ApiError {
    fn from(error: VaultError) -> Self {
        let (status, code) = match error {
            VaultError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            VaultError::State { .. } => (StatusCode::CONFLICT, "wrong_state"),
            VaultError::Envelope(_) => (StatusCode::UNPROCESSABLE_ENTITY, "bad_record"),
            VaultError::Storage(_) | VaultError::Corrupt(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "storage")
            }
        };
        ApiError::new(status, code, error.to_string())
    }
}

/// The vault's node, read through the blocking client on the blocking pool.
#[derive(Clone)]
struct Node(Arc<Client>);

impl Node {
    async fn json(&self, path: String) -> Result<Value, ClientError> {
        let client = self.0.clone();
        tokio::task::spawn_blocking(move || client.get_json(&path))
            .await
            .unwrap_or_else(|e| Err(ClientError::Protocol(e.to_string())))
    }

    /// The state value at `path` (`identity/account/<hex>`), decoded; `None` if absent.
    async fn state<T: commonware_codec::Decode<Cfg = ()> + Send + 'static>(
        &self,
        path: String,
    ) -> Result<Option<T>, ApiError> {
        let client = self.0.clone();
        tokio::task::spawn_blocking(move || client.state(&path))
            .await
            .unwrap_or_else(|e| Err(ClientError::Protocol(e.to_string())))
            .map_err(node_error)
    }

    /// The ids of the legal bases in force (`GET /v1/sharing/bases`).
    async fn bases(&self) -> Result<Vec<String>, ApiError> {
        let bases = self
            .json("/v1/sharing/bases".into())
            .await
            .map_err(node_error)?;
        Ok(bases["bases"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|b| b["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The receipt of final transaction `tx`, if it is final.
    async fn receipt(&self, tx: &Hash32) -> Result<Option<Receipt>, ApiError> {
        match self.json(format!("/v1/transactions/{tx}")).await {
            Ok(value) => match value.get("receipt") {
                Some(receipt) if !receipt.is_null() => serde_json::from_value(receipt.clone())
                    .map(Some)
                    .map_err(|e| node_error(ClientError::Protocol(e.to_string()))),
                _ => Ok(None),
            },
            Err(ClientError::Api { status: 404, .. }) => Ok(None),
            Err(e) => Err(node_error(e)),
        }
    }

    /// The latest final block's time.
    async fn time(&self) -> Result<TimestampMs, ApiError> {
        let status = self.json("/v1/status".into()).await.map_err(node_error)?;
        status["timestamp"]
            .as_u64()
            .map(TimestampMs)
            .ok_or_else(|| node_error(ClientError::Protocol("status without timestamp".into())))
    }
}

/// A running vault.
pub struct Vault {
    store: Store,
    node: Node,
    chain_id: String,
    agency: String,
    key: KeyFile,
    keys: Vec<DecryptionKey>,
    follow_every: Duration,
    gate: Semaphore,
    inflight: std::sync::Mutex<std::collections::BTreeMap<AccountId, usize>>,
    cycles: std::sync::atomic::AtomicU64,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn parse_record(text: &str) -> Result<RecordId, ApiError> {
    RecordId::from_hex(text)
        .map_err(|_| bad(format!("{text:?} is not a record id (64 hex digits)")))
}

/// What `pick` takes from the first event it accepts of a ledger transaction the vault acts on:
/// the transaction final and successful, signed by `signer` if one is named.
fn event_in<'a, T>(
    receipt: &'a Receipt,
    signer: Option<&AccountId>,
    pick: impl Fn(&'a SharingEvent) -> Option<T>,
) -> Result<T, ApiError> {
    if receipt.outcome != TxOutcome::Success {
        return Err(forbidden(
            "entry_failed",
            format!("transaction {} failed on the ledger", receipt.tx),
        ));
    }
    if signer.is_some_and(|signer| receipt.signer != *signer) {
        return Err(forbidden(
            "entry_not_yours",
            format!("transaction {} was signed by another account", receipt.tx),
        ));
    }
    receipt
        .events
        .iter()
        .find_map(|event| match event {
            Event::Sharing(e) => pick(e),
            _ => None,
        })
        .ok_or_else(|| {
            forbidden(
                "entry_mismatch",
                format!(
                    "transaction {} is not the entry this request needs",
                    receipt.tx
                ),
            )
        })
}

/// A request let in: it holds one of its account's slots and one of the vault's.
pub struct Admitted<'a> {
    _account: AccountSlot<'a>,
    _slot: tokio::sync::SemaphorePermit<'a>,
}

/// One of an account's [`PER_ACCOUNT_AT_ONCE`] slots, given back when dropped.
struct AccountSlot<'a> {
    vault: &'a Vault,
    account: AccountId,
}

impl Drop for AccountSlot<'_> {
    fn drop(&mut self) {
        let mut inflight = self
            .vault
            .inflight
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(count) = inflight.get_mut(&self.account) {
            *count -= 1;
            if *count == 0 {
                inflight.remove(&self.account);
            }
        }
    }
}

impl Vault {
    /// Opens the vault's storage and checks its account on the ledger: an active official
    /// whose registered encryption key is the newest in its key file.
    pub async fn open(config: &Config) -> Result<Arc<Self>, String> {
        let node = Node(Arc::new(Client::new(&config.node)));
        let client = node.0.clone();
        let chain_id = tokio::task::spawn_blocking(move || client.chain_id())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("the node at {}: {e}", config.node))?;
        let account_id = config.key.account();
        let account: Account = node
            .state(format!("identity/account/{account_id}"))
            .await
            .map_err(|e| e.message)?
            .ok_or_else(|| {
                format!("the vault's account {account_id} is not registered on the ledger")
            })?;
        if account.kind != AccountKind::Official || !account.active {
            return Err(format!(
                "the vault's account {account_id} must be an active official of its agency"
            ));
        }
        let keys = config
            .key
            .decryption_keys()
            .map_err(|e| format!("the vault's key file: {e}"))?;
        let Some(newest) = keys.last() else {
            return Err(
                "the vault's key file has no encryption key: make one with `civitas keys \
                 new-encryption-key` and register it with `civitas tx identity \
                 set-encryption-key`"
                    .into(),
            );
        };
        let registered: Option<EncryptionKey> = node
            .state(format!("identity/encryption_key/{account_id}"))
            .await
            .map_err(|e| e.message)?;
        if registered != Some(newest.public()) {
            return Err(format!(
                "the encryption key on the ledger for {account_id} is not the newest in the \
                 vault's key file: register it with `civitas tx identity set-encryption-key`"
            ));
        }
        let store = Store::open(&config.dir).await.map_err(|e| e.to_string())?;
        Ok(Arc::new(Self {
            store,
            node,
            chain_id,
            agency: account.agency,
            key: config.key.clone(),
            keys,
            follow_every: config.follow_every,
            gate: Semaphore::new(REQUESTS_AT_ONCE),
            inflight: std::sync::Mutex::new(std::collections::BTreeMap::new()),
            cycles: std::sync::atomic::AtomicU64::new(0),
        }))
    }

    /// The agency the vault belongs to.
    pub fn agency(&self) -> &str {
        &self.agency
    }

    /// The key new records are wrapped to: the newest, the one registered on the ledger.
    fn newest_key(&self) -> Result<&DecryptionKey, ApiError> {
        self.keys.last().ok_or_else(|| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "no_key",
                "the vault has no key",
            )
        })
    }

    /// Lets a signed request in: its signature checked here first (no slot is taken for a bad
    /// one), at most [`PER_ACCOUNT_AT_ONCE`] of one account's and [`REQUESTS_AT_ONCE`] in all
    /// at once (`429` beyond), then its account checked against the ledger: active, with as
    /// many of its keys as its threshold.
    async fn admit(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Result<(Account, Admitted<'_>), ApiError> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let read = SignedRead::from_headers(
            header(HEADER_ACCOUNT),
            header(HEADER_TIME),
            header(HEADER_SIGNATURE),
        )
        .map_err(|e| ApiError::new(StatusCode::UNAUTHORIZED, "unsigned", e.to_string()))?;
        let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
        let keys = read
            .verify(&self.chain_id, path, TimestampMs(now_ms()))
            .map_err(|e| ApiError::new(StatusCode::UNAUTHORIZED, "bad_signature", e.to_string()))?;
        let busy = || {
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "busy",
                "the vault is serving as many requests as it can (or as this account may make \
                 at once); retry after Retry-After",
            )
        };
        {
            let mut inflight = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
            let count = inflight.entry(read.account).or_insert(0);
            if *count >= PER_ACCOUNT_AT_ONCE {
                return Err(busy());
            }
            *count += 1;
        }
        // From here the account's slot is given back when it drops, whatever happens.
        let account_slot = AccountSlot {
            vault: self,
            account: read.account,
        };
        let slot = self.gate.try_acquire().map_err(|_| busy())?;
        let admitted = Admitted {
            _account: account_slot,
            _slot: slot,
        };
        let account: Account = self
            .node
            .state(format!("identity/account/{}", read.account))
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unknown_account",
                    format!("account {} is not registered", read.account),
                )
            })?;
        if !account.active {
            return Err(forbidden("account_inactive", "the account is deactivated"));
        }
        if account.keys_signed(keys.iter().copied()) < usize::from(account.threshold) {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "wrong_key",
                format!(
                    "{method} needs {} of the account's keys to sign",
                    account.threshold
                ),
            ));
        }
        Ok((account, admitted))
    }

    /// Checks that a signed query names this vault (`?vault=AGENCY`): a request signed for
    /// one agency's vault is no key to another's.
    fn for_this_vault(&self, named: &str) -> Result<(), ApiError> {
        if named == self.agency {
            return Ok(());
        }
        Err(bad(format!(
            "this is the vault of {}, not of {named}: sign the request for this one (?vault={})",
            self.agency, self.agency
        )))
    }

    /// The keys a new version is wrapped to: this vault's newest, and the subject's encryption
    /// key if they registered one.
    async fn wrap_keys(
        &self,
        subject: &AccountId,
    ) -> Result<(EncryptionKey, Option<EncryptionKey>), ApiError> {
        let subject_key: Option<EncryptionKey> = self
            .node
            .state(format!("identity/encryption_key/{subject}"))
            .await?;
        Ok((self.newest_key()?.public(), subject_key))
    }

    fn official_here(&self, account: &Account, roles: &[&str]) -> Result<(), ApiError> {
        let role_ok = roles.is_empty() || account.roles.iter().any(|r| roles.contains(&r.as_str()));
        if account.kind != AccountKind::Official || account.agency != self.agency || !role_ok {
            return Err(forbidden(
                "not_authorized",
                format!(
                    "this is {}'s vault: only its officials{} may do this",
                    self.agency,
                    if roles.is_empty() {
                        String::new()
                    } else {
                        format!(" with role {}", roles.join(" or "))
                    }
                ),
            ));
        }
        Ok(())
    }

    /// The record's entry on the ledger, if it is registered and not erased.
    async fn live_entry(&self, id: &Hash32) -> Result<Record, ApiError> {
        let entry: Record = self
            .node
            .state(format!("sharing/record/{id}"))
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "unknown_record",
                    format!("record {id} is not registered"),
                )
            })?;
        if entry.erasure.is_some() {
            return Err(ApiError::new(
                StatusCode::GONE,
                "record_erased",
                format!("record {id} was erased"),
            ));
        }
        Ok(entry)
    }

    /// Whether the share `grant` stands now: its legal basis still a policy in force, and the
    /// consent it relied on (if any) neither withdrawn nor expired at the latest block.
    /// `bases` are the legal bases in force; `now`, the latest block's time (read here if
    /// `None` and a consent needs it).
    async fn grant_stands(
        &self,
        grant: &Grant,
        bases: &[String],
        now: Option<TimestampMs>,
    ) -> Result<(), ApiError> {
        if !bases.contains(&grant.basis) {
            return Err(forbidden(
                "basis_repealed",
                format!("{} is no longer a legal basis in force", grant.basis),
            ));
        }
        if let Some(id) = grant.consent {
            let consent: Option<Consent> = self.node.state(format!("sharing/consent/{id}")).await?;
            let now = match now {
                Some(now) => now,
                None => self.node.time().await?,
            };
            if !consent.is_some_and(|c| c.revocation.is_none() && c.expires.0 > now.0) {
                return Err(forbidden(
                    "consent_lapsed",
                    format!("consent {id}, which the share relied on, is no longer in force"),
                ));
            }
        }
        Ok(())
    }

    /// The share of the record of `entry` this agency was given, if it still stands.
    async fn standing_share(&self, entry: &Record) -> Result<Grant, ApiError> {
        let id = entry.record;
        let grant: Grant = self
            .node
            .state(format!("sharing/grant/{id}/{}", self.agency))
            .await?
            .ok_or_else(|| {
                forbidden(
                    "no_copy",
                    format!(
                        "{} was given no copy of record {id}; request it first",
                        self.agency
                    ),
                )
            })?;
        self.grant_stands(&grant, &self.node.bases().await?, None)
            .await?;
        Ok(grant)
    }

    /// Fetches and files the copy of the record of `entry` (live on the ledger) that `grant`
    /// (standing) gave this agency: the version it was given, checked against the ledger's
    /// commitment and schema.
    async fn fetch_copy(&self, grant: &Grant, entry: &Record) -> Result<(), ApiError> {
        let id = entry.record;
        let record = RecordId(id.0);
        if grant.version != entry.version {
            return Err(forbidden(
                "share_outdated",
                format!(
                    "{} was given version {} of record {id}, which was rectified since (version \
                     {}): request it again",
                    self.agency, grant.version, entry.version
                ),
            ));
        }
        let holder: VaultEntry = self
            .node
            .state(format!("sharing/vault/{}", entry.holder))
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "no_vault",
                    format!("agency {} has named no vault", entry.holder),
                )
            })?;
        let path = format!("/v1/vault/shares?tx={}&record={id}", grant.tx);
        let key = self.key.clone();
        let chain = self.chain_id.clone();
        let url = holder.url.clone();
        let answer = tokio::task::spawn_blocking(move || {
            Client::new(&url).signed_json("POST", &path, &chain, &key)
        })
        .await
        .unwrap_or_else(|e| Err(ClientError::Protocol(e.to_string())))
        .map_err(|e| {
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                "holder_unavailable",
                format!("the vault of {} did not give the copy: {e}", entry.holder),
            )
        })?;
        let copy: SharedCopy = serde_json::from_value(answer).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                "bad_copy",
                format!("the holder's answer: {e}"),
            )
        })?;
        if copy.id != record || copy.version != grant.version || copy.schema != entry.schema {
            return Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                "bad_copy",
                format!(
                    "the holder sent version {} of {} ({}), not version {} of {id} ({})",
                    copy.version, copy.id, copy.schema, grant.version, entry.schema
                ),
            ));
        }
        let subject_key: Option<EncryptionKey> = self
            .node
            .state(format!("identity/encryption_key/{}", copy.subject))
            .await?;
        // A copy erased here before (its consent was withdrawn) is received again under this
        // newer share, which the ledger made after the erasure.
        self.store
            .receive(
                &copy,
                &entry.holder,
                &entry.commitment,
                &self.keys,
                subject_key.as_ref(),
                true,
                now_ms(),
            )
            .await?;
        Ok(())
    }

    /// Reads the ledger's new events once: activates, discards, erases and re-wraps as they
    /// say, and (every minute or so) erases copies whose share no longer stands. Gives how
    /// many events it read. It stops at an event it cannot act on (the node unreachable, a
    /// storage error, an event it does not understand) and starts there again next time.
    pub async fn follow_once(&self) -> Result<usize, String> {
        self.expire_pending().await?;
        let mut read = 0;
        for (name, query) in [
            ("sharing", "module=sharing"),
            ("keys", "type=encryption_key_set"),
        ] {
            loop {
                let cursor = self.store.cursor(name).await.map_err(|e| e.to_string())?;
                let mut path = format!("/v1/index/events?{query}&order=oldest&limit=100");
                if let Some(cursor) = &cursor {
                    path.push_str(&format!("&cursor={cursor}"));
                }
                let page = self.node.json(path).await.map_err(|e| e.to_string())?;
                let items = page["items"].as_array().cloned().unwrap_or_default();
                for item in &items {
                    self.apply_event(item).await?;
                    let key = format!(
                        "{}.{}.{}",
                        item["height"].as_u64().unwrap_or(0),
                        item["position"].as_u64().unwrap_or(0),
                        item["seq"].as_u64().unwrap_or(0)
                    );
                    self.store
                        .set_cursor(name, &key)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                read += items.len();
                if page["next"].is_null() {
                    break;
                }
            }
        }
        let cycle = self
            .cycles
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if cycle.is_multiple_of(SWEEP_EVERY_CYCLES) {
            self.sweep_copies().await?;
        }
        if cycle > 0 && cycle.is_multiple_of(COMPACT_EVERY_CYCLES) {
            self.store.compact().await.map_err(|e| e.to_string())?;
        }
        Ok(read)
    }

    /// Pending versions an hour old: activated if their registration is final after all (the
    /// node's read model may lag), discarded otherwise.
    async fn expire_pending(&self) -> Result<(), String> {
        for (id, version) in self
            .store
            .stale_pending(now_ms().saturating_sub(PENDING_MAX_MS))
            .await
            .map_err(|e| e.to_string())?
        {
            let entry: Option<Record> = self
                .node
                .state(format!("sharing/record/{id}"))
                .await
                .map_err(|e| e.message)?;
            match entry.filter(|e| e.holder == self.agency && e.version == version) {
                Some(entry) => {
                    let by = (entry.version == 1).then_some(entry.registered_by);
                    self.settle(id, version, &entry.commitment, Some(&entry.schema), by)
                        .await?
                }
                None => self
                    .store
                    .discard(id, version)
                    .await
                    .map_err(|e| e.to_string())?,
            }
        }
        Ok(())
    }

    /// Erases every copy this vault received whose share no longer stands: the record erased
    /// or gone, no share to this agency any more, its basis repealed, its consent withdrawn or
    /// expired (an expiry emits no event, so this looks).
    async fn sweep_copies(&self) -> Result<(), String> {
        let copies = self.store.copies().await.map_err(|e| e.to_string())?;
        if copies.is_empty() {
            return Ok(());
        }
        // Read once for the whole sweep.
        let bases = self.node.bases().await.map_err(|e| e.message)?;
        let now = self.node.time().await.map_err(|e| e.message)?;
        for (id, _) in copies {
            let record = Hash32(id.0);
            let grant: Option<Grant> = self
                .node
                .state(format!("sharing/grant/{record}/{}", self.agency))
                .await
                .map_err(|e| e.message)?;
            let stands = match grant {
                None => Err(()),
                Some(grant) => match self.live_entry(&record).await {
                    Ok(_) => match self.grant_stands(&grant, &bases, Some(now)).await {
                        Ok(()) => Ok(()),
                        Err(e) if e.status == StatusCode::FORBIDDEN => Err(()),
                        Err(e) => return Err(e.message),
                    },
                    Err(e) if matches!(e.status, StatusCode::GONE | StatusCode::NOT_FOUND) => {
                        Err(())
                    }
                    Err(e) => return Err(e.message),
                },
            };
            if stands.is_err() {
                erase_quietly(self.store.erase(id, now_ms()).await)?;
            }
        }
        Ok(())
    }

    async fn apply_event(&self, item: &Value) -> Result<(), String> {
        let event = &item["event"];
        if event["type"] == "encryption_key_set" {
            let Ok(civitas_core::event::IdentityEvent::EncryptionKeySet { account, key }) =
                serde_json::from_value(event.clone())
            else {
                return Err(format!("a malformed encryption_key_set event: {event}"));
            };
            // Nothing to do for a person this vault holds nothing about (none re-wrapped).
            if let Err(error) = self.store.rewrap_subject(&account, &key, &self.keys).await {
                // A version no key of this vault opens cannot be re-wrapped; the others are not
                // held back by it.
                eprintln!("vault: could not wrap {account}'s records for their new key: {error}");
            }
            return Ok(());
        }
        // The feed is the sharing module's events: one this release cannot read is a newer
        // shape it must not skip (it may be an erasure).
        let event = serde_json::from_value::<SharingEvent>(event.clone()).map_err(|e| {
            format!("a sharing event this vault does not understand ({e}): {event}")
        })?;
        match event {
            SharingEvent::RecordRegistered {
                record,
                holder,
                schema,
                commitment,
                by,
                ..
            } if holder == self.agency => {
                self.settle(RecordId(record.0), 1, &commitment, Some(&schema), Some(by))
                    .await?;
            }
            SharingEvent::RecordRectified {
                record,
                holder,
                version,
                commitment,
                ..
            } if holder == self.agency => {
                self.settle(RecordId(record.0), version, &commitment, None, None)
                    .await?;
            }
            SharingEvent::RecordErased {
                record,
                holder,
                copies,
                ..
            } if holder == self.agency || copies.contains(&self.agency) => {
                erase_quietly(self.store.erase(RecordId(record.0), now_ms()).await)?;
            }
            SharingEvent::ConsentRevoked {
                consent,
                record,
                recipient,
                ..
            } if recipient == self.agency => {
                // A copy obtained on this consent is no longer used: it is erased here.
                let grant: Option<Grant> = self
                    .node
                    .state(format!("sharing/grant/{record}/{}", self.agency))
                    .await
                    .map_err(|e| e.message)?;
                if grant.is_some_and(|g| g.consent == Some(consent)) {
                    erase_quietly(self.store.erase(RecordId(record.0), now_ms()).await)?;
                }
            }
            SharingEvent::RecordShared {
                record, recipient, ..
            } if recipient == self.agency => {
                // Fetched now so a read finds it; a failure here is retried at the read.
                let fetched = async {
                    let entry = self.live_entry(&record).await?;
                    let grant = self.standing_share(&entry).await?;
                    self.fetch_copy(&grant, &entry).await
                };
                if let Err(error) = fetched.await {
                    eprintln!(
                        "vault: could not fetch the copy of {record} yet: {}",
                        error.message
                    );
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Settles a version of a record this agency holds that is still pending here while the
    /// ledger already registered it (`entry`, read from the ledger): the vault's reading of the
    /// ledger has not reached that block yet, and a read or share must not wait for it.
    async fn settle_from_ledger(&self, record: RecordId, entry: &Record) -> Result<(), ApiError> {
        if entry.holder != self.agency {
            return Ok(());
        }
        // Who registered it is the ledger's for a first version only.
        let by = (entry.version == 1).then_some(entry.registered_by);
        self.settle(
            record,
            entry.version,
            &entry.commitment,
            Some(&entry.schema),
            by,
        )
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "storage", e))
    }

    /// Activates the pending `version` of `record` if it is what the ledger registered (its
    /// commitment, and for a first version its schema; for a permit application's form, its
    /// applicant registered it: `by`); discards it otherwise.
    async fn settle(
        &self,
        record: RecordId,
        version: u32,
        commitment: &Hash32,
        schema: Option<&str>,
        by: Option<AccountId>,
    ) -> Result<(), String> {
        let Ok(row) = self.store.version(record, version).await else {
            return Ok(());
        };
        if row.status != Status::Pending || row.origin.is_some() {
            return Ok(());
        }
        let applicant = row.schema != civitas_core::permits::FORM_SCHEMA
            || by.is_none_or(|by| row.subject == Some(by));
        let same =
            applicant && row.commitment == *commitment && schema.is_none_or(|s| s == row.schema);
        let result = if same {
            self.store.activate(record, version).await
        } else {
            self.store.discard(record, version).await
        };
        result.map_err(|e| e.to_string())
    }
}

/// An erasure's outcome, a record this vault never had (or already erased) being no error.
fn erase_quietly(result: Result<u32, VaultError>) -> Result<(), String> {
    match result {
        Ok(_) | Err(VaultError::NotFound(_)) | Err(VaultError::State { .. }) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

/// The vault's routes.
pub fn router(vault: Arc<Vault>) -> Router {
    Router::new()
        .route("/v1/vault", get(status))
        .route("/v1/vault/records", post(create))
        .route("/v1/vault/forms", post(create_form))
        .route("/v1/vault/forms/{id}/versions", post(revise_form))
        .route("/v1/vault/records/{id}", get(read))
        .route("/v1/vault/records/{id}/versions", post(rectify))
        .route("/v1/vault/shares", post(share))
        .route("/v1/vault/mine", get(mine))
        .route(
            "/v1/vault/erasure-requests",
            post(request_erasure).get(erasure_requests),
        )
        .route("/v1/vault/erasure-requests/decline", post(decline_erasure))
        .layer(DefaultBodyLimit::max(BODY_MAX_BYTES))
        .layer(axum::middleware::from_fn(cross_origin))
        .with_state(vault)
}

/// Lets the portal of any node read from the vault in the person's browser (the person's
/// records, opened there with their key, and their erasure requests). Every request is
/// authenticated by its signature, never by a cookie or anything else a browser adds on its
/// own, so any origin may send one: a page can only send what the person's key signed.
/// Preflight requests are answered here, before routing.
async fn cross_origin(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;
    let mut response = if request.method() == Method::OPTIONS {
        let mut preflight = StatusCode::NO_CONTENT.into_response();
        let headers = preflight.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(
                "civitas-account, civitas-time, civitas-signature, content-type",
            ),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        preflight
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("retry-after"),
    );
    response
}

/// Runs the vault: its routes on `listener`, and its reading of the ledger, until `shutdown`.
pub async fn serve(
    vault: Arc<Vault>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let follower = vault.clone();
    let follow_every = vault.follow_every;
    let follow = tokio::spawn(async move {
        loop {
            if let Err(error) = follower.follow_once().await {
                eprintln!("vault: reading the ledger: {error}");
            }
            tokio::time::sleep(follow_every).await;
        }
    });
    let result = axum::serve(listener, router(vault))
        .with_graceful_shutdown(shutdown)
        .await;
    follow.abort();
    result
}

/// The body, checked against the SHA-256 its signed query names.
fn signed_body<T: for<'de> Deserialize<'de>>(
    query: &BodyQuery,
    body: &[u8],
) -> Result<T, ApiError> {
    let named = parse_hash(&query.sha256, "sha256")?;
    if Hash32::sha256(body) != named {
        return Err(bad(
            "the body's SHA-256 is not the one the signed query names (sha256=...)",
        ));
    }
    serde_json::from_slice(body).map_err(|e| bad(format!("the body: {e}")))
}

#[derive(Deserialize)]
struct BodyQuery {
    sha256: String,
}

async fn status(State(vault): State<Arc<Vault>>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({
        "agency": vault.agency,
        "account": vault.key.account(),
        "encryption_key": vault.newest_key()?.public(),
    })))
}

/// A record submitted by a records officer.
#[derive(Deserialize)]
struct NewRecord {
    subject: AccountId,
    schema: String,
    data: Value,
}

/// What the vault answers a records officer who submitted a record or a new version: what to
/// sign next (`sharing.register` or `sharing.rectify`).
#[derive(Serialize, Deserialize)]
pub struct Sealed {
    /// The record's id.
    pub record: Hash32,
    /// The nonce the id was derived from (a new record an official sends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<Hash32>,
    /// The seed a permit application's form's id is derived from, with its applicant (a new
    /// form): what `permits.apply` names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<Hash32>,
    /// The version sealed.
    pub version: u32,
    /// Its schema.
    pub schema: String,
    /// Its commitment, for the ledger.
    pub commitment: Hash32,
    /// The record's subject tag, for the ledger (a new record only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Hash32>,
    /// `pending` until the ledger's entry is final.
    pub status: Status,
    /// What to do next, for a person.
    pub next: String,
}

/// A record's body as the vault gives it: its JSON, or its text if it is not JSON.
pub fn data_of(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

/// Seals `data`, a new record of `schema` about `subject`, for this agency and for the
/// subject's encryption key (if they registered one), pending until the ledger registers it.
/// Its id is derived from the agency and a random nonce; for a permit application's form
/// (`form`), from the agency and a nonce bound to its applicant, the subject (see
/// `civitas_core::permits::FormRecord`). `next` says what to sign.
async fn seal_new(
    vault: &Vault,
    subject: AccountId,
    schema: &str,
    data: &[u8],
    form: bool,
    next: String,
) -> Result<(StatusCode, Json<Sealed>), ApiError> {
    let (holder, subject_key) = vault.wrap_keys(&subject).await?;
    // The id is derived as the ledger derives it again.
    let random = civitas_core::crypto::random_32().map(Hash32).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "randomness",
            e.to_string(),
        )
    })?;
    let (nonce, seed) = if form {
        (
            civitas_core::permits::form_nonce(&subject, &random),
            Some(random),
        )
    } else {
        (random, None)
    };
    let id = civitas_core::sharing::record_id(&vault.agency, &nonce);
    let (row, tag) = vault
        .store
        .create(
            RecordId(id.0),
            &holder,
            subject,
            subject_key.as_ref(),
            schema,
            data,
            now_ms(),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Sealed {
            record: Hash32(row.id.0),
            nonce: seed.is_none().then_some(nonce),
            seed,
            version: row.version,
            schema: row.schema,
            commitment: row.commitment,
            subject: Some(tag),
            status: row.status,
            next,
        }),
    ))
}

/// Seals `data` as the next version of `record`, about `subject`, pending until the ledger
/// registers it. `next` says what to sign.
async fn seal_version(
    vault: &Vault,
    record: RecordId,
    subject: AccountId,
    data: &[u8],
    next: String,
) -> Result<(StatusCode, Json<Sealed>), ApiError> {
    let (holder, subject_key) = vault.wrap_keys(&subject).await?;
    let row = vault
        .store
        .rectify(record, &holder, subject_key.as_ref(), data, now_ms())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Sealed {
            record: Hash32(row.id.0),
            nonce: None,
            seed: None,
            version: row.version,
            schema: row.schema,
            commitment: row.commitment,
            subject: None,
            status: row.status,
            next,
        }),
    ))
}

async fn create(
    State(vault): State<Arc<Vault>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<BodyQuery>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Sealed>), ApiError> {
    let (official, _admitted) = vault.admit(&method, &uri, &headers).await?;
    vault.official_here(&official, RECORDS_ROLES)?;
    let new: NewRecord = signed_body(&query, &body)?;
    if new.schema == civitas_core::permits::FORM_SCHEMA {
        return Err(bad(
            "a permit application's form is sent by its applicant (POST /v1/vault/forms) and \
             registered by their application",
        ));
    }
    let subject: Account = vault
        .node
        .state(format!("identity/account/{}", new.subject))
        .await?
        .filter(|a: &Account| a.kind == AccountKind::Citizen && a.active)
        .ok_or_else(|| {
            bad(format!(
                "{} is not an active citizen's account",
                new.subject
            ))
        })?;
    let data = serde_json::to_vec(&new.data).map_err(|e| bad(e.to_string()))?;
    seal_new(
        &vault,
        subject.id,
        &new.schema,
        &data,
        false,
        "sign sharing.register with this record, nonce, schema, commitment and subject, \
         citing a legal basis; the vault keeps it once that is final (within an hour)"
            .into(),
    )
    .await
}

/// A permit application's form, as its applicant sends it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewForm {
    /// The permit type.
    permit_type: String,
    /// The answers, one member per field filled in.
    answers: serde_json::Map<String, Value>,
}

/// The answers to a form's fields, checked against the permit type's version in force (or, for
/// a revision, the version the form was first sent under): what is sealed.
async fn checked_form(
    vault: &Vault,
    permit_type: &str,
    version: Option<u32>,
    answers: serde_json::Map<String, Value>,
) -> Result<Vec<u8>, ApiError> {
    use civitas_permits::state::{PermitType, TypeVersion};
    let found: PermitType = vault
        .node
        .state(format!("permits/type/{permit_type}"))
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_permit_type",
                format!("permit type {permit_type} does not exist"),
            )
        })?;
    if found.agency != vault.agency {
        return Err(bad(format!(
            "permit type {permit_type} is {}'s: send its form to that agency's vault",
            found.agency
        )));
    }
    if version.is_none() && found.retired.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "permit_type_retired",
            format!("permit type {permit_type} takes no more applications"),
        ));
    }
    let version = version.unwrap_or(found.version);
    let definition: TypeVersion = vault
        .node
        .state(format!("permits/type-version/{permit_type}/{version}"))
        .await?
        .ok_or_else(|| {
            bad(format!(
                "permit type {permit_type} has no version {version}"
            ))
        })?;
    let problems = civitas_permits::form::check(&definition.definition, &answers);
    if !problems.is_empty() {
        let listed: Vec<String> = problems
            .iter()
            .map(|p| format!("{}: {}", p.field, p.problem))
            .collect();
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "form_incomplete",
            format!("the form cannot be sent as it is: {}", listed.join("; ")),
        ));
    }
    serde_json::to_vec(&json!({
        "permit_type": permit_type,
        "version": version,
        "answers": answers,
    }))
    .map_err(|e| bad(e.to_string()))
}

/// An applicant sends a permit application's form: checked against the permit type, sealed
/// for this agency and for the applicant, and kept pending until the applicant's
/// `permits.apply` registers it (within an hour).
async fn create_form(
    State(vault): State<Arc<Vault>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<BodyQuery>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Sealed>), ApiError> {
    let (applicant, _admitted) = vault.admit(&method, &uri, &headers).await?;
    let form: NewForm = signed_body(&query, &body)?;
    // Forms wait an hour for their application: a bounded number per applicant.
    let pending = vault
        .store
        .pending_of(&applicant.id, civitas_core::permits::FORM_SCHEMA)
        .await?;
    if pending >= PENDING_FORMS_MAX {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_pending_forms",
            format!(
                "you have {pending} forms here waiting for their application: file them \
                 (permits.apply) or wait an hour for the vault to discard them"
            ),
        ));
    }
    let data = checked_form(&vault, &form.permit_type, None, form.answers).await?;
    let next = format!(
        "sign permits.apply for {} with this form's seed, commitment and subject (civitas \
         vault apply does both steps); the vault keeps it once that is final (within an hour)",
        form.permit_type
    );
    seal_new(
        &vault,
        applicant.id,
        civitas_core::permits::FORM_SCHEMA,
        &data,
        true,
        next,
    )
    .await
}

/// A form's next version, as its applicant answers a request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevisedForm {
    /// The application the form belongs to.
    application: u64,
    /// The answers, one member per field filled in.
    answers: serde_json::Map<String, Value>,
}

/// The applicant of a form revises it (to answer a request): checked against the permit type's
/// version it was first sent under, sealed, pending until their `permits.provide_information`
/// registers it.
async fn revise_form(
    State(vault): State<Arc<Vault>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<BodyQuery>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Sealed>), ApiError> {
    let record = parse_record(&id)?;
    let (applicant, _admitted) = vault.admit(&method, &uri, &headers).await?;
    let revised: RevisedForm = signed_body(&query, &body)?;
    // The application, as the ledger has it: its form is this record, its applicant the
    // signer; its type's version is the one the answers are checked against.
    let filed: civitas_permits::state::Application = vault
        .node
        .state(format!("permits/application/{}", revised.application))
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_application",
                format!("application {} does not exist", revised.application),
            )
        })?;
    if filed.form.0 != record.0 || filed.applicant != applicant.id {
        return Err(forbidden(
            "not_your_form",
            format!(
                "record {id} is not the form of an application of yours numbered {}",
                revised.application
            ),
        ));
    }
    // Only while the agency waits for an answer, and only in step with the ledger: the vault's
    // version in force is the ledger's, so the next is numbered as the ledger will number it.
    if filed.decision.is_some() || filed.awaiting.is_none() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "nothing_requested",
            format!(
                "application {} waits for no answer: a form is revised only to answer a request",
                revised.application
            ),
        ));
    }
    let entry = vault.live_entry(&filed.form).await?;
    let latest = vault.store.latest(record).await?;
    if latest.subject != Some(applicant.id) {
        return Err(forbidden(
            "not_your_form",
            format!("record {id} is not about you"),
        ));
    }
    if latest.version != entry.version || latest.status != Status::Active {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "form_out_of_step",
            format!(
                "the vault holds version {} ({}) of this form and the ledger version {}: a \
                 revision is pending or not yet registered; retry once it is final, or after \
                 an hour",
                latest.version,
                latest.status.as_str(),
                entry.version
            ),
        ));
    }
    let data = checked_form(
        &vault,
        &filed.permit_type,
        Some(filed.version),
        revised.answers,
    )
    .await?;
    seal_version(
        &vault,
        record,
        applicant.id,
        &data,
        "sign permits.provide_information with this commitment (civitas tx permits \
         provide-information APPLICATION --form FILE); the vault serves this version once \
         that is final"
            .into(),
    )
    .await
}

#[derive(Deserialize)]
struct NewVersion {
    data: Value,
}

async fn rectify(
    State(vault): State<Arc<Vault>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<BodyQuery>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Sealed>), ApiError> {
    let record = parse_record(&id)?;
    let (official, _admitted) = vault.admit(&method, &uri, &headers).await?;
    vault.official_here(&official, RECORDS_ROLES)?;
    let new: NewVersion = signed_body(&query, &body)?;
    let latest = vault.store.latest(record).await?;
    let subject = latest.subject.ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "record_erased",
            "the record was erased",
        )
    })?;
    let data = serde_json::to_vec(&new.data).map_err(|e| bad(e.to_string()))?;
    seal_version(
        &vault,
        record,
        subject,
        &data,
        "sign sharing.rectify with this record, version and commitment, citing a legal basis; \
         the vault serves this version once that is final"
            .into(),
    )
    .await
}

#[derive(Deserialize)]
struct AccessQuery {
    access: String,
}

/// A record as an official reads it.
#[derive(Serialize)]
struct Opened {
    record: Hash32,
    version: u32,
    schema: String,
    subject: Option<AccountId>,
    holder: String,
    commitment: Hash32,
    data: Value,
}

async fn read(
    State(vault): State<Arc<Vault>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<AccessQuery>,
) -> Result<Json<Opened>, ApiError> {
    let record = parse_record(&id)?;
    let access = parse_hash(&query.access, "access")?;
    let (official, _admitted) = vault.admit(&method, &uri, &headers).await?;
    vault.official_here(&official, &[])?;
    let receipt = vault.node.receipt(&access).await?.ok_or_else(|| {
        forbidden(
            "entry_not_final",
            format!("access entry {access} is not final on the ledger yet; wait for it"),
        )
    })?;
    let agency = vault.agency.clone();
    event_in(&receipt, Some(&official.id), |e| {
        matches!(e, SharingEvent::RecordAccessed { record: r, agency: a, .. }
            if r.0 == record.0 && *a == agency)
        .then_some(())
    })?;
    let now = vault.node.time().await?;
    if receipt.timestamp.0.saturating_add(ACCESS_WINDOW_MS) < now.0 {
        return Err(forbidden(
            "entry_expired",
            "the access entry is more than ten minutes old (block time): record a new one",
        ));
    }
    // What the ledger says now, even if this vault's reading of it lags: not erased, and for a
    // copy, its share still standing.
    let id = Hash32(record.0);
    let entry = vault.live_entry(&id).await?;
    let share = if entry.holder == vault.agency {
        None
    } else {
        Some(vault.standing_share(&entry).await?)
    };
    let fetch = || async {
        match &share {
            Some(grant) => vault.fetch_copy(grant, &entry).await,
            None => Err(forbidden("no_copy", "the ledger records no share")),
        }
    };
    match vault.store.latest(record).await {
        // Its registration is final (the access entry names it) but the vault's reading of the
        // ledger has not reached it yet: settled now, from the ledger's record.
        Ok(row) if row.status == Status::Pending && row.origin.is_none() => {
            vault.settle_from_ledger(record, &entry).await?;
        }
        // A copy erased here (its consent was withdrawn) and given again since.
        Ok(row) if row.status == Status::Erased && row.origin.is_some() => fetch().await?,
        Ok(_) => {}
        // A copy this agency was given and does not have yet.
        Err(VaultError::NotFound(_)) => fetch().await?,
        Err(e) => return Err(e.into()),
    }
    // Claimed only once the record is here to read: a failure before leaves the entry usable.
    if !vault.store.claim(&access, now_ms()).await? {
        return Err(forbidden(
            "entry_used",
            format!("access entry {access} was already used for a read: record a new one"),
        ));
    }
    let (row, body) = vault.store.read(record, &vault.keys).await?;
    let data = data_of(&body);
    Ok(Json(Opened {
        record: Hash32(row.id.0),
        version: row.version,
        schema: row.schema,
        subject: row.subject,
        holder: row.origin.unwrap_or_else(|| vault.agency.clone()),
        commitment: row.commitment,
        data,
    }))
}

#[derive(Deserialize)]
struct ShareQuery {
    tx: String,
    record: String,
}

async fn share(
    State(vault): State<Arc<Vault>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<ShareQuery>,
) -> Result<Json<SharedCopy>, ApiError> {
    let tx = parse_hash(&query.tx, "tx")?;
    let wanted = parse_hash(&query.record, "record")?;
    let (asker, _admitted) = vault.admit(&method, &uri, &headers).await?;
    let receipt = vault.node.receipt(&tx).await?.ok_or_else(|| {
        forbidden(
            "entry_not_final",
            format!("share {tx} is not final on the ledger"),
        )
    })?;
    let me = vault.agency.clone();
    let recipient = event_in(&receipt, None, |e| match e {
        SharingEvent::RecordShared {
            record,
            holder,
            recipient,
            ..
        } if *holder == me && *record == wanted => Some(recipient.clone()),
        _ => None,
    })?;
    // The asker must be the receiving agency's vault, as the ledger names it.
    let theirs: VaultEntry = vault
        .node
        .state(format!("sharing/vault/{recipient}"))
        .await?
        .ok_or_else(|| forbidden("no_vault", format!("{recipient} has named no vault")))?;
    if theirs.account != asker.id {
        return Err(forbidden(
            "not_their_vault",
            format!("only the vault {recipient} named on the ledger receives its copies"),
        ));
    }
    // The share must still stand: the last to that agency, of the version in force, the record
    // not erased, its basis in force, and a consent it relied on still in force.
    let grant: Grant = vault
        .node
        .state(format!("sharing/grant/{wanted}/{recipient}"))
        .await?
        .ok_or_else(|| forbidden("no_copy", "the ledger records no such share"))?;
    if grant.tx != tx {
        return Err(forbidden(
            "share_superseded",
            format!(
                "a later share to {recipient} replaced {tx}; cite {}",
                grant.tx
            ),
        ));
    }
    let entry = vault.live_entry(&wanted).await?;
    if grant.version != entry.version {
        return Err(forbidden(
            "share_outdated",
            format!(
                "{recipient} was given version {} of record {wanted}, which was rectified \
                 since: it must request version {} ",
                grant.version, entry.version
            ),
        ));
    }
    vault
        .grant_stands(&grant, &vault.node.bases().await?, None)
        .await?;
    let to: EncryptionKey = vault
        .node
        .state(format!("identity/encryption_key/{}", theirs.account))
        .await?
        .ok_or_else(|| {
            forbidden(
                "no_encryption_key",
                "the receiving vault has no encryption key",
            )
        })?;
    if let Ok(row) = vault.store.latest(RecordId(wanted.0)).await
        && row.status == Status::Pending
        && row.origin.is_none()
    {
        vault.settle_from_ledger(RecordId(wanted.0), &entry).await?;
    }
    let copy = vault
        .store
        .share(RecordId(wanted.0), &recipient, &to, &vault.keys)
        .await?;
    if copy.version != grant.version {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "share_outdated",
            "this vault holds another version in force than the ledger shared: retry shortly",
        ));
    }
    Ok(Json(copy))
}

/// `?vault=AGENCY`, and nothing else: a signed `GET` of the erasure requests can never be the
/// signed path of a person's `POST` (signed reads do not cover the method), nor the reverse.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VaultQuery {
    vault: String,
}

async fn mine(
    State(vault): State<Arc<Vault>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<VaultQuery>,
) -> Result<Json<Value>, ApiError> {
    vault.for_this_vault(&query.vault)?;
    let (person, _admitted) = vault.admit(&method, &uri, &headers).await?;
    let copies = vault.store.export(&person.id).await?;
    Ok(Json(json!({
        "agency": vault.agency,
        "subject": person.id,
        "records": copies,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ErasureQuery {
    vault: String,
    record: String,
}

/// Most erasure requests listed at once.
pub const ERASURE_REQUESTS_LISTED_MAX: u32 = 500;

/// The person a record is about asks the holding agency to erase it. The request stays with
/// the vault (not on the ledger, which would link the person to the record for everyone) and
/// is listed to the agency's records officers until the record's erasure is final.
async fn request_erasure(
    State(vault): State<Arc<Vault>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<ErasureQuery>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    vault.for_this_vault(&query.vault)?;
    let record = parse_record(&query.record)?;
    let (person, _admitted) = vault.admit(&method, &uri, &headers).await?;
    let requested_ms = vault
        .store
        .request_erasure(record, &person.id, now_ms())
        .await
        .map_err(|e| match e {
            VaultError::NotFound(_) => ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!(
                    "this vault holds no record {record} about you that can be erased \
                     (a copy another agency gave it is erased by the holder)"
                ),
            ),
            other => other.into(),
        })?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "record": record, "requested_ms": requested_ms })),
    ))
}

/// The erasure requests waiting, for the agency's records officers and admins.
async fn erasure_requests(
    State(vault): State<Arc<Vault>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<VaultQuery>,
) -> Result<Json<Value>, ApiError> {
    vault.for_this_vault(&query.vault)?;
    let (official, _admitted) = vault.admit(&method, &uri, &headers).await?;
    vault.official_here(&official, RECORDS_ROLES)?;
    let requests = vault
        .store
        .erasure_requests(ERASURE_REQUESTS_LISTED_MAX)
        .await?;
    let items: Vec<Value> = requests
        .into_iter()
        .map(|(record, schema, at)| json!({ "record": record, "schema": schema, "requested_ms": at }))
        .collect();
    Ok(Json(json!({ "agency": vault.agency, "requests": items })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeclineQuery {
    vault: String,
    record: String,
    reason: String,
}

/// A records officer declines a person's request to erase a record, on one of the grounds
/// the law gives (a code); the person sees when and why in their download, and may ask again.
async fn decline_erasure(
    State(vault): State<Arc<Vault>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<DeclineQuery>,
) -> Result<Json<Value>, ApiError> {
    vault.for_this_vault(&query.vault)?;
    let record = parse_record(&query.record)?;
    let Some(text) = crate::store::refusal_text(&query.reason) else {
        return Err(bad(format!(
            "reason {:?} is not a ground for declining; one of: {}",
            query.reason,
            crate::store::refusal_codes()
        )));
    };
    let (official, _admitted) = vault.admit(&method, &uri, &headers).await?;
    vault.official_here(&official, RECORDS_ROLES)?;
    let now = now_ms();
    vault
        .store
        .decline_erasure(record, &query.reason, now)
        .await
        .map_err(|e| match e {
            VaultError::NotFound(_) => ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no request to erase {record} is waiting in this vault"),
            ),
            other => other.into(),
        })?;
    Ok(Json(json!({
        "record": record,
        "declined_ms": now,
        "reason": query.reason,
        "reason_text": text,
    })))
}
