//! The provider executable Terraform launches.
//!
//! All it does is wire the layers together: the retool provider, served by the tfplugin6 protocol
//! service, carried by the go-plugin transport. Run by hand it explains that it is a plugin; with
//! `--debug` it serves in the foreground for a debugger (see `plugin::reattach`); `--version`
//! prints the version it was built as, so a release can check the binary it packages.

use std::process::ExitCode;

use terraform_provider_retool::plugin::{self, MAX_MESSAGE_BYTES};
use terraform_provider_retool::protocol::server::ProviderService;
use terraform_provider_retool::provider::RetoolProvider;

/// The address Terraform knows this provider by, used in debug (reattach) mode.
const PROVIDER_ADDRESS: &str = "registry.terraform.io/retool-byoc/retool";

/// The version this binary was built as: `RETOOL_PROVIDER_VERSION` at compile time when set
/// (`make release VERSION=x.y.z` sets it, and Cargo rebuilds when it changes), else Cargo.toml's.
const VERSION: &str = match option_env!("RETOOL_PROVIDER_VERSION") {
    Some(version) => version,
    None => env!("CARGO_PKG_VERSION"),
};

fn main() -> ExitCode {
    plugin::init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("terraform-provider-retool: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let service = ProviderService::new(RetoolProvider::new()).into_server(MAX_MESSAGE_BYTES);
    runtime.block_on(plugin::serve_from_command_line(tonic::service::Routes::new(service), PROVIDER_ADDRESS, VERSION))
}
