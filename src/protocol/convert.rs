//! Conversions between tfplugin6 wire messages and the framework's own types.
//!
//! This is the only place that knows both sides: schemas become `Schema` messages, diagnostics and
//! attribute paths map one to one, and `DynamicValue`s are decoded with the schema's type (msgpack
//! normally, JSON where Terraform sends it). A value that cannot be decoded becomes an error
//! diagnostic, never a panic or a bare gRPC status.

use crate::framework::{
    Attribute, AttributeType, Block, Diagnostic, Diagnostics, NestedBlock, Nesting, Schema, Severity,
};
use crate::value::{AttributePath, PathStep, Type, Value, msgpack};

use super::tfplugin6 as tf;

/// The wire form of a schema; every description is sent as Markdown.
pub fn schema(schema: &Schema) -> tf::Schema {
    tf::Schema { version: schema.version, block: Some(block(&schema.block, schema.version)) }
}

fn block(b: &Block, version: i64) -> tf::schema::Block {
    tf::schema::Block {
        version,
        attributes: b.attributes.iter().map(attribute).collect(),
        block_types: b.blocks.iter().map(nested_block).collect(),
        description: b.description.clone(),
        description_kind: tf::StringKind::Markdown as i32,
        deprecated: b.deprecated,
        deprecation_message: String::new(),
    }
}

fn attribute(a: &Attribute) -> tf::schema::Attribute {
    let (ty, nested_type) = match &a.kind {
        AttributeType::Plain(ty) => (ty.to_json(), None),
        AttributeType::Nested { nesting, attributes } => (
            Vec::new(),
            Some(tf::schema::Object {
                attributes: attributes.iter().map(attribute).collect(),
                nesting: object_nesting(*nesting) as i32,
                ..Default::default()
            }),
        ),
    };
    tf::schema::Attribute {
        name: a.name.clone(),
        r#type: ty,
        nested_type,
        description: a.description.clone(),
        required: a.required,
        optional: a.optional,
        computed: a.computed,
        sensitive: a.sensitive,
        description_kind: tf::StringKind::Markdown as i32,
        deprecated: a.deprecated,
        write_only: a.write_only,
        deprecation_message: String::new(),
    }
}

fn nested_block(b: &NestedBlock) -> tf::schema::NestedBlock {
    use tf::schema::nested_block::NestingMode;
    let nesting = match b.nesting {
        Nesting::Single => NestingMode::Single,
        Nesting::Group => NestingMode::Group,
        Nesting::List => NestingMode::List,
        Nesting::Set => NestingMode::Set,
        Nesting::Map => NestingMode::Map,
    };
    tf::schema::NestedBlock {
        type_name: b.name.clone(),
        block: Some(block(&b.block, 0)),
        nesting: nesting as i32,
        min_items: i64::try_from(b.min_items).unwrap_or(i64::MAX),
        max_items: i64::try_from(b.max_items).unwrap_or(i64::MAX),
    }
}

fn object_nesting(nesting: Nesting) -> tf::schema::object::NestingMode {
    use tf::schema::object::NestingMode;
    match nesting {
        // Nested attributes have no "group" mode; a single object is the closest meaning.
        Nesting::Single | Nesting::Group => NestingMode::Single,
        Nesting::List => NestingMode::List,
        Nesting::Set => NestingMode::Set,
        Nesting::Map => NestingMode::Map,
    }
}

/// The wire form of diagnostics, in order; a root path is sent as no attribute at all.
pub fn diagnostics(diags: Diagnostics) -> Vec<tf::Diagnostic> {
    diags.into_iter().map(diagnostic).collect()
}

fn diagnostic(d: Diagnostic) -> tf::Diagnostic {
    let severity = match d.severity {
        Severity::Error => tf::diagnostic::Severity::Error,
        Severity::Warning => tf::diagnostic::Severity::Warning,
    };
    tf::Diagnostic {
        severity: severity as i32,
        summary: d.summary,
        detail: d.detail,
        attribute: d.path.filter(|p| !p.0.is_empty()).map(|p| path(&p)),
    }
}

/// The wire form of an attribute path, step for step.
pub fn path(p: &AttributePath) -> tf::AttributePath {
    use tf::attribute_path::{Step, step::Selector};
    tf::AttributePath {
        steps: p
            .0
            .iter()
            .map(|step| Step {
                selector: Some(match step {
                    PathStep::Attribute(name) => Selector::AttributeName(name.clone()),
                    PathStep::ElementKeyString(key) => Selector::ElementKeyString(key.clone()),
                    PathStep::ElementKeyInt(i) => Selector::ElementKeyInt(*i),
                }),
            })
            .collect(),
    }
}

/// Decodes a wire value of type `ty`; `what` names it in the error ("prior state", "config").
pub fn decode(value: Option<&tf::DynamicValue>, ty: &Type, what: &str, diags: &mut Diagnostics) -> Option<Value> {
    let Some(value) = value else { return Some(Value::Null) };
    let decoded = if !value.msgpack.is_empty() {
        msgpack::decode(&value.msgpack, ty)
    } else if !value.json.is_empty() {
        crate::value::json::decode(&value.json, ty)
    } else {
        return Some(Value::Null);
    };
    match decoded {
        Ok(v) => Some(v),
        Err(e) => {
            diags.error(
                format!("Could not decode the {what}"),
                format!("Terraform sent a {what} this provider could not read: {e}. This is a bug in the provider or in Terraform."),
            );
            None
        }
    }
}

/// Encodes a value of type `ty` as msgpack for the wire.
pub fn encode(value: &Value, ty: &Type, what: &str, diags: &mut Diagnostics) -> Option<tf::DynamicValue> {
    match msgpack::encode(value, ty) {
        Ok(bytes) => Some(tf::DynamicValue { msgpack: bytes, json: Vec::new() }),
        Err(e) => {
            diags.error(
                format!("Could not encode the {what}"),
                format!("The provider produced a {what} that does not fit its own schema: {e}. This is a bug in the provider."),
            );
            None
        }
    }
}
