//! The commands that call the service: get-media, list-fragments,
//! get-media-for-fragment-list, get-images.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use futures::StreamExt;
use kvs_mkv::client::{
    sort_fragments, ChunkStream, Client, ClientConfig, ClientError, Fragment, FragmentOrder,
    FragmentSelector, GetImagesRequest, GetMediaOptions, ImageError, ImageFormat, MediaStream,
    Pagination, StartSelector, StreamId, TimestampKind,
};
use kvs_mkv::kvs::ParseTimestampError;
use kvs_mkv::merge::{MergeError, MergeOptions, MergeReport, Merger};
use kvs_mkv::{Chunk, FragmentNumber, Timestamp};
use serde_json::json;

use crate::inspect::Printer;
use crate::out::{escape, json_line, remove_if_empty_file, say, stdout_failed};
use crate::signals::{Signals, Stop};

/// Options every fetch command takes.
#[derive(clap::Args, Debug)]
pub struct Common {
    /// The stream's name.
    #[arg(
        long,
        conflicts_with = "stream_arn",
        required_unless_present = "stream_arn"
    )]
    stream: Option<String>,
    /// The stream's ARN.
    #[arg(long)]
    stream_arn: Option<String>,
    /// AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, or the profile's).
    #[arg(long)]
    region: Option<String>,
    /// A profile of the shared credentials/config files.
    #[arg(long)]
    profile: Option<String>,
    /// The control-plane endpoint (e.g. a local emulator); data endpoints
    /// come from GetDataEndpoint.
    #[arg(long)]
    endpoint_url: Option<String>,
}

impl Common {
    /// The client, its configuration loaded on `rt` (the runtime that will
    /// run the calls, so whatever the credentials sources set up lives on
    /// it), and the stream named.
    fn client(&self, rt: &tokio::runtime::Runtime) -> Result<(Client, StreamId), ClientError> {
        let (profile, region) = (self.profile.as_deref(), self.region.as_deref());
        // With the AWS SDK's chain (the default build): every source the
        // AWS CLI reads. Without it: static keys from the environment and
        // the shared files.
        #[cfg(feature = "aws-config")]
        let mut config = rt.block_on(ClientConfig::from_aws_config(profile, region))?;
        #[cfg(not(feature = "aws-config"))]
        let mut config = {
            let _ = rt;
            ClientConfig::from_env(profile, region)?
        };
        if let Some(url) = &self.endpoint_url {
            config = config.with_endpoint_url(url);
        }
        // clap requires one of the two; an empty ARN would be refused as
        // an invalid request.
        let stream = match (&self.stream, &self.stream_arn) {
            (Some(n), _) => StreamId::Name(n.clone()),
            (None, a) => StreamId::Arn(a.clone().unwrap_or_default()),
        };
        Ok((Client::new(config)?, stream))
    }
}

/// A fragment number on the command line: 1 to 128 digits (the service's
/// `FragmentNumberString`), refused here with what is wrong, before any
/// call.
pub fn fragment_number(s: &str) -> Result<FragmentNumber, String> {
    s.parse()
        .map_err(|e| format!("not a fragment number of 1 to 128 digits: {e}"))
}

/// A time on the command line: epoch seconds (`1511852109.126`) or UTC
/// `YYYY-MM-DDTHH:MM:SS[.fff]Z` (RFC 3339; [`Timestamp::parse_rfc3339`]).
pub fn parse_time(s: &str) -> Result<Timestamp, String> {
    match s.parse::<Timestamp>() {
        Ok(t) => return Ok(t),
        // Epoch seconds, but too many of them (or too fine): say so, not
        // that the number is no RFC 3339 time.
        Err(ParseTimestampError::OutOfRange) => {
            return Err(format!(
                "{s:?}: epoch seconds out of range (at most {})",
                u64::MAX
            ))
        }
        Err(e @ ParseTimestampError::TooPrecise) => return Err(format!("{s:?}: {e}")),
        Err(_) => {}
    }
    Timestamp::parse_rfc3339(s)
        .map_err(|e| format!("{s:?} is neither epoch seconds nor YYYY-MM-DDTHH:MM:SS[.fff]Z ({e})"))
}

fn fail(e: &ClientError) -> ExitCode {
    say(e);
    ExitCode::from(if is_usage_error(e) { 2 } else { 1 })
}

/// Errors that retrying cannot mend: what was asked for (the request, the
/// configuration, the credentials) is wrong. Exit 2, as for bad flags.
fn is_usage_error(e: &ClientError) -> bool {
    matches!(
        e,
        ClientError::InvalidRequest(_)
            | ClientError::Config(_)
            | ClientError::Credentials(_)
            | ClientError::Signing { .. }
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

#[derive(clap::Args, Debug)]
pub struct GetMediaArgs {
    #[command(flatten)]
    common: Common,
    /// Where to start: `now`, `earliest`, `fragment N`, `server-ts T`,
    /// `producer-ts T`, `token T` (T: epoch seconds or RFC 3339 UTC).
    /// Given once (a second --start is bad usage, not a value of the first).
    #[arg(long, num_args = 1..=2, value_names = ["KIND", "VALUE"], default_values = ["now"], action = clap::ArgAction::Set)]
    start: Vec<String>,
    /// Stop after N chunks.
    #[arg(long)]
    max_chunks: Option<u64>,
    /// Stop when no chunk came for S seconds (across reconnects); more
    /// than 0 (omit it for no idle timeout).
    #[arg(long, value_name = "S", value_parser = idle_secs)]
    idle_timeout: Option<Duration>,
    /// Keep reconnecting even when sessions deliver nothing (tail forever).
    #[arg(long)]
    follow: bool,
    /// Also write the chunks, merged into one seekable MKV, to this file;
    /// `-` for a streamable MKV on standard output, chunk by chunk (the
    /// rows then go to standard error).
    #[arg(long, value_name = "OUT.mkv|-")]
    save: Option<PathBuf>,
    /// One JSON object per chunk (as `inspect --json`).
    #[arg(long)]
    json: bool,
    /// After each chunk is handled (printed and saved), write where to
    /// resume (`token T`, or `fragment N` for a chunk without a token) to
    /// FILE, atomically (a temporary file in the same directory, synced,
    /// then renamed). When FILE is there at start, it overrides --start:
    /// a process killed and started again loses no fragment and repeats at
    /// most the one it was handling. (--save writes its file anew on each
    /// run: give each run its own name, or use `--save - >> FILE`.)
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
    #[command(flatten)]
    limits: crate::limits::LimitArgs,
}

/// Where `--checkpoint` keeps the resume point: FILE, replaced whole
/// after each chunk.
struct Checkpoint {
    path: PathBuf,
    /// The temporary file, in FILE's directory (a rename does not cross
    /// file systems).
    tmp: PathBuf,
    /// FILE's directory, synced after the rename so that the new name is
    /// durable too.
    dir: PathBuf,
}

/// The most a checkpoint file may hold (a token is at most 128 characters).
const CHECKPOINT_MAX: u64 = 4096;

impl Checkpoint {
    fn new(path: PathBuf) -> Checkpoint {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut name = std::ffi::OsString::from(".");
        name.push(path.file_name().unwrap_or_default());
        name.push(".tmp");
        Checkpoint {
            tmp: dir.join(name),
            dir,
            path,
        }
    }

    /// The selector FILE holds; `None` when there is no FILE. An
    /// unreadable or malformed FILE is an error naming it.
    fn read(&self) -> Result<Option<StartSelector>, String> {
        use std::io::Read;
        let name = self.path.display();
        // Only a regular file can be one: opening a FIFO waited for a
        // writer forever, before any call; a device or a directory could
        // never be replaced by the rename after each chunk.
        match std::fs::metadata(&self.path) {
            Ok(m) if !m.is_file() => {
                return Err(format!("--checkpoint {name}: not a regular file"));
            }
            _ => {}
        }
        let file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("--checkpoint {name}: cannot read: {e}")),
        };
        let mut bytes = Vec::new();
        file.take(CHECKPOINT_MAX + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("--checkpoint {name}: cannot read: {e}"))?;
        let malformed = || {
            format!("--checkpoint {name}: malformed (expected one line: `token T` or `fragment N`)")
        };
        if bytes.len() as u64 > CHECKPOINT_MAX {
            return Err(malformed());
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| malformed())?;
        let line = text.strip_suffix('\n').unwrap_or(text);
        let (kind, value) = line.split_once(' ').ok_or_else(malformed)?;
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(malformed());
        }
        match kind {
            "token" => Ok(Some(StartSelector::ContinuationToken(value.to_string()))),
            "fragment" => match value.parse() {
                Ok(n) => Ok(Some(StartSelector::FragmentNumber(n))),
                Err(e) => Err(format!("{}: {e}", malformed())),
            },
            _ => Err(malformed()),
        }
    }

    /// Replaces FILE with `kind value`: written to the temporary file,
    /// synced, renamed over FILE, the directory synced.
    fn write(&self, kind: &str, value: &str) -> io::Result<()> {
        {
            let mut f = std::fs::File::create(&self.tmp)?;
            writeln!(f, "{kind} {value}")?;
            f.sync_all()?;
        }
        std::fs::rename(&self.tmp, &self.path)?;
        // Some file systems cannot sync a directory; the rename is done.
        if let Ok(d) = std::fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

/// A get-media `--idle-timeout`: 0 would stop before the first chunk
/// (serve's timeouts take 0 as "off", so neither reading is safe to
/// guess); no idle timeout is the flag left out.
fn idle_secs(s: &str) -> Result<Duration, String> {
    let d = crate::serve::secs(s)?;
    if d.is_zero() {
        return Err("0 would stop at once; omit --idle-timeout for no idle timeout".into());
    }
    Ok(d)
}

fn start_selector(v: &[String]) -> Result<StartSelector, String> {
    let value = || {
        v.get(1)
            .cloned()
            .ok_or_else(|| format!("--start {} needs a value", v[0]))
    };
    // `now` and `earliest` take no value: `--start earliest 5` is a
    // mistake (for `fragment 5`?), not `earliest`.
    let alone = |selector: StartSelector| match v.get(1) {
        Some(extra) => Err(format!("--start {} takes no value (got {extra:?})", v[0])),
        None => Ok(selector),
    };
    Ok(match v[0].as_str() {
        "now" => alone(StartSelector::Now)?,
        "earliest" => alone(StartSelector::Earliest)?,
        "fragment" => StartSelector::FragmentNumber(
            fragment_number(&value()?).map_err(|e| format!("--start fragment {:?}: {e}", v[1]))?,
        ),
        "server-ts" => StartSelector::ServerTimestamp(parse_time(&value()?)?),
        "producer-ts" => StartSelector::ProducerTimestamp(parse_time(&value()?)?),
        "token" => StartSelector::ContinuationToken(value()?),
        other => return Err(format!("unknown --start {other:?}: now, earliest, fragment N, server-ts T, producer-ts T, token T")),
    })
}

pub fn get_media(args: GetMediaArgs) -> ExitCode {
    let checkpoint = args.checkpoint.map(Checkpoint::new);
    // A checkpoint left by an earlier run overrides --start.
    let saved = match checkpoint.as_ref().map(Checkpoint::read).transpose() {
        Ok(s) => s.flatten(),
        Err(e) => {
            say(e);
            return ExitCode::from(2);
        }
    };
    // --start is checked even then: a mistake in it is bad usage on
    // every run, not only on the first (before the checkpoint exists).
    let start = match start_selector(&args.start) {
        Ok(s) => saved.unwrap_or(s),
        Err(e) => {
            say(e);
            return ExitCode::from(2);
        }
    };
    let rt = runtime();
    let (client, stream) = match args.common.client(&rt) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let mut options = GetMediaOptions::default();
    options.limits = args.limits.limits();
    options.max_chunks = args.max_chunks;
    options.idle_timeout = args.idle_timeout;
    if args.follow {
        options.stop_after_empty_sessions = None;
    }
    let chunks = client.get_media(stream, start, options);
    rt.block_on(print_chunks(chunks, args.json, args.save, checkpoint))
}

/// A chunk stream that may call the service again on its own: each new
/// reconnect is said on stderr, one line each.
trait Reconnects {
    /// The reconnects so far, and how the last one reads.
    fn reconnects(&self) -> (u64, Option<String>) {
        (0, None)
    }
}

impl Reconnects for MediaStream {
    fn reconnects(&self) -> (u64, Option<String>) {
        let line = self
            .last_reconnect()
            .map(|r| format!("{}; resuming at {}", r.reason, r.selector));
        (MediaStream::reconnects(self), line)
    }
}

/// GetMediaForFragmentList asks again for what is missing, but says
/// nothing of it through its stream type.
impl Reconnects for ChunkStream {}

/// Runs a chunk stream to its end, or to the first SIGINT / SIGTERM: rows
/// (or JSON lines) as chunks come, the `--save` file, the exit status.
async fn print_chunks(
    mut chunks: impl futures::Stream<Item = Result<Chunk, ClientError>> + Reconnects + Unpin,
    json: bool,
    save: Option<PathBuf>,
    checkpoint: Option<Checkpoint>,
) -> ExitCode {
    // Caught before the first call, so that no signal is lost.
    let mut stop = match Signals::new() {
        Ok(s) => s.watch(),
        Err(e) => {
            say(format_args!("cannot catch signals: {e}"));
            return ExitCode::from(2);
        }
    };
    let mut session = match Session::start(json, save, checkpoint) {
        Ok(s) => s,
        Err(status) => return ExitCode::from(status),
    };
    let mut reconnects = 0;
    let mut say_reconnects = |chunks: &dyn Reconnects| {
        let (n, why) = chunks.reconnects();
        if n > reconnects {
            reconnects = n;
            say(format_args!("reconnect {n}: {}", why.unwrap_or_default()));
        }
    };
    let (stop, early) = loop {
        tokio::select! {
            biased;
            // Stop taking chunks; a second signal exits without finishing.
            Ok(stop) = &mut stop => break (Some(stop), None),
            item = chunks.next() => {
                say_reconnects(&chunks);
                match item {
                    Some(item) => {
                        if let Some(status) = session.item(item) {
                            break (None, Some(status));
                        }
                    }
                    None => break (None, None),
                }
            }
        }
    };
    drop(chunks);
    ExitCode::from(session.finish(stop, early))
}

/// Where `--save` writes: a seekable file, or a streamable MKV on standard
/// output (`--save -`).
enum Save {
    File {
        path: PathBuf,
        /// Whether the file was there before (then it is never removed).
        existed: bool,
        merger: Merger<io::BufWriter<std::fs::File>>,
    },
    Stdout(Merger<io::BufWriter<io::StdoutLock<'static>>>),
}

impl Save {
    fn create(path: PathBuf) -> Result<Save, u8> {
        if path.as_os_str() == "-" {
            let out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
            return Ok(Save::Stdout(Merger::streaming(
                out,
                MergeOptions::default(),
            )));
        }
        let existed = path.exists();
        let file = std::fs::File::create(&path).map_err(|e| {
            say(format_args!(
                "--save {}: cannot create: {e}",
                path.display()
            ));
            2
        })?;
        match Merger::new(io::BufWriter::new(file), MergeOptions::default()) {
            Ok(merger) => Ok(Save::File {
                path,
                existed,
                merger,
            }),
            Err(e) => {
                say(format_args!("--save {}: {e}", path.display()));
                Err(2)
            }
        }
    }

    fn name(&self) -> String {
        match self {
            Save::File { path, .. } => path.display().to_string(),
            Save::Stdout(_) => "standard output".to_string(),
        }
    }

    fn push(&mut self, chunk: Chunk) -> Result<(), MergeError> {
        match self {
            Save::File { merger, .. } => merger.push(chunk),
            Save::Stdout(merger) => merger.push(chunk),
        }
    }

    fn finish(self) -> Result<MergeReport, MergeError> {
        match self {
            Save::File { merger, .. } => merger.finish(),
            Save::Stdout(merger) => merger.finish(),
        }
    }

    /// Says why `what` failed and gives the exit status: a closed pipe
    /// after `--save -` ends quietly with `status`; a change of tracks
    /// refused is 1; a failed write 2.
    fn failed(name: &str, to_stdout: bool, what: &str, e: MergeError, status: u8) -> u8 {
        match e {
            MergeError::Write(e) if to_stdout => stdout_failed(&e, status),
            e @ MergeError::TracksChanged { .. } => {
                say(format_args!("--save {name}: {e}"));
                1
            }
            e => {
                say(format_args!("--save {name}: {what}: {e}"));
                2
            }
        }
    }
}

/// One GetMedia or GetMediaForFragmentList session of the command line:
/// what is done with each item the stream gives ([`item`](Self::item):
/// print it, save it, count it), and how it ends
/// ([`finish`](Self::finish)). Another per-item report (e.g. reconnects)
/// goes in `item`.
struct Session {
    printer: Printer,
    /// Standard output, or standard error when the MKV goes to standard
    /// output (`--save -`).
    rows: Box<dyn Write>,
    rows_on_stdout: bool,
    save: Option<Save>,
    checkpoint: Option<Checkpoint>,
    progress: bool,
    frames: u64,
    bytes: u64,
}

impl Session {
    fn start(
        json: bool,
        save: Option<PathBuf>,
        checkpoint: Option<Checkpoint>,
    ) -> Result<Session, u8> {
        let save = save.map(Save::create).transpose()?;
        let mkv_on_stdout = matches!(save, Some(Save::Stdout(_)));
        let rows: Box<dyn Write> = if mkv_on_stdout {
            Box::new(io::stderr())
        } else {
            Box::new(io::stdout())
        };
        Ok(Session {
            printer: Printer::new(json),
            rows,
            rows_on_stdout: !mkv_on_stdout,
            save,
            checkpoint,
            progress: !mkv_on_stdout && io::stderr().is_terminal(),
            frames: 0,
            bytes: 0,
        })
    }

    /// Handles one item; `Some(status)` when the session must stop.
    fn item(&mut self, item: Result<Chunk, ClientError>) -> Option<u8> {
        match item {
            Ok(chunk) => self.chunk(chunk),
            Err(e) => self.error(e),
        }
    }

    fn chunk(&mut self, chunk: Chunk) -> Option<u8> {
        self.frames += chunk.frames().len() as u64;
        self.bytes += chunk.raw().len() as u64;
        let printed = self
            .printer
            .chunk(&mut self.rows, chunk.info())
            .and_then(|()| self.rows.flush());
        if let Err(e) = printed {
            return Some(self.rows_failed(&e));
        }
        let lag = chunk.info().millis_behind_now();
        // Where to resume after this chunk, taken before the chunk goes to
        // the --save file.
        let resume = match (chunk.continuation_token(), chunk.fragment_number()) {
            (Some(t), _) => Some(("token", t.to_string())),
            (None, Some(n)) => Some(("fragment", n.to_string())),
            (None, None) => None,
        };
        if let Some(save) = self.save.as_mut() {
            if let Err(e) = save.push(chunk) {
                self.printer.errors += 1;
                let to_stdout = !self.rows_on_stdout;
                return Some(Save::failed(
                    &save.name(),
                    to_stdout,
                    "writing",
                    e,
                    self.printer.status(),
                ));
            }
        }
        // Printed and saved: the chunk is handled.
        if let (Some(checkpoint), Some((kind, value))) = (&self.checkpoint, resume) {
            if let Err(e) = checkpoint.write(kind, &value) {
                self.printer.errors += 1;
                say(format_args!(
                    "--checkpoint {}: cannot write: {e}",
                    checkpoint.path.display()
                ));
                return Some(2);
            }
        }
        if self.progress {
            // Updated in place; the closing line says what was written.
            let lag = lag.map_or_else(|| "-".to_string(), |ms| format!("{ms} ms"));
            eprint!(
                "\r{} chunks, {} frames, {} bytes, lag {lag}\x1b[K",
                self.printer.index, self.frames, self.bytes
            );
        }
        None
    }

    fn error(&mut self, e: ClientError) -> Option<u8> {
        self.printer.errors += 1;
        if self.printer.json {
            let line =
                json!({"kind": "error", "offset": null, "message": e.to_string(), "skipped": 0});
            if let Err(e) =
                writeln!(self.rows, "{}", json_line(&line)).and_then(|()| self.rows.flush())
            {
                return Some(self.rows_failed(&e));
            }
        } else {
            let _ = self.rows.flush();
            say(&e);
        }
        is_usage_error(&e).then_some(2)
    }

    fn rows_failed(&self, e: &io::Error) -> u8 {
        if self.rows_on_stdout {
            stdout_failed(e, self.printer.status())
        } else {
            2
        }
    }

    /// Finishes the `--save` file with every chunk taken so far and says
    /// what it holds; the exit status. `stop` is the signal that ended the
    /// session, `early` the status of an item that did.
    fn finish(mut self, stop: Option<Stop>, early: Option<u8>) -> u8 {
        if self.progress {
            eprintln!();
        }
        let mut status = early
            .or(stop.map(|s| s.status))
            .unwrap_or(self.printer.status());
        let interrupted = stop
            .map(|s| format!("interrupted by {}: ", s.name))
            .unwrap_or_default();
        let Some(save) = self.save.take() else {
            if stop.is_some() {
                say(format_args!(
                    "{interrupted}{} chunks, {} frames, {} bytes received",
                    self.printer.index, self.frames, self.bytes
                ));
            }
            return status;
        };
        let name = save.name();
        let (file, created) = match &save {
            Save::File { path, existed, .. } => (Some(path.clone()), !existed),
            Save::Stdout(_) => (None, false),
        };
        let report = match save.finish() {
            Ok(report) => report,
            Err(MergeError::NoTracks { .. }) => {
                say(format_args!(
                    "{interrupted}--save {name}: nothing saved (no chunk with tracks)"
                ));
                if let (Some(path), true) = (&file, created) {
                    remove_if_empty_file(path);
                }
                return if early.is_some() || stop.is_some() {
                    status
                } else {
                    1
                };
            }
            // Already said: the write that failed before.
            Err(_) if early.is_some() => return status,
            Err(e) => return Save::failed(&name, file.is_none(), "finishing", e, status),
        };
        say(format_args!(
            "{interrupted}saved {} chunks, {} frames ({} bytes of frames) to {name} ({} bytes)",
            report.chunks, report.frames, report.frame_bytes, report.bytes_written,
        ));
        if report.skipped_frames > 0 {
            say(format_args!(
                "--save {name}: {} frames of undeclared tracks were left out",
                report.skipped_frames
            ));
            if early.is_none() && stop.is_none() {
                status = status.max(1);
            }
        }
        status
    }
}

#[derive(clap::Args, Debug)]
pub struct ListFragmentsArgs {
    #[command(flatten)]
    common: Common,
    /// Start of the time range.
    #[arg(long, value_parser = parse_time, requires = "to")]
    from: Option<Timestamp>,
    /// End of the time range.
    #[arg(long, value_parser = parse_time, requires = "from")]
    to: Option<Timestamp>,
    /// Which timestamps the range is about.
    #[arg(long, value_enum, default_value = "server")]
    timestamp: Which,
    /// One JSON object per fragment.
    #[arg(long)]
    json: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Which {
    Server,
    Producer,
}

impl From<Which> for TimestampKind {
    fn from(w: Which) -> Self {
        match w {
            Which::Server => TimestampKind::Server,
            Which::Producer => TimestampKind::Producer,
        }
    }
}

pub fn list_fragments(args: ListFragmentsArgs) -> ExitCode {
    let rt = runtime();
    let (client, stream) = match args.common.client(&rt) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let selector = match (args.from, args.to) {
        (Some(start), Some(end)) => Some(FragmentSelector {
            kind: args.timestamp.into(),
            start,
            end,
        }),
        _ => None,
    };
    rt.block_on(async move {
        let mut pages = client.list_fragments(stream, selector, Pagination::default());
        let mut all = Vec::new();
        while let Some(page) = pages.next().await {
            match page {
                Ok(p) => all.extend(p.items),
                Err(e) => return fail(&e),
            }
        }
        let mut out = io::stdout().lock();
        let written = write_fragments(&mut out, all, args.json).and_then(|()| out.flush());
        ExitCode::from(written.map_or_else(|e| stdout_failed(&e, 0), |()| 0))
    })
}

/// The listing, sorted by fragment number: one JSON object per line, or a
/// table whose fixed-width columns come first and the fragment number
/// (up to 128 digits) last.
fn write_fragments(out: &mut impl Write, all: Vec<Fragment>, json: bool) -> io::Result<()> {
    let ts = |t: Option<Timestamp>| t.map(|t| t.to_string());
    if !json && !all.is_empty() {
        writeln!(
            out,
            "{:>10} {:>14} {:>14} {:>9} FRAGMENT",
            "SIZE", "PRODUCER_TS", "SERVER_TS", "LENGTH_MS"
        )?;
    }
    for f in sort_fragments(all, FragmentOrder::FragmentNumber) {
        if json {
            let line = json!({
                "FragmentNumber": f.fragment_number.as_str(),
                "FragmentSizeInBytes": f.size_bytes,
                "ProducerTimestamp": ts(f.producer_timestamp),
                "ServerTimestamp": ts(f.server_timestamp),
                "FragmentLengthInMilliseconds": f.length_ms,
            });
            writeln!(out, "{}", json_line(&line))?;
        } else {
            let dash = || "-".to_string();
            let row = format!(
                "{:>10} {:>14} {:>14} {:>9} {}",
                f.size_bytes.map_or_else(dash, |v| v.to_string()),
                ts(f.producer_timestamp).unwrap_or_else(dash),
                ts(f.server_timestamp).unwrap_or_else(dash),
                f.length_ms.map_or_else(dash, |v| v.to_string()),
                f.fragment_number,
            );
            // The fragment number is the server's text.
            writeln!(out, "{}", escape(&row))?;
        }
    }
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct FragmentListArgs {
    #[command(flatten)]
    common: Common,
    /// Fragment numbers (1 to 128 digits each), in the order wanted.
    #[arg(required = true, value_name = "FRAGMENT", value_parser = fragment_number)]
    fragments: Vec<FragmentNumber>,
    /// Also write the chunks, merged into one seekable MKV, to this file;
    /// `-` for a streamable MKV on standard output, chunk by chunk (the
    /// rows then go to standard error).
    #[arg(long, value_name = "OUT.mkv|-")]
    save: Option<PathBuf>,
    /// One JSON object per chunk.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    limits: crate::limits::LimitArgs,
}

pub fn get_media_for_fragment_list(args: FragmentListArgs) -> ExitCode {
    let rt = runtime();
    let (client, stream) = match args.common.client(&rt) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let chunks = client.get_media_for_fragment_list(stream, args.fragments, args.limits.limits());
    rt.block_on(print_chunks(chunks, args.json, args.save, None))
}

#[derive(clap::Args, Debug)]
pub struct GetImagesArgs {
    #[command(flatten)]
    common: Common,
    /// Start of the time range.
    #[arg(long, value_parser = parse_time)]
    from: Timestamp,
    /// End of the time range.
    #[arg(long, value_parser = parse_time)]
    to: Timestamp,
    /// Sampling interval in milliseconds (the service's minimum is 3000).
    #[arg(long, default_value_t = 3000)]
    interval: u32,
    /// Which timestamps the range is about.
    #[arg(long, value_enum, default_value = "server")]
    timestamp: Which,
    /// Image format.
    #[arg(long, value_enum, default_value = "jpeg")]
    format: Format,
    /// JPEG quality, 1-100 (with --format jpeg only: the service's
    /// FormatConfig JPEGQuality applies to JPEG images alone).
    #[arg(long)]
    quality: Option<u8>,
    /// Width in pixels (with --height).
    #[arg(long, requires = "height")]
    width: Option<u32>,
    /// Height in pixels.
    #[arg(long)]
    height: Option<u32>,
    /// Directory for the images, one file per image: EPOCHMS.jpg|png
    /// (EPOCHMS-N.jpg|png for the Nth more of the same millisecond,
    /// `unknown` for images without a timestamp).
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Format {
    Jpeg,
    Png,
}

pub fn get_images(args: GetImagesArgs) -> ExitCode {
    // A quality for a PNG would be dropped without a word: refuse it, as
    // --width without --height is refused.
    if let (Some(q), Format::Png) = (args.quality, args.format) {
        say(format_args!(
            "--quality {q} applies to --format jpeg only, not --format png"
        ));
        return ExitCode::from(2);
    }
    // An --out that is there but no directory (a file, /dev/null) would
    // fail at create_dir_all with "File exists", which hides the cause:
    // say it, before any request. A link to a directory is a directory.
    if std::fs::metadata(&args.out).is_ok_and(|m| !m.is_dir()) {
        say(format_args!(
            "--out {} exists and is not a directory",
            args.out.display()
        ));
        return ExitCode::from(2);
    }
    // A link that leads nowhere (dangling, or a loop) failed the same way,
    // "File exists", as create_dir_all does not make its target.
    if std::fs::metadata(&args.out).is_err() && std::fs::symlink_metadata(&args.out).is_ok() {
        say(format_args!(
            "--out {} is a symbolic link that does not lead to a directory",
            args.out.display()
        ));
        return ExitCode::from(2);
    }
    let rt = runtime();
    let (client, stream) = match args.common.client(&rt) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let mut request =
        GetImagesRequest::new(args.timestamp.into(), args.from, args.to, args.interval);
    request.format = match args.format {
        Format::Jpeg => ImageFormat::Jpeg {
            quality: args.quality,
        },
        Format::Png => ImageFormat::Png,
    };
    request.width = args.width;
    request.height = args.height;
    // The directories this run makes (the innermost first): removed again
    // when it fails before writing an image, so that a refused request
    // (`--quality 0`, a stream name with a space) or a service error
    // leaves no empty directory behind.
    let made: Vec<PathBuf> = args
        .out
        .ancestors()
        .take_while(|p| !p.as_os_str().is_empty() && std::fs::symlink_metadata(p).is_err())
        .map(PathBuf::from)
        .collect();
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        say(format_args!("cannot create {}: {e}", args.out.display()));
        return ExitCode::from(2);
    }
    let (status, written) = rt.block_on(write_images(client, stream, request, &args.out));
    if written == 0 && status != ExitCode::SUCCESS {
        for dir in &made {
            if std::fs::remove_dir(dir).is_err() {
                break;
            }
        }
    }
    status
}

/// The images of `request`, one file each in `out`: the exit status, and
/// how many images were written.
async fn write_images(
    client: Client,
    stream: StreamId,
    request: GetImagesRequest,
    out_dir: &std::path::Path,
) -> (ExitCode, u64) {
    let mut written = 0;
    let status = async {
        let mut pages = client.get_images(stream, &request, Pagination::default());
        let mut missing = 0;
        // Images already written per name stem: two images of the same
        // millisecond (or without a timestamp) get files of their own.
        let mut stems: std::collections::HashMap<String, u64> = Default::default();
        let mut out = io::stdout().lock();
        while let Some(page) = pages.next().await {
            let page = match page {
                Ok(p) => p,
                Err(e) => return fail(&e),
            };
            for image in page.items {
                let when = image
                    .timestamp
                    .map(|t| t.as_millis().to_string())
                    .unwrap_or_else(|| "unknown".into());
                match image.content {
                    Ok(bytes) => {
                        let seen = stems.entry(when.clone()).or_default();
                        let stem = match *seen {
                            0 => when.clone(),
                            n => format!("{when}-{n}"),
                        };
                        *seen += 1;
                        let path = out_dir.join(format!("{stem}.{}", request.format.extension()));
                        if let Err(e) = std::fs::write(&path, &bytes) {
                            say(format_args!("writing {}: {e}", path.display()));
                            return ExitCode::from(2);
                        }
                        let listed = writeln!(out, "{}", path.display()).and_then(|()| out.flush());
                        if let Err(e) = listed {
                            return ExitCode::from(stdout_failed(&e, 0));
                        }
                        written += 1;
                    }
                    Err(why) => {
                        let why = match why {
                            ImageError::NoMedia => "NO_MEDIA".to_string(),
                            ImageError::MediaError => "MEDIA_ERROR".to_string(),
                            ImageError::Other(o) => o,
                        };
                        // The server's text: say() escapes it.
                        say(format_args!("no image at {when}: {why}"));
                        missing += 1;
                    }
                }
            }
        }
        say(format_args!(
            "{written} images written, {missing} times without an image"
        ));
        ExitCode::SUCCESS
    }
    .await;
    (status, written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(
            parse_time("1511852109.126").unwrap().as_millis(),
            1_511_852_109_126
        );
        assert_eq!(
            parse_time("2017-11-28T06:55:09.126Z").unwrap().as_millis(),
            1_511_852_109_126
        );
        assert_eq!(parse_time("1970-01-01T00:00:00Z").unwrap().as_millis(), 0);
        assert_eq!(
            parse_time("2000-02-29T12:00:00Z").unwrap().secs(),
            951_825_600
        );
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("2017-13-01T00:00:00Z").is_err());
        assert!(parse_time("10000-01-01T00:00:00Z").is_err());
        assert!(parse_time("9999-12-31T23:59:59Z").is_ok());
    }

    #[test]
    fn impossible_dates_are_refused() {
        for bad in [
            "2023-02-31T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2023-04-31T00:00:00Z",
            "2023-00-10T00:00:00Z",
            "2023-01-00T00:00:00Z",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
        for good in [
            "2024-02-29T00:00:00Z",
            "2000-02-29T00:00:00Z",
            "2023-01-31T23:59:59Z",
            "2023-04-30T00:00:00Z",
            "2023-12-31T00:00:00.5Z",
        ] {
            assert!(parse_time(good).is_ok(), "{good}");
        }
        // The day after the last of February is the first of March.
        assert_eq!(
            parse_time("2024-03-01T00:00:00Z").unwrap().secs()
                - parse_time("2024-02-29T00:00:00Z").unwrap().secs(),
            86_400
        );
    }
}
