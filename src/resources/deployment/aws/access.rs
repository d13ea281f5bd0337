//! Who may use the cluster's Kubernetes API: an EKS access entry for the identity that runs
//! Terraform, with the cluster-admin access policy, so the provider can apply the workloads.
//!
//! The entry is part of the deployment's desired state rather than left to "the cluster's creator
//! is admin": with `assume_role`, in CI or from Terraform Cloud the identity of today's apply is
//! often not the one that created the cluster, and EKS's creator bootstrap only ever covers the
//! creator. The entry is created if missing and its policy associated (both calls are no-ops when
//! already in place); other entries on the cluster are left alone.

use aws_sdk_eks::Client;
use aws_sdk_eks::types::{AccessScope, AccessScopeType};

use super::absent_if_missing;
use crate::aws::{CallerIdentity, During, Tags};
use crate::error::Error;
use crate::resources::deployment::aws::hash_map;

/// The access policy the provider's identity gets: full access to the cluster's objects.
const CLUSTER_ADMIN_POLICY: &str = "cluster-access-policy/AmazonEKSClusterAdminPolicy";

/// The IAM principal an access entry names for `identity`: an assumed-role session's role (EKS
/// refuses session ARNs; the role's path is not in a session ARN, so it is left out, which EKS
/// accepts), else the caller's own ARN.
pub fn principal_arn(identity: &CallerIdentity) -> String {
    let session = identity.arn.split_once(":assumed-role/").and_then(|(_, rest)| rest.split_once('/'));
    match session {
        Some((role, _session)) => format!("arn:{}:iam::{}:role/{role}", identity.partition, identity.account_id),
        None => identity.arn.clone(),
    }
}

/// The cluster-admin access policy's ARN in `partition`.
pub fn cluster_admin_policy_arn(partition: &str) -> String {
    format!("arn:{partition}:eks::aws:{CLUSTER_ADMIN_POLICY}")
}

/// Whether `principal` has an access entry on `cluster` with the cluster-admin policy.
pub async fn has_admin_access(eks: &Client, cluster: &str, principal: &str, partition: &str) -> Result<bool, Error> {
    let entry = absent_if_missing(
        eks.describe_access_entry()
            .cluster_name(cluster)
            .principal_arn(principal)
            .send()
            .await
            .during("DescribeAccessEntry"),
    )?;
    if entry.is_none() {
        return Ok(false);
    }
    let policies = eks
        .list_associated_access_policies()
        .cluster_name(cluster)
        .principal_arn(principal)
        .send()
        .await
        .during("ListAssociatedAccessPolicies")?;
    let admin = cluster_admin_policy_arn(partition);
    Ok(policies.associated_access_policies().iter().any(|policy| {
        policy.policy_arn() == Some(admin.as_str())
            && policy.access_scope().and_then(AccessScope::r#type) == Some(&AccessScopeType::Cluster)
    }))
}

/// Gives `principal` cluster-admin access to `cluster`, unless it has it; `true` when access was
/// given now (EKS takes a few seconds to honour a new entry).
pub async fn ensure_admin_access(
    eks: &Client,
    cluster: &str,
    principal: &str,
    partition: &str,
    tags: &Tags,
) -> Result<bool, Error> {
    if has_admin_access(eks, cluster, principal, partition).await? {
        return Ok(false);
    }
    let created = eks
        .create_access_entry()
        .cluster_name(cluster)
        .principal_arn(principal)
        .set_tags(Some(hash_map(tags)))
        .send()
        .await
        .during("CreateAccessEntry");
    match created {
        // EKS made one for the cluster's creator, or an earlier apply did before it was stopped.
        Err(error) if error.code() == Some("ResourceInUseException") => {}
        other => {
            other?;
        }
    }
    tracing::info!(cluster, principal, "access entry for the provider's identity");
    eks.associate_access_policy()
        .cluster_name(cluster)
        .principal_arn(principal)
        .policy_arn(cluster_admin_policy_arn(partition))
        .access_scope(AccessScope::builder().r#type(AccessScopeType::Cluster).build())
        .send()
        .await
        .during("AssociateAccessPolicy")?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(arn: &str) -> CallerIdentity {
        CallerIdentity::from_arn(arn).expect("identity")
    }

    #[test]
    fn sessions_map_to_their_role_and_users_to_themselves() {
        assert_eq!(
            principal_arn(&identity("arn:aws:sts::111122223333:assumed-role/deployer/ci-run-42")),
            "arn:aws:iam::111122223333:role/deployer"
        );
        assert_eq!(
            principal_arn(&identity("arn:aws-cn:sts::111122223333:assumed-role/deployer/x")),
            "arn:aws-cn:iam::111122223333:role/deployer"
        );
        assert_eq!(
            principal_arn(&identity("arn:aws:iam::111122223333:user/alice")),
            "arn:aws:iam::111122223333:user/alice"
        );
        assert_eq!(
            cluster_admin_policy_arn("aws"),
            "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
        );
    }
}
