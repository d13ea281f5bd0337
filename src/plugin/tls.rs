//! AutoMTLS: both ends of the plugin connection prove they are the processes that exchanged the
//! handshake, and nobody else on the machine can talk to the provider.
//!
//! Terraform generates a throwaway client certificate, hands us its PEM in `PLUGIN_CLIENT_CERT`
//! and trusts whatever server certificate we print in the handshake line. So we generate a fresh
//! self-signed certificate per start (shaped like go-plugin's, which Go's verifier accepts: CN and
//! SAN `localhost`, a CA that signs itself, server and client auth usages, valid from slightly in
//! the past) and admit a client only if it presents exactly Terraform's certificate and proves it
//! holds that certificate's key. Terraform's key is ECDSA P-521 with SHA-512, so signatures are
//! checked with the aws-lc-rs provider (ring cannot verify P-521).
//!
//! The private key never leaves this module's `ServerConfig`, and nothing here logs it.

use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName as TlsDistinguishedName, ServerConfig, SignatureScheme};

use super::PluginError;

/// The host name go-plugin's client expects in our certificate.
const SERVER_NAME: &str = "localhost";
/// How far back the certificate's validity starts, to tolerate small clock differences.
const BACKDATE: Duration = Duration::from_secs(30);
/// How long the certificate stays valid; a provider process never lives this long.
const VALIDITY: Duration = Duration::from_secs(366 * 24 * 60 * 60);
/// gRPC over TLS must negotiate HTTP/2; grpc-go refuses servers that do not select it.
const ALPN_HTTP2: &[u8] = b"h2";

/// A server certificate generated for this process, and the TLS settings that use it.
pub struct AutoMtls {
    /// Our certificate, to announce in the handshake line.
    pub server_certificate: CertificateDer<'static>,
    /// Server settings: TLS 1.2+, ALPN `h2`, client certificate required and pinned.
    pub server_config: Arc<ServerConfig>,
}

impl std::fmt::Debug for AutoMtls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutoMtls").finish_non_exhaustive()
    }
}

impl AutoMtls {
    /// Generates our certificate and builds TLS settings that accept only `client_certificate`.
    pub fn new(client_certificate: CertificateDer<'static>) -> Result<Self, PluginError> {
        let tls_error = |reason: String| PluginError::Tls { reason };
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let (server_certificate, private_key) = generate_server_certificate().map_err(|e| tls_error(e.to_string()))?;
        let verifier = Arc::new(PinnedClientCertificate {
            expected: client_certificate,
            algorithms: provider.signature_verification_algorithms,
        });
        let mut server_config = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| tls_error(e.to_string()))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![server_certificate.clone()], private_key)
            .map_err(|e| tls_error(e.to_string()))?;
        server_config.alpn_protocols = vec![ALPN_HTTP2.to_vec()];
        Ok(Self { server_certificate, server_config: Arc::new(server_config) })
    }
}

/// A fresh ECDSA P-256 self-signed certificate for `localhost`, with its PKCS#8 private key.
fn generate_server_certificate() -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), rcgen::Error> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::new(vec![SERVER_NAME.to_owned()])?;
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, SERVER_NAME);
    name.push(DnType::OrganizationName, env!("CARGO_PKG_NAME"));
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages =
        vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment, KeyUsagePurpose::KeyCertSign];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - BACKDATE;
    params.not_after = now + VALIDITY;
    let certificate = params.self_signed(&key)?;
    let private_key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    Ok((certificate.der().clone(), private_key))
}

/// Admits exactly one client certificate, byte for byte, and checks the client's handshake
/// signature against it.
///
/// Pinning the certificate is stricter than go-plugin's "chains to this CA" check and needs no
/// path building: the certificate is single-use and was handed to us by our parent process.
#[derive(Debug)]
struct PinnedClientCertificate {
    expected: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

/// The verifier's methods for TLS 1.2 and 1.3 handshake signatures, which rustls asks for apart but
/// which check alike: each with rustls's function of the same name, against the verifier's
/// `algorithms` (aws-lc-rs, for Terraform's P-521 key).
macro_rules! verify_signatures_with_own_algorithms {
    ($($method:ident),*) => {$(
        fn $method(
            &self,
            message: &[u8],
            certificate: &CertificateDer<'_>,
            signature: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::$method(message, certificate, signature, &self.algorithms)
        }
    )*};
}

impl ClientCertVerifier for PinnedClientCertificate {
    fn client_auth_mandatory(&self) -> bool {
        true
    }

    /// No CA hints: Go's TLS client withholds its certificate when hints do not match its issuer.
    fn root_hint_subjects(&self) -> &[TlsDistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.expected.as_ref() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::ApplicationVerificationFailure))
        }
    }

    verify_signatures_with_own_algorithms!(verify_tls12_signature, verify_tls13_signature);

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some_certificate(algorithm: &'static rcgen::SignatureAlgorithm) -> CertificateDer<'static> {
        let key = KeyPair::generate_for(algorithm).unwrap();
        let params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.self_signed(&key).unwrap().der().clone()
    }

    fn verifier_for(expected: CertificateDer<'static>) -> PinnedClientCertificate {
        PinnedClientCertificate {
            expected,
            algorithms: rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms,
        }
    }

    #[test]
    fn only_the_pinned_certificate_is_admitted() {
        let terraform = some_certificate(&rcgen::PKCS_ECDSA_P521_SHA512);
        let stranger = some_certificate(&rcgen::PKCS_ECDSA_P521_SHA512);
        let verifier = verifier_for(terraform.clone());
        assert!(verifier.verify_client_cert(&terraform, &[], UnixTime::now()).is_ok());
        assert!(verifier.verify_client_cert(&stranger, &[], UnixTime::now()).is_err());
        assert!(verifier.client_auth_mandatory());
        assert!(verifier.offer_client_auth());
    }

    #[test]
    fn terraforms_p521_signatures_are_offered() {
        let verifier = verifier_for(some_certificate(&rcgen::PKCS_ECDSA_P256_SHA256));
        assert!(verifier.supported_verify_schemes().contains(&SignatureScheme::ECDSA_NISTP521_SHA512));
    }

    #[test]
    fn server_certificate_is_fresh_each_time_and_negotiates_h2() {
        let client = some_certificate(&rcgen::PKCS_ECDSA_P521_SHA512);
        let first = AutoMtls::new(client.clone()).unwrap();
        let second = AutoMtls::new(client).unwrap();
        assert_ne!(first.server_certificate, second.server_certificate);
        assert_eq!(first.server_config.alpn_protocols, vec![b"h2".to_vec()]);
    }
}
