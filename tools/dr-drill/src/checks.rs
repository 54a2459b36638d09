//! The one table of dr-drill's check ids. Each doc comment is what the id judges, `Why:` it
//! matters to a release, and `Fix:` for a failure; it feeds `dr-drill checks`, `--help`,
//! SARIF rule help and the table in docs/dr-drill.md.

gatehouse::checks! {
    /// Age of the newest backup (pgBackRest `backup[].timestamp.stop`, or a `pg_basebackup`
    /// directory's `backup_label` start time), against `--max-backup-age`.
    ///
    /// Why: a restore can only go back to the newest backup plus the WAL archived after it;
    /// an old backup means a long replay or a gap.
    ///
    /// Fix: look at the backup job (cron, CronJob) and its log; run a backup now.
    BackupAge = "backup.age";
    /// The newest backup completed without error (pgBackRest `status.code` 0, or a
    /// `pg_basebackup` directory that `pg_verifybackup` accepts against its `backup_manifest`).
    ///
    /// Why: a backup that failed or does not match its manifest restores nothing.
    ///
    /// Fix: read the backup log; take a fresh backup and verify it.
    BackupValid = "backup.valid";
    /// WAL archiving is on (`archive_mode`) and the last segment was archived within
    /// `--max-wal-lag`, unless no finished segment is waiting (an idle server is no alarm).
    ///
    /// Why: point-in-time recovery needs every WAL segment; the RPO of a lost server is the
    /// age of the last archived one.
    ///
    /// Fix: check `archive_command` and the archive's storage; `pg_stat_archiver` shows the
    /// last failed segment.
    ArchiveAge = "archive.age";
    /// No archive failure since the last success (`pg_stat_archiver.last_failed_time` after
    /// `last_archived_time`).
    ///
    /// Why: a failing `archive_command` keeps WAL piling up in `pg_wal` until the disk is
    /// full, and the archive has a gap.
    ///
    /// Fix: run the `archive_command` by hand for `last_failed_wal` and fix what it says.
    ArchiveFailures = "archive.failures";
    /// Replication lag of each streaming replica (`pg_stat_replication` replay lag and
    /// `pg_wal_lsn_diff` bytes; on a replica, `now() - pg_last_xact_replay_timestamp()` only
    /// when WAL is waiting to be replayed), against `--max-wal-lag` and `--max-lag-bytes`.
    ///
    /// Why: what a replica has not replayed is what a failover to it loses or waits for.
    ///
    /// Fix: look at the replica's I/O and network, long queries holding replay
    /// (`max_standby_streaming_delay`), or a stopped WAL receiver.
    ReplicationLag = "replication.lag";
    /// Redis persistence: age of the last RDB save when writes happened since
    /// (`rdb_changes_since_last_save`), against `--max-backup-age`.
    ///
    /// Why: after a restart Redis comes back with what the last snapshot or the AOF holds.
    ///
    /// Fix: check `save` and the disk; `BGSAVE` now and read the log.
    RedisRdbAge = "redis.rdb_age";
    /// Redis persistence status: `rdb_last_bgsave_status` and, with AOF on,
    /// `aof_last_write_status` and `aof_last_bgrewrite_status` are `ok`.
    ///
    /// Why: a failing save leaves nothing fresh to recover from.
    ///
    /// Fix: read the Redis log (disk full, permissions, fork failing for memory).
    RedisPersistence = "redis.persistence";
    /// Recovery time of the drill: from the cut (T0) to the first heartbeat written through
    /// the service's connection on the new primary, against `targets.rto`.
    ///
    /// Why: this is the outage the business signs up to; a number observed in a drill is
    /// evidence, a number in a runbook is a hope.
    ///
    /// Fix: shorten detection and promotion (automation, Patroni's ttl/loop_wait), make
    /// clients follow the primary (`target_session_attrs=read-write`, a VIP or DNS).
    Rto = "drill.rto";
    /// Data lost by the drill: heartbeats acknowledged by the old primary but absent on the
    /// new one, in seconds (and transactions in `data.rpo_transactions`), against
    /// `targets.rpo`.
    ///
    /// Why: acknowledged writes that vanish are what an asynchronous failover costs.
    ///
    /// Fix: synchronous replication (`synchronous_standby_names`), or a smaller replication
    /// lag; alert on lag.
    Rpo = "drill.rpo";
    /// After the drill the topology serves writes: the primary takes a heartbeat and the
    /// replica streams from it again.
    ///
    /// Why: a drill that leaves production without a standby has made the next outage worse.
    ///
    /// Fix: read `data.timeline`; rebuild the replica (`pg_rewind` or `pg_basebackup`) and
    /// check `primary_conninfo`.
    Topology = "drill.topology";
    /// A verification query of the restore's `--verify` file against the restored server.
    ///
    /// Why: a restore that starts but lacks rows is not a restore.
    ///
    /// Fix: compare the backup and archive with the source; check `restore_command`,
    /// missing WAL segments and the target time.
    RestoreVerify = "restore.verify";
    /// The restore's recovery point (last replayed commit) is within the RPO target of
    /// `--target-time` (or of the newest archived commit), and the restore within
    /// `--max-restore-time`.
    ///
    /// Why: a backup that restores to a point hours before the target loses those hours.
    ///
    /// Fix: archive WAL continuously (`archive_timeout`), keep every segment; take base
    /// backups more often if replay is slow.
    RestorePoint = "restore.point";
}
