//! Retool Storage end to end on the emulator: the bucket with its encryption, public access
//! block, versioning, policy and tags, and the api pods' role, as S3 and IAM report them;
//! switching storage off deletes an empty bucket; a destroy keeps a bucket that holds data, and
//! the KMS key that encrypts it.

use aws_sdk_iam::Client as Iam;
use aws_sdk_kms::Client as Kms;
use aws_sdk_kms::types::KeyState;
use aws_sdk_s3::Client as S3;
use serde_json::Value as Json;

use crate::support::aws::sdk_config;
use crate::support::workspace::two_zone_network;
use crate::support::{Emulator, Workspace, acceptance_toolchain};

const NAME: &str = "store";
/// The emulator's account is 123456789012.
const BUCKET: &str = "retool-storage-store-123456789012";
const ROLE: &str = "store-storage";

fn config(workspace: &Workspace, storage: bool) -> String {
    let provider = workspace.provider_block();
    let network = two_zone_network(NAME);
    format!(
        r#"{provider}
{network}

resource "retool_deployment" "app" {{
  name           = "{NAME}"
  network_id     = retool_network.net.id
  retool_version = "3.148.0-stable"
  domain         = "retool.store.test"
  database {{
    deletion_protection = false
    skip_final_snapshot = true
  }}
  storage {{
    enabled = {storage}
  }}
}}

output "storage_bucket" {{
  value = retool_deployment.app.storage_bucket
}}

output "kms_key_arn" {{
  value = retool_deployment.app.kms_key_arn
}}
"#
    )
}

fn s3(endpoint: &str) -> S3 {
    S3::from_conf(aws_sdk_s3::config::Builder::from(&sdk_config(endpoint)).force_path_style(true).build())
}

async fn bucket_exists(s3: &S3) -> bool {
    s3.list_buckets().send().await.expect("ListBuckets").buckets().iter().any(|b| b.name() == Some(BUCKET))
}

/// Asserts the bucket and the role as S3 and IAM hold them.
async fn assert_storage(s3: &S3, iam: &Iam, key_arn: &str) {
    let encryption = s3.get_bucket_encryption().bucket(BUCKET).send().await.expect("GetBucketEncryption");
    let rule = encryption.server_side_encryption_configuration().and_then(|c| c.rules().first()).expect("a rule");
    let by_default = rule.apply_server_side_encryption_by_default().expect("default encryption");
    assert_eq!(by_default.sse_algorithm().as_str(), "aws:kms");
    assert_eq!(by_default.kms_master_key_id(), Some(key_arn), "encrypted with the deployment's key");
    assert_eq!(rule.bucket_key_enabled(), Some(true));

    let block = s3.get_public_access_block().bucket(BUCKET).send().await.expect("GetPublicAccessBlock");
    let block = block.public_access_block_configuration().expect("block");
    assert_eq!(
        [
            block.block_public_acls(),
            block.ignore_public_acls(),
            block.block_public_policy(),
            block.restrict_public_buckets()
        ],
        [Some(true); 4]
    );
    let versioning = s3.get_bucket_versioning().bucket(BUCKET).send().await.expect("GetBucketVersioning");
    assert_eq!(versioning.status().map(|s| s.as_str()), Some("Enabled"));

    let policy = s3.get_bucket_policy().bucket(BUCKET).send().await.expect("GetBucketPolicy");
    let policy: Json = serde_json::from_str(policy.policy().expect("policy")).expect("policy JSON");
    let statements = policy["Statement"].as_array().expect("statements");
    let tls = statements.iter().find(|s| s["Condition"]["Bool"]["aws:SecureTransport"] == "false").expect("TLS deny");
    assert_eq!((&tls["Effect"], &tls["Action"]), (&"Deny".into(), &"s3:*".into()));
    let others = statements.iter().find(|s| s["Condition"].get("ArnNotEquals").is_some()).expect("object deny");
    assert_eq!(others["Effect"], "Deny");
    assert_eq!(
        others["Condition"]["ArnNotEquals"]["aws:PrincipalArn"],
        format!("arn:aws:iam::123456789012:role/{ROLE}")
    );
    assert!(others["Action"].as_array().is_some_and(|a| a.contains(&"s3:GetObject*".into())), "{others}");

    let tagging = s3.get_bucket_tagging().bucket(BUCKET).send().await.expect("GetBucketTagging");
    let tag = |key: &str| tagging.tag_set().iter().find(|t| t.key() == key).map(|t| t.value().to_owned());
    assert_eq!(tag("retool:deployment").as_deref(), Some(NAME));
    assert!(tag("retool:owner").is_some(), "the ownership mark: {:?}", tagging.tag_set());

    let role = iam.get_role().role_name(ROLE).send().await.expect("GetRole").role.expect("role");
    let trust = canonical_document(role.assume_role_policy_document().expect("trust"));
    let trust: Json = serde_json::from_str(&trust).expect("trust JSON");
    let conditions = &trust["Statement"][0]["Condition"]["StringEquals"];
    let sub = conditions.as_object().and_then(|c| c.iter().find(|(k, _)| k.ends_with(":sub"))).map(|(_, v)| v.clone());
    assert_eq!(
        sub,
        Some(format!("system:serviceaccount:{NAME}:retool-api").into()),
        "the api pods' account, in the deployment's namespace"
    );
    assert_eq!(trust["Statement"][0]["Action"], "sts:AssumeRoleWithWebIdentity");
    let inline = iam.get_role_policy().role_name(ROLE).policy_name("retool-storage").send().await.expect("policy");
    let inline: Json = serde_json::from_str(&canonical_document(inline.policy_document())).expect("policy JSON");
    assert_eq!(
        inline["Statement"][0]["Resource"],
        serde_json::json!([format!("arn:aws:s3:::{BUCKET}"), format!("arn:aws:s3:::{BUCKET}/*")])
    );
    assert_eq!(inline["Statement"][1]["Resource"], key_arn);
    assert_eq!(inline["Statement"][1]["Condition"]["StringEquals"]["kms:ViaService"], "s3.us-east-1.amazonaws.com");
}

/// A policy document as IAM returns it (URL-encoded), rendered canonically.
fn canonical_document(text: &str) -> String {
    terraform_provider_retool::aws::iam::PolicyDocument::parse(text).expect("policy document").to_canonical_json()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn storage_bucket_and_role_are_built_an_empty_bucket_goes_and_one_with_data_is_kept_with_its_key() {
    let toolchain = acceptance_toolchain("retool_storage");
    let emulator = Emulator::start(&toolchain);
    let config_ = sdk_config(&emulator.endpoint());
    let (s3, iam, kms) = (s3(&emulator.endpoint()), Iam::new(&config_), Kms::new(&config_));
    let workspace = Workspace::new(&toolchain, &emulator);
    workspace.start_cluster(&[NAME]).await;
    let terraform = workspace.terraform();

    workspace.write_main(&config(&workspace, true));
    terraform.init().await.expect("init");
    terraform.apply().await.expect("create with storage");
    let outputs = terraform.outputs().await.expect("outputs");
    assert_eq!(outputs["storage_bucket"], BUCKET);
    let key_arn = outputs["kms_key_arn"].as_str().expect("key ARN").to_owned();
    assert_storage(&s3, &iam, &key_arn).await;
    terraform.plan().await.expect("plan after create").assert_empty("plan after creating storage");

    // Off: the empty bucket and the role are deleted.
    workspace.write_main(&config(&workspace, false));
    terraform.apply().await.expect("storage off");
    assert!(!bucket_exists(&s3).await, "the empty bucket is deleted");
    assert!(iam.get_role().role_name(ROLE).send().await.is_err(), "the role is deleted");
    assert_eq!(terraform.outputs().await.expect("outputs")["storage_bucket"], Json::Null);
    terraform.plan().await.expect("plan after off").assert_empty("plan after switching storage off");

    // On again, with a file in it: destroy keeps the bucket, and the key that encrypts it.
    workspace.write_main(&config(&workspace, true));
    terraform.apply().await.expect("storage on again");
    assert_storage(&s3, &iam, &key_arn).await;
    let put = || s3.put_object().bucket(BUCKET).key("uploads/report.pdf").body(b"customer data".to_vec().into());
    // The emulator enforces the bucket policy: this test's identity, over plain HTTP, is refused.
    let refused = put().send().await.expect_err("the bucket policy refuses other principals");
    assert_eq!(refused.raw_response().map(|r| r.status().as_u16()), Some(403));
    // The account's administrator lifts the policy to put a file there.
    s3.delete_bucket_policy().bucket(BUCKET).send().await.expect("DeleteBucketPolicy");
    put().send().await.expect("PutObject");
    let destroyed = terraform.destroy().await.expect("destroy");
    assert!(bucket_exists(&s3).await, "a bucket holding data is kept");
    let listed = s3.list_object_versions().bucket(BUCKET).send().await.expect("ListObjectVersions");
    assert_eq!(listed.versions().len(), 1, "its object is untouched");
    let key = kms.describe_key().key_id(&key_arn).send().await.expect("DescribeKey");
    assert_ne!(
        key.key_metadata().and_then(|m| m.key_state()),
        Some(&KeyState::PendingDeletion),
        "the key of a kept bucket is not scheduled for deletion"
    );
    let tags = kms.list_resource_tags().key_id(&key_arn).send().await.expect("ListResourceTags");
    let retained = tags.tags().iter().find(|t| t.tag_key() == "retool:retained-for").map(|t| t.tag_value().to_owned());
    assert!(retained.is_some_and(|v| v.contains(BUCKET)), "the key is tagged with the bucket: {:?}", tags.tags());
    let output = format!("{}{}", destroyed.stdout, destroyed.stderr);
    assert!(output.contains(BUCKET) && output.contains(&key_arn), "the destroy names what it kept:\n{destroyed}");
}
