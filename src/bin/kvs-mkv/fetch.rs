//! The commands that call the service: get-media, list-fragments,
//! get-media-for-fragment-list, get-images.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use futures::StreamExt;
use kvs_mkv::client::{
    sort_fragments, Client, ClientConfig, ClientError, FragmentOrder, FragmentSelector,
    GetImagesRequest, GetMediaOptions, ImageError, ImageFormat, Pagination, StartSelector,
    StreamId, TimestampKind,
};
use kvs_mkv::merge::{MergeOptions, Merger};
use kvs_mkv::{Chunk, Limits, Timestamp};
use serde_json::json;

use crate::inspect::Printer;

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
    fn client(&self) -> Result<(Client, StreamId), ClientError> {
        let mut config = ClientConfig::from_env(self.profile.as_deref(), self.region.as_deref())?;
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

/// A time on the command line: epoch seconds (`1511852109.126`) or UTC
/// `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
pub fn parse_time(s: &str) -> Result<Timestamp, String> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    let err = || format!("{s:?} is neither epoch seconds nor YYYY-MM-DDTHH:MM:SS[.fff]Z");
    let s2 = s.strip_suffix('Z').ok_or_else(err)?;
    let (date, time) = s2.split_once('T').ok_or_else(err)?;
    let d: Vec<i64> = date
        .split('-')
        .map(|p| p.parse().map_err(|_| err()))
        .collect::<Result<_, _>>()?;
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let t: Vec<u64> = hms
        .split(':')
        .map(|p| p.parse().map_err(|_| err()))
        .collect::<Result<_, _>>()?;
    if d.len() != 3
        || t.len() != 3
        || !(1..=12).contains(&d[1])
        || !(1..=31).contains(&d[2])
        || t[0] > 23
        || t[1] > 59
        || t[2] > 60
    {
        return Err(err());
    }
    // Days from civil (Howard Hinnant's algorithm).
    let (y, m, day) = (d[0] - i64::from(d[1] <= 2), d[1], d[2]);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = u64::try_from(days * 86_400).map_err(|_| err())? + t[0] * 3600 + t[1] * 60 + t[2];
    format!("{secs}{}{frac}", if frac.is_empty() { "" } else { "." })
        .parse()
        .map_err(|_| err())
}

fn fail(e: &ClientError) -> ExitCode {
    eprintln!("kvs-mkv: {e}");
    match e {
        ClientError::InvalidRequest(_)
        | ClientError::Config(_)
        | ClientError::Credentials(_)
        | ClientError::Signing { .. } => ExitCode::from(2),
        _ => ExitCode::from(1),
    }
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
    #[arg(long, num_args = 1..=2, value_names = ["KIND", "VALUE"], default_values = ["now"])]
    start: Vec<String>,
    /// Stop after N chunks.
    #[arg(long)]
    max_chunks: Option<u64>,
    /// Stop when no chunk came for S seconds (across reconnects).
    #[arg(long)]
    idle_timeout: Option<f64>,
    /// Keep reconnecting even when sessions deliver nothing (tail forever).
    #[arg(long)]
    follow: bool,
    /// Also write the chunks, merged into one seekable MKV, to this file.
    #[arg(long)]
    save: Option<PathBuf>,
    /// One JSON object per chunk (as `inspect --json`).
    #[arg(long)]
    json: bool,
}

fn start_selector(v: &[String]) -> Result<StartSelector, String> {
    let value = || {
        v.get(1)
            .cloned()
            .ok_or_else(|| format!("--start {} needs a value", v[0]))
    };
    Ok(match v[0].as_str() {
        "now" => StartSelector::Now,
        "earliest" => StartSelector::Earliest,
        "fragment" => StartSelector::FragmentNumber(value()?),
        "server-ts" => StartSelector::ServerTimestamp(parse_time(&value()?)?),
        "producer-ts" => StartSelector::ProducerTimestamp(parse_time(&value()?)?),
        "token" => StartSelector::ContinuationToken(value()?),
        other => return Err(format!("unknown --start {other:?}: now, earliest, fragment N, server-ts T, producer-ts T, token T")),
    })
}

pub fn get_media(args: GetMediaArgs) -> ExitCode {
    let start = match start_selector(&args.start) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kvs-mkv: {e}");
            return ExitCode::from(2);
        }
    };
    let (client, stream) = match args.common.client() {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let mut options = GetMediaOptions::default();
    options.max_chunks = args.max_chunks;
    options.idle_timeout = args.idle_timeout.map(Duration::from_secs_f64);
    if args.follow {
        options.stop_after_empty_sessions = None;
    }
    let chunks = client.get_media(stream, start, options);
    runtime().block_on(print_chunks(chunks, args.json, args.save))
}

async fn print_chunks(
    mut chunks: impl futures::Stream<Item = Result<Chunk, ClientError>> + Unpin,
    json: bool,
    save: Option<PathBuf>,
) -> ExitCode {
    let mut save = match save.map(|p| std::fs::File::create(p).map(io::BufWriter::new)) {
        None => None,
        Some(Ok(f)) => match Merger::new(f, MergeOptions::default()) {
            Ok(m) => Some(m),
            Err(e) => {
                eprintln!("kvs-mkv: cannot start the --save file: {e}");
                return ExitCode::from(2);
            }
        },
        Some(Err(e)) => {
            eprintln!("kvs-mkv: cannot create the --save file: {e}");
            return ExitCode::from(2);
        }
    };
    let mut out = io::stdout().lock();
    let mut printer = Printer {
        json,
        index: 0,
        errors: 0,
    };
    let progress = io::stderr().is_terminal();
    if !json {
        let _ = printer.header(&mut out);
    }
    let (mut frames, mut bytes) = (0u64, 0u64);
    while let Some(item) = chunks.next().await {
        match item {
            Ok(chunk) => {
                frames += chunk.frames().len() as u64;
                bytes += chunk.raw().len() as u64;
                if printer.chunk(&mut out, chunk.info()).is_err() {
                    break;
                }
                if let Some(m) = save.as_mut() {
                    if let Err(e) = m.push(chunk) {
                        eprintln!("kvs-mkv: --save: {e}");
                        printer.errors += 1;
                        break;
                    }
                }
                let _ = out.flush();
                if progress {
                    eprint!("\r{} chunks, {frames} frames, {bytes} bytes", printer.index);
                }
            }
            Err(e) => {
                printer.errors += 1;
                let _ = out.flush();
                if json {
                    let _ = writeln!(
                        out,
                        "{}",
                        json!({"kind": "error", "offset": null, "message": e.to_string(), "skipped": 0})
                    );
                } else {
                    eprintln!("kvs-mkv: {e}");
                }
                if matches!(
                    e,
                    ClientError::InvalidRequest(_)
                        | ClientError::Credentials(_)
                        | ClientError::Config(_)
                        | ClientError::Signing { .. }
                ) {
                    return ExitCode::from(2);
                }
            }
        }
    }
    if progress {
        eprintln!();
    }
    if let Some(m) = save {
        if let Err(e) = m.finish() {
            eprintln!("kvs-mkv: finishing the --save file: {e}");
            return ExitCode::from(1);
        }
    }
    ExitCode::from(if printer.errors > 0 { 1 } else { 0 })
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
    let (client, stream) = match args.common.client() {
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
    runtime().block_on(async move {
        let mut pages = client.list_fragments(stream, selector, Pagination::default());
        let mut all = Vec::new();
        while let Some(page) = pages.next().await {
            match page {
                Ok(p) => all.extend(p.items),
                Err(e) => return fail(&e),
            }
        }
        let mut out = io::stdout().lock();
        for f in sort_fragments(all, FragmentOrder::FragmentNumber) {
            let ts = |t: Option<Timestamp>| t.map(|t| t.to_string());
            let line = if args.json {
                json!({
                    "FragmentNumber": f.fragment_number,
                    "FragmentSizeInBytes": f.size_bytes,
                    "ProducerTimestamp": ts(f.producer_timestamp),
                    "ServerTimestamp": ts(f.server_timestamp),
                    "FragmentLengthInMilliseconds": f.length_ms,
                })
                .to_string()
            } else {
                format!(
                    "{:<48} {:>10} {:>16} {:>16} {:>8}",
                    f.fragment_number,
                    f.size_bytes.map(|v| v.to_string()).unwrap_or_default(),
                    ts(f.producer_timestamp).unwrap_or_default(),
                    ts(f.server_timestamp).unwrap_or_default(),
                    f.length_ms.map(|v| v.to_string()).unwrap_or_default(),
                )
            };
            if writeln!(out, "{line}").is_err() {
                break;
            }
        }
        ExitCode::SUCCESS
    })
}

#[derive(clap::Args, Debug)]
pub struct FragmentListArgs {
    #[command(flatten)]
    common: Common,
    /// Fragment numbers, in the order wanted.
    #[arg(required = true)]
    fragments: Vec<String>,
    /// Also write the chunks, merged into one seekable MKV, to this file.
    #[arg(long)]
    save: Option<PathBuf>,
    /// One JSON object per chunk.
    #[arg(long)]
    json: bool,
}

pub fn get_media_for_fragment_list(args: FragmentListArgs) -> ExitCode {
    let (client, stream) = match args.common.client() {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let chunks = client.get_media_for_fragment_list(stream, args.fragments, Limits::default());
    runtime().block_on(print_chunks(chunks, args.json, args.save))
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
    /// JPEG quality, 1-100.
    #[arg(long)]
    quality: Option<u8>,
    /// Width in pixels (with --height).
    #[arg(long, requires = "height")]
    width: Option<u32>,
    /// Height in pixels.
    #[arg(long)]
    height: Option<u32>,
    /// Directory for the images, one file per timestamp: EPOCHMS.jpg|png.
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Format {
    Jpeg,
    Png,
}

pub fn get_images(args: GetImagesArgs) -> ExitCode {
    let (client, stream) = match args.common.client() {
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
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        eprintln!("kvs-mkv: cannot create {}: {e}", args.out.display());
        return ExitCode::from(2);
    }
    runtime().block_on(async move {
        let mut pages = client.get_images(stream, &request, Pagination::default());
        let (mut written, mut missing) = (0, 0);
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
                        let path = args
                            .out
                            .join(format!("{when}.{}", request.format.extension()));
                        if let Err(e) = std::fs::write(&path, &bytes) {
                            eprintln!("kvs-mkv: writing {}: {e}", path.display());
                            return ExitCode::from(1);
                        }
                        println!("{}", path.display());
                        written += 1;
                    }
                    Err(why) => {
                        let why = match why {
                            ImageError::NoMedia => "NO_MEDIA".to_string(),
                            ImageError::MediaError => "MEDIA_ERROR".to_string(),
                            ImageError::Other(o) => o,
                        };
                        eprintln!("kvs-mkv: no image at {when}: {why}");
                        missing += 1;
                    }
                }
            }
        }
        eprintln!("kvs-mkv: {written} images written, {missing} times without an image");
        ExitCode::SUCCESS
    })
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
    }
}
