//! A static-file HTTPS server on loopback, for Terraform's `network_mirror`, which only speaks https.
//!
//! It serves one directory (GET only, one request per connection) with a fresh self-signed
//! certificate for `127.0.0.1`, written to a PEM file that Terraform is told to trust through
//! `SSL_CERT_FILE` (Go's TLS on Linux reads it). Every request path is recorded, so a test can show
//! that Terraform really fetched from the mirror. The server stops when dropped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub struct HttpsDirectory {
    address: SocketAddr,
    certificate_file: PathBuf,
    requests: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl HttpsDirectory {
    /// Serves `root` on a free loopback port; the certificate goes to `certificate_file`.
    pub async fn start(root: &Path, certificate_file: &Path) -> Self {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("generate a key");
        let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("certificate parameters");
        let certificate = params.self_signed(&key).expect("self-sign the mirror's certificate");
        std::fs::write(certificate_file, certificate.pem()).expect("write the mirror's certificate");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(certificate.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .expect("TLS server configuration");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let address = listener.local_addr().expect("the bound address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (root, log) = (root.to_owned(), Arc::clone(&requests));
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (acceptor, root, log) = (acceptor.clone(), root.clone(), Arc::clone(&log));
                tokio::spawn(async move {
                    if let Ok(stream) = acceptor.accept(stream).await {
                        answer(stream, &root, &log).await;
                    }
                });
            }
        });
        Self { address, certificate_file: certificate_file.to_owned(), requests, task }
    }

    /// `https://127.0.0.1:PORT/`
    pub fn url(&self) -> String {
        format!("https://{}/", self.address)
    }

    pub fn certificate_file(&self) -> &Path {
        &self.certificate_file
    }

    /// The paths requested so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("request log").clone()
    }
}

impl Drop for HttpsDirectory {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request and answers it with the file under `root`, 404 or 405.
async fn answer<S>(mut stream: S, root: &Path, log: &Mutex<Vec<String>>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut head = Vec::new();
    let mut buffer = [0_u8; 4096];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => head.extend_from_slice(&buffer[..read]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let mut words = head.split_whitespace();
    let (method, path) = (words.next().unwrap_or_default(), words.next().unwrap_or_default().to_owned());
    log.lock().expect("request log").push(path.clone());
    let relative = path.split('?').next().unwrap_or_default().trim_start_matches('/');
    let file = (!relative.split('/').any(|part| part == ".."))
        .then(|| root.join(relative))
        .and_then(|file| std::fs::read(file).ok());
    let (status, body) = match (method, file) {
        ("GET", Some(body)) => ("200 OK", body),
        ("GET", None) => ("404 Not Found", b"not found\n".to_vec()),
        _ => ("405 Method Not Allowed", b"GET only\n".to_vec()),
    };
    // Terraform's mirror client requires a media type on the JSON documents.
    let content_type = match relative.rsplit_once('.').map(|(_, extension)| extension) {
        Some("json") if status.starts_with("200") => "application/json",
        Some("zip") if status.starts_with("200") => "application/zip",
        _ => "text/plain",
    };
    let header = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(header.as_bytes()).await;
    let _ = stream.write_all(&body).await;
    let _ = stream.shutdown().await;
}
