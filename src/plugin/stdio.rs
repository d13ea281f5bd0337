//! `plugin.GRPCStdio`: the channel go-plugin offers for relaying a plugin's stdout and stderr.
//!
//! Our logs already reach Terraform as JSON lines on stderr, which go-plugin reads directly, and
//! nothing else writes to stdout after the handshake, so there is nothing to forward. The host
//! still opens this stream and expects it to stay up, so it is held open, empty, until shutdown.

use std::pin::Pin;

use futures::{Stream, StreamExt as _};
use tonic::{Request, Response, Status};

use super::shutdown::Shutdown;
use crate::protocol::go_plugin::StdioData;
use crate::protocol::go_plugin::grpc_stdio_server::{GrpcStdio, GrpcStdioServer};

/// Serves `GRPCStdio/StreamStdio` as a stream that ends, without items, at shutdown.
#[derive(Debug)]
pub struct Stdio {
    shutdown: Shutdown,
}

impl Stdio {
    /// A tonic service whose streams close when `shutdown` is triggered.
    pub fn service(shutdown: Shutdown) -> GrpcStdioServer<Self> {
        GrpcStdioServer::new(Self { shutdown })
    }
}

#[tonic::async_trait]
impl GrpcStdio for Stdio {
    type StreamStdioStream = Pin<Box<dyn Stream<Item = Result<StdioData, Status>> + Send>>;

    async fn stream_stdio(&self, _request: Request<()>) -> Result<Response<Self::StreamStdioStream>, Status> {
        let shutdown = self.shutdown.clone();
        let until_shutdown = futures::stream::once(async move { shutdown.triggered().await })
            .filter_map(|()| futures::future::ready(None));
        Ok(Response::new(Box::pin(until_shutdown)))
    }
}
