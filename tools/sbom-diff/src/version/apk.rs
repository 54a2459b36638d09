//! Alpine (apk-tools) version ordering: `1.2.3[letter][_suffix[N]]…[~hash][-rN]`. Numbers
//! compare as numbers, a trailing letter beats none, the pre-release suffixes `_alpha`,
//! `_beta`, `_pre`, `_rc` sort before the plain version and `_cvs`, `_svn`, `_git`, `_hg`,
//! `_p` after it, and the package release `-rN` decides last.

use std::cmp::Ordering;

use super::semver::numeric;

struct Apk<'a> {
    numbers: Vec<&'a str>,
    letter: Option<u8>,
    /// (rank, number); rank < 4 is a pre-release suffix, 4 is none.
    suffixes: Vec<(u8, &'a str)>,
    hash: &'a str,
    release: &'a str,
}

fn suffix_rank(s: &str) -> Option<u8> {
    Some(match s {
        "alpha" => 0,
        "beta" => 1,
        "pre" => 2,
        "rc" => 3,
        "cvs" => 5,
        "svn" => 6,
        "git" => 7,
        "hg" => 8,
        "p" => 9,
        _ => return None,
    })
}

fn parse(v: &str) -> Option<Apk<'_>> {
    let (rest, release) = match v.rsplit_once("-r") {
        Some((r, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => (r, n),
        _ => (v, "0"),
    };
    let (rest, hash) = match rest.split_once('~') {
        Some((r, h)) => (r, h),
        None => (rest, ""),
    };
    let mut parts = rest.split('_');
    let head = parts.next()?;
    let mut numbers = Vec::new();
    let mut letter = None;
    for (i, seg) in head.split('.').enumerate() {
        let digits = seg.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let tail = &seg.as_bytes()[digits..];
        match tail {
            [] => {}
            [c] if c.is_ascii_lowercase() && i + 1 == head.split('.').count() => {
                letter = Some(*c);
            }
            _ => return None,
        }
        numbers.push(&seg[..digits]);
    }
    let mut suffixes = Vec::new();
    for s in parts {
        let alpha = s.bytes().take_while(u8::is_ascii_lowercase).count();
        let rank = suffix_rank(&s[..alpha])?;
        let num = &s[alpha..];
        if !num.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        suffixes.push((rank, if num.is_empty() { "0" } else { num }));
    }
    Some(Apk {
        numbers,
        letter,
        suffixes,
        hash,
        release,
    })
}

pub(super) fn compare(a: &str, b: &str) -> Option<Ordering> {
    let (a, b) = (parse(a)?, parse(b)?);
    let mut o = Ordering::Equal;
    for (x, y) in a.numbers.iter().zip(&b.numbers) {
        o = numeric(x, y);
        if o != Ordering::Equal {
            return Some(o);
        }
    }
    o = o
        .then_with(|| a.numbers.len().cmp(&b.numbers.len()))
        .then_with(|| a.letter.cmp(&b.letter))
        .then_with(|| suffixes(&a.suffixes, &b.suffixes))
        .then_with(|| a.hash.cmp(b.hash))
        .then_with(|| numeric(a.release, b.release));
    Some(o)
}

fn suffixes(a: &[(u8, &str)], b: &[(u8, &str)]) -> Ordering {
    let n = a.len().max(b.len());
    for i in 0..n {
        let x = a.get(i).copied().unwrap_or((4, "0"));
        let y = b.get(i).copied().unwrap_or((4, "0"));
        let o = x.0.cmp(&y.0).then_with(|| numeric(x.1, y.1));
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use crate::version::Ecosystem::Apk;
    use crate::version::tests::assert_ascending;

    #[test]
    fn suffixes_letters_and_releases() {
        assert_ascending(
            Apk,
            &[
                "1.0_alpha1",
                "1.0_beta",
                "1.0_pre2",
                "1.0_rc1",
                "1.0",
                "1.0-r1",
                "1.0_p1",
                "1.0a",
                "1.0.1",
                "1.1_git20200101",
            ],
        );
        assert_ascending(Apk, &["1.1.1k-r0", "1.1.1l-r0", "1.1.1l-r8", "3.0.8-r0"]);
        assert_ascending(Apk, &["1.35.0-r17", "1.35.0-r29", "1.36.1-r2"]);
    }
}
