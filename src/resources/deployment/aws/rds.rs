//! RDS PostgreSQL: the DB subnet group (the network's private subnets), a parameter group per
//! engine family with `rds.force_ssl = 1`, and the instances (Retool's database and, when enabled,
//! the Retool DB instance).
//!
//! Every instance is encrypted with the deployment's KMS key, pinned to an explicit CA, reachable
//! only through the network's database security group, and created with
//! `ManageMasterUserPassword`: RDS generates the password and keeps it in Secrets Manager, so it
//! never passes through the provider. Destroy takes a final snapshot with a unique name (RDS
//! keeps the instance if the name was used before) and keeps the automated backups unless
//! `skip_final_snapshot` is set. A major upgrade first takes a manual snapshot named after the
//! target family, so a failed upgrade can be restored from and an interrupted one does not take
//! a second.

use crate::aws::During;
use std::collections::BTreeMap;

use aws_sdk_rds::Client;
use aws_sdk_rds::types::{ApplyMethod, Parameter, Tag};

use super::{Look, Notes, Patience, absent_if_missing, ok_if_missing, tag_map, wait_gone, wait_until};
use crate::aws::tags::{carries_all, sync_tags};
use crate::aws::wait::create_once;
use crate::error::Error;
use crate::resources::deployment::desired::DbInstance;
use crate::resources::deployment::model::{ENGINE_VERSION_SETTING, InstanceSettings, major};
use crate::resources::deployment::observed::{DbSubnetGroupState, GroupState, InstanceState, ParameterGroupState};
use crate::resources::drift::listed;
use crate::stop::StopSignal;

/// The CA every instance uses (RSA 2048, valid until 2061), set explicitly rather than left to
/// the account default.
pub const CA_CERTIFICATE: &str = "rds-ca-rsa2048-g1";
pub const MASTER_USERNAME: &str = "retool";
pub const DATABASE_NAME: &str = "retool";
/// PostgreSQL's port: RDS's default, which the provider never changes.
pub const POSTGRES_PORT: u16 = 5432;
const FORCE_SSL: &str = "rds.force_ssl";

fn tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().map(|(key, value)| Tag::builder().key(key).value(value).build()).collect()
}

/// The instance named `identifier`, or `None` when it does not exist.
pub async fn observe_instance(rds: &Client, identifier: &str) -> Result<Option<InstanceState>, Error> {
    let [state] = observe_instances(rds, [identifier]).await?;
    Ok(state)
}

/// The instances named `identifiers`, in that order (`None` for one that does not exist), read
/// with one `DescribeDBInstances` filtered by identifier.
pub async fn observe_instances<const N: usize>(
    rds: &Client,
    identifiers: [&str; N],
) -> Result<[Option<InstanceState>; N], Error> {
    let filter = aws_sdk_rds::types::Filter::builder()
        .name("db-instance-id")
        .set_values(Some(identifiers.map(str::to_owned).to_vec()))
        .build();
    let found: Vec<_> = rds
        .describe_db_instances()
        .filters(filter)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .during("DescribeDBInstances")?;
    let mut states = identifiers.map(|_| None);
    for (identifier, state) in identifiers.iter().zip(states.iter_mut()) {
        if let Some(db) = found.iter().find(|db| db.db_instance_identifier() == Some(*identifier)) {
            *state = Some(instance_state(identifier, db)?);
        }
    }
    Ok(states)
}

/// An instance as `DescribeDBInstances` reports it.
fn instance_state(identifier: &str, db: &aws_sdk_rds::types::DbInstance) -> Result<InstanceState, Error> {
    let mut security_group_ids: Vec<String> =
        db.vpc_security_groups().iter().filter_map(|g| g.vpc_security_group_id()).map(str::to_owned).collect();
    security_group_ids.sort();
    let missing = |field| Error::missing("DescribeDBInstances", field);
    Ok(InstanceState {
        identifier: identifier.to_owned(),
        arn: db.db_instance_arn().ok_or_else(|| missing("DBInstanceArn"))?.to_owned(),
        tags: tag_map(db.tag_list().iter().map(|tag| (tag.key(), tag.value()))),
        status: db.db_instance_status().ok_or_else(|| missing("DBInstanceStatus"))?.to_owned(),
        settings: InstanceSettings {
            instance_class: db.db_instance_class().ok_or_else(|| missing("DBInstanceClass"))?.to_owned(),
            engine_version: db.engine_version().ok_or_else(|| missing("EngineVersion"))?.to_owned(),
            allocated_storage_gb: db.allocated_storage().ok_or_else(|| missing("AllocatedStorage"))?,
            max_allocated_storage_gb: db.max_allocated_storage(),
            multi_az: db.multi_az().ok_or_else(|| missing("MultiAZ"))?,
            backup_retention_days: db.backup_retention_period().ok_or_else(|| missing("BackupRetentionPeriod"))?,
            deletion_protection: db.deletion_protection().ok_or_else(|| missing("DeletionProtection"))?,
            maintenance_window: db.preferred_maintenance_window().map(str::to_owned),
            backup_window: db.preferred_backup_window().map(str::to_owned),
        },
        pending_engine_version: db.pending_modified_values().and_then(|p| p.engine_version()).map(str::to_owned),
        storage_encrypted: db.storage_encrypted(),
        kms_key_id: db.kms_key_id().map(str::to_owned),
        ca_certificate: db.ca_certificate_identifier().map(str::to_owned),
        parameter_group: db.db_parameter_groups().first().and_then(|g| g.db_parameter_group_name()).map(str::to_owned),
        subnet_group: db.db_subnet_group().and_then(|g| g.db_subnet_group_name()).map(str::to_owned),
        security_group_ids,
        endpoint: db.endpoint().and_then(|e| e.address()).map(str::to_owned),
        master_user_secret_arn: db.master_user_secret().and_then(|s| s.secret_arn()).map(str::to_owned),
    })
}

/// Whether an instance is usable and accepts a modification. After a storage change RDS
/// optimises storage for hours; the instance works and can be modified meanwhile.
pub fn is_ready(status: &str) -> bool {
    matches!(status, "available" | "storage-optimization")
}

/// Waits until the instance is ready for a modification (RDS refuses one while it is, say,
/// backing up or modifying).
async fn wait_ready(rds: &Client, identifier: &str, patience: Patience<'_>) -> Result<(), Error> {
    let what = format!("DB instance {identifier}");
    wait_until("WaitDBInstanceAvailable", &what, patience, || async {
        Ok(observe_instance(rds, identifier).await?.map(|db| {
            if is_ready(&db.status) { Look::Ready(()) } else { Look::Pending(format!("{what} is {}", db.status)) }
        }))
    })
    .await
}

async fn wait_available(rds: &Client, spec: &DbInstance, patience: Patience<'_>) -> Result<InstanceState, Error> {
    let what = format!("DB instance {}", spec.identifier);
    let failed = ["failed", "incompatible-parameters", "incompatible-restore", "storage-full"];
    wait_until("WaitDBInstanceAvailable", &what, patience, || async {
        Ok(observe_instance(rds, &spec.identifier).await?.map(|db| {
            let differences = db.differences(spec);
            if is_ready(&db.status) && differences.is_empty() {
                Look::Ready(db)
            } else if failed.contains(&db.status.as_str()) {
                Look::Failed(format!("{what} is {}", db.status))
            } else if is_ready(&db.status) {
                let differences: Vec<String> = differences.iter().map(ToString::to_string).collect();
                Look::Pending(format!("{what} still differs: {}", differences.join(", ")))
            } else {
                Look::Pending(format!("{what} is {}", db.status))
            }
        }))
    })
    .await
}

/// Creates the instance or modifies what differs, then waits until it is available with the
/// configured settings. Every change is applied immediately, but a newer pinned minor version
/// without `apply_immediately`, which RDS holds for the maintenance window. A major upgrade first
/// takes the instance's pre-upgrade snapshot (reported in `notes`).
pub async fn ensure_instance(
    rds: &Client,
    spec: &DbInstance,
    patience: Patience<'_>,
    notes: &Notes,
) -> Result<InstanceState, Error> {
    let want = &spec.settings;
    let Some(existing) = observe_instance(rds, &spec.identifier).await? else {
        let send = || async {
            rds.create_db_instance()
                .db_instance_identifier(&spec.identifier)
                .engine("postgres")
                .engine_version(&want.engine_version)
                .db_instance_class(&want.instance_class)
                .allocated_storage(want.allocated_storage_gb)
                .set_max_allocated_storage(want.max_allocated_storage_gb)
                .storage_type("gp3")
                .storage_encrypted(true)
                .kms_key_id(&spec.kms_key_arn)
                .master_username(MASTER_USERNAME)
                .manage_master_user_password(true)
                .master_user_secret_kms_key_id(&spec.kms_key_arn)
                .db_name(DATABASE_NAME)
                .multi_az(want.multi_az)
                .backup_retention_period(want.backup_retention_days)
                .set_preferred_maintenance_window(want.maintenance_window.clone())
                .set_preferred_backup_window(want.backup_window.clone())
                .deletion_protection(want.deletion_protection)
                .db_subnet_group_name(&spec.subnet_group)
                .db_parameter_group_name(&spec.parameter_group)
                .set_vpc_security_group_ids(Some(spec.security_group_ids.clone()))
                .ca_certificate_identifier(CA_CERTIFICATE)
                .publicly_accessible(false)
                .auto_minor_version_upgrade(true)
                .copy_tags_to_snapshot(true)
                .set_tags(Some(tags(&spec.tags)))
                .send()
                .await
                .during("CreateDBInstance")
                .map(|_| ())
        };
        // The identifier taken by this create's earlier attempt: the instance carries its tags.
        let find = || async {
            let found = observe_instance(rds, &spec.identifier).await?;
            Ok(found.filter(|db| carries_all(&db.tags, &spec.tags)).map(|_| ()))
        };
        create_once("CreateDBInstance", patience.stop, send, find).await?;
        return wait_available(rds, spec, patience).await;
    };
    let arn = &existing.arn;
    sync_tags(
        &existing.tags,
        &spec.tags,
        |set| add_tags(rds, arn, set),
        |keys| async move {
            rds.remove_tags_from_resource()
                .resource_name(arn)
                .set_tag_keys(Some(keys))
                .send()
                .await
                .during("RemoveTagsFromResource")
        },
    )
    .await?;
    let differences = existing.differences(spec);
    if differences.is_empty() {
        return wait_available(rds, spec, patience).await;
    }
    let (have_version, want_version) = (&existing.settings.engine_version, &want.engine_version);
    let major_change = major(have_version) != major(want_version);
    let minor_change = differences.iter().any(|difference| difference.setting == ENGINE_VERSION_SETTING);
    let deferred_minor = minor_change && !spec.apply_immediately;
    wait_ready(rds, &spec.identifier, patience).await?;
    if major_change {
        let snapshot = &spec.pre_upgrade_snapshot;
        let taken_now = ensure_snapshot(rds, &spec.identifier, snapshot, patience).await?;
        let when = if taken_now { "took" } else { "an earlier, interrupted apply took" };
        notes.add(format!(
            "The apply {when} snapshot {snapshot} of DB instance {} before upgrading PostgreSQL {} → {}; delete it when no longer needed (it keeps the deployment's KMS key from deletion on destroy).",
            spec.identifier,
            major(have_version),
            major(want_version),
        ));
    }
    let immediate =
        differences.iter().any(|difference| !(deferred_minor && difference.setting == ENGINE_VERSION_SETTING));
    if immediate {
        // Storage only ever grows: less than what (autoscaling) allocated is refused by RDS.
        let grow_storage = want.allocated_storage_gb > existing.settings.allocated_storage_gb;
        let new_version = major_change || (minor_change && spec.apply_immediately);
        rds.modify_db_instance()
            .db_instance_identifier(&spec.identifier)
            .apply_immediately(true)
            .db_instance_class(&want.instance_class)
            .set_allocated_storage(grow_storage.then_some(want.allocated_storage_gb))
            // Autoscaling is turned off by setting its limit to the allocated storage.
            .max_allocated_storage(want.max_allocated_storage_gb.unwrap_or(want.allocated_storage_gb))
            .multi_az(want.multi_az)
            .backup_retention_period(want.backup_retention_days)
            .set_preferred_maintenance_window(want.maintenance_window.clone())
            .set_preferred_backup_window(want.backup_window.clone())
            .deletion_protection(want.deletion_protection)
            .db_parameter_group_name(&spec.parameter_group)
            .set_engine_version(new_version.then(|| want_version.clone()))
            .set_allow_major_version_upgrade(major_change.then_some(true))
            .send()
            .await
            .during("ModifyDBInstance")?;
    }
    if deferred_minor {
        // Its own request: everything in a request without ApplyImmediately waits for the window.
        if immediate {
            wait_ready(rds, &spec.identifier, patience).await?;
        }
        rds.modify_db_instance()
            .db_instance_identifier(&spec.identifier)
            .apply_immediately(false)
            .engine_version(want_version)
            .send()
            .await
            .during("ModifyDBInstance")?;
    }
    wait_available(rds, spec, patience).await
}

/// Takes manual snapshot `name` of `instance` unless it exists, and waits until it is
/// `available`. Returns whether it was taken now.
async fn ensure_snapshot(rds: &Client, instance: &str, name: &str, patience: Patience<'_>) -> Result<bool, Error> {
    let taken_now = observe_snapshot(rds, name).await?.is_none();
    if taken_now {
        let created = rds
            .create_db_snapshot()
            .db_instance_identifier(instance)
            .db_snapshot_identifier(name)
            .send()
            .await
            .during("CreateDBSnapshot");
        match created {
            Ok(_) => {}
            // Taken by a concurrent or retried request that did not come back.
            Err(error) if error.code() == Some("DBSnapshotAlreadyExists") => {}
            Err(error) => return Err(error),
        }
    }
    let what = format!("DB snapshot {name} of {instance}");
    wait_until("WaitDBSnapshotAvailable", &what, patience, || async {
        Ok(observe_snapshot(rds, name).await?.map(|status| match status.as_str() {
            "available" => Look::Ready(()),
            "failed" | "incompatible-restore" => Look::Failed(format!("{what} is {status}")),
            _ => Look::Pending(format!("{what} is {status}")),
        }))
    })
    .await?;
    Ok(taken_now)
}

/// The status of manual snapshot `name`, or `None` when it does not exist.
async fn observe_snapshot(rds: &Client, name: &str) -> Result<Option<String>, Error> {
    let found = absent_if_missing(
        rds.describe_db_snapshots().db_snapshot_identifier(name).send().await.during("DescribeDBSnapshots"),
    )?;
    Ok(found
        .iter()
        .flat_map(|out| out.db_snapshots())
        .find(|snapshot| snapshot.db_snapshot_identifier() == Some(name))
        .map(|snapshot| snapshot.status().unwrap_or("unknown").to_owned()))
}

/// Gives the instance exactly the security groups `expected` (sorted) when it has others: waits
/// for it to be available, modifies, and waits until RDS reports the new set. A missing
/// instance is left to `ensure_instance`.
pub async fn ensure_security_groups(
    rds: &Client,
    identifier: &str,
    expected: &[String],
    patience: Patience<'_>,
) -> Result<(), Error> {
    let Some(existing) = observe_instance(rds, identifier).await? else { return Ok(()) };
    if existing.security_group_ids == expected {
        return Ok(());
    }
    wait_ready(rds, identifier, patience).await?;
    rds.modify_db_instance()
        .db_instance_identifier(identifier)
        .apply_immediately(true)
        .set_vpc_security_group_ids(Some(expected.to_vec()))
        .send()
        .await
        .during("ModifyDBInstance")?;
    let what = format!("DB instance {identifier}");
    wait_until("WaitDBSecurityGroups", &what, patience, || async {
        Ok(observe_instance(rds, identifier).await?.map(|db| {
            if db.security_group_ids == expected {
                Look::Ready(())
            } else {
                Look::Pending(format!("{what} has security groups {}", listed(&db.security_group_ids)))
            }
        }))
    })
    .await
}

/// Deletes the instance and waits until it is gone: with final snapshot `final_snapshot` and its
/// automated backups retained, or without either.
/// Deletion protection must already be off in configuration; if only AWS still has it on, it is
/// turned off first, as configured.
pub async fn remove_instance(
    rds: &Client,
    identifier: &str,
    final_snapshot: Option<&str>,
    patience: Patience<'_>,
) -> Result<(), Error> {
    let Some(existing) = observe_instance(rds, identifier).await? else { return Ok(()) };
    if existing.settings.deletion_protection {
        rds.modify_db_instance()
            .db_instance_identifier(identifier)
            .deletion_protection(false)
            .apply_immediately(true)
            .send()
            .await
            .during("ModifyDBInstance")?;
    }
    if existing.status != "deleting" {
        let request = rds.delete_db_instance().db_instance_identifier(identifier);
        let request = match final_snapshot {
            Some(name) => {
                request.final_db_snapshot_identifier(name).skip_final_snapshot(false).delete_automated_backups(false)
            }
            None => request.skip_final_snapshot(true).delete_automated_backups(true),
        };
        ok_if_missing(request.send().await.during("DeleteDBInstance"))?;
    }
    wait_gone("WaitDBInstanceDeleted", patience, || async {
        Ok(observe_instance(rds, identifier).await?.map(|db| format!("DB instance {identifier} is {}", db.status)))
    })
    .await
}

/// Whether `key` (an ARN, id or empty, as RDS reports a snapshot's or backup's key) is `key_arn`;
/// a backup that reports no key counts as encrypted with it.
fn encrypted_with(key: Option<&str>, key_arn: &str) -> bool {
    key.is_none_or(|key| key.is_empty() || key == key_arn || key_arn.ends_with(&format!("/{key}")))
}

/// What of `instance` outlives it encrypted with `key_arn`: its manual snapshots (final and
/// pre-upgrade snapshots, and any taken by hand) by identifier, and its retained automated backups
/// by ARN, sorted.
pub async fn kept_backups(rds: &Client, instance: &str, key_arn: &str) -> Result<Vec<String>, Error> {
    let (snapshots, automated) = tokio::join!(
        rds.describe_db_snapshots().db_instance_identifier(instance).snapshot_type("manual").send(),
        rds.describe_db_instance_automated_backups().db_instance_identifier(instance).send(),
    );
    let snapshots = absent_if_missing(snapshots.during("DescribeDBSnapshots"))?;
    let automated = absent_if_missing(automated.during("DescribeDBInstanceAutomatedBackups"))?;
    let mut found: Vec<String> = snapshots
        .iter()
        .flat_map(|out| out.db_snapshots())
        .filter(|snapshot| encrypted_with(snapshot.kms_key_id(), key_arn))
        .filter_map(|snapshot| snapshot.db_snapshot_identifier())
        .map(str::to_owned)
        .collect();
    found.extend(
        automated
            .iter()
            .flat_map(|out| out.db_instance_automated_backups())
            .filter(|backup| backup.status() == Some("retained") && encrypted_with(backup.kms_key_id(), key_arn))
            .map(|backup| {
                backup
                    .db_instance_automated_backups_arn()
                    .map_or_else(|| format!("{instance}:automated-backups"), str::to_owned)
            }),
    );
    found.sort();
    Ok(found)
}

async fn resource_tags(rds: &Client, arn: &str) -> Result<BTreeMap<String, String>, Error> {
    let listed = rds.list_tags_for_resource().resource_name(arn).send().await.during("ListTagsForResource")?;
    Ok(tag_map(listed.tag_list().iter().map(|tag| (tag.key(), tag.value()))))
}

/// `AddTagsToResource`, shared by the instances' tag update and the groups' ownership mark.
async fn add_tags(rds: &Client, arn: &str, set: BTreeMap<String, String>) -> Result<(), Error> {
    rds.add_tags_to_resource()
        .resource_name(arn)
        .set_tags(Some(tags(&set)))
        .send()
        .await
        .during("AddTagsToResource")?;
    Ok(())
}

/// Sets the tags of `want` a group lacks or holds with another value (others stay as they are).
async fn mark_group(rds: &Client, group: &GroupState, want: &BTreeMap<String, String>) -> Result<(), Error> {
    super::add_missing_tags(&group.tags, want, |missing| add_tags(rds, &group.arn, missing)).await
}

/// DB subnet group `name`; `None` when it does not exist.
pub async fn observe_subnet_group(rds: &Client, name: &str) -> Result<Option<DbSubnetGroupState>, Error> {
    let found = absent_if_missing(
        rds.describe_db_subnet_groups().db_subnet_group_name(name).send().await.during("DescribeDBSubnetGroups"),
    )?;
    let group =
        found.and_then(|out| out.db_subnet_groups().iter().find(|g| g.db_subnet_group_name() == Some(name)).cloned());
    let Some(group) = group else { return Ok(None) };
    let mut subnet_ids: Vec<String> =
        group.subnets().iter().filter_map(|s| s.subnet_identifier()).map(str::to_owned).collect();
    subnet_ids.sort();
    let arn =
        group.db_subnet_group_arn().ok_or(Error::missing("DescribeDBSubnetGroups", "DBSubnetGroupArn"))?.to_owned();
    let tags = resource_tags(rds, &arn).await?;
    Ok(Some(DbSubnetGroupState { group: GroupState { name: name.to_owned(), arn, tags }, subnet_ids }))
}

/// Creates the subnet group, or points it at `subnet_ids` (sorted) when it lists others.
pub async fn ensure_subnet_group(
    rds: &Client,
    name: &str,
    subnet_ids: &[String],
    tag_map: &BTreeMap<String, String>,
    stop: &StopSignal,
) -> Result<(), Error> {
    match observe_subnet_group(rds, name).await? {
        Some(found) => {
            mark_group(rds, &found.group, tag_map).await?;
            if found.subnet_ids == subnet_ids {
                return Ok(());
            }
            rds.modify_db_subnet_group()
                .db_subnet_group_name(name)
                .set_subnet_ids(Some(subnet_ids.to_vec()))
                .send()
                .await
                .map(|_| ())
                .during("ModifyDBSubnetGroup")
        }
        None => {
            let send = || async {
                rds.create_db_subnet_group()
                    .db_subnet_group_name(name)
                    .db_subnet_group_description("Private subnets of a Retool deployment's databases")
                    .set_subnet_ids(Some(subnet_ids.to_vec()))
                    .set_tags(Some(tags(tag_map)))
                    .send()
                    .await
                    .map(|_| ())
                    .during("CreateDBSubnetGroup")
            };
            let find = || async {
                let found = observe_subnet_group(rds, name).await?;
                Ok(found.filter(|found| carries_all(&found.group.tags, tag_map)).map(|_| ()))
            };
            create_once("CreateDBSubnetGroup", stop, send, find).await
        }
    }
}

/// Parameter group `name`, with whether it forces TLS; `None` when it does not exist.
/// (Describing a missing group may answer with an error or with an empty list.)
pub async fn observe_parameter_group(rds: &Client, name: &str) -> Result<Option<ParameterGroupState>, Error> {
    // The group and its parameters at once; the parameters of a group that does not exist fail
    // with not-found and are not looked at.
    let parameters = rds.describe_db_parameters().db_parameter_group_name(name).source("user");
    let (found, parameters) = tokio::join!(
        rds.describe_db_parameter_groups().db_parameter_group_name(name).send(),
        parameters.into_paginator().items().send().collect::<Result<Vec<_>, _>>()
    );
    let found = absent_if_missing(found.during("DescribeDBParameterGroups"))?;
    let group = found
        .and_then(|out| out.db_parameter_groups().iter().find(|g| g.db_parameter_group_name() == Some(name)).cloned());
    let Some(group) = group else { return Ok(None) };
    let parameters = parameters.during("DescribeDBParameters")?;
    let forces_ssl =
        parameters.iter().any(|p| p.parameter_name() == Some(FORCE_SSL) && p.parameter_value() == Some("1"));
    let arn = group
        .db_parameter_group_arn()
        .ok_or(Error::missing("DescribeDBParameterGroups", "DBParameterGroupArn"))?
        .to_owned();
    let tags = resource_tags(rds, &arn).await?;
    Ok(Some(ParameterGroupState { group: GroupState { name: name.to_owned(), arn, tags }, forces_ssl }))
}

pub async fn ensure_parameter_group(
    rds: &Client,
    name: &str,
    family: &str,
    tag_map: &BTreeMap<String, String>,
) -> Result<(), Error> {
    let forced = match observe_parameter_group(rds, name).await? {
        Some(found) => {
            mark_group(rds, &found.group, tag_map).await?;
            found.forces_ssl
        }
        None => {
            let created = rds
                .create_db_parameter_group()
                .db_parameter_group_name(name)
                .db_parameter_group_family(family)
                .description("Retool deployment: TLS required")
                .set_tags(Some(tags(tag_map)))
                .send()
                .await
                .during("CreateDBParameterGroup");
            match created {
                Ok(_) => false,
                Err(error) if error.code() == Some("DBParameterGroupAlreadyExists") => false,
                Err(error) => return Err(error),
            }
        }
    };
    if forced {
        return Ok(());
    }
    let parameter = Parameter::builder()
        .parameter_name(FORCE_SSL)
        .parameter_value("1")
        .apply_method(ApplyMethod::Immediate)
        .build();
    rds.modify_db_parameter_group()
        .db_parameter_group_name(name)
        .parameters(parameter)
        .send()
        .await
        .map(|_| ())
        .during("ModifyDBParameterGroup")
}

pub async fn remove_parameter_group(rds: &Client, name: &str) -> Result<(), Error> {
    ok_if_missing(
        rds.delete_db_parameter_group().db_parameter_group_name(name).send().await.during("DeleteDBParameterGroup"),
    )
}

pub async fn remove_subnet_group(rds: &Client, name: &str) -> Result<(), Error> {
    ok_if_missing(rds.delete_db_subnet_group().db_subnet_group_name(name).send().await.during("DeleteDBSubnetGroup"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::deployment::model::{autoscaling_limit, storage_differs};

    #[test]
    fn autoscaled_storage_is_not_a_difference() {
        // Autoscaling on (limit 200): RDS grew 100 to 120.
        assert!(!storage_differs(120, 100, Some(200)));
        assert!(storage_differs(80, 100, Some(200)));
        assert!(storage_differs(120, 100, None));
        assert_eq!(autoscaling_limit(200, Some(200), Some(200)), Some(200), "grown up to the limit");
        assert_eq!(autoscaling_limit(100, Some(100), None), None, "RDS's way of saying off");

        let spec = DbInstance {
            identifier: "acme-postgres".into(),
            settings: InstanceSettings {
                instance_class: "db.m6g.large".into(),
                engine_version: "16".into(),
                allocated_storage_gb: 100,
                max_allocated_storage_gb: Some(200),
                multi_az: false,
                backup_retention_days: 7,
                deletion_protection: true,
                maintenance_window: Some("sun:05:00-sun:06:00".into()),
                backup_window: None,
            },
            subnet_group: String::new(),
            parameter_group: "acme-postgres16".into(),
            security_group_ids: vec![],
            kms_key_arn: String::new(),
            tags: BTreeMap::new(),
            apply_immediately: false,
            pre_upgrade_snapshot: "acme-postgres-before-postgres16".into(),
        };
        let grown = InstanceState {
            settings: InstanceSettings {
                engine_version: "16.4".into(),
                allocated_storage_gb: 200,
                max_allocated_storage_gb: Some(200),
                // RDS's pick while backup_window is unset.
                backup_window: Some("03:00-03:30".into()),
                ..spec.settings.clone()
            },
            parameter_group: Some(spec.parameter_group.clone()),
            ..InstanceState::default()
        };
        assert_eq!(grown.differences(&spec), Vec::new());
        let by_hand = InstanceState {
            settings: InstanceSettings { backup_retention_days: 1, multi_az: true, ..grown.settings.clone() },
            ..grown
        };
        let found: Vec<String> = by_hand.differences(&spec).iter().map(ToString::to_string).collect();
        assert_eq!(found, ["multi-AZ is true, configured false", "backup retention (days) is 1, configured 7"]);
    }

    #[test]
    fn backups_without_a_reported_key_are_kept_with_the_key() {
        let key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd";
        assert!(encrypted_with(Some(key), key) && encrypted_with(Some("1234abcd"), key));
        assert!(encrypted_with(None, key) && encrypted_with(Some(""), key));
        assert!(!encrypted_with(Some("arn:aws:kms:us-east-1:123456789012:key/other"), key));
    }

    #[test]
    fn storage_optimization_counts_as_ready() {
        assert!(is_ready("available") && is_ready("storage-optimization"));
        assert!(!is_ready("modifying") && !is_ready("backing-up"));
    }
}
