//! Import: a deployment is imported by its `name`. Its cluster records what AWS has no field for
//! (network, Retool version, domain, the customer's secrets) in tags; everything else is read off
//! the objects. Import is the explicit way to take a deployment over: it adopts the cluster's
//! ownership token (or makes one, which the next apply writes) and, until that apply, the
//! deployment's unmarked objects.
//!
//! A deployment whose create was interrupted — Terraform or the provider killed, so no state ever
//! held it — imports too, whatever it got to: without a cluster, the record and the token are the
//! KMS key's (the first object a create makes carries both), and every part not made yet takes the
//! configuration's defaults. Its drift lists what is missing, so the plan after the import is an
//! update that makes the rest, never a replacement.

use std::collections::BTreeMap;

use super::aws::chains::Target;
use super::aws::{self, eks, kms};
use super::desired::Desired;
use super::drift;
use super::model::{self, DeploymentSpec};
use super::names::{self, Names};
use super::observed::Observed;
use super::owner::{self, Owner, Private};
use crate::aws::{AwsClients, Tags};
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
    let (record, unrecorded) = match eks::observe_cluster(client.eks(), &names.cluster()).await? {
        Some(cluster) => (
            cluster.tags,
            format!("EKS cluster {id} has no {} tag: it was not created by retool_deployment.", names::NETWORK_TAG),
        ),
        None => match kms::observe(client.kms(), &names.kms_alias()).await? {
            Some(key) => (
                key.tags,
                format!(
                    "deployment {id} has no EKS cluster, and its KMS key {} has no {} tag to recover the network from: \
                     the key was not made by retool_deployment, or by a version that kept no configuration record on it.",
                    names.kms_alias(),
                    names::NETWORK_TAG
                ),
            ),
            None => return Ok(None),
        },
    };
    let network_id = record.get(names::NETWORK_TAG).cloned().ok_or(Error::Invalid(unrecorded))?;
    let token = record.get(OWNER_TAG).and_then(|tag| OwnerToken::from_tag(tag)).unwrap_or_else(OwnerToken::generate);
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
    let spec = recover_spec(id, &network_id, &record, &observed, client.default_tags())?;
    let base = model::to_value(&spec);
    let identity = client.identity().await?.clone();
    let desired = Desired::new(spec, identity, client.region(), Some(owner));
    let found = drift::sentences(&drift::detect(&desired, &observed, &not_ours));
    Ok(Some(model::with_outputs(&base, &desired.region, &desired.spec, &observed, &found)))
}

/// The configuration of an existing deployment (import): from `record`, the configuration record
/// its cluster or key carries (see `Desired::recording_tags`), and what AWS reports. A part never
/// made takes the configuration's default.
pub fn recover_spec(
    name: &str,
    network_id: &str,
    record: &Tags,
    observed: &Observed,
    default_tags: &BTreeMap<String, String>,
) -> Result<DeploymentSpec, Error> {
    let tag = |key: &str| record.get(key).cloned();
    let retool_version =
        tag(names::VERSION_TAG).ok_or_else(|| invalid(format!("the deployment has no {} tag", names::VERSION_TAG)))?;
    let domain =
        tag(names::DOMAIN_TAG).ok_or_else(|| invalid(format!("the deployment has no {} tag", names::DOMAIN_TAG)))?;
    // The defaults, and the checks of name and network, of a configuration that sets nothing else.
    let required = Value::object([
        ("name", Value::string(name)),
        ("network_id", Value::string(network_id)),
        ("retool_version", Value::string(&retool_version)),
        ("domain", Value::string(&domain)),
    ]);
    let mut spec = model::spec_of(&required, default_tags)?;
    spec.tags = record
        .iter()
        .filter(|(key, value)| !key.starts_with("retool:") && default_tags.get(*key) != Some(*value))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    spec.license_key_secret_arn = tag(names::LICENSE_TAG);
    spec.encryption_key_secret_arn = tag(names::CUSTOMER_KEY_TAG);
    let eks = &observed.eks;
    spec.permission_boundary_arn =
        eks.cluster_role.as_ref().or(eks.node_role.as_ref()).and_then(|role| role.boundary.clone());
    if let Some(cluster) = &eks.cluster {
        spec.kubernetes_version = cluster.settings.version.clone();
        spec.endpoint_public_access = cluster.settings.endpoint_public_access;
        if !cluster.settings.public_access_cidrs.is_empty() {
            spec.public_access_cidrs = cluster.settings.public_access_cidrs.clone();
        }
    }
    if let Some(node_group) = eks.node_groups.first() {
        if let Some(instance_type) = node_group.instance_types.first() {
            spec.node_group.instance_type = instance_type.clone();
        }
        spec.node_group.scaling = node_group.scaling;
    }
    if let Some(database) = &observed.rds.database {
        spec.database = model::InstanceSettings {
            engine_version: model::major(&database.settings.engine_version).to_owned(),
            max_allocated_storage_gb: database
                .settings
                .max_allocated_storage_gb
                .filter(|gb| *gb > database.settings.allocated_storage_gb),
            // Unset: whatever windows the instance has are RDS's, as when they are not configured.
            maintenance_window: None,
            backup_window: None,
            ..database.settings.clone()
        };
    }
    if let Some(cache) = observed.live_cache() {
        spec.cache.enabled = true;
        spec.cache.settings.node_type = cache.settings.node_type.clone();
    }
    if let Some(rpc) = observed.live_rpc() {
        spec.rpc.enabled = true;
        spec.rpc.node_type = rpc.settings.node_type.clone();
    }
    if let Some(retool_db) = &observed.rds.retool_db {
        spec.retool_db.enabled = true;
        spec.retool_db.instance_class = retool_db.settings.instance_class.clone();
        spec.retool_db.allocated_storage_gb = retool_db.settings.allocated_storage_gb;
    }
    // Not read: Retool Storage (set `storage.enabled` in the configuration and the next apply takes
    // the bucket and role over, as import adopts unmarked objects), the cache's engine version and
    // window (AWS's choice), timeouts, and the workloads (configuration only; the cluster is not
    // read at import, so the next plan brings them to what the configuration says).
    Ok(spec)
}

fn invalid(problem: impl Into<String>) -> Error {
    Error::Invalid(problem.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::CallerIdentity;
    use crate::resources::deployment::observed::{ClusterState, InstanceState, KeyState, NodeGroupState, RoleState};

    /// A configuration that sets the record's fields and tags, and otherwise the defaults.
    fn configured() -> (DeploymentSpec, Tags) {
        let config = Value::object([
            ("name", Value::string("acme")),
            ("network_id", Value::string("vpc-0123abcd")),
            ("retool_version", Value::string("3.148.0-stable")),
            ("domain", Value::string("retool.acme.com")),
            (
                "license_key_secret_arn",
                Value::string("arn:aws:secretsmanager:us-east-1:123456789012:secret:retool-license-AbCdEf"),
            ),
            ("tags", Value::map([("team", Value::string("platform"))])),
        ]);
        let default_tags = BTreeMap::from([("env".to_owned(), "prod".to_owned())]);
        let spec = model::spec_of(&config, &default_tags).expect("spec");
        let identity = CallerIdentity::from_arn("arn:aws:sts::123456789012:assumed-role/ops/s").expect("identity");
        let desired = Desired::new(spec.clone(), identity, "us-east-1", Some(Owner::test("t1")));
        (spec, desired.recording_tags())
    }

    fn key(tags: &Tags) -> KeyState {
        KeyState {
            arn: "arn:aws:kms:us-east-1:123456789012:key/k".into(),
            key_id: "k".into(),
            enabled: true,
            pending_deletion: false,
            rotation: true,
            tags: tags.clone(),
        }
    }

    #[test]
    fn a_create_interrupted_before_its_cluster_imports_from_the_key_with_the_defaults() {
        let (spec, record) = configured();
        let observed = Observed { kms: Some(key(&record)), ..Observed::default() };
        let recovered = recover_spec("acme", "vpc-0123abcd", &record, &observed, &spec.default_tags);
        assert_eq!(recovered, Ok(spec));
    }

    #[test]
    fn what_was_made_is_read_back_and_what_was_not_takes_the_default() {
        let (spec, record) = configured();
        let mut observed = Observed { kms: Some(key(&record)), ..Observed::default() };
        let boundary = "arn:aws:iam::123456789012:policy/retool-boundary".to_owned();
        observed.eks.cluster_role = Some(RoleState { boundary: Some(boundary.clone()), ..RoleState::default() });
        observed.eks.cluster = Some(ClusterState {
            settings: model::ClusterSettings {
                version: "1.31".into(),
                endpoint_public_access: false,
                ..Default::default()
            },
            tags: record.clone(),
            ..ClusterState::default()
        });
        let database = model::InstanceSettings { instance_class: "db.r6g.large".into(), ..spec.database.clone() };
        observed.rds.database = Some(InstanceState { settings: database.clone(), ..InstanceState::default() });
        let recovered =
            recover_spec("acme", "vpc-0123abcd", &record, &observed, &spec.default_tags).expect("half-made imports");
        assert_eq!(recovered.kubernetes_version, "1.31");
        assert!(!recovered.endpoint_public_access);
        assert_eq!(recovered.public_access_cidrs, spec.public_access_cidrs, "none reported: the default");
        assert_eq!(recovered.permission_boundary_arn, Some(boundary));
        assert_eq!(recovered.database, database);
        assert_eq!(recovered.node_group, spec.node_group, "no node group yet: the default");

        observed.eks.node_groups = vec![NodeGroupState {
            instance_types: vec!["m6i.2xlarge".into()],
            scaling: model::Scaling { min_size: 2, desired_size: 4, max_size: 8 },
            ..NodeGroupState::default()
        }];
        let recovered = recover_spec("acme", "vpc-0123abcd", &record, &observed, &spec.default_tags).expect("imports");
        assert_eq!(recovered.node_group.instance_type, "m6i.2xlarge");
        assert_eq!(recovered.node_group.scaling, model::Scaling { min_size: 2, desired_size: 4, max_size: 8 });
    }

    #[test]
    fn a_record_without_version_or_domain_or_with_a_bad_network_is_refused() {
        let (spec, record) = configured();
        let observed = Observed::default();
        for missing in [names::VERSION_TAG, names::DOMAIN_TAG] {
            let mut partial = record.clone();
            partial.remove(missing);
            let refused = recover_spec("acme", "vpc-0123abcd", &partial, &observed, &spec.default_tags);
            assert!(refused.is_err_and(|error| error.to_string().contains(missing)), "{missing}");
        }
        let refused = recover_spec("acme", "not-a-vpc", &record, &observed, &spec.default_tags);
        assert!(refused.is_err(), "a network id that is not a VPC id is refused");
    }
}
