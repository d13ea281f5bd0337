//! Resources name most of their AWS objects `<prefix>-<suffix>`. The [`suffixed_names`] table
//! states each such name once, as its method and suffix, instead of one hand-written `format!`
//! method per object. [`NameRules`] states once how a resource's own name is checked (length,
//! first character, alphabet), which every resource's name validator shares. [`is_vpc_id`] is the
//! one check of the VPC ids that import ids, configuration and state hand to EC2.
//!
//! Every identifier is checked before it reaches an AWS call, wherever it comes from — config,
//! import id or prior state: the SDKs panic on some malformed input (an over-long name in a URL
//! path) instead of returning an error.

use crate::framework::validators::{self, Validator};

/// Methods returning `<prefix>-<suffix>`, where the prefix is the `String` field `$field` of
/// `self`: one row `method => "suffix",` each (doc comments allowed above a row).
macro_rules! suffixed_names {
    ($field:ident: $($(#[$doc:meta])* $method:ident => $suffix:literal,)*) => {$(
        $(#[$doc])*
        pub fn $method(&self) -> String {
            format!(concat!("{}-", $suffix), self.$field)
        }
    )*};
}

pub(crate) use suffixed_names;

/// What a resource's name must be, as far as every resource's name validator agrees: a length, a
/// letter first, then letters, digits and some punctuation; each resource adds its own checks.
pub(crate) struct NameRules {
    /// Longest accepted name, in characters.
    max: usize,
    /// Ends the problem of a name too long or empty (after "must be 1 to N characters long").
    length_reason: &'static str,
    /// Which letters are allowed.
    letters: Letters,
    /// The punctuation allowed besides letters and digits, one character each.
    punctuation: &'static [char],
}

/// The ASCII letters a name may use.
pub(crate) enum Letters {
    /// `a` to `z` only.
    Lowercase,
    /// Upper and lower case.
    Any,
}

/// A validator of a tags map by AWS's rules for every service we tag: keys of 1 to 128
/// characters not starting with `aws:` (reserved, refused by AWS at apply), values of at most 256.
pub fn aws_tags() -> impl Validator {
    validators::check(
        "keys must be 1 to 128 characters and must not start with aws:; values at most 256 characters",
        |value| {
            let tags = value.as_map()?;
            tags.iter().find_map(|(key, value)| {
                let value_length = value.as_str().map_or(0, |text| text.chars().count());
                if key.is_empty() || key.chars().count() > 128 {
                    Some(format!("tag key {} must be 1 to 128 characters long.", shown(key)))
                } else if key.to_ascii_lowercase().starts_with("aws:") {
                    Some(format!("tag key {key:?} uses the prefix aws:, which AWS reserves for its own tags."))
                } else if value_length > 256 {
                    Some(format!("the value of tag {key:?} is {value_length} characters long; AWS allows 256."))
                } else {
                    None
                }
            })
        },
    )
}

/// Whether `id` is a VPC id as AWS makes them: `vpc-` and 8 to 32 lowercase hexadecimal digits.
pub fn is_vpc_id(id: &str) -> bool {
    id.strip_prefix("vpc-").is_some_and(|digits| {
        (8..=32).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// A name as a message shows it: quoted, and cut after 40 characters (with its length) so an
/// absurd input does not flood the diagnostic.
pub fn shown(name: &str) -> String {
    const SHOWN: usize = 40;
    match name.char_indices().nth(SHOWN) {
        None => format!("{name:?}"),
        Some((end, _)) => format!("{:?}… ({} characters)", &name[..end], name.chars().count()),
    }
}

impl NameRules {
    /// Names of at most `max` characters (`length_reason` ends the problem of a longer one), of
    /// `letters`, digits and `punctuation`, starting with a letter.
    pub const fn new(max: usize, length_reason: &'static str, letters: Letters, punctuation: &'static [char]) -> Self {
        Self { max, length_reason, letters, punctuation }
    }

    /// A validator of string names described by `description`: these rules first (length, first
    /// character, alphabet), then `more`, the resource's own checks.
    pub fn validator(&'static self, description: String, more: fn(&str) -> Option<String>) -> impl Validator {
        validators::check(description, move |value| {
            let name = value.as_str()?;
            self.problem(name).or_else(|| more(name))
        })
    }

    /// Why `name` breaks these rules, if it does.
    pub fn problem(&self, name: &str) -> Option<String> {
        let letters = match self.letters {
            Letters::Lowercase => "lowercase letters",
            Letters::Any => "letters",
        };
        if name.is_empty() || name.chars().count() > self.max {
            Some(format!("{} must be 1 to {} characters long{}", shown(name), self.max, self.length_reason))
        } else if !name.starts_with(|c: char| self.is_letter(c)) {
            Some(format!("{} must start with a {}.", shown(name), letters.trim_end_matches('s')))
        } else {
            let bad =
                name.chars().find(|c| !(self.is_letter(*c) || c.is_ascii_digit() || self.punctuation.contains(c)))?;
            let mut alphabet: Vec<String> = vec![letters.to_owned(), "digits".to_owned()];
            alphabet.extend(self.punctuation.iter().map(char::to_string));
            let last = alphabet.pop().unwrap_or_default();
            Some(format!("{} contains {bad:?}; only {} and {last} are allowed.", shown(name), alphabet.join(", ")))
        }
    }

    fn is_letter(&self, c: char) -> bool {
        match self.letters {
            Letters::Lowercase => c.is_ascii_lowercase(),
            Letters::Any => c.is_ascii_alphabetic(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vpc_ids_are_checked_by_form_and_length() {
        for good in ["vpc-0123abcd", "vpc-0123456789abcdef0"] {
            assert!(is_vpc_id(good), "{good}");
        }
        let huge = format!("vpc-{}", "a".repeat(70_000));
        for bad in ["vpc-", "vpc-1234567", "subnet-0123abcd", "vpc-0123ABCD", "vpc-0123 abcd", "", huge.as_str()] {
            assert!(!is_vpc_id(bad), "{bad}");
        }
    }

    #[test]
    fn problems_state_the_length_first_letter_and_alphabet() {
        let network = NameRules::new(48, ".", Letters::Any, &['-', '_']);
        let deployment = NameRules::new(32, ": it prefixes the names of AWS resources.", Letters::Lowercase, &['-']);
        assert_eq!(network.problem(""), Some(r#""" must be 1 to 48 characters long."#.to_owned()));
        assert_eq!(network.problem("1a"), Some(r#""1a" must start with a letter."#.to_owned()));
        assert_eq!(
            network.problem("a b"),
            Some(r#""a b" contains ' '; only letters, digits, - and _ are allowed."#.to_owned())
        );
        assert_eq!(network.problem("Acme_prod-2"), None);
        let huge = "a".repeat(70_000);
        assert_eq!(
            deployment.problem(&huge),
            Some(format!(
                "{:?}… (70000 characters) must be 1 to 32 characters long: it prefixes the names of AWS resources.",
                "a".repeat(40)
            ))
        );
        assert_eq!(
            deployment.problem(&"a".repeat(33)),
            Some(format!(
                "{:?} must be 1 to 32 characters long: it prefixes the names of AWS resources.",
                "a".repeat(33)
            ))
        );
        assert_eq!(deployment.problem("Retool"), Some(r#""Retool" must start with a lowercase letter."#.to_owned()));
        assert_eq!(
            deployment.problem("re_tool"),
            Some(r#""re_tool" contains '_'; only lowercase letters, digits and - are allowed."#.to_owned())
        );
        assert_eq!(deployment.problem("retool-2"), None);
    }
}
