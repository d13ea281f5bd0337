//! Every resource type the provider serves, each in the same skeleton (the network's is the
//! model): `mod.rs` (docs, schema, thin CRUD), the typed model, the pure desired state, the observed
//! picture, drift, the AWS work, import and validators.

#[macro_use]
mod attribute_names;
pub mod deployment;
pub mod drift;
pub mod naming;
pub mod network;
pub mod ownership;
pub mod permission_boundary;
