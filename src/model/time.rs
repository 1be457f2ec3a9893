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

/// A UTC instant from microseconds since the Unix epoch.
pub fn from_micros(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t).expect("timestamps within chrono's range")
}

/// `YYYY-MM-DDTHH:MM:SS[.ffffff]<suffix>` for an instant in microseconds since the epoch,
/// without going through a format-string interpreter (the simulator writes millions).
pub fn format_utc(t: i64, fraction: bool, suffix: &str) -> String {
    let mut out = String::with_capacity(32);
    write_utc(&mut out, t, fraction, suffix).expect("writing to a String");
    out
}

/// [`format_utc`] into any writer (the simulator's timestamps live in fixed buffers).
pub fn write_utc(out: &mut impl std::fmt::Write, t: i64, fraction: bool, suffix: &str) -> std::fmt::Result {
    let secs = t.div_euclid(1_000_000);
    let micros = t.rem_euclid(1_000_000);
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        // Outside four-digit years the fixed-width writer below does not apply.
        let (hh, mm, ss) = (sod / 3600, sod % 3600 / 60, sod % 60);
        write!(out, "{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}")?;
        if fraction {
            write!(out, ".{micros:06}")?;
        }
        return out.write_str(suffix);
    }
    // Fixed layout `YYYY-MM-DDTHH:MM:SS.ffffff`: digits go straight into their places.
    let mut text = *b"0000-00-00T00:00:00.000000";
    let fields: [(usize, i64, usize); 7] = [
        (0, y, 4),
        (5, m.into(), 2),
        (8, d.into(), 2),
        (11, sod / 3600, 2),
        (14, sod % 3600 / 60, 2),
        (17, sod % 60, 2),
        (20, micros, 6),
    ];
    for (at, mut v, width) in fields {
        for slot in text[at..at + width].iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
    let len = if fraction { text.len() } else { 19 };
    out.write_str(std::str::from_utf8(&text[..len]).expect("ASCII digits"))?;
    out.write_str(suffix)
}

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + (m <= 2) as i64;
    (y, m, d)
}

/// The day an Arrow `Date32` value (days since 1970-01-01) names.
pub fn from_date32(days: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch") + chrono::Days::new(days.max(0) as u64)
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

    #[test]
    fn formatting_agrees_with_chrono() {
        for t in [
            0i64,
            1,
            -1,
            951_782_400_000_000,
            1_774_985_400_123_456,
            4_102_444_799_999_999,
            -86_400_000_001,
        ] {
            let c = from_micros(t);
            assert_eq!(format_utc(t, true, "Z"), c.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string());
            assert_eq!(
                format_utc(t, false, "+00:00"),
                c.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
            );
        }
        // Every day over four centuries (leap years included).
        for day in -146_097..146_097i64 {
            let t = day * 86_400_000_000;
            assert_eq!(
                format_utc(t, false, ""),
                from_micros(t).format("%Y-%m-%dT%H:%M:%S").to_string()
            );
        }
    }
}
