//! The report every `sse conformance` command prints: one `FAIL` line per
//! failing case (its details indented below when verbose) and one `SKIP`
//! line with the reason per case not played, then the closing
//! `N passed, M failed` line (`, K skipped` when any was). Exit status 1 when anything failed, 2 when the
//! fixtures could not be loaded.

use std::process::ExitCode;

/// One case's result: its name and its failures (empty when it passed).
pub struct CaseReport {
    /// The case name.
    pub name: String,
    /// One readable explanation per failure.
    pub failures: Vec<String>,
    /// Why it was not played, if it was skipped.
    pub skipped: Option<String>,
}

/// Prints the report and returns the exit status.
pub fn finish(results: impl IntoIterator<Item = CaseReport>, verbose: bool) -> ExitCode {
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for result in results {
        if let Some(reason) = &result.skipped {
            skipped += 1;
            println!("SKIP {}: {reason}", result.name);
            continue;
        }
        let Some(first) = result.failures.first() else {
            passed += 1;
            continue;
        };
        failed += 1;
        println!(
            "FAIL {}: {}",
            result.name,
            first.lines().next().unwrap_or_default()
        );
        if verbose {
            for failure in &result.failures {
                println!("    {}", failure.trim_end().replace('\n', "\n    "));
            }
        }
    }
    if skipped > 0 {
        println!("{passed} passed, {failed} failed, {skipped} skipped");
    } else {
        println!("{passed} passed, {failed} failed");
    }
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Reports fixtures that could not be loaded.
pub fn load_error(command: &str, error: &str) -> ExitCode {
    eprintln!("sse conformance {command}: {error}");
    ExitCode::from(2)
}
