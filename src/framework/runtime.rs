//! The provider runtime: one provider's resources, schemas and configured clients, driven by
//! plain values.
//!
//! The protocol layer decodes each request into [`Value`]s and calls one method here; this is where
//! validators, the plan engine, consistency checks and the stop signal are applied around the
//! resource's own code. Keeping this free of gRPC types lets the whole request flow be tested
//! without a wire, and keeps resources unaware of the protocol.

use std::any::Any;
use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use futures::FutureExt;
use tracing::Instrument;

use crate::value::{AttributePath, Type, Value, json};

use super::consistency;
use super::diagnostics::{Diagnostic, Diagnostics, Severity};
use super::plan::plan_resource;
use super::provider::Provider;
use super::resource::{ApplyRequest, Outcome, PlanRequest, PlanResponse, Resource, ResourceContext};
use super::schema::Schema;
use super::validate::validate_block;
use crate::stop::StopSource;

/// Whether contract checks run: always in debug builds (and so in tests), never in release.
const CHECK_CONTRACTS: bool = cfg!(debug_assertions);

struct Registered<D: Send + Sync + 'static> {
    resource: Arc<dyn Resource<D>>,
    schema: Schema,
    value_type: Type,
}

/// A resource state and its private bytes, as returned by read and apply.
#[derive(Debug)]
pub struct StateResult {
    /// The state to record: null once the object is gone; on failure, what is known to exist.
    pub state: Value,
    /// Private bytes to store with that state.
    pub private: Vec<u8>,
    /// Errors and warnings from the operation.
    pub diagnostics: Diagnostics,
}

/// One object produced by import, to be completed by a read.
#[derive(Debug)]
pub struct Imported {
    /// The resource type the state belongs to.
    pub type_name: String,
    /// The minimal state the resource's `import` returned, for Terraform to complete with a read.
    pub state: Value,
    /// Private bytes to store with the imported state.
    pub private: Vec<u8>,
}

/// Runs one provider: its schemas and resources, the data `configure` built, and the stop source.
/// Each protocol request becomes one call here.
pub struct ProviderRuntime<P: Provider> {
    provider: P,
    provider_schema: Schema,
    resources: BTreeMap<&'static str, Registered<P::Data>>,
    data: RwLock<Option<Arc<P::Data>>>,
    stop: StopSource,
}

impl<P: Provider> ProviderRuntime<P> {
    /// Collects the provider's and every resource's schema; nothing is configured yet.
    pub fn new(provider: P) -> Self {
        let provider_schema = provider.schema();
        let resources = provider
            .resources()
            .into_iter()
            .map(|resource| {
                let schema = resource.schema();
                let value_type = schema.value_type();
                (resource.type_name(), Registered { resource, schema, value_type })
            })
            .collect();
        Self { provider, provider_schema, resources, data: RwLock::new(None), stop: StopSource::new() }
    }

    /// The schema of the provider block.
    pub fn provider_schema(&self) -> &Schema {
        &self.provider_schema
    }

    /// Every resource type name with its schema, in name order.
    pub fn resource_schemas(&self) -> impl Iterator<Item = (&'static str, &Schema)> {
        self.resources.iter().map(|(name, r)| (*name, &r.schema))
    }

    /// The value type of a resource's state, for decoding wire values.
    pub fn resource_type(&self, type_name: &str) -> Option<&Type> {
        self.resources.get(type_name).map(|r| &r.value_type)
    }

    /// Runs the provider block's attribute validators and, if they pass, the provider's own
    /// cross-attribute checks.
    pub fn validate_provider_config(&self, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        validate_block(&self.provider_schema.block, config, &AttributePath::root(), &mut diags);
        if !diags.has_errors() {
            self.provider.validate_config(config, &mut diags);
        }
        diags
    }

    /// Builds the clients; with unknown configuration planning continues without them.
    pub async fn configure(&self, config: &Value) -> Diagnostics {
        let mut diags = self.validate_provider_config(config);
        if diags.has_errors() {
            return diags;
        }
        let data = self.provider.configure(config, &mut diags).await.map(Arc::new);
        *self.data.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = data;
        diags
    }

    /// Asks every running operation to stop as soon as it safely can.
    pub fn stop(&self) {
        self.stop.stop();
    }

    fn client(&self) -> Option<Arc<P::Data>> {
        self.data.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    fn context(&self, diags: &mut Diagnostics) -> Option<ResourceContext<P::Data>> {
        match self.client() {
            Some(client) => Some(ResourceContext { client, stop: self.stop.signal() }),
            None => {
                diags.error(
                    "Provider not configured",
                    "The provider's configuration was not known when this operation ran. \
                     Make sure every provider argument can be determined before apply.",
                );
                None
            }
        }
    }

    fn lookup(&self, type_name: &str, diags: &mut Diagnostics) -> Option<&Registered<P::Data>> {
        let found = self.resources.get(type_name);
        if found.is_none() {
            diags.error("Unknown resource type", format!("This provider has no resource type {type_name:?}."));
        }
        found
    }

    /// Runs a resource's attribute validators and, if they pass, its own `validate`; an unknown
    /// type name is an error.
    pub fn validate_resource_config(&self, type_name: &str, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        if let Some(r) = self.lookup(type_name, &mut diags) {
            validate_block(&r.schema.block, config, &AttributePath::root(), &mut diags);
            if !diags.has_errors() {
                r.resource.validate(config, &mut diags);
            }
        }
        diags
    }

    /// Turns stored JSON state of any schema version into a current-schema value.
    pub fn upgrade_resource_state(&self, type_name: &str, version: i64, raw_json: &[u8]) -> (Value, Diagnostics) {
        let mut diags = Diagnostics::new();
        let Some(r) = self.lookup(type_name, &mut diags) else { return (Value::Null, diags) };
        let parsed: serde_json::Value = match serde_json::from_slice(raw_json) {
            Ok(v) => v,
            Err(e) => {
                diags.error("Unreadable stored state", format!("The stored state is not valid JSON: {e}."));
                return (Value::Null, diags);
            }
        };
        let current = if version == r.schema.version {
            Some(parsed)
        } else if version > r.schema.version {
            diags.error(
                "State written by a newer provider",
                format!(
                    "{type_name} state has schema version {version}, newer than this provider's {}. \
                     Upgrade the provider.",
                    r.schema.version
                ),
            );
            None
        } else {
            r.resource.upgrade_state(version, parsed, &mut diags)
        };
        let Some(current) = current else { return (Value::Null, diags) };
        let pruned = prune_to_type(current, &r.value_type);
        match serde_json::to_vec(&pruned)
            .map_err(|e| e.to_string())
            .and_then(|bytes| json::decode(&bytes, &r.value_type).map_err(|e| e.to_string()))
        {
            Ok(value) => (value, diags),
            Err(e) => {
                diags.error(
                    "Unreadable stored state",
                    format!("The stored {type_name} state does not fit its schema: {e}."),
                );
                (Value::Null, diags)
            }
        }
    }

    /// Refreshes one resource instance: its state now, or null when the object is gone (a read that
    /// fails keeps the given state). Needs a configured provider.
    pub async fn read_resource(&self, type_name: &str, state: &Value, private: Vec<u8>) -> StateResult {
        let mut diags = Diagnostics::new();
        let Some(r) = self.lookup(type_name, &mut diags) else {
            return StateResult { state: state.clone(), private, diagnostics: diags };
        };
        if state.is_null() {
            return StateResult { state: Value::Null, private, diagnostics: diags };
        }
        let Some(ctx) = self.context(&mut diags) else {
            return StateResult { state: state.clone(), private, diagnostics: diags };
        };
        let mut out = Outcome { private, diagnostics: diags };
        let call = r.call(type_name, state, "ReadResource", "read");
        let new_state = guarded(&call, r.resource.read(&ctx, state, &mut out)).await;
        let new_state = new_state.unwrap_or_else(|panic| {
            out.diagnostics.push(panic);
            Some(state.clone())
        });
        let state = match new_state {
            Some(s) => s.normalized(&r.value_type),
            None if out.diagnostics.has_errors() => state.clone(),
            None => Value::Null,
        };
        StateResult { state, private: out.private, diagnostics: out.diagnostics }
    }

    /// Plans one resource instance: validation, the generic plan steps, the resource's
    /// `modify_plan`, then (in debug builds) Terraform's plan consistency rules. A null `proposed`
    /// plans a destroy.
    pub async fn plan_resource_change(
        &self,
        type_name: &str,
        config: &Value,
        prior_state: &Value,
        proposed: &Value,
        prior_private: &[u8],
    ) -> PlanResponse {
        let mut response = PlanResponse { private: prior_private.to_vec(), ..PlanResponse::default() };
        let Some(r) = self.lookup(type_name, &mut response.diagnostics) else { return response };
        let request = PlanRequest { config, prior_state, proposed, prior_private };
        if request.is_destroy() {
            response.planned = Value::Null;
        } else {
            validate_block(&r.schema.block, config, &AttributePath::root(), &mut response.diagnostics);
            let validated = guarded(&r.call(type_name, config, "ValidateResourceConfig", "validate"), async {
                r.resource.validate(config, &mut response.diagnostics);
            })
            .await;
            if let Err(panic) = validated {
                response.diagnostics.push(panic);
            }
            if response.diagnostics.has_errors() {
                response.planned = proposed.clone();
                return response;
            }
            let engine = plan_resource(&r.schema.block, config, prior_state, proposed, &mut response.diagnostics);
            response.planned = engine.planned;
            response.requires_replace = engine.requires_replace;
        }
        let client = self.client();
        let named = if request.is_destroy() { prior_state } else { config };
        let call = r.call(type_name, named, "PlanResourceChange", "plan");
        let modified = guarded(&call, r.resource.modify_plan(client.as_deref(), &request, &mut response)).await;
        if let Err(panic) = modified {
            response.diagnostics.push(panic);
        }
        response.planned = std::mem::replace(&mut response.planned, Value::Null).normalized(&r.value_type);
        if CHECK_CONTRACTS && !request.is_destroy() && !response.diagnostics.has_errors() {
            consistency::check_plan(&r.schema.block, config, &response.planned, &mut response.diagnostics);
        }
        response
    }

    /// Applies a planned change: create without prior state, delete when `planned` is null, update
    /// otherwise. In debug builds the result is checked against the plan.
    pub async fn apply_resource_change(
        &self,
        type_name: &str,
        prior_state: &Value,
        planned: &Value,
        config: &Value,
        private: Vec<u8>,
    ) -> StateResult {
        let mut diags = Diagnostics::new();
        let Some(r) = self.lookup(type_name, &mut diags) else {
            return StateResult { state: prior_state.clone(), private, diagnostics: diags };
        };
        let Some(ctx) = self.context(&mut diags) else {
            return StateResult { state: prior_state.clone(), private, diagnostics: diags };
        };
        let mut out = Outcome { private, diagnostics: diags };
        let state = if planned.is_null() {
            let deleted = guarded(&r.call(type_name, prior_state, "ApplyResourceChange (delete)", "delete"), async {
                r.resource.delete(&ctx, prior_state, &mut out.diagnostics).await;
            })
            .await;
            if let Err(panic) = deleted {
                out.diagnostics.push(panic);
            }
            if out.diagnostics.has_errors() { prior_state.clone() } else { Value::Null }
        } else {
            let request = ApplyRequest { config, prior: prior_state, planned };
            let applied = if prior_state.is_null() {
                let call = r.call(type_name, planned, "ApplyResourceChange (create)", "create");
                guarded(&call, r.resource.create(&ctx, &request, &mut out)).await
            } else {
                let call = r.call(type_name, planned, "ApplyResourceChange (update)", "update");
                guarded(&call, r.resource.update(&ctx, &request, &mut out)).await
            };
            applied.unwrap_or_else(|panic| {
                out.diagnostics.push(panic);
                prior_state.clone()
            })
        };
        let Outcome { private, diagnostics: mut diags } = out;
        let state = state.normalized(&r.value_type);
        if CHECK_CONTRACTS && !diags.has_errors() && !planned.is_null() {
            consistency::check_apply(planned, &state, &mut diags);
        }
        StateResult { state, private, diagnostics: diags }
    }

    /// Imports the object `id` names, as a minimal state Terraform then reads; an id that finds
    /// nothing is an error.
    pub async fn import_resource_state(&self, type_name: &str, id: &str) -> (Vec<Imported>, Diagnostics) {
        let mut diags = Diagnostics::new();
        let Some(r) = self.lookup(type_name, &mut diags) else { return (Vec::new(), diags) };
        let Some(ctx) = self.context(&mut diags) else { return (Vec::new(), diags) };
        let mut out = Outcome { private: Vec::new(), diagnostics: diags };
        let call = Call { type_name, name: id.to_owned(), operation: "ImportResourceState", step: "import" };
        let imported = guarded(&call, r.resource.import(&ctx, id, &mut out)).await;
        let imported = imported.unwrap_or_else(|panic| {
            out.diagnostics.push(panic);
            None
        });
        let Outcome { private, diagnostics: mut diags } = out;
        match imported {
            Some(state) => {
                let state = state.normalized(&r.value_type);
                (vec![Imported { type_name: type_name.to_owned(), state, private }], diags)
            }
            None => {
                if !diags.has_errors() {
                    diags.error(
                        "Cannot import non-existent remote object",
                        format!("No {type_name} with id {id:?} exists in the configured account and region."),
                    );
                }
                (Vec::new(), diags)
            }
        }
    }
}

impl<D: Send + Sync + 'static> Registered<D> {
    /// The operation `operation` (CRUD step `step`) on the instance `value` describes.
    fn call<'a>(&self, type_name: &'a str, value: &Value, operation: &'static str, step: &'static str) -> Call<'a> {
        let name = value.attr(self.resource.name_attribute()).as_str().unwrap_or("(name not yet known)").to_owned();
        Call { type_name, name, operation, step }
    }
}

/// One operation on one resource instance: what its log lines and its panic diagnostic name.
struct Call<'a> {
    /// The resource type.
    type_name: &'a str,
    /// The instance's name (its [`Resource::name_attribute`]), or the import id.
    name: String,
    /// The protocol request being served, e.g. `ReadResource`.
    operation: &'static str,
    /// The CRUD step: validate, plan, create, read, update, delete or import.
    step: &'static str,
}

/// Runs one operation of a resource inside a span naming the resource type, instance and step
/// (so every log line of the operation, AWS calls included, carries them), logging when it ends
/// and how long it took, and turning a panic into an error diagnostic — the second wall behind
/// input validation: a bug (ours or a dependency's) ends that operation with a message and a log
/// line, never a reset gRPC stream or a dead provider with Terraform's lock still held.
async fn guarded<T>(call: &Call<'_>, work: impl Future<Output = T>) -> Result<T, Diagnostic> {
    let Call { type_name, name, operation, step } = call;
    let span =
        tracing::info_span!("resource", tf_resource_type = *type_name, tf_resource_name = %name, tf_step = *step);
    let started = Instant::now();
    let result = AssertUnwindSafe(work).catch_unwind().instrument(span.clone()).await;
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    span.in_scope(|| tracing::debug!(elapsed_ms, "{step} of {type_name} {name} finished"));
    result.map_err(|panic| {
        let message = panic_message(panic.as_ref());
        tracing::error!(parent: &span, operation, panic = %message, "internal error");
        Diagnostic {
            severity: Severity::Error,
            summary: "Internal error in the provider".to_owned(),
            detail: format!(
                "internal error in {type_name} {operation}: {message}. Nothing more was done in this operation; \
                 please report it with the provider's log (TF_LOG=debug)."
            ),
            path: None,
        }
    })
}

/// The text a panic carried (`panic!` with a literal or a formatted message), else a placeholder.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// Drops object attributes the current schema no longer has, so old state still decodes.
fn prune_to_type(value: serde_json::Value, ty: &Type) -> serde_json::Value {
    match (value, ty) {
        (serde_json::Value::Object(map), Type::Object { attributes, .. }) => serde_json::Value::Object(
            map.into_iter().filter_map(|(k, v)| attributes.get(&k).map(|t| (k, prune_to_type(v, t)))).collect(),
        ),
        (serde_json::Value::Array(items), Type::List(t) | Type::Set(t)) => {
            serde_json::Value::Array(items.into_iter().map(|v| prune_to_type(v, t)).collect())
        }
        (serde_json::Value::Object(map), Type::Map(t)) => {
            serde_json::Value::Object(map.into_iter().map(|(k, v)| (k, prune_to_type(v, t))).collect())
        }
        (other, _) => other,
    }
}

#[cfg(test)]
mod tests {
    //! The whole request flow, driven through the runtime with an in-memory resource.

    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;
    use crate::framework::schema::Block;
    use crate::framework::testing::sample_schema;

    /// Objects "in the cloud", keyed by id.
    #[derive(Default)]
    struct Cloud {
        objects: Mutex<BTreeMap<String, i64>>,
    }

    /// The name whose create and read hit a bug (panic), to prove the runtime's wall holds.
    const PANICS: &str = "panics";

    /// A resource whose `bug` flag makes apply change a planned value, to prove the check fires.
    struct Thing {
        bug: bool,
    }

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::object(pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())))
    }

    #[async_trait]
    impl Resource<Cloud> for Thing {
        fn type_name(&self) -> &'static str {
            "test_thing"
        }

        fn schema(&self) -> Schema {
            sample_schema()
        }

        async fn create(&self, ctx: &ResourceContext<Cloud>, request: &ApplyRequest<'_>, _: &mut Outcome) -> Value {
            let planned = request.planned;
            let name = planned.attr("name").as_str().unwrap_or_default().to_owned();
            assert_ne!(name, PANICS, "a bug met while creating");
            let size = planned.attr("size").as_i64().unwrap_or(0);
            ctx.client.objects.lock().unwrap().insert(name.clone(), size);
            let mut state = planned.clone();
            state.set_attr("id", Value::string(format!("id-{name}")));
            state.set_attr("revision", Value::number_i64(1));
            state
        }

        async fn read(&self, ctx: &ResourceContext<Cloud>, state: &Value, _: &mut Outcome) -> Option<Value> {
            let name = state.attr("name").as_str()?.to_owned();
            assert_ne!(name, PANICS, "a bug met while reading");
            let size = *ctx.client.objects.lock().unwrap().get(&name)?;
            let mut state = state.clone();
            state.set_attr("size", Value::number_i64(size));
            Some(state)
        }

        async fn update(&self, ctx: &ResourceContext<Cloud>, request: &ApplyRequest<'_>, _: &mut Outcome) -> Value {
            let (prior, planned) = (request.prior, request.planned);
            let name = planned.attr("name").as_str().unwrap_or_default().to_owned();
            let size = planned.attr("size").as_i64().unwrap_or(0);
            ctx.client.objects.lock().unwrap().insert(name, size);
            let mut state = planned.clone();
            let revision = prior.attr("revision").as_i64().unwrap_or(0) + 1;
            state.set_attr("revision", Value::number_i64(revision));
            if self.bug {
                state.set_attr("size", Value::number_i64(size + 1));
            }
            state
        }

        async fn delete(&self, ctx: &ResourceContext<Cloud>, prior: &Value, _: &mut Diagnostics) {
            if let Some(name) = prior.attr("name").as_str() {
                ctx.client.objects.lock().unwrap().remove(name);
            }
        }
    }

    struct TestProvider {
        bug: bool,
    }

    #[async_trait]
    impl Provider for TestProvider {
        type Data = Cloud;

        fn schema(&self) -> Schema {
            Schema::new(0, Block::new("Test provider."))
        }

        async fn configure(&self, config: &Value, _: &mut Diagnostics) -> Option<Cloud> {
            config.is_wholly_known().then(Cloud::default)
        }

        fn resources(&self) -> Vec<Arc<dyn Resource<Cloud>>> {
            vec![Arc::new(Thing { bug: self.bug })]
        }
    }

    async fn runtime(bug: bool) -> ProviderRuntime<TestProvider> {
        let runtime = ProviderRuntime::new(TestProvider { bug });
        assert!(runtime.configure(&obj(&[])).await.is_empty());
        runtime
    }

    fn config(name: &str, size: Option<i64>) -> Value {
        obj(&[
            ("name", Value::string(name)),
            ("size", size.map_or(Value::Null, Value::number_i64)),
            ("id", Value::Null),
            ("revision", Value::Null),
        ])
    }

    /// What Terraform proposes: config, with prior values kept for attributes config leaves null.
    fn proposed(config: &Value, prior: &Value) -> Value {
        let mut p = config.clone();
        for key in ["size", "id", "revision"] {
            if config.attr(key).is_null() {
                p.set_attr(key, prior.attr(key).clone());
            }
        }
        p
    }

    async fn apply(rt: &ProviderRuntime<TestProvider>, cfg: &Value, prior: &Value) -> (PlanResponse, StateResult) {
        let plan = rt.plan_resource_change("test_thing", cfg, prior, &proposed(cfg, prior), &[]).await;
        assert!(!plan.diagnostics.has_errors(), "{}", plan.diagnostics);
        let result =
            rt.apply_resource_change("test_thing", prior, &plan.planned, &plan.planned, plan.private.clone()).await;
        (plan, result)
    }

    #[tokio::test]
    async fn a_panic_in_a_resource_is_an_error_diagnostic_and_the_runtime_keeps_serving() {
        let rt = runtime(false).await;
        let internal = |diags: &Diagnostics, operation: &str| {
            diags.iter().any(|d| {
                d.severity == Severity::Error
                    && d.detail.contains(&format!("internal error in test_thing {operation}"))
                    && d.detail.contains("a bug met while")
            })
        };
        let (_, created) = apply(&rt, &config(PANICS, None), &Value::Null).await;
        assert!(internal(&created.diagnostics, "ApplyResourceChange (create)"), "{:?}", created.diagnostics);
        assert!(created.state.is_null(), "a create that panicked records nothing");

        let poisoned = obj(&[
            ("name", Value::string(PANICS)),
            ("size", Value::number_i64(1)),
            ("id", Value::string("id-panics")),
            ("revision", Value::number_i64(1)),
        ]);
        let read = rt.read_resource("test_thing", &poisoned, vec![7]).await;
        assert!(internal(&read.diagnostics, "ReadResource"), "{:?}", read.diagnostics);
        assert_eq!((read.state, read.private), (poisoned, vec![7]), "a read that panicked keeps the state");

        let (_, fine) = apply(&rt, &config("a", Some(2)), &Value::Null).await;
        assert!(fine.diagnostics.is_empty(), "the runtime still serves: {:?}", fine.diagnostics);
    }

    #[tokio::test]
    async fn create_then_noop_then_update_then_replace() {
        let rt = runtime(false).await;
        let (plan, created) = apply(&rt, &config("a", None), &Value::Null).await;
        assert_eq!(plan.planned.attr("size"), &Value::number_i64(1), "default planned");
        assert!(plan.planned.attr("id").is_unknown());
        assert!(created.diagnostics.is_empty(), "{}", created.diagnostics);
        assert_eq!(created.state.attr("id"), &Value::string("id-a"));

        let noop = rt
            .plan_resource_change(
                "test_thing",
                &config("a", None),
                &created.state,
                &proposed(&config("a", None), &created.state),
                &[],
            )
            .await;
        assert_eq!(noop.planned, created.state, "a no-op plan equals prior state");
        assert!(noop.requires_replace.is_empty());

        let (plan, updated) = apply(&rt, &config("a", Some(5)), &created.state).await;
        assert_eq!(plan.planned.attr("id"), &Value::string("id-a"), "id kept from state");
        assert!(plan.planned.attr("revision").is_unknown(), "revision changes on update");
        assert!(plan.requires_replace.is_empty());
        assert!(updated.diagnostics.is_empty(), "{}", updated.diagnostics);
        assert_eq!(updated.state.attr("revision"), &Value::number_i64(2));

        let rename = rt
            .plan_resource_change(
                "test_thing",
                &config("b", Some(5)),
                &updated.state,
                &proposed(&config("b", Some(5)), &updated.state),
                &[],
            )
            .await;
        assert_eq!(rename.requires_replace, vec![AttributePath::root().attr("name")]);
    }

    #[tokio::test]
    async fn invalid_values_are_reported_on_their_attribute_before_any_call() {
        let rt = runtime(false).await;
        let diags = rt.validate_resource_config("test_thing", &config("a", Some(99)));
        let error = diags.iter().next().expect("an error");
        assert_eq!(error.path, Some(AttributePath::root().attr("size")));
        let plan = rt
            .plan_resource_change("test_thing", &config("a", Some(99)), &Value::Null, &config("a", Some(99)), &[])
            .await;
        assert!(plan.diagnostics.has_errors());
    }

    #[tokio::test]
    async fn an_apply_that_changes_a_planned_value_is_caught() {
        let rt = runtime(true).await;
        let (_, created) = apply(&rt, &config("a", None), &Value::Null).await;
        let (_, updated) = apply(&rt, &config("a", Some(3)), &created.state).await;
        assert!(updated.diagnostics.has_errors(), "the contract check must flag the changed size");
        let error = updated.diagnostics.iter().next().expect("an error");
        assert_eq!(error.path, Some(AttributePath::root().attr("size")));
    }

    #[tokio::test]
    async fn read_of_a_vanished_object_removes_it_and_destroy_plans_null() {
        let rt = runtime(false).await;
        let (_, created) = apply(&rt, &config("a", None), &Value::Null).await;
        let destroy = rt.plan_resource_change("test_thing", &Value::Null, &created.state, &Value::Null, &[]).await;
        assert_eq!(destroy.planned, Value::Null);
        let deleted =
            rt.apply_resource_change("test_thing", &created.state, &Value::Null, &Value::Null, Vec::new()).await;
        assert_eq!(deleted.state, Value::Null);
        let read = rt.read_resource("test_thing", &created.state, Vec::new()).await;
        assert_eq!(read.state, Value::Null);
        assert!(read.diagnostics.is_empty());
    }

    #[tokio::test]
    async fn unknown_provider_config_plans_but_does_not_apply() {
        let rt = ProviderRuntime::new(TestProvider { bug: false });
        assert!(rt.configure(&obj(&[("x", Value::unknown())])).await.is_empty());
        let plan =
            rt.plan_resource_change("test_thing", &config("a", None), &Value::Null, &config("a", None), &[]).await;
        assert!(!plan.diagnostics.has_errors());
        let applied =
            rt.apply_resource_change("test_thing", &Value::Null, &plan.planned, &plan.planned, Vec::new()).await;
        assert!(applied.diagnostics.has_errors());
    }

    #[tokio::test]
    async fn state_from_an_older_schema_without_upgrader_is_refused_and_extra_keys_are_dropped() {
        let rt = runtime(false).await;
        let (_, diags) = rt.upgrade_resource_state("test_thing", 0, br#"{"name":"a"}"#);
        assert!(diags.has_errors());
        let (value, diags) =
            rt.upgrade_resource_state("test_thing", 1, br#"{"name":"a","size":2,"id":"x","revision":1,"gone":true}"#);
        assert!(diags.is_empty(), "{diags}");
        assert_eq!(value.attr("size"), &Value::number_i64(2));
    }
}
