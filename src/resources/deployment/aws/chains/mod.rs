//! The deployment's chains: groups of objects that are created in order among themselves and
//! independently of the other groups — the KMS key, the cluster (roles → cluster → OIDC
//! provider → node group), the databases, the cache (with Retool RPC's Redis, which shares its
//! subnet group), the generated secrets, the External Secrets Operator's role, and Retool
//! Storage. Each is one [`Chain`]: it observes its objects, ensures them, removes
//! them and says how they drift, so a new part of the deployment is one new file here (plus its
//! field in [`Observed`] and its line in [`super::observe`], [`super::converge`] and
//! [`super::destroy`]).

pub mod cache;
pub mod cluster;
pub mod database;
pub mod key;
pub mod secrets;
pub mod secrets_operator;
pub mod storage;

use async_trait::async_trait;

use super::{Notes, Patience};
use crate::aws::AwsClients;
use crate::error::Error;
use crate::resources::deployment::desired::Desired;
use crate::resources::deployment::drift::Finding;
use crate::resources::deployment::model::Operation;
use crate::resources::deployment::names::Names;
use crate::resources::deployment::observed::{NetworkView, Observed};
use crate::stop::StopSignal;

pub use cache::CacheChain;
pub use cluster::ClusterChain;
pub use database::DatabaseChain;
pub use key::KeyChain;
pub use secrets::SecretsChain;
pub use secrets_operator::SecretsOperatorChain;
pub use storage::StorageChain;

/// What an observation looks for: the deployment's names, its network and, when known, the
/// configured parameter group (import knows only the name), and whether the cache's member
/// cluster is read (only while its engine version or maintenance window is configured).
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub names: &'a Names,
    pub network_id: &'a str,
    pub parameter_group: Option<&'a str>,
    pub cache_member: bool,
    /// The Retool Storage bucket, while storage is enabled (else it is not observed).
    pub storage_bucket: Option<&'a str>,
    /// Terraform's stop request, which ends the retries of an unanswered cluster API.
    pub stop: &'a crate::stop::StopSignal,
}

/// What converge and destroy work with.
pub struct Context<'a> {
    pub clients: &'a AwsClients,
    pub desired: &'a Desired,
    pub operation: Operation,
    pub stop: &'a StopSignal,
    /// What the chains report to the person running the apply.
    pub notes: Notes,
}

impl Context<'_> {
    /// How long the cluster's steps may wait in this operation, and the stop request.
    pub fn eks_patience(&self) -> Patience<'_> {
        Patience { timeout: self.desired.eks_budget(self.operation), stop: self.stop }
    }

    /// How long the databases' and the cache's steps may wait in this operation, and the stop
    /// request.
    pub fn rds_patience(&self) -> Patience<'_> {
        Patience { timeout: self.desired.rds_budget(self.operation), stop: self.stop }
    }
}

/// The cluster's OIDC provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Oidc {
    pub provider_arn: String,
    pub issuer_url: String,
}

/// What the chains that ran before hand to the next ones, filled as converge goes.
#[derive(Debug, Clone)]
pub struct Upstream {
    pub network: NetworkView,
    /// The deployment's KMS key.
    pub key_arn: String,
    /// The security group EKS made for the cluster, once it exists.
    pub eks_security_group: Option<String>,
    /// The cluster's OIDC provider, once the cluster chain made it.
    pub oidc: Option<Oidc>,
    /// RDS's master user secrets, once the database chain made the instances.
    pub master_secrets: Vec<String>,
}

/// One chain of the deployment.
#[async_trait]
pub trait Chain {
    /// What [`Chain::observe`] reads: the chain's field of [`Observed`].
    type Seen: Send;
    /// What [`Chain::ensure`] hands to the chains after it.
    type Made: Send;

    /// Reads the chain's objects (by name, with their tags).
    async fn observe(clients: &AwsClients, target: Target<'_>) -> Result<Self::Seen, Error>;

    /// Creates what is missing and changes what differs.
    async fn ensure(cx: &Context<'_>, upstream: &Upstream) -> Result<Self::Made, Error>;

    /// Deletes the chain's objects; returns warnings about what was left behind on purpose.
    async fn remove(cx: &Context<'_>) -> Result<Vec<String>, Error>;

    /// How the chain's objects differ from what is desired (pure).
    fn drift(desired: &Desired, observed: &Observed) -> Vec<Finding>;
}
