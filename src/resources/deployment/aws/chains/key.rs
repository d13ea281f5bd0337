//! The deployment's KMS key, found through its alias `alias/retool/<name>`: ensured first, since
//! everything else is encrypted with it, and removed last — or kept while anything of the
//! databases encrypted with it outlives them: manual snapshots (final, pre-upgrade or taken by
//! hand), retained automated backups, and a Retool Storage bucket kept because it holds data. Deleting the key would make those unrestorable, so the
//! rule is: nothing encrypted with the key is ever left behind a key scheduled for deletion.

use async_trait::async_trait;

use super::{Chain, Context, Target, Upstream};
use crate::aws::AwsClients;
use crate::error::Error;
use crate::resources::deployment::aws::{kms, rds, s3};
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
        // The key carries the configuration record from its CreateKey on (see `recording_tags`).
        kms::ensure(cx.clients.kms(), &desired.names.kms_alias(), &description, &desired.recording_tags()).await
    }

    /// Schedules the key's deletion — unless snapshots or retained automated backups of the
    /// databases need it to be restored, or the storage bucket (which destroy keeps only while it
    /// holds data) exists: then it is kept, tagged with them, with a warning.
    async fn remove(cx: &Context<'_>) -> Result<Vec<String>, Error> {
        let (kms_client, rds_client, names) = (cx.clients.kms(), cx.clients.rds(), &cx.desired.names);
        let Some(key) = kms::observe(kms_client, &names.kms_alias()).await? else { return Ok(Vec::new()) };
        let (database, retool_db, bucket) = (names.database(), names.retool_db(), cx.desired.storage_bucket_name());
        let (database, retool_db, bucket_kept) = tokio::try_join!(
            rds::kept_backups(rds_client, &database, &key.arn),
            rds::kept_backups(rds_client, &retool_db, &key.arn),
            s3::exists(cx.clients.s3(), &bucket),
        )?;
        let bucket = bucket_kept.then(|| format!("s3://{bucket}"));
        let kept_for: Vec<String> = database.into_iter().chain(retool_db).chain(bucket).collect();
        if kept_for.is_empty() {
            return kms::remove(kms_client, &names.kms_alias()).await.map(|()| Vec::new());
        }
        let kept = kms::retain(kms_client, &names.kms_alias(), &kept_for).await?;
        Ok(kept
            .map(|arn| {
                format!(
                    "KMS key {arn} was kept, not scheduled for deletion: it encrypts the database snapshots, retained automated backups or Retool Storage bucket {} (tagged {}). Schedule its deletion yourself once they are deleted.",
                    kept_for.join(", "),
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
            // The configuration record is not drift: import reads the key's only when there is no
            // cluster, and every converge brings it up to date (keys made before it was kept have
            // none until then).
            Some(key) => tag_drift(Area::Key, &object, &key.tags, &desired.tags()).into_iter().collect(),
        }
    }
}
