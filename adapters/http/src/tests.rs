//! Requests in, responses out, bodies polled by hand on a manual clock.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use futures_lite::future::block_on;
use http::{Method, Request, StatusCode};
use http_body::Body as _;
use http_body_util::BodyExt;
use sse_core::encode::Message;
use sse_core::endpoint::Endpoint;
use sse_core::server::Config;
use sse_core::Instant;
use sse_futures::server::{EventBody, Sender, Service, SharedHub};
use sse_futures::{BoxFuture, Timer};

use super::*;

/// A clock that moves only when told; sleeps end when it passes them.
#[derive(Clone, Default)]
struct Clock(Arc<Mutex<(Instant, Vec<Waker>)>>);

impl Clock {
    fn advance(&self, by: Duration) {
        let wakers = {
            let mut state = self.0.lock().unwrap();
            state.0 = state.0 + by;
            std::mem::take(&mut state.1)
        };
        wakers.into_iter().for_each(Waker::wake);
    }
}

impl Timer for Clock {
    fn now(&self) -> Instant {
        self.0.lock().unwrap().0
    }
    fn sleep_until(&self, deadline: Instant) -> BoxFuture<()> {
        let clock = self.clone();
        Box::pin(std::future::poll_fn(move |cx| {
            let mut state = clock.0.lock().unwrap();
            if state.0 >= deadline {
                return Poll::Ready(());
            }
            state.1.push(cx.waker().clone());
            Poll::Pending
        }))
    }
}

fn service() -> Service {
    Service::new(Endpoint::new("/events"), SharedHub::default())
}

fn get(target: &str) -> Request<()> {
    Request::get(target).body(()).unwrap()
}

/// The next frame if one is ready now.
fn poll_now<B: http_body::Body<Data = Bytes> + Unpin>(body: &mut B) -> Poll<Option<Bytes>>
where
    B::Error: std::fmt::Debug,
{
    let mut cx = Context::from_waker(Waker::noop());
    Pin::new(body)
        .poll_frame(&mut cx)
        .map(|f| f.map(|f| f.unwrap().into_data().unwrap()))
}

fn text(b: Bytes) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

#[test]
fn a_stream_gets_the_core_head_and_resumes_after_the_last_event_id() {
    let service = service().config(Config {
        retry: Some(500),
        ..Config::default()
    });
    for data in ["a", "b", "c"] {
        service.hub.try_publish(&Message::new(data)).unwrap();
    }
    let res = block_on(respond(
        &get("/events?last_event_id=1"),
        &service,
        Clock::default(),
    ));
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers();
    assert_eq!(h["content-type"], "text/event-stream");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["x-accel-buffering"], "no");
    assert_eq!(h["last-event-id"], "1");
    assert!(h.get("connection").is_none(), "HTTP/2 forbids it: {h:?}");
    let mut body = res.into_body();
    let mut got = String::new();
    while let Poll::Ready(Some(b)) = poll_now(&mut body) {
        got += &text(b);
    }
    assert_eq!(got, "retry: 500\nid: 2\ndata: b\n\nid: 3\ndata: c\n\n");
    // The header wins over the query, as in the core.
    let req = Request::get("/events?last_event_id=1")
        .header("Last-Event-ID", "2")
        .body(())
        .unwrap();
    let mut body = block_on(respond(&req, &service, Clock::default())).into_body();
    assert_eq!(
        poll_now(&mut body).map(|b| b.map(text)),
        Poll::Ready(Some("retry: 500\nid: 3\ndata: c\n\n".into()))
    );
    assert!(poll_now(&mut body).is_pending(), "then live");
    service.hub.try_publish(&Message::new("d")).unwrap();
    assert_eq!(
        poll_now(&mut body).map(|b| b.map(text)),
        Poll::Ready(Some("id: 4\ndata: d\n\n".into()))
    );
}

/// A burst goes out in frames of about 16 KiB, not one per event, and
/// chunking never changes the bytes.
#[test]
fn a_burst_is_a_few_large_frames() {
    let service = service();
    let mut body = block_on(respond(&get("/events"), &service, Clock::default())).into_body();
    assert!(poll_now(&mut body).is_pending());
    let mut want = String::new();
    for n in 1..=1000 {
        let data = format!("event number {n}");
        service.hub.try_publish(&Message::new(&data)).unwrap();
        want += &format!("id: {n}\ndata: {data}\n\n");
    }
    let (mut got, mut frames) = (String::new(), 0);
    while let Poll::Ready(Some(b)) = poll_now(&mut body) {
        assert!(b.len() < 16 * 1024 + 64, "{}", b.len());
        got += &text(b);
        frames += 1;
    }
    assert!(got == want, "{} bytes of {}", got.len(), want.len());
    assert!(frames <= want.len() / (16 * 1024) + 1, "{frames} frames");
}

/// A stream that ends while a frame is gathered: the frame, then the end,
/// without polling the finished stream again.
#[test]
fn the_end_of_a_stream_after_a_gathered_frame() {
    /// Yields its chunks, then ends, then panics if polled again.
    struct Once(Vec<&'static str>, bool);
    impl futures_lite::Stream for Once {
        type Item = Bytes;
        fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Bytes>> {
            assert!(!self.1, "polled after its end");
            if self.0.is_empty() {
                self.1 = true;
                return Poll::Ready(None);
            }
            Poll::Ready(Some(Bytes::from_static(self.0.remove(0).as_bytes())))
        }
    }
    let mut body = Body::stream(Once(vec!["a", "b"], false));
    assert_eq!(
        poll_now(&mut body).map(|b| b.map(text)),
        Poll::Ready(Some("ab".into()))
    );
    assert_eq!(poll_now(&mut body), Poll::Ready(None));
    assert_eq!(poll_now(&mut body), Poll::Ready(None));
    assert!(!body.is_end_stream(), "a stream says nothing in advance");
}

#[test]
fn keep_alive_comments_come_on_the_timer() {
    let service = service().config(Config {
        keep_alive: Some(Duration::from_secs(5)),
        ..Config::default()
    });
    let clock = Clock::default();
    let mut body = block_on(respond(&get("/events"), &service, clock.clone())).into_body();
    assert!(poll_now(&mut body).is_pending());
    clock.advance(Duration::from_secs(4));
    assert!(poll_now(&mut body).is_pending(), "not yet");
    clock.advance(Duration::from_secs(1));
    let Poll::Ready(Some(b)) = poll_now(&mut body) else {
        panic!("no keep-alive at 5 s");
    };
    assert!(b.starts_with(b":"), "a comment: {b:?}");
    assert!(poll_now(&mut body).is_pending());
}

#[test]
fn head_gets_the_head_alone() {
    let service = service();
    let req = Request::head("/events").body(()).unwrap();
    let res = block_on(respond(&req, &service, Clock::default()));
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    assert!(res.body().is_end_stream());
}

#[test]
fn other_methods_paths_and_preflight_are_the_endpoints_answers() {
    let mut service = service();
    let req = Request::post("/events").body(()).unwrap();
    let res = block_on(respond(&req, &service, Clock::default()));
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.headers()["allow"], "GET, HEAD");
    assert!(res.headers().get("connection").is_none());
    assert_eq!(res.headers()["content-length"], "19");
    let body = block_on(res.into_body().collect()).unwrap().to_bytes();
    assert_eq!(body, "method not allowed\n");

    let res = block_on(respond(&get("/nothing"), &service, Clock::default()));
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    service.endpoint.cors = Some("https://app.example".into());
    let req = Request::builder()
        .method(Method::OPTIONS)
        .uri("/events")
        .body(())
        .unwrap();
    let res = block_on(respond(&req, &service, Clock::default()));
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    assert!(res.body().is_end_stream());
    // The stream carries the CORS headers too.
    let res = block_on(respond(&get("/events"), &service, Clock::default()));
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(
        res.headers()["access-control-expose-headers"],
        "Last-Event-ID"
    );
}

#[test]
fn the_fallback_answers_other_paths() {
    let service = service().fallback(|head| {
        (head.path() == "/").then(|| {
            sse_core::endpoint::respond(200, &[("Content-Type", "text/html")], b"<p>page</p>")
        })
    });
    let res = block_on(respond(&get("/"), &service, Clock::default()));
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/html");
    assert_eq!(res.body().size_hint().exact(), Some(11));
    let body = block_on(res.into_body().collect()).unwrap().to_bytes();
    assert_eq!(body, "<p>page</p>");
    let res = block_on(respond(&get("/other"), &service, Clock::default()));
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[test]
fn on_stream_gets_a_sender_to_that_subscriber_alone() {
    let senders: Arc<Mutex<Vec<(String, Sender)>>> = Arc::default();
    let kept = Arc::clone(&senders);
    let service = service().on_stream(move |head, sender| {
        let user = head.header_str("x-user").unwrap_or_default().to_string();
        kept.lock().unwrap().push((user, sender));
    });
    let req = |user: &str| {
        Request::get("/events")
            .header("X-User", user)
            .body(())
            .unwrap()
    };
    let mut alice = block_on(respond(&req("alice"), &service, Clock::default())).into_body();
    let mut bob = block_on(respond(&req("bob"), &service, Clock::default())).into_body();
    let senders = senders.lock().unwrap();
    assert_eq!(senders[0].0, "alice");
    senders[0].1.send(&Message::new("hi alice")).unwrap();
    assert_eq!(
        poll_now(&mut alice).map(|b| b.map(text)),
        Poll::Ready(Some("data: hi alice\n\n".into()))
    );
    assert!(poll_now(&mut bob).is_pending());
    drop(alice);
    assert!(senders[0].1.send(&Message::new("gone")).is_err());
}

#[test]
fn any_stream_of_events_and_its_end() {
    let events = futures_lite::stream::iter([
        sse_futures::server::Event::new("one").id("1"),
        sse_futures::server::Event::new("two").event("update"),
    ]);
    let config = Config {
        retry: Some(100),
        ..Config::default()
    };
    let res = response(EventBody::new(events, config, Clock::default()));
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let body = block_on(res.into_body().collect()).unwrap().to_bytes();
    assert_eq!(
        body,
        "retry: 100\nid: 1\ndata: one\n\nevent: update\ndata: two\n\n"
    );
}

#[cfg(feature = "json")]
#[test]
fn a_json_feed() {
    #[derive(serde::Serialize)]
    struct Price {
        sym: &'static str,
        cents: u32,
    }
    let feed = sse_futures::server::JsonEvents::new(futures_lite::stream::iter([
        Price { sym: "A", cents: 1 },
        Price { sym: "B", cents: 2 },
    ]))
    .event("price");
    let res = response(EventBody::new(feed, Config::default(), Clock::default()));
    let body = block_on(res.into_body().collect()).unwrap().to_bytes();
    assert_eq!(
        body,
        "event: price\ndata: {\"sym\":\"A\",\"cents\":1}\n\nevent: price\ndata: {\"sym\":\"B\",\"cents\":2}\n\n"
    );
}

#[test]
fn an_http2_request_reads_as_the_core_expects() {
    let req = Request::get("https://example.com:8443/events?last_event_id=7")
        .version(http::Version::HTTP_2)
        .header("Last-Event-ID", "9")
        .body(())
        .unwrap();
    let head = request_head(&req);
    assert_eq!(head.method(), "GET");
    assert_eq!(head.target(), "/events?last_event_id=7");
    assert_eq!(head.host(), Some("example.com:8443"));
    assert_eq!(head.last_event_id(), Some("9"));
    assert_eq!(last_event_id(&req).as_deref(), Some("9"));
    let res = block_on(respond(&req, &service(), Clock::default()));
    assert_eq!(res.status(), StatusCode::OK);
}

#[test]
fn an_id_http_cannot_carry_is_left_out_of_the_head() {
    let service = service();
    service
        .hub
        .try_publish(&Message::new("x").id("caf\u{e9}"))
        .unwrap();
    let req = Request::get("/events")
        .header("Last-Event-ID", "caf\u{e9}".as_bytes())
        .body(())
        .unwrap();
    let res = block_on(respond(&req, &service, Clock::default()));
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("last-event-id").is_none());
}

/// The service's `history` and `admit` settings decide as on a raw socket:
/// no last event ID means the retained history, and a refused admission is
/// the endpoint's `unavailable` stream (a 200 that ends at once, so the
/// client retries), not a subscription.
#[test]
fn history_and_admission_as_the_raw_listener_decides() {
    let mut service = service();
    service.history = true;
    service.hub.try_publish(&Message::new("old")).unwrap();
    let mut body = block_on(respond(&get("/events"), &service, Clock::default())).into_body();
    assert_eq!(
        poll_now(&mut body).map(|b| b.map(text)),
        Poll::Ready(Some("id: 1\ndata: old\n\n".into()))
    );
    service.admit = Some(Arc::new(|_| {
        Box::pin(async { Err("log unreachable".to_string()) })
    }));
    let res = block_on(respond(&get("/events"), &service, Clock::default()));
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("connection").is_none());
    let body = block_on(res.into_body().collect()).unwrap().to_bytes();
    assert!(
        body.ends_with(b": unavailable: log unreachable\n"),
        "{body:?}"
    );
}

/// `Body` is what hyper's HTTP/2 server needs: `Send` for its spawned
/// streams.
#[test]
fn bodies_are_send() {
    fn send<T: Send + 'static>(_: &T) {}
    let res = block_on(respond(&get("/events"), &service(), Clock::default()));
    send(&res);
}
