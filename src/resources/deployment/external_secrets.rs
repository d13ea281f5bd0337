//! The External Secrets Operator on the deployment's cluster, at one pinned release, built from
//! the typed model like the Retool workloads.
//!
//! Retool's pods read their secrets from a Kubernetes Secret that only the operator writes, from
//! Secrets Manager, as its own IAM role (IRSA): the provider never sees a value. EKS offers no
//! add-on for it, so the provider ships it itself. The CRDs are the upstream release's file,
//! embedded verbatim (`third_party/external-secrets/<version>/bundle.yaml`) and checked against
//! the SHA-256 held here before they are written, so anyone can compare what runs with what
//! upstream published, and an apply needs no download (no egress from the machine running
//! Terraform to GitHub, no failure when it is unreachable). Each CRD is written whole, marked with
//! the provider's `managed-by` label and the file's SHA-256 ([`CrdInstalled`] reads the marks
//! back). The controller's objects are built here rather than rendered from the upstream chart,
//! because they are where the fences are:
//!
//! - the controller watches only the deployment's namespace (`--namespace`), and its rights over
//!   Secrets, stores and ExternalSecrets are a Role in that namespace, not a ClusterRole;
//! - the reconcilers Retool does not use (PushSecret, ClusterExternalSecret, ClusterPushSecret,
//!   ClusterSecretStore) are off, so nothing in the cluster can push a value out or fan one in;
//! - no admission webhook or certificate controller: nothing else to run, patch or trust;
//! - non-root, read-only root filesystem, no capabilities, the runtime's seccomp profile.
//!
//! What the controller may touch cluster-wide is read-only and holds no secret: the cluster
//! stores and generators its caches list at start.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, HTTPGetAction, Namespace, PodSecurityContext, PodSpec, PodTemplateSpec,
    Probe, ResourceRequirements, SeccompProfile, SecurityContext, ServiceAccount,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value as Json;

use super::names::{ESO_NAMESPACE, ESO_SERVICE_ACCOUNT};
use super::workloads::MANAGED_BY;

/// The upstream release the provider installs.
pub const VERSION: &str = "v2.9.0";
/// The controller's image: the release's, from the registry upstream publishes it to.
pub const IMAGE: &str = "ghcr.io/external-secrets/external-secrets:v2.9.0";
/// Where upstream publishes the CRDs of [`VERSION`] (what [`CRDS_SHA256`] can be checked against).
pub const CRDS_SOURCE: &str =
    "https://raw.githubusercontent.com/external-secrets/external-secrets/v2.9.0/deploy/crds/bundle.yaml";
/// SHA-256 of the file at [`CRDS_SOURCE`].
pub const CRDS_SHA256: &str = "08b08d88e9522436698d6c90510b530d491081fbf92015faa7a571bb8b50bc5b";
/// The file itself, embedded.
const CRDS_YAML: &str = include_str!("../../../third_party/external-secrets/v2.9.0/bundle.yaml");

/// The controller's Deployment (in [`ESO_NAMESPACE`]) and its `app.kubernetes.io/name`.
pub const DEPLOYMENT_NAME: &str = "external-secrets";
/// The controller's label selector.
pub const SELECTOR: &str = "app.kubernetes.io/name=external-secrets";
/// The lease the controller's replicas elect a leader by (so a rolling update never runs two).
const LEADER_ELECTION_ID: &str = "external-secrets-controller";
/// The port of the controller's health endpoints (`/healthz`, `/readyz`).
const HEALTH_PORT: i32 = 8082;
/// The port of its metrics.
const METRICS_PORT: i32 = 8080;

/// Every object of the operator for one deployment, in an order that can be applied front to back.
#[derive(Debug, Clone)]
pub struct Operator {
    /// [`ESO_NAMESPACE`].
    pub namespace: Namespace,
    /// [`ESO_SERVICE_ACCOUNT`], annotated with the operator's IAM role.
    pub service_account: ServiceAccount,
    /// Read-only, cluster-scoped, no secrets: what the controller's caches list at start.
    pub cluster_role: ClusterRole,
    pub cluster_role_binding: ClusterRoleBinding,
    /// The controller's rights in the deployment's namespace, and its leader election lease in its own.
    pub roles: Vec<Role>,
    pub role_bindings: Vec<RoleBinding>,
    /// The controller.
    pub deployment: Deployment,
}

/// The upstream CRDs as JSON objects, after checking the embedded file against [`CRDS_SHA256`].
pub fn crds() -> Result<&'static [Json], String> {
    static PARSED: OnceLock<Result<Vec<Json>, String>> = OnceLock::new();
    PARSED.get_or_init(parse_crds).as_ref().map(Vec::as_slice).map_err(Clone::clone)
}

fn parse_crds() -> Result<Vec<Json>, String> {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, CRDS_YAML.as_bytes());
    let found: String = digest.as_ref().iter().map(|byte| format!("{byte:02x}")).collect();
    if found != CRDS_SHA256 {
        return Err(format!(
            "the External Secrets Operator CRDs built into this provider have SHA-256 {found}, not the pinned \
             {CRDS_SHA256} of {CRDS_SOURCE}; the binary is not as released: reinstall the provider"
        ));
    }
    let mut documents = Vec::new();
    for document in serde_yaml_ng::Deserializer::from_str(CRDS_YAML) {
        let mut value: Json = serde::Deserialize::deserialize(document)
            .map_err(|error| format!("the External Secrets Operator CRDs cannot be read: {error}"))?;
        let Some(metadata) = value.get_mut("metadata").and_then(Json::as_object_mut) else { continue };
        for (field, key, mark) in
            [("labels", "app.kubernetes.io/managed-by", MANAGED_BY), ("annotations", SOURCE_ANNOTATION, CRDS_SHA256)]
        {
            let marks = metadata.entry(field).or_insert_with(|| Json::Object(serde_json::Map::new()));
            if let Some(marks) = marks.as_object_mut() {
                marks.insert(key.to_owned(), Json::String(mark.to_owned()));
            }
        }
        documents.push(value);
    }
    Ok(documents)
}

/// The annotation on each CRD the provider installed: the SHA-256 of the file it came from.
pub const SOURCE_ANNOTATION: &str = "retool.com/source-sha256";

/// What the cluster has of one of the operator's CRDs, from its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrdInstalled {
    /// Installed by the provider from the pinned file.
    Current,
    /// Installed by the provider from another release; replaced at `resource_version`.
    Older { resource_version: String },
    /// Installed by someone else (named by its `app.kubernetes.io/managed-by`, if any).
    Foreign { manager: String },
}

/// Who installed an object of the operator when it was not the provider, in words (its
/// `app.kubernetes.io/managed-by` quoted, or "another tool"); `None` when it was the provider.
pub fn installed_by_another(metadata: &ObjectMeta) -> Option<String> {
    let label = metadata.labels.as_ref().and_then(|labels| labels.get("app.kubernetes.io/managed-by"));
    match label.map(String::as_str) {
        Some(MANAGED_BY) => None,
        Some(other) => Some(format!("`{other}`")),
        None => Some("another tool".to_owned()),
    }
}

impl CrdInstalled {
    pub fn of(metadata: &ObjectMeta) -> Self {
        if let Some(manager) = installed_by_another(metadata) {
            return Self::Foreign { manager };
        }
        let source = metadata.annotations.as_ref().and_then(|annotations| annotations.get(SOURCE_ANNOTATION));
        if source.map(String::as_str) == Some(CRDS_SHA256) {
            Self::Current
        } else {
            Self::Older { resource_version: metadata.resource_version.clone().unwrap_or_default() }
        }
    }
}

/// The labels of every object of the operator.
fn labels() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_owned(), DEPLOYMENT_NAME.to_owned()),
        ("app.kubernetes.io/version".to_owned(), VERSION.to_owned()),
        ("app.kubernetes.io/managed-by".to_owned(), MANAGED_BY.to_owned()),
    ])
}

fn metadata(name: &str, namespace: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: namespace.map(str::to_owned),
        labels: Some(labels()),
        ..ObjectMeta::default()
    }
}

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> PolicyRule {
    let owned = |items: &[&str]| items.iter().map(|item| (*item).to_owned()).collect::<Vec<_>>();
    PolicyRule {
        api_groups: Some(owned(groups)),
        resources: Some(owned(resources)),
        verbs: owned(verbs),
        ..PolicyRule::default()
    }
}

const READ: &[&str] = &["get", "list", "watch"];
const EXTERNAL_SECRETS: &str = "external-secrets.io";
const GENERATORS: &str = "generators.external-secrets.io";

/// The generator kinds of [`VERSION`], which an ExternalSecret may name and the controller reads.
const GENERATOR_KINDS: &[&str] = &[
    "acraccesstokens",
    "beyondtrustworkloadcredentialsdynamicsecrets",
    "cloudsmithaccesstokens",
    "ecrauthorizationtokens",
    "fakes",
    "gcraccesstokens",
    "githubaccesstokens",
    "gitlabdeploytokens",
    "grafanas",
    "mfas",
    "passwords",
    "quayaccesstokens",
    "sshkeys",
    "stssessiontokens",
    "uuids",
    "vaultdynamicsecrets",
    "webhooks",
];

fn subject() -> Subject {
    Subject {
        kind: "ServiceAccount".to_owned(),
        name: ESO_SERVICE_ACCOUNT.to_owned(),
        namespace: Some(ESO_NAMESPACE.to_owned()),
        ..Subject::default()
    }
}

fn role_binding(name: &str, namespace: &str) -> RoleBinding {
    RoleBinding {
        metadata: metadata(name, Some(namespace)),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".to_owned(),
            kind: "Role".to_owned(),
            name: name.to_owned(),
        },
        subjects: Some(vec![subject()]),
    }
}

/// The controller's rights where Retool runs: fill and own the Secret, read its stores and
/// ExternalSecrets and report on them, and what an ExternalSecret may lean on.
fn controller_role(watched: &str) -> Role {
    Role {
        metadata: metadata("external-secrets-controller", Some(watched)),
        rules: Some(vec![
            rule(&[EXTERNAL_SECRETS], &["secretstores", "externalsecrets"], READ),
            rule(
                &[EXTERNAL_SECRETS],
                &[
                    "secretstores/status",
                    "secretstores/finalizers",
                    "externalsecrets/status",
                    "externalsecrets/finalizers",
                ],
                &["get", "update", "patch"],
            ),
            rule(&[GENERATORS], GENERATOR_KINDS, READ),
            rule(
                &[GENERATORS],
                &["generatorstates"],
                &["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"],
            ),
            rule(&[""], &["secrets"], &["get", "list", "watch", "create", "update", "patch", "delete"]),
            rule(&[""], &["configmaps", "serviceaccounts"], READ),
            rule(&[""], &["serviceaccounts/token"], &["create"]),
            rule(&[""], &["events"], &["create", "patch"]),
        ]),
    }
}

/// The leader election lease, in the controller's own namespace.
fn leader_election_role() -> Role {
    let mut lease = rule(&["coordination.k8s.io"], &["leases"], &["get", "update", "patch"]);
    lease.resource_names = Some(vec![LEADER_ELECTION_ID.to_owned()]);
    Role {
        metadata: metadata("external-secrets-leader-election", Some(ESO_NAMESPACE)),
        rules: Some(vec![
            lease,
            rule(&["coordination.k8s.io"], &["leases"], &["create"]),
            rule(&[""], &["events"], &["create", "patch"]),
        ]),
    }
}

fn cluster_role() -> ClusterRole {
    ClusterRole {
        metadata: metadata("external-secrets-controller", None),
        rules: Some(vec![
            rule(&[EXTERNAL_SECRETS], &["clustersecretstores"], READ),
            rule(&[GENERATORS], &["clustergenerators"], READ),
        ]),
        aggregation_rule: None,
    }
}

fn deployment(watched: &str) -> Deployment {
    let selector = BTreeMap::from([("app.kubernetes.io/name".to_owned(), DEPLOYMENT_NAME.to_owned())]);
    let probe = |path: &str| Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_owned()),
            port: IntOrString::Int(HEALTH_PORT),
            ..HTTPGetAction::default()
        }),
        initial_delay_seconds: Some(10),
        period_seconds: Some(10),
        timeout_seconds: Some(5),
        failure_threshold: Some(5),
        ..Probe::default()
    };
    let args = [
        format!("--namespace={watched}"),
        "--enable-leader-election=true".to_owned(),
        format!("--leader-election-id={LEADER_ELECTION_ID}"),
        "--enable-cluster-store-reconciler=false".to_owned(),
        "--enable-cluster-external-secret-reconciler=false".to_owned(),
        "--enable-push-secret-reconciler=false".to_owned(),
        "--enable-cluster-push-secret-reconciler=false".to_owned(),
        "--concurrent=1".to_owned(),
        format!("--metrics-addr=:{METRICS_PORT}"),
        format!("--live-addr=:{HEALTH_PORT}"),
        "--loglevel=info".to_owned(),
        "--zap-time-encoding=rfc3339".to_owned(),
    ];
    let quantity = |text: &str| Quantity(text.to_owned());
    let container = Container {
        name: DEPLOYMENT_NAME.to_owned(),
        image: Some(IMAGE.to_owned()),
        image_pull_policy: Some("IfNotPresent".to_owned()),
        args: Some(args.to_vec()),
        ports: Some(vec![
            ContainerPort {
                name: Some("metrics".to_owned()),
                container_port: METRICS_PORT,
                protocol: Some("TCP".to_owned()),
                ..ContainerPort::default()
            },
            ContainerPort {
                name: Some("health".to_owned()),
                container_port: HEALTH_PORT,
                protocol: Some("TCP".to_owned()),
                ..ContainerPort::default()
            },
        ]),
        liveness_probe: Some(probe("/healthz")),
        readiness_probe: Some(probe("/readyz")),
        resources: Some(ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("cpu".to_owned(), quantity("50m")),
                ("memory".to_owned(), quantity("128Mi")),
            ])),
            limits: Some(BTreeMap::from([("memory".to_owned(), quantity("512Mi"))])),
            ..ResourceRequirements::default()
        }),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities { drop: Some(vec!["ALL".to_owned()]), add: None }),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            run_as_user: Some(1000),
            seccomp_profile: Some(SeccompProfile { type_: "RuntimeDefault".to_owned(), localhost_profile: None }),
            ..SecurityContext::default()
        }),
        ..Container::default()
    };
    Deployment {
        metadata: metadata(DEPLOYMENT_NAME, Some(ESO_NAMESPACE)),
        spec: Some(DeploymentSpec {
            replicas: Some(1),
            selector: LabelSelector { match_labels: Some(selector), match_expressions: None },
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".to_owned()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(IntOrString::Int(1)),
                    max_unavailable: Some(IntOrString::Int(0)),
                }),
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(labels()), ..ObjectMeta::default() }),
                spec: Some(PodSpec {
                    service_account_name: Some(ESO_SERVICE_ACCOUNT.to_owned()),
                    node_selector: Some(BTreeMap::from([("kubernetes.io/os".to_owned(), "linux".to_owned())])),
                    security_context: Some(PodSecurityContext {
                        run_as_non_root: Some(true),
                        seccomp_profile: Some(SeccompProfile {
                            type_: "RuntimeDefault".to_owned(),
                            localhost_profile: None,
                        }),
                        ..PodSecurityContext::default()
                    }),
                    containers: vec![container],
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        }),
        status: None,
    }
}

/// The operator's objects: it runs as `role_arn` (its service account's IRSA role) and serves the
/// deployment's namespace `watched` alone.
pub fn operator(role_arn: &str, watched: &str) -> Operator {
    let mut account_metadata = metadata(ESO_SERVICE_ACCOUNT, Some(ESO_NAMESPACE));
    account_metadata.annotations =
        Some(BTreeMap::from([("eks.amazonaws.com/role-arn".to_owned(), role_arn.to_owned())]));
    let controller = controller_role(watched);
    let leader = leader_election_role();
    let bindings = [&controller, &leader]
        .iter()
        .map(|role| {
            let name = role.metadata.name.clone().unwrap_or_default();
            role_binding(&name, role.metadata.namespace.as_deref().unwrap_or(ESO_NAMESPACE))
        })
        .collect();
    let cluster_role = cluster_role();
    Operator {
        namespace: Namespace { metadata: metadata(ESO_NAMESPACE, None), ..Namespace::default() },
        service_account: ServiceAccount { metadata: account_metadata, ..ServiceAccount::default() },
        cluster_role_binding: ClusterRoleBinding {
            metadata: metadata("external-secrets-controller", None),
            role_ref: RoleRef {
                api_group: "rbac.authorization.k8s.io".to_owned(),
                kind: "ClusterRole".to_owned(),
                name: cluster_role.metadata.name.clone().unwrap_or_default(),
            },
            subjects: Some(vec![subject()]),
        },
        cluster_role,
        roles: vec![controller, leader],
        role_bindings: bindings,
        deployment: deployment(watched),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_crds_are_the_pinned_release_and_define_what_retool_uses() {
        let crds = crds().expect("the embedded file matches its pin");
        assert_eq!(crds.len(), 25);
        for crd in crds {
            assert_eq!(crd["apiVersion"], "apiextensions.k8s.io/v1");
            assert_eq!(crd["kind"], "CustomResourceDefinition");
        }
        let served = |kind: &str| {
            crds.iter().any(|crd| {
                crd["spec"]["names"]["kind"] == kind
                    && crd["spec"]["versions"]
                        .as_array()
                        .is_some_and(|versions| versions.iter().any(|v| v["name"] == "v1" && v["served"] == true))
            })
        };
        assert!(served("SecretStore") && served("ExternalSecret"));
        let metadata: ObjectMeta = serde_json::from_value(crds[0]["metadata"].clone()).expect("metadata");
        assert_eq!(CrdInstalled::of(&metadata), CrdInstalled::Current, "each carries the provider's marks");
    }

    #[test]
    fn installed_crds_are_current_older_or_someone_elses() {
        let meta = |label: Option<&str>, source: Option<&str>| ObjectMeta {
            labels: label.map(|label| BTreeMap::from([("app.kubernetes.io/managed-by".to_owned(), label.to_owned())])),
            annotations: source.map(|source| BTreeMap::from([(SOURCE_ANNOTATION.to_owned(), source.to_owned())])),
            resource_version: Some("42".to_owned()),
            ..ObjectMeta::default()
        };
        assert_eq!(CrdInstalled::of(&meta(Some(MANAGED_BY), Some(CRDS_SHA256))), CrdInstalled::Current);
        assert_eq!(
            CrdInstalled::of(&meta(Some(MANAGED_BY), Some("0000"))),
            CrdInstalled::Older { resource_version: "42".to_owned() }
        );
        assert_eq!(
            CrdInstalled::of(&meta(Some("Helm"), Some(CRDS_SHA256))),
            CrdInstalled::Foreign { manager: "`Helm`".to_owned() }
        );
        assert_eq!(CrdInstalled::of(&meta(None, None)), CrdInstalled::Foreign { manager: "another tool".to_owned() });
    }

    #[test]
    fn the_controller_reads_secrets_only_where_retool_runs() {
        let operator = operator("arn:aws:iam::123456789012:role/acme-external-secrets", "acme");
        let secrets_rules = |rules: &[PolicyRule]| {
            rules.iter().any(|rule| rule.resources.iter().flatten().any(|resource| resource == "secrets"))
        };
        assert!(!secrets_rules(operator.cluster_role.rules.as_deref().unwrap_or_default()));
        for rule in operator.cluster_role.rules.iter().flatten() {
            assert_eq!(rule.verbs, ["get", "list", "watch"], "cluster-wide rights are read-only");
        }
        let controller = &operator.roles[0];
        assert_eq!(controller.metadata.namespace.as_deref(), Some("acme"));
        assert!(secrets_rules(controller.rules.as_deref().unwrap_or_default()));
        let binding = &operator.role_bindings[0];
        assert_eq!(binding.metadata.namespace.as_deref(), Some("acme"));
        assert_eq!(binding.role_ref.name, "external-secrets-controller");
        assert_eq!(operator.role_bindings[1].metadata.namespace.as_deref(), Some(ESO_NAMESPACE));
    }

    #[test]
    fn the_controller_runs_as_its_role_scoped_to_the_deployment_and_fenced() {
        let operator = operator("arn:aws:iam::123456789012:role/acme-external-secrets", "acme");
        let annotations = operator.service_account.metadata.annotations.unwrap_or_default();
        assert_eq!(annotations["eks.amazonaws.com/role-arn"], "arn:aws:iam::123456789012:role/acme-external-secrets");
        let pod = operator.deployment.spec.and_then(|spec| spec.template.spec).expect("pod spec");
        assert_eq!(pod.service_account_name.as_deref(), Some(ESO_SERVICE_ACCOUNT));
        let container = &pod.containers[0];
        assert_eq!(container.image.as_deref(), Some(IMAGE));
        assert!(IMAGE.ends_with(VERSION) && CRDS_SOURCE.contains(&format!("/{VERSION}/")));
        let args = container.args.clone().unwrap_or_default();
        assert!(args.contains(&"--namespace=acme".to_owned()));
        for reconciler in ["cluster-store", "cluster-external-secret", "push-secret", "cluster-push-secret"] {
            assert!(args.contains(&format!("--enable-{reconciler}-reconciler=false")), "{reconciler} is off");
        }
        let security = container.security_context.clone().unwrap_or_default();
        assert_eq!(security.read_only_root_filesystem, Some(true));
        assert_eq!(security.allow_privilege_escalation, Some(false));
        assert_eq!(security.capabilities.and_then(|c| c.drop), Some(vec!["ALL".to_owned()]));
    }
}
