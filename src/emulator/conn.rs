//! One connection's socket: it tells the media body when a flush completed
//! (so that a cut falls exactly after the bytes before it) and it enforces
//! the connection timeouts of [`Options`](super::Options).
//!
//! The timeouts live in the socket because that is where a connection
//! waits: hyper reads when it wants a request and writes when it has bytes,
//! and a read or write that stays pending past its deadline fails with
//! `TimedOut`, which makes hyper drop the connection (and with it the
//! response body, whose GetMedia session then frees its place).
//!
//! - **Write stall**: a write that stays pending (the peer does not read)
//!   for [`Timeouts::write_stall`] fails. Every accepted byte starts the
//!   clock again; a body that is only pausing (no bytes to write) is not
//!   stalled.
//! - **Reading a request**: between requests the connection is *waiting*;
//!   once a byte of the next request is in, its head is *arriving*; from
//!   the head on (hyper has called the service) until the response ends it
//!   is *busy*, and reads have no deadline (the body's own deadline is kept
//!   by the server). A waiting connection is closed after
//!   [`Timeouts::keep_alive`]; a head must be in [`Timeouts::header_read`]
//!   after its first byte, or after the connection opened for its first
//!   request.

use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use super::media::FlushSignal;

/// The connection timeouts; `None` waits forever.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Timeouts {
    /// The longest a pending write may wait.
    pub write_stall: Option<Duration>,
    /// The longest a request head may take to arrive.
    pub header_read: Option<Duration>,
    /// The longest a connection waits for its next request.
    pub keep_alive: Option<Duration>,
}

/// Where a connection is in its request cycle.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// No request in flight and none arriving, since `since`; `served`
    /// once a request has been answered on the connection.
    Waiting { since: Instant, served: bool },
    /// Part of a request head is in; its time counts from `since`.
    Arriving { since: Instant },
    /// Requests in flight: from their head to the end of their response.
    Busy(usize),
}

/// A connection's phase, shared by its socket and its requests.
#[derive(Debug)]
pub(crate) struct Activity {
    phase: Mutex<Phase>,
}

impl Activity {
    /// A connection opened now, waiting for its first request.
    pub fn new() -> Arc<Activity> {
        Arc::new(Activity {
            phase: Mutex::new(Phase::Waiting {
                since: Instant::now(),
                served: false,
            }),
        })
    }

    fn phase(&self) -> std::sync::MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A request's head is in: the connection is busy until the returned
    /// guard is dropped (with the response body, when the response ends).
    pub fn begin(self: &Arc<Self>) -> Busy {
        let mut phase = self.phase();
        *phase = match *phase {
            Phase::Busy(n) => Phase::Busy(n + 1),
            _ => Phase::Busy(1),
        };
        Busy(self.clone())
    }

    /// Bytes were read from the socket.
    fn received(&self) {
        let mut phase = self.phase();
        if let Phase::Waiting { since, served } = *phase {
            // A first request counts from the connection's start, the
            // next ones from their first byte.
            let since = if served { Instant::now() } else { since };
            *phase = Phase::Arriving { since };
        }
    }

    /// When a pending read gives up, if it does.
    fn read_deadline(&self, timeouts: &Timeouts) -> Option<Instant> {
        match *self.phase() {
            Phase::Busy(_) => None,
            Phase::Waiting {
                since,
                served: true,
            } => timeouts.keep_alive.and_then(|d| since.checked_add(d)),
            Phase::Waiting {
                since,
                served: false,
            }
            // A limit past what an `Instant` holds is none (`since + d`
            // panicked in the connection's task: every call failed).
            | Phase::Arriving { since } => timeouts.header_read.and_then(|d| since.checked_add(d)),
        }
    }
}

/// A request in flight (see [`Activity::begin`]).
#[derive(Debug)]
pub(crate) struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        let mut phase = self.0.phase();
        *phase = match *phase {
            Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
            _ => Phase::Waiting {
                since: Instant::now(),
                served: true,
            },
        };
    }
}

/// A deadline polled from inside `poll_read` / `poll_write`: a sleep
/// created once and reset, so that hyper's task wakes when it passes.
#[derive(Debug, Default)]
struct Timer(Option<Pin<Box<Sleep>>>);

impl Timer {
    /// Whether `deadline` has passed; otherwise the task wakes when it does.
    fn expired(&mut self, deadline: Instant, cx: &mut Context<'_>) -> bool {
        if Instant::now() >= deadline {
            return true;
        }
        let sleep = match &mut self.0 {
            Some(sleep) => {
                if sleep.deadline() != deadline {
                    sleep.as_mut().reset(deadline);
                }
                sleep
            }
            None => self.0.insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        sleep.as_mut().poll(cx).is_ready()
    }
}

/// The socket of one connection (see the module documentation).
pub(crate) struct Socket {
    inner: TcpStream,
    signal: Arc<FlushSignal>,
    activity: Arc<Activity>,
    timeouts: Timeouts,
    read_timer: Timer,
    write_timer: Timer,
    /// When the pending write gives up; `None` when no write is pending.
    write_deadline: Option<Instant>,
}

impl Socket {
    pub fn new(
        inner: TcpStream,
        signal: Arc<FlushSignal>,
        activity: Arc<Activity>,
        timeouts: Timeouts,
    ) -> Socket {
        Socket {
            inner,
            signal,
            activity,
            timeouts,
            read_timer: Timer::default(),
            write_timer: Timer::default(),
            write_deadline: None,
        }
    }

    fn read_timed_out(&mut self, cx: &mut Context<'_>) -> bool {
        match self.activity.read_deadline(&self.timeouts) {
            Some(deadline) => self.read_timer.expired(deadline, cx),
            None => false,
        }
    }

    /// A write stayed pending: fails once it has for the stall timeout.
    fn write_pending<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let Some(limit) = self.timeouts.write_stall else {
            return Poll::Pending;
        };
        let deadline = match self.write_deadline {
            Some(deadline) => deadline,
            // A limit past what an `Instant` holds is none.
            None => match Instant::now().checked_add(limit) {
                Some(deadline) => *self.write_deadline.insert(deadline),
                None => return Poll::Pending,
            },
        };
        if self.write_timer.expired(deadline, cx) {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the client took no bytes for {:.1} s", limit.as_secs_f64()),
            )));
        }
        Poll::Pending
    }

    /// A write's result: bytes taken end a stall.
    fn written(
        &mut self,
        result: Poll<io::Result<usize>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<usize>> {
        match result {
            Poll::Pending => self.write_pending(cx),
            ready => {
                self.write_deadline = None;
                ready
            }
        }
    }
}

fn read_timeout() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        "no complete request in time on an idle connection",
    )
}

impl AsyncRead for Socket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        // Checked before reading too: a head dripped byte by byte must not
        // keep the connection by always having a byte ready.
        if this
            .activity
            .read_deadline(&this.timeouts)
            .is_some_and(|d| Instant::now() >= d)
        {
            return Poll::Ready(Err(read_timeout()));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.activity.received();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending if this.read_timed_out(cx) => Poll::Ready(Err(read_timeout())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.written(result, cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.written(result, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let flushed = Pin::new(&mut self.inner).poll_flush(cx);
        match flushed {
            Poll::Ready(result) => {
                self.signal.flushed();
                Poll::Ready(result)
            }
            Poll::Pending => self.write_pending(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_shutdown(cx) {
            Poll::Pending => self.write_pending(cx),
            ready => ready,
        }
    }
}
