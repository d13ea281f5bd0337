//! Whose a deployment's objects are: every object a deployment creates carries the
//! [`OWNER_TAG`](crate::resources::ownership::OWNER_TAG) mark with the resource instance's token,
//! kept in private state. An object found by name that carries another token, or none, is not
//! taken over: creates and updates refuse before touching anything, with the import hint.
//!
//! Two situations accept unmarked objects ("adopt"): a state written before ownership marks (its
//! objects are in that state, so they are ours) and an import (the explicit way to take a
//! deployment over). The next converge marks them and ends the adoption.

use serde::{Deserialize, Serialize};

use crate::aws::Tags;
use crate::framework::Diagnostics;
use crate::resources::ownership::{Claim, OwnedPrivate, OwnerToken, refusal};

/// The deployment's own private fields, beside the ownership token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fields {
    /// Whether unmarked objects of the deployment's names are taken as ours (state from before
    /// ownership marks, or an import) until the next converge marks them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub adopt_unmarked: bool,
    /// The outputs the last refresh found drift that repair recreates (see
    /// `drift::outputs_changed_by`); the next plan marks only these unknown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs_changed_by_drift: Vec<String>,
}

/// The deployment's private state.
pub type Private = OwnedPrivate<Fields>;

/// The ownership a converge, read or import works with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The instance's token.
    pub token: OwnerToken,
    /// Whether unmarked objects count as ours.
    pub adopt_unmarked: bool,
}

impl Owner {
    /// The owner of a new instance (create): a new token unless a resumed create kept one, and
    /// never adopting.
    pub fn for_create(private: &mut Private) -> Self {
        private.rest.adopt_unmarked = false;
        Self { token: private.owner_or_new(), adopt_unmarked: false }
    }

    /// The owner of an instance in state (read, update). A state written before ownership marks
    /// has no token: it gets one now, and adopts its unmarked objects until the next converge.
    pub fn for_existing(private: &mut Private) -> Self {
        if private.owner.is_none() {
            private.rest.adopt_unmarked = true;
        }
        Self { token: private.owner_or_new(), adopt_unmarked: private.rest.adopt_unmarked }
    }

    /// An owner for arbitrary tests.
    #[cfg(test)]
    pub fn test(token: &str) -> Self {
        Self { token: OwnerToken::from_tag(token).unwrap_or_else(OwnerToken::generate), adopt_unmarked: false }
    }

    /// `tags` plus the ownership mark.
    pub fn mark(&self, tags: Tags) -> Tags {
        self.token.mark(tags)
    }

    /// `None` when an object with `tags` may be managed by this instance, else whose it is.
    pub fn refuses(&self, tags: &Tags) -> Option<Claim> {
        match self.token.claim(tags) {
            Claim::Ours => None,
            Claim::Unmarked if self.adopt_unmarked => None,
            other => Some(other),
        }
    }
}

/// An object with one of the deployment's names that is not this instance's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotOurs {
    /// The object, as a person names it (`EKS cluster acme`).
    pub object: String,
    /// Whose it is.
    pub claim: Claim,
}

/// The error diagnostic of a create or update that found objects it did not make: one
/// diagnostic on the resource, naming every such object, with the import hint.
pub fn refuse(not_ours: &[NotOurs], resource_type: &str, deployment: &str, diags: &mut Diagnostics) {
    let Some(first) = not_ours.first() else { return };
    let object = match not_ours.len() {
        1 => first.object.clone(),
        n => format!(
            "{} (with {} other object(s) named after deployment {deployment}: {})",
            first.object,
            n - 1,
            not_ours.iter().skip(1).map(|found| found.object.as_str()).collect::<Vec<_>>().join(", ")
        ),
    };
    let (summary, detail) = refusal(&object, &first.claim, resource_type, deployment);
    diags.error(summary, detail);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::ownership::OWNER_TAG;

    #[test]
    fn creates_never_adopt_and_states_without_a_token_adopt_until_marked() {
        let mut fresh = Private::decode(b"");
        let owner = Owner::for_create(&mut fresh);
        assert!(!owner.adopt_unmarked);
        assert_eq!(fresh.owner.as_ref(), Some(&owner.token));
        assert_eq!(owner.refuses(&Tags::new()), Some(Claim::Unmarked));
        assert_eq!(owner.refuses(&owner.mark(Tags::new())), None);
        let theirs = Tags::from([(OWNER_TAG.to_owned(), "other".to_owned())]);
        assert_eq!(owner.refuses(&theirs), Some(Claim::Foreign("other".into())));

        let mut legacy = Private::decode(b"");
        let adopting = Owner::for_existing(&mut legacy);
        assert!(adopting.adopt_unmarked && legacy.rest.adopt_unmarked);
        assert_eq!(adopting.refuses(&Tags::new()), None, "a state from before marks keeps its objects");
        assert!(adopting.refuses(&theirs).is_some(), "another instance's object is never adopted");
        // The token and the adoption survive the round trip through Terraform.
        let mut again = Private::decode(&legacy.encode());
        assert_eq!(Owner::for_existing(&mut again), adopting);
        again.rest.adopt_unmarked = false;
        let mut marked = Private::decode(&again.encode());
        assert!(!Owner::for_existing(&mut marked).adopt_unmarked);
    }

    #[test]
    fn one_refusal_names_every_object_and_how_to_import() {
        let mut diags = Diagnostics::new();
        let found = |object: &str| NotOurs { object: object.into(), claim: Claim::Foreign("x".into()) };
        refuse(
            &[found("EKS cluster acme"), found("KMS alias alias/retool/acme")],
            "retool_deployment",
            "acme",
            &mut diags,
        );
        let all: Vec<_> = diags.iter().collect();
        assert_eq!(all.len(), 1);
        let text = format!("{:?}", all);
        assert!(text.contains("terraform import retool_deployment.<name> acme"), "{text}");
        assert!(text.contains("KMS alias alias/retool/acme"), "{text}");
    }
}
