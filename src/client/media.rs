//! GetMedia as a stream of chunks that resumes by itself, its frame-level
//! variant, and GetMediaForFragmentList.
//!
//! Resuming: when a body ends or the connection breaks, the partial chunk is
//! dropped and GetMedia is called again from the last complete chunk's
//! continuation token (or, without one, from its fragment number), after a
//! backoff with jitter, under the limit of 5 calls per second per stream.
//! Fragments already delivered are skipped, so every complete fragment is
//! delivered exactly once and in order across reconnects.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use futures_core::Stream;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::Map;
use tokio_util::codec::Decoder;

use super::model::StartSelector;
use super::retry::backoff;
use super::{Api, Client, ClientError, StreamId};
use crate::{Chunk, ChunkDecoder, Error, Event, EventDecoder, FragmentNumber, Limits};

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
    /// The session ended (cleanly or not); `broken` when not cleanly.
    SessionEnd {
        broken: bool,
    },
}

/// Turns response bodies into items; one implementation per decoder.
trait Session: Send + 'static {
    type Out: Send + 'static;
    fn new(limits: Limits) -> Self;
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
            (None, Some(n)) => StartSelector::FragmentNumber(n.to_string()),
            (None, None) => initial.clone(),
        }
    }

    /// A complete chunk's tags: returns the error to hand out, if any.
    fn complete(&mut self, info: &crate::ChunkInfo) -> Option<ClientError> {
        if let Some(t) = &info.aws.continuation_token {
            self.token = Some(t.clone());
        }
        if let Some(n) = info.fragment_number() {
            self.last = Some(*n);
        }
        self.delivered += 1;
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
        Error::Io(io) => ClientError::Transport {
            endpoint: "media body".into(),
            message: io.to_string(),
        },
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
        Chunks(ChunkDecoder::with_limits(limits))
    }
    fn feed(
        &mut self,
        buf: &mut BytesMut,
        eof: bool,
        state: &mut Resume,
        out: &mut VecDeque<Result<Chunk, ClientError>>,
    ) {
        while !state.full() {
            match step(&mut self.0, buf, eof) {
                Ok(None) => return,
                // A chunk cut short is fetched again by the next session.
                Ok(Some(c)) if !finished(c.info()) => {}
                Ok(Some(c)) if state.seen(c.fragment_number()) => {}
                Ok(Some(c)) => {
                    state.progress += 1;
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
        Events(EventDecoder::with_limits(limits))
    }
    fn feed(
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

type Opening = BoxFuture<'static, Result<Incoming, ClientError>>;
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
    failures: u32,
    /// Why the last session broke, reported if the stream gives up.
    last_failure: Option<ClientError>,
    empty_sessions: u32,
    progress_at_open: u64,
    last_progress: Instant,
    /// Fires at `last_progress + idle_timeout`. Made at the first poll:
    /// building a stream needs no runtime, only polling it does.
    idle: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Whether the stream was polled yet (the idle clock starts then).
    started: bool,
}

/// Chunks from GetMedia, resuming by itself ([`Client::get_media`]).
pub struct MediaStream(ResumingStream<Chunks>);

/// Frame-level events from GetMedia, resuming by itself
/// ([`Client::get_media_events`]).
pub struct MediaEvents(ResumingStream<Events>);

impl MediaStream {
    /// The continuation token of the last complete chunk, to resume later.
    pub fn continuation_token(&self) -> Option<&str> {
        self.0.resume.token.as_deref()
    }
}

impl MediaEvents {
    /// The continuation token of the last complete chunk, to resume later.
    pub fn continuation_token(&self) -> Option<&str> {
        self.0.resume.token.as_deref()
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
    /// broken connections and ended sessions (see the module docs).
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
            failures: 0,
            last_failure: None,
            empty_sessions: 0,
            progress_at_open: 0,
            last_progress: Instant::now(),
            idle: None,
            started: false,
        }
    }

    fn open(&mut self) -> Result<Opening, ClientError> {
        let selector = self.resume.selector(&self.initial).to_json()?;
        let mut body = Map::new();
        body.insert("StartSelector".into(), selector);
        let client = self.client.clone();
        let stream = self.stream.clone();
        self.progress_at_open = self.resume.progress;
        self.session = S::new(self.options.limits);
        self.buf.clear();
        Ok(async move { client.media_call(&stream, Api::GetMedia, body).await }.boxed())
    }

    fn read(&self, mut body: Incoming) -> Reading {
        let timeout = self.client.inner.config.read_timeout;
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
                        let e = super::transport("GetMedia body", &e);
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
    fn session_ended(&mut self, broken: bool) {
        let progressed = self.resume.progress > self.progress_at_open;
        if progressed {
            self.failures = 0;
            self.empty_sessions = 0;
        } else if broken {
            self.failures += 1;
        } else {
            self.empty_sessions += 1;
        }
        let policy = self.client.inner.config.retry;
        let stop_on_error = self.resume.error_chunk && self.options.stop_on_error_chunk;
        if stop_on_error
            || self
                .options
                .stop_after_empty_sessions
                .is_some_and(|n| self.empty_sessions >= n)
        {
            self.phase = Phase::Done;
        } else if self.failures >= policy.max_attempts {
            let last = self.last_failure.take().unwrap_or(ClientError::Timeout {
                after: self.last_progress.elapsed(),
                what: "GetMedia to make progress",
            });
            self.out
                .push_back(Item::Out(Err(ClientError::RetriesExhausted {
                    attempts: self.failures,
                    last: Box::new(last),
                })));
            self.phase = Phase::Done;
        } else {
            let delay = if broken {
                backoff(&policy, self.failures)
            } else {
                Duration::ZERO
            };
            self.phase = Phase::Waiting(Box::pin(tokio::time::sleep(delay)));
        }
    }

    fn feed(&mut self, eof: bool) {
        let mut items = VecDeque::new();
        self.session
            .feed(&mut self.buf, eof, &mut self.resume, &mut items);
        if !items.is_empty() {
            self.last_progress = Instant::now();
            if let (Some(sleep), Some(t)) = (self.idle.as_mut(), self.options.idle_timeout) {
                sleep.as_mut().reset(tokio::time::Instant::now() + t);
            }
        }
        self.out.extend(items.into_iter().map(Item::Out));
    }
}

impl<S: Session> Unpin for ResumingStream<S> {}

impl<S: Session> Stream for ResumingStream<S> {
    type Item = Result<S::Out, ClientError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if !this.started {
            this.started = true;
            this.last_progress = Instant::now();
            this.idle = this
                .options
                .idle_timeout
                .map(|t| Box::pin(tokio::time::sleep(t)));
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
                    Item::Out(out) => return Poll::Ready(Some(out)),
                    Item::SessionEnd { broken } => {
                        this.session_ended(broken);
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
                    Poll::Ready(Ok(body)) => this.phase = Phase::Reading(this.read(body)),
                    Poll::Ready(Err(e))
                        if e.is_retryable()
                            || matches!(&e, ClientError::RetriesExhausted { last, .. } if last.is_retryable()) =>
                    {
                        // Retries inside the call ran out; keep trying as a
                        // broken session (counts against max_attempts).
                        this.last_failure = Some(e);
                        this.out.push_back(Item::SessionEnd { broken: true });
                        this.phase = Phase::Idle;
                    }
                    Poll::Ready(Err(e)) => {
                        this.phase = Phase::Done;
                        return Poll::Ready(Some(Err(e)));
                    }
                },
                Phase::Reading(f) => match f.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready((body, Some(Ok(data)))) => {
                        if this.buf.is_empty() {
                            match data.try_into_mut() {
                                Ok(owned) => this.buf = owned,
                                Err(data) => this.buf.extend_from_slice(&data),
                            }
                        } else {
                            this.buf.extend_from_slice(&data);
                        }
                        this.feed(false);
                        this.phase = Phase::Reading(this.read(body));
                    }
                    Poll::Ready((_, end)) => {
                        let broken = end.is_some();
                        if let Some(Err(e)) = end {
                            this.last_failure = Some(e);
                        }
                        if broken {
                            // What came before the break is fetched again.
                            this.buf.clear();
                        } else {
                            this.feed(true);
                        }
                        this.out.push_back(Item::SessionEnd { broken });
                        this.phase = Phase::Idle;
                    }
                },
            }
        }
    }
}
