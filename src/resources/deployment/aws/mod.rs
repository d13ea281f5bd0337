//! The AWS work of `retool_deployment`: [`observe`], [`converge`] and [`destroy`] run the
//! deployment's [`chains`]; below them, one file per service offers `observe` (read what exists,
//! by name), `ensure` (create what is missing, change what differs) and `remove` — so one code
//! path creates, repairs drift and resumes an apply that failed half-way.

pub mod access;
pub mod addons;
pub mod cache;
pub mod chains;
pub mod converge;
pub mod destroy;
pub mod eks;
pub mod iam;
pub mod kms;
pub mod network;
pub mod observe;
pub mod rds;
pub mod s3;
pub mod secrets;

pub use converge::converge;
pub use destroy::destroy;
pub use observe::observe;

use std::future::Future;
use std::time::Duration;

use crate::aws::Tags;
use crate::aws::tags::tag_changes;
pub use crate::aws::tags::{hash_map, tag_map};
use crate::aws::wait::{Backoff, Poll, wait_for};
pub use crate::aws::{absent_if_missing, ok_if_missing};
use crate::error::Error;
use crate::stop::StopSignal;

/// Sets, through the service's `tag` call, the tags of `want` that `have` lacks or holds with
/// another value — the ownership mark among them — and leaves any other tag alone: what objects
/// whose extra tags may be someone else's (node group, subnet and parameter groups, cache) need,
/// so an adopted object ends up marked and a changed `default_tags` reaches them.
pub async fn add_missing_tags<Call, Tagged>(
    have: &Tags,
    want: &Tags,
    tag: impl FnOnce(Tags) -> Call,
) -> Result<(), Error>
where
    Call: Future<Output = Result<Tagged, Error>>,
{
    // The tags `sync_tags` would set; the keys it would remove are left alone here.
    let (missing, _) = tag_changes(have, want);
    if missing.is_empty() {
        return Ok(());
    }
    tag(missing).await.map(|_| ())
}

/// What an apply leaves for its operator to know about beyond the state — a snapshot it took and
/// that nobody deletes automatically — collected from chains running concurrently, and shown as
/// warnings of the apply whether it succeeds or not.
#[derive(Debug, Default)]
pub struct Notes(std::sync::Mutex<Vec<String>>);

impl Notes {
    pub fn add(&self, note: String) {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(note);
    }

    /// The notes so far, in the order they were added; none are left.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }
}

/// How long an operation may wait for AWS, and Terraform's stop request: every slow step of a
/// deployment honours both, so they travel together.
#[derive(Debug, Clone, Copy)]
pub struct Patience<'a> {
    /// The operation's timeout.
    pub timeout: Duration,
    /// Terraform's request to stop.
    pub stop: &'a StopSignal,
}

/// Polls `check` until ready (first after 5 s, growing to 30 s), within the timeout and
/// honouring Terraform's stop request.
pub async fn wait<T, F, Fut>(operation: &'static str, patience: Patience<'_>, check: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, Error>>,
{
    wait_for(operation, Backoff::slow(patience.timeout), patience.stop, check).await
}

/// How one look at an object being waited for went.
pub enum Look<T> {
    /// What the wait was for: it is over.
    Ready(T),
    /// A state the object does not come back from; the text says which.
    Failed(String),
    /// Not there yet; the text says what was seen.
    Pending(String),
}

/// Polls `look` (how the object `what` is; `None` once it is gone) until the object is ready; a
/// failed state, or the object disappearing while waited for, ends the wait as an error of
/// `operation`.
pub async fn wait_until<T, F, Fut>(
    operation: &'static str,
    what: &str,
    patience: Patience<'_>,
    look: F,
) -> Result<T, Error>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Option<Look<T>>, Error>>,
{
    wait(operation, patience, || async {
        match look().await? {
            Some(Look::Ready(value)) => Ok(Poll::Ready(value)),
            Some(Look::Failed(why)) => Err(Error::unexpected(operation, why)),
            Some(Look::Pending(seen)) => Ok(Poll::Pending(seen)),
            None => Err(Error::unexpected(operation, format!("{what} disappeared"))),
        }
    })
    .await
}

/// Polls `look` (what the object still is; `None` once it is gone) until the object is gone.
pub async fn wait_gone<F, Fut>(operation: &'static str, patience: Patience<'_>, look: F) -> Result<(), Error>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Option<String>, Error>>,
{
    wait(operation, patience, || async { Ok(look().await?.map_or(Poll::Ready(()), Poll::Pending)) }).await
}

#[cfg(test)]
mod wait_tests {
    use super::*;
    use crate::stop::StopSource;

    #[tokio::test]
    async fn waits_end_at_the_timeout_and_on_stop() {
        let never = StopSignal::never();
        let timed_out: Result<(), _> =
            wait("WaitX", Patience { timeout: Duration::from_millis(1), stop: &never }, || async {
                Ok(Poll::Pending("still creating".into()))
            })
            .await;
        assert!(timed_out.expect_err("must time out").to_string().contains("still creating"));

        let source = StopSource::new();
        let signal = source.signal();
        source.stop();
        let stopped: Result<(), _> =
            wait("WaitX", Patience { timeout: Duration::from_secs(3600), stop: &signal }, || async {
                Ok(Poll::Pending("creating".into()))
            })
            .await;
        assert!(stopped.expect_err("must stop").is_stopped());

        let ready =
            wait("WaitX", Patience { timeout: Duration::from_secs(1), stop: &never }, || async { Ok(Poll::Ready(7)) })
                .await;
        assert_eq!(ready, Ok(7));
    }

    #[tokio::test]
    async fn a_failed_or_vanished_object_ends_the_wait_and_a_gone_one_ends_wait_gone() {
        let never = StopSignal::never();
        let patience = Patience { timeout: Duration::from_secs(1), stop: &never };
        let failed: Result<(), _> = wait_until("WaitX", "cluster c", patience, || async {
            Ok(Some(Look::Failed("cluster c is FAILED".into())))
        })
        .await;
        assert_eq!(failed, Err(Error::unexpected("WaitX", "cluster c is FAILED")));
        let vanished: Result<(), _> = wait_until("WaitX", "cluster c", patience, || async { Ok(None) }).await;
        assert_eq!(vanished, Err(Error::unexpected("WaitX", "cluster c disappeared")));
        assert_eq!(wait_gone("WaitX", patience, || async { Ok(None) }).await, Ok(()));
    }
}
