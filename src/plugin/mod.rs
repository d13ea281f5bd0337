//! The go-plugin transport: everything between "Terraform starts our process" and "a gRPC request
//! reaches the tfplugin6 service".
//!
//! Terraform launches providers through HashiCorp's go-plugin. That contract is not gRPC itself but
//! the ritual around it, and each piece lives in its own file:
//!
//! * [`handshake`] — the environment Terraform sets (magic cookie, protocol versions, client
//!   certificate, socket directory) and the one line we print back on stdout.
//! * [`tls`] — AutoMTLS: a fresh server certificate per start and a client-certificate check that
//!   admits only the exact certificate Terraform handed us.
//! * [`connection`] — accepting unix-socket connections, terminating TLS, feeding tonic.
//! * [`shutdown`], [`controller`], [`stdio`], [`broker`] — go-plugin's companion services and the
//!   shared "stop now" signal they react to.
//! * [`reattach`] — `--debug` mode, where a developer starts the provider and points Terraform at it.
//! * [`serve`](mod@serve) — ties the pieces together.
//! * [`logging`] — `tracing` output as the hclog JSON lines go-plugin relays into Terraform's log.
//!
//! The transport knows nothing about resources: it serves whatever tonic routes it is given.

pub mod broker;
pub mod connection;
pub mod controller;
pub mod error;
pub mod handshake;
pub mod logging;
pub mod reattach;
pub mod serve;
pub mod shutdown;
pub mod stdio;
pub mod tls;

pub use error::PluginError;
pub use handshake::{InterruptPolicy, ServeConfig, ServeMode};
pub use logging::init_logging;
pub use serve::{serve, serve_from_command_line, serve_with_output};

/// Largest gRPC message the provider service accepts or sends (256 MiB).
///
/// Terraform ships whole plans and states in single messages; tonic's 4 MiB default would reject
/// large ones. Apply it to the generated `ProviderServer` with `max_decoding_message_size` and
/// `max_encoding_message_size`.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;
