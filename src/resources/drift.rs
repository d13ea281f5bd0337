//! Drift: one difference between what a resource's configuration says and what exists, as a
//! finding a person can read in a plan ("NAT gateway for us-east-1a is missing"). Every resource
//! reports its findings in this one shape; each names its own components.
//!
//! Refresh stores the findings in the computed `drift` attribute. A non-empty list makes the next
//! plan show `drift` going back to `[]`, and applying that plan runs the same converge as create,
//! which repairs every finding.

use std::fmt;

use crate::aws::Tags;

/// What kind of difference a finding is; decides what the plan can promise to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriftKind {
    /// The object does not exist and will be created (so its id changes).
    Missing,
    /// The object exists but is unusable (a failed NAT gateway) and will be replaced.
    Broken,
    /// The object should not exist and will be deleted.
    Surplus,
    /// An attribute of the object has the wrong value.
    Setting,
    /// Tags are missing or have other values.
    Tags,
    /// Routes or subnet associations differ.
    Routing,
    /// Rules or policy documents differ.
    Rules,
}

/// One difference between configuration and the cloud, about component `C` (the network's
/// `Component`, a deployment's part, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift<C> {
    /// What the finding is about.
    pub component: C,
    /// What kind of difference it is.
    pub kind: DriftKind,
    /// Completes the sentence "`<component>` …".
    pub detail: String,
}

impl<C: Clone> Drift<C> {
    /// A finding about `component`.
    pub fn new(component: &C, kind: DriftKind, detail: impl Into<String>) -> Self {
        Self { component: component.clone(), kind, detail: detail.into() }
    }
}

impl<C> Drift<C> {
    /// Whether repairing this finding creates or deletes the object, changing the ids it exposes.
    pub fn changes_identity(&self) -> bool {
        matches!(self.kind, DriftKind::Missing | DriftKind::Broken | DriftKind::Surplus)
    }
}

impl<C: fmt::Display> fmt::Display for Drift<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.component, self.detail)
    }
}

/// Logs what a refresh found (inside the runtime's resource span, which names the instance): how
/// many differences, then each one.
pub fn log_refresh(found: &[String]) {
    tracing::debug!(differences = found.len(), "refreshed; {} difference(s) from the configuration", found.len());
    for difference in found {
        tracing::debug!(difference = %difference, "differs from the configuration");
    }
}

/// A list of ids or blocks as a person writes it: `a, b` (sorted as given), or `none`.
pub fn listed<S: AsRef<str>>(items: &[S]) -> String {
    if items.is_empty() {
        return "none".to_owned();
    }
    items.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", ")
}

/// How the tags `have` fall short of `want`, one phrase per key: a key missing or with another
/// value. Extra tags are not a difference: EKS, cost tools and people add their own.
pub fn tag_differences(want: &Tags, have: &Tags) -> Vec<String> {
    want.iter()
        .filter_map(|(key, wanted)| match have.get(key) {
            Some(value) if value == wanted => None,
            Some(value) => Some(format!("{key} is {value:?}, expected {wanted:?}")),
            None => Some(format!("{key} is missing, expected {wanted:?}")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_as_a_sentence_and_knows_which_repairs_change_ids() {
        let missing = Drift::new(&"NAT gateway for us-east-1a", DriftKind::Missing, "is missing");
        assert_eq!(missing.to_string(), "NAT gateway for us-east-1a is missing");
        assert!(missing.changes_identity());
        assert!(!Drift::new(&"VPC", DriftKind::Tags, "lacks tag a").changes_identity());
    }

    #[test]
    fn lists_read_as_words() {
        assert_eq!(listed(&["sg-1", "sg-2"]), "sg-1, sg-2");
        assert_eq!(listed::<String>(&[]), "none");
    }

    #[test]
    fn tags_differ_by_missing_or_changed_keys_and_extra_keys_are_fine() {
        let tags = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Tags>();
        let want = tags(&[("team", "data"), ("owner", "x")]);
        assert!(tag_differences(&want, &tags(&[("team", "data"), ("owner", "x"), ("extra", "1")])).is_empty());
        assert_eq!(
            tag_differences(&want, &tags(&[("team", "platform")])),
            ["owner is missing, expected \"x\"", "team is \"platform\", expected \"data\""]
        );
    }
}
