//! The cluster chain: the cluster and node roles, the EKS cluster in the network's private
//! subnets, its IAM OIDC provider (shared by design, see [`iam`]), the managed node group and
//! the EKS add-ons.
//!
//! A Kubernetes upgrade runs in the order EKS requires: the control plane one minor version up
//! (node groups left behind by an interrupted upgrade first), then the node group, its nodes
//! replaced one at a time, then the add-ons to the new minor's default versions. Each step is
//! recorded in AWS as it completes (the cluster's version, the node group's version, each
//! add-on's tag), so an interrupted upgrade shows as drift and the next apply resumes it.

use crate::aws::During;
use async_trait::async_trait;

use super::{Chain, Context, Oidc, Target, Upstream};
use crate::aws::AwsClients;
use crate::aws::iam::role;
use crate::error::Error;
use crate::resources::deployment::aws::{addons, eks, hash_map, iam};
use crate::resources::deployment::desired::{Desired, MANAGED_ADDONS, oidc_provider_arn};
use crate::resources::deployment::drift::{Area, Finding, finding, role_drift, tag_drift};
use crate::resources::deployment::model::{ClusterSetting, sorted};
use crate::resources::deployment::names;
use crate::resources::deployment::observed::{ClusterSeen, Observed};
use crate::resources::deployment::owner::NotOurs;
use crate::resources::drift::{DriftKind, listed};

/// Roles, cluster, OIDC provider, node group.
pub struct ClusterChain;

/// What the cluster chain made.
pub struct ClusterMade {
    pub oidc: Oidc,
    pub eks_security_group: Option<String>,
}

#[async_trait]
impl Chain for ClusterChain {
    type Seen = ClusterSeen;
    type Made = ClusterMade;

    async fn observe(clients: &AwsClients, target: Target<'_>) -> Result<Self::Seen, Error> {
        let (eks_client, iam_client, names) = (clients.eks(), clients.iam(), target.names);
        let cluster_name = names.cluster();
        // Once the cluster is known, its node groups, add-ons and OIDC provider (found by the
        // cluster's issuer) are read at once.
        let cluster_side = async {
            let (cluster, identity) =
                tokio::try_join!(eks::observe_cluster(eks_client, &cluster_name), clients.identity())?;
            let node_groups = async {
                match &cluster {
                    Some(_) => eks::observe_node_groups(eks_client, &cluster_name).await,
                    None => Ok(Vec::new()),
                }
            };
            let addons = async {
                match &cluster {
                    Some(_) => addons::observe_addons(eks_client, &cluster_name).await,
                    None => Ok(Vec::new()),
                }
            };
            let oidc_provider = async {
                let Some(issuer) = cluster.as_ref().and_then(|c| c.oidc_issuer.as_deref()) else { return Ok(None) };
                let tags = iam::observe_oidc(iam_client, &oidc_provider_arn(identity, issuer)).await?;
                let user = format!("{}{}", names::OIDC_USER_TAG_PREFIX, names.deployment);
                Ok(Some(tags.is_some_and(|tags| tags.contains_key(&user))))
            };
            let (node_groups, addons, oidc_provider) = tokio::try_join!(node_groups, addons, oidc_provider)?;
            Ok::<_, Error>((cluster, node_groups, addons, oidc_provider))
        };
        let (cluster_role, node_role) = (names.cluster_role(), names.node_role());
        let ((cluster, node_groups, addons, oidc_provider), cluster_role, node_role) = tokio::try_join!(
            cluster_side,
            role::observe(iam_client, &cluster_role),
            role::observe(iam_client, &node_role),
        )?;
        Ok(ClusterSeen { cluster, node_groups, addons, oidc_provider, cluster_role, node_role })
    }

    async fn ensure(cx: &Context<'_>, upstream: &Upstream) -> Result<Self::Made, Error> {
        let desired = cx.desired;
        let (eks_client, iam_client) = (cx.clients.eks(), cx.clients.iam());
        let (cluster_role, node_role) = (desired.cluster_role(), desired.node_role());
        let (cluster_role, node_role) = tokio::try_join!(
            role::ensure(iam_client, &cluster_role, cx.stop),
            role::ensure(iam_client, &node_role, cx.stop)
        )?;
        let patience = cx.eks_patience();
        let wanted = desired.cluster(&cluster_role, &upstream.network, &upstream.key_arn);
        let cluster = eks::ensure_cluster(eks_client, &wanted, patience).await?;
        let Some(issuer_url) = cluster.oidc_issuer.clone() else {
            return Err(Error::unexpected(
                "DescribeCluster",
                format!("cluster {} reports no OIDC issuer", cluster.name),
            ));
        };
        let provider_arn = desired.oidc_provider_arn(&issuer_url);
        iam::ensure_oidc(iam_client, &provider_arn, &issuer_url, &desired.spec.name, &desired.tags()).await?;
        let nodes = desired.node_group(&node_role, &upstream.network);
        eks::ensure_node_group(eks_client, &nodes, patience).await?;
        let minor = &cluster.settings.version;
        addons::ensure_addons(eks_client, &cluster.name, minor, &desired.addon_tags(minor), patience).await?;
        Ok(ClusterMade { oidc: Oidc { provider_arn, issuer_url }, eks_security_group: cluster.eks_security_group_id })
    }

    async fn remove(cx: &Context<'_>) -> Result<Vec<String>, Error> {
        let (desired, names) = (cx.desired, &cx.desired.names);
        let (eks_client, iam_client) = (cx.clients.eks(), cx.clients.iam());
        let cluster = eks::observe_cluster(eks_client, &names.cluster()).await?;
        eks::remove_cluster(eks_client, &names.cluster(), cx.eks_patience()).await?;
        if let Some(issuer) = cluster.and_then(|c| c.oidc_issuer) {
            iam::release_oidc(iam_client, &desired.oidc_provider_arn(&issuer), &desired.spec.name).await?;
        }
        for name in [names.cluster_role(), names.node_role()] {
            role::remove(iam_client, &name).await?;
        }
        Ok(Vec::new())
    }

    fn drift(desired: &Desired, observed: &Observed) -> Vec<Finding> {
        let (spec, names, tags) = (&desired.spec, &desired.names, desired.tags());
        let mut found = Vec::new();
        for (name, role) in
            [(names.cluster_role(), &observed.eks.cluster_role), (names.node_role(), &observed.eks.node_role)]
        {
            found.extend(role_drift(Area::Cluster, &name, role.as_ref(), spec.permission_boundary_arn.as_ref(), &tags));
        }
        let mut note = |object: &str, kind, detail: String| found.push(finding(Area::Cluster, object, kind, &detail));
        match &observed.eks.cluster {
            None => note(&format!("EKS cluster {}", names.cluster()), DriftKind::Missing, "does not exist".into()),
            Some(cluster) => {
                // The cluster is compared exactly as converge compares it before it updates it.
                let (have, want) = (&cluster.settings, desired.cluster_settings(observed.network.as_ref()));
                for setting in have.differences(&want) {
                    match setting {
                        ClusterSetting::Version => note(
                            "EKS cluster",
                            DriftKind::Setting,
                            format!("runs Kubernetes {}, configured {}", have.version, want.version),
                        ),
                        ClusterSetting::EndpointPublicAccess => note(
                            "EKS endpoint public access",
                            DriftKind::Setting,
                            format!("is {}, configured {}", have.endpoint_public_access, want.endpoint_public_access),
                        ),
                        ClusterSetting::PublicAccessCidrs => note(
                            "EKS public access CIDRs",
                            DriftKind::Rules,
                            format!(
                                "are {}, configured {}",
                                listed(&have.public_access_cidrs),
                                listed(&sorted(&want.public_access_cidrs))
                            ),
                        ),
                        ClusterSetting::Subnets if observed.network.is_some() => note(
                            "EKS cluster subnets",
                            DriftKind::Setting,
                            format!(
                                "are {}, the network's private subnets are {}",
                                listed(&have.placement.subnet_ids),
                                listed(&want.placement.subnet_ids)
                            ),
                        ),
                        // Subnets are unknown without the network; drift does not report the security
                        // groups (converge still repairs them).
                        ClusterSetting::Subnets | ClusterSetting::SecurityGroups => {}
                    }
                }
                if observed.eks.oidc_provider != Some(true) {
                    note(
                        "the cluster's IAM OIDC provider",
                        DriftKind::Missing,
                        "is missing or not registered for this deployment".into(),
                    );
                }
            }
        }
        let group_name = names.node_group(&spec.node_group.instance_type);
        let group_object = format!("node group {group_name}");
        match observed.eks.node_groups.iter().find(|group| group.name == group_name) {
            None if observed.eks.cluster.is_some() => note(&group_object, DriftKind::Missing, "does not exist".into()),
            None => {}
            Some(group) => {
                if group.version != spec.kubernetes_version {
                    note(
                        &group_object,
                        DriftKind::Setting,
                        format!("runs Kubernetes {}, configured {}", group.version, spec.kubernetes_version),
                    );
                }
                let config = &spec.node_group;
                let (have, want) =
                    (group.scaling, config.scaling.kept_for(group.scaling, config.ignore_desired_size_changes));
                if have != want {
                    note(
                        &group_object,
                        DriftKind::Setting,
                        format!(
                            "scales min {} / desired {} / max {}, configured {} / {} / {}",
                            have.min_size,
                            have.desired_size,
                            have.max_size,
                            want.min_size,
                            want.desired_size,
                            want.max_size
                        ),
                    );
                }
            }
        }
        for extra in observed.eks.node_groups.iter().filter(|group| group.name != group_name) {
            note(&format!("node group {}", extra.name), DriftKind::Surplus, "is not the configured one".into());
        }
        if observed.eks.cluster.is_some() {
            for name in MANAGED_ADDONS {
                let object = format!("EKS add-on {name}");
                match observed.eks.addons.iter().find(|addon| addon.name == name) {
                    None => note(&object, DriftKind::Missing, "does not exist".into()),
                    Some(addon) if addon.upgraded_for() != Some(spec.kubernetes_version.as_str()) => note(
                        &object,
                        DriftKind::Setting,
                        format!(
                            "runs {} and was last upgraded for Kubernetes {}, configured {}",
                            addon.version,
                            addon.upgraded_for().unwrap_or("no version"),
                            spec.kubernetes_version
                        ),
                    ),
                    Some(_) => {}
                }
            }
        }
        if let Some(cluster) = &observed.eks.cluster {
            found.extend(tag_drift(Area::Cluster, "EKS cluster", &cluster.tags, &desired.recording_tags()));
        }
        for group in observed.eks.node_groups.iter().filter(|group| group.name == group_name) {
            found.extend(tag_drift(Area::Cluster, &group_object, &group.tags, &tags));
        }
        for addon in &observed.eks.addons {
            found.extend(tag_drift(Area::Cluster, &format!("EKS add-on {}", addon.name), &addon.tags, &tags));
        }
        found
    }
}

impl ClusterChain {
    /// Brings the cluster's record tags (version, domain, …) up to date and touches nothing else
    /// (an update that changes no infrastructure). A cluster that is not this instance's is left
    /// alone and returned.
    pub async fn retag(cx: &Context<'_>) -> Result<Option<NotOurs>, Error> {
        let eks_client = cx.clients.eks();
        let name = cx.desired.names.cluster();
        let Some(cluster) = eks::observe_cluster(eks_client, &name).await? else { return Ok(None) };
        if let Some(owner) = &cx.desired.owner
            && let Some(claim) = owner.refuses(&cluster.tags)
        {
            return Ok(Some(NotOurs { object: format!("EKS cluster {name}"), claim }));
        }
        let changed: crate::aws::Tags = cx
            .desired
            .recording_tags()
            .into_iter()
            .filter(|(key, value)| cluster.tags.get(key) != Some(value))
            .collect();
        if changed.is_empty() {
            return Ok(None);
        }
        eks_client
            .tag_resource()
            .resource_arn(&cluster.arn)
            .set_tags(Some(hash_map(&changed)))
            .send()
            .await
            .map(|_| None)
            .during("TagResource")
    }
}
