//! `kvs-mkv merge`: one seekable MKV from a GetMedia body.

use std::io::BufWriter;
use std::path::PathBuf;
use std::process::ExitCode;

use kvs_mkv::merge::{merge, MergeError, MergeOptions, Timeline};

#[derive(clap::Args)]
pub struct Args {
    /// The input file; `-` or nothing for standard input.
    file: Option<PathBuf>,
    /// The merged file to write (a file: it is patched at the end).
    #[arg(short, long, value_name = "OUT.mkv")]
    output: PathBuf,
    /// Keep forward gaps between fragments instead of closing them.
    #[arg(long)]
    keep_gaps: bool,
}

pub fn run(args: Args) -> ExitCode {
    let input = match crate::open_input(args.file.as_deref()) {
        Ok(i) => i,
        Err(code) => return code,
    };
    let out_name = args.output.display();
    let output = match std::fs::File::create(&args.output) {
        Ok(f) => BufWriter::with_capacity(1 << 20, f),
        Err(e) => {
            eprintln!("kvs-mkv: cannot create {out_name}: {e}");
            return ExitCode::from(2);
        }
    };
    let mut options = MergeOptions::default();
    if args.keep_gaps {
        options.timeline = Timeline::KeepGaps;
    }
    let report = match merge(input, output, &options) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("kvs-mkv: {e}");
            // Nothing written (no tracks, or unreadable from the start):
            // leave no empty file behind.
            if std::fs::metadata(&args.output).is_ok_and(|m| m.len() == 0) {
                let _ = std::fs::remove_file(&args.output);
            }
            let refused = matches!(e, MergeError::TracksChanged { .. } | MergeError::NoTracks);
            return ExitCode::from(if refused { 1 } else { 2 });
        }
    };
    for e in &report.decode_errors {
        eprintln!("kvs-mkv: {e}");
    }
    let unlisted = report.decode_error_count - report.decode_errors.len() as u64;
    if unlisted > 0 {
        eprintln!("kvs-mkv: ... and {unlisted} more decoding errors");
    }
    for c in &report.incomplete {
        eprintln!(
            "kvs-mkv: chunk {} (at byte {}) was cut short; its {} complete frames were kept",
            c.index, c.offset, c.frames_kept
        );
    }
    if report.skipped_frames > 0 {
        eprintln!(
            "kvs-mkv: {} frames of undeclared tracks were left out",
            report.skipped_frames
        );
    }
    eprintln!(
        "kvs-mkv: merged {} chunks, {} frames ({} bytes), {:.3} s, into {out_name} ({} bytes)",
        report.chunks,
        report.frames,
        report.frame_bytes,
        report.duration_ns as f64 / 1e9,
        report.bytes_written,
    );
    if report.decode_error_count > 0 || report.skipped_frames > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
