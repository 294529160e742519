//! [`Text`]: the strings a chunk carries (tag names and values, codec IDs),
//! cheap to clone and made without an allocation of their own.

use std::borrow::{Borrow, Cow};
use std::fmt::{self, Write as _};
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use bytes::{Bytes, BytesMut};

/// An immutable UTF-8 string held in [`Bytes`]: a tag's name or value, a
/// track's codec ID. Cloning it never copies, and the decoder makes it
/// without an allocation of its own (it packs the strings it reads into
/// shared 1 KiB blocks), so a chunk's dozen strings do not cost a dozen
/// allocations.
///
/// Like any `Bytes` view, a `Text` keeps its block alive: a string kept
/// from a decoded chunk holds up to 1 KiB (strings over 256 bytes get an
/// allocation of their own). To keep many strings for long - an index of
/// continuation tokens, say - keep [`compact`](Self::compact) copies, or
/// `String`s.
///
/// It reads as a `&str` ([`Deref`], [`as_str`](Self::as_str)) and compares
/// with `str` and `String`.
///
/// ```
/// use kvs_mkv::Text;
/// let t = Text::from("AWS_KINESISVIDEO_FRAGMENT_NUMBER");
/// assert_eq!(t, "AWS_KINESISVIDEO_FRAGMENT_NUMBER");
/// assert!(t.starts_with("AWS_"));
/// assert_eq!(Text::from_static("V_MPEG4/ISO/AVC").as_str(), "V_MPEG4/ISO/AVC");
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Text(Bytes);

impl Text {
    /// A `Text` of a string literal (no allocation).
    pub const fn from_static(s: &'static str) -> Text {
        Text(Bytes::from_static(s.as_bytes()))
    }

    /// The string. (The bytes were checked to be UTF-8 when the `Text` was
    /// made; this crate forbids `unsafe`, so they are checked again here,
    /// which for strings of a few dozen bytes costs a few nanoseconds.)
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The UTF-8 bytes, as the `Bytes` view they are (`as_bytes()`, from
    /// `str`, gives the slice).
    pub fn bytes(&self) -> &Bytes {
        &self.0
    }

    /// A copy in an allocation of its own, which keeps nothing else alive.
    ///
    /// ```
    /// let t = kvs_mkv::Text::from("91343852333181432392682062607743920146159000001");
    /// assert_eq!(t.compact(), t);
    /// ```
    pub fn compact(&self) -> Text {
        Text(Bytes::copy_from_slice(&self.0))
    }

    /// `bytes` as text, invalid sequences replaced by U+FFFD (then copied).
    pub fn from_utf8_lossy(bytes: Bytes) -> Text {
        match String::from_utf8_lossy(&bytes) {
            std::borrow::Cow::Borrowed(_) => Text(bytes),
            std::borrow::Cow::Owned(s) => Text::from(s),
        }
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

/// Hashes as the `str` it holds (as [`Borrow<str>`] requires).
impl Hash for Text {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text(Bytes::from(s))
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<Text> for String {
    fn from(t: Text) -> String {
        t.as_str().to_owned()
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        other == self
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        other == *self
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        other == self
    }
}

/// Where the decoder packs the strings it reads: blocks of [`BLOCK`] bytes,
/// each string split off as a view. A block is freed when the last `Text`
/// in it is dropped, so a kept string keeps at most one block alive.
#[derive(Debug, Default)]
pub(crate) struct TextArena {
    block: BytesMut,
}

/// Size of an arena block: a GetMedia chunk's strings take about 350 bytes,
/// so one block serves about three chunks; small, because a `Text` kept
/// keeps its whole block alive.
const BLOCK: usize = 1024;

impl TextArena {
    /// `bytes` (an element's payload, trailing NULs already removed) as
    /// text, invalid UTF-8 replaced by U+FFFD.
    pub(crate) fn text(&mut self, bytes: &[u8]) -> Text {
        let lossy;
        // Tag names and values, codec IDs and languages are ASCII: checked
        // a word at a time, several times faster than UTF-8 validation.
        let s = if bytes.is_ascii() || std::str::from_utf8(bytes).is_ok() {
            bytes
        } else {
            lossy = String::from_utf8_lossy(bytes);
            lossy.as_bytes()
        };
        if s.is_empty() {
            return Text::default();
        }
        if s.len() > BLOCK / 4 {
            // A long string gets its own allocation rather than wasting the
            // rest of a block.
            return Text(Bytes::copy_from_slice(s));
        }
        if self.block.capacity() - self.block.len() < s.len() {
            self.block = BytesMut::with_capacity(BLOCK);
        }
        self.block.extend_from_slice(s);
        Text(self.block.split().freeze())
    }
}

/// `s` with every control character (C0, DEL, C1) and every invisible
/// formatting character that can reorder or hide text (bidirectional
/// overrides and isolates, zero-width characters, the BOM) written as an
/// escape (`\x1b`, `\r`, `\u{202e}`), so that text from a file or a server
/// cannot move a terminal's cursor, retitle it or disguise itself.
/// Anything else, non-ASCII letters included, is kept. The client's errors
/// and the command-line program show text from the wire through this.
///
/// ```
/// use kvs_mkv::escape_controls;
/// assert_eq!(escape_controls("plain ü 東京"), "plain ü 東京");
/// assert_eq!(escape_controls("a\x1b[2Jb\x07\r\n\t"), "a\\x1b[2Jb\\x07\\r\\n\\t");
/// assert_eq!(escape_controls("\u{7f}\u{9b}"), "\\x7f\\u{9b}");
/// assert_eq!(escape_controls("abc\u{202e}fed"), "abc\\u{202e}fed");
/// ```
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !needs_escape(c) {
            out.push(c);
            continue;
        }
        let _ = match c {
            '\n' => out.write_str("\\n"),
            '\r' => out.write_str("\\r"),
            '\t' => out.write_str("\\t"),
            c if (c as u32) < 0x80 => write!(out, "\\x{:02x}", c as u32),
            c => write!(out, "\\u{{{:x}}}", c as u32),
        };
    }
    Cow::Owned(out)
}

/// Whether [`escape_controls`] escapes `c`: controls, and the invisible
/// characters that reorder or hide text.
pub fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061c}' // Arabic letter mark
            | '\u{200b}'..='\u{200f}' // zero-width space/joiners, LRM, RLM
            | '\u{2028}' | '\u{2029}' // line and paragraph separators
            | '\u{202a}'..='\u{202e}' // embeddings and overrides
            | '\u{2060}'..='\u{2069}' // word joiner, invisible operators, isolates
            | '\u{feff}' // byte order mark
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arena_texts_are_views_of_shared_blocks() {
        let mut arena = TextArena::default();
        let a = arena.text(b"AWS_KINESISVIDEO_FRAGMENT_NUMBER");
        let b = arena.text(b"91343852333181432392682062607743920146159");
        assert_eq!(a, "AWS_KINESISVIDEO_FRAGMENT_NUMBER");
        assert_eq!(b, "91343852333181432392682062607743920146159");
        // Adjacent in one block.
        assert_eq!(
            a.bytes().as_ptr() as usize + a.len(),
            b.bytes().as_ptr() as usize
        );
        assert_eq!(arena.text(b""), "");
        assert_eq!(arena.text(b"a\xFFb"), "a\u{FFFD}b");
        let long = vec![b'x'; 5000];
        assert_eq!(arena.text(&long).len(), 5000);
        // Filling a block starts another.
        for _ in 0..200 {
            assert_eq!(
                arena.text(b"0123456789abcdef0123456789"),
                "0123456789abcdef0123456789"
            );
        }
    }

    #[test]
    fn compares_and_hashes_as_str() {
        use std::collections::HashSet;
        let t = Text::from("abc");
        let owned = String::from("abc");
        assert_eq!(t, "abc");
        assert_eq!("abc", t);
        assert_eq!(t, owned);
        assert_ne!(t, "abd");
        let set: HashSet<Text> = [t.clone()].into_iter().collect();
        assert!(set.contains("abc"));
        assert_eq!(format!("{t} {t:?}"), "abc \"abc\"");
        assert_eq!(String::from(t), "abc");
    }
}
