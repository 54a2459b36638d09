//! Signing keys: reading PKCS#8 private keys (plain or encrypted, ed25519 or ECDSA P-256),
//! SPKI public keys, the keyid we give them, signing and verifying bytes, and `keygen`.
//!
//! keyid = lowercase hex SHA-256 of the public key's SPKI DER (what `openssl pkey -pubin
//! -outform DER | sha256sum` prints), so anyone holding the .pub file can recompute it.

use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signer as _, Verifier as _};
use gatehouse::hash::sha256_hex;
use pkcs8::der::pem::LineEnding;

use crate::error::{Error, Result};

/// Key files are small; anything bigger is not a key.
const MAX_KEY_FILE: u64 = 64 * 1024;

/// The algorithm of a new key pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Ed25519,
    EcdsaP256,
}

/// Where an encrypted private key's password comes from (`--key-password-env NAME`,
/// `--key-password-file FILE`); it is read only when a key needs it.
#[derive(Debug, Clone, Default)]
pub(crate) struct PasswordSource {
    pub(crate) env: Option<String>,
    pub(crate) file: Option<PathBuf>,
}

impl PasswordSource {
    pub(crate) fn new(env: Option<&str>, file: Option<&Path>) -> Self {
        PasswordSource {
            env: env.map(str::to_owned),
            file: file.map(Path::to_path_buf),
        }
    }
}

/// A private key able to sign.
pub(crate) enum SigningKey {
    Ed25519(ed25519_dalek::SigningKey),
    P256(p256::ecdsa::SigningKey),
}

/// A public key able to verify.
#[derive(Clone)]
pub(crate) enum PublicKey {
    Ed25519(ed25519_dalek::VerifyingKey),
    P256(p256::ecdsa::VerifyingKey),
}

impl SigningKey {
    pub(crate) fn public(&self) -> PublicKey {
        match self {
            SigningKey::Ed25519(k) => PublicKey::Ed25519(k.verifying_key()),
            SigningKey::P256(k) => PublicKey::P256(*k.verifying_key()),
        }
    }

    /// Signs `msg`: raw 64-byte ed25519, or DER-encoded ECDSA P-256 with SHA-256.
    pub(crate) fn sign(&self, msg: &[u8]) -> Vec<u8> {
        match self {
            SigningKey::Ed25519(k) => k.sign(msg).to_bytes().to_vec(),
            SigningKey::P256(k) => {
                let sig: p256::ecdsa::Signature = k.sign(msg);
                sig.to_der().as_bytes().to_vec()
            }
        }
    }
}

impl PublicKey {
    pub(crate) fn algorithm(&self) -> &'static str {
        match self {
            PublicKey::Ed25519(_) => "ed25519",
            PublicKey::P256(_) => "ecdsa-p256",
        }
    }

    /// The securesystemslib key type and scheme for this key.
    pub(crate) fn sslib_scheme(&self) -> (&'static str, &'static str) {
        match self {
            PublicKey::Ed25519(_) => ("ed25519", "ed25519"),
            PublicKey::P256(_) => ("ecdsa", "ecdsa-sha2-nistp256"),
        }
    }

    pub(crate) fn spki_der(&self) -> Vec<u8> {
        let doc = match self {
            PublicKey::Ed25519(k) => k.to_public_key_der(),
            PublicKey::P256(k) => k.to_public_key_der(),
        };
        doc.map(|d| d.as_bytes().to_vec()).unwrap_or_default()
    }

    pub(crate) fn spki_pem(&self) -> String {
        let pem = match self {
            PublicKey::Ed25519(k) => k.to_public_key_pem(LineEnding::LF),
            PublicKey::P256(k) => k.to_public_key_pem(LineEnding::LF),
        };
        pem.unwrap_or_default()
    }

    pub(crate) fn keyid(&self) -> String {
        sha256_hex(&self.spki_der())
    }

    /// True when `sig` is a valid signature of `msg` by this key.
    pub(crate) fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        match self {
            PublicKey::Ed25519(k) => ed25519_dalek::Signature::from_slice(sig)
                .is_ok_and(|s| k.verify_strict(msg, &s).is_ok()),
            PublicKey::P256(k) => {
                p256::ecdsa::Signature::from_der(sig).is_ok_and(|s| k.verify(msg, &s).is_ok())
            }
        }
    }
}

fn read_key_file(path: &Path) -> Result<String> {
    let input = gatehouse::input::read_limited(&gatehouse::Source::new(path), MAX_KEY_FILE)?;
    let text = input.text().map_err(|_| {
        Error::key(
            path.display(),
            "not a PEM key (binary data; DER keys are not read, convert with `openssl pkey -outform PEM`)",
        )
    })?;
    Ok(text.to_owned())
}

/// The PEM label of the first block (`PRIVATE KEY`, `PUBLIC KEY`, …).
fn pem_label(text: &str) -> Option<&str> {
    let start = text.find("-----BEGIN ")? + "-----BEGIN ".len();
    let end = text[start..].find("-----")?;
    Some(&text[start..start + end])
}

/// Describes a key's algorithm from its OID, for "unsupported algorithm" messages.
fn algorithm_name(oid: &pkcs8::ObjectIdentifier) -> String {
    match oid.to_string().as_str() {
        "1.2.840.113549.1.1.1" => "RSA".to_owned(),
        "1.2.840.10045.2.1" => "EC on a curve other than P-256".to_owned(),
        "1.3.101.113" => "Ed448".to_owned(),
        "1.3.101.110" | "1.3.101.111" => "X25519/X448 (key agreement, not signing)".to_owned(),
        other => format!("OID {other}"),
    }
}

fn from_pkcs8_der(path: &Path, der: &[u8]) -> Result<SigningKey> {
    if let Ok(k) = ed25519_dalek::SigningKey::from_pkcs8_der(der) {
        return Ok(SigningKey::Ed25519(k));
    }
    if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_der(der) {
        return Ok(SigningKey::P256(k));
    }
    let info = pkcs8::PrivateKeyInfoRef::try_from(der)
        .map_err(|e| Error::key(path.display(), format!("not a PKCS#8 private key: {e}")))?;
    Err(Error::key(
        path.display(),
        format!(
            "unsupported key algorithm {} (use ed25519 or ECDSA P-256)",
            algorithm_name(&info.algorithm.oid)
        ),
    ))
}

/// Reads the password named by `--key-password-env` / `--key-password-file`, if any.
pub(crate) fn password(source: &PasswordSource) -> Result<Option<zeroizing::Secret>> {
    if let Some(name) = &source.env {
        return match std::env::var(name) {
            Ok(v) if !v.is_empty() => Ok(Some(zeroizing::Secret(v))),
            Ok(_) => Err(Error::Usage(format!(
                "--key-password-env {name}: the variable is empty"
            ))),
            Err(_) => Err(Error::Usage(format!(
                "--key-password-env {name}: the variable is not set"
            ))),
        };
    }
    if let Some(path) = &source.file {
        let input = gatehouse::input::read_limited(&gatehouse::Source::new(path), 4096)?;
        let text = input.text()?;
        let first = text.lines().next().unwrap_or("").to_owned();
        if first.is_empty() {
            return Err(Error::Usage(format!(
                "{}: the password file is empty",
                path.display()
            )));
        }
        return Ok(Some(zeroizing::Secret(first)));
    }
    Ok(None)
}

/// Loads a private key: PKCS#8 `PRIVATE KEY`, `ENCRYPTED PRIVATE KEY` (with a password),
/// or SEC1 `EC PRIVATE KEY` (what `openssl ecparam -genkey` writes).
pub(crate) fn load_signing_key(path: &Path, pw: &PasswordSource) -> Result<SigningKey> {
    let _s = gatehouse::trace::step("load_key");
    let text = read_key_file(path)?;
    let bad_pem = |e: pkcs8::der::Error| Error::key(path.display(), format!("malformed PEM: {e}"));
    match pem_label(&text) {
        Some("PRIVATE KEY") => {
            let (_, doc) = pkcs8::SecretDocument::from_pem(&text).map_err(bad_pem)?;
            from_pkcs8_der(path, doc.as_bytes())
        }
        Some("ENCRYPTED PRIVATE KEY") => {
            let Some(secret) = password(pw)? else {
                return Err(Error::Password {
                    path: path.display().to_string(),
                    message: "the key is encrypted; give its password with --key-password-env NAME or --key-password-file FILE".to_owned(),
                });
            };
            let (_, doc) = pkcs8::SecretDocument::from_pem(&text).map_err(bad_pem)?;
            let enc = pkcs8::EncryptedPrivateKeyInfoRef::try_from(doc.as_bytes())
                .map_err(|e| Error::key(path.display(), format!("malformed encrypted key: {e}")))?;
            let plain = enc.decrypt(secret.0.as_bytes()).map_err(|e| Error::Password {
                path: path.display().to_string(),
                message: match e {
                    pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::AlgorithmParametersInvalid { .. })
                    | pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::UnsupportedAlgorithm { .. }) => {
                        format!("unsupported key encryption ({e}); re-encrypt with `openssl pkcs8 -topk8 -v2 aes-256-cbc`")
                    }
                    _ => "wrong password for the encrypted key (decryption failed)".to_owned(),
                },
            })?;
            from_pkcs8_der(path, plain.as_bytes()).map_err(|e| match e {
                // A wrong password sometimes decrypts to garbage with valid padding.
                Error::Key { .. } => Error::Password {
                    path: path.display().to_string(),
                    message: "wrong password for the encrypted key (decrypted data is not a key)"
                        .to_owned(),
                },
                other => other,
            })
        }
        Some("EC PRIVATE KEY") => {
            use p256::elliptic_curve::SecretKey;
            let sk = SecretKey::<p256::NistP256>::from_sec1_pem(&text).map_err(|_| {
                Error::key(
                    path.display(),
                    "EC PRIVATE KEY is not a P-256 key (only ECDSA P-256 is supported)",
                )
            })?;
            Ok(SigningKey::P256(p256::ecdsa::SigningKey::from(sk)))
        }
        Some("PUBLIC KEY") => Err(Error::key(
            path.display(),
            "is a public key; signing needs the private key (gatehouse.key)",
        )),
        Some("ENCRYPTED SIGSTORE PRIVATE KEY" | "ENCRYPTED COSIGN PRIVATE KEY") => Err(Error::key(
            path.display(),
            "cosign's encrypted key format is not read; export a PKCS#8 key (e.g. `cosign generate-key-pair` → `openssl pkcs8`) or use `evidence-pack keygen`",
        )),
        Some(other) => Err(Error::key(
            path.display(),
            format!(
                "unknown key format \"{other}\" (expected a PKCS#8 PEM private key: -----BEGIN PRIVATE KEY-----)"
            ),
        )),
        None => Err(Error::key(
            path.display(),
            "unknown key format: no PEM block (expected -----BEGIN PRIVATE KEY-----)",
        )),
    }
}

/// Loads a public key: SPKI `PUBLIC KEY` PEM (ed25519 or P-256).
pub(crate) fn load_public_key(path: &Path) -> Result<PublicKey> {
    let text = read_key_file(path)?;
    match pem_label(&text) {
        Some("PUBLIC KEY") => {}
        Some(l) if l.contains("PRIVATE KEY") => {
            return Err(Error::key(
                path.display(),
                "is a private key; verifying needs the public key (gatehouse.pub)",
            ));
        }
        Some(other) => {
            return Err(Error::key(
                path.display(),
                format!("unknown key format \"{other}\" (expected -----BEGIN PUBLIC KEY-----)"),
            ));
        }
        None => {
            return Err(Error::key(
                path.display(),
                "unknown key format: no PEM block (expected -----BEGIN PUBLIC KEY-----)",
            ));
        }
    }
    if let Ok(k) = ed25519_dalek::VerifyingKey::from_public_key_pem(&text) {
        return Ok(PublicKey::Ed25519(k));
    }
    if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_pem(&text) {
        return Ok(PublicKey::P256(k));
    }
    let (_, doc) = pkcs8::Document::from_pem(&text)
        .map_err(|e| Error::key(path.display(), format!("malformed PEM: {e}")))?;
    let spki = pkcs8::SubjectPublicKeyInfoRef::try_from(doc.as_bytes())
        .map_err(|e| Error::key(path.display(), format!("not an SPKI public key: {e}")))?;
    Err(Error::key(
        path.display(),
        format!(
            "unsupported key algorithm {} (use ed25519 or ECDSA P-256)",
            algorithm_name(&spki.algorithm.oid)
        ),
    ))
}

/// SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } }
const ED25519_PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// A freshly generated key pair, as PEM text.
pub(crate) struct KeyPair {
    pub(crate) private_pem: zeroizing::Secret,
    pub(crate) public: PublicKey,
}

fn random32() -> Result<[u8; 32]> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b)
        .map_err(|e| Error::Usage(format!("cannot get random bytes from the OS: {e}")))?;
    Ok(b)
}

/// Generates a key pair; with a password the private key is PKCS#8-encrypted with PBES2
/// (PBKDF2-HMAC-SHA256, 600 000 rounds, AES-256-CBC: what OpenSSL and cryptography read).
pub(crate) fn generate(algorithm: Algorithm, password: Option<&str>) -> Result<KeyPair> {
    let key = match algorithm {
        Algorithm::Ed25519 => {
            SigningKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&random32()?))
        }
        Algorithm::EcdsaP256 => loop {
            // A random 32-byte string is a valid scalar except with probability ~2^-32.
            if let Ok(k) = p256::ecdsa::SigningKey::from_slice(&random32()?) {
                break SigningKey::P256(k);
            }
        },
    };
    let der = match &key {
        // PKCS#8 v1 (RFC 8410), without the optional public key: ed25519-dalek writes v2
        // (RFC 5958, with the public key), which OpenSSL 3.0 refuses to read.
        SigningKey::Ed25519(k) => {
            let mut v1 = ED25519_PKCS8_V1_PREFIX.to_vec();
            v1.extend_from_slice(&k.to_bytes());
            let doc = pkcs8::SecretDocument::try_from(v1.as_slice());
            v1.fill(0);
            doc.map_err(pkcs8::Error::from)
        }
        SigningKey::P256(k) => k.to_pkcs8_der(),
    }
    .map_err(|e| Error::Usage(format!("cannot encode the key: {e}")))?;
    let private_pem = match password {
        None => der
            .to_pem("PRIVATE KEY", LineEnding::LF)
            .map_err(|e| Error::Usage(format!("cannot encode the key: {e}")))?
            .to_string(),
        Some(pw) => {
            let mut salt = [0u8; 16];
            salt.copy_from_slice(&random32()?[..16]);
            let mut iv = [0u8; 16];
            iv.copy_from_slice(&random32()?[..16]);
            let params = pkcs8::pkcs5::pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(
                600_000, &salt, iv,
            )
            .map_err(|e| Error::Usage(format!("cannot encrypt the key: {e}")))?;
            let info = pkcs8::PrivateKeyInfoRef::try_from(der.as_bytes())
                .map_err(|e| Error::Usage(format!("cannot encrypt the key: {e}")))?;
            let enc = info
                .encrypt_with_params(params, pw.as_bytes())
                .map_err(|e| Error::Usage(format!("cannot encrypt the key: {e}")))?;
            enc.to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
                .map_err(|e| Error::Usage(format!("cannot encode the key: {e}")))?
                .to_string()
        }
    };
    Ok(KeyPair {
        private_pem: zeroizing::Secret(private_pem),
        public: key.public(),
    })
}

/// Secrets that are wiped from memory when dropped and never printed by `Debug`.
pub(crate) mod zeroizing {
    pub(crate) struct Secret(pub(crate) String);

    impl Drop for Secret {
        fn drop(&mut self) {
            // Overwrite in place: the allocation is ours and the bytes stay valid UTF-8.
            let zeros = "\0".repeat(self.0.len());
            self.0.replace_range(.., &zeros);
        }
    }

    impl std::fmt::Debug for Secret {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("Secret(<redacted>)")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_sign_and_verify_and_reject_other_messages() {
        for alg in [Algorithm::Ed25519, Algorithm::EcdsaP256] {
            let pair = generate(alg, None).expect("generates");
            let dir = tempfile::tempdir().expect("tmp");
            let p = dir.path().join("k.pem");
            std::fs::write(&p, &pair.private_pem.0).expect("write");
            let key = load_signing_key(&p, &PasswordSource::default()).expect("loads");
            let sig = key.sign(b"hello");
            assert!(pair.public.verify(b"hello", &sig));
            assert!(!pair.public.verify(b"hellO", &sig));
            assert_eq!(key.public().keyid(), pair.public.keyid());
            assert_eq!(pair.public.keyid().len(), 64);
        }
    }

    #[test]
    fn pem_labels_are_found() {
        assert_eq!(
            pem_label("x\n-----BEGIN PUBLIC KEY-----\nAA\n"),
            Some("PUBLIC KEY")
        );
        assert_eq!(pem_label("nothing"), None);
    }
}
