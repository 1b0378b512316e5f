//! `sse conformance parse`: every parse fixture against the built-in parser
//! (under every chunking) or against any command speaking the subprocess
//! protocol. Ends with `N passed, M failed`.

use std::path::PathBuf;
use std::process::ExitCode;

use sse_conformance::parse::{fixtures_dir, load, Command, CoreParser, ParserUnderTest};

use crate::report::{finish, load_error, CaseReport};

/// Options of `sse conformance parse`.
#[derive(clap::Args)]
pub struct Args {
    /// Test this command instead of the built-in parser: it reads a body on
    /// stdin and prints JSON Lines (see conformance/fixtures/parse/README.md).
    #[arg(long, value_name = "COMMAND")]
    cmd: Option<String>,
    /// Fixture directory (default: the one in this source tree).
    #[arg(long, value_name = "DIR")]
    fixtures: Option<PathBuf>,
}

/// Runs `sse conformance parse`. Failures always show their diff.
pub fn run(args: &Args) -> ExitCode {
    let dir = args.fixtures.clone().unwrap_or_else(fixtures_dir);
    let cases = match load(&dir) {
        Ok(cases) => cases,
        Err(e) => return load_error("parse", &e),
    };
    let mut parser: Box<dyn ParserUnderTest> = match &args.cmd {
        Some(cmd) => Box::new(Command::new(cmd.clone())),
        None => Box::new(CoreParser),
    };
    let results = cases.iter().map(|case| CaseReport {
        name: format!("{} ({})", case.name, parser.name()),
        failures: parser.check(case).err().into_iter().collect(),
        skipped: None,
    });
    finish(results.collect::<Vec<_>>(), true)
}
