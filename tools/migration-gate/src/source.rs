//! Finds migrations on disk and orders them as a history: the layouts of Flyway
//! (`V1__x.sql`, `U1__x.sql`), golang-migrate/sqlx (`0001_x.up.sql` + `.down.sql`,
//! `2024..._x.sql`), diesel (`2024-01-02-094916_x/up.sql` + `down.sql` + `metadata.toml`),
//! and plain `.sql` files; plus the per-file directives and no-transaction markers.
//! Knows nothing about SQL beyond comments.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gatehouse::{Input, Source};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::template::{self, Rendered};

/// Migration files above this size are refused: a schema change is not a data dump.
const FILE_LIMIT: u64 = 64 * 1024 * 1024;

/// Which tool's conventions a migration follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// `V<version>__<desc>.sql` (+ `U<version>__<desc>.sql` undo).
    Flyway,
    /// `<version>_<name>.up.sql` + `.down.sql` (golang-migrate, sqlx reversible, dbmate-style).
    UpDown,
    /// `<version>_<name>/up.sql` + `down.sql` (diesel, crates.io, lemmy).
    Directory,
    /// Any other `.sql` file (sqlx simple migrations, hand-run scripts).
    Plain,
}

/// The declared or inferred phase of a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Expand,
    Contract,
}

/// One SQL file, read and (if templated) rendered.
#[derive(Debug, Clone)]
pub struct SqlFile {
    /// How reports name it: the path as found.
    pub label: String,
    /// The text to parse: the file with template placeholders rendered.
    pub rendered: Rendered,
    /// Directives found in its comments.
    pub directives: Directives,
    pub sha256: String,
    pub bytes: u64,
}

/// `-- migration-gate: ...` directives and the runners' no-transaction markers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directives {
    pub phase: Option<Phase>,
    /// `Some(false)` when a marker says the runner does not wrap the file in a transaction.
    pub transaction: Option<bool>,
    /// Check ids ignored for the whole file.
    pub ignore_file: Vec<String>,
}

/// One migration: an up file, maybe a down file, in history order.
#[derive(Debug, Clone)]
pub struct Migration {
    /// The version as the tool sees it (digits of the prefix), e.g. `20240102094916`.
    pub version: String,
    /// Human name: the directory or file stem, e.g. `2024-01-02-094916_site-name-not-unique`.
    pub name: String,
    pub layout: Layout,
    pub up: Option<SqlFile>,
    pub down: Option<SqlFile>,
    /// Whether the runner wraps the up file in a transaction.
    pub in_transaction: bool,
    /// Below `--since`: read for history, not judged.
    pub history_only: bool,
    /// Which history it belongs to: each directory named on the command line is one, and
    /// the files named directly (and stdin) together are another.
    pub history: usize,
}

impl Migration {
    pub fn label(&self) -> String {
        self.up
            .as_ref()
            .or(self.down.as_ref())
            .map_or_else(|| self.name.clone(), |f| f.label.clone())
    }
}

/// How the migration runner wraps each file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Transaction {
    /// From the layout and its markers: in a transaction unless marked otherwise.
    #[default]
    Auto,
    Always,
    Never,
}

/// What to read and how to read it: the checked `PATH`s and migration flags.
#[derive(Debug, Clone)]
pub(crate) struct Selection {
    /// Files or directories (`-` is stdin).
    pub(crate) paths: Vec<PathBuf>,
    /// `--template-var`, parsed.
    pub(crate) vars: template::Vars,
    pub(crate) transaction: Transaction,
    /// `--since`: older versions are history only.
    pub(crate) since: Option<String>,
    /// `--require-down`: a missing down migration is an error.
    pub(crate) require_down: bool,
}

/// Reads every PATH into one ordered history.
pub fn discover(args: &Selection) -> Result<Vec<Migration>> {
    let vars = &args.vars;
    let mut found: BTreeMap<(usize, VersionKey, String), Pending> = BTreeMap::new();
    // Loose files share the history after every directory's.
    let files_history = args.paths.len();
    for (history, path) in args.paths.iter().enumerate() {
        let _s = gatehouse::trace::step("discover");
        if path.as_os_str() == "-" {
            let input = gatehouse::input::read_limited(&Source::Stdin, FILE_LIMIT)?;
            let file = load(input, None, vars)?;
            let key = (files_history, VersionKey::new(""), "<stdin>".to_owned());
            found
                .entry(key)
                .or_insert_with(|| Pending::new(Layout::Plain))
                .up = Some(file);
            continue;
        }
        let meta = std::fs::metadata(path).map_err(|e| gatehouse::InputError::Read {
            path: path.display().to_string(),
            source: e,
        })?;
        if meta.is_dir() {
            let before = found.len();
            walk(path, 0, history, vars, &mut found)?;
            if found.len() == before {
                return Err(Error::Layout {
                    path: path.display().to_string(),
                    message: "no .sql migrations found".to_owned(),
                });
            }
        } else {
            add_file(path, files_history, vars, &mut found)?;
        }
    }
    let mut out = Vec::with_capacity(found.len());
    for ((history, _, name), p) in found {
        let Pending {
            layout,
            up,
            down,
            metadata_in_transaction,
            version,
        } = p;
        if up.is_none() && down.is_none() {
            continue;
        }
        let marker = up
            .as_ref()
            .and_then(|f| f.directives.transaction)
            .or(metadata_in_transaction);
        let in_transaction = match args.transaction {
            Transaction::Always => true,
            Transaction::Never => false,
            Transaction::Auto => marker.unwrap_or(true),
        };
        let history_only = args
            .since
            .as_deref()
            .is_some_and(|since| VersionKey::new(&version) < VersionKey::new(since));
        out.push(Migration {
            version,
            name,
            layout,
            up,
            down,
            in_transaction,
            history_only,
            history,
        });
    }
    if args.require_down
        && let Some(m) = out
            .iter()
            .find(|m| !m.history_only && m.up.is_some() && m.down.is_none())
    {
        return Err(Error::MissingDown { path: m.label() });
    }
    Ok(out)
}

#[derive(Debug)]
struct Pending {
    layout: Layout,
    up: Option<SqlFile>,
    down: Option<SqlFile>,
    metadata_in_transaction: Option<bool>,
    version: String,
}

impl Pending {
    fn new(layout: Layout) -> Self {
        Pending {
            layout,
            up: None,
            down: None,
            metadata_in_transaction: None,
            version: String::new(),
        }
    }
}

/// Walks a directory: `*.sql` files here, and one level of migration directories.
fn walk(
    dir: &Path,
    depth: usize,
    history: usize,
    vars: &template::Vars,
    found: &mut BTreeMap<(usize, VersionKey, String), Pending>,
) -> Result<()> {
    for (path, name) in gatehouse::input::list_dir(dir)? {
        // Only regular files and directories: reading a FIFO named `x.sql` would wait for a
        // writer forever, and a socket or device is no migration.
        let Ok(meta) = std::fs::metadata(&path) else {
            if name.ends_with(".sql") {
                add_file(&path, history, vars, found)?; // dangling: reading it names the problem
            }
            continue;
        };
        if !meta.is_dir() && !meta.is_file() {
            tracing::debug!(
                "skipping {}: not a regular file or a directory",
                path.display()
            );
            continue;
        }
        if meta.is_dir() {
            // Migration directories sit directly under the folder named (diesel), or one
            // level deeper when the user names the project root (`lemmy/` → `migrations/`).
            if depth < 3 {
                walk(&path, depth + 1, history, vars, found)?;
            }
        } else if name.ends_with(".sql") {
            add_file(&path, history, vars, found)?;
        }
    }
    Ok(())
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Classifies one file by its name and files it under its migration.
fn add_file(
    path: &Path,
    history: usize,
    vars: &template::Vars,
    found: &mut BTreeMap<(usize, VersionKey, String), Pending>,
) -> Result<()> {
    let name = file_name(path);
    let (layout, migration, version, is_down) = classify(path, &name);
    let input = gatehouse::input::read_limited(&Source::new(path), FILE_LIMIT)?;
    let file = load(input, Some(path), vars)?;
    let key = (history, VersionKey::new(&version), migration.clone());
    let entry = found.entry(key).or_insert_with(|| Pending::new(layout));
    entry.version = version;
    if layout == Layout::Directory
        && let Some(dir) = path.parent()
    {
        entry.metadata_in_transaction = read_metadata(dir);
    }
    let slot = if is_down {
        &mut entry.down
    } else {
        &mut entry.up
    };
    if slot.is_some() {
        return Err(Error::Layout {
            path: path.display().to_string(),
            message: format!(
                "a second {} file for migration {migration}",
                if is_down { "down" } else { "up" }
            ),
        });
    }
    *slot = Some(file);
    Ok(())
}

/// (layout, migration name, version digits, is_down) from a file's path.
fn classify(path: &Path, name: &str) -> (Layout, String, String, bool) {
    if name == "up.sql" || name == "down.sql" {
        let dir = path.parent().map(file_name).unwrap_or_default();
        return (
            Layout::Directory,
            dir.clone(),
            version_of(&dir, "_"),
            name == "down.sql",
        );
    }
    let stem = name.trim_end_matches(".sql");
    if let Some(rest) = stem.strip_suffix(".up") {
        return (
            Layout::UpDown,
            rest.to_owned(),
            version_of(rest, "_"),
            false,
        );
    }
    if let Some(rest) = stem.strip_suffix(".down") {
        return (Layout::UpDown, rest.to_owned(), version_of(rest, "_"), true);
    }
    let flyway = |prefix: char| {
        stem.strip_prefix(prefix)
            .filter(|r| r.contains("__") && r.starts_with(|c: char| c.is_ascii_digit()))
    };
    if let Some(rest) = flyway('V') {
        let version = rest.split("__").next().unwrap_or("").replace('_', ".");
        let desc = rest.split_once("__").map_or("", |(_, d)| d);
        return (Layout::Flyway, format!("{version}__{desc}"), version, false);
    }
    if let Some(rest) = flyway('U') {
        let version = rest.split("__").next().unwrap_or("").replace('_', ".");
        let desc = rest.split_once("__").map_or("", |(_, d)| d);
        return (Layout::Flyway, format!("{version}__{desc}"), version, true);
    }
    (Layout::Plain, stem.to_owned(), version_of(stem, "_"), false)
}

/// The version: the leading run of digits, dots and dashes before `sep`, dashes removed
/// (diesel's `2024-01-02-094916` is version `20240102094916`).
fn version_of(name: &str, sep: &str) -> String {
    let head = name.split(sep).next().unwrap_or("");
    let digits: String = head
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '-' || *c == '.')
        .filter(|c| *c != '-')
        .collect();
    digits.trim_end_matches('.').to_owned()
}

/// A runner's small config file beside a migration, when it is a regular file (a FIFO would
/// block the read forever); recorded as an input of the run.
fn read_side_file(path: &Path) -> Option<String> {
    if !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let input = gatehouse::input::read_limited(&Source::new(path), FILE_LIMIT).ok()?;
    input.text().ok().map(str::to_owned)
}

/// diesel's `metadata.toml`: `run_in_transaction = false`.
fn read_metadata(dir: &Path) -> Option<bool> {
    let text = read_side_file(&dir.join("metadata.toml"))?;
    text.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or("").trim();
        let (k, v) = line.split_once('=')?;
        (k.trim() == "run_in_transaction").then(|| v.trim() != "false")
    })
}

fn load(input: Input, path: Option<&Path>, vars: &template::Vars) -> Result<SqlFile> {
    let label = input.label();
    let text = input.text()?;
    if let Some(pos) = text.find('\0') {
        let (line, column) = gatehouse::input::line_col(text.as_bytes(), pos);
        return Err(Error::Syntax {
            file: label,
            line,
            column,
            message: "NUL byte: this is not a SQL text file".to_owned(),
        });
    }
    let directives = directives(text);
    let mut directives = directives;
    if let Some(p) = path
        && directives.transaction.is_none()
    {
        directives.transaction = flyway_conf(p);
    }
    let rendered = template::render(text, vars);
    Ok(SqlFile {
        label,
        sha256: gatehouse::hash::sha256_hex(&input.bytes),
        bytes: input.bytes.len() as u64,
        rendered,
        directives,
    })
}

/// Flyway's per-script config `V1__x.sql.conf`: `executeInTransaction=false`.
fn flyway_conf(path: &Path) -> Option<bool> {
    let mut conf = path.as_os_str().to_owned();
    conf.push(".conf");
    let text = read_side_file(&PathBuf::from(conf))?;
    text.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == "executeInTransaction").then(|| v.trim() != "false")
    })
}

/// Reads the directives in a file's comments (anywhere; they are file-wide).
pub fn directives(text: &str) -> Directives {
    let mut d = Directives::default();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        let Some(comment) = t.strip_prefix("--") else {
            continue;
        };
        let c = comment.trim();
        // Other runners' markers.
        if i == 0 && c == "no-transaction" {
            d.transaction = Some(false); // sqlx
        }
        if c.starts_with("migrate:up") && c.contains("transaction:false") {
            d.transaction = Some(false); // dbmate
        }
        let Some(ours) = c.strip_prefix("migration-gate:") else {
            continue;
        };
        for word in ours.split_whitespace() {
            match word {
                "phase=contract" => d.phase = Some(Phase::Contract),
                "phase=expand" => d.phase = Some(Phase::Expand),
                "no-transaction" | "transaction=false" => d.transaction = Some(false),
                "transaction=true" => d.transaction = Some(true),
                w => {
                    if let Some(ids) = w.strip_prefix("ignore-file=") {
                        d.ignore_file
                            .extend(ids.split(',').filter(|s| !s.is_empty()).map(str::to_owned));
                    }
                }
            }
        }
    }
    d
}

/// Orders versions: part by part (digit runs), each by numeric value (`1` < `0002` < `10`,
/// `1.2` < `1.10`), so crates.io's `20161115111853_x` sorts before its later
/// `2019-03-22-170700_x` (dashes removed) and lemmy's `2026-03-08-202630-0000_x`. Equality
/// follows the order: `0004` (a file) equals `4` (golang-migrate's table).
#[derive(Debug, Clone)]
pub struct VersionKey(Vec<String>);

impl VersionKey {
    pub fn new(v: &str) -> Self {
        VersionKey(
            v.split(|c: char| !c.is_ascii_digit())
                .filter(|s| !s.is_empty())
                .map(|s| {
                    let t = s.trim_start_matches('0');
                    if t.is_empty() {
                        "0".to_owned()
                    } else {
                        t.to_owned()
                    }
                })
                .collect(),
        )
    }
}

impl Ord for VersionKey {
    fn cmp(&self, other: &Self) -> Ordering {
        // Files without a version sort after every versioned one.
        match (self.0.is_empty(), other.0.is_empty()) {
            (true, false) => return Ordering::Greater,
            (false, true) => return Ordering::Less,
            _ => {}
        }
        for (a, b) in self.0.iter().zip(&other.0) {
            // Leading zeros are gone: a longer digit run is a larger number.
            let ord = a.len().cmp(&b.len()).then_with(|| a.cmp(b));
            if ord != Ordering::Equal {
                return ord;
            }
        }
        self.0.len().cmp(&other.0.len())
    }
}

impl PartialEq for VersionKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for VersionKey {}

impl PartialOrd for VersionKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_common_layouts() {
        let c = |p: &str| {
            let path = Path::new(p);
            classify(path, &file_name(path))
        };
        assert_eq!(
            c("m/2024-01-02-094916_site-name/up.sql"),
            (
                Layout::Directory,
                "2024-01-02-094916_site-name".into(),
                "20240102094916".into(),
                false
            )
        );
        assert_eq!(
            c("m/0001_init.down.sql"),
            (Layout::UpDown, "0001_init".into(), "0001".into(), true)
        );
        assert_eq!(
            c("m/V1_2__add_x.sql"),
            (Layout::Flyway, "1.2__add_x".into(), "1.2".into(), false)
        );
        assert_eq!(
            c("m/U3__add_x.sql"),
            (Layout::Flyway, "3__add_x".into(), "3".into(), true)
        );
        assert_eq!(c("m/schema.sql").0, Layout::Plain);
    }

    #[test]
    fn versions_order_like_the_tools_apply_them() {
        let k = VersionKey::new;
        assert!(k("1") < k("0002"));
        assert!(k("0002") < k("10"));
        assert!(k("1.2") < k("1.10"));
        assert!(k("20161115111853") < k("20190322170700"));
        assert!(k("20240102094916") < k("202603082026300000"));
        assert!(k("00") < k("20210710035447"));
        assert!(k("99") < k(""));
        assert_eq!(k("0004"), k("4"));
    }

    proptest::proptest! {
        #[test]
        fn version_order_is_a_total_order(a in "[0-9._-]{0,20}", b in "[0-9._-]{0,20}", c in "[0-9._-]{0,20}") {
            let (a, b, c) = (VersionKey::new(&a), VersionKey::new(&b), VersionKey::new(&c));
            proptest::prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
            if a <= b && b <= c {
                proptest::prop_assert!(a <= c);
            }
        }

        #[test]
        fn any_file_name_classifies(name in "[ -~]{0,40}") {
            let p = Path::new("m").join(&name);
            let _ = classify(&p, &name);
            let _ = version_of(&name, "_");
        }
    }

    #[test]
    fn reads_directives_and_markers() {
        let d = directives(
            "-- no-transaction\n-- migration-gate: phase=contract ignore-file=type.char,type.json\n",
        );
        assert_eq!(d.transaction, Some(false));
        assert_eq!(d.phase, Some(Phase::Contract));
        assert_eq!(d.ignore_file, vec!["type.char", "type.json"]);
        assert_eq!(directives("select 1; -- no-transaction").transaction, None);
    }
}
