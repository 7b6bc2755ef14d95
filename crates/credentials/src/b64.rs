//! Base64url without padding (RFC 7515 §2), the encoding of every part of a JWS and of
//! disclosures. Decoding is strict: no padding, no whitespace, no non-zero trailing bits, so
//! one value has one encoding.

use crate::{Error, malformed};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// `bytes`, encoded.
pub fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `text` decoded; `what` names it in the error.
pub fn decode(text: &str, what: &str) -> Result<Vec<u8>, Error> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| malformed(format!("{what} is not base64url without padding")))
}

/// The base64url SHA-256 of `text`'s bytes (how disclosures and `sd_hash` are digested).
pub fn sha256(text: &str) -> String {
    use sha2::Digest as _;
    encode(&sha2::Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Every byte string comes back as it went, and its encoding is the only one accepted.
        #[test]
        fn round_trips_and_is_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let text = encode(&bytes);
            prop_assert_eq!(decode(&text, "x").ok(), Some(bytes.clone()));
            let padded = text.clone() + "=";
            prop_assert!(decode(&padded, "x").is_err());
        }
    }

    #[test]
    fn trailing_bits_and_padding_are_refused() {
        assert_eq!(decode("QQ", "x").ok(), Some(b"A".to_vec()));
        assert!(decode("QR", "x").is_err(), "non-zero trailing bits");
        assert!(decode("QQ==", "x").is_err());
        assert!(decode("Q Q", "x").is_err());
    }
}
