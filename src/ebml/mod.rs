//! EBML, the binary format under Matroska: variable-length integers ("VINTs"),
//! element headers, and the readers for typed element payloads.
//!
//! The parsers ([`vint`], [`element_id`], [`element_size`],
//! [`element_header`]) are *streaming* parsers over byte slices: each takes
//! the bytes at hand and returns what it read with the bytes after it
//! ([`PResult`]), or a [`HeaderError`]. Running out of input is
//! [`HeaderError::Incomplete`], with how many more bytes are needed at
//! least: not damage, so a decoder can simply wait for more bytes. The
//! payload readers ([`read_uint`], [`read_float`], [`strip_nuls`]) take a
//! whole payload. Inside, the byte-wise parsers are written with
//! [nom](https://docs.rs/nom); its types do not appear in this API.
//!
//! ```
//! use kvs_mkv::ebml::{element_header, Header, HeaderError};
//! // Cluster ID, then a size of 1 byte written in its 8-byte "unknown" form.
//! let bytes = [0x1F, 0x43, 0xB6, 0x75, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
//! let (_, header) = element_header(&bytes).unwrap();
//! assert_eq!(header, Header { id: 0x1F43_B675, size: None, len: 12 });
//! // Three bytes short: wait for more.
//! assert_eq!(element_header(&bytes[..9]), Err(HeaderError::incomplete(3)));
//! ```

use std::num::NonZeroUsize;

use nom::error::{ErrorKind, ParseError};
use nom::{Err, IResult, Needed, Parser};

/// Why a parser of this module returned no value: the input stops short, or
/// the bytes are not a valid ID or size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The input ends before the item does: at least `needed` more bytes
    /// are needed. Not damage: parse again when more input has come.
    #[error("{needed} more bytes needed")]
    Incomplete {
        /// Bytes missing (at least; 1 or more).
        needed: NonZeroUsize,
    },
    /// The first byte of an element ID has no length marker in its first four
    /// bits (IDs are 1 to 4 bytes long), or the ID is a reserved all-ones value.
    #[error("invalid element ID")]
    InvalidId,
    /// The first byte of an element size is zero: sizes are 1 to 8 bytes long.
    #[error("invalid element size")]
    InvalidSize,
}

impl HeaderError {
    /// [`HeaderError::Incomplete`] with `needed` bytes missing (0 is taken
    /// as 1).
    pub const fn incomplete(needed: usize) -> HeaderError {
        HeaderError::Incomplete {
            needed: match NonZeroUsize::new(needed) {
                Some(n) => n,
                None => NonZeroUsize::MIN,
            },
        }
    }
}

/// The result type of this module's parsers: the value read and the input
/// after it, or why there is none.
pub type PResult<'a, T> = Result<(&'a [u8], T), HeaderError>;

/// The error type of the nom parsers inside: an invalid ID or size. (nom's
/// own combinator errors are not produced by these parsers; were one to
/// be, it reads as an invalid size, the more general complaint.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Invalid(HeaderError);

impl<I> ParseError<I> for Invalid {
    fn from_error_kind(_input: I, _kind: ErrorKind) -> Self {
        Invalid(HeaderError::InvalidSize)
    }

    fn append(_input: I, _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

/// A nom parser of this module, with its error.
type NomResult<'a, T> = IResult<&'a [u8], T, Invalid>;

/// The public result of a nom parser.
#[inline(always)]
fn finish<T>(r: NomResult<'_, T>) -> PResult<'_, T> {
    match r {
        Ok(v) => Ok(v),
        Err(Err::Incomplete(Needed::Size(n))) => Err(HeaderError::Incomplete { needed: n }),
        Err(Err::Incomplete(Needed::Unknown)) => Err(HeaderError::incomplete(1)),
        Err(Err::Error(Invalid(e)) | Err::Failure(Invalid(e))) => Err(e),
    }
}

/// The header of one EBML element: its ID, its payload size, and how many
/// bytes the header itself took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The element ID as written, length marker included (e.g. `0x1A45_DFA3`).
    pub id: u32,
    /// Payload size in bytes; `None` for the "unknown size" value (all value
    /// bits set, in any width from 1 to 8 bytes).
    pub size: Option<u64>,
    /// Bytes taken by the ID and the size field together (2 to 12).
    pub len: u8,
}

/// Reads an element ID (1 to 4 bytes, marker bit kept as Matroska writes IDs).
///
/// ```
/// assert_eq!(kvs_mkv::ebml::element_id(&[0xA3, 0x00]), Ok((&[0x00][..], 0xA3)));
/// ```
pub fn element_id(input: &[u8]) -> PResult<'_, u32> {
    finish(id(input))
}

/// [`element_id`] as a nom parser.
fn id(input: &[u8]) -> NomResult<'_, u32> {
    let Some(&first) = input.first() else {
        return Err(Err::Incomplete(Needed::new(1)));
    };
    let len = first.leading_zeros() as usize + 1;
    if len > 4 {
        return Err(Err::Error(Invalid(HeaderError::InvalidId)));
    }
    if input.len() < len {
        return Err(Err::Incomplete(Needed::new(len - input.len())));
    }
    let mut id = 0u32;
    for &b in &input[..len] {
        id = (id << 8) | u32::from(b);
    }
    // The all-ones value of each width is reserved (0xFF, 0x7FFF, ...).
    let mask = all_ones(len as u32) as u32;
    if id & mask == mask {
        return Err(Err::Error(Invalid(HeaderError::InvalidId)));
    }
    Ok((&input[len..], id))
}

/// Reads an element size (1 to 8 bytes). `None` is the unknown size.
///
/// ```
/// use kvs_mkv::ebml::element_size;
/// assert_eq!(element_size(&[0x81]), Ok((&[][..], Some(1))));
/// assert_eq!(element_size(&[0xFF]), Ok((&[][..], None)));
/// assert_eq!(element_size(&[0x40, 0x02]), Ok((&[][..], Some(2))));
/// ```
pub fn element_size(input: &[u8]) -> PResult<'_, Option<u64>> {
    finish(size(input))
}

/// [`element_size`] as a nom parser.
fn size(input: &[u8]) -> NomResult<'_, Option<u64>> {
    let (rest, (value, len)) = unsigned_vint(input)?;
    Ok((rest, (value != all_ones(len)).then_some(value)))
}

/// The all-ones value of a VINT `width` bytes wide (1 to 8): a reserved ID,
/// or the unknown size.
/// (From a table: every header read takes two, and a load costs less than
/// the shift and the subtraction. Every caller checks `width`; a wider one
/// could not panic here, only get a wrong mask.)
#[inline(always)]
fn all_ones(width: u32) -> u64 {
    ALL_ONES[width as usize & 15]
}

/// [`all_ones`] of each width, 0 for none (and past 8).
const ALL_ONES: [u64; 16] = {
    let mut t = [0; 16];
    let mut w = 1;
    while w < 9 {
        t[w] = (1u64 << (7 * w)) - 1;
        w += 1;
    }
    t
};

/// Reads an unsigned VINT and returns its value (marker removed) and width.
///
/// ```
/// use kvs_mkv::ebml::{vint, HeaderError};
/// assert_eq!(vint(&[0x40, 0x02, 0xAA]), Ok((&[0xAA][..], (2, 2))));
/// assert_eq!(vint(&[0x40]), Err(HeaderError::incomplete(1)));
/// assert_eq!(vint(&[0x00]), Err(HeaderError::InvalidSize));
/// ```
#[inline]
pub fn vint(input: &[u8]) -> PResult<'_, (u64, u32)> {
    finish(unsigned_vint(input))
}

/// [`vint`] as a nom parser.
#[inline]
fn unsigned_vint(input: &[u8]) -> NomResult<'_, (u64, u32)> {
    let Some(&first) = input.first() else {
        return Err(Err::Incomplete(Needed::new(1)));
    };
    if first == 0 {
        return Err(Err::Error(Invalid(HeaderError::InvalidSize)));
    }
    let len = first.leading_zeros() + 1;
    let n = len as usize;
    if input.len() < n {
        return Err(Err::Incomplete(Needed::new(n - input.len())));
    }
    let mut value = u64::from(first) & (0xFF >> len);
    for &b in &input[1..n] {
        value = (value << 8) | u64::from(b);
    }
    Ok((&input[n..], (value, len)))
}

/// Reads a complete element header: ID then size.
pub fn element_header(input: &[u8]) -> PResult<'_, Header> {
    // With 12 bytes in (the longest header), a valid header is read in two
    // big-endian words; anything else takes the byte-wise readers below,
    // which say what is wrong or missing.
    if let Some(head) = input.first_chunk::<12>() {
        if let Some(h) = header_in_words(head) {
            return Ok((&input[usize::from(h.len)..], h));
        }
    }
    finish(header(input))
}

/// [`element_header`]'s common case alone: the header at the start of
/// `input` when the twelve bytes of the longest header are in and it is
/// valid (the header `element_header` reads then); `None` otherwise, when
/// `element_header` says what is wrong or missing. No error is built: for
/// loops that hand anything else to a path that calls `element_header`.
#[inline]
pub(crate) fn header_in_full(input: &[u8]) -> Option<Header> {
    input.first_chunk::<12>().and_then(header_in_words)
}

/// [`element_header`]'s byte-wise reader as a nom parser: ID then size.
fn header(input: &[u8]) -> NomResult<'_, Header> {
    let (rest, (id, size)) = (id, size).parse(input)?;
    let len = (input.len() - rest.len()) as u8;
    Ok((rest, Header { id, size, len }))
}

/// A valid element header at the start of `head`, or `None` (an invalid ID
/// or size: left to the byte-wise readers to report).
#[inline]
fn header_in_words(head: &[u8; 12]) -> Option<Header> {
    let id_len = head[0].leading_zeros() + 1;
    if id_len > 4 {
        return None;
    }
    let [a, b, c, d, ..] = *head;
    let id = u32::from_be_bytes([a, b, c, d]) >> (8 * (4 - id_len));
    // The all-ones value of each width is reserved (0xFF, 0x7FFF, ...).
    let id_mask = all_ones(id_len) as u32;
    if id & id_mask == id_mask {
        return None;
    }
    size_in_words(head, id, id_len)
}

/// [`header_in_full`] for an element that should be `id` (a valid ID):
/// its header when it is one, else `None`. The ID's bytes are compared
/// rather than read (for loops that know what comes next: a SimpleTag's
/// TagName, say).
#[inline]
pub(crate) fn header_of(input: &[u8], id: u32) -> Option<Header> {
    let head = input.first_chunk::<12>()?;
    // (A valid ID's length is that of its value: the marker bit leads.)
    let id_len = 4 - id.leading_zeros() / 8;
    if id_len == 0 {
        // (0 is no ID; a constant ID makes this check vanish.)
        return None;
    }
    let [a, b, c, d, ..] = *head;
    if u32::from_be_bytes([a, b, c, d]) >> (8 * (4 - id_len)) != id {
        return None;
    }
    size_in_words(head, id, id_len)
}

/// The header of `id`, `id_len` bytes long at the start of `head`, with
/// the size that follows it, when that is valid.
#[inline(always)]
fn size_in_words(head: &[u8; 12], id: u32, id_len: u32) -> Option<Header> {
    let size_at = id_len as usize;
    let word: [u8; 8] = head[size_at..size_at + 8].try_into().ok()?;
    let size_len = word[0].leading_zeros() + 1;
    if size_len > 8 {
        return None;
    }
    let mask = all_ones(size_len);
    let value = (u64::from_be_bytes(word) >> (8 * (8 - size_len))) & mask;
    Some(Header {
        id,
        size: (value != mask).then_some(value),
        len: (id_len + size_len) as u8,
    })
}

/// Why an element payload could not be read as its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueError {
    /// An integer longer than 8 bytes.
    IntegerTooLong,
    /// A float that is not 0, 4 or 8 bytes long.
    BadFloatLength,
}

/// Reads a big-endian unsigned integer of 0 to 8 bytes (0 bytes is 0).
///
/// ```
/// assert_eq!(kvs_mkv::ebml::read_uint(&[0x0F, 0x42, 0x40]), Ok(1_000_000));
/// ```
pub fn read_uint(payload: &[u8]) -> Result<u64, ValueError> {
    if payload.len() > 8 {
        return Err(ValueError::IntegerTooLong);
    }
    Ok(payload.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b)))
}

/// Reads a big-endian IEEE float of 0, 4 or 8 bytes (0 bytes is 0.0).
pub fn read_float(payload: &[u8]) -> Result<f64, ValueError> {
    match *payload {
        [] => Ok(0.0),
        [a, b, c, d] => Ok(f64::from(f32::from_be_bytes([a, b, c, d]))),
        [a, b, c, d, e, f, g, h] => Ok(f64::from_be_bytes([a, b, c, d, e, f, g, h])),
        _ => Err(ValueError::BadFloatLength),
    }
}

/// The payload without its trailing NUL padding.
pub fn strip_nuls(payload: &[u8]) -> &[u8] {
    let end = payload.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    &payload[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Attack 41: the table of all-ones values against the formula it
    /// replaced, each width 1 to 8, and the unknown size and reserved IDs
    /// of each width through the readers (not unknown one below it).
    #[test]
    fn attack41_all_ones_table() {
        assert_eq!(all_ones(0), 0);
        for w in 1..=8u32 {
            assert_eq!(all_ones(w), (1u64 << (7 * w)) - 1, "width {w}");
            // The unknown size of each width, and one less (known).
            let mut unknown = vec![0xFFu8; w as usize];
            unknown[0] = 0xFF >> (w - 1);
            assert_eq!(element_size(&unknown), Ok((&[][..], None)), "width {w}");
            let mut known = unknown.clone();
            *known.last_mut().unwrap() ^= 1;
            let v = (1u64 << (7 * w)) - 2;
            assert_eq!(element_size(&known), Ok((&[][..], Some(v))), "width {w}");
        }
        for w in 1..=4usize {
            let mut reserved = vec![0xFFu8; w];
            reserved[0] = 0xFF >> (w - 1);
            assert!(element_id(&reserved).is_err(), "width {w}");
            let mut other = reserved.clone();
            *other.last_mut().unwrap() ^= 1;
            assert!(element_id(&other).is_ok(), "width {w}");
        }
    }

    /// The word-wise reader against the byte-wise ID and size readers, on
    /// every first byte of ID and size and random bytes around them.
    #[test]
    fn word_reader_agrees_with_the_byte_readers() {
        let mut next = crate::test_rng::xorshift(0x9E37_79B9_7F4A_7C15);
        for id_first in 0..=255u8 {
            for size_first in 0..=255u8 {
                let mut input = [0u8; 14];
                input[..8].copy_from_slice(&next().to_be_bytes());
                input[8..].copy_from_slice(&next().to_be_bytes()[..6]);
                input[0] = id_first;
                let id_len = (id_first.leading_zeros() as usize + 1).min(4);
                input[id_len] = size_first;
                if next() % 4 == 0 {
                    // All-ones values, reserved or unknown.
                    input[1..id_len].fill(0xFF);
                    input[id_len + 1..].fill(0xFF);
                }
                let bytewise = element_id(&input).and_then(|(rest, id)| {
                    let (rest, size) = element_size(rest)?;
                    let len = (input.len() - rest.len()) as u8;
                    Ok((rest, Header { id, size, len }))
                });
                assert_eq!(element_header(&input), bytewise, "{input:02X?}");
                // Exactly 12 bytes: still the word reader.
                let twelve = &input[..12];
                let bytewise12 = bytewise.map(|(r, h)| (&twelve[12 - (r.len() - 2)..], h));
                assert_eq!(element_header(twelve), bytewise12, "{twelve:02X?}");
            }
        }
    }

    /// The reader for an expected ID against the general word reader: IDs
    /// of each width, their bytes in place, one byte changed (any byte of
    /// the header), every size width, the all-ones sizes, fewer than
    /// twelve bytes.
    #[test]
    fn expected_id_reader_agrees_with_the_word_reader() {
        let mut next = crate::test_rng::xorshift(0x2545_F491_4F6C_DD1D);
        let ids: [u32; 6] = [0xEC, 0xA3, 0x45A3, 0x4487, 0x2A_D7B1, 0x1F43_B675];
        for id in ids {
            let id_bytes = &id.to_be_bytes()[id.leading_zeros() as usize / 8..];
            for round in 0..20_000 {
                let mut input = [0u8; 14];
                input[..8].copy_from_slice(&next().to_be_bytes());
                input[8..].copy_from_slice(&next().to_be_bytes()[..6]);
                input[..id_bytes.len()].copy_from_slice(id_bytes);
                let size_first = (next() % 256) as u8;
                input[id_bytes.len()] = size_first;
                if round % 4 == 1 {
                    input[id_bytes.len() + 1..].fill(0xFF);
                }
                if round % 3 == 2 {
                    let at = (next() % 10) as usize;
                    input[at] ^= 1 << (next() % 8);
                }
                let len = if round % 7 == 3 { 11 } else { 14 };
                let input = &input[..len];
                let general = header_in_full(input).filter(|h| h.id == id);
                assert_eq!(header_of(input, id), general, "{id:X}: {input:02X?}");
            }
        }
        // 0 is no ID: nothing matches it (and nothing panics).
        assert_eq!(header_of(&[0u8; 12], 0), None);
    }

    /// [`header_of`] against the word reader on the edges the random test
    /// above reaches rarely: IDs of every width with 0xFF and 0x00 bytes
    /// (and the lowest and highest valid of each width), every first and
    /// second byte after the ID, inputs of exactly 11, 12 and 13 bytes,
    /// the rest all zeros, all ones or random.
    #[test]
    fn expected_id_reader_on_edge_ids_and_lengths() {
        let mut next = crate::test_rng::xorshift(0x9E37_79B9_7F4A_7C15);
        let ids: [u32; 16] = [
            0x80,
            0x81,
            0xFE,
            0xBF,
            0x4000,
            0x40FF,
            0x7FFE,
            0x7F00,
            0x20_0000,
            0x20_FFFF,
            0x3F_FFFE,
            0x2A_FF00,
            0x1000_0000,
            0x10FF_FFFF,
            0x1FFF_FFFE,
            0x1AFF_45FF,
        ];
        for id in ids {
            let id_len = 4 - id.leading_zeros() as usize / 8;
            let id_bytes = &id.to_be_bytes()[4 - id_len..];
            for first in 0..=255u8 {
                for second in 0..=255u8 {
                    for fill in 0..3 {
                        let mut input = [0u8; 13];
                        match fill {
                            0 => {}
                            1 => input.fill(0xFF),
                            _ => {
                                input[..8].copy_from_slice(&next().to_be_bytes());
                                input[8..].copy_from_slice(&next().to_be_bytes()[..5]);
                            }
                        }
                        input[..id_len].copy_from_slice(id_bytes);
                        // The two bytes after the ID, or (every fourth
                        // round) the ID's own first two bytes.
                        let at = if (first ^ second) & 3 == 0 { 0 } else { id_len };
                        input[at] = first;
                        input[at + 1] = second;
                        for len in 11..=13 {
                            let input = &input[..len];
                            let general = header_in_full(input).filter(|h| h.id == id);
                            assert_eq!(header_of(input, id), general, "{id:X}: {input:02X?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn unknown_size_in_every_width() {
        for width in 1..=8usize {
            let mut bytes = vec![0u8; width];
            bytes[0] = 0xFF >> (width - 1);
            for b in &mut bytes[1..] {
                *b = 0xFF;
            }
            assert_eq!(element_size(&bytes), Ok((&[][..], None)), "width {width}");
            // One less than all-ones is a real size.
            *bytes.last_mut().unwrap() -= 1;
            let expected = (1u64 << (7 * width)) - 2;
            assert_eq!(element_size(&bytes), Ok((&[][..], Some(expected))));
        }
    }

    #[test]
    fn incomplete_is_not_an_error() {
        assert_eq!(element_id(&[]), Err(HeaderError::incomplete(1)));
        assert_eq!(element_id(&[0x1A, 0x45]), Err(HeaderError::incomplete(2)));
        assert_eq!(element_size(&[0x01, 0, 0]), Err(HeaderError::incomplete(5)));
        assert_eq!(vint(&[]), Err(HeaderError::incomplete(1)));
        assert_eq!(
            element_header(&[0x1A, 0x45]),
            Err(HeaderError::incomplete(2))
        );
        assert_eq!(
            element_header(&[0x1A, 0x45, 0xDF, 0xA3, 0x40]),
            Err(HeaderError::incomplete(1))
        );
        assert_eq!(HeaderError::incomplete(0), HeaderError::incomplete(1));
    }

    #[test]
    fn invalid_markers() {
        assert_eq!(element_id(&[0x08, 0, 0, 0, 0]), Err(HeaderError::InvalidId));
        assert_eq!(element_id(&[0x00]), Err(HeaderError::InvalidId));
        assert_eq!(element_id(&[0xFF]), Err(HeaderError::InvalidId));
        assert_eq!(element_size(&[0x00]), Err(HeaderError::InvalidSize));
        assert_eq!(vint(&[0x00]), Err(HeaderError::InvalidSize));
        assert_eq!(
            element_header(&[0x1A, 0x45, 0xDF, 0xA3, 0x00]),
            Err(HeaderError::InvalidSize)
        );
        assert_eq!(element_header(&[0xFF, 0x81]), Err(HeaderError::InvalidId));
    }

    #[test]
    fn typed_values() {
        assert_eq!(read_uint(&[]), Ok(0));
        assert_eq!(read_uint(&[1; 9]), Err(ValueError::IntegerTooLong));
        assert_eq!(read_float(&8000.0f32.to_be_bytes()), Ok(8000.0));
        assert_eq!(read_float(&44100.0f64.to_be_bytes()), Ok(44100.0));
        assert_eq!(read_float(&[0; 3]), Err(ValueError::BadFloatLength));
        assert_eq!(strip_nuls(b"\0\0"), b"");
        assert_eq!(strip_nuls(b"V_MS/VFW/FOURCC\0\0\0"), b"V_MS/VFW/FOURCC");
    }
}
