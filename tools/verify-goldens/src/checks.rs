//! Every check id verify-goldens can emit, with what it judges, why it matters and how to fix
//! a failure: the doc comments are the `checks` listing, SARIF rule help and the table in
//! docs/verify-goldens.md. Nothing else writes a check id as a string.

gatehouse::checks! {
    /// The step's response status against `expect.status` (one code or a list).
    ///
    /// Why: A golden path that answers the wrong status is broken for every user on it.
    ///
    /// Fix: Look at the step's request in the service's logs (the report gives its
    /// traceparent); fix the service, or the expectation if the contract changed.
    StepStatus = "step.status";
    /// The step's response headers against `expect.headers` (names case-insensitive, values
    /// as regular expressions anchored at both ends).
    ///
    /// Why: Clients and caches depend on headers (content type, cache, version).
    ///
    /// Fix: Restore the header in the service, or update the expectation.
    StepHeaders = "step.headers";
    /// The step's total time (DNS to last byte) against `expect.latency`.
    ///
    /// Why: A golden path that is too slow is as bad for users as one that fails.
    ///
    /// Fix: Read the phase timings (DNS, connect, TLS, first byte) to see where the time
    /// went; fix the slow part, or raise the budget deliberately.
    StepLatency = "step.latency";
    /// One JSONPath assertion of `expect.json` on the response body (equals, exists,
    /// matches, length).
    ///
    /// Why: The body is the contract the path's users read.
    ///
    /// Fix: Compare the observed value with the expected one; fix the service or the
    /// assertion.
    StepJson = "step.json";
    /// A `capture:` whose JSONPath selects nothing in the response body.
    ///
    /// Why: The later steps that use the variable cannot run; they are skipped.
    ///
    /// Fix: Check the JSONPath against the response body, or the step's status.
    StepCapture = "step.capture";
    /// Whether the service answered the step's request completely within its timeout.
    ///
    /// Why: A request that hangs or is cut off is a failure users see.
    ///
    /// Fix: Look at the service for stalls or crashes at the step's traceparent; raise the
    /// step's `timeout:` only if the path is slow by design.
    StepResponse = "step.response";
    /// A realtime step's events: every triggered event arrives on the subscription
    /// (SSE or WebSocket) within the step's timeout.
    ///
    /// Why: A lost event is a notification, an order update or a message a user never sees.
    ///
    /// Fix: Look at the service's stream tail and its subscribers; the report names how
    /// many arrived.
    RealtimeDelivery = "realtime.delivery";
    /// Delivery lag (from the trigger request's start to the event's arrival) at p50, p95,
    /// p99 or max against the step's `lag:` budgets.
    ///
    /// Why: Realtime features feel broken when events arrive late.
    ///
    /// Fix: Find where the events wait (publisher, stream tail, fan-out, the trigger's own
    /// latency); raise the budget only deliberately.
    RealtimeLag = "realtime.lag";
    /// The events of the step's tenant arrive in stream order (ids strictly increasing).
    ///
    /// Why: Consumers apply events in the order they arrive; out of order is wrong state.
    ///
    /// Fix: Deliver from one ordered source per tenant; never merge unordered fan-outs.
    RealtimeOrder = "realtime.order";
    /// After a disconnect, resuming from the last event id (Last-Event-ID, ?since=) gives
    /// exactly the events missed: none lost, none twice.
    ///
    /// Why: Mobile and browser clients reconnect all the time; loss or duplicates there
    /// are bugs users see.
    ///
    /// Fix: Replay from the durable stream after the client's last id, then switch to
    /// live without a gap or overlap.
    RealtimeResume = "realtime.resume";
    /// An SLO's page pairs (e.g. 1h and 5m over 14.4): both windows burn faster than the
    /// factor.
    ///
    /// Why: At that rate the error budget is gone in days; this is what pages a human.
    ///
    /// Fix: Do not release; roll back the change that burns, then look at the SLI's errors.
    SloPage = "slo.page";
    /// An SLO's ticket pairs (e.g. 1d and 2h over 3): a slower burn that still eats the
    /// budget (a warning).
    ///
    /// Why: A slow burn exhausts the budget before the period ends.
    ///
    /// Fix: Open a ticket; find the source of the steady errors.
    SloTicket = "slo.ticket";
    /// The error budget left over the SLO period (a warning when it is spent).
    ///
    /// Why: With the budget spent, risky changes should wait (an error-budget policy).
    ///
    /// Fix: Prioritise reliability work until the budget recovers.
    SloBudget = "slo.budget";
    /// Canary and baseline request counts in the window against --min-requests (hold when
    /// too few).
    ///
    /// Why: With little traffic no test can tell a bad canary from a good one.
    ///
    /// Fix: Wait for more traffic, or send more to the canary.
    CanaryTraffic = "canary.traffic";
    /// The canary's error ratio against the baseline's: a two-proportion z-test, or
    /// Fisher's exact test when the counts are small (rollback when significantly worse).
    ///
    /// Why: A canary that errs more than the baseline will err for everyone at 100 %.
    ///
    /// Fix: Roll back; compare the canary's errors with the baseline's in the logs.
    CanaryErrors = "canary.errors";
    /// The canary's latency distribution against the baseline's: Mann-Whitney U on the
    /// histogram buckets, as Kayenta does (rollback when significantly slower).
    ///
    /// Why: A slower canary makes every request slower at 100 %.
    ///
    /// Fix: Roll back; profile the canary's slow requests.
    CanaryLatency = "canary.latency";
    /// The decision: promote (every SLI as good as the baseline), hold (not enough
    /// traffic or not significant yet) or rollback (an SLI significantly worse).
    ///
    /// Why: The rollout workflow reads this between its 10, 50 and 100 % steps.
    ///
    /// Fix: Follow the failing canary.errors or canary.latency check.
    CanaryDecision = "canary.decision";
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
