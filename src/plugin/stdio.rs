//! `plugin.GRPCStdio`: the channel go-plugin offers for relaying a plugin's stdout and stderr.
//!
//! Our logs already reach Terraform as JSON lines on stderr, which go-plugin reads directly, and
//! nothing else writes to stdout after the handshake, so there is nothing to forward. The host
//! still opens this stream and expects it to stay up, so it is held open, empty, until shutdown.

use tonic::{Request, Response, Status};

use super::shutdown::{EmptyStream, Shutdown, empty_until};
use crate::protocol::go_plugin::StdioData;
use crate::protocol::go_plugin::grpc_stdio_server::GrpcStdio;

/// Serves `GRPCStdio/StreamStdio` as a stream that ends, without items, at shutdown.
#[tonic::async_trait]
impl GrpcStdio for Shutdown {
    type StreamStdioStream = EmptyStream<StdioData>;

    async fn stream_stdio(&self, _request: Request<()>) -> Result<Response<Self::StreamStdioStream>, Status> {
        let shutdown = self.clone();
        Ok(Response::new(empty_until(async move { shutdown.triggered().await })))
    }
}
