//! Terraform killed with SIGKILL in the middle of an apply, at several points: no answer reaches
//! Terraform, so nothing of the resource being created is in the state, and the S3 lock object is
//! left behind. After `force-unlock`, the next apply must converge — with no duplicate (a second
//! VPC, NAT gateway, cluster, database or live KMS key) and nothing orphaned after destroy.
//!
//! What the killed apply had made but Terraform had not yet recorded (Terraform persists state at
//! the end of an apply and every 20 seconds during one) carries an owner token that no state
//! holds, so the next apply refuses it with an import hint rather than take it over — the rule
//! that keeps two states from sharing an object. The recovery is the operator's explicit import,
//! which the test performs from the hint; after it, apply converges.
//!
//! Kill points covered: while the VPC is made (the network is imported half-made and its zones
//! added by the next apply), while the NAT gateway is made, between `CreateKey` and `CreateAlias`
//! (the key is taken up by its marks), and while the cluster and the database are made (the
//! deployment is imported half-made — from its cluster, or from its key's configuration record
//! when there is no cluster yet — and the next apply makes the rest).
//!
//! The kill point is found by watching a pass-through proxy (`scripts/fault-proxy` with no faults)
//! for the first request of an action; Terraform is killed as soon as that request was forwarded,
//! so its answer may or may not have been read. The provider notices that Terraform is gone and
//! exits on its own. One test kills the provider instead, and Terraform lives on: it reports the
//! plugin's crash, records what finished and releases the lock, and the same recovery follows.

use std::time::{Duration, Instant};

use crate::support::aws::{live_kms_keys, sdk_config};
use crate::support::workspace::{STATE_KEY, network_and_deployment};
use crate::support::{Emulator, FaultProxy, Workspace, acceptance_toolchain};

/// The lock object Terraform's S3 backend writes beside the state (`use_lockfile`).
fn lock_key() -> String {
    format!("{STATE_KEY}.tflock")
}

/// Which process a test kills with SIGKILL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Victim {
    Terraform,
    Provider,
}

/// The process a `/proc/<pid>/stat` line names as `pid`'s parent.
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (command) state ppid ...": the command may hold spaces and parentheses.
    stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()
}

/// The running provider processes descended from `ancestor` (Terraform starts its providers).
fn providers_under(ancestor: u32) -> Vec<u32> {
    let entries = std::fs::read_dir("/proc").expect("read /proc");
    let pids = entries.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok());
    pids.filter(|pid| {
        let exe = std::fs::read_link(format!("/proc/{pid}/exe"));
        exe.is_ok_and(|path| {
            path.file_name().is_some_and(|name| name.to_string_lossy().starts_with("terraform-provider-retool"))
        })
    })
    .filter(|pid| std::iter::successors(Some(*pid), |pid| parent_of(*pid)).any(|up| up == ancestor))
    .collect()
}

/// Applies a network and a deployment named `name`, kills `victim` once the proxy has forwarded
/// the first request whose action starts with `kill_at`, then unlocks and applies again, and
/// checks that exactly one of everything exists, the plan is empty and destroy leaves nothing.
async fn killed_at(test: &str, name: &str, kill_at: &str, victim: Victim) {
    let toolchain = acceptance_toolchain(test);
    let emulator = Emulator::start(&toolchain);
    let proxy = FaultProxy::start(&toolchain, &emulator, &["--rate", "0"]);
    let workspace = Workspace::new(&toolchain, &emulator);
    workspace.start_cluster(&[name]).await;
    let provider = workspace.provider_block().replace(&emulator.endpoint(), proxy.endpoint());
    workspace.write_main(&format!("{provider}\n{}", network_and_deployment(name)));
    let terraform = workspace.terraform();
    terraform.init().await.expect("init");

    let mut apply = terraform.spawn(&["apply", "-input=false", "-no-color", "-auto-approve"]);
    let deadline = Instant::now() + Duration::from_secs(300);
    while !proxy.requests().iter().any(|request| request.action.starts_with(kill_at)) {
        assert!(Instant::now() < deadline, "no {kill_at} request within 300 s: {:?}", proxy.outcomes());
        if let Ok(Some(status)) = apply.try_wait() {
            panic!("apply ended ({status}) before any {kill_at} request");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    match victim {
        Victim::Terraform => apply.start_kill().expect("kill -9 terraform"),
        Victim::Provider => {
            let providers = providers_under(apply.id().expect("terraform is running"));
            assert!(!providers.is_empty(), "no provider process under terraform");
            for pid in providers {
                let killed = std::process::Command::new("kill").args(["-9", &pid.to_string()]).status();
                assert!(killed.is_ok_and(|status| status.success()), "kill -9 provider {pid}");
            }
        }
    }
    let status = apply.wait().await.expect("reap terraform");
    assert!(!status.success(), "the apply whose {victim:?} was killed at {kill_at} did not fail");

    // The S3 lock outlives a killed Terraform; force-unlock is the documented way out.
    if emulator.list_keys(workspace.bucket()).contains(&lock_key()) {
        let lock: serde_json::Value =
            serde_json::from_str(&emulator.get_object(workspace.bucket(), &lock_key())).expect("lock object is JSON");
        let id = lock["ID"].as_str().expect("lock ID").to_owned();
        terraform.succeed(&["force-unlock", "-force", &id]).await.expect("force-unlock");
    }

    // What the killed apply made but Terraform never recorded carries an owner token no state
    // holds: the next apply refuses it with an import hint, and the import is the explicit way
    // to take it back — followed here as the operator would, one refusal at a time.
    let mut imported = Vec::new();
    loop {
        let output = terraform.run(&["apply", "-input=false", "-no-color", "-auto-approve"]).await;
        if output.code == 0 {
            break;
        }
        let (address, id) =
            import_hint(&output.stderr).unwrap_or_else(|| panic!("apply after a kill at {kill_at} failed:\n{output}"));
        assert!(!imported.contains(&address), "{address} refused again after its import:\n{output}");
        terraform.import(&address, &id).await.unwrap_or_else(|error| panic!("import {address} {id}: {error}"));
        imported.push(address);
    }
    let config = sdk_config(&emulator.endpoint());
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let vpcs = ec2.describe_vpcs().send().await.expect("DescribeVpcs");
    let ours: Vec<_> = vpcs.vpcs().iter().filter(|vpc| !vpc.is_default().unwrap_or(false)).collect();
    assert_eq!(ours.len(), 1, "one VPC after a kill at {kill_at}: {ours:?}");
    let nats = ec2.describe_nat_gateways().send().await.expect("DescribeNatGateways");
    let live_nats: Vec<_> = nats
        .nat_gateways()
        .iter()
        .filter(|nat| !matches!(nat.state().map(|state| state.as_str()), Some("deleted" | "deleting" | "failed")))
        .collect();
    assert_eq!(live_nats.len(), 1, "one NAT gateway (single) after a kill at {kill_at}: {live_nats:?}");
    let addresses = ec2.describe_addresses().send().await.expect("DescribeAddresses");
    assert_eq!(addresses.addresses().len(), 1, "one Elastic IP after a kill at {kill_at}");
    let eks = aws_sdk_eks::Client::new(&config);
    let clusters = eks.list_clusters().send().await.expect("ListClusters");
    assert_eq!(clusters.clusters(), [name], "one cluster after a kill at {kill_at}");
    let rds = aws_sdk_rds::Client::new(&config);
    let instances = rds.describe_db_instances().send().await.expect("DescribeDBInstances");
    assert_eq!(instances.db_instances().len(), 1, "one database after a kill at {kill_at}");
    let kms = aws_sdk_kms::Client::new(&config);
    assert_eq!(live_kms_keys(&kms).await.len(), 1, "one live KMS key after a kill at {kill_at}");
    terraform.plan().await.expect("plan").assert_empty(&format!("plan after recovering from a kill at {kill_at}"));

    terraform.destroy().await.expect("destroy");
    let vpcs = ec2.describe_vpcs().send().await.expect("DescribeVpcs");
    assert!(vpcs.vpcs().iter().all(|vpc| vpc.is_default().unwrap_or(false)), "destroy left a VPC");
    assert!(eks.list_clusters().send().await.expect("ListClusters").clusters().is_empty(), "destroy left a cluster");
    assert!(live_kms_keys(&kms).await.is_empty(), "destroy left a live KMS key");
}

/// The resource address and import id of an ownership refusal: the address from Terraform's
/// `with retool_x.name,` line, the id from the provider's `terraform import retool_x.<name> ID`.
fn import_hint(stderr: &str) -> Option<(String, String)> {
    let address = stderr.lines().find_map(|line| line.trim().strip_prefix("with ")?.strip_suffix(','))?;
    let id = stderr.lines().find_map(|line| {
        let (_, id) = line.trim().strip_prefix("terraform import ")?.split_once(' ')?;
        Some(id.trim())
    })?;
    Some((address.to_owned(), id.to_owned()))
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn killed_while_the_key_is_made() {
    killed_at("killed_while_the_key_is_made", "kkey", "CreateKey", Victim::Terraform).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn killed_while_the_vpc_is_made() {
    killed_at("killed_while_the_vpc_is_made", "kvpc", "CreateVpc", Victim::Terraform).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn killed_while_the_nat_gateway_is_made() {
    killed_at("killed_while_the_nat_gateway_is_made", "knat", "CreateNatGateway", Victim::Terraform).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn killed_while_the_cluster_is_made() {
    // EKS is a REST API: the proxy names its CreateCluster by method and path.
    killed_at("killed_while_the_cluster_is_made", "kcluster", "POST:/clusters", Victim::Terraform).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn killed_while_the_database_is_made() {
    killed_at("killed_while_the_database_is_made", "kdb", "CreateDBInstance", Victim::Terraform).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs TF_ACC=1 and the test venv (moto, Terraform): run `make test`"]
async fn provider_killed_while_the_database_is_made() {
    killed_at("provider_killed_while_the_database_is_made", "pkdb", "CreateDBInstance", Victim::Provider).await;
}
