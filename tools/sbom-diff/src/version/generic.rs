//! The fallback order for ecosystems without rules of their own (and for versions an
//! ecosystem's grammar rejects): split into runs of digits and of letters, compare numbers
//! as numbers and words case-insensitively, a number beats a word at the same place, and
//! when one version runs out, a following pre-release word (`alpha`, `beta`, `rc`, `dev`,
//! `snapshot`, …, or any word right after a `-`) makes the longer one older, anything else
//! makes it newer. Trailing zeros do not count (`1.0` = `1.0.0`).

use std::cmp::Ordering;

use super::semver::numeric;

#[derive(Debug, PartialEq, Eq)]
enum Tok<'a> {
    Num(&'a str),
    /// A word, and whether a `-` or `~` came right before it (semver-style pre-release).
    Word(&'a str, bool),
}

fn tokens(v: &str) -> Vec<Tok<'_>> {
    let v = v.trim_start_matches(['v', 'V']);
    // Build metadata does not order (semver), and most generic versions have none.
    let v = v.split_once('+').map_or(v, |(main, _)| main);
    let b = v.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut after_dash = false;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() {
            let s = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            out.push(Tok::Num(&v[s..i]));
            after_dash = false;
        } else if c.is_ascii_alphabetic() {
            let s = i;
            while i < b.len() && b[i].is_ascii_alphabetic() {
                i += 1;
            }
            out.push(Tok::Word(&v[s..i], after_dash));
            after_dash = false;
        } else {
            after_dash = c == b'-' || c == b'~';
            // Skip one UTF-8 character.
            i += v[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    out
}

const PRE_WORDS: &[&str] = &[
    "a",
    "alpha",
    "b",
    "beta",
    "c",
    "canary",
    "cr",
    "dev",
    "ea",
    "m",
    "milestone",
    "next",
    "nightly",
    "pre",
    "preview",
    "rc",
    "snapshot",
];

/// Words that mean "the release itself".
const RELEASE_WORDS: &[&str] = &["final", "ga", "release", "stable"];

fn is_pre(word: &str, after_dash: bool) -> bool {
    let w = word.to_ascii_lowercase();
    PRE_WORDS.contains(&w.as_str()) || (after_dash && !RELEASE_WORDS.contains(&w.as_str()))
}

pub(super) fn compare(a: &str, b: &str) -> Option<Ordering> {
    let (ta, tb) = (tokens(a), tokens(b));
    let (mut i, mut j) = (0, 0);
    loop {
        let o = match (ta.get(i), tb.get(j)) {
            (None, None) => return Some(Ordering::Equal),
            // A missing number is a zero: `1.0-beta` = `1.0.0-beta`, `1.0` = `1.0.0`.
            (Some(Tok::Num(x)), y) if is_zero(x) && !matches!(y, Some(Tok::Num(_))) => {
                i += 1;
                continue;
            }
            (x, Some(Tok::Num(y))) if is_zero(y) && !matches!(x, Some(Tok::Num(_))) => {
                j += 1;
                continue;
            }
            (Some(t), None) => tail(t),
            (None, Some(t)) => tail(t).reverse(),
            (Some(Tok::Num(x)), Some(Tok::Num(y))) => numeric(x, y),
            // A number beats a word at the same place (`1.0.1` > `1.0.rc1`, `1.1` > `1.p1`).
            (Some(Tok::Num(_)), Some(Tok::Word(..))) => Ordering::Greater,
            (Some(Tok::Word(..)), Some(Tok::Num(_))) => Ordering::Less,
            (Some(Tok::Word(x, dx)), Some(Tok::Word(y, dy))) => {
                word_rank(x, *dx).cmp(&word_rank(y, *dy))
            }
        };
        if o != Ordering::Equal {
            return Some(o);
        }
        i += 1;
        j += 1;
    }
}

fn is_zero(n: &str) -> bool {
    n.bytes().all(|b| b == b'0')
}

/// How a version with an extra token compares to the one that ran out.
fn tail(t: &Tok<'_>) -> Ordering {
    match t {
        Tok::Num(_) => Ordering::Greater,
        Tok::Word(w, d) if is_pre(w, *d) => Ordering::Less,
        Tok::Word(w, _) if RELEASE_WORDS.contains(&w.to_ascii_lowercase().as_str()) => {
            Ordering::Equal
        }
        Tok::Word(..) => Ordering::Greater,
    }
}

/// Orders words: pre-release words by their usual order, then release words, then any
/// other word alphabetically.
fn word_rank(w: &str, after_dash: bool) -> (u8, String) {
    let lw = w.to_ascii_lowercase();
    let r = match lw.as_str() {
        "dev" | "snapshot" | "nightly" | "canary" => 0,
        "a" | "alpha" | "ea" => 1,
        "b" | "beta" => 2,
        "m" | "milestone" | "next" | "pre" | "preview" => 3,
        "c" | "cr" | "rc" => 4,
        _ if RELEASE_WORDS.contains(&lw.as_str()) => 6,
        _ if after_dash => 5,
        _ => 7,
    };
    (r, if r == 5 || r == 7 { lw } else { String::new() })
}

#[cfg(test)]
mod tests {
    use crate::version::Ecosystem::Generic;
    use crate::version::tests::{assert_ascending, assert_equal};

    #[test]
    fn numbers_and_pre_release_words() {
        assert_ascending(
            Generic,
            &[
                "1.0-dev",
                "1.0-alpha1",
                "1.0.0-beta.2",
                "1.0.0-beta.10",
                "1.0rc1",
                "1.0",
                "1.0.1",
                "1.0.1p1",
                "1.1",
                "1.10",
                "2.0",
            ],
        );
        assert_ascending(Generic, &["1.1.1g", "1.1.1k", "1.1.1w", "3.0.2"]);
        assert_ascending(Generic, &["2023.1", "2024.10.2"]);
        assert_ascending(Generic, &["1.0.0.pre", "1.0.0"]);
    }

    #[test]
    fn separators_case_and_trailing_zeros_do_not_count() {
        assert_equal(
            Generic,
            &[
                ("1.0", "1.0.0"),
                ("v1.2", "1.2"),
                ("1_2_3", "1.2.3"),
                ("1.0-RC1", "1.0-rc1"),
                ("1.0.Final", "1.0"),
            ],
        );
    }
}
