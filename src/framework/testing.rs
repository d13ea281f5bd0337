//! Test support the framework's and every resource's unit tests share: a sample schema, a
//! configuration built from a base object, `terraform validate` run over it and the checks every
//! resource schema must pass, so each test module only says what is its own.

use super::validate::validate_block;
use super::{Attribute, Block, Diagnostics, Resource, Schema, requires_replace, use_state_for_unknown, validators};
use crate::value::{AttributePath, Type, Value};

/// `base` with each of `attributes` set over it.
pub(crate) fn with_attributes(mut base: Value, attributes: &[(&str, Value)]) -> Value {
    for (name, value) in attributes {
        base.set_attr(*name, value.clone());
    }
    base
}

/// The paths of the diagnostics `terraform validate` reports for `config`: the attribute
/// validators, then the resource's own check.
pub(crate) fn validation_paths<D: Send + Sync + 'static>(resource: &dyn Resource<D>, config: &Value) -> Vec<String> {
    let mut diags = Diagnostics::new();
    validate_block(&resource.schema().block, config, &AttributePath::root(), &mut diags);
    resource.validate(config, &mut diags);
    diags.iter().filter_map(|diagnostic| diagnostic.path.as_ref().map(ToString::to_string)).collect()
}

/// The resource's top-level block, after asserting what every resource schema promises: Terraform
/// accepts it, every attribute is described (its documentation page is generated from them) and
/// each of `computed` is a computed attribute.
pub(crate) fn documented_block<D: Send + Sync + 'static>(
    resource: &dyn Resource<D>,
    computed: impl IntoIterator<Item = &'static str>,
) -> Block {
    let schema = resource.schema();
    schema.check_definition().expect("a well-formed schema");
    for attribute in &schema.block.attributes {
        assert!(!attribute.description.is_empty(), "{} undocumented", attribute.name);
    }
    for name in computed {
        assert!(schema.block.find_attribute(name).is_some_and(|a| a.computed), "{name} must be computed");
    }
    schema.block
}

/// A small resource schema (version 1) with one attribute of each kind the framework treats
/// apart: required and replacing, defaulted and validated, computed and kept, computed and changing.
pub(crate) fn sample_schema() -> Schema {
    Schema::new(
        1,
        Block::new("A thing.")
            .attribute(
                Attribute::new("name", Type::String).required().description("Name.").plan_modifier(requires_replace()),
            )
            .attribute(
                Attribute::new("size", Type::Number)
                    .default(Value::number_i64(1))
                    .description("Size.")
                    .validator(validators::int_between(1, 10)),
            )
            .attribute(
                Attribute::new("id", Type::String).computed().description("Id.").plan_modifier(use_state_for_unknown()),
            )
            .attribute(Attribute::new("revision", Type::Number).computed().description("Changes on every update.")),
    )
}
