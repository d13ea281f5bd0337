//! The provider framework: what every resource shares, so that resources only say what is theirs.
//!
//! Modelled on the good parts of terraform-plugin-framework: a schema carries attributes with their
//! validators and plan modifiers as composable values; a resource implements a few small methods;
//! a runtime drives validation, planning, apply and the consistency checks Terraform enforces.

pub mod consistency;
pub mod diagnostics;
pub mod docs;
pub mod model;
pub mod plan;
pub mod plan_modifiers;
pub mod provider;
pub mod read;
pub(crate) mod report;
pub mod resource;
pub mod runtime;
pub mod schema;
#[cfg(test)]
pub(crate) mod testing;

pub mod validate;
pub mod validators;

pub use crate::stop::StopSignal;
pub use diagnostics::{Diagnostic, Diagnostics, Severity};
pub use plan_modifiers::{PlanModifier, requires_replace, requires_replace_if, use_state_for_unknown};
pub use provider::Provider;
pub use resource::{ApplyRequest, PlanRequest, PlanResponse, Resource, ResourceContext};
pub use runtime::ProviderRuntime;
pub use schema::{Attribute, AttributeType, Block, NestedBlock, Nesting, Schema};
pub use validators::Validator;
