//! What every command shares about output: text from the input or a server
//! is escaped before it reaches a terminal, a failed write of standard
//! output is an error (exit 2) while a closed pipe (`| head`) is not, and
//! the input's name and size for messages.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt::{Display, Write as _};
use std::io::{self, Read};
use std::process::ExitCode;
use std::rc::Rc;

/// Text from a file or a server, safe for a terminal: the library's
/// [`kvs_mkv::escape_controls`].
pub fn escape(s: &str) -> Cow<'_, str> {
    kvs_mkv::escape_controls(s)
}

/// A JSON value as one line. serde_json escapes control characters; the
/// invisible formatting characters that [`escape`] escapes are written as
/// `\uXXXX` too (the same JSON value), so that a JSON line shown on a
/// terminal cannot reorder or hide text either.
pub fn json_line(value: &impl serde::Serialize) -> String {
    // Values and the crate's own line structs: maps with string keys,
    // which serde_json always serializes.
    let s = serde_json::to_string(value).expect("a JSON line serializes");
    if !s.chars().any(kvs_mkv::needs_escape) {
        return s;
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if kvs_mkv::needs_escape(c) {
            // Only inside strings (serde_json writes no other such
            // character), and all in the Basic Multilingual Plane.
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// Prints `kvs-mkv: MESSAGE` on standard error, escaped: messages carry
/// text from the input or a server (error messages, codec names, tags).
pub fn say(message: impl Display) {
    eprintln!("kvs-mkv: {}", escape(&message.to_string()));
}

/// The exit status after a failed write of standard output: a closed pipe
/// (the reader went away, e.g. `| head`) ends quietly with `status`; any
/// other failure (`> /dev/full`) is said and is exit status 2.
pub fn stdout_failed(e: &io::Error, status: u8) -> u8 {
    if e.kind() == io::ErrorKind::BrokenPipe {
        return status;
    }
    say(format_args!("cannot write to standard output: {e}"));
    2
}

/// A reader that counts the bytes it hands out.
pub struct Counted<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Counted<R> {
    /// The reader, and a handle on its count.
    pub fn new(inner: R) -> (Counted<R>, Rc<Cell<u64>>) {
        let count = Rc::new(Cell::new(0));
        (
            Counted {
                inner,
                count: count.clone(),
            },
            count,
        )
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Removes `path` if it is an empty regular file: an output this program
/// created (the caller checks that it did not exist before) and wrote
/// nothing to. Never a device (`/dev/full`), a pipe or a user's file.
pub fn remove_if_empty_file(path: &std::path::Path) {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file() && m.len() == 0) {
        let _ = std::fs::remove_file(path);
    }
}

/// What to say when an input held no chunk at all and no error was
/// reported (an empty input, or one with only an EBML header).
pub fn no_matroska(name: &str, bytes: u64) -> ExitCode {
    if bytes == 0 {
        say(format_args!("no Matroska data in {name}: it is empty"));
    } else {
        say(format_args!(
            "no Matroska data in {name}: {bytes} bytes without a chunk"
        ));
    }
    ExitCode::from(1)
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_controls_and_invisible_formatting() {
        assert_eq!(escape("plain ü 東京"), "plain ü 東京");
        assert!(matches!(escape("plain"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(escape("a\x1b[2Jb\x07\r\n\t"), "a\\x1b[2Jb\\x07\\r\\n\\t");
        assert_eq!(escape("\u{7f}\u{9b}"), "\\x7f\\u{9b}");
        assert_eq!(escape("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(escape("\u{200b}\u{feff}"), "\\u{200b}\\u{feff}");
    }

    #[test]
    fn json_lines_escape_invisible_formatting_too() {
        let v = serde_json::json!({"a": "x\u{1b}y\u{202e}z\u{feff}", "b": "ü"});
        let line = super::json_line(&v);
        assert_eq!(line, r#"{"a":"x\u001by\u202ez\ufeff","b":"ü"}"#);
        assert_eq!(serde_json::from_str::<serde_json::Value>(&line).unwrap(), v);
    }
}
