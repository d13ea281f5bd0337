//! Attribute paths: where inside a value something is.
//!
//! Diagnostics must point at the offending attribute (`subnets[0].cidr`), and Terraform's protocol
//! carries the same steps (attribute name, string map key, integer list index), so one type serves
//! both error messages and the wire.

use std::fmt;

/// One step from a value into one of its parts.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathStep {
    /// An object attribute.
    Attribute(String),
    /// A map key.
    ElementKeyString(String),
    /// A list, tuple (or set position) index.
    ElementKeyInt(i64),
}

/// A sequence of steps from the root value; empty means the root itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttributePath(pub Vec<PathStep>);

impl AttributePath {
    /// The empty path: the whole value (a resource's or provider block's top-level object).
    pub fn root() -> Self {
        AttributePath(Vec::new())
    }

    /// True when the path has no steps and so names the whole value.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// This path extended by an attribute step.
    pub fn attr(&self, name: impl Into<String>) -> Self {
        self.with(PathStep::Attribute(name.into()))
    }

    /// This path extended by a list/tuple index step.
    pub fn index(&self, index: i64) -> Self {
        self.with(PathStep::ElementKeyInt(index))
    }

    /// This path extended by a map key step.
    pub fn key(&self, key: impl Into<String>) -> Self {
        self.with(PathStep::ElementKeyString(key.into()))
    }

    /// This path extended by any step.
    pub fn with(&self, step: PathStep) -> Self {
        let mut steps = self.0.clone();
        steps.push(step);
        AttributePath(steps)
    }

    /// The steps from the root, outermost first.
    pub fn steps(&self) -> &[PathStep] {
        &self.0
    }
}

from_conversions! {
    Vec<PathStep> => AttributePath: |steps| AttributePath(steps);
}

impl fmt::Display for AttributePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                PathStep::Attribute(name) if i == 0 => f.write_str(name)?,
                PathStep::Attribute(name) => write!(f, ".{name}")?,
                PathStep::ElementKeyInt(index) => write!(f, "[{index}]")?,
                PathStep::ElementKeyString(key) => {
                    f.write_str("[\"")?;
                    for c in key.chars() {
                        match c {
                            '"' => f.write_str("\\\"")?,
                            '\\' => f.write_str("\\\\")?,
                            c => write!(f, "{c}")?,
                        }
                    }
                    f.write_str("\"]")?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_like_terraform_addresses() {
        let root = AttributePath::root();
        assert_eq!(root.to_string(), "");
        assert_eq!(root.attr("network").attr("cidr_block").to_string(), "network.cidr_block");
        assert_eq!(root.attr("subnets").index(0).attr("id").to_string(), "subnets[0].id");
        assert_eq!(root.attr("tags").key("Name").to_string(), r#"tags["Name"]"#);
        assert_eq!(root.attr("tags").key(r#"a"b\"#).to_string(), r#"tags["a\"b\\"]"#);
    }

    #[test]
    fn extending_does_not_mutate_the_parent() {
        let parent = AttributePath::root().attr("a");
        let child = parent.index(3);
        assert_eq!(parent.steps().len(), 1);
        assert_eq!(child.steps(), &[PathStep::Attribute("a".into()), PathStep::ElementKeyInt(3)]);
    }
}
