// What a run of each decoder shows, compact enough to write into the test:
// the outline (chunks, errors, events, `End`s of elements) in words, and an
// FNV-1a hash of the `Debug` of everything (frames' bytes included).
// Included in a module that names the crate under test `K`.

use bytes::BytesMut;
use tokio_util::codec::Decoder;

fn fnv(h: &mut u64, s: &str) {
    // The `Debug` as the code these hashes came from printed it:
    // `FrameStats::block_group_keyframes` came later (0 in every case
    // here: they are made of SimpleBlocks, so a BlockGroup keyframe counted
    // in them would still change the hash).
    let s = s.replace(", block_group_keyframes: 0", "");
    for b in s.bytes() {
        *h ^= u64::from(b);
        *h = h.wrapping_mul(0x100_0000_01b3);
    }
}

/// Feeds `input` in pieces of `piece` bytes (decode after each, decode_eof
/// at the end) and writes what came out.
pub fn all(input: &[u8], piece: usize) -> String {
    let mut out = Vec::new();
    // ChunkDecoder.
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut d = K::ChunkDecoder::new();
    let mut buf = BytesMut::new();
    let pieces = input.chunks(piece).map(Some).chain([None]);
    for p in pieces {
        let eof = p.is_none();
        if let Some(p) = p {
            buf.extend_from_slice(p);
        }
        loop {
            match if eof { d.decode_eof(&mut buf) } else { d.decode(&mut buf) } {
                Ok(Some(c)) => {
                    fnv(&mut h, &format!("{c:?}"));
                    out.push(format!("C{}/{}/{}", c.info().offset, c.frames().len(), c.is_complete()));
                }
                Ok(None) => break,
                Err(e) => out.push(format!("E{e}")),
            }
        }
    }
    out.push(format!("C#{h:x}"));
    // EventDecoder.
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut d = K::EventDecoder::new();
    let mut buf = BytesMut::new();
    let mut frames = 0;
    let pieces = input.chunks(piece).map(Some).chain([None]);
    for p in pieces {
        let eof = p.is_none();
        if let Some(p) = p {
            buf.extend_from_slice(p);
        }
        loop {
            match if eof { d.decode_eof(&mut buf) } else { d.decode(&mut buf) } {
                Ok(Some(e)) => {
                    fnv(&mut h, &format!("{e:?}"));
                    match e {
                        K::Event::Frame(_) => frames += 1,
                        K::Event::Start(i) => out.push(format!("S{}", i.offset)),
                        K::Event::End(i) => out.push(format!("F{frames}/End{}/{}", i.offset, i.length)),
                    }
                }
                Ok(None) => break,
                Err(e) => out.push(format!("F{frames}/E{e}")),
            }
        }
    }
    out.push(format!("F{frames}/V#{h:x}"));
    // ElementReader.
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut d = K::matroska::ElementReader::new();
    let mut buf = BytesMut::new();
    let mut n = 0;
    let pieces = input.chunks(piece).map(Some).chain([None]);
    for p in pieces {
        let eof = p.is_none();
        if let Some(p) = p {
            buf.extend_from_slice(p);
        }
        loop {
            match if eof { d.next_eof(&mut buf) } else { d.next(&mut buf) } {
                Ok(Some(e)) => {
                    n += 1;
                    fnv(&mut h, &format!("{e:?}"));
                    if let K::matroska::Element::End { id, offset_end, depth, complete } = e {
                        if depth < 3 || !complete {
                            out.push(format!("End{id:x}@{offset_end}/{depth}/{complete}"));
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => out.push(format!("E{e}")),
            }
        }
    }
    out.push(format!("L{n}#{h:x}"));
    out.join(" ")
}
