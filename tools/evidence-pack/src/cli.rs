//! The command line: clap structs for `gate`, `build`, `verify`, `keygen` and `audit`, as
//! the user typed them. Checking and loading what they name happens in the command modules.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use gatehouse::CommonArgs;

#[derive(Debug, Parser)]
#[command(
    name = "evidence-pack",
    version,
    about = "The promotion decision over Gatehouse reports, a deterministic DSSE-signed evidence zip, its verification, and a hash-chained audit log",
    after_help = concat!(
        "Examples:\n",
        "  evidence-pack gate --policy examples/release/promote.yaml out/demo/release/*.json\n",
        "  evidence-pack keygen --out-dir keys\n",
        "  evidence-pack build --release v3.0.0 --key keys/gatehouse.key --reports out/demo/release -o evidence.zip\n",
        "  evidence-pack verify evidence.zip --key keys/gatehouse.pub\n",
        "  evidence-pack audit append audit.jsonl --event '{\"action\":\"promote\",\"release\":\"v3.0.0\"}'\n",
        "  evidence-pack checks --format text\n\n",
        gatehouse::help_footer!(),
    )
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decide promote / block / rollback from the other tools' reports and a policy
    #[command(after_help = concat!(
        "Example:\n",
        "  evidence-pack gate --policy examples/release/promote.yaml out/demo/release/*.json\n",
        "  cat reports.jsonl | evidence-pack gate --policy promote.yaml -\n",
        "  evidence-pack gate --policy examples/policies/promote.rego --release v3.0.0 \\\n",
        "      --audit out/audit.jsonl out/demo/release/\n\n",
        "--policy picks the language by extension: .rego is Rego (conftest's deny/warn and a\n",
        "decision rule), anything else is the YAML policy.\n",
        "Exit 0 means promote; 1 means block or rollback.\n",
        gatehouse::help_footer!(),
    ))]
    Gate(GateArgs),
    /// Collect reports and artifacts into a reproducible, DSSE-signed evidence zip
    #[command(after_help = concat!(
        "Example:\n",
        "  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) evidence-pack build --release v3.0.0 \\\n",
        "      --key keys/gatehouse.key --policy examples/release/promote.yaml \\\n",
        "      --reports out/demo/release --artifact examples/release -o evidence.zip\n\n",
        "Times inside the pack come from SOURCE_DATE_EPOCH, else from the newest report; never the clock.\n",
        "Exit 0: built (and promote, with --policy); 1: built, but the gate says no; 2: not built.",
        "\n\n",
        gatehouse::help_footer!(),
    ))]
    Build(BuildArgs),
    /// Check an evidence zip: signature, every digest, nothing missing or extra
    #[command(after_help = concat!(
        "Example:\n",
        "  evidence-pack verify evidence.zip --key keys/gatehouse.pub --policy examples/release/promote.yaml\n\n",
        "Exit 0: intact; 1: tampered, or the re-run gate says no; 2: not an evidence pack, or unreadable.",
        "\n\n",
        gatehouse::help_footer!(),
    ))]
    Verify(VerifyArgs),
    /// Make an ed25519 or ECDSA P-256 key pair (PKCS#8 / SPKI PEM)
    #[command(after_help = concat!(
        "Example:\n",
        "  evidence-pack keygen --out-dir keys\n",
        "  KEY_PW=$(cat /run/secrets/pw) evidence-pack keygen --algorithm ecdsa-p256 --key-password-env KEY_PW --out-dir keys\n\n",
        "Writes DIR/gatehouse.key (mode 0600) and DIR/gatehouse.pub; refuses to overwrite without --force.",
        "\n\n",
        gatehouse::help_footer!(),
    ))]
    Keygen(KeygenArgs),
    /// Append to or verify a hash-chained JSON Lines audit log
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Test Rego promotion policies (`test_` rules, as `opa test`)
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Sign SLSA Provenance v1 (an in-toto Statement in DSSE) for binaries and image digests
    #[command(after_help = concat!(
        "Example:\n",
        "  evidence-pack provenance --key keys/gatehouse.key --builder-id https://gatehouse.dev/scripts/release-self.sh \\\n",
        "      --source-uri https://github.com/gatehouse-dev/gatehouse --source-commit $(git rev-parse HEAD) \\\n",
        "      --build-command 'scripts/release-self.sh' --material Cargo.lock \\\n",
        "      --subject out/bin/alert-lint --subject-digest localhost/gatehouse:0.1.0=sha256:$DIGEST \\\n",
        "      -o provenance.intoto.json\n\n",
        "Writes a DSSE envelope (payloadType application/vnd.in-toto+json); nothing in it comes from the clock.",
        "\n\n",
        gatehouse::help_footer!(),
    ))]
    Provenance(ProvenanceArgs),
    /// Write the release page: one self-contained HTML file with the decision, the gates and
    /// each tool's charts
    #[command(after_help = concat!(
        "Example:\n",
        "  evidence-pack report --reports out/demo/release --release v3.0.0 -o out/demo/release/report.html\n",
        "  evidence-pack report --pack evidence.zip -o report.html\n\n",
        "No script, no external request: it opens from a zip or an air-gapped machine.\n",
        "Exit 0: written; 2: not written (no reports, unreadable input).",
        "\n\n",
        gatehouse::help_footer!(),
    ))]
    Report(ReportArgs),
    /// List every check id with what it judges, why, and how to fix a failure
    #[command(after_help = concat!(
        "Example:\n",
        "  evidence-pack checks --format text\n\n",
        gatehouse::help_footer!(),
    ))]
    Checks,
}

#[derive(Debug, Args)]
pub struct GateArgs {
    /// The promotion policy: YAML (schemas/evidence-pack.policy.schema.json) or Rego (.rego)
    #[arg(long, value_name = "FILE")]
    pub policy: PathBuf,
    /// Reports: files holding one report, an array or JSON Lines; directories of such
    /// files; `-` for stdin
    #[arg(value_name = "REPORT", default_value = "-")]
    pub reports: Vec<PathBuf>,
    /// Judge ages and waivers as of this time (RFC 3339) instead of now
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    /// Rego only: a JSON object merged into `data` (waivers, limits); repeatable
    #[arg(long, value_name = "FILE")]
    pub data: Vec<PathBuf>,
    /// The release being gated (`input.release` for Rego; recorded with --audit)
    #[arg(long, value_name = "VERSION")]
    pub release: Option<String>,
    /// The environment it is promoted to (`input.environment`; recorded with --audit)
    #[arg(long, value_name = "NAME")]
    pub environment: Option<String>,
    /// Append the decision (input and policy digests, decision, reasons, time) to this
    /// hash-chained audit log
    #[arg(long, value_name = "LOG")]
    pub audit: Option<PathBuf>,
    /// Rego only: stop an evaluation that runs longer than this (e.g. 10s)
    #[arg(long, value_name = "DURATION", default_value = "10s")]
    pub timeout: String,
    /// Write the normalised input view (schemas/evidence-pack.policy-input.schema.json) to
    /// this file, e.g. to replay the decision with `opa eval -i FILE`
    #[arg(long, value_name = "FILE")]
    pub save_input: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Run the Rego unit tests (`test_` rules) of the .rego files under DIR, as `opa test`
    #[command(after_help = concat!(
        "Example:\n",
        "  evidence-pack policy test examples/policies/\n\n",
        "Exit 0: every test passed; 1: a test failed or errored; 2: a file does not parse.",
        "\n\n",
        gatehouse::help_footer!(),
    ))]
    Test(PolicyTestArgs),
}

#[derive(Debug, Args)]
pub struct PolicyTestArgs {
    /// Directories (searched recursively) or .rego files
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// A JSON object merged into `data`; repeatable
    #[arg(long, value_name = "FILE")]
    pub data: Vec<PathBuf>,
    /// Stop a test that runs longer than this
    #[arg(long, value_name = "DURATION", default_value = "10s")]
    pub timeout: String,
}

#[derive(Debug, Args)]
pub struct KeyPassword {
    /// Read the private key's password from this environment variable
    #[arg(long, value_name = "NAME", conflicts_with = "key_password_file")]
    pub key_password_env: Option<String>,
    /// Read the private key's password from the first line of this file
    #[arg(long, value_name = "FILE")]
    pub key_password_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The release this pack is evidence for, e.g. v3.0.0
    #[arg(long, value_name = "VERSION")]
    pub release: String,
    /// The signing key: PKCS#8 PEM (ed25519 or ECDSA P-256), optionally encrypted
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    #[command(flatten)]
    pub password: KeyPassword,
    /// Where to write the zip
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// Reports to include (repeatable): a file (object, array or JSON Lines), a directory
    /// of *.json / *.jsonl files, or `-`
    #[arg(long = "reports", value_name = "PATH")]
    pub reports: Vec<PathBuf>,
    /// A file or directory to include under artifacts/ (repeatable)
    #[arg(long = "artifact", value_name = "PATH")]
    pub artifacts: Vec<PathBuf>,
    /// Release notes (markdown) to put at release-notes.md
    #[arg(long, value_name = "FILE")]
    pub notes: Option<PathBuf>,
    /// Add the commit list and Conventional-Commit release notes for A..B
    #[arg(long, value_name = "A..B")]
    pub git_range: Option<String>,
    /// The git repository for --git-range
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub repo: PathBuf,
    /// Run the gate with this policy and record its decision in the attestation
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// fast (deflate level 1), best (deflate level 6: smaller, ~5x slower), or store
    /// (uncompressed; for artifacts that are already compressed)
    #[arg(long, value_enum, default_value_t = Compression::Fast)]
    pub compression: Compression,
    /// With --policy: judge ages and waivers as of this time (RFC 3339) instead of the
    /// newest report's start (the default keeps the pack reproducible)
    #[arg(long, value_name = "TIME", requires = "policy")]
    pub now: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Reports to show (repeatable): a file (object, array or JSON Lines), a directory of
    /// *.json / *.jsonl files, or `-`
    #[arg(long = "reports", value_name = "PATH")]
    pub reports: Vec<PathBuf>,
    /// An evidence zip: its reports, release and recorded decision (not verified here)
    #[arg(long, value_name = "ZIP")]
    pub pack: Option<PathBuf>,
    /// The release named in the title (default: the pack's)
    #[arg(long, value_name = "VERSION")]
    pub release: Option<String>,
    /// Where to write the HTML page
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The evidence zip
    #[arg(value_name = "ZIP")]
    pub pack: PathBuf,
    /// The public key (SPKI PEM) the pack must be signed with
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// Also re-run the gate with this policy on the reports inside
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// With --policy: judge ages and waivers as of this time (RFC 3339) instead of the
    /// time recorded in the pack
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
}

/// How `build` stores entries: deflate level 1, deflate level 6, or uncompressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Compression {
    Fast,
    Best,
    Store,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Algorithm {
    Ed25519,
    #[value(name = "ecdsa-p256")]
    EcdsaP256,
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Directory for gatehouse.key and gatehouse.pub (created if missing)
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
    /// Key algorithm
    #[arg(long, value_enum, default_value_t = Algorithm::Ed25519)]
    pub algorithm: Algorithm,
    /// Encrypt the private key with the password from --key-password-env/--key-password-file
    #[command(flatten)]
    pub password: KeyPassword,
    /// Replace existing key files
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Append one event to the log, chained to the previous line
    #[command(after_help = concat!(
        "Example:\n",
        "  evidence-pack audit append audit.jsonl --event '{\"action\":\"promote\",\"release\":\"v3.0.0\",\"by\":\"ci\"}'\n",
        "  evidence-pack audit append audit.jsonl --event-file event.json --key keys/gatehouse.key\n\n",
        "Safe with concurrent writers (an exclusive file lock) and refuses to append after a torn last line.",
        "\n\n",
        gatehouse::help_footer!(),
    ))]
    Append(AuditAppendArgs),
    /// Check every line of the log links to the one before it
    #[command(after_help = concat!(
        "Example:\n",
        "  evidence-pack audit verify audit.jsonl\n",
        "  evidence-pack audit verify audit.jsonl --key keys/gatehouse.pub\n\n",
        "Exit 0: intact; 1: the chain breaks (the first broken line is named); 2: unreadable.",
        "\n\n",
        gatehouse::help_footer!(),
    ))]
    Verify(AuditVerifyArgs),
}

#[derive(Debug, Args)]
pub struct AuditAppendArgs {
    /// The JSON Lines log (created if missing)
    #[arg(value_name = "LOG")]
    pub log: PathBuf,
    /// The event: a JSON object
    #[arg(
        long,
        value_name = "JSON",
        conflicts_with = "event_file",
        required_unless_present = "event_file"
    )]
    pub event: Option<String>,
    /// Read events from a file, or `-` for stdin: one JSON object, an array or JSON Lines;
    /// each event becomes its own entry
    #[arg(long, value_name = "FILE")]
    pub event_file: Option<PathBuf>,
    /// Sign the entry with this private key (PKCS#8 PEM)
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    #[command(flatten)]
    pub password: KeyPassword,
    /// Record this time (RFC 3339) instead of now
    #[arg(long, value_name = "TIME")]
    pub time: Option<String>,
}

#[derive(Debug, Args)]
pub struct ProvenanceArgs {
    /// The signing key: PKCS#8 PEM (ed25519 or ECDSA P-256), optionally encrypted
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    #[command(flatten)]
    pub password: KeyPassword,
    /// Where to write the DSSE envelope (JSON)
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// A built file to attest, named by its file name and SHA-256 (repeatable)
    #[arg(long = "subject", value_name = "FILE")]
    pub subjects: Vec<PathBuf>,
    /// A subject known by digest, e.g. an image: NAME=sha256:HEX (repeatable)
    #[arg(long = "subject-digest", value_name = "NAME=sha256:HEX")]
    pub subject_digests: Vec<String>,
    /// A file the build resolved its dependencies from, e.g. Cargo.lock (repeatable)
    #[arg(long = "material", value_name = "FILE")]
    pub materials: Vec<PathBuf>,
    /// The source repository
    #[arg(long, value_name = "URI")]
    pub source_uri: String,
    /// The full git commit id that was built
    #[arg(long, value_name = "SHA")]
    pub source_commit: String,
    /// Who built it (SLSA runDetails.builder.id)
    #[arg(long, value_name = "URI")]
    pub builder_id: String,
    /// The command that built it
    #[arg(long, value_name = "TEXT")]
    pub build_command: String,
    /// SLSA buildType
    #[arg(
        long,
        value_name = "URI",
        default_value = "https://gatehouse.dev/release-self/v1"
    )]
    pub build_type: String,
    /// An external parameter of the build, KEY=VALUE (repeatable)
    #[arg(long = "parameter", value_name = "KEY=VALUE")]
    pub parameters: Vec<String>,
}

#[derive(Debug, Args)]
pub struct AuditVerifyArgs {
    /// The JSON Lines log
    #[arg(value_name = "LOG")]
    pub log: PathBuf,
    /// Require every entry to be signed by this public key (SPKI PEM)
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        <Cli as clap::CommandFactory>::command().debug_assert();
        let help = <Cli as clap::CommandFactory>::command()
            .render_help()
            .to_string();
        assert!(
            help.trim_end().ends_with(gatehouse::cli::CONVENTIONS),
            "{help}"
        );
    }
}
