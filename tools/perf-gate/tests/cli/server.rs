//! A small real HTTP/1.1 server on 127.0.0.1 for perf-gate's accuracy tests: a fixed delay
//! per request, a stall window, a capacity limit (a semaphore of N slots, each held for a
//! fixed service time), and a shutdown that makes later connects be refused.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::sync::{Semaphore, oneshot};

#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Every response waits this long.
    pub delay: Duration,
    /// Capacity: at most this many requests are served at once, each for `delay`.
    pub slots: Option<usize>,
    /// The response status (200 unless set).
    pub status: Option<u16>,
    /// Answer with what was asked: `{"method", "path", "tenant", "content_type", "body"}`.
    pub echo: bool,
    /// Speak HTTP/2 (h2c, prior knowledge) instead of HTTP/1.1.
    pub http2: bool,
    /// Serve over TLS with this certificate chain and key (PEM).
    pub tls: Option<(Vec<u8>, Vec<u8>)>,
}

fn acceptor(cert: &[u8], key: &[u8]) -> tokio_rustls::TlsAcceptor {
    use rustls::pki_types::pem::PemObject;
    let certs = rustls::pki_types::CertificateDer::pem_slice_iter(cert)
        .collect::<Result<Vec<_>, _>>()
        .expect("certificate PEM");
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(key).expect("key PEM");
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("server certificate");
    tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config))
}

/// Runs HTTP/2 connection tasks on the server's own thread.
#[derive(Clone, Copy)]
struct LocalExec;

impl<F: std::future::Future + 'static> hyper::rt::Executor<F> for LocalExec {
    fn execute(&self, fut: F) {
        tokio::task::spawn_local(fut);
    }
}

pub struct Server {
    pub addr: SocketAddr,
    epoch: Instant,
    /// Requests arriving before this many µs after `epoch` wait until then.
    stall_until_us: Arc<AtomicU64>,
    pub served: Arc<AtomicU64>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn start(cfg: Config) -> Server {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("local addr");
        let epoch = Instant::now();
        let stall = Arc::new(AtomicU64::new(0));
        let served = Arc::new(AtomicU64::new(0));
        let (tx, mut rx) = oneshot::channel::<()>();
        let (stall2, served2) = (Arc::clone(&stall), Arc::clone(&served));
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let local = tokio::task::LocalSet::new();
            local.block_on(&rt, async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let slots = cfg.slots.map(|n| Arc::new(Semaphore::new(n)));
                let tls_acceptor = cfg.tls.as_ref().map(|(c, k)| acceptor(c, k));
                loop {
                    let (tcp, _) = tokio::select! {
                        r = listener.accept() => match r { Ok(c) => c, Err(_) => continue },
                        _ = &mut rx => break,
                    };
                    let _ = tcp.set_nodelay(true);
                    let (cfg, slots, stall, served) = (
                        cfg.clone(),
                        slots.clone(),
                        Arc::clone(&stall2),
                        Arc::clone(&served2),
                    );
                    let h2 = cfg.http2;
                    let tls = tls_acceptor.clone();
                    tokio::task::spawn_local(async move {
                        let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                            let (cfg, slots, stall, served) = (
                                cfg.clone(),
                                slots.clone(),
                                Arc::clone(&stall),
                                Arc::clone(&served),
                            );
                            async move {
                                let until =
                                    epoch + Duration::from_micros(stall.load(Ordering::SeqCst));
                                if until > Instant::now() {
                                    tokio::time::sleep_until(until.into()).await;
                                }
                                let _permit = match &slots {
                                    Some(s) => Some(s.acquire().await.expect("semaphore")),
                                    None => None,
                                };
                                if !cfg.delay.is_zero() {
                                    tokio::time::sleep(cfg.delay).await;
                                }
                                served.fetch_add(1, Ordering::SeqCst);
                                let body = if cfg.echo {
                                    echo(req).await
                                } else {
                                    Bytes::from_static(b"{\"ok\":true}")
                                };
                                let mut resp = hyper::Response::new(Full::new(body));
                                *resp.status_mut() =
                                    hyper::StatusCode::from_u16(cfg.status.unwrap_or(200))
                                        .expect("status");
                                Ok::<_, Infallible>(resp)
                            }
                        });
                        if let Some(acc) = tls {
                            let Ok(stream) = acc.accept(tcp).await else {
                                return;
                            };
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), svc)
                                .await;
                        } else if h2 {
                            let _ = hyper::server::conn::http2::Builder::new(LocalExec)
                                .serve_connection(TokioIo::new(tcp), svc)
                                .await;
                        } else {
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(tcp), svc)
                                .await;
                        }
                    });
                }
            });
        });
        Server {
            addr,
            epoch,
            stall_until_us: stall,
            served,
            stop: Some(tx),
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// From `after` from now, every request waits until `after + length` from now.
    pub fn stall_later(&self, after: Duration, length: Duration) {
        let stall = Arc::clone(&self.stall_until_us);
        let epoch = self.epoch;
        std::thread::spawn(move || {
            std::thread::sleep(after);
            let until = epoch.elapsed() + length;
            stall.store(until.as_micros() as u64, Ordering::SeqCst);
        });
    }

    /// Stops listening and drops every connection: later connects are refused.
    pub fn shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `{"method", "path", "tenant", "content_type", "body"}` of a request.
async fn echo(req: hyper::Request<hyper::body::Incoming>) -> Bytes {
    use http_body_util::BodyExt;
    let h = |k: &str| {
        req.headers()
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let (method, path, tenant, ct) = (
        req.method().to_string(),
        req.uri().to_string(),
        h("x-tenant"),
        h("content-type"),
    );
    let bytes = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    Bytes::from(
        serde_json::to_vec(&serde_json::json!({
            "method": method, "path": path, "tenant": tenant, "content_type": ct,
            "body": String::from_utf8_lossy(&bytes),
        }))
        .unwrap_or_default(),
    )
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}
