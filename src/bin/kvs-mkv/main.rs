//! `kvs-mkv`: command-line tools for Kinesis Video Streams media.

mod fetch;
mod inspect;
mod merge;
mod serve;

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
}

#[derive(Subcommand)]
enum Command {
    /// Decode a GetMedia / GetMediaForFragmentList body (or any Matroska
    /// stream) and print one row per chunk, or one JSON line with --json.
    ///
    /// Exit status: 0 when every chunk decoded cleanly, 1 when any error was
    /// reported (decoding goes on after it), 2 for bad usage or an
    /// unreadable file.
    Inspect(inspect::Args),
    /// GetMedia: tail a stream across reconnects, one row (or JSON line) per chunk.
    GetMedia(fetch::GetMediaArgs),
    /// ListFragments: every fragment in a time range, sorted by fragment number.
    ListFragments(fetch::ListFragmentsArgs),
    /// GetMediaForFragmentList: the chunks of the given fragments.
    GetMediaForFragmentList(fetch::FragmentListArgs),
    /// GetImages: one image file per sampled timestamp.
    GetImages(fetch::GetImagesArgs),
    /// Merge a GetMedia / GetMediaForFragmentList body into one standard,
    /// seekable MKV (one Segment, Cues, AWS tags kept as Matroska Tags).
    ///
    /// Each chunk continues where the previous one ended (--keep-gaps keeps
    /// forward gaps). A chunk cut short keeps its complete frames. A change
    /// of tracks (codec or CodecPrivate) is refused; the output then holds
    /// the chunks before it.
    ///
    /// Exit status: 0 when merged cleanly (a stream cut at the end
    /// included), 1 when input was damaged or refused, 2 for bad usage, an
    /// unreadable input or an unwritable output.
    Merge(merge::Args),
    /// Serve recordings as a local Kinesis Video Streams endpoint
    /// (GetDataEndpoint, GetMedia, ListFragments, GetMediaForFragmentList,
    /// GetImages), SigV4-checked. Prints the URL as the first line of
    /// standard output; runs until interrupted.
    Serve(Box<serve::Args>),
}

/// The input of `inspect` and `merge`: a file, or standard input for `-` or
/// nothing. An unreadable file is exit status 2, said on stderr.
pub fn open_input(file: Option<&std::path::Path>) -> Result<Box<dyn std::io::Read>, ExitCode> {
    match file {
        None => Ok(Box::new(std::io::stdin().lock())),
        Some(p) if p.as_os_str() == "-" => Ok(Box::new(std::io::stdin().lock())),
        Some(p) => std::fs::File::open(p)
            .map(|f| Box::new(f) as Box<dyn std::io::Read>)
            .map_err(|e| {
                eprintln!("kvs-mkv: cannot open {}: {e}", p.display());
                ExitCode::from(2)
            }),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Inspect(args) => inspect::run(args),
        Command::GetMedia(args) => fetch::get_media(args),
        Command::ListFragments(args) => fetch::list_fragments(args),
        Command::GetMediaForFragmentList(args) => fetch::get_media_for_fragment_list(args),
        Command::GetImages(args) => fetch::get_images(args),
        Command::Merge(args) => merge::run(args),
        Command::Serve(args) => serve::run(*args),
    }
}
