//! Drift: every way the network in AWS differs from what its configuration says, as findings a
//! person can read in a plan ("NAT gateway for us-east-1a is missing").
//!
//! Refresh stores the findings in the computed `drift` attribute. A non-empty list makes the next
//! plan show `drift` going back to `[]`, and applying that plan runs the same converge step as
//! create ([`super::aws::converge`]), which repairs every finding. Detection is a pure function of
//! the configuration and a [`NetworkSnapshot`].

use std::collections::BTreeSet;

use super::desired::{Component, IngressRule, cluster_ingress, database_ingress};
use super::model::{NetworkSpec, attribute};
use super::observed::{NetworkSnapshot, RouteTarget, Tags, component_of};
use crate::resources::ownership::{Claim, OWNER_TAG, OwnerToken};

/// Destination of the default route every route table of the network carries.
pub const DEFAULT_ROUTE: &str = "0.0.0.0/0";

/// One difference between configuration and AWS, about one network component.
pub type Drift = crate::resources::drift::Drift<Component>;
pub use crate::resources::drift::DriftKind;
use crate::resources::drift::tag_differences;

/// Every difference between `spec` and `snapshot`, in a stable order (VPC, internet gateway,
/// subnets, NAT gateways, route tables, security groups).
pub fn detect(spec: &NetworkSpec, snapshot: &NetworkSnapshot) -> Vec<Drift> {
    let mut found = Vec::new();
    let vpc = Component::Vpc;
    let vpc_state = &snapshot.vpc;
    if !vpc_state.dns_support {
        found.push(Drift::new(&vpc, DriftKind::Setting, format!("({}) has DNS resolution disabled", vpc_state.id)));
    }
    if !vpc_state.dns_hostnames {
        found.push(Drift::new(&vpc, DriftKind::Setting, format!("({}) has DNS hostnames disabled", vpc_state.id)));
    }
    check_tags(spec, &vpc, &vpc_state.id, &vpc_state.tags, &mut found);

    let igw = snapshot.internet_gateway();
    match igw {
        None => found.push(Drift::new(&Component::InternetGateway, DriftKind::Missing, "is missing")),
        Some(gateway) => check_tags(spec, &Component::InternetGateway, &gateway.id, &gateway.tags, &mut found),
    }

    let Ok(zones) = spec.zones() else {
        // The configuration is validated before it gets here; an impossible layout has no subnets
        // to compare against.
        return found;
    };
    let mut public_subnet_ids = Vec::new();
    for zone in &zones {
        for (component, cidr, public) in [
            (Component::PublicSubnet(zone.name.clone()), zone.subnets.public, true),
            (Component::PrivateSubnet(zone.name.clone()), zone.subnets.private, false),
        ] {
            let Some(subnet) = snapshot.subnet(&component, &zone.name, cidr) else {
                found.push(Drift::new(&component, DriftKind::Missing, "is missing"));
                continue;
            };
            if public {
                public_subnet_ids.push((zone.name.as_str(), subnet.id.as_str()));
            }
            if subnet.map_public_ip_on_launch != public {
                let state = if subnet.map_public_ip_on_launch { "assigns" } else { "does not assign" };
                found.push(Drift::new(
                    &component,
                    DriftKind::Setting,
                    format!("({}) {state} public IPs on launch", subnet.id),
                ));
            }
            check_tags(spec, &component, &subnet.id, &subnet.tags, &mut found);
        }
    }

    let public_subnet_of = |zone: &str| public_subnet_ids.iter().find(|(name, _)| *name == zone).map(|(_, id)| *id);
    for zone in spec.nat_zones() {
        let component = Component::NatGateway(zone.clone());
        match snapshot.nat_gateway(zone, public_subnet_of(zone)) {
            Some(nat) => {
                if let Some(subnet) = public_subnet_of(zone).filter(|subnet| *subnet != nat.subnet_id) {
                    found.push(Drift::new(
                        &component,
                        DriftKind::Broken,
                        format!(
                            "({}) sits in {}, not in public subnet {subnet}, and will be replaced",
                            nat.id, nat.subnet_id
                        ),
                    ));
                }
                check_tags(spec, &component, &nat.id, &nat.tags, &mut found);
            }
            None => match snapshot.nat_gateway_any_status(zone) {
                Some(nat) => found.push(Drift::new(
                    &component,
                    DriftKind::Broken,
                    format!("({}) is {} and will be replaced", nat.id, nat.status),
                )),
                None => found.push(Drift::new(&component, DriftKind::Missing, "is missing")),
            },
        }
    }
    for nat in snapshot.surplus_nat_gateways(spec) {
        if let Some(component) = component_of(&nat.tags) {
            found.push(Drift::new(
                &component,
                DriftKind::Surplus,
                format!("({}) is not needed and will be deleted", nat.id),
            ));
        }
    }

    let public_table = Component::PublicRouteTable;
    let igw_target = igw.map(|gateway| RouteTarget::InternetGateway(gateway.id.clone()));
    check_route_table(spec, snapshot, &public_table, igw_target.as_ref(), &mut found);
    for zone in &zones {
        let table = Component::PrivateRouteTable(zone.name.clone());
        let nat_target = spec
            .nat_zone_for(&zone.name)
            .and_then(|nat_zone| snapshot.nat_gateway(nat_zone, public_subnet_of(nat_zone)))
            .map(|nat| RouteTarget::NatGateway(nat.id.clone()));
        check_route_table(spec, snapshot, &table, nat_target.as_ref(), &mut found);
    }
    for zone in &zones {
        for (subnet_component, cidr, table_component) in [
            (Component::PublicSubnet(zone.name.clone()), zone.subnets.public, Component::PublicRouteTable),
            (
                Component::PrivateSubnet(zone.name.clone()),
                zone.subnets.private,
                Component::PrivateRouteTable(zone.name.clone()),
            ),
        ] {
            let (Some(subnet), Some(table)) =
                (snapshot.subnet(&subnet_component, &zone.name, cidr), snapshot.route_table(&table_component))
            else {
                continue;
            };
            match snapshot.association_of(&subnet.id) {
                Some((associated, _)) if associated.id == table.id => {}
                Some((associated, _)) => found.push(Drift::new(
                    &subnet_component,
                    DriftKind::Routing,
                    format!(
                        "({}) uses route table {} instead of the {table_component} ({})",
                        subnet.id, associated.id, table.id
                    ),
                )),
                None => found.push(Drift::new(
                    &subnet_component,
                    DriftKind::Routing,
                    format!("({}) is not associated with the {table_component} ({})", subnet.id, table.id),
                )),
            }
        }
    }

    let cluster = Component::ClusterSecurityGroup;
    let cluster_group = snapshot.security_group(&cluster, spec);
    match cluster_group {
        None => found.push(Drift::new(&cluster, DriftKind::Missing, "is missing")),
        Some(group) => {
            check_tags(spec, &cluster, &group.id, &group.tags, &mut found);
            check_rules(&cluster, &group.id, &group.ingress, &cluster_ingress(&group.id, spec.cidr_block), &mut found);
        }
    }
    let database = Component::DatabaseSecurityGroup;
    match snapshot.security_group(&database, spec) {
        None => found.push(Drift::new(&database, DriftKind::Missing, "is missing")),
        Some(group) => {
            check_tags(spec, &database, &group.id, &group.tags, &mut found);
            if let Some(cluster_group) = cluster_group {
                check_rules(&database, &group.id, &group.ingress, &database_ingress(&cluster_group.id), &mut found);
            }
        }
    }
    found
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

/// Every finding of a refresh: drift from the configuration, and objects without `owner`'s mark.
pub fn findings(spec: &NetworkSpec, owner: &OwnerToken, snapshot: &NetworkSnapshot) -> Vec<Drift> {
    let mut found = detect(spec, snapshot);
    found.extend(ownership(owner, snapshot));
    found
}

/// Objects of the network that do not carry `owner`'s ownership mark: made before ownership
/// marks, or re-tagged by hand. The next apply marks them. Only objects the network recognises as
/// its own (the VPC, and everything tagged with a `retool:component`) are checked.
pub fn ownership(owner: &OwnerToken, snapshot: &NetworkSnapshot) -> Vec<Drift> {
    let vpc = [(Some(Component::Vpc), &snapshot.vpc.id, &snapshot.vpc.tags)];
    let gateways =
        snapshot.internet_gateways.iter().map(|gateway| (component_of(&gateway.tags), &gateway.id, &gateway.tags));
    let subnets = snapshot.subnets.iter().map(|subnet| (component_of(&subnet.tags), &subnet.id, &subnet.tags));
    let nats = snapshot
        .nat_gateways
        .iter()
        .filter(|nat| nat.status.is_live())
        .map(|nat| (component_of(&nat.tags), &nat.id, &nat.tags));
    let tables = snapshot.route_tables.iter().map(|table| (component_of(&table.tags), &table.id, &table.tags));
    let groups = snapshot.security_groups.iter().map(|group| (component_of(&group.tags), &group.id, &group.tags));
    vpc.into_iter()
        .chain(gateways)
        .chain(subnets)
        .chain(nats)
        .chain(tables)
        .chain(groups)
        .filter_map(|(component, id, tags)| {
            let detail = match owner.claim(tags) {
                Claim::Ours => return None,
                Claim::Unmarked => format!("({id}) lacks the ownership tag {OWNER_TAG}"),
                Claim::Foreign(_) => format!("({id}) carries another resource's ownership tag {OWNER_TAG}"),
            };
            Some(Drift::new(&component?, DriftKind::Tags, detail))
        })
        .collect()
}

/// Tags the object lacks or carries with another value (see [`tag_differences`]).
fn check_tags(spec: &NetworkSpec, component: &Component, id: &str, actual: &Tags, found: &mut Vec<Drift>) {
    let differences = tag_differences(&spec.tags_for(component), actual);
    if !differences.is_empty() {
        found.push(Drift::new(component, DriftKind::Tags, format!("({id}) tags differ: {}", differences.join("; "))));
    }
}

/// The table exists, sends the default route to `target` (when that is known yet) and has no
/// routes of its own beyond that and the VPC's local route.
fn check_route_table(
    spec: &NetworkSpec,
    snapshot: &NetworkSnapshot,
    component: &Component,
    target: Option<&RouteTarget>,
    found: &mut Vec<Drift>,
) {
    let Some(table) = snapshot.route_table(component) else {
        found.push(Drift::new(component, DriftKind::Missing, "is missing"));
        return;
    };
    check_tags(spec, component, &table.id, &table.tags, found);
    let default_route = table.routes.iter().find(|route| route.destination == DEFAULT_ROUTE);
    match (default_route, target) {
        (None, _) => {
            found.push(Drift::new(component, DriftKind::Routing, format!("({}) has no default route", table.id)))
        }
        (Some(route), Some(wanted)) if route.target != *wanted => found.push(Drift::new(
            component,
            DriftKind::Routing,
            format!(
                "({}) sends {DEFAULT_ROUTE} to {}, expected {}",
                table.id,
                describe_target(&route.target),
                describe_target(wanted)
            ),
        )),
        _ => {}
    }
    for route in &table.routes {
        if route.destination != DEFAULT_ROUTE && route.target != RouteTarget::Local {
            found.push(Drift::new(
                component,
                DriftKind::Routing,
                format!(
                    "({}) has an unexpected route {} to {}",
                    table.id,
                    route.destination,
                    describe_target(&route.target)
                ),
            ));
        }
    }
}

/// How a finding names a route's target: `local`, or the id of the gateway (or other target).
fn describe_target(target: &RouteTarget) -> &str {
    match target {
        RouteTarget::Local => "local",
        RouteTarget::InternetGateway(id) | RouteTarget::NatGateway(id) | RouteTarget::Other(id) => id,
    }
}

/// Ingress rules the group lacks, and rules it has that nobody asked for.
fn check_rules(
    component: &Component,
    id: &str,
    actual: &[IngressRule],
    wanted: &[IngressRule],
    found: &mut Vec<Drift>,
) {
    for rule in wanted.iter().filter(|rule| !actual.contains(rule)) {
        found.push(Drift::new(component, DriftKind::Rules, format!("({id}) is missing ingress {rule}")));
    }
    for rule in actual.iter().filter(|rule| !wanted.contains(rule)) {
        found.push(Drift::new(component, DriftKind::Rules, format!("({id}) has unexpected ingress {rule}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::network::desired::RuleSource;
    use crate::resources::network::fixture::{healthy, spec};
    use crate::resources::network::model::NatMode;
    use crate::resources::network::observed::{NatStatus, RouteState, RouteTableState, SecurityGroupState};

    const ZONES: [&str; 2] = ["us-east-1a", "us-east-1b"];

    fn messages(found: &[Drift]) -> Vec<String> {
        found.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_network_built_as_configured_has_no_drift() {
        for mode in [NatMode::OnePerAz, NatMode::Single] {
            for zones in [&ZONES[..], &["eu-west-1a", "eu-west-1b", "eu-west-1c"][..]] {
                let spec = spec(zones, mode);
                assert_eq!(drift_against(&spec, &spec), Vec::<String>::new());
            }
        }
    }

    /// The drift of the two-zone network of `mode` once `change` has broken its healthy snapshot.
    fn drift_after(mode: NatMode, change: impl FnOnce(&mut NetworkSnapshot)) -> Vec<Drift> {
        let spec = spec(&ZONES, mode);
        let mut snapshot = healthy(&spec);
        change(&mut snapshot);
        detect(&spec, &snapshot)
    }

    /// The drift of a healthy network built as `built` configured, once the configuration says `now`.
    fn drift_against(built: &NetworkSpec, now: &NetworkSpec) -> Vec<String> {
        messages(&detect(now, &healthy(built)))
    }

    fn route_table<'a>(snapshot: &'a mut NetworkSnapshot, id: &str) -> &'a mut RouteTableState {
        snapshot.route_tables.iter_mut().find(|table| table.id == id).unwrap()
    }

    fn security_group<'a>(snapshot: &'a mut NetworkSnapshot, id: &str) -> &'a mut SecurityGroupState {
        snapshot.security_groups.iter_mut().find(|group| group.id == id).unwrap()
    }

    #[test]
    fn deleted_nat_gateway_is_missing_and_changes_identity() {
        let found =
            drift_after(NatMode::OnePerAz, |snapshot| snapshot.nat_gateways.retain(|nat| nat.id != "nat-us-east-1b"));
        assert_eq!(messages(&found), ["NAT gateway for us-east-1b is missing"]);
        assert!(found[0].changes_identity());
    }

    #[test]
    fn failed_nat_gateway_is_replaced() {
        let found = drift_after(NatMode::OnePerAz, |snapshot| snapshot.nat_gateways[0].status = NatStatus::Failed);
        // The private route still names the failed gateway; replacing the gateway re-points it, so
        // the route is not reported separately.
        assert_eq!(messages(&found), ["NAT gateway for us-east-1a (nat-us-east-1a) is failed and will be replaced"]);
        assert_eq!(found[0].kind, DriftKind::Broken);
        assert!(found[0].changes_identity());
    }

    #[test]
    fn changed_default_route_is_reported_with_both_targets() {
        let found = drift_after(NatMode::OnePerAz, |snapshot| {
            route_table(snapshot, "rtb-private-us-east-1a").routes[1].target =
                RouteTarget::InternetGateway("igw-1".into());
        });
        assert_eq!(
            messages(&found),
            [
                "private route table for us-east-1a (rtb-private-us-east-1a) sends 0.0.0.0/0 to igw-1, expected nat-us-east-1a"
            ]
        );
    }

    #[test]
    fn removed_default_route_and_extra_routes_are_reported() {
        let found = drift_after(NatMode::OnePerAz, |snapshot| {
            let table = route_table(snapshot, "rtb-public");
            table.routes.retain(|route| route.destination != DEFAULT_ROUTE);
            let extra = RouteState { destination: "192.168.0.0/16".into(), target: RouteTarget::Other("pcx-9".into()) };
            table.routes.push(extra);
        });
        assert_eq!(
            messages(&found),
            [
                "public route table (rtb-public) has no default route",
                "public route table (rtb-public) has an unexpected route 192.168.0.0/16 to pcx-9",
            ]
        );
    }

    #[test]
    fn extra_ingress_rule_is_unexpected_and_missing_rule_is_reported() {
        let found = drift_after(NatMode::OnePerAz, |snapshot| {
            let ssh = IngressRule::normalized("tcp", Some(22), Some(22), RuleSource::Cidr("0.0.0.0/0".into()));
            security_group(snapshot, "sg-database").ingress.push(ssh);
            security_group(snapshot, "sg-cluster").ingress.retain(|rule| !matches!(rule.source, RuleSource::Cidr(_)));
        });
        assert_eq!(
            messages(&found),
            [
                "cluster security group (sg-cluster) is missing ingress all traffic from 10.254.0.0/16",
                "database security group (sg-database) has unexpected ingress tcp 22 from 0.0.0.0/0",
            ]
        );
    }

    #[test]
    fn vpc_settings_subnet_settings_and_tags_drift() {
        let found = drift_after(NatMode::OnePerAz, |snapshot| {
            snapshot.vpc.dns_hostnames = false;
            snapshot.vpc.tags.insert("team".into(), "other".into());
            snapshot.subnets[0].map_public_ip_on_launch = false;
            snapshot.subnets[0].tags.insert("unrelated".into(), "kept".into());
            snapshot.internet_gateways[0].tags.remove("owner");
        });
        assert_eq!(
            messages(&found),
            [
                "VPC (vpc-1) has DNS hostnames disabled",
                "VPC (vpc-1) tags differ: team is \"other\", expected \"infra\"",
                "internet gateway (igw-1) tags differ: owner is missing, expected \"platform\"",
                "public subnet in us-east-1a (subnet-public-us-east-1a) does not assign public IPs on launch",
            ]
        );
    }

    #[test]
    fn missing_pieces_are_each_reported() {
        let found = drift_after(NatMode::Single, |snapshot| {
            snapshot.internet_gateways.clear();
            snapshot.subnets.retain(|subnet| subnet.id != "subnet-private-us-east-1b");
            snapshot.route_tables.retain(|table| table.id != "rtb-private-us-east-1a");
            snapshot.security_groups.retain(|group| group.id != "sg-database");
        });
        assert_eq!(
            messages(&found),
            [
                "internet gateway is missing",
                "private subnet in us-east-1b is missing",
                "private route table for us-east-1a is missing",
                "database security group is missing",
            ]
        );
        assert!(found.iter().all(Drift::changes_identity));
    }

    #[test]
    fn subnet_on_the_wrong_route_table_or_none_is_routing_drift() {
        // Move private subnet b to the public table, and drop private a's association entirely.
        let found = drift_after(NatMode::OnePerAz, |snapshot| {
            let moved = route_table(snapshot, "rtb-private-us-east-1b").associations.remove(0);
            route_table(snapshot, "rtb-public").associations.push(moved);
            route_table(snapshot, "rtb-private-us-east-1a").associations.clear();
        });
        assert_eq!(
            messages(&found),
            [
                "private subnet in us-east-1a (subnet-private-us-east-1a) is not associated with the private route table for us-east-1a (rtb-private-us-east-1a)",
                "private subnet in us-east-1b (subnet-private-us-east-1b) uses route table rtb-public instead of the private route table for us-east-1b (rtb-private-us-east-1b)",
            ]
        );
    }

    #[test]
    fn switching_to_a_single_nat_makes_the_others_surplus_and_reroutes() {
        let per_az = spec(&ZONES, NatMode::OnePerAz);
        let single = NetworkSpec { nat_mode: NatMode::Single, ..spec(&ZONES, NatMode::OnePerAz) };
        assert_eq!(
            drift_against(&per_az, &single),
            [
                "NAT gateway for us-east-1b (nat-us-east-1b) is not needed and will be deleted",
                "private route table for us-east-1b (rtb-private-us-east-1b) sends 0.0.0.0/0 to nat-us-east-1b, expected nat-us-east-1a",
            ]
        );
    }

    #[test]
    fn appended_zone_is_missing_its_pieces_and_nothing_else_moves() {
        let three = spec(&["us-east-1a", "us-east-1b", "us-east-1c"], NatMode::OnePerAz);
        assert_eq!(
            drift_against(&spec(&ZONES, NatMode::OnePerAz), &three),
            [
                "public subnet in us-east-1c is missing",
                "private subnet in us-east-1c is missing",
                "NAT gateway for us-east-1c is missing",
                "private route table for us-east-1c is missing",
            ]
        );
    }

    #[test]
    fn untagged_pieces_are_recognised_and_reported_as_tag_drift() {
        let found = drift_after(NatMode::OnePerAz, |snapshot| {
            snapshot.subnets[1].tags.clear();
            snapshot.security_groups[1].tags.clear();
        });
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().all(|drift| drift.kind == DriftKind::Tags));
        assert_eq!(found[0].component, Component::PrivateSubnet("us-east-1a".into()));
        assert_eq!(found[1].component, Component::ClusterSecurityGroup);
    }

    #[test]
    fn objects_without_this_instances_mark_are_reported_and_nothing_else() {
        let spec = spec(&ZONES, NatMode::Single);
        let owner = OwnerToken::generate();
        let mut snapshot = healthy(&spec);
        // A state written before ownership marks: every object of the network is unmarked; the
        // default security group and main route table are not the network's and are left out.
        let unmarked = ownership(&owner, &snapshot);
        assert_eq!(unmarked.len(), 1 + 1 + 4 + 1 + 3 + 2, "{unmarked:?}");
        assert!(unmarked.iter().all(|finding| finding.kind == DriftKind::Tags && !finding.changes_identity()));
        assert_eq!(unmarked[0].to_string(), "VPC (vpc-1) lacks the ownership tag retool:owner");

        let mark = |tags: &mut Tags| *tags = owner.mark(std::mem::take(tags));
        mark(&mut snapshot.vpc.tags);
        snapshot.internet_gateways.iter_mut().for_each(|gateway| mark(&mut gateway.tags));
        snapshot.subnets.iter_mut().for_each(|subnet| mark(&mut subnet.tags));
        snapshot.nat_gateways.iter_mut().for_each(|nat| mark(&mut nat.tags));
        snapshot.route_tables.iter_mut().for_each(|table| mark(&mut table.tags));
        snapshot.security_groups.iter_mut().for_each(|group| mark(&mut group.tags));
        assert_eq!(messages(&ownership(&owner, &snapshot)), Vec::<String>::new());
        assert_eq!(messages(&detect(&spec, &snapshot)), Vec::<String>::new(), "the mark is not configuration drift");

        snapshot.subnets[0].tags = OwnerToken::generate().mark(snapshot.subnets[0].tags.clone());
        assert_eq!(
            messages(&ownership(&owner, &snapshot)),
            [
                "public subnet in us-east-1a (subnet-public-us-east-1a) carries another resource's ownership tag retool:owner"
            ]
        );
    }

    #[test]
    fn repairs_that_recreate_objects_change_only_their_outputs() {
        let found = drift_after(NatMode::OnePerAz, |snapshot| {
            snapshot.nat_gateways.remove(1);
            snapshot.vpc.dns_hostnames = false;
            snapshot.security_groups[2].ingress.clear();
        });
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(outputs_changed_by(&found), BTreeSet::from([attribute::NAT_GATEWAY_IDS, attribute::EGRESS_IPS]));
    }
}
