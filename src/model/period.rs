//! Billing periods: calendar months, half-open, in the partner's time zone.
//!
//! A call at 2026-03-31T18:30:00Z is 2026-04-01 00:00 in Asia/Kolkata, so it belongs to April.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    year: i32,
    month: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid period {0:?}: expected YYYY-MM, e.g. 2026-03")]
pub struct InvalidPeriod(String);

impl Period {
    pub fn new(year: i32, month: u32) -> Option<Self> {
        ((1..=12).contains(&month) && (2000..=2999).contains(&year)).then_some(Self { year, month })
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u32 {
        self.month
    }

    /// The month containing `t` as seen in `tz`.
    pub fn containing(t: DateTime<Utc>, tz: Tz) -> Self {
        let local = t.with_timezone(&tz);
        Self {
            year: local.year(),
            month: local.month(),
        }
    }

    pub fn next(self) -> Self {
        if self.month == 12 {
            Self {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Self {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    pub fn previous(self) -> Self {
        if self.month == 1 {
            Self {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Self {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("validated month")
    }

    /// The last calendar day of the month.
    /// The month a day belongs to.
    pub fn of_date(day: NaiveDate) -> Self {
        use chrono::Datelike;
        Self {
            year: day.year(),
            month: day.month(),
        }
    }

    pub fn last_day(self) -> NaiveDate {
        self.next().first_day().pred_opt().expect("not the first day of time")
    }

    /// `[start, end)` of the month in `tz`, as UTC instants.
    pub fn bounds(self, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            local_midnight(self.first_day(), tz),
            local_midnight(self.next().first_day(), tz),
        )
    }

    pub fn contains(self, t: DateTime<Utc>, tz: Tz) -> bool {
        let (start, end) = self.bounds(tz);
        start <= t && t < end
    }

    /// Indian financial year (April–March) the month falls in, as `"2025-26"`.
    pub fn financial_year(self) -> String {
        format!("{}-{:02}", self.fy_start(), (self.fy_start() + 1) % 100)
    }

    /// The same, short, as invoice numbers carry it: `"25-26"`.
    pub fn financial_year_short(self) -> String {
        format!("{:02}-{:02}", self.fy_start() % 100, (self.fy_start() + 1) % 100)
    }

    fn fy_start(self) -> i32 {
        if self.month >= 4 { self.year } else { self.year - 1 }
    }
}

/// Midnight of `day` in `tz`, as a UTC instant. Where midnight does not exist (a DST gap) the
/// first instant after the gap is used; where it is ambiguous, the earlier one.
fn local_midnight(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let naive = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    match tz.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
        chrono::LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
        chrono::LocalResult::None => {
            // Walk forward minute by minute out of the gap (gaps are at most a few hours).
            (1..=24 * 60)
                .find_map(|m| {
                    tz.from_local_datetime(&(naive + chrono::Duration::minutes(m)))
                        .earliest()
                })
                .expect("a DST gap ends within a day")
                .with_timezone(&Utc)
        }
    }
}

impl FromStr for Period {
    type Err = InvalidPeriod;

    fn from_str(s: &str) -> Result<Self, InvalidPeriod> {
        let err = || InvalidPeriod(s.chars().take(32).collect());
        let b = s.as_bytes();
        let shape_ok = b.len() == 7 && b[4] == b'-' && b.iter().enumerate().all(|(i, c)| i == 4 || c.is_ascii_digit());
        if !shape_ok {
            return Err(err());
        }
        let year = s[..4].parse().map_err(|_| err())?;
        let month = s[5..].parse().map_err(|_| err())?;
        Period::new(year, month).ok_or_else(err)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl serde::Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Kolkata;

    #[test]
    fn parses_strictly() {
        assert_eq!("2026-03".parse::<Period>().unwrap().to_string(), "2026-03");
        for bad in [
            "2026-3",
            "2026-13",
            "2026-00",
            "26-03",
            "2026/03",
            "2026-03-01",
            " 2026-03",
            "１９９９-03",
            "",
        ] {
            assert!(bad.parse::<Period>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bounds_follow_the_partner_time_zone() {
        let p: Period = "2026-03".parse().unwrap();
        let (start, end) = p.bounds(Kolkata);
        assert_eq!(start.to_rfc3339(), "2026-02-28T18:30:00+00:00");
        assert_eq!(end.to_rfc3339(), "2026-03-31T18:30:00+00:00");
        let boundary = "2026-03-31T18:30:00Z".parse().unwrap();
        assert!(!p.contains(boundary, Kolkata));
        assert_eq!(Period::containing(boundary, Kolkata).to_string(), "2026-04");
        let just_before = "2026-03-31T18:29:59.999999Z".parse().unwrap();
        assert!(p.contains(just_before, Kolkata));
    }

    #[test]
    fn dst_zones_have_contiguous_months() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let p: Period = "2026-03".parse().unwrap();
        assert_eq!(p.bounds(tz).1, p.next().bounds(tz).0);
        assert_eq!(p.bounds(tz).0.to_rfc3339(), "2026-03-01T05:00:00+00:00");
        assert_eq!(p.bounds(tz).1.to_rfc3339(), "2026-04-01T04:00:00+00:00");
    }

    #[test]
    fn financial_year_runs_april_to_march() {
        assert_eq!("2026-03".parse::<Period>().unwrap().financial_year(), "2025-26");
        assert_eq!("2026-04".parse::<Period>().unwrap().financial_year(), "2026-27");
        assert_eq!("2099-12".parse::<Period>().unwrap().financial_year(), "2099-00");
        assert_eq!("2026-03".parse::<Period>().unwrap().financial_year_short(), "25-26");
    }

    #[test]
    fn neighbours_wrap_years() {
        let jan: Period = "2026-01".parse().unwrap();
        assert_eq!(jan.previous().to_string(), "2025-12");
        assert_eq!(jan.previous().next(), jan);
        assert_eq!(jan.last_day().to_string(), "2026-01-31");
        assert_eq!(
            "2028-02".parse::<Period>().unwrap().last_day().to_string(),
            "2028-02-29"
        );
    }
}
