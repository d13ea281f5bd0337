//! The JSON encoding of values, used for raw state (`UpgradeResourceState`'s `RawState.json`).
//!
//! Terraform stores state as JSON written by cty: objects with every attribute, arrays for lists,
//! sets and tuples, objects for maps, numbers as JSON numbers (read losslessly thanks to
//! serde_json's `arbitrary_precision`), and `{"value": …, "type": …}` at `dynamic` positions.
//! Unknown values never reach state, so they cannot be encoded. Decoding is as lenient as cty's
//! about primitives (a number may be a string, a string may be a number or bool) because old state
//! written by other SDKs does that.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::error::ValueError;
use super::msgpack::MAX_DEPTH;
use super::number::Number;
use super::path::AttributePath;
use super::types::Type;
use super::values::{Value, normalize_set};

/// Decodes JSON bytes as a value of type `ty`.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, ValueError> {
    let json: Json = serde_json::from_slice(bytes)
        .map_err(|e| ValueError::Decode { path: AttributePath::root(), message: format!("invalid JSON: {e}") })?;
    decode_json(&json, ty)
}

/// Converts an already-parsed JSON tree to a value of type `ty`.
pub fn decode_json(json: &Json, ty: &Type) -> Result<Value, ValueError> {
    from_json(json, ty, &AttributePath::root(), 0)
}

/// Encodes a wholly-known value of type `ty` as JSON bytes.
pub fn encode(value: &Value, ty: &Type) -> Result<Vec<u8>, ValueError> {
    let json = encode_json(value, ty)?;
    serde_json::to_vec(&json).map_err(|e| ValueError::Encode { path: AttributePath::root(), message: e.to_string() })
}

/// Converts a wholly-known value of type `ty` to a JSON tree.
pub fn encode_json(value: &Value, ty: &Type) -> Result<Json, ValueError> {
    value.check_conformance(ty)?;
    to_json(value, ty, &AttributePath::root())
}

fn decode_error(path: &AttributePath, message: impl Into<String>) -> ValueError {
    ValueError::Decode { path: path.clone(), message: message.into() }
}

fn describe(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a bool",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

fn from_json(json: &Json, ty: &Type, path: &AttributePath, depth: usize) -> Result<Value, ValueError> {
    if depth > MAX_DEPTH {
        return Err(ValueError::TooDeep { path: path.clone(), limit: MAX_DEPTH });
    }
    if json.is_null() {
        return Ok(Value::Null);
    }
    let wrong = |expected: &str| decode_error(path, format!("{expected} is required, found {}", describe(json)));
    match (ty, json) {
        (Type::Dynamic, Json::Object(wrapper)) => {
            let (Some(type_json), Some(inner)) = (wrapper.get("type"), wrapper.get("value")) else {
                return Err(decode_error(path, "a dynamic value needs \"type\" and \"value\""));
            };
            if wrapper.len() != 2 {
                return Err(decode_error(path, "a dynamic value has only \"type\" and \"value\""));
            }
            let concrete = Type::from_json_value(type_json).map_err(|e| decode_error(path, e.to_string()))?;
            if concrete == Type::Dynamic {
                return Err(decode_error(path, "a dynamic value's concrete type cannot itself be dynamic"));
            }
            let inner = from_json(inner, &concrete, path, depth + 1)?;
            Ok(Value::Dynamic(concrete, Box::new(inner)))
        }
        (Type::Dynamic, _) => Err(wrong("a {\"value\", \"type\"} object")),
        (Type::Bool, Json::Bool(b)) => Ok(Value::Bool(*b)),
        (Type::Bool, Json::String(s)) if s == "true" || s == "false" => Ok(Value::Bool(s == "true")),
        (Type::Bool, _) => Err(wrong("a bool")),
        (Type::Number, Json::Number(n)) => {
            Number::parse(&n.to_string()).map(Value::Number).ok_or_else(|| decode_error(path, "number out of range"))
        }
        (Type::Number, Json::String(s)) => {
            Number::parse(s).map(Value::Number).ok_or_else(|| decode_error(path, "string is not a number"))
        }
        (Type::Number, _) => Err(wrong("a number")),
        (Type::String, Json::String(s)) => Ok(Value::String(s.clone())),
        (Type::String, Json::Number(n)) => Ok(Value::String(n.to_string())),
        (Type::String, Json::Bool(b)) => Ok(Value::String(b.to_string())),
        (Type::String, _) => Err(wrong("a string")),
        (Type::List(element), Json::Array(items)) => elements(items, |_| Some(element), path, depth).map(Value::List),
        (Type::Set(element), Json::Array(items)) => {
            elements(items, |_| Some(element), path, depth).map(|items| Value::Set(normalize_set(items)))
        }
        (Type::Tuple(types), Json::Array(items)) => {
            if items.len() != types.len() {
                return Err(decode_error(
                    path,
                    format!("a tuple of {} elements is required, found {}", types.len(), items.len()),
                ));
            }
            elements(items, |i| types.get(i), path, depth).map(Value::Tuple)
        }
        (Type::List(_), _) => Err(wrong("a list")),
        (Type::Set(_), _) => Err(wrong("a set")),
        (Type::Tuple(_), _) => Err(wrong("a tuple")),
        (Type::Map(element), Json::Object(entries)) => entries
            .iter()
            .map(|(key, item)| Ok((key.clone(), from_json(item, element, &path.key(key.clone()), depth + 1)?)))
            .collect::<Result<BTreeMap<_, _>, ValueError>>()
            .map(Value::Map),
        (Type::Map(_), _) => Err(wrong("a map")),
        (Type::Object { attributes, .. }, Json::Object(entries)) => {
            if let Some(extra) = entries.keys().find(|name| !attributes.contains_key(*name)) {
                return Err(decode_error(&path.attr(extra.clone()), "unsupported attribute"));
            }
            attributes
                .iter()
                .map(|(name, attr_ty)| {
                    let value = match entries.get(name) {
                        Some(item) => from_json(item, attr_ty, &path.attr(name.clone()), depth + 1)?,
                        None => Value::Null,
                    };
                    Ok((name.clone(), value))
                })
                .collect::<Result<BTreeMap<_, _>, ValueError>>()
                .map(Value::Object)
        }
        (Type::Object { .. }, _) => Err(wrong("an object")),
    }
}

fn elements<'t>(
    items: &[Json],
    element_type: impl Fn(usize) -> Option<&'t Type>,
    path: &AttributePath,
    depth: usize,
) -> Result<Vec<Value>, ValueError> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let element_path = path.index(i64::try_from(i).unwrap_or(i64::MAX));
            let ty = element_type(i).ok_or_else(|| decode_error(&element_path, "element has no type"))?;
            from_json(item, ty, &element_path, depth + 1)
        })
        .collect()
}

fn to_json(value: &Value, ty: &Type, path: &AttributePath) -> Result<Json, ValueError> {
    let error = |message: String| ValueError::Encode { path: path.clone(), message };
    Ok(match (value, ty) {
        (Value::Null, _) => Json::Null,
        (Value::Unknown(_), _) => return Err(error("unknown values cannot be written as JSON".into())),
        (Value::Dynamic(concrete, inner), Type::Dynamic) => {
            let mut wrapper = serde_json::Map::new();
            wrapper.insert("value".into(), to_json(inner, concrete, path)?);
            wrapper.insert("type".into(), concrete.to_json_value());
            Json::Object(wrapper)
        }
        (Value::Bool(b), Type::Bool) => Json::Bool(*b),
        (Value::Number(n), Type::Number) => {
            Json::Number(n.to_string().parse().map_err(|e| error(format!("number {n}: {e}")))?)
        }
        (Value::String(s), Type::String) => Json::String(s.clone()),
        (Value::List(items), Type::List(element)) | (Value::Set(items), Type::Set(element)) => Json::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| to_json(item, element, &path.index(i as i64)))
                .collect::<Result<_, _>>()?,
        ),
        (Value::Tuple(items), Type::Tuple(types)) => Json::Array(
            items
                .iter()
                .zip(types)
                .enumerate()
                .map(|(i, (item, element))| to_json(item, element, &path.index(i as i64)))
                .collect::<Result<_, _>>()?,
        ),
        (Value::Map(entries), Type::Map(element)) => Json::Object(
            entries
                .iter()
                .map(|(key, item)| Ok((key.clone(), to_json(item, element, &path.key(key.clone()))?)))
                .collect::<Result<_, ValueError>>()?,
        ),
        (Value::Object(attrs), Type::Object { attributes, .. }) => Json::Object(
            attributes
                .iter()
                .map(|(name, attr_ty)| {
                    let attr = attrs.get(name).unwrap_or(&Value::Null);
                    Ok((name.clone(), to_json(attr, attr_ty, &path.attr(name.clone()))?))
                })
                .collect::<Result<_, ValueError>>()?,
        ),
        _ => return Err(error(format!("a {} cannot be encoded as {}", value.kind_name(), ty.friendly_name()))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network_type() -> Type {
        Type::object([
            ("name", Type::String),
            ("cidr_block", Type::String),
            ("zones", Type::list(Type::String)),
            ("tags", Type::map(Type::String)),
            ("size", Type::Number),
            ("extra", Type::Dynamic),
        ])
    }

    #[test]
    fn raw_state_decodes_with_missing_attributes_as_null() {
        let raw = br#"{"name":"n","zones":["a","b"],"tags":{"k":"v"},"size":12345678901234567890.5}"#;
        let v = decode(raw, &network_type()).unwrap();
        assert_eq!(v.attr("name").as_str(), Some("n"));
        assert!(v.attr("cidr_block").is_null());
        assert_eq!(v.attr("size").as_number().map(ToString::to_string).as_deref(), Some("12345678901234567890.5"));
        assert_eq!(v.attr("zones").elements().map(<[Value]>::len), Some(2));
    }

    #[test]
    fn encodes_every_attribute_and_dynamic_wrapper() {
        let v = Value::object([
            ("name", Value::string("n")),
            ("size", Value::Number(Number::parse("0.1").unwrap())),
            ("extra", Value::dynamic(Type::list(Type::Bool), Value::list(vec![Value::Bool(true)]))),
        ]);
        let text = String::from_utf8(encode(&v, &network_type()).unwrap()).unwrap();
        assert_eq!(
            text,
            r#"{"cidr_block":null,"extra":{"value":[true],"type":["list","bool"]},"name":"n","size":0.1,"tags":null,"zones":null}"#
        );
        assert_eq!(decode(text.as_bytes(), &network_type()).unwrap(), {
            let mut expected = v.clone();
            for name in ["cidr_block", "tags", "zones"] {
                expected.set_attr(name, Value::Null);
            }
            expected
        });
    }

    #[test]
    fn lenient_primitives_and_strict_shapes() {
        assert_eq!(decode(br#""12.5""#, &Type::Number).unwrap(), Value::Number(Number::parse("12.5").unwrap()));
        assert_eq!(decode(br#"true"#, &Type::String).unwrap(), Value::string("true"));
        assert_eq!(decode(br#"7"#, &Type::String).unwrap(), Value::string("7"));
        assert!(decode(br#"{"nope":1}"#, &network_type()).is_err());
        assert!(decode(br#"[1]"#, &Type::Tuple(vec![])).is_err());
        assert!(decode(br#"{"value":1}"#, &Type::Dynamic).is_err());
        assert!(decode(br#"{"#, &Type::String).is_err());
    }

    #[test]
    fn unknown_values_cannot_be_stored() {
        let err = encode(&Value::object([("name", Value::unknown())]), &network_type()).unwrap_err();
        assert_eq!(err.path().map(ToString::to_string).as_deref(), Some("name"));
    }
}
