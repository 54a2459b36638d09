//! Multiwindow, multi-burn-rate alerting windows, as the SLO catalog spells them: the one
//! reading both alert-lint (which compiles the alerts) and verify-goldens (which evaluates
//! the burn rates) share, so the gate judges exactly what pages.

use std::time::Duration;

/// Sloth's defaults for a 30-day SLO: page 1h/5m ×14.4 and 6h/30m ×6, ticket 1d/2h ×3 and
/// 3d/6h ×1.
pub const SLOTH: &str = "page:1h/5m:14.4,page:6h/30m:6,ticket:1d/2h:3,ticket:3d/6h:1";
/// The SRE workbook's three rows.
pub const WORKBOOK: &str = "page:1h/5m:14.4,page:6h/30m:6,ticket:3d/6h:1";

/// One window pair: alert at `severity` when the burn rate over both `long` and `short`
/// exceeds `factor`.
#[derive(Debug, Clone, PartialEq)]
pub struct BurnWindow {
    pub severity: String,
    pub long: Duration,
    pub short: Duration,
    pub factor: f64,
}

/// Parses `sloth` (also the empty spec), `workbook`, or `severity:long/short:factor,...`.
pub fn parse_burn_windows(spec: &str) -> Result<Vec<BurnWindow>, String> {
    let spec = match spec.trim() {
        "sloth" | "" => SLOTH,
        "workbook" | "sre-workbook" => WORKBOOK,
        other => other,
    };
    let mut out = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || {
            format!("window {part:?}: expected severity:long/short:factor, e.g. page:1h/5m:14.4")
        };
        let mut it = part.split(':');
        let (Some(sev), Some(ls), Some(f), None) = (it.next(), it.next(), it.next(), it.next())
        else {
            return Err(bad());
        };
        let (l, s) = ls.split_once('/').ok_or_else(bad)?;
        let long = crate::duration::parse_duration(l).map_err(|e| e.to_string())?;
        let short = crate::duration::parse_duration(s).map_err(|e| e.to_string())?;
        let factor: f64 = f.parse().map_err(|_| bad())?;
        if !matches!(sev, "page" | "ticket") {
            return Err(format!("window {part:?}: severity must be page or ticket"));
        }
        if short >= long || factor <= 0.0 || !factor.is_finite() {
            return Err(format!(
                "window {part:?}: the short window must be shorter than the long one and the factor positive"
            ));
        }
        out.push(BurnWindow {
            severity: sev.to_owned(),
            long,
            short,
            factor,
        });
    }
    if out.is_empty() {
        return Err("no windows given".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_named_defaults_and_a_custom_spec_parse() {
        let sloth = parse_burn_windows("sloth").expect("sloth");
        assert_eq!(sloth.len(), 4);
        assert_eq!(sloth[0].long, Duration::from_secs(3600));
        assert_eq!(sloth[0].short, Duration::from_secs(300));
        assert!((sloth[0].factor - 14.4).abs() < 1e-9);
        assert_eq!(parse_burn_windows("workbook").expect("wb").len(), 3);
        let custom = parse_burn_windows("ticket:4d/6h:1").expect("custom");
        assert_eq!(custom[0].severity, "ticket");
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        for (spec, want) in [
            ("page:1h:14", "expected severity:long/short:factor"),
            ("warn:1h/5m:2", "severity must be page or ticket"),
            ("page:5m/1h:2", "shorter than the long one"),
            ("page:1h/5m:0", "factor positive"),
            (",", "no windows given"),
        ] {
            let e = parse_burn_windows(spec).expect_err(spec);
            assert!(e.contains(want), "{spec}: {e}");
        }
    }
}
