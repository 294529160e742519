//! GetMedia as a stream of chunks that resumes by itself, its frame-level
//! variant, and GetMediaForFragmentList.
//!
//! Resuming: when a body ends or the connection breaks, the partial chunk is
//! dropped and GetMedia is called again from the last complete chunk's
//! continuation token (or, without one, from its fragment number), after a
//! backoff with jitter, under the limit of 5 calls per second per stream.
//! Fragments already delivered are skipped, so every complete fragment is
//! delivered exactly once and in order across reconnects.
//! [`MediaStream::reconnects`] and [`MediaStream::last_reconnect`] say how
//! often and why. Offsets are cumulative over the stream's sessions; the
//! bounds on a session are listed in the `client` module docs.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::BytesMut;
use futures_core::Stream;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::Map;
use tokio_util::codec::Decoder;

use super::model::{is_continuation_token, StartSelector};
use super::retry::{Budget, Failure};
use super::{Answer, Api, Client, ClientError, StreamId};
use crate::{Chunk, ChunkDecoder, Error, Event, EventDecoder, FragmentNumber, Limits};

/// The largest buffer a GetMedia stream keeps between chunks (see
/// `ResumingStream::release`).
const KEPT_BUFFER: usize = 64 * 1024;

/// Spare room a GetMedia stream's buffer keeps for the next read: hyper
/// reads at most 32 KiB at a time (`http1_max_buf_size`). A buffer with
/// spare room is one the decoder sizes for the chunk at its head; one
/// without (capacity equal to length) it leaves alone, as joined pieces of
/// a larger buffer. The session's decoder makes the same room past a chunk
/// (its default, 64 KiB, is for callers with larger reads): 32 KiB less
/// kept per session.
const READ_ROOM: usize = 32 * 1024;

/// When a GetMedia stream stops, and how it resumes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GetMediaOptions {
    /// Stop after this many chunks.
    pub max_chunks: Option<u64>,
    /// Stop when no new chunk has come for this long (across reconnects).
    pub idle_timeout: Option<Duration>,
    /// Stop after this many sessions in a row that delivered no new chunk
    /// (a finished stream: the service ends sessions that have nothing to
    /// send). `None`: keep calling (tail a live stream forever).
    pub stop_after_empty_sessions: Option<u32>,
    /// Stop at the first error chunk (`AWS_KINESISVIDEO_ERROR_*`), which is
    /// handed out as [`ClientError::StreamError`]. Otherwise resume after it.
    pub stop_on_error_chunk: bool,
    /// Decoder limits.
    pub limits: Limits,
}

impl Default for GetMediaOptions {
    fn default() -> Self {
        GetMediaOptions {
            max_chunks: None,
            idle_timeout: None,
            stop_after_empty_sessions: Some(1),
            stop_on_error_chunk: true,
            limits: Limits::default(),
        }
    }
}

/// What a session produced, for the stream's bookkeeping.
enum Item<T> {
    Out(Result<T, ClientError>),
    /// The session ended: cleanly (`None`), or with this failure.
    SessionEnd(Option<Failure>),
}

/// Why a GetMedia stream called GetMedia again (see [`Reconnect`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReconnectReason {
    /// The service ended the previous session cleanly.
    SessionEnded,
    /// The previous call or session failed: the error, as text.
    Failed(String),
}

impl std::fmt::Display for ReconnectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReconnectReason::SessionEnded => f.write_str("the session ended"),
            ReconnectReason::Failed(e) => f.write_str(e),
        }
    }
}

/// A call to GetMedia after the stream's first: why, and where it resumed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reconnect {
    /// Why the stream called again.
    pub reason: ReconnectReason,
    /// The `StartSelector` of the new call: the last complete chunk's
    /// continuation token, else its fragment number, else the stream's
    /// starting selector.
    pub selector: StartSelector,
}

/// Counters of a GetMedia stream ([`MediaStream::stats`],
/// [`MediaEvents::stats`]), for a service to export: a copy, taken when
/// asked.
///
/// ```
/// let stats = kvs_mkv::client::MediaStats::default();
/// assert_eq!((stats.chunks, stats.reconnects, stats.millis_behind_now), (0, 0, None));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MediaStats {
    /// Complete chunks handed out (an error chunk counts; a chunk cut short
    /// and fetched again counts once).
    pub chunks: u64,
    /// Frames handed out (each frame once, across reconnects).
    pub frames: u64,
    /// Bytes received from the service by all of the stream's sessions:
    /// the bytes of a chunk cut short and fetched again count twice (as
    /// chunk offsets do).
    pub bytes: u64,
    /// Calls to GetMedia after the first ([`MediaStream::reconnects`]).
    pub reconnects: u64,
    /// `AWS_KINESISVIDEO_MILLIS_BEHIND_NOW` of the last complete chunk that
    /// carried it: how far behind the tip of the stream the consumer is.
    pub millis_behind_now: Option<u64>,
    /// When the last complete chunk was handed out (wall clock).
    pub last_chunk_at: Option<SystemTime>,
}

/// Turns response bodies into items; one implementation per decoder.
trait Session: Send + 'static {
    type Out: Send + 'static;
    fn new(limits: Limits) -> Self;
    /// Makes the offsets of what the session decodes (items and errors)
    /// count from `base`: the bytes the stream's earlier sessions received.
    /// Before the session's first byte.
    fn start_at(&mut self, base: u64);
    /// Feeds bytes (or EOF) and moves decoded items to `out`.
    fn feed(
        &mut self,
        buf: &mut BytesMut,
        eof: bool,
        state: &mut Resume,
        out: &mut VecDeque<Result<Self::Out, ClientError>>,
    );
}

/// Where to resume and what was delivered.
#[derive(Debug, Default)]
struct Resume {
    token: Option<crate::Text>,
    last: Option<FragmentNumber>,
    /// Complete chunks delivered.
    delivered: u64,
    /// Items handed out (chunks, or frames and chunk ends): a session that
    /// moved this made progress, even if a cut came before its chunk ended.
    progress: u64,
    error_chunk: bool,
    /// Frame-level: the fragment being delivered and how many of its frames
    /// are out, so a re-fetched fragment skips them.
    partial: Option<(Option<FragmentNumber>, u64)>,
    /// Frames of the current fragment still to skip (already handed out).
    skipping: u64,
    /// The current fragment was delivered before: skip all of it.
    skip_all: bool,
    /// Stop decoding once this many chunks are delivered.
    max_chunks: Option<u64>,
    /// Frames delivered.
    frames: u64,
    /// `AWS_KINESISVIDEO_MILLIS_BEHIND_NOW` of the last complete chunk that
    /// carried it.
    millis_behind_now: Option<u64>,
    /// When the last complete chunk was delivered.
    last_chunk_at: Option<SystemTime>,
}

impl Resume {
    /// Whether the `max_chunks` stop condition is reached.
    fn full(&self) -> bool {
        self.max_chunks.is_some_and(|m| self.delivered >= m)
    }

    /// Whether a chunk with this fragment number was delivered already.
    fn seen(&self, n: Option<&FragmentNumber>) -> bool {
        matches!((n, &self.last), (Some(n), Some(last)) if n <= last)
    }

    fn selector(&self, initial: &StartSelector) -> StartSelector {
        match (&self.token, &self.last) {
            (Some(t), _) => StartSelector::ContinuationToken(t.to_string()),
            (None, Some(n)) => StartSelector::FragmentNumber(*n),
            (None, None) => initial.clone(),
        }
    }

    /// A complete chunk's tags: returns the error to hand out, if any.
    fn complete(&mut self, info: &crate::ChunkInfo) -> Option<ClientError> {
        if let Some(t) = &info.aws.continuation_token {
            // A token the models do not allow would be refused as the next
            // call's selector: resume from the fragment number instead.
            self.token = is_continuation_token(t.as_str()).then(|| t.clone());
        }
        if let Some(n) = info.fragment_number() {
            self.last = Some(*n);
        }
        self.delivered += 1;
        if let Some(ms) = info.aws.millis_behind_now {
            self.millis_behind_now = Some(ms);
        }
        self.last_chunk_at = Some(SystemTime::now());
        let aws = &info.aws;
        if aws.error_id.is_some() || aws.error_code.is_some() {
            self.error_chunk = true;
            return Some(ClientError::StreamError {
                fragment: info.fragment_number().copied(),
                id: aws.error_id,
                code: aws.error_code.as_ref().map(|c| c.to_string()),
            });
        }
        None
    }
}

/// A GetMedia chunk is whole when its trailing tags came: the continuation
/// token (or error tags). A chunk of unknown-size elements cut between two
/// blocks looks structurally complete but is not.
fn finished(info: &crate::ChunkInfo) -> bool {
    info.complete && (info.aws.continuation_token.is_some() || info.aws.has_error())
}

fn decode_error(e: Error) -> ClientError {
    match e {
        Error::Decode(d) => ClientError::Decode(d),
        Error::Io(io) => super::transport("media body", io),
    }
}

/// One decoding step: `decode`, or `decode_eof` once the body has ended.
pub(super) fn step<D: Decoder<Error = Error>>(
    d: &mut D,
    buf: &mut BytesMut,
    eof: bool,
) -> Result<Option<D::Item>, Error> {
    if eof {
        d.decode_eof(buf)
    } else {
        d.decode(buf)
    }
}

struct Chunks(ChunkDecoder);

impl Session for Chunks {
    type Out = Chunk;
    fn new(limits: Limits) -> Self {
        Chunks(ChunkDecoder::with_limits(limits).with_read_room(READ_ROOM))
    }
    fn start_at(&mut self, base: u64) {
        self.0.start_at(base);
    }
    fn feed(
        &mut self,
        buf: &mut BytesMut,
        eof: bool,
        state: &mut Resume,
        out: &mut VecDeque<Result<Chunk, ClientError>>,
    ) {
        while !state.full() {
            let chunk = step(&mut self.0, buf, eof);
            if let Ok(Some(_)) = chunk {
                release(buf);
            }
            match chunk {
                Ok(None) => return,
                // A chunk cut short is fetched again by the next session.
                Ok(Some(c)) if !finished(c.info()) => {}
                Ok(Some(c)) if state.seen(c.fragment_number()) => {}
                Ok(Some(c)) => {
                    state.progress += 1;
                    state.frames += c.frames().len() as u64;
                    match state.complete(c.info()) {
                        Some(e) => out.push_back(Err(e)),
                        None => out.push_back(Ok(c)),
                    }
                }
                // The cut that ended the body is not an error of the stream.
                Err(Error::Decode(d))
                    if eof && matches!(d.kind, crate::DecodeErrorKind::Truncated { .. }) => {}
                Err(e) => out.push_back(Err(decode_error(e))),
            }
        }
    }
}

struct Events(EventDecoder);

impl Session for Events {
    type Out = Event;
    fn new(limits: Limits) -> Self {
        Events(EventDecoder::with_limits(limits).with_read_room(READ_ROOM))
    }
    fn start_at(&mut self, base: u64) {
        // (Not each item moved afterwards: a `Start` shares its `ChunkInfo`
        // with the decoder, and changing it would copy it.)
        self.0.start_at(base);
    }
    fn feed(
        &mut self,
        buf: &mut BytesMut,
        eof: bool,
        state: &mut Resume,
        out: &mut VecDeque<Result<Event, ClientError>>,
    ) {
        let before = buf.len();
        self.events(buf, eof, state, out);
        if buf.len() < before {
            release(buf);
        }
    }
}

impl Events {
    fn events(
        &mut self,
        buf: &mut BytesMut,
        eof: bool,
        state: &mut Resume,
        out: &mut VecDeque<Result<Event, ClientError>>,
    ) {
        while !state.full() {
            match step(&mut self.0, buf, eof) {
                Ok(None) => return,
                Ok(Some(Event::Start(info))) => {
                    let n = info.fragment_number().copied();
                    state.skip_all = state.seen(n.as_ref());
                    if state.skip_all {
                        continue;
                    }
                    // The same fragment again after a cut: skip what was out,
                    // and keep counting from there.
                    match state.partial.take() {
                        Some((Some(p), done)) if Some(p) == n => {
                            state.skipping = done;
                            state.partial = Some((n, done));
                        }
                        _ => {
                            state.skipping = 0;
                            state.partial = Some((n, 0));
                            out.push_back(Ok(Event::Start(info)));
                        }
                    }
                }
                Ok(Some(Event::Frame(f))) => {
                    if state.skip_all {
                        continue;
                    }
                    if state.skipping > 0 {
                        state.skipping -= 1;
                        continue;
                    }
                    if let Some((_, done)) = state.partial.as_mut() {
                        *done += 1;
                    }
                    state.progress += 1;
                    state.frames += 1;
                    out.push_back(Ok(Event::Frame(f)));
                }
                Ok(Some(Event::End(info))) => {
                    state.skipping = 0;
                    if std::mem::take(&mut state.skip_all) {
                        continue;
                    }
                    if !finished(&info) {
                        // Keep `partial`: the next session resends it.
                        continue;
                    }
                    state.partial = None;
                    state.progress += 1;
                    match state.complete(&info) {
                        Some(e) => out.push_back(Err(e)),
                        None => out.push_back(Ok(Event::End(info))),
                    }
                }
                Err(Error::Decode(d))
                    if eof && matches!(d.kind, crate::DecodeErrorKind::Truncated { .. }) => {}
                Err(e) => out.push_back(Err(decode_error(e))),
            }
        }
    }
}

type Opening = BoxFuture<'static, Result<Answer, Failure>>;
type Reading = BoxFuture<'static, (Incoming, Option<Result<bytes::Bytes, ClientError>>)>;

enum Phase {
    Idle,
    Waiting(Pin<Box<tokio::time::Sleep>>),
    Opening(Opening),
    Reading(Reading),
    Done,
}

/// The state machine behind [`MediaStream`] and [`MediaEvents`].
struct ResumingStream<S: Session> {
    client: Client,
    stream: StreamId,
    initial: StartSelector,
    options: GetMediaOptions,
    session: S,
    buf: BytesMut,
    resume: Resume,
    phase: Phase,
    out: VecDeque<Item<S::Out>>,
    /// The stream's one retry budget.
    budget: Budget,
    /// Why the next call is made (a reconnect's reason).
    reason: Option<ReconnectReason>,
    empty_sessions: u32,
    progress_at_open: u64,
    /// The URL of the current session.
    url: String,
    /// Bytes received by all sessions so far.
    received: u64,
    /// When the current session must complete its next chunk
    /// ([`ClientConfig::chunk_timeout`](super::ClientConfig::chunk_timeout)).
    chunk_deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Calls made, and the last one after the first.
    calls: u64,
    /// The pause before the next call (for its log).
    pause: Duration,
    last_reconnect: Option<Reconnect>,
    /// Fires at the last new item + idle_timeout. Made at the first poll:
    /// building a stream needs no runtime, only polling it does.
    idle: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Whether the stream was polled yet (the idle clock starts then).
    started: bool,
    /// The last poll handed out an item: the caller's time with it counts
    /// against neither the idle nor the chunk timeout.
    handed_out: bool,
}

/// Chunks from GetMedia, resuming by itself ([`Client::get_media`]).
pub struct MediaStream(ResumingStream<Chunks>);

/// Frame-level events from GetMedia, resuming by itself
/// ([`Client::get_media_events`]).
pub struct MediaEvents(ResumingStream<Events>);

impl MediaStream {
    /// The stream's counters so far (see [`MediaStats`]).
    pub fn stats(&self) -> MediaStats {
        self.0.stats()
    }

    /// The continuation token of the last complete chunk, to resume later.
    pub fn continuation_token(&self) -> Option<&str> {
        self.0.resume.token.as_deref()
    }

    /// How many times the stream called GetMedia again after its first call
    /// (after a session ended, broke, or a call failed). Poll it after each
    /// item.
    pub fn reconnects(&self) -> u64 {
        self.0.calls.saturating_sub(1)
    }

    /// The last call after the first: why, and from which selector.
    pub fn last_reconnect(&self) -> Option<&Reconnect> {
        self.0.last_reconnect.as_ref()
    }
}

impl MediaEvents {
    /// The stream's counters so far (see [`MediaStats`]).
    pub fn stats(&self) -> MediaStats {
        self.0.stats()
    }

    /// The continuation token of the last complete chunk, to resume later.
    pub fn continuation_token(&self) -> Option<&str> {
        self.0.resume.token.as_deref()
    }

    /// How many times the stream called GetMedia again after its first call
    /// (after a session ended, broke, or a call failed). Poll it after each
    /// item.
    pub fn reconnects(&self) -> u64 {
        self.0.calls.saturating_sub(1)
    }

    /// The last call after the first: why, and from which selector.
    pub fn last_reconnect(&self) -> Option<&Reconnect> {
        self.0.last_reconnect.as_ref()
    }
}

impl Stream for MediaStream {
    type Item = Result<Chunk, ClientError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.0).poll_next(cx)
    }
}

impl Stream for MediaEvents {
    type Item = Result<Event, ClientError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.0).poll_next(cx)
    }
}

impl Client {
    /// GetMedia from `start`: a stream of complete chunks that survives
    /// broken connections and ended sessions (see the [`client`](super)
    /// module docs for how it resumes and what bounds it).
    pub fn get_media(
        &self,
        stream: StreamId,
        start: StartSelector,
        options: GetMediaOptions,
    ) -> MediaStream {
        MediaStream(ResumingStream::new(self.clone(), stream, start, options))
    }

    /// GetMedia as frame-level events: each frame as soon as its bytes are
    /// in. Across reconnects a fragment cut short is fetched again and its
    /// frames already handed out are skipped: every frame exactly once.
    pub fn get_media_events(
        &self,
        stream: StreamId,
        start: StartSelector,
        options: GetMediaOptions,
    ) -> MediaEvents {
        MediaEvents(ResumingStream::new(self.clone(), stream, start, options))
    }
}

impl<S: Session> ResumingStream<S> {
    fn new(
        client: Client,
        stream: StreamId,
        initial: StartSelector,
        options: GetMediaOptions,
    ) -> Self {
        let max_chunks = options.max_chunks;
        let budget = client
            .budget(super::operation(Api::GetMedia, &stream))
            .without_retry_log();
        ResumingStream {
            client,
            stream,
            initial,
            session: S::new(options.limits),
            options,
            buf: BytesMut::new(),
            resume: Resume {
                max_chunks,
                ..Resume::default()
            },
            phase: Phase::Idle,
            out: VecDeque::new(),
            budget,
            reason: None,
            empty_sessions: 0,
            progress_at_open: 0,
            url: String::new(),
            received: 0,
            chunk_deadline: None,
            calls: 0,
            pause: Duration::ZERO,
            last_reconnect: None,
            idle: None,
            started: false,
            handed_out: false,
        }
    }

    fn open(&mut self) -> Result<Opening, ClientError> {
        let selector = self.resume.selector(&self.initial);
        let mut body = Map::new();
        body.insert("StartSelector".into(), selector.to_json()?);
        let body = self.client.with_stream(&self.stream, body)?;
        if self.calls > 0 {
            let reconnect = Reconnect {
                reason: self.reason.take().unwrap_or(ReconnectReason::SessionEnded),
                selector,
            };
            self.log_reconnect(&reconnect);
            self.last_reconnect = Some(reconnect);
        }
        self.calls += 1;
        let client = self.client.clone();
        let stream = self.stream.clone();
        self.progress_at_open = self.resume.progress;
        self.session = S::new(self.options.limits);
        self.buf = BytesMut::new();
        Ok(async move { client.data_attempt(&stream, Api::GetMedia, &body).await }.boxed())
    }

    /// One event per reconnect: WARN after a failure (it is the stream's
    /// retry), INFO after a session the service ended cleanly.
    fn log_reconnect(&self, r: &Reconnect) {
        let operation = self.budget.operation();
        let reconnect = self.calls;
        let delay_ms = self.pause.as_millis() as u64;
        let failures = self.budget.failures();
        match &r.reason {
            ReconnectReason::Failed(_) => tracing::warn!(
                operation,
                reconnect,
                reason = %r.reason,
                resume = %r.selector,
                delay_ms,
                failures,
                "GetMedia reconnecting"
            ),
            ReconnectReason::SessionEnded => tracing::info!(
                operation,
                reconnect,
                reason = %r.reason,
                resume = %r.selector,
                delay_ms,
                "GetMedia reconnecting"
            ),
        }
    }

    fn stats(&self) -> MediaStats {
        MediaStats {
            chunks: self.resume.delivered,
            frames: self.resume.frames,
            bytes: self.received,
            reconnects: self.calls.saturating_sub(1),
            millis_behind_now: self.resume.millis_behind_now,
            last_chunk_at: self.resume.last_chunk_at,
        }
    }

    fn read(&self, mut body: Incoming) -> Reading {
        let timeout = self.client.inner.config.read_timeout;
        let url = self.url.clone();
        async move {
            loop {
                match tokio::time::timeout(timeout, body.frame()).await {
                    Err(_) => {
                        let e = ClientError::Timeout {
                            after: timeout,
                            what: "media bytes",
                        };
                        return (body, Some(Err(e)));
                    }
                    Ok(None) => return (body, None),
                    Ok(Some(Err(e))) => {
                        let e = super::transport(&url, e);
                        return (body, Some(Err(e)));
                    }
                    Ok(Some(Ok(frame))) => {
                        if let Ok(data) = frame.into_data() {
                            return (body, Some(Ok(data)));
                        }
                    }
                }
            }
        }
        .boxed()
    }

    /// The session is over: decide whether to go on.
    fn session_ended(&mut self, failure: Option<Failure>) {
        self.chunk_deadline = None;
        let progressed = self.resume.progress > self.progress_at_open;
        if progressed {
            self.budget.progressed();
            self.empty_sessions = 0;
        } else if failure.is_none() {
            self.empty_sessions += 1;
        }
        let stop_on_error = self.resume.error_chunk && self.options.stop_on_error_chunk;
        if stop_on_error
            || self
                .options
                .stop_after_empty_sessions
                .is_some_and(|n| self.empty_sessions >= n)
        {
            self.phase = Phase::Done;
            return;
        }
        let pause = match failure {
            None => {
                self.reason = Some(ReconnectReason::SessionEnded);
                Ok(Duration::ZERO)
            }
            Some(f) => {
                self.reason = Some(ReconnectReason::Failed(f.error.to_string()));
                if progressed && f.retryable {
                    // The break came after something new: a new count.
                    Ok(self.budget.pause())
                } else {
                    self.budget.failed(f)
                }
            }
        };
        match pause {
            Ok(pause) => {
                self.pause = pause;
                self.phase = Phase::Waiting(Box::pin(tokio::time::sleep(pause)));
            }
            Err(e) => {
                self.out.push_back(Item::Out(Err(e)));
                self.phase = Phase::Done;
            }
        }
    }

    fn feed(&mut self, eof: bool) {
        let mut items = VecDeque::new();
        let delivered = self.resume.delivered;
        self.session
            .feed(&mut self.buf, eof, &mut self.resume, &mut items);
        if !items.is_empty() {
            if let (Some(sleep), Some(t)) = (self.idle.as_mut(), self.options.idle_timeout) {
                sleep.as_mut().reset(super::after(t));
            }
        }
        if self.resume.delivered > delivered {
            if let Some(deadline) = self.chunk_deadline.as_mut() {
                let t = self.client.inner.config.chunk_timeout;
                deadline.as_mut().reset(super::after(t));
            }
        }
        self.out.extend(items.into_iter().map(Item::Out));
    }

    /// Appends bytes read, keeping [`READ_ROOM`] to spare when the buffer
    /// must grow. The buffer is sized for a chunk by the decoder when the
    /// chunk's head is in (the largest of its last chunks, plus room for a
    /// read): one allocation per chunk and no copies on the way, unless the
    /// chunk is bigger than those before it.
    fn append(&mut self, data: &[u8]) {
        append(&mut self.buf, data);
    }

    /// The current session broke: what it brought is fetched again.
    fn broke(&mut self, e: ClientError) {
        self.buf = BytesMut::new();
        let f = Failure::new(self.url.clone(), e);
        self.out.push_back(Item::SessionEnd(Some(f)));
        self.phase = Phase::Idle;
    }
}

/// Lets go of a large buffer once the decoder has taken a chunk (or frames)
/// off it. Those are views of the buffer's allocation, which the buffer's
/// unused part keeps too: a session waiting for its next fragment would
/// hold a chunk's worth of memory for as long as it waits. What is left,
/// at most [`KEPT_BUFFER`] / 2 bytes, is copied to a buffer of its own
/// with [`READ_ROOM`] to spare; the allocation goes when the caller drops
/// what it was given. Called right after something was taken off, before
/// the decoder sizes the buffer for the next chunk (a buffer so grown is
/// kept).
fn release(buf: &mut BytesMut) {
    if buf.capacity() > KEPT_BUFFER && buf.len() <= KEPT_BUFFER / 2 {
        *buf = with_room(buf);
    }
}

/// `ResumingStream::append`: `data` added to `buf`, which grows with
/// [`READ_ROOM`] to spare when it must.
fn append(buf: &mut BytesMut, data: &[u8]) {
    if buf.capacity() - buf.len() < data.len() {
        if buf.is_empty() {
            *buf = with_room(data);
            return;
        }
        buf.reserve(data.len() + READ_ROOM);
    }
    buf.extend_from_slice(data);
}

/// `bytes` in a buffer of their own with [`READ_ROOM`] to spare.
fn with_room(bytes: &[u8]) -> BytesMut {
    let mut buf = BytesMut::with_capacity(bytes.len() + READ_ROOM);
    buf.extend_from_slice(bytes);
    buf
}

impl<S: Session> Unpin for ResumingStream<S> {}

impl<S: Session> Stream for ResumingStream<S> {
    type Item = Result<S::Out, ClientError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if !this.started {
            this.started = true;
            this.idle = this
                .options
                .idle_timeout
                .map(|t| Box::pin(tokio::time::sleep(t)));
        }
        if std::mem::take(&mut this.handed_out) {
            // The clocks run while the stream waits for the server, not
            // while the caller works on what it was given.
            if let (Some(idle), Some(t)) = (this.idle.as_mut(), this.options.idle_timeout) {
                idle.as_mut().reset(super::after(t));
            }
            if let Some(deadline) = this.chunk_deadline.as_mut() {
                deadline
                    .as_mut()
                    .reset(super::after(this.client.inner.config.chunk_timeout));
            }
        }
        loop {
            if this
                .options
                .max_chunks
                .is_some_and(|m| this.resume.delivered >= m)
                && this.out.is_empty()
            {
                this.phase = Phase::Done;
            }
            if let Some(item) = this.out.pop_front() {
                match item {
                    Item::Out(out) => {
                        this.handed_out = true;
                        return Poll::Ready(Some(out));
                    }
                    Item::SessionEnd(failure) => {
                        this.session_ended(failure);
                        continue;
                    }
                }
            }
            if let Some(idle) = this.idle.as_mut() {
                if idle.as_mut().poll(cx).is_ready() {
                    this.phase = Phase::Done;
                }
            }
            match &mut this.phase {
                Phase::Done => return Poll::Ready(None),
                Phase::Idle => match this.open() {
                    Ok(f) => this.phase = Phase::Opening(f),
                    Err(e) => {
                        this.phase = Phase::Done;
                        return Poll::Ready(Some(Err(e)));
                    }
                },
                Phase::Waiting(sleep) => match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => this.phase = Phase::Idle,
                    Poll::Pending => return Poll::Pending,
                },
                Phase::Opening(f) => match f.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(answer)) => {
                        this.url = answer.url;
                        this.session.start_at(this.received);
                        let t = this.client.inner.config.chunk_timeout;
                        this.chunk_deadline = Some(Box::pin(tokio::time::sleep(t)));
                        this.phase = Phase::Reading(this.read(answer.body));
                    }
                    Poll::Ready(Err(failure)) => {
                        this.out.push_back(Item::SessionEnd(Some(failure)));
                        this.phase = Phase::Idle;
                    }
                },
                Phase::Reading(f) => {
                    // A body that keeps sending bytes without completing a
                    // chunk ends here (checked before each read, so that a
                    // fast drip cannot keep it from firing).
                    let overdue = this.chunk_deadline.as_ref().is_some_and(|d| d.is_elapsed());
                    let polled = if overdue {
                        None
                    } else {
                        match f.as_mut().poll(cx) {
                            Poll::Ready(r) => Some(r),
                            Poll::Pending => {
                                let fired = this
                                    .chunk_deadline
                                    .as_mut()
                                    .is_some_and(|d| d.as_mut().poll(cx).is_ready());
                                if !fired {
                                    return Poll::Pending;
                                }
                                None
                            }
                        }
                    };
                    match polled {
                        None => {
                            let after = this.client.inner.config.chunk_timeout;
                            this.broke(ClientError::Timeout {
                                after,
                                what: "a complete chunk",
                            });
                        }
                        Some((body, Some(Ok(data)))) => {
                            this.received += data.len() as u64;
                            this.append(&data);
                            this.feed(false);
                            this.phase = Phase::Reading(this.read(body));
                        }
                        Some((_, Some(Err(e)))) => this.broke(e),
                        Some((_, None)) => {
                            this.feed(true);
                            this.out.push_back(Item::SessionEnd(None));
                            this.phase = Phase::Idle;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The buffer a session sizes for a chunk keeps room past it for one
    /// read of at most [`READ_ROOM`] (hyper's largest), not for the
    /// decoder's default 64 KiB: at most the largest chunk so far plus
    /// `READ_ROOM`, for every chunk after the first (whose size nothing
    /// tells). With the decoder's default room it is 32 KiB more.
    #[test]
    fn a_chunk_buffer_keeps_room_for_one_read() {
        // Chunks of about 300, 300, 200, 300 and 270 KB (three frames each)
        // with the sample's tracks.
        let sample =
            std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/sample.mkv")).unwrap();
        let first = crate::io::read_chunks(&sample[..]).next().unwrap().unwrap();
        let writer = crate::writer::ChunkWriter::new(crate::writer::Layout::Service);
        let mut body = Vec::new();
        for (i, size) in [100_000, 100_000, 66_000, 100_000, 90_000]
            .into_iter()
            .enumerate()
        {
            let model = crate::writer::ChunkModel {
                tracks: first.info().tracks.clone(),
                frames: (0..3)
                    .map(|k| {
                        let payload = bytes::Bytes::from(vec![i as u8; size]);
                        crate::Frame::new(payload, 1, k * 33, 1_000_000, k == 0)
                    })
                    .collect(),
                ..Default::default()
            };
            body.extend_from_slice(&writer.to_bytes(&model).unwrap());
        }
        let Chunks(mut d) = Chunks::new(Limits::default());
        let mut buf = BytesMut::new();
        let (mut chunks, mut largest, mut worst) = (0, 0, i64::MIN);
        for piece in body.chunks(READ_ROOM) {
            append(&mut buf, piece);
            while let Some(c) = d.decode(&mut buf).unwrap() {
                chunks += 1;
                largest = largest.max(c.raw().len());
                release(&mut buf);
            }
            if chunks > 0 {
                worst = worst.max(buf.capacity() as i64 - largest as i64);
            }
        }
        while let Some(c) = d.decode_eof(&mut buf).unwrap() {
            chunks += 1;
            largest = largest.max(c.raw().len());
        }
        assert_eq!(chunks, 5);
        assert!(
            worst <= READ_ROOM as i64,
            "a buffer of {worst} bytes more than the largest chunk ({largest})"
        );
    }
}
