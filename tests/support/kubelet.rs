//! The node side of the Kubernetes test server ([`super::kubernetes`]): a fake kubelet that makes
//! pods run, and a recorder that keeps the timeline of every pod, so tests can assert the order of
//! a rollout from what the API server saw.
//!
//! Why fake: no container runs in the tests, but the deployment and replica-set controllers only
//! move on when pods are bound, ready, and gone after deletion. [`FakeKubelet`] does what a kubelet
//! reports through the API — binds pending pods to the node `test-node` (`pods/binding`), marks
//! them Running and Ready after a delay (`pods/status`), completes the deletion of terminating pods
//! (`gracePeriodSeconds=0`) after a delay — and, for images a test names, reports the container
//! waiting with a reason (`ImagePullBackOff`, `CrashLoopBackOff`) instead, as a broken image would.
//! Delays and failures are settable while it runs. It polls the pods every 100 ms.
//!
//! [`PodRecorder`] watches the pods (a list, then a watch from its resource version) and stamps
//! each change when it arrives, so its timeline is ordered as the server ordered the changes, to
//! within the watch latency. Pods are grouped by the label `app.kubernetes.io/component`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, Preconditions, WatchEvent, WatchParams,
};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// The node every pod is bound to.
pub const NODE_NAME: &str = "test-node";
/// The label pods are grouped by.
pub const COMPONENT_LABEL: &str = "app.kubernetes.io/component";
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Containers whose image contains `image_contains` never become ready: they wait with `reason`.
#[derive(Debug, Clone)]
pub struct ImageFailure {
    /// A substring of the image (`tryretool/backend:9.9.9`, or just `:9.9.9`).
    pub image_contains: String,
    /// The waiting reason, as a kubelet reports it (`ImagePullBackOff`, `CrashLoopBackOff`).
    pub reason: String,
    /// The waiting message.
    pub message: String,
}

#[derive(Debug, Clone)]
struct Settings {
    ready_delay: Duration,
    delete_delay: Duration,
    failures: Vec<ImageFailure>,
}

/// What the kubelet last wrote into a pod's status.
#[derive(Debug, Clone, PartialEq)]
enum Reported {
    Ready,
    Failing(Vec<String>),
}

/// The fake kubelet: a task on the test's runtime, stopped on drop.
pub struct FakeKubelet {
    settings: Arc<Mutex<Settings>>,
    errors: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl FakeKubelet {
    /// Creates the node (if missing) and starts serving pods: ready 1 s after binding, deletions
    /// completed at once, no failures.
    pub async fn start(client: kube::Client) -> Self {
        let nodes: Api<Node> = Api::all(client.clone());
        let node: Node = serde_json::from_value(json!({
            "metadata": {"name": NODE_NAME, "labels": {"kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}}
        }))
        .expect("a Node");
        match nodes.create(&PostParams::default(), &node).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(error) => panic!("cannot create the node {NODE_NAME}: {error}"),
        }
        let settings = Arc::new(Mutex::new(Settings {
            ready_delay: Duration::from_secs(1),
            delete_delay: Duration::ZERO,
            failures: Vec::new(),
        }));
        let errors = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn(run(client, Arc::clone(&settings), Arc::clone(&errors)));
        Self { settings, errors, task }
    }

    /// Time from a pod's binding to its readiness.
    pub fn set_ready_delay(&self, delay: Duration) {
        self.settings.lock().expect("settings").ready_delay = delay;
    }

    /// Time from a pod's deletion (its `deletionTimestamp`) to its removal.
    pub fn set_delete_delay(&self, delay: Duration) {
        self.settings.lock().expect("settings").delete_delay = delay;
    }

    /// From now on, containers with matching images wait with `reason` and `message`.
    pub fn fail_image(&self, image_contains: &str, reason: &str, message: &str) {
        self.settings.lock().expect("settings").failures.push(ImageFailure {
            image_contains: image_contains.to_owned(),
            reason: reason.to_owned(),
            message: message.to_owned(),
        });
    }

    /// Drops every failure rule: failing containers become ready.
    pub fn clear_failures(&self) {
        self.settings.lock().expect("settings").failures.clear();
    }

    /// Requests the kubelet could not make (other than to pods that vanished meanwhile).
    pub fn errors(&self) -> Vec<String> {
        self.errors.lock().map(|errors| errors.clone()).unwrap_or_default()
    }
}

impl Drop for FakeKubelet {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Default)]
struct PodState {
    bound_at: Option<Instant>,
    terminating_since: Option<Instant>,
    reported: Option<Reported>,
}

async fn run(client: kube::Client, settings: Arc<Mutex<Settings>>, errors: Arc<Mutex<Vec<String>>>) {
    let all: Api<Pod> = Api::all(client.clone());
    let mut states: HashMap<String, PodState> = HashMap::new();
    loop {
        match all.list(&ListParams::default()).await {
            Ok(pods) => {
                let current = settings.lock().ok().map(|settings| settings.clone());
                if let Some(current) = current {
                    let mut seen = Vec::new();
                    for pod in pods.items {
                        let uid = pod.metadata.uid.clone().unwrap_or_default();
                        let state = states.entry(uid.clone()).or_default();
                        seen.push(uid);
                        if let Err(error) = serve(&client, &pod, state, &current).await {
                            record_error(&errors, error);
                        }
                    }
                    states.retain(|uid, _| seen.contains(uid));
                }
            }
            Err(error) => record_error(&errors, format!("cannot list pods: {error}")),
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

fn record_error(errors: &Mutex<Vec<String>>, error: String) {
    if let Ok(mut errors) = errors.lock() {
        errors.push(error);
    }
}

/// One step of one pod: bind, report, or finish its deletion.
async fn serve(client: &kube::Client, pod: &Pod, state: &mut PodState, settings: &Settings) -> Result<(), String> {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(client.clone(), &namespace);
    let now = Instant::now();
    let gone =
        |error: &kube::Error| matches!(error, kube::Error::Api(status) if status.code == 404 || status.code == 409);

    if pod.metadata.deletion_timestamp.is_some() {
        let since = *state.terminating_since.get_or_insert(now);
        if now.duration_since(since) >= settings.delete_delay {
            let params = DeleteParams {
                grace_period_seconds: Some(0),
                preconditions: Some(Preconditions { uid: pod.metadata.uid.clone(), resource_version: None }),
                ..DeleteParams::default()
            };
            match api.delete(&name, &params).await {
                Ok(_) => {}
                Err(error) if gone(&error) => {}
                Err(error) => return Err(format!("cannot delete pod {namespace}/{name}: {error}")),
            }
        }
        return Ok(());
    }

    let bound = pod.spec.as_ref().and_then(|spec| spec.node_name.as_ref()).is_some();
    if !bound {
        let binding = json!({
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": name, "namespace": namespace},
            "target": {"apiVersion": "v1", "kind": "Node", "name": NODE_NAME},
        });
        return match api.create_subresource::<Value, Value>("binding", &name, &PostParams::default(), &binding).await {
            Ok(_) => {
                state.bound_at = Some(now);
                Ok(())
            }
            Err(error) if gone(&error) => Ok(()),
            Err(error) => Err(format!("cannot bind pod {namespace}/{name}: {error}")),
        };
    }

    let bound_at = *state.bound_at.get_or_insert(now);
    if now.duration_since(bound_at) < settings.ready_delay {
        return Ok(());
    }
    let (status, reported) = pod_status(pod, &settings.failures);
    if state.reported.as_ref() == Some(&reported) {
        return Ok(());
    }
    match api.patch_status(&name, &PatchParams::default(), &Patch::Merge(json!({"status": status}))).await {
        Ok(_) => {
            state.reported = Some(reported);
            Ok(())
        }
        Err(error) if gone(&error) => Ok(()),
        Err(error) => Err(format!("cannot report the status of pod {namespace}/{name}: {error}")),
    }
}

/// The status a kubelet would report: every container running and ready, or — for containers
/// whose image a failure rule matches — waiting with the rule's reason and message.
fn pod_status(pod: &Pod, failures: &[ImageFailure]) -> (Value, Reported) {
    let now = k8s_openapi::jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let containers = pod.spec.as_ref().map(|spec| spec.containers.clone()).unwrap_or_default();
    let mut failing = Vec::new();
    let mut pull_failure = false;
    let statuses: Vec<Value> = containers
        .iter()
        .map(|container| {
            let image = container.image.clone().unwrap_or_default();
            let failure = failures.iter().find(|failure| image.contains(&failure.image_contains));
            match failure {
                Some(failure) => {
                    failing.push(container.name.clone());
                    // An image that cannot be pulled never started; a crashing one restarted.
                    let pull = failure.reason.contains("Image") || failure.reason.contains("Pull");
                    pull_failure |= pull;
                    json!({
                        "name": container.name, "image": image, "imageID": "", "ready": false,
                        "restartCount": if pull { 0 } else { 3 }, "started": false,
                        "state": {"waiting": {"reason": failure.reason, "message": failure.message}},
                    })
                }
                None => json!({
                    "name": container.name, "image": image, "imageID": format!("docker-pullable://{image}"),
                    "ready": true, "restartCount": 0, "started": true,
                    "state": {"running": {"startedAt": now}},
                }),
            }
        })
        .collect();
    let ready = failing.is_empty();
    let condition = |type_: &str, status: bool| {
        let mut condition =
            json!({"type": type_, "status": if status { "True" } else { "False" }, "lastTransitionTime": now});
        if !status && let Some(fields) = condition.as_object_mut() {
            fields.insert("reason".into(), json!("ContainersNotReady"));
            fields.insert("message".into(), json!(format!("containers with unready status: [{}]", failing.join(" "))));
        }
        condition
    };
    let status = json!({
        "phase": if pull_failure { "Pending" } else { "Running" },
        "hostIP": "127.0.0.1",
        "startTime": now,
        "conditions": [
            condition("Initialized", true),
            condition("Ready", ready),
            condition("ContainersReady", ready),
            condition("PodScheduled", true),
        ],
        "containerStatuses": statuses,
    });
    (status, if ready { Reported::Ready } else { Reported::Failing(failing) })
}

// ---------------------------------------------------------------------------------------------
// The recorder
// ---------------------------------------------------------------------------------------------

/// A change of a pod, as the recorder saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodChange {
    /// The pod appeared.
    Created,
    /// Its `Ready` condition became true.
    Ready,
    /// Its `Ready` condition became false again.
    NotReady,
    /// It got a `deletionTimestamp`.
    Terminating,
    /// It is gone from the API.
    Gone,
}

/// Everything one pod went through.
#[derive(Debug, Clone)]
pub struct PodHistory {
    /// `namespace/name`.
    pub name: String,
    /// Its labels when first seen.
    pub labels: BTreeMap<String, String>,
    /// The images of its containers.
    pub images: Vec<String>,
    /// Its changes, in the order they arrived.
    pub changes: Vec<(Instant, PodChange)>,
}

impl PodHistory {
    /// Its `app.kubernetes.io/component` label.
    pub fn component(&self) -> Option<&str> {
        self.labels.get(COMPONENT_LABEL).map(String::as_str)
    }

    /// Whether one of its containers runs `image` exactly.
    pub fn runs(&self, image: &str) -> bool {
        self.images.iter().any(|candidate| candidate == image)
    }

    /// When the first change of `kind` arrived.
    pub fn first(&self, kind: PodChange) -> Option<Instant> {
        self.changes.iter().find(|(_, change)| *change == kind).map(|(at, _)| *at)
    }

    /// Whether the pod existed at `at` (created at or before it, not gone yet).
    pub fn exists_at(&self, at: Instant) -> bool {
        self.first(PodChange::Created).is_some_and(|created| created <= at)
            && self.first(PodChange::Gone).is_none_or(|gone| gone > at)
    }

    /// Whether the pod was ready at `at`: its last change until then was `Ready` (terminating
    /// counts as not ready, as endpoints drop terminating pods).
    pub fn ready_at(&self, at: Instant) -> bool {
        self.changes
            .iter()
            .rev()
            .find(|(when, change)| *when <= at && *change != PodChange::Created)
            .is_some_and(|(_, change)| *change == PodChange::Ready)
    }
}

/// A snapshot of the recorder's histories, with the questions rollout tests ask.
#[derive(Debug, Clone)]
pub struct PodTimeline {
    /// Every pod seen, in the order first seen.
    pub pods: Vec<PodHistory>,
}

impl PodTimeline {
    /// The pods of a component.
    pub fn component(&self, component: &str) -> Vec<&PodHistory> {
        self.pods.iter().filter(|pod| pod.component() == Some(component)).collect()
    }

    /// Pairs (a, b) of pods of `component`, `a` matching `first` and `b` matching `second`, that
    /// existed at the same moment: empty when, say, old and new pods never coexisted.
    pub fn coexisting(
        &self,
        component: &str,
        first: impl Fn(&PodHistory) -> bool,
        second: impl Fn(&PodHistory) -> bool,
    ) -> Vec<(String, String)> {
        let pods = self.component(component);
        let mut pairs = Vec::new();
        for a in pods.iter().filter(|pod| first(pod)) {
            for b in pods.iter().filter(|pod| second(pod) && pod.name != a.name) {
                let overlap = a.changes.iter().chain(&b.changes).any(|(at, _)| a.exists_at(*at) && b.exists_at(*at));
                if overlap {
                    pairs.push((a.name.clone(), b.name.clone()));
                }
            }
        }
        pairs
    }

    /// The fewest ready pods of `component` at any moment from `from` to `until` (each change in
    /// between is a moment the count may change).
    pub fn min_ready(&self, component: &str, from: Instant, until: Instant) -> usize {
        let pods = self.component(component);
        let moments = std::iter::once(from).chain(
            pods.iter().flat_map(|pod| pod.changes.iter().map(|(at, _)| *at)).filter(|at| *at > from && *at <= until),
        );
        moments.map(|at| pods.iter().filter(|pod| pod.ready_at(at)).count()).min().unwrap_or(0)
    }

    /// When every pod of `component` that matches `which` had become ready; None while one has not.
    pub fn all_ready(&self, component: &str, which: impl Fn(&PodHistory) -> bool) -> Option<Instant> {
        let readiness: Vec<Option<Instant>> = self
            .component(component)
            .into_iter()
            .filter(|pod| which(pod))
            .map(|pod| pod.first(PodChange::Ready))
            .collect();
        if readiness.is_empty() {
            return None;
        }
        readiness.into_iter().try_fold(None, |latest: Option<Instant>, ready| ready.map(|at| latest.max(Some(at))))?
    }

    /// The first change (creation, termination) to a pod of `component` after `since`.
    pub fn first_change_after(&self, component: &str, since: Instant) -> Option<Instant> {
        self.component(component)
            .iter()
            .flat_map(|pod| pod.changes.iter())
            .filter(|(at, change)| *at > since && matches!(change, PodChange::Created | PodChange::Terminating))
            .map(|(at, _)| *at)
            .min()
    }

    /// The timeline in words (milliseconds from the first change), for failure messages.
    pub fn describe(&self) -> String {
        let start = self.pods.iter().flat_map(|pod| pod.changes.iter().map(|(at, _)| *at)).min();
        let mut lines: Vec<(Instant, String)> = self
            .pods
            .iter()
            .flat_map(|pod| {
                pod.changes.iter().map(move |(at, change)| {
                    (*at, format!("{:?} {} ({}) {:?}", change, pod.name, pod.component().unwrap_or("-"), pod.images))
                })
            })
            .collect();
        lines.sort_by_key(|(at, _)| *at);
        lines
            .into_iter()
            .map(|(at, line)| {
                format!("{:>7} ms  {line}", start.map(|start| at.duration_since(start).as_millis()).unwrap_or(0))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Watches every pod and keeps its history; stopped on drop.
pub struct PodRecorder {
    histories: Arc<Mutex<Histories>>,
    task: JoinHandle<()>,
}

#[derive(Default)]
struct Histories {
    by_uid: HashMap<String, usize>,
    pods: Vec<PodHistory>,
}

impl Histories {
    fn observe(&mut self, pod: &Pod, at: Instant) {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let index = match self.by_uid.get(&uid) {
            Some(index) => *index,
            None => {
                self.pods.push(PodHistory {
                    name: format!(
                        "{}/{}",
                        pod.metadata.namespace.as_deref().unwrap_or_default(),
                        pod.metadata.name.as_deref().unwrap_or_default()
                    ),
                    labels: pod.metadata.labels.clone().unwrap_or_default(),
                    images: pod
                        .spec
                        .as_ref()
                        .map(|spec| spec.containers.iter().filter_map(|container| container.image.clone()).collect())
                        .unwrap_or_default(),
                    changes: vec![(at, PodChange::Created)],
                });
                self.by_uid.insert(uid, self.pods.len() - 1);
                self.pods.len() - 1
            }
        };
        let Some(history) = self.pods.get_mut(index) else { return };
        let last = |history: &PodHistory, kinds: &[PodChange]| {
            history.changes.iter().rev().find(|(_, change)| kinds.contains(change)).map(|(_, change)| *change)
        };
        if pod.metadata.deletion_timestamp.is_some() && history.first(PodChange::Terminating).is_none() {
            history.changes.push((at, PodChange::Terminating));
        }
        let ready = pod
            .status
            .as_ref()
            .and_then(|status| status.conditions.as_ref())
            .is_some_and(|conditions| conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        let was_ready = last(history, &[PodChange::Ready, PodChange::NotReady]) == Some(PodChange::Ready);
        if ready && !was_ready {
            history.changes.push((at, PodChange::Ready));
        } else if !ready && was_ready {
            history.changes.push((at, PodChange::NotReady));
        }
    }

    fn gone(&mut self, uid: &str, at: Instant) {
        if let Some(history) = self.by_uid.get(uid).and_then(|index| self.pods.get_mut(*index))
            && history.first(PodChange::Gone).is_none()
        {
            history.changes.push((at, PodChange::Gone));
        }
    }
}

impl PodRecorder {
    /// Lists the pods that exist now, then records every change until dropped.
    pub async fn start(client: kube::Client) -> Self {
        let api: Api<Pod> = Api::all(client);
        let histories = Arc::new(Mutex::new(Histories::default()));
        let version = relist(&api, &histories).await.unwrap_or_else(|error| panic!("cannot list pods: {error}"));
        let task = tokio::spawn(watch(api, Arc::clone(&histories), version));
        Self { histories, task }
    }

    /// Everything recorded so far.
    pub fn timeline(&self) -> PodTimeline {
        PodTimeline { pods: self.histories.lock().map(|histories| histories.pods.clone()).unwrap_or_default() }
    }
}

impl Drop for PodRecorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Observes every pod that exists, marks the others gone, and returns the list's resource version.
async fn relist(api: &Api<Pod>, histories: &Mutex<Histories>) -> Result<String, kube::Error> {
    let list = api.list(&ListParams::default()).await?;
    let now = Instant::now();
    if let Ok(mut histories) = histories.lock() {
        let present: Vec<String> = list.items.iter().filter_map(|pod| pod.metadata.uid.clone()).collect();
        for pod in &list.items {
            histories.observe(pod, now);
        }
        let vanished: Vec<String> = histories.by_uid.keys().filter(|uid| !present.contains(uid)).cloned().collect();
        for uid in vanished {
            histories.gone(&uid, now);
        }
    }
    Ok(list.metadata.resource_version.unwrap_or_default())
}

async fn watch(api: Api<Pod>, histories: Arc<Mutex<Histories>>, mut version: String) {
    loop {
        let mut broken = false;
        match api.watch(&WatchParams::default().timeout(120), &version).await {
            Ok(stream) => {
                let mut stream = std::pin::pin!(stream);
                while let Some(event) = stream.next().await {
                    let now = Instant::now();
                    let Ok(mut histories) = histories.lock() else { return };
                    match event {
                        Ok(WatchEvent::Added(pod) | WatchEvent::Modified(pod)) => {
                            histories.observe(&pod, now);
                            version = pod.metadata.resource_version.clone().unwrap_or(version);
                        }
                        Ok(WatchEvent::Deleted(pod)) => {
                            histories.gone(pod.metadata.uid.as_deref().unwrap_or_default(), now);
                            version = pod.metadata.resource_version.clone().unwrap_or(version);
                        }
                        Ok(WatchEvent::Bookmark(bookmark)) => version = bookmark.metadata.resource_version,
                        Ok(WatchEvent::Error(_)) | Err(_) => {
                            broken = true;
                            break;
                        }
                    }
                }
            }
            Err(_) => broken = true,
        }
        if broken {
            // The version may be too old (410 Gone): catch up from a fresh list.
            tokio::time::sleep(POLL_INTERVAL).await;
            if let Ok(fresh) = relist(&api, &histories).await {
                version = fresh;
            }
        }
    }
}
