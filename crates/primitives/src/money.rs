//! Money: integer minor units with an ISO 4217 currency. No floats anywhere.

use crate::codec::DecodeError;
use crate::fields::Field;
use bytes::BufMut;
use commonware_codec::{Buf, ReadExt, Write};
use serde::{Deserialize, Serialize};

/// The largest amount one instruction may carry, in minor units (10^15: ten trillion in a
/// currency with two decimals). Totals are sums of such amounts in `u64` with checked
/// additions, so a total that would overflow is refused, never wrapped; and every amount
/// stays exact in JavaScript (below 2^53).
pub const AMOUNT_MAX: u64 = 1_000_000_000_000_000;

/// An ISO 4217 alphabetic code: three uppercase ASCII letters, such as `EUR`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    /// Parses a code; only the shape is checked (three uppercase letters).
    pub fn parse(text: &str) -> Result<Self, DecodeError> {
        let bytes = text.as_bytes();
        if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_uppercase) {
            return Err(DecodeError::Invalid {
                field: "currency",
                reason: format!(
                    "{text:?} is not an ISO 4217 code: three uppercase letters such as EUR"
                ),
            });
        }
        Ok(Self([bytes[0], bytes[1], bytes[2]]))
    }

    /// Digits after the decimal point (ISO 4217 minor unit): 0 for currencies such as JPY or
    /// XOF, 3 for BHD, KWD and a few others, 2 for the rest.
    pub fn minor_digits(&self) -> u32 {
        match self.as_str() {
            "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF"
            | "UGX" | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
            "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
            _ => 2,
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Field for Currency {
    type Bound = ();
    fn put(&self, buf: &mut impl BufMut) {
        buf.put_slice(&self.0);
    }
    fn size(&self) -> usize {
        3
    }
    fn take(buf: &mut impl Buf, _: ()) -> Result<Self, commonware_codec::Error> {
        let bytes = [u8::read(buf)?, u8::read(buf)?, u8::read(buf)?];
        if !bytes.iter().all(u8::is_ascii_uppercase) {
            return Err(commonware_codec::Error::Invalid(
                "currency",
                "not three uppercase letters",
            ));
        }
        Ok(Self(bytes))
    }
}

/// An amount of money: minor units (cents for EUR, yen for JPY) and its currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Money {
    /// Minor units (cents for EUR). An amount an instruction carries is at most 10^15; a
    /// figure the ledger adds up (a total, a contract's value) may be larger.
    pub amount: u64,
    /// ISO 4217 code.
    pub currency: Currency,
}

impl Money {
    /// `amount` minor units of `currency`.
    pub const fn new(amount: u64, currency: Currency) -> Self {
        Self { amount, currency }
    }

    /// Parses an amount in major units (`1234.50`, `125`), exactly: no more decimals than the
    /// currency has, no sign, no exponent.
    pub fn parse_major(text: &str, currency: Currency) -> Result<Self, DecodeError> {
        let digits = currency.minor_digits() as usize;
        let invalid = |reason: String| DecodeError::Invalid {
            field: "amount",
            reason,
        };
        let (whole, fraction) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
        if whole.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(invalid(format!(
                "{text:?} is not an amount such as 1234.50 (digits, at most one point)"
            )));
        }
        if fraction.len() > digits {
            return Err(invalid(format!(
                "{text:?} has {} digits after the point; {currency} amounts have at most {digits}",
                fraction.len()
            )));
        }
        let scale = 10u64.pow(digits as u32);
        let whole: u64 = whole
            .parse()
            .map_err(|_| invalid(format!("{text:?} is too large")))?;
        let fraction: u64 = if fraction.is_empty() {
            0
        } else {
            fraction.parse::<u64>().unwrap_or(0) * 10u64.pow((digits - fraction.len()) as u32)
        };
        let amount = whole
            .checked_mul(scale)
            .and_then(|a| a.checked_add(fraction))
            .filter(|a| *a <= AMOUNT_MAX)
            .ok_or_else(|| invalid(format!("{text:?} is above the largest amount")))?;
        Ok(Self { amount, currency })
    }

    /// Checks the amount is within [`AMOUNT_MAX`] and, unless `zero_ok`, positive.
    pub fn check(&self, field: &'static str, zero_ok: bool) -> Result<(), DecodeError> {
        if self.amount > AMOUNT_MAX || (!zero_ok && self.amount == 0) {
            return Err(DecodeError::Invalid {
                field,
                reason: format!(
                    "must be {} to {AMOUNT_MAX} minor units; it is {}",
                    u64::from(!zero_ok),
                    self.amount
                ),
            });
        }
        Ok(())
    }
}

/// Writes `amount` minor units of `currency` in major units: `1234.50 EUR`, `125 XOF`.
pub fn format_amount(amount: impl Into<u128>, currency: Currency) -> String {
    let amount: u128 = amount.into();
    let digits = currency.minor_digits();
    if digits == 0 {
        return format!("{amount} {currency}");
    }
    let scale = 10u128.pow(digits);
    format!(
        "{}.{:0width$} {currency}",
        amount / scale,
        amount % scale,
        width = digits as usize
    )
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format_amount(self.amount, self.currency))
    }
}

/// Reads what [`Display`](std::fmt::Display) writes: an amount in major units and a currency
/// code, `1200.00 EUR` (exactly: no more decimals than the currency has).
impl std::str::FromStr for Money {
    type Err = DecodeError;
    fn from_str(text: &str) -> Result<Self, DecodeError> {
        let mut parts = text.split_whitespace();
        match (parts.next(), parts.next(), parts.next()) {
            (Some(amount), Some(code), None) => Self::parse_major(amount, Currency::parse(code)?),
            _ => Err(DecodeError::Invalid {
                field: "amount",
                reason: format!(
                    "{text:?} is not an amount with its currency, such as \"1200.00 EUR\""
                ),
            }),
        }
    }
}

impl std::str::FromStr for Currency {
    type Err = DecodeError;
    fn from_str(text: &str) -> Result<Self, DecodeError> {
        Self::parse(text)
    }
}

impl Field for Money {
    type Bound = ();
    fn put(&self, buf: &mut impl BufMut) {
        self.amount.write(buf);
        self.currency.put(buf);
    }
    fn size(&self) -> usize {
        11
    }
    fn take(buf: &mut impl Buf, _: ()) -> Result<Self, commonware_codec::Error> {
        Ok(Self {
            amount: u64::read(buf)?,
            currency: Currency::take(buf, ())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_with_their_currency_parse_as_they_print() {
        let eur = Currency::parse("EUR").unwrap();
        let money: Money = "1200.50 EUR".parse().unwrap();
        assert_eq!(money, Money::new(120_050, eur));
        assert_eq!(money.to_string().parse::<Money>().unwrap(), money);
        assert_eq!(
            " 125  XOF ".parse::<Money>().unwrap().to_string(),
            "125 XOF"
        );
        for bad in [
            "1200.50",
            "EUR 1200",
            "1200.505 EUR",
            "12 EUR x",
            "-1 EUR",
            "1 eur",
            "",
        ] {
            assert!(bad.parse::<Money>().is_err(), "{bad}");
        }
    }

    #[test]
    fn currency_codes() {
        assert_eq!(Currency::parse("EUR").unwrap().as_str(), "EUR");
        for bad in ["eur", "EU", "EURO", "E1R", ""] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
        let money: Money = serde_json::from_str(r#"{"amount":125,"currency":"XOF"}"#).unwrap();
        assert_eq!(money.to_string(), "125 XOF");
        let eur = Currency::parse("EUR").unwrap();
        assert_eq!(Money::new(123_405, eur).to_string(), "1234.05 EUR");
        assert_eq!(
            format_amount(7u64, Currency::parse("KWD").unwrap()),
            "0.007 KWD"
        );
        assert!(serde_json::from_str::<Money>(r#"{"amount":1,"currency":"x"}"#).is_err());
        assert!(serde_json::from_str::<Money>(r#"{"amount":-1,"currency":"EUR"}"#).is_err());
        assert!(serde_json::from_str::<Money>(r#"{"amount":1.5,"currency":"EUR"}"#).is_err());
    }

    #[test]
    fn bounds() {
        let eur = Currency::parse("EUR").unwrap();
        assert!(Money::new(0, eur).check("amount", false).is_err());
        assert!(Money::new(0, eur).check("amount", true).is_ok());
        assert!(
            Money::new(AMOUNT_MAX + 1, eur)
                .check("amount", true)
                .is_err()
        );
        let mut bytes = Vec::new();
        Money::new(5, eur).put(&mut bytes);
        bytes[10] = b'r';
        assert!(Money::take(&mut commonware_codec::Copying(&bytes), ()).is_err());
    }
}
