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

    /// How many requests ended each way so far (`forwarded`, `throttled`, `5xx`, `refused`, …).
    pub fn outcomes(&self) -> BTreeMap<String, usize> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let mut counts = BTreeMap::new();
        for outcome in text.lines().filter_map(|line| line.rsplit(' ').next()) {
            *counts.entry(outcome.to_owned()).or_insert(0) += 1;
        }
        counts
    }

    /// The requests of one action, with their outcome.
    pub fn requests_of(&self, action: &str) -> Vec<String> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines().filter(|line| line.split(' ').nth(1) == Some(action)).map(str::to_owned).collect()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
