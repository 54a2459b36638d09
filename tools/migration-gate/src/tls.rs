//! TLS for PostgreSQL connections, with libpq's `sslmode` meaning: `require` encrypts
//! without checking the certificate (unless `sslrootcert` is given, then it acts as
//! `verify-ca`), `verify-ca` checks the chain, `verify-full` the chain and the host name.
//! tokio-postgres parses only disable/prefer/require, so the verify-* modes and
//! `sslrootcert` are taken out of the URL here and enforced by the rustls verifier.

use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's sslmode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    Disable,
    /// `allow` and `prefer`: TLS when the server offers it.
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl TlsMode {
    pub fn parse(s: &str) -> Option<TlsMode> {
        Some(match s {
            "disable" => TlsMode::Disable,
            "allow" | "prefer" => TlsMode::Prefer,
            "require" => TlsMode::Require,
            "verify-ca" => TlsMode::VerifyCa,
            "verify-full" => TlsMode::VerifyFull,
            _ => return None,
        })
    }
}

/// `sslmode` and `sslrootcert` as written in the connection string.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TlsParams {
    pub sslmode: Option<String>,
    pub sslrootcert: Option<String>,
}

/// Removes `sslmode`/`sslrootcert` from a URL (`?a=b&sslmode=...`) or a key/value string
/// (`host=h sslmode=...`); returns the rest, for tokio-postgres to parse.
pub fn split_params(conn: &str) -> (String, TlsParams) {
    let mut params = TlsParams::default();
    let mut take = |k: &str, v: &str| match k {
        "sslmode" => {
            params.sslmode = Some(v.to_owned());
            true
        }
        "sslrootcert" => {
            params.sslrootcert = Some(v.to_owned());
            true
        }
        _ => false,
    };
    let cleaned = if conn.contains("://") {
        match conn.split_once('?') {
            Some((base, query)) => {
                let kept: Vec<&str> = query
                    .split('&')
                    .filter(|kv| {
                        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                        !take(k, &gatehouse::percent::decode_lossy(v))
                    })
                    .collect();
                if kept.is_empty() {
                    base.to_owned()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
            None => conn.to_owned(),
        }
    } else {
        conn.split_whitespace()
            .filter(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                !take(k.trim(), v.trim_matches('\''))
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    (cleaned, params)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn roots(root_cert: Option<&Path>) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    match root_cert {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            for c in certs {
                let c = c.map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
                store
                    .add(c)
                    .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            }
            if store.is_empty() {
                return Err(format!(
                    "sslrootcert {}: no certificate in it",
                    path.display()
                ));
            }
        }
        None => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    Ok(store)
}

/// The connector for `mode` (never called for `disable`).
pub fn connector(mode: TlsMode, root_cert: Option<&Path>) -> Result<MakeRustlsConnect, String> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let verify = match mode {
        TlsMode::VerifyCa | TlsMode::VerifyFull => true,
        // libpq: with a root certificate, `require` verifies the chain like verify-ca.
        TlsMode::Require | TlsMode::Prefer => root_cert.is_some(),
        TlsMode::Disable => false,
    };
    let verifier: Arc<dyn ServerCertVerifier> = if verify {
        let webpki = WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots(root_cert)?),
            Arc::clone(&provider),
        )
        .build()
        .map_err(|e| e.to_string())?;
        Arc::new(Verifier {
            inner: Some(webpki),
            check_name: mode == TlsMode::VerifyFull,
            provider,
        })
    } else {
        Arc::new(Verifier {
            inner: None,
            check_name: false,
            provider,
        })
    };
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// libpq's three levels: no check, chain only, chain and name. Signatures are always
/// checked, so the handshake itself is sound whatever the level.
#[derive(Debug)]
struct Verifier {
    inner: Option<Arc<WebPkiServerVerifier>>,
    check_name: bool,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(inner) = &self.inner else {
            return Ok(ServerCertVerified::assertion());
        };
        match inner.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_modes_and_root_certs_are_taken_out_of_urls_and_key_values() {
        let (rest, p) = split_params(
            "postgres://u:p@h/db?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=x",
        );
        assert_eq!(rest, "postgres://u:p@h/db?application_name=x");
        assert_eq!(p.sslmode.as_deref(), Some("verify-full"));
        assert_eq!(p.sslrootcert.as_deref(), Some("/etc/ca.pem"));
        let (rest, p) = split_params("postgres://h/db?sslmode=require");
        assert_eq!(rest, "postgres://h/db");
        assert_eq!(p.sslmode.as_deref(), Some("require"));
        let (rest, p) = split_params("host=h dbname=app sslmode=verify-ca sslrootcert=/ca.pem");
        assert_eq!(rest, "host=h dbname=app");
        assert_eq!(p.sslrootcert.as_deref(), Some("/ca.pem"));
        assert_eq!(split_params("postgres://h/db").0, "postgres://h/db");
        assert_eq!(TlsMode::parse("verify-full"), Some(TlsMode::VerifyFull));
        assert_eq!(TlsMode::parse("bogus"), None);
    }
}
