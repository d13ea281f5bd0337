//! `retool_permission_boundary`: the cross-account roles an operator uses to build and maintain a
//! deployment, fenced so they can never reach the customer's data.
//!
//! The pieces: [`policy`] (IAM documents as typed values, rendered canonically and compared
//! semantically), [`documents`] (the four policies and the trust policy this resource writes) and
//! [`validation`] (input checks that run before any AWS call).

pub mod documents;
pub mod policy;
pub mod validation;
