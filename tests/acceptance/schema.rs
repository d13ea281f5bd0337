//! `terraform providers schema -json`, as real Terraform gets it from the provider binary:
//! `retool_network` is there with its contract, and every attribute and block of the provider
//! and its resources carries a description (the registry docs and editors show them).

use serde_json::Value;

use crate::support::{Emulator, Workspace, acceptance_toolchain};

const PROVIDER_ADDRESS: &str = "registry.terraform.io/retool-byoc/retool";

/// Paths (`schema.attr.nested`) of attributes and nested blocks without a description.
fn undescribed(block: &Value, path: &str, missing: &mut Vec<String>) {
    for (name, attribute) in block["attributes"].as_object().into_iter().flatten() {
        let attribute_path = format!("{path}.{name}");
        if attribute["description"].as_str().is_none_or(|text| text.trim().is_empty()) {
            missing.push(attribute_path.clone());
        }
        if let Some(nested) = attribute.get("nested_type") {
            undescribed(nested, &attribute_path, missing);
        }
    }
    for (name, nested) in block["block_types"].as_object().into_iter().flatten() {
        let block_path = format!("{path}.{name}");
        if nested["block"]["description"].as_str().is_none_or(|text| text.trim().is_empty()) {
            missing.push(block_path.clone());
        }
        undescribed(&nested["block"], &block_path, missing);
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn every_attribute_has_a_description_in_terraforms_view_of_the_schema() {
    let toolchain = acceptance_toolchain("every_attribute_has_a_description_in_terraforms_view_of_the_schema");
    let emulator = Emulator::start(&toolchain);
    let workspace = Workspace::new(&toolchain, &emulator);
    workspace.write_main(&workspace.provider_block());
    workspace.terraform().init().await.expect("init");
    let shown =
        workspace.terraform().succeed(&["providers", "schema", "-json", "-no-color"]).await.expect("providers schema");
    let schemas: Value = serde_json::from_str(&shown.stdout).expect("providers schema -json prints JSON");
    let provider = &schemas["provider_schemas"][PROVIDER_ADDRESS];
    assert!(provider.is_object(), "no schema for {PROVIDER_ADDRESS}: {schemas:#}");

    let network = &provider["resource_schemas"]["retool_network"]["block"];
    let attributes = network["attributes"].as_object().unwrap_or_else(|| {
        let resources: Vec<&String> =
            provider["resource_schemas"].as_object().into_iter().flatten().map(|(name, _)| name).collect();
        panic!("retool_network is not in the provider's schema; resources: {resources:?}")
    });
    for name in [
        "name",
        "cidr_block",
        "availability_zones",
        "nat_gateways",
        "tags",
        "id",
        "vpc_id",
        "public_subnet_ids",
        "private_subnet_ids",
        "internet_gateway_id",
        "nat_gateway_ids",
        "egress_ips",
        "cluster_security_group_id",
        "database_security_group_id",
    ] {
        assert!(attributes.contains_key(name), "retool_network lacks `{name}`: {:?}", attributes.keys());
    }
    assert_eq!(attributes["name"]["required"], true, "name is required");
    for computed in ["id", "vpc_id", "egress_ips", "nat_gateway_ids"] {
        assert_eq!(attributes[computed]["computed"], true, "{computed} is computed");
    }

    let mut missing = Vec::new();
    undescribed(&provider["provider"]["block"], "provider", &mut missing);
    for (name, resource) in provider["resource_schemas"].as_object().into_iter().flatten() {
        if resource["block"]["description"].as_str().is_none_or(|text| text.trim().is_empty()) {
            missing.push(name.clone());
        }
        undescribed(&resource["block"], name, &mut missing);
    }
    assert!(missing.is_empty(), "attributes or blocks without a description: {missing:#?}");
}
