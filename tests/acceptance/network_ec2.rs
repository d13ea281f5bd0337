//! The EC2 layer of `retool_network` against a real emulator: create → snapshot → drift → repair →
//! mode switch → zone append → destroy, checking AWS's view after each step, on a moto server of
//! its own. (Formerly a unit test inside `src/resources/network/ec2/`.)

use std::collections::BTreeMap;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{AttributeBooleanValue, Filter};
use terraform_provider_retool::framework::StopSignal;
use terraform_provider_retool::resources::network::aws::observe::observe;
use terraform_provider_retool::resources::network::aws::{converge, destroy};
use terraform_provider_retool::resources::network::desired::VPC_TAG;
use terraform_provider_retool::resources::network::drift::{DEFAULT_ROUTE, detect};
use terraform_provider_retool::resources::network::import::recover_spec;
use terraform_provider_retool::resources::network::model::{self, NatMode, NetworkSpec};
use terraform_provider_retool::resources::network::observed::{NetworkSnapshot, RouteTarget};
use terraform_provider_retool::resources::ownership::OwnerToken;

use crate::support::aws::{CallCounter, ec2_counting, open_ssh_to_the_world};
use crate::support::{Emulator, acceptance_toolchain};

/// The network configuration of these tests (the same as the unit tests' fixture in
/// `src/resources/network/fixture.rs`, which is private to the crate).
fn spec(zones: &[&str], nat_mode: NatMode) -> NetworkSpec {
    NetworkSpec {
        name: "acme".into(),
        cidr_block: "10.254.0.0/16".parse().unwrap(),
        availability_zones: zones.iter().map(|zone| zone.to_string()).collect(),
        nat_mode,
        tags: BTreeMap::from([("team".into(), "infra".into())]),
        default_tags: BTreeMap::from([("owner".into(), "platform".into())]),
    }
}

/// An EC2 filter on `name` matching any of `values` (as the crate's private `describe::filter`).
fn filter(name: &str, values: impl IntoIterator<Item = impl Into<String>>) -> Filter {
    values.into_iter().fold(Filter::builder().name(name), |builder, value| builder.values(value)).build()
}

fn messages(spec: &NetworkSpec, snap: &NetworkSnapshot) -> Vec<String> {
    detect(spec, snap).iter().map(ToString::to_string).collect()
}

async fn current(ec2: &Client, vpc_id: &str) -> NetworkSnapshot {
    observe(ec2, vpc_id).await.unwrap().expect("VPC exists")
}

#[tokio::test]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn network_lifecycle_against_moto() {
    let toolchain = acceptance_toolchain("network_lifecycle_against_moto");
    let moto = Emulator::start(&toolchain);
    let calls = CallCounter::default();
    let ec2 = ec2_counting(&moto.endpoint(), &calls);
    let stop = StopSignal::never();
    let owner = OwnerToken::generate();
    let two = spec(&["us-east-1a", "us-east-1b"], NatMode::OnePerAz);

    // A create that fails part-way (a zone the region lacks) leaves a VPC behind...
    let impossible = spec(&["us-east-1a", "us-east-1z"], NatMode::OnePerAz);
    let failure = converge::converge(&ec2, &impossible, &owner, None, &[], &stop).await.unwrap_err();
    assert_eq!(failure.error.operation(), "CreateSubnet", "{failure:?}");
    let partial_vpc = failure.vpc_id.expect("the VPC was created before the failure");

    // ...which the next create finds by its tags and finishes.
    let created = converge::converge(&ec2, &two, &owner, None, &[], &stop).await.unwrap();
    let vpc_id = created.vpc.id.clone();
    assert_eq!(vpc_id, partial_vpc);
    assert_eq!(messages(&two, &created), Vec::<String>::new());
    let outputs = model::outputs(&two, &created);
    assert_eq!(outputs.public_subnet_ids.len(), 2);
    assert_eq!(outputs.private_subnet_ids.len(), 2);
    assert_eq!(outputs.nat_gateway_ids.len(), 2);
    assert_eq!(outputs.egress_ips.len(), 2);
    assert!(outputs.internet_gateway_id.is_some());
    assert!(outputs.cluster_security_group_id.is_some() && outputs.database_security_group_id.is_some());
    assert_eq!(recover_spec(&created, &two.default_tags), Ok(two.clone()), "import reads the configuration back");

    // One refresh is eight calls, whatever the number of zones.
    calls.take();
    current(&ec2, &vpc_id).await;
    assert_eq!(calls.take(), 8);

    // Running create again (a resumed apply) adopts everything and duplicates nothing.
    let again = converge::converge(&ec2, &two, &owner, None, &[], &stop).await.unwrap();
    assert_eq!(again.vpc.id, vpc_id);
    assert_eq!(model::outputs(&two, &again), outputs);
    assert_eq!(again.subnets.len(), 4);
    assert_eq!(again.nat_gateways.len(), 2);
    let vpcs = ec2.describe_vpcs().filters(filter("tag:retool:network", ["acme"])).send().await.unwrap();
    assert_eq!(vpcs.vpcs().len(), 1);

    // Drift in several components is detected...
    let deleted_nat = outputs.nat_gateway_ids[1].clone();
    ec2.delete_nat_gateway().nat_gateway_id(&deleted_nat).send().await.unwrap();
    ec2.modify_vpc_attribute()
        .vpc_id(&vpc_id)
        .enable_dns_hostnames(AttributeBooleanValue::builder().value(false).build())
        .send()
        .await
        .unwrap();
    let database = outputs.database_security_group_id.clone().unwrap();
    open_ssh_to_the_world(&ec2, &database).await;
    let drifted = current(&ec2, &vpc_id).await;
    let found = messages(&two, &drifted);
    assert!(found.contains(&format!("VPC ({vpc_id}) has DNS hostnames disabled")), "{found:?}");
    assert!(
        found.contains(&format!("NAT gateway for us-east-1b ({deleted_nat}) is being deleted and will be replaced")),
        "{found:?}"
    );
    assert!(
        found.contains(&format!("database security group ({database}) has unexpected ingress tcp 22 from 0.0.0.0/0")),
        "{found:?}"
    );

    // ...and repaired by reconciling from the known VPC.
    let repaired = converge::converge(&ec2, &two, &owner, Some(&vpc_id), &[], &stop).await.unwrap();
    assert_eq!(messages(&two, &repaired), Vec::<String>::new());
    let repaired_outputs = model::outputs(&two, &repaired);
    assert_eq!(repaired_outputs.nat_gateway_ids.len(), 2);
    assert_eq!(repaired_outputs.nat_gateway_ids[0], outputs.nat_gateway_ids[0]);
    assert_ne!(repaired_outputs.nat_gateway_ids[1], deleted_nat);
    assert_eq!(repaired_outputs.egress_ips, outputs.egress_ips, "the repaired gateway kept the zone's egress IP");
    assert_eq!(repaired_outputs.public_subnet_ids, outputs.public_subnet_ids);

    // Switching to a single NAT gateway re-points routes and removes the other gateway.
    let single = spec(&["us-east-1a", "us-east-1b"], NatMode::Single);
    let switched = converge::converge(&ec2, &single, &owner, Some(&vpc_id), &[], &stop).await.unwrap();
    assert_eq!(messages(&single, &switched), Vec::<String>::new());
    let live: Vec<_> = switched.nat_gateways.iter().filter(|nat| nat.status.is_live()).collect();
    assert_eq!(live.len(), 1);
    let private_b = switched
        .route_tables
        .iter()
        .find(|table| {
            table.associations.iter().any(|a| Some(&a.subnet_id) == repaired_outputs.private_subnet_ids.get(1))
        })
        .unwrap();
    let default_route = private_b.routes.iter().find(|route| route.destination == DEFAULT_ROUTE).unwrap();
    assert_eq!(default_route.target, RouteTarget::NatGateway(live[0].id.clone()));

    // Appending a zone adds its pieces and keeps every existing id.
    let three = spec(&["us-east-1a", "us-east-1b", "us-east-1c"], NatMode::Single);
    let grown = converge::converge(&ec2, &three, &owner, Some(&vpc_id), &[], &stop).await.unwrap();
    assert_eq!(messages(&three, &grown), Vec::<String>::new());
    let grown_outputs = model::outputs(&three, &grown);
    assert_eq!(grown_outputs.public_subnet_ids[..2], repaired_outputs.public_subnet_ids[..]);
    assert_eq!(grown_outputs.private_subnet_ids.len(), 3);

    // Destroy leaves nothing behind, and running it again is harmless.
    destroy::destroy(&ec2, &vpc_id, &stop).await.unwrap();
    assert!(observe(&ec2, &vpc_id).await.unwrap().is_none());
    let addresses =
        ec2.describe_addresses().filters(filter(&format!("tag:{VPC_TAG}"), [&vpc_id])).send().await.unwrap();
    assert_eq!(addresses.addresses().len(), 0, "Elastic IPs left behind");
    let subnets = ec2.describe_subnets().filters(filter("vpc-id", [&vpc_id])).send().await.unwrap();
    assert_eq!(subnets.subnets().len(), 0);
    let gateways =
        ec2.describe_internet_gateways().filters(filter("tag:retool:network", ["acme"])).send().await.unwrap();
    assert_eq!(gateways.internet_gateways().len(), 0);
    destroy::destroy(&ec2, &vpc_id, &stop).await.unwrap();
}
