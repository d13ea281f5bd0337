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

/// The VPC, with the two DNS settings the network turns on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpcState {
    /// `vpc-…`: the network's id.
    pub id: String,
    /// The primary IPv4 block, as AWS reports it.
    pub cidr_block: String,
    /// `enableDnsSupport` (DNS resolution); off when AWS does not say.
    pub dns_support: bool,
    /// `enableDnsHostnames`; off when AWS does not say.
    pub dns_hostnames: bool,
    /// The VPC's tags.
    pub tags: Tags,
}

/// A subnet of the VPC, whether or not the network made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetState {
    /// `subnet-…`.
    pub id: String,
    /// The subnet's IPv4 block, as AWS reports it.
    pub cidr_block: String,
    /// The zone it sits in, e.g. `us-east-1a`.
    pub availability_zone: String,
    /// Whether launches get a public IP: wanted on public subnets only; off when AWS does not say.
    pub map_public_ip_on_launch: bool,
    /// The subnet's tags.
    pub tags: Tags,
}

/// An internet gateway attached to the VPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternetGatewayState {
    /// `igw-…`.
    pub id: String,
    /// The gateway's tags.
    pub tags: Tags,
}

/// Lifecycle of a NAT gateway as AWS reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NatStatus {
    /// Being created; converge waits for it to become available.
    Pending,
    /// Serving traffic.
    Available,
    /// Creation failed; the gateway never serves traffic and is replaced.
    Failed,
    /// Being deleted.
    Deleting,
    /// Deleted, or a state this provider does not know. Observe asks AWS only for gateways in
    /// the other four states.
    Deleted,
}

impl std::fmt::Display for NatStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Pending => "pending",
            Self::Available => "available",
            Self::Failed => "failed",
            Self::Deleting => "being deleted",
            Self::Deleted => "deleted",
        })
    }
}

impl NatStatus {
    /// Whether the gateway serves (or will serve) traffic.
    pub fn is_live(self) -> bool {
        matches!(self, Self::Pending | Self::Available)
    }
}

/// One address of a NAT gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatAddress {
    /// The Elastic IP allocation (`eipalloc-…`) behind the address; `None` when AWS names none.
    pub allocation_id: Option<String>,
    /// The public IPv4 address, one of the `egress_ips`; `None` when AWS reports none (yet).
    pub public_ip: Option<String>,
}

/// A NAT gateway in the VPC, in any state but deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatGatewayState {
    /// `nat-…`.
    pub id: String,
    /// The (public) subnet the gateway sits in.
    pub subnet_id: String,
    /// Where the gateway is in its lifecycle.
    pub status: NatStatus,
    /// Its addresses; the network gives each gateway exactly one Elastic IP.
    pub addresses: Vec<NatAddress>,
    /// The gateway's tags.
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
    /// An internet gateway, by id (`igw-…`).
    InternetGateway(String),
    /// A NAT gateway, by id (`nat-…`).
    NatGateway(String),
    /// Anything else (peering, transit gateway, instance, …), described for messages.
    Other(String),
}

/// One route of a route table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteState {
    /// Destination CIDR (IPv4 or IPv6) or prefix list id.
    pub destination: String,
    /// Where matching traffic goes.
    pub target: RouteTarget,
}

/// An explicit association of a route table with a subnet (associated or associating).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociationState {
    /// `rtbassoc-…`: what replacing or removing the association needs.
    pub id: String,
    /// The associated subnet.
    pub subnet_id: String,
}

/// A route table of the VPC, the main one included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTableState {
    /// `rtb-…`.
    pub id: String,
    /// Whether this is the VPC's main table, which subnets without an explicit association use.
    pub main: bool,
    /// Every route, the implicit local one included.
    pub routes: Vec<RouteState>,
    /// Explicit subnet associations only (the main-table association is not one).
    pub associations: Vec<AssociationState>,
    /// The table's tags.
    pub tags: Tags,
}

/// A security group of the VPC, the default group included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityGroupState {
    /// `sg-…`.
    pub id: String,
    /// The group name (not the `Name` tag), unique in the VPC: how a group that lost its tags is
    /// still found.
    pub name: String,
    /// Its ingress permissions, split into one rule per source.
    pub ingress: Vec<IngressRule>,
    /// The group's tags.
    pub tags: Tags,
}

/// Everything refresh learns about one VPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSnapshot {
    /// The VPC.
    pub vpc: VpcState,
    /// Every subnet in the VPC, in no particular order.
    pub subnets: Vec<SubnetState>,
    /// Gateways attached to the VPC (AWS allows one).
    pub internet_gateways: Vec<InternetGatewayState>,
    /// Gateways in the VPC that are not yet deleted.
    pub nat_gateways: Vec<NatGatewayState>,
    /// Every route table in the VPC, the main one included.
    pub route_tables: Vec<RouteTableState>,
    /// Every security group in the VPC, the default one included.
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

    /// The route table playing `component` (the public table or a zone's private one), found by
    /// its tag only: a table has no name or block to fall back on.
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

    /// The security group playing `component` (cluster or database), by tag, else by the group
    /// name `spec` gives it.
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
