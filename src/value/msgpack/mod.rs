//! Terraform's `DynamicValue` msgpack encoding (see Terraform's object wire format document).
//!
//! This is how configuration, plans and state cross the plugin protocol. Split into the byte-level
//! `wire` reader/writer, the typed [`decode()`] and [`encode()`] walks, and the
//! `unknown` extension with its refinements.

mod decode;
mod encode;
mod unknown;
mod wire;

#[cfg(test)]
mod cty_vectors;

pub use decode::decode;
pub use encode::encode;

/// Deepest nesting of values the decoder follows; Terraform schemas are far shallower.
pub const MAX_DEPTH: usize = 64;
