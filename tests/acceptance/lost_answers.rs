//! Requests that reach AWS but whose answers are lost (the connection drops after the request was
//! sent): the SDK repeats them, and the repeat must not undo or duplicate what the first one did.
//! Here the deployment's `CreateAlias` answer is lost once: the repeat finds the alias already
//! there, naming the key just made — which used to be taken for someone else's alias, and the
//! provider's own new key was scheduled for deletion.

use aws_sdk_kms::types::KeyState;

use crate::support::aws::sdk_config;
use crate::support::workspace::two_zone_network;
use crate::support::{Emulator, FaultProxy, Workspace, acceptance_toolchain};

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn a_lost_create_alias_answer_keeps_the_key_and_its_alias() {
    let toolchain = acceptance_toolchain("a_lost_create_alias_answer_keeps_the_key_and_its_alias");
    let emulator = Emulator::start(&toolchain);
    let proxy = FaultProxy::start(
        &toolchain,
        &emulator,
        &["--rate", "1", "--faults", "lost", "--max-consecutive", "1", "--only-actions", "CreateAlias"],
    );
    let workspace = Workspace::new(&toolchain, &emulator);
    let provider = workspace.provider_block().replace(&emulator.endpoint(), proxy.endpoint());
    let network = two_zone_network("lost");
    workspace.write_main(&format!(
        r#"{provider}
{network}
resource "retool_deployment" "app" {{
  name           = "lost"
  network_id     = retool_network.net.id
  retool_version = "3.148.0-stable"
  domain         = "retool.lost.test"
  database {{
    deletion_protection = false
    skip_final_snapshot = true
  }}
}}
"#
    ));
    let terraform = workspace.terraform();
    terraform.init().await.expect("init");
    terraform.apply().await.expect("apply with a lost CreateAlias answer");

    let outcomes: Vec<String> = proxy.requests_of("CreateAlias");
    assert!(
        outcomes.len() >= 2 && outcomes[0] == "kms CreateAlias lost",
        "the first CreateAlias answer was lost: {outcomes:?}"
    );
    let kms = aws_sdk_kms::Client::new(&sdk_config(&emulator.endpoint()));
    let aliased = kms.describe_key().key_id("alias/retool/lost").send().await.expect("DescribeKey by alias");
    let key = aliased.key_metadata().expect("key metadata");
    assert_eq!(key.key_state(), Some(&KeyState::Enabled), "the aliased key is live, not scheduled for deletion");
    let keys = kms.list_keys().send().await.expect("ListKeys");
    assert_eq!(keys.keys().len(), 1, "one key, no duplicate: {:?}", keys.keys());
    terraform.plan().await.expect("plan after apply").assert_empty("plan after the apply");
    terraform.destroy().await.expect("destroy");
}
