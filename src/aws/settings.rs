//! What the AWS clients are built from (the provider block, parsed), kept apart from the block's
//! schema so the clients know nothing of Terraform values.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Retries (after the first attempt) of every AWS call when `max_retries` is not set.
pub const DEFAULT_MAX_RETRIES: u32 = 25;

/// How the SDK paces the retries of a throttled or failed call (the provider block's `retry_mode`).
///
/// `Standard` is the default, as AWS recommends for every workload: one client of a service
/// serves every resource and API of an apply, and adaptive mode's rate limiter, shared by all of
/// them, lets one throttled API slow every other (measured: 20% of calls throttled paced a whole
/// apply down to about one call per two seconds, many times its fault-free time).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RetryMode {
    /// Exponential backoff with full jitter per call (from 0.5 s, doubling, at most 20 s) within
    /// the SDK's retry quota, and no rate limiter: each call recovers on its own, and a throttled
    /// API never delays calls to the service's other APIs.
    #[default]
    Standard,
    /// Standard's backoff plus the SDK's client-side rate limiter: once AWS throttles a service,
    /// every later call to it is paced, for applies that mostly hit one throttled API.
    Adaptive,
}

impl RetryMode {
    /// The values the `retry_mode` attribute takes, as written in HCL.
    pub const NAMES: [&'static str; 2] = ["standard", "adaptive"];

    /// The mode named `name` (one of [`Self::NAMES`]).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "standard" => Some(Self::Standard),
            "adaptive" => Some(Self::Adaptive),
            _ => None,
        }
    }
}

/// The services whose endpoints can be overridden, as `endpoints` attribute names.
pub const ENDPOINT_SERVICES: [&str; 9] =
    ["ec2", "eks", "elasticache", "iam", "kms", "rds", "s3", "secretsmanager", "sts"];

/// A string that must never be printed: Debug and Display show a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct Sensitive(String);

impl Sensitive {
    /// Wraps a secret so that it cannot be printed by accident.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for handing to the SDK and nowhere else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<sensitive>")
    }
}

/// The `assume_role` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRole {
    /// ARN of the IAM role to assume.
    pub role_arn: String,
    /// The external ID the role's trust policy asks for; `None` when it asks for none.
    pub external_id: Option<Sensitive>,
    /// Session name recorded in CloudTrail; `None` lets the AWS SDK choose one.
    pub session_name: Option<String>,
    /// Lifetime of the assumed-role session; `None` leaves it to STS, which grants one hour.
    pub duration: Option<Duration>,
}

/// The `endpoints` block: per-service URL overrides, `None` meaning the SDK's own resolution
/// (which honours `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoints(BTreeMap<&'static str, String>);

impl Endpoints {
    /// Overrides by service name (names from [`ENDPOINT_SERVICES`]).
    pub fn new(urls: BTreeMap<&'static str, String>) -> Self {
        Self(urls)
    }

    /// The override for `service` (one of [`ENDPOINT_SERVICES`]).
    pub fn get(&self, service: &str) -> Option<&str> {
        self.0.get(service).map(String::as_str)
    }
}

/// What the clients are built from: the provider block, known in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    /// The region to manage; `None` falls back to `AWS_REGION`, `AWS_DEFAULT_REGION`, then the
    /// selected profile's region.
    pub region: Option<String>,
    /// Named profile in the shared config and credentials files; `None` means `AWS_PROFILE`, then
    /// `default`.
    pub profile: Option<String>,
    /// A role to assume with the base credentials before any other call; `None` uses them as they are.
    pub assume_role: Option<AssumeRole>,
    /// Per-service endpoint URL overrides.
    pub endpoints: Endpoints,
    /// Tags put on every taggable object the provider creates; a resource's own tags win on the
    /// same key.
    pub default_tags: BTreeMap<String, String>,
    /// Retries after the first attempt of each AWS call ([`DEFAULT_MAX_RETRIES`] when not
    /// configured; 0 disables retrying).
    pub max_retries: u32,
    /// How those retries are paced.
    pub retry_mode: RetryMode,
}
