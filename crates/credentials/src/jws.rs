//! Compact JWS (RFC 7515): `base64url(header).base64url(payload).base64url(signature)`, the
//! header and payload JSON objects. The algorithm is the key's: a header naming another (or
//! `none`) is refused, so a token cannot choose how it is checked; so is a `crit` header this
//! crate does not understand.

use crate::keys::{PublicKey, SigningKey};
use crate::{Error, b64, limits, malformed};
use serde_json::{Map, Value};

/// A compact JWS of `payload` with `header` (whose `alg` is set to the key's), signed.
pub fn sign(key: &SigningKey, mut header: Map<String, Value>, payload: &Value) -> String {
    header.insert("alg".into(), Value::String(key.alg().into()));
    let input = format!(
        "{}.{}",
        b64::encode(Value::Object(header).to_string().as_bytes()),
        b64::encode(payload.to_string().as_bytes())
    );
    let signature = key.sign(input.as_bytes());
    format!("{input}.{}", b64::encode(&signature))
}

/// A compact JWS read but not yet verified.
#[derive(Debug, Clone)]
pub struct Parsed<'a> {
    /// The header.
    pub header: Map<String, Value>,
    /// The payload.
    pub payload: Map<String, Value>,
    /// `header.payload`, as signed.
    pub input: &'a str,
    /// The signature's bytes.
    pub signature: Vec<u8>,
}

/// Reads `token` (its header and payload must be JSON objects); `what` names it in errors.
pub fn parse<'a>(token: &'a str, what: &str) -> Result<Parsed<'a>, Error> {
    if token.len() > limits::SD_JWT_MAX_BYTES {
        return Err(Error::TooLarge(format!(
            "{what} is over {} bytes",
            limits::SD_JWT_MAX_BYTES
        )));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed(format!(
            "{what} is not a compact JWS (three parts separated by dots)"
        )));
    };
    let object = |part: &str, name: &str| -> Result<Map<String, Value>, Error> {
        let bytes = b64::decode(part, &format!("{what}'s {name}"))?;
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(malformed(format!("{what}'s {name} is not a JSON object"))),
        }
    };
    Ok(Parsed {
        header: object(header, "header")?,
        payload: object(payload, "payload")?,
        input: &token[..header.len() + 1 + payload.len()],
        signature: b64::decode(signature, &format!("{what}'s signature"))?,
    })
}

impl Parsed<'_> {
    /// Checks the signature with `key`, whose algorithm the header must name; `bad` is the
    /// error when it does not verify.
    pub fn verify(&self, key: &PublicKey, bad: impl FnOnce() -> Error) -> Result<(), Error> {
        let alg = self.header.get("alg").and_then(Value::as_str).unwrap_or("");
        if alg != key.alg() {
            return Err(Error::Unsupported(format!(
                "the JWS says alg {alg:?}, but its key signs with {}",
                key.alg()
            )));
        }
        if self.header.contains_key("crit") {
            return Err(Error::Unsupported(
                "the JWS has critical header parameters (crit), which are not understood here"
                    .into(),
            ));
        }
        if key.verify(self.input.as_bytes(), &self.signature) {
            Ok(())
        } else {
            Err(bad())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_signed_token_verifies_with_its_key_only() {
        let key = SigningKey::generate_p256().expect("a key");
        let other = SigningKey::generate_ed25519().expect("a key");
        let token = sign(&key, Map::new(), &json!({"a": 1}));
        let parsed = parse(&token, "the token").expect("parsed");
        assert_eq!(parsed.payload["a"], 1);
        assert!(parsed.verify(&key.public(), || Error::BadSignature).is_ok());
        assert_eq!(
            parsed
                .verify(&other.public(), || Error::BadSignature)
                .map_err(|e| e.code()),
            Err("unsupported"),
            "an EdDSA key does not check an ES256 token"
        );
        let stranger = SigningKey::generate_p256().expect("a key");
        assert_eq!(
            parsed.verify(&stranger.public(), || Error::BadSignature),
            Err(Error::BadSignature)
        );
        // `alg: none` with the signature stripped.
        let none = format!(
            "{}.{}.",
            b64::encode(br#"{"alg":"none"}"#),
            token.split('.').nth(1).unwrap_or("")
        );
        let parsed = parse(&none, "the token").expect("parsed");
        assert!(
            parsed
                .verify(&key.public(), || Error::BadSignature)
                .is_err()
        );
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for token in ["", "a.b", "a.b.c.d", "e30.e30.!!", "W10.e30.", "e30.W10."] {
            assert_eq!(
                parse(token, "t").map(|_| ()).map_err(|e| e.code()),
                Err("malformed"),
                "{token}"
            );
        }
    }
}
