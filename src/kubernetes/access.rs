//! Reaching one cluster's API: its endpoint, the CA its serving certificate chains to, and a
//! bearer token made from the provider's AWS credentials.
//!
//! A client is built on first use and rebuilt when its token is about to expire, so a long
//! rollout wait never fails on an expired token and no token outlives the operation. The endpoint
//! and CA come from EKS's `DescribeCluster`, or from the provider's `endpoints` override (users
//! behind a private proxy, and the tests' API server).

use std::collections::HashMap;
use std::time::SystemTime;

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use kube::discovery::ApiResource;
use tokio::sync::Mutex;

use super::token::{BearerToken, eks_token};
use crate::error::{Error, KubernetesError};

/// Where a cluster's API is and which CA to trust for it.
#[derive(Clone, PartialEq, Eq)]
pub struct ClusterEndpoint {
    /// `https://…` URL of the API server.
    pub url: String,
    /// PEM of the CA(s) the server's certificate chains to.
    pub ca_pem: String,
}

impl std::fmt::Debug for ClusterEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterEndpoint").field("url", &self.url).finish_non_exhaustive()
    }
}

/// What signs the cluster's tokens: the provider's AWS credentials, region and STS endpoint.
#[derive(Clone, Debug)]
pub struct Signer {
    /// The credentials Terraform's AWS identity resolves to (refreshed by the SDK's provider).
    pub credentials: SharedCredentialsProvider,
    /// The region of the cluster.
    pub region: String,
    /// STS's endpoint, as the authenticator will call it.
    pub sts_url: String,
}

/// Access to one cluster's API for the length of one operation.
pub struct ClusterAccess {
    cluster: String,
    endpoint: ClusterEndpoint,
    signer: Signer,
    client: Mutex<Option<(kube::Client, BearerToken)>>,
    /// The resource paths discovery found, by `apiVersion/kind`.
    pub(super) resources: Mutex<HashMap<String, (ApiResource, bool)>>,
}

impl ClusterAccess {
    /// Access to `cluster` at `endpoint`; makes no call until the first request.
    pub fn new(cluster: &str, endpoint: ClusterEndpoint, signer: Signer) -> Self {
        Self {
            cluster: cluster.to_owned(),
            endpoint,
            signer,
            client: Mutex::new(None),
            resources: Mutex::new(HashMap::new()),
        }
    }

    /// The cluster's name.
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// A client with a fresh token.
    pub async fn client(&self) -> Result<kube::Client, Error> {
        let mut cached = self.client.lock().await;
        let now = SystemTime::now();
        if let Some((client, token)) = cached.as_ref()
            && token.is_fresh(now)
        {
            return Ok(client.clone());
        }
        let credentials = self.signer.credentials.provide_credentials().await.map_err(|error| {
            Error::unexpected(
                "SignClusterToken",
                format!("no AWS credentials to sign a token for cluster {}: {error}", self.cluster),
            )
        })?;
        let token = eks_token(&credentials, &self.signer.region, &self.signer.sts_url, &self.cluster, now)?;
        let client = self.build_client(&token)?;
        tracing::debug!(cluster = %self.cluster, "new Kubernetes API token");
        *cached = Some((client.clone(), token));
        Ok(client)
    }

    fn build_client(&self, token: &BearerToken) -> Result<kube::Client, Error> {
        let failed = |message: String| {
            Error::Kubernetes(KubernetesError {
                operation: "Connect",
                object: format!("cluster {}", self.cluster),
                status: None,
                reason: None,
                message,
                causes: Vec::new(),
            })
        };
        let url = self
            .endpoint
            .url
            .parse()
            .map_err(|_| failed(format!("the API endpoint {:?} is not a URL", self.endpoint.url)))?;
        let certificates = certificates_der(&self.endpoint.ca_pem)
            .ok_or_else(|| failed("the cluster's certificate authority data holds no PEM certificate".to_owned()))?;
        let mut config = kube::Config::new(url);
        config.root_cert = Some(certificates);
        config.auth_info.token = Some(secrecy::SecretString::from(token.expose().to_owned()));
        config.connect_timeout = Some(std::time::Duration::from_secs(10));
        config.read_timeout = Some(std::time::Duration::from_secs(60));
        kube::Client::try_from(config).map_err(|error| failed(format!("could not build a client: {error}")))
    }
}

/// The DER of each certificate in `pem`; `None` when there is none or the PEM is broken.
fn certificates_der(pem: &str) -> Option<Vec<Vec<u8>>> {
    let mut reader = std::io::BufReader::new(pem.as_bytes());
    let certificates: Vec<Vec<u8>> = rustls_pemfile::certs(&mut reader)
        .map(|certificate| certificate.map(|der| der.to_vec()))
        .collect::<Result<_, _>>()
        .ok()?;
    (!certificates.is_empty()).then_some(certificates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_or_empty_ca_data_is_refused() {
        assert_eq!(certificates_der(""), None);
        assert_eq!(certificates_der("not a certificate"), None);
        assert_eq!(certificates_der("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n"), None);
        let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
        let der = certificates_der(&generated.cert.pem()).expect("one certificate");
        assert_eq!(der, vec![generated.cert.der().to_vec()]);
    }

    #[test]
    fn the_endpoints_debug_output_leaves_out_the_ca() {
        let endpoint = ClusterEndpoint { url: "https://127.0.0.1:6443".into(), ca_pem: "PEM".into() };
        assert!(!format!("{endpoint:?}").contains("PEM"));
    }
}
