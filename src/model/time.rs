//! Timestamps as the API sends them (`…Z`, `…+00:00`, with or without fractions), parsed to
//! UTC microseconds, which is what Parquet stores.

use chrono::{DateTime, NaiveDate, Utc};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid timestamp {0:?}")]
pub struct InvalidTimestamp(String);

pub fn parse_timestamp_micros(s: &str) -> Result<i64, InvalidTimestamp> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc).timestamp_micros())
        .map_err(|_| InvalidTimestamp(s.chars().take(40).collect()))
}

pub fn parse_date(s: &str) -> Result<NaiveDate, InvalidTimestamp> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .filter(|_| s.len() == 10)
        .ok_or_else(|| InvalidTimestamp(s.chars().take(40).collect()))
}

/// Days since 1970-01-01 (Arrow `Date32`).
pub fn date32(d: NaiveDate) -> i32 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_documented_shapes_parse_to_the_same_instant() {
        let a = parse_timestamp_micros("2026-03-25T06:59:31Z").unwrap();
        let b = parse_timestamp_micros("2026-03-25T06:59:31.000000+00:00").unwrap();
        let c = parse_timestamp_micros("2026-03-25T12:29:31+05:30").unwrap();
        assert_eq!((a, a), (b, c));
        assert_eq!(
            parse_timestamp_micros("2026-01-19T18:39:14.529435Z").unwrap() % 1_000_000,
            529_435
        );
        assert!(parse_timestamp_micros("2026-03-25 06:59:31").is_err());
        assert!(parse_date("2026-3-1").is_err());
        assert_eq!(date32(parse_date("1970-01-02").unwrap()), 1);
    }
}
