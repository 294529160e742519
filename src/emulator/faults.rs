//! Fault injection, for testing clients: deterministic, counted per fault.
//!
//! Each [`Fault`] applies to the requests of its operations, either to every
//! such request or to the first `N` only ([`Fault::first`]). Faults that
//! answer instead of the service (throttling, server errors, not authorized)
//! are counted after the signature check and before the arguments are read;
//! faults on the media body (cuts, stalls, session ends) are counted when a
//! media response starts, whether or not the body gets as far as the fault.
//!
//! The same faults are written on the command line as `--fault SPEC` (see
//! [`Fault`]'s `FromStr`).

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::wire::{ApiError, Operation};

/// What goes wrong.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum FaultKind {
    /// Close the connection after this many body bytes (the chunked body is
    /// not terminated: the client sees a broken transfer).
    CutAfterBytes(u64),
    /// Close the connection in the middle of this chunk of the body
    /// (0-based).
    CutInChunk(usize),
    /// Send nothing for a while after this many body bytes.
    StallAfterBytes {
        /// Where the pause starts.
        bytes: u64,
        /// How long it lasts.
        duration: Duration,
    },
    /// Send nothing for a while in the middle of this chunk (0-based).
    StallInChunk {
        /// Which chunk.
        chunk: usize,
        /// How long the pause lasts.
        duration: Duration,
    },
    /// Answer `ClientLimitExceededException` (HTTP 400).
    Throttle,
    /// Answer this 5xx status (`ServiceUnavailableException` for 503,
    /// `InternalFailure` otherwise).
    ServerError(u16),
    /// Answer `NotAuthorizedException` (HTTP 401).
    NotAuthorized,
    /// End a GetMedia response cleanly (after the chunk being sent) once it
    /// has lasted this long, as the service ends long sessions.
    EndSessionAfter(Duration),
}

impl FaultKind {
    fn on_body(self) -> bool {
        !matches!(
            self,
            FaultKind::Throttle | FaultKind::ServerError(_) | FaultKind::NotAuthorized
        )
    }
}

/// One fault and the requests it applies to.
///
/// ```
/// use std::time::Duration;
/// use kvs_mkv::emulator::{Fault, Operation};
///
/// // Every GetMedia and GetMediaForFragmentList response is cut halfway
/// // through its second chunk, for the first 100 such requests.
/// let cut = Fault::cut_in_chunk(1).first(100);
/// // The first 3 GetMedia calls are throttled.
/// let throttle = Fault::throttle().first(3).operations(&[Operation::GetMedia]);
/// // The same, written as on the command line.
/// assert_eq!("cut-in-chunk=1,times=100".parse::<Fault>(), Ok(cut));
/// assert_eq!("throttle,times=3,op=GetMedia".parse::<Fault>(), Ok(throttle));
/// let stall: Fault = "stall-after-bytes=1000,for=2.5".parse().unwrap();
/// assert_eq!(stall, Fault::stall_after_bytes(1000, Duration::from_millis(2500)));
/// ```
///
/// # Command-line form
///
/// `KIND[=VALUE][,times=N][,for=SECS][,op=OP[+OP...]]`, where KIND is one of
/// `cut-after-bytes=N`, `cut-in-chunk=K`, `stall-after-bytes=N`,
/// `stall-in-chunk=K` (pause for `for` seconds, default 10),
/// `throttle`, `error=STATUS` (default 500), `not-authorized`,
/// `end-session-after=SECS`. `times=N` limits the fault to the first N
/// matching requests (default: every request). `op` names the operations
/// (`GetMedia`, `get-media-for-fragment-list`, ...); by default a fault
/// applies to GetMedia and GetMediaForFragmentList (`end-session-after`:
/// GetMedia only). Body faults apply to those two operations only.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    kind: FaultKind,
    first: Option<u64>,
    operations: Vec<Operation>,
}

impl Fault {
    /// A fault for every request of its default operations.
    pub fn new(kind: FaultKind) -> Fault {
        let operations = match kind {
            FaultKind::EndSessionAfter(_) => vec![Operation::GetMedia],
            _ => vec![Operation::GetMedia, Operation::GetMediaForFragmentList],
        };
        Fault {
            kind,
            first: None,
            operations,
        }
    }

    /// [`FaultKind::CutAfterBytes`].
    pub fn cut_after_bytes(bytes: u64) -> Fault {
        Fault::new(FaultKind::CutAfterBytes(bytes))
    }

    /// [`FaultKind::CutInChunk`].
    pub fn cut_in_chunk(chunk: usize) -> Fault {
        Fault::new(FaultKind::CutInChunk(chunk))
    }

    /// [`FaultKind::StallAfterBytes`].
    pub fn stall_after_bytes(bytes: u64, duration: Duration) -> Fault {
        Fault::new(FaultKind::StallAfterBytes { bytes, duration })
    }

    /// [`FaultKind::StallInChunk`].
    pub fn stall_in_chunk(chunk: usize, duration: Duration) -> Fault {
        Fault::new(FaultKind::StallInChunk { chunk, duration })
    }

    /// [`FaultKind::Throttle`].
    pub fn throttle() -> Fault {
        Fault::new(FaultKind::Throttle)
    }

    /// [`FaultKind::ServerError`].
    pub fn server_error(status: u16) -> Fault {
        Fault::new(FaultKind::ServerError(status))
    }

    /// [`FaultKind::NotAuthorized`].
    pub fn not_authorized() -> Fault {
        Fault::new(FaultKind::NotAuthorized)
    }

    /// [`FaultKind::EndSessionAfter`].
    pub fn end_session_after(duration: Duration) -> Fault {
        Fault::new(FaultKind::EndSessionAfter(duration))
    }

    /// Only the first `n` matching requests get the fault.
    pub fn first(mut self, n: u64) -> Fault {
        self.first = Some(n);
        self
    }

    /// The operations whose requests get the fault.
    pub fn operations(mut self, operations: &[Operation]) -> Fault {
        self.operations = operations.to_vec();
        self
    }

    /// What goes wrong.
    pub fn kind(&self) -> FaultKind {
        self.kind
    }

    /// How many requests get it (`None`: every one).
    pub fn limit(&self) -> Option<u64> {
        self.first
    }

    fn applies_to(&self, op: Operation) -> bool {
        self.operations.contains(&op) && (!self.kind.on_body() || op.streams_media())
    }
}

impl FromStr for Fault {
    type Err = String;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let mut parts = spec.split(',').map(str::trim);
        let head = parts.next().unwrap_or_default();
        let (kind, value) = match head.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (head, None),
        };
        let mut first = None;
        let mut stall_for = Duration::from_secs(10);
        let mut operations = None;
        for option in parts {
            let (key, v) = option
                .split_once('=')
                .ok_or_else(|| format!("fault option {option:?} is not KEY=VALUE"))?;
            match key {
                "times" => first = Some(parse_num::<u64>(v, "times")?),
                "for" => stall_for = parse_secs(v)?,
                "op" => {
                    operations = Some(
                        v.split('+')
                            .map(str::parse::<Operation>)
                            .collect::<Result<Vec<_>, _>>()?,
                    )
                }
                _ => return Err(format!("unknown fault option {key:?}")),
            }
        }
        let need = |what: &str| value.ok_or_else(|| format!("{kind} needs ={what}"));
        let kind = match kind {
            "cut-after-bytes" => FaultKind::CutAfterBytes(parse_num(need("BYTES")?, kind)?),
            "cut-in-chunk" => FaultKind::CutInChunk(parse_num(need("CHUNK")?, kind)?),
            "stall-after-bytes" => FaultKind::StallAfterBytes {
                bytes: parse_num(need("BYTES")?, kind)?,
                duration: stall_for,
            },
            "stall-in-chunk" => FaultKind::StallInChunk {
                chunk: parse_num(need("CHUNK")?, kind)?,
                duration: stall_for,
            },
            "throttle" => FaultKind::Throttle,
            "error" => {
                let status = value.map_or(Ok(500), |v| parse_num::<u16>(v, kind))?;
                if !(500..=599).contains(&status) {
                    return Err(format!("error={status}: the status must be 5xx"));
                }
                FaultKind::ServerError(status)
            }
            "not-authorized" => FaultKind::NotAuthorized,
            "end-session-after" => FaultKind::EndSessionAfter(parse_secs(need("SECS")?)?),
            other => return Err(format!("unknown fault {other:?}")),
        };
        let mut fault = Fault::new(kind);
        fault.first = first;
        if let Some(ops) = operations {
            if kind.on_body() && !ops.iter().all(|op| op.streams_media()) {
                return Err(format!(
                    "{spec}: body faults apply to GetMedia and GetMediaForFragmentList only"
                ));
            }
            fault.operations = ops;
        }
        Ok(fault)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            FaultKind::CutAfterBytes(n) => write!(f, "cut-after-bytes={n}")?,
            FaultKind::CutInChunk(k) => write!(f, "cut-in-chunk={k}")?,
            FaultKind::StallAfterBytes { bytes, duration } => write!(
                f,
                "stall-after-bytes={bytes},for={}",
                duration.as_secs_f64()
            )?,
            FaultKind::StallInChunk { chunk, duration } => {
                write!(f, "stall-in-chunk={chunk},for={}", duration.as_secs_f64())?
            }
            FaultKind::Throttle => f.write_str("throttle")?,
            FaultKind::ServerError(s) => write!(f, "error={s}")?,
            FaultKind::NotAuthorized => f.write_str("not-authorized")?,
            FaultKind::EndSessionAfter(d) => write!(f, "end-session-after={}", d.as_secs_f64())?,
        }
        if let Some(n) = self.first {
            write!(f, ",times={n}")?;
        }
        let ops: Vec<&str> = self.operations.iter().map(|op| op.name()).collect();
        write!(f, ",op={}", ops.join("+"))
    }
}

fn parse_num<T: FromStr>(v: &str, what: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("{what}: {v:?} is not a non-negative integer"))
}

/// Seconds, with an optional fraction.
pub(crate) fn parse_secs(v: &str) -> Result<Duration, String> {
    let v = v.strip_suffix('s').unwrap_or(v);
    let secs: f64 = v
        .parse()
        .map_err(|_| format!("{v:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(secs).map_err(|_| format!("{v:?} is not a number of seconds"))
}

/// What the faults make of one media response.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct BodyPlan {
    /// Byte offsets where the connection is cut.
    pub cut_at: Vec<u64>,
    /// Chunks in whose middle the connection is cut.
    pub cut_in_chunk: Vec<usize>,
    /// Pauses at byte offsets.
    pub stall_at: Vec<(u64, Duration)>,
    /// Pauses in the middle of chunks.
    pub stall_in_chunk: Vec<(usize, Duration)>,
    /// When a GetMedia response ends.
    pub end_after: Option<Duration>,
}

/// The configured faults with their counters.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    entries: Vec<(Fault, AtomicU64)>,
}

impl Faults {
    pub fn new(faults: &[Fault]) -> Faults {
        Faults {
            entries: faults
                .iter()
                .map(|f| (f.clone(), AtomicU64::new(0)))
                .collect(),
        }
    }

    /// Counts the request against the fault; whether it fires.
    fn take(fault: &Fault, counter: &AtomicU64) -> bool {
        let seen = counter.fetch_add(1, Ordering::SeqCst);
        fault.first.is_none_or(|n| seen < n)
    }

    /// An answer that replaces the service's, if a fault says so.
    pub fn before_response(&self, op: Operation) -> Option<ApiError> {
        for (fault, counter) in &self.entries {
            if fault.kind.on_body() || !fault.applies_to(op) || !Self::take(fault, counter) {
                continue;
            }
            return Some(match fault.kind {
                FaultKind::Throttle => ApiError::client_limit(
                    "injected fault: the request was throttled (ClientLimitExceeded)",
                ),
                FaultKind::ServerError(status) => ApiError::server_error(status),
                _ => ApiError::not_authorized("injected fault: not authorized"),
            });
        }
        None
    }

    /// What happens to the body of a media response starting now.
    pub fn body_plan(&self, op: Operation) -> BodyPlan {
        let mut plan = BodyPlan::default();
        for (fault, counter) in &self.entries {
            if !fault.kind.on_body() || !fault.applies_to(op) || !Self::take(fault, counter) {
                continue;
            }
            match fault.kind {
                FaultKind::CutAfterBytes(n) => plan.cut_at.push(n),
                FaultKind::CutInChunk(k) => plan.cut_in_chunk.push(k),
                FaultKind::StallAfterBytes { bytes, duration } => {
                    plan.stall_at.push((bytes, duration))
                }
                FaultKind::StallInChunk { chunk, duration } => {
                    plan.stall_in_chunk.push((chunk, duration))
                }
                FaultKind::EndSessionAfter(d) => {
                    plan.end_after = Some(plan.end_after.map_or(d, |e| e.min(d)))
                }
                _ => {}
            }
        }
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display_round_trip() {
        for spec in [
            "cut-after-bytes=100",
            "cut-in-chunk=2,times=100",
            "stall-in-chunk=0,for=1.5",
            "throttle,times=3,op=GetMedia",
            "error=503,op=ListFragments+GetImages",
            "not-authorized,times=1",
            "end-session-after=2",
        ] {
            let fault: Fault = spec.parse().unwrap();
            assert_eq!(fault.to_string().parse::<Fault>().unwrap(), fault, "{spec}");
        }
        for bad in [
            "cut",
            "cut-after-bytes",
            "cut-after-bytes=x",
            "error=404",
            "throttle,times",
            "cut-in-chunk=1,op=ListFragments",
            "throttle,op=PutMedia",
        ] {
            assert!(bad.parse::<Fault>().is_err(), "{bad}");
        }
    }

    #[test]
    fn first_n_requests_only() {
        let faults = Faults::new(&[Fault::throttle().first(2)]);
        assert!(faults.before_response(Operation::GetMedia).is_some());
        assert!(faults.before_response(Operation::ListFragments).is_none());
        assert!(faults
            .before_response(Operation::GetMediaForFragmentList)
            .is_some());
        assert!(faults.before_response(Operation::GetMedia).is_none());
    }

    #[test]
    fn body_plans() {
        let faults = Faults::new(&[Fault::cut_in_chunk(1), Fault::cut_after_bytes(10).first(1)]);
        let plan = faults.body_plan(Operation::GetMedia);
        assert_eq!((plan.cut_in_chunk, plan.cut_at), (vec![1], vec![10]));
        let plan = faults.body_plan(Operation::GetMedia);
        assert_eq!((plan.cut_in_chunk, plan.cut_at), (vec![1], vec![]));
        assert_eq!(faults.body_plan(Operation::GetImages), BodyPlan::default());
    }
}
