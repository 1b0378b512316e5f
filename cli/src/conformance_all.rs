//! `sse conformance` with no suite: every suite against every
//! implementation, one markdown table, then the overall `N passed, M failed`.

use std::process::ExitCode;
use std::time::Instant;

use sse_conformance::{client, parse, server};

use crate::adapters::Adapter;

/// Passed, failed and skipped counts of one suite on one implementation;
/// `None` for a suite it has nothing to check against (a client-only
/// adapter's server).
#[derive(Default)]
struct Cell {
    passed: usize,
    failed: Vec<String>,
    skipped: Vec<(String, String)>,
    seconds: f64,
    absent: bool,
}

/// Runs every suite against every implementation.
pub fn run() -> ExitCode {
    let parse_cases = parse::load(&parse::fixtures_dir());
    let scenarios = client::load_scenarios(&client::fixture_dir());
    let server_cases = server::load_cases(&server::fixture_dir());
    let (Ok(parse_cases), Ok(scenarios), Ok(server_cases)) = (parse_cases, scenarios, server_cases)
    else {
        eprintln!("sse conformance: the fixtures could not be loaded; run the suites one by one to see why");
        return ExitCode::from(2);
    };
    let mut rows: Vec<(&str, Vec<Cell>)> =
        vec![("parse", vec![]), ("client", vec![]), ("server", vec![])];
    let started = Instant::now();
    for adapter in Adapter::ALL {
        let clock = Instant::now();
        let mut cell = Cell::default();
        let report = parse::run(&parse_cases, &mut *adapter.parser());
        cell.passed = report.passed;
        cell.failed = report.failures.into_iter().map(|(name, _)| name).collect();
        cell.seconds = clock.elapsed().as_secs_f64();
        rows[0].1.push(cell);

        let clock = Instant::now();
        let mut cell = Cell::default();
        let mut imp = adapter.client();
        for s in &scenarios {
            let r = client::run_scenario(s, &mut *imp);
            if let Some(reason) = r.skipped {
                cell.skipped.push((r.name, reason));
            } else if r.passed() {
                cell.passed += 1;
            } else {
                cell.failed.push(r.name);
            }
        }
        cell.seconds = clock.elapsed().as_secs_f64();
        rows[1].1.push(cell);

        let clock = Instant::now();
        let mut cell = Cell {
            absent: !adapter.has_server(),
            ..Cell::default()
        };
        for case in server_cases.iter().filter(|_| !cell.absent) {
            match crate::conformance_server::run_one(case, adapter) {
                Some(r) if r.failures.is_empty() => cell.passed += 1,
                Some(r) => cell.failed.push(r.name),
                None => {}
            }
        }
        cell.seconds = clock.elapsed().as_secs_f64();
        rows[2].1.push(cell);
    }
    let names: Vec<&str> = Adapter::ALL.iter().map(|a| a.name()).collect();
    println!("| suite | {} |", names.join(" | "));
    println!("|---|{}", "---:|".repeat(names.len()));
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for (suite, cells) in &rows {
        let shown: Vec<String> = cells
            .iter()
            .map(|c| {
                passed += c.passed;
                failed += c.failed.len();
                skipped += c.skipped.len();
                let skips = match c.skipped.len() {
                    0 => String::new(),
                    n => format!(", {n} skipped"),
                };
                match c.absent {
                    true => "— (no server)".to_owned(),
                    false => format!(
                        "{} passed, {} failed{skips} ({:.2} s)",
                        c.passed,
                        c.failed.len(),
                        c.seconds
                    ),
                }
            })
            .collect();
        println!("| {suite} | {} |", shown.join(" | "));
    }
    for (suite, cells) in &rows {
        for (cell, name) in cells.iter().zip(&names) {
            for (case, reason) in &cell.skipped {
                println!("SKIP {suite} {name}: {case}: {reason}");
            }
            for case in &cell.failed {
                println!("FAIL {suite} {name}: {case}");
            }
        }
    }
    let skips = match skipped {
        0 => String::new(),
        n => format!(", {n} skipped"),
    };
    println!(
        "\n{passed} passed, {failed} failed{skips} ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
