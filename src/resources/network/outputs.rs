//! The computed attributes of a network (`vpc_id`, subnet ids, `egress_ips`, …) and how they are
//! read off a snapshot; plus the reverse for import, which recovers the configuration-side
//! attributes from what exists.

use std::collections::{BTreeMap, BTreeSet};

use super::desired::{COMPONENT_TAG, Component, NETWORK_TAG, NatMode, NetworkSpec};
use super::drift::Drift;
use super::layout::{self, Ipv4Cidr};
use super::snapshot::NetworkSnapshot;
use crate::resources::ownership::{OWNER_TAG, OwnerToken};

/// Ids and addresses the resource exposes. Lists follow the order of `availability_zones`; a
/// component that does not exist (yet) is simply absent, which is also how a partially created
/// network is reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkOutputs {
    pub vpc_id: Option<String>,
    pub public_subnet_ids: Vec<String>,
    pub private_subnet_ids: Vec<String>,
    pub internet_gateway_id: Option<String>,
    pub nat_gateway_ids: Vec<String>,
    pub egress_ips: Vec<String>,
    pub cluster_security_group_id: Option<String>,
    pub database_security_group_id: Option<String>,
}

/// What of `spec` exists in `snapshot`.
pub fn observe(spec: &NetworkSpec, snapshot: &NetworkSnapshot) -> NetworkOutputs {
    let mut outputs = NetworkOutputs { vpc_id: Some(snapshot.vpc.id.clone()), ..NetworkOutputs::default() };
    let zones = spec.zones().unwrap_or_default();
    let mut public_subnets = BTreeMap::new();
    for zone in &zones {
        if let Some(subnet) =
            snapshot.subnet(&Component::PublicSubnet(zone.name.clone()), &zone.name, zone.subnets.public)
        {
            outputs.public_subnet_ids.push(subnet.id.clone());
            public_subnets.insert(zone.name.as_str(), subnet.id.as_str());
        }
        if let Some(subnet) =
            snapshot.subnet(&Component::PrivateSubnet(zone.name.clone()), &zone.name, zone.subnets.private)
        {
            outputs.private_subnet_ids.push(subnet.id.clone());
        }
    }
    outputs.internet_gateway_id = snapshot.internet_gateway().map(|gateway| gateway.id.clone());
    for zone in spec.nat_zones() {
        if let Some(nat) = snapshot.nat_gateway(zone, public_subnets.get(zone.as_str()).copied()) {
            outputs.nat_gateway_ids.push(nat.id.clone());
            outputs.egress_ips.extend(nat.addresses.iter().filter_map(|address| address.public_ip.clone()));
        }
    }
    outputs.cluster_security_group_id =
        snapshot.security_group(&Component::ClusterSecurityGroup, spec).map(|group| group.id.clone());
    outputs.database_security_group_id =
        snapshot.security_group(&Component::DatabaseSecurityGroup, spec).map(|group| group.id.clone());
    outputs
}

/// Names of the computed attributes holding [`NetworkOutputs`], as they appear in the schema.
pub mod attribute {
    pub const ID: &str = "id";
    pub const VPC_ID: &str = "vpc_id";
    pub const PUBLIC_SUBNET_IDS: &str = "public_subnet_ids";
    pub const PRIVATE_SUBNET_IDS: &str = "private_subnet_ids";
    pub const INTERNET_GATEWAY_ID: &str = "internet_gateway_id";
    pub const NAT_GATEWAY_IDS: &str = "nat_gateway_ids";
    pub const EGRESS_IPS: &str = "egress_ips";
    pub const CLUSTER_SECURITY_GROUP_ID: &str = "cluster_security_group_id";
    pub const DATABASE_SECURITY_GROUP_ID: &str = "database_security_group_id";

    /// Every output attribute, `id` first.
    pub const ALL: [&str; 9] = [
        ID,
        VPC_ID,
        PUBLIC_SUBNET_IDS,
        PRIVATE_SUBNET_IDS,
        INTERNET_GATEWAY_ID,
        NAT_GATEWAY_IDS,
        EGRESS_IPS,
        CLUSTER_SECURITY_GROUP_ID,
        DATABASE_SECURITY_GROUP_ID,
    ];
}

/// The output attributes whose values repairing `drift` will change: objects that get created,
/// replaced or deleted change their ids.
pub fn outputs_changed_by(drift: &[Drift]) -> BTreeSet<&'static str> {
    drift
        .iter()
        .filter(|finding| finding.changes_identity())
        .flat_map(|finding| -> &'static [&'static str] {
            match finding.component {
                Component::PublicSubnet(_) => &[attribute::PUBLIC_SUBNET_IDS],
                Component::PrivateSubnet(_) => &[attribute::PRIVATE_SUBNET_IDS],
                Component::NatGateway(_) | Component::ElasticIp(_) => {
                    &[attribute::NAT_GATEWAY_IDS, attribute::EGRESS_IPS]
                }
                Component::InternetGateway => &[attribute::INTERNET_GATEWAY_ID],
                Component::ClusterSecurityGroup => &[attribute::CLUSTER_SECURITY_GROUP_ID],
                Component::DatabaseSecurityGroup => &[attribute::DATABASE_SECURITY_GROUP_ID],
                Component::Vpc | Component::PublicRouteTable | Component::PrivateRouteTable(_) => &[],
            }
        })
        .copied()
        .collect()
}

/// The ownership token on the network's VPC, which an import (or a state written before
/// ownership marks) adopts; `None` when the VPC carries none.
pub fn recover_owner(snapshot: &NetworkSnapshot) -> Option<OwnerToken> {
    snapshot.vpc.tags.get(OWNER_TAG).and_then(|token| OwnerToken::from_tag(token))
}

/// Why an existing VPC cannot be imported as a network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecoverError {
    #[error("VPC {vpc} has CIDR block {cidr}, which the network layout cannot use (it needs an IPv4 /16 to /24)")]
    UnusableCidr { vpc: String, cidr: String },
    #[error("VPC {vpc} has no `Name` or `{NETWORK_TAG}` tag to take the network's name from")]
    NoName { vpc: String },
    #[error("VPC {vpc} has subnets in fewer than two availability zones laid out the way retool_network lays them out")]
    TooFewZones { vpc: String },
}

/// Rebuilds the configuration of the network that owns `snapshot`'s VPC: the name from its tags,
/// the CIDR block, the zones in layout order (from where their subnets sit in the block), the NAT
/// mode from how many NAT gateways run, and the resource's `tags` (everything on the VPC that
/// neither the resource itself nor the provider's `default_tags` put there).
pub fn recover_spec(
    snapshot: &NetworkSnapshot,
    default_tags: &BTreeMap<String, String>,
) -> Result<NetworkSpec, RecoverError> {
    let vpc = &snapshot.vpc;
    let cidr_block: Ipv4Cidr = vpc
        .cidr_block
        .parse()
        .ok()
        .filter(|cidr: &Ipv4Cidr| (layout::MIN_VPC_PREFIX..=layout::MAX_VPC_PREFIX).contains(&cidr.prefix()))
        .ok_or_else(|| RecoverError::UnusableCidr { vpc: vpc.id.clone(), cidr: vpc.cidr_block.clone() })?;
    let name = vpc
        .tags
        .get(NETWORK_TAG)
        .or_else(|| vpc.tags.get("Name"))
        .filter(|name| !name.is_empty())
        .cloned()
        .ok_or_else(|| RecoverError::NoName { vpc: vpc.id.clone() })?;

    let mut zones_by_index: BTreeMap<usize, String> = BTreeMap::new();
    for subnet in &snapshot.subnets {
        let Ok(cidr) = subnet.cidr_block.parse::<Ipv4Cidr>() else { continue };
        if let Some((index, _)) = layout::zone_of(cidr_block, cidr) {
            zones_by_index.entry(index).or_insert_with(|| subnet.availability_zone.clone());
        }
    }
    // Zones must be consecutive from index 0; a gap means the layout was not ours.
    let availability_zones: Vec<String> = zones_by_index
        .iter()
        .enumerate()
        .take_while(|(position, (index, _))| position == *index)
        .map(|(_, (_, zone))| zone.clone())
        .collect();
    if availability_zones.len() < 2 {
        return Err(RecoverError::TooFewZones { vpc: vpc.id.clone() });
    }

    let live_nats = snapshot.nat_gateways.iter().filter(|nat| nat.status.is_live()).count();
    let nat_mode = if live_nats == 1 { NatMode::Single } else { NatMode::OnePerAz };
    let tags = vpc
        .tags
        .iter()
        .filter(|(key, _)| !matches!(key.as_str(), "Name" | NETWORK_TAG | COMPONENT_TAG | OWNER_TAG))
        .filter(|(key, value)| default_tags.get(*key) != Some(*value))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    Ok(NetworkSpec { name, cidr_block, availability_zones, nat_mode, tags, default_tags: default_tags.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::network::fixture::{healthy, spec};

    const ZONES: [&str; 3] = ["us-east-1a", "us-east-1b", "us-east-1c"];

    #[test]
    fn outputs_follow_zone_order() {
        let spec = spec(&ZONES, NatMode::OnePerAz);
        let mut snapshot = healthy(&spec);
        snapshot.subnets.reverse();
        let outputs = observe(&spec, &snapshot);
        assert_eq!(outputs.vpc_id.as_deref(), Some("vpc-1"));
        assert_eq!(
            outputs.public_subnet_ids,
            ["subnet-public-us-east-1a", "subnet-public-us-east-1b", "subnet-public-us-east-1c"]
        );
        assert_eq!(
            outputs.private_subnet_ids,
            ["subnet-private-us-east-1a", "subnet-private-us-east-1b", "subnet-private-us-east-1c"]
        );
        assert_eq!(outputs.nat_gateway_ids, ["nat-us-east-1a", "nat-us-east-1b", "nat-us-east-1c"]);
        assert_eq!(outputs.egress_ips, ["203.0.113.1", "203.0.113.2", "203.0.113.3"]);
        assert_eq!(outputs.internet_gateway_id.as_deref(), Some("igw-1"));
        assert_eq!(outputs.cluster_security_group_id.as_deref(), Some("sg-cluster"));
        assert_eq!(outputs.database_security_group_id.as_deref(), Some("sg-database"));
    }

    #[test]
    fn single_nat_exposes_one_egress_ip_and_missing_pieces_are_absent() {
        let spec = spec(&ZONES, NatMode::Single);
        let mut snapshot = healthy(&spec);
        snapshot.security_groups.retain(|group| group.id != "sg-database");
        snapshot.subnets.retain(|subnet| subnet.id != "subnet-public-us-east-1b");
        let outputs = observe(&spec, &snapshot);
        assert_eq!(outputs.nat_gateway_ids, ["nat-us-east-1a"]);
        assert_eq!(outputs.egress_ips, ["203.0.113.1"]);
        assert_eq!(outputs.public_subnet_ids, ["subnet-public-us-east-1a", "subnet-public-us-east-1c"]);
        assert_eq!(outputs.database_security_group_id, None);
    }

    #[test]
    fn import_recovers_the_configuration() {
        for mode in [NatMode::OnePerAz, NatMode::Single] {
            let original = spec(&ZONES, mode);
            let mut snapshot = healthy(&original);
            // Describe results come in no particular order.
            snapshot.subnets.sort_by(|a, b| b.id.cmp(&a.id));
            assert_eq!(recover_spec(&snapshot, &original.default_tags), Ok(original));
        }
    }

    #[test]
    fn repairs_that_recreate_objects_change_only_their_outputs() {
        let spec = spec(&ZONES, NatMode::OnePerAz);
        let mut snapshot = healthy(&spec);
        snapshot.nat_gateways.remove(1);
        snapshot.vpc.dns_hostnames = false;
        snapshot.security_groups[2].ingress.clear();
        let found = crate::resources::network::drift::detect(&spec, &snapshot);
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(outputs_changed_by(&found), BTreeSet::from([attribute::NAT_GATEWAY_IDS, attribute::EGRESS_IPS]));
    }

    #[test]
    fn import_refuses_vpcs_it_cannot_manage() {
        let original = spec(&ZONES, NatMode::OnePerAz);
        let mut snapshot = healthy(&original);
        snapshot.vpc.cidr_block = "10.0.0.0/8".into();
        assert!(matches!(recover_spec(&snapshot, &BTreeMap::new()), Err(RecoverError::UnusableCidr { .. })));

        let mut snapshot = healthy(&original);
        snapshot.vpc.tags.clear();
        assert!(matches!(recover_spec(&snapshot, &BTreeMap::new()), Err(RecoverError::NoName { .. })));

        let mut snapshot = healthy(&original);
        snapshot.subnets.retain(|subnet| subnet.availability_zone == "us-east-1b");
        assert!(matches!(recover_spec(&snapshot, &BTreeMap::new()), Err(RecoverError::TooFewZones { .. })));
    }

    #[test]
    fn import_adopts_the_vpcs_token_and_keeps_the_mark_out_of_tags() {
        let original = spec(&ZONES, NatMode::OnePerAz);
        let mut snapshot = healthy(&original);
        assert_eq!(recover_owner(&snapshot), None);
        let owner = OwnerToken::generate();
        snapshot.vpc.tags = owner.mark(snapshot.vpc.tags.clone());
        assert_eq!(recover_owner(&snapshot), Some(owner));
        assert_eq!(recover_spec(&snapshot, &original.default_tags), Ok(original));
    }

    #[test]
    fn import_without_default_tags_keeps_them_as_resource_tags() {
        let original = spec(&ZONES, NatMode::OnePerAz);
        let recovered = recover_spec(&healthy(&original), &BTreeMap::new()).unwrap();
        assert_eq!(recovered.tags.get("owner").map(String::as_str), Some("platform"));
        assert_eq!(recovered.tags.get("team").map(String::as_str), Some("infra"));
        assert!(!recovered.tags.contains_key("Name"));
    }
}
