//! IAM for a deployment: the EKS cluster role, the node role and the External Secrets Operator
//! role (trusting the cluster's OIDC provider), each carrying `permission_boundary_arn` when
//! given; and the cluster's OIDC provider.
//!
//! Why the OIDC provider is shared: an IAM OIDC provider is unique per issuer URL in the account,
//! and clusters are independent issuers in AWS — but nothing forbids two deployments seeing the
//! same issuer (an emulator gives every cluster the same one). So a deployment adopts an existing
//! provider for its issuer, marks its use with a `retool:deployment:<name>` tag, and on destroy
//! removes its tag and deletes the provider only when no deployment's tag remains.

use std::collections::BTreeMap;

use aws_sdk_iam::Client;
use aws_sdk_iam::types::Tag;

use super::{absent_if_missing, ok_if_missing};
use crate::error::Error;
use crate::resources::deployment::desired::{Role, STS_AUDIENCE};
use crate::resources::deployment::observed::RoleState;

/// Thumbprint of the root CA EKS OIDC issuers chain to (IAM ignores it for well-known issuers,
/// but the API still asks for one).
const EKS_ISSUER_THUMBPRINT: &str = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280";

fn tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().filter_map(|(key, value)| Tag::builder().key(key).value(value).build().ok()).collect()
}

/// Decodes the URL-encoded policy documents IAM returns.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let hex = bytes
            .get(index + 1..index + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (byte, hex) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                index += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                index += 1;
            }
            _ => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_document(text: &str) -> Option<serde_json::Value> {
    serde_json::from_str(text).ok().or_else(|| serde_json::from_str(&percent_decode(text)).ok())
}

pub async fn observe_role(iam: &Client, name: &str) -> Result<Option<RoleState>, Error> {
    let found =
        absent_if_missing(iam.get_role().role_name(name).send().await.map_err(|e| Error::from_sdk("GetRole", e)))?;
    Ok(found.and_then(|out| out.role().cloned()).map(|role| RoleState {
        arn: role.arn().to_owned(),
        boundary: role.permissions_boundary().and_then(|b| b.permissions_boundary_arn()).map(str::to_owned),
        tags: role.tags().iter().map(|tag| (tag.key().to_owned(), tag.value().to_owned())).collect(),
    }))
}

/// Creates the role or brings trust, boundary and policies back to `spec`; returns its ARN.
pub async fn ensure_role(iam: &Client, spec: &Role) -> Result<String, Error> {
    let trust = spec.trust.to_string();
    let existing = absent_if_missing(
        iam.get_role().role_name(&spec.name).send().await.map_err(|e| Error::from_sdk("GetRole", e)),
    )?
    .and_then(|out| out.role().cloned());
    let arn = match existing {
        None => {
            let created = iam
                .create_role()
                .role_name(&spec.name)
                .assume_role_policy_document(&trust)
                .set_permissions_boundary(spec.boundary.clone())
                .set_tags(Some(tags(&spec.tags)))
                .send()
                .await
                .map_err(|e| Error::from_sdk("CreateRole", e))?;
            created
                .role()
                .map(|role| role.arn().to_owned())
                .ok_or_else(|| Error::unexpected("CreateRole", "no role returned"))?
        }
        Some(role) => {
            if role.assume_role_policy_document().and_then(parse_document).as_ref() != Some(&spec.trust) {
                iam.update_assume_role_policy()
                    .role_name(&spec.name)
                    .policy_document(&trust)
                    .send()
                    .await
                    .map_err(|e| Error::from_sdk("UpdateAssumeRolePolicy", e))?;
            }
            let boundary = role.permissions_boundary().and_then(|b| b.permissions_boundary_arn());
            match (&spec.boundary, boundary) {
                (Some(wanted), found) if found != Some(wanted.as_str()) => {
                    iam.put_role_permissions_boundary()
                        .role_name(&spec.name)
                        .permissions_boundary(wanted)
                        .send()
                        .await
                        .map_err(|e| Error::from_sdk("PutRolePermissionsBoundary", e))?;
                }
                (None, Some(_)) => {
                    iam.delete_role_permissions_boundary()
                        .role_name(&spec.name)
                        .send()
                        .await
                        .map_err(|e| Error::from_sdk("DeleteRolePermissionsBoundary", e))?;
                }
                _ => {}
            }
            let have: BTreeMap<String, String> =
                role.tags().iter().map(|tag| (tag.key().to_owned(), tag.value().to_owned())).collect();
            let (set, remove) = super::tag_changes(&have, &spec.tags);
            if !set.is_empty() {
                iam.tag_role()
                    .role_name(&spec.name)
                    .set_tags(Some(tags(&set)))
                    .send()
                    .await
                    .map_err(|e| Error::from_sdk("TagRole", e))?;
            }
            if !remove.is_empty() {
                iam.untag_role()
                    .role_name(&spec.name)
                    .set_tag_keys(Some(remove))
                    .send()
                    .await
                    .map_err(|e| Error::from_sdk("UntagRole", e))?;
            }
            role.arn().to_owned()
        }
    };
    let attached = iam
        .list_attached_role_policies()
        .role_name(&spec.name)
        .send()
        .await
        .map_err(|e| Error::from_sdk("ListAttachedRolePolicies", e))?;
    for policy in &spec.managed_policies {
        if !attached.attached_policies().iter().any(|found| found.policy_arn() == Some(policy.as_str())) {
            iam.attach_role_policy()
                .role_name(&spec.name)
                .policy_arn(policy)
                .send()
                .await
                .map_err(|e| Error::from_sdk("AttachRolePolicy", e))?;
        }
    }
    if let Some((policy_name, document)) = &spec.inline {
        iam.put_role_policy()
            .role_name(&spec.name)
            .policy_name(policy_name)
            .policy_document(document.to_string())
            .send()
            .await
            .map_err(|e| Error::from_sdk("PutRolePolicy", e))?;
    }
    Ok(arn)
}

/// Detaches and deletes the role's policies, then the role.
pub async fn remove_role(iam: &Client, name: &str) -> Result<(), Error> {
    let attached = absent_if_missing(
        iam.list_attached_role_policies()
            .role_name(name)
            .send()
            .await
            .map_err(|e| Error::from_sdk("ListAttachedRolePolicies", e)),
    )?;
    let Some(attached) = attached else { return Ok(()) };
    for policy in attached.attached_policies() {
        if let Some(arn) = policy.policy_arn() {
            ok_if_missing(
                iam.detach_role_policy()
                    .role_name(name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| Error::from_sdk("DetachRolePolicy", e)),
            )?;
        }
    }
    let inline =
        iam.list_role_policies().role_name(name).send().await.map_err(|e| Error::from_sdk("ListRolePolicies", e))?;
    for policy in inline.policy_names() {
        ok_if_missing(
            iam.delete_role_policy()
                .role_name(name)
                .policy_name(policy)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| Error::from_sdk("DeleteRolePolicy", e)),
        )?;
    }
    ok_if_missing(
        iam.delete_role().role_name(name).send().await.map(|_| ()).map_err(|e| Error::from_sdk("DeleteRole", e)),
    )
}

fn user_tag(deployment: &str) -> String {
    format!("{}{deployment}", super::super::names::OIDC_USER_TAG_PREFIX)
}

/// The provider's tags, or `None` when it does not exist.
pub async fn observe_oidc(iam: &Client, arn: &str) -> Result<Option<BTreeMap<String, String>>, Error> {
    let found = absent_if_missing(
        iam.get_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
            .map_err(|e| Error::from_sdk("GetOpenIDConnectProvider", e)),
    )?;
    Ok(found.map(|out| out.tags().iter().map(|tag| (tag.key().to_owned(), tag.value().to_owned())).collect()))
}

/// Creates the OIDC provider for the issuer, or adopts the existing one, and records this
/// deployment's use of it.
pub async fn ensure_oidc(
    iam: &Client,
    arn: &str,
    issuer_url: &str,
    deployment: &str,
    base_tags: &BTreeMap<String, String>,
) -> Result<(), Error> {
    let mut wanted = base_tags.clone();
    wanted.remove(super::super::names::DEPLOYMENT_TAG);
    // Shared by design: its users are recorded per deployment, it has no single owner.
    wanted.remove(crate::resources::ownership::OWNER_TAG);
    wanted.insert(user_tag(deployment), "true".to_owned());
    match observe_oidc(iam, arn).await? {
        None => {
            let created = iam
                .create_open_id_connect_provider()
                .url(issuer_url)
                .client_id_list(STS_AUDIENCE)
                .thumbprint_list(EKS_ISSUER_THUMBPRINT)
                .set_tags(Some(tags(&wanted)))
                .send()
                .await
                .map_err(|e| Error::from_sdk("CreateOpenIDConnectProvider", e));
            match created {
                Ok(_) => Ok(()),
                // Another deployment created it between our look and our create: adopt it.
                Err(error) if error.code() == Some("EntityAlreadyExists") => tag_oidc(iam, arn, &wanted).await,
                Err(error) => Err(error),
            }
        }
        Some(found) if found.contains_key(&user_tag(deployment)) => Ok(()),
        Some(_) => tag_oidc(iam, arn, &wanted).await,
    }
}

async fn tag_oidc(iam: &Client, arn: &str, wanted: &BTreeMap<String, String>) -> Result<(), Error> {
    iam.tag_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .set_tags(Some(tags(wanted)))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Error::from_sdk("TagOpenIDConnectProvider", e))
}

/// Drops this deployment's use of the provider; deletes it when no deployment uses it any more.
pub async fn release_oidc(iam: &Client, arn: &str, deployment: &str) -> Result<(), Error> {
    let Some(found) = observe_oidc(iam, arn).await? else { return Ok(()) };
    let mine = user_tag(deployment);
    let others = found.keys().any(|key| key.starts_with(super::super::names::OIDC_USER_TAG_PREFIX) && *key != mine);
    if others {
        return ok_if_missing(
            iam.untag_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)
                .tag_keys(mine)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| Error::from_sdk("UntagOpenIDConnectProvider", e)),
        );
    }
    ok_if_missing(
        iam.delete_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| Error::from_sdk("DeleteOpenIDConnectProvider", e)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn policy_documents_decode_from_iam() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%7D";
        assert_eq!(parse_document(encoded), Some(json!({"Version": "2012-10-17"})));
        assert_eq!(parse_document("{\"a\":1}"), Some(json!({"a": 1})));
        assert_eq!(percent_decode("100%"), "100%");
    }
}
