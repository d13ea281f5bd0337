//! Terraform's plan and apply contracts, checked on our side.
//!
//! Terraform rejects a provider whose plan contradicts the configuration, or whose apply result
//! contradicts a known planned value, with "Provider produced inconsistent result" — a user-facing
//! failure that is always a provider bug. The runtime runs these checks in debug builds (and so in
//! every test), turning a contract violation into a failing test instead of a user's broken apply.

use crate::value::{AttributePath, Value};

use super::diagnostics::Diagnostics;
use super::schema::{AttributeType, Block, Nesting};

const PLAN_SUMMARY: &str = "Provider produced an invalid plan (internal check)";
const APPLY_SUMMARY: &str = "Provider produced an inconsistent result after apply (internal check)";

/// Planned values must equal configuration wherever the configuration sets them.
pub fn check_plan(block: &Block, config: &Value, planned: &Value, diags: &mut Diagnostics) {
    check_plan_block(block, config, planned, &AttributePath::root(), diags);
}

fn check_plan_block(block: &Block, config: &Value, planned: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    if config.is_null() || config.is_unknown() || planned.is_unknown() {
        return;
    }
    for attribute in &block.attributes {
        let at = path.clone().attr(&attribute.name);
        let configured = config.attr(&attribute.name);
        let value = planned.attr(&attribute.name);
        let must_match = !attribute.computed || !configured.is_null();
        if attribute.write_only {
            if !value.is_null() {
                diags.attribute_error(at, PLAN_SUMMARY, "a write-only attribute must be planned as null");
            }
        } else if must_match && matches!(attribute.kind, AttributeType::Plain(_)) && configured != value {
            diags.attribute_error(
                at,
                PLAN_SUMMARY,
                format!("planned value {value:?} does not match configured value {configured:?}"),
            );
        }
    }
    for nested in &block.blocks {
        let at = path.clone().attr(&nested.name);
        let configured = config.attr(&nested.name);
        let value = planned.attr(&nested.name);
        match nested.nesting {
            Nesting::Single | Nesting::Group => check_plan_block(&nested.block, configured, value, &at, diags),
            Nesting::List => {
                let (c, p) = (configured.elements().unwrap_or_default(), value.elements().unwrap_or_default());
                if c.len() != p.len() && !configured.is_unknown() {
                    diags.attribute_error(at.clone(), PLAN_SUMMARY, "planned block count differs from configuration");
                }
                for (i, (c, p)) in c.iter().zip(p).enumerate() {
                    check_plan_block(
                        &nested.block,
                        c,
                        p,
                        &at.clone().index(i64::try_from(i).unwrap_or(i64::MAX)),
                        diags,
                    );
                }
            }
            Nesting::Set | Nesting::Map => {}
        }
    }
}

/// Every known planned value must survive apply unchanged, and nothing may stay unknown.
pub fn check_apply(planned: &Value, applied: &Value, diags: &mut Diagnostics) {
    compare_applied(planned, applied, &AttributePath::root(), diags);
}

fn compare_applied(planned: &Value, applied: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    let still_unknown = |diags: &mut Diagnostics| {
        diags.attribute_error(path.clone(), APPLY_SUMMARY, "value is still unknown after apply");
    };
    if applied.is_unknown() {
        still_unknown(diags);
        return;
    }
    match (planned, applied) {
        (Value::Unknown(_), _) | (Value::Set(_), Value::Set(_)) if !planned.is_wholly_known() => {
            if !applied.is_wholly_known() {
                still_unknown(diags);
            } else if let Value::Unknown(promised) = planned
                && !promised.admits(applied)
            {
                diags.attribute_error(
                    path.clone(),
                    APPLY_SUMMARY,
                    format!("apply produced {applied:?}, outside the refinements the plan promised"),
                );
            }
        }
        (Value::Object(p), Value::Object(a)) | (Value::Map(p), Value::Map(a)) => {
            if p.len() != a.len() || p.keys().ne(a.keys()) {
                diags.attribute_error(path.clone(), APPLY_SUMMARY, "keys differ from the plan");
                return;
            }
            for (key, value) in p {
                let at = if matches!(planned, Value::Object(_)) {
                    path.clone().attr(key)
                } else {
                    path.clone().key(key.clone())
                };
                compare_applied(value, a.get(key).unwrap_or(&Value::Null), &at, diags);
            }
        }
        (Value::List(p), Value::List(a)) | (Value::Tuple(p), Value::Tuple(a)) => {
            if p.len() != a.len() {
                diags.attribute_error(
                    path.clone(),
                    APPLY_SUMMARY,
                    format!("planned {} elements, got {}", p.len(), a.len()),
                );
                return;
            }
            for (i, (p, a)) in p.iter().zip(a).enumerate() {
                compare_applied(p, a, &path.clone().index(i64::try_from(i).unwrap_or(i64::MAX)), diags);
            }
        }
        _ if planned == applied => {}
        _ => diags.attribute_error(
            path.clone(),
            APPLY_SUMMARY,
            format!("planned {planned:?}, but apply produced {applied:?}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::schema::Attribute;
    use crate::value::Type;

    fn block() -> Block {
        Block::new("test")
            .attribute(Attribute::new("name", Type::String).required().description("n"))
            .attribute(Attribute::new("id", Type::String).computed().description("i"))
            .attribute(Attribute::new("mode", Type::String).default(Value::string("a")).description("m"))
    }

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::object(pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())))
    }

    #[test]
    fn plan_must_follow_configuration() {
        let config = obj(&[("name", Value::string("x")), ("id", Value::Null), ("mode", Value::Null)]);
        let good = obj(&[("name", Value::string("x")), ("id", Value::unknown()), ("mode", Value::string("a"))]);
        let bad = obj(&[("name", Value::string("y")), ("id", Value::unknown()), ("mode", Value::string("a"))]);
        let mut diags = Diagnostics::new();
        check_plan(&block(), &config, &good, &mut diags);
        assert!(diags.is_empty(), "{diags}");
        check_plan(&block(), &config, &bad, &mut diags);
        assert!(diags.has_errors());
    }

    #[test]
    fn apply_must_keep_known_values_and_resolve_unknowns() {
        let planned = obj(&[("name", Value::string("x")), ("id", Value::unknown())]);
        let mut diags = Diagnostics::new();
        check_apply(&planned, &obj(&[("name", Value::string("x")), ("id", Value::string("1"))]), &mut diags);
        assert!(diags.is_empty(), "{diags}");
        check_apply(&planned, &obj(&[("name", Value::string("z")), ("id", Value::string("1"))]), &mut diags);
        assert_eq!(diags.iter().count(), 1);
        check_apply(&planned, &obj(&[("name", Value::string("x")), ("id", Value::unknown())]), &mut diags);
        assert_eq!(diags.iter().count(), 2);
    }
}
