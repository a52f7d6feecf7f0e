//! `lanner`: runtime threat detection for Linux hosts, containers and Kubernetes.
//!
//! The binary wires the library crates together. Today it offers `lanner inspect`, which reads
//! `.scap` captures the way `sysdig -r` does; live detection, the rules engine, outputs and
//! plugins arrive as their crates land.

mod inspect;
mod localtime;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Runtime threat detection for Linux hosts, containers and Kubernetes, compatible with Falco.
#[derive(Debug, Parser)]
#[command(name = "lanner", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// List the fields conditions and outputs can use, for one event source or all.
    #[arg(long, value_name = "SOURCE", num_args = 0..=1, default_missing_value = "")]
    list: Option<String>,

    /// With --list: field names only, one per line.
    #[arg(short = 'N', requires = "list")]
    names_only: bool,

    /// With --list: the layout, text or markdown.
    #[arg(long, value_name = "FORMAT", requires = "list", default_value = "text")]
    format: String,

    /// With --list: markdown layout (deprecated in Falco, use --format markdown).
    #[arg(long, requires = "list", hide = true)]
    markdown: bool,

    /// With --list: also show each field's type.
    #[arg(short = 'v', long, requires = "list")]
    verbose: bool,
}

/// The event sources lanner knows fields of.
const SOURCES: &[&str] = &["syscall"];

/// `--list`: writes the field table, as `falco --list` does.
fn list_fields(cli: &Cli, source: &str) -> anyhow::Result<ExitCode> {
    use lanner_fields::{ListFormat, ListOptions, write_list};
    use std::io::Write as _;

    if !source.is_empty() && !SOURCES.contains(&source) {
        anyhow::bail!("unknown event source `{source}` (known sources: {})", SOURCES.join(", "));
    }
    let format = match (cli.names_only, cli.markdown, cli.format.as_str()) {
        (true, _, _) => ListFormat::Names,
        (false, true, _) | (false, false, "markdown") => ListFormat::Markdown,
        (false, false, "text") => ListFormat::Text,
        (false, false, other) => {
            anyhow::bail!("unsupported --format `{other}` for --list (use text or markdown)")
        }
    };
    let opts = ListOptions { format, verbose: cli.verbose, include_deprecated: false };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match write_list(&mut out, SOURCES, opts).and_then(|()| out.flush()) {
        // A reader such as `head` that stops early is not an error.
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => Err(err.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read a capture file and print its events, or write them to another capture.
    Inspect(inspect::InspectArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match (&cli.command, &cli.list) {
        (Some(Command::Inspect(args)), _) => inspect::run(args),
        (None, Some(source)) => list_fields(&cli, source),
        (None, None) => {
            eprintln!(
                "lanner: live detection is not available yet; read a capture with \
                 `lanner inspect -r FILE` (see `lanner --help`)"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("lanner: {err:#}");
            ExitCode::FAILURE
        }
    }
}
