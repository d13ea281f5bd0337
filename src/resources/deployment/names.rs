//! Every AWS name a deployment uses, derived from its `name` alone. Names are the idempotency
//! keys: an apply that failed half-way finds what it already made by name and carries on, and
//! import needs nothing but the deployment name.

use crate::resources::naming::suffixed_names;

/// Tag carrying the deployment name on every object it creates.
pub const DEPLOYMENT_TAG: &str = "retool:deployment";
/// Cluster tags recording configuration AWS has no field for, so import can recover it.
pub const NETWORK_TAG: &str = "retool:network-id";
pub const VERSION_TAG: &str = "retool:version";
pub const DOMAIN_TAG: &str = "retool:domain";
pub const LICENSE_TAG: &str = "retool:license-key-secret";
pub const CUSTOMER_KEY_TAG: &str = "retool:encryption-key-secret";
/// Tag on each EKS add-on: the Kubernetes minor version it was last upgraded for. An upgrade
/// records here, add-on by add-on, how far it got, so an interrupted one resumes where it stopped.
pub const ADDONS_FOR_TAG: &str = "retool:addons-for-kubernetes";
/// Prefix of the tag keys on a shared OIDC provider, one per deployment using it.
pub const OIDC_USER_TAG_PREFIX: &str = "retool:deployment:";

pub const ENCRYPTION_KEY_SECRET: &str = "encryption-key";
pub const JWT_SECRET: &str = "jwt-secret";

/// Kubernetes service account of the External Secrets Operator, allowed to assume its role.
pub const ESO_NAMESPACE: &str = "external-secrets";
pub const ESO_SERVICE_ACCOUNT: &str = "external-secrets";

/// Prefix of every Retool Storage bucket (the permission boundary fences buckets by it).
pub const STORAGE_BUCKET_PREFIX: &str = "retool-storage-";

/// Kubernetes service account of Retool's api pods, in the deployment's namespace
/// ([`Names::namespace`]), allowed to assume the storage role.
pub const API_SERVICE_ACCOUNT: &str = "retool-api";

/// Namespaces a deployment's own cannot be: Kubernetes' own, and the External Secrets Operator's.
pub const RESERVED_NAMESPACES: [&str; 5] = ["default", "kube-system", "kube-public", "kube-node-lease", ESO_NAMESPACE];

/// Names of one deployment's AWS objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    pub deployment: String,
}

impl Names {
    pub fn new(deployment: &str) -> Self {
        Self { deployment: deployment.to_owned() }
    }

    /// The Kubernetes namespace of the Retool workloads: the deployment's name, so deployments
    /// whose API is reached through one endpoint (a proxy, a test server) never share one.
    pub fn namespace(&self) -> String {
        self.deployment.clone()
    }

    pub fn cluster(&self) -> String {
        self.deployment.clone()
    }

    /// Node groups are named after their instance type: AWS cannot change a node group's
    /// instance type, so a new type means a new group (created before the old one goes).
    pub fn node_group(&self, instance_type: &str) -> String {
        format!("{}-{}", self.deployment, instance_type.replace('.', "-"))
    }

    suffixed_names! {
        deployment:
        cluster_role => "eks-cluster",
        node_role => "eks-nodes",
        external_secrets_role => "external-secrets",
        storage_role => "storage",
        database => "postgres",
        retool_db => "retooldb",
        db_subnet_group => "db",
        cache => "cache",
        rpc => "rpc",
        cache_subnet_group => "cache",
    }

    /// The Retool Storage bucket, `retool-storage-<name>-<account id>`: bucket names are global,
    /// so the account makes it unique, and at most 15 + 32 + 1 + 12 = 60 characters it stays
    /// within S3's 63 (a deployment name is a lowercase DNS label, as bucket names must be).
    pub fn storage_bucket(&self, account_id: &str) -> String {
        format!("{STORAGE_BUCKET_PREFIX}{}-{account_id}", self.deployment)
    }

    pub fn kms_alias(&self) -> String {
        format!("alias/retool/{}", self.deployment)
    }

    /// One parameter group per engine family (a major upgrade moves to a new one).
    pub fn db_parameter_group(&self, family: &str) -> String {
        format!("{}-{family}", self.deployment)
    }

    /// `retool/<name>/<which>`.
    pub fn secret(&self, which: &str) -> String {
        format!("{}/{which}", self.secrets_prefix())
    }

    /// The Secrets Manager prefix of this deployment, `retool/<name>`.
    pub fn secrets_prefix(&self) -> String {
        format!("retool/{}", self.deployment)
    }

    /// A final snapshot name no earlier destroy can have used (RDS refuses to reuse one, and
    /// then keeps the instance).
    pub fn final_snapshot(&self, instance: &str, unix_seconds: u64) -> String {
        format!("{instance}-final-{unix_seconds}")
    }

    /// The snapshot of `instance` taken before its upgrade to the parameter group `family`
    /// (`postgres16`): one per target major version, so an interrupted upgrade finds it again.
    pub fn pre_upgrade_snapshot(&self, instance: &str, family: &str) -> String {
        format!("{instance}-before-{family}")
    }
}

/// Whether `arn` is the secret this provider generates for `deployment` (Secrets Manager ARNs end
/// in `:secret:<name>-<6 random characters>`).
pub fn is_generated_secret_arn(arn: &str, deployment: &str, which: &str) -> bool {
    let wanted = format!(":secret:retool/{deployment}/{which}-");
    arn.find(&wanted).is_some_and(|at| arn.len() == at + wanted.len() + 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_derive_from_the_deployment() {
        let names = Names::new("acme");
        assert_eq!(names.node_group("m5.xlarge"), "acme-m5-xlarge");
        assert_eq!(names.secret(JWT_SECRET), "retool/acme/jwt-secret");
        assert_eq!(names.final_snapshot("acme-postgres", 17), "acme-postgres-final-17");
        assert_eq!(names.db_parameter_group("postgres16"), "acme-postgres16");
        assert_eq!(names.storage_bucket("123456789012"), "retool-storage-acme-123456789012");
        assert_eq!(names.storage_role(), "acme-storage");
    }

    #[test]
    fn the_longest_deployment_name_still_gives_a_valid_bucket_name() {
        let longest = "a".repeat(crate::resources::deployment::validators::MAX_NAME_LENGTH);
        assert_eq!(Names::new(&longest).storage_bucket("123456789012").len(), 60);
    }

    #[test]
    fn generated_secret_arns_are_recognised_exactly() {
        let ours = "arn:aws:secretsmanager:us-east-1:123456789012:secret:retool/acme/encryption-key-AbC123";
        assert!(is_generated_secret_arn(ours, "acme", ENCRYPTION_KEY_SECRET));
        assert!(!is_generated_secret_arn(ours, "acm", ENCRYPTION_KEY_SECRET));
        assert!(!is_generated_secret_arn(ours, "acme", JWT_SECRET));
        let theirs = "arn:aws:secretsmanager:us-east-1:123456789012:secret:legacy/retool-key-AbC123";
        assert!(!is_generated_secret_arn(theirs, "acme", ENCRYPTION_KEY_SECRET));
    }
}
