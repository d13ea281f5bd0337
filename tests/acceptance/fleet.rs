//! Day-2 changes of a deployment's fleet applied end to end on the emulator: the cache resized,
//! upgraded and given a maintenance window in place (scripts/emulator implements
//! ModifyReplicationGroup and the member clusters as AWS does), the node group's desired size
//! left to the cluster autoscaler or enforced, and the node group replaced for a new instance
//! type, the new group ACTIVE before the old one is deleted. What was called is read from the
//! fault injector's request log (`--rate 0`), what exists from the emulator.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_sdk_eks::Client as Eks;
use aws_sdk_eks::types::NodegroupScalingConfig;
use aws_sdk_elasticache::Client as ElastiCache;

use crate::support::aws::sdk_config;
use crate::support::faults::ProxiedRequest;
use crate::support::workspace::two_zone_network;
use crate::support::{Emulator, FaultProxy, Workspace, acceptance_toolchain};

const CLUSTER: &str = "fleet";
const CACHE: &str = "fleet-cache";

/// What the test changes between applies.
#[derive(Clone, Copy)]
struct Fleet {
    instance_type: &'static str,
    desired_size: i32,
    max_size: i32,
    ignore_desired_size_changes: bool,
    cache_node_type: &'static str,
    engine_version: &'static str,
    maintenance_window: Option<&'static str>,
}

const START: Fleet = Fleet {
    instance_type: "m5.large",
    desired_size: 2,
    max_size: 4,
    ignore_desired_size_changes: false,
    cache_node_type: "cache.t4g.small",
    engine_version: "7.0",
    maintenance_window: None,
};

/// The network and a deployment with a cache, every service endpoint at `endpoint`.
fn config(emulator: &Emulator, workspace: &Workspace, endpoint: &str, fleet: Fleet) -> String {
    let provider = workspace.provider_block_with("  max_retries = 1\n").replace(&emulator.endpoint(), endpoint);
    let Fleet {
        instance_type,
        desired_size,
        max_size,
        ignore_desired_size_changes,
        cache_node_type,
        engine_version,
        maintenance_window,
    } = fleet;
    let window = maintenance_window.map(|w| format!("    maintenance_window = \"{w}\"\n")).unwrap_or_default();
    let network = two_zone_network("fleet");
    format!(
        r#"{provider}
{network}

resource "retool_deployment" "app" {{
  name           = "{CLUSTER}"
  network_id     = retool_network.net.id
  retool_version = "3.148.0-stable"
  domain         = "retool.fleet.test"
  node_group {{
    instance_type               = "{instance_type}"
    min_size                    = 1
    desired_size                = {desired_size}
    max_size                    = {max_size}
    ignore_desired_size_changes = {ignore_desired_size_changes}
  }}
  database {{
    deletion_protection = false
    skip_final_snapshot = true
  }}
  cache {{
    enabled        = true
    node_type      = "{cache_node_type}"
    engine_version = "{engine_version}"
{window}  }}
}}
"#
    )
}

/// The replication group as the emulator has it: ARN, node type, and the engine version and
/// maintenance window of its member cluster (where AWS reports them).
async fn cache(elasticache: &ElastiCache) -> (String, String, String, String) {
    let groups = elasticache.describe_replication_groups().replication_group_id(CACHE).send().await.expect("groups");
    let group = groups.replication_groups().first().expect("the replication group").clone();
    let member = group.member_clusters().first().expect("a member cluster").clone();
    let clusters = elasticache.describe_cache_clusters().cache_cluster_id(&member).send().await.expect("members");
    let member = clusters.cache_clusters().first().expect("the member cluster");
    (
        group.arn().unwrap_or_default().to_owned(),
        group.cache_node_type().unwrap_or_default().to_owned(),
        member.engine_version().unwrap_or_default().to_owned(),
        member.preferred_maintenance_window().unwrap_or_default().to_owned(),
    )
}

/// The node group's status, or `None` when it does not exist.
async fn node_group_status(eks: &Eks, name: &str) -> Option<String> {
    let described = eks.describe_nodegroup().cluster_name(CLUSTER).nodegroup_name(name).send().await.ok()?;
    described.nodegroup.and_then(|group| group.status).map(|status| status.as_str().to_owned())
}

/// min, desired and max size of node group `name`.
async fn scaling(eks: &Eks, name: &str) -> (i32, i32, i32) {
    let described = eks.describe_nodegroup().cluster_name(CLUSTER).nodegroup_name(name).send().await.expect(name);
    let group = described.nodegroup.expect("node group");
    let scaling = group.scaling_config().expect("scaling");
    (scaling.min_size().unwrap_or(-1), scaling.desired_size().unwrap_or(-1), scaling.max_size().unwrap_or(-1))
}

/// Sets the node group's desired size by hand, as the cluster autoscaler would.
async fn scale_by_hand(eks: &Eks, name: &str, desired_size: i32) {
    eks.update_nodegroup_config()
        .cluster_name(CLUSTER)
        .nodegroup_name(name)
        .scaling_config(NodegroupScalingConfig::builder().desired_size(desired_size).build())
        .send()
        .await
        .expect("UpdateNodegroupConfig by hand");
    assert_eq!(scaling(eks, name).await.1, desired_size, "the hand-made change reached the emulator");
}

/// The calls the proxy logged since `mark`.
fn since(proxy: &FaultProxy, mark: usize) -> Vec<ProxiedRequest> {
    proxy.requests().into_iter().skip(mark).collect()
}

fn count(calls: &[ProxiedRequest], action: &str) -> usize {
    calls.iter().filter(|call| call.action == action).count()
}

fn position(calls: &[ProxiedRequest], action: &str) -> usize {
    calls
        .iter()
        .position(|call| call.action == action)
        .unwrap_or_else(|| panic!("no {action} in {:#?}", calls.iter().map(|c| &c.action).collect::<Vec<_>>()))
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn the_cache_changes_in_place_the_autoscaler_may_own_the_size_and_a_new_instance_type_replaces_the_group_safely()
{
    let toolchain = acceptance_toolchain("fleet");
    let emulator = Emulator::start(&toolchain);
    let proxy = FaultProxy::start(&toolchain, &emulator, &["--rate", "0"]);
    let config_at = sdk_config(&emulator.endpoint());
    let (eks, elasticache) = (Eks::new(&config_at), ElastiCache::new(&config_at));
    let workspace = Workspace::new(&toolchain, &emulator);
    workspace.start_cluster(&[CLUSTER]).await;
    let terraform = workspace.terraform();
    let write = |fleet: Fleet| workspace.write_main(&config(&emulator, &workspace, proxy.endpoint(), fleet));
    let old_group = "fleet-m5-large";

    write(START);
    terraform.init().await.expect("init");
    terraform.apply().await.expect("create");
    let (arn, node_type, engine, _) = cache(&elasticache).await;
    assert_eq!((node_type.as_str(), engine.as_str()), ("cache.t4g.small", "7.0"), "created as configured");
    assert_eq!(scaling(&eks, old_group).await, (1, 2, 4));
    terraform.plan().await.expect("plan after create").assert_empty("plan after create");

    // A new cache node type: the same replication group, modified in place.
    let resized = Fleet { cache_node_type: "cache.t4g.medium", ..START };
    write(resized);
    let mark = proxy.requests().len();
    terraform.apply().await.expect("resize the cache");
    let calls = since(&proxy, mark);
    assert_eq!(count(&calls, "ModifyReplicationGroup"), 1, "one ModifyReplicationGroup");
    assert_eq!(count(&calls, "CreateReplicationGroup") + count(&calls, "DeleteReplicationGroup"), 0);
    let (arn_after, node_type, _, _) = cache(&elasticache).await;
    assert_eq!((arn_after.as_str(), node_type.as_str()), (arn.as_str(), "cache.t4g.medium"));
    terraform.plan().await.expect("plan after resize").assert_empty("plan after the cache resize");

    // An engine upgrade and a maintenance window, applied in place and read back.
    let upgraded = Fleet { engine_version: "7.1", maintenance_window: Some("tue:03:00-tue:04:30"), ..resized };
    write(upgraded);
    let mark = proxy.requests().len();
    terraform.apply().await.expect("upgrade the cache");
    assert_eq!(count(&since(&proxy, mark), "ModifyReplicationGroup"), 1);
    let (arn_after, _, engine, window) = cache(&elasticache).await;
    assert_eq!(arn_after, arn, "the same replication group");
    assert_eq!((engine.as_str(), window.as_str()), ("7.1", "tue:03:00-tue:04:30"));
    terraform.plan().await.expect("plan after upgrade").assert_empty("plan after the cache upgrade");

    // A downgrade is refused at plan, on the attribute, before any change.
    write(Fleet { engine_version: "7.0", ..upgraded });
    let mark = proxy.requests().len();
    let refused = terraform.run(&["plan", "-input=false", "-no-color"]).await;
    assert_ne!(refused.code, 0, "a downgrade must be refused:\n{refused}");
    // Terraform quotes the configuration line of an attribute diagnostic.
    let on_attribute = refused.stderr.contains(r#"engine_version = "7.0""#);
    assert!(on_attribute && refused.stderr.contains("cannot downgrade"), "refused on the attribute:\n{refused}");
    assert_eq!(count(&since(&proxy, mark), "ModifyReplicationGroup"), 0);

    // The autoscaler owns the desired size: a hand-made size within min/max is neither drift nor
    // reverted, also by an apply that rescales the group for another reason; max_size still applies.
    let autoscaled = Fleet { ignore_desired_size_changes: true, ..upgraded };
    write(autoscaled);
    terraform.apply().await.expect("hand the size to the autoscaler");
    scale_by_hand(&eks, old_group, 3).await;
    terraform.plan().await.expect("plan after scaling by hand").assert_empty("an autoscaled size is not drift");
    let refreshed = terraform.plan_refresh_only().await.expect("refresh-only");
    refreshed.assert_empty("nothing in drift");
    write(Fleet { max_size: 5, ..autoscaled });
    terraform.apply().await.expect("raise max_size");
    assert_eq!(scaling(&eks, old_group).await, (1, 3, 5), "max_size applied, the autoscaler's size kept");
    terraform.plan().await.expect("plan after max_size").assert_empty("plan after raising max_size");

    // Enforced again: the configured size is restored, and a hand-made size is drift, reverted.
    let enforced = Fleet { max_size: 5, ..upgraded };
    write(enforced);
    terraform.apply().await.expect("enforce desired_size");
    assert_eq!(scaling(&eks, old_group).await, (1, 2, 5));
    scale_by_hand(&eks, old_group, 3).await;
    terraform.plan().await.expect("plan after scaling by hand").assert_changes("an enforced size changed by hand");
    terraform.apply().await.expect("revert the hand-made size");
    assert_eq!(scaling(&eks, old_group).await, (1, 2, 5), "reverted");
    terraform.plan().await.expect("plan after revert").assert_empty("plan after reverting the size");

    // A new instance type: a new group, ACTIVE before the old one is deleted. A watcher reads both
    // groups from the emulator throughout the apply.
    let new_group = "fleet-m5-xlarge";
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = tokio::spawn({
        let (eks, stop) = (eks.clone(), stop.clone());
        async move {
            let mut seen = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let old = node_group_status(&eks, old_group).await;
                let new = node_group_status(&eks, new_group).await;
                if seen.last() != Some(&(old.clone(), new.clone())) {
                    seen.push((old, new));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            seen
        }
    });
    write(Fleet { instance_type: "m5.xlarge", ..enforced });
    let mark = proxy.requests().len();
    terraform.apply().await.expect("change the instance type");
    stop.store(true, Ordering::Relaxed);
    let seen = watcher.await.expect("watcher");
    let calls = since(&proxy, mark);
    let created = position(&calls, "POST:/clusters/fleet/node-groups");
    let deleted = position(&calls, &format!("DELETE:/clusters/fleet/node-groups/{old_group}"));
    assert!(created < deleted, "the new group is created before the old one is deleted");
    let active = Some("ACTIVE".to_owned());
    assert!(
        seen.iter().any(|(old, new)| *old == active && new.as_deref() == Some("CREATING")),
        "the old group runs while the new one is created: {seen:?}"
    );
    assert!(
        seen.iter().all(|(old, new)| old.as_deref() == Some("ACTIVE") || *new == active),
        "the old group goes only once the new one is ACTIVE: {seen:?}"
    );
    let groups = eks.list_nodegroups().cluster_name(CLUSTER).send().await.expect("ListNodegroups");
    assert_eq!(groups.nodegroups(), [new_group.to_owned()], "only the new group is left");
    assert_eq!(scaling(&eks, new_group).await, (1, 2, 5), "the new group at the configured size");
    terraform.plan().await.expect("plan after replacement").assert_empty("plan after the instance type change");

    terraform.destroy().await.expect("destroy");
}
