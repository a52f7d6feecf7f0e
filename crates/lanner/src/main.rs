//! `lanner`: runtime threat detection for Linux hosts, containers and Kubernetes.
//!
//! The binary wires the library crates together. With Falco's flags it is Falco: it loads
//! rules files and runs them on events (`lanner -r RULES -e CAPTURE`, see [`detect`]);
//! `lanner inspect` reads `.scap` captures the way `sysdig -r` does. Live capture and plugins
//! arrive as their crates land.

mod daemon;
mod detect;
mod generate;
mod inspect;
mod live;
mod localtime;
mod log;
mod plugins;
mod record;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Runtime threat detection for Linux hosts, containers and Kubernetes, compatible with Falco.
#[derive(Debug, Parser)]
#[command(name = "lanner", about, long_about = None, disable_version_flag = true)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    #[command(flatten)]
    detect: detect::DetectArgs,

    /// Print the version (and the rules engine version) and exit.
    #[arg(long)]
    version: bool,

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

    /// Print the plugins of the configuration (`plugins`, `load_plugins`) and exit.
    #[arg(long = "list-plugins")]
    list_plugins: bool,

    /// Print a configured plugin's information, init schema and open parameters, and exit
    /// (NAME is its name or library path).
    #[arg(long = "plugin-info", value_name = "NAME")]
    plugin_info: Option<String>,
}

/// The configuration's plugins, as `-c` and `-o` give them.
fn configured_plugins(cli: &Cli) -> anyhow::Result<Vec<plugins::PluginConfig>> {
    let config = lanner_config::Config::load(cli.detect.config.as_deref(), &cli.detect.options)?;
    plugins::plugin_configs(&config)
}

/// The event sources lanner knows fields of.
const SOURCES: &[&str] = &["syscall"];

/// `--list`: writes the field table, as `falco --list` does.
fn list_fields(cli: &Cli, source: &str) -> anyhow::Result<ExitCode> {
    use lanner_fields::{ListFormat, ListOptions, write_list};
    use std::io::Write as _;

    // Plugins add their fields and sources.
    let configs = configured_plugins(cli)?;
    let log = log::Logger { enabled: false, iso8601: false };
    let loaded = plugins::load(&configs, log)?;
    let mut sources: Vec<String> = SOURCES.iter().map(|s| (*s).to_owned()).collect();
    sources.extend(plugins::sources(&loaded).into_iter().map(|(s, _)| s));
    if !source.is_empty() && !sources.iter().any(|s| s == source) {
        anyhow::bail!("unknown event source `{source}` (known sources: {})", sources.join(", "));
    }
    let all: Vec<&str> = sources.iter().map(String::as_str).collect();
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
    let builtin = if source.is_empty() || source == "syscall" {
        write_list(&mut out, SOURCES, opts)
    } else {
        Ok(())
    };
    let filter = (!source.is_empty()).then_some(source);
    let written = builtin
        .and_then(|()| lanner_fields::write_plugin_list(&mut out, filter, &all, opts))
        .and_then(|()| out.flush());
    match written {
        // A reader such as `head` that stops early is not an error.
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => Err(err.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read a capture file and print its events, or write them to another capture.
    Inspect(inspect::InspectArgs),
    /// Perform harmless versions of suspicious actions, to check a running detector.
    Generate(generate::GenerateArgs),
}

/// The libs release whose event table and field set lanner follows.
const LIBS_VERSION: &str = "0.25.4";
/// The plugin API version lanner's plugin host implements.
const PLUGIN_API_VERSION: &str = "3.12.0";
/// The libs driver API version whose events lanner's probe writes.
const DRIVER_API_VERSION: &str = "10.1.0";
/// The libs driver event schema version lanner's probe and reader follow.
const DRIVER_SCHEMA_VERSION: &str = "4.5.1";

/// `--version`: lanner's version, the libs event table it follows, the plugin API and the
/// rules engine version it implements, in Falco's layout (JSON with `-o json_output=true`).
fn print_version(cli: &Cli) -> anyhow::Result<ExitCode> {
    let json = cli.detect.options.iter().any(|o| o == "json_output=true");
    let version = env!("CARGO_PKG_VERSION");
    let engine = lanner_rules::ENGINE_VERSION;
    if json {
        println!(
            "{{\"engine_version\":\"{engine}\",\"lanner_version\":\"{version}\",\
             \"libs_version\":\"{LIBS_VERSION}\",\"plugin_api_version\":\"{PLUGIN_API_VERSION}\"}}"
        );
    } else {
        println!("lanner version: {version}");
        println!("Libs version:  {LIBS_VERSION}");
        println!("Plugin API:    {PLUGIN_API_VERSION}");
        println!("Engine:        {engine}");
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match (&cli.command, &cli.list) {
        (Some(Command::Inspect(args)), _) => inspect::run(args),
        (Some(Command::Generate(args)), _) => generate::run(args),
        (None, Some(source)) => list_fields(&cli, source),
        (None, None) if cli.list_plugins => {
            configured_plugins(&cli).and_then(|c| plugins::list(&c)).map(|()| ExitCode::SUCCESS)
        }
        (None, None) if cli.plugin_info.is_some() => configured_plugins(&cli)
            .and_then(|c| plugins::info(&c, cli.plugin_info.as_deref().unwrap_or_default()))
            .map(|()| ExitCode::SUCCESS),
        (None, None) if cli.version => print_version(&cli),
        (None, None) => {
            // Falco's form for fatal errors, which scripts around it look for. Without any
            // flag this is the main job: live detection with lanner's default rules.
            return detect::run(&cli.detect).unwrap_or_else(|err| {
                eprintln!("Error: {err:#}");
                ExitCode::FAILURE
            });
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
