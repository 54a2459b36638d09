//! SIGTERM/SIGINT → one `watch` flag every task looks at: the servers stop accepting and
//! drain, realtime streams end, the worker finishes its batch.

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

/// A sender that flips to `true` on the first SIGTERM or SIGINT.
pub fn install() -> std::io::Result<(watch::Sender<bool>, watch::Receiver<bool>)> {
    let (tx, rx) = watch::channel(false);
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let sender = tx.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: draining"),
            _ = int.recv() => tracing::info!("SIGINT: draining"),
        }
        let _ = sender.send(true);
    });
    Ok((tx, rx))
}

/// Resolves once the flag is true (or its sender is gone).
pub async fn requested(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|v| *v).await;
}
