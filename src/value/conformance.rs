//! Checking that a value has the shape its type demands.
//!
//! Resources build values by hand; a typo'd attribute name or a list where the schema says set
//! would otherwise reach Terraform as a malformed response. The encoders run this check first so a
//! mismatch is a clear error with the attribute path, produced by us rather than by Terraform.

use super::error::ValueError;
use super::path::AttributePath;
use super::types::Type;
use super::values::Value;

impl Value {
    /// True when `self` can be encoded as a value of `ty`.
    pub fn conforms_to(&self, ty: &Type) -> bool {
        self.check_conformance(ty).is_ok()
    }

    /// Like [`Value::conforms_to`], but says where and why it does not.
    pub fn check_conformance(&self, ty: &Type) -> Result<(), ValueError> {
        check(self, ty, &AttributePath::root())
    }
}

fn mismatch(path: &AttributePath, ty: &Type, message: impl Into<String>) -> ValueError {
    ValueError::TypeMismatch { path: path.clone(), expected: ty.friendly_name(), message: message.into() }
}

fn check(value: &Value, ty: &Type, path: &AttributePath) -> Result<(), ValueError> {
    match (value, ty) {
        (Value::Null, _) => Ok(()),
        (Value::Unknown(refinements), _) => match refinements.mismatch_with(ty) {
            Some(problem) => Err(mismatch(path, ty, problem)),
            None => Ok(()),
        },
        (Value::Dynamic(concrete, inner), Type::Dynamic) => {
            if *concrete == Type::Dynamic {
                return Err(mismatch(path, ty, "a dynamic value's concrete type cannot be dynamic"));
            }
            check(inner, concrete, path)
        }
        (_, Type::Dynamic) => Err(mismatch(
            path,
            ty,
            format!("a known {} at a dynamic position needs Value::Dynamic with its type", value.kind_name()),
        )),
        (Value::Bool(_), Type::Bool) | (Value::Number(_), Type::Number) | (Value::String(_), Type::String) => Ok(()),
        (Value::List(items), Type::List(element)) | (Value::Set(items), Type::Set(element)) => {
            items.iter().enumerate().try_for_each(|(i, item)| check(item, element, &path.index(i as i64)))
        }
        (Value::Map(entries), Type::Map(element)) => {
            entries.iter().try_for_each(|(key, item)| check(item, element, &path.key(key.clone())))
        }
        (Value::Tuple(items), Type::Tuple(elements)) => {
            if items.len() != elements.len() {
                return Err(mismatch(
                    path,
                    ty,
                    format!("tuple has {} elements, type has {}", items.len(), elements.len()),
                ));
            }
            items
                .iter()
                .zip(elements)
                .enumerate()
                .try_for_each(|(i, (item, element))| check(item, element, &path.index(i as i64)))
        }
        (Value::Object(attrs), Type::Object { attributes, .. }) => attrs.iter().try_for_each(|(name, item)| {
            let attr_path = path.attr(name.clone());
            match attributes.get(name) {
                Some(attr_ty) => check(item, attr_ty, &attr_path),
                None => Err(mismatch(&attr_path, ty, format!("unsupported attribute {name:?}"))),
            }
        }),
        _ => Err(mismatch(path, ty, format!("found a {}", value.kind_name()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Refinements;

    #[test]
    fn matching_shapes_conform() {
        let ty = Type::object([("names", Type::set(Type::String)), ("count", Type::Number)]);
        let v = Value::object([("names", Value::set(vec![Value::string("a")]))]);
        assert!(v.conforms_to(&ty));
        assert!(Value::Null.conforms_to(&ty));
        assert!(Value::unknown().conforms_to(&Type::Dynamic));
        assert!(
            Value::dynamic(Type::list(Type::Bool), Value::list(vec![Value::Bool(true)])).conforms_to(&Type::Dynamic)
        );
    }

    #[test]
    fn mismatches_name_the_path() {
        let ty = Type::object([("subnets", Type::list(Type::object([("cidr", Type::String)])))]);
        let v = Value::object([(
            "subnets",
            Value::list(vec![
                Value::object([("cidr", Value::string("ok"))]),
                Value::object([("cidr", Value::Bool(true))]),
            ]),
        )]);
        let err = v.check_conformance(&ty).unwrap_err();
        assert_eq!(err.path().map(ToString::to_string).as_deref(), Some("subnets[1].cidr"));

        let extra = Value::object([("cidr_blok", Value::string("x"))]);
        let err = extra.check_conformance(&Type::object([("cidr_block", Type::String)])).unwrap_err();
        assert_eq!(err.path().map(ToString::to_string).as_deref(), Some("cidr_blok"));

        assert!(!Value::list(vec![]).conforms_to(&Type::set(Type::String)));
        assert!(!Value::string("x").conforms_to(&Type::Dynamic));
        assert!(!Value::Tuple(vec![]).conforms_to(&Type::Tuple(vec![Type::Bool])));
        let bad_refinement = Value::Unknown(Refinements { length_lower: Some(1), ..Refinements::default() });
        assert!(!bad_refinement.conforms_to(&Type::String));
    }
}
