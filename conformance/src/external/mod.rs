//! The subprocess protocols: the client and server fixtures against any
//! program, in any language, on the real clock.
//!
//! - [`command`]: the command template (`{url}`, `{retry_ms}`, … and
//!   optional `[…]` groups), the capabilities a program declares, and the
//!   program's process (its own process group, stdout lines stamped as they
//!   arrive, the tail of stderr).
//! - [`client`]: `sse conformance client --cmd 'PROGRAM {url}'`. Each client
//!   scenario of `fixtures/client/` is served by a real HTTP/1.1 server on
//!   127.0.0.1 (one port per authority the scenario names) with its times
//!   scaled down, the program prints `sse listen --json`-shaped lines, and
//!   the scenario's own comparison ([`crate::client::check_within`]) judges
//!   them within a stated tolerance.
//! - [`server`]: `sse conformance server --cmd 'PROGRAM'`. The program reads
//!   events on stdin, prints its URL, and the scenarios of
//!   `fixtures/server/protocol/` connect real socket clients to it.
//!
//! A scenario that needs something a program cannot express (a capability
//! it does not declare, a virtual clock, an API only this project has) is
//! [`Outcome::Skipped`] with the reason, never passed. The protocols
//! themselves are documented in `fixtures/client/README.md` and
//! `fixtures/server/README.md`.

pub mod client;
pub mod command;
pub mod server;

/// What became of one scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every expectation held.
    Passed,
    /// One readable entry per mismatch.
    Failed(Vec<String>),
    /// Not run, and why.
    Skipped(String),
}

/// One scenario's name and outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The scenario's name.
    pub name: String,
    /// The checklist rules it covers.
    pub refs: Vec<String>,
    /// Why its expectation is this project's alone, if it is.
    pub ours: Option<String>,
    /// What became of it.
    pub outcome: Outcome,
}
