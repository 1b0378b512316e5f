//! Parser unit tests: the spec's rules one by one, the chunking property and
//! the limits. The language-neutral cases live in `conformance/fixtures/parse`.

use super::*;
use alloc::string::{String, ToString};
use alloc::vec;
use proptest::prelude::*;

/// (type, data, id) of each event, or the error.
type Out = Vec<Result<(String, String, String), ParseError>>;

fn simplify(r: Result<Event, ParseError>) -> Result<(String, String, String), ParseError> {
    r.map(|e| {
        (
            e.event_type().to_string(),
            e.data().to_string(),
            e.id().to_string(),
        )
    })
}

/// Feeds `chunks` one by one, draining after each, then ends the stream.
fn run_chunks(parser: &mut Parser, chunks: &[&[u8]]) -> Out {
    let mut out = Vec::new();
    for chunk in chunks {
        parser.handle_bytes(chunk);
        out.extend(core::iter::from_fn(|| parser.poll_event()).map(simplify));
    }
    parser.handle_eof();
    out.extend(core::iter::from_fn(|| parser.poll_event()).map(simplify));
    out
}

fn run(input: &[u8]) -> Out {
    run_chunks(&mut Parser::new(), &[input])
}

fn msg(data: &str) -> Result<(String, String, String), ParseError> {
    ev("message", data, "")
}

fn ev(t: &str, data: &str, id: &str) -> Result<(String, String, String), ParseError> {
    Ok((t.to_string(), data.to_string(), id.to_string()))
}

#[test]
fn spec_examples() {
    assert_eq!(
        run(b"data: YHOO\ndata: +2\ndata: 10\n\n"),
        vec![msg("YHOO\n+2\n10")]
    );
    assert_eq!(
        run(b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n"),
        vec![ev("message", "first event", "1"), msg("second event"), msg(" third event")]
    );
    assert_eq!(
        run(b"data\n\ndata\ndata\n\ndata:"),
        vec![msg(""), msg("\n")]
    );
    assert_eq!(
        run(b"data:test\n\ndata: test\n\n"),
        vec![msg("test"), msg("test")]
    );
    assert_eq!(
        run(b"event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\n"),
        vec![ev("add", "73857293", ""), ev("remove", "2153", "")]
    );
}

#[test]
fn bom_is_stripped_once_at_stream_start_only() {
    assert_eq!(
        run(b"\xEF\xBB\xBFdata:1\n\n\xEF\xBB\xBFdata:2\n\ndata:3\n\n\n"),
        vec![msg("1"), msg("3")]
    );
    assert_eq!(
        run(b"\xEF\xBB\xBF\xEF\xBB\xBFdata:1\n\ndata:2\n\n"),
        vec![msg("2")]
    );
    let mut p = Parser::new();
    assert_eq!(
        run_chunks(&mut p, &[b"\xEF", b"\xBB", b"\xBF", b"data: x\n\n"]),
        vec![msg("x")]
    );
    // A lone stream that is a BOM prefix and nothing else parses to nothing.
    assert_eq!(run(b"\xEF\xBB"), vec![]);
    // A partial BOM followed by something else is not a BOM.
    assert_eq!(run(b"\xEFdata: x\n\n"), vec![]);
}

#[test]
fn reset_accepts_a_new_bom_and_keeps_id_and_retry() {
    let mut p = Parser::new();
    assert_eq!(
        run_chunks(
            &mut p,
            &[b"\xEF\xBB\xBFid: 5\nretry: 10\ndata: a\n\ndata: partial"]
        ),
        vec![ev("message", "a", "5")]
    );
    p.reset();
    assert_eq!(
        run_chunks(&mut p, &[b"\xEF\xBB\xBFdata: b\n\n"]),
        vec![ev("message", "b", "5")]
    );
    assert_eq!(p.retry(), Some(10));
}

#[test]
fn crlf_split_across_chunks_is_one_line_ending() {
    let mut p = Parser::new();
    assert_eq!(
        run_chunks(&mut p, &[b"data: a\r", b"\n", b"\r\n"]),
        vec![msg("a")]
    );
    // A CR-terminated blank line dispatches without waiting for more input.
    let mut p = Parser::new();
    p.handle_bytes(b"data: a\r\r");
    assert_eq!(p.poll_event().map(simplify), Some(msg("a")));
}

#[test]
fn every_line_ending_and_mixes() {
    assert_eq!(run(b"data:a\rdata:b\ndata:c\r\n\r"), vec![msg("a\nb\nc")]);
    assert_eq!(run(b"data:a\n\rdata:b\r\n\n"), vec![msg("a"), msg("b")]);
}

#[test]
fn field_parsing_rules() {
    assert_eq!(run(b"data:a:b\n\n"), vec![msg("a:b")]);
    assert_eq!(run(b"data:  x\n\n"), vec![msg(" x")]);
    assert_eq!(run(b"data:\tx\n\n"), vec![msg("\tx")]);
    assert_eq!(run(b"Data: x\n data: y\ndata : z\n\n"), vec![]);
    assert_eq!(run(b"data:a\nfoo:bar\ndata:b\n\n"), vec![msg("a\nb")]);
    assert_eq!(run(b"data:\0\n\n"), vec![msg("\0")]);
}

#[test]
fn event_type_rules() {
    assert_eq!(run(b"event: a\n\ndata: b\n\n"), vec![msg("b")]);
    assert_eq!(run(b"event: \ndata: b\n\n"), vec![msg("b")]);
    assert_eq!(
        run(b"event: a\nevent: b\ndata: c\n\ndata: d\n\n"),
        vec![ev("b", "c", ""), msg("d")]
    );
}

#[test]
fn id_rules() {
    assert_eq!(
        run(b"id: 1\ndata: 1\n\ndata:2\n\n"),
        vec![ev("message", "1", "1"), ev("message", "2", "1")]
    );
    assert_eq!(
        run(b"id: 1\ndata: 1\n\nid:\ndata:2\n\n"),
        vec![ev("message", "1", "1"), msg("2")]
    );
    assert_eq!(
        run(b"id: 1\ndata: 1\n\nid: a\0b\ndata:2\n\n"),
        vec![ev("message", "1", "1"), ev("message", "2", "1")]
    );
    // The last event ID is committed by a blank line even without data...
    let mut p = Parser::new();
    run_chunks(&mut p, &[b"id: 9\n\n"]);
    assert_eq!(p.last_event_id(), "9");
    // ...but not by an unfinished block.
    let mut p = Parser::new();
    run_chunks(&mut p, &[b"id: 9\ndata: x\n"]);
    assert_eq!(p.last_event_id(), "");
}

#[test]
fn retry_rules() {
    let retry = |input: &[u8]| {
        let mut p = Parser::new();
        run_chunks(&mut p, &[input]);
        p.retry()
    };
    assert_eq!(retry(b"retry: 02000\n"), Some(2000));
    assert_eq!(retry(b"retry:2000\nretry:1000x\n"), Some(2000));
    for bogus in [
        &b"retry\n"[..],
        b"retry:\n",
        b"retry: -1\n",
        b"retry: 1.5\n",
        b"retry:  10\n",
        b"retry: +5\n",
    ] {
        assert_eq!(retry(bogus), None, "{:?}", bogus);
    }
    assert_eq!(retry(b"retry: 18446744073709551615\n"), Some(u64::MAX));
    assert_eq!(retry(b"retry: 7\nretry: 18446744073709551616\n"), Some(7));
    // retry takes effect without a blank line and produces no event.
    assert_eq!(retry(b"retry: 5"), None);
    assert_eq!(retry(b"retry: 5\r"), Some(5));
}

#[test]
fn invalid_utf8_becomes_replacement_characters() {
    assert_eq!(run(b"data: \xFF\n\n"), vec![msg("\u{FFFD}")]);
    assert_eq!(
        run(b"event: \xC0x\nid: \xE2\x80\ndata: ok\n\n"),
        vec![ev("\u{FFFD}x", "ok", "\u{FFFD}")]
    );
    // A multi-byte character split across chunks is not damaged.
    let mut p = Parser::new();
    assert_eq!(
        run_chunks(&mut p, &[b"data: ok\xE2", b"\x80", b"\xA6\n\n"]),
        vec![msg("ok\u{2026}")]
    );
}

#[test]
fn unfinished_event_at_eof_is_discarded() {
    assert_eq!(run(b"data: x\n"), vec![]);
    assert_eq!(run(b"data: x"), vec![]);
    // Complete events before the end still come out after handle_eof.
    let mut p = Parser::new();
    p.handle_bytes(b"data: a\n\ndata: b\n");
    p.handle_eof();
    assert_eq!(p.poll_event().map(simplify), Some(msg("a")));
    assert_eq!(p.poll_event(), None);
    // Input after the end is ignored until reset, and a second EOF is harmless.
    p.handle_bytes(b"\n");
    p.handle_eof();
    assert_eq!(p.poll_event(), None);
}

#[test]
fn tokenizer_exposes_comments_and_raw_fields() {
    let mut t = Tokenizer::default();
    t.handle_bytes(b":  hi\nfield\nname: value\nx:\xFF\n\n");
    let lines: Vec<_> = core::iter::from_fn(|| t.poll_line())
        .map(Result::unwrap)
        .collect();
    let field = |n: &'static [u8], v: &'static [u8]| Line::Field {
        name: Bytes::from_static(n),
        value: Bytes::from_static(v),
    };
    assert_eq!(
        lines,
        vec![
            Line::Comment(Bytes::from_static(b"  hi")),
            field(b"field", b""),
            field(b"name", b"value"),
            field(b"x", b"\xFF"),
            Line::Blank
        ]
    );
}

fn small() -> Limits {
    Limits {
        max_line_len: 16,
        max_event_size: 24,
    }
}

#[test]
fn line_limit_drops_the_event_and_resumes() {
    let input = b"data: ok\n\ndata: 0123456789abcdefXYZ\ndata: more\n\ndata: next\n\n";
    let out = run_chunks(&mut Parser::with_limits(small()), &[input]);
    assert_eq!(
        out,
        vec![
            msg("ok"),
            Err(ParseError::LineTooLong { limit: 16 }),
            msg("next")
        ]
    );
    // A line of exactly the limit is fine.
    let out = run_chunks(
        &mut Parser::with_limits(small()),
        &[b"data: 0123456789\n\n"],
    );
    assert_eq!(out, vec![msg("0123456789")]);
}

#[test]
fn long_comment_is_skipped_without_dropping_the_event() {
    let input = b"data: a\n:0123456789abcdefghijklmnop\ndata: b\n\n";
    let out = run_chunks(&mut Parser::with_limits(small()), &[input]);
    assert_eq!(
        out,
        vec![Err(ParseError::CommentTooLong { limit: 16 }), msg("a\nb")]
    );
}

#[test]
fn event_limit_drops_the_event_and_resumes() {
    let input =
        b"id: 1\ndata: 0123456789\ndata: 0123456789\ndata: 0123\ndata: x\nid: 2\n\ndata: fine\n\n";
    let out = run_chunks(&mut Parser::with_limits(small()), &[input]);
    assert_eq!(
        out,
        vec![
            Err(ParseError::EventTooLarge { limit: 24 }),
            ev("message", "fine", "2")
        ]
    );
}

#[test]
fn the_event_limit_holds_after_invalid_bytes_are_replaced() {
    // 10 invalid bytes fit the 24-byte limit as read, but become 30 bytes of
    // U+FFFD: the event is too large for the application.
    let input = b"data: \xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\n\ndata: \xFF\n\n";
    let out = run_chunks(&mut Parser::with_limits(small()), &[input]);
    assert_eq!(
        out,
        vec![
            Err(ParseError::EventTooLarge { limit: 24 }),
            msg("\u{FFFD}")
        ]
    );
}

#[test]
fn an_endless_line_is_never_buffered_past_the_limit() {
    let mut p = Parser::with_limits(small());
    let chunk = [b'x'; 7];
    let mut errors = 0;
    for _ in 0..1000 {
        p.handle_bytes(&chunk);
        while let Some(r) = p.poll_event() {
            assert_eq!(r, Err(ParseError::LineTooLong { limit: 16 }));
            errors += 1;
        }
        assert!(p.buffered_len() <= 16 + chunk.len());
    }
    assert_eq!(errors, 1);
    assert_eq!(
        run_chunks(&mut p, &[b"\n\ndata: after\n\n"]),
        vec![msg("after")]
    );
}

/// Pieces that exercise every rule when concatenated in any order.
fn piece() -> impl Strategy<Value = &'static [u8]> {
    prop::sample::select(vec![
        &b"data"[..],
        b"data:",
        b"data: ",
        b"event:",
        b"event: x",
        b"id:",
        b"id: 7",
        b"id: \0",
        b"retry:",
        b"retry: 12",
        b"retry: 9x",
        b":",
        b": c",
        b"x",
        b" ",
        b"\r",
        b"\n",
        b"\r\n",
        b"\xEF\xBB\xBF",
        b"\xEF",
        b"\xE2\x80",
        b"\xA6",
        b"\xFF",
        b"0123456789",
        b"0123456789abcdef",
    ])
}

fn stream() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(piece(), 0..40).prop_map(|ps| ps.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn chunking_never_changes_the_result(input in stream(), cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8)) {
        let limits = small();
        let whole = run_chunks(&mut Parser::with_limits(limits), &[&input]);
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(input.len() + 1)).collect();
        points.sort_unstable();
        let mut chunks = Vec::new();
        let mut start = 0;
        for p in points {
            chunks.push(&input[start..p]);
            start = p;
        }
        chunks.push(&input[start..]);
        let mut parser = Parser::with_limits(limits);
        prop_assert_eq!(run_chunks(&mut parser, &chunks), whole.clone());
        // And byte by byte.
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        prop_assert_eq!(run_chunks(&mut Parser::with_limits(limits), &bytes), whole);
    }

    #[test]
    fn never_panics_and_stays_bounded(input in prop::collection::vec(any::<u8>(), 0..512), size in 1usize..64) {
        let mut p = Parser::with_limits(small());
        for chunk in input.chunks(size) {
            p.handle_bytes(chunk);
            while let Some(r) = p.poll_event() {
                if let Ok(e) = r {
                    prop_assert!(e.data().len() <= 24);
                }
            }
            prop_assert!(p.buffered_len() <= 16 + size);
        }
    }
}

mod reference;

/// Everything a parser reports for `chunks`: events and errors in order,
/// drained after each chunk and after the end of the stream, then the last
/// event ID and the retry time.
type Full = (Out, String, Option<u64>);

fn full_new(limits: Limits, chunks: &[&[u8]]) -> Full {
    let mut p = Parser::with_limits(limits);
    let out = run_chunks(&mut p, chunks);
    (out, p.last_event_id().to_string(), p.retry())
}

fn full_reference(limits: Limits, chunks: &[&[u8]]) -> Full {
    let mut p = reference::Parser::with_limits(limits);
    let mut out = Vec::new();
    for chunk in chunks {
        p.handle_bytes(chunk);
        out.extend(core::iter::from_fn(|| p.poll_event()).map(simplify));
    }
    p.handle_eof();
    out.extend(core::iter::from_fn(|| p.poll_event()).map(simplify));
    (out, p.last_event_id().to_string(), p.retry())
}

fn lines_new(limit: usize, chunks: &[&[u8]]) -> Vec<Result<Line, ParseError>> {
    let mut t = Tokenizer::new(limit);
    let mut out = Vec::new();
    for chunk in chunks {
        t.handle_bytes(chunk);
        out.extend(core::iter::from_fn(|| t.poll_line()));
    }
    t.handle_eof();
    out.extend(core::iter::from_fn(|| t.poll_line()));
    out
}

fn lines_reference(limit: usize, chunks: &[&[u8]]) -> Vec<Result<Line, ParseError>> {
    let mut t = reference::Tokenizer::new(limit);
    let mut out = Vec::new();
    for chunk in chunks {
        t.handle_bytes(chunk);
        out.extend(core::iter::from_fn(|| t.poll_line()));
    }
    t.handle_eof();
    out.extend(core::iter::from_fn(|| t.poll_line()));
    out
}

/// Pieces for the comparison with the reference parser: the rule pieces plus
/// runs of data lines (long events, the bulk path) and long lines.
fn rich_piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => piece().prop_map(<[u8]>::to_vec),
        // Values up to 90 bytes, and from 100 to 300 (either side of the
        // fixed-size copy of the bulk path).
        1 => (1usize..40, prop_oneof![0usize..90, 100usize..300], 0usize..3).prop_map(|(n, len, eol)| {
            let eol: &[u8] = [&b"\n"[..], b"\r", b"\r\n"][eol];
            let mut run = Vec::new();
            for i in 0..n {
                run.extend_from_slice(if i % 7 == 3 { b"data:" } else { b"data: " });
                let len = if len < 90 { (len + i) % 90 } else { len + i % 3 };
                run.extend((0..len).map(|k| b'a' + (k % 26) as u8));
                run.extend_from_slice(eol);
            }
            run
        }),
        // Runs of data lines of multi-byte text, some with invalid bytes
        // (a stray continuation byte, a truncated sequence), so that chunks
        // split characters inside runs.
        1 => (1usize..20, 0usize..40, 0usize..3, 0usize..4).prop_map(|(n, len, eol, bad)| {
            let eol: &[u8] = [&b"\n"[..], b"\r", b"\r\n"][eol];
            let mut run = Vec::new();
            for i in 0..n {
                run.extend_from_slice(b"data: ");
                for k in 0..len {
                    run.extend_from_slice(["é", "😀", "a", "データ"][(k + i) % 4].as_bytes());
                }
                if bad > 0 && i == n / 2 {
                    run.extend_from_slice([&b"\xFF"[..], b"\xE2\x82", b"\x80"][bad - 1]);
                }
                run.extend_from_slice(eol);
            }
            run
        }),
        1 => (0usize..200).prop_map(|n| vec![b'y'; n]),
        1 => prop::collection::vec(any::<u8>(), 0..16),
    ]
}

fn rich_stream() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(rich_piece(), 0..30).prop_map(|ps| ps.concat())
}

fn cut(input: &[u8], cuts: &[prop::sample::Index]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c.index(input.len() + 1)).collect();
    points.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for p in points {
        chunks.push(input[start..p].to_vec());
        start = p;
    }
    chunks.push(input[start..].to_vec());
    chunks
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// The optimised parser and tokenizer agree with the reference on any
    /// input, any chunking and any limits.
    #[test]
    fn same_results_as_the_reference_parser(
        input in rich_stream(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
        line in prop_oneof![Just(16usize), Just(64), Just(1 << 20)],
        event in prop_oneof![Just(24usize), Just(200), Just(1000), Just(16 << 20)],
    ) {
        let limits = Limits { max_line_len: line, max_event_size: event };
        let chunks = cut(&input, &cuts);
        let chunks: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
        prop_assert_eq!(full_new(limits, &chunks), full_reference(limits, &chunks));
        prop_assert_eq!(lines_new(line, &chunks), lines_reference(line, &chunks));
    }

    /// The same when the application does not drain the parser after every
    /// chunk (the input piles up in the buffer), which takes other paths.
    #[test]
    fn same_results_as_the_reference_when_not_drained_after_each_chunk(
        input in rich_stream(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
        drain in prop::collection::vec(any::<bool>(), 13),
        line in prop_oneof![Just(64usize), Just(1 << 20)],
        event in prop_oneof![Just(200usize), Just(16 << 20)],
    ) {
        let limits = Limits { max_line_len: line, max_event_size: event };
        let chunks = cut(&input, &cuts);
        let mut p = Parser::with_limits(limits);
        let mut r = reference::Parser::with_limits(limits);
        let (mut got, mut want) = (Vec::new(), Vec::new());
        for (chunk, drain) in chunks.iter().zip(drain) {
            p.handle_bytes(chunk);
            r.handle_bytes(chunk);
            if drain {
                got.extend(core::iter::from_fn(|| p.poll_event()).map(simplify));
            }
        }
        p.handle_eof();
        r.handle_eof();
        got.extend(core::iter::from_fn(|| p.poll_event()).map(simplify));
        want.extend(core::iter::from_fn(|| r.poll_event()).map(simplify));
        prop_assert_eq!(got, want);
        prop_assert_eq!(&p.last_event_id(), r.last_event_id());
        prop_assert_eq!(p.retry(), r.retry());
    }
}

#[test]
fn same_results_as_the_reference_on_the_bench_shapes() {
    // Large multi-line events in 64-byte to 16 KiB chunks, with every line
    // ending, a comment and a non-data field inside the run, invalid UTF-8
    // in one line, multi-byte characters, values with and without the
    // space, empty ones, and lines around and beyond the 128-byte window.
    let mut input = Vec::new();
    for e in 0..6 {
        let eol: &[u8] = [&b"\n"[..], b"\r", b"\r\n"][e % 3];
        input.extend_from_slice(b"id: 1\n");
        for i in 0..700 {
            input.extend_from_slice(if i % 7 == 0 { b"data:" } else { b"data: " });
            let len = match i % 50 {
                0 => 0,
                1 => 127,
                2 => 128,
                3 => 129,
                4 => 300,
                5 => 1,
                _ => 90 + i % 21,
            };
            input.extend((0..len).map(|k| b'a' + ((k + i) % 26) as u8));
            if i % 13 == 0 {
                input.extend_from_slice("é".as_bytes());
            }
            if i == 300 && e == 4 {
                input.extend_from_slice(b"\xFF");
            }
            input.extend_from_slice(eol);
            if i == 500 {
                input.extend_from_slice(if e == 1 { b": c\n" } else { b"event: x\n" });
            }
        }
        input.extend_from_slice(eol);
    }
    for size in [64, 1000, 4096, 16 * 1024] {
        let chunks: Vec<&[u8]> = input.chunks(size).collect();
        for limits in [
            Limits::default(),
            Limits {
                max_line_len: 100,
                max_event_size: 40_000,
            },
        ] {
            assert_eq!(full_new(limits, &chunks), full_reference(limits, &chunks));
        }
    }
}

/// Whether the non-empty `bytes` lie in the memory of `region`.
fn within(region: &[u8], bytes: &[u8]) -> bool {
    let (start, at) = (region.as_ptr() as usize, bytes.as_ptr() as usize);
    !bytes.is_empty() && at >= start && at < start + region.len()
}

#[test]
fn kept_ids_do_not_pin_released_input() {
    let mut parser = Parser::new();
    parser.handle_bytes(b"id: abc\ndata: 1\n\nid: def\n");
    let first = parser.poll_event().unwrap().unwrap();
    assert_eq!(first.id(), "abc");
    // The event's ID shares the input; the parser's copy does too, for now.
    let region = parser.tokenizer.lines.clone();
    assert!(within(&region, first.id().as_bytes()));
    assert!(within(&region, parser.last_event_id().as_bytes()));
    // The region is used up and released: the IDs the parser keeps (the
    // last event ID and the ID buffer) move out of it.
    assert!(parser.poll_event().is_none());
    assert!(!within(&region, parser.last_event_id().as_bytes()));
    assert_eq!(parser.last_event_id(), "abc");
    parser.handle_bytes(b"data: 2\n\n");
    let second = parser.poll_event().unwrap().unwrap();
    assert_eq!(second.id(), "def");
    assert!(!within(&region, second.id().as_bytes()));
    assert_eq!(first.id(), "abc");
    parser.handle_bytes(b"id: ghi\n");
    assert!(parser.poll_event().is_none());
    parser.reset();
    assert_eq!(parser.last_event_id(), "def");
}

#[test]
fn an_event_is_one_handle_to_its_input_or_to_its_joined_data() {
    let mut parser = Parser::new();
    let long_id = "i".repeat(COPIED_ID_MAX + 1);
    parser.handle_bytes(b"id: 1\nevent: t\ndata: x\n\nid: 2\nevent: u\ndata: a\ndata: b\n\n");
    parser.handle_bytes(b"data: c\n\nid: ");
    parser.handle_bytes(long_id.as_bytes());
    parser.handle_bytes(b"\ndata: d\ndata: e\n\n");
    // One data line: the type, the data and the ID are spans of the input.
    let one = parser.poll_event().unwrap().unwrap();
    let region = parser.tokenizer.lines.clone();
    assert_eq!(one, Event::new("t", "x", "1"));
    assert_eq!(one.buffer().as_ptr(), region.as_ptr());
    for field in [one.event_type(), one.data(), one.id()] {
        assert!(within(&region, field.as_bytes()), "{field:?}");
    }
    // Joined data: the type and the ID are copied after it.
    let joined = parser.poll_event().unwrap().unwrap();
    assert_eq!(joined, Event::new("u", "a\nb", "2"));
    assert!(!within(&region, joined.data().as_bytes()));
    for field in [joined.event_type(), joined.data(), joined.id()] {
        assert!(within(joined.buffer(), field.as_bytes()), "{field:?}");
    }
    // The ID of an earlier event of the same input is a span of it too.
    let third = parser.poll_event().unwrap().unwrap();
    assert_eq!(third, Event::new("message", "c", "2"));
    assert!(within(&region, third.id().as_bytes()));
    // A long ID is not copied next to joined data: it has a handle of its
    // own.
    let fourth = parser.poll_event().unwrap().unwrap();
    assert_eq!(fourth, Event::new("message", "d\ne", long_id.clone()));
    assert!(!within(fourth.buffer(), fourth.id().as_bytes()));
    assert_eq!(parser.last_event_id(), long_id.as_str());
}

/// Events of hundreds of `data` lines, read in socket-sized chunks: the
/// bulk paths (the fast copy of LF-only runs, from the buffered region at
/// an event's start and straight from the input after it) must give what
/// the line-by-line rules give, including where a run meets a CR line, a
/// line longer than the fixed-size copy, a `data:` without a space, a
/// comment, and the scratch buffer's first growth.
#[test]
fn large_events_in_socket_sized_chunks() {
    let mut input = Vec::new();
    let mut want = Vec::new();
    for event in 0..6usize {
        let mut values = Vec::new();
        for line in 0..400usize {
            let len = 60 + (line * 37 + event * 11) % 70;
            let mut value: String = (0..len)
                .map(|i| char::from(b'a' + ((i + line) % 26) as u8))
                .collect();
            match (event, line % 97) {
                (1, 13) => value.push_str(&"x".repeat(300)), // past RUN_COPY
                (2, 40) => value = "é".repeat(50),           // not ASCII
                _ => {}
            }
            let sep: &[u8] = if line % 31 == 5 { b"data:" } else { b"data: " };
            input.extend_from_slice(sep);
            input.extend_from_slice(value.as_bytes());
            input.extend_from_slice(match (event, line) {
                (3, 200..=203) => b"\r\n",
                (4, 250) => b"\r",
                _ => b"\n",
            });
            if event == 5 && line == 100 {
                input.extend_from_slice(b": a comment in the middle\n");
            }
            values.push(value);
        }
        input.extend_from_slice(b"\n");
        want.push(msg(&values.join("\n")));
    }
    for size in [16 * 1024, 4096, 1000, 97] {
        let chunks: Vec<&[u8]> = input.chunks(size).collect();
        assert_eq!(
            run_chunks(&mut Parser::new(), &chunks),
            want,
            "chunks of {size}"
        );
    }
    assert_eq!(run(&input), want, "one read");
}
