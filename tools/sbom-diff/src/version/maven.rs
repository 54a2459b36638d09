//! Maven's `ComparableVersion` (maven-artifact 3.9): a version is a list of items split at
//! `.` and `-` and at digit/letter transitions; `-` opens a sub-list; trailing "null" items
//! (`0`, empty, `ga`/`final`/`release`) are dropped, so `1.0.0` = `1`. Qualifiers order
//! alpha < beta < milestone < rc = cr < snapshot < (release) < sp < any other word
//! (alphabetically); `a1`/`b1`/`m1` mean alpha-1/beta-1/milestone-1. Written from the
//! algorithm's description and behaviour, not copied.

use std::cmp::Ordering;

use super::semver::numeric;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// Digits, leading zeros stripped ("" is zero).
    Int(String),
    /// A qualifier, aliases resolved.
    Str(String),
    List(Vec<Item>),
}

const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
const RELEASE: usize = 5;

/// Rank of a qualifier: its index in [`QUALIFIERS`], unknown words after all of them.
fn rank(q: &str) -> (usize, &str) {
    match QUALIFIERS.iter().position(|k| *k == q) {
        Some(i) => (i, ""),
        None => (QUALIFIERS.len(), q),
    }
}

fn string_item(s: &str, followed_by_digit: bool) -> Item {
    let s = match (s, followed_by_digit) {
        ("a", true) => "alpha",
        ("b", true) => "beta",
        ("m", true) => "milestone",
        ("ga" | "final" | "release", _) => "",
        ("cr", _) => "rc",
        (other, _) => other,
    };
    Item::Str(s.to_owned())
}

fn parse_item(is_digit: bool, s: &str) -> Item {
    if is_digit {
        Item::Int(s.trim_start_matches('0').to_owned())
    } else {
        string_item(s, false)
    }
}

fn is_null(item: &Item) -> bool {
    match item {
        Item::Int(d) => d.is_empty(),
        Item::Str(s) => rank(s).0 == RELEASE,
        Item::List(l) => l.is_empty(),
    }
}

/// Parses into an arena of lists (index 0 is the root); `Node::List(i)` points into it.
fn parse(version: &str) -> Item {
    #[derive(Clone)]
    enum Node {
        Leaf(Item),
        List(usize),
    }
    let v = version.to_lowercase();
    let mut lists: Vec<Vec<Node>> = vec![Vec::new()];
    let mut cur = 0usize;
    let new_list = |lists: &mut Vec<Vec<Node>>, cur: &mut usize| {
        lists.push(Vec::new());
        let idx = lists.len() - 1;
        lists[*cur].push(Node::List(idx));
        *cur = idx;
    };
    let mut is_digit = false;
    let mut start = 0usize;
    let chars: Vec<(usize, char)> = v.char_indices().collect();
    for &(i, c) in &chars {
        if c == '.' || c == '-' {
            let item = if i == start {
                Item::Int(String::new())
            } else {
                parse_item(is_digit, &v[start..i])
            };
            lists[cur].push(Node::Leaf(item));
            start = i + 1;
            if c == '-' {
                new_list(&mut lists, &mut cur);
            }
        } else if c.is_ascii_digit() {
            if !is_digit && i > start {
                if !lists[cur].is_empty() {
                    new_list(&mut lists, &mut cur);
                }
                lists[cur].push(Node::Leaf(string_item(&v[start..i], true)));
                start = i;
                new_list(&mut lists, &mut cur);
            }
            is_digit = true;
        } else {
            if is_digit && i > start {
                lists[cur].push(Node::Leaf(parse_item(true, &v[start..i])));
                start = i;
                new_list(&mut lists, &mut cur);
            }
            is_digit = false;
        }
    }
    if v.len() > start {
        if !is_digit && !lists[cur].is_empty() {
            new_list(&mut lists, &mut cur);
        }
        lists[cur].push(Node::Leaf(parse_item(is_digit, &v[start..])));
    }
    // Build the tree bottom-up: lists are created in nesting order, so the last created is
    // the innermost, and normalising in reverse creation order matches Maven's stack.
    let mut built: Vec<Option<Vec<Item>>> = vec![None; lists.len()];
    for idx in (0..lists.len()).rev() {
        let mut items: Vec<Item> = lists[idx]
            .iter()
            .map(|n| match n {
                Node::Leaf(item) => item.clone(),
                Node::List(child) => Item::List(built[*child].take().unwrap_or_default()),
            })
            .collect();
        // normalize(): drop trailing null items, stepping over non-null sub-lists.
        let mut i = items.len();
        while i > 0 {
            i -= 1;
            if is_null(&items[i]) {
                items.remove(i);
            } else if !matches!(items[i], Item::List(_)) {
                break;
            }
        }
        built[idx] = Some(items);
    }
    Item::List(built[0].take().unwrap_or_default())
}

/// `a.compareTo(b)` where `b` may be Maven's `null` (the other list ran out).
fn cmp(a: &Item, b: Option<&Item>) -> Ordering {
    match (a, b) {
        (Item::Int(x), None) => {
            if x.is_empty() {
                Ordering::Equal
            } else {
                Ordering::Greater
            }
        }
        (Item::Int(x), Some(Item::Int(y))) => numeric(x, y),
        (Item::Int(_), Some(_)) => Ordering::Greater,
        (Item::Str(s), None) => rank(s).0.cmp(&RELEASE).then_with(|| {
            // Unknown qualifiers rank after `sp` and among themselves alphabetically; against
            // the release index only the index matters.
            Ordering::Equal
        }),
        (Item::Str(_), Some(Item::Int(_) | Item::List(_))) => Ordering::Less,
        (Item::Str(x), Some(Item::Str(y))) => rank(x).cmp(&rank(y)),
        (Item::List(l), None) => l
            .iter()
            .map(|i| cmp(i, None))
            .find(|o| *o != Ordering::Equal)
            .unwrap_or(Ordering::Equal),
        (Item::List(_), Some(Item::Int(_))) => Ordering::Less,
        (Item::List(_), Some(Item::Str(_))) => Ordering::Greater,
        (Item::List(l), Some(Item::List(r))) => {
            let n = l.len().max(r.len());
            for i in 0..n {
                let o = match (l.get(i), r.get(i)) {
                    (Some(x), y) => cmp(x, y),
                    (None, Some(y)) => cmp(y, None).reverse(),
                    (None, None) => Ordering::Equal,
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        }
    }
}

pub(super) fn compare(a: &str, b: &str) -> Ordering {
    cmp(&parse(a), Some(&parse(b)))
}

#[cfg(test)]
mod tests {
    use crate::version::Ecosystem::Maven;
    use crate::version::tests::{assert_ascending, assert_equal};

    /// Maven's own ComparableVersionTest: VERSIONS_QUALIFIER and VERSIONS_NUMBER.
    #[test]
    fn orders_like_maven_comparable_version_test() {
        assert_ascending(
            Maven,
            &[
                "1-alpha2snapshot",
                "1-alpha2",
                "1-alpha-123",
                "1-beta-2",
                "1-beta123",
                "1-m2",
                "1-m11",
                "1-rc",
                "1-cr2",
                "1-rc123",
                "1-SNAPSHOT",
                "1",
                "1-sp",
                "1-sp2",
                "1-sp123",
                "1-abc",
                "1-def",
                "1-pom-1",
                "1-1-snapshot",
                "1-1",
                "1-2",
                "1-123",
            ],
        );
        assert_ascending(
            Maven,
            &[
                "2.0", "2.0.a", "2-1", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b", "2.1-c",
                "2.1-1", "2.1.0.1", "2.2", "2.123", "11.a2", "11.a11", "11.b2", "11.b11", "11.m2",
                "11.m11", "11", "11.a", "11b", "11c", "11m",
            ],
        );
    }

    #[test]
    fn equal_spellings() {
        assert_equal(
            Maven,
            &[
                ("1", "1.0.0"),
                ("1-ga", "1"),
                ("1.final", "1"),
                ("1-release", "1"),
                ("1cr", "1rc"),
                ("1a1", "1-alpha-1"),
                ("1.0-RC1", "1.0-rc1"),
                ("2.0.0.RELEASE", "2.0.0"),
            ],
        );
    }

    #[test]
    fn real_world_java_versions() {
        assert_ascending(
            Maven,
            &[
                "5.3.0-M1",
                "5.3.0-RC1",
                "5.3.0",
                "5.3.1",
                "5.3.10",
                "6.0.0-SNAPSHOT",
                "6.0.0",
            ],
        );
        assert_ascending(Maven, &["2.12.7", "2.12.7.1", "2.13.0"]);
        assert_ascending(
            Maven,
            &["31.1-jre", "32.0.0-android", "32.0.0-jre", "32.1.3-jre"],
        );
    }
}
