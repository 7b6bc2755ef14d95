//! Signed read requests: how an account proves who is asking for a record that is not public.
//!
//! A reader signs `string(chain_id) || string(path) || be64(time_ms)` in the `civitas/read/v1`
//! namespace with one or more of its keys (as many as its threshold; other accounts' keys make
//! them co-signers, as for transactions). The request carries three HTTP headers:
//!
//! ```text
//! civitas-account: <account id, hex>
//! civitas-time: <milliseconds since the Unix epoch>
//! civitas-signature: <public key hex>:<signature hex>[,<public key hex>:<signature hex>...]
//! ```
//!
//! The node accepts a request signed within [`READ_MAX_SKEW_MS`] of its clock, for exactly the
//! path (with its query string) it was signed for, then asks the authorization policies. Reads
//! feed nothing into consensus, so the node's clock is fine here.

use crate::codec::{str_size, write_str};
use crate::crypto::{AccountId, PrivateKey, PublicKey, Signature};
use crate::limits::TX_SIGNATURES_MAX;
use crate::time::TimestampMs;

/// Signature namespace of read requests.
pub const READ_NAMESPACE: &[u8] = b"civitas/read/v1";
/// How far a read request's time may be from the node's clock, in milliseconds.
pub const READ_MAX_SKEW_MS: u64 = 5 * 60 * 1000;
/// Longest path (with query) a read request may sign, in bytes.
pub const READ_PATH_MAX_BYTES: usize = 2048;

/// Header naming the reading account.
pub const HEADER_ACCOUNT: &str = "civitas-account";
/// Header with the signing time.
pub const HEADER_TIME: &str = "civitas-time";
/// Header with the signatures.
pub const HEADER_SIGNATURE: &str = "civitas-signature";

/// A read request's proof of who asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedRead {
    /// The account asking.
    pub account: AccountId,
    /// When it signed.
    pub time: TimestampMs,
    /// Its signatures (and any co-signers').
    pub signatures: Vec<(PublicKey, Signature)>,
}

/// Why a read request's signature is not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// A header is missing.
    #[error(
        "this record is not public: sign the request (headers {HEADER_ACCOUNT}, {HEADER_TIME}, {HEADER_SIGNATURE}; `civitas query` does it with --key)"
    )]
    Unsigned,
    /// A header does not parse.
    #[error("malformed {0} header")]
    Malformed(&'static str),
    /// Too far from the node's clock.
    #[error(
        "the request was signed at {signed} ms, more than 5 minutes from this node's clock ({now} ms); check the clock and sign again"
    )]
    Stale {
        /// When it was signed.
        signed: u64,
        /// The node's time.
        now: u64,
    },
    /// A signature does not verify for this path.
    #[error(
        "the signature by {0} does not match this request (it must sign the chain id, the exact path with its query string, and the time)"
    )]
    BadSignature(String),
}

fn message(chain_id: &str, path: &str, time: TimestampMs) -> Vec<u8> {
    let mut out = Vec::with_capacity(str_size(chain_id) + str_size(path) + 8);
    write_str(chain_id, &mut out);
    write_str(path, &mut out);
    out.extend_from_slice(&time.0.to_be_bytes());
    out
}

impl SignedRead {
    /// Signs a read of `path` on `chain_id` for `account` with `keys`.
    pub fn sign(
        chain_id: &str,
        path: &str,
        account: AccountId,
        time: TimestampMs,
        keys: &[&PrivateKey],
    ) -> Self {
        let message = message(chain_id, path, time);
        Self {
            account,
            time,
            signatures: keys
                .iter()
                .map(|key| (key.public_key(), key.sign(READ_NAMESPACE, &message)))
                .collect(),
        }
    }

    /// The three header values: account, time, signatures.
    pub fn headers(&self) -> [(&'static str, String); 3] {
        let signatures = self
            .signatures
            .iter()
            .map(|(key, signature)| format!("{key}:{}", signature.to_hex()))
            .collect::<Vec<_>>()
            .join(",");
        [
            (HEADER_ACCOUNT, self.account.to_hex()),
            (HEADER_TIME, self.time.0.to_string()),
            (HEADER_SIGNATURE, signatures),
        ]
    }

    /// Parses the three header values (any of them `None` when absent).
    pub fn from_headers(
        account: Option<&str>,
        time: Option<&str>,
        signatures: Option<&str>,
    ) -> Result<Self, ReadError> {
        let (Some(account), Some(time), Some(signatures)) = (account, time, signatures) else {
            return Err(ReadError::Unsigned);
        };
        let account =
            AccountId::from_hex(account).map_err(|_| ReadError::Malformed(HEADER_ACCOUNT))?;
        let time = time
            .trim()
            .parse::<u64>()
            .map_err(|_| ReadError::Malformed(HEADER_TIME))?;
        let mut parsed = Vec::new();
        for entry in signatures.split(',') {
            if parsed.len() == TX_SIGNATURES_MAX {
                return Err(ReadError::Malformed(HEADER_SIGNATURE));
            }
            let (key, signature) = entry
                .trim()
                .split_once(':')
                .ok_or(ReadError::Malformed(HEADER_SIGNATURE))?;
            let key =
                PublicKey::from_hex(key).map_err(|_| ReadError::Malformed(HEADER_SIGNATURE))?;
            if parsed.iter().any(|(k, _)| k == &key) {
                return Err(ReadError::Malformed(HEADER_SIGNATURE));
            }
            let signature = Signature::from_hex(signature)
                .map_err(|_| ReadError::Malformed(HEADER_SIGNATURE))?;
            parsed.push((key, signature));
        }
        Ok(Self {
            account,
            time: TimestampMs(time),
            signatures: parsed,
        })
    }

    /// Checks freshness against `now` and every signature over `path`; returns the signing keys.
    pub fn verify(
        &self,
        chain_id: &str,
        path: &str,
        now: TimestampMs,
    ) -> Result<Vec<&PublicKey>, ReadError> {
        if path.len() > READ_PATH_MAX_BYTES {
            return Err(ReadError::Malformed("path"));
        }
        if self.time.0.abs_diff(now.0) > READ_MAX_SKEW_MS {
            return Err(ReadError::Stale {
                signed: self.time.0,
                now: now.0,
            });
        }
        let message = message(chain_id, path, self.time);
        for (key, signature) in &self.signatures {
            if !key.verify(READ_NAMESPACE, &message, signature) {
                return Err(ReadError::BadSignature(key.to_hex()));
            }
        }
        Ok(self.signatures.iter().map(|(key, _)| key).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_reads_verify_only_for_their_path_and_time() {
        let key = PrivateKey::from_test_seed(7);
        let account = key.public_key().account_id();
        let now = TimestampMs(1_700_000_000_000);
        let read = SignedRead::sign("civitas", "/v1/accounts/x/pending", account, now, &[&key]);
        let [a, t, s] = read.headers();
        let parsed = SignedRead::from_headers(Some(&a.1), Some(&t.1), Some(&s.1)).expect("parses");
        assert_eq!(parsed, read);
        assert_eq!(
            parsed
                .verify("civitas", "/v1/accounts/x/pending", now)
                .unwrap(),
            vec![&key.public_key()]
        );
        // Another path, another chain, or too old: refused.
        assert!(matches!(
            parsed.verify("civitas", "/v1/accounts/y/pending", now),
            Err(ReadError::BadSignature(_))
        ));
        assert!(
            parsed
                .verify("other", "/v1/accounts/x/pending", now)
                .is_err()
        );
        assert!(matches!(
            parsed.verify(
                "civitas",
                "/v1/accounts/x/pending",
                TimestampMs(now.0 + READ_MAX_SKEW_MS + 1)
            ),
            Err(ReadError::Stale { .. })
        ));
        // Missing or garbled headers.
        assert_eq!(
            SignedRead::from_headers(Some(&a.1), None, Some(&s.1)),
            Err(ReadError::Unsigned)
        );
        assert!(SignedRead::from_headers(Some("zz"), Some(&t.1), Some(&s.1)).is_err());
        assert!(SignedRead::from_headers(Some(&a.1), Some("soon"), Some(&s.1)).is_err());
        assert!(SignedRead::from_headers(Some(&a.1), Some(&t.1), Some("nocolon")).is_err());
        let twice = format!("{},{}", s.1, s.1);
        assert!(SignedRead::from_headers(Some(&a.1), Some(&t.1), Some(&twice)).is_err());
    }
}
