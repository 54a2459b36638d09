//! Durations (`250ms`, `30s`, `5m`, `24h`, `7d`, `1h30m`) and rates (`500/s`, `30000/m`,
//! `100/5m`) as every Gatehouse flag and config file writes them.
//!
//! The units are Prometheus's (`ms s m h d w y`, with `y` = 365 days), so a window copied
//! from a PromQL range selector means the same thing here.

use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a {what}: {reason}")]
pub struct ParseError {
    pub input: String,
    pub what: &'static str,
    pub reason: &'static str,
}

const UNITS: &[(&str, u64)] = &[
    ("y", 365 * 86_400_000),
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parses a duration such as `250ms`, `30s`, `1h30m` or `7d` (largest unit first, each unit
/// at most once). Precision is milliseconds.
pub fn parse_duration(input: &str) -> Result<Duration, ParseError> {
    let fail = |reason| ParseError {
        input: input.to_owned(),
        what: "duration (e.g. 250ms, 30s, 5m, 1h30m, 7d)",
        reason,
    };
    let s = input.trim();
    if s.is_empty() {
        return Err(fail("it is empty"));
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = s;
    let mut total: u64 = 0;
    let mut last_rank = usize::MAX;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(fail("expected a number before each unit"));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| fail("the number is too large"))?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        if unit_len == 0 {
            return Err(fail("a unit is missing (ms, s, m, h, d, w, y)"));
        }
        let unit = &rest[..unit_len];
        let rank = UNITS
            .iter()
            .position(|(u, _)| *u == unit)
            .ok_or_else(|| fail("unknown unit (ms, s, m, h, d, w, y)"))?;
        if last_rank != usize::MAX && rank <= last_rank {
            return Err(fail("units must go from largest to smallest, each once"));
        }
        last_rank = rank;
        let ms = n
            .checked_mul(UNITS[rank].1)
            .ok_or_else(|| fail("it is too long"))?;
        total = total
            .checked_add(ms)
            .ok_or_else(|| fail("it is too long"))?;
        rest = &rest[unit_len..];
    }
    Ok(Duration::from_millis(total))
}

/// Writes a duration the way [`parse_duration`] reads it: `1h30m`, `250ms`, `0s`.
/// Sub-millisecond parts are dropped.
pub fn format_duration(d: Duration) -> String {
    let mut ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, size) in UNITS {
        if ms >= *size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    out
}

/// A clap value parser for duration flags.
pub fn duration_arg(s: &str) -> Result<Duration, String> {
    parse_duration(s).map_err(|e| e.to_string())
}

/// A rate: `count` events per `per`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub count: f64,
    pub per: Duration,
}

impl Rate {
    pub fn per_second(&self) -> f64 {
        self.count / self.per.as_secs_f64()
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match u64::try_from(self.per.as_millis()).unwrap_or(u64::MAX) {
            1_000 => "s".to_owned(),
            60_000 => "m".to_owned(),
            3_600_000 => "h".to_owned(),
            _ => format_duration(self.per),
        };
        write!(f, "{}/{unit}", self.count)
    }
}

/// Parses a rate: `500/s`, `30000/m`, `10/h`, `100/5m`, `2.5/s`.
pub fn parse_rate(input: &str) -> Result<Rate, ParseError> {
    let fail = |reason| ParseError {
        input: input.to_owned(),
        what: "rate (e.g. 500/s, 30000/m, 100/5m)",
        reason,
    };
    let (count, per) = input
        .trim()
        .split_once('/')
        .ok_or_else(|| fail("expected COUNT/UNIT"))?;
    let count: f64 = count
        .trim()
        .parse()
        .map_err(|_| fail("the count is not a number"))?;
    if !count.is_finite() || count < 0.0 {
        return Err(fail("the count must be a finite number ≥ 0"));
    }
    let per = per.trim();
    let per = if per.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
        parse_duration(per).map_err(|_| fail("the period is not a duration"))?
    } else {
        parse_duration(&format!("1{per}"))
            .map_err(|_| fail("the period is not a unit (s, m, h) or duration"))?
    };
    if per.is_zero() {
        return Err(fail("the period must be longer than zero"));
    }
    Ok(Rate { count, per })
}

/// A clap value parser for rate flags.
pub fn rate_arg(s: &str) -> Result<Rate, String> {
    parse_rate(s).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_documented_forms() {
        let cases = [
            ("250ms", 250),
            ("30s", 30_000),
            ("5m", 300_000),
            ("24h", 86_400_000),
            ("7d", 604_800_000),
            ("1h30m", 5_400_000),
            ("2w", 1_209_600_000),
            ("0", 0),
        ];
        for (s, ms) in cases {
            assert_eq!(parse_duration(s), Ok(Duration::from_millis(ms)), "{s}");
        }
    }

    #[test]
    fn refuses_bad_durations_with_one_line_naming_the_input() {
        for bad in [
            "",
            "5",
            "m5",
            "5x",
            "30m1h",
            "5m5m",
            "-5s",
            "1.5s",
            "99999999999999999999s",
        ] {
            let err = parse_duration(bad).expect_err(bad);
            let msg = err.to_string();
            assert!(msg.contains(&format!("{bad:?}")), "{msg}");
            assert!(!msg.contains('\n'));
        }
    }

    #[test]
    fn parses_rates() {
        assert_eq!(parse_rate("500/s").expect("valid").per_second(), 500.0);
        assert_eq!(parse_rate("30000/m").expect("valid").per_second(), 500.0);
        assert_eq!(
            parse_rate("100/5m").expect("valid").per,
            Duration::from_secs(300)
        );
        assert_eq!(parse_rate("500/s").expect("valid").to_string(), "500/s");
        for bad in ["500", "x/s", "5/0s", "5/q", "-1/s", "inf/s"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn formatted_durations_parse_back(ms in 0u64..10_000_000_000_000) {
            let d = Duration::from_millis(ms);
            prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }

        #[test]
        fn arbitrary_input_never_panics(s in "\\PC{0,24}") {
            let _ = parse_duration(&s);
            let _ = parse_rate(&s);
        }

        #[test]
        fn formatted_rates_parse_back(count in 0u32..1_000_000, unit in prop::sample::select(vec!["s", "m", "h", "5m"])) {
            let r = parse_rate(&format!("{count}/{unit}")).expect("valid");
            prop_assert_eq!(parse_rate(&r.to_string()).expect("own output parses"), r);
        }
    }
}
