//! The VINT and element-header parsers: on any bytes, a result that agrees
//! with the bytes (header length == bytes consumed, values re-encode to the
//! bytes read), `Incomplete` only when the bytes really stop short, and the
//! header parser agreeing with its two parts.
#![no_main]

use kvs_mkv::ebml::{element_header, element_id, element_size, vint, HeaderError};
use libfuzzer_sys::fuzz_target;

/// How many bytes a VINT (or ID) starting with `first` takes.
fn width(first: u8) -> usize {
    first.leading_zeros() as usize + 1
}

fn check_incomplete<T: std::fmt::Debug>(data: &[u8], r: &Result<T, HeaderError>, want: usize) {
    if let Err(HeaderError::Incomplete { needed }) = r {
        assert!(data.len() < want, "incomplete with {want} bytes available");
        assert_eq!(needed.get(), want - data.len());
    }
}

fuzz_target!(|data: &[u8]| {
    // vint
    let r = vint(data);
    match &r {
        Ok((rest, (value, w))) => {
            let w = *w as usize;
            assert!((1..=8).contains(&w));
            assert_eq!(w, width(data[0]));
            assert_eq!(data.len() - rest.len(), w, "vint consumed");
            assert!(*value < 1u64 << (7 * w), "value exceeds its width");
            // Re-encoded in the same width, the value is the bytes read.
            let mut bytes = value.to_be_bytes()[8 - w..].to_vec();
            bytes[0] |= 0x80 >> (w - 1);
            assert_eq!(bytes, &data[..w]);
        }
        Err(HeaderError::Incomplete { .. }) => {
            check_incomplete(data, &r, width(data.first().copied().unwrap_or(0x80)))
        }
        Err(e) => {
            assert_eq!(*e, HeaderError::InvalidSize);
            assert_eq!(data.first(), Some(&0));
        }
    }
    let size = element_size(data);
    match (&r, &size) {
        (Ok((rest_v, (v, w))), Ok((rest_s, s))) => {
            assert_eq!(rest_v, rest_s);
            let all_ones = (1u64 << (7 * w)) - 1;
            assert_eq!(*s, (*v != all_ones).then_some(*v));
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        _ => panic!("vint {r:?} but element_size {size:?}"),
    }

    // element_id
    let id = element_id(data);
    match &id {
        Ok((rest, id)) => {
            let w = data.len() - rest.len();
            assert!((1..=4).contains(&w) && w == width(data[0]));
            let bytes = id.to_be_bytes();
            assert_eq!(&bytes[4 - w..], &data[..w], "ID as written");
            let value_bits = 7 * w as u32;
            assert_ne!(
                id & ((1 << value_bits) - 1),
                (1 << value_bits) - 1,
                "reserved ID"
            );
        }
        Err(HeaderError::Incomplete { .. }) => {
            check_incomplete(data, &id, width(data.first().copied().unwrap_or(0x80)))
        }
        Err(e) => assert_eq!(*e, HeaderError::InvalidId),
    }

    // element_header is element_id then element_size.
    let header = element_header(data);
    match (&header, &id) {
        (Ok((rest, h)), Ok((after_id, i))) => {
            assert_eq!(h.id, *i);
            assert_eq!(
                usize::from(h.len),
                data.len() - rest.len(),
                "header len != consumed"
            );
            assert!((2..=12).contains(&h.len));
            let (after_size, s) = element_size(after_id).expect("the size parsed in the header");
            assert_eq!((after_size, s), (*rest, h.size));
        }
        (Err(e), Ok((after_id, _))) => {
            assert_eq!(Err(*e), element_size(after_id).map(|_| ()))
        }
        (Err(e), Err(i)) => assert_eq!(e, i),
        (Ok(_), Err(_)) => panic!("a header without an ID"),
    }
});
