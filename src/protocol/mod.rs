//! Generated gRPC types for the two wire contracts a Terraform provider speaks.
//!
//! * [`tfplugin6`] — Terraform's plugin protocol 6.10 (`proto/tfplugin6.proto`): the `Provider`
//!   service Terraform calls for schemas, validation, plan, apply and the rest.
//! * [`go_plugin`] — go-plugin's companion services (`proto/grpc_*.proto`, package `plugin`):
//!   controller, stdio and broker, which the plugin transport serves next to the provider.
//!
//! The code is produced by `build.rs` from the `.proto` files. [`server`] serves the provider
//! service on top of the framework runtime; [`convert`] maps wire messages to framework types.

pub mod convert;
pub mod server;

/// Terraform plugin protocol 6.10 messages, plus the `provider_server` / `provider_client` modules.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod tfplugin6 {
    tonic::include_proto!("tfplugin6");
}

/// go-plugin's `plugin` package: `GRPCController`, `GRPCStdio` and `GRPCBroker`.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod go_plugin {
    tonic::include_proto!("plugin");
}
