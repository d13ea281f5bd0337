//! Teardown, in the order AWS's dependencies allow: NAT gateways (waiting until deleted, which
//! frees their addresses) → Elastic IPs → route table associations and tables → internet gateway
//! (detach, delete) → subnets → security groups → VPC.
//!
//! The VPC is dedicated to the network, so everything found in it goes. Anything already gone
//! counts as deleted, which makes destroy safe to re-run after an interruption and able to clean
//! up after a partial create. Deletes AWS refuses while it is still releasing dependencies (a
//! deleted NAT gateway's network interface, mapped public addresses) are repeated for a while.

use crate::aws::During;
use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::NatGatewayState;
use std::future::Future;

use super::observe::{observe, required, vpc_addresses};
use crate::aws::wait::{Backoff, Poll, RetryWhile, retry_while, wait_for};
use crate::aws::{absent_if_missing, ok_if_missing};
use crate::error::Error;
use crate::resources::network::desired::RuleSource;
use crate::resources::network::observed::{NatStatus, NetworkSnapshot};
use crate::stop::StopSignal;

/// Deletes the network in VPC `vpc_id` and everything in it.
pub async fn destroy(ec2: &Client, vpc_id: &str, stop: &StopSignal) -> Result<(), Error> {
    let Some(snap) = observe(ec2, vpc_id).await? else {
        tracing::debug!(vpc_id, "VPC already gone");
        return release_tagged_addresses(ec2, vpc_id, &[]).await;
    };
    let nat_ids: Vec<String> = snap
        .nat_gateways
        .iter()
        .filter(|nat| nat.status.is_live() || nat.status == NatStatus::Failed)
        .map(|nat| nat.id.clone())
        .collect();
    for id in &nat_ids {
        delete_nat_gateway(ec2, id).await?;
    }
    let waiting: Vec<String> = snap.nat_gateways.iter().map(|nat| nat.id.clone()).collect();
    if !waiting.is_empty() {
        wait_until_deleted(ec2, &waiting, stop).await?;
    }
    let nat_addresses: Vec<String> = snap.nat_gateways.iter().flat_map(|nat| nat.allocation_ids()).collect();
    release_tagged_addresses(ec2, vpc_id, &nat_addresses).await?;
    delete_route_tables(ec2, &snap).await?;
    for gateway in &snap.internet_gateways {
        tracing::debug!(internet_gateway_id = %gateway.id, "detaching and deleting internet gateway");
        once_released(stop, || async {
            ec2.detach_internet_gateway()
                .internet_gateway_id(&gateway.id)
                .vpc_id(vpc_id)
                .send()
                .await
                .during("DetachInternetGateway")
        })
        .await?;
        ok_if_missing(
            ec2.delete_internet_gateway().internet_gateway_id(&gateway.id).send().await.during("DeleteInternetGateway"),
        )?;
    }
    for subnet in &snap.subnets {
        tracing::debug!(subnet_id = %subnet.id, "deleting subnet");
        once_released(stop, || async { ec2.delete_subnet().subnet_id(&subnet.id).send().await.during("DeleteSubnet") })
            .await?;
    }
    delete_security_groups(ec2, &snap, stop).await?;
    tracing::debug!(vpc_id, "deleting VPC");
    once_released(stop, || async { ec2.delete_vpc().vpc_id(vpc_id).send().await.during("DeleteVpc") }).await
}

/// Repeats `call` while AWS still releases what depended on the object; already gone is fine.
async fn once_released<T, F, Fut>(stop: &StopSignal, call: F) -> Result<(), Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    ok_if_missing(retry_while(RetryWhile::DEPENDENCIES_RELEASING, stop, call).await)
}

/// Deletes one NAT gateway; already gone is fine.
pub async fn delete_nat_gateway(ec2: &Client, id: &str) -> Result<(), Error> {
    tracing::debug!(nat_gateway_id = id, "deleting NAT gateway");
    ok_if_missing(ec2.delete_nat_gateway().nat_gateway_id(id).send().await.during("DeleteNatGateway"))
}

/// Waits until every NAT gateway in `ids` is deleted (or unknown to AWS).
pub async fn wait_until_deleted(ec2: &Client, ids: &[String], stop: &StopSignal) -> Result<(), Error> {
    wait_for("WaitNatGatewayDeleted", Backoff::NAT_GATEWAY, stop, || async {
        let described = ec2.describe_nat_gateways().set_nat_gateway_ids(Some(ids.to_vec())).send().await;
        let Some(found) = absent_if_missing(described.during("DescribeNatGateways"))? else {
            return Ok(Poll::Ready(()));
        };
        let remaining: Vec<String> = found
            .nat_gateways()
            .iter()
            .filter(|nat| !matches!(nat.state(), Some(NatGatewayState::Deleted) | Some(NatGatewayState::Failed)))
            .map(|nat| {
                let id = required(nat.nat_gateway_id(), "DescribeNatGateways", "NatGateway.NatGatewayId")?;
                Ok(format!("{id} {}", nat.state().map(|s| s.as_str()).unwrap_or("in an unknown state")))
            })
            .collect::<Result<_, Error>>()?;
        Ok(if remaining.is_empty() { Poll::Ready(()) } else { Poll::Pending(remaining.join(", ")) })
    })
    .await
}

/// Releases one Elastic IP; already released is fine.
pub async fn release_address(ec2: &Client, allocation_id: &str) -> Result<(), Error> {
    tracing::debug!(allocation_id, "releasing Elastic IP");
    ok_if_missing(ec2.release_address().allocation_id(allocation_id).send().await.during("ReleaseAddress"))
}

/// Releases the network's Elastic IPs: those tagged with the VPC, and `also` (addresses seen on
/// its NAT gateways, in case their tags were removed).
async fn release_tagged_addresses(ec2: &Client, vpc_id: &str, also: &[String]) -> Result<(), Error> {
    let tagged = vpc_addresses(ec2, vpc_id, None).await?;
    let mut allocations: Vec<String> = tagged
        .iter()
        .map(|address| required(address.allocation_id(), "DescribeAddresses", "Address.AllocationId"))
        .collect::<Result<_, _>>()?;
    allocations.extend(also.iter().cloned());
    allocations.sort_unstable();
    allocations.dedup();
    for allocation in allocations {
        release_address(ec2, &allocation).await?;
    }
    Ok(())
}

async fn delete_route_tables(ec2: &Client, snap: &NetworkSnapshot) -> Result<(), Error> {
    // The main table goes with the VPC; AWS refuses to delete it on its own.
    for table in snap.route_tables.iter().filter(|table| !table.main) {
        for association in &table.associations {
            ok_if_missing(
                ec2.disassociate_route_table()
                    .association_id(&association.id)
                    .send()
                    .await
                    .during("DisassociateRouteTable"),
            )?;
        }
        tracing::debug!(route_table_id = %table.id, "deleting route table");
        ok_if_missing(ec2.delete_route_table().route_table_id(&table.id).send().await.during("DeleteRouteTable"))?;
    }
    Ok(())
}

async fn delete_security_groups(ec2: &Client, snap: &NetworkSnapshot, stop: &StopSignal) -> Result<(), Error> {
    // The default group goes with the VPC. Rules naming other groups are revoked first, or AWS
    // refuses to delete a group another one still references.
    let groups: Vec<_> = snap.security_groups.iter().filter(|group| group.name != "default").collect();
    for group in &groups {
        let referencing: Vec<_> = group
            .ingress
            .iter()
            .filter(|rule| matches!(rule.source, RuleSource::SecurityGroup(_)))
            .map(super::permission)
            .collect();
        if !referencing.is_empty() {
            ok_if_missing(
                ec2.revoke_security_group_ingress()
                    .group_id(&group.id)
                    .set_ip_permissions(Some(referencing))
                    .send()
                    .await
                    .during("RevokeSecurityGroupIngress"),
            )?;
        }
    }
    for group in groups {
        tracing::debug!(group_id = %group.id, "deleting security group");
        once_released(stop, || async {
            ec2.delete_security_group().group_id(&group.id).send().await.during("DeleteSecurityGroup")
        })
        .await?;
    }
    Ok(())
}
