//! `kvs-mkv dump`: the element tree with offsets and sizes, printed as it is
//! read (what AWS's Java `ElementSizeAndOffsetVisitor` prints), going on
//! past damage where the element reader can.
//!
//! The input is read in pieces into the library's sans-IO
//! [`ElementReader`]; each element is printed as soon as its header is in,
//! payloads are passed over unread, so memory stays at one piece whatever
//! the input's size.

use std::io::{self, Read, Write};
use std::process::ExitCode;

use kvs_mkv::matroska::{Element, ElementReader};
use kvs_mkv::DecodeError;
use serde_json::{json, Value};

use crate::out::{escape, json_line, no_matroska, say, stdout_failed};

/// Bytes read from the input at a time.
const PIECE: usize = 64 * 1024;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: crate::Input,
    /// One JSON object per line instead of the indented tree. Every object
    /// has "kind": "start" (a master element begins), "leaf" (any other
    /// element), "end" (a master element ends) or "error" (damage).
    /// start and leaf: "name" (the Matroska / EBML name, or the ID in hex
    /// when the schema does not know it), "id" (hex, e.g. "0x1A45DFA3"),
    /// "offset" (of its header), "header_size", "data_size" (null when
    /// unknown), "end" (offset after its data; null when its size is
    /// unknown), "depth". end: "name", "id", "end" (where it ended),
    /// "depth", "complete" (false when damage or the end of the input cut
    /// it short). error: "offset", "message", "skipped" (bytes passed over
    /// to the next EBML header, where reading went on).
    #[arg(long)]
    json: bool,
    // What the element reader checks as dump drives it: the chunk size
    // (the largest element passed over unread) and the depth. It reads no
    // payload whole and counts neither tags nor tracks: those flags are
    // not offered.
    #[command(flatten)]
    limits: crate::limits::WalkLimitArgs,
}

pub fn run(args: Args) -> ExitCode {
    let (mut input, name) = match args.input.open() {
        Ok(i) => i,
        Err(code) => return code,
    };
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut printer = Printer {
        json: args.json,
        elements: 0,
        damage: 0,
    };
    let mut reader = ElementReader::with_limits(args.limits.limits());
    // The bytes from the reader's position on: after each piece is read
    // through, only a cut header (12 bytes at most) or the last 3 bytes
    // looked at for an EBML header are left.
    let mut buf: Vec<u8> = Vec::with_capacity(PIECE);
    let mut piece = vec![0u8; PIECE];
    let mut total = 0u64;
    let mut eof = false;
    loop {
        // Everything the bytes so far hold (at the end of the input: the
        // open elements end, a cut is reported).
        let mut start = 0;
        loop {
            let step = reader.read(&buf[start..], eof);
            start += step.consumed;
            let Some(item) = step.item else { break };
            if let Err(e) = printer.item(&mut out, item) {
                return ExitCode::from(stdout_failed(&e, printer.status()));
            }
        }
        buf.drain(..start);
        // What is printed is shown before waiting on the input (a pipe).
        if let Err(e) = out.flush() {
            return ExitCode::from(stdout_failed(&e, printer.status()));
        }
        if eof {
            break;
        }
        let n = match input.read(&mut piece) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                say(format_args!("read error in {name}: {e}"));
                return ExitCode::from(2);
            }
        };
        total += n as u64;
        buf.extend_from_slice(&piece[..n]);
        eof = n == 0;
    }
    if let Err(e) = out.flush() {
        return ExitCode::from(stdout_failed(&e, printer.status()));
    }
    if printer.elements == 0 && printer.damage == 0 {
        return no_matroska(&name, total);
    }
    ExitCode::from(printer.status())
}

/// Prints elements (indented text or JSON lines) and counts damage.
struct Printer {
    json: bool,
    elements: u64,
    damage: u64,
}

impl Printer {
    /// 0 when no damage was seen, else 1.
    fn status(&self) -> u8 {
        u8::from(self.damage > 0)
    }

    fn item(&mut self, out: &mut impl Write, item: Result<Element, DecodeError>) -> io::Result<()> {
        match item {
            Ok(element) => {
                self.elements += 1;
                if self.json {
                    writeln!(out, "{}", json_line(&element_json(&element)))
                } else {
                    writeln!(out, "{}", element_text(&element))
                }
            }
            Err(e) => {
                self.damage += 1;
                if self.json {
                    let line = json!({
                        "kind": "error",
                        "offset": e.offset,
                        "message": e.kind.to_string(),
                        "skipped": e.skipped,
                    });
                    writeln!(out, "{}", json_line(&line))
                } else {
                    // In the tree where it was found, and on stderr as
                    // every command says errors.
                    let mut line = format!("!! damage at {}: {}", e.offset, e.kind);
                    if e.skipped > 0 {
                        line.push_str(&format!(
                            "; {} bytes skipped to the EBML header at {}",
                            e.skipped,
                            e.offset + e.skipped
                        ));
                    }
                    writeln!(out, "{}", escape(&line))?;
                    out.flush()?;
                    say(&e);
                    Ok(())
                }
            }
        }
    }
}

/// The element's schema name, or its ID in hex.
fn name(element: &Element) -> String {
    match element.name() {
        Some(n) => n.to_string(),
        None => hex_id(element.id()),
    }
}

fn hex_id(id: u32) -> String {
    format!("0x{id:X}")
}

/// One line of the tree: two spaces per depth, then
/// `NAME id=0x.. offset=N header=N size=N|unknown [end=N]`; a master's end
/// is `/NAME end=N` (`incomplete` when cut short).
fn element_text(element: &Element) -> String {
    let indent = "  ".repeat(element.depth());
    let name = name(element);
    match *element {
        Element::Start {
            id,
            offset,
            header_len,
            size,
            ..
        } => {
            let size = size.map_or("unknown".to_string(), |s| s.to_string());
            let mut line = format!(
                "{indent}{name} id={} offset={offset} header={header_len} size={size}",
                hex_id(id)
            );
            if let Some(end) = element.end() {
                line.push_str(&format!(" end={end}"));
            }
            line
        }
        Element::Leaf {
            id,
            offset,
            header_len,
            size,
            ..
        } => format!(
            "{indent}{name} id={} offset={offset} header={header_len} size={size} end={}",
            hex_id(id),
            offset + u64::from(header_len) + size
        ),
        Element::End {
            offset_end,
            complete,
            ..
        } => {
            let cut = if complete { "" } else { " incomplete" };
            format!("{indent}/{name} end={offset_end}{cut}")
        }
    }
}

/// The JSON object of one element (fields in `--help`).
fn element_json(element: &Element) -> Value {
    let name = name(element);
    let id = hex_id(element.id());
    // A start and a leaf say the same of their header; a start's size may
    // be unknown (null).
    let (kind, offset, header_len, size, depth) = match *element {
        Element::Start {
            offset,
            header_len,
            size,
            depth,
            ..
        } => ("start", offset, header_len, size, depth),
        Element::Leaf {
            offset,
            header_len,
            size,
            depth,
            ..
        } => ("leaf", offset, header_len, Some(size), depth),
        Element::End {
            offset_end,
            depth,
            complete,
            ..
        } => {
            return json!({
                "kind": "end",
                "name": name,
                "id": id,
                "end": offset_end,
                "depth": depth,
                "complete": complete,
            })
        }
    };
    json!({
        "kind": kind,
        "name": name,
        "id": id,
        "offset": offset,
        "header_size": header_len,
        "data_size": size,
        "end": element.end(),
        "depth": depth,
    })
}
