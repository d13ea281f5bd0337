//! The resource's data, typed: the configuration ([`BoundarySpec`], read from a planned or prior
//! state and written back by import), the account it lives in, the computed attributes and the
//! private state. Converting between Terraform values and these types happens here and nowhere
//! else.

use std::collections::BTreeMap;

use super::desired::Desired;
use crate::aws::iam::PolicyDocument;
use crate::aws::{CallerIdentity, Tags};
use crate::error::Error;
use crate::resources::ownership::OwnedPrivate;
use crate::value::Value;

/// Computed attribute names.
pub mod attribute {
    attribute_names! {
        /// Every computed attribute derived from the inputs and the account.
        pub const DERIVED = [
            ID = "id",
            BOUNDARY_POLICY_ARN = "boundary_policy_arn",
            WORKLOAD_BOUNDARY_POLICY_ARN = "workload_boundary_policy_arn",
            MAINTENANCE_ROLE_ARN = "maintenance_role_arn",
            SETUP_ROLE_ARN = "setup_role_arn",
            BOUNDARY_POLICY_JSON = "boundary_policy_json",
            WORKLOAD_BOUNDARY_POLICY_JSON = "workload_boundary_policy_json",
            MAINTENANCE_POLICY_JSON = "maintenance_policy_json",
            SETUP_POLICY_JSON = "setup_policy_json",
        ];
        DRIFT = "drift",
    }
}

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
        CallerIdentity::from_arn(arn).map(|identity| Self::from(&identity))
    }
}

impl From<&CallerIdentity> for Account {
    fn from(identity: &CallerIdentity) -> Self {
        Self { partition: identity.partition.clone(), account_id: identity.account_id.clone() }
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
    pub tags: Tags,
}

impl BoundarySpec {
    /// Reads the inputs from a planned or prior state (validated, defaults filled). Fails only on
    /// values validation would have refused or that are not yet known.
    pub fn from_value(value: &Value, default_tags: &Tags) -> Result<Self, Error> {
        let invalid = |problem: &str| Error::Invalid(problem.to_owned());
        let text = |name: &str| {
            value
                .attr(name)
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| invalid(&format!("`{name}` is not a known string")))
        };
        let flag =
            |name: &str| value.attr(name).as_bool().ok_or_else(|| invalid(&format!("`{name}` is not a known bool")));
        let operator_principal_arns = value
            .attr("operator_principal_arns")
            .elements()
            .and_then(|items| items.iter().map(|item| item.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>())
            .ok_or_else(|| invalid("`operator_principal_arns` is not a known list of strings"))?;
        let external_id = match value.attr("external_id") {
            Value::Null => None,
            other => Some(other.as_str().ok_or_else(|| invalid("`external_id` is not a known string"))?.to_owned()),
        };
        let max_session_duration = value
            .attr("max_session_duration")
            .as_i64()
            .and_then(|seconds| i32::try_from(seconds).ok())
            .ok_or_else(|| invalid("`max_session_duration` is not a known whole number"))?;
        let mut tags = default_tags.clone();
        match value.attr("tags") {
            Value::Null => {}
            Value::Map(entries) => {
                for (key, entry) in entries {
                    let text = entry.as_str().ok_or_else(|| invalid("`tags` is not a known map of strings"))?;
                    tags.insert(key.clone(), text.to_owned());
                }
            }
            _ => return Err(invalid("`tags` is not a known map of strings")),
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

    /// The configuration's attributes (its `tags` without the provider's defaults), as import
    /// writes them.
    pub fn to_value(&self, default_tags: &Tags) -> Value {
        let spec = self;
        let own_tags: BTreeMap<&String, &String> =
            spec.tags.iter().filter(|(key, value)| default_tags.get(*key) != Some(*value)).collect();
        Value::object([
            ("name_prefix", Value::string(&spec.name_prefix)),
            ("operator_principal_arns", Value::list(spec.operator_principal_arns.iter().map(Value::string).collect())),
            ("external_id", spec.external_id.as_ref().map_or(Value::Null, Value::string)),
            ("require_mfa", Value::Bool(spec.require_mfa)),
            ("max_session_duration", Value::number_i64(i64::from(spec.max_session_duration))),
            ("secrets_prefix", Value::string(&spec.secrets_prefix)),
            ("setup_role", Value::Bool(spec.setup_role)),
            (
                "tags",
                if own_tags.is_empty() {
                    Value::Null
                } else {
                    Value::map(own_tags.into_iter().map(|(key, value)| (key.clone(), Value::string(value))))
                },
            ),
        ])
    }
}

/// A list of strings as a Terraform value.
pub fn strings(items: &[String]) -> Value {
    Value::list(items.iter().map(Value::string).collect())
}

/// `base` (the inputs) with every derived attribute and the drift filled in.
pub fn with_outputs(base: &Value, desired: &Desired, drift: &[String]) -> Value {
    let mut state = base.clone();
    let json = |document: &PolicyDocument| Value::string(document.to_canonical_json());
    state.set_attr(attribute::ID, Value::string(&desired.estate.name_prefix));
    state.set_attr(attribute::BOUNDARY_POLICY_ARN, Value::string(&desired.operator_boundary.arn));
    state.set_attr(attribute::WORKLOAD_BOUNDARY_POLICY_ARN, Value::string(&desired.workload_boundary.arn));
    state.set_attr(attribute::MAINTENANCE_ROLE_ARN, Value::string(&desired.maintenance.arn));
    state.set_attr(attribute::SETUP_ROLE_ARN, desired.setup.as_ref().map_or(Value::Null, |s| Value::string(&s.arn)));
    state.set_attr(attribute::BOUNDARY_POLICY_JSON, json(&desired.operator_boundary.document));
    state.set_attr(attribute::WORKLOAD_BOUNDARY_POLICY_JSON, json(&desired.workload_boundary.document));
    state.set_attr(attribute::MAINTENANCE_POLICY_JSON, json(&desired.maintenance.policy.document));
    state.set_attr(
        attribute::SETUP_POLICY_JSON,
        desired.setup.as_ref().map_or(Value::Null, |s| json(&s.policy.document)),
    );
    state.set_attr(attribute::DRIFT, strings(drift));
    state
}

/// The resource's own private state: nothing beyond the ownership token so far.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Private {}

/// Private state as stored: the instance's ownership token beside [`Private`].
pub type PrivateState = OwnedPrivate<Private>;

/// The account recorded in state (every ARN this resource stores names it).
pub fn recorded_account(state: &Value) -> Option<Account> {
    state.attr(attribute::MAINTENANCE_ROLE_ARN).as_str().and_then(Account::from_arn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::permission_boundary::fixture;

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

    fn planned(setup_role: bool) -> Value {
        let mut value = state();
        value.set_attr("setup_role", Value::Bool(setup_role));
        value.set_attr("tags", Value::Null);
        value
    }

    #[test]
    fn outputs_fill_every_derived_attribute_and_follow_setup_role() {
        let account = fixture::account();
        for setup_role in [true, false] {
            let spec = BoundarySpec::from_value(&planned(setup_role), &Tags::new()).expect("spec");
            let state = with_outputs(&planned(setup_role), &spec.desired(&account), &[]);
            assert_eq!(state.attr(attribute::ID).as_str(), Some("acme"));
            assert_eq!(
                state.attr(attribute::MAINTENANCE_ROLE_ARN).as_str(),
                Some("arn:aws:iam::111122223333:role/acme-maintenance")
            );
            assert_eq!(state.attr(attribute::SETUP_ROLE_ARN).is_null(), !setup_role);
            assert_eq!(state.attr(attribute::SETUP_POLICY_JSON).is_null(), !setup_role);
            let boundary = state.attr(attribute::BOUNDARY_POLICY_JSON).as_str().expect("json");
            assert!(crate::aws::iam::PolicyDocument::parse(boundary).is_ok());
            assert_eq!(state.attr(attribute::DRIFT), &Value::list(Vec::new()));
            assert_eq!(recorded_account(&state), Some(account.clone()));
        }
    }
}
