//! Tags, the one place AWS lets the provider mark what it made: converting between the SDKs'
//! shapes and a sorted map, and working out the smallest change from the tags an object has to
//! the tags it should have.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;

use crate::error::Error;

/// A tag map, sorted by key so comparisons and diffs are stable.
pub type Tags = BTreeMap<String, String>;

/// Tags as a map, from any of the SDKs' shapes (key/value pairs that may be absent).
pub fn tag_map<'a>(pairs: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>)>) -> Tags {
    pairs.into_iter().filter_map(|(key, value)| Some((key?.to_owned(), value.unwrap_or("").to_owned()))).collect()
}

/// What changes turn the tags `have` into `want`: the tags to set, and the keys to remove.
pub fn tag_changes(have: &Tags, want: &Tags) -> (Tags, Vec<String>) {
    let set = want
        .iter()
        .filter(|(key, value)| have.get(*key) != Some(*value))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let remove = have.keys().filter(|key| !want.contains_key(*key)).cloned().collect();
    (set, remove)
}

/// Brings an object's tags from `have` to `want` through its service's own two calls: `tag` with
/// the tags to set, then `untag` with the keys to remove, each skipped when it has nothing to do.
pub(crate) async fn sync_tags<TagCall, UntagCall, Tagged, Untagged>(
    have: &Tags,
    want: &Tags,
    tag: impl FnOnce(Tags) -> TagCall,
    untag: impl FnOnce(Vec<String>) -> UntagCall,
) -> Result<(), Error>
where
    TagCall: Future<Output = Result<Tagged, Error>>,
    UntagCall: Future<Output = Result<Untagged, Error>>,
{
    let (set, remove) = tag_changes(have, want);
    if !set.is_empty() {
        tag(set).await?;
    }
    if !remove.is_empty() {
        untag(remove).await?;
    }
    Ok(())
}

/// The tags as the hash map some SDK calls take.
pub fn hash_map(tags: &Tags) -> HashMap<String, String> {
    tags.iter().map(|(key, value)| (key.clone(), value.clone())).collect()
}

/// EC2's tag list.
pub fn ec2_tags(tags: &Tags) -> Vec<aws_sdk_ec2::types::Tag> {
    tags.iter().map(|(key, value)| aws_sdk_ec2::types::Tag::builder().key(key).value(value).build()).collect()
}

/// Tags applied by an EC2 create call itself, so no object ever exists untagged (and a resumed
/// create can recognise it by its ownership mark).
pub fn ec2_tagging(resource: aws_sdk_ec2::types::ResourceType, tags: &Tags) -> aws_sdk_ec2::types::TagSpecification {
    aws_sdk_ec2::types::TagSpecification::builder().resource_type(resource).set_tags(Some(ec2_tags(tags))).build()
}

/// IAM's tag list (roles, policies, OIDC providers). The SDK refuses a tag without key or value;
/// that is reported as an error naming the tag, never dropped.
pub fn iam_tags(tags: &Tags) -> Result<Vec<aws_sdk_iam::types::Tag>, Error> {
    tags.iter()
        .map(|(key, value)| {
            aws_sdk_iam::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|error| Error::Invalid(format!("tag {key:?}: {error}")))
        })
        .collect()
}

/// Whether `found` carries every tag of `wanted` (which must not be empty): how a create that
/// met its own name taken tells the object its earlier attempt made — with the same tags, among
/// them the ownership mark — from anyone else's.
pub fn carries_all(found: &Tags, wanted: &Tags) -> bool {
    !wanted.is_empty() && wanted.iter().all(|(key, value)| found.get(key) == Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> Tags {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn tag_changes_set_what_differs_and_remove_what_is_gone() {
        let (set, remove) =
            tag_changes(&map(&[("a", "1"), ("b", "2"), ("c", "3")]), &map(&[("a", "1"), ("b", "20"), ("d", "4")]));
        assert_eq!(set, map(&[("b", "20"), ("d", "4")]));
        assert_eq!(remove, ["c"]);
        assert_eq!(tag_changes(&map(&[("a", "1")]), &map(&[("a", "1")])), (Tags::new(), Vec::new()));
    }

    #[tokio::test]
    async fn sync_tags_sets_then_removes_and_skips_empty_calls() {
        let calls = std::cell::RefCell::new(Vec::new());
        let tag = |set: Tags| {
            calls.borrow_mut().push(format!("tag {set:?}"));
            async { Ok::<_, Error>(()) }
        };
        let untag = |keys: Vec<String>| {
            calls.borrow_mut().push(format!("untag {keys:?}"));
            async { Ok::<_, Error>(()) }
        };
        sync_tags(&map(&[("a", "1"), ("c", "3")]), &map(&[("a", "2")]), tag, untag).await.unwrap();
        assert_eq!(*calls.borrow(), [r#"tag {"a": "2"}"#, r#"untag ["c"]"#]);
        calls.borrow_mut().clear();
        sync_tags(&map(&[("a", "1")]), &map(&[("a", "1")]), tag, untag).await.unwrap();
        assert!(calls.borrow().is_empty(), "{:?}", calls.borrow());
    }

    #[test]
    fn pairs_without_a_key_are_dropped_and_missing_values_are_empty() {
        let pairs = [(Some("a"), Some("1")), (None, Some("x")), (Some("b"), None)];
        assert_eq!(tag_map(pairs), map(&[("a", "1"), ("b", "")]));
    }
}
