//! SIGINT and SIGTERM for the commands that take a stream: the first one
//! stops taking chunks so that the `--save` file can be finished; a second
//! one exits at once.

use std::io;

use tokio::sync::oneshot;

/// A signal that asked the program to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stop {
    /// `SIGINT` or `SIGTERM`.
    pub name: &'static str,
    /// The exit status a shell reports for it: 128 + the signal number.
    pub status: u8,
}

const SIGINT: Stop = Stop {
    name: "SIGINT",
    status: 130,
};
#[cfg(unix)]
const SIGTERM: Stop = Stop {
    name: "SIGTERM",
    status: 143,
};

/// SIGINT (Ctrl-C) and, on Unix, SIGTERM, caught from the moment this is
/// made (inside a tokio runtime). Once made, these signals no longer end
/// the program by themselves: the caller decides.
pub struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    pub fn new() -> io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Signals {
                int: signal(SignalKind::interrupt())?,
                term: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Signals {})
        }
    }

    /// The next signal.
    pub async fn recv(&mut self) -> Stop {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.int.recv() => SIGINT,
                _ = self.term.recv() => SIGTERM,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            SIGINT
        }
    }

    /// Watches for signals on a task of its own: the first one is sent on
    /// the channel returned, a second one exits at once with its own
    /// status, whatever the program is doing (finishing a file on a slow
    /// disk, or blocked writing to a pipe that nobody reads). Call it inside
    /// a multi-threaded tokio runtime, so that the watcher runs even while
    /// the caller's thread is blocked.
    pub fn watch(mut self) -> oneshot::Receiver<Stop> {
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            let first = self.recv().await;
            crate::out::say(format_args!(
                "{}: stopping (send it again to stop at once)",
                first.name
            ));
            let _ = tx.send(first);
            let second = self.recv().await;
            crate::out::say(format_args!(
                "{} again: stopping without finishing",
                second.name
            ));
            std::process::exit(i32::from(second.status));
        });
        rx
    }
}
