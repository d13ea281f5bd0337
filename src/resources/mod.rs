//! (being written)

pub mod permission_boundary;
