//! terraform-provider-retool: a Terraform provider, served over plugin protocol 6, that builds and
//! keeps a Retool "Bring Your Own Cloud" deployment in a customer's dedicated AWS account.
//!
//! The layers only point one way, each knowing the next one down and nothing above it:
//!
//! * [`plugin`] — go-plugin transport: handshake, AutoMTLS, unix socket, controller services, logs.
//! * [`protocol`] — the tfplugin6 gRPC service; turns wire messages into framework calls.
//! * [`framework`] — schema, values in context, plan modifiers, validators, the `Resource` trait.
//! * [`value`] — Terraform's type system and its msgpack / JSON encodings.
//! * [`resources`] — the three resources, each in the same skeleton.
//! * [`aws`] — the AWS support layer: clients, waits and retries, tags, identity, IAM policies.
//! * [`kubernetes`] — the Kubernetes support layer: cluster access with EKS tokens, server-side
//!   apply, rollout waits.
//! * [`error`] and [`stop`] — the one error type, and Terraform's stop request; leaves.
//!
//! [`provider`] is the composition root: the `retool` provider block and its list of resources.

pub mod aws;
pub mod error;
pub mod framework;
pub mod kubernetes;
pub mod plugin;
pub mod protocol;
pub mod provider;
pub mod resources;
pub mod stop;
pub mod value;
