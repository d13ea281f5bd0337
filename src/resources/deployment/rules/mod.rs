//! The rules of `retool_deployment` that need no AWS call: version formats and upgrade steps,
//! the databases' maintenance and backup windows, secret generation, the egress allowlist, the cost estimate
//! and the containers' CPU and memory quantities.
//!
//! They live apart from the resource's AWS work so that each can be tested exhaustively as a plain
//! function, and so that `terraform validate` and `plan` can apply them without touching AWS.

pub mod cost;
pub mod egress;
pub mod instance_types;
pub mod quantities;
pub mod secrets;
pub mod versions;
pub mod windows;
