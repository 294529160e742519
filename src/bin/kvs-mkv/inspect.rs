//! `kvs-mkv inspect`: one line per chunk, as each chunk completes.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use kvs_mkv::io::read_events;
use kvs_mkv::{ChunkInfo, DecodeError, Error, Event, TagValue};
use serde_json::{json, Value};

#[derive(clap::Args)]
pub struct Args {
    /// The input file; `-` or nothing for standard input.
    file: Option<PathBuf>,
    /// One JSON object per line (see the README for the fields).
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> ExitCode {
    let input = match crate::open_input(args.file.as_deref()) {
        Ok(i) => i,
        Err(code) => return code,
    };
    let mut out = io::stdout().lock();
    let mut printer = Printer {
        json: args.json,
        index: 0,
        errors: 0,
    };
    if !printer.json {
        let _ = printer.header(&mut out);
    }
    for event in read_events(input) {
        let written = match event {
            Ok(Event::End(info)) => printer.chunk(&mut out, &info),
            Ok(Event::Start(_) | Event::Frame(_)) => Ok(()),
            Err(Error::Decode(e)) => printer.error(&mut out, &e),
            Err(Error::Io(e)) => {
                let _ = out.flush();
                eprintln!("kvs-mkv: read error: {e}");
                return ExitCode::from(2);
            }
        };
        if written.is_err() {
            // The reader went away (e.g. `| head`): stop quietly.
            return ExitCode::from(if printer.errors > 0 { 1 } else { 0 });
        }
    }
    let _ = out.flush();
    ExitCode::from(if printer.errors > 0 { 1 } else { 0 })
}

/// Prints chunk rows (table or JSON lines) and counts errors.
pub struct Printer {
    pub json: bool,
    pub index: u64,
    pub errors: u64,
}

impl Printer {
    pub fn header(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(
            out,
            "{:>5} {:>10} {:>9} {:<48} {:>14} {:>14} {:>6} {:>4} {:>10} {:>5} STATUS",
            "CHUNK",
            "OFFSET",
            "LENGTH",
            "FRAGMENT",
            "SERVER_TS",
            "PRODUCER_TS",
            "FRAMES",
            "KEY",
            "BYTES",
            "TAGS"
        )
    }

    pub fn chunk(&mut self, out: &mut impl Write, info: &ChunkInfo) -> io::Result<()> {
        let index = self.index;
        self.index += 1;
        if self.json {
            return writeln!(out, "{}", chunk_json(index, info));
        }
        let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        let mut status = if info.complete {
            "complete".to_string()
        } else {
            "INCOMPLETE".to_string()
        };
        if let Some(id) = info.aws.error_id {
            status.push_str(&format!(", error {id}"));
        }
        if let Some(code) = info.aws.exception_error_code {
            status.push_str(&format!(", exception {code}"));
        }
        writeln!(
            out,
            "{:>5} {:>10} {:>9} {:<48} {:>14} {:>14} {:>6} {:>4} {:>10} {:>5} {}",
            index,
            info.offset,
            info.length,
            opt(info.fragment_number().map(|f| f.to_string())),
            opt(info.server_timestamp().map(|t| t.to_string())),
            opt(info.producer_timestamp().map(|t| t.to_string())),
            info.stats.frames,
            info.stats.keyframes,
            info.stats.frame_bytes,
            info.tags.len(),
            status,
        )
    }

    pub fn error(&mut self, out: &mut impl Write, e: &DecodeError) -> io::Result<()> {
        self.errors += 1;
        if self.json {
            let line = json!({
                "kind": "error",
                "offset": e.offset,
                "message": e.kind.to_string(),
                "skipped": e.skipped,
            });
            writeln!(out, "{line}")
        } else {
            out.flush()?;
            eprintln!("kvs-mkv: {e}");
            Ok(())
        }
    }
}

/// The `"kind": "chunk"` object of inspect-json.md.
pub fn chunk_json(index: u64, info: &ChunkInfo) -> Value {
    let aws = &info.aws;
    let tracks: Vec<Value> = info
        .tracks
        .iter()
        .map(|t| {
            json!({
                "number": t.number,
                "codec_id": t.codec_id.as_str(),
                "type": t.track_type.map(|k| k.as_str()),
                "width": t.video.and_then(|v| v.pixel_width),
                "height": t.video.and_then(|v| v.pixel_height),
                "sampling_frequency": t.audio.and_then(|a| a.sampling_frequency),
                "channels": t.audio.and_then(|a| a.channels),
            })
        })
        .collect();
    let tags: Vec<Value> = info
        .tags
        .iter()
        .map(|t| {
            let value = match &t.value {
                TagValue::String(s) => Value::from(s.as_str()),
                TagValue::Binary(b) => Value::from(hex(b)),
                TagValue::None => Value::Null,
            };
            json!([t.name.as_str(), value])
        })
        .collect();
    json!({
        "kind": "chunk",
        "index": index,
        "offset": info.offset,
        "length": info.length,
        "complete": info.complete,
        "fragment_number": info.fragment_number().map(|f| f.to_string()),
        "server_timestamp_ms": info.server_timestamp().map(|t| t.as_millis() as u64),
        "producer_timestamp_ms": info.producer_timestamp().map(|t| t.as_millis() as u64),
        "millis_behind_now": aws.millis_behind_now,
        "continuation_token": aws.continuation_token.as_deref(),
        "error_id": aws.error_id.map(|e| e.code()).or(aws.exception_error_code),
        "error_message": aws.error_code.as_deref().or(aws.exception_message.as_deref()),
        "tracks": tracks,
        "frames": info.stats.frames,
        "keyframes": info.stats.keyframes,
        "frame_bytes": info.stats.frame_bytes,
        "first_pts_ms": info.stats.first_pts_ms.map(|v| v as i64),
        "last_pts_ms": info.stats.last_pts_ms.map(|v| v as i64),
        "tags": tags,
    })
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(2 + 2 * bytes.len());
    s.push_str("0x");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}
