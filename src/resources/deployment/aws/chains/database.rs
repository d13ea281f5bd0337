//! The database chain: the DB subnet group (the network's private subnets), the parameter group
//! of the engine family (`rds.force_ssl = 1`), Retool's database and, when enabled, the Retool DB
//! instance. Both instances are compared with what is desired by the one comparison converge
//! waits on ([`InstanceState::differences`](crate::resources::deployment::observed::InstanceState)).

use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use super::{Chain, Context, Target, Upstream};
use crate::aws::AwsClients;
use crate::error::Error;
use crate::resources::deployment::aws::rds;
use crate::resources::deployment::desired::{Desired, database_security_groups};
use crate::resources::deployment::drift::{Area, Finding, finding, tag_drift};
use crate::resources::deployment::observed::{DatabaseSeen, Observed};
use crate::resources::deployment::rules::versions::{MIN_POSTGRES_MAJOR, PostgresVersion};
use crate::resources::drift::{DriftKind, listed};

/// Subnet group, parameter group, instances.
pub struct DatabaseChain;

fn unix_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

/// Deletes a database instance, unless `deletion_protection` is configured (then an existing
/// instance is an error and nothing is touched).
async fn remove_instance(cx: &Context<'_>, identifier: &str) -> Result<(), Error> {
    let (rds_client, spec) = (cx.clients.rds(), &cx.desired.spec);
    if spec.database.deletion_protection {
        return match rds::observe_instance(rds_client, identifier).await? {
            Some(_) => Err(Error::unexpected(
                "DeleteDBInstance",
                format!(
                    "DB instance {identifier} is protected by database.deletion_protection; set it to false and apply first"
                ),
            )),
            None => Ok(()),
        };
    }
    let snapshot = (!spec.skip_final_snapshot).then(|| cx.desired.names.final_snapshot(identifier, unix_seconds()));
    rds::remove_instance(rds_client, identifier, snapshot.as_deref(), cx.rds_patience()).await
}

#[async_trait]
impl Chain for DatabaseChain {
    type Seen = DatabaseSeen;
    /// RDS's master user secrets of the instances.
    type Made = Vec<String>;

    async fn observe(clients: &AwsClients, target: Target<'_>) -> Result<Self::Seen, Error> {
        let (rds_client, names) = (clients.rds(), target.names);
        let configured = target.parameter_group;
        let (database_name, retool_db_name, subnet_group_name) =
            (names.database(), names.retool_db(), names.db_subnet_group());
        // The configured parameter group is read at once with the instances: it is the one the
        // database uses, except during a major upgrade, when the database's own is read after.
        let configured_group = async {
            match configured {
                Some(group) => rds::observe_parameter_group(rds_client, group).await,
                None => Ok(None),
            }
        };
        let ([database, retool_db], subnet_group, configured_group) = tokio::try_join!(
            rds::observe_instances(rds_client, [database_name.as_str(), retool_db_name.as_str()]),
            rds::observe_subnet_group(rds_client, &subnet_group_name),
            configured_group,
        )?;
        let current = database.as_ref().and_then(|db| db.parameter_group.as_deref());
        let (parameter_group, next_parameter_group) = match current {
            Some(current) if configured != Some(current) => {
                (rds::observe_parameter_group(rds_client, current).await?, configured_group)
            }
            _ => (configured_group, None),
        };
        Ok(DatabaseSeen { database, parameter_group, next_parameter_group, retool_db, subnet_group })
    }

    async fn ensure(cx: &Context<'_>, upstream: &Upstream) -> Result<Self::Made, Error> {
        let (desired, rds_client) = (cx.desired, cx.clients.rds());
        let names = &desired.names;
        let group = desired.parameter_group()?;
        let tags = desired.tags();
        rds::ensure_subnet_group(
            rds_client,
            &names.db_subnet_group(),
            &upstream.network.private_subnet_ids,
            &tags,
            cx.stop,
        )
        .await?;
        rds::ensure_parameter_group(rds_client, &group.name, &group.family, &tags).await?;
        let patience = cx.rds_patience();
        // Instances created before the cluster existed admit only the network's group so far;
        // [`DatabaseChain::admit_cluster`] adds the cluster's once it exists.
        let security_groups = database_security_groups(&upstream.network, upstream.eks_security_group.as_deref());
        let main = desired.database(&group, &security_groups, &upstream.key_arn);
        let retool_db = async {
            match desired.retool_db(&group, &security_groups, &upstream.key_arn) {
                Some(retool) => rds::ensure_instance(rds_client, &retool, patience, &cx.notes)
                    .await
                    .map(|db| db.master_user_secret_arn),
                None => remove_instance(cx, &names.retool_db()).await.map(|()| None),
            }
        };
        let (main, retool) = tokio::try_join!(rds::ensure_instance(rds_client, &main, patience, &cx.notes), retool_db)?;
        Ok([main.master_user_secret_arn, retool].into_iter().flatten().collect())
    }

    async fn remove(cx: &Context<'_>) -> Result<Vec<String>, Error> {
        let (desired, rds_client) = (cx.desired, cx.clients.rds());
        let names = &desired.names;
        let (database, retool_db) = (names.database(), names.retool_db());
        tokio::try_join!(remove_instance(cx, &database), remove_instance(cx, &retool_db),)?;
        // Every family this deployment may have used since the oldest Retool supports.
        let current =
            PostgresVersion::parse(&desired.spec.database.engine_version).map_or(MIN_POSTGRES_MAJOR, |v| v.major);
        for major in MIN_POSTGRES_MAJOR..=current {
            rds::remove_parameter_group(rds_client, &names.db_parameter_group(&format!("postgres{major}"))).await?;
        }
        rds::remove_subnet_group(rds_client, &names.db_subnet_group()).await?;
        Ok(Vec::new())
    }

    fn drift(desired: &Desired, observed: &Observed) -> Vec<Finding> {
        let (spec, names) = (&desired.spec, &desired.names);
        let mut found = Vec::new();
        let mut note =
            |object: String, kind, detail: String| found.push(finding(Area::Database, &object, kind, &detail));
        if let Some(network) = &observed.network {
            let expected = database_security_groups(
                network,
                observed.eks.cluster.as_ref().and_then(|c| c.eks_security_group_id.as_deref()),
            );
            for (identifier, db) in [
                (names.database(), observed.rds.database.as_ref()),
                (names.retool_db(), observed.rds.retool_db.as_ref()),
            ] {
                if let Some(db) = db.filter(|db| db.security_group_ids != expected) {
                    note(
                        format!("DB instance {identifier}"),
                        DriftKind::Rules,
                        format!(
                            "has security groups {}, expected {}",
                            listed(&db.security_group_ids),
                            listed(&expected)
                        ),
                    );
                }
            }
        }
        // The databases are compared exactly as converge compares them before it modifies them.
        let group = desired.parameter_group().ok().map(|group| group.name);
        let database = format!("DB instance {}", names.database());
        match &observed.rds.database {
            None => note(database.clone(), DriftKind::Missing, "does not exist".into()),
            Some(db) => {
                for difference in db.differences_from(&spec.database, group.as_deref()) {
                    note(database.clone(), DriftKind::Setting, difference.to_string());
                }
                if !observed.rds.parameter_group.as_ref().is_some_and(|group| group.forces_ssl) {
                    note(
                        format!("the parameter group of {}", names.database()),
                        DriftKind::Setting,
                        "does not set rds.force_ssl = 1".into(),
                    );
                }
            }
        }
        let retool_db = format!("Retool DB instance {}", names.retool_db());
        match (&observed.rds.retool_db, spec.retool_db.enabled) {
            (None, true) => note(retool_db.clone(), DriftKind::Missing, "does not exist".into()),
            (Some(_), false) => note(retool_db.clone(), DriftKind::Surplus, "exists but retool_db is disabled".into()),
            (Some(db), true) => {
                for difference in db.differences_from(&spec.retool_db_settings(), group.as_deref()) {
                    note(retool_db.clone(), DriftKind::Setting, difference.to_string());
                }
            }
            (None, false) => {}
        }
        let tags = desired.tags();
        let instances = [(database, &observed.rds.database), (retool_db, &observed.rds.retool_db)];
        let instances = instances.into_iter().filter_map(|(object, db)| Some((object, &db.as_ref()?.tags)));
        let groups = [
            observed.rds.subnet_group.as_ref().map(|subnets| &subnets.group),
            observed.rds.parameter_group.as_ref().map(|parameters| &parameters.group),
        ];
        let groups = groups.into_iter().flatten().map(|group| (format!("RDS group {}", group.name), &group.tags));
        for (object, have) in instances.chain(groups) {
            found.extend(tag_drift(Area::Database, &object, have, &tags));
        }
        found
    }
}

impl DatabaseChain {
    /// Gives the instances the security groups they should have now that the cluster (and the
    /// group EKS made for it) exists.
    pub async fn admit_cluster(cx: &Context<'_>, upstream: &Upstream) -> Result<(), Error> {
        let (desired, rds_client) = (cx.desired, cx.clients.rds());
        let expected = database_security_groups(&upstream.network, upstream.eks_security_group.as_deref());
        let identifiers = std::iter::once(desired.names.database())
            .chain(desired.spec.retool_db.enabled.then(|| desired.names.retool_db()));
        let mut failures = Vec::new();
        for identifier in identifiers {
            if let Err(error) = rds::ensure_security_groups(rds_client, &identifier, &expected, cx.rds_patience()).await
            {
                failures.push(error);
            }
        }
        Error::several(failures)
    }
}
