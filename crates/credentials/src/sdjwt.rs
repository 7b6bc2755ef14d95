//! SD-JWT (RFC 9901): issuing with selectively disclosable claims, presenting a chosen part
//! with a key-binding JWT, and verifying a presentation.
//!
//! A disclosure is `base64url(JSON array)`: `[salt, name, value]` for an object's claim,
//! `[salt, value]` for an array element. Its digest (the base64url SHA-256 of the disclosure
//! as sent) stands in the signed payload where the claim was: in the object's `_sd` array, or
//! as `{"...": digest}` in place of the element. The serialisation is
//! `<issuer JWT>~<disclosure>~…~<disclosure>~<key-binding JWT or nothing>`.

use crate::keys::{PublicKey, SigningKey};
use crate::{Error, b64, jws, limits, malformed};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// The only digest algorithm issued and accepted (`_sd_alg`).
pub const SD_ALG: &str = "sha-256";
/// The key-binding JWT's `typ`.
pub const KB_TYP: &str = "kb+jwt";
/// The `typ` of an SD-JWT VC (and the one earlier drafts used).
pub const VC_TYPS: &[&str] = &["dc+sd-jwt", "vc+sd-jwt"];
/// The claims an SD-JWT VC never makes selectively disclosable: a holder must not be able to
/// hide who issued it, its type, its validity, its holder key or its status.
pub const VC_ALWAYS_SHOWN: &[&str] =
    &["iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "status"];

/// An array element that stands for a disclosure: an object with exactly the key `...`,
/// whose value must then be a digest (text).
fn placeholder(item: &Value) -> Result<Option<&str>, Error> {
    match item {
        Value::Object(map) if map.len() == 1 => match map.get("...") {
            None => Ok(None),
            Some(Value::String(digest)) => Ok(Some(digest)),
            Some(_) => Err(malformed("an array element's digest (...) is not text")),
        },
        _ => Ok(None),
    }
}

/// One disclosure.
#[derive(Clone, Debug, PartialEq)]
pub struct Disclosure {
    /// As sent: the base64url of the JSON array.
    pub encoded: String,
    /// Its salt.
    pub salt: String,
    /// The claim's name (`None`: an array element).
    pub name: Option<String>,
    /// The claim's value.
    pub value: Value,
}

impl Disclosure {
    /// A disclosure of `value` (named, for an object's claim) with `salt`.
    pub fn with_salt(salt: &str, name: Option<&str>, value: Value) -> Self {
        let array = match name {
            Some(name) => json!([salt, name, value]),
            None => json!([salt, value]),
        };
        Self {
            encoded: b64::encode(array.to_string().as_bytes()),
            salt: salt.into(),
            name: name.map(str::to_string),
            value,
        }
    }

    /// A disclosure with 128 bits of fresh salt (RFC 9901 §9.3).
    pub fn new(name: Option<&str>, value: Value) -> Result<Self, Error> {
        Ok(Self::with_salt(&random_b64(16)?, name, value))
    }

    /// Reads a disclosure as sent.
    pub fn parse(encoded: &str) -> Result<Self, Error> {
        let bytes = b64::decode(encoded, "a disclosure")?;
        let Ok(Value::Array(mut items)) = serde_json::from_slice::<Value>(&bytes) else {
            return Err(malformed("a disclosure is not a JSON array"));
        };
        let (salt, name, value) = match items.len() {
            3 => {
                let value = items.pop().unwrap_or_default();
                let name = match items.pop() {
                    Some(Value::String(name)) => name,
                    _ => return Err(malformed("a disclosure's claim name is not a string")),
                };
                if name == "_sd" || name == "..." {
                    return Err(Error::ClaimCollision(name));
                }
                (items.pop(), Some(name), value)
            }
            2 => {
                let value = items.pop().unwrap_or_default();
                (items.pop(), None, value)
            }
            _ => {
                return Err(malformed(
                    "a disclosure is [salt, name, value] or [salt, value]",
                ));
            }
        };
        let Some(Value::String(salt)) = salt else {
            return Err(malformed("a disclosure's salt is not a string"));
        };
        Ok(Self {
            encoded: encoded.into(),
            salt,
            name,
            value,
        })
    }

    /// Its digest, as the payload holds it.
    pub fn digest(&self) -> String {
        b64::sha256(&self.encoded)
    }
}

/// A uniform random number below `n` (`n` small).
fn random_below(n: usize) -> Result<usize, Error> {
    if n <= 1 {
        return Ok(0);
    }
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Unsupported(format!("no random source: {e}")))?;
    // The modulo bias over 2^64 is negligible for a handful of decoys.
    Ok((u64::from_le_bytes(bytes) % n as u64) as usize)
}

fn random_b64(len: usize) -> Result<String, Error> {
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Unsupported(format!("no random source: {e}")))?;
    Ok(b64::encode(&bytes))
}

/// An issued SD-JWT: the signed JWT and every disclosure, which its holder keeps.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The issuer-signed JWT.
    pub jwt: String,
    /// All the disclosures.
    pub disclosures: Vec<Disclosure>,
}

impl Issued {
    /// `<jwt>~<d1>~…~<dn>~`, as an issuer hands it over.
    pub fn serialize(&self) -> String {
        let mut out = self.jwt.clone();
        out.push('~');
        for disclosure in &self.disclosures {
            out.push_str(&disclosure.encoded);
            out.push('~');
        }
        out
    }
}

/// What to issue.
pub struct Issue<'a> {
    /// The JWT header's `typ` (`dc+sd-jwt` for SD-JWT VC).
    pub typ: &'a str,
    /// Further header members (`kid`).
    pub header: Map<String, Value>,
    /// The claims, as the holder will see them all.
    pub claims: Map<String, Value>,
    /// The claims made selectively disclosable, by path: `name`, `parent.name`, `list.0`
    /// (an array element). A path inside a disclosable claim makes a disclosure inside a
    /// disclosure (RFC 9901 §4.2.6).
    pub disclosable: &'a [&'a str],
    /// At most this many decoy digests added to each object that has disclosable claims (a
    /// random number each time, §4.2.5), hiding how many claims it has. Arrays get none: an
    /// array's length is shown.
    pub decoys: usize,
}

/// Issues an SD-JWT signed with `key`.
pub fn issue(key: &SigningKey, spec: &Issue<'_>) -> Result<Issued, Error> {
    for path in spec.disclosable {
        if path.is_empty() || path.split('.').any(str::is_empty) {
            return Err(malformed(format!("{path:?} is not a claim's path")));
        }
        if VC_TYPS.contains(&spec.typ) && VC_ALWAYS_SHOWN.contains(path) {
            return Err(Error::NotDisclosable((*path).to_string()));
        }
    }
    let mut disclosures = Vec::new();
    let mut used = BTreeSet::new();
    let mut claims = Value::Object(spec.claims.clone());
    conceal(&mut claims, "", spec, &mut disclosures, &mut used, 0)?;
    if let Some(missing) = spec.disclosable.iter().find(|p| !used.contains(**p)) {
        return Err(malformed(format!(
            "{missing} names no claim of the credential"
        )));
    }
    let Value::Object(mut payload) = claims else {
        return Err(malformed("the claims are not an object"));
    };
    payload.insert("_sd_alg".into(), Value::String(SD_ALG.into()));
    let mut header = spec.header.clone();
    header.insert("typ".into(), Value::String(spec.typ.into()));
    Ok(Issued {
        jwt: jws::sign(key, header, &Value::Object(payload)),
        disclosures,
    })
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.into()
    } else {
        format!("{path}.{name}")
    }
}

/// Replaces the disclosable claims under `value` (at `path`) by digests, innermost first.
fn conceal(
    value: &mut Value,
    path: &str,
    spec: &Issue<'_>,
    disclosures: &mut Vec<Disclosure>,
    used: &mut BTreeSet<String>,
    depth: usize,
) -> Result<(), Error> {
    if depth > limits::DEPTH_MAX {
        return Err(Error::TooLarge(format!(
            "claims nest deeper than {}",
            limits::DEPTH_MAX
        )));
    }
    let wanted = |p: &str| spec.disclosable.contains(&p);
    match value {
        Value::Object(map) => {
            if map.contains_key("_sd") || map.contains_key("...") || map.contains_key("_sd_alg") {
                return Err(Error::ClaimCollision(format!(
                    "{path}: _sd, ... and _sd_alg are reserved"
                )));
            }
            if let Some(name) = map.keys().find(|n| n.contains('.')) {
                return Err(malformed(format!(
                    "{}: a claim issued here has no '.' in its name (paths name claims by it)",
                    join(path, name)
                )));
            }
            let names: Vec<String> = map.keys().cloned().collect();
            let mut digests = Vec::new();
            for name in names {
                let here = join(path, &name);
                if let Some(child) = map.get_mut(&name) {
                    conceal(child, &here, spec, disclosures, used, depth + 1)?;
                }
                if wanted(&here) {
                    let child = map.remove(&name).unwrap_or_default();
                    let disclosure = Disclosure::new(Some(&name), child)?;
                    digests.push(disclosure.digest());
                    disclosures.push(disclosure);
                    used.insert(here);
                }
            }
            if !digests.is_empty() {
                // A random number of decoys, up to the spec's, so that their count tells
                // nothing of the claims' (§4.2.5).
                for _ in 0..random_below(spec.decoys + 1)? {
                    digests.push(b64::sha256(&random_b64(16)?));
                }
                // Sorted, so the order says nothing of the claims' (§4.2.4.1).
                digests.sort();
                map.insert(
                    "_sd".into(),
                    Value::Array(digests.into_iter().map(Value::String).collect()),
                );
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let here = join(path, &i.to_string());
                conceal(item, &here, spec, disclosures, used, depth + 1)?;
                if wanted(&here) {
                    let disclosure = Disclosure::new(None, item.take())?;
                    *item = json!({"...": disclosure.digest()});
                    disclosures.push(disclosure);
                    used.insert(here);
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// An SD-JWT or presentation split at its tildes, each part as sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parts<'a> {
    /// The issuer-signed JWT.
    pub jwt: &'a str,
    /// The disclosures.
    pub disclosures: Vec<&'a str>,
    /// The key-binding JWT, if any.
    pub kb_jwt: Option<&'a str>,
    /// Everything before the key-binding JWT (what its `sd_hash` digests).
    pub without_kb: &'a str,
}

/// Splits `text` (`<jwt>~<d>~…~<d>~[<kb-jwt>]`), within [`limits`].
pub fn split(text: &str) -> Result<Parts<'_>, Error> {
    if text.len() > limits::SD_JWT_MAX_BYTES {
        return Err(Error::TooLarge(format!(
            "an SD-JWT is at most {} bytes",
            limits::SD_JWT_MAX_BYTES
        )));
    }
    let Some(last) = text.rfind('~') else {
        return Err(malformed(
            "an SD-JWT is the issuer's JWT, then each disclosure, each followed by ~",
        ));
    };
    let (without_kb, kb) = (&text[..=last], &text[last + 1..]);
    let mut pieces: Vec<&str> = without_kb[..last].split('~').collect();
    let jwt = pieces.remove(0);
    if pieces.len() > limits::DISCLOSURES_MAX {
        return Err(Error::TooLarge(format!(
            "an SD-JWT has at most {} disclosures",
            limits::DISCLOSURES_MAX
        )));
    }
    if jwt.is_empty() || pieces.iter().any(|d| d.is_empty()) {
        return Err(malformed("an SD-JWT has an empty part between two ~"));
    }
    Ok(Parts {
        jwt,
        disclosures: pieces,
        kb_jwt: (!kb.is_empty()).then_some(kb),
        without_kb,
    })
}

/// What a verifier expects of a key binding.
#[derive(Clone, Debug)]
pub struct KeyBinding<'a> {
    /// Its own identifier (`aud`).
    pub audience: &'a str,
    /// The nonce it gave the holder for this presentation.
    pub nonce: &'a str,
    /// How old the binding may be, in seconds.
    pub max_age_secs: u64,
}

/// How a presentation is checked.
#[derive(Clone, Debug)]
pub struct Policy<'a> {
    /// The issuer JWT's `typ` accepted (`None`: any; SD-JWT VC: [`VC_TYPS`]), so that another
    /// JWT the issuer's key signed (a status list, a token) is not taken for a credential.
    pub typ: Option<&'a [&'a str]>,
    /// Now, in seconds since 1970.
    pub now: u64,
    /// Clock difference tolerated, in seconds (for `nbf`, `exp` and the binding's `iat`).
    pub leeway_secs: u64,
    /// The key binding required (`None`: none required; one sent is still checked).
    pub key_binding: Option<KeyBinding<'a>>,
}

/// A verified presentation.
#[derive(Clone, Debug, PartialEq)]
pub struct Verified {
    /// The issuer JWT's header.
    pub header: Map<String, Value>,
    /// The claims: those in plain text and those disclosed, digests and `_sd_alg` removed.
    pub claims: Map<String, Value>,
    /// The paths of the claims disclosed (`address.country`, `nationalities.0`).
    pub disclosed: Vec<String>,
    /// How many digests stayed undisclosed (decoys among them: a verifier cannot tell).
    pub undisclosed: usize,
    /// The holder's key (`cnf.jwk`), if the credential names one.
    pub holder: Option<PublicKey>,
    /// Whether a key binding was verified for this verifier (the policy's nonce, audience
    /// and age, and its `sd_hash` and signature). A key-binding JWT sent where the policy asks
    /// for none is still checked (signature, `sd_hash`, not in the future) but does not count.
    pub key_bound: bool,
}

/// Verifies `text`, an SD-JWT or a presentation, with the issuer's key (RFC 9901 §7).
pub fn verify(text: &str, issuer: &PublicKey, policy: &Policy<'_>) -> Result<Verified, Error> {
    let parts = split(text)?;
    let signed = jws::parse(parts.jwt, "the issuer's JWT")?;
    signed.verify(issuer, || Error::BadSignature)?;
    let typ = signed
        .header
        .get("typ")
        .and_then(Value::as_str)
        .unwrap_or("");
    if let Some(accepted) = policy.typ
        && !accepted.contains(&typ)
    {
        return Err(Error::Unsupported(format!(
            "a JWT of typ {typ:?} is not a credential here (accepted: {})",
            accepted.join(", ")
        )));
    }
    let revealed = reveal_all(signed.payload, typ, &parts.disclosures)?;
    let claims = revealed.claims;
    let time = |name: &str| -> Result<Option<u64>, Error> {
        match claims.get(name) {
            None => Ok(None),
            Some(value) => value
                .as_u64()
                .map(Some)
                .ok_or_else(|| malformed(format!("{name} is not a whole number of seconds"))),
        }
    };
    if let Some(exp) = time("exp")?
        && policy.now >= exp.saturating_add(policy.leeway_secs)
    {
        return Err(Error::Expired(exp));
    }
    if let Some(nbf) = time("nbf")?
        && policy.now.saturating_add(policy.leeway_secs) < nbf
    {
        return Err(Error::NotYetValid(nbf));
    }
    let holder = match claims.get("cnf").and_then(|c| c.get("jwk")) {
        Some(jwk) => Some(PublicKey::from_jwk(jwk)?),
        None => None,
    };
    let key_bound = match (parts.kb_jwt, &policy.key_binding) {
        (None, Some(_)) => return Err(Error::KeyBindingMissing),
        (None, None) => false,
        (Some(kb), expected) => {
            let holder = holder.as_ref().ok_or(Error::NoHolderKey)?;
            check_binding(kb, parts.without_kb, holder, expected.as_ref(), policy)?;
            expected.is_some()
        }
    };
    Ok(Verified {
        header: signed.header,
        claims,
        disclosed: revealed.placed.into_iter().map(|(_, path)| path).collect(),
        undisclosed: revealed.undisclosed,
        holder,
        key_bound,
    })
}

/// The key-binding JWT `kb`, of the presentation `without_kb`, signed by `holder`.
fn check_binding(
    kb: &str,
    without_kb: &str,
    holder: &PublicKey,
    expected: Option<&KeyBinding<'_>>,
    policy: &Policy<'_>,
) -> Result<(), Error> {
    let bad = |what: &str| Error::KeyBinding(what.into());
    if kb.len() > limits::JWS_MAX_BYTES {
        return Err(Error::TooLarge("the key-binding JWT is too long".into()));
    }
    // Every failure of the binding is `key_binding`, whatever its cause.
    let as_binding = |e: Error| match e {
        Error::KeyBinding(_) => e,
        other => Error::KeyBinding(other.to_string()),
    };
    let parsed = jws::parse(kb, "the key-binding JWT").map_err(as_binding)?;
    if parsed.header.get("typ").and_then(Value::as_str) != Some(KB_TYP) {
        return Err(bad("its typ is not kb+jwt"));
    }
    parsed
        .verify(holder, || {
            bad("it is not signed by the credential's holder key")
        })
        .map_err(as_binding)?;
    let claims = &parsed.payload;
    if claims.get("sd_hash").and_then(Value::as_str) != Some(&b64::sha256(without_kb)) {
        return Err(bad(
            "its sd_hash is not of this presentation (disclosures were added or removed)",
        ));
    }
    let Some(iat) = claims.get("iat").and_then(Value::as_u64) else {
        return Err(bad("it has no iat"));
    };
    if iat > policy.now.saturating_add(policy.leeway_secs) {
        return Err(bad("its iat is in the future"));
    }
    if let Some(expected) = expected {
        if claims.get("nonce").and_then(Value::as_str) != Some(expected.nonce) {
            return Err(bad("its nonce is not the one this verifier gave"));
        }
        if claims.get("aud").and_then(Value::as_str) != Some(expected.audience) {
            return Err(bad("its audience is another verifier"));
        }
        if policy.now > iat.saturating_add(expected.max_age_secs) {
            return Err(bad("it is older than this verifier accepts"));
        }
    }
    Ok(())
}

/// The walk over a payload that puts disclosed claims back (§7.1, step 3).
struct Walk<'a> {
    /// Top-level claims that must not come from a disclosure (SD-JWT VC's).
    always_shown: &'a [&'a str],
    disclosures: &'a BTreeMap<String, Disclosure>,
    /// Every digest met, to refuse one met twice.
    seen: BTreeSet<String>,
    /// Each disclosure put back, by digest, with the path of its claim, in walk order.
    placed: Vec<(String, String)>,
    undisclosed: usize,
}

/// A payload with its disclosures put back.
struct Revealed {
    claims: Map<String, Value>,
    /// Each disclosure's digest and the path of its claim, in walk order.
    placed: Vec<(String, String)>,
    undisclosed: usize,
}

/// Puts the disclosures back into an issuer-signed `payload` whose header says `typ` (RFC
/// 9901 §7.1 steps 3–5), refusing what breaks the rules. The verifier and the holder both walk
/// a credential this one way.
fn reveal_all(
    mut payload: Map<String, Value>,
    typ: &str,
    disclosures: &[&str],
) -> Result<Revealed, Error> {
    match payload.remove("_sd_alg") {
        None => {}
        Some(Value::String(alg)) if alg == SD_ALG => {}
        Some(other) => {
            return Err(Error::Unsupported(format!(
                "digests by {other}: only sha-256 is accepted"
            )));
        }
    }
    let mut by_digest = BTreeMap::new();
    for encoded in disclosures {
        let disclosure = Disclosure::parse(encoded)?;
        let digest = disclosure.digest();
        if by_digest.insert(digest.clone(), disclosure).is_some() {
            return Err(Error::DisclosureRepeated(digest));
        }
    }
    let mut walk = Walk {
        always_shown: if VC_TYPS.contains(&typ) {
            VC_ALWAYS_SHOWN
        } else {
            &[]
        },
        disclosures: &by_digest,
        seen: BTreeSet::new(),
        placed: Vec::new(),
        undisclosed: 0,
    };
    let mut claims = Value::Object(payload);
    walk.reveal(&mut claims, "", 0)?;
    let used: BTreeSet<&String> = walk.placed.iter().map(|(digest, _)| digest).collect();
    if let Some(unused) = by_digest.keys().find(|d| !used.contains(d)) {
        return Err(Error::DisclosureUnused(unused.clone()));
    }
    let Value::Object(claims) = claims else {
        return Err(malformed("the payload is not an object"));
    };
    Ok(Revealed {
        claims,
        placed: walk.placed,
        undisclosed: walk.undisclosed,
    })
}

impl Walk<'_> {
    fn meet(&mut self, digest: &str) -> Result<Option<&Disclosure>, Error> {
        if !self.seen.insert(digest.to_string()) {
            return Err(Error::DigestReused(digest.to_string()));
        }
        let found = self.disclosures.get(digest);
        if found.is_none() {
            self.undisclosed += 1;
        }
        Ok(found)
    }

    fn reveal(&mut self, value: &mut Value, path: &str, depth: usize) -> Result<(), Error> {
        if depth > limits::DEPTH_MAX {
            return Err(Error::TooLarge(format!(
                "claims nest deeper than {}",
                limits::DEPTH_MAX
            )));
        }
        match value {
            Value::Object(map) => {
                let digests = match map.remove("_sd") {
                    None => Vec::new(),
                    Some(Value::Array(digests)) => digests,
                    Some(_) => return Err(malformed(format!("{path}: _sd is not an array"))),
                };
                // The claims in plain text first, then each disclosed one (itself walked).
                for (name, child) in map.iter_mut() {
                    self.reveal(child, &join(path, name), depth + 1)?;
                }
                for digest in digests {
                    let Value::String(digest) = digest else {
                        return Err(malformed(format!("{path}: a digest in _sd is not text")));
                    };
                    let Some(disclosure) = self.meet(&digest)?.cloned() else {
                        continue;
                    };
                    let Some(name) = disclosure.name else {
                        return Err(Error::DisclosureMisplaced(digest));
                    };
                    if map.contains_key(&name) || (depth == 0 && name == "_sd_alg") {
                        return Err(Error::ClaimCollision(join(path, &name)));
                    }
                    if depth == 0 && self.always_shown.contains(&name.as_str()) {
                        return Err(Error::NotDisclosable(name));
                    }
                    let here = join(path, &name);
                    let mut child = disclosure.value;
                    self.reveal(&mut child, &here, depth + 1)?;
                    self.placed.push((digest, here));
                    map.insert(name, child);
                }
            }
            Value::Array(items) => {
                // Elements are named by their place in the issued array, undisclosed ones
                // counted, as the holder names them when choosing.
                let mut kept = Vec::with_capacity(items.len());
                for (i, item) in std::mem::take(items).into_iter().enumerate() {
                    let here = join(path, &i.to_string());
                    let digest = placeholder(&item)?.map(str::to_string);
                    let Some(digest) = digest else {
                        let mut item = item;
                        self.reveal(&mut item, &here, depth + 1)?;
                        kept.push(item);
                        continue;
                    };
                    let Some(disclosure) = self.meet(&digest)?.cloned() else {
                        continue;
                    };
                    if disclosure.name.is_some() {
                        return Err(Error::DisclosureMisplaced(digest));
                    }
                    let mut element = disclosure.value;
                    self.reveal(&mut element, &here, depth + 1)?;
                    self.placed.push((digest, here));
                    kept.push(element);
                }
                *items = kept;
            }
            _ => {}
        }
        Ok(())
    }
}

/// The holder's key binding: its key, and the verifier's audience and nonce, at `iat`.
pub struct Binding<'a> {
    /// The holder's key (the one `cnf.jwk` names).
    pub key: &'a SigningKey,
    /// The verifier (`aud`).
    pub audience: &'a str,
    /// The verifier's nonce.
    pub nonce: &'a str,
    /// Now, in seconds since 1970.
    pub iat: u64,
}

/// A presentation of `issued` (an SD-JWT as the issuer handed it over) disclosing the claims
/// at `paths` (with the disclosures of the claims that contain them) and nothing else, bound
/// to `binding` if given. The credential is walked as a verifier walks it, so what a verifier
/// would refuse (a repeated digest or disclosure, an unused one) is refused here.
pub fn present(
    issued: &str,
    paths: &[&str],
    binding: Option<&Binding<'_>>,
) -> Result<String, Error> {
    let parts = split(issued)?;
    let signed = jws::parse(parts.jwt, "the issuer's JWT")?;
    let typ = signed
        .header
        .get("typ")
        .and_then(Value::as_str)
        .unwrap_or("");
    // Walked as its verifier will walk it, so a credential it would refuse is refused here.
    let placed: BTreeMap<String, String> = reveal_all(signed.payload, typ, &parts.disclosures)?
        .placed
        .into_iter()
        .collect();
    let mut out = format!("{}~", parts.jwt);
    for encoded in &parts.disclosures {
        let Some(path) = placed.get(&b64::sha256(encoded)) else {
            continue;
        };
        let needed = paths.iter().any(|wanted| {
            *wanted == path.as_str()
                || wanted
                    .strip_prefix(path.as_str())
                    .is_some_and(|rest| rest.starts_with('.'))
        });
        if needed {
            out.push_str(encoded);
            out.push('~');
        }
    }
    if let Some(binding) = binding {
        let mut header = Map::new();
        header.insert("typ".into(), Value::String(KB_TYP.into()));
        let claims = json!({
            "iat": binding.iat,
            "aud": binding.audience,
            "nonce": binding.nonce,
            "sd_hash": b64::sha256(&out),
        });
        out.push_str(&jws::sign(binding.key, header, &claims));
    }
    Ok(out)
}
