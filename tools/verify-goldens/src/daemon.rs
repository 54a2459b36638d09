//! Owns the probe daemon's outputs (`run --every`): the Prometheus metrics of the rounds
//! so far, served on `--metrics-listen ADDR` at `/metrics` by a small std HTTP server, and
//! each round's report appended to `--jsonl FILE` as one JSON line.
//!
//! Metrics (text exposition format 0.0.4):
//! - `golden_path_up{environment,path}`: 1 when the path's last round passed, else 0;
//! - `golden_path_duration_seconds{environment,path}`: histogram of path durations;
//! - `realtime_delivery_lag_seconds{environment,path,step,transport}`: histogram of every
//!   delivered event's lag;
//! - `golden_path_rounds_total{environment}`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gatehouse::{InputError, Report};
use serde_json::Value;

const DURATION_BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];
const LAG_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64], v: f64) {
        if self.counts.len() != bounds.len() {
            self.counts = vec![0; bounds.len()];
        }
        for (i, b) in bounds.iter().enumerate() {
            if v <= *b {
                self.counts[i] += 1;
            }
        }
        self.sum += v;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str, bounds: &[f64]) {
        for (i, b) in bounds.iter().enumerate() {
            let c = self.counts.get(i).copied().unwrap_or(0);
            out.push_str(&format!("{name}_bucket{{{labels},le=\"{b}\"}} {c}\n"));
        }
        out.push_str(&format!(
            "{name}_bucket{{{labels},le=\"+Inf\"}} {}\n",
            self.count
        ));
        out.push_str(&format!("{name}_sum{{{labels}}} {}\n", self.sum));
        out.push_str(&format!("{name}_count{{{labels}}} {}\n", self.count));
    }
}

#[derive(Debug, Default)]
struct State {
    rounds: u64,
    environment: String,
    up: BTreeMap<String, u8>,
    durations: BTreeMap<String, Histogram>,
    /// (path, step, transport) → lags.
    lags: BTreeMap<(String, String, String), Histogram>,
}

/// The daemon's metrics, shared with the server thread.
#[derive(Clone, Default)]
pub(crate) struct Exporter {
    state: Arc<Mutex<State>>,
}

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Exporter {
    /// Listens on `addr` and serves `/metrics` from a thread for the life of the process.
    pub fn serve(&self, addr: SocketAddr) -> Result<SocketAddr, InputError> {
        let listener = TcpListener::bind(addr).map_err(|e| {
            InputError::invalid("--metrics-listen", format!("cannot listen on {addr}: {e}"))
        })?;
        let bound = listener.local_addr().unwrap_or(addr);
        let me = self.clone();
        std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    let Ok(mut conn) = conn else { continue };
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                    let _ = conn.set_write_timeout(Some(Duration::from_secs(5)));
                    let mut buf = [0u8; 4096];
                    let n = conn.read(&mut buf).unwrap_or(0);
                    let req = String::from_utf8_lossy(&buf[..n]);
                    let (status, body) = if req.starts_with("GET /metrics") {
                        ("200 OK", me.render())
                    } else {
                        ("404 Not Found", "only /metrics here\n".to_owned())
                    };
                    let _ = write!(
                        conn,
                        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                }
            })
            .map_err(|e| InputError::invalid("--metrics-listen", format!("cannot start the server: {e}")))?;
        Ok(bound)
    }

    /// Counts one round's report.
    pub fn observe(&self, report: &Report) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        st.rounds += 1;
        let data = &report.data;
        st.environment = data["environment"].as_str().unwrap_or_default().to_owned();
        for p in data["paths"].as_array().into_iter().flatten() {
            let name = p["name"].as_str().unwrap_or_default().to_owned();
            st.up.insert(name.clone(), u8::from(p["result"] == "ok"));
            if let Some(ms) = p["duration_ms"].as_f64() {
                st.durations
                    .entry(name.clone())
                    .or_default()
                    .observe(DURATION_BUCKETS, ms / 1e3);
            }
            for s in p["steps"].as_array().into_iter().flatten() {
                let rt = &s["realtime"];
                let Some(samples) = rt["samples_ms"].as_array() else {
                    continue;
                };
                let key = (
                    name.clone(),
                    s["step"].as_str().unwrap_or_default().to_owned(),
                    rt["transport"].as_str().unwrap_or_default().to_owned(),
                );
                let h = st.lags.entry(key).or_default();
                for v in samples.iter().filter_map(Value::as_f64) {
                    h.observe(LAG_BUCKETS, v / 1e3);
                }
            }
        }
    }

    fn render(&self) -> String {
        let Ok(st) = self.state.lock() else {
            return String::new();
        };
        let env = label(&st.environment);
        let mut out = String::new();
        out.push_str("# HELP golden_path_up 1 when the golden path passed its last round.\n# TYPE golden_path_up gauge\n");
        for (p, v) in &st.up {
            out.push_str(&format!(
                "golden_path_up{{environment=\"{env}\",path=\"{}\"}} {v}\n",
                label(p)
            ));
        }
        out.push_str("# HELP golden_path_duration_seconds How long each golden path took.\n# TYPE golden_path_duration_seconds histogram\n");
        for (p, h) in &st.durations {
            h.render(
                &mut out,
                "golden_path_duration_seconds",
                &format!("environment=\"{env}\",path=\"{}\"", label(p)),
                DURATION_BUCKETS,
            );
        }
        out.push_str("# HELP realtime_delivery_lag_seconds From a trigger's start to its event's arrival.\n# TYPE realtime_delivery_lag_seconds histogram\n");
        for ((p, s, t), h) in &st.lags {
            h.render(
                &mut out,
                "realtime_delivery_lag_seconds",
                &format!(
                    "environment=\"{env}\",path=\"{}\",step=\"{}\",transport=\"{}\"",
                    label(p),
                    label(s),
                    label(t)
                ),
                LAG_BUCKETS,
            );
        }
        out.push_str(&format!(
            "# HELP golden_path_rounds_total Probe rounds run.\n# TYPE golden_path_rounds_total counter\ngolden_path_rounds_total{{environment=\"{env}\"}} {}\n",
            st.rounds
        ));
        out
    }
}

/// Appends the report to `path` as one JSON line (passwords redacted); never over an input.
pub(crate) fn append_jsonl(path: &Path, report: &Report) -> Result<(), InputError> {
    gatehouse::input::refuse_input_overwrite(path)?;
    let line = serde_json::to_string(report)
        .map_err(|e| InputError::invalid(path.display().to_string(), e.to_string()))?;
    let line = gatehouse::redact::redact(&line).into_owned();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
        .map_err(|e| {
            InputError::invalid(path.display().to_string(), format!("cannot open: {e}"))
        })?;
    let torn = cut_torn_tail(&mut f)
        .map_err(|e| InputError::invalid(path.display().to_string(), e.to_string()))?;
    if torn > 0 {
        tracing::warn!(
            "{}: dropped a torn last line ({torn} bytes) an interrupted run left",
            path.display()
        );
    }
    gatehouse::run::append_whole_line(&mut f, format!("{line}\n").as_bytes())
        .map_err(|e| InputError::invalid(path.display().to_string(), e.to_string()))
}

/// A file that does not end in a newline ends in a line a killed run was writing (SIGKILL,
/// power loss): cut it back to after its last newline, so every line of the log is a whole
/// report and the next one starts on a line of its own. Returns the bytes dropped.
fn cut_torn_tail(f: &mut std::fs::File) -> std::io::Result<u64> {
    use std::io::{Seek as _, SeekFrom};
    let len = f.seek(SeekFrom::End(0))?;
    let mut end = len;
    let mut buf = [0u8; 4096];
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let chunk = &mut buf[..usize::try_from(end - start).unwrap_or(0)];
        f.seek(SeekFrom::Start(start))?;
        f.read_exact(chunk)?;
        if let Some(i) = chunk.iter().rposition(|b| *b == b'\n') {
            end = start + i as u64 + 1;
            break;
        }
        end = start;
    }
    if end < len {
        f.set_len(end)?;
        f.sync_data()?;
    }
    Ok(len - end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_line_is_cut_back_and_whole_lines_are_kept() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("r.jsonl");
        let open = || {
            std::fs::OpenOptions::new()
                .read(true)
                .append(true)
                .open(&p)
                .expect("open")
        };
        let long = format!("{{\"a\": \"{}\"}}\n", "x".repeat(10_000));
        for (content, dropped, kept) in [
            (format!("{long}{{\"b\": 2}}\n"), 0, long.len() + 9),
            (format!("{long}{{\"b\": 2"), 7, long.len()),
            (format!("{{\"b\": 2}}\n{}", &long[..9000]), 9000, 9),
            ("{\"half".to_owned(), 6, 0),
            (String::new(), 0, 0),
        ] {
            std::fs::write(&p, &content).expect("write");
            assert_eq!(cut_torn_tail(&mut open()).expect("cut"), dropped as u64);
            let after = std::fs::read_to_string(&p).expect("read");
            assert_eq!(after.len(), kept, "{content:.40}");
            assert!(after.is_empty() || after.ends_with('\n'));
        }
    }

    #[test]
    fn histograms_are_cumulative() {
        let mut h = Histogram::default();
        for v in [0.01, 0.2, 3.0] {
            h.observe(LAG_BUCKETS, v);
        }
        let mut out = String::new();
        h.render(&mut out, "x", "a=\"b\"", LAG_BUCKETS);
        assert!(out.contains("x_bucket{a=\"b\",le=\"0.01\"} 1\n"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"0.25\"} 2\n"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"+Inf\"} 3\n"), "{out}");
        assert!(out.contains("x_count{a=\"b\"} 3\n"), "{out}");
    }
}
