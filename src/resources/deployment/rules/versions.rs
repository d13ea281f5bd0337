//! The three version strings a deployment is configured with, parsed once into types.
//!
//! Each of them decides something the API would only reject late (or, worse, accept):
//! - `retool_version` picks the container image, so a typo would only surface as a pod that never
//!   pulls; it must be `X.Y.Z-stable` or `X.Y.Z-edge`, the two release channels Retool publishes.
//! - `kubernetes_version` can only move forward one minor version per EKS update, so a skip or a
//!   downgrade is refused at plan time instead of failing half-way through an apply.
//! - the Postgres `engine_version` must be 13 or later (Retool's minimum), and its major version
//!   names the parameter group family the `rds.force_ssl` parameter group is created in.
//!
//! The cache's `engine_version` is parsed here too: ElastiCache upgrades an engine in place but
//! never downgrades one, so a lower version is refused at plan time.

use crate::error::Error;
use std::fmt;

/// Kubernetes version of new clusters. EKS released 1.35 on 2026-01-28 with standard support
/// until 2027-03-27 (<https://endoflife.date/amazon-eks>); 1.33 left standard support on
/// 2026-07-29 and 1.34 leaves it on 2026-12-02, after which a cluster costs extended-support rates.
pub const DEFAULT_KUBERNETES_VERSION: &str = "1.35";

/// Oldest Postgres major version Retool supports for its platform database.
pub const MIN_POSTGRES_MAJOR: u32 = 13;

/// The newest Kubernetes minor version this provider knows EKS to offer (1.35). A version up to
/// [`KUBERNETES_HORIZON`] minors past it may have been released since: it is accepted with a
/// warning, and EKS has the last word at apply. Anything further cannot exist yet and is refused.
pub const NEWEST_KUBERNETES_MINOR: u32 = 35;
/// Kubernetes ships three minor versions a year: a year's worth past the newest known.
pub const KUBERNETES_HORIZON: u32 = 3;
/// The newest PostgreSQL major version this provider knows RDS to offer; one more (PostgreSQL ships
/// one major a year) is accepted with a warning, anything further refused.
pub const NEWEST_POSTGRES_MAJOR: u32 = 17;
pub const POSTGRES_HORIZON: u32 = 1;

/// A Retool release channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReleaseChannel {
    /// Quarterly releases with long support.
    Stable,
    /// Weekly releases.
    Edge,
}

impl ReleaseChannel {
    fn suffix(self) -> &'static str {
        match self {
            ReleaseChannel::Stable => "stable",
            ReleaseChannel::Edge => "edge",
        }
    }
}

/// A Retool release such as `3.148.0-stable`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetoolVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
    pub channel: ReleaseChannel,
}

impl RetoolVersion {
    /// Parses `X.Y.Z-stable` or `X.Y.Z-edge` (decimal numbers without leading zeros).
    pub fn parse(text: &str) -> Result<RetoolVersion, Error> {
        let expected = "expected a Retool release such as 3.148.0-stable or 3.150.0-edge";
        let Some((numbers, suffix)) = text.split_once('-') else {
            return Err(Error::Invalid(format!("{text:?} has no release channel; {expected}.")));
        };
        let channel = match suffix {
            "stable" => ReleaseChannel::Stable,
            "edge" => ReleaseChannel::Edge,
            other => return Err(Error::Invalid(format!("{text:?} has release channel {other:?}; {expected}."))),
        };
        match parse_numbers(numbers).as_deref() {
            Some(&[major, minor, patch]) => Ok(RetoolVersion { major, minor, patch, channel }),
            _ => Err(Error::Invalid(format!("{text:?} is not a version of three numbers; {expected}."))),
        }
    }
}

/// The most minor versions one `retool_version` change may move forward: Retool supports
/// upgrades across at most this many minor releases at once (its migrations are tested over that
/// span), and a larger jump is usually a typo.
pub const MAX_RETOOL_MINOR_JUMP: u32 = 10;

impl RetoolVersion {
    /// Whether a deployment running `prior` may be changed to `planned`: never backwards (the
    /// jobs-runner has already migrated the database forward and no release migrates it back), and
    /// forward by at most [`MAX_RETOOL_MINOR_JUMP`] minor versions (within the major, or into the
    /// next major's first ones). The channel alone may change.
    pub fn check_upgrade(prior: &RetoolVersion, planned: &RetoolVersion) -> Result<(), Error> {
        let numbers = |v: &RetoolVersion| (v.major, v.minor, v.patch);
        if numbers(planned) < numbers(prior) {
            return Err(Error::Invalid(format!(
                "Retool {prior} runs now, and Retool cannot be downgraded to {planned}: the database was migrated \
                 forward by {prior} and no release migrates it back. Keep {prior} (or a later release), or restore a \
                 database snapshot taken before the upgrade into a new deployment."
            )));
        }
        let jump = if planned.major == prior.major {
            planned.minor - prior.minor
        } else if planned.major == prior.major.saturating_add(1) {
            // Into the next major: counted from its first minor.
            planned.minor.saturating_add(1)
        } else {
            u32::MAX
        };
        if jump > MAX_RETOOL_MINOR_JUMP {
            let step = format!("{}.{}", prior.major, prior.minor.saturating_add(MAX_RETOOL_MINOR_JUMP));
            return Err(Error::Invalid(format!(
                "Retool {prior} runs now; {planned} is more than {MAX_RETOOL_MINOR_JUMP} minor versions ahead, further \
                 than one upgrade may go (the database migrations run in one step). Upgrade in steps: first to a \
                 {step} release or an earlier one, apply, then continue."
            )));
        }
        Ok(())
    }
}

impl fmt::Display for RetoolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}-{}", self.major, self.minor, self.patch, self.channel.suffix())
    }
}

/// An EKS Kubernetes version, `1.N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct KubernetesVersion {
    pub major: u32,
    pub minor: u32,
}

impl KubernetesVersion {
    /// Parses `major.minor` such as `1.33`; EKS offers only Kubernetes 1.x.
    pub fn parse(text: &str) -> Result<KubernetesVersion, Error> {
        match parse_numbers(text).as_deref() {
            Some(&[1, minor]) if minor > NEWEST_KUBERNETES_MINOR + KUBERNETES_HORIZON => Err(Error::Invalid(format!(
                "Kubernetes {text} does not exist yet: the newest version EKS offers is 1.{NEWEST_KUBERNETES_MINOR}."
            ))),
            Some(&[1, minor]) => Ok(KubernetesVersion { major: 1, minor }),
            Some(&[_, _]) => Err(Error::Invalid(format!(
                "{text:?} is not a Kubernetes version EKS offers; expected 1.N such as {DEFAULT_KUBERNETES_VERSION}."
            ))),
            _ => Err(Error::Invalid(format!(
                "{text:?} is not a Kubernetes minor version; expected major.minor such as {DEFAULT_KUBERNETES_VERSION} (no patch number)."
            ))),
        }
    }

    /// A warning when this version is newer than the newest this provider knows EKS to offer.
    pub fn newer_than_known(self) -> Option<String> {
        (self.minor > NEWEST_KUBERNETES_MINOR).then(|| {
            format!(
                "Kubernetes {self} is newer than the newest version this provider knows (1.{NEWEST_KUBERNETES_MINOR}). \
                 If EKS offers it in your region the apply proceeds; if not, EKS refuses it at apply and nothing is \
                 created — then choose 1.{NEWEST_KUBERNETES_MINOR} or upgrade the provider."
            )
        })
    }

    /// Whether a cluster at `prior` may be updated to `planned`: EKS updates one minor version at
    /// a time and never downgrades, so only "unchanged" and "next minor" are allowed.
    pub fn check_upgrade(prior: KubernetesVersion, planned: KubernetesVersion) -> Result<(), Error> {
        let next = KubernetesVersion { major: prior.major, minor: prior.minor.saturating_add(1) };
        if planned == prior || planned == next {
            Ok(())
        } else if planned < prior {
            Err(Error::Invalid(format!(
                "The cluster runs Kubernetes {prior}; EKS cannot downgrade it to {planned}. Keep {prior}, or replace the deployment."
            )))
        } else {
            Err(Error::Invalid(format!(
                "The cluster runs Kubernetes {prior}; EKS upgrades one minor version at a time, so {planned} must be reached through {next} first: set {next}, apply, then continue."
            )))
        }
    }
}

impl fmt::Display for KubernetesVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// An RDS PostgreSQL engine version: a major version (`16`) or a specific one (`16.4`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostgresVersion {
    pub major: u32,
    /// The minor version when one is pinned; `None` lets RDS choose the newest minor.
    pub minor: Option<u32>,
}

impl PostgresVersion {
    /// Parses `16` or `16.4` and refuses majors below [`MIN_POSTGRES_MAJOR`].
    pub fn parse(text: &str) -> Result<PostgresVersion, Error> {
        let expected = "expected a PostgreSQL version such as 16 or 16.4";
        let version = match parse_numbers(text).as_deref() {
            Some(&[major]) => PostgresVersion { major, minor: None },
            Some(&[major, minor]) => PostgresVersion { major, minor: Some(minor) },
            // Before 10, Postgres majors had two parts (9.6.24); they are all too old anyway.
            Some(&[major, _, _]) if major < 10 => PostgresVersion { major, minor: None },
            _ => return Err(Error::Invalid(format!("{text:?} is not a PostgreSQL version; {expected}."))),
        };
        if version.major > NEWEST_POSTGRES_MAJOR + POSTGRES_HORIZON {
            return Err(Error::Invalid(format!(
                "PostgreSQL {text} does not exist yet: the newest major version RDS offers is {NEWEST_POSTGRES_MAJOR}."
            )));
        }
        if version.major < MIN_POSTGRES_MAJOR {
            return Err(Error::Invalid(format!(
                "PostgreSQL {text} is too old: Retool requires PostgreSQL {MIN_POSTGRES_MAJOR} or later."
            )));
        }
        Ok(version)
    }

    /// A warning when this major version is newer than the newest this provider knows RDS to offer.
    pub fn newer_than_known(&self) -> Option<String> {
        (self.major > NEWEST_POSTGRES_MAJOR).then(|| {
            format!(
                "PostgreSQL {self} is newer than the newest major version this provider knows ({NEWEST_POSTGRES_MAJOR}). \
                 If RDS offers it in your region the apply proceeds; if not, RDS refuses it at apply — then choose \
                 {NEWEST_POSTGRES_MAJOR} or upgrade the provider."
            )
        })
    }

    /// Whether the configuration of an instance at `prior` may become `planned`: RDS upgrades in
    /// place but never downgrades, neither a major version nor a pinned minor one.
    pub fn check_change(prior: &PostgresVersion, planned: &PostgresVersion) -> Result<(), Error> {
        let lower_minor =
            prior.major == planned.major && matches!((prior.minor, planned.minor), (Some(was), Some(now)) if now < was);
        if planned.major < prior.major || lower_minor {
            Err(Error::Invalid(format!(
                "The database runs PostgreSQL {prior}; RDS cannot downgrade it to {planned}. Keep {prior}, or restore a snapshot into a new deployment."
            )))
        } else {
            Ok(())
        }
    }

    /// Whether an instance that RDS reports running `running` (`16.4`) is older than this pinned
    /// version; never for a major-only version, whose minor RDS chooses.
    pub fn is_newer_than_running(&self, running: &str) -> bool {
        let Some(minor) = self.minor else { return false };
        let mut parts = running.split('.').map(|part| part.parse::<u32>().ok());
        let running_major = parts.next().flatten();
        let running_minor = parts.next().flatten().unwrap_or(0);
        running_major == Some(self.major) && running_minor < minor
    }

    /// The DB parameter group family of this major version, e.g. `postgres16`.
    pub fn parameter_group_family(&self) -> String {
        format!("postgres{}", self.major)
    }
}

impl fmt::Display for PostgresVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.minor {
            Some(minor) => write!(f, "{}.{minor}", self.major),
            None => write!(f, "{}", self.major),
        }
    }
}

/// Dot-separated decimal numbers without signs, spaces or leading zeros; `None` otherwise.
/// An ElastiCache (Redis OSS) engine version: `major.minor` (`7.1`) or with a patch (`6.2.6`).
/// AWS reports the full version a cache runs (`7.1.0`), so versions compare on the parts both
/// give: `7.1` and `7.1.0` are the same version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheEngineVersion {
    parts: Vec<u32>,
}

impl CacheEngineVersion {
    /// Parses `7.1` or `6.2.6`.
    pub fn parse(text: &str) -> Result<CacheEngineVersion, Error> {
        match parse_numbers(text) {
            Some(parts) if (2..=3).contains(&parts.len()) => Ok(CacheEngineVersion { parts }),
            _ => Err(Error::Invalid(format!(
                "{text:?} is not an ElastiCache engine version; expected major.minor such as 7.1 (or with a patch, 6.2.6)."
            ))),
        }
    }

    /// How this version compares with `other` on the parts both give.
    pub fn compare(&self, other: &CacheEngineVersion) -> std::cmp::Ordering {
        self.parts
            .iter()
            .zip(&other.parts)
            .map(|(a, b)| a.cmp(b))
            .find(|order| order.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    }

    /// Whether a cache at `prior` may be changed to `planned`: ElastiCache upgrades in place and
    /// never downgrades.
    pub fn check_change(prior: &str, planned: &str) -> Result<(), Error> {
        let (Ok(from), Ok(to)) = (Self::parse(prior), Self::parse(planned)) else { return Ok(()) };
        if to.compare(&from).is_lt() {
            Err(Error::Invalid(format!(
                "The cache runs engine version {prior}; ElastiCache cannot downgrade it to {planned}. Keep {prior} or set a later version."
            )))
        } else {
            Ok(())
        }
    }
}

fn parse_numbers(text: &str) -> Option<Vec<u32>> {
    text.split('.')
        .map(|part| {
            let canonical =
                !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) && (part == "0" || !part.starts_with('0'));
            if canonical { part.parse().ok() } else { None }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_engine_versions_compare_on_the_parts_both_give_and_never_go_down() {
        let version = |text: &str| CacheEngineVersion::parse(text).unwrap_or_else(|e| panic!("{e}"));
        assert!(version("7.1").compare(&version("7.1.0")).is_eq());
        assert!(version("7.0.7").compare(&version("7.1")).is_lt());
        assert!(version("7.1.0").compare(&version("6.2")).is_gt());
        for bad in ["7", "6.x", "7.1.0.1", "v7.1", "07.1", ""] {
            assert!(CacheEngineVersion::parse(bad).is_err(), "{bad:?}");
        }
        assert!(CacheEngineVersion::check_change("7.0", "7.1").is_ok());
        assert!(CacheEngineVersion::check_change("7.1", "7.1.0").is_ok());
        let refused = CacheEngineVersion::check_change("7.1", "7.0").expect_err("a downgrade");
        assert!(refused.to_string().contains("cannot downgrade"), "{refused}");
    }

    fn k8s(text: &str) -> KubernetesVersion {
        KubernetesVersion::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn retool_versions_name_a_release() {
        let stable = RetoolVersion::parse("3.148.0-stable").unwrap();
        assert_eq!(stable, RetoolVersion { major: 3, minor: 148, patch: 0, channel: ReleaseChannel::Stable });
        assert_eq!(stable.to_string(), "3.148.0-stable");
        let edge = RetoolVersion::parse("3.150.12-edge").unwrap();
        assert_eq!(edge.channel, ReleaseChannel::Edge);
        assert_eq!(edge.to_string(), "3.150.12-edge");
    }

    #[test]
    fn retool_upgrades_go_forward_by_at_most_ten_minor_versions() {
        let version = |text: &str| RetoolVersion::parse(text).unwrap_or_else(|e| panic!("{e}"));
        let check = |prior: &str, planned: &str| RetoolVersion::check_upgrade(&version(prior), &version(planned));
        for (prior, planned) in [
            ("3.300.0-stable", "3.300.0-stable"),
            ("3.300.0-stable", "3.300.2-stable"),
            ("3.300.0-stable", "3.310.0-stable"),
            ("3.300.4-stable", "3.310.9-edge"),
            ("3.300.0-edge", "3.300.0-stable"),
            ("3.300.0-stable", "4.9.0-stable"),
        ] {
            assert!(check(prior, planned).is_ok(), "{prior} -> {planned}");
        }
        for (prior, planned) in [
            ("3.300.0-stable", "3.299.0-stable"),
            ("3.300.2-stable", "3.300.1-stable"),
            ("4.0.0-stable", "3.400.0-stable"),
        ] {
            let problem = check(prior, planned).unwrap_err().to_string();
            assert!(
                problem.contains("cannot be downgraded") && problem.contains(prior),
                "{prior} -> {planned}: {problem}"
            );
        }
        for (prior, planned) in [
            ("3.300.0-stable", "3.311.0-stable"),
            ("3.300.0-stable", "4.10.0-stable"),
            ("3.300.0-stable", "5.0.0-stable"),
        ] {
            let problem = check(prior, planned).unwrap_err().to_string();
            assert!(problem.contains("more than 10 minor versions ahead"), "{prior} -> {planned}: {problem}");
        }
        let step = check("3.300.5-stable", "3.320.0-stable").unwrap_err().to_string();
        assert!(step.contains("first to a 3.310 release"), "{step}");
    }

    #[test]
    fn malformed_retool_versions_are_refused() {
        for bad in [
            "",
            "3.148.0",
            "3.148-stable",
            "3.148.0.1-stable",
            "v3.148.0-stable",
            "3.148.0-beta",
            "3.148.0-Stable",
            "03.148.0-stable",
            "3.148.0-stable ",
            "-stable",
            "3..0-stable",
            "3.148.99999999999-stable",
            "3.148.0-stable-edge",
            "latest",
        ] {
            assert!(RetoolVersion::parse(bad).is_err(), "{bad:?}");
        }
        let problem = RetoolVersion::parse("3.148.0").unwrap_err().to_string();
        assert!(problem.contains("release channel"), "{problem}");
    }

    #[test]
    fn kubernetes_versions_are_one_point_minor() {
        assert_eq!(k8s("1.33"), KubernetesVersion { major: 1, minor: 33 });
        assert_eq!(k8s(DEFAULT_KUBERNETES_VERSION).to_string(), DEFAULT_KUBERNETES_VERSION);
        for bad in ["", "1", "1.33.2", "2.0", "v1.33", "1.033", "1.-1", "1.33 ", "one.two"] {
            assert!(KubernetesVersion::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn kubernetes_upgrades_one_minor_at_a_time() {
        assert!(KubernetesVersion::check_upgrade(k8s("1.32"), k8s("1.32")).is_ok());
        assert!(KubernetesVersion::parse("1.99").is_err(), "1.99 cannot exist yet");
        assert!(
            KubernetesVersion::parse("1.38").is_ok_and(|v| v.newer_than_known().is_some()),
            "1.38 may, with a warning"
        );
        assert!(k8s("1.35").newer_than_known().is_none());
        assert!(PostgresVersion::parse("99").is_err() && PostgresVersion::parse("20").is_err());
        assert!(PostgresVersion::parse("18").is_ok_and(|v| v.newer_than_known().is_some()));
        assert!(PostgresVersion::parse("17.2").is_ok_and(|v| v.newer_than_known().is_none()));
        assert!(KubernetesVersion::check_upgrade(k8s("1.32"), k8s("1.33")).is_ok());
        let skip = KubernetesVersion::check_upgrade(k8s("1.31"), k8s("1.33")).unwrap_err().to_string();
        assert!(skip.contains("1.32 first"), "{skip}");
        let down = KubernetesVersion::check_upgrade(k8s("1.33"), k8s("1.32")).unwrap_err().to_string();
        assert!(down.contains("cannot downgrade"), "{down}");
        let edge = KubernetesVersion { major: 1, minor: u32::MAX };
        assert!(KubernetesVersion::check_upgrade(edge, edge).is_ok());
    }

    #[test]
    fn postgres_versions_from_thirteen_map_to_their_family() {
        let major = PostgresVersion::parse("16").unwrap();
        assert_eq!(major, PostgresVersion { major: 16, minor: None });
        assert_eq!(major.parameter_group_family(), "postgres16");
        let pinned = PostgresVersion::parse("16.4").unwrap();
        assert_eq!((pinned.major, pinned.minor), (16, Some(4)));
        assert_eq!(pinned.to_string(), "16.4");
        assert_eq!(PostgresVersion::parse("13").unwrap().parameter_group_family(), "postgres13");
        assert_eq!(PostgresVersion::parse("15").unwrap().to_string(), "15");
    }

    #[test]
    fn postgres_changes_only_go_forward() {
        let pg = |text: &str| PostgresVersion::parse(text).unwrap_or_else(|e| panic!("{e}"));
        for (prior, planned) in
            [("15", "16"), ("15", "15"), ("16.4", "16.6"), ("16.6", "16"), ("16", "16.2"), ("15.8", "16.1")]
        {
            assert!(PostgresVersion::check_change(&pg(prior), &pg(planned)).is_ok(), "{prior} -> {planned}");
        }
        for (prior, planned) in [("16", "15"), ("16.6", "16.4"), ("16.1", "15.8")] {
            let problem = PostgresVersion::check_change(&pg(prior), &pg(planned)).unwrap_err().to_string();
            assert!(problem.contains("cannot downgrade"), "{prior} -> {planned}: {problem}");
        }
        assert!(pg("16.6").is_newer_than_running("16.4") && pg("16.6").is_newer_than_running("16"));
        assert!(!pg("16.6").is_newer_than_running("16.6") && !pg("16.6").is_newer_than_running("16.8"));
        assert!(!pg("16").is_newer_than_running("16.1") && !pg("16.6").is_newer_than_running("15.9"));
    }

    #[test]
    fn postgres_versions_before_thirteen_or_malformed_are_refused() {
        for old in ["12", "12.19", "9.6.24", "11.22"] {
            let problem = PostgresVersion::parse(old).unwrap_err().to_string();
            assert!(problem.contains("requires PostgreSQL 13"), "{old}: {problem}");
        }
        for bad in ["", "16.", ".4", "16.4.1", "postgres16", "16a", "016", "sixteen", "99999999999"] {
            assert!(PostgresVersion::parse(bad).is_err(), "{bad:?}");
        }
    }
}
