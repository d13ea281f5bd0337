//! terraform-provider-retool: a Terraform provider, served over plugin protocol 6, that builds and
//! keeps a Retool "Bring Your Own Cloud" deployment in a customer's dedicated AWS account.
//!
//! The layers only point one way, each knowing the next one down and nothing above it:
//!
//! * [`plugin`] — go-plugin transport: handshake, AutoMTLS, unix socket, controller services, logs.
//! * [`protocol`] — the tfplugin6 gRPC service; turns wire messages into framework calls.
//! * [`framework`] — schema, values in context, plan modifiers, validators, the `Resource` trait.
//! * [`value`] — Terraform's type system and its msgpack / JSON encodings.
//! * [`provider`] and [`resources`] — the retool provider itself and its AWS-backed resources.

pub mod framework;
pub mod plugin;
pub mod protocol;
pub mod provider;
pub mod resources;
pub mod value;
