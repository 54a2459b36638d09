//! Debian version ordering, as `dpkg --compare-versions` does it (deb-version(7)):
//! `[epoch:]upstream[-revision]`; within each part, non-digit runs compare character by
//! character with `~` before everything (even the end), letters before other symbols, and
//! digit runs compare as numbers.

use std::cmp::Ordering;

use super::semver::numeric;

struct Deb<'a> {
    epoch: &'a str,
    upstream: &'a str,
    revision: &'a str,
}

fn parse(v: &str) -> Option<Deb<'_>> {
    let (epoch, rest) = match v.split_once(':') {
        Some((e, rest)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => (e, rest),
        Some(_) => return None,
        None => ("0", v),
    };
    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((u, r)) => (u, r),
        None => (rest, ""),
    };
    if upstream.is_empty() || !upstream.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let ok = |s: &str, extra: &[u8]| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+.~".contains(&b) || extra.contains(&b))
    };
    if !ok(upstream, b"-:") || !ok(revision, b"") {
        return None;
    }
    Some(Deb {
        epoch,
        upstream,
        revision,
    })
}

pub(super) fn compare(a: &str, b: &str) -> Option<Ordering> {
    let (a, b) = (parse(a)?, parse(b)?);
    Some(
        numeric(a.epoch, b.epoch)
            .then_with(|| verrevcmp(a.upstream, b.upstream))
            .then_with(|| verrevcmp(a.revision, b.revision)),
    )
}

/// dpkg's `order()`: `~` < end of string < letters < everything else.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp()`.
pub(super) fn verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let mut first_diff = 0;
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let ac = order(a.get(i).copied());
            let bc = order(b.get(j).copied());
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        while i < a.len() && a[i].is_ascii_digit() && j < b.len() && b[j].is_ascii_digit() {
            if first_diff == 0 {
                first_diff = i32::from(a[i]) - i32::from(b[j]);
            }
            i += 1;
            j += 1;
        }
        if i < a.len() && a[i].is_ascii_digit() {
            return Ordering::Greater;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            return Ordering::Less;
        }
        if first_diff != 0 {
            return first_diff.cmp(&0);
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use crate::version::Ecosystem::Debian;
    use crate::version::tests::{assert_ascending, assert_equal};

    #[test]
    fn tilde_sorts_before_everything_even_the_end() {
        assert_ascending(
            Debian,
            &["1.0~~", "1.0~~a", "1.0~", "1.0", "1.0a", "1.0+b1", "1.0.1"],
        );
    }

    #[test]
    fn epoch_then_upstream_then_revision() {
        assert_ascending(
            Debian,
            &[
                "2.28-10",
                "2.28-10+deb10u1",
                "2.28-10+deb10u2",
                "2.31-13+deb11u5",
                "1:1.0-1",
                "1:1.0-1ubuntu0.1",
                "2:0.1",
            ],
        );
        assert_ascending(
            Debian,
            &["7.64.0-4+deb10u1", "7.64.0-4+deb10u9", "7.74.0-1.3+deb11u7"],
        );
        assert_ascending(
            Debian,
            &[
                "1.1.1n-0+deb10u3",
                "1.1.1n-0+deb11u4",
                "3.0.11-1~deb12u2",
                "3.0.11-1",
            ],
        );
    }

    #[test]
    fn leading_zeros_and_missing_revision() {
        assert_equal(
            Debian,
            &[("1.01", "1.1"), ("0:1.0", "1.0"), ("1.0-0", "1.0")],
        );
    }
}
