//! The optional ElastiCache (Redis) replication groups — the cache and Retool RPC's — and the
//! subnet group they share: each group one node in the network's private subnets behind the
//! cluster security group (which admits its own members), TLS in transit, encryption at rest with
//! the deployment's KMS key.
//!
//! Changed in place: node type, engine version (ElastiCache upgrades, never downgrades) and
//! maintenance window, applied immediately. The engine version and maintenance window are read
//! only while configured, since AWS reports them on the member cluster alone.
//!
//! Deleting: `DeleteReplicationGroup` is accepted once the group reports `deleting`; the subnet
//! group can only go once no replication group uses it, so its deletion is repeated while AWS
//! answers `CacheSubnetGroupInUse`, within the delete timeout — that repetition is the wait.

use crate::aws::During;
use std::collections::BTreeMap;

use aws_sdk_elasticache::Client;
use aws_sdk_elasticache::types::{CacheCluster, ReplicationGroup, Tag};

use super::{Look, Patience, absent_if_missing, ok_if_missing, tag_map, wait_gone, wait_until};
use crate::aws::tags::carries_all;
use crate::aws::wait::{RetryWhile, create_once, retry_while};
use crate::error::Error;
use crate::resources::deployment::desired::Cache;
use crate::resources::deployment::model::{CacheSetting, CacheSettings, Difference};
use crate::resources::deployment::observed::{CacheState, GroupState};
use crate::stop::StopSignal;

fn tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().map(|(key, value)| Tag::builder().key(key).value(value).build()).collect()
}

/// The replication group `id`; `None` when it does not exist. With `read_member`, also the
/// engine version and maintenance window, which AWS reports only on the member clusters (the
/// ReplicationGroup shape has neither): one DescribeCacheClusters of the first member more.
pub async fn observe(elasticache: &Client, id: &str, read_member: bool) -> Result<Option<CacheState>, Error> {
    let found = absent_if_missing(
        elasticache
            .describe_replication_groups()
            .replication_group_id(id)
            .send()
            .await
            .during("DescribeReplicationGroups"),
    )?;
    match found.and_then(|out| out.replication_groups().iter().find(|g| g.replication_group_id() == Some(id)).cloned())
    {
        Some(group) => state(elasticache, group, read_member).await.map(Some),
        None => Ok(None),
    }
}

/// The replication groups `wanted` names (each with whether its member cluster is read), in
/// that order, `None` for one that does not exist. One DescribeReplicationGroups of every
/// group in the account (100 a page) instead of one per name: a refresh pays for the groups of
/// the deployment that exist, not for each it could have (the RPC group is usually off).
pub async fn observe_all(elasticache: &Client, wanted: &[(&str, bool)]) -> Result<Vec<Option<CacheState>>, Error> {
    let mut found: Vec<Option<ReplicationGroup>> = vec![None; wanted.len()];
    let mut pages = elasticache.describe_replication_groups().max_records(100).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.during("DescribeReplicationGroups")?;
        for group in page.replication_groups() {
            let position = wanted.iter().position(|(id, _)| group.replication_group_id() == Some(*id));
            if let Some(slot) = position.and_then(|at| found.get_mut(at)) {
                *slot = Some(group.clone());
            }
        }
    }
    let states = found.into_iter().zip(wanted).map(|(group, (_, read_member))| async move {
        match group {
            Some(group) => state(elasticache, group, *read_member).await.map(Some),
            None => Ok(None),
        }
    });
    futures::future::try_join_all(states).await
}

/// What a described replication group is, with its tags (and its member cluster's settings
/// when `read_member`).
async fn state(elasticache: &Client, group: ReplicationGroup, read_member: bool) -> Result<CacheState, Error> {
    let missing = |field| Error::missing("DescribeReplicationGroups", field);
    let arn = group.arn().ok_or_else(|| missing("ARN"))?.to_owned();
    let member = group.member_clusters().first().filter(|_| read_member);
    let member = async {
        match member {
            Some(member) => observe_member(elasticache, member).await,
            None => Ok(None),
        }
    };
    let (tags, member) = tokio::try_join!(resource_tags(elasticache, &arn), member)?;
    Ok(CacheState {
        arn,
        tags,
        status: group.status().ok_or_else(|| missing("Status"))?.to_owned(),
        settings: CacheSettings {
            node_type: group.cache_node_type().ok_or_else(|| missing("CacheNodeType"))?.to_owned(),
            engine_version: member.as_ref().and_then(|m| m.engine_version()).map(str::to_owned),
            maintenance_window: member.as_ref().and_then(|m| m.preferred_maintenance_window()).map(str::to_owned),
        },
        transit_encryption: group.transit_encryption_enabled(),
        at_rest_encryption: group.at_rest_encryption_enabled(),
        endpoint: group
            .node_groups()
            .first()
            .and_then(|n| n.primary_endpoint())
            .and_then(|e| e.address())
            .map(str::to_owned),
    })
}

/// Member cluster `id` of a replication group; `None` when it does not exist.
async fn observe_member(elasticache: &Client, id: &str) -> Result<Option<CacheCluster>, Error> {
    let found = absent_if_missing(
        elasticache.describe_cache_clusters().cache_cluster_id(id).send().await.during("DescribeCacheClusters"),
    )?;
    Ok(found.and_then(|out| out.cache_clusters().iter().find(|c| c.cache_cluster_id() == Some(id)).cloned()))
}

/// Waits until the group is available and, when `settled`, runs every setting of `spec` that
/// converge can apply (a newer engine than configured is drift, not something to wait for).
async fn wait_available(
    elasticache: &Client,
    spec: &Cache,
    settled: bool,
    patience: Patience<'_>,
) -> Result<CacheState, Error> {
    let id = &spec.replication_group;
    let what = format!("replication group {id}");
    wait_until("WaitReplicationGroupAvailable", &what, patience, || async {
        Ok(observe(elasticache, id, spec.settings.reads_member()).await?.map(|group| {
            let pending: Vec<String> =
                if settled { applicable(&group, spec).map(|(_, d)| d.to_string()).collect() } else { Vec::new() };
            if group.status == "available" && pending.is_empty() {
                Look::Ready(group)
            } else if ["create-failed", "deleting"].contains(&group.status.as_str()) {
                Look::Failed(format!("{what} is {}", group.status))
            } else {
                Look::Pending(format!("{what} is {} ({})", group.status, pending.join(", ")))
            }
        }))
    })
    .await
}

/// The differences from `spec` that ModifyReplicationGroup can apply.
fn applicable<'a>(group: &CacheState, spec: &'a Cache) -> impl Iterator<Item = (CacheSetting, Difference)> + 'a {
    group
        .settings
        .differences(&spec.settings)
        .into_iter()
        .filter(|(setting, _)| *setting != CacheSetting::NewerEngineVersion)
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

/// Creates the subnet group the replication groups share (from `spec`, any of them), or sets
/// the tags it lacks.
pub async fn ensure_subnet_group(elasticache: &Client, spec: &Cache, stop: &StopSignal) -> Result<(), Error> {
    if let Some(group) = observe_subnet_group(elasticache, &spec.subnet_group).await? {
        return mark(elasticache, &group.arn, &group.tags, &spec.tags).await;
    }
    let send = || async {
        elasticache
            .create_cache_subnet_group()
            .cache_subnet_group_name(&spec.subnet_group)
            .cache_subnet_group_description("Private subnets of a Retool deployment's cache")
            .set_subnet_ids(Some(spec.placement.subnet_ids.clone()))
            .set_tags(Some(tags(&spec.tags)))
            .send()
            .await
            .during("CreateCacheSubnetGroup")
            .map(|_| ())
    };
    let find = || async {
        let found = observe_subnet_group(elasticache, &spec.subnet_group).await?;
        Ok(found.filter(|group| carries_all(&group.tags, &spec.tags)).map(|_| ()))
    };
    create_once("CreateCacheSubnetGroup", stop, send, find).await
}

/// Creates the replication group in its subnet group (which must exist: [`ensure_subnet_group`]),
/// or waits until it is available and changes in place what differs — node type, engine version
/// (upgrades only), maintenance window — in one ModifyReplicationGroup applied immediately;
/// waits until it runs them.
pub async fn ensure(elasticache: &Client, spec: &Cache, patience: Patience<'_>) -> Result<CacheState, Error> {
    let settings = &spec.settings;
    let id = &spec.replication_group;
    if observe(elasticache, id, false).await?.is_some_and(|group| group.status == "deleting") {
        // Switched off and on again before AWS finished deleting it: the name is free once it is gone.
        tracing::info!(replication_group = %id, "waiting for the replication group being deleted to be gone");
        wait_gone("WaitReplicationGroupDeleted", patience, || async {
            Ok(observe(elasticache, id, false)
                .await?
                .map(|group| format!("replication group {id} is {}", group.status)))
        })
        .await?;
    }
    if observe(elasticache, id, false).await?.is_none() {
        let send = || async {
            elasticache
                .create_replication_group()
                .replication_group_id(&spec.replication_group)
                .replication_group_description(spec.description)
                .engine("redis")
                .cache_node_type(&settings.node_type)
                .set_engine_version(settings.engine_version.clone())
                .set_preferred_maintenance_window(settings.maintenance_window.clone())
                .num_cache_clusters(1)
                .transit_encryption_enabled(true)
                .at_rest_encryption_enabled(true)
                .kms_key_id(&spec.kms_key_arn)
                .cache_subnet_group_name(&spec.subnet_group)
                .set_security_group_ids(Some(spec.placement.security_group_ids.clone()))
                .set_tags(Some(tags(&spec.tags)))
                .send()
                .await
                .during("CreateReplicationGroup")
                .map(|_| ())
        };
        // The id taken by this create's earlier attempt: the group carries its tags.
        let find = || async {
            let found = observe(elasticache, id, false).await?;
            Ok(found.filter(|group| carries_all(&group.tags, &spec.tags)).map(|_| ()))
        };
        create_once("CreateReplicationGroup", patience.stop, send, find).await?;
    }
    let group = wait_available(elasticache, spec, false, patience).await?;
    let changes: Vec<_> = applicable(&group, spec).collect();
    let group = if changes.is_empty() {
        group
    } else {
        let listed: Vec<String> = changes.iter().map(|(_, difference)| difference.to_string()).collect();
        tracing::info!(replication_group = %spec.replication_group, changes = %listed.join("; "), "modifying the replication group");
        let mut modify = elasticache
            .modify_replication_group()
            .replication_group_id(&spec.replication_group)
            .apply_immediately(true);
        for (setting, _) in &changes {
            modify = match setting {
                CacheSetting::NodeType => modify.cache_node_type(&settings.node_type),
                CacheSetting::EngineVersion => modify.set_engine_version(settings.engine_version.clone()),
                CacheSetting::MaintenanceWindow => {
                    modify.set_preferred_maintenance_window(settings.maintenance_window.clone())
                }
                CacheSetting::NewerEngineVersion => modify,
            };
        }
        modify.send().await.during("ModifyReplicationGroup")?;
        wait_available(elasticache, spec, true, patience).await?
    };
    mark(elasticache, &group.arn, &group.tags, &spec.tags).await?;
    Ok(group)
}

/// What removing the cache left behind that the user should know about.
pub type Leftover = Option<String>;

/// Deletes the replication group `id`; done once AWS reports it `deleting`.
pub async fn remove(elasticache: &Client, id: &str, patience: Patience<'_>) -> Result<(), Error> {
    let Some(group) = observe(elasticache, id, false).await? else { return Ok(()) };
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
        let group = observe(elasticache, id, false).await?.filter(|group| group.status != "deleting");
        Ok(group.map(|group| format!("replication group {id} is {}", group.status)))
    })
    .await
}

/// Deletes the subnet group, repeated while a replication group still uses it (one being
/// deleted does, until it is gone). A deletion that fails without an AWS error code (the
/// endpoint cannot process the call at all) is reported as a leftover instead of failing
/// destroy: the group costs nothing and is named in the warning.
pub async fn remove_subnet_group(
    elasticache: &Client,
    subnet_group: &str,
    patience: Patience<'_>,
) -> Result<Leftover, Error> {
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
                "The cache subnet group {subnet_group} could not be deleted; it costs nothing: delete it by hand \
                 (aws elasticache delete-cache-subnet-group --cache-subnet-group-name {subnet_group}).\n{error}"
            )))
        }
        Err(error) => Err(error),
    }
}
