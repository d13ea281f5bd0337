//! `test-cluster`: the acceptance tests' Kubernetes test cluster as a process of its own, for
//! `make demo` (scripts/demo), which applies an example's deployments outside the test harness.
//!
//! Usage: `test-cluster EMULATOR_ENDPOINT CLUSTERS OUT_DIR`, where CLUSTERS names the EKS clusters
//! the server stands for (several joined by `+`, as [`kubernetes::KubernetesOptions`] takes them).
//! It starts etcd, kube-apiserver and kube-controller-manager (the binaries of
//! `RETOOL_KUBERNETES_BIN`, see `scripts/kubernetes-test-server`) with the fake kubelet, exactly as
//! a test does, then writes `OUT_DIR/ca.pem` and, last, `OUT_DIR/url`: a reader that sees `url`
//! finds both complete. It runs until SIGTERM or SIGINT, or until the process that started it
//! exits (so a killed demo leaves no control plane behind), and removes everything on the way out.
//!
//! The harness code is the tests' own (`tests/support`), included by path, so the demo runs what
//! the tests prove.

// The harness panics on a broken control plane with the processes' output, which is what a demo
// that cannot start its cluster should print.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

// The recorder and the failure controls serve the tests only.
#[allow(dead_code)]
#[path = "../support/kubelet.rs"]
mod kubelet;
#[allow(dead_code)]
#[path = "../support/kubernetes.rs"]
mod kubernetes;

use std::path::PathBuf;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

use kubelet::FakeKubelet;
use kubernetes::{KubernetesOptions, KubernetesServer};

/// How often the tool checks whether the process that started it is still there.
const PARENT_CHECK: Duration = Duration::from_millis(500);

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let [emulator, clusters, out_dir] = arguments.as_slice() else {
        eprintln!("usage: test-cluster EMULATOR_ENDPOINT CLUSTERS OUT_DIR   (CLUSTERS: name[+name...])");
        return std::process::ExitCode::from(2);
    };
    let parent = std::os::unix::process::parent_id();
    let out_dir = PathBuf::from(out_dir);

    let server = KubernetesServer::start(&KubernetesOptions::new(emulator, clusters)).await;
    let kubelet = FakeKubelet::start(server.client()).await;
    std::fs::write(out_dir.join("ca.pem"), server.ca_pem()).expect("write ca.pem");
    std::fs::write(out_dir.join("url"), server.url()).expect("write url");
    eprintln!("test-cluster: {} ready in {} ms for {clusters}", server.url(), server.started_in().as_millis());

    let mut terminate = signal(SignalKind::terminate()).expect("a SIGTERM handler");
    let mut interrupt = signal(SignalKind::interrupt()).expect("a SIGINT handler");
    let mut parent_check = tokio::time::interval(PARENT_CHECK);
    loop {
        tokio::select! {
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
            _ = parent_check.tick() => {
                if std::os::unix::process::parent_id() != parent {
                    eprintln!("test-cluster: the process that started it is gone; stopping");
                    break;
                }
            }
        }
    }
    for error in kubelet.errors() {
        eprintln!("test-cluster: fake kubelet: {error}");
    }
    // Dropped in this order: the kubelet's task, then the control plane and its directory.
    drop(kubelet);
    drop(server);
    std::process::ExitCode::SUCCESS
}
