//! Test fixture: the estate the unit tests share ([`desired`]), and what IAM holds when it is
//! exactly as desired ([`matching`]), built by hand so drift, ownership and import tests start
//! from a known-good picture and break one thing each.

use std::collections::{BTreeMap, BTreeSet};

use super::desired::{Desired, ManagedPolicy, OperatorRole};
use super::model::{Account, BoundarySpec};
use super::observed::{Observed, ObservedPolicy, ObservedRole};

/// The account of the fixture.
pub fn account() -> Account {
    Account { partition: "aws".into(), account_id: "111122223333".into() }
}

/// The estate of `acme`, with or without the setup role.
pub fn desired(setup: bool) -> Desired {
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
    .desired(&account())
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

/// IAM holding exactly `desired`.
pub fn matching(desired: &Desired) -> Observed {
    Observed {
        operator_boundary: Some(observed_policy(&desired.operator_boundary, desired)),
        workload_boundary: Some(observed_policy(&desired.workload_boundary, desired)),
        maintenance_policy: Some(observed_policy(&desired.maintenance.policy, desired)),
        setup_policy: desired.setup.as_ref().map(|s| observed_policy(&s.policy, desired)),
        maintenance_role: Some(observed_role(&desired.maintenance, desired)),
        setup_role: desired.setup.as_ref().map(|s| observed_role(s, desired)),
    }
}
