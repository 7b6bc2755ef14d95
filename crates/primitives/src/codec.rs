//! Canonical encoding helpers and the decode error type.
//!
//! All ledger types use commonware-codec: fixed-width big-endian integers, LEB128 varint length
//! prefixes, and explicit upper bounds checked before allocation. This module adds bounded UTF-8
//! strings and a typed error for everything that parses outside input.

use bytes::BufMut;
use commonware_codec::Buf;
use commonware_codec::{Decode, Encode, EncodeSize, RangeCfg, Read, Write};

/// Why outside input could not be decoded.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The canonical binary encoding was malformed or exceeded a bound.
    #[error("malformed encoding: {0}")]
    Codec(String),
    /// Hexadecimal text did not describe the expected value.
    #[error("expected {0} in hexadecimal")]
    Hex(&'static str),
    /// Bytes were not a valid Ed25519 public or private key.
    #[error("not a valid Ed25519 key")]
    InvalidKey,
    /// Bytes were not a valid Ed25519 signature.
    #[error("not a valid Ed25519 signature")]
    InvalidSignature,
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator is unavailable")]
    Randomness,
    /// A field broke a documented rule.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field that was wrong.
        field: &'static str,
        /// What was wrong with it.
        reason: String,
    },
}

impl From<commonware_codec::Error> for DecodeError {
    fn from(error: commonware_codec::Error) -> Self {
        Self::Codec(error.to_string())
    }
}

/// Writes a string as a varint length followed by its UTF-8 bytes.
pub fn write_str(value: &str, buf: &mut impl BufMut) {
    value.as_bytes().write(buf);
}

/// Encoded size of [`write_str`].
pub fn str_size(value: &str) -> usize {
    value.as_bytes().encode_size()
}

/// Reads a string of at most `max_bytes` bytes of valid UTF-8.
pub fn read_str(buf: &mut impl Buf, max_bytes: usize) -> Result<String, commonware_codec::Error> {
    let bytes = Vec::<u8>::read_cfg(buf, &(RangeCfg::new(..=max_bytes), ()))?;
    String::from_utf8(bytes).map_err(|_| commonware_codec::Error::Invalid("string", "not UTF-8"))
}

/// Writes a list as a varint count followed by its items.
pub fn write_list<T: Write>(items: &[T], buf: &mut impl BufMut) {
    items.write(buf);
}

/// Reads a list of at most `max_items` items.
pub fn read_list<T: Read>(
    buf: &mut impl Buf,
    max_items: usize,
    cfg: &T::Cfg,
) -> Result<Vec<T>, commonware_codec::Error> {
    Vec::<T>::read_cfg(buf, &(RangeCfg::new(..=max_items), cfg.clone()))
}

/// Reads a list of strings, each bounded.
pub fn read_str_list(
    buf: &mut impl Buf,
    max_items: usize,
    max_bytes: usize,
) -> Result<Vec<String>, commonware_codec::Error> {
    let count = usize::read_cfg(buf, &RangeCfg::new(..=max_items))?;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        out.push(read_str(buf, max_bytes)?);
    }
    Ok(out)
}

/// Writes a list of strings.
pub fn write_str_list(items: &[String], buf: &mut impl BufMut) {
    items.len().write(buf);
    for item in items {
        write_str(item, buf);
    }
}

/// Encoded size of [`write_str_list`].
pub fn str_list_size(items: &[String]) -> usize {
    items.len().encode_size() + items.iter().map(|s| str_size(s)).sum::<usize>()
}

/// Encodes a value to a `Vec<u8>`.
pub fn to_vec<T: Encode>(value: &T) -> Vec<u8> {
    value.encode().to_vec()
}

/// Decodes a value that must consume all of `bytes`.
pub fn from_slice<T: Decode>(bytes: &[u8], cfg: &T::Cfg) -> Result<T, DecodeError> {
    T::decode_cfg(commonware_codec::Copying(bytes), cfg).map_err(DecodeError::from)
}

/// Checks that a name-like field is non-empty, within `max_bytes`, and free of control characters.
pub fn check_text(field: &'static str, value: &str, max_bytes: usize) -> Result<(), DecodeError> {
    if value.trim().is_empty() {
        return Err(DecodeError::Invalid {
            field,
            reason: "must not be empty".into(),
        });
    }
    if value.len() > max_bytes {
        return Err(DecodeError::Invalid {
            field,
            reason: format!("is {} bytes; the limit is {max_bytes}", value.len()),
        });
    }
    if value.chars().any(char::is_control) {
        return Err(DecodeError::Invalid {
            field,
            reason: "must not contain control characters".into(),
        });
    }
    Ok(())
}

/// Like [`check_text`] but allows an empty value.
pub fn check_text_optional(
    field: &'static str,
    value: &str,
    max_bytes: usize,
) -> Result<(), DecodeError> {
    if value.is_empty() {
        return Ok(());
    }
    check_text(field, value, max_bytes)
}

/// Checks an identifier: 1 to `max_bytes` of lowercase ASCII letters, digits, `-` and `_`,
/// starting with a letter.
pub fn check_ident(field: &'static str, value: &str, max_bytes: usize) -> Result<(), DecodeError> {
    let valid_start = value.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    let valid_chars = value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !valid_start || !valid_chars || value.len() > max_bytes {
        return Err(DecodeError::Invalid {
            field,
            reason: format!(
                "{value:?} must be 1 to {max_bytes} lowercase letters, digits, '-' or '_', starting with a letter"
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_bounded_and_utf8() {
        let mut buf = Vec::new();
        write_str("héllo", &mut buf);
        assert_eq!(buf.len(), str_size("héllo"));
        assert_eq!(
            read_str(&mut commonware_codec::Copying(&buf), 16).unwrap(),
            "héllo"
        );
        assert!(read_str(&mut commonware_codec::Copying(&buf), 3).is_err());
        let mut bad = Vec::new();
        [0xffu8, 0xfe].as_slice().write(&mut bad);
        assert!(read_str(&mut commonware_codec::Copying(&bad), 16).is_err());
    }

    #[test]
    fn idents_and_text() {
        assert!(check_ident("agency", "land-registry", 32).is_ok());
        assert!(check_ident("agency", "Land", 32).is_err());
        assert!(check_ident("agency", "", 32).is_err());
        assert!(check_ident("agency", "1abc", 32).is_err());
        assert!(check_text("title", "  ", 10).is_err());
        assert!(check_text("title", "a\nb", 10).is_err());
        assert!(check_text("title", "Deed", 10).is_ok());
    }
}
