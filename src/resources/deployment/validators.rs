//! Attribute validators of `retool_deployment`: every format the resource accepts is checked at
//! `terraform validate`, so a bad name, version, size or ARN is an error on its attribute before
//! any AWS call, never an API error half-way through an apply.
//!
//! The formats themselves live in [`super::rules::versions`] and [`super::rules::instance_types`]; this file
//! adapts them to the framework's [`Validator`] and adds the ones that are only strings.

use crate::aws::is_region_name;
use crate::framework::Diagnostics;
use crate::framework::validators::{self, Validator};
use crate::resources::naming::{Letters, NameRules};
use crate::resources::permission_boundary::documents::workload_boundary_prefix;
use crate::value::{AttributePath, Value};

use super::names::Names;

use super::rules::instance_types::{InstanceKind, InstanceType};
use super::rules::versions::{
    CacheEngineVersion, DEFAULT_KUBERNETES_VERSION, KubernetesVersion, PostgresVersion, RetoolVersion,
};
use super::rules::windows::{BackupWindow, MaintenanceWindow};

/// Longest deployment name: it prefixes the names of the cluster, node group, database, cache and
/// IAM roles, whose own limits (RDS identifiers 63, IAM role names 64) leave room for suffixes.
pub const MAX_NAME_LENGTH: usize = 32;

/// Smallest and largest node group sizes accepted.
pub const MIN_NODES: i64 = 1;
pub const MAX_NODES: i64 = 100;

/// Most pods of one Retool container: far more than any deployment needs, and few enough that a
/// typo (`200`) is refused before it asks the node group for a hundred nodes.
pub const MAX_REPLICAS: i64 = 50;

/// A DNS label usable in every AWS name: lowercase letters, digits and hyphens, starting with a
/// letter, without two hyphens in a row or a trailing one (RDS and ElastiCache identifiers refuse
/// both, and only at apply), at most [`MAX_NAME_LENGTH`] characters, and not one of the
/// namespaces Kubernetes keeps (the workloads' namespace is named after the deployment).
pub fn deployment_name() -> impl Validator {
    NAME_RULES.validator(
        format!(
            "must be a DNS label: lowercase letters, digits and hyphens, starting with a letter, no `--` and no trailing hyphen (at most {MAX_NAME_LENGTH} characters), not `default` or `kube-…`"
        ),
        hyphen_problem,
    )
}

/// Why `name` cannot be a deployment's name, if it cannot: the check of [`deployment_name`], for
/// names that come from an import id or a stored state rather than the configuration.
pub fn deployment_name_problem(name: &str) -> Option<String> {
    NAME_RULES.problem(name).or_else(|| hyphen_problem(name))
}

static NAME_RULES: NameRules =
    NameRules::new(MAX_NAME_LENGTH, ": it prefixes the names of AWS resources.", Letters::Lowercase, &['-']);

fn hyphen_problem(name: &str) -> Option<String> {
    if super::names::RESERVED_NAMESPACES.contains(&name) {
        Some(format!(
            "{name:?} is a Kubernetes namespace the cluster keeps for itself, and the deployment's namespace takes its \
             name; choose another name."
        ))
    } else if name.ends_with('-') {
        Some(format!("{name:?} must not end with a hyphen: RDS and ElastiCache identifiers refuse it."))
    } else if name.contains("--") {
        Some(format!("{name:?} must not contain two hyphens in a row: RDS and ElastiCache identifiers refuse it."))
    } else {
        None
    }
}

/// The reason `domain` is not a bare hostname (RFC 1123), if it is not one.
pub fn hostname_problem(domain: &str) -> Option<String> {
    if domain.contains("://") {
        return Some(format!("{domain:?} has a URL scheme; give the hostname alone, e.g. retool.example.com."));
    }
    if domain.contains(['/', '?', '#']) {
        return Some(format!("{domain:?} has a path; give the hostname alone, e.g. retool.example.com."));
    }
    if domain.contains(':') {
        return Some(format!("{domain:?} has a port; Retool is served on 443, give the hostname alone."));
    }
    if domain.ends_with('.') {
        return Some(format!("{domain:?} ends with a dot; leave it out."));
    }
    if domain.len() > 253 {
        return Some(format!("{domain:?} is {} characters long; a hostname has at most 253.", domain.len()));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Some(format!(
            "{domain:?} is a single label; expected a fully qualified hostname such as retool.example.com."
        ));
    }
    for label in &labels {
        if label.is_empty() || label.len() > 63 {
            return Some(format!(
                "{domain:?} has a label of {} characters; each dot-separated label must be 1 to 63.",
                label.len()
            ));
        }
        if let Some(bad) = label.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')) {
            return Some(format!(
                "{domain:?} contains {bad:?}; a hostname has only lowercase letters, digits, hyphens and dots."
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some(format!("{domain:?} has label {label:?}, which starts or ends with a hyphen."));
        }
    }
    let top_level = labels.last().copied().unwrap_or_default();
    top_level
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| format!("{domain:?} looks like an IP address; expected a hostname such as retool.example.com."))
}

/// A lowercase hostname of at least two labels, without scheme, port or path.
pub fn domain() -> impl Validator {
    validators::check("must be a hostname such as retool.example.com (no scheme, port or path)", |value| {
        hostname_problem(value.as_str()?)
    })
}

/// `X.Y.Z-stable` or `X.Y.Z-edge`.
pub fn retool_version() -> impl Validator {
    validators::check("must be a Retool release such as 3.148.0-stable or 3.150.0-edge", |value| {
        RetoolVersion::parse(value.as_str()?).err().map(|problem| problem.to_string())
    })
}

/// `1.N`, a Kubernetes minor version.
pub fn kubernetes_version() -> impl Validator {
    validators::check(format!("must be a Kubernetes minor version such as {DEFAULT_KUBERNETES_VERSION}"), |value| {
        KubernetesVersion::parse(value.as_str()?).err().map(|problem| problem.to_string())
    })
}

/// A PostgreSQL version of 13 or later, major (`16`) or specific (`16.4`).
pub fn postgres_engine_version() -> impl Validator {
    validators::check("must be a PostgreSQL version of 13 or later, such as 16 or 16.4", |value| {
        PostgresVersion::parse(value.as_str()?).err().map(|problem| problem.to_string())
    })
}

/// An RDS maintenance window, `ddd:hh24:mi-ddd:hh24:mi` in UTC, at least 30 minutes.
pub fn maintenance_window() -> impl Validator {
    validators::check("must be a weekly window ddd:hh24:mi-ddd:hh24:mi (UTC) of at least 30 minutes", |value| {
        MaintenanceWindow::parse(value.as_str()?).err()
    })
}

/// An RDS backup window, `hh24:mi-hh24:mi` in UTC, at least 30 minutes.
pub fn backup_window() -> impl Validator {
    validators::check("must be a daily window hh24:mi-hh24:mi (UTC) of at least 30 minutes", |value| {
        BackupWindow::parse(value.as_str()?).err()
    })
}

fn instance_type(kind: InstanceKind, description: &'static str) -> impl Validator {
    validators::check(description, move |value| {
        InstanceType::parse(kind, value.as_str()?).err().map(|problem| problem.to_string())
    })
}

/// An EC2 instance type for the node group, e.g. `m5.xlarge`.
pub fn ec2_instance_type() -> impl Validator {
    instance_type(InstanceKind::Ec2, "must be an EC2 instance type such as m5.xlarge")
}

/// An RDS instance class, e.g. `db.m5.large`.
pub fn rds_instance_class() -> impl Validator {
    instance_type(InstanceKind::Rds, "must be an RDS instance class such as db.m5.large")
}

/// An ElastiCache node type, e.g. `cache.t4g.medium`.
pub fn elasticache_node_type() -> impl Validator {
    instance_type(InstanceKind::ElastiCache, "must be an ElastiCache node type such as cache.t4g.medium")
}

/// An ElastiCache engine version, `7.1` or `6.2.6`.
pub fn cache_engine_version() -> impl Validator {
    validators::check("must be an ElastiCache engine version such as 7.1", |value| {
        CacheEngineVersion::parse(value.as_str()?).err().map(|problem| problem.to_string())
    })
}

/// The shortest maintenance window ElastiCache accepts, in minutes.
pub const MIN_MAINTENANCE_WINDOW_MINUTES: u32 = 60;
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const MINUTES_PER_WEEK: u32 = 7 * 24 * 60;

/// Minutes since Sunday 00:00 UTC of `ddd:hh24:mi`.
fn minute_of_week(text: &str) -> Option<u32> {
    let mut parts = text.split(':');
    let (Some(day), Some(hour), Some(minute), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    let day = u32::try_from(DAYS.iter().position(|name| *name == day)?).ok()?;
    let two_digits = |part: &str| {
        (part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit())).then(|| part.parse::<u32>().ok()).flatten()
    };
    let (hour, minute) = (two_digits(hour).filter(|h| *h < 24)?, two_digits(minute).filter(|m| *m < 60)?);
    Some((day * 24 + hour) * 60 + minute)
}

/// Why `text` is not an ElastiCache maintenance window, if it is not one: `ddd:hh24:mi-ddd:hh24:mi`
/// in UTC, days `sun` to `sat`, at least [`MIN_MAINTENANCE_WINDOW_MINUTES`] long (a window may run
/// over the end of the week, `sat:23:00-sun:01:00`).
pub fn maintenance_window_problem(text: &str) -> Option<String> {
    let parsed = text.split_once('-').and_then(|(start, end)| Some((minute_of_week(start)?, minute_of_week(end)?)));
    let Some((start, end)) = parsed else {
        return Some(format!(
            "{text:?} is not a maintenance window; write ddd:hh24:mi-ddd:hh24:mi in UTC with lowercase days (sun, mon, tue, wed, thu, fri, sat), e.g. sun:05:00-sun:06:00."
        ));
    };
    let minutes = (end + MINUTES_PER_WEEK - start) % MINUTES_PER_WEEK;
    (minutes < MIN_MAINTENANCE_WINDOW_MINUTES).then(|| {
        format!("{text:?} lasts {minutes} minutes; ElastiCache requires a maintenance window of at least {MIN_MAINTENANCE_WINDOW_MINUTES} minutes.")
    })
}

/// An ElastiCache maintenance window, e.g. `sun:05:00-sun:06:00`.
pub fn cache_maintenance_window() -> impl Validator {
    validators::check("must be a weekly window ddd:hh24:mi-ddd:hh24:mi in UTC, at least 60 minutes long", |value| {
        maintenance_window_problem(value.as_str()?)
    })
}

/// The parts of `arn:<partition>:<service>:<region>:<account>:<resource>`, checking the partition.
fn arn_parts(arn: &str) -> Option<[&str; 4]> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(region), Some(account), Some(resource)) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let partition_ok = partition == "aws"
        || partition
            .strip_prefix("aws-")
            .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'));
    partition_ok.then_some([service, region, account, resource])
}

fn is_account_id(account: &str) -> bool {
    account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())
}

/// Longest name part of a secret ARN: a 512-character secret name plus the `-XXXXXX` suffix
/// Secrets Manager appends.
const MAX_SECRET_ARN_NAME: usize = 519;

/// The reason `arn` is not a Secrets Manager secret ARN, if it is not one.
pub fn secret_arn_problem(arn: &str) -> Option<String> {
    let expected = "expected arn:aws:secretsmanager:<region>:<12-digit account>:secret:<name>";
    arn_problem(arn, expected, ("secretsmanager", "a Secrets Manager secret"), |[region, account, resource]| {
        let name_ok = resource.strip_prefix("secret:").is_some_and(|name| {
            !name.is_empty()
                && name.len() <= MAX_SECRET_ARN_NAME
                && name.chars().all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c))
        });
        [
            (is_region_name(region), format!("has region {region:?}, which is not a region name")),
            (is_account_id(account), format!("has account {account:?}, which is not 12 digits")),
            (name_ok, "does not end in secret:<name> with a valid secret name".to_owned()),
        ]
    })
}

/// A Secrets Manager secret ARN (license key, existing ENCRYPTION_KEY).
pub fn secret_arn() -> impl Validator {
    validators::check("must be a Secrets Manager secret ARN", |value| secret_arn_problem(value.as_str()?))
}

/// The reason `arn` is not an IAM managed policy ARN, if it is not one.
pub fn iam_policy_arn_problem(arn: &str) -> Option<String> {
    let expected = "expected arn:aws:iam::<12-digit account>:policy/<path/><name>";
    arn_problem(arn, expected, ("iam", "an IAM policy"), |[region, account, resource]| {
        let name_ok = resource.strip_prefix("policy/").is_some_and(|path_and_name| {
            let name = path_and_name.rsplit('/').next().unwrap_or_default();
            !name.is_empty()
                && name.len() <= 128
                && path_and_name.len() <= 512
                && !path_and_name.starts_with('/')
                && !path_and_name.contains("//")
                && path_and_name.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@-_/".contains(c))
        });
        [
            (region.is_empty(), "has a region; IAM ARNs have none".to_owned()),
            (
                is_account_id(account) || account == "aws",
                format!("has account {account:?}, which is neither 12 digits nor \"aws\""),
            ),
            (name_ok, "does not end in policy/<name> with a valid policy name".to_owned()),
        ]
    })
}

/// The reason `arn` is not an ARN of `service` (with the `kind` of resource named, as in "not of
/// <kind>"), checked in order: an ARN at all, the service, then each of `checks` on the region,
/// account and resource, (whether it passes, what is wrong otherwise). One wording for every ARN
/// problem: `"<arn>" <what is wrong>; <expected>.`
fn arn_problem(
    arn: &str,
    expected: &str,
    (service, kind): (&str, &str),
    checks: impl FnOnce([&str; 3]) -> [(bool, String); 3],
) -> Option<String> {
    let Some([found_service, region, account, resource]) = arn_parts(arn) else {
        return Some(format!("{arn:?} is not an ARN; {expected}."));
    };
    let problem = if found_service == service {
        checks([region, account, resource]).into_iter().find_map(|(ok, problem)| (!ok).then_some(problem))
    } else {
        Some(format!("is an ARN of {found_service:?}, not of {kind}"))
    };
    problem.map(|problem| format!("{arn:?} {problem}; {expected}."))
}

/// Why the roles of deployment `name` cannot be created under the boundary `boundary_arn`, when
/// it is a `retool_permission_boundary`'s workload boundary: that boundary's policies admit only
/// roles named `<name_prefix>-*`, so roles outside it fail at apply, after other objects exist.
pub fn boundary_prefix_problem(name: &str, boundary_arn: &str) -> Option<String> {
    let prefix = workload_boundary_prefix(boundary_arn)?;
    let names = Names::new(name);
    let roles = [names.cluster_role(), names.node_role(), names.external_secrets_role(), names.storage_role()];
    let outside: Vec<&str> =
        roles.iter().map(String::as_str).filter(|role| !role.starts_with(&format!("{prefix}-"))).collect();
    (!outside.is_empty()).then(|| {
        format!(
            "The permission boundary {boundary_arn} only admits IAM roles named {prefix}-* (its name_prefix), but this \
             deployment creates {}. The apply would fail at the first role, after other objects exist. Name the \
             deployment {prefix} or {prefix}-<something>, or use the boundary of a retool_permission_boundary whose \
             name_prefix the deployment's name starts with.",
            outside.join(", ")
        )
    })
}

/// An IAM managed policy ARN, as `permission_boundary_arn` takes.
pub fn iam_policy_arn() -> impl Validator {
    validators::check("must be an IAM managed policy ARN", |value| iam_policy_arn_problem(value.as_str()?))
}

/// Each element an IPv4 CIDR block without host bits (`203.0.113.0/24`, `0.0.0.0/0`), reported at
/// the element's index.
pub fn public_access_cidrs() -> impl Validator {
    validators::each_element(validators::ipv4_cidr(0, 32))
}

/// The reason node group sizes are inconsistent, if they are: `MIN_NODES <= min <= desired <= max
/// <= MAX_NODES`.
pub fn check_node_sizes(min: i64, desired: i64, max: i64) -> Option<String> {
    if min < MIN_NODES {
        Some(format!("min_size is {min}; a node group needs at least {MIN_NODES} node."))
    } else if max > MAX_NODES {
        Some(format!("max_size is {max}; at most {MAX_NODES} nodes are supported."))
    } else if min > max {
        Some(format!("min_size ({min}) is greater than max_size ({max})."))
    } else if desired < min {
        Some(format!("desired_size ({desired}) is less than min_size ({min})."))
    } else if desired > max {
        Some(format!("desired_size ({desired}) is greater than max_size ({max})."))
    } else {
        None
    }
}

/// Why `host` cannot be a Temporal frontend's host, if it cannot: a hostname or IP address alone.
pub fn temporal_host_problem(host: &str) -> Option<String> {
    if host.contains("://") {
        Some(format!("{host:?} has a URL scheme; give the host alone, e.g. temporal.example.internal."))
    } else if host.contains(':') {
        Some(format!("{host:?} has a port; give the host alone and set port."))
    } else if host.is_empty() || host.len() > 253 {
        Some(format!("{host:?} is not a hostname: it must be 1 to 253 characters."))
    } else {
        host.chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
            .map(|bad| format!("{host:?} contains {bad:?}; a hostname has only letters, digits, hyphens and dots."))
    }
}

/// A Temporal frontend's hostname or IP address, without scheme or port.
pub fn temporal_host() -> impl Validator {
    validators::check("must be a hostname or IP address without scheme or port", |value| {
        temporal_host_problem(value.as_str()?)
    })
}

/// Why `name` cannot be an extra environment variable, if it cannot: it must be a POSIX name
/// (`[A-Za-z_][A-Za-z0-9_]*`) that the provider does not set itself.
pub fn environment_name_problem(name: &str) -> Option<String> {
    let posix = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !posix {
        Some(format!(
            "{name:?} is not an environment variable name: use letters, digits and underscores, not starting with a digit."
        ))
    } else if super::workloads::MANAGED_ENVIRONMENT.contains(&name) {
        Some(format!(
            "{name} is set by the provider itself (database, secrets, service wiring); it cannot be overridden here. \
             Use the matching attribute of retool_deployment instead."
        ))
    } else {
        None
    }
}

/// Every key of a map is a usable extra environment variable name; the error is on the key.
pub fn environment_names() -> impl Validator {
    EnvironmentNames
}

struct EnvironmentNames;

impl Validator for EnvironmentNames {
    fn description(&self) -> String {
        "names must be POSIX environment variable names the provider does not set itself".to_owned()
    }

    fn validate(&self, path: &AttributePath, value: &Value, diags: &mut Diagnostics) {
        for name in value.as_map().into_iter().flat_map(|map| map.keys()) {
            if let Some(problem) = environment_name_problem(name) {
                diags.attribute_error(
                    path.key(name.clone()),
                    format!("Invalid environment variable name at {path}"),
                    problem,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_outside_the_boundary_prefix_are_named_and_matching_ones_pass() {
        let boundary = "arn:aws:iam::111122223333:policy/corp-workload-boundary";
        let problem = boundary_prefix_problem("acme", boundary).unwrap_or_default();
        assert!(problem.contains("acme-eks-cluster, acme-eks-nodes"), "{problem}");
        assert!(problem.contains("named corp-*"), "{problem}");
        assert_eq!(boundary_prefix_problem("corp", boundary), None);
        assert_eq!(boundary_prefix_problem("corp-prod", boundary), None);
        assert!(boundary_prefix_problem("corporate", boundary).is_some());
        // Another policy says nothing about role names.
        assert_eq!(boundary_prefix_problem("acme", "arn:aws:iam::111122223333:policy/boundary"), None);
    }
    use crate::framework::Diagnostics;
    use crate::framework::validators::problems;
    use crate::value::{AttributePath, Value};

    fn accepts(validator: &dyn Validator, good: &[&str]) {
        for text in good {
            assert_eq!(problems(validator, Value::string(*text)), Vec::<String>::new(), "{text:?}");
        }
    }

    fn refuses(validator: &dyn Validator, bad: &[&str]) {
        for text in bad {
            assert_eq!(problems(validator, Value::string(*text)).len(), 1, "{text:?}");
        }
    }

    #[test]
    fn names_are_dns_labels_short_enough_to_prefix_aws_names() {
        accepts(&deployment_name(), &["retool", "retool-prod-2", "a", &"a".repeat(MAX_NAME_LENGTH)]);
        refuses(
            &deployment_name(),
            &[
                "",
                "Retool",
                "1retool",
                "-retool",
                "retool-",
                "retool--prod",
                "a--",
                "retool_prod",
                "retool.prod",
                "rétool",
                "default",
                "kube-system",
                "external-secrets",
                &"a".repeat(MAX_NAME_LENGTH + 1),
            ],
        );
    }

    #[test]
    fn domains_are_bare_lowercase_hostnames() {
        let long_label = "a".repeat(63);
        let good_long = format!("{long_label}.example.com");
        accepts(
            &domain(),
            &["retool.example.com", "example.io", "a-b.c-d.example.co.uk", "x1.example.com", &good_long],
        );
        let too_long_label = format!("{}.example.com", "a".repeat(64));
        let too_long = format!("{}.com", ["abcdefghij"; 25].join("."));
        refuses(
            &domain(),
            &[
                "",
                "localhost",
                "https://retool.example.com",
                "retool.example.com:443",
                "retool.example.com/app",
                "retool.example.com.",
                "Retool.Example.com",
                "retool..example.com",
                ".example.com",
                "-a.example.com",
                "a-.example.com",
                "retool_1.example.com",
                "*.example.com",
                "10.0.0.1",
                "retool example.com",
                &too_long_label,
                &too_long,
            ],
        );
        assert!(hostname_problem("https://x.example.com").is_some_and(|p| p.contains("scheme")));
        assert!(hostname_problem("x.example.com:8443").is_some_and(|p| p.contains("port")));
        assert!(hostname_problem("x.example.com/a").is_some_and(|p| p.contains("path")));
        assert_eq!(hostname_problem("retool.example.com"), None);
    }

    #[test]
    fn version_validators_use_the_version_rules() {
        accepts(&retool_version(), &["3.148.0-stable", "3.150.1-edge"]);
        refuses(&retool_version(), &["3.148.0", "latest"]);
        accepts(&kubernetes_version(), &["1.33", "1.34"]);
        refuses(&kubernetes_version(), &["1.33.1", "v1.33"]);
        accepts(&postgres_engine_version(), &["16", "16.4", "15", "13"]);
        let old = problems(&postgres_engine_version(), Value::string("12"));
        assert!(old.len() == 1 && old[0].contains("13"), "{old:?}");
    }

    #[test]
    fn cache_engine_versions_and_maintenance_windows_are_checked() {
        accepts(&cache_engine_version(), &["7.1", "6.2", "6.2.6", "7.1.0"]);
        refuses(&cache_engine_version(), &["7", "6.x", "redis7.1", ""]);
        accepts(
            &cache_maintenance_window(),
            &["sun:05:00-sun:06:00", "tue:03:00-tue:04:30", "sat:23:30-sun:00:30", "mon:00:00-sun:23:59"],
        );
        refuses(
            &cache_maintenance_window(),
            &[
                "sun:05:00-sun:05:59",
                "sun:05:00-sun:05:00",
                "Sun:05:00-Sun:06:00",
                "sun:5:00-sun:06:00",
                "sun:24:00-mon:01:00",
                "sun:05:60-sun:07:00",
                "sun:05:00",
                "sun:05:00-sun:06:00-sun:07:00",
                "sunday:05:00-sunday:06:00",
            ],
        );
        let short = maintenance_window_problem("sat:23:30-sun:00:15").unwrap_or_default();
        assert!(short.contains("45 minutes") && short.contains("at least 60"), "{short}");
        assert_eq!(maintenance_window_problem("sat:23:30-sun:00:30"), None, "a window may wrap the week");
    }

    #[test]
    fn instance_validators_take_their_own_services_names() {
        accepts(&ec2_instance_type(), &["m5.xlarge", "m7g.2xlarge", "t3.medium", "c6i.large"]);
        refuses(&ec2_instance_type(), &["db.m5.large", "m5", "m5.huge", "xlarge"]);
        accepts(&rds_instance_class(), &["db.m5.large", "db.r6g.2xlarge", "db.t3.micro"]);
        refuses(&rds_instance_class(), &["m5.large", "db.m5", "cache.m5.large"]);
        accepts(&elasticache_node_type(), &["cache.t4g.medium", "cache.r6g.large", "cache.m5.xlarge"]);
        refuses(&elasticache_node_type(), &["t4g.medium", "db.t4g.medium", "cache.t4g"]);
    }

    #[test]
    fn secret_arns_name_a_secret_in_an_account_and_region() {
        accepts(
            &secret_arn(),
            &[
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:retool/license-AbCdEf",
                "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:key",
                "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:a+b=c.d@e_f-g",
            ],
        );
        refuses(
            &secret_arn(),
            &[
                "",
                "retool/license",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:",
                "arn:aws:secretsmanager:us-east-1:12345678901:secret:x",
                "arn:aws:secretsmanager::123456789012:secret:x",
                "arn:aws:ssm:us-east-1:123456789012:parameter/x",
                "arn:aws:secretsmanager:us-east-1:123456789012:x",
                "arn:gcp:secretsmanager:us-east-1:123456789012:secret:x",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:a b",
            ],
        );
        assert!(
            secret_arn_problem("arn:aws:ssm:us-east-1:123456789012:parameter/x").is_some_and(|p| p.contains("\"ssm\""))
        );
        let longest =
            format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{}", "a".repeat(MAX_SECRET_ARN_NAME));
        assert_eq!(secret_arn_problem(&longest), None);
        assert!(secret_arn_problem(&format!("{longest}a")).is_some());
    }

    #[test]
    fn policy_arns_are_customer_or_aws_managed_policies() {
        accepts(
            &iam_policy_arn(),
            &[
                "arn:aws:iam::123456789012:policy/retool-boundary",
                "arn:aws:iam::123456789012:policy/team/retool/workload-boundary",
                "arn:aws:iam::aws:policy/PowerUserAccess",
                "arn:aws-us-gov:iam::123456789012:policy/b",
            ],
        );
        refuses(
            &iam_policy_arn(),
            &[
                "",
                "retool-boundary",
                "arn:aws:iam::123456789012:role/retool",
                "arn:aws:iam::123456789012:policy/",
                "arn:aws:iam::123456789012:policy/team/",
                "arn:aws:iam:us-east-1:123456789012:policy/x",
                "arn:aws:iam::12345:policy/x",
                "arn:aws:s3:::bucket",
                "arn:aws:iam::123456789012:policy/a b",
                "arn:aws:iam::123456789012:policy//x",
            ],
        );
    }

    #[test]
    fn public_access_cidrs_are_checked_element_by_element() {
        let list = |xs: &[&str]| Value::list(xs.iter().map(|s| Value::string(*s)).collect());
        assert!(problems(&public_access_cidrs(), list(&["0.0.0.0/0", "203.0.113.0/24", "198.51.100.7/32"])).is_empty());
        let mut diags = Diagnostics::new();
        let path = AttributePath::root().attr("public_access_cidrs");
        public_access_cidrs().validate(&path, &list(&["203.0.113.0/24", "203.0.113.5/24", "nope", "::/0"]), &mut diags);
        let paths: Vec<_> = diags.iter().filter_map(|d| d.path.as_ref().map(ToString::to_string)).collect();
        assert_eq!(paths, ["public_access_cidrs[1]", "public_access_cidrs[2]", "public_access_cidrs[3]"]);
    }

    proptest::proptest! {
        /// Every validator and parser answers any string (valid-looking or not) without panicking,
        /// and a validator reports at most one problem per value.
        #[test]
        fn no_input_panics(text in proptest::prop_oneof![".{0,64}", "[a-z0-9.:/*-]{0,40}", "(arn|db|cache|1|3)[a-z0-9.:/-]{0,60}"]) {
            let all: [&dyn Validator; 10] = [
                &deployment_name(), &domain(), &retool_version(), &kubernetes_version(), &postgres_engine_version(),
                &ec2_instance_type(), &rds_instance_class(), &elasticache_node_type(), &secret_arn(), &iam_policy_arn(),
            ];
            for validator in all {
                proptest::prop_assert!(problems(validator, Value::string(text.clone())).len() <= 1);
            }
            proptest::prop_assert!(problems(&public_access_cidrs(), Value::list(vec![Value::string(text.clone())])).len() <= 1);
        }

        #[test]
        fn node_size_checks_accept_exactly_the_nested_sizes(min in -5i64..110, desired in -5i64..110, max in -5i64..110) {
            let nested = MIN_NODES <= min && min <= desired && desired <= max && max <= MAX_NODES;
            proptest::prop_assert_eq!(check_node_sizes(min, desired, max).is_none(), nested);
        }
    }

    #[test]
    fn node_sizes_must_nest_within_bounds() {
        assert_eq!(check_node_sizes(3, 3, 6), None);
        assert_eq!(check_node_sizes(1, 1, 1), None);
        assert_eq!(check_node_sizes(1, 100, 100), None);
        for (min, desired, max, says) in [
            (0, 1, 3, "at least 1"),
            (-5, 1, 3, "at least 1"),
            (3, 2, 6, "desired_size (2) is less than min_size (3)"),
            (3, 7, 6, "desired_size (7) is greater than max_size (6)"),
            (4, 4, 3, "min_size (4) is greater than max_size (3)"),
            (3, 3, 101, "at most 100"),
            (i64::MIN, 0, i64::MAX, "at least 1"),
        ] {
            let problem = check_node_sizes(min, desired, max).unwrap_or_default();
            assert!(problem.contains(says), "{min} {desired} {max}: {problem:?}");
        }
    }
}
