//! `plugin.GRPCController`: how go-plugin's host tells the plugin process to exit.
//!
//! Terraform calls `Shutdown` when it is done with a provider, then waits briefly before killing
//! the process. We answer first and then trip the shared [`Shutdown`] latch, so the server stops
//! gracefully (the reply is still delivered) and `serve` returns.

use tonic::{Request, Response, Status};

use super::shutdown::Shutdown;
use crate::protocol::go_plugin::Empty;
use crate::protocol::go_plugin::grpc_controller_server::GrpcController;

/// Serves `GRPCController/Shutdown` by triggering the latch.
#[tonic::async_trait]
impl GrpcController for Shutdown {
    async fn shutdown(&self, _request: Request<Empty>) -> Result<Response<Empty>, Status> {
        tracing::debug!("plugin host requested shutdown");
        self.trigger();
        Ok(Response::new(Empty {}))
    }
}
