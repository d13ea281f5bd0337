//! Drift: how what exists differs from the configuration, one sentence per difference, for the
//! computed `drift` attribute. A non-empty list makes the next plan show a change (to `[]`), and
//! applying converges every piece back.

use super::aws::rds::InstanceState;
use super::names::{self, Names};
use super::spec::DeploymentSpec;
use super::stack::{Observed, database_security_groups, parameter_group};

fn sorted(items: &[String]) -> Vec<String> {
    let mut items = items.to_vec();
    items.sort();
    items
}

/// Every difference between `spec` and `observed`.
pub fn detect(spec: &DeploymentSpec, observed: &Observed) -> Vec<String> {
    let names = Names::new(&spec.name);
    let mut drift = Vec::new();
    let mut note = |text: String| drift.push(text);
    if let Some(problem) = &observed.network_problem {
        note(format!("network {}: {problem}", spec.network_id));
    }
    match &observed.kms {
        None => note(format!("KMS key {} does not exist", names.kms_alias())),
        Some(key) if key.pending_deletion => note(format!("KMS key {} is scheduled for deletion", names.kms_alias())),
        Some(key) if !key.enabled => note(format!("KMS key {} is disabled", names.kms_alias())),
        Some(key) if !key.rotation => note(format!("KMS key {} has rotation turned off", names.kms_alias())),
        Some(_) => {}
    }
    for (name, role) in [
        (names.cluster_role(), &observed.cluster_role),
        (names.node_role(), &observed.node_role),
        (names.external_secrets_role(), &observed.eso_role),
    ] {
        match role {
            None => note(format!("IAM role {name} does not exist")),
            Some(role) if role.boundary != spec.permission_boundary_arn => note(format!(
                "IAM role {name} has permissions boundary {:?}, configured {:?}",
                role.boundary, spec.permission_boundary_arn
            )),
            Some(_) => {}
        }
    }
    match &observed.cluster {
        None => note(format!("EKS cluster {} does not exist", names.cluster())),
        Some(cluster) => {
            if cluster.version != spec.kubernetes_version {
                note(format!(
                    "EKS cluster runs Kubernetes {}, configured {}",
                    cluster.version, spec.kubernetes_version
                ));
            }
            if cluster.endpoint_public_access != spec.endpoint_public_access {
                note(format!(
                    "EKS endpoint public access is {}, configured {}",
                    cluster.endpoint_public_access, spec.endpoint_public_access
                ));
            }
            if spec.endpoint_public_access && cluster.public_access_cidrs != sorted(&spec.public_access_cidrs) {
                note(format!(
                    "EKS public access CIDRs are {:?}, configured {:?}",
                    cluster.public_access_cidrs,
                    sorted(&spec.public_access_cidrs)
                ));
            }
            if let Some(network) = &observed.network {
                if cluster.subnet_ids != network.private_subnet_ids {
                    note(format!(
                        "EKS cluster subnets are {:?}, the network's private subnets are {:?}",
                        cluster.subnet_ids, network.private_subnet_ids
                    ));
                }
            }
            if observed.oidc_provider != Some(true) {
                note("the cluster's IAM OIDC provider is missing or not registered for this deployment".to_owned());
            }
        }
    }
    let group_name = names.node_group(&spec.node_group.instance_type);
    match observed.node_groups.iter().find(|group| group.name == group_name) {
        None if observed.cluster.is_some() => note(format!("node group {group_name} does not exist")),
        None => {}
        Some(group) => {
            let want = &spec.node_group;
            if (group.min_size, group.desired_size, group.max_size) != (want.min_size, want.desired_size, want.max_size)
            {
                note(format!(
                    "node group {group_name} scales min {} / desired {} / max {}, configured {} / {} / {}",
                    group.min_size, group.desired_size, group.max_size, want.min_size, want.desired_size, want.max_size
                ));
            }
        }
    }
    for extra in observed.node_groups.iter().filter(|group| group.name != group_name) {
        note(format!("node group {} is not the configured one", extra.name));
    }
    if let Some(network) = &observed.network {
        let expected = database_security_groups(
            network,
            observed.cluster.as_ref().and_then(|c| c.eks_security_group_id.as_deref()),
        );
        let instances: [(String, Option<&InstanceState>); 2] =
            [(names.database(), observed.database.as_ref()), (names.retool_db(), observed.retool_db.as_ref())];
        for (identifier, db) in instances {
            if let Some(db) = db.filter(|db| db.security_group_ids != expected) {
                note(format!(
                    "DB instance {identifier} has security groups {:?}, expected {expected:?}",
                    db.security_group_ids
                ));
            }
        }
    }
    // The databases are compared exactly as converge compares them before it modifies them.
    let group = parameter_group(spec).ok();
    match &observed.database {
        None => note(format!("DB instance {} does not exist", names.database())),
        Some(db) => {
            for difference in db.differences_from(&spec.database, group.as_deref()) {
                note(format!("DB instance {} {difference}", names.database()));
            }
            if !observed.parameter_group.as_ref().is_some_and(|group| group.forces_ssl) {
                note(format!("the parameter group of {} does not set rds.force_ssl = 1", names.database()));
            }
        }
    }
    match (&observed.retool_db, spec.retool_db.enabled) {
        (None, true) => note(format!("Retool DB instance {} does not exist", names.retool_db())),
        (Some(_), false) => note(format!("Retool DB instance {} exists but retool_db is disabled", names.retool_db())),
        (Some(db), true) => {
            for difference in db.differences_from(&spec.retool_db_settings(), group.as_deref()) {
                note(format!("Retool DB instance {} {difference}", names.retool_db()));
            }
        }
        (None, false) => {}
    }
    match (observed.live_cache(), spec.cache.enabled) {
        (None, true) => note(format!("ElastiCache replication group {} does not exist", names.cache())),
        (Some(_), false) => {
            note(format!("ElastiCache replication group {} exists but cache is disabled", names.cache()))
        }
        (Some(cache), true) if cache.node_type != spec.cache.node_type => {
            note(format!("ElastiCache node type is {}, configured {}", cache.node_type, spec.cache.node_type))
        }
        _ => {}
    }
    let mut secret = |which: &str, state: &Option<super::aws::secrets::SecretState>| match state {
        None => note(format!("secret {} does not exist", names.secret(which))),
        Some(secret) if secret.scheduled_for_deletion => {
            note(format!("secret {} is scheduled for deletion", names.secret(which)))
        }
        Some(secret) if !secret.has_value => note(format!("secret {} has no value", names.secret(which))),
        Some(_) => {}
    };
    secret(names::JWT_SECRET, &observed.jwt_secret);
    if spec.encryption_key_secret_arn.is_none() {
        secret(names::ENCRYPTION_KEY_SECRET, &observed.encryption_key_secret);
    }
    drift
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::resources::deployment::aws::{cache, eks, iam, kms, rds, secrets};
    use crate::resources::deployment::network::NetworkView;
    use crate::resources::deployment::spec::{self, DeploymentSpec};
    use crate::value::Value;

    fn spec() -> DeploymentSpec {
        let config = Value::object([
            ("name", Value::string("acme")),
            ("network_id", Value::string("vpc-1")),
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
            Some(secrets::SecretState {
                arn: arn.into(),
                has_value: true,
                scheduled_for_deletion: false,
                tags: BTreeMap::new(),
            })
        };
        let role = Some(iam::RoleState { arn: "arn".into(), boundary: None, tags: BTreeMap::new() });
        let db = rds::InstanceState {
            settings: spec.database.clone(),
            parameter_group: Some("acme-postgres16".into()),
            security_group_ids: vec!["sg-d".into()],
            ..rds::InstanceState::default()
        };
        Observed {
            network: Some(NetworkView {
                vpc_id: "vpc-1".into(),
                private_subnet_ids: vec!["subnet-a".into(), "subnet-b".into()],
                cluster_security_group_id: "sg-c".into(),
                database_security_group_id: "sg-d".into(),
                egress_ips: vec![],
            }),
            network_problem: None,
            kms: Some(kms::KeyState {
                arn: "k".into(),
                key_id: "k".into(),
                enabled: true,
                pending_deletion: false,
                rotation: true,
                tags: BTreeMap::new(),
            }),
            cluster_role: role.clone(),
            node_role: role.clone(),
            eso_role: role,
            cluster: Some(eks::ClusterState {
                version: spec.kubernetes_version.clone(),
                endpoint_public_access: true,
                public_access_cidrs: vec!["0.0.0.0/0".into()],
                subnet_ids: vec!["subnet-a".into(), "subnet-b".into()],
                ..eks::ClusterState::default()
            }),
            oidc_provider: Some(true),
            node_groups: vec![eks::NodeGroupState {
                name: "acme-m5-xlarge".into(),
                status: "ACTIVE".into(),
                min_size: 3,
                desired_size: 3,
                max_size: 6,
                ..eks::NodeGroupState::default()
            }],
            db_subnet_group: None,
            next_parameter_group: None,
            cache_subnet_group: None,
            database: Some(db),
            parameter_group: Some(rds::ParameterGroupState { forces_ssl: true, ..Default::default() }),
            retool_db: None,
            cache: Some(cache::CacheState {
                status: "available".into(),
                node_type: spec.cache.node_type.clone(),
                ..cache::CacheState::default()
            }),
            encryption_key_secret: secret("e"),
            jwt_secret: secret("j"),
        }
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
        if let Some(db) = observed.database.as_mut() {
            db.settings.allocated_storage_gb = spec.database.allocated_storage_gb * 2;
            db.settings.max_allocated_storage_gb = spec.database.max_allocated_storage_gb;
        }
        assert_eq!(detect(&spec, &observed), Vec::<String>::new());
        if let Some(db) = observed.database.as_mut() {
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
        observed.retool_db = Some(rds::InstanceState {
            settings: rds::InstanceSettings { backup_retention_days: 1, multi_az: true, ..settings },
            parameter_group: Some("acme-postgres16".into()),
            security_group_ids: vec!["sg-d".into()],
            ..rds::InstanceState::default()
        });
        assert_eq!(
            detect(&spec, &observed),
            [
                "Retool DB instance acme-retooldb multi-AZ is true, configured false",
                "Retool DB instance acme-retooldb backup retention (days) is 1, configured 7",
            ]
        );
    }

    #[test]
    fn every_kind_of_change_is_reported() {
        type Change = fn(&mut Observed);
        let cases: Vec<(&str, Change)> = vec![
            ("EKS cluster acme does not exist", |o| o.cluster = None),
            ("scales min 1 / desired 1 / max 6", |o| {
                if let Some(group) = o.node_groups.first_mut() {
                    group.min_size = 1;
                    group.desired_size = 1;
                }
            }),
            ("instance class is db.t3.micro", |o| {
                if let Some(db) = o.database.as_mut() {
                    db.settings.instance_class = "db.t3.micro".into();
                }
            }),
            ("rds.force_ssl", |o| {
                if let Some(group) = o.parameter_group.as_mut() {
                    group.forces_ssl = false;
                }
            }),
            ("rotation turned off", |o| {
                if let Some(key) = o.kms.as_mut() {
                    key.rotation = false;
                }
            }),
            ("IAM role acme-eks-nodes has permissions boundary", |o| {
                o.node_role =
                    Some(iam::RoleState { arn: "a".into(), boundary: Some("b".into()), tags: BTreeMap::new() })
            }),
            ("replication group acme-cache does not exist", |o| {
                if let Some(cache) = o.cache.as_mut() {
                    cache.status = "deleting".into();
                }
            }),
            ("secret retool/acme/jwt-secret is scheduled for deletion", |o| {
                if let Some(secret) = o.jwt_secret.as_mut() {
                    secret.scheduled_for_deletion = true;
                }
            }),
            ("Retool DB instance acme-retooldb exists", |o| o.retool_db = Some(rds::InstanceState::default())),
            ("DB instance acme-postgres backup retention (days) is 1, configured 7", |o| {
                if let Some(db) = o.database.as_mut() {
                    db.settings.backup_retention_days = 1;
                }
            }),
            ("has security groups [\"sg-d\"], expected [\"sg-d\", \"sg-eks\"]", |o| {
                if let Some(cluster) = o.cluster.as_mut() {
                    cluster.eks_security_group_id = Some("sg-eks".into());
                }
            }),
        ];
        for (expected, change) in cases {
            let mut observed = matching();
            change(&mut observed);
            let found = detect(&spec(), &observed);
            assert!(found.iter().any(|line| line.contains(expected)), "{expected:?} not in {found:?}");
        }
    }
}
