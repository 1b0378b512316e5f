use core::fmt;
use std::time::Duration;

use sse_core::encode::EncodeError;

use crate::id::StreamId;

/// What went wrong talking to Redis or with the stream.
///
/// [`Error::is_outage`] tells the transient kinds (Redis unreachable,
/// connection lost, timeouts: retry or let the subscriber reconnect) from
/// the rest.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The Redis URL could not be parsed.
    Url(redis::RedisError),
    /// Redis could not be reached, or the connection broke during a
    /// command. Subscribers should reconnect and resume by ID; a publish
    /// that fails this way may or may not have been applied.
    Unavailable {
        /// What was being done (`"connect"`, `"XADD"`, `"XREAD"`, …).
        op: &'static str,
        /// The client's error.
        source: redis::RedisError,
    },
    /// Redis did not answer in time.
    Timeout {
        /// What was being done.
        op: &'static str,
        /// How long was waited.
        after: Duration,
    },
    /// Redis answered with an error (wrong key type, unknown command, …).
    Command {
        /// The command.
        op: &'static str,
        /// The client's error.
        source: redis::RedisError,
    },
    /// Redis answered with a reply of an unexpected shape.
    Reply {
        /// The command.
        op: &'static str,
        /// What was wrong with it.
        detail: String,
    },
    /// The event cannot be encoded as SSE (e.g. an event type with a line
    /// break); nothing was published.
    Encode(EncodeError),
    /// A tail or mirror reconnected after an outage and found that entries
    /// after the last one it read were trimmed (or deleted) meanwhile: those
    /// events are lost to it. It carries on with the oldest retained entry.
    Trimmed {
        /// The last entry read before the outage.
        after: StreamId,
        /// The oldest entry still retained, where reading continues
        /// (`None`: the stream is empty).
        oldest: Option<StreamId>,
    },
    /// The stream's newest ID is older than the last entry already read:
    /// Redis lost data (restarted without persistence) or the key was
    /// recreated. Reading carries on after the last entry read.
    Regressed {
        /// The last entry read.
        after: StreamId,
        /// The stream's newest ID now ([`StreamId::ZERO`] if it is empty).
        stream_last: StreamId,
    },
}

impl Error {
    /// Whether this is an outage (Redis unreachable, connection lost, or a
    /// timeout): transient, retrying later may succeed.
    pub fn is_outage(&self) -> bool {
        matches!(self, Error::Unavailable { .. } | Error::Timeout { .. })
    }

    /// Classifies a client error from command `op`.
    pub(crate) fn redis(op: &'static str, source: redis::RedisError) -> Error {
        if source.is_timeout() {
            return Error::Timeout {
                op,
                after: Duration::ZERO,
            };
        }
        // I/O errors, a dropped connection, and the server saying "try
        // later" (LOADING after a restart, MASTERDOWN, …) are outages.
        let transient = source.is_io_error()
            || !matches!(
                source.retry_method(),
                redis::RetryMethod::NoRetry
                    | redis::RetryMethod::AskRedirect
                    | redis::RetryMethod::MovedRedirect
            );
        if transient {
            Error::Unavailable { op, source }
        } else {
            Error::Command { op, source }
        }
    }

    pub(crate) fn reply(op: &'static str, detail: impl Into<String>) -> Error {
        Error::Reply {
            op,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Url(e) => write!(f, "invalid Redis URL: {e}"),
            Error::Unavailable { op, source } => write!(
                f,
                "Redis unavailable during {op}: {source} (subscribers should reconnect and resume by id)"
            ),
            Error::Timeout { op, after } if after.is_zero() => {
                write!(f, "Redis did not answer {op} in time")
            }
            Error::Timeout { op, after } => {
                write!(f, "Redis did not answer {op} within {after:?}")
            }
            Error::Command { op, source } => write!(f, "Redis rejected {op}: {source}"),
            Error::Reply { op, detail } => write!(f, "unexpected Redis reply to {op}: {detail}"),
            Error::Encode(e) => write!(f, "event cannot be sent as SSE: {e}"),
            Error::Trimmed { after, oldest } => {
                write!(
                    f,
                    "events after {after} were trimmed from the Redis stream before they were read; continuing with the oldest retained"
                )?;
                match oldest {
                    Some(id) => write!(f, " ({id})"),
                    None => f.write_str(" (none)"),
                }
            }
            Error::Regressed { after, stream_last } => write!(
                f,
                "the Redis stream went back from {after} to {stream_last} (data lost or key recreated)"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Url(e)
            | Error::Unavailable { source: e, .. }
            | Error::Command { source: e, .. } => Some(e),
            Error::Encode(e) => Some(e),
            _ => None,
        }
    }
}

impl From<EncodeError> for Error {
    fn from(e: EncodeError) -> Self {
        Error::Encode(e)
    }
}
