//! Import: the configuration that produced what IAM holds, read back from the documents.
//!
//! Why this is possible: every input leaves a mark — the principals, external id and MFA
//! requirement are in the trust policy, the session length is on the role, the secrets prefix is
//! in the maintenance policy's Secrets Manager resource, `setup_role` is whether the setup role
//! exists, and the tags are on the role. Reading them back lets `terraform import <addr> <prefix>`
//! produce a state whose next plan is empty when the configuration matches.

use std::collections::BTreeMap;

use super::model::{Account, BoundarySpec, DEFAULT_MAX_SESSION, DEFAULT_SECRETS_PREFIX};
use super::observed::Observed;
use crate::aws::iam::policy::{PolicyDocument, Principal, Resources};
use crate::error::Error;
use crate::resources::ownership::OWNER_TAG;

/// A spec with only the prefix meaningful: enough to name (and so find) every piece.
pub fn probe_spec(name_prefix: &str) -> BoundarySpec {
    BoundarySpec {
        name_prefix: name_prefix.to_owned(),
        operator_principal_arns: Vec::new(),
        external_id: None,
        require_mfa: true,
        max_session_duration: i32::try_from(DEFAULT_MAX_SESSION).unwrap_or(i32::MAX),
        secrets_prefix: DEFAULT_SECRETS_PREFIX.to_owned(),
        setup_role: true,
        tags: BTreeMap::new(),
    }
}

/// Why what IAM holds cannot be imported.
fn invalid(problem: impl Into<String>) -> Error {
    Error::Invalid(problem.into())
}

/// The spec whose desired state is what `observed` holds, as far as IAM records it.
pub fn spec_from(
    name_prefix: &str,
    account: &Account,
    observed: &Observed,
    default_tags: &BTreeMap<String, String>,
) -> Result<BoundarySpec, Error> {
    let role = observed.maintenance_role.as_ref().ok_or_else(|| {
        invalid(format!("no role {name_prefix}-maintenance in account {}; nothing to import", account.account_id))
    })?;
    let trust = role.trust.as_ref().ok_or_else(|| invalid("the maintenance role's trust policy cannot be read"))?;
    let max_session_duration = role
        .max_session_duration
        .ok_or_else(|| invalid("the maintenance role's maximum session duration cannot be read"))?;
    let (operator_principal_arns, external_id, require_mfa) = trust_inputs(trust)?;
    let secrets_prefix = observed
        .maintenance_policy
        .as_ref()
        .and_then(|policy| policy.document.as_ref())
        .and_then(|document| secrets_prefix_in(document, account))
        .unwrap_or_else(|| DEFAULT_SECRETS_PREFIX.to_owned());
    Ok(BoundarySpec {
        name_prefix: name_prefix.to_owned(),
        operator_principal_arns,
        external_id,
        require_mfa,
        max_session_duration,
        secrets_prefix,
        setup_role: observed.setup_role.is_some(),
        // Tags that only repeat the provider's default_tags belong to the provider, not here; the
        // ownership mark belongs to the instance (its private state).
        tags: role
            .tags
            .iter()
            .filter(|(key, value)| default_tags.get(*key) != Some(*value) && key.as_str() != OWNER_TAG)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
    .with_default_tags(default_tags))
}

impl BoundarySpec {
    fn with_default_tags(mut self, default_tags: &BTreeMap<String, String>) -> Self {
        let own = std::mem::take(&mut self.tags);
        self.tags = default_tags.clone();
        self.tags.extend(own);
        self
    }
}

/// Principals, external id and MFA requirement of an operator trust policy.
fn trust_inputs(trust: &PolicyDocument) -> Result<(Vec<String>, Option<String>, bool), Error> {
    let statement = trust
        .statements
        .iter()
        .find(|statement| statement.principal.is_some())
        .ok_or_else(|| invalid("the maintenance role's trust policy names no principal"))?;
    let principals: Vec<String> = match &statement.principal {
        Some(Principal::Typed(kinds)) => kinds.get("AWS").into_iter().flatten().cloned().collect(),
        _ => Vec::new(),
    };
    if principals.is_empty() {
        return Err(invalid("the maintenance role's trust policy names no IAM principal"));
    }
    let condition = |operator: &str, key: &str| statement.conditions.get(operator).and_then(|keys| keys.get(key));
    let external_id = condition("StringEquals", "sts:ExternalId").and_then(|values| values.iter().next().cloned());
    let require_mfa = condition("Bool", "aws:MultiFactorAuthPresent").is_some_and(|values| values.contains("true"));
    Ok((principals, external_id, require_mfa))
}

/// The prefix in `arn:P:secretsmanager:*:ACCOUNT:secret:PREFIX*` of the secret-metadata grant.
fn secrets_prefix_in(document: &PolicyDocument, account: &Account) -> Option<String> {
    let head = format!("arn:{}:secretsmanager:*:{}:secret:", account.partition, account.account_id);
    document
        .statements
        .iter()
        .filter(|statement| statement.sid.as_deref() == Some("SecretMetadata"))
        .filter_map(|statement| match &statement.resources {
            Some(Resources::Resource(arns)) => Some(arns),
            _ => None,
        })
        .flatten()
        .find_map(|arn| arn.strip_prefix(&head)?.strip_suffix('*').map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::ownership::OwnerToken;
    use crate::resources::permission_boundary::fixture;
    use crate::resources::permission_boundary::observed::{ObservedPolicy, ObservedRole};
    use crate::value::Value;
    use std::collections::BTreeSet;

    #[test]
    fn import_recovers_the_spec_that_built_the_estate() {
        let account = fixture::account();
        let defaults = BTreeMap::from([("owner".to_owned(), "platform".to_owned())]);
        let original = BoundarySpec {
            name_prefix: "acme".into(),
            operator_principal_arns: vec![
                "arn:aws:iam::444455556666:role/a".into(),
                "arn:aws:iam::444455556666:user/b".into(),
            ],
            external_id: Some("xid-1".into()),
            require_mfa: false,
            max_session_duration: 7200,
            secrets_prefix: "prod/retool-".into(),
            setup_role: false,
            tags: BTreeMap::from([
                ("owner".to_owned(), "platform".to_owned()),
                ("team".to_owned(), "infra".to_owned()),
            ]),
        };
        let desired = original.desired(&account).owned_by(&OwnerToken::generate());
        let observed = Observed {
            maintenance_policy: Some(ObservedPolicy {
                document: Some(desired.maintenance.policy.document.clone()),
                tags: desired.tags.clone(),
            }),
            maintenance_role: Some(ObservedRole {
                trust: Some(desired.maintenance.trust.clone()),
                boundary_arn: Some(desired.operator_boundary.arn.clone()),
                max_session_duration: Some(7200),
                attached_policy_arns: BTreeSet::new(),
                inline_policy_names: BTreeSet::new(),
                tags: desired.tags.clone(),
            }),
            ..Observed::default()
        };
        let recovered = spec_from("acme", &account, &observed, &defaults).expect("recovered");
        assert_eq!(recovered, original);
        let inputs = recovered.to_value(&defaults);
        assert_eq!(inputs.attr("tags"), &Value::map([("team", Value::string("infra"))]));
        assert_eq!(BoundarySpec::from_value(&inputs, &defaults).expect("round trip"), original);
    }

    #[test]
    fn nothing_to_import_is_an_error() {
        let account = fixture::account();
        assert!(spec_from("acme", &account, &Observed::default(), &BTreeMap::new()).is_err());
    }
}
