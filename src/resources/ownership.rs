//! Ownership: a create never takes over an object it did not make.
//!
//! Names are chosen by people, so two workspaces (or two resource blocks) can ask for the same
//! one. Finding an existing object by name and adopting it would let two states share one VPC or
//! cluster, and destroying one would destroy the other's. So every object a resource instance
//! creates carries the tag [`OWNER_TAG`] with a random token of that instance, kept in its private
//! state (and in the partial state of a failed create, so the next apply resumes on it). A create
//! that finds an object with its name but another token, or none, refuses with a diagnostic that
//! says how to `terraform import` it. Import is the one explicit way to take an object over: it
//! adopts the object's token, or gives it a new one that the next apply writes.
//!
//! Instances whose state predates ownership marks have no token; the first read or apply gives
//! them one and marks the objects it manages (they are in this state, so they are ours).

use serde::{Deserialize, Serialize};

use crate::aws::Tags;

/// The tag that marks an object as made by one resource instance.
pub const OWNER_TAG: &str = "retool:owner";

/// One resource instance's ownership token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OwnerToken(String);

impl OwnerToken {
    /// A new random token (122 random bits; no two instances share one).
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }

    /// A token read from an object's tags (import adopts it).
    pub fn from_tag(value: &str) -> Option<Self> {
        let valid = !value.is_empty() && value.len() <= 64 && value.bytes().all(|b| b.is_ascii_alphanumeric());
        valid.then(|| Self(value.to_owned()))
    }

    /// The token as written in the tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `tags` plus this token's ownership mark.
    pub fn mark(&self, mut tags: Tags) -> Tags {
        tags.insert(OWNER_TAG.to_owned(), self.0.clone());
        tags
    }

    /// Who owns an object with `tags`, as seen by this instance.
    pub fn claim(&self, tags: &Tags) -> Claim {
        match tags.get(OWNER_TAG) {
            Some(token) if *token == self.0 => Claim::Ours,
            Some(other) => Claim::Foreign(other.clone()),
            None => Claim::Unmarked,
        }
    }
}

/// Whose an existing object is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Made by this resource instance: resume or manage it.
    Ours,
    /// Made by another resource instance (another state, or another block of this one).
    Foreign(String),
    /// Carries no ownership mark: made by hand, by another tool, or before ownership marks.
    Unmarked,
}

impl Claim {
    /// Whether the object may be managed by this instance.
    pub fn is_ours(&self) -> bool {
        matches!(self, Self::Ours)
    }
}

/// The refusal a create gives for an object it did not make: what was found, why it is left
/// alone, and the two ways forward (import it, or choose another name).
pub fn refusal(object: &str, claim: &Claim, resource_type: &str, import_id: &str) -> (String, String) {
    let whose = match claim {
        Claim::Foreign(_) => "belongs to another Terraform resource (its retool:owner tag names another instance)",
        Claim::Unmarked | Claim::Ours => "was not created by this resource (it has no retool:owner tag)",
    };
    (
        format!("{object} already exists"),
        format!(
            "{object} {whose}, so this create leaves it alone rather than take it over: two states sharing it would \
             destroy each other's infrastructure.\n\nTo manage it from this configuration, import it:\n  \
             terraform import {resource_type}.<name> {import_id}\n(or an `import` block with id = \"{import_id}\"). \
             To create a separate one, choose another name."
        ),
    )
}

/// The private state every resource keeps: its ownership token, plus the resource's own fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedPrivate<T> {
    /// The instance's token; absent in states written before ownership marks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<OwnerToken>,
    /// The resource's own private fields.
    #[serde(flatten)]
    pub rest: T,
}

impl<T: Default + Serialize + for<'de> Deserialize<'de>> OwnedPrivate<T> {
    /// Reads private state; unreadable or empty bytes are the default (no token yet).
    pub fn decode(bytes: &[u8]) -> Self {
        serde_json::from_slice(bytes).unwrap_or_default()
    }

    /// The bytes to hand back to Terraform.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The token, made now if this instance has none yet.
    pub fn owner_or_new(&mut self) -> OwnerToken {
        self.owner.get_or_insert_with(OwnerToken::generate).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_claims_tell_ours_from_others() {
        let ours = OwnerToken::generate();
        let theirs = OwnerToken::generate();
        assert_ne!(ours, theirs);
        let tags = ours.mark(Tags::from([("retool:network".into(), "acme".into())]));
        assert_eq!(ours.claim(&tags), Claim::Ours);
        assert_eq!(theirs.claim(&tags), Claim::Foreign(ours.as_str().to_owned()));
        assert_eq!(ours.claim(&Tags::new()), Claim::Unmarked);
        assert_eq!(OwnerToken::from_tag(ours.as_str()), Some(ours));
        assert_eq!(OwnerToken::from_tag("bad token"), None);
    }

    #[test]
    fn the_refusal_says_how_to_import() {
        let (summary, detail) =
            refusal("VPC vpc-1 (retool:network = acme)", &Claim::Unmarked, "retool_network", "acme");
        assert_eq!(summary, "VPC vpc-1 (retool:network = acme) already exists");
        assert!(detail.contains("terraform import retool_network.<name> acme"), "{detail}");
    }

    #[test]
    fn private_state_keeps_the_token_beside_the_resources_fields() {
        #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
        struct Fields {
            #[serde(default)]
            changed: Vec<String>,
        }
        let mut private = OwnedPrivate::<Fields>::decode(b"");
        assert_eq!(private.owner, None);
        let token = private.owner_or_new();
        private.rest.changed.push("egress_ips".into());
        let decoded = OwnedPrivate::<Fields>::decode(&private.encode());
        assert_eq!(decoded.owner, Some(token));
        assert_eq!(decoded.rest.changed, ["egress_ips"]);
        // States written before ownership marks decode with no token.
        assert_eq!(OwnedPrivate::<Fields>::decode(br#"{"changed":["x"]}"#).owner, None);
    }
}
