//! The refresh call budget: what one `terraform plan -refresh-only` asks AWS, per resource, pinned
//! so that a change cannot quietly add calls. A refresh is what every plan in CI pays for, in time
//! and in the account's shared API rate limits.
//!
//! The provider's endpoints point at the fault injector with no faults (`--rate 0
//! --log-digests`), which logs every request with a digest of what it asked. Each resource is
//! refreshed on its own: the network and the permission boundary share one state and are refreshed
//! with `-target`; the deployment lives in a second state that names the network by its VPC id, so
//! its refresh holds its own calls only. Every AWS call but S3 (Terraform's state backend, which
//! stays on the emulator) is counted, the STS identity lookup included.

use std::collections::BTreeMap;

use crate::support::faults::ProxiedRequest;
use crate::support::workspace::two_zone_network;
use crate::support::{Emulator, FaultProxy, Workspace, acceptance_toolchain};

/// Calls of one refresh today, per resource. Lower them when a change saves calls; raising one
/// needs a reason in the change (issue 8 aims at 8, 10 and 14). The deployment's 29: 25, plus
/// one DescribeAddon per EKS add-on (their versions and upgrade tags are what an interrupted
/// Kubernetes upgrade is resumed from; no call returns the four at once). A cache with
/// `engine_version` or `maintenance_window` configured costs one DescribeCacheClusters more (AWS
/// reports both on the member cluster only); this configuration sets neither, so it is not read.
const NETWORK_BUDGET: usize = 8;
const BOUNDARY_BUDGET: usize = 14;
const DEPLOYMENT_BUDGET: usize = 29;

/// The provider with every service endpoint at the proxy (`proxy_url`), and few retries: moto
/// answers its unimplemented calls (`DeleteCacheSubnetGroup`) with HTTP 500.
fn provider_block(emulator: &Emulator, workspace: &Workspace, proxy_url: &str) -> String {
    workspace.provider_block_with("  max_retries = 2\n").replace(&emulator.endpoint(), proxy_url)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn a_refresh_asks_aws_each_thing_once_and_within_its_budget() {
    let toolchain = acceptance_toolchain("a_refresh_asks_aws_each_thing_once_and_within_its_budget");
    let emulator = Emulator::start(&toolchain);
    let proxy = FaultProxy::start(&toolchain, &emulator, &["--rate", "0", "--log-digests"]);

    let base = Workspace::new(&toolchain, &emulator);
    let network = two_zone_network("budget");
    base.write_main(&format!(
        r#"{provider}
{network}

resource "retool_permission_boundary" "fence" {{
  name_prefix             = "budget"
  operator_principal_arns = ["arn:aws:iam::444455556666:role/retool-operator"]
}}

output "vpc_id" {{
  value = retool_network.net.id
}}

output "workload_boundary" {{
  value = retool_permission_boundary.fence.workload_boundary_policy_arn
}}
"#,
        provider = provider_block(&emulator, &base, proxy.endpoint()),
    ));
    base.terraform().init().await.expect("init (network and boundary)");
    base.terraform().apply().await.expect("apply (network and boundary)");
    let outputs = base.terraform().outputs().await.expect("outputs");
    let (vpc_id, boundary) = (outputs["vpc_id"].as_str().unwrap(), outputs["workload_boundary"].as_str().unwrap());

    let app = Workspace::new(&toolchain, &emulator);
    app.start_cluster(&["budget"]).await;
    app.write_main(&format!(
        r#"{provider}
resource "retool_deployment" "app" {{
  name                    = "budget"
  network_id              = "{vpc_id}"
  retool_version          = "3.148.0-stable"
  domain                  = "retool.budget.test"
  permission_boundary_arn = "{boundary}"
  node_group {{
    instance_type = "m5.large"
    min_size      = 2
    desired_size  = 2
    max_size      = 4
  }}
  database {{
    instance_class      = "db.m5.large"
    deletion_protection = false
    skip_final_snapshot = true
  }}
  cache {{
    enabled = true
  }}
  retool_db {{
    enabled = true
  }}
}}
"#,
        provider = provider_block(&emulator, &app, proxy.endpoint()),
    ));
    app.terraform().init().await.expect("init (deployment)");
    app.terraform().apply().await.expect("apply (deployment)");

    let network = refresh(&proxy, &base, &["-target=retool_network.net"]).await;
    let boundary = refresh(&proxy, &base, &["-target=retool_permission_boundary.fence"]).await;
    let deployment = refresh(&proxy, &app, &[]).await;
    let report = |name: &str, calls: &[ProxiedRequest]| {
        let mut by_action: BTreeMap<String, usize> = BTreeMap::new();
        for call in calls {
            *by_action.entry(format!("{} {}", call.service, call.action)).or_default() += 1;
        }
        eprintln!("refresh of {name}: {} calls {by_action:?}", calls.len());
    };
    for (name, calls, budget) in [
        ("retool_network", &network, NETWORK_BUDGET),
        ("retool_permission_boundary", &boundary, BOUNDARY_BUDGET),
        ("retool_deployment", &deployment, DEPLOYMENT_BUDGET),
    ] {
        report(name, calls);
        assert!(calls.len() <= budget, "a refresh of {name} made {} calls, over its budget of {budget}", calls.len());
        assert!(!calls.is_empty(), "a refresh of {name} made no call: it checked nothing");
        let mut seen = BTreeMap::new();
        for call in calls {
            let digest = call.digest.as_deref().expect("the proxy logs digests");
            let count = seen.entry((call.service.as_str(), call.action.as_str(), digest)).or_insert(0);
            *count += 1;
            assert!(*count < 2, "a refresh of {name} asked {} {} the same thing twice", call.service, call.action);
        }
    }

    app.terraform().destroy().await.expect("destroy (deployment)");
    base.terraform().destroy().await.expect("destroy (network and boundary)");
}

/// The calls one `plan -refresh-only` (with `extra` arguments) made, S3 aside. The plan must be
/// empty: nothing changed since the apply.
async fn refresh(proxy: &FaultProxy, workspace: &Workspace, extra: &[&str]) -> Vec<ProxiedRequest> {
    let before = proxy.requests().len();
    let mut arguments = vec!["-refresh-only"];
    arguments.extend_from_slice(extra);
    workspace.terraform().plan_with(&arguments).await.expect("plan -refresh-only").assert_empty("refresh after apply");
    proxy.requests().into_iter().skip(before).filter(|call| call.service != "s3").collect()
}
