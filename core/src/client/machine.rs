//! The [`Client`] state machine itself.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use bytes::{Bytes, BytesMut};
use core::time::Duration;

use super::backoff::{self, SplitMix64};
use super::config::{Config, Want};
use super::notify::{Action, ClientError, MessageEvent, Notification, ReadyState, TransportError};
use super::request::{Method, Request};
use super::response::{is_event_stream, retry_after_secs};
use crate::parse::{Line, Parser, Tokenizer};
use crate::text::Utf8Bytes;
use crate::time::Instant;
use crate::url::Url;

/// The machine's timers, one slot each in [`Timers`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Timer {
    /// The next connect: after the reconnection time, or at once to follow
    /// a redirect.
    Reconnect = 0,
    /// Waiting for a response head.
    Connect = 1,
    /// Waiting for body bytes.
    Idle = 2,
}

const TIMERS: [Timer; 3] = [Timer::Connect, Timer::Idle, Timer::Reconnect];

/// A fixed table of deadlines keyed by [`Timer`].
#[derive(Clone, Debug, Default)]
struct Timers([Option<Instant>; 3]);

impl Timers {
    fn set(&mut self, timer: Timer, at: Instant) {
        self.0[timer as usize] = Some(at);
    }
    fn stop(&mut self, timer: Timer) {
        self.0[timer as usize] = None;
    }
    fn get(&self, timer: Timer) -> Option<Instant> {
        self.0[timer as usize]
    }
    fn stop_all(&mut self) {
        self.0 = [None; 3];
    }
    fn earliest(&self) -> Option<Instant> {
        self.0.iter().flatten().min().copied()
    }
    /// Stops and reports `timer` if it is due at `now`.
    fn expire(&mut self, timer: Timer, now: Instant) -> bool {
        let due = self.get(timer).is_some_and(|at| at <= now);
        if due {
            self.stop(timer);
        }
        due
    }
}

/// Where the machine is within the `EventSource` lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for the reconnect timer.
    Waiting,
    /// A request was sent; waiting for the response head.
    Requesting,
    /// A redirect's head arrived: its connection and whatever it still
    /// delivers (the redirect's body, its end) are over for the machine;
    /// the connect to the new location is issued by the `Reconnect` timer,
    /// due at once.
    Following,
    /// Reading an event stream.
    Open,
    /// Reading the body of a failed response before reporting it.
    ErrorBody,
    /// Closed for good.
    Closed,
}

/// A failed response whose body is still being collected.
#[derive(Debug)]
struct Failure {
    error: ClientError,
    /// Retry (by [`Config::retry_statuses`]) instead of failing.
    retry: bool,
    retry_after: Option<Duration>,
    body: BytesMut,
}

/// An `EventSource` as a sans-I/O state machine.
///
/// See the [module documentation](super) for the driving loop. Inputs are the
/// `handle_*` methods, [`Client::close`] and [`Client::reopen`]; outputs are
/// pulled with [`Client::poll_action`], [`Client::poll_notification`] and
/// [`Client::poll_timeout`]. After each input, drain the actions and
/// notifications before the next input.
///
/// # Which connection an input is about
///
/// The transport inputs (`handle_response_head`, `handle_bytes`,
/// `handle_eof`, `handle_transport_error`) carry no connection identity:
/// they are about the connection of the last [`Action::Connect`]. The
/// machine keeps that unambiguous by issuing a `Connect` only from
/// [`Client::handle_timeout`], [`Client::new`] or [`Client::reopen`], never
/// while it takes a transport input. So whatever a driver still hands over
/// from one read after the machine is done with a response — the body and
/// end of a redirect it follows, the rest of a failed response — arrives
/// before the next `Connect` and is ignored, and the driver drops the old
/// connection when it acts on that `Connect`. [`Client::reads_response`]
/// tells a driver when it may stop reading.
///
/// Inputs that make no sense in the current state (body bytes while waiting
/// to reconnect, a response head while open, anything after
/// [`Client::close`]) are ignored. Time never goes backwards inside: an
/// earlier `now` than already seen counts as the latest one.
#[derive(Debug)]
pub struct Client {
    config: Config,
    /// The URL given at construction; every reconnect starts here.
    url: Url,
    /// The URL of the current attempt (after redirects).
    current: Url,
    /// Method and body of the current attempt (a 303 turns them into GET).
    method: Method,
    body: Option<Bytes>,
    /// The current attempt changed the method, so body headers are dropped.
    body_dropped: bool,
    redirects: u32,
    phase: Phase,
    parser: Parser,
    /// With [`Want::COMMENTS`]: the same body split into lines, for the
    /// comments (see `Client::feed_with_comments`).
    comments: Option<Tokenizer>,
    origin: Utf8Bytes,
    timers: Timers,
    now: Instant,
    /// Reconnects since the last connection that stayed open long enough.
    attempt: u32,
    opened_at: Option<Instant>,
    rng: SplitMix64,
    /// A transport may exist: a Connect was issued and not yet ended.
    in_flight: bool,
    failure: Option<Failure>,
    actions: VecDeque<Action>,
    notifications: VecDeque<Notification>,
}

impl Client {
    /// A client for `url` that starts connecting at once: the first
    /// [`Client::poll_action`] returns [`Action::Connect`].
    pub fn new(url: Url, config: Config, now: Instant) -> Client {
        let mut client = Client {
            current: url.clone(),
            url,
            method: config.method.clone(),
            body: config.body.clone(),
            body_dropped: false,
            redirects: 0,
            phase: Phase::Closed,
            parser: {
                let mut parser = Parser::with_limits(config.limits);
                parser.set_last_event_id(config.last_event_id.clone());
                parser
            },
            comments: config
                .want
                .contains(Want::COMMENTS)
                .then(|| Tokenizer::new(config.limits.max_line_len)),
            origin: Utf8Bytes::default(),
            timers: Timers::default(),
            now,
            attempt: 0,
            opened_at: None,
            rng: SplitMix64::new(config.seed),
            in_flight: false,
            failure: None,
            actions: VecDeque::new(),
            notifications: VecDeque::new(),
            config,
        };
        client.start_attempt();
        client
    }

    // ----- outputs -----

    /// The next thing the transport must do, or `None`. Call after every
    /// input until it returns `None`.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next notification for the user, or `None`. Only the kinds chosen
    /// with [`Config::want`] are queued.
    pub fn poll_notification(&mut self) -> Option<Notification> {
        self.notifications.pop_front()
    }

    /// When to call [`Client::handle_timeout`] next, or `None` when no timer
    /// runs. Has no side effects.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.earliest()
    }

    /// The ready state.
    pub fn ready_state(&self) -> ReadyState {
        match self.phase {
            Phase::Waiting | Phase::Requesting | Phase::Following | Phase::ErrorBody => {
                ReadyState::Connecting
            }
            Phase::Open => ReadyState::Open,
            Phase::Closed => ReadyState::Closed,
        }
    }

    /// The URL given at construction (`EventSource.url`).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The URL of the current or last attempt, after redirects.
    pub fn current_url(&self) -> &Url {
        &self.current
    }

    /// The last event ID, sent as `Last-Event-ID` on reconnect when not
    /// empty: a handle that shares the parser's copy.
    pub fn last_event_id(&self) -> Utf8Bytes {
        self.parser.last_event_id()
    }

    /// Replaces the last event ID (an empty one stops the `Last-Event-ID`
    /// header). Takes effect on the next request.
    pub fn set_last_event_id(&mut self, id: impl Into<Utf8Bytes>) {
        self.parser.set_last_event_id(id.into());
    }

    /// The reconnection time before backoff: the server's last `retry:`, or
    /// [`Config::reconnection_time`].
    pub fn reconnection_time(&self) -> Duration {
        self.parser
            .retry()
            .map_or(self.config.reconnection_time, Duration::from_millis)
    }

    /// Whether the machine still reads the current connection's response:
    /// its head, or the body of a stream or of a failure it keeps
    /// ([`Config::max_error_body`]). False once that response is over for
    /// it — a redirect it follows, a failure reported, a stream ended —
    /// until the next [`Action::Connect`].
    ///
    /// A driver may stop reading the connection when this is false (the
    /// [`Exchange`](super::Exchange) does); bytes, ends and errors it feeds
    /// anyway are ignored. Either way they never count for the next
    /// connection: a `Connect` is only ever issued by
    /// [`Client::handle_timeout`] or a user call, never while the machine
    /// takes a transport input, so a driver that acts on the actions before
    /// it runs the timers again has dropped the old connection by then.
    pub fn reads_response(&self) -> bool {
        matches!(
            self.phase,
            Phase::Requesting | Phase::Open | Phase::ErrorBody
        )
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    // ----- inputs from the transport -----

    /// The transport connected (TCP and TLS are up) and sent the request.
    /// Optional: it only moves the clock; the connect timeout runs until the
    /// response head.
    pub fn handle_connected(&mut self, now: Instant) {
        self.tick(now);
    }

    /// The connection for the last [`Action::Connect`] could not be made.
    /// The client reconnects later (or fails, for a one-shot stream).
    pub fn handle_connect_failed(&mut self, now: Instant, reason: TransportError) {
        let now = self.tick(now);
        if self.phase == Phase::Requesting {
            self.in_flight = false;
            self.network_error(now, ClientError::ConnectFailed(reason));
        }
    }

    /// The response head arrived: status code and header fields (names and
    /// values as bytes or strings, e.g. straight from `httparse`). Skip
    /// informational (1xx) responses before calling this.
    ///
    /// A redirect is followed: the rest of this response (its body, its
    /// end, a broken connection) is ignored, and the [`Action::Connect`] to
    /// the new location comes from the next [`Client::handle_timeout`],
    /// which [`Client::poll_timeout`] asks for at once. A 200
    /// `text/event-stream` opens the stream; anything else fails (or, with
    /// [`Config::retry_statuses`], reconnects). With
    /// [`Config::max_error_body`], a failed response's body is read first.
    pub fn handle_response_head<I, N, V>(&mut self, now: Instant, status: u16, headers: I)
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let now = self.tick(now);
        if self.phase != Phase::Requesting {
            return;
        }
        self.timers.stop(Timer::Connect);
        let mut content_type = None;
        let mut location = None;
        let mut retry_after = None;
        for (name, value) in headers {
            let (name, value) = (name.as_ref(), value.as_ref());
            if name.eq_ignore_ascii_case(b"content-type") {
                content_type.get_or_insert_with(|| Bytes::copy_from_slice(value));
            } else if name.eq_ignore_ascii_case(b"location") {
                location.get_or_insert_with(|| String::from_utf8_lossy(value).into_owned());
            } else if name.eq_ignore_ascii_case(b"retry-after") {
                retry_after = retry_after.or(retry_after_secs(value));
            }
        }
        if matches!(status, 301 | 302 | 303 | 307 | 308) {
            self.redirect(status, location);
            return;
        }
        if status == 200 && content_type.as_deref().is_some_and(is_event_stream) {
            self.phase = Phase::Open;
            self.reset_stream();
            self.origin = Utf8Bytes::from(String::from(self.current.origin()));
            self.opened_at = Some(now);
            self.arm_idle(now);
            log::info!("{}: open", self.current);
            self.notify(Notification::Open);
            return;
        }
        let content_type = content_type.map(|t| String::from_utf8_lossy(&t).into_owned());
        let error = match status {
            204 => ClientError::NoContent,
            200 => ClientError::ContentType {
                content_type,
                body: Bytes::new(),
            },
            _ => ClientError::Status {
                status,
                content_type,
                body: Bytes::new(),
            },
        };
        let retry = status != 204 && status != 200 && self.config.retries_status(status);
        self.failure = Some(Failure {
            error,
            retry,
            retry_after: retry_after.filter(|_| retry).map(Duration::from_secs),
            body: BytesMut::new(),
        });
        if self.config.max_error_body > 0 && status != 204 {
            self.phase = Phase::ErrorBody;
            self.arm_idle(now);
        } else {
            self.finish_failure(now);
        }
    }

    /// The transport followed a redirect by itself: the response that comes
    /// next was served from `final_url`, which sets the events' origin.
    pub fn handle_followed_redirect(&mut self, now: Instant, final_url: Url) {
        self.tick(now);
        if self.phase == Phase::Requesting {
            self.current = final_url;
        }
    }

    /// Response body bytes (after any transfer decoding).
    pub fn handle_bytes(&mut self, now: Instant, bytes: &[u8]) {
        let now = self.tick(now);
        match self.phase {
            Phase::Open => {
                if !bytes.is_empty() {
                    self.arm_idle(now);
                }
                if self.comments.is_some() {
                    self.feed_with_comments(bytes);
                } else {
                    self.parser.handle_bytes(bytes);
                    self.drain_parser();
                }
            }
            Phase::ErrorBody => {
                let limit = self.config.max_error_body;
                if let Some(failure) = &mut self.failure {
                    let room = limit.saturating_sub(failure.body.len());
                    failure
                        .body
                        .extend_from_slice(&bytes[..bytes.len().min(room)]);
                    if failure.body.len() >= limit {
                        self.finish_failure(now);
                    } else if !bytes.is_empty() {
                        self.arm_idle(now);
                    }
                }
            }
            _ => {}
        }
    }

    /// The response body ended cleanly. The client reconnects after the
    /// reconnection time (a one-shot stream closes instead).
    pub fn handle_eof(&mut self, now: Instant) {
        let now = self.tick(now);
        match self.phase {
            Phase::Open => {
                self.in_flight = false;
                self.parser.handle_eof();
                self.drain_parser();
                self.network_error(now, ClientError::EndOfStream);
            }
            Phase::Requesting => {
                self.in_flight = false;
                self.network_error(now, ClientError::ConnectFailed(TransportError::Reset));
            }
            Phase::ErrorBody => {
                self.in_flight = false;
                self.finish_failure(now);
            }
            Phase::Waiting | Phase::Following | Phase::Closed => {}
        }
    }

    /// The connection broke. Like [`Client::handle_eof`], but reported as an
    /// error (and a one-shot stream fails instead of closing).
    pub fn handle_transport_error(&mut self, now: Instant, reason: TransportError) {
        let now = self.tick(now);
        match self.phase {
            Phase::Open => {
                self.in_flight = false;
                self.parser.handle_eof();
                self.drain_parser();
                self.network_error(now, ClientError::Transport(reason));
            }
            Phase::Requesting => {
                self.in_flight = false;
                self.network_error(now, ClientError::ConnectFailed(reason));
            }
            Phase::ErrorBody => {
                self.in_flight = false;
                self.finish_failure(now);
            }
            Phase::Waiting | Phase::Following | Phase::Closed => {}
        }
    }

    /// Runs the timers due at `now`. Calling it early, late or twice is fine.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.tick(now);
        for timer in TIMERS {
            if !self.timers.expire(timer, now) {
                continue;
            }
            match (timer, self.phase) {
                (Timer::Connect, Phase::Requesting) => {
                    self.drop_transport();
                    self.network_error(now, ClientError::ConnectTimeout);
                }
                (Timer::Idle, Phase::Open) => {
                    self.drop_transport();
                    self.parser.handle_eof();
                    self.drain_parser();
                    self.network_error(now, ClientError::IdleTimeout);
                }
                (Timer::Idle, Phase::ErrorBody) => self.finish_failure(now),
                (Timer::Reconnect, Phase::Waiting) => self.start_attempt(),
                (Timer::Reconnect, Phase::Following) => {
                    self.phase = Phase::Requesting;
                    self.issue_connect();
                }
                _ => {}
            }
        }
    }

    // ----- inputs from the user -----

    /// Closes for good (`EventSource.close()`): the ready state becomes
    /// [`ReadyState::Closed`], queued notifications are dropped, timers
    /// stop, and an [`Action::Disconnect`] is queued if a connection may be
    /// open. Nothing more is reported until [`Client::reopen`].
    pub fn close(&mut self) {
        if self.phase == Phase::Closed {
            return;
        }
        self.phase = Phase::Closed;
        self.timers.stop_all();
        self.notifications.clear();
        self.actions.clear();
        self.failure = None;
        self.drop_transport();
    }

    /// Starts again from [`ReadyState::Connecting`] with an immediate
    /// [`Action::Connect`] to the original URL, keeping the last event ID
    /// and the reconnection time. An open client is closed first.
    pub fn reopen(&mut self, now: Instant) {
        self.tick(now);
        self.close();
        self.attempt = 0;
        self.start_attempt();
    }

    // ----- internals -----

    fn tick(&mut self, now: Instant) -> Instant {
        self.now = self.now.max(now);
        self.now
    }

    fn notify(&mut self, n: Notification) {
        let flag = match n {
            Notification::Open | Notification::Closed => Want::OPEN_CLOSE,
            Notification::Message(_) => Want::MESSAGES,
            Notification::Error { .. } | Notification::ParseError(_) => Want::ERRORS,
            Notification::Comment(_) => Want::COMMENTS,
        };
        if self.config.want.contains(flag) {
            self.notifications.push_back(n);
        }
    }

    /// A new stream (a new connection, or none): the parser keeps the last
    /// event ID and `retry:`, the comment lines start over.
    fn reset_stream(&mut self) {
        self.parser.reset();
        if let Some(lines) = &mut self.comments {
            lines.reset();
        }
    }

    /// Feeds body bytes to the parser and to the comment tokenizer in
    /// pieces that each end at a line terminator (CR or LF), draining both
    /// after each piece. A piece completes at most one line, which is either
    /// a comment (from the tokenizer) or dispatches an event (from the
    /// parser), so comments and messages come out in stream order. Both
    /// split lines the same way whatever the chunking (a CR ending one piece
    /// and an LF starting the next are one line end to both).
    fn feed_with_comments(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let end = memchr::memchr2(b'\n', b'\r', bytes).map_or(bytes.len(), |i| i + 1);
            let (piece, rest) = bytes.split_at(end);
            bytes = rest;
            self.parser.handle_bytes(piece);
            self.drain_parser();
            let Some(lines) = &mut self.comments else {
                return;
            };
            lines.handle_bytes(piece);
            let mut found = None;
            // Limit errors are the parser's to report; field and blank
            // lines are its to interpret.
            while let Some(line) = lines.poll_line() {
                if let Ok(Line::Comment(text)) = line {
                    found = Some(Utf8Bytes::from_bytes_lossy(text));
                }
            }
            if let Some(text) = found {
                self.notify(Notification::Comment(text));
            }
        }
    }

    fn drain_parser(&mut self) {
        while let Some(result) = self.parser.poll_event() {
            match result {
                Ok(event) => self.notify(Notification::Message(MessageEvent {
                    event,
                    origin: self.origin.clone(),
                })),
                Err(e) => self.notify(Notification::ParseError(e)),
            }
        }
    }

    fn arm_idle(&mut self, now: Instant) {
        if let Some(idle) = self.config.idle_timeout {
            self.timers.set(Timer::Idle, now + idle);
        }
    }

    fn drop_transport(&mut self) {
        if core::mem::take(&mut self.in_flight) {
            self.actions.push_back(Action::Disconnect);
        }
    }

    /// A fresh attempt at the original URL.
    fn start_attempt(&mut self) {
        self.phase = Phase::Requesting;
        self.current = self.url.clone();
        self.method = self.config.method.clone();
        self.body = self.config.body.clone();
        self.body_dropped = false;
        self.redirects = 0;
        self.issue_connect();
    }

    fn issue_connect(&mut self) {
        self.timers.stop_all();
        if let Some(timeout) = self.config.connect_timeout {
            self.timers.set(Timer::Connect, self.now + timeout);
        }
        self.in_flight = true;
        let request = self.request();
        self.actions.push_back(Action::Connect(request));
    }

    fn request(&self) -> Request {
        let mut headers: Vec<(String, String)> = Vec::with_capacity(3 + self.config.headers.len());
        let custom = |name: &str| {
            self.config
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        if !custom("accept") {
            headers.push(("Accept".into(), "text/event-stream".into()));
        }
        if !custom("cache-control") {
            headers.push(("Cache-Control".into(), "no-cache".into()));
        }
        let id = self.parser.last_event_id();
        if !id.is_empty() {
            headers.push(("Last-Event-ID".into(), id.as_str().into()));
        }
        let cross_origin = self.current.origin() != self.url.origin();
        for (name, value) in &self.config.headers {
            let lower = |n: &str| name.eq_ignore_ascii_case(n);
            if self.body_dropped
                && (lower("content-type")
                    || lower("content-encoding")
                    || lower("content-language")
                    || lower("content-location")
                    || lower("content-length"))
            {
                continue;
            }
            if cross_origin && lower("authorization") {
                continue;
            }
            headers.push((name.clone(), value.clone()));
        }
        Request {
            method: self.method.clone(),
            url: self.current.clone(),
            headers,
            body: self.body.clone(),
        }
    }

    fn redirect(&mut self, status: u16, location: Option<String>) {
        let Some(location) = location else {
            return self.fail(ClientError::MissingLocation { status });
        };
        if self.redirects >= self.config.max_redirects {
            let limit = self.config.max_redirects;
            return self.fail(ClientError::TooManyRedirects { limit });
        }
        let target = match self.current.join(&location) {
            Ok(url) => url,
            Err(e) => return self.fail(ClientError::BadLocation(e)),
        };
        self.redirects += 1;
        let to_get = status == 303 && self.method != Method::Get
            || matches!(status, 301 | 302) && self.method == Method::Post;
        if to_get {
            self.method = Method::Get;
            self.body = None;
            self.body_dropped = true;
        }
        self.current = target;
        // Not `issue_connect` here: the driver may still hand over the rest
        // of this response (its body, its end) in the same read, and those
        // inputs must not count for the next connection. Until the timer
        // fires they are ignored; the driver acts on the `Connect` (dropping
        // this connection) before it runs timers again.
        self.phase = Phase::Following;
        self.timers.stop_all();
        self.timers.set(Timer::Reconnect, self.now);
    }

    /// A network-level problem or the end of the body: reconnect, or end a
    /// one-shot stream.
    fn network_error(&mut self, now: Instant, error: ClientError) {
        if self.config.reconnects() {
            self.schedule_reconnect(now, error, None);
        } else if error == ClientError::EndOfStream {
            self.end(Notification::Closed);
        } else {
            self.fail(error);
        }
    }

    /// Reports the failed response collected in `self.failure`.
    fn finish_failure(&mut self, now: Instant) {
        let Some(failure) = self.failure.take() else {
            return;
        };
        let mut error = failure.error;
        if let ClientError::Status { body, .. } | ClientError::ContentType { body, .. } = &mut error
        {
            *body = failure.body.freeze();
        }
        if failure.retry {
            self.drop_transport();
            self.schedule_reconnect(now, error, failure.retry_after);
        } else {
            self.fail(error);
        }
    }

    fn schedule_reconnect(&mut self, now: Instant, error: ClientError, at_least: Option<Duration>) {
        self.drop_transport();
        self.reset_stream();
        if self
            .opened_at
            .take()
            .is_some_and(|t| now - t >= self.config.backoff_reset_after)
        {
            self.attempt = 0;
        }
        let base = self.reconnection_time();
        let mut wait = backoff::delay(
            base,
            self.attempt,
            self.config.backoff.as_ref(),
            &mut self.rng,
        );
        self.attempt = self.attempt.saturating_add(1);
        if let Some(at_least) = at_least {
            wait = wait.max(at_least);
        }
        self.phase = Phase::Waiting;
        self.timers.stop_all();
        self.timers.set(Timer::Reconnect, now + wait);
        log::warn!(
            "{}: {error}; reconnecting in {} ms",
            self.url,
            wait.as_millis()
        );
        self.notify(Notification::Error {
            reconnecting: true,
            error,
        });
    }

    fn fail(&mut self, error: ClientError) {
        log::error!("{}: {error}; closed", self.url);
        self.end(Notification::Error {
            reconnecting: false,
            error,
        });
    }

    fn end(&mut self, notification: Notification) {
        self.drop_transport();
        self.reset_stream();
        self.phase = Phase::Closed;
        self.timers.stop_all();
        self.failure = None;
        self.opened_at = None;
        self.notify(notification);
    }
}
