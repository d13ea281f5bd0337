//! # `retool_network`
//!
//! The dedicated VPC a Retool deployment runs in, as one resource: a VPC with DNS support and
//! hostnames, a public and a private subnet in each availability zone (laid out by [`layout`]),
//! an internet gateway, NAT gateways with Elastic IPs (`egress_ips`, the addresses a customer
//! allowlists), route tables, and two security groups — `cluster` (all traffic between its
//! members and from inside the VPC) and `database` (PostgreSQL from the cluster group only).
//!
//! Refresh detects drift in every component ([`drift`]) and reports it in the computed `drift`
//! attribute; the next plan shows it going back to `[]` and applying repairs it. Name, CIDR block
//! and any change to the zones other than appending one replace the network; tags, appended
//! zones and the NAT mode are changed in place. Import takes a VPC id.
//!
//! Every object carries the instance's ownership mark ([`crate::resources::ownership`]), whose
//! token lives in private state: a create resumes on a VPC it made itself and refuses one with
//! the same name that another instance (another state) or a person made.
//!
//! This file reads like the resource's documentation page: schema, validation, plan, then
//! create/read/update/delete/import. AWS work lives in [`ec2`], decisions in the pure modules.

pub mod desired;
pub mod drift;
pub mod ec2;
pub mod layout;
pub mod outputs;
pub mod snapshot;
pub mod validators;

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod lifecycle_tests;
#[cfg(test)]
mod moto;

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::aws::AwsClients;
use crate::framework::plan_modifiers::{requires_replace, requires_replace_if, use_state_for_unknown};
use crate::framework::read::string_map;
use crate::framework::schema::{Attribute, Block};
use crate::framework::validators::{each_element, ipv4_cidr, one_of, size_between, unique_elements};
use crate::framework::{ApplyRequest, Diagnostics, PlanRequest, PlanResponse, Resource, ResourceContext, Schema};
use crate::value::{AttributePath, Type, Value};

use crate::resources::ownership::{self, OwnedPrivate, OwnerToken};
use desired::{NETWORK_TAG, NatMode, NetworkSpec};
use layout::{MAX_VPC_PREFIX, MAX_ZONES, MIN_VPC_PREFIX};
use outputs::{NetworkOutputs, attribute};

pub const TYPE_NAME: &str = "retool_network";
const DEFAULT_CIDR_BLOCK: &str = "10.254.0.0/16";
const DRIFT: &str = "drift";

/// The `retool_network` resource.
#[derive(Debug, Default)]
pub struct NetworkResource;

// ---------------------------------------------------------------------------------------------
// Schema
// ---------------------------------------------------------------------------------------------

fn schema() -> Schema {
    let strings = || Type::list(Type::String);
    let output = |name: &str, ty: Type, description: &str| {
        Attribute::new(name, ty).computed().description(description).plan_modifier(use_state_for_unknown())
    };
    Schema::new(
        0,
        Block::new(
            "The dedicated VPC of a Retool deployment: subnets in every zone, internet and NAT gateways, routes and \
             security groups, kept free of drift. Every object carries a `retool:owner` tag naming this resource \
             instance; a create that finds a VPC with the same `name` made by another instance (or by hand) refuses to \
             take it over and says how to import it.",
        )
        .attribute(
            Attribute::new("name", Type::String)
                .required()
                .description(
                    "Name of the network. Prefixes the `Name` tag of every object and the security group names, and is \
                     recorded in the `retool:network` tag. Changing it replaces the network.",
                )
                .validator(validators::network_name())
                .plan_modifier(requires_replace()),
        )
        .attribute(
            Attribute::new("cidr_block", Type::String)
                .optional()
                .computed()
                .default(Value::string(DEFAULT_CIDR_BLOCK))
                .description(format!(
                    "IPv4 block of the VPC, from /{MIN_VPC_PREFIX} to /{MAX_VPC_PREFIX}, host bits zero. Each zone gets a \
                     private subnet of one eighth and a public subnet of one sixteenth of it. Defaults to \
                     `{DEFAULT_CIDR_BLOCK}`. Changing it replaces the network."
                ))
                .validator(ipv4_cidr(MIN_VPC_PREFIX, MAX_VPC_PREFIX))
                .plan_modifier(requires_replace()),
        )
        .attribute(
            Attribute::new("availability_zones", strings())
                .optional()
                .computed()
                .description(format!(
                    "Availability zones to span, 2 to {MAX_ZONES}, in the provider's region. Defaults to the first two \
                     zones of the region. Appending a zone is done in place; any other change replaces the network."
                ))
                .validator(size_between(2, MAX_ZONES))
                .validator(unique_elements())
                .validator(each_element(validators::zone_name()))
                .plan_modifier(use_state_for_unknown())
                .plan_modifier(requires_replace_if(
                    "removing or reordering zones replaces the network; appending one does not",
                    |prior, planned| !is_append(prior, planned),
                )),
        )
        .attribute(
            Attribute::new("nat_gateways", Type::String)
                .optional()
                .computed()
                .default(Value::string(NatMode::ONE_PER_AZ))
                .description(
                    "`one_per_az` (default) runs a NAT gateway in every zone, so a zone outage stays in that zone; \
                     `single` runs one in the first zone, cheaper and with a single egress IP. Changed in place.",
                )
                .validator(one_of(&[NatMode::ONE_PER_AZ, NatMode::SINGLE])),
        )
        .attribute(
            Attribute::new("tags", Type::map(Type::String))
                .optional()
                .description("Tags for every object of the network, over the provider's `default_tags`. Changed in place."),
        )
        .attribute(output(attribute::ID, Type::String, "The VPC id, which also identifies the network for import."))
        .attribute(output(attribute::VPC_ID, Type::String, "The VPC id."))
        .attribute(output(attribute::PUBLIC_SUBNET_IDS, strings(), "Public subnet ids, in the order of `availability_zones`. Tagged `kubernetes.io/role/elb=1`."))
        .attribute(output(
            attribute::PRIVATE_SUBNET_IDS,
            strings(),
            "Private subnet ids, in the order of `availability_zones`. Tagged `kubernetes.io/role/internal-elb=1`.",
        ))
        .attribute(output(attribute::INTERNET_GATEWAY_ID, Type::String, "The internet gateway id."))
        .attribute(output(attribute::NAT_GATEWAY_IDS, strings(), "NAT gateway ids: one per zone, or one for `single`."))
        .attribute(output(
            attribute::EGRESS_IPS,
            strings(),
            "Public IPs (Elastic IPs of the NAT gateways) that all outbound traffic leaves from: the addresses to allowlist.",
        ))
        .attribute(output(
            attribute::CLUSTER_SECURITY_GROUP_ID,
            Type::String,
            "Security group for the cluster: all traffic from its members and from the VPC block.",
        ))
        .attribute(output(
            attribute::DATABASE_SECURITY_GROUP_ID,
            Type::String,
            "Security group for the database: PostgreSQL (5432) from the cluster group only.",
        ))
        .attribute(
            Attribute::new(DRIFT, strings())
                .computed()
                .description(
                    "Differences between this configuration and AWS found by the last refresh, one sentence each. \
                     Empty when the network is as configured; otherwise the next apply repairs them.",
                ),
        ),
    )
}

/// Whether `planned` is `prior` with zones added at the end.
fn is_append(prior: &Value, planned: &Value) -> bool {
    match (prior.elements(), planned.elements()) {
        (Some(before), Some(after)) => after.len() >= before.len() && after.get(..before.len()) == Some(before),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Reading values
// ---------------------------------------------------------------------------------------------

/// The configuration part of a planned or prior state, typed. Fails on values that validation
/// rejects, so it only fails on state written by something else.
fn spec_of(value: &Value, default_tags: &BTreeMap<String, String>) -> Result<NetworkSpec, String> {
    let text = |name: &str| {
        value.attr(name).as_str().map(str::to_owned).ok_or_else(|| format!("`{name}` is not a known string"))
    };
    let cidr_text = text("cidr_block")?;
    let cidr_block = cidr_text.parse().map_err(|error: layout::CidrError| error.to_string())?;
    let nat_text = text("nat_gateways")?;
    let nat_mode = NatMode::parse(&nat_text).ok_or_else(|| format!("`nat_gateways` is {nat_text:?}"))?;
    let availability_zones = value
        .attr("availability_zones")
        .elements()
        .and_then(|zones| zones.iter().map(|zone| zone.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>())
        .ok_or("`availability_zones` is not a known list of strings")?;
    let mut diags = Diagnostics::new();
    let tags = string_map(value.attr("tags"), &AttributePath::root().attr("tags"), &mut diags);
    if diags.has_errors() {
        return Err("`tags` is not a map of strings".into());
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

fn strings(items: &[String]) -> Value {
    Value::list(items.iter().map(Value::string).collect())
}

fn optional_string(item: &Option<String>) -> Value {
    item.as_ref().map_or(Value::Null, Value::string)
}

/// `base` (the configuration side) with the outputs and drift filled in.
fn with_outputs(base: &Value, outputs: &NetworkOutputs, drift: &[String]) -> Value {
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
    state.set_attr(DRIFT, strings(drift));
    state
}

/// Every finding of a refresh: drift from the configuration, and objects without `owner`'s mark.
fn findings(spec: &NetworkSpec, owner: &OwnerToken, snap: &snapshot::NetworkSnapshot) -> Vec<drift::Drift> {
    let mut found = drift::detect(spec, snap);
    found.extend(drift::ownership(owner, snap));
    found
}

fn vpc_id_of(state: &Value) -> Option<&str> {
    state.attr(attribute::VPC_ID).as_str().or_else(|| state.attr(attribute::ID).as_str())
}

/// The network's own private state: which outputs repairing the drift found by the last refresh
/// will change, so the plan marks exactly those "known after apply".
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Private {
    #[serde(default)]
    outputs_changed_by_drift: Vec<String>,
}

/// Private state as stored: the instance's ownership token beside [`Private`].
type PrivateState = OwnedPrivate<Private>;

// ---------------------------------------------------------------------------------------------
// The resource
// ---------------------------------------------------------------------------------------------

#[async_trait]
impl Resource<AwsClients> for NetworkResource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        validators::zones_share_a_region(
            config.attr("availability_zones"),
            &AttributePath::root().attr("availability_zones"),
            diags,
        );
    }

    async fn modify_plan(&self, client: Option<&AwsClients>, request: &PlanRequest<'_>, plan: &mut PlanResponse) {
        if request.is_destroy() {
            return;
        }
        let zones_path = AttributePath::root().attr("availability_zones");
        let zones = plan.planned.attr("availability_zones").clone();
        if let Some(client) = client {
            if request.config.attr("availability_zones").is_null() && zones.is_unknown() {
                // Only call to AWS while planning, and only when the zones are left to default.
                match ec2::describe::default_zones(client.ec2(), 2).await {
                    Ok(defaults) if defaults.len() == 2 => {
                        plan.planned.set_attr("availability_zones", strings(&defaults));
                    }
                    Ok(defaults) => plan.diagnostics.attribute_error(
                        zones_path,
                        "Not enough availability zones",
                        format!(
                            "Region {} offers {} availability zone(s); a network needs two.",
                            client.region(),
                            defaults.len()
                        ),
                    ),
                    Err(error) => plan.diagnostics.attribute_error(
                        zones_path,
                        "Could not list availability zones",
                        format!("{error}. Set availability_zones explicitly to plan without this call."),
                    ),
                }
            } else if zones.is_wholly_known() {
                validators::zones_in_region(&zones, client.region(), &zones_path, &mut plan.diagnostics);
            }
        }

        let replacing = !plan.requires_replace.is_empty();
        plan.planned.set_attr(DRIFT, Value::list(Vec::new()));
        if request.is_create() || replacing {
            for name in attribute::ALL {
                plan.planned.set_attr(name, Value::unknown());
            }
            return;
        }

        // In place: outputs keep their values unless this change (or repairing drift) makes
        // new objects.
        let prior = request.prior_state;
        for name in attribute::ALL {
            plan.planned.set_attr(name, prior.attr(name).clone());
        }
        let mut changing: Vec<&str> = PrivateState::decode(request.prior_private)
            .rest
            .outputs_changed_by_drift
            .iter()
            .filter_map(|name| attribute::ALL.iter().copied().find(|known| known == name))
            .collect();
        let planned_zones = plan.planned.attr("availability_zones");
        let nat_mode = plan.planned.attr("nat_gateways");
        if planned_zones != prior.attr("availability_zones") {
            changing.extend([attribute::PUBLIC_SUBNET_IDS, attribute::PRIVATE_SUBNET_IDS]);
            if nat_mode.as_str() != Some(NatMode::SINGLE) {
                changing.extend([attribute::NAT_GATEWAY_IDS, attribute::EGRESS_IPS]);
            }
        }
        if nat_mode != prior.attr("nat_gateways") {
            changing.extend([attribute::NAT_GATEWAY_IDS, attribute::EGRESS_IPS]);
        }
        for name in changing {
            plan.planned.set_attr(name, Value::unknown());
        }
    }

    async fn create(
        &self,
        ctx: &ResourceContext<AwsClients>,
        request: &ApplyRequest<'_>,
        private: &mut Vec<u8>,
        diags: &mut Diagnostics,
    ) -> Value {
        let planned = request.planned;
        let client = &ctx.client;
        let mut planned = planned.clone();
        if planned.attr("availability_zones").is_unknown() {
            match ec2::describe::default_zones(client.ec2(), 2).await {
                Ok(defaults) if defaults.len() == 2 => {
                    planned.set_attr("availability_zones", strings(&defaults));
                }
                Ok(_) => {
                    diags.error(
                        "Not enough availability zones",
                        format!("Region {} offers fewer than two.", client.region()),
                    );
                    return Value::Null;
                }
                Err(error) => {
                    diags.error("Could not list availability zones", error.to_string());
                    return Value::Null;
                }
            }
        }
        let spec = match spec_of(&planned, client.default_tags()) {
            Ok(spec) => spec,
            Err(problem) => {
                diags.error("Invalid planned network", problem);
                return Value::Null;
            }
        };
        // The token is made before anything exists and kept in the partial state of a failed
        // create, so every object carries it from its first call.
        let mut state = PrivateState::decode(private);
        let owner = state.owner_or_new();
        state.rest = Private::default();
        *private = state.encode();
        self.reconcile(client, &spec, &owner, None, &[], &planned, ctx, diags, "Creating the network failed").await
    }

    async fn read(
        &self,
        ctx: &ResourceContext<AwsClients>,
        state: &Value,
        private: &mut Vec<u8>,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let client = &ctx.client;
        let vpc_id = vpc_id_of(state)?;
        let spec = match spec_of(state, client.default_tags()) {
            Ok(spec) => spec,
            Err(problem) => {
                diags.error("Unreadable network state", problem);
                return Some(state.clone());
            }
        };
        let snap = match ec2::describe::snapshot(client.ec2(), vpc_id).await {
            Ok(Some(snap)) => snap,
            Ok(None) => {
                tracing::debug!(vpc_id, "network's VPC is gone; removing from state");
                return None;
            }
            Err(error) => {
                diags.error("Refreshing the network failed", error.to_string());
                return Some(state.clone());
            }
        };
        // A state written before ownership marks adopts the VPC's token, or gets one; the next
        // apply marks every object with it.
        let mut owned = PrivateState::decode(private);
        let owner = owned.owner.clone().or_else(|| outputs::recover_owner(&snap)).unwrap_or_else(OwnerToken::generate);
        let found = findings(&spec, &owner, &snap);
        owned.owner = Some(owner);
        owned.rest = Private {
            outputs_changed_by_drift: outputs::outputs_changed_by(&found).into_iter().map(str::to_owned).collect(),
        };
        *private = owned.encode();
        let mut refreshed = with_outputs(
            state,
            &outputs::observe(&spec, &snap),
            &found.iter().map(ToString::to_string).collect::<Vec<_>>(),
        );
        // The block itself cannot drift in place; reporting what AWS holds makes a mismatch plan
        // a replacement.
        refreshed.set_attr("cidr_block", Value::string(&snap.vpc.cidr_block));
        Some(refreshed)
    }

    async fn update(
        &self,
        ctx: &ResourceContext<AwsClients>,
        request: &ApplyRequest<'_>,
        private: &mut Vec<u8>,
        diags: &mut Diagnostics,
    ) -> Value {
        let (prior, planned) = (request.prior, request.planned);
        let client = &ctx.client;
        let spec = match spec_of(planned, client.default_tags()) {
            Ok(spec) => spec,
            Err(problem) => {
                diags.error("Invalid planned network", problem);
                return prior.clone();
            }
        };
        let Some(vpc_id) = vpc_id_of(prior) else {
            diags.error("Network state has no VPC id", "Remove the resource from state and import it by VPC id.");
            return prior.clone();
        };
        // Keys the configuration used to set and no longer sets (unless a default tag still does).
        let retired_tags: Vec<String> = prior
            .attr("tags")
            .as_map()
            .map(|tags| {
                tags.keys()
                    .filter(|key| !spec.tags.contains_key(*key) && !spec.default_tags.contains_key(*key))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let mut state = PrivateState::decode(private);
        let owner = state.owner_or_new();
        state.rest = Private::default();
        *private = state.encode();
        self.reconcile(
            client,
            &spec,
            &owner,
            Some(vpc_id),
            &retired_tags,
            planned,
            ctx,
            diags,
            "Updating the network failed",
        )
        .await
    }

    async fn delete(&self, ctx: &ResourceContext<AwsClients>, prior: &Value, diags: &mut Diagnostics) {
        let Some(vpc_id) = vpc_id_of(prior) else {
            return;
        };
        if let Err(error) = ec2::destroy::destroy(ctx.client.ec2(), vpc_id, &ctx.stop).await {
            diags.error(
                "Destroying the network failed",
                format!("{error}. Running destroy again continues where this stopped."),
            );
        }
    }

    async fn import(
        &self,
        ctx: &ResourceContext<AwsClients>,
        id: &str,
        private: &mut Vec<u8>,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        if !id.starts_with("vpc-") || id.len() < 5 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            diags.error(
                "Invalid import id",
                format!("{id:?} is not a VPC id; import a retool_network by its VPC id, e.g. vpc-0123456789abcdef0."),
            );
            return None;
        }
        let client = &ctx.client;
        let snap = match ec2::describe::snapshot(client.ec2(), id).await {
            Ok(Some(snap)) => snap,
            Ok(None) => {
                diags.error("VPC not found", format!("No VPC {id} in region {}.", client.region()));
                return None;
            }
            Err(error) => {
                diags.error("Reading the VPC failed", error.to_string());
                return None;
            }
        };
        let spec = match outputs::recover_spec(&snap, client.default_tags()) {
            Ok(spec) => spec,
            Err(error) => {
                diags.error("VPC cannot be imported as a retool_network", error.to_string());
                return None;
            }
        };
        let base = Value::object([
            ("name", Value::string(&spec.name)),
            ("cidr_block", Value::string(spec.cidr_block.to_string())),
            ("availability_zones", strings(&spec.availability_zones)),
            ("nat_gateways", Value::string(spec.nat_mode.as_str())),
            (
                "tags",
                if spec.tags.is_empty() {
                    Value::Null
                } else {
                    Value::map(spec.tags.iter().map(|(key, value)| (key.clone(), Value::string(value))))
                },
            ),
        ]);
        // Import is the one way to take a network over: it adopts the VPC's ownership token, or
        // makes one that the next apply writes to every object.
        let owner = outputs::recover_owner(&snap).unwrap_or_else(OwnerToken::generate);
        let found: Vec<String> = findings(&spec, &owner, &snap).iter().map(ToString::to_string).collect();
        *private = PrivateState { owner: Some(owner), rest: Private::default() }.encode();
        Some(with_outputs(&base, &outputs::observe(&spec, &snap), &found))
    }
}

impl NetworkResource {
    /// Runs the reconcile engine and turns its result into state: on success the planned values
    /// with the outputs; on failure whatever exists now (read back), with the error, so
    /// Terraform records every object already made.
    #[allow(clippy::too_many_arguments)]
    async fn reconcile(
        &self,
        client: &AwsClients,
        spec: &NetworkSpec,
        owner: &OwnerToken,
        vpc_id: Option<&str>,
        retired_tags: &[String],
        planned: &Value,
        ctx: &ResourceContext<AwsClients>,
        diags: &mut Diagnostics,
        failure_summary: &str,
    ) -> Value {
        match ec2::reconcile::reconcile(client.ec2(), spec, owner, vpc_id, retired_tags, &ctx.stop).await {
            Ok(snap) => {
                let residual = findings(spec, owner, &snap);
                if !residual.is_empty() {
                    let list: Vec<String> = residual.iter().map(ToString::to_string).collect();
                    diags.warning(
                        "Network not fully converged",
                        format!(
                            "AWS still differs after the apply; the next refresh will report it: {}",
                            list.join("; ")
                        ),
                    );
                }
                with_outputs(planned, &outputs::observe(spec, &snap), &[])
            }
            Err(failure) => {
                if let Some(refused) = failure.refused {
                    let object = format!("VPC {} ({NETWORK_TAG} = {})", refused.vpc_id, spec.name);
                    let (summary, detail) = ownership::refusal(&object, &refused.claim, TYPE_NAME, &refused.vpc_id);
                    diags.error(summary, detail);
                    return Value::Null;
                }
                diags.error(failure_summary, format!("{}. Applying again continues from what exists.", failure.error));
                let Some(vpc_id) = failure.vpc_id else {
                    return Value::Null;
                };
                let (observed, found) = match ec2::describe::snapshot(client.ec2(), &vpc_id).await {
                    Ok(Some(snap)) => (
                        outputs::observe(spec, &snap),
                        findings(spec, owner, &snap).iter().map(ToString::to_string).collect::<Vec<_>>(),
                    ),
                    _ => (NetworkOutputs { vpc_id: Some(vpc_id), ..NetworkOutputs::default() }, Vec::new()),
                };
                with_outputs(planned, &observed, &found)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::validate::validate_block;

    fn config(attributes: &[(&str, Value)]) -> Value {
        let mut value = Value::object([("name", Value::string("acme"))]);
        for (name, attribute) in attributes {
            value.set_attr(*name, attribute.clone());
        }
        value
    }

    fn zones(names: &[&str]) -> Value {
        Value::list(names.iter().map(|zone| Value::string(*zone)).collect())
    }

    /// Diagnostics from `terraform validate`: attribute validators, then the resource's own check.
    fn validate(config: &Value) -> Vec<String> {
        let schema = schema();
        let mut diags = Diagnostics::new();
        validate_block(&schema.block, config, &AttributePath::root(), &mut diags);
        NetworkResource.validate(config, &mut diags);
        diags.iter().filter_map(|d| d.path.as_ref().map(ToString::to_string)).collect()
    }

    #[test]
    fn schema_is_well_formed_and_fully_described() {
        schema().check_definition().unwrap();
        let block = schema().block;
        for name in ["name", "cidr_block", "availability_zones", "nat_gateways", "tags", DRIFT]
            .into_iter()
            .chain(attribute::ALL)
        {
            let found = block.find_attribute(name).unwrap_or_else(|| panic!("{name} missing"));
            assert!(!found.description.is_empty(), "{name} undocumented");
        }
    }

    #[test]
    fn good_configurations_validate() {
        assert_eq!(validate(&config(&[])), Vec::<String>::new());
        let full = config(&[
            ("cidr_block", Value::string("172.20.0.0/20")),
            ("availability_zones", zones(&["eu-west-3a", "eu-west-3b", "eu-west-3c"])),
            ("nat_gateways", Value::string("single")),
            ("tags", Value::map([("team", Value::string("infra"))])),
        ]);
        assert_eq!(validate(&full), Vec::<String>::new());
    }

    #[test]
    fn bad_input_is_an_error_on_the_attribute() {
        let cases: [(&str, Value, &str); 9] = [
            ("cidr_block", Value::string("10.0.0.0/8"), "cidr_block"),
            ("cidr_block", Value::string("10.0.0.0/28"), "cidr_block"),
            ("cidr_block", Value::string("not-a-cidr"), "cidr_block"),
            ("cidr_block", Value::string("10.254.1.0/16"), "cidr_block"),
            ("availability_zones", zones(&["us-east-1a"]), "availability_zones"),
            ("availability_zones", zones(&["us-east-1a", "us-east-1a"]), "availability_zones"),
            ("availability_zones", zones(&["us-east-1a", "nowhere"]), "availability_zones[1]"),
            ("availability_zones", zones(&["us-east-1a", "us-west-2b"]), "availability_zones[1]"),
            ("nat_gateways", Value::string("two"), "nat_gateways"),
        ];
        for (name, value, path) in cases {
            assert_eq!(validate(&config(&[(name, value.clone())])), [path], "{name} = {value:?}");
        }
        assert_eq!(validate(&Value::object([("name", Value::string("sg-x"))])), ["name"]);
    }

    #[test]
    fn unknown_values_pass_validation() {
        let unknown = config(&[
            ("cidr_block", Value::unknown()),
            ("availability_zones", Value::unknown()),
            ("nat_gateways", Value::unknown()),
        ]);
        assert_eq!(validate(&unknown), Vec::<String>::new());
    }

    #[test]
    fn only_appending_zones_is_in_place() {
        let two = zones(&["us-east-1a", "us-east-1b"]);
        assert!(is_append(&two, &zones(&["us-east-1a", "us-east-1b", "us-east-1c"])));
        assert!(is_append(&two, &two));
        assert!(!is_append(&two, &zones(&["us-east-1b", "us-east-1a"])));
        assert!(!is_append(&two, &zones(&["us-east-1a", "us-east-1c"])));
        assert!(!is_append(&two, &zones(&["us-east-1a"])));
        assert!(!is_append(&two, &Value::unknown()));
    }

    #[test]
    fn state_round_trips_through_the_spec() {
        let state = config(&[
            ("cidr_block", Value::string("10.1.0.0/16")),
            ("availability_zones", zones(&["us-east-1a", "us-east-1b"])),
            ("nat_gateways", Value::string("single")),
            ("tags", Value::map([("team", Value::string("infra"))])),
        ]);
        let defaults = BTreeMap::from([("owner".to_string(), "platform".to_string())]);
        let spec = spec_of(&state, &defaults).unwrap();
        assert_eq!(spec.nat_mode, NatMode::Single);
        assert_eq!(spec.cidr_block.to_string(), "10.1.0.0/16");
        assert_eq!(spec.tags_for(&desired::Component::Vpc)["owner"], "platform");
        assert!(spec_of(&config(&[]), &defaults).is_err());
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
        assert_eq!(state.attr(DRIFT), &strings(&["x".into()]));
    }
}
