//! Kubernetes minor upgrades applied end to end on the emulator (scripts/emulator implements
//! UpdateClusterVersion, UpdateNodegroupVersion and the add-on calls as AWS does): the order of
//! the steps is read from the fault injector's request log, and an upgrade interrupted after the
//! control plane resumes at the node group on the next apply.

use aws_sdk_eks::Client as Eks;

use crate::support::aws::sdk_config;
use crate::support::faults::ProxiedRequest;
use crate::support::workspace::two_zone_network;
use crate::support::{Emulator, FaultProxy, Workspace, acceptance_toolchain};

const CLUSTER: &str = "upgrade";
const NODE_GROUP: &str = "upgrade-m5-large";
const ADDONS: [&str; 4] = ["vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent"];

/// The network and a deployment at Kubernetes `version`, every service endpoint at `endpoint`
/// (the emulator itself or a fault injector in front of it).
fn config(emulator: &Emulator, workspace: &Workspace, endpoint: &str, version: &str) -> String {
    let provider = workspace.provider_block_with("  max_retries = 1\n").replace(&emulator.endpoint(), endpoint);
    let network = two_zone_network("upgrade");
    format!(
        r#"{provider}
{network}

resource "retool_deployment" "app" {{
  name               = "{CLUSTER}"
  network_id         = retool_network.net.id
  retool_version     = "3.148.0-stable"
  domain             = "retool.upgrade.test"
  kubernetes_version = "{version}"
  node_group {{
    instance_type = "m5.large"
    min_size      = 2
    desired_size  = 2
    max_size      = 4
  }}
  database {{
    deletion_protection = false
    skip_final_snapshot = true
  }}
}}
"#
    )
}

/// What EKS runs: the cluster's and the node group's Kubernetes versions, and per add-on its
/// version and the minor version its tag says it was upgraded for.
async fn running(eks: &Eks) -> (String, String, Vec<(String, String, String)>) {
    let cluster = eks.describe_cluster().name(CLUSTER).send().await.expect("DescribeCluster").cluster.expect("cluster");
    let group = eks
        .describe_nodegroup()
        .cluster_name(CLUSTER)
        .nodegroup_name(NODE_GROUP)
        .send()
        .await
        .expect("DescribeNodegroup")
        .nodegroup
        .expect("node group");
    let mut addons = Vec::new();
    for name in ADDONS {
        let addon = eks.describe_addon().cluster_name(CLUSTER).addon_name(name).send().await.expect(name).addon;
        let addon = addon.expect("add-on");
        let tag = addon.tags().and_then(|tags| tags.get("retool:addons-for-kubernetes")).cloned().unwrap_or_default();
        addons.push((name.to_owned(), addon.addon_version().unwrap_or_default().to_owned(), tag));
    }
    (cluster.version().unwrap_or_default().to_owned(), group.version().unwrap_or_default().to_owned(), addons)
}

/// The version of add-on `name` EKS marks default for Kubernetes `minor`, asked independently of
/// the provider.
async fn default_version(eks: &Eks, name: &str, minor: &str) -> String {
    let versions =
        eks.describe_addon_versions().addon_name(name).kubernetes_version(minor).send().await.expect("versions");
    versions
        .addons()
        .iter()
        .flat_map(|addon| addon.addon_versions())
        .find(|version| {
            version.compatibilities().iter().any(|c| c.cluster_version() == Some(minor) && c.default_version())
        })
        .and_then(|version| version.addon_version())
        .expect("a default version")
        .to_owned()
}

/// Asserts that everything runs Kubernetes `minor`, each add-on at its default version for it.
async fn assert_runs(eks: &Eks, minor: &str) {
    let (cluster, group, addons) = running(eks).await;
    assert_eq!((cluster.as_str(), group.as_str()), (minor, minor), "control plane and node group versions");
    for (name, version, upgraded_for) in addons {
        assert_eq!(version, default_version(eks, &name, minor).await, "{name} runs the default for {minor}");
        assert_eq!(upgraded_for, minor, "{name} records the minor version it was upgraded for");
    }
}

/// Position in `calls` of the first call whose action starts with `method_and_path` and ends
/// with `suffix`.
fn first(calls: &[ProxiedRequest], method_and_path: &str, suffix: &str) -> usize {
    calls
        .iter()
        .position(|call| call.action.starts_with(method_and_path) && call.action.ends_with(suffix))
        .unwrap_or_else(|| panic!("no {method_and_path}…{suffix} in {:#?}", actions(calls)))
}

fn actions(calls: &[ProxiedRequest]) -> Vec<String> {
    calls.iter().filter(|call| call.service == "eks").map(|call| call.action.clone()).collect()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn kubernetes_upgrades_run_control_plane_then_nodes_then_add_ons_and_resume_after_an_interruption() {
    let toolchain = acceptance_toolchain("kubernetes_upgrades");
    let emulator = Emulator::start(&toolchain);
    let proxy = FaultProxy::start(&toolchain, &emulator, &["--rate", "0"]);
    let eks = Eks::new(&sdk_config(&emulator.endpoint()));
    let workspace = Workspace::new(&toolchain, &emulator);
    workspace.start_cluster(&[CLUSTER]).await;
    let terraform = workspace.terraform();

    // Created at 1.33: the node group runs the cluster's version, the add-ons the defaults of 1.33.
    workspace.write_main(&config(&emulator, &workspace, proxy.endpoint(), "1.33"));
    terraform.init().await.expect("init");
    terraform.apply().await.expect("create at 1.33");
    assert_runs(&eks, "1.33").await;
    terraform.plan().await.expect("plan after create").assert_empty("plan after create");

    // 1.33 → 1.34: the plan says what will run, in which order; the apply runs it in that order.
    workspace.write_main(&config(&emulator, &workspace, proxy.endpoint(), "1.34"));
    let planned = terraform.run(&["plan", "-json", "-input=false", "-no-color", "-lock=false"]).await;
    assert!(
        planned.stdout.contains("Kubernetes upgrade 1.33 → 1.34") && planned.stdout.contains("UpdateNodegroupVersion"),
        "the plan announces the upgrade steps:\n{planned}"
    );
    let mark = proxy.requests().len();
    terraform.apply().await.expect("upgrade to 1.34");
    let calls: Vec<ProxiedRequest> = proxy.requests().into_iter().skip(mark).collect();
    let control_plane = first(&calls, "POST:/clusters/upgrade/updates", "");
    let nodes = first(&calls, "POST:/clusters/upgrade/node-groups/", "/update-version");
    let add_ons = first(&calls, "POST:/clusters/upgrade/addons/", "/update");
    assert!(
        control_plane < nodes && nodes < add_ons,
        "control plane, then nodes, then add-ons: {:#?}",
        actions(&calls)
    );
    let add_on_change = |call: &&ProxiedRequest| call.action.starts_with("POST:/clusters/upgrade/addons");
    assert!(!calls[..nodes].iter().any(|call| add_on_change(&call)), "no add-on changes before the nodes");
    assert_runs(&eks, "1.34").await;
    terraform.plan().await.expect("plan after upgrade").assert_empty("plan after the 1.34 upgrade");

    // 1.34 → 1.35, interrupted: the node group's version update fails every time, so the apply
    // stops after the control plane.
    let failing = FaultProxy::start(
        &toolchain,
        &emulator,
        &[
            "--rate",
            "1",
            "--faults",
            "5xx",
            "--max-consecutive",
            "100",
            "--only-actions",
            "POST:/clusters/upgrade/node-groups/upgrade-m5-large/update-version",
        ],
    );
    workspace.write_main(&config(&emulator, &workspace, failing.endpoint(), "1.35"));
    let interrupted = terraform.run(&["apply", "-input=false", "-no-color", "-auto-approve"]).await;
    assert_ne!(interrupted.code, 0, "the apply must fail at the node group:\n{interrupted}");
    let (cluster, group, _) = running(&eks).await;
    assert_eq!((cluster.as_str(), group.as_str()), ("1.35", "1.34"), "stopped after the control plane");

    // The next plan shows what is left; the next apply finishes it without repeating the control plane.
    workspace.write_main(&config(&emulator, &workspace, proxy.endpoint(), "1.35"));
    terraform.plan().await.expect("plan after the interruption").assert_changes("the rest of the upgrade is planned");
    let mark = proxy.requests().len();
    terraform.apply().await.expect("resume the upgrade");
    let calls: Vec<ProxiedRequest> = proxy.requests().into_iter().skip(mark).collect();
    assert!(
        !calls.iter().any(|call| call.action == "POST:/clusters/upgrade/updates"),
        "the control plane is not upgraded twice: {:#?}",
        actions(&calls)
    );
    assert!(
        first(&calls, "POST:/clusters/upgrade/node-groups/", "/update-version")
            < first(&calls, "POST:/clusters/upgrade/addons/", "/update")
    );
    assert_runs(&eks, "1.35").await;
    terraform.plan().await.expect("plan after resuming").assert_empty("plan after the resumed upgrade");

    terraform.destroy().await.expect("destroy");
}
