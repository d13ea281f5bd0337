//! What a configuration asks for, typed: the inputs of `retool_permission_boundary` and, once the
//! account is known, every document and setting IAM should hold.
//!
//! Why a separate step: planning, apply, refresh and import all need the same answer to "what
//! should exist?", and keeping it pure (no AWS, no Terraform values past [`BoundarySpec::from_value`])
//! lets that answer be tested on its own.

use std::collections::BTreeMap;

use crate::value::Value;

use super::documents::{
    self, Estate, Trust, maintenance_permissions, operator_boundary, setup_permissions, trust_policy, workload_boundary,
};
use crate::aws::iam::policy::PolicyDocument;
use crate::resources::ownership::OwnerToken;

pub const DEFAULT_SECRETS_PREFIX: &str = "retool/";
pub const DEFAULT_MAX_SESSION: i64 = 43200;

/// The account the provider is configured for, as STS names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub partition: String,
    pub account_id: String,
}

impl Account {
    /// Partition and account of any ARN (`arn:PARTITION:SERVICE:REGION:ACCOUNT:…`), e.g. one this
    /// resource stored in state or the caller identity STS returns.
    pub fn from_arn(arn: &str) -> Option<Self> {
        let mut parts = arn.split(':');
        let (Some("arn"), Some(partition), Some(_), Some(_), Some(account_id)) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let valid = !partition.is_empty() && account_id.len() == 12 && account_id.bytes().all(|b| b.is_ascii_digit());
        valid.then(|| Account { partition: partition.to_owned(), account_id: account_id.to_owned() })
    }
}

/// The resource's inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundarySpec {
    pub name_prefix: String,
    pub operator_principal_arns: Vec<String>,
    pub external_id: Option<String>,
    pub require_mfa: bool,
    pub max_session_duration: i32,
    pub secrets_prefix: String,
    pub setup_role: bool,
    /// `tags` over the provider's `default_tags`: what every role and policy carries.
    pub tags: BTreeMap<String, String>,
}

impl BoundarySpec {
    /// Reads the inputs from a planned or prior state (validated, defaults filled). Fails only on
    /// values validation would have refused or that are not yet known.
    pub fn from_value(value: &Value, default_tags: &BTreeMap<String, String>) -> Result<Self, String> {
        let text = |name: &str| {
            value.attr(name).as_str().map(str::to_owned).ok_or_else(|| format!("`{name}` is not a known string"))
        };
        let flag = |name: &str| value.attr(name).as_bool().ok_or_else(|| format!("`{name}` is not a known bool"));
        let operator_principal_arns = value
            .attr("operator_principal_arns")
            .elements()
            .and_then(|items| items.iter().map(|item| item.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>())
            .ok_or("`operator_principal_arns` is not a known list of strings")?;
        let external_id = match value.attr("external_id") {
            Value::Null => None,
            other => Some(other.as_str().ok_or("`external_id` is not a known string")?.to_owned()),
        };
        let max_session_duration = value
            .attr("max_session_duration")
            .as_i64()
            .and_then(|seconds| i32::try_from(seconds).ok())
            .ok_or("`max_session_duration` is not a known whole number")?;
        let mut tags = default_tags.clone();
        match value.attr("tags") {
            Value::Null => {}
            Value::Map(entries) => {
                for (key, entry) in entries {
                    let text = entry.as_str().ok_or("`tags` is not a known map of strings")?;
                    tags.insert(key.clone(), text.to_owned());
                }
            }
            _ => return Err("`tags` is not a known map of strings".into()),
        }
        Ok(BoundarySpec {
            name_prefix: text("name_prefix")?,
            operator_principal_arns,
            external_id,
            require_mfa: flag("require_mfa")?,
            max_session_duration,
            secrets_prefix: text("secrets_prefix")?,
            setup_role: flag("setup_role")?,
            tags,
        })
    }

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
    pub tags: BTreeMap<String, String>,
}

/// Whether the trust policy for these inputs fits IAM's default quota.
pub fn trust_fits(trust: &Trust) -> Result<(), usize> {
    let size = trust_policy(trust).quota_size();
    if size <= documents::TRUST_POLICY_QUOTA { Ok(()) } else { Err(size) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> Value {
        Value::object([
            ("name_prefix", Value::string("acme")),
            ("operator_principal_arns", Value::list(vec![Value::string("arn:aws:iam::444455556666:role/ops")])),
            ("external_id", Value::Null),
            ("require_mfa", Value::Bool(true)),
            ("max_session_duration", Value::number_i64(3600)),
            ("secrets_prefix", Value::string("retool/")),
            ("setup_role", Value::Bool(false)),
            ("tags", Value::map([("team", Value::string("infra"))])),
        ])
    }

    #[test]
    fn account_comes_from_any_arn() {
        assert_eq!(
            Account::from_arn("arn:aws-cn:sts::111122223333:assumed-role/x/y"),
            Some(Account { partition: "aws-cn".into(), account_id: "111122223333".into() })
        );
        for bad in ["", "arn:aws:iam::1234:role/x", "arn::iam::111122223333:role/x", "nope:aws:iam::111122223333:x"] {
            assert_eq!(Account::from_arn(bad), None, "{bad}");
        }
    }

    #[test]
    fn spec_reads_inputs_and_layers_tags_over_defaults() {
        let defaults =
            BTreeMap::from([("owner".to_owned(), "platform".to_owned()), ("team".to_owned(), "x".to_owned())]);
        let spec = BoundarySpec::from_value(&state(), &defaults).expect("spec");
        assert_eq!(spec.max_session_duration, 3600);
        assert_eq!(spec.external_id, None);
        assert_eq!(spec.tags.get("team").map(String::as_str), Some("infra"));
        assert_eq!(spec.tags.get("owner").map(String::as_str), Some("platform"));
        let mut unknown = state();
        unknown.set_attr("secrets_prefix", Value::unknown());
        assert!(BoundarySpec::from_value(&unknown, &defaults).is_err());
    }

    #[test]
    fn setup_role_false_leaves_the_setup_role_out() {
        let spec = BoundarySpec::from_value(&state(), &BTreeMap::new()).expect("spec");
        let account = Account { partition: "aws".into(), account_id: "111122223333".into() };
        let desired = spec.desired(&account);
        assert!(desired.setup.is_none());
        assert_eq!(desired.maintenance.arn, "arn:aws:iam::111122223333:role/acme-maintenance");
        let with_setup = BoundarySpec { setup_role: true, ..spec }.desired(&account);
        assert_eq!(with_setup.setup.map(|s| s.policy.arn), Some("arn:aws:iam::111122223333:policy/acme-setup".into()));
    }
}
