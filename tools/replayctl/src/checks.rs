//! The one table of replayctl's check ids. Each doc comment is what the id judges, `Why:` it
//! matters to a release, and `Fix:` for a failure; it feeds `replayctl checks`, `--help`,
//! SARIF rule help and the table in docs/replayctl.md.

gatehouse::checks! {
    /// Age of the oldest stream entry the consumer group has not yet been given, against
    /// `--max-lag` (stream ids are times, so this is ingest lag).
    ///
    /// Why: events older than the budget are not yet in the sink: readers see stale data and
    /// the ingest SLO ("lag < 60 s") is burning.
    ///
    /// Fix: look at the consumers (stopped, slow, crashing); scale them, or pause replays and
    /// backfills competing for the sink.
    OldestUndelivered = "lag.oldest_undelivered";
    /// Entries in the stream the group has not read yet (Redis 7's `lag` of `XINFO GROUPS`,
    /// counted from ids when Redis cannot say), against `--max-undelivered`.
    ///
    /// Why: a growing backlog means the consumers do not keep up with producers.
    ///
    /// Fix: add consumers or make each faster; check for a stopped worker.
    Undelivered = "lag.undelivered";
    /// Entries delivered to a consumer but not acknowledged, against `--max-pending`.
    ///
    /// Why: pending entries are work in flight or stuck; many of them mean failing or dead
    /// consumers.
    ///
    /// Fix: find the consumers holding them (`data.consumers`); fix the failure, or claim
    /// dead consumers' entries (`replayctl dlq claim`).
    Pending = "lag.pending";
    /// Age of the oldest pending (delivered, unacknowledged) entry, against
    /// `--max-pending-age` (default `--max-lag`).
    ///
    /// Why: an entry that stays pending is an event that never reaches the sink unless
    /// someone retries it.
    ///
    /// Fix: the worker must retry or dead-letter failing entries (XAUTOCLAIM after an idle
    /// time); `replayctl dlq claim` moves a dead consumer's entries to the DLQ.
    OldestPending = "lag.oldest_pending";
    /// Consumers idle longer than `--dead-after` that still hold pending entries.
    ///
    /// Why: nobody will ever acknowledge their entries; those events are stuck.
    ///
    /// Fix: restart the consumer, or claim its entries (`replayctl dlq claim`) and delete the
    /// consumer (`XGROUP DELCONSUMER`).
    DeadConsumers = "lag.dead_consumers";
    /// Entries in the dead-letter stream, against `--max-entries`.
    ///
    /// Why: each dead-lettered entry is an event the sink does not have.
    ///
    /// Fix: triage by error class (`replayctl dlq triage --format markdown`), fix the cause,
    /// then `replayctl redrive`.
    DlqEntries = "dlq.entries";
    /// Entries moved from a dead consumer's pending list to the DLQ by `dlq claim`.
    ///
    /// Why: it reports what moved; a failure to move is an error, not a verdict.
    ///
    /// Fix: nothing to fix; triage the DLQ next.
    DlqClaimed = "dlq.claimed";
    /// Every selected DLQ entry moved back to the target stream exactly once (re-added and
    /// deleted in one atomic step).
    ///
    /// Why: a redrive that loses or doubles entries corrupts the sink or drops events.
    ///
    /// Fix: entries the script refused (already moved, changed) are listed; re-run the
    /// redrive, which skips what already moved.
    Redriven = "redrive.moved";
    /// Entries of the window the sink refused (a value that does not convert to its column,
    /// e.g. a truncated JSON payload); they are skipped and listed.
    ///
    /// Why: those events are not in the sink after the replay.
    ///
    /// Fix: they are poison: fix the data at the source or dead-letter them; `verify` lists
    /// them as missing until then.
    ReplayRejected = "replay.rejected";
    /// Whether the replay had to pause for the live consumer group, and the live lag it saw
    /// (`--group`, `--pause-above`).
    ///
    /// Why: a replay must never starve the live path: live lag stays within budget while it
    /// runs.
    ///
    /// Fix: lower `--rate`, or raise `--pause-above` only if the live path has headroom.
    Backpressure = "replay.backpressure";
    /// Entries of the tenant's window in the stream that the sink does not hold.
    ///
    /// Why: missing events are lost data for the tenant.
    ///
    /// Fix: run `replayctl replay` for the window; entries the sink refuses are poison (see
    /// `replay.rejected`).
    VerifyMissing = "verify.missing";
    /// Sink rows of the tenant's window (by their stream id) that the stream does not have.
    ///
    /// Why: rows without a source event are duplicates or writes from elsewhere.
    ///
    /// Fix: find their writer; an at-least-once writer without an idempotency key duplicates.
    VerifyExtra = "verify.extra";
    /// Rows whose content differs from the stream's entry (same key, other values), compared
    /// as PostgreSQL renders both.
    ///
    /// Why: the sink holds something else than what happened.
    ///
    /// Fix: find the writer that changed them; replay cannot overwrite (it never updates).
    VerifyContent = "verify.content";
    /// Count and order-independent hash of the window on both sides are equal.
    ///
    /// Why: this is the gate that the tenant's window is in the sink exactly once.
    ///
    /// Fix: see the failing `verify.*` checks beside it.
    VerifyHash = "verify.hash";
}
