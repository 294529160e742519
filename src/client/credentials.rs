//! Where the client's keys come from: the [`ProvideCredentials`] trait, the
//! built-in providers (static keys, the environment, the shared files) and a
//! small chain of them.
//!
//! The built-in providers need no AWS SDK. They read **static keys only**:
//! `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`, and
//! `aws_access_key_id` / `aws_secret_access_key` / `aws_session_token` of a
//! profile in the shared credentials file and config file. They do **not**
//! cover:
//!
//! - IAM Identity Center (SSO) profiles (`sso_session`, `sso_start_url`,
//!   `sso_account_id`, ...) and `aws login` sessions;
//! - web identity (`AWS_WEB_IDENTITY_TOKEN_FILE`, `web_identity_token_file`:
//!   EKS IAM roles for service accounts);
//! - ECS and EKS container credentials (`AWS_CONTAINER_CREDENTIALS_FULL_URI`,
//!   `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, EKS Pod Identity);
//! - EC2 instance profiles (IMDSv2);
//! - `credential_process`;
//! - role assumption (`role_arn` with `source_profile` or
//!   `credential_source`).
//!
//! A profile that uses one of those is refused with
//! [`CredentialsError::NotSupported`] naming the setting. For them, build
//! with the `aws-config` feature, which adapts the AWS SDK's own default
//! chain (`ClientConfig::from_aws_config`, `AwsSdkCredentials`), or
//! implement [`ProvideCredentials`] yourself.
//!
//! Whatever the provider, the client calls it through one cache per client
//! ([`CredentialsCache`](super::CredentialsCache)): only for the first call,
//! ahead of the keys' expiry, and when the service refuses keys as expired.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::sigv4::{format_amz_date, Credentials};

/// What [`ProvideCredentials::provide`] returns: a boxed, `Send` future.
pub type ProvideFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Credentials, CredentialsError>> + Send + 'a>>;

/// A source of credentials: static keys, the environment, the shared files,
/// a credentials endpoint, the AWS SDK's chain...
///
/// Temporary credentials carry their expiry
/// ([`Credentials::expires_at`]); the client asks again ahead of it. The
/// client never calls `provide` twice at once, and bounds each call with
/// [`CredentialsRefresh::timeout`](super::CredentialsRefresh::timeout).
/// `Debug` must not show secrets.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use kvs_mkv::client::{ClientConfig, CredentialsError, ProvideCredentials, ProvideFuture};
/// use kvs_mkv::sigv4::Credentials;
///
/// /// Keys from a vault, valid for an hour.
/// #[derive(Debug)]
/// struct Vault;
///
/// impl ProvideCredentials for Vault {
///     fn provide(&self) -> ProvideFuture<'_> {
///         Box::pin(async {
///             Ok(Credentials::new("ASIAEXAMPLE", "secret")
///                 .with_session_token("token")
///                 .with_expiry(SystemTime::now() + Duration::from_secs(3600)))
///         })
///     }
/// }
///
/// let config = ClientConfig::with_credentials_provider("us-west-2", Vault);
/// assert!(format!("{config:?}").contains("Vault"));
/// ```
pub trait ProvideCredentials: Send + Sync + fmt::Debug {
    /// Fetches credentials (with their expiry, if they expire).
    fn provide(&self) -> ProvideFuture<'_>;
}

/// Static keys provide themselves.
impl ProvideCredentials for Credentials {
    fn provide(&self) -> ProvideFuture<'_> {
        Box::pin(std::future::ready(Ok(self.clone())))
    }
}

/// A provider shared by a configuration and its clones.
#[derive(Clone)]
pub struct SharedCredentialsProvider(Arc<dyn ProvideCredentials>);

impl SharedCredentialsProvider {
    /// Shares `provider`.
    ///
    /// ```
    /// use kvs_mkv::client::{EnvironmentProvider, SharedCredentialsProvider};
    /// let shared = SharedCredentialsProvider::new(EnvironmentProvider::new());
    /// assert!(format!("{shared:?}").contains("Environment"));
    /// ```
    pub fn new(provider: impl ProvideCredentials + 'static) -> Self {
        SharedCredentialsProvider(Arc::new(provider))
    }
}

impl fmt::Debug for SharedCredentialsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl ProvideCredentials for SharedCredentialsProvider {
    fn provide(&self) -> ProvideFuture<'_> {
        self.0.provide()
    }
}

impl From<Credentials> for SharedCredentialsProvider {
    fn from(credentials: Credentials) -> Self {
        SharedCredentialsProvider::new(credentials)
    }
}

/// Why no credentials could be had. Never contains a secret.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialsError {
    /// This source has no credentials (a [`CredentialsChain`] goes on to
    /// the next one). The message says where it looked.
    #[error("no credentials: {0}")]
    NotFound(String),
    /// The source is there but wrong: half a key pair, a malformed entry.
    #[error("invalid credentials: {0}")]
    Invalid(String),
    /// The source needs a provider this build does not have (the built-in
    /// providers read static keys only; see the module docs).
    #[error("{0}")]
    NotSupported(String),
    /// The provider failed (a credentials endpoint, STS, SSO...).
    #[error("{provider}: {message}")]
    Provider {
        /// The provider, e.g. `aws-config`.
        provider: String,
        /// What went wrong, with its causes.
        message: String,
        /// Whether asking again later may succeed.
        retryable: bool,
        /// The provider's own error, when it has one.
        #[source]
        source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    },
    /// The provider did not answer within
    /// [`CredentialsRefresh::timeout`](super::CredentialsRefresh::timeout).
    #[error("fetching credentials timed out after {0:?}")]
    Timeout(Duration),
    /// The provider answered with credentials that had already expired.
    #[error("the provider's credentials for {access_key_id} expired at {}", format_amz_date(*expired_at))]
    ExpiredOnArrival {
        /// Their access key id (not a secret).
        access_key_id: String,
        /// Their expiry.
        expired_at: SystemTime,
    },
    /// The credentials the client held expired, and refreshing them failed.
    #[error("the credentials for {access_key_id} expired at {} and could not be refreshed: {last}", format_amz_date(*expired_at))]
    Expired {
        /// Their access key id (not a secret).
        access_key_id: String,
        /// Their expiry.
        expired_at: SystemTime,
        /// Why the refresh failed.
        last: Box<CredentialsError>,
    },
}

impl CredentialsError {
    /// Whether asking again later may succeed: a timeout, a provider that
    /// says so, or expired keys whose refresh failed that way.
    ///
    /// ```
    /// use std::time::Duration;
    /// use kvs_mkv::client::CredentialsError;
    /// assert!(CredentialsError::Timeout(Duration::from_secs(30)).is_retryable());
    /// assert!(!CredentialsError::NotFound("nothing here".into()).is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            CredentialsError::Timeout(_) => true,
            CredentialsError::Provider { retryable, .. } => *retryable,
            CredentialsError::Expired { last, .. } => last.is_retryable(),
            _ => false,
        }
    }
}

/// Where the built-in providers read variables: the process environment
/// (when they are asked), or a fixed map.
#[derive(Clone, Default)]
enum Vars {
    #[default]
    Process,
    Fixed(HashMap<String, String>),
}

impl Vars {
    /// A variable's value; empty counts as unset.
    fn get(&self, name: &str) -> Option<String> {
        match self {
            Vars::Process => std::env::var(name).ok(),
            Vars::Fixed(map) => map.get(name).cloned(),
        }
        .filter(|v| !v.is_empty())
    }

    fn get_os(&self, name: &str) -> Option<PathBuf> {
        match self {
            Vars::Process => std::env::var_os(name).map(PathBuf::from),
            Vars::Fixed(map) => map.get(name).map(PathBuf::from),
        }
        .filter(|v| !v.as_os_str().is_empty())
    }
}

impl fmt::Debug for Vars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Vars::Process => f.write_str("process environment"),
            // The names only: the values hold secrets.
            Vars::Fixed(map) => {
                let mut names: Vec<&String> = map.keys().collect();
                names.sort();
                f.debug_tuple("Fixed").field(&names).finish()
            }
        }
    }
}

/// Keys from the environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`
/// and, for temporary keys, `AWS_SESSION_TOKEN`, read each time it is
/// asked. [`CredentialsError::NotFound`] without `AWS_ACCESS_KEY_ID`.
///
/// ```
/// use kvs_mkv::client::EnvironmentProvider;
/// let env = EnvironmentProvider::from_vars([
///     ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
///     ("AWS_SECRET_ACCESS_KEY", "secret"),
/// ]);
/// assert_eq!(env.load()?.access_key_id, "AKIDEXAMPLE");
/// assert!(!format!("{env:?}").contains("secret\""));
/// # Ok::<(), kvs_mkv::client::CredentialsError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct EnvironmentProvider {
    vars: Vars,
}

impl EnvironmentProvider {
    /// Reads the process environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads these variables instead of the process environment (for tests,
    /// and for services that keep their configuration elsewhere).
    pub fn from_vars<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        EnvironmentProvider {
            vars: Vars::Fixed(
                vars.into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            ),
        }
    }

    /// The keys, now.
    pub fn load(&self) -> Result<Credentials, CredentialsError> {
        let Some(id) = self.vars.get("AWS_ACCESS_KEY_ID") else {
            return Err(CredentialsError::NotFound(
                "AWS_ACCESS_KEY_ID is not set".into(),
            ));
        };
        let secret = self.vars.get("AWS_SECRET_ACCESS_KEY").ok_or_else(|| {
            CredentialsError::Invalid(
                "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not".into(),
            )
        })?;
        let c = Credentials::new(id, secret);
        Ok(match self.vars.get("AWS_SESSION_TOKEN") {
            Some(t) => c.with_session_token(t),
            None => c,
        })
    }
}

impl ProvideCredentials for EnvironmentProvider {
    fn provide(&self) -> ProvideFuture<'_> {
        Box::pin(std::future::ready(self.load()))
    }
}

/// Profile settings that name a source the built-in providers do not read.
const UNSUPPORTED_SETTINGS: &[(&str, &str)] = &[
    ("role_arn", "role assumption"),
    ("source_profile", "role assumption"),
    ("credential_source", "role assumption"),
    ("credential_process", "credential_process"),
    ("sso_session", "IAM Identity Center (SSO)"),
    ("sso_start_url", "IAM Identity Center (SSO)"),
    ("sso_account_id", "IAM Identity Center (SSO)"),
    ("web_identity_token_file", "web identity"),
    ("login_session", "`aws login`"),
];

/// Static keys of a profile in the shared files: the credentials file's
/// `[NAME]` first, then the config file's `[profile NAME]` (`[default]` for
/// the default profile), read each time it is asked.
///
/// The profile is the one given, else `AWS_PROFILE`, else `default`; the
/// files are `AWS_SHARED_CREDENTIALS_FILE` (else `~/.aws/credentials`) and
/// `AWS_CONFIG_FILE` (else `~/.aws/config`). A profile that uses a source
/// the built-in providers do not read (`role_arn`, `credential_process`,
/// `sso_*`, ...) is [`CredentialsError::NotSupported`].
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("kvs-mkv-doc-profile-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// # let credentials = dir.join("credentials");
/// # let config = dir.join("config");
/// std::fs::write(&credentials, "[cam]\naws_access_key_id = AKIDCAM\naws_secret_access_key = s\n").unwrap();
/// std::fs::write(&config, "[profile assumed]\nrole_arn = arn:aws:iam::123456789012:role/r\n").unwrap();
/// use kvs_mkv::client::{CredentialsError, ProfileProvider};
/// let cam = ProfileProvider::new(Some("cam")).with_files(&credentials, &config);
/// assert_eq!(cam.load()?.access_key_id, "AKIDCAM");
/// let assumed = ProfileProvider::new(Some("assumed")).with_files(&credentials, &config);
/// assert!(matches!(assumed.load(), Err(CredentialsError::NotSupported(_))));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), CredentialsError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct ProfileProvider {
    profile: Option<String>,
    credentials_file: Option<PathBuf>,
    config_file: Option<PathBuf>,
    vars: Vars,
}

impl ProfileProvider {
    /// The profile `profile` (else `AWS_PROFILE`, else `default`) in the
    /// shared files.
    pub fn new(profile: Option<&str>) -> Self {
        ProfileProvider {
            profile: profile.map(str::to_string),
            ..Self::default()
        }
    }

    /// Reads these files instead of the ones the environment names.
    pub fn with_files(
        mut self,
        credentials: impl Into<PathBuf>,
        config: impl Into<PathBuf>,
    ) -> Self {
        self.credentials_file = Some(credentials.into());
        self.config_file = Some(config.into());
        self
    }

    /// The profile's name: the one given, else `AWS_PROFILE`, else
    /// `default`.
    pub fn profile_name(&self) -> String {
        self.profile
            .clone()
            .or_else(|| self.vars.get("AWS_PROFILE"))
            .unwrap_or_else(|| "default".into())
    }

    pub(crate) fn files(&self) -> SharedFiles {
        SharedFiles::load(
            &self.vars,
            self.credentials_file.clone(),
            self.config_file.clone(),
        )
    }

    /// The keys, now.
    pub fn load(&self) -> Result<Credentials, CredentialsError> {
        self.files().credentials(&self.profile_name())
    }
}

impl ProvideCredentials for ProfileProvider {
    fn provide(&self) -> ProvideFuture<'_> {
        Box::pin(std::future::ready(self.load()))
    }
}

/// Providers tried in order: the first that has credentials gives them; one
/// that has none ([`CredentialsError::NotFound`]) passes to the next; any
/// other error stops the chain (half a key pair in the environment is a
/// mistake to report, not a reason to use other keys).
///
/// ```
/// use kvs_mkv::client::{CredentialsChain, EnvironmentProvider, ProfileProvider};
/// let chain = CredentialsChain::new()
///     .or_else(EnvironmentProvider::new())
///     .or_else(ProfileProvider::new(None));
/// assert!(format!("{chain:?}").contains("ProfileProvider"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct CredentialsChain {
    providers: Vec<SharedCredentialsProvider>,
}

impl CredentialsChain {
    /// An empty chain (it has no credentials).
    pub fn new() -> Self {
        Self::default()
    }

    /// The built-in chain: with a profile given, that profile only; else
    /// the environment, then the profile `AWS_PROFILE` (or `default`). Static
    /// keys only: see the module docs for what it does not cover.
    pub fn default_chain(profile: Option<&str>) -> Self {
        match profile {
            Some(p) => CredentialsChain::new().or_else(ProfileProvider::new(Some(p))),
            None => CredentialsChain::new()
                .or_else(EnvironmentProvider::new())
                .or_else(ProfileProvider::new(None)),
        }
    }

    /// Adds a provider to try after the others.
    pub fn or_else(mut self, provider: impl ProvideCredentials + 'static) -> Self {
        self.providers
            .push(SharedCredentialsProvider::new(provider));
        self
    }
}

impl ProvideCredentials for CredentialsChain {
    fn provide(&self) -> ProvideFuture<'_> {
        Box::pin(async move {
            let mut looked = Vec::new();
            for p in &self.providers {
                match p.provide().await {
                    Err(CredentialsError::NotFound(where_)) => looked.push(where_),
                    other => return other,
                }
            }
            if looked.is_empty() {
                looked.push("no provider configured".into());
            }
            Err(CredentialsError::NotFound(format!(
                "{} (the built-in providers read static keys only; SSO, roles, web identity, \
                 container and instance credentials and credential_process need the `aws-config` feature)",
                looked.join("; ")
            )))
        })
    }
}

/// The shared credentials and config files, parsed as INI.
pub(crate) struct SharedFiles {
    credentials_path: PathBuf,
    config_path: PathBuf,
    credentials: HashMap<String, HashMap<String, String>>,
    config: HashMap<String, HashMap<String, String>>,
}

impl SharedFiles {
    /// The files named by `credentials_file` / `config_file`, else by the
    /// environment, else `~/.aws/`. A missing or unreadable file is empty.
    fn load(
        vars: &Vars,
        credentials_file: Option<PathBuf>,
        config_file: Option<PathBuf>,
    ) -> SharedFiles {
        let home = vars.get_os("HOME").unwrap_or_default();
        let path = |given: Option<PathBuf>, var: &str, default: &str| {
            given
                .or_else(|| vars.get_os(var))
                .unwrap_or_else(|| home.join(".aws").join(default))
        };
        let credentials_path = path(
            credentials_file,
            "AWS_SHARED_CREDENTIALS_FILE",
            "credentials",
        );
        let config_path = path(config_file, "AWS_CONFIG_FILE", "config");
        let read = |p: &PathBuf| {
            std::fs::read_to_string(p)
                .map(|t| parse_ini(&t))
                .unwrap_or_default()
        };
        SharedFiles {
            credentials: read(&credentials_path),
            config: read(&config_path),
            credentials_path,
            config_path,
        }
    }

    pub(crate) fn describe(&self) -> String {
        format!(
            "{} or {}",
            self.credentials_path.display(),
            self.config_path.display()
        )
    }

    /// Whether either file has a section for `profile`.
    #[cfg(feature = "aws-config")]
    pub(crate) fn has_profile(&self, profile: &str) -> bool {
        let config_section = if profile == "default" {
            "default".to_string()
        } else {
            format!("profile {profile}")
        };
        self.credentials.contains_key(profile) || self.config.contains_key(&config_section)
    }

    /// A key of a profile: the credentials file's `[name]` first, then the
    /// config file's `[profile name]` (or `[default]`).
    pub(crate) fn value(&self, profile: &str, key: &str) -> Option<String> {
        let config_section = if profile == "default" {
            "default".to_string()
        } else {
            format!("profile {profile}")
        };
        self.credentials
            .get(profile)
            .and_then(|s| s.get(key))
            .or_else(|| self.config.get(&config_section).and_then(|s| s.get(key)))
            .filter(|v| !v.is_empty())
            .cloned()
    }

    fn credentials(&self, profile: &str) -> Result<Credentials, CredentialsError> {
        if let Some((setting, what)) = UNSUPPORTED_SETTINGS
            .iter()
            .find(|(setting, _)| self.value(profile, setting).is_some())
        {
            return Err(CredentialsError::NotSupported(format!(
                "profile {profile:?} uses {setting} ({what}), which the built-in providers do not read; \
                 build with the `aws-config` feature ({})",
                self.describe()
            )));
        }
        let id = self.value(profile, "aws_access_key_id");
        let secret = self.value(profile, "aws_secret_access_key");
        match (id, secret) {
            (Some(id), Some(secret)) => {
                let c = Credentials::new(id, secret);
                Ok(match self.value(profile, "aws_session_token") {
                    Some(t) => c.with_session_token(t),
                    None => c,
                })
            }
            (Some(_), None) => Err(CredentialsError::Invalid(format!(
                "profile {profile:?} has aws_access_key_id but no aws_secret_access_key ({})",
                self.describe()
            ))),
            _ => Err(CredentialsError::NotFound(format!(
                "profile {profile:?} has none in {}",
                self.describe()
            ))),
        }
    }
}

fn parse_ini(text: &str) -> HashMap<String, HashMap<String, String>> {
    let mut out: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut section = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.split_whitespace().collect::<Vec<_>>().join(" ");
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            out.entry(section.clone())
                .or_default()
                .insert(k.trim().to_lowercase(), v.trim().to_string());
        }
    }
    out
}

/// The value of a future that is ready at its first poll (the built-in
/// providers' are), or `None`.
pub(crate) fn ready_now<T>(future: impl Future<Output = T>) -> Option<T> {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => Some(v),
        std::task::Poll::Pending => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini_sections() {
        let ini =
            parse_ini("[default]\naws_access_key_id = A\n# c\n[profile   cam]\nregion=eu-west-1\n");
        assert_eq!(ini["default"]["aws_access_key_id"], "A");
        assert_eq!(ini["profile cam"]["region"], "eu-west-1");
    }

    fn env(vars: &[(&str, &str)]) -> EnvironmentProvider {
        EnvironmentProvider::from_vars(vars.iter().copied())
    }

    #[test]
    fn environment_keys() {
        let e = env(&[
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "very-secret"),
            ("AWS_SESSION_TOKEN", "tok-secret"),
        ]);
        let c = e.load().unwrap();
        assert_eq!(c.session_token.as_deref(), Some("tok-secret"));
        let shown = format!("{e:?}");
        assert!(
            !shown.contains("very-secret") && !shown.contains("tok-secret"),
            "{shown}"
        );
        assert!(matches!(
            env(&[]).load(),
            Err(CredentialsError::NotFound(_))
        ));
        assert!(matches!(
            env(&[("AWS_ACCESS_KEY_ID", "AKID")]).load(),
            Err(CredentialsError::Invalid(_))
        ));
    }

    #[test]
    fn chain_passes_not_found_and_stops_on_errors() {
        let chain = CredentialsChain::new()
            .or_else(env(&[]))
            .or_else(Credentials::new("AKIDSTATIC", "s"));
        assert_eq!(
            ready_now(chain.provide()).unwrap().unwrap().access_key_id,
            "AKIDSTATIC"
        );
        let chain = CredentialsChain::new()
            .or_else(env(&[("AWS_ACCESS_KEY_ID", "AKID")]))
            .or_else(Credentials::new("AKIDSTATIC", "s"));
        assert!(matches!(
            ready_now(chain.provide()).unwrap(),
            Err(CredentialsError::Invalid(_))
        ));
        let empty = ready_now(CredentialsChain::new().or_else(env(&[])).provide()).unwrap();
        let Err(CredentialsError::NotFound(m)) = empty else {
            panic!("{empty:?}")
        };
        assert!(
            m.contains("AWS_ACCESS_KEY_ID is not set") && m.contains("aws-config"),
            "{m}"
        );
    }

    #[test]
    fn profiles_from_both_files() {
        let dir = std::env::temp_dir().join(format!("kvs-mkv-profile-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (creds, config) = (dir.join("credentials"), dir.join("config"));
        std::fs::write(
            &creds,
            "[default]\naws_access_key_id=AKIDDEF\naws_secret_access_key=s1\n[half]\naws_access_key_id=AKIDHALF\n",
        )
        .unwrap();
        std::fs::write(
            &config,
            "[profile cam]\naws_access_key_id=AKIDCAM\naws_secret_access_key=s2\naws_session_token=t\n\
             [profile sso]\nsso_session=corp\n[profile proc]\ncredential_process=/bin/true\n\
             [profile role]\nrole_arn=arn:aws:iam::1:role/r\nsource_profile=default\n",
        )
        .unwrap();
        let load = |p: &str| {
            ProfileProvider::new(Some(p))
                .with_files(&creds, &config)
                .load()
        };
        assert_eq!(load("default").unwrap().access_key_id, "AKIDDEF");
        assert_eq!(load("cam").unwrap().session_token.as_deref(), Some("t"));
        assert!(matches!(load("half"), Err(CredentialsError::Invalid(_))));
        assert!(matches!(load("nobody"), Err(CredentialsError::NotFound(_))));
        for (p, setting) in [
            ("sso", "sso_session"),
            ("proc", "credential_process"),
            ("role", "role_arn"),
        ] {
            let Err(CredentialsError::NotSupported(m)) = load(p) else {
                panic!("{p}")
            };
            assert!(m.contains(setting) && m.contains("aws-config"), "{m}");
        }
        // AWS_PROFILE chooses the profile when none is given.
        let mut by_env = ProfileProvider::new(None).with_files(&creds, &config);
        by_env.vars = Vars::Fixed(HashMap::from([("AWS_PROFILE".into(), "cam".into())]));
        assert_eq!(by_env.load().unwrap().access_key_id, "AKIDCAM");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
