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
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why an operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// AWS answered with an error, or could not be reached (the SDK's retries are spent).
    #[error("{}{}", .0, advice_line(.0))]
    Aws(#[from] AwsError),
    /// A Kubernetes API server answered with an error, or could not be reached.
    #[error("{0}")]
    Kubernetes(#[from] KubernetesError),
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
    #[error(
        "{operation}: gave up after {}s; last seen: {last_seen}\nAWS may still be working on it: run the \
         command again to keep waiting.",
        after.as_secs()
    )]
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
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

/// The error codes AWS services throttle with (the SDK's own retry classifiers list the same).
const THROTTLING_CODES: [&str; 9] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "SlowDown",
];

/// The error codes of AWS's server errors (HTTP 5xx).
const SERVER_ERROR_CODES: [&str; 6] =
    ["InternalError", "InternalFailure", "InternalServerError", "ServiceUnavailable", "Unavailable", "ServiceFailure"];

/// The longest AWS message a diagnostic quotes; a proxy's or endpoint's HTML error page is cut
/// here instead of filling the terminal.
const MESSAGE_LIMIT: usize = 300;

/// `message` on one line (whitespace runs become one space) and at most [`MESSAGE_LIMIT`]
/// characters, marked with `…` when cut.
fn one_line(message: &str) -> String {
    let joined = message.split_whitespace().collect::<Vec<_>>().join(" ");
    match joined.char_indices().nth(MESSAGE_LIMIT) {
        Some((end, _)) => format!("{}…", joined.get(..end).unwrap_or_default()),
        None => joined,
    }
}

/// What the person running Terraform can do about a failed AWS call, as a line of its own; empty
/// when the error code says nothing a person can act on.
fn advice_line(error: &AwsError) -> String {
    let operation = error.operation;
    let advice = match error.code.as_deref() {
        None => "Check that the provider can reach AWS (network, proxy, custom endpoints) and run the command again."
            .to_owned(),
        Some(code) if code.contains("AccessDenied") || code == "UnauthorizedOperation" => {
            format!("Allow {operation} for the AWS identity the provider uses, then run the command again.")
        }
        Some(
            "ExpiredToken"
            | "ExpiredTokenException"
            | "InvalidClientTokenId"
            | "UnrecognizedClientException"
            | "AuthFailure"
            | "SignatureDoesNotMatch",
        ) => "Renew the provider's AWS credentials, then run the command again.".to_owned(),
        Some(code) if code.contains("Throttl") || code == "RequestLimitExceeded" => {
            "AWS is throttling requests: wait a minute or raise max_retries, then run the command again.".to_owned()
        }
        Some(code) if code.contains("LimitExceeded") || code.contains("QuotaExceeded") => {
            "An AWS service quota is reached: free capacity or ask AWS for a higher quota, then run the command again."
                .to_owned()
        }
        Some(_) => return String::new(),
    };
    format!("\n{advice}")
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
            Self::Kubernetes(KubernetesError { operation, .. }) => operation,
            Self::Invalid(_) => "Validate",
            Self::Several(errors) => errors.first().map_or("Apply", Self::operation),
        }
    }

    /// Whether AWS said the object does not exist. Every service spells it differently
    /// (`InvalidVpcID.NotFound`, `NatGatewayNotFound`, `NoSuchEntity`, `ResourceNotFoundException`,
    /// `DBInstanceNotFound`, `ReplicationGroupNotFoundFault`, …); this is the one rule for all of
    /// them, which deletes treat as success and reads as "gone".
    pub fn is_not_found(&self) -> bool {
        match self {
            Self::Kubernetes(error) => error.status == Some(404),
            _ => self.code().is_some_and(|code| code.contains("NotFound") || code == "NoSuchEntity"),
        }
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
            code.ends_with(".Duplicate")
                || code.ends_with("AlreadyExists")
                || code.ends_with("AlreadyExistsFault")
                || code == "ResourceExistsException"
                || code.ends_with("AlreadyAssociated")
        })
    }

    /// Whether a create that failed this way may be sent again once what it could have made has
    /// been looked for: AWS did not answer (the request may or may not have taken effect), answered
    /// with a server error (it may have), or throttled it (it did not).
    pub fn may_repeat_create(&self) -> bool {
        match self {
            Self::Aws(AwsError { code: None, .. }) => true,
            Self::Aws(AwsError { code: Some(code), .. }) => {
                THROTTLING_CODES.contains(&code.as_str()) || SERVER_ERROR_CODES.contains(&code.as_str())
            }
            _ => false,
        }
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

/// A failed Kubernetes API call: the object, the server's status code, reason and message, and
/// the causes it gave (a field and what is wrong with it, or the field manager in a conflict).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubernetesError {
    /// What the provider was doing, e.g. `Apply`, `Read`, `Delete`.
    pub operation: &'static str,
    /// The object, e.g. `Deployment retool/api`.
    pub object: String,
    /// The HTTP status the server answered with; absent when it could not be reached.
    pub status: Option<u16>,
    /// The server's reason, e.g. `Conflict`, `Invalid`, `Forbidden`.
    pub reason: Option<String>,
    /// The server's message, or why it could not be reached.
    pub message: String,
    /// The server's causes, one sentence each.
    pub causes: Vec<String>,
}

impl KubernetesError {
    /// Whether repeating the call may succeed: throttled, a server error, or no answer.
    pub fn is_transient(&self) -> bool {
        match self.status {
            None => true,
            Some(status) => status == 429 || status >= 500,
        }
    }

    /// What the person running Terraform can do, as a line of its own; empty when nothing.
    fn advice(&self) -> &'static str {
        match self.status {
            None => {
                "\nCheck that the provider can reach the cluster's API (endpoint_public_access, public_access_cidrs, proxies) and run the command again."
            }
            Some(401) => {
                "\nThe cluster did not accept the provider's token: check that the AWS identity running Terraform has an access entry on the cluster and that the clock is right, then run the command again."
            }
            Some(403) => {
                "\nThe identity running Terraform may not do this in the cluster: check its access entry and access policy."
            }
            Some(409) if !self.causes.is_empty() => {
                "\nAnother field manager owns these fields; the next apply takes them back, or remove that manager's change."
            }
            Some(429) => "\nThe cluster's API is throttling requests: wait a minute and run the command again.",
            _ => "",
        }
    }
}

impl fmt::Display for KubernetesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} failed: {}", self.operation, self.object, one_line(&self.message))?;
        for cause in &self.causes {
            write!(f, "\n  - {}", one_line(cause))?;
        }
        match (self.status, &self.reason) {
            (Some(status), Some(reason)) => write!(f, "\nKubernetes: {status} {reason}")?,
            (Some(status), None) => write!(f, "\nKubernetes: {status}")?,
            (None, _) => {}
        }
        f.write_str(self.advice())
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
            Some(message) => one_line(message),
            None => one_line(&transport_failure(&error)),
        };
        Self { operation, code, message, request_id }
    }

    /// An error with a code, as AWS would return it: a failure AWS reports in a resource's state
    /// (a NAT gateway's `FailureCode`) rather than as a call's error, and tests of the rules.
    pub fn coded(operation: &'static str, code: &str, message: &str) -> Self {
        Self { operation, code: Some(code.to_owned()), message: message.to_owned(), request_id: None }
    }
}

/// Why a call got no answer from AWS, in words: the SDK's own text of the failure kind and the
/// Display text of each cause down the chain (never the SDK's Debug dump, which
/// `DisplayErrorContext` appends).
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
    let mut causes: Vec<String> = Vec::new();
    let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(error);
    while let Some(current) = cause {
        let text = current.to_string();
        if !text.is_empty() && !causes.iter().any(|seen| seen.contains(&text)) {
            causes.push(text);
        }
        cause = current.source();
    }
    match causes.as_slice() {
        [] => kind.to_owned(),
        _ => format!("{kind}: {}", causes.join(": ")),
    }
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: {}", self.operation, self.message)?;
        match (&self.code, &self.request_id) {
            (Some(code), Some(request_id)) => write!(f, "\nAWS error: {code} (request id {request_id})"),
            (Some(code), None) => write!(f, "\nAWS error: {code}"),
            (None, Some(request_id)) => write!(f, "\nAWS request id: {request_id}"),
            (None, None) => Ok(()),
        }
    }
}

impl std::error::Error for AwsError {}

impl std::error::Error for KubernetesError {}

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
        assert_eq!(coded("DependencyViolation").to_string(), "DeleteVpc failed: m\nAWS error: DependencyViolation");
        let with_id = AwsError { request_id: Some("r-1".into()), ..AwsError::coded("CreateVpc", "Blocked", "no") };
        assert_eq!(with_id.to_string(), "CreateVpc failed: no\nAWS error: Blocked (request id r-1)");
        assert_eq!(Error::unexpected("WaitNatGateway", "timed out").to_string(), "WaitNatGateway: timed out");
        assert_eq!(Error::several(vec![]), Ok(()));
        let both = Error::several(vec![coded("A"), coded("B")]).unwrap_err();
        assert_eq!(both.to_string(), "DeleteVpc failed: m\nAWS error: A\nDeleteVpc failed: m\nAWS error: B");
        assert_eq!(both.failures().len(), 2);
    }

    /// Fails if an SDK Debug dump, an Option or a multi-line body reaches the text a person reads.
    fn assert_words(text: &str) {
        for debug in ["Some(", "None", "DispatchFailure(", "ConnectorError", "{ ", "source:"] {
            assert!(!text.contains(debug), "Debug output {debug:?} in {text:?}");
        }
    }

    #[test]
    fn a_transport_failure_reads_as_words_with_advice() {
        use aws_smithy_runtime_api::client::result::ConnectorError;
        use aws_smithy_types::error::ErrorMetadata;
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let sdk: SdkError<ErrorMetadata, ()> = SdkError::dispatch_failure(ConnectorError::io(Box::new(refused)));
        let text = Error::from_sdk("DescribeVpcs", sdk).to_string();
        assert_words(&text);
        assert!(text.starts_with("DescribeVpcs failed: the request could not be sent"), "{text}");
        assert!(text.contains("connection refused"), "{text}");
        assert!(text.contains("Check that the provider can reach AWS"), "{text}");
    }

    #[test]
    fn an_html_error_page_is_cut_to_one_line() {
        use aws_smithy_types::error::ErrorMetadata;
        let page = format!("<html>\n<body>\n{}</body>\n</html>", "Internal Server Error\n".repeat(200));
        let meta = ErrorMetadata::builder().code("InternalFailure").message(page).build();
        let text = Error::from_sdk("DeleteCacheSubnetGroup", SdkError::<ErrorMetadata, ()>::service_error(meta, ()))
            .to_string();
        assert_words(&text);
        let first = text.lines().next().unwrap_or_default();
        assert!(first.chars().count() < MESSAGE_LIMIT + 40 && first.ends_with('…'), "{first}");
        assert_eq!(text.lines().nth(1), Some("AWS error: InternalFailure"));
    }

    #[test]
    fn codes_people_can_act_on_come_with_what_to_do() {
        let denied = Error::Aws(AwsError::coded("CreateRole", "AccessDenied", "not allowed")).to_string();
        assert!(
            denied.ends_with("Allow CreateRole for the AWS identity the provider uses, then run the command again.")
        );
        assert!(coded("Throttling").to_string().contains("throttling"));
        assert!(coded("ExpiredToken").to_string().contains("Renew the provider's AWS credentials"));
        assert_words(&denied);
    }
}
