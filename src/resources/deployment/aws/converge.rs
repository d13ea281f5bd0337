//! Brings AWS to what is desired. First the KMS key (everything else is encrypted with it), then
//! four independent chains concurrently — cluster, databases, cache, secrets — then the
//! databases' admission of the cluster's security group and last, concurrently, the External
//! Secrets role, which needs both the cluster's OIDC provider and the databases' master secrets,
//! and Retool Storage (bucket and api role), which needs the key and the OIDC provider. A chain that
//! fails does not stop the others; every error is reported. Whatever the outcome, the caller
//! re-observes, so state records every piece that exists and the next apply resumes: every step
//! finds its object by name before creating it.

use super::chains::{
    CacheChain, Chain, ClusterChain, Context, DatabaseChain, KeyChain, SecretsChain, SecretsOperatorChain,
    StorageChain, Upstream,
};
use super::{eks, network};
use crate::error::Error;

/// Converges every chain; `Ok` when AWS is as desired.
pub async fn converge(cx: &Context<'_>) -> Result<(), Error> {
    let desired = cx.desired;
    let network = network::read(cx.clients.ec2(), &desired.spec.network_id).await.map_err(|problem| {
        Error::unexpected("ReadNetwork", format!("network {}: {problem}", desired.spec.network_id))
    })?;
    let existing_cluster = eks::observe_cluster(cx.clients.eks(), &desired.names.cluster()).await?;
    let mut upstream = Upstream {
        network,
        key_arn: String::new(),
        eks_security_group: existing_cluster.and_then(|cluster| cluster.eks_security_group_id),
        oidc: None,
        master_secrets: Vec::new(),
    };
    upstream.key_arn = KeyChain::ensure(cx, &upstream).await?.arn;

    let (cluster, database, cache, secrets) = tokio::join!(
        ClusterChain::ensure(cx, &upstream),
        DatabaseChain::ensure(cx, &upstream),
        CacheChain::ensure(cx, &upstream),
        SecretsChain::ensure(cx, &upstream),
    );
    let mut failures = Vec::new();
    let cluster = cluster.map_err(|error| failures.push(error)).ok();
    let master_secrets = database.map_err(|error| failures.push(error)).ok();
    failures.extend(cache.err());
    failures.extend(secrets.err());
    if let Some(cluster) = cluster {
        upstream.oidc = Some(cluster.oidc);
        if master_secrets.is_some() && cluster.eks_security_group.is_some() {
            upstream.eks_security_group = cluster.eks_security_group;
            failures.extend(DatabaseChain::admit_cluster(cx, &upstream).await.err());
        }
    }
    let has_oidc = upstream.oidc.is_some();
    let secrets_operator = async {
        match master_secrets {
            Some(master_secrets) if has_oidc => {
                let upstream = Upstream { master_secrets, ..upstream.clone() };
                SecretsOperatorChain::ensure(cx, &upstream).await
            }
            _ => Ok(()),
        }
    };
    // Storage's role needs the OIDC provider; without storage, its removal needs nothing.
    let storage =
        async { if has_oidc || !desired.spec.storage { StorageChain::ensure(cx, &upstream).await } else { Ok(()) } };
    let (secrets_operator, storage) = tokio::join!(secrets_operator, storage);
    failures.extend(secrets_operator.err());
    failures.extend(storage.err());
    Error::several(failures)
}
