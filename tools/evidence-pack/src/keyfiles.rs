//! A new key pair on disk for `keygen`: `gatehouse.key` (mode 0600 from its first byte) and
//! `gatehouse.pub` in a directory, each written completely to an `O_EXCL` temporary file
//! before either name changes, so a full disk never leaves a half-written key behind.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::keys::{self, Algorithm, PublicKey};

/// A key pair `create` wrote.
pub(crate) struct NewPair {
    pub(crate) public: PublicKey,
    pub(crate) private_path: PathBuf,
    pub(crate) public_path: PathBuf,
}

/// Generates a key pair into `out_dir` (created if missing); an existing key file is
/// replaced only with `force`.
pub(crate) fn create(
    out_dir: &Path,
    algorithm: Algorithm,
    password: Option<&str>,
    force: bool,
) -> Result<NewPair> {
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir.display(), e))?;
    let private = out_dir.join("gatehouse.key");
    let public = out_dir.join("gatehouse.pub");
    if !force {
        for p in [&private, &public] {
            if p.symlink_metadata().is_ok() {
                return Err(Error::Usage(format!(
                    "{}: exists; pass --force to replace it",
                    p.display()
                )));
            }
        }
    }
    let pair = keys::generate(algorithm, password)?;
    // Both files complete before either name changes: a full disk leaves the old pair (or
    // nothing), never an empty or half-written key that blocks the next keygen.
    let private_tmp = write_temp(&private, pair.private_pem.0.as_bytes(), 0o600)?;
    let public_tmp = match write_temp(&public, pair.public.spki_pem().as_bytes(), 0o644) {
        Ok(t) => t,
        Err(e) => {
            let _ = std::fs::remove_file(&private_tmp);
            return Err(e);
        }
    };
    if let Err(e) = put_in_place(&private_tmp, &private, force) {
        let _ = std::fs::remove_file(&public_tmp);
        return Err(e);
    }
    put_in_place(&public_tmp, &public, force)?;
    Ok(NewPair {
        public: pair.public,
        private_path: private,
        public_path: public,
    })
}

/// A complete file in a new temporary sibling of `path`: created with `O_EXCL` and `mode`
/// (so a private key is never readable by others, not even for a moment), written, synced.
/// On failure (a full disk) it is removed, so nothing half-written is left behind.
fn write_temp(path: &Path, bytes: &[u8], mode: u32) -> Result<PathBuf> {
    let (tmp, mut f) = gatehouse::run::create_temp_sibling(path, mode)
        .map_err(|e| Error::io(path.display(), e))?;
    let written = f.write_all(bytes).and_then(|()| f.sync_all());
    drop(f);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path.display(), e));
    }
    Ok(tmp)
}

/// Puts a complete temporary file in place. With `force` a rename replaces whatever has the
/// name — a symlink itself, not its target, and never with a more open mode than the new
/// file's; without, a hard link refuses an existing name atomically.
fn put_in_place(tmp: &Path, path: &Path, force: bool) -> Result<()> {
    let placed = if force {
        std::fs::rename(tmp, path)
    } else {
        std::fs::hard_link(tmp, path).map(|()| {
            let _ = std::fs::remove_file(tmp);
        })
    };
    placed.map_err(|e| {
        let _ = std::fs::remove_file(tmp);
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::Usage(format!(
                "{}: exists; pass --force to replace it",
                path.display()
            ))
        } else {
            Error::io(path.display(), e)
        }
    })
}
