//! The one-way "stop serving" signal shared by the controller, the long-lived streams and the
//! server loop.
//!
//! go-plugin's host ends a plugin by calling `GRPCController/Shutdown`; every open stream must
//! then finish so the server's graceful stop can complete and the process can exit. The latch is
//! all the state go-plugin's companion services need, so it serves them itself (see
//! [`super::controller`], [`super::stdio`] and [`super::broker`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures::{Stream, StreamExt as _};
use tokio::sync::watch;
use tonic::Status;

/// A latch: once triggered it stays triggered, and every clone observes it.
#[derive(Debug, Clone)]
pub struct Shutdown {
    latch: Arc<watch::Sender<bool>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// A latch that has not been triggered.
    pub fn new() -> Self {
        Self { latch: Arc::new(watch::Sender::new(false)) }
    }

    /// Asks everything watching this latch to stop. Triggering twice is harmless.
    pub fn trigger(&self) {
        self.latch.send_replace(true);
    }

    /// Whether [`Shutdown::trigger`] has been called.
    pub fn is_triggered(&self) -> bool {
        *self.latch.borrow()
    }

    /// Completes once the latch is triggered (immediately if it already was).
    pub async fn triggered(&self) {
        let mut watcher = self.latch.subscribe();
        // The sender lives in `self`, so waiting cannot fail with "channel closed".
        let _ = watcher.wait_for(|stopped| *stopped).await;
    }
}

/// The stream of a go-plugin side channel (stdio, broker): it stays open for the host but carries
/// nothing, since this provider has nothing to relay or broker.
pub(super) type EmptyStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// An [`EmptyStream`] that ends when `done` completes.
pub(super) fn empty_until<T: Send + 'static>(done: impl Future<Output = ()> + Send + 'static) -> EmptyStream<T> {
    Box::pin(futures::stream::once(done).filter_map(|()| futures::future::ready(None)))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn clones_observe_a_trigger_made_before_or_after_they_wait() {
        let shutdown = Shutdown::new();
        let waiter = shutdown.clone();
        assert!(!waiter.is_triggered());
        let waiting = tokio::spawn(async move { waiter.triggered().await });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!waiting.is_finished());
        shutdown.trigger();
        tokio::time::timeout(Duration::from_secs(5), waiting).await.unwrap().unwrap();
        // Already triggered: waiting again returns at once.
        tokio::time::timeout(Duration::from_secs(5), shutdown.triggered()).await.unwrap();
        assert!(shutdown.is_triggered());
    }
}
