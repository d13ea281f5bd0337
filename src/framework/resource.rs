//! The `Resource` trait: the few things a resource type has to say and do.
//!
//! A resource declares its schema, checks its configuration, shapes its plan, and performs
//! create/read/update/delete/import against its backing API. Everything generic — decoding wire
//! values, running validators and plan modifiers, checking Terraform's consistency rules — is done
//! by the framework around it, so a resource module reads like its documentation page.

use std::sync::Arc;

use async_trait::async_trait;

use crate::value::{AttributePath, Value};

use super::diagnostics::Diagnostics;
use super::schema::Schema;
use crate::stop::StopSignal;

/// What a resource operation runs with: the configured provider's clients and the stop signal.
pub struct ResourceContext<D> {
    /// The provider data `configure` built: API clients and settings.
    pub client: Arc<D>,
    /// Raised when Terraform asks the provider to stop (Ctrl-C); long waits should give up early.
    pub stop: StopSignal,
}

/// A planning request for one resource instance, after the framework's own planning steps.
pub struct PlanRequest<'a> {
    /// The configuration; null when the resource is being destroyed.
    pub config: &'a Value,
    /// The prior state; null when the resource is being created.
    pub prior_state: &'a Value,
    /// Terraform's proposed new state (config merged with prior computed values).
    pub proposed: &'a Value,
    /// Opaque bytes the resource stored with the prior state.
    pub prior_private: &'a [u8],
}

impl PlanRequest<'_> {
    /// True when there is no prior state: the plan creates the object.
    pub fn is_create(&self) -> bool {
        self.prior_state.is_null()
    }

    /// True when Terraform proposes null: the plan destroys the object.
    pub fn is_destroy(&self) -> bool {
        self.proposed.is_null()
    }
}

/// An apply of one resource instance: what Terraform planned and the configuration it came from
/// (which holds write-only attributes the plan never carries).
pub struct ApplyRequest<'a> {
    /// The configuration.
    pub config: &'a Value,
    /// The prior state; null for a create.
    pub prior: &'a Value,
    /// The planned new state.
    pub planned: &'a Value,
}

/// What a read, create, update or import leaves beside the state it returns, as [`PlanResponse`]
/// does for a plan: the private bytes to store with that state and the problems met.
#[derive(Debug)]
pub struct Outcome {
    /// Opaque bytes stored with the state: the prior state's (the planned ones for an apply) on the
    /// way in, empty for an import; the resource may rewrite them.
    pub private: Vec<u8>,
    /// Problems found while serving the request.
    pub diagnostics: Diagnostics,
}

/// The plan under construction; the resource may refine it.
#[derive(Debug)]
pub struct PlanResponse {
    /// The planned new state: the framework's plan, which the resource may refine; null for a destroy.
    pub planned: Value,
    /// Attributes whose change forces replacement; the resource may add its own.
    pub requires_replace: Vec<AttributePath>,
    /// Opaque bytes handed to apply with the plan; they start as the prior state's.
    pub private: Vec<u8>,
    /// Problems found while planning.
    pub diagnostics: Diagnostics,
}

impl Default for PlanResponse {
    fn default() -> Self {
        Self {
            planned: Value::Null,
            requires_replace: Vec::new(),
            private: Vec::new(),
            diagnostics: Diagnostics::new(),
        }
    }
}

/// One managed resource type, served for provider data `D` (the configured API clients).
#[async_trait]
pub trait Resource<D: Send + Sync + 'static>: Send + Sync {
    /// The full type name, e.g. `retool_network`.
    fn type_name(&self) -> &'static str;

    /// The resource's schema; asked once, when the provider runtime is built.
    fn schema(&self) -> Schema;

    /// The string attribute that names an instance in log lines: `name`, unless the resource
    /// says otherwise.
    fn name_attribute(&self) -> &'static str {
        "name"
    }

    /// Cross-attribute checks of configuration; attribute validators have already run. The config
    /// may hold unknown values, which must be let through. Must not call any API.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Resource-specific planning, after defaults, unknown-marking and attribute plan modifiers.
    /// `client` is absent when the provider configuration is not yet known.
    async fn modify_plan(&self, _client: Option<&D>, _request: &PlanRequest<'_>, _plan: &mut PlanResponse) {}

    /// Creates the object. On failure, returns the partial state (every id already created) along
    /// with an error, so Terraform records what exists.
    async fn create(&self, ctx: &ResourceContext<D>, request: &ApplyRequest<'_>, out: &mut Outcome) -> Value;

    /// Reads the object back; `None` when it no longer exists.
    async fn read(&self, ctx: &ResourceContext<D>, state: &Value, out: &mut Outcome) -> Option<Value>;

    /// Brings the object to `planned`; on failure returns what is true now, with an error.
    async fn update(&self, ctx: &ResourceContext<D>, request: &ApplyRequest<'_>, out: &mut Outcome) -> Value;

    /// Deletes the object recorded in `prior`. On an error the prior state is kept, so Terraform
    /// goes on tracking the object.
    async fn delete(&self, ctx: &ResourceContext<D>, prior: &Value, diags: &mut Diagnostics);

    /// Turns an import id into a minimal state that `read` can complete; `None` if not found.
    /// `out.private` starts empty and is stored with the imported state (an ownership token, say).
    async fn import(&self, _ctx: &ResourceContext<D>, id: &str, out: &mut Outcome) -> Option<Value> {
        out.diagnostics.error("Import not supported", format!("{} cannot be imported (id {id:?}).", self.type_name()));
        None
    }

    /// Rewrites raw JSON state written under an older schema `version` into the current shape.
    fn upgrade_state(
        &self,
        version: i64,
        raw: serde_json::Value,
        diags: &mut Diagnostics,
    ) -> Option<serde_json::Value> {
        diags.error(
            "Unsupported state version",
            format!("{} has no upgrade from schema version {version}.", self.type_name()),
        );
        let _ = raw;
        None
    }
}
