//! Requests that reach AWS but whose answers are lost (the connection drops after the request was
//! sent): the SDK repeats them, and the repeat must not undo or duplicate what the first one did.
//! Here the deployment's `CreateAlias` answer is lost once: the repeat finds the alias already
//! there, naming the key just made — which used to be taken for someone else's alias, and the
//! provider's own new key was scheduled for deletion.
//!
//! A kill between `CreateKey` and `CreateAlias` leaves a key no alias leads to: the next apply
//! takes it up instead of making another (and deletes any other such key of the deployment).
//!
//! The permission boundary's policies and roles have unique names: the SDK's repeat of a create
//! whose answer was lost is refused as a duplicate, and the provider takes what holds the name as
//! the create's result because it carries every tag the create set.

use aws_sdk_kms::types::KeyState;

use crate::support::aws::{live_kms_keys, sdk_config};
use crate::support::workspace::network_and_deployment;
use crate::support::{Emulator, FaultProxy, Toolchain, Workspace, acceptance_toolchain};

/// A deployment `name` whose configuration is in `workspace`, applied through `proxy`.
async fn write_deployment(workspace: &Workspace, proxy: &FaultProxy, emulator: &Emulator, name: &str) {
    workspace.start_cluster(&[name]).await;
    let provider = workspace.provider_block().replace(&emulator.endpoint(), proxy.endpoint());
    workspace.write_main(&format!("{provider}\n{}", network_and_deployment(name)));
}

/// A proxy that loses the first answer to `action` (once).
fn losing_first_answer_of(toolchain: &Toolchain, emulator: &Emulator, action: &str) -> FaultProxy {
    FaultProxy::start(
        toolchain,
        emulator,
        &["--rate", "1", "--faults", "lost", "--max-consecutive", "1", "--only-actions", action],
    )
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn a_lost_create_alias_answer_keeps_the_key_and_its_alias() {
    let toolchain = acceptance_toolchain("a_lost_create_alias_answer_keeps_the_key_and_its_alias");
    let emulator = Emulator::start(&toolchain);
    let proxy = losing_first_answer_of(&toolchain, &emulator, "CreateAlias");
    let workspace = Workspace::new(&toolchain, &emulator);
    write_deployment(&workspace, &proxy, &emulator, "lost").await;
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

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn a_lost_create_key_answer_leaves_no_second_live_key() {
    let toolchain = acceptance_toolchain("a_lost_create_key_answer_leaves_no_second_live_key");
    let emulator = Emulator::start(&toolchain);
    let proxy = losing_first_answer_of(&toolchain, &emulator, "CreateKey");
    let workspace = Workspace::new(&toolchain, &emulator);
    write_deployment(&workspace, &proxy, &emulator, "twice").await;
    let terraform = workspace.terraform();
    terraform.init().await.expect("init");
    terraform.apply().await.expect("apply with a lost CreateKey answer");

    let outcomes: Vec<String> = proxy.requests_of("CreateKey");
    assert!(
        outcomes.len() >= 2 && outcomes[0] == "kms CreateKey lost",
        "the first CreateKey answer was lost and the request sent again: {outcomes:?}"
    );
    let kms = aws_sdk_kms::Client::new(&sdk_config(&emulator.endpoint()));
    let aliased = kms.describe_key().key_id("alias/retool/twice").send().await.expect("DescribeKey by alias");
    let aliased_id = aliased.key_metadata().expect("key metadata").key_id().to_owned();
    let live = live_kms_keys(&kms).await;
    assert_eq!(live, [aliased_id], "only the aliased key is live; the duplicate is scheduled for deletion");
    terraform.plan().await.expect("plan after apply").assert_empty("plan after the apply");
    terraform.destroy().await.expect("destroy");
}

/// A key tagged as `deployment`'s, with an ownership mark of `owner` and `extra` tags, and no alias:
/// what `CreateKey` leaves when the provider is killed before `CreateAlias`.
async fn key_without_alias(kms: &aws_sdk_kms::Client, deployment: &str, owner: &str, extra: &[(&str, &str)]) -> String {
    let tag = |key: &str, value: &str| {
        aws_sdk_kms::types::Tag::builder().tag_key(key).tag_value(value).build().expect("a KMS tag")
    };
    let mut request = kms
        .create_key()
        .description("made before a kill")
        .tags(tag("retool:deployment", deployment))
        .tags(tag("retool:owner", owner));
    for (key, value) in extra {
        request = request.tags(tag(key, value));
    }
    let created = request.send().await.expect("CreateKey");
    created.key_metadata().expect("key metadata").key_id().to_owned()
}

async fn key_state(kms: &aws_sdk_kms::Client, key_id: &str) -> Option<KeyState> {
    let described = kms.describe_key().key_id(key_id).send().await.expect("DescribeKey");
    described.key_metadata().and_then(|metadata| metadata.key_state()).cloned()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn a_key_made_before_a_kill_is_taken_up_instead_of_left_behind() {
    let toolchain = acceptance_toolchain("a_key_made_before_a_kill_is_taken_up_instead_of_left_behind");
    let emulator = Emulator::start(&toolchain);
    let kms = aws_sdk_kms::Client::new(&sdk_config(&emulator.endpoint()));
    // Two earlier applies killed between CreateKey and CreateAlias, each with its own owner token;
    // a key kept for the snapshots of an earlier deployment of the same name; another deployment's.
    let first = key_without_alias(&kms, "stray", "killed-first", &[]).await;
    let second = key_without_alias(&kms, "stray", "killed-second", &[]).await;
    let retained =
        key_without_alias(&kms, "stray", "destroyed", &[("retool:retained-for", "stray-postgres-final-1")]).await;
    let foreign = key_without_alias(&kms, "other", "other-owner", &[]).await;

    let workspace = Workspace::new(&toolchain, &emulator);
    workspace.start_cluster(&["stray"]).await;
    let provider = workspace.provider_block();
    workspace.write_main(&format!("{provider}\n{}", network_and_deployment("stray")));
    let terraform = workspace.terraform();
    terraform.init().await.expect("init");
    terraform.apply().await.expect("apply after the kills");

    let aliased = kms.describe_key().key_id("alias/retool/stray").send().await.expect("DescribeKey by alias");
    let key = aliased.key_metadata().expect("key metadata");
    assert_eq!(key.key_id(), first, "the oldest key left by a kill is taken up, not a new one made");
    let tags = kms.list_resource_tags().key_id(&first).send().await.expect("ListResourceTags");
    let owner = tags.tags().iter().find(|tag| tag.tag_key() == "retool:owner").map(|tag| tag.tag_value());
    assert!(owner.is_some_and(|owner| owner != "killed-first"), "the key now carries this state's mark: {owner:?}");
    assert_eq!(
        key_state(&kms, &second).await,
        Some(KeyState::PendingDeletion),
        "the other stray is scheduled for deletion"
    );
    assert_eq!(key_state(&kms, &retained).await, Some(KeyState::Enabled), "a key kept for snapshots is left alone");
    assert_eq!(key_state(&kms, &foreign).await, Some(KeyState::Enabled), "another deployment's key is left alone");
    let keys = kms.list_keys().send().await.expect("ListKeys");
    assert_eq!(keys.keys().len(), 4, "no key made: {:?}", keys.keys());

    terraform.plan().await.expect("plan after apply").assert_empty("plan after the apply");
    terraform.destroy().await.expect("destroy");
    assert_eq!(key_state(&kms, &first).await, Some(KeyState::PendingDeletion), "destroy schedules the taken-up key");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn lost_create_policy_and_create_role_answers_do_not_fail_the_boundary() {
    let toolchain = acceptance_toolchain("lost_create_policy_and_create_role_answers_do_not_fail_the_boundary");
    let emulator = Emulator::start(&toolchain);
    let proxy = losing_first_answer_of(&toolchain, &emulator, "CreatePolicy,CreateRole");
    let workspace = Workspace::new(&toolchain, &emulator);
    let provider = workspace.provider_block().replace(&emulator.endpoint(), proxy.endpoint());
    workspace.write_main(&format!(
        r#"{provider}
resource "retool_permission_boundary" "operator" {{
  name_prefix             = "lost"
  operator_principal_arns = ["arn:aws:iam::444455556666:role/retool-operator"]
}}
"#
    ));
    let terraform = workspace.terraform();
    terraform.init().await.expect("init");
    terraform.apply().await.expect("apply with lost CreatePolicy and CreateRole answers");

    for action in ["CreatePolicy", "CreateRole"] {
        let outcomes = proxy.requests_of(action);
        assert!(
            outcomes.first().is_some_and(|first| first.ends_with(" lost")) && outcomes.len() >= 2,
            "the first {action} answer was lost and the request sent again: {outcomes:?}"
        );
    }
    terraform.plan().await.expect("plan after apply").assert_empty("plan after the apply");
    terraform.destroy().await.expect("destroy");
    let iam = aws_sdk_iam::Client::new(&sdk_config(&emulator.endpoint()));
    let roles = iam.list_roles().send().await.expect("ListRoles");
    assert!(roles.roles().iter().all(|role| !role.role_name().starts_with("lost")), "destroy left a role");
}
