//! Every resource type the provider serves.

pub mod deployment;
pub mod network;
pub mod permission_boundary;

use std::sync::Arc;

use crate::framework::Resource;
use crate::provider::AwsClients;

/// All resources of the `retool` provider, for the provider's registry.
pub fn all() -> Vec<Arc<dyn Resource<AwsClients>>> {
    vec![
        Arc::new(network::NetworkResource),
        Arc::new(permission_boundary::PermissionBoundaryResource),
        Arc::new(deployment::DeploymentResource),
    ]
}
