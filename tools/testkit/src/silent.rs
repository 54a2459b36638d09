//! Owns [`SilentServer`]: a real TCP listener on `127.0.0.1` that accepts connections and
//! never answers like a server should — it says nothing at all, or drips one byte a second.
//! What a hung server, a wrong port behind a load balancer or a tarpit looks like to a
//! client; the tests prove every tool gives up within its deadline instead of hanging.

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the server does with each accepted connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Silence {
    /// Accepts and never writes a byte.
    Mute,
    /// Accepts and writes one byte a second, forever (a per-read timeout never fires).
    Drip,
}

/// A listener that accepts and never answers. Listening when `start` returns; dropping it
/// closes the listener and every connection it holds.
#[derive(Debug)]
pub struct SilentServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl SilentServer {
    /// Starts on a free port.
    pub fn start(mode: Silence) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .unwrap_or_else(|e| panic!("testkit: silent server cannot bind 127.0.0.1:0: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("testkit: silent server has no local address: {e}"));
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicU64::new(0));
        let thread = std::thread::Builder::new()
            .name(format!("testkit-silent-{}", addr.port()))
            .spawn({
                let stop = Arc::clone(&stop);
                let accepted = Arc::clone(&accepted);
                move || serve(&listener, mode, &stop, &accepted)
            })
            .unwrap_or_else(|e| panic!("testkit: cannot start the silent server thread: {e}"));
        Self {
            addr,
            stop,
            accepted,
            thread: Some(thread),
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// How many connections it has accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }
}

fn serve(listener: &TcpListener, mode: Silence, stop: &AtomicBool, accepted: &AtomicU64) {
    // Non-blocking accept, so the loop can notice `stop` and drip on the held connections.
    if listener.set_nonblocking(true).is_err() {
        return;
    }
    let mut held: Vec<TcpStream> = Vec::new();
    let mut ticks = 0u64;
    while !stop.load(Ordering::SeqCst) {
        while let Ok((conn, _)) = listener.accept() {
            accepted.fetch_add(1, Ordering::SeqCst);
            held.push(conn);
        }
        ticks += 1;
        // Every second: one byte to each connection (a peer that closed is dropped).
        if mode == Silence::Drip && ticks.is_multiple_of(20) {
            held.retain_mut(|c| c.write_all(b"N").is_ok());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
