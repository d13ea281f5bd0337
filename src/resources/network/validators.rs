//! Checks of `retool_network` configuration that need no AWS call: they run at
//! `terraform validate`, so bad input never reaches AWS.

use crate::aws::is_region_name;
use crate::framework::Diagnostics;
use crate::framework::validators::{self, Validator};
use crate::resources::naming::{Letters, NameRules};
use crate::value::{AttributePath, Value};

/// Longest network name: it prefixes every `Name` tag and security group name.
pub const MAX_NAME_LENGTH: usize = 48;

/// Letters, digits, `-` and `_`, starting with a letter; not `sg-…` (AWS reserves that prefix for
/// security group names, which start with the network's name).
pub fn network_name() -> impl Validator {
    static RULES: NameRules = NameRules::new(MAX_NAME_LENGTH, ".", Letters::Any, &['-', '_']);
    RULES.validator(
        format!(
            "must start with a letter and contain only letters, digits, - and _ (at most {MAX_NAME_LENGTH} characters)"
        ),
        |name| {
            name.to_ascii_lowercase()
                .starts_with("sg-")
                .then(|| format!("{name:?} starts with sg-, which AWS reserves for security group ids."))
        },
    )
}

/// Whether `zone` is a region name followed by one letter (`us-east-1a`).
pub fn is_zone_name(zone: &str) -> bool {
    let mut chars = zone.chars();
    chars.next_back().is_some_and(|letter| letter.is_ascii_lowercase()) && is_region_name(chars.as_str())
}

/// Each zone must be an availability zone name such as `us-east-1a`.
pub fn zone_name() -> impl Validator {
    validators::check("must be an availability zone name such as us-east-1a", |value| {
        let zone = value.as_str()?;
        (!is_zone_name(zone)).then(|| {
            format!(
                "{zone:?} is not an availability zone name: expected a region followed by a letter, such as us-east-1a."
            )
        })
    })
}

/// All known zones of the list must be in one region (zone names minus their letter agree).
pub fn zones_share_a_region(zones: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    let Some(elements) = zones.elements() else { return };
    let mut first_region: Option<&str> = None;
    for (index, zone) in elements.iter().enumerate() {
        let Some(zone) = zone.as_str().filter(|zone| is_zone_name(zone)) else { continue };
        let region = &zone[..zone.len() - 1];
        match first_region {
            None => first_region = Some(region),
            Some(first) if first != region => {
                diags.attribute_error(
                    path.index(i64::try_from(index).unwrap_or(i64::MAX)),
                    "Availability zones in different regions",
                    format!("{zone:?} is not in region {first}, like the first zone; a network lives in one region."),
                );
            }
            Some(_) => {}
        }
    }
}

/// With the provider's region known, every zone must belong to it.
pub fn zones_in_region(zones: &Value, region: &str, path: &AttributePath, diags: &mut Diagnostics) {
    let Some(elements) = zones.elements() else { return };
    for (index, zone) in elements.iter().enumerate() {
        let Some(zone) = zone.as_str() else { continue };
        let in_region = zone
            .strip_prefix(region)
            .is_some_and(|letter| letter.len() == 1 && letter.bytes().all(|b| b.is_ascii_lowercase()));
        if !in_region {
            diags.attribute_error(
                path.index(i64::try_from(index).unwrap_or(i64::MAX)),
                "Availability zone not in the provider's region",
                format!("{zone:?} is not an availability zone of {region}; expected a name such as {region}a."),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(validator: &dyn Validator, value: &str) -> usize {
        validators::problems(validator, Value::string(value)).len()
    }

    fn zones(names: &[&str]) -> Value {
        Value::list(names.iter().map(|zone| Value::string(*zone)).collect())
    }

    #[test]
    fn names_are_restricted_to_what_every_aws_name_accepts() {
        for good in ["acme", "retool-prod", "a_1"] {
            assert_eq!(problems(&network_name(), good), 0, "{good}");
        }
        for bad in ["", "1acme", "acme corp", "sg-prod", "ä", &"a".repeat(MAX_NAME_LENGTH + 1)] {
            assert_eq!(problems(&network_name(), bad), 1, "{bad}");
        }
    }

    #[test]
    fn zone_names_are_a_region_and_a_letter() {
        for good in ["us-east-1a", "eu-west-3c", "us-gov-west-1b"] {
            assert!(is_zone_name(good), "{good}");
        }
        for bad in ["", "a", "us-east-1", "us-east-1A", "us-east-1ab", "use1-az1", "us-east-1-bos-1a"] {
            assert!(!is_zone_name(bad), "{bad}");
            assert_eq!(problems(&zone_name(), bad), 1, "{bad}");
        }
    }

    #[test]
    fn zones_from_two_regions_are_rejected_at_the_odd_one() {
        let mut diags = Diagnostics::new();
        let path = AttributePath::root().attr("availability_zones");
        zones_share_a_region(&zones(&["us-east-1a", "us-west-2a", "us-east-1b"]), &path, &mut diags);
        let found: Vec<_> = diags.iter().collect();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].path.as_ref().map(ToString::to_string).as_deref(), Some("availability_zones[1]"));
    }

    #[test]
    fn zones_must_belong_to_the_provider_region() {
        let mut diags = Diagnostics::new();
        let path = AttributePath::root().attr("availability_zones");
        zones_in_region(&zones(&["us-east-1a", "us-east-1b"]), "us-east-1", &path, &mut diags);
        assert!(diags.is_empty());
        zones_in_region(&zones(&["us-east-1a", "eu-west-1b", "us-east-12a"]), "us-east-1", &path, &mut diags);
        let paths: Vec<_> = diags.iter().filter_map(|d| d.path.as_ref().map(ToString::to_string)).collect();
        assert_eq!(paths, ["availability_zones[1]", "availability_zones[2]"]);
    }
}
