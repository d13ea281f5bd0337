//! Instance type names of EC2 (`m5.xlarge`), RDS (`db.m5.large`) and ElastiCache
//! (`cache.t4g.medium`), parsed into family and size.
//!
//! The three services share one naming scheme, `[prefix.]family.size`, and within a family a
//! size is a fixed multiple of the smallest one (AWS's "normalization factor": large = 4,
//! xlarge = 8, 2xlarge = 16, …). Parsing once gives the validators a precise message (including
//! "that is an RDS class, not an EC2 type") and gives the cost estimate a way to price a size
//! it has no list price for. Bare-metal sizes are refused: their capacity differs per family, so
//! they can be neither sized nor priced from the name, and a Retool node group has no use for them.

use crate::error::Error;
use std::fmt;

/// Which service an instance type name belongs to; each has its own prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstanceKind {
    /// EKS node group instances: `m5.xlarge`.
    Ec2,
    /// RDS instance classes: `db.m5.large`.
    Rds,
    /// ElastiCache node types: `cache.t4g.medium`.
    ElastiCache,
}

impl InstanceKind {
    /// The prefix before the family, including its dot (empty for EC2).
    pub fn prefix(self) -> &'static str {
        match self {
            InstanceKind::Ec2 => "",
            InstanceKind::Rds => "db.",
            InstanceKind::ElastiCache => "cache.",
        }
    }

    fn example(self) -> &'static str {
        match self {
            InstanceKind::Ec2 => "an EC2 instance type such as m5.xlarge",
            InstanceKind::Rds => "an RDS instance class such as db.m5.large",
            InstanceKind::ElastiCache => "an ElastiCache node type such as cache.t4g.medium",
        }
    }
}

/// A parsed instance type, e.g. family `m5` and size `xlarge`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceType {
    pub kind: InstanceKind,
    pub family: String,
    pub size: String,
    /// The size in quarters of AWS's normalization factor (nano = 1, large = 16), kept whole.
    quarter_units: u32,
}

/// Longest size multiplier accepted (`112xlarge` is the largest AWS sells today).
const MAX_XLARGE_MULTIPLIER: u32 = 999;

impl InstanceType {
    /// Parses `text` as an instance type of `kind`, explaining what is wrong when it is not one.
    pub fn parse(kind: InstanceKind, text: &str) -> Result<InstanceType, Error> {
        let expected = kind.example();
        let Some(rest) = text.strip_prefix(kind.prefix()) else {
            return Err(Error::Invalid(format!(
                "{text:?} does not start with {:?}; expected {expected}.",
                kind.prefix()
            )));
        };
        for other in [InstanceKind::Rds, InstanceKind::ElastiCache] {
            if other != kind && rest.starts_with(other.prefix()) {
                return Err(Error::Invalid(format!("{text:?} looks like {}, not {expected}.", other.example())));
            }
        }
        let Some((family, size)) = rest.split_once('.') else {
            return Err(Error::Invalid(format!("{text:?} is not family.size; expected {expected}.")));
        };
        if !is_family(family) {
            return Err(Error::Invalid(format!(
                "{text:?} has no valid instance family before the size; expected {expected}."
            )));
        }
        if let Some(problem) = impossible_family(kind, family) {
            return Err(Error::Invalid(format!("{text:?}: {problem}; expected {expected}.")));
        }
        if size.starts_with("metal") {
            return Err(Error::Invalid(format!(
                "{text:?} is a bare-metal size, which is not supported here; choose a sized type, e.g. {}{family}.4xlarge.",
                kind.prefix()
            )));
        }
        let Some(quarter_units) = size_quarter_units(size) else {
            return Err(Error::Invalid(format!(
                "{text:?} has size {size:?}, which is not nano, micro, small, medium, large, xlarge or Nxlarge; expected {expected}."
            )));
        };
        Ok(InstanceType { kind, family: family.to_owned(), size: size.to_owned(), quarter_units })
    }

    /// A warning when the family's generation is newer than this provider's table knows for its
    /// class: it may have been released since; the service decides at apply.
    pub fn newer_than_known(&self) -> Option<String> {
        let (class, generation) = class_and_generation(&self.family)?;
        let (_, newest) = classes(self.kind).iter().find(|(known, _)| *known == class)?;
        (generation > *newest).then(|| {
            format!(
                "{self} is of generation {generation} of class {class}, newer than the newest this provider knows \
                 ({newest}). If AWS offers it in your region the apply proceeds; if not, AWS refuses it at apply — \
                 then choose a known generation or upgrade the provider."
            )
        })
    }

    /// AWS's normalization factor of the size: how many `small`s it is (large = 4, xlarge = 8).
    pub fn normalization_factor(&self) -> f64 {
        f64::from(self.quarter_units) / 4.0
    }
}

impl fmt::Display for InstanceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}.{}", self.kind.prefix(), self.family, self.size)
    }
}

/// The instance classes (the letters before a family's generation) each service sells, with the
/// newest generation this provider knows of each. A class not listed cannot exist; a generation
/// up to [`GENERATION_HORIZON`] past the newest known may have been released since (a warning),
/// further ones cannot exist yet (an error). High-memory `u-` families are named by memory, not
/// generation, and are left alone.
fn classes(kind: InstanceKind) -> &'static [(&'static str, u32)] {
    match kind {
        InstanceKind::Ec2 => &[
            ("a", 1),
            ("c", 8),
            ("d", 3),
            ("dl", 2),
            ("f", 2),
            ("g", 6),
            ("gr", 6),
            ("h", 1),
            ("hpc", 7),
            ("i", 8),
            ("im", 4),
            ("inf", 2),
            ("is", 4),
            ("m", 8),
            ("mac", 2),
            ("p", 6),
            ("r", 8),
            ("t", 4),
            ("trn", 2),
            ("vt", 1),
            ("x", 8),
            ("z", 1),
        ],
        InstanceKind::Rds => &[("c", 6), ("m", 8), ("r", 8), ("t", 4), ("x", 2), ("z", 1)],
        InstanceKind::ElastiCache => &[("c", 7), ("m", 7), ("r", 7), ("t", 4)],
    }
}

/// Generations past the newest known that may exist by now (AWS adds about one a year).
const GENERATION_HORIZON: u32 = 2;

/// A family's class (leading letters) and generation (the digits after them); `None` for families
/// not named that way (`u-6tb1`).
fn class_and_generation(family: &str) -> Option<(&str, u32)> {
    let class_end = family.find(|c: char| !c.is_ascii_lowercase())?;
    let (class, rest) = family.split_at(class_end);
    let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    Some((class, rest[..digits].parse().ok()?))
}

/// Why `family` cannot be one the service sells, if it cannot.
fn impossible_family(kind: InstanceKind, family: &str) -> Option<String> {
    if family.starts_with("u-") {
        return None;
    }
    let (class, generation) = class_and_generation(family)?;
    match classes(kind).iter().find(|(known, _)| *known == class) {
        None => Some(format!("no instance family of class {class:?} exists")),
        Some((_, newest)) if generation > newest + GENERATION_HORIZON => {
            Some(format!("generation {generation} of class {class:?} does not exist yet (the newest is {newest})"))
        }
        Some(_) => None,
    }
}

/// A family is a lowercase letter, then lowercase letters, digits and hyphens, with a generation
/// digit somewhere (`t3`, `m7g`, `x2iedn`, `u-6tb1`).
fn is_family(family: &str) -> bool {
    family.len() <= 16
        && family.starts_with(|c: char| c.is_ascii_lowercase())
        && family.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && family.bytes().any(|b| b.is_ascii_digit())
        && !family.ends_with('-')
}

fn size_quarter_units(size: &str) -> Option<u32> {
    match size {
        "nano" => Some(1),
        "micro" => Some(2),
        "small" => Some(4),
        "medium" => Some(8),
        "large" => Some(16),
        "xlarge" => Some(32),
        _ => {
            let multiplier = size.strip_suffix("xlarge")?;
            let canonical = !multiplier.is_empty()
                && multiplier.bytes().all(|b| b.is_ascii_digit())
                && !multiplier.starts_with('0');
            if !canonical {
                return None;
            }
            let multiplier: u32 = multiplier.parse().ok()?;
            (2..=MAX_XLARGE_MULTIPLIER).contains(&multiplier).then(|| multiplier * 32)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_service_name_parses_into_family_and_size() {
        let node = InstanceType::parse(InstanceKind::Ec2, "m7g.2xlarge").unwrap();
        assert_eq!((node.family.as_str(), node.size.as_str()), ("m7g", "2xlarge"));
        assert_eq!(node.normalization_factor(), 16.0);
        assert_eq!(node.to_string(), "m7g.2xlarge");
        let db = InstanceType::parse(InstanceKind::Rds, "db.m5.large").unwrap();
        assert_eq!((db.family.as_str(), db.normalization_factor()), ("m5", 4.0));
        assert_eq!(db.to_string(), "db.m5.large");
        let cache = InstanceType::parse(InstanceKind::ElastiCache, "cache.t4g.micro").unwrap();
        assert_eq!((cache.family.as_str(), cache.normalization_factor()), ("t4g", 0.5));
        assert_eq!(cache.to_string(), "cache.t4g.micro");
    }

    #[test]
    fn sizes_scale_like_aws_normalization_factors() {
        let factor = |t: &str| InstanceType::parse(InstanceKind::Ec2, t).unwrap().normalization_factor();
        assert_eq!(
            [
                "t3.nano",
                "t3.micro",
                "t3.small",
                "t3.medium",
                "m5.large",
                "m5.xlarge",
                "m5.24xlarge",
                "u-6tb1.112xlarge"
            ]
            .map(factor),
            [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 192.0, 896.0]
        );
    }

    #[test]
    fn other_services_names_are_recognised_and_explained() {
        let problem = InstanceType::parse(InstanceKind::Ec2, "db.m5.large").unwrap_err().to_string();
        assert!(problem.contains("RDS instance class"), "{problem}");
        let problem = InstanceType::parse(InstanceKind::Rds, "cache.m5.large").unwrap_err().to_string();
        assert!(problem.contains("does not start with \"db.\""), "{problem}");
        let problem = InstanceType::parse(InstanceKind::Rds, "db.cache.m5.large").unwrap_err().to_string();
        assert!(problem.contains("ElastiCache"), "{problem}");
    }

    #[test]
    fn families_that_cannot_exist_are_refused_and_newer_ones_warned_about() {
        for impossible in ["m99.large", "q5.large", "zz3.xlarge"] {
            assert!(InstanceType::parse(InstanceKind::Ec2, impossible).is_err(), "{impossible}");
        }
        assert!(InstanceType::parse(InstanceKind::Rds, "db.m42.large").is_err());
        assert!(InstanceType::parse(InstanceKind::ElastiCache, "cache.q7.large").is_err());
        let newer = InstanceType::parse(InstanceKind::Ec2, "m9g.large").unwrap();
        assert!(newer.newer_than_known().is_some_and(|warning| warning.contains("newer")));
        for known in ["m5.large", "m8g.xlarge", "c7gn.large", "t3a.medium", "u-6tb1.112xlarge", "x2iedn.xlarge"] {
            let parsed = InstanceType::parse(InstanceKind::Ec2, known).unwrap();
            assert!(parsed.newer_than_known().is_none(), "{known}");
        }
        for known in ["db.r7g.large", "db.t4g.micro", "db.x2g.large"] {
            assert!(
                InstanceType::parse(InstanceKind::Rds, known).is_ok_and(|t| t.newer_than_known().is_none()),
                "{known}"
            );
        }
    }

    #[test]
    fn malformed_names_are_refused() {
        for bad in [
            "",
            "m5",
            "m5.",
            ".xlarge",
            "m5.xlarge.extra",
            "M5.xlarge",
            "m5.XLARGE",
            "m.xlarge",
            "5m.large",
            "m5.1xlarge",
            "m5.02xlarge",
            "m5.0xlarge",
            "m5.xxlarge",
            "m5.hugelarge",
            "m5 .large",
            "m5-.large",
            "m5.9999xlarge",
            "m5.99999999999999xlarge",
            "c5.metal",
            "m7i.metal-24xl",
            "m5.large ",
        ] {
            assert!(InstanceType::parse(InstanceKind::Ec2, bad).is_err(), "{bad:?}");
        }
        for bad in ["m5.large", "db.", "db.m5", "db.m5.metal"] {
            assert!(InstanceType::parse(InstanceKind::Rds, bad).is_err(), "{bad:?}");
        }
        assert_eq!(InstanceKind::ElastiCache.prefix(), "cache.");
    }
}
