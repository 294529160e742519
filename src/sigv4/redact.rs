//! The one definition of what is hidden from `Debug` output, errors and
//! logs: the session token wherever it travels (a header, a query
//! parameter, a line of a canonical request) and the password of a URL's
//! `user:password@`. Each is replaced by [`REDACTED`].

use std::fmt;

use super::names::X_AMZ_SECURITY_TOKEN;

/// What a hidden value shows as.
pub(crate) const REDACTED: &str = "***";

/// Whether a header or query parameter with this name carries a secret.
pub(crate) fn is_secret(name: &str) -> bool {
    name.eq_ignore_ascii_case(X_AMZ_SECURITY_TOKEN)
}

/// `Debug` of a list of `(name, value)` pairs (headers, query parameters)
/// with the secret values hidden.
pub(crate) struct Pairs<'a>(pub(crate) &'a [(String, String)]);

impl fmt::Debug for Pairs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, value)| {
                let value = if is_secret(name) {
                    REDACTED
                } else {
                    value.as_str()
                };
                (name.as_str(), value)
            }))
            .finish()
    }
}

/// `target` (`path?query`) with the value of any secret query parameter
/// hidden.
pub(crate) fn query(target: &str) -> String {
    let Some((path, query)) = target.split_once('?') else {
        return target.to_owned();
    };
    let pieces: Vec<String> = query
        .split('&')
        .map(|piece| match piece.split_once('=') {
            Some((key, _)) if is_secret(key) => format!("{key}={REDACTED}"),
            _ => piece.to_owned(),
        })
        .collect();
    format!("{path}?{}", pieces.join("&"))
}

/// A canonical request with the session token hidden: its canonical header
/// line and its canonical query parameter (line 3).
pub(crate) fn canonical_request(canonical_request: &str) -> String {
    let token_header = format!("{}:", X_AMZ_SECURITY_TOKEN.to_ascii_lowercase());
    canonical_request
        .split('\n')
        .enumerate()
        .map(|(line_number, line)| {
            if line.starts_with(&token_header) {
                format!("{token_header}{REDACTED}")
            } else if line_number == 2 {
                // The canonical query string.
                query(&format!("?{line}"))[1..].to_owned()
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A URL with the password of its `user:password@` hidden
/// (`http://user:***@proxy:3128`); the user name stays, to say which
/// account. A URL without one is returned as it is.
#[cfg_attr(not(feature = "client"), allow(dead_code))]
pub(crate) fn url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    let user = match userinfo.split_once(':') {
        Some((user, _)) => format!("{user}:{REDACTED}"),
        None => userinfo.to_owned(),
    };
    match scheme {
        Some(scheme) => format!("{scheme}://{user}@{host}{tail}"),
        None => format!("{user}@{host}{tail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_hide_the_token_in_any_case() {
        let pairs = vec![
            ("x-amz-security-token".to_string(), "FQoGtoken".to_string()),
            ("X-Amz-Date".to_string(), "20150830T123600Z".to_string()),
            ("X-AMZ-SECURITY-TOKEN".to_string(), "FQoGtoken".to_string()),
        ];
        let shown = format!("{:?}", Pairs(&pairs));
        assert!(!shown.contains("FQoG"), "{shown}");
        assert!(shown.contains("20150830T123600Z"), "{shown}");
    }

    #[test]
    fn query_and_canonical_request() {
        assert_eq!(
            query("/p?a=1&X-Amz-Security-Token=FQoG&b=2"),
            "/p?a=1&X-Amz-Security-Token=***&b=2"
        );
        assert_eq!(query("/p"), "/p");
        let canonical =
            "GET\n/\nX-Amz-Security-Token=FQoG&a=1\nx-amz-security-token:FQoG\n\nhost\nhash";
        let hidden = canonical_request(canonical);
        assert!(!hidden.contains("FQoG"), "{hidden}");
        assert_eq!(
            hidden,
            "GET\n/\nX-Amz-Security-Token=***&a=1\nx-amz-security-token:***\n\nhost\nhash"
        );
    }

    #[test]
    fn url_passwords() {
        assert_eq!(
            url("http://user:p%40ss@proxy:3128/"),
            "http://user:***@proxy:3128/"
        );
        assert_eq!(url("http://user@proxy:3128"), "http://user@proxy:3128");
        assert_eq!(url("http://proxy:3128/a@b"), "http://proxy:3128/a@b");
        assert_eq!(url("user:secret@proxy:3128"), "user:***@proxy:3128");
        assert_eq!(url("http://a:b:c@h/"), "http://a:***@h/");
    }
}
