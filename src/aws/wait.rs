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

/// How long a create is repeated after failures that may have taken effect.
const CREATE_PATIENCE: Duration = Duration::from_secs(300);

/// Sends a create that AWS offers no idempotency token for, without repeating it blind.
///
/// The SDK repeats any call that got no answer, and for a create whose request reached AWS that
/// makes a second object (a second VPC, gateway or address, silently). So where names are not
/// unique `send` turns the SDK's retries off for its call
/// ([`single_attempt`](super::clients::single_attempt)), and here, after a failure that may have
/// taken effect or a throttle ([`Error::may_repeat_create`]), `find` looks for what the create
/// would have made — by its ownership mark, which the create sets in the same call — after a
/// pause that lets AWS's reads catch up, and only when it finds nothing is the create sent again.
/// Where names are unique (roles, databases), the SDK's repeat of an unanswered create is refused
/// as a duplicate; `find` then says whether what holds the name is ours (made by the first
/// attempt) and so the create's result, or someone else's, and the refusal stands.
/// Gives up after [`CREATE_PATIENCE`], or when Terraform asks the provider to stop.
pub async fn create_once<T, S, SFut, F, FFut>(
    operation: &'static str,
    stop: &StopSignal,
    mut send: S,
    mut find: F,
) -> Result<T, Error>
where
    S: FnMut() -> SFut,
    SFut: Future<Output = Result<T, Error>>,
    F: FnMut() -> FFut,
    FFut: Future<Output = Result<Option<T>, Error>>,
{
    let deadline = deadline_after(CREATE_PATIENCE);
    let mut delay = Duration::from_secs(1);
    loop {
        let error = match send().await {
            Ok(made) => return Ok(made),
            Err(error) if error.may_repeat_create() && Instant::now() + delay < deadline => error,
            // A name already taken: by this create's own earlier attempt when what has it is ours.
            Err(error) if error.is_duplicate() => {
                return match find().await? {
                    Some(made) => {
                        tracing::debug!(operation, "the name was taken by this create's earlier attempt");
                        Ok(made)
                    }
                    None => Err(error),
                };
            }
            Err(error) => return Err(error),
        };
        tracing::debug!(
            operation,
            code = error.code(),
            delay_ms = delay.as_millis() as u64,
            "create failed in a way that may have taken effect; looking for what it made before sending it again"
        );
        if !pause_unless_stopped(delay, stop).await {
            return Err(Error::Stopped { operation, last_seen: error.to_string() });
        }
        if let Some(made) = find().await? {
            tracing::debug!(operation, "found what the unanswered create made");
            return Ok(made);
        }
        delay = (delay * 2).min(Duration::from_secs(20));
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

    fn unanswered() -> Error {
        Error::Aws(AwsError {
            operation: "CreateVpc",
            code: None,
            message: "connection closed".into(),
            request_id: None,
        })
    }

    /// A create whose answer was lost is not sent again when what it made is found.
    #[tokio::test]
    async fn an_unanswered_create_is_looked_for_before_it_is_sent_again() {
        let (sent, looked) = (Cell::new(0), Cell::new(0));
        let made = create_once(
            "CreateVpc",
            &StopSignal::never(),
            || {
                sent.set(sent.get() + 1);
                async { Err::<String, _>(unanswered()) }
            },
            || {
                looked.set(looked.get() + 1);
                async { Ok(Some("vpc-1".to_owned())) }
            },
        )
        .await;
        assert_eq!(made, Ok("vpc-1".to_owned()));
        assert_eq!((sent.get(), looked.get()), (1, 1));
    }

    /// Throttled (nothing made, nothing found): sent again; a refusal that cannot have taken
    /// effect ends it at once.
    #[tokio::test]
    async fn a_throttled_create_is_sent_again_and_a_refused_one_is_not() {
        let sent = Cell::new(0);
        let made = create_once(
            "CreateVpc",
            &StopSignal::never(),
            || {
                sent.set(sent.get() + 1);
                let first = sent.get() == 1;
                async move { if first { Err(coded("RequestLimitExceeded")) } else { Ok("vpc-2") } }
            },
            || async { Ok(None) },
        )
        .await;
        assert_eq!((made, sent.get()), (Ok("vpc-2"), 2));
        let refused: Result<(), _> = create_once(
            "CreateVpc",
            &StopSignal::never(),
            || async { Err(coded("VpcLimitExceeded")) },
            || async { panic!("nothing to look for") },
        )
        .await;
        assert_eq!(
            refused.err().and_then(|error| error.code().map(str::to_owned)).as_deref(),
            Some("VpcLimitExceeded")
        );
    }

    /// A name already taken is this create's when what holds it is ours; otherwise the refusal stands.
    #[tokio::test]
    async fn a_name_taken_by_an_earlier_attempt_is_the_result_and_by_anyone_else_the_refusal() {
        let ours = create_once(
            "CreateRole",
            &StopSignal::never(),
            || async { Err(coded("EntityAlreadyExists")) },
            || async { Ok(Some("arn:role")) },
        )
        .await;
        assert_eq!(ours, Ok("arn:role"));
        let theirs: Result<&str, _> = create_once(
            "CreateRole",
            &StopSignal::never(),
            || async { Err(coded("EntityAlreadyExists")) },
            || async { Ok(None) },
        )
        .await;
        assert!(theirs.is_err_and(|error| error.is_duplicate()));
    }

    #[tokio::test]
    async fn an_unanswered_create_ends_when_terraform_asks_to_stop() {
        let result: Result<(), _> =
            create_once("CreateVpc", &stopped_signal(), || async { Err(unanswered()) }, || async { Ok(None) }).await;
        assert!(result.is_err_and(|error| error.is_stopped()));
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
