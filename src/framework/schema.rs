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

/// Builder methods that switch one `bool` field of the same name on, declared as a list because
/// each would otherwise be the same five lines.
macro_rules! flag_setters {
    ($($(#[$doc:meta])* $flag:ident),+ $(,)?) => {
        $(
            $(#[$doc])*
            pub fn $flag(mut self) -> Self {
                self.$flag = true;
                self
            }
        )+
    };
}

/// A versioned schema: the version lets stored state be upgraded when the schema changes.
#[derive(Clone, Debug)]
pub struct Schema {
    /// Stored with every state written under this schema; raise it when the state's shape changes,
    /// so older state goes through [`Resource::upgrade_state`](super::Resource::upgrade_state).
    pub version: i64,
    /// The top level: the resource's (or provider block's) attributes and nested blocks.
    pub block: Block,
}

impl Schema {
    /// A schema at `version` whose top level is `block`.
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
    /// Markdown, shown in docs and `terraform providers schema -json`; nested blocks must have one.
    pub description: String,
    /// Flags the whole block as deprecated in the schema Terraform receives.
    pub deprecated: bool,
    /// The block's own attributes, in declaration order (the order docs list them in).
    pub attributes: Vec<Attribute>,
    /// The blocks nested directly inside this one, in declaration order.
    pub blocks: Vec<NestedBlock>,
}

impl Block {
    /// An empty block described by `description` (Markdown); add attributes and blocks next.
    pub fn new(description: impl Into<String>) -> Self {
        Self { description: description.into(), ..Self::default() }
    }

    /// Adds an attribute after those already declared.
    pub fn attribute(mut self, attribute: Attribute) -> Self {
        self.attributes.push(attribute);
        self
    }

    /// Adds attributes, in order, after those already declared.
    pub fn attributes(mut self, attributes: impl IntoIterator<Item = Attribute>) -> Self {
        self.attributes.extend(attributes);
        self
    }

    /// Adds a nested block after those already declared.
    pub fn block(mut self, block: NestedBlock) -> Self {
        self.blocks.push(block);
        self
    }

    flag_setters! {
        /// Marks the whole block deprecated.
        deprecated,
    }

    /// The object type of this block's values: one attribute per attribute and per nested block.
    pub fn implied_type(&self) -> Type {
        let mut attributes: BTreeMap<String, Type> =
            self.attributes.iter().map(|a| (a.name.clone(), a.value_type())).collect();
        for b in &self.blocks {
            attributes.insert(b.name.clone(), b.value_type());
        }
        Type::Object { attributes, optional: Default::default() }
    }

    /// The attribute declared as `name` directly in this block (nested blocks are not searched).
    pub fn find_attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// The nested block declared as `name` directly in this block.
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
    /// Any number of objects, in order.
    List,
    /// Any number of objects, unordered and without duplicates.
    Set,
    /// Objects by string key.
    Map,
}

/// The type of an attribute's value: either a plain type or nested attributes.
#[derive(Clone, Debug)]
pub enum AttributeType {
    /// A value of one Terraform type, e.g. `string` or `map(string)`.
    Plain(Type),
    /// Objects described by their own attributes, grouped by `nesting`.
    Nested {
        /// How the objects are grouped: one, a list, a set or a map of them.
        nesting: Nesting,
        /// The attributes of each object; those not `required` are optional in its object type.
        attributes: Vec<Attribute>,
    },
}

/// One attribute, with its behaviour attached.
#[derive(Clone)]
pub struct Attribute {
    /// The name in configuration and state, e.g. `cidr_block`.
    pub name: String,
    /// What the value is: a plain type or nested attributes.
    pub kind: AttributeType,
    /// Markdown, shown in docs and `terraform providers schema -json`.
    pub description: String,
    /// Configuration must set it.
    pub required: bool,
    /// Configuration may set it; together with `computed`, the provider fills it in when unset.
    pub optional: bool,
    /// The provider sets the value: read-only on its own, a fallback together with `optional`.
    pub computed: bool,
    /// Terraform redacts the value in plan output and logs (it is still stored in state).
    pub sensitive: bool,
    /// The value lives only in configuration, never in plan or state; apply reads it from
    /// [`ApplyRequest::config`](super::ApplyRequest::config).
    pub write_only: bool,
    /// Setting it draws a deprecation warning at validation, with the description as detail.
    pub deprecated: bool,
    /// Planned when the configuration leaves the attribute null (needs `optional` + `computed`).
    pub default: Option<Value>,
    /// Checks of the configured value, run in order when it is known and not null.
    pub validators: Vec<Arc<dyn Validator>>,
    /// Rules for the planned value, run in order after defaults and unknown-marking
    /// (see [`super::plan`]).
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

    flag_setters! {
        /// Configuration must set the attribute.
        required,
        /// Configuration may leave the attribute null.
        optional,
        /// The provider supplies the value: read-only alone, or a fallback after `optional()`.
        computed,
        /// Terraform redacts the value in plan output and logs.
        sensitive,
        /// Terraform never stores the value in plan or state (so it cannot also be computed).
        write_only,
        /// Setting the attribute draws a deprecation warning; say what to use instead in the description.
        deprecated,
    }

    /// The Markdown description for docs and `terraform providers schema -json`; every attribute
    /// needs one ([`Schema::check_definition`]).
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

    /// Adds a validator, run after those already added.
    pub fn validator(mut self, validator: impl Validator + 'static) -> Self {
        self.validators.push(Arc::new(validator));
        self
    }

    /// Adds a plan modifier, run after those already added.
    pub fn plan_modifier(mut self, modifier: impl PlanModifier + 'static) -> Self {
        self.plan_modifiers.push(Arc::new(modifier));
        self
    }

    /// The type of the attribute's value; nested attributes give objects (their non-required
    /// attributes optional), grouped as `nesting` says.
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
    /// The block's name in configuration, e.g. `assume_role`.
    pub name: String,
    /// How many instances there may be and how they are grouped.
    pub nesting: Nesting,
    /// The attributes and blocks inside each instance.
    pub block: Block,
    /// Fewest instances Terraform accepts; 0 when the block may be left out.
    pub min_items: u64,
    /// Most instances Terraform accepts; 0 means no limit (single and group blocks have 1).
    pub max_items: u64,
}

impl NestedBlock {
    /// A block named `name`: at most one instance for single and group nesting, otherwise any
    /// number until [`min_items`](Self::min_items) or [`max_items`](Self::max_items) say otherwise.
    pub fn new(name: impl Into<String>, nesting: Nesting, block: Block) -> Self {
        let max_items = if nesting == Nesting::Single || nesting == Nesting::Group { 1 } else { 0 };
        Self { name: name.into(), nesting, block, min_items: 0, max_items }
    }

    /// Requires at least `n` instances.
    pub fn min_items(mut self, n: u64) -> Self {
        self.min_items = n;
        self
    }

    /// Allows at most `n` instances (0: no limit).
    pub fn max_items(mut self, n: u64) -> Self {
        self.max_items = n;
        self
    }

    /// The type of the block's value: its object type, alone or in a list, set or map per `nesting`.
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
