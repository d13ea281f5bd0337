//! How what IAM holds differs from what the configuration says, as findings a person can read.
//!
//! Why sentences: the pieces that matter most for the fence — a trust policy, a role's permissions
//! boundary, an extra policy someone attached — are not attributes a plan could show. Refresh
//! describes each difference in one sentence (the `drift` attribute); the next plan shows it going
//! back to `[]`, and apply repairs it. The findings are the shared
//! [`crate::resources::drift::Drift`], about a [`Part`] of the estate.

use std::fmt;

use super::desired::{Desired, ManagedPolicy, OperatorRole};
use super::observed::{Observed, ObservedPolicy, ObservedRole};

pub use crate::resources::drift::DriftKind;

/// One difference between configuration and IAM, about one part of the estate.
pub type Drift = crate::resources::drift::Drift<Part>;

/// One piece of the estate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    OperatorBoundary,
    WorkloadBoundary,
    MaintenancePolicy,
    SetupPolicy,
    MaintenanceRole,
    SetupRole,
}

impl fmt::Display for Piece {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::OperatorBoundary => "operator boundary policy",
            Self::WorkloadBoundary => "workload boundary policy",
            Self::MaintenancePolicy => "maintenance policy",
            Self::SetupPolicy => "setup policy",
            Self::MaintenanceRole => "maintenance role",
            Self::SetupRole => "setup role",
        })
    }
}

/// What of a piece a finding is about: the piece itself, or one setting of a role that a finding
/// names on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aspect {
    Whole,
    TrustPolicy,
    PermissionsBoundary,
    MaxSessionDuration,
}

/// The part of the estate a finding is about: a piece (named by its ARN or role name), or one
/// aspect of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub piece: Piece,
    /// The policy's ARN or the role's name.
    pub name: String,
    pub aspect: Aspect,
}

impl Part {
    fn whole(piece: Piece, name: &str) -> Self {
        Self { piece, name: name.to_owned(), aspect: Aspect::Whole }
    }

    fn aspect(&self, aspect: Aspect) -> Self {
        Self { aspect, ..self.clone() }
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { piece, name, aspect } = self;
        match aspect {
            Aspect::Whole => write!(f, "{piece} {name}"),
            Aspect::TrustPolicy => write!(f, "trust policy of {piece} {name}"),
            Aspect::PermissionsBoundary => write!(f, "permissions boundary of {piece} {name}"),
            Aspect::MaxSessionDuration => write!(f, "maximum session duration of {piece} {name}"),
        }
    }
}

/// Every difference between `desired` and `observed`, in a stable order.
pub fn detect(desired: &Desired, observed: &Observed) -> Vec<Drift> {
    let mut found = Vec::new();
    policy(
        Piece::OperatorBoundary,
        &desired.operator_boundary,
        observed.operator_boundary.as_ref(),
        desired,
        &mut found,
    );
    policy(
        Piece::WorkloadBoundary,
        &desired.workload_boundary,
        observed.workload_boundary.as_ref(),
        desired,
        &mut found,
    );
    policy(
        Piece::MaintenancePolicy,
        &desired.maintenance.policy,
        observed.maintenance_policy.as_ref(),
        desired,
        &mut found,
    );
    role(Piece::MaintenanceRole, &desired.maintenance, observed.maintenance_role.as_ref(), desired, &mut found);
    match &desired.setup {
        Some(setup) => {
            policy(Piece::SetupPolicy, &setup.policy, observed.setup_policy.as_ref(), desired, &mut found);
            role(Piece::SetupRole, setup, observed.setup_role.as_ref(), desired, &mut found);
        }
        None => {
            let lingering = "exists although setup_role = false";
            if observed.setup_role.is_some() {
                let part = Part::whole(Piece::SetupRole, &desired.estate.setup_role_name());
                found.push(Drift::new(&part, DriftKind::Surplus, lingering));
            }
            if observed.setup_policy.is_some() {
                let part = Part::whole(Piece::SetupPolicy, &desired.estate.setup_policy_arn());
                found.push(Drift::new(&part, DriftKind::Surplus, lingering));
            }
        }
    }
    found
}

fn policy(
    piece: Piece,
    want: &ManagedPolicy,
    have: Option<&ObservedPolicy>,
    desired: &Desired,
    found: &mut Vec<Drift>,
) {
    let part = Part::whole(piece, &want.arn);
    let Some(have) = have else {
        found.push(Drift::new(&part, DriftKind::Missing, "is missing"));
        return;
    };
    match &have.document {
        Some(document) if document.semantically_equal(&want.document) => {}
        Some(_) => found.push(Drift::new(&part, DriftKind::Rules, "was edited outside Terraform")),
        None => found.push(Drift::new(&part, DriftKind::Rules, "holds a document that cannot be read")),
    }
    if have.tags != desired.tags {
        found.push(Drift::new(&part, DriftKind::Tags, "has different tags"));
    }
}

fn role(piece: Piece, want: &OperatorRole, have: Option<&ObservedRole>, desired: &Desired, found: &mut Vec<Drift>) {
    let part = Part::whole(piece, &want.name);
    let Some(have) = have else {
        found.push(Drift::new(&part, DriftKind::Missing, "is missing"));
        return;
    };
    if !have.trust.as_ref().is_some_and(|trust| trust.semantically_equal(&want.trust)) {
        found.push(Drift::new(&part.aspect(Aspect::TrustPolicy), DriftKind::Rules, "was changed"));
    }
    let boundary = part.aspect(Aspect::PermissionsBoundary);
    match &have.boundary_arn {
        Some(arn) if *arn == desired.operator_boundary.arn => {}
        Some(arn) => found.push(Drift::new(&boundary, DriftKind::Setting, format!("was changed to {arn}"))),
        None => found.push(Drift::new(&boundary, DriftKind::Setting, "was removed")),
    }
    if have.max_session_duration != Some(desired.max_session_duration) {
        found.push(Drift::new(&part.aspect(Aspect::MaxSessionDuration), DriftKind::Setting, "was changed"));
    }
    if !have.attached_policy_arns.contains(&want.policy.arn) {
        found.push(Drift::new(&part, DriftKind::Rules, format!("lost its policy {}", want.policy.arn)));
    }
    for extra in have.attached_policy_arns.iter().filter(|arn| **arn != want.policy.arn) {
        found.push(Drift::new(&part, DriftKind::Rules, format!("has an extra policy attached: {extra}")));
    }
    for inline in &have.inline_policy_names {
        found.push(Drift::new(&part, DriftKind::Rules, format!("has an inline policy: {inline}")));
    }
    if have.tags != desired.tags {
        found.push(Drift::new(&part, DriftKind::Tags, "has different tags"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::iam::policy::PolicyDocument;
    use crate::resources::ownership::OwnerToken;
    use crate::resources::permission_boundary::fixture::{desired, matching};

    fn messages(found: &[Drift]) -> Vec<String> {
        found.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn an_estate_as_configured_has_no_drift() {
        for setup in [true, false] {
            let d = desired(setup);
            assert_eq!(messages(&detect(&d, &matching(&d))), Vec::<String>::new());
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
        let found = messages(&detect(&d, &seen));
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
        let found = messages(&detect(&without, &matching(&with_setup)));
        assert_eq!(
            found,
            [
                "setup role acme-setup exists although setup_role = false",
                "setup policy arn:aws:iam::111122223333:policy/acme-setup exists although setup_role = false",
            ]
        );
    }

    #[test]
    fn a_missing_ownership_mark_is_tag_drift() {
        let owner = OwnerToken::generate();
        let unmarked = matching(&desired(false));
        let found = messages(&detect(&desired(false).owned_by(&owner), &unmarked));
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found.iter().all(|finding| finding.ends_with("has different tags")), "{found:?}");
    }

    #[test]
    fn findings_name_their_part_and_kind() {
        let d = desired(false);
        let mut seen = matching(&desired(true));
        seen.workload_boundary = None;
        if let Some(role) = seen.maintenance_role.as_mut() {
            role.max_session_duration = Some(3600);
        }
        let found = detect(&d, &seen);
        let summary: Vec<(Piece, Aspect, DriftKind)> =
            found.iter().map(|finding| (finding.component.piece, finding.component.aspect, finding.kind)).collect();
        assert_eq!(
            summary,
            [
                (Piece::WorkloadBoundary, Aspect::Whole, DriftKind::Missing),
                (Piece::MaintenanceRole, Aspect::MaxSessionDuration, DriftKind::Setting),
                (Piece::SetupRole, Aspect::Whole, DriftKind::Surplus),
                (Piece::SetupPolicy, Aspect::Whole, DriftKind::Surplus),
            ]
        );
        assert!(found[0].changes_identity() && !found[1].changes_identity());
    }
}
