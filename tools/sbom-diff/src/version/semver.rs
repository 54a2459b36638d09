//! Semantic Versioning 2.0 precedence (semver.org §11), read the way package managers write
//! versions: a leading `v` or `=`, fewer or more than three numbers (`1.2`, NuGet's
//! `1.2.3.4`), build metadata ignored (Go's `+incompatible`). Go pseudo-versions
//! (`v0.0.0-20191109021931-daa7c04131f5`) are pre-releases and order by their timestamp.

use std::cmp::Ordering;

struct Semver<'a> {
    core: Vec<&'a str>,
    pre: Vec<&'a str>,
}

fn parse(v: &str) -> Option<Semver<'_>> {
    let v = v.trim_start_matches(['v', 'V', '=']);
    let v = v.split_once('+').map_or(v, |(main, _build)| main);
    let (core, pre) = match v.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (v, None),
    };
    let core: Vec<&str> = core.split('.').collect();
    if core
        .iter()
        .any(|n| n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let pre: Vec<&str> = match pre {
        Some(p) => {
            let ids: Vec<&str> = p.split('.').collect();
            if ids.iter().any(|id| {
                id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            }) {
                return None;
            }
            ids
        }
        None => Vec::new(),
    };
    Some(Semver { core, pre })
}

pub(super) fn compare(a: &str, b: &str) -> Option<Ordering> {
    let (a, b) = (parse(a)?, parse(b)?);
    let n = a.core.len().max(b.core.len());
    for i in 0..n {
        let x = a.core.get(i).copied().unwrap_or("0");
        let y = b.core.get(i).copied().unwrap_or("0");
        let o = numeric(x, y);
        if o != Ordering::Equal {
            return Some(o);
        }
    }
    // A version without pre-release identifiers has higher precedence.
    Some(match (a.pre.is_empty(), b.pre.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => compare_pre(&a.pre, &b.pre),
    })
}

fn compare_pre(a: &[&str], b: &[&str]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let xn = x.bytes().all(|c| c.is_ascii_digit());
        let yn = y.bytes().all(|c| c.is_ascii_digit());
        let o = match (xn, yn) {
            (true, true) => numeric(x, y),
            // Numeric identifiers have lower precedence than alphanumeric ones.
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

/// Compares digit strings of any length by value.
pub(super) fn numeric(x: &str, y: &str) -> Ordering {
    let x = x.trim_start_matches('0');
    let y = y.trim_start_matches('0');
    x.len().cmp(&y.len()).then_with(|| x.cmp(y))
}

#[cfg(test)]
mod tests {
    use crate::version::Ecosystem::Semver;
    use crate::version::tests::{assert_ascending, assert_equal};

    #[test]
    fn orders_like_semver_org() {
        // The example list from semver.org §11.
        assert_ascending(
            Semver,
            &[
                "1.0.0-alpha",
                "1.0.0-alpha.1",
                "1.0.0-alpha.beta",
                "1.0.0-beta",
                "1.0.0-beta.2",
                "1.0.0-beta.11",
                "1.0.0-rc.1",
                "1.0.0",
                "1.0.1",
                "1.1.0",
                "2.0.0",
                "10.0.0",
            ],
        );
    }

    #[test]
    fn reads_versions_as_package_managers_write_them() {
        assert_equal(
            Semver,
            &[
                ("v1.2.3", "1.2.3"),
                ("1.2", "1.2.0"),
                ("1.0.0+build.5", "1.0.0+build.7"),
                ("v2.0.0+incompatible", "v2.0.0"),
                ("=1.2.3", "1.2.3"),
            ],
        );
        // NuGet's fourth number.
        assert_ascending(Semver, &["4.5.0", "4.5.0.1", "4.5.1"]);
    }

    #[test]
    fn go_pseudo_versions_order_by_time_and_sit_below_the_release() {
        assert_ascending(
            Semver,
            &[
                "v0.0.0-20190101000000-aaaaaaaaaaaa",
                "v0.0.0-20191109021931-daa7c04131f5",
                "v1.2.3",
                "v1.2.4-0.20200101000000-bbbbbbbbbbbb",
                "v1.2.4",
                "v2.0.0+incompatible",
                "v2.1.0+incompatible",
            ],
        );
    }
}
