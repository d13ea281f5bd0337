//! `retool_network` driven the way Terraform drives it — validate, plan, apply, refresh, plan
//! again, drift, in-place updates, replacement, import, destroy — through the framework runtime
//! (which checks Terraform's plan/apply consistency rules) against a moto server of its own.
//! (Formerly a unit test inside `src/resources/network/`.)

use std::collections::BTreeMap;

use async_trait::async_trait;
use terraform_provider_retool::aws::AwsClients;
use terraform_provider_retool::framework::schema::Block;
use terraform_provider_retool::framework::{Diagnostics, Provider, ProviderRuntime, Resource, Schema};
use terraform_provider_retool::provider::RetoolProvider;
use terraform_provider_retool::resources::network::NetworkResource;
use terraform_provider_retool::resources::network::model::attribute;
use terraform_provider_retool::value::{AttributePath, Value};

use crate::support::aws::{CallCounter, ec2_counting};
use crate::support::{Emulator, acceptance_toolchain};

/// The real provider, except that `configure` hands out clients for the emulator.
struct EmulatedProvider {
    clients: AwsClients,
}

#[async_trait]
impl Provider for EmulatedProvider {
    type Data = AwsClients;

    fn schema(&self) -> Schema {
        RetoolProvider::new().schema()
    }

    async fn configure(&self, _config: &Value, _diags: &mut Diagnostics) -> Option<AwsClients> {
        Some(self.clients.clone())
    }

    fn resources(&self) -> Vec<std::sync::Arc<dyn Resource<AwsClients>>> {
        RetoolProvider::new().resources()
    }
}

const TYPE: &str = terraform_provider_retool::resources::network::TYPE_NAME;

/// Terraform's proposed new state: configuration, with prior values for computed attributes the
/// configuration leaves unset.
fn proposed(block: &Block, config: &Value, prior: &Value) -> Value {
    if config.is_null() {
        return Value::Null;
    }
    Value::object(block.attributes.iter().map(|attribute| {
        let configured = config.attr(&attribute.name);
        let value = if !configured.is_null() || !attribute.computed {
            configured.clone()
        } else {
            prior.attr(&attribute.name).clone()
        };
        (attribute.name.clone(), value)
    }))
}

fn no_errors(diags: &Diagnostics, step: &str) {
    assert!(!diags.has_errors(), "{step}: {:?}", diags.iter().map(ToString::to_string).collect::<Vec<_>>());
}

fn list(items: &[&str]) -> Value {
    Value::list(items.iter().map(|item| Value::string(*item)).collect())
}

struct Terraform {
    runtime: ProviderRuntime<EmulatedProvider>,
    block: Block,
}

struct Planned {
    value: Value,
    private: Vec<u8>,
    replace: Vec<String>,
}

impl Terraform {
    async fn plan(&self, config: &Value, prior: &Value, private: &[u8]) -> Planned {
        let diags = self.runtime.validate_resource_config(TYPE, config);
        no_errors(&diags, "validate");
        let response = self
            .runtime
            .plan_resource_change(TYPE, config, prior, &proposed(&self.block, config, prior), private)
            .await;
        no_errors(&response.diagnostics, "plan");
        Planned {
            value: response.planned,
            private: response.private,
            replace: response.requires_replace.iter().map(ToString::to_string).collect(),
        }
    }

    async fn apply(&self, prior: &Value, planned: Planned) -> (Value, Vec<u8>) {
        let result =
            self.runtime.apply_resource_change(TYPE, prior, &planned.value, &planned.value, planned.private).await;
        no_errors(&result.diagnostics, "apply");
        (result.state, result.private)
    }

    async fn refresh(&self, state: &Value, private: Vec<u8>) -> (Value, Vec<u8>) {
        let result = self.runtime.read_resource(TYPE, state, private).await;
        no_errors(&result.diagnostics, "refresh");
        (result.state, result.private)
    }
}

#[tokio::test]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn terraform_lifecycle_against_moto() {
    let toolchain = acceptance_toolchain("terraform_lifecycle_against_moto");
    let moto = Emulator::start(&toolchain);
    let calls = CallCounter::default();
    let ec2 = ec2_counting(&moto.endpoint(), &calls);
    let clients =
        AwsClients::for_endpoint(&moto.endpoint(), "us-east-1", BTreeMap::from([("owner".into(), "platform".into())]))
            .with_ec2(ec2.clone());
    let runtime = ProviderRuntime::new(EmulatedProvider { clients });
    no_errors(&runtime.configure(&Value::object::<&str>([])).await, "configure");
    let block = NetworkResource.schema().block;
    let terraform = Terraform { runtime, block };

    // Bad input is refused before any AWS call.
    calls.take();
    let bad =
        Value::object([("name", Value::string("acme")), ("availability_zones", list(&["eu-west-1a", "eu-west-1b"]))]);
    let response = terraform
        .runtime
        .plan_resource_change(TYPE, &bad, &Value::Null, &proposed(&terraform.block, &bad, &Value::Null), &[])
        .await;
    let paths: Vec<String> =
        response.diagnostics.iter().filter_map(|d| d.path.as_ref().map(ToString::to_string)).collect();
    assert_eq!(paths, ["availability_zones[0]", "availability_zones[1]"]);
    assert_eq!(calls.take(), 0, "zones of another region are caught without AWS");

    // Create with defaults: the zones are the region's first two, outputs known after apply.
    let config =
        Value::object([("name", Value::string("acme")), ("tags", Value::map([("team", Value::string("infra"))]))]);
    let plan = terraform.plan(&config, &Value::Null, &[]).await;
    assert_eq!(plan.value.attr("availability_zones"), &list(&["us-east-1a", "us-east-1b"]));
    assert_eq!(plan.value.attr("cidr_block").as_str(), Some("10.254.0.0/16"));
    assert_eq!(plan.value.attr("nat_gateways").as_str(), Some("one_per_az"));
    assert!(plan.value.attr(attribute::VPC_ID).is_unknown());
    let (state, private) = terraform.apply(&Value::Null, plan).await;
    assert!(state.is_wholly_known());
    assert_eq!(state.attr(attribute::EGRESS_IPS).elements().map(<[Value]>::len), Some(2));
    let vpc_id = state.attr(attribute::VPC_ID).as_str().unwrap().to_owned();

    // Refresh finds no drift, and the next plan is empty.
    let (state, private) = terraform.refresh(&state, private).await;
    assert_eq!(state.attr("drift"), &Value::list(Vec::new()));
    let plan = terraform.plan(&config, &state, &private).await;
    assert_eq!(plan.value, state, "second plan is not empty");

    // A NAT gateway deleted behind Terraform's back shows as drift; the plan repairs it.
    let nat = state.attr(attribute::NAT_GATEWAY_IDS).elements().unwrap()[1].as_str().unwrap().to_owned();
    ec2.delete_nat_gateway().nat_gateway_id(&nat).send().await.unwrap();
    let (drifted, private) = terraform.refresh(&state, private).await;
    // AWS (and the emulator) show the gateway `deleting` for minutes after the call.
    let deleting = format!("NAT gateway for us-east-1b ({nat}) is being deleted and will be replaced");
    assert_eq!(drifted.attr("drift"), &list(&[deleting.as_str()]));
    let plan = terraform.plan(&config, &drifted, &private).await;
    assert_eq!(plan.value.attr("drift"), &Value::list(Vec::new()));
    assert!(plan.value.attr(attribute::NAT_GATEWAY_IDS).is_unknown());
    assert_eq!(plan.value.attr(attribute::PUBLIC_SUBNET_IDS), state.attr(attribute::PUBLIC_SUBNET_IDS));
    assert!(plan.replace.is_empty());
    let (repaired, private) = terraform.apply(&drifted, plan).await;
    let (repaired, private) = terraform.refresh(&repaired, private).await;
    assert_eq!(repaired.attr("drift"), &Value::list(Vec::new()));
    assert_eq!(terraform.plan(&config, &repaired, &private).await.value, repaired);

    // Tags, an appended zone and the NAT mode change in place.
    let grown = Value::object([
        ("name", Value::string("acme")),
        ("availability_zones", list(&["us-east-1a", "us-east-1b", "us-east-1c"])),
        ("nat_gateways", Value::string("single")),
        ("tags", Value::map([("env", Value::string("prod"))])),
    ]);
    let plan = terraform.plan(&grown, &repaired, &private).await;
    assert!(plan.replace.is_empty(), "{:?}", plan.replace);
    assert_eq!(plan.value.attr(attribute::VPC_ID).as_str(), Some(vpc_id.as_str()));
    assert!(plan.value.attr(attribute::PRIVATE_SUBNET_IDS).is_unknown());
    let (updated, private) = terraform.apply(&repaired, plan).await;
    assert_eq!(updated.attr(attribute::NAT_GATEWAY_IDS).elements().map(<[Value]>::len), Some(1));
    assert_eq!(updated.attr(attribute::PRIVATE_SUBNET_IDS).elements().map(<[Value]>::len), Some(3));
    let (updated, private) = terraform.refresh(&updated, private).await;
    assert_eq!(updated.attr("drift"), &Value::list(Vec::new()));
    let vpc = ec2.describe_vpcs().vpc_ids(&vpc_id).send().await.unwrap();
    let tags: BTreeMap<_, _> = vpc.vpcs()[0]
        .tags()
        .iter()
        .map(|tag| (tag.key().unwrap_or_default(), tag.value().unwrap_or_default()))
        .collect();
    assert_eq!(
        (tags.get("env"), tags.get("team"), tags.get("owner")),
        (Some(&"prod"), None, Some(&"platform")),
        "{tags:?}"
    );
    assert_eq!(terraform.plan(&grown, &updated, &private).await.value, updated);

    // Removing a zone, or a new block or name, replaces the network.
    let shrunk =
        Value::object([("name", Value::string("acme")), ("availability_zones", list(&["us-east-1a", "us-east-1c"]))]);
    assert_eq!(terraform.plan(&shrunk, &updated, &private).await.replace, ["availability_zones"]);
    let renamed = Value::object([
        ("name", Value::string("other")),
        ("availability_zones", list(&["us-east-1a", "us-east-1b", "us-east-1c"])),
    ]);
    assert!(terraform.plan(&renamed, &updated, &private).await.replace.contains(&"name".to_string()));

    // Import by VPC id reads back the same state.
    let (imported, diags) = terraform.runtime.import_resource_state(TYPE, &vpc_id).await;
    no_errors(&diags, "import");
    let (imported, _) = terraform.refresh(&imported[0].state, Vec::new()).await;
    assert_eq!(imported, updated);
    let (_, diags) = terraform.runtime.import_resource_state(TYPE, "subnet-123").await;
    assert!(diags.has_errors());

    // Destroy removes everything.
    let plan = terraform.plan_destroy(&updated, &private).await;
    let (gone, _) = terraform.apply(&updated, plan).await;
    assert!(gone.is_null());
    let (after, _) = terraform.refresh(&updated, Vec::new()).await;
    assert!(after.is_null(), "refresh after destroy still finds the network");
}

impl Terraform {
    async fn plan_destroy(&self, prior: &Value, private: &[u8]) -> Planned {
        let response = self.runtime.plan_resource_change(TYPE, &Value::Null, prior, &Value::Null, private).await;
        no_errors(&response.diagnostics, "plan destroy");
        assert!(response.planned.is_null());
        Planned { value: Value::Null, private: response.private, replace: Vec::new() }
    }
}

#[test]
fn proposed_state_keeps_prior_computed_values() {
    let block = NetworkResource.schema().block;
    let prior = Value::object([
        ("name", Value::string("a")),
        ("vpc_id", Value::string("vpc-1")),
        ("cidr_block", Value::string("10.0.0.0/16")),
    ]);
    let config = Value::object([("name", Value::string("b"))]);
    let value = proposed(&block, &config, &prior);
    assert_eq!(value.attr("name").as_str(), Some("b"));
    assert_eq!(value.attr("vpc_id").as_str(), Some("vpc-1"));
    assert_eq!(value.get_path(&AttributePath::root().attr("cidr_block")), Some(&Value::string("10.0.0.0/16")));
}
