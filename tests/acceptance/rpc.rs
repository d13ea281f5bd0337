//! Retool RPC's own Redis (`rpc { enabled }`), switched on and off on a deployment whose cache is
//! on, end to end on the emulator: both replication groups are read back through the ElastiCache
//! API (TLS, at-rest encryption with the deployment's key, node types, tags, subnet group), the
//! switches are in place, disabling deletes the RPC group and keeps the cache, and destroy leaves
//! neither group behind. A deleted group is `deleting` for a moment, then gone (the emulator
//! removes it as AWS does); either is accepted right after a delete.

use std::collections::BTreeMap;

use aws_sdk_elasticache::Client as ElastiCache;
use aws_sdk_elasticache::types::ReplicationGroup;

use crate::support::aws::sdk_config;
use crate::support::workspace::two_zone_network;
use crate::support::{Emulator, Workspace, acceptance_toolchain};

const NAME: &str = "rpc";
const CACHE: &str = "rpc-cache";
const RPC: &str = "rpc-rpc";
const CACHE_NODE_TYPE: &str = "cache.t4g.small";
const RPC_NODE_TYPE: &str = "cache.t4g.micro";

/// The network and a deployment with the cache on and Retool RPC's group `rpc_enabled`.
fn config(workspace: &Workspace, rpc_enabled: bool) -> String {
    let provider = workspace.provider_block_with("  max_retries = 1\n");
    let network = two_zone_network(NAME);
    format!(
        r#"{provider}
{network}

resource "retool_deployment" "app" {{
  name           = "{NAME}"
  network_id     = retool_network.net.id
  retool_version = "3.148.0-stable"
  domain         = "retool.rpc.test"
  tags           = {{ Team = "platform" }}
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
  cache {{
    enabled   = true
    node_type = "{CACHE_NODE_TYPE}"
  }}
  rpc {{
    enabled   = {rpc_enabled}
    node_type = "{RPC_NODE_TYPE}"
  }}
}}

output "rpc_endpoint" {{
  value = retool_deployment.app.rpc_endpoint
}}

output "cache_endpoint" {{
  value = retool_deployment.app.cache_endpoint
}}

output "kms_key_arn" {{
  value = retool_deployment.app.kms_key_arn
}}
"#
    )
}

/// Replication group `id` as the emulator has it, `None` when it does not exist.
async fn group(elasticache: &ElastiCache, id: &str) -> Option<ReplicationGroup> {
    let found = elasticache.describe_replication_groups().replication_group_id(id).send().await;
    found.ok().and_then(|out| out.replication_groups().first().cloned())
}

async fn tags(elasticache: &ElastiCache, arn: &str) -> BTreeMap<String, String> {
    let listed = elasticache.list_tags_for_resource().resource_name(arn).send().await.expect("ListTagsForResource");
    listed.tag_list().iter().map(|t| (t.key().unwrap_or("").to_owned(), t.value().unwrap_or("").to_owned())).collect()
}

/// The subnet group of `group`'s member cluster (the ReplicationGroup shape has none).
async fn subnet_group(elasticache: &ElastiCache, group: &ReplicationGroup) -> String {
    let member = group.member_clusters().first().expect("a member cluster");
    let clusters = elasticache.describe_cache_clusters().cache_cluster_id(member).send().await.expect("members");
    clusters.cache_clusters().first().and_then(|c| c.cache_subnet_group_name()).expect("subnet group").to_owned()
}

/// Asserts group `id` is available as the deployment makes it — one node of `node_type`, TLS,
/// encrypted at rest with `key_arn`, tagged and ownership-marked, in the cache subnet group —
/// and returns its ARN and primary endpoint.
async fn assert_made(elasticache: &ElastiCache, id: &str, node_type: &str, key_arn: &str) -> (String, String) {
    let made = group(elasticache, id).await.unwrap_or_else(|| panic!("replication group {id} exists"));
    assert_eq!(made.status(), Some("available"), "{id} is available");
    assert_eq!(made.cache_node_type(), Some(node_type), "{id} node type");
    assert_eq!(made.member_clusters().len(), 1, "{id} has one node");
    assert_eq!(made.transit_encryption_enabled(), Some(true), "{id} TLS in transit");
    assert_eq!(made.at_rest_encryption_enabled(), Some(true), "{id} encrypted at rest");
    assert_eq!(made.kms_key_id(), Some(key_arn), "{id} encrypted with the deployment's key");
    assert_eq!(subnet_group(elasticache, &made).await, "rpc-cache", "{id} runs in the cache subnet group");
    let arn = made.arn().expect("ARN").to_owned();
    let tags = tags(elasticache, &arn).await;
    assert_eq!(tags.get("retool:deployment").map(String::as_str), Some(NAME), "{id} tags: {tags:?}");
    assert_eq!(tags.get("Team").map(String::as_str), Some("platform"), "{id} tags: {tags:?}");
    assert!(tags.get("retool:owner").is_some_and(|owner| !owner.is_empty()), "{id} ownership mark: {tags:?}");
    let endpoint = made.node_groups().first().and_then(|n| n.primary_endpoint()).and_then(|e| e.address());
    (arn, endpoint.expect("a primary endpoint").to_owned())
}

/// Asserts group `id` is gone or being deleted.
async fn assert_deleted(elasticache: &ElastiCache, id: &str) {
    if let Some(left) = group(elasticache, id).await {
        assert_eq!(left.status(), Some("deleting"), "replication group {id} must be deleted");
    }
}

/// The action Terraform plans for the deployment.
async fn planned_action(workspace: &Workspace) -> Vec<String> {
    let plan = workspace.terraform().plan_json().await.expect("plan -json");
    let changes = plan["resource_changes"].as_array().cloned().unwrap_or_default();
    let deployment = changes.iter().find(|change| change["address"] == "retool_deployment.app").expect("planned");
    let actions = deployment["change"]["actions"].as_array().cloned().unwrap_or_default();
    actions.iter().map(|action| action.as_str().unwrap_or_default().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn rpc_redis_is_switched_on_and_off_in_place_beside_the_cache_and_destroyed() {
    let toolchain = acceptance_toolchain("rpc");
    let emulator = Emulator::start(&toolchain);
    let elasticache = ElastiCache::new(&sdk_config(&emulator.endpoint()));
    let workspace = Workspace::new(&toolchain, &emulator);
    workspace.start_cluster(&[NAME]).await;
    let terraform = workspace.terraform();

    // The cache alone: no RPC group, no endpoint.
    workspace.write_main(&config(&workspace, false));
    terraform.init().await.expect("init");
    terraform.apply().await.expect("create with the cache");
    let outputs = terraform.outputs().await.expect("outputs");
    let key_arn = outputs["kms_key_arn"].as_str().expect("key ARN").to_owned();
    let (cache_arn, _) = assert_made(&elasticache, CACHE, CACHE_NODE_TYPE, &key_arn).await;
    assert!(group(&elasticache, RPC).await.is_none(), "no RPC group while rpc is off");
    assert!(outputs["rpc_endpoint"].is_null(), "no rpc_endpoint while rpc is off");
    terraform.plan().await.expect("plan after create").assert_empty("plan after create");

    // RPC on: in place; a second group like the cache, its endpoint the output.
    workspace.write_main(&config(&workspace, true));
    assert_eq!(planned_action(&workspace).await, ["update"], "switching rpc on is in place");
    terraform.apply().await.expect("enable rpc");
    let (_, rpc_endpoint) = assert_made(&elasticache, RPC, RPC_NODE_TYPE, &key_arn).await;
    let (cache_after, _) = assert_made(&elasticache, CACHE, CACHE_NODE_TYPE, &key_arn).await;
    assert_eq!(cache_after, cache_arn, "the cache is the same group");
    let outputs = terraform.outputs().await.expect("outputs");
    assert_eq!(outputs["rpc_endpoint"].as_str(), Some(rpc_endpoint.as_str()), "rpc_endpoint is the RPC group's");
    assert_ne!(outputs["rpc_endpoint"], outputs["cache_endpoint"]);
    terraform.plan().await.expect("plan after enabling rpc").assert_empty("plan after enabling rpc");

    // RPC off: in place; the RPC group is deleted, the cache and its subnet group stay.
    workspace.write_main(&config(&workspace, false));
    assert_eq!(planned_action(&workspace).await, ["update"], "switching rpc off is in place");
    terraform.apply().await.expect("disable rpc");
    assert_deleted(&elasticache, RPC).await;
    let (cache_after, _) = assert_made(&elasticache, CACHE, CACHE_NODE_TYPE, &key_arn).await;
    assert_eq!(cache_after, cache_arn, "the cache is the same group");
    assert!(terraform.outputs().await.expect("outputs")["rpc_endpoint"].is_null(), "no rpc_endpoint once off");
    terraform.plan().await.expect("plan after disabling rpc").assert_empty("plan after disabling rpc");

    // On again at once, while the old group may still be deleting: a new group, then destroy
    // leaves neither.
    workspace.write_main(&config(&workspace, true));
    terraform.apply().await.expect("enable rpc again");
    assert_made(&elasticache, RPC, RPC_NODE_TYPE, &key_arn).await;
    terraform.plan().await.expect("plan after enabling rpc again").assert_empty("plan after enabling rpc again");
    terraform.destroy().await.expect("destroy");
    assert_deleted(&elasticache, CACHE).await;
    assert_deleted(&elasticache, RPC).await;
    let state = terraform.show_json().await.expect("state");
    assert!(state["values"].is_null() || state["values"]["root_module"]["resources"].is_null(), "state empty: {state}");
}
