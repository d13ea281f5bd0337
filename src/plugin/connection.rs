//! The listening side of the plugin: a unix socket in a private directory, and the stream of
//! ready connections (TLS already terminated when AutoMTLS is on) that tonic serves.
//!
//! We terminate TLS ourselves with tokio-rustls instead of tonic's built-in TLS so we control the
//! client-certificate check (see [`super::tls`]). Each handshake runs in its own task with a
//! deadline, so a stalled or refused client never holds up the next one.

use std::io;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use tempfile::TempDir;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tonic::transport::server::Connected;

use super::PluginError;

/// A client must finish the TLS handshake within this time or be dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections that finished their handshake but were not yet picked up by the server.
const READY_BACKLOG: usize = 16;
/// Pause after a failed `accept` (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(50);

/// A bound unix socket inside a directory only this user can enter; both vanish on drop.
#[derive(Debug)]
pub struct PluginSocket {
    /// Where clients connect; goes into the handshake line.
    pub path: PathBuf,
    /// The bound listener.
    pub listener: UnixListener,
    _private_dir: TempDir,
}

impl PluginSocket {
    /// Creates a fresh 0700 directory (inside `parent`, or the system temp dir) and binds
    /// `plugin.sock` in it. Must be called from within a tokio runtime.
    pub fn bind(parent: Option<&Path>) -> Result<Self, PluginError> {
        let mut builder = tempfile::Builder::new();
        builder.prefix(concat!(env!("CARGO_PKG_NAME"), "-"));
        let private_dir = match parent {
            Some(parent) => builder.tempdir_in(parent),
            None => builder.tempdir(),
        }
        .map_err(PluginError::Socket)?;
        std::fs::set_permissions(private_dir.path(), std::fs::Permissions::from_mode(0o700))
            .map_err(PluginError::Socket)?;
        let path = private_dir.path().join("plugin.sock");
        if path.to_string_lossy().contains(['|', '\n', '\r']) {
            return Err(PluginError::Socket(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("socket path {} cannot be written in the handshake line", path.display()),
            )));
        }
        let listener = UnixListener::bind(&path).map_err(PluginError::Socket)?;
        Ok(Self { path, listener, _private_dir: private_dir })
    }
}

/// One accepted client connection, plaintext or TLS-terminated.
#[derive(Debug)]
pub enum PluginConnection {
    /// Plaintext, for `--debug` mode or hosts that do not use AutoMTLS.
    Plain(UnixStream),
    /// A TLS session whose client presented the pinned certificate.
    Tls(Box<TlsStream<UnixStream>>),
}

impl Connected for PluginConnection {
    type ConnectInfo = ();

    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for PluginConnection {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for PluginConnection {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(stream) => stream.is_write_vectored(),
            Self::Tls(stream) => stream.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_flush(cx),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Connections ready to be served, produced by a background accept loop.
///
/// Dropping it stops the accept loop; handshakes already in progress finish or time out alone.
#[derive(Debug)]
pub struct Incoming {
    ready: mpsc::Receiver<PluginConnection>,
    accept_loop: JoinHandle<()>,
}

impl Incoming {
    /// Starts accepting on `socket`, terminating TLS with `tls` when given. The socket and its
    /// directory are removed once this is dropped.
    pub fn start(socket: PluginSocket, tls: Option<TlsAcceptor>) -> Self {
        let (sender, ready) = mpsc::channel(READY_BACKLOG);
        let accept_loop = tokio::spawn(accept_loop(socket, tls, sender));
        Self { ready, accept_loop }
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

impl Stream for Incoming {
    type Item = Result<PluginConnection, io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.ready.poll_recv(cx).map(|connection| connection.map(Ok))
    }
}

async fn accept_loop(socket: PluginSocket, tls: Option<TlsAcceptor>, ready: mpsc::Sender<PluginConnection>) {
    loop {
        let stream = match socket.listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(error) => {
                tracing::warn!(%error, "accepting a plugin connection failed");
                tokio::time::sleep(ACCEPT_RETRY_DELAY).await;
                continue;
            }
        };
        match &tls {
            None => {
                if ready.send(PluginConnection::Plain(stream)).await.is_err() {
                    return;
                }
            }
            Some(acceptor) => {
                tokio::spawn(handshake(acceptor.clone(), stream, ready.clone()));
            }
        }
    }
}

async fn handshake(acceptor: TlsAcceptor, stream: UnixStream, ready: mpsc::Sender<PluginConnection>) {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(session)) => {
            // The receiver is gone only when the server has stopped; the connection just closes.
            let _ = ready.send(PluginConnection::Tls(Box::new(session))).await;
        }
        Ok(Err(error)) => {
            tracing::warn!(%error, "refused a plugin connection: TLS handshake failed")
        }
        Err(_) => tracing::warn!("refused a plugin connection: TLS handshake timed out"),
    }
}
