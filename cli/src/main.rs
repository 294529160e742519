//! `kvs-mkv`: command-line tools for Kinesis Video Streams media.

// `kvs_mkv::client::ClientError` carries a `FragmentNumber` (129 bytes: the
// service models allow 128 digits), past clippy's 128-byte line for
// `Result::Err`; every call that returns it is a network round trip.
#![allow(clippy::result_large_err)]

mod dump;
mod fetch;
mod inspect;
mod limits;
mod merge;
mod out;
mod serve;
mod signals;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "kvs-mkv",
    version,
    about = "Inspect Kinesis Video Streams GetMedia bodies and Matroska streams"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// More log lines on stderr: -v for INFO (sessions the service ended,
    /// credential refreshes, data endpoints asked again), -vv for DEBUG
    /// (every call with its status, request id and duration). Warnings
    /// (retries) are shown by default. RUST_LOG, when set, decides instead
    /// (e.g. RUST_LOG=kvs_mkv=debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
}

/// Log lines (the library's `tracing` events) on stderr, plain text.
/// Without RUST_LOG: warnings, more with -v. The library's own GetMedia
/// reconnect warning is left to the command's one line per reconnect
/// (`kvs-mkv: reconnect N: ...`) unless asked for with -v or RUST_LOG.
fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.is_empty() => EnvFilter::new(directives),
        _ => EnvFilter::new(match verbose {
            0 => "warn,kvs_mkv::client::media=error",
            1 => "info",
            _ => "debug",
        }),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time()
        .try_init();
}

#[derive(Subcommand)]
enum Command {
    /// Decode a GetMedia / GetMediaForFragmentList body (or any Matroska
    /// stream) and print one row per chunk, or one JSON line with --json.
    ///
    /// Exit status: 0 when every chunk decoded cleanly; 1 when any error was
    /// reported (decoding goes on after it) or the input holds no Matroska
    /// data (e.g. it is empty); 2 for bad usage, an unreadable file, or a
    /// failed write of standard output (a closed pipe, as with `| head`,
    /// ends quietly).
    Inspect(inspect::Args),
    /// Print the element tree of a Matroska / EBML stream as it is read:
    /// each element's name, ID, offset, header size and data size, masters'
    /// starts and ends, indented by depth (one JSON line each with --json).
    /// One line per element, indented two spaces per depth: `NAME id=0xID
    /// offset=N header=N size=N|unknown end=N` (NAME is the ID in hex when
    /// the schema does not know it; no end for an unknown size); a master's
    /// end is `/NAME end=N`, with `incomplete` when damage or the end of the
    /// input cut it short. Goes on past damage: the damage is a line
    /// `!! damage at OFFSET: ...` in the tree (and said on stderr), and
    /// reading goes on at the next EBML header.
    ///
    /// Exit status: 0 when no damage was seen; 1 when damage was seen (a
    /// cut input included) or the input holds no Matroska data (e.g. it is
    /// empty); 2 for bad usage, an unreadable file, or a failed write of
    /// standard output (a closed pipe ends quietly).
    Dump(dump::Args),
    /// GetMedia: tail a stream across reconnects, one row (or JSON line) per chunk.
    ///
    /// Exit status: 0 when the stream ended cleanly; 1 when the service or
    /// the stream reported an error; 2 for bad usage, missing credentials or
    /// configuration, or a failed write (standard output or --save).
    /// SIGINT / SIGTERM stop taking chunks, finish the --save file with the
    /// chunks taken, say what was saved, and exit 130 / 143; a second
    /// signal exits at once.
    GetMedia(fetch::GetMediaArgs),
    /// ListFragments: every fragment in a time range, sorted by fragment number.
    ///
    /// Exit status: 0; 1 when the service reported an error; 2 for bad
    /// usage, missing credentials or configuration, or a failed write of
    /// standard output.
    ListFragments(fetch::ListFragmentsArgs),
    /// GetMediaForFragmentList: the chunks of the given fragments.
    ///
    /// Exit status, signals: as get-media.
    GetMediaForFragmentList(fetch::FragmentListArgs),
    /// GetImages: one image file per sampled timestamp.
    ///
    /// Exit status: 0 (times without an image are said on stderr); 1 when
    /// the service reported an error; 2 for bad usage, missing credentials
    /// or configuration, or a failed write (an image file or standard
    /// output).
    GetImages(fetch::GetImagesArgs),
    /// Merge a GetMedia / GetMediaForFragmentList body into one standard,
    /// seekable MKV (one Segment, Cues, AWS tags kept as Matroska Tags), or
    /// a streamable one on standard output (-o -).
    ///
    /// Each chunk continues where the previous one ended (--keep-gaps keeps
    /// forward gaps). A chunk cut short keeps its complete frames. A change
    /// of tracks (codec or CodecPrivate) is refused; the output then holds
    /// the chunks before it.
    ///
    /// Exit status: 0 when merged cleanly (a stream cut at the end
    /// included); 1 when input was damaged or refused, or holds no Matroska
    /// data; 2 for bad usage, an unreadable input or an unwritable output.
    Merge(merge::Args),
    /// Serve recordings as a local Kinesis Video Streams endpoint
    /// (GetDataEndpoint, GetMedia, ListFragments, GetMediaForFragmentList,
    /// GetImages), SigV4-checked. Prints the URL as the first line of
    /// standard output; runs until interrupted.
    ///
    /// Exit status: 0 after SIGINT / SIGTERM; 2 for bad usage, an
    /// unreadable recording, an address it cannot listen on, or a failed
    /// write of the URL.
    Serve(Box<serve::Args>),
}

/// The input of `inspect`, `dump` and `merge`: a file, or standard input
/// for `-` or nothing.
#[derive(clap::Args)]
pub struct Input {
    /// The input file; `-` or nothing for standard input.
    pub file: Option<std::path::PathBuf>,
}

impl Input {
    /// The input opened, and its name for messages. An unreadable file is
    /// exit status 2, said on stderr.
    pub fn open(&self) -> Result<(Box<dyn std::io::Read>, String), ExitCode> {
        match self.file.as_deref() {
            Some(p) if p.as_os_str() != "-" => match std::fs::File::open(p) {
                Ok(f) => Ok((Box::new(f), p.display().to_string())),
                Err(e) => {
                    out::say(format_args!("cannot open {}: {e}", p.display()));
                    Err(ExitCode::from(2))
                }
            },
            _ => Ok((
                Box::new(std::io::stdin().lock()),
                "standard input".to_string(),
            )),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    match cli.command {
        Command::Inspect(args) => inspect::run(args),
        Command::Dump(args) => dump::run(args),
        Command::GetMedia(args) => fetch::get_media(args),
        Command::ListFragments(args) => fetch::list_fragments(args),
        Command::GetMediaForFragmentList(args) => fetch::get_media_for_fragment_list(args),
        Command::GetImages(args) => fetch::get_images(args),
        Command::Merge(args) => merge::run(args),
        Command::Serve(args) => serve::run(*args),
    }
}
