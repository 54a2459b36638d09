//! Logging to stderr with `tracing`: `tool: message` lines for people, JSON for machines.
//! The level is `-q` (errors only), default info, `-v` debug, `-vv` trace; `GATEHOUSE_LOG`
//! sets it when no flag does.

use std::fmt;
use std::io::IsTerminal;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::cli::{CommonArgs, LogFormat};

/// Whether colour may be used on a stream: it is a terminal and `NO_COLOR` is unset/empty.
pub fn color_enabled(is_terminal: bool) -> bool {
    is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The level from flags, then `GATEHOUSE_LOG`, then info. An unreadable `GATEHOUSE_LOG` is
/// reported (once logging is up) and ignored.
fn level(common: &CommonArgs) -> (LevelFilter, Option<String>) {
    if common.quiet {
        return (LevelFilter::ERROR, None);
    }
    match common.verbose {
        0 => {}
        1 => return (LevelFilter::DEBUG, None),
        _ => return (LevelFilter::TRACE, None),
    }
    match std::env::var("GATEHOUSE_LOG") {
        Ok(v) if !v.trim().is_empty() => match v.trim().to_ascii_lowercase().as_str() {
            "off" => (LevelFilter::OFF, None),
            "error" => (LevelFilter::ERROR, None),
            "warn" | "warning" => (LevelFilter::WARN, None),
            "info" => (LevelFilter::INFO, None),
            "debug" => (LevelFilter::DEBUG, None),
            "trace" => (LevelFilter::TRACE, None),
            _ => (
                LevelFilter::INFO,
                Some(format!(
                    "GATEHOUSE_LOG={v:?} is not a level (error, warn, info, debug, trace); using info"
                )),
            ),
        },
        _ => (LevelFilter::INFO, None),
    }
}

/// Whether stderr is JSON lines (`--log-format json`): the last error line follows it too.
static JSON_LINES: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Chooses JSON lines on stderr before (or without) [`init`]: a usage error is printed
/// before the flags are parsed.
pub(crate) fn set_json_lines(on: bool) {
    JSON_LINES.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// `agent: message` or, with `--log-format json`, one JSON object in the logger's shape
/// (`timestamp`, `level`, `message`, `target`): the line a run that cannot judge ends with.
pub(crate) fn error_text(agent: &str, message: &str) -> String {
    if JSON_LINES.load(std::sync::atomic::Ordering::Relaxed) {
        serde_json::json!({
            "timestamp": crate::time::Timestamp::now().to_rfc3339(),
            "level": "ERROR",
            "message": message,
            "target": agent,
        })
        .to_string()
    } else {
        format!("{agent}: {message}")
    }
}

/// Installs the stderr logger. Safe to call more than once (later calls do nothing).
pub fn init(agent: &'static str, common: &CommonArgs) {
    set_json_lines(common.log_format == LogFormat::Json);
    let (level, complaint) = level(common);
    let color = color_enabled(std::io::stderr().is_terminal());
    let installed = match common.log_format {
        LogFormat::Text => tracing_subscriber::fmt()
            .with_writer(|| RedactingStderr)
            .log_internal_errors(false)
            .with_max_level(level)
            .with_ansi(color)
            .event_format(Line { agent, color })
            .try_init()
            .is_ok(),
        LogFormat::Json => tracing_subscriber::fmt()
            .with_writer(|| RedactingStderr)
            .log_internal_errors(false)
            .with_max_level(level)
            .with_ansi(false)
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init()
            .is_ok(),
    };
    if installed && let Some(c) = complaint {
        tracing::warn!("{c}");
    }
}

/// stderr with secrets masked. tracing-subscriber formats each event into one buffer and
/// writes it in one call, so each write is a whole line; a closed stderr is ignored.
struct RedactingStderr;

impl std::io::Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let _ = std::io::stderr()
            .lock()
            .write_all(crate::redact::redact(&text).as_bytes());
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

/// `agent: message` for info, `agent: warning: message` etc. for the rest.
struct Line {
    agent: &'static str,
    color: bool,
}

impl<S, N> FormatEvent<S, N> for Line
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(w, "{}: ", self.agent)?;
        let (label, code) = match *event.metadata().level() {
            Level::ERROR => (Some("error"), "1;31"),
            Level::WARN => (Some("warning"), "1;33"),
            Level::INFO => (None, ""),
            Level::DEBUG => (Some("debug"), "2"),
            Level::TRACE => (Some("trace"), "2"),
        };
        if let Some(label) = label {
            if self.color {
                write!(w, "\x1b[{code}m{label}\x1b[0m: ")?;
            } else {
                write!(w, "{label}: ")?;
            }
        }
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}
