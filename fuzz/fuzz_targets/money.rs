//! `model::money::parse_exact` on arbitrary UTF-8.
//!
//! Invariants, beyond "never panics":
//! - an accepted amount is within storage limits (scale <= 5, at most 15 integer digits) and
//!   normalized (no trailing zeros, no negative zero);
//! - it is exactly the number the text spells (checked against an independent digit-string
//!   reading of the text, not against rust_decimal);
//! - it re-parses from its `Display` text and from its 5-place text to the same value;
//! - the JSON shapes agree: the text as a JSON string, and as a JSON number where it is one,
//!   decode as `WireMoney` to the same value;
//! - conversely, a plain JSON number (no exponent, at most 28 characters) whose value fits the
//!   storage limits is accepted, however many trailing zeros it has (`"0.9000000"`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use rust_decimal::Decimal;
use serde::de::IgnoredAny;
use vobiz_billing_fuzz::model::money::{
    self, MoneyError, STORAGE_MAX_INTEGER_DIGITS, STORAGE_SCALE, WireMoney, parse_exact,
};

/// A number as `(negative, significant digits without leading or trailing zeros, exponent)`,
/// meaning `±digits × 10^exponent`; zero is `(false, "", 0)`.
type Canonical = (bool, String, i64);

fn canonical(negative: bool, digits: &str, exponent: i64) -> Canonical {
    let digits = digits.trim_start_matches('0');
    let trimmed = digits.trim_end_matches('0');
    if trimmed.is_empty() {
        return (false, String::new(), 0);
    }
    let exponent = exponent + (digits.len() - trimmed.len()) as i64;
    (negative, trimmed.to_string(), exponent)
}

/// Independent reading of `[+-]digits[.digits][(e|E)[+-]digits]`; `None` for anything else.
fn spelled(text: &str) -> Option<Canonical> {
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => {
            let e = &rest[i + 1..];
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 6 {
                return None;
            }
            (&rest[..i], e.parse::<i64>().ok()?)
        }
        None => (rest, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(canonical(
        negative,
        &format!("{int}{frac}"),
        exponent - frac.len() as i64,
    ))
}

fn canonical_of(d: Decimal) -> Canonical {
    let m = d.mantissa();
    canonical(m < 0, &m.unsigned_abs().to_string(), -(d.scale() as i64))
}

/// Does the value fit `Decimal128(20,5)`: at most 5 decimal places, at most 15 integer digits?
fn fits_storage((_, digits, exponent): &Canonical) -> bool {
    let places = (-exponent).max(0);
    let integer_digits = (digits.len() as i64 + exponent).max(0);
    places <= STORAGE_SCALE as i64 && integer_digits <= STORAGE_MAX_INTEGER_DIGITS as i64
}

fn run(text: &str) {
    let result = parse_exact(text);
    let t = text.trim();
    let plain_json_number = t.len() <= 28 && !t.contains(['e', 'E']) && serde_json::from_str::<IgnoredAny>(t).is_ok();
    if plain_json_number && spelled(t).is_some_and(|c| fits_storage(&c)) {
        assert!(result.is_ok(), "{text:?} fits storage but was rejected: {result:?}");
    }
    match &result {
        Ok(d) => {
            let d = *d;
            assert!(d.scale() <= STORAGE_SCALE, "{text:?} -> {d} has scale {}", d.scale());
            let limit = Decimal::from(10u64.pow(STORAGE_MAX_INTEGER_DIGITS));
            assert!(d.trunc().abs() < limit, "{text:?} -> {d} does not fit Decimal128(20,5)");
            assert_eq!(d.normalize().scale(), d.scale(), "{text:?} -> {d} is not normalized");
            assert!(!(d.is_zero() && d.is_sign_negative()), "{text:?} -> negative zero");

            if let Some(expected) = spelled(t) {
                assert_eq!(canonical_of(d), expected, "{text:?} -> {d} is not the number spelled");
            }

            assert_eq!(parse_exact(&d.to_string()), Ok(d), "{d} does not re-parse");
            assert_eq!(
                parse_exact(&money::fixed(d, 5)),
                Ok(d),
                "{d} with 5 places does not re-parse"
            );
            // The other formatters must cope with anything that parses.
            let _ = money::indian(d);
            let _ = money::round_paise(d);

            // Accepted text is only [0-9.+-eE], so it can be quoted as is.
            let quoted: WireMoney = serde_json::from_str(&format!("\"{t}\"")).expect("the quoted text decodes");
            assert_eq!(quoted.0, d);
            if serde_json::from_str::<IgnoredAny>(t).is_ok() {
                let number: WireMoney = serde_json::from_str(t).expect("the JSON number decodes");
                assert_eq!(number.0, d);
            }
        }
        Err(e) => {
            // Messages quote at most 40 characters of hostile input.
            let (MoneyError::NotDecimal(s) | MoneyError::TooPrecise(s) | MoneyError::TooLarge(s)) = e;
            assert!(s.chars().count() <= 40);
            let _ = e.to_string();
        }
    }
    assert_eq!(parse_exact(text), result, "not deterministic");
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        run(text);
    }
});
