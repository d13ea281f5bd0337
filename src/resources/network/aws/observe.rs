//! Observe: one batch of Describe calls, all filtered by the VPC id, turned into a
//! [`NetworkSnapshot`]. Eight calls per refresh however many zones the network spans: the VPC, its
//! two DNS attributes, subnets, route tables, attached internet gateways, NAT gateways (whose
//! addresses carry the egress IPs) and security groups. After the VPC call the other seven run
//! concurrently.

use crate::aws::During;
use aws_sdk_ec2::Client;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::types::{self as ec2, VpcAttributeName};

use super::{filter, tag_map};
use crate::error::Error;
use crate::resources::network::desired::{COMPONENT_TAG, Component, IngressRule, NETWORK_TAG, RuleSource, VPC_TAG};
use crate::resources::network::observed::*;

/// Everything about the network in VPC `vpc_id`; `None` when the VPC does not exist.
pub async fn observe(ec2: &Client, vpc_id: &str) -> Result<Option<NetworkSnapshot>, Error> {
    let vpcs = ec2.describe_vpcs().filters(filter("vpc-id", [vpc_id])).send().await.during("DescribeVpcs")?;
    let Some(vpc) = vpcs.vpcs().iter().find(|vpc| vpc.vpc_id() == Some(vpc_id)) else {
        tracing::debug!(vpc_id, "VPC not found");
        return Ok(None);
    };
    let route_tables = ec2.describe_route_tables().filters(filter("vpc-id", [vpc_id]));
    let internet_gateways = ec2.describe_internet_gateways().filters(filter("attachment.vpc-id", [vpc_id]));
    let (dns_support, dns_hostnames, subnets, route_tables, internet_gateways, nat_gateways, security_groups) = tokio::try_join!(
        dns_flag(ec2, vpc_id, VpcAttributeName::EnableDnsSupport),
        dns_flag(ec2, vpc_id, VpcAttributeName::EnableDnsHostnames),
        subnets(ec2, vpc_id),
        every_item("DescribeRouteTables", route_tables.into_paginator().items().send().collect(), route_table_state),
        every_item(
            "DescribeInternetGateways",
            internet_gateways.into_paginator().items().send().collect(),
            internet_gateway_state
        ),
        nat_gateways(ec2, vpc_id),
        security_groups(ec2, vpc_id),
    )?;
    let snapshot = NetworkSnapshot {
        vpc: VpcState {
            id: vpc_id.to_owned(),
            cidr_block: required(vpc.cidr_block(), "DescribeVpcs", "Vpc.CidrBlock")?,
            dns_support,
            dns_hostnames,
            tags: tag_map(vpc.tags()),
        },
        subnets,
        internet_gateways,
        nat_gateways,
        route_tables,
        security_groups,
    };
    tracing::debug!(
        vpc_id,
        subnets = snapshot.subnets.len(),
        nat_gateways = snapshot.nat_gateways.len(),
        route_tables = snapshot.route_tables.len(),
        security_groups = snapshot.security_groups.len(),
        "network refreshed"
    );
    Ok(Some(snapshot))
}

/// The VPC's subnets.
pub async fn subnets(ec2: &Client, vpc_id: &str) -> Result<Vec<SubnetState>, Error> {
    let pages = ec2.describe_subnets().filters(filter("vpc-id", [vpc_id])).into_paginator().items().send().collect();
    every_item("DescribeSubnets", pages, subnet_state).await
}

/// The VPC's NAT gateways that are not yet deleted.
pub async fn nat_gateways(ec2: &Client, vpc_id: &str) -> Result<Vec<NatGatewayState>, Error> {
    nat_gateways_in(ec2, vpc_id, &["pending", "available", "failed", "deleting"]).await
}

/// The VPC's NAT gateways in one of `states` (AWS's names: `pending`, `deleted`, …). Deleted
/// gateways stay visible for about an hour.
pub async fn nat_gateways_in(ec2: &Client, vpc_id: &str, states: &[&str]) -> Result<Vec<NatGatewayState>, Error> {
    let in_states = filter("state", states.iter().copied());
    let request = ec2.describe_nat_gateways().filter(filter("vpc-id", [vpc_id])).filter(in_states);
    every_item("DescribeNatGateways", request.into_paginator().items().send().collect(), nat_gateway_state).await
}

/// The VPC's security groups, its default group included (so none at all means no such VPC).
pub async fn security_groups(ec2: &Client, vpc_id: &str) -> Result<Vec<SecurityGroupState>, Error> {
    let request = ec2.describe_security_groups().filters(filter("vpc-id", [vpc_id]));
    every_item("DescribeSecurityGroups", request.into_paginator().items().send().collect(), security_group_state).await
}

/// One of the VPC's two DNS flags (`enableDnsSupport` or `enableDnsHostnames`); unset reads as off.
async fn dns_flag(ec2: &Client, vpc_id: &str, attribute: VpcAttributeName) -> Result<bool, Error> {
    let output = ec2
        .describe_vpc_attribute()
        .vpc_id(vpc_id)
        .attribute(attribute.clone())
        .send()
        .await
        .during("DescribeVpcAttribute")?;
    let flag = match attribute {
        VpcAttributeName::EnableDnsSupport => output.enable_dns_support(),
        VpcAttributeName::EnableDnsHostnames => output.enable_dns_hostnames(),
        _ => None,
    };
    Ok(flag.and_then(|flag| flag.value()).unwrap_or(false))
}

/// Awaits a paginator drained with `.collect()` and turns every item of every page into our
/// picture of it with `state`; the first error is named after `operation`.
async fn every_item<T, S, E, R>(
    operation: &'static str,
    pages: impl Future<Output = Result<Vec<T>, SdkError<E, R>>>,
    state: impl Fn(&T) -> Result<S, Error>,
) -> Result<Vec<S>, Error>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    pages.await.during(operation)?.iter().map(state).collect()
}

/// A field AWS always returns, or the error that says it did not.
pub(super) fn required(value: Option<&str>, operation: &'static str, field: &'static str) -> Result<String, Error> {
    value.map(str::to_owned).ok_or(Error::missing(operation, field))
}

fn internet_gateway_state(gateway: &ec2::InternetGateway) -> Result<InternetGatewayState, Error> {
    Ok(InternetGatewayState {
        id: required(gateway.internet_gateway_id(), "DescribeInternetGateways", "InternetGateway.InternetGatewayId")?,
        tags: tag_map(gateway.tags()),
    })
}

fn subnet_state(subnet: &ec2::Subnet) -> Result<SubnetState, Error> {
    const CALL: &str = "DescribeSubnets";
    Ok(SubnetState {
        id: required(subnet.subnet_id(), CALL, "Subnet.SubnetId")?,
        cidr_block: required(subnet.cidr_block(), CALL, "Subnet.CidrBlock")?,
        availability_zone: required(subnet.availability_zone(), CALL, "Subnet.AvailabilityZone")?,
        map_public_ip_on_launch: subnet.map_public_ip_on_launch().unwrap_or(false),
        tags: tag_map(subnet.tags()),
    })
}

fn nat_gateway_state(nat: &ec2::NatGateway) -> Result<NatGatewayState, Error> {
    const CALL: &str = "DescribeNatGateways";
    let status = match nat.state().ok_or(Error::missing(CALL, "NatGateway.State"))? {
        ec2::NatGatewayState::Pending => NatStatus::Pending,
        ec2::NatGatewayState::Available => NatStatus::Available,
        ec2::NatGatewayState::Failed => NatStatus::Failed,
        ec2::NatGatewayState::Deleting => NatStatus::Deleting,
        _ => NatStatus::Deleted,
    };
    Ok(NatGatewayState {
        id: required(nat.nat_gateway_id(), CALL, "NatGateway.NatGatewayId")?,
        subnet_id: required(nat.subnet_id(), CALL, "NatGateway.SubnetId")?,
        status,
        addresses: nat
            .nat_gateway_addresses()
            .iter()
            .map(|address| NatAddress {
                allocation_id: address.allocation_id().map(str::to_owned),
                public_ip: address.public_ip().map(str::to_owned),
            })
            .collect(),
        tags: tag_map(nat.tags()),
    })
}

fn route_table_state(table: &ec2::RouteTable) -> Result<RouteTableState, Error> {
    const CALL: &str = "DescribeRouteTables";
    let live = |association: &&ec2::RouteTableAssociation| {
        association.association_state().and_then(|state| state.state()).is_none_or(|state| {
            matches!(
                state,
                ec2::RouteTableAssociationStateCode::Associated | ec2::RouteTableAssociationStateCode::Associating
            )
        })
    };
    Ok(RouteTableState {
        id: required(table.route_table_id(), CALL, "RouteTable.RouteTableId")?,
        main: table.associations().iter().filter(live).any(|association| association.main() == Some(true)),
        routes: table.routes().iter().map(route_state).collect::<Result<_, _>>()?,
        // Subnet associations only: the main table's and gateway associations name no subnet.
        associations: table
            .associations()
            .iter()
            .filter(live)
            .filter_map(|association| association.subnet_id().map(|subnet_id| (association, subnet_id)))
            .map(|(association, subnet_id)| {
                Ok(AssociationState {
                    id: required(
                        association.route_table_association_id(),
                        CALL,
                        "RouteTableAssociation.RouteTableAssociationId",
                    )?,
                    subnet_id: subnet_id.to_owned(),
                })
            })
            .collect::<Result<_, Error>>()?,
        tags: tag_map(table.tags()),
    })
}

fn route_state(route: &ec2::Route) -> Result<RouteState, Error> {
    let destination = required(
        route.destination_cidr_block().or(route.destination_ipv6_cidr_block()).or(route.destination_prefix_list_id()),
        "DescribeRouteTables",
        "Route.DestinationCidrBlock",
    )?;
    let target = match (route.gateway_id(), route.nat_gateway_id()) {
        (Some("local"), _) => RouteTarget::Local,
        (Some(gateway), _) if gateway.starts_with("igw-") => RouteTarget::InternetGateway(gateway.to_owned()),
        (_, Some(nat)) => RouteTarget::NatGateway(nat.to_owned()),
        (Some(other), _) => RouteTarget::Other(other.to_owned()),
        (None, None) => RouteTarget::Other(
            [
                route.vpc_peering_connection_id(),
                route.transit_gateway_id(),
                route.network_interface_id(),
                route.instance_id(),
                route.egress_only_internet_gateway_id(),
                route.local_gateway_id(),
                route.carrier_gateway_id(),
            ]
            .into_iter()
            .flatten()
            .next()
            .unwrap_or("an unknown target")
            .to_owned(),
        ),
    };
    Ok(RouteState { destination, target })
}

fn security_group_state(group: &ec2::SecurityGroup) -> Result<SecurityGroupState, Error> {
    const CALL: &str = "DescribeSecurityGroups";
    let mut ingress = Vec::new();
    for permission in group.ip_permissions() {
        ingress.extend(ingress_rules(permission)?);
    }
    Ok(SecurityGroupState {
        id: required(group.group_id(), CALL, "SecurityGroup.GroupId")?,
        name: required(group.group_name(), CALL, "SecurityGroup.GroupName")?,
        ingress,
        tags: tag_map(group.tags()),
    })
}

/// Splits one AWS permission (several sources) into atomic rules.
pub(super) fn ingress_rules(permission: &ec2::IpPermission) -> Result<Vec<IngressRule>, Error> {
    let protocol =
        permission.ip_protocol().ok_or(Error::missing("DescribeSecurityGroups", "IpPermission.IpProtocol"))?;
    let sources = permission
        .ip_ranges()
        .iter()
        .filter_map(|range| range.cidr_ip().map(|cidr| RuleSource::Cidr(cidr.to_owned())))
        .chain(
            permission
                .ipv6_ranges()
                .iter()
                .filter_map(|range| range.cidr_ipv6().map(|cidr| RuleSource::Ipv6Cidr(cidr.to_owned()))),
        )
        .chain(
            permission
                .prefix_list_ids()
                .iter()
                .filter_map(|list| list.prefix_list_id().map(|id| RuleSource::PrefixList(id.to_owned()))),
        )
        .chain(
            permission
                .user_id_group_pairs()
                .iter()
                .filter_map(|pair| pair.group_id().map(|id| RuleSource::SecurityGroup(id.to_owned()))),
        );
    Ok(sources
        .map(|source| IngressRule::normalized(protocol, permission.from_port(), permission.to_port(), source))
        .collect())
}

/// The VPCs that carry the name tag of a network called `name`, with their tags: the one this
/// instance created earlier (a create interrupted after the VPC existed resumes with it), or
/// another's, which a create must leave alone.
pub async fn vpcs_named(ec2: &Client, name: &str) -> Result<Vec<(String, Tags)>, Error> {
    let found = ec2
        .describe_vpcs()
        .filters(filter(&format!("tag:{NETWORK_TAG}"), [name]))
        .filters(filter(&format!("tag:{COMPONENT_TAG}"), [Component::Vpc.tag_value()]))
        .send()
        .await
        .during("DescribeVpcs")?;
    found
        .vpcs()
        .iter()
        .map(|vpc| {
            let id = vpc.vpc_id().ok_or_else(|| Error::missing("DescribeVpcs", "Vpc.VpcId"))?;
            Ok((id.to_owned(), tag_map(vpc.tags())))
        })
        .collect()
}

/// The Elastic IPs tagged with VPC `vpc_id` (addresses live outside the VPC: the tag is how they
/// are found), only those playing `component` when one is named.
pub async fn vpc_addresses(
    ec2: &Client,
    vpc_id: &str,
    component: Option<&Component>,
) -> Result<Vec<ec2::Address>, Error> {
    let request = ec2.describe_addresses().filters(filter(&format!("tag:{VPC_TAG}"), [vpc_id]));
    let request = match component {
        Some(component) => request.filters(filter(&format!("tag:{COMPONENT_TAG}"), [component.tag_value()])),
        None => request,
    };
    Ok(request.send().await.during("DescribeAddresses")?.addresses.unwrap_or_default())
}

/// The first `count` availability zones of the region, by name: the default for
/// `availability_zones`. Local and Wavelength zones are not availability zones and are skipped.
pub async fn default_zones(ec2: &Client, count: usize) -> Result<Vec<String>, Error> {
    let zones = ec2
        .describe_availability_zones()
        .filters(filter("state", ["available"]))
        .send()
        .await
        .during("DescribeAvailabilityZones")?;
    let mut names: Vec<String> = zones
        .availability_zones()
        .iter()
        .filter(|zone| zone.zone_type().is_none_or(|kind| kind == "availability-zone"))
        .map(|zone| required(zone.zone_name(), "DescribeAvailabilityZones", "AvailabilityZone.ZoneName"))
        .collect::<Result<_, _>>()?;
    names.sort();
    names.truncate(count);
    Ok(names)
}
