//! Takes a deployment down: the workloads on the cluster first, then every chain's objects concurrently (databases with final snapshots and
//! retained automated backups unless skipped), then the KMS key — kept instead when snapshots,
//! retained backups or a Retool Storage bucket (kept because it holds data) encrypted with it exist.

use super::chains::{
    CacheChain, Chain, ClusterChain, Context, DatabaseChain, KeyChain, SecretsChain, SecretsOperatorChain, StorageChain,
};
use crate::error::Error;

/// Removes the deployment; returns warnings about anything left behind on purpose, or every
/// error met.
pub async fn destroy(cx: &Context<'_>) -> Result<Vec<String>, Error> {
    // Retool stops first, while the cluster still answers and before its database goes.
    crate::resources::deployment::kubernetes::remove(cx).await?;
    let (cluster, secrets_operator, database, cache, secrets, storage) = tokio::join!(
        ClusterChain::remove(cx),
        SecretsOperatorChain::remove(cx),
        DatabaseChain::remove(cx),
        CacheChain::remove(cx),
        SecretsChain::remove(cx),
        StorageChain::remove(cx),
    );
    let mut warnings = Vec::new();
    let mut failures = Vec::new();
    for result in [cluster, secrets_operator, database, cache, secrets, storage] {
        match result {
            Ok(left) => warnings.extend(left),
            Err(error) => failures.push(error),
        }
    }
    Error::several(failures)?;
    warnings.extend(KeyChain::remove(cx).await?);
    Ok(warnings)
}
