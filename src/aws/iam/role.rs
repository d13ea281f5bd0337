//! One IAM role lifecycle for every resource: observe a role by name, bring it to a
//! [`RoleSpec`], remove it.
//!
//! - Documents are compared by meaning ([`PolicyDocument::semantically_equal`]), never as text:
//!   IAM hands them back URL-encoded and reordered, so a textual comparison would rewrite the
//!   trust policy and every inline policy on each apply. They are written only when they differ.
//! - Every list call is paginated (`ListAttachedRolePolicies`, `ListRolePolicies`,
//!   `ListInstanceProfilesForRole`): a role with more than a page of policies is handled whole.
//! - Removing a role first detaches what IAM refuses to delete it with: managed policies,
//!   inline policies and its instance profiles (the role is taken out of them; the profiles stay).

use crate::aws::During;
use std::collections::BTreeMap;

use aws_sdk_iam::Client;

use super::policy::{PolicyDocument, same_policy};
use crate::aws::tags::{Tags, carries_all, iam_tags, sync_tags};
use crate::aws::wait::create_once;
use crate::aws::{absent_if_missing, ok_if_missing};
use crate::error::Error;
use crate::stop::StopSignal;

/// A role as it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleSpec {
    /// The role's name.
    pub name: String,
    /// Who may assume it.
    pub trust: PolicyDocument,
    /// The permissions boundary's ARN, if any.
    pub boundary: Option<String>,
    /// Managed policies attached to it (others found attached are left alone).
    pub managed_policies: Vec<String>,
    /// Inline policies by name (others found on the role are left alone).
    pub inline_policies: BTreeMap<String, PolicyDocument>,
    /// Its tags, exactly.
    pub tags: Tags,
}

/// A role as IAM reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleState {
    /// The role's ARN.
    pub arn: String,
    /// The permissions boundary's ARN, if any.
    pub boundary: Option<String>,
    /// The trust policy; `None` when IAM returned none or one that could not be read.
    pub trust: Option<PolicyDocument>,
    /// Its tags.
    pub tags: Tags,
}

/// Whether a document IAM returned (URL-encoded, or absent) differs in meaning from `wanted`.
pub fn document_differs(found: Option<&str>, wanted: &PolicyDocument) -> bool {
    !found.is_some_and(|text| same_policy(wanted, text))
}

/// The role `name`, or `None` when it does not exist.
pub async fn observe(iam: &Client, name: &str) -> Result<Option<RoleState>, Error> {
    let found = absent_if_missing(iam.get_role().role_name(name).send().await.during("GetRole"))?;
    let Some(role) = found.and_then(|out| out.role) else { return Ok(None) };
    Ok(Some(RoleState {
        arn: role.arn().to_owned(),
        boundary: role.permissions_boundary().and_then(|b| b.permissions_boundary_arn()).map(str::to_owned),
        trust: role.assume_role_policy_document().and_then(|text| PolicyDocument::parse(text).ok()),
        tags: role.tags().iter().map(|tag| (tag.key().to_owned(), tag.value().to_owned())).collect(),
    }))
}

/// Every item, from every page, of one of IAM's per-role listings (each SDK listing has its own
/// paginator type, with no trait in common to write a function over).
macro_rules! every_item {
    ($request:expr, $role:expr, $operation:literal) => {
        $request
            .role_name($role)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .during($operation)
    };
}

/// The ARNs of the managed policies attached to role `name` (every page).
pub async fn attached_policies(iam: &Client, name: &str) -> Result<Vec<String>, Error> {
    let attached = every_item!(iam.list_attached_role_policies(), name, "ListAttachedRolePolicies")?;
    attached
        .iter()
        .map(|policy| {
            policy.policy_arn().map(str::to_owned).ok_or(Error::missing("ListAttachedRolePolicies", "PolicyArn"))
        })
        .collect()
}

/// The names of role `name`'s inline policies (every page).
pub async fn inline_policy_names(iam: &Client, name: &str) -> Result<Vec<String>, Error> {
    every_item!(iam.list_role_policies(), name, "ListRolePolicies")
}

/// The names of the instance profiles role `name` is in (every page).
pub async fn instance_profiles(iam: &Client, name: &str) -> Result<Vec<String>, Error> {
    let profiles = every_item!(iam.list_instance_profiles_for_role(), name, "ListInstanceProfilesForRole")?;
    Ok(profiles.iter().map(|profile| profile.instance_profile_name().to_owned()).collect())
}

/// The inline policy `policy` of role `role` as IAM returns it (URL-encoded), or `None`.
async fn inline_policy_text(iam: &Client, role: &str, policy: &str) -> Result<Option<String>, Error> {
    let found = absent_if_missing(
        iam.get_role_policy().role_name(role).policy_name(policy).send().await.during("GetRolePolicy"),
    )?;
    Ok(found.map(|out| out.policy_document().to_owned()))
}

/// Rewrites role `name`'s trust policy when the one `found` does not mean `wanted` (or is absent).
pub(crate) async fn ensure_trust(
    iam: &Client,
    name: &str,
    found: Option<&PolicyDocument>,
    wanted: &PolicyDocument,
) -> Result<(), Error> {
    if found.is_some_and(|trust| trust.semantically_equal(wanted)) {
        return Ok(());
    }
    let update = iam.update_assume_role_policy().role_name(name).policy_document(wanted.to_canonical_json());
    update.send().await.during("UpdateAssumeRolePolicy")?;
    Ok(())
}

/// Points role `name`'s permissions boundary at `wanted` when `found` is another, or removes it
/// when none is wanted.
pub(crate) async fn ensure_boundary(
    iam: &Client,
    name: &str,
    found: Option<&str>,
    wanted: Option<&str>,
) -> Result<(), Error> {
    match (wanted, found) {
        (Some(wanted), found) if found != Some(wanted) => {
            let put = iam.put_role_permissions_boundary().role_name(name).permissions_boundary(wanted);
            put.send().await.during("PutRolePermissionsBoundary")?;
        }
        (None, Some(_)) => {
            let delete = iam.delete_role_permissions_boundary().role_name(name);
            delete.send().await.during("DeleteRolePermissionsBoundary")?;
        }
        _ => {}
    }
    Ok(())
}

/// Attaches managed policy `arn` to role `name`.
pub(crate) async fn attach_policy(iam: &Client, name: &str, arn: &str) -> Result<(), Error> {
    iam.attach_role_policy().role_name(name).policy_arn(arn).send().await.during("AttachRolePolicy")?;
    Ok(())
}

/// Creates the role, or brings trust, boundary, tags and policies to `spec`; returns its ARN.
/// Nothing is written that already means what `spec` says.
pub async fn ensure(iam: &Client, spec: &RoleSpec, stop: &StopSignal) -> Result<String, Error> {
    let arn = match observe(iam, &spec.name).await? {
        None => {
            let send = || async {
                let created = iam
                    .create_role()
                    .role_name(&spec.name)
                    .assume_role_policy_document(spec.trust.to_canonical_json())
                    .set_permissions_boundary(spec.boundary.clone())
                    .set_tags(Some(iam_tags(&spec.tags)?))
                    .send()
                    .await
                    .during("CreateRole")?;
                created.role().map(|role| role.arn().to_owned()).ok_or(Error::missing("CreateRole", "Role"))
            };
            // What holds the name is this create's when it carries every tag the create set (among
            // them the ownership mark); a role with no tags to tell is never taken for ours.
            let find = || async {
                let found = observe(iam, &spec.name).await?;
                Ok(found.filter(|role| carries_all(&role.tags, &spec.tags)).map(|role| role.arn))
            };
            create_once("CreateRole", stop, send, find).await?
        }
        Some(role) => {
            ensure_trust(iam, &spec.name, role.trust.as_ref(), &spec.trust).await?;
            ensure_boundary(iam, &spec.name, role.boundary.as_deref(), spec.boundary.as_deref()).await?;
            sync_tags(
                &role.tags,
                &spec.tags,
                |set| async move {
                    iam.tag_role().role_name(&spec.name).set_tags(Some(iam_tags(&set)?)).send().await.during("TagRole")
                },
                |keys| async move {
                    iam.untag_role().role_name(&spec.name).set_tag_keys(Some(keys)).send().await.during("UntagRole")
                },
            )
            .await?;
            role.arn
        }
    };
    let attached = attached_policies(iam, &spec.name).await?;
    for policy in spec.managed_policies.iter().filter(|policy| !attached.contains(policy)) {
        attach_policy(iam, &spec.name, policy).await?;
    }
    for (policy_name, document) in &spec.inline_policies {
        let found = inline_policy_text(iam, &spec.name, policy_name).await?;
        if document_differs(found.as_deref(), document) {
            iam.put_role_policy()
                .role_name(&spec.name)
                .policy_name(policy_name)
                .policy_document(document.to_canonical_json())
                .send()
                .await
                .during("PutRolePolicy")?;
        }
    }
    Ok(arn)
}

/// Takes role `name` out of its instance profiles, detaches its managed policies, deletes its
/// inline policies, then deletes it. A role that does not exist is already removed.
pub async fn remove(iam: &Client, name: &str) -> Result<(), Error> {
    if observe(iam, name).await?.is_none() {
        return Ok(());
    }
    for profile in instance_profiles(iam, name).await? {
        ok_if_missing(
            iam.remove_role_from_instance_profile()
                .instance_profile_name(&profile)
                .role_name(name)
                .send()
                .await
                .during("RemoveRoleFromInstanceProfile"),
        )?;
    }
    for policy in attached_policies(iam, name).await? {
        ok_if_missing(
            iam.detach_role_policy().role_name(name).policy_arn(&policy).send().await.during("DetachRolePolicy"),
        )?;
    }
    for policy in inline_policy_names(iam, name).await? {
        ok_if_missing(
            iam.delete_role_policy().role_name(name).policy_name(&policy).send().await.during("DeleteRolePolicy"),
        )?;
    }
    ok_if_missing(iam.delete_role().role_name(name).send().await.during("DeleteRole"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::iam::policy::Statement;

    #[test]
    fn documents_are_rewritten_only_when_their_meaning_differs() {
        let wanted = PolicyDocument::new(vec![Statement::allow("Read", ["s3:GetObject", "s3:ListBucket"], ["*"])]);
        // As IAM hands it back: URL-encoded, keys and lists reordered.
        let from_iam = "%7B%22Statement%22%3A%5B%7B%22Resource%22%3A%5B%22%2A%22%5D%2C%22Action%22%3A%5B%22s3%3AListBucket%22%2C%22s3%3AGetObject%22%5D%2C%22Effect%22%3A%22Allow%22%2C%22Sid%22%3A%22Read%22%7D%5D%2C%22Version%22%3A%222012-10-17%22%7D";
        assert!(!document_differs(Some(from_iam), &wanted));
        assert!(!document_differs(Some(&wanted.to_canonical_json()), &wanted));
        let widened = PolicyDocument::new(vec![Statement::allow("Read", ["s3:*"], ["*"])]);
        assert!(document_differs(Some(&widened.to_canonical_json()), &wanted));
        assert!(document_differs(None, &wanted), "a missing document is written");
        assert!(document_differs(Some("not a policy"), &wanted), "an unreadable one is rewritten");
    }
}
