//! [`Value`] → msgpack bytes, byte-for-byte as cty would write them.
//!
//! Terraform compares what we send with what it planned, so the encoding must mirror cty: every
//! object attribute written in sorted order (null when absent), numbers in the smallest lossless
//! form (integer, else exact float64, else decimal string), unknowns as extensions, and the
//! `[type JSON, value]` wrapper at `dynamic` positions. The value is checked against the type on
//! the way, so a mismatch is an error naming the attribute path.

use super::super::error::ValueError;
use super::super::number::Number;
use super::super::path::AttributePath;
use super::super::types::Type;
use super::super::values::Value;
use super::unknown::encode_unknown;
use super::wire::Writer;

/// Encodes `value` as a msgpack document of type `ty`.
pub fn encode(value: &Value, ty: &Type) -> Result<Vec<u8>, ValueError> {
    value.check_conformance(ty)?;
    let mut out = Writer::default();
    encode_value(value, ty, &AttributePath::root(), &mut out)?;
    Ok(out.bytes)
}

fn error(path: &AttributePath, message: impl Into<String>) -> ValueError {
    ValueError::Encode { path: path.clone(), message: message.into() }
}

fn encode_value(value: &Value, ty: &Type, path: &AttributePath, out: &mut Writer) -> Result<(), ValueError> {
    let at = |m: String| error(path, m);
    match (value, ty) {
        (Value::Null, _) => out.nil(),
        (Value::Unknown(refinements), _) => encode_unknown(refinements, out).map_err(at)?,
        (Value::Dynamic(concrete, inner), Type::Dynamic) => {
            out.array_header(2).map_err(at)?;
            out.bin(&concrete.to_json()).map_err(at)?;
            encode_value(inner, concrete, path, out)?;
        }
        (Value::Bool(b), Type::Bool) => out.bool(*b),
        (Value::Number(n), Type::Number) => write_number(n, out).map_err(at)?,
        (Value::String(s), Type::String) => out.str(s).map_err(at)?,
        (Value::List(items), Type::List(element)) | (Value::Set(items), Type::Set(element)) => {
            out.array_header(items.len()).map_err(at)?;
            for (i, item) in items.iter().enumerate() {
                encode_value(item, element, &path.index(i as i64), out)?;
            }
        }
        (Value::Tuple(items), Type::Tuple(elements)) if items.len() == elements.len() => {
            out.array_header(items.len()).map_err(at)?;
            for (i, (item, element)) in items.iter().zip(elements).enumerate() {
                encode_value(item, element, &path.index(i as i64), out)?;
            }
        }
        (Value::Map(entries), Type::Map(element)) => {
            out.map_header(entries.len()).map_err(at)?;
            for (key, item) in entries {
                out.str(key).map_err(at)?;
                encode_value(item, element, &path.key(key.clone()), out)?;
            }
        }
        (Value::Object(attrs), Type::Object { attributes, .. }) => {
            if let Some(extra) = attrs.keys().find(|name| !attributes.contains_key(*name)) {
                return Err(error(&path.attr(extra.clone()), "unsupported attribute"));
            }
            out.map_header(attributes.len()).map_err(at)?;
            for (name, attr_ty) in attributes {
                out.str(name).map_err(at)?;
                let attr = attrs.get(name).unwrap_or(&Value::Null);
                encode_value(attr, attr_ty, &path.attr(name.clone()), out)?;
            }
        }
        _ => {
            return Err(error(path, format!("a {} cannot be encoded as {}", value.kind_name(), ty.friendly_name())));
        }
    }
    Ok(())
}

/// cty's number encoding: an integer when it fits `i64`, else float64 when exact, else the
/// decimal string.
pub(super) fn write_number(number: &Number, out: &mut Writer) -> Result<(), String> {
    if let Some(i) = number.to_i64() {
        out.int(i);
    } else if let Some(f) = number.to_exact_f64() {
        out.float64(f);
    } else {
        out.str(&number.to_string())?;
    }
    Ok(())
}
