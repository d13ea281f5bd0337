//! The bearer token EKS clusters accept: proof of an AWS identity, made without a call.
//!
//! EKS's authenticator takes `k8s-aws-v1.` followed by the unpadded base64url of a presigned STS
//! `GetCallerIdentity` URL, calls that URL itself, and maps the identity STS reports to the
//! cluster's access entries. The URL is signed with the header `x-k8s-aws-id: <cluster name>`, so a
//! token made for one cluster is useless on another. Tokens live 15 minutes from their signing
//! time; [`BearerToken::is_fresh`] says when to make a new one, because a rollout wait can outlast
//! one. Nothing long-lived is kept: the token is rebuilt from the provider's credentials.

use std::fmt;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use crate::error::Error;

/// What every EKS token starts with.
pub const TOKEN_PREFIX: &str = "k8s-aws-v1.";

/// The header that binds a token to one cluster.
pub const CLUSTER_HEADER: &str = "x-k8s-aws-id";

/// How long EKS accepts a token after its signing time.
const TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// A token is replaced this long before EKS would refuse it, so a request never leaves with a
/// token about to expire.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// The presigned URL's own validity, as the AWS CLI and aws-iam-authenticator sign it.
const URL_EXPIRY: Duration = Duration::from_secs(60);

/// A bearer token for one cluster. Its Debug output hides the value.
#[derive(Clone)]
pub struct BearerToken {
    value: Zeroizing<String>,
    signed_at: SystemTime,
}

impl BearerToken {
    /// The token, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// Whether the token will still be accepted for a while at `now`.
    pub fn is_fresh(&self, now: SystemTime) -> bool {
        let age = now.duration_since(self.signed_at).unwrap_or(Duration::ZERO);
        age + REFRESH_MARGIN < TOKEN_LIFETIME
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerToken").field("value", &"(hidden)").field("signed_at", &self.signed_at).finish()
    }
}

/// STS's regional endpoint, where the authenticator sends the presigned call.
pub fn sts_url_for_region(region: &str) -> String {
    format!("https://sts.{region}.amazonaws.com/")
}

/// Signs a token for `cluster` with `credentials`, against the STS endpoint `sts_url` (an
/// override, or [`sts_url_for_region`]).
pub fn eks_token(
    credentials: &Credentials,
    region: &str,
    sts_url: &str,
    cluster: &str,
    now: SystemTime,
) -> Result<BearerToken, Error> {
    let failed = |why: String| {
        Error::unexpected("SignClusterToken", format!("could not sign a token for cluster {cluster}: {why}"))
    };
    let base = if sts_url.ends_with('/') { sts_url.to_owned() } else { format!("{sts_url}/") };
    let url = format!("{base}?Action=GetCallerIdentity&Version=2011-06-15");

    let identity = Identity::from(credentials.clone());
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(URL_EXPIRY);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|error| failed(error.to_string()))?
        .into();
    let request =
        SignableRequest::new("GET", url.as_str(), [(CLUSTER_HEADER, cluster)].into_iter(), SignableBody::Bytes(&[]))
            .map_err(|error| failed(error.to_string()))?;
    let (instructions, _signature) = sign(request, &params).map_err(|error| failed(error.to_string()))?.into_parts();

    let mut presigned =
        http::Request::builder().method("GET").uri(url.as_str()).body(()).map_err(|error| failed(error.to_string()))?;
    instructions.apply_to_request_http1x(&mut presigned);
    let value = Zeroizing::new(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(presigned.uri().to_string())));
    Ok(BearerToken { value, signed_at: now })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded_url(token: &BearerToken) -> String {
        let encoded = token.expose().strip_prefix(TOKEN_PREFIX).expect("prefix");
        String::from_utf8(URL_SAFE_NO_PAD.decode(encoded).expect("base64url")).expect("utf-8")
    }

    fn query(url: &str) -> Vec<(String, String)> {
        let (_, query) = url.split_once('?').expect("query");
        query
            .split('&')
            .map(|pair| {
                let (key, value) = pair.split_once('=').expect("key=value");
                (key.to_owned(), percent_encoding::percent_decode_str(value).decode_utf8_lossy().into_owned())
            })
            .collect()
    }

    #[test]
    fn a_token_is_a_presigned_get_caller_identity_bound_to_the_cluster() {
        let credentials = Credentials::new("AKIDEXAMPLE", "secret", Some("session".into()), None, "test");
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let token =
            eks_token(&credentials, "eu-west-1", &sts_url_for_region("eu-west-1"), "retool-prod", now).expect("token");

        assert!(!token.expose().contains('='), "no padding");
        let url = decoded_url(&token);
        assert!(url.starts_with("https://sts.eu-west-1.amazonaws.com/?"), "{url}");
        let params = query(&url);
        let names: Vec<&str> = params.iter().map(|(key, _)| key.as_str()).collect();
        // The only parameters EKS's authenticator accepts.
        let allowed = [
            "Action",
            "Version",
            "X-Amz-Algorithm",
            "X-Amz-Credential",
            "X-Amz-Date",
            "X-Amz-Expires",
            "X-Amz-Security-Token",
            "X-Amz-Signature",
            "X-Amz-SignedHeaders",
        ];
        assert!(names.iter().all(|name| allowed.contains(name)), "{names:?}");
        let get = |name: &str| params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
        assert_eq!(get("Action"), Some("GetCallerIdentity"));
        assert_eq!(get("Version"), Some("2011-06-15"));
        assert_eq!(get("X-Amz-SignedHeaders"), Some("host;x-k8s-aws-id"));
        assert_eq!(get("X-Amz-Expires"), Some("60"));
        assert_eq!(get("X-Amz-Date"), Some("20231114T221320Z"));
        assert_eq!(get("X-Amz-Security-Token"), Some("session"));
        assert!(get("X-Amz-Credential").is_some_and(|scope| scope.ends_with("/eu-west-1/sts/aws4_request")));
        assert!(!format!("{token:?}").contains("k8s-aws-v1"), "Debug hides the token");

        // Another cluster gets another signature.
        let other =
            eks_token(&credentials, "eu-west-1", &sts_url_for_region("eu-west-1"), "retool-dev", now).expect("token");
        assert_ne!(other.expose(), token.expose());
    }

    #[test]
    fn an_endpoint_override_is_signed_as_given() {
        let credentials = Credentials::new("test", "test", None, None, "test");
        let token =
            eks_token(&credentials, "us-east-1", "http://127.0.0.1:5000", "c", SystemTime::now()).expect("token");
        let url = decoded_url(&token);
        assert!(url.starts_with("http://127.0.0.1:5000/?Action=GetCallerIdentity"), "{url}");
        assert!(!url.contains("X-Amz-Security-Token"), "no session token, none sent");
    }

    #[test]
    fn tokens_are_replaced_a_minute_before_they_expire() {
        let credentials = Credentials::new("test", "test", None, None, "test");
        let signed = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let token = eks_token(&credentials, "us-east-1", "http://127.0.0.1:1", "c", signed).expect("token");
        assert!(token.is_fresh(signed));
        assert!(token.is_fresh(signed + Duration::from_secs(13 * 60)));
        assert!(!token.is_fresh(signed + Duration::from_secs(14 * 60)));
        // A clock that went backwards does not make a token stale.
        assert!(token.is_fresh(signed - Duration::from_secs(60)));
    }
}
