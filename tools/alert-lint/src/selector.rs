//! How config keys (`checks:`) and disable comments name checks: an exact id
//! (`promql.rate_on_gauge`), pint's spelling (`promql/rate-on-gauge`), a family (`promql`,
//! `template`), or every check at once (`all`, `*`). The last is a keyword of the selector
//! language, not a check id: no report ever carries it.

use crate::checks::CheckId;

/// The selectors that name every check.
const EVERY_CHECK: [&str; 2] = ["all", "*"];

/// The check a selector names exactly, in dotted or pint spelling.
pub(crate) fn parse(selector: &str) -> Option<CheckId> {
    CheckId::from_id(&normalize(selector))
}

/// The ids a selector names: an exact id, every id of a family, or every id.
pub(crate) fn matching(selector: &str) -> Vec<CheckId> {
    if let Some(id) = parse(selector) {
        return vec![id];
    }
    let norm = normalize(selector);
    if EVERY_CHECK.contains(&norm.as_str()) {
        return CheckId::ALL.to_vec();
    }
    CheckId::ALL
        .iter()
        .copied()
        .filter(|c| {
            c.as_str()
                .strip_prefix(norm.as_str())
                .is_some_and(|r| r.starts_with('.'))
        })
        .collect()
}

/// How specific a selector is, for "the most specific wins": a selector of every check
/// (as written) is the least, otherwise the longer the more specific.
pub(crate) fn specificity(selector: &str) -> usize {
    if EVERY_CHECK.contains(&selector) {
        0
    } else {
        selector.len()
    }
}

fn normalize(s: &str) -> String {
    s.trim()
        .to_ascii_lowercase()
        .replace('/', ".")
        .replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_in_dotted_and_pint_spelling() {
        assert_eq!(
            parse("promql/rate-on-gauge"),
            Some(CheckId::PromqlRateOnGauge)
        );
        assert_eq!(
            parse("promql.rate_on_gauge"),
            Some(CheckId::PromqlRateOnGauge)
        );
        assert_eq!(parse("promql.nope"), None);
        assert_eq!(matching("template").len(), 3);
        assert_eq!(matching("all").len(), CheckId::ALL.len());
        assert!(matching("policy.run").is_empty());
    }
}
