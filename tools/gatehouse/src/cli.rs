//! The flags every tool shares. A tool's clap `Parser` flattens [`CommonArgs`] at its top
//! level; the flags are `global`, so they work before or after a subcommand.

use std::path::PathBuf;

use crate::render::Format;

/// `--log-format`: how stderr is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Default, clap::Args)]
pub struct CommonArgs {
    /// Report format on stdout: auto is text on a terminal and JSON otherwise
    #[arg(long, value_enum, default_value_t = Format::Auto, global = true, help_heading = "Output")]
    pub format: Format,

    /// Release phase recorded in the report, e.g. P1
    #[arg(
        long,
        env = "GATEHOUSE_PHASE",
        value_name = "PHASE",
        global = true,
        help_heading = "Output"
    )]
    pub phase: Option<String>,

    /// Also write the JSON report to FILE (whatever --format prints)
    #[arg(long, value_name = "FILE", global = true, help_heading = "Output")]
    pub report: Option<PathBuf>,

    /// Only errors on stderr
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        help_heading = "Output"
    )]
    pub quiet: bool,

    /// More detail on stderr, and passing checks in text output; -vv for trace
    #[arg(short, long, action = clap::ArgAction::Count, global = true, help_heading = "Output")]
    pub verbose: u8,

    /// Log format on stderr; the level comes from -q/-v or GATEHOUSE_LOG
    #[arg(long, value_enum, default_value_t = LogFormat::Text, value_name = "FORMAT", global = true, help_heading = "Output")]
    pub log_format: LogFormat,
}

/// The help footer every tool appends after its examples, as a literal for `concat!` in
/// clap attributes: `after_help = concat!("Examples:\n  …\n\n", gatehouse::help_footer!())`.
#[macro_export]
macro_rules! help_footer {
    () => {
        "Exit status: 0 ok, 1 the gate says no, 2 could not judge (bad input, unreachable server).\n\
         Environment: GATEHOUSE_PHASE, GATEHOUSE_LOG (error|warn|info|debug|trace), NO_COLOR,\n\
         TRACEPARENT (W3C trace context), OTEL_EXPORTER_OTLP_ENDPOINT (export the run as a span)."
    };
}

/// The help footer every tool appends after its examples ([`help_footer!`] as a constant).
pub const CONVENTIONS: &str = help_footer!();

/// A command's `after_help`: its examples, then the footer.
pub fn after_help(examples: &str) -> String {
    format!("{examples}\n{CONVENTIONS}")
}

/// For a tool's unit tests: its clap definition is consistent (`debug_assert`) and its help
/// ends with `examples` and then the shared footer.
pub fn assert_help<C: clap::CommandFactory>(examples: &str) {
    let cmd = C::command();
    cmd.clone().debug_assert();
    let help = cmd
        .get_after_help()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(help.starts_with(examples), "{help}");
    assert!(help.ends_with(CONVENTIONS), "{help}");
}
