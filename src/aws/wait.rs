//! The one way the provider waits: polling for slow AWS state changes (a NAT gateway becoming
//! available, a cluster ACTIVE) and repeating calls refused during AWS's consistency delays, both
//! with exponential backoff, a deadline, and an early exit when Terraform asks the provider to stop.
//!
//! The SDK retries individual calls on throttling and 5xx; this is for the different problem of an
//! operation that succeeds at once but takes minutes to take effect, or of an object another API
//! does not see yet.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::Error;
use crate::stop::StopSignal;

/// How to poll: first delay, growth, ceiling and overall deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The pause after the first poll.
    pub initial: Duration,
    /// The longest pause between polls.
    pub max: Duration,
    /// When to give up.
    pub timeout: Duration,
}

impl Backoff {
    /// NAT gateways usually take one to three minutes; AWS documents up to ten.
    pub const NAT_GATEWAY: Self =
        Self { initial: Duration::from_secs(2), max: Duration::from_secs(15), timeout: Duration::from_secs(15 * 60) };

    /// Clusters, node groups, databases and caches: first after 5 s, growing to 30 s, within
    /// `timeout`.
    pub fn slow(timeout: Duration) -> Self {
        Self { initial: Duration::from_secs(5), max: Duration::from_secs(30), timeout }
    }

    fn next(self, delay: Duration) -> Duration {
        (delay.saturating_mul(3) / 2).min(self.max)
    }
}

/// Now plus `timeout`; a timeout too long to represent falls back to a day, which no AWS wait
/// needs, instead of overflowing.
fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout).or_else(|| now.checked_add(Duration::from_secs(24 * 60 * 60))).unwrap_or(now)
}

/// Sleeps for `pause`, or returns `false` at once when Terraform asks the provider to stop.
async fn pause_unless_stopped(pause: Duration, stop: &StopSignal) -> bool {
    let mut stop = stop.clone();
    tokio::select! {
        () = tokio::time::sleep(pause) => true,
        () = stop.stopped() => false,
    }
}

/// What one poll found.
pub enum Poll<T> {
    /// The wait is over.
    Ready(T),
    /// Not there yet; the string says what was seen, for the timeout message.
    Pending(String),
}

/// Polls `check` (immediately, then with growing delays) until it is ready, fails, the deadline
/// passes, or Terraform asks the provider to stop.
pub async fn wait_for<T, F, Fut>(
    operation: &'static str,
    backoff: Backoff,
    stop: &StopSignal,
    mut check: F,
) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, Error>>,
{
    let deadline = deadline_after(backoff.timeout);
    let mut delay = backoff.initial;
    loop {
        let seen = match check().await? {
            Poll::Ready(value) => return Ok(value),
            Poll::Pending(seen) => seen,
        };
        let now = Instant::now();
        if now >= deadline {
            return Err(Error::TimedOut { operation, after: backoff.timeout, last_seen: seen });
        }
        let pause = delay.min(deadline - now);
        tracing::debug!(operation, seen = %seen, delay_ms = pause.as_millis() as u64, "waiting");
        if !pause_unless_stopped(pause, stop).await {
            return Err(Error::Stopped { operation, last_seen: seen });
        }
        delay = backoff.next(delay);
    }
}

/// Which errors are worth repeating a call for, and for how long. These are AWS consistency
/// delays, not failures: the SDK's own retries (throttling, 5xx) do not cover them.
#[derive(Debug, Clone, Copy)]
pub struct RetryWhile {
    /// Whether an error is one of the delays this policy waits out.
    pub condition: fn(&Error) -> bool,
    /// How long to keep trying.
    pub timeout: Duration,
}

impl RetryWhile {
    /// An id just returned by a create call that another API does not see yet.
    pub const JUST_CREATED: Self = Self { condition: Error::is_not_found, timeout: Duration::from_secs(30) };
    /// A delete refused while AWS still releases what depended on the object (network
    /// interfaces of a deleted NAT gateway, mapped public addresses).
    pub const DEPENDENCIES_RELEASING: Self =
        Self { condition: Error::is_dependency_violation, timeout: Duration::from_secs(300) };
    /// An Elastic IP refused while the NAT gateway that held it is still being deleted.
    pub const ADDRESS_RELEASING: Self = Self { condition: Error::is_address_in_use, timeout: Duration::from_secs(300) };
}

/// Repeats `call` with backoff while it fails with an error `policy` names, up to its timeout or
/// until Terraform asks the provider to stop (then the last error is returned as a stop).
pub async fn retry_while<T, F, Fut>(policy: RetryWhile, stop: &StopSignal, mut call: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let deadline = deadline_after(policy.timeout);
    let mut delay = Duration::from_millis(250);
    loop {
        match call().await {
            Err(error) if (policy.condition)(&error) && Instant::now() + delay < deadline => {
                tracing::debug!(
                    operation = error.operation(),
                    code = error.code(),
                    delay_ms = delay.as_millis() as u64,
                    "retrying"
                );
                if !pause_unless_stopped(delay, stop).await {
                    return Err(Error::Stopped { operation: error.operation(), last_seen: error.to_string() });
                }
                delay = (delay * 2).min(Duration::from_secs(8));
            }
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AwsError;
    use crate::stop::StopSource;
    use std::cell::Cell;

    const FAST: Backoff = Backoff {
        initial: Duration::from_millis(10),
        max: Duration::from_millis(40),
        timeout: Duration::from_millis(300),
    };

    fn coded(code: &str) -> Error {
        Error::Aws(AwsError::coded("ModifySubnetAttribute", code, ""))
    }

    fn stopped_signal() -> StopSignal {
        let source = StopSource::new();
        let signal = source.signal();
        source.stop();
        signal
    }

    #[tokio::test]
    async fn returns_as_soon_as_ready_with_growing_delays() {
        let polls = Cell::new(0);
        let started = Instant::now();
        let result = wait_for("Wait", FAST, &StopSignal::never(), || {
            polls.set(polls.get() + 1);
            let ready = polls.get() == 4;
            async move { Ok(if ready { Poll::Ready("done") } else { Poll::Pending("pending".into()) }) }
        })
        .await;
        assert_eq!(result, Ok("done"));
        assert_eq!(polls.get(), 4);
        // 10 + 15 + 22 ms of backoff before the fourth poll.
        assert!(started.elapsed() >= Duration::from_millis(47), "{:?}", started.elapsed());
    }

    #[tokio::test]
    async fn times_out_with_what_it_last_saw() {
        let result: Result<(), _> =
            wait_for("WaitNat", FAST, &StopSignal::never(), || async { Ok(Poll::Pending("state pending".into())) })
                .await;
        let Err(Error::TimedOut { operation, last_seen, .. }) = result else { panic!("{result:?}") };
        assert_eq!(operation, "WaitNat");
        assert_eq!(last_seen, "state pending");
    }

    #[tokio::test]
    async fn an_unrepresentable_timeout_does_not_panic() {
        let endless = Backoff { timeout: Duration::MAX, ..FAST };
        let never = StopSignal::never();
        let result = wait_for("Wait", endless, &never, || async { Ok(Poll::Ready(1)) }).await;
        assert_eq!(result, Ok(1));
        let policy = RetryWhile { condition: Error::is_not_found, timeout: Duration::MAX };
        assert_eq!(retry_while(policy, &never, || async { Ok::<_, Error>(2) }).await, Ok(2));
    }

    #[tokio::test]
    async fn errors_and_stop_end_the_wait() {
        let never = StopSignal::never();
        let failed: Result<(), _> =
            wait_for("Wait", FAST, &never, || async { Err(Error::unexpected("Describe", "boom")) }).await;
        assert_eq!(failed, Err(Error::unexpected("Describe", "boom")));
        let stopped: Result<(), _> =
            wait_for("Wait", FAST, &stopped_signal(), || async { Ok(Poll::Pending("x".into())) }).await;
        assert!(stopped.is_err_and(|error| error.is_stopped()));
    }

    /// A stop raised in the middle of a long wait or retry ends it within moments, not at the
    /// operation's timeout (a destroy waiting on a cache subnet group "in use" used to ignore
    /// Ctrl-C for up to 40 minutes).
    #[tokio::test]
    async fn a_stop_during_a_wait_or_retry_returns_within_five_seconds() {
        let hour = Duration::from_secs(3600);
        for retrying in [false, true] {
            let source = StopSource::new();
            let signal = source.signal();
            let started = Instant::now();
            let stopper = async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                source.stop();
            };
            let slow = Backoff { initial: Duration::from_secs(60), max: hour, timeout: hour };
            let work = async {
                if retrying {
                    let policy = RetryWhile { condition: Error::is_dependency_violation, timeout: hour };
                    retry_while(policy, &signal, || async { Err::<(), _>(coded("DependencyViolation")) }).await
                } else {
                    wait_for("WaitCacheDeleted", slow, &signal, || async { Ok(Poll::<()>::Pending("deleting".into())) })
                        .await
                }
            };
            let (result, ()) = tokio::join!(work, stopper);
            assert!(result.is_err_and(|error| error.is_stopped()), "retrying={retrying}");
            assert!(started.elapsed() < Duration::from_secs(5), "retrying={retrying}: {:?}", started.elapsed());
        }
    }

    #[tokio::test]
    async fn repeats_only_the_named_errors() {
        let never = StopSignal::never();
        let calls = Cell::new(0);
        let result = retry_while(RetryWhile::JUST_CREATED, &never, || {
            calls.set(calls.get() + 1);
            let attempt = calls.get();
            async move { if attempt < 3 { Err(coded("InvalidSubnetID.NotFound")) } else { Ok(attempt) } }
        })
        .await;
        assert_eq!(result, Ok(3));

        calls.set(0);
        let result: Result<(), _> = retry_while(RetryWhile::JUST_CREATED, &never, || {
            calls.set(calls.get() + 1);
            async { Err(coded("UnauthorizedOperation")) }
        })
        .await;
        assert_eq!(result.unwrap_err().code(), Some("UnauthorizedOperation"));
        assert_eq!(calls.get(), 1);
    }

    #[tokio::test]
    async fn gives_up_at_the_deadline() {
        let policy = RetryWhile { condition: Error::is_not_found, timeout: Duration::from_millis(600) };
        let calls = Cell::new(0);
        let result: Result<(), _> = retry_while(policy, &StopSignal::never(), || {
            calls.set(calls.get() + 1);
            async { Err(coded("InvalidSubnetID.NotFound")) }
        })
        .await;
        assert!(result.is_err());
        assert!((2..=4).contains(&calls.get()), "{} calls", calls.get());
    }
}
