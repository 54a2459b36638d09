//! Matches the components of two SBOMs and classifies every difference: added, removed,
//! upgraded, downgraded, version changed (unordered), license changed. Knows nothing about
//! budgets or output.
//!
//! Matching runs in tiers; each tier only sees what earlier tiers left unmatched:
//!
//! 1. the purl identity (type, namespace, name and the `arch`/`classifier`/`type`
//!    qualifiers; see [`crate::purl::Purl::identity`]);
//! 2. the purl without qualifiers (`pkg:type/namespace/name`), for purls that differ only
//!    in qualifiers one generator writes and another does not;
//! 3. CycloneDX `type` + `group` + `name`, case-insensitively, where at most one side has a
//!    purl (two different purls are two different packages);
//! 4. the `name` alone (SPDX has no group), under the same condition.
//!
//! Within one key, both sides are multisets of versions (a package can be present at two
//! versions). They are paired so that nothing is invented: first equal versions (by the
//! ecosystem's order, so `1.0` = `1.0.0`) pair up as unchanged; the rest are sorted by
//! version, newest first, and paired in that order — the newest old with the newest new —
//! so `{1.0, 2.0}` → `{2.1}` is 2.0 → 2.1 upgraded and 1.0 removed. Whatever is left on the
//! old side is removed, on the new side added. The pairing is symmetric: diff(B, A) is
//! diff(A, B) mirrored.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use crate::model::Component;
use crate::version::{self, Ecosystem};

/// A component present on both sides.
#[derive(Debug, Clone, Copy)]
pub struct Pair<'a> {
    pub old: &'a Component,
    pub new: &'a Component,
}

impl Pair<'_> {
    pub fn ecosystem(&self) -> Ecosystem {
        if self.new.purl.is_some() {
            self.new.ecosystem()
        } else {
            self.old.ecosystem()
        }
    }

    pub fn license_changed(&self) -> bool {
        match (&self.old.license, &self.new.license) {
            (None, None) => false,
            (Some(a), Some(b)) => a.key != b.key,
            _ => true,
        }
    }
}

/// Every difference between two component lists, each list sorted by name then version.
#[derive(Debug, Default)]
pub struct Diff<'a> {
    pub added: Vec<&'a Component>,
    pub removed: Vec<&'a Component>,
    pub upgraded: Vec<Pair<'a>>,
    pub downgraded: Vec<Pair<'a>>,
    /// Versions differ but cannot be ordered (two commit ids, a version that appeared).
    pub changed: Vec<Pair<'a>>,
    pub unchanged: Vec<Pair<'a>>,
    /// Among all pairs, those whose license expression differs.
    pub license_changed: Vec<Pair<'a>>,
}

/// Compares two SBOMs' components.
pub fn diff<'a>(old: &'a [Component], new: &'a [Component]) -> Diff<'a> {
    let _s = gatehouse::trace::step("match");
    let mut m = Matcher {
        old,
        new,
        old_keys: old.iter().map(content_key).collect(),
        new_keys: new.iter().map(content_key).collect(),
        old_done: vec![false; old.len()],
        new_done: vec![false; new.len()],
        old_paired: vec![false; old.len()],
        new_paired: vec![false; new.len()],
        pairs: Vec::new(),
    };
    m.tier(
        |c| c.purl.as_ref().map(crate::purl::Purl::identity),
        Constraint::Any,
    );
    m.tier(
        |c| c.purl.as_ref().map(crate::purl::Purl::base),
        Constraint::Any,
    );
    m.tier(
        |c| {
            Some(format!(
                "{}\u{1f}{}\u{1f}{}",
                c.kind.as_deref().unwrap_or("library"),
                c.group.as_deref().unwrap_or("").to_lowercase(),
                c.name.to_lowercase()
            ))
        },
        Constraint::NotBothPurls,
    );
    m.tier(|c| Some(c.name.to_lowercase()), Constraint::NotBothPurls);

    let mut d = Diff::default();
    let mut removed: Vec<usize> = (0..old.len()).filter(|&i| !m.old_paired[i]).collect();
    let mut added: Vec<usize> = (0..new.len()).filter(|&j| !m.new_paired[j]).collect();
    removed.sort_by(|&a, &b| m.old_keys[a].cmp(&m.old_keys[b]));
    added.sort_by(|&a, &b| m.new_keys[a].cmp(&m.new_keys[b]));
    d.removed = removed.into_iter().map(|i| &old[i]).collect();
    d.added = added.into_iter().map(|j| &new[j]).collect();
    let mut pairs = std::mem::take(&mut m.pairs);
    pairs.sort_by(|a, b| {
        (&m.new_keys[a.1], &m.old_keys[a.0]).cmp(&(&m.new_keys[b.1], &m.old_keys[b.0]))
    });
    for (i, j) in pairs {
        let p = Pair {
            old: &old[i],
            new: &new[j],
        };
        if p.license_changed() {
            d.license_changed.push(p);
        }
        let bucket = match (p.old.comparable_version(), p.new.comparable_version()) {
            (None, None) => &mut d.unchanged,
            (Some(a), Some(b)) => match version::compare(p.ecosystem(), &a, &b) {
                Some(Ordering::Equal) => &mut d.unchanged,
                Some(Ordering::Less) => &mut d.upgraded,
                Some(Ordering::Greater) => &mut d.downgraded,
                None => &mut d.changed,
            },
            _ => &mut d.changed,
        };
        bucket.push(p);
    }
    d
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Constraint {
    Any,
    /// Two components that both have purls never match here: earlier tiers already found
    /// their purls to name different packages.
    NotBothPurls,
}

struct Matcher<'a> {
    old: &'a [Component],
    new: &'a [Component],
    /// [`content_key`] of every component, computed once.
    old_keys: Vec<String>,
    new_keys: Vec<String>,
    old_done: Vec<bool>,
    new_done: Vec<bool>,
    old_paired: Vec<bool>,
    new_paired: Vec<bool>,
    pairs: Vec<(usize, usize)>,
}

impl<'a> Matcher<'a> {
    fn tier(&mut self, key: impl Fn(&Component) -> Option<String>, constraint: Constraint) {
        let mut groups: HashMap<String, (Vec<usize>, Vec<usize>)> = HashMap::new();
        for (i, c) in self.old.iter().enumerate() {
            if !self.old_done[i]
                && let Some(k) = key(c)
            {
                groups.entry(k).or_default().0.push(i);
            }
        }
        for (i, c) in self.new.iter().enumerate() {
            if !self.new_done[i]
                && let Some(k) = key(c)
                && let Some(g) = groups.get_mut(&k)
            {
                g.1.push(i);
            }
        }
        // Visit groups in key order so the result never depends on hash order.
        let mut keys: Vec<&String> = groups.keys().collect();
        keys.sort();
        let mut found: Vec<(usize, usize)> = Vec::new();
        // Everything in a group that had candidates on both sides: paired or not, it is
        // accounted for (an unpaired member is an extra instance, added or removed) and no
        // weaker tier may reinterpret it.
        let mut settled: (Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new());
        let sides = Sides {
            old: self.old,
            new: self.new,
        };
        for k in keys {
            let (olds, news) = &groups[k];
            if news.is_empty() {
                continue;
            }
            let mut olds = olds.clone();
            let mut news = news.clone();
            olds.sort_by(|&a, &b| self.old_keys[a].cmp(&self.old_keys[b]));
            news.sort_by(|&a, &b| self.new_keys[a].cmp(&self.new_keys[b]));
            match constraint {
                Constraint::Any => sides.pair(&olds, &news, &mut found, &mut settled),
                Constraint::NotBothPurls => {
                    let has_purl_old = |i: &usize| self.old[*i].purl.is_some();
                    let has_purl_new = |i: &usize| self.new[*i].purl.is_some();
                    let (o_p, o_n): (Vec<usize>, Vec<usize>) =
                        olds.iter().partition(|i| has_purl_old(i));
                    let (n_p, n_n): (Vec<usize>, Vec<usize>) =
                        news.iter().partition(|i| has_purl_new(i));
                    sides.pair(&o_n, &n_n, &mut found, &mut settled);
                    let done_old: HashSet<usize> = settled.0.iter().copied().collect();
                    let done_new: HashSet<usize> = settled.1.iter().copied().collect();
                    let o_n: Vec<usize> =
                        o_n.into_iter().filter(|i| !done_old.contains(i)).collect();
                    let n_n: Vec<usize> =
                        n_n.into_iter().filter(|j| !done_new.contains(j)).collect();
                    sides.pair(&o_n, &n_p, &mut found, &mut settled);
                    sides.pair(&o_p, &n_n, &mut found, &mut settled);
                }
            }
        }
        for i in settled.0 {
            self.old_done[i] = true;
        }
        for j in settled.1 {
            self.new_done[j] = true;
        }
        for (i, j) in found {
            self.old_paired[i] = true;
            self.new_paired[j] = true;
            self.pairs.push((i, j));
        }
    }
}

/// A total, content-only order for components, so that matching never depends on the
/// order components appear in the file: name, version, purl, license, type, bom-ref.
fn content_key(c: &Component) -> String {
    let parts = [
        c.version.as_deref().unwrap_or(""),
        c.purl_text.as_deref().unwrap_or(""),
        c.license.as_ref().map_or("", |l| l.key.as_str()),
        c.kind.as_deref().unwrap_or(""),
        c.name.as_str(),
        c.bom_ref.as_deref().unwrap_or(""),
    ];
    let group = c.group.as_deref().unwrap_or("");
    let len = group.len() + c.name.len() + parts.iter().map(|p| p.len() + 1).sum::<usize>() + 1;
    let mut k = String::with_capacity(len);
    // `display_name()` lowercased, without the intermediate strings.
    for ch in group
        .chars()
        .chain((!group.is_empty()).then_some('/'))
        .chain(c.name.chars())
    {
        k.extend(ch.to_lowercase());
    }
    for part in parts {
        k.push('\u{1f}');
        k.push_str(part);
    }
    k
}

/// Groups larger than this pair equal versions by text and sort by text: matching stays
/// near-linear on hostile input (thousands of entries under one name).
const SMALL: usize = 64;

fn eco_of(a: &Component, b: &Component) -> Ecosystem {
    if a.purl.is_some() {
        a.ecosystem()
    } else {
        b.ecosystem()
    }
}

fn cmp_versions(eco: Ecosystem, a: &Component, b: &Component) -> Option<Ordering> {
    match (a.comparable_version(), b.comparable_version()) {
        (Some(x), Some(y)) => version::compare(eco, &x, &y),
        (None, None) => Some(Ordering::Equal),
        (None, Some(_)) => Some(Ordering::Less),
        (Some(_), None) => Some(Ordering::Greater),
    }
}

/// Both component lists, for pairing by index.
struct Sides<'a> {
    old: &'a [Component],
    new: &'a [Component],
}

impl Sides<'_> {
    /// Pairs two version multisets of one package (see the module docs); both index lists
    /// arrive in content order.
    fn pair(
        &self,
        olds: &[usize],
        news: &[usize],
        out: &mut Vec<(usize, usize)>,
        settled: &mut (Vec<usize>, Vec<usize>),
    ) {
        if olds.is_empty() || news.is_empty() {
            return;
        }
        settled.0.extend_from_slice(olds);
        settled.1.extend_from_slice(news);
        if olds.len() == 1 && news.len() == 1 {
            out.push((olds[0], news[0]));
            return;
        }
        let small = olds.len() <= SMALL && news.len() <= SMALL;
        let mut new_used = vec![false; news.len()];
        let mut rest_old = Vec::new();
        // 1. Equal versions. Large groups compare version text through a map, so a hostile
        //    SBOM with thousands of entries under one name stays near-linear.
        let mut by_version: HashMap<&Option<String>, Vec<usize>> = HashMap::new();
        if !small {
            for (k, &j) in news.iter().enumerate().rev() {
                by_version.entry(&self.new[j].version).or_default().push(k);
            }
        }
        for &i in olds {
            let o = &self.old[i];
            let hit = if small {
                news.iter().enumerate().position(|(k, &j)| {
                    let n = &self.new[j];
                    !new_used[k] && cmp_versions(eco_of(o, n), o, n) == Some(Ordering::Equal)
                })
            } else {
                by_version.get_mut(&o.version).and_then(Vec::pop)
            };
            match hit {
                Some(k) => {
                    new_used[k] = true;
                    out.push((i, news[k]));
                }
                None => rest_old.push(i),
            }
        }
        let mut rest_new: Vec<usize> = news
            .iter()
            .enumerate()
            .filter(|(k, _)| !new_used[*k])
            .map(|(_, &j)| j)
            .collect();
        // 2. An extra copy of a version the other side also has is an added (or removed)
        //    instance, not another instance changing version: {3.2.2, 5.1.0} → {3.2.2,
        //    3.2.2} is 5.1.0 removed and a second 3.2.2 added, not 5.1.0 downgraded.
        let equal = |a: &Component, b: &Component| {
            if small {
                cmp_versions(eco_of(a, b), a, b) == Some(Ordering::Equal)
            } else {
                a.version == b.version
            }
        };
        if small {
            rest_old.retain(|&i| !news.iter().any(|&j| equal(&self.old[i], &self.new[j])));
            rest_new.retain(|&j| !olds.iter().any(|&i| equal(&self.old[i], &self.new[j])));
        } else {
            let new_versions: HashSet<&Option<String>> =
                news.iter().map(|&j| &self.new[j].version).collect();
            let old_versions: HashSet<&Option<String>> =
                olds.iter().map(|&i| &self.old[i].version).collect();
            rest_old.retain(|&i| !new_versions.contains(&self.old[i].version));
            rest_new.retain(|&j| !old_versions.contains(&self.new[j].version));
        }
        // 3. The rest, newest first.
        sort_desc(self.old, &mut rest_old, small);
        sort_desc(self.new, &mut rest_new, small);
        out.extend(rest_old.into_iter().zip(rest_new));
    }
}

/// Newest first by the ecosystem's order; insertion sort, because an ecosystem comparator
/// over arbitrary strings need not be a total order (and `slice::sort_by` may panic on one).
fn sort_desc(all: &[Component], v: &mut [usize], small: bool) {
    if !small {
        v.sort_by(|&a, &b| all[b].version.cmp(&all[a].version));
        return;
    }
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 {
            let (a, b) = (&all[v[j - 1]], &all[v[j]]);
            let o = cmp_versions(eco_of(a, b), a, b).unwrap_or_else(|| a.version.cmp(&b.version));
            if o == Ordering::Less {
                v.swap(j - 1, j);
                j -= 1;
            } else {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::license::License;
    use crate::purl::Purl;
    use std::rc::Rc;

    fn c(purl: &str) -> Component {
        let p = Purl::parse(purl).expect("purl");
        Component {
            name: p.name.clone(),
            version: p.version.clone(),
            purl: Some(p),
            kind: Some("library".into()),
            ..Component::default()
        }
    }

    fn named(name: &str, version: &str) -> Component {
        Component {
            name: name.into(),
            version: Some(version.into()),
            kind: Some("library".into()),
            ..Component::default()
        }
    }

    fn versions(pairs: &[Pair<'_>]) -> Vec<String> {
        pairs
            .iter()
            .map(|p| {
                format!(
                    "{}:{}->{}",
                    p.new.name,
                    p.old.version.as_deref().unwrap_or("-"),
                    p.new.version.as_deref().unwrap_or("-")
                )
            })
            .collect()
    }

    #[test]
    fn classifies_by_the_ecosystems_order() {
        let old = vec![
            c("pkg:npm/lodash@4.17.15"),
            c("pkg:pypi/django@4.2.0"),
            c("pkg:deb/debian/libc6@2.31-13+deb11u5?arch=amd64"),
            c("pkg:npm/left-pad@1.3.0"),
            c("pkg:github/acme/tool@244fd47e07d1"),
        ];
        let new = vec![
            c("pkg:npm/lodash@4.17.21"),
            c("pkg:pypi/Django@4.2.0rc1"),
            c("pkg:deb/debian/libc6@2.31-13+deb11u10?arch=amd64&distro=debian-11"),
            c("pkg:npm/express@4.19.2"),
            c("pkg:github/acme/tool@a1b2c3d4e5f6"),
        ];
        let d = diff(&old, &new);
        assert_eq!(
            versions(&d.upgraded),
            [
                "libc6:2.31-13+deb11u5->2.31-13+deb11u10",
                "lodash:4.17.15->4.17.21"
            ]
        );
        assert_eq!(versions(&d.downgraded), ["django:4.2.0->4.2.0rc1"]);
        assert_eq!(versions(&d.changed), ["tool:244fd47e07d1->a1b2c3d4e5f6"]);
        assert_eq!(
            d.added.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["express"]
        );
        assert_eq!(
            d.removed
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            ["left-pad"]
        );
    }

    #[test]
    fn duplicates_pair_equal_first_then_newest_with_newest() {
        let old = vec![
            c("pkg:npm/ms@2.0.0"),
            c("pkg:npm/ms@2.1.1"),
            c("pkg:npm/debug@2.6.9"),
            c("pkg:npm/debug@4.1.0"),
        ];
        let new = vec![
            c("pkg:npm/ms@2.1.3"),
            c("pkg:npm/debug@4.3.4"),
            c("pkg:npm/debug@2.6.9"),
            c("pkg:npm/debug@1.0.0"),
        ];
        let d = diff(&old, &new);
        assert_eq!(versions(&d.unchanged), ["debug:2.6.9->2.6.9"]);
        assert_eq!(
            versions(&d.upgraded),
            ["debug:4.1.0->4.3.4", "ms:2.1.1->2.1.3"]
        );
        assert_eq!(
            d.removed
                .iter()
                .map(|c| c.version.as_deref().unwrap_or(""))
                .collect::<Vec<_>>(),
            ["2.0.0"]
        );
        assert_eq!(
            d.added
                .iter()
                .map(|c| c.version.as_deref().unwrap_or(""))
                .collect::<Vec<_>>(),
            ["1.0.0"]
        );
    }

    #[test]
    fn an_extra_copy_of_a_present_version_is_added_not_a_downgrade() {
        let old = vec![c("pkg:npm/kind-of@3.2.2"), c("pkg:npm/kind-of@5.1.0")];
        let new = vec![c("pkg:npm/kind-of@3.2.2"), c("pkg:npm/kind-of@3.2.2")];
        let d = diff(&old, &new);
        assert!(d.downgraded.is_empty());
        assert_eq!(d.unchanged.len(), 1);
        assert_eq!(d.added.len(), 1);
        assert_eq!(d.removed.len(), 1);
    }

    #[test]
    fn thousands_of_entries_under_one_name_stay_fast() {
        let old: Vec<Component> = (0..5000)
            .map(|i| named("file", &format!("1.{i}")))
            .collect();
        let new: Vec<Component> = (0..5000)
            .map(|i| named("file", &format!("1.{}", i + 7)))
            .collect();
        let d = diff(&old, &new);
        assert_eq!(d.unchanged.len(), 4993);
        assert_eq!(d.upgraded.len() + d.downgraded.len() + d.changed.len(), 7);
    }

    #[test]
    fn equal_by_the_ecosystem_is_unchanged() {
        let (old, new) = (
            [c("pkg:maven/org.x/y@1.0"), c("pkg:maven/org.x/y@2.0")],
            [c("pkg:maven/org.x/y@1.0.0")],
        );
        let d = diff(&old, &new);
        assert_eq!(versions(&d.unchanged), ["y:1.0->1.0.0"]);
        assert_eq!(d.removed.len(), 1);
    }

    #[test]
    fn names_match_only_when_at_most_one_side_has_a_purl() {
        let old = vec![named("lodash", "4.17.15"), c("pkg:pypi/requests@2.0.0")];
        let new = vec![c("pkg:npm/lodash@4.17.21"), c("pkg:npm/requests@2.0.0")];
        let d = diff(&old, &new);
        assert_eq!(versions(&d.upgraded), ["lodash:4.17.15->4.17.21"]);
        assert_eq!(d.added.len(), 1);
        assert_eq!(d.removed.len(), 1);
    }

    #[test]
    fn qualifiers_one_generator_omits_still_match() {
        let (old, new) = (
            [c("pkg:deb/debian/zlib1g@1.2.11?arch=amd64")],
            [c("pkg:deb/debian/zlib1g@1.2.13")],
        );
        let d = diff(&old, &new);
        assert_eq!(versions(&d.upgraded), ["zlib1g:1.2.11->1.2.13"]);
    }

    #[test]
    fn license_changes_are_reported_on_any_pair() {
        let mut a = c("pkg:npm/x@1.0.0");
        let mut b = c("pkg:npm/x@1.0.0");
        a.license = License::parse("MIT").map(Rc::new);
        b.license = License::parse("MIT OR GPL-3.0-only").map(Rc::new);
        let (old, new) = (vec![a], vec![b]);
        let d = diff(&old, &new);
        assert_eq!(d.license_changed.len(), 1);
        assert_eq!(d.unchanged.len(), 1);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        const NAMES: [&str; 4] = ["lodash", "Django", "zlib1g", "guava"];
        const TYPES: [&str; 4] = ["npm", "pypi", "deb", "maven"];
        const VERSIONS: [&str; 6] = ["1.0", "1.0.0", "1.2.0-rc.1", "1.2.0", "2.0", "10.1"];

        /// (name, ecosystem, version, has purl, license)
        fn component() -> impl Strategy<Value = Component> {
            (0..4usize, 0..4usize, 0..6usize, any::<bool>(), 0..3usize).prop_map(
                |(n, t, v, with_purl, l)| {
                    let mut comp = if with_purl {
                        c(&format!(
                            "pkg:{}/{}/{}@{}",
                            TYPES[t],
                            if TYPES[t] == "npm" || TYPES[t] == "pypi" {
                                "x"
                            } else {
                                "ns"
                            },
                            NAMES[n],
                            VERSIONS[v]
                        ))
                    } else {
                        named(NAMES[n], VERSIONS[v])
                    };
                    comp.license = [None, Some("MIT"), Some("MIT OR Apache-2.0")][l]
                        .and_then(License::parse)
                        .map(Rc::new);
                    comp
                },
            )
        }

        fn keys(v: &[&Component]) -> Vec<String> {
            let mut k: Vec<_> = v.iter().map(|c| content_key(c)).collect();
            k.sort();
            k
        }

        fn pair_keys(v: &[Pair<'_>], flip: bool) -> Vec<String> {
            let mut k: Vec<String> = v
                .iter()
                .map(|p| {
                    let (a, b) = if flip { (p.new, p.old) } else { (p.old, p.new) };
                    format!("{:?} -> {:?}", content_key(a), content_key(b))
                })
                .collect();
            k.sort();
            k
        }

        proptest! {
            #[test]
            fn a_diff_with_itself_is_empty(a in prop::collection::vec(component(), 0..16)) {
                let d = diff(&a, &a);
                prop_assert!(d.added.is_empty() && d.removed.is_empty());
                prop_assert!(d.upgraded.is_empty() && d.downgraded.is_empty() && d.changed.is_empty());
                prop_assert!(d.license_changed.is_empty());
                prop_assert_eq!(d.unchanged.len(), a.len());
            }

            #[test]
            fn the_reverse_diff_mirrors(
                a in prop::collection::vec(component(), 0..16),
                b in prop::collection::vec(component(), 0..16),
            ) {
                let ab = diff(&a, &b);
                let ba = diff(&b, &a);
                prop_assert_eq!(keys(&ab.added), keys(&ba.removed));
                prop_assert_eq!(keys(&ab.removed), keys(&ba.added));
                prop_assert_eq!(pair_keys(&ab.upgraded, false), pair_keys(&ba.downgraded, true));
                prop_assert_eq!(pair_keys(&ab.changed, false), pair_keys(&ba.changed, true));
                prop_assert_eq!(pair_keys(&ab.license_changed, false), pair_keys(&ba.license_changed, true));
                prop_assert_eq!(ab.added.len() + ab.unchanged.len() + ab.upgraded.len() + ab.downgraded.len() + ab.changed.len(), b.len());
            }

            #[test]
            fn component_order_does_not_matter(
                (a, a2) in prop::collection::vec(component(), 0..16).prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
                (b, b2) in prop::collection::vec(component(), 0..16).prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
            ) {
                let d1 = diff(&a, &b);
                let d2 = diff(&a2, &b2);
                prop_assert_eq!(keys(&d1.added), keys(&d2.added));
                prop_assert_eq!(keys(&d1.removed), keys(&d2.removed));
                prop_assert_eq!(pair_keys(&d1.upgraded, false), pair_keys(&d2.upgraded, false));
                prop_assert_eq!(pair_keys(&d1.downgraded, false), pair_keys(&d2.downgraded, false));
                prop_assert_eq!(pair_keys(&d1.changed, false), pair_keys(&d2.changed, false));
                prop_assert_eq!(pair_keys(&d1.unchanged, false), pair_keys(&d2.unchanged, false));
            }
        }
    }

    #[test]
    fn a_diff_with_itself_is_empty_and_mirrors_reverse() {
        let a = vec![
            c("pkg:npm/a@1.0.0"),
            c("pkg:npm/a@2.0.0"),
            named("b", "1"),
            c("pkg:npm/c@1.0.0"),
        ];
        let b = vec![
            c("pkg:npm/a@2.1.0"),
            named("b", "2"),
            c("pkg:npm/d@1.0.0"),
            c("pkg:npm/a@0.5.0"),
        ];
        let same = diff(&a, &a);
        assert!(same.added.is_empty() && same.removed.is_empty() && same.upgraded.is_empty());
        assert_eq!(same.unchanged.len(), a.len());
        let ab = diff(&a, &b);
        let ba = diff(&b, &a);
        let names = |v: &[&Component]| {
            v.iter()
                .map(|c| format!("{}@{:?}", c.name, c.version))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&ab.added), names(&ba.removed));
        assert_eq!(names(&ab.removed), names(&ba.added));
        assert_eq!(ab.upgraded.len(), ba.downgraded.len());
    }
}
