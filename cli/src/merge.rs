//! `kvs-mkv merge`: one seekable MKV from a GetMedia body, or a streamable
//! one on standard output.

use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use kvs_mkv::merge::{merge, merge_streaming, MergeError, MergeOptions, MergeReport, Timeline};

use crate::out::{no_matroska, say, stdout_failed, Counted};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: crate::Input,
    /// The merged file to write (seekable: patched at the end), or `-` for a
    /// streamable MKV on standard output, written chunk by chunk (Segment of
    /// unknown size, no Cues), e.g. `| ffplay -`.
    #[arg(short, long, value_name = "OUT.mkv|-")]
    output: PathBuf,
    /// Keep forward gaps between fragments instead of closing them.
    #[arg(long)]
    keep_gaps: bool,
    #[command(flatten)]
    limits: crate::limits::LimitArgs,
}

pub fn run(args: Args) -> ExitCode {
    // Before anything is opened for writing: creating the output would
    // truncate an input that is the same file, and writing to standard
    // output appended to the input would read its own output forever.
    if same_file(args.input.file.as_deref(), &args.output) {
        let out_name = match args.output.as_os_str() == "-" {
            true => "standard output".to_string(),
            false => args.output.display().to_string(),
        };
        say(format_args!(
            "the output ({}) is also its input; nothing was written",
            out_name
        ));
        return ExitCode::from(2);
    }
    let (input, in_name) = match args.input.open() {
        Ok(i) => i,
        Err(code) => return code,
    };
    let (input, read) = Counted::new(input);
    let mut options = MergeOptions::default();
    options.limits = args.limits.limits();
    if args.keep_gaps {
        options.timeline = Timeline::KeepGaps;
    }
    let to_stdout = args.output.as_os_str() == "-";
    let out_name = if to_stdout {
        "standard output".to_string()
    } else {
        args.output.display().to_string()
    };
    let mut existed = true;
    let result = if to_stdout {
        // Flushed by the merger after every chunk.
        merge_streaming(
            input,
            BufWriter::with_capacity(1 << 16, io::stdout().lock()),
            &options,
        )
    } else {
        existed = args.output.exists();
        let output = match std::fs::File::create(&args.output) {
            Ok(f) => BufWriter::with_capacity(1 << 20, f),
            Err(e) => {
                say(format_args!("cannot create {out_name}: {e}"));
                return ExitCode::from(2);
            }
        };
        merge(input, output, &options)
    };
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            if !existed {
                // Nothing written (no tracks, or unreadable from the start):
                // leave no empty file behind.
                crate::out::remove_if_empty_file(&args.output);
            }
            return match e {
                MergeError::NoTracks { .. } if read.get() == 0 => no_matroska(&in_name, 0),
                MergeError::TracksChanged { .. } | MergeError::NoTracks { .. } => {
                    say(e);
                    ExitCode::from(1)
                }
                MergeError::Write(e) if to_stdout => ExitCode::from(stdout_failed(&e, 0)),
                MergeError::Write(e) => {
                    say(format_args!("writing {out_name}: {e}"));
                    ExitCode::from(2)
                }
                MergeError::Read(e) => {
                    say(format_args!("read error in {in_name}: {e}"));
                    ExitCode::from(2)
                }
                e => {
                    say(e);
                    ExitCode::from(2)
                }
            };
        }
    };
    tell(&report, &out_name)
}

/// Whether the output (`-`: standard output) is the input file (`None` or
/// `-`: standard input) under any name: the same regular file, by device
/// and inode (symbolic and hard links included).
#[cfg(unix)]
fn same_file(input: Option<&Path>, output: &Path) -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    fn of_fd(fd: std::os::fd::BorrowedFd<'_>) -> Option<std::fs::Metadata> {
        std::fs::File::from(fd.try_clone_to_owned().ok()?)
            .metadata()
            .ok()
    }
    let of = |path: Option<&Path>, stdio: fn() -> Option<std::fs::Metadata>| match path {
        Some(p) if p.as_os_str() != "-" => std::fs::metadata(p).ok(),
        _ => stdio(),
    };
    let input = of(input, || of_fd(io::stdin().as_fd()));
    let output = of(Some(output), || of_fd(io::stdout().as_fd()));
    match (input, output) {
        (Some(i), Some(o)) => {
            i.is_file() && o.is_file() && (i.dev(), i.ino()) == (o.dev(), o.ino())
        }
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: Option<&Path>, _: &Path) -> bool {
    false
}

/// What the merge did, on standard error; the exit status.
fn tell(report: &MergeReport, out_name: &str) -> ExitCode {
    for e in &report.decode_errors {
        say(e);
    }
    let unlisted = report.decode_error_count - report.decode_errors.len() as u64;
    if unlisted > 0 {
        say(format_args!("... and {unlisted} more decoding errors"));
    }
    for c in &report.incomplete {
        say(format_args!(
            "chunk {} (at byte {}) was cut short; its {} complete frames were kept",
            c.index, c.offset, c.frames_kept
        ));
    }
    if report.skipped_frames > 0 {
        say(format_args!(
            "{} frames of undeclared tracks were left out",
            report.skipped_frames
        ));
    }
    say(format_args!(
        "merged {} chunks, {} frames ({} bytes), {:.3} s, into {out_name} ({} bytes)",
        report.chunks,
        report.frames,
        report.frame_bytes,
        report.duration_ns as f64 / 1e9,
        report.bytes_written,
    ));
    if report.decode_error_count > 0 || report.skipped_frames > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
