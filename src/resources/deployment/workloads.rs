//! The Kubernetes objects that run Retool on the deployment's cluster, built from the typed model.
//!
//! Pure functions, so every rule of how Retool runs — which container migrates the database,
//! how each one rolls, where secrets come from — is decided here and unit-tested without a
//! server; the Kubernetes layer only applies what this returns, and the converge code only orders it.
//!
//! What holds for every object: it lives in the deployment's own namespace (named after it),
//! carries the labels `app.kubernetes.io/{name,instance,component,managed-by}` and the ownership
//! annotation `retool.com/owner` (the Kubernetes mirror of the AWS `retool:owner` tag), and
//! selectors use only labels that never change (never the version). No secret value appears
//! anywhere: the containers read secrets from the Kubernetes Secret `retool`, which the External
//! Secrets Operator fills from Secrets Manager through the SecretStore and ExternalSecret built here.
//!
//! Why the jobs-runner is special: it is the one container that runs the database migrations, so
//! it is a singleton replaced with `Recreate` (the old pod is gone before the new one starts), and
//! every other container has `DISABLE_DATABASE_MIGRATIONS=true`.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, EnvVarSource, ExecAction, HTTPGetAction, Lifecycle, LifecycleHandler, Namespace,
    PodSpec, PodTemplateSpec, Probe, ResourceRequirements, SecretKeySelector, SecurityContext, Service, ServiceAccount,
    ServicePort, ServiceSpec, TopologySpreadConstraint,
};
use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicySpec,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::json;

use super::model::{Resources, Sandbox, Temporal, WorkloadSpec};
use super::names::API_SERVICE_ACCOUNT;

/// The `app.kubernetes.io/name` of every object.
pub const APP_NAME: &str = "retool";
/// The `app.kubernetes.io/managed-by` of every object.
pub const MANAGED_BY: &str = "terraform-provider-retool";
/// The annotation naming the resource instance that owns an object (its ownership token).
pub const OWNER_ANNOTATION: &str = "retool.com/owner";
/// The Kubernetes Secret the containers read their secrets from (written by the External Secrets Operator).
pub const SECRET_NAME: &str = "retool";
/// The SecretStore through which the External Secrets Operator reads Secrets Manager.
pub const SECRET_STORE_NAME: &str = "secrets-manager";
/// The service account of every pod but the api's (which has [`API_SERVICE_ACCOUNT`]).
pub const WORKLOAD_SERVICE_ACCOUNT: &str = "retool";
/// The NetworkPolicy that keeps Retool's pods off the instance metadata service.
pub const NETWORK_POLICY_NAME: &str = "deny-instance-metadata";
/// The instance metadata address: node credentials are there, and user code runs in these pods.
pub const INSTANCE_METADATA_CIDR: &str = "169.254.169.254/32";
/// How often the External Secrets Operator re-reads the secrets (a rotated value reaches new pods within it).
pub const SECRET_REFRESH_INTERVAL: &str = "1h";
/// The Redis port of the ElastiCache replication group.
pub const REDIS_PORT: u16 = 6379;

/// Seconds a terminating pod keeps serving before it is signalled, while the Service stops
/// sending it new requests.
pub const PRE_STOP_SECONDS: i64 = 30;
/// Seconds a pod has to stop: the pre-stop delay, then Retool's default query timeout (120 s) for
/// queries in flight, and a margin.
pub const TERMINATION_GRACE_SECONDS: i64 = PRE_STOP_SECONDS + 120 + 30;

/// The Secret key (and variable) of the database password.
pub const POSTGRES_PASSWORD: &str = "POSTGRES_PASSWORD";
/// The Secret key (and variable) of Retool's encryption key.
pub const ENCRYPTION_KEY: &str = "ENCRYPTION_KEY";
/// The Secret key (and variable) of Retool's JWT secret.
pub const JWT_SECRET: &str = "JWT_SECRET";
/// The Secret key (and variable) of the license key.
pub const LICENSE_KEY: &str = "LICENSE_KEY";

/// Every environment variable the provider sets (or EKS sets for service-account roles):
/// `environment` and `environment_secret_arns` may not name one.
pub const MANAGED_ENVIRONMENT: &[&str] = &[
    "NODE_ENV",
    "SERVICE_TYPE",
    "POSTGRES_HOST",
    "POSTGRES_PORT",
    "POSTGRES_DB",
    "POSTGRES_USER",
    POSTGRES_PASSWORD,
    "POSTGRES_SSL_ENABLED",
    ENCRYPTION_KEY,
    JWT_SECRET,
    LICENSE_KEY,
    "BASE_DOMAIN",
    "DISABLE_DATABASE_MIGRATIONS",
    "WORKFLOW_BACKEND_HOST",
    "CODE_EXECUTOR_INGRESS_DOMAIN",
    "WORKFLOW_TEMPORAL_CLUSTER_FRONTEND_HOST",
    "WORKFLOW_TEMPORAL_CLUSTER_FRONTEND_PORT",
    "WORKFLOW_TEMPORAL_CLUSTER_NAMESPACE",
    "WORKFLOW_TEMPORAL_TLS_ENABLED",
    "REDIS_HOST",
    "REDIS_PORT",
    "REDIS_TLS",
    "CONTAINER_UNPRIVILEGED_MODE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
];

/// One of Retool's containers, each its own Deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    /// The singleton that runs migrations and scheduled jobs.
    JobsRunner,
    /// The main backend: web app, API and queries.
    Api,
    /// Retool Workflows' backend.
    WorkflowsBackend,
    /// Retool Workflows' Temporal worker.
    WorkflowsWorker,
    /// The service that runs users' Python and JavaScript.
    CodeExecutor,
}

impl Component {
    /// Every component, the jobs-runner first (the order of an upgrade).
    pub const ALL: [Component; 5] = [
        Component::JobsRunner,
        Component::Api,
        Component::WorkflowsBackend,
        Component::WorkflowsWorker,
        Component::CodeExecutor,
    ];

    /// The name of its Deployment, Service and container, and its `app.kubernetes.io/component`.
    pub fn name(self) -> &'static str {
        match self {
            Component::JobsRunner => "jobs-runner",
            Component::Api => "api",
            Component::WorkflowsBackend => "workflows-backend",
            Component::WorkflowsWorker => "workflows-worker",
            Component::CodeExecutor => "code-executor",
        }
    }

    /// The port it listens on (its health checks are served there).
    pub fn port(self) -> i32 {
        match self {
            Component::Api | Component::WorkflowsBackend => 3000,
            Component::JobsRunner => 3003,
            Component::CodeExecutor => 3004,
            Component::WorkflowsWorker => 3005,
        }
    }

    /// Its `SERVICE_TYPE`; the code executor has none.
    pub fn service_type(self) -> Option<&'static str> {
        match self {
            Component::Api => Some("MAIN_BACKEND,DB_CONNECTOR,DB_SSH_CONNECTOR"),
            Component::JobsRunner => Some("JOBS_RUNNER"),
            Component::WorkflowsBackend => Some("WORKFLOW_BACKEND,DB_CONNECTOR,DB_SSH_CONNECTOR"),
            Component::WorkflowsWorker => Some("WORKFLOW_TEMPORAL_WORKER"),
            Component::CodeExecutor => None,
        }
    }

    /// The image it runs for Retool `version`.
    pub fn image(self, version: &str) -> String {
        format!("{}:{version}", self.repository())
    }

    /// The image repository it runs (tagged with the Retool version).
    pub fn repository(self) -> &'static str {
        match self {
            Component::CodeExecutor => "tryretool/code-executor-service",
            _ => "tryretool/backend",
        }
    }

    /// The path its probes ask.
    fn health_path(self) -> &'static str {
        match self {
            Component::JobsRunner => "/api/checkJobsRunnerHealth",
            _ => "/api/checkHealth",
        }
    }

    /// Whether it is one of Workflows' containers (which run only while Workflows is enabled).
    pub fn is_workflows(self) -> bool {
        matches!(self, Component::WorkflowsBackend | Component::WorkflowsWorker)
    }

    /// How long it may take to become ready after starting: the jobs-runner migrates the
    /// database first, which after a large upgrade takes many minutes.
    fn startup_seconds(self) -> i32 {
        match self {
            Component::JobsRunner => 30 * 60,
            _ => 10 * 60,
        }
    }

    /// The in-cluster URL of its Service in `namespace`,
    /// `http://<name>.<namespace>.svc.cluster.local:<port>`.
    pub fn url(self, namespace: &str) -> String {
        format!("http://{}.{namespace}.svc.cluster.local:{}", self.name(), self.port())
    }
}

impl WorkloadSpec {
    /// Whether `component` runs with this configuration (Workflows' containers only while
    /// Workflows is enabled).
    pub fn runs(&self, component: Component) -> bool {
        self.workflows_enabled || !component.is_workflows()
    }

    /// The replicas and size of `component`; the jobs-runner always has exactly one.
    pub fn sized(&self, component: Component) -> (i32, &Resources) {
        match component {
            Component::JobsRunner => (1, &self.jobs_runner),
            Component::Api => (self.api.replicas, &self.api.resources),
            Component::WorkflowsBackend => (self.workflows_backend.replicas, &self.workflows_backend.resources),
            Component::WorkflowsWorker => (self.workflows_worker.replicas, &self.workflows_worker.resources),
            Component::CodeExecutor => (self.code_executor.replicas, &self.code_executor.resources),
        }
    }
}

/// Everything the objects are built from: the deployment's identity, what AWS made for it, and
/// the typed workload configuration. Secrets are given by ARN only.
#[derive(Debug, Clone)]
pub struct WorkloadInputs<'a> {
    /// The deployment's `name` (the `app.kubernetes.io/instance` label).
    pub deployment: &'a str,
    /// The resource instance's ownership token.
    pub owner: &'a str,
    /// `retool_version`, the image tag.
    pub retool_version: &'a str,
    /// `domain`, which Retool is served at.
    pub domain: &'a str,
    /// The AWS region of Secrets Manager.
    pub region: &'a str,
    /// The RDS endpoint's host.
    pub database_host: &'a str,
    /// The RDS endpoint's port.
    pub database_port: u16,
    /// The database Retool uses (`aws::rds::DATABASE_NAME`).
    pub database_name: &'a str,
    /// Its user (`aws::rds::MASTER_USERNAME`).
    pub database_user: &'a str,
    /// The RDS-managed master user secret (JSON with `username` and `password`).
    pub database_secret_arn: &'a str,
    /// The secret holding ENCRYPTION_KEY (a plain value, as is JWT_SECRET's).
    pub encryption_key_secret_arn: &'a str,
    /// The secret holding JWT_SECRET.
    pub jwt_secret_arn: &'a str,
    /// The customer's license key secret, when configured.
    pub license_key_secret_arn: Option<&'a str>,
    /// The role the api pods assume for Retool Storage, when storage is enabled.
    pub storage_role_arn: Option<&'a str>,
    /// The cache's primary endpoint host, when the cache is enabled.
    pub cache_endpoint: Option<&'a str>,
    /// The workload configuration.
    pub spec: &'a WorkloadSpec,
}

/// Every object of the Retool workloads, in an order that can be applied front to back.
#[derive(Debug, Clone)]
pub struct Workloads {
    /// The deployment's namespace, named after it.
    pub namespace: Namespace,
    /// The api's (which may carry the storage role) and the other pods'.
    pub service_accounts: Vec<ServiceAccount>,
    /// ClusterIP Services of the api, the workflows backend and the code executor.
    pub services: Vec<Service>,
    /// The jobs-runner first; Workflows' containers only while Workflows is enabled.
    pub deployments: Vec<(Component, Deployment)>,
    /// The api's budget (`policy/v1`).
    pub disruption_budget: PodDisruptionBudget,
    /// Keeps every Retool pod off the instance metadata address.
    pub network_policy: NetworkPolicy,
    /// The External Secrets Operator's `SecretStore` (`external-secrets.io/v1`).
    pub secret_store: serde_json::Value,
    /// The `ExternalSecret`s that fill the Secret [`SECRET_NAME`].
    pub external_secrets: Vec<serde_json::Value>,
}

/// The labels a selector matches on: stable for the life of the deployment.
fn selector_labels(deployment: &str, component: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_owned(), APP_NAME.to_owned()),
        ("app.kubernetes.io/instance".to_owned(), deployment.to_owned()),
        ("app.kubernetes.io/component".to_owned(), component.to_owned()),
    ])
}

/// The labels of every object.
fn labels(deployment: &str, component: &str) -> BTreeMap<String, String> {
    let mut labels = selector_labels(deployment, component);
    labels.insert("app.kubernetes.io/managed-by".to_owned(), MANAGED_BY.to_owned());
    labels
}

impl WorkloadInputs<'_> {
    fn metadata(&self, name: &str, component: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(self.deployment.to_owned()),
            labels: Some(labels(self.deployment, component)),
            annotations: Some(BTreeMap::from([(OWNER_ANNOTATION.to_owned(), self.owner.to_owned())])),
            ..ObjectMeta::default()
        }
    }

    fn image(&self, component: Component) -> String {
        component.image(self.retool_version)
    }

    /// The components that run with this configuration, the jobs-runner first.
    fn components(&self) -> impl Iterator<Item = Component> + '_ {
        Component::ALL.into_iter().filter(|component| self.spec.runs(*component))
    }
}

/// A plain variable.
fn plain(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar { name: name.to_owned(), value: Some(value.into()), value_from: None }
}

/// A variable read from the Secret [`SECRET_NAME`].
fn secret(name: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: None,
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: SECRET_NAME.to_owned(),
                key: name.to_owned(),
                optional: None,
            }),
            ..EnvVarSource::default()
        }),
    }
}

/// The environment of `component`.
fn environment(inputs: &WorkloadInputs, component: Component) -> Vec<EnvVar> {
    let spec = inputs.spec;
    let mut env = vec![plain("NODE_ENV", "production")];
    if component == Component::CodeExecutor {
        // It runs users' code: none of Retool's secrets, and no database.
        env.push(plain("DISABLE_DATABASE_MIGRATIONS", "true"));
        if spec.sandbox == Sandbox::Unsandboxed {
            env.push(plain("CONTAINER_UNPRIVILEGED_MODE", "true"));
        }
        env.extend(spec.environment.iter().map(|(name, value)| plain(name, value)));
        return env;
    }
    if let Some(service_type) = component.service_type() {
        env.push(plain("SERVICE_TYPE", service_type));
    }
    env.extend([
        plain("POSTGRES_HOST", inputs.database_host),
        plain("POSTGRES_PORT", inputs.database_port.to_string()),
        plain("POSTGRES_DB", inputs.database_name),
        plain("POSTGRES_USER", inputs.database_user),
        plain("POSTGRES_SSL_ENABLED", "true"),
        secret(POSTGRES_PASSWORD),
        secret(ENCRYPTION_KEY),
        secret(JWT_SECRET),
    ]);
    if inputs.license_key_secret_arn.is_some() {
        env.push(secret(LICENSE_KEY));
    }
    env.push(plain("BASE_DOMAIN", format!("https://{}", inputs.domain)));
    if component != Component::JobsRunner {
        env.push(plain("DISABLE_DATABASE_MIGRATIONS", "true"));
    }
    if inputs.spec.workflows_enabled {
        env.push(plain("WORKFLOW_BACKEND_HOST", Component::WorkflowsBackend.url(inputs.deployment)));
    }
    env.push(plain("CODE_EXECUTOR_INGRESS_DOMAIN", Component::CodeExecutor.url(inputs.deployment)));
    if let (true, Temporal::External { host, port, namespace, tls_enabled }) =
        (inputs.spec.workflows_enabled, &spec.temporal)
    {
        env.extend([
            plain("WORKFLOW_TEMPORAL_CLUSTER_FRONTEND_HOST", host.as_str()),
            plain("WORKFLOW_TEMPORAL_CLUSTER_FRONTEND_PORT", port.to_string()),
            plain("WORKFLOW_TEMPORAL_CLUSTER_NAMESPACE", namespace.as_str()),
            plain("WORKFLOW_TEMPORAL_TLS_ENABLED", tls_enabled.to_string()),
        ]);
    }
    if let Some(host) = inputs.cache_endpoint {
        env.extend([
            plain("REDIS_HOST", host),
            plain("REDIS_PORT", REDIS_PORT.to_string()),
            plain("REDIS_TLS", "true"),
        ]);
    }
    env.extend(spec.environment.iter().map(|(name, value)| plain(name, value)));
    env.extend(spec.environment_secret_arns.keys().map(|name| secret(name)));
    env
}

/// The resources of a container: CPU requested, memory requested and limited.
fn resources(resources: &Resources) -> ResourceRequirements {
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_owned(), Quantity(resources.cpu.clone())),
            ("memory".to_owned(), Quantity(resources.memory.clone())),
        ])),
        limits: Some(BTreeMap::from([("memory".to_owned(), Quantity(resources.memory.clone()))])),
        ..ResourceRequirements::default()
    }
}

fn probe(component: Component, period: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(component.health_path().to_owned()),
            port: IntOrString::Int(component.port()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(10),
        failure_threshold: Some(failures),
        ..Probe::default()
    }
}

fn container(inputs: &WorkloadInputs, component: Component, sized: &Resources) -> Container {
    let privileged = component == Component::CodeExecutor && inputs.spec.sandbox == Sandbox::Privileged;
    Container {
        name: component.name().to_owned(),
        image: Some(inputs.image(component)),
        image_pull_policy: Some("IfNotPresent".to_owned()),
        env: Some(environment(inputs, component)),
        ports: Some(vec![ContainerPort {
            name: Some("http".to_owned()),
            container_port: component.port(),
            protocol: Some("TCP".to_owned()),
            ..ContainerPort::default()
        }]),
        resources: Some(resources(sized)),
        // Ready only while healthy; restarted after a minute of failures; a generous start.
        readiness_probe: Some(probe(component, 10, 3)),
        liveness_probe: Some(probe(component, 20, 3)),
        startup_probe: Some(probe(component, 10, component.startup_seconds() / 10)),
        lifecycle: Some(Lifecycle {
            pre_stop: Some(LifecycleHandler {
                exec: Some(ExecAction { command: Some(vec!["sleep".to_owned(), PRE_STOP_SECONDS.to_string()]) }),
                ..LifecycleHandler::default()
            }),
            ..Lifecycle::default()
        }),
        security_context: (component == Component::CodeExecutor)
            .then(|| SecurityContext { privileged: Some(privileged), ..SecurityContext::default() }),
        ..Container::default()
    }
}

fn deployment(inputs: &WorkloadInputs, component: Component) -> Deployment {
    let (replicas, sized) = inputs.spec.sized(component);
    let selector = selector_labels(inputs.deployment, component.name());
    let strategy = if component == Component::JobsRunner {
        DeploymentStrategy { type_: Some("Recreate".to_owned()), rolling_update: None }
    } else {
        DeploymentStrategy {
            type_: Some("RollingUpdate".to_owned()),
            rolling_update: Some(RollingUpdateDeployment {
                max_surge: Some(IntOrString::Int(1)),
                max_unavailable: Some(IntOrString::Int(0)),
            }),
        }
    };
    let mut pod_labels = labels(inputs.deployment, component.name());
    pod_labels.insert("app.kubernetes.io/version".to_owned(), inputs.retool_version.to_owned());
    let mut metadata = inputs.metadata(component.name(), component.name());
    if let Some(labels) = metadata.labels.as_mut() {
        labels.insert("app.kubernetes.io/version".to_owned(), inputs.retool_version.to_owned());
    }
    let service_account = if component == Component::Api { API_SERVICE_ACCOUNT } else { WORKLOAD_SERVICE_ACCOUNT };
    Deployment {
        metadata,
        spec: Some(DeploymentSpec {
            replicas: Some(replicas),
            selector: LabelSelector { match_labels: Some(selector.clone()), match_expressions: None },
            strategy: Some(strategy),
            revision_history_limit: Some(3),
            // Past it, the rollout reports ProgressDeadlineExceeded and the apply fails with the reason.
            progress_deadline_seconds: Some(component.startup_seconds() + 5 * 60),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(pod_labels), ..ObjectMeta::default() }),
                spec: Some(PodSpec {
                    service_account_name: Some(service_account.to_owned()),
                    // Retool never calls the Kubernetes API (the role token EKS projects is separate).
                    automount_service_account_token: Some(false),
                    node_selector: Some(BTreeMap::from([("kubernetes.io/arch".to_owned(), "amd64".to_owned())])),
                    topology_spread_constraints: Some(vec![TopologySpreadConstraint {
                        max_skew: 1,
                        topology_key: "kubernetes.io/hostname".to_owned(),
                        when_unsatisfiable: "ScheduleAnyway".to_owned(),
                        label_selector: Some(LabelSelector { match_labels: Some(selector), match_expressions: None }),
                        ..TopologySpreadConstraint::default()
                    }]),
                    termination_grace_period_seconds: Some(TERMINATION_GRACE_SECONDS),
                    containers: vec![container(inputs, component, sized)],
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        }),
        status: None,
    }
}

fn service(inputs: &WorkloadInputs, component: Component) -> Service {
    Service {
        metadata: inputs.metadata(component.name(), component.name()),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_owned()),
            selector: Some(selector_labels(inputs.deployment, component.name())),
            ports: Some(vec![ServicePort {
                name: Some("http".to_owned()),
                port: component.port(),
                target_port: Some(IntOrString::String("http".to_owned())),
                protocol: Some("TCP".to_owned()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        status: None,
    }
}

fn service_accounts(inputs: &WorkloadInputs) -> Vec<ServiceAccount> {
    let account = |name: &str, component: &str, role: Option<&str>| {
        let mut metadata = inputs.metadata(name, component);
        if let (Some(role), Some(annotations)) = (role, metadata.annotations.as_mut()) {
            annotations.insert("eks.amazonaws.com/role-arn".to_owned(), role.to_owned());
        }
        ServiceAccount { metadata, automount_service_account_token: Some(false), ..ServiceAccount::default() }
    };
    vec![
        account(API_SERVICE_ACCOUNT, Component::Api.name(), inputs.storage_role_arn),
        account(WORKLOAD_SERVICE_ACCOUNT, "workloads", None),
    ]
}

fn network_policy(inputs: &WorkloadInputs) -> NetworkPolicy {
    let every_retool_pod = BTreeMap::from([
        ("app.kubernetes.io/name".to_owned(), APP_NAME.to_owned()),
        ("app.kubernetes.io/instance".to_owned(), inputs.deployment.to_owned()),
    ]);
    NetworkPolicy {
        metadata: inputs.metadata(NETWORK_POLICY_NAME, "network-policy"),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector { match_labels: Some(every_retool_pod), match_expressions: None }),
            policy_types: Some(vec!["Ingress".to_owned(), "Egress".to_owned()]),
            ingress: Some(vec![NetworkPolicyIngressRule::default()]),
            egress: Some(vec![NetworkPolicyEgressRule {
                to: Some(vec![
                    // Pods anywhere in the cluster (DNS, Retool's own services) …
                    NetworkPolicyPeer {
                        namespace_selector: Some(LabelSelector::default()),
                        ..NetworkPolicyPeer::default()
                    },
                    // … and every address outside it but the instance metadata service.
                    NetworkPolicyPeer {
                        ip_block: Some(IPBlock {
                            cidr: "0.0.0.0/0".to_owned(),
                            except: Some(vec![INSTANCE_METADATA_CIDR.to_owned()]),
                        }),
                        ..NetworkPolicyPeer::default()
                    },
                ]),
                ports: None,
            }]),
        }),
    }
}

fn disruption_budget(inputs: &WorkloadInputs) -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata: inputs.metadata(Component::Api.name(), Component::Api.name()),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(selector_labels(inputs.deployment, Component::Api.name())),
                match_expressions: None,
            }),
            ..PodDisruptionBudgetSpec::default()
        }),
        status: None,
    }
}

/// The External Secrets objects: a SecretStore on Secrets Manager in the region (authenticated
/// as the operator's own service-account role, so no `auth` block), and one ExternalSecret that
/// writes every secret the containers read into the Secret [`SECRET_NAME`].
fn external_secrets(inputs: &WorkloadInputs) -> (serde_json::Value, Vec<serde_json::Value>) {
    let metadata = |name: &str| serde_json::to_value(inputs.metadata(name, "secrets")).unwrap_or_default();
    let store = json!({
        "apiVersion": "external-secrets.io/v1",
        "kind": "SecretStore",
        "metadata": metadata(SECRET_STORE_NAME),
        "spec": {"provider": {"aws": {"service": "SecretsManager", "region": inputs.region}}},
    });
    let entry = |key: &str, arn: &str, property: Option<&str>| {
        let mut remote = json!({"key": arn});
        if let (Some(property), Some(remote)) = (property, remote.as_object_mut()) {
            remote.insert("property".to_owned(), json!(property));
        }
        json!({"secretKey": key, "remoteRef": remote})
    };
    let mut data = vec![
        entry(POSTGRES_PASSWORD, inputs.database_secret_arn, Some("password")),
        entry(ENCRYPTION_KEY, inputs.encryption_key_secret_arn, None),
        entry(JWT_SECRET, inputs.jwt_secret_arn, None),
    ];
    if let Some(arn) = inputs.license_key_secret_arn {
        data.push(entry(LICENSE_KEY, arn, None));
    }
    data.extend(inputs.spec.environment_secret_arns.iter().map(|(name, arn)| entry(name, arn, None)));
    let external = json!({
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": metadata(SECRET_NAME),
        "spec": {
            "refreshInterval": SECRET_REFRESH_INTERVAL,
            "secretStoreRef": {"name": SECRET_STORE_NAME, "kind": "SecretStore"},
            "target": {"name": SECRET_NAME, "creationPolicy": "Owner"},
            "data": data,
        },
    });
    (store, vec![external])
}

/// Every object of the Retool workloads for `inputs`.
pub fn workloads(inputs: &WorkloadInputs) -> Workloads {
    let mut namespace_metadata = inputs.metadata(inputs.deployment, "namespace");
    namespace_metadata.namespace = None;
    let (secret_store, external_secrets) = external_secrets(inputs);
    Workloads {
        namespace: Namespace { metadata: namespace_metadata, ..Namespace::default() },
        service_accounts: service_accounts(inputs),
        services: inputs
            .components()
            .filter(|component| {
                matches!(component, Component::Api | Component::WorkflowsBackend | Component::CodeExecutor)
            })
            .map(|component| service(inputs, component))
            .collect(),
        deployments: inputs.components().map(|component| (component, deployment(inputs, component))).collect(),
        disruption_budget: disruption_budget(inputs),
        network_policy: network_policy(inputs),
        secret_store,
        external_secrets,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::deployment::model::Scaled;

    const SECRET_ARNS: [&str; 5] = [
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1234-AbCdEf",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:retool/acme/encryption-key-AbC123",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:retool/acme/jwt-secret-AbC123",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:license-AbC123",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:scim-AbC123",
    ];

    fn spec() -> WorkloadSpec {
        WorkloadSpec {
            environment: BTreeMap::from([("DBCONNECTOR_QUERY_TIMEOUT_MS".to_owned(), "300000".to_owned())]),
            environment_secret_arns: BTreeMap::from([("SCIM_AUTH_TOKEN".to_owned(), SECRET_ARNS[4].to_owned())]),
            ..WorkloadSpec::default()
        }
    }

    fn inputs(spec: &WorkloadSpec) -> WorkloadInputs<'_> {
        WorkloadInputs {
            deployment: "acme",
            owner: "0123456789abcdef0123456789abcdef",
            retool_version: "3.300.0-stable",
            domain: "retool.acme.com",
            region: "us-east-1",
            database_host: "acme-postgres.abc.us-east-1.rds.amazonaws.com",
            database_port: 5432,
            database_name: "retool",
            database_user: "retool",
            database_secret_arn: SECRET_ARNS[0],
            encryption_key_secret_arn: SECRET_ARNS[1],
            jwt_secret_arn: SECRET_ARNS[2],
            license_key_secret_arn: Some(SECRET_ARNS[3]),
            storage_role_arn: Some("arn:aws:iam::123456789012:role/acme-storage"),
            cache_endpoint: Some("master.acme-cache.abc.use1.cache.amazonaws.com"),
            spec,
        }
    }

    fn pod(deployment: &Deployment) -> &PodSpec {
        deployment.spec.as_ref().and_then(|spec| spec.template.spec.as_ref()).expect("pod spec")
    }

    fn env(deployment: &Deployment) -> BTreeMap<String, EnvVar> {
        let container = &pod(deployment).containers[0];
        container.env.clone().unwrap_or_default().into_iter().map(|var| (var.name.clone(), var)).collect()
    }

    fn value<'a>(env: &'a BTreeMap<String, EnvVar>, name: &str) -> Option<&'a str> {
        env.get(name).and_then(|var| var.value.as_deref())
    }

    fn find(workloads: &Workloads, component: Component) -> &Deployment {
        workloads.deployments.iter().find(|(c, _)| *c == component).map(|(_, d)| d).expect("deployment")
    }

    fn rendered(workloads: &Workloads) -> Vec<serde_json::Value> {
        let mut all = vec![serde_json::to_value(&workloads.namespace).unwrap()];
        all.extend(workloads.service_accounts.iter().map(|o| serde_json::to_value(o).unwrap()));
        all.extend(workloads.services.iter().map(|o| serde_json::to_value(o).unwrap()));
        all.extend(workloads.deployments.iter().map(|(_, o)| serde_json::to_value(o).unwrap()));
        all.push(serde_json::to_value(&workloads.disruption_budget).unwrap());
        all.push(serde_json::to_value(&workloads.network_policy).unwrap());
        all.push(workloads.secret_store.clone());
        all.extend(workloads.external_secrets.iter().cloned());
        all
    }

    #[test]
    fn five_deployments_jobs_runner_first_with_their_images_service_types_and_ports() {
        let spec = spec();
        let built = workloads(&inputs(&spec));
        let order: Vec<Component> = built.deployments.iter().map(|(c, _)| *c).collect();
        assert_eq!(order, Component::ALL);
        for (component, deployment) in &built.deployments {
            let container = &pod(deployment).containers[0];
            let image = container.image.as_deref().unwrap();
            let expected = match component {
                Component::CodeExecutor => "tryretool/code-executor-service:3.300.0-stable",
                _ => "tryretool/backend:3.300.0-stable",
            };
            assert_eq!(image, expected, "{component:?}");
            let env = env(deployment);
            assert_eq!(value(&env, "SERVICE_TYPE"), component.service_type(), "{component:?}");
            let port = container.ports.as_ref().unwrap()[0].container_port;
            assert_eq!(port, component.port());
            let readiness = container.readiness_probe.as_ref().and_then(|p| p.http_get.as_ref()).unwrap();
            assert_eq!(readiness.port, IntOrString::Int(port), "{component:?} probes its own port");
            let path = readiness.path.as_deref().unwrap();
            if *component == Component::JobsRunner {
                assert_eq!((path, port), ("/api/checkJobsRunnerHealth", 3003));
            } else {
                assert_eq!(path, "/api/checkHealth");
            }
        }
        let ports: Vec<i32> = Component::ALL.iter().map(|c| c.port()).collect();
        assert_eq!(ports, [3003, 3000, 3000, 3005, 3004]);
    }

    #[test]
    fn every_container_but_the_jobs_runner_disables_migrations() {
        let spec = spec();
        let built = workloads(&inputs(&spec));
        for (component, deployment) in &built.deployments {
            let env = env(deployment);
            let disabled = value(&env, "DISABLE_DATABASE_MIGRATIONS");
            let expected = (*component != Component::JobsRunner).then_some("true");
            assert_eq!(disabled, expected, "{component:?}");
        }
    }

    #[test]
    fn the_jobs_runner_is_a_recreated_singleton_and_the_others_surge_without_unavailability() {
        let spec = WorkloadSpec { api: Scaled { replicas: 4, ..WorkloadSpec::default().api }, ..spec() };
        let built = workloads(&inputs(&spec));
        for (component, deployment) in &built.deployments {
            let spec = deployment.spec.as_ref().unwrap();
            let strategy = spec.strategy.as_ref().unwrap();
            if *component == Component::JobsRunner {
                assert_eq!(spec.replicas, Some(1));
                assert_eq!(strategy.type_.as_deref(), Some("Recreate"));
                assert!(strategy.rolling_update.is_none(), "the server refuses rollingUpdate under Recreate");
            } else {
                assert_eq!(strategy.type_.as_deref(), Some("RollingUpdate"));
                let rolling = strategy.rolling_update.as_ref().unwrap();
                assert_eq!(rolling.max_surge, Some(IntOrString::Int(1)));
                assert_eq!(rolling.max_unavailable, Some(IntOrString::Int(0)));
            }
        }
        assert_eq!(find(&built, Component::Api).spec.as_ref().unwrap().replicas, Some(4));
    }

    #[test]
    fn a_replicas_or_resources_change_of_one_container_changes_only_its_deployment() {
        let before_spec = spec();
        let before = workloads(&inputs(&before_spec));
        let changes = [
            (Component::Api, WorkloadSpec { api: Scaled { replicas: 3, ..before_spec.api.clone() }, ..spec() }),
            (
                Component::JobsRunner,
                WorkloadSpec { jobs_runner: Resources { cpu: "1500m".into(), memory: "3Gi".into() }, ..spec() },
            ),
            (
                Component::WorkflowsWorker,
                WorkloadSpec {
                    workflows_worker: Scaled { replicas: 4, ..before_spec.workflows_worker.clone() },
                    ..spec()
                },
            ),
            (
                Component::CodeExecutor,
                WorkloadSpec {
                    code_executor: Scaled {
                        resources: Resources { cpu: "2".into(), memory: "2Gi".into() },
                        ..before_spec.code_executor.clone()
                    },
                    ..spec()
                },
            ),
        ];
        for (changed, after_spec) in changes {
            let after = workloads(&inputs(&after_spec));
            for ((component, was), (_, now)) in before.deployments.iter().zip(&after.deployments) {
                assert_eq!(was != now, *component == changed, "{changed:?} changed; {component:?}");
            }
            assert_eq!(rendered(&before).len(), rendered(&after).len());
            assert_eq!(before.services, after.services);
            assert_eq!(before.external_secrets, after.external_secrets);
        }
        let container = &pod(find(&before, Component::Api)).containers[0];
        let resources = container.resources.as_ref().unwrap();
        let requests = resources.requests.as_ref().unwrap();
        assert_eq!(requests.get("cpu"), Some(&Quantity("2".into())));
        assert_eq!(requests.get("memory"), Some(&Quantity("4Gi".into())));
        assert_eq!(resources.limits.as_ref().unwrap().get("memory"), Some(&Quantity("4Gi".into())));
        assert_eq!(resources.limits.as_ref().unwrap().get("cpu"), None, "CPU may burst");
    }

    #[test]
    fn temporal_settings_only_for_an_external_temporal() {
        let temporal_vars = |spec: &WorkloadSpec| {
            let built = workloads(&inputs(spec));
            built
                .deployments
                .iter()
                .map(|(component, deployment)| {
                    let env = env(deployment);
                    let found: Vec<String> =
                        env.keys().filter(|name| name.starts_with("WORKFLOW_TEMPORAL_")).cloned().collect();
                    (*component, found, value(&env, "WORKFLOW_TEMPORAL_CLUSTER_FRONTEND_HOST").map(str::to_owned))
                })
                .collect::<Vec<_>>()
        };
        assert!(temporal_vars(&spec()).iter().all(|(_, found, _)| found.is_empty()), "Retool-managed needs none");
        let external = WorkloadSpec {
            temporal: Temporal::External {
                host: "temporal.example.internal".into(),
                port: 7233,
                namespace: "workflows".into(),
                tls_enabled: true,
            },
            ..spec()
        };
        for (component, found, host) in temporal_vars(&external) {
            if component == Component::CodeExecutor {
                assert!(found.is_empty());
            } else {
                assert_eq!(found.len(), 4, "{component:?}: {found:?}");
                assert_eq!(host.as_deref(), Some("temporal.example.internal"));
            }
        }
        let env = env(find(&workloads(&inputs(&external)), Component::WorkflowsWorker));
        assert_eq!(value(&env, "WORKFLOW_TEMPORAL_CLUSTER_FRONTEND_PORT"), Some("7233"));
        assert_eq!(value(&env, "WORKFLOW_TEMPORAL_CLUSTER_NAMESPACE"), Some("workflows"));
        assert_eq!(value(&env, "WORKFLOW_TEMPORAL_TLS_ENABLED"), Some("true"));
    }

    #[test]
    fn workflows_containers_run_only_while_workflows_is_enabled() {
        let disabled = WorkloadSpec { workflows_enabled: false, ..spec() };
        let built = workloads(&inputs(&disabled));
        let order: Vec<Component> = built.deployments.iter().map(|(c, _)| *c).collect();
        assert_eq!(order, [Component::JobsRunner, Component::Api, Component::CodeExecutor]);
        let services: Vec<_> = built.services.iter().filter_map(|s| s.metadata.name.clone()).collect();
        assert_eq!(services, ["api", "code-executor"]);
        let api = env(find(&built, Component::Api));
        assert_eq!(value(&api, "WORKFLOW_BACKEND_HOST"), None);
        let enabled = workloads(&inputs(&spec()));
        let services: Vec<_> = enabled.services.iter().filter_map(|s| s.metadata.name.clone()).collect();
        assert_eq!(services, ["api", "workflows-backend", "code-executor"]);
    }

    #[test]
    fn in_cluster_urls_and_base_domain_carry_their_scheme() {
        let spec = spec();
        let env = env(find(&workloads(&inputs(&spec)), Component::Api));
        assert_eq!(value(&env, "BASE_DOMAIN"), Some("https://retool.acme.com"));
        assert_eq!(value(&env, "WORKFLOW_BACKEND_HOST"), Some("http://workflows-backend.acme.svc.cluster.local:3000"));
        assert_eq!(
            value(&env, "CODE_EXECUTOR_INGRESS_DOMAIN"),
            Some("http://code-executor.acme.svc.cluster.local:3004")
        );
        assert_eq!(value(&env, "POSTGRES_SSL_ENABLED"), Some("true"));
        assert_eq!(value(&env, "POSTGRES_HOST"), Some("acme-postgres.abc.us-east-1.rds.amazonaws.com"));
        assert_eq!(value(&env, "POSTGRES_PORT"), Some("5432"));
        assert_eq!(value(&env, "REDIS_HOST"), Some("master.acme-cache.abc.use1.cache.amazonaws.com"));
        assert_eq!(value(&env, "DBCONNECTOR_QUERY_TIMEOUT_MS"), Some("300000"), "the user's environment");
    }

    #[test]
    fn secrets_are_read_from_the_secret_by_reference_and_never_appear_as_values() {
        let spec = spec();
        let built = workloads(&inputs(&spec));
        let text = serde_json::to_string(&rendered(&built)).unwrap();
        // The ARNs appear only in the ExternalSecret; no variable has a value that is a secret.
        for (component, deployment) in &built.deployments {
            let env = env(deployment);
            for var in env.values() {
                let value = var.value.as_deref().unwrap_or_default();
                assert!(!SECRET_ARNS.iter().any(|arn| value.contains(arn)), "{component:?} {}", var.name);
            }
            let secret_keys: Vec<&str> = env
                .values()
                .filter_map(|var| var.value_from.as_ref()?.secret_key_ref.as_ref())
                .inspect(|selector| assert_eq!(selector.name, SECRET_NAME))
                .map(|selector| selector.key.as_str())
                .collect();
            let expected: &[&str] = if *component == Component::CodeExecutor {
                &[]
            } else {
                &[ENCRYPTION_KEY, JWT_SECRET, LICENSE_KEY, POSTGRES_PASSWORD, "SCIM_AUTH_TOKEN"]
            };
            assert_eq!(secret_keys, expected, "{component:?}");
        }
        let external = &built.external_secrets[0];
        assert_eq!(external["spec"]["target"]["name"], SECRET_NAME);
        let data = external["spec"]["data"].as_array().unwrap();
        let pairs: Vec<(String, String)> = data
            .iter()
            .map(|entry| {
                (
                    entry["secretKey"].as_str().unwrap().to_owned(),
                    entry["remoteRef"]["key"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            pairs,
            [
                (POSTGRES_PASSWORD, SECRET_ARNS[0]),
                (ENCRYPTION_KEY, SECRET_ARNS[1]),
                (JWT_SECRET, SECRET_ARNS[2]),
                (LICENSE_KEY, SECRET_ARNS[3]),
                ("SCIM_AUTH_TOKEN", SECRET_ARNS[4])
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        assert_eq!(data[0]["remoteRef"]["property"], "password", "the RDS master secret is JSON");
        assert!(data[1]["remoteRef"].get("property").is_none());
        assert_eq!(built.secret_store["apiVersion"], "external-secrets.io/v1");
        assert_eq!(built.secret_store["spec"]["provider"]["aws"]["region"], "us-east-1");
        assert!(built.secret_store["spec"]["provider"]["aws"].get("auth").is_none(), "the operator's own role");
        assert!(!text.contains("\"kind\":\"Secret\""), "the Secret itself is the operator's to write");
        let without_license = WorkloadInputs { license_key_secret_arn: None, ..inputs(&spec) };
        let built = workloads(&without_license);
        assert!(!env(find(&built, Component::Api)).contains_key(LICENSE_KEY));
        assert!(!serde_json::to_string(&built.external_secrets).unwrap().contains(LICENSE_KEY));
    }

    #[test]
    fn labels_are_everywhere_and_selectors_match_templates_on_stable_labels() {
        let spec = spec();
        let built = workloads(&inputs(&spec));
        for object in rendered(&built) {
            let metadata = &object["metadata"];
            let kind = object["kind"].as_str().unwrap();
            for (label, expected) in [
                ("app.kubernetes.io/name", Some("retool")),
                ("app.kubernetes.io/instance", Some("acme")),
                ("app.kubernetes.io/managed-by", Some(MANAGED_BY)),
            ] {
                assert_eq!(metadata["labels"][label].as_str(), expected, "{kind} {label}");
            }
            assert!(metadata["labels"]["app.kubernetes.io/component"].is_string(), "{kind}");
            assert_eq!(metadata["annotations"][OWNER_ANNOTATION], "0123456789abcdef0123456789abcdef", "{kind}");
            if kind != "Namespace" {
                assert_eq!(metadata["namespace"], "acme", "{kind} in the deployment's namespace");
            }
        }
        for (component, deployment) in &built.deployments {
            let spec = deployment.spec.as_ref().unwrap();
            let selector = spec.selector.match_labels.as_ref().unwrap();
            let template = spec.template.metadata.as_ref().and_then(|m| m.labels.as_ref()).unwrap();
            assert!(selector.iter().all(|(k, v)| template.get(k) == Some(v)), "{component:?}");
            assert!(!selector.contains_key("app.kubernetes.io/version"), "{component:?}");
            assert_eq!(selector.get("app.kubernetes.io/component").map(String::as_str), Some(component.name()));
        }
        let api_selector = find(&built, Component::Api).spec.as_ref().unwrap().selector.clone();
        assert_eq!(built.disruption_budget.spec.as_ref().unwrap().selector.as_ref(), Some(&api_selector));
        for service in &built.services {
            let name = service.metadata.name.clone().unwrap();
            let pods = built.deployments.iter().find(|(c, _)| c.name() == name).map(|(_, d)| d).unwrap();
            let template = pods.spec.as_ref().unwrap().template.metadata.as_ref().unwrap().labels.as_ref().unwrap();
            let selector = service.spec.as_ref().unwrap().selector.as_ref().unwrap();
            assert!(selector.iter().all(|(k, v)| template.get(k) == Some(v)), "{name}");
        }
        // A new version changes the pods, never a selector.
        let upgraded = workloads(&WorkloadInputs { retool_version: "3.310.0-stable", ..inputs(&spec) });
        for ((_, was), (_, now)) in built.deployments.iter().zip(&upgraded.deployments) {
            assert_eq!(was.spec.as_ref().unwrap().selector, now.spec.as_ref().unwrap().selector);
        }
    }

    #[test]
    fn pods_are_amd64_spread_drained_slowly_and_only_the_sandbox_is_privileged() {
        let sandboxed = spec();
        let unsandboxed = WorkloadSpec { sandbox: Sandbox::Unsandboxed, ..spec() };
        for (spec, privileged) in [(&sandboxed, true), (&unsandboxed, false)] {
            let built = workloads(&inputs(spec));
            for (component, deployment) in &built.deployments {
                let pod = pod(deployment);
                assert_eq!(
                    pod.node_selector.as_ref().unwrap().get("kubernetes.io/arch").map(String::as_str),
                    Some("amd64")
                );
                let spread = &pod.topology_spread_constraints.as_ref().unwrap()[0];
                assert_eq!(
                    (spread.topology_key.as_str(), spread.when_unsatisfiable.as_str()),
                    ("kubernetes.io/hostname", "ScheduleAnyway")
                );
                let grace = pod.termination_grace_period_seconds.unwrap();
                assert!(grace >= PRE_STOP_SECONDS + 120, "{component:?}: in-flight queries need time");
                let container = &pod.containers[0];
                let pre_stop = container.lifecycle.as_ref().and_then(|l| l.pre_stop.as_ref()).unwrap();
                assert_eq!(pre_stop.exec.as_ref().unwrap().command.as_ref().unwrap(), &["sleep", "30"]);
                let is_privileged = container.security_context.as_ref().and_then(|s| s.privileged) == Some(true);
                assert_eq!(is_privileged, *component == Component::CodeExecutor && privileged, "{component:?}");
                let env = env(deployment);
                let unprivileged_mode = value(&env, "CONTAINER_UNPRIVILEGED_MODE");
                assert_eq!(unprivileged_mode.is_some(), *component == Component::CodeExecutor && !privileged);
            }
        }
    }

    #[test]
    fn the_api_alone_carries_the_storage_role_and_has_a_disruption_budget() {
        let spec = spec();
        let built = workloads(&inputs(&spec));
        let api =
            built.service_accounts.iter().find(|a| a.metadata.name.as_deref() == Some(API_SERVICE_ACCOUNT)).unwrap();
        let annotations = api.metadata.annotations.as_ref().unwrap();
        assert_eq!(
            annotations.get("eks.amazonaws.com/role-arn").map(String::as_str),
            Some("arn:aws:iam::123456789012:role/acme-storage")
        );
        assert_eq!(pod(find(&built, Component::Api)).service_account_name.as_deref(), Some(API_SERVICE_ACCOUNT));
        assert_eq!(
            pod(find(&built, Component::JobsRunner)).service_account_name.as_deref(),
            Some(WORKLOAD_SERVICE_ACCOUNT)
        );
        let budget = serde_json::to_value(&built.disruption_budget).unwrap();
        assert_eq!(budget["apiVersion"], "policy/v1");
        assert_eq!(budget["spec"]["maxUnavailable"], 1);
        let without_storage = workloads(&WorkloadInputs { storage_role_arn: None, ..inputs(&spec) });
        assert!(without_storage.service_accounts.iter().all(|a| {
            a.metadata.annotations.as_ref().is_none_or(|n| !n.contains_key("eks.amazonaws.com/role-arn"))
        }));
    }

    #[test]
    fn the_network_policy_keeps_pods_off_instance_metadata_and_allows_the_rest() {
        let spec = spec();
        let policy = serde_json::to_value(workloads(&inputs(&spec)).network_policy).unwrap();
        assert_eq!(policy["apiVersion"], "networking.k8s.io/v1");
        assert_eq!(policy["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
        assert_eq!(policy["spec"]["ingress"], json!([{}]), "ingress allowed");
        let peers = policy["spec"]["egress"][0]["to"].as_array().unwrap();
        let block = peers.iter().find_map(|peer| peer.get("ipBlock")).unwrap();
        assert_eq!(block, &json!({"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}));
        assert_eq!(policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/instance"], "acme");
    }

    #[test]
    fn managed_variables_cover_every_variable_the_provider_sets() {
        let spec = WorkloadSpec {
            temporal: Temporal::External { host: "t".into(), port: 1, namespace: "n".into(), tls_enabled: false },
            sandbox: Sandbox::Unsandboxed,
            environment: BTreeMap::new(),
            environment_secret_arns: BTreeMap::new(),
            ..WorkloadSpec::default()
        };
        let built = workloads(&inputs(&spec));
        for (component, deployment) in &built.deployments {
            for name in env(deployment).keys() {
                assert!(
                    MANAGED_ENVIRONMENT.contains(&name.as_str()),
                    "{component:?} sets {name}, not in MANAGED_ENVIRONMENT"
                );
            }
        }
    }

    /// The Kubernetes minors the rendered objects are checked against: from the oldest EKS still
    /// supports (extended support) to the newest kubernetes-validate has schemas for, which spans
    /// the default, every version this provider knows and two past it.
    const VALIDATED_MINORS: std::ops::RangeInclusive<u32> = 32..=37;

    /// Runs `kubernetes-validate --strict` (pinned in scripts/constraints.txt) from the test venv
    /// on `files` for Kubernetes `1.<minor>`; its exit status and output.
    fn kubernetes_validate(minor: u32, files: &[std::path::PathBuf]) -> (bool, String) {
        let venv = std::env::var("RETOOL_TEST_VENV").expect("RETOOL_TEST_VENV names the test venv (run `make test`)");
        let output = std::process::Command::new(std::path::Path::new(&venv).join("bin").join("kubernetes-validate"))
            .args(["--strict", "--no-warn", "--kubernetes-version", &format!("1.{minor}")])
            .args(files)
            .output()
            .expect("run kubernetes-validate from the test venv");
        let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        (output.status.success(), said)
    }

    /// Every object of two opposite configurations (everything on; Workflows off, defaults) is
    /// valid for every minor in [`VALIDATED_MINORS`] under the strict schemas, which refuse unknown
    /// fields as the API server's strict field validation does; so are the External Secrets
    /// Operator's objects and its pinned CRDs. The SecretStore and ExternalSecret have no schema
    /// there (they are custom resources): the acceptance tests apply them to a real API server that
    /// has the operator's CRDs. A broken Deployment is refused, so the check can fail.
    #[test]
    #[ignore = "needs the test venv with kubernetes-validate (RETOOL_TEST_VENV): run `make test`"]
    fn every_object_passes_kubernetes_validate_strict_for_every_minor_eks_runs() {
        let everything = WorkloadSpec {
            temporal: Temporal::External {
                host: "temporal.example.internal".into(),
                port: 7233,
                namespace: "workflows".into(),
                tls_enabled: true,
            },
            sandbox: Sandbox::Unsandboxed,
            ..spec()
        };
        let defaults = WorkloadSpec { workflows_enabled: false, ..WorkloadSpec::default() };
        let dir = tempfile::tempdir().unwrap();
        let mut files = Vec::new();
        for (variant, spec) in [("everything", &everything), ("defaults", &defaults)] {
            for (index, object) in rendered(&workloads(&inputs(spec))).iter().enumerate() {
                if object["apiVersion"].as_str().is_some_and(|version| version.starts_with("external-secrets.io/")) {
                    continue;
                }
                let file = dir.path().join(format!("{variant}-{index}.json"));
                std::fs::write(&file, serde_json::to_vec_pretty(object).unwrap()).unwrap();
                files.push(file);
            }
        }
        let operator =
            super::super::external_secrets::operator("arn:aws:iam::123456789012:role/acme-external-secrets", "acme");
        let mut operator_objects = vec![
            serde_json::to_value(&operator.namespace).unwrap(),
            serde_json::to_value(&operator.service_account).unwrap(),
            serde_json::to_value(&operator.cluster_role).unwrap(),
            serde_json::to_value(&operator.cluster_role_binding).unwrap(),
            serde_json::to_value(&operator.deployment).unwrap(),
        ];
        operator_objects.extend(operator.roles.iter().map(|role| serde_json::to_value(role).unwrap()));
        operator_objects.extend(operator.role_bindings.iter().map(|binding| serde_json::to_value(binding).unwrap()));
        for (index, object) in operator_objects.iter().enumerate() {
            let file = dir.path().join(format!("external-secrets-{index}.json"));
            std::fs::write(&file, serde_json::to_vec_pretty(object).unwrap()).unwrap();
            files.push(file);
        }
        assert!(files.len() >= 12 + 9, "{} objects", files.len());
        for minor in VALIDATED_MINORS {
            let (valid, said) = kubernetes_validate(minor, &files);
            assert!(valid, "Kubernetes 1.{minor} refuses a rendered object:\n{said}");
        }
        // The operator's CRDs as released upstream (two megabytes of schema, seconds per minor):
        // the oldest and the newest minor must accept them.
        let mut crds = Vec::new();
        for (index, crd) in super::super::external_secrets::crds().unwrap().iter().enumerate() {
            let file = dir.path().join(format!("crd-{index}.json"));
            std::fs::write(&file, serde_json::to_vec(crd).unwrap()).unwrap();
            crds.push(file);
        }
        for minor in [*VALIDATED_MINORS.start(), *VALIDATED_MINORS.end()] {
            let (valid, said) = kubernetes_validate(minor, &crds);
            assert!(valid, "Kubernetes 1.{minor} refuses a CRD of the External Secrets Operator:\n{said}");
        }

        let mut broken = serde_json::to_value(find(&workloads(&inputs(&everything)), Component::Api)).unwrap();
        broken["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = json!("Always");
        let file = dir.path().join("broken.json");
        std::fs::write(&file, serde_json::to_vec(&broken).unwrap()).unwrap();
        let (valid, said) = kubernetes_validate(*VALIDATED_MINORS.end(), &[file]);
        assert!(!valid && said.contains("imagePullPolcy"), "a misspelt field must be refused:\n{said}");
    }
}
