//! Proves the acceptance harness on its own, before our provider is involved: real Terraform,
//! the moto emulator, and the S3 backend with S3-native locking (`use_lockfile`), driven
//! through init, validate, plan, apply, an empty second plan, a held lock, an update and destroy,
//! with the state and lock objects checked through the S3 API after each step.

use crate::support::workspace::STATE_KEY;

use crate::support::{Emulator, Workspace, acceptance_toolchain};

const LOCK_KEY: &str = "acceptance/terraform.tfstate.tflock";

fn probe_config(input: &str) -> String {
    format!(
        r#"resource "terraform_data" "probe" {{
  input = "{input}"
}}

output "probe" {{
  value = terraform_data.probe.output
}}
"#
    )
}

/// The `terraform_data.probe` resources recorded in the state object stored in S3.
fn stored_probe_inputs(emulator: &Emulator, workspace: &Workspace) -> Vec<String> {
    let state: serde_json::Value = serde_json::from_str(&emulator.get_object(workspace.bucket(), STATE_KEY))
        .expect("the state object in S3 is JSON");
    state["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|resource| resource["type"] == "terraform_data" && resource["name"] == "probe")
        .flat_map(|resource| resource["instances"].as_array().cloned().unwrap_or_default())
        // `input` is a dynamic attribute, stored as `{ "value": ..., "type": ... }`.
        .map(|instance| instance["attributes"]["input"]["value"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn s3_backend_with_lockfile_on_the_emulator_runs_the_full_lifecycle() {
    let toolchain = acceptance_toolchain("s3_backend_with_lockfile_on_the_emulator_runs_the_full_lifecycle");
    let emulator = Emulator::start(&toolchain);
    let workspace = Workspace::new(&toolchain, &emulator);
    let terraform = workspace.terraform();
    workspace.write_main_builtin_only(&probe_config("first"));

    terraform.init().await.expect("init with the S3 backend on the emulator");
    terraform.validate().await.expect("validate");
    terraform.plan().await.expect("plan").assert_changes("plan before the first apply");

    terraform.apply().await.expect("apply");
    let keys = emulator.list_keys(workspace.bucket());
    assert!(keys.iter().any(|key| key == STATE_KEY), "state object missing after apply: {keys:?}");
    assert!(!keys.iter().any(|key| key == LOCK_KEY), "lock object left behind after apply: {keys:?}");
    assert_eq!(stored_probe_inputs(&emulator, &workspace), ["first"]);
    assert_eq!(terraform.outputs().await.expect("outputs")["probe"], "first");

    terraform.plan().await.expect("second plan").assert_empty("second plan after apply");

    // While someone else holds the lock object, Terraform must refuse to plan: the lock is
    // taken with a conditional write (If-None-Match: *) that the emulator has to honour.
    emulator.put_object(workspace.bucket(), LOCK_KEY, r#"{"ID":"held-by-the-test","Operation":"OperationTypeApply"}"#);
    let refused =
        terraform.fail(&["plan", "-input=false", "-no-color", "-lock-timeout=0s"]).await.expect("plan while locked");
    assert!(
        refused.stderr.contains("Error acquiring the state lock"),
        "plan failed, but not because of the held lock:\n{refused}"
    );
    emulator.delete_object(workspace.bucket(), LOCK_KEY);

    workspace.write_main_builtin_only(&probe_config("second"));
    terraform.plan().await.expect("plan after the change").assert_changes("plan after changing input");
    terraform.apply().await.expect("apply the change");
    assert_eq!(stored_probe_inputs(&emulator, &workspace), ["second"]);
    terraform.plan().await.expect("plan after the update").assert_empty("plan after the update");

    terraform.destroy().await.expect("destroy");
    let keys = emulator.list_keys(workspace.bucket());
    assert!(keys.iter().any(|key| key == STATE_KEY), "state object gone after destroy: {keys:?}");
    assert!(!keys.iter().any(|key| key == LOCK_KEY), "lock object left behind after destroy: {keys:?}");
    assert!(stored_probe_inputs(&emulator, &workspace).is_empty(), "destroy left the probe in the state");
}
