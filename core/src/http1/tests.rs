//! HTTP/1.1 framing tests: tables of cases (each run whole, byte by byte and
//! with trailing bytes), encoder round trips, limits, and properties:
//! chunking never changes the outcome, and no input panics.

use super::*;
use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use proptest::prelude::*;

/// Status and fields (lowercased name, value) of a head.
type HeadSummary = (u16, Vec<(String, Vec<u8>)>);

/// Everything a client takes out of a response, for comparisons.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Outcome {
    /// Status and fields of the final head, or the head/framing error;
    /// `None` if the input ended inside the head.
    head: Option<Result<HeadSummary, HeadError>>,
    data: Vec<u8>,
    /// `Some(Ok)` for `End`, `Some(Err)` for a body error.
    end: Option<Result<(), BodyError>>,
}

fn decode_with(
    pieces: &[&[u8]],
    head_request: bool,
    head_limits: HeadLimits,
    body_limits: BodyLimits,
) -> Outcome {
    let mut parser = ResponseParser::with_limits(head_limits);
    let mut out = Outcome {
        head: None,
        data: Vec::new(),
        end: None,
    };
    let mut body: Option<BodyDecoder> = None;
    // The same body decoded in place, in step: it must give the same data
    // and the same ending.
    let mut in_place: Option<BodyDecoder> = None;
    let mut in_place_out = (Vec::new(), None);
    for piece in pieces {
        let mut rest: &[u8] = piece;
        if body.is_none() {
            match parser.handle_bytes(piece) {
                Err(err) => {
                    out.head = Some(Err(err));
                    // The parser stays failed.
                    assert_eq!(parser.handle_bytes(b"HTTP/1.1 200 OK\r\n\r\n"), Err(err));
                    return out;
                }
                Ok(HeadStatus::Partial) => continue,
                Ok(HeadStatus::Complete(head, used)) => {
                    assert!(used <= piece.len());
                    let fields = head
                        .headers()
                        .iter()
                        .map(|(n, v)| (n.to_owned(), v.to_vec()))
                        .collect();
                    out.head = Some(Ok((head.status(), fields)));
                    match head.framing(head_request) {
                        Ok(framing) => {
                            body = Some(BodyDecoder::with_limits(framing, body_limits));
                            in_place = Some(BodyDecoder::with_limits(framing, body_limits));
                        }
                        Err(err) => {
                            out.head = Some(Err(err));
                            return out;
                        }
                    }
                    rest = &piece[used..];
                }
            }
        }
        if let Some(decoder) = in_place.as_mut() {
            decode_in_place(decoder, rest, &mut in_place_out);
        }
        if let Some(decoder) = body.as_mut() {
            decoder.handle_bytes(rest);
            drain(decoder, &mut out);
            // Drained: at most the bytes after the body's end stay buffered.
            if !decoder.is_finished() {
                assert_eq!(decoder.buffered(), 0);
            }
        }
    }
    if let Some(decoder) = body.as_mut() {
        decoder.handle_eof();
        drain(decoder, &mut out);
        decoder.handle_eof();
        assert_eq!(decoder.poll_body(), None);
        assert!(decoder.is_finished());
    }
    if let Some(decoder) = in_place.as_mut() {
        decoder.handle_eof();
        let mut rest = Outcome {
            head: None,
            data: Vec::new(),
            end: in_place_out.1,
        };
        drain(decoder, &mut rest);
        in_place_out.0.extend_from_slice(&rest.data);
        assert_eq!(in_place_out.0, out.data, "in place: data");
        assert_eq!(rest.end, out.end, "in place: end");
    }
    out
}

/// Decodes `input` with [`BodyDecoder::decode_in_place`] into `(data, end)`.
fn decode_in_place(
    decoder: &mut BodyDecoder,
    mut input: &[u8],
    out: &mut (Vec<u8>, Option<Result<(), BodyError>>),
) {
    while let Some(piece) = decoder.decode_in_place(&mut input) {
        assert!(out.1.is_none(), "output after the end");
        match piece {
            Ok(InPlace::Data(data)) => {
                assert!(!data.is_empty());
                out.0.extend_from_slice(data);
            }
            Ok(InPlace::End) => out.1 = Some(Ok(())),
            Err(err) => out.1 = Some(Err(err)),
        }
    }
    assert_eq!(decoder.buffered(), 0);
}

fn drain(decoder: &mut BodyDecoder, out: &mut Outcome) {
    while let Some(event) = decoder.poll_body() {
        assert!(out.end.is_none(), "output after the end");
        match event {
            Ok(BodyEvent::Data(bytes)) => {
                assert!(!bytes.is_empty());
                out.data.extend_from_slice(&bytes);
            }
            Ok(BodyEvent::End) => out.end = Some(Ok(())),
            Err(err) => out.end = Some(Err(err)),
        }
    }
}

fn decode_pieces(pieces: &[&[u8]], head_request: bool) -> Outcome {
    decode_with(
        pieces,
        head_request,
        HeadLimits::default(),
        BodyLimits::default(),
    )
}

/// Decodes `input` whole and byte by byte, checks both agree, returns it.
fn decode(input: &[u8], head_request: bool) -> Outcome {
    let whole = decode_pieces(&[input], head_request);
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(whole, decode_pieces(&bytes, head_request), "byte by byte");
    whole
}

fn ok(status: u16, data: &[u8]) -> (u16, &[u8], Option<Result<(), BodyError>>) {
    (status, data, Some(Ok(())))
}

fn body_err(
    status: u16,
    data: &[u8],
    err: BodyError,
) -> (u16, &[u8], Option<Result<(), BodyError>>) {
    (status, data, Some(Err(err)))
}

/// Responses that parse: (name, input, HEAD request, (status, body, ending)).
#[allow(clippy::type_complexity)]
const RESPONSE_CASES: &[(&str, &[u8], bool, fn() -> (u16, &'static [u8], Option<Result<(), BodyError>>))] = &[
    ("content-length", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, || ok(200, b"hello")),
    ("content-length with pipelined bytes", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1", false, || ok(200, b"hello")),
    ("content-length zero", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, || ok(200, b"")),
    ("content-length padded", b"HTTP/1.1 200 OK\r\nContent-Length:   3  \r\n\r\nabc", false, || ok(200, b"abc")),
    ("chunked", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1\r\n!\r\n0\r\n\r\n", false, || ok(200, b"hello!")),
    ("chunked, case and list spacing", b"HTTP/1.1 200 OK\r\ntransfer-encoding:  Chunked \r\n\r\n0\r\n\r\n", false, || ok(200, b"")),
    ("chunked upper hex and leading zeros", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n00A\r\n0123456789\r\n0000\r\n\r\n", false, || ok(200, b"0123456789")),
    ("chunk extensions", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;name=value;q=\"x y\"\r\nabc\r\n3 ; a\r\ndef\r\n0;last\r\n\r\n", false, || ok(200, b"abcdef")),
    ("trailers", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\nX-Checksum: 1\r\nX-Other:\t2\r\n\r\n", false, || ok(200, b"hi")),
    ("close-delimited", b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: x\n\n", false, || ok(200, b"data: x\n\n")),
    ("http/1.0 close-delimited", b"HTTP/1.0 200 OK\r\n\r\nabc", false, || ok(200, b"abc")),
    ("204 has no body", b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello", false, || ok(204, b"")),
    ("304 has no body", b"HTTP/1.1 304 Not Modified\r\n\r\n", false, || ok(304, b"")),
    ("HEAD response has no body", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true, || ok(200, b"")),
    ("100 continue skipped", b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false, || ok(200, b"ok")),
    ("103 early hints skipped", b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", false, || ok(404, b"")),
    ("bare LF head", b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok", false, || ok(200, b"ok")),
    ("empty lines before the status line", b"\r\n\r\n\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false, || ok(200, b"ok")),
    ("no reason phrase", b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", false, || ok(200, b"")),
    ("obs-text reason phrase", b"HTTP/1.1 200 \xC3\xA9t\xE9\r\nContent-Length: 0\r\n\r\n", false, || ok(200, b"")),
    ("status above 599", b"HTTP/1.1 799 Odd\r\nContent-Length: 0\r\n\r\n", false, || ok(799, b"")),
    ("truncated content-length", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", false, || body_err(200, b"hello", BodyError::Truncated)),
    ("truncated chunk data", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", false, || body_err(200, b"hel", BodyError::Truncated)),
    ("truncated chunk size line", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1", false, || body_err(200, b"hello", BodyError::Truncated)),
    ("truncated before the last CRLF", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n", false, || body_err(200, b"", BodyError::Truncated)),
    ("truncated inside trailers", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: b\r\n", false, || body_err(200, b"", BodyError::Truncated)),
    ("invalid chunk size", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, || body_err(200, b"", BodyError::InvalidChunkSize)),
    ("empty chunk size", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", false, || body_err(200, b"", BodyError::InvalidChunkSize)),
    ("chunk size with 0x prefix", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n", false, || body_err(200, b"", BodyError::InvalidChunkSize)),
    ("negative chunk size", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n", false, || body_err(200, b"", BodyError::InvalidChunkSize)),
    ("overflowing chunk size", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", false, || body_err(200, b"", BodyError::ChunkSizeOverflow)),
    ("largest chunk size, truncated", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nab", false, || body_err(200, b"ab", BodyError::Truncated)),
    ("missing CRLF after chunk data", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n", false, || body_err(200, b"hello", BodyError::MissingCrlf)),
    ("LF only after chunk data", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n", false, || body_err(200, b"hello", BodyError::MissingCrlf)),
    ("bare LF after chunk size", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n", false, || body_err(200, b"", BodyError::MissingCrlf)),
    ("CR without LF after chunk size", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\rhello\r\n", false, || body_err(200, b"", BodyError::MissingCrlf)),
    ("control byte in chunk extension", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a\x00b\r\nhello\r\n", false, || body_err(200, b"", BodyError::InvalidChunkExtension)),
    ("trailer without colon", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nnocolon\r\n\r\n", false, || body_err(200, b"", BodyError::InvalidTrailer)),
    ("folded trailer", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: b\r\n c\r\n\r\n", false, || body_err(200, b"", BodyError::InvalidTrailer)),
    ("bare LF in trailer", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: b\n\r\n", false, || body_err(200, b"", BodyError::MissingCrlf)),
    ("bad final CRLF", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\rX", false, || body_err(200, b"", BodyError::MissingCrlf)),
];

#[test]
fn response_cases() {
    for (name, input, head_request, expected) in RESPONSE_CASES {
        let (status, data, end) = expected();
        let out = decode(input, *head_request);
        let got_status = out.head.clone().map(|h| h.map(|(s, _)| s));
        assert_eq!(got_status, Some(Ok(status)), "{name}: status");
        assert_eq!(out.data, data, "{name}: data");
        assert_eq!(out.end, end, "{name}: end");
    }
}

/// Heads the client must refuse: (name, input, error).
const HEAD_ERROR_CASES: &[(&str, &[u8], HeadError)] = &[
    (
        "101 switching protocols",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
        HeadError::SwitchingProtocols,
    ),
    (
        "http/2",
        b"HTTP/2 200 OK\r\n\r\n",
        HeadError::UnsupportedVersion,
    ),
    (
        "http/2.0",
        b"HTTP/2.0 200 OK\r\n\r\n",
        HeadError::UnsupportedVersion,
    ),
    (
        "http/1.2",
        b"HTTP/1.2 200 OK\r\n\r\n",
        HeadError::UnsupportedVersion,
    ),
    (
        "not http",
        b"hello world\r\n\r\n",
        HeadError::InvalidStartLine,
    ),
    (
        "a request instead",
        b"GET / HTTP/1.1\r\n\r\n",
        HeadError::InvalidStartLine,
    ),
    (
        "two-digit status",
        b"HTTP/1.1 20 OK\r\n\r\n",
        HeadError::InvalidStartLine,
    ),
    (
        "letters in status",
        b"HTTP/1.1 2x0 OK\r\n\r\n",
        HeadError::InvalidStartLine,
    ),
    (
        "status below 100",
        b"HTTP/1.1 099 Low\r\n\r\n",
        HeadError::InvalidStatus,
    ),
    (
        "space in header name",
        b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
        HeadError::InvalidHeaderName,
    ),
    (
        "no colon",
        b"HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
        HeadError::InvalidHeaderName,
    ),
    (
        "control byte in value",
        b"HTTP/1.1 200 OK\r\nX: a\x01b\r\n\r\n",
        HeadError::InvalidHeaderValue,
    ),
    (
        "NUL in value",
        b"HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n",
        HeadError::InvalidHeaderValue,
    ),
    (
        "obs-fold",
        b"HTTP/1.1 200 OK\r\nX: a\r\n  continued\r\n\r\n",
        HeadError::ObsFold,
    ),
    (
        "obs-fold with tab",
        b"HTTP/1.1 200 OK\r\nX: a\r\n\tcontinued\r\n\r\n",
        HeadError::ObsFold,
    ),
    (
        "bare CR in head",
        b"HTTP/1.1 200 OK\rX: y\r\n\r\n",
        HeadError::InvalidStartLine,
    ),
    (
        "both framings",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        HeadError::ContentLengthWithTransferEncoding,
    ),
    (
        "duplicate content-length",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
        HeadError::DuplicateContentLength,
    ),
    (
        "content-length list",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n",
        HeadError::DuplicateContentLength,
    ),
    (
        "conflicting content-length",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        HeadError::ConflictingContentLength,
    ),
    (
        "non-numeric content-length",
        b"HTTP/1.1 200 OK\r\nContent-Length: five\r\n\r\n",
        HeadError::InvalidContentLength,
    ),
    (
        "signed content-length",
        b"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n",
        HeadError::InvalidContentLength,
    ),
    (
        "negative content-length",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        HeadError::InvalidContentLength,
    ),
    (
        "empty content-length",
        b"HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
        HeadError::InvalidContentLength,
    ),
    (
        "spaced content-length",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n",
        HeadError::InvalidContentLength,
    ),
    (
        "overflowing content-length",
        b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n",
        HeadError::InvalidContentLength,
    ),
    (
        "gzip transfer-encoding",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        HeadError::UnsupportedTransferEncoding,
    ),
    (
        "chunked twice",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        HeadError::UnsupportedTransferEncoding,
    ),
    (
        "empty transfer-encoding",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n\r\n",
        HeadError::UnsupportedTransferEncoding,
    ),
    (
        "transfer-encoding in http/1.0",
        b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        HeadError::TransferEncodingInHttp10,
    ),
];

#[test]
fn head_error_cases() {
    for (name, input, err) in HEAD_ERROR_CASES {
        let out = decode(input, false);
        assert_eq!(out.head, Some(Err(*err)), "{name}");
        assert_eq!(out.end, None, "{name}");
        // Trailing bytes change nothing.
        let mut longer = input.to_vec();
        longer.extend_from_slice(b"\r\ntrailing junk\r\n\r\n");
        assert_eq!(
            decode(&longer, false).head,
            Some(Err(*err)),
            "{name} + trailing"
        );
    }
}

#[test]
fn head_fields_and_consumed_count() {
    let input = b"HTTP/1.1 200 OK\r\nContent-Type: Text/Event-Stream; charset=utf-8\r\nX-A: 1\r\nx-a: 2\r\n\
                  Retry-After: 120\r\nConnection: keep-alive, Close\r\nLocation: /next\r\n\r\nBODY";
    let mut parser = ResponseParser::new();
    let HeadStatus::Complete(head, used) = parser.handle_bytes(input).unwrap() else {
        panic!("complete head expected");
    };
    assert_eq!(&input[used..], b"BODY");
    assert_eq!(head.status(), 200);
    assert_eq!(head.version(), Version::Http11);
    assert_eq!(&head.reason()[..], b"OK");
    assert!(head.is_event_stream());
    assert_eq!(
        head.content_type(),
        Some("Text/Event-Stream; charset=utf-8")
    );
    assert_eq!(head.header_str("CONTENT-type"), head.content_type());
    let all: Vec<&[u8]> = head.headers().get_all("X-a").map(|v| &v[..]).collect();
    assert_eq!(all, [&b"1"[..], b"2"]);
    assert_eq!(head.retry_after(), Some(RetryAfter::Seconds(120)));
    assert_eq!(head.location(), Some("/next"));
    assert!(head.is_close());
    assert!(head
        .headers()
        .iter()
        .all(|(n, _)| n.bytes().all(|b| !b.is_ascii_uppercase())));
    assert_eq!(head.framing(false), Ok(Framing::UntilClose));

    // The parser is ready for the next head.
    let next = parser
        .handle_bytes(b"HTTP/1.0 404 Not Found\r\n\r\n")
        .unwrap();
    let HeadStatus::Complete(head, 26) = next else {
        panic!("second head expected: {next:?}");
    };
    assert_eq!(head.version(), Version::Http10);
    assert!(!head.is_event_stream());
    assert!(head.is_close());
    assert_eq!(head.retry_after(), None);
}

#[test]
fn head_helpers() {
    let head = |field: &[u8]| {
        let mut input = b"HTTP/1.1 200 OK\r\n".to_vec();
        input.extend_from_slice(field);
        input.extend_from_slice(b"\r\n\r\n");
        match ResponseParser::new().handle_bytes(&input) {
            Ok(HeadStatus::Complete(head, _)) => head,
            other => panic!("{other:?}"),
        }
    };
    assert!(head(b"Content-Type: text/event-stream").is_event_stream());
    assert!(head(b"content-type:TEXT/EVENT-STREAM ;charset=utf-8").is_event_stream());
    assert!(!head(b"Content-Type: text/event-streams").is_event_stream());
    assert!(!head(b"Content-Type: text/plain").is_event_stream());
    assert!(!head(b"X: y").is_event_stream());
    assert_eq!(
        head(b"Retry-After: Fri, 31 Dec 1999 23:59:59 GMT").retry_after(),
        Some(RetryAfter::Date("Fri, 31 Dec 1999 23:59:59 GMT"))
    );
    assert_eq!(
        head(b"Retry-After: 99999999999999999999999").retry_after(),
        Some(RetryAfter::Seconds(u64::MAX))
    );
    assert_eq!(head(b"Location: \xFF").location(), None);
    assert_eq!(
        head(b"Location: \xFF").header("location").map(|v| &v[..]),
        Some(&b"\xFF"[..])
    );
    assert!(!head(b"Connection: keep-alive").is_close());
    assert!(head(b"Connection: upgrade, close").is_close());
    assert!(head(b"Transfer-Encoding: chunked")
        .headers()
        .has_token("transfer-encoding", "CHUNKED"));
    let built = {
        let mut h = Headers::new();
        h.push("Content-Type", "text/event-stream");
        ResponseHead::new(Version::Http11, 200, "OK", h)
    };
    assert!(built.is_event_stream());
    assert!(!built.is_redirect());
    assert!(ResponseHead::new(Version::Http11, 307, "", Headers::new()).is_redirect());
    // A reason phrase with obs-text is kept as raw bytes.
    let input = b"HTTP/1.1 200 \xE9t\xE9 ok\r\n\r\n";
    let Ok(HeadStatus::Complete(head, _)) = ResponseParser::new().handle_bytes(input) else {
        panic!("obs-text reason");
    };
    assert_eq!(&head.reason()[..], b"\xE9t\xE9 ok");
}

#[test]
fn head_limits_hold_for_any_chunking() {
    let limits = HeadLimits {
        max_head_len: 40,
        max_headers: 2,
    };
    let run = |input: &[u8]| {
        let whole = decode_with(&[input], false, limits, BodyLimits::default());
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(
            whole,
            decode_with(&bytes, false, limits, BodyLimits::default())
        );
        whole.head.map(|h| h.map(|_| ()))
    };
    // Exactly 40 bytes of head is fine; 41 is not.
    let exact = b"HTTP/1.1 200 OK\r\nX: 0123456789abcdef\r\n\r\n";
    assert_eq!(exact.len(), 40);
    assert_eq!(run(exact), Some(Ok(())));
    let over = b"HTTP/1.1 200 OK\r\nX: 0123456789abcdefg\r\n\r\n";
    assert_eq!(run(over), Some(Err(HeadError::TooLarge { limit: 40 })));
    // A head that never ends fails as soon as it passes the limit.
    assert_eq!(
        run(&[b'a'; 41]),
        Some(Err(HeadError::TooLarge { limit: 40 }))
    );
    assert_eq!(run(&[b'a'; 40]), None);
    // Empty lines before the status line count too.
    assert_eq!(
        run(&[b'\n'; 41]),
        Some(Err(HeadError::TooLarge { limit: 40 }))
    );
    assert_eq!(
        run(b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"),
        Some(Err(HeadError::TooManyHeaders { limit: 2 }))
    );
    assert_eq!(
        run(b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n"),
        Some(Ok(()))
    );
    // The default: 64 KiB and 100 fields.
    let mut big = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..101 {
        big.extend_from_slice(alloc::format!("X-{i}: v\r\n").as_bytes());
    }
    big.extend_from_slice(b"\r\n");
    assert_eq!(
        decode(&big, false).head,
        Some(Err(HeadError::TooManyHeaders { limit: 100 }))
    );
    let mut huge = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
    huge.resize(70_000, b'a');
    huge.extend_from_slice(b"\r\n\r\n");
    assert_eq!(
        decode(&huge, false).head,
        Some(Err(HeadError::TooLarge { limit: 64 << 10 }))
    );
}

#[test]
fn body_limits_hold_for_any_chunking() {
    let limits = BodyLimits {
        max_chunk_line_len: 6,
        max_trailers_len: 10,
    };
    let run = |body: &[u8]| {
        let mut input = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        input.extend_from_slice(body);
        let whole = decode_with(&[&input], false, HeadLimits::default(), limits);
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(
            whole,
            decode_with(&bytes, false, HeadLimits::default(), limits)
        );
        whole.end
    };
    assert_eq!(run(b"1;abcd\r\nx\r\n0\r\n\r\n"), Some(Ok(())));
    assert_eq!(
        run(b"1;abcde\r\nx\r\n0\r\n\r\n"),
        Some(Err(BodyError::ChunkLineTooLong { limit: 6 }))
    );
    assert_eq!(
        run(b"0000001\r\nx\r\n0\r\n\r\n"),
        Some(Err(BodyError::ChunkLineTooLong { limit: 6 }))
    );
    assert_eq!(run(b"0\r\nA: 12345\r\n\r\n"), Some(Ok(())));
    assert_eq!(
        run(b"0\r\nA: 123456\r\n\r\n"),
        Some(Err(BodyError::TrailersTooLarge { limit: 10 }))
    );
    assert_eq!(
        run(b"0\r\nA: 1\r\nB: 2\r\n\r\n"),
        Some(Err(BodyError::TrailersTooLarge { limit: 10 }))
    );
}

#[test]
fn decoder_alone() {
    // Empty framing ends at once and keeps what follows for the next message.
    let mut d = BodyDecoder::new(Framing::Empty);
    d.handle_bytes(b"next");
    assert_eq!(d.poll_body(), Some(Ok(BodyEvent::End)));
    assert_eq!(d.poll_body(), None);
    assert_eq!(&d.take_remaining()[..], b"next");

    // Data comes out as slices; the end comes without waiting for EOF.
    let mut d = BodyDecoder::new(Framing::Length(4));
    d.handle_bytes(b"ab");
    assert_eq!(
        d.poll_body(),
        Some(Ok(BodyEvent::Data(bytes::Bytes::from_static(b"ab"))))
    );
    assert_eq!(d.poll_body(), None);
    d.handle_bytes(b"cdef");
    assert_eq!(
        d.poll_body(),
        Some(Ok(BodyEvent::Data(bytes::Bytes::from_static(b"cd"))))
    );
    assert_eq!(d.poll_body(), Some(Ok(BodyEvent::End)));
    assert_eq!(&d.take_remaining()[..], b"ef");

    // A close-delimited body ends cleanly at EOF, however often it is said.
    let mut d = BodyDecoder::new(Framing::UntilClose);
    d.handle_bytes(b"x");
    d.handle_eof();
    d.handle_eof();
    d.handle_bytes(b"ignored");
    assert_eq!(
        d.poll_body(),
        Some(Ok(BodyEvent::Data(bytes::Bytes::from_static(b"x"))))
    );
    assert_eq!(d.poll_body(), Some(Ok(BodyEvent::End)));
    assert_eq!(d.poll_body(), None);

    // After an error nothing is buffered any more.
    let mut d = BodyDecoder::new(Framing::Chunked);
    d.handle_bytes(b"g\r\n");
    assert_eq!(d.poll_body(), Some(Err(BodyError::InvalidChunkSize)));
    d.handle_bytes(&[0; 1000]);
    assert_eq!(d.buffered(), 0);
    assert_eq!(d.poll_body(), None);
    assert!(d.take_remaining().is_empty());
}

#[test]
fn trickled_large_body_is_linear() {
    // 200 KiB of chunked data in 1-byte chunks, fed one byte at a time: a
    // quadratic scan would take minutes.
    let mut input = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let mut expected = Vec::new();
    for i in 0..(200 << 10) {
        let b = b'a' + (i % 26) as u8;
        chunk(&mut input, &[b]);
        expected.push(b);
    }
    last_chunk(&mut input);
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    let out = decode_pieces(&bytes, false);
    assert_eq!(out.data, expected);
    assert_eq!(out.end, Some(Ok(())));
    // And a 60 KiB head, byte by byte.
    let mut head = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
    head.resize(60 << 10, b'v');
    head.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
    let bytes: Vec<&[u8]> = head.chunks(1).collect();
    assert_eq!(decode_pieces(&bytes, false).end, Some(Ok(())));
}

// ---- Server side -------------------------------------------------------

fn parse_request_all(input: &[u8]) -> Result<(RequestHead, usize), HeadError> {
    let whole = match RequestParser::new().handle_bytes(input)? {
        HeadStatus::Complete(head, used) => (head, used),
        HeadStatus::Partial => panic!("partial request"),
    };
    // Byte by byte gives the same head, completed at the same byte.
    let mut parser = RequestParser::new();
    for (i, b) in input.iter().enumerate() {
        match parser.handle_bytes(core::slice::from_ref(b)) {
            Ok(HeadStatus::Partial) => {}
            Ok(HeadStatus::Complete(head, 1)) => {
                assert_eq!((&head, i + 1), (&whole.0, whole.1));
                return Ok(whole);
            }
            other => panic!("byte by byte: {other:?}"),
        }
    }
    panic!("byte by byte never completed")
}

#[test]
fn request_cases() {
    let input = b"\r\nGET /events?topic=a&last_event_id=7 HTTP/1.1\r\nHost: example.com\r\n\
                  Accept: text/event-stream\r\nLast-Event-ID: 42\r\n\r\nrest";
    let (head, used) = parse_request_all(input).unwrap();
    assert_eq!(&input[used..], b"rest");
    assert_eq!(head.method(), "GET");
    assert_eq!(head.target(), "/events?topic=a&last_event_id=7");
    assert_eq!(head.path(), "/events");
    assert_eq!(head.query(), Some("topic=a&last_event_id=7"));
    assert_eq!(head.host(), Some("example.com"));
    assert_eq!(head.last_event_id(), Some("42"));
    assert_eq!(head.version(), Version::Http11);
    assert_eq!(head.framing(), Ok(Framing::Empty));

    let (head, _) = parse_request_all(b"POST /x HTTP/1.0\r\nContent-Length: 3\r\n\r\n").unwrap();
    assert_eq!(
        (head.method(), head.path(), head.query()),
        ("POST", "/x", None)
    );
    assert_eq!(head.version(), Version::Http10);
    assert_eq!(head.framing(), Ok(Framing::Length(3)));
    let (head, _) =
        parse_request_all(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap();
    assert_eq!(head.framing(), Ok(Framing::Chunked));

    let errors: &[(&[u8], HeadError)] = &[
        // A body that cannot be delimited (RFC 9112 §6.3) fails the head.
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
            HeadError::ContentLengthWithTransferEncoding,
        ),
        (
            b"GET /events HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            HeadError::InvalidContentLength,
        ),
        (
            b"GET /events HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n",
            HeadError::InvalidContentLength,
        ),
        (
            b"GET /events HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            HeadError::ConflictingContentLength,
        ),
        (
            b"GET /events HTTP/1.1\r\nContent-Length: 2, 3\r\n\r\n",
            HeadError::ConflictingContentLength,
        ),
        (
            b"GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            HeadError::UnsupportedTransferEncoding,
        ),
        (
            b"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
            HeadError::TransferEncodingInHttp10,
        ),
        (b"GET / HTTP/2.0\r\n\r\n", HeadError::UnsupportedVersion),
        (b"GET / FOO/1.1\r\n\r\n", HeadError::InvalidStartLine),
        (b"G(T / HTTP/1.1\r\n\r\n", HeadError::InvalidStartLine),
        (b"GET  HTTP/1.1\r\n\r\n", HeadError::InvalidStartLine),
        (
            b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
            HeadError::InvalidHeaderName,
        ),
        (b"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", HeadError::ObsFold),
        (
            b"GET / HTTP/1.1\r\nA: \x7f\r\n\r\n",
            HeadError::InvalidHeaderValue,
        ),
    ];
    for (input, err) in errors {
        assert_eq!(
            RequestParser::new().handle_bytes(input).err(),
            Some(*err),
            "{:?}",
            String::from_utf8_lossy(input)
        );
        let mut parser = RequestParser::new();
        let got = input
            .iter()
            .find_map(|b| parser.handle_bytes(core::slice::from_ref(b)).err());
        assert_eq!(got, Some(*err), "byte by byte");
    }
    let mut many = b"GET / HTTP/1.1\r\n".to_vec();
    for _ in 0..3 {
        many.extend_from_slice(b"A: b\r\n");
    }
    many.extend_from_slice(b"\r\n");
    let limits = HeadLimits {
        max_head_len: 1024,
        max_headers: 2,
    };
    assert_eq!(
        RequestParser::with_limits(limits).handle_bytes(&many),
        Err(HeadError::TooManyHeaders { limit: 2 })
    );
}

// ---- Encoders ----------------------------------------------------------

#[test]
fn request_encoding_round_trips() {
    let headers = [
        ("Accept", "text/event-stream"),
        ("Cache-Control", "no-cache"),
        ("Last-Event-ID", "é\t1"),
    ];
    let req = Request::get("/events?a=1", "example.com:8080")
        .headers(&headers)
        .method("POST")
        .body(b"{}");
    let mut out = Vec::new();
    encode_request(&mut out, &req).unwrap();
    assert_eq!(
        out,
        "POST /events?a=1 HTTP/1.1\r\nHost: example.com:8080\r\nAccept: text/event-stream\r\n\
         Cache-Control: no-cache\r\nLast-Event-ID: é\t1\r\nContent-Length: 2\r\n\r\n{}"
            .as_bytes()
    );
    let (head, used) = parse_request_all(&out).unwrap();
    assert_eq!(&out[used..], b"{}");
    assert_eq!(
        (head.method(), head.target(), head.host()),
        ("POST", "/events?a=1", Some("example.com:8080"))
    );
    assert_eq!(head.last_event_id(), Some("é\t1"));
    assert_eq!(head.framing(), Ok(Framing::Length(2)));

    let mut out = Vec::new();
    encode_request(&mut out, &Request::get("/", "h").body(b"")).unwrap();
    assert_eq!(
        out,
        b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"
    );
}

#[test]
fn request_encoding_errors_write_nothing() {
    let base = Request::get("/", "example.com");
    let cases: &[(Request<'_>, EncodeError)] = &[
        (base.method(""), EncodeError::InvalidMethod),
        (base.method("GE T"), EncodeError::InvalidMethod),
        (base.method("GET\r\n"), EncodeError::InvalidMethod),
        (Request { target: "", ..base }, EncodeError::InvalidTarget),
        (
            Request {
                target: "/a b",
                ..base
            },
            EncodeError::InvalidTarget,
        ),
        (
            Request {
                target: "/\r\nX: y",
                ..base
            },
            EncodeError::InvalidTarget,
        ),
        (Request { host: "", ..base }, EncodeError::InvalidHost),
        (
            Request {
                host: "a\r\nb",
                ..base
            },
            EncodeError::InvalidHost,
        ),
        (
            Request {
                host: "a/b",
                ..base
            },
            EncodeError::InvalidHost,
        ),
        (
            Request {
                host: "user@a",
                ..base
            },
            EncodeError::InvalidHost,
        ),
        (
            base.headers(&[("", "v")]),
            EncodeError::InvalidHeaderName { index: 0 },
        ),
        (
            base.headers(&[("A", "1"), ("B:", "v")]),
            EncodeError::InvalidHeaderName { index: 1 },
        ),
        (
            base.headers(&[("A\n", "v")]),
            EncodeError::InvalidHeaderName { index: 0 },
        ),
        (
            base.headers(&[("A", "x\r\nEvil: 1")]),
            EncodeError::InvalidHeaderValue { index: 0 },
        ),
        (
            base.headers(&[("A", "x\ny")]),
            EncodeError::InvalidHeaderValue { index: 0 },
        ),
        (
            base.headers(&[("A", "x\0y")]),
            EncodeError::InvalidHeaderValue { index: 0 },
        ),
        (
            base.headers(&[("A", "x\x7f")]),
            EncodeError::InvalidHeaderValue { index: 0 },
        ),
        (
            base.headers(&[("host", "b")]),
            EncodeError::ReservedHeader { index: 0 },
        ),
        (
            base.headers(&[("A", "1"), ("Content-Length", "3")]),
            EncodeError::ReservedHeader { index: 1 },
        ),
        (
            base.headers(&[("TRANSFER-ENCODING", "chunked")]),
            EncodeError::ReservedHeader { index: 0 },
        ),
    ];
    for (req, err) in cases {
        let mut out = Vec::new();
        assert_eq!(encode_request(&mut out, req), Err(*err), "{req:?}");
        assert!(out.is_empty());
        assert!(!alloc::format!("{err}").is_empty());
    }
}

#[test]
fn response_encoding_round_trips() {
    let headers = [
        ("Content-Type", "text/event-stream"),
        ("Cache-Control", "no-store"),
        ("X-Accel-Buffering", "no"),
        ("Transfer-Encoding", "chunked"),
    ];
    let mut out = Vec::new();
    encode_response_head(&mut out, &Response::new(200).headers(&headers)).unwrap();
    chunk(&mut out, b"data: one\n\n");
    chunk(&mut out, b"");
    chunk_header(&mut out, 3);
    out.extend_from_slice(b": x");
    out.extend_from_slice(CHUNK_END);
    last_chunk(&mut out);
    let got = decode(&out, false);
    assert_eq!(got.data, b"data: one\n\n: x");
    assert_eq!(got.end, Some(Ok(())));
    let Some(Ok((200, fields))) = got.head else {
        panic!("{:?}", got.head);
    };
    assert_eq!(fields.len(), 4);
    assert_eq!(
        fields[0],
        ("content-type".into(), b"text/event-stream".to_vec())
    );

    let mut out = Vec::new();
    let odd = Response {
        status: 799,
        reason: "",
        headers: &[],
    };
    encode_response_head(&mut out, &odd).unwrap();
    assert_eq!(out, b"HTTP/1.1 799 \r\n\r\n");
    assert_eq!(decode(&out, true).head, Some(Ok((799, vec![]))));

    for (res, err) in [
        (Response::new(99), EncodeError::InvalidStatus),
        (Response::new(1000), EncodeError::InvalidStatus),
        (
            Response {
                reason: "O\r\nK",
                ..Response::new(200)
            },
            EncodeError::InvalidReason,
        ),
        (
            Response::new(200).headers(&[("A", "\n")]),
            EncodeError::InvalidHeaderValue { index: 0 },
        ),
    ] {
        let mut out = Vec::new();
        assert_eq!(encode_response_head(&mut out, &res), Err(err));
        assert!(out.is_empty());
    }
}

#[test]
fn chunk_sizes_are_hex() {
    let mut out = Vec::new();
    chunk(&mut out, &[b'x'; 255]);
    assert!(out.starts_with(b"ff\r\nxx"));
    let mut out = Vec::new();
    chunk_header(&mut out, 0x1_0000);
    assert_eq!(out, b"10000\r\n");
}

#[test]
fn errors_display_short_lowercase() {
    let all: Vec<String> = [
        alloc::format!("{}", HeadError::TooLarge { limit: 1 }),
        alloc::format!("{}", HeadError::ObsFold),
        alloc::format!("{}", BodyError::Truncated),
        alloc::format!("{}", BodyError::ChunkSizeOverflow),
        alloc::format!("{}", EncodeError::InvalidMethod),
    ]
    .into();
    for s in all {
        assert!(
            s.chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
            "{s}"
        );
        assert!(!s.ends_with('.'));
    }
}

// ---- Properties --------------------------------------------------------

/// Cuts `input` at the given points (taken modulo its length).
fn split<'a>(input: &'a [u8], points: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = points.iter().map(|p| p % (input.len() + 1)).collect();
    points.sort_unstable();
    let mut pieces = Vec::new();
    let mut last = 0;
    for p in points {
        pieces.push(&input[last..p]);
        last = p;
    }
    pieces.push(&input[last..]);
    pieces
}

#[derive(Clone, Debug)]
enum BodyKind {
    Length,
    Chunked {
        sizes: Vec<usize>,
        ext: bool,
        trailers: bool,
    },
    Close,
}

fn body_kind() -> impl Strategy<Value = BodyKind> {
    prop_oneof![
        Just(BodyKind::Length),
        Just(BodyKind::Close),
        (
            proptest::collection::vec(1usize..40, 0..12),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(sizes, ext, trailers)| BodyKind::Chunked {
                sizes,
                ext,
                trailers
            }),
    ]
}

/// A valid response: head with some fields, `body` framed as `kind`.
fn build_response(
    status: u16,
    fields: &[(String, String)],
    body: &[u8],
    kind: &BodyKind,
) -> Vec<u8> {
    let mut headers: Vec<(&str, &str)> = fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let len = alloc::format!("{}", body.len());
    match kind {
        BodyKind::Length => headers.push(("Content-Length", &len)),
        BodyKind::Chunked { .. } => headers.push(("Transfer-Encoding", "chunked")),
        BodyKind::Close => {}
    }
    let mut out = Vec::new();
    let res = Response {
        status,
        reason: "Whatever",
        headers: &headers,
    };
    encode_response_head(&mut out, &res).unwrap();
    match kind {
        BodyKind::Chunked {
            sizes,
            ext,
            trailers,
        } => {
            let mut rest = body;
            let mut sizes = sizes.iter().cycle();
            while !rest.is_empty() {
                let n = sizes.next().copied().unwrap_or(rest.len()).min(rest.len());
                let (piece, tail) = rest.split_at(n);
                if *ext {
                    chunk_header(&mut out, n);
                    out.truncate(out.len() - 2);
                    out.extend_from_slice(b";ext=\"v\"\r\n");
                    out.extend_from_slice(piece);
                    out.extend_from_slice(CHUNK_END);
                } else {
                    chunk(&mut out, piece);
                }
                rest = tail;
            }
            if *trailers {
                out.extend_from_slice(b"0\r\nX-Sum: 12\r\n\r\n");
            } else {
                last_chunk(&mut out);
            }
        }
        _ => out.extend_from_slice(body),
    }
    out
}

fn field() -> impl Strategy<Value = (String, String)> {
    ("[A-Za-z][A-Za-z0-9-]{0,10}", "[ -~]{0,20}").prop_filter(
        "framing fields are set by the test",
        |(n, _)| {
            !["content-length", "transfer-encoding"].contains(&n.to_ascii_lowercase().as_str())
        },
    )
}

proptest! {
    #[test]
    fn chunking_never_changes_a_valid_response(
        status in prop_oneof![Just(200u16), Just(404), Just(500), Just(204)],
        fields in proptest::collection::vec(field(), 0..6),
        body in proptest::collection::vec(any::<u8>(), 0..300),
        kind in body_kind(),
        points in proptest::collection::vec(any::<usize>(), 0..10),
    ) {
        let input = build_response(status, &fields, &body, &kind);
        let whole = decode_pieces(&[&input], false);
        prop_assert_eq!(&whole, &decode_pieces(&split(&input, &points), false));
        let Some(Ok((got_status, got_fields))) = &whole.head else {
            panic!("head failed: {:?}", whole.head);
        };
        prop_assert_eq!(*got_status, status);
        prop_assert_eq!(got_fields.len(), fields.len() + usize::from(!matches!(kind, BodyKind::Close)));
        for ((name, value), (got_name, got_value)) in fields.iter().zip(got_fields) {
            prop_assert_eq!(name.to_ascii_lowercase(), got_name.clone());
            prop_assert_eq!(value.trim_matches(' ').as_bytes(), &got_value[..]);
        }
        let expected: &[u8] = if status == 204 { b"" } else { &body };
        prop_assert_eq!(&whole.data[..], expected);
        prop_assert_eq!(whole.end, Some(Ok(())));
    }

    #[test]
    fn chunking_never_changes_a_damaged_response(
        body in proptest::collection::vec(any::<u8>(), 0..100),
        kind in body_kind(),
        damage in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        cut in any::<usize>(),
        points in proptest::collection::vec(any::<usize>(), 0..10),
    ) {
        let mut input = build_response(200, &[], &body, &kind);
        for (at, byte) in damage {
            let at = at % input.len();
            input[at] = byte;
        }
        input.truncate(input.len() - cut % (input.len() / 4 + 1));
        let whole = decode_pieces(&[&input], false);
        prop_assert_eq!(&whole, &decode_pieces(&split(&input, &points), false));
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        prop_assert_eq!(&whole, &decode_pieces(&bytes, false));
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        input in proptest::collection::vec(any::<u8>(), 0..400),
        head_request in any::<bool>(),
        points in proptest::collection::vec(any::<usize>(), 0..10),
    ) {
        let whole = decode_pieces(&[&input], head_request);
        prop_assert_eq!(&whole, &decode_pieces(&split(&input, &points), head_request));
        let mut prefixed = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        prefixed.extend_from_slice(&input);
        let whole = decode_pieces(&[&prefixed], head_request);
        prop_assert_eq!(&whole, &decode_pieces(&split(&prefixed, &points), head_request));
        let _ = RequestParser::new().handle_bytes(&input);
        let mut parser = RequestParser::new();
        for piece in split(&input, &points) {
            if parser.handle_bytes(piece).is_err() {
                break;
            }
        }
    }
}
