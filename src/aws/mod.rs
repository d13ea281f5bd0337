//! The AWS support layer every resource stands on (the analogue of the AWS provider's
//! `internal/conns` and `tfresource`): the clients, built once per configured provider; waiting and
//! retrying, both honouring Terraform's stop request and the operation's timeout; tags; the
//! caller's account and partition; and the IAM policy model. It knows nothing of Terraform values
//! or of the product: resources call down into it, never the other way.

pub mod call_log;
pub mod clients;
pub mod http;
pub mod iam;
pub mod settings;
pub mod tags;
pub mod wait;

pub use clients::{AwsClients, CallerIdentity, ConfigureError};
pub use settings::AwsSettings;
pub use tags::Tags;

pub use crate::error::{AwsError, Error};

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Names the AWS operation behind an SDK result: `client.create_vpc()…send().await.during("CreateVpc")?`
/// turns the SDK's error into the crate's [`Error`], which says which call failed and keeps AWS's
/// code, message and request id.
pub trait During<T> {
    /// The result with its error named after `operation`.
    fn during(self, operation: &'static str) -> Result<T, Error>;
}

impl<T, E, R> During<T> for Result<T, SdkError<E, R>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    fn during(self, operation: &'static str) -> Result<T, Error> {
        self.map_err(|error| Error::from_sdk(operation, error))
    }
}

/// `Ok(None)` for "does not exist" (the one not-found rule, [`Error::is_not_found`]); other
/// errors pass through.
pub fn absent_if_missing<T>(result: Result<T, Error>) -> Result<Option<T>, Error> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(error) if error.is_not_found() => Ok(None),
        Err(error) => Err(error),
    }
}

/// Success when the object was already gone; what a successful call returned is not needed.
pub fn ok_if_missing<T>(result: Result<T, Error>) -> Result<(), Error> {
    absent_if_missing(result).map(|_| ())
}

/// Whether `text` looks like an AWS region name (`us-east-1`, `us-gov-west-1`, `eu-central-2`).
pub fn is_region_name(text: &str) -> bool {
    let lowercase = |part: &&str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase());
    let parts: Vec<&str> = text.split('-').collect();
    let [first, middle @ .., last] = parts.as_slice() else { return false };
    first.len() == 2
        && lowercase(first)
        && !middle.is_empty()
        && middle.iter().all(lowercase)
        && (1..=2).contains(&last.len())
        && last.bytes().all(|b| b.is_ascii_digit())
}
