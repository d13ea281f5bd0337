//! Failed steps as diagnostics, so a resource's create, read, update, delete and import read as a
//! list of steps (`let Some(spec) = step.reported(diags, "Invalid plan") else { return … }`)
//! rather than one `match` per call, and so "doing it again resumes" is worded once.

use std::fmt::Display;

use super::Diagnostics;

/// A step's result whose error is shown to the person running Terraform.
pub(crate) trait Reported<T> {
    /// The value; or `None` after recording the error as an error diagnostic titled `summary`.
    fn reported(self, diags: &mut Diagnostics, summary: &str) -> Option<T>;
}

impl<T, E: Display> Reported<T> for Result<T, E> {
    fn reported(self, diags: &mut Diagnostics, summary: &str) -> Option<T> {
        self.map_err(|error| diags.error(summary, error.to_string())).ok()
    }
}

/// The detail of a create or update that stopped part-way, which the next apply resumes.
pub(crate) fn apply_again(error: impl Display) -> String {
    format!("{error}\nApplying again continues from what exists.")
}

/// The detail of a destroy that stopped part-way, which the next destroy resumes.
pub(crate) fn destroy_again(error: impl Display) -> String {
    format!("{error}\nRunning destroy again continues where this stopped.")
}
