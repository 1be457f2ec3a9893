//! Money: `rust_decimal::Decimal` end to end, never `f64`.
//!
//! The API sends money as JSON strings (`"1300.00000"`) on some endpoints and as JSON numbers
//! (`0.9`) on others. Numbers are read from their source text (serde_json's `RawValue`), so no
//! binary float ever sits between the wire and the Decimal. Parquet stores `Decimal128(20,5)`,
//! so anything finer than 5 decimal places is rejected with a reason rather than rounded.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serializer};
use serde_json::value::RawValue;

pub type Money = Decimal;

/// Decimal places kept in storage (`Decimal128(20,5)`).
pub const STORAGE_SCALE: u32 = 5;
/// Largest magnitude that fits `Decimal128(20,5)`: 15 integer digits.
pub const STORAGE_MAX_INTEGER_DIGITS: u32 = 15;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("not a decimal amount: {0:?}")]
    NotDecimal(String),
    #[error("amount {0} has more than {STORAGE_SCALE} decimal places")]
    TooPrecise(String),
    #[error("amount {0} does not fit Decimal128(20,5)")]
    TooLarge(String),
}

/// Parse an amount exactly from its text (`"12.5"`, `"1300.00000"`, `"1e2"`), enforcing the
/// storage limits. Trailing zeros beyond 5 places are fine (`"0.9000000"`); significant digits
/// beyond 5 places are not.
pub fn parse_exact(text: &str) -> Result<Money, MoneyError> {
    let short = || text.chars().take(40).collect::<String>();
    let t = text.trim();
    let valid_chars = !t.is_empty()
        && t.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
    if !valid_chars {
        return Err(MoneyError::NotDecimal(short()));
    }
    let not_decimal = || MoneyError::NotDecimal(short());
    let d = match t.split_once(['e', 'E']) {
        // `Decimal::from_scientific` rounds a long mantissa silently (found by `make fuzz`),
        // so the exponent is applied here to an exactly parsed mantissa.
        Some((mantissa, exponent)) => {
            let m = Decimal::from_str_exact(mantissa)
                .map_err(|_| not_decimal())?
                .normalize();
            let e: i64 = exponent.parse().map_err(|_| not_decimal())?;
            scale_by_power_of_ten(m, e).ok_or_else(|| {
                if e > 0 {
                    MoneyError::TooLarge(short())
                } else {
                    MoneyError::TooPrecise(short())
                }
            })?
        }
        None => Decimal::from_str_exact(t).map_err(|_| not_decimal())?,
    }
    .normalize();
    if d.scale() > STORAGE_SCALE {
        return Err(MoneyError::TooPrecise(short()));
    }
    if d.trunc().abs() >= Decimal::from(10u64.pow(STORAGE_MAX_INTEGER_DIGITS)) {
        return Err(MoneyError::TooLarge(short()));
    }
    Ok(d)
}

/// `m × 10^e` exactly, or `None` when that does not fit a `Decimal` (28 places at most).
fn scale_by_power_of_ten(m: Decimal, e: i64) -> Option<Decimal> {
    if m.is_zero() {
        return Some(Decimal::ZERO);
    }
    if e >= 0 {
        (0..e.min(40))
            .try_fold(m, |acc, _| acc.checked_mul(Decimal::TEN))
            .filter(|_| e <= 40)
    } else {
        let scale = i64::from(m.scale()) - e;
        (scale <= 28).then(|| {
            let mut d = m;
            d.set_scale(scale as u32).expect("scale checked");
            d
        })
    }
}

/// Round to the paisa, half away from zero (the "ROUND_HALF_UP" of the GST rules).
pub fn round_paise(d: Money) -> Money {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// `d` printed with exactly `dp` decimal places (rounding half away from zero if needed).
pub fn fixed(d: Money, dp: u32) -> String {
    let r = d.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
    format!("{r:.prec$}", prec = dp as usize)
}

/// `d` with two places and Indian digit grouping: `12,34,56,789.05`, `-1,000.50`.
pub fn indian(d: Money) -> String {
    let text = fixed(d, 2);
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let (int, frac) = digits.split_once('.').expect("two places");
    let mut groups: Vec<&str> = Vec::new();
    let (head, last3) = if int.len() > 3 {
        int.split_at(int.len() - 3)
    } else {
        ("", int)
    };
    let mut rest = head;
    while rest.len() > 2 {
        let (a, b) = rest.split_at(rest.len() - 2);
        groups.push(b);
        rest = a;
    }
    if !rest.is_empty() {
        groups.push(rest);
    }
    groups.reverse();
    groups.push(last3);
    format!("{sign}{}.{frac}", groups.join(","))
}

/// An amount as the API sends it: a JSON string or a JSON number, read exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct WireMoney(pub Money);

impl<'de> Deserialize<'de> for WireMoney {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <&'de RawValue>::deserialize(d)?;
        let text = raw.get();
        let inner = text.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(text);
        parse_exact(inner).map(WireMoney).map_err(serde::de::Error::custom)
    }
}

/// A row's amount as extract reads it to check the API's sums: `Some` when it is exact money
/// (at most five decimals), `None` otherwise. An unreadable amount does not fail its page:
/// normalize rejects that row on its own, with the reason, and the sums are checked without it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RowMoney(pub Option<Money>);

impl<'de> Deserialize<'de> for RowMoney {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <&'de RawValue>::deserialize(d)?;
        let text = raw.get();
        let inner = text.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(text);
        Ok(RowMoney(parse_exact(inner).ok()))
    }
}

impl fmt::Display for WireMoney {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Serialize helpers for producing the API's money shapes (used by the simulator).
pub mod json {
    use super::*;

    /// A JSON number with exactly the decimal's digits (`0.9`, `200`, `0.0075`).
    pub fn number<S: Serializer>(d: &Money, s: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(d.normalize().to_string()).map_err(serde::ser::Error::custom)?;
        serde::Serialize::serialize(&raw, s)
    }

    /// A JSON string with exactly five places (`"1300.00000"`).
    pub fn string5<S: Serializer>(d: &Money, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&fixed(*d, 5))
    }

    /// A JSON string with exactly two places (`"108.24"`).
    pub fn string2<S: Serializer>(d: &Money, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&fixed(*d, 2))
    }

    /// A JSON number with one decimal place (minutes on the analytics endpoints).
    pub fn number1<S: Serializer>(d: &Money, s: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(fixed(*d, 1)).map_err(serde::ser::Error::custom)?;
        serde::Serialize::serialize(&raw, s)
    }
}

impl FromStr for WireMoney {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, MoneyError> {
        parse_exact(s).map(WireMoney)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal::dec;

    #[test]
    fn exponents_apply_to_the_exact_mantissa() {
        assert_eq!(parse_exact("1e2"), Ok(dec!(100)));
        assert_eq!(parse_exact("1.5E-3"), Ok(dec!(0.0015)));
        assert_eq!(parse_exact("12345e-5"), Ok(dec!(0.12345)));
        assert_eq!(parse_exact("1.0000000000000000000000000000e-1"), Ok(dec!(0.1)));
        assert_eq!(parse_exact("0e999"), Ok(dec!(0)));
        // A mantissa longer than a Decimal holds was once rounded to fit (found by fuzzing).
        assert!(parse_exact("1.00000000000000000000000000001e0").is_err());
        assert!(parse_exact("999.999991049999999999999999999100109e9").is_err());
        assert!(matches!(parse_exact("1e-6"), Err(MoneyError::TooPrecise(_))));
        assert!(matches!(parse_exact("1e30"), Err(MoneyError::TooLarge(_))));
        assert!(matches!(parse_exact("1e"), Err(MoneyError::NotDecimal(_))));
        assert!(matches!(parse_exact("e5"), Err(MoneyError::NotDecimal(_))));
    }

    #[test]
    fn a_row_amount_that_cannot_be_stored_is_none_not_an_error() {
        let v: Vec<RowMoney> = serde_json::from_str(r#"["0.12345", 0.123456, "abc", null, "1.5"]"#).unwrap();
        let got: Vec<Option<Money>> = v.into_iter().map(|m| m.0).collect();
        assert_eq!(got, vec![Some(dec!(0.12345)), None, None, None, Some(dec!(1.5))]);
    }

    #[test]
    fn parses_strings_and_numbers_exactly() {
        let m: WireMoney = serde_json::from_str("\"1300.00000\"").unwrap();
        assert_eq!(m.0, dec!(1300));
        let m: WireMoney = serde_json::from_str("0.9").unwrap();
        assert_eq!(m.0, dec!(0.9));
        // 0.1 + 0.2 as f64 is 0.30000000000000004; as text it is exact.
        let v: Vec<WireMoney> = serde_json::from_str("[0.1, 0.2]").unwrap();
        assert_eq!(v[0].0 + v[1].0, dec!(0.3));
        let m: WireMoney = serde_json::from_str("1e2").unwrap();
        assert_eq!(m.0, dec!(100));
        let m: WireMoney = serde_json::from_str("-12.34500").unwrap();
        assert_eq!(m.0, dec!(-12.345));
    }

    #[test]
    fn rejects_what_storage_cannot_hold() {
        assert!(matches!(parse_exact("0.123456"), Err(MoneyError::TooPrecise(_))));
        assert!(parse_exact("0.1234500000").is_ok());
        assert!(matches!(parse_exact("1000000000000000"), Err(MoneyError::TooLarge(_))));
        assert!(parse_exact("999999999999999.99999").is_ok());
        for bad in ["", "abc", "1,000", "NaN", "Infinity", "0x10", "1.2.3"] {
            assert!(parse_exact(bad).is_err(), "{bad:?}");
        }
        assert!(serde_json::from_str::<WireMoney>("null").is_err());
        assert!(serde_json::from_str::<WireMoney>("true").is_err());
    }

    #[test]
    fn rounds_half_away_from_zero_to_paise() {
        assert_eq!(round_paise(dec!(0.045)), dec!(0.05));
        assert_eq!(round_paise(dec!(0.0449)), dec!(0.04));
        assert_eq!(round_paise(dec!(-0.045)), dec!(-0.05));
        assert_eq!(fixed(dec!(1300), 5), "1300.00000");
        assert_eq!(fixed(dec!(108.235), 2), "108.24");
    }

    #[test]
    fn indian_grouping() {
        assert_eq!(indian(dec!(0)), "0.00");
        assert_eq!(indian(dec!(999.999)), "1,000.00");
        assert_eq!(indian(dec!(100000)), "1,00,000.00");
        assert_eq!(indian(dec!(123456789.05)), "12,34,56,789.05");
        assert_eq!(indian(dec!(-1000.5)), "-1,000.50");
        assert_eq!(indian(dec!(12345)), "12,345.00");
    }

    #[test]
    fn number_serializer_is_exact() {
        #[derive(serde::Serialize)]
        struct T {
            #[serde(serialize_with = "json::number")]
            a: Money,
            #[serde(serialize_with = "json::string5")]
            b: Money,
        }
        let s = serde_json::to_string(&T {
            a: dec!(0.0075),
            b: dec!(23906.83),
        })
        .unwrap();
        assert_eq!(s, r#"{"a":0.0075,"b":"23906.83000"}"#);
    }

    proptest! {
        #[test]
        fn number_round_trips_through_json(units in -10_000_000_000_000i64..10_000_000_000_000i64, scale in 0u32..=5) {
            let d = Decimal::new(units, scale);
            #[derive(serde::Serialize)]
            struct T(#[serde(serialize_with = "json::number")] Money);
            let text = serde_json::to_string(&T(d)).unwrap();
            let back: WireMoney = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(back.0, d);
        }

        #[test]
        fn string5_round_trips(units in -10_000_000_000_000i64..10_000_000_000_000i64, scale in 0u32..=5) {
            let d = Decimal::new(units, scale);
            let back = parse_exact(&fixed(d, 5)).unwrap();
            prop_assert_eq!(back, d);
        }
    }
}
