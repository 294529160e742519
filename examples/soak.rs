//! Many resuming GetMedia sessions in one process against the emulator in
//! live mode (issue I):
//!
//! ```text
//! cargo run --release --example soak --features client,emulator -- --sessions N --seconds S
//!     [--recording PATH | --camera-mbit R] [--speed X]
//! ```
//!
//! The emulator runs in a child process (this program again, with
//! `--serve`), so that the figures printed are the client's alone: it
//! serves N streams of one recording (testdata/sample.mkv, another file, or
//! a camera-shaped recording of 10 s at R Mbit/s made by the crate's
//! writer), live. N concurrent `Client::get_media` streams (from EARLIEST,
//! following the live edge, resuming by themselves) read for S seconds;
//! then each stream's fragments are listed with ListFragments and compared
//! with what the session got: every fragment from the first listed up to
//! the last one received must have come exactly once and in order.
//!
//! The one line on stdout:
//! `soak: sessions N fragments F lost L duplicated D peak_rss_mb R cpu_s C`
//! (F fragments received by all sessions, R the client process's peak
//! resident memory (VmHWM), C its user + system CPU seconds). The emulator's
//! own peak memory and CPU go to stderr. Exit 0 only when L and D are 0
//! (and nothing came out of order).

#[path = "../benches/support/camera.rs"]
mod camera;

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use kvs_mkv::client::{
    sort_fragments, Client, ClientConfig, FragmentOrder, GetMediaOptions, Pagination,
    StartSelector, StreamId,
};
use kvs_mkv::emulator::{Emulator, Options};
use kvs_mkv::sigv4::Credentials;
use tokio::io::{AsyncBufReadExt, BufReader};

struct Args {
    sessions: usize,
    seconds: u64,
    recording: Option<PathBuf>,
    camera_mbit: Option<u32>,
    speed: f64,
    serve: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: soak --sessions N --seconds S [--recording PATH | --camera-mbit 1|6] [--speed X]"
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
    received: usize,
    lost: usize,
    duplicated: usize,
    out_of_order: bool,
    bytes: u64,
    error: Option<String>,
}

async fn session(client: Client, i: usize, until: Instant) -> Outcome {
    let mut out = Outcome::default();
    let mut options = GetMediaOptions::default();
    options.stop_after_empty_sessions = None;
    let mut media = client.get_media(
        StreamId::Name(stream_name(i)),
        StartSelector::Earliest,
        options,
    );
    let mut got: Vec<String> = Vec::new();
    loop {
        let next = tokio::time::timeout_at(until.into(), media.next()).await;
        match next {
            Err(_) | Ok(None) => break,
            Ok(Some(Err(e))) => {
                out.error = Some(e.to_string());
                break;
            }
            Ok(Some(Ok(chunk))) => {
                if let Some(n) = chunk.fragment_number() {
                    got.push(n.to_string());
                }
            }
        }
    }
    out.bytes = media.stats().bytes;
    drop(media);
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
    out.received = got.len();
    let unique: HashSet<&str> = got.iter().map(String::as_str).collect();
    out.duplicated = got.len() - unique.len();
    // Expected: every listed fragment up to the last one received.
    let last = listed
        .iter()
        .rposition(|f| unique.contains(f.fragment_number.as_str()));
    let expected: Vec<&str> = match last {
        Some(l) => listed[..=l]
            .iter()
            .map(|f| f.fragment_number.as_str())
            .collect(),
        None => listed
            .first()
            .map(|f| vec![f.fragment_number.as_str()])
            .unwrap_or_default(),
    };
    let expected_set: HashSet<&str> = expected.iter().copied().collect();
    out.lost = expected.iter().filter(|n| !unique.contains(*n)).count();
    let mut seen = HashSet::new();
    let firsts: Vec<&str> = got
        .iter()
        .map(String::as_str)
        .filter(|n| seen.insert(*n))
        .collect();
    let in_order: Vec<&str> = expected
        .iter()
        .copied()
        .filter(|n| unique.contains(n))
        .collect();
    out.out_of_order = firsts != in_order || unique.iter().any(|n| !expected_set.contains(n));
    out
}

async fn run(a: &Args) -> i32 {
    let exe = std::env::current_exe().expect("the program's path");
    let mut child = tokio::process::Command::new(exe)
        .arg("--serve")
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
    let started = Instant::now();
    let until = started + Duration::from_secs(a.seconds);
    let tasks: Vec<_> = (0..a.sessions)
        .map(|i| tokio::spawn(session(client.clone(), i, until)))
        .collect();
    let (mut fragments, mut lost, mut duplicated, mut disorder, mut bytes) = (0, 0, 0, 0, 0u64);
    let mut errors = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        let o = t.await.expect("a session does not panic");
        fragments += o.received;
        lost += o.lost;
        duplicated += o.duplicated;
        disorder += usize::from(o.out_of_order);
        bytes += o.bytes;
        if let Some(e) = o.error {
            errors.push(format!("session {i}: {e}"));
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds("self");
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
    // Stop the emulator: it reports on stderr when its stdin closes.
    drop(child.stdin.take());
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
    println!(
        "soak: sessions {} fragments {fragments} lost {lost} duplicated {duplicated} peak_rss_mb {:.0} cpu_s {cpu:.2}",
        a.sessions,
        peak_rss_mb("self")
    );
    i32::from(lost > 0 || duplicated > 0 || disorder > 0 || fragments == 0)
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
