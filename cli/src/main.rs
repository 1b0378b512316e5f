//! The `sse` command.
//!
//! Subcommands live in their own files; this one only dispatches.

use clap::{Parser, Subcommand};

mod conformance_client;

/// Tools for Server-Sent Events.
#[derive(Parser)]
#[command(name = "sse", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the conformance fixtures.
    Conformance {
        #[command(subcommand)]
        area: Area,
    },
}

#[derive(Subcommand)]
enum Area {
    /// Client scenarios (EventSource state machine) against the core.
    Client(conformance_client::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Conformance {
            area: Area::Client(args),
        } => conformance_client::run(&args),
    }
}
