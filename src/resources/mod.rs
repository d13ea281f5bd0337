//! The provider's resources (being written).

pub mod network;
