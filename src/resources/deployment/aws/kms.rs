//! The deployment's customer-managed KMS key (rotation on), found through its alias
//! `alias/retool/<name>`. It encrypts EKS secrets, both databases, the cache and the generated
//! secrets; destroy schedules its deletion after a 7-day waiting period, the shortest AWS allows
//! to cancel a mistake — unless database snapshots or retained automated backups encrypted with it
//! exist: then the key is kept (tagged [`RETAINED_FOR_TAG`]), since deleting it would make them
//! unrestorable.
//!
//! A key is only ever found through its alias, so a key whose alias was never made — Terraform or
//! the provider killed between `CreateKey` and `CreateAlias`, or a `CreateKey` answer lost and the
//! request sent again — would be invisible, never used and never deleted. Before making a key, and
//! after, [`ensure`] therefore looks among the keys without an alias for ones carrying this
//! deployment's name and an ownership mark (a "stray"): the oldest is taken up instead of making a
//! new one, and the others are scheduled for deletion. A stray encrypts nothing (nothing uses a key
//! before its alias exists), and a key kept for snapshots ([`RETAINED_FOR_TAG`]) is never one.

use crate::aws::During;
use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_kms::Client;
use aws_sdk_kms::types::{KeyState as AwsKeyState, Tag};

use super::absent_if_missing;
use crate::aws::tags::sync_tags;
use crate::error::Error;
use crate::resources::deployment::names::DEPLOYMENT_TAG;
use crate::resources::deployment::observed::KeyState;
use crate::resources::ownership::OWNER_TAG;

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

/// A key without an alias that carries the deployment's name and an ownership mark.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stray {
    key_id: String,
    arn: String,
    /// The ownership token it carries.
    owner: String,
    /// When it was made, nanoseconds since the epoch: the oldest is the one taken up.
    created: i128,
    /// Its tags.
    tags: BTreeMap<String, String>,
}

/// The live keys without an alias that are marked as `deployment`'s (any owner token), oldest
/// first. Keys scheduled for deletion, disabled or kept for snapshots are left alone.
async fn strays(kms: &Client, deployment: &str) -> Result<Vec<Stray>, Error> {
    let aliases = kms.list_aliases().into_paginator().items().send().collect::<Result<Vec<_>, _>>().await;
    let aliases = aliases.during("ListAliases")?;
    let aliased: BTreeSet<&str> = aliases.iter().filter_map(|alias| alias.target_key_id()).collect();
    let keys =
        kms.list_keys().into_paginator().items().send().collect::<Result<Vec<_>, _>>().await.during("ListKeys")?;
    let unaliased = keys.iter().filter_map(|key| key.key_id()).filter(|key_id| !aliased.contains(key_id));
    let candidates = futures::future::try_join_all(unaliased.map(|key_id| stray(kms, key_id, deployment))).await?;
    let mut found: Vec<Stray> = candidates.into_iter().flatten().collect();
    found.sort_by(|a, b| (a.created, &a.key_id).cmp(&(b.created, &b.key_id)));
    Ok(found)
}

/// `key_id` as a [`Stray`] of `deployment`, if it is one.
async fn stray(kms: &Client, key_id: &str, deployment: &str) -> Result<Option<Stray>, Error> {
    let tags = match key_tags(kms, key_id).await {
        Ok(tags) => tags,
        // Gone since the listing.
        Err(error) if error.is_not_found() => return Ok(None),
        Err(error) => return Err(error),
    };
    let ours = tags.get(DEPLOYMENT_TAG).is_some_and(|name| name == deployment) && !tags.contains_key(RETAINED_FOR_TAG);
    let Some(owner) = tags.get(OWNER_TAG).filter(|_| ours).cloned() else { return Ok(None) };
    let described = absent_if_missing(kms.describe_key().key_id(key_id).send().await.during("DescribeKey"))?;
    let Some(metadata) = described.as_ref().and_then(|out| out.key_metadata()) else { return Ok(None) };
    if metadata.key_state() != Some(&AwsKeyState::Enabled) {
        return Ok(None);
    }
    let created = metadata.creation_date().map_or(0, |date| date.as_nanos());
    let arn = metadata.arn().ok_or(Error::missing("DescribeKey", "KeyMetadata.Arn"))?.to_owned();
    Ok(Some(Stray { key_id: key_id.to_owned(), arn, owner, created, tags }))
}

/// Which strays to take up and which to delete: the oldest is kept when `made` is `None` (before
/// a create); after a create, `made` is kept and every stray with the same owner token — the
/// duplicate of a `CreateKey` sent twice — goes.
fn sort_strays(strays: Vec<Stray>, made: Option<(&str, &str)>) -> (Option<Stray>, Vec<Stray>) {
    match made {
        None => {
            let mut strays = strays.into_iter();
            (strays.next(), strays.collect())
        }
        Some((key_id, owner)) => {
            (None, strays.into_iter().filter(|stray| stray.key_id != key_id && stray.owner == owner).collect())
        }
    }
}

/// Schedules the deletion of strays (they encrypt nothing), logging each.
async fn delete_strays(kms: &Client, strays: &[Stray]) -> Result<(), Error> {
    for stray in strays {
        tracing::info!(key_id = %stray.key_id, "scheduling the deletion of a KMS key this deployment made but never aliased");
        schedule_deletion(kms, &stray.key_id).await?;
    }
    Ok(())
}

/// A new key, or a stray of this deployment's taken up instead: its id, ARN and tags.
async fn new_key(
    kms: &Client,
    description: &str,
    tags: &BTreeMap<String, String>,
) -> Result<(String, String, BTreeMap<String, String>), Error> {
    let deployment = tags.get(DEPLOYMENT_TAG).map(String::as_str).unwrap_or_default();
    let (adopted, extra) = sort_strays(strays(kms, deployment).await?, None);
    delete_strays(kms, &extra).await?;
    if let Some(stray) = adopted {
        tracing::info!(key_id = %stray.key_id, "taking up a KMS key this deployment made earlier but never aliased");
        return Ok((stray.key_id, stray.arn, stray.tags));
    }
    let tag_list = kms_tags(tags)?;
    let created =
        kms.create_key().description(description).set_tags(Some(tag_list)).send().await.during("CreateKey")?;
    let metadata = created.key_metadata().ok_or(Error::missing("CreateKey", "KeyMetadata"))?;
    let key_id = metadata.key_id().to_owned();
    let arn = metadata.arn().ok_or(Error::missing("CreateKey", "KeyMetadata.Arn"))?.to_owned();
    let owner = tags.get(OWNER_TAG).map(String::as_str).unwrap_or_default();
    let (_, duplicates) = sort_strays(strays(kms, deployment).await?, Some((&key_id, owner)));
    delete_strays(kms, &duplicates).await?;
    Ok((key_id, arn, tags.clone()))
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
            let (key_id, arn, tags_now) = new_key(kms, description, tags).await?;
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
            // A stray taken up carries another owner token: the tag sync below sets this one's.
            KeyState { arn, key_id, enabled: true, pending_deletion: false, rotation: false, tags: tags_now }
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

    fn stray(key_id: &str, owner: &str, created: i128) -> Stray {
        Stray {
            key_id: key_id.to_owned(),
            arn: format!("arn:aws:kms:us-east-1:123456789012:key/{key_id}"),
            owner: owner.to_owned(),
            created,
            tags: BTreeMap::new(),
        }
    }

    #[test]
    fn before_a_create_the_oldest_stray_is_taken_up_and_the_rest_deleted() {
        let (kept, deleted) = sort_strays(vec![stray("a", "t1", 1), stray("b", "t2", 2)], None);
        assert_eq!(kept, Some(stray("a", "t1", 1)));
        assert_eq!(deleted, [stray("b", "t2", 2)]);
        assert_eq!(sort_strays(Vec::new(), None), (None, Vec::new()));
    }

    #[test]
    fn after_a_create_only_duplicates_with_the_same_owner_token_are_deleted() {
        let found = vec![stray("made", "t1", 5), stray("twin", "t1", 5), stray("other", "t2", 1)];
        let (kept, deleted) = sort_strays(found, Some(("made", "t1")));
        assert_eq!(kept, None);
        assert_eq!(deleted, [stray("twin", "t1", 5)]);
    }

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
