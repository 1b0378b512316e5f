//! `--stdin-commands`: what a line on stdin asks of the `EventSource`.
//!
//! Each command maps to one call of the adapter's API (`close()`,
//! `reopen()`, `set_last_event_id()`); what they mean for the stream is
//! the core client's business.

use std::fmt;

/// A command read from stdin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `close`: as `EventSource.close()`: the connection is dropped and
    /// nothing reconnects.
    Close,
    /// `reopen`: start again after a close or a fatal error, keeping the
    /// last event ID.
    Reopen,
    /// `last-event-id ID`: the last event ID sent on the next connection
    /// (`last-event-id` alone clears it).
    LastEventId(String),
}

/// A stdin line that is no command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownCommand(pub String);

impl fmt::Display for UnknownCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown command {:?} on stdin (commands: close, reopen, last-event-id [ID])",
            self.0
        )
    }
}

impl std::error::Error for UnknownCommand {}

impl Command {
    /// The command on `line` (its line ending already removed, a trailing
    /// CR too); `None` for a blank line.
    pub fn parse(line: &str) -> Result<Option<Command>, UnknownCommand> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            return Ok(None);
        }
        let (word, rest) = match line.split_once(' ') {
            Some((word, rest)) => (word, Some(rest)),
            None => (line, None),
        };
        match (word, rest) {
            ("close", None) => Ok(Some(Command::Close)),
            ("reopen", None) => Ok(Some(Command::Reopen)),
            // The ID is everything after the one space, as it is.
            ("last-event-id", id) => Ok(Some(Command::LastEventId(
                id.unwrap_or_default().to_string(),
            ))),
            _ => Err(UnknownCommand(line.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_commands() {
        assert_eq!(Command::parse("close"), Ok(Some(Command::Close)));
        assert_eq!(Command::parse("reopen\r"), Ok(Some(Command::Reopen)));
        assert_eq!(Command::parse(""), Ok(None));
        assert_eq!(Command::parse("  "), Ok(None));
        assert_eq!(
            Command::parse("last-event-id resume 42 "),
            Ok(Some(Command::LastEventId("resume 42 ".into())))
        );
        assert_eq!(
            Command::parse("last-event-id"),
            Ok(Some(Command::LastEventId(String::new())))
        );
        assert_eq!(
            Command::parse("last-event-id "),
            Ok(Some(Command::LastEventId(String::new())))
        );
    }

    #[test]
    fn anything_else_is_an_error_that_names_the_commands() {
        for line in ["clos", "close now", "CLOSE", "reopen x"] {
            let err = Command::parse(line).unwrap_err();
            assert_eq!(err, UnknownCommand(line.into()));
            assert!(err.to_string().contains("close, reopen, last-event-id"));
        }
    }
}
