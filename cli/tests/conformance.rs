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
        table[0].contains("| core | async-std | smol | blocking | tokio | reqwest |"),
        "{out}"
    );
    // reqwest is a client only: no server column.
    for (suite, cells) in [("parse", 6), ("client", 6), ("server", 5)] {
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

/// How many fixtures a suite's directory holds.
fn fixtures(suite: &str) -> usize {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../conformance/fixtures")
        .join(suite);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json"))
        })
        .count()
}

#[test]
fn one_suite_against_one_adapter() {
    for adapter in ["blocking", "smol", "async-std", "tokio"] {
        for suite in ["client", "server"] {
            let (out, ok) = sse(&["conformance", suite, "--adapter", adapter]);
            assert!(ok, "{adapter}: {out}");
            let all = format!("{} passed, 0 failed\n", fixtures(suite));
            assert!(out.ends_with(&all), "{adapter} {suite}: {out}");
        }
    }
    let (out, ok) = sse(&["conformance", "client", "--adapter", "reqwest"]);
    assert!(ok, "reqwest: {out}");
    let all_but_one = format!("{} passed, 0 failed, 1 skipped\n", fixtures("client") - 1);
    assert!(out.ends_with(&all_but_one), "reqwest: {out}");
    assert!(
        out.starts_with("SKIP redirect-chain-origin: "),
        "reqwest: {out}"
    );
    let (out, ok) = sse(&["conformance", "server", "--adapter", "reqwest"]);
    assert!(!ok && out.is_empty(), "reqwest has no server: {out}");
}
