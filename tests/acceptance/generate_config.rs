//! `terraform plan -generate-config-out` for each resource: an object made in one workspace is
//! imported into a second one that holds only an `import {}` block. Terraform writes the
//! configuration from the imported state and the schema; it must validate, and a plan with it
//! must import the object and change nothing — else the generated file is a trap for the first
//! user who adopts an existing stack. The deployment's case lives with its other tests
//! (`deployment::generated_deployment_config_plans_without_changes`), which build its stack.

use serde_json::Value;

use crate::support::{Emulator, Toolchain, Workspace, acceptance_toolchain};

/// Imports `address` by `id` into a fresh workspace with `-generate-config-out`, then checks
/// that the generated file validates and plans as an import with no change. The fresh workspace
/// reaches `first`'s Kubernetes API server, if it started one: an imported deployment's workloads
/// are read from its cluster.
pub(crate) async fn generated_config_plans_without_changes(
    toolchain: &Toolchain,
    emulator: &Emulator,
    first: &Workspace,
    address: &str,
    id: &str,
) {
    let second = Workspace::new(toolchain, emulator);
    second.share_cluster_of(first);
    let terraform = second.terraform();
    second.write_main(&format!("{}\nimport {{\n  to = {address}\n  id = \"{id}\"\n}}\n", second.provider_block()));
    terraform.init().await.expect("init");
    let generated =
        terraform.run(&["plan", "-input=false", "-no-color", "-lock=false", "-generate-config-out=generated.tf"]).await;
    let file = terraform.working_dir().join("generated.tf");
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    assert_eq!(generated.code, 0, "{address}: plan with -generate-config-out failed:\n{generated}\n{text}");
    assert!(text.contains(&format!("resource \"{}\"", address.split('.').next().unwrap_or(address))), "{text}");
    terraform.validate().await.unwrap_or_else(|error| panic!("{address}: generated config invalid: {error}\n{text}"));
    let plan = terraform.plan_json().await.unwrap_or_else(|error| panic!("{address}: plan: {error}\n{text}"));
    let change = plan["resource_changes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|change| change["address"] == address)
        .unwrap_or_else(|| panic!("{address} not in the plan: {plan:#}"));
    assert_eq!(change["change"]["actions"], serde_json::json!(["no-op"]), "{address}: {change:#}\n{text}");
    assert!(change["change"]["importing"].is_object(), "{address} is not imported: {change:#}");
    let others: Vec<&Value> =
        plan["resource_changes"].as_array().into_iter().flatten().filter(|c| c["address"] != address).collect();
    assert!(others.is_empty(), "the import plans other changes: {others:#?}");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn generated_network_config_plans_without_changes() {
    let toolchain = acceptance_toolchain("generated_network_config_plans_without_changes");
    let emulator = Emulator::start(&toolchain);
    let first = Workspace::new(&toolchain, &emulator);
    first.write_main(&format!(
        "{}\nresource \"retool_network\" \"this\" {{\n  name = \"generated\"\n  cidr_block = \"10.43.0.0/16\"\n  \
         availability_zones = [\"us-east-1a\", \"us-east-1b\"]\n  nat_gateways = \"single\"\n}}\n\
         output \"id\" {{\n  value = retool_network.this.id\n}}\n",
        first.provider_block()
    ));
    first.terraform().init().await.expect("init");
    first.terraform().apply().await.expect("apply");
    let outputs = first.terraform().outputs().await.expect("outputs");
    let id = outputs["id"].as_str().expect("network id").to_owned();
    generated_config_plans_without_changes(&toolchain, &emulator, &first, "retool_network.this", &id).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn generated_permission_boundary_config_plans_without_changes() {
    let toolchain = acceptance_toolchain("generated_permission_boundary_config_plans_without_changes");
    let emulator = Emulator::start(&toolchain);
    let first = Workspace::new(&toolchain, &emulator);
    first.write_main(&format!(
        "{}\nresource \"retool_permission_boundary\" \"this\" {{\n  name_prefix = \"generated\"\n  \
         operator_principal_arns = [\"arn:aws:iam::444455556666:role/retool-operator\"]\n}}\n",
        first.provider_block()
    ));
    first.terraform().init().await.expect("init");
    first.terraform().apply().await.expect("apply");
    generated_config_plans_without_changes(
        &toolchain,
        &emulator,
        &first,
        "retool_permission_boundary.this",
        "generated",
    )
    .await;
}
