//! Shared machinery of the acceptance tests: real Terraform against the moto AWS emulator.
//!
//! Each test file includes this module (`mod support;`) and starts with [`acceptance_toolchain`]:
//! without `TF_ACC` the test is skipped with a printed note; with `TF_ACC=1` everything it needs
//! must be present, or the test fails loudly (a silently skipped acceptance test proves nothing).
//! Every test then owns its emulator ([`Emulator`]) and its temp directory ([`Workspace`]), so
//! the tests run in parallel without sharing state.

// Each test file uses a different subset of these helpers.
#![allow(dead_code, unused_imports)]

pub mod aws;
pub mod diagnostics;
pub mod emulator;
pub mod inventory;
pub mod terraform;
pub mod toolchain;
pub mod workspace;

pub use emulator::Emulator;
pub use inventory::Inventory;
pub use terraform::{CommandOutput, PlanOutcome, TerraformError};
pub use toolchain::{Toolchain, acceptance_toolchain};
pub use workspace::Workspace;
