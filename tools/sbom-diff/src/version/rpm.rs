//! RPM version ordering: `[epoch:]version[-release]`, epochs as numbers, then `rpmvercmp`
//! on the version and on the release (rpm's `rpmio/rpmvercmp.c`: alphanumeric segments,
//! numbers beat letters, `~` sorts before anything, `^` after the base version). A release
//! missing on one side does not decide. Arch Linux's `vercmp` is the same algorithm.

use std::cmp::Ordering;

use super::semver::numeric;

pub(super) fn compare(a: &str, b: &str) -> Option<Ordering> {
    let (ae, av, ar) = split_evr(a)?;
    let (be, bv, br) = split_evr(b)?;
    let mut o = numeric(ae, be).then_with(|| rpmvercmp(av, bv));
    if let (Some(ar), Some(br)) = (ar, br) {
        o = o.then_with(|| rpmvercmp(ar, br));
    }
    Some(o)
}

fn split_evr(v: &str) -> Option<(&str, &str, Option<&str>)> {
    let (epoch, rest) = match v.split_once(':') {
        Some((e, rest)) if e.bytes().all(|b| b.is_ascii_digit()) => {
            (if e.is_empty() { "0" } else { e }, rest)
        }
        Some(_) => return None,
        None => ("0", v),
    };
    let (version, release) = match rest.rsplit_once('-') {
        Some((v, r)) => (v, Some(r)),
        None => (rest, None),
    };
    if version.is_empty() || !version.bytes().any(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    Some((epoch, version, release))
}

/// rpm's `rpmvercmp()`.
pub(super) fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let sep = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    while i < a.len() || j < b.len() {
        while i < a.len() && sep(a[i]) {
            i += 1;
        }
        while j < b.len() && sep(b[j]) {
            j += 1;
        }
        let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if ca == Some(b'^') || cb == Some(b'^') {
            if ca.is_none() {
                return Ordering::Less;
            }
            if cb.is_none() {
                return Ordering::Greater;
            }
            if ca != Some(b'^') {
                return Ordering::Greater;
            }
            if cb != Some(b'^') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        let (Some(ca), Some(_)) = (ca, cb) else {
            break;
        };
        let is_num = ca.is_ascii_digit();
        let take = |s: &[u8], from: usize| {
            let mut k = from;
            while k < s.len()
                && (if is_num {
                    s[k].is_ascii_digit()
                } else {
                    s[k].is_ascii_alphabetic()
                })
            {
                k += 1;
            }
            k
        };
        let (ei, ej) = (take(a, i), take(b, j));
        if ej == j {
            // Segments of different kinds: a number is newer than letters.
            return if is_num {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (sa, sb) = (&a[i..ei], &b[j..ej]);
        let o = if is_num {
            // Both are ASCII digits, hence valid UTF-8.
            numeric(
                std::str::from_utf8(sa).unwrap_or("0"),
                std::str::from_utf8(sb).unwrap_or("0"),
            )
        } else {
            sa.cmp(sb)
        };
        if o != Ordering::Equal {
            return o;
        }
        i = ei;
        j = ej;
    }
    match (i >= a.len(), j >= b.len()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering;

    use super::rpmvercmp;
    use crate::version::Ecosystem::Rpm;
    use crate::version::tests::{assert_ascending, assert_equal};

    /// Cases from rpm's own test suite (tests/rpmvercmp.at).
    #[test]
    fn matches_rpm_test_suite() {
        for (a, b, want) in [
            ("1.0", "1.0", 0),
            ("1.0", "2.0", -1),
            ("2.0.1", "2.0.1", 0),
            ("2.0", "2.0.1", -1),
            ("2.0.1a", "2.0.1", 1),
            ("5.5p1", "5.5p2", -1),
            ("5.5p10", "5.5p1", 1),
            ("10xyz", "10.1xyz", -1),
            ("xyz10", "xyz10.1", -1),
            ("xyz.4", "8", -1),
            ("8", "xyz.4", 1),
            ("1.0010", "1.9", 1),
            ("1.05", "1.5", 0),
            ("1.0", "1", 1),
            ("2.50", "2.5", 1),
            ("fc4", "fc.4", 0),
            ("FC5", "fc4", -1),
            ("2a", "2.0", -1),
            ("1.0a", "1.0aa", -1),
            ("6.0.rc1", "6.0", 1),
            ("1.0~rc1", "1.0", -1),
            ("1.0~rc1", "1.0~rc2", -1),
            ("1.0~rc1~git123", "1.0~rc1", -1),
            ("1.0^", "1.0", 1),
            ("1.0^git1", "1.0", 1),
            ("1.0^git1", "1.01", -1),
            ("1.0^20160101", "1.0.1", -1),
            ("1.0^20160101^git1", "1.0^20160101", 1),
            ("1.0~rc1^git1", "1.0~rc1", 1),
            ("1.0^git1~pre", "1.0^git1", -1),
        ] {
            let got = match rpmvercmp(a, b) {
                Ordering::Less => -1,
                Ordering::Equal => 0,
                Ordering::Greater => 1,
            };
            assert_eq!(got, want, "rpmvercmp({a}, {b})");
        }
    }

    #[test]
    fn epoch_version_release() {
        assert_ascending(
            Rpm,
            &[
                "7.29.0-59.el7",
                "7.29.0-59.el7_9.1",
                "7.61.1-22.el8",
                "1:1.0-1.el7",
                "2:0.1-1",
            ],
        );
        assert_equal(Rpm, &[("0:1.0-1", "1.0-1"), ("1.0", "1.0-5.el8")]);
    }
}
