//! The plan engine: the steps every resource's plan goes through before its own `modify_plan`.
//!
//! Terraform proposes a new state (configuration, with prior values kept for computed attributes
//! the configuration leaves unset). From it the engine:
//! 1. fills declared defaults where the configuration is null;
//! 2. if the resource is being created or anything differs from prior state, marks computed
//!    attributes the configuration leaves unset as unknown ("known after apply");
//! 3. runs each attribute's plan modifiers, which may restore prior values or demand replacement.
//!
//! These are the rules terraform-plugin-framework follows too, so plans look the way Terraform
//! users expect: no spurious "known after apply" on a no-op, and no diff from defaults.

use crate::value::{AttributePath, Value};

use super::diagnostics::Diagnostics;
use super::plan_modifiers::{AttributePlan, AttributePlanResult};
use super::schema::{Attribute, AttributeType, Block, Nesting};

/// The result of the generic planning steps for one resource instance.
pub struct EnginePlan {
    /// The proposed new state with defaults filled, computed values marked unknown where they may
    /// change, and every plan modifier applied.
    pub planned: Value,
    /// The attributes whose plan modifiers said their change forces replacement.
    pub requires_replace: Vec<AttributePath>,
}

/// Runs the generic planning steps (not for destroy: a null proposal is planned as null).
pub fn plan_resource(
    block: &Block,
    config: &Value,
    prior: &Value,
    proposed: &Value,
    diags: &mut Diagnostics,
) -> EnginePlan {
    let creating = prior.is_null();
    let mut planned = proposed.clone();
    apply_defaults(block, config, &mut planned);
    if creating || &planned != prior {
        mark_computed_unknown(block, config, &mut planned);
    }
    let mut requires_replace = Vec::new();
    let mut walk = ModifierWalk { creating, requires_replace: &mut requires_replace, diags };
    walk.block(block, config, prior, &mut planned, &AttributePath::root());
    EnginePlan { planned, requires_replace }
}

fn apply_defaults(block: &Block, config: &Value, planned: &mut Value) {
    if !matches!(planned, Value::Object(_)) {
        return;
    }
    for attribute in &block.attributes {
        let configured = config.attr(&attribute.name);
        if let (Some(default), true) = (&attribute.default, configured.is_null()) {
            planned.set_attr(&attribute.name, default.clone());
        }
    }
    for nested in &block.blocks {
        let configured = config.attr(&nested.name).clone();
        if let Some(value) = attr_mut(planned, &nested.name) {
            zip_nested(nested.nesting, &configured, value, |c, p| apply_defaults(&nested.block, c, p));
        }
    }
}

fn mark_computed_unknown(block: &Block, config: &Value, planned: &mut Value) {
    if !matches!(planned, Value::Object(_)) {
        return;
    }
    for attribute in &block.attributes {
        let configured = config.attr(&attribute.name);
        if attribute.computed && attribute.default.is_none() && configured.is_null() {
            planned.set_attr(&attribute.name, Value::unknown());
        }
    }
    for nested in &block.blocks {
        let configured = config.attr(&nested.name).clone();
        if let Some(value) = attr_mut(planned, &nested.name) {
            zip_nested(nested.nesting, &configured, value, |c, p| mark_computed_unknown(&nested.block, c, p));
        }
    }
}

/// Pairs each object of a nested value in `planned` with its configuration counterpart.
fn zip_nested(nesting: Nesting, config: &Value, planned: &mut Value, mut f: impl FnMut(&Value, &mut Value)) {
    match (nesting, planned) {
        (Nesting::Single | Nesting::Group, planned) => f(config, planned),
        (Nesting::List, Value::List(items)) => {
            let configured = config.elements().unwrap_or_default();
            for (i, item) in items.iter_mut().enumerate() {
                f(configured.get(i).unwrap_or(&Value::Null), item);
            }
        }
        (Nesting::Map, Value::Map(items)) => {
            for (key, item) in items.iter_mut() {
                let configured = config.as_map().and_then(|m| m.get(key)).unwrap_or(&Value::Null);
                f(configured, item);
            }
        }
        // Set elements have no identity to pair them by; their planned values stand as proposed.
        _ => {}
    }
}

struct ModifierWalk<'a> {
    creating: bool,
    requires_replace: &'a mut Vec<AttributePath>,
    diags: &'a mut Diagnostics,
}

impl ModifierWalk<'_> {
    fn block(&mut self, block: &Block, config: &Value, prior: &Value, planned: &mut Value, path: &AttributePath) {
        if !matches!(planned, Value::Object(_)) {
            return;
        }
        self.attributes(&block.attributes, config, prior, planned, path);
        for nested in &block.blocks {
            let nested_path = path.clone().attr(&nested.name);
            let configured = config.attr(&nested.name).clone();
            let prior_value = prior.attr(&nested.name).clone();
            if let Some(value) = attr_mut(planned, &nested.name) {
                self.nested(
                    nested.nesting,
                    &configured,
                    &prior_value,
                    value,
                    &nested_path,
                    &mut |walk, c, p, v, at| {
                        walk.block(&nested.block, c, p, v, at);
                    },
                );
            }
        }
    }

    fn attributes(
        &mut self,
        attributes: &[Attribute],
        config: &Value,
        prior: &Value,
        planned: &mut Value,
        path: &AttributePath,
    ) {
        for attribute in attributes {
            let attribute_path = path.clone().attr(&attribute.name);
            let configured = config.attr(&attribute.name).clone();
            let prior_value = prior.attr(&attribute.name).clone();
            let Some(value) = attr_mut(planned, &attribute.name) else { continue };
            if let AttributeType::Nested { nesting, attributes: inner } = &attribute.kind {
                self.nested(*nesting, &configured, &prior_value, value, &attribute_path, &mut |walk, c, p, v, at| {
                    if matches!(v, Value::Object(_)) {
                        walk.attributes(inner, c, p, v, at);
                    }
                });
            }
            let mut replace = false;
            for modifier in &attribute.plan_modifiers {
                modifier.modify(
                    &AttributePlan {
                        path: &attribute_path,
                        config: &configured,
                        prior: &prior_value,
                        creating: self.creating,
                    },
                    AttributePlanResult { planned: value, requires_replace: &mut replace, diagnostics: self.diags },
                );
            }
            if replace {
                self.requires_replace.push(attribute_path);
            }
        }
    }

    #[allow(clippy::type_complexity)]
    fn nested(
        &mut self,
        nesting: Nesting,
        config: &Value,
        prior: &Value,
        planned: &mut Value,
        path: &AttributePath,
        f: &mut dyn FnMut(&mut Self, &Value, &Value, &mut Value, &AttributePath),
    ) {
        match (nesting, planned) {
            (Nesting::Single | Nesting::Group, planned) => f(self, config, prior, planned, path),
            (Nesting::List, Value::List(items)) => {
                let configured = config.elements().unwrap_or_default();
                let priors = prior.elements().unwrap_or_default();
                for (i, item) in items.iter_mut().enumerate() {
                    let at = path.clone().index(i64::try_from(i).unwrap_or(i64::MAX));
                    f(
                        self,
                        configured.get(i).unwrap_or(&Value::Null),
                        priors.get(i).unwrap_or(&Value::Null),
                        item,
                        &at,
                    );
                }
            }
            (Nesting::Map, Value::Map(items)) => {
                for (key, item) in items.iter_mut() {
                    let c = config.as_map().and_then(|m| m.get(key)).unwrap_or(&Value::Null);
                    let p = prior.as_map().and_then(|m| m.get(key)).unwrap_or(&Value::Null);
                    f(self, c, p, item, &path.clone().key(key.clone()));
                }
            }
            _ => {}
        }
    }
}

/// The attribute `name` of an object value, for in-place planning.
fn attr_mut<'a>(object: &'a mut Value, name: &str) -> Option<&'a mut Value> {
    match object {
        Value::Object(attributes) => attributes.get_mut(name),
        _ => None,
    }
}
