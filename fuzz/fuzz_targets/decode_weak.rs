//! Callers of the `EventDecoder` that hold on to its `Start`s in the ways
//! `Arc::get_mut` refuses (tests/attack51.rs, on arbitrary bytes): one
//! keeps only a `Weak` of each `Start`, one keeps each `Start` and a
//! `Weak` of it. The first byte chooses the piece size (1..=256), the rest
//! is the input. No panic; every `Start` (kept, or upgraded from its
//! `Weak`) shows what it showed when it came out; each caller's `End`s are
//! the `ChunkDecoder`'s chunk infos for the same bytes.
#![no_main]

use std::sync::{Arc, Weak};

use bytes::BytesMut;
use kvs_mkv::{ChunkInfo, Event, EventDecoder};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

fn ends(input: &[u8], piece: usize, keep: bool) -> Vec<ChunkInfo> {
    let mut decoder = EventDecoder::default();
    let mut buf = BytesMut::new();
    let mut kept: Vec<(Option<Arc<ChunkInfo>>, Weak<ChunkInfo>, ChunkInfo)> = Vec::new();
    let mut out = Vec::new();
    let mut pieces = input.chunks(piece).peekable();
    let mut n = 0;
    loop {
        let eof = pieces.peek().is_none();
        buf.extend_from_slice(pieces.next().unwrap_or_default());
        loop {
            n += 1;
            assert!(n <= 4 * input.len() + 64, "decoder keeps producing outputs");
            let r = if eof {
                decoder.decode_eof(&mut buf)
            } else {
                decoder.decode(&mut buf)
            };
            match r {
                Ok(Some(Event::Start(head))) => {
                    let weak = Arc::downgrade(&head);
                    let copy = ChunkInfo::clone(&head);
                    kept.push((keep.then_some(head), weak, copy));
                }
                Ok(Some(Event::End(info))) => {
                    assert_eq!(Arc::strong_count(&info), 1);
                    assert_eq!(Arc::weak_count(&info), 0);
                    out.push(Arc::unwrap_or_clone(info));
                }
                Ok(Some(Event::Frame(_))) | Err(_) => {}
                Ok(None) => break,
            }
            for (arc, weak, copy) in &kept {
                if let Some(arc) = arc {
                    assert_eq!(**arc, *copy, "a kept Start changed");
                }
                if let Some(up) = weak.upgrade() {
                    assert_eq!(*up, *copy, "a Start changed under its Weak");
                }
            }
        }
        if eof {
            return out;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&n, input)) = data.split_first() else {
        return;
    };
    let piece = usize::from(n) + 1;
    let whole: Vec<ChunkInfo> = kvs_mkv_fuzz::chunks(input, &[piece])
        .into_iter()
        .flatten()
        .map(|c| c.into_parts().0)
        .collect();
    assert_eq!(ends(input, piece, false), whole, "Weak only, piece {piece}");
    assert_eq!(
        ends(input, piece, true),
        whole,
        "Start and Weak, piece {piece}"
    );
});
