//! Typed models: a resource's configuration, plan or state as a plain Rust struct, read from and
//! written back to a Terraform [`Value`] through serde (the analogue of terraform-plugin-framework's
//! `tfsdk.Plan.Get` / `State.Set`).
//!
//! Why serde: the struct's field names *are* the schema's attribute names, so one derive replaces
//! the hand-written attribute-by-attribute code that used to drift from the schema, and
//! [`field_names`] lets a test prove the model and the schema name the same attributes.
//!
//! Reading maps null to `None`/default and, because a model is read only where a value is needed,
//! an unknown value reads like null: a field that may still be unknown (a computed attribute in a
//! plan) must be an `Option`. Writing converts through the schema's type, so numbers stay exact
//! and sets come back normalized.

use std::collections::BTreeSet;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use super::schema::Block;
use crate::value::{Type, Value, json};

/// Why a model could not be read from or written to a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ModelError(String);

/// Reads a typed model out of `value` (a configuration, plan or state object).
pub fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, ModelError> {
    serde_json::from_value(plain_json(value)).map_err(|error| ModelError(format!("cannot read the model: {error}")))
}

/// Writes a typed model as a value of `ty` (the resource's object type).
pub fn to_value<T: Serialize>(model: &T, ty: &Type) -> Result<Value, ModelError> {
    let json = serde_json::to_value(model).map_err(|error| ModelError(format!("cannot write the model: {error}")))?;
    json::decode_json(&json, ty).map_err(|error| ModelError(format!("the model does not fit the schema: {error}")))
}

/// The top-level attribute and block names a model writes: for a test that the model's fields
/// and the schema's attributes are the same set.
pub fn field_names<T: Serialize + Default>() -> BTreeSet<String> {
    match serde_json::to_value(T::default()) {
        Ok(Json::Object(fields)) => fields.keys().cloned().collect(),
        _ => BTreeSet::new(),
    }
}

/// The attribute and nested-block names of a schema block.
pub fn schema_names(block: &Block) -> BTreeSet<String> {
    block.attributes.iter().map(|a| a.name.clone()).chain(block.blocks.iter().map(|b| b.name.clone())).collect()
}

/// The value as untyped JSON: null and unknown become JSON null, numbers keep every digit.
fn plain_json(value: &Value) -> Json {
    match value {
        Value::Null | Value::Unknown(_) => Json::Null,
        Value::Bool(flag) => Json::Bool(*flag),
        Value::Number(number) => {
            number.to_string().parse::<serde_json::Number>().map(Json::Number).unwrap_or(Json::Null)
        }
        Value::String(text) => Json::String(text.clone()),
        Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
            Json::Array(items.iter().map(plain_json).collect())
        }
        Value::Map(entries) | Value::Object(entries) => {
            Json::Object(entries.iter().map(|(key, item)| (key.clone(), plain_json(item))).collect())
        }
        Value::Dynamic(_, inner) => plain_json(inner),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;
    use crate::framework::schema::{Attribute, NestedBlock, Nesting};

    #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
    struct Thing {
        name: String,
        size: Option<u64>,
        id: Option<String>,
        tags: BTreeMap<String, String>,
        limits: Option<Limits>,
    }

    #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
    struct Limits {
        ceiling: Option<u64>,
    }

    fn block() -> Block {
        Block::new("thing")
            .attribute(Attribute::new("name", Type::String).required())
            .attribute(Attribute::new("size", Type::Number).optional())
            .attribute(Attribute::new("id", Type::String).computed())
            .attribute(Attribute::new("tags", Type::Map(Box::new(Type::String))).optional())
            .block(NestedBlock::new(
                "limits",
                Nesting::Single,
                Block::new("l").attribute(Attribute::new("ceiling", Type::Number).optional()),
            ))
    }

    #[test]
    fn reads_and_writes_a_model_through_the_schema_type() {
        let planned = Value::object([
            ("name", Value::string("acme")),
            ("size", Value::number_i64(3)),
            ("id", Value::unknown()),
            ("tags", Value::map([("team", Value::string("platform"))])),
            ("limits", Value::object([("ceiling", Value::number_i64(9))])),
        ]);
        let thing: Thing = from_value(&planned).unwrap();
        assert_eq!(thing.name, "acme");
        assert_eq!(thing.size, Some(3));
        assert_eq!(thing.id, None, "an unknown computed attribute reads as absent");
        assert_eq!(thing.limits, Some(Limits { ceiling: Some(9) }));

        let ty = block().implied_type();
        let state = to_value(&Thing { id: Some("t-1".into()), ..thing }, &ty).unwrap();
        assert_eq!(state.attr("id").as_str(), Some("t-1"));
        assert_eq!(state.attr("tags").attr("team").as_str(), None, "maps are not objects");
        assert_eq!(state.attr("tags").as_map().and_then(|m| m.get("team")).and_then(Value::as_str), Some("platform"));
        assert_eq!(state.attr("limits").attr("ceiling").as_i64(), Some(9));
    }

    #[test]
    fn a_wrong_shape_is_an_error_not_a_panic() {
        let bad = Value::object([("name", Value::number_i64(1))]);
        assert!(from_value::<Thing>(&bad).is_err());
        let ty = Type::Object { attributes: BTreeMap::new(), optional: Default::default() };
        assert!(to_value(&Thing::default(), &ty).is_err(), "attributes the schema lacks are refused");
    }

    #[test]
    fn the_model_names_the_schemas_attributes() {
        assert_eq!(field_names::<Thing>(), schema_names(&block()));
    }
}
