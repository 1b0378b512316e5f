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

pub mod client;
