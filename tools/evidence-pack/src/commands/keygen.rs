//! `evidence-pack keygen`: a new ed25519 or ECDSA P-256 key pair in a directory.

use gatehouse::Report;
use serde_json::json;

use crate::AGENT;
use crate::cli::{Algorithm, KeygenArgs};
use crate::keys::{self, PasswordSource};

pub(crate) fn run(args: &KeygenArgs) -> Report {
    Report::judge(AGENT, "keygen", |b| {
        let password = keys::password(&PasswordSource::new(
            args.password.key_password_env.as_deref(),
            args.password.key_password_file.as_deref(),
        ))?;
        let algorithm = match args.algorithm {
            Algorithm::Ed25519 => keys::Algorithm::Ed25519,
            Algorithm::EcdsaP256 => keys::Algorithm::EcdsaP256,
        };
        let pair = crate::keyfiles::create(
            &args.out_dir,
            algorithm,
            password.as_ref().map(|p| p.0.as_str()),
            args.force,
        )?;
        let (key_type, scheme) = pair.public.sslib_scheme();
        b.summary(format!(
            "{} key pair {} in {} ({})",
            pair.public.algorithm(),
            &pair.public.keyid()[..16],
            args.out_dir.display(),
            if password.is_some() {
                "private key encrypted"
            } else {
                "private key NOT encrypted"
            }
        ));
        b.data(json!({
            "algorithm": pair.public.algorithm(),
            "keyid": pair.public.keyid(),
            "private_key": pair.private_path.display().to_string(),
            "public_key": pair.public_path.display().to_string(),
            "encrypted": password.is_some(),
            "securesystemslib": {"keytype": key_type, "scheme": scheme},
        }));
        Ok::<_, crate::error::Error>(())
    })
}
