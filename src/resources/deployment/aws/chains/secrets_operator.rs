//! The External Secrets Operator's IAM role: trusted by its service account through the cluster's
//! OIDC provider, allowed to read the deployment's secrets. It needs both the cluster chain (the
//! provider) and the database chain (RDS's master secrets), so it comes last.

use async_trait::async_trait;

use super::{Chain, Context, Target, Upstream};
use crate::aws::AwsClients;
use crate::aws::iam::role;
use crate::error::Error;
use crate::resources::deployment::desired::Desired;
use crate::resources::deployment::drift::{Area, Finding, role_drift};
use crate::resources::deployment::observed::{Observed, RoleState};

/// The External Secrets Operator's role.
pub struct SecretsOperatorChain;

#[async_trait]
impl Chain for SecretsOperatorChain {
    type Seen = Option<RoleState>;
    type Made = ();

    async fn observe(clients: &AwsClients, target: Target<'_>) -> Result<Self::Seen, Error> {
        role::observe(clients.iam(), &target.names.external_secrets_role()).await
    }

    async fn ensure(cx: &Context<'_>, upstream: &Upstream) -> Result<Self::Made, Error> {
        let Some(oidc) = &upstream.oidc else {
            return Err(Error::unexpected(
                "EnsureSecretsOperatorRole",
                "the cluster's OIDC provider does not exist yet",
            ));
        };
        let wanted = cx.desired.secrets_operator_role(
            &oidc.provider_arn,
            &oidc.issuer_url,
            &upstream.master_secrets,
            &upstream.key_arn,
        );
        role::ensure(cx.clients.iam(), &wanted, cx.stop).await.map(|_| ())
    }

    async fn remove(cx: &Context<'_>) -> Result<Vec<String>, Error> {
        role::remove(cx.clients.iam(), &cx.desired.names.external_secrets_role()).await.map(|()| Vec::new())
    }

    fn drift(desired: &Desired, observed: &Observed) -> Vec<Finding> {
        role_drift(
            Area::SecretsOperator,
            &desired.names.external_secrets_role(),
            observed.eso_role.as_ref(),
            desired.spec.permission_boundary_arn.as_ref(),
            &desired.tags(),
        )
    }
}
