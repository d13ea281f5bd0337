//! What is already known about a value that is not yet known.
//!
//! Since Terraform 1.6 an unknown value may carry *refinements*: it is definitely not null, a
//! string starts with a prefix, a number lies within bounds, a collection's length lies within
//! bounds. Terraform uses them to decide conditions early (`count = length(x)` with a known lower
//! bound, `x != null`), and it checks that a provider's planned unknowns keep them, so they have
//! to survive a decode/encode round trip exactly.

use super::number::Number;
use super::types::Type;
use super::values::Value;

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

impl Refinements {
    /// True when a final value is consistent with what these refinements promised. Terraform holds
    /// a provider to the refinements of its planned unknowns, so apply results can be checked with
    /// this. An unknown value is admitted (it promises nothing yet).
    pub fn admits(&self, value: &Value) -> bool {
        let value = value.unwrap_dynamic();
        match value {
            Value::Unknown(_) => true,
            Value::Null => !self.not_null,
            Value::String(s) => self.string_prefix.as_deref().is_none_or(|prefix| s.starts_with(prefix)),
            Value::Number(n) => {
                let above = self
                    .number_lower
                    .as_ref()
                    .is_none_or(|(low, inclusive)| if *inclusive { n >= low } else { n > low });
                let below = self
                    .number_upper
                    .as_ref()
                    .is_none_or(|(high, inclusive)| if *inclusive { n <= high } else { n < high });
                above && below
            }
            Value::List(items) | Value::Set(items) => self.admits_length(items.len()),
            Value::Map(entries) => self.admits_length(entries.len()),
            _ => true,
        }
    }

    fn admits_length(&self, length: usize) -> bool {
        let length = length as u64;
        self.length_lower.is_none_or(|low| length >= low) && self.length_upper.is_none_or(|high| length <= high)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_checks_final_values_against_promises() {
        let id = Refinements { string_prefix: Some("vpc-".into()), ..Refinements::not_null() };
        assert!(id.admits(&Value::string("vpc-123")));
        assert!(!id.admits(&Value::string("subnet-1")));
        assert!(!id.admits(&Value::Null));
        assert!(id.admits(&Value::unknown()));
        let port = Refinements {
            number_lower: Some((Number::from_i64(1), true)),
            number_upper: Some((Number::from_i64(65536), false)),
            ..Refinements::default()
        };
        assert!(port.admits(&Value::number_i64(1)));
        assert!(!port.admits(&Value::number_i64(65536)));
        assert!(!port.admits(&Value::number_i64(0)));
        assert!(port.admits(&Value::Null));
        let pair = Refinements { length_lower: Some(2), length_upper: Some(2), ..Refinements::default() };
        assert!(pair.admits(&Value::list(vec![Value::Null, Value::Null])));
        assert!(!pair.admits(&Value::set(vec![Value::string("a")])));
    }

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
