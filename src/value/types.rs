//! Terraform's type system, as cty models it.
//!
//! Every value that crosses the plugin protocol is decoded *against a type*: msgpack and JSON carry
//! no type information of their own (except at `dynamic` positions), so the schema's type decides
//! whether a msgpack map is a `map(string)` or an `object({...})`. Types also travel on the wire as
//! JSON (schema blocks, the `dynamic` wrapper), in cty's compact syntax: `"string"`,
//! `["list","string"]`, `["object",{"a":"number"},["a"]]`, `["tuple",["bool"]]`, `"dynamic"`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use super::error::ValueError;

/// How deeply type JSON may nest before it is refused; keeps recursion bounded on hostile input.
const MAX_TYPE_DEPTH: usize = 64;

/// A Terraform (cty) type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Type {
    /// `bool`: true or false.
    Bool,
    /// `number`: an arbitrary-precision decimal ([`Number`](super::Number)).
    Number,
    /// `string`: Unicode text.
    String,
    /// cty's `DynamicPseudoType`: the concrete type is chosen by the value itself.
    Dynamic,
    /// `list(T)`: an ordered sequence of elements of one type.
    List(Box<Type>),
    /// `set(T)`: unordered, duplicate-free elements of one type.
    Set(Box<Type>),
    /// `map(T)`: string keys to values of one type.
    Map(Box<Type>),
    /// An object type; `optional` names attributes that may be omitted in configuration.
    Object {
        /// Every attribute's name and type; a value of this type has exactly these attributes.
        attributes: BTreeMap<String, Type>,
        /// The subset of `attributes` that configuration may leave out (they are then null).
        optional: BTreeSet<String>,
    },
    /// `tuple([...])`: a fixed-length sequence with a type per position.
    Tuple(Vec<Type>),
}

impl Type {
    /// `list(element)`, without spelling out the `Box`.
    pub fn list(element: Type) -> Type {
        Type::List(Box::new(element))
    }

    /// `set(element)`, without spelling out the `Box`.
    pub fn set(element: Type) -> Type {
        Type::Set(Box::new(element))
    }

    /// `map(element)`, without spelling out the `Box`.
    pub fn map(element: Type) -> Type {
        Type::Map(Box::new(element))
    }

    /// An object type with no optional attributes.
    pub fn object<N: Into<String>>(attributes: impl IntoIterator<Item = (N, Type)>) -> Type {
        Type::Object {
            attributes: attributes.into_iter().map(|(n, t)| (n.into(), t)).collect(),
            optional: BTreeSet::new(),
        }
    }

    /// True for list, set and map: the types whose unknowns may carry length refinements.
    pub fn is_collection(&self) -> bool {
        matches!(self, Type::List(_) | Type::Set(_) | Type::Map(_))
    }

    /// The element type of a list, set or map.
    pub fn element_type(&self) -> Option<&Type> {
        match self {
            Type::List(e) | Type::Set(e) | Type::Map(e) => Some(e),
            _ => None,
        }
    }

    /// The type of one attribute of an object type.
    pub fn attribute_type(&self, name: &str) -> Option<&Type> {
        match self {
            Type::Object { attributes, .. } => attributes.get(name),
            _ => None,
        }
    }

    /// The type in cty's JSON type syntax, e.g. `["list","string"]`.
    pub fn to_json(&self) -> Vec<u8> {
        self.to_json_value().to_string().into_bytes()
    }

    /// The type as a JSON tree (for embedding in larger JSON documents).
    pub fn to_json_value(&self) -> Json {
        fn kind(name: &str, inner: Json) -> Json {
            Json::Array(vec![Json::String(name.to_owned()), inner])
        }
        match self {
            Type::Bool => Json::String("bool".into()),
            Type::Number => Json::String("number".into()),
            Type::String => Json::String("string".into()),
            Type::Dynamic => Json::String("dynamic".into()),
            Type::List(e) => kind("list", e.to_json_value()),
            Type::Set(e) => kind("set", e.to_json_value()),
            Type::Map(e) => kind("map", e.to_json_value()),
            Type::Tuple(es) => kind("tuple", Json::Array(es.iter().map(Type::to_json_value).collect())),
            Type::Object { attributes, optional } => {
                let attrs: serde_json::Map<String, Json> =
                    attributes.iter().map(|(n, t)| (n.clone(), t.to_json_value())).collect();
                let mut parts = vec![Json::String("object".into()), Json::Object(attrs)];
                if !optional.is_empty() {
                    parts.push(Json::Array(optional.iter().cloned().map(Json::String).collect()));
                }
                Json::Array(parts)
            }
        }
    }

    /// Parses cty's JSON type syntax.
    pub fn from_json(bytes: &[u8]) -> Result<Type, ValueError> {
        let json: Json =
            serde_json::from_slice(bytes).map_err(|e| ValueError::InvalidType(format!("not JSON: {e}")))?;
        Type::from_json_value(&json)
    }

    /// Parses a type from an already-parsed JSON tree.
    pub fn from_json_value(json: &Json) -> Result<Type, ValueError> {
        parse_type(json, 0)
    }

    /// A short human name, as in error messages: `list of string`, `object`.
    pub fn friendly_name(&self) -> String {
        match self {
            Type::Bool => "bool".into(),
            Type::Number => "number".into(),
            Type::String => "string".into(),
            Type::Dynamic => "dynamic".into(),
            Type::List(e) => format!("list of {}", e.friendly_name()),
            Type::Set(e) => format!("set of {}", e.friendly_name()),
            Type::Map(e) => format!("map of {}", e.friendly_name()),
            Type::Object { .. } => "object".into(),
            Type::Tuple(_) => "tuple".into(),
        }
    }
}

fn parse_type(json: &Json, depth: usize) -> Result<Type, ValueError> {
    let invalid = |m: &str| Err(ValueError::InvalidType(m.to_owned()));
    if depth > MAX_TYPE_DEPTH {
        return invalid("type nests too deeply");
    }
    match json {
        Json::String(s) => match s.as_str() {
            "bool" => Ok(Type::Bool),
            "number" => Ok(Type::Number),
            "string" => Ok(Type::String),
            "dynamic" => Ok(Type::Dynamic),
            other => Err(ValueError::InvalidType(format!("unknown primitive type {other:?}"))),
        },
        Json::Array(parts) => {
            let Some(Json::String(kind)) = parts.first() else {
                return invalid("type array must start with a kind name");
            };
            let arg = parts.get(1);
            match (kind.as_str(), parts.len(), arg) {
                ("list", 2, Some(e)) => Ok(Type::list(parse_type(e, depth + 1)?)),
                ("set", 2, Some(e)) => Ok(Type::set(parse_type(e, depth + 1)?)),
                ("map", 2, Some(e)) => Ok(Type::map(parse_type(e, depth + 1)?)),
                ("tuple", 2, Some(Json::Array(es))) => {
                    Ok(Type::Tuple(es.iter().map(|e| parse_type(e, depth + 1)).collect::<Result<_, _>>()?))
                }
                ("object", 2 | 3, Some(Json::Object(attrs))) => {
                    let attributes = attrs
                        .iter()
                        .map(|(n, t)| Ok((n.clone(), parse_type(t, depth + 1)?)))
                        .collect::<Result<BTreeMap<_, _>, ValueError>>()?;
                    let mut optional = BTreeSet::new();
                    if let Some(opt) = parts.get(2) {
                        let Json::Array(names) = opt else {
                            return invalid("object optional attributes must be an array");
                        };
                        for name in names {
                            match name {
                                Json::String(n) if attributes.contains_key(n) => {
                                    optional.insert(n.clone());
                                }
                                _ => return invalid("optional attribute is not an attribute of the object"),
                            }
                        }
                    }
                    Ok(Type::Object { attributes, optional })
                }
                (other, _, _) => Err(ValueError::InvalidType(format!("malformed {other:?} type"))),
            }
        }
        _ => invalid("a type is a string or an array"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitive_and_collection_syntax() {
        assert_eq!(Type::String.to_json(), br#""string""#);
        assert_eq!(Type::list(Type::Number).to_json(), br#"["list","number"]"#);
        assert_eq!(Type::from_json(br#"["map",["set","bool"]]"#).unwrap(), Type::map(Type::set(Type::Bool)));
        assert_eq!(Type::from_json(br#""dynamic""#).unwrap(), Type::Dynamic);
    }

    #[test]
    fn object_with_optional_attributes_round_trips() {
        let ty = Type::Object {
            attributes: [("b".to_owned(), Type::String), ("a".to_owned(), Type::Tuple(vec![Type::Bool]))]
                .into_iter()
                .collect(),
            optional: ["b".to_owned()].into_iter().collect(),
        };
        let json = ty.to_json();
        assert_eq!(json, br#"["object",{"a":["tuple",["bool"]],"b":"string"},["b"]]"#);
        assert_eq!(Type::from_json(&json).unwrap(), ty);
        let plain = Type::object([("x", Type::Number)]);
        assert_eq!(plain.to_json(), br#"["object",{"x":"number"}]"#);
    }

    #[test]
    fn malformed_types_are_errors() {
        for bad in [
            &br#""strin""#[..],
            br#"["list"]"#,
            br#"["list","string","x"]"#,
            br#"["object",{"a":"string"},["b"]]"#,
            br#"["tuple","string"]"#,
            br#"42"#,
            br#"[1,2]"#,
            b"",
        ] {
            assert!(Type::from_json(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let mut json = String::from("\"string\"");
        for _ in 0..100 {
            json = format!("[\"list\",{json}]");
        }
        assert!(Type::from_json(json.as_bytes()).is_err());
    }
}
