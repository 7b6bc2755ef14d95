//! Civitas client SDK: build and sign transactions, submit them to any node, follow them to
//! finality, read the ledger and fetch proof bundles.
//!
//! It depends only on `civitas-core` and a small blocking HTTP client, never on the node.

use civitas_core::crypto::{AccountId, PrivateKey};
use civitas_core::hash::Hash32;
use civitas_core::instruction::Instruction;
use civitas_core::keyfile::KeyFile;
use civitas_core::time::TimestampMs;
use civitas_core::tx::{SignedTx, TxBody, TxHash};
use commonware_codec::Encode;
use serde_json::Value;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a transaction stays valid by default, in milliseconds (ten minutes).
pub const DEFAULT_EXPIRY_MS: u64 = 10 * 60 * 1000;
/// Longest response body read, in bytes.
const RESPONSE_MAX_BYTES: u64 = 16 * 1024 * 1024;

/// What went wrong talking to a node.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The node could not be reached.
    #[error("cannot reach the node at {url}: {reason}")]
    Unreachable {
        /// Which URL.
        url: String,
        /// Transport error.
        reason: String,
    },
    /// The node answered with an error.
    #[error("{message} ({code}, HTTP {status})")]
    Api {
        /// HTTP status.
        status: u16,
        /// Stable error code.
        code: String,
        /// The node's explanation.
        message: String,
    },
    /// The answer was not what the API promises.
    #[error("unexpected answer from the node: {0}")]
    Protocol(String),
    /// The transaction did not reach finality in time.
    #[error(
        "transaction {0} was not finalized within {1:?}; check it later with `civitas query tx {0}`"
    )]
    Timeout(TxHash, Duration),
}

impl ClientError {
    /// The API error code, if the node answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// The node's verdict on one transaction of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchVerdict {
    /// The transaction's hash.
    pub hash: TxHash,
    /// `None` when admitted; otherwise the error code and message.
    pub error: Option<(String, String)>,
}

impl BatchVerdict {
    /// Whether the node refused it only for now (`mempool_full`, `nonce_too_far`,
    /// `state_unavailable`): the same transaction may be sent again shortly.
    pub fn retry_later(&self) -> bool {
        self.error.as_ref().is_some_and(|(code, _)| is_busy(code))
    }
}

/// Whether an error code means "not now": the same request may be sent again shortly.
pub fn is_busy(code: &str) -> bool {
    matches!(
        code,
        "mempool_full"
            | "nonce_too_far"
            | "state_unavailable"
            | "overloaded"
            | "rate_limited"
            | "timeout"
    )
}

/// A node's HTTP API.
#[derive(Clone, Debug)]
pub struct Client {
    base: String,
    agent: ureq::Agent,
}

/// The final state of a transaction.
#[derive(Clone, Debug)]
pub struct Finality {
    /// Transaction hash.
    pub hash: TxHash,
    /// `finalized`, `failed` or `rejected`.
    pub status: String,
    /// The full status document.
    pub document: Value,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Client {
    /// A client for the node at `base` (such as `http://127.0.0.1:8080`).
    pub fn new(base: &str) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(30)))
            .http_status_as_error(false)
            .build();
        Self {
            base: base.trim_end_matches('/').to_string(),
            agent: config.into(),
        }
    }

    /// The node's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn unreachable(&self, error: impl std::fmt::Display) -> ClientError {
        ClientError::Unreachable {
            url: self.base.clone(),
            reason: error.to_string(),
        }
    }

    fn read(&self, mut response: ureq::http::Response<ureq::Body>) -> Result<Vec<u8>, ClientError> {
        let status = response.status().as_u16();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(RESPONSE_MAX_BYTES)
            .read_to_vec()
            .map_err(|e| self.unreachable(e))?;
        if status >= 400 {
            let parsed: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let code = parsed["error"]["code"]
                .as_str()
                .unwrap_or("http_error")
                .to_string();
            let message = parsed["error"]["message"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
            return Err(ClientError::Api {
                status,
                code,
                message,
            });
        }
        Ok(bytes)
    }

    /// GET `path` as JSON.
    pub fn get_json(&self, path: &str) -> Result<Value, ClientError> {
        let response = self
            .agent
            .get(&self.url(path))
            .call()
            .map_err(|e| self.unreachable(e))?;
        let bytes = self.read(response)?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol(e.to_string()))
    }

    /// The signed-read headers for `path` by `key`'s account, with `cosigners`' keys too
    /// (`docs/API.md`, "Signed reads").
    fn read_headers(
        path: &str,
        chain_id: &str,
        key: &KeyFile,
        cosigners: &[KeyFile],
    ) -> Result<[(&'static str, String); 3], ClientError> {
        let keys =
            private_keys(key, cosigners).map_err(|e| ClientError::Protocol(e.to_string()))?;
        let refs: Vec<&PrivateKey> = keys.iter().collect();
        Ok(civitas_core::read::SignedRead::sign(
            chain_id,
            path,
            key.account(),
            TimestampMs(now_ms()),
            &refs,
        )
        .headers())
    }

    /// An answer as JSON (`null` for an empty one).
    fn json_of(bytes: &[u8]) -> Result<Value, ClientError> {
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(bytes).map_err(|e| ClientError::Protocol(e.to_string()))
    }

    /// GET `path` as JSON, signed as a read by `key`'s account (with `cosigners`' keys too), for
    /// records that are not public.
    pub fn get_signed_json(
        &self,
        path: &str,
        chain_id: &str,
        key: &KeyFile,
        cosigners: &[KeyFile],
    ) -> Result<Value, ClientError> {
        let mut request = self.agent.get(&self.url(path));
        for (name, value) in Self::read_headers(path, chain_id, key, cosigners)? {
            request = request.header(name, value);
        }
        let response = request.call().map_err(|e| self.unreachable(e))?;
        let bytes = self.read(response)?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol(e.to_string()))
    }

    /// Sends `method` (`GET`, `POST` with an empty body, or `DELETE`) to `path` signed as a
    /// read by `key`'s account (the signature covers the path with its query); returns the
    /// JSON answer (`null` for an empty one).
    pub fn signed_json(
        &self,
        method: &str,
        path: &str,
        chain_id: &str,
        key: &KeyFile,
    ) -> Result<Value, ClientError> {
        let headers = Self::read_headers(path, chain_id, key, &[])?;
        let url = self.url(path);
        let response = match method {
            "POST" => {
                let mut request = self.agent.post(&url);
                for (name, value) in headers {
                    request = request.header(name, value);
                }
                request.send_empty()
            }
            "DELETE" => {
                let mut request = self.agent.delete(&url);
                for (name, value) in headers {
                    request = request.header(name, value);
                }
                request.call()
            }
            _ => {
                let mut request = self.agent.get(&url);
                for (name, value) in headers {
                    request = request.header(name, value);
                }
                request.call()
            }
        }
        .map_err(|e| self.unreachable(e))?;
        Self::json_of(&self.read(response)?)
    }

    /// POSTs the JSON `body` to `path` signed as a read by `key`'s account. The signature
    /// covers the path and its query, not the body: `?sha256=<the body's SHA-256>` is added to
    /// the query, and the server checks the body against it (as a vault does).
    pub fn signed_post_json(
        &self,
        path: &str,
        chain_id: &str,
        key: &KeyFile,
        body: &Value,
    ) -> Result<Value, ClientError> {
        let bytes = serde_json::to_vec(body).map_err(|e| ClientError::Protocol(e.to_string()))?;
        let separator = if path.contains('?') { '&' } else { '?' };
        let path = format!("{path}{separator}sha256={}", Hash32::sha256(&bytes));
        let mut request = self
            .agent
            .post(&self.url(&path))
            .header("content-type", "application/json");
        for (name, value) in Self::read_headers(&path, chain_id, key, &[])? {
            request = request.header(name, value);
        }
        let response = request.send(&bytes[..]).map_err(|e| self.unreachable(e))?;
        let answer = self.read(response)?;
        serde_json::from_slice(&answer).map_err(|e| ClientError::Protocol(e.to_string()))
    }

    /// The chain id the node reports.
    pub fn chain_id(&self) -> Result<String, ClientError> {
        self.status()?["chain_id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| ClientError::Protocol("the node did not report its chain id".into()))
    }

    /// The state value at `path` (`identity/account/<hex>`: a key space and an id, as
    /// `/v1/state/` takes them), decoded from its canonical bytes; `None` if absent.
    pub fn state<T: commonware_codec::Decode<Cfg = ()>>(
        &self,
        path: &str,
    ) -> Result<Option<T>, ClientError> {
        let value = self.get_json(&format!("/v1/state/{path}"))?;
        if value["found"].as_bool() != Some(true) {
            return Ok(None);
        }
        let bytes = value["value_hex"]
            .as_str()
            .and_then(|h| hex::decode(h).ok())
            .ok_or_else(|| ClientError::Protocol(format!("{path}: the value is not hex")))?;
        civitas_core::codec::from_slice(&bytes, &())
            .map(Some)
            .map_err(|e| ClientError::Protocol(format!("{path}: {e}")))
    }

    /// GET `path` as bytes.
    pub fn get_bytes(&self, path: &str) -> Result<Vec<u8>, ClientError> {
        let response = self
            .agent
            .get(&self.url(path))
            .call()
            .map_err(|e| self.unreachable(e))?;
        self.read(response)
    }

    /// Chain status.
    pub fn status(&self) -> Result<Value, ClientError> {
        self.get_json("/v1/status")
    }

    /// The account's next nonce as finalized.
    pub fn next_nonce(&self, account: &AccountId) -> Result<u64, ClientError> {
        let value = self.get_json(&format!("/v1/accounts/{account}/nonce"))?;
        value["next_nonce"]
            .as_u64()
            .ok_or_else(|| ClientError::Protocol("missing next_nonce".into()))
    }

    /// Posts `body` as `application/octet-stream` to `path`; returns the JSON answer.
    fn post_bytes(&self, path: &str, body: &[u8]) -> Result<Value, ClientError> {
        let response = self
            .agent
            .post(&self.url(path))
            .header("content-type", "application/octet-stream")
            .send(body)
            .map_err(|e| self.unreachable(e))?;
        let bytes = self.read(response)?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol(e.to_string()))
    }

    /// Submits a signed transaction.
    pub fn submit(&self, tx: &SignedTx) -> Result<TxHash, ClientError> {
        let value = self.post_bytes("/v1/transactions", &tx.encode())?;
        let hash = value["hash"]
            .as_str()
            .ok_or_else(|| ClientError::Protocol("missing hash".into()))?;
        Hash32::from_hex(hash).map_err(|e| ClientError::Protocol(e.to_string()))
    }

    /// Submits up to 256 transactions in one request; returns one verdict per transaction, in
    /// order: `Ok(hash)` when admitted, or the node's error (code and message).
    pub fn submit_batch(&self, txs: &[SignedTx]) -> Result<Vec<BatchVerdict>, ClientError> {
        let value = self.post_bytes("/v1/transactions/batch", &SignedTx::encode_batch(txs))?;
        let results = value["results"]
            .as_array()
            .filter(|results| results.len() == txs.len())
            .ok_or_else(|| ClientError::Protocol("missing or short \"results\"".into()))?;
        Ok(results
            .iter()
            .zip(txs)
            .map(|(result, tx)| BatchVerdict {
                hash: tx.hash(),
                error: result["error"]["code"].as_str().map(|code| {
                    let message = result["error"]["message"].as_str().unwrap_or("");
                    (code.to_string(), message.to_string())
                }),
            })
            .collect())
    }

    /// Status of a transaction (`pending`, `finalized`, `failed`, `rejected`).
    pub fn tx_status(&self, hash: &TxHash) -> Result<Value, ClientError> {
        self.get_json(&format!("/v1/transactions/{hash}"))
    }

    /// Waits until the transaction is finalized, failed or rejected.
    pub fn wait(&self, hash: &TxHash, timeout: Duration) -> Result<Finality, ClientError> {
        let start = Instant::now();
        loop {
            match self.tx_status(hash) {
                Ok(document) => {
                    let status = document["status"].as_str().unwrap_or("").to_string();
                    if status != "pending" {
                        return Ok(Finality {
                            hash: *hash,
                            status,
                            document,
                        });
                    }
                }
                Err(ClientError::Api { status: 404, .. }) => {}
                Err(e) => return Err(e),
            }
            if start.elapsed() > timeout {
                return Err(ClientError::Timeout(*hash, timeout));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Signs `instructions` as a transaction of the key file's account.
pub fn build_tx(
    chain_id: &str,
    key: &KeyFile,
    nonce: u64,
    instructions: Vec<Instruction>,
    memo: &str,
) -> Result<SignedTx, civitas_core::codec::DecodeError> {
    build_cosigned_tx(
        chain_id,
        key,
        &[],
        nonce,
        instructions,
        memo,
        DEFAULT_EXPIRY_MS,
    )
}

/// Like [`build_tx`], also signed by `cosigners` (more keys of a k-of-n account, or other
/// accounts whose signatures a policy asks for), expiring `expires_in_ms` from now.
pub fn build_cosigned_tx(
    chain_id: &str,
    key: &KeyFile,
    cosigners: &[KeyFile],
    nonce: u64,
    instructions: Vec<Instruction>,
    memo: &str,
    expires_in_ms: u64,
) -> Result<SignedTx, civitas_core::codec::DecodeError> {
    let keys = private_keys(key, cosigners)?;
    let refs: Vec<&PrivateKey> = keys.iter().collect();
    Ok(TxBody {
        chain_id: chain_id.to_string(),
        signer: key.account(),
        nonce,
        expiry: TimestampMs(now_ms() + expires_in_ms),
        instructions,
        memo: memo.to_string(),
    }
    .into_signed(&refs))
}

/// The private keys of `key` and then of each co-signer.
fn private_keys(
    key: &KeyFile,
    cosigners: &[KeyFile],
) -> Result<Vec<PrivateKey>, civitas_core::codec::DecodeError> {
    std::iter::once(key)
        .chain(cosigners)
        .map(KeyFile::private_key)
        .collect()
}

/// Hex of a transaction's encoding (for `{"transaction": ...}` submissions).
pub fn to_hex(tx: &SignedTx) -> String {
    hex::encode(tx.encode())
}
