//! The Retool Storage bucket: created in the provider's region with SSE-KMS by the deployment's
//! key (S3 Bucket Keys on), every Block Public Access setting, versioning and the bucket policy
//! of [`bucket_policy`](crate::resources::deployment::desired::bucket_policy); its tags are the
//! deployment's. Destroy deletes it only when empty: S3 refuses `DeleteBucket` while any object
//! or version remains, and that refusal is what keeps customer data — the bucket is then left in
//! place, and so is the key that encrypts it.

use std::collections::BTreeMap;

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag, Tagging, VersioningConfiguration,
};

use crate::aws::During;
use crate::aws::iam::policy::same_policy;
use crate::error::Error;
use crate::resources::deployment::desired::Bucket;
use crate::resources::deployment::observed::BucketState;

/// The region S3 creates a bucket in when the request names none.
const DEFAULT_REGION: &str = "us-east-1";

/// Codes S3 answers when the bucket has no such configuration (rather than no bucket).
const NOT_CONFIGURED: [&str; 3] = ["NoSuchTagSet", "NoSuchBucketPolicy", "NoSuchPublicAccessBlockConfiguration"];

/// What a read of one of the bucket's configurations gave.
enum Read<T> {
    Bucket(Option<T>),
    NoBucket,
}

/// `Ok(Read::Bucket(None))` when the configuration is unset, `Ok(Read::NoBucket)` when the bucket
/// does not exist.
fn read<T>(result: Result<T, Error>) -> Result<Read<T>, Error> {
    match result {
        Ok(value) => Ok(Read::Bucket(Some(value))),
        Err(error) if error.code() == Some("NoSuchBucket") => Ok(Read::NoBucket),
        Err(error) if error.is_not_found() || error.code().is_some_and(|code| NOT_CONFIGURED.contains(&code)) => {
            Ok(Read::Bucket(None))
        }
        Err(error) => Err(error),
    }
}

/// The bucket and its configuration, if it exists: five reads, concurrently.
pub async fn observe(s3: &Client, bucket: &str) -> Result<Option<BucketState>, Error> {
    let (tags, encryption, public_access, versioning, policy) = tokio::try_join!(
        async { read(s3.get_bucket_tagging().bucket(bucket).send().await.during("GetBucketTagging")) },
        async { read(s3.get_bucket_encryption().bucket(bucket).send().await.during("GetBucketEncryption")) },
        async { read(s3.get_public_access_block().bucket(bucket).send().await.during("GetPublicAccessBlock")) },
        async { read(s3.get_bucket_versioning().bucket(bucket).send().await.during("GetBucketVersioning")) },
        async { read(s3.get_bucket_policy().bucket(bucket).send().await.during("GetBucketPolicy")) },
    )?;
    let (
        Read::Bucket(tags),
        Read::Bucket(encryption),
        Read::Bucket(public_access),
        Read::Bucket(versioning),
        Read::Bucket(policy),
    ) = (tags, encryption, public_access, versioning, policy)
    else {
        return Ok(None);
    };
    let tags = tags.map_or_else(BTreeMap::new, |out| {
        out.tag_set().iter().map(|tag| (tag.key().to_owned(), tag.value().to_owned())).collect()
    });
    let rule = encryption
        .as_ref()
        .and_then(|out| out.server_side_encryption_configuration())
        .and_then(|config| config.rules().first());
    let by_default = rule.and_then(|rule| rule.apply_server_side_encryption_by_default());
    let kms_key = by_default
        .filter(|default| default.sse_algorithm() == &ServerSideEncryption::AwsKms)
        .and_then(|default| default.kms_master_key_id())
        .map(str::to_owned);
    let block = public_access.as_ref().and_then(|out| out.public_access_block_configuration());
    let public_access_blocked = block.is_some_and(|b| {
        [b.block_public_acls(), b.ignore_public_acls(), b.block_public_policy(), b.restrict_public_buckets()]
            .iter()
            .all(|on| *on == Some(true))
    });
    Ok(Some(BucketState {
        name: bucket.to_owned(),
        tags,
        kms_key,
        bucket_key: rule.and_then(|rule| rule.bucket_key_enabled()) == Some(true),
        public_access_blocked,
        versioning: versioning.and_then(|out| out.status().cloned()) == Some(BucketVersioningStatus::Enabled),
        policy: policy.and_then(|out| out.policy().map(str::to_owned)),
    }))
}

/// Whether the bucket exists: one `GetBucketTagging`, a bucket-level read the operator's roles
/// may make (`HeadBucket` needs `s3:ListBucket`, which the bucket policy and the operator
/// boundary refuse them).
pub async fn exists(s3: &Client, bucket: &str) -> Result<bool, Error> {
    let tags = read(s3.get_bucket_tagging().bucket(bucket).send().await.during("GetBucketTagging"))?;
    Ok(matches!(tags, Read::Bucket(_)))
}

/// Whether a `CreateBucket` refused this way made the bucket itself, in an earlier attempt whose
/// answer was lost and which the SDK repeated: outside us-east-1 S3 refuses the repeat as a bucket
/// the caller already owns (in us-east-1 it succeeds). The bucket's name holds the deployment's
/// name and the account, and the bucket did not exist when read just before, so it is this
/// create's. `BucketAlreadyExists` — another account's — stays an error.
fn made_by_an_earlier_attempt(error: &Error) -> bool {
    error.code() == Some("BucketAlreadyOwnedByYou")
}

/// The bucket, created if missing and configured where it differs from `wanted`.
pub async fn ensure(s3: &Client, wanted: &Bucket) -> Result<(), Error> {
    let name = wanted.name.as_str();
    let found = observe(s3, name).await?;
    if found.is_none() {
        let mut create = s3.create_bucket().bucket(name);
        if wanted.region != DEFAULT_REGION {
            let constraint = BucketLocationConstraint::from(wanted.region.as_str());
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder().location_constraint(constraint).build(),
            );
        }
        match create.send().await.during("CreateBucket") {
            Ok(_) => {}
            Err(error) if made_by_an_earlier_attempt(&error) => {
                tracing::debug!(bucket = name, "the bucket was made by this create's earlier attempt");
            }
            Err(error) => return Err(error),
        }
    }
    let found = found.unwrap_or_default();
    if found.tags != wanted.tags {
        let tag_set = wanted
            .tags
            .iter()
            .map(|(key, value)| Tag::builder().key(key).value(value).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::unexpected("PutBucketTagging", e.to_string()))?;
        let tagging = Tagging::builder()
            .set_tag_set(Some(tag_set))
            .build()
            .map_err(|e| Error::unexpected("PutBucketTagging", e.to_string()))?;
        s3.put_bucket_tagging().bucket(name).tagging(tagging).send().await.during("PutBucketTagging")?;
    }
    if found.kms_key.as_deref() != Some(wanted.kms_key_arn.as_str()) || !found.bucket_key {
        let by_default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::AwsKms)
            .kms_master_key_id(&wanted.kms_key_arn)
            .build()
            .map_err(|e| Error::unexpected("PutBucketEncryption", e.to_string()))?;
        let rule = ServerSideEncryptionRule::builder()
            .apply_server_side_encryption_by_default(by_default)
            .bucket_key_enabled(true)
            .build();
        let config = ServerSideEncryptionConfiguration::builder()
            .rules(rule)
            .build()
            .map_err(|e| Error::unexpected("PutBucketEncryption", e.to_string()))?;
        s3.put_bucket_encryption()
            .bucket(name)
            .server_side_encryption_configuration(config)
            .send()
            .await
            .during("PutBucketEncryption")?;
    }
    if !found.public_access_blocked {
        let block = PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(true)
            .build();
        s3.put_public_access_block()
            .bucket(name)
            .public_access_block_configuration(block)
            .send()
            .await
            .during("PutPublicAccessBlock")?;
    }
    if !found.versioning {
        let versioning = VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build();
        s3.put_bucket_versioning()
            .bucket(name)
            .versioning_configuration(versioning)
            .send()
            .await
            .during("PutBucketVersioning")?;
    }
    if !found.policy.as_deref().is_some_and(|policy| same_policy(&wanted.policy, policy)) {
        let policy = wanted.policy.to_canonical_json();
        s3.put_bucket_policy().bucket(name).policy(policy).send().await.during("PutBucketPolicy")?;
    }
    Ok(())
}

/// How a removal went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// Deleted, or there was no bucket.
    Gone,
    /// Kept: it still holds objects or object versions.
    KeptWithData,
}

/// Deletes the bucket if it is empty; a bucket holding any object or version is kept (S3 itself
/// refuses to delete it: `BucketNotEmpty`).
pub async fn remove(s3: &Client, bucket: &str) -> Result<Removal, Error> {
    match s3.delete_bucket().bucket(bucket).send().await.during("DeleteBucket") {
        Ok(_) => Ok(Removal::Gone),
        Err(error) if error.code() == Some("BucketNotEmpty") => Ok(Removal::KeptWithData),
        Err(error) if error.code() == Some("NoSuchBucket") => Ok(Removal::Gone),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AwsError;

    #[test]
    fn only_a_bucket_the_caller_owns_is_taken_as_made_by_an_earlier_attempt() {
        let refused = |code: &str| Error::Aws(AwsError::coded("CreateBucket", code, "refused"));
        assert!(made_by_an_earlier_attempt(&refused("BucketAlreadyOwnedByYou")));
        assert!(!made_by_an_earlier_attempt(&refused("BucketAlreadyExists")), "another account's bucket");
        assert!(!made_by_an_earlier_attempt(&refused("AccessDenied")));
    }
}
