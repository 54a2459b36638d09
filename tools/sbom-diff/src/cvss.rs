//! CVSS base scores from vector strings (v3.0/v3.1 and v2), for reports that give only a
//! vector (OSV-Scanner). CVSS v4 vectors are not scored here; their severity must come
//! from elsewhere in the report.

use crate::model::Severity;

/// The base score and severity of a CVSS v3.x or v2 vector; `None` for anything else.
pub fn score(vector: &str) -> Option<(f64, Severity)> {
    let v = vector.trim();
    if let Some(rest) = v
        .strip_prefix("CVSS:3.1/")
        .or_else(|| v.strip_prefix("CVSS:3.0/"))
    {
        let s = v3(rest)?;
        return Some((s, Severity::from_score(s)));
    }
    if v.starts_with("CVSS:") {
        return None;
    }
    let s = v2(v.strip_prefix('(').unwrap_or(v).trim_end_matches(')'))?;
    // CVSS v2 has no "critical": 7.0–10.0 is high (NVD).
    let sev = if s >= 7.0 {
        Severity::High
    } else {
        Severity::from_score(s)
    };
    Some((s, sev))
}

fn metric<'a>(parts: &'a [(&'a str, &'a str)], key: &str) -> Option<&'a str> {
    parts.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

fn split(v: &str) -> Vec<(&str, &str)> {
    v.split('/').filter_map(|p| p.split_once(':')).collect()
}

fn v3(v: &str) -> Option<f64> {
    let m = split(v);
    let changed = match metric(&m, "S")? {
        "U" => false,
        "C" => true,
        _ => return None,
    };
    let av = match metric(&m, "AV")? {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        "P" => 0.2,
        _ => return None,
    };
    let ac = match metric(&m, "AC")? {
        "L" => 0.77,
        "H" => 0.44,
        _ => return None,
    };
    let pr = match (metric(&m, "PR")?, changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        ("H", false) => 0.27,
        ("H", true) => 0.5,
        _ => return None,
    };
    let ui = match metric(&m, "UI")? {
        "N" => 0.85,
        "R" => 0.62,
        _ => return None,
    };
    let cia = |k| match metric(&m, k) {
        Some("H") => Some(0.56),
        Some("L") => Some(0.22),
        Some("N") => Some(0.0),
        _ => None,
    };
    let (c, i, a) = (cia("C")?, cia("I")?, cia("A")?);
    let iss = 1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a);
    let impact = if changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02_f64).powi(15)
    } else {
        6.42 * iss
    };
    let exploitability = 8.22 * av * ac * pr * ui;
    if impact <= 0.0 {
        return Some(0.0);
    }
    let raw = if changed {
        1.08 * (impact + exploitability)
    } else {
        impact + exploitability
    };
    Some(roundup(raw.min(10.0)))
}

/// CVSS v3.1 Appendix A `Roundup`: the smallest one-decimal number ≥ x, robust to float error.
fn roundup(x: f64) -> f64 {
    #[expect(
        clippy::cast_possible_truncation,
        reason = "x is a score in 0..=10, scaled to at most 1e6"
    )]
    let int_input = (x * 100_000.0).round() as i64;
    if int_input % 10_000 == 0 {
        int_input as f64 / 100_000.0
    } else {
        ((int_input / 10_000) + 1) as f64 / 10.0
    }
}

fn v2(v: &str) -> Option<f64> {
    let m = split(v);
    let av = match metric(&m, "AV")? {
        "L" => 0.395,
        "A" => 0.646,
        "N" => 1.0,
        _ => return None,
    };
    let ac = match metric(&m, "AC")? {
        "H" => 0.35,
        "M" => 0.61,
        "L" => 0.71,
        _ => return None,
    };
    let au = match metric(&m, "Au")? {
        "M" => 0.45,
        "S" => 0.56,
        "N" => 0.704,
        _ => return None,
    };
    let cia = |k| match metric(&m, k) {
        Some("N") => Some(0.0),
        Some("P") => Some(0.275),
        Some("C") => Some(0.660),
        _ => None,
    };
    let (c, i, a) = (cia("C")?, cia("I")?, cia("A")?);
    let impact = 10.41 * (1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a));
    let exploitability = 20.0 * av * ac * au;
    let f = if impact == 0.0 { 0.0 } else { 1.176 };
    let base: f64 = (0.6 * impact + 0.4 * exploitability - 1.5) * f;
    Some((base * 10.0).round() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_match_nvd() {
        for (vector, want, sev) in [
            // CVE-2021-44228 (Log4Shell)
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
                10.0,
                Severity::Critical,
            ),
            // CVE-2019-11358 (jQuery)
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
                6.1,
                Severity::Medium,
            ),
            (
                "CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:L",
                5.6,
                Severity::Medium,
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
                7.5,
                Severity::High,
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                9.8,
                Severity::Critical,
            ),
            (
                "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N",
                5.5,
                Severity::Medium,
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N",
                0.0,
                Severity::Negligible,
            ),
            ("AV:N/AC:M/Au:N/C:N/I:P/A:N", 4.3, Severity::Medium),
            ("AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5, Severity::High),
            ("AV:N/AC:L/Au:N/C:C/I:C/A:C", 10.0, Severity::High),
        ] {
            assert_eq!(score(vector), Some((want, sev)), "{vector}");
        }
    }

    #[test]
    fn other_vectors_are_not_scored() {
        assert_eq!(
            score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"),
            None
        );
        assert_eq!(score("CVSS:3.1/AV:X"), None);
        assert_eq!(score(""), None);
    }
}
