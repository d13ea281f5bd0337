//! Test fixture: the network configuration the unit tests share ([`spec`]), and the
//! snapshot of that network exactly as its configuration wants it ([`healthy`]), built by hand so
//! drift, outputs and import tests start from a known-good picture and break one thing each.

use std::collections::BTreeMap;

use super::desired::{Component, cluster_ingress, database_ingress};
use super::drift::DEFAULT_ROUTE;
use super::model::{NatMode, NetworkSpec};
use super::observed::*;

pub fn spec(zones: &[&str], nat_mode: NatMode) -> NetworkSpec {
    NetworkSpec {
        name: "acme".into(),
        cidr_block: "10.254.0.0/16".parse().unwrap(),
        availability_zones: zones.iter().map(|zone| zone.to_string()).collect(),
        nat_mode,
        tags: BTreeMap::from([("team".into(), "infra".into())]),
        default_tags: BTreeMap::from([("owner".into(), "platform".into())]),
    }
}

pub fn healthy(spec: &NetworkSpec) -> NetworkSnapshot {
    let zones = spec.zones().unwrap();
    let mut snapshot = NetworkSnapshot {
        vpc: VpcState {
            id: "vpc-1".into(),
            cidr_block: spec.cidr_block.to_string(),
            dns_support: true,
            dns_hostnames: true,
            tags: spec.tags_for(&Component::Vpc),
        },
        subnets: Vec::new(),
        internet_gateways: vec![InternetGatewayState {
            id: "igw-1".into(),
            tags: spec.tags_for(&Component::InternetGateway),
        }],
        nat_gateways: Vec::new(),
        route_tables: vec![RouteTableState {
            id: "rtb-main".into(),
            main: true,
            routes: vec![local_route(spec)],
            associations: Vec::new(),
            tags: BTreeMap::new(),
        }],
        security_groups: Vec::new(),
    };
    let mut public_table = RouteTableState {
        id: "rtb-public".into(),
        main: false,
        routes: vec![
            local_route(spec),
            RouteState { destination: DEFAULT_ROUTE.into(), target: RouteTarget::InternetGateway("igw-1".into()) },
        ],
        associations: Vec::new(),
        tags: spec.tags_for(&Component::PublicRouteTable),
    };
    for zone in &zones {
        let subnets = [
            ("public", zone.subnets.public, Component::PublicSubnet(zone.name.clone())),
            ("private", zone.subnets.private, Component::PrivateSubnet(zone.name.clone())),
        ];
        for (kind, cidr_block, component) in subnets {
            snapshot.subnets.push(SubnetState {
                id: format!("subnet-{kind}-{}", zone.name),
                cidr_block: cidr_block.to_string(),
                availability_zone: zone.name.clone(),
                map_public_ip_on_launch: kind == "public",
                tags: spec.tags_for(&component),
            });
        }
        public_table.associations.push(AssociationState {
            id: format!("rtbassoc-public-{}", zone.name),
            subnet_id: format!("subnet-public-{}", zone.name),
        });
    }
    for (number, zone) in spec.nat_zones().iter().enumerate() {
        snapshot.nat_gateways.push(NatGatewayState {
            id: format!("nat-{zone}"),
            subnet_id: format!("subnet-public-{zone}"),
            status: NatStatus::Available,
            addresses: vec![NatAddress {
                allocation_id: Some(format!("eipalloc-{zone}")),
                public_ip: Some(format!("203.0.113.{}", number + 1)),
            }],
            tags: spec.tags_for(&Component::NatGateway(zone.clone())),
        });
    }
    snapshot.route_tables.push(public_table);
    for zone in &zones {
        let nat_zone = spec.nat_zone_for(&zone.name).unwrap();
        snapshot.route_tables.push(RouteTableState {
            id: format!("rtb-private-{}", zone.name),
            main: false,
            routes: vec![
                local_route(spec),
                RouteState {
                    destination: DEFAULT_ROUTE.into(),
                    target: RouteTarget::NatGateway(format!("nat-{nat_zone}")),
                },
            ],
            associations: vec![AssociationState {
                id: format!("rtbassoc-private-{}", zone.name),
                subnet_id: format!("subnet-private-{}", zone.name),
            }],
            tags: spec.tags_for(&Component::PrivateRouteTable(zone.name.clone())),
        });
    }
    snapshot.security_groups = vec![
        SecurityGroupState {
            id: "sg-default".into(),
            name: "default".into(),
            ingress: Vec::new(),
            tags: BTreeMap::new(),
        },
        SecurityGroupState {
            id: "sg-cluster".into(),
            name: spec.security_group_name(&Component::ClusterSecurityGroup),
            ingress: cluster_ingress("sg-cluster", spec.cidr_block),
            tags: spec.tags_for(&Component::ClusterSecurityGroup),
        },
        SecurityGroupState {
            id: "sg-database".into(),
            name: spec.security_group_name(&Component::DatabaseSecurityGroup),
            ingress: database_ingress("sg-cluster"),
            tags: spec.tags_for(&Component::DatabaseSecurityGroup),
        },
    ];
    snapshot
}

fn local_route(spec: &NetworkSpec) -> RouteState {
    RouteState { destination: spec.cidr_block.to_string(), target: RouteTarget::Local }
}
