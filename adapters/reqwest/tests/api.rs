//! The `EventSource` API shared with `sse-futures`: a close handle from
//! another task, reopen with the last event ID, the notifications chosen.

mod support;

use futures_lite::StreamExt;
use sse_reqwest::sse_core::client::{Notification, ReadyState, Want};
use sse_reqwest::EventSource;
use support::{client_builder, config, events, serve, take_until, within, End};

#[tokio::test]
async fn a_close_handle_ends_the_stream_from_another_task() {
    let server = serve(None, |_, _| events(&["id: 5\ndata: a\n\n"], End::Hang)).await;
    let client = client_builder().build().unwrap();
    let mut es = EventSource::with_client(client, &server.url("/events"), config()).unwrap();
    let got = within(
        "a message",
        take_until(&mut es, |n| matches!(n, Notification::Message(_))),
    )
    .await;
    assert_eq!(got, ["open", "message a id=5"]);
    let handle = es.close_handle();
    tokio::spawn(async move { handle.close() }).await.unwrap();
    assert_eq!(within("the end", es.next()).await, None);
    assert_eq!(es.ready_state(), ReadyState::Closed);
    assert_eq!(es.url().as_str(), server.url("/events"));

    // reopen: a new request to the same URL, with the last event ID.
    es.reopen();
    let got = within(
        "reopened",
        take_until(&mut es, |n| matches!(n, Notification::Message(_))),
    )
    .await;
    assert_eq!(got, ["open", "message a id=5"]);
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].header("last-event-id"), Some("5"));
}

#[tokio::test]
async fn only_the_notifications_asked_for() {
    let server = serve(None, |_, _| {
        events(&["data: a\n\n", "data: b\n\n"], End::Hang)
    })
    .await;
    let mut config = config();
    config.want = Want::MESSAGES;
    let client = client_builder().build().unwrap();
    let mut es = EventSource::with_client(client, &server.url("/events"), config).unwrap();
    let got = within(
        "two messages",
        take_until(
            &mut es,
            |n| matches!(n, Notification::Message(m) if m.event.data() == "b"),
        ),
    )
    .await;
    assert_eq!(got, ["message a id=", "message b id="], "no open");
    es.set_last_event_id("7");
    assert_eq!(es.last_event_id(), "7");
}
