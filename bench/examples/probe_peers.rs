//! Feeds small edge-case streams to the peers and prints what they dispatch,
//! next to our parser's result. Used to explain the peers' miscounts in
//! docs/BENCHMARKS.md: `cargo run -p sse-bench --example probe_peers`.

use futures_lite::{future::block_on, StreamExt};

fn ours(input: &[u8]) -> Vec<String> {
    sse_core::parse::parse_all(input)
        .into_iter()
        .filter_map(|e| Some(e.ok()?.data().to_string()))
        .collect()
}

fn async_sse(input: &[u8]) -> Vec<String> {
    async_sse_chunks(&[input])
}

fn eventsource_stream(input: &[u8]) -> Vec<String> {
    use eventsource_stream::Eventsource;
    let chunks = futures_lite::stream::iter([Ok::<_, std::convert::Infallible>(input.to_vec())]);
    block_on(
        chunks
            .eventsource()
            .filter_map(|e| Some(e.ok()?.data))
            .collect(),
    )
}

/// An `AsyncRead` that returns the given chunks one read at a time.
struct Chunks(std::collections::VecDeque<Vec<u8>>);

impl futures_lite::AsyncRead for Chunks {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut [u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let Some(mut chunk) = self.0.pop_front() else {
            return std::task::Poll::Ready(Ok(0));
        };
        let n = chunk.len().min(buf.len());
        buf[..n].copy_from_slice(&chunk[..n]);
        if n < chunk.len() {
            self.0.push_front(chunk.split_off(n));
        }
        std::task::Poll::Ready(Ok(n))
    }
}

/// async-sse reading `chunks` as separate reads.
fn async_sse_chunks(chunks: &[&[u8]]) -> Vec<String> {
    let reader =
        futures_lite::io::BufReader::new(Chunks(chunks.iter().map(|c| c.to_vec()).collect()));
    block_on(
        async_sse::decode(reader)
            .filter_map(|e| match e {
                Ok(async_sse::Event::Message(m)) => {
                    Some(String::from_utf8_lossy(m.data()).into_owned())
                }
                _ => None,
            })
            .collect(),
    )
}

/// Runs a decoder, turning a panic into a visible result.
fn guard(f: impl FnOnce() -> Vec<String> + std::panic::UnwindSafe) -> String {
    match std::panic::catch_unwind(f) {
        Ok(events) => format!("{events:?}"),
        Err(_) => "PANICKED".to_string(),
    }
}

/// Prints the first event where async-sse and ours disagree on a workload.
fn first_difference(w: &sse_bench::Workload) {
    let (a, b) = (ours(&w.bytes), async_sse(&w.bytes));
    match a.iter().zip(&b).position(|(x, y)| x != y) {
        Some(i) => println!(
            "{}: event {i}: ours {:?}, async-sse {:?} (then {:?})",
            w.name,
            a[i],
            b[i],
            b.get(i + 1)
        ),
        None => println!("{}: ours {} events, async-sse {}", w.name, a.len(), b.len()),
    }
}

fn main() {
    std::panic::set_hook(Box::new(|_| {}));
    first_difference(&sse_bench::mixed());
    let split: &[&[u8]] = &[b"data: a\r", b"\ndata: b\n\n"];
    println!(
        "CRLF split across reads {split:?}: async-sse {:?}, ours {:?}",
        async_sse_chunks(split),
        ours(&split.concat())
    );
    let cases: &[&[u8]] = &[
        b"data: a\r\r",
        b"data: a\r\n\r\n",
        b"data: a\n\r",
        b"data: a\r\ndata: b\r\r",
        b"data: a\rdata: b\n\n",
        b"event: x\rdata: a\r\n\n",
        b"data: a\n\n\r",
        b"data: a\r\rdata: b\r\r",
        b"\xEF\xBB\xBFdata: bom\n\n",
        b"data: a\r\n\rdata: b\n\n",
    ];
    for case in cases {
        println!(
            "{:?}\n  ours:               {}\n  async-sse:          {}\n  eventsource-stream: {}",
            String::from_utf8_lossy(case),
            guard(|| ours(case)),
            guard(|| async_sse(case)),
            guard(|| eventsource_stream(case)),
        );
    }
}
