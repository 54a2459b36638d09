//! The diff budget (`--budget FILE`, YAML, `schemas/sbom-diff.budget.schema.json`): what a
//! release may change, and the time-boxed exceptions to it. Reading validates everything a
//! typo could silently disable (unknown keys, unknown license ids, exceptions without
//! `until`); judging turns each budget line into one check with `observed` and `limit`.

use gatehouse::input::{Input, InputError};
use gatehouse::time::Timestamp;
use gatehouse::yaml::Spanned;
use gatehouse::{Check, Location};
use serde::Deserialize;

use crate::checks::CheckId;
use crate::diff::Diff;
use crate::license::{Req, parse_list_entry};
use crate::model::{Component, Finding, Severity};
use crate::purl::Purl;
use crate::vulns::VulnDiff;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBudget {
    #[serde(default)]
    max_new_vulnerabilities: Option<Spanned<RawSeverityLimits>>,
    #[serde(default)]
    max_added_components: Option<Spanned<u64>>,
    #[serde(default)]
    deny_licenses: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    allow_licenses: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    license_scope: Option<Spanned<LicenseScope>>,
    #[serde(default)]
    deny_downgrades: Option<Spanned<bool>>,
    #[serde(default)]
    exceptions: Vec<Spanned<RawException>>,
}

#[derive(Debug, Deserialize, Default, Clone, Copy)]
#[serde(deny_unknown_fields)]
struct RawSeverityLimits {
    critical: Option<u64>,
    high: Option<u64>,
    medium: Option<u64>,
    low: Option<u64>,
    negligible: Option<u64>,
    unknown: Option<u64>,
}

/// Which components the license lists judge.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LicenseScope {
    /// Added components and components whose license changed: what this release brings.
    #[default]
    Changed,
    /// Every component of the new SBOM.
    All,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawException {
    id: Option<String>,
    until: Option<String>,
    reason: Option<String>,
    owner: Option<String>,
}

/// What an exception covers.
#[derive(Debug, Clone)]
pub enum Target {
    /// A vulnerability id (CVE-…, GHSA-…, …), matched against ids and aliases.
    Vulnerability(String),
    /// A package; with a version, only that version.
    Package(Purl),
}

#[derive(Debug, Clone)]
pub struct Exception {
    pub id: String,
    pub target: Target,
    pub until: String,
    pub expires: Timestamp,
    pub reason: Option<String>,
    pub owner: Option<String>,
    pub line: u64,
    pub column: u64,
}

impl Exception {
    pub fn expired(&self, now: Timestamp) -> bool {
        now >= self.expires
    }

    pub fn covers_component(&self, c: &Component) -> bool {
        match (&self.target, &c.purl) {
            (Target::Package(p), Some(cp)) => purl_covers(p, cp, c.version.as_deref()),
            _ => false,
        }
    }

    pub fn covers_finding(&self, f: &Finding) -> bool {
        match &self.target {
            Target::Vulnerability(id) => f.ids().any(|x| x == *id),
            Target::Package(p) => f
                .purl
                .as_ref()
                .is_some_and(|fp| purl_covers(p, fp, f.version.as_deref())),
        }
    }
}

/// Does an exception's purl cover a package? Without `arch`/`classifier`/`type` it covers
/// every variant of the package; without a version, every version.
fn purl_covers(exception: &Purl, target: &Purl, version: Option<&str>) -> bool {
    let same_package = if exception.identity() == exception.base() {
        exception.base() == target.base()
    } else {
        exception.identity() == target.identity()
    };
    same_package
        && exception
            .version
            .as_deref()
            .is_none_or(|v| Some(v) == version.or(target.version.as_deref()))
}

/// A budget line and where it is written.
#[derive(Debug, Clone)]
pub struct Line<T> {
    pub value: T,
    pub line: u64,
    pub column: u64,
}

impl<T> Line<T> {
    fn of(s: Spanned<T>) -> Self {
        Line {
            line: s.referenced.line(),
            column: s.referenced.column(),
            value: s.value,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Budget {
    pub path: String,
    pub max_new: Vec<(Severity, Line<u64>)>,
    pub max_added: Option<Line<u64>>,
    pub deny: Option<Line<Vec<Req>>>,
    pub allow: Option<Line<Vec<Req>>>,
    pub license_scope: LicenseScope,
    pub deny_downgrades: Option<Line<bool>>,
    pub exceptions: Vec<Exception>,
}

fn at(path: &str, line: u64, column: u64, message: String) -> InputError {
    InputError::Parse {
        path: path.to_owned(),
        line: line.max(1),
        column: column.max(1),
        message,
    }
}

/// `max_new_vulnerabilities`: one line per severity given, all at the mapping's position.
fn severity_limits(s: Option<Spanned<RawSeverityLimits>>) -> Vec<(Severity, Line<u64>)> {
    let Some(s) = s else { return Vec::new() };
    let l = Line::of(s);
    let v = l.value;
    [
        (Severity::Critical, v.critical),
        (Severity::High, v.high),
        (Severity::Medium, v.medium),
        (Severity::Low, v.low),
        (Severity::Negligible, v.negligible),
        (Severity::Unknown, v.unknown),
    ]
    .into_iter()
    .filter_map(|(sev, limit)| {
        let line = Line {
            value: limit?,
            line: l.line,
            column: l.column,
        };
        Some((sev, line))
    })
    .collect()
}

/// `deny_licenses` / `allow_licenses`: every entry a license id (an unknown one is an error
/// at its position, since a typo would silently allow or deny nothing).
fn license_list(
    path: &str,
    s: Option<Spanned<Vec<Spanned<String>>>>,
    key: &str,
) -> Result<Option<Line<Vec<Req>>>, InputError> {
    let Some(s) = s else { return Ok(None) };
    let outer = Line::of(s);
    let mut reqs = Vec::new();
    for (i, e) in outer.value.into_iter().enumerate() {
        let e = Line::of(e);
        reqs.push(
            parse_list_entry(&e.value)
                .map_err(|m| at(path, e.line, e.column, format!("{key}[{i}]: {m}")))?,
        );
    }
    Ok(Some(Line {
        value: reqs,
        line: outer.line,
        column: outer.column,
    }))
}

/// `exceptions[i]`: an `id` (vulnerability id or purl) and an `until` are required.
fn exception(path: &str, i: usize, e: Spanned<RawException>) -> Result<Exception, InputError> {
    let (line, column) = (e.referenced.line(), e.referenced.column());
    let e = e.value;
    let Some(id) = e.id.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()) else {
        return Err(at(
            path,
            line,
            column,
            format!("exceptions[{i}]: no `id` (a vulnerability id like CVE-2024-1234, or a purl)"),
        ));
    };
    let Some(until) = e
        .until
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
    else {
        return Err(at(
            path,
            line,
            column,
            format!(
                "exceptions[{i}] ({id}): no `until`; exceptions are time-boxed (add until: YYYY-MM-DD)"
            ),
        ));
    };
    let when = Timestamp::parse(&until).map_err(|err| {
        at(
            path,
            line,
            column,
            format!("exceptions[{i}] ({id}): until: {err}"),
        )
    })?;
    // A bare date covers that whole day (UTC); a timestamp ends at that instant.
    let expires = if until.len() == 10 {
        when.plus(std::time::Duration::from_secs(86_400))
    } else {
        when
    };
    let target = if id.starts_with("pkg:") {
        Target::Package(
            Purl::parse(&id)
                .map_err(|err| at(path, line, column, format!("exceptions[{i}]: {err}")))?,
        )
    } else {
        Target::Vulnerability(id.to_ascii_uppercase())
    };
    Ok(Exception {
        id,
        target,
        until,
        expires,
        reason: e.reason,
        owner: e.owner,
        line,
        column,
    })
}

impl Budget {
    /// Reads and validates a budget file.
    pub fn parse(input: &Input) -> Result<Budget, InputError> {
        let path = input.label();
        let text = input.text()?;
        if text.trim().is_empty() {
            return Err(InputError::invalid(
                &path,
                "is empty: a budget needs at least one line",
            ));
        }
        let raw: RawBudget = gatehouse::yaml::from_str(&path, text)?;
        let max_new = severity_limits(raw.max_new_vulnerabilities);
        let deny = license_list(&path, raw.deny_licenses, "deny_licenses")?;
        let allow = license_list(&path, raw.allow_licenses, "allow_licenses")?;
        let exceptions = raw
            .exceptions
            .into_iter()
            .enumerate()
            .map(|(i, e)| exception(&path, i, e))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Budget {
            max_new,
            max_added: raw.max_added_components.map(Line::of),
            deny,
            allow,
            license_scope: raw.license_scope.map(|s| s.value).unwrap_or_default(),
            deny_downgrades: raw.deny_downgrades.map(Line::of),
            exceptions,
            path,
        })
    }

    fn loc(&self, line: u64, column: u64) -> Location {
        Location::at(self.path.clone(), line, column)
    }

    /// The first active exception covering a component, if any.
    pub fn component_exception(&self, c: &Component, now: Timestamp) -> Option<&Exception> {
        self.exceptions
            .iter()
            .find(|e| !e.expired(now) && e.covers_component(c))
    }

    /// The first active exception covering a finding, if any.
    pub fn finding_exception(&self, f: &Finding, now: Timestamp) -> Option<&Exception> {
        self.exceptions
            .iter()
            .find(|e| !e.expired(now) && e.covers_finding(f))
    }

    /// Judges the diff: one check per budget line, plus a warning per expired exception.
    pub fn judge(
        &self,
        d: &Diff<'_>,
        vulns: Option<&VulnDiff<'_>>,
        new_components: &[Component],
        now: Timestamp,
    ) -> Vec<Check> {
        let mut checks = self.judge_new_vulnerabilities(vulns, now);
        checks.extend(self.judge_added(d, now));
        let scope = self.license_scope_of(d, new_components);
        checks.extend(self.judge_denied_licenses(&scope, now));
        checks.extend(self.judge_allowed_licenses(&scope, now));
        checks.extend(self.judge_downgrades(d, now));
        checks.extend(self.expired_exceptions(now));
        checks
    }

    /// `max_new_vulnerabilities`: per severity, the new findings neither suppressed nor
    /// excepted; a skip per line when there is no vulnerability data.
    fn judge_new_vulnerabilities(
        &self,
        vulns: Option<&VulnDiff<'_>>,
        now: Timestamp,
    ) -> Vec<Check> {
        let mut checks = Vec::new();
        for (sev, limit) in &self.max_new {
            let id = CheckId::new_vulnerabilities(*sev);
            let loc = self.loc(limit.line, limit.column);
            let Some(v) = vulns else {
                checks.push(
                    Check::skip(id, "no vulnerability data: give --vulns-old/--vulns-new, or SBOMs with a vulnerabilities section")
                        .with_location(loc),
                );
                continue;
            };
            let counted: Vec<&Finding> = v
                .new
                .iter()
                .copied()
                .filter(|f| {
                    f.severity == *sev
                        && !f.suppressed()
                        && self.finding_exception(f, now).is_none()
                })
                .collect();
            let observed = counted.len() as f64;
            let mut c = Check::at_most(id, observed, limit.value as f64).with_location(loc);
            c = c.with_message(if counted.is_empty() {
                format!("no new {} vulnerabilities", sev.as_str())
            } else {
                list_message(counted.iter().map(|f| describe_finding(f)), counted.len())
            });
            checks.push(c);
        }
        checks
    }

    /// `max_added_components`: added components not excepted.
    fn judge_added(&self, d: &Diff<'_>, now: Timestamp) -> Option<Check> {
        let limit = self.max_added.as_ref()?;
        let counted: Vec<&&Component> = d
            .added
            .iter()
            .filter(|c| self.component_exception(c, now).is_none())
            .collect();
        let message = if counted.is_empty() {
            "no components added".to_owned()
        } else {
            list_message(counted.iter().map(|c| describe(c)), counted.len())
        };
        Some(
            Check::at_most(
                CheckId::AddedComponents,
                counted.len() as f64,
                limit.value as f64,
            )
            .with_message(message)
            .with_location(self.loc(limit.line, limit.column)),
        )
    }

    /// The components the license lists judge, by `license_scope`.
    fn license_scope_of<'a>(&self, d: &Diff<'a>, new_components: &'a [Component]) -> Scope<'a> {
        match self.license_scope {
            LicenseScope::All => Scope {
                components: new_components.iter().collect(),
                word: "components",
            },
            LicenseScope::Changed => {
                let mut v: Vec<&Component> = d.added.clone();
                v.extend(d.license_changed.iter().map(|p| p.new));
                Scope {
                    components: v,
                    word: "added or license-changed components",
                }
            }
        }
    }

    /// `deny_licenses`: components in scope whose license cannot be satisfied without a
    /// denied license (no license information is not denied).
    fn judge_denied_licenses(&self, scope: &Scope<'_>, now: Timestamp) -> Option<Check> {
        let deny = self.deny.as_ref()?;
        let none = format!(
            "no denied license among {} {}",
            scope.components.len(),
            scope.word
        );
        Some(
            self.license_check(CheckId::DeniedLicenses, deny, scope, now, none, |c| {
                c.license.as_ref().is_some_and(|l| {
                    !l.satisfies(|r| !deny.value.iter().any(|d| matches_entry(d, r)))
                })
            }),
        )
    }

    /// `allow_licenses`: components in scope whose license cannot be satisfied with allowed
    /// licenses only (no license information is not allowed).
    fn judge_allowed_licenses(&self, scope: &Scope<'_>, now: Timestamp) -> Option<Check> {
        let allow = self.allow.as_ref()?;
        let none = format!(
            "every one of {} {} has an allowed license",
            scope.components.len(),
            scope.word
        );
        Some(
            self.license_check(
                CheckId::AllowedLicenses,
                allow,
                scope,
                now,
                none,
                |c| match &c.license {
                    Some(l) => !l.satisfies(|r| allow.value.iter().any(|a| matches_entry(a, r))),
                    None => true,
                },
            ),
        )
    }

    /// One license list's check: the components in scope, not excepted, that `breaks` the
    /// list, at most none; `none` is the message when there is none.
    fn license_check(
        &self,
        id: CheckId,
        list: &Line<Vec<Req>>,
        scope: &Scope<'_>,
        now: Timestamp,
        none: String,
        breaks: impl Fn(&Component) -> bool,
    ) -> Check {
        let broken: Vec<&Component> = scope
            .components
            .iter()
            .copied()
            .filter(|c| self.component_exception(c, now).is_none())
            .filter(|c| breaks(c))
            .collect();
        let message = if broken.is_empty() {
            none
        } else {
            list_message(broken.iter().map(|c| describe_license(c)), broken.len())
        };
        Check::at_most(id, broken.len() as f64, 0.0)
            .with_message(message)
            .with_location(self.loc(list.line, list.column))
    }

    /// `deny_downgrades: true`: downgraded components not excepted.
    fn judge_downgrades(&self, d: &Diff<'_>, now: Timestamp) -> Option<Check> {
        let dd = self.deny_downgrades.as_ref().filter(|dd| dd.value)?;
        let counted: Vec<_> = d
            .downgraded
            .iter()
            .filter(|p| self.component_exception(p.new, now).is_none())
            .collect();
        let message = if counted.is_empty() {
            "no component downgraded".to_owned()
        } else {
            list_message(
                counted.iter().map(|p| {
                    format!(
                        "{} {} → {}",
                        p.new.display_name(),
                        p.old.version.as_deref().unwrap_or("?"),
                        p.new.version.as_deref().unwrap_or("?")
                    )
                }),
                counted.len(),
            )
        };
        Some(
            Check::at_most(CheckId::Downgrades, counted.len() as f64, 0.0)
                .with_message(message)
                .with_location(self.loc(dd.line, dd.column)),
        )
    }

    /// A warning at each exception whose `until` has passed.
    fn expired_exceptions(&self, now: Timestamp) -> Vec<Check> {
        self.exceptions
            .iter()
            .filter(|e| e.expired(now))
            .map(|e| {
                let owner = e
                    .owner
                    .as_deref()
                    .map(|o| format!(", owner {o}"))
                    .unwrap_or_default();
                Check::warn(
                    CheckId::ExceptionExpired,
                    format!("exception for {} expired on {}{owner}: it no longer counts; renew it or fix the finding", e.id, e.until),
                )
                .with_location(self.loc(e.line, e.column))
            })
            .collect()
    }
}

/// The components the license lists judge, and what the messages call them.
struct Scope<'a> {
    components: Vec<&'a Component>,
    word: &'static str,
}

/// Does a budget-list entry name this license term? The entry's license alone matches the
/// term with or without an exception; an entry with `WITH` matches only that combination.
fn matches_entry(entry: &Req, term: &Req) -> bool {
    if entry.full != entry.license {
        entry.full == term.full
    } else {
        entry.license == term.license
    }
}

fn describe(c: &Component) -> String {
    match (&c.purl, &c.version) {
        (Some(p), v) => p.short(v.as_deref()),
        (None, Some(v)) => format!("{}@{v}", c.display_name()),
        (None, None) => c.display_name(),
    }
}

fn describe_license(c: &Component) -> String {
    let lic = c
        .license
        .as_ref()
        .map_or("no license information", |l| l.text.as_str());
    format!("{} ({lic})", describe(c))
}

fn describe_finding(f: &Finding) -> String {
    let pkg = match (&f.purl, &f.version) {
        (Some(p), v) => p.short(v.as_deref()),
        (None, Some(v)) => format!("{}@{v}", f.package),
        (None, None) => f.package.clone(),
    };
    format!("{} ({}) in {pkg}", f.id, f.severity.as_str())
}

/// "a, b, c and 4 more" — messages stay one readable line.
fn list_message(items: impl Iterator<Item = String>, total: usize) -> String {
    const SHOWN: usize = 5;
    let shown: Vec<String> = items.take(SHOWN).collect();
    let mut m = shown.join(", ");
    if total > SHOWN {
        m.push_str(&format!(" and {} more", total - SHOWN));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse::Source;

    fn parse(text: &str) -> Result<Budget, String> {
        Budget::parse(&Input {
            source: Source::new("budget.yaml"),
            bytes: text.as_bytes().to_vec(),
        })
        .map_err(|e| e.to_string())
    }

    #[test]
    fn reads_a_full_budget() {
        let b = parse(
            "max_new_vulnerabilities: {critical: 0, high: 0, medium: 5}\n\
             max_added_components: 25\n\
             deny_licenses: [GPL-3.0-only, AGPL-3.0]\n\
             allow_licenses:\n  - MIT\n  - Apache-2.0\n\
             deny_downgrades: true\n\
             exceptions:\n  - id: CVE-2024-1234\n    until: 2026-12-31\n    reason: no fix upstream\n    owner: platform\n  - id: pkg:npm/lodash\n    until: 2026-01-01T12:00:00Z\n",
        )
        .expect("valid");
        assert_eq!(b.max_new.len(), 3);
        assert_eq!(b.max_added.as_ref().map(|l| l.line), Some(2));
        assert_eq!(
            b.deny.as_ref().map(|d| d.value[1].license.clone()),
            Some("AGPL-3.0-only".into())
        );
        assert_eq!(b.exceptions.len(), 2);
        assert_eq!(b.exceptions[0].line, 9);
        assert!(matches!(b.exceptions[1].target, Target::Package(_)));
        let day_end = Timestamp::parse("2027-01-01").expect("date");
        assert!(!b.exceptions[0].expired(Timestamp::parse("2026-12-31T23:59:59Z").expect("t")));
        assert!(b.exceptions[0].expired(day_end));
    }

    #[test]
    fn an_exception_without_until_is_refused_with_its_line() {
        let e = parse("max_new_vulnerabilities: {critical: 0}\nexceptions:\n  - id: CVE-2024-1234\n    reason: later\n")
            .expect_err("no until");
        assert!(e.starts_with("budget.yaml:3:"), "{e}");
        assert!(e.contains("no `until`"), "{e}");
    }

    #[test]
    fn typos_are_refused_not_ignored() {
        for (text, want) in [
            ("max_new_vulnerability: {critical: 0}\n", "budget.yaml:1:"),
            ("max_new_vulnerabilities: {crtical: 0}\n", "budget.yaml:1:"),
            ("deny_licenses: [GPL3x]\n", "budget.yaml:1:"),
            (
                "deny_licenses:\n  - MIT\n  - MIT OR ISC\n",
                "budget.yaml:3:",
            ),
            (
                "exceptions:\n  - id: X\n    until: tomorrow\n",
                "budget.yaml:2:",
            ),
            ("exceptions:\n  - until: 2026-01-01\n", "no `id`"),
            ("license_scope: some\n", "budget.yaml:1:"),
            ("", "is empty"),
        ] {
            let e = parse(text).expect_err(text);
            assert!(e.contains(want), "{text:?} gave {e}");
            assert!(!e.contains('\n'));
        }
    }
}
