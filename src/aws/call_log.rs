//! One debug line per AWS call, so `TF_LOG=debug` shows what the provider asked of AWS, how long
//! it took and whether the SDK had to retry — inside the resource span the runtime opened, so the
//! line also names the resource and the step.
//!
//! The SDK's own logging is capped at INFO (see `plugin::logging`): its debug output can carry
//! signatures and payloads. This interceptor sees the same calls but writes only names, numbers
//! and the HTTP status, never a request or response body.

use std::time::Instant;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

/// The interceptor every client carries (registered in `clients`).
#[derive(Debug, Default)]
pub struct CallLog;

/// When the call started, kept in the call's config bag between the two hooks.
#[derive(Debug, Clone)]
struct Started(Instant);

impl Storable for Started {
    type Storer = StoreReplace<Self>;
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "CallLog"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(Started(Instant::now()));
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) = cfg.load::<Metadata>().map_or(("unknown", "unknown"), |m| (m.service(), m.name()));
        let duration_ms = cfg.load::<Started>().map_or(0, |Started(at)| at.elapsed().as_millis());
        let attempts = cfg.load::<RequestAttempts>().map_or(1, RequestAttempts::attempts);
        let status = context.response().map(|response| response.status().as_u16());
        let outcome = outcome(context.output_or_error().map(|result| result.is_ok()), status);
        tracing::debug!(
            aws_service = service,
            aws_operation = operation,
            duration_ms = u64::try_from(duration_ms).unwrap_or(u64::MAX),
            attempts,
            retries = attempts.saturating_sub(1),
            outcome = outcome.as_str(),
            "AWS call {service}.{operation}: {outcome}"
        );
        Ok(())
    }
}

/// The call's outcome in words: `ok`, `failed with HTTP <status>`, or `no answer`.
fn outcome(succeeded: Option<bool>, status: Option<u16>) -> String {
    match (succeeded, status) {
        (Some(true), _) => "ok".to_owned(),
        (_, Some(status)) => format!("failed with HTTP {status}"),
        (_, None) => "no answer".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_read_as_words() {
        assert_eq!(outcome(Some(true), Some(200)), "ok");
        assert_eq!(outcome(Some(false), Some(400)), "failed with HTTP 400");
        assert_eq!(outcome(Some(false), None), "no answer");
        assert_eq!(outcome(None, None), "no answer");
    }
}
