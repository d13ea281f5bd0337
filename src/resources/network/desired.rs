//! What a network should look like: every AWS object its configuration ([`NetworkSpec`])
//! implies, named by [`Component`], with the tags, subnets and rules each must have. Pure: no AWS
//! call, no Terraform value.
//!
//! Each object the resource creates carries the tag `retool:component` naming its component (for
//! example `private-subnet/us-east-1b`), next to `retool:network` = the network's name and the
//! instance's ownership mark `retool:owner`. Those tags are how refresh, drift repair and a
//! resumed create recognise pieces that already exist, so a create interrupted half-way is
//! finished rather than duplicated.

use std::collections::BTreeMap;
use std::fmt;

use super::layout::{self, Ipv4Cidr, LayoutError, ZoneSubnets};
use super::model::{NatMode, NetworkSpec};

/// Tag naming the network an object belongs to.
pub const NETWORK_TAG: &str = "retool:network";
/// Tag naming which part of the network an object is.
pub const COMPONENT_TAG: &str = "retool:component";
/// Tag on Elastic IPs naming their VPC: addresses live outside the VPC, so this is how destroy and
/// repair find them.
pub const VPC_TAG: &str = "retool:vpc-id";
/// Port the database security group opens to the cluster (PostgreSQL).
pub const DATABASE_PORT: i32 = 5432;

/// One identifiable AWS object of a network.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    /// The VPC itself, with DNS support and DNS hostnames on.
    Vpc,
    /// The internet gateway attached to the VPC, the public subnets' default route.
    InternetGateway,
    /// The public subnet of a zone (the zone's name): launches get a public IP, and its NAT
    /// gateway sits here.
    PublicSubnet(String),
    /// The private subnet of a zone (the zone's name): no public IPs, outbound traffic through a
    /// NAT gateway.
    PrivateSubnet(String),
    /// The Elastic IP of a zone's NAT gateway (the zone's name): one of the `egress_ips`.
    ElasticIp(String),
    /// The NAT gateway of a zone (the zone's name); only the zones of
    /// [`NetworkSpec::nat_zones`] have one.
    NatGateway(String),
    /// The one route table of every public subnet: default route to the internet gateway.
    PublicRouteTable,
    /// The route table of a zone's private subnet (the zone's name): default route to the NAT
    /// gateway that zone uses ([`NetworkSpec::nat_zone_for`]).
    PrivateRouteTable(String),
    /// The `cluster` security group ([`cluster_ingress`]).
    ClusterSecurityGroup,
    /// The `database` security group ([`database_ingress`]).
    DatabaseSecurityGroup,
}

impl Component {
    /// The component's two spellings, its `retool:component` tag kind and its `Name` tag suffix, with
    /// its zone if it has one: one table, so the tag and the name cannot disagree about a component.
    fn spellings(&self) -> (&'static str, &'static str, Option<&str>) {
        match self {
            Self::Vpc => ("vpc", "", None),
            Self::InternetGateway => ("internet-gateway", "-igw", None),
            Self::PublicSubnet(zone) => ("public-subnet", "-public", Some(zone.as_str())),
            Self::PrivateSubnet(zone) => ("private-subnet", "-private", Some(zone.as_str())),
            Self::ElasticIp(zone) => ("nat-eip", "-nat", Some(zone.as_str())),
            Self::NatGateway(zone) => ("nat-gateway", "-nat", Some(zone.as_str())),
            Self::PublicRouteTable => ("public-route-table", "-public", None),
            Self::PrivateRouteTable(zone) => ("private-route-table", "-private", Some(zone.as_str())),
            Self::ClusterSecurityGroup => ("cluster-security-group", "-cluster", None),
            Self::DatabaseSecurityGroup => ("database-security-group", "-database", None),
        }
    }

    /// The value of the `retool:component` tag: the kind, then `/zone` for zoned components.
    pub fn tag_value(&self) -> String {
        match self.spellings() {
            (kind, _, Some(zone)) => format!("{kind}/{zone}"),
            (kind, _, None) => kind.to_owned(),
        }
    }

    /// Reads a `retool:component` tag value back.
    pub fn from_tag_value(text: &str) -> Option<Self> {
        let zoned = |prefix: &str| text.strip_prefix(prefix).filter(|z| !z.is_empty()).map(str::to_owned);
        Some(match text {
            "vpc" => Self::Vpc,
            "internet-gateway" => Self::InternetGateway,
            "public-route-table" => Self::PublicRouteTable,
            "cluster-security-group" => Self::ClusterSecurityGroup,
            "database-security-group" => Self::DatabaseSecurityGroup,
            _ => {
                if let Some(zone) = zoned("public-subnet/") {
                    Self::PublicSubnet(zone)
                } else if let Some(zone) = zoned("private-subnet/") {
                    Self::PrivateSubnet(zone)
                } else if let Some(zone) = zoned("nat-eip/") {
                    Self::ElasticIp(zone)
                } else if let Some(zone) = zoned("nat-gateway/") {
                    Self::NatGateway(zone)
                } else {
                    Self::PrivateRouteTable(zoned("private-route-table/")?)
                }
            }
        })
    }

    /// The `Name` tag suffix, so the console lists `<network>-private-us-east-1a` and friends.
    fn name_suffix(&self) -> String {
        match self.spellings() {
            (_, suffix, Some(zone)) => format!("{suffix}-{zone}"),
            (_, suffix, None) => suffix.to_owned(),
        }
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Vpc => f.write_str("VPC"),
            Self::InternetGateway => f.write_str("internet gateway"),
            Self::PublicSubnet(zone) => write!(f, "public subnet in {zone}"),
            Self::PrivateSubnet(zone) => write!(f, "private subnet in {zone}"),
            Self::ElasticIp(zone) => write!(f, "NAT Elastic IP for {zone}"),
            Self::NatGateway(zone) => write!(f, "NAT gateway for {zone}"),
            Self::PublicRouteTable => f.write_str("public route table"),
            Self::PrivateRouteTable(zone) => write!(f, "private route table for {zone}"),
            Self::ClusterSecurityGroup => f.write_str("cluster security group"),
            Self::DatabaseSecurityGroup => f.write_str("database security group"),
        }
    }
}

/// The public and private subnet of one zone, with the zone's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// The availability zone, e.g. `us-east-1a`.
    pub name: String,
    /// The CIDR blocks of the zone's public and private subnet, carved from the VPC block by its
    /// position in `availability_zones`.
    pub subnets: ZoneSubnets,
}

impl NetworkSpec {
    /// Each configured zone with its subnet CIDRs, in configuration order.
    pub fn zones(&self) -> Result<Vec<Zone>, LayoutError> {
        let cidrs = layout::layout(self.cidr_block, self.availability_zones.len())?;
        Ok(self
            .availability_zones
            .iter()
            .zip(cidrs)
            .map(|(name, subnets)| Zone { name: name.clone(), subnets })
            .collect())
    }

    /// The zones that get a NAT gateway: all of them, or only the first.
    pub fn nat_zones(&self) -> &[String] {
        match self.nat_mode {
            NatMode::OnePerAz => &self.availability_zones,
            NatMode::Single => self.availability_zones.get(..1).unwrap_or_default(),
        }
    }

    /// The zone whose NAT gateway the private subnets of `zone` route through.
    pub fn nat_zone_for<'a>(&'a self, zone: &'a str) -> Option<&'a str> {
        match self.nat_mode {
            NatMode::OnePerAz => Some(zone),
            NatMode::Single => self.availability_zones.first().map(String::as_str),
        }
    }

    /// The security groups' names (unique within the VPC, as AWS requires).
    pub fn security_group_name(&self, component: &Component) -> String {
        format!("{}{}", self.name, component.name_suffix())
    }

    /// Every tag `component` must carry: default tags, overlaid by the resource's `tags`, overlaid
    /// by the tags the resource needs itself.
    pub fn tags_for(&self, component: &Component) -> BTreeMap<String, String> {
        let mut tags = self.default_tags.clone();
        tags.extend(self.tags.iter().map(|(key, value)| (key.clone(), value.clone())));
        tags.insert("Name".into(), format!("{}{}", self.name, component.name_suffix()));
        tags.insert(NETWORK_TAG.into(), self.name.clone());
        tags.insert(COMPONENT_TAG.into(), component.tag_value());
        match component {
            Component::PublicSubnet(_) => {
                tags.insert("kubernetes.io/role/elb".into(), "1".into());
            }
            Component::PrivateSubnet(_) => {
                tags.insert("kubernetes.io/role/internal-elb".into(), "1".into());
            }
            _ => {}
        }
        tags
    }
}

/// Where traffic allowed by a security group rule comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleSource {
    /// An IPv4 CIDR block, e.g. `10.254.0.0/16`.
    Cidr(String),
    /// An IPv6 CIDR block (never asked for; found only on rules added by hand).
    Ipv6Cidr(String),
    /// A managed prefix list id (`pl-…`; never asked for; found only on rules added by hand).
    PrefixList(String),
    /// Members of a security group, by id (`sg-…`).
    SecurityGroup(String),
}

/// One ingress permission, in the atomic form AWS authorizes and revokes
/// (a protocol, a port range and exactly one source).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IngressRule {
    /// `-1` for all traffic, otherwise `tcp`, `udp`, `icmp`, … or a protocol number.
    pub protocol: String,
    /// Port range; `None` when the protocol has no ports (all traffic).
    pub ports: Option<(i32, i32)>,
    /// The one source the rule admits.
    pub source: RuleSource,
}

impl IngressRule {
    /// Builds a rule from AWS's loose encoding: protocol names and numbers for TCP/UDP/ICMP
    /// compare equal, and "all traffic" carries no ports however AWS spelled them.
    pub fn normalized(protocol: &str, from_port: Option<i32>, to_port: Option<i32>, source: RuleSource) -> Self {
        let protocol = match protocol.to_ascii_lowercase().as_str() {
            "-1" | "all" => "-1".to_owned(),
            "6" => "tcp".to_owned(),
            "17" => "udp".to_owned(),
            "1" => "icmp".to_owned(),
            other => other.to_owned(),
        };
        let ports = match (protocol.as_str(), from_port, to_port) {
            ("-1", _, _) => None,
            (_, Some(from), Some(to)) => Some((from, to)),
            (_, Some(port), None) | (_, None, Some(port)) => Some((port, port)),
            (_, None, None) => None,
        };
        Self { protocol, ports, source }
    }

    /// A rule admitting every protocol and port from `source`.
    pub fn all_traffic_from(source: RuleSource) -> Self {
        Self { protocol: "-1".into(), ports: None, source }
    }
}

impl fmt::Display for IngressRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.protocol.as_str(), self.ports) {
            ("-1", _) => f.write_str("all traffic")?,
            (protocol, Some((from, to))) if from == to => write!(f, "{protocol} {from}")?,
            (protocol, Some((from, to))) => write!(f, "{protocol} {from}-{to}")?,
            (protocol, None) => f.write_str(protocol)?,
        }
        match &self.source {
            RuleSource::Cidr(cidr) | RuleSource::Ipv6Cidr(cidr) => write!(f, " from {cidr}"),
            RuleSource::PrefixList(id) => write!(f, " from prefix list {id}"),
            RuleSource::SecurityGroup(id) => write!(f, " from security group {id}"),
        }
    }
}

/// Ingress of the cluster group: everything from its own members and from inside the VPC.
pub fn cluster_ingress(cluster_group_id: &str, vpc_cidr: Ipv4Cidr) -> Vec<IngressRule> {
    vec![
        IngressRule::all_traffic_from(RuleSource::SecurityGroup(cluster_group_id.to_owned())),
        IngressRule::all_traffic_from(RuleSource::Cidr(vpc_cidr.to_string())),
    ]
}

/// Ingress of the database group: PostgreSQL from the cluster group, nothing else.
pub fn database_ingress(cluster_group_id: &str) -> Vec<IngressRule> {
    vec![IngressRule {
        protocol: "tcp".into(),
        ports: Some((DATABASE_PORT, DATABASE_PORT)),
        source: RuleSource::SecurityGroup(cluster_group_id.to_owned()),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(mode: NatMode) -> NetworkSpec {
        NetworkSpec {
            name: "acme".into(),
            cidr_block: "10.254.0.0/16".parse().unwrap(),
            availability_zones: vec!["us-east-1a".into(), "us-east-1b".into()],
            nat_mode: mode,
            tags: BTreeMap::from([("team".into(), "infra".into()), ("Name".into(), "user-override".into())]),
            default_tags: BTreeMap::from([("team".into(), "default".into()), ("cost-center".into(), "42".into())]),
        }
    }

    #[test]
    fn component_tags_round_trip() {
        let zone = "eu-west-3c".to_owned();
        for component in [
            Component::Vpc,
            Component::InternetGateway,
            Component::PublicSubnet(zone.clone()),
            Component::PrivateSubnet(zone.clone()),
            Component::ElasticIp(zone.clone()),
            Component::NatGateway(zone.clone()),
            Component::PublicRouteTable,
            Component::PrivateRouteTable(zone.clone()),
            Component::ClusterSecurityGroup,
            Component::DatabaseSecurityGroup,
        ] {
            assert_eq!(Component::from_tag_value(&component.tag_value()), Some(component));
        }
        assert_eq!(Component::from_tag_value("public-subnet/"), None);
        assert_eq!(Component::from_tag_value("something-else"), None);
    }

    #[test]
    fn resource_tags_win_over_user_tags_and_subnets_carry_kubernetes_roles() {
        let spec = spec(NatMode::OnePerAz);
        let tags = spec.tags_for(&Component::PrivateSubnet("us-east-1b".into()));
        assert_eq!(tags["Name"], "acme-private-us-east-1b");
        assert_eq!(tags[NETWORK_TAG], "acme");
        assert_eq!(tags[COMPONENT_TAG], "private-subnet/us-east-1b");
        assert_eq!(tags["kubernetes.io/role/internal-elb"], "1");
        assert_eq!(tags["team"], "infra");
        assert_eq!(tags["cost-center"], "42");
        assert!(!tags.contains_key("kubernetes.io/role/elb"));
        let public = spec.tags_for(&Component::PublicSubnet("us-east-1a".into()));
        assert_eq!(public["kubernetes.io/role/elb"], "1");
    }

    #[test]
    fn nat_mode_decides_which_zones_get_gateways_and_where_private_traffic_goes() {
        let per_az = spec(NatMode::OnePerAz);
        assert_eq!(per_az.nat_zones(), ["us-east-1a", "us-east-1b"]);
        assert_eq!(per_az.nat_zone_for("us-east-1b"), Some("us-east-1b"));
        let single = spec(NatMode::Single);
        assert_eq!(single.nat_zones(), ["us-east-1a"]);
        assert_eq!(single.nat_zone_for("us-east-1b"), Some("us-east-1a"));
        assert_eq!(NatMode::parse("single"), Some(NatMode::Single));
        assert_eq!(NatMode::parse("one_per_az"), Some(NatMode::OnePerAz));
        assert_eq!(NatMode::parse("Single"), None);
    }

    #[test]
    fn rules_normalize_aws_spellings() {
        let group = || RuleSource::SecurityGroup("sg-1".into());
        assert_eq!(IngressRule::normalized("6", Some(5432), Some(5432), group()), database_ingress("sg-1")[0]);
        assert_eq!(IngressRule::normalized("-1", Some(-1), Some(-1), group()), IngressRule::all_traffic_from(group()));
        assert_eq!(database_ingress("sg-1")[0].to_string(), "tcp 5432 from security group sg-1");
        assert_eq!(
            IngressRule::normalized("tcp", Some(0), Some(65535), RuleSource::Cidr("0.0.0.0/0".into())).to_string(),
            "tcp 0-65535 from 0.0.0.0/0"
        );
    }
}
