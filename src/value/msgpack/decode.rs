//! msgpack bytes → [`Value`], guided by the schema type.
//!
//! Follows cty's rules: any extension is an unknown, nil is null, objects are maps keyed by
//! attribute name (missing attributes are null, unexpected ones an error), numbers may arrive as
//! any integer, float or decimal string, and `dynamic` positions hold `[type JSON, value]`.
//! Recursion is bounded so hostile nesting yields an error rather than a stack overflow.

use std::collections::BTreeMap;

use super::super::error::ValueError;
use super::super::number::Number;
use super::super::path::AttributePath;
use super::super::types::Type;
use super::super::values::{Value, normalize_set};
use super::MAX_DEPTH;
use super::unknown::decode_unknown;
use super::wire::{Item, Reader};

/// Decodes a complete msgpack document as a value of type `ty`; trailing bytes are an error.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, ValueError> {
    let mut reader = Reader::new(bytes);
    let root = AttributePath::root();
    let value = decode_value(&mut reader, ty, &root, 0)?;
    if reader.remaining() > 0 {
        return Err(error(&root, format!("{} unexpected bytes after the value", reader.remaining())));
    }
    Ok(value)
}

fn error(path: &AttributePath, message: impl Into<String>) -> ValueError {
    ValueError::Decode { path: path.clone(), message: message.into() }
}

fn decode_value(reader: &mut Reader<'_>, ty: &Type, path: &AttributePath, depth: usize) -> Result<Value, ValueError> {
    if depth > MAX_DEPTH {
        return Err(ValueError::TooDeep { path: path.clone(), limit: MAX_DEPTH });
    }
    let item = reader.next().map_err(|m| error(path, m))?;
    if let Item::Ext(type_code, payload) = item {
        return decode_unknown(type_code, payload, ty).map_err(|m| error(path, m));
    }
    if item == Item::Nil {
        return Ok(Value::Null);
    }
    let wrong = |expected: &str| error(path, format!("{expected} is required, found {}", item.describe()));
    match ty {
        Type::Dynamic => decode_dynamic(reader, item, path, depth),
        Type::Bool => match item {
            Item::Bool(b) => Ok(Value::Bool(b)),
            _ => Err(wrong("a bool")),
        },
        Type::Number => number_from_item(item).map(Value::Number).map_err(|m| error(path, m)),
        Type::String => match item {
            Item::Str(bytes) | Item::Bin(bytes) => std::str::from_utf8(bytes)
                .map(|s| Value::String(s.to_owned()))
                .map_err(|_| error(path, "string is not valid UTF-8")),
            _ => Err(wrong("a string")),
        },
        Type::List(element) | Type::Set(element) => {
            let Item::Array(length) = item else {
                return Err(wrong(if matches!(ty, Type::List(_)) { "a list" } else { "a set" }));
            };
            let items = decode_elements(reader, length, |_| Some(element.as_ref()), path, depth)?;
            Ok(if matches!(ty, Type::Set(_)) { Value::Set(normalize_set(items)) } else { Value::List(items) })
        }
        Type::Tuple(elements) => {
            let Item::Array(length) = item else {
                return Err(wrong("a tuple"));
            };
            if length != elements.len() {
                return Err(error(path, format!("a tuple of {} elements is required, found {length}", elements.len())));
            }
            decode_elements(reader, length, |i| elements.get(i), path, depth).map(Value::Tuple)
        }
        Type::Map(element) => {
            let Item::Map(length) = item else {
                return Err(wrong("a map"));
            };
            let mut entries = BTreeMap::new();
            for _ in 0..length {
                let key = read_key(reader, path)?;
                let value = decode_value(reader, element, &path.key(key.clone()), depth + 1)?;
                entries.insert(key, value);
            }
            Ok(Value::Map(entries))
        }
        Type::Object { attributes, .. } => {
            let Item::Map(length) = item else {
                return Err(wrong("an object"));
            };
            let mut values: BTreeMap<String, Value> =
                attributes.keys().map(|name| (name.clone(), Value::Null)).collect();
            for _ in 0..length {
                let name = read_key(reader, path)?;
                let attr_path = path.attr(name.clone());
                let Some(attr_ty) = attributes.get(&name) else {
                    return Err(error(&attr_path, "unsupported attribute"));
                };
                let value = decode_value(reader, attr_ty, &attr_path, depth + 1)?;
                values.insert(name, value);
            }
            Ok(Value::Object(values))
        }
    }
}

fn decode_elements<'t>(
    reader: &mut Reader<'_>,
    length: usize,
    element_type: impl Fn(usize) -> Option<&'t Type>,
    path: &AttributePath,
    depth: usize,
) -> Result<Vec<Value>, ValueError> {
    let mut items = Vec::with_capacity(length);
    for i in 0..length {
        let element_path = path.index(i64::try_from(i).unwrap_or(i64::MAX));
        let ty = element_type(i).ok_or_else(|| error(&element_path, "element has no type"))?;
        items.push(decode_value(reader, ty, &element_path, depth + 1)?);
    }
    Ok(items)
}

fn read_key(reader: &mut Reader<'_>, path: &AttributePath) -> Result<String, ValueError> {
    match reader.next().map_err(|m| error(path, m))? {
        Item::Str(bytes) => {
            std::str::from_utf8(bytes).map(str::to_owned).map_err(|_| error(path, "key is not valid UTF-8"))
        }
        other => Err(error(path, format!("keys must be strings, found {}", other.describe()))),
    }
}

/// `[type JSON as binary, value]`: the concrete type travels with the value.
fn decode_dynamic(
    reader: &mut Reader<'_>,
    item: Item<'_>,
    path: &AttributePath,
    depth: usize,
) -> Result<Value, ValueError> {
    if item != Item::Array(2) {
        return Err(error(path, format!("a dynamic value must be a two-element array, found {}", item.describe())));
    }
    let type_json = match reader.next().map_err(|m| error(path, m))? {
        Item::Bin(bytes) | Item::Str(bytes) => bytes,
        other => return Err(error(path, format!("dynamic type must be JSON bytes, found {}", other.describe()))),
    };
    let concrete = Type::from_json(type_json).map_err(|e| error(path, e.to_string()))?;
    if concrete == Type::Dynamic {
        return Err(error(path, "a dynamic value's concrete type cannot itself be dynamic"));
    }
    let inner = decode_value(reader, &concrete, path, depth + 1)?;
    Ok(Value::Dynamic(concrete, Box::new(inner)))
}

/// A number in any of the encodings cty accepts: integer, unsigned, float or decimal string.
pub(super) fn number_from_item(item: Item<'_>) -> Result<Number, String> {
    match item {
        Item::Int(i) => Ok(Number::from_i64(i)),
        Item::Uint(u) => Ok(Number::from_u64(u)),
        Item::Float64(f) => Number::from_f64(f).ok_or_else(|| format!("number {f} is not finite")),
        Item::Float32(f) => Number::from_f64(f64::from(f)).ok_or_else(|| format!("number {f} is not finite")),
        Item::Str(bytes) => std::str::from_utf8(bytes)
            .ok()
            .and_then(Number::parse)
            .ok_or_else(|| "number string is not a decimal number".to_owned()),
        other => Err(format!("a number is required, found {}", other.describe())),
    }
}
