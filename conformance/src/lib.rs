//! Conformance fixtures and runners for the SSE toolkit.
//!
//! Fixtures are language-neutral JSON files under `fixtures/`, one directory
//! per area; each module here loads one area and runs it against an
//! implementation described by a trait, in-process against `sse-core` by
//! default.
//!
//! - [`client`]: the `EventSource` client (`fixtures/client/`): scripted
//!   server responses on a fake clock, expected requests, notifications and
//!   ready states.
//! - [`parse`]: the event stream parser (`fixtures/parse/`), in-process or
//!   any program speaking the subprocess protocol.
//! - [`server`]: event streams, keep-alives, resume and the broadcast hub
//!   (`fixtures/server/`).

pub mod client;
pub mod parse;
pub mod server;
