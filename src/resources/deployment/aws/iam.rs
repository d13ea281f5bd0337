//! IAM for a deployment beyond its roles (which go through the one role lifecycle,
//! [`crate::aws::iam::role`]): the cluster's IAM OIDC provider.
//!
//! Why the OIDC provider is shared: an IAM OIDC provider is unique per issuer URL in the account,
//! and clusters are independent issuers in AWS — but nothing forbids two deployments seeing the
//! same issuer (an emulator gives every cluster the same one). So a deployment adopts an existing
//! provider for its issuer, marks its use with a `retool:deployment:<name>` tag, and on destroy
//! removes its tag and deletes the provider only when no deployment's tag remains.

use crate::aws::During;
use std::collections::BTreeMap;

use aws_sdk_iam::Client;

use super::{absent_if_missing, ok_if_missing};
use crate::aws::tags::iam_tags;
use crate::error::Error;
use crate::resources::deployment::desired::STS_AUDIENCE;

/// Thumbprint of the root CA EKS OIDC issuers chain to (IAM ignores it for well-known issuers,
/// but the API still asks for one).
const EKS_ISSUER_THUMBPRINT: &str = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280";

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
            .during("GetOpenIDConnectProvider"),
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
                .set_tags(Some(iam_tags(&wanted)?))
                .send()
                .await
                .during("CreateOpenIDConnectProvider");
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
        .set_tags(Some(iam_tags(wanted)?))
        .send()
        .await
        .map(|_| ())
        .during("TagOpenIDConnectProvider")
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
                .during("UntagOpenIDConnectProvider"),
        );
    }
    ok_if_missing(
        iam.delete_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
            .during("DeleteOpenIDConnectProvider"),
    )
}
