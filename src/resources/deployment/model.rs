//! The model of a `retool_deployment`: its configuration and state, typed: what the plan or state asks for, with
//! the schema's defaults filled in. Decisions (what to create, what differs) work on this, never
//! on raw values, and import builds it back from what exists.

use std::collections::BTreeMap;
use std::time::Duration;

use super::attribute;
use super::names::Names;
use super::observed::Observed;
use super::rules::cost::{Footprint, estimate_monthly_cost_usd};
use crate::error::Error;
use crate::framework::Diagnostics;
use crate::framework::read::string_map;
use crate::resources::naming::{is_vpc_id, shown};
use crate::value::{AttributePath, Number, Value};

use super::rules::versions::CacheEngineVersion;
pub use super::rules::versions::DEFAULT_KUBERNETES_VERSION;
pub const DEFAULT_INSTANCE_TYPE: &str = "m5.xlarge";
pub const DEFAULT_MIN_SIZE: i64 = 3;
pub const DEFAULT_DESIRED_SIZE: i64 = 3;
pub const DEFAULT_MAX_SIZE: i64 = 6;
pub const DEFAULT_DB_CLASS: &str = "db.m5.large";
pub const DEFAULT_ENGINE_VERSION: &str = "16";
pub const DEFAULT_STORAGE_GB: i64 = 60;
pub const DEFAULT_BACKUP_DAYS: i64 = 7;
pub const DEFAULT_CACHE_NODE_TYPE: &str = "cache.t4g.medium";
pub const DEFAULT_RETOOL_DB_CLASS: &str = "db.t4g.medium";
pub const DEFAULT_RETOOL_DB_STORAGE_GB: i64 = 20;
pub const DEFAULT_PUBLIC_ACCESS_CIDR: &str = "0.0.0.0/0";

/// Defaults of the Retool containers, sized after Retool's Helm chart requests so that the
/// default node group (three m5.xlarge: 12 vCPU, 48 GiB) runs all five with room for a rolling
/// update's extra api pod.
pub const DEFAULT_API_REPLICAS: i64 = 2;
pub const DEFAULT_API_CPU: &str = "2";
pub const DEFAULT_API_MEMORY: &str = "4Gi";
pub const DEFAULT_JOBS_RUNNER_CPU: &str = "1";
pub const DEFAULT_JOBS_RUNNER_MEMORY: &str = "2Gi";
pub const DEFAULT_WORKFLOWS_BACKEND_REPLICAS: i64 = 1;
pub const DEFAULT_WORKFLOWS_BACKEND_CPU: &str = "1";
pub const DEFAULT_WORKFLOWS_BACKEND_MEMORY: &str = "2Gi";
pub const DEFAULT_WORKFLOWS_WORKER_REPLICAS: i64 = 1;
pub const DEFAULT_WORKFLOWS_WORKER_CPU: &str = "1";
pub const DEFAULT_WORKFLOWS_WORKER_MEMORY: &str = "2Gi";
pub const DEFAULT_CODE_EXECUTOR_REPLICAS: i64 = 1;
pub const DEFAULT_CODE_EXECUTOR_CPU: &str = "1";
pub const DEFAULT_CODE_EXECUTOR_MEMORY: &str = "1Gi";
/// Temporal's default frontend port and the namespace Retool's workflows use.
pub const DEFAULT_TEMPORAL_PORT: i64 = 7233;
pub const DEFAULT_TEMPORAL_NAMESPACE: &str = "workflows";

/// Waits of EKS operations (cluster, node group) when `timeouts` leaves them unset.
pub const EKS_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Waits of RDS and ElastiCache operations when `timeouts` leaves them unset.
pub const RDS_TIMEOUT: Duration = Duration::from_secs(40 * 60);
/// The longest budget `timeouts` may set: longer than any AWS wait takes, and far from the
/// instant arithmetic's overflow.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeGroupConfig {
    pub instance_type: String,
    pub scaling: Scaling,
    /// The cluster autoscaler owns the desired size: see [`Scaling::kept_for`].
    pub ignore_desired_size_changes: bool,
}

/// How many nodes a managed node group runs: the one shape of its scaling, shared by
/// configuration, the desired node group and what EKS reports, so converge rescales exactly
/// when drift reports a difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scaling {
    pub min_size: i32,
    pub desired_size: i32,
    pub max_size: i32,
}

impl Scaling {
    /// The scaling a node group that runs `have` should have. Normally this one; while the
    /// cluster autoscaler owns the size (`ignore_desired_size_changes`), the desired size stays
    /// whatever the group runs, moved only as far as needed to lie within this minimum and
    /// maximum (which still apply). Converge rescales to it and drift compares with it.
    pub fn kept_for(self, have: Scaling, ignore_desired_size_changes: bool) -> Scaling {
        if !ignore_desired_size_changes {
            return self;
        }
        // max/min rather than clamp: clamp panics should a state ever hold min > max.
        Scaling { desired_size: have.desired_size.max(self.min_size).min(self.max_size), ..self }
    }
}

/// The subnets and security groups an object runs in (the cluster, the cache).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Placement {
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
}

/// The EKS cluster's settings this resource manages in place: the one shape of a cluster,
/// shared by the desired cluster and what EKS reports, so converge and drift compare the same
/// things ([`ClusterSettings::differences`]). What EKS reports has its lists sorted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterSettings {
    /// Kubernetes version (`1.33`).
    pub version: String,
    pub endpoint_public_access: bool,
    /// Where the public endpoint admits; judged only while the endpoint is public.
    pub public_access_cidrs: Vec<String>,
    pub placement: Placement,
}

impl ClusterSettings {
    /// Which settings differ from `want`, in this order: the comparison converge acts on and
    /// drift reports. Lists are compared sorted; the CIDRs only when `want` has a public endpoint.
    pub fn differences(&self, want: &ClusterSettings) -> Vec<ClusterSetting> {
        let public_cidrs_differ =
            want.endpoint_public_access && self.public_access_cidrs != sorted(&want.public_access_cidrs);
        let (have_placement, want_placement) = (&self.placement, &want.placement);
        [
            (ClusterSetting::Version, self.version != want.version),
            (ClusterSetting::EndpointPublicAccess, self.endpoint_public_access != want.endpoint_public_access),
            (ClusterSetting::PublicAccessCidrs, public_cidrs_differ),
            (ClusterSetting::Subnets, have_placement.subnet_ids != sorted(&want_placement.subnet_ids)),
            (
                ClusterSetting::SecurityGroups,
                have_placement.security_group_ids != sorted(&want_placement.security_group_ids),
            ),
        ]
        .into_iter()
        .filter_map(|(setting, differs)| differs.then_some(setting))
        .collect()
    }
}

/// A setting of the cluster that differs; every one but the version is changed with the
/// cluster's VPC configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterSetting {
    Version,
    EndpointPublicAccess,
    PublicAccessCidrs,
    Subnets,
    SecurityGroups,
}

impl ClusterSetting {
    /// Whether `UpdateClusterConfig` changes it (the version has its own call).
    pub fn in_vpc_config(self) -> bool {
        self != Self::Version
    }
}

/// `items`, sorted: AWS reports sets of ids in no fixed order, configuration in the user's.
pub fn sorted(items: &[String]) -> Vec<String> {
    let mut items = items.to_vec();
    items.sort();
    items
}

/// The settings of an RDS instance that this resource manages in place: the one shape of an
/// instance, shared by configuration (the `database` block is exactly this), the desired
/// instance, what AWS reports and drift — so drift and repair compare the same things.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InstanceSettings {
    pub instance_class: String,
    /// Major (`16`) or specific (`16.4`); AWS reports the specific one.
    pub engine_version: String,
    pub allocated_storage_gb: i32,
    /// `None`: storage autoscaling off.
    pub max_allocated_storage_gb: Option<i32>,
    pub multi_az: bool,
    pub backup_retention_days: i32,
    pub deletion_protection: bool,
    /// `ddd:hh24:mi-ddd:hh24:mi` (UTC); configured `None` leaves it to RDS, and is then no difference.
    pub maintenance_window: Option<String>,
    /// `hh24:mi-hh24:mi` (UTC); configured `None` leaves it to RDS, and is then no difference.
    pub backup_window: Option<String>,
}

/// The setting name of a pinned minor version that differs (see [`engine_difference`]).
pub const ENGINE_VERSION_SETTING: &str = "engine version";

/// One setting that differs: "<setting> is <have>, configured <want>".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub setting: &'static str,
    pub have: String,
    pub want: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is {}, configured {}", self.setting, self.have, self.want)
    }
}

/// The major part of an engine version (`16` of `16.4`).
pub fn major(version: &str) -> &str {
    version.split('.').next().unwrap_or(version)
}

impl InstanceSettings {
    /// What differs from `want`, setting by setting: the comparison converge waits on and drift
    /// reports. Storage grown by autoscaling is not a difference.
    pub fn differences(&self, want: &InstanceSettings) -> Vec<Difference> {
        let mut found = Vec::new();
        let mut differs = |setting: &'static str, have: String, want: String| {
            if have != want {
                found.push(Difference { setting, have, want });
            }
        };
        differs("instance class", self.instance_class.clone(), want.instance_class.clone());
        if storage_differs(self.allocated_storage_gb, want.allocated_storage_gb, want.max_allocated_storage_gb) {
            differs(
                "allocated storage (GB)",
                self.allocated_storage_gb.to_string(),
                want.allocated_storage_gb.to_string(),
            );
        }
        differs(
            "storage autoscaling limit (GB)",
            limit_words(autoscaling_limit(
                self.allocated_storage_gb,
                self.max_allocated_storage_gb,
                want.max_allocated_storage_gb,
            )),
            limit_words(want.max_allocated_storage_gb),
        );
        differs("multi-AZ", self.multi_az.to_string(), want.multi_az.to_string());
        differs(
            "backup retention (days)",
            self.backup_retention_days.to_string(),
            want.backup_retention_days.to_string(),
        );
        differs("deletion protection", self.deletion_protection.to_string(), want.deletion_protection.to_string());
        let unset = |window: &Option<String>| window.clone().unwrap_or_else(|| "unset".to_owned());
        for (setting, have, want) in [
            ("maintenance window", &self.maintenance_window, &want.maintenance_window),
            ("backup window", &self.backup_window, &want.backup_window),
        ] {
            if want.is_some() {
                differs(setting, unset(have), unset(want));
            }
        }
        found
    }
}

/// How the engine version RDS reports (`have`, with `pending` the version it holds for the
/// maintenance window) differs from the configured `want`: another major version always; a minor
/// version only when `want` pins one that is newer than what runs and not already pending. An
/// instance RDS moved past the pinned minor (`auto_minor_version_upgrade`) does not differ.
pub fn engine_difference(have: &str, pending: Option<&str>, want: &str) -> Option<Difference> {
    if major(have) != major(want) {
        return Some(Difference {
            setting: "engine major version",
            have: major(have).to_owned(),
            want: major(want).to_owned(),
        });
    }
    let pinned = super::rules::versions::PostgresVersion::parse(want).ok()?;
    (pinned.is_newer_than_running(have) && pending != Some(want)).then(|| Difference {
        setting: ENGINE_VERSION_SETTING,
        have: have.to_owned(),
        want: want.to_owned(),
    })
}

/// Whether allocated storage `have` differs from the configured `want`. With autoscaling on
/// (a configured limit), RDS grows storage past `want` on its own: only less is a difference.
pub fn storage_differs(have: i32, want: i32, want_limit: Option<i32>) -> bool {
    if want_limit.is_some() { have < want } else { have != want }
}

/// A storage autoscaling limit in words: the gigabytes, or `off`.
fn limit_words(limit: Option<i32>) -> String {
    limit.map_or_else(|| "off".to_owned(), |gb| gb.to_string())
}

/// The autoscaling limit an instance has, as configuration would say it: RDS reports a limit
/// equal to the allocated storage when autoscaling is off, but autoscaling may also have grown
/// storage up to the configured limit.
pub fn autoscaling_limit(allocated: i32, limit: Option<i32>, want_limit: Option<i32>) -> Option<i32> {
    match want_limit {
        Some(_) => limit,
        None => limit.filter(|gb| *gb > allocated),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    pub enabled: bool,
    pub settings: CacheSettings,
}

/// `rpc`: Retool RPC's own Redis, a replication group like the cache's with only its node type
/// configurable (engine version and maintenance window are ElastiCache's choice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcConfig {
    pub enabled: bool,
    pub node_type: String,
}

impl RpcConfig {
    /// The group's settings in the cache's shape, so both are created, changed and drift-checked alike.
    pub fn settings(&self) -> CacheSettings {
        CacheSettings { node_type: self.node_type.clone(), engine_version: None, maintenance_window: None }
    }
}

/// The replication group's settings this resource manages in place: the one shape of a cache,
/// shared by configuration, the desired group and what AWS reports, so converge modifies
/// exactly what drift reports ([`CacheSettings::differences`]). An engine version or maintenance
/// window of `None` is AWS's choice when configured, and not read when reported (they are read
/// only while configured: AWS reports them on the member cluster, one more call).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CacheSettings {
    pub node_type: String,
    pub engine_version: Option<String>,
    /// `ddd:hh24:mi-ddd:hh24:mi`, UTC.
    pub maintenance_window: Option<String>,
}

/// A cache setting that differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheSetting {
    NodeType,
    /// The cache runs an older engine than configured: upgraded in place.
    EngineVersion,
    /// The cache runs a newer engine than configured, which ElastiCache cannot downgrade.
    NewerEngineVersion,
    MaintenanceWindow,
}

impl CacheSettings {
    /// What differs from `want`, setting by setting, in the order converge changes them. Engine
    /// versions compare on the parts both give (`7.1` is `7.1.0`); unconfigured settings never differ.
    pub fn differences(&self, want: &CacheSettings) -> Vec<(CacheSetting, Difference)> {
        let mut found = Vec::new();
        let mut differs = |setting, name: &'static str, have: &str, want: &str| {
            found.push((setting, Difference { setting: name, have: have.to_owned(), want: want.to_owned() }));
        };
        if self.node_type != want.node_type {
            differs(CacheSetting::NodeType, "node type", &self.node_type, &want.node_type);
        }
        if let Some(wanted) = &want.engine_version {
            let have = self.engine_version.as_deref().unwrap_or("unknown");
            let order = match (CacheEngineVersion::parse(have), CacheEngineVersion::parse(wanted)) {
                (Ok(have), Ok(wanted)) => have.compare(&wanted),
                // A version AWS reports in another form: only AWS can judge it; ask for the configured one.
                _ => std::cmp::Ordering::Less,
            };
            match order {
                std::cmp::Ordering::Less => differs(CacheSetting::EngineVersion, "engine version", have, wanted),
                std::cmp::Ordering::Greater => {
                    differs(CacheSetting::NewerEngineVersion, "engine version", have, wanted)
                }
                std::cmp::Ordering::Equal => {}
            }
        }
        if let Some(wanted) = &want.maintenance_window
            && self.maintenance_window.as_ref() != Some(wanted)
        {
            let have = self.maintenance_window.as_deref().unwrap_or("unknown");
            differs(CacheSetting::MaintenanceWindow, "maintenance window", have, wanted);
        }
        found
    }

    /// Whether AWS must be read for the settings only the member cluster reports.
    pub fn reads_member(&self) -> bool {
        self.engine_version.is_some() || self.maintenance_window.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetoolDbConfig {
    pub enabled: bool,
    pub instance_class: String,
    pub allocated_storage_gb: i32,
}

/// A container's CPU (a Kubernetes quantity of cores, the request) and memory (a quantity of
/// bytes, request and limit alike).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    /// CPU requested, e.g. `500m` or `2`.
    pub cpu: String,
    /// Memory requested and limited, e.g. `4Gi`.
    pub memory: String,
}

/// A scaled container: how many pods, each with `resources`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scaled {
    /// Number of pods.
    pub replicas: i32,
    /// Each pod's CPU and memory.
    pub resources: Resources,
}

/// How the code executor runs user code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sandbox {
    /// In the nsjail sandbox, which needs a privileged container.
    Privileged,
    /// Without the sandbox: user code reaches the pod's network and files.
    Unsandboxed,
}

impl Sandbox {
    /// The configuration values, in the order the documentation lists them.
    pub const VALUES: [&'static str; 2] = ["privileged", "unsandboxed"];

    /// The value of `code_executor.sandbox`; `None` for one validation refuses.
    pub fn parse(text: &str) -> Option<Sandbox> {
        match text {
            "privileged" => Some(Sandbox::Privileged),
            "unsandboxed" => Some(Sandbox::Unsandboxed),
            _ => None,
        }
    }

    /// The configuration value.
    pub fn as_str(self) -> &'static str {
        match self {
            Sandbox::Privileged => "privileged",
            Sandbox::Unsandboxed => "unsandboxed",
        }
    }
}

/// Where Retool Workflows' Temporal cluster is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Temporal {
    /// Retool's cloud-hosted Temporal: the containers need no Temporal settings.
    RetoolManaged,
    /// The customer's own Temporal frontend.
    External {
        /// The frontend's host.
        host: String,
        /// The frontend's port.
        port: i32,
        /// The Temporal namespace of Retool's workflows.
        namespace: String,
        /// Whether the frontend is reached over TLS.
        tls_enabled: bool,
    },
}

impl Temporal {
    /// The values of `workflows.temporal.mode`.
    pub const MODES: [&'static str; 2] = ["retool_managed", "external"];
}

/// Everything that decides the Retool workloads on the cluster: the containers' sizes, Workflows,
/// the code executor's sandbox and the customer's extra environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadSpec {
    /// The main backend.
    pub api: Scaled,
    /// Always exactly one pod: it runs the database migrations.
    pub jobs_runner: Resources,
    /// Workflows' backend.
    pub workflows_backend: Scaled,
    /// Workflows' Temporal worker.
    pub workflows_worker: Scaled,
    /// The service that runs users' code.
    pub code_executor: Scaled,
    /// How the code executor isolates users' code.
    pub sandbox: Sandbox,
    /// `workflows.enabled`: the workflows backend and worker run.
    pub workflows_enabled: bool,
    /// Where Workflows' Temporal cluster is.
    pub temporal: Temporal,
    /// Extra non-secret environment variables of every Retool container.
    pub environment: BTreeMap<String, String>,
    /// Extra secret environment variables: name → Secrets Manager ARN, read by the External Secrets
    /// Operator into the namespace's Secret (never by the provider).
    pub environment_secret_arns: BTreeMap<String, String>,
}

fn resources(cpu: &str, memory: &str) -> Resources {
    Resources { cpu: cpu.to_owned(), memory: memory.to_owned() }
}

fn scaled(replicas: i64, cpu: &str, memory: &str) -> Scaled {
    Scaled { replicas: i32::try_from(replicas).unwrap_or(1), resources: resources(cpu, memory) }
}

impl Default for WorkloadSpec {
    /// The schema's defaults.
    fn default() -> Self {
        WorkloadSpec {
            api: scaled(DEFAULT_API_REPLICAS, DEFAULT_API_CPU, DEFAULT_API_MEMORY),
            jobs_runner: resources(DEFAULT_JOBS_RUNNER_CPU, DEFAULT_JOBS_RUNNER_MEMORY),
            workflows_backend: scaled(
                DEFAULT_WORKFLOWS_BACKEND_REPLICAS,
                DEFAULT_WORKFLOWS_BACKEND_CPU,
                DEFAULT_WORKFLOWS_BACKEND_MEMORY,
            ),
            workflows_worker: scaled(
                DEFAULT_WORKFLOWS_WORKER_REPLICAS,
                DEFAULT_WORKFLOWS_WORKER_CPU,
                DEFAULT_WORKFLOWS_WORKER_MEMORY,
            ),
            code_executor: scaled(
                DEFAULT_CODE_EXECUTOR_REPLICAS,
                DEFAULT_CODE_EXECUTOR_CPU,
                DEFAULT_CODE_EXECUTOR_MEMORY,
            ),
            sandbox: Sandbox::Privileged,
            workflows_enabled: true,
            temporal: Temporal::RetoolManaged,
            environment: BTreeMap::new(),
            environment_secret_arns: BTreeMap::new(),
        }
    }
}

/// Per-operation wait budgets; `None` means the per-service default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timeouts {
    pub create: Option<Duration>,
    pub update: Option<Duration>,
    pub delete: Option<Duration>,
}

/// Which operation a wait belongs to, to pick its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
}

impl Timeouts {
    /// The budget of a wait during `operation` on a service whose default is `default`.
    pub fn budget(&self, operation: Operation, default: Duration) -> Duration {
        let configured = match operation {
            Operation::Create => self.create,
            Operation::Update => self.update,
            Operation::Delete => self.delete,
        };
        configured.unwrap_or(default)
    }
}

/// Everything a deployment is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentSpec {
    pub name: String,
    pub network_id: String,
    pub retool_version: String,
    pub domain: String,
    pub permission_boundary_arn: Option<String>,
    pub license_key_secret_arn: Option<String>,
    /// The customer's own ENCRYPTION_KEY secret; `None` means the provider generates one.
    pub encryption_key_secret_arn: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub default_tags: BTreeMap<String, String>,
    pub kubernetes_version: String,
    pub endpoint_public_access: bool,
    pub public_access_cidrs: Vec<String>,
    pub node_group: NodeGroupConfig,
    /// The `database` block's instance settings: the one RDS instance shape.
    pub database: InstanceSettings,
    /// `database.skip_final_snapshot`: delete databases without a final snapshot (and with their
    /// automated backups).
    pub skip_final_snapshot: bool,
    /// `database.apply_immediately`: a new pinned minor version is applied at once rather than
    /// in the maintenance window.
    pub apply_immediately: bool,
    pub cache: CacheConfig,
    pub rpc: RpcConfig,
    pub retool_db: RetoolDbConfig,
    /// `storage.enabled`: the Retool Storage bucket and the api pods' role to it exist.
    pub storage: bool,
    pub timeouts: Timeouts,
    /// The Retool workloads on the cluster.
    pub workloads: WorkloadSpec,
}

impl DeploymentSpec {
    /// Tags for every object: `default_tags`, then `tags`, then the deployment tag.
    pub fn tags(&self) -> BTreeMap<String, String> {
        let mut tags = self.default_tags.clone();
        tags.extend(self.tags.clone());
        tags.insert(super::names::DEPLOYMENT_TAG.to_owned(), self.name.clone());
        tags
    }

    /// The parts that decide AWS infrastructure: equal parts mean an update has nothing to do in
    /// AWS (only `retool_version`, `domain`, `timeouts` or the workloads changed). The workloads'
    /// secret ARNs count: the External Secrets role may read exactly the secrets configured.
    pub fn same_infrastructure(&self, other: &Self) -> bool {
        let strip = |spec: &Self| Self {
            retool_version: String::new(),
            domain: String::new(),
            timeouts: Timeouts::default(),
            workloads: WorkloadSpec {
                environment_secret_arns: spec.workloads.environment_secret_arns.clone(),
                ..WorkloadSpec::default()
            },
            ..spec.clone()
        };
        strip(self) == strip(other)
    }

    /// The Retool DB instance's settings: its own class and storage, the database's engine,
    /// backups and protection, one zone and no autoscaling.
    pub fn retool_db_settings(&self) -> InstanceSettings {
        InstanceSettings {
            instance_class: self.retool_db.instance_class.clone(),
            allocated_storage_gb: self.retool_db.allocated_storage_gb,
            max_allocated_storage_gb: None,
            multi_az: false,
            ..self.database.clone()
        }
    }
}

/// Why a `timeouts` value is refused, or `None` when it is a duration of at most [`MAX_TIMEOUT`].
pub fn timeout_problem(text: &str) -> Option<String> {
    match parse_duration(text) {
        None => Some(format!("{text:?} is not a duration; write e.g. 30m, 1h or 1h30m.")),
        Some(duration) if duration > MAX_TIMEOUT => Some(format!("{text:?} is longer than the maximum of 24h.")),
        Some(_) => None,
    }
}

/// Parses `30m`, `1h30m`, `90s`, `2h` (Terraform's duration strings, whole units).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut total: u64 = 0;
    let mut digits = String::new();
    let mut any = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: u64 = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        let amount: u64 = digits.parse().ok()?;
        total = total.checked_add(amount.checked_mul(unit)?)?;
        digits.clear();
        any = true;
    }
    (any && digits.is_empty() && total > 0).then(|| Duration::from_secs(total))
}

/// Reads a planned or prior state. Fails only on values validation would have refused, i.e. on
/// state written by something else.
pub fn spec_of(value: &Value, default_tags: &BTreeMap<String, String>) -> Result<DeploymentSpec, Error> {
    let invalid = |problem: String| Error::Invalid(problem);
    let text = |v: &Value, name: &str| {
        v.attr(name).as_str().map(str::to_owned).ok_or_else(|| invalid(format!("`{name}` is not a known string")))
    };
    let optional = |v: &Value, name: &str| v.attr(name).as_str().map(str::to_owned);
    let int = |v: &Value, name: &str, default: i64| -> Result<i32, Error> {
        let raw = v.attr(name);
        let number = if raw.is_null() {
            default
        } else {
            raw.as_i64().ok_or_else(|| invalid(format!("`{name}` is not a known whole number")))?
        };
        i32::try_from(number).map_err(|_| invalid(format!("`{name}` is out of range")))
    };
    let flag = |v: &Value, name: &str, default: bool| v.attr(name).as_bool().unwrap_or(default);
    let or = |v: &Value, name: &str, default: &str| optional(v, name).unwrap_or_else(|| default.to_owned());

    let mut diags = Diagnostics::new();
    let tags = string_map(value.attr("tags"), &AttributePath::root().attr("tags"), &mut diags);
    if diags.has_errors() {
        return Err(invalid("`tags` is not a map of strings".into()));
    }
    let public_access_cidrs = match value.attr("public_access_cidrs").elements() {
        Some(items) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| invalid("`public_access_cidrs` is not a list of strings".into()))?,
        None => vec![DEFAULT_PUBLIC_ACCESS_CIDR.to_owned()],
    };
    let node = value.attr("node_group");
    let db = value.attr("database");
    let cache = value.attr("cache");
    let rpc = value.attr("rpc");
    let retool_db = value.attr("retool_db");
    let storage = value.attr("storage");
    let timeouts = value.attr("timeouts");
    let duration = |name: &str| -> Result<Option<Duration>, Error> {
        match timeouts.attr(name).as_str() {
            None => Ok(None),
            // Validation refuses more than a day; state written before that rule is capped, not refused.
            Some(text) => parse_duration(text)
                .map(|d| Some(d.min(MAX_TIMEOUT)))
                .ok_or_else(|| invalid(format!("`timeouts.{name}` {text:?} is not a duration"))),
        }
    };
    let max_allocated = db.attr("max_allocated_storage_gb");
    // Checked here too, not only by the validators: a stored state (or one edited by hand) reaches
    // AWS through this function without passing them.
    let name = text(value, "name")?;
    if let Some(problem) = super::validators::deployment_name_problem(&name) {
        return Err(invalid(format!("the deployment's name in state is unusable: {problem}")));
    }
    let network_id = text(value, "network_id")?;
    if !is_vpc_id(&network_id) {
        return Err(invalid(format!("the deployment's network_id in state is not a VPC id: {}", shown(&network_id))));
    }
    Ok(DeploymentSpec {
        name,
        network_id,
        retool_version: text(value, "retool_version")?,
        domain: text(value, "domain")?,
        permission_boundary_arn: optional(value, "permission_boundary_arn"),
        license_key_secret_arn: optional(value, "license_key_secret_arn"),
        encryption_key_secret_arn: None,
        tags,
        default_tags: default_tags.clone(),
        kubernetes_version: or(value, "kubernetes_version", DEFAULT_KUBERNETES_VERSION),
        endpoint_public_access: flag(value, "endpoint_public_access", true),
        public_access_cidrs,
        node_group: NodeGroupConfig {
            instance_type: or(node, "instance_type", DEFAULT_INSTANCE_TYPE),
            scaling: Scaling {
                min_size: int(node, "min_size", DEFAULT_MIN_SIZE)?,
                desired_size: int(node, "desired_size", DEFAULT_DESIRED_SIZE)?,
                max_size: int(node, "max_size", DEFAULT_MAX_SIZE)?,
            },
            ignore_desired_size_changes: flag(node, "ignore_desired_size_changes", false),
        },
        database: InstanceSettings {
            instance_class: or(db, "instance_class", DEFAULT_DB_CLASS),
            engine_version: or(db, "engine_version", DEFAULT_ENGINE_VERSION),
            allocated_storage_gb: int(db, "allocated_storage_gb", DEFAULT_STORAGE_GB)?,
            max_allocated_storage_gb: if max_allocated.is_null() {
                None
            } else {
                Some(int(db, "max_allocated_storage_gb", 0)?)
            },
            multi_az: flag(db, "multi_az", false),
            backup_retention_days: int(db, "backup_retention_days", DEFAULT_BACKUP_DAYS)?,
            deletion_protection: flag(db, "deletion_protection", true),
            maintenance_window: optional(db, "maintenance_window"),
            backup_window: optional(db, "backup_window"),
        },
        skip_final_snapshot: flag(db, "skip_final_snapshot", false),
        apply_immediately: flag(db, "apply_immediately", false),
        cache: CacheConfig {
            enabled: flag(cache, "enabled", false),
            settings: CacheSettings {
                node_type: or(cache, "node_type", DEFAULT_CACHE_NODE_TYPE),
                engine_version: optional(cache, "engine_version"),
                maintenance_window: optional(cache, "maintenance_window"),
            },
        },
        rpc: RpcConfig {
            enabled: flag(rpc, "enabled", false),
            node_type: or(rpc, "node_type", DEFAULT_CACHE_NODE_TYPE),
        },
        retool_db: RetoolDbConfig {
            enabled: flag(retool_db, "enabled", false),
            instance_class: or(retool_db, "instance_class", DEFAULT_RETOOL_DB_CLASS),
            allocated_storage_gb: int(retool_db, "allocated_storage_gb", DEFAULT_RETOOL_DB_STORAGE_GB)?,
        },
        storage: flag(storage, "enabled", false),
        timeouts: Timeouts { create: duration("create")?, update: duration("update")?, delete: duration("delete")? },
        workloads: workload_spec_of(value)?,
    }
    .with_customer_encryption_key(value))
}

/// The workloads part of a planned or prior state; unset values are the schema's defaults.
fn workload_spec_of(value: &Value) -> Result<WorkloadSpec, Error> {
    let invalid = |problem: String| Error::Invalid(problem);
    let defaults = WorkloadSpec::default();
    let text =
        |block: &str, name: &str, default: &str| value.attr(block).attr(name).as_str().unwrap_or(default).to_owned();
    let replicas = |block: &str, default: i32| -> Result<i32, Error> {
        match value.attr(block).attr("replicas") {
            Value::Null => Ok(default),
            raw => raw
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .ok_or_else(|| invalid(format!("`{block}.replicas` is not a known whole number"))),
        }
    };
    let scaled = |block: &str, default: &Scaled| -> Result<Scaled, Error> {
        Ok(Scaled {
            replicas: replicas(block, default.replicas)?,
            resources: Resources {
                cpu: text(block, "cpu", &default.resources.cpu),
                memory: text(block, "memory", &default.resources.memory),
            },
        })
    };
    let sandbox = match value.attr("code_executor").attr("sandbox").as_str() {
        None => defaults.sandbox,
        Some(text) => Sandbox::parse(text).ok_or_else(|| {
            invalid(format!("`code_executor.sandbox` {text:?} is not one of privileged, unsandboxed"))
        })?,
    };
    let workflows = value.attr("workflows");
    let temporal = workflows.attr("temporal");
    let temporal = match temporal.attr("mode").as_str() {
        None | Some("retool_managed") => Temporal::RetoolManaged,
        Some("external") => Temporal::External {
            host: temporal
                .attr("host")
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| invalid("`workflows.temporal.host` is not set for an external Temporal".into()))?,
            port: match temporal.attr("port") {
                Value::Null => i32::try_from(DEFAULT_TEMPORAL_PORT).unwrap_or(7233),
                raw => raw
                    .as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .ok_or_else(|| invalid("`workflows.temporal.port` is not a known whole number".into()))?,
            },
            namespace: temporal.attr("namespace").as_str().unwrap_or(DEFAULT_TEMPORAL_NAMESPACE).to_owned(),
            tls_enabled: temporal.attr("tls_enabled").as_bool().unwrap_or(false),
        },
        Some(other) => return Err(invalid(format!("`workflows.temporal.mode` {other:?} is not a Temporal mode"))),
    };
    let map = |name: &str| {
        let mut diags = Diagnostics::new();
        let entries = string_map(value.attr(name), &AttributePath::root().attr(name), &mut diags);
        if diags.has_errors() { Err(invalid(format!("`{name}` is not a map of strings"))) } else { Ok(entries) }
    };
    Ok(WorkloadSpec {
        api: scaled("api", &defaults.api)?,
        jobs_runner: Resources {
            cpu: text("jobs_runner", "cpu", &defaults.jobs_runner.cpu),
            memory: text("jobs_runner", "memory", &defaults.jobs_runner.memory),
        },
        workflows_backend: scaled("workflows_backend", &defaults.workflows_backend)?,
        workflows_worker: scaled("workflows_worker", &defaults.workflows_worker)?,
        code_executor: scaled("code_executor", &defaults.code_executor)?,
        sandbox,
        workflows_enabled: workflows.attr("enabled").as_bool().unwrap_or(defaults.workflows_enabled),
        temporal,
        environment: map("environment")?,
        environment_secret_arns: map("environment_secret_arns")?,
    })
}

/// The workloads part of `spec`, as state.
fn workloads_to_value(spec: &WorkloadSpec) -> Vec<(&'static str, Value)> {
    let int = |n: i32| Value::number_i64(i64::from(n));
    let sized = |resources: &Resources| {
        vec![("cpu", Value::string(&resources.cpu)), ("memory", Value::string(&resources.memory))]
    };
    let scaled = |scaled: &Scaled, extra: Vec<(&'static str, Value)>| {
        let mut attributes = vec![("replicas", int(scaled.replicas))];
        attributes.extend(sized(&scaled.resources));
        attributes.extend(extra);
        Value::object(attributes)
    };
    let temporal = match &spec.temporal {
        Temporal::RetoolManaged => Value::object([
            ("mode", Value::string("retool_managed")),
            ("host", Value::Null),
            ("port", Value::number_i64(DEFAULT_TEMPORAL_PORT)),
            ("namespace", Value::string(DEFAULT_TEMPORAL_NAMESPACE)),
            ("tls_enabled", Value::Bool(false)),
        ]),
        Temporal::External { host, port, namespace, tls_enabled } => Value::object([
            ("mode", Value::string("external")),
            ("host", Value::string(host)),
            ("port", int(*port)),
            ("namespace", Value::string(namespace)),
            ("tls_enabled", Value::Bool(*tls_enabled)),
        ]),
    };
    let map = |entries: &BTreeMap<String, String>| {
        if entries.is_empty() {
            Value::Null
        } else {
            Value::map(entries.iter().map(|(k, v)| (k.clone(), Value::string(v))))
        }
    };
    vec![
        ("api", scaled(&spec.api, Vec::new())),
        ("jobs_runner", Value::object(sized(&spec.jobs_runner))),
        ("workflows_backend", scaled(&spec.workflows_backend, Vec::new())),
        ("workflows_worker", scaled(&spec.workflows_worker, Vec::new())),
        ("code_executor", scaled(&spec.code_executor, vec![("sandbox", Value::string(spec.sandbox.as_str()))])),
        ("workflows", Value::object([("enabled", Value::Bool(spec.workflows_enabled)), ("temporal", temporal)])),
        ("environment", map(&spec.environment)),
        ("environment_secret_arns", map(&spec.environment_secret_arns)),
    ]
}

impl DeploymentSpec {
    /// The customer's ENCRYPTION_KEY secret is the configured one only when it is not ours (the
    /// computed value of `encryption_key_secret_arn` is our generated secret's ARN).
    fn with_customer_encryption_key(mut self, value: &Value) -> Self {
        self.encryption_key_secret_arn = value
            .attr("encryption_key_secret_arn")
            .as_str()
            .filter(|arn| !super::names::is_generated_secret_arn(arn, &self.name, super::names::ENCRYPTION_KEY_SECRET))
            .map(str::to_owned);
        self
    }
}

/// The configuration-side attributes of `spec`, as state (for import).
pub fn to_value(spec: &DeploymentSpec) -> Value {
    let string = |text: &str| Value::string(text);
    let optional = |text: &Option<String>| text.as_ref().map_or(Value::Null, Value::string);
    let int = |n: i32| Value::number_i64(i64::from(n));
    let tags = if spec.tags.is_empty() {
        Value::Null
    } else {
        Value::map(spec.tags.iter().map(|(k, v)| (k.clone(), Value::string(v))))
    };
    Value::object(
        vec![
            ("name", string(&spec.name)),
            ("network_id", string(&spec.network_id)),
            ("retool_version", string(&spec.retool_version)),
            ("domain", string(&spec.domain)),
            ("permission_boundary_arn", optional(&spec.permission_boundary_arn)),
            ("license_key_secret_arn", optional(&spec.license_key_secret_arn)),
            ("encryption_key_secret_arn", optional(&spec.encryption_key_secret_arn)),
            ("tags", tags),
            ("kubernetes_version", string(&spec.kubernetes_version)),
            ("endpoint_public_access", Value::Bool(spec.endpoint_public_access)),
            ("public_access_cidrs", Value::list(spec.public_access_cidrs.iter().map(Value::string).collect())),
            (
                "node_group",
                Value::object([
                    ("instance_type", string(&spec.node_group.instance_type)),
                    ("min_size", int(spec.node_group.scaling.min_size)),
                    ("desired_size", int(spec.node_group.scaling.desired_size)),
                    ("max_size", int(spec.node_group.scaling.max_size)),
                    ("ignore_desired_size_changes", Value::Bool(spec.node_group.ignore_desired_size_changes)),
                ]),
            ),
            (
                "database",
                Value::object([
                    ("instance_class", string(&spec.database.instance_class)),
                    ("engine_version", string(&spec.database.engine_version)),
                    ("allocated_storage_gb", int(spec.database.allocated_storage_gb)),
                    ("max_allocated_storage_gb", spec.database.max_allocated_storage_gb.map_or(Value::Null, int)),
                    ("multi_az", Value::Bool(spec.database.multi_az)),
                    ("backup_retention_days", int(spec.database.backup_retention_days)),
                    ("deletion_protection", Value::Bool(spec.database.deletion_protection)),
                    ("skip_final_snapshot", Value::Bool(spec.skip_final_snapshot)),
                    ("apply_immediately", Value::Bool(spec.apply_immediately)),
                    ("maintenance_window", optional(&spec.database.maintenance_window)),
                    ("backup_window", optional(&spec.database.backup_window)),
                ]),
            ),
            (
                "cache",
                Value::object([
                    ("enabled", Value::Bool(spec.cache.enabled)),
                    ("node_type", string(&spec.cache.settings.node_type)),
                    ("engine_version", optional(&spec.cache.settings.engine_version)),
                    ("maintenance_window", optional(&spec.cache.settings.maintenance_window)),
                ]),
            ),
            (
                "rpc",
                Value::object([("enabled", Value::Bool(spec.rpc.enabled)), ("node_type", string(&spec.rpc.node_type))]),
            ),
            (
                "retool_db",
                Value::object([
                    ("enabled", Value::Bool(spec.retool_db.enabled)),
                    ("instance_class", string(&spec.retool_db.instance_class)),
                    ("allocated_storage_gb", int(spec.retool_db.allocated_storage_gb)),
                ]),
            ),
            ("storage", Value::object([("enabled", Value::Bool(spec.storage))])),
            ("timeouts", Value::object([("create", Value::Null), ("update", Value::Null), ("delete", Value::Null)])),
        ]
        .into_iter()
        .chain(workloads_to_value(&spec.workloads))
        .collect::<Vec<_>>(),
    )
}

// ---------------------------------------------------------------------------------------------
// State: the configuration side plus everything read off AWS
// ---------------------------------------------------------------------------------------------

/// The computed attribute listing drift.
pub const DRIFT: &str = "drift";

pub fn strings<S: AsRef<str>>(items: &[S]) -> Value {
    Value::list(items.iter().map(|item| Value::string(item.as_ref())).collect())
}

pub fn optional(item: Option<&str>) -> Value {
    item.map_or(Value::Null, Value::string)
}

/// The configured footprint's monthly estimate, when the region prices it.
pub fn cost(region: &str, spec: &DeploymentSpec) -> Value {
    let footprint = Footprint {
        node_instance_type: spec.node_group.instance_type.clone(),
        node_count: u32::try_from(spec.node_group.scaling.desired_size).unwrap_or_default(),
        db_instance_class: spec.database.instance_class.clone(),
        db_multi_az: spec.database.multi_az,
        db_storage_gb: u32::try_from(spec.database.allocated_storage_gb).unwrap_or_default(),
        cache_node_types: [
            (spec.cache.enabled, &spec.cache.settings.node_type),
            (spec.rpc.enabled, &spec.rpc.node_type),
        ]
        .into_iter()
        .filter(|(enabled, _)| *enabled)
        .map(|(_, node_type)| node_type.clone())
        .collect(),
        retool_db: spec.retool_db.enabled.then(|| {
            (
                spec.retool_db.instance_class.clone(),
                u32::try_from(spec.retool_db.allocated_storage_gb).unwrap_or_default(),
            )
        }),
    };
    estimate_monthly_cost_usd(region, &footprint).and_then(Number::from_f64).map_or(Value::Null, Value::from)
}

/// The outputs every plan can know without AWS.
pub fn set_derived(state: &mut Value, region: &str, spec: &DeploymentSpec) {
    state.set_attr(attribute::ID, Value::string(&spec.name));
    state.set_attr(attribute::CLUSTER_NAME, Value::string(Names::new(&spec.name).cluster()));
    state.set_attr(attribute::URL, Value::string(format!("https://{}", spec.domain)));
    state.set_attr(attribute::EGRESS_ALLOWLIST, strings(&super::rules::egress::egress_allowlist()));
    state.set_attr(attribute::COST, cost(region, spec));
    state.set_attr(attribute::NAMESPACE, Value::string(Names::new(&spec.name).namespace()));
}

/// `base` (the configuration side) with every output read off `observed`, and `drift`.
pub fn with_outputs(base: &Value, region: &str, spec: &DeploymentSpec, observed: &Observed, drift: &[String]) -> Value {
    let mut state = base.clone();
    set_derived(&mut state, region, spec);
    let cluster = observed.eks.cluster.as_ref();
    state.set_attr(attribute::CLUSTER_ARN, optional(cluster.map(|c| c.arn.as_str())));
    state.set_attr(attribute::CLUSTER_ENDPOINT, optional(cluster.and_then(|c| c.endpoint.as_deref())));
    state.set_attr(attribute::CLUSTER_CA, optional(cluster.and_then(|c| c.certificate_authority.as_deref())));
    state.set_attr(attribute::OIDC_ISSUER_URL, optional(cluster.and_then(|c| c.oidc_issuer.as_deref())));
    state.set_attr(attribute::KMS_KEY_ARN, optional(observed.kms.as_ref().map(|k| k.arn.as_str())));
    let database = observed.rds.database.as_ref();
    state.set_attr(attribute::DATABASE_ENDPOINT, optional(database.and_then(|d| d.endpoint.as_deref())));
    state
        .set_attr(attribute::DATABASE_SECRET_ARN, optional(database.and_then(|d| d.master_user_secret_arn.as_deref())));
    let encryption_key = match &spec.encryption_key_secret_arn {
        Some(arn) => Some(arn.as_str()),
        None => observed.secrets.encryption_key.as_ref().map(|s| s.arn.as_str()),
    };
    state.set_attr(attribute::ENCRYPTION_KEY_SECRET_ARN, optional(encryption_key));
    state.set_attr(attribute::JWT_SECRET_ARN, optional(observed.secrets.jwt.as_ref().map(|s| s.arn.as_str())));
    let cache = observed.live_cache().filter(|_| spec.cache.enabled);
    state.set_attr(attribute::CACHE_ENDPOINT, optional(cache.and_then(|c| c.endpoint.as_deref())));
    let rpc = observed.live_rpc().filter(|_| spec.rpc.enabled);
    state.set_attr(attribute::RPC_ENDPOINT, optional(rpc.and_then(|c| c.endpoint.as_deref())));
    let retool_db = observed.rds.retool_db.as_ref().filter(|_| spec.retool_db.enabled);
    state.set_attr(attribute::RETOOL_DB_ENDPOINT, optional(retool_db.and_then(|d| d.endpoint.as_deref())));
    let bucket = observed.storage.bucket.as_ref().filter(|_| spec.storage);
    state.set_attr(attribute::STORAGE_BUCKET, optional(bucket.map(|b| b.name.as_str())));
    state.set_attr(
        attribute::EGRESS_IPS,
        strings(&observed.network.as_ref().map(|n| n.egress_ips.clone()).unwrap_or_default()),
    );
    // Read off the cluster's Deployments; null until a read has reached the cluster.
    let workloads = observed.workloads.as_ref().filter(|seen| seen.access_denied.is_none()).map(|seen| {
        Value::map(seen.deployments.iter().map(|deployment| {
            let container = Value::object([
                ("image", optional(deployment.image.as_deref())),
                ("desired_replicas", Value::number_i64(i64::from(deployment.replicas))),
                ("ready_replicas", Value::number_i64(i64::from(deployment.ready))),
                ("observed_generation", Value::number_i64(deployment.observed_generation)),
            ]);
            (deployment.name.clone(), container)
        }))
    });
    state.set_attr(attribute::WORKLOADS, workloads.unwrap_or(Value::Null));
    state.set_attr(DRIFT, strings(drift));
    state
}

/// State may not hold unknown values: what is not known after a failure is recorded as null.
pub fn without_unknowns(value: Value) -> Value {
    match value {
        value if value.is_unknown() => Value::Null,
        Value::Object(attributes) => {
            Value::Object(attributes.into_iter().map(|(k, v)| (k, without_unknowns(v))).collect())
        }
        Value::List(items) => Value::List(items.into_iter().map(without_unknowns).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_longer_than_a_day_are_refused() {
        assert_eq!(timeout_problem("24h"), None);
        assert!(timeout_problem("18000000000000000000s").is_some_and(|p| p.contains("maximum of 24h")));
        assert!(timeout_problem("24h1s").is_some());
        assert!(timeout_problem("soon").is_some_and(|p| p.contains("not a duration")));
    }

    #[test]
    fn over_long_timeouts_in_older_state_are_capped() {
        let state = Value::object([
            ("name", Value::string("acme")),
            ("network_id", Value::string("vpc-0123abcd")),
            ("retool_version", Value::string("3.148.0-stable")),
            ("domain", Value::string("retool.acme.com")),
            ("timeouts", Value::object([("delete", Value::string("18000000000000000000s"))])),
        ]);
        let spec = spec_of(&state, &BTreeMap::new()).expect("readable");
        assert_eq!(spec.timeouts.delete, Some(MAX_TIMEOUT));
    }

    #[test]
    fn durations_parse_like_terraform() {
        assert_eq!(parse_duration("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        for bad in ["", "30", "m", "1x", "0s", "-1m", "1.5h"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn cluster_settings_differ_as_converge_updates_them() {
        let (a, b) = (String::from("a"), String::from("b"));
        let placement = |subnets: Vec<String>| Placement { subnet_ids: subnets, security_group_ids: vec!["sg".into()] };
        let want = ClusterSettings {
            version: "1.33".into(),
            endpoint_public_access: false,
            public_access_cidrs: vec![a.clone()],
            placement: placement(vec![b.clone(), a.clone()]),
        };
        let have =
            ClusterSettings { placement: placement(vec![a, b.clone()]), public_access_cidrs: vec![b], ..want.clone() };
        assert_eq!(have.differences(&want), [], "lists compare sorted; CIDRs only count while public");
        let want = ClusterSettings { version: "1.34".into(), endpoint_public_access: true, ..want };
        let found = have.differences(&want);
        use ClusterSetting::*;
        assert_eq!(found, [Version, EndpointPublicAccess, PublicAccessCidrs]);
        assert_eq!(found.into_iter().filter(|setting| setting.in_vpc_config()).count(), 2);
    }

    #[test]
    fn an_autoscaled_group_keeps_its_desired_size_within_min_and_max() {
        let configured = Scaling { min_size: 2, desired_size: 3, max_size: 5 };
        let running = |desired_size| Scaling { min_size: 1, desired_size, max_size: 8 };
        assert_eq!(configured.kept_for(running(7), false), configured, "not ignored: the configured size");
        let kept = |desired| configured.kept_for(running(desired), true);
        assert_eq!(kept(4), Scaling { desired_size: 4, ..configured }, "the autoscaler's size stays");
        assert_eq!(kept(7).desired_size, 5, "brought down to max_size");
        assert_eq!(kept(1).desired_size, 2, "brought up to min_size");
        let inverted = Scaling { min_size: 5, desired_size: 3, max_size: 2 };
        assert_eq!(inverted.kept_for(running(4), true).desired_size, 2, "no panic on a state with min > max");
    }

    #[test]
    fn cache_settings_differ_only_where_configured() {
        let have = CacheSettings {
            node_type: "cache.t4g.medium".into(),
            engine_version: Some("7.1.0".into()),
            maintenance_window: Some("sun:05:00-sun:06:00".into()),
        };
        let want =
            CacheSettings { node_type: "cache.t4g.medium".into(), engine_version: None, maintenance_window: None };
        assert_eq!(have.differences(&want), []);
        let unread = CacheSettings { engine_version: None, maintenance_window: None, ..have.clone() };
        assert_eq!(unread.differences(&want), [], "unconfigured settings are not read and do not differ");
        let pinned = CacheSettings { engine_version: Some("7.1".into()), ..want.clone() };
        assert_eq!(have.differences(&pinned), [], "7.1 is 7.1.0");
        let settings = |want: &CacheSettings| have.differences(want).into_iter().map(|(s, _)| s).collect::<Vec<_>>();
        let changed = CacheSettings {
            node_type: "cache.r6g.large".into(),
            engine_version: Some("7.2".into()),
            maintenance_window: Some("tue:03:00-tue:04:00".into()),
        };
        use CacheSetting::*;
        assert_eq!(settings(&changed), [NodeType, EngineVersion, MaintenanceWindow]);
        let older = CacheSettings { engine_version: Some("6.2".into()), ..want };
        let found = have.differences(&older);
        assert_eq!(found.iter().map(|(s, _)| *s).collect::<Vec<_>>(), [NewerEngineVersion]);
        assert_eq!(
            found.first().map(|(_, d)| d.to_string()).as_deref(),
            Some("engine version is 7.1.0, configured 6.2")
        );
        assert!(!CacheSettings::default().reads_member() && changed.reads_member());
    }

    #[test]
    fn engine_versions_differ_by_major_or_by_a_newer_pinned_minor_not_yet_pending() {
        let differs = |have, pending, want| engine_difference(have, pending, want).map(|d| d.to_string());
        assert_eq!(differs("15.8", None, "16").as_deref(), Some("engine major version is 15, configured 16"));
        assert_eq!(differs("16.4", None, "16.6").as_deref(), Some("engine version is 16.4, configured 16.6"));
        assert_eq!(differs("16.4", Some("16.6"), "16.6"), None, "waiting for the maintenance window");
        assert_eq!(differs("16.8", None, "16.6"), None, "RDS moved past the pinned minor");
        assert_eq!(differs("16.4", None, "16"), None);
        let windows = |maintenance: Option<&str>| InstanceSettings {
            maintenance_window: maintenance.map(str::to_owned),
            backup_window: Some("03:00-03:30".into()),
            ..InstanceSettings::default()
        };
        let unset = InstanceSettings { maintenance_window: None, backup_window: None, ..windows(None) };
        assert_eq!(
            windows(Some("sun:05:00-sun:06:00")).differences(&unset),
            [],
            "unset: RDS's choice is no difference"
        );
        let found: Vec<String> =
            windows(None).differences(&windows(Some("sun:05:00-sun:06:00"))).iter().map(ToString::to_string).collect();
        assert_eq!(found, ["maintenance window is unset, configured sun:05:00-sun:06:00"]);
    }

    #[test]
    fn timeouts_fall_back_per_service() {
        let timeouts = Timeouts { create: Some(Duration::from_secs(60)), ..Timeouts::default() };
        assert_eq!(timeouts.budget(Operation::Create, EKS_TIMEOUT), Duration::from_secs(60));
        assert_eq!(timeouts.budget(Operation::Delete, RDS_TIMEOUT), RDS_TIMEOUT);
    }
}
