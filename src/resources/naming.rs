//! Resources name most of their AWS objects `<prefix>-<suffix>`. The [`suffixed_names`] table
//! states each such name once, as its method and suffix, instead of one hand-written `format!`
//! method per object.

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
