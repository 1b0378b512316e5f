//! LLM-style streams: a `POST` answered with events and dropped in the
//! middle of the answer is not sent again unless the user asks, and then
//! it is sent again with the same body and `Last-Event-ID`.

mod support;

use sse_reqwest::sse_core::client::{Notification, Reconnect};
use sse_reqwest::EventSource;
use support::{client_builder, config, events, serve, take_until, within, End};

const PROMPT: &str = r#"{"model":"m","stream":true,"prompt":"count"}"#;

/// The first answer breaks after one whole event and half of the next.
fn answer(n: usize) -> hyper::Response<support::Body> {
    match n {
        0 => events(&["id: 1\ndata: one\n\n", "data: tw"], End::Abort),
        _ => events(&["data: two\n\n", "data: [DONE]\n\n"], End::Close),
    }
}

fn request(url: &str) -> reqwest::RequestBuilder {
    client_builder()
        .build()
        .unwrap()
        .post(url)
        .bearer_auth("k")
        .header("Content-Type", "application/json")
        .body(PROMPT)
}

#[tokio::test]
async fn a_post_dropped_mid_answer_is_not_sent_again() {
    let server = serve(None, |n, _| answer(n)).await;
    let mut es =
        EventSource::from_request_with(request(&server.url("/v1/chat")), config()).unwrap();
    let got = within("the end", take_until(&mut es, |_| false)).await;
    // The half event is dropped; the failure is final; the stream ends.
    assert_eq!(
        got,
        [
            "open",
            "message one id=1",
            "error transport(Reset) reconnecting=false"
        ]
    );
    assert_eq!(
        es.ready_state(),
        sse_reqwest::sse_core::client::ReadyState::Closed
    );
    let seen = server.seen();
    assert_eq!(seen.len(), 1, "sent once");
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].body, PROMPT);
}

#[tokio::test]
async fn a_post_dropped_mid_answer_is_sent_again_when_asked() {
    let server = serve(None, |n, _| answer(n)).await;
    let mut config = config();
    config.reconnect = Reconnect::Always;
    let mut es = EventSource::from_request_with(request(&server.url("/v1/chat")), config).unwrap();
    let got = within(
        "the second answer",
        take_until(
            &mut es,
            |n| matches!(n, Notification::Message(m) if m.event.data() == "[DONE]"),
        ),
    )
    .await;
    assert_eq!(
        got,
        [
            "open",
            "message one id=1",
            "error transport(Reset) reconnecting=true",
            "open",
            "message two id=1",
            "message [DONE] id=1"
        ]
    );
    es.close();
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    for s in &seen {
        assert_eq!(s.method, "POST");
        assert_eq!(s.body, PROMPT, "the same body both times");
        assert_eq!(s.header("authorization"), Some("Bearer k"));
        assert_eq!(s.header("content-type"), Some("application/json"));
    }
    assert_eq!(seen[0].header("last-event-id"), None);
    assert_eq!(seen[1].header("last-event-id"), Some("1"));
}

#[tokio::test]
async fn a_post_that_ends_cleanly_is_closed_not_failed() {
    let server = serve(None, |_, _| answer(1)).await;
    let mut es =
        EventSource::from_request_with(request(&server.url("/v1/chat")), config()).unwrap();
    let got = within("the end", take_until(&mut es, |_| false)).await;
    assert_eq!(
        got,
        ["open", "message two id=", "message [DONE] id=", "closed"]
    );
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn an_error_answer_keeps_its_status_and_body() {
    let server = serve(None, |_, _| {
        support::reply(
            429,
            &[("Content-Type", "application/json")],
            r#"{"error":"rate limited"}"#,
        )
    })
    .await;
    let mut config = config();
    config.max_error_body = 1024;
    let mut es = EventSource::from_request_with(request(&server.url("/v1/chat")), config).unwrap();
    let n = within("the error", futures_lite::StreamExt::next(&mut es)).await;
    match n {
        Some(Notification::Error {
            reconnecting: false,
            error:
                sse_reqwest::sse_core::client::ClientError::Status {
                    status,
                    content_type,
                    body,
                },
        }) => {
            assert_eq!(status, 429);
            assert_eq!(content_type.as_deref(), Some("application/json"));
            assert_eq!(body, r#"{"error":"rate limited"}"#);
        }
        other => panic!("{other:?}"),
    }
    assert!(within("the end", futures_lite::StreamExt::next(&mut es))
        .await
        .is_none());
}
