//! `plugin.GRPCBroker`: go-plugin's negotiation channel for extra, brokered connections.
//!
//! This provider offers no brokered services, but hosts may open the stream anyway; refusing it
//! would surface as an error in Terraform's log. We accept it, read and drop whatever the host
//! announces, and close our side at shutdown or when the host closes theirs.

use futures::StreamExt as _;
use tonic::{Request, Response, Status, Streaming};

use super::shutdown::{EmptyStream, Shutdown, empty_until};
use crate::protocol::go_plugin::ConnInfo;
use crate::protocol::go_plugin::grpc_broker_server::GrpcBroker;

/// Serves `GRPCBroker/StartStream` without ever offering a connection.
#[tonic::async_trait]
impl GrpcBroker for Shutdown {
    type StartStreamStream = EmptyStream<ConnInfo>;

    async fn start_stream(
        &self,
        request: Request<Streaming<ConnInfo>>,
    ) -> Result<Response<Self::StartStreamStream>, Status> {
        let shutdown = self.clone();
        let mut announcements = request.into_inner();
        let drain_until_closed = async move {
            while let Some(announcement) = announcements.next().await {
                match announcement {
                    Ok(info) => tracing::debug!(service_id = info.service_id, "ignoring brokered connection offer"),
                    Err(_) => break,
                }
            }
        };
        let until_done = async move {
            tokio::select! {
                () = shutdown.triggered() => {}
                () = drain_until_closed => {}
            }
        };
        Ok(Response::new(empty_until(until_done)))
    }
}
