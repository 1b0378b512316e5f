//! Redirects: with the crate's client the machine follows them by the
//! core's rules; with a client that follows them itself, the machine is
//! told where the answer came from, so events carry the right origin.

mod support;

use futures_lite::StreamExt;
use sse_reqwest::sse_core::client::{ClientError, Notification};
use sse_reqwest::EventSource;
use support::{config, crypto_provider, events, reply, serve, within, End};

/// The origin of the first message, and what came before it.
async fn first_message_origin(
    es: &mut (impl futures_lite::Stream<Item = Notification> + Unpin),
) -> String {
    loop {
        match within("a message", es.next()).await {
            Some(Notification::Message(m)) => return m.origin.to_string(),
            Some(Notification::Open) => {}
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn the_machine_follows_redirects_across_origins() {
    let target = serve(None, |_, _| events(&["data: here\n\n"], End::Hang)).await;
    let location = target.url("/moved");
    let origin = serve(None, move |_, _| reply(307, &[("Location", &location)], "")).await;
    let mut config = config();
    config
        .headers
        .push(("Authorization".into(), "Bearer secret".into()));
    crypto_provider();
    let mut es = EventSource::with_config(&origin.url("/events"), config).unwrap();
    assert_eq!(first_message_origin(&mut es).await, target.base);
    assert_eq!(
        origin.seen()[0].header("authorization"),
        Some("Bearer secret")
    );
    // The core's rule: credentials are not sent to another origin.
    assert_eq!(target.seen()[0].header("authorization"), None);
}

#[tokio::test]
async fn the_machine_applies_its_redirect_limit() {
    let server = serve(None, |_, _| reply(302, &[("Location", "/again")], "")).await;
    let mut config = config();
    config.max_redirects = 3;
    crypto_provider();
    let mut es = EventSource::with_config(&server.url("/events"), config).unwrap();
    match within("the failure", es.next()).await {
        Some(Notification::Error {
            reconnecting: false,
            error: ClientError::TooManyRedirects { limit: 3 },
        }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(server.seen().len(), 4);
}

#[tokio::test]
async fn a_client_that_follows_redirects_itself_still_gives_the_final_origin() {
    let target = serve(None, |_, _| events(&["data: here\n\n"], End::Hang)).await;
    let location = target.url("/moved");
    let origin = serve(None, move |_, _| reply(302, &[("Location", &location)], "")).await;
    // reqwest's default policy: follow up to 10 redirects.
    crypto_provider();
    let client = reqwest::Client::new();
    let mut es = EventSource::with_client(client, &origin.url("/events"), config()).unwrap();
    assert_eq!(first_message_origin(&mut es).await, target.base);
    assert_eq!(origin.seen().len(), 1);
    assert_eq!(target.seen().len(), 1);
}
