//! AWS credentials and where a verifier looks them up.

use std::collections::HashMap;
use std::fmt;
use std::time::SystemTime;

use super::redact::REDACTED;

/// An AWS access key: its public id, its secret, the session token of
/// temporary (STS) credentials, and when temporary credentials expire.
///
/// `Debug` and `Display` never show the secret access key or the session
/// token; they print `***` in their place. The expiry is not a secret.
///
/// ```
/// use kvs_mkv::sigv4::Credentials;
///
/// let creds = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
///     .with_session_token("FQoGZXIvYXdzEXAMPLE");
/// let shown = format!("{creds:?} {creds}");
/// assert!(shown.contains("AKIDEXAMPLE"));
/// assert!(!shown.contains("wJalr") && !shown.contains("FQoG"));
/// ```
#[derive(Clone)]
pub struct Credentials {
    /// The access key id (`AKIA...`/`ASIA...`); not a secret, it names the key.
    pub access_key_id: String,
    /// The secret access key. Never printed.
    pub secret_access_key: String,
    /// The session token of temporary credentials. Never printed.
    pub session_token: Option<String>,
    /// When temporary credentials stop being valid (`None`: long-term keys,
    /// or unknown). A client refreshes them before then; a verifier refuses
    /// requests signed with stored credentials past it.
    pub expires_at: Option<SystemTime>,
}

impl Credentials {
    /// Long-term credentials (no session token).
    ///
    /// ```
    /// let creds = kvs_mkv::sigv4::Credentials::new("AKIDEXAMPLE", "secret");
    /// assert!(creds.session_token.is_none());
    /// ```
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: None,
            expires_at: None,
        }
    }

    /// The same credentials with a session token (temporary credentials).
    ///
    /// ```
    /// let creds = kvs_mkv::sigv4::Credentials::new("ASIAEXAMPLE", "secret")
    ///     .with_session_token("token");
    /// assert_eq!(creds.session_token.as_deref(), Some("token"));
    /// ```
    pub fn with_session_token(mut self, session_token: impl Into<String>) -> Self {
        self.session_token = Some(session_token.into());
        self
    }

    /// The same credentials, valid until `expires_at`.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// let now = SystemTime::now();
    /// let creds = kvs_mkv::sigv4::Credentials::new("ASIAEXAMPLE", "secret")
    ///     .with_session_token("token")
    ///     .with_expiry(now + Duration::from_secs(3600));
    /// assert!(!creds.is_expired_at(now));
    /// assert!(creds.is_expired_at(now + Duration::from_secs(3600)));
    /// ```
    pub fn with_expiry(mut self, expires_at: SystemTime) -> Self {
        self.expires_at = Some(expires_at);
        self
    }

    /// Whether the credentials have expired at `now` (never, without an
    /// expiry). They are expired from the instant of their expiry on.
    pub fn is_expired_at(&self, now: SystemTime) -> bool {
        self.expires_at.is_some_and(|e| now >= e)
    }

    /// Whether `other` is the same key: the same id, secret and session
    /// token (the expiry is not compared).
    ///
    /// ```
    /// use kvs_mkv::sigv4::Credentials;
    /// let a = Credentials::new("AKID", "secret");
    /// assert!(a.same_key(&a.clone().with_expiry(std::time::SystemTime::now())));
    /// assert!(!a.same_key(&a.clone().with_session_token("t")));
    /// ```
    pub fn same_key(&self, other: &Credentials) -> bool {
        self.access_key_id == other.access_key_id
            && self.secret_access_key == other.secret_access_key
            && self.session_token == other.session_token
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &REDACTED)
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| REDACTED),
            )
            .field("expires_at", &self.expires_at.map(super::format_amz_date))
            .finish()
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (secret {REDACTED}", self.access_key_id)?;
        if self.session_token.is_some() {
            write!(f, ", session token {REDACTED}")?;
        }
        f.write_str(")")
    }
}

/// Where a verifier finds the credentials that belong to an access key id.
///
/// Implemented for closures `Fn(&str) -> Option<Credentials>`, for
/// `HashMap<String, Credentials>` (keyed by access key id) and for a single
/// [`Credentials`] value (a store holding just that key).
///
/// ```
/// use std::collections::HashMap;
/// use kvs_mkv::sigv4::{CredentialStore, Credentials};
///
/// let creds = Credentials::new("AKIDEXAMPLE", "secret");
/// let map = HashMap::from([(creds.access_key_id.clone(), creds.clone())]);
/// assert!(map.credentials_for("AKIDEXAMPLE").is_some());
/// assert!(creds.credentials_for("OTHER").is_none());
/// let closure = |id: &str| (id == "AKIDEXAMPLE").then(|| creds.clone());
/// assert!(closure.credentials_for("AKIDEXAMPLE").is_some());
/// ```
pub trait CredentialStore {
    /// The credentials of `access_key_id`, or `None` if the key is unknown.
    ///
    /// ```
    /// use kvs_mkv::sigv4::{CredentialStore, Credentials};
    ///
    /// struct OneKey(Credentials);
    /// impl CredentialStore for OneKey {
    ///     fn credentials_for(&self, id: &str) -> Option<Credentials> {
    ///         (id == self.0.access_key_id).then(|| self.0.clone())
    ///     }
    /// }
    /// let store = OneKey(Credentials::new("AKIDEXAMPLE", "secret"));
    /// assert!(store.credentials_for("AKIDEXAMPLE").is_some());
    /// ```
    fn credentials_for(&self, access_key_id: &str) -> Option<Credentials>;
}

impl<F> CredentialStore for F
where
    F: Fn(&str) -> Option<Credentials>,
{
    fn credentials_for(&self, access_key_id: &str) -> Option<Credentials> {
        self(access_key_id)
    }
}

impl<S: std::hash::BuildHasher> CredentialStore for HashMap<String, Credentials, S> {
    fn credentials_for(&self, access_key_id: &str) -> Option<Credentials> {
        self.get(access_key_id).cloned()
    }
}

impl CredentialStore for Credentials {
    fn credentials_for(&self, access_key_id: &str) -> Option<Credentials> {
        (self.access_key_id == access_key_id).then(|| self.clone())
    }
}
