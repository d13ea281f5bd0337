//! Diagnostics: how every layer reports a problem to the person running Terraform.
//!
//! Nothing in the provider returns a bare error string to Terraform. A problem is a [`Diagnostic`]
//! with a severity, a one-line summary, a detail paragraph and, whenever the problem is about a
//! particular attribute, the path of that attribute, so Terraform can point at the offending line of
//! configuration. Errors never panic their way out: they are collected here and sent back.

use std::fmt;

use crate::value::AttributePath;

/// Whether a diagnostic stops the operation (error) or only informs (warning).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The operation failed; Terraform stops and shows the problem as an error.
    Error,
    /// Worth telling the user, but the operation goes on.
    Warning,
}

/// One problem, as Terraform will show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Whether the problem stops the operation.
    pub severity: Severity,
    /// One line saying what is wrong; Terraform shows it as the diagnostic's title.
    pub summary: String,
    /// The specifics and what to do about them; may be empty.
    pub detail: String,
    /// The attribute the problem is about, when there is one.
    pub path: Option<AttributePath>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{level}: {}", self.summary)?;
        if let Some(path) = &self.path {
            write!(f, " (at {path})")?;
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// An ordered collection of diagnostics gathered while serving one request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a diagnostic built by the caller.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    /// An error not tied to one attribute.
    pub fn error(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
        self.report(Severity::Error, None, summary.into(), detail.into());
    }

    /// An error about the attribute at `path`.
    pub fn attribute_error(&mut self, path: AttributePath, summary: impl Into<String>, detail: impl Into<String>) {
        self.report(Severity::Error, Some(path), summary.into(), detail.into());
    }

    /// A warning not tied to one attribute.
    pub fn warning(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
        self.report(Severity::Warning, None, summary.into(), detail.into());
    }

    /// A warning about the attribute at `path`.
    pub fn attribute_warning(&mut self, path: AttributePath, summary: impl Into<String>, detail: impl Into<String>) {
        self.report(Severity::Warning, Some(path), summary.into(), detail.into());
    }

    fn report(&mut self, severity: Severity, path: Option<AttributePath>, summary: String, detail: String) {
        self.push(Diagnostic { severity, summary, detail, path });
    }

    /// Appends everything `other` reported, after what is already here.
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    /// True when at least one diagnostic is an error, i.e. the operation has failed.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }

    /// True when nothing at all has been reported, warnings included.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The diagnostics in the order they were reported.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    /// The diagnostics, in the order they were reported, as a plain vector.
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.0
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}
