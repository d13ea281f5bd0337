//! PostgreSQL day 2 end to end on the emulator (scripts/emulator implements RDS major upgrades as
//! AWS does): a major upgrade takes its snapshot before the ModifyDBInstance (order read from the
//! fault injector's request log), maintenance and backup windows reach RDS, and a destroy that
//! keeps snapshots and automated backups keeps the KMS key they are encrypted with.

use aws_sdk_kms::Client as Kms;
use aws_sdk_kms::types::KeyState;
use aws_sdk_rds::Client as Rds;

use crate::support::aws::sdk_config;
use crate::support::faults::ProxiedRequest;
use crate::support::workspace::two_zone_network;
use crate::support::{Emulator, FaultProxy, Workspace, acceptance_toolchain};

const NAME: &str = "dbup";
const INSTANCE: &str = "dbup-postgres";
const SNAPSHOT: &str = "dbup-postgres-before-postgres16";

/// The network and a deployment on PostgreSQL `version` with the `extra` lines in its database
/// block, every service endpoint at `endpoint` (the request log in front of the emulator).
fn config(emulator: &Emulator, workspace: &Workspace, endpoint: &str, version: &str, extra: &str) -> String {
    let provider = workspace.provider_block_with("  max_retries = 1\n").replace(&emulator.endpoint(), endpoint);
    let network = two_zone_network(NAME);
    format!(
        r#"{provider}
{network}

resource "retool_deployment" "app" {{
  name           = "{NAME}"
  network_id     = retool_network.net.id
  retool_version = "3.148.0-stable"
  domain         = "retool.dbup.test"
  node_group {{
    instance_type = "m5.large"
    min_size      = 1
    desired_size  = 1
    max_size      = 2
  }}
  database {{
    engine_version      = "{version}"
    deletion_protection = false
    skip_final_snapshot = false
{extra}  }}
}}
"#
    )
}

async fn instance(rds: &Rds) -> aws_sdk_rds::types::DbInstance {
    let described =
        rds.describe_db_instances().db_instance_identifier(INSTANCE).send().await.expect("DescribeDBInstances");
    described.db_instances().first().cloned().expect("the database instance")
}

/// Position of the first RDS call `action` in `calls`.
fn first(calls: &[ProxiedRequest], action: &str) -> usize {
    calls.iter().position(|call| call.service == "rds" && call.action == action).unwrap_or_else(|| {
        let rds: Vec<&str> = calls.iter().filter(|c| c.service == "rds").map(|c| c.action.as_str()).collect();
        panic!("no {action} in {rds:#?}")
    })
}

/// Whether KMS key `key` (as RDS reports it) is scheduled for deletion.
async fn pending_deletion(kms: &Kms, key: &str) -> bool {
    let described = kms.describe_key().key_id(key).send().await.expect("DescribeKey");
    described.key_metadata().and_then(|m| m.key_state()) == Some(&KeyState::PendingDeletion)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn a_major_upgrade_snapshots_first_windows_reach_rds_and_destroy_keeps_the_key_of_what_it_keeps() {
    let toolchain = acceptance_toolchain("database_upgrade");
    let emulator = Emulator::start(&toolchain);
    let proxy = FaultProxy::start(&toolchain, &emulator, &["--rate", "0"]);
    let sdk = sdk_config(&emulator.endpoint());
    let (rds, kms) = (Rds::new(&sdk), Kms::new(&sdk));
    let workspace = Workspace::new(&toolchain, &emulator);
    workspace.start_cluster(&[NAME]).await;
    let terraform = workspace.terraform();
    let write = |version: &str, extra: &str| {
        workspace.write_main(&config(&emulator, &workspace, proxy.endpoint(), version, extra));
    };

    // Created on 15.
    write("15", "");
    terraform.init().await.expect("init");
    terraform.apply().await.expect("create on 15");
    assert_eq!(instance(&rds).await.engine_version().map(|v| v.split('.').next()), Some(Some("15")));
    terraform.plan().await.expect("plan after create").assert_empty("plan after create");

    // 15 → 16: announced at plan; the snapshot is taken and available before the upgrade.
    write("16", "");
    let planned = terraform.run(&["plan", "-json", "-input=false", "-no-color", "-lock=false"]).await;
    assert!(
        planned.stdout.contains("PostgreSQL major upgrade 15 → 16") && planned.stdout.contains("before-postgres16"),
        "the plan announces the snapshot and the upgrade:\n{planned}"
    );
    let mark = proxy.requests().len();
    let upgraded = terraform.apply().await.expect("upgrade to 16");
    let calls: Vec<ProxiedRequest> = proxy.requests().into_iter().skip(mark).collect();
    let (snapshot_call, modify_call) = (first(&calls, "CreateDBSnapshot"), first(&calls, "ModifyDBInstance"));
    assert!(snapshot_call < modify_call, "the snapshot is taken before the ModifyDBInstance");
    let output = format!("{}{}", upgraded.stdout, upgraded.stderr);
    assert!(
        output.contains("Left in your AWS account") && output.contains(SNAPSHOT) && output.contains(INSTANCE),
        "the apply warns about the snapshot it took:\n{upgraded}"
    );
    let snapshots = rds.describe_db_snapshots().db_snapshot_identifier(SNAPSHOT).send().await.expect("snapshot");
    let snapshot = snapshots.db_snapshots().first().expect("the pre-upgrade snapshot");
    assert_eq!(snapshot.status(), Some("available"));
    assert!(snapshot.engine_version().is_some_and(|v| v.starts_with("15")), "taken on 15: {snapshot:?}");
    let db = instance(&rds).await;
    assert!(db.engine_version().is_some_and(|v| v == "16" || v.starts_with("16.")), "runs 16.x: {db:?}");
    let group = db.db_parameter_groups().first().and_then(|g| g.db_parameter_group_name()).expect("a group");
    assert_eq!(group, "dbup-postgres16");
    let groups = rds.describe_db_parameter_groups().db_parameter_group_name(group).send().await.expect("group");
    assert_eq!(groups.db_parameter_groups().first().and_then(|g| g.db_parameter_group_family()), Some("postgres16"));
    let parameters = rds.describe_db_parameters().db_parameter_group_name(group).send().await.expect("parameters");
    assert!(
        parameters
            .parameters()
            .iter()
            .any(|p| p.parameter_name() == Some("rds.force_ssl") && p.parameter_value() == Some("1")),
        "rds.force_ssl = 1 in {group}"
    );
    terraform.plan().await.expect("plan after upgrade").assert_empty("plan after the upgrade");

    // Windows: applied, read back, and then no change to plan.
    let windows = "    maintenance_window = \"sun:05:00-sun:06:00\"\n    backup_window      = \"03:00-03:30\"\n";
    write("16", windows);
    terraform.apply().await.expect("set the windows");
    let db = instance(&rds).await;
    assert_eq!(
        (db.preferred_maintenance_window(), db.preferred_backup_window()),
        (Some("sun:05:00-sun:06:00"), Some("03:00-03:30"))
    );
    terraform.plan().await.expect("plan after windows").assert_empty("plan after setting the windows");

    // Destroy keeps the final and pre-upgrade snapshots and the automated backups: none of them
    // may be left behind a key scheduled for deletion.
    let destroyed = terraform.destroy().await.expect("destroy");
    assert!(rds.describe_db_instances().send().await.expect("instances").db_instances().is_empty());
    let snapshots = rds.describe_db_snapshots().snapshot_type("manual").send().await.expect("DescribeDBSnapshots");
    let kept: Vec<(&str, &str)> = snapshots
        .db_snapshots()
        .iter()
        .map(|s| (s.db_snapshot_identifier().unwrap_or_default(), s.kms_key_id().unwrap_or_default()))
        .collect();
    assert!(kept.iter().any(|(id, _)| *id == SNAPSHOT), "the pre-upgrade snapshot is kept: {kept:?}");
    assert!(kept.iter().any(|(id, _)| id.starts_with("dbup-postgres-final-")), "the final snapshot: {kept:?}");
    let backups = rds.describe_db_instance_automated_backups().send().await.expect("automated backups");
    let retained: Vec<(&str, &str)> = backups
        .db_instance_automated_backups()
        .iter()
        .filter(|b| b.status() == Some("retained"))
        .map(|b| (b.db_instance_automated_backups_arn().unwrap_or_default(), b.kms_key_id().unwrap_or_default()))
        .collect();
    assert!(!retained.is_empty(), "RDS retains the automated backups when a final snapshot is taken");
    for (what, key) in kept.iter().chain(&retained) {
        assert!(!key.is_empty(), "{what} is encrypted");
        assert!(
            !pending_deletion(&kms, key).await,
            "{what} is encrypted with key {key}, which is scheduled for deletion"
        );
    }
    let output = format!("{}{}", destroyed.stdout, destroyed.stderr);
    let key = kept.first().map(|(_, key)| *key).unwrap_or_default();
    assert!(output.contains(key), "the destroy names the key it kept:\n{destroyed}");
}
