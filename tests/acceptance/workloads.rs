//! Retool on the cluster, end to end: real Terraform and the provider against the emulator and a
//! real Kubernetes API server (with the real deployment controller and the fake kubelet). What
//! the tests assert is read from the API server and from the pod timeline it records: the objects
//! and their field manager, the order pods changed in during an upgrade, which Deployments a change
//! touched, what another field manager's edit looks like and how apply takes it back, a rollout
//! that cannot finish, and that destroy leaves nothing.

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

use crate::support::kubelet::{PodChange, PodHistory};
use crate::support::workspace::two_zone_network;
use crate::support::{Emulator, PodRecorder, Workspace, acceptance_toolchain};

const NAME: &str = "wl";
const MANAGER: &str = "terraform-provider-retool";

/// The network and a deployment running Retool `version` with `api_replicas` api pods, and `extra`
/// inside the deployment block.
fn config(workspace: &Workspace, version: &str, api_replicas: u32, extra: &str) -> String {
    let provider = workspace.provider_block_with("  max_retries = 2\n");
    let network = two_zone_network(NAME);
    format!(
        r#"{provider}
{network}

resource "retool_deployment" "app" {{
  name           = "{NAME}"
  network_id     = retool_network.net.id
  retool_version = "{version}"
  domain         = "retool.{NAME}.test"
  api {{
    replicas = {api_replicas}
  }}
  database {{
    deletion_protection = false
    skip_final_snapshot = true
  }}
{extra}}}
"#
    )
}

async fn deployments(client: &kube::Client) -> Vec<Deployment> {
    let api: Api<Deployment> = Api::namespaced(client.clone(), NAME);
    api.list(&ListParams::default()).await.expect("list Deployments").items
}

fn name_of(deployment: &Deployment) -> &str {
    deployment.metadata.name.as_deref().unwrap_or_default()
}

fn generations(list: &[Deployment]) -> Vec<(String, i64)> {
    list.iter().map(|d| (name_of(d).to_owned(), d.metadata.generation.unwrap_or(0))).collect()
}

fn image(deployment: &Deployment) -> String {
    let pod = deployment.spec.as_ref().and_then(|spec| spec.template.spec.as_ref()).expect("a pod template");
    pod.containers.first().and_then(|container| container.image.clone()).unwrap_or_default()
}

/// Every object in the namespace as JSON, of the kinds the provider applies.
async fn namespace_objects(client: &kube::Client) -> Vec<Value> {
    let kinds = [
        ("", "v1", "ServiceAccount"),
        ("", "v1", "Service"),
        ("apps", "v1", "Deployment"),
        ("networking.k8s.io", "v1", "NetworkPolicy"),
        ("policy", "v1beta1", "PodDisruptionBudget"),
        ("external-secrets.io", "v1", "SecretStore"),
        ("external-secrets.io", "v1", "ExternalSecret"),
    ];
    let mut objects = Vec::new();
    for (group, version, kind) in kinds {
        let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), NAME, &resource);
        for object in api.list(&ListParams::default()).await.unwrap_or_else(|e| panic!("list {kind}: {e}")).items {
            // A list's items carry no kind of their own.
            let mut object = serde_json::to_value(object).expect("json");
            object["kind"] = json!(kind);
            objects.push(object);
        }
    }
    objects
}

/// The `resourceVersion` of each External Secrets Operator CRD, by name.
async fn crd_versions(client: &kube::Client) -> Vec<(String, String)> {
    let resource =
        ApiResource::from_gvk(&GroupVersionKind::gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"));
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
    let mut versions: Vec<(String, String)> = api
        .list_metadata(&ListParams::default())
        .await
        .expect("list CRDs")
        .items
        .into_iter()
        .filter_map(|crd| Some((crd.metadata.name?, crd.metadata.resource_version?)))
        .filter(|(name, _)| name.ends_with("external-secrets.io"))
        .collect();
    versions.sort();
    versions
}

fn managers(object: &Value) -> Vec<String> {
    let entries = object["metadata"]["managedFields"].as_array().cloned().unwrap_or_default();
    entries.iter().filter_map(|entry| entry["manager"].as_str().map(str::to_owned)).collect()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1, the test venv (moto, Terraform) and the Kubernetes test server: run `make test`"]
async fn retool_runs_upgrades_in_order_scales_one_container_repairs_drift_and_is_removed() {
    let toolchain = acceptance_toolchain("workloads");
    let emulator = Emulator::start(&toolchain);
    let workspace = Workspace::new(&toolchain, &emulator);
    let cluster = workspace.start_cluster(&[NAME]).await;
    let client = cluster.server.client();
    let recorder = PodRecorder::start(client.clone()).await;
    let terraform = workspace.terraform();
    // The most the provider and Terraform ever log, which must hold no secret value either.
    let log_path = workspace.root().join("terraform-trace.log");
    let logged = terraform
        .with_setting("TF_LOG", "trace")
        .with_setting("TF_LOG_PATH", log_path.to_str().expect("UTF-8 workspace path"));

    let operators: Api<Deployment> = Api::namespaced(client.clone(), "external-secrets");
    let namespaces: Api<Namespace> = Api::all(client.clone());

    // Create: every object exists, applied by the provider's field manager, and every pod is ready.
    let crd_versions_before = crd_versions(&client).await;
    workspace.write_main(&config(&workspace, "3.148.0-stable", 3, ""));
    terraform.init().await.expect("init");
    logged.apply().await.expect("create");
    let found = namespaces.get(NAME).await.expect("the deployment's namespace");
    let annotations = found.metadata.annotations.unwrap_or_default();
    assert!(annotations.contains_key("retool.com/owner"), "the namespace carries the ownership mark: {annotations:?}");
    let running = deployments(&client).await;
    let mut names: Vec<&str> = running.iter().map(name_of).collect();
    names.sort_unstable();
    assert_eq!(names, ["api", "code-executor", "jobs-runner", "workflows-backend", "workflows-worker"]);
    for deployment in &running {
        let status = deployment.status.clone().unwrap_or_default();
        let wanted = deployment.spec.as_ref().and_then(|spec| spec.replicas).unwrap_or(1);
        assert_eq!(status.ready_replicas.unwrap_or(0), wanted, "{} is ready", name_of(deployment));
        assert_eq!(image(deployment).rsplit(':').next(), Some("3.148.0-stable"));
    }
    let objects = namespace_objects(&client).await;
    for object in &objects {
        assert!(managers(object).iter().any(|m| m == MANAGER), "applied by {MANAGER}: {}", object["metadata"]["name"]);
    }
    let kinds: Vec<&str> = objects.iter().filter_map(|object| object["kind"].as_str()).collect();
    for kind in ["ServiceAccount", "Service", "NetworkPolicy", "PodDisruptionBudget", "SecretStore", "ExternalSecret"] {
        assert!(kinds.contains(&kind), "a {kind} exists: {kinds:?}");
    }
    // The External Secrets Operator: the release's CRDs, found current (the harness installed them,
    // see `external_secrets_crds`), are not written again; its controller runs as the deployment's
    // secrets role, watching the deployment's namespace alone.
    let crd_versions_after = crd_versions(&client).await;
    assert_eq!(crd_versions_after.len(), 25, "every CRD of the release");
    assert_eq!(crd_versions_after, crd_versions_before, "current CRDs are not rewritten");
    let operator = operators.get("external-secrets").await.expect("the operator's Deployment");
    assert_eq!(image(&operator), "ghcr.io/external-secrets/external-secrets:v2.9.0");
    assert_eq!(operator.status.clone().unwrap_or_default().ready_replicas, Some(1), "the operator is ready");
    let pod = operator.spec.as_ref().and_then(|spec| spec.template.spec.clone()).expect("pod");
    assert!(pod.containers[0].args.clone().unwrap_or_default().contains(&format!("--namespace={NAME}")));
    let accounts: Api<k8s_openapi::api::core::v1::ServiceAccount> = Api::namespaced(client.clone(), "external-secrets");
    let account = accounts.get("external-secrets").await.expect("the operator's service account");
    let role =
        account.metadata.annotations.unwrap_or_default().remove("eks.amazonaws.com/role-arn").unwrap_or_default();
    assert!(role.ends_with(&format!(":role/{NAME}-external-secrets")), "IRSA role: {role}");
    let roles: Api<k8s_openapi::api::rbac::v1::Role> = Api::namespaced(client.clone(), NAME);
    roles.get("external-secrets-controller").await.expect("the operator's rights in the deployment's namespace");

    let outputs = terraform.show_json().await.expect("show");
    let state = serde_json::to_string(&outputs).expect("state json");
    let resource = &outputs["values"]["root_module"]["resources"]
        .as_array()
        .and_then(|resources| resources.iter().find(|r| r["type"] == "retool_deployment"))
        .expect("the deployment in state")["values"];
    assert_eq!(resource["namespace"], NAME);
    assert_eq!(resource["workloads"]["api"]["ready_replicas"], 3, "{}", resource["workloads"]);
    assert_eq!(resource["workloads"]["jobs-runner"]["image"], "tryretool/backend:3.148.0-stable");
    let create_log = std::fs::read_to_string(&log_path).expect("the create's trace log");
    std::fs::remove_file(&log_path).expect("start a new log");
    logged.plan().await.expect("plan after create").assert_empty("plan after create");

    // What a refresh costs in Kubernetes calls, and how long the workloads took from an ACTIVE
    // cluster to all available (the kubelet makes each pod ready 1 s after it is bound; the
    // jobs-runner and then the others wait for that once each).
    let refresh_log = std::fs::read_to_string(&log_path).expect("the plan's trace log");
    let refresh_calls = refresh_log
        .lines()
        .filter(|line| line.contains("Kubernetes API call") && line.contains("tf_resource_type=retool_deployment"))
        .count();
    assert!((1..=10).contains(&refresh_calls), "Kubernetes calls per refresh: {refresh_calls}\n{refresh_log}");
    let applied =
        create_log.lines().find(|line| line.contains("workloads applied and available")).unwrap_or_else(|| {
            let kubernetes: Vec<&str> =
                create_log.lines().filter(|line| line.contains("INFO") || line.contains("rolling")).collect();
            panic!("the apply logs how long the workloads took:\n{}", kubernetes.join("\n"))
        });
    let duration_ms: u64 = applied
        .split("duration_ms=")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|digits| digits.parse().ok())
        .expect("a duration");
    eprintln!(
        "Kubernetes calls per refresh: {refresh_calls}; workloads from ACTIVE cluster to available: {duration_ms} ms \
         (of which pod start delays 2000 ms)"
    );

    // No secret value in any object the provider sent, in state, in a plan's JSON or in the
    // create's trace log: the generated secrets are read here, from Secrets Manager, only to look
    // for them.
    let plan = serde_json::to_string(&terraform.plan_json().await.expect("plan JSON")).expect("plan json");
    let secrets = aws_sdk_secretsmanager::Client::new(&crate::support::aws::sdk_config(&emulator.endpoint()));
    for which in ["encryption-key", "jwt-secret"] {
        let value = secrets
            .get_secret_value()
            .secret_id(format!("retool/{NAME}/{which}"))
            .send()
            .await
            .expect("the generated secret")
            .secret_string
            .expect("a value");
        let sent = serde_json::to_string(&objects).expect("objects json");
        assert!(!sent.contains(&value), "the {which} value is in an object sent to the cluster");
        assert!(!state.contains(&value), "the {which} value is in state");
        assert!(!plan.contains(&value), "the {which} value is in the plan's JSON");
        assert!(!create_log.contains(&value), "the {which} value is in the TF_LOG=trace log");
    }

    // An upgrade: the jobs-runner first, alone (its old and new pods never coexist), available
    // before any api pod changes; the api keeps its three ready pods throughout.
    cluster.kubelet.set_delete_delay(Duration::from_millis(500));
    let before = Instant::now();
    workspace.write_main(&config(&workspace, "3.150.0-stable", 3, ""));
    terraform.apply().await.expect("upgrade");
    let timeline = recorder.timeline();
    let old = |pod: &PodHistory| pod.runs("tryretool/backend:3.148.0-stable");
    let new = |pod: &PodHistory| pod.runs("tryretool/backend:3.150.0-stable");
    assert_eq!(timeline.coexisting("jobs-runner", old, new), Vec::<(String, String)>::new(), "{}", timeline.describe());
    let jobs_ready = timeline.all_ready("jobs-runner", new).expect("the new jobs-runner became ready");
    let api_changed = timeline.first_change_after("api", before).expect("the api rolled");
    assert!(jobs_ready <= api_changed, "the jobs-runner was ready before the api changed\n{}", timeline.describe());
    assert!(
        timeline.min_ready("api", before, Instant::now()) >= 3,
        "api ready pods never below 3\n{}",
        timeline.describe()
    );
    assert!(deployments(&client).await.iter().all(|d| image(d).ends_with(":3.150.0-stable")));
    terraform.plan().await.expect("plan after upgrade").assert_empty("plan after the upgrade");
    cluster.kubelet.set_delete_delay(Duration::ZERO);

    // A replicas change touches the api's Deployment alone.
    let before_scale = generations(&deployments(&client).await);
    workspace.write_main(&config(&workspace, "3.150.0-stable", 4, ""));
    terraform.apply().await.expect("scale the api");
    let after_scale = generations(&deployments(&client).await);
    for ((name, was), (_, is)) in before_scale.iter().zip(&after_scale) {
        if name == "api" {
            assert_eq!(*is, was + 1, "the api's Deployment changed");
        } else {
            assert_eq!(is, was, "{name} was not touched");
        }
    }
    terraform.plan().await.expect("plan after scaling").assert_empty("plan after scaling");

    // Another field manager scales the api: plan shows it by name, apply takes it back.
    let api: Api<Deployment> = Api::namespaced(client.clone(), NAME);
    let scaled = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": 1}});
    api.patch("api", &PatchParams::apply("kubectl-edit").force(), &Patch::Apply(&scaled)).await.expect("scale by hand");
    // … and the External Secrets Operator is deleted: plan shows it missing, apply puts it back.
    operators.delete("external-secrets", &Default::default()).await.expect("delete the operator");
    let drifted = terraform.run(&["plan", "-no-color", "-input=false", "-lock=false"]).await;
    assert!(drifted.stdout.contains("kubectl-edit"), "the plan names the other field manager:\n{drifted}");
    assert!(drifted.stdout.contains("has 1 replicas, configured 4"), "{drifted}");
    assert!(drifted.stdout.contains("external-secrets/external-secrets does not exist"), "{drifted}");
    terraform.apply().await.expect("repair the drift");
    let repaired = api.get("api").await.expect("api");
    assert_eq!(repaired.spec.and_then(|spec| spec.replicas), Some(4));
    let restored = operators.get("external-secrets").await.expect("the operator is back");
    assert_eq!(image(&restored), "ghcr.io/external-secrets/external-secrets:v2.9.0");
    terraform.plan().await.expect("plan after the repair").assert_empty("plan after the repair");

    // Nor are its CRDs when another tool installed them: once the operator is missing (drift, so
    // the next apply converges the workloads), the apply names the CRD and writes none.
    let crd_api: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource::from_gvk(&GroupVersionKind::gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition")),
    );
    let relabel = |manager: &str| {
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
               "metadata": {"labels": {"app.kubernetes.io/managed-by": manager}}})
    };
    let crd = "secretstores.external-secrets.io";
    crd_api.patch(crd, &PatchParams::default(), &Patch::Merge(&relabel("Helm"))).await.expect("relabel a CRD");
    operators.delete("external-secrets", &Default::default()).await.expect("remove ours");
    let before_refusal = crd_versions(&client).await;
    let refused = terraform.run(&["apply", "-no-color", "-input=false", "-auto-approve"]).await;
    assert_ne!(refused.code, 0, "a foreign CRD is refused:\n{refused}");
    let said = format!("{}{}", refused.stdout, refused.stderr).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(said.contains(&format!("CustomResourceDefinition {crd} installed by `Helm`")), "{said}");
    assert_eq!(crd_versions(&client).await, before_refusal, "no CRD written");
    let ours = relabel("terraform-provider-retool");
    crd_api.patch(crd, &PatchParams::default(), &Patch::Merge(&ours)).await.expect("label it back");

    // An External Secrets Operator someone else installed in its place is not taken over: the
    // apply stops at the workloads, naming it; once it is removed, the next apply puts ours back.
    let foreign = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "external-secrets", "labels": {"app.kubernetes.io/managed-by": "Helm"}},
        "spec": {
            "selector": {"matchLabels": {"app": "eso"}},
            "template": {"metadata": {"labels": {"app": "eso"}}, "spec": {"containers": [{"name": "eso", "image": "eso:0"}]}},
        },
    });
    operators
        .patch("external-secrets", &PatchParams::apply("helm"), &Patch::Apply(&foreign))
        .await
        .expect("a foreign ESO");
    let refused = terraform.run(&["apply", "-no-color", "-input=false", "-auto-approve"]).await;
    assert_ne!(refused.code, 0, "a foreign operator is refused:\n{refused}");
    let said = format!("{}{}", refused.stdout, refused.stderr).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(said.contains("Deployment external-secrets/external-secrets installed by `Helm`"), "{said}");
    assert!(said.contains("helm uninstall"), "{said}");
    assert_eq!(image(&operators.get("external-secrets").await.expect("still there")), "eso:0", "not touched");
    operators.delete("external-secrets", &Default::default()).await.expect("uninstall it");
    terraform.apply().await.expect("the apply after the uninstall");
    terraform.plan().await.expect("plan after the reinstall").assert_empty("plan after the reinstall");

    // A release whose image cannot run: the apply fails naming the container and the reason,
    // the api keeps running the old version, and the next apply after the fix finishes.
    cluster.kubelet.fail_image("3.151.0-stable", "ImagePullBackOff", "manifest for 3.151.0-stable not found");
    workspace.write_main(&config(&workspace, "3.151.0-stable", 4, "  timeouts {\n    update = \"1m\"\n  }\n"));
    let failed = terraform.run(&["apply", "-no-color", "-input=false", "-auto-approve"]).await;
    assert_ne!(failed.code, 0, "the rollout cannot finish:\n{failed}");
    let said = format!("{}{}", failed.stdout, failed.stderr).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(said.contains("Deployment wl/jobs-runner did not roll out"), "{said}");
    assert!(said.contains("container jobs-runner is waiting: ImagePullBackOff"), "{said}");
    let api_image = image(&api.get("api").await.expect("api"));
    assert!(api_image.ends_with(":3.150.0-stable"), "the api was not touched: {api_image}");
    let refreshed = terraform.run(&["plan", "-no-color", "-input=false", "-lock=false"]).await;
    assert!(
        refreshed.stdout.contains("wl/api runs tryretool/backend:3.150.0-stable"),
        "state says what the cluster runs:\n{refreshed}"
    );
    cluster.kubelet.clear_failures();
    terraform.apply().await.expect("the apply after the fix");
    assert!(deployments(&client).await.iter().all(|d| image(d).ends_with(":3.151.0-stable")));
    terraform.plan().await.expect("plan after the fix").assert_empty("plan after the fix");

    // Destroy removes the namespace and everything in it.
    terraform.destroy().await.expect("destroy");
    let gone = namespaces.get_opt(NAME).await.expect("read the namespace");
    assert!(gone.is_none(), "the namespace is gone");
    assert!(deployments(&client).await.is_empty());
    let pods_left =
        recorder.timeline().component("api").iter().filter(|pod| pod.first(PodChange::Gone).is_none()).count();
    assert_eq!(pods_left, 0, "no api pod is left");
}
