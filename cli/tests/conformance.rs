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
        table[0].contains("| core | async-std | smol | blocking | reqwest |"),
        "{out}"
    );
    // reqwest is a client only: no server column.
    for (suite, cells) in [("parse", 5), ("client", 5), ("server", 4)] {
        let row = table
            .iter()
            .find(|r| r.starts_with(&format!("| {suite} |")));
        let row = row.unwrap_or_else(|| panic!("no {suite} row:\n{out}"));
        assert_eq!(row.matches(" 0 failed").count(), cells, "{row}");
    }
    // A skip is named with its reason, never counted as passed.
    assert!(
        out.contains("SKIP client reqwest: redirect-chain-origin: a request to an https:// URL"),
        "{out}"
    );
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
        assert!(out.ends_with("35 passed, 0 failed\n"), "{adapter}: {out}");
    }
    let (out, ok) = sse(&["conformance", "client", "--adapter", "reqwest"]);
    assert!(ok, "reqwest: {out}");
    assert!(
        out.ends_with("60 passed, 0 failed, 1 skipped\n"),
        "reqwest: {out}"
    );
    assert!(
        out.starts_with("SKIP redirect-chain-origin: "),
        "reqwest: {out}"
    );
    let (out, ok) = sse(&["conformance", "server", "--adapter", "reqwest"]);
    assert!(!ok && out.is_empty(), "reqwest has no server: {out}");
}
