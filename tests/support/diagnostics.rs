//! Reading Terraform's error diagnostics out of its machine-readable output, so invalid-input
//! tests can check which attribute an error names.
//!
//! Why both shapes: `terraform validate -json` prints one JSON document with a `diagnostics` list,
//! while `terraform plan -json` streams one event per line, diagnostics among them.

use serde_json::Value;

use super::CommandOutput;
use super::terraform::Terraform;

/// Error diagnostics from `validate -json` (one document) or `plan -json` (one event per line).
pub fn error_diagnostics(output: &CommandOutput) -> Vec<Value> {
    diagnostics_of(output, "error")
}

/// Warning diagnostics, read as [`error_diagnostics`] reads errors.
pub fn warning_diagnostics(output: &CommandOutput) -> Vec<Value> {
    diagnostics_of(output, "warning")
}

/// The diagnostics of `severity` (`error`, `warning`) in either output shape.
fn diagnostics_of(output: &CommandOutput, severity: &str) -> Vec<Value> {
    let mut diagnostics = Vec::new();
    for line in output.stdout.lines() {
        let Ok(event) = serde_json::from_str::<Value>(line) else { continue };
        if let Some(list) = event["diagnostics"].as_array() {
            diagnostics.extend(list.iter().cloned());
        }
        if event["type"] == "diagnostic" {
            diagnostics.push(event["diagnostic"].clone());
        }
    }
    if let Ok(document) = serde_json::from_str::<Value>(&output.stdout)
        && let Some(list) = document["diagnostics"].as_array()
    {
        diagnostics.extend(list.iter().cloned());
    }
    diagnostics.retain(|diagnostic| diagnostic["severity"] == severity);
    diagnostics
}

/// Runs an apply that must be refused because the object it would create is another state's, and
/// returns the refusal (the error diagnostic whose summary ends "already exists").
pub async fn ownership_refusal(terraform: &Terraform) -> Value {
    let refused = terraform.run(&["apply", "-auto-approve", "-input=false", "-no-color", "-json"]).await;
    assert_eq!(refused.code, 1, "the second create must be refused:\n{refused}");
    let errors = error_diagnostics(&refused);
    errors
        .iter()
        .find(|diagnostic| diagnostic["summary"].as_str().is_some_and(|summary| summary.ends_with("already exists")))
        .cloned()
        .unwrap_or_else(|| panic!("no ownership refusal among the errors: {errors:#?}"))
}
