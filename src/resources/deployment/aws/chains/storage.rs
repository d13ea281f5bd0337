//! Retool Storage: the S3 bucket Retool keeps uploaded files in, encrypted with the deployment's
//! key, and the IAM role Retool's api pods assume through the cluster's OIDC provider to use it.
//! It needs the key and the cluster chain's OIDC provider, so it runs after both. Only while
//! `storage.enabled` is it observed (a refresh without storage makes no S3 call); switching it
//! off removes the role and the bucket — the bucket only when empty, as on destroy: a bucket
//! holding any object or version is kept with a warning, and the key chain keeps the key that
//! encrypts it.

use async_trait::async_trait;

use super::{Chain, Context, Target, Upstream};
use crate::aws::AwsClients;
use crate::aws::iam::policy::same_policy;
use crate::aws::iam::role;
use crate::error::Error;
use crate::resources::deployment::aws::s3::{self, Removal};
use crate::resources::deployment::desired::{Desired, bucket_policy};
use crate::resources::deployment::drift::{Area, Finding, finding, role_drift, tag_drift};
use crate::resources::deployment::observed::{Observed, StorageSeen};
use crate::resources::drift::DriftKind;

/// The Retool Storage bucket and its role.
pub struct StorageChain;

impl StorageChain {
    /// The warning of a bucket kept because it holds data.
    fn kept(bucket: &str) -> String {
        format!(
            "S3 bucket {bucket} was kept, not deleted: it still holds objects (or object versions) of Retool Storage, \
             and the deployment's KMS key that encrypts them was kept too. Delete every object version and the bucket \
             yourself once the data is no longer needed, then schedule the key's deletion."
        )
    }
}

#[async_trait]
impl Chain for StorageChain {
    type Seen = StorageSeen;
    type Made = ();

    async fn observe(clients: &AwsClients, target: Target<'_>) -> Result<Self::Seen, Error> {
        let Some(bucket) = target.storage_bucket else { return Ok(StorageSeen::default()) };
        let role = target.names.storage_role();
        let (bucket, role) = tokio::try_join!(s3::observe(clients.s3(), bucket), role::observe(clients.iam(), &role))?;
        Ok(StorageSeen { bucket, role })
    }

    async fn ensure(cx: &Context<'_>, upstream: &Upstream) -> Result<Self::Made, Error> {
        if !cx.desired.spec.storage {
            for warning in Self::remove(cx).await? {
                cx.notes.add(warning);
            }
            return Ok(());
        }
        let Some(oidc) = &upstream.oidc else {
            return Err(Error::unexpected("EnsureStorageRole", "the cluster's OIDC provider does not exist yet"));
        };
        let wanted = cx.desired.storage_role(&oidc.provider_arn, &oidc.issuer_url, &upstream.key_arn);
        let bucket = cx.desired.storage_bucket(&upstream.key_arn);
        tokio::try_join!(s3::ensure(cx.clients.s3(), &bucket), role::ensure(cx.clients.iam(), &wanted, cx.stop))
            .map(|_| ())
    }

    /// Removes the role, and the bucket when it is empty; a bucket with data is kept, with a
    /// warning.
    async fn remove(cx: &Context<'_>) -> Result<Vec<String>, Error> {
        let bucket = cx.desired.storage_bucket_name();
        let role = cx.desired.names.storage_role();
        let ((), removal) =
            tokio::try_join!(role::remove(cx.clients.iam(), &role), s3::remove(cx.clients.s3(), &bucket))?;
        Ok(match removal {
            Removal::Gone => Vec::new(),
            Removal::KeptWithData => vec![Self::kept(&bucket)],
        })
    }

    fn drift(desired: &Desired, observed: &Observed) -> Vec<Finding> {
        if !desired.spec.storage {
            return Vec::new();
        }
        let name = desired.storage_bucket_name();
        let object = format!("S3 bucket {name}");
        let mut found = role_drift(
            Area::Storage,
            &desired.names.storage_role(),
            observed.storage.role.as_ref(),
            desired.spec.permission_boundary_arn.as_ref(),
            &desired.tags(),
        );
        let Some(bucket) = &observed.storage.bucket else {
            found.push(finding(Area::Storage, &object, DriftKind::Missing, "does not exist"));
            return found;
        };
        let setting = |detail: &str| finding(Area::Storage, &object, DriftKind::Setting, detail);
        let key = observed.kms.as_ref().map(|key| key.arn.as_str());
        if bucket.kms_key.as_deref() != key || !bucket.bucket_key {
            found.push(setting(&format!(
                "is encrypted by default with {}, configured SSE-KMS with the deployment's key {} and S3 Bucket Keys on",
                bucket.kms_key.as_deref().map_or("no KMS key".to_owned(), |k| format!("KMS key {k}")),
                key.unwrap_or("(missing)")
            )));
        }
        if !bucket.public_access_blocked {
            found.push(setting("does not have all four Block Public Access settings on"));
        }
        if !bucket.versioning {
            found.push(setting("has versioning off"));
        }
        let policy = bucket_policy(&desired.identity.partition, &name, &desired.storage_role_arn());
        if !bucket.policy.as_deref().is_some_and(|have| same_policy(&policy, have)) {
            found.push(finding(Area::Storage, &object, DriftKind::Rules, "has another bucket policy than configured"));
        }
        found.extend(tag_drift(Area::Storage, &object, &bucket.tags, &desired.tags()));
        found
    }
}
