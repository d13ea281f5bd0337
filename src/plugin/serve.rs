//! Serving the provider the way go-plugin expects: bind, secure, announce, serve, stop.
//!
//! Order matters. The socket is bound and the TLS settings are ready *before* the handshake line
//! is printed, because Terraform connects the moment it reads it. Health reports `plugin` as
//! SERVING (go-plugin pings it), and the controller's `Shutdown` stops the server gracefully so
//! its own reply still reaches Terraform.

use std::process::ExitCode;
use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt as _};
use tokio::signal::unix::{SignalKind, signal};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic_health::ServingStatus;

use super::PluginError;
use super::connection::{Incoming, PluginSocket};
use super::handshake::{InterruptPolicy, PLUGIN_PROTOCOL_VERSION, ServeConfig, ServeMode, handshake_line};
use super::reattach::reattach_instructions;
use super::shutdown::Shutdown;
use super::tls::AutoMtls;
use crate::protocol::go_plugin::grpc_broker_server::GrpcBrokerServer;
use crate::protocol::go_plugin::grpc_controller_server::GrpcControllerServer;
use crate::protocol::go_plugin::grpc_stdio_server::GrpcStdioServer;

/// The health-check service name go-plugin's host asks about.
const HEALTH_SERVICE_NAME: &str = "plugin";
/// After shutdown is requested, how long open connections get to finish before we stop anyway.
const GRACEFUL_STOP_LIMIT: Duration = Duration::from_secs(1);

/// Runs the provider for `main`: `--version` prints `terraform-provider-retool <version>` and
/// exits (packaging checks the binary it zips this way), `--debug` selects debug mode, otherwise
/// the go-plugin environment is required. Problems are printed to stderr and become exit code 1.
/// Once started, the provider logs its address, `version` and protocol at info level, which
/// Terraform shows with `TF_LOG=info`.
pub async fn serve_from_command_line(provider: Routes, provider_address: &str, version: &str) -> ExitCode {
    let flag = |name: &str| {
        std::env::args()
            .skip(1)
            .any(|arg| arg.strip_prefix('-').map(|arg| arg.strip_prefix('-').unwrap_or(arg)) == Some(name))
    };
    if flag("version") {
        println!("{} {version}", env!("CARGO_PKG_NAME"));
        return ExitCode::SUCCESS;
    }
    let debug = flag("debug");
    let config = if debug {
        ServeConfig::debug(provider_address)
    } else {
        match ServeConfig::from_env() {
            Ok(config) => config,
            Err(error) => {
                eprintln!("{error}");
                return ExitCode::FAILURE;
            }
        }
    };
    tracing::info!(
        provider = provider_address,
        version,
        protocol = PLUGIN_PROTOCOL_VERSION,
        "{} {version} starting (plugin protocol {PLUGIN_PROTOCOL_VERSION})",
        env!("CARGO_PKG_NAME")
    );
    match serve(provider, config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "provider stopped with an error");
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}

/// Serves `provider` (plus go-plugin's health, controller, stdio and broker services) until the
/// host calls `GRPCController/Shutdown` (or on Ctrl-C under [`InterruptPolicy::Stop`]).
/// The handshake line, or the reattach instructions in debug mode, go to stdout.
pub async fn serve(provider: Routes, config: ServeConfig) -> Result<(), PluginError> {
    serve_with_output(provider, config, tokio::io::stdout()).await
}

/// [`serve`], announcing the socket on `announce_to` instead of stdout.
pub async fn serve_with_output<W>(provider: Routes, config: ServeConfig, mut announce_to: W) -> Result<(), PluginError>
where
    W: AsyncWrite + Unpin,
{
    let socket = PluginSocket::bind(config.socket_parent_dir.as_deref())?;
    let auto_mtls = config.client_certificate.map(AutoMtls::new).transpose()?;

    let shutdown = Shutdown::new();
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_service_status(HEALTH_SERVICE_NAME, ServingStatus::Serving).await;
    let routes = provider
        .add_service(health_service)
        .add_service(GrpcControllerServer::new(shutdown.clone()))
        .add_service(GrpcStdioServer::new(shutdown.clone()))
        .add_service(GrpcBrokerServer::new(shutdown.clone()));

    let interrupts = watch_interrupts(config.interrupts, shutdown.clone())?;
    let host = config.host_process.map(|host| tokio::spawn(watch_host(host, shutdown.clone())));

    let announcement = match &config.mode {
        ServeMode::Managed => {
            let server_certificate = auto_mtls.as_ref().map(|tls| &tls.server_certificate);
            format!("{}\n", handshake_line(&socket.path, server_certificate))
        }
        ServeMode::Debug { provider_address } => {
            reattach_instructions(provider_address, &socket.path, std::process::id())
        }
    };
    announce_to.write_all(announcement.as_bytes()).await.map_err(PluginError::Announce)?;
    announce_to.flush().await.map_err(PluginError::Announce)?;
    tracing::debug!(socket = %socket.path.display(), tls = auto_mtls.is_some(), "plugin server listening");

    let incoming = Incoming::start(socket, auto_mtls.map(|tls| TlsAcceptor::from(tls.server_config)));
    let stop_requested = {
        let shutdown = shutdown.clone();
        async move { shutdown.triggered().await }
    };
    let serving = Server::builder().add_routes(routes).serve_with_incoming_shutdown(incoming, stop_requested);
    let outcome = tokio::select! {
        result = serving => result.map_err(PluginError::from),
        () = async {
            shutdown.triggered().await;
            tokio::time::sleep(GRACEFUL_STOP_LIMIT).await;
        } => {
            tracing::debug!("connections still open after shutdown was requested; stopping anyway");
            Ok(())
        }
    };
    for task in interrupts.into_iter().chain(host) {
        task.abort();
    }
    tracing::debug!("plugin server stopped");
    outcome
}

/// How often the host process is checked for.
const HOST_CHECK_INTERVAL: Duration = Duration::from_millis(500);

/// Stops serving once `host` is no longer this process's parent: the host died without asking us
/// to stop, and the kernel handed this process to another parent. Polling the parent id needs no
/// unsafe code (unlike `PR_SET_PDEATHSIG`) and works wherever the host runs.
async fn watch_host(host: u32, shutdown: Shutdown) {
    let mut checks = tokio::time::interval(HOST_CHECK_INTERVAL);
    loop {
        checks.tick().await;
        if std::os::unix::process::parent_id() != host {
            tracing::info!(host_pid = host, "Terraform (the process that started this provider) has exited; stopping");
            shutdown.trigger();
            return;
        }
    }
}

/// Installs the SIGINT handling `policy` asks for. The handler is registered before this
/// returns (not lazily in a task), so an interrupt arriving right after the handshake line is
/// already covered.
fn watch_interrupts(policy: InterruptPolicy, shutdown: Shutdown) -> Result<Option<JoinHandle<()>>, PluginError> {
    if policy == InterruptPolicy::Unhandled {
        return Ok(None);
    }
    let mut interrupts = signal(SignalKind::interrupt()).map_err(PluginError::Signals)?;
    Ok(Some(tokio::spawn(async move {
        while interrupts.recv().await.is_some() {
            if policy == InterruptPolicy::Stop {
                shutdown.trigger();
                return;
            }
            tracing::trace!("ignoring interrupt; Terraform stops providers through StopProvider");
        }
    })))
}
