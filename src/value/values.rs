//! Terraform values: null, unknown (possibly refined) or known, nested to any depth.
//!
//! A value is always interpreted against a [`Type`]; it does not carry its own type except at
//! `dynamic` positions ([`Value::Dynamic`]), exactly like the wire formats. Sets are kept in a
//! canonical order so that the derived equality is set equality and encodings are deterministic.

use std::collections::BTreeMap;

use super::number::Number;
use super::path::{AttributePath, PathStep};
use super::refinements::Refinements;
use super::types::Type;

/// A Terraform value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Value {
    /// Null: the attribute is unset (or, at a `dynamic` position, an untyped null).
    Null,
    /// Not known until apply; the refinements say what is already known about it.
    Unknown(Refinements),
    /// A known `bool`.
    Bool(bool),
    /// A known `number`.
    Number(Number),
    /// A known `string`.
    String(String),
    /// A known list: its elements in order.
    List(Vec<Value>),
    /// Always normalized: sorted, with duplicate wholly-known elements removed (build with
    /// [`Value::set`]).
    Set(Vec<Value>),
    /// A known map, by key.
    Map(BTreeMap<String, Value>),
    /// Attributes missing from the map are null.
    Object(BTreeMap<String, Value>),
    /// A known tuple: one value per position of its tuple type.
    Tuple(Vec<Value>),
    /// The concrete type and value at a position whose schema type is `dynamic`. Only needed for
    /// values that have a type of their own (known values, or a typed null/unknown as cty writes
    /// them); a plain `Null`/`Unknown` at a dynamic position is the untyped null/unknown.
    Dynamic(Type, Box<Value>),
}

static NULL: Value = Value::Null;

impl Value {
    /// A totally unknown value.
    pub fn unknown() -> Value {
        Value::Unknown(Refinements::default())
    }

    /// An unknown value known not to be null.
    pub fn unknown_not_null() -> Value {
        Value::Unknown(Refinements::not_null())
    }

    /// A known string.
    pub fn string(text: impl Into<String>) -> Value {
        Value::String(text.into())
    }

    /// A known number from an integer.
    pub fn number_i64(value: i64) -> Value {
        Value::Number(Number::from_i64(value))
    }

    /// A known list of `elements`, in the given order.
    pub fn list(elements: Vec<Value>) -> Value {
        Value::List(elements)
    }

    /// A set: elements are sorted and wholly-known duplicates dropped. Elements that are (or
    /// contain) unknowns are all kept, because cty never considers two unknowns equal.
    pub fn set(elements: Vec<Value>) -> Value {
        Value::Set(normalize_set(elements))
    }

    /// A known map from key/value pairs (a repeated key keeps the last value).
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A known object from name/value pairs; attributes left out read as null (see [`Value::attr`]).
    pub fn object<K: Into<String>>(attributes: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Object(attributes.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A value at a `dynamic` position, tagged with its concrete type.
    pub fn dynamic(ty: Type, value: Value) -> Value {
        Value::Dynamic(ty, Box::new(value))
    }

    /// True for null, including a typed null at a dynamic position.
    pub fn is_null(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Dynamic(_, inner) => inner.is_null(),
            _ => false,
        }
    }

    /// True when the value itself is unknown (not when only something inside it is).
    pub fn is_unknown(&self) -> bool {
        match self {
            Value::Unknown(_) => true,
            Value::Dynamic(_, inner) => inner.is_unknown(),
            _ => false,
        }
    }

    /// True when the value is known (possibly null) and nothing inside it is unknown.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown(_) => false,
            Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => true,
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => items.iter().all(Value::is_wholly_known),
            Value::Map(entries) | Value::Object(entries) => entries.values().all(Value::is_wholly_known),
            Value::Dynamic(_, inner) => inner.is_wholly_known(),
        }
    }

    /// The refinements of an unknown value.
    pub fn refinements(&self) -> Option<&Refinements> {
        match self.unwrap_dynamic() {
            Value::Unknown(r) => Some(r),
            _ => None,
        }
    }

    /// The value inside a `Dynamic` wrapper (or the value itself).
    pub fn unwrap_dynamic(&self) -> &Value {
        match self {
            Value::Dynamic(_, inner) => inner.unwrap_dynamic(),
            other => other,
        }
    }

    /// An object's attribute; `Null` when absent, when `self` is null, or not an object.
    pub fn attr(&self, name: &str) -> &Value {
        match self.unwrap_dynamic() {
            Value::Object(attrs) => attrs.get(name).unwrap_or(&NULL),
            _ => &NULL,
        }
    }

    /// A mutable reference to an attribute present in an object (decoded objects hold every
    /// attribute of their type, null ones included).
    pub fn attr_mut(&mut self, name: &str) -> Option<&mut Value> {
        match self {
            Value::Object(attrs) => attrs.get_mut(name),
            Value::Dynamic(_, inner) => inner.attr_mut(name),
            _ => None,
        }
    }

    /// Sets an attribute of an object; a null value becomes an empty object first. Returns false
    /// (and changes nothing) when `self` is neither an object nor null.
    pub fn set_attr(&mut self, name: impl Into<String>, value: Value) -> bool {
        if let Value::Null = self {
            *self = Value::Object(BTreeMap::new());
        }
        match self {
            Value::Object(attrs) => {
                attrs.insert(name.into(), value);
                true
            }
            Value::Dynamic(_, inner) => inner.set_attr(name, value),
            _ => false,
        }
    }

    /// The text of a known string; `None` for any other value, null and unknown included.
    pub fn as_str(&self) -> Option<&str> {
        match self.unwrap_dynamic() {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// A known bool; `None` for any other value, null and unknown included.
    pub fn as_bool(&self) -> Option<bool> {
        match self.unwrap_dynamic() {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// A known number; `None` for any other value, null and unknown included.
    pub fn as_number(&self) -> Option<&Number> {
        match self.unwrap_dynamic() {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// A number that is an integer within `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number().and_then(Number::to_i64)
    }

    /// The elements of a list, set or tuple.
    pub fn elements(&self) -> Option<&[Value]> {
        match self.unwrap_dynamic() {
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => Some(items),
            _ => None,
        }
    }

    /// The entries of a known map (not of an object: see [`Value::as_object`]).
    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self.unwrap_dynamic() {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The attributes of a known object, as held: one may be absent, which [`Value::attr`] reads as null.
    pub fn as_object(&self) -> Option<&BTreeMap<String, Value>> {
        match self.unwrap_dynamic() {
            Value::Object(attrs) => Some(attrs),
            _ => None,
        }
    }

    /// The value at `path`. Absent object attributes are `Null` (as in Terraform); a missing list
    /// index or map key, or a step that does not fit the value, gives `None`.
    pub fn get_path(&self, path: &AttributePath) -> Option<&Value> {
        let mut current = self;
        for step in path.steps() {
            current = match (current.unwrap_dynamic(), step) {
                (Value::Null, PathStep::Attribute(_)) => &NULL,
                (Value::Object(attrs), PathStep::Attribute(name)) => attrs.get(name).unwrap_or(&NULL),
                (Value::Map(entries), PathStep::ElementKeyString(key)) => entries.get(key)?,
                (Value::List(items) | Value::Tuple(items) | Value::Set(items), PathStep::ElementKeyInt(i)) => {
                    items.get(usize::try_from(*i).ok()?)?
                }
                _ => return None,
            };
        }
        Some(current)
    }

    /// A short description of the value's shape for error messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Unknown(_) => "unknown",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::Map(_) => "map",
            Value::Object(_) => "object",
            Value::Tuple(_) => "tuple",
            Value::Dynamic(..) => "dynamic",
        }
    }
}

/// Null: the value of anything not yet set.
impl Default for Value {
    fn default() -> Value {
        Value::Null
    }
}

from_conversions! {
    bool => Value: |value| Value::Bool(value);
    &str => Value: |value| Value::String(value.to_owned());
    String => Value: |value| Value::String(value);
    Number => Value: |value| Value::Number(value);
    i64 => Value: |value| Value::number_i64(value);
}

/// Sorts set elements and removes duplicates among wholly-known ones.
pub(crate) fn normalize_set(mut elements: Vec<Value>) -> Vec<Value> {
    elements.sort();
    elements.dedup_by(|later, earlier| later == earlier && later.is_wholly_known());
    elements
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_are_order_insensitive_and_deduplicated() {
        let a = Value::set(vec![Value::string("b"), Value::string("a"), Value::string("b")]);
        let b = Value::set(vec![Value::string("a"), Value::string("b")]);
        assert_eq!(a, b);
        assert_eq!(a.elements().map(<[Value]>::len), Some(2));
        let unknowns = Value::set(vec![Value::unknown(), Value::unknown(), Value::string("x")]);
        assert_eq!(unknowns.elements().map(<[Value]>::len), Some(3));
    }

    #[test]
    fn attribute_access_never_panics() {
        let v = Value::object([("name", Value::string("n")), ("tags", Value::map([("Name", Value::string("x"))]))]);
        assert_eq!(v.attr("name").as_str(), Some("n"));
        assert!(v.attr("missing").is_null());
        assert!(Value::Null.attr("x").is_null());
        assert!(Value::string("s").attr("x").is_null());
        let path = AttributePath::root().attr("tags").key("Name");
        assert_eq!(v.get_path(&path).and_then(Value::as_str), Some("x"));
        assert_eq!(v.get_path(&AttributePath::root().attr("tags").key("nope")), None);
        assert_eq!(v.get_path(&AttributePath::root().attr("name").index(-1)), None);
        assert_eq!(v.get_path(&AttributePath::root().attr("absent").attr("deeper")), Some(&Value::Null));
    }

    #[test]
    fn knownness() {
        let v = Value::object([("a", Value::list(vec![Value::number_i64(1), Value::unknown()]))]);
        assert!(!v.is_unknown());
        assert!(!v.is_wholly_known());
        assert!(Value::Null.is_wholly_known());
        let d = Value::dynamic(Type::String, Value::unknown_not_null());
        assert!(d.is_unknown());
        assert_eq!(d.refinements(), Some(&Refinements::not_null()));
    }

    #[test]
    fn set_attr_builds_objects() {
        let mut v = Value::Null;
        assert!(v.set_attr("id", Value::string("vpc-1")));
        assert_eq!(v.attr("id").as_str(), Some("vpc-1"));
        let mut s = Value::string("x");
        assert!(!s.set_attr("id", Value::Null));
        assert_eq!(Value::number_i64(42).as_i64(), Some(42));
        assert_eq!(Value::Bool(true).as_bool(), Some(true));
    }
}
