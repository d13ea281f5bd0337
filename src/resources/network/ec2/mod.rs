//! The EC2 side of `retool_network`: refresh ([`describe`]), the reconcile engine that creates,
//! updates and repairs ([`reconcile`]), and teardown ([`destroy`]). Everything here talks to AWS;
//! every decision about *what* should exist comes from the pure modules next door.

pub mod describe;
pub mod destroy;
pub mod reconcile;

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{
    IpPermission, IpRange, Ipv6Range, PrefixListId, ResourceType, Tag, TagSpecification, UserIdGroupPair,
};

use super::desired::{IngressRule, RuleSource};

/// Tags in the SDK's shape.
fn aws_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().map(|(key, value)| Tag::builder().key(key).value(value).build()).collect()
}

/// Tags applied by the create call itself, so no object ever exists untagged (and a resumed create
/// can recognise it).
fn tagging(resource: ResourceType, tags: &BTreeMap<String, String>) -> TagSpecification {
    TagSpecification::builder().resource_type(resource).set_tags(Some(aws_tags(tags))).build()
}

/// One atomic rule as the permission AWS authorizes or revokes.
fn permission(rule: &IngressRule) -> IpPermission {
    let builder = IpPermission::builder()
        .ip_protocol(&rule.protocol)
        .set_from_port(rule.ports.map(|(from, _)| from))
        .set_to_port(rule.ports.map(|(_, to)| to));
    match &rule.source {
        RuleSource::Cidr(cidr) => builder.ip_ranges(IpRange::builder().cidr_ip(cidr).build()),
        RuleSource::Ipv6Cidr(cidr) => builder.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(cidr).build()),
        RuleSource::PrefixList(id) => builder.prefix_list_ids(PrefixListId::builder().prefix_list_id(id).build()),
        RuleSource::SecurityGroup(id) => builder.user_id_group_pairs(UserIdGroupPair::builder().group_id(id).build()),
    }
    .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_round_trip_through_the_describe_parser() {
        for rule in [
            IngressRule::all_traffic_from(RuleSource::SecurityGroup("sg-1".into())),
            IngressRule::all_traffic_from(RuleSource::Cidr("10.0.0.0/16".into())),
            IngressRule::normalized("tcp", Some(5432), Some(5432), RuleSource::SecurityGroup("sg-2".into())),
            IngressRule::normalized("udp", Some(53), Some(53), RuleSource::Ipv6Cidr("::/0".into())),
            IngressRule::normalized("tcp", Some(443), Some(443), RuleSource::PrefixList("pl-1".into())),
        ] {
            assert_eq!(describe::ingress_rules(&permission(&rule)), [rule]);
        }
    }
}
