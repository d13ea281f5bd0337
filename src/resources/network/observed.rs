//! What a network looks like in AWS right now: a typed snapshot of the Describe results for one
//! VPC ([`super::aws::observe`]), and how to find each [`Component`] in it.
//!
//! The snapshot is plain data with no SDK types, so drift detection and import are pure functions
//! that tests feed hand-built snapshots. Objects are recognised by their `retool:component` tag
//! first; when a tag was removed by hand, subnets fall back to their CIDR (unique in a VPC),
//! security groups to their name, NAT gateways to the subnet they sit in, so losing a tag shows up
//! as tag drift instead of a duplicate.

use super::desired::{COMPONENT_TAG, Component, IngressRule};
use super::layout::Ipv4Cidr;
use super::model::NetworkSpec;

pub use crate::aws::Tags;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpcState {
    pub id: String,
    pub cidr_block: String,
    pub dns_support: bool,
    pub dns_hostnames: bool,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetState {
    pub id: String,
    pub cidr_block: String,
    pub availability_zone: String,
    pub map_public_ip_on_launch: bool,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternetGatewayState {
    pub id: String,
    pub tags: Tags,
}

/// Lifecycle of a NAT gateway as AWS reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NatStatus {
    Pending,
    Available,
    Failed,
    Deleting,
    Deleted,
}

impl NatStatus {
    /// Whether the gateway serves (or will serve) traffic.
    pub fn is_live(self) -> bool {
        matches!(self, Self::Pending | Self::Available)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatAddress {
    pub allocation_id: Option<String>,
    pub public_ip: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatGatewayState {
    pub id: String,
    pub subnet_id: String,
    pub status: NatStatus,
    pub addresses: Vec<NatAddress>,
    pub tags: Tags,
}

impl NatGatewayState {
    /// The Elastic IP allocations the gateway uses.
    pub fn allocation_ids(&self) -> Vec<String> {
        self.addresses.iter().filter_map(|address| address.allocation_id.clone()).collect()
    }
}

/// Where a route sends traffic.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum RouteTarget {
    /// The VPC's implicit local route.
    Local,
    InternetGateway(String),
    NatGateway(String),
    /// Anything else (peering, transit gateway, instance, …), described for messages.
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteState {
    /// Destination CIDR (IPv4 or IPv6) or prefix list id.
    pub destination: String,
    pub target: RouteTarget,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociationState {
    pub id: String,
    pub subnet_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTableState {
    pub id: String,
    pub main: bool,
    pub routes: Vec<RouteState>,
    /// Explicit subnet associations only (the main-table association is not one).
    pub associations: Vec<AssociationState>,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityGroupState {
    pub id: String,
    pub name: String,
    pub ingress: Vec<IngressRule>,
    pub tags: Tags,
}

/// Everything refresh learns about one VPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSnapshot {
    pub vpc: VpcState,
    pub subnets: Vec<SubnetState>,
    /// Gateways attached to the VPC (AWS allows one).
    pub internet_gateways: Vec<InternetGatewayState>,
    /// Gateways in the VPC that are not yet deleted.
    pub nat_gateways: Vec<NatGatewayState>,
    pub route_tables: Vec<RouteTableState>,
    pub security_groups: Vec<SecurityGroupState>,
}

fn is_component(tags: &Tags, component: &Component) -> bool {
    tags.get(COMPONENT_TAG).is_some_and(|value| *value == component.tag_value())
}

/// The component an object's tags name, if any.
pub fn component_of(tags: &Tags) -> Option<Component> {
    tags.get(COMPONENT_TAG).and_then(|value| Component::from_tag_value(value))
}

impl NetworkSnapshot {
    /// The subnet playing `component` (a public or private subnet of `zone`) with block `cidr`.
    /// A subnet must have the right block and zone to count: AWS cannot change either in place.
    pub fn subnet(&self, component: &Component, zone: &str, cidr: Ipv4Cidr) -> Option<&SubnetState> {
        let fits = |subnet: &&SubnetState| {
            subnet.availability_zone == zone && subnet.cidr_block.parse::<Ipv4Cidr>().is_ok_and(|found| found == cidr)
        };
        self.subnets
            .iter()
            .filter(fits)
            .find(|subnet| is_component(&subnet.tags, component))
            .or_else(|| self.subnets.iter().find(fits))
    }

    /// The internet gateway attached to the VPC.
    pub fn internet_gateway(&self) -> Option<&InternetGatewayState> {
        self.internet_gateways
            .iter()
            .find(|gateway| is_component(&gateway.tags, &Component::InternetGateway))
            .or_else(|| self.internet_gateways.first())
    }

    /// The live NAT gateway of `zone`, which must sit in `public_subnet_id` when that is known.
    pub fn nat_gateway(&self, zone: &str, public_subnet_id: Option<&str>) -> Option<&NatGatewayState> {
        let component = Component::NatGateway(zone.to_owned());
        let live = || self.nat_gateways.iter().filter(|nat| nat.status.is_live());
        live().find(|nat| is_component(&nat.tags, &component)).or_else(|| {
            let subnet = public_subnet_id?;
            live().find(|nat| component_of(&nat.tags).is_none() && nat.subnet_id == subnet)
        })
    }

    /// The NAT gateway of `zone` in any state, including failed ones that need replacing.
    pub fn nat_gateway_any_status(&self, zone: &str) -> Option<&NatGatewayState> {
        let component = Component::NatGateway(zone.to_owned());
        self.nat_gateways
            .iter()
            .find(|nat| nat.status.is_live() && is_component(&nat.tags, &component))
            .or_else(|| self.nat_gateways.iter().find(|nat| is_component(&nat.tags, &component)))
    }

    pub fn route_table(&self, component: &Component) -> Option<&RouteTableState> {
        self.route_tables.iter().find(|table| is_component(&table.tags, component))
    }

    /// The route table explicitly associated with `subnet_id`, with the association.
    pub fn association_of(&self, subnet_id: &str) -> Option<(&RouteTableState, &AssociationState)> {
        self.route_tables.iter().find_map(|table| {
            table
                .associations
                .iter()
                .find(|association| association.subnet_id == subnet_id)
                .map(|association| (table, association))
        })
    }

    pub fn security_group(&self, component: &Component, spec: &NetworkSpec) -> Option<&SecurityGroupState> {
        let name = spec.security_group_name(component);
        self.security_groups
            .iter()
            .find(|group| is_component(&group.tags, component))
            .or_else(|| self.security_groups.iter().find(|group| group.name == name))
    }

    /// Live NAT gateways tagged as this network's but for a zone that should have none (left over
    /// from `one_per_az` after switching to `single`, or from an interrupted run).
    pub fn surplus_nat_gateways<'a>(&'a self, spec: &'a NetworkSpec) -> impl Iterator<Item = &'a NatGatewayState> {
        self.nat_gateways.iter().filter(move |nat| {
            nat.status.is_live()
                && matches!(component_of(&nat.tags), Some(Component::NatGateway(zone)) if !spec.nat_zones().contains(&zone))
        })
    }
}
