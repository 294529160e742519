//! An outsider's attack on the library (h43): the README says of the
//! limits that "no size field ever becomes an allocation". The public
//! sans-IO `ElementReader::payload` reserved room in the caller's buffer
//! for the whole announced payload: a 60-byte input announcing a 60 MiB
//! SimpleBlock made the caller's buffer allocate 60 MiB at once, while the
//! decoders reserve at most 1 MiB ahead of what has arrived.

mod common;

use bytes::BytesMut;
use common::ebml::*;
use kvs_mkv::matroska::{Element, ElementReader};

/// An EBML header, a Segment and a Cluster of unknown size, then the
/// header of a SimpleBlock announcing `size` bytes, none of them sent.
fn announced(size: u64) -> Vec<u8> {
    concat(&[
        ebml_header(),
        open_unknown(SEGMENT, 1),
        info(1_000_000),
        open_unknown(CLUSTER, 1),
        uint(TIMECODE, 0),
        vec![0xA3],
        size_w(size, 8),
    ])
}

#[test]
fn payload_does_not_allocate_what_a_size_field_announces() {
    const SIZE: u64 = 60 << 20; // within the default max_element_size
    let input = announced(SIZE);
    let mut reader = ElementReader::default();
    let mut buf = BytesMut::from(&input[..]);
    let mut last = None;
    while let Some(e) = reader.next(&mut buf).unwrap() {
        last = Some(e);
    }
    assert!(
        matches!(
            last,
            Some(Element::Leaf {
                id: 0xA3,
                size: SIZE,
                ..
            })
        ),
        "{last:?}"
    );
    // The payload is asked for; none of it is in.
    assert_eq!(reader.payload(&mut buf).unwrap(), None);
    assert!(
        buf.capacity() <= 2 << 20,
        "{} input bytes announcing {SIZE} made the buffer reserve {} bytes",
        input.len(),
        buf.capacity()
    );
    // And it is still handed out whole once it has all come, in pieces.
    let piece = vec![7u8; 1 << 20];
    let mut sent = 0;
    let data = loop {
        if let Some(data) = reader.payload(&mut buf).unwrap() {
            break data;
        }
        let n = piece.len().min((SIZE - sent) as usize);
        assert!(n > 0, "the payload was not handed out once all of it came");
        buf.extend_from_slice(&piece[..n]);
        sent += n as u64;
    };
    assert_eq!(data.len() as u64, SIZE);
    assert!(data.iter().all(|&b| b == 7));
}
