//! # `retool_permission_boundary`
//!
//! The cross-account roles an operating team uses to build and maintain a Retool deployment in a
//! customer's dedicated AWS account, fenced so they can never reach customer data. One resource
//! creates, in the account the provider is configured for:
//!
//! * the **operator boundary** managed policy — allow-all minus every escape (reading secrets,
//!   data and logs; shells; peering and VPNs; decrypting; privilege escalation) — attached as the
//!   permissions boundary of both roles;
//! * the **workload boundary** managed policy, which every role the operator creates must carry;
//! * the **maintenance role** and its permissions policy (long-term upkeep);
//! * the **setup role** and its permissions policy while `setup_role = true` (initial build).
//!
//! Documents are built as typed values ([`policy`], [`documents`]) and rendered canonically, so
//! plans never show whitespace or key-order noise; refresh compares what IAM returns semantically
//! and reports every difference — an edited policy, a removed boundary, a changed trust policy,
//! an extra attached policy — in `drift` ([`drift`]); the next apply repairs it ([`iam`]). Names
//! derive from `name_prefix`, which is also the import id. Every piece carries the instance's
//! ownership mark ([`crate::resources::ownership`]): a create refuses pieces it did not make.
//!
//! This file reads like the resource's documentation page: schema, validation, plan, then
//! create/read/update/delete/import. The rest follows the layout every resource shares:
//! [`model`] (typed configuration, account, outputs and private state), [`desired`] (pure: what
//! IAM should hold, with the documents in [`documents`]), [`observed`] (an SDK-free picture of
//! what IAM holds), [`drift`] (how the two differ), [`aws`] (observe, converge, destroy),
//! [`import`] and [`validators`].

pub(crate) mod aws;
pub(crate) mod desired;
pub mod documents;
pub(crate) mod drift;
pub(crate) mod import;
pub(crate) mod model;
pub(crate) mod observed;
pub(crate) mod validators;

#[cfg(test)]
mod fixture;

use async_trait::async_trait;

use crate::aws::AwsClients;
use crate::error::Error;
use crate::framework::plan_modifiers::{requires_replace, use_state_for_unknown};
use crate::framework::report::{Reported, apply_again, destroy_again};
use crate::framework::resource::Outcome;
use crate::framework::schema::{Attribute, Block};
use crate::framework::validators::{each_element, int_between, size_between, unique_elements};
use crate::framework::{ApplyRequest, Diagnostics, PlanRequest, PlanResponse, Resource, ResourceContext, Schema};
use crate::value::{AttributePath, Type, Value};

use crate::resources::naming::{aws_tags, shown};
use crate::resources::ownership::{self, OwnerToken};
use desired::Desired;
use documents::TRUST_POLICY_QUOTA;
use model::{
    Account, BoundarySpec, DEFAULT_MAX_SESSION, DEFAULT_SECRETS_PREFIX, Private, PrivateState, attribute,
    recorded_account, with_outputs,
};
use validators::{SESSION_MAX, SESSION_MIN};

/// The resource type name Terraform uses.
pub const TYPE_NAME: &str = "retool_permission_boundary";
/// Most operator principals one trust policy may name (the quota check is the real limit).
pub const MAX_PRINCIPALS: usize = 20;
/// The summary when a planned value cannot be read as a permission boundary (create and update).
const PLAN_INVALID: &str = "Invalid planned permission boundary";
/// The summary when a recorded state cannot be read as a permission boundary (read and delete).
const STATE_UNREADABLE: &str = "Unreadable permission boundary state";
/// The summary when the account the roles live in cannot be had.
const ACCOUNT_UNKNOWN: &str = "Could not identify the AWS account";

/// The `retool_permission_boundary` resource.
#[derive(Debug, Default)]
pub struct PermissionBoundaryResource;

// ---------------------------------------------------------------------------------------------
// Schema
// ---------------------------------------------------------------------------------------------

fn schema() -> Schema {
    let computed = |name: &str, description: &str| {
        Attribute::new(name, Type::String).computed().description(description).plan_modifier(use_state_for_unknown())
    };
    Schema::new(
        0,
        Block::new(
            "The cross-account roles an operating team uses to build and maintain a Retool deployment in this AWS \
             account, fenced so they can never reach customer data. Creates the operator boundary policy (attached as \
             permissions boundary to both roles: it denies reading secrets, database data and logs, shells on nodes, \
             VPC peering, transit gateway and VPN attachments, decrypting with customer keys, and every path to more \
             privilege), the workload boundary policy (required on every role the operator creates), the maintenance \
             role and, while `setup_role` is true, the broader setup role. Refresh reports changes made outside \
             Terraform in `drift`; the next apply repairs them. Every role and policy carries a `retool:owner` tag \
             naming this resource instance; a create refuses roles or policies with its names that another instance (or \
             a person) made, and says how to import them. Import with the `name_prefix`.",
        )
        .attribute(
            Attribute::new("name_prefix", Type::String)
                .required()
                .description(
                    "Prefix of every IAM name this resource creates: `<prefix>-operator-boundary`, \
                     `<prefix>-workload-boundary`, `<prefix>-maintenance` (role and policy), `<prefix>-setup` (role and \
                     policy). Roles the operator creates for workloads must also start with `<prefix>-`. Changing it \
                     replaces everything.",
                )
                .validator(validators::name_prefix())
                .plan_modifier(requires_replace()),
        )
        .attribute(
            Attribute::new("operator_principal_arns", Type::list(Type::String))
                .required()
                .description(format!(
                    "ARNs of the operating team's IAM roles or users (`arn:aws:iam::<account>:role/<name>` or \
                     `…:user/<name>`) that may assume both roles. Together they must fit IAM's default \
                     {TRUST_POLICY_QUOTA}-character trust policy quota."
                ))
                .validator(size_between(1, MAX_PRINCIPALS))
                .validator(unique_elements())
                .validator(each_element(validators::principal_arn())),
        )
        .attribute(
            Attribute::new("external_id", Type::String)
                .optional()
                .sensitive()
                .description(
                    "When set, both trust policies require this `sts:ExternalId` on every AssumeRole call.",
                )
                .validator(validators::external_id()),
        )
        .attribute(
            Attribute::new("require_mfa", Type::Bool)
                .default(Value::Bool(true))
                .description(
                    "When true (the default), both trust policies require `aws:MultiFactorAuthPresent`: the operator \
                     must have signed in with MFA to assume the roles. Sessions that reach AWS without MFA context \
                     (access keys, IAM Identity Center role sessions, role chaining) are then refused; set it false \
                     only when the operator's own sign-in enforces MFA.",
                ),
        )
        .attribute(
            Attribute::new("max_session_duration", Type::Number)
                .default(Value::number_i64(DEFAULT_MAX_SESSION))
                .description(format!(
                    "Longest session, in seconds, either role grants. Defaults to {DEFAULT_MAX_SESSION} (12 hours)."
                ))
                .validator(int_between(SESSION_MIN, SESSION_MAX)),
        )
        .attribute(
            Attribute::new("secrets_prefix", Type::String)
                .default(Value::string(DEFAULT_SECRETS_PREFIX))
                .description(
                    "The one Secrets Manager name prefix the operator may manage (create, describe, tag, update, \
                     delete) but never read; workloads under the workload boundary may read it, and the RDS-managed \
                     master secret (`rds!…`).",
                )
                .validator(validators::secrets_prefix()),
        )
        .attribute(
            Attribute::new("setup_role", Type::Bool)
                .default(Value::Bool(true))
                .description(
                    "Whether the broader setup role (and its policy) exists. Keep it true for the initial build; \
                     setting it false afterwards deletes the setup role and keeps the maintenance role.",
                ),
        )
        .attribute(
            Attribute::new("tags", Type::map(Type::String))
                .optional()
                .validator(aws_tags())
                .description("Tags for the roles and policies, over the provider's `default_tags`. Changed in place."),
        )
        .attribute(computed(attribute::ID, "The `name_prefix`, which also identifies the resource for import."))
        .attribute(computed(
            attribute::BOUNDARY_POLICY_ARN,
            "ARN of the operator boundary policy, the permissions boundary of both operator roles.",
        ))
        .attribute(computed(
            attribute::WORKLOAD_BOUNDARY_POLICY_ARN,
            "ARN of the workload boundary policy. Every role the operator creates must carry it as its permissions \
             boundary (the operator boundary refuses anything else).",
        ))
        .attribute(computed(attribute::MAINTENANCE_ROLE_ARN, "ARN of the maintenance role, to hand to the operating team."))
        .attribute(computed(
            attribute::SETUP_ROLE_ARN,
            "ARN of the setup role, to hand to the operating team; null when `setup_role` is false.",
        ))
        .attribute(computed(
            attribute::BOUNDARY_POLICY_JSON,
            "The operator boundary document exactly as written to IAM, for security review.",
        ))
        .attribute(computed(
            attribute::WORKLOAD_BOUNDARY_POLICY_JSON,
            "The workload boundary document exactly as written to IAM, for security review.",
        ))
        .attribute(computed(
            attribute::MAINTENANCE_POLICY_JSON,
            "The maintenance role's permissions document exactly as written to IAM, for security review.",
        ))
        .attribute(computed(
            attribute::SETUP_POLICY_JSON,
            "The setup role's permissions document exactly as written to IAM; null when `setup_role` is false.",
        ))
        .attribute(
            Attribute::new(attribute::DRIFT, Type::list(Type::String))
                .computed()
                .description(
                    "Differences between this configuration and IAM found by the last refresh, one sentence each (an \
                     edited policy, a removed or swapped boundary, a changed trust policy, an extra attached policy, \
                     a missing piece). Empty when everything is as configured; otherwise the next apply repairs them.",
                ),
        ),
    )
}

/// The account for `state`: as recorded, else as STS reports the provider's credentials.
async fn account_for(client: &AwsClients, state: &Value) -> Result<Account, Error> {
    match recorded_account(state) {
        Some(account) => Ok(account),
        None => aws::caller_account(client).await,
    }
}

/// The spec in `inputs` and the account `state` records (or the caller's): what every operation
/// but import starts from; `None` after saying which of the two could not be had.
async fn spec_and_account(
    client: &AwsClients,
    inputs: &Value,
    state: &Value,
    unreadable: &str,
    diags: &mut Diagnostics,
) -> Option<(BoundarySpec, Account)> {
    let spec = BoundarySpec::from_value(inputs, client.default_tags()).reported(diags, unreadable)?;
    let account = account_for(client, state).await.reported(diags, ACCOUNT_UNKNOWN)?;
    Some((spec, account))
}

/// The instance's ownership token for an apply: made now for a first create (so every piece
/// carries it from its first call, and the partial state of a failed create keeps it) or a state
/// written before ownership marks.
fn start_apply(private: &mut Vec<u8>) -> OwnerToken {
    let mut owned = PrivateState::decode(private);
    let owner = owned.owner_or_new();
    *private = owned.encode();
    owner
}

/// The drift findings as the `drift` attribute holds them.
fn findings(desired: &Desired, observed: &observed::Observed) -> Vec<String> {
    drift::detect(desired, observed).iter().map(ToString::to_string).collect()
}

// ---------------------------------------------------------------------------------------------
// The resource
// ---------------------------------------------------------------------------------------------

#[async_trait]
impl Resource<AwsClients> for PermissionBoundaryResource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn name_attribute(&self) -> &'static str {
        "name_prefix"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    /// The trust policy must fit IAM's quota; checked once every part of it is known.
    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let arns = config.attr("operator_principal_arns");
        let Some(items) = arns.elements() else { return };
        let Some(operator_principal_arns) =
            items.iter().map(|v| v.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>()
        else {
            return;
        };
        let external_id = match config.attr("external_id") {
            Value::Null => None,
            Value::String(text) => Some(text.clone()),
            _ => return,
        };
        let require_mfa = config.attr("require_mfa").as_bool().unwrap_or(true);
        let trust = documents::Trust { operator_principal_arns, external_id, require_mfa };
        if let Err(size) = desired::trust_fits(&trust) {
            diags.attribute_error(
                AttributePath::root().attr("operator_principal_arns"),
                "Trust policy too large",
                format!(
                    "The trust policy for these principals is {size} characters; IAM's default quota is \
                     {TRUST_POLICY_QUOTA}. Name fewer principals (for example one role the operating team's people \
                     assume).",
                ),
            );
        }
    }

    async fn modify_plan(&self, client: Option<&AwsClients>, request: &PlanRequest<'_>, plan: &mut PlanResponse) {
        if request.is_destroy() {
            return;
        }
        plan.planned.set_attr(attribute::DRIFT, Value::list(Vec::new()));
        let default_tags = client.map(AwsClients::default_tags).cloned().unwrap_or_default();
        let spec = BoundarySpec::from_value(&plan.planned, &default_tags).ok();
        let account = match (recorded_account(request.prior_state), client) {
            (Some(account), _) => Some(account),
            (None, Some(client)) if spec.is_some() => match aws::caller_account(client).await {
                Ok(account) => Some(account),
                Err(error) => {
                    tracing::warn!(%error, "account unknown while planning; ARNs and documents are known after apply");
                    None
                }
            },
            _ => None,
        };
        match (spec, account) {
            (Some(spec), Some(account)) => plan.planned = with_outputs(&plan.planned, &spec.desired(&account), &[]),
            _ => {
                for name in attribute::DERIVED {
                    plan.planned.set_attr(name, Value::unknown());
                }
            }
        }
    }

    async fn create(&self, ctx: &ResourceContext<AwsClients>, request: &ApplyRequest<'_>, out: &mut Outcome) -> Value {
        let Outcome { private, diagnostics: diags } = out;
        let planned = request.planned;
        let client = &ctx.client;
        let Some((spec, account)) = spec_and_account(client, planned, planned, PLAN_INVALID, diags).await else {
            return Value::Null;
        };
        let owner = start_apply(private);
        let desired = spec.desired(&account).owned_by(&owner);
        let iam = client.iam();
        let Some(existing) = aws::observe::observe(iam, &desired).await.reported(diags, "Reading IAM failed") else {
            return Value::Null;
        };
        // Pieces this instance made (an interrupted create) are resumed; any other is left alone.
        if let Some((piece, claim)) = existing.not_owned_by(&desired, &owner) {
            let (summary, detail) = ownership::refusal(&piece, &claim, TYPE_NAME, &spec.name_prefix);
            diags.error(summary, detail);
            return Value::Null;
        }
        let result = aws::converge::converge(iam, &desired, &existing, &ctx.stop).await;
        applied(iam, planned, &desired, result, "Creating the operator roles failed", diags).await
    }

    async fn read(&self, ctx: &ResourceContext<AwsClients>, state: &Value, out: &mut Outcome) -> Option<Value> {
        let Outcome { private, diagnostics: diags } = out;
        let client = &ctx.client;
        let Some((spec, account)) = spec_and_account(client, state, state, STATE_UNREADABLE, diags).await else {
            return Some(state.clone());
        };
        let desired = spec.desired(&account);
        match aws::observe::observe(client.iam(), &desired).await {
            Ok(observed) if observed.is_gone() => {
                tracing::debug!(name_prefix = %spec.name_prefix, "operator roles and policies are gone; removing from state");
                None
            }
            Ok(observed) => {
                // A state written before ownership marks adopts the pieces' token, or gets one; the
                // next apply marks every piece with it.
                let mut owned = PrivateState::decode(private);
                let owner = owned.owner.clone().or_else(|| observed.owner()).unwrap_or_else(OwnerToken::generate);
                owned.owner = Some(owner.clone());
                *private = owned.encode();
                let desired = desired.owned_by(&owner);
                let found = findings(&desired, &observed);
                crate::resources::drift::log_refresh(&found);
                Some(with_outputs(state, &desired, &found))
            }
            Err(error) => {
                diags.error("Refreshing the permission boundary failed", error.to_string());
                Some(state.clone())
            }
        }
    }

    async fn update(&self, ctx: &ResourceContext<AwsClients>, request: &ApplyRequest<'_>, out: &mut Outcome) -> Value {
        let Outcome { private, diagnostics: diags } = out;
        let (prior, planned) = (request.prior, request.planned);
        let client = &ctx.client;
        let Some((spec, account)) = spec_and_account(client, planned, prior, PLAN_INVALID, diags).await else {
            return prior.clone();
        };
        let owner = start_apply(private);
        let desired = spec.desired(&account).owned_by(&owner);
        let iam = client.iam();
        let result = match aws::observe::observe(iam, &desired).await {
            Ok(observed) => aws::converge::converge(iam, &desired, &observed, &ctx.stop).await,
            Err(error) => Err(error),
        };
        applied(iam, planned, &desired, result, "Updating the operator roles failed", diags).await
    }

    async fn delete(&self, ctx: &ResourceContext<AwsClients>, prior: &Value, diags: &mut Diagnostics) {
        let client = &ctx.client;
        let Some((spec, account)) = spec_and_account(client, prior, prior, STATE_UNREADABLE, diags).await else {
            return;
        };
        if let Err(error) = aws::destroy::destroy(client.iam(), &spec.desired(&account)).await {
            diags.error("Deleting the operator roles failed", destroy_again(error));
        }
    }

    async fn import(&self, ctx: &ResourceContext<AwsClients>, id: &str, out: &mut Outcome) -> Option<Value> {
        let Outcome { private, diagnostics: diags } = out;
        if let Some(problem) = validators::name_prefix_problem(id) {
            diags.error(
                "Invalid import id",
                format!("Import a retool_permission_boundary by its name_prefix; {} {problem}", shown(id)),
            );
            return None;
        }
        let client = &ctx.client;
        let account = aws::caller_account(client).await.reported(diags, ACCOUNT_UNKNOWN)?;
        // The names only depend on the prefix, so any spec with it finds the pieces.
        let probe = import::probe_spec(id).desired(&account);
        let observed = aws::observe::observe(client.iam(), &probe).await.reported(diags, "Reading IAM failed")?;
        let spec = import::spec_from(id, &account, &observed, client.default_tags())
            .reported(diags, "Cannot import the operator roles")?;
        // Import is the one way to take the roles over: it adopts their ownership token, or makes
        // one that the next apply writes to every piece.
        let owner = observed.owner().unwrap_or_else(OwnerToken::generate);
        *private = PrivateState { owner: Some(owner.clone()), rest: Private::default() }.encode();
        let desired = spec.desired(&account).owned_by(&owner);
        Some(with_outputs(&spec.to_value(client.default_tags()), &desired, &findings(&desired, &observed)))
    }
}

/// The state after converging: the planned values with the outputs, or after a failure (reported
/// under `failure_summary`) what exists now.
async fn applied(
    iam: &aws_sdk_iam::Client,
    planned: &Value,
    desired: &Desired,
    result: Result<(), Error>,
    failure_summary: &str,
    diags: &mut Diagnostics,
) -> Value {
    match result {
        Ok(()) => with_outputs(planned, desired, &[]),
        Err(error) => {
            diags.error(failure_summary, apply_again(error));
            partial_state(iam, planned, desired).await
        }
    }
}

/// After a failed apply: the planned inputs with what exists now described in `drift`, so the
/// next plan repairs it; null when nothing was made.
async fn partial_state(iam: &aws_sdk_iam::Client, planned: &Value, desired: &Desired) -> Value {
    match aws::observe::observe(iam, desired).await {
        Ok(observed) if observed.is_gone() => Value::Null,
        Ok(observed) => with_outputs(planned, desired, &findings(desired, &observed)),
        Err(_) => with_outputs(planned, desired, &["the last apply failed before IAM could be read back".to_owned()]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::testing::{documented_block, validation_paths, with_attributes};

    const OPERATOR: &str = "arn:aws:iam::444455556666:role/operator";

    fn config(attributes: &[(&str, Value)]) -> Value {
        let base = Value::object([
            ("name_prefix", Value::string("acme")),
            ("operator_principal_arns", Value::list(vec![Value::string(OPERATOR)])),
        ]);
        with_attributes(base, attributes)
    }

    /// Diagnostics paths from `terraform validate`: attribute validators, then the resource's check.
    fn validate(config: &Value) -> Vec<String> {
        validation_paths(&PermissionBoundaryResource, config)
    }

    #[test]
    fn schema_is_well_formed_and_fully_described() {
        let block =
            documented_block(&PermissionBoundaryResource, attribute::DERIVED.into_iter().chain([attribute::DRIFT]));
        assert!(block.find_attribute("external_id").is_some_and(|a| a.sensitive));
    }

    #[test]
    fn good_configurations_validate() {
        assert_eq!(validate(&config(&[])), Vec::<String>::new());
        let full = config(&[
            ("external_id", Value::string("retool-7f3c")),
            ("require_mfa", Value::Bool(false)),
            ("max_session_duration", Value::number_i64(3600)),
            ("secrets_prefix", Value::string("prod/retool-")),
            ("setup_role", Value::Bool(false)),
            ("tags", Value::map([("team", Value::string("infra"))])),
        ]);
        assert_eq!(validate(&full), Vec::<String>::new());
    }

    #[test]
    fn bad_input_is_an_error_on_the_attribute() {
        let arns = |items: &[&str]| Value::list(items.iter().map(|s| Value::string(*s)).collect());
        let cases: Vec<(&str, Value, &str)> = vec![
            ("name_prefix", Value::string("x".repeat(33)), "name_prefix"),
            ("name_prefix", Value::string("has space"), "name_prefix"),
            ("name_prefix", Value::string(""), "name_prefix"),
            ("operator_principal_arns", arns(&[]), "operator_principal_arns"),
            ("operator_principal_arns", arns(&["*"]), "operator_principal_arns[0]"),
            (
                "operator_principal_arns",
                arns(&[OPERATOR, "arn:aws:iam::444455556666:root"]),
                "operator_principal_arns[1]",
            ),
            (
                "operator_principal_arns",
                arns(&[OPERATOR, "arn:aws:iam::444455556666:role/*"]),
                "operator_principal_arns[1]",
            ),
            ("operator_principal_arns", arns(&[OPERATOR, OPERATOR]), "operator_principal_arns"),
            ("max_session_duration", Value::number_i64(3599), "max_session_duration"),
            ("max_session_duration", Value::number_i64(43201), "max_session_duration"),
            ("secrets_prefix", Value::string("retool/*"), "secrets_prefix"),
            ("external_id", Value::string("x"), "external_id"),
            ("external_id", Value::string("has space"), "external_id"),
        ];
        for (name, value, path) in cases {
            assert_eq!(validate(&config(&[(name, value.clone())])), [path], "{name} = {value:?}");
        }
    }

    #[test]
    fn a_trust_policy_over_quota_is_refused_at_validate() {
        let many: Vec<Value> = (0..MAX_PRINCIPALS)
            .map(|i| Value::string(format!("arn:aws:iam::444455556666:role/operations/{}{i}", "n".repeat(60))))
            .collect();
        assert_eq!(validate(&config(&[("operator_principal_arns", Value::list(many))])), ["operator_principal_arns"]);
    }

    #[test]
    fn unknown_values_pass_validation() {
        let unknown = config(&[
            ("operator_principal_arns", Value::unknown()),
            ("external_id", Value::unknown()),
            ("max_session_duration", Value::unknown()),
        ]);
        assert_eq!(validate(&unknown), Vec::<String>::new());
    }
}
