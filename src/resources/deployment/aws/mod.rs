//! The AWS work of `retool_deployment`, one file per service. Each offers `observe` (read what
//! exists, by name), `ensure` (create what is missing, change what differs) and `remove` — so one
//! code path creates, repairs drift and resumes an apply that failed half-way.

pub mod cache;
pub mod eks;
pub mod iam;
pub mod kms;
pub mod rds;
pub mod secrets;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::time::Duration;

use crate::framework::StopSignal;
use crate::provider::AwsError;
use crate::provider::waiter::{Backoff, Poll, wait_for};

/// Whether AWS said the object does not exist (every service spells it differently).
pub fn is_missing(error: &AwsError) -> bool {
    error.code.as_deref().is_some_and(|code| code.contains("NotFound") || code == "NoSuchEntity")
}

/// `Ok(None)` for "does not exist"; other errors pass through.
pub fn absent_if_missing<T>(result: Result<T, AwsError>) -> Result<Option<T>, AwsError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(error) if is_missing(&error) => Ok(None),
        Err(error) => Err(error),
    }
}

/// Success when the object was already gone.
pub fn ok_if_missing(result: Result<(), AwsError>) -> Result<(), AwsError> {
    absent_if_missing(result).map(|_| ())
}

/// How a slow operation is polled: first after 5 s, growing to 30 s, within `timeout`.
pub fn backoff(timeout: Duration) -> Backoff {
    Backoff { initial: Duration::from_secs(5), max: Duration::from_secs(30), timeout }
}

/// Polls `check` until ready, honouring `timeout` and Terraform's stop request.
pub async fn wait<T, F, Fut>(
    operation: &'static str,
    timeout: Duration,
    stop: &StopSignal,
    check: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, AwsError>>,
{
    let mut stop = stop.clone();
    wait_for(operation, backoff(timeout), async move { stop.stopped().await }, check).await
}

/// Tags as a map, from any of the SDKs' shapes.
pub fn tag_map<'a>(pairs: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>)>) -> BTreeMap<String, String> {
    pairs.into_iter().filter_map(|(key, value)| Some((key?.to_owned(), value.unwrap_or_default().to_owned()))).collect()
}

/// What changes turn the tags `have` into `want`: the tags to set, and the keys to remove.
pub fn tag_changes(
    have: &BTreeMap<String, String>,
    want: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let set = want
        .iter()
        .filter(|(key, value)| have.get(*key) != Some(*value))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let remove = have.keys().filter(|key| !want.contains_key(*key)).cloned().collect();
    (set, remove)
}

pub fn hash_map(tags: &BTreeMap<String, String>) -> HashMap<String, String> {
    tags.iter().map(|(key, value)| (key.clone(), value.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_changes_set_what_differs_and_remove_what_is_gone() {
        let map = |pairs: &[(&str, &str)]| {
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<BTreeMap<_, _>>()
        };
        let (set, remove) =
            tag_changes(&map(&[("a", "1"), ("b", "2"), ("c", "3")]), &map(&[("a", "1"), ("b", "20"), ("d", "4")]));
        assert_eq!(set, map(&[("b", "20"), ("d", "4")]));
        assert_eq!(remove, ["c"]);
        assert_eq!(tag_changes(&map(&[("a", "1")]), &map(&[("a", "1")])), (BTreeMap::new(), Vec::new()));
    }

    #[test]
    fn every_services_not_found_spelling_counts_as_missing() {
        for code in [
            "NoSuchEntity",
            "ResourceNotFoundException",
            "DBInstanceNotFound",
            "NotFoundException",
            "ReplicationGroupNotFoundFault",
        ] {
            assert!(
                is_missing(&AwsError { operation: "X", code: Some(code.into()), message: String::new() }),
                "{code}"
            );
        }
        assert!(!is_missing(&AwsError::local("X", "timeout")));
        assert!(!is_missing(&AwsError {
            operation: "X",
            code: Some("EntityAlreadyExists".into()),
            message: String::new()
        }));
    }
}

#[cfg(test)]
mod wait_tests {
    use super::*;
    use crate::framework::stop::StopSource;

    #[tokio::test]
    async fn waits_end_at_the_timeout_and_on_stop() {
        let never = StopSignal::never();
        let timed_out: Result<(), _> =
            wait("WaitX", Duration::from_millis(1), &never, || async { Ok(Poll::Pending("still creating".into())) })
                .await;
        let error = timed_out.expect_err("must time out");
        assert!(error.message.contains("still creating"), "{error}");

        let source = StopSource::new();
        let signal = source.signal();
        source.stop();
        let stopped: Result<(), _> =
            wait("WaitX", Duration::from_secs(3600), &signal, || async { Ok(Poll::Pending("creating".into())) }).await;
        assert!(stopped.expect_err("must stop").message.contains("stopped by Terraform"));

        let ready = wait("WaitX", Duration::from_secs(1), &never, || async { Ok(Poll::Ready(7)) }).await;
        assert_eq!(ready, Ok(7));
    }
}
