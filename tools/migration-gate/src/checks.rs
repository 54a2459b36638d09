//! Every check id migration-gate can emit, with its three-part doc (what it judges, why it
//! matters to a release, how to fix a failure). Nothing else spells an id as a string.

/// How a lint rule is judged when it fires and nothing overrides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// A hazard: the gate says no.
    Fail,
    /// Worth a look; the gate still passes.
    Warn,
    /// Off unless `--enable` names it.
    OptIn,
}

gatehouse::checks! {
    tag: Severity;
    // ---- parsing and input -------------------------------------------------------------
    /// Every migration file parses with PostgreSQL's own parser (libpg_query).
    ///
    /// Why: a file PostgreSQL rejects fails the deploy halfway, after earlier files applied.
    ///
    /// Fix: correct the statement at the reported line and column; the message is the parser's.
    SqlParse = "sql.parse", Fail;
    /// A file holds Go template placeholders (`{{ ... }}`), e.g. supabase's
    /// `{{ index .Options "Namespace" }}`, so it is not SQL until rendered.
    ///
    /// Why: the linted text is not exactly what runs. migration-gate lints it with each
    /// placeholder replaced by an identifier of the same width (so line:column stay exact).
    ///
    /// Fix: pass `--template-var Namespace=auth` to render them; `dry-run` requires it.
    InputTemplate = "input.template", Warn;
    /// A down migration exists for every up migration (with `--require-down`).
    ///
    /// Why: without one, rolling the release back means a hand-written fix under pressure.
    ///
    /// Fix: add `down.sql` / `NNN_x.down.sql` / `U<version>__x.sql` that undoes the up.
    MigrationDown = "migration.down", Fail;
    /// Two migrations of one history share a version: versions compare as numbers, so
    /// `0001_a.up.sql`, `1_b.up.sql` and `01_c.sql` are all version 1, and so are `V1__x.sql`
    /// and `0001_y.up.sql`.
    ///
    /// Why: the runner records versions, not names: it applies one of them and skips the other
    /// as already applied, or refuses to start; which one depends on the tool and on file order.
    ///
    /// Fix: give each migration its own version: renumber the newer one.
    MigrationVersionUnique = "migration.version_unique", Fail;
    /// One history mixes layouts: Flyway (`V1__x.sql`), up/down pairs (`0001_x.up.sql`),
    /// migration directories (`0001_x/up.sql`) and plain versioned files (`0001_x.sql`).
    ///
    /// Why: each runner reads only its own naming, so the other files are silently never
    /// applied, or applied without their down migration.
    ///
    /// Fix: keep one runner's layout per folder: rename or move the odd files.
    MigrationLayoutMixed = "migration.layout_mixed", Fail;
    /// An ignore directive (`-- migration-gate: ignore=ID`) suppressed nothing.
    ///
    /// Why: stale ignores hide the next real finding on that statement.
    ///
    /// Fix: delete the directive, or fix its id.
    IgnoreUnused = "ignore.unused", Warn;

    // ---- locks and rewrites ------------------------------------------------------------
    /// `CREATE INDEX` without `CONCURRENTLY` on a table that existed before this migration.
    ///
    /// Why: it holds a SHARE lock for the whole build: every INSERT/UPDATE/DELETE on the table
    /// waits, for minutes on a big table.
    ///
    /// Fix: `CREATE INDEX CONCURRENTLY` in a migration that does not run in a transaction.
    IndexCreateBlocking = "index.create_blocking", Fail;
    /// `DROP INDEX` without `CONCURRENTLY` on an index of an existing table.
    ///
    /// Why: it takes an ACCESS EXCLUSIVE lock on the table: reads and writes wait, and so does
    /// everything queued behind them.
    ///
    /// Fix: `DROP INDEX CONCURRENTLY` outside a transaction.
    IndexDropBlocking = "index.drop_blocking", Fail;
    /// `CONCURRENTLY` (index create/drop/reindex, partition detach) inside a transaction.
    ///
    /// Why: PostgreSQL refuses it ("cannot run inside a transaction block"): the deploy fails.
    ///
    /// Fix: mark the migration non-transactional (diesel `metadata.toml`
    /// `run_in_transaction = false`, sqlx `-- no-transaction`, dbmate `transaction:false`,
    /// `-- migration-gate: no-transaction`) and keep it to that one statement.
    IndexConcurrentlyInTransaction = "index.concurrently_in_transaction", Fail;
    /// `REINDEX` without `CONCURRENTLY` on an existing table or index.
    ///
    /// Why: REINDEX blocks writes (and reads that would use the index) until it finishes.
    ///
    /// Fix: `REINDEX INDEX CONCURRENTLY` (PostgreSQL 12+).
    IndexReindexBlocking = "index.reindex_blocking", Fail;
    /// `ALTER COLUMN ... TYPE` that rewrites the table (everything except the binary-coercible
    /// changes: varchar(n) to a longer varchar or text, numeric precision increases).
    ///
    /// Why: the table and all its indexes are rewritten under ACCESS EXCLUSIVE: no reads or
    /// writes for the duration.
    ///
    /// Fix: expand/contract: add a new column, backfill in batches, switch reads, drop the old.
    ColumnTypeChange = "column.type_change", Fail;
    /// `ADD COLUMN ... DEFAULT` with a volatile default (random(), gen_random_uuid(),
    /// clock_timestamp(), nextval()/serial, a user function) or `GENERATED ... STORED`, or any
    /// default before PostgreSQL 11.
    ///
    /// Why: each row gets its own value, so the table is rewritten under ACCESS EXCLUSIVE.
    ///
    /// Fix: add the column without a default (or with a constant one), then backfill in batches.
    ColumnAddVolatileDefault = "column.add_volatile_default", Fail;
    /// `ADD COLUMN ... NOT NULL` without a `DEFAULT` on an existing table.
    ///
    /// Why: it fails on any table with rows ("contains null values"): the deploy stops.
    ///
    /// Fix: add it nullable (or with a constant default), backfill, then enforce NOT NULL.
    ColumnAddRequired = "column.add_required", Fail;
    /// `SET NOT NULL` without a validated `CHECK (col IS NOT NULL)` first.
    ///
    /// Why: PostgreSQL scans the whole table under ACCESS EXCLUSIVE to prove there are no NULLs.
    ///
    /// Fix: `ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID`; `VALIDATE CONSTRAINT c` (in a
    /// separate migration); then `SET NOT NULL` skips the scan (PostgreSQL 12+); drop the check.
    ColumnSetNotNull = "column.set_not_null", Fail;
    /// `ADD CONSTRAINT ... FOREIGN KEY` / `CHECK` (or an inline `REFERENCES` on a new column)
    /// on an existing table without `NOT VALID`.
    ///
    /// Why: validation scans the table holding a lock that blocks writes (SHARE ROW EXCLUSIVE on
    /// both tables for a foreign key; ACCESS EXCLUSIVE for a check).
    ///
    /// Fix: add it `NOT VALID`, then `VALIDATE CONSTRAINT` in a later migration (it only takes
    /// SHARE UPDATE EXCLUSIVE).
    ConstraintValidating = "constraint.validating", Fail;
    /// `VALIDATE CONSTRAINT` in the same transaction that added the constraint `NOT VALID`.
    ///
    /// Why: the ACCESS EXCLUSIVE lock from the ADD is still held while the scan runs, so NOT
    /// VALID buys nothing.
    ///
    /// Fix: validate in a separate migration (or after a COMMIT).
    ConstraintValidateSameTransaction = "constraint.validate_same_transaction", Fail;
    /// `ADD PRIMARY KEY` / `UNIQUE` (constraint or inline column option) on an existing table
    /// without `USING INDEX` of an index built beforehand.
    ///
    /// Why: it builds the unique index under ACCESS EXCLUSIVE: reads and writes wait.
    ///
    /// Fix: `CREATE UNIQUE INDEX CONCURRENTLY i ...`, then `ADD CONSTRAINT c UNIQUE USING INDEX i`.
    ConstraintUniqueWithoutIndex = "constraint.unique_without_index", Fail;
    /// `ADD CONSTRAINT ... EXCLUDE` on an existing table.
    ///
    /// Why: exclusion constraints have no NOT VALID form: the index build and check run under
    /// ACCESS EXCLUSIVE.
    ///
    /// Fix: create the table with the constraint, or schedule downtime.
    ConstraintExclusion = "constraint.exclusion", Fail;
    /// `ALTER DOMAIN ... ADD CONSTRAINT` without `NOT VALID`, or `CREATE DOMAIN` with a CHECK.
    ///
    /// Why: adding a domain constraint scans every column of that domain in every table;
    /// domain checks are also hard to change later.
    ///
    /// Fix: `ADD CONSTRAINT ... NOT VALID` then `VALIDATE CONSTRAINT`; prefer table CHECKs.
    DomainConstraint = "domain.constraint", Fail;
    /// `VACUUM FULL` or `CLUSTER`.
    ///
    /// Why: both rewrite the table under ACCESS EXCLUSIVE.
    ///
    /// Fix: pg_repack / `REPACK (CONCURRENTLY)` (PostgreSQL 19), outside the migration.
    TableRewriteMaintenance = "table.rewrite_maintenance", Fail;
    /// `ALTER TABLE ... DETACH PARTITION` without `CONCURRENTLY`.
    ///
    /// Why: it takes ACCESS EXCLUSIVE on the parent: every query on the partitioned table waits.
    ///
    /// Fix: `DETACH PARTITION ... CONCURRENTLY` (PostgreSQL 14+, outside a transaction).
    PartitionDetachBlocking = "partition.detach_blocking", Fail;
    /// `TRUNCATE ... CASCADE`.
    ///
    /// Why: it silently empties every table that references this one.
    ///
    /// Fix: truncate the tables you mean, by name.
    TableTruncateCascade = "table.truncate_cascade", Fail;
    /// A statement that takes an ACCESS EXCLUSIVE or SHARE lock on an existing table without a
    /// `SET lock_timeout` earlier in the migration.
    ///
    /// Why: the ALTER waits behind any long query, and every other query queues behind the
    /// ALTER: a one-millisecond change becomes an outage.
    ///
    /// Fix: `SET lock_timeout = '2s';` at the top (retry on timeout), or `--assume-timeouts`
    /// when the migration runner's role already sets it.
    TimeoutLock = "timeout.lock", Fail;
    /// A blocking statement on an existing table without a `SET statement_timeout` first.
    ///
    /// Why: a statement that turns out slow keeps its lock for as long as it runs.
    ///
    /// Fix: `SET statement_timeout = '5min';` (or `--assume-timeouts`).
    TimeoutStatement = "timeout.statement", Warn;
    /// An UPDATE or DELETE of an existing table in the same transaction as a statement that
    /// locked that table against writes (ALTER TABLE, CREATE INDEX, ...).
    ///
    /// Why: the lock is held until COMMIT, so the whole backfill runs while every read or
    /// write of the table waits: a one-millisecond ADD COLUMN becomes a long outage.
    ///
    /// Fix: commit the schema change first; backfill in a later migration (or a job), in
    /// batches.
    BackfillUnderLock = "backfill.under_lock", Fail;

    // ---- expand / contract -------------------------------------------------------------
    /// `DROP COLUMN` on an existing table.
    ///
    /// Why: code still running from the previous release reads the column and starts failing.
    ///
    /// Fix: a contract step: stop reading it first, ship the drop once the expand phase has
    /// been live long enough (`-- migration-gate: phase=contract`, `--phase-policy`).
    ColumnDrop = "column.drop", Fail;
    /// `DROP TABLE` of a table that existed before this migration.
    ///
    /// Why: the previous release still reads it; the data is gone for good.
    ///
    /// Fix: a contract step, as for column.drop.
    TableDrop = "table.drop", Fail;
    /// `ALTER TABLE ... RENAME COLUMN`.
    ///
    /// Why: the running release queries the old name and fails until the new code is live.
    ///
    /// Fix: add the new column, dual-write, backfill, switch reads, drop the old (or a view).
    ColumnRename = "column.rename", Fail;
    /// `ALTER TABLE ... RENAME TO` of an existing table.
    ///
    /// Why: as for column.rename.
    ///
    /// Fix: create the new table (or an updatable view under the old name), migrate, drop.
    TableRename = "table.rename", Fail;
    /// `DROP DATABASE` inside a migration.
    ///
    /// Why: there is no undo.
    ///
    /// Fix: never from a migration.
    DatabaseDrop = "database.drop", Fail;
    /// `ALTER COLUMN ... DROP NOT NULL`.
    ///
    /// Why: readers that assume the column is never NULL break when NULLs appear.
    ///
    /// Fix: make sure every reader handles NULL first.
    ColumnDropNotNull = "column.drop_not_null", Warn;
    /// The migration's phase (expand or contract) against `--phase-policy`: a contract
    /// migration ships only when its expand counterpart has been live for `--min-expand-age`
    /// (7 days by default) and the dropped columns had no reads in that window.
    ///
    /// Why: contract steps are the ones that break the previous release and cannot be rolled
    /// back.
    ///
    /// Fix: wait, or provide the evidence (`--expand-applied-at`, `--database-url` with the
    /// migrations table and pg_stat_statements).
    PhasePolicy = "phase.policy", Fail;

    // ---- enums -------------------------------------------------------------------------
    /// `ALTER TYPE ... ADD VALUE` inside a transaction on PostgreSQL before 12, or a new enum
    /// value used in the same transaction that added it (any version).
    ///
    /// Why: PostgreSQL refuses both ("cannot run inside a transaction block" / "unsafe use of
    /// new value").
    ///
    /// Fix: run it in a non-transactional migration, and use the value in a later one.
    EnumAddValueInTransaction = "enum.add_value_in_transaction", Fail;
    /// `ALTER TYPE ... ADD VALUE` without `BEFORE`/`AFTER`.
    ///
    /// Why: the value is appended, which changes what `<`/`>`/`ORDER BY` on the enum mean.
    ///
    /// Fix: say where it goes: `ADD VALUE 'x' BEFORE 'y'`.
    EnumValueOrder = "enum.value_order", Warn;

    // ---- transactions and robustness ---------------------------------------------------
    /// `BEGIN`/`COMMIT` in a file that the migration runner already wraps in a transaction.
    ///
    /// Why: the inner BEGIN only warns; the inner COMMIT ends the runner's transaction early,
    /// so a later failure leaves the migration half-applied.
    ///
    /// Fix: delete the explicit BEGIN/COMMIT.
    TransactionNesting = "transaction.nesting", Warn;
    /// A `BEGIN` with no matching `COMMIT` in the same file.
    ///
    /// Why: the runner's connection ends with the migration rolled back or holding locks.
    ///
    /// Fix: add the COMMIT.
    TransactionUncommitted = "transaction.uncommitted", Fail;
    /// A non-idempotent statement (`CREATE ... ` without `IF NOT EXISTS`, `DROP ...` without
    /// `IF EXISTS`) in a migration that does not run in a transaction.
    ///
    /// Why: if the migration fails halfway, re-running it fails on the statements that already
    /// took effect.
    ///
    /// Fix: `IF [NOT] EXISTS`, or run the migration in a transaction.
    StatementIdempotent = "statement.idempotent", Warn;
    /// The same column assigned or declared twice in one statement.
    ///
    /// Why: PostgreSQL rejects it at run time ("specified more than once").
    ///
    /// Fix: remove the duplicate.
    ColumnDuplicate = "column.duplicate", Fail;
    /// An identifier longer than 63 bytes.
    ///
    /// Why: PostgreSQL silently truncates it, so later statements that use the full name fail
    /// or hit a different object.
    ///
    /// Fix: shorten it.
    IdentifierTooLong = "identifier.too_long", Warn;
    /// A table created or referenced without a schema (opt-in: `--enable schema.qualified`).
    ///
    /// Why: the object lands wherever `search_path` points on the migrating connection.
    ///
    /// Fix: qualify it: `public.orders`.
    SchemaQualified = "schema.qualified", OptIn;

    // ---- column types (warnings) -------------------------------------------------------
    /// `char(n)` / `character(n)` columns.
    ///
    /// Why: blank-padded, no faster than text, and surprising in comparisons.
    ///
    /// Fix: `text` (with a CHECK on length if needed).
    TypeChar = "type.char", Warn;
    /// `varchar(n)` columns.
    ///
    /// Why: raising the limit later can rewrite older tables; a CHECK is cheaper to change.
    ///
    /// Fix: `text` with `CHECK (length(col) <= n)`.
    TypeVarchar = "type.varchar", Warn;
    /// `timestamp` (without time zone) columns.
    ///
    /// Why: values lose their offset; every reader has to guess the zone.
    ///
    /// Fix: `timestamptz`.
    TypeTimestamp = "type.timestamp", Warn;
    /// `serial`/`bigserial`/`smallserial` columns.
    ///
    /// Why: the sequence is a separate object with its own ownership and permissions.
    ///
    /// Fix: `bigint GENERATED BY DEFAULT AS IDENTITY`.
    TypeSerial = "type.serial", Warn;
    /// `int`/`smallint`/`serial` primary keys and key-like columns (`id`, `*_id`).
    ///
    /// Why: 2^31 rows arrive sooner than expected; widening later is a full rewrite.
    ///
    /// Fix: `bigint` (identity).
    TypeIntKey = "type.int_key", Warn;
    /// `json` columns.
    ///
    /// Why: `json` has no equality operator (DISTINCT, UNIQUE, some ORMs break) and is
    /// re-parsed on every access.
    ///
    /// Fix: `jsonb`.
    TypeJson = "type.json", Warn;

    // ---- dry run -----------------------------------------------------------------------
    /// The throwaway copy the dry run applies to: how it was made.
    ///
    /// Why: a schema-only copy has no rows, so durations and rewrites are not representative.
    ///
    /// Fix: let migration-gate be the only session on the source database while it copies
    /// (`CREATE DATABASE ... TEMPLATE` needs that), or accept the schema-only fallback.
    DryrunCopy = "dryrun.copy", Warn;
    /// Every pending statement applied on the copy without error.
    ///
    /// Why: a migration that fails on a copy of the real schema fails in production.
    ///
    /// Fix: the PostgreSQL error and the file:line of the statement are in the message.
    DryrunApply = "dryrun.apply", Fail;
    /// A statement rewrote a table that had rows (its relfilenode changed).
    ///
    /// Why: a rewrite holds ACCESS EXCLUSIVE for a time proportional to the table's size.
    ///
    /// Fix: see column.type_change / column.add_volatile_default.
    DryrunRewrite = "dryrun.rewrite", Fail;
    /// A statement held a lock that blocks writes or reads (SHARE or stronger) on an existing
    /// table with rows while doing work that grows with the table (rewrite, index build,
    /// validation scan), or for longer than `--max-lock-hold`.
    ///
    /// Why: this is the outage: every session touching that table waits.
    ///
    /// Fix: the lint finding on the same statement says how to rewrite it.
    DryrunBlockingLock = "dryrun.blocking_lock", Fail;
    /// With `--with-load N`: the longest time a concurrent session was blocked.
    ///
    /// Why: measured, not inferred: this is what users of the service would feel.
    ///
    /// Fix: shorten or split the statement that blocked; the check names it.
    DryrunBlocked = "dryrun.blocked", Fail;
    /// The down migrations applied in reverse, and the schema after up+down equals the schema
    /// before (pg_dump --schema-only, column order within a table ignored).
    ///
    /// Why: a rollback that fails or leaves a different schema is no rollback.
    ///
    /// Fix: the message lists the statement that failed or the schema lines that differ.
    DryrunRollback = "dryrun.rollback", Fail;
    /// The throwaway copy was dropped.
    ///
    /// Why: abandoned copies fill the disk of the server you tested on.
    ///
    /// Fix: drop the database named in the message.
    DryrunCleanup = "dryrun.cleanup", Fail;

    // ---- parity ------------------------------------------------------------------------
    /// Shadow-read parity: the fraction of keys whose old and new rows hash equal, against
    /// `--min-parity`.
    ///
    /// Why: a dual-write or backfill that missed rows shows up here before the read switch.
    ///
    /// Fix: the message samples mismatching keys; re-run the backfill for them.
    ParityRows = "parity.rows", Fail;

    // ---- search (Typesense) ------------------------------------------------------------
    /// A change between the live collection behind an alias and the newest schema version
    /// that removes a field a query or a scoped key still uses (the schema file's `used_by`).
    ///
    /// Why: the flip breaks those searches at once (Typesense answers 404 "Could not find a
    /// field named ..."), or a tenant's scoped key stops filtering.
    ///
    /// Fix: keep the field until its users are released without it, then drop it.
    SearchPlanHazard = "search.plan.hazard", Fail;
    /// A change Typesense cannot apply to the live collection in place: a field's type, a
    /// facet/index/sort/infix/optional flag on existing data, the default sorting field,
    /// tokenizer settings.
    ///
    /// Why: it needs a new versioned collection, a reindex and an alias flip, not a PATCH.
    ///
    /// Fix: `migration-gate search reindex --alias NAME --to FILE --flip`.
    SearchPlanReindex = "search.plan.reindex", Warn;
    /// Every document of the live collection was accepted by the new versioned collection.
    ///
    /// Why: a document the new schema refuses (a value of the wrong type) silently
    /// disappears from search after the flip.
    ///
    /// Fix: the message names each refused document and Typesense's reason: fix the data or
    /// the schema, then reindex again.
    SearchReindexImport = "search.reindex.import", Fail;
    /// How far the reindex trails the writes to the live collection (the last catch-up
    /// round's duration, writes followed by `--updated-field`), against `--max-lag`.
    ///
    /// Why: a flip while far behind hides every recent write until it is copied.
    ///
    /// Fix: raise `--max-rounds`, a larger `--batch`, or reindex at a quieter time.
    SearchReindexLag = "search.reindex.lag", Fail;
    /// The old and the new collection hold the same number of documents.
    ///
    /// Why: a missing document is a product nobody can find after the flip.
    ///
    /// Fix: see `search.parity.hash` for the ids that differ.
    SearchParityCount = "search.parity.count", Fail;
    /// The order-independent hash of every document by id is equal on both collections;
    /// else the ids missing, changed or extra in the new one.
    ///
    /// Why: parity is the proof that the new collection answers like the old one.
    ///
    /// Fix: reindex the named documents (or find why they differ) before flipping.
    SearchParityHash = "search.parity.hash", Fail;
    /// A relevance canary: the query's top-k ids on the new collection equal those on the
    /// old one, or differ in at most `allow_changed` ids.
    ///
    /// Why: the same documents can rank differently under a new schema (sort flags, default
    /// sorting field, tokenizer): users see other results.
    ///
    /// Fix: if the change is intended, raise the canary's `allow_changed`; else fix the schema.
    SearchCanary = "search.parity.canary", Fail;
    /// The alias was flipped (or rolled back) in one atomic upsert, only after parity held.
    ///
    /// Why: a flip onto a collection that differs serves wrong answers to every user at once.
    ///
    /// Fix: the parity checks say why it was blocked; `search flip --rollback` goes back.
    SearchFlip = "search.flip", Fail;
    /// Searches through the alias that failed while the reindex and the flip ran (a bounded
    /// loop at `--probe-rate`).
    ///
    /// Why: the flip is meant to be invisible: zero failed searches.
    ///
    /// Fix: the message quotes the first failure.
    SearchFailedSearches = "search.flip.failed_searches", Fail;
    /// A client's key allows only `documents:search`.
    ///
    /// Why: a client holding a key that can write or delete is one leaked bundle away from
    /// an emptied index.
    ///
    /// Fix: create a search-only key (`actions: [documents:search]`) and rotate the client to it.
    SearchKeysSearchOnly = "search.keys.search_only", Fail;
    /// A client's key reaches only the collections or aliases the policy names.
    ///
    /// Why: `collections: ["*"]` lets a storefront read every index, internal ones included.
    ///
    /// Fix: name the alias (`products`) in the key's collections.
    SearchKeysCollections = "search.keys.collections", Fail;
    /// No client configuration file or client key variable holds the admin key.
    ///
    /// Why: the admin key can do everything, including creating keys.
    ///
    /// Fix: remove it from the file and rotate the admin key.
    SearchKeysAdminInClient = "search.keys.admin_in_client", Fail;
    /// A tenant's scoped key (the client key with `filter_by: <field>:=<tenant>` embedded)
    /// finds its own documents and none of another tenant's, even when asking for them.
    ///
    /// Why: tenant isolation in search rests on the embedded filter alone.
    ///
    /// Fix: derive every tenant key from a search-only parent with the tenant filter embedded.
    SearchKeysTenantIsolation = "search.keys.tenant_isolation", Fail;
}

impl CheckId {
    /// How the rule is judged when it fires and no flag or directive overrides it.
    pub(crate) fn default_severity(self) -> Severity {
        self.tag()
    }

    /// Ids of the lint rules (everything but the dry-run and parity checks).
    pub(crate) fn is_lint_rule(self) -> bool {
        !self.as_str().starts_with("dryrun.")
            && !self.as_str().starts_with("parity.")
            && !self.as_str().starts_with("search.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_match_the_schema_pattern() {
        testkit::schema::assert_unique_valid_ids(CheckId::ALL.iter().map(|c| c.as_str()));
        for c in CheckId::ALL {
            assert_eq!(CheckId::from_id(c.as_str()), Some(*c));
        }
    }

    #[test]
    fn every_check_documents_what_why_and_fix() {
        for c in CheckId::ALL {
            let (what, why, fix) = (c.summary(), c.why(), c.fix());
            assert!(!c.summary().is_empty(), "{}", c.as_str());
            assert!(!what.is_empty(), "{} lacks what it judges", c.as_str());
            assert!(!why.is_empty(), "{} lacks a `Why:` paragraph", c.as_str());
            assert!(!fix.is_empty(), "{} lacks a `Fix:` paragraph", c.as_str());
            assert_eq!(
                c.doc().split("\n\n").count(),
                3,
                "{}: the doc is what, Why:, Fix:",
                c.as_str()
            );
        }
        assert_eq!(rule_docs().len(), CheckId::ALL.len());
    }

    /// The docs page says which checks only warn and which are opt-in: the `tag` column of
    /// the table above, which the generated docs table does not show.
    #[test]
    fn the_docs_name_the_default_severities() {
        let ids = |sev: Severity| {
            CheckId::ALL
                .iter()
                .filter(|c| c.default_severity() == sev)
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let want = format!(
            "By default these checks only warn: {}; off unless `--enable` names it: {}; every other check fails the gate.",
            ids(Severity::Warn),
            ids(Severity::OptIn)
        );
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/migration-gate.md");
        let docs = std::fs::read_to_string(path).expect("docs/migration-gate.md");
        let docs = docs.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            docs.contains(&want),
            "docs/migration-gate.md should say: {want}"
        );
    }
}
