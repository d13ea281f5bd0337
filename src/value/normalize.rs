//! Bringing a hand-built value into the canonical shape the decoders produce.
//!
//! Decoded objects hold every attribute of their type (null ones included) and sets are sorted
//! and deduplicated. Values that resources build by hand often leave null attributes out or build
//! `Value::Set` directly; comparing those with decoded values (plan versus apply, prior state
//! versus refresh) would report differences that Terraform would not see. Normalizing against the
//! schema type first makes derived equality mean what Terraform means.

use std::collections::BTreeMap;

use super::types::Type;
use super::values::{Value, normalize_set};

impl Value {
    /// This value in canonical form for `ty`: every object attribute present (null when absent),
    /// sets normalized, recursively. Parts that do not fit `ty` are left as they are (use
    /// [`Value::check_conformance`] to find those).
    pub fn normalized(self, ty: &Type) -> Value {
        match (self, ty) {
            (Value::Object(mut attrs), Type::Object { attributes, .. }) => {
                let mut out = BTreeMap::new();
                for (name, attr_ty) in attributes {
                    let value = attrs.remove(name).unwrap_or(Value::Null);
                    out.insert(name.clone(), value.normalized(attr_ty));
                }
                out.extend(attrs);
                Value::Object(out)
            }
            (Value::List(items), Type::List(element)) => {
                Value::List(items.into_iter().map(|v| v.normalized(element)).collect())
            }
            (Value::Set(items), Type::Set(element)) => {
                Value::Set(normalize_set(items.into_iter().map(|v| v.normalized(element)).collect()))
            }
            (Value::Map(entries), Type::Map(element)) => {
                Value::Map(entries.into_iter().map(|(k, v)| (k, v.normalized(element))).collect())
            }
            (Value::Tuple(items), Type::Tuple(elements)) if items.len() == elements.len() => {
                Value::Tuple(items.into_iter().zip(elements).map(|(v, t)| v.normalized(t)).collect())
            }
            (Value::Dynamic(concrete, inner), Type::Dynamic) => {
                let inner = inner.normalized(&concrete);
                Value::Dynamic(concrete, Box::new(inner))
            }
            (other, _) => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::msgpack;

    #[test]
    fn hand_built_values_equal_their_decoded_form_after_normalizing() {
        let ty = Type::object([
            ("id", Type::String),
            ("subnets", Type::list(Type::object([("id", Type::String), ("az", Type::String)]))),
            ("zones", Type::set(Type::String)),
        ]);
        let built = Value::object([
            ("subnets", Value::list(vec![Value::object([("id", Value::string("s-1"))])])),
            ("zones", Value::Set(vec![Value::string("b"), Value::string("a"), Value::string("b")])),
        ]);
        let decoded = msgpack::decode(&msgpack::encode(&built, &ty).unwrap(), &ty).unwrap();
        assert_ne!(built, decoded);
        assert_eq!(built.normalized(&ty), decoded);
    }
}
