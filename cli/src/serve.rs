//! `kvs-mkv serve`: the local Kinesis Video Streams emulator.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};

use kvs_mkv::emulator::{Emulator, Fault, KeyStore, Options};
use kvs_mkv::sigv4::Credentials;

/// Messages of `serve` (file names and recordings' texts escaped).
fn say(message: impl std::fmt::Display) {
    eprintln!(
        "kvs-mkv serve: {}",
        crate::out::escape(&message.to_string())
    );
}

#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on; port 0 picks a free port. The URL is printed
    /// as the first line of standard output.
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    listen: String,
    /// A stream and its recording (a saved GetMedia body or any Matroska
    /// file). Repeatable.
    #[arg(long = "stream", value_name = "NAME=FILE", required = true, value_parser = name_value)]
    streams: Vec<(String, PathBuf)>,
    /// Images for GetImages: files <MILLIS>.jpg|.jpeg|.png in DIR, MILLIS
    /// absolute (epoch) from 10^12 up, else an offset into the recording.
    #[arg(long = "images", value_name = "NAME=DIR", value_parser = name_value)]
    images: Vec<(String, PathBuf)>,
    /// The access key id requests must be signed with [env: AWS_ACCESS_KEY_ID].
    #[arg(long, value_name = "ID")]
    access_key_id: Option<String>,
    /// The secret access key [env: AWS_SECRET_ACCESS_KEY].
    #[arg(long, value_name = "SECRET")]
    secret_access_key: Option<String>,
    /// A session token requests must carry [env: AWS_SESSION_TOKEN].
    #[arg(long, value_name = "TOKEN")]
    session_token: Option<String>,
    /// Accept the keys listed in FILE instead, read again whenever it
    /// changes (write it whole: elsewhere, then rename). One key per line:
    /// ACCESS_KEY_ID SECRET [SESSION_TOKEN|- [EXPIRES_EPOCH_SECS]]; blank
    /// lines and lines starting with # are ignored. A request signed with
    /// an expired key gets 403 ExpiredTokenException, with a key not in
    /// the file 403 UnrecognizedClientException.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["access_key_id", "secret_access_key", "session_token"])]
    credentials_file: Option<PathBuf>,
    /// The region requests must be signed for [env: AWS_REGION,
    /// AWS_DEFAULT_REGION; default us-west-2]. Not empty.
    #[arg(long, value_parser = region)]
    region: Option<String>,
    /// Seconds a GetMedia response stays open after the last fragment of a
    /// static stream.
    #[arg(long, default_value = "2", value_name = "SECS", value_parser = secs)]
    idle_timeout: Duration,
    /// Live mode: loop each recording forever, paced by fragment duration,
    /// with new fragment numbers and timestamps on every loop.
    #[arg(long)]
    live: bool,
    /// Pace of live mode (2 = twice real time).
    #[arg(long, default_value_t = 1.0, value_name = "FACTOR")]
    speed: f64,
    /// Producer timestamp (epoch seconds) of the first generated fragment;
    /// at most 253402300799 (9999-12-31T23:59:59Z).
    #[arg(long, value_name = "EPOCH_SECS", value_parser = base_time)]
    base_time: Option<Duration>,
    /// Live mode: spread the streams over one fragment (the k-th of n
    /// streams starts k/n of a fragment earlier) instead of completing
    /// every stream's fragments at the same instants.
    #[arg(long, requires = "live")]
    stagger: bool,
    /// GetMedia / GetMediaForFragmentList calls per second per stream
    /// before ClientLimitExceededException; 0 for no limit.
    #[arg(long, default_value_t = 5, value_name = "N")]
    calls_per_second: u32,
    /// Concurrent GetMedia responses per stream before
    /// ConnectionLimitExceededException; 0 for no limit.
    #[arg(long, default_value_t = 10, value_name = "N")]
    max_get_media_sessions: usize,
    /// Accept x-amz-content-sha256: UNSIGNED-PAYLOAD.
    #[arg(long)]
    allow_unsigned_payload: bool,
    /// Seed of the ListFragments order and request ids, for repeatable
    /// runs [default: order seeded with 0, random request ids].
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Seconds a response may wait for the client to read before it is
    /// dropped and its connection closed (frees a GetMedia session); 0
    /// waits forever.
    #[arg(long, default_value = "30", value_name = "SECS", value_parser = secs)]
    write_stall_timeout: Duration,
    /// Seconds a request head may take from its first byte (a
    /// connection's first request: from the connection's start), and its
    /// body again after it; 0 for no limit.
    #[arg(long, default_value = "10", value_name = "SECS", value_parser = secs)]
    header_read_timeout: Duration,
    /// Seconds a connection with no request in flight stays open; 0
    /// forever.
    #[arg(long, default_value = "60", value_name = "SECS", value_parser = secs)]
    keep_alive_timeout: Duration,
    /// Open connections at most (one more is closed at once); 0 for no
    /// limit.
    #[arg(long, default_value_t = 1024, value_name = "N")]
    max_connections: usize,
    /// Inject a fault (repeatable): KIND[=VALUE][,times=N][,for=SECS][,op=OP[+OP]],
    /// KIND one of cut-after-bytes=N, cut-in-chunk=K, stall-after-bytes=N,
    /// stall-in-chunk=K, throttle, error=STATUS, not-authorized,
    /// end-session-after=SECS.
    #[arg(long = "fault", value_name = "SPEC")]
    faults: Vec<Fault>,
}

fn name_value(s: &str) -> Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((name, value)) if !name.is_empty() && !value.is_empty() => {
            Ok((name.to_string(), PathBuf::from(value)))
        }
        _ => Err(format!("{s:?} is not NAME=PATH")),
    }
}

/// A `--region`: an empty (or blank) one would go into every ARN, where
/// an empty AWS_REGION falls back to the default; it is refused.
fn region(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        return Err("the region is empty (omit --region for the default)".into());
    }
    Ok(s.to_string())
}

/// A number of seconds on the command line (`2`, `0.5`): anything that is
/// no `Duration` (negative, NaN, infinite, too large) is refused.
pub fn secs(s: &str) -> Result<Duration, String> {
    s.parse::<f64>()
        .ok()
        .and_then(|v| Duration::try_from_secs_f64(v).ok())
        .ok_or_else(|| format!("{s:?} is not a number of seconds"))
}

/// A `--base-time`: seconds from the epoch to
/// [`MAX_BASE_TIME_SECS`](kvs_mkv::emulator::MAX_BASE_TIME_SECS) (later, a
/// time past what `SystemTime` holds panicked, and one it holds was served
/// with its milliseconds cut to 64 bits).
fn base_time(s: &str) -> Result<Duration, String> {
    let d = secs(s)?;
    let max = kvs_mkv::emulator::MAX_BASE_TIME_SECS;
    if d.as_secs() > max {
        return Err(format!(
            "{s:?} is after {max} (9999-12-31T23:59:59Z), the latest base time"
        ));
    }
    Ok(d)
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

pub fn run(args: Args) -> ExitCode {
    let keys = match &args.credentials_file {
        Some(path) => match KeyStore::from_file(path) {
            Ok(keys) => Some(keys),
            Err(e) => {
                eprintln!("kvs-mkv serve: --credentials-file: {e}");
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    // With a key file, the key options conflict (clap) and the
    // environment's keys are not used.
    let credentials = if keys.is_some() {
        None
    } else {
        match static_key(
            args.access_key_id,
            args.secret_access_key,
            args.session_token,
        ) {
            Ok(c) => Some(c),
            Err(code) => return code,
        }
    };
    let mut options = Options::default();
    options.region = args
        .region
        .or_else(|| env("AWS_REGION"))
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| "us-west-2".to_string());
    options.idle_timeout = args.idle_timeout;
    options.live = args.live;
    options.speed = args.speed;
    options.base_time = args.base_time.map(|d| UNIX_EPOCH + d);
    options.stagger = args.stagger;
    options.calls_per_second = (args.calls_per_second > 0).then_some(args.calls_per_second);
    options.max_get_media_sessions =
        (args.max_get_media_sessions > 0).then_some(args.max_get_media_sessions);
    options.allow_unsigned_payload = args.allow_unsigned_payload;
    options.seed = args.seed;
    options.faults = args.faults;
    let off_at_zero = |d: Duration| (!d.is_zero()).then_some(d);
    options.write_stall_timeout = off_at_zero(args.write_stall_timeout);
    options.header_read_timeout = off_at_zero(args.header_read_timeout);
    options.keep_alive_timeout = off_at_zero(args.keep_alive_timeout);
    options.max_connections = (args.max_connections > 0).then_some(args.max_connections);

    let mut builder = Emulator::builder().options(options);
    if let Some(keys) = &keys {
        builder = builder.key_store(keys.clone());
    }
    if let Some(credentials) = credentials {
        builder = builder.credentials(credentials);
    }
    for (name, file) in args.streams {
        builder = builder.stream(name, file);
    }
    for (name, dir) in args.images {
        builder = builder.images(name, dir);
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            say(format_args!("cannot start the runtime: {e}"));
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async move {
        let handle = match builder.start(args.listen.as_str()).await {
            Ok(handle) => handle,
            Err(e) => {
                say(e);
                return ExitCode::from(2);
            }
        };
        let mut out = std::io::stdout().lock();
        if let Err(e) = writeln!(out, "{}", handle.url()).and_then(|()| out.flush()) {
            // Whoever started the server cannot learn where it is.
            say(format_args!("cannot write the URL to standard output: {e}"));
            handle.shutdown().await;
            return ExitCode::from(2);
        }
        drop(out);
        let mut streams = handle.streams().to_vec();
        streams.sort_by(|a, b| a.name.cmp(&b.name));
        for s in &streams {
            eprintln!(
                "kvs-mkv serve: stream {} ({}): {} fragments, {} images",
                s.name, s.arn, s.fragments, s.images
            );
            if s.dropped_chunks > 0 {
                eprintln!(
                    "kvs-mkv serve: stream {}: left out {} chunks that were cut short or damaged",
                    s.name, s.dropped_chunks
                );
            }
        }
        let accepted = match &keys {
            Some(keys) => format!(
                "{} keys from {}",
                keys.len(),
                keys.file().unwrap_or(std::path::Path::new("")).display()
            ),
            None => format!("key {}", handle.credentials().access_key_id),
        };
        eprintln!(
            "kvs-mkv serve: listening at {} (region {}, {accepted})",
            handle.url(),
            handle.region(),
        );
        if let Some(keys) = keys {
            tokio::spawn(watch_key_file(keys));
        }
        stop_signal().await;
        handle.shutdown().await;
        ExitCode::SUCCESS
    })
}

/// The one key pair accepted: the options', else the environment's, else
/// the default pair.
fn static_key(
    id: Option<String>,
    secret: Option<String>,
    token: Option<String>,
) -> Result<Credentials, ExitCode> {
    let id = id.or_else(|| env("AWS_ACCESS_KEY_ID"));
    let secret = secret.or_else(|| env("AWS_SECRET_ACCESS_KEY"));
    match (id, secret) {
        (Some(id), Some(secret)) => {
            let creds = Credentials::new(id, secret);
            Ok(match token.or_else(|| env("AWS_SESSION_TOKEN")) {
                Some(token) => creds.with_session_token(token),
                None => creds,
            })
        }
        (None, None) => {
            let creds = Credentials::new(
                kvs_mkv::emulator::DEFAULT_ACCESS_KEY_ID,
                kvs_mkv::emulator::DEFAULT_SECRET_ACCESS_KEY,
            );
            eprintln!(
                "kvs-mkv serve: no credentials given; accepting {} with its documented example secret",
                creds.access_key_id
            );
            Ok(creds)
        }
        _ => {
            eprintln!("kvs-mkv serve: give both an access key id and a secret access key");
            Err(ExitCode::from(2))
        }
    }
}

/// Reads the key file again each second when it changed (requests do too),
/// and says on stderr what was read or what is wrong with it.
async fn watch_key_file(keys: KeyStore) {
    let mut last_error = None;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        match keys.reload() {
            Ok(false) => {}
            Ok(true) => {
                last_error = None;
                eprintln!(
                    "kvs-mkv serve: credentials file read again: {} keys",
                    keys.len()
                );
            }
            Err(e) => {
                let shown = e.to_string();
                if last_error.as_ref() != Some(&shown) {
                    eprintln!("kvs-mkv serve: credentials file: {shown} (keeping the {} keys read before)", keys.len());
                    last_error = Some(shown);
                }
            }
        }
    }
}

/// Ctrl-C, or SIGTERM on Unix.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
