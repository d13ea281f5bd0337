//! The workloads chain: Retool on the deployment's cluster. It runs after the AWS chains, because
//! it needs what they made (the cluster and the access entry, the database endpoint, the secrets'
//! ARNs, the storage role), and is removed first on destroy, while the cluster still answers.
//!
//! Converge gives the provider's identity its access entry, installs the External Secrets
//! Operator's CRDs ([`external_secrets`](super::external_secrets), the pinned upstream file) and
//! waits until they are served, then applies the objects [`workloads`](super::workloads) and the
//! operator's builders return, with server-side apply: first everything that is not a
//! Deployment, then the jobs-runner alone among Retool's containers (beside the operator, which
//! fills the Secret the pods read) — with `Recreate`, the old pod is gone before the new one runs
//! the migrations — and waits until it is available, then the other Deployments together, each
//! with surge and no unavailability, and waits for them. An object whose applied configuration is
//! unchanged is not touched by the server, so a change of one container's replicas or resources
//! rolls only that container.
//!
//! Destroy removes Retool's namespace and everything in it; the operator, which holds nothing in
//! AWS, goes with the cluster.
//!
//! Observation costs at most five Kubernetes calls: discovery of `apps/v1` and of the core group,
//! the namespace, one list of Retool's Deployments and a read of the operator's (with their
//! `managedFields`, which say which field manager changed what).

pub mod observe;

use std::collections::BTreeMap;
use std::time::Duration;

use super::aws::access::{ensure_admin_access, principal_arn};
use super::aws::chains::Context;
use super::desired::Desired;
use super::drift::{Area, Finding, finding};
use super::external_secrets::{self, Operator};
use super::names::ESO_NAMESPACE;
use super::observed::{ClusterState, DeploymentSeen, Observed};
use super::workloads::{Component, WorkloadInputs, Workloads, workloads};
use crate::aws::wait::{Backoff, Poll, wait_for};
use crate::aws::{AwsClients, Tags};
use crate::error::Error;
use crate::kubernetes::objects::{apply, delete, list_metadata, read, replace, serves};
use crate::kubernetes::{ClusterAccess, ClusterEndpoint, Manifest, Signer, wait_rolled_out};
use crate::resources::drift::DriftKind;
use crate::resources::ownership::OWNER_TAG;
use crate::stop::StopSignal;

pub use observe::observe;

/// The `endpoints` overrides of the clusters' API and its CA.
const ENDPOINT_OVERRIDE: &str = "kubernetes";
const CA_OVERRIDE: &str = "kubernetes_ca_certificate";

/// The group versions a PodDisruptionBudget may be served in, newest first (`policy/v1beta1`
/// only on clusters older than Kubernetes 1.21).
const DISRUPTION_BUDGET_VERSIONS: [&str; 2] = ["policy/v1", "policy/v1beta1"];

/// The External Secrets Operator's API, served once the operator's CRDs are installed.
const EXTERNAL_SECRETS_API: &str = "external-secrets.io/v1";

/// The API of CustomResourceDefinitions.
const CRD_API: &str = "apiextensions.k8s.io/v1";

/// How many of the operator's CRDs are written at once (each is up to a megabyte of schema).
const CRD_WRITES_AT_ONCE: usize = 4;

/// How to reach cluster `name`, whose API EKS reports at `endpoint` with CA `ca_base64`.
pub fn cluster_access(
    clients: &AwsClients,
    name: &str,
    endpoint: Option<&str>,
    ca_base64: Option<&str>,
) -> Result<ClusterAccess, Error> {
    let endpoint = match (clients.endpoint(ENDPOINT_OVERRIDE), clients.endpoint(CA_OVERRIDE)) {
        (Some(url), Some(ca_pem)) => ClusterEndpoint { url: url.to_owned(), ca_pem: ca_pem.to_owned() },
        _ => {
            let (Some(url), Some(ca)) = (endpoint, ca_base64) else {
                return Err(Error::unexpected(
                    "DescribeCluster",
                    format!("cluster {name} reports no API endpoint or certificate authority yet"),
                ));
            };
            use base64::Engine as _;
            let pem = base64::engine::general_purpose::STANDARD
                .decode(ca.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| {
                    Error::unexpected(
                        "DescribeCluster",
                        format!("cluster {name} reports certificate authority data that is not base64 PEM"),
                    )
                })?;
            ClusterEndpoint { url: url.to_owned(), ca_pem: pem }
        }
    };
    let credentials = clients.credentials().cloned().ok_or_else(|| {
        Error::unexpected("SignClusterToken", format!("no AWS credentials to sign a token for cluster {name}"))
    })?;
    let signer = Signer { credentials, region: clients.region().to_owned(), sts_url: clients.sts_url().to_owned() };
    Ok(ClusterAccess::new(name, endpoint, signer))
}

/// What the objects are built from, out of the desired deployment and what AWS holds; `Err` says
/// what is missing (the AWS chains have not made it yet).
pub fn inputs<'a>(
    desired: &'a Desired,
    observed: &'a Observed,
    storage_role: Option<&'a str>,
) -> Result<WorkloadInputs<'a>, String> {
    let database = observed.rds.database.as_ref().ok_or("the database does not exist yet")?;
    let database_host = database.endpoint.as_deref().ok_or("the database has no endpoint yet")?;
    let database_secret_arn =
        database.master_user_secret_arn.as_deref().ok_or("the database's master user secret does not exist yet")?;
    let encryption_key_secret_arn = match &desired.spec.encryption_key_secret_arn {
        Some(arn) => arn.as_str(),
        None => observed
            .secrets
            .encryption_key
            .as_ref()
            .map(|s| s.arn.as_str())
            .ok_or("the encryption key secret does not exist yet")?,
    };
    let jwt_secret_arn =
        observed.secrets.jwt.as_ref().map(|s| s.arn.as_str()).ok_or("the JWT secret does not exist yet")?;
    let owner = desired.owner.as_ref().map(|owner| owner.token.as_str()).ok_or("no ownership token")?;
    Ok(WorkloadInputs {
        deployment: &desired.spec.name,
        owner,
        retool_version: &desired.spec.retool_version,
        domain: &desired.spec.domain,
        region: &desired.region,
        database_host,
        database_port: super::aws::rds::POSTGRES_PORT,
        database_name: super::aws::rds::DATABASE_NAME,
        database_user: super::aws::rds::MASTER_USERNAME,
        database_secret_arn,
        encryption_key_secret_arn,
        jwt_secret_arn,
        license_key_secret_arn: desired.spec.license_key_secret_arn.as_deref(),
        storage_role_arn: storage_role,
        cache_endpoint: observed.live_cache().and_then(|cache| cache.endpoint.as_deref()),
        spec: &desired.spec.workloads,
    })
}

/// Gives the provider's identity access to the cluster and brings the workloads to what is
/// desired, in upgrade order.
pub async fn converge(cx: &Context<'_>, observed: &Observed) -> Result<(), Error> {
    let desired = cx.desired;
    let Some(cluster) = observed.eks.cluster.as_ref() else {
        return Err(Error::unexpected("ApplyWorkloads", "the cluster does not exist"));
    };
    let access = admitted(cx, cluster).await?;
    let storage_role = desired.spec.storage.then(|| desired.storage_role_arn());
    let inputs = inputs(desired, observed, storage_role.as_deref())
        .map_err(|missing| Error::unexpected("ApplyWorkloads", format!("cannot start Retool yet: {missing}")))?;
    let objects = workloads(&inputs);
    let operator = external_secrets::operator(&desired.secrets_operator_role_arn(), &desired.names.namespace());
    let started = std::time::Instant::now();
    apply_all(cx, &access, &objects, &operator).await?;
    tracing::info!(
        cluster = %cluster.name,
        duration_ms = started.elapsed().as_millis() as u64,
        deployments = objects.deployments.len(),
        "workloads applied and available"
    );
    Ok(())
}

/// Access to `cluster` for the identity running Terraform, given an access entry first if it has
/// none; a new entry is waited for until the cluster honours it.
async fn admitted(cx: &Context<'_>, cluster: &ClusterState) -> Result<ClusterAccess, Error> {
    let identity = cx.clients.identity().await?;
    let principal = principal_arn(identity);
    let tags = cx.desired.tags();
    let new = ensure_admin_access(cx.clients.eks(), &cluster.name, &principal, &identity.partition, &tags).await?;
    let access = cluster_access(
        cx.clients,
        &cluster.name,
        cluster.endpoint.as_deref(),
        cluster.certificate_authority.as_deref(),
    )?;
    if new {
        let backoff =
            Backoff { initial: Duration::from_secs(1), max: Duration::from_secs(5), timeout: Duration::from_secs(120) };
        wait_for("WaitClusterAccess", backoff, cx.stop, || async {
            match serves(&access, "v1", "Namespace", cx.stop).await {
                Ok(_) => Ok(Poll::Ready(())),
                Err(Error::Kubernetes(error)) if error.status == Some(401) => Ok(Poll::Pending(format!(
                    "cluster {} does not honour the access entry of {principal} yet",
                    cluster.name
                ))),
                Err(error) => Err(error),
            }
        })
        .await?;
    }
    Ok(access)
}

async fn apply_all(
    cx: &Context<'_>,
    access: &ClusterAccess,
    objects: &Workloads,
    operator: &Operator,
) -> Result<(), Error> {
    let stop = cx.stop;
    install_secrets_operator_api(access, stop).await?;
    refuse_foreign_secrets_operator(access, stop).await?;
    let namespaces = [Manifest::of(&objects.namespace)?, Manifest::of(&operator.namespace)?];
    futures::future::try_join_all(namespaces.iter().map(|manifest| apply(access, manifest, stop))).await?;
    let mut first = vec![
        Manifest::of(&operator.service_account)?,
        Manifest::of(&operator.cluster_role)?,
        Manifest::of(&operator.cluster_role_binding)?,
        Manifest::of(&objects.network_policy)?,
        disruption_budget(access, objects, stop).await?,
        Manifest::from_json(objects.secret_store.clone())?,
    ];
    for role in &operator.roles {
        first.push(Manifest::of(role)?);
    }
    for binding in &operator.role_bindings {
        first.push(Manifest::of(binding)?);
    }
    for account in &objects.service_accounts {
        first.push(Manifest::of(account)?);
    }
    for service in &objects.services {
        first.push(Manifest::of(service)?);
    }
    for external in &objects.external_secrets {
        first.push(Manifest::from_json(external.clone())?);
    }
    futures::future::try_join_all(first.iter().map(|manifest| apply(access, manifest, stop))).await?;

    // The jobs-runner alone among Retool's containers (the operator that fills its Secret beside
    // it), then the others.
    let timeout = cx.desired.eks_budget(cx.operation);
    let mut runners = vec![(Manifest::of(&operator.deployment)?, external_secrets::SELECTOR.to_owned())];
    let mut others = Vec::new();
    for (component, deployment) in &objects.deployments {
        let batch = if *component == Component::JobsRunner { &mut runners } else { &mut others };
        batch.push((Manifest::of(deployment)?, pod_selector(cx.desired, *component)));
    }
    for batch in [runners, others] {
        futures::future::try_join_all(batch.iter().map(|(manifest, _)| apply(access, manifest, stop))).await?;
        futures::future::try_join_all(batch.iter().map(|(manifest, labels)| async move {
            let namespace = manifest.namespace.as_deref().unwrap_or_default();
            wait_rolled_out(access, namespace, &manifest.name, labels, timeout, stop).await
        }))
        .await?;
    }
    Ok(())
}

/// Installs the External Secrets Operator's CRDs (the pinned upstream file) where they are missing
/// or from another release, and waits until the server serves the kinds Retool's objects use.
///
/// CRDs are the release's alone, so they are written whole (created, or replaced) rather than
/// co-owned through server-side apply; each carries the file's SHA-256, so an apply where they
/// are current costs one metadata list instead of two megabytes of schema. CRDs of the operator's
/// groups that the provider did not write are someone else's installation, and refused.
async fn install_secrets_operator_api(access: &ClusterAccess, stop: &StopSignal) -> Result<(), Error> {
    let crds =
        external_secrets::crds().map_err(|problem| Error::unexpected("ApplyCustomResourceDefinitions", problem))?;
    let installed = list_metadata(access, CRD_API, "CustomResourceDefinition", stop).await?;
    let mut stale = Vec::new();
    for crd in crds {
        let manifest = Manifest::from_json(crd.clone())?;
        let found = installed.iter().find(|meta| meta.name.as_deref() == Some(manifest.name.as_str()));
        match found.map(external_secrets::CrdInstalled::of) {
            None => stale.push((manifest, None)),
            Some(external_secrets::CrdInstalled::Current) => {}
            Some(external_secrets::CrdInstalled::Older { resource_version }) => {
                stale.push((manifest, Some(resource_version)))
            }
            Some(external_secrets::CrdInstalled::Foreign { manager }) => {
                return Err(Error::unexpected(
                    "ApplyCustomResourceDefinitions",
                    format!(
                        "cluster {} already has CustomResourceDefinition {} installed by {manager}; the provider \
                         installs the External Secrets Operator itself and does not take over one it did not \
                         install: remove that installation with its CRDs, then apply again",
                        access.cluster(),
                        manifest.name
                    ),
                ));
            }
        }
    }
    for batch in stale.chunks(CRD_WRITES_AT_ONCE) {
        futures::future::try_join_all(
            batch.iter().map(|(manifest, existing)| replace(access, manifest, existing.as_deref(), stop)),
        )
        .await?;
    }
    let backoff =
        Backoff { initial: Duration::from_millis(250), max: Duration::from_secs(2), timeout: Duration::from_secs(120) };
    wait_for("WaitCustomResourcesServed", backoff, stop, || async {
        for kind in ["SecretStore", "ExternalSecret"] {
            if !serves(access, EXTERNAL_SECRETS_API, kind, stop).await? {
                return Ok(Poll::Pending(format!(
                    "cluster {} does not serve {EXTERNAL_SECRETS_API} {kind} yet",
                    access.cluster()
                )));
            }
        }
        Ok(Poll::Ready(()))
    })
    .await
}

/// Refuses an External Secrets Operator someone else installed where the provider keeps its own
/// (taking it over would change a controller they run).
async fn refuse_foreign_secrets_operator(access: &ClusterAccess, stop: &StopSignal) -> Result<(), Error> {
    let found =
        read(access, "apps/v1", "Deployment", Some(ESO_NAMESPACE), external_secrets::DEPLOYMENT_NAME, stop).await?;
    let Some(manager) = found.and_then(|found| external_secrets::installed_by_another(&found.metadata)) else {
        return Ok(());
    };
    Err(Error::unexpected(
        "ApplySecretsOperator",
        format!(
            "cluster {} already runs Deployment {ESO_NAMESPACE}/{} installed by {}; the provider installs and keeps \
             the External Secrets Operator itself and does not take over one it did not install: remove that \
             installation (for example `helm uninstall`), then apply again",
            access.cluster(),
            external_secrets::DEPLOYMENT_NAME,
            manager,
        ),
    ))
}

/// The api's PodDisruptionBudget in the newest group version the server serves.
async fn disruption_budget(access: &ClusterAccess, objects: &Workloads, stop: &StopSignal) -> Result<Manifest, Error> {
    let manifest = Manifest::of(&objects.disruption_budget)?;
    for version in DISRUPTION_BUDGET_VERSIONS {
        if serves(access, version, "PodDisruptionBudget", stop).await? {
            return Ok(manifest.with_api_version(version));
        }
    }
    Ok(manifest)
}

/// The label selector of `component`'s pods.
fn pod_selector(desired: &Desired, component: Component) -> String {
    format!(
        "app.kubernetes.io/name={},app.kubernetes.io/instance={},app.kubernetes.io/component={}",
        super::workloads::APP_NAME,
        desired.spec.name,
        component.name()
    )
}

/// Removes the workloads while the cluster still answers: the Deployments first (their pods go
/// with them, so Retool stops before its database does), then the namespace with everything else
/// the provider applied, waiting until the namespace is gone so nothing in it outlives the
/// cluster's deletion half-finished. Without an ACTIVE cluster there is nothing to remove.
pub async fn remove(cx: &Context<'_>) -> Result<(), Error> {
    let stop = cx.stop;
    let cluster = super::aws::eks::observe_cluster(cx.clients.eks(), &cx.desired.names.cluster()).await?;
    let Some(cluster) = cluster.filter(|cluster| cluster.status == "ACTIVE") else { return Ok(()) };
    let access = &admitted(cx, &cluster).await?;
    let namespace = cx.desired.names.namespace();
    for component in Component::ALL {
        delete(access, "apps/v1", "Deployment", Some(&namespace), component.name(), stop).await?;
    }
    delete(access, "v1", "Namespace", None, &namespace, stop).await?;
    let backoff = Backoff::slow(cx.desired.eks_budget(cx.operation));
    wait_for("WaitNamespaceDeleted", backoff, stop, || async {
        match read(access, "v1", "Namespace", None, &namespace, stop).await? {
            None => Ok(Poll::Ready(())),
            Some(_) => Ok(Poll::Pending(format!("namespace {namespace} is terminating"))),
        }
    })
    .await
}

/// How the workloads differ from what is desired (pure).
pub fn drift(desired: &Desired, observed: &Observed) -> Vec<Finding> {
    let Some(seen) = observed.workloads.as_ref() else { return Vec::new() };
    let mut found = Vec::new();
    if let Some(refusal) = &seen.access_denied {
        let object = format!("Kubernetes API of cluster {}", desired.names.cluster());
        found.push(finding(
            Area::Workloads,
            &object,
            DriftKind::Missing,
            &format!("does not let the provider in: {refusal}"),
        ));
        return found;
    }
    if seen.namespace.is_some() {
        secrets_operator_drift(seen.secrets_operator.as_ref(), &mut found);
    }
    let spec = &desired.spec.workloads;
    for component in Component::ALL {
        let object = format!("Kubernetes Deployment {}/{}", desired.names.namespace(), component.name());
        let wanted = spec.runs(component);
        let have = seen.deployments.iter().find(|deployment| deployment.name == component.name());
        match (wanted, have) {
            (false, None) => {}
            (false, Some(_)) => {
                found.push(finding(Area::Workloads, &object, DriftKind::Surplus, "exists, but is not configured"))
            }
            (true, None) => found.push(finding(Area::Workloads, &object, DriftKind::Missing, "does not exist")),
            (true, Some(have)) => {
                let image = component.image(&desired.spec.retool_version);
                if have.image.as_deref() != Some(image.as_str()) {
                    let running = have.image.as_deref().unwrap_or("no image");
                    found.push(finding(
                        Area::Workloads,
                        &object,
                        DriftKind::Setting,
                        &format!("runs {running}, configured {image}"),
                    ));
                }
                let (replicas, _) = spec.sized(component);
                if have.replicas != replicas {
                    found.push(finding(
                        Area::Workloads,
                        &object,
                        DriftKind::Setting,
                        &format!("has {} replicas, configured {replicas}", have.replicas),
                    ));
                }
                for (manager, fields) in &have.other_managers {
                    found.push(finding(
                        Area::Workloads,
                        &object,
                        DriftKind::Setting,
                        &format!("was changed by field manager {manager}: {}", fields.join(", ")),
                    ));
                }
            }
        }
    }
    found
}

/// How the External Secrets Operator differs from the release the provider installs.
fn secrets_operator_drift(seen: Option<&DeploymentSeen>, found: &mut Vec<Finding>) {
    let object = format!("Kubernetes Deployment {ESO_NAMESPACE}/{}", external_secrets::DEPLOYMENT_NAME);
    let Some(seen) = seen else {
        found.push(finding(Area::Workloads, &object, DriftKind::Missing, "does not exist"));
        return;
    };
    if seen.image.as_deref() != Some(external_secrets::IMAGE) {
        let running = seen.image.as_deref().unwrap_or("no image");
        let wanted = external_secrets::IMAGE;
        found.push(finding(
            Area::Workloads,
            &object,
            DriftKind::Setting,
            &format!("runs {running}, the provider installs {wanted}"),
        ));
    }
    for (manager, fields) in &seen.other_managers {
        let change = format!("was changed by field manager {manager}: {}", fields.join(", "));
        found.push(finding(Area::Workloads, &object, DriftKind::Setting, &change));
    }
}

/// The ownership mark of a Kubernetes object (its owner annotation), as tags, so the AWS rule
/// decides on it.
pub fn owner_tags(annotations: Option<&BTreeMap<String, String>>) -> Tags {
    let token = annotations.and_then(|annotations| annotations.get(super::workloads::OWNER_ANNOTATION));
    token.map(|token| Tags::from([(OWNER_TAG.to_owned(), token.clone())])).unwrap_or_default()
}
