//! Terraform's values and types, and their wire encodings.
//!
//! The plugin protocol moves configuration, plans and state as `DynamicValue`s: msgpack (or, for
//! old raw state, JSON) whose meaning depends on a schema type. This module is the one place that
//! understands those bytes, so everything above it works with [`Value`] and [`Type`] and never
//! with encodings. It is written by hand rather than with a msgpack crate so that every length and
//! every byte is bounds-checked: input from the wire must never panic or allocate unboundedly.
//!
//! One concept per file: [`Type`] (types.rs), [`Number`] (number.rs), [`Refinements`]
//! (refinements.rs), [`Value`] (values.rs), [`AttributePath`] (path.rs), conformance checks
//! (conformance.rs), [`ValueError`] (error.rs), and the two codecs [`msgpack`] and [`json`].

/// `From` conversions, one row each (`Source => Target: |value| conversion;`): the value types
/// convert from many plain types, and each impl would otherwise be five lines of the same frame.
macro_rules! from_conversions {
    ($($source:ty => $target:ty: |$value:ident| $convert:expr;)*) => {$(
        impl From<$source> for $target {
            fn from($value: $source) -> $target {
                $convert
            }
        }
    )*};
}

mod conformance;
mod error;
pub mod json;
pub mod msgpack;
mod normalize;
mod number;
mod path;
mod refinements;
mod types;
mod values;

#[cfg(test)]
mod codec_properties;
#[cfg(test)]
pub mod strategies;

pub use error::ValueError;
pub use number::{InvalidNumber, Number};
pub use path::{AttributePath, PathStep};
pub use refinements::Refinements;
pub use types::Type;
pub use values::Value;
