//! What IAM holds for a `retool_permission_boundary`, and how it differs from what it should.
//!
//! Why a list of sentences: the pieces that matter most for the fence — a trust policy, a role's
//! permissions boundary, an extra policy someone attached — are not attributes a plan could show.
//! Refresh describes each difference in one sentence (the `drift` attribute); the next plan shows
//! it going back to `[]`, and apply repairs it.

use std::collections::{BTreeMap, BTreeSet};

use super::desired::{Desired, ManagedPolicy, OperatorRole};
use crate::aws::iam::policy::PolicyDocument;
use crate::resources::ownership::{Claim, OWNER_TAG, OwnerToken};

/// A managed policy as IAM holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedPolicy {
    /// The default version's document; `None` when IAM returned something we cannot read.
    pub document: Option<PolicyDocument>,
    pub tags: BTreeMap<String, String>,
}

/// A role as IAM holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedRole {
    pub trust: Option<PolicyDocument>,
    pub boundary_arn: Option<String>,
    pub max_session_duration: Option<i32>,
    pub attached_policy_arns: BTreeSet<String>,
    pub inline_policy_names: BTreeSet<String>,
    pub tags: BTreeMap<String, String>,
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
    pub fn pieces(&self, desired: &Desired) -> Vec<(String, &BTreeMap<String, String>)> {
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
        let token = |tags: &BTreeMap<String, String>| tags.get(OWNER_TAG).and_then(|token| OwnerToken::from_tag(token));
        let roles = [&self.maintenance_role, &self.setup_role].into_iter().flatten().map(|role| &role.tags);
        let policies = [&self.operator_boundary, &self.workload_boundary, &self.maintenance_policy, &self.setup_policy]
            .into_iter()
            .flatten()
            .map(|policy| &policy.tags);
        roles.chain(policies).find_map(token)
    }
}

/// Every difference between `desired` and `observed`, one sentence each, in a stable order.
pub fn detect(desired: &Desired, observed: &Observed) -> Vec<String> {
    let mut found = Vec::new();
    policy(
        &desired.operator_boundary,
        "operator boundary policy",
        observed.operator_boundary.as_ref(),
        desired,
        &mut found,
    );
    policy(
        &desired.workload_boundary,
        "workload boundary policy",
        observed.workload_boundary.as_ref(),
        desired,
        &mut found,
    );
    policy(
        &desired.maintenance.policy,
        "maintenance policy",
        observed.maintenance_policy.as_ref(),
        desired,
        &mut found,
    );
    role(&desired.maintenance, "maintenance role", observed.maintenance_role.as_ref(), desired, &mut found);
    match &desired.setup {
        Some(setup) => {
            policy(&setup.policy, "setup policy", observed.setup_policy.as_ref(), desired, &mut found);
            role(setup, "setup role", observed.setup_role.as_ref(), desired, &mut found);
        }
        None => {
            if observed.setup_role.is_some() {
                found.push(format!(
                    "setup role {} exists although setup_role = false",
                    desired.estate.setup_role_name()
                ));
            }
            if observed.setup_policy.is_some() {
                found.push(format!(
                    "setup policy {} exists although setup_role = false",
                    desired.estate.setup_policy_arn()
                ));
            }
        }
    }
    found
}

fn policy(want: &ManagedPolicy, what: &str, have: Option<&ObservedPolicy>, desired: &Desired, found: &mut Vec<String>) {
    let Some(have) = have else {
        found.push(format!("{what} {} is missing", want.arn));
        return;
    };
    match &have.document {
        Some(document) if document.semantically_equal(&want.document) => {}
        Some(_) => found.push(format!("{what} {} was edited outside Terraform", want.arn)),
        None => found.push(format!("{what} {} holds a document that cannot be read", want.arn)),
    }
    if have.tags != desired.tags {
        found.push(format!("{what} {} has different tags", want.arn));
    }
}

fn role(want: &OperatorRole, what: &str, have: Option<&ObservedRole>, desired: &Desired, found: &mut Vec<String>) {
    let Some(have) = have else {
        found.push(format!("{what} {} is missing", want.name));
        return;
    };
    let name = &want.name;
    if !have.trust.as_ref().is_some_and(|trust| trust.semantically_equal(&want.trust)) {
        found.push(format!("trust policy of {what} {name} was changed"));
    }
    match &have.boundary_arn {
        Some(arn) if *arn == desired.operator_boundary.arn => {}
        Some(arn) => found.push(format!("permissions boundary of {what} {name} was changed to {arn}")),
        None => found.push(format!("permissions boundary of {what} {name} was removed")),
    }
    if have.max_session_duration != Some(desired.max_session_duration) {
        found.push(format!("maximum session duration of {what} {name} was changed"));
    }
    if !have.attached_policy_arns.contains(&want.policy.arn) {
        found.push(format!("{what} {name} lost its policy {}", want.policy.arn));
    }
    for extra in have.attached_policy_arns.iter().filter(|arn| **arn != want.policy.arn) {
        found.push(format!("{what} {name} has an extra policy attached: {extra}"));
    }
    for inline in &have.inline_policy_names {
        found.push(format!("{what} {name} has an inline policy: {inline}"));
    }
    if have.tags != desired.tags {
        found.push(format!("{what} {name} has different tags"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::permission_boundary::desired::{Account, BoundarySpec};

    fn desired(setup: bool) -> Desired {
        BoundarySpec {
            name_prefix: "acme".into(),
            operator_principal_arns: vec!["arn:aws:iam::444455556666:role/ops".into()],
            external_id: Some("xid".into()),
            require_mfa: true,
            max_session_duration: 43200,
            secrets_prefix: "retool/".into(),
            setup_role: setup,
            tags: BTreeMap::from([("team".into(), "infra".into())]),
        }
        .desired(&Account { partition: "aws".into(), account_id: "111122223333".into() })
    }

    fn observed_policy(policy: &ManagedPolicy, desired: &Desired) -> ObservedPolicy {
        ObservedPolicy { document: Some(policy.document.clone()), tags: desired.tags.clone() }
    }

    fn observed_role(role: &OperatorRole, desired: &Desired) -> ObservedRole {
        ObservedRole {
            trust: Some(role.trust.clone()),
            boundary_arn: Some(desired.operator_boundary.arn.clone()),
            max_session_duration: Some(desired.max_session_duration),
            attached_policy_arns: BTreeSet::from([role.policy.arn.clone()]),
            inline_policy_names: BTreeSet::new(),
            tags: desired.tags.clone(),
        }
    }

    fn matching(desired: &Desired) -> Observed {
        Observed {
            operator_boundary: Some(observed_policy(&desired.operator_boundary, desired)),
            workload_boundary: Some(observed_policy(&desired.workload_boundary, desired)),
            maintenance_policy: Some(observed_policy(&desired.maintenance.policy, desired)),
            setup_policy: desired.setup.as_ref().map(|s| observed_policy(&s.policy, desired)),
            maintenance_role: Some(observed_role(&desired.maintenance, desired)),
            setup_role: desired.setup.as_ref().map(|s| observed_role(s, desired)),
        }
    }

    #[test]
    fn an_estate_as_configured_has_no_drift() {
        for setup in [true, false] {
            let d = desired(setup);
            assert_eq!(detect(&d, &matching(&d)), Vec::<String>::new());
            assert!(!matching(&d).is_gone());
        }
        assert!(Observed::default().is_gone());
    }

    #[test]
    fn every_piece_of_drift_is_reported() {
        let d = desired(true);
        let mut seen = matching(&d);
        if let Some(p) = seen.operator_boundary.as_mut() {
            p.document = Some(PolicyDocument::new(Vec::new()));
        }
        seen.workload_boundary = None;
        if let Some(p) = seen.maintenance_policy.as_mut() {
            p.document = None;
        }
        if let Some(r) = seen.maintenance_role.as_mut() {
            r.trust = Some(PolicyDocument::new(Vec::new()));
            r.boundary_arn = None;
            r.max_session_duration = Some(3600);
            r.attached_policy_arns.insert("arn:aws:iam::aws:policy/AdministratorAccess".into());
            r.inline_policy_names.insert("backdoor".into());
            r.tags.clear();
        }
        if let Some(r) = seen.setup_role.as_mut() {
            r.boundary_arn = Some("arn:aws:iam::aws:policy/AdministratorAccess".into());
            r.attached_policy_arns.clear();
        }
        let found = detect(&d, &seen);
        let expected = [
            "operator boundary policy arn:aws:iam::111122223333:policy/acme-operator-boundary was edited outside Terraform",
            "workload boundary policy arn:aws:iam::111122223333:policy/acme-workload-boundary is missing",
            "maintenance policy arn:aws:iam::111122223333:policy/acme-maintenance holds a document that cannot be read",
            "trust policy of maintenance role acme-maintenance was changed",
            "permissions boundary of maintenance role acme-maintenance was removed",
            "maximum session duration of maintenance role acme-maintenance was changed",
            "maintenance role acme-maintenance has an extra policy attached: arn:aws:iam::aws:policy/AdministratorAccess",
            "maintenance role acme-maintenance has an inline policy: backdoor",
            "maintenance role acme-maintenance has different tags",
            "permissions boundary of setup role acme-setup was changed to arn:aws:iam::aws:policy/AdministratorAccess",
            "setup role acme-setup lost its policy arn:aws:iam::111122223333:policy/acme-setup",
        ];
        assert_eq!(found, expected);
    }

    #[test]
    fn a_setup_role_that_should_be_gone_is_drift() {
        let with_setup = desired(true);
        let without = desired(false);
        let found = detect(&without, &matching(&with_setup));
        assert_eq!(
            found,
            [
                "setup role acme-setup exists although setup_role = false",
                "setup policy arn:aws:iam::111122223333:policy/acme-setup exists although setup_role = false",
            ]
        );
    }

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

    #[test]
    fn a_missing_ownership_mark_is_tag_drift() {
        let owner = OwnerToken::generate();
        let unmarked = matching(&desired(false));
        let found = detect(&desired(false).owned_by(&owner), &unmarked);
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found.iter().all(|finding| finding.ends_with("has different tags")), "{found:?}");
    }
}
