//! The optional ElastiCache (Redis) replication groups — the cache (`cache.enabled`) and Retool
//! RPC's own (`rpc.enabled`) — and the subnet group they share. One chain for both because the
//! subnet group is theirs together: it is made before either group and may only go once neither
//! uses it. Each group is created when enabled and deleted when not; node type (and the cache's
//! engine version and maintenance window) change in place.

use async_trait::async_trait;

use super::{Chain, Context, Target, Upstream};
use crate::aws::AwsClients;
use crate::error::Error;
use crate::resources::deployment::aws::cache;
use crate::resources::deployment::desired::{Cache, Desired};
use crate::resources::deployment::drift::{Area, Finding, finding, tag_drift};
use crate::resources::deployment::model::{CacheSetting, CacheSettings};
use crate::resources::deployment::observed::{CacheSeen, CacheState, Observed};
use crate::resources::drift::DriftKind;

/// The cache and the RPC group.
pub struct CacheChain;

/// One of the chain's replication groups: its configuration block, name and desired settings,
/// and what exists of it.
struct Group<'a> {
    block: &'static str,
    /// How its settings are named in findings.
    label: &'static str,
    name: String,
    enabled: bool,
    settings: CacheSettings,
    live: Option<&'a CacheState>,
}

fn groups<'a>(desired: &Desired, observed: &'a Observed) -> [Group<'a>; 2] {
    let (spec, names) = (&desired.spec, &desired.names);
    [
        Group {
            block: "cache",
            label: "ElastiCache",
            name: names.cache(),
            enabled: spec.cache.enabled,
            settings: spec.cache.settings.clone(),
            live: observed.live_cache(),
        },
        Group {
            block: "rpc",
            label: "ElastiCache RPC",
            name: names.rpc(),
            enabled: spec.rpc.enabled,
            settings: spec.rpc.settings(),
            live: observed.live_rpc(),
        },
    ]
}

/// Ensures `wanted` when it is set, else deletes the group `name`.
async fn converge_group(cx: &Context<'_>, name: String, wanted: Option<Cache>) -> Result<(), Error> {
    let elasticache = cx.clients.elasticache();
    match wanted {
        Some(wanted) => cache::ensure(elasticache, &wanted, cx.rds_patience()).await.map(|_| ()),
        None => cache::remove(elasticache, &name, cx.rds_patience()).await,
    }
}

/// How one group differs: missing, surplus, its settings, its tags.
fn group_drift(group: &Group<'_>, desired: &Desired) -> Vec<Finding> {
    let object = format!("ElastiCache replication group {}", group.name);
    let found = |kind, detail: String| vec![finding(Area::Cache, &object, kind, &detail)];
    let mut found = match (group.live, group.enabled) {
        (None, true) => found(DriftKind::Missing, "does not exist".into()),
        (Some(_), false) => found(DriftKind::Surplus, format!("exists but {} is disabled", group.block)),
        (Some(live), true) => live
            .settings
            .differences(&group.settings)
            .into_iter()
            .map(|(setting, difference)| {
                let detail = match setting {
                    CacheSetting::NewerEngineVersion => format!(
                        "is {}, newer than the configured {}; ElastiCache cannot downgrade: set {}.engine_version to {}",
                        difference.have, difference.want, group.block, difference.have
                    ),
                    _ => format!("is {}, configured {}", difference.have, difference.want),
                };
                let setting = format!("{} {}", group.label, difference.setting);
                finding(Area::Cache, &setting, DriftKind::Setting, &detail)
            })
            .collect(),
        (None, false) => Vec::new(),
    };
    if let Some(live) = group.live.filter(|_| group.enabled) {
        found.extend(tag_drift(Area::Cache, &object, &live.tags, &desired.tags()));
    }
    found
}

#[async_trait]
impl Chain for CacheChain {
    type Seen = CacheSeen;
    type Made = ();

    async fn observe(clients: &AwsClients, target: Target<'_>) -> Result<Self::Seen, Error> {
        let (elasticache, names) = (clients.elasticache(), target.names);
        let (cache_group, rpc_group, subnet_group) = (names.cache(), names.rpc(), names.cache_subnet_group());
        let wanted = [(cache_group.as_str(), target.cache_member), (rpc_group.as_str(), false)];
        let (groups, subnet_group) = tokio::try_join!(
            cache::observe_all(elasticache, &wanted),
            cache::observe_subnet_group(elasticache, &subnet_group)
        )?;
        let mut groups = groups.into_iter();
        let (group, rpc) = (groups.next().flatten(), groups.next().flatten());
        Ok(CacheSeen { group, rpc, subnet_group })
    }

    async fn ensure(cx: &Context<'_>, upstream: &Upstream) -> Result<Self::Made, Error> {
        let (desired, names) = (cx.desired, &cx.desired.names);
        let (cache_group, rpc_group) =
            (desired.cache(&upstream.network, &upstream.key_arn), desired.rpc(&upstream.network, &upstream.key_arn));
        let Some(any) = cache_group.as_ref().or(rpc_group.as_ref()) else { return Self::remove(cx).await.map(|_| ()) };
        cache::ensure_subnet_group(cx.clients.elasticache(), any, cx.stop).await?;
        tokio::try_join!(converge_group(cx, names.cache(), cache_group), converge_group(cx, names.rpc(), rpc_group))?;
        Ok(())
    }

    async fn remove(cx: &Context<'_>) -> Result<Vec<String>, Error> {
        let (elasticache, names) = (cx.clients.elasticache(), &cx.desired.names);
        let (cache_group, rpc_group) = (names.cache(), names.rpc());
        tokio::try_join!(
            cache::remove(elasticache, &cache_group, cx.rds_patience()),
            cache::remove(elasticache, &rpc_group, cx.rds_patience())
        )?;
        let leftover = cache::remove_subnet_group(elasticache, &names.cache_subnet_group(), cx.rds_patience()).await?;
        Ok(leftover.into_iter().collect())
    }

    fn drift(desired: &Desired, observed: &Observed) -> Vec<Finding> {
        let groups = groups(desired, observed);
        let mut found: Vec<Finding> = groups.iter().flat_map(|group| group_drift(group, desired)).collect();
        if groups.iter().any(|group| group.enabled)
            && let Some(subnets) = &observed.elasticache.subnet_group
        {
            let object = format!("cache subnet group {}", subnets.name);
            found.extend(tag_drift(Area::Cache, &object, &subnets.tags, &desired.tags()));
        }
        found
    }
}
