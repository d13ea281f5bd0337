//! The tfplugin6 `Provider` gRPC service, served for any framework provider.
//!
//! Each RPC decodes its values with the schema's type, hands plain values to the
//! [`ProviderRuntime`], and encodes the answer. Problems travel back as diagnostics in the response
//! (which Terraform shows with context), not as gRPC errors (which it shows as a crashed plugin).
//! RPCs for features this provider does not offer — data sources, functions, ephemeral and list
//! resources, actions, state stores — answer with an empty result or a clear diagnostic.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use tonic::{Request, Response, Status};

use crate::framework::{Diagnostics, Provider, ProviderRuntime};
use crate::value::{Type, Value};

use super::convert;
use super::tfplugin6 as tf;

type Reply<T> = Result<Response<T>, Status>;
type EventStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// Serves one provider over tfplugin6.
pub struct ProviderService<P: Provider> {
    runtime: Arc<ProviderRuntime<P>>,
}

impl<P: Provider> ProviderService<P> {
    /// Serves `provider` through a fresh runtime; it is configured when Terraform calls
    /// ConfigureProvider.
    pub fn new(provider: P) -> Self {
        Self { runtime: Arc::new(ProviderRuntime::new(provider)) }
    }

    /// The generated tonic server around this service, with message limits raised for large plans.
    pub fn into_server(self, max_message_bytes: usize) -> tf::provider_server::ProviderServer<Self> {
        tf::provider_server::ProviderServer::new(self)
            .max_decoding_message_size(max_message_bytes)
            .max_encoding_message_size(max_message_bytes)
    }

    fn capabilities() -> tf::ServerCapabilities {
        tf::ServerCapabilities {
            plan_destroy: true,
            get_provider_schema_optional: true,
            move_resource_state: false,
            generate_resource_config: false,
        }
    }
}

/// The refusal of a protocol feature the provider does not offer, naming what it does offer.
fn unsupported<P: Provider>(runtime: &ProviderRuntime<P>, what: &str) -> Vec<tf::Diagnostic> {
    let offered: Vec<&str> = runtime.resource_schemas().map(|(name, _)| name).collect();
    let mut diags = Diagnostics::new();
    diags.error(
        format!("{what} not supported"),
        format!("This provider offers no {what}; only the managed resources {}.", offered.join(", ")),
    );
    convert::diagnostics(diags)
}

/// Decodes a change's prior state, new state and configuration, each reporting its own problems;
/// `None` unless all three decode.
fn decode_change(
    ty: &Type,
    values: [(Option<&tf::DynamicValue>, &str); 3],
    diags: &mut Diagnostics,
) -> Option<[Value; 3]> {
    let [prior, new, config] = values.map(|(value, what)| convert::decode(value, ty, what, diags));
    Some([prior?, new?, config?])
}

fn single_event<T: Send + 'static>(event: T) -> EventStream<T> {
    Box::pin(futures::stream::once(async move { Ok(event) }))
}

/// Implements RPCs of features this provider does not offer, one row each (`"feature":
/// rpc(module::Request);`): each answers an otherwise empty `tf::module::Response` whose diagnostics
/// refuse the feature ([`unsupported`]). The methods are written out as `#[async_trait]` expands
/// them, because that attribute does not see into methods a macro makes.
macro_rules! refused_rpcs {
    ($($what:literal: $rpc:ident($module:ident::$request:ident);)*) => {$(
        fn $rpc<'life0, 'async_trait>(
            &'life0 self,
            _: Request<tf::$module::$request>,
        ) -> Pin<Box<dyn Future<Output = Reply<tf::$module::Response>> + Send + 'async_trait>>
        where
            'life0: 'async_trait,
            Self: 'async_trait,
        {
            Box::pin(async move {
                let diagnostics = unsupported(&self.runtime, $what);
                #[allow(clippy::needless_update, reason = "one literal serves responses with and without other fields")]
                let response = tf::$module::Response { diagnostics, ..Default::default() };
                Ok(Response::new(response))
            })
        }
    )*};
}

#[tonic::async_trait]
impl<P: Provider> tf::provider_server::Provider for ProviderService<P> {
    refused_rpcs! {
        "data sources": validate_data_resource_config(validate_data_resource_config::Request);
        "resource identities": upgrade_resource_identity(upgrade_resource_identity::Request);
        "data sources": read_data_source(read_data_source::Request);
        "configuration generation": generate_resource_config(generate_resource_config::Request);
        "ephemeral resources": validate_ephemeral_resource_config(validate_ephemeral_resource_config::Request);
        "ephemeral resources": open_ephemeral_resource(open_ephemeral_resource::Request);
        "ephemeral resources": renew_ephemeral_resource(renew_ephemeral_resource::Request);
        "ephemeral resources": close_ephemeral_resource(close_ephemeral_resource::Request);
        "list resources": validate_list_resource_config(validate_list_resource_config::Request);
        "state stores": validate_state_store_config(validate_state_store::Request);
        "state stores": configure_state_store(configure_state_store::Request);
        "state stores": lock_state(lock_state::Request);
        "state stores": unlock_state(unlock_state::Request);
        "state stores": get_states(get_states::Request);
        "state stores": delete_state(delete_state::Request);
        "actions": plan_action(plan_action::Request);
        "actions": validate_action_config(validate_action_config::Request);
    }

    async fn get_metadata(&self, _: Request<tf::get_metadata::Request>) -> Reply<tf::get_metadata::Response> {
        Ok(Response::new(tf::get_metadata::Response {
            server_capabilities: Some(Self::capabilities()),
            resources: self
                .runtime
                .resource_schemas()
                .map(|(name, _)| tf::get_metadata::ResourceMetadata { type_name: name.to_owned() })
                .collect(),
            ..Default::default()
        }))
    }

    async fn get_provider_schema(
        &self,
        _: Request<tf::get_provider_schema::Request>,
    ) -> Reply<tf::get_provider_schema::Response> {
        Ok(Response::new(tf::get_provider_schema::Response {
            provider: Some(convert::schema(self.runtime.provider_schema())),
            resource_schemas: self
                .runtime
                .resource_schemas()
                .map(|(name, schema)| (name.to_owned(), convert::schema(schema)))
                .collect(),
            server_capabilities: Some(Self::capabilities()),
            ..Default::default()
        }))
    }

    async fn validate_provider_config(
        &self,
        request: Request<tf::validate_provider_config::Request>,
    ) -> Reply<tf::validate_provider_config::Response> {
        let request = request.into_inner();
        let mut diags = Diagnostics::new();
        let ty = self.runtime.provider_schema().value_type();
        if let Some(config) = convert::decode(request.config.as_ref(), &ty, "provider configuration", &mut diags) {
            diags.extend(self.runtime.validate_provider_config(&config));
        }
        Ok(Response::new(tf::validate_provider_config::Response { diagnostics: convert::diagnostics(diags) }))
    }

    async fn validate_resource_config(
        &self,
        request: Request<tf::validate_resource_config::Request>,
    ) -> Reply<tf::validate_resource_config::Response> {
        let request = request.into_inner();
        let mut diags = Diagnostics::new();
        if let Some(ty) = self.type_of(&request.type_name, &mut diags)
            && let Some(config) = convert::decode(request.config.as_ref(), &ty, "configuration", &mut diags)
        {
            diags.extend(self.runtime.validate_resource_config(&request.type_name, &config));
        }
        Ok(Response::new(tf::validate_resource_config::Response { diagnostics: convert::diagnostics(diags) }))
    }

    async fn upgrade_resource_state(
        &self,
        request: Request<tf::upgrade_resource_state::Request>,
    ) -> Reply<tf::upgrade_resource_state::Response> {
        let request = request.into_inner();
        let mut diags = Diagnostics::new();
        let mut upgraded_state = None;
        if let Some(ty) = self.type_of(&request.type_name, &mut diags) {
            let raw = request.raw_state.unwrap_or_default();
            if raw.json.is_empty() && !raw.flatmap.is_empty() {
                diags.error(
                    "Legacy state format not supported",
                    "This state was written in Terraform 0.11's flatmap format, which this provider never wrote.",
                );
            } else {
                let (value, more) = self.runtime.upgrade_resource_state(&request.type_name, request.version, &raw.json);
                diags.extend(more);
                if !diags.has_errors() {
                    upgraded_state = convert::encode(&value, &ty, "upgraded state", &mut diags);
                }
            }
        }
        Ok(Response::new(tf::upgrade_resource_state::Response {
            upgraded_state,
            diagnostics: convert::diagnostics(diags),
        }))
    }

    async fn get_resource_identity_schemas(
        &self,
        _: Request<tf::get_resource_identity_schemas::Request>,
    ) -> Reply<tf::get_resource_identity_schemas::Response> {
        Ok(Response::new(tf::get_resource_identity_schemas::Response::default()))
    }

    async fn configure_provider(
        &self,
        request: Request<tf::configure_provider::Request>,
    ) -> Reply<tf::configure_provider::Response> {
        let request = request.into_inner();
        tracing::debug!(terraform_version = %request.terraform_version, "configuring provider");
        let mut diags = Diagnostics::new();
        let ty = self.runtime.provider_schema().value_type();
        if let Some(config) = convert::decode(request.config.as_ref(), &ty, "provider configuration", &mut diags) {
            diags.extend(self.runtime.configure(&config).await);
        }
        Ok(Response::new(tf::configure_provider::Response { diagnostics: convert::diagnostics(diags) }))
    }

    async fn read_resource(&self, request: Request<tf::read_resource::Request>) -> Reply<tf::read_resource::Response> {
        let request = request.into_inner();
        let mut diags = Diagnostics::new();
        let mut response = tf::read_resource::Response::default();
        if let Some(ty) = self.type_of(&request.type_name, &mut diags)
            && let Some(state) = convert::decode(request.current_state.as_ref(), &ty, "current state", &mut diags)
        {
            let result = self.runtime.read_resource(&request.type_name, &state, request.private).await;
            diags.extend(result.diagnostics);
            response.new_state = convert::encode(&result.state, &ty, "refreshed state", &mut diags);
            response.private = result.private;
        }
        response.diagnostics = convert::diagnostics(diags);
        Ok(Response::new(response))
    }

    async fn plan_resource_change(
        &self,
        request: Request<tf::plan_resource_change::Request>,
    ) -> Reply<tf::plan_resource_change::Response> {
        let request = request.into_inner();
        let mut diags = Diagnostics::new();
        let mut response = tf::plan_resource_change::Response::default();
        if let Some(ty) = self.type_of(&request.type_name, &mut diags)
            && let Some([prior, proposed, config]) = decode_change(
                &ty,
                [
                    (request.prior_state.as_ref(), "prior state"),
                    (request.proposed_new_state.as_ref(), "proposed new state"),
                    (request.config.as_ref(), "configuration"),
                ],
                &mut diags,
            )
        {
            let plan = self
                .runtime
                .plan_resource_change(&request.type_name, &config, &prior, &proposed, &request.prior_private)
                .await;
            diags.extend(plan.diagnostics);
            response.planned_state = convert::encode(&plan.planned, &ty, "planned state", &mut diags);
            response.requires_replace = plan.requires_replace.iter().map(convert::path).collect();
            response.planned_private = plan.private;
        }
        response.diagnostics = convert::diagnostics(diags);
        Ok(Response::new(response))
    }

    async fn apply_resource_change(
        &self,
        request: Request<tf::apply_resource_change::Request>,
    ) -> Reply<tf::apply_resource_change::Response> {
        let request = request.into_inner();
        let mut diags = Diagnostics::new();
        let mut response = tf::apply_resource_change::Response::default();
        if let Some(ty) = self.type_of(&request.type_name, &mut diags)
            && let Some([prior, planned, config]) = decode_change(
                &ty,
                [
                    (request.prior_state.as_ref(), "prior state"),
                    (request.planned_state.as_ref(), "planned state"),
                    (request.config.as_ref(), "configuration"),
                ],
                &mut diags,
            )
        {
            let result = self
                .runtime
                .apply_resource_change(&request.type_name, &prior, &planned, &config, request.planned_private)
                .await;
            diags.extend(result.diagnostics);
            response.new_state = convert::encode(&result.state, &ty, "new state", &mut diags);
            response.private = result.private;
        }
        response.diagnostics = convert::diagnostics(diags);
        Ok(Response::new(response))
    }

    async fn import_resource_state(
        &self,
        request: Request<tf::import_resource_state::Request>,
    ) -> Reply<tf::import_resource_state::Response> {
        let request = request.into_inner();
        let mut diags = Diagnostics::new();
        let mut imported_resources = Vec::new();
        if request.id.is_empty() {
            diags.error(
                "Import by identity not supported",
                "Import these resources by id: `terraform import ADDRESS ID`.",
            );
        } else if let Some(ty) = self.type_of(&request.type_name, &mut diags) {
            let (imported, more) = self.runtime.import_resource_state(&request.type_name, &request.id).await;
            diags.extend(more);
            for object in imported {
                if let Some(state) = convert::encode(&object.state, &ty, "imported state", &mut diags) {
                    imported_resources.push(tf::import_resource_state::ImportedResource {
                        type_name: object.type_name,
                        state: Some(state),
                        private: object.private,
                        identity: None,
                    });
                }
            }
        }
        Ok(Response::new(tf::import_resource_state::Response {
            imported_resources,
            diagnostics: convert::diagnostics(diags),
            deferred: None,
        }))
    }

    async fn move_resource_state(
        &self,
        request: Request<tf::move_resource_state::Request>,
    ) -> Reply<tf::move_resource_state::Response> {
        let request = request.into_inner();
        let mut diags = Diagnostics::new();
        diags.error(
            "Moving resource state not supported",
            format!(
                "{} cannot be moved into {}: this provider does not support `moved` blocks across resource types.",
                request.source_type_name, request.target_type_name
            ),
        );
        Ok(Response::new(tf::move_resource_state::Response {
            diagnostics: convert::diagnostics(diags),
            ..Default::default()
        }))
    }

    type ListResourceStream = EventStream<tf::list_resource::Event>;

    async fn list_resource(&self, _: Request<tf::list_resource::Request>) -> Reply<Self::ListResourceStream> {
        Ok(Response::new(single_event(tf::list_resource::Event {
            diagnostic: unsupported(&self.runtime, "list resources"),
            ..Default::default()
        })))
    }

    async fn get_functions(&self, _: Request<tf::get_functions::Request>) -> Reply<tf::get_functions::Response> {
        Ok(Response::new(tf::get_functions::Response::default()))
    }

    async fn call_function(&self, request: Request<tf::call_function::Request>) -> Reply<tf::call_function::Response> {
        Ok(Response::new(tf::call_function::Response {
            result: None,
            error: Some(tf::FunctionError {
                text: format!("this provider has no function {:?}", request.into_inner().name),
                function_argument: None,
            }),
        }))
    }

    type ReadStateBytesStream = EventStream<tf::read_state_bytes::Response>;

    async fn read_state_bytes(&self, _: Request<tf::read_state_bytes::Request>) -> Reply<Self::ReadStateBytesStream> {
        Ok(Response::new(single_event(tf::read_state_bytes::Response {
            diagnostics: unsupported(&self.runtime, "state stores"),
            ..Default::default()
        })))
    }

    async fn write_state_bytes(
        &self,
        _: Request<tonic::Streaming<tf::write_state_bytes::RequestChunk>>,
    ) -> Reply<tf::write_state_bytes::Response> {
        Ok(Response::new(tf::write_state_bytes::Response { diagnostics: unsupported(&self.runtime, "state stores") }))
    }

    type InvokeActionStream = EventStream<tf::invoke_action::Event>;

    async fn invoke_action(&self, _: Request<tf::invoke_action::Request>) -> Reply<Self::InvokeActionStream> {
        Ok(Response::new(single_event(tf::invoke_action::Event {
            r#type: Some(tf::invoke_action::event::Type::Completed(tf::invoke_action::event::Completed {
                diagnostics: unsupported(&self.runtime, "actions"),
            })),
        })))
    }

    async fn stop_provider(&self, _: Request<tf::stop_provider::Request>) -> Reply<tf::stop_provider::Response> {
        tracing::info!("Terraform asked the provider to stop; cancelling running operations");
        self.runtime.stop();
        Ok(Response::new(tf::stop_provider::Response { error: String::new() }))
    }
}

impl<P: Provider> ProviderService<P> {
    fn type_of(&self, type_name: &str, diags: &mut Diagnostics) -> Option<Type> {
        let ty = self.runtime.resource_type(type_name).cloned();
        if ty.is_none() {
            diags.error("Unknown resource type", format!("This provider has no resource type {type_name:?}."));
        }
        ty
    }
}
