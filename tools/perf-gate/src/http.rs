//! One HTTP/1.1 connection per virtual user, as k6 keeps them: TCP (and TLS with rustls)
//! to the target, hyper's client connection over it, kept alive between iterations.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::metrics::ErrorKind;
use crate::scenario::Target;

/// A VU's connection: HTTP/1.1 (keep-alive) or HTTP/2 (h2c with prior knowledge, or ALPN
/// `h2` over TLS).
pub enum Sender {
    H1(SendRequest<Full<Bytes>>),
    H2(hyper::client::conn::http2::SendRequest<Full<Bytes>>),
}

impl Sender {
    /// Whether the connection can take another request (it may have been closed).
    pub async fn ready(&mut self) -> bool {
        match self {
            Sender::H1(s) => s.ready().await.is_ok(),
            Sender::H2(s) => s.ready().await.is_ok(),
        }
    }

    pub async fn send(
        &mut self,
        req: hyper::Request<Full<Bytes>>,
    ) -> Result<hyper::Response<hyper::body::Incoming>, hyper::Error> {
        match self {
            Sender::H1(s) => s.send_request(req).await,
            Sender::H2(s) => s.send_request(req).await,
        }
    }
}

/// Runs HTTP/2 connection tasks on the worker's own thread.
#[derive(Clone, Copy, Debug)]
struct LocalExec;

impl<F> hyper::rt::Executor<F> for LocalExec
where
    F: std::future::Future + 'static,
{
    fn execute(&self, fut: F) {
        tokio::task::spawn_local(fut);
    }
}

/// Why a connection could not be made or used, in `data.errors`' terms.
#[derive(Debug, Clone)]
pub struct ConnError {
    pub kind: ErrorKind,
    pub message: String,
}

/// A rustls client config with the webpki roots (and `--ca-cert`'s), for `https` targets;
/// ALPN offers h2 or http/1.1.
pub fn tls_connector(
    http2: bool,
    extra_cas: &[rustls::pki_types::CertificateDer<'static>],
) -> Result<tokio_rustls::TlsConnector, String> {
    let mut roots =
        rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for ca in extra_cas {
        roots
            .add(ca.clone())
            .map_err(|e| format!("--ca-cert: a certificate rustls cannot use as a CA: {e}"))?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS setup: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut config = config;
    config.alpn_protocols = vec![if http2 {
        b"h2".to_vec()
    } else {
        b"http/1.1".to_vec()
    }];
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

fn io_kind(e: &std::io::Error) -> ErrorKind {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
            ErrorKind::Reset
        }
        K::TimedOut => ErrorKind::Timeout,
        _ => ErrorKind::Connect,
    }
}

/// Opens a connection to `target` and spawns its driver on the current `LocalSet`.
pub async fn connect(
    target: &Target,
    tls: Option<&tokio_rustls::TlsConnector>,
    timeout: Duration,
    http2: bool,
) -> Result<Sender, ConnError> {
    let work =
        async {
            let tcp = TcpStream::connect((target.host.as_str(), target.port))
                .await
                .map_err(|e| ConnError {
                    kind: io_kind(&e),
                    message: format!("cannot connect: {e}"),
                })?;
            let _ = tcp.set_nodelay(true);
            match tls {
                None => handshake(tcp, http2).await,
                Some(c) => {
                    let name = rustls::pki_types::ServerName::try_from(target.host.clone())
                        .map_err(|e| ConnError {
                            kind: ErrorKind::Tls,
                            message: format!("{:?} is not a TLS server name: {e}", target.host),
                        })?;
                    let stream = c.connect(name, tcp).await.map_err(|e| {
                        let text = e.to_string();
                        let hint = if text.contains("peer certificate") {
                            " (--ca-cert FILE trusts a staging CA)"
                        } else if text.contains("corrupt") || text.contains("InvalidContentType") {
                            " (is the port plain HTTP?)"
                        } else {
                            ""
                        };
                        ConnError {
                            kind: ErrorKind::Tls,
                            message: format!("TLS handshake failed: {text}{hint}"),
                        }
                    })?;
                    handshake(stream, http2).await
                }
            }
        };
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(ConnError {
            kind: ErrorKind::Timeout,
            message: format!(
                "no connection within {} (--connect-timeout)",
                gatehouse::duration::format_duration(timeout)
            ),
        }),
    }
}

async fn handshake<S>(io: S, http2: bool) -> Result<Sender, ConnError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + 'static,
{
    if http2 {
        let (sender, conn) = hyper::client::conn::http2::handshake(LocalExec, TokioIo::new(io))
            .await
            .map_err(|e| ConnError {
                kind: ErrorKind::Protocol,
                message: format!("HTTP/2 handshake failed: {e}"),
            })?;
        tokio::task::spawn_local(async move {
            let _ = conn.await;
        });
        return Ok(Sender::H2(sender));
    }
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| ConnError {
            kind: ErrorKind::Protocol,
            message: format!("HTTP handshake failed: {e}"),
        })?;
    tokio::task::spawn_local(async move {
        let _ = conn.await;
    });
    Ok(Sender::H1(sender))
}

/// What a failed request was, from hyper's error.
pub fn classify(e: &hyper::Error) -> ErrorKind {
    if e.is_timeout() {
        return ErrorKind::Timeout;
    }
    if e.is_incomplete_message() || e.is_closed() || e.is_canceled() {
        return ErrorKind::Reset;
    }
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return io_kind(io);
        }
        src = s.source();
    }
    ErrorKind::Protocol
}

/// The certificates of a PEM file (`--ca-cert`); the error says what is wrong.
pub fn pem_certificates(
    pem: &[u8],
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    let certs = rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not PEM certificates: {e}"))?;
    if certs.is_empty() {
        return Err("no CERTIFICATE in this PEM file".to_owned());
    }
    Ok(certs)
}
