//! Reading typed Rust values out of a known Terraform value, with a diagnostic on the attribute
//! when the shape is wrong (which the schema should already have prevented).

use std::collections::BTreeMap;

use crate::framework::Diagnostics;
use crate::value::{AttributePath, Value};

/// A map of strings (tags); null is the empty map.
pub fn string_map(value: &Value, path: &AttributePath, diags: &mut Diagnostics) -> BTreeMap<String, String> {
    let Some(entries) = value.as_map() else {
        if !value.is_null() {
            diags.attribute_error(
                path.clone(),
                "Invalid map",
                format!("Expected a map of strings, got {}.", value.kind_name()),
            );
        }
        return BTreeMap::new();
    };
    entries
        .iter()
        .filter_map(|(key, entry)| match entry.as_str() {
            Some(text) => Some((key.clone(), text.to_owned())),
            None => {
                diags.attribute_error(path.key(key.clone()), "Invalid tag value", "Tag values must be strings.");
                None
            }
        })
        .collect()
}
