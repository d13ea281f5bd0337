//! What exists of a deployment, as plain data: every object the deployment names, read by
//! [`super::aws::observe`] and free of SDK types, so drift, outputs, ownership and import are
//! decided (and tested) without AWS.

use std::collections::BTreeMap;

use super::desired::DbInstance;
use super::model::{CacheSettings, ClusterSettings, Difference, InstanceSettings, Scaling, engine_difference};
use super::names::{self, Names};
use super::owner::{NotOurs, Owner};
use crate::aws::Tags;
pub use crate::aws::iam::role::RoleState;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyState {
    pub arn: String,
    pub key_id: String,
    pub enabled: bool,
    pub pending_deletion: bool,
    pub rotation: bool,
    /// The key's tags (its ownership mark among them).
    pub tags: BTreeMap<String, String>,
}

/// The cluster as EKS reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterState {
    pub name: String,
    pub arn: String,
    pub tags: BTreeMap<String, String>,
    pub status: String,
    pub settings: ClusterSettings,
    pub endpoint: Option<String>,
    pub certificate_authority: Option<String>,
    pub oidc_issuer: Option<String>,
    /// The security group EKS creates for the cluster (`clusterSecurityGroupId`); managed node
    /// groups without a launch template run in it, so it is what the databases must admit.
    pub eks_security_group_id: Option<String>,
    pub encryption_key_arn: Option<String>,
}

/// A managed node group as EKS reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeGroupState {
    pub name: String,
    pub arn: String,
    pub tags: BTreeMap<String, String>,
    pub status: String,
    pub instance_types: Vec<String>,
    pub scaling: Scaling,
    /// The Kubernetes minor version its nodes run.
    pub version: String,
}

/// An EKS add-on as EKS reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AddonState {
    pub name: String,
    pub arn: String,
    pub tags: BTreeMap<String, String>,
    pub status: String,
    pub version: String,
}

impl AddonState {
    /// The Kubernetes minor version the add-on was last brought to the default version of
    /// (its [`ADDONS_FOR_TAG`](super::names::ADDONS_FOR_TAG)); `None` when never.
    pub fn upgraded_for(&self) -> Option<&str> {
        self.tags.get(super::names::ADDONS_FOR_TAG).map(String::as_str)
    }
}

/// An instance as AWS reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InstanceState {
    pub identifier: String,
    pub arn: String,
    pub tags: BTreeMap<String, String>,
    pub status: String,
    pub settings: InstanceSettings,
    /// The engine version RDS holds in `PendingModifiedValues` for the maintenance window.
    pub pending_engine_version: Option<String>,
    pub storage_encrypted: Option<bool>,
    pub kms_key_id: Option<String>,
    pub ca_certificate: Option<String>,
    pub parameter_group: Option<String>,
    pub subnet_group: Option<String>,
    pub security_group_ids: Vec<String>,
    pub endpoint: Option<String>,
    pub master_user_secret_arn: Option<String>,
}

impl InstanceState {
    /// What differs from `spec` among the settings this resource manages in place (and the
    /// parameter group, which a major upgrade changes).
    pub fn differences(&self, spec: &DbInstance) -> Vec<Difference> {
        self.differences_from(&spec.settings, Some(&spec.parameter_group))
    }

    /// [`Self::differences`] from `settings` and, when known, `parameter_group`.
    pub fn differences_from(&self, settings: &InstanceSettings, parameter_group: Option<&str>) -> Vec<Difference> {
        let mut found = self.settings.differences(settings);
        found.extend(engine_difference(
            &self.settings.engine_version,
            self.pending_engine_version.as_deref(),
            &settings.engine_version,
        ));
        if let Some(group) = parameter_group {
            let (have, want) = (format!("{:?}", self.parameter_group), format!("{:?}", Some(group)));
            if have != want {
                found.push(Difference { setting: "parameter group", have, want });
            }
        }
        found
    }
}

/// A DB subnet or parameter group, or a cache subnet group: its name, ARN and tags.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupState {
    pub name: String,
    pub arn: String,
    pub tags: BTreeMap<String, String>,
}

/// A DB subnet group and its subnets, sorted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DbSubnetGroupState {
    pub group: GroupState,
    pub subnet_ids: Vec<String>,
}

/// A DB parameter group and whether it forces TLS.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParameterGroupState {
    pub group: GroupState,
    pub forces_ssl: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CacheState {
    pub arn: String,
    pub tags: BTreeMap<String, String>,
    pub status: String,
    /// Engine version and maintenance window only when read (see [`CacheSettings`]).
    pub settings: CacheSettings,
    pub transit_encryption: Option<bool>,
    pub at_rest_encryption: Option<bool>,
    pub endpoint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretState {
    pub arn: String,
    pub has_value: bool,
    pub scheduled_for_deletion: bool,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkView {
    pub vpc_id: String,
    /// Sorted, for stable comparisons.
    pub private_subnet_ids: Vec<String>,
    pub cluster_security_group_id: String,
    pub database_security_group_id: String,
    pub egress_ips: Vec<String>,
}

/// What the cluster chain reads: the cluster, its node groups, its OIDC provider and its roles.
#[derive(Debug, Clone, Default)]
pub struct ClusterSeen {
    pub cluster: Option<ClusterState>,
    pub node_groups: Vec<NodeGroupState>,
    /// The managed add-ons of [`MANAGED_ADDONS`](super::desired::MANAGED_ADDONS) that exist.
    pub addons: Vec<AddonState>,
    /// Whether the cluster's OIDC provider exists and records this deployment's use.
    pub oidc_provider: Option<bool>,
    pub cluster_role: Option<RoleState>,
    pub node_role: Option<RoleState>,
}

/// What the database chain reads: the instances, their parameter groups and the subnet group.
#[derive(Debug, Clone, Default)]
pub struct DatabaseSeen {
    pub database: Option<InstanceState>,
    /// The database's parameter group (else, without a database, the configured one).
    pub parameter_group: Option<ParameterGroupState>,
    /// The configured parameter group, when the database uses another (a major upgrade to come).
    pub next_parameter_group: Option<ParameterGroupState>,
    pub retool_db: Option<InstanceState>,
    pub subnet_group: Option<DbSubnetGroupState>,
}

/// What the cache chain reads: the cache's and Retool RPC's replication groups and the subnet
/// group they share.
#[derive(Debug, Clone, Default)]
pub struct CacheSeen {
    pub group: Option<CacheState>,
    pub rpc: Option<CacheState>,
    pub subnet_group: Option<GroupState>,
}

/// What the secrets chain reads: the generated secrets.
#[derive(Debug, Clone, Default)]
pub struct SecretsSeen {
    pub encryption_key: Option<SecretState>,
    pub jwt: Option<SecretState>,
}

/// The Retool Storage bucket as S3 reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BucketState {
    pub name: String,
    pub tags: BTreeMap<String, String>,
    /// The KMS key of its default SSE-KMS encryption, if that is its default encryption.
    pub kms_key: Option<String>,
    /// Whether S3 Bucket Keys are on for that encryption.
    pub bucket_key: bool,
    /// Whether all four Block Public Access settings are on.
    pub public_access_blocked: bool,
    pub versioning: bool,
    /// The bucket policy as S3 returns it.
    pub policy: Option<String>,
}

/// What the storage chain reads: the bucket and the api pods' role (only while storage is
/// enabled: a refresh without storage makes no S3 call).
/// The Retool workloads on the cluster, as its API reports them.
#[derive(Debug, Clone, Default)]
pub struct WorkloadsSeen {
    /// The cluster refused the provider's identity (401 or 403): the server's message.
    pub access_denied: Option<String>,
    /// The namespace's ownership mark (as tags); `None` when there is no namespace.
    pub namespace: Option<Tags>,
    /// The Retool Deployments in it.
    pub deployments: Vec<DeploymentSeen>,
    /// The External Secrets Operator's Deployment, read while the namespace exists.
    pub secrets_operator: Option<DeploymentSeen>,
}

/// One Retool Deployment as the cluster reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentSeen {
    pub name: String,
    /// Its ownership mark, as tags.
    pub tags: Tags,
    /// The image of its container.
    pub image: Option<String>,
    /// `spec.replicas`.
    pub replicas: i32,
    /// `status.readyReplicas`.
    pub ready: i32,
    /// `metadata.generation`.
    pub generation: i64,
    /// `status.observedGeneration`: the generation the Deployment controller has caught up with.
    pub observed_generation: i64,
    /// The other field managers that changed its spec, with the fields they own.
    pub other_managers: Vec<(String, Vec<String>)>,
    /// Where its rollout stands.
    pub rollout: crate::kubernetes::Rollout,
}

#[derive(Debug, Clone, Default)]
pub struct StorageSeen {
    pub bucket: Option<BucketState>,
    pub role: Option<RoleState>,
}

/// Everything that exists of a deployment: the network and, per chain, what that chain read.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub network: Option<NetworkView>,
    pub network_problem: Option<String>,
    pub kms: Option<KeyState>,
    pub eks: ClusterSeen,
    pub rds: DatabaseSeen,
    pub elasticache: CacheSeen,
    pub secrets: SecretsSeen,
    pub eso_role: Option<RoleState>,
    pub storage: StorageSeen,
    /// The workloads; `None` while there is no ACTIVE cluster to read them from.
    pub workloads: Option<WorkloadsSeen>,
}

impl Observed {
    /// Nothing of the deployment's own making exists any more.
    pub fn is_gone(&self) -> bool {
        self.kms.is_none() && self.eks.cluster.is_none() && self.rds.database.is_none()
    }

    /// The cache, unless it is on its way out.
    pub fn live_cache(&self) -> Option<&CacheState> {
        live(&self.elasticache.group)
    }

    /// Retool RPC's replication group, unless it is on its way out.
    pub fn live_rpc(&self) -> Option<&CacheState> {
        live(&self.elasticache.rpc)
    }

    /// What is left when every object `owner` may not manage is taken out, and those objects.
    /// Objects on their way out (a secret scheduled for deletion, a cache being deleted) are
    /// abandoned by whoever made them and stay: converge restores or waits for them.
    pub fn claimed_by(mut self, owner: &Owner, names: &Names) -> (Self, Vec<NotOurs>) {
        let mut not_ours = Vec::new();
        let mut check = |object: String, tags: Option<&Tags>| -> bool {
            let refused = tags.and_then(|tags| owner.refuses(tags));
            if let Some(claim) = refused {
                not_ours.push(NotOurs { object, claim });
                false
            } else {
                true
            }
        };
        fn keep<T>(slot: &mut Option<T>, ours: bool) {
            if !ours {
                *slot = None;
            }
        }
        let ours = check(format!("EKS cluster {}", names.cluster()), self.eks.cluster.as_ref().map(|c| &c.tags));
        keep(&mut self.eks.cluster, ours);
        if self.eks.cluster.is_none() {
            self.eks.oidc_provider = None;
        }
        let groups = std::mem::take(&mut self.eks.node_groups);
        for group in groups {
            if check(format!("EKS node group {}", group.name), Some(&group.tags)) {
                self.eks.node_groups.push(group);
            }
        }
        let ours = check(format!("DB instance {}", names.database()), self.rds.database.as_ref().map(|d| &d.tags));
        keep(&mut self.rds.database, ours);
        let ours = check(format!("DB instance {}", names.retool_db()), self.rds.retool_db.as_ref().map(|d| &d.tags));
        keep(&mut self.rds.retool_db, ours);
        let ours = check(format!("KMS key {}", names.kms_alias()), self.kms.as_ref().map(|k| &k.tags));
        keep(&mut self.kms, ours);
        for (name, role) in [
            (names.cluster_role(), &mut self.eks.cluster_role),
            (names.node_role(), &mut self.eks.node_role),
            (names.external_secrets_role(), &mut self.eso_role),
            (names.storage_role(), &mut self.storage.role),
        ] {
            let ours = check(format!("IAM role {name}"), role.as_ref().map(|r| &r.tags));
            keep(role, ours);
        }
        let ours = check(
            format!("DB subnet group {}", names.db_subnet_group()),
            self.rds.subnet_group.as_ref().map(|g| &g.group.tags),
        );
        keep(&mut self.rds.subnet_group, ours);
        for group in [&mut self.rds.parameter_group, &mut self.rds.next_parameter_group] {
            let ours = check(
                format!("DB parameter group {}", group.as_ref().map_or("", |g| g.group.name.as_str())),
                group.as_ref().map(|g| &g.group.tags),
            );
            keep(group, ours);
        }
        for (name, group) in [(names.cache(), &mut self.elasticache.group), (names.rpc(), &mut self.elasticache.rpc)] {
            let ours = check(format!("ElastiCache replication group {name}"), live(group).map(|c| &c.tags));
            keep(group, ours);
        }
        let ours = check(
            format!("ElastiCache subnet group {}", names.cache_subnet_group()),
            self.elasticache.subnet_group.as_ref().map(|g| &g.tags),
        );
        keep(&mut self.elasticache.subnet_group, ours);
        let bucket = self.storage.bucket.as_ref();
        let ours = check(format!("S3 bucket {}", bucket.map_or("", |b| b.name.as_str())), bucket.map(|b| &b.tags));
        keep(&mut self.storage.bucket, ours);
        for (which, secret) in [
            (names::JWT_SECRET, &mut self.secrets.jwt),
            (names::ENCRYPTION_KEY_SECRET, &mut self.secrets.encryption_key),
        ] {
            let live = secret.as_ref().filter(|s| !s.scheduled_for_deletion);
            let ours = check(format!("secret {}", names.secret(which)), live.map(|s| &s.tags));
            keep(secret, ours);
        }
        if let Some(workloads) = self.workloads.as_mut() {
            let namespace = names.namespace();
            let ours = check(format!("Kubernetes namespace {namespace}"), workloads.namespace.as_ref());
            if !ours {
                workloads.namespace = None;
                workloads.deployments.clear();
            }
            workloads.deployments.retain(|deployment| {
                check(format!("Kubernetes Deployment {namespace}/{}", deployment.name), Some(&deployment.tags))
            });
        }
        (self, not_ours)
    }
}

/// A replication group, unless it is on its way out.
fn live(group: &Option<CacheState>) -> Option<&CacheState> {
    group.as_ref().filter(|group| group.status != "deleting")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::ownership::Claim;

    #[test]
    fn objects_of_other_instances_are_taken_out_and_named() {
        let ours = Owner::test("ours");
        let theirs = Owner::test("theirs");
        let names = Names::new("acme");
        let observed = Observed {
            eks: ClusterSeen {
                cluster: Some(ClusterState { tags: theirs.mark(Tags::new()), ..ClusterState::default() }),
                ..ClusterSeen::default()
            },
            rds: DatabaseSeen {
                database: Some(InstanceState { tags: ours.mark(Tags::new()), ..InstanceState::default() }),
                retool_db: Some(InstanceState::default()),
                ..DatabaseSeen::default()
            },
            secrets: SecretsSeen {
                jwt: Some(SecretState {
                    arn: "j".into(),
                    has_value: true,
                    scheduled_for_deletion: true,
                    tags: theirs.mark(Tags::new()),
                }),
                ..SecretsSeen::default()
            },
            ..Observed::default()
        };
        let (mine, not_ours) = observed.clone().claimed_by(&ours, &names);
        assert!(mine.eks.cluster.is_none() && mine.rds.retool_db.is_none());
        assert!(mine.rds.database.is_some(), "our own database stays");
        assert!(mine.secrets.jwt.is_some(), "a secret scheduled for deletion is abandoned, so it may be restored");
        let objects: Vec<&str> = not_ours.iter().map(|found| found.object.as_str()).collect();
        assert_eq!(objects, ["EKS cluster acme", "DB instance acme-retooldb"]);
        assert_eq!(not_ours[0].claim, Claim::Foreign("theirs".into()));
        assert_eq!(not_ours[1].claim, Claim::Unmarked);

        let adopting = Owner { adopt_unmarked: true, ..ours };
        let (mine, not_ours) = observed.claimed_by(&adopting, &names);
        assert!(mine.rds.retool_db.is_some(), "a state from before marks keeps its unmarked objects");
        assert_eq!(not_ours.len(), 1);
    }
}
