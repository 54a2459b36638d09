//! Shadow-read parity between an old and a new read path. The server
//! hashes every row (`md5` of its text form), joins old and new on the key, numbers the
//! joined rows in key order and folds them into chunks; we read one row per chunk through a
//! cursor. So tens of millions of rows cost one pass on the server and a few kilobytes here.

use gatehouse::{Check, ReportBuilder, Section};
use serde_json::json;

use crate::checks::CheckId;
use crate::error::{Error, Result};
use crate::pg::{Target, Timeouts, quote_ident};

/// Chunks fetched per round trip.
const FETCH: u32 = 200;
/// Chunks with mismatches listed in `data`.
const MAX_CHUNKS_LISTED: usize = 100;

/// What `parity` compares, checked.
pub(crate) struct Options {
    pub(crate) target: Target,
    /// `--old` and `--new`: parsed, without a trailing `;`.
    pub(crate) old: String,
    pub(crate) new: String,
    /// `--key`: trimmed, none empty, at least one.
    pub(crate) keys: Vec<String>,
    /// `--min-parity`, in 0..=1.
    pub(crate) min_parity: f64,
    /// `--chunk-size`, at least 1.
    pub(crate) chunk_size: u64,
    /// `--sample`.
    pub(crate) sample: u32,
}

/// The flags as the user typed them.
pub(crate) struct Given<'a> {
    pub(crate) database_url: &'a str,
    pub(crate) old: &'a str,
    pub(crate) new: &'a str,
    pub(crate) key: &'a [String],
    pub(crate) min_parity: f64,
    pub(crate) chunk_size: u64,
    pub(crate) sample: u32,
    pub(crate) timeouts: Timeouts,
}

impl Options {
    /// Checks the flags in order: `--min-parity`, `--chunk-size`, `--key`, `--old`, `--new`
    /// (PostgreSQL's parser), `--database-url`.
    pub(crate) fn new(g: &Given<'_>) -> Result<Options> {
        if !(0.0..=1.0).contains(&g.min_parity) {
            return Err(Error::Usage {
                flag: "--min-parity",
                message: format!("{} is not a fraction between 0 and 1", g.min_parity),
            });
        }
        if g.chunk_size == 0 {
            return Err(Error::Usage {
                flag: "--chunk-size",
                message: "must be at least 1".to_owned(),
            });
        }
        let keys: Vec<String> = g
            .key
            .iter()
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty())
            .collect();
        if keys.is_empty() {
            return Err(Error::Usage {
                flag: "--key",
                message: "name at least one key column".to_owned(),
            });
        }
        let old = query_body("--old", g.old)?;
        let new = query_body("--new", g.new)?;
        let target = Target::parse(g.database_url)?.with_timeouts(g.timeouts);
        Ok(Options {
            target,
            old,
            new,
            keys,
            min_parity: g.min_parity,
            chunk_size: g.chunk_size,
            sample: g.sample,
        })
    }
}

fn query_body(flag: &'static str, q: &str) -> Result<String> {
    let q = q.trim().trim_end_matches(';').trim();
    if q.is_empty() {
        return Err(Error::Usage {
            flag,
            message: "empty query".to_owned(),
        });
    }
    // Parse it with PostgreSQL's parser first: a typo is reported before any work.
    if let Err(e) = crate::sql::parse(q) {
        let (line, column) = gatehouse::input::line_col(q.as_bytes(), e.offset);
        return Err(Error::Syntax {
            file: flag.to_owned(),
            line,
            column,
            message: e.message,
        });
    }
    Ok(q.to_owned())
}

/// The chunked comparison, one output row per chunk of `chunk` keys.
pub fn comparison_sql(old: &str, new: &str, keys: &[String], chunk: u64, sample: u32) -> String {
    let k: Vec<String> = keys.iter().map(|c| quote_ident(c)).collect();
    let key_list = k.join(", ");
    let key_text = if k.len() == 1 {
        format!("{}::text", k[0])
    } else {
        format!("ROW({key_list})::text")
    };
    format!(
        "WITH o AS (SELECT {key_list}, md5(q::text) AS h FROM ({old}) AS q), \
              n AS (SELECT {key_list}, md5(q::text) AS h FROM ({new}) AS q), \
              j AS (SELECT {key_list}, o.h AS oh, n.h AS nh FROM o FULL JOIN n USING ({key_list})), \
              r AS (SELECT {key_text} AS k, oh, nh, row_number() OVER w AS rn, lead(1) OVER w IS NULL AS last_row FROM j WINDOW w AS (ORDER BY {key_list})) \
         SELECT ((rn - 1) / {chunk})::int8 AS chunk, \
                count(*)::int8 AS rows, \
                count(*) FILTER (WHERE oh IS DISTINCT FROM nh)::int8 AS mismatched, \
                count(*) FILTER (WHERE nh IS NULL)::int8 AS only_old, \
                count(*) FILTER (WHERE oh IS NULL)::int8 AS only_new, \
                max(k) FILTER (WHERE (rn - 1) % {chunk} = 0) AS first_key, \
                max(k) FILTER (WHERE rn % {chunk} = 0 OR last_row) AS last_key, \
                (array_agg(CASE WHEN nh IS NULL THEN 'missing ' WHEN oh IS NULL THEN 'extra ' ELSE 'changed ' END || k ORDER BY rn) \
                    FILTER (WHERE oh IS DISTINCT FROM nh))[1:{sample}] AS sample \
         FROM r GROUP BY 1 ORDER BY 1"
    )
}

/// Compares the two read paths in one read-only snapshot and judges `parity.rows`.
pub(crate) async fn compare(args: &Options, b: &mut ReportBuilder) -> Result<()> {
    let target = &args.target;
    let client = target.connect().await?;
    let _s = gatehouse::trace::step("compare");
    // One snapshot for both sides; a bigger work_mem keeps the sort and the hash join of
    // a few million rows in memory (LOCAL: only for this transaction).
    target
        .within(
            "BEGIN",
            client.batch_execute(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL work_mem = '64MB'",
            ),
        )
        .await?;
    let sql = comparison_sql(
        &args.old,
        &args.new,
        &args.keys,
        args.chunk_size,
        args.sample.max(1),
    );
    target
        .within(
            "comparing --old and --new",
            client.batch_execute(&format!("DECLARE mg_parity NO SCROLL CURSOR FOR {sql}")),
        )
        .await?;
    let mut tally = Tally::default();
    loop {
        let rows = target
            .within(
                "comparing --old and --new",
                client.query(&format!("FETCH {FETCH} FROM mg_parity"), &[]),
            )
            .await?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            tally.add_chunk(r, args.sample as usize);
        }
    }
    let _ = target
        .within("COMMIT", client.batch_execute("COMMIT"))
        .await;
    judge(args, &tally, b);
    Ok(())
}

/// The chunks read so far, added up.
#[derive(Default)]
struct Tally {
    total: i64,
    mismatched: i64,
    only_old: i64,
    only_new: i64,
    chunks: u64,
    /// Up to `--sample` mismatching keys, as `kind key`.
    samples: Vec<String>,
    /// Up to `MAX_CHUNKS_LISTED` chunks with mismatches, for `data`.
    bad_chunks: Vec<serde_json::Value>,
}

impl Tally {
    /// One row of the comparison: a chunk's counts, key range and sample.
    fn add_chunk(&mut self, r: &tokio_postgres::Row, sample_max: usize) {
        self.chunks += 1;
        let n: i64 = r.get(1);
        let mm: i64 = r.get(2);
        self.total += n;
        self.mismatched += mm;
        self.only_old += r.get::<_, i64>(3);
        self.only_new += r.get::<_, i64>(4);
        if mm == 0 {
            return;
        }
        let sample: Vec<String> = r.get::<_, Option<Vec<String>>>(7).unwrap_or_default();
        for s in &sample {
            if self.samples.len() < sample_max {
                self.samples.push(s.clone());
            }
        }
        if self.bad_chunks.len() < MAX_CHUNKS_LISTED {
            self.bad_chunks.push(json!({
                "chunk": r.get::<_, i64>(0),
                "first_key": r.get::<_, Option<String>>(5),
                "last_key": r.get::<_, Option<String>>(6),
                "rows": n,
                "mismatched": mm,
            }));
        }
    }
}

/// `parity.rows` against `--min-parity`, the sample table, `data` and the summary.
fn judge(args: &Options, t: &Tally, b: &mut ReportBuilder) {
    let Tally {
        total,
        mismatched,
        only_old,
        only_new,
        chunks,
        ref samples,
        ref bad_chunks,
    } = *t;
    let matched = total - mismatched;
    #[expect(
        clippy::cast_precision_loss,
        reason = "a fraction; exact below 2^53 rows"
    )]
    let parity = if total == 0 {
        1.0
    } else {
        matched as f64 / total as f64
    };
    let changed = mismatched - only_old - only_new;
    let mut check = Check::at_least(CheckId::ParityRows.as_str(), parity, args.min_parity);
    check = check.with_message(if mismatched == 0 {
        format!("all {total} keys match ({chunks} chunks of {})", args.chunk_size)
    } else {
        format!(
            "{mismatched} of {total} keys differ ({changed} changed, {only_old} missing in new, {only_new} only in new): {}",
            samples.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
        )
    });
    if total == 0 {
        check = Check::warn(
            CheckId::ParityRows.as_str(),
            "both queries returned no rows: nothing compared",
        )
        .with_numbers(1.0, args.min_parity);
    }
    b.check(check);
    if !samples.is_empty() {
        let mut s = Section::new("Mismatching keys (sample)", &["kind", "key"]);
        for x in samples {
            let (kind, key) = x.split_once(' ').unwrap_or(("changed", x));
            s.row(vec![kind.to_owned(), key.to_owned()]);
        }
        b.section(s);
    }
    b.data(json!({
        "keys": args.keys,
        "rows": total,
        "matched": matched,
        "mismatched": mismatched,
        "changed": changed,
        "missing_in_new": only_old,
        "only_in_new": only_new,
        "parity": parity,
        "chunk_size": args.chunk_size,
        "chunks": chunks,
        "sample": samples,
        "mismatched_chunks": bad_chunks,
    }));
    b.summary(format!(
        "parity {:.6} over {total} keys ({mismatched} differ; budget {})",
        parity, args.min_parity
    ));
}
