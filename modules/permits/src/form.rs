//! An application form's answers, checked against its permit type's fields: what the agency's
//! vault accepts before it seals a form (the portal checks the same in the browser first).
//!
//! The answers are a JSON object, one member per field the applicant filled in: text and
//! dates as strings (`YYYY-MM-DD`), numbers as whole numbers, choices as one of the choices'
//! text, yes/no as `true` or `false`. Nothing else is accepted, so nothing but what the type
//! asks for reaches the vault.

use civitas_core::permits::{FieldKind, PermitTypeDef};
use serde_json::{Map, Value};

/// One problem with an answer: the field, and what is wrong, for the person filling it in.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The field's name (or `answers` for the whole form).
    pub field: String,
    /// What is wrong.
    pub problem: String,
}

fn problem(field: &str, text: impl Into<String>) -> Problem {
    Problem {
        field: field.to_string(),
        problem: text.into(),
    }
}

/// Most problems listed: a form with more is refused on those.
pub const PROBLEMS_MAX: usize = 32;

/// A character a text answer may not hold: controls (but line breaks and tabs), and the
/// marks that reorder or hide text (bidirectional overrides and isolates, line and paragraph
/// separators).
fn forbidden_char(c: char) -> bool {
    (c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        || matches!(
            c,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}'
        )
}

/// Whether `text` is a date of the Gregorian calendar written `YYYY-MM-DD`.
pub fn is_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return false;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10)) else {
        return false;
    };
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    year >= 1 && (1..=days).contains(&day)
}

/// Checks `answers` against `definition`'s fields; every problem found, in the fields' order
/// (an unknown member last). Empty: the form is complete and well formed.
pub fn check(definition: &PermitTypeDef, answers: &Map<String, Value>) -> Vec<Problem> {
    let mut problems = Vec::new();
    for field in &definition.fields {
        let name = field.name.as_str();
        let answer = answers.get(name).filter(|v| !v.is_null());
        let Some(answer) = answer else {
            if field.required {
                problems.push(problem(name, format!("{} is required", field.label)));
            }
            continue;
        };
        match &field.kind {
            FieldKind::Text { max_bytes } => match answer.as_str() {
                Some(text) if text.trim().is_empty() && field.required => {
                    problems.push(problem(name, format!("{} is required", field.label)));
                }
                Some(text) if text.len() > usize::from(*max_bytes) => problems.push(problem(
                    name,
                    format!("at most {max_bytes} bytes; this is {}", text.len()),
                )),
                Some(text) if text.chars().any(forbidden_char) => {
                    problems.push(problem(
                        name,
                        "control characters and direction overrides are not allowed",
                    ));
                }
                Some(_) => {}
                None => problems.push(problem(name, "a text is expected")),
            },
            FieldKind::Number { min, max } => match answer.as_u64() {
                Some(n) if n < *min || n > *max => {
                    problems.push(problem(name, format!("a whole number from {min} to {max}")));
                }
                Some(_) => {}
                None => problems.push(problem(
                    name,
                    format!("a whole number from {min} to {max} is expected"),
                )),
            },
            FieldKind::Date {} => match answer.as_str() {
                Some(text) if is_date(text) => {}
                _ => problems.push(problem(name, "a date written YYYY-MM-DD is expected")),
            },
            FieldKind::Choice { choices } => match answer.as_str() {
                Some(text) if choices.iter().any(|c| c == text) => {}
                _ => problems.push(problem(name, format!("one of: {}", choices.join(", ")))),
            },
            FieldKind::YesNo {} => {
                if !answer.is_boolean() {
                    problems.push(problem(name, "yes or no (true or false) is expected"));
                }
            }
        }
    }
    for name in answers.keys() {
        if !definition.fields.iter().any(|f| &f.name == name) {
            let shown: String = name.chars().take(64).collect();
            problems.push(problem(&shown, "this permit type's form has no such field"));
        }
    }
    problems.truncate(PROBLEMS_MAX);
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_core::permits::examples::{building_permit, business_licence};
    use serde_json::json;

    fn answers(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_complete_form_passes_and_each_kind_of_mistake_is_named() {
        let licence = business_licence();
        let good = answers(json!({
            "trade": "food", "floor_area": 40, "opening": "2027-02-28",
            "notes": "Kitchen at the back.\nTwo exits."
        }));
        assert_eq!(check(&licence, &good), Vec::new());
        // Line breaks from a browser's text area are kept; a direction override is not.
        let crlf = answers(json!({"trade": "food", "floor_area": 4, "notes": "one\r\ntwo"}));
        assert_eq!(check(&licence, &crlf), Vec::new());
        let hidden = answers(json!({"trade": "food", "floor_area": 4, "notes": "abc\u{202E}fed"}));
        assert_eq!(check(&licence, &hidden)[0].field, "notes");
        // A flood of unknown members is answered with a bounded list.
        let mut flood = good.clone();
        for i in 0..1_000 {
            flood.insert(format!("{}{i}", "x".repeat(500)), json!(1));
        }
        let found = check(&licence, &flood);
        assert_eq!(found.len(), PROBLEMS_MAX);
        assert!(found.iter().all(|p| p.field.len() <= 64));
        // Optional fields may be left out.
        assert_eq!(
            check(
                &licence,
                &answers(json!({"trade": "retail", "floor_area": 1}))
            ),
            Vec::new()
        );
        let bad = answers(json!({
            "trade": "gambling", "floor_area": 0, "opening": "2027-02-29",
            "notes": "x".repeat(2_001), "owner": "someone"
        }));
        let found: Vec<(String, String)> = check(&licence, &bad)
            .into_iter()
            .map(|p| (p.field, p.problem))
            .collect();
        let fields: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            vec!["trade", "floor_area", "opening", "notes", "owner"]
        );
        assert!(found[0].1.contains("retail, food, workshop"), "{found:?}");
        let missing = check(&licence, &answers(json!({})));
        assert_eq!(missing.len(), 2);
        assert!(missing[0].problem.contains("required"));
        let permit = building_permit();
        let wrong_kind = check(
            &permit,
            &answers(
                json!({"works": "extension", "storeys": "two", "start": "2027-05-01", "heritage": "no"}),
            ),
        );
        let fields: Vec<&str> = wrong_kind.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, vec!["storeys", "heritage"]);
    }

    #[test]
    fn dates_are_real_calendar_dates() {
        for good in ["2024-02-29", "2027-12-31", "0001-01-01"] {
            assert!(is_date(good), "{good}");
        }
        for bad in [
            "2027-02-29",
            "2027-13-01",
            "2027-00-10",
            "27-01-01",
            "2027-1-01",
            "2027/01/01",
            "+027-01-01",
            "2027-04-31",
        ] {
            assert!(!is_date(bad), "{bad}");
        }
    }
}
