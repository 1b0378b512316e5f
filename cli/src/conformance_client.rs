//! `sse conformance client`: plays the client scenarios against the core
//! machine on a fake clock, prints one line per failing scenario (with its
//! diff when `--verbose`), then `N passed, M failed`. Exits 1 when any
//! scenario fails.

use std::path::PathBuf;
use std::process::ExitCode;

use sse_conformance::client::{fixture_dir, load_scenarios, run_scenario, CoreClient};

/// Options of `sse conformance client`.
#[derive(clap::Args)]
pub struct Args {
    /// Fixture directory (default: the one shipped with sse-conformance).
    #[arg(long)]
    fixtures: Option<PathBuf>,
    /// Print each failure's details under its line.
    #[arg(short, long)]
    verbose: bool,
}

/// Runs the subcommand.
pub fn run(args: &Args) -> ExitCode {
    let dir = args.fixtures.clone().unwrap_or_else(fixture_dir);
    let scenarios = match load_scenarios(&dir) {
        Ok(scenarios) => scenarios,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let (mut passed, mut failed) = (0, 0);
    for scenario in &scenarios {
        let result = run_scenario(scenario, &mut CoreClient);
        if result.passed() {
            passed += 1;
        } else {
            failed += 1;
            println!(
                "FAIL {}: {}",
                result.name,
                result.failures[0].lines().next().unwrap_or_default()
            );
            if args.verbose {
                for failure in &result.failures {
                    println!("    {}", failure.replace('\n', "\n    "));
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
