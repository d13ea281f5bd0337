//! The HTTP client under every AWS service client: the SDK's own default stack (hyper, rustls over
//! aws-lc, proxies from `HTTPS_PROXY` and `NO_PROXY`), with at most [`CALLS_IN_FLIGHT`] requests
//! of one service in flight at once.
//!
//! Why a bound: Terraform refreshes up to ten resources at a time and each resource issues its
//! independent reads together, so a state of twenty stacks would otherwise put a hundred EC2
//! describes on the wire at once. EC2 throttles per account and action, for every caller in the
//! account alike; each request in flight also holds a connection of its own, and the pool keeps
//! it (and its buffers) afterwards. A request beyond the bound waits for a free slot before it is
//! sent, so its connect and read timeouts start only then; every retry takes a slot again. The
//! SDK's retries (standard mode by default) still pace whatever AWS throttles.

use std::sync::Arc;

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use tokio::sync::Semaphore;

/// Requests of one service in flight at once, per configured provider.
pub const CALLS_IN_FLIGHT: usize = 16;

/// A client for one service over the shared `pool`, with the service's own [`CALLS_IN_FLIGHT`]
/// slots.
pub fn bounded(pool: &SharedHttpClient) -> SharedHttpClient {
    SharedHttpClient::new(Bounded { inner: pool.clone(), slots: Arc::new(Semaphore::new(CALLS_IN_FLIGHT)) })
}

/// The client the SDK would build by default — rustls with aws-lc, the connector settings
/// (timeouts) and sleep of the calling client, proxies from the environment — built once per
/// configured provider and shared by every service: one connection pool, and the trusted root
/// certificates loaded once rather than once per service.
pub fn pool() -> SharedHttpClient {
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

#[derive(Debug)]
struct Bounded {
    inner: SharedHttpClient,
    slots: Arc<Semaphore>,
}

impl HttpClient for Bounded {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        let inner = self.inner.http_connector(settings, components);
        SharedHttpConnector::new(BoundedConnector { inner, slots: Arc::clone(&self.slots) })
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.inner.connector_metadata()
    }
}

#[derive(Debug)]
struct BoundedConnector {
    inner: SharedHttpConnector,
    slots: Arc<Semaphore>,
}

impl HttpConnector for BoundedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (inner, slots) = (self.inner.clone(), Arc::clone(&self.slots));
        HttpConnectorFuture::new(async move {
            // The semaphore is never closed; should it be, the request fails instead of going out
            // unbounded.
            let _slot = slots.acquire_owned().await.map_err(|closed| ConnectorError::other(closed.into(), None))?;
            inner.call(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use aws_smithy_types::body::SdkBody;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// A connector that answers after a pause and records the most requests it saw at once.
    #[derive(Debug, Default)]
    struct Counting {
        now: AtomicUsize,
        most: AtomicUsize,
    }

    #[derive(Debug, Clone)]
    struct CountingConnector(Arc<Counting>);

    impl HttpConnector for CountingConnector {
        fn call(&self, _: HttpRequest) -> HttpConnectorFuture {
            let counting = Arc::clone(&self.0);
            HttpConnectorFuture::new(async move {
                let now = counting.now.fetch_add(1, Ordering::SeqCst) + 1;
                counting.most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                counting.now.fetch_sub(1, Ordering::SeqCst);
                Ok(aws_smithy_runtime_api::http::Response::new(200.try_into().unwrap(), SdkBody::empty()))
            })
        }
    }

    #[tokio::test]
    async fn no_more_than_the_bound_is_in_flight_and_every_request_is_answered() {
        let counting = Arc::new(Counting::default());
        let connector = BoundedConnector {
            inner: SharedHttpConnector::new(CountingConnector(Arc::clone(&counting))),
            slots: Arc::new(Semaphore::new(CALLS_IN_FLIGHT)),
        };
        let calls = (0..CALLS_IN_FLIGHT * 3).map(|_| connector.call(HttpRequest::empty()));
        let answers = futures::future::join_all(calls).await;
        assert!(answers.iter().all(|answer| answer.as_ref().is_ok_and(|response| response.status().as_u16() == 200)));
        assert_eq!(counting.most.load(Ordering::SeqCst), CALLS_IN_FLIGHT, "the bound is reached and never passed");
    }
}
