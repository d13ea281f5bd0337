//! The stop signal: how Terraform's StopProvider reaches a resource waiting on AWS.
//!
//! Terraform asks a provider to stop when the user interrupts an apply. Long waits (NAT gateways,
//! clusters) watch this signal and return early with a diagnostic and their partial state, instead
//! of holding Terraform hostage until a timeout.

use tokio::sync::watch;

/// The sending side, owned by the provider runtime.
#[derive(Debug)]
pub struct StopSource(watch::Sender<bool>);

/// The receiving side, cloned into every resource operation.
#[derive(Clone, Debug)]
pub struct StopSignal(watch::Receiver<bool>);

impl StopSource {
    /// A source that has not been stopped.
    pub fn new() -> Self {
        Self(watch::channel(false).0)
    }

    /// A new receiving side; it also sees a stop requested before it was made.
    pub fn signal(&self) -> StopSignal {
        StopSignal(self.0.subscribe())
    }

    /// Requests a stop: every signal, existing or made later, reports stopped from now on.
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}

impl Default for StopSource {
    fn default() -> Self {
        Self::new()
    }
}

impl StopSignal {
    /// A signal that never fires, for tests and tools.
    pub fn never() -> Self {
        StopSource::new().signal()
    }

    /// True once a stop has been requested; a quick check between steps, without waiting.
    pub fn is_stopped(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once a stop has been requested (never, if the source is gone without stopping).
    pub async fn stopped(&mut self) {
        if self.0.wait_for(|stopped| *stopped).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stop_reaches_every_signal() {
        let source = StopSource::new();
        let mut a = source.signal();
        let b = source.signal();
        assert!(!a.is_stopped());
        source.stop();
        a.stopped().await;
        assert!(b.is_stopped());
    }
}
