//! Reads everything that exists of a deployment: the network it runs in and every chain's
//! objects, concurrently, then the workloads on the cluster found.

use super::chains::{
    CacheChain, Chain, ClusterChain, DatabaseChain, KeyChain, SecretsChain, SecretsOperatorChain, StorageChain, Target,
};
use super::network::{self, NetworkProblem};
use crate::aws::AwsClients;
use crate::error::Error;
use crate::resources::deployment::observed::Observed;

/// Everything that exists of the deployment `target` names (whoever's it is: see
/// [`Observed::claimed_by`]).
pub async fn observe(clients: &AwsClients, target: Target<'_>) -> Result<Observed, Error> {
    let network = async {
        match network::read(clients.ec2(), target.network_id).await {
            Ok(view) => Ok((Some(view), None)),
            Err(NetworkProblem::Aws(error)) => Err(error),
            Err(problem) => Ok((None, Some(problem.to_string()))),
        }
    };
    let ((network, network_problem), key, cluster, database, cache, secrets, secrets_operator, storage) = tokio::try_join!(
        network,
        KeyChain::observe(clients, target),
        ClusterChain::observe(clients, target),
        DatabaseChain::observe(clients, target),
        CacheChain::observe(clients, target),
        SecretsChain::observe(clients, target),
        SecretsOperatorChain::observe(clients, target),
        StorageChain::observe(clients, target),
    )?;
    // The workloads are read through the cluster the observation above found.
    let workloads =
        crate::resources::deployment::kubernetes::observe(clients, target.names, cluster.cluster.as_ref(), target.stop)
            .await?;
    Ok(Observed {
        workloads,
        network,
        network_problem,
        kms: key,
        eks: cluster,
        rds: database,
        elasticache: cache,
        secrets,
        eso_role: secrets_operator,
        storage,
    })
}
