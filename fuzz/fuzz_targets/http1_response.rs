//! Response head parser + body decoder on arbitrary bytes.
//!
//! The first byte picks the options (HEAD request or not, small limits or
//! default ones), the next four pick up to four split points; the rest is
//! the input. Checks: nothing panics, and decoding the input whole or in
//! pieces gives the same head, the same body bytes and the same ending.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sse_core::http1::{
    BodyDecoder, BodyError, BodyEvent, BodyLimits, HeadError, HeadLimits, HeadStatus,
    ResponseParser,
};

#[derive(Debug, PartialEq)]
struct Outcome {
    /// Status and fields of the final head, or the head error; `None` if the
    /// input ended inside the head.
    head: Option<Result<(u16, Vec<(String, Vec<u8>)>), HeadError>>,
    data: Vec<u8>,
    /// `End`, an error, or `None` if neither came.
    end: Option<Result<(), BodyError>>,
}

fn decode(pieces: &[&[u8]], head_request: bool, small: bool) -> Outcome {
    let (head_limits, body_limits) = if small {
        (
            HeadLimits {
                max_head_len: 64,
                max_headers: 3,
            },
            BodyLimits {
                max_chunk_line_len: 8,
                max_trailers_len: 16,
            },
        )
    } else {
        (HeadLimits::default(), BodyLimits::default())
    };
    let mut parser = ResponseParser::with_limits(head_limits);
    let mut out = Outcome {
        head: None,
        data: Vec::new(),
        end: None,
    };
    let mut body: Option<BodyDecoder> = None;
    for piece in pieces {
        let mut rest: &[u8] = piece;
        if body.is_none() {
            match parser.handle_bytes(piece) {
                Err(err) => {
                    out.head = Some(Err(err));
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
                        Ok(framing) => body = Some(BodyDecoder::with_limits(framing, body_limits)),
                        Err(err) => {
                            out.head = Some(Err(err));
                            return out;
                        }
                    }
                    rest = &piece[used..];
                }
            }
        }
        if let Some(decoder) = body.as_mut() {
            decoder.handle_bytes(rest);
            drain(decoder, &mut out);
        }
    }
    if let Some(decoder) = body.as_mut() {
        decoder.handle_eof();
        drain(decoder, &mut out);
        decoder.handle_eof();
        assert!(decoder.poll_body().is_none());
    }
    out
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

fuzz_target!(|input: &[u8]| {
    let Some((&options, rest)) = input.split_first() else {
        return;
    };
    let Some((splits, data)) = rest.split_at_checked(4) else {
        return;
    };
    let mut points: Vec<usize> = splits
        .iter()
        .map(|&s| {
            if data.is_empty() {
                0
            } else {
                usize::from(s) * data.len() / 256
            }
        })
        .collect();
    points.sort_unstable();
    let mut pieces = Vec::new();
    let mut last = 0;
    for p in points {
        pieces.push(&data[last..p]);
        last = p;
    }
    pieces.push(&data[last..]);
    let head_request = options & 1 == 1;
    let small = options & 2 == 2;
    let whole = decode(&[data], head_request, small);
    let split = decode(&pieces, head_request, small);
    assert_eq!(whole, split);
    let bytes: Vec<&[u8]> = data.chunks(1).collect();
    if data.len() < 512 {
        assert_eq!(whole, decode(&bytes, head_request, small));
    }
});
