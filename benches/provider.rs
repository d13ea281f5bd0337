//! `make bench` part one: what Terraform waits for when it starts the provider.
//!
//! Runs the (release) provider binary the way Terraform does — magic cookie, protocol versions
//! and a freshly generated P-521 client certificate in `PLUGIN_CLIENT_CERT` — and measures
//! (1) exec until the go-plugin handshake line is on stdout, as the median of many starts, and
//! (2) the latency of `GetProviderSchema` over the mutually authenticated unix socket, first
//! call and median of repeated calls. The call is made with tonic's generic client and a local
//! message type that keeps only the fields counted here, so this tool needs no generated code.
//!
//! Usage: `cargo bench --bench provider -- PROVIDER_BINARY` (scripts/bench passes the release
//! binary). Prints human lines and `RESULT key value` lines that scripts/bench records.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// go-plugin's magic cookie for Terraform providers.
const MAGIC_COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
const HANDSHAKE_RUNS: usize = 25;
const SCHEMA_CALLS: usize = 50;
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// The part of `GetProviderSchema.Response` this tool looks at: resource schemas by type name
/// (each `Schema` message kept as its encoded bytes) and diagnostics.
#[derive(Clone, PartialEq, prost::Message)]
struct SchemaResponse {
    #[prost(map = "string, bytes", tag = "2")]
    resource_schemas: HashMap<String, Vec<u8>>,
    #[prost(bytes = "vec", repeated, tag = "4")]
    diagnostics: Vec<Vec<u8>>,
}

/// `GetProviderSchema.Request` has no fields.
#[derive(Clone, PartialEq, prost::Message)]
struct EmptyRequest {}

/// A client identity like the one Terraform generates for every provider it starts.
struct ClientIdentity {
    pem: String,
    cert: CertificateDer<'static>,
    key: Vec<u8>,
}

fn client_identity() -> Result<ClientIdentity, Failure> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512)?;
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()])?;
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyEncipherment,
        rcgen::KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages =
        vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth, rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.self_signed(&key)?;
    Ok(ClientIdentity { pem: cert.pem(), cert: cert.der().clone(), key: key.serialize_der() })
}

/// A started provider and the handshake line it printed.
struct Started {
    child: Child,
    handshake: String,
    elapsed: Duration,
}

fn start_provider(binary: &Path, identity: &ClientIdentity) -> Result<Started, Failure> {
    let started_at = Instant::now();
    let mut child = Command::new(binary)
        .env("TF_PLUGIN_MAGIC_COOKIE", MAGIC_COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env("PLUGIN_CLIENT_CERT", &identity.pem)
        .env("PLUGIN_MIN_PORT", "10000")
        .env("PLUGIN_MAX_PORT", "25000")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout pipe")?;
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = sender.send(line);
    });
    let handshake = match receiver.recv_timeout(HANDSHAKE_TIMEOUT) {
        Ok(line) => line,
        Err(_) => {
            reap(child);
            return Err(format!("no handshake line within {HANDSHAKE_TIMEOUT:?}").into());
        }
    };
    let elapsed = started_at.elapsed();
    if handshake.trim().is_empty() {
        reap(child);
        return Err("the provider exited without printing a handshake line".into());
    }
    Ok(Started { child, handshake: handshake.trim().to_owned(), elapsed })
}

/// Asks the provider to exit as Terraform does (`plugin.GRPCController/Shutdown`), so it removes
/// its socket directory, and reaps it; kills it only if it does not exit.
fn stop_provider(runtime: &tokio::runtime::Runtime, started: Started, identity: &ClientIdentity) {
    let asked = runtime.block_on(async {
        let channel = connect(&started.handshake, identity).await?;
        let mut client = tonic::client::Grpc::new(channel);
        client.ready().await?;
        let path = tonic::codegen::http::uri::PathAndQuery::from_static("/plugin.GRPCController/Shutdown");
        let codec = tonic_prost::ProstCodec::<EmptyRequest, EmptyRequest>::default();
        client.unary(tonic::Request::new(EmptyRequest {}), path, codec).await?;
        Ok::<_, Failure>(())
    });
    if let Err(error) = asked {
        eprintln!("warning: Shutdown RPC failed ({error}); killing the provider");
    }
    reap(started.child);
}

fn reap(mut child: Child) {
    drop(child.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Trusts exactly the certificate the provider announced in its handshake line.
#[derive(Debug)]
struct PinnedServer {
    certificate: Vec<u8>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.certificate.as_slice() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("server certificate differs from the handshake's".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            signature,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            signature,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// Opens a gRPC channel like Terraform's: unix socket, TLS with our client certificate.
async fn connect(handshake: &str, identity: &ClientIdentity) -> Result<tonic::transport::Channel, Failure> {
    let fields: Vec<&str> = handshake.split('|').collect();
    let [_core, protocol, network, address, wire, certificate] = fields.as_slice() else {
        return Err(format!("unexpected handshake line {handshake:?}").into());
    };
    if *protocol != "6" || *network != "unix" || *wire != "grpc" {
        return Err(format!("handshake {handshake:?} is not protocol 6 gRPC over a unix socket").into());
    }
    let certificate = base64::engine::general_purpose::STANDARD_NO_PAD.decode(certificate.trim_end_matches('='))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedServer { certificate, provider }))
        .with_client_auth_cert(
            vec![identity.cert.clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(identity.key.clone())),
        )?;
    tls.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls));
    let socket = PathBuf::from(address);
    let channel = tonic::transport::Endpoint::try_from("http://localhost")?
        .connect_with_connector(tower::service_fn(move |_| {
            let (connector, socket) = (connector.clone(), socket.clone());
            async move {
                let stream = tokio::net::UnixStream::connect(socket).await?;
                let server_name = ServerName::try_from("localhost").map_err(std::io::Error::other)?;
                let tls = connector.connect(server_name, stream).await?;
                Ok::<_, std::io::Error>(TokioIo::new(tls))
            }
        }))
        .await?;
    Ok(channel)
}

async fn get_provider_schema(channel: &tonic::transport::Channel) -> Result<SchemaResponse, Failure> {
    let mut client = tonic::client::Grpc::new(channel.clone()).max_decoding_message_size(256 * 1024 * 1024);
    client.ready().await?;
    let path = tonic::codegen::http::uri::PathAndQuery::from_static("/tfplugin6.Provider/GetProviderSchema");
    let codec = tonic_prost::ProstCodec::<EmptyRequest, SchemaResponse>::default();
    Ok(client.unary(tonic::Request::new(EmptyRequest {}), path, codec).await?.into_inner())
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

fn millis(duration: Duration) -> String {
    format!("{:.2}", duration.as_secs_f64() * 1000.0)
}

fn run(binary: &Path) -> Result<(), Failure> {
    let identity = client_identity()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;

    // Warm the page cache once, then time cold starts of the process.
    stop_provider(&runtime, start_provider(binary, &identity)?, &identity);
    let mut handshakes = Vec::with_capacity(HANDSHAKE_RUNS);
    for _ in 0..HANDSHAKE_RUNS {
        let started = start_provider(binary, &identity)?;
        handshakes.push(started.elapsed);
        stop_provider(&runtime, started, &identity);
    }
    let (fastest, slowest) = (handshakes.iter().min().copied(), handshakes.iter().max().copied());
    let handshake_median = median(handshakes);
    println!(
        "exec -> handshake line: median {} ms over {HANDSHAKE_RUNS} starts (min {} ms, max {} ms)",
        millis(handshake_median),
        millis(fastest.unwrap_or_default()),
        millis(slowest.unwrap_or_default())
    );
    println!("RESULT handshake_median_ms {}", millis(handshake_median));
    println!("RESULT handshake_runs {HANDSHAKE_RUNS}");

    let started = start_provider(binary, &identity)?;
    let outcome = runtime.block_on(async {
        let connected_at = Instant::now();
        let channel = connect(&started.handshake, &identity).await?;
        let first = get_provider_schema(&channel).await?;
        let first_latency = connected_at.elapsed();
        if !first.diagnostics.is_empty() {
            return Err::<_, Failure>(
                format!("GetProviderSchema returned {} diagnostics", first.diagnostics.len()).into(),
            );
        }
        let mut latencies = Vec::with_capacity(SCHEMA_CALLS);
        for _ in 0..SCHEMA_CALLS {
            let call_at = Instant::now();
            get_provider_schema(&channel).await?;
            latencies.push(call_at.elapsed());
        }
        Ok((first, first_latency, median(latencies)))
    });
    stop_provider(&runtime, started, &identity);
    let (schema, first_latency, schema_median) = outcome?;

    let mut resources: Vec<&String> = schema.resource_schemas.keys().collect();
    resources.sort();
    let schema_bytes: usize = schema.resource_schemas.values().map(Vec::len).sum();
    println!(
        "GetProviderSchema: first call (incl. TLS connect) {} ms, then median {} ms over {SCHEMA_CALLS} calls; \
         resources {resources:?} ({schema_bytes} bytes of schema)",
        millis(first_latency),
        millis(schema_median)
    );
    if !resources.iter().any(|name| name.as_str() == "retool_network") {
        return Err("GetProviderSchema does not describe retool_network".into());
    }
    println!("RESULT schema_first_ms {}", millis(first_latency));
    println!("RESULT schema_median_ms {}", millis(schema_median));
    Ok(())
}

fn main() {
    // `cargo bench` appends `--bench`; the binary is the first argument that is not a flag.
    let binary = std::env::args().skip(1).find(|argument| !argument.starts_with("--"));
    let Some(binary) = binary else {
        eprintln!("usage: cargo bench --bench provider -- PROVIDER_BINARY");
        std::process::exit(2);
    };
    if let Err(error) = run(Path::new(&binary)) {
        eprintln!("benchmark failed: {error}");
        std::process::exit(1);
    }
}
