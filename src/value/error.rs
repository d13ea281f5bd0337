//! Errors from decoding, encoding and type-checking values.
//!
//! Wire data comes from Terraform but is still untrusted input: every malformed byte sequence must
//! surface as one of these (with the attribute path where it went wrong), never as a panic.

use super::path::AttributePath;

/// Why a type or value could not be read, written or checked, and where in the value it happened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// Type JSON (cty's type syntax) that could not be understood.
    #[error("invalid type: {0}")]
    InvalidType(String),
    /// Bytes that are not a valid encoding of a value of the expected type.
    #[error("cannot decode value at {}: {message}", display_path(path))]
    Decode {
        /// Where in the value the bytes stopped making sense.
        path: AttributePath,
        /// What was wrong with them, for the person reading the diagnostic.
        message: String,
    },
    /// A value that cannot be written in the requested encoding.
    #[error("cannot encode value at {}: {message}", display_path(path))]
    Encode {
        /// Where in the value the unencodable part is.
        path: AttributePath,
        /// Why it cannot be written.
        message: String,
    },
    /// A value whose shape does not match the type it is being used as.
    #[error("value at {} does not conform to {expected}: {message}", display_path(path))]
    TypeMismatch {
        /// Where in the value the shape differs from the type.
        path: AttributePath,
        /// The expected type's short name ([`Type::friendly_name`](super::Type::friendly_name)), e.g. `list of string`.
        expected: String,
        /// How the value differs from it.
        message: String,
    },
    /// Input nested deeper than the decoder is willing to recurse.
    #[error("value at {} nests deeper than {limit} levels", display_path(path))]
    TooDeep {
        /// Where the nesting went past the limit.
        path: AttributePath,
        /// The deepest nesting accepted, in levels ([`msgpack::MAX_DEPTH`](super::msgpack::MAX_DEPTH)).
        limit: usize,
    },
}

impl ValueError {
    /// The attribute path the error refers to, if it has one.
    pub fn path(&self) -> Option<&AttributePath> {
        match self {
            ValueError::InvalidType(_) => None,
            ValueError::Decode { path, .. }
            | ValueError::Encode { path, .. }
            | ValueError::TypeMismatch { path, .. }
            | ValueError::TooDeep { path, .. } => Some(path),
        }
    }
}

fn display_path(path: &AttributePath) -> String {
    if path.is_root() { "the root".to_owned() } else { path.to_string() }
}
