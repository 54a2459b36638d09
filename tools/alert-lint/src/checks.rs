//! The one table of check ids alert-lint can emit, with each check's documentation (what it
//! judges / why it matters / how to fix). Nothing else spells a check id as a string.

use gatehouse::RuleDoc;

/// Every check alert-lint can emit. The doc comment of each variant is in three parts and
/// feeds `--format sarif` rule help, `alert-lint checks` and docs/alert-lint.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CheckId {
    /// What: the file is readable, UTF-8, non-empty YAML.
    /// Why: a rule file Prometheus cannot load stops every rule in it.
    /// Fix: correct the YAML at the reported line (indent with spaces, close quotes).
    SyntaxYaml,
    /// What: the document is a rule file (`groups:`) or a PrometheusRule (`spec.groups`), each
    /// rule has exactly one of `alert`/`record`, an `expr`, and fields of the right type.
    /// Why: Prometheus refuses the whole file when one rule is malformed.
    /// Fix: add the missing field or remove the conflicting one named in the message.
    SyntaxStructure,
    /// What: keys that Prometheus's rule format does not know (`annotation:` for `annotations:`).
    /// Why: promtool rejects them, and a misspelt key silently drops what it holds.
    /// Fix: correct the spelling or remove the key.
    SyntaxUnknownKey,
    /// What: group names are unique within a file.
    /// Why: Prometheus refuses a file with a repeated group name.
    /// Fix: rename or merge one of the groups.
    SyntaxDuplicateGroup,
    /// What: two rules in one group with the same name and identical labels.
    /// Why: they write the same series (or alert) and race each other.
    /// Fix: delete the copy or tell them apart with a label.
    SyntaxDuplicateRule,
    /// What: label and annotation names are valid (`[a-zA-Z_][a-zA-Z0-9_]*`, not `__name__`).
    /// Why: Prometheus 2.x refuses the file; 3.x accepts UTF-8 names but templates and
    /// Alertmanager routes then need quoting.
    /// Fix: use underscores instead of dashes or dots, or set `name_validation: utf8`.
    SyntaxLabelName,
    /// What: a recording rule's `record` is a valid metric name.
    /// Why: Prometheus refuses the file.
    /// Fix: use `[a-zA-Z_:][a-zA-Z0-9_:]*`; put labels under `labels:`, not in the name.
    SyntaxRecordName,
    /// What: `for`, `keep_firing_for`, `interval` and `query_offset` are Prometheus durations.
    /// Why: Prometheus refuses the file.
    /// Fix: write durations like `30s`, `5m`, `1h30m`.
    SyntaxDuration,
    /// What: the expression parses as PromQL (Prometheus 3.x grammar), located at its column.
    /// Why: Prometheus refuses the file.
    /// Fix: correct the expression at the reported column.
    SyntaxPromql,
    /// What: alerts carry the required labels (default `severity`).
    /// Why: routing and paging decisions in Alertmanager rest on them.
    /// Fix: add the label under `labels:`.
    PolicyRequiredLabel,
    /// What: label values are among the allowed ones (default `severity` ∈ critical, page,
    /// high, warning, ticket, info, none).
    /// Why: a typo such as `critcal` routes the alert nowhere.
    /// Fix: use one of the allowed values, or extend `labels.<name>.values` in the config.
    PolicyLabelValue,
    /// What: alerts have an owner label (`team` or `owner` by default); paging alerts fail
    /// without one, others warn.
    /// Why: an alert nobody owns is an alert nobody fixes.
    /// Fix: add `team: <name>` under `labels:`.
    PolicyOwner,
    /// What: alerts carry the required annotations (default `summary` and `description`).
    /// Why: the person paged at night reads these first.
    /// Fix: add the annotation.
    PolicyRequiredAnnotation,
    /// What: alerts have `runbook_url`; paging severities fail without one, others warn.
    /// Why: a page without a runbook costs the on-call engineer minutes they do not have.
    /// Fix: add `annotations.runbook_url` pointing at the runbook.
    PolicyRunbook,
    /// What: `runbook_url` is an http(s) URL or a repository-relative path that exists.
    /// Why: a dead runbook link is found out during the incident.
    /// Fix: correct the URL or the path (relative paths resolve against `--root`).
    PolicyRunbookUrl,
    /// What: `rate`, `irate`, `increase` and `resets` are applied to counters (by name:
    /// `_total`, `_count`, `_sum`, `_bucket`; with `--prometheus`, by metadata).
    /// Why: on a gauge every decrease looks like a counter reset, so results are nonsense.
    /// Fix: use `deriv`/`delta` for gauges, or select the counter.
    PromqlRateOnGauge,
    /// What: gauge functions (`delta`, `idelta`, `deriv`, `predict_linear`, …) applied to
    /// counters.
    /// Why: they ignore counter resets, so restarts produce large negative spikes.
    /// Fix: use `rate`/`increase` for counters.
    PromqlGaugeFunctionOnCounter,
    /// What: range selectors of `rate`-like functions cover at least two scrape intervals.
    /// Why: with fewer than two samples in the window the function returns nothing.
    /// Fix: widen the range to ≥ 2× (better 4×) the scrape interval.
    PromqlRangeTooShort,
    /// What: comparisons that can never be true (`absent(x) < 1`, `count(x) < 0`) or are
    /// always true (`absent(x) > 0`).
    /// Why: an alert that can never fire protects nothing; an always-true filter hides intent.
    /// Fix: compare against a value the left side can take, or drop the redundant filter.
    PromqlComparison,
    /// What: `absent()` wrapped around an aggregation or a computed expression.
    /// Why: `absent(sum(x))` carries no labels, so the alert cannot say what is missing.
    /// Fix: use `absent(x{job="…"})` on the selector itself.
    PromqlAbsentAggregation,
    /// What: `for:` is not shorter than the group's evaluation interval.
    /// Why: a `for` below the interval is rounded up to it and misleads the reader.
    /// Fix: use 0 (fire at once) or at least one evaluation interval.
    RuleFor,
    /// What: `keep_firing_for` is at least one evaluation interval and at most 24h.
    /// Why: shorter has no effect; longer keeps a resolved alert firing for a day.
    /// Fix: pick a value between the evaluation interval and a few hours.
    RuleKeepFiringFor,
    /// What: annotation and label templates are valid Go templates (delimiters, `end`s,
    /// defined variables, known functions).
    /// Why: Prometheus refuses the file, or the notification shows a template error.
    /// Fix: correct the template at the reported column.
    TemplateSyntax,
    /// What: `$labels.x` refers to a label the query result can carry.
    /// Why: a label dropped by `sum by (…)`, `without (…)` or `on (…)` renders empty.
    /// Fix: keep the label in the aggregation (`by (…, x)`) or stop using it.
    TemplateDroppedLabel,
    /// What: alert labels do not use `$value`.
    /// Why: every new value makes a new alert identity: the alert resolves and re-fires.
    /// Fix: move `$value` to an annotation.
    TemplateValueInLabel,
    /// What: recording rule names follow `level:metric:operations`.
    /// Why: the convention tells readers what was aggregated and keeps names unique.
    /// Fix: rename, e.g. `job:http_requests:rate5m`.
    RecordingName,
    /// What: a recording rule does not write a metric that targets already expose (with
    /// `--prometheus`: the name has scrape metadata).
    /// Why: two writers of one series produce gaps and wrong values.
    /// Fix: rename the recording rule with a `level:` prefix.
    RecordingCollision,
    /// What: every selector matches series now or within `--lookback` (with `--prometheus`).
    /// Why: an alert on a metric that does not exist can never fire.
    /// Fix: correct the metric name or labels, or remove the rule.
    LiveSeriesPresent,
    /// What: the expression evaluates on the server without error (with `--prometheus`).
    /// Why: the server may reject what the parser accepts (many-to-many matching, limits).
    /// Fix: read the server's message and correct the expression.
    LiveQuery,
    /// What: the series the expression touches stay within `live.max_series` (with
    /// `--prometheus`).
    /// Why: expensive rules slow every evaluation of their group.
    /// Fix: narrow the selectors or pre-aggregate with a recording rule.
    LiveQueryCost,
    /// What: `alert-lint noise`: alerts whose firing episodes, flaps or short episodes over
    /// the window exceed the budget.
    /// Why: noisy alerts train people to ignore pages.
    /// Fix: raise `for:`, fix the threshold, or add hysteresis with `keep_firing_for`.
    NoiseBudget,
    /// What: `alert-lint catalog`: an SLO compiled into recording rules and burn-rate alerts.
    /// Why: hand-written burn-rate rules drift from the SLO they claim to protect.
    /// Fix: correct the catalog entry named in the message.
    CatalogSlo,
}

impl CheckId {
    pub const ALL: &[CheckId] = &[
        CheckId::SyntaxYaml,
        CheckId::SyntaxStructure,
        CheckId::SyntaxUnknownKey,
        CheckId::SyntaxDuplicateGroup,
        CheckId::SyntaxDuplicateRule,
        CheckId::SyntaxLabelName,
        CheckId::SyntaxRecordName,
        CheckId::SyntaxDuration,
        CheckId::SyntaxPromql,
        CheckId::PolicyRequiredLabel,
        CheckId::PolicyLabelValue,
        CheckId::PolicyOwner,
        CheckId::PolicyRequiredAnnotation,
        CheckId::PolicyRunbook,
        CheckId::PolicyRunbookUrl,
        CheckId::PromqlRateOnGauge,
        CheckId::PromqlGaugeFunctionOnCounter,
        CheckId::PromqlRangeTooShort,
        CheckId::PromqlComparison,
        CheckId::PromqlAbsentAggregation,
        CheckId::RuleFor,
        CheckId::RuleKeepFiringFor,
        CheckId::TemplateSyntax,
        CheckId::TemplateDroppedLabel,
        CheckId::TemplateValueInLabel,
        CheckId::RecordingName,
        CheckId::RecordingCollision,
        CheckId::LiveSeriesPresent,
        CheckId::LiveQuery,
        CheckId::LiveQueryCost,
        CheckId::NoiseBudget,
        CheckId::CatalogSlo,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckId::SyntaxYaml => "syntax.yaml",
            CheckId::SyntaxStructure => "syntax.structure",
            CheckId::SyntaxUnknownKey => "syntax.unknown_key",
            CheckId::SyntaxDuplicateGroup => "syntax.duplicate_group",
            CheckId::SyntaxDuplicateRule => "syntax.duplicate_rule",
            CheckId::SyntaxLabelName => "syntax.label_name",
            CheckId::SyntaxRecordName => "syntax.record_name",
            CheckId::SyntaxDuration => "syntax.duration",
            CheckId::SyntaxPromql => "syntax.promql",
            CheckId::PolicyRequiredLabel => "policy.required_label",
            CheckId::PolicyLabelValue => "policy.label_value",
            CheckId::PolicyOwner => "policy.owner",
            CheckId::PolicyRequiredAnnotation => "policy.required_annotation",
            CheckId::PolicyRunbook => "policy.runbook",
            CheckId::PolicyRunbookUrl => "policy.runbook_url",
            CheckId::PromqlRateOnGauge => "promql.rate_on_gauge",
            CheckId::PromqlGaugeFunctionOnCounter => "promql.gauge_function_on_counter",
            CheckId::PromqlRangeTooShort => "promql.range_too_short",
            CheckId::PromqlComparison => "promql.comparison",
            CheckId::PromqlAbsentAggregation => "promql.absent_aggregation",
            CheckId::RuleFor => "rule.for",
            CheckId::RuleKeepFiringFor => "rule.keep_firing_for",
            CheckId::TemplateSyntax => "template.syntax",
            CheckId::TemplateDroppedLabel => "template.dropped_label",
            CheckId::TemplateValueInLabel => "template.value_in_label",
            CheckId::RecordingName => "recording.name",
            CheckId::RecordingCollision => "recording.collision",
            CheckId::LiveSeriesPresent => "live.series_present",
            CheckId::LiveQuery => "live.query",
            CheckId::LiveQueryCost => "live.query_cost",
            CheckId::NoiseBudget => "noise.budget",
            CheckId::CatalogSlo => "catalog.slo",
        }
    }

    /// The ids `check` runs (noise and catalog have their own commands).
    pub fn for_check() -> impl Iterator<Item = CheckId> {
        CheckId::ALL
            .iter()
            .copied()
            .filter(|c| !matches!(c, CheckId::NoiseBudget | CheckId::CatalogSlo))
    }

    /// Live checks need `--prometheus`.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            CheckId::LiveSeriesPresent
                | CheckId::LiveQuery
                | CheckId::LiveQueryCost
                | CheckId::RecordingCollision
        )
    }

    /// Parses a dotted id (`promql.rate_on_gauge`) or pint-style slash-dash spelling
    /// (`promql/rate-on-gauge`).
    pub fn parse(s: &str) -> Option<CheckId> {
        let norm = normalize(s);
        CheckId::ALL.iter().copied().find(|c| c.as_str() == norm)
    }

    /// The ids a selector names: an exact id, a family prefix (`promql`, `template`), or `all`.
    pub fn matching(selector: &str) -> Vec<CheckId> {
        let norm = normalize(selector);
        if norm == "all" || norm == "*" {
            return CheckId::ALL.to_vec();
        }
        CheckId::ALL
            .iter()
            .copied()
            .filter(|c| {
                let id = c.as_str();
                id == norm
                    || id
                        .strip_prefix(norm.as_str())
                        .is_some_and(|r| r.starts_with('.'))
            })
            .collect()
    }

    /// The first sentence of the "What" part.
    pub fn summary(self) -> &'static str {
        doc_parts(self).0
    }

    /// The "Fix" part.
    pub fn fix(self) -> &'static str {
        doc_parts(self).2
    }
}

impl std::fmt::Display for CheckId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn normalize(s: &str) -> String {
    s.trim()
        .to_ascii_lowercase()
        .replace('/', ".")
        .replace('-', "_")
}

/// (what, why, fix) of each check, the same text as the variant docs.
fn doc_parts(id: CheckId) -> (&'static str, &'static str, &'static str) {
    match id {
        CheckId::SyntaxYaml => (
            "The file is readable, UTF-8, non-empty YAML.",
            "A rule file Prometheus cannot load stops every rule in it.",
            "Correct the YAML at the reported line (indent with spaces, close quotes).",
        ),
        CheckId::SyntaxStructure => (
            "The document is a rule file (groups:) or a PrometheusRule (spec.groups); each rule has exactly one of alert/record, an expr, and fields of the right type.",
            "Prometheus refuses the whole file when one rule is malformed.",
            "Add the missing field or remove the conflicting one named in the message.",
        ),
        CheckId::SyntaxUnknownKey => (
            "Keys that Prometheus's rule format does not know.",
            "promtool rejects them, and a misspelt key silently drops what it holds.",
            "Correct the spelling or remove the key.",
        ),
        CheckId::SyntaxDuplicateGroup => (
            "Group names are unique within a file.",
            "Prometheus refuses a file with a repeated group name.",
            "Rename or merge one of the groups.",
        ),
        CheckId::SyntaxDuplicateRule => (
            "Two rules in one group with the same name and identical labels.",
            "They write the same series (or alert) and race each other.",
            "Delete the copy or tell them apart with a label.",
        ),
        CheckId::SyntaxLabelName => (
            "Label and annotation names are valid ([a-zA-Z_][a-zA-Z0-9_]*, not __name__).",
            "Prometheus 2.x refuses the file; 3.x accepts UTF-8 names but templates and Alertmanager routes then need quoting.",
            "Use underscores instead of dashes or dots, or set name_validation: utf8.",
        ),
        CheckId::SyntaxRecordName => (
            "A recording rule's record is a valid metric name.",
            "Prometheus refuses the file.",
            "Use [a-zA-Z_:][a-zA-Z0-9_:]*; put labels under labels:, not in the name.",
        ),
        CheckId::SyntaxDuration => (
            "for, keep_firing_for, interval and query_offset are Prometheus durations.",
            "Prometheus refuses the file.",
            "Write durations like 30s, 5m, 1h30m.",
        ),
        CheckId::SyntaxPromql => (
            "The expression parses as PromQL (Prometheus 3.x grammar).",
            "Prometheus refuses the file.",
            "Correct the expression at the reported column.",
        ),
        CheckId::PolicyRequiredLabel => (
            "Alerts carry the required labels (default severity).",
            "Routing and paging decisions in Alertmanager rest on them.",
            "Add the label under labels:.",
        ),
        CheckId::PolicyLabelValue => (
            "Label values are among the allowed ones (default severity: critical, page, high, warning, ticket, info, none).",
            "A typo such as critcal routes the alert nowhere.",
            "Use one of the allowed values, or extend labels.<name>.values in the config.",
        ),
        CheckId::PolicyOwner => (
            "Alerts have an owner label (team or owner); paging alerts fail without one, others warn.",
            "An alert nobody owns is an alert nobody fixes.",
            "Add team: <name> under labels:.",
        ),
        CheckId::PolicyRequiredAnnotation => (
            "Alerts carry the required annotations (default summary and description).",
            "The person paged at night reads these first.",
            "Add the annotation.",
        ),
        CheckId::PolicyRunbook => (
            "Alerts have runbook_url; paging severities fail without one, others warn.",
            "A page without a runbook costs the on-call engineer minutes they do not have.",
            "Add annotations.runbook_url pointing at the runbook.",
        ),
        CheckId::PolicyRunbookUrl => (
            "runbook_url is an http(s) URL or a repository-relative path that exists.",
            "A dead runbook link is found out during the incident.",
            "Correct the URL or the path (relative paths resolve against --root).",
        ),
        CheckId::PromqlRateOnGauge => (
            "rate, irate, increase and resets are applied to counters (by name; with --prometheus, by metadata).",
            "On a gauge every decrease looks like a counter reset, so results are nonsense.",
            "Use deriv/delta for gauges, or select the counter.",
        ),
        CheckId::PromqlGaugeFunctionOnCounter => (
            "Gauge functions (delta, idelta, deriv, predict_linear, ...) applied to counters.",
            "They ignore counter resets, so restarts produce large negative spikes.",
            "Use rate/increase for counters.",
        ),
        CheckId::PromqlRangeTooShort => (
            "Range selectors of rate-like functions cover at least two scrape intervals.",
            "With fewer than two samples in the window the function returns nothing.",
            "Widen the range to at least 2x (better 4x) the scrape interval.",
        ),
        CheckId::PromqlComparison => (
            "Comparisons that can never be true (absent(x) < 1, count(x) < 0) or are always true (absent(x) > 0).",
            "An alert that can never fire protects nothing; an always-true filter hides intent.",
            "Compare against a value the left side can take, or drop the redundant filter.",
        ),
        CheckId::PromqlAbsentAggregation => (
            "absent() wrapped around an aggregation or a computed expression.",
            "absent(sum(x)) carries no labels, so the alert cannot say what is missing.",
            "Use absent(x{job=\"...\"}) on the selector itself.",
        ),
        CheckId::RuleFor => (
            "for: is not shorter than the group's evaluation interval.",
            "A for below the interval is rounded up to it and misleads the reader.",
            "Use 0 (fire at once) or at least one evaluation interval.",
        ),
        CheckId::RuleKeepFiringFor => (
            "keep_firing_for is at least one evaluation interval and at most 24h.",
            "Shorter has no effect; longer keeps a resolved alert firing for a day.",
            "Pick a value between the evaluation interval and a few hours.",
        ),
        CheckId::TemplateSyntax => (
            "Annotation and label templates are valid Go templates (delimiters, ends, defined variables, known functions).",
            "Prometheus refuses the file, or the notification shows a template error.",
            "Correct the template at the reported column.",
        ),
        CheckId::TemplateDroppedLabel => (
            "$labels.x refers to a label the query result can carry.",
            "A label dropped by sum by (...), without (...) or on (...) renders empty.",
            "Keep the label in the aggregation (by (..., x)) or stop using it.",
        ),
        CheckId::TemplateValueInLabel => (
            "Alert labels do not use $value.",
            "Every new value makes a new alert identity: the alert resolves and re-fires.",
            "Move $value to an annotation.",
        ),
        CheckId::RecordingName => (
            "Recording rule names follow level:metric:operations.",
            "The convention tells readers what was aggregated and keeps names unique.",
            "Rename, e.g. job:http_requests:rate5m.",
        ),
        CheckId::RecordingCollision => (
            "A recording rule does not write a metric that targets already expose (with --prometheus).",
            "Two writers of one series produce gaps and wrong values.",
            "Rename the recording rule with a level: prefix.",
        ),
        CheckId::LiveSeriesPresent => (
            "Every selector matches series now or within --lookback (with --prometheus).",
            "An alert on a metric that does not exist can never fire.",
            "Correct the metric name or labels, or remove the rule.",
        ),
        CheckId::LiveQuery => (
            "The expression evaluates on the server without error (with --prometheus).",
            "The server may reject what the parser accepts (many-to-many matching, limits).",
            "Read the server's message and correct the expression.",
        ),
        CheckId::LiveQueryCost => (
            "The series the expression touches stay within live.max_series (with --prometheus).",
            "Expensive rules slow every evaluation of their group.",
            "Narrow the selectors or pre-aggregate with a recording rule.",
        ),
        CheckId::NoiseBudget => (
            "Alerts whose firing episodes, flaps or short episodes over the window exceed the budget.",
            "Noisy alerts train people to ignore pages.",
            "Raise for:, fix the threshold, or add hysteresis with keep_firing_for.",
        ),
        CheckId::CatalogSlo => (
            "An SLO compiled into recording rules and multi-window burn-rate alerts.",
            "Hand-written burn-rate rules drift from the SLO they claim to protect.",
            "Correct the catalog entry named in the message.",
        ),
    }
}

/// SARIF rule help for every check id.
pub fn rule_docs() -> Vec<RuleDoc> {
    CheckId::ALL
        .iter()
        .map(|&id| {
            let (what, why, fix) = doc_parts(id);
            RuleDoc::new(id.as_str(), what, why, fix)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_match_the_schema_pattern() {
        testkit::schema::assert_unique_valid_ids(CheckId::ALL.iter().map(|c| c.as_str()));
        assert_eq!(rule_docs().len(), CheckId::ALL.len());
    }

    #[test]
    fn ids_parse_in_dotted_and_pint_spelling() {
        assert_eq!(
            CheckId::parse("promql/rate-on-gauge"),
            Some(CheckId::PromqlRateOnGauge)
        );
        assert_eq!(
            CheckId::parse("promql.rate_on_gauge"),
            Some(CheckId::PromqlRateOnGauge)
        );
        assert_eq!(CheckId::parse("promql.nope"), None);
        assert_eq!(CheckId::matching("template").len(), 3);
        assert_eq!(CheckId::matching("all").len(), CheckId::ALL.len());
        assert!(CheckId::matching("policy.run").is_empty());
    }
}
