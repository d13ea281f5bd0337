//! The AWS work of `retool_deployment`: [`observe`], [`converge`] and [`destroy`] run the
//! deployment's [`chains`]; below them, one file per service offers `observe` (read what exists,
//! by name), `ensure` (create what is missing, change what differs) and `remove` — so one code
//! path creates, repairs drift and resumes an apply that failed half-way.

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
pub mod secrets;

pub use converge::converge;
pub use destroy::destroy;
pub use observe::observe;

use std::future::Future;
use std::time::Duration;

use crate::aws::Tags;
pub use crate::aws::tags::{hash_map, tag_changes, tag_map};
use crate::aws::wait::{Backoff, Poll, wait_for};
pub use crate::aws::{absent_if_missing, ok_if_missing};
use crate::error::Error;
use crate::resources::ownership::OWNER_TAG;
use crate::stop::StopSignal;

/// The ownership mark of `want` when `have` lacks it: what an object whose other tags are kept as
/// created (node group, subnet and parameter groups, cache) still needs, so an adopted object ends
/// up marked.
pub fn missing_mark(have: &Tags, want: &Tags) -> Tags {
    want.get_key_value(OWNER_TAG)
        .filter(|(key, value)| have.get(*key) != Some(*value))
        .map(|(key, value)| Tags::from([(key.clone(), value.clone())]))
        .unwrap_or_default()
}

/// Polls `check` until ready (first after 5 s, growing to 30 s), honouring `timeout` and
/// Terraform's stop request.
pub async fn wait<T, F, Fut>(
    operation: &'static str,
    timeout: Duration,
    stop: &StopSignal,
    check: F,
) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, Error>>,
{
    wait_for(operation, Backoff::slow(timeout), stop, check).await
}

#[cfg(test)]
mod wait_tests {
    use super::*;
    use crate::stop::StopSource;

    #[tokio::test]
    async fn waits_end_at_the_timeout_and_on_stop() {
        let never = StopSignal::never();
        let timed_out: Result<(), _> =
            wait("WaitX", Duration::from_millis(1), &never, || async { Ok(Poll::Pending("still creating".into())) })
                .await;
        assert!(timed_out.expect_err("must time out").to_string().contains("still creating"));

        let source = StopSource::new();
        let signal = source.signal();
        source.stop();
        let stopped: Result<(), _> =
            wait("WaitX", Duration::from_secs(3600), &signal, || async { Ok(Poll::Pending("creating".into())) }).await;
        assert!(stopped.expect_err("must stop").is_stopped());

        let ready = wait("WaitX", Duration::from_secs(1), &never, || async { Ok(Poll::Ready(7)) }).await;
        assert_eq!(ready, Ok(7));
    }
}
