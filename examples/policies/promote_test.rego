# Unit tests for promote.rego, as `opa test` runs them:
#
#   evidence-pack policy test examples/policies/
#
# Each test gates a report set made from a good release with one thing changed.
package gatehouse.promote_test

import rego.v1

import data.gatehouse.promote

now := "2026-12-07T16:00:00Z"

report(agent, action, result, d) := {
	"schema": "gatehouse.report/v1", "agent": agent, "action": action, "phase": null,
	"result": result, "summary": sprintf("%s %s: %s", [agent, action, result]),
	"checks": [{"id": "x.check", "result": result}], "data": d,
	"started_at": "2026-12-07T15:00:00Z",
}

good_reports := [
	report("alert-lint", "check", "ok", {"totals": {"alerts": 14}}),
	report("sbom-diff", "diff", "ok", {}),
	report("migration-gate", "lint", "ok", {}),
	report("migration-gate", "dry-run", "ok", {"rollback": {"applied": true}, "load": {"errors": 0, "longest_blocked_ms": 25.6}}),
	report("perf-gate", "run", "ok", {}),
	report("perf-gate", "headroom", "ok", {"headroom": 0.5}),
	report("verify-goldens", "run", "ok", {}),
	report("replayctl", "lag", "ok", {}),
	report("replayctl", "verify", "ok", {}),
	report("dr-drill", "freshness", "ok", {}),
	report("dr-drill", "failover", "ok", {"rpo_seconds": 12}),
	report("verify-goldens", "slo", "ok", {}),
	report("verify-goldens", "canary", "ok", {"decision": "promote"}),
]

release(reports) := {"reports": reports, "release": "v3.0.0", "environment": "prod", "now": now}

good := release(good_reports)

is(r, agent, action) if {
	r.agent == agent
	r.action == action
}

# The good set with (agent, action) replaced by `new` (an empty list removes it).
replaced(agent, action, new) := release(array.concat([r | some r in good_reports; not is(r, agent, action)], new))

# The good set with one figure changed.
with_data(agent, action, d) := replaced(agent, action, [report(agent, action, "ok", d)])

failed(agent, action) := replaced(agent, action, [report(agent, action, "fail", {})])

test_a_good_release_promotes if {
	promote.decision == "promote" with input as good
	count(promote.deny) == 0 with input as good
	count(promote.warn) == 0 with input as good
}

test_every_pre_deploy_failure_blocks if {
	pre := [q | some q in promote.required; q.on_fail == "block"]
	count(pre) == 10
	blocked := [q |
		some q in pre
		promote.decision == "block" with input as failed(q.agent, q.action)
	]
	count(blocked) == count(pre)
}

test_every_missing_report_blocks if {
	blocked := [q |
		some q in promote.required
		promote.decision == "block" with input as replaced(q.agent, q.action, [])
	]
	count(blocked) == count(promote.required)
}

test_a_missing_report_is_named if {
	promote.deny["sbom-diff diff: no report (a missing report is a fail, never a pass)"] with input as replaced("sbom-diff", "diff", [])
}

test_slo_burn_after_deploy_rolls_back if {
	promote.decision == "rollback" with input as failed("verify-goldens", "slo")
}

test_a_canary_that_says_rollback_rolls_back if {
	promote.decision == "rollback" with input as replaced("verify-goldens", "canary", [report("verify-goldens", "canary", "fail", {"decision": "rollback"})])
}

test_an_slo_report_that_could_not_judge_blocks_rather_than_rolls_back if {
	broken := object.union(report("verify-goldens", "slo", "error", {}), {"error": {"kind": "io", "message": "prometheus: connection refused"}})
	promote.decision == "block" with input as replaced("verify-goldens", "slo", [broken])
	promote.deny["verify-goldens slo: result error (accepted: ok): could not judge: prometheus: connection refused"] with input as replaced("verify-goldens", "slo", [broken])
}

test_a_missing_slo_report_blocks_rather_than_rolls_back if {
	promote.decision == "block" with input as replaced("verify-goldens", "slo", [])
}

test_rollback_wins_over_block if {
	both := release(array.concat(
		[r | some r in failed("sbom-diff", "diff").reports; not is(r, "verify-goldens", "slo")],
		[report("verify-goldens", "slo", "fail", {})],
	))
	promote.decision == "rollback" with input as both
}

test_perf_headroom_under_twenty_percent_blocks if {
	promote.decision == "block" with input as with_data("perf-gate", "headroom", {"headroom": 0.19})
}

test_perf_headroom_of_exactly_twenty_percent_promotes if {
	promote.decision == "promote" with input as with_data("perf-gate", "headroom", {"headroom": 0.2})
}

test_a_figure_missing_from_its_report_blocks if {
	promote.decision == "block" with input as with_data("perf-gate", "headroom", {})
}

test_a_figure_that_is_not_a_number_blocks if {
	promote.decision == "block" with input as with_data("perf-gate", "headroom", {"headroom": "lots"})
}

test_rpo_over_five_minutes_blocks if {
	promote.decision == "block" with input as with_data("dr-drill", "failover", {"rpo_seconds": 301})
}

test_rpo_of_five_minutes_promotes if {
	promote.decision == "promote" with input as with_data("dr-drill", "failover", {"rpo_seconds": 300})
}

test_migration_cutover_criteria_block if {
	promote.decision == "block" with input as with_data("migration-gate", "dry-run", {"rollback": {"applied": false}, "load": {"errors": 0, "longest_blocked_ms": 1}})
	promote.decision == "block" with input as with_data("migration-gate", "dry-run", {"rollback": {"applied": true}, "load": {"errors": 3, "longest_blocked_ms": 1}})
	promote.decision == "block" with input as with_data("migration-gate", "dry-run", {"rollback": {"applied": true}, "load": {"errors": 0, "longest_blocked_ms": 1500}})
}

test_a_release_without_alerts_blocks if {
	promote.decision == "block" with input as with_data("alert-lint", "check", {"totals": {"alerts": 0}})
}

test_a_stale_report_blocks if {
	old := object.union(report("sbom-diff", "diff", "ok", {}), {"started_at": "2026-12-06T15:59:59Z"})
	promote.decision == "block" with input as replaced("sbom-diff", "diff", [old])
}

test_a_day_old_report_is_still_fresh if {
	day := object.union(report("sbom-diff", "diff", "ok", {}), {"started_at": "2026-12-06T16:00:00Z"})
	promote.decision == "promote" with input as replaced("sbom-diff", "diff", [day])
}

test_a_report_from_the_future_counts_as_fresh if {
	later := object.union(report("sbom-diff", "diff", "ok", {}), {"started_at": "2026-12-07T17:00:00Z"})
	promote.decision == "promote" with input as replaced("sbom-diff", "diff", [later])
}

waiver(until) := [{"agent": "sbom-diff", "action": "diff", "owner": "payments-team@example.com", "until": until}]

test_an_active_waiver_promotes_with_a_warning if {
	promote.decision == "promote" with input as failed("sbom-diff", "diff") with data.waivers as waiver("2026-12-31")
	count(promote.warn) == 1 with input as failed("sbom-diff", "diff") with data.waivers as waiver("2026-12-31")
}

test_a_waiver_through_today_is_still_active_today if {
	promote.decision == "promote" with input as failed("sbom-diff", "diff") with data.waivers as waiver("2026-12-07")
}

test_an_expired_waiver_no_longer_waives_and_warns if {
	promote.decision == "block" with input as failed("sbom-diff", "diff") with data.waivers as waiver("2026-10-31")
	some w in promote.warn with input as failed("sbom-diff", "diff") with data.waivers as waiver("2026-10-31")
	contains(w, "expired on 2026-10-31")
}

test_no_waiver_covers_a_missing_report if {
	promote.decision == "block" with input as replaced("sbom-diff", "diff", []) with data.waivers as waiver("2026-12-31")
}

test_a_waiver_never_turns_rollback_evidence_into_promote_for_another_report if {
	promote.decision == "rollback" with input as failed("verify-goldens", "slo") with data.waivers as waiver("2026-12-31")
}
