//! The parser on arbitrary bytes: never panics, stays within its limits, and
//! gives the same result however the input is chunked.
//!
//! The first byte picks the chunk size; the rest is the stream. Small limits
//! make the limit paths reachable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sse_core::parse::{Limits, Parser};

const LIMITS: Limits = Limits {
    max_line_len: 64,
    max_event_size: 128,
};

fn run<'a>(chunks: impl Iterator<Item = &'a [u8]>) -> (Vec<String>, String, Option<u64>) {
    let mut parser = Parser::with_limits(LIMITS);
    let mut out = Vec::new();
    let mut largest = 0;
    for chunk in chunks {
        largest = largest.max(chunk.len());
        parser.handle_bytes(chunk);
        while let Some(r) = parser.poll_event() {
            if let Ok(e) = &r {
                assert!(e.data().len() <= LIMITS.max_event_size);
            }
            out.push(format!("{r:?}"));
        }
        assert!(parser.buffered_len() <= LIMITS.max_line_len + largest);
    }
    parser.handle_eof();
    out.extend(std::iter::from_fn(|| parser.poll_event()).map(|r| format!("{r:?}")));
    (out, parser.last_event_id().to_string(), parser.retry())
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, stream)) = data.split_first() else {
        return;
    };
    let size = usize::from(first % 17) + 1;
    let whole = run(std::iter::once(stream));
    assert_eq!(run(stream.chunks(size)), whole);
});
