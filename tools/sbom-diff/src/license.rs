//! License expressions: what a component's license field says, parsed with the `spdx` crate
//! into an expression that can be compared (two spellings of one expression are equal) and
//! evaluated against deny and allow lists. Knows nothing about SBOM formats or budgets.
//!
//! Free-text names that are not SPDX (`Apache License, Version 2.0`, `Public Domain`) are
//! kept as `LicenseRef-<name>` so that every license is an expression; the text as written
//! is kept for display.

use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

use spdx::expression::{ExprNode, Operator};
use spdx::{Expression, LicenseItem, LicenseReq, ParseMode};

/// Lax parsing (`/` for OR, imprecise names like `Apache 2.0`, deprecated ids, `GPL-2.0+`)
/// that also keeps unknown single words as license references instead of failing.
const MODE: ParseMode = ParseMode {
    allow_unknown: true,
    ..ParseMode::LAX
};

/// More alternatives than this in disjunctive normal form and we compare the expression's
/// text instead (an adversarial expression must not blow up memory).
const MAX_TERMS: usize = 64;

/// A component's license: an SPDX expression, with the text as the SBOM wrote it.
#[derive(Debug, Clone)]
pub struct License {
    /// As written; several CycloneDX entries are joined with ` AND `.
    pub text: String,
    /// Canonical form: equal for equivalent expressions (`MIT AND ISC` = `ISC AND MIT`).
    pub key: String,
    expr: Option<Expression>,
}

impl PartialEq for License {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl License {
    /// Parses one expression or license name; `None` for empty, `NOASSERTION` and `NONE`
    /// (no license information, as SPDX uses them). The readers use [`License::all_of`].
    #[cfg(test)]
    pub fn parse(text: &str) -> Option<License> {
        License::all_of(&[text])
    }

    /// Several license entries that all apply (CycloneDX `licenses: [...]`): they are
    /// joined with AND, the conservative reading — every one of them must be acceptable.
    pub fn all_of<S: AsRef<str>>(parts: &[S]) -> Option<License> {
        let parts: Vec<&str> = parts
            .iter()
            .map(|p| p.as_ref().trim())
            .filter(|p| !p.is_empty() && !is_no_assertion(p))
            .collect();
        if parts.is_empty() {
            return None;
        }
        let text = parts.join(" AND ");
        let exprs: Vec<String> = parts.iter().map(|p| as_expression(p)).collect();
        let joined = if exprs.len() == 1 {
            exprs[0].clone()
        } else {
            exprs
                .iter()
                .map(|e| format!("({e})"))
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        let expr = Expression::parse_mode(&joined, MODE).ok();
        let key = match &expr {
            Some(e) => canonical(e).unwrap_or_else(|| e.to_string()),
            None => text.to_lowercase(),
        };
        Some(License { text, key, expr })
    }

    /// True when some choice the expression offers satisfies `ok` for every license in it
    /// (`A OR B` needs one of them, `A AND B` both). An expression we could not parse
    /// satisfies nothing.
    pub fn satisfies(&self, mut ok: impl FnMut(&Req) -> bool) -> bool {
        match &self.expr {
            Some(e) => e.evaluate(|req| ok(&Req::of(req))),
            None => false,
        }
    }

    /// The licenses named in the expression, canonical ids.
    #[cfg(test)]
    pub fn ids(&self) -> Vec<String> {
        match &self.expr {
            Some(e) => e.requirements().map(|r| Req::of(&r.req).full).collect(),
            None => vec![self.text.clone()],
        }
    }
}

/// One license term of an expression, normalised for matching against budget lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Req {
    /// The license alone: `GPL-2.0-only`, `LicenseRef-Public-Domain`.
    pub license: String,
    /// With its exception, when it has one: `GPL-2.0-only WITH Classpath-exception-2.0`.
    pub full: String,
}

impl Req {
    fn of(req: &LicenseReq) -> Req {
        let license = match &req.license {
            LicenseItem::Spdx { id, or_later } => {
                let name = modern_id(id.name);
                if *or_later && !name.ends_with("-or-later") {
                    format!("{name}+")
                } else {
                    name
                }
            }
            LicenseItem::Other(r) => format!("LicenseRef-{}", r.lic_ref),
        };
        let full = match &req.addition {
            Some(a) => format!("{license} WITH {a}"),
            None => license.clone(),
        };
        Req { license, full }
    }
}

/// Parses one budget-list entry (`GPL-3.0-only`, `GPL-2.0-only WITH Classpath-exception-2.0`,
/// `LicenseRef-Proprietary`, or a free-text name as SBOMs write them) into its normalised
/// form; an error when it is an expression of several licenses or an unknown SPDX-looking id.
pub fn parse_list_entry(entry: &str) -> Result<Req, String> {
    let e = entry.trim();
    let strict = ParseMode {
        allow_unknown: false,
        ..ParseMode::LAX
    };
    match Expression::parse_mode(e, strict) {
        Ok(expr) => {
            let reqs: Vec<_> = expr.requirements().collect();
            match reqs.as_slice() {
                [one] => Ok(Req::of(&one.req)),
                _ => Err(format!(
                    "{e:?} is an expression; list single licenses (an OR in a component's license is evaluated for you)"
                )),
            }
        }
        Err(_) if e.contains(char::is_whitespace) || e.contains(',') => {
            // A free-text name: matched the way a component's free-text name is kept.
            Ok(Req {
                license: as_expression(e),
                full: as_expression(e),
            })
        }
        Err(_) => Err(format!(
            "{e:?} is not an SPDX license identifier (see https://spdx.org/licenses/; use LicenseRef-… for others)"
        )),
    }
}

fn is_no_assertion(s: &str) -> bool {
    s.eq_ignore_ascii_case("NOASSERTION") || s.eq_ignore_ascii_case("NONE")
}

/// The text as an SPDX expression: itself when it parses, else a `LicenseRef-` made of it.
fn as_expression(text: &str) -> String {
    if Expression::parse_mode(text, MODE).is_ok() {
        return text.to_owned();
    }
    let mut r = String::from("LicenseRef-");
    let mut dash = false;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            r.push(c);
            dash = false;
        } else if !dash {
            r.push('-');
            dash = true;
        }
    }
    let r = r.trim_end_matches('-').to_owned();
    if r.len() > "LicenseRef-".len() {
        r
    } else {
        "LicenseRef-unknown".to_owned()
    }
}

/// Deprecated GNU ids written without `-only` mean `-only` (SPDX 3.0 deprecation note).
fn modern_id(name: &str) -> String {
    const BARE_GNU: &[&str] = &[
        "GPL-1.0", "GPL-2.0", "GPL-3.0", "LGPL-2.0", "LGPL-2.1", "LGPL-3.0", "AGPL-1.0",
        "AGPL-3.0", "GFDL-1.1", "GFDL-1.2", "GFDL-1.3",
    ];
    if BARE_GNU.contains(&name) {
        format!("{name}-only")
    } else {
        name.to_owned()
    }
}

/// The expression in disjunctive normal form, each conjunction and the disjunction sorted:
/// `A AND (B OR C)` → `A AND B OR A AND C`. `None` when it would exceed [`MAX_TERMS`].
fn canonical(e: &Expression) -> Option<String> {
    type Dnf = BTreeSet<BTreeSet<String>>;
    let mut stack: Vec<Dnf> = Vec::new();
    for node in e.iter() {
        match node {
            ExprNode::Req(r) => {
                stack.push(BTreeSet::from([BTreeSet::from([Req::of(&r.req).full])]));
            }
            ExprNode::Op(op) => {
                let b = stack.pop()?;
                let a = stack.pop()?;
                let combined: Dnf = match op {
                    Operator::Or => a.union(&b).cloned().collect(),
                    Operator::And => {
                        if a.len().saturating_mul(b.len()) > MAX_TERMS {
                            return None;
                        }
                        a.iter()
                            .flat_map(|x| b.iter().map(move |y| x.union(y).cloned().collect()))
                            .collect()
                    }
                };
                if combined.len() > MAX_TERMS {
                    return None;
                }
                stack.push(combined);
            }
        }
    }
    let dnf = stack.pop()?;
    Some(
        dnf.iter()
            .map(|conj| conj.iter().cloned().collect::<Vec<_>>().join(" AND "))
            .collect::<Vec<_>>()
            .join(" OR "),
    )
}

/// Parses each distinct license text once: SBOMs repeat `MIT` thousands of times.
#[derive(Debug, Default)]
pub struct Interner {
    seen: HashMap<String, Option<Rc<License>>>,
}

impl Interner {
    pub fn get<S: AsRef<str>>(&mut self, parts: &[S]) -> Option<Rc<License>> {
        // One entry is the common case: look it up without building a key.
        if let [one] = parts {
            if let Some(hit) = self.seen.get(one.as_ref()) {
                return hit.clone();
            }
            let lic = License::all_of(parts).map(Rc::new);
            self.seen.insert(one.as_ref().to_owned(), lic.clone());
            return lic;
        }
        if parts.is_empty() {
            return None;
        }
        let joined = parts
            .iter()
            .map(AsRef::as_ref)
            .collect::<Vec<_>>()
            .join("\u{1f}");
        if let Some(hit) = self.seen.get(&joined) {
            return hit.clone();
        }
        let lic = License::all_of(parts).map(Rc::new);
        self.seen.insert(joined, lic.clone());
        lic
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lic(s: &str) -> License {
        License::parse(s).unwrap_or_else(|| panic!("{s} gave no license"))
    }

    #[test]
    fn equivalent_expressions_are_equal() {
        assert_eq!(lic("MIT AND ISC"), lic("ISC AND MIT"));
        assert_eq!(lic("(MIT OR Apache-2.0)"), lic("Apache-2.0 OR MIT"));
        assert_eq!(lic("MIT/Apache-2.0"), lic("MIT OR Apache-2.0"));
        assert_eq!(
            lic("Apache-2.0 AND (MIT OR BSD-3-Clause)"),
            lic("(Apache-2.0 AND MIT) OR (BSD-3-Clause AND Apache-2.0)")
        );
        assert_eq!(lic("GPL-2.0+"), lic("GPL-2.0-or-later"));
        assert_eq!(lic("LGPL-2.1"), lic("LGPL-2.1-only"));
        assert_eq!(lic("mit"), lic("MIT"));
        assert_eq!(
            License::all_of(&["MIT", "ISC"]).expect("two"),
            lic("ISC AND MIT")
        );
    }

    #[test]
    fn a_new_alternative_is_a_change() {
        assert_ne!(lic("MIT"), lic("MIT OR GPL-3.0-only"));
        assert_ne!(lic("MIT"), lic("MIT AND GPL-3.0-only"));
        assert_ne!(
            lic("GPL-2.0-only"),
            lic("GPL-2.0-only WITH Classpath-exception-2.0")
        );
    }

    #[test]
    fn free_text_names_become_license_refs() {
        let pd = lic("Public Domain");
        assert_eq!(pd.text, "Public Domain");
        assert_eq!(pd.ids(), vec!["LicenseRef-Public-Domain"]);
        assert_eq!(
            lic("Apache License, Version 2.0").ids(),
            vec!["LicenseRef-Apache-License-Version-2.0"]
        );
        assert!(License::parse("NOASSERTION").is_none());
        assert!(License::parse("  ").is_none());
        assert!(License::all_of(&["NONE", "NOASSERTION"]).is_none());
    }

    #[test]
    fn evaluation_offers_every_choice() {
        let denied = |r: &Req| r.license != "GPL-3.0-only";
        assert!(lic("MIT OR GPL-3.0-only").satisfies(denied));
        assert!(!lic("MIT AND GPL-3.0-only").satisfies(denied));
        assert!(!lic("GPL-3.0").satisfies(denied));
        let allowed = |r: &Req| ["MIT", "Apache-2.0"].contains(&r.license.as_str());
        assert!(lic("Apache-2.0 OR GPL-2.0-only").satisfies(allowed));
        assert!(!lic("Apache-2.0 AND GPL-2.0-only").satisfies(allowed));
        assert!(!lic("Public Domain").satisfies(allowed));
    }

    #[test]
    fn budget_entries_are_single_known_licenses() {
        assert_eq!(
            parse_list_entry("GPL-3.0").expect("ok").license,
            "GPL-3.0-only"
        );
        assert_eq!(
            parse_list_entry("GPL-2.0-only WITH Classpath-exception-2.0")
                .expect("ok")
                .full,
            "GPL-2.0-only WITH Classpath-exception-2.0"
        );
        assert_eq!(
            parse_list_entry("LicenseRef-Proprietary")
                .expect("ok")
                .license,
            "LicenseRef-Proprietary"
        );
        assert_eq!(
            parse_list_entry("Public Domain").expect("ok").license,
            "LicenseRef-Public-Domain"
        );
        assert!(parse_list_entry("MIT OR ISC").is_err());
        assert!(parse_list_entry("GPL3x").is_err());
    }

    #[test]
    fn huge_expressions_fall_back_to_text() {
        let clause = (0..20)
            .map(|i| format!("(LicenseRef-a{i} OR LicenseRef-b{i})"))
            .collect::<Vec<_>>()
            .join(" AND ");
        let l = lic(&clause);
        assert!(l.key.len() < 2000, "{}", l.key.len());
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,60}") {
            let _ = License::parse(&s);
            let _ = parse_list_entry(&s);
        }
    }
}
