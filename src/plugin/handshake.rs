//! The go-plugin handshake: what Terraform tells us through the environment, and the single line
//! we answer with on stdout.
//!
//! Terraform starts the provider with a magic cookie (proof that a plugin host, not a person,
//! launched us), the plugin protocol versions it speaks, and — with AutoMTLS — the PEM of the
//! client certificate it will present. We answer `CORE|VERSION|NETWORK|ADDRESS|PROTOCOL|CERT`,
//! where CERT is our server certificate's DER in unpadded standard base64 (go-plugin decodes it
//! with `RawStdEncoding`). Nothing else may ever be written to stdout before that line.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

use super::PluginError;

/// Environment variable carrying the magic cookie.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
/// The cookie value Terraform sets for every provider it launches.
pub const MAGIC_COOKIE_VALUE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// go-plugin's own protocol version, the first field of the handshake line.
pub const CORE_PROTOCOL_VERSION: u32 = 1;
/// The Terraform plugin protocol major version this provider serves.
pub const PLUGIN_PROTOCOL_VERSION: u32 = 6;

const PROTOCOL_VERSIONS_KEY: &str = "PLUGIN_PROTOCOL_VERSIONS";
const CLIENT_CERT_KEY: &str = "PLUGIN_CLIENT_CERT";
const SOCKET_DIR_KEY: &str = "PLUGIN_UNIX_SOCKET_DIR";

/// How the process was started, which decides what we print and how we react to Ctrl-C.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServeMode {
    /// Launched by Terraform: print the handshake line, and stop only when told to over gRPC.
    Managed,
    /// Started by a developer with `--debug`: plaintext, print a `TF_REATTACH_PROVIDERS` value
    /// for `provider_address` (e.g. `registry.terraform.io/retool-byoc/retool`), stop on Ctrl-C.
    Debug {
        /// The provider source address Terraform should map to this process.
        provider_address: String,
    },
}

/// Everything [`serve`](super::serve()) needs to know, gathered up front so the serving code
/// never reads the process environment (and tests can run in parallel).
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Managed by Terraform or debug.
    pub mode: ServeMode,
    /// Terraform's AutoMTLS client certificate. `Some` switches TLS on and admits only this
    /// exact certificate; `None` serves plaintext on the private socket.
    pub client_certificate: Option<CertificateDer<'static>>,
    /// Directory in which to create our private socket directory; the system temp dir if `None`.
    pub socket_parent_dir: Option<PathBuf>,
    /// What SIGINT (Ctrl-C) does while serving.
    pub interrupts: InterruptPolicy,
    /// The process that launched this one (Terraform). Killed without the chance to call
    /// `GRPCController/Shutdown` (`kill -9`, OOM), it leaves this process to another parent:
    /// serving then stops instead of the provider living on, orphaned, mid-apply. `None` (debug
    /// mode) serves until stopped.
    pub host_process: Option<u32>,
}

/// What the server does when the process receives SIGINT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterruptPolicy {
    /// Keep serving. Terraform forwards the user's Ctrl-C to the whole process group but cancels
    /// providers through the StopProvider RPC, so a managed plugin must survive it.
    Ignore,
    /// Stop serving, as a developer expects in `--debug` mode.
    Stop,
    /// Leave the process's signal handling alone (for embedding the server, e.g. in tests).
    Unhandled,
}

impl ServeConfig {
    /// Reads the handshake settings Terraform put in this process's environment.
    pub fn from_env() -> Result<Self, PluginError> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Same as [`ServeConfig::from_env`], with variables supplied by `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, PluginError> {
        if lookup(MAGIC_COOKIE_KEY).as_deref() != Some(MAGIC_COOKIE_VALUE) {
            return Err(PluginError::NotLaunchedByPluginHost);
        }
        if let Some(offered) = lookup(PROTOCOL_VERSIONS_KEY)
            && !offers_our_protocol(&offered)
        {
            return Err(PluginError::UnsupportedProtocolVersions { offered });
        }
        let client_certificate = lookup(CLIENT_CERT_KEY)
            .filter(|pem| !pem.trim().is_empty())
            .map(|pem| parse_single_certificate(&pem))
            .transpose()?;
        Ok(Self {
            mode: ServeMode::Managed,
            client_certificate,
            socket_parent_dir: lookup(SOCKET_DIR_KEY).filter(|dir| !dir.is_empty()).map(PathBuf::from),
            interrupts: InterruptPolicy::Ignore,
            host_process: Some(std::os::unix::process::parent_id()),
        })
    }

    /// Settings for `--debug`: no cookie check, plaintext, reattach output, Ctrl-C stops.
    pub fn debug(provider_address: impl Into<String>) -> Self {
        Self {
            mode: ServeMode::Debug { provider_address: provider_address.into() },
            client_certificate: None,
            socket_parent_dir: None,
            interrupts: InterruptPolicy::Stop,
            host_process: None,
        }
    }
}

/// Whether a `PLUGIN_PROTOCOL_VERSIONS` list (comma separated) includes protocol 6.
///
/// An absent list means a legacy host that assumes the plugin's own version, so only a present
/// list is checked. Entries that are not numbers are ignored, as go-plugin does.
fn offers_our_protocol(offered: &str) -> bool {
    offered
        .split(',')
        .filter_map(|version| version.trim().parse::<u32>().ok())
        .any(|version| version == PLUGIN_PROTOCOL_VERSION)
}

fn parse_single_certificate(pem: &str) -> Result<CertificateDer<'static>, PluginError> {
    let invalid = |reason: String| PluginError::InvalidClientCertificate { reason };
    let mut certificates = CertificateDer::pem_slice_iter(pem.as_bytes());
    let first = match certificates.next() {
        Some(Ok(certificate)) => certificate,
        Some(Err(error)) => return Err(invalid(error.to_string())),
        None => return Err(invalid("no CERTIFICATE block found".to_owned())),
    };
    if certificates.next().is_some() {
        return Err(invalid("more than one certificate found".to_owned()));
    }
    Ok(first)
}

/// The line go-plugin reads from our stdout: where to connect and which certificate to trust.
///
/// With no server certificate (plaintext) the last field is empty, as go-plugin prints it.
pub fn handshake_line(socket_path: &Path, server_certificate: Option<&CertificateDer<'_>>) -> String {
    let certificate = server_certificate.map(|der| STANDARD_NO_PAD.encode(der.as_ref())).unwrap_or_default();
    format!("{CORE_PROTOCOL_VERSION}|{PLUGIN_PROTOCOL_VERSION}|unix|{}|grpc|{certificate}", socket_path.display())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup_in(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |key| vars.get(key).cloned()
    }

    fn test_certificate_pem() -> String {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.self_signed(&key).unwrap().pem()
    }

    #[test]
    fn missing_cookie_is_refused_with_a_human_message() {
        let error = ServeConfig::from_lookup(lookup_in(&[(PROTOCOL_VERSIONS_KEY, "6")])).unwrap_err();
        assert!(matches!(error, PluginError::NotLaunchedByPluginHost));
        let message = error.to_string();
        assert!(message.contains("not meant to be run directly"), "{message}");
        assert!(message.contains("terraform"), "{message}");
    }

    #[test]
    fn wrong_cookie_is_refused() {
        let error = ServeConfig::from_lookup(lookup_in(&[(MAGIC_COOKIE_KEY, "nope")])).unwrap_err();
        assert!(matches!(error, PluginError::NotLaunchedByPluginHost));
    }

    #[test]
    fn versions_without_six_are_refused() {
        let error = ServeConfig::from_lookup(lookup_in(&[
            (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE),
            (PROTOCOL_VERSIONS_KEY, "4,5"),
        ]))
        .unwrap_err();
        match error {
            PluginError::UnsupportedProtocolVersions { offered } => assert_eq!(offered, "4,5"),
            other => panic!("unexpected error {other:?}"),
        }
    }

    #[test]
    fn version_lists_are_parsed_leniently() {
        assert!(offers_our_protocol("5,6"));
        assert!(offers_our_protocol(" 6 "));
        assert!(offers_our_protocol("x,6"));
        assert!(!offers_our_protocol("5"));
        assert!(!offers_our_protocol("60"));
        assert!(!offers_our_protocol(""));
    }

    #[test]
    fn managed_config_reads_every_variable() {
        let pem = test_certificate_pem();
        let config = ServeConfig::from_lookup(lookup_in(&[
            (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE),
            (PROTOCOL_VERSIONS_KEY, "5,6"),
            (CLIENT_CERT_KEY, &pem),
            (SOCKET_DIR_KEY, "/run/plugins"),
        ]))
        .unwrap();
        assert_eq!(config.mode, ServeMode::Managed);
        assert_eq!(config.interrupts, InterruptPolicy::Ignore);
        assert_eq!(config.socket_parent_dir, Some(PathBuf::from("/run/plugins")));
        let expected = CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
        assert_eq!(config.client_certificate, Some(expected));
    }

    #[test]
    fn without_client_certificate_tls_is_off() {
        let config = ServeConfig::from_lookup(lookup_in(&[(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)])).unwrap();
        assert_eq!(config.client_certificate, None);
        assert_eq!(config.socket_parent_dir, None);
    }

    #[test]
    fn malformed_or_multiple_client_certificates_are_refused() {
        for bad in ["not a pem".to_owned(), format!("{}{}", test_certificate_pem(), test_certificate_pem())] {
            let error =
                ServeConfig::from_lookup(lookup_in(&[(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE), (CLIENT_CERT_KEY, &bad)]))
                    .unwrap_err();
            assert!(matches!(error, PluginError::InvalidClientCertificate { .. }), "{error:?}");
        }
    }

    #[test]
    fn debug_config_is_plaintext_and_interruptible() {
        let config = ServeConfig::debug("registry.terraform.io/retool-byoc/retool");
        assert_eq!(config.client_certificate, None);
        assert_eq!(config.interrupts, InterruptPolicy::Stop);
        assert_eq!(
            config.mode,
            ServeMode::Debug { provider_address: "registry.terraform.io/retool-byoc/retool".to_owned() }
        );
    }

    #[test]
    fn handshake_line_carries_unpadded_base64_der() {
        let der = CertificateDer::from(vec![0xde, 0xad, 0xbe, 0xef, 0x01]);
        let line = handshake_line(Path::new("/tmp/x/plugin.sock"), Some(&der));
        // 5 bytes encode to 7 characters with no '=' padding.
        assert_eq!(line, "1|6|unix|/tmp/x/plugin.sock|grpc|3q2+7wE");
    }

    #[test]
    fn plaintext_handshake_line_has_empty_certificate_field() {
        let line = handshake_line(Path::new("/tmp/x/plugin.sock"), None);
        assert_eq!(line, "1|6|unix|/tmp/x/plugin.sock|grpc|");
    }
}
