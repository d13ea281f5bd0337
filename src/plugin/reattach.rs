//! `--debug` mode output: the `TF_REATTACH_PROVIDERS` value that points Terraform at a provider
//! process a developer started by hand (for example under a debugger).
//!
//! Terraform then connects to the socket instead of launching the provider, without AutoMTLS,
//! and — because the entry is marked as a test instance — never tries to stop the process.

use std::path::Path;

use serde_json::json;

/// Human instructions ending with a copy-pasteable `TF_REATTACH_PROVIDERS='…'` line.
pub fn reattach_instructions(provider_address: &str, socket_path: &Path, pid: u32) -> String {
    format!(
        "Provider started in debug mode. To make Terraform use this process, set:\n\n\
         \tTF_REATTACH_PROVIDERS='{}'\n\n\
         Stop it with Ctrl-C.\n",
        reattach_value(provider_address, socket_path, pid)
    )
}

/// The JSON value of `TF_REATTACH_PROVIDERS` for one provider.
pub fn reattach_value(provider_address: &str, socket_path: &Path, pid: u32) -> String {
    json!({
        provider_address: {
            "Protocol": "grpc",
            "ProtocolVersion": super::handshake::PLUGIN_PROTOCOL_VERSION,
            "Pid": pid,
            "Test": true,
            "Addr": { "Network": "unix", "String": socket_path.to_string_lossy() },
        }
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reattach_value_has_terraforms_shape() {
        let value = reattach_value("registry.terraform.io/retool-byoc/retool", Path::new("/tmp/d/plugin.sock"), 4242);
        assert_eq!(
            value,
            r#"{"registry.terraform.io/retool-byoc/retool":{"Protocol":"grpc","ProtocolVersion":6,"Pid":4242,"Test":true,"Addr":{"Network":"unix","String":"/tmp/d/plugin.sock"}}}"#
        );
    }

    #[test]
    fn instructions_contain_a_shell_ready_line() {
        let text = reattach_instructions("registry.terraform.io/retool-byoc/retool", Path::new("/s"), 1);
        let line = text.lines().find(|line| line.trim_start().starts_with("TF_REATTACH_PROVIDERS=")).unwrap();
        assert!(line.trim_end().ends_with("}'"), "{line}");
    }
}
