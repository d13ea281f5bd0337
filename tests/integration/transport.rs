//! The go-plugin transport, exercised in-process the way Terraform uses it: read the handshake
//! line, dial the unix socket over mutual TLS with a P-521 client certificate like Terraform's,
//! and check who gets in, what they see, and how the server stops.
//!
//! Every test gets its own socket directory and passes its settings explicitly, so they run in
//! parallel without touching the process environment.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tempfile::TempDir;
use terraform_provider_retool::plugin::handshake::{MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE};
use terraform_provider_retool::plugin::{InterruptPolicy, PluginError, ServeConfig, serve_with_output};
use terraform_provider_retool::protocol::go_plugin::grpc_broker_client::GrpcBrokerClient;
use terraform_provider_retool::protocol::go_plugin::grpc_controller_client::GrpcControllerClient;
use terraform_provider_retool::protocol::go_plugin::grpc_stdio_client::GrpcStdioClient;
use terraform_provider_retool::protocol::go_plugin::{ConnInfo, Empty};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::net::UnixStream;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;
use tonic::service::Routes;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// Upper bound for any single step; generous for a loaded 2-core machine.
const STEP: Duration = Duration::from_secs(20);

/// A certificate and key shaped like the one Terraform generates for AutoMTLS.
struct ClientIdentity {
    certificate: CertificateDer<'static>,
    pem: String,
    key: PrivatePkcs8KeyDer<'static>,
}

fn terraform_like_client_identity() -> ClientIdentity {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, "localhost");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyEncipherment,
        rcgen::KeyUsagePurpose::KeyAgreement,
        rcgen::KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages =
        vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth, rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let certificate = params.self_signed(&key).unwrap();
    ClientIdentity {
        certificate: certificate.der().clone(),
        pem: certificate.pem(),
        key: PrivatePkcs8KeyDer::from(key.serialize_der()),
    }
}

/// A provider process serving in a task, with what its handshake line told us.
struct RunningPlugin {
    socket: PathBuf,
    server_certificate: Option<CertificateDer<'static>>,
    serving: JoinHandle<Result<(), PluginError>>,
    socket_parent: TempDir,
}

impl Drop for RunningPlugin {
    fn drop(&mut self) {
        self.serving.abort();
    }
}

/// Starts `serve` as Terraform would launch it, with `client_pem` as `PLUGIN_CLIENT_CERT`.
async fn start_managed(client_pem: Option<&str>, interrupts: InterruptPolicy) -> RunningPlugin {
    let socket_parent = tempfile::tempdir().unwrap();
    let socket_dir = socket_parent.path().to_string_lossy().into_owned();
    let client_pem = client_pem.map(str::to_owned);
    let mut config = ServeConfig::from_lookup(|key| match key {
        MAGIC_COOKIE_KEY => Some(MAGIC_COOKIE_VALUE.to_owned()),
        "PLUGIN_PROTOCOL_VERSIONS" => Some("5,6".to_owned()),
        "PLUGIN_CLIENT_CERT" => client_pem.clone(),
        "PLUGIN_UNIX_SOCKET_DIR" => Some(socket_dir.clone()),
        _ => None,
    })
    .unwrap();
    // Leave the test process's SIGINT handling alone (one test below opts in).
    config.interrupts = interrupts;

    let (announcements, announce_to) = tokio::io::duplex(64 * 1024);
    let serving = tokio::spawn(serve_with_output(Routes::default(), config, announce_to));
    let mut line = String::new();
    tokio::time::timeout(STEP, BufReader::new(announcements).read_line(&mut line))
        .await
        .expect("handshake line in time")
        .unwrap();

    let fields: Vec<&str> = line.trim_end_matches('\n').split('|').collect();
    assert_eq!(fields.len(), 6, "handshake line {line:?}");
    assert_eq!(&fields[..3], ["1", "6", "unix"], "handshake line {line:?}");
    assert_eq!(fields[4], "grpc", "handshake line {line:?}");
    let socket = PathBuf::from(fields[3]);
    let server_certificate = if fields[5].is_empty() {
        None
    } else {
        Some(CertificateDer::from(STANDARD_NO_PAD.decode(fields[5]).expect("unpadded base64")))
    };
    RunningPlugin { socket, server_certificate, serving, socket_parent }
}

/// Accepts exactly the server certificate from the handshake line, as go-plugin's client does
/// by making it the only trusted root.
#[derive(Debug)]
struct PinnedServer {
    expected: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        assert_eq!(server_name.to_str(), "localhost");
        if end_entity.as_ref() == self.expected.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A gRPC channel over TLS on the plugin's unix socket, optionally presenting `identity`.
async fn tls_channel(
    plugin: &RunningPlugin,
    identity: Option<&ClientIdentity>,
) -> Result<Channel, tonic::transport::Error> {
    tls_channel_with_versions(plugin, identity, rustls::DEFAULT_VERSIONS).await
}

/// [`tls_channel`], offering only the given TLS versions.
async fn tls_channel_with_versions(
    plugin: &RunningPlugin,
    identity: Option<&ClientIdentity>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Result<Channel, tonic::transport::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = Arc::new(PinnedServer {
        expected: plugin.server_certificate.clone().expect("AutoMTLS is on"),
        algorithms: provider.signature_verification_algorithms,
    });
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match identity {
        Some(identity) => builder
            .with_client_auth_cert(vec![identity.certificate.clone()], PrivateKeyDer::Pkcs8(identity.key.clone_key()))
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = TlsConnector::from(Arc::new(config));
    let socket = plugin.socket.clone();
    Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_| {
            let connector = connector.clone();
            let socket = socket.clone();
            async move {
                let stream = UnixStream::connect(socket).await?;
                let session = connector.connect(ServerName::try_from("localhost").unwrap(), stream).await?;
                Ok::<_, std::io::Error>(TokioIo::new(session))
            }
        }))
        .await
}

/// A plaintext gRPC channel on a unix socket.
async fn plain_channel(socket: &Path) -> Channel {
    let socket = socket.to_owned();
    Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_| {
            let socket = socket.clone();
            async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(socket).await?)) }
        }))
        .await
        .unwrap()
}

/// The health status the channel reports for the `plugin` service.
async fn plugin_health(channel: Channel) -> Result<i32, tonic::Status> {
    let response = HealthClient::new(channel).check(HealthCheckRequest { service: "plugin".to_owned() }).await?;
    Ok(response.into_inner().status)
}

/// Connects with `identity` and asks for health; `Err` describes how the attempt failed.
async fn health_as(plugin: &RunningPlugin, identity: Option<&ClientIdentity>) -> Result<i32, String> {
    let attempt = async {
        let channel = tls_channel(plugin, identity).await.map_err(|e| format!("connect: {e}"))?;
        plugin_health(channel).await.map_err(|e| format!("call: {e}"))
    };
    tokio::time::timeout(STEP, attempt).await.map_err(|_| "timed out".to_owned())?
}

#[tokio::test]
async fn terraforms_certificate_gets_a_serving_health_check() {
    let terraform = terraform_like_client_identity();
    let plugin = start_managed(Some(&terraform.pem), InterruptPolicy::Unhandled).await;

    assert!(plugin.socket.starts_with(plugin.socket_parent.path()), "{}", plugin.socket.display());
    let private_dir = plugin.socket.parent().unwrap();
    let mode = std::fs::metadata(private_dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "socket directory must be private");

    let status = health_as(&plugin, Some(&terraform)).await.expect("Terraform's certificate is admitted");
    assert_eq!(status, ServingStatus::Serving as i32);
}

#[tokio::test]
async fn a_different_certificate_is_refused() {
    let terraform = terraform_like_client_identity();
    let stranger = terraform_like_client_identity();
    let plugin = start_managed(Some(&terraform.pem), InterruptPolicy::Unhandled).await;

    let refused = health_as(&plugin, Some(&stranger)).await;
    let reason = refused.expect_err("a stranger's certificate was admitted");
    // rustls reports the server's rejection as a TLS alert (access denied).
    assert!(reason.contains("alert"), "refused, but not by the TLS check: {reason}");

    // The refusal does not disturb the server: Terraform still gets in afterwards.
    let status = health_as(&plugin, Some(&terraform)).await.expect("server still serves Terraform");
    assert_eq!(status, ServingStatus::Serving as i32);
}

#[tokio::test]
async fn a_client_without_certificate_is_refused() {
    let terraform = terraform_like_client_identity();
    let plugin = start_managed(Some(&terraform.pem), InterruptPolicy::Unhandled).await;

    let refused = health_as(&plugin, None).await;
    let reason = refused.expect_err("a client without certificate was admitted");
    // rustls reports the server's rejection as a TLS alert (certificate required).
    assert!(reason.contains("alert"), "refused, but not by the TLS check: {reason}");
}

#[tokio::test]
async fn a_plaintext_client_cannot_talk_to_a_tls_server() {
    let terraform = terraform_like_client_identity();
    let plugin = start_managed(Some(&terraform.pem), InterruptPolicy::Unhandled).await;

    let socket = plugin.socket.clone();
    let attempt = async move {
        let channel = Endpoint::from_static("http://localhost")
            .connect_with_connector(tower::service_fn(move |_| {
                let socket = socket.clone();
                async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(socket).await?)) }
            }))
            .await
            .map_err(|e| e.to_string())?;
        plugin_health(channel).await.map_err(|e| e.to_string())
    };
    let outcome = tokio::time::timeout(STEP, attempt).await.expect("refusal must be prompt");
    assert!(outcome.is_err(), "plaintext client was served: {outcome:?}");
}

#[tokio::test]
async fn controller_shutdown_ends_open_streams_and_serve_returns_ok() {
    let terraform = terraform_like_client_identity();
    let mut plugin = start_managed(Some(&terraform.pem), InterruptPolicy::Unhandled).await;
    let channel = tls_channel(&plugin, Some(&terraform)).await.unwrap();

    // Terraform keeps the stdio and broker streams open for the whole session.
    let mut stdio = GrpcStdioClient::new(channel.clone()).stream_stdio(()).await.unwrap().into_inner();
    let (_broker_offers, offers) = tokio::sync::mpsc::channel::<ConnInfo>(1);
    let mut broker = GrpcBrokerClient::new(channel.clone())
        .start_stream(tokio_stream::wrappers::ReceiverStream::new(offers))
        .await
        .unwrap()
        .into_inner();

    GrpcControllerClient::new(channel).shutdown(Empty {}).await.expect("Shutdown is answered");

    let stdio_end = tokio::time::timeout(STEP, stdio.message()).await.expect("stdio stream closes");
    assert!(matches!(stdio_end, Ok(None)), "stdio stream must end cleanly: {stdio_end:?}");
    let broker_end = tokio::time::timeout(STEP, broker.message()).await.expect("broker stream closes");
    assert!(matches!(broker_end, Ok(None)), "broker stream must end cleanly: {broker_end:?}");

    let outcome = tokio::time::timeout(STEP, &mut plugin.serving).await.expect("serve returns after Shutdown");
    assert!(matches!(outcome, Ok(Ok(()))), "serve must return Ok: {outcome:?}");
    assert!(!plugin.socket.exists(), "socket is removed after serving");
}

#[tokio::test]
async fn without_client_certificate_the_handshake_has_no_certificate_and_serves_plaintext() {
    let plugin = start_managed(None, InterruptPolicy::Unhandled).await;
    assert_eq!(plugin.server_certificate, None);
    let status = tokio::time::timeout(STEP, async { plugin_health(plain_channel(&plugin.socket).await).await })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status, ServingStatus::Serving as i32);
}

#[tokio::test]
async fn debug_mode_prints_a_reattach_value_for_a_plaintext_socket() {
    let mut config = ServeConfig::debug("registry.terraform.io/retool-byoc/retool");
    config.interrupts = InterruptPolicy::Unhandled;
    let (announcements, announce_to) = tokio::io::duplex(64 * 1024);
    let serving = tokio::spawn(serve_with_output(Routes::default(), config, announce_to));

    let mut lines = BufReader::new(announcements).lines();
    let reattach = tokio::time::timeout(STEP, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(value) = line.trim().strip_prefix("TF_REATTACH_PROVIDERS=") {
                return value.trim_matches('\'').to_owned();
            }
        }
        panic!("no TF_REATTACH_PROVIDERS line");
    })
    .await
    .unwrap();

    let parsed: serde_json::Value = serde_json::from_str(&reattach).unwrap();
    let entry = &parsed["registry.terraform.io/retool-byoc/retool"];
    assert_eq!(entry["Protocol"], "grpc");
    assert_eq!(entry["ProtocolVersion"], 6);
    assert_eq!(entry["Pid"], std::process::id());
    assert_eq!(entry["Test"], true);
    assert_eq!(entry["Addr"]["Network"], "unix");
    let socket = PathBuf::from(entry["Addr"]["String"].as_str().unwrap());

    let channel = plain_channel(&socket).await;
    let status = tokio::time::timeout(STEP, plugin_health(channel.clone())).await.unwrap().unwrap();
    assert_eq!(status, ServingStatus::Serving as i32);

    GrpcControllerClient::new(channel).shutdown(Empty {}).await.unwrap();
    let outcome = tokio::time::timeout(STEP, serving).await.expect("serve returns");
    assert!(matches!(outcome, Ok(Ok(()))), "{outcome:?}");
}

#[tokio::test]
async fn terraforms_certificate_is_admitted_over_tls12_too() {
    let terraform = terraform_like_client_identity();
    let plugin = start_managed(Some(&terraform.pem), InterruptPolicy::Unhandled).await;
    let attempt = async {
        let channel = tls_channel_with_versions(&plugin, Some(&terraform), &[&rustls::version::TLS12]).await.unwrap();
        plugin_health(channel).await
    };
    let status = tokio::time::timeout(STEP, attempt).await.unwrap().expect("TLS 1.2 client admitted");
    assert_eq!(status, ServingStatus::Serving as i32);
}

/// Terraform's Ctrl-C reaches the provider's process group too; a managed plugin keeps serving.
///
/// This installs a process-wide SIGINT handler, so it is the only test that sends or handles
/// SIGINT. Were the handler missing, the signal would kill the test binary and fail the run.
#[tokio::test]
async fn a_managed_plugin_survives_sigint() {
    let terraform = terraform_like_client_identity();
    let plugin = start_managed(Some(&terraform.pem), InterruptPolicy::Ignore).await;

    let sent = std::process::Command::new("kill").args(["-INT", &std::process::id().to_string()]).status().unwrap();
    assert!(sent.success());
    tokio::time::sleep(Duration::from_millis(300)).await;

    assert!(!plugin.serving.is_finished(), "serve stopped on SIGINT");
    let status = health_as(&plugin, Some(&terraform)).await.expect("still serving after SIGINT");
    assert_eq!(status, ServingStatus::Serving as i32);
}

/// Whether process `pid` is still running (a zombie waiting for its new parent to reap it counts
/// as gone: it no longer runs).
fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name, which may itself contain spaces.
        Ok(stat) => stat.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X')),
        Err(_) => false,
    }
}

/// Terraform killed with SIGKILL cannot ask its providers to stop: the provider notices that its
/// parent is gone and exits, instead of living on orphaned.
#[tokio::test]
async fn the_provider_exits_when_terraform_is_killed() {
    let socket_parent = tempfile::tempdir().unwrap();
    // A stand-in for Terraform: a shell that starts the provider, prints its pid, and waits.
    let mut host = std::process::Command::new("sh")
        .args(["-c", r#""$0" & echo "$!"; exec sleep 600"#, env!("CARGO_BIN_EXE_terraform-provider-retool")])
        .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "6")
        .env("PLUGIN_UNIX_SOCKET_DIR", socket_parent.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut output = std::io::BufReader::new(host.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut output, &mut line).unwrap();
    let provider: u32 = line.trim().parse().unwrap_or_else(|_| panic!("the provider's pid, got {line:?}"));
    line.clear();
    std::io::BufRead::read_line(&mut output, &mut line).unwrap();
    assert!(line.starts_with("1|6|unix|"), "the provider serves: {line:?}");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(running(provider), "the provider keeps serving while Terraform lives");

    host.kill().unwrap();
    host.wait().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while running(provider) && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!running(provider), "the provider (pid {provider}) still runs 10 s after Terraform was killed");
}
