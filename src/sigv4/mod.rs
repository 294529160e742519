//! AWS Signature Version 4: signing requests and verifying signed requests.
//!
//! This module is self-contained and independent of any HTTP crate: a request
//! is a plain [`Request`] (method, raw path with query, ordered header list,
//! body bytes). It is tested against the official AWS SigV4 test suites.
//!
//! Where to find what:
//!
//! | file | what it holds |
//! |---|---|
//! | `canonical.rs` | **the canonical request**: URI path normalization and encoding, query sorting and encoding, header canonicalization |
//! | `signer.rs` | signing key derivation, string to sign, `Authorization` header, presigned URLs, the Kinesis Video helper |
//! | `verify.rs` | verification of received requests (header and presigned forms) and its typed errors |
//! | `credentials.rs` | [`Credentials`] (secret-redacting `Debug`) and the [`CredentialStore`] trait |
//! | `request.rs` | the HTTP-crate-independent [`Request`] |
//! | `redact.rs` | the one definition of what `Debug`, errors and logs hide (session tokens, URL passwords) |
//! | `time.rs` | `YYYYMMDDTHHMMSSZ` formatting and parsing without a date crate |
//! | `crypto.rs` | SHA-256, HMAC-SHA256, hex, constant-time comparison |
//!
//! # Signing a request
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use kvs_mkv::sigv4::{sign, Credentials, Request, SigningParams};
//!
//! let credentials = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
//! let time = UNIX_EPOCH + Duration::from_secs(1_440_938_160); // 2015-08-30T12:36:00Z
//! let mut request = Request::new("GET", "/").with_header("Host", "example.amazonaws.com");
//!
//! let params = SigningParams::new(&credentials, "us-east-1", "service", time);
//! let output = sign(&request, &params)?;
//! assert_eq!(
//!     output.signature,
//!     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
//! );
//! output.apply_to(&mut request); // adds X-Amz-Date and Authorization
//! assert!(request.header_value("authorization").is_some());
//! # Ok::<(), kvs_mkv::sigv4::SigningError>(())
//! ```
//!
//! # Verifying a request
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use kvs_mkv::sigv4::{sign, verify, Credentials, Request, SigningParams, VerifySettings};
//!
//! let credentials = Credentials::new("AKIDEXAMPLE", "secret");
//! let time = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! let mut request = Request::new("POST", "/getMedia")
//!     .with_header("host", "localhost:8080")
//!     .with_body(b"{}".to_vec());
//! sign(&request, &SigningParams::new(&credentials, "us-west-2", "kinesisvideo", time))?
//!     .apply_to(&mut request);
//!
//! // The server side: look the access key up, recompute, compare.
//! let store = |id: &str| (id == "AKIDEXAMPLE").then(|| credentials.clone());
//! let settings = VerifySettings::new("us-west-2", "kinesisvideo");
//! let verified = verify(&request, &store, &settings, time).expect("valid signature");
//! assert_eq!(verified.access_key_id, "AKIDEXAMPLE");
//! # Ok::<(), kvs_mkv::sigv4::SigningError>(())
//! ```
#![deny(missing_docs)]

mod canonical;
mod credentials;
mod crypto;
pub(crate) mod redact;
mod request;
mod signer;
mod time;
mod verify;

pub use credentials::{CredentialStore, Credentials};
pub use request::Request;
pub use signer::{
    presign, presign_url, sign, sign_kinesis_video_post, CredentialScope, PayloadHash,
    PresignOutput, SigningError, SigningKey, SigningOutput, SigningParams, SigningSettings,
};
pub use time::{format_amz_date, parse_amz_date};
pub use verify::{verify, AuthKind, ScopePart, Verified, VerifyError, VerifySettings};

/// The only signing algorithm of Signature Version 4 this module implements.
///
/// ```
/// assert_eq!(kvs_mkv::sigv4::ALGORITHM, "AWS4-HMAC-SHA256");
/// ```
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The signing name (credential-scope service) of every Kinesis Video Streams
/// operation, including the media and archived-media data plane endpoints.
///
/// ```
/// assert_eq!(kvs_mkv::sigv4::KINESIS_VIDEO_SIGNING_NAME, "kinesisvideo");
/// ```
pub const KINESIS_VIDEO_SIGNING_NAME: &str = "kinesisvideo";

/// The payload hash placeholder used when the body is not signed (what
/// botocore's `generate_presigned_url` puts in presigned URLs).
///
/// ```
/// assert_eq!(kvs_mkv::sigv4::UNSIGNED_PAYLOAD, "UNSIGNED-PAYLOAD");
/// ```
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// The longest validity AWS accepts for a presigned URL: 7 days, in seconds.
///
/// ```
/// assert_eq!(kvs_mkv::sigv4::MAX_PRESIGN_EXPIRY_SECS, 7 * 24 * 3600);
/// ```
pub const MAX_PRESIGN_EXPIRY_SECS: u64 = 604_800;

/// The largest difference AWS tolerates between a request's `X-Amz-Date` and
/// the server clock: 15 minutes, in seconds.
///
/// ```
/// assert_eq!(kvs_mkv::sigv4::MAX_CLOCK_SKEW_SECS, 15 * 60);
/// ```
pub const MAX_CLOCK_SKEW_SECS: u64 = 900;

/// Header and query parameter names, as AWS spells them.
pub(crate) mod names {
    pub const X_AMZ_DATE: &str = "X-Amz-Date";
    pub const X_AMZ_SECURITY_TOKEN: &str = "X-Amz-Security-Token";
    /// The test suites (and aws-c-auth) spell this header in lower case.
    pub const X_AMZ_CONTENT_SHA256: &str = "x-amz-content-sha256";
    pub const AUTHORIZATION: &str = "Authorization";
    pub const X_AMZ_ALGORITHM: &str = "X-Amz-Algorithm";
    pub const X_AMZ_CREDENTIAL: &str = "X-Amz-Credential";
    pub const X_AMZ_EXPIRES: &str = "X-Amz-Expires";
    pub const X_AMZ_SIGNED_HEADERS: &str = "X-Amz-SignedHeaders";
    pub const X_AMZ_SIGNATURE: &str = "X-Amz-Signature";
    /// The last element of every credential scope.
    pub const TERMINATOR: &str = "aws4_request";
}
