//! The EC2 side of `retool_network`, in the three steps every resource has: [`observe`] (one
//! batch of Describe calls → the SDK-free [`super::observed::NetworkSnapshot`]), [`converge`] (the
//! engine that creates, updates and repairs) and [`destroy`]. Everything here talks to AWS; every
//! decision about *what* should exist comes from the pure modules next door.

pub mod converge;
pub mod destroy;
pub mod observe;

use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, Ipv6Range, PrefixListId, UserIdGroupPair};

use super::desired::{IngressRule, RuleSource};

/// An EC2 filter on `name` matching any of `values`.
pub(super) fn filter(name: &str, values: impl IntoIterator<Item = impl Into<String>>) -> Filter {
    values.into_iter().fold(Filter::builder().name(name), |builder, value| builder.values(value)).build()
}

/// An EC2 tag list as the sorted map the rest of the resource works with.
pub(super) fn tag_map(tags: &[aws_sdk_ec2::types::Tag]) -> crate::aws::Tags {
    crate::aws::tags::tag_map(tags.iter().map(|tag| (tag.key(), tag.value())))
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
            assert_eq!(observe::ingress_rules(&permission(&rule)), Ok(vec![rule]));
        }
    }
}
