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

pub type Sender = SendRequest<Full<Bytes>>;

/// Why a connection could not be made or used, in `data.errors`' terms.
#[derive(Debug, Clone)]
pub struct ConnError {
    pub kind: ErrorKind,
    pub message: String,
}

/// A rustls client config with the webpki roots, for `https` targets.
pub fn tls_connector() -> Result<tokio_rustls::TlsConnector, String> {
    let roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS setup: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
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
                None => handshake(tcp).await,
                Some(c) => {
                    let name = rustls::pki_types::ServerName::try_from(target.host.clone())
                        .map_err(|e| ConnError {
                            kind: ErrorKind::Tls,
                            message: format!("{:?} is not a TLS server name: {e}", target.host),
                        })?;
                    let stream = c.connect(name, tcp).await.map_err(|e| ConnError {
                        kind: ErrorKind::Tls,
                        message: format!("TLS handshake failed: {e} (is the port plain HTTP?)"),
                    })?;
                    handshake(stream).await
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

async fn handshake<S>(io: S) -> Result<Sender, ConnError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| ConnError {
            kind: ErrorKind::Protocol,
            message: format!("HTTP handshake failed: {e}"),
        })?;
    tokio::task::spawn_local(async move {
        let _ = conn.await;
    });
    Ok(sender)
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
