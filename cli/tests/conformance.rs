//! `sse conformance` as CI runs it: every suite against every
//! implementation in one table, and one suite against one adapter.

use std::process::Command;

fn sse(args: &[&str]) -> (String, bool) {
    let out = Command::new(env!("CARGO_BIN_EXE_sse"))
        .args(args)
        .output()
        .expect("sse runs");
    (String::from_utf8(out.stdout).unwrap(), out.status.success())
}

#[test]
fn bare_conformance_prints_one_table_and_passes() {
    let (out, ok) = sse(&["conformance"]);
    assert!(ok, "{out}");
    let table: Vec<&str> = out.lines().filter(|l| l.starts_with('|')).collect();
    assert_eq!(table.len(), 5, "{out}");
    assert!(
        table[0].contains("| core | async-std | smol | blocking |"),
        "{out}"
    );
    for suite in ["parse", "client", "server"] {
        let row = table
            .iter()
            .find(|r| r.starts_with(&format!("| {suite} |")));
        let row = row.unwrap_or_else(|| panic!("no {suite} row:\n{out}"));
        assert_eq!(row.matches(" 0 failed").count(), 4, "{row}");
    }
    assert!(out.lines().last().unwrap().contains(" 0 failed"), "{out}");
}

#[test]
fn one_suite_against_one_adapter() {
    for adapter in ["blocking", "smol", "async-std"] {
        let (out, ok) = sse(&["conformance", "client", "--adapter", adapter]);
        assert!(ok, "{adapter}: {out}");
        assert!(out.ends_with("61 passed, 0 failed\n"), "{adapter}: {out}");
        let (out, ok) = sse(&["conformance", "server", "--adapter", adapter]);
        assert!(ok, "{adapter}: {out}");
        let cases = sse_conformance::server::load_cases(&sse_conformance::server::fixture_dir())
            .unwrap()
            .len();
        assert!(cases >= 46, "{cases} server fixtures");
        let summary = format!("{cases} passed, 0 failed\n");
        assert!(out.ends_with(&summary), "{adapter}: {out}");
    }
}
