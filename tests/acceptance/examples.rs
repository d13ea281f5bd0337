//! Acceptance tests of `examples/`: what users copy must work as written. Every example directory
//! (the module included) is `terraform fmt` clean and validates; `examples/complete` and
//! `examples/multi-instance` are applied against the emulator through the `retool-byoc` module,
//! checked through the AWS APIs, re-planned empty and destroyed without leftovers; and
//! `examples/ci/pipeline.sh` runs for real: it applies a normal plan, and its guard refuses a plan
//! that replaces a deployment whose database is protected, before anything is applied.
//!
//! Each test copies the whole `examples/` tree into its workspace, so the examples' relative
//! module source (`../modules/retool-byoc`) resolves as it does in the repository.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;
use serde_json::Value;

use crate::deployment::Clients;
use crate::support::terraform::Terraform;
use crate::support::{Emulator, Workspace, acceptance_toolchain};

/// Every directory under examples/ that holds Terraform files; the test fails when one of them
/// is missing, so it cannot pass by finding none.
const TERRAFORM_EXAMPLES: [&str; 7] = [
    "complete",
    "deployment",
    "modules/retool-byoc",
    "multi-instance",
    "network",
    "permission-boundary",
    "terraform-cloud",
];

/// The `Project` tag the examples' provider blocks set on everything (`default_tags`).
const PROJECT_TAG: &str = "retool-example";

/// An example copied into a workspace on a private emulator, with the backend settings of the
/// workspace's bucket and `terraform.tfvars` pointing the provider at the emulator.
struct Example {
    emulator: Emulator,
    workspace: Workspace,
    aws: Clients,
    dir: PathBuf,
    terraform: Terraform,
    backend_config: PathBuf,
}

impl Example {
    /// Starts an emulator for `test`, copies examples/ into a workspace and prepares `name` there,
    /// with a Kubernetes test server standing for the EKS clusters of the example's `instances`.
    /// `deletion_protection = false` goes into its variables unless `protected`.
    async fn prepare(test: &str, name: &str, protected: bool, instances: &[&str]) -> Self {
        let toolchain = acceptance_toolchain(test);
        let emulator = Emulator::start(&toolchain);
        let endpoint = emulator.endpoint();
        let workspace = Workspace::new(&toolchain, &emulator);
        let kubernetes = workspace.start_cluster(instances).await.example_variables();
        let dir = workspace.copy_examples().join(name);
        let protection = if protected { "" } else { "deletion_protection = false\n" };
        let variables = format!("aws_endpoint = \"{endpoint}\"\n{protection}{kubernetes}");
        std::fs::write(dir.join("terraform.tfvars"), variables).expect("write terraform.tfvars");
        let terraform = workspace.terraform_in(&dir);
        let backend_config = workspace.write_backend_config();
        Self { aws: Clients::new(&endpoint), emulator, workspace, dir, terraform, backend_config }
    }

    fn backend_argument(&self) -> String {
        format!("-backend-config={}", self.backend_config.display())
    }

    /// `terraform init` with the backend config and `apply`; returns the outputs.
    async fn apply(&self) -> Value {
        self.terraform.succeed(&["init", "-input=false", "-no-color", &self.backend_argument()]).await.expect("init");
        self.terraform.apply().await.expect("apply the example");
        self.terraform.outputs().await.expect("outputs")
    }

    /// A second plan is empty; destroy leaves nothing of `instances` nor any network, nor their
    /// namespaces on the cluster.
    async fn converge_and_destroy(&self, instances: &[&str]) {
        self.terraform.plan().await.expect("second plan").assert_empty("the example after apply");
        self.terraform.destroy().await.expect("destroy the example");
        let cluster = self.workspace.cluster().expect("the example's cluster");
        let namespaces: Api<Namespace> = Api::all(cluster.server.client());
        for name in instances {
            assert_instance_gone(&self.aws, name).await;
            let namespace = namespaces.get_opt(name).await.expect("read a namespace");
            assert!(namespace.is_none(), "the namespace of {name} is gone from the cluster");
        }
        assert!(example_vpcs(&self.aws).await.is_empty(), "the network is gone");
    }
}

/// The VPC the EKS cluster `name` runs in (that of its subnets), when the cluster exists.
async fn cluster_vpc(aws: &Clients, name: &str) -> Option<String> {
    let cluster = aws.cluster(name).await?;
    let subnets = cluster.resources_vpc_config().map(|config| config.subnet_ids().to_vec()).unwrap_or_default();
    assert!(!subnets.is_empty(), "cluster {name} has no subnets");
    let described = aws.ec2.describe_subnets().set_subnet_ids(Some(subnets)).send().await.expect("DescribeSubnets");
    let vpcs: BTreeSet<&str> = described.subnets().iter().filter_map(|subnet| subnet.vpc_id()).collect();
    assert_eq!(vpcs.len(), 1, "the subnets of cluster {name} are in one VPC: {vpcs:?}");
    vpcs.first().map(|vpc| (*vpc).to_owned())
}

/// The deletion protection of DB instance `identifier`, when it exists.
async fn db_protection(aws: &Clients, identifier: &str) -> Option<bool> {
    aws.db(identifier).await.map(|db| db.deletion_protection().unwrap_or(false))
}

/// The VPCs carrying the examples' `Project` tag.
async fn example_vpcs(aws: &Clients) -> Vec<String> {
    let filter = aws_sdk_ec2::types::Filter::builder().name("tag:Project").values(PROJECT_TAG).build();
    let vpcs = aws.ec2.describe_vpcs().filters(filter).send().await.expect("DescribeVpcs");
    vpcs.vpcs().iter().filter_map(|vpc| vpc.vpc_id()).map(str::to_owned).collect()
}

/// The permissions boundary of IAM role `name`; `None` when the role does not exist.
async fn role_boundary(aws: &Clients, name: &str) -> Option<Option<String>> {
    let role = aws.iam.get_role().role_name(name).send().await.ok()?.role().cloned()?;
    Some(role.permissions_boundary().and_then(|b| b.permissions_boundary_arn()).map(str::to_owned))
}

/// Checks one instance the module built: its cluster in `vpc`, its databases (the Retool DB only
/// when `retool_db`) with deletion protection as `protected`, and its roles fenced by the
/// workload boundary of the instance's own permission boundary.
async fn assert_instance(aws: &Clients, name: &str, vpc: &str, retool_db: bool, protected: bool) {
    assert_eq!(cluster_vpc(aws, name).await.as_deref(), Some(vpc), "cluster {name} runs in network {vpc}");
    assert_eq!(db_protection(aws, &format!("{name}-postgres")).await, Some(protected), "database of {name}");
    let retool_db_protection = db_protection(aws, &format!("{name}-retooldb")).await;
    assert_eq!(retool_db_protection.is_some(), retool_db, "Retool DB of {name} exists only when enabled");
    let boundary =
        aws.iam.get_policy().policy_arn(format!("arn:aws:iam::123456789012:policy/{name}-workload-boundary"));
    let boundary = boundary.send().await.expect("the instance's workload boundary exists");
    let boundary_arn = boundary.policy().and_then(|policy| policy.arn()).map(str::to_owned);
    for role in [format!("{name}-eks-cluster"), format!("{name}-eks-nodes")] {
        assert_eq!(
            role_boundary(aws, &role).await,
            Some(boundary_arn.clone()),
            "role {role} carries the workload boundary"
        );
    }
    assert!(
        role_boundary(aws, &format!("{name}-maintenance")).await.is_some(),
        "operator role {name}-maintenance exists"
    );
}

/// Checks that nothing of instance `name` is left.
async fn assert_instance_gone(aws: &Clients, name: &str) {
    assert_eq!(cluster_vpc(aws, name).await, None, "cluster {name} is gone");
    for db in [format!("{name}-postgres"), format!("{name}-retooldb")] {
        assert_eq!(db_protection(aws, &db).await, None, "DB instance {db} is gone");
    }
    let roles = aws.role_names().await;
    assert!(!roles.iter().any(|role| role.starts_with(&format!("{name}-"))), "roles of {name} left: {roles:?}");
}

/// Checks an instance's `workloads` output: Retool `version` runs in every container the module
/// turns on, each with as many ready replicas as desired (one jobs-runner, `api_replicas` api pods).
fn assert_workloads(workloads: &Value, version: &str, api_replicas: u64) {
    for container in ["jobs-runner", "api", "workflows-backend", "workflows-worker", "code-executor"] {
        let workload = &workloads[container];
        let image = workload["image"].as_str().unwrap_or_else(|| panic!("no {container} in workloads: {workloads}"));
        assert!(image.ends_with(&format!(":{version}")), "{container} runs {image}, not {version}");
        assert_eq!(workload["ready_replicas"], workload["desired_replicas"], "{container} is ready: {workloads}");
    }
    assert_eq!(workloads["jobs-runner"]["desired_replicas"], 1, "one jobs-runner: {workloads}");
    assert_eq!(workloads["api"]["desired_replicas"], api_replicas, "api replicas: {workloads}");
}

fn text<'a>(outputs: &'a Value, name: &str) -> &'a str {
    outputs[name].as_str().unwrap_or_else(|| panic!("output {name} is not a string: {outputs}"))
}

/// The outputs every instance reports: egress IPs, the allowlist and a positive cost estimate.
fn assert_instance_outputs(egress_ips: &Value, allowlist: &Value, cost: &Value) {
    let ips = egress_ips.as_array().expect("egress_ips is a list");
    assert!(!ips.is_empty(), "egress_ips lists the NAT gateways' addresses");
    let allowlist = allowlist.as_array().expect("egress_allowlist is a list");
    assert!(allowlist.iter().any(|domain| domain == "pypi.org"), "egress_allowlist: {allowlist:?}");
    assert!(cost.as_f64().is_some_and(|usd| usd > 0.0), "estimated_monthly_cost_usd: {cost}");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn every_example_is_formatted_and_validates() {
    let toolchain = acceptance_toolchain("every_example_is_formatted_and_validates");
    let emulator = Emulator::start(&toolchain);
    let workspace = Workspace::new(&toolchain, &emulator);
    let repository_examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let examples_arg = repository_examples.display().to_string();
    workspace
        .terraform()
        .succeed(&["fmt", "-check", "-recursive", "-diff", "-no-color", &examples_arg])
        .await
        .expect("every example is terraform fmt clean");

    let examples = workspace.copy_examples();
    let mut found = terraform_dirs(&examples);
    found.sort();
    let expected: Vec<PathBuf> = TERRAFORM_EXAMPLES.iter().map(|name| examples.join(name)).collect();
    assert_eq!(found, expected, "the directories under examples/ with Terraform files (update TERRAFORM_EXAMPLES)");
    for dir in &found {
        let terraform = workspace.terraform_in(dir);
        terraform
            .succeed(&["init", "-input=false", "-no-color", "-backend=false"])
            .await
            .expect("init without backend");
        let validated = terraform.validate().await.expect("validate");
        assert!(validated.stdout.contains("The configuration is valid"), "{}: {validated}", dir.display());
    }
}

/// The directories under `root` (itself included) holding a `.tf` file.
fn terraform_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let mut has_tf = false;
    for entry in std::fs::read_dir(root).expect("read an examples directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            dirs.extend(terraform_dirs(&path));
        } else if path.extension().is_some_and(|extension| extension == "tf") {
            has_tf = true;
        }
    }
    if has_tf {
        dirs.push(root.to_owned());
    }
    dirs
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn complete_example_applies_converges_and_destroys() {
    // deletion_protection off for this test only, so that it can destroy.
    let example =
        Example::prepare("complete_example_applies_converges_and_destroys", "complete", false, &["retool-prod"]).await;
    let outputs = example.apply().await;

    let keys = example.emulator.list_keys(example.workspace.bucket());
    assert!(keys.iter().any(|key| key == "examples/complete/terraform.tfstate"), "state in the S3 backend: {keys:?}");
    assert_eq!(text(&outputs, "url"), "https://retool.example.com");
    assert_eq!(text(&outputs, "cluster_name"), "retool-prod");
    assert_instance_outputs(
        &outputs["egress_ips"],
        &outputs["egress_allowlist"],
        &outputs["estimated_monthly_cost_usd"],
    );
    assert_eq!(
        outputs["operator_role_arns"]["maintenance"], "arn:aws:iam::123456789012:role/retool-prod-maintenance",
        "operator_role_arns: {outputs}"
    );
    let vpcs = example_vpcs(&example.aws).await;
    assert_eq!(vpcs.len(), 1, "one network: {vpcs:?}");
    assert_instance(&example.aws, "retool-prod", &vpcs[0], true, false).await;
    assert_workloads(&outputs["workloads"], "3.148.0-stable", 2);

    example.converge_and_destroy(&["retool-prod"]).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn multi_instance_example_shares_one_network_converges_and_destroys() {
    let example = Example::prepare(
        "multi_instance_example_shares_one_network_converges_and_destroys",
        "multi-instance",
        false,
        &["retool-prod", "retool-staging"],
    )
    .await;
    let outputs = example.apply().await;

    let network = text(&outputs, "network_id");
    assert_eq!(example_vpcs(&example.aws).await, vec![network.to_owned()], "one network, the output's");
    assert_eq!(outputs["urls"]["staging"], "https://retool-staging.example.com", "urls: {outputs}");
    let costs = &outputs["estimated_monthly_cost_usd"];
    assert_instance_outputs(&outputs["egress_ips"], &outputs["egress_allowlist"], &costs["production"]);
    assert!(
        costs["staging"].as_f64() < costs["production"].as_f64(),
        "the smaller staging instance costs less: {costs}"
    );
    assert_instance(&example.aws, "retool-prod", network, true, false).await;
    assert_instance(&example.aws, "retool-staging", network, false, false).await;
    for instance in ["production", "staging"] {
        assert_workloads(&outputs["workloads"][instance], "3.148.0-stable", 2);
    }

    example.converge_and_destroy(&["retool-prod", "retool-staging"]).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn ci_pipeline_applies_and_its_guard_refuses_replacing_a_protected_database() {
    // deletion_protection keeps its default (true): what the guard protects.
    let example = Example::prepare(
        "ci_pipeline_applies_and_its_guard_refuses_replacing_a_protected_database",
        "complete",
        true,
        &["retool-prod"],
    )
    .await;
    let aws = &example.aws;
    let pipeline = example.dir.join("../ci/pipeline.sh");
    let wrapper = example.workspace.root().join("terraform");
    example.terraform.write_wrapper(&wrapper);
    let wrapper = wrapper.display().to_string();
    let backend = example.backend_argument();
    let dir = example.dir.display().to_string();
    let settings = [("TERRAFORM", wrapper.as_str()), ("TF_CLI_ARGS_init", backend.as_str())];

    let first = example.terraform.run_program(&pipeline, &[&dir], &settings).await;
    assert_eq!(first.code, 0, "the pipeline applies a normal plan:\n{first}");
    assert!(first.stdout.contains("plan-guard: no protected Retool database"), "the guard ran:\n{first}");
    let saved = std::fs::read_to_string(example.dir.join("tfplan.json")).expect("tfplan.json saved for review");
    let saved: Value = serde_json::from_str(&saved).expect("tfplan.json is JSON");
    let changes = saved["resource_changes"].as_array().cloned().unwrap_or_default();
    assert!(changes.iter().any(|change| change["type"] == "retool_deployment"), "tfplan.json holds the plan: {saved}");
    let vpcs = example_vpcs(aws).await;
    assert_eq!(vpcs.len(), 1, "one network: {vpcs:?}");
    assert_instance(aws, "retool-prod", &vpcs[0], true, true).await;

    // A new name replaces the deployment, database included: the provider only warns at plan.
    let renamed = [settings[0], settings[1], ("TF_VAR_name", "retool-renamed")];
    let refused = example.terraform.run_program(&pipeline, &[&dir], &renamed).await;
    assert_ne!(refused.code, 0, "the pipeline must fail:\n{refused}");
    assert!(
        refused.stderr.contains("plan-guard: refusing this plan")
            && refused.stderr.contains("module.retool.retool_deployment.this (delete then create)"),
        "the guard names the protected deployment:\n{refused}"
    );
    assert!(!refused.stdout.contains("terraform apply tfplan"), "nothing is applied after the guard:\n{refused}");
    assert_instance(aws, "retool-prod", &vpcs[0], true, true).await;
    assert_eq!(cluster_vpc(aws, "retool-renamed").await, None, "no renamed cluster was built");
    assert_eq!(example_vpcs(aws).await, vpcs, "the network was not replaced");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn the_module_refuses_invalid_inputs_before_any_change() {
    let toolchain = acceptance_toolchain("the_module_refuses_invalid_inputs_before_any_change");
    let emulator = Emulator::start(&toolchain);
    let workspace = Workspace::new(&toolchain, &emulator);
    let examples = workspace.copy_examples();
    let dir = examples.join("invalid");
    std::fs::create_dir(&dir).expect("create the root module dir");
    let root_module = format!(
        r#"terraform {{
  required_providers {{
    retool = {{
      source = "{source}"
    }}
  }}
}}

module "invalid" {{
  source                  = "../modules/retool-byoc"
  name                    = "Retool--prod"
  domain                  = "https://retool.example.com"
  retool_version          = "3.148"
  create_network          = false
  network_id              = "subnet-0123456789abcdef0"
  network                 = {{ cidr_block = "10.0.0.0/8", nat_gateways = "two" }}
  node_group              = {{ min_size = 4, desired_size = 3 }}
  operator_principal_arns = []
}}
"#,
        source = crate::support::workspace::PROVIDER_SOURCE
    );
    std::fs::write(dir.join("main.tf"), root_module).expect("write main.tf");
    let terraform = workspace.terraform_in(&dir);
    terraform.succeed(&["init", "-input=false", "-no-color", "-backend=false"]).await.expect("init");
    // Plan, not validate: validate leaves out the rule that compares two variables (network_id
    // with create_network).
    let refused = terraform.fail(&["plan", "-input=false", "-no-color"]).await.expect("plan refuses the inputs");
    // Terraform wraps diagnostics at 78 columns.
    let said = refused.stderr.split_whitespace().collect::<Vec<_>>().join(" ");
    for message in [
        "The name must be a DNS label",
        "The domain must be a lowercase hostname",
        "The Retool version must look like",
        "network_id must be the id of a retool_network",
        "network.nat_gateways must be one_per_az or single",
        "network.cidr_block must be an IPv4 CIDR block from /16 to /24",
        "node_group sizes must satisfy",
        "operator_principal_arns must name 1 to 20",
    ] {
        assert!(said.contains(message), "plan says {message:?}:\n{refused}");
    }
}
