//! The `retool` provider: its configuration block and the AWS clients every resource uses.

pub mod aws_error;
pub mod clients;
pub mod config;
pub mod waiter;

use std::sync::Arc;

use async_trait::async_trait;

use crate::framework::{Diagnostics, Provider, Resource, Schema};
use crate::value::{AttributePath, Value};

pub use aws_error::AwsError;
pub use clients::AwsClients;
pub use config::ProviderConfig;

/// The provider served to Terraform as `retool`.
#[derive(Debug, Default)]
pub struct RetoolProvider;

impl RetoolProvider {
    pub fn new() -> Self {
        Self
    }
}

#[async_trait]
impl Provider for RetoolProvider {
    type Data = AwsClients;

    fn schema(&self) -> Schema {
        Schema::new(0, config::schema_block())
    }

    fn validate_config(&self, config: &Value, diags: &mut Diagnostics) {
        // Terraform enforces `role_arn` as required inside the block; say so again here so the
        // message is ours and points at the attribute even for hand-written JSON configuration.
        let assume_role = config.attr("assume_role");
        if !assume_role.is_null() && !assume_role.is_unknown() && assume_role.attr("role_arn").is_null() {
            diags.attribute_error(
                AttributePath::root().attr("assume_role").attr("role_arn"),
                "Missing role_arn",
                "The assume_role block needs the ARN of the role to assume.",
            );
        }
    }

    async fn configure(&self, config: &Value, diags: &mut Diagnostics) -> Option<AwsClients> {
        if !config.is_wholly_known() {
            tracing::debug!("provider configuration not yet known; planning without AWS clients");
            return None;
        }
        let config = ProviderConfig::from_value(config, diags)?;
        match AwsClients::new(&config).await {
            Ok(clients) => Some(clients),
            Err(error) => {
                let path = AttributePath::root().attr("region");
                diags.attribute_error(path, "AWS region not set", error.to_string());
                None
            }
        }
    }

    fn resources(&self) -> Vec<Arc<dyn Resource<AwsClients>>> {
        crate::resources::all()
    }
}
