//! Reading what the user gave us: a path or `-` for stdin, size-capped, and reports given as
//! one JSON object, an array, or JSON Lines. Every error names the input and, for parse
//! errors, the line and column.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::report::Failure;

/// Inputs above this size are refused unless a tool asks for more: a gate reads configs,
/// rule files, SBOMs and reports, not disk images.
pub const DEFAULT_LIMIT: u64 = 256 * 1024 * 1024;

/// Something the user named on the command line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    Stdin,
    Path(PathBuf),
}

impl Source {
    pub fn new(arg: impl AsRef<Path>) -> Self {
        let p = arg.as_ref();
        if p.as_os_str() == "-" {
            Source::Stdin
        } else {
            Source::Path(p.to_path_buf())
        }
    }

    /// How errors and locations name it: the path as given, or `<stdin>`.
    pub fn label(&self) -> String {
        match self {
            Source::Stdin => "<stdin>".to_owned(),
            Source::Path(p) => p.display().to_string(),
        }
    }
}

impl From<&str> for Source {
    fn from(s: &str) -> Self {
        Source::new(s)
    }
}

impl From<&Path> for Source {
    fn from(p: &Path) -> Self {
        Source::new(p)
    }
}

impl From<PathBuf> for Source {
    fn from(p: PathBuf) -> Self {
        Source::new(p)
    }
}

/// An input read into memory.
#[derive(Debug, Clone)]
pub struct Input {
    pub source: Source,
    pub bytes: Vec<u8>,
}

impl Input {
    pub fn label(&self) -> String {
        self.source.label()
    }

    /// The contents as UTF-8 (a leading byte-order mark is dropped).
    pub fn text(&self) -> Result<&str, InputError> {
        let bytes = self
            .bytes
            .strip_prefix(b"\xEF\xBB\xBF")
            .unwrap_or(&self.bytes);
        std::str::from_utf8(bytes).map_err(|e| {
            let (line, column) = line_col(bytes, e.valid_up_to());
            InputError::Parse {
                path: self.label(),
                line,
                column,
                message: "not valid UTF-8 text (is this a binary file?)".to_owned(),
            }
        })
    }
}

/// Why an input could not be used. Each variant prints as one line naming the input.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: larger than {limit} bytes; refusing to read it")]
    TooLarge { path: String, limit: u64 },
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        path: String,
        line: u64,
        column: u64,
        message: String,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

impl InputError {
    pub fn path(&self) -> &str {
        match self {
            InputError::Read { path, .. }
            | InputError::TooLarge { path, .. }
            | InputError::Parse { path, .. }
            | InputError::Invalid { path, .. } => path,
        }
    }

    pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        InputError::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl Failure for InputError {
    fn kind(&self) -> &'static str {
        match self {
            InputError::Read { .. } => "io",
            InputError::TooLarge { .. } => "too_large",
            InputError::Parse { .. } | InputError::Invalid { .. } => "input",
        }
    }
}

/// Reads a path or stdin, refusing more than `limit` bytes (without reading past it).
pub fn read_limited(source: &Source, limit: u64) -> Result<Input, InputError> {
    let label = source.label();
    let read_err = |e| InputError::Read {
        path: label.clone(),
        source: e,
    };
    let mut bytes = Vec::new();
    match source {
        Source::Stdin => {
            std::io::stdin()
                .lock()
                .take(limit.saturating_add(1))
                .read_to_end(&mut bytes)
                .map_err(read_err)?;
        }
        Source::Path(p) => {
            let file = std::fs::File::open(p).map_err(read_err)?;
            let meta = file.metadata().map_err(read_err)?;
            note_input(p);
            if meta.is_dir() {
                return Err(InputError::invalid(label, "is a directory"));
            }
            if meta.len() > limit {
                return Err(InputError::TooLarge { path: label, limit });
            }
            // Sized up front: growing the buffer showed in the profile of large SBOMs.
            bytes.reserve_exact(usize::try_from(meta.len()).unwrap_or(0).saturating_add(1));
            file.take(limit.saturating_add(1))
                .read_to_end(&mut bytes)
                .map_err(read_err)?;
        }
    }
    if bytes.len() as u64 > limit {
        return Err(InputError::TooLarge { path: label, limit });
    }
    Ok(Input {
        source: source.clone(),
        bytes,
    })
}

/// [`read_limited`] with [`DEFAULT_LIMIT`].
pub fn read(source: &Source) -> Result<Input, InputError> {
    read_limited(source, DEFAULT_LIMIT)
}

/// A directory's entries in sorted order (so output never depends on the file system),
/// hidden ones (names starting with `.`) left out: (path, file name). Only regular files and
/// directories (also behind a symlink) are listed: a FIFO, socket or device in a scanned
/// directory would hang or mislead a walk, so it is skipped and said at `-v`. Entries that
/// vanish while listing are skipped.
pub fn list_dir(dir: &Path) -> Result<Vec<(PathBuf, String)>, InputError> {
    let entries = std::fs::read_dir(dir).map_err(|e| InputError::Read {
        path: dir.display().to_string(),
        source: e,
    })?;
    let mut out: Vec<(PathBuf, String)> = entries
        .filter_map(Result::ok)
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (e.path(), name)
        })
        .filter(|(_, name)| !name.starts_with('.'))
        .filter(|(path, _)| match std::fs::metadata(path) {
            Ok(m) if m.is_file() || m.is_dir() => true,
            Ok(_) => {
                tracing::debug!(
                    "skipping {}: not a regular file or a directory",
                    path.display()
                );
                false
            }
            // A dangling symlink: kept, so reading it names the problem.
            Err(_) => true,
        })
        .collect();
    out.sort();
    Ok(out)
}

/// What identifies a file the run read: its canonical path and its device and inode.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileId {
    canonical: Option<PathBuf>,
    dev_ino: Option<(u64, u64)>,
}

impl FileId {
    fn of(path: &Path) -> Option<FileId> {
        use std::os::unix::fs::MetadataExt as _;
        let canonical = std::fs::canonicalize(path).ok();
        let dev_ino = std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()));
        (canonical.is_some() || dev_ino.is_some()).then_some(FileId { canonical, dev_ino })
    }

    fn same(&self, other: &FileId) -> bool {
        (self.canonical.is_some() && self.canonical == other.canonical)
            || (self.dev_ino.is_some() && self.dev_ino == other.dev_ino)
    }
}

/// Every file this run read as input (see [`note_input`]).
static INPUTS: std::sync::Mutex<Vec<(PathBuf, FileId)>> = std::sync::Mutex::new(Vec::new());

/// Records `path` as an input of this run, so no output of the run may replace it
/// ([`refuse_input_overwrite`]). [`read`] and [`read_limited`] record what they read; a tool
/// that opens an input any other way (a key, an archive, a directory it streams) calls this.
pub fn note_input(path: &Path) {
    let Some(id) = FileId::of(path) else { return };
    let mut inputs = INPUTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !inputs.iter().any(|(_, known)| known.same(&id)) {
        inputs.push((path.to_path_buf(), id));
    }
}

/// An error when writing `output` would replace a file this run read (compared by canonical
/// path and by device and inode, so a symlink, a hard link or `./x` for `x` is caught).
pub fn refuse_input_overwrite(output: &Path) -> Result<(), InputError> {
    let Some(out) = FileId::of(output) else {
        return Ok(()); // does not exist yet: it cannot be an input
    };
    let inputs = INPUTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match inputs.iter().find(|(_, id)| id.same(&out)) {
        Some((input, _)) => Err(InputError::invalid(
            output.display().to_string(),
            format!(
                "refusing to write over {}, an input of this run; choose another output path",
                input.display()
            ),
        )),
        None => Ok(()),
    }
}

/// 1-based (line, column) of a byte offset; the column counts characters.
pub fn line_col(bytes: &[u8], offset: usize) -> (u64, u64) {
    let offset = offset.min(bytes.len());
    let before = &bytes[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count() as u64
        + 1;
    (line, column)
}

/// Turns a serde_json error into `path:line:column: message`.
pub fn json_error(path: &str, e: &serde_json::Error) -> InputError {
    let message = strip_json_position(&e.to_string());
    // serde_json reports column 0 at an end of line; editors count from 1.
    InputError::Parse {
        path: path.to_owned(),
        line: e.line() as u64,
        column: e.column().max(1) as u64,
        message,
    }
}

/// serde_json appends " at line L column C"; we print the position in front instead.
fn strip_json_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(p) => msg[..p].to_owned(),
        None => msg.to_owned(),
    }
}

/// Parses JSON values given as one value, an array of values, JSON Lines, or several
/// concatenated documents (what `tool >> all.json` produces). Arrays are flattened one level.
pub fn parse_json_stream<T: DeserializeOwned>(input: &Input) -> Result<Vec<T>, InputError> {
    let text = input.text()?;
    let label = input.label();
    let mut out = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<serde_json::Value>();
    loop {
        let start = stream.byte_offset();
        let value = match stream.next() {
            None => break,
            Some(Ok(v)) => v,
            Some(Err(e)) => return Err(json_error(&label, &e)),
        };
        let items = match value {
            serde_json::Value::Array(items) => items,
            other => vec![other],
        };
        for item in items {
            let t = serde_json::from_value(item).map_err(|e| {
                // The value parsed, so the position is that of the whole document.
                let skipped = text[start..].len() - text[start..].trim_start().len();
                let (line, column) = line_col(text.as_bytes(), start + skipped);
                InputError::Parse {
                    path: label.clone(),
                    line,
                    column,
                    message: strip_json_position(&e.to_string()),
                }
            })?;
            out.push(t);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Report;
    use proptest::prelude::*;

    #[test]
    fn list_dir_skips_fifos_and_keeps_files_and_dirs() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a.yaml"), "x").expect("write");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        let fifo = dir.path().join("b.yaml");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo");
        std::os::unix::fs::symlink(&fifo, dir.path().join("c.yaml")).expect("symlink");
        let names: Vec<String> = list_dir(dir.path())
            .expect("list")
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        assert_eq!(names, ["a.yaml", "sub"]);
    }

    fn input(text: &str) -> Input {
        Input {
            source: Source::new("r.jsonl"),
            bytes: text.as_bytes().to_vec(),
        }
    }

    const R: &str = r#"{"schema":"gatehouse.report/v1","agent":"a","action":"b","result":"ok"}"#;

    #[test]
    fn reads_objects_arrays_and_json_lines() {
        let one: Vec<Report> = parse_json_stream(&input(R)).expect("object");
        assert_eq!(one.len(), 1);
        let arr: Vec<Report> = parse_json_stream(&input(&format!("[{R},{R}]"))).expect("array");
        assert_eq!(arr.len(), 2);
        let lines: Vec<Report> =
            parse_json_stream(&input(&format!("{R}\n{R}\n\n{R}\n"))).expect("lines");
        assert_eq!(lines.len(), 3);
        let pretty = serde_json::to_string_pretty(
            &serde_json::from_str::<serde_json::Value>(R).expect("json"),
        )
        .expect("pretty");
        let concatenated: Vec<Report> =
            parse_json_stream(&input(&format!("{pretty}\n{pretty}"))).expect("concatenated");
        assert_eq!(concatenated.len(), 2);
    }

    #[test]
    fn malformed_json_lines_name_file_line_and_column() {
        let err = parse_json_stream::<Report>(&input(&format!("{R}\n{{\"schema\": tru}}\n")))
            .expect_err("malformed");
        let msg = err.to_string();
        assert!(msg.starts_with("r.jsonl:2:"), "{msg}");
        assert!(!msg.contains('\n'));
        let err = parse_json_stream::<Report>(&input(&format!("{R}\n{{\"schema\":\"x\"}}\n")))
            .expect_err("missing fields");
        assert!(
            err.to_string().starts_with("r.jsonl:2:1: missing field"),
            "{err}"
        );
    }

    #[test]
    fn lists_directories_sorted_without_hidden_entries() {
        let dir = std::env::temp_dir().join(format!("gatehouse-list-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("b")).expect("tmp");
        for f in ["c.yml", "a.yml", ".hidden.yml"] {
            std::fs::write(dir.join(f), "").expect("write");
        }
        let names: Vec<String> = list_dir(&dir)
            .expect("lists")
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        assert_eq!(names, ["a.yml", "b", "c.yml"]);
        let err = list_dir(&dir.join("missing")).expect_err("missing");
        assert!(err.to_string().contains("missing: cannot read:"), "{err}");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn binary_input_is_refused_as_text() {
        let i = Input {
            source: Source::new("x.bin"),
            bytes: b"ok\n\xff\xfe".to_vec(),
        };
        assert_eq!(
            i.text().expect_err("binary").to_string(),
            "x.bin:2:1: not valid UTF-8 text (is this a binary file?)"
        );
    }

    #[test]
    fn size_limit_is_enforced_before_reading() {
        let dir = std::env::temp_dir().join(format!("gatehouse-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp");
        let p = dir.join("big");
        std::fs::write(&p, vec![b'x'; 100]).expect("write");
        let err = read_limited(&Source::new(&p), 10).expect_err("too large");
        assert!(matches!(err, InputError::TooLarge { limit: 10, .. }));
        assert!(read_limited(&Source::new(&p), 100).is_ok());
        let err = read(&Source::new(dir.join("missing"))).expect_err("missing");
        assert!(err.to_string().contains("missing: cannot read:"), "{err}");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let i = Input { source: Source::Stdin, bytes };
            let _ = parse_json_stream::<Report>(&i);
        }
    }
}
