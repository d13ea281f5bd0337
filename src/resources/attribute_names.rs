//! Attribute names as constants, each spelt once: a resource names its computed attributes in a
//! `mod attribute` and groups some of them (all outputs, those read from AWS) in a list that the
//! CRUD and the schema tests walk. The macro writes the list from the declarations, so a name is
//! never typed a second time and a new attribute cannot be left out of its list.

/// `attribute_names! { /// list doc
///     pub const LIST = [ /// doc
///         NAME = "name", … ];
///     /// doc
///     OTHER = "other", … }`
/// declares `pub const NAME: &str`, `pub const OTHER: &str` and `pub const LIST: [&str; N]` with
/// the names in the brackets, in order.
///
/// When the list's entries also carry `(TYPE, "description")` — `ID = "id" (Type::String, "…")`
/// — they are the resource's outputs and the macro also writes `LIST_SCHEMA`, every
/// `(name, type, description)` in order, from which the schema declares them: an output is then
/// written once, with everything the schema says of it.
macro_rules! attribute_names {
    (
        $(#[$list_doc:meta])*
        pub const $list:ident = [
            $($(#[$doc:meta])* $name:ident = $value:literal ($ty:expr, $description:literal)),+ $(,)?
        ];
        $($(#[$other_doc:meta])* $other:ident = $other_value:literal),* $(,)?
    ) => {
        attribute_names! {
            $(#[$list_doc])*
            pub const $list = [$($(#[$doc])* $name = $value),+];
            $($(#[$other_doc])* $other = $other_value),*
        }
        /// Every entry of the list with its type and description, as the schema declares it.
        pub fn schema_of_list() -> Vec<(&'static str, crate::value::Type, &'static str)> {
            vec![$(($name, $ty, $description)),+]
        }
    };
    (
        $(#[$list_doc:meta])*
        pub const $list:ident = [$($(#[$doc:meta])* $name:ident = $value:literal),+ $(,)?];
        $($(#[$other_doc:meta])* $other:ident = $other_value:literal),* $(,)?
    ) => {
        $($(#[$doc])* pub const $name: &str = $value;)+
        $($(#[$other_doc])* pub const $other: &str = $other_value;)*
        $(#[$list_doc])*
        pub const $list: [&str; [$($value),+].len()] = [$($name),+];
    };
}
