//! The EKS cluster and its managed node group.
//!
//! The cluster runs in the network's private subnets behind its cluster security group, with
//! Kubernetes secrets envelope-encrypted by the deployment's KMS key and API authentication mode
//! (access entries, no aws-auth ConfigMap). Waits poll `DescribeCluster`/`DescribeNodegroup`
//! until ACTIVE (or gone), within the operation's timeout. A node group's instance type cannot be
//! changed in AWS, so a new type gets a new group, created before the old one is deleted.

use crate::aws::During;
use std::time::Duration;

use aws_sdk_eks::Client;
use aws_sdk_eks::types::{
    AuthenticationMode, ClusterStatus, CreateAccessConfigRequest, EncryptionConfig, NodegroupScalingConfig,
    NodegroupStatus, NodegroupUpdateConfig, Provider, VpcConfigRequest,
};

use super::{
    Look, Patience, absent_if_missing, add_missing_tags, hash_map, ok_if_missing, wait, wait_gone, wait_until,
};
use crate::aws::Tags;
use crate::aws::tags::sync_tags;
use crate::aws::wait::{Poll, RetryWhile, retry_while};
use crate::error::Error;
use crate::resources::deployment::desired::{Cluster, NodeGroup};
use crate::resources::deployment::model::{ClusterSetting, ClusterSettings, Placement, Scaling, sorted};
use crate::resources::deployment::observed::{ClusterState, NodeGroupState};

/// EKS's tag map (absent when an object has no tags).
pub(super) fn tags_of(tags: Option<&std::collections::HashMap<String, String>>) -> Tags {
    tags.into_iter().flatten().map(|(key, value)| (key.clone(), value.clone())).collect()
}

pub async fn observe_cluster(eks: &Client, name: &str) -> Result<Option<ClusterState>, Error> {
    let found = absent_if_missing(eks.describe_cluster().name(name).send().await.during("DescribeCluster"))?;
    let Some(cluster) = found.and_then(|out| out.cluster) else { return Ok(None) };
    let missing = |field| Error::missing("DescribeCluster", field);
    let vpc = cluster.resources_vpc_config().ok_or_else(|| missing("resourcesVpcConfig"))?;
    Ok(Some(ClusterState {
        name: name.to_owned(),
        arn: cluster.arn().ok_or_else(|| missing("arn"))?.to_owned(),
        tags: tags_of(cluster.tags()),
        status: cluster.status().ok_or_else(|| missing("status"))?.as_str().to_owned(),
        settings: ClusterSettings {
            version: cluster.version().ok_or_else(|| missing("version"))?.to_owned(),
            endpoint_public_access: vpc.endpoint_public_access(),
            public_access_cidrs: sorted(vpc.public_access_cidrs()),
            placement: Placement {
                subnet_ids: sorted(vpc.subnet_ids()),
                security_group_ids: sorted(vpc.security_group_ids()),
            },
        },
        endpoint: cluster.endpoint().map(str::to_owned),
        certificate_authority: cluster.certificate_authority().and_then(|c| c.data()).map(str::to_owned),
        oidc_issuer: cluster.identity().and_then(|i| i.oidc()).and_then(|o| o.issuer()).map(str::to_owned),
        eks_security_group_id: vpc.cluster_security_group_id().filter(|id| !id.is_empty()).map(str::to_owned),
        encryption_key_arn: cluster
            .encryption_config()
            .iter()
            .find_map(|c| c.provider().and_then(|p| p.key_arn()))
            .map(str::to_owned),
    }))
}

fn vpc_config(settings: &ClusterSettings) -> VpcConfigRequest {
    VpcConfigRequest::builder()
        .set_subnet_ids(Some(settings.placement.subnet_ids.clone()))
        .set_security_group_ids(Some(settings.placement.security_group_ids.clone()))
        .endpoint_public_access(settings.endpoint_public_access)
        .endpoint_private_access(true)
        .set_public_access_cidrs(settings.endpoint_public_access.then(|| settings.public_access_cidrs.clone()))
        .build()
}

/// IAM and KMS are eventually consistent: right after CreateRole or CreateKey, EKS may refuse
/// the new role ("could not be assumed") or key ("invalid", "not found") for a while.
const NEW_ROLE_OR_KEY: RetryWhile =
    RetryWhile { condition: is_role_or_key_not_yet_visible, timeout: Duration::from_secs(120) };

/// Whether EKS refused a role or KMS key that most likely just has not propagated yet.
fn is_role_or_key_not_yet_visible(error: &Error) -> bool {
    let Some(error) = error.aws().filter(|error| error.code.as_deref() == Some("InvalidParameterException")) else {
        return false;
    };
    let message = error.message.to_ascii_lowercase();
    let role = message.contains("role")
        && (message.contains("could not be assumed")
            || message.contains("cannot be assumed")
            || message.contains("does not exist"));
    let key = message.contains("kms")
        && ["invalid", "not found", "does not exist", "access denied", "not authorized"]
            .iter()
            .any(|phrase| message.contains(phrase));
    role || key
}

/// A fresh idempotency token for one EKS create or update: the SDK sends the same token with each
/// of its retries, so a request whose answer was lost is not carried out twice.
pub(super) fn request_token() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Polls until the cluster is ACTIVE.
async fn wait_active(eks: &Client, name: &str, patience: Patience<'_>) -> Result<ClusterState, Error> {
    let what = format!("cluster {name}");
    wait_until("WaitClusterActive", &what, patience, || async {
        Ok(observe_cluster(eks, name).await?.map(|cluster| {
            if cluster.status == ClusterStatus::Active.as_str() {
                Look::Ready(cluster)
            } else if cluster.status == ClusterStatus::Failed.as_str() {
                Look::Failed(format!("{what} is FAILED"))
            } else {
                Look::Pending(format!("{what} is {}", cluster.status))
            }
        }))
    })
    .await
}

/// Creates the cluster or brings version, endpoint access and tags to `spec`; waits for ACTIVE.
pub async fn ensure_cluster(eks: &Client, spec: &Cluster, patience: Patience<'_>) -> Result<ClusterState, Error> {
    let Some(existing) = observe_cluster(eks, &spec.name).await? else {
        let encryption = EncryptionConfig::builder()
            .resources("secrets")
            .provider(Provider::builder().key_arn(&spec.kms_key_arn).build())
            .build();
        // One token for every attempt: EKS answers a repeated request (the SDK's retry after a lost
        // answer) with the cluster the first one created instead of ResourceInUseException.
        let token = request_token();
        retry_while(NEW_ROLE_OR_KEY, patience.stop, || async {
            eks.create_cluster()
                .client_request_token(&token)
                .name(&spec.name)
                .version(&spec.settings.version)
                .role_arn(&spec.role_arn)
                .resources_vpc_config(vpc_config(&spec.settings))
                .encryption_config(encryption.clone())
                .access_config(
                    CreateAccessConfigRequest::builder().authentication_mode(AuthenticationMode::Api).build(),
                )
                .set_tags(Some(hash_map(&spec.tags)))
                .send()
                .await
                .during("CreateCluster")
        })
        .await?;
        return wait_active(eks, &spec.name, patience).await;
    };
    let mut cluster = wait_active(eks, &spec.name, patience).await?;
    let version = &spec.settings.version;
    if existing.settings.differences(&spec.settings).contains(&ClusterSetting::Version) {
        // EKS upgrades a control plane only while every node group runs its version: node
        // groups an interrupted upgrade left one minor behind go first.
        for group in observe_node_groups(eks, &spec.name).await? {
            if group.version != cluster.settings.version {
                upgrade_node_group(eks, &spec.name, &group.name, &cluster.settings.version, patience).await?;
            }
        }
        tracing::debug!(cluster = %spec.name, from = %cluster.settings.version, to = %version, "upgrading control plane");
        eks.update_cluster_version()
            .name(&spec.name)
            .version(version)
            .client_request_token(request_token())
            .send()
            .await
            .during("UpdateClusterVersion")?;
        cluster = wait_until_version(eks, &spec.name, version, patience).await?;
    }
    if cluster.settings.differences(&spec.settings).into_iter().any(ClusterSetting::in_vpc_config) {
        // The response may carry no update object; the cluster's status is what we wait on.
        eks.update_cluster_config()
            .name(&spec.name)
            .resources_vpc_config(vpc_config(&spec.settings))
            .send()
            .await
            .during("UpdateClusterConfig")?;
        cluster = wait_active(eks, &spec.name, patience).await?;
    }
    let arn = &cluster.arn;
    sync_tags(&cluster.tags, &spec.tags, |set| tag(eks, arn, set), |keys| untag(eks, arn, keys)).await?;
    cluster.tags = spec.tags.clone();
    Ok(cluster)
}

/// `TagResource`, shared by the cluster's and add-ons' tag updates and the node group's mark.
pub(super) async fn tag(eks: &Client, arn: &str, set: Tags) -> Result<(), Error> {
    eks.tag_resource().resource_arn(arn).set_tags(Some(hash_map(&set))).send().await.during("TagResource")?;
    Ok(())
}

/// `UntagResource`: the tag keys to remove from a cluster or an add-on.
pub(super) async fn untag(eks: &Client, arn: &str, keys: Vec<String>) -> Result<(), Error> {
    eks.untag_resource().resource_arn(arn).set_tag_keys(Some(keys)).send().await.during("UntagResource")?;
    Ok(())
}

async fn wait_until_version(
    eks: &Client,
    name: &str,
    version: &str,
    patience: Patience<'_>,
) -> Result<ClusterState, Error> {
    wait("WaitClusterVersion", patience, || async {
        let cluster = wait_active(eks, name, patience).await?;
        if cluster.settings.version == version {
            Ok(Poll::Ready(cluster))
        } else {
            Ok(Poll::Pending(format!("cluster {name} runs Kubernetes {}", cluster.settings.version)))
        }
    })
    .await
}

/// Every node group of the cluster.
pub async fn observe_node_groups(eks: &Client, cluster: &str) -> Result<Vec<NodeGroupState>, Error> {
    let listed = absent_if_missing(eks.list_nodegroups().cluster_name(cluster).send().await.during("ListNodegroups"))?;
    let names = listed.iter().flat_map(|out| out.nodegroups());
    let groups = futures::future::try_join_all(names.map(|name| observe_node_group(eks, cluster, name))).await?;
    Ok(groups.into_iter().flatten().collect())
}

async fn observe_node_group(eks: &Client, cluster: &str, name: &str) -> Result<Option<NodeGroupState>, Error> {
    let found = absent_if_missing(
        eks.describe_nodegroup().cluster_name(cluster).nodegroup_name(name).send().await.during("DescribeNodegroup"),
    )?;
    let Some(group) = found.and_then(|out| out.nodegroup) else { return Ok(None) };
    let missing = |field| Error::missing("DescribeNodegroup", field);
    let scaling = group.scaling_config().ok_or_else(|| missing("scalingConfig"))?;
    Ok(Some(NodeGroupState {
        name: name.to_owned(),
        arn: group.nodegroup_arn().ok_or_else(|| missing("nodegroupArn"))?.to_owned(),
        tags: tags_of(group.tags()),
        status: group.status().ok_or_else(|| missing("status"))?.as_str().to_owned(),
        instance_types: group.instance_types().to_vec(),
        scaling: Scaling {
            min_size: scaling.min_size().ok_or_else(|| missing("scalingConfig.minSize"))?,
            desired_size: scaling.desired_size().ok_or_else(|| missing("scalingConfig.desiredSize"))?,
            max_size: scaling.max_size().ok_or_else(|| missing("scalingConfig.maxSize"))?,
        },
        version: group.version().ok_or_else(|| missing("version"))?.to_owned(),
    }))
}

async fn wait_node_group(
    eks: &Client,
    cluster: &str,
    name: &str,
    patience: Patience<'_>,
) -> Result<NodeGroupState, Error> {
    let what = format!("node group {name}");
    let failed = [NodegroupStatus::CreateFailed.as_str(), NodegroupStatus::Degraded.as_str()];
    wait_until("WaitNodegroupActive", &what, patience, || async {
        Ok(observe_node_group(eks, cluster, name).await?.map(|group| {
            if group.status == NodegroupStatus::Active.as_str() {
                Look::Ready(group)
            } else if failed.contains(&group.status.as_str()) {
                Look::Failed(format!("{what} is {}", group.status))
            } else {
                Look::Pending(format!("{what} is {}", group.status))
            }
        }))
    })
    .await
}

async fn wait_node_group_gone(eks: &Client, cluster: &str, name: &str, patience: Patience<'_>) -> Result<(), Error> {
    wait_gone("WaitNodegroupDeleted", patience, || async {
        Ok(observe_node_group(eks, cluster, name).await?.map(|group| format!("node group {name} is {}", group.status)))
    })
    .await
}

fn scaling_config(scaling: Scaling) -> NodegroupScalingConfig {
    NodegroupScalingConfig::builder()
        .min_size(scaling.min_size)
        .desired_size(scaling.desired_size)
        .max_size(scaling.max_size)
        .build()
}

/// Creates the node group (at the configured size) or rescales it — leaving the desired size to
/// the cluster autoscaler while `ignore_desired_size_changes` — and waits for ACTIVE; only then
/// deletes any other group of the cluster (an earlier instance type), so the nodes of the old
/// type keep running until the new ones are ready.
pub async fn ensure_node_group(
    eks: &Client,
    spec: &NodeGroup,
    patience: Patience<'_>,
) -> Result<NodeGroupState, Error> {
    let cluster = &spec.cluster;
    let groups = observe_node_groups(eks, cluster).await?;
    let group = match groups.iter().find(|group| group.name == spec.name) {
        None => {
            let token = request_token();
            retry_while(NEW_ROLE_OR_KEY, patience.stop, || async {
                eks.create_nodegroup()
                    .client_request_token(&token)
                    .cluster_name(cluster)
                    .nodegroup_name(&spec.name)
                    .node_role(&spec.role_arn)
                    .set_subnets(Some(spec.subnet_ids.clone()))
                    .instance_types(&spec.instance_type)
                    .scaling_config(scaling_config(spec.scaling))
                    .version(&spec.version)
                    .update_config(rolling_update())
                    .set_tags(Some(hash_map(&spec.tags)))
                    .send()
                    .await
                    .during("CreateNodegroup")
            })
            .await?;
            wait_node_group(eks, cluster, &spec.name, patience).await?
        }
        Some(_) => {
            let mut group = wait_node_group(eks, cluster, &spec.name, patience).await?;
            if group.version != spec.version {
                group = upgrade_node_group(eks, cluster, &spec.name, &spec.version, patience).await?;
            }
            let scaling = spec.scaling.kept_for(group.scaling, spec.ignore_desired_size_changes);
            if group.scaling != scaling {
                eks.update_nodegroup_config()
                    .client_request_token(request_token())
                    .cluster_name(cluster)
                    .nodegroup_name(&spec.name)
                    .scaling_config(scaling_config(scaling))
                    .send()
                    .await
                    .during("UpdateNodegroupConfig")?;
                wait_node_group(eks, cluster, &spec.name, patience).await?
            } else {
                group
            }
        }
    };
    add_missing_tags(&group.tags, &spec.tags, |missing| tag(eks, &group.arn, missing)).await?;
    for old in groups.iter().filter(|old| old.name != spec.name) {
        remove_node_group(eks, cluster, &old.name, patience).await?;
    }
    Ok(group)
}

/// How a node group replaces its nodes (on a version upgrade): one node at a time, so that
/// workloads spread over the nodes (Retool runs at least two api replicas) keep serving.
fn rolling_update() -> NodegroupUpdateConfig {
    NodegroupUpdateConfig::builder().max_unavailable(1).build()
}

/// Moves node group `name` to Kubernetes `version` (its nodes replaced one at a time, see
/// [`rolling_update`]) and waits until it runs it.
async fn upgrade_node_group(
    eks: &Client,
    cluster: &str,
    name: &str,
    version: &str,
    patience: Patience<'_>,
) -> Result<NodeGroupState, Error> {
    tracing::debug!(cluster, node_group = name, version, "upgrading node group");
    eks.update_nodegroup_config()
        .client_request_token(request_token())
        .cluster_name(cluster)
        .nodegroup_name(name)
        .update_config(rolling_update())
        .send()
        .await
        .during("UpdateNodegroupConfig")?;
    wait_node_group(eks, cluster, name, patience).await?;
    eks.update_nodegroup_version()
        .client_request_token(request_token())
        .cluster_name(cluster)
        .nodegroup_name(name)
        .version(version)
        .send()
        .await
        .during("UpdateNodegroupVersion")?;
    wait("WaitNodegroupVersion", patience, || async {
        let group = wait_node_group(eks, cluster, name, patience).await?;
        if group.version == version {
            Ok(Poll::Ready(group))
        } else {
            Ok(Poll::Pending(format!("node group {name} runs Kubernetes {}", group.version)))
        }
    })
    .await
}

async fn remove_node_group(eks: &Client, cluster: &str, name: &str, patience: Patience<'_>) -> Result<(), Error> {
    ok_if_missing(
        eks.delete_nodegroup().cluster_name(cluster).nodegroup_name(name).send().await.during("DeleteNodegroup"),
    )?;
    wait_node_group_gone(eks, cluster, name, patience).await
}

/// Deletes every node group, then the cluster, waiting for each to be gone.
pub async fn remove_cluster(eks: &Client, name: &str, patience: Patience<'_>) -> Result<(), Error> {
    for group in observe_node_groups(eks, name).await? {
        remove_node_group(eks, name, &group.name, patience).await?;
    }
    ok_if_missing(eks.delete_cluster().name(name).send().await.during("DeleteCluster"))?;
    wait_gone("WaitClusterDeleted", patience, || async {
        Ok(observe_cluster(eks, name).await?.map(|cluster| format!("cluster {name} is {}", cluster.status)))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(code: &str, message: &str) -> Error {
        Error::Aws(crate::error::AwsError::coded("CreateCluster", code, message))
    }

    #[test]
    fn a_role_or_key_not_yet_propagated_is_retried_and_nothing_else() {
        let retried = [
            "Role with arn: arn:aws:iam::123456789012:role/acme-eks-cluster, could not be assumed because it does not exist or the trusted entity is not correct",
            "The role with name acme-eks-nodes cannot be found. (Service: AmazonIdentityManagement) does not exist",
            "Invalid KMS key arn:aws:kms:us-east-1:123456789012:key/abc",
            "KMS key arn:aws:kms:us-east-1:123456789012:key/abc not found",
        ];
        for message in retried {
            assert!(is_role_or_key_not_yet_visible(&refused("InvalidParameterException", message)), "{message}");
        }
        assert!(!is_role_or_key_not_yet_visible(&refused(
            "InvalidParameterException",
            "unsupported Kubernetes version 1.20"
        )));
        assert!(!is_role_or_key_not_yet_visible(&refused("AccessDeniedException", "role could not be assumed")));
        assert_eq!(NEW_ROLE_OR_KEY.timeout, Duration::from_secs(120));
    }
}
