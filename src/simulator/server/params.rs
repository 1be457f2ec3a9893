//! Query parameters: FastAPI-style validation (422 bodies) for the partner endpoints, the
//! account ledger's lenient dates, and the paging arithmetic every list shares.

use axum::response::Response;
use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Utc};

use crate::simulator::dataset::Micros;
use crate::simulator::errors::invalid_query;

pub(super) fn param<'q>(q: &'q [(String, String)], name: &str) -> Option<&'q str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// A FastAPI-validated integer: absent → default, not an integer or below 1 → 422.
pub(super) fn positive_int(q: &[(String, String)], name: &str, default: u64) -> Result<u64, Response> {
    match param(q, name) {
        None => Ok(default),
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 1 => Ok(n as u64),
            Ok(_) => Err(invalid_query(
                name,
                "greater_than_equal",
                "Input should be greater than or equal to 1",
                v,
            )),
            Err(_) => Err(invalid_query(
                name,
                "int_parsing",
                "Input should be a valid integer, unable to parse string as an integer",
                v,
            )),
        },
    }
}

/// A strict `YYYY-MM-DD` date (422 otherwise).
pub(super) fn date_param(q: &[(String, String)], name: &str) -> Result<Option<NaiveDate>, Response> {
    match param(q, name) {
        None | Some("") => Ok(None),
        Some(v) => match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
            Ok(d) if v.len() == 10 => Ok(Some(d)),
            _ => Err(invalid_query(
                name,
                "date_from_datetime_parsing",
                "Input should be a valid date in the format YYYY-MM-DD",
                v,
            )),
        },
    }
}

pub(super) fn day_start(d: NaiveDate) -> Micros {
    Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN)).timestamp_micros()
}

/// `[from 00:00, to+1 00:00)` in UTC from inclusive dates.
pub(super) fn date_window(from: Option<NaiveDate>, to: Option<NaiveDate>) -> (Micros, Micros) {
    (
        from.map(day_start).unwrap_or(Micros::MIN),
        to.map(|d| day_start(d + Duration::days(1))).unwrap_or(Micros::MAX),
    )
}

pub(super) fn one_of<'q>(q: &'q [(String, String)], name: &str, allowed: &[&str]) -> Result<Option<&'q str>, Response> {
    match param(q, name) {
        None | Some("") => Ok(None),
        Some(v) if allowed.contains(&v) => Ok(Some(v)),
        Some(v) => Err(invalid_query(
            name,
            "enum",
            &format!("Input should be {}", allowed.join(", ")),
            v,
        )),
    }
}

pub(super) fn pages(total: u64, per_page: u64) -> u64 {
    total.div_ceil(per_page)
}

/// Positions `offset..offset+len` of a newest-first view over `n` oldest-first items.
pub(super) fn newest_first_page(n: usize, page: u64, per_page: u64) -> impl Iterator<Item = usize> {
    let skip = ((page - 1).saturating_mul(per_page)).min(n as u64) as usize;
    let take = (per_page as usize).min(n - skip);
    (0..take).map(move |k| n - 1 - skip - k)
}

/// Account ledger dates: a bare `YYYY-MM-DD` is a UTC day (a bare `to_date` means 23:59:59 of
/// it); RFC 3339 timestamps with an offset are accepted. Anything else is an error.
pub(super) fn v3_instant(v: &str, end_of_day: bool) -> Option<Micros> {
    if v.len() == 10 {
        let d = NaiveDate::parse_from_str(v, "%Y-%m-%d").ok()?;
        let t = if end_of_day {
            NaiveTime::from_hms_opt(23, 59, 59)?
        } else {
            NaiveTime::MIN
        };
        return Some(Utc.from_utc_datetime(&d.and_time(t)).timestamp_micros());
    }
    chrono::DateTime::parse_from_rfc3339(v)
        .ok()
        .map(|t| t.timestamp_micros())
}
