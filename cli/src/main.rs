//! The `sse` command.
//!
//! Subcommands live in their own files; this one only dispatches.

use clap::{Parser, Subcommand};

mod adapters;
mod conformance_all;
mod conformance_client;
mod conformance_external;
mod conformance_parse;
mod conformance_server;
mod limits;
mod listen;
mod parse;
mod publish;
mod report;
mod runtime;
mod serve;

/// Tools for Server-Sent Events.
#[derive(Parser)]
#[command(name = "sse", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse a text/event-stream body from stdin and print JSON Lines.
    Parse(parse::Args),
    /// Print the events of a stream as they arrive (an EventSource).
    Listen(listen::Args),
    /// Append events to a Redis stream served by `sse serve --redis`.
    Publish(publish::Args),
    /// Serve stdin lines as events to every subscriber (browsers included).
    Serve(serve::Args),
    /// Run the conformance fixtures; without a suite, every suite against
    /// every implementation, as one table.
    Conformance {
        #[command(subcommand)]
        area: Option<Area>,
    },
}

#[derive(Subcommand)]
enum Area {
    /// Client scenarios (EventSource state machine) against the core, an
    /// adapter, or any program (`--cmd 'PROGRAM {url}'`).
    Client(ExternalSuiteArgs),
    /// Parse fixtures against the built-in parser or an external command.
    Parse(conformance_parse::Args),
    /// Server fixtures (streams, keep-alives, resume, hub) against the core,
    /// an adapter, or any program (`--cmd PROGRAM`).
    Server(ExternalSuiteArgs),
}

/// A suite's options: in-process and loopback, or an external program.
#[derive(clap::Args)]
struct ExternalSuiteArgs {
    #[command(flatten)]
    suite: SuiteArgs,
    #[command(flatten)]
    external: conformance_external::Args,
}

/// Options shared by the fixture suites run in-process.
#[derive(clap::Args)]
struct SuiteArgs {
    /// Fixture directory (default: the one in this source tree).
    #[arg(long, value_name = "DIR")]
    fixtures: Option<std::path::PathBuf>,
    /// Print each failure's details under its line.
    #[arg(short, long)]
    verbose: bool,
    /// The implementation to check.
    #[arg(long, value_enum, default_value = "core")]
    adapter: adapters::Adapter,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Parse(args) => parse::run(&args),
        Command::Listen(args) => listen::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Publish(args) => publish::run(&args),
        Command::Conformance { area: None } => conformance_all::run(),
        Command::Conformance {
            area: Some(Area::Parse(args)),
        } => conformance_parse::run(&args),
        Command::Conformance {
            area: Some(Area::Server(args)),
        } => conformance_server::run(&args),
        Command::Conformance {
            area: Some(Area::Client(args)),
        } => conformance_client::run(&args),
    }
}
