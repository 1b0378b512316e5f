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
//! - [`external`]: the client and server suites against any program over
//!   the subprocess protocols, on the real clock.
//! - [`loopback`]: the suites against this project's adapters over real
//!   sockets on a virtual clock.

pub mod client;
pub mod external;
pub mod loopback;
pub mod parse;
pub mod server;

use std::path::{Path, PathBuf};

/// Loads every `*.json` file in `dir`, sorted by file name, with its path.
/// Each runner module uses this for its own fixture type.
pub fn load_json_dir<T: serde::de::DeserializeOwned>(
    dir: &Path,
) -> Result<Vec<(PathBuf, T)>, String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let value =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok((path, value))
        })
        .collect()
}
