//! AWS SDK clients the tests use to check what really exists in the emulator.
//!
//! Built by hand with an explicit endpoint, region and static fake credentials, never from the
//! default chain, so a test can only ever talk to its loopback emulator.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_ec2::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_types::config_bag::ConfigBag;

pub const REGION: &str = "us-east-1";

pub fn ec2(endpoint: &str) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::from_conf(ec2_config(endpoint).build())
}

/// An EC2 client whose operations `calls` counts, for tests that bound the AWS calls of a step.
pub fn ec2_counting(endpoint: &str, calls: &CallCounter) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::from_conf(ec2_config(endpoint).interceptor(calls.clone()).build())
}

fn ec2_config(endpoint: &str) -> aws_sdk_ec2::config::Builder {
    aws_sdk_ec2::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "acceptance-tests"))
}

/// The shared SDK configuration of the other services' clients (same endpoint, region and fake
/// credentials).
pub fn sdk_config(endpoint: &str) -> aws_types::SdkConfig {
    aws_types::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
            "test",
            "test",
            None,
            None,
            "acceptance-tests",
        )))
        .build()
}

/// Counts the operations a client starts (retries of one operation count once).
#[derive(Debug, Clone, Default)]
pub struct CallCounter(Arc<AtomicUsize>);

impl CallCounter {
    /// The operations started since the last `take`.
    pub fn take(&self) -> usize {
        self.0.swap(0, Ordering::SeqCst)
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_execution(
        &self,
        _: &BeforeSerializationInterceptorContextRef<'_>,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Drift by hand: opens SSH to the whole internet on security group `group_id`, a rule no
/// network of ours ever has.
pub async fn open_ssh_to_the_world(ec2: &aws_sdk_ec2::Client, group_id: &str) {
    use aws_sdk_ec2::types::{IpPermission, IpRange};
    let ssh = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build();
    ec2.authorize_security_group_ingress()
        .group_id(group_id)
        .ip_permissions(ssh)
        .send()
        .await
        .expect("AuthorizeSecurityGroupIngress");
}

/// The keys not scheduled for deletion.
pub async fn live_kms_keys(kms: &aws_sdk_kms::Client) -> Vec<String> {
    let keys = kms.list_keys().send().await.expect("ListKeys");
    let mut live = Vec::new();
    for key in keys.keys() {
        let key_id = key.key_id().expect("key id");
        let described = kms.describe_key().key_id(key_id).send().await.expect("DescribeKey");
        if described.key_metadata().and_then(|metadata| metadata.key_state())
            != Some(&aws_sdk_kms::types::KeyState::PendingDeletion)
        {
            live.push(key_id.to_owned());
        }
    }
    live
}
