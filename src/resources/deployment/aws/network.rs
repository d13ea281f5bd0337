//! What a deployment uses of its `retool_network`, read from EC2 by the network's VPC id with the
//! network module's own describe calls, and no more than it uses: the private subnets, the cluster
//! and database security groups (found by the network's `retool:component` tags) and the NAT
//! gateways' public IPs — three calls at once, where the network's own refresh makes eight.

use aws_sdk_ec2::Client;

use crate::aws::During;
use crate::error::Error;
use crate::resources::deployment::observed::NetworkView;
use crate::resources::network::aws::observe::{nat_gateways, security_groups, subnets};
use crate::resources::network::desired::{Component, NETWORK_TAG};
use crate::resources::network::observed::component_of;

/// Why a network cannot host a deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkProblem {
    /// No VPC with this id.
    Missing,
    /// The VPC lacks a piece a `retool_network` has.
    Incomplete(String),
    Aws(Error),
}

impl std::fmt::Display for NetworkProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing => f.write_str("no VPC with this id exists in the provider's account and region"),
            Self::Incomplete(what) => write!(f, "the VPC is not a complete retool_network: {what}"),
            Self::Aws(error) => error.fmt(f),
        }
    }
}

/// Reads the network in VPC `network_id`. Every VPC has a default security group that cannot be
/// deleted, so a VPC id with no security group at all names no VPC.
pub async fn read(ec2: &Client, network_id: &str) -> Result<NetworkView, NetworkProblem> {
    let read =
        tokio::try_join!(subnets(ec2, network_id), nat_gateways(ec2, network_id), security_groups(ec2, network_id));
    let (subnets, nat_gateways, security_groups) = match read {
        Ok((_, _, groups)) if groups.is_empty() => return Err(NetworkProblem::Missing),
        Ok(found) => found,
        Err(error) if error.is_not_found() => return Err(NetworkProblem::Missing),
        Err(error) => return Err(NetworkProblem::Aws(error)),
    };
    let mut private_subnet_ids: Vec<String> = subnets
        .iter()
        .filter(|subnet| matches!(component_of(&subnet.tags), Some(Component::PrivateSubnet(_))))
        .map(|subnet| subnet.id.clone())
        .collect();
    private_subnet_ids.sort();
    if private_subnet_ids.len() < 2 {
        return Err(NetworkProblem::Incomplete(format!(
            "{} private subnet(s) found, EKS needs two",
            private_subnet_ids.len()
        )));
    }
    let group = |component: Component| {
        security_groups
            .iter()
            .find(|group| component_of(&group.tags) == Some(component.clone()))
            .map(|group| group.id.clone())
            .ok_or_else(|| NetworkProblem::Incomplete(format!("no {} security group", component.tag_value())))
    };
    let mut egress_ips: Vec<String> = nat_gateways
        .iter()
        .filter(|nat| nat.status.is_live())
        .flat_map(|nat| nat.addresses.iter().filter_map(|address| address.public_ip.clone()))
        .collect();
    egress_ips.sort();
    Ok(NetworkView {
        vpc_id: network_id.to_owned(),
        private_subnet_ids,
        cluster_security_group_id: group(Component::ClusterSecurityGroup)?,
        database_security_group_id: group(Component::DatabaseSecurityGroup)?,
        egress_ips,
    })
}

/// Whether VPC `network_id` was made by a `retool_network` (it carries the network's name mark),
/// finished or not: an unfinished one is completed by its own resource's next apply.
pub async fn made_by_a_network(ec2: &Client, network_id: &str) -> Result<bool, Error> {
    let described = ec2.describe_vpcs().vpc_ids(network_id).send().await.during("DescribeVpcs")?;
    Ok(described.vpcs().iter().any(|vpc| vpc.tags().iter().any(|tag| tag.key() == Some(NETWORK_TAG))))
}
