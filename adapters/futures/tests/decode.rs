//! `EventStream` and `EventReader` against in-memory inputs.

use futures_lite::{future::block_on, io::Cursor, stream, StreamExt};
use sse_core::parse::{Limits, ParseError};
use sse_futures::{DecodeError, EventReader, EventStream};
use std::io;

fn datas<E: std::fmt::Debug>(items: Vec<Result<sse_core::Event, DecodeError<E>>>) -> Vec<String> {
    items
        .into_iter()
        .map(|r| r.expect("no error").data().to_string())
        .collect()
}

#[test]
fn stream_decodes_across_chunk_boundaries_and_drops_the_unfinished_event() {
    let chunks: Vec<Result<&[u8], io::Error>> = vec![
        Ok(b"\xEF\xBB"),
        Ok(b"\xBFdata: a\r"),
        Ok(b"\n\r\ndata: b\n\ndata: unfinished"),
    ];
    let got = block_on(EventStream::new(stream::iter(chunks)).collect::<Vec<_>>());
    assert_eq!(datas(got), ["a", "b"]);
}

#[test]
fn stream_yields_a_transport_error_and_ends() {
    let chunks: Vec<Result<&[u8], &str>> =
        vec![Ok(b"data: a\n\n"), Err("reset"), Ok(b"data: never\n\n")];
    let got = block_on(EventStream::new(stream::iter(chunks)).collect::<Vec<_>>());
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].as_ref().unwrap().data(), "a");
    assert!(matches!(got[1], Err(DecodeError::Transport("reset"))));
}

#[test]
fn stream_reports_limit_errors_and_carries_on() {
    let limits = Limits {
        max_line_len: 8,
        max_event_size: 8,
    };
    let chunks: Vec<Result<&[u8], io::Error>> = vec![Ok(b"data: far too long\n\ndata: ok\n\n")];
    let mut s = EventStream::with_limits(stream::iter(chunks), limits);
    let first = block_on(s.next()).unwrap();
    assert!(matches!(
        first,
        Err(DecodeError::Parse(ParseError::LineTooLong { limit: 8 }))
    ));
    assert_eq!(block_on(s.next()).unwrap().unwrap().data(), "ok");
    assert!(block_on(s.next()).is_none());
    assert!(
        block_on(s.next()).is_none(),
        "a finished stream stays finished"
    );
}

#[test]
fn reader_decodes_an_async_read_and_keeps_parser_state() {
    let input = b"retry: 1500\nid: 7\ndata: x\n\n".repeat(3000);
    let mut reader = EventReader::new(Cursor::new(input));
    let mut n = 0;
    while let Some(event) = block_on(reader.next()) {
        assert_eq!(event.unwrap().id(), "7");
        n += 1;
    }
    assert_eq!(n, 3000);
    assert_eq!(reader.parser().retry(), Some(1500));
    assert_eq!(reader.parser().last_event_id(), "7");
}
