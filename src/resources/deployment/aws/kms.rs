//! The deployment's customer-managed KMS key (rotation on), found through its alias
//! `alias/retool/<name>`. It encrypts EKS secrets, both databases, the cache and the generated
//! secrets; destroy schedules its deletion after a 7-day waiting period, the shortest AWS allows
//! to cancel a mistake — unless database snapshots or retained automated backups encrypted with it
//! exist: then the key is kept (tagged [`RETAINED_FOR_TAG`]), since deleting it would make them
//! unrestorable.

use crate::aws::During;
use std::collections::BTreeMap;

use aws_sdk_kms::Client;
use aws_sdk_kms::types::{KeyState as AwsKeyState, Tag};

use super::absent_if_missing;
use crate::aws::tags::sync_tags;
use crate::error::Error;
use crate::resources::deployment::observed::KeyState;

/// Tag on a key that destroy kept, naming the snapshots (and retained automated backups, by ARN)
/// it still decrypts.
pub const RETAINED_FOR_TAG: &str = "retool:retained-for";
/// AWS's limit on a tag value.
const MAX_TAG_VALUE: usize = 256;

/// Days between destroy and the key's deletion.
pub const DELETION_WINDOW_DAYS: i32 = 7;

/// KMS's tag list; a tag the SDK refuses to build is an error, never silently dropped.
fn kms_tags(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>, Error> {
    tags.iter()
        .map(|(key, value)| {
            Tag::builder()
                .tag_key(key)
                .tag_value(value)
                .build()
                .map_err(|e| Error::unexpected("TagResource", e.to_string()))
        })
        .collect()
}

/// `TagResource`, shared by the key's tag update and the mark of a key kept for snapshots.
async fn tag(kms: &Client, key_id: &str, set: BTreeMap<String, String>) -> Result<(), Error> {
    kms.tag_resource().key_id(key_id).set_tags(Some(kms_tags(&set)?)).send().await.during("TagResource")?;
    Ok(())
}

/// The key's tags, as a map.
async fn key_tags(kms: &Client, key_id: &str) -> Result<BTreeMap<String, String>, Error> {
    let listed = kms.list_resource_tags().key_id(key_id).send().await.during("ListResourceTags")?;
    Ok(listed.tags().iter().map(|tag| (tag.tag_key().to_owned(), tag.tag_value().to_owned())).collect())
}

/// The key behind `alias`, if the alias exists.
pub async fn observe(kms: &Client, alias: &str) -> Result<Option<KeyState>, Error> {
    let described = absent_if_missing(kms.describe_key().key_id(alias).send().await.during("DescribeKey"))?;
    let Some(metadata) = described.as_ref().and_then(|out| out.key_metadata()) else { return Ok(None) };
    let key_id = metadata.key_id().to_owned();
    let pending_deletion = matches!(metadata.key_state(), Some(AwsKeyState::PendingDeletion));
    let rotation = async {
        if pending_deletion {
            return Ok(false);
        }
        let status = kms.get_key_rotation_status().key_id(&key_id).send().await.during("GetKeyRotationStatus")?;
        Ok(status.key_rotation_enabled())
    };
    let (rotation, tags) = tokio::try_join!(rotation, key_tags(kms, &key_id))?;
    Ok(Some(KeyState {
        arn: metadata.arn().ok_or(Error::missing("DescribeKey", "KeyMetadata.Arn"))?.to_owned(),
        key_id,
        enabled: metadata.enabled(),
        pending_deletion,
        rotation,
        tags,
    }))
}

/// The id of the key `alias` names, if the alias exists.
async fn aliased_key(kms: &Client, alias: &str) -> Result<Option<String>, Error> {
    let described = absent_if_missing(kms.describe_key().key_id(alias).send().await.during("DescribeKey"))?;
    Ok(described.and_then(|out| out.key_metadata().map(|metadata| metadata.key_id().to_owned())))
}

/// The key, created (or brought back from scheduled deletion) and with rotation on.
pub async fn ensure(
    kms: &Client,
    alias: &str,
    description: &str,
    tags: &BTreeMap<String, String>,
) -> Result<KeyState, Error> {
    let key = match observe(kms, alias).await? {
        Some(key) => key,
        None => {
            let tag_list = kms_tags(tags)?;
            let created =
                kms.create_key().description(description).set_tags(Some(tag_list)).send().await.during("CreateKey")?;
            let key_id = created
                .key_metadata()
                .map(|m| m.key_id().to_owned())
                .ok_or(Error::missing("CreateKey", "KeyMetadata.KeyId"))?;
            let alias_result = kms.create_alias().alias_name(alias).target_key_id(&key_id).send().await;
            match alias_result.during("CreateAlias") {
                Ok(_) => {}
                // The SDK repeats a CreateAlias whose answer was lost, and the repeat finds the
                // alias the first one made: when it names this key, the alias is in place.
                Err(error)
                    if error.code() == Some("AlreadyExistsException")
                        && aliased_key(kms, alias).await?.as_deref() == Some(key_id.as_str()) => {}
                Err(error) => {
                    // Without its alias the key could never be found again: take it back out
                    // (best effort: the alias error is the one to report).
                    let _ = schedule_deletion(kms, &key_id).await;
                    return Err(error);
                }
            }
            let arn = created
                .key_metadata()
                .and_then(|m| m.arn())
                .ok_or(Error::missing("CreateKey", "KeyMetadata.Arn"))?
                .to_owned();
            KeyState { arn, key_id, enabled: true, pending_deletion: false, rotation: false, tags: tags.clone() }
        }
    };
    if key.pending_deletion {
        kms.cancel_key_deletion().key_id(&key.key_id).send().await.during("CancelKeyDeletion")?;
    }
    if key.pending_deletion || !key.enabled {
        kms.enable_key().key_id(&key.key_id).send().await.during("EnableKey")?;
    }
    if !key.rotation {
        kms.enable_key_rotation().key_id(&key.key_id).send().await.during("EnableKeyRotation")?;
    }
    let key_id = &key.key_id;
    sync_tags(
        &key.tags,
        tags,
        |set| tag(kms, key_id, set),
        |keys| async move {
            kms.untag_resource().key_id(key_id).set_tag_keys(Some(keys)).send().await.during("UntagResource")
        },
    )
    .await?;
    Ok(KeyState { enabled: true, pending_deletion: false, rotation: true, tags: tags.clone(), ..key })
}

/// Removes the alias and schedules the key's deletion. Uses the bare key id (some endpoints
/// refuse the ARN here).
pub async fn remove(kms: &Client, alias: &str) -> Result<(), Error> {
    let Some(key) = observe(kms, alias).await? else { return Ok(()) };
    super::ok_if_missing(kms.delete_alias().alias_name(alias).send().await.during("DeleteAlias"))?;
    if key.pending_deletion {
        return Ok(());
    }
    schedule_deletion(kms, &key.key_id).await
}

/// Schedules the key's deletion after [`DELETION_WINDOW_DAYS`].
async fn schedule_deletion(kms: &Client, key_id: &str) -> Result<(), Error> {
    let request = kms.schedule_key_deletion().key_id(key_id).pending_window_in_days(DELETION_WINDOW_DAYS);
    request.send().await.during("ScheduleKeyDeletion")?;
    Ok(())
}

/// The snapshots named in a tag value of at most AWS's limit, whole names only, space-separated.
pub fn retained_for_value(snapshots: &[String]) -> String {
    let mut value = String::new();
    for snapshot in snapshots {
        let separator = usize::from(!value.is_empty());
        if value.len() + separator + snapshot.len() > MAX_TAG_VALUE {
            break;
        }
        if separator == 1 {
            value.push(' ');
        }
        value.push_str(snapshot);
    }
    value
}

/// Keeps the key for `snapshots` instead of deleting it: tags it [`RETAINED_FOR_TAG`], makes
/// sure it is usable, and removes the alias (the deployment itself is gone). Returns the key's
/// ARN, or `None` when there is no key.
pub async fn retain(kms: &Client, alias: &str, snapshots: &[String]) -> Result<Option<String>, Error> {
    let Some(key) = observe(kms, alias).await? else { return Ok(None) };
    tag(kms, &key.key_id, BTreeMap::from([(RETAINED_FOR_TAG.to_owned(), retained_for_value(snapshots))])).await?;
    if key.pending_deletion {
        kms.cancel_key_deletion().key_id(&key.key_id).send().await.during("CancelKeyDeletion")?;
        kms.enable_key().key_id(&key.key_id).send().await.during("EnableKey")?;
    }
    super::ok_if_missing(kms.delete_alias().alias_name(alias).send().await.during("DeleteAlias"))?;
    Ok(Some(key.arn))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retained_for_tag_lists_whole_snapshot_names_within_the_limit() {
        let names = vec!["acme-postgres-final-17".to_owned(), "acme-retooldb-final-17".to_owned()];
        assert_eq!(retained_for_value(&names), "acme-postgres-final-17 acme-retooldb-final-17");
        let many: Vec<String> = (0..20).map(|i| format!("acme-postgres-final-{i:020}")).collect();
        let value = retained_for_value(&many);
        assert!(
            value.len() <= MAX_TAG_VALUE && value.split(' ').all(|name| many.contains(&name.to_owned())),
            "{value}"
        );
    }
}
