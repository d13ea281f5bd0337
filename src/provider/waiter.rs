//! Polling for slow AWS state changes (a NAT gateway becoming available or deleted) with
//! exponential backoff, a deadline, and an early exit when Terraform asks the provider to stop.
//!
//! The SDK retries individual calls; this is for the different problem of an operation that
//! succeeds at once but takes minutes to take effect.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::aws_error::AwsError;

/// How to poll: first delay, growth, ceiling and overall deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    pub timeout: Duration,
}

impl Backoff {
    /// NAT gateways usually take one to three minutes; AWS documents up to ten.
    pub const NAT_GATEWAY: Self =
        Self { initial: Duration::from_secs(2), max: Duration::from_secs(15), timeout: Duration::from_secs(15 * 60) };

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

/// What one poll found.
pub enum Poll<T> {
    Ready(T),
    /// Not there yet; the string says what was seen, for the timeout message.
    Pending(String),
}

/// Polls `check` (immediately, then with growing delays) until it is ready, fails, the deadline
/// passes, or `stopped` resolves.
pub async fn wait_for<T, F, Fut>(
    operation: &'static str,
    backoff: Backoff,
    stopped: impl Future<Output = ()>,
    mut check: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, AwsError>>,
{
    let deadline = deadline_after(backoff.timeout);
    let mut delay = backoff.initial;
    tokio::pin!(stopped);
    loop {
        let seen = match check().await? {
            Poll::Ready(value) => return Ok(value),
            Poll::Pending(seen) => seen,
        };
        let now = Instant::now();
        if now >= deadline {
            return Err(AwsError::local(
                operation,
                format!("gave up after {}s; last seen: {seen}", backoff.timeout.as_secs()),
            ));
        }
        let pause = delay.min(deadline - now);
        tracing::debug!(operation, seen = %seen, delay_ms = pause.as_millis() as u64, "waiting");
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = &mut stopped => return Err(AwsError::local(operation, format!("stopped by Terraform while waiting; last seen: {seen}"))),
        }
        delay = backoff.next(delay);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    const FAST: Backoff = Backoff {
        initial: Duration::from_millis(10),
        max: Duration::from_millis(40),
        timeout: Duration::from_millis(300),
    };

    #[tokio::test]
    async fn returns_as_soon_as_ready_with_growing_delays() {
        let polls = Cell::new(0);
        let started = Instant::now();
        let result = wait_for("Wait", FAST, std::future::pending(), || {
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
            wait_for("WaitNat", FAST, std::future::pending(), || async { Ok(Poll::Pending("state pending".into())) })
                .await;
        let error = result.unwrap_err();
        assert_eq!(error.operation, "WaitNat");
        assert!(error.message.contains("state pending"), "{error}");
    }

    #[tokio::test]
    async fn an_unrepresentable_timeout_does_not_panic() {
        let endless = Backoff { timeout: Duration::MAX, ..FAST };
        let result = wait_for("Wait", endless, std::future::pending(), || async { Ok(Poll::Ready(1)) }).await;
        assert_eq!(result, Ok(1));
        let policy = RetryWhile { condition: AwsError::is_not_found, timeout: Duration::MAX };
        assert_eq!(retry_while(policy, || async { Ok::<_, AwsError>(2) }).await, Ok(2));
    }

    #[tokio::test]
    async fn errors_and_stop_end_the_wait() {
        let failed: Result<(), _> =
            wait_for("Wait", FAST, std::future::pending(), || async { Err(AwsError::local("Describe", "boom")) }).await;
        assert_eq!(failed.unwrap_err().message, "boom");
        let stopped: Result<(), _> = wait_for("Wait", FAST, async {}, || async { Ok(Poll::Pending("x".into())) }).await;
        assert!(stopped.unwrap_err().message.contains("stopped by Terraform"));
    }
}

/// Which errors are worth repeating a call for, and for how long. These are AWS consistency
/// delays, not failures: the SDK's own retries (throttling, 5xx) do not cover them.
#[derive(Debug, Clone, Copy)]
pub struct RetryWhile {
    pub condition: fn(&AwsError) -> bool,
    pub timeout: Duration,
}

impl RetryWhile {
    /// An id just returned by a create call that another API does not see yet.
    pub const JUST_CREATED: Self = Self { condition: AwsError::is_not_found, timeout: Duration::from_secs(30) };
    /// A delete refused while AWS still releases what depended on the object (network
    /// interfaces of a deleted NAT gateway, mapped public addresses).
    pub const DEPENDENCIES_RELEASING: Self =
        Self { condition: AwsError::is_dependency_violation, timeout: Duration::from_secs(300) };
}

/// Repeats `call` with backoff while it fails with an error `policy` names, up to its timeout.
pub async fn retry_while<T, F, Fut>(policy: RetryWhile, mut call: F) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    let deadline = deadline_after(policy.timeout);
    let mut delay = Duration::from_millis(250);
    loop {
        match call().await {
            Err(error) if (policy.condition)(&error) && Instant::now() + delay < deadline => {
                tracing::debug!(operation = error.operation, code = ?error.code, delay_ms = delay.as_millis() as u64, "retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(8));
            }
            result => return result,
        }
    }
}

#[cfg(test)]
mod retry_tests {
    use super::*;
    use std::cell::Cell;

    fn coded(code: &str) -> AwsError {
        AwsError { operation: "ModifySubnetAttribute", code: Some(code.into()), message: String::new() }
    }

    #[tokio::test]
    async fn repeats_only_the_named_errors() {
        let calls = Cell::new(0);
        let result = retry_while(RetryWhile::JUST_CREATED, || {
            calls.set(calls.get() + 1);
            let attempt = calls.get();
            async move { if attempt < 3 { Err(coded("InvalidSubnetID.NotFound")) } else { Ok(attempt) } }
        })
        .await;
        assert_eq!(result, Ok(3));

        calls.set(0);
        let result: Result<(), _> = retry_while(RetryWhile::JUST_CREATED, || {
            calls.set(calls.get() + 1);
            async { Err(coded("UnauthorizedOperation")) }
        })
        .await;
        assert_eq!(result.unwrap_err().code.as_deref(), Some("UnauthorizedOperation"));
        assert_eq!(calls.get(), 1);
    }

    #[tokio::test]
    async fn gives_up_at_the_deadline() {
        let policy = RetryWhile { condition: AwsError::is_not_found, timeout: Duration::from_millis(600) };
        let calls = Cell::new(0);
        let result: Result<(), _> = retry_while(policy, || {
            calls.set(calls.get() + 1);
            async { Err(coded("InvalidSubnetID.NotFound")) }
        })
        .await;
        assert!(result.is_err());
        assert!((2..=4).contains(&calls.get()), "{} calls", calls.get());
    }
}
