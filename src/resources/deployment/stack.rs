//! The whole stack of one deployment: observe every piece, converge them on the spec, take them
//! down.
//!
//! Converging first ensures the KMS key (everything else is encrypted with it), then runs four
//! independent chains concurrently — cluster (roles → cluster → OIDC provider → node group),
//! database (subnet and parameter groups → instances), cache, secrets — and last the External
//! Secrets role, which needs both the cluster's OIDC provider and the database's master secret.
//! A chain that fails does not stop the others; every error is reported. Whatever the outcome, the
//! caller re-observes, so state records every piece that exists (partial state) and the next apply
//! resumes: every step finds its object by name before creating it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;

use super::aws::{cache, eks, iam, kms, rds, secrets};
use super::names::{self, Names};
use super::network::{self, NetworkProblem, NetworkView};
use super::owner::{NotOurs, Owner};
use super::rules::secrets::{generate_encryption_key, generate_jwt_secret};
use super::rules::versions::{MIN_POSTGRES_MAJOR, PostgresVersion};
use super::spec::{DeploymentSpec, EKS_TIMEOUT, Operation, RDS_TIMEOUT};
use crate::aws::{AwsClients, CallerIdentity, Tags};
use crate::error::Error;
use crate::framework::StopSignal;

/// Managed policies of the cluster and node roles (AWS's own, in the partition).
const CLUSTER_POLICIES: [&str; 1] = ["AmazonEKSClusterPolicy"];
const NODE_POLICIES: [&str; 3] =
    ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"];
const ESO_POLICY_NAME: &str = "read-retool-secrets";

/// Everything that exists of a deployment.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub network: Option<NetworkView>,
    pub network_problem: Option<String>,
    pub kms: Option<kms::KeyState>,
    pub cluster_role: Option<iam::RoleState>,
    pub node_role: Option<iam::RoleState>,
    pub eso_role: Option<iam::RoleState>,
    pub cluster: Option<eks::ClusterState>,
    /// Whether the cluster's OIDC provider exists and records this deployment's use.
    pub oidc_provider: Option<bool>,
    pub node_groups: Vec<eks::NodeGroupState>,
    pub db_subnet_group: Option<rds::SubnetGroupState>,
    pub database: Option<rds::InstanceState>,
    /// The database's parameter group (else, without a database, the configured one).
    pub parameter_group: Option<rds::ParameterGroupState>,
    /// The configured parameter group, when the database uses another (a major upgrade to come).
    pub next_parameter_group: Option<rds::ParameterGroupState>,
    pub retool_db: Option<rds::InstanceState>,
    pub cache: Option<cache::CacheState>,
    pub cache_subnet_group: Option<cache::SubnetGroupState>,
    pub encryption_key_secret: Option<secrets::SecretState>,
    pub jwt_secret: Option<secrets::SecretState>,
}

impl Observed {
    /// Nothing of the deployment's own making exists any more.
    pub fn is_gone(&self) -> bool {
        self.kms.is_none() && self.cluster.is_none() && self.database.is_none()
    }

    /// The cache, unless it is on its way out.
    pub fn live_cache(&self) -> Option<&cache::CacheState> {
        self.cache.as_ref().filter(|group| group.status != "deleting")
    }

    /// What is left when every object `owner` may not manage is taken out, and those objects.
    /// Objects on their way out (a secret scheduled for deletion, a cache being deleted) are
    /// abandoned by whoever made them and stay: converge restores or waits for them.
    pub fn claimed_by(mut self, owner: &Owner, names: &Names) -> (Self, Vec<NotOurs>) {
        let mut not_ours = Vec::new();
        let mut check = |object: String, tags: Option<&Tags>| -> bool {
            let refused = tags.and_then(|tags| owner.refuses(tags));
            if let Some(claim) = refused {
                not_ours.push(NotOurs { object, claim });
                false
            } else {
                true
            }
        };
        fn keep<T>(slot: &mut Option<T>, ours: bool) {
            if !ours {
                *slot = None;
            }
        }
        let ours = check(format!("EKS cluster {}", names.cluster()), self.cluster.as_ref().map(|c| &c.tags));
        keep(&mut self.cluster, ours);
        if self.cluster.is_none() {
            self.oidc_provider = None;
        }
        let groups = std::mem::take(&mut self.node_groups);
        for group in groups {
            if check(format!("EKS node group {}", group.name), Some(&group.tags)) {
                self.node_groups.push(group);
            }
        }
        let ours = check(format!("DB instance {}", names.database()), self.database.as_ref().map(|d| &d.tags));
        keep(&mut self.database, ours);
        let ours = check(format!("DB instance {}", names.retool_db()), self.retool_db.as_ref().map(|d| &d.tags));
        keep(&mut self.retool_db, ours);
        let ours = check(format!("KMS key {}", names.kms_alias()), self.kms.as_ref().map(|k| &k.tags));
        keep(&mut self.kms, ours);
        for (name, role) in [
            (names.cluster_role(), &mut self.cluster_role),
            (names.node_role(), &mut self.node_role),
            (names.external_secrets_role(), &mut self.eso_role),
        ] {
            let ours = check(format!("IAM role {name}"), role.as_ref().map(|r| &r.tags));
            keep(role, ours);
        }
        let ours = check(
            format!("DB subnet group {}", names.db_subnet_group()),
            self.db_subnet_group.as_ref().map(|g| &g.group.tags),
        );
        keep(&mut self.db_subnet_group, ours);
        for group in [&mut self.parameter_group, &mut self.next_parameter_group] {
            let ours = check(
                format!("DB parameter group {}", group.as_ref().map_or("", |g| g.group.name.as_str())),
                group.as_ref().map(|g| &g.group.tags),
            );
            keep(group, ours);
        }
        let live = self.cache.as_ref().filter(|c| c.status != "deleting");
        let ours = check(format!("ElastiCache replication group {}", names.cache()), live.map(|c| &c.tags));
        keep(&mut self.cache, ours);
        let ours = check(
            format!("ElastiCache subnet group {}", names.cache_subnet_group()),
            self.cache_subnet_group.as_ref().map(|g| &g.tags),
        );
        keep(&mut self.cache_subnet_group, ours);
        for (which, secret) in
            [(names::JWT_SECRET, &mut self.jwt_secret), (names::ENCRYPTION_KEY_SECRET, &mut self.encryption_key_secret)]
        {
            let live = secret.as_ref().filter(|s| !s.scheduled_for_deletion);
            let ours = check(format!("secret {}", names.secret(which)), live.map(|s| &s.tags));
            keep(secret, ours);
        }
        (self, not_ours)
    }
}

/// AWS's own managed policies `names`, in the caller's partition.
pub fn managed_policies(identity: &CallerIdentity, names: &[&str]) -> Vec<String> {
    names.iter().map(|name| format!("arn:{}:iam::aws:policy/{name}", identity.partition)).collect()
}

/// Every secret under the deployment's prefix, in the caller's partition and account.
pub fn deployment_secrets_arn(identity: &CallerIdentity, region: &str, names: &Names) -> String {
    format!(
        "arn:{}:secretsmanager:{region}:{}:secret:{}/*",
        identity.partition,
        identity.account_id,
        names.secrets_prefix()
    )
}

/// Reads every piece of deployment `deployment`, concurrently per service. `parameter_group` is
/// the configured one, when known.
pub async fn observe(
    clients: &AwsClients,
    deployment: &str,
    network_id: &str,
    configured_parameter_group: Option<&str>,
) -> Result<Observed, Error> {
    let names = Names::new(deployment);
    let (eks, rds, elasticache, kms_client, sm, iam_client) =
        (clients.eks(), clients.rds(), clients.elasticache(), clients.kms(), clients.secrets_manager(), clients.iam());
    let network = async {
        match network::read(clients.ec2(), network_id).await {
            Ok(view) => Ok((Some(view), None)),
            Err(NetworkProblem::Aws(error)) => Err(error),
            Err(problem) => Ok((None, Some(problem.to_string()))),
        }
    };
    let cluster = async {
        let cluster = eks::observe_cluster(&eks, &names.cluster()).await?;
        let groups = match &cluster {
            Some(_) => eks::observe_node_groups(&eks, &names.cluster()).await?,
            None => Vec::new(),
        };
        let oidc = match cluster.as_ref().and_then(|c| c.oidc_issuer.clone()) {
            Some(issuer) => {
                let identity = clients.identity().await?;
                let arn = iam::oidc_provider_arn(identity, &issuer);
                let tags = iam::observe_oidc(&iam_client, &arn).await?;
                Some(
                    tags.is_some_and(|tags| tags.contains_key(&format!("{}{deployment}", names::OIDC_USER_TAG_PREFIX))),
                )
            }
            None => None,
        };
        Ok::<_, Error>((cluster, groups, oidc))
    };
    let (cluster_role, node_role, eso_role) = (names.cluster_role(), names.node_role(), names.external_secrets_role());
    let roles = async {
        tokio::try_join!(
            iam::observe_role(&iam_client, &cluster_role),
            iam::observe_role(&iam_client, &node_role),
            iam::observe_role(&iam_client, &eso_role),
        )
    };
    let (cache_name, alias) = (names.cache(), names.kms_alias());
    let (encryption_key_name, jwt_name) = (names.secret(names::ENCRYPTION_KEY_SECRET), names.secret(names::JWT_SECRET));
    let databases = async {
        let database = rds::observe_instance(&rds, &names.database()).await?;
        let current = database.as_ref().and_then(|db| db.parameter_group.clone());
        let group = match current.as_deref().or(configured_parameter_group) {
            Some(group) => rds::observe_parameter_group(&rds, group).await?,
            None => None,
        };
        let next = match configured_parameter_group
            .filter(|configured| current.as_deref().is_some_and(|c| c != *configured))
        {
            Some(configured) => rds::observe_parameter_group(&rds, configured).await?,
            None => None,
        };
        let retool_db = rds::observe_instance(&rds, &names.retool_db()).await?;
        let subnet_group = rds::observe_subnet_group(&rds, &names.db_subnet_group()).await?;
        Ok::<_, Error>((database, group, next, retool_db, subnet_group))
    };
    let cache_subnet_group = names.cache_subnet_group();
    let caches = async {
        tokio::try_join!(
            cache::observe(&elasticache, &cache_name),
            cache::observe_subnet_group(&elasticache, &cache_subnet_group)
        )
    };
    let (
        network,
        (cluster, node_groups, oidc_provider),
        (cluster_role, node_role, eso_role),
        (database, parameter_group, next_parameter_group, retool_db, db_subnet_group),
        (cache, cache_subnet_group),
        key,
        encryption_key,
        jwt,
    ) = tokio::try_join!(
        network,
        cluster,
        roles,
        databases,
        caches,
        kms::observe(&kms_client, &alias),
        secrets::observe(&sm, &encryption_key_name),
        secrets::observe(&sm, &jwt_name),
    )?;
    Ok(Observed {
        network: network.0,
        network_problem: network.1,
        kms: key,
        cluster_role,
        node_role,
        eso_role,
        cluster,
        oidc_provider,
        node_groups,
        db_subnet_group,
        database,
        parameter_group,
        next_parameter_group,
        retool_db,
        cache,
        cache_subnet_group,
        encryption_key_secret: encryption_key,
        jwt_secret: jwt,
    })
}

/// Tags of the cluster: the common tags plus the configuration AWS has no field for (so import
/// can recover it).
pub fn cluster_tags(spec: &DeploymentSpec) -> std::collections::BTreeMap<String, String> {
    let mut tags = spec.tags();
    tags.insert(names::NETWORK_TAG.to_owned(), spec.network_id.clone());
    tags.insert(names::VERSION_TAG.to_owned(), spec.retool_version.clone());
    tags.insert(names::DOMAIN_TAG.to_owned(), spec.domain.clone());
    if let Some(arn) = &spec.license_key_secret_arn {
        tags.insert(names::LICENSE_TAG.to_owned(), arn.clone());
    }
    if let Some(arn) = &spec.encryption_key_secret_arn {
        tags.insert(names::CUSTOMER_KEY_TAG.to_owned(), arn.clone());
    }
    tags
}

/// The parameter group family of the configured engine version.
pub fn parameter_group(spec: &DeploymentSpec) -> Result<String, Error> {
    PostgresVersion::parse(&spec.database.engine_version)
        .map(|version| Names::new(&spec.name).db_parameter_group(&version.parameter_group_family()))
        .map_err(|problem| Error::unexpected("PlanDatabase", problem))
}

/// The security groups the databases should have, sorted: the network's database group and,
/// once the cluster exists, the group EKS made for it. Managed node groups run in the latter,
/// which admits its own members, so it is what lets pods reach Postgres.
pub fn database_security_groups(network: &NetworkView, eks_security_group: Option<&str>) -> Vec<String> {
    let mut groups: Vec<String> = std::iter::once(network.database_security_group_id.clone())
        .chain(eks_security_group.map(str::to_owned))
        .collect();
    groups.sort();
    groups.dedup();
    groups
}

fn eks_budget(spec: &DeploymentSpec, operation: Operation) -> Duration {
    spec.timeouts.budget(operation, EKS_TIMEOUT)
}

fn rds_budget(spec: &DeploymentSpec, operation: Operation) -> Duration {
    spec.timeouts.budget(operation, RDS_TIMEOUT)
}

/// Everything that went wrong in one converge or destroy, chain by chain.
#[derive(Debug, Default)]
pub struct Failures(pub Vec<Error>);

impl Failures {
    fn record<T>(&mut self, result: Result<T, Error>) -> Option<T> {
        result.map_err(|error| self.0.push(error)).ok()
    }
}

impl std::fmt::Display for Failures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join("; "))
    }
}

/// Brings AWS to `spec`. Returns every failure (empty on success).
pub async fn converge(
    clients: &AwsClients,
    spec: &DeploymentSpec,
    owner: &Owner,
    operation: Operation,
    stop: &StopSignal,
) -> Failures {
    let mut failures = Failures::default();
    let names = Names::new(&spec.name);
    let tags = owner.mark(spec.tags());
    let network = match network::read(clients.ec2(), &spec.network_id).await {
        Ok(view) => view,
        Err(problem) => {
            failures.0.push(Error::unexpected("ReadNetwork", format!("network {}: {problem}", spec.network_id)));
            return failures;
        }
    };
    let kms_client = clients.kms();
    let Some(key) = failures
        .record(kms::ensure(&kms_client, &names.kms_alias(), &format!("Retool deployment {}", spec.name), &tags).await)
    else {
        return failures;
    };
    // Partition and account are the caller's, from STS: never guessed from the region.
    let Some(identity) = failures.record(clients.identity().await) else {
        return failures;
    };
    let iam_client = clients.iam();
    let (eks_client, rds_client, elasticache, sm) =
        (clients.eks(), clients.rds(), clients.elasticache(), clients.secrets_manager());
    let Some(existing_cluster) = failures.record(eks::observe_cluster(&eks_client, &names.cluster()).await) else {
        return failures;
    };
    let create_security_groups =
        database_security_groups(&network, existing_cluster.as_ref().and_then(|c| c.eks_security_group_id.as_deref()));

    let cluster_chain = async {
        let policies = |list: &[&str]| managed_policies(identity, list);
        let role = |name: String, trust, managed: Vec<String>| iam::RoleSpec {
            name,
            trust,
            boundary: spec.permission_boundary_arn.clone(),
            managed_policies: managed,
            inline: None,
            tags: tags.clone(),
        };
        let cluster_role =
            role(names.cluster_role(), iam::service_trust("eks.amazonaws.com"), policies(&CLUSTER_POLICIES));
        let node_role = role(names.node_role(), iam::service_trust("ec2.amazonaws.com"), policies(&NODE_POLICIES));
        let (cluster_role, node_role) =
            tokio::try_join!(iam::ensure_role(&iam_client, &cluster_role), iam::ensure_role(&iam_client, &node_role))?;
        let budget = eks_budget(spec, operation);
        let cluster_spec = eks::ClusterSpec {
            name: names.cluster(),
            version: spec.kubernetes_version.clone(),
            role_arn: cluster_role,
            subnet_ids: network.private_subnet_ids.clone(),
            security_group_ids: vec![network.cluster_security_group_id.clone()],
            endpoint_public_access: spec.endpoint_public_access,
            public_access_cidrs: spec.public_access_cidrs.clone(),
            kms_key_arn: key.arn.clone(),
            tags: owner.mark(cluster_tags(spec)),
        };
        let cluster = eks::ensure_cluster(&eks_client, &cluster_spec, budget, stop).await?;
        let oidc = match cluster.oidc_issuer.clone() {
            Some(issuer) => {
                let arn = iam::oidc_provider_arn(identity, &issuer);
                iam::ensure_oidc(&iam_client, &arn, &issuer, &spec.name, &tags).await?;
                Some((arn, issuer))
            }
            None => {
                return Err(Error::unexpected(
                    "DescribeCluster",
                    format!("cluster {} reports no OIDC issuer", cluster.name),
                ));
            }
        };
        let node_spec = eks::NodeGroupSpec {
            name: names.node_group(&spec.node_group.instance_type),
            role_arn: node_role,
            subnet_ids: network.private_subnet_ids.clone(),
            instance_type: spec.node_group.instance_type.clone(),
            min_size: spec.node_group.min_size,
            desired_size: spec.node_group.desired_size,
            max_size: spec.node_group.max_size,
            tags: tags.clone(),
        };
        eks::ensure_node_group(&eks_client, &names.cluster(), &node_spec, budget, stop).await?;
        Ok((oidc, cluster.eks_security_group_id))
    };

    let database_chain = async {
        let parameter_group = parameter_group(spec)?;
        let family = parameter_group.trim_start_matches(&format!("{}-", spec.name)).to_owned();
        rds::ensure_subnet_group(&rds_client, &names.db_subnet_group(), &network.private_subnet_ids, &tags).await?;
        rds::ensure_parameter_group(&rds_client, &parameter_group, &family, &tags).await?;
        let budget = rds_budget(spec, operation);
        let instance = |identifier: String, settings: rds::InstanceSettings| rds::InstanceSpec {
            identifier,
            settings,
            subnet_group: names.db_subnet_group(),
            parameter_group: parameter_group.clone(),
            security_group_ids: create_security_groups.clone(),
            kms_key_arn: key.arn.clone(),
            tags: tags.clone(),
        };
        let main = instance(names.database(), spec.database.clone());
        let retool_db = async {
            if spec.retool_db.enabled {
                let retool = instance(names.retool_db(), spec.retool_db_settings());
                rds::ensure_instance(&rds_client, &retool, budget, stop).await.map(|db| db.master_user_secret_arn)
            } else {
                remove_database(&rds_client, spec, &names.retool_db(), budget, stop).await.map(|()| None)
            }
        };
        let (main, retool) = tokio::try_join!(rds::ensure_instance(&rds_client, &main, budget, stop), retool_db)?;
        Ok::<_, Error>([main.master_user_secret_arn, retool].into_iter().flatten().collect::<Vec<_>>())
    };

    let cache_chain = async {
        let budget = rds_budget(spec, operation);
        if spec.cache.enabled {
            let cache_spec = cache::CacheSpec {
                replication_group: names.cache(),
                subnet_group: names.cache_subnet_group(),
                node_type: spec.cache.node_type.clone(),
                subnet_ids: network.private_subnet_ids.clone(),
                security_group_ids: vec![network.cluster_security_group_id.clone()],
                kms_key_arn: key.arn.clone(),
                tags: tags.clone(),
            };
            cache::ensure(&elasticache, &cache_spec, budget, stop).await.map(|_| None)
        } else {
            cache::remove(&elasticache, &names.cache(), &names.cache_subnet_group(), budget, stop).await
        }
    };

    let secrets_chain = async {
        secrets::ensure(&sm, &names.secret(names::JWT_SECRET), &key.arn, &tags, generate_jwt_secret).await?;
        if spec.encryption_key_secret_arn.is_none() {
            secrets::ensure(&sm, &names.secret(names::ENCRYPTION_KEY_SECRET), &key.arn, &tags, generate_encryption_key)
                .await?;
        }
        Ok::<_, Error>(())
    };

    let (cluster, master_secrets, cache_result, secrets_result) =
        tokio::join!(cluster_chain, database_chain, cache_chain, secrets_chain);
    let cluster = failures.record(cluster);
    let master_secrets = failures.record(master_secrets);
    failures.record(cache_result);
    failures.record(secrets_result);
    let (cluster, eks_security_group) = cluster.map_or((None, None), |(oidc, group)| (Some(oidc), group));
    if master_secrets.is_some() && eks_security_group.is_some() {
        // Instances created before the cluster existed admit only the network's group so far.
        let expected = database_security_groups(&network, eks_security_group.as_deref());
        let budget = rds_budget(spec, operation);
        let identifiers = std::iter::once(names.database()).chain(spec.retool_db.enabled.then(|| names.retool_db()));
        for identifier in identifiers {
            failures.record(rds::ensure_security_groups(&rds_client, &identifier, &expected, budget, stop).await);
        }
    }
    if let (Some(Some((provider_arn, issuer))), Some(master_secrets)) = (cluster, master_secrets) {
        let mut readable = vec![deployment_secrets_arn(identity, clients.region(), &names)];
        readable.extend(master_secrets);
        readable.extend(spec.license_key_secret_arn.clone());
        readable.extend(spec.encryption_key_secret_arn.clone());
        let policy = json!({
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "ReadRetoolSecrets", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], "Resource": readable},
                {"Sid": "DecryptThem", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key.arn},
            ]
        });
        let role = iam::RoleSpec {
            name: names.external_secrets_role(),
            trust: iam::web_identity_trust(&provider_arn, &issuer, names::ESO_NAMESPACE, names::ESO_SERVICE_ACCOUNT),
            boundary: spec.permission_boundary_arn.clone(),
            managed_policies: Vec::new(),
            inline: Some((ESO_POLICY_NAME.to_owned(), policy)),
            tags: tags.clone(),
        };
        failures.record(iam::ensure_role(&iam_client, &role).await);
    }
    failures
}

fn unix_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

/// Deletes a database instance, unless `deletion_protection` is configured (then an existing
/// instance is an error and nothing is touched).
async fn remove_database(
    rds_client: &aws_sdk_rds::Client,
    spec: &DeploymentSpec,
    identifier: &str,
    budget: Duration,
    stop: &StopSignal,
) -> Result<(), Error> {
    if spec.database.deletion_protection {
        return match rds::observe_instance(rds_client, identifier).await? {
            Some(_) => Err(Error::unexpected(
                "DeleteDBInstance",
                format!(
                    "DB instance {identifier} is protected by database.deletion_protection; set it to false and apply first"
                ),
            )),
            None => Ok(()),
        };
    }
    let snapshot =
        (!spec.skip_final_snapshot).then(|| Names::new(&spec.name).final_snapshot(identifier, unix_seconds()));
    rds::remove_instance(rds_client, identifier, snapshot.as_deref(), budget, stop).await
}

/// Takes the deployment down: cluster, databases (final snapshots unless skipped), cache and
/// secrets concurrently, then the KMS key — kept instead when final snapshots encrypted with it
/// exist. Returns warnings about anything left behind on
/// purpose; fails with every error met.
pub async fn destroy(clients: &AwsClients, spec: &DeploymentSpec, stop: &StopSignal) -> Result<Vec<String>, Failures> {
    let names = Names::new(&spec.name);
    let iam_client = clients.iam();
    let (eks_client, rds_client, elasticache, sm) =
        (clients.eks(), clients.rds(), clients.elasticache(), clients.secrets_manager());
    let eks_time = eks_budget(spec, Operation::Delete);
    let rds_time = rds_budget(spec, Operation::Delete);
    let cluster_chain = async {
        let cluster = eks::observe_cluster(&eks_client, &names.cluster()).await?;
        eks::remove_cluster(&eks_client, &names.cluster(), eks_time, stop).await?;
        if let Some(issuer) = cluster.and_then(|c| c.oidc_issuer.clone()) {
            let identity = clients.identity().await?;
            iam::release_oidc(&iam_client, &iam::oidc_provider_arn(identity, &issuer), &spec.name).await?;
        }
        for role in [names.external_secrets_role(), names.cluster_role(), names.node_role()] {
            iam::remove_role(&iam_client, &role).await?;
        }
        Ok::<_, Error>(())
    };
    let database_chain = async {
        let (database, retool_db) = (names.database(), names.retool_db());
        tokio::try_join!(
            remove_database(&rds_client, spec, &database, rds_time, stop),
            remove_database(&rds_client, spec, &retool_db, rds_time, stop),
        )?;
        // Every family this deployment may have used since the oldest Retool supports.
        let current =
            PostgresVersion::parse(&spec.database.engine_version).map(|v| v.major).unwrap_or(MIN_POSTGRES_MAJOR);
        for major in MIN_POSTGRES_MAJOR..=current {
            rds::remove_parameter_group(&rds_client, &names.db_parameter_group(&format!("postgres{major}"))).await?;
        }
        rds::remove_subnet_group(&rds_client, &names.db_subnet_group()).await
    };
    let (cache_name, cache_subnet_group) = (names.cache(), names.cache_subnet_group());
    let cache_chain = cache::remove(&elasticache, &cache_name, &cache_subnet_group, rds_time, stop);
    let secrets_chain = async {
        secrets::remove(&sm, &names.secret(names::JWT_SECRET)).await?;
        secrets::remove(&sm, &names.secret(names::ENCRYPTION_KEY_SECRET)).await
    };
    let (cluster, database, cache_left, secrets_done) =
        tokio::join!(cluster_chain, database_chain, cache_chain, secrets_chain);
    let mut failures = Failures::default();
    failures.record(cluster);
    failures.record(database);
    let leftover = failures.record(cache_left).flatten();
    failures.record(secrets_done);
    if !failures.0.is_empty() {
        return Err(failures);
    }
    let mut warnings: Vec<String> = leftover.into_iter().collect();
    let kms_client = clients.kms();
    let key_result = async {
        let Some(key) = kms::observe(&kms_client, &names.kms_alias()).await? else { return Ok(None) };
        // Final snapshots (and the automated backups RDS retains with them) need the key to be
        // restored: deleting it would make them worthless after the waiting period.
        let mut snapshots = rds::final_snapshots(&rds_client, &names.database(), &key.arn).await?;
        snapshots.extend(rds::final_snapshots(&rds_client, &names.retool_db(), &key.arn).await?);
        if snapshots.is_empty() {
            kms::remove(&kms_client, &names.kms_alias()).await.map(|()| None)
        } else {
            let kept = kms::retain(&kms_client, &names.kms_alias(), &snapshots).await?;
            Ok(kept.map(|arn| {
                format!(
                    "KMS key {arn} was kept, not scheduled for deletion: it encrypts final snapshot(s) {} (tagged {}). Schedule its deletion yourself once they are no longer needed.",
                    snapshots.join(", "),
                    kms::RETAINED_FOR_TAG
                )
            }))
        }
    };
    match key_result.await {
        Ok(kept) => warnings.extend(kept),
        Err(error) => {
            failures.0.push(error);
            return Err(failures);
        }
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::ownership::Claim;

    #[test]
    fn databases_admit_the_eks_cluster_group_once_it_exists() {
        let network = NetworkView {
            vpc_id: "vpc-1".into(),
            private_subnet_ids: vec![],
            cluster_security_group_id: "sg-network-cluster".into(),
            database_security_group_id: "sg-network-db".into(),
            egress_ips: vec![],
        };
        assert_eq!(database_security_groups(&network, None), ["sg-network-db"]);
        assert_eq!(database_security_groups(&network, Some("sg-eks")), ["sg-eks", "sg-network-db"]);
        assert_eq!(database_security_groups(&network, Some("sg-network-db")), ["sg-network-db"]);
    }

    #[test]
    fn objects_of_other_instances_are_taken_out_and_named() {
        let ours = Owner::test("ours");
        let theirs = Owner::test("theirs");
        let names = Names::new("acme");
        let observed = Observed {
            cluster: Some(eks::ClusterState { tags: theirs.mark(Tags::new()), ..eks::ClusterState::default() }),
            database: Some(rds::InstanceState { tags: ours.mark(Tags::new()), ..rds::InstanceState::default() }),
            retool_db: Some(rds::InstanceState::default()),
            jwt_secret: Some(secrets::SecretState {
                arn: "j".into(),
                has_value: true,
                scheduled_for_deletion: true,
                tags: theirs.mark(Tags::new()),
            }),
            ..Observed::default()
        };
        let (mine, not_ours) = observed.clone().claimed_by(&ours, &names);
        assert!(mine.cluster.is_none() && mine.retool_db.is_none());
        assert!(mine.database.is_some(), "our own database stays");
        assert!(mine.jwt_secret.is_some(), "a secret scheduled for deletion is abandoned, so it may be restored");
        let objects: Vec<&str> = not_ours.iter().map(|found| found.object.as_str()).collect();
        assert_eq!(objects, ["EKS cluster acme", "DB instance acme-retooldb"]);
        assert_eq!(not_ours[0].claim, Claim::Foreign("theirs".into()));
        assert_eq!(not_ours[1].claim, Claim::Unmarked);

        let adopting = Owner { adopt_unmarked: true, ..ours };
        let (mine, not_ours) = observed.claimed_by(&adopting, &names);
        assert!(mine.retool_db.is_some(), "a state from before marks keeps its unmarked objects");
        assert_eq!(not_ours.len(), 1);
    }

    #[test]
    fn partition_and_account_come_from_the_caller_not_the_region() {
        // A GovCloud caller in a region whose name says nothing about it.
        let identity =
            CallerIdentity::from_arn("arn:aws-us-gov:sts::111122223333:assumed-role/ops/session").expect("caller ARN");
        assert_eq!(
            managed_policies(&identity, &CLUSTER_POLICIES),
            ["arn:aws-us-gov:iam::aws:policy/AmazonEKSClusterPolicy"]
        );
        assert_eq!(
            deployment_secrets_arn(&identity, "us-east-1", &Names::new("acme")),
            "arn:aws-us-gov:secretsmanager:us-east-1:111122223333:secret:retool/acme/*"
        );
        assert_eq!(
            iam::oidc_provider_arn(&identity, "https://oidc.eks.us-east-1.amazonaws.com/id/X"),
            "arn:aws-us-gov:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X"
        );
    }
}
