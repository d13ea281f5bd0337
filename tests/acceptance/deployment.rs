//! Acceptance tests of `retool_deployment`: real Terraform drives the provider against a private
//! moto emulator (started with `MOTO_IAM_LOAD_MANAGED_POLICIES=true`, so the AWS managed EKS
//! policies exist). Every claim is checked through the AWS APIs: what exists and with which
//! settings, that resizes and drift repairs land, that protected destroys touch nothing and
//! unprotected ones leave nothing of ours — and that no generated secret value ever appears in
//! state, `terraform show -json` or `TF_LOG=trace` output.
//!
//! moto limits these tests work around, each narrowly and said where it happens:
//! `DeleteCacheSubnetGroup` is not implemented;
//! `UpdateClusterVersion` does not exist (Kubernetes upgrades are tested at plan only); every EKS
//! cluster in one moto process shares the same OIDC issuer.

use serde_json::Value;

use crate::support::diagnostics::{error_diagnostics, warning_diagnostics};
use crate::support::{Emulator, FaultProxy, Workspace, acceptance_toolchain, aws as support_aws};

const ADDRESS: &str = "retool_deployment.this";
/// Outputs an in-place repair of settings must keep known in its plan and unchanged.
const STABLE_OUTPUTS: [&str; 8] = [
    "cluster_arn",
    "cluster_endpoint",
    "oidc_issuer_url",
    "kms_key_arn",
    "database_endpoint",
    "jwt_secret_arn",
    "encryption_key_secret_arn",
    "cache_endpoint",
];
const BOUNDARY_NAME: &str = "acceptance-workload-boundary";
const ZONES: &str = "[\"us-east-1a\", \"us-east-1b\"]";

// ---------------------------------------------------------------------------------------------
// AWS clients on the emulator
// ---------------------------------------------------------------------------------------------

/// AWS clients on the emulator (the examples' tests use them too).
pub(crate) struct Clients {
    pub(crate) ec2: aws_sdk_ec2::Client,
    pub(crate) eks: aws_sdk_eks::Client,
    pub(crate) rds: aws_sdk_rds::Client,
    pub(crate) elasticache: aws_sdk_elasticache::Client,
    pub(crate) iam: aws_sdk_iam::Client,
    pub(crate) kms: aws_sdk_kms::Client,
    pub(crate) secrets: aws_sdk_secretsmanager::Client,
}

impl Clients {
    pub(crate) fn new(endpoint: &str) -> Self {
        let config = support_aws::sdk_config(endpoint);
        Self {
            ec2: support_aws::ec2(endpoint),
            eks: aws_sdk_eks::Client::new(&config),
            rds: aws_sdk_rds::Client::new(&config),
            elasticache: aws_sdk_elasticache::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
            kms: aws_sdk_kms::Client::new(&config),
            secrets: aws_sdk_secretsmanager::Client::new(&config),
        }
    }

    async fn secret_value(&self, arn: &str) -> String {
        let out = self
            .secrets
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GetSecretValue {arn}: {e:?}"));
        out.secret_string().unwrap_or_else(|| panic!("secret {arn} has no string value")).to_owned()
    }

    pub(crate) async fn cluster(&self, name: &str) -> Option<aws_sdk_eks::types::Cluster> {
        self.eks.describe_cluster().name(name).send().await.ok().and_then(|out| out.cluster().cloned())
    }

    pub(crate) async fn db(&self, identifier: &str) -> Option<aws_sdk_rds::types::DbInstance> {
        self.rds
            .describe_db_instances()
            .db_instance_identifier(identifier)
            .send()
            .await
            .ok()
            .and_then(|out| out.db_instances().first().cloned())
    }

    async fn node_group(&self, cluster: &str, name: &str) -> aws_sdk_eks::types::Nodegroup {
        let out = self.eks.describe_nodegroup().cluster_name(cluster).nodegroup_name(name).send().await;
        out.unwrap_or_else(|e| panic!("DescribeNodegroup {name}: {e:?}")).nodegroup().cloned().expect("node group")
    }

    pub(crate) async fn role_names(&self) -> Vec<String> {
        let roles = self.iam.list_roles().send().await.expect("ListRoles");
        roles.roles().iter().map(|role| role.role_name().to_owned()).collect()
    }

    async fn oidc_provider_arns(&self) -> Vec<String> {
        let providers = self.iam.list_open_id_connect_providers().send().await.expect("ListOpenIDConnectProviders");
        providers.open_id_connect_provider_list().iter().filter_map(|p| p.arn()).map(str::to_owned).collect()
    }

    /// Creates the managed policy the deployments use as permissions boundary; returns its ARN.
    async fn create_boundary(&self) -> String {
        let document = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        let created = self
            .iam
            .create_policy()
            .policy_name(BOUNDARY_NAME)
            .policy_document(document)
            .send()
            .await
            .expect("CreatePolicy");
        created.policy().and_then(|p| p.arn()).expect("policy ARN").to_owned()
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

/// Settings of one `retool_deployment` block.
#[derive(Clone)]
struct Deployment {
    resource: &'static str,
    name: &'static str,
    version: &'static str,
    domain: &'static str,
    kubernetes_version: &'static str,
    boundary: Option<String>,
    /// A customer-managed ENCRYPTION_KEY secret instead of a generated one.
    encryption_key_secret_arn: Option<String>,
    nodes: (u32, u32, u32),
    db_class: &'static str,
    deletion_protection: bool,
    skip_final_snapshot: bool,
    cache: bool,
    retool_db: bool,
}

impl Deployment {
    fn new(resource: &'static str, name: &'static str, domain: &'static str) -> Self {
        Self {
            resource,
            name,
            version: "3.148.0-stable",
            domain,
            kubernetes_version: "1.33",
            boundary: None,
            encryption_key_secret_arn: None,
            nodes: (2, 2, 4),
            db_class: "db.m5.large",
            deletion_protection: false,
            skip_final_snapshot: true,
            cache: false,
            retool_db: false,
        }
    }

    fn hcl(&self) -> String {
        let mut boundary =
            self.boundary.as_ref().map(|arn| format!("  permission_boundary_arn = \"{arn}\"\n")).unwrap_or_default();
        if let Some(arn) = &self.encryption_key_secret_arn {
            boundary.push_str(&format!("  encryption_key_secret_arn = \"{arn}\"\n"));
        }
        let (min, desired, max) = self.nodes;
        format!(
            r#"resource "retool_deployment" "{resource}" {{
  name               = "{name}"
  network_id         = retool_network.net.id
  retool_version     = "{version}"
  domain             = "{domain}"
  kubernetes_version = "{k8s}"
{boundary}  tags = {{
    Team = "platform"
  }}
  node_group {{
    instance_type = "m5.large"
    min_size      = {min}
    desired_size  = {desired}
    max_size      = {max}
  }}
  database {{
    instance_class           = "{db_class}"
    max_allocated_storage_gb = 100
    deletion_protection      = {protection}
    skip_final_snapshot      = {skip}
  }}
  cache {{
    enabled = {cache}
  }}
  retool_db {{
    enabled = {retool_db}
  }}
}}

output "{resource}" {{
  value = {{
    for key, value in retool_deployment.{resource} : key => value
    if !contains(["node_group", "database", "cache", "retool_db", "timeouts", "tags"], key)
  }}
}}
"#,
            resource = self.resource,
            name = self.name,
            version = self.version,
            domain = self.domain,
            k8s = self.kubernetes_version,
            db_class = self.db_class,
            protection = self.deletion_protection,
            skip = self.skip_final_snapshot,
            cache = self.cache,
            retool_db = self.retool_db,
        )
    }
}

fn config(workspace: &Workspace, deployments: &[&Deployment]) -> String {
    let blocks: String = deployments.iter().map(|d| d.hcl()).collect();
    format!(
        r#"{provider}
resource "retool_network" "net" {{
  name               = "acceptance"
  cidr_block         = "10.42.0.0/16"
  availability_zones = {ZONES}
  nat_gateways       = "single"
}}

output "network" {{
  value = retool_network.net
}}

{blocks}"#,
        // Few retries: moto answers unimplemented calls (DeleteCacheSubnetGroup) with HTTP 500,
        // which the SDK would otherwise retry for minutes.
        provider = workspace.provider_block_with("  max_retries = 2\n"),
    )
}

fn text<'a>(values: &'a Value, name: &str) -> &'a str {
    values[name].as_str().unwrap_or_else(|| panic!("`{name}` is not a known string: {values:#}"))
}

fn texts(values: &Value, name: &str) -> Vec<String> {
    let mut items: Vec<String> = values[name]
        .as_array()
        .unwrap_or_else(|| panic!("`{name}` is not a list: {values:#}"))
        .iter()
        .map(|item| item.as_str().expect("string element").to_owned())
        .collect();
    items.sort();
    items
}

fn sorted(items: &[String]) -> Vec<String> {
    let mut items = items.to_vec();
    items.sort();
    items
}

/// IAM returns policy documents URL-encoded.
fn url_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        let hex = bytes
            .get(index + 1..index + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[index], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                index += 3;
            }
            (byte, _) => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8(out).expect("UTF-8 policy")
}

/// Requests to any AWS API except S3 (Terraform's state backend) logged after `mark`.
fn aws_requests_since(emulator: &Emulator, mark: usize, bucket: &str) -> Vec<String> {
    let output = emulator.output();
    output
        .lines()
        .skip(mark)
        .filter(|line| line.contains("HTTP/1.1\"") && !line.contains(&format!("/{bucket}")))
        .map(str::to_owned)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

/// Everything the deployment reports exists in AWS with the configured settings.
async fn assert_stack_matches(aws: &Clients, deployment: &Deployment, outputs: &Value, network: &Value) {
    let name = deployment.name;
    let private_subnets = texts(network, "private_subnet_ids");
    let cluster_sg = text(network, "cluster_security_group_id");
    let database_sg = text(network, "database_security_group_id");
    assert_eq!(text(outputs, "id"), name);
    assert_eq!(text(outputs, "url"), format!("https://{}", deployment.domain));
    assert_eq!(texts(outputs, "egress_ips"), texts(network, "egress_ips"), "egress_ips come from the network");
    assert!(texts(outputs, "egress_allowlist").contains(&"licensing.tryretool.com".to_owned()), "{outputs:#}");
    assert!(outputs["estimated_monthly_cost_usd"].as_f64().is_some_and(|cost| cost > 0.0), "cost: {outputs:#}");
    assert_eq!(outputs["drift"], serde_json::json!([]), "drift after apply");

    // KMS: the key behind the alias, rotation on.
    let key = aws.kms.describe_key().key_id(format!("alias/retool/{name}")).send().await.expect("DescribeKey alias");
    let key = key.key_metadata().expect("key metadata");
    assert_eq!(key.arn(), Some(text(outputs, "kms_key_arn")));
    let rotation = aws.kms.get_key_rotation_status().key_id(key.key_id()).send().await.expect("GetKeyRotationStatus");
    assert!(rotation.key_rotation_enabled(), "KMS rotation must be on");
    let key_arn = text(outputs, "kms_key_arn");

    // IAM: three roles, each with the boundary when configured.
    for role in [format!("{name}-eks-cluster"), format!("{name}-eks-nodes"), format!("{name}-external-secrets")] {
        let found = aws.iam.get_role().role_name(&role).send().await.unwrap_or_else(|e| panic!("role {role}: {e:?}"));
        let boundary = found.role().and_then(|r| r.permissions_boundary()).and_then(|b| b.permissions_boundary_arn());
        assert_eq!(boundary, deployment.boundary.as_deref(), "boundary of {role}");
    }
    let eso = aws.iam.get_role().role_name(format!("{name}-external-secrets")).send().await.expect("ESO role");
    let trust = url_decode(eso.role().and_then(|r| r.assume_role_policy_document()).unwrap_or_default());
    assert!(trust.contains("AssumeRoleWithWebIdentity") && trust.contains("oidc-provider"), "ESO trust: {trust}");
    let policy = aws
        .iam
        .get_role_policy()
        .role_name(format!("{name}-external-secrets"))
        .policy_name("read-retool-secrets")
        .send()
        .await
        .expect("ESO policy");
    let policy = url_decode(policy.policy_document());
    assert!(policy.contains(&format!("secret:retool/{name}/*")), "ESO policy must scope to retool/{name}/*: {policy}");
    assert!(
        policy.contains(text(outputs, "database_master_user_secret_arn")),
        "ESO policy must allow the master secret: {policy}"
    );
    assert!(
        !policy.contains("\"*\"") && !policy.contains("secret:*"),
        "ESO policy must not read every secret: {policy}"
    );

    // EKS: private subnets, the cluster security group, secrets encrypted with the key, nodes.
    let cluster = aws.cluster(name).await.expect("cluster exists");
    assert_eq!(cluster.arn(), Some(text(outputs, "cluster_arn")));
    assert_eq!(cluster.version(), Some(deployment.kubernetes_version));
    let vpc = cluster.resources_vpc_config().expect("vpc config");
    assert_eq!(sorted(vpc.subnet_ids()), private_subnets, "cluster subnets");
    assert_eq!(vpc.security_group_ids(), [cluster_sg.to_owned()], "cluster security group");
    let encryption = cluster.encryption_config().first().expect("encryption config");
    assert_eq!(encryption.resources(), ["secrets".to_owned()]);
    assert_eq!(encryption.provider().and_then(|p| p.key_arn()), Some(key_arn));
    assert_eq!(cluster.tags().and_then(|t| t.get("Team")).map(String::as_str), Some("platform"));
    let group = aws.node_group(name, &format!("{name}-m5-large")).await;
    let scaling = group.scaling_config().expect("scaling");
    let (min, desired, max) = deployment.nodes;
    assert_eq!(
        (scaling.min_size(), scaling.desired_size(), scaling.max_size()),
        (Some(min as i32), Some(desired as i32), Some(max as i32))
    );
    assert_eq!(sorted(group.subnets()), private_subnets, "node subnets");
    assert_eq!(group.instance_types(), ["m5.large".to_owned()]);

    // RDS: encrypted with the key, TLS forced, managed password, explicit CA, private, protected.
    let db = aws.db(&format!("{name}-postgres")).await.expect("database exists");
    assert_eq!(db.db_instance_class(), Some(deployment.db_class));
    assert_eq!(db.storage_encrypted(), Some(true));
    assert_eq!(db.kms_key_id(), Some(key_arn));
    assert_eq!(db.ca_certificate_identifier(), Some("rds-ca-rsa2048-g1"));
    assert_eq!(db.max_allocated_storage(), Some(100));
    assert_eq!(db.deletion_protection(), Some(deployment.deletion_protection));
    assert_eq!(db.backup_retention_period(), Some(7));
    let sgs: Vec<&str> = db.vpc_security_groups().iter().filter_map(|g| g.vpc_security_group_id()).collect();
    assert_eq!(sgs, [database_sg], "database security group");
    let subnet_group = db.db_subnet_group().expect("subnet group");
    let mut db_subnets: Vec<String> =
        subnet_group.subnets().iter().filter_map(|s| s.subnet_identifier()).map(str::to_owned).collect();
    db_subnets.sort();
    assert_eq!(db_subnets, private_subnets, "database subnets");
    let master = db.master_user_secret().and_then(|s| s.secret_arn()).expect("managed master secret");
    assert_eq!(master, text(outputs, "database_master_user_secret_arn"));
    aws.secrets.describe_secret().secret_id(master).send().await.expect("the master secret exists");
    let group_name =
        db.db_parameter_groups().first().and_then(|g| g.db_parameter_group_name()).expect("parameter group").to_owned();
    let parameters = aws
        .rds
        .describe_db_parameters()
        .db_parameter_group_name(&group_name)
        .send()
        .await
        .expect("DescribeDBParameters");
    assert!(
        parameters
            .parameters()
            .iter()
            .any(|p| p.parameter_name() == Some("rds.force_ssl") && p.parameter_value() == Some("1")),
        "rds.force_ssl = 1 in {group_name}"
    );
    assert_eq!(db.endpoint().and_then(|e| e.address()), Some(text(outputs, "database_endpoint")));

    // Retool DB and cache, when enabled.
    let retool_db = aws.db(&format!("{name}-retooldb")).await;
    assert_eq!(retool_db.is_some(), deployment.retool_db, "Retool DB instance exists iff enabled");
    if let Some(retool_db) = retool_db {
        assert_eq!(retool_db.storage_encrypted(), Some(true));
        assert_eq!(retool_db.kms_key_id(), Some(key_arn));
        assert_eq!(retool_db.endpoint().and_then(|e| e.address()), Some(text(outputs, "retool_db_endpoint")));
    } else {
        assert!(outputs["retool_db_endpoint"].is_null());
    }
    let cache =
        aws.elasticache.describe_replication_groups().replication_group_id(format!("{name}-cache")).send().await;
    let cache =
        cache.ok().and_then(|out| out.replication_groups().first().cloned()).filter(|g| g.status() != Some("deleting"));
    assert_eq!(cache.is_some(), deployment.cache, "cache exists iff enabled");
    if let Some(cache) = cache {
        assert_eq!(cache.transit_encryption_enabled(), Some(true));
        assert_eq!(cache.at_rest_encryption_enabled(), Some(true));
        assert_eq!(cache.kms_key_id(), Some(key_arn));
        let endpoint = cache.node_groups().first().and_then(|n| n.primary_endpoint()).and_then(|e| e.address());
        assert_eq!(endpoint, Some(text(outputs, "cache_endpoint")));
    } else {
        assert!(outputs["cache_endpoint"].is_null());
    }

    // Generated secrets: right names, the key, values of the right length.
    let mut generated = vec![("jwt_secret_arn", "jwt-secret", 256)];
    match &deployment.encryption_key_secret_arn {
        None => generated.push(("encryption_key_secret_arn", "encryption-key", 64)),
        Some(theirs) => {
            assert_eq!(text(outputs, "encryption_key_secret_arn"), theirs, "the customer's secret is reported as is");
            let ours = aws.secrets.describe_secret().secret_id(format!("retool/{name}/encryption-key")).send().await;
            assert!(ours.is_err(), "no ENCRYPTION_KEY is generated when the customer brings one");
            assert!(
                policy.contains(theirs.as_str()),
                "the External Secrets role may read the customer's key: {policy}"
            );
        }
    }
    for (output, suffix, length) in generated {
        let arn = text(outputs, output);
        let described = aws.secrets.describe_secret().secret_id(arn).send().await.expect("DescribeSecret");
        assert_eq!(described.name(), Some(format!("retool/{name}/{suffix}").as_str()));
        assert_eq!(described.kms_key_id(), Some(key_arn), "{suffix} encrypted with the deployment key");
        let value = aws.secret_value(arn).await;
        assert_eq!(value.len(), length, "{suffix} length");
        assert!(value.chars().all(|c| c.is_ascii_alphanumeric()), "{suffix} alphabet");
    }
}

/// The `Team` tag on the key, a role, the cluster, the database and a secret.
async fn assert_tags(aws: &Clients, outputs: &Value, team: &str) {
    let name = text(outputs, "id");
    let key = aws.kms.list_resource_tags().key_id(text(outputs, "kms_key_arn")).send().await.expect("ListResourceTags");
    assert!(
        key.tags().iter().any(|t| t.tag_key() == "Team" && t.tag_value() == team),
        "KMS key tags: {:?}",
        key.tags()
    );
    let role = aws.iam.get_role().role_name(format!("{name}-eks-nodes")).send().await.expect("GetRole");
    let role_tags = role.role().map(|r| r.tags().to_vec()).unwrap_or_default();
    assert!(role_tags.iter().any(|t| t.key() == "Team" && t.value() == team), "role tags: {role_tags:?}");
    let cluster = aws.cluster(name).await.expect("cluster");
    assert_eq!(cluster.tags().and_then(|t| t.get("Team")).map(String::as_str), Some(team), "cluster tags");
    let db = aws.db(&format!("{name}-postgres")).await.expect("database");
    assert!(
        db.tag_list().iter().any(|t| t.key() == Some("Team") && t.value() == Some(team)),
        "database tags: {:?}",
        db.tag_list()
    );
    let secret =
        aws.secrets.describe_secret().secret_id(text(outputs, "jwt_secret_arn")).send().await.expect("DescribeSecret");
    assert!(
        secret.tags().iter().any(|t| t.key() == Some("Team") && t.value() == Some(team)),
        "secret tags: {:?}",
        secret.tags()
    );
}

async fn outputs(workspace: &Workspace) -> Value {
    workspace.terraform().outputs().await.expect("terraform output")
}

/// After deleting deployment `name`: nothing of it left in AWS, except what moto cannot delete.
async fn assert_gone(aws: &Clients, name: &str) {
    assert!(aws.cluster(name).await.is_none(), "cluster {name} still exists");
    for db in [format!("{name}-postgres"), format!("{name}-retooldb")] {
        assert!(aws.db(&db).await.is_none(), "DB instance {db} still exists");
    }
    let roles = aws.role_names().await;
    assert!(!roles.iter().any(|role| role.starts_with(&format!("{name}-"))), "roles left: {roles:?}");
    let groups = aws.rds.describe_db_parameter_groups().send().await.expect("DescribeDBParameterGroups");
    let left: Vec<&str> = groups
        .db_parameter_groups()
        .iter()
        .filter_map(|g| g.db_parameter_group_name())
        .filter(|n| n.starts_with(&format!("{name}-")))
        .collect();
    assert!(left.is_empty(), "parameter groups left: {left:?}");
    let subnet_groups = aws.rds.describe_db_subnet_groups().send().await.expect("DescribeDBSubnetGroups");
    let left: Vec<&str> = subnet_groups
        .db_subnet_groups()
        .iter()
        .filter_map(|g| g.db_subnet_group_name())
        .filter(|n| n.starts_with(&format!("{name}-")))
        .collect();
    assert!(left.is_empty(), "DB subnet groups left: {left:?}");
    // The key: alias gone, deletion scheduled (AWS's minimum waiting period is 7 days).
    let aliases = aws.kms.list_aliases().send().await.expect("ListAliases");
    assert!(
        !aliases.aliases().iter().any(|a| a.alias_name() == Some(format!("alias/retool/{name}").as_str())),
        "KMS alias left"
    );
    // Secrets: scheduled for deletion with a recovery window, not destroyed at once.
    for suffix in ["encryption-key", "jwt-secret"] {
        let described = aws.secrets.describe_secret().secret_id(format!("retool/{name}/{suffix}")).send().await;
        if let Ok(secret) = described {
            assert!(secret.deleted_date().is_some(), "secret retool/{name}/{suffix} not scheduled for deletion");
        }
    }
    // A deleted replication group is `deleting` for a moment, then gone; accept only those.
    let cache =
        aws.elasticache.describe_replication_groups().replication_group_id(format!("{name}-cache")).send().await;
    if let Ok(cache) = cache {
        for group in cache.replication_groups() {
            assert_eq!(group.status(), Some("deleting"), "replication group {name}-cache must be deleting");
        }
    }
    // The cache subnet group is tolerated: moto does not implement DeleteCacheSubnetGroup.
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn deployment_lifecycle_resize_drift_import_protection_and_destroy() {
    let toolchain = acceptance_toolchain("deployment_lifecycle_resize_drift_import_protection_and_destroy");
    let emulator = Emulator::start(&toolchain);
    let aws = Clients::new(&emulator.endpoint());
    let workspace = Workspace::new(&toolchain, &emulator);
    let terraform = workspace.terraform();
    let boundary = aws.create_boundary().await;
    workspace.start_cluster(&["acme", "acme2"]).await;
    let mut deployment = Deployment::new("this", "acme", "retool.acme.test");
    deployment.boundary = Some(boundary);
    deployment.cache = true;
    deployment.retool_db = true;
    deployment.deletion_protection = true;
    deployment.skip_final_snapshot = false;

    // Create: every piece, with the right settings; then nothing left to do.
    workspace.write_main(&config(&workspace, &[&deployment]));
    terraform.init().await.expect("init");
    terraform.apply().await.expect("apply");
    let all = outputs(&workspace).await;
    assert_stack_matches(&aws, &deployment, &all["this"], &all["network"]).await;
    terraform.plan().await.expect("second plan").assert_empty("second plan after create");

    // Resize in place: nodes and database class.
    deployment.nodes = (2, 3, 5);
    deployment.db_class = "db.m5.xlarge";
    workspace.write_main(&config(&workspace, &[&deployment]));
    let plan = terraform.plan_json().await.expect("resize plan");
    let actions = resource_actions(&plan, ADDRESS);
    assert_eq!(actions, ["update"], "resizing is in place: {actions:?}");
    let before = all["this"].clone();
    terraform.apply().await.expect("resize apply");
    let all = outputs(&workspace).await;
    assert_stack_matches(&aws, &deployment, &all["this"], &all["network"]).await;
    assert_eq!(all["this"]["cluster_arn"], before["cluster_arn"], "resizing keeps the cluster");
    terraform.plan().await.expect("plan after resize").assert_empty("plan after resize");

    // Drift: a node group scaled by hand, a database modified by hand.
    aws.eks
        .update_nodegroup_config()
        .cluster_name("acme")
        .nodegroup_name("acme-m5-large")
        .scaling_config(
            aws_sdk_eks::types::NodegroupScalingConfig::builder().min_size(1).desired_size(1).max_size(5).build(),
        )
        .send()
        .await
        .expect("scale by hand");
    aws.rds
        .modify_db_instance()
        .db_instance_identifier("acme-postgres")
        .backup_retention_period(1)
        .apply_immediately(true)
        .send()
        .await
        .expect("modify the database by hand");
    // The Retool DB is compared on everything converge sets, not only its class and storage.
    aws.rds
        .modify_db_instance()
        .db_instance_identifier("acme-retooldb")
        .backup_retention_period(2)
        .apply_immediately(true)
        .send()
        .await
        .expect("modify the Retool DB by hand");
    let retool_db_drift = "Retool DB instance acme-retooldb backup retention (days) is 2, configured 7";
    let refreshed = terraform.plan_refresh_only().await.expect("refresh-only plan after drift");
    assert!(refreshed.output.stdout.contains(retool_db_drift), "Retool DB drift refreshed:\n{}", refreshed.output);
    let drifted = terraform.plan().await.expect("plan after drift");
    drifted.assert_changes("plan after drift");
    assert!(drifted.output.stdout.contains(retool_db_drift), "Retool DB drift shown:\n{}", drifted.output);
    assert!(
        drifted.output.stdout.contains("scales min 1 / desired 1 / max 5"),
        "node drift shown:\n{}",
        drifted.output
    );
    assert!(drifted.output.stdout.contains("backup retention"), "database drift shown:\n{}", drifted.output);
    // Repairing settings in place keeps every identifier: the plan shows them known, as before.
    let repair = terraform.plan_json().await.expect("repair plan JSON");
    let changed = changed_attributes(&repair, ADDRESS);
    for stable in STABLE_OUTPUTS {
        assert!(
            !changed.contains(&stable.to_owned()),
            "{stable} is unknown or changed in an in-place repair: {changed:?}"
        );
    }
    let before_repair = outputs(&workspace).await["this"].clone();
    terraform.apply().await.expect("repair apply");
    let all = outputs(&workspace).await;
    for stable in STABLE_OUTPUTS {
        assert_eq!(all["this"][stable], before_repair[stable], "{stable} changed in an in-place repair");
    }
    assert_stack_matches(&aws, &deployment, &all["this"], &all["network"]).await;
    let retool_db = aws.db("acme-retooldb").await.expect("Retool DB");
    assert_eq!(retool_db.backup_retention_period(), Some(7), "the Retool DB's backups are repaired");
    terraform.plan().await.expect("plan after repair").assert_empty("plan after drift repair");

    // A cluster deleted behind Terraform's back is drift too; apply builds it again.
    aws.eks
        .delete_nodegroup()
        .cluster_name("acme")
        .nodegroup_name("acme-m5-large")
        .send()
        .await
        .expect("delete node group by hand");
    aws.eks.delete_cluster().name("acme").send().await.expect("delete cluster by hand");
    let drifted = terraform.plan().await.expect("plan after cluster deletion");
    drifted.assert_changes("plan after deleting the cluster");
    // Rebuilding the cluster gives it new identifiers; the key and database keep theirs.
    let changed = changed_attributes(&terraform.plan_json().await.expect("rebuild plan JSON"), ADDRESS);
    assert!(changed.contains(&"cluster_arn".to_owned()), "a rebuilt cluster's ARN is known in advance: {changed:?}");
    for kept in ["kms_key_arn", "database_endpoint", "jwt_secret_arn"] {
        assert!(!changed.contains(&kept.to_owned()), "{kept} is unknown when only the cluster is rebuilt: {changed:?}");
    }
    assert!(
        drifted.output.stdout.contains("EKS cluster acme does not exist"),
        "cluster drift shown:\n{}",
        drifted.output
    );
    terraform.apply().await.expect("rebuild apply");
    let all = outputs(&workspace).await;
    assert_stack_matches(&aws, &deployment, &all["this"], &all["network"]).await;
    terraform.plan().await.expect("plan after rebuild").assert_empty("plan after rebuilding the cluster");

    // Renaming replaces: the plan says so and warns that the database goes with it.
    let renamed = config(&workspace, &[&deployment]).replacen(
        "name               = \"acme\"",
        "name               = \"acme2\"",
        1,
    );
    workspace.write_main(&renamed);
    let replace = terraform.plan().await.expect("rename plan");
    assert!(replace.output.stdout.contains("must be replaced"), "rename replaces:\n{}", replace.output);
    assert!(
        replace.output.stdout.contains("Replacing the deployment deletes its database"),
        "replacement warning:\n{}",
        replace.output
    );
    workspace.write_main(&config(&workspace, &[&deployment]));

    // Changing retool_version alone changes that attribute only.
    deployment.version = "3.150.0-stable";
    workspace.write_main(&config(&workspace, &[&deployment]));
    let plan = terraform.plan_json().await.expect("version plan");
    // What the cluster reports (`workloads`) is known only after the new version has rolled out.
    assert_eq!(
        changed_attributes(&plan, ADDRESS),
        ["retool_version", "workloads"],
        "a version change touches nothing else"
    );
    let mark = emulator.output().lines().count();
    terraform.apply().await.expect("version apply");
    let mutations: Vec<String> = aws_requests_since(&emulator, mark, workspace.bucket())
        .into_iter()
        .filter(|line| {
            line.contains("\"POST /tags/")
                || line.contains("\"POST /clusters")
                || line.contains("\"PUT ")
                || line.contains("\"DELETE ")
        })
        .collect();
    assert!(
        mutations.iter().all(|line| line.contains("/tags/")),
        "a version change only retags the cluster: {mutations:#?}"
    );
    terraform.plan().await.expect("plan after version").assert_empty("plan after version change");

    // Tags change in place on the key, the roles, the cluster, the databases and the secrets.
    workspace.write_main(&config(&workspace, &[&deployment]).replacen("Team = \"platform\"", "Team = \"data\"", 1));
    terraform.apply().await.expect("retag");
    let all = outputs(&workspace).await;
    assert_tags(&aws, &all["this"], "data").await;
    workspace.write_main(&config(&workspace, &[&deployment]));
    terraform.apply().await.expect("tag back");
    assert_tags(&aws, &all["this"], "platform").await;
    terraform.plan().await.expect("plan after tags").assert_empty("plan after tag changes");

    // Kubernetes: one minor step plans in place; a skip is refused on the attribute.
    deployment.kubernetes_version = "1.34";
    workspace.write_main(&config(&workspace, &[&deployment]));
    let plan = terraform.plan_json().await.expect("k8s +1 plan");
    assert_eq!(resource_actions(&plan, ADDRESS), ["update"]);
    deployment.kubernetes_version = "1.35";
    workspace.write_main(&config(&workspace, &[&deployment]));
    let refused = terraform.run(&["plan", "-json", "-input=false", "-no-color", "-lock=false"]).await;
    assert_eq!(refused.code, 1, "a minor skip must be refused:\n{refused}");
    let refused_errors = error_diagnostics(&refused);
    assert!(
        refused_errors
            .iter()
            .any(|d| d["summary"].as_str().unwrap_or_default().contains("Kubernetes")
                && d["range"]["filename"] == "main.tf"),
        "error on kubernetes_version: {refused_errors:#?}"
    );
    deployment.kubernetes_version = "1.33";
    workspace.write_main(&config(&workspace, &[&deployment]));

    // Import by name into a fresh state: nothing to change.
    terraform.succeed(&["state", "rm", ADDRESS]).await.expect("state rm");
    terraform.import(ADDRESS, "acme").await.expect("import by name");
    terraform.plan().await.expect("plan after import").assert_empty("plan after import");

    // Destroy while protected: refused at plan, nothing deleted.
    let refused = terraform.run(&["destroy", "-input=false", "-no-color", "-auto-approve"]).await;
    assert_ne!(refused.code, 0, "a protected destroy must fail:\n{refused}");
    assert!(refused.stderr.contains("deletion_protection"), "the error names deletion_protection:\n{refused}");
    assert!(aws.cluster("acme").await.is_some(), "cluster deleted despite protection");
    assert!(aws.db("acme-postgres").await.is_some(), "database deleted despite protection");
    let network_vpc = all["network"]["vpc_id"].as_str().expect("vpc id").to_owned();
    let vpcs = aws.ec2.describe_vpcs().vpc_ids(&network_vpc).send().await.expect("DescribeVpcs");
    assert_eq!(vpcs.vpcs().len(), 1, "network deleted despite protection");

    // Unprotect, then destroy: nothing of ours is left; the final snapshot is.
    deployment.deletion_protection = false;
    workspace.write_main(&config(&workspace, &[&deployment]));
    terraform.apply().await.expect("unprotect");
    let key_arn = aws
        .kms
        .describe_key()
        .key_id("alias/retool/acme")
        .send()
        .await
        .expect("DescribeKey")
        .key_metadata()
        .and_then(|m| m.arn())
        .expect("key arn")
        .to_owned();
    let destroyed = terraform.destroy().await.expect("destroy");
    assert_gone(&aws, "acme").await;
    // The key that encrypts the final snapshot is kept, tagged with it, and the destroy says so.
    let key = aws.kms.describe_key().key_id(&key_arn).send().await.expect("DescribeKey retained");
    assert_eq!(
        key.key_metadata().and_then(|m| m.key_state()),
        Some(&aws_sdk_kms::types::KeyState::Enabled),
        "key of the final snapshot must be kept"
    );
    let tags = aws.kms.list_resource_tags().key_id(&key_arn).send().await.expect("ListResourceTags");
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.tag_key() == "retool:retained-for" && t.tag_value().contains("acme-postgres-final-")),
        "retained key tags: {:?}",
        tags.tags()
    );
    assert!(
        destroyed.stdout.contains(&key_arn) || destroyed.stderr.contains(&key_arn),
        "the destroy warns about the kept key:\n{destroyed}"
    );
    assert!(aws.oidc_provider_arns().await.is_empty(), "OIDC provider left");
    let snapshots = aws
        .rds
        .describe_db_snapshots()
        .db_instance_identifier("acme-postgres")
        .send()
        .await
        .expect("DescribeDBSnapshots");
    assert!(
        snapshots
            .db_snapshots()
            .iter()
            .any(|s| s.db_snapshot_identifier().is_some_and(|id| id.starts_with("acme-postgres-final-"))),
        "final snapshot of the database"
    );
}

/// The resource's planned actions in a `show -json` plan.
fn resource_actions(plan: &Value, address: &str) -> Vec<String> {
    let change = plan["resource_changes"].as_array().into_iter().flatten().find(|c| c["address"] == address);
    let change = change.unwrap_or_else(|| panic!("{address} not in plan"));
    change["change"]["actions"].as_array().into_iter().flatten().filter_map(|a| a.as_str()).map(str::to_owned).collect()
}

/// Whether a part of a plan's `after_unknown` marks anything unknown. Once any planned value is
/// unknown, Terraform spells out the whole structure (`[false, false]` for a known list of two,
/// `[{}]` for a known block), so only a `true` somewhere inside means unknown.
fn has_unknown(after_unknown: &Value) -> bool {
    match after_unknown {
        Value::Bool(unknown) => *unknown,
        Value::Array(items) => items.iter().any(has_unknown),
        Value::Object(fields) => fields.values().any(has_unknown),
        _ => false,
    }
}

/// Attributes whose planned value differs from the prior one, or is unknown.
fn changed_attributes(plan: &Value, address: &str) -> Vec<String> {
    let change =
        plan["resource_changes"].as_array().into_iter().flatten().find(|c| c["address"] == address).expect("in plan");
    let (before, after) = (&change["change"]["before"], &change["change"]["after"]);
    let unknown = &change["change"]["after_unknown"];
    let mut names: Vec<String> = before
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(name, value)| {
            after.get(name.as_str()) != Some(value) || unknown.get(name.as_str()).is_some_and(has_unknown)
        })
        .map(|(name, _)| name.clone())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn two_deployments_share_one_network_and_one_state() {
    let toolchain = acceptance_toolchain("two_deployments_share_one_network_and_one_state");
    let emulator = Emulator::start(&toolchain);
    let aws = Clients::new(&emulator.endpoint());
    let workspace = Workspace::new(&toolchain, &emulator);
    let terraform = workspace.terraform();
    workspace.start_cluster(&["alpha", "beta"]).await;
    let first = Deployment::new("first", "alpha", "alpha.retool.test");
    let mut second = Deployment::new("second", "beta", "beta.retool.test");
    // The second brings its own ENCRYPTION_KEY (a migration): never regenerated, read or deleted.
    let theirs = aws
        .secrets
        .create_secret()
        .name("legacy/retool-encryption-key")
        .secret_string("customer-owned-key-value")
        .send()
        .await
        .expect("CreateSecret");
    second.encryption_key_secret_arn = theirs.arn().map(str::to_owned);
    workspace.write_main(&config(&workspace, &[&first, &second]));
    terraform.init().await.expect("init");
    terraform.apply().await.expect("apply");
    let all = outputs(&workspace).await;
    assert_stack_matches(&aws, &first, &all["first"], &all["network"]).await;
    assert_stack_matches(&aws, &second, &all["second"], &all["network"]).await;
    assert_ne!(all["first"]["kms_key_arn"], all["second"]["kms_key_arn"], "each deployment has its own key");
    assert_ne!(all["first"]["jwt_secret_arn"], all["second"]["jwt_secret_arn"]);
    terraform.plan().await.expect("second plan").assert_empty("second plan with two deployments");

    // Switching the cache and the Retool DB on and off again, in place.
    let mut first = first;
    first.cache = true;
    first.retool_db = true;
    workspace.write_main(&config(&workspace, &[&first, &second]));
    let plan = terraform.plan_json().await.expect("switch-on plan");
    assert_eq!(resource_actions(&plan, "retool_deployment.first"), ["update"]);
    terraform.apply().await.expect("switch on");
    let all = outputs(&workspace).await;
    assert_stack_matches(&aws, &first, &all["first"], &all["network"]).await;
    terraform.plan().await.expect("plan").assert_empty("plan after switching on");
    first.cache = false;
    first.retool_db = false;
    workspace.write_main(&config(&workspace, &[&first, &second]));
    terraform.apply().await.expect("switch off");
    let all = outputs(&workspace).await;
    assert_stack_matches(&aws, &first, &all["first"], &all["network"]).await;
    terraform.plan().await.expect("plan").assert_empty("plan after switching off");

    // Removing one leaves the other whole (moto gives both clusters one OIDC issuer: shared provider).
    workspace.write_main(&config(&workspace, &[&first]));
    terraform.apply().await.expect("remove the second deployment");
    assert_gone(&aws, "beta").await;
    // No final snapshot (skip_final_snapshot): the key is scheduled for deletion.
    let beta_key = aws
        .kms
        .describe_key()
        .key_id(all["second"]["kms_key_arn"].as_str().expect("key arn"))
        .send()
        .await
        .expect("DescribeKey beta");
    assert_eq!(
        beta_key.key_metadata().and_then(|m| m.key_state()),
        Some(&aws_sdk_kms::types::KeyState::PendingDeletion)
    );
    let kept = aws.secret_value(second.encryption_key_secret_arn.as_deref().expect("arn")).await;
    assert_eq!(kept, "customer-owned-key-value", "the customer's secret is untouched by destroy");
    assert_stack_matches(&aws, &first, &outputs(&workspace).await["first"], &all["network"]).await;
    assert_eq!(aws.oidc_provider_arns().await.len(), 1, "the first deployment still uses the OIDC provider");
    terraform.plan().await.expect("plan").assert_empty("plan after removing one deployment");
    terraform.destroy().await.expect("destroy");
    assert_gone(&aws, "alpha").await;
    assert!(aws.oidc_provider_arns().await.is_empty(), "OIDC provider left");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn generated_secrets_never_reach_state_plan_or_logs() {
    let toolchain = acceptance_toolchain("generated_secrets_never_reach_state_plan_or_logs");
    let emulator = Emulator::start(&toolchain);
    let aws = Clients::new(&emulator.endpoint());
    let workspace = Workspace::new(&toolchain, &emulator);
    workspace.start_cluster(&["secretive"]).await;
    let deployment = Deployment::new("this", "secretive", "retool.secretive.test");
    workspace.write_main(&config(&workspace, &[&deployment]));
    let traced = workspace.terraform().with_setting("TF_LOG", "trace");
    traced.init().await.expect("init");
    let applied = traced.apply().await.expect("apply with TF_LOG=trace");
    let plan = traced.plan_json().await.expect("plan JSON");
    let all = outputs(&workspace).await;
    let values = [
        aws.secret_value(text(&all["this"], "encryption_key_secret_arn")).await,
        aws.secret_value(text(&all["this"], "jwt_secret_arn")).await,
    ];
    let state = emulator.get_object(workspace.bucket(), crate::support::workspace::STATE_KEY);
    let shown = workspace.terraform().show_json().await.expect("show -json").to_string();
    assert!(applied.stderr.len() > 10_000, "TF_LOG=trace produced too little to prove anything");
    for value in &values {
        assert!(value.len() >= 64);
        for (what, haystack) in [
            ("state", &state),
            ("show -json", &shown),
            ("plan JSON", &plan.to_string()),
            ("trace log", &applied.stderr),
            ("apply output", &applied.stdout),
        ] {
            assert!(!haystack.contains(value.as_str()), "a generated secret value appears in the {what}");
        }
    }
    assert!(state.contains(text(&all["this"], "jwt_secret_arn")), "state records the secret ARN");
    workspace.terraform().destroy().await.expect("destroy");
}

/// One invalid configuration: what is wrong, the HCL line carrying the marker, the replacement.
/// The error must be on the replacement's line that ends in [`REFUSED`], else on its last line.
struct Invalid {
    what: &'static str,
    find: &'static str,
    replace: &'static str,
}

/// Marks the line of a multi-line replacement the refusal must point at.
const REFUSED: &str = "# refused";

/// Where a new block or attribute goes: after the deployment's domain.
const DOMAIN: &str = "domain             = \"retool.bad.test\"";

const INVALID: [Invalid; 36] = [
    Invalid {
        what: "a node instance family that does not exist",
        find: "instance_type = \"m5.large\"",
        replace: "instance_type = \"m99.large\"",
    },
    Invalid {
        what: "an RDS class family that does not exist",
        find: "instance_class           = \"db.m5.large\"",
        replace: "instance_class           = \"db.q5.large\"",
    },
    Invalid {
        what: "a Kubernetes version that cannot exist yet",
        find: "kubernetes_version = \"1.33\"",
        replace: "kubernetes_version = \"1.99\"",
    },
    Invalid {
        what: "a PostgreSQL major that cannot exist yet",
        find: "instance_class           = \"db.m5.large\"",
        replace: "instance_class = \"db.m5.large\"\n    engine_version = \"99\"",
    },
    Invalid {
        what: "Retool version set to null",
        find: "retool_version     = \"3.148.0-stable\"",
        replace: "retool_version     = null",
    },
    Invalid {
        what: "reserved tag key",
        find: "tags = {\n    Team = \"platform\"\n  }",
        replace: "tags = { \"aws:team\" = \"platform\" }",
    },
    Invalid {
        what: "invalid Retool version",
        find: "retool_version     = \"3.148.0-stable\"",
        replace: "retool_version     = \"3.148\"",
    },
    Invalid {
        what: "Postgres 12",
        find: "instance_class           = \"db.m5.large\"",
        replace: "instance_class = \"db.m5.large\"\n    engine_version = \"12\"",
    },
    Invalid { what: "min > desired", find: "min_size      = 2", replace: "min_size      = 3" },
    Invalid {
        what: "bad instance class",
        find: "instance_class           = \"db.m5.large\"",
        replace: "instance_class           = \"m5.large\"",
    },
    Invalid {
        what: "domain with a scheme",
        find: "domain             = \"retool.bad.test\"",
        replace: "domain             = \"https://retool.bad.test\"",
    },
    Invalid {
        what: "domain with a path",
        find: "domain             = \"retool.bad.test\"",
        replace: "domain             = \"retool.bad.test/x\"",
    },
    Invalid {
        what: "name with an underscore",
        find: "name               = \"bad\"",
        replace: "name               = \"Bad_Name\"",
    },
    Invalid {
        what: "name longer than the cluster name allows",
        find: "name               = \"bad\"",
        replace: "name               = \"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij\"",
    },
    Invalid { what: "name set to null", find: "name               = \"bad\"", replace: "name               = null" },
    Invalid {
        what: "domain set to null",
        find: "domain             = \"retool.bad.test\"",
        replace: "domain             = null",
    },
    Invalid {
        what: "empty domain",
        find: "domain             = \"retool.bad.test\"",
        replace: "domain             = \"\"",
    },
    Invalid {
        what: "a Kubernetes version that is not a version",
        find: "kubernetes_version = \"1.33\"",
        replace: "kubernetes_version = \"latest\"",
    },
    Invalid {
        what: "an instance type without a family",
        find: "instance_type = \"m5.large\"",
        replace: "instance_type = \"large\"",
    },
    Invalid { what: "a negative desired size", find: "desired_size  = 2", replace: "desired_size  = -1" },
    Invalid {
        what: "a tag value longer than AWS allows",
        find: "tags = {\n    Team = \"platform\"\n  }",
        replace: "tags = { Team = \"platformplatformplatformplatformplatformplatformplatformplatformplatformplatformplatformplatformplatformplatformplatformplatformplatformplatformplatformplatformplatformplatformplatformplatformplatformplatformplatformplatformplatformplatformplatformplatformplatform\" }",
    },
    Invalid { what: "a cache switch that is not a bool", find: "enabled = false", replace: "enabled = \"maybe\"" },
    Invalid {
        what: "a storage ceiling that is not a whole number",
        find: "max_allocated_storage_gb = 100",
        replace: "max_allocated_storage_gb = 100.5",
    },
    Invalid {
        what: "a network id that is not a VPC id",
        find: "network_id         = retool_network.net.id",
        replace: "network_id         = \"subnet-0123456789abcdef0\"",
    },
    Invalid {
        what: "network that does not exist",
        find: "network_id         = retool_network.net.id",
        replace: "network_id         = \"vpc-0123456789abcdef0\"",
    },
    Invalid {
        what: "jobs-runner replicas (always exactly one)",
        find: DOMAIN,
        replace: "domain             = \"retool.bad.test\"\n  jobs_runner { replicas = 1 }",
    },
    Invalid {
        what: "an external Temporal without a host",
        find: DOMAIN,
        replace: "domain             = \"retool.bad.test\"\n  workflows {\n    temporal {\n      mode = \"external\" # refused\n    }\n  }",
    },
    Invalid {
        what: "a Temporal host with a scheme",
        find: DOMAIN,
        replace: "domain             = \"retool.bad.test\"\n  workflows {\n    temporal {\n      mode = \"external\"\n      host = \"https://temporal.internal\" # refused\n    }\n  }",
    },
    Invalid {
        what: "negative api replicas",
        find: DOMAIN,
        replace: "domain             = \"retool.bad.test\"\n  api { replicas = -1 }",
    },
    Invalid {
        what: "a CPU quantity that is not one",
        find: DOMAIN,
        replace: "domain             = \"retool.bad.test\"\n  api { cpu = \"two cores\" }",
    },
    Invalid {
        what: "a memory quantity that is not one",
        find: DOMAIN,
        replace: "domain             = \"retool.bad.test\"\n  code_executor { memory = \"4 gigs\" }",
    },
    Invalid {
        what: "a sandbox mode that does not exist",
        find: DOMAIN,
        replace: "domain             = \"retool.bad.test\"\n  code_executor { sandbox = \"gvisor\" }",
    },
    Invalid {
        what: "an environment variable name that is not a POSIX name",
        find: DOMAIN,
        replace: "domain             = \"retool.bad.test\"\n  environment = { \"1BAD-NAME\" = \"x\" }",
    },
    Invalid {
        what: "an environment variable the provider sets itself",
        find: DOMAIN,
        replace: "domain             = \"retool.bad.test\"\n  environment = { POSTGRES_HOST = \"elsewhere.example.com\" }",
    },
    Invalid {
        what: "an extra secret that is not a Secrets Manager ARN",
        find: DOMAIN,
        replace: "domain             = \"retool.bad.test\"\n  environment_secret_arns = { EXTRA = \"arn:aws:s3:::a-bucket\" }",
    },
    Invalid {
        what: "a variable both plain and secret",
        find: DOMAIN,
        replace: "domain             = \"retool.bad.test\"\n  environment = { EXTRA = \"1\" }\n  environment_secret_arns = { EXTRA = \"arn:aws:secretsmanager:us-east-1:123456789012:secret:extra-AbCdEf\" }",
    },
];

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn invalid_input_is_refused_on_the_attribute_and_creates_nothing() {
    let toolchain = acceptance_toolchain("invalid_input_is_refused_on_the_attribute_and_creates_nothing");
    let emulator = Emulator::start(&toolchain);
    let aws = Clients::new(&emulator.endpoint());
    let workspace = Workspace::new(&toolchain, &emulator);
    let terraform = workspace.terraform();
    let deployment = Deployment::new("this", "bad", "retool.bad.test");
    // Only the deployment: the network is not planned, so refusals cannot hide behind it.
    let valid = config(&workspace, &[&deployment]);
    workspace.write_main(&valid);
    terraform.init().await.expect("init");
    let main_tf = terraform.working_dir().join("main.tf");
    for case in &INVALID {
        assert!(valid.contains(case.find), "{}: {:?} not in the configuration", case.what, case.find);
        let before = emulator.log_mark();
        workspace.write_main(&valid.replacen(case.find, case.replace, 1));
        let written = std::fs::read_to_string(&main_tf).expect("main.tf");
        let marker = case.replace.lines().find(|line| line.ends_with(REFUSED)).or(case.replace.lines().last());
        let marker = marker.unwrap_or(case.replace).trim();
        let line = written
            .lines()
            .position(|l| l.trim() == marker)
            .map(|i| i + 1)
            .unwrap_or_else(|| panic!("{}: marker missing", case.what));
        let mut refusal = terraform.run(&["validate", "-json", "-no-color"]).await;
        if refusal.code == 0 {
            refusal =
                terraform.run(&["plan", "-json", "-input=false", "-no-color", "-lock=false", "-target", ADDRESS]).await;
        }
        assert_eq!(refusal.code, 1, "{}: must be refused:\n{refusal}", case.what);
        let found = error_diagnostics(&refusal);
        assert!(
            found
                .iter()
                .any(|d| d["range"]["filename"] == "main.tf"
                    && d["range"]["start"]["line"].as_u64() == Some(line as u64)),
            "{}: no error at main.tf:{line}: {found:#?}\n{written}",
            case.what
        );
        // Refused before any AWS call — but for a network id that names no VPC, which only the
        // one Describe at plan can tell.
        let calls = aws_requests_since(&emulator, before, workspace.bucket());
        assert!(
            case.what == "network that does not exist" || calls.is_empty(),
            "{}: AWS was called: {calls:#?}",
            case.what
        );
    }
    // Import ids are checked before any AWS call: a 70,000-character one used to reach
    // DescribeCluster, where the SDK panics building the URL.
    workspace.write_main(&valid);
    let mark = emulator.log_mark();
    for id in ["a".repeat(70_000), "Bad_Name".to_owned(), "acme--x".to_owned()] {
        let refused = terraform.run(&["import", "-input=false", "-no-color", ADDRESS, &id]).await;
        assert_eq!(refused.code, 1, "import {:.40}: must be refused:\n{refused:.2000}", id);
        assert!(refused.stderr.contains("Invalid import id"), "import {:.40}: {:.2000}", id, refused.stderr);
        assert!(!refused.stderr.contains("Internal error"), "import {:.40}: {:.2000}", id, refused.stderr);
    }
    let eks_calls: Vec<String> = aws_requests_since(&emulator, mark, workspace.bucket())
        .into_iter()
        .filter(|l| l.contains("/clusters"))
        .collect();
    assert!(eks_calls.is_empty(), "a refused import id reached EKS: {eks_calls:#?}");
    // Roles outside the name prefix of the boundary the deployment uses are announced at plan,
    // on the attribute, before the apply would fail at the first role.
    let mut outside = Deployment::new("this", "bad", "retool.bad.test");
    outside.boundary = Some("arn:aws:iam::123456789012:policy/corp-workload-boundary".to_owned());
    workspace.write_main(&config(&workspace, &[&outside]));
    let planned =
        terraform.run(&["plan", "-json", "-input=false", "-no-color", "-lock=false", "-target", ADDRESS]).await;
    let warnings = warning_diagnostics(&planned);
    assert!(
        warnings.iter().any(|w| w["summary"] == "IAM roles outside the permission boundary's name prefix"
            && w["detail"].as_str().is_some_and(|d| d.contains("bad-eks-cluster") && d.contains("corp-*"))
            && w["range"]["filename"] == "main.tf"),
        "no boundary prefix warning at plan: {warnings:#?}\n{planned}"
    );
    workspace.write_main(&valid);
    // The k8s skip is checked against prior state in the lifecycle test; here: nothing was created.
    let clusters = aws.eks.list_clusters().send().await.expect("ListClusters");
    assert!(clusters.clusters().is_empty(), "a refused configuration created a cluster");
    let dbs = aws.rds.describe_db_instances().send().await.expect("DescribeDBInstances");
    assert!(dbs.db_instances().is_empty(), "a refused configuration created a database");
    let keys = aws.kms.list_keys().send().await.expect("ListKeys");
    assert!(keys.keys().is_empty(), "a refused configuration created a KMS key");
    assert!(aws.role_names().await.iter().all(|r| !r.starts_with("bad-")), "a refused configuration created IAM roles");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn a_failure_part_way_records_what_exists_and_the_next_apply_resumes() {
    let toolchain = acceptance_toolchain("a_failure_part_way_records_what_exists_and_the_next_apply_resumes");
    let emulator = Emulator::start(&toolchain);
    let aws = Clients::new(&emulator.endpoint());
    let workspace = Workspace::new(&toolchain, &emulator);
    let terraform = workspace.terraform();
    workspace.start_cluster(&["halfway"]).await;
    let mut deployment = Deployment::new("this", "halfway", "retool.halfway.test");
    deployment.cache = true;
    workspace.write_main(&config(&workspace, &[&deployment]));
    terraform.init().await.expect("init");
    terraform.apply().await.expect("apply");

    // Through the fault injector, which refuses every ModifyReplicationGroup (a 400 the SDK does
    // not retry): the cache chain fails while the cluster chain, running concurrently, still
    // resizes the nodes.
    let refusing = FaultProxy::start(
        &toolchain,
        &emulator,
        &["--rate", "1", "--faults", "refuse", "--only-actions", "ModifyReplicationGroup", "--max-consecutive", "1000"],
    );
    deployment.nodes = (2, 3, 4);
    let failing = config(&workspace, &[&deployment])
        .replace(&provider_endpoints(&emulator.endpoint()), &provider_endpoints(refusing.endpoint()))
        .replacen(
            "  cache {\n    enabled = true\n  }",
            "  cache {\n    enabled   = true\n    node_type = \"cache.t4g.small\"\n  }",
            1,
        );
    assert!(failing.contains(refusing.endpoint()), "the provider must talk to the injector");
    workspace.write_main(&failing);
    let failed = terraform.run(&["apply", "-input=false", "-no-color", "-auto-approve"]).await;
    assert_ne!(failed.code, 0, "the refused cache change must fail the apply:\n{failed}");
    assert!(failed.stderr.contains("ModifyReplicationGroup"), "the error names the failed call:\n{failed}");
    let refused = refusing.requests_of("ModifyReplicationGroup");
    assert!(!refused.is_empty() && refused.iter().all(|line| line.ends_with(" refused")), "{refused:?}");
    let group = aws.node_group("halfway", "halfway-m5-large").await;
    assert_eq!(
        group.scaling_config().and_then(|s| s.desired_size()),
        Some(3),
        "the independent node resize still happened"
    );
    let state = terraform.show_json().await.expect("show");
    let resource = state["values"]["root_module"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["address"] == ADDRESS)
        .cloned()
        .expect("still in state");
    assert!(resource["values"]["cluster_arn"].is_string(), "partial state keeps every id: {resource:#}");
    let drift = resource["values"]["drift"].to_string();
    assert!(drift.contains("ElastiCache node type"), "the unfinished part is recorded as drift: {drift}");
    terraform.plan().await.expect("plan after failure").assert_changes("plan after a failed apply");

    // Without the injector and back to the old node type, the next apply finishes, nothing
    // duplicated.
    drop(refusing);
    workspace.write_main(&config(&workspace, &[&deployment]));
    terraform.apply().await.expect("resume");
    let all = outputs(&workspace).await;
    assert_stack_matches(&aws, &deployment, &all["this"], &all["network"]).await;
    assert_eq!(aws.eks.list_clusters().send().await.expect("ListClusters").clusters().len(), 1, "no duplicate cluster");
    terraform.plan().await.expect("plan after resume").assert_empty("plan after resuming");
    terraform.destroy().await.expect("destroy");
    assert_gone(&aws, "halfway").await;
}

/// The `endpoints` lines of the provider block when every service is at `url` (to point the
/// provider at the fault injector instead of the emulator; the S3 backend keeps the emulator).
fn provider_endpoints(url: &str) -> String {
    ["ec2", "eks", "elasticache", "iam", "kms", "rds", "s3", "secretsmanager", "sts"]
        .iter()
        .map(|service| format!("    {service:<14} = \"{url}\"\n"))
        .collect()
}

/// Faults on a fifth of the provider's AWS calls, for three seeds: throttling, 5xx answers,
/// connections reset before the request is forwarded, and answers lost after it was (the request
/// took effect, the provider never hears). The apply converges within two applies (a create whose
/// answer was lost and whose repeat AWS refuses as a duplicate — a role, a database — fails the
/// first, which the second finishes), nothing is created twice (a VPC, internet gateway, subnet,
/// Elastic IP or security group whose answer was lost is found by its ownership mark instead of
/// being sent again), the next plan is empty and destroy leaves nothing. The provider runs in the
/// default `standard` retry mode; how long such an apply takes against a fault-free one is
/// measured by `make bench`, not here.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn an_apply_through_twenty_percent_faults_converges_without_duplicates() {
    let toolchain = acceptance_toolchain("an_apply_through_twenty_percent_faults_converges_without_duplicates");
    for seed in ["1", "2", "3"] {
        let emulator = Emulator::start(&toolchain);
        let aws = Clients::new(&emulator.endpoint());
        let workspace = Workspace::new(&toolchain, &emulator);
        let terraform = workspace.terraform();
        let proxy = FaultProxy::start(
            &toolchain,
            &emulator,
            &["--seed", seed, "--rate", "0.2", "--faults", "throttle,5xx,lost,reset"],
        );
        workspace.start_cluster(&["flaky"]).await;
        let mut deployment = Deployment::new("this", "flaky", "retool.flaky.test");
        deployment.cache = true;
        let main = config(&workspace, &[&deployment])
            .replace(&provider_endpoints(&emulator.endpoint()), &provider_endpoints(proxy.endpoint()))
            .replace("  max_retries = 2\n", "  max_retries = 8\n");
        workspace.write_main(&main);
        terraform.init().await.expect("init");
        if let Err(first) = terraform.apply().await {
            eprintln!("seed {seed}: the first apply through faults failed; applying again:\n{first}");
            terraform.apply().await.unwrap_or_else(|error| panic!("seed {seed}: second apply through faults: {error}"));
        }
        let outcomes = proxy.outcomes();
        eprintln!("seed {seed}: injected {outcomes:?}");
        let count = |kind: &str| outcomes.get(kind).copied().unwrap_or(0);
        assert!(count("throttled") + count("5xx") >= 5, "seed {seed}: throttling and 5xx injected: {outcomes:?}");
        assert!(count("lost") + count("reset") >= 2, "seed {seed}: lost answers and resets injected: {outcomes:?}");

        let all = outputs(&workspace).await;
        assert_stack_matches(&aws, &deployment, &all["this"], &all["network"]).await;
        let vpcs = aws.ec2.describe_vpcs().send().await.expect("DescribeVpcs");
        let ours =
            vpcs.vpcs().iter().filter(|vpc| vpc.tags().iter().any(|t| t.key() == Some("retool:network"))).count();
        assert_eq!(ours, 1, "seed {seed}: one VPC");
        let tagged = |tags: &[aws_sdk_ec2::types::Tag]| tags.iter().any(|t| t.key() == Some("retool:network"));
        let subnets = aws.ec2.describe_subnets().send().await.expect("DescribeSubnets");
        let subnets = subnets.subnets().iter().filter(|subnet| tagged(subnet.tags())).count();
        let wanted =
            texts(&all["network"], "public_subnet_ids").len() + texts(&all["network"], "private_subnet_ids").len();
        assert_eq!(subnets, wanted, "seed {seed}: each subnet once");
        let groups = aws.ec2.describe_security_groups().send().await.expect("DescribeSecurityGroups");
        let mut names: Vec<&str> = groups
            .security_groups()
            .iter()
            .filter(|group| tagged(group.tags()))
            .filter_map(|group| group.group_name())
            .collect();
        let before = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), before, "seed {seed}: each security group once: {names:?}");
        let gateways = aws.ec2.describe_internet_gateways().send().await.expect("DescribeInternetGateways");
        assert_eq!(gateways.internet_gateways().len(), 1, "seed {seed}: one internet gateway");
        let addresses = aws.ec2.describe_addresses().send().await.expect("DescribeAddresses");
        assert_eq!(addresses.addresses().len(), 1, "seed {seed}: one Elastic IP (one NAT gateway)");
        let keys = aws.kms.list_keys().send().await.expect("ListKeys");
        assert_eq!(keys.keys().len(), 1, "seed {seed}: one KMS key");
        assert_eq!(aws.eks.list_clusters().send().await.expect("ListClusters").clusters().len(), 1, "seed {seed}");
        let secrets = aws.secrets.list_secrets().send().await.expect("ListSecrets");
        let mut generated: Vec<&str> = secrets
            .secret_list()
            .iter()
            .filter_map(|secret| secret.name())
            .filter(|name| name.starts_with("retool/flaky/"))
            .collect();
        generated.sort_unstable();
        assert_eq!(
            generated,
            ["retool/flaky/encryption-key", "retool/flaky/jwt-secret"],
            "seed {seed}: the two generated secrets, once each"
        );

        terraform.plan().await.expect("plan through faults").assert_empty("plan after a faulty apply");
        // The emulator has no DeleteCacheSubnetGroup (its uncoded error is a destroy warning), and
        // the injector may answer the SDK's last repeat of it with a coded 5xx, which fails the
        // destroy: like an apply, a destroy through faults may take two runs.
        if let Err(first) = terraform.destroy().await {
            eprintln!("seed {seed}: the first destroy through faults failed; destroying again:\n{first}");
            terraform
                .destroy()
                .await
                .unwrap_or_else(|error| panic!("seed {seed}: second destroy through faults: {error}"));
        }
        assert_gone(&aws, "flaky").await;
    }
}

/// What a deployment's objects look like in AWS, field by field, to show that nothing changed.
async fn fingerprint(aws: &Clients, name: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let cluster = aws.cluster(name).await.expect("cluster");
    seen.push(format!(
        "cluster {:?} {:?} {:?} {:?} {:?}",
        cluster.arn(),
        cluster.status(),
        cluster.version(),
        cluster.tags().map(|tags| tags.iter().collect::<std::collections::BTreeMap<_, _>>()),
        cluster.resources_vpc_config()
    ));
    let group = aws.node_group(name, &format!("{name}-m5-large")).await;
    let group_tags = group.tags().map(|tags| tags.iter().collect::<std::collections::BTreeMap<_, _>>());
    seen.push(format!("node group {:?} {:?} {group_tags:?}", group.status(), group.scaling_config()));
    for identifier in [format!("{name}-postgres"), format!("{name}-retooldb")] {
        let db = aws.db(&identifier).await.expect("database");
        seen.push(format!(
            "db {identifier} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
            db.db_instance_status(),
            db.db_instance_class(),
            db.allocated_storage(),
            db.multi_az(),
            db.backup_retention_period(),
            db.deletion_protection(),
            db.vpc_security_groups(),
            db.tag_list()
        ));
    }
    for role in [format!("{name}-eks-cluster"), format!("{name}-eks-nodes"), format!("{name}-external-secrets")] {
        let found = aws.iam.get_role().role_name(&role).send().await.expect("GetRole");
        let role_state = found.role().expect("role");
        seen.push(format!(
            "role {:?} {:?} {:?} {:?}",
            role_state.arn(),
            role_state.tags(),
            role_state.permissions_boundary(),
            role_state.assume_role_policy_document()
        ));
    }
    let key = aws.kms.describe_key().key_id(format!("alias/retool/{name}")).send().await.expect("DescribeKey");
    let key = key.key_metadata().expect("key metadata");
    let key_tags = aws.kms.list_resource_tags().key_id(key.key_id()).send().await.expect("ListResourceTags");
    seen.push(format!("key {:?} {:?} {:?}", key.arn(), key.key_state(), key_tags.tags()));
    for suffix in ["encryption-key", "jwt-secret"] {
        let secret = aws.secrets.describe_secret().secret_id(format!("retool/{name}/{suffix}")).send().await;
        let secret = secret.expect("DescribeSecret");
        seen.push(format!(
            "secret {:?} {:?} {:?} {:?}",
            secret.arn(),
            secret.tags(),
            secret.deleted_date(),
            secret.version_ids_to_stages()
        ));
    }
    seen
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn a_second_state_with_the_same_name_is_refused_and_the_first_stack_is_untouched() {
    let toolchain =
        acceptance_toolchain("a_second_state_with_the_same_name_is_refused_and_the_first_stack_is_untouched");
    let emulator = Emulator::start(&toolchain);
    let aws = Clients::new(&emulator.endpoint());
    let first = Workspace::new(&toolchain, &emulator);
    first.start_cluster(&["shared"]).await;
    let mut deployment = Deployment::new("this", "shared", "retool.shared.test");
    deployment.retool_db = true;
    first.write_main(&config(&first, &[&deployment]));
    first.terraform().init().await.expect("init");
    first.terraform().apply().await.expect("apply");
    let all = outputs(&first).await;
    let vpc_id = text(&all["network"], "vpc_id").to_owned();

    // Every object carries the first instance's token.
    let cluster = aws.cluster("shared").await.expect("cluster");
    let token = cluster.tags().and_then(|tags| tags.get("retool:owner")).cloned().expect("the cluster is marked");
    assert!(token.len() >= 16 && token.bytes().all(|b| b.is_ascii_alphanumeric()), "token {token:?}");
    for identifier in ["shared-postgres", "shared-retooldb"] {
        let db = aws.db(identifier).await.expect("database");
        assert!(
            db.tag_list().iter().any(|t| t.key() == Some("retool:owner") && t.value() == Some(token.as_str())),
            "{identifier} carries the token: {:?}",
            db.tag_list()
        );
    }
    let role = aws.iam.get_role().role_name("shared-eks-nodes").send().await.expect("GetRole");
    let role_tags = role.role().map(|r| r.tags().to_vec()).unwrap_or_default();
    assert!(role_tags.iter().any(|t| t.key() == "retool:owner" && t.value() == token), "role: {role_tags:?}");
    let before = fingerprint(&aws, "shared").await;

    // A second state asks for a deployment of the same name in the same network.
    let second = Workspace::new(&toolchain, &emulator);
    second.share_cluster_of(&first);
    let body = format!(
        "{}\n{}",
        second.provider_block_with("  max_retries = 2\n"),
        deployment.hcl().replace("retool_network.net.id", &format!("\"{vpc_id}\""))
    );
    second.write_main(&body);
    second.terraform().init().await.expect("init the second state");
    let refused = second.terraform().run(&["apply", "-input=false", "-no-color", "-auto-approve"]).await;
    assert_ne!(refused.code, 0, "the second create must be refused:\n{refused}");
    let said: String = refused.stderr.replace('│', " ").split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(said.contains("EKS cluster shared") && said.contains("already exists"), "names the object:\n{refused}");
    assert!(said.contains("terraform import retool_deployment.<name> shared"), "gives the import hint:\n{refused}");
    let state = second.terraform().show_json().await.expect("show the second state");
    let resources = state["values"]["root_module"]["resources"].as_array().cloned().unwrap_or_default();
    assert!(resources.is_empty(), "the refused create records nothing: {resources:#?}");

    // The first stack: same token, nothing deleted or modified, nothing to plan.
    assert_eq!(fingerprint(&aws, "shared").await, before, "the refused create touched the first stack");
    assert_eq!(aws.eks.list_clusters().send().await.expect("ListClusters").clusters().len(), 1);
    let dbs = aws.rds.describe_db_instances().send().await.expect("DescribeDBInstances");
    assert_eq!(dbs.db_instances().len(), 2, "no database was added or removed");
    first.terraform().plan().await.expect("plan the first").assert_empty("the first state after the refusal");
    first.terraform().destroy().await.expect("destroy the first");
    assert_gone(&aws, "shared").await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn generated_deployment_config_plans_without_changes() {
    let toolchain = acceptance_toolchain("generated_deployment_config_plans_without_changes");
    let emulator = Emulator::start(&toolchain);
    let workspace = Workspace::new(&toolchain, &emulator);
    workspace.start_cluster(&["generated"]).await;
    let deployment = Deployment::new("this", "generated", "retool.generated.test");
    workspace.write_main(&config(&workspace, &[&deployment]));
    workspace.terraform().init().await.expect("init");
    workspace.terraform().apply().await.expect("apply");
    crate::generate_config::generated_config_plans_without_changes(
        &toolchain,
        &emulator,
        &workspace,
        ADDRESS,
        "generated",
    )
    .await;
}
