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
use std::path::{Path, PathBuf};
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
    /// A shared credentials or config file is not in their format (a line
    /// that is neither `key = value` nor a `[section]` header...): the
    /// file and the line, so that the cause is not hidden behind "no
    /// credentials" or "no region".
    #[error(transparent)]
    ProfileFile(#[from] ProfileFileError),
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

/// A line of a shared credentials or config file (`~/.aws/credentials`,
/// `~/.aws/config`) that is not in their format, as the AWS SDKs parse it:
/// `[section]` headers, `key = value` lines in a section, indented lines
/// continuing a value, blank lines and comments (`#` or `;`).
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("kvs-mkv-doc-profile-file-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// # let credentials = dir.join("credentials");
/// # let config = dir.join("config");
/// std::fs::write(&credentials, "[default]\naws_access_key_id AKIDEXAMPLE\n").unwrap();
/// use kvs_mkv::client::{CredentialsError, ProfileProvider};
/// let broken = ProfileProvider::new(None).with_files(&credentials, &config);
/// let Err(CredentialsError::ProfileFile(e)) = broken.load() else { panic!() };
/// assert_eq!((e.path.as_path(), e.line), (credentials.as_path(), 2));
/// assert!(e.to_string().contains("line 2"));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
///
/// A file that exists but cannot be read (permission denied, a directory,
/// not UTF-8, or larger than [`MAX_SHARED_FILE`]: `/dev/zero` given as a
/// file is refused, not read forever) is one too, with `line` 0. (A
/// missing file is an empty one, as for the AWS SDKs.)
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {}: {reason}", place(path, *line))]
#[non_exhaustive]
pub struct ProfileFileError {
    /// The file.
    pub path: PathBuf,
    /// The line (from 1), or 0 when the file as a whole cannot be read.
    pub line: usize,
    /// What is wrong with it (the line itself is not shown: it may hold a
    /// secret).
    pub reason: &'static str,
}

/// The largest shared credentials or config file read: 4 MiB (a file of
/// hundreds of profiles is a few hundred KB).
pub const MAX_SHARED_FILE: u64 = 4 << 20;

/// [`ProfileFileError::reason`] for a file over [`MAX_SHARED_FILE`].
const TOO_LARGE: &str = "larger than 4 MiB, the most read of a shared file";

/// [`ProfileFileError`]'s place: a line of a file, or the file.
fn place(path: &Path, line: usize) -> String {
    match line {
        0 => format!("read {}", path.display()),
        n => format!("parse {}, line {n}", path.display()),
    }
}

/// The text of the shared file at `path`: `None` when there is none, an
/// error naming it when it cannot be read whole (see
/// [`ProfileFileError`]).
fn read_shared(path: &Path) -> Result<Option<String>, ProfileFileError> {
    use std::io::{ErrorKind, Read};
    let whole = |reason| ProfileFileError {
        path: path.to_path_buf(),
        line: 0,
        reason,
    };
    let failed = |e: std::io::Error| {
        whole(match e.kind() {
            ErrorKind::PermissionDenied => "permission denied",
            ErrorKind::IsADirectory => "it is a directory",
            _ => "it cannot be read",
        })
    };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(failed(e)),
    };
    let mut data = Vec::new();
    file.take(MAX_SHARED_FILE + 1)
        .read_to_end(&mut data)
        .map_err(failed)?;
    if data.len() as u64 > MAX_SHARED_FILE {
        return Err(whole(TOO_LARGE));
    }
    String::from_utf8(data)
        .map(Some)
        .map_err(|_| whole("it is not UTF-8"))
}

/// The shared file at `path`, parsed: empty when there is none.
fn read_ini(path: &Path) -> Result<Ini, ProfileFileError> {
    match read_shared(path)? {
        Some(text) => parse_ini(&text, path),
        None => Ok(Ini::default()),
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
/// `sso_*`, ...) is [`CredentialsError::NotSupported`]; a file that is not
/// in the shared files' format is [`CredentialsError::ProfileFile`], naming
/// the file and the line (a missing file is an empty one).
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

    /// The credentials and config files' paths.
    #[cfg(feature = "aws-config")]
    fn paths(&self) -> (PathBuf, PathBuf) {
        SharedFiles::paths(
            &self.vars,
            self.credentials_file.clone(),
            self.config_file.clone(),
        )
    }

    /// The shared files, parsed.
    pub(crate) fn files(&self) -> Result<SharedFiles, ProfileFileError> {
        SharedFiles::load(
            &self.vars,
            self.credentials_file.clone(),
            self.config_file.clone(),
        )
    }

    /// The shared files as the AWS SDK reads them: one that cannot be
    /// read or parsed is an empty one (the SDK logs a warning and goes
    /// on), with the first such error beside them, to give when what is
    /// looked for is not found.
    #[cfg(feature = "aws-config")]
    pub(crate) fn files_as_sdk(&self) -> (SharedFiles, Option<ProfileFileError>) {
        let (credentials_path, config_path) = self.paths();
        let mut problem = None;
        let mut read = |p: &PathBuf| match read_ini(p) {
            Ok(ini) => ini,
            Err(e) => {
                problem.get_or_insert(e);
                Ini::default()
            }
        };
        let files = SharedFiles {
            credentials: read(&credentials_path),
            config: read(&config_path),
            credentials_path,
            config_path,
        };
        (files, problem)
    }

    /// The first line of a shared file that is not in the files' format,
    /// after the SDK read the files and failed on one. Regular files only:
    /// a pipe's text went to the SDK (a named pipe opened again would wait
    /// for a writer), and a file that cannot be read (line 0) is an empty
    /// one to the SDK, not its cause.
    #[cfg(feature = "aws-config")]
    pub(crate) fn parse_problem(&self) -> Option<ProfileFileError> {
        let (credentials, config) = self.paths();
        [credentials, config]
            .into_iter()
            .find_map(|path| match std::fs::metadata(&path) {
                Ok(meta) if meta.is_file() => read_ini(&path).err().filter(|e| e.line > 0),
                _ => None,
            })
    }

    /// An error when a shared file is larger than [`MAX_SHARED_FILE`] (or
    /// never ends, as `/dev/zero`), whose whole reading by the AWS SDK
    /// would take the process's memory; nothing else is checked.
    #[cfg(feature = "aws-config")]
    pub(crate) fn check_size(&self) -> Result<(), ProfileFileError> {
        let (credentials, config) = self.paths();
        for path in [credentials, config] {
            // A regular file says its size; a pipe (bash's `<(...)`) is
            // left to the SDK, as reading it here would take its text
            // before the SDK sees it; a device (`/dev/zero`) is read.
            match std::fs::metadata(&path) {
                Ok(meta) if meta.is_file() => {
                    if meta.len() > MAX_SHARED_FILE {
                        return Err(ProfileFileError {
                            path,
                            line: 0,
                            reason: TOO_LARGE,
                        });
                    }
                    continue;
                }
                Ok(meta) if crate::io::is_pipe(&meta.file_type()) => continue,
                Err(_) => continue,
                Ok(_) => {}
            }
            match read_shared(&path) {
                Err(e) if e.reason == TOO_LARGE => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// The keys, now.
    pub fn load(&self) -> Result<Credentials, CredentialsError> {
        self.files()?.credentials(&self.profile_name())
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
    credentials: Ini,
    config: Ini,
}

/// A shared file's sections (by name, inner whitespace made single
/// spaces) and their keys (lower-case).
type Ini = HashMap<String, HashMap<String, String>>;

impl SharedFiles {
    /// The files named by `credentials_file` / `config_file`, else by the
    /// environment, else `~/.aws/`. A missing file is empty; one that
    /// cannot be read whole, or is not in the files' format, is an error
    /// naming the file (and the line).
    fn load(
        vars: &Vars,
        credentials_file: Option<PathBuf>,
        config_file: Option<PathBuf>,
    ) -> Result<SharedFiles, ProfileFileError> {
        let (credentials_path, config_path) = Self::paths(vars, credentials_file, config_file);
        Ok(SharedFiles {
            credentials: read_ini(&credentials_path)?,
            config: read_ini(&config_path)?,
            credentials_path,
            config_path,
        })
    }

    /// The credentials and config files' paths (see [`load`](Self::load)).
    fn paths(
        vars: &Vars,
        credentials_file: Option<PathBuf>,
        config_file: Option<PathBuf>,
    ) -> (PathBuf, PathBuf) {
        let home = vars.get_os("HOME").unwrap_or_default();
        let path = |given: Option<PathBuf>, var: &str, default: &str| {
            given
                .or_else(|| vars.get_os(var))
                .unwrap_or_else(|| home.join(".aws").join(default))
        };
        (
            path(
                credentials_file,
                "AWS_SHARED_CREDENTIALS_FILE",
                "credentials",
            ),
            path(config_file, "AWS_CONFIG_FILE", "config"),
        )
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

/// Whitespace in the shared files, as the AWS SDKs take it.
const INI_WHITESPACE: &[char] = &[' ', '\t'];
/// Comment characters.
const INI_COMMENT: &[char] = &['#', ';'];

/// Parses a shared file as the AWS SDKs do (so that a file is refused here
/// when the AWS SDK's own parser refuses it): blank lines and comment
/// lines are skipped; `[name]` starts a section (a `#` or `;` ends it); an
/// indented line continues the value above it; any other line is
/// `key = value` inside a section, a comment after whitespace cut from the
/// value. What fits none of these is an error naming `path` and the line.
/// (An indented `key = value` with no value above it, or an indented
/// comment, is taken as the AWS CLI takes it, not refused.)
fn parse_ini(text: &str, path: &Path) -> Result<Ini, ProfileFileError> {
    let mut out = Ini::new();
    let mut section: Option<String> = None;
    // The key the next indented line continues, in `section`.
    let mut continued: Option<String> = None;
    for (index, raw) in text.lines().enumerate() {
        let error = |reason| ProfileFileError {
            path: path.to_path_buf(),
            line: index + 1,
            reason,
        };
        let line = raw.trim_matches(INI_WHITESPACE);
        if line.is_empty() || line.starts_with(INI_COMMENT) {
            continue;
        }
        if line.starts_with('[') {
            let name = strip_comment(line, false)
                .strip_prefix('[')
                .and_then(|l| l.strip_suffix(']'))
                .ok_or_else(|| error("a [section] header without its closing `]`"))?;
            let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
            out.entry(name.clone()).or_default();
            section = Some(name);
            continued = None;
            continue;
        }
        let Some(name) = &section else {
            return Err(error("a line before the first [section] header"));
        };
        let values = out.entry(name.clone()).or_default();
        if raw.starts_with(INI_WHITESPACE) {
            if let Some(value) = continued.as_ref().and_then(|k| values.get_mut(k)) {
                value.push('\n');
                value.push_str(line);
                continue;
            }
        }
        let (key, value) = strip_comment(line, true)
            .split_once('=')
            .ok_or_else(|| error("neither `key = value` nor a [section] header"))?;
        let key = key.trim_matches(INI_WHITESPACE).to_lowercase();
        if key.is_empty() {
            return Err(error("`= value` without a key"));
        }
        values.insert(key.clone(), value.trim_matches(INI_WHITESPACE).to_string());
        continued = Some(key);
    }
    Ok(out)
}

/// `line` up to a comment: a `#` or `;` anywhere, or (in a value, where
/// `key = a#b` is a value) only after whitespace.
fn strip_comment(line: &str, after_whitespace_only: bool) -> &str {
    let mut after_space = false;
    for (i, c) in line.char_indices() {
        if INI_COMMENT.contains(&c) && (after_space || !after_whitespace_only) {
            return line[..i].trim_matches(INI_WHITESPACE);
        }
        after_space = c.is_whitespace();
    }
    line
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
        let path = Path::new("/x/config");
        let ini = parse_ini(
            "[default]\naws_access_key_id = A\n# c\n[profile   cam]\nregion=eu-west-1\n",
            path,
        )
        .unwrap();
        assert_eq!(ini["default"]["aws_access_key_id"], "A");
        assert_eq!(ini["profile cam"]["region"], "eu-west-1");
        // As the AWS SDKs read them: comments after whitespace, values
        // continued on indented lines, comments in a header, indented
        // comments and keys.
        let ini = parse_ini(
            "; top\n[default] # the default\nregion = eu-west-1 ; prod\n\
             token = abc#def\n  ghi\n\t\n  # indented\n[other]\n  key = v\n",
            path,
        )
        .unwrap();
        assert_eq!(ini["default"]["region"], "eu-west-1");
        assert_eq!(ini["default"]["token"], "abc#def\nghi");
        assert_eq!(ini["other"]["key"], "v");
    }

    /// A malformed line of the credentials file may be a secret pasted on
    /// its own, or a key without its `=`: no error, nor its Debug, shows it.
    #[test]
    fn ini_errors_never_show_the_line() {
        let path = Path::new("/x/credentials");
        let secret = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY";
        for text in [
            format!("[default]\naws_access_key_id = A\n{secret}\n"),
            format!("[default]\naws_secret_access_key {secret}\n"),
            format!("{secret} = x\n[default]\n"),
            format!("[{secret}\n"),
            format!("[default]\r\n= {secret}\r\n"),
        ] {
            let e = parse_ini(&text, path).unwrap_err();
            for shown in [e.to_string(), format!("{e:?}"), format!("{e:#?}")] {
                assert!(!shown.contains(secret), "{shown}");
                assert!(!shown.contains("EXAMPLE"), "{shown}");
            }
            let wrapped = CredentialsError::from(e);
            assert!(!format!("{wrapped} {wrapped:?}").contains(secret));
        }
    }

    #[test]
    fn ini_errors_name_the_file_and_the_line() {
        let path = Path::new("/x/credentials");
        for (text, line, reason) in [
            (
                "[default]\nregion = a\naws_access_key_id AKID\n",
                3,
                "neither",
            ),
            ("region = a\n[default]\n", 1, "before the first"),
            ("# c\n\n  key = v\n", 3, "before the first"),
            ("[default]\n= v\n", 2, "without a key"),
            ("[default\nregion = a\n", 1, "closing"),
            ("[default]\r\nregion = a\r\nbroken\r\n", 3, "neither"),
        ] {
            let e = parse_ini(text, path).unwrap_err();
            assert_eq!((e.path.as_path(), e.line), (path, line), "{text:?}");
            assert!(e.reason.contains(reason), "{text:?}: {e}");
            assert!(e.to_string().contains("/x/credentials, line"), "{e}");
        }
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

    #[test]
    fn shared_files_read_whole_or_refused() {
        let dir = std::env::temp_dir().join(format!("kvs-mkv-shared-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (credentials, config) = (dir.join("credentials"), dir.join("config"));
        let load = || {
            ProfileProvider::new(None)
                .with_files(&credentials, &config)
                .load()
        };
        let refused = |reason: &str| match load() {
            Err(CredentialsError::ProfileFile(e)) => {
                assert_eq!(
                    (e.path.as_path(), e.line, e.reason),
                    (credentials.as_path(), 0, reason)
                );
            }
            other => panic!("{other:?}"),
        };
        // Missing: empty, so no keys (not an error about the file).
        assert!(matches!(load(), Err(CredentialsError::NotFound(_))));
        std::fs::write(&credentials, b"[default]\naws_access_key_id = \xff\n").unwrap();
        refused("it is not UTF-8");
        let mut big = b"[default]\naws_access_key_id = A\naws_secret_access_key = S\n".to_vec();
        big.resize(MAX_SHARED_FILE as usize, b'\n');
        std::fs::write(&credentials, &big).unwrap();
        assert_eq!(load().unwrap().access_key_id, "A");
        big.push(b'\n');
        std::fs::write(&credentials, &big).unwrap();
        refused(TOO_LARGE);
        std::fs::remove_file(&credentials).unwrap();
        std::fs::create_dir(&credentials).unwrap();
        refused("it is a directory");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
