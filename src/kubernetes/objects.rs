//! Objects in a cluster: applied with server-side apply under one field manager, read, listed and
//! deleted, with throttling and server errors retried and Terraform's stop request honoured.
//!
//! Server-side apply is what makes the provider a fair co-owner of objects: the server records
//! which manager set which field, an identical apply changes nothing (not even the
//! `resourceVersion`), and the fields someone else set are visible in `managedFields`, so drift
//! can name who changed what. The provider applies with `force`, because by then the plan has
//! shown the drift it takes back. Objects nobody else may co-own (a pinned release's CRDs) are
//! written whole instead ([`replace`]).

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::{ApiResource, Scope};
use serde::Serialize;
use serde_json::Value as Json;

use super::access::ClusterAccess;
use crate::aws::wait::{RetryWhile, retry_while};
use crate::error::{Error, KubernetesError};
use crate::stop::StopSignal;

/// The one field manager the provider applies as.
pub const FIELD_MANAGER: &str = "terraform-provider-retool";

/// How long a call is repeated while the server throttles, fails or cannot be reached.
const TRANSIENT: RetryWhile = RetryWhile { condition: is_transient, timeout: Duration::from_secs(120) };

fn is_transient(error: &Error) -> bool {
    matches!(error, Error::Kubernetes(error) if error.is_transient())
}

/// One object to apply: its type, its name and namespace, and its body as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// `apiVersion`, e.g. `apps/v1`.
    pub api_version: String,
    /// `kind`, e.g. `Deployment`.
    pub kind: String,
    /// `metadata.namespace`; `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
    /// The whole object.
    pub body: Json,
}

impl Manifest {
    /// A typed object's manifest.
    pub fn of<K>(object: &K) -> Result<Self, Error>
    where
        K: Serialize,
    {
        let body = serde_json::to_value(object)
            .map_err(|error| Error::unexpected("RenderObject", format!("could not render an object: {error}")))?;
        Self::from_json(body)
    }

    /// A manifest from JSON with `apiVersion`, `kind` and `metadata.name`.
    pub fn from_json(body: Json) -> Result<Self, Error> {
        let text = |pointer: &str| body.pointer(pointer).and_then(Json::as_str).map(str::to_owned);
        let (Some(api_version), Some(kind), Some(name)) = (text("/apiVersion"), text("/kind"), text("/metadata/name"))
        else {
            return Err(Error::unexpected("RenderObject", "an object lacks apiVersion, kind or metadata.name"));
        };
        let namespace = text("/metadata/namespace");
        Ok(Self { api_version, kind, namespace, name, body })
    }

    /// The same object under another `apiVersion` of its kind (a server that serves only an
    /// older one).
    pub fn with_api_version(mut self, api_version: &str) -> Self {
        api_version.clone_into(&mut self.api_version);
        if let Some(object) = self.body.as_object_mut() {
            object.insert("apiVersion".to_owned(), Json::String(api_version.to_owned()));
        }
        self
    }

    /// `Kind namespace/name`, as messages name it.
    pub fn describe(&self) -> String {
        describe(&self.kind, self.namespace.as_deref(), &self.name)
    }
}

/// `Kind namespace/name` (or `Kind name` when cluster-scoped).
pub fn describe(kind: &str, namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(namespace) => format!("{kind} {namespace}/{name}"),
        None => format!("{kind} {name}"),
    }
}

/// One line per call at debug level, as the AWS calls have: which call, on what, how long, and
/// how it ended (never a body).
async fn logged<T>(
    call: &'static str,
    object: &str,
    future: impl std::future::Future<Output = Result<T, kube::Error>>,
) -> Result<T, kube::Error> {
    let started = std::time::Instant::now();
    let result = future.await;
    let outcome = match &result {
        Ok(_) => "ok".to_owned(),
        Err(kube::Error::Api(status)) => status.code.to_string(),
        Err(_) => "no answer".to_owned(),
    };
    tracing::debug!(
        kubernetes_call = call,
        object,
        duration_ms = started.elapsed().as_millis() as u64,
        outcome = %outcome,
        "Kubernetes API call"
    );
    result
}

/// A failed call in words.
fn failure(operation: &'static str, object: String, error: kube::Error) -> Error {
    let (status, reason, message, causes) = match error {
        kube::Error::Api(status) => {
            let causes = status
                .details
                .as_ref()
                .map(|details| {
                    details
                        .causes
                        .iter()
                        .map(|cause| match (cause.field.is_empty(), cause.reason.as_str()) {
                            (false, "FieldManagerConflict") => {
                                format!("field {} is owned by another field manager: {}", cause.field, cause.message)
                            }
                            (false, _) => format!("{}: {}", cause.field, cause.message),
                            (true, _) => cause.message.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let reason = (!status.reason.is_empty()).then(|| status.reason.clone());
            (Some(status.code), reason, status.message.clone(), causes)
        }
        other => (None, None, chain(&other), Vec::new()),
    };
    Error::Kubernetes(KubernetesError { operation, object, status, reason, message, causes })
}

/// An error and its causes in words, outermost first.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

/// The API path of `api_version`/`kind` and whether it is namespaced, found by discovery once per
/// access; `None` when the server does not serve it (asked again next time: a CRD just applied
/// is served moments later).
async fn resource(
    access: &ClusterAccess,
    api_version: &str,
    kind: &str,
    stop: &StopSignal,
) -> Result<Option<(ApiResource, bool)>, Error> {
    let key = format!("{api_version}/{kind}");
    if let Some(found) = access.resources.lock().await.get(&key) {
        return Ok(Some(found.clone()));
    }
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let found = retry_while(TRANSIENT, stop, || async {
        let client = access.client().await?;
        match logged("Discover", &key, kube::discovery::oneshot::pinned_kind(&client, &gvk)).await {
            Ok((resource, capabilities)) => Ok(Some((resource, capabilities.scope == Scope::Namespaced))),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(None),
            Err(kube::Error::Discovery(_)) => Ok(None),
            Err(error) => Err(failure("Discover", format!("{api_version} {kind}"), error)),
        }
    })
    .await?;
    if let Some(found) = &found {
        access.resources.lock().await.insert(key, found.clone());
    }
    Ok(found)
}

/// Whether the server serves `api_version`/`kind` (e.g. `policy/v1` PodDisruptionBudget).
pub async fn serves(access: &ClusterAccess, api_version: &str, kind: &str, stop: &StopSignal) -> Result<bool, Error> {
    Ok(resource(access, api_version, kind, stop).await?.is_some())
}

async fn api(
    access: &ClusterAccess,
    api_version: &str,
    kind: &str,
    namespace: Option<&str>,
    stop: &StopSignal,
) -> Result<Option<Api<DynamicObject>>, Error> {
    let Some((resource, namespaced)) = resource(access, api_version, kind, stop).await? else { return Ok(None) };
    let client = access.client().await?;
    let api = match namespace {
        Some(namespace) if namespaced => Api::namespaced_with(client, namespace, &resource),
        _ => Api::all_with(client, &resource),
    };
    Ok(Some(api))
}

fn not_served(operation: &'static str, api_version: &str, kind: &str) -> Error {
    Error::Kubernetes(KubernetesError {
        operation,
        object: format!("{api_version} {kind}"),
        status: Some(404),
        reason: Some("NotFound".to_owned()),
        message: format!("the cluster does not serve {kind} in {api_version}"),
        causes: Vec::new(),
    })
}

/// Applies `manifest` (server-side apply as [`FIELD_MANAGER`], taking back fields other managers
/// changed) and returns the object as the server stored it.
pub async fn apply(access: &ClusterAccess, manifest: &Manifest, stop: &StopSignal) -> Result<DynamicObject, Error> {
    let object = manifest.describe();
    let Some(api) = api(access, &manifest.api_version, &manifest.kind, manifest.namespace.as_deref(), stop).await?
    else {
        return Err(not_served("Apply", &manifest.api_version, &manifest.kind));
    };
    let params = PatchParams::apply(FIELD_MANAGER).force();
    retry_while(TRANSIENT, stop, || async {
        logged("Apply", &object, api.patch(&manifest.name, &params, &Patch::Apply(&manifest.body)))
            .await
            .map_err(|error| failure("Apply", object.clone(), error))
    })
    .await
}

/// Reads an object; `None` when it does not exist (or its type is not served).
pub async fn read(
    access: &ClusterAccess,
    api_version: &str,
    kind: &str,
    namespace: Option<&str>,
    name: &str,
    stop: &StopSignal,
) -> Result<Option<DynamicObject>, Error> {
    let Some(api) = api(access, api_version, kind, namespace, stop).await? else { return Ok(None) };
    let object = describe(kind, namespace, name);
    retry_while(TRANSIENT, stop, || async {
        logged("Read", &object, api.get_opt(name)).await.map_err(|error| failure("Read", object.clone(), error))
    })
    .await
}

/// Lists the objects of a type in `namespace` that carry `labels` (a label selector).
pub async fn list(
    access: &ClusterAccess,
    api_version: &str,
    kind: &str,
    namespace: &str,
    labels: &str,
    stop: &StopSignal,
) -> Result<Vec<DynamicObject>, Error> {
    let Some(api) = api(access, api_version, kind, Some(namespace), stop).await? else { return Ok(Vec::new()) };
    let params = ListParams::default().labels(labels);
    let object = format!("{kind} in namespace {namespace}");
    retry_while(TRANSIENT, stop, || async {
        logged("List", &object, api.list(&params))
            .await
            .map(|list| list.items)
            .map_err(|error| failure("List", object.clone(), error))
    })
    .await
}

/// The metadata (name, labels, annotations, `resourceVersion`) of every cluster-scoped object of a
/// type — the cheap way to learn what exists without its body.
pub async fn list_metadata(
    access: &ClusterAccess,
    api_version: &str,
    kind: &str,
    stop: &StopSignal,
) -> Result<Vec<ObjectMeta>, Error> {
    let Some(api) = api(access, api_version, kind, None, stop).await? else { return Ok(Vec::new()) };
    let object = format!("{api_version} {kind}");
    retry_while(TRANSIENT, stop, || async {
        logged("ListMetadata", &object, api.list_metadata(&ListParams::default()))
            .await
            .map(|list| list.items.into_iter().map(|item| item.metadata).collect())
            .map_err(|error| failure("ListMetadata", object.clone(), error))
    })
    .await
}

/// Writes `manifest`'s object whole, as [`FIELD_MANAGER`]: created when `existing` is `None`,
/// otherwise replaced if it is still at `existing` (its `resourceVersion`; a conflict means
/// someone changed it since it was read). For objects the provider owns entirely, such as CRDs
/// of a pinned release, where a merge with what is there has no meaning.
pub async fn replace(
    access: &ClusterAccess,
    manifest: &Manifest,
    existing: Option<&str>,
    stop: &StopSignal,
) -> Result<DynamicObject, Error> {
    let object = manifest.describe();
    let Some(api) = api(access, &manifest.api_version, &manifest.kind, manifest.namespace.as_deref(), stop).await?
    else {
        return Err(not_served("Replace", &manifest.api_version, &manifest.kind));
    };
    let mut body: DynamicObject = serde_json::from_value(manifest.body.clone())
        .map_err(|error| Error::unexpected("RenderObject", format!("{object} is not an object: {error}")))?;
    body.metadata.resource_version = existing.map(str::to_owned);
    let params = PostParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..PostParams::default() };
    retry_while(TRANSIENT, stop, || async {
        let sent = match existing {
            None => logged("Create", &object, api.create(&params, &body)).await,
            Some(_) => logged("Replace", &object, api.replace(&manifest.name, &params, &body)).await,
        };
        sent.map_err(|error| failure("Replace", object.clone(), error))
    })
    .await
}

/// Deletes an object (its dependents by the garbage collector, in the background); an object
/// already gone, or a type the server does not serve, is success.
pub async fn delete(
    access: &ClusterAccess,
    api_version: &str,
    kind: &str,
    namespace: Option<&str>,
    name: &str,
    stop: &StopSignal,
) -> Result<(), Error> {
    let Some(api) = api(access, api_version, kind, namespace, stop).await? else { return Ok(()) };
    let object = describe(kind, namespace, name);
    let result = retry_while(TRANSIENT, stop, || async {
        logged("Delete", &object, api.delete(name, &DeleteParams::background()))
            .await
            .map(|_| ())
            .map_err(|error| failure("Delete", object.clone(), error))
    })
    .await;
    match result {
        Err(error) if error.is_not_found() => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_know_their_object() {
        let manifest = Manifest::from_json(serde_json::json!({
            "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": "api", "namespace": "retool"}
        }))
        .expect("manifest");
        assert_eq!(manifest.describe(), "PodDisruptionBudget retool/api");
        let older = manifest.with_api_version("policy/v1beta1");
        assert_eq!(older.api_version, "policy/v1beta1");
        assert_eq!(older.body["apiVersion"], "policy/v1beta1");
        assert!(Manifest::from_json(serde_json::json!({"kind": "Namespace"})).is_err());
        assert_eq!(describe("Namespace", None, "retool"), "Namespace retool");
    }

    #[test]
    fn server_errors_read_as_sentences_with_their_causes() {
        let status = kube::core::Status {
            code: 409,
            reason: "Conflict".into(),
            message: "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using apps/v1: .spec.replicas"
                .into(),
            details: Some(kube::core::response::StatusDetails {
                causes: vec![kube::core::response::StatusCause {
                    reason: "FieldManagerConflict".into(),
                    message: "conflict with \"kubectl-edit\" using apps/v1".into(),
                    field: ".spec.replicas".into(),
                }],
                name: "api".into(),
                group: "apps".into(),
                kind: "deployments".into(),
                uid: String::new(),
                retry_after_seconds: 0,
            }),
            ..Default::default()
        };
        let error = failure("Apply", "Deployment retool/api".into(), kube::Error::Api(Box::new(status)));
        let text = error.to_string();
        assert!(text.starts_with("Apply Deployment retool/api failed: Apply failed with 1 conflict"), "{text}");
        assert!(
            text.contains("field .spec.replicas is owned by another field manager: conflict with \"kubectl-edit\""),
            "{text}"
        );
        assert!(text.contains("Kubernetes: 409 Conflict"), "{text}");
        assert!(!is_transient(&error));
        assert!(!text.contains("Some("), "{text}");

        let gone = kube::core::Status { code: 404, reason: "NotFound".into(), ..Default::default() };
        assert!(failure("Read", "x".into(), kube::Error::Api(Box::new(gone))).is_not_found());
        let throttled = kube::core::Status { code: 429, ..Default::default() };
        assert!(is_transient(&failure("Read", "x".into(), kube::Error::Api(Box::new(throttled)))));
    }
}
