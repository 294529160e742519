//! `kvs-mkv`: command-line tools for Kinesis Video Streams media.

mod inspect;
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
    /// Serve recordings as a local Kinesis Video Streams endpoint
    /// (GetDataEndpoint, GetMedia, ListFragments, GetMediaForFragmentList,
    /// GetImages), SigV4-checked. Prints the URL as the first line of
    /// standard output; runs until interrupted.
    Serve(Box<serve::Args>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Inspect(args) => inspect::run(args),
        Command::Serve(args) => serve::run(*args),
    }
}
