//! The parser limits as options, shared by `sse listen` and `sse parse`:
//! both limits are options wherever the CLI parses a stream.

use sse_core::parse::Limits;

/// `--max-line-bytes` and `--max-event-bytes`.
#[derive(clap::Args)]
pub struct LimitArgs {
    /// Longest line accepted, in bytes; a longer one is skipped with a
    /// parse error and its event dropped [default: 16777216].
    #[arg(long, value_name = "BYTES")]
    max_line_bytes: Option<usize>,
    /// Largest event data accepted, in bytes; a larger event is dropped
    /// with a parse error [default: 16777216].
    #[arg(long, value_name = "BYTES")]
    max_event_bytes: Option<usize>,
}

impl LimitArgs {
    /// The default limits with the options applied.
    pub fn limits(&self) -> Limits {
        let mut limits = Limits::default();
        if let Some(n) = self.max_line_bytes {
            limits.max_line_len = n;
        }
        if let Some(n) = self.max_event_bytes {
            limits.max_event_size = n;
        }
        limits
    }
}
