//! What a deployment wants to exist, object by object: pure functions of the configuration, the
//! caller's identity and — for the objects that depend on what an earlier step made — those
//! facts (a role's ARN, the key, the network, the cluster's OIDC issuer). No AWS call happens
//! here, so every object converge creates is tested as plain data.

use std::collections::BTreeMap;
use std::time::Duration;

use super::model::{
    CacheSettings, ClusterSettings, DeploymentSpec, EKS_TIMEOUT, InstanceSettings, Operation, Placement, RDS_TIMEOUT,
    Scaling,
};
use super::names::{self, Names};
use super::observed::NetworkView;
use super::owner::Owner;
use super::rules::versions::PostgresVersion;
use crate::aws::iam::PolicyDocument;
use crate::aws::iam::policy::{Actions, Conditions, Effect, Principal, Statement, set};
use crate::aws::iam::role::RoleSpec;
use crate::aws::{CallerIdentity, Tags};
use crate::error::Error;

/// Managed policies of the cluster and node roles (AWS's own, in the caller's partition).
pub const CLUSTER_POLICIES: [&str; 1] = ["AmazonEKSClusterPolicy"];
pub const NODE_POLICIES: [&str; 3] =
    ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"];
/// The EKS add-ons a cluster runs as managed add-ons: the pod network, cluster DNS, the service
/// proxy and the pod identity agent. Each is kept at the version EKS marks default for the
/// cluster's Kubernetes minor version when that minor was reached, in this order.
pub const MANAGED_ADDONS: [&str; 4] = ["vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent"];
/// The External Secrets Operator role's inline policy.
pub const ESO_POLICY_NAME: &str = "read-retool-secrets";
/// The storage role's inline policy.
pub const STORAGE_POLICY_NAME: &str = "retool-storage";
/// Object-level S3 actions on Retool Storage: in the bucket policy, denied to every principal but
/// the storage role; in that role's policy, allowed. The permission boundary documents use the
/// same list: the operator's boundary denies it, the workload boundary allows it.
pub const OBJECT_ACTIONS: [&str; 9] = [
    "s3:GetObject*",
    "s3:PutObject*",
    "s3:DeleteObject*",
    "s3:RestoreObject",
    "s3:AbortMultipartUpload",
    "s3:ListBucket",
    "s3:ListBucketVersions",
    "s3:ListBucketMultipartUploads",
    "s3:ListMultipartUploadParts",
];
/// Audience of the tokens EKS pod identity webhooks exchange.
pub const STS_AUDIENCE: &str = "sts.amazonaws.com";

/// The Retool Storage bucket as it should be.
#[derive(Debug, Clone)]
pub struct Bucket {
    pub name: String,
    /// The region to create it in (`LocationConstraint` unless `us-east-1`).
    pub region: String,
    /// Default encryption: SSE-KMS with this key, S3 Bucket Keys on.
    pub kms_key_arn: String,
    pub policy: PolicyDocument,
    pub tags: Tags,
}

/// The EKS cluster as it should be.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub name: String,
    pub role_arn: String,
    pub settings: ClusterSettings,
    /// Encrypts Kubernetes secrets; set when the cluster is created.
    pub kms_key_arn: String,
    pub tags: Tags,
}

/// The managed node group as it should be.
#[derive(Debug, Clone)]
pub struct NodeGroup {
    /// The cluster it belongs to: EKS names a node group within its cluster.
    pub cluster: String,
    pub name: String,
    pub role_arn: String,
    pub subnet_ids: Vec<String>,
    pub instance_type: String,
    /// The configured scaling, which a create uses as it is (see [`Scaling::kept_for`]).
    pub scaling: Scaling,
    /// The cluster autoscaler owns the desired size once the group exists.
    pub ignore_desired_size_changes: bool,
    /// The Kubernetes minor version of its nodes: the cluster's.
    pub version: String,
    pub tags: Tags,
}

/// An RDS instance as it should be: its settings, where it runs, how it is encrypted and tagged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbInstance {
    pub identifier: String,
    pub settings: InstanceSettings,
    pub subnet_group: String,
    pub parameter_group: String,
    pub security_group_ids: Vec<String>,
    pub kms_key_arn: String,
    pub tags: Tags,
    /// Whether a newer pinned minor version is applied at once (else in the maintenance window).
    pub apply_immediately: bool,
    /// The manual snapshot a major upgrade to this instance's engine takes first.
    pub pre_upgrade_snapshot: String,
}

/// The parameter group of the configured engine family (`rds.force_ssl = 1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterGroup {
    pub name: String,
    pub family: String,
}

/// An ElastiCache replication group (the cache, or Retool RPC's) as it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cache {
    pub replication_group: String,
    /// What the group is for, as AWS shows it.
    pub description: &'static str,
    pub subnet_group: String,
    pub settings: CacheSettings,
    pub placement: Placement,
    pub kms_key_arn: String,
    pub tags: Tags,
}

/// Which of the generated secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeneratedSecret {
    /// `ENCRYPTION_KEY`, 64 characters.
    EncryptionKey,
    /// `JWT_SECRET`, 256 characters.
    JwtSecret,
}

impl GeneratedSecret {
    /// The last part of its name, `retool/<name>/<suffix>`.
    pub fn suffix(self) -> &'static str {
        match self {
            Self::EncryptionKey => names::ENCRYPTION_KEY_SECRET,
            Self::JwtSecret => names::JWT_SECRET,
        }
    }
}

/// The deployment as it should be: the configuration, and everything derived from it.
#[derive(Debug, Clone)]
pub struct Desired {
    pub spec: DeploymentSpec,
    pub names: Names,
    /// The provider's caller: partition and account of every ARN the deployment builds.
    pub identity: CallerIdentity,
    pub region: String,
    /// Whose objects these are; `None` only for destroy, which creates nothing.
    pub owner: Option<Owner>,
}

impl Desired {
    pub fn new(spec: DeploymentSpec, identity: CallerIdentity, region: &str, owner: Option<Owner>) -> Self {
        let names = Names::new(&spec.name);
        Self { spec, names, identity, region: region.to_owned(), owner }
    }

    /// Tags for every object: `default_tags`, `tags`, the deployment tag and the ownership mark.
    pub fn tags(&self) -> Tags {
        let tags = self.spec.tags();
        match &self.owner {
            Some(owner) => owner.mark(tags),
            None => tags,
        }
    }

    /// The common tags plus a record of the configuration AWS has no field for (network, Retool
    /// version, domain, the customer's secrets), from which import recovers it. The cluster
    /// carries it, and so does the KMS key: the key is the first object a create makes, so a
    /// create interrupted before its cluster existed (Terraform or the provider killed) leaves a
    /// deployment that import can still take up from the key.
    pub fn recording_tags(&self) -> Tags {
        let spec = &self.spec;
        let mut tags = self.tags();
        tags.insert(names::NETWORK_TAG.to_owned(), spec.network_id.clone());
        tags.insert(names::VERSION_TAG.to_owned(), spec.retool_version.clone());
        tags.insert(names::DOMAIN_TAG.to_owned(), spec.domain.clone());
        if let Some(arn) = &spec.license_key_secret_arn {
            tags.insert(names::LICENSE_TAG.to_owned(), arn.clone());
        }
        if let Some(arn) = &spec.encryption_key_secret_arn {
            tags.insert(names::CUSTOMER_KEY_TAG.to_owned(), arn.clone());
        }
        tags
    }

    /// How long a wait of EKS (cluster, node group) may take during `operation`.
    pub fn eks_budget(&self, operation: Operation) -> Duration {
        self.spec.timeouts.budget(operation, EKS_TIMEOUT)
    }

    /// How long a wait of RDS or ElastiCache may take during `operation`.
    pub fn rds_budget(&self, operation: Operation) -> Duration {
        self.spec.timeouts.budget(operation, RDS_TIMEOUT)
    }

    /// AWS's own managed policies `names`, in the caller's partition.
    pub fn managed_policies(&self, names: &[&str]) -> Vec<String> {
        names.iter().map(|name| format!("arn:{}:iam::aws:policy/{name}", self.identity.partition)).collect()
    }

    /// `arn:<partition>:iam::<account>:oidc-provider/<issuer without scheme>`, in the caller's
    /// partition and account.
    pub fn oidc_provider_arn(&self, issuer_url: &str) -> String {
        oidc_provider_arn(&self.identity, issuer_url)
    }

    fn role(&self, name: String, trust: PolicyDocument, managed_policies: Vec<String>) -> RoleSpec {
        RoleSpec {
            name,
            trust,
            boundary: self.spec.permission_boundary_arn.clone(),
            managed_policies,
            inline_policies: BTreeMap::new(),
            tags: self.tags(),
        }
    }

    /// The role EKS assumes for the cluster.
    pub fn cluster_role(&self) -> RoleSpec {
        self.role(
            self.names.cluster_role(),
            service_trust("eks.amazonaws.com"),
            self.managed_policies(&CLUSTER_POLICIES),
        )
    }

    /// The role of the managed nodes.
    pub fn node_role(&self) -> RoleSpec {
        self.role(self.names.node_role(), service_trust("ec2.amazonaws.com"), self.managed_policies(&NODE_POLICIES))
    }

    /// The cluster, run by `role_arn` in the network's private subnets, secrets encrypted with
    /// `key_arn`.
    pub fn cluster(&self, role_arn: &str, network: &NetworkView, key_arn: &str) -> Cluster {
        Cluster {
            name: self.names.cluster(),
            role_arn: role_arn.to_owned(),
            settings: self.cluster_settings(Some(network)),
            kms_key_arn: key_arn.to_owned(),
            tags: self.recording_tags(),
        }
    }

    /// The cluster's settings: the configured version and endpoint access, placed in `network`
    /// (nowhere while the network is unknown).
    pub fn cluster_settings(&self, network: Option<&NetworkView>) -> ClusterSettings {
        ClusterSettings {
            version: self.spec.kubernetes_version.clone(),
            endpoint_public_access: self.spec.endpoint_public_access,
            public_access_cidrs: self.spec.public_access_cidrs.clone(),
            placement: network.map(private_placement).unwrap_or_default(),
        }
    }

    /// The node group of the configured instance type.
    pub fn node_group(&self, role_arn: &str, network: &NetworkView) -> NodeGroup {
        let config = &self.spec.node_group;
        NodeGroup {
            cluster: self.names.cluster(),
            name: self.names.node_group(&config.instance_type),
            role_arn: role_arn.to_owned(),
            subnet_ids: network.private_subnet_ids.clone(),
            instance_type: config.instance_type.clone(),
            scaling: config.scaling,
            ignore_desired_size_changes: config.ignore_desired_size_changes,
            version: self.spec.kubernetes_version.clone(),
            tags: self.tags(),
        }
    }

    /// The tags of an add-on brought to the default version of Kubernetes `minor`.
    pub fn addon_tags(&self, minor: &str) -> Tags {
        let mut tags = self.tags();
        tags.insert(names::ADDONS_FOR_TAG.to_owned(), minor.to_owned());
        tags
    }

    /// The parameter group of the configured engine family.
    pub fn parameter_group(&self) -> Result<ParameterGroup, Error> {
        PostgresVersion::parse(&self.spec.database.engine_version)
            .map(|version| {
                let family = version.parameter_group_family();
                ParameterGroup { name: self.names.db_parameter_group(&family), family }
            })
            .map_err(|problem| Error::unexpected("PlanDatabase", problem.to_string()))
    }

    fn instance(
        &self,
        identifier: String,
        settings: InstanceSettings,
        parameter_group: &ParameterGroup,
        security_group_ids: &[String],
        key_arn: &str,
    ) -> DbInstance {
        DbInstance {
            pre_upgrade_snapshot: self.names.pre_upgrade_snapshot(&identifier, &parameter_group.family),
            identifier,
            settings,
            subnet_group: self.names.db_subnet_group(),
            parameter_group: parameter_group.name.clone(),
            security_group_ids: security_group_ids.to_vec(),
            kms_key_arn: key_arn.to_owned(),
            tags: self.tags(),
            apply_immediately: self.spec.apply_immediately,
        }
    }

    /// Retool's database.
    pub fn database(
        &self,
        parameter_group: &ParameterGroup,
        security_group_ids: &[String],
        key_arn: &str,
    ) -> DbInstance {
        self.instance(self.names.database(), self.spec.database.clone(), parameter_group, security_group_ids, key_arn)
    }

    /// The Retool DB instance, when enabled.
    pub fn retool_db(
        &self,
        parameter_group: &ParameterGroup,
        security_group_ids: &[String],
        key_arn: &str,
    ) -> Option<DbInstance> {
        self.spec.retool_db.enabled.then(|| {
            self.instance(
                self.names.retool_db(),
                self.spec.retool_db_settings(),
                parameter_group,
                security_group_ids,
                key_arn,
            )
        })
    }

    /// The cache, when enabled: one node, placed like the cluster.
    pub fn cache(&self, network: &NetworkView, key_arn: &str) -> Option<Cache> {
        let spec = &self.spec.cache;
        spec.enabled.then(|| {
            self.replication_group(self.names.cache(), "Retool deployment cache", &spec.settings, network, key_arn)
        })
    }

    /// Retool RPC's own Redis, when enabled: a second group like the cache, in its subnet group.
    pub fn rpc(&self, network: &NetworkView, key_arn: &str) -> Option<Cache> {
        let spec = &self.spec.rpc;
        spec.enabled.then(|| self.replication_group(self.names.rpc(), "Retool RPC", &spec.settings(), network, key_arn))
    }

    fn replication_group(
        &self,
        replication_group: String,
        description: &'static str,
        settings: &CacheSettings,
        network: &NetworkView,
        key_arn: &str,
    ) -> Cache {
        Cache {
            replication_group,
            description,
            subnet_group: self.names.cache_subnet_group(),
            settings: settings.clone(),
            placement: private_placement(network),
            kms_key_arn: key_arn.to_owned(),
            tags: self.tags(),
        }
    }

    /// The secrets the provider generates: the JWT secret always, `ENCRYPTION_KEY` unless the
    /// customer brings one.
    pub fn generated_secrets(&self) -> Vec<GeneratedSecret> {
        let mut secrets = vec![GeneratedSecret::JwtSecret];
        if self.spec.encryption_key_secret_arn.is_none() {
            secrets.push(GeneratedSecret::EncryptionKey);
        }
        secrets
    }

    /// Every secret under the deployment's prefix, in the caller's partition and account.
    pub fn deployment_secrets_arn(&self) -> String {
        format!(
            "arn:{}:secretsmanager:{}:{}:secret:{}/*",
            self.identity.partition,
            self.region,
            self.identity.account_id,
            self.names.secrets_prefix()
        )
    }

    /// The External Secrets Operator's role: assumable by its service account through the
    /// cluster's OIDC provider, allowed to read the deployment's secrets (the generated ones,
    /// RDS's master secrets, the customer's license and key) and decrypt them with the key.
    pub fn secrets_operator_role(
        &self,
        provider_arn: &str,
        issuer_url: &str,
        master_secrets: &[String],
        key_arn: &str,
    ) -> RoleSpec {
        let mut readable = vec![self.deployment_secrets_arn()];
        readable.extend(master_secrets.iter().cloned());
        readable.extend(self.spec.license_key_secret_arn.clone());
        readable.extend(self.spec.encryption_key_secret_arn.clone());
        let policy = PolicyDocument::new(vec![
            Statement::allow(
                "ReadRetoolSecrets",
                ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                readable,
            ),
            Statement::allow("DecryptThem", ["kms:Decrypt"], [key_arn]),
        ]);
        RoleSpec {
            inline_policies: BTreeMap::from([(ESO_POLICY_NAME.to_owned(), policy)]),
            ..self.role(
                self.names.external_secrets_role(),
                web_identity_trust(provider_arn, issuer_url, names::ESO_NAMESPACE, names::ESO_SERVICE_ACCOUNT),
                Vec::new(),
            )
        }
    }

    /// The External Secrets Operator role's ARN, known before the role exists.
    pub fn secrets_operator_role_arn(&self) -> String {
        self.role_arn(&self.names.external_secrets_role())
    }

    fn role_arn(&self, name: &str) -> String {
        format!("arn:{}:iam::{}:role/{name}", self.identity.partition, self.identity.account_id)
    }

    /// The Retool Storage bucket's name (see [`Names::storage_bucket`]).
    pub fn storage_bucket_name(&self) -> String {
        self.names.storage_bucket(&self.identity.account_id)
    }

    /// The storage role's ARN, known before the role exists (the bucket policy names it).
    pub fn storage_role_arn(&self) -> String {
        self.role_arn(&self.names.storage_role())
    }

    /// The Retool Storage bucket, encrypted with the deployment's key.
    pub fn storage_bucket(&self, key_arn: &str) -> Bucket {
        let name = self.storage_bucket_name();
        Bucket {
            policy: bucket_policy(&self.identity.partition, &name, &self.storage_role_arn()),
            name,
            region: self.region.clone(),
            kms_key_arn: key_arn.to_owned(),
            tags: self.tags(),
        }
    }

    /// The role Retool's api pods assume (IRSA) to use the bucket: its objects, and the key only
    /// through S3.
    pub fn storage_role(&self, provider_arn: &str, issuer_url: &str, key_arn: &str) -> RoleSpec {
        let bucket = bucket_arn(&self.identity.partition, &self.storage_bucket_name());
        let policy = PolicyDocument::new(vec![
            Statement::allow("UseRetoolStorage", OBJECT_ACTIONS, [bucket.clone(), format!("{bucket}/*")]),
            Statement::allow("EncryptThroughS3", ["kms:Decrypt", "kms:GenerateDataKey"], [key_arn]).when(
                "StringEquals",
                "kms:ViaService",
                [format!("s3.{}.amazonaws.com", self.region)],
            ),
        ]);
        RoleSpec {
            inline_policies: BTreeMap::from([(STORAGE_POLICY_NAME.to_owned(), policy)]),
            ..self.role(
                self.names.storage_role(),
                web_identity_trust(provider_arn, issuer_url, &self.names.namespace(), names::API_SERVICE_ACCOUNT),
                Vec::new(),
            )
        }
    }
}

/// `arn:<partition>:s3:::<bucket>`.
pub fn bucket_arn(partition: &str, bucket: &str) -> String {
    format!("arn:{partition}:s3:::{bucket}")
}

/// The Retool Storage bucket's policy: no request without TLS, and no object access by anyone
/// but `reader` (the storage role) — not the account's root, not the operator's roles, whatever
/// their identity policies allow.
pub fn bucket_policy(partition: &str, bucket: &str, reader: &str) -> PolicyDocument {
    let bucket = bucket_arn(partition, bucket);
    let everything = [bucket.clone(), format!("{bucket}/*")];
    PolicyDocument::new(vec![
        Statement::deny("DenyWithoutTls", ["s3:*"], everything.clone()).with_principal(Principal::Anyone).when(
            "Bool",
            "aws:SecureTransport",
            ["false"],
        ),
        Statement::deny("DenyObjectsToOthers", OBJECT_ACTIONS, everything).with_principal(Principal::Anyone).when(
            "ArnNotEquals",
            "aws:PrincipalArn",
            [reader],
        ),
    ])
}

/// `arn:<partition>:iam::<account>:oidc-provider/<issuer without scheme>`.
pub fn oidc_provider_arn(identity: &CallerIdentity, issuer_url: &str) -> String {
    format!(
        "arn:{}:iam::{}:oidc-provider/{}",
        identity.partition,
        identity.account_id,
        issuer_url.trim_start_matches("https://")
    )
}

/// Where the cluster and the cache run: the network's private subnets, behind its cluster
/// security group (which admits its own members, the nodes among them).
fn private_placement(network: &NetworkView) -> Placement {
    Placement {
        subnet_ids: network.private_subnet_ids.clone(),
        security_group_ids: vec![network.cluster_security_group_id.clone()],
    }
}

/// The security groups the databases should have, sorted: the network's database group and,
/// once the cluster exists, the group EKS made for it. Managed node groups run in the latter,
/// which admits its own members, so it is what lets pods reach Postgres.
pub fn database_security_groups(network: &NetworkView, eks_security_group: Option<&str>) -> Vec<String> {
    let mut groups: Vec<String> = std::iter::once(network.database_security_group_id.clone())
        .chain(eks_security_group.map(str::to_owned))
        .collect();
    groups.sort();
    groups.dedup();
    groups
}

/// A trust statement: `principal` may call `action`, under `conditions`.
fn trust(principal_type: &str, principal: &str, action: &str, conditions: Conditions) -> PolicyDocument {
    PolicyDocument::new(vec![Statement {
        sid: None,
        effect: Effect::Allow,
        principal: Some(Principal::Typed(BTreeMap::from([(principal_type.to_owned(), set([principal]))]))),
        actions: Actions::Action(set([action])),
        resources: None,
        conditions,
    }])
}

/// Trust for an AWS service.
pub fn service_trust(service: &str) -> PolicyDocument {
    trust("Service", service, "sts:AssumeRole", Conditions::new())
}

/// Trust for a Kubernetes service account through the cluster's OIDC provider.
pub fn web_identity_trust(
    provider_arn: &str,
    issuer_url: &str,
    namespace: &str,
    service_account: &str,
) -> PolicyDocument {
    let issuer = issuer_url.trim_start_matches("https://");
    let conditions = Conditions::from([(
        "StringEquals".to_owned(),
        BTreeMap::from([
            (format!("{issuer}:sub"), set([format!("system:serviceaccount:{namespace}:{service_account}")])),
            (format!("{issuer}:aud"), set([STS_AUDIENCE])),
        ]),
    )]);
    trust("Federated", provider_arn, "sts:AssumeRoleWithWebIdentity", conditions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::deployment::model;
    use crate::resources::ownership::OWNER_TAG;
    use crate::value::Value;

    fn desired(attributes: &[(&str, Value)]) -> Desired {
        let mut config = Value::object([
            ("name", Value::string("acme")),
            ("network_id", Value::string("vpc-0123abcd")),
            ("retool_version", Value::string("3.148.0-stable")),
            ("domain", Value::string("retool.acme.com")),
        ]);
        for (name, value) in attributes {
            config.set_attr(*name, value.clone());
        }
        let spec = model::spec_of(&config, &BTreeMap::new()).expect("spec");
        let identity = CallerIdentity::from_arn("arn:aws:sts::123456789012:assumed-role/ops/s").expect("identity");
        Desired::new(spec, identity, "us-east-1", Some(Owner::test("token")))
    }

    fn network() -> NetworkView {
        NetworkView {
            vpc_id: "vpc-0123abcd".into(),
            private_subnet_ids: vec!["subnet-a".into(), "subnet-b".into()],
            cluster_security_group_id: "sg-cluster".into(),
            database_security_group_id: "sg-db".into(),
            egress_ips: vec![],
        }
    }

    #[test]
    fn partition_and_account_come_from_the_caller_not_the_region() {
        let mut desired = desired(&[]);
        // A GovCloud caller in a region whose name says nothing about it.
        desired.identity =
            CallerIdentity::from_arn("arn:aws-us-gov:sts::111122223333:assumed-role/ops/session").expect("caller ARN");
        assert_eq!(desired.cluster_role().managed_policies, ["arn:aws-us-gov:iam::aws:policy/AmazonEKSClusterPolicy"]);
        assert_eq!(
            desired.deployment_secrets_arn(),
            "arn:aws-us-gov:secretsmanager:us-east-1:111122223333:secret:retool/acme/*"
        );
        assert_eq!(
            desired.oidc_provider_arn("https://oidc.eks.us-east-1.amazonaws.com/id/X"),
            "arn:aws-us-gov:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X"
        );
    }

    #[test]
    fn every_object_carries_the_ownership_mark_and_the_cluster_records_its_configuration() {
        let desired = desired(&[("retool_db", Value::object([("enabled", Value::Bool(true))]))]);
        let group = desired.parameter_group().expect("parameter group");
        assert_eq!(group, ParameterGroup { name: "acme-postgres16".into(), family: "postgres16".into() });
        let cluster = desired.cluster("arn:role", &network(), "arn:key");
        assert_eq!(cluster.tags.get(OWNER_TAG).map(String::as_str), Some("token"));
        assert_eq!(cluster.tags.get(names::DOMAIN_TAG).map(String::as_str), Some("retool.acme.com"));
        assert_eq!(cluster.settings.placement, private_placement(&network()));
        assert_eq!(cluster.settings.placement.subnet_ids, ["subnet-a", "subnet-b"]);
        assert_eq!(cluster.settings.placement.security_group_ids, ["sg-cluster"]);
        let nodes = desired.node_group("arn:nodes", &network());
        assert_eq!((nodes.name.as_str(), nodes.scaling.min_size, nodes.scaling.max_size), ("acme-m5-xlarge", 3, 6));
        let groups = database_security_groups(&network(), Some("sg-eks"));
        let database = desired.database(&group, &groups, "arn:key");
        assert_eq!(database.settings, desired.spec.database);
        assert_eq!(database.security_group_ids, ["sg-db", "sg-eks"]);
        let retool_db = desired.retool_db(&group, &groups, "arn:key").expect("enabled");
        assert_eq!(retool_db.identifier, "acme-retooldb");
        assert_eq!(
            (retool_db.settings.backup_retention_days, retool_db.settings.multi_az),
            (desired.spec.database.backup_retention_days, false)
        );
        assert_eq!(desired.cache(&network(), "arn:key"), None, "the cache is off by default");
        for tags in [&nodes.tags, &database.tags, &retool_db.tags, &desired.node_role().tags] {
            assert_eq!(tags.get(OWNER_TAG).map(String::as_str), Some("token"));
        }
        assert_eq!(desired.generated_secrets(), [GeneratedSecret::JwtSecret, GeneratedSecret::EncryptionKey]);
    }

    #[test]
    fn retool_storage_is_named_by_deployment_and_account_and_only_its_role_reaches_the_objects() {
        let desired = desired(&[
            ("storage", Value::object([("enabled", Value::Bool(true))])),
            ("permission_boundary_arn", Value::string("arn:aws:iam::123456789012:policy/boundary")),
        ]);
        assert!(desired.spec.storage);
        let bucket = desired.storage_bucket("arn:key");
        assert_eq!(bucket.name, "retool-storage-acme-123456789012");
        assert_eq!((bucket.region.as_str(), bucket.kms_key_arn.as_str()), ("us-east-1", "arn:key"));
        assert_eq!(bucket.tags.get(OWNER_TAG).map(String::as_str), Some("token"));
        let policy: serde_json::Value = serde_json::from_str(&bucket.policy.to_canonical_json()).expect("JSON");
        let everything = serde_json::json!([
            "arn:aws:s3:::retool-storage-acme-123456789012",
            "arn:aws:s3:::retool-storage-acme-123456789012/*"
        ]);
        let (tls, objects) = (&policy["Statement"][0], &policy["Statement"][1]);
        assert_eq!((&tls["Effect"], &tls["Principal"], &tls["Action"]), (&"Deny".into(), &"*".into(), &"s3:*".into()));
        assert_eq!(tls["Condition"]["Bool"]["aws:SecureTransport"], "false");
        assert_eq!(tls["Resource"], everything);
        assert_eq!((&objects["Effect"], &objects["Principal"]), (&"Deny".into(), &"*".into()));
        assert_eq!(
            objects["Condition"]["ArnNotEquals"]["aws:PrincipalArn"],
            "arn:aws:iam::123456789012:role/acme-storage"
        );
        assert!(objects["Action"].as_array().is_some_and(|actions| actions.contains(&"s3:GetObject*".into())));

        let role = desired.storage_role(
            "arn:aws:iam::123456789012:oidc-provider/oidc.example/id/X",
            "https://oidc.example/id/X",
            "arn:key",
        );
        assert_eq!(role.name, "acme-storage");
        assert_eq!(role.boundary.as_deref(), Some("arn:aws:iam::123456789012:policy/boundary"));
        let trust: serde_json::Value = serde_json::from_str(&role.trust.to_canonical_json()).expect("JSON");
        let condition = &trust["Statement"][0]["Condition"]["StringEquals"];
        assert_eq!(condition["oidc.example/id/X:sub"], "system:serviceaccount:acme:retool-api");
        let policy = role.inline_policies.get(STORAGE_POLICY_NAME).expect("inline policy").to_canonical_json();
        let policy: serde_json::Value = serde_json::from_str(&policy).expect("JSON");
        assert_eq!(policy["Statement"][0]["Resource"], everything);
        assert_eq!(policy["Statement"][1]["Resource"], "arn:key");
        assert_eq!(policy["Statement"][1]["Condition"]["StringEquals"]["kms:ViaService"], "s3.us-east-1.amazonaws.com");
    }

    #[test]
    fn the_rpc_group_is_the_cache_group_under_its_own_name_in_the_same_subnet_group() {
        let off = desired(&[("cache", Value::object([("enabled", Value::Bool(true))]))]);
        assert_eq!(off.rpc(&network(), "arn:key"), None, "RPC is off by default");
        let desired = desired(&[
            ("cache", Value::object([("enabled", Value::Bool(true)), ("engine_version", Value::string("7.1"))])),
            ("rpc", Value::object([("enabled", Value::Bool(true)), ("node_type", Value::string("cache.r6g.large"))])),
        ]);
        let cache = desired.cache(&network(), "arn:key").expect("cache enabled");
        let rpc = desired.rpc(&network(), "arn:key").expect("rpc enabled");
        assert_eq!((rpc.replication_group.as_str(), rpc.subnet_group.as_str()), ("acme-rpc", "acme-cache"));
        assert_eq!(rpc.subnet_group, cache.subnet_group);
        assert_eq!(
            rpc.settings,
            CacheSettings { node_type: "cache.r6g.large".into(), engine_version: None, maintenance_window: None },
            "the cache's engine version is not the RPC group's"
        );
        assert_eq!((rpc.placement, rpc.kms_key_arn.as_str()), (cache.placement, "arn:key"));
        assert_eq!(rpc.tags, cache.tags);
        assert_eq!(rpc.tags.get(OWNER_TAG).map(String::as_str), Some("token"));
        assert_ne!(rpc.description, cache.description);
    }

    #[test]
    fn the_secrets_operator_reads_only_the_deployments_secrets() {
        let desired = desired(&[]);
        let role = desired.secrets_operator_role(
            "arn:aws:iam::123456789012:oidc-provider/oidc.example/id/X",
            "https://oidc.example/id/X",
            &["arn:master".to_owned()],
            "arn:key",
        );
        let trust: serde_json::Value = serde_json::from_str(&role.trust.to_canonical_json()).expect("JSON");
        let condition = &trust["Statement"][0]["Condition"]["StringEquals"];
        assert_eq!(condition["oidc.example/id/X:sub"], "system:serviceaccount:external-secrets:external-secrets");
        assert_eq!(condition["oidc.example/id/X:aud"], STS_AUDIENCE);
        assert_eq!(trust["Statement"][0]["Action"], "sts:AssumeRoleWithWebIdentity");
        let policy = role.inline_policies.get(ESO_POLICY_NAME).expect("inline policy").to_canonical_json();
        let policy: serde_json::Value = serde_json::from_str(&policy).expect("JSON");
        assert_eq!(
            policy["Statement"][0]["Resource"],
            serde_json::json!(["arn:aws:secretsmanager:us-east-1:123456789012:secret:retool/acme/*", "arn:master"])
        );
        assert_eq!(policy["Statement"][1]["Resource"], "arn:key");
    }

    #[test]
    fn databases_admit_the_eks_cluster_group_once_it_exists() {
        assert_eq!(database_security_groups(&network(), None), ["sg-db"]);
        assert_eq!(database_security_groups(&network(), Some("sg-db")), ["sg-db"]);
    }
}
