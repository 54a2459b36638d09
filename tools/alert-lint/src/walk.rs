//! Finds the rule files a command line names: files as given (a FIFO is read like stdin),
//! `-` for stdin, directories walked in sorted order for `*.yml`/`*.yaml`, hidden entries
//! skipped, each directory and each file once however many links lead to it.

use std::path::{Path, PathBuf};

use gatehouse::Source;

use crate::error::Error;

/// Expands paths into sources: directories are walked (sorted) for `*.yml`/`*.yaml`, each
/// directory and each file once however many links lead to it; a path given by name is
/// read whatever it is (a FIFO is read like stdin). Finding no rule file at all is an error:
/// an empty input judges nothing.
pub(crate) fn collect(paths: &[PathBuf]) -> Result<Vec<Source>, Error> {
    let mut out = Vec::new();
    let mut seen = Seen::default();
    let mut empty_dirs = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            out.push(Source::Stdin);
            continue;
        }
        let meta = std::fs::metadata(p).map_err(|e| {
            Error::Input(gatehouse::InputError::Read {
                path: p.display().to_string(),
                source: e,
            })
        })?;
        if meta.is_dir() {
            let before = out.len();
            walk(p, &meta, &mut seen, &mut out)?;
            if out.len() == before {
                empty_dirs.push(p.display().to_string());
            }
        } else if seen.first_visit(&meta) {
            out.push(Source::Path(p.clone()));
        }
    }
    if !out.is_empty() {
        for d in &empty_dirs {
            tracing::warn!("{d}: no *.yml or *.yaml files inside");
        }
    } else if let Some(first) = empty_dirs.first() {
        let message = if empty_dirs.len() == 1 {
            "no rule files (*.yml or *.yaml) found in this directory; nothing to judge".to_owned()
        } else {
            format!(
                "no rule files (*.yml or *.yaml) found in it or the {} other directories given; nothing to judge",
                empty_dirs.len() - 1
            )
        };
        return Err(Error::Input(gatehouse::InputError::invalid(
            first.clone(),
            message,
        )));
    }
    Ok(out)
}

/// Directories and files already met, by device and inode, so a symlink loop (`sub/up ->
/// ..`) ends and a file reached by two paths is linted once.
#[derive(Default)]
struct Seen(std::collections::HashSet<(u64, u64)>);

impl Seen {
    fn first_visit(&mut self, meta: &std::fs::Metadata) -> bool {
        use std::os::unix::fs::MetadataExt as _;
        self.0.insert((meta.dev(), meta.ino()))
    }
}

fn walk(
    dir: &Path,
    meta: &std::fs::Metadata,
    seen: &mut Seen,
    out: &mut Vec<Source>,
) -> Result<(), Error> {
    if !seen.first_visit(meta) {
        tracing::debug!(
            "skipping {}: already walked (a symlink loop?)",
            dir.display()
        );
        return Ok(());
    }
    for (p, name) in gatehouse::input::list_dir(dir).map_err(Error::Input)? {
        // list_dir keeps regular files, directories and dangling links only.
        let Ok(meta) = std::fs::metadata(&p) else {
            if name.ends_with(".yml") || name.ends_with(".yaml") {
                out.push(Source::Path(p)); // reading it names the problem
            }
            continue;
        };
        if meta.is_dir() {
            walk(&p, &meta, seen, out)?;
        } else if !meta.is_file() {
            tracing::debug!("skipping {}: not a regular file", p.display());
        } else if (name.ends_with(".yml") || name.ends_with(".yaml")) && seen.first_visit(&meta) {
            out.push(Source::Path(p));
        }
    }
    Ok(())
}
