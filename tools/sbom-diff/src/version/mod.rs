//! Version ordering per ecosystem, so that `upgraded` and `downgraded` mean what the
//! package manager means. The ecosystem comes from the purl type.

mod apk;
mod debian;
mod generic;
mod maven;
mod pep440;
mod rpm;
mod semver;

use std::cmp::Ordering;

/// Whose rules order two versions of a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ecosystem {
    /// Semantic Versioning 2.0 precedence, read tolerantly (`v` prefix, `1.2` = `1.2.0`,
    /// a fourth number as NuGet writes): npm, cargo, Go modules (pseudo-versions and
    /// `+incompatible` included), hex, pub, swift, nuget, composer, conan.
    Semver,
    /// PEP 440: epochs, pre/post/dev releases, local versions.
    Pep440,
    /// dpkg: `epoch:upstream-revision`, `~` sorts before anything.
    Debian,
    /// rpmvercmp over epoch, version and release; `~` and `^`. Arch Linux's vercmp is the same.
    Rpm,
    /// Alpine apk-tools: `1.2.3_rc1-r0`, suffix ranks and the `-rN` package release.
    Apk,
    /// Maven's ComparableVersion (3.9): qualifiers alpha < beta < milestone < rc < snapshot
    /// < release < sp.
    Maven,
    /// Anything else: numbers compare as numbers, well-known pre-release words
    /// (alpha, beta, rc, …) sort before the release.
    Generic,
}

impl Ecosystem {
    /// The ecosystem for a purl type (`npm`, `pypi`, `deb`, …).
    pub fn from_purl_type(ty: &str) -> Ecosystem {
        match ty {
            "npm" | "cargo" | "golang" | "hex" | "pub" | "swift" | "nuget" | "composer"
            | "conan" | "cocoapods" | "bitnami" | "julia" | "vscode-extension" => Ecosystem::Semver,
            "pypi" | "conda" => Ecosystem::Pep440,
            "deb" => Ecosystem::Debian,
            "rpm" | "alpm" => Ecosystem::Rpm,
            "apk" => Ecosystem::Apk,
            "maven" => Ecosystem::Maven,
            _ => Ecosystem::Generic,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::Semver => "semver",
            Ecosystem::Pep440 => "pep440",
            Ecosystem::Debian => "debian",
            Ecosystem::Rpm => "rpm",
            Ecosystem::Apk => "apk",
            Ecosystem::Maven => "maven",
            Ecosystem::Generic => "generic",
        }
    }
}

/// Orders two versions by the ecosystem's rules. `None` when they cannot be ordered: two
/// different commit ids, or strings the ecosystem's grammar rejects and that share no
/// numeric structure. Versions the ecosystem's grammar rejects fall back to the generic order.
pub fn compare(eco: Ecosystem, a: &str, b: &str) -> Option<Ordering> {
    let (a, b) = (a.trim(), b.trim());
    if a == b {
        return Some(Ordering::Equal);
    }
    if looks_like_commit(a) && looks_like_commit(b) {
        return None;
    }
    let specific = match eco {
        Ecosystem::Semver => semver::compare(a, b),
        Ecosystem::Pep440 => pep440::compare(a, b),
        Ecosystem::Debian => debian::compare(a, b),
        Ecosystem::Rpm => rpm::compare(a, b),
        Ecosystem::Apk => apk::compare(a, b),
        Ecosystem::Maven => Some(maven::compare(a, b)),
        Ecosystem::Generic => None,
    };
    specific.or_else(|| generic::compare(a, b))
}

/// A git commit id (7–40 hex digits with at least one letter): not an ordered version.
fn looks_like_commit(v: &str) -> bool {
    (7..=64).contains(&v.len())
        && v.bytes().all(|b| b.is_ascii_hexdigit())
        && v.bytes().any(|b| b.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Asserts every version in `ordered` sorts strictly before the next, both ways round.
    pub(crate) fn assert_ascending(eco: Ecosystem, ordered: &[&str]) {
        for w in ordered.windows(2) {
            assert_eq!(
                compare(eco, w[0], w[1]),
                Some(Ordering::Less),
                "{eco:?}: {} < {}",
                w[0],
                w[1]
            );
            assert_eq!(
                compare(eco, w[1], w[0]),
                Some(Ordering::Greater),
                "{eco:?}: {} > {}",
                w[1],
                w[0]
            );
        }
    }

    pub(crate) fn assert_equal(eco: Ecosystem, pairs: &[(&str, &str)]) {
        for (a, b) in pairs {
            assert_eq!(
                compare(eco, a, b),
                Some(Ordering::Equal),
                "{eco:?}: {a} = {b}"
            );
        }
    }

    #[test]
    fn commit_ids_are_not_ordered() {
        assert_eq!(
            compare(Ecosystem::Generic, "244fd47e07d1", "a1b2c3d4e5f6"),
            None
        );
        assert_eq!(
            compare(Ecosystem::Generic, "1234567", "2345678"),
            Some(Ordering::Less)
        );
    }

    #[test]
    fn ecosystems_come_from_purl_types() {
        assert_eq!(Ecosystem::from_purl_type("golang"), Ecosystem::Semver);
        assert_eq!(Ecosystem::from_purl_type("pypi"), Ecosystem::Pep440);
        assert_eq!(Ecosystem::from_purl_type("deb"), Ecosystem::Debian);
        assert_eq!(Ecosystem::from_purl_type("alpm"), Ecosystem::Rpm);
        assert_eq!(Ecosystem::from_purl_type("maven"), Ecosystem::Maven);
        assert_eq!(Ecosystem::from_purl_type("generic"), Ecosystem::Generic);
    }

    const ALL: [Ecosystem; 7] = [
        Ecosystem::Semver,
        Ecosystem::Pep440,
        Ecosystem::Debian,
        Ecosystem::Rpm,
        Ecosystem::Apk,
        Ecosystem::Maven,
        Ecosystem::Generic,
    ];

    proptest! {
        #[test]
        fn comparison_is_antisymmetric_and_never_panics(
            a in "[0-9a-zA-Z.~^:+_-]{0,16}",
            b in "[0-9a-zA-Z.~^:+_-]{0,16}",
        ) {
            for eco in ALL {
                let ab = compare(eco, &a, &b);
                let ba = compare(eco, &b, &a);
                prop_assert_eq!(ab, ba.map(Ordering::reverse), "{:?} {} {}", eco, a, b);
                prop_assert_eq!(compare(eco, &a, &a), Some(Ordering::Equal));
            }
        }

        #[test]
        fn arbitrary_text_never_panics(a in "\\PC{0,24}", b in "\\PC{0,24}") {
            for eco in ALL {
                let _ = compare(eco, &a, &b);
            }
        }
    }
}
