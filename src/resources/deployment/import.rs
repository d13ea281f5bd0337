//! Import: a deployment is imported by its `name`. Its cluster records what AWS has no field for
//! (network, Retool version, domain, the customer's secrets) in tags; everything else is read off
//! the objects. Import is the explicit way to take a deployment over: it adopts the cluster's
//! ownership token (or makes one, which the next apply writes) and, until that apply, the
//! deployment's unmarked objects.

use std::collections::BTreeMap;

use super::aws::chains::Target;
use super::aws::{self, eks};
use super::desired::Desired;
use super::drift;
use super::model::{self, DeploymentSpec};
use super::names::{self, Names};
use super::observed::Observed;
use super::owner::{self, Owner, Private};
use crate::aws::AwsClients;
use crate::error::Error;
use crate::framework::ResourceContext;
use crate::resources::ownership::{OWNER_TAG, OwnerToken};
use crate::value::Value;

/// The state of deployment `id`, or `None` when it does not exist; `private` receives the
/// ownership token.
pub(super) async fn import_state(
    ctx: &ResourceContext<AwsClients>,
    id: &str,
    private: &mut Vec<u8>,
) -> Result<Option<Value>, Error> {
    let client = &ctx.client;
    let names = Names::new(id);
    let Some(cluster) = eks::observe_cluster(client.eks(), &names.cluster()).await? else { return Ok(None) };
    let network_id = cluster.tags.get(names::NETWORK_TAG).cloned().ok_or_else(|| {
        Error::Invalid(format!(
            "EKS cluster {id} has no {} tag: it was not created by retool_deployment.",
            names::NETWORK_TAG
        ))
    })?;
    let token =
        cluster.tags.get(OWNER_TAG).and_then(|tag| OwnerToken::from_tag(tag)).unwrap_or_else(OwnerToken::generate);
    *private =
        Private { owner: Some(token.clone()), rest: owner::Fields { adopt_unmarked: true, ..Default::default() } }
            .encode();
    let owner = Owner { token, adopt_unmarked: true };
    // Import leaves the cache's engine version and maintenance window to AWS: not read.
    let target = Target {
        names: &names,
        network_id: &network_id,
        parameter_group: None,
        cache_member: false,
        storage_bucket: None,
        stop: &ctx.stop,
    };
    // Boxed: the futures of a whole stack are too large for a worker thread's stack in debug builds.
    let (observed, not_ours) = Box::pin(aws::observe(client, target)).await?.claimed_by(&owner, &names);
    let spec = recover_spec(id, &network_id, &observed, client.default_tags())?;
    let base = model::to_value(&spec);
    let identity = client.identity().await?.clone();
    let desired = Desired::new(spec, identity, client.region(), Some(owner));
    let found = drift::sentences(&drift::detect(&desired, &observed, &not_ours));
    Ok(Some(model::with_outputs(&base, &desired.region, &desired.spec, &observed, &found)))
}

/// The configuration of an existing deployment, from what AWS reports (import).
pub fn recover_spec(
    name: &str,
    network_id: &str,
    observed: &Observed,
    default_tags: &BTreeMap<String, String>,
) -> Result<DeploymentSpec, Error> {
    let cluster = observed.eks.cluster.as_ref().ok_or_else(|| invalid("the cluster does not exist"))?;
    let tag = |key: &str| cluster.tags.get(key).cloned();
    let retool_version =
        tag(names::VERSION_TAG).ok_or_else(|| invalid(format!("the cluster has no {} tag", names::VERSION_TAG)))?;
    let domain =
        tag(names::DOMAIN_TAG).ok_or_else(|| invalid(format!("the cluster has no {} tag", names::DOMAIN_TAG)))?;
    let database = observed.rds.database.as_ref().ok_or_else(|| invalid("the database does not exist"))?;
    let node_group = observed.eks.node_groups.first().ok_or_else(|| invalid("the cluster has no node group"))?;
    let tags: BTreeMap<String, String> = cluster
        .tags
        .iter()
        .filter(|(key, value)| !key.starts_with("retool:") && default_tags.get(*key) != Some(*value))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let major = model::major(&database.settings.engine_version).to_owned();
    let retool_db = observed.rds.retool_db.as_ref();
    let cache = observed.live_cache();
    let rpc = observed.live_rpc();
    Ok(DeploymentSpec {
        name: name.to_owned(),
        network_id: network_id.to_owned(),
        retool_version,
        domain,
        permission_boundary_arn: observed.eks.cluster_role.as_ref().and_then(|role| role.boundary.clone()),
        license_key_secret_arn: tag(names::LICENSE_TAG),
        encryption_key_secret_arn: tag(names::CUSTOMER_KEY_TAG),
        tags,
        default_tags: default_tags.clone(),
        kubernetes_version: cluster.settings.version.clone(),
        endpoint_public_access: cluster.settings.endpoint_public_access,
        public_access_cidrs: if cluster.settings.public_access_cidrs.is_empty() {
            vec![model::DEFAULT_PUBLIC_ACCESS_CIDR.to_owned()]
        } else {
            cluster.settings.public_access_cidrs.clone()
        },
        node_group: model::NodeGroupConfig {
            instance_type: node_group
                .instance_types
                .first()
                .cloned()
                .unwrap_or_else(|| model::DEFAULT_INSTANCE_TYPE.to_owned()),
            scaling: node_group.scaling,
            ignore_desired_size_changes: false,
        },
        database: model::InstanceSettings {
            engine_version: major,
            max_allocated_storage_gb: database
                .settings
                .max_allocated_storage_gb
                .filter(|gb| *gb > database.settings.allocated_storage_gb),
            // Unset: whatever windows the instance has are RDS's, as when they are not configured.
            maintenance_window: None,
            backup_window: None,
            ..database.settings.clone()
        },
        skip_final_snapshot: false,
        apply_immediately: false,
        cache: model::CacheConfig {
            enabled: cache.is_some(),
            settings: model::CacheSettings {
                node_type: cache
                    .map_or_else(|| model::DEFAULT_CACHE_NODE_TYPE.to_owned(), |c| c.settings.node_type.clone()),
                engine_version: None,
                maintenance_window: None,
            },
        },
        rpc: model::RpcConfig {
            enabled: rpc.is_some(),
            node_type: rpc.map_or_else(|| model::DEFAULT_CACHE_NODE_TYPE.to_owned(), |r| r.settings.node_type.clone()),
        },
        retool_db: model::RetoolDbConfig {
            enabled: retool_db.is_some(),
            instance_class: retool_db
                .map_or_else(|| model::DEFAULT_RETOOL_DB_CLASS.to_owned(), |d| d.settings.instance_class.clone()),
            allocated_storage_gb: retool_db
                .map_or(i32::try_from(model::DEFAULT_RETOOL_DB_STORAGE_GB).unwrap_or(20), |d| {
                    d.settings.allocated_storage_gb
                }),
        },
        // Import does not read Retool Storage: set `storage.enabled` in the configuration and the
        // next apply takes the bucket and role over (import adopts unmarked objects).
        storage: false,
        timeouts: model::Timeouts::default(),
        // The workloads are configuration only (the cluster is not read at import): the schema's
        // defaults, which the next plan brings to what the configuration says.
        workloads: model::WorkloadSpec::default(),
    })
}

fn invalid(problem: impl Into<String>) -> Error {
    Error::Invalid(problem.into())
}
