//! The validation engine: runs every attribute's validators over a configuration.
//!
//! It walks the schema and the configuration together, so validators see each value with its full
//! attribute path and a diagnostic points at the right line. Unknown values are skipped here and
//! checked again at plan time, when more of the configuration is known. Nothing here calls an API.

use crate::value::{AttributePath, Value};

use super::diagnostics::Diagnostics;
use super::schema::{Attribute, AttributeType, Block, Nesting};

/// Validates a whole configuration object against its block schema.
pub fn validate_block(block: &Block, config: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    if config.is_null() || config.is_unknown() {
        return;
    }
    for attribute in &block.attributes {
        validate_attribute(attribute, config.attr(&attribute.name), &path.clone().attr(&attribute.name), diags);
    }
    for nested in &block.blocks {
        let value = config.attr(&nested.name);
        let nested_path = path.clone().attr(&nested.name);
        for_each_nested(nested.nesting, value, &nested_path, |element, element_path| {
            validate_block(&nested.block, element, element_path, diags);
        });
    }
}

fn validate_attribute(attribute: &Attribute, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    if value.is_null() {
        // Terraform itself refuses an omitted required argument but passes an explicit `null`.
        if attribute.required {
            diags.attribute_error(
                path.clone(),
                "Missing required argument",
                format!("{path} is required, and `null` leaves it unset: give it a value."),
            );
        }
        return;
    }
    if attribute.deprecated {
        diags.attribute_warning(path.clone(), format!("{path} is deprecated"), attribute.description.clone());
    }
    if value.is_unknown() {
        return;
    }
    for validator in &attribute.validators {
        validator.validate(path, value, diags);
    }
    if let AttributeType::Nested { nesting, attributes } = &attribute.kind {
        for_each_nested(*nesting, value, path, |element, element_path| {
            if element.is_null() || element.is_unknown() {
                return;
            }
            for inner in attributes {
                validate_attribute(inner, element.attr(&inner.name), &element_path.clone().attr(&inner.name), diags);
            }
        });
    }
}

/// Calls `visit` for each object inside a nested value, with the object's path.
pub(crate) fn for_each_nested(
    nesting: Nesting,
    value: &Value,
    path: &AttributePath,
    mut visit: impl FnMut(&Value, &AttributePath),
) {
    match nesting {
        Nesting::Single | Nesting::Group => visit(value, path),
        Nesting::List | Nesting::Set => {
            for (i, element) in value.elements().unwrap_or_default().iter().enumerate() {
                visit(element, &path.clone().index(i64::try_from(i).unwrap_or(i64::MAX)));
            }
        }
        Nesting::Map => {
            if let Some(map) = value.as_map() {
                for (key, element) in map {
                    visit(element, &path.clone().key(key.clone()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::schema::Attribute;
    use crate::value::Type;

    #[test]
    fn an_explicit_null_on_a_required_attribute_is_an_error_and_unknown_is_not() {
        let block = Block::new("A thing.").attributes([
            Attribute::new("name", Type::String).required(),
            Attribute::new("note", Type::String).optional(),
        ]);
        let errors = |config: Value| {
            let mut diags = Diagnostics::new();
            validate_block(&block, &config, &AttributePath::root(), &mut diags);
            diags
                .iter()
                .map(|d| format!("{}: {}", d.path.as_ref().map(ToString::to_string).unwrap_or_default(), d.summary))
                .collect::<Vec<_>>()
        };
        let config = |name: Value| Value::object([("name", name), ("note", Value::Null)]);
        assert_eq!(errors(config(Value::Null)), ["name: Missing required argument"]);
        assert!(errors(config(Value::unknown())).is_empty());
        assert!(errors(config(Value::string("acme"))).is_empty());
    }
}
