//! Signing: signing key, string to sign, `Authorization` header, presigned
//! URLs, and the Kinesis Video JSON POST helper.

use std::fmt;
use std::time::{Duration, SystemTime};

use super::canonical::{
    canonical_query, canonical_request, canonical_uri, CanonicalHeaders, UriRules,
};
use super::credentials::Credentials;
use super::crypto::{hex, hmac_sha256, sha256_hex};
use super::names::{
    AUTHORIZATION, TERMINATOR, X_AMZ_ALGORITHM, X_AMZ_CONTENT_SHA256, X_AMZ_CREDENTIAL, X_AMZ_DATE,
    X_AMZ_EXPIRES, X_AMZ_SECURITY_TOKEN, X_AMZ_SIGNATURE, X_AMZ_SIGNED_HEADERS,
};
use super::redact;
use super::request::Request;
use super::time::format_amz_date;
use super::{
    canonical, ALGORITHM, KINESIS_VIDEO_SIGNING_NAME, MAX_PRESIGN_EXPIRY_SECS, UNSIGNED_PAYLOAD,
};

/// Headers that are never signed: `authorization` is what signing produces,
/// and the others are commonly changed or dropped by proxies and HTTP
/// libraries (botocore leaves out the same ones).
const UNSIGNED_HEADERS: &[&str] = &[
    "authorization",
    "expect",
    "transfer-encoding",
    "user-agent",
    "x-amzn-trace-id",
];

/// What goes in the last line of the canonical request.
///
/// ```
/// use kvs_mkv::sigv4::{PayloadHash, SigningSettings};
///
/// let settings = SigningSettings {
///     payload: PayloadHash::Unsigned,
///     ..SigningSettings::default()
/// };
/// assert_eq!(settings.payload, PayloadHash::Unsigned);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum PayloadHash {
    /// Hash [`Request::body`] with SHA-256 (the default).
    #[default]
    Body,
    /// A hash computed elsewhere (e.g. of a streamed body), as 64 lower-case
    /// hex digits, or another payload marker the service understands.
    Precomputed(String),
    /// `UNSIGNED-PAYLOAD`: the body is not covered by the signature.
    Unsigned,
}

/// Per-service choices of the signing process.
///
/// The default suits every AWS service except S3: normalized, double-encoded
/// URI path; body hashed; no `X-Amz-Content-Sha256` header; session token
/// signed.
///
/// ```
/// use kvs_mkv::sigv4::SigningSettings;
///
/// let s3 = SigningSettings::s3();
/// assert!(!s3.normalize_uri_path && !s3.double_uri_encode && s3.content_sha256_header);
/// assert!(SigningSettings::default().normalize_uri_path);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningSettings {
    /// Remove `.`, `..` and empty segments from the path (all services but S3).
    pub normalize_uri_path: bool,
    /// Percent-encode the already encoded path once more (all services but S3).
    pub double_uri_encode: bool,
    /// How the payload is hashed.
    pub payload: PayloadHash,
    /// Add (and sign) an `x-amz-content-sha256` header carrying the payload
    /// hash (header signing only; S3 requires it).
    pub content_sha256_header: bool,
    /// Include the session token in the signature (`true`), or add it to the
    /// request only after signing (`false`), as a few services require.
    pub sign_session_token: bool,
}

impl Default for SigningSettings {
    fn default() -> Self {
        Self {
            normalize_uri_path: true,
            double_uri_encode: true,
            payload: PayloadHash::Body,
            content_sha256_header: false,
            sign_session_token: true,
        }
    }
}

impl SigningSettings {
    /// The settings S3 needs: path used as is (encoded once, not
    /// normalized) and an `x-amz-content-sha256` header.
    ///
    /// ```
    /// assert!(kvs_mkv::sigv4::SigningSettings::s3().content_sha256_header);
    /// ```
    pub fn s3() -> Self {
        Self {
            normalize_uri_path: false,
            double_uri_encode: false,
            content_sha256_header: true,
            ..Self::default()
        }
    }

    fn uri_rules(&self) -> UriRules {
        UriRules {
            normalize: self.normalize_uri_path,
            double_encode: self.double_uri_encode,
        }
    }
}

/// Everything a signature depends on besides the request itself.
///
/// ```
/// use std::time::SystemTime;
/// use kvs_mkv::sigv4::{Credentials, SigningParams, SigningSettings};
///
/// let creds = Credentials::new("AKIDEXAMPLE", "secret");
/// let params = SigningParams {
///     settings: SigningSettings::s3(),
///     ..SigningParams::new(&creds, "eu-west-1", "s3", SystemTime::now())
/// };
/// assert_eq!(params.service, "s3");
/// ```
#[derive(Clone, Debug)]
pub struct SigningParams<'a> {
    /// The key to sign with.
    pub credentials: &'a Credentials,
    /// The AWS region, e.g. `us-west-2`.
    pub region: &'a str,
    /// The signing name of the service, e.g. `kinesisvideo`.
    pub service: &'a str,
    /// The signing time; becomes `X-Amz-Date`.
    pub time: SystemTime,
    /// Per-service choices.
    pub settings: SigningSettings,
    /// A previously derived key to reuse. It is used only when it belongs to
    /// the same access key and credential scope (date, region, service);
    /// otherwise a fresh key is derived.
    pub signing_key: Option<&'a SigningKey>,
}

impl<'a> SigningParams<'a> {
    /// Parameters with default [`SigningSettings`] and no cached key.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use kvs_mkv::sigv4::{Credentials, SigningParams};
    ///
    /// let creds = Credentials::new("AKIDEXAMPLE", "secret");
    /// let params = SigningParams::new(&creds, "us-west-2", "kinesisvideo", SystemTime::now());
    /// assert!(params.signing_key.is_none());
    /// ```
    pub fn new(
        credentials: &'a Credentials,
        region: &'a str,
        service: &'a str,
        time: SystemTime,
    ) -> Self {
        Self {
            credentials,
            region,
            service,
            time,
            settings: SigningSettings::default(),
            signing_key: None,
        }
    }

    fn scope(&self) -> CredentialScope {
        CredentialScope::new(self.time, self.region, self.service)
    }

    /// The cached key if it fits, else a freshly derived one.
    fn key(&self, scope: &CredentialScope) -> SigningKey {
        match self.signing_key {
            Some(key) if key.matches(self.credentials, scope) => key.clone(),
            _ => SigningKey::derive(self.credentials, scope),
        }
    }
}

/// The credential scope `date/region/service/aws4_request`.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use kvs_mkv::sigv4::CredentialScope;
///
/// let time = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
/// let scope = CredentialScope::new(time, "us-east-1", "service");
/// assert_eq!(scope.to_string(), "20150830/us-east-1/service/aws4_request");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CredentialScope {
    /// `YYYYMMDD` (UTC).
    pub date: String,
    /// The region.
    pub region: String,
    /// The service signing name.
    pub service: String,
}

impl CredentialScope {
    /// The scope of a signature made at `time` for `region` and `service`.
    ///
    /// ```
    /// let scope = kvs_mkv::sigv4::CredentialScope::new(std::time::UNIX_EPOCH, "r", "s");
    /// assert_eq!(scope.date, "19700101");
    /// ```
    pub fn new(time: SystemTime, region: &str, service: &str) -> Self {
        let mut date = format_amz_date(time);
        date.truncate(date.find('T').unwrap_or(date.len()));
        Self {
            date,
            region: region.to_owned(),
            service: service.to_owned(),
        }
    }
}

impl fmt::Display for CredentialScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{TERMINATOR}",
            self.date, self.region, self.service
        )
    }
}

/// The derived signing key `kSigning` of one access key and credential scope:
///
/// ```text
/// kDate    = HMAC("AWS4" + secret, date)
/// kRegion  = HMAC(kDate, region)
/// kService = HMAC(kRegion, service)
/// kSigning = HMAC(kService, "aws4_request")
/// ```
///
/// It stays valid for a whole UTC day, so callers signing many requests can
/// derive it once and pass it in [`SigningParams::signing_key`]. `Debug`
/// hides the key bytes.
///
/// ```
/// use std::time::SystemTime;
/// use kvs_mkv::sigv4::{CredentialScope, Credentials, SigningKey, SigningParams};
///
/// let creds = Credentials::new("AKIDEXAMPLE", "secret");
/// let now = SystemTime::now();
/// let key = SigningKey::derive(&creds, &CredentialScope::new(now, "us-west-2", "kinesisvideo"));
/// let params = SigningParams {
///     signing_key: Some(&key),
///     ..SigningParams::new(&creds, "us-west-2", "kinesisvideo", now)
/// };
/// # let _ = params;
/// ```
#[derive(Clone)]
pub struct SigningKey {
    key: [u8; 32],
    access_key_id: String,
    scope: CredentialScope,
}

impl SigningKey {
    /// Derives the signing key of `credentials` for `scope`.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use kvs_mkv::sigv4::{CredentialScope, Credentials, SigningKey};
    ///
    /// let creds = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    /// let time = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
    /// let key = SigningKey::derive(&creds, &CredentialScope::new(time, "us-east-1", "service"));
    /// assert_eq!(key.scope().date, "20150830");
    /// ```
    pub fn derive(credentials: &Credentials, scope: &CredentialScope) -> Self {
        let secret = format!("AWS4{}", credentials.secret_access_key);
        let k_date = hmac_sha256(secret.as_bytes(), scope.date.as_bytes());
        let k_region = hmac_sha256(&k_date, scope.region.as_bytes());
        let k_service = hmac_sha256(&k_region, scope.service.as_bytes());
        let key = hmac_sha256(&k_service, TERMINATOR.as_bytes());
        Self {
            key,
            access_key_id: credentials.access_key_id.clone(),
            scope: scope.clone(),
        }
    }

    /// The scope this key signs for.
    ///
    /// ```
    /// # use kvs_mkv::sigv4::{CredentialScope, Credentials, SigningKey};
    /// let scope = CredentialScope::new(std::time::UNIX_EPOCH, "us-west-2", "kinesisvideo");
    /// let key = SigningKey::derive(&Credentials::new("AKID", "secret"), &scope);
    /// assert_eq!(key.scope(), &scope);
    /// ```
    pub fn scope(&self) -> &CredentialScope {
        &self.scope
    }

    /// Whether this key was derived for the access key of `credentials` and
    /// for `scope` (and so can sign requests with them).
    ///
    /// ```
    /// # use kvs_mkv::sigv4::{CredentialScope, Credentials, SigningKey};
    /// let creds = Credentials::new("AKID", "secret");
    /// let scope = CredentialScope::new(std::time::UNIX_EPOCH, "us-west-2", "kinesisvideo");
    /// let key = SigningKey::derive(&creds, &scope);
    /// assert!(key.matches(&creds, &scope));
    /// let other_region = CredentialScope::new(std::time::UNIX_EPOCH, "eu-west-1", "kinesisvideo");
    /// assert!(!key.matches(&creds, &other_region));
    /// ```
    pub fn matches(&self, credentials: &Credentials, scope: &CredentialScope) -> bool {
        self.access_key_id == credentials.access_key_id && &self.scope == scope
    }

    /// The signature of `string_to_sign`: hex of HMAC(kSigning, string to sign).
    ///
    /// ```
    /// # use kvs_mkv::sigv4::{CredentialScope, Credentials, SigningKey};
    /// let key = SigningKey::derive(
    ///     &Credentials::new("AKID", "secret"),
    ///     &CredentialScope::new(std::time::UNIX_EPOCH, "r", "s"),
    /// );
    /// assert_eq!(key.sign("text").len(), 64);
    /// ```
    pub fn sign(&self, string_to_sign: &str) -> String {
        hex(&hmac_sha256(&self.key, string_to_sign.as_bytes()))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("key", &redact::REDACTED)
            .field("access_key_id", &self.access_key_id)
            .field("scope", &self.scope)
            .finish()
    }
}

/// Why a request could not be signed. Never contains secrets.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use kvs_mkv::sigv4::{presign, Credentials, Request, SigningError, SigningParams};
///
/// let creds = Credentials::new("AKID", "secret");
/// let params = SigningParams::new(&creds, "us-west-2", "kinesisvideo", SystemTime::now());
/// let request = Request::new("GET", "/").with_header("host", "example.com");
/// let too_long = Duration::from_secs(8 * 24 * 3600);
/// assert!(matches!(
///     presign(&request, &params, too_long),
///     Err(SigningError::InvalidExpiry { .. })
/// ));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SigningError {
    /// A presigned URL must be valid for 1 second to 7 days.
    #[error("presigned URL expiry must be 1 to {MAX_PRESIGN_EXPIRY_SECS} seconds, got {seconds}")]
    InvalidExpiry {
        /// The requested expiry, in whole seconds.
        seconds: u64,
    },
    /// The URL given to [`presign_url`] or [`sign_kinesis_video_post`] is not
    /// an absolute `http(s)://host/path` URL.
    #[error("invalid URL: {reason}")]
    InvalidUrl {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A method, header name, region, service, access key id, session token
    /// or precomputed payload hash cannot be put into a signature.
    #[error("cannot sign: {reason}")]
    InvalidParameter {
        /// Which parameter and why.
        reason: &'static str,
    },
}

/// The result of header signing: the intermediate values of the SigV4
/// process and the headers to add to the request.
///
/// `Debug` hides the session token.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use kvs_mkv::sigv4::{sign, Credentials, Request, SigningParams};
///
/// let creds = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
/// let time = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
/// let request = Request::new("GET", "/").with_header("Host", "example.amazonaws.com");
/// let out = sign(&request, &SigningParams::new(&creds, "us-east-1", "service", time))?;
/// assert!(out.canonical_request.starts_with("GET\n/\n\nhost:example.amazonaws.com\n"));
/// assert!(out.string_to_sign.starts_with("AWS4-HMAC-SHA256\n20150830T123600Z\n"));
/// assert_eq!(out.signed_headers, "host;x-amz-date");
/// assert!(out.authorization().ends_with(&out.signature));
/// # Ok::<(), kvs_mkv::sigv4::SigningError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SigningOutput {
    /// The canonical request that was hashed.
    pub canonical_request: String,
    /// The string to sign.
    pub string_to_sign: String,
    /// The signature, 64 lower-case hex digits.
    pub signature: String,
    /// The signed header names, `;`-separated.
    pub signed_headers: String,
    /// The headers to set on the request, in order: `X-Amz-Security-Token`
    /// (with session credentials), `X-Amz-Date`, `x-amz-content-sha256` (if
    /// asked for), `Authorization` (always last).
    pub headers: Vec<(String, String)>,
}

impl SigningOutput {
    /// The `Authorization` header value.
    ///
    /// ```
    /// # use kvs_mkv::sigv4::{sign, Credentials, Request, SigningParams};
    /// # let creds = Credentials::new("AKID", "secret");
    /// # let params = SigningParams::new(&creds, "r", "s", std::time::SystemTime::now());
    /// let out = sign(&Request::new("GET", "/").with_header("host", "h"), &params)?;
    /// assert!(out.authorization().starts_with("AWS4-HMAC-SHA256 Credential=AKID/"));
    /// # Ok::<(), kvs_mkv::sigv4::SigningError>(())
    /// ```
    pub fn authorization(&self) -> &str {
        self.headers
            .iter()
            .find(|(name, _)| name == AUTHORIZATION)
            .map_or("", |(_, value)| value.as_str())
    }

    /// Sets [`SigningOutput::headers`] on `request` (see
    /// [`Request::set_header`]: an existing header of the same name is
    /// replaced in place).
    ///
    /// ```
    /// # use kvs_mkv::sigv4::{sign, Credentials, Request, SigningParams};
    /// # let creds = Credentials::new("AKID", "secret");
    /// # let params = SigningParams::new(&creds, "r", "s", std::time::SystemTime::now());
    /// let mut request = Request::new("GET", "/").with_header("host", "h");
    /// sign(&request, &params)?.apply_to(&mut request);
    /// assert_eq!(request.headers.len(), 3); // host, X-Amz-Date, Authorization
    /// # Ok::<(), kvs_mkv::sigv4::SigningError>(())
    /// ```
    pub fn apply_to(&self, request: &mut Request) {
        for (name, value) in &self.headers {
            request.set_header(name.as_str(), value.as_str());
        }
    }
}

impl fmt::Debug for SigningOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningOutput")
            .field(
                "canonical_request",
                &redact::canonical_request(&self.canonical_request),
            )
            .field("string_to_sign", &self.string_to_sign)
            .field("signature", &self.signature)
            .field("signed_headers", &self.signed_headers)
            .field("headers", &redact::Pairs(&self.headers))
            .finish()
    }
}

/// The result of presigning: the intermediate values and the new request
/// target carrying the signature in its query string.
///
/// `Debug` hides the session token.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use kvs_mkv::sigv4::{presign, Credentials, Request, SigningParams};
///
/// let creds = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
/// let time = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
/// let mut request = Request::new("GET", "/").with_header("Host", "example.amazonaws.com");
/// let params = SigningParams::new(&creds, "us-east-1", "service", time);
/// let out = presign(&request, &params, Duration::from_secs(3600))?;
/// assert_eq!(out.signature, "e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d");
/// out.apply_to(&mut request);
/// assert!(request.path.starts_with("/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F"));
/// # Ok::<(), kvs_mkv::sigv4::SigningError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PresignOutput {
    /// The canonical request that was hashed.
    pub canonical_request: String,
    /// The string to sign.
    pub string_to_sign: String,
    /// The signature, 64 lower-case hex digits.
    pub signature: String,
    /// The (decoded) query parameters appended to the target, in order:
    /// `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`,
    /// `X-Amz-SignedHeaders`, `X-Amz-Expires`, `X-Amz-Security-Token` (with
    /// session credentials), `X-Amz-Signature`.
    pub query_params: Vec<(String, String)>,
    /// The new request target: the original path and query with the
    /// parameters above appended, percent-encoded.
    pub path: String,
}

impl PresignOutput {
    /// Replaces the request's target with [`PresignOutput::path`].
    ///
    /// ```
    /// # use std::time::{Duration, SystemTime};
    /// # use kvs_mkv::sigv4::{presign, Credentials, Request, SigningParams};
    /// # let creds = Credentials::new("AKID", "secret");
    /// # let params = SigningParams::new(&creds, "r", "s", SystemTime::now());
    /// let mut request = Request::new("GET", "/x?a=1").with_header("host", "h");
    /// presign(&request, &params, Duration::from_secs(60))?.apply_to(&mut request);
    /// assert!(request.path.starts_with("/x?a=1&X-Amz-Algorithm="));
    /// # Ok::<(), kvs_mkv::sigv4::SigningError>(())
    /// ```
    pub fn apply_to(&self, request: &mut Request) {
        request.path.clone_from(&self.path);
    }
}

impl fmt::Debug for PresignOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PresignOutput")
            .field(
                "canonical_request",
                &redact::canonical_request(&self.canonical_request),
            )
            .field("string_to_sign", &self.string_to_sign)
            .field("signature", &self.signature)
            .field("query_params", &redact::Pairs(&self.query_params))
            .field("path", &redact::query(&self.path))
            .finish()
    }
}

/// Signs `request` for the `Authorization` header.
///
/// Sets (in the returned [`SigningOutput::headers`], to apply with
/// [`SigningOutput::apply_to`]) `X-Amz-Security-Token` when the credentials
/// carry a session token, `X-Amz-Date`, `x-amz-content-sha256` if
/// [`SigningSettings::content_sha256_header`], and `Authorization`. Every
/// header of the request is signed except `authorization`, `expect`,
/// `transfer-encoding`, `user-agent` and `x-amzn-trace-id`; include `host`.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use kvs_mkv::sigv4::{sign, Credentials, Request, SigningParams};
///
/// let creds = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
/// let time = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
/// let request = Request::new("GET", "/").with_header("Host", "example.amazonaws.com");
/// let out = sign(&request, &SigningParams::new(&creds, "us-east-1", "service", time))?;
/// assert_eq!(
///     out.authorization(),
///     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
///      SignedHeaders=host;x-amz-date, \
///      Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
/// );
/// # Ok::<(), kvs_mkv::sigv4::SigningError>(())
/// ```
pub fn sign(request: &Request, params: &SigningParams<'_>) -> Result<SigningOutput, SigningError> {
    validate(request, params)?;
    let settings = &params.settings;
    let amz_date = format_amz_date(params.time);
    let scope = params.scope();
    let payload_hash = payload_hash(request, &settings.payload)?;

    let mut headers = Vec::with_capacity(4);
    if let Some(token) = &params.credentials.session_token {
        headers.push((X_AMZ_SECURITY_TOKEN.to_owned(), token.clone()));
    }
    headers.push((X_AMZ_DATE.to_owned(), amz_date.clone()));
    if settings.content_sha256_header {
        headers.push((X_AMZ_CONTENT_SHA256.to_owned(), payload_hash.clone()));
    }

    // The request as it will be sent, minus the Authorization header.
    let mut to_send = Request {
        headers: request.headers.clone(),
        ..Request::default()
    };
    for (name, value) in &headers {
        to_send.set_header(name.as_str(), value.as_str());
    }
    let canonical_headers = signed_headers_of(&to_send, settings.sign_session_token);

    let canonical_request = canonical_request(
        &request.method,
        &canonical_uri(request.path_without_query(), settings.uri_rules()),
        &canonical_query(request.query(), &[], &[]),
        &canonical_headers,
        &payload_hash,
    );
    let string_to_sign = string_to_sign(&amz_date, &scope, &canonical_request);
    let signature = params.key(&scope).sign(&string_to_sign);
    let authorization = format!(
        "{ALGORITHM} Credential={}/{scope}, SignedHeaders={}, Signature={signature}",
        params.credentials.access_key_id, canonical_headers.signed
    );
    headers.push((AUTHORIZATION.to_owned(), authorization));

    Ok(SigningOutput {
        canonical_request,
        string_to_sign,
        signature,
        signed_headers: canonical_headers.signed,
        headers,
    })
}

/// Presigns `request`: the signature travels in the query string, valid for
/// `expires_in` (1 second to 7 days) from [`SigningParams::time`].
///
/// Signs the request's headers (at least `host`) as [`sign`] does; adds no
/// header. The payload hash follows [`SigningSettings::payload`]; botocore's
/// `generate_presigned_url` uses [`PayloadHash::Unsigned`] (see
/// [`presign_url`]).
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use kvs_mkv::sigv4::{presign, Credentials, Request, SigningParams};
///
/// let creds = Credentials::new("AKIDEXAMPLE", "secret").with_session_token("token");
/// let params = SigningParams::new(&creds, "us-west-2", "kinesisvideo", SystemTime::now());
/// let request = Request::new("GET", "/hls?SessionToken=x").with_header("host", "example.com");
/// let out = presign(&request, &params, Duration::from_secs(300))?;
/// assert!(out.path.contains("&X-Amz-Expires=300&X-Amz-Security-Token=token&X-Amz-Signature="));
/// # Ok::<(), kvs_mkv::sigv4::SigningError>(())
/// ```
pub fn presign(
    request: &Request,
    params: &SigningParams<'_>,
    expires_in: Duration,
) -> Result<PresignOutput, SigningError> {
    validate(request, params)?;
    let seconds = expires_in.as_secs();
    if seconds == 0 || seconds > MAX_PRESIGN_EXPIRY_SECS {
        return Err(SigningError::InvalidExpiry { seconds });
    }
    let reserved = [
        X_AMZ_ALGORITHM,
        X_AMZ_CREDENTIAL,
        X_AMZ_DATE,
        X_AMZ_SIGNED_HEADERS,
        X_AMZ_EXPIRES,
        X_AMZ_SECURITY_TOKEN,
        X_AMZ_SIGNATURE,
    ];
    if canonical::parse_query(request.query())
        .iter()
        .any(|(name, _)| reserved.iter().any(|r| r.as_bytes() == name.as_slice()))
    {
        return Err(SigningError::InvalidParameter {
            reason: "the query string already carries X-Amz-* signing parameters",
        });
    }
    let settings = &params.settings;
    let amz_date = format_amz_date(params.time);
    let scope = params.scope();
    let payload_hash = payload_hash(request, &settings.payload)?;
    let canonical_headers = signed_headers_of(request, settings.sign_session_token);

    let credential = format!("{}/{scope}", params.credentials.access_key_id);
    let mut query_params: Vec<(String, String)> = vec![
        (X_AMZ_ALGORITHM.to_owned(), ALGORITHM.to_owned()),
        (X_AMZ_CREDENTIAL.to_owned(), credential),
        (X_AMZ_DATE.to_owned(), amz_date.clone()),
        (
            X_AMZ_SIGNED_HEADERS.to_owned(),
            canonical_headers.signed.clone(),
        ),
        (X_AMZ_EXPIRES.to_owned(), seconds.to_string()),
    ];
    let token = params.credentials.session_token.as_deref();
    if let (Some(token), true) = (token, settings.sign_session_token) {
        query_params.push((X_AMZ_SECURITY_TOKEN.to_owned(), token.to_owned()));
    }
    let signed_params: Vec<(&str, &str)> = query_params
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();

    let canonical_request = canonical_request(
        &request.method,
        &canonical_uri(request.path_without_query(), settings.uri_rules()),
        &canonical_query(request.query(), &[], &signed_params),
        &canonical_headers,
        &payload_hash,
    );
    let string_to_sign = string_to_sign(&amz_date, &scope, &canonical_request);
    let signature = params.key(&scope).sign(&string_to_sign);

    if let (Some(token), false) = (token, settings.sign_session_token) {
        query_params.push((X_AMZ_SECURITY_TOKEN.to_owned(), token.to_owned()));
    }
    query_params.push((X_AMZ_SIGNATURE.to_owned(), signature.clone()));

    let mut path = request.path.clone();
    if !request.path.contains('?') {
        path.push('?');
    } else if !request.query().is_empty() {
        path.push('&');
    } // else "/path?" already ends with its separator
    let encoded: Vec<String> = query_params
        .iter()
        .map(|(name, value)| {
            format!(
                "{}={}",
                canonical::uri_encode(name.as_bytes(), true),
                canonical::uri_encode(value.as_bytes(), true)
            )
        })
        .collect();
    path.push_str(&encoded.join("&"));

    Ok(PresignOutput {
        canonical_request,
        string_to_sign,
        signature,
        query_params,
        path,
    })
}

/// Presigns a URL the way botocore's `generate_presigned_url` does: only the
/// `host` header is signed and the payload is `UNSIGNED-PAYLOAD` (whatever
/// [`SigningSettings::payload`] says). Returns the complete URL.
///
/// `url` must be absolute `http://` or `https://`; a default port (`:443`
/// for https, `:80` for http) is left out of the signed `host`, as HTTP
/// clients leave it out of the `Host` header.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use kvs_mkv::sigv4::{presign_url, Credentials, SigningParams};
///
/// let creds = Credentials::new("AKIDEXAMPLE", "secret");
/// let params = SigningParams::new(&creds, "us-west-2", "kinesisvideo", SystemTime::now());
/// let url = presign_url("GET", "https://example.com/path?a=b", &params, Duration::from_secs(3600))?;
/// assert!(url.starts_with("https://example.com/path?a=b&X-Amz-Algorithm=AWS4-HMAC-SHA256&"));
/// # Ok::<(), kvs_mkv::sigv4::SigningError>(())
/// ```
pub fn presign_url(
    method: &str,
    url: &str,
    params: &SigningParams<'_>,
    expires_in: Duration,
) -> Result<String, SigningError> {
    let parts = split_url(url)?;
    let request = Request::new(method, parts.target).with_header("host", parts.host);
    let params = SigningParams {
        settings: SigningSettings {
            payload: PayloadHash::Unsigned,
            ..params.settings.clone()
        },
        ..params.clone()
    };
    let out = presign(&request, &params, expires_in)?;
    Ok(format!(
        "{}://{}{}",
        parts.scheme, parts.authority, out.path
    ))
}

/// Builds and signs a Kinesis Video Streams API call: `POST` of a JSON
/// `body` to `url` (e.g. `https://kinesisvideo.us-west-2.amazonaws.com/getDataEndpoint`
/// or a data endpoint plus `/getMedia`), with `host` and
/// `content-type: application/json` headers, signed for
/// [`KINESIS_VIDEO_SIGNING_NAME`] in `region`.
///
/// The returned request carries `X-Amz-Date`, `X-Amz-Security-Token` (with
/// session credentials) and `Authorization`; send its headers and body as
/// they are.
///
/// ```
/// use std::time::SystemTime;
/// use kvs_mkv::sigv4::{sign_kinesis_video_post, Credentials};
///
/// let creds = Credentials::new("AKIDEXAMPLE", "secret");
/// let request = sign_kinesis_video_post(
///     "https://kinesisvideo.us-west-2.amazonaws.com/getDataEndpoint",
///     br#"{"StreamName":"cam","APIName":"GET_MEDIA"}"#.to_vec(),
///     "us-west-2",
///     &creds,
///     SystemTime::now(),
/// )?;
/// assert_eq!(request.path, "/getDataEndpoint");
/// assert_eq!(request.header_value("host"), Some("kinesisvideo.us-west-2.amazonaws.com"));
/// assert!(request
///     .header_value("authorization")
///     .unwrap()
///     .contains("/us-west-2/kinesisvideo/aws4_request, SignedHeaders=content-type;host;x-amz-date,"));
/// # Ok::<(), kvs_mkv::sigv4::SigningError>(())
/// ```
pub fn sign_kinesis_video_post(
    url: &str,
    body: impl Into<Vec<u8>>,
    region: &str,
    credentials: &Credentials,
    time: SystemTime,
) -> Result<Request, SigningError> {
    let parts = split_url(url)?;
    let mut request = Request::new("POST", parts.target)
        .with_header("host", parts.host)
        .with_header("content-type", "application/json")
        .with_body(body);
    let params = SigningParams::new(credentials, region, KINESIS_VIDEO_SIGNING_NAME, time);
    sign(&request, &params)?.apply_to(&mut request);
    Ok(request)
}

/// `AWS4-HMAC-SHA256\n<X-Amz-Date>\n<scope>\n<hex SHA-256 of the canonical request>`.
pub(crate) fn string_to_sign(
    amz_date: &str,
    scope: &CredentialScope,
    canonical_request: &str,
) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// The canonical headers of everything in `request` that gets signed.
pub(crate) fn signed_headers_of(request: &Request, sign_session_token: bool) -> CanonicalHeaders {
    let token = X_AMZ_SECURITY_TOKEN.to_ascii_lowercase();
    CanonicalHeaders::new(
        request
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str())),
        |name| !UNSIGNED_HEADERS.contains(&name) && (sign_session_token || name != token),
    )
}

fn payload_hash(request: &Request, payload: &PayloadHash) -> Result<String, SigningError> {
    match payload {
        PayloadHash::Body => Ok(sha256_hex(&request.body)),
        PayloadHash::Unsigned => Ok(UNSIGNED_PAYLOAD.to_owned()),
        PayloadHash::Precomputed(hash) if is_visible_ascii(hash) => Ok(hash.clone()),
        PayloadHash::Precomputed(_) => Err(SigningError::InvalidParameter {
            reason: "a precomputed payload hash must be non-empty visible ASCII",
        }),
    }
}

/// Refuses inputs that would make the canonical request or the
/// `Authorization` header ambiguous.
fn validate(request: &Request, params: &SigningParams<'_>) -> Result<(), SigningError> {
    let fail = |reason| Err(SigningError::InvalidParameter { reason });
    if !is_token(&request.method) {
        return fail("the method must be an HTTP token");
    }
    if request.headers.iter().any(|(name, _)| !is_token(name)) {
        return fail("a header name is not an HTTP token");
    }
    for (value, reason) in [
        (
            params.region,
            "the region must be non-empty visible ASCII without '/'",
        ),
        (
            params.service,
            "the service must be non-empty visible ASCII without '/'",
        ),
        (
            params.credentials.access_key_id.as_str(),
            "the access key id must be non-empty visible ASCII without '/' or ','",
        ),
    ] {
        if !is_visible_ascii(value) || value.contains(['/', ',']) {
            return fail(reason);
        }
    }
    if let Some(token) = &params.credentials.session_token {
        if !is_visible_ascii(token) {
            return fail("the session token must be non-empty visible ASCII");
        }
    }
    Ok(())
}

/// RFC 9110 `token`: the characters allowed in methods and header names.
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn is_visible_ascii(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_graphic())
}

/// The pieces of an absolute URL that signing needs.
struct UrlParts<'a> {
    scheme: &'a str,
    /// `host[:port]` as written in the URL.
    authority: &'a str,
    /// The value for the `host` header (default port removed).
    host: &'a str,
    /// Path and query, `/` if the URL has none.
    target: String,
}

fn split_url(url: &str) -> Result<UrlParts<'_>, SigningError> {
    let fail = |reason| Err(SigningError::InvalidUrl { reason });
    let Some((scheme, rest)) = url.split_once("://") else {
        return fail("expected scheme://host/path");
    };
    let default_port = if scheme.eq_ignore_ascii_case("https") {
        ":443"
    } else if scheme.eq_ignore_ascii_case("http") {
        ":80"
    } else {
        return fail("the scheme must be http or https");
    };
    let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, target) = rest.split_at(end);
    if authority.is_empty() || !is_visible_ascii(authority) || authority.contains('@') {
        return fail("the host must be non-empty, without user info or spaces");
    }
    if target
        .chars()
        .any(|c| c.is_ascii_whitespace() || c.is_ascii_control())
    {
        return fail("the path must not contain whitespace or control characters");
    }
    let host = authority.strip_suffix(default_port).unwrap_or(authority);
    let target = if target.starts_with('/') {
        target.to_owned()
    } else {
        format!("/{target}")
    };
    Ok(UrlParts {
        scheme,
        authority,
        host,
        target,
    })
}
