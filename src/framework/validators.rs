//! Attribute validators: small, reusable checks attached to attributes in a schema.
//!
//! The engine calls a validator only with a known, non-null value (unknown values are checked again
//! at apply-time planning, once known), so each validator is a plain function of one value. A
//! validator reports through diagnostics on the attribute's path; it never calls AWS, which keeps
//! `terraform validate` free of network traffic. Resource-specific checks (CIDR ranges, ARNs) live
//! beside their resource and implement the same trait.

use std::net::Ipv4Addr;

use crate::value::{AttributePath, Value};

use super::diagnostics::Diagnostics;

/// A check of one attribute value.
pub trait Validator: Send + Sync {
    /// One sentence for documentation, e.g. "must be one of: single, one_per_az".
    fn description(&self) -> String;
    /// Called with a known, non-null value; reports problems at `path`.
    fn validate(&self, path: &AttributePath, value: &Value, diags: &mut Diagnostics);
}

/// A validator made from a description and a function returning the problem, if any.
pub struct CheckFn<F> {
    description: String,
    check: F,
}

impl<F> Validator for CheckFn<F>
where
    F: Fn(&Value) -> Option<String> + Send + Sync,
{
    fn description(&self) -> String {
        self.description.clone()
    }

    fn validate(&self, path: &AttributePath, value: &Value, diags: &mut Diagnostics) {
        if let Some(problem) = (self.check)(value) {
            diags.attribute_error(path.clone(), format!("Invalid value for {path}"), problem);
        }
    }
}

/// Builds a validator from a closure: `check(value)` returns `Some(problem)` to reject.
pub fn check<F>(description: impl Into<String>, check: F) -> CheckFn<F>
where
    F: Fn(&Value) -> Option<String> + Send + Sync,
{
    CheckFn { description: description.into(), check }
}

/// The string must be one of `allowed`.
pub fn one_of(allowed: &'static [&'static str]) -> impl Validator {
    let list = allowed.join(", ");
    check(format!("must be one of: {list}"), move |v| match v.as_str() {
        Some(s) if allowed.contains(&s) => None,
        Some(s) => Some(format!("{s:?} is not allowed; expected one of: {list}.")),
        None => None,
    })
}

/// The string's length in characters must lie within `min..=max`.
pub fn string_length(min: usize, max: usize) -> impl Validator {
    check(format!("must be {min} to {max} characters long"), move |v| {
        let len = v.as_str()?.chars().count();
        (len < min || len > max).then(|| format!("is {len} characters long; it must be {min} to {max} characters."))
    })
}

/// The string must match `predicate` character by character, described in words.
pub fn string_chars(description: &'static str, allowed: fn(char) -> bool) -> impl Validator {
    check(format!("may contain only {description}"), move |v| {
        let s = v.as_str()?;
        s.chars().find(|c| !allowed(*c)).map(|c| format!("contains {c:?}; only {description} are allowed."))
    })
}

/// A number that must be a whole number within `min..=max`.
pub fn int_between(min: i64, max: i64) -> impl Validator {
    check(format!("must be a whole number from {min} to {max}"), move |v| {
        let n = v.as_number()?;
        match n.to_i64() {
            Some(i) if (min..=max).contains(&i) => None,
            _ => Some(format!("{n} is out of range; expected a whole number from {min} to {max}.")),
        }
    })
}

/// A list, set or map must have between `min` and `max` elements (unknown elements count).
pub fn size_between(min: usize, max: usize) -> impl Validator {
    check(format!("must have {min} to {max} elements"), move |v| {
        let len = v.elements().map(<[Value]>::len).or_else(|| v.as_map().map(|m| m.len()))?;
        (len < min || len > max).then(|| format!("has {len} elements; it must have {min} to {max}."))
    })
}

/// No two known elements of a list may be equal.
pub fn unique_elements() -> impl Validator {
    check("elements must be unique", |v| {
        let items = v.elements()?;
        items.iter().enumerate().find_map(|(i, a)| {
            (!a.is_unknown() && items.iter().take(i).any(|earlier| earlier == a))
                .then(|| format!("element {i} repeats an earlier element."))
        })
    })
}

/// An absolute `http://` or `https://` URL with a host, as AWS endpoint overrides need.
pub fn http_url() -> impl Validator {
    check("must be an absolute http:// or https:// URL", |v| {
        let s = v.as_str()?;
        let rest = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://"));
        let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default());
        match host {
            Some(h) if !h.is_empty() && !h.contains(char::is_whitespace) && valid_authority(h) => None,
            _ => Some(format!("{s:?} is not an absolute http:// or https:// URL with a host.")),
        }
    })
}

fn valid_authority(authority: &str) -> bool {
    // host[:port], where the port, when present, is a number that fits in 16 bits.
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, _)) if !h.ends_with(']') && h.contains(':') => (authority, None),
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    !host.is_empty() && port.is_none_or(|p| p.parse::<u16>().is_ok())
}

/// Applies `inner` to every known element of a list, set or map value.
pub fn each_element(inner: impl Validator + 'static) -> impl Validator {
    EachElement(Box::new(inner))
}

struct EachElement(Box<dyn Validator>);

impl Validator for EachElement {
    fn description(&self) -> String {
        format!("each element {}", self.0.description())
    }

    fn validate(&self, path: &AttributePath, value: &Value, diags: &mut Diagnostics) {
        if let Some(items) = value.elements() {
            for (i, item) in items.iter().enumerate() {
                if !item.is_null() && !item.is_unknown() {
                    let index = i64::try_from(i).unwrap_or(i64::MAX);
                    self.0.validate(&path.clone().index(index), item, diags);
                }
            }
        } else if let Some(map) = value.as_map() {
            for (key, item) in map {
                if !item.is_null() && !item.is_unknown() {
                    self.0.validate(&path.clone().key(key.clone()), item, diags);
                }
            }
        }
    }
}

/// An IPv4 CIDR block whose prefix length lies in `min_prefix..=max_prefix`, with no host bits set.
pub fn ipv4_cidr(min_prefix: u8, max_prefix: u8) -> impl Validator {
    check(format!("must be an IPv4 CIDR block from /{min_prefix} to /{max_prefix}"), move |v| {
        let s = v.as_str()?;
        match parse_ipv4_cidr(s) {
            None => Some(format!("{s:?} is not an IPv4 CIDR block such as 10.0.0.0/16.")),
            Some((_, prefix)) if prefix < min_prefix || prefix > max_prefix => {
                Some(format!("{s:?} has prefix /{prefix}; it must be from /{min_prefix} to /{max_prefix}."))
            }
            Some((addr, prefix)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                (u32::from(addr) & !mask != 0).then(|| {
                    let network = Ipv4Addr::from(u32::from(addr) & mask);
                    format!("{s:?} has host bits set; did you mean {network}/{prefix}?")
                })
            }
        }
    })
}

/// Parses `a.b.c.d/p` strictly (no leading zeros trickery, prefix 0–32).
pub fn parse_ipv4_cidr(s: &str) -> Option<(Ipv4Addr, u8)> {
    let (addr, prefix) = s.split_once('/')?;
    let addr: Ipv4Addr = addr.parse().ok()?;
    if prefix.is_empty() || prefix.len() > 2 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let prefix: u8 = prefix.parse().ok()?;
    (prefix <= 32).then_some((addr, prefix))
}

/// The details of the problems `validator` finds in `value` (at an attribute `x`): what the
/// validator tests of every resource compare.
#[cfg(test)]
pub(crate) fn problems(validator: &dyn Validator, value: Value) -> Vec<String> {
    let mut diags = Diagnostics::new();
    validator.validate(&AttributePath::root().attr("x"), &value, &mut diags);
    diags.iter().map(|d| d.detail.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_of_accepts_members_and_rejects_others() {
        let v = one_of(&["single", "one_per_az"]);
        assert!(problems(&v, Value::string("single")).is_empty());
        let e = problems(&v, Value::string("two"));
        assert_eq!(e.len(), 1);
        assert!(e[0].contains("one_per_az"));
    }

    #[test]
    fn cidr_checks_syntax_range_and_host_bits() {
        let v = ipv4_cidr(16, 24);
        assert!(problems(&v, Value::string("10.254.0.0/16")).is_empty());
        assert!(problems(&v, Value::string("10.0.0.0/24")).is_empty());
        assert_eq!(problems(&v, Value::string("10.0.0.0/8")).len(), 1);
        assert_eq!(problems(&v, Value::string("10.0.0.0/28")).len(), 1);
        assert_eq!(problems(&v, Value::string("10.0.0.0")).len(), 1);
        assert_eq!(problems(&v, Value::string("10.0.0.300/16")).len(), 1);
        assert_eq!(problems(&v, Value::string("10.0.0.0/+16")).len(), 1);
        let e = problems(&v, Value::string("10.0.1.0/16"));
        assert!(e[0].contains("10.0.0.0/16"), "{e:?}");
    }

    #[test]
    fn url_requires_scheme_and_host() {
        let v = http_url();
        assert!(problems(&v, Value::string("http://127.0.0.1:4566")).is_empty());
        assert!(problems(&v, Value::string("https://ec2.us-east-1.amazonaws.com/")).is_empty());
        for bad in ["127.0.0.1:4566", "http://", "ftp://x", "http://host:99999", "http:// x"] {
            assert_eq!(problems(&v, Value::string(bad)).len(), 1, "{bad}");
        }
    }

    #[test]
    fn sizes_and_uniqueness() {
        let list = |xs: &[&str]| Value::List(xs.iter().map(|s| Value::string(*s)).collect());
        assert!(problems(&size_between(2, 6), list(&["a", "b"])).is_empty());
        assert_eq!(problems(&size_between(2, 6), list(&["a"])).len(), 1);
        assert!(problems(&unique_elements(), list(&["a", "b"])).is_empty());
        assert_eq!(problems(&unique_elements(), list(&["a", "a"])).len(), 1);
    }

    #[test]
    fn int_between_rejects_fractions_and_out_of_range() {
        let v = int_between(3600, 43200);
        assert!(problems(&v, Value::number_i64(3600)).is_empty());
        assert_eq!(problems(&v, Value::number_i64(60)).len(), 1);
    }
}
