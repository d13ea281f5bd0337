//! The optional ElastiCache (Redis) replication group and its subnet group: one node in the
//! network's private subnets behind the cluster security group (which admits its own members),
//! TLS in transit, encryption at rest with the deployment's KMS key.
//!
//! Deleting: `DeleteReplicationGroup` is accepted once the group reports `deleting`; the subnet
//! group can only go once the replication group is gone, so its deletion is repeated while AWS
//! answers `CacheSubnetGroupInUse`, within the delete timeout — that repetition is the wait.

use crate::aws::During;
use std::collections::BTreeMap;

use aws_sdk_elasticache::Client;
use aws_sdk_elasticache::types::Tag;

use super::{Look, Patience, absent_if_missing, ok_if_missing, tag_map, wait_gone, wait_until};
use crate::aws::wait::{RetryWhile, retry_while};
use crate::error::Error;
use crate::resources::deployment::desired::Cache;
use crate::resources::deployment::observed::{CacheState, GroupState};

fn tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().map(|(key, value)| Tag::builder().key(key).value(value).build()).collect()
}

pub async fn observe(elasticache: &Client, id: &str) -> Result<Option<CacheState>, Error> {
    let found = absent_if_missing(
        elasticache
            .describe_replication_groups()
            .replication_group_id(id)
            .send()
            .await
            .during("DescribeReplicationGroups"),
    )?;
    let Some(group) =
        found.and_then(|out| out.replication_groups().iter().find(|g| g.replication_group_id() == Some(id)).cloned())
    else {
        return Ok(None);
    };
    let missing = |field| Error::missing("DescribeReplicationGroups", field);
    let arn = group.arn().ok_or_else(|| missing("ARN"))?.to_owned();
    let tags = resource_tags(elasticache, &arn).await?;
    Ok(Some(CacheState {
        arn,
        tags,
        status: group.status().ok_or_else(|| missing("Status"))?.to_owned(),
        node_type: group.cache_node_type().ok_or_else(|| missing("CacheNodeType"))?.to_owned(),
        transit_encryption: group.transit_encryption_enabled(),
        at_rest_encryption: group.at_rest_encryption_enabled(),
        endpoint: group
            .node_groups()
            .first()
            .and_then(|n| n.primary_endpoint())
            .and_then(|e| e.address())
            .map(str::to_owned),
    }))
}

async fn wait_available(elasticache: &Client, spec: &Cache, patience: Patience<'_>) -> Result<CacheState, Error> {
    let id = &spec.replication_group;
    let what = format!("replication group {id}");
    wait_until("WaitReplicationGroupAvailable", &what, patience, || async {
        Ok(observe(elasticache, id).await?.map(|group| {
            if group.status == "available" && group.node_type == spec.node_type {
                Look::Ready(group)
            } else if ["create-failed", "deleting"].contains(&group.status.as_str()) {
                Look::Failed(format!("{what} is {}", group.status))
            } else {
                Look::Pending(format!("{what} is {} ({})", group.status, group.node_type))
            }
        }))
    })
    .await
}

async fn resource_tags(elasticache: &Client, arn: &str) -> Result<BTreeMap<String, String>, Error> {
    let listed = elasticache.list_tags_for_resource().resource_name(arn).send().await.during("ListTagsForResource")?;
    Ok(tag_map(listed.tag_list().iter().map(|tag| (tag.key(), tag.value()))))
}

/// Sets the tags of `want` an object lacks or holds with another value (others stay as they are).
async fn mark(
    elasticache: &Client,
    arn: &str,
    have: &BTreeMap<String, String>,
    want: &BTreeMap<String, String>,
) -> Result<(), Error> {
    super::add_missing_tags(have, want, |mark| async move {
        elasticache
            .add_tags_to_resource()
            .resource_name(arn)
            .set_tags(Some(tags(&mark)))
            .send()
            .await
            .during("AddTagsToResource")
    })
    .await
}

/// Cache subnet group `name`; `None` when it does not exist.
pub async fn observe_subnet_group(elasticache: &Client, name: &str) -> Result<Option<GroupState>, Error> {
    let found = absent_if_missing(
        elasticache
            .describe_cache_subnet_groups()
            .cache_subnet_group_name(name)
            .send()
            .await
            .during("DescribeCacheSubnetGroups"),
    )?;
    let group = found
        .and_then(|out| out.cache_subnet_groups().iter().find(|g| g.cache_subnet_group_name() == Some(name)).cloned());
    let Some(group) = group else { return Ok(None) };
    let arn = group.arn().ok_or(Error::missing("DescribeCacheSubnetGroups", "ARN"))?.to_owned();
    let tags = resource_tags(elasticache, &arn).await?;
    Ok(Some(GroupState { name: name.to_owned(), arn, tags }))
}

async fn subnet_group_exists(elasticache: &Client, name: &str) -> Result<bool, Error> {
    Ok(observe_subnet_group(elasticache, name).await?.is_some())
}

/// Creates the subnet group and replication group, or changes the node type; waits until
/// available.
pub async fn ensure(elasticache: &Client, spec: &Cache, patience: Patience<'_>) -> Result<CacheState, Error> {
    if let Some(group) = observe_subnet_group(elasticache, &spec.subnet_group).await? {
        mark(elasticache, &group.arn, &group.tags, &spec.tags).await?;
    } else {
        elasticache
            .create_cache_subnet_group()
            .cache_subnet_group_name(&spec.subnet_group)
            .cache_subnet_group_description("Private subnets of a Retool deployment's cache")
            .set_subnet_ids(Some(spec.placement.subnet_ids.clone()))
            .set_tags(Some(tags(&spec.tags)))
            .send()
            .await
            .during("CreateCacheSubnetGroup")?;
    }
    match observe(elasticache, &spec.replication_group).await? {
        None => {
            elasticache
                .create_replication_group()
                .replication_group_id(&spec.replication_group)
                .replication_group_description("Retool deployment cache")
                .engine("redis")
                .cache_node_type(&spec.node_type)
                .num_cache_clusters(1)
                .transit_encryption_enabled(true)
                .at_rest_encryption_enabled(true)
                .kms_key_id(&spec.kms_key_arn)
                .cache_subnet_group_name(&spec.subnet_group)
                .set_security_group_ids(Some(spec.placement.security_group_ids.clone()))
                .set_tags(Some(tags(&spec.tags)))
                .send()
                .await
                .during("CreateReplicationGroup")?;
        }
        Some(group) if group.status == "available" && group.node_type != spec.node_type => {
            elasticache
                .modify_replication_group()
                .replication_group_id(&spec.replication_group)
                .cache_node_type(&spec.node_type)
                .apply_immediately(true)
                .send()
                .await
                .during("ModifyReplicationGroup")?;
        }
        Some(_) => {}
    }
    let group = wait_available(elasticache, spec, patience).await?;
    mark(elasticache, &group.arn, &group.tags, &spec.tags).await?;
    Ok(group)
}

/// What removing the cache left behind that the user should know about.
pub type Leftover = Option<String>;

/// Deletes the replication group, then its subnet group. A subnet group deletion that fails
/// without an AWS error code (the endpoint cannot process the call at all) is reported as a
/// leftover instead of failing destroy: the group costs nothing and is named in the warning.
pub async fn remove(
    elasticache: &Client,
    id: &str,
    subnet_group: &str,
    patience: Patience<'_>,
) -> Result<Leftover, Error> {
    if let Some(group) = observe(elasticache, id).await? {
        if group.status != "deleting" {
            ok_if_missing(
                elasticache
                    .delete_replication_group()
                    .replication_group_id(id)
                    .send()
                    .await
                    .during("DeleteReplicationGroup"),
            )?;
        }
        // A group AWS reports as deleting is as good as gone: the wait is for the delete to be accepted.
        wait_gone("WaitReplicationGroupDeleting", patience, || async {
            let group = observe(elasticache, id).await?.filter(|group| group.status != "deleting");
            Ok(group.map(|group| format!("replication group {id} is {}", group.status)))
        })
        .await?;
    }
    if !subnet_group_exists(elasticache, subnet_group).await? {
        return Ok(None);
    }
    let in_use =
        RetryWhile { condition: |error| error.code() == Some("CacheSubnetGroupInUse"), timeout: patience.timeout };
    let deleted = retry_while(in_use, patience.stop, || async {
        ok_if_missing(
            elasticache
                .delete_cache_subnet_group()
                .cache_subnet_group_name(subnet_group)
                .send()
                .await
                .during("DeleteCacheSubnetGroup"),
        )
    })
    .await;
    match deleted {
        Ok(()) => Ok(None),
        Err(Error::Aws(error)) if error.code.is_none() => {
            tracing::warn!(subnet_group, error = %error, "cache subnet group left behind");
            Ok(Some(format!(
                "The cache subnet group {subnet_group} could not be deleted ({error}); it costs nothing — delete it by hand."
            )))
        }
        Err(error) => Err(error),
    }
}
