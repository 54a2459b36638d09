//! The one way a tool declares its check ids: the [`checks!`](crate::checks!) macro. Each id
//! is written once, with a doc comment in three paragraphs (what it judges; `Why:` it matters;
//! `Fix:` for a failure) that is the single source of the `checks` listing, `--help`, SARIF
//! rule help and the table in `docs/<tool>.md`. Nothing else in a tool spells an id as a
//! string (the floor-plan test in `tools/testkit/tests/floor_plan.rs` looks).
//!
//! ```
//! gatehouse::checks! {
//!     /// New critical vulnerabilities against the budget.
//!     ///
//!     /// Why: a release must not ship a known critical hole it did not have before.
//!     ///
//!     /// Fix: upgrade to the fixed-in version, or add a time-boxed exception.
//!     NewCritical = "budget.new_critical";
//! }
//! assert_eq!(CheckId::NewCritical.as_str(), "budget.new_critical");
//! assert_eq!(CheckId::from_id("budget.new_critical"), Some(CheckId::NewCritical));
//! assert_eq!(CheckId::NewCritical.why(), "a release must not ship a known critical hole it did not have before.");
//! ```
//!
//! A tool that attaches one more property to every id (migration-gate's default severity)
//! names its type first and gives each id a value of it:
//!
//! ```
//! #[derive(Debug, Clone, Copy, PartialEq, Eq)]
//! pub enum Severity { Fail, Warn }
//! gatehouse::checks! {
//!     tag: Severity;
//!     /// A statement PostgreSQL cannot parse.
//!     ///
//!     /// Why: the deploy fails halfway.
//!     ///
//!     /// Fix: correct the statement.
//!     SqlParse = "sql.parse", Fail;
//! }
//! assert_eq!(CheckId::SqlParse.tag(), Severity::Fail);
//! ```

use crate::render::RuleDoc;

/// What, why and fix: the three paragraphs of a check's doc comment, without the `Why:` and
/// `Fix:` labels (a missing part is empty; [`assert_documented`] requires all three).
pub fn doc_parts(doc: &'static str) -> (&'static str, &'static str, &'static str) {
    let mut paragraphs = doc.split("\n\n").map(str::trim);
    let what = paragraphs.next().unwrap_or_default();
    let why = paragraphs
        .next()
        .and_then(|p| p.strip_prefix("Why:"))
        .map(str::trim);
    let fix = paragraphs
        .next()
        .and_then(|p| p.strip_prefix("Fix:"))
        .map(str::trim);
    (what, why.unwrap_or_default(), fix.unwrap_or_default())
}

/// The SARIF/`--help` rule doc of one check from its id and doc comment.
pub fn rule_doc(id: &'static str, doc: &'static str) -> RuleDoc {
    let (what, why, fix) = doc_parts(doc);
    RuleDoc::new(id, what, why, fix)
}

/// For a tool's unit tests: every id is unique and valid, and every doc has all three parts.
pub fn assert_documented(ids_and_docs: &[(&'static str, &'static str)]) {
    let mut seen = std::collections::BTreeSet::new();
    for (id, doc) in ids_and_docs {
        assert!(
            crate::report::is_valid_check_id(id),
            "invalid check id {id:?}"
        );
        assert!(seen.insert(*id), "check id {id:?} declared twice");
        let (what, why, fix) = doc_parts(doc);
        assert!(
            !what.is_empty() && !why.is_empty() && !fix.is_empty(),
            "{id}: the doc comment needs three paragraphs: what, `Why: …`, `Fix: …`; got {doc:?}"
        );
    }
}

/// Declares `pub enum CheckId` with `ALL`, `as_str`, `from_id`, `doc`, `summary`, `why`,
/// `fix`, `rule_doc`, `Display` and `Serialize` (as its id), and `pub fn rule_docs()`. With
/// `tag: Type;` first, every id carries a value of `Type` (`CheckId::tag`).
#[macro_export]
macro_rules! checks {
    (tag: $tag:ty; $( $(#[doc = $doc:literal])* $variant:ident = $id:literal, $tagv:ident; )*) => {
        $crate::checks! { $( $(#[doc = $doc])* $variant = $id; )* }
        impl CheckId {
            /// The value this tool attaches to the id in its checks table.
            pub fn tag(self) -> $tag {
                match self { $( CheckId::$variant => <$tag>::$tagv, )* }
            }
        }
    };
    ($( $(#[doc = $doc:literal])* $variant:ident = $id:literal; )*) => {
        /// One judged thing. `as_str` is the id in reports; the doc comment is its help.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum CheckId { $( $(#[doc = $doc])* $variant, )* }

        #[allow(dead_code, reason = "not every tool uses every accessor")]
        impl CheckId {
            pub const ALL: &'static [CheckId] = &[ $( CheckId::$variant, )* ];

            pub fn as_str(self) -> &'static str {
                match self { $( CheckId::$variant => $id, )* }
            }

            pub fn from_id(id: &str) -> Option<CheckId> {
                CheckId::ALL.iter().copied().find(|c| c.as_str() == id)
            }

            /// The whole doc comment: what; `Why:`; `Fix:`.
            pub fn doc(self) -> &'static str {
                match self { $( CheckId::$variant => concat!($($doc, "\n",)*), )* }
            }

            /// What it judges: the first paragraph, one line for SARIF and listings.
            pub fn summary(self) -> &'static str {
                $crate::checks::doc_parts(self.doc()).0
            }

            /// Why it matters to a release.
            pub fn why(self) -> &'static str {
                $crate::checks::doc_parts(self.doc()).1
            }

            /// How to fix a failure.
            pub fn fix(self) -> &'static str {
                $crate::checks::doc_parts(self.doc()).2
            }

            pub fn rule_doc(self) -> $crate::RuleDoc {
                $crate::checks::rule_doc(self.as_str(), self.doc())
            }

            /// The report of the tool's `checks` command.
            pub fn list_report(agent: &str) -> $crate::Report {
                let all: ::std::vec::Vec<(&'static str, &'static str)> =
                    CheckId::ALL.iter().map(|c| (c.as_str(), c.doc())).collect();
                $crate::checks::list_report(agent, &all)
            }
        }

        impl ::std::fmt::Display for CheckId {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::__serde::Serialize for CheckId {
            fn serialize<S: $crate::__serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl ::std::convert::From<CheckId> for ::std::string::String {
            fn from(id: CheckId) -> ::std::string::String {
                id.as_str().to_owned()
            }
        }

        /// SARIF rule help and `--help` text for every check of this tool.
        pub fn rule_docs() -> ::std::vec::Vec<$crate::RuleDoc> {
            CheckId::ALL.iter().map(|c| c.rule_doc()).collect()
        }

        #[cfg(test)]
        #[test]
        fn every_check_id_is_unique_valid_and_documented() {
            let all: ::std::vec::Vec<(&'static str, &'static str)> =
                CheckId::ALL.iter().map(|c| (c.as_str(), c.doc())).collect();
            $crate::checks::assert_documented(&all);
        }

        #[cfg(test)]
        #[test]
        fn the_docs_table_of_checks_is_the_checks_table() {
            let all: ::std::vec::Vec<(&'static str, &'static str)> =
                CheckId::ALL.iter().map(|c| (c.as_str(), c.doc())).collect();
            $crate::checks::assert_docs_table(
                concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/", env!("CARGO_PKG_NAME"), ".md"),
                &all,
            );
        }
    };
}

/// The report of a tool's `checks` command: every id as an `ok` check carrying its summary,
/// a table of id / what / how to fix, and `data.checks[]` with `id`, `summary`, `fix`.
pub fn list_report(agent: &str, ids_and_docs: &[(&'static str, &'static str)]) -> crate::Report {
    let mut b = crate::Report::start(agent, "checks");
    let mut s = crate::Section::new("Checks", &["id", "what it judges", "how to fix"]);
    let mut list = Vec::new();
    for (id, doc) in ids_and_docs {
        let (what, _, fix) = doc_parts(doc);
        let (what, fix) = (
            what.split_whitespace().collect::<Vec<_>>().join(" "),
            fix.split_whitespace().collect::<Vec<_>>().join(" "),
        );
        b.check(crate::Check::ok(*id).with_message(what.clone()));
        s.row(vec![(*id).to_owned(), what.clone(), fix.clone()]);
        list.push(serde_json::json!({"id": id, "summary": what, "fix": fix}));
    }
    b.section(s)
        .summary(format!("{} checks", ids_and_docs.len()))
        .data(serde_json::json!({ "checks": list }));
    b.finish()
}

/// Where the generated table of check ids sits in `docs/<tool>.md`.
pub const DOCS_BEGIN: &str = "<!-- checks table: generated from src/checks.rs; GATEHOUSE_UPDATE_DOCS=1 cargo test rewrites it -->";
pub const DOCS_END: &str = "<!-- end of checks table -->";

/// The markdown table of a tool's checks: id, what it judges, why, how to fix.
pub fn markdown_table(ids_and_docs: &[(&'static str, &'static str)]) -> String {
    let cell = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .replace('|', "\\|")
    };
    let mut out = String::from(
        "| check | what it judges | why it matters | how to fix a failure |\n|---|---|---|---|\n",
    );
    for (id, doc) in ids_and_docs {
        let (what, why, fix) = doc_parts(doc);
        out.push_str(&format!(
            "| `{id}` | {} | {} | {} |\n",
            cell(what),
            cell(why),
            cell(fix)
        ));
    }
    out
}

/// For the test every `checks!` table gets: the table between [`DOCS_BEGIN`] and
/// [`DOCS_END`] in `doc_path` is exactly [`markdown_table`]. With
/// `GATEHOUSE_UPDATE_DOCS=1` a stale table is rewritten instead (review the diff). A tool
/// without a docs page is caught by the floor-plan test, not here.
pub fn assert_docs_table(doc_path: &str, ids_and_docs: &[(&'static str, &'static str)]) {
    let Ok(text) = std::fs::read_to_string(doc_path) else {
        return;
    };
    let want = markdown_table(ids_and_docs);
    let (Some(b), Some(e)) = (text.find(DOCS_BEGIN), text.find(DOCS_END)) else {
        panic!(
            "{doc_path}: no generated checks table; add the lines\n{DOCS_BEGIN}\n{DOCS_END}\nwhere it belongs and run GATEHOUSE_UPDATE_DOCS=1 cargo test"
        );
    };
    let start = b + DOCS_BEGIN.len();
    let have = text[start..e].trim_start_matches('\n');
    if have == want {
        return;
    }
    if std::env::var_os("GATEHOUSE_UPDATE_DOCS").is_some() {
        let updated = format!("{}\n{want}{}", &text[..start], &text[e..]);
        std::fs::write(doc_path, updated).expect("rewrite the docs table");
        return;
    }
    panic!(
        "{doc_path}: the checks table differs from src/checks.rs; run GATEHOUSE_UPDATE_DOCS=1 cargo test and review the diff"
    );
}

/// The rows of the check table in a tool's markdown docs: `| `id` | … |` lines, the id in
/// the first column. For the test that a docs table and the code agree.
pub fn ids_in_docs_table(markdown: &str) -> Vec<String> {
    markdown
        .lines()
        .filter_map(|l| l.trim().strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`').map(|(id, _)| id.to_owned()))
        .filter(|id| crate::report::is_valid_check_id(id))
        .collect()
}

#[cfg(test)]
mod tests {
    crate::checks! {
        tag: Level;
        /// Judges a.
        ///
        /// Why: because.
        ///
        /// Fix: do it.
        A = "x.a", Hi;
        /// Judges b, over
        /// two lines.
        ///
        /// Why: also.
        ///
        /// Fix: too.
        B = "x.b", Lo;
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Level {
        Hi,
        Lo,
    }

    #[test]
    fn the_doc_comment_is_the_help() {
        assert_eq!(CheckId::B.summary(), "Judges b, over\n two lines.");
        assert_eq!(CheckId::A.why(), "because.");
        assert_eq!(CheckId::A.fix(), "do it.");
        assert_eq!(CheckId::B.tag(), Level::Lo);
        assert_eq!(CheckId::A.tag(), Level::Hi);
        let docs = rule_docs();
        assert_eq!(docs[1].summary, "Judges b, over two lines.");
        assert_eq!(serde_json::to_string(&CheckId::A).expect("json"), "\"x.a\"");
    }

    #[test]
    fn a_stale_docs_table_fails_and_a_current_one_passes() {
        let all: Vec<(&'static str, &'static str)> =
            CheckId::ALL.iter().map(|c| (c.as_str(), c.doc())).collect();
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tool.md");
        let page = |table: &str| {
            format!(
                "# tool\n\n{}\n{table}{}\n\nmore\n",
                super::DOCS_BEGIN,
                super::DOCS_END
            )
        };
        std::fs::write(&path, page(&super::markdown_table(&all))).expect("write");
        super::assert_docs_table(path.to_str().expect("utf-8"), &all);
        std::fs::write(&path, page("| `x.a` | old text |\n")).expect("write");
        let stale = std::panic::catch_unwind(|| {
            super::assert_docs_table(path.to_str().expect("utf-8"), &all);
        });
        assert!(stale.is_err());
    }

    #[test]
    fn docs_tables_are_read_by_their_first_column() {
        let md = "| id | what |\n|---|---|\n| `x.a` | judges a |\n| `not an id!` | x |\n";
        assert_eq!(super::ids_in_docs_table(md), ["x.a"]);
    }
}
