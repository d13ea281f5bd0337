//! The deployment's KMS key, found through its alias `alias/retool/<name>`: ensured first, since
//! everything else is encrypted with it, and removed last — or kept when final snapshots
//! encrypted with it exist.

use async_trait::async_trait;

use super::{Chain, Context, Target, Upstream};
use crate::aws::AwsClients;
use crate::error::Error;
use crate::resources::deployment::aws::{kms, rds};
use crate::resources::deployment::desired::Desired;
use crate::resources::deployment::drift::{Area, Finding, finding, tag_drift};
use crate::resources::deployment::observed::{KeyState, Observed};
use crate::resources::drift::DriftKind;

/// The KMS key.
pub struct KeyChain;

#[async_trait]
impl Chain for KeyChain {
    type Seen = Option<KeyState>;
    type Made = KeyState;

    async fn observe(clients: &AwsClients, target: Target<'_>) -> Result<Self::Seen, Error> {
        kms::observe(clients.kms(), &target.names.kms_alias()).await
    }

    async fn ensure(cx: &Context<'_>, _upstream: &Upstream) -> Result<Self::Made, Error> {
        let desired = cx.desired;
        let description = format!("Retool deployment {}", desired.spec.name);
        kms::ensure(cx.clients.kms(), &desired.names.kms_alias(), &description, &desired.tags()).await
    }

    /// Schedules the key's deletion — unless final snapshots (and the automated backups RDS
    /// retains with them) need it to be restored: then it is kept, tagged, with a warning.
    async fn remove(cx: &Context<'_>) -> Result<Vec<String>, Error> {
        let (kms_client, rds_client, names) = (cx.clients.kms(), cx.clients.rds(), &cx.desired.names);
        let Some(key) = kms::observe(kms_client, &names.kms_alias()).await? else { return Ok(Vec::new()) };
        let mut snapshots = rds::final_snapshots(rds_client, &names.database(), &key.arn).await?;
        snapshots.extend(rds::final_snapshots(rds_client, &names.retool_db(), &key.arn).await?);
        if snapshots.is_empty() {
            return kms::remove(kms_client, &names.kms_alias()).await.map(|()| Vec::new());
        }
        let kept = kms::retain(kms_client, &names.kms_alias(), &snapshots).await?;
        Ok(kept
            .map(|arn| {
                format!(
                    "KMS key {arn} was kept, not scheduled for deletion: it encrypts final snapshot(s) {} (tagged {}). Schedule its deletion yourself once they are no longer needed.",
                    snapshots.join(", "),
                    kms::RETAINED_FOR_TAG
                )
            })
            .into_iter()
            .collect())
    }

    fn drift(desired: &Desired, observed: &Observed) -> Vec<Finding> {
        let object = format!("KMS key {}", desired.names.kms_alias());
        let found = |kind, detail: &str| vec![finding(Area::Key, &object, kind, detail)];
        match &observed.kms {
            None => found(DriftKind::Missing, "does not exist"),
            Some(key) if key.pending_deletion => found(DriftKind::Broken, "is scheduled for deletion"),
            Some(key) if !key.enabled => found(DriftKind::Broken, "is disabled"),
            Some(key) if !key.rotation => found(DriftKind::Setting, "has rotation turned off"),
            Some(key) => tag_drift(Area::Key, &object, &key.tags, &desired.tags()).into_iter().collect(),
        }
    }
}
