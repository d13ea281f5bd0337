//! One error type for every AWS call the provider makes, keeping what a person (and the retry and
//! "already gone" logic) needs: the operation, AWS's error code and its message.

use std::fmt;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// A failed AWS call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    /// The API operation, e.g. `CreateNatGateway`.
    pub operation: &'static str,
    /// AWS's error code, e.g. `InvalidVpcID.NotFound`; absent for transport failures.
    pub code: Option<String>,
    pub message: String,
}

impl AwsError {
    /// Wraps an SDK error. The SDK has already retried throttling and 5xx responses by the time
    /// an error reaches here.
    pub fn from_sdk<E, R>(operation: &'static str, error: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: fmt::Debug + Send + Sync + 'static,
    {
        let code = error.code().map(str::to_owned);
        let message = match error.message() {
            Some(message) => message.to_owned(),
            None => DisplayErrorContext(&error).to_string(),
        };
        Self { operation, code, message }
    }

    /// An error found by the provider itself (a waiter timing out, an impossible response).
    pub fn local(operation: &'static str, message: impl Into<String>) -> Self {
        Self { operation, code: None, message: message.into() }
    }

    /// Whether AWS said the object does not exist (`InvalidVpcID.NotFound`, `NatGatewayNotFound`,
    /// `InvalidAllocationID.NotFound`, …), which deletes treat as success.
    pub fn is_not_found(&self) -> bool {
        self.code.as_deref().is_some_and(|code| code.ends_with(".NotFound") || code.ends_with("NotFound"))
    }

    /// Whether AWS refused because something still depends on the object (`DependencyViolation`,
    /// or an internet gateway whose VPC still has mapped public addresses).
    pub fn is_dependency_violation(&self) -> bool {
        self.code.as_deref() == Some("DependencyViolation")
    }

    /// Whether AWS reports that the object is already in the state the call asked for
    /// (`Resource.AlreadyAssociated`, `InvalidPermission.Duplicate`, `RouteAlreadyExists`, …).
    pub fn is_duplicate(&self) -> bool {
        self.code.as_deref().is_some_and(|code| {
            code.ends_with(".Duplicate") || code.ends_with("AlreadyExists") || code.ends_with("AlreadyAssociated")
        })
    }
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{} failed: {code}: {}", self.operation, self.message),
            None => write!(f, "{} failed: {}", self.operation, self.message),
        }
    }
}

impl std::error::Error for AwsError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn coded(code: &str) -> AwsError {
        AwsError { operation: "DeleteVpc", code: Some(code.into()), message: "m".into() }
    }

    #[test]
    fn classifies_not_found_and_duplicate_codes() {
        for code in
            ["InvalidVpcID.NotFound", "NatGatewayNotFound", "InvalidAllocationID.NotFound", "InvalidGroup.NotFound"]
        {
            assert!(coded(code).is_not_found(), "{code}");
        }
        assert!(!coded("DependencyViolation").is_not_found());
        assert!(!AwsError::local("Wait", "timed out").is_not_found());
        for code in ["InvalidPermission.Duplicate", "RouteAlreadyExists", "Resource.AlreadyAssociated"] {
            assert!(coded(code).is_duplicate(), "{code}");
        }
        assert!(!coded("InvalidParameterValue").is_duplicate());
        assert!(coded("DependencyViolation").is_dependency_violation());
        assert!(!coded("InvalidVpcID.NotFound").is_dependency_violation());
    }

    #[test]
    fn displays_operation_code_and_message() {
        assert_eq!(coded("DependencyViolation").to_string(), "DeleteVpc failed: DependencyViolation: m");
        assert_eq!(AwsError::local("WaitNatGateway", "timed out").to_string(), "WaitNatGateway failed: timed out");
    }
}
