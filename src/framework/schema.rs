//! The schema model: what a provider or resource declares about its configuration.
//!
//! A schema is data, not code paths: attributes carry their own validators and plan modifiers as
//! composable values, so the generic engines in [`super::validate`] and [`super::plan`] can run them
//! for every resource alike, and the protocol layer can describe the same schema to Terraform.
//! Builders keep a resource's schema readable as one declaration, close to its documentation page.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::value::{Type, Value};

use super::plan_modifiers::PlanModifier;
use super::validators::Validator;

/// A versioned schema: the version lets stored state be upgraded when the schema changes.
#[derive(Clone, Debug)]
pub struct Schema {
    pub version: i64,
    pub block: Block,
}

impl Schema {
    pub fn new(version: i64, block: Block) -> Self {
        Self { version, block }
    }

    /// The object type of a whole resource or provider configuration.
    pub fn value_type(&self) -> Type {
        self.block.implied_type()
    }

    /// Checks the declaration itself for contradictions (used by tests of every schema).
    pub fn check_definition(&self) -> Result<(), String> {
        self.block.check_definition("")
    }
}

/// A level of configuration: attributes plus nested blocks.
#[derive(Clone, Debug, Default)]
pub struct Block {
    pub description: String,
    pub deprecated: bool,
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<NestedBlock>,
}

impl Block {
    pub fn new(description: impl Into<String>) -> Self {
        Self { description: description.into(), ..Self::default() }
    }

    pub fn attribute(mut self, attribute: Attribute) -> Self {
        self.attributes.push(attribute);
        self
    }

    pub fn block(mut self, block: NestedBlock) -> Self {
        self.blocks.push(block);
        self
    }

    pub fn deprecated(mut self) -> Self {
        self.deprecated = true;
        self
    }

    pub fn implied_type(&self) -> Type {
        let mut attributes: BTreeMap<String, Type> =
            self.attributes.iter().map(|a| (a.name.clone(), a.value_type())).collect();
        for b in &self.blocks {
            attributes.insert(b.name.clone(), b.value_type());
        }
        Type::Object { attributes, optional: Default::default() }
    }

    pub fn find_attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    pub fn find_block(&self, name: &str) -> Option<&NestedBlock> {
        self.blocks.iter().find(|b| b.name == name)
    }

    fn check_definition(&self, prefix: &str) -> Result<(), String> {
        let mut seen = std::collections::BTreeSet::new();
        for a in &self.attributes {
            if !seen.insert(a.name.as_str()) {
                return Err(format!("{prefix}{}: declared twice", a.name));
            }
            a.check_definition(prefix)?;
        }
        for b in &self.blocks {
            if !seen.insert(b.name.as_str()) {
                return Err(format!("{prefix}{}: declared twice", b.name));
            }
            if b.block.description.is_empty() {
                return Err(format!("{prefix}{}: block has no description", b.name));
            }
            b.block.check_definition(&format!("{prefix}{}.", b.name))?;
        }
        Ok(())
    }
}

/// How the values of a nested block or nested attribute are grouped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nesting {
    /// At most one object; absent means null.
    Single,
    /// Exactly one object; absent means an object of nulls.
    Group,
    List,
    Set,
    Map,
}

/// The type of an attribute's value: either a plain type or nested attributes.
#[derive(Clone, Debug)]
pub enum AttributeType {
    Plain(Type),
    Nested { nesting: Nesting, attributes: Vec<Attribute> },
}

/// One attribute, with its behaviour attached.
#[derive(Clone)]
pub struct Attribute {
    pub name: String,
    pub kind: AttributeType,
    /// Markdown, shown in docs and `terraform providers schema -json`.
    pub description: String,
    pub required: bool,
    pub optional: bool,
    pub computed: bool,
    pub sensitive: bool,
    pub write_only: bool,
    pub deprecated: bool,
    /// Planned when the configuration leaves the attribute null (needs `optional` + `computed`).
    pub default: Option<Value>,
    pub validators: Vec<Arc<dyn Validator>>,
    pub plan_modifiers: Vec<Arc<dyn PlanModifier>>,
}

impl std::fmt::Debug for Attribute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attribute")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("required", &self.required)
            .field("optional", &self.optional)
            .field("computed", &self.computed)
            .field("sensitive", &self.sensitive)
            .field("default", &self.default)
            .field("validators", &self.validators.iter().map(|v| v.description()).collect::<Vec<_>>())
            .field("plan_modifiers", &self.plan_modifiers.iter().map(|m| m.description()).collect::<Vec<_>>())
            .finish()
    }
}

impl Attribute {
    /// A plain attribute; choose `required()`, `optional()` and/or `computed()` next.
    pub fn new(name: impl Into<String>, ty: Type) -> Self {
        Self::with_kind(name, AttributeType::Plain(ty))
    }

    /// An attribute whose value is objects described by nested attributes.
    pub fn nested(name: impl Into<String>, nesting: Nesting, attributes: Vec<Attribute>) -> Self {
        Self::with_kind(name, AttributeType::Nested { nesting, attributes })
    }

    fn with_kind(name: impl Into<String>, kind: AttributeType) -> Self {
        Self {
            name: name.into(),
            kind,
            description: String::new(),
            required: false,
            optional: false,
            computed: false,
            sensitive: false,
            write_only: false,
            deprecated: false,
            default: None,
            validators: Vec::new(),
            plan_modifiers: Vec::new(),
        }
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    pub fn computed(mut self) -> Self {
        self.computed = true;
        self
    }

    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }

    pub fn write_only(mut self) -> Self {
        self.write_only = true;
        self
    }

    pub fn deprecated(mut self) -> Self {
        self.deprecated = true;
        self
    }

    pub fn description(mut self, markdown: impl Into<String>) -> Self {
        self.description = markdown.into();
        self
    }

    /// A default makes the attribute optional and computed: the plan shows the default when unset.
    pub fn default(mut self, value: Value) -> Self {
        self.optional = true;
        self.computed = true;
        self.default = Some(value);
        self
    }

    pub fn validator(mut self, validator: impl Validator + 'static) -> Self {
        self.validators.push(Arc::new(validator));
        self
    }

    pub fn plan_modifier(mut self, modifier: impl PlanModifier + 'static) -> Self {
        self.plan_modifiers.push(Arc::new(modifier));
        self
    }

    pub fn value_type(&self) -> Type {
        match &self.kind {
            AttributeType::Plain(ty) => ty.clone(),
            AttributeType::Nested { nesting, attributes } => {
                let object = Type::Object {
                    attributes: attributes.iter().map(|a| (a.name.clone(), a.value_type())).collect(),
                    optional: attributes.iter().filter(|a| !a.required).map(|a| a.name.clone()).collect(),
                };
                wrap_nesting(*nesting, object)
            }
        }
    }

    fn check_definition(&self, prefix: &str) -> Result<(), String> {
        let name = format!("{prefix}{}", self.name);
        if self.description.is_empty() {
            return Err(format!("{name}: no description"));
        }
        match (self.required, self.optional, self.computed) {
            (true, false, false) | (false, true, _) | (false, false, true) => {}
            _ => return Err(format!("{name}: must be required, optional, computed or optional+computed")),
        }
        if self.default.is_some() && !(self.optional && self.computed) {
            return Err(format!("{name}: a default needs optional+computed"));
        }
        if self.write_only && self.computed {
            return Err(format!("{name}: a write-only attribute cannot be computed"));
        }
        if let AttributeType::Nested { attributes, .. } = &self.kind {
            for a in attributes {
                a.check_definition(&format!("{name}."))?;
            }
        }
        Ok(())
    }
}

/// A nested block: `endpoints { ... }`, `assume_role { ... }`.
#[derive(Clone, Debug)]
pub struct NestedBlock {
    pub name: String,
    pub nesting: Nesting,
    pub block: Block,
    pub min_items: u64,
    pub max_items: u64,
}

impl NestedBlock {
    pub fn new(name: impl Into<String>, nesting: Nesting, block: Block) -> Self {
        let max_items = if nesting == Nesting::Single || nesting == Nesting::Group { 1 } else { 0 };
        Self { name: name.into(), nesting, block, min_items: 0, max_items }
    }

    pub fn min_items(mut self, n: u64) -> Self {
        self.min_items = n;
        self
    }

    pub fn max_items(mut self, n: u64) -> Self {
        self.max_items = n;
        self
    }

    pub fn value_type(&self) -> Type {
        wrap_nesting(self.nesting, self.block.implied_type())
    }
}

fn wrap_nesting(nesting: Nesting, object: Type) -> Type {
    match nesting {
        Nesting::Single | Nesting::Group => object,
        Nesting::List => Type::List(Box::new(object)),
        Nesting::Set => Type::Set(Box::new(object)),
        Nesting::Map => Type::Map(Box::new(object)),
    }
}
