//! Why the transport could not start or keep serving, worded for the person who sees it.
//!
//! `main` prints these to stderr and exits 1, so each message must make sense on its own to a
//! user who ran the binary by hand or to an operator reading Terraform's output.

use std::io;

/// Everything that stops the plugin transport.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The magic cookie is missing or wrong: a person ran the binary, not Terraform.
    #[error(
        "This program is a Terraform provider plugin and is not meant to be run directly. \
         Run `terraform` instead: it starts this plugin by itself when a configuration uses it. \
         (To debug the provider, run it with --debug.)"
    )]
    NotLaunchedByPluginHost,

    /// The host does not speak plugin protocol 6.
    #[error(
        "Terraform offered plugin protocol versions {offered:?}, but this provider only speaks \
         protocol 6. Upgrade Terraform to 1.13 or newer."
    )]
    UnsupportedProtocolVersions {
        /// The raw `PLUGIN_PROTOCOL_VERSIONS` value.
        offered: String,
    },

    /// `PLUGIN_CLIENT_CERT` is set but does not hold exactly one PEM certificate.
    #[error("PLUGIN_CLIENT_CERT must hold exactly one PEM certificate: {reason}")]
    InvalidClientCertificate {
        /// What was wrong with it.
        reason: String,
    },

    /// Creating the private socket directory or binding the socket failed.
    #[error("could not create the plugin socket: {0}")]
    Socket(#[source] io::Error),

    /// Installing the SIGINT handler failed.
    #[error("could not install the interrupt handler: {0}")]
    Signals(#[source] io::Error),

    /// Generating our certificate or building the TLS configuration failed.
    #[error("could not set up TLS for the plugin connection: {reason}")]
    Tls {
        /// The underlying failure.
        reason: String,
    },

    /// Writing the handshake (or reattach) line failed, e.g. stdout is closed.
    #[error("could not announce the plugin address: {0}")]
    Announce(#[source] io::Error),

    /// The gRPC server itself failed.
    #[error("the plugin's gRPC server failed: {0}")]
    Server(#[from] tonic::transport::Error),
}
