//! The generated secrets `retool/<name>/jwt-secret` and (unless the customer brings one)
//! `retool/<name>/encryption-key`; their values are generated here and never leave the one
//! `PutSecretValue` call.

use async_trait::async_trait;

use super::{Chain, Context, Target, Upstream};
use crate::aws::AwsClients;
use crate::error::Error;
use crate::resources::deployment::aws::secrets;
use crate::resources::deployment::desired::{Desired, GeneratedSecret};
use crate::resources::deployment::drift::{Area, Finding, finding, tag_drift};
use crate::resources::deployment::names;
use crate::resources::deployment::observed::{Observed, SecretsSeen};
use crate::resources::deployment::rules::secrets::{generate_encryption_key, generate_jwt_secret};
use crate::resources::drift::DriftKind;

/// The generated secrets.
pub struct SecretsChain;

#[async_trait]
impl Chain for SecretsChain {
    type Seen = SecretsSeen;
    type Made = ();

    async fn observe(clients: &AwsClients, target: Target<'_>) -> Result<Self::Seen, Error> {
        let sm = clients.secrets_manager();
        let (encryption_key, jwt) =
            (target.names.secret(names::ENCRYPTION_KEY_SECRET), target.names.secret(names::JWT_SECRET));
        let mut found =
            secrets::observe_under(sm, &format!("{}/", target.names.secrets_prefix()), &[&encryption_key, &jwt])
                .await?;
        Ok(SecretsSeen { encryption_key: found.remove(&encryption_key), jwt: found.remove(&jwt) })
    }

    async fn ensure(cx: &Context<'_>, upstream: &Upstream) -> Result<Self::Made, Error> {
        let (sm, desired) = (cx.clients.secrets_manager(), cx.desired);
        let tags = desired.tags();
        for secret in desired.generated_secrets() {
            let name = desired.names.secret(secret.suffix());
            match secret {
                GeneratedSecret::JwtSecret => {
                    secrets::ensure(sm, &name, &upstream.key_arn, &tags, generate_jwt_secret, cx.stop).await?;
                }
                GeneratedSecret::EncryptionKey => {
                    secrets::ensure(sm, &name, &upstream.key_arn, &tags, generate_encryption_key, cx.stop).await?;
                }
            }
        }
        Ok(())
    }

    async fn remove(cx: &Context<'_>) -> Result<Vec<String>, Error> {
        let (sm, names) = (cx.clients.secrets_manager(), &cx.desired.names);
        secrets::remove(sm, &names.secret(names::JWT_SECRET)).await?;
        secrets::remove(sm, &names.secret(names::ENCRYPTION_KEY_SECRET)).await?;
        Ok(Vec::new())
    }

    fn drift(desired: &Desired, observed: &Observed) -> Vec<Finding> {
        let mut found = Vec::new();
        for secret in desired.generated_secrets() {
            let state = match secret {
                GeneratedSecret::JwtSecret => &observed.secrets.jwt,
                GeneratedSecret::EncryptionKey => &observed.secrets.encryption_key,
            };
            let object = format!("secret {}", desired.names.secret(secret.suffix()));
            let (kind, detail) = match state {
                None => (DriftKind::Missing, "does not exist"),
                Some(state) if state.scheduled_for_deletion => (DriftKind::Broken, "is scheduled for deletion"),
                Some(state) if !state.has_value => (DriftKind::Broken, "has no value"),
                Some(state) => {
                    found.extend(tag_drift(Area::Secrets, &object, &state.tags, &desired.tags()));
                    continue;
                }
            };
            found.push(finding(Area::Secrets, &object, kind, detail));
        }
        found
    }
}
