//! Media responses (GetMedia, GetMediaForFragmentList): a streamed body that
//! a task fills chunk by chunk, and where the faults cut or stall it.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{mpsc, watch};

use super::faults::BodyPlan;
use super::select::Start;
use super::splice;
use super::store::Stream;
use super::throttle::SessionGuard;
use super::Clock;
use crate::kvs::names;

/// The error type of response bodies.
pub(crate) type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// The text and id of the GetMedia error for a fragment that does not exist
/// (and the GetMediaForFragmentList exception code used for the same).
pub(crate) const NOT_FOUND_ID: &str = "4000";
pub(crate) const NOT_FOUND_TEXT: &str = "Requested fragment is not found";

/// The connection was cut on purpose.
#[derive(Debug)]
struct Cut;

impl fmt::Display for Cut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection cut by an injected fault")
    }
}

impl std::error::Error for Cut {}

/// What the writer hands the body.
#[derive(Debug)]
enum Item {
    Data(Bytes),
    /// Drop the connection once everything before is on the wire.
    Cut,
}

/// Counts the flushes of one connection's socket. hyper flushes the socket
/// only once its write buffer is empty, so a flush after a cut was asked
/// for means every byte before the cut has been written.
#[derive(Debug, Default)]
pub(crate) struct FlushSignal {
    flushes: AtomicU64,
    waker: Mutex<Option<Waker>>,
}

impl FlushSignal {
    /// Called by the socket after each completed flush.
    pub fn flushed(&self) {
        self.flushes.fetch_add(1, Ordering::SeqCst);
        let waker = self.waker.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn count(&self) -> u64 {
        self.flushes.load(Ordering::SeqCst)
    }

    fn register(&self, waker: &Waker) {
        *self.waker.lock().unwrap_or_else(|e| e.into_inner()) = Some(waker.clone());
    }
}

/// A response body fed through a channel. A cut makes the body fail once
/// the bytes before it are flushed; hyper then drops the connection without
/// finishing the chunked body.
#[derive(Debug)]
pub(crate) struct ChannelBody {
    rx: mpsc::Receiver<Item>,
    signal: Arc<FlushSignal>,
    /// The flush count when the cut was asked for.
    cutting: Option<u64>,
}

impl ChannelBody {
    fn poll_cut(
        &mut self,
        cx: &mut Context<'_>,
        since: u64,
    ) -> Poll<Option<Result<Bytes, BodyError>>> {
        if self.signal.count() > since {
            return Poll::Ready(Some(Err(Box::new(Cut))));
        }
        self.signal.register(cx.waker());
        if self.signal.count() > since {
            return Poll::Ready(Some(Err(Box::new(Cut))));
        }
        Poll::Pending
    }

    /// The next bytes of the body, `None` at its end, or the error of a
    /// cut (once the bytes before it are flushed).
    pub fn poll_data(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, BodyError>>> {
        if let Some(since) = self.cutting {
            return self.poll_cut(cx, since);
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(Item::Data(data))) => Poll::Ready(Some(Ok(data))),
            Poll::Ready(Some(Item::Cut)) => {
                let since = self.signal.count();
                self.cutting = Some(since);
                self.poll_cut(cx, since)
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Why a body stops early: the client went away, a cut, or shutdown.
#[derive(Debug)]
pub(crate) struct Stop;

/// Writes a media body chunk by chunk and applies the faults of its plan.
pub(crate) struct BodyWriter {
    tx: mpsc::Sender<Item>,
    shutdown: watch::Receiver<bool>,
    /// Bytes written so far.
    pos: u64,
    /// Chunks begun so far.
    chunks: usize,
    /// Byte offsets where the connection is cut (the earliest wins).
    cuts: Vec<u64>,
    /// Byte offsets where the body pauses.
    stalls: Vec<(u64, Duration)>,
    plan: BodyPlan,
}

impl BodyWriter {
    /// A writer and the body it feeds, on a connection whose flushes
    /// `signal` counts.
    pub fn new(
        plan: BodyPlan,
        shutdown: watch::Receiver<bool>,
        signal: Arc<FlushSignal>,
    ) -> (BodyWriter, ChannelBody) {
        let (tx, rx) = mpsc::channel(4);
        let writer = BodyWriter {
            tx,
            shutdown,
            pos: 0,
            chunks: 0,
            cuts: plan.cut_at.clone(),
            stalls: plan.stall_at.clone(),
            plan,
        };
        let body = ChannelBody {
            rx,
            signal,
            cutting: None,
        };
        (writer, body)
    }

    /// Writes one chunk made of `pieces`.
    pub async fn chunk(&mut self, pieces: &[Bytes]) -> Result<(), Stop> {
        let len: u64 = pieces.iter().map(|p| p.len() as u64).sum();
        let middle = self.pos + len / 2;
        let k = self.chunks;
        self.chunks += 1;
        if self.plan.cut_in_chunk.contains(&k) {
            self.cuts.push(middle);
        }
        for &(chunk, d) in &self.plan.stall_in_chunk {
            if chunk == k {
                self.stalls.push((middle, d));
            }
        }
        for piece in pieces {
            self.write(piece.clone()).await?;
        }
        Ok(())
    }

    async fn write(&mut self, mut data: Bytes) -> Result<(), Stop> {
        loop {
            let end = self.pos + data.len() as u64;
            let cut = self
                .cuts
                .iter()
                .copied()
                .filter(|&c| c >= self.pos && c < end)
                .min();
            let stall = self
                .stalls
                .iter()
                .enumerate()
                .filter(|(_, s)| s.0 >= self.pos && s.0 < end)
                .min_by_key(|(_, s)| s.0)
                .map(|(i, s)| (i, *s));
            let stall_first = match (cut, stall) {
                (_, None) => false,
                (None, Some(_)) => true,
                (Some(c), Some((_, (at, _)))) => at < c,
            };
            if stall_first {
                let (i, (at, d)) = stall.expect("a stall");
                let head = data.split_to((at - self.pos) as usize);
                self.send(head).await?;
                self.stalls.remove(i);
                self.pause(d).await?;
            } else if let Some(c) = cut {
                let head = data.split_to((c - self.pos) as usize);
                self.send(head).await?;
                let _ = self.tx.send(Item::Cut).await;
                return Err(Stop);
            } else {
                return self.send(data).await;
            }
        }
    }

    async fn send(&mut self, data: Bytes) -> Result<(), Stop> {
        if data.is_empty() {
            return Ok(());
        }
        let len = data.len() as u64;
        tokio::select! {
            sent = self.tx.send(Item::Data(data)) => sent.map_err(|_| Stop)?,
            _ = self.shutdown.changed() => return Err(Stop),
        }
        self.pos += len;
        Ok(())
    }

    /// Waits, unless the client goes away or the server shuts down.
    pub async fn pause(&mut self, d: Duration) -> Result<(), Stop> {
        tokio::select! {
            _ = tokio::time::sleep(d) => Ok(()),
            _ = self.tx.closed() => Err(Stop),
            _ = self.shutdown.changed() => Err(Stop),
        }
    }
}

/// A media response as an operation answers it: what to stream, and the
/// faults its body gets. The server feeds it to a [`BodyWriter`].
#[derive(Debug)]
pub(crate) struct MediaReply {
    pub job: MediaJob,
    pub plan: BodyPlan,
}

/// What a media body streams.
#[derive(Debug)]
pub(crate) enum MediaJob {
    /// GetMedia chunks from a start, with fresh trailing tags.
    GetMedia {
        stream: Arc<Stream>,
        session: GetMediaSession,
    },
    /// GetMediaForFragmentList: the listed fragments, in request order,
    /// among the first `available`.
    FragmentList {
        stream: Arc<Stream>,
        numbers: Vec<String>,
        available: u64,
    },
}

impl MediaJob {
    /// Writes the whole body (until it ends, the client goes away, a cut
    /// or shutdown).
    pub async fn run(self, writer: BodyWriter) {
        match self {
            MediaJob::GetMedia { stream, session } => get_media(stream, session, writer).await,
            MediaJob::FragmentList {
                stream,
                numbers,
                available,
            } => fragment_list(stream, numbers, available, writer).await,
        }
    }
}

/// What a GetMedia body needs besides the stream.
#[derive(Debug)]
pub(crate) struct GetMediaSession {
    pub start: Start,
    pub idle_timeout: Duration,
    pub end_after: Option<Duration>,
    pub clock: Clock,
    pub guard: SessionGuard,
}

/// Streams GetMedia chunks from `start`: each chunk ends with fresh
/// MILLIS_BEHIND_NOW and CONTINUATION_TOKEN tags. A static stream ends
/// after the idle timeout once every fragment is sent; a live stream waits
/// for each fragment to be complete.
async fn get_media(stream: Arc<Stream>, session: GetMediaSession, mut w: BodyWriter) {
    let _guard = session.guard;
    let timeline = &stream.timeline;
    // A time past what an `Instant` holds never comes (`now + d` panicked
    // in the session's task).
    let deadline = session
        .end_after
        .and_then(|d| Instant::now().checked_add(d));
    let (mut next, mut skip) = match session.start {
        Start::At(g) => (g, None),
        Start::Timestamp { kind, t, from } => (from, Some((kind, t))),
        Start::NotFound(_) => {
            let chunk = splice::tags_only_chunk(&[
                (names::ERROR_CODE, NOT_FOUND_TEXT),
                (names::ERROR_ID, NOT_FOUND_ID),
            ]);
            let _ = w.chunk(&[chunk]).await;
            return;
        }
    };
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return;
        }
        let now = session.clock.now_ms();
        if next < timeline.available(now) {
            let f = timeline.fragment(next);
            next += 1;
            if let Some((kind, t)) = skip {
                if f.ts(kind).saturating_add(f.duration_ms) <= t {
                    continue;
                }
                skip = None;
            }
            let [head, tags, media] = timeline.chunk(&f);
            let behind = timeline.millis_behind(&f, now).to_string();
            let trailer = splice::tags(&[
                (names::MILLIS_BEHIND_NOW, &behind),
                (names::CONTINUATION_TOKEN, f.number.as_str()),
            ]);
            if w.chunk(&[head, tags, media, trailer]).await.is_err() {
                return;
            }
            continue;
        }
        let mut wait = if timeline.is_live() {
            session
                .clock
                .real_until(timeline.available_at(next).saturating_sub(now))
        } else {
            session.idle_timeout
        };
        if let Some(d) = deadline {
            wait = wait.min(d.saturating_duration_since(Instant::now()));
        }
        if w.pause(wait).await.is_err() || !timeline.is_live() {
            return;
        }
    }
}

/// Streams the listed fragments in request order, without trailing tags; a
/// fragment that does not exist gets a chunk with
/// AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE 4000 and a message.
async fn fragment_list(
    stream: Arc<Stream>,
    numbers: Vec<String>,
    available: u64,
    mut w: BodyWriter,
) {
    let timeline = &stream.timeline;
    for number in numbers {
        let chunk = match timeline.lookup(&number).filter(|&g| g < available) {
            Some(g) => timeline.chunk(&timeline.fragment(g)).to_vec(),
            None => vec![splice::tags_only_chunk(&[
                (names::FRAGMENT_NUMBER, &number),
                (names::EXCEPTION_ERROR_CODE, NOT_FOUND_ID),
                (names::EXCEPTION_MESSAGE, NOT_FOUND_TEXT),
            ])],
        };
        if w.chunk(&chunk).await.is_err() {
            return;
        }
    }
}
