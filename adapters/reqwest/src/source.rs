//! [`EventSource`]: the core's client machine driven over a [`Fetch`]
//! (a [`reqwest::Client`]) and a [`Timer`].
//!
//! It makes no decision itself. On each
//! [`Action::Connect`](sse_core::client::Action::Connect) it sends the
//! machine's request (method, `Accept`, `Cache-Control`, `Last-Event-ID`,
//! the configured headers, the body); it hands the response's status and
//! headers to [`Client::handle_response_head`], each chunk of
//! [`reqwest::Response::bytes_stream`] to [`Client::handle_bytes`], the
//! end of the body to [`Client::handle_eof`] and an error to
//! [`Client::handle_connect_failed`] (before the head) or
//! [`Client::handle_transport_error`] (after it); it drops the response
//! on [`Action::Disconnect`](sse_core::client::Action::Disconnect) and
//! sleeps on the [`Timer`] until the machine's next deadline.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_lite::{Stream, StreamExt};
use sse_core::client::{Action, Client, Config, MessageEvent, Notification, ReadyState};
use sse_core::url::Url;
use sse_core::Utf8Bytes;
use sse_futures::client::{CloseHandle, CloseSignal, Deadline};
use sse_futures::{BoxFuture, Timer};

use crate::fetch::{transport_error, Fetch, FetchError};
use crate::request::{check_headers, from_reqwest, to_reqwest, BuildError, Extras};
use crate::timer::TokioTimer;

/// A response body as reqwest streams it.
type Body = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// An `EventSource` over a [`reqwest::Client`] (or any [`Fetch`]) and a
/// [`Timer`] (tokio's by default): a [`Stream`] of the core's
/// [`Notification`]s. See the [crate docs](crate).
pub struct EventSource<T: Timer = TokioTimer, F: Fetch = reqwest::Client> {
    client: Client,
    fetch: F,
    timer: T,
    extras: Extras,
    conn: Conn,
    deadline: Deadline,
    close: CloseSignal,
}

/// The current request, as far as it has got.
enum Conn {
    None,
    /// Sent; waiting for the response head.
    Sending {
        future: BoxFuture<Result<reqwest::Response, FetchError>>,
        /// The URL it was sent to, to notice redirects the client followed.
        url: reqwest::Url,
    },
    /// Reading the body. `done` once it ended or broke.
    Reading {
        body: Body,
        done: bool,
    },
}

impl EventSource {
    /// A `GET` stream from `url` with the default [`Config`], on a new
    /// [`reqwest::Client`] that leaves redirects to the machine.
    pub fn new(url: &str) -> Result<Self, BuildError> {
        EventSource::with_config(url, Config::default())
    }

    /// A stream from `url` with `config`, on a new [`reqwest::Client`]
    /// that leaves redirects to the machine ([`client_builder`]).
    pub fn with_config(url: &str, config: Config) -> Result<Self, BuildError> {
        let client = client_builder().build()?;
        EventSource::with_parts(client, url, config, TokioTimer::new())
    }

    /// A stream from `url` with `config` on your own client (its proxy,
    /// TLS roots, cookies, default headers). If that client follows
    /// redirects itself, the machine only learns where it ended up (see
    /// the crate docs).
    pub fn with_client(
        client: reqwest::Client,
        url: &str,
        config: Config,
    ) -> Result<Self, BuildError> {
        EventSource::with_parts(client, url, config, TokioTimer::new())
    }

    /// A stream from the request `builder` describes, on its client: its
    /// method, URL, headers, body, timeout and version are sent on every
    /// attempt; everything else is [`Config::default`]. A `POST` is one-shot:
    /// dropped mid-answer it fails, and it is never sent twice unless
    /// [`Config::reconnect`] says [`Reconnect::Always`](sse_core::client::Reconnect::Always)
    /// (use [`EventSource::from_request_with`]).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = reqwest::Client::new();
    /// let answer = sse_reqwest::EventSource::from_request(
    ///     client
    ///         .post("https://api.example.com/v1/chat")
    ///         .bearer_auth("sk-test")
    ///         .header("Content-Type", "application/json")
    ///         .body(r#"{"stream":true,"prompt":"hi"}"#),
    /// )?;
    /// # Ok(()) }
    /// ```
    pub fn from_request(builder: reqwest::RequestBuilder) -> Result<Self, BuildError> {
        EventSource::from_request_with(builder, Config::default())
    }

    /// As [`EventSource::from_request`], with `config` for what the request
    /// does not say (reconnects, retry, timeouts, limits, notifications):
    /// the request's method, headers and body replace `config`'s.
    pub fn from_request_with(
        builder: reqwest::RequestBuilder,
        config: Config,
    ) -> Result<Self, BuildError> {
        let (client, request) = builder.build_split();
        EventSource::from_request_parts(client, request?, config, TokioTimer::new())
    }
}

impl<T: Timer, F: Fetch> EventSource<T, F> {
    /// The general form: `url` and `config` through `fetch`, on `timer`
    /// (e.g. a virtual clock in tests). The first request is sent at the
    /// first poll.
    pub fn with_parts(fetch: F, url: &str, config: Config, timer: T) -> Result<Self, BuildError> {
        let url = Url::parse(url)?;
        Self::assemble(fetch, url, config, Extras::default(), timer)
    }

    /// The general form of [`EventSource::from_request_with`]: `request`
    /// sent through `fetch`, on `timer`.
    pub fn from_request_parts(
        fetch: F,
        request: reqwest::Request,
        config: Config,
        timer: T,
    ) -> Result<Self, BuildError> {
        let (url, config, extras) = from_reqwest(request, config)?;
        Self::assemble(fetch, url, config, extras, timer)
    }

    fn assemble(
        fetch: F,
        url: Url,
        config: Config,
        extras: Extras,
        timer: T,
    ) -> Result<Self, BuildError> {
        check_headers(&config)?;
        Ok(EventSource {
            client: Client::new(url, config, timer.now()),
            fetch,
            timer,
            extras,
            conn: Conn::None,
            deadline: Deadline::default(),
            close: CloseSignal::default(),
        })
    }

    /// `readyState`: connecting (or waiting to reconnect), open or closed.
    pub fn ready_state(&self) -> ReadyState {
        self.client.ready_state()
    }

    /// The URL the `EventSource` was created with (reconnects start here).
    pub fn url(&self) -> &Url {
        self.client.url()
    }

    /// The last event ID, sent as `Last-Event-ID` on the next request.
    pub fn last_event_id(&self) -> Utf8Bytes {
        self.client.last_event_id()
    }

    /// Replaces the last event ID (`""` clears it).
    pub fn set_last_event_id(&mut self, id: impl Into<Utf8Bytes>) {
        self.client.set_last_event_id(id);
    }

    /// `close()`: drops the request and stops for good, until
    /// [`EventSource::reopen`].
    pub fn close(&mut self) {
        self.client.close();
        self.apply_actions();
    }

    /// Starts again after [`EventSource::close`], a failure or a one-shot
    /// stream's end, keeping the last event ID.
    pub fn reopen(&mut self) {
        self.close.clear();
        self.client.reopen(self.timer.now());
        self.close.wake();
    }

    /// A handle that closes this `EventSource` from another task.
    pub fn close_handle(&self) -> CloseHandle {
        self.close.handle()
    }

    /// The core machine, for anything this driver does not forward.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Only the messages, without open and error notifications.
    pub fn messages(&mut self) -> impl Stream<Item = MessageEvent> + '_ {
        self.filter_map(|n| match n {
            Notification::Message(m) => Some(m),
            _ => None,
        })
    }

    /// Carries out every queued action.
    fn apply_actions(&mut self) {
        while let Some(action) = self.client.poll_action() {
            self.conn = Conn::None;
            let Action::Connect(request) = action else {
                continue;
            };
            match to_reqwest(&request, &self.extras) {
                Ok(out) => {
                    log::debug!("{} {}: sending", request.method, request.url);
                    let url = out.url().clone();
                    self.conn = Conn::Sending {
                        future: self.fetch.fetch(out),
                        url,
                    };
                }
                Err(e) => {
                    // A header the machine made (a Last-Event-ID with a
                    // control character): this attempt cannot be sent.
                    log::error!("{}: cannot send the request: {e}", request.url);
                    let now = self.timer.now();
                    self.client
                        .handle_connect_failed(now, sse_core::client::TransportError::Other);
                }
            }
        }
    }

    /// Advances the request; `true` if anything happened.
    fn poll_conn(&mut self, cx: &mut Context<'_>) -> bool {
        match &mut self.conn {
            Conn::None | Conn::Reading { done: true, .. } => false,
            Conn::Sending { future, url } => {
                let Poll::Ready(result) = future.as_mut().poll(cx) else {
                    return false;
                };
                let now = self.timer.now();
                match result {
                    Ok(response) => {
                        if response.url() != url {
                            // The client followed redirects itself: the
                            // events' origin is where it ended up.
                            if let Ok(last) = Url::parse(response.url().as_str()) {
                                self.client.handle_followed_redirect(now, last);
                            }
                        }
                        self.client.handle_connected(now);
                        let headers = response.headers().iter();
                        let headers = headers.map(|(n, v)| (n.as_str(), v.as_bytes()));
                        self.client
                            .handle_response_head(now, response.status().as_u16(), headers);
                        self.conn = Conn::Reading {
                            body: Box::pin(response.bytes_stream()),
                            done: false,
                        };
                    }
                    Err(e) => {
                        log::debug!("{}: request failed: {e}", self.client.current_url());
                        self.conn = Conn::None;
                        self.client.handle_connect_failed(now, transport_error(&*e));
                    }
                }
                true
            }
            Conn::Reading { body, done } => {
                let Poll::Ready(chunk) = body.poll_next(cx) else {
                    return false;
                };
                let now = self.timer.now();
                match chunk {
                    Some(Ok(bytes)) => self.client.handle_bytes(now, &bytes),
                    Some(Err(e)) => {
                        log::debug!("{}: stream broken: {e}", self.client.current_url());
                        *done = true;
                        self.client.handle_transport_error(now, transport_error(&e));
                    }
                    None => {
                        *done = true;
                        self.client.handle_eof(now);
                    }
                }
                true
            }
        }
    }
}

/// A [`reqwest::ClientBuilder`] for event streams: redirects are left to
/// the client machine (`redirect::Policy::none()`), so that its limit, its
/// `303`-becomes-`GET` rule and the events' origin apply. Add your own
/// settings (proxy, roots, timeouts) and pass the client to
/// [`EventSource::with_client`].
pub fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none())
}

impl<T: Timer, F: Fetch> Stream for EventSource<T, F> {
    type Item = Notification;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Notification>> {
        let this = self.get_mut();
        loop {
            if this.close.take() {
                this.client.close();
            }
            this.apply_actions();
            if let Some(n) = this.client.poll_notification() {
                return Poll::Ready(Some(n));
            }
            if this.poll_conn(cx) || this.deadline.poll(&mut this.client, &this.timer, cx) {
                continue;
            }
            if this.client.ready_state() == ReadyState::Closed {
                // Nothing more can happen until `reopen`.
                this.conn = Conn::None;
                this.deadline.clear();
                return Poll::Ready(None);
            }
            if this.close.park(cx.waker()) {
                continue; // closed while registering
            }
            return Poll::Pending;
        }
    }
}

impl<T: Timer, F: Fetch> Unpin for EventSource<T, F> {}
