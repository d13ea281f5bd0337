//! Input checks for `retool_permission_boundary`, run at validate time with no AWS call.
//!
//! Why here and this strict: every input ends up inside an IAM name or a policy document. A bad
//! character would make IAM reject the apply half-way; a wildcard principal would open the roles
//! to anyone. Catching these as attribute errors keeps a typo from ever becoming a half-built or
//! over-trusting fence.

use crate::framework::validators::{Validator, check};
use crate::resources::naming::shown;

/// Longest accepted `name_prefix`: leaves room for `-operator-boundary` and the like inside IAM's
/// 64-character role-name limit.
pub const NAME_PREFIX_MAX: usize = 32;
/// Longest accepted `secrets_prefix`: bounds the size of the rendered documents.
pub const SECRETS_PREFIX_MAX: usize = 128;
/// `max_session_duration` bounds, in seconds, as IAM accepts them.
pub const SESSION_MIN: i64 = 3600;
pub const SESSION_MAX: i64 = 43200;

/// Characters IAM allows in role and policy names.
pub fn is_iam_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)
}

/// Why `prefix` cannot prefix IAM names, if it cannot.
pub fn name_prefix_problem(prefix: &str) -> Option<String> {
    let rules = PrefixRules {
        empty: "must not be empty.",
        max: NAME_PREFIX_MAX,
        allowed: is_iam_name_char,
        allowed_text: "only letters, digits and + = , . @ _ - are allowed in IAM names",
    };
    rules.problem(prefix)
}

/// Why `prefix` cannot be a Secrets Manager name prefix, if it cannot.
pub fn secrets_prefix_problem(prefix: &str) -> Option<String> {
    let rules = PrefixRules {
        empty: "must not be empty: the operator would manage every secret.",
        max: SECRETS_PREFIX_MAX,
        allowed: |c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c),
        allowed_text: "secret names allow only letters, digits and / _ + = . @ -",
    };
    rules.problem(prefix)
}

/// What a name prefix must be: one checker for the IAM and the Secrets Manager prefix, which
/// differ only in length and alphabet.
struct PrefixRules {
    /// The problem of an empty prefix.
    empty: &'static str,
    /// Longest accepted prefix, in characters.
    max: usize,
    /// Whether a character is allowed.
    allowed: fn(char) -> bool,
    /// The allowed alphabet, as the problem of a bad character states it.
    allowed_text: &'static str,
}

impl PrefixRules {
    /// Why `prefix` breaks these rules (emptiness first, then length, then the first bad character).
    fn problem(&self, prefix: &str) -> Option<String> {
        if prefix.is_empty() {
            return Some(self.empty.into());
        }
        let len = prefix.chars().count();
        if len > self.max {
            return Some(format!("is {len} characters long; at most {} are allowed.", self.max));
        }
        prefix.chars().find(|c| !(self.allowed)(*c)).map(|c| format!("contains {c:?}; {}.", self.allowed_text))
    }
}

/// Why `arn` is not the ARN of one IAM role or user, if it is not. Wildcards are refused: a trust
/// policy principal with `*` would let anyone (or any identity of an account) assume the roles.
pub fn principal_arn_problem(arn: &str) -> Option<String> {
    if arn.contains('*') || arn.contains('?') {
        return Some(format!("{} contains a wildcard; name one role or user exactly.", shown(arn)));
    }
    let usage = "expected arn:aws:iam::123456789012:role/NAME or …:user/NAME \
                 (partition aws, aws-us-gov or aws-cn; an optional /path/ before NAME).";
    let bad = || Some(format!("{} is not an IAM role or user ARN; {usage}", shown(arn)));
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource)) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return bad();
    };
    if !matches!(partition, "aws" | "aws-us-gov" | "aws-cn") {
        return bad();
    }
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return bad();
    }
    let Some((kind, path_and_name)) = resource.split_once('/') else {
        return bad();
    };
    if !matches!(kind, "role" | "user") {
        return bad();
    }
    let segments: Vec<&str> = path_and_name.split('/').collect();
    let Some(name) = segments.last() else {
        return bad();
    };
    let name_ok = !name.is_empty() && name.len() <= 64 && name.chars().all(is_iam_name_char);
    let path_ok = segments
        .iter()
        .take(segments.len().saturating_sub(1))
        .all(|s| !s.is_empty() && s.chars().all(is_iam_name_char));
    if name_ok && path_ok && path_and_name.len() <= 512 { None } else { bad() }
}

/// Why `id` cannot be an STS external id, if it cannot (IAM: 2–1224 of `[\w+=,.@:/-]`).
pub fn external_id_problem(id: &str) -> Option<String> {
    let len = id.chars().count();
    if !(2..=1224).contains(&len) {
        return Some(format!("is {len} characters long; it must be 2 to 1224."));
    }
    id.chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "+=,.@:/-_".contains(*c)))
        .map(|_| "contains a character STS does not accept; use letters, digits and + = , . @ : / - _.".to_owned())
}

/// `name_prefix` as an attribute validator.
pub fn name_prefix() -> impl Validator {
    check(format!("must be 1 to {NAME_PREFIX_MAX} characters of letters, digits and + = , . @ _ -"), |v| {
        name_prefix_problem(v.as_str()?)
    })
}

/// `secrets_prefix` as an attribute validator.
pub fn secrets_prefix() -> impl Validator {
    check(format!("must be 1 to {SECRETS_PREFIX_MAX} characters of letters, digits and / _ + = . @ -"), |v| {
        secrets_prefix_problem(v.as_str()?)
    })
}

/// One element of `operator_principal_arns` as an attribute validator.
pub fn principal_arn() -> impl Validator {
    check("must be the ARN of one IAM role or user, without wildcards", |v| principal_arn_problem(v.as_str()?))
}

/// `external_id` as an attribute validator. The message never repeats the value: it is sensitive.
pub fn external_id() -> impl Validator {
    check("must be 2 to 1224 characters of letters, digits and + = , . @ : / - _", |v| external_id_problem(v.as_str()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_prefix_accepts_iam_safe_names_up_to_32() {
        for ok in ["retool", "acme.prod_1", "a+b=c,d@e-f", &"x".repeat(32)] {
            assert_eq!(name_prefix_problem(ok), None, "{ok}");
        }
        for bad in ["", &"x".repeat(33), "has space", "slash/no", "star*", "ünï", "colon:"] {
            assert!(name_prefix_problem(bad).is_some(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn secrets_prefix_allows_paths_but_not_wildcards() {
        assert_eq!(secrets_prefix_problem("retool/"), None);
        assert_eq!(secrets_prefix_problem("prod/retool-"), None);
        for bad in ["", "*", "retool/*", "a b", &"r".repeat(129)] {
            assert!(secrets_prefix_problem(bad).is_some(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn external_ids_follow_sts_rules_and_are_never_echoed() {
        assert_eq!(external_id_problem("retool-7f3c:prod/a_b"), None);
        for bad in ["x", "has space", "tab\t", &"e".repeat(1225)] {
            let problem = external_id_problem(bad).expect("refused");
            assert!(bad.len() < 2 || !problem.contains(bad), "{problem} must not echo the id");
        }
    }

    #[test]
    fn principal_arns_must_name_one_role_or_user() {
        for ok in [
            "arn:aws:iam::123456789012:role/operator",
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws-us-gov:iam::123456789012:role/team/ops/operator",
            "arn:aws-cn:iam::123456789012:role/a+b=c,d.e@f_g-h",
        ] {
            assert_eq!(principal_arn_problem(ok), None, "{ok}");
        }
        for bad in [
            "*",
            "arn:aws:iam::123456789012:role/*",
            "arn:aws:iam::123456789012:root",
            "arn:aws:iam::123456789012:group/admins",
            "arn:aws:iam::12345678901:role/short-account",
            "arn:aws:iam::1234567890123:role/long-account",
            "arn:aws:iam::12345678901x:role/x",
            "arn:aws:sts::123456789012:assumed-role/r/s",
            "arn:aws:iam:us-east-1:123456789012:role/regional",
            "arn:aws-foo:iam::123456789012:role/x",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:role//double",
            "arn:aws:iam::123456789012:role/has space",
            "arn:aws:iam::123456789012:role",
            "123456789012",
            "",
        ] {
            assert!(principal_arn_problem(bad).is_some(), "{bad:?} should be refused");
        }
    }
}
