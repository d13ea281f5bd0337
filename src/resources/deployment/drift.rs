//! Drift: how what exists differs from what the configuration asks for, one finding per
//! difference, in the crate's shared [`Drift`] shape. Each chain says how its own objects drift
//! ([`Chain::drift`]); this module adds the network and ownership findings and renders them as
//! the sentences of the computed `drift` attribute. A non-empty list makes the next plan show a
//! change (to `[]`), and applying converges every piece back.

use std::collections::BTreeSet;
use std::fmt;

use super::aws::chains::{
    CacheChain, Chain, ClusterChain, DatabaseChain, KeyChain, SecretsChain, SecretsOperatorChain, StorageChain,
};
use super::desired::Desired;
use super::observed::{Observed, RoleState};
use super::owner::NotOurs;
use crate::aws::Tags;
use crate::resources::drift::{Drift, DriftKind, tag_differences};
use crate::resources::ownership::Claim;

/// Which part of the deployment a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    Network,
    Key,
    Cluster,
    Database,
    Cache,
    Secrets,
    SecretsOperator,
    Storage,
    /// The Retool workloads on the cluster.
    Workloads,
    /// An object with one of the deployment's names that is not this instance's.
    Ownership,
}

/// The object a finding is about, as a person names it (`EKS cluster acme`), and its area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub area: Area,
    pub object: String,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.object)
    }
}

/// One difference of a deployment.
pub type Finding = Drift<Part>;

/// A finding about `object` in `area`: reads "<object> <detail>".
pub fn finding(area: Area, object: &str, kind: DriftKind, detail: &str) -> Finding {
    Drift { component: Part { area, object: object.to_owned() }, kind, detail: detail.to_owned() }
}

/// The tags of `object` that are missing or have other values than `want` (extra tags are
/// fine), as one finding; nothing when they match. A change of the provider's `default_tags`
/// shows here on every object, and the apply that follows brings them in line.
pub fn tag_drift(area: Area, object: &str, have: &Tags, want: &Tags) -> Option<Finding> {
    let differences = tag_differences(want, have);
    (!differences.is_empty())
        .then(|| finding(area, object, DriftKind::Tags, &format!("tags differ: {}", differences.join("; "))))
}

/// How role `name` differs: missing, or another permissions boundary.
pub fn role_drift(
    area: Area,
    name: &str,
    role: Option<&RoleState>,
    boundary: Option<&String>,
    tags: &Tags,
) -> Vec<Finding> {
    let object = format!("IAM role {name}");
    let Some(role) = role else { return vec![finding(area, &object, DriftKind::Missing, "does not exist")] };
    let mut found = Vec::new();
    if role.boundary.as_ref() != boundary {
        found.push(finding(
            area,
            &object,
            DriftKind::Setting,
            &format!("has {}, configured {}", boundary_words(role.boundary.as_ref()), boundary_words(boundary)),
        ));
    }
    found.extend(tag_drift(area, &object, &role.tags, tags));
    found
}

/// A role's permissions boundary in words: the policy ARN, or that there is none.
fn boundary_words(boundary: Option<&String>) -> String {
    match boundary {
        Some(arn) => format!("permissions boundary {arn}"),
        None => "no permissions boundary".to_owned(),
    }
}

/// Every difference between `desired` and `observed` (which holds only this instance's
/// objects), plus the objects with the deployment's names that are not this instance's.
pub fn detect(desired: &Desired, observed: &Observed, not_ours: &[NotOurs]) -> Vec<Finding> {
    let mut found = Vec::new();
    if let Some(problem) = &observed.network_problem {
        let object = format!("network {}:", desired.spec.network_id);
        found.push(finding(Area::Network, &object, DriftKind::Missing, problem));
    }
    found.extend(KeyChain::drift(desired, observed));
    found.extend(ClusterChain::drift(desired, observed));
    found.extend(DatabaseChain::drift(desired, observed));
    found.extend(CacheChain::drift(desired, observed));
    found.extend(SecretsChain::drift(desired, observed));
    found.extend(SecretsOperatorChain::drift(desired, observed));
    found.extend(StorageChain::drift(desired, observed));
    found.extend(super::kubernetes::drift(desired, observed));
    found.extend(not_ours.iter().map(|object| {
        let detail = match &object.claim {
            Claim::Foreign(_) => "belongs to another Terraform resource (retool:owner)",
            Claim::Unmarked | Claim::Ours => "exists without this deployment's retool:owner mark",
        };
        finding(Area::Ownership, &object.object, DriftKind::Tags, detail)
    }));
    found
}

/// The findings as the sentences of the `drift` attribute.
pub fn sentences(found: &[Finding]) -> Vec<String> {
    found.iter().map(ToString::to_string).collect()
}

/// The outputs whose objects repairing `found` creates anew (a missing, broken or surplus
/// object): the next plan shows only these as unknown, and keeps every other output at its
/// prior value, since an in-place repair does not change it.
pub fn outputs_changed_by(found: &[Finding]) -> BTreeSet<&'static str> {
    use super::attribute::*;
    found
        .iter()
        .filter(|finding| finding.changes_identity())
        .flat_map(|finding| -> &'static [&'static str] {
            match finding.component.area {
                Area::Network => &[EGRESS_IPS],
                Area::Key => &[KMS_KEY_ARN],
                Area::Cluster => &[CLUSTER_ARN, CLUSTER_ENDPOINT, CLUSTER_CA, OIDC_ISSUER_URL],
                Area::Database => &[DATABASE_ENDPOINT, DATABASE_SECRET_ARN, RETOOL_DB_ENDPOINT],
                Area::Cache => &[CACHE_ENDPOINT, RPC_ENDPOINT],
                Area::Secrets => &[JWT_SECRET_ARN, ENCRYPTION_KEY_SECRET_ARN],
                Area::Storage => &[STORAGE_BUCKET],
                Area::SecretsOperator | Area::Workloads | Area::Ownership => &[],
            }
        })
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn only_objects_made_anew_leave_their_outputs_unknown() {
        let setting = finding(Area::Database, "DB instance acme-postgres", DriftKind::Setting, "backup retention");
        let tags = finding(Area::Key, "KMS key", DriftKind::Tags, "tags differ");
        assert!(outputs_changed_by(&[setting.clone(), tags]).is_empty());
        let cluster = finding(Area::Cluster, "EKS cluster acme", DriftKind::Missing, "does not exist");
        let changed = outputs_changed_by(&[setting, cluster]);
        assert!(changed.contains("cluster_arn") && changed.contains("oidc_issuer_url"), "{changed:?}");
        assert!(!changed.contains("kms_key_arn") && !changed.contains("database_endpoint"), "{changed:?}");
    }
    use crate::aws::CallerIdentity;
    use crate::resources::deployment::desired::MANAGED_ADDONS;
    use crate::resources::deployment::model::{self as spec, DeploymentSpec};
    use crate::resources::deployment::names;
    use crate::resources::deployment::observed::{
        AddonState, BucketState, CacheSeen, CacheState, ClusterSeen, ClusterState, DatabaseSeen, KeyState, NetworkView,
        NodeGroupState, RoleState, SecretState, SecretsSeen, StorageSeen,
    };
    use crate::value::Value;

    /// The old shape of these tests: drift as sentences, from the configuration alone.
    fn detect(spec: &DeploymentSpec, observed: &Observed) -> Vec<String> {
        sentences(&super::detect(&desired_of(spec), observed, &[]))
    }

    mod rds {
        pub use crate::resources::deployment::model::InstanceSettings;
        pub use crate::resources::deployment::observed::{InstanceState, ParameterGroupState};
    }

    fn spec() -> DeploymentSpec {
        let config = Value::object([
            ("name", Value::string("acme")),
            ("network_id", Value::string("vpc-0123abcd")),
            ("retool_version", Value::string("3.148.0-stable")),
            ("domain", Value::string("retool.acme.com")),
            ("cache", Value::object([("enabled", Value::Bool(true))])),
        ]);
        spec::spec_of(&config, &BTreeMap::new()).expect("spec")
    }

    /// Everything exactly as `spec()` asks.
    fn matching() -> Observed {
        let spec = spec();
        let secret = |arn: &str| {
            Some(SecretState { arn: arn.into(), has_value: true, scheduled_for_deletion: false, tags: BTreeMap::new() })
        };
        let role = Some(RoleState { arn: "arn".into(), ..RoleState::default() });
        let db = rds::InstanceState {
            settings: spec.database.clone(),
            parameter_group: Some("acme-postgres16".into()),
            security_group_ids: vec!["sg-d".into()],
            ..rds::InstanceState::default()
        };
        let mut observed = Observed {
            network: Some(NetworkView {
                vpc_id: "vpc-0123abcd".into(),
                private_subnet_ids: vec!["subnet-a".into(), "subnet-b".into()],
                cluster_security_group_id: "sg-c".into(),
                database_security_group_id: "sg-d".into(),
                egress_ips: vec![],
            }),
            network_problem: None,
            kms: Some(KeyState {
                arn: "k".into(),
                key_id: "k".into(),
                enabled: true,
                pending_deletion: false,
                rotation: true,
                tags: BTreeMap::new(),
            }),
            eks: ClusterSeen {
                cluster_role: role.clone(),
                node_role: role.clone(),
                cluster: Some(ClusterState {
                    settings: spec::ClusterSettings {
                        version: spec.kubernetes_version.clone(),
                        endpoint_public_access: true,
                        public_access_cidrs: vec!["0.0.0.0/0".into()],
                        placement: spec::Placement {
                            subnet_ids: vec!["subnet-a".into(), "subnet-b".into()],
                            security_group_ids: Vec::new(),
                        },
                    },
                    ..ClusterState::default()
                }),
                oidc_provider: Some(true),
                node_groups: vec![NodeGroupState {
                    name: "acme-m5-xlarge".into(),
                    status: "ACTIVE".into(),
                    scaling: spec::Scaling { min_size: 3, desired_size: 3, max_size: 6 },
                    version: spec.kubernetes_version.clone(),
                    ..NodeGroupState::default()
                }],
                addons: MANAGED_ADDONS
                    .map(|name| AddonState {
                        name: name.into(),
                        status: "ACTIVE".into(),
                        tags: BTreeMap::from([(names::ADDONS_FOR_TAG.into(), spec.kubernetes_version.clone())]),
                        ..AddonState::default()
                    })
                    .into(),
            },
            eso_role: role,
            storage: Default::default(),
            rds: DatabaseSeen {
                subnet_group: None,
                next_parameter_group: None,
                database: Some(db),
                parameter_group: Some(rds::ParameterGroupState { forces_ssl: true, ..Default::default() }),
                retool_db: None,
            },
            elasticache: CacheSeen {
                subnet_group: None,
                rpc: None,
                group: Some(CacheState {
                    status: "available".into(),
                    settings: spec.cache.settings.clone(),
                    ..CacheState::default()
                }),
            },
            secrets: SecretsSeen { encryption_key: secret("e"), jwt: secret("j") },
            workloads: None,
        };
        tag_as_desired(&mut observed, &desired_of(&spec));
        observed
    }

    #[test]
    fn workloads_drift_names_the_deployment_and_what_changed() {
        use crate::kubernetes::Rollout;
        use crate::resources::deployment::external_secrets;
        use crate::resources::deployment::observed::{DeploymentSeen, WorkloadsSeen};
        use crate::resources::deployment::workloads::Component;
        let spec = spec();
        let running: Vec<DeploymentSeen> = Component::ALL
            .into_iter()
            .filter(|component| spec.workloads.runs(*component))
            .map(|component| DeploymentSeen {
                name: component.name().into(),
                tags: BTreeMap::new(),
                image: Some(component.image(&spec.retool_version)),
                replicas: spec.workloads.sized(component).0,
                ready: spec.workloads.sized(component).0,
                generation: 1,
                observed_generation: 1,
                other_managers: Vec::new(),
                rollout: Rollout::Done,
            })
            .collect();
        let mut observed = matching();
        let operator = DeploymentSeen {
            name: external_secrets::DEPLOYMENT_NAME.into(),
            image: Some(external_secrets::IMAGE.into()),
            replicas: 1,
            ready: 1,
            ..running[0].clone()
        };
        let with = |deployments: Vec<DeploymentSeen>| {
            Some(WorkloadsSeen {
                access_denied: None,
                namespace: Some(BTreeMap::new()),
                deployments,
                secrets_operator: Some(operator.clone()),
            })
        };
        observed.workloads = with(running.clone());
        assert_eq!(detect(&spec, &observed), Vec::<String>::new(), "as configured");

        let mut changed = running.clone();
        let api = changed.iter_mut().find(|d| d.name == "api").expect("api");
        api.replicas = 5;
        api.image = Some("tryretool/backend:3.1.0-stable".into());
        api.other_managers = vec![("kubectl-edit".into(), vec!["spec.replicas".into()])];
        changed.retain(|d| d.name != "jobs-runner");
        observed.workloads = with(changed);
        assert_eq!(
            detect(&spec, &observed),
            [
                "Kubernetes Deployment acme/jobs-runner does not exist",
                format!("Kubernetes Deployment acme/api runs tryretool/backend:3.1.0-stable, configured tryretool/backend:{}", spec.retool_version).as_str(),
                format!("Kubernetes Deployment acme/api has 5 replicas, configured {}", spec.workloads.api.replicas).as_str(),
                "Kubernetes Deployment acme/api was changed by field manager kubectl-edit: spec.replicas",
            ]
        );

        let mut old_operator = operator.clone();
        old_operator.image = Some("ghcr.io/external-secrets/external-secrets:v0.9.0".into());
        observed.workloads =
            Some(WorkloadsSeen { secrets_operator: Some(old_operator), ..with(running.clone()).expect("seen") });
        assert_eq!(
            detect(&spec, &observed),
            [format!(
                "Kubernetes Deployment external-secrets/external-secrets runs ghcr.io/external-secrets/external-secrets:v0.9.0, the provider installs {}",
                external_secrets::IMAGE
            )]
        );
        observed.workloads = Some(WorkloadsSeen { secrets_operator: None, ..with(running.clone()).expect("seen") });
        assert_eq!(
            detect(&spec, &observed),
            ["Kubernetes Deployment external-secrets/external-secrets does not exist"]
        );

        observed.workloads =
            Some(WorkloadsSeen { access_denied: Some("Unauthorized".into()), ..WorkloadsSeen::default() });
        assert_eq!(
            detect(&spec, &observed),
            ["Kubernetes API of cluster acme does not let the provider in: Unauthorized"]
        );
        observed.workloads = None;
        assert_eq!(detect(&spec, &observed), Vec::<String>::new(), "no cluster to read: nothing said here");
    }

    fn desired_of(spec: &DeploymentSpec) -> Desired {
        let identity = CallerIdentity::from_arn("arn:aws:sts::123456789012:assumed-role/ops/s").expect("identity");
        Desired::new(spec.clone(), identity, "us-east-1", None)
    }

    /// Gives every observed object the tags converge gives it.
    fn tag_as_desired(observed: &mut Observed, desired: &Desired) {
        let tags = desired.tags();
        let eks = &mut observed.eks;
        let rds = &mut observed.rds;
        let objects = [
            observed.kms.as_mut().map(|key| &mut key.tags),
            eks.cluster_role.as_mut().map(|role| &mut role.tags),
            eks.node_role.as_mut().map(|role| &mut role.tags),
            observed.eso_role.as_mut().map(|role| &mut role.tags),
            rds.database.as_mut().map(|db| &mut db.tags),
            rds.retool_db.as_mut().map(|db| &mut db.tags),
            rds.parameter_group.as_mut().map(|group| &mut group.group.tags),
            observed.elasticache.group.as_mut().map(|cache| &mut cache.tags),
            observed.elasticache.rpc.as_mut().map(|rpc| &mut rpc.tags),
            observed.secrets.jwt.as_mut().map(|secret| &mut secret.tags),
            observed.secrets.encryption_key.as_mut().map(|secret| &mut secret.tags),
        ];
        let groups = eks.node_groups.iter_mut().map(|group| &mut group.tags);
        for object in objects.into_iter().flatten().chain(groups) {
            object.extend(tags.clone());
        }
        for addon in &mut eks.addons {
            addon.tags.extend(tags.clone());
        }
        if let Some(cluster) = eks.cluster.as_mut() {
            cluster.tags = desired.recording_tags();
        }
    }

    #[test]
    fn tags_missing_or_changed_on_any_object_are_drift() {
        let mut observed = matching();
        if let Some(cluster) = observed.eks.cluster.as_mut() {
            cluster.tags.insert(names::DEPLOYMENT_TAG.into(), "other".into());
            cluster.tags.insert("added-by-someone".into(), "fine".into());
        }
        if let Some(group) = observed.eks.node_groups.first_mut() {
            group.tags.remove(names::DEPLOYMENT_TAG);
        }
        assert_eq!(
            detect(&spec(), &observed),
            [
                "EKS cluster tags differ: retool:deployment is \"other\", expected \"acme\"",
                "node group acme-m5-xlarge tags differ: retool:deployment is missing, expected \"acme\"",
            ]
        );
    }

    #[test]
    fn retool_storage_drifts_when_missing_or_any_setting_differs_and_is_not_read_while_disabled() {
        let mut spec = spec();
        spec.storage = true;
        let desired = desired_of(&spec);
        let mut observed = matching();
        let key = observed.kms.as_ref().map(|key| key.arn.clone()).unwrap_or_default();
        let role = observed.eso_role.clone();
        let bucket = BucketState {
            name: desired.storage_bucket_name(),
            tags: desired.tags(),
            kms_key: Some(key),
            bucket_key: true,
            public_access_blocked: true,
            versioning: true,
            policy: Some(desired.storage_bucket("unused").policy.to_canonical_json()),
        };
        observed.storage = StorageSeen { bucket: Some(bucket.clone()), role };
        assert_eq!(detect(&spec, &observed), Vec::<String>::new());

        let changed = BucketState {
            kms_key: None,
            public_access_blocked: false,
            versioning: false,
            policy: None,
            tags: Default::default(),
            ..bucket
        };
        observed.storage.bucket = Some(changed);
        let found = detect(&spec, &observed);
        assert_eq!(found.len(), 5, "{found:#?}");
        assert!(found.iter().all(|sentence| sentence.contains("retool-storage-acme-123456789012")), "{found:#?}");
        observed.storage.bucket = None;
        assert!(detect(&spec, &observed).iter().any(|s| s.contains("does not exist")));
        spec.storage = false;
        assert_eq!(detect(&spec, &observed), Vec::<String>::new(), "disabled storage is not drift");
    }

    #[test]
    fn nothing_differs_when_everything_matches() {
        assert_eq!(detect(&spec(), &matching()), Vec::<String>::new());
    }

    #[test]
    fn storage_grown_by_autoscaling_is_not_drift() {
        let mut spec = spec();
        spec.database.max_allocated_storage_gb = Some(spec.database.allocated_storage_gb * 2);
        let mut observed = matching();
        if let Some(db) = observed.rds.database.as_mut() {
            db.settings.allocated_storage_gb = spec.database.allocated_storage_gb * 2;
            db.settings.max_allocated_storage_gb = spec.database.max_allocated_storage_gb;
        }
        assert_eq!(detect(&spec, &observed), Vec::<String>::new());
        if let Some(db) = observed.rds.database.as_mut() {
            db.settings.allocated_storage_gb = spec.database.allocated_storage_gb - 1;
        }
        assert!(detect(&spec, &observed).iter().any(|line| line.contains("allocated storage")));
    }

    #[test]
    fn the_retool_db_is_compared_on_every_setting_converge_sets() {
        let mut spec = spec();
        spec.retool_db.enabled = true;
        let mut observed = matching();
        let settings = spec.retool_db_settings();
        observed.rds.retool_db = Some(rds::InstanceState {
            settings: rds::InstanceSettings { backup_retention_days: 1, multi_az: true, ..settings },
            parameter_group: Some("acme-postgres16".into()),
            security_group_ids: vec!["sg-d".into()],
            ..rds::InstanceState::default()
        });
        tag_as_desired(&mut observed, &desired_of(&spec));
        assert_eq!(
            detect(&spec, &observed),
            [
                "Retool DB instance acme-retooldb multi-AZ is true, configured false",
                "Retool DB instance acme-retooldb backup retention (days) is 1, configured 7",
            ]
        );
    }

    #[test]
    fn an_autoscaled_desired_size_is_not_drift_but_min_and_max_still_are() {
        let mut spec = spec();
        let scale = |observed: &mut Observed, min_size, desired_size, max_size| {
            if let Some(group) = observed.eks.node_groups.first_mut() {
                group.scaling = spec::Scaling { min_size, desired_size, max_size };
            }
        };
        let mut observed = matching();
        scale(&mut observed, 3, 5, 6);
        let found = detect(&spec, &observed);
        assert_eq!(found, ["node group acme-m5-xlarge scales min 3 / desired 5 / max 6, configured 3 / 3 / 6"]);
        spec.node_group.ignore_desired_size_changes = true;
        assert_eq!(detect(&spec, &observed), Vec::<String>::new(), "the autoscaler owns the desired size");
        scale(&mut observed, 3, 5, 8);
        assert_eq!(
            detect(&spec, &observed),
            ["node group acme-m5-xlarge scales min 3 / desired 5 / max 8, configured 3 / 5 / 6"],
            "max_size is still configuration"
        );
    }

    #[test]
    fn the_rpc_group_drifts_like_the_cache_missing_surplus_node_type_and_tags() {
        let mut spec = spec();
        let mut observed = matching();
        assert_eq!(detect(&spec, &observed), Vec::<String>::new(), "off and absent");
        spec.rpc.enabled = true;
        assert_eq!(detect(&spec, &observed), ["ElastiCache replication group acme-rpc does not exist"]);
        let group = CacheState { status: "available".into(), settings: spec.rpc.settings(), ..CacheState::default() };
        observed.elasticache.rpc = Some(group.clone());
        tag_as_desired(&mut observed, &desired_of(&spec));
        assert_eq!(detect(&spec, &observed), Vec::<String>::new(), "as configured");
        spec.rpc.node_type = "cache.r6g.large".into();
        assert_eq!(
            detect(&spec, &observed),
            ["ElastiCache RPC node type is cache.t4g.medium, configured cache.r6g.large"]
        );
        observed.elasticache.rpc = Some(group.clone());
        let found = detect(&spec, &observed);
        assert!(
            found.iter().any(|line| line.starts_with("ElastiCache replication group acme-rpc tags differ")),
            "{found:?}"
        );
        spec.rpc.enabled = false;
        assert_eq!(detect(&spec, &observed), ["ElastiCache replication group acme-rpc exists but rpc is disabled"]);
        observed.elasticache.rpc = Some(CacheState { status: "deleting".into(), ..group });
        assert_eq!(detect(&spec, &observed), Vec::<String>::new(), "being deleted is as good as gone");
        spec.cache.enabled = false;
        observed.elasticache.group = None;
        observed.elasticache.rpc = None;
        assert_eq!(detect(&spec, &observed), Vec::<String>::new(), "neither group");
    }

    #[test]
    fn configured_cache_settings_are_drift_checked_and_unconfigured_ones_are_not() {
        let mut spec = spec();
        let mut observed = matching();
        if let Some(cache) = observed.elasticache.group.as_mut() {
            cache.settings.engine_version = Some("7.0.7".into());
            cache.settings.maintenance_window = Some("sun:05:00-sun:06:00".into());
        }
        assert_eq!(detect(&spec, &observed), Vec::<String>::new(), "AWS's choice while unset");
        spec.cache.settings.engine_version = Some("7.1".into());
        spec.cache.settings.maintenance_window = Some("tue:03:00-tue:04:00".into());
        assert_eq!(
            detect(&spec, &observed),
            [
                "ElastiCache engine version is 7.0.7, configured 7.1",
                "ElastiCache maintenance window is sun:05:00-sun:06:00, configured tue:03:00-tue:04:00",
            ]
        );
        spec.cache.settings.engine_version = Some("6.2".into());
        spec.cache.settings.maintenance_window = None;
        let found = detect(&spec, &observed);
        assert!(
            found.len() == 1 && found[0].contains("cannot downgrade: set cache.engine_version to 7.0.7"),
            "{found:?}"
        );
    }

    #[test]
    fn every_kind_of_change_is_reported() {
        type Change = fn(&mut Observed);
        let cases: Vec<(&str, Change)> = vec![
            ("EKS cluster acme does not exist", |o| o.eks.cluster = None),
            ("EKS cluster runs Kubernetes 1.30, configured", |o| {
                if let Some(cluster) = o.eks.cluster.as_mut() {
                    cluster.settings.version = "1.30".into();
                }
            }),
            ("EKS public access CIDRs are 10.0.0.0/8, configured 0.0.0.0/0", |o| {
                if let Some(cluster) = o.eks.cluster.as_mut() {
                    cluster.settings.public_access_cidrs = vec!["10.0.0.0/8".into()];
                }
            }),
            ("EKS cluster subnets are subnet-a, the network's private subnets are subnet-a, subnet-b", |o| {
                if let Some(cluster) = o.eks.cluster.as_mut() {
                    cluster.settings.placement.subnet_ids = vec!["subnet-a".into()];
                }
            }),
            ("scales min 1 / desired 1 / max 6", |o| {
                if let Some(group) = o.eks.node_groups.first_mut() {
                    group.scaling.min_size = 1;
                    group.scaling.desired_size = 1;
                }
            }),
            ("node group acme-m5-xlarge runs Kubernetes 1.34, configured", |o| {
                if let Some(group) = o.eks.node_groups.first_mut() {
                    group.version = "1.34".into();
                }
            }),
            ("EKS add-on coredns does not exist", |o| o.eks.addons.retain(|addon| addon.name != "coredns")),
            ("EKS add-on kube-proxy runs v1 and was last upgraded for Kubernetes 1.34, configured", |o| {
                if let Some(addon) = o.eks.addons.iter_mut().find(|addon| addon.name == "kube-proxy") {
                    addon.version = "v1".into();
                    addon.tags.insert(names::ADDONS_FOR_TAG.into(), "1.34".into());
                }
            }),
            ("instance class is db.t3.micro", |o| {
                if let Some(db) = o.rds.database.as_mut() {
                    db.settings.instance_class = "db.t3.micro".into();
                }
            }),
            ("storage autoscaling limit (GB) is 5000, configured", |o| {
                if let Some(db) = o.rds.database.as_mut() {
                    db.settings.max_allocated_storage_gb = Some(5000);
                }
            }),
            ("rds.force_ssl", |o| {
                if let Some(group) = o.rds.parameter_group.as_mut() {
                    group.forces_ssl = false;
                }
            }),
            ("rotation turned off", |o| {
                if let Some(key) = o.kms.as_mut() {
                    key.rotation = false;
                }
            }),
            ("IAM role acme-eks-nodes has permissions boundary", |o| {
                o.eks.node_role =
                    Some(RoleState { arn: "a".into(), boundary: Some("b".into()), ..RoleState::default() })
            }),
            ("replication group acme-cache does not exist", |o| {
                if let Some(cache) = o.elasticache.group.as_mut() {
                    cache.status = "deleting".into();
                }
            }),
            ("secret retool/acme/jwt-secret is scheduled for deletion", |o| {
                if let Some(secret) = o.secrets.jwt.as_mut() {
                    secret.scheduled_for_deletion = true;
                }
            }),
            ("Retool DB instance acme-retooldb exists", |o| o.rds.retool_db = Some(rds::InstanceState::default())),
            ("DB instance acme-postgres backup retention (days) is 1, configured 7", |o| {
                if let Some(db) = o.rds.database.as_mut() {
                    db.settings.backup_retention_days = 1;
                }
            }),
            ("has security groups sg-d, expected sg-d, sg-eks", |o| {
                if let Some(cluster) = o.eks.cluster.as_mut() {
                    cluster.eks_security_group_id = Some("sg-eks".into());
                }
            }),
        ];
        for (expected, change) in cases {
            let mut observed = matching();
            change(&mut observed);
            let found = detect(&spec(), &observed);
            assert!(found.iter().any(|line| line.contains(expected)), "{expected:?} not in {found:?}");
            for debug in ["Some(", "None", "[\"", "{ "] {
                assert!(found.iter().all(|line| !line.contains(debug)), "Debug output {debug:?} in {found:?}");
            }
        }
    }
}
