//! The load engine. Each worker is an OS thread with its own single-threaded tokio runtime,
//! its own VUs (each with one kept-alive connection) and its own [`Metrics`]: nothing on the
//! hot path is shared, locked or looked up. Arrival-rate scenarios start iterations at their
//! intended times whatever the server does (open model); latency counts from that time.
//! The calling thread waits, prints progress on a terminal, and turns Ctrl-C into a stop:
//! the workers stop starting iterations, give in-flight ones a moment, and return what ran.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use tokio::sync::watch;

use crate::http::{self, Sender};
use crate::metrics::{ErrorKind, Metrics, Sample};
use crate::scenario::{Executor, Request, Scenario, Target};
use crate::schedule::{Arrivals, Slice, peak_vus, vus_at, weighted_cycle};

/// A run's checked options.
#[derive(Debug, Clone)]
pub struct Options {
    pub scenario: Arc<Scenario>,
    pub target: Target,
    pub workers: usize,
    /// Shard index and count (0 of 1 when not sharded).
    pub shard: (u64, u64),
    /// Let a crossed `abortOnFail` threshold stop the run. Off for a shard whose thresholds
    /// `perf-gate merge` judges: its share alone is not the verdict (and stopping one shard
    /// would only leave the merge partial).
    pub abort_on_fail: bool,
    pub connect_timeout: Duration,
    /// A one-line live progress on stderr.
    pub progress: bool,
    /// Stop when the target refuses connections for this long with no request succeeding.
    pub lost_after: Duration,
    /// CA certificates trusted besides the webpki roots (`--ca-cert`).
    pub ca_certs: Arc<Vec<rustls::pki_types::CertificateDer<'static>>>,
}

/// Why a run ended before its schedule did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    Interrupted,
    LostTarget(String),
    /// An `abortOnFail` threshold was crossed (its source): the run is judged on what ran.
    Threshold(String),
}

/// What a run measured.
#[derive(Debug)]
pub struct Outcome {
    pub metrics: Metrics,
    pub duration_s: f64,
    /// Seconds the schedule ran (planned, or until the stop).
    pub schedule_s: f64,
    pub stopped: Option<Stop>,
}

/// Connects once (TCP, TLS) before any load, so an unreachable target is one clear error
/// instead of a run of failed requests.
pub fn preflight(opts: &Options) -> Result<(), String> {
    let (target, timeout, http2) = (&opts.target, opts.connect_timeout, opts.scenario.http2);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let tls = if target.tls {
            Some(http::tls_connector(http2, &opts.ca_certs)?)
        } else {
            None
        };
        let mut conn = http::connect(target, tls.as_ref(), timeout, http2)
            .await
            .map_err(|e| e.message)?;
        if http2 {
            // An HTTP/2 client handshake completes without the server: only an answer to a
            // request (HEAD of the base path, any status) shows the port speaks HTTP/2.
            let req = hyper::Request::head(format!("{target}/"))
                .body(http_body_util::Full::new(bytes::Bytes::new()))
                .map_err(|e| format!("cannot build the HTTP/2 probe: {e}"))?;
            let answered = tokio::time::timeout(timeout, conn.send(req)).await;
            if !matches!(answered, Ok(Ok(_))) {
                return Err("does not answer HTTP/2 (h2c with prior knowledge, or ALPN h2 over TLS); for HTTP/1.1 set http2: false".to_owned());
            }
        }
        Ok(())
    })
}

struct Shared {
    opts: Options,
    start: Instant,
    stop: AtomicBool,
    lost: Mutex<Option<String>>,
    done: AtomicUsize,
    reqs: AtomicU64,
    errors: AtomicU64,
    /// Each worker's p95 so far, in µs (for the progress line).
    p95: Vec<AtomicU64>,
    /// Each worker's metrics as of its last second, when an abortOnFail threshold needs them.
    snapshots: Vec<Mutex<Option<Metrics>>>,
    aborted_by: Mutex<Option<String>>,
}

impl Shared {
    fn needs_snapshots(&self) -> bool {
        self.opts.abort_on_fail
            && self
                .opts
                .scenario
                .thresholds
                .iter()
                .any(|t| t.abort_on_fail)
    }
}

/// Runs the scenario to its end (or to Ctrl-C, or until the target is lost).
pub fn run(opts: Options) -> Result<Outcome, String> {
    let workers = opts.workers.max(1);
    let shared = Arc::new(Shared {
        start: Instant::now() + Duration::from_millis(50),
        stop: AtomicBool::new(false),
        lost: Mutex::new(None),
        done: AtomicUsize::new(0),
        reqs: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        p95: (0..workers).map(|_| AtomicU64::new(0)).collect(),
        snapshots: (0..workers).map(|_| Mutex::new(None)).collect(),
        aborted_by: Mutex::new(None),
        opts,
    });
    let mut handles = Vec::new();
    for w in 0..workers {
        let sh = Arc::clone(&shared);
        let h = std::thread::Builder::new()
            .name(format!("perf-gate-{w}"))
            .spawn(move || {
                let out = worker(w, &sh);
                sh.done.fetch_add(1, Ordering::SeqCst);
                out
            })
            .map_err(|e| format!("cannot start a worker thread: {e}"))?;
        handles.push(h);
    }
    let interrupted = watch_controller(&shared, workers)?;
    let mut metrics = Metrics::new(
        shared.opts.scenario.requests.len(),
        shared.opts.scenario.scenarios.len(),
    );
    let mut last_end = shared.start;
    let mut last_drained = shared.start;
    for h in handles {
        match h.join() {
            Ok(Ok((m, end, drained))) => {
                metrics.add(&m);
                last_end = last_end.max(end);
                last_drained = last_drained.max(drained);
            }
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err("a worker thread panicked".to_owned()),
        }
    }
    let closed: Vec<bool> = shared
        .opts
        .scenario
        .scenarios
        .iter()
        .map(|s| !s.executor.is_open())
        .collect();
    metrics.correct_closed(&closed);
    let lost = shared.lost.lock().ok().and_then(|g| g.clone());
    let aborted = shared.aborted_by.lock().ok().and_then(|g| g.clone());
    let stopped = if interrupted {
        Some(Stop::Interrupted)
    } else if let Some(l) = lost {
        Some(Stop::LostTarget(l))
    } else {
        aborted.map(Stop::Threshold)
    };
    let actual = last_end
        .saturating_duration_since(shared.start)
        .as_secs_f64();
    let sc = &shared.opts.scenario;
    let time_based = sc.scenarios.iter().all(|s| {
        !matches!(
            s.executor,
            Executor::PerVuIterations { .. } | Executor::SharedIterations { .. }
        )
    });
    let planned = sc
        .scenarios
        .iter()
        .map(|s| (s.start_time + s.executor.duration()).as_secs_f64())
        .fold(0.0, f64::max);
    // As k6 counts it: rates are per second of the whole run, the drain of in-flight
    // iterations included (an overloaded server completes fewer per second than were sent).
    let drained = last_drained
        .saturating_duration_since(shared.start)
        .as_secs_f64();
    let duration_s = if stopped.is_none() && time_based {
        planned.max(drained)
    } else {
        actual
    };
    Ok(Outcome {
        metrics,
        duration_s,
        schedule_s: if stopped.is_none() && time_based {
            planned
        } else {
            actual
        },
        stopped,
    })
}

/// Waits for the workers; Ctrl-C stops them. Returns whether the run was interrupted.
fn watch_controller(shared: &Arc<Shared>, workers: usize) -> Result<bool, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    Ok(rt.block_on(async {
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        let mut interrupted = false;
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        let mut last_print = Instant::now();
        loop {
            tokio::select! {
                r = &mut ctrl_c, if !interrupted => {
                    if r.is_ok() {
                        interrupted = true;
                        shared.stop.store(true, Ordering::SeqCst);
                    }
                }
                _ = tick.tick() => {
                    if shared.done.load(Ordering::SeqCst) >= workers {
                        break;
                    }
                    if last_print.elapsed() >= Duration::from_secs(1) {
                        last_print = Instant::now();
                        if shared.opts.progress {
                            progress(shared);
                        }
                        if shared.needs_snapshots() {
                            abort_on_fail(shared);
                        }
                    }
                }
            }
        }
        if shared.opts.progress {
            #[expect(
                clippy::print_stderr,
                reason = "the live progress line is stderr's, on a terminal only"
            )]
            {
                eprint!("\r\x1b[2K");
            }
        }
        interrupted
    }))
}

/// Judges the abortOnFail thresholds on the workers' last snapshots; a crossed one (past
/// its delayAbortEval) stops the run.
fn abort_on_fail(shared: &Shared) {
    let elapsed = shared.start.elapsed();
    let sc = &shared.opts.scenario;
    let due: Vec<_> = sc
        .thresholds
        .iter()
        .filter(|t| t.abort_on_fail && elapsed >= t.delay_abort_eval)
        .collect();
    if due.is_empty() || shared.stop.load(Ordering::SeqCst) {
        return;
    }
    let mut m = Metrics::new(sc.requests.len(), sc.scenarios.len());
    for slot in &shared.snapshots {
        if let Ok(g) = slot.lock()
            && let Some(snap) = g.as_ref()
        {
            m.add(snap);
        }
    }
    let s = m.summarize(
        &sc.request_names(),
        &sc.scenario_names(),
        elapsed.as_secs_f64(),
        sc.is_open(),
    );
    for t in due {
        if let Some(v) = t.observe(&s)
            && !t.op.holds(v, t.limit)
        {
            if let Ok(mut g) = shared.aborted_by.lock() {
                *g = Some(t.source());
            }
            shared.stop.store(true, Ordering::SeqCst);
            return;
        }
    }
}

fn progress(shared: &Shared) {
    let elapsed = shared.start.elapsed().as_secs_f64();
    let reqs = shared.reqs.load(Ordering::Relaxed);
    let errors = shared.errors.load(Ordering::Relaxed);
    let p95 = shared
        .p95
        .iter()
        .map(|a| a.load(Ordering::Relaxed))
        .max()
        .unwrap_or(0);
    let rate = if elapsed > 0.0 {
        reqs as f64 / elapsed
    } else {
        0.0
    };
    #[expect(
        clippy::print_stderr,
        reason = "the live progress line is stderr's, on a terminal only"
    )]
    {
        eprint!(
            "\r\x1b[2Kperf-gate: {elapsed:.0}s  {rate:.1} req/s  p95 {:.1} ms  errors {errors}",
            p95 as f64 / 1000.0
        );
    }
}

/// A virtual user: one connection, reused while the server keeps it alive.
struct Vu {
    conn: Option<Sender>,
}

/// An open-model VU's mailbox: the scheduler puts an iteration (request, intended time) in
/// and wakes the VU's task. VU tasks live for the run, so starting an iteration allocates
/// nothing.
struct Mailbox {
    job: Cell<Option<(usize, Instant)>>,
    wake: tokio::sync::Notify,
}

/// The VUs of one arrival-rate scenario in one worker: the idle ones' mailboxes.
struct Pool {
    idle: RefCell<Vec<Rc<Mailbox>>>,
    allocated: Cell<u64>,
    max: u64,
}

/// A prepared request: what does not change between iterations.
struct Prepared {
    req: Request,
    path: Option<hyper::Uri>,
    headers: Vec<(
        hyper::header::HeaderName,
        Option<hyper::header::HeaderValue>,
    )>,
    body: Option<Bytes>,
    fixed_size: u64,
}

struct Worker {
    shared: Arc<Shared>,
    host: hyper::header::HeaderValue,
    tls: Option<tokio_rustls::TlsConnector>,
    metrics: RefCell<Metrics>,
    requests: Vec<Prepared>,
    cycle: Vec<usize>,
    inflight: Cell<usize>,
    stop: watch::Receiver<bool>,
    seq: Cell<u64>,
    seq_stride: u64,
    refused_since: Cell<Option<Instant>>,
    index: usize,
}

fn worker(w: usize, shared: &Arc<Shared>) -> Result<(Metrics, Instant, Instant), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, worker_main(w, Arc::clone(shared)))
}

fn prepare(r: &Request) -> Prepared {
    let path = r.path.fixed().and_then(|p| p.parse().ok());
    let headers = r
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.fixed()
                    .and_then(|f| hyper::header::HeaderValue::from_str(&f).ok()),
            )
        })
        .collect();
    let body = r.body.as_ref().and_then(|b| b.fixed()).map(Bytes::from);
    let fixed_size = r.method.as_str().len() as u64
        + r.path.fixed().map_or(0, |p| p.len() as u64)
        + r.headers
            .iter()
            .map(|(k, v)| k.as_str().len() as u64 + v.fixed().map_or(0, |f| f.len() as u64) + 4)
            .sum::<u64>()
        + 40;
    Prepared {
        req: r.clone(),
        path,
        headers,
        body,
        fixed_size,
    }
}

async fn worker_main(w: usize, shared: Arc<Shared>) -> Result<(Metrics, Instant, Instant), String> {
    let opts = &shared.opts;
    let sc = Arc::clone(&opts.scenario);
    let workers = opts.workers.max(1) as u64;
    let slice = Slice::of(opts.shard.0, opts.shard.1, w as u64, workers);
    let tls = if opts.target.tls {
        Some(http::tls_connector(sc.http2, &opts.ca_certs)?)
    } else {
        None
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let host = hyper::header::HeaderValue::from_str(&opts.target.authority())
        .map_err(|e| format!("{}: not a Host header: {e}", opts.target))?;
    let me = Rc::new(Worker {
        shared: Arc::clone(&shared),
        host,
        tls,
        metrics: RefCell::new(Metrics::new(sc.requests.len(), sc.scenarios.len())),
        requests: sc.requests.iter().map(prepare).collect(),
        cycle: weighted_cycle(&sc.requests.iter().map(|r| r.weight).collect::<Vec<_>>()),
        inflight: Cell::new(0),
        stop: stop_rx,
        seq: Cell::new(slice.offset),
        seq_stride: slice.stride,
        refused_since: Cell::new(None),
        index: w,
    });
    // The stop flag and the progress figures, polled off the hot path.
    let ticker = {
        let me = Rc::clone(&me);
        tokio::task::spawn_local(async move {
            let mut n = 0u32;
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                if me.shared.stop.load(Ordering::Relaxed) {
                    let _ = stop_tx.send(true);
                }
                n += 1;
                if n.is_multiple_of(100) {
                    let p95 = me.metrics.borrow().all.duration.value_at_quantile(0.95);
                    if let Some(a) = me.shared.p95.get(me.index) {
                        a.store(p95, Ordering::Relaxed);
                    }
                    if me.shared.needs_snapshots()
                        && let Some(slot) = me.shared.snapshots.get(me.index)
                    {
                        let snap = me.metrics.borrow().clone();
                        if let Ok(mut g) = slot.lock() {
                            *g = Some(snap);
                        }
                    }
                }
            }
        })
    };
    let mut tasks = Vec::new();
    let mut grace = Duration::ZERO;
    for (si, spec) in sc.scenarios.iter().enumerate() {
        let begin = shared.start + spec.start_time;
        let end = begin + spec.executor.duration();
        grace = grace.max(spec.graceful_stop);
        if let Some(arrivals) = Arrivals::of(&spec.executor, slice) {
            let max = match spec.executor {
                Executor::ConstantArrivalRate { max_vus, .. }
                | Executor::RampingArrivalRate { max_vus, .. } => max_vus,
                _ => 0,
            };
            let pool = Rc::new(Pool {
                idle: RefCell::new(Vec::new()),
                allocated: Cell::new(0),
                max: slice.share(max).max(1),
            });
            tasks.push(tokio::task::spawn_local(open_scheduler(
                Rc::clone(&me),
                si,
                arrivals,
                pool,
                begin,
            )));
            continue;
        }
        let (vus, per_vu, shared_iters) = match &spec.executor {
            Executor::ConstantVus { vus, .. } => (*vus, None, None),
            Executor::RampingVus { start_vus, stages } => {
                (peak_vus(*start_vus, stages), None, None)
            }
            Executor::PerVuIterations {
                vus, iterations, ..
            } => (*vus, Some(*iterations), None),
            Executor::SharedIterations {
                vus, iterations, ..
            } => (
                *vus,
                None,
                Some(Rc::new(Cell::new(slice.share(*iterations)))),
            ),
            _ => (0, None, None),
        };
        for v in (0..vus).filter(|v| slice.contains(*v)) {
            tasks.push(tokio::task::spawn_local(closed_vu(
                Rc::clone(&me),
                si,
                v,
                begin,
                end,
                per_vu,
                shared_iters.clone(),
            )));
        }
    }
    for t in tasks {
        let _ = t.await;
    }
    let scheduled_end = Instant::now();
    // In-flight iterations get their gracefulStop (a stopped run: one second).
    let stopped = *me.stop.borrow() || shared.stop.load(Ordering::Relaxed);
    let deadline = Instant::now()
        + if stopped {
            Duration::from_secs(1)
        } else {
            grace
        };
    while me.inflight.get() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    ticker.abort();
    let m = me.metrics.borrow().clone();
    Ok((m, scheduled_end, Instant::now()))
}

async fn stopped(me: &Worker) {
    let mut rx = me.stop.clone();
    let _ = rx.wait_for(|s| *s).await;
}

async fn open_scheduler(
    me: Rc<Worker>,
    si: usize,
    arrivals: Arrivals,
    pool: Rc<Pool>,
    begin: Instant,
) {
    for (k, at) in arrivals {
        if *me.stop.borrow() {
            break;
        }
        let when = begin + at;
        if when > Instant::now() {
            tokio::select! {
                () = tokio::time::sleep_until(when.into()) => {}
                () = stopped(&me) => break,
            }
        }
        me.metrics.borrow_mut().scheduled += 1;
        let req = me.cycle[(k % me.cycle.len() as u64) as usize];
        let mut idle = pool.idle.borrow_mut().pop();
        if idle.is_none() && pool.allocated.get() > 0 {
            // Behind schedule (the thread was descheduled), this loop hands out every overdue
            // arrival without awaiting: VUs whose responses are already in their sockets never
            // get to run and come back, so each arrival would start a new VU (and connection),
            // up to maxVUs, and they would all stay. One turn of the I/O driver first lets the
            // finished ones come back; a new VU is started only if none did.
            tokio::task::yield_now().await;
            idle = pool.idle.borrow_mut().pop();
        }
        match idle {
            Some(mb) => {
                mb.job.set(Some((req, when)));
                mb.wake.notify_one();
            }
            None if pool.allocated.get() < pool.max => {
                pool.allocated.set(pool.allocated.get() + 1);
                let mb = Rc::new(Mailbox {
                    job: Cell::new(Some((req, when))),
                    wake: tokio::sync::Notify::new(),
                });
                tokio::task::spawn_local(open_vu(Rc::clone(&me), si, Rc::clone(&pool), mb));
            }
            None => {
                // Every VU is busy and maxVUs is reached: k6's dropped iteration.
                me.metrics.borrow_mut().dropped += 1;
                continue;
            }
        }
        me.inflight.set(me.inflight.get() + 1);
    }
}

/// One open-model VU: waits for an iteration, runs it, goes back to the idle list.
async fn open_vu(me: Rc<Worker>, si: usize, pool: Rc<Pool>, mb: Rc<Mailbox>) {
    let mut vu = Vu { conn: None };
    loop {
        let job = loop {
            if let Some(j) = mb.job.take() {
                break Some(j);
            }
            tokio::select! {
                () = mb.wake.notified() => {}
                () = stopped(&me) => break None,
            }
        };
        let Some((req, when)) = job else {
            // Stopped; an iteration handed over at the same moment is counted out.
            if mb.job.take().is_some() {
                me.inflight.set(me.inflight.get() - 1);
            }
            return;
        };
        let finished = tokio::select! {
            () = iteration(&me, &mut vu, req, si, when) => true,
            () = stopped(&me) => false,
        };
        me.inflight.set(me.inflight.get() - 1);
        if !finished {
            return;
        }
        pool.idle.borrow_mut().push(Rc::clone(&mb));
    }
}

async fn closed_vu(
    me: Rc<Worker>,
    si: usize,
    v: u64,
    begin: Instant,
    end: Instant,
    per_vu: Option<u64>,
    shared_iters: Option<Rc<Cell<u64>>>,
) {
    let spec = &me.shared.opts.scenario.scenarios[si];
    if begin > Instant::now() {
        tokio::select! {
            () = tokio::time::sleep_until(begin.into()) => {}
            () = stopped(&me) => return,
        }
    }
    let mut vu = Vu { conn: None };
    let mut done = 0u64;
    loop {
        let now = Instant::now();
        if now >= end || *me.stop.borrow() {
            break;
        }
        if let Some(n) = per_vu
            && done >= n
        {
            break;
        }
        if let Some(left) = &shared_iters {
            if left.get() == 0 {
                break;
            }
            left.set(left.get() - 1);
        }
        if let Executor::RampingVus { start_vus, stages } = &spec.executor
            && (v as f64) >= vus_at(*start_vus, stages, now - begin).floor()
        {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(20)) => {}
                () = stopped(&me) => break,
            }
            continue;
        }
        let req = me.cycle[((v + done) % me.cycle.len() as u64) as usize];
        me.inflight.set(me.inflight.get() + 1);
        let hard_end = end + spec.graceful_stop;
        tokio::select! {
            () = iteration(&me, &mut vu, req, si, now) => {}
            () = stopped(&me) => { me.inflight.set(me.inflight.get() - 1); break; }
            () = tokio::time::sleep_until(hard_end.into()) => { me.inflight.set(me.inflight.get() - 1); break; }
        }
        me.inflight.set(me.inflight.get() - 1);
        done += 1;
    }
}

fn us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// One iteration: one request, measured from `intended`.
async fn iteration(me: &Worker, vu: &mut Vu, ri: usize, si: usize, intended: Instant) {
    let sent_at = Instant::now();
    let mut sample = Sample {
        name: ri,
        scenario: si,
        duration_us: 0,
        service_us: 0,
        waiting_us: None,
        error: None,
        checks_passed: 0,
        checks_total: 0,
        sent: 0,
        received: 0,
        closed: !me.shared.opts.scenario.scenarios[si].executor.is_open(),
    };
    let p = &me.requests[ri];
    sample.checks_total = p.req.checks.count();
    let result = tokio::time::timeout(
        me.shared.opts.scenario.timeout,
        exchange(me, vu, p, sent_at, &mut sample),
    )
    .await;
    match result {
        Ok(Ok(())) => {}
        Ok(Err(kind)) => sample.error = Some(kind),
        Err(_) => {
            sample.error = Some(ErrorKind::Timeout);
            vu.conn = None;
        }
    }
    let done = Instant::now();
    sample.duration_us = us(done.saturating_duration_since(intended));
    sample.service_us = us(done - sent_at);
    match sample.error {
        Some(ErrorKind::Connect) => {
            let since = me.refused_since.get().unwrap_or(done);
            me.refused_since.set(Some(since));
            let lost_after = me.shared.opts.lost_after;
            if done - since >= lost_after {
                if let Ok(mut g) = me.shared.lost.lock()
                    && g.is_none()
                {
                    *g = Some(format!(
                        "every connection was refused for {} (the target went away mid-run)",
                        gatehouse::duration::format_duration(lost_after)
                    ));
                }
                me.shared.stop.store(true, Ordering::SeqCst);
            }
        }
        _ if sample.waiting_us.is_some() => me.refused_since.set(None),
        _ => {}
    }
    if sample.error.is_some() {
        me.shared.errors.fetch_add(1, Ordering::Relaxed);
    }
    me.shared.reqs.fetch_add(1, Ordering::Relaxed);
    me.metrics.borrow_mut().record(&sample);
}

async fn exchange(
    me: &Worker,
    vu: &mut Vu,
    p: &Prepared,
    sent_at: Instant,
    sample: &mut Sample,
) -> Result<(), ErrorKind> {
    let ready = match vu.conn.as_mut() {
        Some(c) => c.ready().await,
        None => false,
    };
    if !ready {
        vu.conn = None;
        let t0 = Instant::now();
        let c = http::connect(
            &me.shared.opts.target,
            me.tls.as_ref(),
            me.shared.opts.connect_timeout,
            me.shared.opts.scenario.http2,
        )
        .await
        .map_err(|e| e.kind)?;
        me.metrics.borrow_mut().record_connect(us(t0.elapsed()));
        vu.conn = Some(c);
    }
    let Some(conn) = vu.conn.as_mut() else {
        return Err(ErrorKind::Connect);
    };
    let seq = me.seq.get();
    me.seq.set(seq + me.seq_stride);
    let req = build(me, p, seq).ok_or(ErrorKind::Protocol)?;
    sample.sent = p.fixed_size + p.body.as_ref().map_or(0, |b| b.len() as u64);
    let resp = match conn.send(req).await {
        Ok(r) => r,
        Err(e) => {
            vu.conn = None;
            return Err(http::classify(&e));
        }
    };
    sample.waiting_us = Some(us(sent_at.elapsed()));
    let status = resp.status().as_u16();
    let checks = &p.req.checks;
    let need_body = checks.body_contains.is_some() || !checks.json.is_empty();
    let mut body = resp.into_body();
    let mut received = 0u64;
    let mut kept: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(f) => f,
            Err(e) => {
                vu.conn = None;
                return Err(http::classify(&e));
            }
        };
        if let Some(d) = frame.data_ref() {
            received += d.len() as u64;
            if need_body && kept.len() < 16 << 20 {
                kept.extend_from_slice(d);
            }
        }
    }
    sample.received = received + 64;
    let mut passed = 0;
    if let Some(s) = checks.status {
        passed += u64::from(s == status);
    }
    if let Some(needle) = &checks.body_contains {
        passed += u64::from(
            kept.windows(needle.len().max(1))
                .any(|w| w == needle.as_bytes()),
        );
    }
    if !checks.json.is_empty() {
        let doc: Option<serde_json::Value> = serde_json::from_slice(&kept).ok();
        for (path, want) in &checks.json {
            let got = doc.as_ref().and_then(|d| json_path(d, path));
            passed += u64::from(got == Some(want));
        }
    }
    sample.checks_passed = passed;
    match status {
        400..=499 => Err(ErrorKind::Status4xx),
        500..=599 => Err(ErrorKind::Status5xx),
        _ => Ok(()),
    }
}

/// `a.b.0.c` into a JSON document.
fn json_path<'a>(doc: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    let mut cur = doc;
    for seg in path.trim_start_matches("$.").split('.') {
        cur = match cur {
            serde_json::Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            serde_json::Value::Object(o) => o.get(seg)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn build(me: &Worker, p: &Prepared, seq: u64) -> Option<hyper::Request<Full<Bytes>>> {
    let opts = &me.shared.opts;
    let base = &opts.target.base;
    let http2 = opts.scenario.http2;
    let uri: hyper::Uri = match (&p.path, base.is_empty() && !http2) {
        (Some(u), true) => u.clone(),
        _ => {
            // HTTP/2 takes :scheme and :authority from an absolute URI.
            let mut s = if http2 {
                opts.target.to_string()
            } else {
                base.clone()
            };
            p.req.path.render(seq, &mut s);
            s.parse().ok()?
        }
    };
    let mut b = hyper::Request::builder()
        .method(p.req.method.clone())
        .uri(uri);
    if !http2 {
        b = b.header(hyper::header::HOST, me.host.clone());
    }
    for ((name, fixed), (_, t)) in p.headers.iter().zip(&p.req.headers) {
        let v = match fixed {
            Some(v) => v.clone(),
            None => {
                let mut s = String::new();
                t.render(seq, &mut s);
                hyper::header::HeaderValue::from_str(&s).ok()?
            }
        };
        b = b.header(name, v);
    }
    let body = match (&p.body, &p.req.body) {
        (Some(fixed), _) => fixed.clone(),
        (None, Some(t)) => {
            let mut s = String::new();
            t.render(seq, &mut s);
            Bytes::from(s)
        }
        (None, None) => Bytes::new(),
    };
    if p.req.json_body
        && !p
            .req
            .headers
            .iter()
            .any(|(k, _)| k == hyper::header::CONTENT_TYPE)
    {
        b = b.header(hyper::header::CONTENT_TYPE, "application/json");
    }
    b.body(Full::new(body)).ok()
}
