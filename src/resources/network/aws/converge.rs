//! Converge: one routine for create, update and drift repair.
//!
//! It compares what exists (a fresh snapshot) with what the configuration wants and makes the
//! difference, in dependency order: VPC and its DNS settings, internet gateway, subnets, Elastic
//! IPs and NAT gateways (waiting until available), route tables with their routes and subnet
//! associations, security groups and their rules; then removes NAT gateways that are no longer
//! wanted, once no route uses them. Create is converging from nothing; an update or a repair is
//! converging from what is there.
//!
//! Every object is created with its tags in the same call, among them the instance's ownership
//! mark (`retool:owner`, see [`crate::resources::ownership`]), and pieces are found by those tags
//! before anything is created, so running the engine again after a failure finishes the job
//! without duplicates. A VPC that carries the network's name but not this instance's mark is never
//! taken over: the engine stops before touching anything ([`Unfinished::refused`]). NAT gateways and
//! route tables carry a client token, which makes the SDK's own retries of their creates
//! idempotent; the creates EC2 offers no token for (VPC, internet gateway, subnet, Elastic IP,
//! security group) go through [`create_once`]: never repeated blind after an unanswered request,
//! but only once what they would have made is not found by its ownership mark.

use crate::aws::During;
use std::collections::BTreeMap;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{AttributeBooleanValue, DomainType, NatGatewayState, ResourceType, Tag};

use super::observe::{self, observe, required};
use super::{destroy, filter, permission, tag_map};
use crate::aws::clients::single_attempt;
use crate::aws::ok_if_missing;
use crate::aws::tags::{ec2_tagging, ec2_tags, tag_changes};
use crate::aws::wait::{Backoff, Poll, RetryWhile, create_once, retry_while, wait_for};
use crate::error::{AwsError, Error};
use crate::framework::StopSignal;
use crate::resources::network::desired::{
    COMPONENT_TAG, Component, IngressRule, NETWORK_TAG, VPC_TAG, cluster_ingress, database_ingress,
};
use crate::resources::network::drift::DEFAULT_ROUTE;
use crate::resources::network::model::NetworkSpec;
use crate::resources::network::observed::{NatStatus, NetworkSnapshot, RouteTarget, Tags};
use crate::resources::ownership::{Claim, OWNER_TAG, OwnerToken};

/// The Elastic IP a new NAT gateway gets.
#[derive(Debug)]
enum EgressAddress {
    /// Associated with nothing: AWS accepts it at once.
    Free(String),
    /// Still associated with a NAT gateway being deleted: AWS refuses it until that one is gone.
    Releasing(String),
}

/// A converge that did not finish: the error, and the VPC if this instance has one by then (from
/// which the caller reads back the partial state it records).
#[derive(Debug)]
pub struct Unfinished {
    /// The network's VPC, when it exists; never a VPC of another instance.
    pub vpc_id: Option<String>,
    /// Why the converge stopped: the failed AWS call, a wait that timed out, a stop request, or
    /// the refusal described by [`Self::refused`].
    pub error: Error,
    /// Set when a create found a VPC with the network's name that this instance did not make; the
    /// engine touched nothing.
    pub refused: Option<Refused>,
}

/// A VPC that carries the network's name but not this instance's ownership mark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The VPC tagged as this network's (`retool:network` = its name), which the refusal offers
    /// as the import id.
    pub vpc_id: String,
    /// Whose the VPC is instead: another instance's ([`Claim::Foreign`]) or nobody's
    /// ([`Claim::Unmarked`]); never [`Claim::Ours`].
    pub claim: Claim,
}

/// Brings the network in AWS to `spec`, every object marked as `owner`'s. `vpc_id` is the
/// network's VPC when it is known (update, repair); without it the VPC is looked up by its name
/// tag and resumed when `owner` made it (refused when someone else did), else created.
/// `retired_tags` are tag keys the configuration used to set and no longer does, removed from
/// every object. Returns the snapshot taken after the last change.
pub async fn converge(
    ec2: &Client,
    spec: &NetworkSpec,
    owner: &OwnerToken,
    vpc_id: Option<&str>,
    retired_tags: &[String],
    stop: &StopSignal,
) -> Result<NetworkSnapshot, Unfinished> {
    let vpc_id = match vpc_id {
        Some(id) => id.to_owned(),
        None => ensure_vpc(ec2, spec, owner, stop).await?,
    };
    let run = Run { ec2, spec, owner, vpc_id: &vpc_id, retired_tags, stop };
    run.all().await.map_err(|error| Unfinished { vpc_id: Some(vpc_id.clone()), error, refused: None })
}

/// The network's VPC: the one `owner` made earlier (a create interrupted after the VPC existed
/// resumes with it), else a new one; a VPC with the name that another instance made, or that
/// nobody marked, is refused.
async fn ensure_vpc(
    ec2: &Client,
    spec: &NetworkSpec,
    owner: &OwnerToken,
    stop: &StopSignal,
) -> Result<String, Unfinished> {
    let failed = |error| Unfinished { vpc_id: None, error, refused: None };
    let named = observe::vpcs_named(ec2, &spec.name).await.map_err(failed)?;
    if let Some((id, _)) = named.iter().find(|(_, tags)| owner.claim(tags).is_ours()) {
        tracing::debug!(vpc_id = %id, "resuming with the network's existing VPC");
        return Ok(id.clone());
    }
    if let Some((id, tags)) = named.into_iter().next() {
        let claim = owner.claim(&tags);
        tracing::debug!(vpc_id = %id, ?claim, "a VPC with the network's name belongs to someone else");
        let error = Error::Invalid(format!(
            "VPC {id} already carries the network name {:?} and was not created by this resource",
            spec.name
        ));
        return Err(Unfinished { vpc_id: None, error, refused: Some(Refused { vpc_id: id, claim }) });
    }
    let tags = owner.mark(spec.tags_for(&Component::Vpc));
    let send = || async {
        let created = ec2
            .create_vpc()
            .cidr_block(spec.cidr_block.to_string())
            .tag_specifications(ec2_tagging(ResourceType::Vpc, &tags))
            .customize()
            .config_override(single_attempt())
            .send()
            .await
            .during("CreateVpc")?;
        required(created.vpc().and_then(|vpc| vpc.vpc_id()), "CreateVpc", "Vpc.VpcId")
    };
    let find = || async {
        let named = observe::vpcs_named(ec2, &spec.name).await?;
        Ok(named.into_iter().find(|(_, tags)| owner.claim(tags).is_ours()).map(|(id, _)| id))
    };
    let id = create_once("CreateVpc", stop, send, find).await.map_err(failed)?;
    tracing::debug!(vpc_id = %id, "created VPC");
    Ok(id)
}

/// Sends `$call` (CreateRoute or ReplaceRoute, whose request builders share no trait) for the
/// default route of table `$table` to `$target`, retried while the table or target is new.
macro_rules! default_route {
    ($run:expr, $call:ident($operation:literal), $table:expr, $target:expr) => {
        retry_while(RetryWhile::JUST_CREATED, $run.stop, || async {
            let request = $run.ec2.$call().route_table_id($table).destination_cidr_block(DEFAULT_ROUTE);
            let request = match $target {
                RouteTarget::NatGateway(nat) => request.nat_gateway_id(nat),
                RouteTarget::InternetGateway(gateway) | RouteTarget::Other(gateway) => request.gateway_id(gateway),
                RouteTarget::Local => request.gateway_id("local"),
            };
            request.send().await.map(|_| ()).during($operation)
        })
        .await
    };
}

/// Sends `$request`, the create call of an EC2 object of resource type `$kind`, tagged as
/// `$component`'s, and reads the new object's id from the response (`$response`) with `$id`,
/// reported as `$field` when AWS leaves it out.
macro_rules! create_tagged {
    (
        $run:expr, $component:expr, $request:expr, $kind:ident, $operation:literal,
        |$response:ident| $id:expr, $field:literal
    ) => {{
        let $response = $request
            .tag_specifications(ec2_tagging(ResourceType::$kind, &$run.tags_for($component)))
            .send()
            .await
            .during($operation)?;
        required($id, $operation, $field)
    }};
}

struct Run<'a> {
    ec2: &'a Client,
    spec: &'a NetworkSpec,
    owner: &'a OwnerToken,
    vpc_id: &'a str,
    retired_tags: &'a [String],
    stop: &'a StopSignal,
}

/// Backoff for reads that AWS's eventual consistency may briefly miss (a VPC just created).
const CONSISTENCY: Backoff = Backoff {
    initial: std::time::Duration::from_millis(500),
    max: std::time::Duration::from_secs(4),
    timeout: std::time::Duration::from_secs(60),
};

impl Run<'_> {
    /// Every tag `component` must carry, the ownership mark included.
    fn tags_for(&self, component: &Component) -> Tags {
        self.owner.mark(self.spec.tags_for(component))
    }

    async fn all(&self) -> Result<NetworkSnapshot, Error> {
        let snap = self.snapshot_when_visible().await?;
        if snap.vpc.cidr_block != self.spec.cidr_block.to_string() {
            return Err(Error::unexpected(
                "CreateVpc",
                format!(
                    "VPC {} of network {:?} has CIDR block {}, not {}; it cannot be changed in place",
                    self.vpc_id, self.spec.name, snap.vpc.cidr_block, self.spec.cidr_block
                ),
            ));
        }
        self.vpc_settings(&snap).await?;
        let igw_id = self.internet_gateway(&snap).await?;
        let zones = self.spec.zones().map_err(|error| Error::unexpected("PlanSubnets", error.to_string()))?;

        let mut public_subnets = BTreeMap::new();
        let mut private_subnets = BTreeMap::new();
        for zone in &zones {
            let public = Component::PublicSubnet(zone.name.clone());
            public_subnets
                .insert(zone.name.clone(), self.subnet(&snap, &public, &zone.name, zone.subnets.public, true).await?);
            let private = Component::PrivateSubnet(zone.name.clone());
            private_subnets.insert(
                zone.name.clone(),
                self.subnet(&snap, &private, &zone.name, zone.subnets.private, false).await?,
            );
        }

        let nat_ids = self.nat_gateways(&snap, &public_subnets).await?;

        let public_table =
            self.route_table(&snap, &Component::PublicRouteTable, &RouteTarget::InternetGateway(igw_id)).await?;
        for subnet in public_subnets.values() {
            self.associate(&snap, subnet, &public_table).await?;
        }
        for zone in &zones {
            let nat = self
                .spec
                .nat_zone_for(&zone.name)
                .and_then(|nat_zone| nat_ids.get(nat_zone))
                .ok_or_else(|| Error::unexpected("CreateRoute", format!("no NAT gateway serves {}", zone.name)))?;
            let component = Component::PrivateRouteTable(zone.name.clone());
            let table = self.route_table(&snap, &component, &RouteTarget::NatGateway(nat.clone())).await?;
            if let Some(subnet) = private_subnets.get(&zone.name) {
                self.associate(&snap, subnet, &table).await?;
            }
        }

        let cluster = self
            .security_group(
                &snap,
                &Component::ClusterSecurityGroup,
                "Retool cluster: traffic within the cluster and from the VPC",
            )
            .await?;
        self.sync_ingress(&cluster.0, &cluster.1, &cluster_ingress(&cluster.0, self.spec.cidr_block)).await?;
        let database = self
            .security_group(
                &snap,
                &Component::DatabaseSecurityGroup,
                "Retool database: PostgreSQL from the cluster only",
            )
            .await?;
        self.sync_ingress(&database.0, &database.1, &database_ingress(&cluster.0)).await?;

        self.remove_surplus_nat_gateways(&snap).await?;
        self.mark_addresses().await?;
        observe(self.ec2, self.vpc_id).await?.ok_or_else(|| {
            Error::unexpected("DescribeVpcs", format!("VPC {} disappeared during the apply", self.vpc_id))
        })
    }

    async fn snapshot_when_visible(&self) -> Result<NetworkSnapshot, Error> {
        wait_for("DescribeVpcs", CONSISTENCY, self.stop, || async {
            Ok(match observe(self.ec2, self.vpc_id).await? {
                Some(snap) => Poll::Ready(snap),
                None => Poll::Pending(format!("VPC {} not found", self.vpc_id)),
            })
        })
        .await
    }

    /// Adds the tags `component` lacks (or has with other values) to an existing object, and
    /// removes retired ones.
    async fn ensure_tags(&self, component: &Component, id: &str, actual: &Tags) -> Result<(), Error> {
        let wanted = self.tags_for(component);
        // Tags nobody configured stay (EKS, cost tools and people add their own); only retired
        // keys go.
        let (missing, _) = tag_changes(actual, &wanted);
        if !missing.is_empty() {
            tracing::debug!(id, keys = ?missing.keys().collect::<Vec<_>>(), "retagging");
            self.ec2
                .create_tags()
                .resources(id)
                .set_tags(Some(ec2_tags(&missing)))
                .send()
                .await
                .during("CreateTags")?;
        }
        let retired: Vec<Tag> = self
            .retired_tags
            .iter()
            .filter(|key| actual.contains_key(*key) && !wanted.contains_key(*key))
            .map(|key| Tag::builder().key(key).build())
            .collect();
        if !retired.is_empty() {
            tracing::debug!(id, count = retired.len(), "removing retired tags");
            self.ec2.delete_tags().resources(id).set_tags(Some(retired)).send().await.during("DeleteTags")?;
        }
        Ok(())
    }

    async fn vpc_settings(&self, snap: &NetworkSnapshot) -> Result<(), Error> {
        let on = || Some(AttributeBooleanValue::builder().value(true).build());
        // ModifyVpcAttribute changes one attribute a call: (enabled now, log line, support, hostnames).
        let settings = [
            (snap.vpc.dns_support, "enabling DNS support", on(), None),
            (snap.vpc.dns_hostnames, "enabling DNS hostnames", None, on()),
        ];
        for (enabled, action, support, hostnames) in settings {
            if !enabled {
                tracing::debug!(vpc_id = self.vpc_id, "{action}");
                self.ec2
                    .modify_vpc_attribute()
                    .vpc_id(self.vpc_id)
                    .set_enable_dns_support(support)
                    .set_enable_dns_hostnames(hostnames)
                    .send()
                    .await
                    .during("ModifyVpcAttribute")?;
            }
        }
        self.ensure_tags(&Component::Vpc, self.vpc_id, &snap.vpc.tags).await
    }

    async fn internet_gateway(&self, snap: &NetworkSnapshot) -> Result<String, Error> {
        let component = Component::InternetGateway;
        if let Some(gateway) = snap.internet_gateway() {
            self.ensure_tags(&component, &gateway.id, &gateway.tags).await?;
            return Ok(gateway.id.clone());
        }
        // A gateway this instance created in an interrupted run but never attached, else a new one.
        let id = match self.detached_internet_gateway().await? {
            Some(id) => id,
            None => {
                let tags = self.tags_for(&component);
                let send = || async {
                    let created = self
                        .ec2
                        .create_internet_gateway()
                        .tag_specifications(ec2_tagging(ResourceType::InternetGateway, &tags))
                        .customize()
                        .config_override(single_attempt())
                        .send()
                        .await
                        .during("CreateInternetGateway")?;
                    let id = created.internet_gateway().and_then(|gateway| gateway.internet_gateway_id());
                    required(id, "CreateInternetGateway", "InternetGateway.InternetGatewayId")
                };
                create_once("CreateInternetGateway", self.stop, send, || self.detached_internet_gateway()).await?
            }
        };
        tracing::debug!(internet_gateway_id = %id, vpc_id = self.vpc_id, "attaching internet gateway");
        retry_while(RetryWhile::JUST_CREATED, self.stop, || async {
            self.ec2
                .attach_internet_gateway()
                .internet_gateway_id(&id)
                .vpc_id(self.vpc_id)
                .send()
                .await
                .during("AttachInternetGateway")
        })
        .await?;
        Ok(id)
    }

    /// An internet gateway of this network and instance that is attached to nothing.
    async fn detached_internet_gateway(&self) -> Result<Option<String>, Error> {
        let tagged = self
            .ec2
            .describe_internet_gateways()
            .filters(filter(&format!("tag:{NETWORK_TAG}"), [&self.spec.name]))
            .filters(filter(&format!("tag:{COMPONENT_TAG}"), [Component::InternetGateway.tag_value()]))
            .filters(filter(&format!("tag:{OWNER_TAG}"), [self.owner.as_str()]))
            .send()
            .await
            .during("DescribeInternetGateways")?;
        Ok(tagged
            .internet_gateways()
            .iter()
            .find(|gateway| gateway.attachments().is_empty())
            .and_then(|gateway| gateway.internet_gateway_id())
            .map(str::to_owned))
    }

    async fn subnet(
        &self,
        snap: &NetworkSnapshot,
        component: &Component,
        zone: &str,
        cidr: crate::resources::network::layout::Ipv4Cidr,
        public: bool,
    ) -> Result<String, Error> {
        let (id, maps_public_ips) = match snap.subnet(component, zone, cidr) {
            Some(subnet) => {
                self.ensure_tags(component, &subnet.id, &subnet.tags).await?;
                (subnet.id.clone(), subnet.map_public_ip_on_launch)
            }
            None => {
                let tags = self.tags_for(component);
                let send = || async {
                    let created = self
                        .ec2
                        .create_subnet()
                        .vpc_id(self.vpc_id)
                        .cidr_block(cidr.to_string())
                        .availability_zone(zone)
                        .tag_specifications(ec2_tagging(ResourceType::Subnet, &tags))
                        .customize()
                        .config_override(single_attempt())
                        .send()
                        .await
                        .during("CreateSubnet")?;
                    required(created.subnet().and_then(|subnet| subnet.subnet_id()), "CreateSubnet", "Subnet.SubnetId")
                };
                let find = || async {
                    let found = self
                        .ec2
                        .describe_subnets()
                        .filters(filter("vpc-id", [self.vpc_id]))
                        .filters(filter("cidr-block", [&cidr.to_string()]))
                        .filters(filter(&format!("tag:{OWNER_TAG}"), [self.owner.as_str()]))
                        .send()
                        .await
                        .during("DescribeSubnets")?;
                    Ok(found.subnets().first().and_then(|subnet| subnet.subnet_id()).map(str::to_owned))
                };
                let id = create_once("CreateSubnet", self.stop, send, find).await?;
                tracing::debug!(subnet_id = %id, zone, public, "created subnet");
                (id, false)
            }
        };
        if maps_public_ips != public {
            retry_while(RetryWhile::JUST_CREATED, self.stop, || async {
                self.ec2
                    .modify_subnet_attribute()
                    .subnet_id(&id)
                    .map_public_ip_on_launch(AttributeBooleanValue::builder().value(public).build())
                    .send()
                    .await
                    .during("ModifySubnetAttribute")
            })
            .await?;
        }
        Ok(id)
    }

    /// One live NAT gateway per NAT zone, in that zone's public subnet; returns zone → id.
    async fn nat_gateways(
        &self,
        snap: &NetworkSnapshot,
        public_subnets: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, Error> {
        let mut ids = BTreeMap::new();
        let mut created = Vec::new();
        for zone in self.spec.nat_zones() {
            let component = Component::NatGateway(zone.clone());
            let subnet = public_subnets
                .get(zone)
                .ok_or_else(|| Error::unexpected("CreateNatGateway", format!("no public subnet in {zone}")))?;
            let existing = snap.nat_gateway(zone, Some(subnet));
            if let Some(nat) = existing.filter(|nat| nat.subnet_id == *subnet) {
                self.ensure_tags(&component, &nat.id, &nat.tags).await?;
                ids.insert(zone.clone(), nat.id.clone());
                continue;
            }
            // Replace a gateway in the wrong subnet or one that failed.
            let broken =
                existing.or_else(|| snap.nat_gateway_any_status(zone).filter(|nat| nat.status == NatStatus::Failed));
            if let Some(nat) = broken {
                destroy::delete_nat_gateway(self.ec2, &nat.id).await?;
            }
            let address = self.elastic_ip(snap, zone).await?;
            let id = match address {
                EgressAddress::Free(allocation_id) => {
                    let id = self.create_nat_gateway(subnet, &allocation_id, &component).await?;
                    created.push(id.clone());
                    id
                }
                // AWS refuses the address (the call, or the new gateway fails) until the old
                // gateway lets go of it: try again until it does, one gateway at a time.
                EgressAddress::Releasing(allocation_id) => {
                    retry_while(RetryWhile::ADDRESS_RELEASING, self.stop, || async {
                        let id = self.create_nat_gateway(subnet, &allocation_id, &component).await?;
                        match self.wait_until_available(std::slice::from_ref(&id)).await {
                            Err(error) if error.is_address_in_use() => {
                                destroy::delete_nat_gateway(self.ec2, &id).await?;
                                Err(error)
                            }
                            waited => waited.map(|()| id),
                        }
                    })
                    .await?
                }
            };
            ids.insert(zone.clone(), id);
        }
        if !created.is_empty() {
            self.wait_until_available(&created).await?;
        }
        Ok(ids)
    }

    /// Creates the NAT gateway playing `component` in `subnet` with Elastic IP `allocation_id`;
    /// returns its id (the gateway is still pending).
    async fn create_nat_gateway(
        &self,
        subnet: &str,
        allocation_id: &str,
        component: &Component,
    ) -> Result<String, Error> {
        // One token for every attempt: a repeated request returns the gateway the first made.
        let token = uuid::Uuid::new_v4().to_string();
        let response = retry_while(RetryWhile::JUST_CREATED, self.stop, || async {
            self.ec2
                .create_nat_gateway()
                .subnet_id(subnet)
                .allocation_id(allocation_id)
                .client_token(&token)
                .tag_specifications(ec2_tagging(ResourceType::Natgateway, &self.tags_for(component)))
                .send()
                .await
                .during("CreateNatGateway")
        })
        .await?;
        let id = required(
            response.nat_gateway().and_then(|nat| nat.nat_gateway_id()),
            "CreateNatGateway",
            "NatGateway.NatGatewayId",
        )?;
        tracing::debug!(nat_gateway_id = %id, subnet, allocation_id, "created NAT gateway");
        Ok(id)
    }

    /// The Elastic IP for the NAT gateway of `zone`. Customers allowlist these addresses, so a
    /// zone keeps its address for as long as the network exists: the zone's tagged address is
    /// reused when no live gateway holds it — also while AWS still shows it associated with a
    /// gateway that is being (or has been) deleted, the case of a gateway repaired after it was
    /// deleted by hand. Only a zone without an address of its own gets a new one.
    async fn elastic_ip(&self, snap: &NetworkSnapshot, zone: &str) -> Result<EgressAddress, Error> {
        let component = Component::ElasticIp(zone.to_owned());
        let in_use: Vec<String> =
            snap.nat_gateways.iter().filter(|nat| nat.status.is_live()).flat_map(|nat| nat.allocation_ids()).collect();
        if let Some(address) = self.zone_address(&component, &in_use).await? {
            return Ok(address);
        }
        let mut tags = self.tags_for(&component);
        tags.insert(VPC_TAG.into(), self.vpc_id.to_owned());
        let send = || async {
            let allocated = self
                .ec2
                .allocate_address()
                .domain(DomainType::Vpc)
                .tag_specifications(ec2_tagging(ResourceType::ElasticIp, &tags))
                .customize()
                .config_override(single_attempt())
                .send()
                .await
                .during("AllocateAddress")?;
            required(allocated.allocation_id(), "AllocateAddress", "AllocationId").map(EgressAddress::Free)
        };
        let find = || async {
            let found = self.zone_address(&component, &in_use).await?;
            Ok(found.filter(|address| matches!(address, EgressAddress::Free(_))))
        };
        let address = create_once("AllocateAddress", self.stop, send, find).await?;
        tracing::debug!(?address, zone, "allocated Elastic IP");
        Ok(address)
    }

    /// The address of `component`'s zone that no live gateway in `in_use` holds: free, or held by
    /// a gateway that is being (or has been) deleted.
    async fn zone_address(&self, component: &Component, in_use: &[String]) -> Result<Option<EgressAddress>, Error> {
        let tagged = observe::vpc_addresses(self.ec2, self.vpc_id, Some(component)).await?;
        let mut associated = Vec::new();
        for address in &tagged {
            let allocation = required(address.allocation_id(), "DescribeAddresses", "Address.AllocationId")?;
            if in_use.contains(&allocation) {
                continue;
            }
            if address.association_id().is_none() {
                tracing::debug!(allocation_id = %allocation, ?component, "reusing Elastic IP");
                return Ok(Some(EgressAddress::Free(allocation)));
            }
            associated.push(allocation);
        }
        if !associated.is_empty() {
            let gone = observe::nat_gateways_in(self.ec2, self.vpc_id, &["deleting", "deleted"]).await?;
            let releasing = gone.iter().flat_map(|nat| nat.allocation_ids()).find(|id| associated.contains(id));
            if let Some(allocation) = releasing {
                tracing::debug!(allocation_id = %allocation, ?component, "reusing Elastic IP of a deleted NAT gateway");
                return Ok(Some(EgressAddress::Releasing(allocation)));
            }
        }
        Ok(None)
    }

    async fn wait_until_available(&self, ids: &[String]) -> Result<(), Error> {
        wait_for("WaitNatGatewayAvailable", Backoff::NAT_GATEWAY, self.stop, || async {
            let found = self
                .ec2
                .describe_nat_gateways()
                .set_nat_gateway_ids(Some(ids.to_vec()))
                .send()
                .await
                .during("DescribeNatGateways")?;
            let mut waiting = Vec::new();
            for nat in found.nat_gateways() {
                let id = required(nat.nat_gateway_id(), "DescribeNatGateways", "NatGateway.NatGatewayId")?;
                match nat.state() {
                    Some(NatGatewayState::Available) => {}
                    Some(NatGatewayState::Pending) | None => waiting.push(format!("{id} pending")),
                    Some(state) => {
                        let message = format!(
                            "NAT gateway {id} is {}: {}",
                            state.as_str(),
                            nat.failure_message().unwrap_or("no reason given")
                        );
                        return Err(match nat.failure_code() {
                            Some(code) => AwsError::coded("CreateNatGateway", code, &message).into(),
                            None => Error::unexpected("CreateNatGateway", message),
                        });
                    }
                }
            }
            Ok(if waiting.is_empty() { Poll::Ready(()) } else { Poll::Pending(waiting.join(", ")) })
        })
        .await
    }

    /// The route table playing `component`, with its default route sent to `target` and nothing
    /// but the local route besides; returns its id.
    async fn route_table(
        &self,
        snap: &NetworkSnapshot,
        component: &Component,
        target: &RouteTarget,
    ) -> Result<String, Error> {
        let (id, routes) = match snap.route_table(component) {
            Some(table) => {
                self.ensure_tags(component, &table.id, &table.tags).await?;
                (table.id.clone(), table.routes.clone())
            }
            None => {
                let id = create_tagged!(
                    self,
                    component,
                    self.ec2.create_route_table().vpc_id(self.vpc_id),
                    RouteTable,
                    "CreateRouteTable",
                    |created| created.route_table().and_then(|table| table.route_table_id()),
                    "RouteTable.RouteTableId"
                )?;
                tracing::debug!(route_table_id = %id, component = %component.tag_value(), "created route table");
                (id, Vec::new())
            }
        };
        for route in
            routes.iter().filter(|route| route.destination != DEFAULT_ROUTE && route.target != RouteTarget::Local)
        {
            tracing::debug!(route_table_id = %id, destination = %route.destination, "deleting unexpected route");
            let request = self.ec2.delete_route().route_table_id(&id);
            let request = if route.destination.starts_with("pl-") {
                request.destination_prefix_list_id(&route.destination)
            } else if route.destination.contains(':') {
                request.destination_ipv6_cidr_block(&route.destination)
            } else {
                request.destination_cidr_block(&route.destination)
            };
            ok_if_missing(request.send().await.during("DeleteRoute"))?;
        }
        match routes.iter().find(|route| route.destination == DEFAULT_ROUTE) {
            Some(route) if route.target == *target => {}
            Some(_) => {
                tracing::debug!(route_table_id = %id, "re-pointing default route");
                default_route!(self, replace_route("ReplaceRoute"), &id, target)?;
            }
            None => {
                let created = default_route!(self, create_route("CreateRoute"), &id, target);
                match created {
                    Err(error) if !error.is_duplicate() => return Err(error),
                    _ => {}
                }
            }
        }
        Ok(id)
    }

    async fn associate(&self, snap: &NetworkSnapshot, subnet_id: &str, table_id: &str) -> Result<(), Error> {
        match snap.association_of(subnet_id) {
            Some((table, _)) if table.id == table_id => Ok(()),
            Some((_, association)) => {
                tracing::debug!(subnet_id, route_table_id = table_id, "moving subnet to its route table");
                self.ec2
                    .replace_route_table_association()
                    .association_id(&association.id)
                    .route_table_id(table_id)
                    .send()
                    .await
                    .map(|_| ())
                    .during("ReplaceRouteTableAssociation")
            }
            None => {
                tracing::debug!(subnet_id, route_table_id = table_id, "associating subnet");
                retry_while(RetryWhile::JUST_CREATED, self.stop, || async {
                    self.ec2
                        .associate_route_table()
                        .subnet_id(subnet_id)
                        .route_table_id(table_id)
                        .send()
                        .await
                        .map(|_| ())
                        .during("AssociateRouteTable")
                })
                .await
            }
        }
    }

    /// The security group playing `component` and its current ingress rules.
    async fn security_group(
        &self,
        snap: &NetworkSnapshot,
        component: &Component,
        description: &str,
    ) -> Result<(String, Vec<IngressRule>), Error> {
        if let Some(group) = snap.security_group(component, self.spec) {
            self.ensure_tags(component, &group.id, &group.tags).await?;
            return Ok((group.id.clone(), group.ingress.clone()));
        }
        let name = self.spec.security_group_name(component);
        let tags = self.tags_for(component);
        let send = || async {
            let created = self
                .ec2
                .create_security_group()
                .vpc_id(self.vpc_id)
                .group_name(&name)
                .description(description)
                .tag_specifications(ec2_tagging(ResourceType::SecurityGroup, &tags))
                .customize()
                .config_override(single_attempt())
                .send()
                .await
                .during("CreateSecurityGroup")?;
            required(created.group_id(), "CreateSecurityGroup", "GroupId")
        };
        let find = || async {
            let found = self
                .ec2
                .describe_security_groups()
                .filters(filter("vpc-id", [self.vpc_id]))
                .filters(filter("group-name", [&name]))
                .filters(filter(&format!("tag:{OWNER_TAG}"), [self.owner.as_str()]))
                .send()
                .await
                .during("DescribeSecurityGroups")?;
            Ok(found.security_groups().first().and_then(|group| group.group_id()).map(str::to_owned))
        };
        let id = create_once("CreateSecurityGroup", self.stop, send, find).await?;
        tracing::debug!(group_id = %id, component = %component.tag_value(), "created security group");
        Ok((id, Vec::new()))
    }

    /// Authorizes the rules the group lacks and revokes the ones nobody asked for.
    async fn sync_ingress(&self, group_id: &str, actual: &[IngressRule], wanted: &[IngressRule]) -> Result<(), Error> {
        let missing: Vec<_> = wanted.iter().filter(|rule| !actual.contains(rule)).map(permission).collect();
        if !missing.is_empty() {
            tracing::debug!(group_id, rules = missing.len(), "authorizing ingress");
            let authorized = retry_while(RetryWhile::JUST_CREATED, self.stop, || async {
                self.ec2
                    .authorize_security_group_ingress()
                    .group_id(group_id)
                    .set_ip_permissions(Some(missing.clone()))
                    .send()
                    .await
                    .during("AuthorizeSecurityGroupIngress")
            })
            .await;
            match authorized {
                Err(error) if !error.is_duplicate() => return Err(error),
                _ => {}
            }
        }
        let surplus: Vec<_> = actual.iter().filter(|rule| !wanted.contains(rule)).map(permission).collect();
        if !surplus.is_empty() {
            tracing::debug!(group_id, rules = surplus.len(), "revoking unexpected ingress");
            self.ec2
                .revoke_security_group_ingress()
                .group_id(group_id)
                .set_ip_permissions(Some(surplus))
                .send()
                .await
                .during("RevokeSecurityGroupIngress")?;
        }
        Ok(())
    }

    /// Marks the network's Elastic IPs as this instance's. Addresses live outside the VPC and are
    /// not in the snapshot; those allocated before ownership marks get theirs here.
    async fn mark_addresses(&self) -> Result<(), Error> {
        let tagged = observe::vpc_addresses(self.ec2, self.vpc_id, None).await?;
        let unmarked: Vec<String> = tagged
            .iter()
            .filter(|address| !self.owner.claim(&tag_map(address.tags())).is_ours())
            .map(|address| required(address.allocation_id(), "DescribeAddresses", "Address.AllocationId"))
            .collect::<Result<_, _>>()?;
        if unmarked.is_empty() {
            return Ok(());
        }
        tracing::debug!(addresses = ?unmarked, "marking Elastic IPs");
        self.ec2
            .create_tags()
            .set_resources(Some(unmarked))
            .tags(Tag::builder().key(OWNER_TAG).value(self.owner.as_str()).build())
            .send()
            .await
            .map(|_| ())
            .during("CreateTags")
    }

    /// Deletes NAT gateways no zone uses any more (after switching to `single`), once routes no
    /// longer point at them, and releases their Elastic IPs.
    async fn remove_surplus_nat_gateways(&self, snap: &NetworkSnapshot) -> Result<(), Error> {
        let surplus: Vec<_> = snap.surplus_nat_gateways(self.spec).collect();
        if surplus.is_empty() {
            return Ok(());
        }
        for nat in &surplus {
            destroy::delete_nat_gateway(self.ec2, &nat.id).await?;
        }
        let ids: Vec<String> = surplus.iter().map(|nat| nat.id.clone()).collect();
        destroy::wait_until_deleted(self.ec2, &ids, self.stop).await?;
        let allocations: Vec<String> = surplus.iter().flat_map(|nat| nat.allocation_ids()).collect();
        for allocation in allocations {
            destroy::release_address(self.ec2, &allocation).await?;
        }
        Ok(())
    }
}
