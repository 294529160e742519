//! The EBML header at the start of every chunk: what this decoder accepts.

use crate::ebml::{self, element_header};
use crate::error::DecodeErrorKind;
use crate::matroska::ids;

/// Checks the EBML header's fields: a Matroska (or WebM) document whose IDs
/// and sizes fit the limits this decoder reads.
pub(crate) fn check_ebml_header(mut body: &[u8]) -> Result<(), DecodeErrorKind> {
    let bad = |s: &str| DecodeErrorKind::UnsupportedHeader(s.to_string());
    while !body.is_empty() {
        let (rest, h) =
            element_header(body).map_err(|_| bad("malformed element inside the EBML header"))?;
        let size = h
            .size
            .ok_or_else(|| bad("element of unknown size inside the EBML header"))?;
        let size = usize::try_from(size).map_err(|_| bad("element overruns the EBML header"))?;
        let value = rest
            .get(..size)
            .ok_or_else(|| bad("element overruns the EBML header"))?;
        match h.id {
            ids::DOC_TYPE => {
                // Compared as bytes: no String for every chunk's header.
                let doc = ebml::strip_nuls(value);
                if doc != b"matroska" && doc != b"webm" {
                    let doc = String::from_utf8_lossy(doc);
                    return Err(DecodeErrorKind::UnsupportedHeader(format!(
                        "DocType {doc:?} is neither matroska nor webm"
                    )));
                }
            }
            ids::EBML_MAX_ID_LENGTH if ebml::read_uint(value).map_or(true, |v| v > 4) => {
                return Err(bad("EBMLMaxIDLength above 4"));
            }
            ids::EBML_MAX_SIZE_LENGTH if ebml::read_uint(value).map_or(true, |v| v > 8) => {
                return Err(bad("EBMLMaxSizeLength above 8"));
            }
            ids::EBML_READ_VERSION if ebml::read_uint(value).map_or(true, |v| v > 1) => {
                return Err(bad("EBMLReadVersion above 1"));
            }
            _ => {}
        }
        body = &rest[size..];
    }
    Ok(())
}

/// Longest EBML header body remembered by [`HeaderCheck`] (a GetMedia
/// chunk's is 35 bytes).
const REMEMBERED: usize = 64;

/// [`check_ebml_header`] with a memory: the chunks of one stream carry the
/// same EBML header, so a body equal to the last one accepted is accepted
/// again without being read (the check depends on the bytes alone).
#[derive(Debug)]
pub(crate) struct HeaderCheck {
    last: [u8; REMEMBERED],
    len: usize,
}

impl Default for HeaderCheck {
    fn default() -> Self {
        HeaderCheck {
            last: [0; REMEMBERED],
            len: 0,
        }
    }
}

impl HeaderCheck {
    /// As [`check_ebml_header`].
    pub(crate) fn check(&mut self, body: &[u8]) -> Result<(), DecodeErrorKind> {
        if body == &self.last[..self.len] {
            return Ok(());
        }
        check_ebml_header(body)?;
        if let Some(last) = self.last.get_mut(..body.len()) {
            last.copy_from_slice(body);
            self.len = body.len();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An EBML header body: EBMLMaxIDLength then DocType.
    fn body(max_id: u8, doc: &[u8]) -> Vec<u8> {
        let mut b = vec![0x42, 0xF2, 0x81, max_id, 0x42, 0x82, 0x80 | doc.len() as u8];
        b.extend_from_slice(doc);
        b
    }

    /// The remembered header only short-cuts a body equal to it: any other
    /// (one byte apart, shorter, longer, past what is remembered) is read.
    #[test]
    fn a_remembered_header_accepts_only_itself() {
        let mut check = HeaderCheck::default();
        let good = body(4, b"matroska");
        assert_eq!(check.check(&good), Ok(()));
        assert_eq!(check.check(&good), Ok(()));
        assert!(check.check(&body(5, b"matroska")).is_err());
        assert!(check.check(&body(4, b"matroskb")).is_err());
        assert!(check.check(&good[..good.len() - 1]).is_err());
        assert_eq!(check.check(&good), Ok(()));
        assert_eq!(check.check(&body(4, b"webm")), Ok(()));
        assert!(check.check(&body(4, b"matroska")[..3]).is_err());
        // Longer than what is remembered: read every time.
        let mut long = body(4, b"webm");
        long.extend([0xEC, 0x80 | 60].iter().chain(&[0u8; 60]));
        assert_eq!(check.check(&long), Ok(()));
        long.extend(body(9, b"webm"));
        assert!(check.check(&long).is_err());
        assert_eq!(check.check(&body(4, b"webm")), Ok(()));
    }
}
