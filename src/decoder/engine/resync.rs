//! Damage, resynchronization and the end of input: the chunk the damage
//! was found in is handed out, the bytes up to the next EBML header are
//! dropped as they arrive, and the error is reported with the bytes
//! skipped; at the end of input, what was cut is reported.

use bytes::{Buf, BytesMut};

use super::{Engine, Output, Progress, State};
use crate::ebml::element_header;
use crate::error::{DecodeError, DecodeErrorKind, ElementId};
use crate::matroska::ids;
use crate::matroska::walk::{self, EBML_MAGIC};

/// Damage found in the input: what is wrong and where. Boxed: every step
/// of the engine returns a `Result<_, Damage>`, which is a word when the
/// damage is (a `DecodeErrorKind` moved through each `Ok` cost the head's
/// elements dozens of instructions each); damage is rare.
#[derive(Debug)]
pub(super) struct Damage(Box<DamageAt>);

#[derive(Debug)]
pub(super) struct DamageAt {
    pub(super) kind: DecodeErrorKind,
    /// The stream offset of the element found damaged.
    pub(super) at: u64,
    /// The damage stands where an unknown-size element could have ended:
    /// the chunk before it ended cleanly.
    pub(super) clean: bool,
}

impl Damage {
    #[cold]
    pub(super) fn new(kind: DecodeErrorKind, at: u64) -> Damage {
        Damage::at(kind, at, false)
    }

    #[cold]
    pub(super) fn at(kind: DecodeErrorKind, at: u64, clean: bool) -> Damage {
        Damage(Box::new(DamageAt { kind, at, clean }))
    }
}

pub(super) fn damage<T>(kind: DecodeErrorKind, at: u64) -> Result<T, Damage> {
    Err(Damage::new(kind, at))
}

impl Engine {
    /// Damage at `at`: the chunk so far is handed out (complete only when the
    /// damage stands where it could have ended cleanly), then the decoder
    /// looks for the next EBML header, dropping the bytes it passes over.
    ///
    /// The error is reported when that header is found, with the bytes
    /// skipped; but a chunk past `max_chunk_size` (an unknown-size Cluster
    /// that never ends) may be followed by no header at all, so
    /// `ChunkTooLarge` is reported at once, with nothing skipped yet.
    pub(super) fn damaged(&mut self, buf: &mut BytesMut, d: Damage) {
        let DamageAt { kind, at, clean } = *d.0;
        if self.chunk.is_some() {
            let complete = clean && walk::all_unknown(&self.stack);
            self.finish(buf, at, complete);
        }
        self.stack.clear();
        let reported = matches!(kind, DecodeErrorKind::ChunkTooLarge { .. });
        if reported {
            self.out.push_back(Output::Error(DecodeError {
                offset: at,
                skipped: 0,
                kind: kind.clone(),
            }));
        }
        self.state = State::Resync {
            kind,
            at,
            scan: at + 1,
            reported,
        };
    }

    pub(super) fn resync(&mut self, buf: &mut BytesMut) -> Progress {
        let State::Resync {
            kind,
            at,
            scan,
            reported,
        } = &mut self.state
        else {
            return Progress::Continue;
        };
        let data_end = self.base + buf.len() as u64;
        let upto = (*scan).min(data_end);
        buf.advance((upto - self.base) as usize);
        self.base = upto;
        if *scan > data_end {
            return Progress::Blocked;
        }
        match self.finder.find(buf) {
            Some(i) => {
                buf.advance(i);
                self.base += i as u64;
                self.pos = self.base;
                if !*reported {
                    let error = DecodeError {
                        offset: *at,
                        skipped: self.base - *at,
                        kind: kind.clone(),
                    };
                    self.out.push_back(Output::Error(error));
                }
                self.state = State::Top;
                Progress::Continue
            }
            None => {
                // Keep the last three bytes: the magic may straddle reads.
                let keep = buf.len().min(EBML_MAGIC.len() - 1);
                let drop = buf.len() - keep;
                buf.advance(drop);
                self.base += drop as u64;
                *scan = self.base;
                Progress::Blocked
            }
        }
    }

    /// The input ended and nothing more can be decoded.
    pub(super) fn at_eof(&mut self, buf: &mut BytesMut) {
        let data_end = self.data_end(buf);
        match std::mem::replace(&mut self.state, State::Top) {
            State::Resync {
                kind, at, reported, ..
            } => {
                if !reported {
                    self.out.push_back(Output::Error(DecodeError {
                        offset: at,
                        skipped: 0,
                        kind,
                    }));
                }
            }
            State::Top => {
                if data_end > self.pos {
                    self.out.push_back(Output::Error(DecodeError {
                        offset: self.pos,
                        skipped: 0,
                        kind: DecodeErrorKind::Truncated {
                            inside: ElementId(ids::EBML),
                        },
                    }));
                } else if let Some((_, h)) = self.header_at.filter(|_| self.pos > data_end) {
                    // Cut inside a Void or CRC-32 skipped between chunks,
                    // the last header read (once: it is forgotten below).
                    self.out.push_back(Output::Error(DecodeError {
                        offset: data_end,
                        skipped: 0,
                        kind: DecodeErrorKind::Truncated {
                            inside: ElementId(h.id),
                        },
                    }));
                }
            }
            State::InChunk => {
                let clean = self.pos == data_end && walk::all_unknown(&self.stack);
                let inside = if self.pos < data_end {
                    let at = (self.pos - self.base) as usize;
                    element_header(&buf[at..]).ok().map(|(_, h)| h.id)
                } else {
                    None
                }
                .or_else(|| walk::innermost_known(&self.stack).map(|o| o.id))
                .or_else(|| {
                    // Before the Segment: cut inside the Void or CRC-32
                    // being skipped, the last header read.
                    let cut_skip = self.stack.is_empty() && self.pos > data_end;
                    self.header_at.filter(|_| cut_skip).map(|(_, h)| h.id)
                })
                .unwrap_or(ids::SEGMENT);
                let offset = self.pos.min(data_end);
                self.finish(buf, data_end, clean);
                if !clean {
                    self.out.push_back(Output::Error(DecodeError {
                        offset,
                        skipped: 0,
                        kind: DecodeErrorKind::Truncated {
                            inside: ElementId(inside),
                        },
                    }));
                }
            }
        }
        let rest = (self.data_end(buf) - self.base) as usize;
        buf.advance(rest);
        self.base += rest as u64;
        self.pos = self.pos.max(self.base);
        self.stack.clear();
        self.chunk = None;
        // (Nor is a cut reported twice when decode_eof is called again.)
        self.header_at = None;
    }
}
