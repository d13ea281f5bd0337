//! `plugin.GRPCBroker`: go-plugin's negotiation channel for extra, brokered connections.
//!
//! This provider offers no brokered services, but hosts may open the stream anyway; refusing it
//! would surface as an error in Terraform's log. We accept it, read and drop whatever the host
//! announces, and close our side at shutdown or when the host closes theirs.

use std::pin::Pin;

use futures::{Stream, StreamExt as _};
use tonic::{Request, Response, Status, Streaming};

use super::shutdown::Shutdown;
use crate::protocol::go_plugin::ConnInfo;
use crate::protocol::go_plugin::grpc_broker_server::{GrpcBroker, GrpcBrokerServer};

/// Serves `GRPCBroker/StartStream` without ever offering a connection.
#[derive(Debug)]
pub struct Broker {
    shutdown: Shutdown,
}

impl Broker {
    /// A tonic service whose streams close when `shutdown` is triggered.
    pub fn service(shutdown: Shutdown) -> GrpcBrokerServer<Self> {
        GrpcBrokerServer::new(Self { shutdown })
    }
}

#[tonic::async_trait]
impl GrpcBroker for Broker {
    type StartStreamStream = Pin<Box<dyn Stream<Item = Result<ConnInfo, Status>> + Send>>;

    async fn start_stream(
        &self,
        request: Request<Streaming<ConnInfo>>,
    ) -> Result<Response<Self::StartStreamStream>, Status> {
        let shutdown = self.shutdown.clone();
        let mut announcements = request.into_inner();
        let drain_until_closed = async move {
            while let Some(announcement) = announcements.next().await {
                match announcement {
                    Ok(info) => tracing::debug!(service_id = info.service_id, "ignoring brokered connection offer"),
                    Err(_) => break,
                }
            }
        };
        let until_done = futures::stream::once(async move {
            tokio::select! {
                () = shutdown.triggered() => {}
                () = drain_until_closed => {}
            }
        })
        .filter_map(|()| futures::future::ready(None));
        Ok(Response::new(Box::pin(until_done)))
    }
}
