//! What a public text may not hold: the personal data a machine recognizes for certain.
//!
//! The ledger is public and permanent, and what names a person belongs in a vault
//! (`docs/PERSONAL-DATA.md`). Free-text fields (a memo, a title, a reason) cannot be kept free
//! of names by a machine, but some personal data has an unmistakable shape. From protocol 3 a
//! transaction whose public text holds one is refused (`personal_data`) by every validator
//! alike: [`find`] is a pure function of the bytes that reads ASCII only (any other character
//! counts as a letter, so no Unicode table decides anything), and it is precise enough to be a
//! consensus rule: an e-mail address; a phone number in international form; a bank account
//! number (an IBAN of a registered country, at its exact length, whose check digits hold); in
//! an OCDS release, a contact point; and a release that is not strict JSON (duplicate keys, or
//! not JSON at all), which could hide the rest.
//!
//! What has a shape but is also common in government text (a long number: an identity number,
//! but also a company's or a product's) is only warned about, before signing, by the tools
//! ([`warn`]); never a reason to refuse a block.
//!
//! Each module lists its public text fields (`Operations::public_text`) and how each is read:
//! prose, a code or reference, or a JSON document.

/// How a public field is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextKind {
    /// Free text written by a person.
    Prose,
    /// A reference, code or address (an invoice number, an id): no warning for long numbers.
    Code,
    /// A JSON document (an OCDS release): strict JSON, every string value read, free-text
    /// values (a `description`, a `note`) as prose, no contact point.
    Json,
}

/// One public text field of an instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicText<'a> {
    /// The field's name, as errors name it.
    pub field: &'static str,
    /// Its text.
    pub text: &'a str,
    /// How it is read.
    pub kind: TextKind,
}

impl<'a> PublicText<'a> {
    /// Free text.
    pub fn prose(field: &'static str, text: &'a str) -> Self {
        Self {
            field,
            text,
            kind: TextKind::Prose,
        }
    }

    /// A reference, code or address.
    pub fn code(field: &'static str, text: &'a str) -> Self {
        Self {
            field,
            text,
            kind: TextKind::Code,
        }
    }

    /// A JSON document.
    pub fn json(field: &'static str, text: &'a str) -> Self {
        Self {
            field,
            text,
            kind: TextKind::Json,
        }
    }
}

/// A kind of personal data found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// An e-mail address.
    Email,
    /// A phone number in international form.
    Phone,
    /// A bank account number (an IBAN whose check digits hold).
    Iban,
    /// An OCDS contact point (a person's name, e-mail or phone).
    ContactPoint,
    /// A JSON document that is not strict JSON (duplicate keys, or not JSON), which could hide
    /// the rest from the check.
    NotStrictJson,
    /// A number of nine or more digits standing alone (an identity number, or a company's or
    /// a product's): warned about, never refused.
    LongNumber,
}

impl Found {
    /// What it is, for a message.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Email => "an e-mail address",
            Self::Phone => "a phone number",
            Self::Iban => "a bank account number (IBAN)",
            Self::ContactPoint => "an OCDS contact point (contact points name people)",
            Self::NotStrictJson => {
                "a document that is not strict JSON (duplicate keys, or not JSON), which could \
                 hide personal data"
            }
            Self::LongNumber => "a number of nine or more digits (an identity number?)",
        }
    }
}

/// The first kind of personal data `text` holds, read as `kind`: what the ledger refuses.
pub fn find(text: &str, kind: TextKind) -> Option<Found> {
    match kind {
        TextKind::Prose | TextKind::Code => shapes(text),
        TextKind::Json => match strict_json(text) {
            Err(()) => Some(Found::NotStrictJson),
            Ok(value) => json_strings(&value)
                .find_map(|(_, s)| shapes(s))
                .or_else(|| contact_points(&value).then_some(Found::ContactPoint)),
        },
    }
}

/// What the tools warn about before signing, beyond what [`find`] refuses: a long number in
/// prose (or in a JSON document's free text).
pub fn warn(text: &str, kind: TextKind) -> Option<Found> {
    let long = |s: &str| has_long_number(s).then_some(Found::LongNumber);
    match kind {
        TextKind::Prose => long(text),
        TextKind::Code => None,
        TextKind::Json => strict_json(text).ok().and_then(|value| {
            json_strings(&value).find_map(|(prose, s)| prose.then(|| long(s)).flatten())
        }),
    }
}

fn shapes(text: &str) -> Option<Found> {
    if has_email(text) {
        Some(Found::Email)
    } else if has_phone(text) {
        Some(Found::Phone)
    } else if has_iban(text) {
        Some(Found::Iban)
    } else {
        None
    }
}

/// Keys of a JSON document whose string values are free text (read as prose for warnings);
/// contact points are refused whatever they hold.
const PROSE_KEYS: &[&str] = &[
    "description",
    "title",
    "rationale",
    "note",
    "notes",
    "comment",
    "comments",
    "summary",
    "justification",
    "streetAddress",
    "procurementMethodRationale",
    "statusDetails",
    "awardCriteriaDetails",
    "eligibilityCriteria",
    "submissionMethodDetails",
];

/// Keys whose presence is refused in a JSON document: an OCDS contact point names a person.
const CONTACT_KEYS: &[&str] = &["contactPoint", "additionalContactPoints"];

/// `text` as JSON, refusing duplicate keys (a parser keeps only one of them, so the check
/// would read another document than the bytes on the ledger) and anything but strict JSON.
fn strict_json(text: &str) -> Result<serde_json::Value, ()> {
    let value: Strict = serde_json::from_str(text).map_err(|_| ())?;
    Ok(value.0)
}

/// Every string of a JSON value (keys included), with whether it is free text.
fn json_strings(value: &serde_json::Value) -> impl Iterator<Item = (bool, &str)> {
    let mut out = Vec::new();
    let mut stack = vec![(false, value)];
    while let Some((prose, value)) = stack.pop() {
        match value {
            serde_json::Value::String(s) => out.push((prose, s.as_str())),
            serde_json::Value::Array(items) => stack.extend(items.iter().map(|i| (prose, i))),
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    out.push((false, key.as_str()));
                    stack.push((PROSE_KEYS.contains(&key.as_str()), value));
                }
            }
            _ => {}
        }
    }
    out.into_iter()
}

fn contact_points(value: &serde_json::Value) -> bool {
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            serde_json::Value::Array(items) => stack.extend(items),
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    if CONTACT_KEYS.contains(&key.as_str()) {
                        return true;
                    }
                    stack.push(value);
                }
            }
            _ => {}
        }
    }
    false
}

/// A JSON value whose objects have no duplicate keys.
struct Strict(serde_json::Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON without duplicate keys")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(serde_json::Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(serde_json::Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(serde_json::Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some((key, Strict(value))) = map.next_entry::<String, Strict>()? {
            if out.contains_key(&key) {
                return Err(serde::de::Error::custom("duplicate key"));
            }
            out.insert(key, value);
        }
        Ok(serde_json::Value::Object(out))
    }
}

/// A letter of a local part or a domain: ASCII letters and digits, and any non-ASCII character
/// (decided without Unicode tables, the same on every build).
fn letter(c: char) -> bool {
    c.is_ascii_alphanumeric() || !c.is_ascii()
}

/// `local@domain.tld`: a local part, an `@`, a domain with a dot and a top-level part of two
/// or more letters.
fn has_email(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    for (at, _) in chars.iter().enumerate().filter(|(_, c)| **c == '@') {
        let local = chars[..at]
            .iter()
            .rev()
            .take_while(|c| letter(**c) || "._%+-".contains(**c))
            .count();
        if local == 0 {
            continue;
        }
        let domain: String = chars[at + 1..]
            .iter()
            .take_while(|c| letter(**c) || **c == '-' || **c == '.')
            .collect();
        let domain = domain.trim_end_matches('.');
        if let Some((name, tld)) = domain.rsplit_once('.')
            && !name.is_empty()
            && tld.chars().count() >= 2
            && tld
                .chars()
                .all(|c| c.is_ascii_alphabetic() || !c.is_ascii())
        {
            return true;
        }
    }
    false
}

/// `+`, a digit at once, then digits with single spaces, dashes or parentheses between them: 8
/// to 15 digits in all, not followed by a decimal point and a digit (`+1 500 000.00` is an
/// amount).
fn has_phone(text: &str) -> bool {
    let bytes = text.as_bytes();
    for (plus, _) in text.match_indices('+') {
        if !bytes.get(plus + 1).is_some_and(u8::is_ascii_digit) {
            continue;
        }
        let mut digits = 0;
        let mut end = plus + 1;
        while let Some(&c) = bytes.get(end) {
            if c.is_ascii_digit() {
                digits += 1;
            } else if !b" -()".contains(&c) {
                break;
            }
            end += 1;
        }
        let decimal = bytes.get(end).is_some_and(|c| *c == b'.' || *c == b',')
            && bytes.get(end + 1).is_some_and(u8::is_ascii_digit);
        if (8..=15).contains(&digits) && !decimal {
            return true;
        }
    }
    false
}

/// The IBAN length of each country of the ISO 13616 registry.
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BI", 27),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DJ", 27),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FK", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("LY", 25),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MN", 20),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NI", 28),
    ("NL", 18),
    ("NO", 15),
    ("OM", 23),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("RU", 33),
    ("SA", 24),
    ("SC", 31),
    ("SD", 18),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("SO", 23),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
    ("YE", 30),
];

/// An IBAN: a registered country code, two check digits, then capital letters and digits to
/// the country's exact length, written either in one piece or in groups of four separated by
/// single spaces, standing alone (no letter or digit right before or after), whose ISO 13616
/// check (mod 97) holds.
fn has_iban(text: &str) -> bool {
    let bytes = text.as_bytes();
    let alnum = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_alphanumeric);
    (0..bytes.len()).any(|start| {
        if start > 0 && alnum(start - 1) {
            return false;
        }
        let Some(country) = bytes.get(start..start + 2) else {
            return false;
        };
        let Some(&(_, length)) = IBAN_LENGTHS.iter().find(|(c, _)| c.as_bytes() == country) else {
            return false;
        };
        [false, true].into_iter().any(|grouped| {
            iban_at(bytes, start, length, grouped).is_some_and(|(compact, end)| {
                compact[2].is_ascii_digit()
                    && compact[3].is_ascii_digit()
                    && !alnum(end)
                    && iban_checks(&compact)
            })
        })
    })
}

/// The `length` characters of an IBAN written from `start` (in groups of four if `grouped`),
/// and where it ends; `None` if the text is not written so.
fn iban_at(bytes: &[u8], start: usize, length: usize, grouped: bool) -> Option<(Vec<u8>, usize)> {
    let mut compact = Vec::with_capacity(length);
    let mut at = start;
    while compact.len() < length {
        if grouped && !compact.is_empty() && compact.len() % 4 == 0 {
            if bytes.get(at) != Some(&b' ') {
                return None;
            }
            at += 1;
        }
        let c = *bytes.get(at)?;
        if !(c.is_ascii_digit() || c.is_ascii_uppercase()) {
            return None;
        }
        compact.push(c);
        at += 1;
    }
    Some((compact, at))
}

fn iban_checks(candidate: &[u8]) -> bool {
    let rotated = candidate[4..].iter().chain(&candidate[..4]);
    let mut remainder: u32 = 0;
    for c in rotated {
        let value = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            _ => return false,
        };
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    remainder == 1
}

/// A number of nine or more digits standing alone: not part of a word of letters and digits
/// (a hash in hex), not an amount with decimals (`1500000000.00`), not followed by a currency
/// code (`1250000000 VND`).
fn has_long_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        if !bytes[start].is_ascii_alphanumeric() {
            start += 1;
            continue;
        }
        let end = start
            + bytes[start..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric())
                .count();
        let word = &bytes[start..end];
        let decimal = |sep: Option<&u8>, digit: Option<&u8>| {
            sep.is_some_and(|c| *c == b'.' || *c == b',') && digit.is_some_and(u8::is_ascii_digit)
        };
        let amount = decimal(bytes.get(end), bytes.get(end + 1))
            || (start >= 2 && decimal(bytes.get(start - 1), bytes.get(start - 2)))
            || (bytes.get(end) == Some(&b' ')
                && bytes
                    .get(end + 1..end + 4)
                    .is_some_and(|c| c.iter().all(u8::is_ascii_uppercase))
                && !bytes.get(end + 4).is_some_and(u8::is_ascii_alphanumeric));
        if word.len() >= 9 && word.iter().all(u8::is_ascii_digit) && !amount {
            return true;
        }
        start = end;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_has_the_shape_of_personal_data_is_found() {
        let prose = |t: &str| find(t, TextKind::Prose);
        assert_eq!(
            prose("write to jane.doe@example.org please"),
            Some(Found::Email)
        );
        assert_eq!(prose("josé@correo.es"), Some(Found::Email));
        assert_eq!(prose("call +44 20 7946 0958"), Some(Found::Phone));
        assert_eq!(prose("+1 (555) 010-9999"), Some(Found::Phone));
        assert_eq!(
            prose("pay to GB82 WEST 1234 5698 7654 32"),
            Some(Found::Iban)
        );
        assert_eq!(prose("IBAN DE89370400440532013000."), Some(Found::Iban));
        // Long numbers are warned about, never refused.
        assert_eq!(prose("national id 38001085718"), None);
        assert_eq!(
            warn("national id 38001085718", TextKind::Prose),
            Some(Found::LongNumber)
        );
        assert_eq!(warn("INV-000123456789", TextKind::Code), None);
    }

    /// Government text as it is written: none of it is refused (a false refusal would lock
    /// ordinary work out of the ledger), and none of it warned about but real long numbers.
    #[test]
    fn ordinary_public_text_passes() {
        for text in [
            "Consultation on the 2027 budget",
            "Rural clinic: terms of reference, version 3",
            "superseded by notice 12 of 2026-03-01",
            "price 1,200,000.00 EUR, 24 months",
            "meeting at 10:30, room 4.12",
            "see @mention and user@localhost",
            "C++ and A+B grades",
            "REF-2026-000123",
            "GB00 not an account",
            "12345678",
            "Tender document (SHA-256 5e3a5d4120394857612034987b1c4b1c)",
            "value 1200000000.00 EUR -> 1350000000.00 EUR",
            "FY2027 supply of laptops for teachers",
            "DE10 road resurfacing works in the northern district",
            "PM25 budget for the rural clinic programme",
            "EN14511 maintenance of street lighting",
            "Regulation (EU) 2016/679, article 6(1)(e)",
            "+1 500 000.00 EUR over the estimate",
            "(2026-01-01 + 2026-12-31)",
            "1250000000 VND for the bridge",
            "see https://example.gov/tenders/2026/17 for the documents",
            "NL91 ABNA 0417 1643 01: the check digits do not hold",
        ] {
            assert_eq!(find(text, TextKind::Prose), None, "{text}");
        }
        assert_eq!(warn("1250000000 VND", TextKind::Prose), None);
        assert_eq!(
            warn("SIREN 552100554", TextKind::Prose),
            Some(Found::LongNumber)
        );
    }

    #[test]
    fn json_is_read_strictly_value_by_value() {
        let release = r#"{"ocid":"ocds-1","tender":{"value":{"amount":150000000}},
            "parties":[{"name":"Acme Ltd","identifier":{"id":"123456789"}}]}"#;
        assert_eq!(find(release, TextKind::Json), None);
        let contact = r#"{"parties":[{"name":"Acme","contactPoint":{"name":"J. Doe"}}]}"#;
        assert_eq!(find(contact, TextKind::Json), Some(Found::ContactPoint));
        let more = r#"{"parties":[{"additionalContactPoints":[]}]}"#;
        assert_eq!(find(more, TextKind::Json), Some(Found::ContactPoint));
        let email = r#"{"parties":[{"address":{"locality":"jd\u0040acme.example"}}]}"#;
        assert_eq!(find(email, TextKind::Json), Some(Found::Email));
        // A duplicate key would let a parser read another document than the bytes.
        let hidden = r#"{"description":"jd@acme.example","description":""}"#;
        assert_eq!(find(hidden, TextKind::Json), Some(Found::NotStrictJson));
        assert_eq!(
            find("{not json", TextKind::Json),
            Some(Found::NotStrictJson)
        );
        assert_eq!(
            find(r#"{"a":NaN}"#, TextKind::Json),
            Some(Found::NotStrictJson)
        );
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(find(&deep, TextKind::Json), Some(Found::NotStrictJson));
        // Free text in a release is warned about as prose.
        let note = r#"{"tender":{"description":"applicant 38001085718"}}"#;
        assert_eq!(find(note, TextKind::Json), None);
        assert_eq!(warn(note, TextKind::Json), Some(Found::LongNumber));
    }

    proptest::proptest! {
        /// No text makes the search panic, whatever it holds.
        #[test]
        fn any_text_is_read_without_panicking(
            text in ".{0,200}",
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
        ) {
            let lossy = String::from_utf8_lossy(&bytes).into_owned();
            for kind in [TextKind::Prose, TextKind::Code, TextKind::Json] {
                let _ = find(&text, kind);
                let _ = find(&lossy, kind);
                let _ = warn(&text, kind);
            }
        }
    }
}
