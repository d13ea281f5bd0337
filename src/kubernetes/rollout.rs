//! When a Deployment's rollout is done, and why one is stuck.
//!
//! "Done" is kubectl's rule, stricter than Helm's `--wait`: the controller has seen the latest
//! spec, every replica runs the new template, no old replica is left (not even terminating), and
//! every new replica is available. A rollout whose `Progressing` condition reports
//! `ProgressDeadlineExceeded` has failed. When a wait ends without success, the pods say why: the
//! container that is waiting or terminated and the reason Kubernetes gives (`ImagePullBackOff`,
//! `CrashLoopBackOff`, …), or that a pod cannot be scheduled.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;

use super::access::ClusterAccess;
use super::objects::{describe, list, read};
use crate::aws::wait::{Backoff, Poll, wait_for};
use crate::error::Error;
use crate::stop::StopSignal;

/// Where a rollout stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rollout {
    /// kubectl would report "successfully rolled out".
    Done,
    /// Still going; what it waits for, in words.
    Waiting(String),
    /// It cannot finish by itself; why, in words.
    Failed(String),
}

/// The rollout state of `deployment` by kubectl's rule.
pub fn rollout_state(deployment: &Deployment) -> Rollout {
    let generation = deployment.metadata.generation.unwrap_or(0);
    let Some(status) = deployment.status.as_ref() else {
        return Rollout::Waiting("the deployment controller has not reported yet".to_owned());
    };
    if status.observed_generation.unwrap_or(0) < generation {
        return Rollout::Waiting("the deployment controller has not seen the latest change yet".to_owned());
    }
    let deadline_exceeded = status.conditions.iter().flatten().any(|condition| {
        condition.type_ == "Progressing" && condition.reason.as_deref() == Some("ProgressDeadlineExceeded")
    });
    if deadline_exceeded {
        return Rollout::Failed("it made no progress within its progress deadline".to_owned());
    }
    let wanted = deployment.spec.as_ref().and_then(|spec| spec.replicas).unwrap_or(1);
    let updated = status.updated_replicas.unwrap_or(0);
    let total = status.replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    if updated < wanted {
        Rollout::Waiting(format!("{updated} of {wanted} pods run the new version"))
    } else if total > updated {
        Rollout::Waiting(format!("{} old pods are still terminating", total - updated))
    } else if available < updated {
        Rollout::Waiting(format!("{available} of {updated} new pods are available"))
    } else {
        Rollout::Done
    }
}

/// Why `pod` is not ready, in words; `None` when nothing is wrong with it.
pub fn pod_problem(pod: &Pod) -> Option<String> {
    let name = pod.metadata.name.as_deref().unwrap_or("(unnamed)");
    let status = pod.status.as_ref()?;
    let statuses = status.init_container_statuses.iter().flatten().chain(status.container_statuses.iter().flatten());
    for container in statuses.filter(|container| !container.ready) {
        let state = container.state.as_ref();
        if let Some(waiting) = state.and_then(|state| state.waiting.as_ref())
            && let Some(reason) = waiting.reason.as_deref()
            && reason != "ContainerCreating"
            && reason != "PodInitializing"
        {
            let message = waiting.message.as_deref().map(|message| format!(" ({message})")).unwrap_or_default();
            return Some(format!("pod {name}: container {} is waiting: {reason}{message}", container.name));
        }
        if let Some(terminated) = state.and_then(|state| state.terminated.as_ref()) {
            let reason = terminated.reason.as_deref().unwrap_or("Error");
            return Some(format!(
                "pod {name}: container {} exited with code {}: {reason}",
                container.name, terminated.exit_code
            ));
        }
    }
    let unschedulable = status
        .conditions
        .iter()
        .flatten()
        .find(|condition| condition.type_ == "PodScheduled" && condition.status == "False");
    unschedulable.map(|condition| {
        let reason = condition.message.as_deref().or(condition.reason.as_deref()).unwrap_or("no node fits");
        format!("pod {name} cannot be scheduled: {reason}")
    })
}

/// Waits until the Deployment `namespace/name` has rolled out, within `timeout`, honouring stop.
/// A failed or timed-out rollout names the pods' problems (`pod_labels` selects its pods).
pub async fn wait_rolled_out(
    access: &ClusterAccess,
    namespace: &str,
    name: &str,
    pod_labels: &str,
    timeout: Duration,
    stop: &StopSignal,
) -> Result<(), Error> {
    let object = describe("Deployment", Some(namespace), name);
    // A pod's start is seconds, not minutes: the first reads come soon (0.5 s, then ×1.5), so a
    // rollout that finishes is seen within about a quarter of its time, and the reads settle at one
    // every 5 s for a long one (kubectl's `rollout status` watches instead; a read every 5 s costs
    // the API server as little). Measured by scripts/scale-bench, "Workloads on the cluster".
    let backoff = Backoff { initial: Duration::from_millis(500), max: Duration::from_secs(5), timeout };
    let waited = wait_for("WaitRollout", backoff, stop, || async {
        let Some(found) = read(access, "apps/v1", "Deployment", Some(namespace), name, stop).await? else {
            return Err(Error::unexpected("WaitRollout", format!("{object} was deleted while it rolled out")));
        };
        let deployment: Deployment = serde_json::from_value(serde_json::to_value(&found).unwrap_or_default())
            .map_err(|error| Error::unexpected("WaitRollout", format!("{object} could not be read: {error}")))?;
        match rollout_state(&deployment) {
            Rollout::Done => Ok(Poll::Ready(Ok(()))),
            Rollout::Failed(why) => Ok(Poll::Ready(Err(why))),
            Rollout::Waiting(what) => {
                tracing::info!(object = %object, progress = %what, "rolling out");
                Ok(Poll::Pending(what))
            }
        }
    })
    .await;
    let why = match waited {
        Ok(Ok(())) => return Ok(()),
        Ok(Err(why)) => why,
        Err(Error::TimedOut { last_seen, after, .. }) => {
            format!("it did not finish within {}s ({last_seen})", after.as_secs())
        }
        Err(other) => return Err(other),
    };
    let pods = list(access, "v1", "Pod", namespace, pod_labels, stop).await.unwrap_or_default();
    let problems: Vec<String> = pods
        .iter()
        .filter_map(|pod| serde_json::to_value(pod).ok().and_then(|value| serde_json::from_value::<Pod>(value).ok()))
        .filter_map(|pod| pod_problem(&pod))
        .collect();
    let detail = if problems.is_empty() { String::new() } else { format!("\n  - {}", problems.join("\n  - ")) };
    Err(Error::unexpected("WaitRollout", format!("{object} did not roll out: {why}{detail}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(generation: i64, replicas: i32, status: serde_json::Value) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "api", "generation": generation},
            "spec": {"replicas": replicas, "selector": {}, "template": {}},
            "status": status
        }))
        .expect("deployment")
    }

    #[test]
    fn kubectl_rule_waits_for_the_controller_the_update_old_pods_and_availability() {
        let seen = |observed: i64, replicas: i32, updated: i32, available: i32| json!({"observedGeneration": observed, "replicas": replicas, "updatedReplicas": updated, "availableReplicas": available});
        assert!(
            matches!(rollout_state(&deployment(2, 2, seen(1, 2, 2, 2))), Rollout::Waiting(w) if w.contains("not seen"))
        );
        assert_eq!(
            rollout_state(&deployment(2, 3, seen(2, 3, 1, 3))),
            Rollout::Waiting("1 of 3 pods run the new version".into())
        );
        assert_eq!(
            rollout_state(&deployment(2, 2, seen(2, 3, 2, 2))),
            Rollout::Waiting("1 old pods are still terminating".into())
        );
        assert_eq!(
            rollout_state(&deployment(2, 2, seen(2, 2, 2, 1))),
            Rollout::Waiting("1 of 2 new pods are available".into())
        );
        assert_eq!(rollout_state(&deployment(2, 2, seen(2, 2, 2, 2))), Rollout::Done);
        assert_eq!(rollout_state(&deployment(1, 0, seen(1, 0, 0, 0))), Rollout::Done, "scaled to zero");
        let mut stuck = seen(2, 2, 1, 1);
        stuck["conditions"] = json!([{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]);
        assert!(matches!(rollout_state(&deployment(2, 2, stuck)), Rollout::Failed(_)));
        let unreported: Deployment =
            serde_json::from_value(json!({"metadata": {"generation": 1}})).expect("deployment");
        assert!(matches!(rollout_state(&unreported), Rollout::Waiting(_)));
    }

    #[test]
    fn pods_say_which_container_waits_and_why() {
        let pod = |status: serde_json::Value| -> Pod {
            serde_json::from_value(json!({"metadata": {"name": "api-1"}, "status": status})).expect("pod")
        };
        let pulling = pod(json!({"containerStatuses": [{
            "name": "api", "ready": false, "restartCount": 0, "image": "i", "imageID": "",
            "state": {"waiting": {"reason": "ImagePullBackOff", "message": "tag 9.9.9 not found"}}
        }]}));
        assert_eq!(
            pod_problem(&pulling).as_deref(),
            Some("pod api-1: container api is waiting: ImagePullBackOff (tag 9.9.9 not found)")
        );
        let crashed = pod(json!({"containerStatuses": [{
            "name": "api", "ready": false, "restartCount": 3, "image": "i", "imageID": "",
            "state": {"terminated": {"exitCode": 1, "reason": "Error"}}
        }]}));
        assert_eq!(pod_problem(&crashed).as_deref(), Some("pod api-1: container api exited with code 1: Error"));
        let pending = pod(
            json!({"conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/3 nodes are available"}]}),
        );
        assert_eq!(pod_problem(&pending).as_deref(), Some("pod api-1 cannot be scheduled: 0/3 nodes are available"));
        let starting = pod(json!({"containerStatuses": [{
            "name": "api", "ready": false, "restartCount": 0, "image": "i", "imageID": "",
            "state": {"waiting": {"reason": "ContainerCreating"}}
        }]}));
        assert_eq!(pod_problem(&starting), None);
    }
}
