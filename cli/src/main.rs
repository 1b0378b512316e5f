//! The `sse` command.
//!
//! Subcommands live in their own files; this one only dispatches.

use clap::{Parser, Subcommand};

mod conformance_server;

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
    /// Server fixtures (streams, keep-alives, resume, hub) against the core.
    Server(conformance_server::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Conformance {
            area: Area::Server(args),
        } => conformance_server::run(&args),
    }
}
