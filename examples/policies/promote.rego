# The release train's promotion rule in Rego: the same rule as examples/release/promote.yaml
# (keep the two in step; a test gates the same report sets with both and requires the same
# decisions). The seed's full rule: all required checks green; no SLO burn; perf headroom
# >= 20 %; migration cutover criteria met; SBOM diffs within budget; DR freshness OK and RPO
# <= 5 min; a canary that says rollback means rollback.
#
#   evidence-pack gate --policy examples/policies/promote.rego out/demo/release/
#   evidence-pack policy test examples/policies/
#
# Conventions (conftest's): `deny` blocks, `warn` warns, `decision` says promote, block or
# rollback. `input` (schemas/evidence-pack.policy-input.schema.json) holds the newest report
# per (agent, action), the release, the environment and the gate's time `now`. Waivers come
# from `data.waivers` (`--data waivers.json`): [{agent, action?, owner, until, reason?}].
package gatehouse.promote

import rego.v1

# Reports older than this (started_at against input.now) do not count.
max_age_seconds := 86400

# Pre-deploy evidence: a failure blocks. Post-deploy evidence (on_fail "rollback"): a failure
# on a present, fresh report rolls back; missing or stale only blocks — rolling back needs
# evidence of harm, not the absence of evidence.
required := [
	{"agent": "alert-lint", "action": "check", "on_fail": "block"},
	{"agent": "sbom-diff", "action": "diff", "on_fail": "block"},
	{"agent": "migration-gate", "action": "lint", "on_fail": "block"},
	{"agent": "migration-gate", "action": "dry-run", "on_fail": "block"},
	{"agent": "perf-gate", "action": "run", "on_fail": "block"},
	{"agent": "perf-gate", "action": "headroom", "on_fail": "block"},
	{"agent": "verify-goldens", "action": "run", "on_fail": "block"},
	{"agent": "replayctl", "action": "lag", "on_fail": "block"},
	{"agent": "replayctl", "action": "verify", "on_fail": "block"},
	{"agent": "dr-drill", "action": "freshness", "on_fail": "block"},
	{"agent": "verify-goldens", "action": "slo", "on_fail": "rollback"},
	{"agent": "verify-goldens", "action": "canary", "on_fail": "rollback"},
]

# Figures in a report's data: AGENT ACTION PATH OP VALUE.
figures := [
	# A release whose rule files hold no alert at all is not monitored.
	{"agent": "alert-lint", "action": "check", "path": ["data", "totals", "alerts"], "op": ">=", "value": 1},
	# Perf headroom >= 20 %: sustainable rate / expected peak - 1.
	{"agent": "perf-gate", "action": "headroom", "path": ["data", "headroom"], "op": ">=", "value": 0.2},
	# Migration cutover: down migrations roll back, no load error, no lock wait over 1 s.
	{"agent": "migration-gate", "action": "dry-run", "path": ["data", "rollback", "applied"], "op": "==", "value": true},
	{"agent": "migration-gate", "action": "dry-run", "path": ["data", "load", "errors"], "op": "==", "value": 0},
	{"agent": "migration-gate", "action": "dry-run", "path": ["data", "load", "longest_blocked_ms"], "op": "<=", "value": 1000},
	# DR: the last failover drill lost at most 5 minutes of writes.
	{"agent": "dr-drill", "action": "failover", "path": ["data", "rpo_seconds"], "op": "<=", "value": 300},
]

default waivers := []

waivers := data.waivers

now_ns := time.parse_rfc3339_ns(input.now)

name(q) := sprintf("%s %s", [q.agent, q.action])

# The report for (agent, action): input holds only the newest of each.
report(agent, action) := r if {
	some r in input.reports
	r.agent == agent
	r.action == action
}

# A waiver's last moment: a bare date waives through the end of that day (UTC).
waiver_end_ns(w) := time.parse_rfc3339_ns(sprintf("%sT23:59:59Z", [w.until])) if count(w.until) == 10

waiver_end_ns(w) := time.parse_rfc3339_ns(w.until) if count(w.until) != 10

# An active waiver covering (agent, action) as a whole.
waiver_for(agent, action) := w if {
	some w in waivers
	w.agent == agent
	object.get(w, "action", action) == action
	object.get(w, "check", null) == null
	waiver_end_ns(w) >= now_ns
}

waived(agent, action) if waiver_for(agent, action)

is_waived(agent, action) := true if waived(agent, action)

else := false

failing_checks(r) := [c.id | some c in object.get(r, "checks", []); c.result == "fail"]

# Rules, as findings: {kind, agent, action, msg, on_fail, rollback (evidence of harm), waived}.
findings contains f if {
	some q in required
	not report(q.agent, q.action)
	f := {
		"kind": "missing", "agent": q.agent, "action": q.action, "on_fail": q.on_fail,
		"msg": sprintf("%s: no report (a missing report is a fail, never a pass)", [name(q)]),
		"rollback": false, "waived": false,
	}
}

# Why a report is not ok: its summary, or for a tool that could not judge, its error.
why(r) := sprintf("could not judge: %s", [r.error.message]) if r.result == "error"

else := r.summary

# A report that could not judge (result "error") is no evidence of harm: it blocks.
findings contains f if {
	some q in required
	r := report(q.agent, q.action)
	r.result != "ok"
	f := {
		"kind": "result", "agent": q.agent, "action": q.action, "on_fail": q.on_fail,
		"msg": sprintf("%s: result %s (accepted: ok): %s", [name(q), r.result, why(r)]),
		"rollback": r.result == "fail", "waived": is_waived(q.agent, q.action),
	}
}

findings contains f if {
	some q in required
	r := report(q.agent, q.action)
	age := round((now_ns - time.parse_rfc3339_ns(r.started_at)) / 1000000000)
	age > max_age_seconds
	f := {
		"kind": "stale", "agent": q.agent, "action": q.action, "on_fail": q.on_fail,
		"msg": sprintf("%s: report is %ds old (max_age %ds)", [name(q), age, max_age_seconds]),
		"rollback": false, "waived": is_waived(q.agent, q.action),
	}
}

figure_text(g) := sprintf("%s %s %s %s %v", [g.agent, g.action, concat(".", g.path), g.op, g.value])

# Numbers compare as numbers; == and != also compare strings and booleans.
holds(v, ">=", l) if {
	is_number(v)
	v >= l
}

holds(v, ">", l) if {
	is_number(v)
	v > l
}

holds(v, "<=", l) if {
	is_number(v)
	v <= l
}

holds(v, "<", l) if {
	is_number(v)
	v < l
}

holds(v, "==", l) if v == l

holds(v, "!=", l) if v != l

figure_on_fail(g) := object.get(g, "on_fail", "block")

findings contains f if {
	some g in figures
	not report(g.agent, g.action)
	f := {
		"kind": "figure", "agent": g.agent, "action": g.action, "on_fail": figure_on_fail(g),
		"msg": sprintf("%s: no %s report", [figure_text(g), g.agent]),
		"rollback": false, "waived": false,
	}
}

findings contains f if {
	some g in figures
	r := report(g.agent, g.action)
	object.get(r, g.path, null) == null
	f := {
		"kind": "figure", "agent": g.agent, "action": g.action, "on_fail": figure_on_fail(g),
		"msg": sprintf("%s: %s is not in the %s %s report", [figure_text(g), concat(".", g.path), g.agent, g.action]),
		"rollback": false, "waived": false,
	}
}

findings contains f if {
	some g in figures
	r := report(g.agent, g.action)
	v := object.get(r, g.path, null)
	v != null
	not holds(v, g.op, g.value)
	f := {
		"kind": "figure", "agent": g.agent, "action": g.action, "on_fail": figure_on_fail(g),
		"msg": sprintf("%s: observed %v", [figure_text(g), v]),
		"rollback": true, "waived": is_waived(g.agent, g.action),
	}
}

blocking contains f if {
	some f in findings
	not f.waived
}

deny contains f.msg if some f in blocking

warn contains sprintf("%s — waived by %s until %s", [f.msg, w.owner, w.until]) if {
	some f in findings
	f.waived
	w := waiver_for(f.agent, f.action)
}

warn contains msg if {
	some w in waivers
	waiver_end_ns(w) < now_ns
	msg := sprintf("waiver for %s %s (owner %s) expired on %s; it no longer waives anything", [w.agent, object.get(w, "action", "*"), w.owner, w.until])
}

harm if {
	some f in blocking
	f.on_fail == "rollback"
	f.rollback
}

default decision := "promote"

decision := "rollback" if harm

decision := "block" if {
	count(blocking) > 0
	not harm
}
