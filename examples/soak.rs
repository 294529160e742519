//! Many resuming GetMedia sessions in one process against the emulator in
//! live mode (issue I):
//!
//! ```text
//! cargo run --release --example soak --features client,emulator -- --sessions N --seconds S
//!     [--recording PATH | --camera-mbit R] [--speed X] [--frames]
//!     [--start earliest|now] [--stagger]
//! ```
//!
//! The emulator runs in a child process (this program again, with
//! `--serve`), so that the figures printed are the client's alone: it
//! serves N streams of one recording (testdata/sample.mkv, another file, or
//! a camera-shaped recording of 10 s at R Mbit/s made by the crate's
//! writer), live. N concurrent `Client::get_media` streams (or, with
//! `--frames`, `Client::get_media_events`, the frame-level stream) from
//! EARLIEST (or, with `--start now`, from the latest fragment), following
//! the live edge and resuming by themselves, read for S seconds; then each
//! stream's fragments are listed with ListFragments and compared with what
//! the session got: every fragment from the first listed (with `--start
//! now`: the first received) up to the last one received must have come
//! exactly once and in order (examples/support/soak_check.rs, tested by
//! tests/soak_check.rs). By default every stream completes its fragments
//! at the same instants (the worst case: all sessions' chunks come at
//! once); `--stagger` spreads the streams over one fragment of the
//! recording, as independent cameras would be (`Options::stagger`).
//!
//! The one line on stdout:
//! `soak: sessions N fragments F lost L duplicated D peak_rss_mb R cpu_s C`
//! (F fragments received by all sessions, R the client process's peak
//! resident memory (VmHWM), C its user + system CPU seconds). Exit 0 only
//! when L and D are 0, nothing came out of order, and no session ended in
//! an error (a stream that gave up, or a ListFragments call that failed:
//! the session could not be checked).
//!
//! Before it, on stderr: `soak client: ...` (bytes, Mbit/s, CPU-s per
//! Gbit), the chunk delay `soak-latency: chunks K p50_ms X p99_ms Y max_ms
//! Z`, and the emulator's own peak memory and CPU (`soak emulator: ...`).
//! The delay of a chunk is the wall clock when the session hands it out
//! minus the time the emulator made its fragment available, computed from
//! the chunk: its server timestamp plus the span of its frames (live, the
//! emulator's timestamps are the wall clock, and a fragment becomes
//! available once its last frame is due). Fragments already available when
//! a session began (the archived catch-up) are not counted; K is the number
//! of chunks counted. With `--speed` other than 1 the emulator's clock is
//! not the wall clock and no delay is given (`-`).
//!
//! Also on stderr, to tell where the delay and the memory come from:
//! `soak-latency-by-time:` the same delays split by when the chunk came
//! (first 5 s of the run, 5-15 s, after 15 s); `soak-cpu:` the CPU seconds
//! per second of the client and of the emulator, sampled once a second
//! from /proc (means over the same windows, then each second); and
//! `soak-heap:` the client's live heap counted by a counting global
//! allocator (bytes allocated and not yet freed: peak over the run and
//! mean after 15 s, each also per session), against which VmHWM (what the
//! allocator keeps mapped as well) can be compared; and `soak-sessions:
//! first_chunk_ms sessions K/N p50 X p99 Y max Z worst_delay_ms sessions
//! K/N p50 X p99 Y max Z`, per session, when its first chunk came (ms
//! since the run began; with `--frames`, when its first fragment ended)
//! and its largest chunk delay, over the K of N sessions that have one:
//! whether a p99 comes from a few sessions that started late or from
//! every session now and then.

#[path = "../benches/support/camera.rs"]
mod camera;
#[path = "support/soak_check.rs"]
mod soak_check;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use kvs_mkv::client::{
    sort_fragments, Client, ClientConfig, ClientError, FragmentOrder, GetMediaOptions, Pagination,
    StartSelector, StreamId,
};
use kvs_mkv::emulator::{Emulator, Options};
use kvs_mkv::sigv4::Credentials;
use kvs_mkv::{ChunkInfo, Event, Frame};
use tokio::io::{AsyncBufReadExt, BufReader};

/// Counts the process's live heap bytes (current and peak) on top of the
/// system allocator, so that what the library and the sessions hold can be
/// told apart from what the allocator keeps mapped (VmHWM).
mod heap {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

    pub struct Counting;
    static LIVE: AtomicUsize = AtomicUsize::new(0);
    static PEAK: AtomicUsize = AtomicUsize::new(0);

    fn grew(n: usize) {
        let now = LIVE.fetch_add(n, Relaxed) + n;
        PEAK.fetch_max(now, Relaxed);
    }

    // SAFETY: every call is passed on unchanged to the system allocator;
    // only the byte counts are added.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            let p = unsafe { System.alloc(l) };
            if !p.is_null() {
                grew(l.size());
            }
            p
        }
        unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
            let p = unsafe { System.alloc_zeroed(l) };
            if !p.is_null() {
                grew(l.size());
            }
            p
        }
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            unsafe { System.dealloc(p, l) };
            LIVE.fetch_sub(l.size(), Relaxed);
        }
        unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
            let q = unsafe { System.realloc(p, l, new) };
            if !q.is_null() {
                LIVE.fetch_sub(l.size(), Relaxed);
                grew(new);
            }
            q
        }
    }

    /// Live heap bytes now.
    pub fn live() -> usize {
        LIVE.load(Relaxed)
    }
    /// Peak live heap bytes; `reset` starts a new peak from now.
    pub fn peak() -> usize {
        PEAK.load(Relaxed)
    }
    pub fn reset_peak() {
        PEAK.store(LIVE.load(Relaxed), Relaxed);
    }
}

#[global_allocator]
static HEAP: heap::Counting = heap::Counting;

struct Args {
    sessions: usize,
    seconds: u64,
    recording: Option<PathBuf>,
    camera_mbit: Option<u32>,
    speed: f64,
    mode: Mode,
    stagger: bool,
    serve: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: soak --sessions N --seconds S [--recording PATH | --camera-mbit 1|6] [--speed X] [--frames] [--start earliest|now] [--stagger]"
    );
    std::process::exit(2)
}

fn args() -> Args {
    let mut a = Args {
        sessions: 10,
        seconds: 10,
        recording: None,
        camera_mbit: None,
        speed: 1.0,
        mode: Mode {
            frames: false,
            now: false,
        },
        stagger: false,
        serve: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--sessions" => a.sessions = value().parse().unwrap_or_else(|_| usage()),
            "--seconds" => a.seconds = value().parse().unwrap_or_else(|_| usage()),
            "--recording" => a.recording = Some(value().into()),
            "--camera-mbit" => a.camera_mbit = Some(value().parse().unwrap_or_else(|_| usage())),
            "--speed" => a.speed = value().parse().unwrap_or_else(|_| usage()),
            "--frames" => a.mode.frames = true,
            "--start" => {
                a.mode.now = match value().as_str() {
                    "now" => true,
                    "earliest" => false,
                    _ => usage(),
                }
            }
            "--stagger" => a.stagger = true,
            "--serve" => a.serve = true,
            _ => usage(),
        }
    }
    if a.sessions == 0 {
        usage()
    }
    a
}

fn credentials() -> Credentials {
    Credentials::new("AKIDSOAK", "soak-secret")
}

fn stream_name(i: usize) -> String {
    format!("soak-{i}")
}

/// The recording every stream serves (one `Bytes`, shared).
fn recording(a: &Args) -> Bytes {
    if let Some(mbit) = a.camera_mbit {
        let cam = if mbit >= 6 {
            camera::Camera::mbit6(5)
        } else {
            camera::Camera::mbit1(5)
        };
        return camera::stream(&cam).0.into();
    }
    let path = a
        .recording
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/sample.mkv"));
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
        .into()
}

/// `VmHWM` (peak resident set) of a process, in MB.
fn peak_rss_mb(pid: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// User + system CPU seconds of a process (/proc/PID/stat fields 14, 15).
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name (field 2) may hold spaces: count after its ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // rest starts at field 3: utime is field 14 → index 11.
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    // USER_HZ is 100 on Linux.
    ticks as f64 / 100.0
}

/// The child: the emulator with N live streams; prints its URL, serves
/// until stdin closes, then reports its own peak memory and CPU on stderr.
async fn serve(a: &Args) {
    let data = recording(a);
    let mut options = Options::default();
    options.live = true;
    options.speed = a.speed;
    options.max_connections = Some(a.sessions * 2 + 64);
    options.stagger = a.stagger;
    let mut builder = Emulator::builder()
        .credentials(credentials())
        .options(options);
    for i in 0..a.sessions {
        builder = builder.stream(stream_name(i), data.clone());
    }
    drop(data);
    let e = builder
        .start("127.0.0.1:0")
        .await
        .expect("the emulator starts");
    println!("{}", e.url());
    let started_rss = peak_rss_mb("self");
    let mut line = String::new();
    let _ = BufReader::new(tokio::io::stdin())
        .read_line(&mut line)
        .await;
    eprintln!(
        "soak emulator: streams {} peak_rss_mb {:.0} (after start-up {:.0}) cpu_s {:.2}",
        a.sessions,
        peak_rss_mb("self"),
        started_rss,
        cpu_seconds("self")
    );
    e.shutdown().await;
}

/// What one session saw.
#[derive(Default)]
struct Outcome {
    check: soak_check::Check,
    bytes: u64,
    /// Chunk delays, ms (see [`Span::available_ms`]), each with the time
    /// since the run began that the chunk came at (ms).
    delays: Vec<(i64, i64)>,
    /// When the first chunk came, ms since the run began.
    first_ms: Option<i64>,
    error: Option<String>,
}

/// When the emulator made a fragment available, in ms since the epoch:
/// live, a fragment is available once its last frame is due, which is its
/// server timestamp (its start, 250 ms after the producer timestamp) plus
/// the span of its frames (first frame to the last one's timecode plus the
/// typical gap between frames of its track, or its BlockDuration). Where
/// the emulator counts from a Cluster timecode before the first frame, or
/// holds a fragment back behind an earlier one, the real availability is
/// later: the delay computed is then the larger.
#[derive(Default)]
struct Span {
    first: Option<i128>,
    end: Option<i128>,
    /// Per track: first and last timecode (ns), frame count.
    tracks: Vec<(u64, i128, i128, i128)>,
}

impl Span {
    fn add(&mut self, f: &Frame) {
        let t = f.pts_ns();
        self.first = Some(self.first.map_or(t, |v| v.min(t)));
        if let Some(d) = f.duration() {
            let e = t + i128::from(d) * i128::from(f.timecode_scale());
            self.end = Some(self.end.map_or(e, |v| v.max(e)));
        }
        match self.tracks.iter_mut().find(|x| x.0 == f.track()) {
            Some(x) => {
                x.2 = x.2.max(t);
                x.3 += 1;
            }
            None => self.tracks.push((f.track(), t, t, 1)),
        }
    }

    /// The fragment's availability (ms since the epoch), from its server
    /// timestamp; the span is reset for the next fragment.
    fn available_ms(&mut self, info: &ChunkInfo) -> Option<i64> {
        let span = std::mem::take(self);
        let server = info.server_timestamp()?.as_millis() as i64;
        let mut end = span.end;
        for (_, lo, hi, n) in span.tracks {
            let gap = if n > 1 { (hi - lo) / (n - 1) } else { 0 };
            end = Some(end.map_or(hi + gap, |v| v.max(hi + gap)));
        }
        let span_ms = match (span.first, end) {
            (Some(a), Some(b)) => ((b - a).max(0) / 1_000_000) as i64,
            _ => 0,
        };
        Some(server + span_ms)
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Hands each item of a GetMedia stream (chunks or events) to `each`
/// until `until`, the stream's end, or its first error (kept in `out`).
async fn take_until<T>(
    media: &mut (impl futures::Stream<Item = Result<T, ClientError>> + Unpin),
    until: Instant,
    out: &mut Outcome,
    mut each: impl FnMut(T, &mut Outcome),
) {
    loop {
        match tokio::time::timeout_at(until.into(), media.next()).await {
            Err(_) | Ok(None) => break,
            Ok(Some(Err(e))) => {
                out.error = Some(e.to_string());
                break;
            }
            Ok(Some(Ok(item))) => each(item, out),
        }
    }
}

/// How the sessions read: the frame-level stream (`--frames`) or chunks,
/// from NOW (`--start now`) or EARLIEST.
#[derive(Clone, Copy)]
struct Mode {
    frames: bool,
    now: bool,
}

async fn session(client: Client, i: usize, t0: i64, until: Instant, a: Mode) -> Outcome {
    let mut out = Outcome::default();
    let mut options = GetMediaOptions::default();
    options.stop_after_empty_sessions = None;
    let stream = StreamId::Name(stream_name(i));
    let start = if a.now {
        StartSelector::Now
    } else {
        StartSelector::Earliest
    };
    let mut got: Vec<String> = Vec::new();
    // The fragments archived before the session began arrive at once (a
    // catch-up, not a delay): those that became available after it began
    // count, start-up included.
    let live_from = now_ms();
    let mut span = Span::default();
    // A fragment complete: its number and the delay.
    let mut done = |info: &ChunkInfo, span: &mut Span, out: &mut Outcome| {
        let now = now_ms();
        if let Some(at) = span.available_ms(info).filter(|&at| at > live_from) {
            out.delays.push((now - t0, now - at));
        }
        out.first_ms.get_or_insert(now - t0);
        if let Some(n) = info.fragment_number() {
            got.push(n.to_string());
        }
    };
    let bytes = if a.frames {
        let mut media = client.get_media_events(stream, start, options);
        take_until(&mut media, until, &mut out, |event, out| match event {
            Event::Start(_) => span = Span::default(),
            Event::Frame(f) => span.add(&f),
            Event::End(info) => done(&info, &mut span, out),
        })
        .await;
        media.stats().bytes
    } else {
        let mut media = client.get_media(stream, start, options);
        take_until(&mut media, until, &mut out, |chunk, out| {
            chunk.frames().iter().for_each(|f| span.add(f));
            done(chunk.info(), &mut span, out);
        })
        .await;
        media.stats().bytes
    };
    out.bytes = bytes;
    let listed = match client
        .list_fragments(StreamId::Name(stream_name(i)), None, Pagination::default())
        .try_collect::<Vec<_>>()
        .await
    {
        Ok(pages) => sort_fragments(
            pages.into_iter().flat_map(|p| p.items).collect(),
            FragmentOrder::FragmentNumber,
        ),
        Err(e) => {
            out.error = Some(format!("ListFragments: {e}"));
            return out;
        }
    };
    let got: Vec<&str> = got.iter().map(String::as_str).collect();
    let listed: Vec<&str> = listed.iter().map(|f| f.fragment_number.as_str()).collect();
    out.check = if a.now {
        soak_check::check_since_first(&got, &listed)
    } else {
        soak_check::check(&got, &listed)
    };
    out
}

async fn run(a: &Args) -> i32 {
    let exe = std::env::current_exe().expect("the program's path");
    let mut child = tokio::process::Command::new(exe)
        .arg("--serve")
        .args(a.stagger.then_some("--stagger"))
        .args(["--sessions", &a.sessions.to_string()])
        .args(["--speed", &a.speed.to_string()])
        .args(
            a.recording
                .iter()
                .flat_map(|p| ["--recording".into(), p.display().to_string()]),
        )
        .args(
            a.camera_mbit
                .iter()
                .flat_map(|m| ["--camera-mbit".into(), m.to_string()]),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the emulator process starts");
    let mut url = String::new();
    let stdout = child.stdout.take().expect("piped");
    tokio::time::timeout(
        Duration::from_secs(120),
        BufReader::new(stdout).read_line(&mut url),
    )
    .await
    .expect("the emulator starts within 2 minutes")
    .expect("the emulator prints its URL");
    let url = url.trim().to_string();

    let config = ClientConfig::new("us-west-2", credentials()).with_endpoint_url(url);
    let client = Client::new(config).expect("a client");
    let child_pid = child.id().map(|p| p.to_string()).unwrap_or_default();
    heap::reset_peak();
    let heap_before = heap::live();
    let started = Instant::now();
    let t0 = now_ms();
    let until = started + Duration::from_secs(a.seconds);
    let sampler = tokio::spawn(sample(child_pid, until));
    let tasks: Vec<_> = (0..a.sessions)
        .map(|i| tokio::spawn(session(client.clone(), i, t0, until, a.mode)))
        .collect();
    let (mut fragments, mut lost, mut duplicated, mut disorder, mut bytes) = (0, 0, 0, 0, 0u64);
    let mut errors = Vec::new();
    let mut delays = Vec::new();
    let mut firsts = Vec::new();
    let mut worst = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        let o = t.await.expect("a session does not panic");
        fragments += o.check.received;
        lost += o.check.lost;
        duplicated += o.check.duplicated;
        disorder += usize::from(o.check.out_of_order);
        bytes += o.bytes;
        firsts.extend(o.first_ms);
        worst.extend(o.delays.iter().map(|&(_, d)| d).max());
        delays.extend(o.delays);
        if let Some(e) = o.error {
            errors.push(format!("session {i}: {e}"));
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds("self");
    let samples = sampler.await.unwrap_or_default();
    let gbit = bytes as f64 * 8.0 / 1e9;
    eprintln!(
        "soak client: {:.1} MB in {elapsed:.1} s ({:.1} Mbit/s), {:.2} CPU-s per Gbit, \
         {disorder} sessions out of order, {} errors",
        bytes as f64 / 1e6,
        gbit * 1e3 / elapsed,
        if gbit > 0.0 { cpu / gbit } else { 0.0 },
        errors.len()
    );
    for e in errors.iter().take(5) {
        eprintln!("  {e}");
    }
    if a.speed != 1.0 {
        // Timestamps follow the emulator's faster or slower clock.
        delays.clear();
        worst.clear();
    }
    eprintln!("soak-latency: {}", latency(&delays, |_| true));
    // The same delays by when the chunk came (s since the run began).
    eprintln!(
        "soak-latency-by-time: 0-5s {} | 5-15s {} | 15s- {}",
        latency(&delays, |t| t < 5_000),
        latency(&delays, |t| (5_000..15_000).contains(&t)),
        latency(&delays, |t| t >= 15_000)
    );
    // Each spread says over how many sessions it is: one that got no
    // chunk (or no counted delay) is in neither figure, so the count shows
    // it rather than a better-looking p99.
    let sessions = a.sessions;
    let spread = |mut v: Vec<i64>| {
        v.sort_unstable();
        let [p50, p99, max] = p50_p99_max(&v);
        format!(
            "sessions {}/{sessions} p50 {p50} p99 {p99} max {max}",
            v.len()
        )
    };
    eprintln!(
        "soak-sessions: first_chunk_ms {} worst_delay_ms {}",
        spread(firsts),
        spread(worst)
    );
    report_samples(&samples, a.sessions, heap_before);
    // Stop the emulator: it reports on stderr when its stdin closes.
    drop(child.stdin.take());
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
    println!(
        "soak: sessions {} fragments {fragments} lost {lost} duplicated {duplicated} peak_rss_mb {:.0} cpu_s {cpu:.2}",
        a.sessions,
        peak_rss_mb("self")
    );
    soak_check::exit_code(fragments, lost, duplicated, disorder, errors.len())
}

/// `chunks K p50_ms X p99_ms Y max_ms Z` of the delays whose arrival time
/// (ms since the run began) passes `when`.
fn latency(delays: &[(i64, i64)], when: impl Fn(i64) -> bool) -> String {
    let mut d: Vec<i64> = delays
        .iter()
        .filter(|(t, _)| when(*t))
        .map(|&(_, d)| d)
        .collect();
    d.sort_unstable();
    let [p50, p99, max] = p50_p99_max(&d);
    format!("chunks {} p50_ms {p50} p99_ms {p99} max_ms {max}", d.len())
}

/// The median, 99th percentile and largest of sorted values, `-` for none.
fn p50_p99_max(sorted: &[i64]) -> [String; 3] {
    [0.5, 0.99, 1.0].map(|q| soak_check::quantile(sorted, q).map_or("-".into(), |v| v.to_string()))
}

/// Once a second until `until`: client and emulator CPU seconds (cumulative)
/// and the client's live heap bytes.
async fn sample(child: String, until: Instant) -> Vec<(f64, f64, usize)> {
    let mut out = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        out.push((cpu_seconds("self"), cpu_seconds(&child), heap::live()));
        if Instant::now() >= until {
            return out;
        }
    }
}

/// `soak-cpu:` CPU seconds used per second by client and emulator (first
/// 5 s, 5-15 s, after 15 s, and each second), and `soak-heap:` the
/// client's live heap (peak, and mean after 15 s, per session).
fn report_samples(s: &[(f64, f64, usize)], sessions: usize, before: usize) {
    let rate = |a: usize, b: usize, f: fn(&(f64, f64, usize)) -> f64| {
        let b = b.min(s.len().saturating_sub(1));
        if a >= b {
            return "-".to_string();
        }
        format!("{:.2}", (f(&s[b]) - f(&s[a])) / (b - a) as f64)
    };
    let end = s.len().saturating_sub(1);
    for (who, f) in [
        (
            "client",
            (|x: &(f64, f64, usize)| x.0) as fn(&(f64, f64, usize)) -> f64,
        ),
        ("emulator", |x| x.1),
    ] {
        let each: Vec<String> = s
            .windows(2)
            .map(|w| format!("{:.2}", f(&w[1]) - f(&w[0])))
            .collect();
        eprintln!(
            "soak-cpu: {who} cpu_s/s 0-5s {} 5-15s {} 15s- {} each [{}]",
            rate(0, 5, f),
            rate(5, 15, f),
            rate(15, end, f),
            each.join(" ")
        );
    }
    let steady: Vec<usize> = s.iter().skip(15).map(|x| x.2).collect();
    let mean = if steady.is_empty() {
        0.0
    } else {
        steady.iter().sum::<usize>() as f64 / steady.len() as f64
    };
    let kib = |b: f64| b / 1024.0 / sessions as f64;
    let peak = heap::peak().saturating_sub(before) as f64;
    eprintln!(
        "soak-heap: live_peak_mb {:.1} ({:.0} KiB/session) live_mean_after_15s_mb {:.1} ({:.0} KiB/session)",
        peak / 1e6,
        kib(peak),
        (mean - before as f64).max(0.0) / 1e6,
        kib((mean - before as f64).max(0.0))
    );
}

fn main() {
    let a = args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    if a.serve {
        rt.block_on(serve(&a));
        return;
    }
    let code = rt.block_on(run(&a));
    std::process::exit(code)
}
