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
    let deadline = Instant::now() + backoff.timeout;
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

    const FAST: Backoff =
        Backoff { initial: Duration::from_millis(10), max: Duration::from_millis(40), timeout: Duration::from_millis(300) };

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
            wait_for("WaitNat", FAST, std::future::pending(), || async { Ok(Poll::Pending("state pending".into())) }).await;
        let error = result.unwrap_err();
        assert_eq!(error.operation, "WaitNat");
        assert!(error.message.contains("state pending"), "{error}");
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
