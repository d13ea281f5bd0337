//! The resource's data, typed: the configuration ([`NetworkSpec`], read from a planned or prior
//! state), the computed attributes ([`NetworkOutputs`], read off what exists), and the private
//! state. Converting between Terraform values and these types happens here and nowhere else.

use std::collections::BTreeMap;

use super::desired::Component;
use super::layout::{self, Ipv4Cidr};
use super::observed::NetworkSnapshot;
use crate::error::Error;
use crate::framework::Diagnostics;
use crate::framework::read::string_map;
use crate::resources::ownership::OwnedPrivate;
use crate::value::{AttributePath, Value};

/// Names of the attributes the resource computes, as they appear in the schema.
pub mod attribute {
    use crate::value::Type;

    attribute_names! {
        /// Every output attribute ([`super::NetworkOutputs`]), `id` first, with its type and the
        /// schema's description of it.
        pub const ALL = [
            /// The resource's id: the VPC id, which is also the import id.
            ID = "id" (Type::String, "The VPC id, which also identifies the network for import."),
            /// The VPC id ([`super::NetworkOutputs::vpc_id`]).
            VPC_ID = "vpc_id" (Type::String, "The VPC id."),
            /// [`super::NetworkOutputs::public_subnet_ids`].
            PUBLIC_SUBNET_IDS = "public_subnet_ids" (
                Type::list(Type::String),
                "Public subnet ids, in the order of `availability_zones`. Tagged `kubernetes.io/role/elb=1`."
            ),
            /// [`super::NetworkOutputs::private_subnet_ids`].
            PRIVATE_SUBNET_IDS = "private_subnet_ids" (
                Type::list(Type::String),
                "Private subnet ids, in the order of `availability_zones`. Tagged `kubernetes.io/role/internal-elb=1`."
            ),
            /// [`super::NetworkOutputs::internet_gateway_id`].
            INTERNET_GATEWAY_ID = "internet_gateway_id" (Type::String, "The internet gateway id."),
            /// [`super::NetworkOutputs::nat_gateway_ids`].
            NAT_GATEWAY_IDS = "nat_gateway_ids" (
                Type::list(Type::String),
                "NAT gateway ids: one per zone, or one for `single`."
            ),
            /// [`super::NetworkOutputs::egress_ips`]: the addresses a customer allowlists.
            EGRESS_IPS = "egress_ips" (
                Type::list(Type::String),
                "Public IPs (Elastic IPs of the NAT gateways) that all outbound traffic leaves from: the addresses to allowlist."
            ),
            /// [`super::NetworkOutputs::cluster_security_group_id`].
            CLUSTER_SECURITY_GROUP_ID = "cluster_security_group_id" (
                Type::String,
                "Security group for the cluster: all traffic from its members and from the VPC block."
            ),
            /// [`super::NetworkOutputs::database_security_group_id`].
            DATABASE_SECURITY_GROUP_ID = "database_security_group_id" (
                Type::String,
                "Security group for the database: PostgreSQL (5432) from the cluster group only."
            ),
        ];
        /// The findings of the last refresh (not an output: no object's id).
        DRIFT = "drift",
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

/// How many NAT gateways the network runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NatMode {
    /// One NAT gateway per availability zone: zone failures stay contained (default).
    OnePerAz,
    /// A single NAT gateway in the first zone: cheaper, one egress IP.
    Single,
}

impl NatMode {
    /// How the `nat_gateways` attribute spells [`Self::OnePerAz`] (its default).
    pub const ONE_PER_AZ: &'static str = "one_per_az";
    /// How the `nat_gateways` attribute spells [`Self::Single`].
    pub const SINGLE: &'static str = "single";

    /// The mode a `nat_gateways` value names; `None` for anything else (case matters).
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            Self::ONE_PER_AZ => Some(Self::OnePerAz),
            Self::SINGLE => Some(Self::Single),
            _ => None,
        }
    }

    /// The `nat_gateways` value naming this mode, as state and import write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OnePerAz => Self::ONE_PER_AZ,
            Self::Single => Self::SINGLE,
        }
    }
}

/// The network as configured: everything needed to say what should exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSpec {
    /// The network's name: the `retool:network` tag, the prefix of every `Name` tag and of the
    /// security group names. Changing it replaces the network.
    pub name: String,
    /// The VPC's IPv4 block (a /16 to a /24), which the subnets of every zone are carved from.
    pub cidr_block: Ipv4Cidr,
    /// The zones the network spans (two or more), in configuration order: a zone's position
    /// decides its subnet blocks and its place in every output list.
    pub availability_zones: Vec<String>,
    /// How many NAT gateways run (`nat_gateways`).
    pub nat_mode: NatMode,
    /// The resource's `tags`.
    pub tags: BTreeMap<String, String>,
    /// The provider's `default_tags`; the resource's `tags` win over them.
    pub default_tags: BTreeMap<String, String>,
}

impl NetworkSpec {
    /// The configuration part of a planned or prior state. Fails on values that validation
    /// rejects, so it only fails on state written by something else.
    pub fn from_value(value: &Value, default_tags: &BTreeMap<String, String>) -> Result<Self, Error> {
        let invalid = |problem: String| Error::Invalid(problem);
        let text = |name: &str| {
            value
                .attr(name)
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| invalid(format!("`{name}` is not a known string")))
        };
        let cidr_text = text("cidr_block")?;
        let cidr_block = cidr_text.parse().map_err(|error: layout::CidrError| invalid(error.to_string()))?;
        let nat_text = text("nat_gateways")?;
        let nat_mode = NatMode::parse(&nat_text).ok_or_else(|| invalid(format!("`nat_gateways` is {nat_text:?}")))?;
        let availability_zones = value
            .attr("availability_zones")
            .elements()
            .and_then(|zones| zones.iter().map(|zone| zone.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>())
            .ok_or_else(|| invalid("`availability_zones` is not a known list of strings".into()))?;
        let mut diags = Diagnostics::new();
        let tags = string_map(value.attr("tags"), &AttributePath::root().attr("tags"), &mut diags);
        if diags.has_errors() {
            return Err(invalid("`tags` is not a map of strings".into()));
        }
        Ok(NetworkSpec {
            name: text("name")?,
            cidr_block,
            availability_zones,
            nat_mode,
            tags,
            default_tags: default_tags.clone(),
        })
    }

    /// Tag keys the `prior` state's configuration set and this one no longer does (unless a
    /// default tag still does): the keys an update removes from every object.
    pub fn retired_tags(&self, prior: &Value) -> Vec<String> {
        let Some(before) = prior.attr("tags").as_map() else { return Vec::new() };
        before
            .keys()
            .filter(|key| !self.tags.contains_key(*key) && !self.default_tags.contains_key(*key))
            .cloned()
            .collect()
    }

    /// The configuration attributes of this spec (its `tags` without the provider's defaults), as
    /// an import writes them.
    pub fn to_value(&self) -> Value {
        let tags = if self.tags.is_empty() {
            Value::Null
        } else {
            Value::map(self.tags.iter().map(|(key, value)| (key.clone(), Value::string(value))))
        };
        Value::object([
            ("name", Value::string(&self.name)),
            ("cidr_block", Value::string(self.cidr_block.to_string())),
            ("availability_zones", strings(&self.availability_zones)),
            ("nat_gateways", Value::string(self.nat_mode.as_str())),
            ("tags", tags),
        ])
    }
}

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

/// Ids and addresses the resource exposes. Lists follow the order of `availability_zones`; a
/// component that does not exist (yet) is simply absent, which is also how a partially created
/// network is reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkOutputs {
    /// The VPC id, also the resource's `id`; `None` only before a VPC exists.
    pub vpc_id: Option<String>,
    /// Ids of the public subnets that exist, one per zone.
    pub public_subnet_ids: Vec<String>,
    /// Ids of the private subnets that exist, one per zone.
    pub private_subnet_ids: Vec<String>,
    /// The attached internet gateway's id; `None` while there is none.
    pub internet_gateway_id: Option<String>,
    /// Ids of the live NAT gateways: one per zone, or one for `single`.
    pub nat_gateway_ids: Vec<String>,
    /// Public IPs of those NAT gateways, in the same order: where all outbound traffic leaves
    /// from.
    pub egress_ips: Vec<String>,
    /// Id of the `cluster` security group; `None` while it does not exist.
    pub cluster_security_group_id: Option<String>,
    /// Id of the `database` security group; `None` while it does not exist.
    pub database_security_group_id: Option<String>,
}

/// What of `spec` exists in `snapshot`: the outputs of a network as observed.
pub fn outputs(spec: &NetworkSpec, snapshot: &NetworkSnapshot) -> NetworkOutputs {
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

/// A list of strings as a Terraform value.
pub fn strings(items: &[String]) -> Value {
    Value::list(items.iter().map(Value::string).collect())
}

fn optional_string(item: &Option<String>) -> Value {
    item.as_ref().map_or(Value::Null, Value::string)
}

/// `base` (the configuration side) with the outputs and drift filled in.
pub fn with_outputs(base: &Value, outputs: &NetworkOutputs, drift: &[String]) -> Value {
    let mut state = base.clone();
    state.set_attr(attribute::ID, optional_string(&outputs.vpc_id));
    state.set_attr(attribute::VPC_ID, optional_string(&outputs.vpc_id));
    state.set_attr(attribute::PUBLIC_SUBNET_IDS, strings(&outputs.public_subnet_ids));
    state.set_attr(attribute::PRIVATE_SUBNET_IDS, strings(&outputs.private_subnet_ids));
    state.set_attr(attribute::INTERNET_GATEWAY_ID, optional_string(&outputs.internet_gateway_id));
    state.set_attr(attribute::NAT_GATEWAY_IDS, strings(&outputs.nat_gateway_ids));
    state.set_attr(attribute::EGRESS_IPS, strings(&outputs.egress_ips));
    state.set_attr(attribute::CLUSTER_SECURITY_GROUP_ID, optional_string(&outputs.cluster_security_group_id));
    state.set_attr(attribute::DATABASE_SECURITY_GROUP_ID, optional_string(&outputs.database_security_group_id));
    state.set_attr(attribute::DRIFT, strings(drift));
    state
}

/// The network's VPC id as recorded in a state.
pub fn vpc_id_of(state: &Value) -> Option<&str> {
    state.attr(attribute::VPC_ID).as_str().or_else(|| state.attr(attribute::ID).as_str())
}

/// The network's own private state: which outputs repairing the drift found by the last refresh
/// will change, so the plan marks exactly those "known after apply".
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Private {
    /// Names of the output attributes ([`attribute`]) that repairing the last refresh's drift
    /// replaces (a recreated subnet gets a new id); empty when there is no such drift, and in
    /// states written without this field.
    #[serde(default)]
    pub outputs_changed_by_drift: Vec<String>,
}

/// Private state as stored: the instance's ownership token beside [`Private`].
pub type PrivateState = OwnedPrivate<Private>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::network::fixture::{healthy, spec};
    use crate::resources::network::tests::{config, zones};

    const ZONES: [&str; 3] = ["us-east-1a", "us-east-1b", "us-east-1c"];

    #[test]
    fn state_round_trips_through_the_spec() {
        let state = config(&[
            ("cidr_block", Value::string("10.1.0.0/16")),
            ("availability_zones", zones(&["us-east-1a", "us-east-1b"])),
            ("nat_gateways", Value::string("single")),
            ("tags", Value::map([("team", Value::string("infra"))])),
        ]);
        let defaults = BTreeMap::from([("owner".to_string(), "platform".to_string())]);
        let spec = NetworkSpec::from_value(&state, &defaults).unwrap();
        assert_eq!(spec.nat_mode, NatMode::Single);
        assert_eq!(spec.cidr_block.to_string(), "10.1.0.0/16");
        assert_eq!(spec.tags_for(&Component::Vpc)["owner"], "platform");
        assert!(NetworkSpec::from_value(&config(&[]), &defaults).is_err());
    }

    #[test]
    fn outputs_fill_every_computed_attribute() {
        let outputs = NetworkOutputs {
            vpc_id: Some("vpc-1".into()),
            public_subnet_ids: vec!["subnet-1".into()],
            ..NetworkOutputs::default()
        };
        let state = with_outputs(&config(&[]), &outputs, &["x".to_string()]);
        assert_eq!(state.attr(attribute::ID).as_str(), Some("vpc-1"));
        assert_eq!(state.attr(attribute::PUBLIC_SUBNET_IDS), &strings(&["subnet-1".into()]));
        assert_eq!(state.attr(attribute::NAT_GATEWAY_IDS), &Value::list(Vec::new()));
        assert!(state.attr(attribute::INTERNET_GATEWAY_ID).is_null());
        assert_eq!(state.attr(attribute::DRIFT), &strings(&["x".into()]));
    }
    #[test]
    fn outputs_follow_zone_order() {
        let spec = spec(&ZONES, NatMode::OnePerAz);
        let mut snapshot = healthy(&spec);
        snapshot.subnets.reverse();
        let outputs = outputs(&spec, &snapshot);
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
        let outputs = outputs(&spec, &snapshot);
        assert_eq!(outputs.nat_gateway_ids, ["nat-us-east-1a"]);
        assert_eq!(outputs.egress_ips, ["203.0.113.1"]);
        assert_eq!(outputs.public_subnet_ids, ["subnet-public-us-east-1a", "subnet-public-us-east-1c"]);
        assert_eq!(outputs.database_security_group_id, None);
    }

    #[test]
    fn import_writes_the_configuration_back() {
        let original = spec(&ZONES, NatMode::Single);
        let value = original.to_value();
        assert_eq!(NetworkSpec::from_value(&value, &original.default_tags), Ok(original));
        assert!(
            NetworkSpec { tags: BTreeMap::new(), ..spec(&ZONES, NatMode::Single) }.to_value().attr("tags").is_null()
        );
    }

    #[test]
    fn tags_the_configuration_stopped_setting_are_retired_unless_a_default_sets_them() {
        let prior = config(&[(
            "tags",
            Value::map([("team", Value::string("a")), ("owner", Value::string("b")), ("env", Value::string("c"))]),
        )]);
        let spec = NetworkSpec { tags: BTreeMap::from([("env".into(), "d".into())]), ..spec(&ZONES, NatMode::Single) };
        assert_eq!(spec.retired_tags(&prior), ["team"]);
        assert_eq!(spec.retired_tags(&config(&[])), Vec::<String>::new());
    }
}
