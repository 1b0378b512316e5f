//! What a new user types first: `sse --version`, `sse help`, `sse help
//! SUBCOMMAND`, and mistakes (no subcommand, an unknown one).

use std::process::{Command, Output};

fn sse(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sse"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

const SUBCOMMANDS: [&str; 5] = ["parse", "listen", "publish", "serve", "conformance"];

#[test]
fn version_prints_the_crate_version() {
    for flag in ["--version", "-V"] {
        let out = sse(&[flag]);
        assert!(out.status.success(), "{flag}: {}", stderr(&out));
        assert_eq!(stdout(&out), format!("sse {}\n", env!("CARGO_PKG_VERSION")));
    }
}

#[test]
fn help_lists_every_subcommand() {
    for args in [&["help"][..], &["--help"], &["-h"]] {
        let out = sse(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(text.contains("Usage: sse <COMMAND>"), "{text}");
        for name in SUBCOMMANDS {
            assert!(
                text.lines().any(|l| l.trim_start().starts_with(name)),
                "{args:?} does not list {name}:\n{text}"
            );
        }
    }
}

#[test]
fn help_for_each_subcommand() {
    for name in SUBCOMMANDS {
        let out = sse(&["help", name]);
        assert!(out.status.success(), "help {name}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(text.contains(&format!("Usage: sse {name}")), "{text}");
        assert_eq!(stdout(&sse(&[name, "--help"])), text);
    }
}

#[test]
fn no_or_unknown_subcommand_is_a_usage_error() {
    let out = sse(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("Usage: sse <COMMAND>"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());

    let out = sse(&["bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unrecognized subcommand 'bogus'"));
}
