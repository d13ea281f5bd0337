//! Shared machinery of the acceptance tests: real Terraform against the moto AWS emulator.
//!
//! The acceptance test binary (`tests/acceptance/main.rs`) includes this module, and each of its
//! tests is `#[ignore]`d and starts with [`acceptance_toolchain`]: plain `cargo test` lists the test
//! as ignored; run anyway (`--include-ignored`), it needs `TF_ACC=1` and every tool, or it fails
//! loudly and says what to do (a silently skipped acceptance test proves nothing).
//! Every test then owns its emulator ([`Emulator`]) and its temp directory ([`Workspace`]), so
//! the tests run in parallel without sharing state.

// Not every helper is used by every suite.
#![allow(dead_code, unused_imports)]

pub mod aws;
pub mod diagnostics;
pub mod emulator;
pub mod faults;
pub mod https;
pub mod inventory;
pub mod kubelet;
pub mod kubernetes;
pub mod release;
pub mod terraform;
pub mod toolchain;
pub mod workspace;

pub use emulator::Emulator;
pub use faults::FaultProxy;
pub use inventory::Inventory;
pub use kubelet::{FakeKubelet, PodRecorder};
pub use kubernetes::{KubernetesOptions, KubernetesServer};
pub use terraform::{CommandOutput, PlanOutcome, TerraformError};
pub use toolchain::{Toolchain, acceptance_toolchain};
pub use workspace::{Installation, Workspace};
