//! The configured provider's AWS clients, built once per `ConfigureProvider` and shared by every
//! resource operation.
//!
//! Every call goes through the SDK's retry layer set up here: adaptive mode (exponential backoff
//! with jitter, plus client-side rate limiting once AWS starts throttling) for throttling, 5xx
//! responses and transient network errors, `max_retries` retries after the first attempt, and
//! connect/read timeouts so a dead endpoint fails instead of hanging a plan.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;

use super::config::{Endpoints, ProviderConfig};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_secs(60);
const INITIAL_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(20);

/// Why the clients could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigureError {
    #[error(
        "no AWS region is configured: set `region` in the provider block, or AWS_REGION / AWS_DEFAULT_REGION, or a region in the selected profile"
    )]
    NoRegion,
}

/// AWS clients and provider-wide settings handed to every resource.
#[derive(Clone)]
pub struct AwsClients {
    ec2: aws_sdk_ec2::Client,
    region: String,
    default_tags: BTreeMap<String, String>,
    sdk_config: SdkConfig,
    endpoints: Endpoints,
}

impl AwsClients {
    /// Resolves region and credentials (standard chain, optionally through `assume_role`) and
    /// builds the clients. Makes no AWS call: credentials are fetched on first use.
    pub async fn new(config: &ProviderConfig) -> Result<Self, ConfigureError> {
        let retries = RetryConfig::adaptive()
            .with_max_attempts(config.max_retries.saturating_add(1))
            .with_initial_backoff(INITIAL_BACKOFF)
            .with_max_backoff(MAX_BACKOFF);
        let timeouts = TimeoutConfig::builder().connect_timeout(CONNECT_TIMEOUT).read_timeout(READ_TIMEOUT).build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).retry_config(retries).timeout_config(timeouts);
        if let Some(region) = explicit_region(config) {
            loader = loader.region(Region::new(region));
        }
        if let Some(profile) = &config.profile {
            loader = loader.profile_name(profile);
        }
        let mut sdk_config = loader.load().await;
        let region = sdk_config.region().map(ToString::to_string).ok_or(ConfigureError::NoRegion)?;

        if let Some(role) = &config.assume_role {
            let sts_config = match config.endpoints.get("sts") {
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

        let mut ec2_config = aws_sdk_ec2::config::Builder::from(&sdk_config);
        if let Some(url) = config.endpoints.get("ec2") {
            ec2_config = ec2_config.endpoint_url(url);
        }
        tracing::debug!(region = %region, max_retries = config.max_retries, "AWS clients configured");
        Ok(Self {
            ec2: aws_sdk_ec2::Client::from_conf(ec2_config.build()),
            region,
            default_tags: config.default_tags.clone(),
            sdk_config,
            endpoints: config.endpoints.clone(),
        })
    }

    /// Clients around an already built EC2 client, for tests against an emulator (the acceptance
    /// tests pass one with a call-counting interceptor). The other services' clients get only the
    /// region (no endpoint, no credentials), so this suits `retool_network` alone.
    pub fn from_ec2(ec2: aws_sdk_ec2::Client, region: &str, default_tags: BTreeMap<String, String>) -> Self {
        let sdk_config = SdkConfig::builder().region(Region::new(region.to_owned())).build();
        Self { ec2, region: region.to_owned(), default_tags, sdk_config, endpoints: Endpoints::default() }
    }

    pub fn ec2(&self) -> &aws_sdk_ec2::Client {
        &self.ec2
    }

    /// The region every client works in.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The provider's `default_tags`.
    pub fn default_tags(&self) -> &BTreeMap<String, String> {
        &self.default_tags
    }

    /// Shared SDK settings (region, credentials, retries, timeouts) for building further clients.
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.sdk_config
    }

    /// Endpoint overrides from the `endpoints` block, for building further clients.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// An EKS client (endpoint override `eks`).
    pub fn eks(&self) -> aws_sdk_eks::Client {
        let mut config = aws_sdk_eks::config::Builder::from(&self.sdk_config);
        if let Some(url) = self.endpoints.get("eks") {
            config = config.endpoint_url(url);
        }
        aws_sdk_eks::Client::from_conf(config.build())
    }

    /// An RDS client (endpoint override `rds`).
    pub fn rds(&self) -> aws_sdk_rds::Client {
        let mut config = aws_sdk_rds::config::Builder::from(&self.sdk_config);
        if let Some(url) = self.endpoints.get("rds") {
            config = config.endpoint_url(url);
        }
        aws_sdk_rds::Client::from_conf(config.build())
    }

    /// An ElastiCache client (endpoint override `elasticache`).
    pub fn elasticache(&self) -> aws_sdk_elasticache::Client {
        let mut config = aws_sdk_elasticache::config::Builder::from(&self.sdk_config);
        if let Some(url) = self.endpoints.get("elasticache") {
            config = config.endpoint_url(url);
        }
        aws_sdk_elasticache::Client::from_conf(config.build())
    }

    /// A KMS client (endpoint override `kms`).
    pub fn kms(&self) -> aws_sdk_kms::Client {
        let mut config = aws_sdk_kms::config::Builder::from(&self.sdk_config);
        if let Some(url) = self.endpoints.get("kms") {
            config = config.endpoint_url(url);
        }
        aws_sdk_kms::Client::from_conf(config.build())
    }

    /// A Secrets Manager client (endpoint override `secretsmanager`).
    pub fn secrets_manager(&self) -> aws_sdk_secretsmanager::Client {
        let mut config = aws_sdk_secretsmanager::config::Builder::from(&self.sdk_config);
        if let Some(url) = self.endpoints.get("secretsmanager") {
            config = config.endpoint_url(url);
        }
        aws_sdk_secretsmanager::Client::from_conf(config.build())
    }

    /// An IAM client (endpoint override `iam`).
    pub fn iam(&self) -> aws_sdk_iam::Client {
        let mut config = aws_sdk_iam::config::Builder::from(&self.sdk_config);
        if let Some(url) = self.endpoints.get("iam") {
            config = config.endpoint_url(url);
        }
        aws_sdk_iam::Client::from_conf(config.build())
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
fn explicit_region(config: &ProviderConfig) -> Option<String> {
    config.region.clone().or_else(|| {
        ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .into_iter()
            .find_map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
    })
}
