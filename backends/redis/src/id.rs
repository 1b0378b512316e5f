//! Redis stream entry IDs, which this crate uses as SSE event IDs.

use core::fmt;
use core::str::FromStr;

/// A Redis stream entry ID, `<milliseconds>-<sequence>` (e.g.
/// `1700000000000-0`).
///
/// Redis assigns them in strictly increasing order within a stream, so they
/// are used unchanged as SSE event IDs: a client's `Last-Event-ID` is an
/// entry ID, and "everything after it" is an `XREAD`/`XRANGE` away on any
/// instance. The order is numeric (milliseconds first, then sequence).
///
/// ```
/// use sse_redis::StreamId;
///
/// let a: StreamId = "1700000000000-9".parse().unwrap();
/// let b: StreamId = "1700000000001-0".parse().unwrap();
/// assert!(a < b);
/// assert_eq!(b.to_string(), "1700000000001-0");
/// assert!("1700000000000".parse::<StreamId>().is_err()); // both parts needed
/// assert!("01-0".parse::<StreamId>().is_err()); // canonical form only
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    /// The millisecond part.
    pub ms: u64,
    /// The sequence number within the millisecond.
    pub seq: u64,
}

impl StreamId {
    /// `0-0`: before every entry (what `XREAD` takes to read from the start).
    pub const ZERO: StreamId = StreamId { ms: 0, seq: 0 };

    /// An ID from its two parts.
    pub const fn new(ms: u64, seq: u64) -> Self {
        StreamId { ms, seq }
    }

    /// Parses the canonical text form (`ms-seq`, decimal, no sign, no
    /// leading zeros); `None` for anything else.
    pub fn parse(text: &str) -> Option<StreamId> {
        let (ms, seq) = text.split_once('-')?;
        Some(StreamId {
            ms: part(ms)?,
            seq: part(seq)?,
        })
    }
}

fn part(text: &str) -> Option<u64> {
    if text.is_empty()
        || text.len() > 20
        || (text.len() > 1 && text.starts_with('0'))
        || !text.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    text.parse().ok()
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// The error for a string that is not a canonical [`StreamId`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidId(pub String);

impl fmt::Display for InvalidId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a Redis stream id (expected <milliseconds>-<sequence>)",
            self.0
        )
    }
}

impl std::error::Error for InvalidId {}

impl FromStr for StreamId {
    type Err = InvalidId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StreamId::parse(s).ok_or_else(|| InvalidId(s.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_canonical_ids() {
        assert_eq!(StreamId::parse("0-0"), Some(StreamId::ZERO));
        assert_eq!(
            StreamId::parse("18446744073709551615-18446744073709551615"),
            Some(StreamId::new(u64::MAX, u64::MAX))
        );
        for bad in [
            "",
            "-",
            "1-",
            "-1",
            "1",
            "1-2-3",
            "+1-0",
            "1- 0",
            "00-1",
            "1-01",
            "18446744073709551616-0",
            "1\u{0}-0",
            "١-0",
            "earliest",
        ] {
            assert_eq!(StreamId::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn orders_numerically() {
        let ids = ["9-5", "10-0", "10-1", "10-10", "100-0"];
        for pair in ids.windows(2) {
            assert!(StreamId::parse(pair[0]) < StreamId::parse(pair[1]));
        }
        assert_eq!(StreamId::new(7, 3).to_string(), "7-3");
    }
}
