//! The SigV4 canonical request.
//!
//! ```text
//! CanonicalRequest =
//!     HTTPMethod           + '\n' +
//!     CanonicalURI         + '\n' +   canonical_uri()
//!     CanonicalQueryString + '\n' +   canonical_query()
//!     CanonicalHeaders     + '\n' +   CanonicalHeaders::block (one "name:value\n" per header)
//!     SignedHeaders        + '\n' +   CanonicalHeaders::signed ("a;b;c")
//!     HexEncode(SHA256(Payload))      (or UNSIGNED-PAYLOAD, or a precomputed hash)
//! ```
//!
//! The rules, as the AWS documentation and test suites define them:
//!
//! * **URI**: unless the service is S3-like, remove dot segments and empty
//!   segments (`//`) from the path, then percent-encode the path *as received*
//!   once more ("double encoding": a `%` on the wire becomes `%25`). S3-like
//!   services use the path as is, encoding each segment exactly once.
//! * **Query**: split on `&`, split each parameter on its first `=`, decode,
//!   re-encode with the strict RFC 3986 unreserved set (`A-Z a-z 0-9 - _ . ~`),
//!   sort by encoded name then encoded value, join with `&`. A parameter
//!   without `=` gets an empty value.
//! * **Headers**: lower-case the names, trim the values and fold runs of
//!   whitespace (including the line breaks of folded multi-line values) into a
//!   single space, join repeated headers' values with `,` in order of
//!   appearance, sort by name.

use std::collections::BTreeMap;

/// Assembles the canonical request text from its already-canonical parts.
pub(crate) fn canonical_request(
    method: &str,
    canonical_uri: &str,
    canonical_query: &str,
    headers: &CanonicalHeaders,
    payload_hash: &str,
) -> String {
    format!(
        "{method}\n{canonical_uri}\n{canonical_query}\n{}\n{}\n{payload_hash}",
        headers.block, headers.signed
    )
}

/// How the path becomes the canonical URI.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UriRules {
    /// Remove `.`/`..` and empty segments (every service but S3).
    pub normalize: bool,
    /// Encode the received path again (every service but S3); otherwise each
    /// segment is decoded and encoded exactly once.
    pub double_encode: bool,
}

/// The canonical URI of the path part of a request target.
pub(crate) fn canonical_uri(path: &str, rules: UriRules) -> String {
    let normalized;
    let path = if rules.normalize {
        normalized = remove_dot_segments(path);
        normalized.as_str()
    } else {
        path
    };
    let mut encoded = if rules.double_encode {
        uri_encode(path.as_bytes(), false)
    } else {
        path.split('/')
            .map(|segment| uri_encode(&percent_decode(segment), true))
            .collect::<Vec<_>>()
            .join("/")
    };
    if !encoded.starts_with('/') {
        encoded.insert(0, '/');
    }
    encoded
}

/// RFC 3986 section 5.2.4 dot-segment removal, plus the removal of empty
/// segments that AWS requires (`//example//` becomes `/example/`). A trailing
/// slash is kept when something remains before it.
pub(crate) fn remove_dot_segments(path: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                kept.pop();
            }
            other => kept.push(other),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    out.push('/');
    out.push_str(&kept.join("/"));
    if path.ends_with('/') && !kept.is_empty() {
        out.push('/');
    }
    out
}

/// The canonical query string of `raw_query` (as received, still encoded),
/// leaving out parameters whose decoded name is in `skip`, and adding the
/// already-decoded `extra` parameters.
pub(crate) fn canonical_query(raw_query: &str, skip: &[&str], extra: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> = parse_query(raw_query)
        .into_iter()
        .filter(|(name, _)| !skip.iter().any(|s| s.as_bytes() == name.as_slice()))
        .map(|(name, value)| (uri_encode(&name, true), uri_encode(&value, true)))
        .collect();
    pairs.extend(extra.iter().map(|(name, value)| {
        (
            uri_encode(name.as_bytes(), true),
            uri_encode(value.as_bytes(), true),
        )
    }));
    pairs.sort();
    let mut out = String::with_capacity(raw_query.len() * 2);
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// The decoded `(name, value)` pairs of a raw query string, in order. Empty
/// pieces (`a=1&&b=2`) are dropped; a piece without `=` has an empty value.
pub(crate) fn parse_query(raw_query: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    raw_query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

/// Canonical headers and the signed-headers list.
#[derive(Clone, Debug, Default)]
pub(crate) struct CanonicalHeaders {
    /// One `name:value\n` line per distinct (lower-cased) name, sorted.
    pub block: String,
    /// The lower-cased names joined with `;`.
    pub signed: String,
    /// The lower-cased names, sorted.
    pub names: Vec<String>,
}

impl CanonicalHeaders {
    /// Canonicalizes the headers whose lower-cased name `include` accepts.
    pub(crate) fn new<'a>(
        headers: impl IntoIterator<Item = (&'a str, &'a str)>,
        include: impl Fn(&str) -> bool,
    ) -> Self {
        let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, value) in headers {
            let name = name.to_ascii_lowercase();
            if include(&name) {
                by_name
                    .entry(name)
                    .or_default()
                    .push(canonical_header_value(value));
            }
        }
        let mut out = Self::default();
        for (name, values) in by_name {
            out.block.push_str(&name);
            out.block.push(':');
            out.block.push_str(&values.join(","));
            out.block.push('\n');
            if !out.signed.is_empty() {
                out.signed.push(';');
            }
            out.signed.push_str(&name);
            out.names.push(name);
        }
        out
    }
}

/// A header value with leading and trailing whitespace removed and every
/// inner run of whitespace (spaces, tabs, line breaks) replaced by one space.
pub(crate) fn canonical_header_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for word in value.split_ascii_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Percent-encodes every byte outside the RFC 3986 unreserved set
/// (`A-Z a-z 0-9 - _ . ~`), with upper-case hex; `/` is kept as is unless
/// `encode_slash`.
pub(crate) fn uri_encode(bytes: &[u8], encode_slash: bool) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (b == b'/' && !encode_slash)
        {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

/// Decodes `%XX` escapes (either hex case). A `%` not followed by two hex
/// digits is kept literally; `+` is not a space.
pub(crate) fn percent_decode(text: &str) -> Vec<u8> {
    fn hex_value(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let high = bytes.get(i + 1).copied().and_then(hex_value);
            let low = bytes.get(i + 2).copied().and_then(hex_value);
            if let (Some(high), Some(low)) = (high, low) {
                out.push(high << 4 | low);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const AWS: UriRules = UriRules {
        normalize: true,
        double_encode: true,
    };
    const S3: UriRules = UriRules {
        normalize: false,
        double_encode: false,
    };

    #[test]
    fn uri_normalization() {
        for (path, want) in [
            ("", "/"),
            ("/", "/"),
            ("//", "/"),
            ("/./", "/"),
            ("/example/..", "/"),
            ("/example1/example2/../..", "/"),
            ("/../../x", "/x"),
            ("//example//", "/example/"),
            ("/./example", "/example"),
            ("/a/./b/../c/", "/a/c/"),
            ("relative/path", "/relative/path"),
        ] {
            assert_eq!(canonical_uri(path, AWS), want, "{path:?}");
        }
    }

    #[test]
    fn uri_encoding_single_and_double() {
        assert_eq!(canonical_uri("/example space/", AWS), "/example%20space/");
        assert_eq!(
            canonical_uri("/example%20space/", AWS),
            "/example%2520space/"
        );
        assert_eq!(canonical_uri("/example space/", S3), "/example%20space/");
        assert_eq!(canonical_uri("/example%20space/", S3), "/example%20space/");
        assert_eq!(canonical_uri("/a%2Fb//c/./", S3), "/a%2Fb//c/./");
        assert_eq!(canonical_uri("/%7e$", S3), "/~%24");
        assert_eq!(canonical_uri("/\u{1234}", AWS), "/%E1%88%B4");
        assert_eq!(canonical_uri("/100%", S3), "/100%25");
    }

    #[test]
    fn query_sorting_and_encoding() {
        assert_eq!(canonical_query("", &[], &[]), "");
        assert_eq!(
            canonical_query("Param-3=Value3&Param=Value2&%E1%88%B4=Value1", &[], &[]),
            "%E1%88%B4=Value1&Param=Value2&Param-3=Value3"
        );
        assert_eq!(
            canonical_query("Param1=value2&Param1=Value1", &[], &[]),
            "Param1=Value1&Param1=value2"
        );
        assert_eq!(canonical_query("a&&b=&=c", &[], &[]), "=c&a=&b=");
        assert_eq!(
            canonical_query("a=b+c d%2f%zz", &[], &[]),
            "a=b%2Bc%20d%2F%25zz"
        );
        assert_eq!(
            canonical_query(
                "X-Amz-Signature=abc&b=1",
                &["X-Amz-Signature"],
                &[("a", "x/y")]
            ),
            "a=x%2Fy&b=1"
        );
    }

    #[test]
    fn header_canonicalization() {
        let headers = [
            ("Host", "example.amazonaws.com"),
            ("My-Header1", "  value4 "),
            ("my-header1", "value1\n  value2\n     value3"),
            ("My-Header2", "\"a   b\tc\""),
            ("User-Agent", "skipped"),
        ];
        let canonical = CanonicalHeaders::new(headers, |name| name != "user-agent");
        assert_eq!(
            canonical.block,
            "host:example.amazonaws.com\nmy-header1:value4,value1 value2 value3\nmy-header2:\"a b c\"\n"
        );
        assert_eq!(canonical.signed, "host;my-header1;my-header2");
    }

    #[test]
    fn percent_decoding_is_total() {
        assert_eq!(percent_decode("%41%4a%"), b"AJ%");
        assert_eq!(percent_decode("%4"), b"%4");
        assert_eq!(percent_decode("%g1"), b"%g1");
        assert_eq!(percent_decode("\u{e9}"), "\u{e9}".as_bytes());
    }
}
