//! AWS SDK clients the tests use to check what really exists in the emulator.
//!
//! Built by hand with an explicit endpoint, region and static fake credentials, never from the
//! default chain, so a test can only ever talk to its loopback emulator.

use aws_sdk_ec2::config::{BehaviorVersion, Credentials, Region};

pub const REGION: &str = "us-east-1";

pub fn ec2(endpoint: &str) -> aws_sdk_ec2::Client {
    let config = aws_sdk_ec2::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "acceptance-tests"))
        .build();
    aws_sdk_ec2::Client::from_conf(config)
}
