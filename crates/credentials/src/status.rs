//! Token Status List (IETF OAuth draft): the status of many credentials in one compressed bit
//! string. Each credential names its list and its index (`status.status_list.idx`, `.uri`);
//! the list holds `bits` bits per credential (1, 2, 4 or 8), the first credential in the least
//! significant bits of the first byte, compressed with DEFLATE in the ZLIB format (RFC 1950)
//! and written in base64url as `lst`. Reading is bounded: a small `lst` cannot inflate into
//! more than the caller allows.

use crate::{Error, b64, malformed};
use serde_json::{Value, json};
use std::io::{Read as _, Write as _};

/// The status values the draft defines (others are application-specific, up to 2^bits − 1).
pub mod values {
    /// Valid.
    pub const VALID: u8 = 0;
    /// Revoked for good.
    pub const INVALID: u8 = 1;
    /// Suspended, may become valid again.
    pub const SUSPENDED: u8 = 2;
}

/// A status list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusList {
    bits: u8,
    bytes: Vec<u8>,
}

impl StatusList {
    /// A list of `len` statuses of `bits` bits each, all [`values::VALID`].
    pub fn new(bits: u8, len: usize) -> Result<Self, Error> {
        check_bits(bits)?;
        Ok(Self {
            bits,
            bytes: vec![0; (len * usize::from(bits)).div_ceil(8)],
        })
    }

    /// Bits per status.
    pub fn bits(&self) -> u8 {
        self.bits
    }

    /// How many statuses it holds.
    pub fn len(&self) -> usize {
        self.bytes.len() * 8 / usize::from(self.bits)
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The status at `index`, or `None` past the end.
    pub fn get(&self, index: usize) -> Option<u8> {
        let bits = usize::from(self.bits);
        let byte = *self.bytes.get(index * bits / 8)?;
        let shift = (index * bits) % 8;
        Some((byte >> shift) & mask(self.bits))
    }

    /// Sets the status at `index` to `value`.
    pub fn set(&mut self, index: usize, value: u8) -> Result<(), Error> {
        if value > mask(self.bits) {
            return Err(malformed(format!(
                "status {value} does not fit in {} bits",
                self.bits
            )));
        }
        let bits = usize::from(self.bits);
        let shift = (index * bits) % 8;
        let Some(byte) = self.bytes.get_mut(index * bits / 8) else {
            return Err(malformed(format!("index {index} is past the list's end")));
        };
        *byte = (*byte & !(mask(self.bits) << shift)) | (value << shift);
        Ok(())
    }

    /// The list as the draft writes it: `{"bits": n, "lst": base64url(zlib(bytes))}`.
    pub fn to_json(&self) -> Value {
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        // Writing to a Vec cannot fail.
        let _ = encoder.write_all(&self.bytes);
        let compressed = encoder.finish().unwrap_or_default();
        json!({"bits": self.bits, "lst": b64::encode(&compressed)})
    }

    /// Reads `{"bits", "lst"}`, refusing a list that inflates past `max_bytes`.
    pub fn from_json(value: &Value, max_bytes: usize) -> Result<Self, Error> {
        let bits = value["bits"]
            .as_u64()
            .and_then(|b| u8::try_from(b).ok())
            .ok_or_else(|| malformed("a status list's bits is not 1, 2, 4 or 8"))?;
        check_bits(bits)?;
        let lst = value["lst"]
            .as_str()
            .ok_or_else(|| malformed("a status list has no lst"))?;
        let compressed = b64::decode(lst, "a status list's lst")?;
        let mut bytes = Vec::new();
        flate2::read::ZlibDecoder::new(compressed.as_slice())
            .take(max_bytes as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|_| malformed("a status list's lst is not ZLIB-compressed"))?;
        if bytes.len() > max_bytes {
            return Err(Error::TooLarge(format!(
                "a status list inflates past {max_bytes} bytes"
            )));
        }
        Ok(Self { bits, bytes })
    }
}

fn check_bits(bits: u8) -> Result<(), Error> {
    if matches!(bits, 1 | 2 | 4 | 8) {
        Ok(())
    } else {
        Err(malformed(format!(
            "a status takes 1, 2, 4 or 8 bits, not {bits}"
        )))
    }
}

fn mask(bits: u8) -> u8 {
    if bits >= 8 { 0xff } else { (1u8 << bits) - 1 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The draft's examples: the bytes its figures show, and their `lst`.
    #[test]
    fn the_draft_s_examples_read_as_it_says() {
        let one = StatusList::from_json(&json!({"bits": 1, "lst": "eNrbuRgAAhcBXQ"}), 1024)
            .expect("the 1-bit example");
        assert_eq!(one.bytes, [0xb9, 0xa3]);
        let statuses: Vec<u8> = (0..16).filter_map(|i| one.get(i)).collect();
        assert_eq!(statuses, [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]);
        let two = StatusList::from_json(&json!({"bits": 2, "lst": "eNo76fITAAPfAgc"}), 1024)
            .expect("the 2-bit example");
        assert_eq!(two.bytes, [0xc9, 0x44, 0xf9]);
        let statuses: Vec<u8> = (0..12).filter_map(|i| two.get(i)).collect();
        assert_eq!(statuses, [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]);
    }

    #[test]
    fn bad_lists_are_refused_and_a_bomb_is_bounded() {
        for bad in [
            json!({"bits": 3, "lst": "eNrbuRgAAhcBXQ"}),
            json!({"bits": 1}),
            json!({"bits": 1, "lst": "not base64!"}),
            json!({"bits": 1, "lst": b64::encode(b"not zlib")}),
        ] {
            assert_eq!(
                StatusList::from_json(&bad, 1024).map_err(|e| e.code()),
                Err("malformed"),
                "{bad}"
            );
        }
        // A megabyte of zeros compresses to about a kilobyte; read with a 64 KiB bound.
        let big = StatusList::new(8, 1 << 20).expect("a list").to_json();
        assert!(big["lst"].as_str().unwrap_or("").len() < 4_096);
        assert_eq!(
            StatusList::from_json(&big, 64 * 1024).map_err(|e| e.code()),
            Err("too_large")
        );
    }

    proptest! {
        /// Statuses set are read back, at every width, through the compressed form.
        #[test]
        fn statuses_round_trip(
            bits in prop_oneof![Just(1u8), Just(2), Just(4), Just(8)],
            sets in proptest::collection::vec((0usize..500, any::<u8>()), 0..50),
        ) {
            let mut list = StatusList::new(bits, 500).expect("a list");
            let mut expected = vec![0u8; 500];
            for (index, value) in sets {
                let value = value & mask(bits);
                list.set(index, value).expect("set");
                expected[index] = value;
            }
            let read = StatusList::from_json(&list.to_json(), 1024).expect("read");
            for (index, value) in expected.iter().enumerate() {
                prop_assert_eq!(read.get(index), Some(*value));
            }
            prop_assert!(list.set(500 * 8 / usize::from(bits) + 8, 0).is_err());
        }
    }
}
