//! Destroy: the roles, then the policies (a policy in use as a boundary cannot be deleted).
//! Pieces already gone are fine, so a destroy that stopped half-way can simply run again.

use crate::aws::During;
use aws_sdk_iam::Client;

use super::{attached_policies, inline_policies};
use crate::aws::{absent_if_missing, ok_if_missing};
use crate::error::{AwsError, Error};
use crate::resources::permission_boundary::desired::Desired;

/// Deletes the roles, then the policies (a policy in use as a boundary cannot be deleted).
/// Pieces already gone are fine, so a destroy that stopped half-way can simply run again.
pub async fn destroy(iam: &Client, desired: &Desired) -> Result<(), Error> {
    let estate = &desired.estate;
    delete_role(iam, &estate.setup_role_name()).await?;
    delete_role(iam, &estate.maintenance_role_name()).await?;
    for arn in [
        estate.setup_policy_arn(),
        estate.maintenance_policy_arn(),
        estate.operator_boundary_arn(),
        estate.workload_boundary_arn(),
    ] {
        delete_policy(iam, &arn).await?;
    }
    Ok(())
}

pub(super) async fn delete_role(iam: &Client, name: &str) -> Result<(), Error> {
    let Some(attached) = absent_if_missing(attached_policies(iam, name).await)? else {
        return Ok(());
    };
    for arn in attached {
        ok_if_missing(
            iam.detach_role_policy().role_name(name).policy_arn(&arn).send().await.during("DetachRolePolicy"),
        )?;
    }
    let inline_names = absent_if_missing(inline_policies(iam, name).await)?;
    for inline in inline_names.iter().flatten() {
        ok_if_missing(
            iam.delete_role_policy().role_name(name).policy_name(inline).send().await.during("DeleteRolePolicy"),
        )?;
    }
    let profiles = absent_if_missing(
        iam.list_instance_profiles_for_role().role_name(name).send().await.during("ListInstanceProfilesForRole"),
    )?;
    for profile in profiles.iter().flat_map(|output| output.instance_profiles()) {
        ok_if_missing(
            iam.remove_role_from_instance_profile()
                .role_name(name)
                .instance_profile_name(profile.instance_profile_name())
                .send()
                .await
                .during("RemoveRoleFromInstanceProfile"),
        )?;
    }
    ok_if_missing(iam.delete_role().role_name(name).send().await.during("DeleteRole"))?;
    tracing::info!(role = %name, "deleted operator role");
    Ok(())
}

pub(super) async fn delete_policy(iam: &Client, arn: &str) -> Result<(), Error> {
    let Some(listed) =
        absent_if_missing(iam.list_policy_versions().policy_arn(arn).send().await.during("ListPolicyVersions"))?
    else {
        return Ok(());
    };
    for version in listed.versions().iter().filter(|version| !version.is_default_version()) {
        let version_id = version.version_id().ok_or(Error::missing("ListPolicyVersions", "PolicyVersion.VersionId"))?;
        ok_if_missing(
            iam.delete_policy_version()
                .policy_arn(arn)
                .version_id(version_id)
                .send()
                .await
                .during("DeletePolicyVersion"),
        )?;
    }
    ok_if_missing(iam.delete_policy().policy_arn(arn).send().await.during("DeletePolicy")).map_err(
        |error| match error {
            Error::Aws(error) if error.code.as_deref() == Some("DeleteConflict") => Error::Aws(AwsError {
                message: format!(
                    "{} (the policy is still attached or used as a permissions boundary, e.g. by workload roles the \
                 operator created; remove those first)",
                    error.message
                ),
                ..error
            }),
            _ => error,
        },
    )?;
    tracing::info!(policy = %arn, "deleted managed policy");
    Ok(())
}
