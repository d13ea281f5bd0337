//! Resources name most of their AWS objects `<prefix>-<suffix>`. The [`suffixed_names`] table
//! states each such name once, as its method and suffix, instead of one hand-written `format!`
//! method per object. [`NameRules`] states once how a resource's own name is checked (length,
//! first character, alphabet), which every resource's name validator shares.

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
    /// Whether only lowercase letters are allowed (else any ASCII letter).
    lowercase: bool,
    /// The punctuation allowed besides letters and digits, one character each.
    punctuation: &'static [char],
}

impl NameRules {
    /// Names of at most `max` characters (`length_reason` ends the problem of a longer one), of
    /// (`lowercase`) letters, digits and `punctuation`, starting with a letter.
    pub const fn new(max: usize, length_reason: &'static str, lowercase: bool, punctuation: &'static [char]) -> Self {
        Self { max, length_reason, lowercase, punctuation }
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
    fn problem(&self, name: &str) -> Option<String> {
        let letters = if self.lowercase { "lowercase letters" } else { "letters" };
        if name.is_empty() || name.chars().count() > self.max {
            Some(format!("{name:?} must be 1 to {} characters long{}", self.max, self.length_reason))
        } else if !name.starts_with(|c: char| self.is_letter(c)) {
            Some(format!("{name:?} must start with a {}.", letters.trim_end_matches('s')))
        } else {
            let bad =
                name.chars().find(|c| !(self.is_letter(*c) || c.is_ascii_digit() || self.punctuation.contains(c)))?;
            let mut alphabet: Vec<String> = vec![letters.to_owned(), "digits".to_owned()];
            alphabet.extend(self.punctuation.iter().map(char::to_string));
            let last = alphabet.pop().unwrap_or_default();
            Some(format!("{name:?} contains {bad:?}; only {} and {last} are allowed.", alphabet.join(", ")))
        }
    }

    fn is_letter(&self, c: char) -> bool {
        if self.lowercase { c.is_ascii_lowercase() } else { c.is_ascii_alphabetic() }
    }
}
