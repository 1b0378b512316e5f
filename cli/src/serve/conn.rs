//! One HTTP connection of `sse serve`: read the request head, let the core's
//! [`Endpoint`] route it, then either answer and close or stream the feed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::BytesMut;
use event_listener::Event;
use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
use smol::net::TcpStream;
use smol::Timer;
use sse_core::endpoint::{bad_request, respond, Endpoint, Route, HEAD_TIMEOUT, LINGER};
use sse_core::http1::{HeadStatus, RequestParser};
use sse_core::hub::Subscriber;
use sse_core::server::Config;
use sse_core::Instant;

use super::feed::Feed;

/// What every connection shares.
pub struct Shared {
    pub feed: Feed,
    pub endpoint: Endpoint,
    pub config: Config,
    pub page: String,
    pub origin: std::time::Instant,
    /// Bumped to drop every open stream (SIGUSR1); streams opened before
    /// the bump end.
    pub generation: AtomicU64,
    /// Fires on a generation bump and on shutdown.
    pub kick: Event,
    /// Whether a client without a last event ID first gets the retained log.
    pub history: bool,
}

impl Shared {
    fn now(&self) -> Instant {
        Instant::from_duration(self.origin.elapsed())
    }
}

/// Most bytes offered to one write.
const WRITE_BATCH: usize = 16 * 1024;

/// Serves one connection to its end.
pub async fn serve(mut stream: TcpStream, shared: Arc<Shared>) {
    let Some(head) = read_head(&mut stream).await else {
        return;
    };
    let (last_event_id, head_only) = match shared.endpoint.route(&head) {
        Route::Respond(bytes) => return write_and_close(stream, &bytes).await,
        Route::Elsewhere if head.path() == "/" && head.method() == "GET" => {
            let page = respond(
                200,
                &[("Content-Type", "text/html; charset=utf-8")],
                shared.page.as_bytes(),
            );
            return write_and_close(stream, &page).await;
        }
        Route::Elsewhere => return write_and_close(stream, &shared.endpoint.not_found()).await,
        Route::Stream {
            last_event_id,
            head_only,
        } => (last_event_id, head_only),
    };
    let generation = shared.generation.load(Ordering::Acquire);
    let last_event_id = match last_event_id {
        None if shared.history => Some(sse_core::replay::EARLIEST.to_string()),
        id => id,
    };
    let sub = shared
        .feed
        .subscribe(
            shared.now(),
            last_event_id.as_deref(),
            shared.config.clone(),
        )
        .await;
    let mut sub = match sub {
        Ok(sub) => sub,
        Err(e) => {
            // A non-200 answer would make an EventSource give up for good;
            // instead open the stream, say why in a comment and end it: the
            // client reconnects after the retry time and resumes once the
            // feed is back.
            log::warn!("cannot subscribe: {e}");
            let mut stream_state =
                sse_core::server::Stream::new(shared.now(), shared.config.clone());
            let mut out = BytesMut::new();
            shared
                .endpoint
                .stream_head(stream_state.response_head(), &mut out);
            while let Some(bytes) = stream_state.poll_transmit(shared.now()) {
                out.extend_from_slice(&bytes);
            }
            sse_core::encode::comment(&mut out, &format!("unavailable: {e}"));
            return write_and_close(stream, &out).await;
        }
    };
    let mut out = BytesMut::new();
    shared.endpoint.stream_head(sub.response_head(), &mut out);
    if stream.write_all(&out).await.is_err() || head_only {
        return;
    }
    let peer = stream.peer_addr().ok();
    log::info!("{peer:?}: streaming from {last_event_id:?}");
    let mut probe = [0u8; 64];
    let mut out = Vec::new();
    loop {
        let published = shared.feed.listen();
        let kicked = shared.kick.listen();
        let now = shared.now();
        out.clear();
        shared
            .feed
            .peek_transmit(&mut sub, now, WRITE_BATCH, |b| out.extend_from_slice(b));
        if !out.is_empty() {
            // Offer the batch; if the socket takes none of it before the
            // next publish, offer again as things then stand: a client that
            // stopped reading falls behind and lags like any slow one.
            let write = async { Some(stream.write(&out).await) };
            let woken = async {
                future::or(published, kicked).await;
                None
            };
            match future::or(write, woken).await {
                Some(Ok(n)) if n > 0 => {
                    shared.feed.handle_written(&mut sub, now);
                    if !write_rest(&mut stream, &mut sub, &out[n..], &shared, generation).await {
                        return;
                    }
                }
                Some(_) => return,
                None => {}
            }
            if shared.generation.load(Ordering::Acquire) != generation {
                return;
            }
            continue;
        }
        if let Some(reason) = sub.closed() {
            log::warn!("{peer:?}: stream ended: {reason:?}");
            return;
        }
        if shared.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if shared.feed.is_down() {
            log::warn!("{peer:?}: ending the stream: the feed is down");
            return;
        }
        let deadline = sub.poll_timeout();
        let timer = async {
            match deadline {
                Some(at) => Timer::after(at.saturating_duration_since(shared.now())).await,
                None => future::pending().await,
            };
            Wake::Timer
        };
        let woken = async {
            future::or(published, kicked).await;
            Wake::Published
        };
        // The client sends nothing after its head: a read that returns means
        // it went away (or misbehaves).
        let gone = async {
            let _ = stream.read(&mut probe).await;
            Wake::Gone
        };
        match future::or(timer, future::or(woken, gone)).await {
            Wake::Timer => shared.feed.handle_timeout(&mut sub, shared.now()),
            Wake::Published => {}
            Wake::Gone => {
                log::info!("{peer:?}: client went away");
                return;
            }
        }
    }
}

/// Finishes writing a batch the socket started taking; `false` when the
/// connection broke, or when, before it could, the stream was dropped
/// (SIGUSR1, shutdown) or the subscriber fell out of the replay log (a
/// client that stopped reading: it gets the event cut short, discards it
/// and resumes by its last event ID).
async fn write_rest(
    stream: &mut TcpStream,
    sub: &mut Subscriber,
    rest: &[u8],
    shared: &Shared,
    generation: u64,
) -> bool {
    let write = async { stream.write_all(rest).await.is_ok() };
    let stuck = async {
        loop {
            let woken = future::or(shared.feed.listen(), shared.kick.listen());
            if shared.generation.load(Ordering::Acquire) != generation
                || shared.feed.close_if_lagging(sub)
            {
                log::debug!("dropping a stream stuck in a write: {:?}", sub.closed());
                return false;
            }
            woken.await;
        }
    };
    future::or(write, stuck).await
}

/// What ended a wait for something to send.
enum Wake {
    Timer,
    Published,
    Gone,
}

async fn read_head(stream: &mut TcpStream) -> Option<sse_core::http1::RequestHead> {
    let mut parser = RequestParser::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            let n = stream.read(&mut buf).await.ok()?;
            if n == 0 {
                return None;
            }
            match parser.handle_bytes(&buf[..n]) {
                Ok(HeadStatus::Complete(head, _)) => return Some(Ok(head)),
                Ok(HeadStatus::Partial) => {}
                Err(e) => return Some(Err(e)),
            }
        }
    };
    let timeout = async {
        Timer::after(HEAD_TIMEOUT).await;
        None
    };
    match future::or(read, timeout).await? {
        Ok(head) => Some(head),
        Err(e) => {
            write_and_close(stream.clone(), &bad_request(&e)).await;
            None
        }
    }
}

async fn write_and_close(mut stream: TcpStream, bytes: &[u8]) {
    let _ = stream.write_all(bytes).await;
    let _ = stream.flush().await;
    let _ = stream.shutdown(std::net::Shutdown::Write);
    // Let the client read the answer before the socket goes.
    let mut sink = [0u8; 256];
    let drain = async { while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {} };
    let linger = async {
        Timer::after(LINGER).await;
    };
    future::or(drain, linger).await;
}
