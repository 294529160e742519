//! Verification of received SigV4 requests, for a local emulator server.
//!
//! Both forms are accepted: the `Authorization` header (with `X-Amz-Date`)
//! and presigned URLs (`X-Amz-*` query parameters). The signature is
//! recomputed from the request exactly as the signer computes it and compared
//! in constant time. Every failure is a typed [`VerifyError`] that maps to the
//! error code AWS would answer with.

use std::fmt;
use std::time::{Duration, SystemTime};

use super::canonical::{
    canonical_query, canonical_request, canonical_uri, parse_query, CanonicalHeaders, UriRules,
};
use super::credentials::{CredentialStore, Credentials};
use super::crypto::{constant_time_eq, sha256_hex};
use super::names::{
    TERMINATOR, X_AMZ_ALGORITHM, X_AMZ_CONTENT_SHA256, X_AMZ_CREDENTIAL, X_AMZ_DATE, X_AMZ_EXPIRES,
    X_AMZ_SECURITY_TOKEN, X_AMZ_SIGNATURE, X_AMZ_SIGNED_HEADERS,
};
use super::request::Request;
use super::signer::{string_to_sign, CredentialScope, SigningKey};
use super::time::{format_amz_date, parse_amz_date};
use super::{ALGORITHM, MAX_CLOCK_SKEW_SECS, MAX_PRESIGN_EXPIRY_SECS, UNSIGNED_PAYLOAD};

/// What a verifier expects of the requests it accepts.
///
/// ```
/// use kvs_mkv::sigv4::VerifySettings;
///
/// let settings = VerifySettings::new("us-west-2", "kinesisvideo");
/// assert_eq!(settings.max_clock_skew.as_secs(), 15 * 60);
/// assert!(settings.normalize_uri_path && !settings.allow_unsigned_payload);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifySettings {
    /// The region the credential scope must name.
    pub region: String,
    /// The service signing name the credential scope must name.
    pub service: String,
    /// The largest accepted difference between `X-Amz-Date` and "now" for
    /// header signatures (and how far in the future a presigned URL may be
    /// dated). AWS uses 15 minutes.
    pub max_clock_skew: Duration,
    /// Must match the signer's [`SigningSettings::normalize_uri_path`](super::SigningSettings::normalize_uri_path).
    pub normalize_uri_path: bool,
    /// Must match the signer's [`SigningSettings::double_uri_encode`](super::SigningSettings::double_uri_encode).
    pub double_uri_encode: bool,
    /// Accept `UNSIGNED-PAYLOAD` (an `x-amz-content-sha256: UNSIGNED-PAYLOAD`
    /// header, or a presigned URL that does not sign the body, as botocore's
    /// `generate_presigned_url` makes). Off by default: the body is then not
    /// authenticated.
    pub allow_unsigned_payload: bool,
}

impl VerifySettings {
    /// Settings for a non-S3 service: 15 minutes of clock skew, normalized
    /// and double-encoded paths, signed payloads only.
    ///
    /// ```
    /// let settings = kvs_mkv::sigv4::VerifySettings::new("us-east-1", "service");
    /// assert_eq!(settings.region, "us-east-1");
    /// ```
    pub fn new(region: impl Into<String>, service: impl Into<String>) -> Self {
        Self {
            region: region.into(),
            service: service.into(),
            max_clock_skew: Duration::from_secs(MAX_CLOCK_SKEW_SECS),
            normalize_uri_path: true,
            double_uri_encode: true,
            allow_unsigned_payload: false,
        }
    }
}

/// Where a request carried its signature.
///
/// ```
/// use kvs_mkv::sigv4::AuthKind;
/// assert_ne!(AuthKind::Header, AuthKind::Presigned);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthKind {
    /// `Authorization` header plus `X-Amz-Date` header.
    Header,
    /// `X-Amz-*` query parameters (a presigned URL).
    Presigned,
}

/// What a successful verification established.
///
/// ```
/// # use std::time::{Duration, UNIX_EPOCH};
/// # use kvs_mkv::sigv4::{sign, verify, AuthKind, Credentials, Request, SigningParams, VerifySettings};
/// # let creds = Credentials::new("AKID", "secret");
/// # let time = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// # let mut request = Request::new("GET", "/").with_header("host", "h");
/// # sign(&request, &SigningParams::new(&creds, "r", "s", time))?.apply_to(&mut request);
/// let verified = verify(&request, &creds, &VerifySettings::new("r", "s"), time).unwrap();
/// assert_eq!(verified.kind, AuthKind::Header);
/// assert_eq!(verified.signed_headers, ["host", "x-amz-date"]);
/// assert_eq!(verified.signed_at, time);
/// # Ok::<(), kvs_mkv::sigv4::SigningError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The access key that signed the request.
    pub access_key_id: String,
    /// Header or presigned URL.
    pub kind: AuthKind,
    /// The request's `X-Amz-Date`.
    pub signed_at: SystemTime,
    /// The credential scope of the signature.
    pub scope: CredentialScope,
    /// The signed header names (lower case, sorted).
    pub signed_headers: Vec<String>,
    /// When a presigned URL stops being valid.
    pub expires_at: Option<SystemTime>,
}

/// The element of the credential scope that did not match.
///
/// ```
/// assert_eq!(kvs_mkv::sigv4::ScopePart::Region.to_string(), "region");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScopePart {
    /// The `YYYYMMDD` date, which must be the date of `X-Amz-Date`.
    Date,
    /// The region.
    Region,
    /// The service signing name.
    Service,
    /// The final `aws4_request`.
    Terminator,
}

impl fmt::Display for ScopePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Date => "date",
            Self::Region => "region",
            Self::Service => "service",
            Self::Terminator => "terminator",
        })
    }
}

/// Why a request was refused. Messages never contain a secret access key or
/// a session token; values taken from the request are quoted and cut to 64
/// characters.
///
/// ```
/// use std::time::SystemTime;
/// use kvs_mkv::sigv4::{verify, Credentials, Request, VerifyError, VerifySettings};
///
/// let store = Credentials::new("AKID", "secret");
/// let request = Request::new("GET", "/").with_header("host", "h");
/// let err = verify(&request, &store, &VerifySettings::new("r", "s"), SystemTime::now()).unwrap_err();
/// assert_eq!(err, VerifyError::MissingAuthentication);
/// assert_eq!(err.aws_error_code(), "MissingAuthenticationTokenException");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Neither an `Authorization` header nor presigned query parameters.
    #[error(
        "the request carries no SigV4 authentication (no Authorization header, no X-Amz-Signature)"
    )]
    MissingAuthentication,
    /// The `Authorization` header or the presigned parameters are not well
    /// formed.
    #[error("malformed SigV4 authentication: {reason}")]
    Malformed {
        /// What is wrong.
        reason: &'static str,
    },
    /// An algorithm other than `AWS4-HMAC-SHA256`.
    #[error("unsupported signing algorithm (only AWS4-HMAC-SHA256 is accepted)")]
    UnsupportedAlgorithm,
    /// A required header or query parameter is absent.
    #[error("missing {name}")]
    Missing {
        /// Which one, e.g. `X-Amz-Date header`.
        name: &'static str,
    },
    /// A header listed in `SignedHeaders` is not in the request.
    #[error("signed header {name:?} is not in the request")]
    MissingSignedHeader {
        /// The header name (cut to 64 characters).
        name: String,
    },
    /// The credential scope names another date, region, service or
    /// terminator than expected.
    #[error("credential scope {part} is {found:?}, expected {expected:?}")]
    ScopeMismatch {
        /// Which element differs.
        part: ScopePart,
        /// The value in the request (cut to 64 characters).
        found: String,
        /// The value required.
        expected: String,
    },
    /// `X-Amz-Date` is too far from the server clock.
    #[error("signature expired or not yet valid: X-Amz-Date {request_time} is more than {max_skew_secs} s from the server time {server_time}")]
    ClockSkew {
        /// The request's `X-Amz-Date`.
        request_time: String,
        /// "Now", formatted the same way.
        server_time: String,
        /// The tolerance, in seconds.
        max_skew_secs: u64,
    },
    /// The presigned URL's validity (`X-Amz-Date` + `X-Amz-Expires`) ended.
    #[error("presigned URL expired at {expired_at} (server time {server_time})")]
    Expired {
        /// End of validity, `YYYYMMDDTHHMMSSZ`.
        expired_at: String,
        /// "Now", formatted the same way.
        server_time: String,
    },
    /// The access key id is not in the credential store.
    #[error("unknown access key id {access_key_id:?}")]
    UnknownAccessKey {
        /// The access key id of the request (cut to 64 characters).
        access_key_id: String,
    },
    /// The stored credentials have a session token but the request carries
    /// none.
    #[error("the credentials of this access key need a session token (X-Amz-Security-Token)")]
    MissingSecurityToken,
    /// The request's session token differs from the stored one (or the
    /// stored credentials have none).
    #[error("the security token included in the request is invalid")]
    InvalidSecurityToken,
    /// The stored credentials of the access key have expired
    /// ([`Credentials::expires_at`]).
    #[error("the security token included in the request is expired (the credentials expired at {expired_at})")]
    ExpiredCredentials {
        /// When they expired, `YYYYMMDDTHHMMSSZ`.
        expired_at: String,
    },
    /// `x-amz-content-sha256` is not the SHA-256 of the body.
    #[error("x-amz-content-sha256 does not match the SHA-256 of the body")]
    PayloadHashMismatch,
    /// `UNSIGNED-PAYLOAD` while [`VerifySettings::allow_unsigned_payload`]
    /// is off.
    #[error("UNSIGNED-PAYLOAD is not accepted")]
    UnsignedPayloadNotAllowed,
    /// The recomputed signature differs from the one in the request.
    #[error("the request signature does not match the signature computed for it")]
    SignatureMismatch,
}

impl VerifyError {
    /// The AWS error code a service answers with (for the `x-amzn-ErrorType`
    /// header and the JSON `__type` of a 403 response).
    ///
    /// ```
    /// use kvs_mkv::sigv4::VerifyError;
    ///
    /// assert_eq!(VerifyError::SignatureMismatch.aws_error_code(), "InvalidSignatureException");
    /// assert_eq!(VerifyError::InvalidSecurityToken.aws_error_code(), "UnrecognizedClientException");
    /// ```
    pub fn aws_error_code(&self) -> &'static str {
        match self {
            Self::MissingAuthentication => "MissingAuthenticationTokenException",
            Self::Malformed { .. }
            | Self::UnsupportedAlgorithm
            | Self::Missing { .. }
            | Self::MissingSignedHeader { .. } => "IncompleteSignatureException",
            Self::ScopeMismatch { .. }
            | Self::ClockSkew { .. }
            | Self::PayloadHashMismatch
            | Self::UnsignedPayloadNotAllowed
            | Self::SignatureMismatch => "InvalidSignatureException",
            Self::Expired { .. } | Self::ExpiredCredentials { .. } => "ExpiredTokenException",
            Self::UnknownAccessKey { .. }
            | Self::MissingSecurityToken
            | Self::InvalidSecurityToken => "UnrecognizedClientException",
        }
    }
}

/// Verifies the SigV4 signature of a received request.
///
/// `request` is the request as received: method, target (path and query as
/// on the wire), headers, body. `store` maps the access key id to its
/// credentials; `settings` names the region and service the signature must
/// be scoped to; `now` is the server clock.
///
/// Checks, in order: the form of the authentication data (including that
/// `host` is signed), the credential scope, the clock (15-minute skew for
/// header signatures; expiry, at most 7 days, for presigned URLs), the
/// access key, the session token (required when the stored credentials have
/// one, and must then be equal; it may be signed or added after signing),
/// the expiry of the stored credentials ([`Credentials::expires_at`]:
/// expired ones answer [`VerifyError::ExpiredCredentials`], which AWS
/// answers as `ExpiredTokenException`), that every signed header is present, the payload hash, and finally the
/// signature itself (constant-time comparison).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use kvs_mkv::sigv4::{presign, verify, AuthKind, Credentials, Request, SigningParams, VerifySettings};
///
/// let creds = Credentials::new("AKIDEXAMPLE", "secret");
/// let time = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let mut request = Request::new("GET", "/media").with_header("host", "localhost");
/// presign(&request, &SigningParams::new(&creds, "us-west-2", "kinesisvideo", time), Duration::from_secs(60))?
///     .apply_to(&mut request);
///
/// let settings = VerifySettings::new("us-west-2", "kinesisvideo");
/// let ok = verify(&request, &creds, &settings, time + Duration::from_secs(30)).unwrap();
/// assert_eq!(ok.kind, AuthKind::Presigned);
/// let late = verify(&request, &creds, &settings, time + Duration::from_secs(61)).unwrap_err();
/// assert_eq!(late.aws_error_code(), "ExpiredTokenException");
/// # Ok::<(), kvs_mkv::sigv4::SigningError>(())
/// ```
pub fn verify<S: CredentialStore + ?Sized>(
    request: &Request,
    store: &S,
    settings: &VerifySettings,
    now: SystemTime,
) -> Result<Verified, VerifyError> {
    let auth = AuthData::from_request(request)?;

    // Credential scope.
    let request_date = auth.amz_date.get(..8).unwrap_or_default();
    let credential = &auth.credential;
    for (part, found, expected) in [
        (ScopePart::Terminator, &credential.terminator, TERMINATOR),
        (ScopePart::Date, &credential.date, request_date),
        (
            ScopePart::Region,
            &credential.region,
            settings.region.as_str(),
        ),
        (
            ScopePart::Service,
            &credential.service,
            settings.service.as_str(),
        ),
    ] {
        if found != expected {
            return Err(VerifyError::ScopeMismatch {
                part,
                found: excerpt(found),
                expected: expected.to_owned(),
            });
        }
    }

    // Clock.
    let clock_skew = || VerifyError::ClockSkew {
        request_time: auth.amz_date.clone(),
        server_time: format_amz_date(now),
        max_skew_secs: settings.max_clock_skew.as_secs(),
    };
    let expires_at = match auth.expires {
        None => {
            if distance(auth.signed_at, now) > settings.max_clock_skew {
                return Err(clock_skew());
            }
            None
        }
        Some(expires) => {
            if auth.signed_at > now && distance(auth.signed_at, now) > settings.max_clock_skew {
                return Err(clock_skew());
            }
            let expires_at = auth
                .signed_at
                .checked_add(Duration::from_secs(expires))
                .unwrap_or(auth.signed_at);
            if now > expires_at {
                return Err(VerifyError::Expired {
                    expired_at: format_amz_date(expires_at),
                    server_time: format_amz_date(now),
                });
            }
            Some(expires_at)
        }
    };

    // Access key and session token.
    let credentials = store
        .credentials_for(&credential.access_key_id)
        .ok_or_else(|| VerifyError::UnknownAccessKey {
            access_key_id: excerpt(&credential.access_key_id),
        })?;
    check_session_token(&credentials, auth.token.as_deref())?;
    if let Some(expired_at) = credentials.expires_at.filter(|e| now >= *e) {
        return Err(VerifyError::ExpiredCredentials {
            expired_at: format_amz_date(expired_at),
        });
    }

    // Signed headers.
    let headers = CanonicalHeaders::new(
        request
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str())),
        |name| auth.signed_headers.iter().any(|signed| signed == name),
    );
    if let Some(missing) = auth
        .signed_headers
        .iter()
        .find(|name| !headers.names.contains(name))
    {
        return Err(VerifyError::MissingSignedHeader {
            name: excerpt(missing),
        });
    }

    // Payload hashes to try: the body's, and UNSIGNED-PAYLOAD where allowed.
    let body_hash = sha256_hex(&request.body);
    let content_sha256 = single_header(request, X_AMZ_CONTENT_SHA256)?;
    let payload_hashes: Vec<&str> = match content_sha256 {
        Some(UNSIGNED_PAYLOAD) if settings.allow_unsigned_payload => vec![UNSIGNED_PAYLOAD],
        Some(UNSIGNED_PAYLOAD) => return Err(VerifyError::UnsignedPayloadNotAllowed),
        Some(claimed) if !constant_time_eq(claimed.as_bytes(), body_hash.as_bytes()) => {
            return Err(VerifyError::PayloadHashMismatch)
        }
        Some(_) => vec![&body_hash],
        None if auth.kind == AuthKind::Presigned && settings.allow_unsigned_payload => {
            vec![&body_hash, UNSIGNED_PAYLOAD]
        }
        None => vec![&body_hash],
    };
    // Query parameters left out of the canonical query: the signature, and a
    // session token that may have been added after signing.
    let skipped: Vec<&[&str]> = match (auth.kind, auth.token.is_some()) {
        (AuthKind::Header, _) => vec![&[]],
        (AuthKind::Presigned, false) => vec![&[X_AMZ_SIGNATURE]],
        (AuthKind::Presigned, true) => {
            vec![&[X_AMZ_SIGNATURE], &[X_AMZ_SIGNATURE, X_AMZ_SECURITY_TOKEN]]
        }
    };

    let scope = CredentialScope {
        date: credential.date.clone(),
        region: credential.region.clone(),
        service: credential.service.clone(),
    };
    let key = SigningKey::derive(&credentials, &scope);
    let uri = canonical_uri(
        request.path_without_query(),
        UriRules {
            normalize: settings.normalize_uri_path,
            double_encode: settings.double_uri_encode,
        },
    );
    let mut matched = false;
    for skip in &skipped {
        let query = canonical_query(request.query(), skip, &[]);
        for payload_hash in &payload_hashes {
            let canonical =
                canonical_request(&request.method, &uri, &query, &headers, payload_hash);
            let expected = key.sign(&string_to_sign(&auth.amz_date, &scope, &canonical));
            matched |= constant_time_eq(expected.as_bytes(), auth.signature.as_bytes());
        }
    }
    if !matched {
        return Err(VerifyError::SignatureMismatch);
    }

    Ok(Verified {
        access_key_id: credentials.access_key_id,
        kind: auth.kind,
        signed_at: auth.signed_at,
        scope,
        signed_headers: auth.signed_headers,
        expires_at,
    })
}

/// The authentication data of a request, from either form.
struct AuthData {
    kind: AuthKind,
    credential: CredentialField,
    /// Lower case, sorted, without repeats (checked).
    signed_headers: Vec<String>,
    /// 64 lower-case hex digits (checked).
    signature: String,
    amz_date: String,
    signed_at: SystemTime,
    /// Seconds of validity, for presigned URLs.
    expires: Option<u64>,
    token: Option<String>,
}

/// `access_key_id/date/region/service/terminator`.
struct CredentialField {
    access_key_id: String,
    date: String,
    region: String,
    service: String,
    terminator: String,
}

fn malformed(reason: &'static str) -> VerifyError {
    VerifyError::Malformed { reason }
}

impl AuthData {
    fn from_request(request: &Request) -> Result<Self, VerifyError> {
        let params = parse_query(request.query());
        let presigned = params.iter().any(|(name, _)| {
            [X_AMZ_SIGNATURE, X_AMZ_ALGORITHM, X_AMZ_CREDENTIAL]
                .iter()
                .any(|p| p.as_bytes() == name.as_slice())
        });
        let mut authorization = request.header_values("authorization");
        match (authorization.next(), authorization.next(), presigned) {
            (None, _, false) => Err(VerifyError::MissingAuthentication),
            (Some(_), _, true) => Err(malformed(
                "both an Authorization header and presigned query parameters",
            )),
            (Some(_), Some(_), false) => Err(malformed("more than one Authorization header")),
            (Some(value), None, false) => Self::from_header(value, request),
            (None, _, true) => Self::from_query(&params),
        }
    }

    /// `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`
    /// plus the `X-Amz-Date` and `X-Amz-Security-Token` headers.
    fn from_header(value: &str, request: &Request) -> Result<Self, VerifyError> {
        let value = value.trim();
        let (algorithm, rest) = value.split_once(' ').ok_or(malformed(
            "expected `AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`",
        ))?;
        if algorithm != ALGORITHM {
            return Err(VerifyError::UnsupportedAlgorithm);
        }
        let (mut credential, mut signed_headers, mut signature) = (None, None, None);
        for component in rest.split(',') {
            let (key, value) = component
                .split_once('=')
                .ok_or(malformed("an Authorization component is not key=value"))?;
            let slot = match key.trim() {
                "Credential" => &mut credential,
                "SignedHeaders" => &mut signed_headers,
                "Signature" => &mut signature,
                _ => return Err(malformed("unknown Authorization component")),
            };
            if slot.replace(value.trim()).is_some() {
                return Err(malformed("repeated Authorization component"));
            }
        }
        let credential = credential.ok_or(malformed("Authorization lacks Credential"))?;
        let signed_headers =
            signed_headers.ok_or(malformed("Authorization lacks SignedHeaders"))?;
        let signature = signature.ok_or(malformed("Authorization lacks Signature"))?;
        let amz_date = single_header(request, X_AMZ_DATE)?.ok_or(VerifyError::Missing {
            name: "X-Amz-Date header",
        })?;
        let token = single_header(request, X_AMZ_SECURITY_TOKEN)?;
        Self::build(
            AuthKind::Header,
            credential,
            signed_headers,
            signature,
            amz_date,
            None,
            token.map(str::to_owned),
        )
    }

    /// The `X-Amz-*` query parameters of a presigned URL (already decoded).
    fn from_query(params: &[(Vec<u8>, Vec<u8>)]) -> Result<Self, VerifyError> {
        let get = |name: &'static str| -> Result<Option<String>, VerifyError> {
            let mut found = params
                .iter()
                .filter(|(n, _)| n.as_slice() == name.as_bytes());
            match (found.next(), found.next()) {
                (None, _) => Ok(None),
                (Some(_), Some(_)) => Err(malformed("repeated X-Amz-* query parameter")),
                (Some((_, value)), None) => String::from_utf8(value.clone())
                    .map(Some)
                    .map_err(|_| malformed("an X-Amz-* query parameter is not UTF-8")),
            }
        };
        let require = |name: &'static str| get(name)?.ok_or(VerifyError::Missing { name });

        if require(X_AMZ_ALGORITHM)? != ALGORITHM {
            return Err(VerifyError::UnsupportedAlgorithm);
        }
        let credential = require(X_AMZ_CREDENTIAL)?;
        let amz_date = require(X_AMZ_DATE)?;
        let signed_headers = require(X_AMZ_SIGNED_HEADERS)?;
        let signature = require(X_AMZ_SIGNATURE)?;
        let expires = require(X_AMZ_EXPIRES)?;
        let expires = Some(expires)
            .filter(|e| (1..=6).contains(&e.len()) && e.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|e| e.parse::<u64>().ok())
            .filter(|e| (1..=MAX_PRESIGN_EXPIRY_SECS).contains(e))
            .ok_or(malformed("X-Amz-Expires must be 1 to 604800 seconds"))?;
        let token = get(X_AMZ_SECURITY_TOKEN)?;
        Self::build(
            AuthKind::Presigned,
            &credential,
            &signed_headers,
            &signature,
            &amz_date,
            Some(expires),
            token,
        )
    }

    /// Checks the shape of the common fields.
    fn build(
        kind: AuthKind,
        credential: &str,
        signed_headers: &str,
        signature: &str,
        amz_date: &str,
        expires: Option<u64>,
        token: Option<String>,
    ) -> Result<Self, VerifyError> {
        // The access key id is everything before the last four '/'.
        let mut parts = credential.rsplitn(5, '/');
        let (terminator, service, region, date, access_key_id) = match (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) {
            (Some(t), Some(s), Some(r), Some(d), Some(a)) if !a.is_empty() => (t, s, r, d, a),
            _ => {
                return Err(malformed(
                    "Credential must be access-key-id/date/region/service/aws4_request",
                ))
            }
        };

        let signed_headers: Vec<String> = signed_headers.split(';').map(str::to_owned).collect();
        let well_formed = signed_headers.iter().all(|name| {
            !name.is_empty()
                && name.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$%&'*+-.^_`|~".contains(&b)
                })
        });
        let sorted = signed_headers.windows(2).all(|pair| match pair {
            [a, b] => a < b,
            _ => true,
        });
        if !well_formed || !sorted {
            return Err(malformed(
                "SignedHeaders must be lower-case header names, sorted, without repeats",
            ));
        }
        if !signed_headers.iter().any(|name| name == "host") {
            return Err(malformed("host must be a signed header"));
        }

        if signature.len() != 64
            || !signature
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(malformed("Signature must be 64 lower-case hex digits"));
        }
        let signed_at =
            parse_amz_date(amz_date).ok_or(malformed("X-Amz-Date must be YYYYMMDDTHHMMSSZ"))?;

        Ok(Self {
            kind,
            credential: CredentialField {
                access_key_id: access_key_id.to_owned(),
                date: date.to_owned(),
                region: region.to_owned(),
                service: service.to_owned(),
                terminator: terminator.to_owned(),
            },
            signed_headers,
            signature: signature.to_owned(),
            amz_date: amz_date.to_owned(),
            signed_at,
            expires,
            token,
        })
    }
}

/// The session token rule: required and equal when the stored credentials
/// have one, absent otherwise.
fn check_session_token(stored: &Credentials, given: Option<&str>) -> Result<(), VerifyError> {
    match (stored.session_token.as_deref(), given) {
        (None, None) => Ok(()),
        (Some(_), None) => Err(VerifyError::MissingSecurityToken),
        (None, Some(_)) => Err(VerifyError::InvalidSecurityToken),
        (Some(expected), Some(given)) => {
            if constant_time_eq(expected.as_bytes(), given.as_bytes()) {
                Ok(())
            } else {
                Err(VerifyError::InvalidSecurityToken)
            }
        }
    }
}

/// The trimmed value of a header that may appear at most once.
fn single_header<'r>(request: &'r Request, name: &str) -> Result<Option<&'r str>, VerifyError> {
    let mut values = request
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str());
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(value), None) => Ok(Some(value.trim())),
        (Some(_), Some(_)) => Err(malformed(
            "X-Amz-Date, X-Amz-Security-Token and x-amz-content-sha256 may appear only once",
        )),
    }
}

/// |a - b|.
fn distance(a: SystemTime, b: SystemTime) -> Duration {
    a.duration_since(b)
        .or_else(|_| b.duration_since(a))
        .unwrap_or_default()
}

/// At most 64 characters of a value taken from the request, for messages.
fn excerpt(text: &str) -> String {
    const MAX: usize = 64;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", text.get(..cut).unwrap_or_default()),
        None => text.to_owned(),
    }
}
