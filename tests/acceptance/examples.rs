//! Acceptance tests of `examples/`: what users copy must work as written. Every example directory
//! (the module included) is `terraform fmt` clean and validates; `examples/complete` and
//! `examples/multi-instance` are applied against the emulator through the `retool-byoc` module,
//! checked through the AWS APIs, re-planned empty and destroyed without leftovers; and
//! `examples/ci/pipeline.sh` runs for real: it applies a normal plan, and its guard refuses a plan
//! that replaces a deployment whose database is protected, before anything is applied.
//!
//! Each test copies the whole `examples/` tree into its workspace, so the examples' relative
//! module source (`../modules/retool-byoc`) resolves as it does in the repository.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::aws as support_aws;
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

/// An example copied into a workspace, with the backend settings of the workspace's bucket.
struct Example {
    dir: PathBuf,
    terraform: Terraform,
    backend_config: PathBuf,
}

impl Example {
    /// Copies examples/ into `workspace` and prepares `name` there, with `tfvars` as its
    /// `terraform.tfvars`.
    fn prepare(workspace: &Workspace, name: &str, tfvars: &str) -> Self {
        let dir = workspace.copy_examples().join(name);
        std::fs::write(dir.join("terraform.tfvars"), tfvars).expect("write terraform.tfvars");
        Self { terraform: workspace.terraform_in(&dir), backend_config: workspace.write_backend_config(), dir }
    }

    fn backend_argument(&self) -> String {
        format!("-backend-config={}", self.backend_config.display())
    }

    async fn init(&self) {
        self.terraform.succeed(&["init", "-input=false", "-no-color", &self.backend_argument()]).await.expect("init");
    }
}

struct Clients {
    ec2: aws_sdk_ec2::Client,
    eks: aws_sdk_eks::Client,
    rds: aws_sdk_rds::Client,
    iam: aws_sdk_iam::Client,
}

impl Clients {
    fn new(endpoint: &str) -> Self {
        let config = support_aws::sdk_config(endpoint);
        Self {
            ec2: support_aws::ec2(endpoint),
            eks: aws_sdk_eks::Client::new(&config),
            rds: aws_sdk_rds::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
        }
    }

    /// The VPC the EKS cluster `name` runs in (that of its subnets), when the cluster exists.
    async fn cluster_vpc(&self, name: &str) -> Option<String> {
        let cluster = self.eks.describe_cluster().name(name).send().await.ok()?.cluster().cloned()?;
        let subnets = cluster.resources_vpc_config().map(|config| config.subnet_ids().to_vec()).unwrap_or_default();
        assert!(!subnets.is_empty(), "cluster {name} has no subnets");
        let described =
            self.ec2.describe_subnets().set_subnet_ids(Some(subnets)).send().await.expect("DescribeSubnets");
        let vpcs: std::collections::BTreeSet<&str> =
            described.subnets().iter().filter_map(|subnet| subnet.vpc_id()).collect();
        assert_eq!(vpcs.len(), 1, "the subnets of cluster {name} are in one VPC: {vpcs:?}");
        vpcs.first().map(|vpc| (*vpc).to_owned())
    }

    /// The deletion protection of DB instance `identifier`, when it exists.
    async fn db_protection(&self, identifier: &str) -> Option<bool> {
        let out = self.rds.describe_db_instances().db_instance_identifier(identifier).send().await.ok()?;
        out.db_instances().first().map(|db| db.deletion_protection().unwrap_or(false))
    }

    /// The VPCs carrying the examples' `Project` tag.
    async fn example_vpcs(&self) -> Vec<String> {
        let filter = aws_sdk_ec2::types::Filter::builder().name("tag:Project").values(PROJECT_TAG).build();
        let vpcs = self.ec2.describe_vpcs().filters(filter).send().await.expect("DescribeVpcs");
        vpcs.vpcs().iter().filter_map(|vpc| vpc.vpc_id()).map(str::to_owned).collect()
    }

    /// The permissions boundary of IAM role `name`; `None` when the role does not exist.
    async fn role_boundary(&self, name: &str) -> Option<Option<String>> {
        let role = self.iam.get_role().role_name(name).send().await.ok()?.role().cloned()?;
        Some(role.permissions_boundary().and_then(|b| b.permissions_boundary_arn()).map(str::to_owned))
    }

    async fn role_names(&self) -> Vec<String> {
        let roles = self.iam.list_roles().send().await.expect("ListRoles");
        roles.roles().iter().map(|role| role.role_name().to_owned()).collect()
    }

    /// Checks one instance the module built: its cluster in `vpc`, its databases (the Retool DB
    /// only when `retool_db`), and its roles fenced by the workload boundary of the instance's own
    /// permission boundary.
    async fn assert_instance(&self, name: &str, vpc: &str, retool_db: bool, protected: bool) {
        assert_eq!(self.cluster_vpc(name).await.as_deref(), Some(vpc), "cluster {name} runs in network {vpc}");
        assert_eq!(self.db_protection(&format!("{name}-postgres")).await, Some(protected), "database of {name}");
        let retool_db_protection = self.db_protection(&format!("{name}-retooldb")).await;
        assert_eq!(retool_db_protection.is_some(), retool_db, "Retool DB of {name} exists only when enabled");
        let boundary =
            self.iam.get_policy().policy_arn(format!("arn:aws:iam::123456789012:policy/{name}-workload-boundary"));
        let boundary_arn = boundary
            .send()
            .await
            .expect("the instance's workload boundary exists")
            .policy()
            .and_then(|p| p.arn())
            .map(str::to_owned);
        for role in [format!("{name}-eks-cluster"), format!("{name}-eks-nodes")] {
            assert_eq!(
                self.role_boundary(&role).await,
                Some(boundary_arn.clone()),
                "role {role} carries the workload boundary"
            );
        }
        assert!(
            self.role_boundary(&format!("{name}-maintenance")).await.is_some(),
            "operator role {name}-maintenance exists"
        );
    }

    /// Checks that nothing of instance `name` is left.
    async fn assert_instance_gone(&self, name: &str) {
        assert_eq!(self.cluster_vpc(name).await, None, "cluster {name} is gone");
        for db in [format!("{name}-postgres"), format!("{name}-retooldb")] {
            assert_eq!(self.db_protection(&db).await, None, "DB instance {db} is gone");
        }
        let roles = self.role_names().await;
        assert!(!roles.iter().any(|role| role.starts_with(&format!("{name}-"))), "roles of {name} left: {roles:?}");
    }
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
    let toolchain = acceptance_toolchain("complete_example_applies_converges_and_destroys");
    let emulator = Emulator::start(&toolchain);
    let endpoint = emulator.endpoint();
    let workspace = Workspace::new(&toolchain, &emulator);
    let aws = Clients::new(&endpoint);
    // deletion_protection off for this test only, so that it can destroy.
    let example = Example::prepare(
        &workspace,
        "complete",
        &format!("aws_endpoint = \"{endpoint}\"\ndeletion_protection = false\n"),
    );
    example.init().await;
    example.terraform.apply().await.expect("apply examples/complete");

    let keys = emulator.list_keys(workspace.bucket());
    assert!(keys.iter().any(|key| key == "examples/complete/terraform.tfstate"), "state in the S3 backend: {keys:?}");
    let outputs = example.terraform.outputs().await.expect("outputs");
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
    let vpcs = aws.example_vpcs().await;
    assert_eq!(vpcs.len(), 1, "one network: {vpcs:?}");
    aws.assert_instance("retool-prod", &vpcs[0], true, false).await;

    example.terraform.plan().await.expect("second plan").assert_empty("examples/complete after apply");
    example.terraform.destroy().await.expect("destroy examples/complete");
    aws.assert_instance_gone("retool-prod").await;
    assert!(aws.example_vpcs().await.is_empty(), "the network is gone");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn multi_instance_example_shares_one_network_converges_and_destroys() {
    let toolchain = acceptance_toolchain("multi_instance_example_shares_one_network_converges_and_destroys");
    let emulator = Emulator::start(&toolchain);
    let endpoint = emulator.endpoint();
    let workspace = Workspace::new(&toolchain, &emulator);
    let aws = Clients::new(&endpoint);
    let example = Example::prepare(
        &workspace,
        "multi-instance",
        &format!("aws_endpoint = \"{endpoint}\"\ndeletion_protection = false\n"),
    );
    example.init().await;
    example.terraform.apply().await.expect("apply examples/multi-instance");

    let outputs = example.terraform.outputs().await.expect("outputs");
    let network = text(&outputs, "network_id");
    assert_eq!(aws.example_vpcs().await, vec![network.to_owned()], "one network, the output's");
    assert_eq!(outputs["urls"]["staging"], "https://retool-staging.example.com", "urls: {outputs}");
    assert_instance_outputs(
        &outputs["egress_ips"],
        &outputs["egress_allowlist"],
        &outputs["estimated_monthly_cost_usd"]["production"],
    );
    let costs = &outputs["estimated_monthly_cost_usd"];
    assert!(
        costs["staging"].as_f64() < costs["production"].as_f64(),
        "the smaller staging instance costs less: {costs}"
    );
    aws.assert_instance("retool-prod", network, true, false).await;
    aws.assert_instance("retool-staging", network, false, false).await;

    example.terraform.plan().await.expect("second plan").assert_empty("examples/multi-instance after apply");
    example.terraform.destroy().await.expect("destroy examples/multi-instance");
    aws.assert_instance_gone("retool-prod").await;
    aws.assert_instance_gone("retool-staging").await;
    assert!(aws.example_vpcs().await.is_empty(), "the shared network is gone");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn ci_pipeline_applies_and_its_guard_refuses_replacing_a_protected_database() {
    let toolchain = acceptance_toolchain("ci_pipeline_applies_and_its_guard_refuses_replacing_a_protected_database");
    let emulator = Emulator::start(&toolchain);
    let endpoint = emulator.endpoint();
    let workspace = Workspace::new(&toolchain, &emulator);
    let aws = Clients::new(&endpoint);
    // deletion_protection keeps its default (true): what the guard protects.
    let example = Example::prepare(&workspace, "complete", "");
    let pipeline = example.dir.join("../ci/pipeline.sh");
    let wrapper = workspace.root().join("terraform");
    example.terraform.write_wrapper(&wrapper);
    let wrapper = wrapper.display().to_string();
    let backend = example.backend_argument();
    let dir = example.dir.display().to_string();
    let settings = [
        ("TERRAFORM", wrapper.as_str()),
        ("TF_CLI_ARGS_init", backend.as_str()),
        ("TF_VAR_aws_endpoint", endpoint.as_str()),
    ];

    let first = example.terraform.run_program(&pipeline, &[&dir], &settings).await;
    assert_eq!(first.code, 0, "the pipeline applies a normal plan:\n{first}");
    assert!(first.stdout.contains("plan-guard: no protected Retool database"), "the guard ran:\n{first}");
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(example.dir.join("tfplan.json")).expect("tfplan.json saved"))
            .expect("tfplan.json is JSON");
    assert!(
        saved["resource_changes"]
            .as_array()
            .is_some_and(|changes| changes.iter().any(|change| change["type"] == "retool_deployment")),
        "tfplan.json holds the plan's resource changes"
    );
    let vpcs = aws.example_vpcs().await;
    assert_eq!(vpcs.len(), 1, "one network: {vpcs:?}");
    aws.assert_instance("retool-prod", &vpcs[0], true, true).await;

    // A new name replaces the deployment, database included: the provider only warns at plan.
    let renamed = [settings[0], settings[1], settings[2], ("TF_VAR_name", "retool-renamed")];
    let refused = example.terraform.run_program(&pipeline, &[&dir], &renamed).await;
    assert_ne!(refused.code, 0, "the pipeline must fail:\n{refused}");
    assert!(
        refused.stderr.contains("plan-guard: refusing this plan")
            && refused.stderr.contains("module.retool.retool_deployment.this (delete then create)"),
        "the guard names the protected deployment:\n{refused}"
    );
    assert!(!refused.stdout.contains("terraform apply tfplan"), "nothing is applied after the guard:\n{refused}");
    aws.assert_instance("retool-prod", &vpcs[0], true, true).await;
    assert_eq!(aws.cluster_vpc("retool-renamed").await, None, "no renamed cluster was built");
    assert_eq!(aws.example_vpcs().await, vpcs, "the network was not replaced");
}
