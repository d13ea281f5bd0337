//! The `provider "retool"` block: its schema, its checks, and its typed form.
//!
//! Everything here is offline. Attribute validators reject malformed values at
//! `terraform validate` with the attribute's path; [`settings_from_value`] then turns a wholly
//! known configuration into plain Rust ([`AwsSettings`]) for [`crate::aws::AwsClients`] to build on.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::framework::Diagnostics;
use crate::framework::schema::{Attribute, Block, NestedBlock, Nesting};
use crate::framework::validators::{self, Validator};
use crate::value::{AttributePath, Type, Value};

use crate::aws::is_region_name;
use crate::aws::settings::{
    AssumeRole, AwsSettings, DEFAULT_MAX_RETRIES, ENDPOINT_SERVICES, Endpoints, RetryMode, Sensitive,
};
use crate::framework::read::string_map;
use crate::resources::naming::aws_tags;

/// The provider block's schema.
pub fn schema_block() -> Block {
    Block::new(
        "Manages a Retool deployment in a dedicated AWS account. Credentials come from the standard AWS chain \
         (environment, shared config and credentials files, SSO, container and instance roles).",
    )
    .attribute(
        Attribute::new("region", Type::String)
            .optional()
            .description(
                "AWS region to manage, e.g. `us-east-1`. Defaults to `AWS_REGION`, then `AWS_DEFAULT_REGION`, then the \
                 region of the selected profile.",
            )
            .validator(region_name()),
    )
    .attribute(
        Attribute::new("profile", Type::String)
            .optional()
            .description("Named profile from the shared AWS config and credentials files. Defaults to `AWS_PROFILE`, then `default`.")
            .validator(validators::string_length(1, 128)),
    )
    .attribute(
        Attribute::new("default_tags", Type::map(Type::String))
            .optional()
            .description(
                "Tags applied to every taggable AWS object the provider creates. A resource's own `tags` win over these \
                 for the same key.",
            )
            .validator(aws_tags()),
    )
    .attribute(
        Attribute::new("max_retries", Type::Number)
            .optional()
            .description(
                "How many times an AWS call is retried after throttling, a 5xx response or a network error, with \
                 exponential backoff. Defaults to `25`; `0` disables retries.",
            )
            .validator(validators::int_between(0, 100)),
    )
    .attribute(
        Attribute::new("retry_mode", Type::String)
            .optional()
            .description(format!(
                "How retries are paced: `standard` (the default, as AWS recommends) backs off each call on its own \
                 (exponential backoff with jitter from 0.5 s up to 20 s, within the SDK's retry quota), so a throttled \
                 API never delays others and throttling costs only the waits of the calls throttled; `adaptive` also \
                 slows every later call to a service once AWS throttles it. \
                 In either mode at most {} requests to one AWS service are in flight at once per configured provider \
                 (a big state refreshes without bursting the account's API rate limits); further requests wait their turn.",
                crate::aws::http::CALLS_IN_FLIGHT
            ))
            .validator(validators::one_of(&RetryMode::NAMES)),
    )
    .block(NestedBlock::new(
        "assume_role",
        Nesting::Single,
        Block::new("Assume an IAM role (through STS) with the base credentials before managing anything.")
            .attribute(
                Attribute::new("role_arn", Type::String)
                    .required()
                    .description("ARN of the IAM role to assume, e.g. `arn:aws:iam::123456789012:role/retool-deployer`.")
                    .validator(role_arn()),
            )
            .attribute(
                Attribute::new("external_id", Type::String)
                    .optional()
                    .sensitive()
                    .description("External ID the role's trust policy requires. Never logged or stored in state.")
                    .validator(validators::string_length(2, 1224)),
            )
            .attribute(
                Attribute::new("session_name", Type::String)
                    .optional()
                    .description("Session name recorded in CloudTrail. Defaults to one chosen by the AWS SDK.")
                    .validator(validators::string_length(2, 64))
                    .validator(validators::string_chars("letters, digits and +=,.@_-", |c| {
                        c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)
                    })),
            )
            .attribute(
                Attribute::new("duration_seconds", Type::Number)
                    .optional()
                    .description("Lifetime of the assumed-role session in seconds, 900 to 43200. Defaults to 3600.")
                    .validator(validators::int_between(900, 43_200)),
            ),
    ))
    .block(NestedBlock::new("endpoints", Nesting::Single, endpoints_block()))
}

fn endpoints_block() -> Block {
    ENDPOINT_SERVICES.iter().fold(
        Block::new(
            "Custom service endpoints, for AWS emulators and VPC interface endpoints. `AWS_ENDPOINT_URL` and \
             `AWS_ENDPOINT_URL_<SERVICE>` are honoured too; a value here wins over them.",
        ),
        |block, service| {
            block.attribute(
                Attribute::new(*service, Type::String)
                    .optional()
                    .description(format!("Endpoint URL for {}, e.g. `http://127.0.0.1:5000`.", service_title(service)))
                    .validator(validators::http_url()),
            )
        },
    )
    .attribute(
        Attribute::new(KUBERNETES_ENDPOINT, Type::String)
            .optional()
            .description(
                "URL of the clusters' Kubernetes API, instead of the endpoint EKS reports: a private proxy in front \
                 of the API, or a test server. Requires `kubernetes_ca_certificate`. Tokens are still EKS tokens \
                 for the deployment's cluster.",
            )
            .validator(validators::http_url()),
    )
    .attribute(
        Attribute::new(KUBERNETES_CA, Type::String)
            .optional()
            .description("PEM of the certificate authority the `kubernetes` endpoint's certificate chains to."),
    )
}

/// The `endpoints` attribute that overrides the clusters' Kubernetes API URL, and its CA.
const KUBERNETES_ENDPOINT: &str = "kubernetes";
const KUBERNETES_CA: &str = "kubernetes_ca_certificate";

fn service_title(service: &str) -> &'static str {
    match service {
        "ec2" => "Amazon EC2 (VPCs and networking)",
        "eks" => "Amazon EKS",
        "elasticache" => "Amazon ElastiCache",
        "iam" => "AWS IAM",
        "kms" => "AWS KMS",
        "rds" => "Amazon RDS",
        "s3" => "Amazon S3",
        "secretsmanager" => "AWS Secrets Manager",
        _ => "AWS STS (used by `assume_role`)",
    }
}

fn region_name() -> impl Validator {
    validators::check("must be an AWS region name such as us-east-1", |value| {
        let region = value.as_str()?;
        (!is_region_name(region))
            .then(|| format!("{region:?} is not an AWS region name such as us-east-1 or eu-west-3."))
    })
}

fn role_arn() -> impl Validator {
    validators::check("must be an IAM role ARN", |value| {
        let arn = value.as_str()?;
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let valid = matches!(parts.as_slice(), ["arn", partition, "iam", "", account, resource]
            if !partition.is_empty()
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && resource.strip_prefix("role/").is_some_and(|name| !name.is_empty()));
        (!valid).then(|| format!("{arn:?} is not an IAM role ARN such as arn:aws:iam::123456789012:role/name."))
    })
}

/// Reads a validated, wholly known provider configuration. Problems that slipped past the
/// schema (wrong shapes) become diagnostics on their attribute and the result is `None`.
pub fn settings_from_value(config: &Value, diags: &mut Diagnostics) -> Option<AwsSettings> {
    let root = AttributePath::root();
    let errors_before = diags.iter().filter(|d| d.severity == crate::framework::Severity::Error).count();
    let region = optional_string(config, "region", &root, diags);
    let profile = optional_string(config, "profile", &root, diags);
    let max_retries = match config.attr("max_retries") {
        Value::Null => DEFAULT_MAX_RETRIES,
        value => match value.as_i64().and_then(|n| u32::try_from(n).ok()).filter(|n| *n <= 100) {
            Some(n) => n,
            None => {
                diags.attribute_error(
                    root.attr("max_retries"),
                    "Invalid max_retries",
                    "Expected a whole number from 0 to 100.",
                );
                DEFAULT_MAX_RETRIES
            }
        },
    };
    let retry_mode = match optional_string(config, "retry_mode", &root, diags) {
        None => RetryMode::default(),
        Some(name) => RetryMode::from_name(&name).unwrap_or_else(|| {
            diags.attribute_error(
                root.attr("retry_mode"),
                "Invalid retry_mode",
                format!("{name:?} is not a retry mode; use \"standard\" or \"adaptive\"."),
            );
            RetryMode::default()
        }),
    };
    let default_tags = string_map(config.attr("default_tags"), &root.attr("default_tags"), diags);

    let assume_role = match config.attr("assume_role") {
        Value::Null => None,
        block => {
            let path = root.attr("assume_role");
            let role_arn = optional_string(block, "role_arn", &path, diags);
            if role_arn.is_none() {
                diags.attribute_error(
                    path.attr("role_arn"),
                    "Missing role_arn",
                    "The assume_role block needs the ARN of the role to assume.",
                );
            }
            let duration = match block.attr("duration_seconds") {
                Value::Null => None,
                value => match value.as_i64().and_then(|n| u64::try_from(n).ok()) {
                    Some(seconds) => Some(Duration::from_secs(seconds)),
                    None => {
                        diags.attribute_error(
                            path.attr("duration_seconds"),
                            "Invalid duration_seconds",
                            "Expected a whole number of seconds from 900 to 43200.",
                        );
                        None
                    }
                },
            };
            role_arn.map(|role_arn| AssumeRole {
                role_arn,
                external_id: optional_string(block, "external_id", &path, diags).map(Sensitive::new),
                session_name: optional_string(block, "session_name", &path, diags),
                duration,
            })
        }
    };

    let mut endpoints = BTreeMap::new();
    let endpoints_block = config.attr("endpoints");
    for service in ENDPOINT_SERVICES.into_iter().chain([KUBERNETES_ENDPOINT, KUBERNETES_CA]) {
        if let Some(url) = optional_string(endpoints_block, service, &root.attr("endpoints"), diags) {
            endpoints.insert(service, url);
        }
    }
    if endpoints.contains_key(KUBERNETES_ENDPOINT) != endpoints.contains_key(KUBERNETES_CA) {
        diags.attribute_error(
            root.attr("endpoints").attr(KUBERNETES_CA),
            "Kubernetes endpoint without its CA",
            "Set both endpoints.kubernetes and endpoints.kubernetes_ca_certificate, or neither.",
        );
    }

    let errors_after = diags.iter().filter(|d| d.severity == crate::framework::Severity::Error).count();
    (errors_after == errors_before).then_some(AwsSettings {
        region,
        profile,
        assume_role,
        endpoints: Endpoints::new(endpoints),
        default_tags,
        max_retries,
        retry_mode,
    })
}

fn optional_string(object: &Value, name: &str, parent: &AttributePath, diags: &mut Diagnostics) -> Option<String> {
    match object.attr(name) {
        Value::Null => None,
        value => match value.as_str() {
            Some(text) => Some(text.to_owned()),
            None => {
                diags.attribute_error(
                    parent.attr(name),
                    format!("Invalid {name}"),
                    format!("Expected a string, got {}.", value.kind_name()),
                );
                None
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::validate::validate_block;

    fn validate(config: &Value) -> Vec<String> {
        let mut diags = Diagnostics::new();
        validate_block(&schema_block(), config, &AttributePath::root(), &mut diags);
        diags
            .iter()
            .map(|d| format!("{}: {}", d.path.as_ref().map(ToString::to_string).unwrap_or_default(), d.detail))
            .collect()
    }

    fn full_config() -> Value {
        Value::object([
            ("region", Value::string("eu-west-3")),
            ("profile", Value::string("deploy")),
            ("default_tags", Value::map([("owner", Value::string("platform"))])),
            ("max_retries", Value::number_i64(7)),
            ("retry_mode", Value::string("standard")),
            (
                "assume_role",
                Value::object([
                    ("role_arn", Value::string("arn:aws:iam::123456789012:role/deployer")),
                    ("external_id", Value::string("s3cr3t-id")),
                    ("session_name", Value::string("terraform")),
                    ("duration_seconds", Value::number_i64(1800)),
                ]),
            ),
            (
                "endpoints",
                Value::object(ENDPOINT_SERVICES.map(|service| {
                    (service, if service == "ec2" { Value::string("http://127.0.0.1:5000") } else { Value::Null })
                })),
            ),
        ])
    }

    #[test]
    fn schema_is_well_formed_and_fully_described() {
        let block = schema_block();
        crate::framework::Schema::new(0, block.clone()).check_definition().unwrap();
        assert!(block.find_attribute("max_retries").is_some());
        assert!(block.find_block("assume_role").unwrap().block.find_attribute("external_id").unwrap().sensitive);
    }

    #[test]
    fn a_complete_configuration_validates_and_parses() {
        let config = full_config();
        assert_eq!(validate(&config), Vec::<String>::new());
        let mut diags = Diagnostics::new();
        let parsed = settings_from_value(&config, &mut diags).unwrap();
        assert!(diags.is_empty());
        assert_eq!(parsed.region.as_deref(), Some("eu-west-3"));
        assert_eq!(parsed.max_retries, 7);
        assert_eq!(parsed.retry_mode, RetryMode::Standard);
        assert_eq!(parsed.endpoints.get("ec2"), Some("http://127.0.0.1:5000"));
        assert_eq!(parsed.endpoints.get("sts"), None);
        let role = parsed.assume_role.unwrap();
        assert_eq!(role.duration, Some(Duration::from_secs(1800)));
        assert_eq!(role.external_id.as_ref().map(Sensitive::expose), Some("s3cr3t-id"));
        assert!(!format!("{role:?}").contains("s3cr3t"), "external_id leaked through Debug");
    }

    #[test]
    fn an_empty_configuration_uses_defaults() {
        let mut diags = Diagnostics::new();
        let parsed = settings_from_value(&Value::object::<&str>([]), &mut diags).unwrap();
        assert_eq!(parsed.max_retries, DEFAULT_MAX_RETRIES);
        assert_eq!(parsed.retry_mode, RetryMode::Standard);
        assert_eq!(parsed.assume_role, None);
        assert!(parsed.default_tags.is_empty());
    }

    #[test]
    fn bad_values_are_reported_on_their_attribute() {
        let cases = [
            (Value::object([("region", Value::string("mars"))]), "region"),
            (Value::object([("max_retries", Value::number_i64(-1))]), "max_retries"),
            (Value::object([("retry_mode", Value::string("legacy"))]), "retry_mode"),
            (Value::object([("default_tags", Value::map([("aws:owner", Value::string("x"))]))]), "default_tags"),
            (
                Value::object([("endpoints", Value::object([("ec2", Value::string("127.0.0.1:5000"))]))]),
                "endpoints.ec2",
            ),
            (Value::object([("endpoints", Value::object([("sts", Value::string("ftp://sts"))]))]), "endpoints.sts"),
            (
                Value::object([("assume_role", Value::object([("role_arn", Value::string("arn:aws:iam::1:user/x"))]))]),
                "assume_role.role_arn",
            ),
            (
                Value::object([(
                    "assume_role",
                    Value::object([
                        ("role_arn", Value::string("arn:aws:iam::123456789012:role/r")),
                        ("duration_seconds", Value::number_i64(60)),
                    ]),
                )]),
                "assume_role.duration_seconds",
            ),
        ];
        for (config, path) in cases {
            let found = validate(&config);
            assert_eq!(found.len(), 1, "{path}: {found:?}");
            assert!(found[0].starts_with(path), "{path}: {found:?}");
        }
    }

    #[test]
    fn assume_role_without_role_arn_is_an_error_on_role_arn() {
        let mut diags = Diagnostics::new();
        let config = Value::object([("assume_role", Value::object([("session_name", Value::string("x1"))]))]);
        assert_eq!(settings_from_value(&config, &mut diags), None);
        let error = diags.iter().next().unwrap();
        assert_eq!(error.path.as_ref().map(ToString::to_string).as_deref(), Some("assume_role.role_arn"));
    }

    #[test]
    fn sensitive_external_id_is_not_echoed_by_its_validator() {
        let config = Value::object([(
            "assume_role",
            Value::object([
                ("role_arn", Value::string("arn:aws:iam::123456789012:role/r")),
                ("external_id", Value::string("x")),
            ]),
        )]);
        let found = validate(&config);
        assert_eq!(found.len(), 1);
        assert!(!found[0].contains("\"x\""), "{found:?}");
    }

    #[test]
    fn recognises_region_names() {
        for region in ["us-east-1", "eu-west-3", "us-gov-west-1", "ap-southeast-4", "cn-northwest-1"] {
            assert!(is_region_name(region), "{region}");
        }
        for bad in ["", "us", "us-east", "useast-1", "US-EAST-1", "us-east-1a", "us--1", "-us-east-1", "us-east-123"] {
            assert!(!is_region_name(bad), "{bad}");
        }
    }
}
