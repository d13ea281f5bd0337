//! A snapshot of everything one VPC holds in the emulator, read through the EC2 API.
//!
//! The network acceptance tests compare this snapshot (what really exists) with Terraform's
//! outputs, and use it to find the objects they tamper with to simulate drift. NAT gateways
//! that are deleted or failed are left out: EC2 keeps listing them for a while after deletion.

use aws_sdk_ec2::types::{
    Address, Filter, InternetGateway, IpPermission, NatGateway, NatGatewayState, RouteTable, SecurityGroup, Subnet,
    Tag, Vpc, VpcAttributeName,
};

pub struct Inventory {
    pub vpc: Option<Vpc>,
    pub dns_support: bool,
    pub dns_hostnames: bool,
    pub subnets: Vec<Subnet>,
    pub internet_gateways: Vec<InternetGateway>,
    /// NAT gateways that are pending or available.
    pub nat_gateways: Vec<NatGateway>,
    pub route_tables: Vec<RouteTable>,
    pub security_groups: Vec<SecurityGroup>,
    /// Every Elastic IP in the emulator's region (the tests' emulators are private to them).
    pub addresses: Vec<Address>,
}

fn vpc_filter(name: &str, vpc_id: &str) -> Filter {
    Filter::builder().name(name).values(vpc_id).build()
}

impl Inventory {
    pub async fn read(ec2: &aws_sdk_ec2::Client, vpc_id: &str) -> Self {
        let vpc = ec2
            .describe_vpcs()
            .filters(vpc_filter("vpc-id", vpc_id))
            .send()
            .await
            .expect("DescribeVpcs")
            .vpcs()
            .first()
            .cloned();
        let (mut dns_support, mut dns_hostnames) = (false, false);
        if vpc.is_some() {
            dns_support = ec2
                .describe_vpc_attribute()
                .vpc_id(vpc_id)
                .attribute(VpcAttributeName::EnableDnsSupport)
                .send()
                .await
                .expect("DescribeVpcAttribute enableDnsSupport")
                .enable_dns_support()
                .and_then(|value| value.value())
                .unwrap_or(false);
            dns_hostnames = ec2
                .describe_vpc_attribute()
                .vpc_id(vpc_id)
                .attribute(VpcAttributeName::EnableDnsHostnames)
                .send()
                .await
                .expect("DescribeVpcAttribute enableDnsHostnames")
                .enable_dns_hostnames()
                .and_then(|value| value.value())
                .unwrap_or(false);
        }
        let subnets = ec2
            .describe_subnets()
            .filters(vpc_filter("vpc-id", vpc_id))
            .send()
            .await
            .expect("DescribeSubnets")
            .subnets()
            .to_vec();
        let internet_gateways = ec2
            .describe_internet_gateways()
            .filters(vpc_filter("attachment.vpc-id", vpc_id))
            .send()
            .await
            .expect("DescribeInternetGateways")
            .internet_gateways()
            .to_vec();
        let nat_gateways = ec2
            .describe_nat_gateways()
            .filter(vpc_filter("vpc-id", vpc_id))
            .send()
            .await
            .expect("DescribeNatGateways")
            .nat_gateways()
            .iter()
            .filter(|nat| matches!(nat.state(), Some(NatGatewayState::Available | NatGatewayState::Pending)))
            .cloned()
            .collect();
        let route_tables = ec2
            .describe_route_tables()
            .filters(vpc_filter("vpc-id", vpc_id))
            .send()
            .await
            .expect("DescribeRouteTables")
            .route_tables()
            .to_vec();
        let security_groups = ec2
            .describe_security_groups()
            .filters(vpc_filter("vpc-id", vpc_id))
            .send()
            .await
            .expect("DescribeSecurityGroups")
            .security_groups()
            .to_vec();
        let addresses = ec2.describe_addresses().send().await.expect("DescribeAddresses").addresses().to_vec();
        Self {
            vpc,
            dns_support,
            dns_hostnames,
            subnets,
            internet_gateways,
            nat_gateways,
            route_tables,
            security_groups,
            addresses,
        }
    }

    pub fn subnet(&self, subnet_id: &str) -> Option<&Subnet> {
        self.subnets.iter().find(|subnet| subnet.subnet_id() == Some(subnet_id))
    }

    pub fn nat_gateway(&self, nat_gateway_id: &str) -> Option<&NatGateway> {
        self.nat_gateways.iter().find(|nat| nat.nat_gateway_id() == Some(nat_gateway_id))
    }

    pub fn security_group(&self, group_id: &str) -> Option<&SecurityGroup> {
        self.security_groups.iter().find(|group| group.group_id() == Some(group_id))
    }

    /// The route table explicitly associated with `subnet_id`.
    pub fn route_table_of(&self, subnet_id: &str) -> Option<&RouteTable> {
        self.route_tables
            .iter()
            .find(|table| table.associations().iter().any(|association| association.subnet_id() == Some(subnet_id)))
    }

    /// Availability zone of the subnet a NAT gateway sits in.
    pub fn nat_gateway_zone(&self, nat_gateway_id: &str) -> Option<String> {
        let nat = self.nat_gateway(nat_gateway_id)?;
        self.subnet(nat.subnet_id()?)?.availability_zone().map(str::to_owned)
    }

    /// Public IPs of the live NAT gateways.
    pub fn nat_public_ips(&self) -> Vec<String> {
        let mut ips: Vec<String> = self
            .nat_gateways
            .iter()
            .flat_map(|nat| nat.nat_gateway_addresses().iter().filter_map(|address| address.public_ip()))
            .map(str::to_owned)
            .collect();
        ips.sort();
        ips
    }
}

/// The default IPv4 route (`0.0.0.0/0`) of a route table, as (gateway id, NAT gateway id).
pub fn default_route(table: &RouteTable) -> Option<(Option<String>, Option<String>)> {
    table
        .routes()
        .iter()
        .find(|route| route.destination_cidr_block() == Some("0.0.0.0/0"))
        .map(|route| (route.gateway_id().map(str::to_owned), route.nat_gateway_id().map(str::to_owned)))
}

/// Value of tag `key` in an EC2 tag list.
pub fn tag<'a>(tags: &'a [Tag], key: &str) -> Option<&'a str> {
    tags.iter().find(|tag| tag.key() == Some(key)).and_then(|tag| tag.value())
}

/// Ingress rules flattened to one `(protocol, from, to, source)` per source, where a source is
/// a CIDR or a security group id, sorted for comparison.
pub fn ingress_rules(group: &SecurityGroup) -> Vec<(String, i32, i32, String)> {
    let mut rules: Vec<(String, i32, i32, String)> = group
        .ip_permissions()
        .iter()
        .flat_map(|permission: &IpPermission| {
            let protocol = permission.ip_protocol().unwrap_or_default().to_owned();
            let (from, to) = (permission.from_port().unwrap_or(-1), permission.to_port().unwrap_or(-1));
            let cidrs = permission.ip_ranges().iter().filter_map(|range| range.cidr_ip()).map(str::to_owned);
            let groups = permission.user_id_group_pairs().iter().filter_map(|pair| pair.group_id()).map(str::to_owned);
            cidrs.chain(groups).map(move |source| (protocol.clone(), from, to, source)).collect::<Vec<_>>()
        })
        .collect();
    rules.sort();
    rules
}
