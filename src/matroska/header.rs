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
