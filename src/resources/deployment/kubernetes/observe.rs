//! Reading the workloads: the namespace (for its ownership mark), Retool's Deployments and the
//! External Secrets Operator's, with what each runs, how many replicas it has and has ready, and
//! which other field managers changed its spec (from `managedFields`).

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;
use kube::api::DynamicObject;
use serde_json::Value as Json;

use super::{cluster_access, owner_tags};
use crate::aws::AwsClients;
use crate::error::Error;
use crate::kubernetes::FIELD_MANAGER;
use crate::kubernetes::objects::{list, read};
use crate::resources::deployment::external_secrets;
use crate::resources::deployment::names::{ESO_NAMESPACE, Names};
use crate::resources::deployment::observed::{ClusterState, DeploymentSeen, WorkloadsSeen};
use crate::resources::deployment::workloads::APP_NAME;
use crate::stop::StopSignal;

/// The most fields a drift sentence lists for one field manager.
const FIELDS_SHOWN: usize = 5;

/// The workloads on `cluster`; `None` while there is no ACTIVE cluster to ask.
pub async fn observe(
    clients: &AwsClients,
    names: &Names,
    cluster: Option<&ClusterState>,
    stop: &StopSignal,
) -> Result<Option<WorkloadsSeen>, Error> {
    let namespace = names.namespace();
    let Some(cluster) = cluster.filter(|cluster| cluster.status == "ACTIVE") else { return Ok(None) };
    let access =
        cluster_access(clients, &cluster.name, cluster.endpoint.as_deref(), cluster.certificate_authority.as_deref())?;
    let found = match read(&access, "v1", "Namespace", None, &namespace, stop).await {
        Ok(found) => found,
        Err(Error::Kubernetes(error)) if matches!(error.status, Some(401 | 403)) => {
            return Ok(Some(WorkloadsSeen { access_denied: Some(error.message), ..WorkloadsSeen::default() }));
        }
        Err(error) => return Err(error),
    };
    let Some(namespace_object) = found else { return Ok(Some(WorkloadsSeen::default())) };
    let labels = format!("app.kubernetes.io/name={APP_NAME}");
    let found = list(&access, "apps/v1", "Deployment", &namespace, &labels, stop).await?;
    let deployments = found.iter().map(|object| typed(object, "ListDeployments")).collect::<Result<Vec<_>, _>>()?;
    let operator = read(&access, "apps/v1", "Deployment", Some(ESO_NAMESPACE), external_secrets::DEPLOYMENT_NAME, stop)
        .await?
        .map(|object| typed(&object, "ReadDeployment"))
        .transpose()?;
    Ok(Some(WorkloadsSeen {
        access_denied: None,
        namespace: Some(owner_tags(namespace_object.metadata.annotations.as_ref())),
        deployments,
        secrets_operator: operator,
    }))
}

/// A Deployment read as a dynamic object, as seen.
fn typed(object: &DynamicObject, operation: &'static str) -> Result<DeploymentSeen, Error> {
    let deployment: Deployment = serde_json::to_value(object)
        .and_then(serde_json::from_value)
        .map_err(|error| Error::unexpected(operation, format!("a Deployment could not be read: {error}")))?;
    Ok(seen(&deployment))
}

/// What a Deployment runs and how it is doing.
fn seen(deployment: &Deployment) -> DeploymentSeen {
    let metadata = &deployment.metadata;
    let spec = deployment.spec.as_ref();
    let status = deployment.status.as_ref();
    let containers =
        spec.and_then(|spec| spec.template.spec.as_ref()).map(|pod| pod.containers.as_slice()).unwrap_or_default();
    DeploymentSeen {
        name: metadata.name.clone().unwrap_or_default(),
        tags: owner_tags(metadata.annotations.as_ref()),
        image: containers.first().and_then(|container| container.image.clone()),
        replicas: spec.and_then(|spec| spec.replicas).unwrap_or(1),
        ready: status.and_then(|status| status.ready_replicas).unwrap_or(0),
        generation: metadata.generation.unwrap_or(0),
        observed_generation: status.and_then(|status| status.observed_generation).unwrap_or(0),
        other_managers: other_managers(metadata.managed_fields.as_deref().unwrap_or_default()),
        rollout: crate::kubernetes::rollout_state(deployment),
    }
}

/// The field managers other than the provider that own fields of the spec, with those fields.
/// Controllers writing status, and the provider's own applies, are not drift.
fn other_managers(entries: &[ManagedFieldsEntry]) -> Vec<(String, Vec<String>)> {
    entries
        .iter()
        .filter(|entry| {
            entry.manager.as_deref() != Some(FIELD_MANAGER) && entry.subresource.as_deref() != Some("status")
        })
        .filter_map(|entry| {
            let spec = entry.fields_v1.as_ref()?.0.get("f:spec")?;
            let mut fields = Vec::new();
            leaf_paths(spec, "spec", &mut fields);
            if fields.is_empty() {
                return None;
            }
            if fields.len() > FIELDS_SHOWN {
                let more = fields.len() - FIELDS_SHOWN;
                fields.truncate(FIELDS_SHOWN);
                fields.push(format!("and {more} more"));
            }
            Some((entry.manager.clone().unwrap_or_else(|| "(unnamed)".to_owned()), fields))
        })
        .collect()
}

/// The paths of the leaves of a `fieldsV1` tree: `f:name` is a field, `k:{...}` a list item by
/// key, `v:…` a set member; `.` marks the node itself.
fn leaf_paths(node: &Json, path: &str, out: &mut Vec<String>) {
    let Some(children) = node.as_object().filter(|children| children.keys().any(|key| key != ".")) else {
        out.push(path.to_owned());
        return;
    };
    for (key, child) in children.iter().filter(|(key, _)| *key != ".") {
        let step = if let Some(field) = key.strip_prefix("f:") {
            format!("{path}.{field}")
        } else if let Some(item) = key.strip_prefix("k:") {
            let named = serde_json::from_str::<Json>(item)
                .ok()
                .and_then(|item| item.get("name").and_then(Json::as_str).map(str::to_owned))
                .unwrap_or_else(|| item.to_owned());
            format!("{path}[{named}]")
        } else {
            format!("{path}[{}]", key.trim_start_matches("v:"))
        };
        leaf_paths(child, &step, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(manager: &str, subresource: Option<&str>, fields: Json) -> ManagedFieldsEntry {
        serde_json::from_value(json!({
            "manager": manager, "operation": "Update", "subresource": subresource,
            "fieldsType": "FieldsV1", "fieldsV1": fields
        }))
        .expect("entry")
    }

    #[test]
    fn other_field_managers_are_named_with_the_spec_fields_they_own() {
        let entries = [
            entry(FIELD_MANAGER, None, json!({"f:spec": {"f:replicas": {}}})),
            entry("kube-controller-manager", Some("status"), json!({"f:status": {"f:replicas": {}}})),
            entry(
                "kube-controller-manager",
                None,
                json!({"f:metadata": {"f:annotations": {".": {}, "f:deployment.kubernetes.io/revision": {}}}}),
            ),
            entry(
                "kubectl-edit",
                None,
                json!({"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                    "k:{\"name\":\"api\"}": {"f:image": {}, "f:env": {"k:{\"name\":\"FOO\"}": {".": {}, "f:name": {}, "f:value": {}}}}
                }}}}}),
            ),
        ];
        let found = other_managers(&entries);
        assert_eq!(found.len(), 1, "{found:?}");
        let (manager, fields) = &found[0];
        assert_eq!(manager, "kubectl-edit");
        assert_eq!(
            fields,
            &[
                "spec.replicas",
                "spec.template.spec.containers[api].image",
                "spec.template.spec.containers[api].env[FOO].name",
                "spec.template.spec.containers[api].env[FOO].value",
            ]
        );
    }

    #[test]
    fn long_field_lists_are_cut() {
        let many: serde_json::Map<String, Json> = (0..9).map(|n| (format!("f:field{n}"), json!({}))).collect();
        let found = other_managers(&[entry("helm", None, json!({ "f:spec": many }))]);
        assert_eq!(found[0].1.len(), FIELDS_SHOWN + 1);
        assert_eq!(found[0].1.last().map(String::as_str), Some("and 4 more"));
    }
}
