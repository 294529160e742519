//! EBML on the way out: element IDs, size fields of a chosen width, and a
//! small element tree whose leaves can be [`Bytes`] views, so that frame
//! payloads reach the output without a copy.
//!
//! A tree is built first and serialized second: a master element of known
//! size needs its children's total length before its header can be written,
//! and the tree knows it without copying anything.

use bytes::{BufMut, Bytes, BytesMut};

/// How an element's size field is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Size {
    /// The narrowest field that holds the size.
    Minimal,
    /// A field of this many bytes (1 to 8), or wider when the size does not
    /// fit: a layout's preferred width never makes an element unwritable.
    Width(u8),
    /// The unknown size (all value bits set) in a field of this many bytes.
    Unknown(u8),
}

/// An element's payload.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    /// Leaf bytes.
    Data(Bytes),
    /// Leaf bytes in pieces (a block header, then frame payloads).
    Parts(Vec<Bytes>),
    /// A master element's children.
    Children(Vec<Element>),
}

/// One element to write.
#[derive(Debug, Clone)]
pub(crate) struct Element {
    pub(crate) id: u32,
    pub(crate) size: Size,
    pub(crate) body: Body,
}

/// Bytes an element ID takes (its marker is part of the value).
pub(crate) fn id_len(id: u32) -> usize {
    match id {
        0..=0xFF => 1,
        0x100..=0xFFFF => 2,
        0x1_0000..=0xFF_FFFF => 3,
        _ => 4,
    }
}

/// The narrowest VINT width whose value range holds `value` without
/// reaching the reserved all-ones value.
pub(crate) fn vint_width(value: u64) -> u8 {
    (1..=8u8)
        .find(|&w| value < (1u64 << (7 * u32::from(w))) - 1)
        .unwrap_or(8)
}

/// Puts `value` as a VINT of `width` bytes (`width` must hold it).
pub(crate) fn put_vint(out: &mut BytesMut, value: u64, width: u8) {
    let marker = 1u64 << (7 * u32::from(width));
    let v = value | marker;
    for i in (0..width).rev() {
        out.put_u8((v >> (8 * u32::from(i))) as u8);
    }
}

/// Puts the unknown size in a field of `width` bytes.
pub(crate) fn put_unknown_size(out: &mut BytesMut, width: u8) {
    let value = (1u64 << (7 * u32::from(width))) - 1;
    put_vint(out, value, width);
}

pub(crate) fn put_id(out: &mut BytesMut, id: u32) {
    let len = id_len(id);
    for i in (0..len).rev() {
        out.put_u8((id >> (8 * i)) as u8);
    }
}

/// The bytes of an unsigned integer: the narrowest big-endian form, at
/// least one byte.
pub(crate) fn uint_bytes(value: u64) -> Vec<u8> {
    let len = (8 - value.leading_zeros() as usize / 8).max(1);
    value.to_be_bytes()[8 - len..].to_vec()
}

/// The bytes of a signed integer: the narrowest two's-complement form.
pub(crate) fn int_bytes(value: i64) -> Vec<u8> {
    let len = (1..=8usize)
        .find(|&n| {
            let bits = 8 * n as u32;
            bits == 64 || (value >= -(1i64 << (bits - 1)) && value < (1i64 << (bits - 1)))
        })
        .unwrap_or(8);
    value.to_be_bytes()[8 - len..].to_vec()
}

impl Element {
    /// A master element.
    pub(crate) fn master(id: u32, children: Vec<Element>) -> Element {
        Element {
            id,
            size: Size::Minimal,
            body: Body::Children(children),
        }
    }

    /// A leaf of raw bytes.
    pub(crate) fn bytes(id: u32, data: impl Into<Bytes>) -> Element {
        Element {
            id,
            size: Size::Minimal,
            body: Body::Data(data.into()),
        }
    }

    /// A leaf in pieces.
    pub(crate) fn parts(id: u32, parts: Vec<Bytes>) -> Element {
        Element {
            id,
            size: Size::Minimal,
            body: Body::Parts(parts),
        }
    }

    /// An unsigned integer, in its narrowest form.
    pub(crate) fn uint(id: u32, value: u64) -> Element {
        Element::bytes(id, uint_bytes(value))
    }

    /// An unsigned integer in exactly 8 bytes.
    pub(crate) fn uint8(id: u32, value: u64) -> Element {
        Element::bytes(id, value.to_be_bytes().to_vec())
    }

    /// A signed integer, in its narrowest form.
    pub(crate) fn int(id: u32, value: i64) -> Element {
        Element::bytes(id, int_bytes(value))
    }

    /// A float, as 8 bytes (exact for any `f64`).
    pub(crate) fn float(id: u32, value: f64) -> Element {
        Element::bytes(id, value.to_be_bytes().to_vec())
    }

    /// A string, optionally NUL-padded to `pad_to` a multiple of bytes
    /// (with at least one NUL).
    pub(crate) fn string(id: u32, value: &str, pad_to: Option<usize>) -> Element {
        let mut data = value.as_bytes().to_vec();
        if let Some(m) = pad_to {
            let padded = (data.len() / m + 1) * m;
            data.resize(padded, 0);
        }
        Element::bytes(id, data)
    }

    /// The same element with another size form.
    pub(crate) fn sized(mut self, size: Size) -> Element {
        self.size = size;
        self
    }

    /// The same element with `size` applied to it and every descendant
    /// whose size is not already unknown.
    pub(crate) fn sized_deep(mut self, size: Size) -> Element {
        if !matches!(self.size, Size::Unknown(_)) {
            self.size = size;
        }
        if let Body::Children(children) = &mut self.body {
            for c in std::mem::take(children) {
                children.push(c.sized_deep(size));
            }
        }
        self
    }

    /// Payload length.
    pub(crate) fn body_len(&self) -> u64 {
        match &self.body {
            Body::Data(d) => d.len() as u64,
            Body::Parts(p) => p.iter().map(|b| b.len() as u64).sum(),
            Body::Children(c) => c.iter().map(Element::total_len).sum(),
        }
    }

    /// Width of the size field as it will be written.
    fn size_width(&self, body_len: u64) -> u8 {
        match self.size {
            Size::Minimal => vint_width(body_len),
            Size::Width(w) => w.max(vint_width(body_len)),
            Size::Unknown(w) => w,
        }
    }

    /// Header plus payload.
    pub(crate) fn total_len(&self) -> u64 {
        let body = self.body_len();
        (id_len(self.id) + usize::from(self.size_width(body))) as u64 + body
    }

    /// Appends the element to `out`.
    pub(crate) fn write(&self, out: &mut Segments) {
        let body_len = self.body_len();
        let head = out.head();
        put_id(head, self.id);
        match self.size {
            Size::Unknown(w) => put_unknown_size(head, w),
            _ => put_vint(head, body_len, self.size_width(body_len)),
        }
        match &self.body {
            Body::Data(d) => out.push(d.clone()),
            Body::Parts(parts) => {
                for p in parts {
                    out.push(p.clone());
                }
            }
            Body::Children(children) => {
                for c in children {
                    c.write(out);
                }
            }
        }
    }
}

/// Output as a list of [`Bytes`]: small headers are gathered into shared
/// buffers, payloads of at least [`Segments::SHARE_FROM`] bytes are kept as
/// the views they came in (no copy).
#[derive(Debug, Default)]
pub(crate) struct Segments {
    parts: Vec<Bytes>,
    head: BytesMut,
}

impl Segments {
    /// Payloads this large or larger are passed on, not copied.
    pub(crate) const SHARE_FROM: usize = 64;

    pub(crate) fn head(&mut self) -> &mut BytesMut {
        &mut self.head
    }

    /// Appends bytes: copied when small, shared otherwise.
    pub(crate) fn push(&mut self, bytes: Bytes) {
        if bytes.len() < Self::SHARE_FROM {
            self.head.extend_from_slice(&bytes);
        } else {
            self.flush_head();
            self.parts.push(bytes);
        }
    }

    fn flush_head(&mut self) {
        if !self.head.is_empty() {
            self.parts.push(self.head.split().freeze());
        }
    }

    /// The segments in order.
    pub(crate) fn finish(mut self) -> Vec<Bytes> {
        self.flush_head();
        self.parts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes_of(e: &Element) -> Vec<u8> {
        let mut s = Segments::default();
        e.write(&mut s);
        s.finish().concat()
    }

    #[test]
    fn integers() {
        assert_eq!(uint_bytes(0), vec![0]);
        assert_eq!(uint_bytes(1_000_000), vec![0x0F, 0x42, 0x40]);
        assert_eq!(int_bytes(-1), vec![0xFF]);
        assert_eq!(int_bytes(127), vec![0x7F]);
        assert_eq!(int_bytes(128), vec![0x00, 0x80]);
        assert_eq!(int_bytes(-129), vec![0xFF, 0x7F]);
        assert_eq!(int_bytes(i64::MIN).len(), 8);
    }

    #[test]
    fn vints() {
        assert_eq!(vint_width(126), 1);
        assert_eq!(vint_width(127), 2); // 0xFF is the unknown size
        let mut b = BytesMut::new();
        put_vint(&mut b, 0x23, 8);
        assert_eq!(&b[..], &[0x01, 0, 0, 0, 0, 0, 0, 0x23]);
        b.clear();
        put_unknown_size(&mut b, 8);
        assert_eq!(&b[..], &[0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
    }

    #[test]
    fn elements() {
        let e = Element::master(0x1254_C367, vec![Element::uint(0xD7, 1)]);
        assert_eq!(
            bytes_of(&e),
            vec![0x12, 0x54, 0xC3, 0x67, 0x83, 0xD7, 0x81, 0x01]
        );
        assert_eq!(e.total_len(), 8);
        let e = e.sized_deep(Size::Width(4));
        assert_eq!(
            bytes_of(&e),
            vec![0x12, 0x54, 0xC3, 0x67, 0x10, 0, 0, 0x06, 0xD7, 0x10, 0, 0, 0x01, 0x01]
        );
        // A width too small for the size is widened.
        let e = Element::bytes(0xA3, vec![0u8; 200]).sized(Size::Width(1));
        assert_eq!(e.total_len(), 203);
        let s = Element::string(0x86, "V_X", Some(8));
        assert_eq!(bytes_of(&s), b"\x86\x88V_X\0\0\0\0\0".to_vec());
        let s = Element::string(0x86, "12345678", Some(8));
        assert_eq!(s.body_len(), 16);
    }

    #[test]
    fn large_payloads_are_shared() {
        let payload = Bytes::from(vec![7u8; 1000]);
        let e = Element::parts(
            0xA3,
            vec![Bytes::from_static(&[0x81, 0, 0, 0x80]), payload.clone()],
        );
        let mut s = Segments::default();
        e.write(&mut s);
        let parts = s.finish();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1].as_ptr(), payload.as_ptr());
    }
}
