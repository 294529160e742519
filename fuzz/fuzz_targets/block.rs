//! Block and lacing parser: on any bytes, either an error or frame ranges
//! that lie within the block, in order, without overlap, as many as the
//! lacing says, covering the data up to the block's end.
#![no_main]

use kvs_mkv::matroska::block::{parse_block, Lacing};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut ranges = Vec::new();
    let Ok(head) = parse_block(data, |r| ranges.push(r)) else {
        return;
    };
    assert!(!ranges.is_empty(), "a block without frames");
    // Track VINT + 2 bytes timecode + flags.
    let header_len = data[0].leading_zeros() as usize + 1 + 3;
    assert_eq!(head.flags, data[header_len - 1]);
    let expected = match head.lacing() {
        Lacing::None => 1,
        _ => usize::from(data[header_len]) + 1,
    };
    assert_eq!(ranges.len(), expected, "frame count");
    let mut at = ranges[0].start;
    assert!(at >= header_len, "frame inside the block header");
    for r in &ranges {
        assert!(
            r.start <= r.end && r.end <= data.len(),
            "{r:?} outside {}",
            data.len()
        );
        assert_eq!(r.start, at, "frames not contiguous and ordered");
        at = r.end;
    }
    assert_eq!(at, data.len(), "the last frame ends the block");
});
