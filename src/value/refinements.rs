//! What is already known about a value that is not yet known.
//!
//! Since Terraform 1.6 an unknown value may carry *refinements*: it is definitely not null, a
//! string starts with a prefix, a number lies within bounds, a collection's length lies within
//! bounds. Terraform uses them to decide conditions early (`count = length(x)` with a known lower
//! bound, `x != null`), and it checks that a provider's planned unknowns keep them, so they have
//! to survive a decode/encode round trip exactly.

use super::number::Number;
use super::types::Type;

/// Refinements of an unknown value. `Default` is an unrefined ("totally unknown") value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Refinements {
    /// The value will definitely not be null.
    pub not_null: bool,
    /// For strings: the value will start with this prefix.
    pub string_prefix: Option<String>,
    /// For numbers: lower bound and whether it is inclusive.
    pub number_lower: Option<(Number, bool)>,
    /// For numbers: upper bound and whether it is inclusive.
    pub number_upper: Option<(Number, bool)>,
    /// For lists, sets and maps: least number of elements.
    pub length_lower: Option<u64>,
    /// For lists, sets and maps: greatest number of elements.
    pub length_upper: Option<u64>,
}

impl Refinements {
    /// Refinements saying only "not null".
    pub fn not_null() -> Refinements {
        Refinements { not_null: true, ..Refinements::default() }
    }

    /// True when nothing is known: the value is plainly unknown.
    pub fn is_empty(&self) -> bool {
        *self == Refinements::default()
    }

    /// Why these refinements cannot describe a value of `ty`, if they cannot. Cty only allows
    /// prefixes on strings, numeric bounds on numbers and length bounds on collections, and no
    /// refinements at all on `dynamic`.
    pub fn mismatch_with(&self, ty: &Type) -> Option<&'static str> {
        if *ty == Type::Dynamic && !self.is_empty() {
            return Some("unknown values of dynamic type cannot be refined");
        }
        if self.string_prefix.is_some() && *ty != Type::String {
            return Some("string prefix refinement on a non-string type");
        }
        if (self.number_lower.is_some() || self.number_upper.is_some()) && *ty != Type::Number {
            return Some("number bound refinement on a non-number type");
        }
        if (self.length_lower.is_some() || self.length_upper.is_some()) && !ty.is_collection() {
            return Some("length bound refinement on a non-collection type");
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refinements_must_suit_the_type() {
        let prefix = Refinements { string_prefix: Some("arn:".into()), ..Refinements::default() };
        assert_eq!(prefix.mismatch_with(&Type::String), None);
        assert!(prefix.mismatch_with(&Type::Number).is_some());
        let length = Refinements { length_lower: Some(2), ..Refinements::not_null() };
        assert_eq!(length.mismatch_with(&Type::list(Type::String)), None);
        assert!(length.mismatch_with(&Type::Tuple(vec![])).is_some());
        assert!(Refinements::not_null().mismatch_with(&Type::Dynamic).is_some());
        assert_eq!(Refinements::not_null().mismatch_with(&Type::Bool), None);
        assert!(Refinements::default().is_empty());
    }
}
