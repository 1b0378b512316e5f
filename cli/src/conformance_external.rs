//! `sse conformance client|server --cmd PROGRAM`: a suite against any
//! program over the subprocess protocols (`sse_conformance::external`).
//!
//! Prints one line per scenario — `PASS name`, `FAIL name: why` (every
//! detail indented below it with `--verbose`), `SKIP name: reason` — then
//! `N passed, M failed, K skipped`. Exit status 1 when anything failed.

use std::process::ExitCode;

use sse_conformance::external::command::Caps;
use sse_conformance::external::{Outcome, Report};

/// Options of a suite run against an external program.
#[derive(clap::Args, Clone, Debug)]
pub struct Args {
    /// Test this program instead of a built-in implementation: a shell
    /// command with placeholders ({url}, {retry_ms}, … and optional
    /// [...] groups; see the suite's README).
    #[arg(long, value_name = "COMMAND", conflicts_with = "adapter")]
    pub cmd: Option<String>,
    /// Capabilities the program has beyond those its placeholders imply
    /// (comma-separated or repeated), e.g. `reconnect,close`.
    #[arg(long, value_name = "LIST", requires = "cmd")]
    pub caps: Vec<String>,
    /// Real time per scenario time: 0.1 plays a 3 s reconnection in 300 ms.
    #[arg(long, value_name = "F", default_value_t = 0.1, requires = "cmd")]
    pub time_scale: f64,
    /// Real ms a time may be off (plus 5% of the expected time).
    #[arg(long, value_name = "MS", default_value_t = 60, requires = "cmd")]
    pub tolerance_ms: u64,
    /// Run only the scenarios with these names (repeatable).
    #[arg(long, value_name = "NAME", requires = "cmd")]
    pub only: Vec<String>,
}

impl Args {
    /// Whether `name` is selected by `--only`.
    pub fn selected(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == name)
    }
}

/// Prints the program's capabilities, the first line of a report.
pub fn print_caps(caps: &Caps) {
    let names: Vec<&str> = caps.names().collect();
    let shown = if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    };
    println!("capabilities: {shown}");
}

/// Prints a report line for each result as it comes and the summary;
/// returns the exit status.
pub fn finish(results: impl IntoIterator<Item = Report>, verbose: bool) -> ExitCode {
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for report in results {
        match &report.outcome {
            Outcome::Passed => {
                passed += 1;
                println!("PASS {}", report.name);
            }
            Outcome::Skipped(reason) => {
                skipped += 1;
                println!("SKIP {}: {reason}", report.name);
            }
            Outcome::Failed(failures) => {
                failed += 1;
                let first = failures.first().map(String::as_str).unwrap_or_default();
                let mut about = String::new();
                if !report.refs.is_empty() {
                    about.push_str(&format!(" [{}]", report.refs.join(", ")));
                }
                if let Some(ours) = &report.ours {
                    about.push_str(&format!(" (ours: {ours})"));
                }
                println!(
                    "FAIL {}{about}: {}",
                    report.name,
                    first.lines().next().unwrap_or_default()
                );
                if verbose {
                    for failure in failures {
                        println!("    {}", failure.trim_end().replace('\n', "\n    "));
                    }
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
