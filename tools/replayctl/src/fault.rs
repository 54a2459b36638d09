//! Test-only fault points: `REPLAYCTL_FAULT=<point>:<n>` aborts the process (no unwinding,
//! no cleanup, like SIGKILL) the n-th time `point` is reached, so tests can crash a
//! redrive or a replay at each step. Unset, it costs one environment lookup per run.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

static FAULT: OnceLock<Option<(String, u64)>> = OnceLock::new();
static HITS: AtomicU64 = AtomicU64::new(0);

/// Aborts when `point` is the armed fault point and this is its n-th hit.
pub fn point(point: &str) {
    let armed = FAULT.get_or_init(|| {
        let v = std::env::var("REPLAYCTL_FAULT").ok()?;
        let (p, n) = v.rsplit_once(':')?;
        Some((p.to_owned(), n.parse().ok()?))
    });
    if let Some((p, n)) = armed
        && p == point
        && HITS.fetch_add(1, Ordering::SeqCst) + 1 == *n
    {
        tracing::error!("REPLAYCTL_FAULT: aborting at {point} (hit {n})");
        std::process::abort();
    }
}
