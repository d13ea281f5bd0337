//! IAM, as every resource uses it: one policy-document model compared by meaning, not by text.

pub mod policy;
pub mod role;

pub use policy::{PolicyDocument, same_policy};
