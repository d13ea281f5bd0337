//! Unknown values on the msgpack wire, with their refinements.
//!
//! cty writes a plain unknown as the extension `0xd4 0x00 0x00` (type 0, one zero byte). A refined
//! unknown is extension type 12 whose payload is a msgpack map from small integer keys to
//! refinements: 1 nullness (bool, `false` = definitely not null), 2 string prefix (string),
//! 3/4 number lower/upper bound (`[number, inclusive bool]`), 5/6 collection length lower/upper
//! bound (integer). Unknown keys are skipped so newer Terraform refinements do not break us.

use super::super::number::Number;
use super::super::refinements::Refinements;
use super::super::types::Type;
use super::super::values::Value;
use super::wire::{Item, Reader, Writer};

const PLAIN_UNKNOWN_EXT: i8 = 0;
const REFINED_UNKNOWN_EXT: i8 = 12;
/// cty refuses larger refinement payloads as abusive; so do we.
const MAX_REFINEMENT_PAYLOAD: usize = 1024;

const KEY_NULLNESS: i64 = 1;
const KEY_STRING_PREFIX: i64 = 2;
const KEY_NUMBER_LOWER: i64 = 3;
const KEY_NUMBER_UPPER: i64 = 4;
const KEY_LENGTH_LOWER: i64 = 5;
const KEY_LENGTH_UPPER: i64 = 6;

/// Interprets an extension item as an unknown value of type `ty`.
pub(super) fn decode_unknown(type_code: i8, payload: &[u8], ty: &Type) -> Result<Value, String> {
    if payload.len() <= 1 {
        return Ok(Value::unknown());
    }
    if type_code != REFINED_UNKNOWN_EXT {
        return Err(format!("unsupported extension type {type_code} with {} bytes", payload.len()));
    }
    if payload.len() > MAX_REFINEMENT_PAYLOAD {
        return Err("oversize unknown value refinement".to_owned());
    }
    let mut reader = Reader::new(payload);
    let Item::Map(entries) = reader.next()? else {
        return Err("unknown value refinements are not a map".to_owned());
    };
    if *ty == Type::Dynamic {
        // cty ignores refinements on dynamic unknowns (they are reserved for future use).
        return Ok(Value::unknown());
    }
    let mut refinements = Refinements::default();
    for _ in 0..entries {
        let key = match reader.next()? {
            Item::Int(k) => k,
            Item::Uint(k) => i64::try_from(k).unwrap_or(i64::MAX),
            other => return Err(format!("refinement key is {}, not an integer", other.describe())),
        };
        match key {
            KEY_NULLNESS => match reader.next()? {
                Item::Bool(true) => return Ok(Value::Null),
                Item::Bool(false) => refinements.not_null = true,
                _ => return Err("null refinement is not a bool".to_owned()),
            },
            KEY_STRING_PREFIX => {
                if *ty != Type::String {
                    return Err("string prefix refinement for a non-string type".to_owned());
                }
                let Item::Str(bytes) = reader.next()? else {
                    return Err("string prefix refinement is not a string".to_owned());
                };
                let prefix = std::str::from_utf8(bytes).map_err(|_| "string prefix is not valid UTF-8")?;
                refinements.string_prefix = Some(prefix.to_owned());
            }
            KEY_NUMBER_LOWER | KEY_NUMBER_UPPER => {
                if *ty != Type::Number {
                    return Err("number bound refinement for a non-number type".to_owned());
                }
                let bound = read_number_bound(&mut reader)?;
                if key == KEY_NUMBER_LOWER {
                    refinements.number_lower = bound;
                } else {
                    refinements.number_upper = bound;
                }
            }
            KEY_LENGTH_LOWER | KEY_LENGTH_UPPER => {
                if !ty.is_collection() {
                    return Err("length bound refinement for a non-collection type".to_owned());
                }
                let bound = match reader.next()? {
                    Item::Uint(n) => n,
                    Item::Int(n) => u64::try_from(n).map_err(|_| "negative length bound")?,
                    _ => return Err("length bound refinement is not an integer".to_owned()),
                };
                if key == KEY_LENGTH_LOWER {
                    refinements.length_lower = Some(bound);
                } else {
                    refinements.length_upper = Some(bound);
                }
            }
            _ => reader.skip()?,
        }
    }
    // Bytes after the map are ignored, as cty does, leaving room for future additions.
    Ok(Value::Unknown(refinements))
}

/// Reads `[number, inclusive]`. An infinite bound (cty writes ±∞ for "no bound") is no bound.
fn read_number_bound(reader: &mut Reader<'_>) -> Result<Option<(Number, bool)>, String> {
    if reader.next()? != Item::Array(2) {
        return Err("number bound refinement must be a [number, bool] array".to_owned());
    }
    let number = match reader.next()? {
        Item::Float64(f) if f.is_infinite() => None,
        Item::Float32(f) if f.is_infinite() => None,
        item => Some(super::decode::number_from_item(item)?),
    };
    let Item::Bool(inclusive) = reader.next()? else {
        return Err("number bound refinement must be a [number, bool] array".to_owned());
    };
    Ok(number.map(|n| (n, inclusive)))
}

/// Writes an unknown value; plain unknowns use cty's compact three-byte form. Refinements too big
/// for a decoder to accept are loosened (a shorter prefix, a dropped bound): still true, just
/// less precise.
pub(super) fn encode_unknown(refinements: &Refinements, out: &mut Writer) -> Result<(), String> {
    if refinements.is_empty() {
        return out.ext(PLAIN_UNKNOWN_EXT, &[0]);
    }
    let payload = refinement_payload(refinements)?;
    if payload.len() <= MAX_REFINEMENT_PAYLOAD {
        return out.ext(REFINED_UNKNOWN_EXT, &payload);
    }
    let mut loosened = refinements.clone();
    if let Some(prefix) = &mut loosened.string_prefix {
        let mut cut = prefix.len().min(MAX_REFINEMENT_PAYLOAD / 2);
        while !prefix.is_char_boundary(cut) {
            cut -= 1;
        }
        prefix.truncate(cut);
    }
    let too_long = |bound: &Option<(Number, bool)>| bound.as_ref().is_some_and(|(n, _)| n.to_string().len() > 200);
    if too_long(&loosened.number_lower) {
        loosened.number_lower = None;
    }
    if too_long(&loosened.number_upper) {
        loosened.number_upper = None;
    }
    let payload = refinement_payload(&loosened)?;
    out.ext(REFINED_UNKNOWN_EXT, &payload)
}

fn refinement_payload(refinements: &Refinements) -> Result<Vec<u8>, String> {
    let mut body = Writer::default();
    let mut entries = 0;
    if refinements.not_null {
        entries += 1;
        body.int(KEY_NULLNESS);
        body.bool(false);
    }
    if let Some(prefix) = &refinements.string_prefix {
        entries += 1;
        body.int(KEY_STRING_PREFIX);
        body.str(prefix)?;
    }
    for (key, bound) in [(KEY_NUMBER_LOWER, &refinements.number_lower), (KEY_NUMBER_UPPER, &refinements.number_upper)] {
        if let Some((number, inclusive)) = bound {
            entries += 1;
            body.int(key);
            body.array_header(2)?;
            super::encode::write_number(number, &mut body)?;
            body.bool(*inclusive);
        }
    }
    for (key, bound) in [(KEY_LENGTH_LOWER, refinements.length_lower), (KEY_LENGTH_UPPER, refinements.length_upper)] {
        if let Some(length) = bound {
            entries += 1;
            body.int(key);
            body.uint(length);
        }
    }
    let mut payload = Writer::default();
    payload.map_header(entries)?;
    payload.bytes.extend_from_slice(&body.bytes);
    Ok(payload.bytes)
}
