//! `retool_network` (being written).

pub mod desired;
pub mod drift;
pub mod layout;
pub mod outputs;
pub mod snapshot;

#[cfg(test)]
mod fixture;
