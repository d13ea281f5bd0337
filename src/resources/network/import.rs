//! Import: a VPC id in, the configuration that built the network out. Everything a
//! configuration sets leaves a mark on what exists (the name in the VPC's tags, the zones in where
//! the subnets sit, the NAT mode in how many gateways run), so reading them back produces a state
//! whose next plan is empty when the configuration matches. Import also adopts the network's
//! ownership token: it is the one explicit way to take a network over.

use std::collections::BTreeMap;

use super::desired::{COMPONENT_TAG, NETWORK_TAG};
use super::layout::{self, Ipv4Cidr};
use super::model::{NatMode, NetworkSpec};
use super::observed::NetworkSnapshot;
use crate::resources::ownership::{OWNER_TAG, OwnerToken};

/// The ownership token on the network's VPC, which an import (or a state written before
/// ownership marks) adopts; `None` when the VPC carries none.
pub fn recover_owner(snapshot: &NetworkSnapshot) -> Option<OwnerToken> {
    snapshot.vpc.tags.get(OWNER_TAG).and_then(|token| OwnerToken::from_tag(token))
}

/// Why an existing VPC cannot be imported as a network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecoverError {
    /// The VPC's primary block is not an IPv4 block the layout can split (a /16 to a /24).
    #[error("VPC {vpc} has CIDR block {cidr}, which the network layout cannot use (it needs an IPv4 /16 to /24)")]
    UnusableCidr {
        /// The VPC being imported.
        vpc: String,
        /// Its primary CIDR block, as AWS reports it.
        cidr: String,
    },
    /// Neither a `retool:network` nor a `Name` tag (or only an empty one) gives the network's name.
    #[error("VPC {vpc} has no `Name` or `{NETWORK_TAG}` tag to take the network's name from")]
    NoName {
        /// The VPC being imported.
        vpc: String,
    },
    /// Fewer than two zones have a subnet where the layout puts zone 0, 1, … of the VPC's block, so
    /// the subnets were not laid out by this resource (it always spans at least two zones).
    #[error("VPC {vpc} has subnets in fewer than two availability zones laid out the way retool_network lays them out")]
    TooFewZones {
        /// The VPC being imported.
        vpc: String,
    },
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
    // A VPC this resource made (it carries the network mark) but whose create never finished —
    // Terraform killed before it recorded the network — is imported with the zones that have
    // their subnets so far, possibly none: the configuration's zones then read as zones appended,
    // which the next apply adds in place. Any other VPC must show the layout of two zones or more.
    let made_here = vpc.tags.contains_key(NETWORK_TAG) && vpc.tags.contains_key(OWNER_TAG);
    if availability_zones.len() < 2 && !made_here {
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
    fn a_network_whose_create_never_finished_imports_with_the_zones_made_so_far() {
        let original = spec(&ZONES, NatMode::OnePerAz);
        let mut snapshot = healthy(&original);
        snapshot.vpc.tags = OwnerToken::generate().mark(snapshot.vpc.tags.clone());
        snapshot.subnets.clear();
        snapshot.nat_gateways.clear();
        let recovered = recover_spec(&snapshot, &original.default_tags).expect("a half-made network imports");
        assert!(recovered.availability_zones.is_empty());
        assert_eq!(recovered.name, original.name);
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
