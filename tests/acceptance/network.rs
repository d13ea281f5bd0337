//! Acceptance tests of `retool_network`: real Terraform drives the provider binary against a
//! private moto emulator, and every step is checked through the EC2 API — what exists must match
//! both the configuration and Terraform's outputs, drift made behind Terraform's back must show
//! up in a plan and be repaired by apply, and destroy must leave nothing of ours behind.
//! Invalid configuration must be refused at validate/plan with the offending attribute pointed
//! at, and without a single AWS call.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::diagnostics::{error_diagnostics, ownership_refusal};
use crate::support::inventory::{default_route, ingress_rules, tag};
use crate::support::{Emulator, Inventory, Workspace, acceptance_toolchain, aws};

const ADDRESS: &str = "retool_network.this";
const CIDR: &str = "10.42.0.0/16";
const ZONES: [&str; 2] = ["us-east-1a", "us-east-1b"];
const DEFAULT_TAGS: &str = "  default_tags = {\n    Suite = \"network-acceptance\"\n  }\n";

/// Computed attributes of `retool_network`, exported as outputs of the same name.
const COMPUTED: [&str; 9] = [
    "id",
    "vpc_id",
    "public_subnet_ids",
    "private_subnet_ids",
    "internet_gateway_id",
    "nat_gateway_ids",
    "egress_ips",
    "cluster_security_group_id",
    "database_security_group_id",
];

fn network_config(workspace: &Workspace, nat_gateways: &str, tags: &[(&str, &str)]) -> String {
    let tags: String = tags.iter().map(|(key, value)| format!("    {key} = \"{value}\"\n")).collect();
    let zones = ZONES.map(|zone| format!("\"{zone}\"")).join(", ");
    let outputs: String =
        COMPUTED.iter().map(|name| format!("output \"{name}\" {{\n  value = {ADDRESS}.{name}\n}}\n\n")).collect();
    format!(
        r#"{provider}
resource "retool_network" "this" {{
  name               = "acceptance"
  cidr_block         = "{CIDR}"
  availability_zones = [{zones}]
  nat_gateways       = "{nat_gateways}"
  tags = {{
{tags}  }}
}}

{outputs}"#,
        provider = workspace.provider_block_with(DEFAULT_TAGS),
    )
}

/// What Terraform says it manages, from `terraform output -json`.
#[derive(Debug, Clone)]
struct Network {
    id: String,
    vpc_id: String,
    public_subnet_ids: Vec<String>,
    private_subnet_ids: Vec<String>,
    internet_gateway_id: String,
    nat_gateway_ids: Vec<String>,
    egress_ips: Vec<String>,
    cluster_security_group_id: String,
    database_security_group_id: String,
}

impl Network {
    fn from_values(values: &Value) -> Self {
        let string = |name: &str| -> String {
            values[name].as_str().unwrap_or_else(|| panic!("`{name}` is not a known string: {values:#}")).to_owned()
        };
        let strings = |name: &str| -> Vec<String> {
            values[name]
                .as_array()
                .unwrap_or_else(|| panic!("`{name}` is not a known list: {values:#}"))
                .iter()
                .map(|item| {
                    item.as_str().unwrap_or_else(|| panic!("`{name}` holds a non-string: {values:#}")).to_owned()
                })
                .collect()
        };
        Self {
            id: string("id"),
            vpc_id: string("vpc_id"),
            public_subnet_ids: strings("public_subnet_ids"),
            private_subnet_ids: strings("private_subnet_ids"),
            internet_gateway_id: string("internet_gateway_id"),
            nat_gateway_ids: strings("nat_gateway_ids"),
            egress_ips: strings("egress_ips"),
            cluster_security_group_id: string("cluster_security_group_id"),
            database_security_group_id: string("database_security_group_id"),
        }
    }

    /// The instance attributes of `retool_network.this` in `terraform show -json`.
    fn from_state(state: &Value) -> Self {
        let resources = state["values"]["root_module"]["resources"].as_array().cloned().unwrap_or_default();
        let resource = resources
            .iter()
            .find(|resource| resource["address"] == ADDRESS)
            .unwrap_or_else(|| panic!("{ADDRESS} is not in the state: {state:#}"));
        Self::from_values(&resource["values"])
    }
}

/// What the configuration asks for, to compare with the emulator.
struct Expected<'a> {
    nat_per_zone: bool,
    tags: &'a [(&'a str, &'a str)],
}

fn sorted(items: &[String]) -> Vec<String> {
    let mut items = items.to_vec();
    items.sort();
    items
}

/// `a.b.c.d/n` as (network address, prefix length).
fn parse_cidr(cidr: &str) -> (u32, u32) {
    let (address, prefix) = cidr.split_once('/').unwrap_or_else(|| panic!("not a CIDR: {cidr}"));
    let address: std::net::Ipv4Addr = address.parse().unwrap_or_else(|_| panic!("not an IPv4 CIDR: {cidr}"));
    let prefix: u32 = prefix.parse().unwrap_or_else(|_| panic!("bad prefix in {cidr}"));
    (u32::from(address), prefix)
}

fn mask(prefix: u32) -> u32 {
    if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) }
}

fn cidr_contains(outer: &str, inner: &str) -> bool {
    let ((outer_address, outer_prefix), (inner_address, inner_prefix)) = (parse_cidr(outer), parse_cidr(inner));
    inner_prefix >= outer_prefix && inner_address & mask(outer_prefix) == outer_address & mask(outer_prefix)
}

fn cidrs_overlap(left: &str, right: &str) -> bool {
    cidr_contains(left, right) || cidr_contains(right, left)
}

/// Checks every component of the network in the emulator against the outputs and the config.
fn assert_network_matches(inventory: &Inventory, network: &Network, expected: &Expected<'_>) {
    let vpc = inventory.vpc.as_ref().unwrap_or_else(|| panic!("VPC {} does not exist", network.vpc_id));
    assert_eq!(network.id, network.vpc_id, "id must be the VPC id");
    assert_eq!(vpc.cidr_block(), Some(CIDR), "VPC CIDR");
    assert!(inventory.dns_support, "VPC must have DNS support enabled");
    assert!(inventory.dns_hostnames, "VPC must have DNS hostnames enabled");
    for (key, value) in expected.tags.iter().chain(&[("Suite", "network-acceptance")]) {
        assert_eq!(tag(vpc.tags(), key), Some(*value), "VPC tag {key} (tags: {:?})", vpc.tags());
    }

    // Subnets: one public and one private per zone, inside the VPC CIDR, not overlapping.
    let all_subnets: Vec<String> =
        inventory.subnets.iter().filter_map(|subnet| subnet.subnet_id()).map(str::to_owned).collect();
    let mut ours: Vec<String> = network.public_subnet_ids.iter().chain(&network.private_subnet_ids).cloned().collect();
    ours.sort();
    assert_eq!(sorted(&all_subnets), ours, "subnets in the VPC vs. public_subnet_ids + private_subnet_ids");
    for (ids, role_tag, kind) in [
        (&network.public_subnet_ids, "kubernetes.io/role/elb", "public"),
        (&network.private_subnet_ids, "kubernetes.io/role/internal-elb", "private"),
    ] {
        let zones: BTreeSet<String> = ids
            .iter()
            .map(|id| {
                let subnet = inventory.subnet(id).unwrap_or_else(|| panic!("{kind} subnet {id} missing"));
                assert_eq!(tag(subnet.tags(), role_tag), Some("1"), "{kind} subnet {id} must carry {role_tag}=1");
                assert_eq!(tag(subnet.tags(), "Suite"), Some("network-acceptance"), "default_tags on subnet {id}");
                subnet.availability_zone().unwrap_or_default().to_owned()
            })
            .collect();
        assert_eq!(ids.len(), ZONES.len(), "one {kind} subnet per zone: {ids:?}");
        assert_eq!(zones, ZONES.iter().map(|zone| zone.to_string()).collect(), "{kind} subnets' zones");
    }
    let cidrs: Vec<&str> = inventory.subnets.iter().filter_map(|subnet| subnet.cidr_block()).collect();
    for (index, cidr) in cidrs.iter().enumerate() {
        assert!(cidr_contains(CIDR, cidr), "subnet CIDR {cidr} outside {CIDR}");
        for other in &cidrs[index + 1..] {
            assert!(!cidrs_overlap(cidr, other), "subnet CIDRs {cidr} and {other} overlap");
        }
    }

    // Internet gateway attached to the VPC.
    let gateways: Vec<&str> =
        inventory.internet_gateways.iter().filter_map(|gateway| gateway.internet_gateway_id()).collect();
    assert_eq!(gateways, [network.internet_gateway_id.as_str()], "internet gateways attached to the VPC");

    // NAT gateways: in public subnets, one per zone (or one), their Elastic IPs are egress_ips.
    let live_nats: Vec<String> =
        inventory.nat_gateways.iter().filter_map(|nat| nat.nat_gateway_id()).map(str::to_owned).collect();
    assert_eq!(sorted(&live_nats), sorted(&network.nat_gateway_ids), "live NAT gateways vs. nat_gateway_ids");
    let expected_nats = if expected.nat_per_zone { ZONES.len() } else { 1 };
    assert_eq!(live_nats.len(), expected_nats, "number of NAT gateways");
    let nat_zones: BTreeSet<String> = live_nats
        .iter()
        .map(|id| inventory.nat_gateway_zone(id).unwrap_or_else(|| panic!("zone of NAT {id}")))
        .collect();
    assert_eq!(nat_zones.len(), expected_nats, "NAT gateways must sit in distinct zones: {nat_zones:?}");
    for nat in &inventory.nat_gateways {
        let subnet = nat.subnet_id().unwrap_or_default();
        assert!(network.public_subnet_ids.iter().any(|id| id == subnet), "NAT gateway in non-public subnet {subnet}");
        assert_eq!(tag(nat.tags(), "Suite"), Some("network-acceptance"), "default_tags on NAT gateway");
    }
    assert_eq!(inventory.nat_public_ips(), sorted(&network.egress_ips), "NAT public IPs vs. egress_ips");
    let allocated: Vec<String> =
        inventory.addresses.iter().filter_map(|address| address.public_ip()).map(str::to_owned).collect();
    assert_eq!(sorted(&allocated), sorted(&network.egress_ips), "Elastic IPs allocated vs. egress_ips (none leaked)");

    // Routes: public subnets to the internet gateway, private ones to the NAT in their zone
    // (or the single NAT).
    for id in &network.public_subnet_ids {
        let table = inventory.route_table_of(id).unwrap_or_else(|| panic!("public subnet {id} has no route table"));
        let route = default_route(table).unwrap_or_else(|| panic!("no default route for public subnet {id}"));
        assert_eq!(route.0.as_deref(), Some(network.internet_gateway_id.as_str()), "public subnet {id} default route");
    }
    for id in &network.private_subnet_ids {
        let table = inventory.route_table_of(id).unwrap_or_else(|| panic!("private subnet {id} has no route table"));
        let (_, nat) = default_route(table).unwrap_or_else(|| panic!("no default route for private subnet {id}"));
        let nat = nat.unwrap_or_else(|| panic!("private subnet {id}: default route is not via a NAT gateway"));
        assert!(live_nats.contains(&nat), "private subnet {id} routes to NAT {nat}, which is not live");
        if expected.nat_per_zone {
            let subnet_zone = inventory.subnet(id).and_then(|subnet| subnet.availability_zone()).map(str::to_owned);
            assert_eq!(
                inventory.nat_gateway_zone(&nat),
                subnet_zone,
                "private subnet {id} must use the NAT in its zone"
            );
        }
    }

    // Security groups: database accepts 5432 from the cluster group only; cluster accepts
    // itself and the VPC.
    let cluster = inventory
        .security_group(&network.cluster_security_group_id)
        .unwrap_or_else(|| panic!("cluster security group {} missing", network.cluster_security_group_id));
    let database = inventory
        .security_group(&network.database_security_group_id)
        .unwrap_or_else(|| panic!("database security group {} missing", network.database_security_group_id));
    assert_eq!(
        ingress_rules(database),
        [("tcp".to_owned(), 5432, 5432, network.cluster_security_group_id.clone())],
        "database security group ingress"
    );
    let cluster_sources: BTreeSet<String> = ingress_rules(cluster).into_iter().map(|rule| rule.3).collect();
    assert!(
        cluster_sources.contains(&network.cluster_security_group_id),
        "cluster group must accept itself: {cluster_sources:?}"
    );
    assert!(cluster_sources.contains(CIDR), "cluster group must accept the VPC CIDR: {cluster_sources:?}");
}

/// `terraform output -json` → [`Network`], after checking the outputs match the state.
async fn current_network(workspace: &Workspace) -> Network {
    let terraform = workspace.terraform();
    let outputs = Network::from_values(&terraform.outputs().await.expect("terraform output"));
    let state = Network::from_state(&terraform.show_json().await.expect("terraform show"));
    assert_eq!(format!("{outputs:?}"), format!("{state:?}"), "outputs must equal the resource's state");
    outputs
}

/// The actions Terraform plans for `retool_network.this` in a saved plan's JSON.
fn planned_actions(plan: &Value) -> Vec<String> {
    plan["resource_changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|change| change["address"] == ADDRESS)
        .flat_map(|change| change["change"]["actions"].as_array().cloned().unwrap_or_default())
        .filter_map(|action| action.as_str().map(str::to_owned))
        .collect()
}

/// Plan shows changes, apply repairs them, the result matches again and the next plan is empty.
async fn assert_drift_repaired(
    workspace: &Workspace,
    ec2: &aws_sdk_ec2::Client,
    expected: &Expected<'_>,
    drift: &str,
) -> Network {
    let terraform = workspace.terraform();
    terraform.plan().await.expect("plan after drift").assert_changes(drift);
    terraform.apply().await.expect("apply to repair drift");
    let network = current_network(workspace).await;
    assert_network_matches(&Inventory::read(ec2, &network.vpc_id).await, &network, expected);
    terraform.plan().await.expect("plan after repair").assert_empty(&format!("{drift}: plan after the repair"));
    network
}

/// Everything of the network in the emulator that a refused create must leave as it was: every
/// object with its tags, and the Elastic IPs.
fn fingerprint(inventory: &Inventory) -> Vec<String> {
    [
        format!("{:?}", inventory.vpc),
        format!("{:?}", inventory.subnets),
        format!("{:?}", inventory.internet_gateways),
        format!("{:?}", inventory.nat_gateways),
        format!("{:?}", inventory.route_tables),
        format!("{:?}", inventory.security_groups),
        format!("{:?}", inventory.addresses),
    ]
    .to_vec()
}

/// A second workspace (a second state) applies the same configuration, `name` included: the
/// create finds the first network's VPC, which carries another instance's ownership mark, and
/// refuses with a diagnostic that says how to import it. Nothing of the first network changes
/// (same ids, same tags, its owner token still there, nothing deleted), nothing is created, and
/// the second state stays empty.
async fn assert_second_state_is_refused(
    toolchain: &crate::support::Toolchain,
    emulator: &Emulator,
    ec2: &aws_sdk_ec2::Client,
    network: &Network,
    tags: &[(&str, &str)],
) {
    let before = Inventory::read(ec2, &network.vpc_id).await;
    let vpc_tags = before.vpc.as_ref().map(|vpc| vpc.tags().to_vec()).unwrap_or_default();
    let owner = tag(&vpc_tags, "retool:owner")
        .unwrap_or_else(|| panic!("the VPC carries its ownership mark: {vpc_tags:?}"))
        .to_owned();
    let vpcs_before = ec2.describe_vpcs().send().await.expect("DescribeVpcs").vpcs().len();

    let rival = Workspace::new(toolchain, emulator);
    rival.write_main(&network_config(&rival, "one_per_az", tags));
    rival.terraform().init().await.expect("init the second workspace");
    let refusal = ownership_refusal(rival.terraform()).await;
    assert_eq!(
        refusal["summary"],
        format!("VPC {} (retool:network = acceptance) already exists", network.vpc_id),
        "{refusal:#}"
    );
    let detail = refusal["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(&format!("terraform import retool_network.<name> {}", network.vpc_id)),
        "the refusal must say how to import the VPC: {detail}"
    );
    assert!(detail.contains("belongs to another Terraform resource"), "{detail}");

    let after = Inventory::read(ec2, &network.vpc_id).await;
    assert_eq!(fingerprint(&after), fingerprint(&before), "the refused create changed the first network");
    let vpc_tags = after.vpc.as_ref().map(|vpc| vpc.tags().to_vec()).unwrap_or_default();
    assert_eq!(tag(&vpc_tags, "retool:owner"), Some(owner.as_str()), "the first network's token");
    let vpcs_after = ec2.describe_vpcs().send().await.expect("DescribeVpcs").vpcs().len();
    assert_eq!(vpcs_after, vpcs_before, "the refused create made a VPC");
    let state = rival.terraform().show_json().await.expect("show the second state");
    assert!(
        state["values"]["root_module"]["resources"].as_array().is_none_or(Vec::is_empty),
        "the refused create recorded something: {state:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn network_lifecycle_with_drift_update_import_and_destroy() {
    let toolchain = acceptance_toolchain("network_lifecycle_with_drift_update_import_and_destroy");
    let emulator = Emulator::start(&toolchain);
    let ec2 = aws::ec2(&emulator.endpoint());
    let workspace = Workspace::new(&toolchain, &emulator);
    let terraform = workspace.terraform();
    let tags = [("Team", "platform")];
    let per_zone = Expected { nat_per_zone: true, tags: &tags };

    // Create.
    workspace.write_main(&network_config(&workspace, "one_per_az", &tags));
    terraform.init().await.expect("init");
    terraform.validate().await.expect("validate");
    terraform.plan().await.expect("first plan").assert_changes("first plan");
    terraform.apply().await.expect("apply");
    let network = current_network(&workspace).await;
    assert_network_matches(&Inventory::read(&ec2, &network.vpc_id).await, &network, &per_zone);
    terraform.plan().await.expect("second plan").assert_empty("second plan after apply");
    terraform.plan_refresh_only().await.expect("refresh-only plan").assert_empty("refresh-only plan without drift");

    // A second state with the same name: its create is refused with the import hint, and the
    // first network is untouched.
    assert_second_state_is_refused(&toolchain, &emulator, &ec2, &network, &tags).await;
    terraform.plan().await.expect("plan after the refused create").assert_empty("first plan after the refusal");

    // Drift 1: a NAT gateway deleted behind Terraform's back. Its Elastic IP still shows
    // associated (as on AWS while the gateway is `deleting`; moto keeps that for good); the
    // repaired gateway must have the same address, which customers allowlist.
    let deleted_nat = network.nat_gateway_ids[0].clone();
    let egress_ips_before = sorted(&network.egress_ips);
    ec2.delete_nat_gateway().nat_gateway_id(&deleted_nat).send().await.expect("DeleteNatGateway");
    terraform
        .plan_refresh_only()
        .await
        .expect("refresh-only plan")
        .assert_changes("refresh-only plan after deleting a NAT");
    let network = assert_drift_repaired(&workspace, &ec2, &per_zone, "deleted NAT gateway").await;
    assert!(!network.nat_gateway_ids.contains(&deleted_nat), "the deleted NAT gateway is still reported");
    assert_eq!(sorted(&network.egress_ips), egress_ips_before, "the repaired NAT gateway kept its zone's egress IP");

    // Drift 2: an extra ingress rule on the database security group.
    aws::open_ssh_to_the_world(&ec2, &network.database_security_group_id).await;
    assert_drift_repaired(&workspace, &ec2, &per_zone, "extra database ingress rule").await;

    // Drift 3: a private subnet's default route pointed at the internet gateway.
    let inventory = Inventory::read(&ec2, &network.vpc_id).await;
    let private_table = inventory
        .route_table_of(&network.private_subnet_ids[0])
        .and_then(|table| table.route_table_id())
        .expect("route table of the first private subnet")
        .to_owned();
    ec2.replace_route()
        .route_table_id(&private_table)
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(&network.internet_gateway_id)
        .send()
        .await
        .expect("ReplaceRoute");
    let network = assert_drift_repaired(&workspace, &ec2, &per_zone, "private default route changed").await;

    // In-place update: more tags, one NAT gateway for the whole VPC.
    let tags = [("Team", "platform"), ("Stage", "blue")];
    let single = Expected { nat_per_zone: false, tags: &tags };
    workspace.write_main(&network_config(&workspace, "single", &tags));
    let plan = terraform.plan_json().await.expect("plan the update");
    assert_eq!(planned_actions(&plan), ["update"], "tags and nat_gateways must update in place");
    terraform.apply().await.expect("apply the update");
    let updated = current_network(&workspace).await;
    assert_eq!(updated.vpc_id, network.vpc_id, "an in-place update keeps the VPC");
    assert_eq!(updated.egress_ips.len(), 1, "one egress IP with a single NAT gateway");
    assert_network_matches(&Inventory::read(&ec2, &updated.vpc_id).await, &updated, &single);
    terraform.plan().await.expect("plan after the update").assert_empty("plan after the update");

    // Import by VPC id into a fresh state: Terraform adopts the same network, replacing nothing.
    let adopted = Workspace::new(&toolchain, &emulator);
    adopted.write_main(&network_config(&adopted, "single", &tags));
    adopted.terraform().init().await.expect("init the importing workspace");
    adopted.terraform().import(ADDRESS, &updated.vpc_id).await.expect("import by VPC id");
    let imported = Network::from_state(&adopted.terraform().show_json().await.expect("show the imported state"));
    assert_eq!(imported.vpc_id, updated.vpc_id);
    assert_eq!(sorted(&imported.public_subnet_ids), sorted(&updated.public_subnet_ids), "imported public subnets");
    assert_eq!(sorted(&imported.private_subnet_ids), sorted(&updated.private_subnet_ids), "imported private subnets");
    assert_eq!(imported.internet_gateway_id, updated.internet_gateway_id, "imported internet gateway");
    assert_eq!(sorted(&imported.nat_gateway_ids), sorted(&updated.nat_gateway_ids), "imported NAT gateways");
    assert_eq!(sorted(&imported.egress_ips), sorted(&updated.egress_ips), "imported egress IPs");
    assert_eq!(imported.cluster_security_group_id, updated.cluster_security_group_id);
    assert_eq!(imported.database_security_group_id, updated.database_security_group_id);
    let actions = planned_actions(&adopted.terraform().plan_json().await.expect("plan after import"));
    assert!(
        actions.iter().all(|action| action == "no-op" || action == "update"),
        "after import the plan must not create, replace or delete the network: {actions:?}"
    );
    drop(adopted); // its state is discarded; the first workspace still owns the network.

    // Destroy: nothing of ours remains.
    terraform.destroy().await.expect("destroy");
    let after = Inventory::read(&ec2, &updated.vpc_id).await;
    assert!(after.vpc.is_none(), "VPC {} survived destroy", updated.vpc_id);
    assert!(after.subnets.is_empty(), "subnets survived destroy: {:?}", after.subnets);
    assert!(after.nat_gateways.is_empty(), "NAT gateways survived destroy: {:?}", after.nat_gateways);
    assert!(after.route_tables.is_empty(), "route tables survived destroy: {:?}", after.route_tables);
    assert!(after.security_groups.is_empty(), "security groups survived destroy: {:?}", after.security_groups);
    assert!(after.addresses.is_empty(), "Elastic IPs survived destroy: {:?}", after.addresses);
    let gateway = ec2
        .describe_internet_gateways()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("internet-gateway-id")
                .values(&updated.internet_gateway_id)
                .build(),
        )
        .send()
        .await
        .expect("DescribeInternetGateways");
    assert!(gateway.internet_gateways().is_empty(), "internet gateway survived destroy");
}

/// One invalid configuration and the lines of main.tf its error must point at.
struct InvalidCase {
    what: &'static str,
    /// Replaces the resource's `availability_zones`, `cidr_block` or `nat_gateways` line.
    resource_line: Option<(&'static str, &'static str)>,
    /// Extra provider arguments (its endpoints stay on the emulator unless overridden here).
    provider: Option<&'static str>,
    /// Text on the first line of the offending attribute or block.
    marker: &'static str,
}

const INVALID_CASES: &[InvalidCase] = &[
    InvalidCase {
        what: "/8 CIDR",
        resource_line: Some(("cidr_block", r#""10.0.0.0/8""#)),
        provider: None,
        marker: "cidr_block",
    },
    InvalidCase {
        what: "/28 CIDR",
        resource_line: Some(("cidr_block", r#""10.0.0.0/28""#)),
        provider: None,
        marker: "cidr_block",
    },
    InvalidCase {
        what: "malformed CIDR",
        resource_line: Some(("cidr_block", r#""10.0.300.0/16""#)),
        provider: None,
        marker: "cidr_block",
    },
    InvalidCase {
        what: "one availability zone",
        resource_line: Some(("availability_zones", r#"["us-east-1a"]"#)),
        provider: None,
        marker: "availability_zones",
    },
    InvalidCase {
        what: "unknown nat_gateways mode",
        resource_line: Some(("nat_gateways", r#""three_per_az""#)),
        provider: None,
        marker: "nat_gateways",
    },
    InvalidCase {
        what: "name set to null",
        resource_line: Some(("name", "null")),
        provider: None,
        marker: "name = null",
    },
    InvalidCase {
        what: "reserved tag key",
        resource_line: Some(("tags", r#"{ "aws:team" = "platform" }"#)),
        provider: None,
        marker: "\"aws:team\"",
    },
    InvalidCase {
        what: "malformed endpoint URL",
        resource_line: None,
        provider: Some("endpoints_override"),
        marker: "ec2 = \"not a url\"",
    },
    InvalidCase {
        what: "assume_role without role_arn",
        resource_line: None,
        provider: Some("  assume_role {\n    session_name = \"acceptance\"\n  }\n"),
        marker: "assume_role",
    },
];

fn invalid_config(workspace: &Workspace, case: &InvalidCase) -> String {
    let provider = match case.provider {
        Some("endpoints_override") => {
            "provider \"retool\" {\n  region = \"us-east-1\"\n  endpoints {\n    ec2 = \"not a url\"\n  }\n}\n"
                .to_owned()
        }
        Some(extra) => workspace.provider_block_with(extra),
        None => workspace.provider_block(),
    };
    let mut arguments = [
        ("name", r#""acceptance""#),
        ("cidr_block", r#""10.42.0.0/16""#),
        ("availability_zones", r#"["us-east-1a", "us-east-1b"]"#),
        ("nat_gateways", r#""one_per_az""#),
        ("tags", r#"{ Team = "platform" }"#),
    ];
    if let Some((name, value)) = case.resource_line {
        arguments.iter_mut().filter(|(argument, _)| *argument == name).for_each(|argument| argument.1 = value);
    }
    let body: String = arguments.iter().map(|(name, value)| format!("  {name} = {value}\n")).collect();
    format!("{provider}\nresource \"retool_network\" \"this\" {{\n{body}}}\n")
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn invalid_configuration_is_refused_on_the_attribute_without_aws_calls() {
    let toolchain = acceptance_toolchain("invalid_configuration_is_refused_on_the_attribute_without_aws_calls");
    let emulator = Emulator::start(&toolchain);
    let ec2 = aws::ec2(&emulator.endpoint());
    let workspace = Workspace::new(&toolchain, &emulator);
    let terraform = workspace.terraform();
    let main_tf = terraform.working_dir().join("main.tf");
    let vpcs_before = ec2.describe_vpcs().send().await.expect("DescribeVpcs").vpcs().len();

    workspace.write_main(&invalid_config(&workspace, &INVALID_CASES[0]));
    terraform.init().await.expect("init");

    for case in INVALID_CASES {
        workspace.write_main(&invalid_config(&workspace, case));
        let written = std::fs::read_to_string(&main_tf).expect("read main.tf back");
        let marker_line = written
            .lines()
            .position(|line| line.contains(case.marker))
            .map(|index| index + 1)
            .unwrap_or_else(|| panic!("{}: marker {:?} not in main.tf", case.what, case.marker));

        let mark = emulator.log_mark();
        // Refused at validate, or at the latest at plan.
        let mut refusal = terraform.run(&["validate", "-json", "-no-color"]).await;
        if refusal.code == 0 {
            refusal = terraform.run(&["plan", "-json", "-input=false", "-no-color", "-lock=false"]).await;
        }
        assert_eq!(refusal.code, 1, "{}: Terraform must refuse this configuration:\n{refusal}\n{written}", case.what);
        let errors = error_diagnostics(&refusal);
        assert!(
            errors.iter().any(|diagnostic| {
                diagnostic["range"]["filename"] == "main.tf"
                    && diagnostic["range"]["start"]["line"].as_u64() == Some(marker_line as u64)
            }),
            "{}: no error points at main.tf line {marker_line} ({}); errors: {errors:#?}\n{written}",
            case.what,
            case.marker
        );
        let calls = emulator.query_api_requests_since(mark);
        assert!(calls.is_empty(), "{}: AWS was called while refusing the configuration: {calls:#?}", case.what);
        let summaries: Vec<&str> = errors.iter().filter_map(|diagnostic| diagnostic["summary"].as_str()).collect();
        eprintln!("refused {} at main.tf:{marker_line}: {summaries:?}", case.what);
    }

    let vpcs_after = ec2.describe_vpcs().send().await.expect("DescribeVpcs").vpcs().len();
    assert_eq!(vpcs_after, vpcs_before, "an invalid configuration created a VPC");
    let nats = ec2.describe_nat_gateways().send().await.expect("DescribeNatGateways");
    assert!(nats.nat_gateways().is_empty(), "an invalid configuration created NAT gateways");
    let addresses = ec2.describe_addresses().send().await.expect("DescribeAddresses");
    assert!(addresses.addresses().is_empty(), "an invalid configuration allocated Elastic IPs");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn debug_logs_name_the_resource_the_step_and_each_aws_call() {
    let toolchain = acceptance_toolchain("debug_logs_name_the_resource_the_step_and_each_aws_call");
    let emulator = Emulator::start(&toolchain);
    let workspace = Workspace::new(&toolchain, &emulator);
    let log_path = workspace.root().join("terraform-debug.log");
    let log_path_text = log_path.to_str().expect("UTF-8 workspace path");
    let terraform = workspace.terraform().with_setting("TF_LOG", "debug").with_setting("TF_LOG_PATH", log_path_text);
    workspace.write_main(&network_config(&workspace, "single", &[]));
    terraform.init().await.expect("init");
    terraform.apply().await.expect("apply");
    terraform.plan().await.expect("plan after apply").assert_empty("plan after apply");
    let log = std::fs::read_to_string(&log_path).expect("TF_LOG_PATH log written");
    let ours =
        |line: &&str| line.contains("tf_resource_type=retool_network") && line.contains("tf_resource_name=acceptance");
    for (step, operation) in [("create", "CreateVpc"), ("read", "DescribeVpcs"), ("create", "DescribeVpcs")] {
        let found = log.lines().filter(ours).find(|line| {
            line.contains(&format!("AWS call EC2.{operation}"))
                && line.contains(&format!("tf_step={step}"))
                && line.contains("duration_ms=")
                && line.contains("attempts=")
        });
        assert!(found.is_some(), "no {operation} line for {step} with resource, duration and attempts in:\n{log}");
    }
    assert!(
        log.lines().filter(ours).any(|line| line.contains("refreshed;") && line.contains("tf_step=read")),
        "the refresh logs nothing of its own:\n{log}"
    );
    terraform.destroy().await.expect("destroy");
}
