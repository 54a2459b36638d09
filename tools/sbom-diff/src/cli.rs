//! Command-line flags: `sbom-diff OLD NEW [--vulns-old FILE] [--vulns-new FILE] [--budget FILE]`
//! diffs two SBOMs; `sbom-diff checks` lists the check ids.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  sbom-diff examples/release/sbom-v1.cdx.json examples/release/sbom-v2.cdx.json \\
      --budget examples/release/sbom-budget.yaml
  sbom-diff old.spdx.json new.cdx.xml --format markdown > pr-comment.md
  syft myimage:2.0 -o cyclonedx-json | sbom-diff sbom-1.9.cdx.json - \\
      --vulns-old grype-1.9.json --vulns-new grype-2.0.json --budget budget.yaml
  sbom-diff checks --format markdown

Inputs are recognised by content: CycloneDX JSON or XML (1.2-1.7), SPDX 2.2/2.3 JSON or
tag-value, gzip-compressed or not; vulnerability reports from Grype, Trivy or OSV-Scanner
(JSON), or a CycloneDX document with a vulnerabilities section (VEX). Without --vulns-*, the
SBOMs' own vulnerabilities sections are used.
";

#[derive(Debug, Parser)]
#[command(
    name = "sbom-diff",
    version,
    about = "What changed between two releases' SBOMs: components, versions, licenses and vulnerabilities, judged against a diff budget",
    after_help = format!("{EXAMPLES}\n{}", gatehouse::cli::CONVENTIONS),
    subcommand_negates_reqs = true
)]
pub struct Cli {
    /// `checks`; without a command, sbom-diff diffs OLD and NEW
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The diff's inputs and options; given exactly when no command is named
    #[command(flatten)]
    pub diff: Option<DiffArgs>,

    #[command(flatten)]
    pub common: gatehouse::CommonArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Lists every check id with what it judges and how to fix a failure
    Checks,
}

/// `sbom-diff OLD NEW …`: the diff, the tool's one judging command.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The previous release's SBOM (a path, or - for stdin)
    #[arg(value_name = "OLD")]
    pub old: PathBuf,

    /// The new release's SBOM (a path, or - for stdin)
    #[arg(value_name = "NEW")]
    pub new: PathBuf,

    /// Vulnerability report (or VEX) for the old release; replaces OLD's own vulnerabilities
    #[arg(long, value_name = "FILE")]
    pub vulns_old: Option<PathBuf>,

    /// Vulnerability report (or VEX) for the new release; replaces NEW's own vulnerabilities
    #[arg(long, value_name = "FILE")]
    pub vulns_new: Option<PathBuf>,

    /// Diff budget (YAML, schemas/sbom-diff.budget.schema.json); without it nothing is judged
    #[arg(long, value_name = "FILE")]
    pub budget: Option<PathBuf>,

    /// Refuse inputs (and their decompressed content) larger than this: 256MiB, 1G, 5000000
    #[arg(long, value_name = "SIZE", default_value = "256MiB", value_parser = parse_size)]
    pub max_size: u64,

    /// Rows per table in text and markdown output (the JSON report always has everything)
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub max_rows: usize,
}

/// `256MiB`, `1G`, `500k`, `5000000`: binary multiples (k = KiB = 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (e.g. 256MiB, 1G, 5000000)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use k, M or G)")),
    };
    n.checked_mul(mult)
        .filter(|v| *v > 0)
        .ok_or_else(|| format!("{s:?} is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("256MiB"), Ok(256 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("500k"), Ok(500 << 10));
        assert_eq!(parse_size("5000000"), Ok(5_000_000));
        assert!(parse_size("0").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5T").is_err());
    }

    #[test]
    fn the_help_footer_carries_the_shared_conventions() {
        gatehouse::cli::assert_help::<Cli>(EXAMPLES);
    }
}
