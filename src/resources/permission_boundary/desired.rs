//! What a configuration asks for, once the account is known: every document and setting IAM
//! should hold ([`Desired`]).
//!
//! Why a separate step: planning, apply, refresh and import all need the same answer to "what
//! should exist?", and keeping it pure (no AWS, no Terraform values) lets that answer be tested on
//! its own.

use super::documents::{
    self, Estate, Trust, maintenance_permissions, operator_boundary, setup_permissions, trust_policy, workload_boundary,
};
use super::model::{Account, BoundarySpec};
use crate::aws::Tags;
use crate::aws::iam::policy::PolicyDocument;
use crate::resources::ownership::OwnerToken;

impl BoundarySpec {
    pub fn estate(&self, account: &Account) -> Estate {
        Estate {
            partition: account.partition.clone(),
            account_id: account.account_id.clone(),
            name_prefix: self.name_prefix.clone(),
            secrets_prefix: self.secrets_prefix.clone(),
        }
    }

    pub fn trust(&self) -> Trust {
        Trust {
            operator_principal_arns: self.operator_principal_arns.clone(),
            external_id: self.external_id.clone(),
            require_mfa: self.require_mfa,
        }
    }

    /// Everything IAM should hold for this spec in `account`.
    pub fn desired(&self, account: &Account) -> Desired {
        let estate = self.estate(account);
        let trust = trust_policy(&self.trust());
        Desired {
            operator_boundary: ManagedPolicy::new(
                estate.operator_boundary_name(),
                estate.operator_boundary_arn(),
                "Permissions boundary of the operator roles: denies reading data and secrets, shells, foreign networks and privilege escalation.",
                operator_boundary(&estate),
            ),
            workload_boundary: ManagedPolicy::new(
                estate.workload_boundary_name(),
                estate.workload_boundary_arn(),
                "Permissions boundary every role the operator creates must carry.",
                workload_boundary(&estate),
            ),
            maintenance: OperatorRole {
                name: estate.maintenance_role_name(),
                arn: estate.maintenance_role_arn(),
                description: "Long-term maintenance of a Retool deployment by its operator, fenced by the operator boundary.",
                policy: ManagedPolicy::new(
                    estate.maintenance_policy_name(),
                    estate.maintenance_policy_arn(),
                    "Permissions of the operator's maintenance role.",
                    maintenance_permissions(&estate),
                ),
                trust: trust.clone(),
            },
            setup: self.setup_role.then(|| OperatorRole {
                name: estate.setup_role_name(),
                arn: estate.setup_role_arn(),
                description: "Initial setup of a Retool deployment by its operator, fenced by the operator boundary.",
                policy: ManagedPolicy::new(
                    estate.setup_policy_name(),
                    estate.setup_policy_arn(),
                    "Permissions of the operator's setup role.",
                    setup_permissions(&estate),
                ),
                trust,
            }),
            max_session_duration: self.max_session_duration,
            tags: self.tags.clone(),
            estate,
        }
    }
}

impl Desired {
    /// The same, with every role and policy marked as `owner`'s ([`crate::resources::ownership`]).
    pub fn owned_by(mut self, owner: &OwnerToken) -> Self {
        self.tags = owner.mark(self.tags);
        self
    }
}

/// A customer-managed policy as it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedPolicy {
    pub name: String,
    pub arn: String,
    pub description: &'static str,
    pub document: PolicyDocument,
}

impl ManagedPolicy {
    fn new(name: String, arn: String, description: &'static str, document: PolicyDocument) -> Self {
        ManagedPolicy { name, arn, description, document }
    }
}

/// One of the operator's roles as it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorRole {
    pub name: String,
    pub arn: String,
    pub description: &'static str,
    /// Its permissions, attached as the one managed policy it carries.
    pub policy: ManagedPolicy,
    pub trust: PolicyDocument,
}

/// Everything IAM should hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub estate: Estate,
    pub operator_boundary: ManagedPolicy,
    pub workload_boundary: ManagedPolicy,
    pub maintenance: OperatorRole,
    /// Absent when `setup_role = false`.
    pub setup: Option<OperatorRole>,
    pub max_session_duration: i32,
    /// What every role and policy carries: the spec's tags, and the ownership mark once the
    /// instance's token is known ([`Desired::owned_by`]).
    pub tags: Tags,
}

/// Whether the trust policy for these inputs fits IAM's default quota.
pub fn trust_fits(trust: &Trust) -> Result<(), usize> {
    let size = trust_policy(trust).quota_size();
    if size <= documents::TRUST_POLICY_QUOTA { Ok(()) } else { Err(size) }
}

#[cfg(test)]
mod tests {
    use crate::resources::permission_boundary::fixture::desired;

    #[test]
    fn setup_role_false_leaves_the_setup_role_out() {
        let without = desired(false);
        assert!(without.setup.is_none());
        assert_eq!(without.maintenance.arn, "arn:aws:iam::111122223333:role/acme-maintenance");
        let with_setup = desired(true);
        assert_eq!(with_setup.setup.map(|s| s.policy.arn), Some("arn:aws:iam::111122223333:policy/acme-setup".into()));
    }
}
