//! The Kubernetes support layer: reaching an EKS cluster's API with a token made from AWS
//! credentials, applying objects with server-side apply under one field manager, reading,
//! listing and deleting them, and waiting for Deployments to roll out.
//!
//! It knows Kubernetes and EKS's way of authenticating, nothing of the product: what to run on a
//! cluster is the resources' business. Like [`crate::aws`], every call here is retried on
//! throttling, server errors and lost connections, and every wait honours Terraform's stop
//! request; failures are [`crate::error::Error::Kubernetes`], in words.

pub mod access;
pub mod objects;
pub mod rollout;
pub mod token;

pub use access::{ClusterAccess, ClusterEndpoint, Signer};
pub use objects::{FIELD_MANAGER, Manifest};
pub use rollout::{Rollout, rollout_state, wait_rolled_out};
