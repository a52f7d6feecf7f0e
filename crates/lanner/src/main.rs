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
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read a capture file and print its events, or write them to another capture.
    Inspect(inspect::InspectArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Inspect(args)) => inspect::run(&args),
        None => {
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
