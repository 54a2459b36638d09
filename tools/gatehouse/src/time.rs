//! UTC timestamps without a date library: RFC 3339 formatting and parsing, calendar dates.
//!
//! Reports carry `started_at` in RFC 3339; budgets and waivers carry `until: 2026-12-31`.
//! `std::time` plus the civil-calendar arithmetic below is all that needs.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, UTC, with millisecond precision kept for formatting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    millis: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not {expected}")]
pub struct TimeParseError {
    pub input: String,
    pub expected: &'static str,
}

impl Timestamp {
    pub fn now() -> Self {
        Timestamp::from_system(SystemTime::now())
    }

    pub fn from_system(t: SystemTime) -> Self {
        let millis = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
        };
        Timestamp { millis }
    }

    pub fn from_unix(secs: i64) -> Self {
        Timestamp {
            millis: secs.saturating_mul(1000),
        }
    }

    pub fn from_unix_millis(millis: i64) -> Self {
        Timestamp { millis }
    }

    pub fn unix(self) -> i64 {
        self.millis.div_euclid(1000)
    }

    pub fn unix_millis(self) -> i64 {
        self.millis
    }

    pub fn to_system(self) -> SystemTime {
        if self.millis >= 0 {
            UNIX_EPOCH + Duration::from_millis(self.millis.unsigned_abs())
        } else {
            UNIX_EPOCH - Duration::from_millis(self.millis.unsigned_abs())
        }
    }

    /// Signed seconds from `self` to `later`.
    pub fn seconds_until(self, later: Timestamp) -> f64 {
        (later.millis - self.millis) as f64 / 1000.0
    }

    pub fn plus(self, d: Duration) -> Self {
        Timestamp {
            millis: self
                .millis
                .saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        }
    }

    /// `2026-11-24T10:00:00Z` (whole seconds).
    pub fn to_rfc3339(self) -> String {
        let secs = self.unix();
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        let rem = secs.rem_euclid(86_400);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            rem / 3600,
            (rem % 3600) / 60,
            rem % 60
        )
    }

    /// `2026-11-24T10:00:00.123Z` (milliseconds).
    pub fn to_rfc3339_millis(self) -> String {
        let whole = self.to_rfc3339();
        format!(
            "{}.{:03}Z",
            whole.trim_end_matches('Z'),
            self.unix_millis().rem_euclid(1000)
        )
    }

    /// `2026-11-24`.
    pub fn to_date(self) -> String {
        let (y, m, d) = civil_from_days(self.unix().div_euclid(86_400));
        format!("{y:04}-{m:02}-{d:02}")
    }

    /// Parses RFC 3339 (`2026-11-24T10:00:00Z`, `…00.123+02:00`) or a bare date
    /// (`2026-11-24`, read as midnight UTC).
    pub fn parse(input: &str) -> Result<Self, TimeParseError> {
        let err = || TimeParseError {
            input: input.to_owned(),
            expected: "an RFC 3339 time or a YYYY-MM-DD date",
        };
        let s = input.trim();
        let date = s.get(..10).ok_or_else(err)?;
        let days = parse_date_days(date).ok_or_else(err)?;
        let mut millis = days * 86_400_000;
        let rest = &s[10..];
        if rest.is_empty() {
            return Ok(Timestamp { millis });
        }
        let rest = rest.strip_prefix(['T', 't', ' ']).ok_or_else(err)?;
        let hms = rest.get(..8).ok_or_else(err)?;
        let b = hms.as_bytes();
        if !hms.is_ascii() || b[2] != b':' || b[5] != b':' {
            return Err(err());
        }
        let h: i64 = digits(&hms[0..2]).ok_or_else(err)?;
        let mi: i64 = digits(&hms[3..5]).ok_or_else(err)?;
        let se: i64 = digits(&hms[6..8]).ok_or_else(err)?;
        if h > 23 || mi > 59 || se > 60 {
            return Err(err());
        }
        millis += (h * 3600 + mi * 60 + se) * 1000;
        let mut rest = &rest[8..];
        if let Some(frac) = rest.strip_prefix('.') {
            let n = frac.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return Err(err());
            }
            let ms_digits: String = frac[..n].chars().chain("000".chars()).take(3).collect();
            millis += digits(&ms_digits).ok_or_else(err)?;
            rest = &frac[n..];
        }
        let offset = match rest {
            "Z" | "z" => 0,
            _ => {
                let (sign, hhmm) = match rest.as_bytes().first() {
                    Some(b'+') => (1, &rest[1..]),
                    Some(b'-') => (-1, &rest[1..]),
                    _ => return Err(err()),
                };
                if hhmm.len() != 5 || !hhmm.is_ascii() || hhmm.as_bytes()[2] != b':' {
                    return Err(err());
                }
                let oh: i64 = digits(&hhmm[0..2]).ok_or_else(err)?;
                let om: i64 = digits(&hhmm[3..5]).ok_or_else(err)?;
                if oh > 23 || om > 59 {
                    return Err(err());
                }
                sign * (oh * 3600 + om * 60) * 1000
            }
        };
        Ok(Timestamp {
            millis: millis - offset,
        })
    }
}

fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date, validating the day of the month.
fn parse_date_days(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || !s.is_ascii() || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y = digits(&s[0..4])?;
    let m = digits(&s[5..7])?;
    let d = digits(&s[8..10])?;
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

// Howard Hinnant's algorithms (http://howardhinnant.github.io/date_algorithms.html).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn millisecond_form_keeps_the_fraction_and_pads_it() {
        assert_eq!(
            Timestamp::from_unix_millis(1_795_514_400_007).to_rfc3339_millis(),
            "2026-11-24T10:00:00.007Z"
        );
        assert_eq!(
            Timestamp::from_unix_millis(-1).to_rfc3339_millis(),
            "1969-12-31T23:59:59.999Z"
        );
    }

    #[test]
    fn formats_and_parses_known_instants() {
        let t = Timestamp::parse("2026-11-24T10:00:00Z").expect("valid");
        assert_eq!(t.unix(), 1_795_514_400);
        assert_eq!(t.to_rfc3339(), "2026-11-24T10:00:00Z");
        assert_eq!(
            Timestamp::parse("2026-11-24T12:00:00.5+02:00")
                .expect("valid")
                .unix_millis(),
            1_795_514_400_500
        );
        assert_eq!(
            Timestamp::parse("2024-02-29").expect("leap day").to_date(),
            "2024-02-29"
        );
        assert_eq!(Timestamp::from_unix(0).to_rfc3339(), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn rejects_impossible_dates() {
        for bad in [
            "2025-02-29",
            "2026-13-01",
            "2026-1-01",
            "",
            "yesterday",
            "2026-11-24T25:00:00Z",
            "2026-11-24T10:00:00",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    proptest! {
        #[test]
        fn rfc3339_round_trips(secs in -62_135_596_800i64..253_402_300_799i64) {
            let t = Timestamp::from_unix(secs);
            prop_assert_eq!(Timestamp::parse(&t.to_rfc3339()).expect("own output parses"), t);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = Timestamp::parse(&s);
        }
    }
}
