//! The `Provider` trait: provider-level schema, configuration and the resources it serves.

use std::sync::Arc;

use async_trait::async_trait;

use crate::value::Value;

use super::diagnostics::Diagnostics;
use super::resource::Resource;
use super::schema::Schema;

/// A provider: the schema of its `provider` block, how that configuration becomes the data every
/// resource operation runs with, and the resource types it serves.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// What `configure` produces and every resource operation receives: API clients and settings.
    type Data: Send + Sync + 'static;

    /// The schema of the provider block (`provider "retool" { ... }`).
    fn schema(&self) -> Schema;

    /// Cross-attribute checks of the provider block; attribute validators have already run.
    fn validate_config(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Builds the provider data. The configuration may contain unknown values during planning; in
    /// that case return `None` without an error and planning carries on without clients.
    async fn configure(&self, config: &Value, diags: &mut Diagnostics) -> Option<Self::Data>;

    /// Every resource type the provider serves; asked once, when the runtime is built.
    fn resources(&self) -> Vec<Arc<dyn Resource<Self::Data>>>;
}
