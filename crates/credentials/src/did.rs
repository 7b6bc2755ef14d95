//! Decentralised identifiers for the keys credentials name: `did:key` for a wallet's key (the
//! key itself, in multibase base58btc after its multicodec prefix: `0xed` Ed25519, `0x1200`
//! P-256 compressed), and `did:web` for an agency, whose document a web server publishes at
//! the address the method derives from the identifier.

use crate::keys::PublicKey;
use crate::{Error, malformed};
use serde_json::{Value, json};

/// The multicodec prefixes, as unsigned varints.
const ED25519_PREFIX: [u8; 2] = [0xed, 0x01];
const P256_PREFIX: [u8; 2] = [0x80, 0x24];

/// `did:key:z…` of `key`.
pub fn did_key(key: &PublicKey) -> String {
    let mut bytes = Vec::with_capacity(35);
    match key {
        PublicKey::Ed25519(key) => {
            bytes.extend(ED25519_PREFIX);
            bytes.extend(key.to_bytes());
        }
        PublicKey::P256(key) => {
            bytes.extend(P256_PREFIX);
            bytes.extend(key.to_sec1_point(true).as_bytes());
        }
    }
    format!("did:key:z{}", bs58::encode(bytes).into_string())
}

/// The key a `did:key` names (a DID URL's fragment, `#…`, is ignored).
pub fn from_did_key(did: &str) -> Result<PublicKey, Error> {
    let did = did.split('#').next().unwrap_or("");
    let Some(encoded) = did.strip_prefix("did:key:z") else {
        return Err(malformed(
            "a did:key is did:key:z followed by base58btc (multibase z)",
        ));
    };
    if encoded.len() > 64 {
        return Err(malformed("a did:key of a P-256 or Ed25519 key is shorter"));
    }
    let bytes = bs58::decode(encoded)
        .into_vec()
        .map_err(|_| malformed("a did:key's key is not base58btc"))?;
    match bytes.split_at_checked(2) {
        Some((prefix, key)) if prefix == ED25519_PREFIX => {
            let key: [u8; 32] = key
                .try_into()
                .map_err(|_| malformed("a did:key's Ed25519 key is not 32 bytes"))?;
            match ed25519_dalek::VerifyingKey::from_bytes(&key) {
                Ok(key) if !key.is_weak() => Ok(PublicKey::Ed25519(key)),
                _ => Err(malformed("a did:key's Ed25519 key is not a usable point")),
            }
        }
        Some((prefix, key)) if prefix == P256_PREFIX => {
            p256::ecdsa::VerifyingKey::from_sec1_bytes(key)
                .map(PublicKey::P256)
                .map_err(|_| malformed("a did:key's P-256 key is not a point of the curve"))
        }
        _ => Err(Error::Unsupported(
            "did:key of keys other than Ed25519 and P-256".into(),
        )),
    }
}

/// The address of a `did:web`'s document (did:web method, §3.2): the first part is the host
/// (a port written `%3A`), the others a path; without a path, `/.well-known/did.json`.
pub fn did_web_url(did: &str) -> Result<String, Error> {
    let Some(rest) = did.strip_prefix("did:web:") else {
        return Err(malformed("a did:web starts with did:web:"));
    };
    let mut parts = rest.split(':');
    let host = parts.next().unwrap_or("").replace("%3A", ":");
    let fine = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'%'))
    };
    if !fine(&host.replace(':', "")) {
        return Err(malformed(format!("{did} names no host")));
    }
    let path: Vec<&str> = parts.collect();
    if path.iter().any(|p| !fine(p)) {
        return Err(malformed(format!(
            "{did} has an empty or unusual path part"
        )));
    }
    Ok(if path.is_empty() {
        format!("https://{host}/.well-known/did.json")
    } else {
        format!("https://{host}/{}/did.json", path.join("/"))
    })
}

/// A DID document for `did` whose assertion keys (those it issues credentials with) are
/// `keys`, each as `(key id, key)`: verification methods of type `JsonWebKey2020`, by JWK.
pub fn document(did: &str, keys: &[(&str, &PublicKey)]) -> Value {
    let methods: Vec<Value> = keys
        .iter()
        .map(|(id, key)| {
            json!({
                "id": format!("{did}#{id}"),
                "type": "JsonWebKey2020",
                "controller": did,
                "publicKeyJwk": key.to_jwk(),
            })
        })
        .collect();
    let ids: Vec<String> = keys.iter().map(|(id, _)| format!("{did}#{id}")).collect();
    json!({
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": ids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;

    /// Ed25519 did:keys start `z6Mk`, P-256 ones `zDn` (the multicodec prefix shows through
    /// base58), and both name their key again.
    #[test]
    fn did_keys_round_trip_with_their_known_prefixes() {
        for _ in 0..20 {
            let ed = SigningKey::generate_ed25519().expect("a key").public();
            let did = did_key(&ed);
            assert!(did.starts_with("did:key:z6Mk"), "{did}");
            assert_eq!(from_did_key(&format!("{did}#key-1")), Ok(ed));
            let p = SigningKey::generate_p256().expect("a key").public();
            let did = did_key(&p);
            assert!(did.starts_with("did:key:zDn"), "{did}");
            assert_eq!(from_did_key(&did), Ok(p));
        }
        for bad in [
            "did:key:",
            "did:key:z0OIl",
            "did:web:x",
            "did:key:z6Mk",
            "did:key:zQ3s",
        ] {
            assert!(from_did_key(bad).is_err(), "{bad}");
        }
    }

    /// The did:web method's own examples.
    #[test]
    fn did_web_addresses_follow_the_method() {
        assert_eq!(
            did_web_url("did:web:w3c-ccg.github.io").as_deref(),
            Ok("https://w3c-ccg.github.io/.well-known/did.json")
        );
        assert_eq!(
            did_web_url("did:web:w3c-ccg.github.io:user:alice").as_deref(),
            Ok("https://w3c-ccg.github.io/user/alice/did.json")
        );
        assert_eq!(
            did_web_url("did:web:example.com%3A3000:user:alice").as_deref(),
            Ok("https://example.com:3000/user/alice/did.json")
        );
        for bad in ["did:key:z6Mk", "did:web:", "did:web:a::b", "did:web:a/b"] {
            assert!(did_web_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_document_lists_the_assertion_keys() {
        let key = SigningKey::generate_p256().expect("a key").public();
        let doc = document(
            "did:web:civitas.example:agencies:finance",
            &[("2026-1", &key)],
        );
        assert_eq!(
            doc["assertionMethod"][0],
            "did:web:civitas.example:agencies:finance#2026-1"
        );
        assert_eq!(
            PublicKey::from_jwk(&doc["verificationMethod"][0]["publicKeyJwk"]),
            Ok(key)
        );
    }
}
