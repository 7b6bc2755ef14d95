//! Signing keys of issuers and holders, as JSON Web Keys (RFC 7517): ES256 on P-256 (`kty`
//! `EC`, which wallets require) and EdDSA on Ed25519 (`kty` `OKP`, RFC 8037). A public JWK
//! is read strictly: its type and curve, coordinates of the exact length, a point on the
//! curve, and no private part.

use crate::{Error, b64, malformed};
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use serde_json::{Value, json};

/// A public key that verifies JWS signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    /// ES256.
    P256(p256::ecdsa::VerifyingKey),
    /// EdDSA.
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// A private key that signs.
#[derive(Clone)]
pub enum SigningKey {
    /// ES256.
    P256(p256::ecdsa::SigningKey),
    /// EdDSA.
    Ed25519(ed25519_dalek::SigningKey),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.public().to_jwk())
    }
}

/// A member of a JWK that must be text, decoded from base64url to exactly `len` bytes.
fn coordinate(jwk: &Value, name: &str, len: usize) -> Result<Vec<u8>, Error> {
    let text = jwk[name]
        .as_str()
        .ok_or_else(|| malformed(format!("the JWK has no {name}")))?;
    let bytes = b64::decode(text, &format!("the JWK's {name}"))?;
    if bytes.len() != len {
        return Err(malformed(format!(
            "the JWK's {name} is {} bytes, not {len}",
            bytes.len()
        )));
    }
    Ok(bytes)
}

fn key_type(jwk: &Value) -> Result<(&str, &str), Error> {
    if !jwk.is_object() {
        return Err(malformed("a JWK is a JSON object"));
    }
    let kty = jwk["kty"].as_str().unwrap_or("");
    let crv = jwk["crv"].as_str().unwrap_or("");
    Ok((kty, crv))
}

impl PublicKey {
    /// Reads a public JWK (`EC` `P-256` or `OKP` `Ed25519`).
    pub fn from_jwk(jwk: &Value) -> Result<Self, Error> {
        let (kty, crv) = key_type(jwk)?;
        if jwk.get("d").is_some() {
            return Err(malformed(
                "a public JWK must not carry its private part (d): keep it secret",
            ));
        }
        match (kty, crv) {
            ("EC", "P-256") => {
                let mut point = vec![4u8];
                point.extend(coordinate(jwk, "x", 32)?);
                point.extend(coordinate(jwk, "y", 32)?);
                p256::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                    .map(Self::P256)
                    .map_err(|_| malformed("the JWK's x and y are not a point of P-256"))
            }
            ("OKP", "Ed25519") => {
                let x: [u8; 32] = coordinate(jwk, "x", 32)?
                    .try_into()
                    .map_err(|_| malformed("the JWK's x is not 32 bytes"))?;
                match ed25519_dalek::VerifyingKey::from_bytes(&x) {
                    Ok(key) if !key.is_weak() => Ok(Self::Ed25519(key)),
                    Ok(_) => Err(malformed(
                        "the JWK's x is a small-order Ed25519 point, which verifies nothing",
                    )),
                    Err(_) => Err(malformed("the JWK's x is not an Ed25519 public key")),
                }
            }
            _ => Err(Error::Unsupported(format!(
                "keys of type {kty:?} on curve {crv:?}: use EC P-256 (ES256) or OKP Ed25519 (EdDSA)"
            ))),
        }
    }

    /// The JWK, with its required members only.
    pub fn to_jwk(&self) -> Value {
        match self {
            Self::P256(key) => {
                let point = key.to_sec1_point(false);
                let x = point.x().map(|x| b64::encode(x)).unwrap_or_default();
                let y = point.y().map(|y| b64::encode(y)).unwrap_or_default();
                json!({"kty": "EC", "crv": "P-256", "x": x, "y": y})
            }
            Self::Ed25519(key) => {
                json!({"kty": "OKP", "crv": "Ed25519", "x": b64::encode(&key.to_bytes())})
            }
        }
    }

    /// The JWK thumbprint (RFC 7638): the SHA-256 of the required members, in lexical order,
    /// without whitespace, in base64url. Written out here rather than through a JSON map,
    /// whose key order depends on how serde_json is built (`preserve_order`).
    pub fn thumbprint(&self) -> String {
        let jwk = self.to_jwk();
        let member = |name: &str| jwk[name].as_str().unwrap_or("").to_string();
        let canonical = match self {
            Self::P256(_) => format!(
                r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                member("x"),
                member("y")
            ),
            Self::Ed25519(_) => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, member("x")),
        };
        b64::sha256(&canonical)
    }

    /// The JWS algorithm the key verifies.
    pub fn alg(&self) -> &'static str {
        match self {
            Self::P256(_) => "ES256",
            Self::Ed25519(_) => "EdDSA",
        }
    }

    /// Whether `signature` (JWS form: `r || s` for ES256) signs `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::P256(key) => p256::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|s| key.verify(message, &s).is_ok()),
            Self::Ed25519(key) => <[u8; 64]>::try_from(signature).is_ok_and(|bytes| {
                key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(&bytes))
                    .is_ok()
            }),
        }
    }
}

impl SigningKey {
    /// A new ES256 key from the system's random source.
    pub fn generate_p256() -> Result<Self, Error> {
        // A random 32-byte string is a valid scalar except with negligible probability; try
        // again then.
        for _ in 0..8 {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes)
                .map_err(|e| Error::Unsupported(format!("no random source: {e}")))?;
            if let Ok(key) = p256::ecdsa::SigningKey::from_slice(&bytes) {
                return Ok(Self::P256(key));
            }
        }
        Err(Error::Unsupported("no valid P-256 scalar drawn".into()))
    }

    /// A new EdDSA key from the system's random source.
    pub fn generate_ed25519() -> Result<Self, Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| Error::Unsupported(format!("no random source: {e}")))?;
        Ok(Self::Ed25519(ed25519_dalek::SigningKey::from_bytes(&bytes)))
    }

    /// Reads a private JWK (with `d`).
    pub fn from_jwk(jwk: &Value) -> Result<Self, Error> {
        let (kty, crv) = key_type(jwk)?;
        let key = match (kty, crv) {
            ("EC", "P-256") => p256::ecdsa::SigningKey::from_slice(&coordinate(jwk, "d", 32)?)
                .map(Self::P256)
                .map_err(|_| malformed("the JWK's d is not a P-256 private key"))?,
            ("OKP", "Ed25519") => {
                let d: [u8; 32] = coordinate(jwk, "d", 32)?
                    .try_into()
                    .map_err(|_| malformed("the JWK's d is not 32 bytes"))?;
                Self::Ed25519(ed25519_dalek::SigningKey::from_bytes(&d))
            }
            _ => {
                return Err(Error::Unsupported(format!(
                    "keys of type {kty:?} on curve {crv:?}: use EC P-256 or OKP Ed25519"
                )));
            }
        };
        // The public members, when given, must be this key's.
        if jwk.get("x").is_some() {
            let mut public = jwk.clone();
            if let Some(map) = public.as_object_mut() {
                map.remove("d");
            }
            if PublicKey::from_jwk(&public)? != key.public() {
                return Err(malformed("the JWK's public members are not its d's"));
            }
        }
        Ok(key)
    }

    /// The private JWK (public members and `d`).
    pub fn to_jwk(&self) -> Value {
        let mut jwk = self.public().to_jwk();
        let d = match self {
            Self::P256(key) => b64::encode(&key.to_bytes()),
            Self::Ed25519(key) => b64::encode(&key.to_bytes()),
        };
        jwk["d"] = Value::String(d);
        jwk
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        match self {
            Self::P256(key) => PublicKey::P256(*key.verifying_key()),
            Self::Ed25519(key) => PublicKey::Ed25519(key.verifying_key()),
        }
    }

    /// The JWS algorithm the key signs with.
    pub fn alg(&self) -> &'static str {
        self.public().alg()
    }

    /// Signs `message` (ES256: deterministic, RFC 6979, `r || s`).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            Self::P256(key) => {
                let signature: p256::ecdsa::Signature = key.sign(message);
                signature.to_bytes().to_vec()
            }
            Self::Ed25519(key) => {
                use ed25519_dalek::Signer as _;
                key.sign(message).to_bytes().to_vec()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_as_jwks_and_sign() {
        for key in [
            SigningKey::generate_p256().expect("a key"),
            SigningKey::generate_ed25519().expect("a key"),
        ] {
            let public = key.public();
            assert_eq!(PublicKey::from_jwk(&public.to_jwk()), Ok(public.clone()));
            let again = SigningKey::from_jwk(&key.to_jwk()).expect("read back");
            assert_eq!(again.public(), public);
            let signature = key.sign(b"message");
            assert!(public.verify(b"message", &signature));
            assert!(!public.verify(b"messagf", &signature));
            assert!(!public.verify(b"message", &signature[1..]));
            // A public JWK with its private part is refused.
            assert_eq!(
                PublicKey::from_jwk(&key.to_jwk()).map_err(|e| e.code()),
                Err("malformed")
            );
        }
    }

    /// RFC 7638 §3.1's example thumbprint is of an RSA key; this checks the rule on the RFC
    /// 9901 examples' holder key instead: members in lexical order, no whitespace.
    #[test]
    fn thumbprints_hash_the_required_members_in_order() {
        let jwk = json!({"kty": "EC", "crv": "P-256",
            "x": "TCAER19Zvu3OHF4j4W4vfSVoHIP1ILilDls7vCeGemc",
            "y": "ZxjiWWbZMQGHVWKVQ4hbSIirsVfuecCE6t4jT9F2HZQ"});
        let key = PublicKey::from_jwk(&jwk).expect("the RFC's holder key");
        let canonical = r#"{"crv":"P-256","kty":"EC","x":"TCAER19Zvu3OHF4j4W4vfSVoHIP1ILilDls7vCeGemc","y":"ZxjiWWbZMQGHVWKVQ4hbSIirsVfuecCE6t4jT9F2HZQ"}"#;
        assert_eq!(key.thumbprint(), b64::sha256(canonical));
    }

    #[test]
    fn bad_jwks_are_refused_with_a_reason() {
        let cases = [
            (json!("text"), "malformed"),
            (json!({"kty": "RSA", "n": "x", "e": "AQAB"}), "unsupported"),
            (
                json!({"kty": "EC", "crv": "P-384", "x": "", "y": ""}),
                "unsupported",
            ),
            (
                json!({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}),
                "malformed",
            ),
            (
                json!({"kty": "EC", "crv": "P-256", "x": b64::encode(&[1; 32]), "y": b64::encode(&[1; 32])}),
                "malformed",
            ),
            (json!({"kty": "OKP", "crv": "Ed25519"}), "malformed"),
        ];
        for (jwk, code) in cases {
            assert_eq!(
                PublicKey::from_jwk(&jwk).map_err(|e| e.code()),
                Err(code),
                "{jwk}"
            );
        }
    }
}
