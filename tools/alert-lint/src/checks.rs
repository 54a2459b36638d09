//! The one table of check ids alert-lint can emit. Each id's doc comment (what it judges;
//! `Why:` it matters; `Fix:` for a failure) is the `checks` listing, the SARIF rule help and
//! the table in docs/alert-lint.md. Nothing else spells a check id as a string; how config
//! keys and disable comments name checks (pint's spelling, families, `all`) is `selector`.

gatehouse::checks! {
    /// The file is readable, UTF-8, non-empty YAML.
    ///
    /// Why: A rule file Prometheus cannot load stops every rule in it.
    ///
    /// Fix: Correct the YAML at the reported line (indent with spaces, close quotes).
    SyntaxYaml = "syntax.yaml";
    /// The document is a rule file (groups:) or a PrometheusRule (spec.groups); each rule has
    /// exactly one of alert/record, an expr, and fields of the right type.
    ///
    /// Why: Prometheus refuses the whole file when one rule is malformed.
    ///
    /// Fix: Add the missing field or remove the conflicting one named in the message.
    SyntaxStructure = "syntax.structure";
    /// Keys that Prometheus's rule format does not know.
    ///
    /// Why: promtool rejects them, and a misspelt key silently drops what it holds.
    ///
    /// Fix: Correct the spelling or remove the key.
    SyntaxUnknownKey = "syntax.unknown_key";
    /// Group names are unique within a file.
    ///
    /// Why: Prometheus refuses a file with a repeated group name.
    ///
    /// Fix: Rename or merge one of the groups.
    SyntaxDuplicateGroup = "syntax.duplicate_group";
    /// Two rules in one group with the same name and identical labels.
    ///
    /// Why: They write the same series (or alert) and race each other.
    ///
    /// Fix: Delete the copy or tell them apart with a label.
    SyntaxDuplicateRule = "syntax.duplicate_rule";
    /// Label and annotation names are valid ([a-zA-Z_][a-zA-Z0-9_]*, not __name__).
    ///
    /// Why: Prometheus 2.x refuses the file; 3.x accepts UTF-8 names but templates and
    /// Alertmanager routes then need quoting.
    ///
    /// Fix: Use underscores instead of dashes or dots, or set name_validation: utf8.
    SyntaxLabelName = "syntax.label_name";
    /// A recording rule's record is a valid metric name.
    ///
    /// Why: Prometheus refuses the file.
    ///
    /// Fix: Use [a-zA-Z_:][a-zA-Z0-9_:]*; put labels under labels:, not in the name.
    SyntaxRecordName = "syntax.record_name";
    /// for, keep_firing_for, interval and query_offset are Prometheus durations.
    ///
    /// Why: Prometheus refuses the file.
    ///
    /// Fix: Write durations like 30s, 5m, 1h30m.
    SyntaxDuration = "syntax.duration";
    /// The expression parses as PromQL (Prometheus 3.x grammar).
    ///
    /// Why: Prometheus refuses the file.
    ///
    /// Fix: Correct the expression at the reported column.
    SyntaxPromql = "syntax.promql";
    /// Alerts carry the required labels (default severity).
    ///
    /// Why: Routing and paging decisions in Alertmanager rest on them.
    ///
    /// Fix: Add the label under labels:.
    PolicyRequiredLabel = "policy.required_label";
    /// Label values are among the allowed ones (default severity: critical, page, high,
    /// warning, ticket, info, none).
    ///
    /// Why: A typo such as critcal routes the alert nowhere.
    ///
    /// Fix: Use one of the allowed values, or extend labels.<name>.values in the config.
    PolicyLabelValue = "policy.label_value";
    /// Alerts have an owner label (team or owner by default); paging alerts fail without one,
    /// others warn.
    ///
    /// Why: An alert nobody owns is an alert nobody fixes.
    ///
    /// Fix: Add team: <name> under labels:.
    PolicyOwner = "policy.owner";
    /// Alerts carry the required annotations (default summary and description).
    ///
    /// Why: The person paged at night reads these first.
    ///
    /// Fix: Add the annotation.
    PolicyRequiredAnnotation = "policy.required_annotation";
    /// Alerts have runbook_url; paging severities fail without one, others warn.
    ///
    /// Why: A page without a runbook costs the on-call engineer minutes they do not have.
    ///
    /// Fix: Add annotations.runbook_url pointing at the runbook.
    PolicyRunbook = "policy.runbook";
    /// runbook_url is an http(s) URL or a repository-relative path that exists.
    ///
    /// Why: A dead runbook link is found out during the incident.
    ///
    /// Fix: Correct the URL or the path (relative paths resolve against --root).
    PolicyRunbookUrl = "policy.runbook_url";
    /// rate, irate, increase and resets are applied to counters (by name: _total, _count,
    /// _sum, _bucket; with --prometheus, by metadata).
    ///
    /// Why: On a gauge every decrease looks like a counter reset, so results are nonsense.
    ///
    /// Fix: Use deriv/delta for gauges, or select the counter.
    PromqlRateOnGauge = "promql.rate_on_gauge";
    /// Gauge functions (delta, idelta, deriv, predict_linear, ...) applied to counters.
    ///
    /// Why: They ignore counter resets, so restarts produce large negative spikes.
    ///
    /// Fix: Use rate/increase for counters.
    PromqlGaugeFunctionOnCounter = "promql.gauge_function_on_counter";
    /// Range selectors of rate-like functions cover at least two scrape intervals.
    ///
    /// Why: With fewer than two samples in the window the function returns nothing.
    ///
    /// Fix: Widen the range to at least 2x (better 4x) the scrape interval.
    PromqlRangeTooShort = "promql.range_too_short";
    /// Comparisons that can never be true (absent(x) < 1, count(x) < 0) or are always true
    /// (absent(x) > 0).
    ///
    /// Why: An alert that can never fire protects nothing; an always-true filter hides intent.
    ///
    /// Fix: Compare against a value the left side can take, or drop the redundant filter.
    PromqlComparison = "promql.comparison";
    /// absent() wrapped around an aggregation or a computed expression.
    ///
    /// Why: absent(sum(x)) carries no labels, so the alert cannot say what is missing.
    ///
    /// Fix: Use absent(x{job="..."}) on the selector itself.
    PromqlAbsentAggregation = "promql.absent_aggregation";
    /// for: is not shorter than the group's evaluation interval.
    ///
    /// Why: A for below the interval is rounded up to it and misleads the reader.
    ///
    /// Fix: Use 0 (fire at once) or at least one evaluation interval.
    RuleFor = "rule.for";
    /// keep_firing_for is at least one evaluation interval and at most 24h.
    ///
    /// Why: Shorter has no effect; longer keeps a resolved alert firing for a day.
    ///
    /// Fix: Pick a value between the evaluation interval and a few hours.
    RuleKeepFiringFor = "rule.keep_firing_for";
    /// Annotation and label templates are valid Go templates (delimiters, ends, defined
    /// variables, known functions).
    ///
    /// Why: Prometheus refuses the file, or the notification shows a template error.
    ///
    /// Fix: Correct the template at the reported column.
    TemplateSyntax = "template.syntax";
    /// $labels.x refers to a label the query result can carry.
    ///
    /// Why: A label dropped by sum by (...), without (...) or on (...) renders empty.
    ///
    /// Fix: Keep the label in the aggregation (by (..., x)) or stop using it.
    TemplateDroppedLabel = "template.dropped_label";
    /// Alert labels do not use $value.
    ///
    /// Why: Every new value makes a new alert identity: the alert resolves and re-fires.
    ///
    /// Fix: Move $value to an annotation.
    TemplateValueInLabel = "template.value_in_label";
    /// Recording rule names follow level:metric:operations.
    ///
    /// Why: The convention tells readers what was aggregated and keeps names unique.
    ///
    /// Fix: Rename, e.g. job:http_requests:rate5m.
    RecordingName = "recording.name";
    /// A recording rule does not write a metric that targets already expose (with
    /// --prometheus: the name has scrape metadata).
    ///
    /// Why: Two writers of one series produce gaps and wrong values.
    ///
    /// Fix: Rename the recording rule with a level: prefix.
    RecordingCollision = "recording.collision";
    /// Every selector matches series now or within --lookback (with --prometheus).
    ///
    /// Why: An alert on a metric that does not exist can never fire.
    ///
    /// Fix: Correct the metric name or labels, or remove the rule.
    LiveSeriesPresent = "live.series_present";
    /// The expression evaluates on the server without error (with --prometheus).
    ///
    /// Why: The server may reject what the parser accepts (many-to-many matching, limits).
    ///
    /// Fix: Read the server's message and correct the expression.
    LiveQuery = "live.query";
    /// The series the expression touches stay within live.max_series (with --prometheus).
    ///
    /// Why: Expensive rules slow every evaluation of their group.
    ///
    /// Fix: Narrow the selectors or pre-aggregate with a recording rule.
    LiveQueryCost = "live.query_cost";
    /// Alerts whose firing episodes, flaps or short episodes over the window exceed the
    /// budget.
    ///
    /// Why: Noisy alerts train people to ignore pages.
    ///
    /// Fix: Raise for:, fix the threshold, or add hysteresis with keep_firing_for.
    NoiseBudget = "noise.budget";
    /// An SLO compiled into recording rules and multi-window burn-rate alerts.
    ///
    /// Why: Hand-written burn-rate rules drift from the SLO they claim to protect.
    ///
    /// Fix: Correct the catalog entry named in the message.
    CatalogSlo = "catalog.slo";
}

impl CheckId {
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

    /// How to fix a failure, on one line (a table cell).
    pub fn fix_line(self) -> String {
        self.fix().split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_match_the_schema_pattern() {
        testkit::schema::assert_unique_valid_ids(CheckId::ALL.iter().map(|c| c.as_str()));
        assert_eq!(rule_docs().len(), CheckId::ALL.len());
    }
}
