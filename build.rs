//! Generates the gRPC code for Terraform's plugin protocol and go-plugin's companion services.
//!
//! The `.proto` files are parsed with `protox` (pure Rust) so a build never needs a system
//! `protoc`; `tonic-prost-build` then emits prost messages plus tonic servers (what the provider
//! serves) and clients (what the transport tests use to talk to it).

use std::error::Error;

const PROTO_DIR: &str = "proto";
const PROTO_FILES: [&str; 4] =
    ["proto/tfplugin6.proto", "proto/grpc_controller.proto", "proto/grpc_stdio.proto", "proto/grpc_broker.proto"];

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=build.rs");
    for file in PROTO_FILES {
        println!("cargo:rerun-if-changed={file}");
    }

    let descriptors = protox::compile(PROTO_FILES, [PROTO_DIR])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .emit_rerun_if_changed(false)
        .compile_fds(descriptors)?;
    Ok(())
}
