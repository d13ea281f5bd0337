//! The configured provider's AWS clients, built once per `ConfigureProvider` and shared by every
//! resource operation (one client per service, never rebuilt per call).
//!
//! Every call goes through the SDK's retry layer set up here: throttling, 5xx responses and
//! transient network errors are retried `max_retries` times after the first attempt with
//! exponential backoff and jitter (plus client-side rate limiting once AWS throttles, unless
//! `retry_mode = "standard"`), and connect/read timeouts make a dead endpoint fail instead of
//! hanging a plan.

use crate::aws::During;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;

use aws_smithy_runtime_api::client::http::SharedHttpClient;
use tokio::sync::OnceCell;

use super::call_log::CallLog;
use super::settings::{AwsSettings, Endpoints, RetryMode};
use crate::error::Error;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_secs(60);
const INITIAL_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(20);

/// Why the clients could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigureError {
    /// Neither configuration, environment nor profile names a region.
    #[error(
        "no AWS region is configured: set `region` in the provider block, or AWS_REGION / AWS_DEFAULT_REGION, or a region in the selected profile"
    )]
    NoRegion,
}

/// AWS clients and provider-wide settings handed to every resource: one client per service,
/// built once per configured provider and shared (a client is a cheap handle onto one connection
/// pool and one retry/rate-limit state per service).
#[derive(Clone)]
pub struct AwsClients {
    ec2: aws_sdk_ec2::Client,
    eks: aws_sdk_eks::Client,
    rds: aws_sdk_rds::Client,
    elasticache: aws_sdk_elasticache::Client,
    kms: aws_sdk_kms::Client,
    secrets_manager: aws_sdk_secretsmanager::Client,
    iam: aws_sdk_iam::Client,
    sts: aws_sdk_sts::Client,
    s3: aws_sdk_s3::Client,
    region: String,
    default_tags: BTreeMap<String, String>,
    identity: Arc<OnceCell<CallerIdentity>>,
    /// The credentials the clients sign with, for the presigned calls no client makes (the EKS
    /// cluster token).
    credentials: Option<SharedCredentialsProvider>,
    /// STS's endpoint as configured (the `endpoints` override), else the region's.
    sts_url: String,
    /// The `endpoints` block, for the endpoints no AWS client takes (the clusters' API).
    endpoints: Endpoints,
}

/// Builds a service's client from the shared settings over the shared connection pool (with the
/// service's own bound on requests in flight), with the `endpoints` override if any, logging
/// each call ([`CallLog`]).
macro_rules! service_client {
    ($sdk:ident, $config:expr, $pool:expr, $endpoints:expr, $name:literal) => {{
        let mut builder =
            $sdk::config::Builder::from($config).http_client(crate::aws::http::bounded(&$pool)).interceptor(CallLog);
        if let Some(url) = $endpoints.get($name) {
            builder = builder.endpoint_url(url);
        }
        $sdk::Client::from_conf(builder.build())
    }};
}

/// S3's client: as every other, plus path-style addressing when the endpoint is custom — an
/// emulator or a private endpoint serves `host/bucket`, not the `bucket.host` virtual hosts AWS
/// resolves.
fn s3_client(config: &SdkConfig, pool: &SharedHttpClient, endpoints: &Endpoints) -> aws_sdk_s3::Client {
    let mut builder =
        aws_sdk_s3::config::Builder::from(config).http_client(crate::aws::http::bounded(pool)).interceptor(CallLog);
    if let Some(url) = endpoints.get("s3") {
        builder = builder.endpoint_url(url);
    }
    let custom_endpoint = endpoints.get("s3").is_some() || config.endpoint_url().is_some();
    aws_sdk_s3::Client::from_conf(builder.force_path_style(custom_endpoint).build())
}

/// The configuration override that makes one EC2 call a single attempt (every other setting of
/// the client stays): for creates sent through [`create_once`](super::wait::create_once), which
/// must not be repeated blind.
pub fn single_attempt() -> aws_sdk_ec2::config::Builder {
    aws_sdk_ec2::config::Builder::default().retry_config(RetryConfig::disabled())
}

impl AwsClients {
    /// Resolves region and credentials (standard chain, optionally through `assume_role`) and
    /// builds the clients. Makes no AWS call: credentials are fetched on first use.
    pub async fn new(settings: &AwsSettings) -> Result<Self, ConfigureError> {
        let retries = match settings.retry_mode {
            RetryMode::Standard => RetryConfig::standard(),
            RetryMode::Adaptive => RetryConfig::adaptive(),
        }
        .with_max_attempts(settings.max_retries.saturating_add(1))
        .with_initial_backoff(INITIAL_BACKOFF)
        .with_max_backoff(MAX_BACKOFF);
        let timeouts = TimeoutConfig::builder().connect_timeout(CONNECT_TIMEOUT).read_timeout(READ_TIMEOUT).build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).retry_config(retries).timeout_config(timeouts);
        if let Some(region) = explicit_region(settings) {
            loader = loader.region(Region::new(region));
        }
        if let Some(profile) = &settings.profile {
            loader = loader.profile_name(profile);
        }
        let mut sdk_config = loader.load().await;
        let region = sdk_config.region().map(ToString::to_string).ok_or(ConfigureError::NoRegion)?;

        if let Some(role) = &settings.assume_role {
            let sts_config = match settings.endpoints.get("sts") {
                Some(url) => sdk_config.to_builder().endpoint_url(url).build(),
                None => sdk_config.clone(),
            };
            let mut builder = AssumeRoleProvider::builder(role.role_arn.clone()).configure(&sts_config);
            if let Some(external_id) = &role.external_id {
                builder = builder.external_id(external_id.expose());
            }
            if let Some(session_name) = &role.session_name {
                builder = builder.session_name(session_name.clone());
            }
            if let Some(duration) = role.duration {
                builder = builder.session_length(duration);
            }
            let provider = builder.build().await;
            sdk_config = sdk_config.to_builder().credentials_provider(SharedCredentialsProvider::new(provider)).build();
            tracing::debug!(role_arn = %role.role_arn, "credentials will come from assuming a role");
        }
        tracing::debug!(region = %region, max_retries = settings.max_retries, "AWS clients configured");
        Ok(Self::from_sdk_config(&sdk_config, &settings.endpoints, region, settings.default_tags.clone()))
    }

    /// Clients for every service from resolved SDK settings.
    fn from_sdk_config(
        config: &SdkConfig,
        endpoints: &Endpoints,
        region: String,
        default_tags: BTreeMap<String, String>,
    ) -> Self {
        let pool = crate::aws::http::pool();
        let sts_url = endpoints
            .get("sts")
            .map(str::to_owned)
            .or_else(|| config.endpoint_url().map(str::to_owned))
            .unwrap_or_else(|| format!("https://sts.{region}.amazonaws.com/"));
        Self {
            ec2: service_client!(aws_sdk_ec2, config, pool, endpoints, "ec2"),
            eks: service_client!(aws_sdk_eks, config, pool, endpoints, "eks"),
            rds: service_client!(aws_sdk_rds, config, pool, endpoints, "rds"),
            elasticache: service_client!(aws_sdk_elasticache, config, pool, endpoints, "elasticache"),
            kms: service_client!(aws_sdk_kms, config, pool, endpoints, "kms"),
            secrets_manager: service_client!(aws_sdk_secretsmanager, config, pool, endpoints, "secretsmanager"),
            iam: service_client!(aws_sdk_iam, config, pool, endpoints, "iam"),
            sts: service_client!(aws_sdk_sts, config, pool, endpoints, "sts"),
            s3: s3_client(config, &pool, endpoints),
            region,
            default_tags,
            identity: Arc::new(OnceCell::new()),
            credentials: config.credentials_provider(),
            sts_url,
            endpoints: endpoints.clone(),
        }
    }

    /// Clients for an emulator at `endpoint` with static test credentials (tests and tools).
    pub fn for_endpoint(endpoint: &str, region: &str, default_tags: BTreeMap<String, String>) -> Self {
        let config = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .endpoint_url(endpoint)
            .credentials_provider(SharedCredentialsProvider::new(aws_credential_types::Credentials::new(
                "test",
                "test",
                None,
                None,
                "static test credentials",
            )))
            .build();
        Self::from_sdk_config(&config, &Endpoints::default(), region.to_owned(), default_tags)
    }

    /// The credentials the clients sign with; `None` when none could be resolved.
    pub fn credentials(&self) -> Option<&SharedCredentialsProvider> {
        self.credentials.as_ref()
    }

    /// The `endpoints` override named `name`, if configured.
    pub fn endpoint(&self, name: &str) -> Option<&str> {
        self.endpoints.get(name)
    }

    /// The STS endpoint the provider's identity is checked at (and EKS tokens are presigned for).
    pub fn sts_url(&self) -> &str {
        &self.sts_url
    }

    /// The same clients with another EC2 client (tests that observe the calls a resource makes).
    pub fn with_ec2(mut self, ec2: aws_sdk_ec2::Client) -> Self {
        self.ec2 = ec2;
        self
    }

    /// EC2 (the network, security groups, node instance types).
    pub fn ec2(&self) -> &aws_sdk_ec2::Client {
        &self.ec2
    }

    /// EKS (endpoint override `eks`).
    pub fn eks(&self) -> &aws_sdk_eks::Client {
        &self.eks
    }

    /// RDS (endpoint override `rds`).
    pub fn rds(&self) -> &aws_sdk_rds::Client {
        &self.rds
    }

    /// ElastiCache (endpoint override `elasticache`).
    pub fn elasticache(&self) -> &aws_sdk_elasticache::Client {
        &self.elasticache
    }

    /// KMS (endpoint override `kms`).
    pub fn kms(&self) -> &aws_sdk_kms::Client {
        &self.kms
    }

    /// Secrets Manager (endpoint override `secretsmanager`).
    pub fn secrets_manager(&self) -> &aws_sdk_secretsmanager::Client {
        &self.secrets_manager
    }

    /// S3 (endpoint override `s3`, path-style when overridden).
    pub fn s3(&self) -> &aws_sdk_s3::Client {
        &self.s3
    }

    /// IAM (endpoint override `iam`).
    pub fn iam(&self) -> &aws_sdk_iam::Client {
        &self.iam
    }

    /// The region every client works in.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The provider's `default_tags`.
    pub fn default_tags(&self) -> &BTreeMap<String, String> {
        &self.default_tags
    }

    /// The account, partition and principal of the provider's credentials, from STS
    /// GetCallerIdentity — asked once per configured provider, never guessed from the region
    /// (an `aws-cn` or `aws-us-gov` region is not the only way to be in another partition, and
    /// a new region's partition is not knowable from its name).
    pub async fn identity(&self) -> Result<&CallerIdentity, Error> {
        self.identity
            .get_or_try_init(|| async {
                let answer = self.sts.get_caller_identity().send().await.during("GetCallerIdentity")?;
                let arn = answer.arn().ok_or(Error::missing("GetCallerIdentity", "Arn"))?;
                CallerIdentity::from_arn(arn).ok_or_else(|| {
                    Error::unexpected(
                        "GetCallerIdentity",
                        format!("the caller ARN {arn} names no partition and account"),
                    )
                })
            })
            .await
    }
}

/// Who the provider acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// `aws`, `aws-cn`, `aws-us-gov`, …
    pub partition: String,
    /// The 12-digit account id.
    pub account_id: String,
    /// The caller's ARN (a user, or an assumed-role session).
    pub arn: String,
}

impl CallerIdentity {
    /// Partition and account from an ARN such as `arn:aws:sts::111122223333:assumed-role/x/y`.
    pub fn from_arn(arn: &str) -> Option<Self> {
        let mut parts = arn.splitn(6, ':');
        let (Some("arn"), Some(partition), Some(_), Some(_), Some(account_id)) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let valid = !partition.is_empty() && account_id.len() == 12 && account_id.bytes().all(|b| b.is_ascii_digit());
        valid.then(|| Self { partition: partition.to_owned(), account_id: account_id.to_owned(), arn: arn.to_owned() })
    }
}

/// Shows the settings, never the credentials (which may come from an `external_id` role).
impl std::fmt::Debug for AwsClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsClients")
            .field("region", &self.region)
            .field("default_tags", &self.default_tags)
            .finish_non_exhaustive()
    }
}

/// The region set in configuration or, as the provider documents, in `AWS_REGION` or
/// `AWS_DEFAULT_REGION` (the SDK itself does not read the latter); `None` leaves it to the
/// profile.
fn explicit_region(settings: &AwsSettings) -> Option<String> {
    settings.region.clone().or_else(|| {
        ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .into_iter()
            .find_map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_and_account_come_from_the_caller_arn() {
        let china = CallerIdentity::from_arn("arn:aws-cn:sts::111122223333:assumed-role/deployer/ci").unwrap();
        assert_eq!((china.partition.as_str(), china.account_id.as_str()), ("aws-cn", "111122223333"));
        let gov = CallerIdentity::from_arn("arn:aws-us-gov:iam::444455556666:user/ops").unwrap();
        assert_eq!(gov.partition, "aws-us-gov");
        for bad in ["", "arn:aws:sts::12345:user/x", "arn::sts::111122223333:user/x", "not-an-arn"] {
            assert_eq!(CallerIdentity::from_arn(bad), None, "{bad}");
        }
    }

    /// The identity is STS's answer, asked once: an `aws-cn` caller in a region name that says
    /// nothing of it is still in `aws-cn`.
    #[tokio::test]
    async fn identity_is_asked_of_sts_once() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let mut answered = 0;
            while let Ok(Ok((mut socket, _))) =
                tokio::time::timeout(std::time::Duration::from_millis(500), listener.accept()).await
            {
                let mut request = vec![0; 16 * 1024];
                let _ = socket.read(&mut request).await;
                let body = "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
                    <GetCallerIdentityResult><Arn>arn:aws-cn:sts::111122223333:assumed-role/deployer/ci</Arn>\
                    <UserId>AROA:ci</UserId><Account>111122223333</Account></GetCallerIdentityResult>\
                    <ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>";
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                socket.write_all(response.as_bytes()).await.unwrap();
                answered += 1;
            }
            answered
        });
        let clients = AwsClients::for_endpoint(&endpoint, "us-east-1", BTreeMap::new());
        let identity = clients.identity().await.unwrap().clone();
        assert_eq!((identity.partition.as_str(), identity.account_id.as_str()), ("aws-cn", "111122223333"));
        assert_eq!(clients.clone().identity().await.unwrap(), &identity);
        assert_eq!(server.await.unwrap(), 1, "one GetCallerIdentity per configured provider");
    }
}
