//! The composition root: the `retool` provider block, the AWS clients it configures, and the list
//! of resources it serves. Nothing else lives here; resources and the AWS layer never import it.

pub mod config;

use std::sync::Arc;

use async_trait::async_trait;

use crate::framework::{Diagnostics, Provider, Resource, Schema};
use crate::value::{AttributePath, Value};

use crate::aws::AwsClients;

/// The provider served to Terraform as `retool`.
#[derive(Debug, Default)]
pub struct RetoolProvider;

impl RetoolProvider {
    /// The provider, before Terraform configures it.
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
        let settings = config::settings_from_value(config, diags)?;
        match AwsClients::new(&settings).await {
            Ok(clients) => Some(clients),
            Err(error) => {
                let path = AttributePath::root().attr("region");
                diags.attribute_error(path, "AWS region not set", error.to_string());
                None
            }
        }
    }

    fn resources(&self) -> Vec<Arc<dyn Resource<AwsClients>>> {
        vec![
            Arc::new(crate::resources::network::NetworkResource),
            Arc::new(crate::resources::permission_boundary::PermissionBoundaryResource),
            Arc::new(crate::resources::deployment::DeploymentResource),
        ]
    }
}
