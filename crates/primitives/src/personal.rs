//! What a public text may not hold: the personal data a machine recognizes for certain.
//!
//! The ledger is public and permanent, and what names a person belongs in a vault
//! (`docs/PERSONAL-DATA.md`). Free-text fields (a memo, a title, a reason) cannot be kept free
//! of names by a machine, but some personal data has a shape: an e-mail address, a phone number
//! in international form, a bank account number (IBAN, with its check digits), an identity
//! number (a number of nine or more digits standing alone, or `123-45-6789`). From protocol 3 a transaction whose
//! public text holds one is refused (`personal_data`), in every validator alike: the check is a
//! pure function of the text. A message names the field and the kind found, never the text.
//!
//! Each module lists its public text fields (`Operations::public_text`) and says how each is
//! read: prose (every rule), a code or reference (every rule but the digit run: invoice numbers
//! are long), or JSON (prose rules on free-text values such as a `description`, a code's on the
//! others, and no `contactPoint`: an OCDS release's contact points name people).

/// How a public field is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextKind {
    /// Free text written by a person: every rule.
    Prose,
    /// A reference or code (an invoice number, an id): every rule but long digit runs.
    Code,
    /// A JSON document: free-text values (a `description`, a `note`) as prose, other string
    /// values as codes, and no `contactPoint` object.
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

    /// A reference or code.
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
    /// A phone number in international form (`+` and 8 to 15 digits).
    Phone,
    /// A bank account number (an IBAN whose check digits hold).
    Iban,
    /// An identity number: a number of nine or more digits standing alone, or `123-45-6789`.
    IdNumber,
    /// An OCDS contact point (a person's name, e-mail or phone).
    ContactPoint,
}

impl Found {
    /// What it is, for a message.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Email => "an e-mail address",
            Self::Phone => "a phone number",
            Self::Iban => "a bank account number (IBAN)",
            Self::IdNumber => {
                "what looks like an identity number (a number of nine or more digits)"
            }
            Self::ContactPoint => "an OCDS contactPoint (contact points name people)",
        }
    }
}

/// The first kind of personal data `text` holds, read as `kind`.
pub fn find(text: &str, kind: TextKind) -> Option<Found> {
    match kind {
        TextKind::Prose => find_in(text, true),
        TextKind::Code => find_in(text, false),
        TextKind::Json => find_in_json(text),
    }
}

fn find_in(text: &str, digit_runs: bool) -> Option<Found> {
    if has_email(text) {
        return Some(Found::Email);
    }
    if has_phone(text) {
        return Some(Found::Phone);
    }
    if has_iban(text) {
        return Some(Found::Iban);
    }
    if digit_runs && has_id_number(text) {
        return Some(Found::IdNumber);
    }
    None
}

/// Keys of a JSON document whose string values are free text, read as prose; every other
/// string value (ids, registration numbers, dates, addresses of documents) is read as a code.
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
];

/// JSON: each string value as a code, or as prose under a key of [`PROSE_KEYS`]; any
/// `contactPoint` key. Text that does not parse is read as prose as a whole (it is refused
/// elsewhere if it must be JSON).
fn find_in_json(text: &str) -> Option<Found> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return find_in(text, true);
    };
    let mut stack = vec![(false, &value)];
    while let Some((prose, value)) = stack.pop() {
        match value {
            serde_json::Value::String(s) => {
                if let Some(found) = find_in(s, prose) {
                    return Some(found);
                }
            }
            serde_json::Value::Array(items) => stack.extend(items.iter().map(|i| (prose, i))),
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    if key == "contactPoint" {
                        return Some(Found::ContactPoint);
                    }
                    if let Some(found) = find_in(key, false) {
                        return Some(found);
                    }
                    stack.push((PROSE_KEYS.contains(&key.as_str()), value));
                }
            }
            _ => {}
        }
    }
    None
}

fn is_local(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"._%+-".contains(&c)
}

fn is_domain(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'.'
}

/// `local@domain.tld`: a local part, an `@`, a domain with a dot and a top-level part of two
/// or more letters.
fn has_email(text: &str) -> bool {
    let bytes = text.as_bytes();
    for (at, _) in text.match_indices('@') {
        let local = bytes[..at]
            .iter()
            .rev()
            .take_while(|c| is_local(**c))
            .count();
        if local == 0 {
            continue;
        }
        let domain: Vec<u8> = bytes[at + 1..]
            .iter()
            .copied()
            .take_while(|c| is_domain(*c))
            .collect();
        let domain = String::from_utf8_lossy(&domain);
        let domain = domain.trim_end_matches('.');
        if let Some((name, tld)) = domain.rsplit_once('.')
            && !name.is_empty()
            && tld.len() >= 2
            && tld.bytes().all(|c| c.is_ascii_alphabetic())
        {
            return true;
        }
    }
    false
}

/// `+` then 8 to 15 digits, spaces, dashes, dots and parentheses between them allowed.
fn has_phone(text: &str) -> bool {
    let bytes = text.as_bytes();
    for (plus, _) in text.match_indices('+') {
        let mut digits = 0;
        for &c in &bytes[plus + 1..] {
            if c.is_ascii_digit() {
                digits += 1;
            } else if b" -.()".contains(&c) {
                continue;
            } else {
                break;
            }
        }
        if (8..=15).contains(&digits) {
            return true;
        }
    }
    false
}

/// Two capital letters, two digits, then 11 to 30 letters or digits (single spaces allowed
/// between groups), whose ISO 13616 check (mod 97) holds.
fn has_iban(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    for start in 0..chars.len() {
        let c = &chars[start..];
        if c.len() < 4
            || !c[0].is_ascii_uppercase()
            || !c[1].is_ascii_uppercase()
            || !c[2].is_ascii_digit()
            || !c[3].is_ascii_digit()
            || (start > 0 && chars[start - 1].is_ascii_alphanumeric())
        {
            continue;
        }
        // The characters of the candidate, spaces dropped.
        let mut compact: Vec<char> = Vec::with_capacity(34);
        let mut i = 0;
        while i < c.len() && compact.len() < 34 {
            if c[i].is_ascii_alphanumeric() {
                compact.push(c[i].to_ascii_uppercase());
            } else if c[i] == ' ' && i + 1 < c.len() && c[i + 1].is_ascii_alphanumeric() {
                // one space between groups
            } else {
                break;
            }
            i += 1;
        }
        for length in 15..=compact.len() {
            if iban_checks(&compact[..length]) {
                return true;
            }
        }
    }
    false
}

fn iban_checks(candidate: &[char]) -> bool {
    let rotated = candidate[4..].iter().chain(&candidate[..4]);
    let mut remainder: u32 = 0;
    for c in rotated {
        let value = match c.to_digit(36) {
            Some(v) => v,
            None => return false,
        };
        if value >= 10 {
            remainder = (remainder * 100 + value) % 97;
        } else {
            remainder = (remainder * 10 + value) % 97;
        }
    }
    remainder == 1
}

/// A number of nine or more digits standing alone (not part of a word of letters and digits,
/// such as a hash in hex), or `ddd-dd-dddd`.
fn has_id_number(text: &str) -> bool {
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
        // An amount with decimals (`1500000000.00 EUR`) is an amount.
        let decimal = |at: Option<usize>, next: Option<usize>| {
            at.and_then(|i| bytes.get(i))
                .is_some_and(|c| *c == b'.' || *c == b',')
                && next
                    .and_then(|i| bytes.get(i))
                    .is_some_and(u8::is_ascii_digit)
        };
        let amount = decimal(Some(end), Some(end + 1))
            || decimal(start.checked_sub(1), start.checked_sub(2));
        if word.len() >= 9 && word.iter().all(u8::is_ascii_digit) && !amount {
            return true;
        }
        start = end;
    }
    let bytes = text.as_bytes();
    bytes.windows(11).enumerate().any(|(i, w)| {
        let shape = w.iter().enumerate().all(|(j, c)| match j {
            3 | 6 => *c == b'-',
            _ => c.is_ascii_digit(),
        });
        let before = i == 0 || !bytes[i - 1].is_ascii_digit();
        let after = bytes.get(i + 11).is_none_or(|c| !c.is_ascii_digit());
        shape && before && after
    })
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
        assert_eq!(prose("call +44 20 7946 0958"), Some(Found::Phone));
        assert_eq!(prose("+1 (555) 010-9999"), Some(Found::Phone));
        assert_eq!(
            prose("pay to GB82 WEST 1234 5698 7654 32"),
            Some(Found::Iban)
        );
        assert_eq!(prose("DE89370400440532013000"), Some(Found::Iban));
        assert_eq!(prose("national id 38001085718"), Some(Found::IdNumber));
        assert_eq!(prose("SSN 078-05-1120"), Some(Found::IdNumber));
    }

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
            // A digest in hex may hold long runs of digits; it is not a number.
            "Tender document (SHA-256 5e3a5d4120394857612034987b1c4b1c)",
            "value 1200000000.00 EUR -> 1350000000.00 EUR",
        ] {
            assert_eq!(find(text, TextKind::Prose), None, "{text}");
        }
        // A reference may hold a long number; prose may not.
        assert_eq!(find("INV-000123456789", TextKind::Code), None);
        assert_eq!(
            find("INV-000123456789", TextKind::Prose),
            Some(Found::IdNumber)
        );
    }

    proptest::proptest! {
        /// No text makes the search panic, whatever it holds.
        #[test]
        fn any_text_is_read_without_panicking(text in ".{0,200}", bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let lossy = String::from_utf8_lossy(&bytes).into_owned();
            for kind in [TextKind::Prose, TextKind::Code, TextKind::Json] {
                let _ = find(&text, kind);
                let _ = find(&lossy, kind);
            }
        }
    }

    #[test]
    fn json_is_read_value_by_value() {
        let release = r#"{"ocid":"ocds-1","tender":{"value":{"amount":150000000}},
            "parties":[{"name":"Acme Ltd","identifier":{"id":"123456789"}}]}"#;
        assert_eq!(find(release, TextKind::Json), None);
        let contact = r#"{"parties":[{"name":"Acme","contactPoint":{"name":"J. Doe"}}]}"#;
        assert_eq!(find(contact, TextKind::Json), Some(Found::ContactPoint));
        let email = r#"{"parties":[{"name":"Acme","address":{"locality":"jd@acme.example"}}]}"#;
        assert_eq!(find(email, TextKind::Json), Some(Found::Email));
        // Free text in a release is read as prose: an identity number in a description is
        // found, the same digits as a party's registration number are not.
        let note = r#"{"tender":{"description":"applicant 38001085718"}}"#;
        assert_eq!(find(note, TextKind::Json), Some(Found::IdNumber));
    }
}
