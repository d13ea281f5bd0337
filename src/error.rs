//! The crate's one error type.
//!
//! Everything below the resources (AWS calls, waits, retries) and the resources themselves fail
//! with [`Error`], so a caller can ask the same questions of any failure — was it "not found", did
//! Terraform stop us, which call was it — without knowing which service produced it. A failed AWS
//! call keeps what a person (and the retry and "already gone" logic) needs in [`AwsError`]: the
//! operation, AWS's error code, its message and the request id.

use std::fmt;
use std::time::Duration;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why an operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// AWS answered with an error, or could not be reached (the SDK's retries are spent).
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// AWS answered, but without a field the provider relies on.
    #[error("{operation} answered without {field}; AWS may have changed the response, please report this")]
    MissingField {
        /// The API operation, e.g. `CreateVpc`.
        operation: &'static str,
        /// The missing field, as AWS names it.
        field: &'static str,
    },
    /// AWS's state is not what the step needs (an object disappeared, a cluster is FAILED, …).
    #[error("{operation}: {message}")]
    Unexpected {
        /// The step that found the state, e.g. `WaitClusterActive`.
        operation: &'static str,
        /// What was found, in words.
        message: String,
    },
    /// Terraform asked the provider to stop while a wait or retry was in progress.
    #[error("{operation}: stopped by Terraform while waiting; last seen: {last_seen}")]
    Stopped {
        /// The wait that was interrupted.
        operation: &'static str,
        /// What the last poll saw.
        last_seen: String,
    },
    /// A wait ran out of time.
    #[error("{operation}: gave up after {}s; last seen: {last_seen}", after.as_secs())]
    TimedOut {
        /// The wait that gave up.
        operation: &'static str,
        /// How long it waited.
        after: Duration,
        /// What the last poll saw.
        last_seen: String,
    },
    /// Configuration or state that the provider cannot act on.
    #[error("{0}")]
    Invalid(String),
    /// Independent steps that failed together (concurrent chains of one apply).
    #[error("{}", join(.0))]
    Several(Vec<Error>),
}

fn join(errors: &[Error]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

impl Error {
    /// Wraps an SDK error of `operation`.
    pub fn from_sdk<E, R>(operation: &'static str, error: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: fmt::Debug + Send + Sync + 'static,
    {
        Self::Aws(AwsError::from_sdk(operation, error))
    }

    /// A state the step cannot continue from.
    pub fn unexpected(operation: &'static str, message: impl Into<String>) -> Self {
        Self::Unexpected { operation, message: message.into() }
    }

    /// A required field absent from an AWS response.
    pub fn missing(operation: &'static str, field: &'static str) -> Self {
        Self::MissingField { operation, field }
    }

    /// The failures of several independent steps as one error; `Ok` when there were none.
    pub fn several(mut errors: Vec<Error>) -> Result<()> {
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(Self::Several(errors)),
        }
    }

    /// The failed AWS call, if this is one.
    pub fn aws(&self) -> Option<&AwsError> {
        match self {
            Self::Aws(error) => Some(error),
            _ => None,
        }
    }

    /// AWS's error code, if AWS answered with one.
    pub fn code(&self) -> Option<&str> {
        self.aws().and_then(|error| error.code.as_deref())
    }

    /// The operation or wait that failed (the first one, for several).
    pub fn operation(&self) -> &'static str {
        match self {
            Self::Aws(AwsError { operation, .. })
            | Self::MissingField { operation, .. }
            | Self::Unexpected { operation, .. }
            | Self::Stopped { operation, .. }
            | Self::TimedOut { operation, .. } => operation,
            Self::Invalid(_) => "Validate",
            Self::Several(errors) => errors.first().map_or("Apply", Self::operation),
        }
    }

    /// Whether AWS said the object does not exist. Every service spells it differently
    /// (`InvalidVpcID.NotFound`, `NatGatewayNotFound`, `NoSuchEntity`, `ResourceNotFoundException`,
    /// `DBInstanceNotFound`, `ReplicationGroupNotFoundFault`, …); this is the one rule for all of
    /// them, which deletes treat as success and reads as "gone".
    pub fn is_not_found(&self) -> bool {
        self.code().is_some_and(|code| code.contains("NotFound") || code == "NoSuchEntity")
    }

    /// Whether AWS refused because something still depends on the object.
    pub fn is_dependency_violation(&self) -> bool {
        self.code() == Some("DependencyViolation")
    }

    /// Whether AWS refused an Elastic IP (or another resource) because something else holds it:
    /// `Resource.AlreadyAssociated`, from the create call or as the failure code of a NAT gateway
    /// that could not take its address.
    pub fn is_address_in_use(&self) -> bool {
        self.code() == Some("Resource.AlreadyAssociated")
    }

    /// Whether AWS reports that the object is already in the state the call asked for
    /// (`Resource.AlreadyAssociated`, `InvalidPermission.Duplicate`, `RouteAlreadyExists`, …).
    pub fn is_duplicate(&self) -> bool {
        self.code().is_some_and(|code| {
            code.ends_with(".Duplicate") || code.ends_with("AlreadyExists") || code.ends_with("AlreadyAssociated")
        })
    }

    /// Whether Terraform's stop request ended the operation.
    pub fn is_stopped(&self) -> bool {
        match self {
            Self::Stopped { .. } => true,
            Self::Several(errors) => errors.iter().any(Self::is_stopped),
            _ => false,
        }
    }

    /// The individual failures (one, unless several independent steps failed).
    pub fn failures(&self) -> Vec<&Error> {
        match self {
            Self::Several(errors) => errors.iter().flat_map(Self::failures).collect(),
            other => vec![other],
        }
    }
}

/// A failed AWS call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    /// The API operation, e.g. `CreateNatGateway`.
    pub operation: &'static str,
    /// AWS's error code, e.g. `InvalidVpcID.NotFound`; absent for transport failures.
    pub code: Option<String>,
    /// AWS's message, or a description of the transport failure.
    pub message: String,
    /// AWS's request id, for a support case.
    pub request_id: Option<String>,
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
        let request_id = error.meta().extra("aws_request_id").map(str::to_owned);
        let message = match error.message() {
            Some(message) => message.to_owned(),
            None => transport_failure(&error),
        };
        Self { operation, code, message, request_id }
    }

    /// An error with a code, as AWS would return it: a failure AWS reports in a resource's state
    /// (a NAT gateway's `FailureCode`) rather than as a call's error, and tests of the rules.
    pub fn coded(operation: &'static str, code: &str, message: &str) -> Self {
        Self { operation, code: Some(code.to_owned()), message: message.to_owned(), request_id: None }
    }
}

/// Why a call got no answer from AWS, in words: the SDK's own text of the failure kind and its
/// innermost cause, instead of a nested Debug dump.
fn transport_failure<E, R>(error: &SdkError<E, R>) -> String
where
    E: std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    let kind = match error {
        SdkError::ConstructionFailure(_) => "the request could not be built",
        SdkError::TimeoutError(_) => "the request timed out",
        SdkError::DispatchFailure(_) => "the request could not be sent (network or endpoint problem)",
        SdkError::ResponseError(_) => "the response could not be read",
        SdkError::ServiceError(_) => "AWS returned an error",
        _ => "the call failed",
    };
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let detail = cause.to_string();
    if detail.is_empty() || detail == error.to_string() {
        format!("{kind}: {}", DisplayErrorContext(error))
    } else {
        format!("{kind}: {detail}")
    }
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{} failed: {code}: {}", self.operation, self.message)?,
            None => write!(f, "{} failed: {}", self.operation, self.message)?,
        }
        if let Some(request_id) = &self.request_id {
            write!(f, " (request id {request_id})")?;
        }
        Ok(())
    }
}

impl std::error::Error for AwsError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn coded(code: &str) -> Error {
        Error::Aws(AwsError::coded("DeleteVpc", code, "m"))
    }

    #[test]
    fn one_not_found_rule_for_every_service() {
        for code in [
            "InvalidVpcID.NotFound",
            "NatGatewayNotFound",
            "InvalidAllocationID.NotFound",
            "NoSuchEntity",
            "ResourceNotFoundException",
            "DBInstanceNotFound",
            "NotFoundException",
            "ReplicationGroupNotFoundFault",
        ] {
            assert!(coded(code).is_not_found(), "{code}");
        }
        assert!(!coded("DependencyViolation").is_not_found());
        assert!(!coded("EntityAlreadyExists").is_not_found());
        assert!(!Error::unexpected("Wait", "timed out").is_not_found());
    }

    #[test]
    fn classifies_duplicates_dependencies_and_stops() {
        for code in ["InvalidPermission.Duplicate", "RouteAlreadyExists", "Resource.AlreadyAssociated"] {
            assert!(coded(code).is_duplicate(), "{code}");
        }
        assert!(!coded("InvalidParameterValue").is_duplicate());
        assert!(coded("DependencyViolation").is_dependency_violation());
        assert!(!coded("InvalidVpcID.NotFound").is_dependency_violation());
        let stopped = Error::Stopped { operation: "Wait", last_seen: "x".into() };
        assert!(stopped.is_stopped());
        assert!(Error::Several(vec![coded("X"), stopped]).is_stopped());
        assert!(!coded("X").is_stopped());
    }

    #[test]
    fn displays_operation_code_message_and_request_id() {
        assert_eq!(coded("DependencyViolation").to_string(), "DeleteVpc failed: DependencyViolation: m");
        let with_id = AwsError { request_id: Some("r-1".into()), ..AwsError::coded("CreateVpc", "Blocked", "no") };
        assert_eq!(with_id.to_string(), "CreateVpc failed: Blocked: no (request id r-1)");
        assert_eq!(Error::unexpected("WaitNatGateway", "timed out").to_string(), "WaitNatGateway: timed out");
        assert_eq!(Error::several(vec![]), Ok(()));
        let both = Error::several(vec![coded("A"), coded("B")]).unwrap_err();
        assert_eq!(both.to_string(), "DeleteVpc failed: A: m; DeleteVpc failed: B: m");
        assert_eq!(both.failures().len(), 2);
    }
}
