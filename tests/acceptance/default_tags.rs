//! A change of the provider's `default_tags` is drift on every object a deployment made, and the
//! next apply repairs it in place — objects whose other tags are kept as created (node group,
//! subnet and parameter groups, cache) included. Read back from the emulator, object by object.

use aws_sdk_eks::Client as Eks;

use crate::support::aws::sdk_config;
use crate::support::workspace::two_zone_network;
use crate::support::{Emulator, Workspace, acceptance_toolchain};

const NAME: &str = "tagged";
const KEY: &str = "CostCenter";

/// The network and a deployment with a cache, under `default_tags = { CostCenter = cost_center }`.
fn config(workspace: &Workspace, cost_center: &str) -> String {
    let provider =
        workspace.provider_block_with(&format!("  default_tags = {{\n    {KEY} = \"{cost_center}\"\n  }}\n"));
    let network = two_zone_network(NAME);
    format!(
        r#"{provider}
{network}

resource "retool_deployment" "app" {{
  name               = "{NAME}"
  network_id         = retool_network.net.id
  retool_version     = "3.148.0-stable"
  domain             = "retool.tagged.test"
  kubernetes_version = "1.33"
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
    enabled = true
  }}
}}

output "kms_key_arn" {{
  value = retool_deployment.app.kms_key_arn
}}
"#
    )
}

/// Every object of the deployment with the value of its `CostCenter` tag (`None`: no such tag).
async fn cost_centers(endpoint: &str, kms_key_arn: &str) -> Vec<(String, Option<String>)> {
    let config = sdk_config(endpoint);
    let (eks, rds, cache) =
        (Eks::new(&config), aws_sdk_rds::Client::new(&config), aws_sdk_elasticache::Client::new(&config));
    let (iam, kms, secrets) = (
        aws_sdk_iam::Client::new(&config),
        aws_sdk_kms::Client::new(&config),
        aws_sdk_secretsmanager::Client::new(&config),
    );
    let mut found = Vec::new();
    let mut record = |object: String, value: Option<&str>| found.push((object, value.map(str::to_owned)));

    let cluster = eks.describe_cluster().name(NAME).send().await.expect("DescribeCluster").cluster.expect("cluster");
    record("EKS cluster".into(), cluster.tags().and_then(|tags| tags.get(KEY)).map(String::as_str));
    let group = eks.describe_nodegroup().cluster_name(NAME).nodegroup_name("tagged-m5-large").send().await;
    let group = group.expect("DescribeNodegroup").nodegroup.expect("node group");
    record("node group".into(), group.tags().and_then(|tags| tags.get(KEY)).map(String::as_str));
    for name in ["vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent"] {
        let addon = eks.describe_addon().cluster_name(NAME).addon_name(name).send().await.expect("DescribeAddon");
        let addon = addon.addon.expect("add-on");
        record(format!("add-on {name}"), addon.tags().and_then(|tags| tags.get(KEY)).map(String::as_str));
    }
    for role in ["tagged-eks-cluster", "tagged-eks-nodes", "tagged-external-secrets"] {
        let tags = iam.list_role_tags().role_name(role).send().await.expect("ListRoleTags");
        record(format!("role {role}"), tags.tags().iter().find(|tag| tag.key() == KEY).map(|tag| tag.value()));
    }
    let key = kms.list_resource_tags().key_id(kms_key_arn).send().await.expect("ListResourceTags");
    record("KMS key".into(), key.tags().iter().find(|tag| tag.tag_key() == KEY).map(|tag| tag.tag_value()));
    let db = rds.describe_db_instances().db_instance_identifier("tagged-postgres").send().await.expect("instance");
    let db = db.db_instances().first().expect("instance").clone();
    let subnet_group = db.db_subnet_group().and_then(|group| group.db_subnet_group_arn()).expect("subnet group");
    let parameter_group = rds
        .describe_db_parameter_groups()
        .db_parameter_group_name(db.db_parameter_groups()[0].db_parameter_group_name().expect("parameter group"))
        .send()
        .await
        .expect("DescribeDBParameterGroups");
    let parameter_group = parameter_group.db_parameter_groups()[0].db_parameter_group_arn().expect("arn").to_owned();
    for (object, arn) in [
        ("DB instance", db.db_instance_arn().expect("arn").to_owned()),
        ("DB subnet group", subnet_group.to_owned()),
        ("DB parameter group", parameter_group),
    ] {
        let tags = rds.list_tags_for_resource().resource_name(&arn).send().await.expect("ListTagsForResource");
        record(object.into(), tags.tag_list().iter().find(|tag| tag.key() == Some(KEY)).and_then(|tag| tag.value()));
    }
    let group = cache.describe_replication_groups().replication_group_id("tagged-cache").send().await.expect("group");
    let group_arn = group.replication_groups()[0].arn().expect("arn").to_owned();
    let subnets = cache.describe_cache_subnet_groups().cache_subnet_group_name("tagged-cache").send().await;
    let subnets_arn = subnets.expect("subnet group").cache_subnet_groups()[0].arn().expect("arn").to_owned();
    for (object, arn) in [("replication group", group_arn), ("cache subnet group", subnets_arn)] {
        let tags = cache.list_tags_for_resource().resource_name(&arn).send().await.expect("ListTagsForResource");
        record(object.into(), tags.tag_list().iter().find(|tag| tag.key() == Some(KEY)).and_then(|tag| tag.value()));
    }
    for secret in ["retool/tagged/jwt-secret", "retool/tagged/encryption-key"] {
        let described = secrets.describe_secret().secret_id(secret).send().await.expect("DescribeSecret");
        record(
            format!("secret {secret}"),
            described.tags().iter().find(|tag| tag.key() == Some(KEY)).and_then(|tag| tag.value()),
        );
    }
    found
}

/// Asserts that every object carries `CostCenter = value`.
fn assert_everywhere(found: &[(String, Option<String>)], value: &str) {
    let wrong: Vec<_> = found.iter().filter(|(_, tag)| tag.as_deref() != Some(value)).collect();
    assert!(wrong.is_empty(), "objects without {KEY} = {value:?}: {wrong:#?}");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn a_default_tags_change_is_drift_and_repaired_on_every_object() {
    let toolchain = acceptance_toolchain("default_tags");
    let emulator = Emulator::start(&toolchain);
    let workspace = Workspace::new(&toolchain, &emulator);
    workspace.start_cluster(&[NAME]).await;
    let terraform = workspace.terraform();

    workspace.write_main(&config(&workspace, "1001"));
    terraform.init().await.expect("init");
    terraform.apply().await.expect("create");
    let outputs = terraform.outputs().await.expect("outputs");
    let key_arn = outputs["kms_key_arn"].as_str().expect("kms_key_arn").to_owned();
    let found = cost_centers(&emulator.endpoint(), &key_arn).await;
    assert_eq!(found.len(), 17, "every object is looked at: {found:#?}");
    assert_everywhere(&found, "1001");

    workspace.write_main(&config(&workspace, "2002"));
    let drifted = terraform.plan().await.expect("plan after the default_tags change");
    drifted.assert_changes("a default_tags change");
    assert!(
        drifted.output.stdout.contains(r#"EKS cluster tags differ: CostCenter is \"1001\", expected \"2002\""#),
        "{}",
        drifted.output
    );
    terraform.apply().await.expect("apply the default_tags change");
    assert_everywhere(&cost_centers(&emulator.endpoint(), &key_arn).await, "2002");
    terraform.plan().await.expect("plan after the repair").assert_empty("plan after the default_tags repair");

    terraform.destroy().await.expect("destroy");
}
