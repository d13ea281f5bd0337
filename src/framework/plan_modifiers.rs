//! Attribute plan modifiers: the small rules that shape a planned value.
//!
//! The plan engine ([`super::plan`]) first does what Terraform would do anyway (take config, keep
//! prior computed values, fill defaults, mark computed values unknown when something changes), then
//! runs each attribute's modifiers in declaration order. Modifiers are values attached to the schema,
//! so "this forces replacement" or "this id never changes after create" is stated once, next to
//! the attribute, and honoured the same way by every resource.

use crate::value::{AttributePath, Value};

use super::diagnostics::Diagnostics;

/// What a modifier sees about one attribute.
pub struct AttributePlan<'a> {
    /// Where the attribute is, for diagnostics and for the replacement list.
    pub path: &'a AttributePath,
    /// The attribute's value in configuration (may be null or unknown).
    pub config: &'a Value,
    /// Its value in prior state; null when the resource is being created.
    pub prior: &'a Value,
    /// Whether the whole resource is being created (there is no prior state).
    pub creating: bool,
}

/// What a modifier may change: the planned value, and whether the change forces replacement.
pub struct AttributePlanResult<'a> {
    /// The planned value so far (after defaults and earlier modifiers); the modifier may replace it.
    pub planned: &'a mut Value,
    /// Set to true when this change must destroy and recreate the resource; never reset to false.
    pub requires_replace: &'a mut bool,
    /// Where the modifier reports problems with the plan.
    pub diagnostics: &'a mut Diagnostics,
}

/// One rule about an attribute's planned value.
pub trait PlanModifier: Send + Sync {
    /// What the rule promises, lower case and without a final full stop (`changing this value
    /// replaces the resource`); docs pages show it when it is about replacement.
    fn description(&self) -> String;
    /// Applies the rule to one attribute: may change the planned value, ask for replacement, or
    /// report a diagnostic.
    fn modify(&self, attribute: &AttributePlan<'_>, result: AttributePlanResult<'_>);
}

/// Changing this attribute destroys and recreates the resource.
pub fn requires_replace() -> impl PlanModifier {
    RequiresReplaceIf { description: "changing this value replaces the resource", condition: |_, _| true }
}

/// Changing this attribute replaces the resource when `condition(prior, planned)` holds (both
/// values known and different); otherwise the change is made in place.
pub fn requires_replace_if(description: &'static str, condition: fn(&Value, &Value) -> bool) -> impl PlanModifier {
    RequiresReplaceIf { description, condition }
}

struct RequiresReplaceIf {
    description: &'static str,
    condition: fn(&Value, &Value) -> bool,
}

impl PlanModifier for RequiresReplaceIf {
    fn description(&self) -> String {
        self.description.to_owned()
    }

    fn modify(&self, attribute: &AttributePlan<'_>, result: AttributePlanResult<'_>) {
        if attribute.creating || attribute.prior == &*result.planned {
            return;
        }
        // An unknown planned value may turn out equal; Terraform reports replacement only when the
        // value could differ, which an unknown always could.
        if result.planned.is_unknown() || (self.condition)(attribute.prior, result.planned) {
            *result.requires_replace = true;
        }
    }
}

/// Keeps the prior state's value instead of "known after apply" for a computed attribute that never
/// changes once set (ids, ARNs), so updates show a quiet plan.
pub fn use_state_for_unknown() -> impl PlanModifier {
    UseStateForUnknown
}

struct UseStateForUnknown;

impl PlanModifier for UseStateForUnknown {
    fn description(&self) -> String {
        "once set, the value does not change unless the resource is replaced".to_owned()
    }

    fn modify(&self, attribute: &AttributePlan<'_>, result: AttributePlanResult<'_>) {
        if result.planned.is_unknown() && attribute.config.is_null() && !attribute.prior.is_null() {
            *result.planned = attribute.prior.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(m: &dyn PlanModifier, config: Value, prior: Value, planned: Value, creating: bool) -> (Value, bool) {
        let path = AttributePath::root().attr("a");
        let mut planned = planned;
        let mut replace = false;
        let mut diags = Diagnostics::new();
        m.modify(
            &AttributePlan { path: &path, config: &config, prior: &prior, creating },
            AttributePlanResult { planned: &mut planned, requires_replace: &mut replace, diagnostics: &mut diags },
        );
        (planned, replace)
    }

    #[test]
    fn requires_replace_only_on_change_of_existing_resource() {
        let m = requires_replace();
        let a = Value::string("a");
        let b = Value::string("b");
        assert!(!run(&m, b.clone(), a.clone(), a.clone(), false).1);
        assert!(run(&m, b.clone(), a.clone(), b.clone(), false).1);
        assert!(!run(&m, b.clone(), Value::Null, b.clone(), true).1);
        assert!(run(&m, Value::unknown(), a, Value::unknown(), false).1);
    }

    #[test]
    fn requires_replace_if_respects_condition() {
        let m = requires_replace_if("shrinking replaces", |prior, planned| planned.as_i64() < prior.as_i64());
        assert!(!run(&m, Value::Null, Value::number_i64(2), Value::number_i64(3), false).1);
        assert!(run(&m, Value::Null, Value::number_i64(3), Value::number_i64(2), false).1);
    }

    #[test]
    fn use_state_for_unknown_keeps_prior_only_when_unset_in_config() {
        let m = use_state_for_unknown();
        let prior = Value::string("vpc-1");
        assert_eq!(run(&m, Value::Null, prior.clone(), Value::unknown(), false).0, prior);
        assert!(run(&m, Value::Null, Value::Null, Value::unknown(), true).0.is_unknown());
        assert_eq!(run(&m, Value::Null, prior.clone(), Value::string("x"), false).0, Value::string("x"));
    }
}
