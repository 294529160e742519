//! The AWS SDK's own credential and region providers behind the client
//! (feature `aws-config`): the default chain of the AWS CLI, not written
//! again here.
//!
//! [`ClientConfig::from_aws_config`] loads the SDK's configuration the way
//! the AWS CLI does, and [`AwsSdkCredentials`] adapts any SDK credentials
//! provider. The SDK's default chain covers, in its order: the environment
//! (`AWS_ACCESS_KEY_ID`...), the shared files' profiles (`[profile x]` in
//! the config file included) with `role_arn` / `source_profile` /
//! `credential_source` role assumption, `credential_process` and IAM
//! Identity Center (SSO); web identity (`AWS_WEB_IDENTITY_TOKEN_FILE`, EKS
//! IAM roles for service accounts); ECS and EKS container credentials
//! (`AWS_CONTAINER_CREDENTIALS_FULL_URI` / `_RELATIVE_URI`, EKS Pod
//! Identity); and EC2 instance profiles over IMDSv2. `aws login` sessions
//! (the SDK's `credentials-login` feature) are not enabled.
//!
//! The SDK's calls (STS, SSO, the container and instance endpoints) go
//! through the SDK's hyper client with rustls on ring (the crypto the
//! client already uses), trusting the platform's root certificates.
//! The SDK's providers are not cached by the SDK here: the client's
//! [`CredentialsCache`](super::CredentialsCache) is the one cache.

use std::sync::Arc;

use aws_credential_types::provider::error::CredentialsError as SdkError;
use aws_credential_types::provider::ProvideCredentials as _;

use super::credentials::{CredentialsError, ProfileProvider, ProvideCredentials, ProvideFuture};
use super::{ClientConfig, ClientError, ConfigError};
use crate::sigv4::Credentials;

/// An AWS SDK credentials provider (`aws_credential_types`), as the
/// client's [`ProvideCredentials`].
///
/// ```no_run
/// # async fn run() -> Result<(), kvs_mkv::client::ClientError> {
/// use kvs_mkv::client::{AwsSdkCredentials, ClientConfig};
///
/// let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let provider = sdk.credentials_provider().expect("a credentials provider");
/// let config = ClientConfig::with_credentials_provider("us-west-2", AwsSdkCredentials::new(provider));
/// # let _ = config; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AwsSdkCredentials {
    provider: aws_credential_types::provider::SharedCredentialsProvider,
}

impl AwsSdkCredentials {
    /// Adapts `provider`.
    pub fn new(
        provider: impl aws_credential_types::provider::ProvideCredentials + 'static,
    ) -> Self {
        AwsSdkCredentials {
            provider: aws_credential_types::provider::SharedCredentialsProvider::new(provider),
        }
    }
}

impl ProvideCredentials for AwsSdkCredentials {
    fn provide(&self) -> ProvideFuture<'_> {
        Box::pin(async move {
            let c = self
                .provider
                .provide_credentials()
                .await
                .map_err(from_sdk)?;
            let mut credentials = Credentials::new(c.access_key_id(), c.secret_access_key());
            if let Some(token) = c.session_token() {
                credentials = credentials.with_session_token(token);
            }
            if let Some(expiry) = c.expiry() {
                credentials = credentials.with_expiry(expiry);
            }
            Ok(credentials)
        })
    }
}

/// The SDK's error with its causes, as one line.
fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

/// What the SDK's error says when a shared file is not in the files'
/// format (`aws_runtime`'s `EnvConfigFileLoadError::ParseError`).
const SDK_PARSE_FAILURE: &str = "could not parse profile file";

fn from_sdk(e: SdkError) -> CredentialsError {
    let message = with_causes(&e);
    match e {
        SdkError::CredentialsNotLoaded(_) => {
            CredentialsError::NotFound(format!("the AWS SDK's providers found none: {message}"))
        }
        SdkError::ProviderTimedOut(t) => CredentialsError::Timeout(t.timeout_duration()),
        SdkError::InvalidConfiguration(_) => {
            // The SDK's profile provider says only "could not parse profile
            // file" (the path and line go to a logged warning): read the
            // files as it does and say where. Only then: a configuration
            // the SDK refuses for another reason (a `role_arn` without a
            // source...) is not a line's fault, even when the built-in
            // parser, stricter on some lines, would refuse one.
            let problem = message
                .contains(SDK_PARSE_FAILURE)
                .then(|| ProfileProvider::new(None).parse_problem())
                .flatten();
            match problem {
                Some(problem) => {
                    CredentialsError::Invalid(format!("{problem} (the AWS SDK: {message})"))
                }
                None => CredentialsError::Invalid(message),
            }
        }
        other => {
            // A provider error may pass (a 503 from STS, an endpoint that
            // is restarting); an unhandled one (an answer that makes no
            // sense) will not.
            let retryable = matches!(other, SdkError::ProviderError(_));
            CredentialsError::Provider {
                provider: "aws-config".into(),
                message,
                retryable,
                source: Some(Arc::new(other)),
            }
        }
    }
}

impl ClientConfig {
    /// Region and credentials as the AWS CLI finds them: the AWS SDK's
    /// default chains (`aws_config::defaults`), with an optional explicit
    /// profile (else `AWS_PROFILE`, else `default`) and region (else
    /// `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's, IMDS). Fetches no
    /// credentials yet: the first call does (see the
    /// [module docs](crate::client) for the sources covered).
    ///
    /// A profile named here must have a section in the shared config or
    /// credentials file ([`ClientError::Config`] otherwise): the SDK's
    /// chain would pass over it and find other keys. A shared file that is
    /// not in the files' format, when a profile is named or no region is
    /// found, is [`ConfigError::ProfileFile`] naming the file and the line
    /// (the SDK only logs a warning and goes on without the file); when the
    /// region is found elsewhere and the SDK's credentials chain then fails
    /// on the file, the first call's [`CredentialsError::Invalid`] names
    /// them.
    ///
    /// [`CredentialsError::Invalid`]: super::CredentialsError::Invalid
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), kvs_mkv::client::ClientError> {
    /// use kvs_mkv::client::{Client, ClientConfig};
    /// let config = ClientConfig::from_aws_config(Some("camera-team"), None).await?;
    /// let client = Client::new(config)?;
    /// # let _ = client; Ok(()) }
    /// ```
    pub async fn from_aws_config(
        profile: Option<&str>,
        region: Option<&str>,
    ) -> Result<ClientConfig, ClientError> {
        use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
        // The SDK's providers call STS, SSO and the container and instance
        // endpoints with hyper and rustls on ring.
        let https = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        // The SDK reads the shared files whole, however large: one that
        // never ends (`/dev/zero`) is refused here first.
        ProfileProvider::new(profile)
            .check_size()
            .map_err(ConfigError::from)?;
        let mut loader =
            aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(https);
        if let Some(profile) = profile {
            // The SDK's chain passes over a profile that is not there and
            // goes on to other sources (the instance's role, say): a name
            // given explicitly must exist.
            // The files as the SDK reads them: one it cannot read or parse
            // is an empty one to it, so a profile in the other is used
            // (`--profile cam` with ~/.aws/credentials unreadable and cam
            // in ~/.aws/config worked, as with AWS_PROFILE=cam). The error
            // is given only when the profile is then not found.
            let (files, problem) = super::ProfileProvider::new(Some(profile)).files_as_sdk();
            if !files.has_profile(profile) {
                return Err(match problem {
                    Some(e) => ConfigError::from(e),
                    None => ConfigError::NoProfile {
                        profile: profile.to_string(),
                        files: files.describe(),
                    },
                }
                .into());
            }
            loader = loader.profile_name(profile);
        }
        if let Some(region) = region {
            loader = loader.region(aws_config::Region::new(region.to_string()));
        }
        let sdk = loader.load().await;
        if sdk.region().is_none() {
            // The SDK takes a shared file it cannot parse for no file (it
            // logs a warning): the region in it is then "not there". Say
            // what is wrong with the file instead, read as the SDK reads it.
            ProfileProvider::new(profile)
                .files()
                .map_err(ConfigError::from)?;
        }
        ClientConfig::from_sdk_config(&sdk)
    }

    /// The region and credentials provider of an AWS SDK configuration
    /// (`aws_config::SdkConfig`), for services that already load one.
    pub fn from_sdk_config(sdk: &aws_config::SdkConfig) -> Result<ClientConfig, ClientError> {
        let region = sdk.region().ok_or(ConfigError::NoSdkRegion)?;
        let provider = sdk.credentials_provider().ok_or_else(|| {
            CredentialsError::NotFound(
                "the AWS SDK configuration has no credentials provider".into(),
            )
        })?;
        Ok(ClientConfig::with_credentials_provider(
            region.as_ref(),
            AwsSdkCredentials::new(provider),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    #[tokio::test]
    async fn sdk_credentials_keep_token_and_expiry() {
        let expiry = SystemTime::now() + Duration::from_secs(900);
        let sdk = aws_credential_types::Credentials::new(
            "ASIASDK",
            "sdk-secret",
            Some("sdk-token".into()),
            Some(expiry),
            "test",
        );
        let got = AwsSdkCredentials::new(sdk).provide().await.unwrap();
        assert_eq!(got.access_key_id, "ASIASDK");
        assert_eq!(got.secret_access_key, "sdk-secret");
        assert_eq!(got.session_token.as_deref(), Some("sdk-token"));
        assert_eq!(got.expires_at, Some(expiry));
    }

    #[test]
    fn sdk_errors_keep_their_kind_and_causes() {
        let e = from_sdk(SdkError::provider_error("STS answered 503"));
        assert!(e.is_retryable());
        assert!(e.to_string().contains("STS answered 503"), "{e}");
        assert!(std::error::Error::source(&e).is_some());
        assert!(matches!(
            from_sdk(SdkError::not_loaded_no_source()),
            CredentialsError::NotFound(_)
        ));
        assert!(matches!(
            from_sdk(SdkError::provider_timed_out(Duration::from_secs(5))),
            CredentialsError::Timeout(_)
        ));
        assert!(!from_sdk(SdkError::unhandled("garbage")).is_retryable());
    }
}
