//! What IAM holds for a `retool_permission_boundary` right now ([`super::aws::observe`]), as plain
//! data with no SDK types, so drift detection and import are pure functions that tests feed
//! hand-built pictures; and whose the pieces are (their ownership marks).

use std::collections::BTreeSet;

use super::desired::Desired;
use crate::aws::Tags;
use crate::aws::iam::policy::PolicyDocument;
use crate::resources::ownership::{Claim, OWNER_TAG, OwnerToken};

/// A managed policy as IAM holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedPolicy {
    /// The default version's document; `None` when IAM returned something we cannot read.
    pub document: Option<PolicyDocument>,
    pub tags: Tags,
}

/// A role as IAM holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedRole {
    pub trust: Option<PolicyDocument>,
    pub boundary_arn: Option<String>,
    pub max_session_duration: Option<i32>,
    pub attached_policy_arns: BTreeSet<String>,
    pub inline_policy_names: BTreeSet<String>,
    pub tags: Tags,
}

/// Every piece this resource manages, each `None` when it does not exist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    pub operator_boundary: Option<ObservedPolicy>,
    pub workload_boundary: Option<ObservedPolicy>,
    pub maintenance_policy: Option<ObservedPolicy>,
    pub setup_policy: Option<ObservedPolicy>,
    pub maintenance_role: Option<ObservedRole>,
    pub setup_role: Option<ObservedRole>,
}

impl Observed {
    /// Whether nothing of the resource is left (deleted outside Terraform).
    pub fn is_gone(&self) -> bool {
        *self == Observed::default()
    }

    /// Every piece that exists, named as a diagnostic names it, with its tags.
    pub fn pieces(&self, desired: &Desired) -> Vec<(String, &Tags)> {
        let estate = &desired.estate;
        let policies = [
            (estate.operator_boundary_arn(), &self.operator_boundary),
            (estate.workload_boundary_arn(), &self.workload_boundary),
            (estate.maintenance_policy_arn(), &self.maintenance_policy),
            (estate.setup_policy_arn(), &self.setup_policy),
        ]
        .into_iter()
        .filter_map(|(arn, seen)| seen.as_ref().map(|policy| (format!("IAM policy {arn}"), &policy.tags)));
        let roles =
            [(estate.maintenance_role_name(), &self.maintenance_role), (estate.setup_role_name(), &self.setup_role)]
                .into_iter()
                .filter_map(|(name, seen)| seen.as_ref().map(|role| (format!("IAM role {name}"), &role.tags)));
        policies.chain(roles).collect()
    }

    /// The first piece `owner` did not make, with whose it is: a create must leave it alone.
    pub fn not_owned_by(&self, desired: &Desired, owner: &OwnerToken) -> Option<(String, Claim)> {
        self.pieces(desired)
            .into_iter()
            .map(|(piece, tags)| (piece, owner.claim(tags)))
            .find(|(_, claim)| !claim.is_ours())
    }

    /// The ownership token the pieces carry (the maintenance role's, else any piece's): what an
    /// import, or a state written before ownership marks, adopts.
    pub fn owner(&self) -> Option<OwnerToken> {
        let token = |tags: &Tags| tags.get(OWNER_TAG).and_then(|token| OwnerToken::from_tag(token));
        let roles = [&self.maintenance_role, &self.setup_role].into_iter().flatten().map(|role| &role.tags);
        let policies = [&self.operator_boundary, &self.workload_boundary, &self.maintenance_policy, &self.setup_policy]
            .into_iter()
            .flatten()
            .map(|policy| &policy.tags);
        roles.chain(policies).find_map(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::permission_boundary::fixture::{desired, matching};

    #[test]
    fn pieces_made_by_another_instance_or_by_hand_are_not_ours() {
        let owner = OwnerToken::generate();
        let d = desired(true).owned_by(&owner);
        let ours = matching(&d);
        assert_eq!(ours.pieces(&d).len(), 6);
        assert_eq!(ours.not_owned_by(&d, &owner), None, "an interrupted create of this instance resumes");
        assert_eq!(ours.owner(), Some(owner.clone()));
        assert_eq!(Observed::default().not_owned_by(&d, &owner), None);

        let theirs = OwnerToken::generate();
        let foreign = matching(&desired(true).owned_by(&theirs));
        let (piece, claim) = foreign.not_owned_by(&d, &owner).expect("refused");
        assert_eq!(piece, "IAM policy arn:aws:iam::111122223333:policy/acme-operator-boundary");
        assert_eq!(claim, Claim::Foreign(theirs.as_str().to_owned()));

        let by_hand = Observed { maintenance_role: matching(&desired(true)).maintenance_role, ..Observed::default() };
        assert_eq!(by_hand.not_owned_by(&d, &owner), Some(("IAM role acme-maintenance".to_owned(), Claim::Unmarked)));
        assert_eq!(by_hand.owner(), None);
    }
}
