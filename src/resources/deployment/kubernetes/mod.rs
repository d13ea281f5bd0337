//! The workloads chain: Retool on the deployment's cluster. It runs after the AWS chains, because
//! it needs what they made (the cluster and the access entry, the database endpoint, the secrets'
//! ARNs, the storage role), and is removed first on destroy, while the cluster still answers.
//!
//! Converge gives the provider's identity its access entry, then applies the objects
//! [`workloads`](super::workloads) builds, with server-side apply: first everything that is not a
//! Deployment, then the jobs-runner alone — with `Recreate`, the old pod is gone before the new
//! one runs the migrations — and waits until it is available, then the other Deployments
//! together, each with surge and no unavailability, and waits for them. An object whose applied
//! configuration is unchanged is not touched by the server, so a change of one container's
//! replicas or resources rolls only that container.
//!
//! Observation costs at most four Kubernetes calls: discovery of `apps/v1` and of the core group,
//! the namespace and one list of the Deployments (with their `managedFields`, which say which
//! field manager changed what).

pub mod observe;

use std::collections::BTreeMap;
use std::time::Duration;

use super::aws::access::{ensure_admin_access, principal_arn};
use super::aws::chains::Context;
use super::desired::Desired;
use super::drift::{Area, Finding, finding};
use super::observed::{ClusterState, Observed};
use super::workloads::{Component, WorkloadInputs, Workloads, workloads};
use crate::aws::wait::{Backoff, Poll, wait_for};
use crate::aws::{AwsClients, Tags};
use crate::error::Error;
use crate::kubernetes::objects::{apply, delete, read, serves};
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
    let started = std::time::Instant::now();
    apply_all(cx, &access, &objects).await?;
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

async fn apply_all(cx: &Context<'_>, access: &ClusterAccess, objects: &Workloads) -> Result<(), Error> {
    let stop = cx.stop;
    apply(access, &Manifest::of(&objects.namespace)?, stop).await?;
    let mut first = Vec::new();
    for account in &objects.service_accounts {
        first.push(Manifest::of(account)?);
    }
    for service in &objects.services {
        first.push(Manifest::of(service)?);
    }
    first.push(Manifest::of(&objects.network_policy)?);
    first.push(disruption_budget(access, objects, stop).await?);
    if serves(access, EXTERNAL_SECRETS_API, "SecretStore", stop).await? {
        first.push(Manifest::from_json(objects.secret_store.clone())?);
        for external in &objects.external_secrets {
            first.push(Manifest::from_json(external.clone())?);
        }
    } else {
        cx.notes.add(format!(
            "The External Secrets Operator is not installed on cluster {}: the Secret the Retool pods read is not \
             filled until it is.",
            access.cluster()
        ));
    }
    futures::future::try_join_all(first.iter().map(|manifest| apply(access, manifest, stop))).await?;

    let timeout = cx.desired.eks_budget(cx.operation);
    let (runners, others): (Vec<_>, Vec<_>) =
        objects.deployments.iter().partition(|(component, _)| *component == Component::JobsRunner);
    for batch in [runners, others] {
        let manifests = batch
            .iter()
            .map(|(component, deployment)| Ok((*component, Manifest::of(deployment)?)))
            .collect::<Result<Vec<_>, Error>>()?;
        futures::future::try_join_all(manifests.iter().map(|(_, manifest)| apply(access, manifest, stop))).await?;
        futures::future::try_join_all(manifests.iter().map(|(component, manifest)| {
            let labels = pod_selector(cx.desired, *component);
            let namespace = cx.desired.names.namespace();
            async move { wait_rolled_out(access, &namespace, &manifest.name, &labels, timeout, stop).await }
        }))
        .await?;
    }
    Ok(())
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

/// The ownership mark of a Kubernetes object (its owner annotation), as tags, so the AWS rule
/// decides on it.
pub fn owner_tags(annotations: Option<&BTreeMap<String, String>>) -> Tags {
    let token = annotations.and_then(|annotations| annotations.get(super::workloads::OWNER_ANNOTATION));
    token.map(|token| Tags::from([(OWNER_TAG.to_owned(), token.clone())])).unwrap_or_default()
}
