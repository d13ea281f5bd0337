//! Observe: read every piece IAM holds for the resource, by name (a role or policy name is
//! unique in the account), into the SDK-free [`Observed`].

use crate::aws::During;
use aws_sdk_iam::Client;

use super::{attached_policies, inline_policies, tag_map};
use crate::aws::absent_if_missing;
use crate::aws::iam::policy::PolicyDocument;
use crate::error::Error;
use crate::resources::permission_boundary::desired::Desired;
use crate::resources::permission_boundary::observed::{Observed, ObservedPolicy, ObservedRole};

/// Reads every piece named by `desired` (and the setup pieces even when not desired, so their
/// lingering is seen). Every read is independent, so all start at once: a refresh waits for two
/// rounds of IAM calls (a policy's default version is known only from its `GetPolicy`), not for
/// fourteen calls one after the other.
pub async fn observe(iam: &Client, desired: &Desired) -> Result<Observed, Error> {
    let estate = &desired.estate;
    let (setup_policy_arn, setup_role_name) = (estate.setup_policy_arn(), estate.setup_role_name());
    let (operator_boundary, workload_boundary, maintenance_policy, setup_policy, maintenance_role, setup_role) = tokio::try_join!(
        observe_policy(iam, &desired.operator_boundary.arn),
        observe_policy(iam, &desired.workload_boundary.arn),
        observe_policy(iam, &desired.maintenance.policy.arn),
        observe_policy(iam, &setup_policy_arn),
        observe_role(iam, &desired.maintenance.name),
        observe_role(iam, &setup_role_name),
    )?;
    Ok(Observed {
        operator_boundary,
        workload_boundary,
        maintenance_policy,
        setup_policy,
        maintenance_role,
        setup_role,
    })
}

pub(super) async fn observe_policy(iam: &Client, arn: &str) -> Result<Option<ObservedPolicy>, Error> {
    let found = absent_if_missing(iam.get_policy().policy_arn(arn).send().await.during("GetPolicy"))?;
    let Some(found) = found else {
        return Ok(None);
    };
    let policy = found.policy.ok_or(Error::missing("GetPolicy", "Policy"))?;
    let tags = tag_map(policy.tags());
    let version_id = policy.default_version_id().ok_or(Error::missing("GetPolicy", "Policy.DefaultVersionId"))?;
    let version = absent_if_missing(
        iam.get_policy_version().policy_arn(arn).version_id(version_id).send().await.during("GetPolicyVersion"),
    )?;
    // A default version deleted between the two calls (an edit racing this read) reads as a
    // document that cannot be read, like one this provider cannot parse: drift, which the next
    // refresh or apply settles.
    let document = match version {
        None => None,
        Some(output) => {
            let text = output
                .policy_version
                .and_then(|version| version.document)
                .ok_or(Error::missing("GetPolicyVersion", "PolicyVersion.Document"))?;
            PolicyDocument::parse(&text).ok()
        }
    };
    Ok(Some(ObservedPolicy { document, tags }))
}

/// The role and its policy lists, asked for at once; the lists of a role that does not exist
/// fail with not-found and are not looked at.
pub(super) async fn observe_role(iam: &Client, name: &str) -> Result<Option<ObservedRole>, Error> {
    let (found, attached, inline) = tokio::join!(
        async { absent_if_missing(iam.get_role().role_name(name).send().await.during("GetRole")) },
        attached_policies(iam, name),
        inline_policies(iam, name),
    );
    let Some(found) = found? else {
        return Ok(None);
    };
    let role = found.role.ok_or(Error::missing("GetRole", "Role"))?;
    let trust = role.assume_role_policy_document().ok_or(Error::missing("GetRole", "Role.AssumeRolePolicyDocument"))?;
    Ok(Some(ObservedRole {
        // A trust policy this provider cannot parse is drift ("trust policy … was changed").
        trust: PolicyDocument::parse(trust).ok(),
        boundary_arn: role.permissions_boundary().and_then(|b| b.permissions_boundary_arn()).map(str::to_owned),
        max_session_duration: role.max_session_duration(),
        attached_policy_arns: attached?,
        inline_policy_names: inline?,
        tags: tag_map(role.tags()),
    }))
}
