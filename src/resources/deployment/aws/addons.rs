//! The cluster's EKS add-ons ([`MANAGED_ADDONS`]): created at the version EKS marks default for
//! the cluster's Kubernetes minor version, and brought to the new minor's default version after
//! every Kubernetes upgrade — last, once the control plane and the nodes run the new minor.
//!
//! Each add-on carries a tag ([`ADDONS_FOR_TAG`](crate::resources::deployment::names::ADDONS_FOR_TAG)) naming the minor version it was last brought
//! up to date for. A refresh reads it with the add-on (no extra call), so an upgrade interrupted
//! after some add-ons shows as drift on the others and the next apply carries on with those. An
//! add-on is not upgraded merely because AWS published a newer default for the current minor:
//! that would turn every refresh after an AWS release into a change nobody asked for.

use std::collections::HashMap;

use aws_sdk_eks::Client;
use aws_sdk_eks::types::{AddonStatus, ResolveConflicts};

use super::eks::{request_token, tag, tags_of, untag};
use super::{Look, Patience, absent_if_missing, hash_map, wait_until};
use crate::aws::During;
use crate::aws::Tags;
use crate::aws::tags::sync_tags;
use crate::error::Error;
use crate::resources::deployment::desired::MANAGED_ADDONS;
use crate::resources::deployment::observed::AddonState;

/// The managed add-ons of cluster `cluster` that exist, in [`MANAGED_ADDONS`] order; all are
/// described at once.
pub async fn observe_addons(eks: &Client, cluster: &str) -> Result<Vec<AddonState>, Error> {
    let described = futures::future::try_join_all(MANAGED_ADDONS.map(|name| observe_addon(eks, cluster, name))).await?;
    Ok(described.into_iter().flatten().collect())
}

async fn observe_addon(eks: &Client, cluster: &str, name: &str) -> Result<Option<AddonState>, Error> {
    let found = absent_if_missing(
        eks.describe_addon().cluster_name(cluster).addon_name(name).send().await.during("DescribeAddon"),
    )?;
    let Some(addon) = found.and_then(|out| out.addon) else { return Ok(None) };
    let missing = |field| Error::missing("DescribeAddon", field);
    Ok(Some(AddonState {
        name: name.to_owned(),
        arn: addon.addon_arn().ok_or_else(|| missing("addonArn"))?.to_owned(),
        tags: tags_of(addon.tags()),
        status: addon.status().ok_or_else(|| missing("status"))?.as_str().to_owned(),
        version: addon.addon_version().ok_or_else(|| missing("addonVersion"))?.to_owned(),
    }))
}

/// The version of add-on `name` that EKS marks default for Kubernetes `minor`.
async fn default_version(eks: &Client, name: &str, minor: &str) -> Result<String, Error> {
    let request = eks.describe_addon_versions().addon_name(name).kubernetes_version(minor);
    let mut pages = request.into_paginator().send();
    while let Some(page) = pages.next().await {
        for addon in page.during("DescribeAddonVersions")?.addons() {
            let versions = addon.addon_versions().iter();
            let default = versions.filter(|version| {
                version.compatibilities().iter().any(|c| c.cluster_version() == Some(minor) && c.default_version())
            });
            if let Some(version) = default.filter_map(|version| version.addon_version()).next() {
                return Ok(version.to_owned());
            }
        }
    }
    Err(Error::unexpected(
        "DescribeAddonVersions",
        format!("EKS names no default version of add-on {name} for Kubernetes {minor}"),
    ))
}

/// Brings every managed add-on of `cluster` to the default version of Kubernetes `minor` (the
/// version the cluster runs), creating the missing ones, all at once; tags them with `tags`
/// (which record `minor`) once each is done; waits until all are ACTIVE.
pub async fn ensure_addons(
    eks: &Client,
    cluster: &str,
    minor: &str,
    tags: &Tags,
    patience: Patience<'_>,
) -> Result<(), Error> {
    let existing: HashMap<String, AddonState> =
        observe_addons(eks, cluster).await?.into_iter().map(|addon| (addon.name.clone(), addon)).collect();
    let each = MANAGED_ADDONS.map(|name| {
        let existing = existing.get(name);
        async move { ensure_addon(eks, cluster, name, existing, minor, tags, patience).await }
    });
    futures::future::try_join_all(each).await?;
    Ok(())
}

async fn ensure_addon(
    eks: &Client,
    cluster: &str,
    name: &str,
    existing: Option<&AddonState>,
    minor: &str,
    tags: &Tags,
    patience: Patience<'_>,
) -> Result<(), Error> {
    let Some(addon) = existing else {
        let version = default_version(eks, name, minor).await?;
        tracing::debug!(cluster, addon = name, version, "creating add-on");
        // EKS installs vpc-cni, kube-proxy and coredns itself when it creates a cluster; the
        // managed add-on takes their place (overwriting their settings).
        eks.create_addon()
            .client_request_token(request_token())
            .cluster_name(cluster)
            .addon_name(name)
            .addon_version(&version)
            .resolve_conflicts(ResolveConflicts::Overwrite)
            .set_tags(Some(hash_map(tags)))
            .send()
            .await
            .during("CreateAddon")?;
        wait_addon(eks, cluster, name, patience).await?;
        return Ok(());
    };
    if addon.upgraded_for() != Some(minor) {
        let version = default_version(eks, name, minor).await?;
        if addon.version != version {
            tracing::debug!(cluster, addon = name, from = %addon.version, to = %version, "upgrading add-on");
            wait_addon(eks, cluster, name, patience).await?;
            // PRESERVE keeps configuration someone changed in the cluster; EKS refuses the
            // update (and says why) rather than overwrite it.
            eks.update_addon()
                .client_request_token(request_token())
                .cluster_name(cluster)
                .addon_name(name)
                .addon_version(&version)
                .resolve_conflicts(ResolveConflicts::Preserve)
                .send()
                .await
                .during("UpdateAddon")?;
            wait_addon(eks, cluster, name, patience).await?;
        }
    }
    let arn = &addon.arn;
    sync_tags(&addon.tags, tags, |set| tag(eks, arn, set), |keys| untag(eks, arn, keys)).await
}

/// Polls until add-on `name` is ACTIVE.
async fn wait_addon(eks: &Client, cluster: &str, name: &str, patience: Patience<'_>) -> Result<AddonState, Error> {
    let what = format!("add-on {name} of cluster {cluster}");
    wait_until("WaitAddonActive", &what, patience, || async {
        Ok(observe_addon(eks, cluster, name).await?.map(|addon| {
            if addon.status == AddonStatus::Active.as_str() {
                Look::Ready(addon)
            } else if addon.status.ends_with("_FAILED") {
                Look::Failed(format!("{what} is {}", addon.status))
            } else {
                Look::Pending(format!("{what} is {}", addon.status))
            }
        }))
    })
    .await
}
