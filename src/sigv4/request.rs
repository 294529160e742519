//! The request representation shared by the signer and the verifier,
//! independent of any HTTP crate.

use std::fmt;

use super::redact;

/// An HTTP request as SigV4 sees it.
///
/// * `path` is the request target exactly as it goes on the wire: the path,
///   already percent-encoded as the client sends it, optionally followed by
///   `?` and the raw query string.
/// * `headers` is an ordered list of `(name, value)` pairs; names may repeat
///   and keep the case they were given in.
/// * `body` is the payload. When signing with
///   [`PayloadHash::Precomputed`](super::PayloadHash::Precomputed) or
///   [`PayloadHash::Unsigned`](super::PayloadHash::Unsigned) it is not read and
///   may be left empty.
///
/// `Debug` shows the body's length only and hides session tokens (in an
/// `X-Amz-Security-Token` header or query parameter).
///
/// ```
/// use kvs_mkv::sigv4::Request;
///
/// let request = Request::new("GET", "/path?b=2&a=1")
///     .with_header("Host", "example.amazonaws.com")
///     .with_body(Vec::new());
/// assert_eq!(request.path_without_query(), "/path");
/// assert_eq!(request.query(), "b=2&a=1");
/// assert_eq!(request.header_value("host"), Some("example.amazonaws.com"));
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// The HTTP method, e.g. `POST`.
    pub method: String,
    /// The request target: encoded path plus optional `?query`.
    pub path: String,
    /// Header fields in order; duplicates allowed.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl Request {
    /// A request with no headers and an empty body.
    ///
    /// ```
    /// let request = kvs_mkv::sigv4::Request::new("POST", "/getMedia");
    /// assert!(request.headers.is_empty() && request.body.is_empty());
    /// ```
    pub fn new(method: impl Into<String>, path: impl Into<String>) -> Self {
        Self {
            method: method.into(),
            path: path.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Appends a header (builder style; an existing header of the same name
    /// is kept, so this can build repeated headers).
    ///
    /// ```
    /// let request = kvs_mkv::sigv4::Request::new("GET", "/")
    ///     .with_header("My-Header", "a")
    ///     .with_header("my-header", "b");
    /// assert_eq!(request.header_values("MY-HEADER").collect::<Vec<_>>(), ["a", "b"]);
    /// ```
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Replaces the body (builder style).
    ///
    /// ```
    /// let request = kvs_mkv::sigv4::Request::new("POST", "/").with_body(b"{}".to_vec());
    /// assert_eq!(request.body, b"{}");
    /// ```
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The path without its query string.
    ///
    /// ```
    /// let request = kvs_mkv::sigv4::Request::new("GET", "/a/b?x=1");
    /// assert_eq!(request.path_without_query(), "/a/b");
    /// ```
    pub fn path_without_query(&self) -> &str {
        split_path_query(&self.path).0
    }

    /// The raw query string (after the first `?`), empty if there is none.
    ///
    /// ```
    /// let request = kvs_mkv::sigv4::Request::new("GET", "/a?x=1&y");
    /// assert_eq!(request.query(), "x=1&y");
    /// ```
    pub fn query(&self) -> &str {
        split_path_query(&self.path).1
    }

    /// The value of the first header called `name` (compared without regard
    /// to ASCII case).
    ///
    /// ```
    /// let request = kvs_mkv::sigv4::Request::new("GET", "/").with_header("Host", "h");
    /// assert_eq!(request.header_value("HOST"), Some("h"));
    /// assert_eq!(request.header_value("date"), None);
    /// ```
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The values of every header called `name`, in order (names compared
    /// without regard to ASCII case).
    ///
    /// ```
    /// let request = kvs_mkv::sigv4::Request::new("GET", "/")
    ///     .with_header("A", "1")
    ///     .with_header("B", "2")
    ///     .with_header("a", "3");
    /// assert_eq!(request.header_values("a").collect::<Vec<_>>(), ["1", "3"]);
    /// ```
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Sets a header: the first header of that name (any case) gets the new
    /// name and value in place and later ones are removed; if there is none,
    /// the header is appended.
    ///
    /// ```
    /// let mut request = kvs_mkv::sigv4::Request::new("GET", "/")
    ///     .with_header("x-amz-date", "old")
    ///     .with_header("Host", "h")
    ///     .with_header("X-AMZ-DATE", "older");
    /// request.set_header("X-Amz-Date", "20150830T123600Z");
    /// assert_eq!(
    ///     request.headers,
    ///     [
    ///         ("X-Amz-Date".to_string(), "20150830T123600Z".to_string()),
    ///         ("Host".to_string(), "h".to_string()),
    ///     ]
    /// );
    /// ```
    pub fn set_header(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        let value = value.into();
        match self
            .headers
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(&name))
        {
            Some(first) => {
                let mut index = 0;
                self.headers.retain(|(n, _)| {
                    let keep = index <= first || !n.eq_ignore_ascii_case(&name);
                    index += 1;
                    keep
                });
                if let Some(slot) = self.headers.get_mut(first) {
                    *slot = (name, value);
                }
            }
            None => self.headers.push((name, value)),
        }
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &redact::query(&self.path))
            .field("headers", &redact::Pairs(&self.headers))
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Splits a request target at the first `?` into path and query.
pub(crate) fn split_path_query(target: &str) -> (&str, &str) {
    target.split_once('?').unwrap_or((target, ""))
}
