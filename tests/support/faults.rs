//! The fault-injecting proxy (`scripts/fault-proxy`, a test double) in front of a test's emulator:
//! the provider's AWS endpoints point at it, and it answers a seeded fraction of requests with each
//! service's throttling error, a 5xx, or a refusal, forwarding the rest to moto unchanged.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use super::{Emulator, Toolchain};

/// A running proxy; killed on drop.
pub struct FaultProxy {
    child: Child,
    endpoint: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl FaultProxy {
    /// Starts `scripts/fault-proxy ARGS <emulator> <log>` and waits for its address.
    pub fn start(toolchain: &Toolchain, emulator: &Emulator, args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("requests.log");
        let mut child = Command::new(toolchain.python())
            .arg(toolchain.script("fault-proxy"))
            .args(args)
            .arg(emulator.endpoint())
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start scripts/fault-proxy");
        let stdout = child.stdout.take().expect("proxy stdout");
        let mut first = String::new();
        BufReader::new(stdout).read_line(&mut first).expect("proxy address");
        let endpoint = first
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("fault-proxy did not start: {first:?}"))
            .to_owned();
        Self { child, endpoint, log, _dir: dir }
    }

    /// The URL to give the provider instead of the emulator's.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Every request so far, in order (with `--log-digests`, each with its digest).
    pub fn requests(&self) -> Vec<ProxiedRequest> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .filter_map(|line| {
                let mut fields = line.split(' ').map(str::to_owned);
                Some(ProxiedRequest {
                    service: fields.next()?,
                    action: fields.next()?,
                    outcome: fields.next()?,
                    digest: fields.next(),
                })
            })
            .collect()
    }

    /// How many requests ended each way so far (`forwarded`, `throttled`, `5xx`, `refused`, …).
    pub fn outcomes(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for request in self.requests() {
            *counts.entry(request.outcome).or_insert(0) += 1;
        }
        counts
    }

    /// The requests of one action, as `service action outcome`.
    pub fn requests_of(&self, action: &str) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|request| request.action == action)
            .map(|request| format!("{} {} {}", request.service, request.action, request.outcome))
            .collect()
    }
}

/// One line of the proxy's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxiedRequest {
    /// The SigV4 service, e.g. `ec2`.
    pub service: String,
    /// The action, e.g. `DescribeVpcs` (`GET:/clusters/x` for REST services).
    pub action: String,
    /// `forwarded` or the fault.
    pub outcome: String,
    /// Method, path and body digest (with `--log-digests`): equal for requests that ask the same.
    pub digest: Option<String>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
