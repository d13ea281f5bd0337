//! The optional ElastiCache (Redis) replication group and its subnet group: created when
//! `cache.enabled`, deleted when not; node type, engine version and maintenance window are
//! changed in place.

use async_trait::async_trait;

use super::{Chain, Context, Target, Upstream};
use crate::aws::AwsClients;
use crate::error::Error;
use crate::resources::deployment::aws::cache;
use crate::resources::deployment::desired::Desired;
use crate::resources::deployment::drift::{Area, Finding, finding, tag_drift};
use crate::resources::deployment::model::CacheSetting;
use crate::resources::deployment::observed::{CacheSeen, Observed};
use crate::resources::drift::DriftKind;

/// The cache.
pub struct CacheChain;

#[async_trait]
impl Chain for CacheChain {
    type Seen = CacheSeen;
    type Made = ();

    async fn observe(clients: &AwsClients, target: Target<'_>) -> Result<Self::Seen, Error> {
        let (elasticache, names) = (clients.elasticache(), target.names);
        let (group, subnet_group) = (names.cache(), names.cache_subnet_group());
        let (group, subnet_group) = tokio::try_join!(
            cache::observe(elasticache, &group, target.cache_member),
            cache::observe_subnet_group(elasticache, &subnet_group)
        )?;
        Ok(CacheSeen { group, subnet_group })
    }

    async fn ensure(cx: &Context<'_>, upstream: &Upstream) -> Result<Self::Made, Error> {
        match cx.desired.cache(&upstream.network, &upstream.key_arn) {
            Some(wanted) => cache::ensure(cx.clients.elasticache(), &wanted, cx.rds_patience()).await.map(|_| ()),
            None => Self::remove(cx).await.map(|_| ()),
        }
    }

    async fn remove(cx: &Context<'_>) -> Result<Vec<String>, Error> {
        let names = &cx.desired.names;
        let leftover =
            cache::remove(cx.clients.elasticache(), &names.cache(), &names.cache_subnet_group(), cx.rds_patience())
                .await?;
        Ok(leftover.into_iter().collect())
    }

    fn drift(desired: &Desired, observed: &Observed) -> Vec<Finding> {
        let (spec, names) = (&desired.spec, &desired.names);
        let group = format!("ElastiCache replication group {}", names.cache());
        let found = |object: &str, kind, detail: String| vec![finding(Area::Cache, object, kind, &detail)];
        let mut found = match (observed.live_cache(), spec.cache.enabled) {
            (None, true) => found(&group, DriftKind::Missing, "does not exist".into()),
            (Some(_), false) => found(&group, DriftKind::Surplus, "exists but cache is disabled".into()),
            (Some(cache), true) => cache
                .settings
                .differences(&spec.cache.settings)
                .into_iter()
                .map(|(setting, difference)| {
                    let detail = match setting {
                        CacheSetting::NewerEngineVersion => format!(
                            "is {}, newer than the configured {}; ElastiCache cannot downgrade: set cache.engine_version to {}",
                            difference.have, difference.want, difference.have
                        ),
                        _ => format!("is {}, configured {}", difference.have, difference.want),
                    };
                    finding(Area::Cache, &format!("ElastiCache {}", difference.setting), DriftKind::Setting, &detail)
                })
                .collect(),
            _ => Vec::new(),
        };
        if spec.cache.enabled {
            let tags = desired.tags();
            if let Some(cache) = observed.live_cache() {
                found.extend(tag_drift(Area::Cache, &group, &cache.tags, &tags));
            }
            if let Some(subnets) = &observed.elasticache.subnet_group {
                found.extend(tag_drift(
                    Area::Cache,
                    &format!("cache subnet group {}", subnets.name),
                    &subnets.tags,
                    &tags,
                ));
            }
        }
        found
    }
}
