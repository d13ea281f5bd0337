//! Smoke test of the Kubernetes test harness (tests/support/kubernetes.rs, kubelet.rs): the real
//! kube-apiserver and controller manager start beside the emulator; server-side apply creates a
//! Deployment; the fake kubelet makes its pods ready, so the real deployment controller rolls a
//! `RollingUpdate` without losing ready pods and a `Recreate` without overlap; a failing image shows
//! its waiting reason; and an EKS bearer token is accepted only through an access entry with the
//! cluster-admin policy (the API server asks the emulator's authenticator).
//!
//! The harness is what the `retool_deployment` tests stand on: if this test fails, theirs say
//! nothing.

use std::process::Command;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::support::kubelet::PodHistory;
use crate::support::{
    Emulator, FakeKubelet, KubernetesOptions, KubernetesServer, PodRecorder, Toolchain, acceptance_toolchain,
    aws as support_aws,
};

const NAMESPACE: &str = "smoke";
const MANAGER: &str = "kubernetes-server-smoke";
const CLUSTER: &str = "smoke";
const ADMIN_POLICY: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";
/// The principal moto's STS reports for the emulator's own credentials.
const MOTO_PRINCIPAL: &str = "arn:aws:sts::123456789012:user/moto";

fn deployment(name: &str, image: &str, replicas: i32, strategy: serde_json::Value) -> serde_json::Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "replicas": replicas,
            "strategy": strategy,
            "selector": {"matchLabels": {"app.kubernetes.io/component": name}},
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/component": name}},
                "spec": {"containers": [{"name": name, "image": image}]},
            },
        },
    })
}

fn rolling() -> serde_json::Value {
    json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}})
}

/// Server-side apply as the provider does it: PATCH ?fieldManager, application/apply-patch+yaml.
async fn apply(api: &Api<Deployment>, object: &serde_json::Value) -> Deployment {
    let name = object["metadata"]["name"].as_str().unwrap();
    api.patch(name, &PatchParams::apply(MANAGER), &Patch::Apply(object))
        .await
        .unwrap_or_else(|e| panic!("apply {name}: {e}"))
}

/// kubectl's rollout rule: observed generation caught up, all replicas updated, no old ones left,
/// all updated ones available.
async fn wait_for_rollout(api: &Api<Deployment>, name: &str, recorder: &PodRecorder) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let deployment = api.get(name).await.unwrap();
        let generation = deployment.metadata.generation.unwrap_or_default();
        let desired = deployment.spec.as_ref().and_then(|spec| spec.replicas).unwrap_or(1);
        let status = deployment.status.clone().unwrap_or_default();
        let updated = status.updated_replicas.unwrap_or(0);
        if status.observed_generation.unwrap_or(0) >= generation
            && updated == desired
            && status.replicas.unwrap_or(0) == updated
            && status.available_replicas.unwrap_or(0) == updated
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "deployment {name} did not roll out in 90 s: {status:?}\n{}",
            recorder.timeline().describe()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits (30 s) until the pods of `component` run exactly `images`, terminating ones included.
async fn wait_for_images(pods: &Api<Pod>, component: &str, images: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let listed = pods
            .list(&ListParams::default().labels(&format!("app.kubernetes.io/component={component}")))
            .await
            .unwrap();
        let mut live: Vec<String> = listed
            .items
            .iter()
            .flat_map(|pod| pod.spec.iter().flat_map(|spec| spec.containers.iter().filter_map(|c| c.image.clone())))
            .collect();
        live.sort();
        if live == images {
            return;
        }
        assert!(Instant::now() < deadline, "the pods of {component} run {live:?}, not {images:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An EKS bearer token of the emulator's credentials for `cluster`, presigned by botocore (the
/// provider makes its own with aws-sigv4; this one is independent of it).
fn eks_token(toolchain: &Toolchain, emulator: &Emulator, cluster: &str) -> String {
    let script = r#"
import base64, sys
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
request = AWSRequest(method="GET", url=sys.argv[1] + "/?Action=GetCallerIdentity&Version=2011-06-15",
                     headers={"x-k8s-aws-id": sys.argv[2]})
SigV4QueryAuth(Credentials("test", "test"), "sts", "us-east-1", expires=60).add_auth(request)
print("k8s-aws-v1." + base64.urlsafe_b64encode(request.url.encode()).decode().rstrip("="))
"#;
    let output = Command::new(toolchain.python()).args(["-c", script, &emulator.endpoint(), cluster]).output().unwrap();
    assert!(output.status.success(), "token script: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

async fn client_with_token(server: &KubernetesServer, token: &str) -> kube::Client {
    let kubeconfig = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server.url(), "certificate-authority": server.ca_file()}}],
        "users": [{"name": "u", "user": {"token": token}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c",
    });
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&kubeconfig.to_string()).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.unwrap();
    kube::Client::try_from(config).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn kubernetes_server_rolls_deployments_and_checks_eks_tokens() {
    let toolchain = acceptance_toolchain("kubernetes_server_rolls_deployments_and_checks_eks_tokens");
    let emulator = Emulator::start(&toolchain);
    let server = KubernetesServer::start(&KubernetesOptions::new(&emulator.endpoint(), CLUSTER)).await;
    eprintln!("kubernetes test server ready in {:?} at {}", server.started_in(), server.url());
    let client = server.client();
    let kubelet = FakeKubelet::start(client.clone()).await;
    kubelet.set_ready_delay(Duration::from_millis(500));
    let recorder = PodRecorder::start(client.clone()).await;

    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": NAMESPACE}})).unwrap())
        .await
        .unwrap();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NAMESPACE);
    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);

    // RollingUpdate, surge 1, no unavailability: ready api pods never below 2.
    let created = apply(&deployments, &deployment("api", "tryretool/backend:1.0.0", 2, rolling())).await;
    let managers: Vec<_> = created.metadata.managed_fields.unwrap_or_default();
    assert!(
        managers
            .iter()
            .any(|entry| entry.manager.as_deref() == Some(MANAGER) && entry.operation.as_deref() == Some("Apply")),
        "the applied Deployment is managed by {MANAGER}: {managers:?}"
    );
    wait_for_rollout(&deployments, "api", &recorder).await;
    let before_upgrade = Instant::now();
    let again = apply(&deployments, &deployment("api", "tryretool/backend:1.0.0", 2, rolling())).await;
    assert_eq!(again.metadata.generation, Some(1), "an identical apply changes nothing");
    apply(&deployments, &deployment("api", "tryretool/backend:2.0.0", 2, rolling())).await;
    wait_for_rollout(&deployments, "api", &recorder).await;
    let timeline = recorder.timeline();
    let new_api = |pod: &PodHistory| pod.runs("tryretool/backend:2.0.0");
    assert_eq!(timeline.component("api").iter().filter(|pod| new_api(pod)).count(), 2, "{}", timeline.describe());
    assert!(timeline.all_ready("api", new_api).is_some(), "{}", timeline.describe());
    assert_eq!(timeline.min_ready("api", before_upgrade, Instant::now()), 2, "{}", timeline.describe());
    // The old pods' deletion is completed by the kubelet: only new pods remain.
    wait_for_images(&pods, "api", &["tryretool/backend:2.0.0", "tryretool/backend:2.0.0"]).await;

    // Control: a rollout that may drop a ready pod (maxUnavailable 1, no surge) and overlaps old and
    // new pods is seen as such by the recorder, so the two assertions above can fail.
    let lossy = json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}});
    apply(&deployments, &deployment("workflows-worker", "tryretool/backend:1.0.0", 2, lossy.clone())).await;
    wait_for_rollout(&deployments, "workflows-worker", &recorder).await;
    let before_lossy = Instant::now();
    apply(&deployments, &deployment("workflows-worker", "tryretool/backend:2.0.0", 2, lossy)).await;
    wait_for_rollout(&deployments, "workflows-worker", &recorder).await;
    let timeline = recorder.timeline();
    assert_eq!(timeline.min_ready("workflows-worker", before_lossy, Instant::now()), 1, "{}", timeline.describe());
    assert!(
        !timeline
            .coexisting(
                "workflows-worker",
                |p| p.runs("tryretool/backend:1.0.0"),
                |p| p.runs("tryretool/backend:2.0.0")
            )
            .is_empty(),
        "{}",
        timeline.describe()
    );

    // Recreate: the old pod is gone (after a lingering termination) before the new one exists.
    kubelet.set_delete_delay(Duration::from_secs(1));
    let recreate = json!({"type": "Recreate"});
    apply(&deployments, &deployment("jobs-runner", "tryretool/backend:1.0.0", 1, recreate.clone())).await;
    wait_for_rollout(&deployments, "jobs-runner", &recorder).await;
    let before_recreate = Instant::now();
    apply(&deployments, &deployment("jobs-runner", "tryretool/backend:2.0.0", 1, recreate)).await;
    wait_for_rollout(&deployments, "jobs-runner", &recorder).await;
    let timeline = recorder.timeline();
    let old_jobs = |pod: &PodHistory| pod.runs("tryretool/backend:1.0.0");
    let new_jobs = |pod: &PodHistory| pod.runs("tryretool/backend:2.0.0");
    assert_eq!(
        timeline.coexisting("jobs-runner", old_jobs, new_jobs),
        Vec::<(String, String)>::new(),
        "{}",
        timeline.describe()
    );
    let old_gone = timeline
        .component("jobs-runner")
        .iter()
        .filter(|pod| old_jobs(pod))
        .filter_map(|pod| pod.first(crate::support::kubelet::PodChange::Gone))
        .max();
    let new_created = timeline
        .component("jobs-runner")
        .iter()
        .filter(|pod| new_jobs(pod))
        .filter_map(|pod| pod.first(crate::support::kubelet::PodChange::Created))
        .min();
    assert!(
        matches!((old_gone, new_created), (Some(gone), Some(created)) if gone >= before_recreate && gone <= created),
        "the old jobs-runner pod is gone before the new one is created\n{}",
        timeline.describe()
    );
    kubelet.set_delete_delay(Duration::ZERO);

    // A failing image: the pod reports the waiting reason and the Deployment never becomes available.
    kubelet.fail_image(
        ":broken",
        "ImagePullBackOff",
        "Back-off pulling image \"tryretool/code-executor-service:broken\"",
    );
    apply(&deployments, &deployment("code-executor", "tryretool/code-executor-service:broken", 1, rolling())).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let waiting = loop {
        let listed =
            pods.list(&ListParams::default().labels("app.kubernetes.io/component=code-executor")).await.unwrap();
        let reason = listed.items.iter().find_map(|pod| {
            let statuses = pod.status.as_ref()?.container_statuses.as_ref()?;
            let waiting = statuses.first()?.state.as_ref()?.waiting.as_ref()?;
            Some((waiting.reason.clone()?, waiting.message.clone().unwrap_or_default()))
        });
        if let Some(reason) = reason {
            break reason;
        }
        assert!(Instant::now() < deadline, "no waiting reason on the code-executor pod in 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(waiting.0, "ImagePullBackOff");
    assert!(waiting.1.contains("code-executor-service:broken"), "{waiting:?}");
    let status = deployments.get("code-executor").await.unwrap().status.unwrap_or_default();
    assert_eq!(status.available_replicas.unwrap_or(0), 0, "a failing pod is not available: {status:?}");

    // EKS tokens: refused without an access entry, accepted (as system:masters) with the admin policy.
    let eks = aws_sdk_eks::Client::new(&support_aws::sdk_config(&emulator.endpoint()));
    eks.create_cluster()
        .name(CLUSTER)
        .version("1.33")
        .role_arn("arn:aws:iam::123456789012:role/eks")
        .resources_vpc_config(aws_sdk_eks::types::VpcConfigRequest::builder().subnet_ids("subnet-1").build())
        .send()
        .await
        .unwrap();
    let token = eks_token(&toolchain, &emulator, CLUSTER);
    let as_caller = client_with_token(&server, &token).await;
    let refused = Api::<Namespace>::all(as_caller.clone()).list(&ListParams::default()).await;
    assert!(
        matches!(&refused, Err(kube::Error::Api(status)) if status.code == 401),
        "no access entry yet: {refused:?}"
    );
    eks.create_access_entry().cluster_name(CLUSTER).principal_arn(MOTO_PRINCIPAL).send().await.unwrap();
    eks.associate_access_policy()
        .cluster_name(CLUSTER)
        .principal_arn(MOTO_PRINCIPAL)
        .policy_arn(ADMIN_POLICY)
        .access_scope(
            aws_sdk_eks::types::AccessScope::builder().r#type(aws_sdk_eks::types::AccessScopeType::Cluster).build(),
        )
        .send()
        .await
        .unwrap();
    let namespaces = Api::<Namespace>::all(as_caller).list(&ListParams::default()).await.unwrap();
    assert!(namespaces.items.iter().any(|ns| ns.metadata.name.as_deref() == Some(NAMESPACE)));
    let other_cluster_token = eks_token(&toolchain, &emulator, "another-cluster");
    let refused = Api::<Namespace>::all(client_with_token(&server, &other_cluster_token).await)
        .list(&ListParams::default())
        .await;
    assert!(
        matches!(&refused, Err(kube::Error::Api(status)) if status.code == 401),
        "a token for another cluster: {refused:?}"
    );

    // The External Secrets Operator's CRDs (the pinned release's, installed by the harness) serve
    // their kinds and validate them by their real schemas.
    let secret_stores: Api<kube::api::DynamicObject> = Api::namespaced_with(
        client.clone(),
        NAMESPACE,
        &kube::api::ApiResource::from_gvk_with_plural(
            &kube::api::GroupVersionKind::gvk("external-secrets.io", "v1", "SecretStore"),
            "secretstores",
        ),
    );
    let store = |service: &str| {
        json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore", "metadata": {"name": "aws"},
               "spec": {"provider": {"aws": {"service": service, "region": "us-east-1"}}}})
    };
    let unknown = secret_stores.patch("aws", &PatchParams::apply(MANAGER), &Patch::Apply(&store("Vault"))).await;
    assert!(matches!(&unknown, Err(kube::Error::Api(status)) if status.code == 422), "an unknown service: {unknown:?}");
    secret_stores.patch("aws", &PatchParams::apply(MANAGER), &Patch::Apply(&store("SecretsManager"))).await.unwrap();
    assert_eq!(secret_stores.get("aws").await.unwrap().data["spec"]["provider"]["aws"]["service"], "SecretsManager");

    assert_eq!(kubelet.errors(), Vec::<String>::new(), "the fake kubelet's requests all succeeded");
    let memory = server.memory_kib();
    eprintln!(
        "kubernetes test server: started in {:?}; resident memory {}",
        server.started_in(),
        memory.iter().map(|(name, kib)| format!("{name} {} MiB", kib / 1024)).collect::<Vec<_>>().join(", ")
    );
}
