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
//! create/read/update/delete/import. The rest follows the layout every resource shares:
//! [`model`] (typed configuration, outputs and private state), [`desired`] (pure: what the
//! configuration asks for), [`observed`] (an SDK-free picture of what exists), [`drift`] (how
//! the two differ), [`aws`] (observe, converge, destroy), [`import`] and [`validators`].

pub mod aws;
pub mod desired;
pub mod drift;
pub mod import;
pub(crate) mod layout;
pub mod model;
pub mod observed;
pub(crate) mod validators;

#[cfg(test)]
mod fixture;

use async_trait::async_trait;

use crate::aws::AwsClients;
use crate::framework::plan_modifiers::{requires_replace, requires_replace_if, use_state_for_unknown};
use crate::framework::report::{Reported, apply_again, destroy_again};
use crate::framework::resource::Outcome;
use crate::framework::schema::{Attribute, Block};
use crate::framework::validators::{each_element, ipv4_cidr, one_of, size_between, unique_elements};
use crate::framework::{ApplyRequest, Diagnostics, PlanRequest, PlanResponse, Resource, ResourceContext, Schema};
use crate::resources::naming::{aws_tags, is_vpc_id, shown};
use crate::resources::ownership::{self, OwnerToken};
use crate::value::{AttributePath, Type, Value};

use desired::NETWORK_TAG;
use drift::findings;
use layout::{MAX_VPC_PREFIX, MAX_ZONES, MIN_VPC_PREFIX};
use model::attribute::{self, DRIFT};
use model::{NatMode, NetworkOutputs, NetworkSpec, Private, PrivateState, strings, vpc_id_of, with_outputs};

/// The resource type name Terraform uses.
pub const TYPE_NAME: &str = "retool_network";
const DEFAULT_CIDR_BLOCK: &str = "10.254.0.0/16";
/// The summary when a planned value cannot be read as a network (create and update).
const PLAN_INVALID: &str = "Invalid planned network";

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
                .validator(aws_tags())
                .description("Tags for every object of the network, over the provider's `default_tags`. Changed in place."),
        )
        .attributes(
            attribute::schema_of_list().into_iter().map(|(name, ty, description)| output(name, ty, description)),
        )
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
                match aws::observe::default_zones(client.ec2(), 2).await {
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

    async fn create(&self, ctx: &ResourceContext<AwsClients>, request: &ApplyRequest<'_>, out: &mut Outcome) -> Value {
        let Outcome { private, diagnostics: diags } = out;
        let planned = request.planned;
        let client = &ctx.client;
        let mut planned = planned.clone();
        if planned.attr("availability_zones").is_unknown() {
            match aws::observe::default_zones(client.ec2(), 2).await {
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
        let Some(spec) = NetworkSpec::from_value(&planned, client.default_tags()).reported(diags, PLAN_INVALID) else {
            return Value::Null;
        };
        let owner = start_apply(private);
        self.converge(client, &spec, &owner, None, &[], &planned, ctx, diags, "Creating the network failed").await
    }

    async fn read(&self, ctx: &ResourceContext<AwsClients>, state: &Value, out: &mut Outcome) -> Option<Value> {
        let Outcome { private, diagnostics: diags } = out;
        let client = &ctx.client;
        let vpc_id = vpc_id_of(state)?;
        let Some(spec) =
            NetworkSpec::from_value(state, client.default_tags()).reported(diags, "Unreadable network state")
        else {
            return Some(state.clone());
        };
        let Some(found) =
            aws::observe::observe(client.ec2(), vpc_id).await.reported(diags, "Refreshing the network failed")
        else {
            return Some(state.clone());
        };
        let Some(snap) = found else {
            tracing::debug!(vpc_id, "network's VPC is gone; removing from state");
            return None;
        };
        // A state written before ownership marks adopts the VPC's token, or gets one; the next
        // apply marks every object with it.
        let mut owned = PrivateState::decode(private);
        let owner = owned.owner.clone().or_else(|| import::recover_owner(&snap)).unwrap_or_else(OwnerToken::generate);
        let found = findings(&spec, &owner, &snap);
        owned.owner = Some(owner);
        owned.rest = Private {
            outputs_changed_by_drift: drift::outputs_changed_by(&found).into_iter().map(str::to_owned).collect(),
        };
        *private = owned.encode();
        let sentences = found.iter().map(ToString::to_string).collect::<Vec<_>>();
        crate::resources::drift::log_refresh(&sentences);
        let mut refreshed = with_outputs(state, &model::outputs(&spec, &snap), &sentences);
        // The block itself cannot drift in place; reporting what AWS holds makes a mismatch plan
        // a replacement.
        refreshed.set_attr("cidr_block", Value::string(&snap.vpc.cidr_block));
        Some(refreshed)
    }

    async fn update(&self, ctx: &ResourceContext<AwsClients>, request: &ApplyRequest<'_>, out: &mut Outcome) -> Value {
        let Outcome { private, diagnostics: diags } = out;
        let (prior, planned) = (request.prior, request.planned);
        let client = &ctx.client;
        let Some(spec) = NetworkSpec::from_value(planned, client.default_tags()).reported(diags, PLAN_INVALID) else {
            return prior.clone();
        };
        let Some(vpc_id) = vpc_id_of(prior) else {
            diags.error("Network state has no VPC id", "Remove the resource from state and import it by VPC id.");
            return prior.clone();
        };
        let retired_tags = spec.retired_tags(prior);
        let owner = start_apply(private);
        self.converge(
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
        if let Err(error) = aws::destroy::destroy(ctx.client.ec2(), vpc_id, &ctx.stop).await {
            diags.error("Destroying the network failed", destroy_again(error));
        }
    }

    async fn import(&self, ctx: &ResourceContext<AwsClients>, id: &str, out: &mut Outcome) -> Option<Value> {
        let Outcome { private, diagnostics: diags } = out;
        if !is_vpc_id(id) {
            diags.error(
                "Invalid import id",
                format!(
                    "{} is not a VPC id; import a retool_network by its VPC id, e.g. vpc-0123456789abcdef0.",
                    shown(id)
                ),
            );
            return None;
        }
        let client = &ctx.client;
        let Some(snap) = aws::observe::observe(client.ec2(), id).await.reported(diags, "Reading the VPC failed")?
        else {
            diags.error("VPC not found", format!("No VPC {id} in region {}.", client.region()));
            return None;
        };
        let spec = import::recover_spec(&snap, client.default_tags())
            .reported(diags, "VPC cannot be imported as a retool_network")?;
        // Import is the one way to take a network over: it adopts the VPC's ownership token, or
        // makes one that the next apply writes to every object.
        let owner = import::recover_owner(&snap).unwrap_or_else(OwnerToken::generate);
        let found: Vec<String> = findings(&spec, &owner, &snap).iter().map(ToString::to_string).collect();
        *private = PrivateState { owner: Some(owner), rest: Private::default() }.encode();
        Some(with_outputs(&spec.to_value(), &model::outputs(&spec, &snap), &found))
    }
}

/// The private state an apply starts from: the instance's ownership token, made now for a first
/// create (so every object carries it from its first call, and the partial state of a failed
/// create keeps it) or a state written before ownership marks, and no drift findings.
fn start_apply(private: &mut Vec<u8>) -> OwnerToken {
    let mut state = PrivateState::decode(private);
    let owner = state.owner_or_new();
    state.rest = Private::default();
    *private = state.encode();
    owner
}

impl NetworkResource {
    /// Runs the converge step and turns its result into state: on success the planned values
    /// with the outputs; on failure whatever exists now (read back), with the error, so
    /// Terraform records every object already made.
    #[allow(clippy::too_many_arguments)]
    async fn converge(
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
        match aws::converge::converge(client.ec2(), spec, owner, vpc_id, retired_tags, &ctx.stop).await {
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
                with_outputs(planned, &model::outputs(spec, &snap), &[])
            }
            Err(failure) => {
                if let Some(refused) = failure.refused {
                    let object = format!("VPC {} ({NETWORK_TAG} = {})", refused.vpc_id, spec.name);
                    let (summary, detail) = ownership::refusal(&object, &refused.claim, TYPE_NAME, &refused.vpc_id);
                    diags.error(summary, detail);
                    return Value::Null;
                }
                diags.error(failure_summary, apply_again(failure.error));
                let Some(vpc_id) = failure.vpc_id else {
                    return Value::Null;
                };
                let (observed, found) = match aws::observe::observe(client.ec2(), &vpc_id).await {
                    Ok(Some(snap)) => (
                        model::outputs(spec, &snap),
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
    use crate::framework::testing::{documented_block, validation_paths, with_attributes};

    /// A configuration naming the network `acme`, with `attributes` set; shared with the model's tests.
    pub(super) fn config(attributes: &[(&str, Value)]) -> Value {
        with_attributes(Value::object([("name", Value::string("acme"))]), attributes)
    }

    /// The `availability_zones` value listing `names`.
    pub(super) fn zones(names: &[&str]) -> Value {
        Value::list(names.iter().map(|zone| Value::string(*zone)).collect())
    }

    /// Diagnostics from `terraform validate`: attribute validators, then the resource's own check.
    fn validate(config: &Value) -> Vec<String> {
        validation_paths(&NetworkResource, config)
    }

    #[test]
    fn schema_is_well_formed_and_fully_described() {
        let block = documented_block(&NetworkResource, attribute::ALL.into_iter().chain([DRIFT]));
        for name in ["name", "cidr_block", "availability_zones", "nat_gateways", "tags"] {
            assert!(block.find_attribute(name).is_some(), "{name} missing");
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
}
