//! How a network's address space is cut into subnets.
//!
//! The VPC block (`cidr_block`, a /16 … /24) is divided into sixteen equal *slots* (prefix + 4).
//! Availability zone number `i` (its position in `availability_zones`) gets:
//!
//! * a **private** subnet of two slots (prefix + 3, one eighth of the VPC) at slots `2i`, `2i+1`,
//!   growing upwards from the bottom of the block — workloads (EKS nodes, pods, databases) live here,
//!   so these are the large ones;
//! * a **public** subnet of one slot (prefix + 4, one sixteenth) at slot `15 - i`, growing downwards
//!   from the top of the block — only load balancers and NAT gateways live here.
//!
//! Because each subnet depends only on its zone's index, appending a zone never moves an existing
//! subnet, which is what lets an AZ be added in place. Up to [`MAX_ZONES`] zones fit
//! (5 × 3 slots = 15 of 16). For a /16 the subnets are /19 private and /20 public; for a /24 they
//! are /27 and /28, the smallest subnet AWS allows.
//!
//! ```text
//! /16 example, 10.254.0.0/16, three zones:
//!   zone 0  private 10.254.0.0/19    public 10.254.240.0/20
//!   zone 1  private 10.254.32.0/19   public 10.254.224.0/20
//!   zone 2  private 10.254.64.0/19   public 10.254.208.0/20
//! ```

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// Smallest VPC block accepted (largest prefix): its public subnets are /28, AWS's minimum.
pub const MAX_VPC_PREFIX: u8 = 24;
/// Largest VPC block accepted (smallest prefix), AWS's maximum VPC size.
pub const MIN_VPC_PREFIX: u8 = 16;
/// Most availability zones the layout has room for.
pub const MAX_ZONES: usize = 5;

/// An IPv4 network in CIDR notation whose host bits are zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Cidr {
    network: u32,
    prefix: u8,
}

/// Why a string is not a usable IPv4 CIDR block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    #[error(
        "`{0}` is not in CIDR notation (expected an IPv4 address, a slash and a prefix length, e.g. 10.254.0.0/16)"
    )]
    Syntax(String),
    #[error("`{0}` has a prefix length above 32")]
    PrefixTooLong(String),
    #[error("`{input}` has host bits set; the network address is {suggested}")]
    HostBitsSet { input: String, suggested: String },
}

impl Ipv4Cidr {
    /// Builds a network, clearing nothing: `None` when host bits are set or the prefix exceeds 32.
    pub fn new(address: Ipv4Addr, prefix: u8) -> Option<Self> {
        if prefix > 32 {
            return None;
        }
        let network = u32::from(address);
        (network & !mask(prefix) == 0).then_some(Self { network, prefix })
    }

    pub fn address(self) -> Ipv4Addr {
        Ipv4Addr::from(self.network)
    }

    pub fn prefix(self) -> u8 {
        self.prefix
    }

    /// The `index`-th sub-network of length `prefix` inside this one, if it exists.
    fn subnet(self, prefix: u8, index: u32) -> Option<Self> {
        let extra_bits = prefix.checked_sub(self.prefix)?;
        if prefix > 32 || u64::from(index) >= 1u64 << extra_bits {
            return None;
        }
        let size = 1u64 << (32 - prefix);
        let network = u64::from(self.network) + u64::from(index) * size;
        Some(Self { network: u32::try_from(network).ok()?, prefix })
    }

    /// Whether `other` lies wholly inside this network.
    pub fn contains(self, other: Self) -> bool {
        other.prefix >= self.prefix && other.network & mask(self.prefix) == self.network
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) }
}

impl FromStr for Ipv4Cidr {
    type Err = CidrError;

    fn from_str(input: &str) -> Result<Self, CidrError> {
        let syntax = || CidrError::Syntax(input.to_owned());
        let (address, prefix) = input.split_once('/').ok_or_else(syntax)?;
        let address: Ipv4Addr = address.parse().map_err(|_| syntax())?;
        if prefix.is_empty() || prefix.len() > 2 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(syntax());
        }
        let prefix: u8 = prefix.parse().map_err(|_| syntax())?;
        if prefix > 32 {
            return Err(CidrError::PrefixTooLong(input.to_owned()));
        }
        Self::new(address, prefix).ok_or_else(|| CidrError::HostBitsSet {
            input: input.to_owned(),
            suggested: format!("{}/{prefix}", Ipv4Addr::from(u32::from(address) & mask(prefix))),
        })
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address(), self.prefix)
    }
}

/// The two subnets of one availability zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZoneSubnets {
    pub public: Ipv4Cidr,
    pub private: Ipv4Cidr,
}

/// Why a layout cannot be derived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error("the VPC block must be between /{MIN_VPC_PREFIX} and /{MAX_VPC_PREFIX}, got /{0}")]
    PrefixOutOfRange(u8),
    #[error("at most {MAX_ZONES} availability zones fit in the network layout, got {0}")]
    TooManyZones(usize),
}

/// The subnets of availability zone number `zone_index` within `vpc`.
pub fn zone_subnets(vpc: Ipv4Cidr, zone_index: usize) -> Result<ZoneSubnets, LayoutError> {
    if !(MIN_VPC_PREFIX..=MAX_VPC_PREFIX).contains(&vpc.prefix) {
        return Err(LayoutError::PrefixOutOfRange(vpc.prefix));
    }
    let too_many = || LayoutError::TooManyZones(zone_index.saturating_add(1));
    let index = u32::try_from(zone_index).map_err(|_| too_many())?;
    if zone_index >= MAX_ZONES {
        return Err(too_many());
    }
    let private = vpc.subnet(vpc.prefix + 3, index).ok_or_else(too_many)?;
    let public = vpc.subnet(vpc.prefix + 4, 15 - index).ok_or_else(too_many)?;
    Ok(ZoneSubnets { public, private })
}

/// The subnets of the first `zone_count` zones, in zone order.
pub fn layout(vpc: Ipv4Cidr, zone_count: usize) -> Result<Vec<ZoneSubnets>, LayoutError> {
    (0..zone_count).map(|index| zone_subnets(vpc, index)).collect()
}

/// Which zone index a subnet CIDR belongs to, and whether it is the public one; used by import to
/// recover the order of `availability_zones` from what exists.
pub fn zone_of(vpc: Ipv4Cidr, subnet: Ipv4Cidr) -> Option<(usize, bool)> {
    (0..MAX_ZONES).find_map(|index| {
        let zone = zone_subnets(vpc, index).ok()?;
        if zone.public == subnet {
            Some((index, true))
        } else if zone.private == subnet {
            Some((index, false))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(text: &str) -> Ipv4Cidr {
        text.parse().unwrap()
    }

    #[test]
    fn parses_and_prints_networks() {
        assert_eq!(cidr("10.254.0.0/16").to_string(), "10.254.0.0/16");
        assert_eq!(cidr("0.0.0.0/0").to_string(), "0.0.0.0/0");
        assert_eq!(cidr("192.168.1.7/32").prefix(), 32);
    }

    #[test]
    fn rejects_malformed_networks() {
        for bad in [
            "",
            "10.0.0.0",
            "10.0.0.0/",
            "10.0.0/16",
            "10.0.0.0/x",
            "10.0.0.0/+8",
            "a/b",
            "10.0.0.0/016",
            "10.0.0.256/24",
            " 10.0.0.0/16",
        ] {
            assert!(matches!(bad.parse::<Ipv4Cidr>(), Err(CidrError::Syntax(_))), "{bad:?} accepted");
        }
        assert_eq!("10.0.0.0/33".parse::<Ipv4Cidr>(), Err(CidrError::PrefixTooLong("10.0.0.0/33".into())));
        assert_eq!(
            "10.254.1.0/16".parse::<Ipv4Cidr>(),
            Err(CidrError::HostBitsSet { input: "10.254.1.0/16".into(), suggested: "10.254.0.0/16".into() })
        );
    }

    #[test]
    fn default_block_layout_matches_the_documented_example() {
        let zones = layout(cidr("10.254.0.0/16"), 3).unwrap();
        let shown: Vec<(String, String)> =
            zones.iter().map(|z| (z.private.to_string(), z.public.to_string())).collect();
        assert_eq!(
            shown,
            [
                ("10.254.0.0/19".to_string(), "10.254.240.0/20".to_string()),
                ("10.254.32.0/19".into(), "10.254.224.0/20".into()),
                ("10.254.64.0/19".into(), "10.254.208.0/20".into()),
            ]
        );
    }

    #[test]
    fn smallest_block_still_gives_slash_28_subnets() {
        let zones = layout(cidr("192.168.7.0/24"), MAX_ZONES).unwrap();
        for zone in &zones {
            assert_eq!(zone.private.prefix(), 27);
            assert_eq!(zone.public.prefix(), 28);
        }
        assert_eq!(zones[0].public.to_string(), "192.168.7.240/28");
        assert_eq!(zones[4].private.to_string(), "192.168.7.128/27");
    }

    #[test]
    fn every_subnet_lies_inside_the_vpc_and_none_overlap() {
        for prefix in MIN_VPC_PREFIX..=MAX_VPC_PREFIX {
            let vpc = Ipv4Cidr::new(Ipv4Addr::new(10, 0, 0, 0), prefix).unwrap();
            let zones = layout(vpc, MAX_ZONES).unwrap();
            let all: Vec<Ipv4Cidr> = zones.iter().flat_map(|z| [z.public, z.private]).collect();
            for (i, a) in all.iter().enumerate() {
                assert!(vpc.contains(*a), "{a} outside {vpc}");
                assert!(a.prefix() <= 28, "{a} smaller than /28");
                for b in &all[i + 1..] {
                    assert!(!a.contains(*b) && !b.contains(*a), "{a} overlaps {b} in {vpc}");
                }
            }
        }
    }

    #[test]
    fn appending_a_zone_keeps_existing_subnets() {
        let vpc = cidr("10.20.0.0/18");
        for count in 2..MAX_ZONES {
            let before = layout(vpc, count).unwrap();
            let after = layout(vpc, count + 1).unwrap();
            assert_eq!(before[..], after[..count]);
        }
    }

    #[test]
    fn refuses_out_of_range_blocks_and_too_many_zones() {
        assert_eq!(zone_subnets(cidr("10.0.0.0/8"), 0), Err(LayoutError::PrefixOutOfRange(8)));
        assert_eq!(zone_subnets(cidr("10.0.0.0/25"), 0), Err(LayoutError::PrefixOutOfRange(25)));
        assert_eq!(zone_subnets(cidr("10.0.0.0/16"), MAX_ZONES), Err(LayoutError::TooManyZones(MAX_ZONES + 1)));
        assert_eq!(zone_subnets(cidr("10.0.0.0/16"), usize::MAX), Err(LayoutError::TooManyZones(usize::MAX)));
    }

    #[test]
    fn finds_the_zone_of_a_subnet() {
        let vpc = cidr("10.254.0.0/16");
        assert_eq!(zone_of(vpc, cidr("10.254.32.0/19")), Some((1, false)));
        assert_eq!(zone_of(vpc, cidr("10.254.208.0/20")), Some((2, true)));
        assert_eq!(zone_of(vpc, cidr("10.254.16.0/20")), None);
    }
}
