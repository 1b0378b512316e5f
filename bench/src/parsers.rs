//! The contestants of the `parse` bench: our parser (events and fields),
//! the Rust peers and two hardware floors, each behind the same signature.
//!
//! Every contestant gets the whole workload in [`CHUNK`]-byte pieces and
//! returns a [`Tally`] of what it dispatched, built from the values it hands
//! to its caller (event count, data, type and ID lengths), so no contestant
//! can skip work the others do, and all of them must agree. The timed bench
//! (`benches/parse.rs`, system allocator) and the heap counter
//! (`src/bin/heap.rs`, counting allocator) run these same functions.

use futures_lite::{future::block_on, StreamExt};
use sse_core::parse::{Line, Parser, Tokenizer};

use crate::CHUNK;

/// What a parser dispatched: the events and the bytes of their fields.
/// Two conforming parsers given the same stream return the same tally.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Events dispatched (limit errors and `retry`-only blocks excluded).
    pub events: usize,
    /// The sum of the events' data lengths (UTF-8 bytes).
    pub data: usize,
    /// The sum of the events' type and last event ID lengths.
    pub meta: usize,
}

impl Tally {
    /// Counts one event of the given field lengths.
    pub fn add(&mut self, data: usize, event_type: usize, id: usize) {
        self.events += 1;
        self.data += data;
        self.meta += event_type + id;
    }
}

/// A contestant of the `parse` bench.
pub struct Contestant {
    /// Its name in tables.
    pub name: &'static str,
    /// What it is: a parser of ours, a peer, or a floor (not a parser; its
    /// tally is not compared).
    pub kind: Kind,
    /// Parses the whole input, fed in [`CHUNK`]s.
    pub run: fn(&[u8]) -> Tally,
}

/// The role of a [`Contestant`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Our parser, through one of its APIs: a wrong tally aborts the run.
    Ours,
    /// Another project's parser: ratios are taken against the fastest.
    Peer,
    /// A hardware floor: what reading the input costs at least.
    Floor,
}

/// Every contestant, in table order.
pub const CONTESTANTS: &[Contestant] = &[
    Contestant {
        name: "sse-core events",
        kind: Kind::Ours,
        run: ours_events,
    },
    Contestant {
        name: "sse-core fields",
        kind: Kind::Ours,
        run: ours_fields,
    },
    Contestant {
        name: "eventsource-stream 0.2",
        kind: Kind::Peer,
        run: eventsource_stream,
    },
    Contestant {
        name: "async-sse 5.1",
        kind: Kind::Peer,
        run: async_sse,
    },
    Contestant {
        name: "floor: memchr newlines",
        kind: Kind::Floor,
        run: memchr_floor,
    },
    Contestant {
        name: "floor: memcpy",
        kind: Kind::Floor,
        run: memcpy_floor,
    },
];

/// Our [`Parser`]: events, as an application gets them.
pub fn ours_events(input: &[u8]) -> Tally {
    let mut parser = Parser::new();
    let mut tally = Tally::default();
    for chunk in input.chunks(CHUNK) {
        tally.parse(&mut parser, chunk);
    }
    tally
}

impl Tally {
    /// Feeds `bytes` to `parser` and counts the events it dispatches.
    pub fn parse(&mut self, parser: &mut Parser, bytes: &[u8]) {
        parser.handle_bytes(bytes);
        while let Some(event) = parser.poll_event() {
            if let Ok(e) = event {
                self.add(e.data().len(), e.event_type().len(), e.id().len());
            }
        }
    }
}

/// Our [`Tokenizer`]: lines, with the interpretation an application
/// needs for the same tally done by hand (data joined by length only).
pub fn ours_fields(input: &[u8]) -> Tally {
    let mut tokenizer = Tokenizer::default();
    let mut tally = Tally::default();
    // The block's data lines and bytes, its type length, the last event ID
    // length and the ID buffer's (None: unchanged).
    let (mut lines, mut bytes) = (0usize, 0usize);
    let (mut event_type, mut last_id, mut id_buffer) = (None, 0, None);
    for chunk in input.chunks(CHUNK) {
        tokenizer.handle_bytes(chunk);
        while let Some(line) = tokenizer.poll_line() {
            match line {
                Ok(Line::Field { name, value }) => match &name[..] {
                    b"data" => {
                        lines += 1;
                        bytes += value.len();
                    }
                    b"event" => event_type = Some(value.len()),
                    b"id" if !value.contains(&0) => id_buffer = Some(value.len()),
                    _ => {}
                },
                Ok(Line::Blank) => {
                    last_id = id_buffer.take().unwrap_or(last_id);
                    let t = match event_type.take() {
                        Some(0) | None => "message".len(),
                        Some(n) => n,
                    };
                    if lines > 0 {
                        tally.add(bytes + lines - 1, t, last_id);
                    }
                    (lines, bytes) = (0, 0);
                }
                _ => {}
            }
        }
    }
    tally
}

/// eventsource-stream 0.2 over a stream of [`CHUNK`]-byte `Bytes`.
pub fn eventsource_stream(input: &[u8]) -> Tally {
    use eventsource_stream::Eventsource;
    let chunks = input
        .chunks(CHUNK)
        .map(|c| Ok::<_, std::convert::Infallible>(bytes::Bytes::copy_from_slice(c)));
    let stream = futures_lite::stream::iter(chunks).eventsource();
    block_on(stream.fold(Tally::default(), |mut tally, e| {
        if let Ok(e) = e {
            tally.add(e.data.len(), e.event.len(), e.id.len());
        }
        tally
    }))
}

/// async-sse 5.1 reading through a [`CHUNK`]-byte `BufReader`.
pub fn async_sse(input: &[u8]) -> Tally {
    let reader =
        futures_lite::io::BufReader::with_capacity(CHUNK, futures_lite::io::Cursor::new(input));
    let stream = async_sse::decode(reader);
    block_on(stream.fold(Tally::default(), |mut tally, e| {
        if let Ok(async_sse::Event::Message(m)) = e {
            let id = m.id().as_ref().map_or(0, String::len);
            tally.add(m.data().len(), m.name().len(), id);
        }
        tally
    }))
}

/// Counts the LF bytes with `memchr` (vectorised): finding line ends and
/// nothing else.
pub fn memchr_floor(input: &[u8]) -> Tally {
    let lf = input
        .chunks(CHUNK)
        .map(|c| memchr::memchr_iter(b'\n', c).count())
        .sum();
    Tally {
        events: lf,
        ..Tally::default()
    }
}

/// Copies each chunk into a buffer, as any parser that keeps its input
/// must: the least a parser costs.
pub fn memcpy_floor(input: &[u8]) -> Tally {
    let mut buf = vec![0u8; CHUNK];
    let mut sum = 0usize;
    for chunk in input.chunks(CHUNK) {
        buf[..chunk.len()].copy_from_slice(chunk);
        sum = sum.wrapping_add(std::hint::black_box(&buf)[chunk.len() / 2] as usize);
    }
    Tally {
        events: sum,
        ..Tally::default()
    }
}

/// A workload every contestant must parse the same way: the tally of our
/// parser over the whole input at once (no chunking).
pub fn expected(input: &[u8]) -> Tally {
    let mut tally = Tally::default();
    for e in sse_core::parse::parse_all(input).into_iter().flatten() {
        tally.add(e.data().len(), e.event_type().len(), e.id().len());
    }
    tally
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_parser_returns_the_same_tally_on_every_workload() {
        for w in crate::all() {
            let want = expected(&w.bytes);
            assert_eq!(want.events, w.events, "{}", w.name);
            for c in CONTESTANTS.iter().filter(|c| c.kind != Kind::Floor) {
                assert_eq!((c.run)(&w.bytes), want, "{} on {}", c.name, w.name);
            }
        }
    }
}
