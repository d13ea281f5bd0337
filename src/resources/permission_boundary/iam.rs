//! The IAM and STS work of `retool_permission_boundary`: observe every piece, converge them on
//! what is desired, and take them all down.
//!
//! Why "converge" rather than separate create and update paths: every step first looks, then
//! changes only what differs, so the same code creates, repairs drift, finishes an apply that failed
//! half-way, and never duplicates anything. IAM names are the idempotency keys — a role or policy
//! name is unique in the account. Throttling and 5xx responses are retried by the SDK's retry
//! layer configured for the provider's clients.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_iam::Client;
use aws_sdk_iam::types::Tag;

use crate::aws::{AwsClients, absent_if_missing, ok_if_missing};
use crate::error::{AwsError, Error};

use super::desired::{Account, Desired, ManagedPolicy, OperatorRole};
use super::drift::{Observed, ObservedPolicy, ObservedRole};
use crate::aws::iam::policy::PolicyDocument;

/// IAM keeps at most five versions of a managed policy.
const MAX_POLICY_VERSIONS: usize = 5;

/// The account and partition the provider's credentials belong to (STS GetCallerIdentity, asked
/// once per configured provider).
pub async fn caller_account(clients: &AwsClients) -> Result<Account, Error> {
    let identity = clients.identity().await?;
    Ok(Account { partition: identity.partition.clone(), account_id: identity.account_id.clone() })
}

fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter().map(|tag| (tag.key().to_owned(), tag.value().to_owned())).collect()
}

fn tag_list(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().filter_map(|(key, value)| Tag::builder().key(key).value(value).build().ok()).collect()
}

// ---------------------------------------------------------------------------------------------
// Observing
// ---------------------------------------------------------------------------------------------

/// Reads every piece named by `desired` (and the setup pieces even when not desired, so their
/// lingering is seen).
pub async fn observe(iam: &Client, desired: &Desired) -> Result<Observed, Error> {
    let estate = &desired.estate;
    Ok(Observed {
        operator_boundary: observe_policy(iam, &desired.operator_boundary.arn).await?,
        workload_boundary: observe_policy(iam, &desired.workload_boundary.arn).await?,
        maintenance_policy: observe_policy(iam, &desired.maintenance.policy.arn).await?,
        setup_policy: observe_policy(iam, &estate.setup_policy_arn()).await?,
        maintenance_role: observe_role(iam, &desired.maintenance.name).await?,
        setup_role: observe_role(iam, &estate.setup_role_name()).await?,
    })
}

async fn observe_policy(iam: &Client, arn: &str) -> Result<Option<ObservedPolicy>, Error> {
    let found =
        absent_if_missing(iam.get_policy().policy_arn(arn).send().await.map_err(|e| Error::from_sdk("GetPolicy", e)))?;
    let Some(policy) = found.and_then(|output| output.policy) else {
        return Ok(None);
    };
    let tags = tag_map(policy.tags());
    let Some(version_id) = policy.default_version_id() else {
        return Ok(Some(ObservedPolicy { document: None, tags }));
    };
    let version = absent_if_missing(
        iam.get_policy_version()
            .policy_arn(arn)
            .version_id(version_id)
            .send()
            .await
            .map_err(|e| Error::from_sdk("GetPolicyVersion", e)),
    )?;
    let document = version
        .and_then(|output| output.policy_version)
        .and_then(|version| version.document)
        .and_then(|text| PolicyDocument::parse(&text).ok());
    Ok(Some(ObservedPolicy { document, tags }))
}

async fn observe_role(iam: &Client, name: &str) -> Result<Option<ObservedRole>, Error> {
    let found =
        absent_if_missing(iam.get_role().role_name(name).send().await.map_err(|e| Error::from_sdk("GetRole", e)))?;
    let Some(role) = found.and_then(|output| output.role) else {
        return Ok(None);
    };
    Ok(Some(ObservedRole {
        trust: role.assume_role_policy_document().and_then(|text| PolicyDocument::parse(text).ok()),
        boundary_arn: role.permissions_boundary().and_then(|b| b.permissions_boundary_arn()).map(str::to_owned),
        max_session_duration: role.max_session_duration(),
        attached_policy_arns: attached_policies(iam, name).await?,
        inline_policy_names: inline_policies(iam, name).await?,
        tags: tag_map(role.tags()),
    }))
}

async fn attached_policies(iam: &Client, role: &str) -> Result<BTreeSet<String>, Error> {
    every_page(|marker| async move {
        let page = iam
            .list_attached_role_policies()
            .role_name(role)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| Error::from_sdk("ListAttachedRolePolicies", e))?;
        Ok(Page {
            items: page.attached_policies().iter().filter_map(|p| p.policy_arn()).map(str::to_owned).collect(),
            next: next_marker(page.is_truncated(), page.marker()),
        })
    })
    .await
}

async fn inline_policies(iam: &Client, role: &str) -> Result<BTreeSet<String>, Error> {
    every_page(|marker| async move {
        let page = iam
            .list_role_policies()
            .role_name(role)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| Error::from_sdk("ListRolePolicies", e))?;
        Ok(Page { items: page.policy_names().to_vec(), next: next_marker(page.is_truncated(), page.marker()) })
    })
    .await
}

/// One page of an IAM listing: its items, and where the next page starts if there is one.
struct Page {
    items: Vec<String>,
    next: Option<String>,
}

/// IAM's marker is only meaningful while the listing says it is truncated.
fn next_marker(is_truncated: bool, marker: Option<&str>) -> Option<String> {
    marker.filter(|_| is_truncated).map(str::to_owned)
}

/// Follows IAM's marker pagination from the first page to the last, gathering every item.
async fn every_page<F, P>(mut fetch: F) -> Result<BTreeSet<String>, Error>
where
    F: FnMut(Option<String>) -> P,
    P: Future<Output = Result<Page, Error>>,
{
    let mut items = BTreeSet::new();
    let mut marker = None;
    loop {
        let page = fetch(marker.take()).await?;
        items.extend(page.items);
        match page.next {
            Some(next) => marker = Some(next),
            None => return Ok(items),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Converging
// ---------------------------------------------------------------------------------------------

/// Makes IAM hold exactly `desired`, changing only what differs from `observed`: policies first
/// (the roles' boundary must exist before a role can name it), then the roles; a setup role that
/// is no longer wanted is taken down last.
pub async fn converge(iam: &Client, desired: &Desired, observed: &Observed) -> Result<(), Error> {
    converge_policy(iam, &desired.workload_boundary, observed.workload_boundary.as_ref(), &desired.tags).await?;
    converge_policy(iam, &desired.operator_boundary, observed.operator_boundary.as_ref(), &desired.tags).await?;
    converge_policy(iam, &desired.maintenance.policy, observed.maintenance_policy.as_ref(), &desired.tags).await?;
    converge_role(iam, &desired.maintenance, observed.maintenance_role.as_ref(), desired).await?;
    match &desired.setup {
        Some(setup) => {
            converge_policy(iam, &setup.policy, observed.setup_policy.as_ref(), &desired.tags).await?;
            converge_role(iam, setup, observed.setup_role.as_ref(), desired).await?;
        }
        None => {
            if observed.setup_role.is_some() {
                delete_role(iam, &desired.estate.setup_role_name()).await?;
            }
            if observed.setup_policy.is_some() {
                delete_policy(iam, &desired.estate.setup_policy_arn()).await?;
            }
        }
    }
    Ok(())
}

async fn converge_policy(
    iam: &Client,
    want: &ManagedPolicy,
    have: Option<&ObservedPolicy>,
    tags: &BTreeMap<String, String>,
) -> Result<(), Error> {
    let document = want.document.to_canonical_json();
    let Some(have) = have else {
        iam.create_policy()
            .policy_name(&want.name)
            .description(want.description)
            .policy_document(document)
            .set_tags(Some(tag_list(tags)).filter(|list| !list.is_empty()))
            .send()
            .await
            .map_err(|e| Error::from_sdk("CreatePolicy", e))?;
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
            .map_err(|e| Error::from_sdk("CreatePolicyVersion", e))?;
        tracing::info!(policy = %want.arn, "published a new default policy version");
    }
    if have.tags != *tags {
        let stale: Vec<String> = have.tags.keys().filter(|key| !tags.contains_key(*key)).cloned().collect();
        if !stale.is_empty() {
            iam.untag_policy()
                .policy_arn(&want.arn)
                .set_tag_keys(Some(stale))
                .send()
                .await
                .map_err(|e| Error::from_sdk("UntagPolicy", e))?;
        }
        if !tags.is_empty() {
            iam.tag_policy()
                .policy_arn(&want.arn)
                .set_tags(Some(tag_list(tags)))
                .send()
                .await
                .map_err(|e| Error::from_sdk("TagPolicy", e))?;
        }
    }
    Ok(())
}

/// Deletes the oldest non-default versions until a new one fits under IAM's limit of five.
async fn make_room_for_a_version(iam: &Client, arn: &str) -> Result<(), Error> {
    let listed = iam
        .list_policy_versions()
        .policy_arn(arn)
        .send()
        .await
        .map_err(|e| Error::from_sdk("ListPolicyVersions", e))?;
    let mut old: Vec<(Option<aws_smithy_types::DateTime>, String)> = listed
        .versions()
        .iter()
        .filter(|version| !version.is_default_version())
        .filter_map(|version| Some((version.create_date().copied(), version.version_id()?.to_owned())))
        .collect();
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
            .map_err(|e| Error::from_sdk("DeletePolicyVersion", e))?;
        tracing::debug!(policy = %arn, version = %version_id, "deleted an old policy version");
    }
    Ok(())
}

async fn converge_role(
    iam: &Client,
    want: &OperatorRole,
    have: Option<&ObservedRole>,
    desired: &Desired,
) -> Result<(), Error> {
    let boundary = &desired.operator_boundary.arn;
    let Some(have) = have else {
        iam.create_role()
            .role_name(&want.name)
            .description(want.description)
            .assume_role_policy_document(want.trust.to_canonical_json())
            .permissions_boundary(boundary)
            .max_session_duration(desired.max_session_duration)
            .set_tags(Some(tag_list(&desired.tags)).filter(|list| !list.is_empty()))
            .send()
            .await
            .map_err(|e| Error::from_sdk("CreateRole", e))?;
        iam.attach_role_policy()
            .role_name(&want.name)
            .policy_arn(&want.policy.arn)
            .send()
            .await
            .map_err(|e| Error::from_sdk("AttachRolePolicy", e))?;
        tracing::info!(role = %want.name, "created operator role");
        return Ok(());
    };
    if !have.trust.as_ref().is_some_and(|trust| trust.semantically_equal(&want.trust)) {
        iam.update_assume_role_policy()
            .role_name(&want.name)
            .policy_document(want.trust.to_canonical_json())
            .send()
            .await
            .map_err(|e| Error::from_sdk("UpdateAssumeRolePolicy", e))?;
    }
    if have.boundary_arn.as_ref() != Some(boundary) {
        iam.put_role_permissions_boundary()
            .role_name(&want.name)
            .permissions_boundary(boundary)
            .send()
            .await
            .map_err(|e| Error::from_sdk("PutRolePermissionsBoundary", e))?;
    }
    if have.max_session_duration != Some(desired.max_session_duration) {
        iam.update_role()
            .role_name(&want.name)
            .max_session_duration(desired.max_session_duration)
            .send()
            .await
            .map_err(|e| Error::from_sdk("UpdateRole", e))?;
    }
    if !have.attached_policy_arns.contains(&want.policy.arn) {
        iam.attach_role_policy()
            .role_name(&want.name)
            .policy_arn(&want.policy.arn)
            .send()
            .await
            .map_err(|e| Error::from_sdk("AttachRolePolicy", e))?;
    }
    for extra in have.attached_policy_arns.iter().filter(|arn| **arn != want.policy.arn) {
        iam.detach_role_policy()
            .role_name(&want.name)
            .policy_arn(extra)
            .send()
            .await
            .map_err(|e| Error::from_sdk("DetachRolePolicy", e))?;
        tracing::warn!(role = %want.name, policy = %extra, "detached a policy attached outside Terraform");
    }
    for inline in &have.inline_policy_names {
        iam.delete_role_policy()
            .role_name(&want.name)
            .policy_name(inline)
            .send()
            .await
            .map_err(|e| Error::from_sdk("DeleteRolePolicy", e))?;
        tracing::warn!(role = %want.name, policy = %inline, "deleted an inline policy added outside Terraform");
    }
    if have.tags != desired.tags {
        let stale: Vec<String> = have.tags.keys().filter(|key| !desired.tags.contains_key(*key)).cloned().collect();
        if !stale.is_empty() {
            iam.untag_role()
                .role_name(&want.name)
                .set_tag_keys(Some(stale))
                .send()
                .await
                .map_err(|e| Error::from_sdk("UntagRole", e))?;
        }
        if !desired.tags.is_empty() {
            iam.tag_role()
                .role_name(&want.name)
                .set_tags(Some(tag_list(&desired.tags)))
                .send()
                .await
                .map_err(|e| Error::from_sdk("TagRole", e))?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Taking down
// ---------------------------------------------------------------------------------------------

/// Deletes the roles, then the policies (a policy in use as a boundary cannot be deleted).
/// Pieces already gone are fine, so a destroy that stopped half-way can simply run again.
pub async fn destroy(iam: &Client, desired: &Desired) -> Result<(), Error> {
    let estate = &desired.estate;
    delete_role(iam, &estate.setup_role_name()).await?;
    delete_role(iam, &estate.maintenance_role_name()).await?;
    for arn in [
        estate.setup_policy_arn(),
        estate.maintenance_policy_arn(),
        estate.operator_boundary_arn(),
        estate.workload_boundary_arn(),
    ] {
        delete_policy(iam, &arn).await?;
    }
    Ok(())
}

async fn delete_role(iam: &Client, name: &str) -> Result<(), Error> {
    let Some(attached) = absent_if_missing(attached_policies(iam, name).await)? else {
        return Ok(());
    };
    for arn in attached {
        ok_if_missing(
            iam.detach_role_policy()
                .role_name(name)
                .policy_arn(&arn)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| Error::from_sdk("DetachRolePolicy", e)),
        )?;
    }
    for inline in absent_if_missing(inline_policies(iam, name).await)?.unwrap_or_default() {
        ok_if_missing(
            iam.delete_role_policy()
                .role_name(name)
                .policy_name(&inline)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| Error::from_sdk("DeleteRolePolicy", e)),
        )?;
    }
    let profiles = absent_if_missing(
        iam.list_instance_profiles_for_role()
            .role_name(name)
            .send()
            .await
            .map_err(|e| Error::from_sdk("ListInstanceProfilesForRole", e)),
    )?;
    for profile in profiles.iter().flat_map(|output| output.instance_profiles()) {
        ok_if_missing(
            iam.remove_role_from_instance_profile()
                .role_name(name)
                .instance_profile_name(profile.instance_profile_name())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| Error::from_sdk("RemoveRoleFromInstanceProfile", e)),
        )?;
    }
    ok_if_missing(
        iam.delete_role().role_name(name).send().await.map(|_| ()).map_err(|e| Error::from_sdk("DeleteRole", e)),
    )?;
    tracing::info!(role = %name, "deleted operator role");
    Ok(())
}

async fn delete_policy(iam: &Client, arn: &str) -> Result<(), Error> {
    let Some(listed) = absent_if_missing(
        iam.list_policy_versions().policy_arn(arn).send().await.map_err(|e| Error::from_sdk("ListPolicyVersions", e)),
    )?
    else {
        return Ok(());
    };
    for version in listed.versions().iter().filter(|version| !version.is_default_version()) {
        if let Some(version_id) = version.version_id() {
            ok_if_missing(
                iam.delete_policy_version()
                    .policy_arn(arn)
                    .version_id(version_id)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| Error::from_sdk("DeletePolicyVersion", e)),
            )?;
        }
    }
    ok_if_missing(
        iam.delete_policy().policy_arn(arn).send().await.map(|_| ()).map_err(|e| Error::from_sdk("DeletePolicy", e)),
    )
    .map_err(|error| match error {
        Error::Aws(error) if error.code.as_deref() == Some("DeleteConflict") => Error::Aws(AwsError {
            message: format!(
                "{} (the policy is still attached or used as a permissions boundary, e.g. by workload roles the \
                 operator created; remove those first)",
                error.message
            ),
            ..error
        }),
        _ => error,
    })?;
    tracing::info!(policy = %arn, "deleted managed policy");
    Ok(())
}
