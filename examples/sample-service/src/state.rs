//! What every handler shares.

use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderValue;
use tokio::sync::watch;

use crate::db::Pool;
use crate::faults::Faults;
use crate::metrics::Metrics;
use crate::realtime::Hub;

#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    /// Multiplexed and reconnecting: the cache, XADD, XRANGE. Never used for BLOCKing reads.
    pub redis: redis::aio::ConnectionManager,
    pub metrics: Arc<Metrics>,
    pub faults: Faults,
    pub hub: Hub,
    pub settings: Arc<Settings>,
    /// Becomes true on SIGTERM/SIGINT.
    pub shutdown: watch::Receiver<bool>,
}

pub struct Settings {
    pub stream: String,
    pub cache_ttl: Duration,
    pub version_header: HeaderValue,
}
