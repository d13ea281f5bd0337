//! Converge: make IAM hold exactly what is desired, changing only what differs from what was
//! observed. The same code creates, repairs drift, finishes an apply that failed half-way, and
//! never duplicates anything: a create whose answer was lost, repeated by the SDK and refused as a
//! duplicate, takes what holds the name as its result when it carries every tag the create set
//! (the ownership mark among them), and never anyone else's.

use crate::aws::During;
use aws_sdk_iam::Client;

use super::destroy;
use super::observe::{observe_policy, observe_role};
use crate::aws::Tags;
use crate::aws::iam::role;
use crate::aws::tags::{carries_all, iam_tags, tag_changes};
use crate::aws::wait::create_once;
use crate::error::Error;
use crate::resources::permission_boundary::desired::{Desired, ManagedPolicy, OperatorRole};
use crate::resources::permission_boundary::observed::{Observed, ObservedPolicy, ObservedRole};
use crate::stop::StopSignal;

/// IAM keeps at most five versions of a managed policy.
const MAX_POLICY_VERSIONS: usize = 5;

/// Makes IAM hold exactly `desired`, changing only what differs from `observed`: policies first
/// (the roles' boundary must exist before a role can name it), then the roles; a setup role that
/// is no longer wanted is taken down last. Creates give up when Terraform asks the provider to
/// `stop`.
pub async fn converge(iam: &Client, desired: &Desired, observed: &Observed, stop: &StopSignal) -> Result<(), Error> {
    let policy = |want, have| converge_policy(iam, want, have, &desired.tags, stop);
    policy(&desired.workload_boundary, observed.workload_boundary.as_ref()).await?;
    policy(&desired.operator_boundary, observed.operator_boundary.as_ref()).await?;
    policy(&desired.maintenance.policy, observed.maintenance_policy.as_ref()).await?;
    converge_role(iam, &desired.maintenance, observed.maintenance_role.as_ref(), desired, stop).await?;
    match &desired.setup {
        Some(setup) => {
            policy(&setup.policy, observed.setup_policy.as_ref()).await?;
            converge_role(iam, setup, observed.setup_role.as_ref(), desired, stop).await?;
        }
        None => {
            if observed.setup_role.is_some() {
                destroy::delete_role(iam, &desired.estate.setup_role_name()).await?;
            }
            if observed.setup_policy.is_some() {
                destroy::delete_policy(iam, &desired.estate.setup_policy_arn()).await?;
            }
        }
    }
    Ok(())
}

async fn converge_policy(
    iam: &Client,
    want: &ManagedPolicy,
    have: Option<&ObservedPolicy>,
    tags: &Tags,
    stop: &StopSignal,
) -> Result<(), Error> {
    let document = want.document.to_canonical_json();
    let Some(have) = have else {
        let send = || async {
            iam.create_policy()
                .policy_name(&want.name)
                .description(want.description)
                .policy_document(document.clone())
                .set_tags(Some(iam_tags(tags)?).filter(|list| !list.is_empty()))
                .send()
                .await
                .during("CreatePolicy")
                .map(|_| ())
        };
        // What holds the name is this create's (its document and tags) when it carries every tag sent.
        let find = || async {
            let found = observe_policy(iam, &want.arn).await?;
            Ok(found.filter(|policy| carries_all(&policy.tags, tags)).map(|_| ()))
        };
        create_once("CreatePolicy", stop, send, find).await?;
        tracing::info!(policy = %want.arn, "created managed policy");
        return Ok(());
    };
    if !have.document.as_ref().is_some_and(|d| d.semantically_equal(&want.document)) {
        make_room_for_a_version(iam, &want.arn).await?;
        iam.create_policy_version()
            .policy_arn(&want.arn)
            .policy_document(document)
            .set_as_default(true)
            .send()
            .await
            .during("CreatePolicyVersion")?;
        tracing::info!(policy = %want.arn, "published a new default policy version");
    }
    let (set, stale) = tag_changes(&have.tags, tags);
    if !stale.is_empty() {
        iam.untag_policy().policy_arn(&want.arn).set_tag_keys(Some(stale)).send().await.during("UntagPolicy")?;
    }
    if !set.is_empty() {
        iam.tag_policy().policy_arn(&want.arn).set_tags(Some(iam_tags(&set)?)).send().await.during("TagPolicy")?;
    }
    Ok(())
}

/// Deletes the oldest non-default versions until a new one fits under IAM's limit of five.
async fn make_room_for_a_version(iam: &Client, arn: &str) -> Result<(), Error> {
    let listed = iam.list_policy_versions().policy_arn(arn).send().await.during("ListPolicyVersions")?;
    let mut old: Vec<(Option<aws_smithy_types::DateTime>, String)> = listed
        .versions()
        .iter()
        .filter(|version| !version.is_default_version())
        .map(|version| {
            let id = version.version_id().ok_or(Error::missing("ListPolicyVersions", "PolicyVersion.VersionId"))?;
            Ok((version.create_date().copied(), id.to_owned()))
        })
        .collect::<Result<_, Error>>()?;
    // Oldest first: by creation date, then by version number (v2 before v10) when dates tie.
    old.sort_by(|(date_a, id_a), (date_b, id_b)| {
        let number = |id: &str| id.trim_start_matches('v').parse::<u64>().unwrap_or(u64::MAX);
        date_a
            .map(|d| (d.secs(), d.subsec_nanos()))
            .cmp(&date_b.map(|d| (d.secs(), d.subsec_nanos())))
            .then_with(|| number(id_a).cmp(&number(id_b)))
    });
    let excess = listed.versions().len().saturating_sub(MAX_POLICY_VERSIONS - 1);
    for (_, version_id) in old.into_iter().take(excess) {
        iam.delete_policy_version()
            .policy_arn(arn)
            .version_id(&version_id)
            .send()
            .await
            .during("DeletePolicyVersion")?;
        tracing::debug!(policy = %arn, version = %version_id, "deleted an old policy version");
    }
    Ok(())
}

async fn converge_role(
    iam: &Client,
    want: &OperatorRole,
    have: Option<&ObservedRole>,
    desired: &Desired,
    stop: &StopSignal,
) -> Result<(), Error> {
    let boundary = &desired.operator_boundary.arn;
    let Some(have) = have else {
        let send = || async {
            iam.create_role()
                .role_name(&want.name)
                .description(want.description)
                .assume_role_policy_document(want.trust.to_canonical_json())
                .permissions_boundary(boundary)
                .max_session_duration(desired.max_session_duration)
                .set_tags(Some(iam_tags(&desired.tags)?).filter(|list| !list.is_empty()))
                .send()
                .await
                .during("CreateRole")
                .map(|_| ())
        };
        let find = || async {
            let found = observe_role(iam, &want.name).await?;
            Ok(found.filter(|role| carries_all(&role.tags, &desired.tags)).map(|_| ()))
        };
        create_once("CreateRole", stop, send, find).await?;
        role::attach_policy(iam, &want.name, &want.policy.arn).await?;
        tracing::info!(role = %want.name, "created operator role");
        return Ok(());
    };
    role::ensure_trust(iam, &want.name, have.trust.as_ref(), &want.trust).await?;
    role::ensure_boundary(iam, &want.name, have.boundary_arn.as_deref(), Some(boundary)).await?;
    if have.max_session_duration != Some(desired.max_session_duration) {
        iam.update_role()
            .role_name(&want.name)
            .max_session_duration(desired.max_session_duration)
            .send()
            .await
            .during("UpdateRole")?;
    }
    if !have.attached_policy_arns.contains(&want.policy.arn) {
        role::attach_policy(iam, &want.name, &want.policy.arn).await?;
    }
    for extra in have.attached_policy_arns.iter().filter(|arn| **arn != want.policy.arn) {
        iam.detach_role_policy().role_name(&want.name).policy_arn(extra).send().await.during("DetachRolePolicy")?;
        tracing::warn!(role = %want.name, policy = %extra, "detached a policy attached outside Terraform");
    }
    for inline in &have.inline_policy_names {
        iam.delete_role_policy().role_name(&want.name).policy_name(inline).send().await.during("DeleteRolePolicy")?;
        tracing::warn!(role = %want.name, policy = %inline, "deleted an inline policy added outside Terraform");
    }
    let (set, stale) = tag_changes(&have.tags, &desired.tags);
    if !stale.is_empty() {
        iam.untag_role().role_name(&want.name).set_tag_keys(Some(stale)).send().await.during("UntagRole")?;
    }
    if !set.is_empty() {
        iam.tag_role().role_name(&want.name).set_tags(Some(iam_tags(&set)?)).send().await.during("TagRole")?;
    }
    Ok(())
}
