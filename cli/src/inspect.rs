//! `kvs-mkv inspect`: one line per chunk, as each chunk completes.

use std::io::{self, Write};
use std::process::ExitCode;

use kvs_mkv::io::DecodeReader;
use kvs_mkv::{ChunkInfo, DecodeError, Error, Event, EventDecoder, TagValue};
use serde_json::{json, Value};

use crate::out::{escape, json_line, no_matroska, say, stdout_failed, Counted};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: crate::Input,
    /// One JSON object per line (see the README for the fields).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    limits: crate::limits::LimitArgs,
}

pub fn run(args: Args) -> ExitCode {
    let (input, name) = match args.input.open() {
        Ok(i) => i,
        Err(code) => return code,
    };
    let (input, read) = Counted::new(input);
    let mut out = io::stdout().lock();
    let mut printer = Printer::new(args.json);
    let decoder = EventDecoder::with_limits(args.limits.limits());
    for event in DecodeReader::new(input, decoder) {
        let written = match event {
            Ok(Event::End(info)) => printer.chunk(&mut out, &info),
            Ok(Event::Start(_) | Event::Frame(_)) => Ok(()),
            Err(Error::Decode(e)) => printer.error(&mut out, &e),
            Err(Error::Io(e)) => {
                let _ = out.flush();
                say(format_args!("read error in {name}: {e}"));
                return ExitCode::from(2);
            }
        };
        if let Err(e) = written {
            return ExitCode::from(stdout_failed(&e, printer.status()));
        }
    }
    if let Err(e) = out.flush() {
        return ExitCode::from(stdout_failed(&e, printer.status()));
    }
    if printer.index == 0 && printer.errors == 0 {
        return no_matroska(&name, read.get());
    }
    ExitCode::from(printer.status())
}

/// Prints chunk rows (table or JSON lines) and counts errors. The table's
/// header comes with the first row.
///
/// The table keeps its fixed-width columns within 95 characters; the
/// fragment number (up to 128 digits) and any error text come last, so that
/// a narrow terminal wraps only them.
pub struct Printer {
    pub json: bool,
    pub index: u64,
    pub errors: u64,
    header_done: bool,
}

impl Printer {
    pub fn new(json: bool) -> Printer {
        Printer {
            json,
            index: 0,
            errors: 0,
            header_done: json,
        }
    }

    /// 0 when no error was reported, else 1.
    pub fn status(&self) -> u8 {
        u8::from(self.errors > 0)
    }

    fn header(&mut self, out: &mut impl Write) -> io::Result<()> {
        if std::mem::replace(&mut self.header_done, true) {
            return Ok(());
        }
        writeln!(
            out,
            "{:>5} {:>10} {:>8} {:>6} {:>4} {:>9} {:>4} {:>14} {:>14} {:<10} FRAGMENT",
            "CHUNK",
            "OFFSET",
            "LENGTH",
            "FRAMES",
            "KEY",
            "BYTES",
            "TAGS",
            "SERVER_TS",
            "PRODUCER_TS",
            "STATUS",
        )
    }

    pub fn chunk(&mut self, out: &mut impl Write, info: &ChunkInfo) -> io::Result<()> {
        let index = self.index;
        self.index += 1;
        if self.json {
            return writeln!(out, "{}", json_line(&chunk_json(index, info)));
        }
        self.header(out)?;
        let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        let status = if info.complete {
            "complete"
        } else {
            "INCOMPLETE"
        };
        let mut row = format!(
            "{:>5} {:>10} {:>8} {:>6} {:>4} {:>9} {:>4} {:>14} {:>14} {:<10} {}",
            index,
            info.offset,
            info.length,
            info.stats.frames,
            simple_block_keyframes(info),
            info.stats.frame_bytes,
            info.tags.len(),
            opt(info.server_timestamp().map(|t| t.to_string())),
            opt(info.producer_timestamp().map(|t| t.to_string())),
            status,
            opt(info.fragment_number().map(|f| f.to_string())),
        );
        let aws = &info.aws;
        if aws.error_id.is_some() || aws.error_code.is_some() {
            row.push_str(" error");
            if let Some(id) = aws.error_id {
                row.push_str(&format!(" {id}"));
            }
            if let Some(text) = &aws.error_code {
                row.push_str(&format!(": {}", text.as_str()));
            }
        }
        if aws.exception_error_code.is_some() || aws.exception_message.is_some() {
            row.push_str(" exception");
            if let Some(code) = aws.exception_error_code {
                row.push_str(&format!(" {code}"));
            }
            if let Some(text) = &aws.exception_message {
                row.push_str(&format!(": {}", text.as_str()));
            }
        }
        // Tag texts come from the input: escaped.
        writeln!(out, "{}", escape(&row))
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
            writeln!(out, "{}", json_line(&line))
        } else {
            out.flush()?;
            say(e);
            Ok(())
        }
    }
}

/// The `"kind": "chunk"` object of inspect-json.md, its fields in the
/// spec's order. Timestamps and presentation times are written exactly,
/// whatever their size: a `Timestamp`'s milliseconds go past `u64` (its
/// seconds are a `u64`) and a presentation time past `i64` (a Cluster
/// Timecode times a TimecodeScale of up to 2^64 - 1 ns), which a
/// `serde_json::Value` cannot hold; serde_json writes `u128` and `i128`
/// digits as they are.
#[derive(serde::Serialize)]
pub struct ChunkLine<'a> {
    kind: &'static str,
    index: u64,
    offset: u64,
    length: u64,
    complete: bool,
    fragment_number: Option<String>,
    server_timestamp_ms: Option<u128>,
    producer_timestamp_ms: Option<u128>,
    millis_behind_now: Option<u64>,
    continuation_token: Option<&'a str>,
    error_id: Option<u32>,
    error_message: Option<&'a str>,
    tracks: Vec<Value>,
    frames: u64,
    keyframes: u64,
    frame_bytes: u64,
    first_pts_ms: Option<i128>,
    last_pts_ms: Option<i128>,
    tags: Vec<Value>,
}

/// The `"kind": "chunk"` object of inspect-json.md.
pub fn chunk_json(index: u64, info: &ChunkInfo) -> ChunkLine<'_> {
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
    ChunkLine {
        kind: "chunk",
        index,
        offset: info.offset,
        length: info.length,
        complete: info.complete,
        fragment_number: info.fragment_number().map(|f| f.to_string()),
        server_timestamp_ms: info.server_timestamp().map(|t| t.as_millis()),
        producer_timestamp_ms: info.producer_timestamp().map(|t| t.as_millis()),
        millis_behind_now: aws.millis_behind_now,
        continuation_token: aws.continuation_token.as_deref(),
        error_id: aws.error_id.map(|e| e.code()).or(aws.exception_error_code),
        error_message: aws
            .error_code
            .as_deref()
            .or(aws.exception_message.as_deref()),
        tracks,
        frames: info.stats.frames,
        keyframes: simple_block_keyframes(info),
        frame_bytes: info.stats.frame_bytes,
        first_pts_ms: info.stats.first_pts_ms,
        last_pts_ms: info.stats.last_pts_ms,
        tags,
    }
}

/// The chunk's keyframes as inspect-json.md counts them: "frames whose
/// SimpleBlock has the keyframe flag" (the library's count also takes in
/// BlockGroups without a ReferenceBlock).
fn simple_block_keyframes(info: &ChunkInfo) -> u64 {
    info.stats
        .keyframes
        .saturating_sub(info.stats.block_group_keyframes)
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(2 + 2 * bytes.len());
    s.push_str("0x");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}
