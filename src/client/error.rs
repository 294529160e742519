//! Errors of the client: the service's typed errors, and everything that can
//! go wrong on the way. None of them ever contains a secret.

use std::fmt;
use std::time::Duration;

use crate::kvs::{ErrorId, FragmentNumber};
use crate::DecodeError;

/// Anything a client call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The service answered with an error.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// The request would be refused by the service; not sent.
    #[error("invalid request: {0}")]
    InvalidRequest(#[from] InvalidRequest),
    /// No usable credentials: none found (the message names where they
    /// were looked for), a provider that failed or timed out, or keys that
    /// expired and could not be refreshed.
    #[error("credentials: {0}")]
    Credentials(#[from] super::CredentialsError),
    /// Region, endpoint, proxy or TLS configuration is missing or malformed.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// A request could not be signed (SigV4): the credentials or the region
    /// hold something a signature cannot carry. Not retried.
    #[error("cannot sign the request to {endpoint}: {source}")]
    Signing {
        /// The URL being called.
        endpoint: String,
        /// Why (never a secret).
        source: crate::sigv4::SigningError,
    },
    /// The connection failed (DNS, TCP, TLS, a proxy, or the peer closed
    /// it). Display shows the whole chain of causes on one line;
    /// [`source()`](std::error::Error::source) gives the underlying error
    /// (hyper's, an I/O error...) to walk or downcast.
    #[error("transport error talking to {endpoint}: {}", chain(&**source))]
    Transport {
        /// The URL being called.
        endpoint: String,
        /// The underlying error.
        source: BoxError,
    },
    /// No answer, or no data, in time.
    #[error("timed out after {after:?} waiting for {what}")]
    Timeout {
        /// How long was waited.
        after: Duration,
        /// For what.
        what: &'static str,
    },
    /// A JSON answer (status 200) is not JSON.
    #[error("unexpected response from {endpoint}: invalid JSON: {source}")]
    InvalidJson {
        /// The URL called.
        endpoint: String,
        /// The parser's error.
        source: serde_json::Error,
    },
    /// A GetMediaForFragmentList answer ended without the fragment asked
    /// for next (retried, as a broken body).
    #[error("unexpected response from {endpoint}: the answer ended without fragment {fragment}")]
    MissingFragment {
        /// The URL called.
        endpoint: String,
        /// The fragment number asked for.
        fragment: FragmentNumber,
    },
    /// The media could not be decoded.
    #[error("decoding the media: {0}")]
    Decode(#[from] DecodeError),
    /// GetMedia stopped on an error it reported in the stream
    /// (`AWS_KINESISVIDEO_ERROR_ID` / `_ERROR_CODE`).
    #[error("the stream reported an error{}: {} {}", fragment_note(fragment.as_ref()), id.map(|i| i.to_string()).unwrap_or_default(), shown(code.as_deref().unwrap_or("")))]
    StreamError {
        /// The chunk's fragment number, if it had one.
        fragment: Option<FragmentNumber>,
        /// `AWS_KINESISVIDEO_ERROR_ID`.
        id: Option<ErrorId>,
        /// `AWS_KINESISVIDEO_ERROR_CODE`.
        code: Option<String>,
    },
    /// GetMediaForFragmentList could not return one fragment
    /// (`AWS_KINESISVIDEO_EXCEPTION_*` tags).
    #[error("fragment {}: exception {}: {}", fragment.as_ref().map_or("?".to_string(), |f| f.to_string()), code.map(|c| c.to_string()).unwrap_or_default(), shown(message.as_deref().unwrap_or("")))]
    FragmentException {
        /// The fragment number (the chunk's, else the one asked for), if
        /// known.
        fragment: Option<FragmentNumber>,
        /// `AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE`.
        code: Option<u32>,
        /// `AWS_KINESISVIDEO_EXCEPTION_MESSAGE`.
        message: Option<String>,
    },
    /// Retries ran out. One operation (a page of a listing, a GetMedia
    /// stream, a GetMediaForFragmentList call...) has one retry budget, so
    /// `last` is never itself `RetriesExhausted`.
    #[error("{operation}: gave up after {attempts} failed attempts; last call {endpoint}: {last}")]
    RetriesExhausted {
        /// The operation, e.g. `GetMedia for stream cam`.
        operation: String,
        /// The URL of the last call made.
        endpoint: String,
        /// Failed attempts in a row (for GetMedia: without progress).
        attempts: u32,
        /// The last failure.
        last: Box<ClientError>,
    },
    /// A JSON answer is larger than the client accepts
    /// ([`ClientConfig::max_json_body`](super::ClientConfig::max_json_body));
    /// nothing past the limit was read.
    #[error("the answer from {endpoint} is larger than the limit of {limit} bytes{}", declared.map(|d| format!(" (it declares {d})")).unwrap_or_default())]
    BodyTooLarge {
        /// The URL called.
        endpoint: String,
        /// The limit, in bytes.
        limit: u64,
        /// The size the answer declared (`Content-Length`), when it did.
        declared: Option<u64>,
    },
    /// A member of a JSON answer is missing, of the wrong type, or outside
    /// the limits of the service models (`../shared/api`).
    #[error("unexpected response from {endpoint}: {member}: {detail}")]
    InvalidResponse {
        /// The URL called.
        endpoint: String,
        /// Where in the answer, e.g. `Fragments[3].FragmentNumber` (`$` for
        /// the answer itself).
        member: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A paginator received a `NextToken` it had already used in this
    /// listing (as botocore's "The same next token was received twice"):
    /// following it would loop forever.
    #[error("{endpoint}: the same next token was received twice ({token})")]
    RepeatedNextToken {
        /// The URL called.
        endpoint: String,
        /// The token (at most its first 64 characters).
        token: String,
    },
    /// Connecting (TCP and TLS together) took longer than
    /// [`ClientConfig::connect_timeout`](super::ClientConfig::connect_timeout).
    #[error("connect (TCP+TLS) to {host} timed out after {after:?}")]
    ConnectTimeout {
        /// `host:port` connected to.
        host: String,
        /// The connect timeout.
        after: Duration,
    },
}

/// A boxed error that can cross threads: the cause kept by
/// [`ClientError::Transport`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error and its causes on one line, `: `-separated (each shown escaped:
/// causes may quote the server).
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = shown(&e.to_string());
    let mut source = e.source();
    while let Some(s) = source {
        let text = shown(&s.to_string());
        // Some errors repeat their source's text in their own.
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// Why a request was refused before it was sent: what the service would
/// refuse (the limits of `../shared/api`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidRequest {
    /// A `StreamName` outside 1 to 256 characters of `[a-zA-Z0-9_.-]`.
    #[error("stream name {name:?} must be 1 to 256 characters of [a-zA-Z0-9_.-]")]
    StreamName {
        /// The name given.
        name: String,
    },
    /// A `StreamARN` that is not a Kinesis Video stream ARN.
    #[error("{arn:?} is not a Kinesis Video stream ARN (arn:PARTITION:kinesisvideo:REGION:ACCOUNT:stream/NAME/ID)")]
    StreamArn {
        /// The ARN given.
        arn: String,
    },
    /// A continuation token outside 1 to 128 characters of
    /// `[a-zA-Z0-9_.-]`.
    #[error("continuation token {token:?} must be 1 to 128 characters of [a-zA-Z0-9_.-]")]
    ContinuationToken {
        /// The token given.
        token: String,
    },
    /// A time range (a fragment selector's, GetImages') that starts after it
    /// ends.
    #[error("the time range starts ({start}) after it ends ({end})")]
    TimeRange {
        /// The start given.
        start: crate::Timestamp,
        /// The end given.
        end: crate::Timestamp,
    },
    /// A GetImages time range longer than the service takes: 300 seconds.
    #[error(
        "the GetImages time range from {start} to {end} is longer than the service's 300 seconds"
    )]
    ImageRange {
        /// The start given.
        start: crate::Timestamp,
        /// The end given.
        end: crate::Timestamp,
    },
    /// A page size outside what the operation takes.
    #[error("page size {size} is outside 1..={max}")]
    PageSize {
        /// The size given.
        size: u64,
        /// The operation's largest page (1000 for ListFragments, 100 for
        /// GetImages).
        max: u64,
    },
    /// `max_items` of 0.
    #[error("max items must be at least 1")]
    MaxItems,
    /// GetMediaForFragmentList with no fragment numbers.
    #[error("no fragment numbers given")]
    NoFragments,
    /// A GetImages sampling interval below the service's minimum (3000 ms,
    /// or 200 ms with `allow_short_interval`; never 0).
    #[error("sampling interval {ms} ms is below the service's minimum of 3000 ms")]
    SamplingInterval {
        /// The interval given, in milliseconds.
        ms: u32,
    },
    /// A GetImages width outside 1..=3840.
    #[error("width {width} is outside 1..=3840")]
    Width {
        /// The width given.
        width: u32,
    },
    /// A GetImages width without a height (the service refuses it).
    #[error("a width needs a height too (the service refuses a width alone)")]
    WidthWithoutHeight,
    /// A GetImages height outside 1..=2160.
    #[error("height {height} is outside 1..=2160")]
    Height {
        /// The height given.
        height: u32,
    },
    /// A JPEG quality outside 1..=100.
    #[error("JPEG quality {quality} is outside 1..=100")]
    JpegQuality {
        /// The quality given.
        quality: u8,
    },
}

/// Why a [`ClientConfig`](super::ClientConfig) cannot be used (found when
/// it is read from the environment or when the [`Client`](super::Client)
/// is built, before any call).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No region was given, nor found in the environment or the profile.
    #[error("no region: give one, or set AWS_REGION or AWS_DEFAULT_REGION, or `region` in profile {profile:?}")]
    NoRegion {
        /// The profile looked in.
        profile: String,
    },
    /// A shared config or credentials file, read for the region, is not in
    /// their format: the file and the line (else the error would be "no
    /// region", hiding the cause).
    #[error(transparent)]
    ProfileFile(#[from] super::ProfileFileError),
    /// An AWS SDK configuration (feature `aws-config`) without a region.
    #[error("no region in the AWS SDK's configuration: give one, or set AWS_REGION or AWS_DEFAULT_REGION, or `region` in the profile")]
    NoSdkRegion,
    /// A profile named explicitly that neither shared file has.
    #[error("profile {profile:?} is not in {files}")]
    NoProfile {
        /// The profile named.
        profile: String,
        /// The files looked in.
        files: String,
    },
    /// A region that is not 1 to 64 characters of `[a-z0-9-]`.
    #[error("region {region:?} is not a region name (1 to 64 characters of [a-z0-9-])")]
    Region {
        /// The region given.
        region: String,
    },
    /// The endpoint URL is not an absolute `http://` or `https://` URL
    /// without a query.
    #[error(
        "endpoint URL {} is not an http:// or https:// URL with a host, no user info and no query",
        shown(url)
    )]
    EndpointUrl {
        /// The URL given (with any `user:password@` removed).
        url: String,
    },
    /// A proxy URL that cannot be used: not an `http://` proxy URL (HTTPS
    /// and SOCKS proxies are not supported), or malformed.
    #[error("proxy {} ({variable}): {reason}", shown(url))]
    Proxy {
        /// Where it came from: `HTTPS_PROXY`, `https_proxy`, ... or
        /// `ClientConfig::proxy`.
        variable: String,
        /// The URL, with any password replaced by `***`.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The TLS configuration could not be built.
    #[error("TLS setup: {0}")]
    Tls(#[source] rustls::Error),
}

/// Text that came from the server, made safe for a terminal and a log line:
/// control and invisible characters are escaped ([`crate::escape_controls`]), and
/// anything past 512 characters is cut.
pub(crate) fn shown(s: &str) -> String {
    const MAX: usize = 512;
    let cut = match s.char_indices().nth(MAX) {
        Some((at, _)) => &s[..at],
        None => s,
    };
    let mut out = crate::escape_controls(cut).into_owned();
    if cut.len() < s.len() {
        out.push_str("...");
    }
    out
}

fn fragment_note(f: Option<&FragmentNumber>) -> String {
    f.map(|f| format!(" in fragment {f}")).unwrap_or_default()
}

impl ClientError {
    /// Whether calling again (after a pause) may succeed: throttling,
    /// connection limits, 5xx, transport failures and timeouts, and
    /// credentials whose provider failed in a way that may pass.
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::Service(e) => e.is_retryable(),
            ClientError::Credentials(e) => e.is_retryable(),
            ClientError::Transport { .. }
            | ClientError::Timeout { .. }
            | ClientError::ConnectTimeout { .. } => true,
            _ => false,
        }
    }

    /// The service error, if this is one.
    pub fn service(&self) -> Option<&ServiceError> {
        match self {
            ClientError::Service(e) => Some(e),
            ClientError::RetriesExhausted { last, .. } => last.service(),
            _ => None,
        }
    }
}

/// An error answer from the service: its type, HTTP status, message and
/// request id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    /// The error type (from `x-amzn-ErrorType`).
    pub kind: ServiceErrorKind,
    /// HTTP status.
    pub status: u16,
    /// The message the service gave.
    pub message: String,
    /// `x-amzn-RequestId`, for AWS support.
    pub request_id: Option<String>,
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The type, message and request id come from the server: shown
        // escaped, never raw on a terminal.
        write!(f, "{} (HTTP {})", shown(self.kind.as_str()), self.status)?;
        if !self.message.is_empty() {
            write!(f, ": {}", shown(&self.message))?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {}]", shown(id))?;
        }
        Ok(())
    }
}

impl std::error::Error for ServiceError {}

impl ServiceError {
    /// Whether the service refused the request's credentials as expired or
    /// unknown (`ExpiredTokenException`, `UnrecognizedClientException`, and
    /// the `ExpiredToken` / `InvalidClientTokenId` spellings of other AWS
    /// services): new credentials may succeed where these failed.
    ///
    /// ```
    /// use kvs_mkv::client::{ServiceError, ServiceErrorKind};
    /// let e = ServiceError {
    ///     kind: ServiceErrorKind::from_type("ExpiredTokenException"),
    ///     status: 403,
    ///     message: "The security token included in the request is expired".into(),
    ///     request_id: None,
    /// };
    /// assert!(e.refuses_credentials());
    /// ```
    pub fn refuses_credentials(&self) -> bool {
        match &self.kind {
            ServiceErrorKind::ExpiredToken | ServiceErrorKind::UnrecognizedClient => true,
            ServiceErrorKind::Other(name) => {
                name.eq_ignore_ascii_case("ExpiredToken")
                    || name.eq_ignore_ascii_case("InvalidClientTokenId")
            }
            _ => false,
        }
    }

    /// Whether the service asked the client to slow down:
    /// `ThrottlingException`, `ClientLimitExceededException`, or HTTP 429.
    pub fn is_throttling(&self) -> bool {
        matches!(
            self.kind,
            ServiceErrorKind::Throttling | ServiceErrorKind::ClientLimitExceeded
        ) || self.status == 429
    }

    /// Throttling, connection limits, a stale endpoint and server errors are
    /// worth retrying.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            ServiceErrorKind::ClientLimitExceeded
                | ServiceErrorKind::ConnectionLimitExceeded
                | ServiceErrorKind::Throttling
                // Asking GetDataEndpoint again is the remedy.
                | ServiceErrorKind::InvalidEndpoint
        ) || self.status >= 500
    }
}

macro_rules! kinds {
    ($($variant:ident => $code:literal,)*) => {
        /// Every error type of the service models (`../shared/api`), plus the
        /// authentication errors every AWS service answers with.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ServiceErrorKind {
            $(
                #[doc = $code]
                $variant,
            )*
            /// Any other type, as the service spelled it.
            Other(String),
        }

        impl ServiceErrorKind {
            /// The kind for an `x-amzn-ErrorType` value (case-insensitive;
            /// anything after `:` and any `namespace#` prefix ignored).
            pub fn from_type(raw: &str) -> ServiceErrorKind {
                let name = raw.split(':').next().unwrap_or("").trim();
                let name = name.rsplit('#').next().unwrap_or(name);
                $(
                    if name.eq_ignore_ascii_case($code) {
                        return ServiceErrorKind::$variant;
                    }
                )*
                ServiceErrorKind::Other(name.to_string())
            }

            /// The error type as the service spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(ServiceErrorKind::$variant => $code,)*
                    ServiceErrorKind::Other(s) => s,
                }
            }
        }
    };
}

kinds! {
    AccessDenied => "AccessDeniedException",
    AccountChannelLimitExceeded => "AccountChannelLimitExceededException",
    AccountStreamLimitExceeded => "AccountStreamLimitExceededException",
    ClientLimitExceeded => "ClientLimitExceededException",
    ConnectionLimitExceeded => "ConnectionLimitExceededException",
    DeviceStreamLimitExceeded => "DeviceStreamLimitExceededException",
    InvalidArgument => "InvalidArgumentException",
    InvalidCodecPrivateData => "InvalidCodecPrivateDataException",
    InvalidDevice => "InvalidDeviceException",
    InvalidEndpoint => "InvalidEndpointException",
    InvalidMediaFrame => "InvalidMediaFrameException",
    InvalidResourceFormat => "InvalidResourceFormatException",
    MissingCodecPrivateData => "MissingCodecPrivateDataException",
    NoDataRetention => "NoDataRetentionException",
    NotAuthorized => "NotAuthorizedException",
    ResourceInUse => "ResourceInUseException",
    ResourceNotFound => "ResourceNotFoundException",
    StreamEdgeConfigurationNotFound => "StreamEdgeConfigurationNotFoundException",
    TagsPerResourceExceededLimit => "TagsPerResourceExceededLimitException",
    UnsupportedStreamMediaType => "UnsupportedStreamMediaTypeException",
    VersionMismatch => "VersionMismatchException",
    UnrecognizedClient => "UnrecognizedClientException",
    InvalidSignature => "InvalidSignatureException",
    MissingAuthenticationToken => "MissingAuthenticationTokenException",
    ExpiredToken => "ExpiredTokenException",
    IncompleteSignature => "IncompleteSignatureException",
    Throttling => "ThrottlingException",
    InternalFailure => "InternalFailure",
    ServiceUnavailable => "ServiceUnavailable",
}

impl fmt::Display for ServiceErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_type_header_forms() {
        for raw in [
            "ResourceNotFoundException",
            "resourcenotfoundexception",
            "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.kinesisvideo/",
            "com.amazonaws.kinesisvideo#ResourceNotFoundException",
        ] {
            assert_eq!(ServiceErrorKind::from_type(raw), ServiceErrorKind::ResourceNotFound, "{raw}");
        }
        assert_eq!(
            ServiceErrorKind::from_type("Weird"),
            ServiceErrorKind::Other("Weird".into())
        );
    }

    #[test]
    fn server_text_is_escaped() {
        let e = ServiceError {
            kind: ServiceErrorKind::Other("Bad\x1b[2J".into()),
            status: 500,
            message: "line\r\nfake: \x07".into(),
            request_id: Some("id\x1b]0;title\x07".into()),
        };
        let shown = e.to_string();
        assert!(!shown.chars().any(|c| c.is_control()), "{shown:?}");
        assert!(
            shown.contains("\\x1b[2J") && shown.contains("line\\r\\nfake"),
            "{shown}"
        );
        assert_eq!(super::shown(&"x".repeat(600)).len(), 515);
    }
}
