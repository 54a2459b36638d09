//! Parses many files on every core, ahead of a consumer that takes the results one by one
//! in order. `lint` spends most of its time in PostgreSQL's parser (libpg_query's C parser,
//! the tree's trip through protobuf into Rust, a scan for token offsets), and files parse
//! independently; but the rules must walk the history in order, each migration seeing the
//! catalog the earlier ones built. So workers parse ahead while the calling thread runs the
//! rules: the report is byte for byte the one a single thread produces.
//!
//! libpg_query is thread-safe: its memory contexts, error state and parser globals are
//! thread-local (`__thread`; its CHANGELOG: "Make library thread-safe through thread-local
//! storage"), it initialises itself on each thread's first call, and its stderr capture (a
//! process-wide `dup2`) is compiled out (`#define DEBUG` in `pg_query_internal.h`).

use std::num::NonZeroUsize;
use std::ops::Deref;
use std::sync::mpsc::{Receiver, Sender};

use crate::sql::{self, ParseResult};

/// Files a worker parses and hands over at once: one hand-over per file cost a thread
/// wake-up per file.
const BATCH: usize = 4;

/// Batches a worker may have parsed ahead of the consumer. Few: parsing the whole corpus
/// up front held 100 MB of parse trees, and the page faults cost more than the second core
/// saved.
const AHEAD: usize = 2;

/// At most this many workers. The rules, on the calling thread, take about a fifth of the
/// parse time, so a handful of workers keeps ahead of them; more would only wait, each with
/// its own malloc arena and libpg_query memory context.
const MAX_WORKERS: usize = 8;

/// Workers' stacks: the size of the main thread's (Linux's default 8 MiB `RLIMIT_STACK`).
/// libpg_query sizes its "stack depth limit exceeded" check from the calling thread's
/// stack (at most 2 MB, plus 512 kB of slop), so on std's 2 MiB default a deeply nested
/// statement that parses on the main thread could fail on a worker.
const WORKER_STACK: usize = 8 * 1024 * 1024;

/// Parses `texts` on every core while `consume` takes the results in order; returns what
/// `consume` returns.
///
/// The batches are dealt out in turn: worker `w` of `n` parses batches `w`, `w + n`, ...
/// and sends them, in that order, on its own bounded channel, so they arrive in order and
/// no worker runs more than `AHEAD` batches ahead. A batch whose worker could not be
/// spawned (or died) is parsed on the calling thread. If `consume` stops early or panics,
/// the channels close and the workers stop.
pub fn parse_ahead<T>(texts: &[&str], consume: impl FnOnce(&mut Parses<'_>) -> T) -> T {
    let threads = std::thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .min(MAX_WORKERS)
        .min(texts.len().div_ceil(BATCH));
    if threads <= 1 {
        return consume(&mut Parses::new(texts, Vec::new()));
    }
    std::thread::scope(|s| {
        let workers = (0..threads)
            .map(|w| {
                let (results_tx, results) = std::sync::mpsc::sync_channel(AHEAD);
                let (spent, spent_rx) = std::sync::mpsc::channel::<ParseResult>();
                let mine = texts.chunks(BATCH).skip(w).step_by(threads);
                std::thread::Builder::new()
                    .name(format!("parse-{w}"))
                    .stack_size(WORKER_STACK)
                    .spawn_scoped(s, move || {
                        for batch in mine {
                            // Free what the consumer is done with, here (see `Lent`).
                            spent_rx.try_iter().for_each(drop);
                            let parsed = batch.iter().map(|t| sql::parse_file(t)).collect();
                            if results_tx.send(parsed).is_err() {
                                return; // the consumer stopped early
                            }
                        }
                    })
                    .ok()
                    .map(|_| Worker { results, spent })
            })
            .collect();
        consume(&mut Parses::new(texts, workers))
    })
}

/// A worker's two channels: parsed batches in, spent parses back out.
struct Worker {
    results: Receiver<Vec<ParseResult>>,
    spent: Sender<ParseResult>,
}

/// The results of `parse_ahead`, in the order of its `texts`.
pub struct Parses<'a> {
    batches: std::iter::Enumerate<std::slice::Chunks<'a, &'a str>>,
    current: std::vec::IntoIter<ParseResult>,
    /// Where the current batch came from, if a worker parsed it.
    home: Option<Sender<ParseResult>>,
    /// Worker `w`'s channels, or `None` when it could not be spawned.
    workers: Vec<Option<Worker>>,
}

impl<'a> Parses<'a> {
    fn new(texts: &'a [&'a str], workers: Vec<Option<Worker>>) -> Self {
        Parses {
            batches: texts.chunks(BATCH).enumerate(),
            current: Vec::new().into_iter(),
            home: None,
            workers,
        }
    }
}

impl Iterator for Parses<'_> {
    type Item = Lent;

    fn next(&mut self) -> Option<Lent> {
        if self.current.len() == 0 {
            let (i, texts) = self.batches.next()?;
            let worker = i
                .checked_rem(self.workers.len())
                .and_then(|w| self.workers.get(w)?.as_ref());
            match worker.and_then(|w| Some((w.results.recv().ok()?, w.spent.clone()))) {
                Some((batch, home)) => {
                    self.current = batch.into_iter();
                    self.home = Some(home);
                }
                // No worker for this batch, or it died (the scope re-raises its panic).
                None => {
                    let batch: Vec<_> = texts.iter().map(|t| sql::parse_file(t)).collect();
                    self.current = batch.into_iter();
                    self.home = None;
                }
            }
        }
        Some(Lent {
            parsed: Some(self.current.next()?),
            home: self.home.clone(),
        })
    }
}

/// One file's parse. Dropping it sends the parse tree back to the worker that built it, to
/// be freed there: glibc's malloc keeps an arena per thread, and the main thread freeing
/// every tree the workers allocated made it fight them for their arenas' locks (futex waits,
/// and slower parsing on every thread).
pub struct Lent {
    parsed: Option<ParseResult>,
    home: Option<Sender<ParseResult>>,
}

impl Deref for Lent {
    type Target = ParseResult;

    fn deref(&self) -> &ParseResult {
        self.parsed.as_ref().expect("only Drop takes the parse")
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        if let (Some(parsed), Some(home)) = (self.parsed.take(), &self.home) {
            // A worker that has finished drops the channel: then it is freed here.
            let _ = home.send(parsed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a test compares of a parse: the first statement's tree, or the error offset.
    fn summary(p: &ParseResult) -> Result<String, usize> {
        match p {
            Ok(p) => Ok(format!("{:?}", p.statements.first().map(|s| &s.node))),
            Err(e) => Err(e.offset),
        }
    }

    fn texts() -> Vec<String> {
        (0..50)
            .map(|i| match i % 7 {
                3 => format!("SELECT {i};\nSELEC {i};"),
                5 => String::new(),
                _ => format!("CREATE TABLE t{i} (id int); SELECT {i};"),
            })
            .collect()
    }

    #[test]
    fn results_come_back_in_the_order_of_the_texts() {
        let owned = texts();
        let texts: Vec<&str> = owned.iter().map(String::as_str).collect();
        let got: Vec<_> = parse_ahead(&texts, |parses| parses.map(|p| summary(&p)).collect());
        let want: Vec<_> = texts.iter().map(|t| summary(&sql::parse_file(t))).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_consumer_that_stops_early_stops_the_workers() {
        let owned = texts();
        let texts: Vec<&str> = owned.iter().map(String::as_str).collect();
        assert_eq!(parse_ahead(&texts, |parses| parses.take(3).count()), 3);
    }
}
