//! # `retool_deployment`: the AWS stack of one Retool instance (EKS, nodes, Postgres, cache, secrets).
//!
//! One resource builds, in a `retool_network`: a KMS key (rotation on); IAM roles for the EKS
//! cluster, its nodes and the External Secrets Operator (each with the permissions boundary when
//! given); the EKS cluster in the private subnets, its OIDC provider and a managed node group;
//! RDS PostgreSQL with TLS forced, encryption, an RDS-managed master password and final
//! snapshots; optionally ElastiCache replication groups (the cache, Retool RPC's) and a separate
//! Retool DB instance; and
//! Secrets Manager secrets for `ENCRYPTION_KEY` and `JWT_SECRET` whose values are generated here
//! and never enter state (only their ARNs do).
//!
//! Why it is one resource: these pieces form one instance with one lifecycle, and a customer
//! reasons about "the deployment", not twenty objects. Safety defaults are the opposite of the
//! anchors': deletion protection on, a final snapshot on delete, a 7-day recovery window for
//! secrets and the key.
//!
//! This file reads like the resource's documentation page: schema, validation, plan, then
//! create/read/update/delete/import. The typed configuration and state are in [`model`]; what
//! should exist in [`desired`] and what does in [`observed`] (both pure); how they differ in
//! [`drift`]; AWS work in [`aws`], one [`aws::chains::Chain`] per group of objects; ownership in
//! [`owner`]; import in [`import`]; attribute validators in [`validators`] and pure rules in
//! [`rules`]; the Kubernetes objects of the Retool workloads in [`workloads`] and of the External
//! Secrets Operator in [`external_secrets`]; applying them in [`kubernetes`].

pub(crate) mod aws;
pub(crate) mod desired;
pub(crate) mod drift;
pub(crate) mod external_secrets;
pub(crate) mod import;
pub(crate) mod kubernetes;
pub(crate) mod model;
pub(crate) mod names;
pub(crate) mod observed;
pub(crate) mod owner;
pub(crate) mod rules;
pub(crate) mod validators;
pub mod workloads;

/// The Retool Storage bucket policy, for the policy fence tests' independent simulator.
pub use desired::bucket_policy;
/// The typed workload configuration [`workloads::workloads`] builds from (public with it, so the
/// rendered objects can be checked by the integration tests' schema validator).
pub use model::{Resources, Sandbox, Scaled, Temporal, WorkloadSpec};

use async_trait::async_trait;

use crate::aws::AwsClients;
use crate::framework::plan_modifiers::{requires_replace, use_state_for_unknown};
use crate::framework::report::{Reported, apply_again, destroy_again};
use crate::framework::resource::Outcome;
use crate::framework::schema::{Attribute, Block, NestedBlock, Nesting};
use crate::framework::validators::{check, each_element, int_between, one_of, string_length};
use crate::framework::{
    ApplyRequest, Diagnostics, PlanRequest, PlanResponse, Resource, ResourceContext, Schema, Validator,
};
use crate::value::{AttributePath, Type, Value};

use crate::resources::naming::{aws_tags, is_vpc_id, shown};
use aws::chains::{ClusterChain, Context, Target};
use desired::{Desired, MANAGED_ADDONS};
use model::{DRIFT, DeploymentSpec, Operation};
use observed::Observed;
use owner::{NotOurs, Owner, Private};
use rules::instance_types::{InstanceKind, InstanceType};
use rules::versions::{CacheEngineVersion, KubernetesVersion, PostgresVersion, RetoolVersion};
use rules::windows::{BackupWindow, MaintenanceWindow};

/// The resource type name Terraform uses.
pub const TYPE_NAME: &str = "retool_deployment";

/// Names of the computed attributes.
pub(crate) mod attribute {
    attribute_names! {
        /// Outputs read from AWS objects: unknown until created, and again when drift repair may
        /// recreate their object.
        pub const FROM_AWS = [
            CLUSTER_ARN = "cluster_arn",
            CLUSTER_ENDPOINT = "cluster_endpoint",
            CLUSTER_CA = "cluster_certificate_authority",
            OIDC_ISSUER_URL = "oidc_issuer_url",
            KMS_KEY_ARN = "kms_key_arn",
            DATABASE_ENDPOINT = "database_endpoint",
            DATABASE_SECRET_ARN = "database_master_user_secret_arn",
            JWT_SECRET_ARN = "jwt_secret_arn",
            CACHE_ENDPOINT = "cache_endpoint",
            RPC_ENDPOINT = "rpc_endpoint",
            RETOOL_DB_ENDPOINT = "retool_db_endpoint",
            STORAGE_BUCKET = "storage_bucket",
            EGRESS_IPS = "egress_ips",
        ];
        ID = "id",
        CLUSTER_NAME = "cluster_name",
        ENCRYPTION_KEY_SECRET_ARN = "encryption_key_secret_arn",
        URL = "url",
        EGRESS_ALLOWLIST = "egress_allowlist",
        COST = "estimated_monthly_cost_usd",
        NAMESPACE = "namespace",
        WORKLOADS = "workloads",
    }
}

/// The `retool_deployment` resource.
#[derive(Debug, Default)]
pub struct DeploymentResource;

// ---------------------------------------------------------------------------------------------
// Schema
// ---------------------------------------------------------------------------------------------

fn group(name: &str, description: &str, attributes: Vec<Attribute>) -> NestedBlock {
    let block = attributes.into_iter().fold(Block::new(description), Block::attribute);
    // Terraform refuses item limits on group blocks (there is always exactly one).
    NestedBlock::new(name, Nesting::Group, block).max_items(0)
}

/// A string setting whose description ends with its default, so the documented default is the real one.
fn text_with_default(name: &str, what: &str, default: &str, validator: impl Validator + 'static) -> Attribute {
    Attribute::new(name, Type::String)
        .default(Value::string(default))
        .description(format!("{what}, default `{default}`."))
        .validator(validator)
}

/// A whole-number setting from `min` to `max` whose description ends with its default, so the
/// documented default is the real one.
fn number_with_default(name: &str, what: &str, default: i64, (min, max): (i64, i64)) -> Attribute {
    Attribute::new(name, Type::Number)
        .default(Value::number_i64(default))
        .description(format!("{what}, default {default}."))
        .validator(int_between(min, max))
}

/// A CPU quantity whose description ends with its default.
fn cpu(what: &str, default: &str) -> Attribute {
    Attribute::new("cpu", Type::String)
        .default(Value::string(default))
        .description(format!(
            "CPU each {what} pod requests, a Kubernetes quantity (`500m`, `1`, `2.5`); the scheduler reserves it and the \
             pod may use more while the node has spare. Default `{default}`."
        ))
        .validator(check("must be a positive Kubernetes CPU quantity such as 500m or 2", |value| {
            rules::quantities::cpu_problem(value.as_str()?)
        }))
}

/// A memory quantity whose description ends with its default.
fn memory(what: &str, default: &str) -> Attribute {
    Attribute::new("memory", Type::String)
        .default(Value::string(default))
        .description(format!(
            "Memory of each {what} pod, a Kubernetes quantity of at least `256Mi` (`1536Mi`, `4Gi`): both its request \
             and its limit, so a pod is never scheduled where it cannot have it, and a container that exceeds it is \
             restarted. Default `{default}`."
        ))
        .validator(check("must be a Kubernetes memory quantity such as 1536Mi or 4Gi, at least 256Mi", |value| {
            rules::quantities::memory_problem(value.as_str()?)
        }))
}

/// The `replicas`, `cpu` and `memory` of a scaled container (plus `extra`), as a group block.
fn container(
    name: &str,
    description: &str,
    what: &str,
    defaults: (i64, &str, &str),
    extra: Vec<Attribute>,
) -> NestedBlock {
    let (replicas, cpu_default, memory_default) = defaults;
    let mut attributes = vec![
        number_with_default("replicas", &format!("Number of {what} pods"), replicas, (1, validators::MAX_REPLICAS)),
        cpu(what, cpu_default),
        memory(what, memory_default),
    ];
    attributes.extend(extra);
    group(name, description, attributes)
}

fn duration_validator() -> impl crate::framework::Validator {
    check("must be a duration such as 30m, 1h or 1h30m, at most 24h", |value| model::timeout_problem(value.as_str()?))
}

fn vpc_id_validator() -> impl crate::framework::Validator {
    check("must be the id of a retool_network (a VPC id, vpc-…)", |value| {
        let text = value.as_str()?;
        (!is_vpc_id(text)).then(|| format!("{} is not a VPC id; use a retool_network's id.", shown(text)))
    })
}

fn schema() -> Schema {
    let output = |name: &str, ty: Type, description: &str| {
        Attribute::new(name, ty).computed().description(description).plan_modifier(use_state_for_unknown())
    };
    let nodes = (validators::MIN_NODES, validators::MAX_NODES);
    // Storage in GB, within what RDS allows.
    let storage = (20, 65536);
    Schema::new(
        0,
        Block::new(format!(
            "The AWS stack of one Retool instance in a `retool_network`: an EKS cluster with a managed node group, RDS \
             PostgreSQL, optionally ElastiCache (Redis) and a separate Retool DB, a KMS key, IAM roles (including one \
             for the External Secrets Operator), and Secrets Manager secrets for `ENCRYPTION_KEY` and `JWT_SECRET` whose \
             values are generated by the provider and never stored in Terraform state. On the cluster it runs Retool \
             (api, jobs-runner, Workflows, code executor) in the namespace named after the deployment, upgrading \
             the jobs-runner first, and the External Secrets Operator (release {eso}, CRDs checked against the \
             upstream file's SHA-256), which alone reads the secrets, as its own IAM role, into that namespace. \
             Independent parts are created concurrently; an apply that fails part-way records what exists and the \
             next apply continues. Refresh reports changes made outside Terraform in `drift`. Every object it creates carries a `retool:owner` \
             tag naming this resource instance: a create or update never takes over an existing object with one of \
             the deployment's names that it did not make, and says how to import it instead. Import with the \
             `name`; a deployment whose create was interrupted (Terraform killed) imports as far as it got, and the \
             next apply makes the rest.",
            eso = external_secrets::VERSION,
        ))
        .attribute(
            Attribute::new("name", Type::String)
                .required()
                .description(
                    "Name of the deployment: a DNS label (lowercase letters, digits, hyphens). Names the EKS cluster, node \
                     group (`<name>-<instance type>`), databases (`<name>-postgres`, `<name>-retooldb`), cache \
                     (`<name>-cache`), Retool RPC's Redis (`<name>-rpc`), IAM roles (`<name>-eks-cluster`, `<name>-eks-nodes`, `<name>-external-secrets`), \
                     the KMS alias `alias/retool/<name>` and the secrets under `retool/<name>/`. Changing it replaces \
                     the deployment — including its database.",
                )
                .validator(validators::deployment_name())
                .plan_modifier(requires_replace()),
        )
        .attribute(
            Attribute::new("network_id", Type::String)
                .required()
                .description(
                    "The `id` of the `retool_network` to run in: the cluster, nodes, databases and cache use its private \
                     subnets and security groups. Changing it replaces the deployment — including its database.",
                )
                .validator(vpc_id_validator())
                .plan_modifier(requires_replace()),
        )
        .attribute(
            Attribute::new("retool_version", Type::String)
                .required()
                .description(
                    "The Retool release, `X.Y.Z-stable` or `X.Y.Z-edge`. Changing it alone changes no AWS \
                     infrastructure (it is recorded in the cluster's `retool:version` tag).",
                )
                .validator(validators::retool_version()),
        )
        .attribute(
            Attribute::new("domain", Type::String)
                .required()
                .description("Hostname Retool is served at, e.g. `retool.example.com` (no scheme, port or path).")
                .validator(validators::domain()),
        )
        .attribute(
            Attribute::new("permission_boundary_arn", Type::String)
                .optional()
                .description(
                    "ARN of a managed policy every IAM role this resource creates carries as its permissions boundary — \
                     typically a `retool_permission_boundary`'s `workload_boundary_policy_arn`.",
                )
                .validator(validators::iam_policy_arn()),
        )
        .attribute(
            Attribute::new("license_key_secret_arn", Type::String)
                .optional()
                .description(
                    "ARN of a Secrets Manager secret holding the Retool license key, managed by the customer. The \
                     External Secrets role may read it.",
                )
                .validator(validators::secret_arn()),
        )
        .attribute(
            Attribute::new(attribute::ENCRYPTION_KEY_SECRET_ARN, Type::String)
                .optional()
                .computed()
                .description(
                    "ARN of the secret holding Retool's `ENCRYPTION_KEY`. Leave unset to have the provider generate a \
                     64-character key into `retool/<name>/encryption-key`; set it to bring an existing key when \
                     migrating an instance — that secret is never regenerated, never read, and never deleted.",
                )
                .validator(validators::secret_arn()),
        )
        .attribute(
            Attribute::new("tags", Type::map(Type::String))
                .optional()
                .validator(aws_tags())
                .description(
                    "Tags for every AWS object of the deployment, over the provider's `default_tags`. A change (here or in \
                     `default_tags`) is applied in place to every object; the node group, cache and subnet and parameter \
                     groups keep any other tags they carry.",
                ),
        )
        .attribute(
            Attribute::new("kubernetes_version", Type::String)
                .default(Value::string(model::DEFAULT_KUBERNETES_VERSION))
                .description(format!(
                    "Kubernetes minor version of the EKS cluster, default `{}`. Upgraded in place one minor version at a \
                     time; a skip or a downgrade is refused at plan. An upgrade runs the control plane first, then the node \
                     group (its nodes replaced one at a time), then the EKS add-ons (vpc-cni, kube-proxy, coredns, \
                     eks-pod-identity-agent) to the versions EKS marks default for the new minor; the plan lists the steps, \
                     and an apply interrupted part-way resumes at the step it stopped at.",
                    model::DEFAULT_KUBERNETES_VERSION
                ))
                .validator(validators::kubernetes_version()),
        )
        .attribute(
            Attribute::new("endpoint_public_access", Type::Bool)
                .default(Value::Bool(true))
                .description("Whether the cluster's API endpoint is reachable from the internet (from `public_access_cidrs`). Default true; the private endpoint is always on."),
        )
        .attribute(
            Attribute::new("public_access_cidrs", Type::list(Type::String))
                .default(Value::list(vec![Value::string(model::DEFAULT_PUBLIC_ACCESS_CIDR)]))
                .description("IPv4 blocks allowed to reach the public API endpoint. Default `[\"0.0.0.0/0\"]`.")
                .validator(validators::public_access_cidrs()),
        )
        .attribute(
            Attribute::new(attribute::ID, Type::String)
                .computed()
                .description("The deployment `name`, which also identifies it for import.")
                .plan_modifier(use_state_for_unknown()),
        )
        .attribute(output(attribute::CLUSTER_NAME, Type::String, "Name of the EKS cluster."))
        .attribute(output(attribute::CLUSTER_ARN, Type::String, "ARN of the EKS cluster."))
        .attribute(output(attribute::CLUSTER_ENDPOINT, Type::String, "URL of the cluster's Kubernetes API."))
        .attribute(output(attribute::CLUSTER_CA, Type::String, "Base64 certificate authority data of the cluster's API."))
        .attribute(output(attribute::OIDC_ISSUER_URL, Type::String, "The cluster's OIDC issuer, trusted by the IAM OIDC provider for service-account roles."))
        .attribute(output(attribute::KMS_KEY_ARN, Type::String, "ARN of the deployment's KMS key (rotation on), which encrypts Kubernetes secrets, the databases, the cache and the generated secrets."))
        .attribute(output(attribute::DATABASE_ENDPOINT, Type::String, "Hostname of the PostgreSQL instance (TLS required)."))
        .attribute(output(
            attribute::DATABASE_SECRET_ARN,
            Type::String,
            "ARN of the Secrets Manager secret where RDS keeps the master password (managed by RDS; the provider never sees it).",
        ))
        .attribute(output(attribute::JWT_SECRET_ARN, Type::String, "ARN of the generated `retool/<name>/jwt-secret` (256 characters)."))
        .attribute(
            Attribute::new(attribute::CACHE_ENDPOINT, Type::String)
                .computed()
                .description("Primary endpoint of the ElastiCache replication group (TLS); null while `cache.enabled` is false."),
        )
        .attribute(
            Attribute::new(attribute::RPC_ENDPOINT, Type::String)
                .computed()
                .description("Primary endpoint of Retool RPC's ElastiCache replication group (TLS); null while `rpc.enabled` is false."),
        )
        .attribute(
            Attribute::new(attribute::RETOOL_DB_ENDPOINT, Type::String)
                .computed()
                .description("Hostname of the Retool DB instance; null while `retool_db.enabled` is false."),
        )
        .attribute(
            Attribute::new(attribute::STORAGE_BUCKET, Type::String)
                .computed()
                .description("Name of the Retool Storage S3 bucket; null while `storage.enabled` is false."),
        )
        .attribute(Attribute::new(attribute::URL, Type::String).computed().description("`https://<domain>`."))
        .attribute(output(attribute::EGRESS_IPS, Type::list(Type::String), "Public IPs the deployment's outbound traffic leaves from (the network's NAT gateways), for allowlists."))
        .attribute(
            Attribute::new(attribute::EGRESS_ALLOWLIST, Type::list(Type::String))
                .computed()
                .description(format!(
                    "Domains a firewall in front of the deployment must allow outbound on port 443 (Retool licensing, invites, e-mail, usage reporting, integration specs, and PyPI for Python in Workflows): {}.",
                    rules::egress::egress_allowlist().iter().map(|domain| format!("`{domain}`")).collect::<Vec<_>>().join(", ")
                )),
        )
        .attribute(
            Attribute::new(attribute::COST, Type::Number)
                .computed()
                .description(
                    "Estimated monthly cost in USD of the configured footprint (EKS control plane, nodes, databases, storage, \
                     cache) from on-demand list prices for the region. An estimate: it excludes data transfer, NAT \
                     gateways, snapshots and discounts.",
                ),
        )
        .attribute(
            Attribute::new(DRIFT, Type::list(Type::String))
                .computed()
                .description(
                    "Differences between this configuration and AWS found by the last refresh, one sentence each (a \
                     deleted cluster, a node group scaled by hand, a modified database, …). Empty when everything is as \
                     configured; otherwise the next apply repairs them.",
                ),
        )
        .block(group(
            "node_group",
            "The EKS managed node group. Resized in place; a new instance type creates a new group, waits until it is \
             ACTIVE, and only then removes the old one.",
            vec![
                text_with_default(
                    "instance_type",
                    "EC2 instance type of the nodes",
                    model::DEFAULT_INSTANCE_TYPE,
                    validators::ec2_instance_type(),
                ),
                number_with_default("min_size", "Fewest nodes", model::DEFAULT_MIN_SIZE, nodes),
                number_with_default(
                    "desired_size",
                    "Nodes to run, between `min_size` and `max_size`",
                    model::DEFAULT_DESIRED_SIZE,
                    nodes,
                ),
                number_with_default("max_size", "Most nodes", model::DEFAULT_MAX_SIZE, nodes),
                Attribute::new("ignore_desired_size_changes", Type::Bool)
                    .default(Value::Bool(false))
                    .description(
                        "Whether the cluster autoscaler (or anyone else) owns the number of nodes. When true, the group \
                         is created with `desired_size`, and from then on a desired size set in AWS within `min_size` \
                         and `max_size` is neither drift nor reverted by apply; `min_size` and `max_size` still are, \
                         and a desired size they leave out of range is moved to the nearest bound. Default false: \
                         `desired_size` is enforced.",
                    ),
            ],
        ))
        .block(group(
            "database",
            "Retool's PostgreSQL database (RDS): private subnets, the network's database security group, storage \
             encrypted with the deployment's key, `rds.force_ssl = 1`, CA `rds-ca-rsa2048-g1`, master password managed \
             by RDS in Secrets Manager. Changed in place.",
            vec![
                text_with_default(
                    "instance_class",
                    "RDS instance class",
                    model::DEFAULT_DB_CLASS,
                    validators::rds_instance_class(),
                ),
                Attribute::new("engine_version", Type::String)
                    .default(Value::string(model::DEFAULT_ENGINE_VERSION))
                    .description(format!(
                        "PostgreSQL version, major (`16`) or specific (`16.4`), 13 or later (Retool's minimum). Default `{}`. \
                         A new major version upgrades in place (with downtime) with a new parameter group, after a manual \
                         snapshot `<instance>-before-postgres<major>` that the apply waits for and reports, and that is kept \
                         until you delete it; a downgrade is refused at plan. A newer specific minor version is applied at \
                         once with `apply_immediately`, otherwise in the next maintenance window: while RDS reports it in \
                         `PendingModifiedValues` it is not drift. RDS's automatic minor upgrades past a specific version are \
                         not drift either.",
                        model::DEFAULT_ENGINE_VERSION
                    ))
                    .validator(validators::postgres_engine_version()),
                number_with_default("allocated_storage_gb", "Storage in GB (gp3)", model::DEFAULT_STORAGE_GB, storage),
                Attribute::new("max_allocated_storage_gb", Type::Number)
                    .optional()
                    .description("Upper limit in GB for storage autoscaling; unset turns autoscaling off.")
                    .validator(int_between(21, 65536)),
                Attribute::new("multi_az", Type::Bool).default(Value::Bool(false)).description("Whether RDS keeps a standby in a second zone. Default false."),
                number_with_default(
                    "backup_retention_days",
                    "Days of automated backups",
                    model::DEFAULT_BACKUP_DAYS,
                    (1, 35),
                ),
                Attribute::new("deletion_protection", Type::Bool)
                    .default(Value::Bool(true))
                    .description(
                        "While true (the default), destroying or replacing the deployment — or disabling `retool_db` — is \
                         refused before anything is touched. Set it to false and apply first.",
                    ),
                Attribute::new("skip_final_snapshot", Type::Bool)
                    .default(Value::Bool(false))
                    .description(
                        "When false (the default), deleting a database first takes a final snapshot named \
                         `<instance>-final-<unix time>` (unique, so a second destroy never collides) and RDS retains its \
                         automated backups; when true, both instances are deleted with their automated backups. While any \
                         snapshot or retained automated backup encrypted with the deployment's KMS key exists, destroy \
                         keeps the key (tagged `retool:retained-for`) instead of scheduling its deletion, and says so.",
                    ),
                Attribute::new("apply_immediately", Type::Bool)
                    .default(Value::Bool(false))
                    .description(
                        "Whether a newer specific minor `engine_version` is applied at once (true) or in the next \
                         maintenance window (false, the default). Every other change, a major upgrade included, is applied at once.",
                    ),
                Attribute::new("maintenance_window", Type::String)
                    .optional()
                    .description(
                        "Weekly maintenance window of both database instances, `ddd:hh24:mi-ddd:hh24:mi` in UTC (e.g. \
                         `sun:05:00-sun:06:00`), at least 30 minutes, not overlapping `backup_window`. Unset: RDS picks one, \
                         which is then not drift; unsetting it keeps the current window.",
                    )
                    .validator(validators::maintenance_window()),
                Attribute::new("backup_window", Type::String)
                    .optional()
                    .description(
                        "Daily automated backup window of both database instances, `hh24:mi-hh24:mi` in UTC (e.g. \
                         `03:00-03:30`), at least 30 minutes. Unset: RDS picks one, which is then not drift; unsetting it \
                         keeps the current window.",
                    )
                    .validator(validators::backup_window()),
            ],
        ))
        .block(group(
            "cache",
            "Optional ElastiCache (Redis) replication group: one node in the private subnets behind the cluster security \
             group, TLS in transit, encrypted at rest with the deployment's key. Node type, engine version and \
             maintenance window change in place (ModifyReplicationGroup, applied immediately): the same group, its \
             endpoint kept.",
            vec![
                Attribute::new("enabled", Type::Bool).default(Value::Bool(false)).description("Whether the cache exists. Default false; switched in place."),
                text_with_default(
                    "node_type",
                    "ElastiCache node type",
                    model::DEFAULT_CACHE_NODE_TYPE,
                    validators::elasticache_node_type(),
                ),
                Attribute::new("engine_version", Type::String)
                    .optional()
                    .description(
                        "Redis OSS engine version, `major.minor` such as `7.1` (or with a patch, `6.2.6`). Unset: the \
                         version ElastiCache chooses at creation, never reported as drift. Set: upgraded in place \
                         (applied immediately) and reported as drift while the cache runs another version; a lower \
                         version than before is refused at plan, as ElastiCache cannot downgrade.",
                    )
                    .validator(validators::cache_engine_version()),
                Attribute::new("maintenance_window", Type::String)
                    .optional()
                    .description(
                        "Weekly window for ElastiCache maintenance, `ddd:hh24:mi-ddd:hh24:mi` in UTC with lowercase days \
                         (e.g. `sun:05:00-sun:06:00`), at least 60 minutes. Unset: the window ElastiCache chooses, \
                         never reported as drift. Set: applied in place and reported as drift when changed outside \
                         Terraform.",
                    )
                    .validator(validators::cache_maintenance_window()),
            ],
        ))
        .block(group(
            "rpc",
            "Optional ElastiCache (Redis) replication group for Retool RPC (`<name>-rpc`), apart from `cache`: one node \
             like the cache's — private subnets (the cache's subnet group), cluster security group, TLS in transit, \
             encrypted at rest with the deployment's key. The node type changes in place; engine version and \
             maintenance window are ElastiCache's choice.",
            vec![
                Attribute::new("enabled", Type::Bool).default(Value::Bool(false)).description("Whether the RPC replication group exists. Default false; switched in place (disabling deletes it)."),
                text_with_default(
                    "node_type",
                    "ElastiCache node type",
                    model::DEFAULT_CACHE_NODE_TYPE,
                    validators::elasticache_node_type(),
                ),
            ],
        ))
        .block(group(
            "retool_db",
            "Optional separate RDS PostgreSQL instance for Retool Database (`<name>-retooldb`), with the same encryption, \
             TLS, backups and deletion protection as `database`.",
            vec![
                Attribute::new("enabled", Type::Bool).default(Value::Bool(false)).description("Whether the Retool DB instance exists. Default false; switched in place."),
                text_with_default(
                    "instance_class",
                    "RDS instance class",
                    model::DEFAULT_RETOOL_DB_CLASS,
                    validators::rds_instance_class(),
                ),
                number_with_default(
                    "allocated_storage_gb",
                    "Storage in GB",
                    model::DEFAULT_RETOOL_DB_STORAGE_GB,
                    storage,
                ),
            ],
        ))
        .block(group(
            "storage",
            "Optional Retool Storage: an S3 bucket `retool-storage-<name>-<account id>` in the provider's region for the \
             files Retool keeps, encrypted by default with the deployment's KMS key (SSE-KMS, S3 Bucket Keys on), every \
             Block Public Access setting on, versioning on, and a bucket policy that refuses requests without TLS and \
             object access to every principal but the IAM role `<name>-storage`. Retool's api pods assume that role \
             through the cluster's OIDC provider as the service account `retool-api` in the deployment's namespace \
             (its `name`); it may use the bucket's objects and the key only through S3. Disabling it, or destroying the deployment, deletes the \
             role and the bucket only when empty: a bucket holding any object or object version is kept, with the KMS \
             key (tagged `retool:retained-for`), and a warning. Import does not read it: after an import, set \
             `storage.enabled` and apply to take an existing bucket and role over.",
            vec![Attribute::new("enabled", Type::Bool)
                .default(Value::Bool(false))
                .description("Whether Retool Storage (bucket and api role) exists. Default false; switched in place.")],
        ))
        .attribute(
            Attribute::new(attribute::NAMESPACE, Type::String)
                .computed()
                .description(
                    "Kubernetes namespace of the Retool workloads on the cluster: the deployment's `name`, so two \
                     deployments reached through one API endpoint never share one.",
                )
                .plan_modifier(use_state_for_unknown()),
        )
        .attribute(
            Attribute::new(
                attribute::WORKLOADS,
                Type::map(Type::object([
                    ("image", Type::String),
                    ("desired_replicas", Type::Number),
                    ("ready_replicas", Type::Number),
                    ("observed_generation", Type::Number),
                ])),
            )
            .computed()
            .description(
                "The Retool containers as the cluster last reported them, keyed by container (`jobs-runner`, `api`, \
                 `workflows-backend`, `workflows-worker`, `code-executor`): the `image` each Deployment runs, its \
                 `desired_replicas` and `ready_replicas`, and the `observed_generation` the Deployment controller has \
                 caught up with. Null until the cluster has been read.",
            ),
        )
        .block(container(
            "api",
            "Retool's main backend (`tryretool/backend`, `SERVICE_TYPE=MAIN_BACKEND,DB_CONNECTOR,DB_SSH_CONNECTOR`, \
             port 3000): serves the web app and API and runs queries. Rolled one extra pod at a time with none \
             unavailable; a disruption budget keeps all but one pod through node drains.",
            "api",
            (model::DEFAULT_API_REPLICAS, model::DEFAULT_API_CPU, model::DEFAULT_API_MEMORY),
            Vec::new(),
        ))
        .block(group(
            "jobs_runner",
            "Retool's jobs runner (`SERVICE_TYPE=JOBS_RUNNER`): the one container that runs database migrations and \
             scheduled jobs, so it always runs exactly one pod (it has no `replicas`). On a `retool_version` change it \
             is replaced first, with the `Recreate` strategy — the old pod is gone before the new one starts — and the \
             other containers roll only once it is available.",
            vec![
                cpu("jobs runner", model::DEFAULT_JOBS_RUNNER_CPU),
                memory("jobs runner", model::DEFAULT_JOBS_RUNNER_MEMORY),
            ],
        ))
        .block(container(
            "workflows_backend",
            "Retool Workflows' backend (`SERVICE_TYPE=WORKFLOW_BACKEND,DB_CONNECTOR,DB_SSH_CONNECTOR`, port 3000); runs \
             only while `workflows.enabled`.",
            "workflows backend",
            (
                model::DEFAULT_WORKFLOWS_BACKEND_REPLICAS,
                model::DEFAULT_WORKFLOWS_BACKEND_CPU,
                model::DEFAULT_WORKFLOWS_BACKEND_MEMORY,
            ),
            Vec::new(),
        ))
        .block(container(
            "workflows_worker",
            "Retool Workflows' Temporal worker (`SERVICE_TYPE=WORKFLOW_TEMPORAL_WORKER`, port 3005), which executes \
             workflow runs; runs only while `workflows.enabled`.",
            "workflows worker",
            (
                model::DEFAULT_WORKFLOWS_WORKER_REPLICAS,
                model::DEFAULT_WORKFLOWS_WORKER_CPU,
                model::DEFAULT_WORKFLOWS_WORKER_MEMORY,
            ),
            Vec::new(),
        ))
        .block(container(
            "code_executor",
            "Retool's code executor (`tryretool/code-executor-service`, port 3004), which runs the Python and JavaScript \
             users write in apps and workflows.",
            "code executor",
            (model::DEFAULT_CODE_EXECUTOR_REPLICAS, model::DEFAULT_CODE_EXECUTOR_CPU, model::DEFAULT_CODE_EXECUTOR_MEMORY),
            vec![Attribute::new("sandbox", Type::String)
                .default(Value::string(model::Sandbox::Privileged.as_str()))
                .description(
                    "How user code is isolated. `privileged` (the default): each run is confined by Retool's nsjail \
                     sandbox, which needs the container to run privileged on its node. `unsandboxed`: the container is \
                     not privileged and runs user code without nsjail, so Python and JavaScript written in Retool can \
                     reach everything the pod can — its network (the database, the cache, other services in the \
                     cluster and the VPC) and its files — and one user's code can see another's. Choose it only where \
                     privileged pods are forbidden and every Retool user is trusted.",
                )
                .validator(one_of(&model::Sandbox::VALUES))],
        ))
        .block(
            NestedBlock::new(
                "workflows",
                Nesting::Group,
                Block::new("Retool Workflows: its backend and worker, and the Temporal cluster they use.")
                    .attribute(
                        Attribute::new("enabled", Type::Bool)
                            .default(Value::Bool(true))
                            .description("Whether the workflows backend and worker run. Default true; switched in place."),
                    )
                    .block(group(
                        "temporal",
                        "The Temporal cluster Workflows runs on.",
                        vec![
                            Attribute::new("mode", Type::String)
                                .default(Value::string("retool_managed"))
                                .description(
                                    "`retool_managed` (the default): Temporal hosted by Retool, which the containers \
                                     reach without settings. `external`: your own Temporal frontend at `host`:`port`.",
                                )
                                .validator(one_of(&model::Temporal::MODES)),
                            Attribute::new("host", Type::String)
                                .optional()
                                .description(
                                    "Hostname (or IP address) of your Temporal frontend, without scheme or port; \
                                     required with `mode = \"external\"` and refused otherwise.",
                                )
                                .validator(validators::temporal_host()),
                            number_with_default(
                                "port",
                                "Port of the Temporal frontend",
                                model::DEFAULT_TEMPORAL_PORT,
                                (1, 65535),
                            ),
                            Attribute::new("namespace", Type::String)
                                .default(Value::string(model::DEFAULT_TEMPORAL_NAMESPACE))
                                .description(format!(
                                    "Temporal namespace of Retool's workflows, default `{}`.",
                                    model::DEFAULT_TEMPORAL_NAMESPACE
                                ))
                                .validator(string_length(1, 255)),
                            Attribute::new("tls_enabled", Type::Bool)
                                .default(Value::Bool(false))
                                .description("Whether the workers reach the Temporal frontend over TLS. Default false."),
                        ],
                    )),
            )
            .max_items(0),
        )
        .attribute(
            Attribute::new("environment", Type::map(Type::String))
                .optional()
                .description(
                    "Extra environment variables of every Retool container, for settings that are not secret (they \
                     are stored in state and in the Deployments). Names are POSIX names (letters, digits, `_`, not \
                     starting with a digit) and may not be one the provider sets itself (database, secrets, \
                     `SERVICE_TYPE`, `BASE_DOMAIN`, Workflows and Temporal settings, …). Put secrets in \
                     `environment_secret_arns`.",
                )
                .validator(validators::environment_names()),
        )
        .attribute(
            Attribute::new("environment_secret_arns", Type::map(Type::String))
                .optional()
                .description(
                    "Extra secret environment variables of every Retool container: variable name → ARN of a Secrets \
                     Manager secret whose value is the variable's value. The External Secrets Operator copies them into \
                     the namespace's Kubernetes Secret `retool` (the External Secrets role may read exactly these \
                     secrets); the provider never reads them and their values never enter state. Names follow the \
                     rules of `environment` and may not appear in both.",
                )
                .validator(validators::environment_names())
                .validator(each_element(validators::secret_arn())),
        )
        .block(group(
            "timeouts",
            "How long an operation may wait for AWS. Unset: EKS waits (cluster, node group) up to 30 minutes, RDS and \
             ElastiCache waits up to 40 minutes; a value set here bounds every wait of that operation.",
            vec![
                Attribute::new("create", Type::String).optional().description("Budget of each wait during create, e.g. `45m`.").validator(duration_validator()),
                Attribute::new("update", Type::String).optional().description("Budget of each wait during update.").validator(duration_validator()),
                Attribute::new("delete", Type::String).optional().description("Budget of each wait during delete.").validator(duration_validator()),
            ],
        )),
    )
}
fn deletion_protected(state: &Value) -> bool {
    state.attr("database").attr("deletion_protection").as_bool().unwrap_or(true)
}

/// The detail of a refused destroy of a protected deployment. A deployment whose create did
/// not complete still lists drift; Terraform marks it tainted and plans to replace it, which
/// the protection refuses: say how to resume it instead.
fn protected_destroy_detail(prior: &Value, refusal: &str) -> String {
    let incomplete = prior.attr(DRIFT).elements().is_some_and(|items| !items.is_empty());
    if incomplete {
        format!(
            "{refusal} This deployment was not completely created; if Terraform plans to replace it because it is tainted, \
             run `terraform untaint <address>` and apply again to resume creating it, or set deletion_protection = false to let it be replaced."
        )
    } else {
        refusal.to_owned()
    }
}

fn path(parts: &[&str]) -> AttributePath {
    parts.iter().fold(AttributePath::root(), |path, part| path.attr(*part))
}

/// The checks of the workloads that span attributes: an external Temporal needs a host (and only
/// it has one); a variable is either plain or secret, not both.
fn validate_workloads(config: &Value, diags: &mut Diagnostics) {
    let temporal = config.attr("workflows").attr("temporal");
    let external = match temporal.attr("mode") {
        Value::Null => Some(false),
        mode => mode.as_str().map(|mode| mode == "external"),
    };
    match (external, temporal.attr("host")) {
        (Some(true), Value::Null) => diags.attribute_error(
            path(&["workflows", "temporal", "mode"]),
            "External Temporal without a host",
            "workflows.temporal.mode is \"external\" but workflows.temporal.host is not set: set host (and port, if \
             not 7233) to your Temporal frontend, or use mode = \"retool_managed\".",
        ),
        (Some(false), host) if !host.is_null() && !host.is_unknown() => diags.attribute_error(
            path(&["workflows", "temporal", "host"]),
            "Temporal host without an external Temporal",
            "workflows.temporal.host is used only with mode = \"external\"; Retool-managed Temporal needs none. Remove \
             host, or set mode = \"external\".",
        ),
        _ => {}
    }
    if let (Some(plain), Some(secret)) =
        (config.attr("environment").as_map(), config.attr("environment_secret_arns").as_map())
    {
        for name in secret.keys().filter(|name| plain.contains_key(*name)) {
            diags.attribute_error(
                path(&["environment_secret_arns"]).key(name.clone()),
                "Environment variable set twice",
                format!("{name} is in both environment and environment_secret_arns; keep it in one of them."),
            );
        }
    }
}

/// Why applying `planned` on top of `prior` is refused, as attribute errors.
fn refuse_unsafe_changes(prior: &Value, planned: &Value, diags: &mut Diagnostics) {
    if let (Some(before), Some(after)) =
        (prior.attr("retool_version").as_str(), planned.attr("retool_version").as_str())
        && let (Ok(from), Ok(to)) = (RetoolVersion::parse(before), RetoolVersion::parse(after))
        && let Err(problem) = RetoolVersion::check_upgrade(&from, &to)
    {
        diags.attribute_error(path(&["retool_version"]), "Retool version change not possible", problem.to_string());
    }
    if let (Some(before), Some(after)) =
        (prior.attr("kubernetes_version").as_str(), planned.attr("kubernetes_version").as_str())
        && let (Ok(from), Ok(to)) = (KubernetesVersion::parse(before), KubernetesVersion::parse(after))
        && from != to
    {
        match KubernetesVersion::check_upgrade(from, to) {
            Err(problem) => diags.attribute_error(
                path(&["kubernetes_version"]),
                "Kubernetes version change not possible",
                problem.to_string(),
            ),
            Ok(()) => diags.attribute_warning(
                path(&["kubernetes_version"]),
                format!("Kubernetes upgrade {before} → {after}"),
                format!(
                    "The apply upgrades in this order: 1. the EKS control plane to {after} (UpdateClusterVersion); \
                     2. the node group to {after}, its nodes replaced one at a time (UpdateNodegroupVersion); \
                     3. the add-ons {} to the versions EKS marks default for {after} (UpdateAddon). Each step is recorded \
                     in AWS as it completes: if the apply is interrupted, the next plan shows the remaining steps as drift \
                     and the next apply resumes there.",
                    MANAGED_ADDONS.join(", ")
                ),
            ),
        }
    }
    if let (Some(before), Some(after)) =
        (prior.attr("cache").attr("engine_version").as_str(), planned.attr("cache").attr("engine_version").as_str())
        && let Err(problem) = CacheEngineVersion::check_change(before, after)
    {
        diags.attribute_error(
            path(&["cache", "engine_version"]),
            "Cache engine downgrade not possible",
            problem.to_string(),
        );
    }
    let engine = |value: &Value| value.attr("database").attr("engine_version").as_str().map(str::to_owned);
    if let (Some(before), Some(after)) = (engine(prior), engine(planned))
        && let (Ok(from), Ok(to)) = (PostgresVersion::parse(&before), PostgresVersion::parse(&after))
    {
        let at = path(&["database", "engine_version"]);
        match PostgresVersion::check_change(&from, &to) {
            Err(problem) => diags.attribute_error(at, "PostgreSQL version change not possible", problem.to_string()),
            Ok(()) if to.major > from.major => diags.attribute_warning(
                at,
                format!("PostgreSQL major upgrade {} → {}", from.major, to.major),
                format!(
                    "The apply first takes a manual snapshot of each database instance (`<instance>-before-{family}`) and \
                     waits until it is available, then upgrades the instances in place to PostgreSQL {after} with the \
                     parameter group of the {family} family (ModifyDBInstance with AllowMajorVersionUpgrade). The databases \
                     are unavailable during the upgrade (downtime, typically 10 to 30 minutes). The snapshots are kept \
                     until you delete them.",
                    family = to.parameter_group_family(),
                ),
            ),
            Ok(()) => {}
        }
    }
    let disabling = prior.attr("retool_db").attr("enabled").as_bool() == Some(true)
        && planned.attr("retool_db").attr("enabled").as_bool() == Some(false);
    if disabling && deletion_protected(planned) {
        diags.attribute_error(
            path(&["retool_db", "enabled"]),
            "Retool DB is protected",
            "Disabling retool_db deletes its instance, which database.deletion_protection forbids. Set deletion_protection = false and apply first.",
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The resource
// ---------------------------------------------------------------------------------------------

#[async_trait]
impl Resource<AwsClients> for DeploymentResource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    /// Node sizes must be ordered; the autoscaling limit must exceed the allocated storage; the
    /// maintenance window must not overlap the backup window; versions newer than this provider
    /// knows are accepted with a warning.
    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let kubernetes = config.attr("kubernetes_version").as_str().and_then(|v| KubernetesVersion::parse(v).ok());
        if let Some(warning) = kubernetes.and_then(KubernetesVersion::newer_than_known) {
            diags.attribute_warning(path(&["kubernetes_version"]), "Kubernetes version newer than known", warning);
        }
        let postgres =
            config.attr("database").attr("engine_version").as_str().and_then(|v| PostgresVersion::parse(v).ok());
        if let Some(warning) = postgres.and_then(|version| version.newer_than_known()) {
            diags.attribute_warning(
                path(&["database", "engine_version"]),
                "PostgreSQL version newer than known",
                warning,
            );
        }
        if let (Some(name), Some(boundary)) =
            (config.attr("name").as_str(), config.attr("permission_boundary_arn").as_str())
            && let Some(warning) = validators::boundary_prefix_problem(name, boundary)
        {
            diags.attribute_warning(
                path(&["permission_boundary_arn"]),
                "IAM roles outside the permission boundary's name prefix",
                warning,
            );
        }
        for (at, kind) in [
            (["node_group", "instance_type"], InstanceKind::Ec2),
            (["database", "instance_class"], InstanceKind::Rds),
            (["retool_db", "instance_class"], InstanceKind::Rds),
            (["cache", "node_type"], InstanceKind::ElastiCache),
        ] {
            let name = config.attr(at[0]).attr(at[1]);
            let parsed = name.as_str().and_then(|name| InstanceType::parse(kind, name).ok());
            if let Some(warning) = parsed.and_then(|parsed| parsed.newer_than_known()) {
                diags.attribute_warning(path(&at), "Instance type newer than known", warning);
            }
        }
        let node = config.attr("node_group");
        let size = |name: &str, default: i64| match node.attr(name) {
            Value::Null => Some(default),
            value => value.as_i64(),
        };
        if let (Some(min), Some(desired), Some(max)) = (
            size("min_size", model::DEFAULT_MIN_SIZE),
            size("desired_size", model::DEFAULT_DESIRED_SIZE),
            size("max_size", model::DEFAULT_MAX_SIZE),
        ) && let Some(problem) = validators::check_node_sizes(min, desired, max)
        {
            let at = if min > desired || min > max {
                "min_size"
            } else if desired > max {
                "desired_size"
            } else {
                "max_size"
            };
            diags.attribute_error(path(&["node_group", at]), "Inconsistent node group sizes", problem);
        }
        validate_workloads(config, diags);
        let database = config.attr("database");
        let allocated = match database.attr("allocated_storage_gb") {
            Value::Null => Some(model::DEFAULT_STORAGE_GB),
            value => value.as_i64(),
        };
        if let (Some(allocated), Some(max)) = (allocated, database.attr("max_allocated_storage_gb").as_i64())
            && max <= allocated
        {
            diags.attribute_error(
                    path(&["database", "max_allocated_storage_gb"]),
                    "Autoscaling limit too small",
                    format!("max_allocated_storage_gb ({max}) must be greater than allocated_storage_gb ({allocated}); leave it unset to turn autoscaling off."),
                );
        }
        let window = |name: &str| database.attr(name).as_str().map(str::to_owned);
        if let (Some(maintenance), Some(backup)) = (window("maintenance_window"), window("backup_window"))
            && let (Ok(weekly), Ok(daily)) = (MaintenanceWindow::parse(&maintenance), BackupWindow::parse(&backup))
            && weekly.overlaps(&daily)
        {
            diags.attribute_error(
                path(&["database", "maintenance_window"]),
                "Maintenance and backup windows overlap",
                format!("maintenance_window {maintenance} overlaps backup_window {backup} (daily); RDS refuses overlapping windows. Move one of them."),
            );
        }
    }

    async fn modify_plan(&self, client: Option<&AwsClients>, request: &PlanRequest<'_>, plan: &mut PlanResponse) {
        if request.is_destroy() {
            if deletion_protected(request.prior_state) {
                plan.diagnostics.attribute_error(
                    path(&["database", "deletion_protection"]),
                    "Deployment is protected from deletion",
                    protected_destroy_detail(
                        request.prior_state,
                        "database.deletion_protection is true, so destroying this deployment (and its database) is refused; \
                         nothing has been touched. Set deletion_protection = false, apply, then destroy.",
                    ),
                );
            }
            return;
        }
        let replacing = !request.is_create() && !plan.requires_replace.is_empty();
        if replacing {
            let protected = deletion_protected(request.prior_state);
            plan.diagnostics.warning(
                "Replacing the deployment deletes its database",
                if protected {
                    "Changing name or network_id replaces the whole deployment, including the database. database.deletion_protection \
                     is true, so the apply will stop before deleting anything; set it to false first if replacement is intended."
                } else {
                    "Changing name or network_id replaces the whole deployment: the database is deleted (after a final snapshot unless \
                     skip_final_snapshot is true) and a new, empty one is created."
                },
            );
        } else if !request.is_create() {
            refuse_unsafe_changes(request.prior_state, &plan.planned, &mut plan.diagnostics);
        }

        // One Describe when the network is new to this deployment: a missing VPC is an error now.
        let network_id = plan.planned.attr("network_id").as_str().map(str::to_owned);
        if let (Some(client), Some(network_id)) = (client, network_id)
            && (request.is_create() || replacing)
        {
            match aws::network::read(client.ec2(), &network_id).await {
                Ok(_) => {}
                Err(aws::network::NetworkProblem::Aws(error)) => plan.diagnostics.attribute_error(
                    path(&["network_id"]),
                    "Could not read the network",
                    error.to_string(),
                ),
                // A network whose own create never finished (Terraform killed before recording
                // it, then imported) is completed by its resource's apply, which runs first.
                Err(problem @ aws::network::NetworkProblem::Incomplete(_))
                    if aws::network::made_by_a_network(client.ec2(), &network_id).await.unwrap_or(false) =>
                {
                    plan.diagnostics.warning(
                        "Network not finished yet",
                        format!(
                            "{network_id}: {problem}. Its retool_network completes it when applied; the deployment is \
                             built after that. Applied without it, this deployment's apply fails."
                        ),
                    );
                }
                Err(problem) => plan.diagnostics.attribute_error(
                    path(&["network_id"]),
                    "Network not usable",
                    format!("{network_id}: {problem}. Use the id of an existing retool_network."),
                ),
            }
        }

        let default_tags = client.map(AwsClients::default_tags).cloned().unwrap_or_default();
        let region = client.map(AwsClients::region).unwrap_or("us-east-1");
        // url and the cost estimate do not depend on the network, which may not exist yet.
        let mut inputs = plan.planned.clone();
        if inputs.attr("network_id").is_unknown() {
            inputs.set_attr("network_id", Value::string(""));
        }
        let planned_spec = model::spec_of(&inputs, &default_tags).ok();
        plan.planned.set_attr(DRIFT, Value::list(Vec::new()));
        match &planned_spec {
            Some(spec) => model::set_derived(&mut plan.planned, region, spec),
            None => {
                for name in [attribute::URL, attribute::COST] {
                    plan.planned.set_attr(name, Value::unknown());
                }
                plan.planned.set_attr(attribute::EGRESS_ALLOWLIST, model::strings(&rules::egress::egress_allowlist()));
            }
        }
        if client.is_none() {
            plan.planned.set_attr(attribute::COST, Value::unknown());
        }
        let configured_key = request.config.attr(attribute::ENCRYPTION_KEY_SECRET_ARN);
        if request.is_create() || replacing {
            for name in attribute::FROM_AWS {
                plan.planned.set_attr(name, Value::unknown());
            }
            if configured_key.is_null() {
                plan.planned.set_attr(attribute::ENCRYPTION_KEY_SECRET_ARN, Value::unknown());
            }
            plan.planned.set_attr(attribute::WORKLOADS, Value::unknown());
            return;
        }

        // In place: outputs keep their values unless this change (or repairing drift) makes or
        // removes the object behind them.
        let prior = request.prior_state;
        for name in attribute::FROM_AWS {
            plan.planned.set_attr(name, prior.attr(name).clone());
        }
        let changed_by_drift = Private::decode(request.prior_private).rest.outputs_changed_by_drift;
        let changed_by_drift = |name: &str| changed_by_drift.iter().any(|changed| changed == name);
        for name in attribute::FROM_AWS.into_iter().filter(|name| changed_by_drift(name)) {
            plan.planned.set_attr(name, Value::unknown());
        }
        for (block, output) in [
            ("cache", attribute::CACHE_ENDPOINT),
            ("rpc", attribute::RPC_ENDPOINT),
            ("retool_db", attribute::RETOOL_DB_ENDPOINT),
            ("storage", attribute::STORAGE_BUCKET),
        ] {
            let enabled = plan.planned.attr(block).attr("enabled").as_bool();
            let was = prior.attr(block).attr("enabled").as_bool();
            if enabled == Some(false) {
                plan.planned.set_attr(output, Value::Null);
            } else if enabled != was || enabled.is_none() {
                plan.planned.set_attr(output, Value::unknown());
            }
        }
        if configured_key.is_null() {
            let name = plan.planned.attr("name").as_str().unwrap_or_default().to_owned();
            let ours = prior
                .attr(attribute::ENCRYPTION_KEY_SECRET_ARN)
                .as_str()
                .is_some_and(|arn| names::is_generated_secret_arn(arn, &name, names::ENCRYPTION_KEY_SECRET));
            let value = if ours && !changed_by_drift(attribute::ENCRYPTION_KEY_SECRET_ARN) {
                prior.attr(attribute::ENCRYPTION_KEY_SECRET_ARN).clone()
            } else {
                Value::unknown()
            };
            plan.planned.set_attr(attribute::ENCRYPTION_KEY_SECRET_ARN, value);
        }
        // Any change applies the workloads again (a new version, size or environment rolls
        // pods; repairing drift may too): what the cluster then reports is known after apply.
        if plan.planned != *prior {
            plan.planned.set_attr(attribute::WORKLOADS, Value::unknown());
        }
    }

    async fn create(&self, ctx: &ResourceContext<AwsClients>, request: &ApplyRequest<'_>, out: &mut Outcome) -> Value {
        let Outcome { private, diagnostics: diags } = out;
        let mut owned = Private::decode(private);
        let owner = Owner::for_create(&mut owned);
        // The token is kept even when the create fails part-way: the partial state resumes on it.
        *private = owned.encode();
        apply(ctx, request.planned, Operation::Create, owner, &Value::Null, Scope::Everything, diags).await.0
    }

    async fn read(&self, ctx: &ResourceContext<AwsClients>, state: &Value, out: &mut Outcome) -> Option<Value> {
        let Outcome { private, diagnostics: diags } = out;
        let mut owned = Private::decode(private);
        let owner = Owner::for_existing(&mut owned);
        *private = owned.encode();
        const FAILED: &str = "Refreshing the deployment failed";
        let Some(desired) = desired_of(ctx, state, Some(owner)).await.reported(diags, FAILED) else {
            return Some(state.clone());
        };
        let Some((observed, not_ours)) = observe_ours(ctx, &desired).await.reported(diags, FAILED) else {
            return Some(state.clone());
        };
        if observed.is_gone() {
            tracing::debug!(name = %desired.spec.name, "deployment is gone; removing from state");
            return None;
        }
        let findings = drift::detect(&desired, &observed, &not_ours);
        owned.rest.outputs_changed_by_drift =
            drift::outputs_changed_by(&findings).into_iter().map(str::to_owned).collect();
        *private = owned.encode();
        let found = drift::sentences(&findings);
        crate::resources::drift::log_refresh(&found);
        Some(model::with_outputs(state, &desired.region, &desired.spec, &observed, &found))
    }

    async fn update(&self, ctx: &ResourceContext<AwsClients>, request: &ApplyRequest<'_>, out: &mut Outcome) -> Value {
        let Outcome { private, diagnostics: diags } = out;
        let mut owned = Private::decode(private);
        let owner = Owner::for_existing(&mut owned);
        // The update repairs the drift; the next refresh finds what is left.
        owned.rest.outputs_changed_by_drift.clear();
        *private = owned.encode();
        let (prior, planned) = (request.prior, request.planned);
        let (Ok(before), Ok(after)) =
            (model::spec_of(prior, ctx.client.default_tags()), model::spec_of(planned, ctx.client.default_tags()))
        else {
            diags.error("Invalid retool_deployment plan", "The prior or planned state could not be read.");
            return prior.clone();
        };
        let prior_drift = prior.attr(model::DRIFT).elements().is_some_and(|items| !items.is_empty());
        if before.same_infrastructure(&after) && !prior_drift {
            // Only Retool-level settings changed: record them on the cluster, touch nothing else.
            const FAILED: &str = "Updating the deployment failed";
            let Some(desired) = desired_for(ctx, after, Some(owner.clone())).await.reported(diags, FAILED) else {
                return prior.clone();
            };
            let cx = Context {
                clients: &ctx.client,
                desired: &desired,
                operation: Operation::Update,
                stop: &ctx.stop,
                notes: Default::default(),
            };
            match ClusterChain::retag(&cx).await.reported(diags, FAILED) {
                Some(Some(refused)) => {
                    owner::refuse(&[refused], TYPE_NAME, &desired.spec.name, diags);
                    return prior.clone();
                }
                Some(None) => {
                    return apply(ctx, planned, Operation::Update, owner, prior, Scope::Workloads, diags).await.0;
                }
                None => return prior.clone(),
            }
        }
        let (state, converged) = apply(ctx, planned, Operation::Update, owner, prior, Scope::Everything, diags).await;
        if converged {
            // Every object now carries the mark: unmarked ones are no longer adopted.
            owned.rest.adopt_unmarked = false;
            *private = owned.encode();
        }
        state
    }

    async fn delete(&self, ctx: &ResourceContext<AwsClients>, prior: &Value, diags: &mut Diagnostics) {
        const FAILED: &str = "Deleting the deployment failed";
        let Some(desired) = desired_of(ctx, prior, None).await.reported(diags, FAILED) else {
            return;
        };
        if desired.spec.database.deletion_protection {
            diags.attribute_error(
                path(&["database", "deletion_protection"]),
                "Deployment is protected from deletion",
                protected_destroy_detail(
                    prior,
                    "database.deletion_protection is true; nothing was deleted. Set it to false and apply first.",
                ),
            );
            return;
        }
        let cx = Context {
            clients: &ctx.client,
            desired: &desired,
            operation: Operation::Delete,
            stop: &ctx.stop,
            notes: Default::default(),
        };
        // Boxed: the futures of a whole stack are too large for a worker thread's stack in debug builds.
        match Box::pin(aws::destroy(&cx)).await {
            Ok(warnings) => {
                for warning in warnings {
                    diags.warning("Left behind on destroy", warning);
                }
            }
            Err(error) => diags.error(FAILED, destroy_again(error)),
        }
    }

    async fn import(&self, ctx: &ResourceContext<AwsClients>, id: &str, out: &mut Outcome) -> Option<Value> {
        if let Some(problem) = validators::deployment_name_problem(id) {
            out.diagnostics.error(
                "Invalid import id",
                format!("{problem} Import a retool_deployment by its name, e.g. `terraform import retool_deployment.app acme`."),
            );
            return None;
        }
        import::import_state(ctx, id, &mut out.private).await.reported(&mut out.diagnostics, "Cannot import").flatten()
    }
}

// ---------------------------------------------------------------------------------------------
// Create and update
// ---------------------------------------------------------------------------------------------

/// The desired deployment of a planned or prior state.
async fn desired_of(
    ctx: &ResourceContext<AwsClients>,
    value: &Value,
    owner: Option<Owner>,
) -> Result<Desired, crate::error::Error> {
    let spec = model::spec_of(value, ctx.client.default_tags())?;
    desired_for(ctx, spec, owner).await
}

/// The desired deployment of `spec`, in the caller's partition and account.
async fn desired_for(
    ctx: &ResourceContext<AwsClients>,
    spec: DeploymentSpec,
    owner: Option<Owner>,
) -> Result<Desired, crate::error::Error> {
    let identity = ctx.client.identity().await?.clone();
    Ok(Desired::new(spec, identity, ctx.client.region(), owner))
}

/// What exists of the deployment that is this instance's, and the objects with its names that
/// are not.
async fn observe_ours(
    ctx: &ResourceContext<AwsClients>,
    desired: &Desired,
) -> Result<(Observed, Vec<NotOurs>), crate::error::Error> {
    let group = desired.parameter_group().ok().map(|group| group.name);
    let bucket = desired.storage_bucket_name();
    let target = Target {
        names: &desired.names,
        network_id: &desired.spec.network_id,
        parameter_group: group.as_deref(),
        cache_member: desired.spec.cache.settings.reads_member(),
        storage_bucket: desired.spec.storage.then_some(bucket.as_str()),
        stop: &ctx.stop,
    };
    // Boxed: the futures of a whole stack are too large for a worker thread's stack in debug builds.
    let observed = Box::pin(aws::observe(&ctx.client, target)).await?;
    Ok(match &desired.owner {
        Some(owner) => observed.claimed_by(owner, &desired.names),
        None => (observed, Vec::new()),
    })
}

/// What an apply converges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// AWS, then the workloads on the cluster.
    Everything,
    /// Only the workloads: nothing that decides AWS infrastructure changed.
    Workloads,
}

/// Create and update: converge, then read back everything that exists, so the state records
/// every piece even after a failure part-way. Nothing is touched while an object with one of the
/// deployment's names is not this instance's. Returns the state and whether everything converged.
async fn apply(
    ctx: &ResourceContext<AwsClients>,
    planned: &Value,
    operation: Operation,
    owner: Owner,
    fallback: &Value,
    scope: Scope,
    diags: &mut Diagnostics,
) -> (Value, bool) {
    let Some(desired) =
        desired_of(ctx, planned, Some(owner)).await.reported(diags, "Invalid planned retool_deployment")
    else {
        return (fallback.clone(), false);
    };
    let Some((mine, not_ours)) = observe_ours(ctx, &desired).await.reported(diags, "Reading the deployment failed")
    else {
        return (fallback.clone(), false);
    };
    let (observed, converged) = if not_ours.is_empty() {
        let cx =
            Context { clients: &ctx.client, desired: &desired, operation, stop: &ctx.stop, notes: Default::default() };
        // The workloads go on the cluster once AWS holds what they need (read back first: the
        // database endpoint, the secrets' ARNs).
        let infrastructure = match scope {
            Scope::Everything => Box::pin(aws::converge(&cx)).await,
            Scope::Workloads => Ok(()),
        };
        let converged = match infrastructure {
            Ok(()) => match observe_ours(ctx, &desired).await {
                Ok((seen, _)) => Box::pin(kubernetes::converge(&cx, &seen)).await,
                Err(error) => Err(error),
            },
            Err(error) => Err(error),
        };
        let converged = match converged {
            Ok(()) => true,
            Err(error) => {
                diags.error("Applying the deployment failed", apply_again(error));
                false
            }
        };
        for note in cx.notes.take() {
            diags.warning("Left in your AWS account", note);
        }
        (observe_ours(ctx, &desired).await, converged)
    } else {
        owner::refuse(&not_ours, TYPE_NAME, &desired.spec.name, diags);
        (Ok((mine, not_ours)), false)
    };
    let (spec, region) = (&desired.spec, desired.region.as_str());
    let state = match observed {
        Ok((observed, not_ours)) if converged => {
            let residual = drift::sentences(&drift::detect(&desired, &observed, &not_ours));
            if !residual.is_empty() {
                diags.warning(
                    "Deployment not fully converged",
                    format!("AWS still differs after the apply: {}", residual.join("; ")),
                );
            }
            let mut state = model::with_outputs(planned, region, spec, &observed, &[]);
            // The network is another resource: if it changed in this same apply, its new egress
            // IPs reach this state at the next refresh; a known planned value must stand.
            let planned_ips = planned.attr(attribute::EGRESS_IPS);
            if planned_ips.is_wholly_known() {
                state.set_attr(attribute::EGRESS_IPS, planned_ips.clone());
            }
            state
        }
        Ok((observed, _)) if observed.is_gone() && operation == Operation::Create => Value::Null,
        Ok((observed, not_ours)) => {
            let found = drift::sentences(&drift::detect(&desired, &observed, &not_ours));
            model::without_unknowns(model::with_outputs(planned, region, spec, &observed, &found))
        }
        Err(error) => {
            diags.error("Reading the deployment back failed", error.to_string());
            model::without_unknowns(planned.clone())
        }
    };
    (state, converged)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::framework::Severity;
    use crate::framework::testing::{documented_block, validation_paths, with_attributes};

    fn config(attributes: &[(&str, Value)]) -> Value {
        let base = Value::object([
            ("name", Value::string("acme")),
            ("network_id", Value::string("vpc-0abc1234")),
            ("retool_version", Value::string("3.148.0-stable")),
            ("domain", Value::string("retool.acme.com")),
        ]);
        with_attributes(base, attributes)
    }

    /// Error paths from `terraform validate`: attribute validators, then the resource's checks.
    fn validate(config: &Value) -> Vec<String> {
        validation_paths(&DeploymentResource, config)
    }

    fn nodes(min: i64, desired: i64, max: i64) -> Value {
        Value::object([
            ("min_size", Value::number_i64(min)),
            ("desired_size", Value::number_i64(desired)),
            ("max_size", Value::number_i64(max)),
        ])
    }

    #[test]
    fn schema_is_well_formed_and_fully_described() {
        let computed = [
            attribute::ID,
            attribute::URL,
            attribute::COST,
            attribute::EGRESS_ALLOWLIST,
            DRIFT,
            attribute::NAMESPACE,
            attribute::WORKLOADS,
        ];
        let block = documented_block(&DeploymentResource, attribute::FROM_AWS.into_iter().chain(computed));
        for name in [
            "node_group",
            "database",
            "cache",
            "retool_db",
            "storage",
            "timeouts",
            "api",
            "jobs_runner",
            "workflows_backend",
            "workflows_worker",
            "code_executor",
            "workflows",
        ] {
            assert!(block.find_block(name).is_some(), "{name} block missing");
        }
        // The jobs-runner is always one pod: Terraform itself refuses a `replicas` there.
        let jobs_runner = block.find_block("jobs_runner").map(|b| &b.block);
        assert!(
            jobs_runner.is_some_and(|b| b.find_attribute("replicas").is_none() && b.find_attribute("cpu").is_some())
        );
        let temporal = block.find_block("workflows").and_then(|b| b.block.find_block("temporal"));
        assert!(temporal.is_some_and(|t| t.block.find_attribute("host").is_some()), "workflows.temporal block missing");
        let sandbox = block.find_block("code_executor").and_then(|b| b.block.find_attribute("sandbox"));
        assert!(sandbox.is_some_and(|a| a.description.contains("nsjail") && a.description.contains("network")));
    }

    #[test]
    fn good_configurations_validate() {
        assert_eq!(validate(&config(&[])), Vec::<String>::new());
        let full = config(&[
            ("node_group", nodes(1, 2, 3)),
            ("kubernetes_version", Value::string("1.34")),
            ("timeouts", Value::object([("create", Value::string("1h30m"))])),
            (
                "database",
                Value::object([
                    ("allocated_storage_gb", Value::number_i64(100)),
                    ("max_allocated_storage_gb", Value::number_i64(200)),
                    ("maintenance_window", Value::string("sun:05:00-sun:06:00")),
                    ("backup_window", Value::string("03:00-03:30")),
                    ("apply_immediately", Value::Bool(true)),
                ]),
            ),
        ]);
        assert_eq!(validate(&full), Vec::<String>::new());
        let workloads = config(&[
            ("api", Value::object([("replicas", Value::number_i64(3)), ("cpu", Value::string("1500m"))])),
            ("jobs_runner", Value::object([("memory", Value::string("1536Mi"))])),
            ("code_executor", Value::object([("sandbox", Value::string("unsandboxed"))])),
            (
                "workflows",
                Value::object([(
                    "temporal",
                    Value::object([
                        ("mode", Value::string("external")),
                        ("host", Value::string("temporal.acme.internal")),
                        ("tls_enabled", Value::Bool(true)),
                    ]),
                )]),
            ),
            ("environment", Value::map([("DBCONNECTOR_QUERY_TIMEOUT_MS", Value::string("300000"))])),
            ("environment_secret_arns", Value::map([("SCIM_AUTH_TOKEN", Value::string(SECRET))])),
        ]);
        assert_eq!(validate(&workloads), Vec::<String>::new());
    }

    const SECRET: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:scim-AbC123";

    #[test]
    fn bad_workload_input_is_an_error_on_the_attribute() {
        let block = |attributes: &[(&str, Value)]| Value::object(attributes.iter().cloned());
        let temporal = |attributes: &[(&str, Value)]| Value::object([("temporal", block(attributes))]);
        let map = |key: &str, value: &str| Value::map([(key, Value::string(value))]);
        let cases: Vec<(&str, Value, &str)> = vec![
            ("api", block(&[("replicas", Value::number_i64(0))]), "api.replicas"),
            ("api", block(&[("replicas", Value::number_i64(-1))]), "api.replicas"),
            ("workflows_worker", block(&[("replicas", Value::number_i64(51))]), "workflows_worker.replicas"),
            ("api", block(&[("cpu", Value::string("1.5.3"))]), "api.cpu"),
            ("code_executor", block(&[("cpu", Value::string("-1"))]), "code_executor.cpu"),
            ("jobs_runner", block(&[("memory", Value::string("2GB"))]), "jobs_runner.memory"),
            ("workflows_backend", block(&[("memory", Value::string("512"))]), "workflows_backend.memory"),
            ("code_executor", block(&[("sandbox", Value::string("none"))]), "code_executor.sandbox"),
            ("workflows", temporal(&[("mode", Value::string("external"))]), "workflows.temporal.mode"),
            ("workflows", temporal(&[("mode", Value::string("self_hosted"))]), "workflows.temporal.mode"),
            ("workflows", temporal(&[("host", Value::string("temporal.acme.internal"))]), "workflows.temporal.host"),
            (
                "workflows",
                temporal(&[("mode", Value::string("external")), ("host", Value::string("https://t.acme.internal"))]),
                "workflows.temporal.host",
            ),
            ("environment", map("1BAD", "x"), "environment[\"1BAD\"]"),
            ("environment", map("MY-VAR", "x"), "environment[\"MY-VAR\"]"),
            ("environment", map("POSTGRES_HOST", "elsewhere"), "environment[\"POSTGRES_HOST\"]"),
            ("environment_secret_arns", map("ENCRYPTION_KEY", SECRET), "environment_secret_arns[\"ENCRYPTION_KEY\"]"),
            (
                "environment_secret_arns",
                map("SCIM_AUTH_TOKEN", "scim-token"),
                "environment_secret_arns[\"SCIM_AUTH_TOKEN\"]",
            ),
        ];
        for (name, value, path) in cases {
            assert_eq!(validate(&config(&[(name, value.clone())])), [path], "{name} = {value:?}");
        }
        let twice = config(&[
            ("environment", map("SCIM_AUTH_TOKEN", "x")),
            ("environment_secret_arns", map("SCIM_AUTH_TOKEN", SECRET)),
        ]);
        assert_eq!(validate(&twice), ["environment_secret_arns[\"SCIM_AUTH_TOKEN\"]"]);
    }

    #[test]
    fn bad_input_is_an_error_on_the_attribute() {
        let database = |name: &str, value: Value| Value::object([(name, value)]);
        let cases: Vec<(&str, Value, &str)> = vec![
            ("retool_version", Value::string("3.148"), "retool_version"),
            ("domain", Value::string("https://retool.acme.com"), "domain"),
            ("name", Value::string("Acme"), "name"),
            ("network_id", Value::string("subnet-1"), "network_id"),
            ("kubernetes_version", Value::string("1.33.1"), "kubernetes_version"),
            ("database", database("engine_version", Value::string("12")), "database.engine_version"),
            ("database", database("maintenance_window", Value::string("sun:05:00")), "database.maintenance_window"),
            ("database", database("backup_window", Value::string("03:00-03:10")), "database.backup_window"),
            (
                "database",
                Value::object([
                    ("maintenance_window", Value::string("sun:03:00-sun:04:00")),
                    ("backup_window", Value::string("03:30-04:00")),
                ]),
                "database.maintenance_window",
            ),
            ("database", database("instance_class", Value::string("m5.large")), "database.instance_class"),
            (
                "database",
                database("max_allocated_storage_gb", Value::number_i64(40)),
                "database.max_allocated_storage_gb",
            ),
            ("cache", database("engine_version", Value::string("7")), "cache.engine_version"),
            ("cache", database("maintenance_window", Value::string("sun:05:00-sun:05:30")), "cache.maintenance_window"),
            ("node_group", nodes(3, 2, 4), "node_group.min_size"),
            ("node_group", nodes(1, 5, 4), "node_group.desired_size"),
            ("timeouts", Value::object([("delete", Value::string("soon"))]), "timeouts.delete"),
            ("timeouts", Value::object([("create", Value::string("18000000000000000000s"))]), "timeouts.create"),
        ];
        for (name, value, path) in cases {
            assert_eq!(validate(&config(&[(name, value.clone())])), [path], "{name} = {value:?}");
        }
    }

    #[test]
    fn a_protected_destroy_of_an_unfinished_create_explains_untaint() {
        let finished = Value::object([(DRIFT, Value::list(Vec::new()))]);
        let unfinished = Value::object([(DRIFT, Value::list(vec![Value::string("EKS cluster acme does not exist")]))]);
        assert_eq!(protected_destroy_detail(&finished, "Refused."), "Refused.");
        let detail = protected_destroy_detail(&unfinished, "Refused.");
        assert!(
            detail.starts_with("Refused.")
                && detail.contains("terraform untaint")
                && detail.contains("deletion_protection = false"),
            "{detail}"
        );
    }

    #[test]
    fn unknown_values_pass_validation() {
        let unknown = config(&[("network_id", Value::unknown()), ("node_group", nodes(1, 1, 1))]);
        let mut with_unknown_size = unknown.clone();
        with_unknown_size.set_attr("node_group", Value::object([("min_size", Value::unknown())]));
        assert_eq!(validate(&unknown), Vec::<String>::new());
        assert_eq!(validate(&with_unknown_size), Vec::<String>::new());
    }

    #[test]
    fn versions_newer_than_known_are_warnings_and_impossible_ones_errors() {
        let warnings = |config: &Value| {
            let mut diags = Diagnostics::new();
            DeploymentResource.validate(config, &mut diags);
            diags.iter().filter_map(|d| d.path.as_ref().map(ToString::to_string)).collect::<Vec<_>>()
        };
        assert_eq!(warnings(&config(&[("kubernetes_version", Value::string("1.37"))])), ["kubernetes_version"]);
        assert_eq!(
            warnings(&config(&[("database", Value::object([("engine_version", Value::string("18"))]))])),
            ["database.engine_version"]
        );
        assert!(warnings(&config(&[("kubernetes_version", Value::string("1.35"))])).is_empty());
        assert_eq!(
            warnings(&config(&[("node_group", Value::object([("instance_type", Value::string("m9g.large"))]))])),
            ["node_group.instance_type"]
        );
        assert_eq!(
            validation_paths(&DeploymentResource, &config(&[("kubernetes_version", Value::string("1.99"))])),
            ["kubernetes_version"]
        );
    }

    #[test]
    fn unknown_instance_families_are_refused_at_validate_and_get_no_price() {
        for (block, attribute, name, kind) in [
            ("node_group", "instance_type", "zz9.large", InstanceKind::Ec2),
            ("database", "instance_class", "db.zz9.large", InstanceKind::Rds),
            ("cache", "node_type", "cache.zz9.large", InstanceKind::ElastiCache),
        ] {
            let unknown = config(&[(block, Value::object([(attribute, Value::string(name))]))]);
            assert_eq!(validation_paths(&DeploymentResource, &unknown), [format!("{block}.{attribute}")], "{name}");
            assert_eq!(rules::cost::hourly_price_usd(kind, name), None, "{name} got a price");
        }
    }

    #[test]
    fn kubernetes_skips_and_unprotected_retool_db_removal_are_refused() {
        let k8s = |version: &str| config(&[("kubernetes_version", Value::string(version))]);
        let said = |prior: &Value, planned: &Value, severity: Severity| {
            let mut diags = Diagnostics::new();
            refuse_unsafe_changes(prior, planned, &mut diags);
            diags
                .iter()
                .filter(|d| d.severity == severity)
                .filter_map(|d| Some(format!("{}: {} {}", d.path.as_ref()?, d.summary, d.detail)))
                .collect::<Vec<_>>()
        };
        let refused = |prior: &Value, planned: &Value| {
            said(prior, planned, Severity::Error)
                .iter()
                .map(|d| d[..d.find(':').unwrap_or(0)].to_owned())
                .collect::<Vec<_>>()
        };
        assert!(refused(&k8s("1.33"), &k8s("1.34")).is_empty());
        // The one allowed step is announced with the order of the upgrade.
        let announced = said(&k8s("1.33"), &k8s("1.34"), Severity::Warning);
        assert_eq!(announced.len(), 1, "{announced:?}");
        let steps =
            ["UpdateClusterVersion", "UpdateNodegroupVersion", "UpdateAddon"].map(|step| announced[0].find(step));
        assert!(steps.windows(2).all(|pair| pair[0].is_some() && pair[0] < pair[1]), "{announced:?}");
        assert!(announced[0].starts_with("kubernetes_version: Kubernetes upgrade 1.33 → 1.34"), "{announced:?}");
        assert!(said(&k8s("1.34"), &k8s("1.34"), Severity::Warning).is_empty());
        assert_eq!(refused(&k8s("1.33"), &k8s("1.35")), ["kubernetes_version"]);
        assert_eq!(refused(&k8s("1.34"), &k8s("1.33")), ["kubernetes_version"]);
        let retool_db = |enabled: bool, protected: bool| {
            config(&[
                ("retool_db", Value::object([("enabled", Value::Bool(enabled))])),
                ("database", Value::object([("deletion_protection", Value::Bool(protected))])),
            ])
        };
        assert_eq!(refused(&retool_db(true, true), &retool_db(false, true)), ["retool_db.enabled"]);
        let cache = |version: Option<&str>| {
            config(&[("cache", Value::object([("engine_version", version.map_or(Value::Null, Value::string))]))])
        };
        assert_eq!(refused(&cache(Some("7.1")), &cache(Some("7.0"))), ["cache.engine_version"]);
        for (before, after) in
            [(Some("7.0"), Some("7.1")), (Some("7.1"), Some("7.1.0")), (None, Some("6.2")), (Some("7.1"), None)]
        {
            assert!(refused(&cache(before), &cache(after)).is_empty(), "{before:?} -> {after:?}");
        }
        assert!(refused(&retool_db(true, false), &retool_db(false, false)).is_empty());
    }

    #[test]
    fn retool_downgrades_and_jumps_of_more_than_ten_minors_are_refused_at_plan() {
        let version = |text: &str| config(&[("retool_version", Value::string(text))]);
        let refused = |prior: &str, planned: &str| {
            let mut diags = Diagnostics::new();
            refuse_unsafe_changes(&version(prior), &version(planned), &mut diags);
            diags
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .map(|d| format!("{}: {}", d.path.as_ref().map(ToString::to_string).unwrap_or_default(), d.detail))
                .collect::<Vec<_>>()
        };
        for (prior, planned) in [("3.300.0-stable", "3.300.0-stable"), ("3.300.0-stable", "3.310.2-stable")] {
            assert!(refused(prior, planned).is_empty(), "{prior} -> {planned}");
        }
        let down = refused("3.300.0-stable", "3.299.0-stable");
        assert!(
            down.len() == 1 && down[0].starts_with("retool_version: ") && down[0].contains("cannot be downgraded"),
            "{down:?}"
        );
        let jump = refused("3.300.0-stable", "3.311.0-stable");
        assert!(
            jump.len() == 1 && jump[0].starts_with("retool_version: ") && jump[0].contains("more than 10"),
            "{jump:?}"
        );
    }

    #[test]
    fn postgres_downgrades_are_refused_and_major_upgrades_announced() {
        let pg = |version: &str| config(&[("database", Value::object([("engine_version", Value::string(version))]))]);
        let said = |prior: &str, planned: &str| {
            let mut diags = Diagnostics::new();
            refuse_unsafe_changes(&pg(prior), &pg(planned), &mut diags);
            diags
                .iter()
                .map(|d| {
                    (
                        d.severity,
                        format!(
                            "{}: {} {}",
                            d.path.as_ref().map(ToString::to_string).unwrap_or_default(),
                            d.summary,
                            d.detail
                        ),
                    )
                })
                .collect::<Vec<_>>()
        };
        let upgrade = said("15", "16");
        assert_eq!(upgrade.len(), 1, "{upgrade:?}");
        let (severity, text) = &upgrade[0];
        assert_eq!(*severity, Severity::Warning);
        assert!(text.starts_with("database.engine_version: PostgreSQL major upgrade 15 → 16"), "{text}");
        assert!(text.contains("snapshot") && text.contains("before-postgres16") && text.contains("downtime"), "{text}");
        for (prior, planned) in [("16", "15"), ("16.6", "16.4")] {
            let refused = said(prior, planned);
            assert!(
                refused.len() == 1 && refused[0].0 == Severity::Error && refused[0].1.contains("cannot downgrade"),
                "{prior} -> {planned}: {refused:?}"
            );
        }
        for (prior, planned) in [("16", "16"), ("16.4", "16.6"), ("16.6", "16")] {
            assert!(said(prior, planned).is_empty(), "{prior} -> {planned}");
        }
    }

    #[test]
    fn spec_round_trips_through_state_and_outputs_fill_from_observation() {
        let spec = model::spec_of(&config(&[]), &BTreeMap::new()).expect("spec");
        assert_eq!(model::spec_of(&model::to_value(&spec), &BTreeMap::new()), Ok(spec.clone()));
        let observed = Observed::default();
        let state = model::with_outputs(&model::to_value(&spec), "us-east-1", &spec, &observed, &["x".to_owned()]);
        assert_eq!(state.attr(attribute::ID).as_str(), Some("acme"));
        assert_eq!(state.attr(attribute::URL).as_str(), Some("https://retool.acme.com"));
        assert!(state.attr(attribute::CLUSTER_ARN).is_null());
        assert!(state.attr(attribute::COST).as_number().is_some(), "the default footprint is priced");
        assert_eq!(state.attr(DRIFT), &model::strings(&["x"]));
        assert!(model::without_unknowns(Value::object([("a", Value::unknown())])).attr("a").is_null());
    }

    #[test]
    fn workloads_round_trip_through_state_and_are_no_infrastructure_change() {
        let configured = config(&[
            ("api", Value::object([("replicas", Value::number_i64(4)), ("memory", Value::string("6Gi"))])),
            ("jobs_runner", Value::object([("cpu", Value::string("500m"))])),
            ("code_executor", Value::object([("sandbox", Value::string("unsandboxed"))])),
            (
                "workflows",
                Value::object([
                    ("enabled", Value::Bool(true)),
                    (
                        "temporal",
                        Value::object([
                            ("mode", Value::string("external")),
                            ("host", Value::string("temporal.acme.internal")),
                            ("port", Value::number_i64(7234)),
                        ]),
                    ),
                ]),
            ),
            ("environment", Value::map([("A", Value::string("1"))])),
            ("environment_secret_arns", Value::map([("B", Value::string(SECRET))])),
        ]);
        let spec = model::spec_of(&configured, &BTreeMap::new()).expect("spec");
        let workloads = &spec.workloads;
        assert_eq!((workloads.api.replicas, workloads.api.resources.memory.as_str()), (4, "6Gi"));
        assert_eq!(workloads.api.resources.cpu, model::DEFAULT_API_CPU, "unset: the default");
        assert_eq!(workloads.jobs_runner.cpu, "500m");
        assert_eq!(workloads.sandbox, model::Sandbox::Unsandboxed);
        assert_eq!(
            workloads.temporal,
            model::Temporal::External {
                host: "temporal.acme.internal".into(),
                port: 7234,
                namespace: model::DEFAULT_TEMPORAL_NAMESPACE.into(),
                tls_enabled: false
            }
        );
        assert_eq!(model::spec_of(&model::to_value(&spec), &BTreeMap::new()), Ok(spec.clone()));
        let defaults = model::spec_of(&config(&[]), &BTreeMap::new()).expect("spec");
        assert_eq!(defaults.workloads, model::WorkloadSpec::default());
        let resized =
            model::spec_of(&config(&[("api", Value::object([("replicas", Value::number_i64(5))]))]), &BTreeMap::new())
                .expect("spec");
        assert!(defaults.same_infrastructure(&resized), "a replicas change touches no AWS object");
        let with_secret = model::spec_of(
            &config(&[("environment_secret_arns", Value::map([("B", Value::string(SECRET))]))]),
            &BTreeMap::new(),
        )
        .expect("spec");
        assert!(!defaults.same_infrastructure(&with_secret), "the External Secrets role reads the configured secrets");
        let mut state = model::with_outputs(&model::to_value(&spec), "us-east-1", &spec, &Observed::default(), &[]);
        assert_eq!(state.attr(attribute::NAMESPACE).as_str(), Some("acme"), "the deployment's name");
        state.set_attr(attribute::WORKLOADS, Value::unknown());
        let state = model::with_outputs(&state, "us-east-1", &spec, &Observed::default(), &[]);
        assert!(state.attr(attribute::WORKLOADS).is_null(), "not read yet: null, never unknown in state");
    }

    #[test]
    fn retool_version_alone_is_not_an_infrastructure_change() {
        let before = model::spec_of(&config(&[]), &BTreeMap::new()).expect("spec");
        let after = model::spec_of(&config(&[("retool_version", Value::string("3.150.0-edge"))]), &BTreeMap::new())
            .expect("spec");
        assert!(before.same_infrastructure(&after));
        let resized = model::spec_of(&config(&[("node_group", nodes(1, 1, 2))]), &BTreeMap::new()).expect("spec");
        assert!(!before.same_infrastructure(&resized));
    }
}
