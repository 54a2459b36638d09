//! PEP 440 version ordering, with the spec's normalisation of alternative spellings
//! (`1.0-ALPHA.1` = `1.0a1`, `1.0-1` = `1.0.post1`, `1.0.dev` = `1.0.dev0`, `v1.0` = `1.0`).
//! Order: epoch, release (trailing zeros ignored), then `.devN` < `aN` < `bN` < `rcN` <
//! release < `.postN`, then the local version label.

use std::cmp::Ordering;

use super::semver::numeric;

#[derive(Debug, PartialEq, Eq)]
struct Pep440 {
    epoch: String,
    release: Vec<String>,
    /// (rank: a=0, b=1, rc=2, number)
    pre: Option<(u8, String)>,
    post: Option<String>,
    dev: Option<String>,
    local: Vec<String>,
}

/// A cursor over the lowercased version text.
struct Cur<'a> {
    s: &'a str,
}

impl<'a> Cur<'a> {
    fn digits(&mut self) -> Option<&'a str> {
        let n = self.s.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        let (d, rest) = self.s.split_at(n);
        self.s = rest;
        Some(d)
    }
    fn sep(&mut self) -> bool {
        if let Some(rest) = self.s.strip_prefix(['.', '-', '_']) {
            self.s = rest;
            true
        } else {
            false
        }
    }
    /// Takes the first of `words` the text starts with (longest listed first).
    fn word(&mut self, words: &[&'static str]) -> Option<&'static str> {
        for w in words {
            if let Some(rest) = self.s.strip_prefix(w) {
                self.s = rest;
                return Some(w);
            }
        }
        None
    }
    /// An optional separator followed by one of `words`; restores the position on failure.
    fn sep_word(&mut self, words: &[&'static str]) -> Option<&'static str> {
        let save = self.s;
        self.sep();
        let w = self.word(words);
        if w.is_none() {
            self.s = save;
        }
        w
    }
    /// An optional separator and a number; "0" when there is none.
    fn opt_number(&mut self) -> &'a str {
        let save = self.s;
        self.sep();
        match self.digits() {
            Some(d) => d,
            None => {
                self.s = save;
                "0"
            }
        }
    }
}

fn parse(text: &str) -> Option<Pep440> {
    let t = text.trim();
    if !t.is_ascii() {
        return None;
    }
    let t = t.strip_prefix(['v', 'V']).unwrap_or(t);
    let (main, local) = match t.split_once('+') {
        Some((m, l)) => (m, Some(l)),
        None => (t, None),
    };
    // Letters are case-insensitive.
    let lower = main.to_ascii_lowercase();
    let mut c = Cur { s: &lower };
    let mut epoch = "0";
    let first = c.digits()?;
    let mut release_start = first;
    if let Some(rest) = c.s.strip_prefix('!') {
        epoch = first;
        c.s = rest;
        release_start = c.digits()?;
    }
    let mut release = vec![release_start];
    while c.s.starts_with('.') && c.s[1..].starts_with(|ch: char| ch.is_ascii_digit()) {
        c.s = &c.s[1..];
        release.push(c.digits()?);
    }
    let pre = c
        .sep_word(&["alpha", "beta", "preview", "pre", "rc", "a", "b", "c"])
        .map(|w| {
            let rank = match w {
                "alpha" | "a" => 0,
                "beta" | "b" => 1,
                _ => 2,
            };
            (rank, c.opt_number())
        });
    let mut post = None;
    let save = c.s;
    if let Some(rest) = c.s.strip_prefix('-')
        && rest.starts_with(|ch: char| ch.is_ascii_digit())
    {
        c.s = rest;
        post = c.digits();
    } else if c.sep_word(&["post", "rev", "r"]).is_some() {
        post = Some(c.opt_number());
    } else {
        c.s = save;
    }
    let dev = c.sep_word(&["dev"]).map(|_| c.opt_number());
    if !c.s.is_empty() {
        return None;
    }
    let local = match local {
        Some(l) => {
            let segs: Vec<String> = l
                .split(['.', '-', '_'])
                .map(str::to_ascii_lowercase)
                .collect();
            if segs
                .iter()
                .any(|s| s.is_empty() || !s.bytes().all(|b| b.is_ascii_alphanumeric()))
            {
                return None;
            }
            segs
        }
        None => Vec::new(),
    };
    Some(Pep440 {
        epoch: epoch.to_owned(),
        release: release.into_iter().map(str::to_owned).collect(),
        pre: pre.map(|(r, n)| (r, n.to_owned())),
        post: post.map(str::to_owned),
        dev: dev.map(str::to_owned),
        local,
    })
}

pub(super) fn compare(a: &str, b: &str) -> Option<Ordering> {
    let (a, b) = (parse(a)?, parse(b)?);
    Some(
        numeric(&a.epoch, &b.epoch)
            .then_with(|| release(&a.release, &b.release))
            .then_with(|| pre_key(&a).cmp(&pre_key(&b)))
            .then_with(|| opt_num(a.post.as_deref(), b.post.as_deref(), Ordering::Less))
            .then_with(|| opt_num(a.dev.as_deref(), b.dev.as_deref(), Ordering::Greater))
            .then_with(|| local(&a.local, &b.local)),
    )
}

fn release(a: &[String], b: &[String]) -> Ordering {
    let n = a.len().max(b.len());
    (0..n)
        .map(|i| {
            numeric(
                a.get(i).map_or("0", String::as_str),
                b.get(i).map_or("0", String::as_str),
            )
        })
        .find(|o| *o != Ordering::Equal)
        .unwrap_or(Ordering::Equal)
}

/// The pre-release part of the sort key. A bare `.devN` (no pre, no post) sorts before any
/// pre-release of the same release; no pre-release at all sorts after every pre-release.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum PreKey {
    DevOnly,
    Pre(u8, u128),
    None,
}

fn pre_key(v: &Pep440) -> PreKey {
    match (&v.pre, &v.post, &v.dev) {
        (None, None, Some(_)) => PreKey::DevOnly,
        (Some((rank, n)), _, _) => PreKey::Pre(*rank, big(n)),
        (None, _, _) => PreKey::None,
    }
}

fn big(n: &str) -> u128 {
    n.parse().unwrap_or(u128::MAX)
}

/// Compares optional numbers; `missing` is how an absent part compares to a present one.
fn opt_num(a: Option<&str>, b: Option<&str>, missing: Ordering) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => missing,
        (Some(_), None) => missing.reverse(),
        (Some(x), Some(y)) => numeric(x, y),
    }
}

/// Local labels: absent < present; segment-wise, numbers above strings, numbers by value;
/// a longer label wins when one is a prefix of the other.
fn local(a: &[String], b: &[String]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let xn = x.bytes().all(|c| c.is_ascii_digit());
        let yn = y.bytes().all(|c| c.is_ascii_digit());
        let o = match (xn, yn) {
            (true, true) => numeric(x, y),
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

#[cfg(test)]
mod tests {
    use crate::version::Ecosystem::Pep440;
    use crate::version::tests::{assert_ascending, assert_equal};

    #[test]
    fn orders_like_the_pep_440_summary_example() {
        // PEP 440, "Summary of permitted suffixes and relative ordering".
        assert_ascending(
            Pep440,
            &[
                "1.dev0",
                "1.0.dev456",
                "1.0a1",
                "1.0a2.dev456",
                "1.0a12.dev456",
                "1.0a12",
                "1.0b1.dev456",
                "1.0b2",
                "1.0b2.post345.dev456",
                "1.0b2.post345",
                "1.0rc1.dev456",
                "1.0rc1",
                "1.0",
                "1.0+abc.5",
                "1.0+abc.7",
                "1.0+5",
                "1.0.post456.dev34",
                "1.0.post456",
                "1.0.15",
                "1.1.dev1",
            ],
        );
    }

    #[test]
    fn epochs_win_over_everything_else() {
        assert_ascending(Pep440, &["2024.10", "1!0.1", "1!1.0", "2!0.0.1"]);
    }

    #[test]
    fn alternative_spellings_normalise() {
        assert_equal(
            Pep440,
            &[
                ("1.0", "1.0.0"),
                ("v1.0", "1.0"),
                ("1.0-ALPHA.1", "1.0a1"),
                ("1.0.beta2", "1.0b2"),
                ("1.0c1", "1.0rc1"),
                ("1.0-pre1", "1.0rc1"),
                ("1.0-1", "1.0.post1"),
                ("1.0.rev2", "1.0.post2"),
                ("1.0-r", "1.0.post0"),
                ("1.0.dev", "1.0.dev0"),
                ("1.0a", "1.0a0"),
                ("0!1.0", "1.0"),
                ("1.0+ubuntu-1", "1.0+ubuntu.1"),
            ],
        );
    }
}
