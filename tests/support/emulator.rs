//! One private emulator per test (`scripts/emulator`: moto's server plus the test doubles of
//! docs/testing.md), on a loopback port the kernel picks.
//!
//! It is started with `-p 0`, so the kernel assigns a free port atomically and moto reports it
//! in its "Running on" line: no probe-then-bind race between parallel tests. Its output is
//! drained continuously (a full pipe would stall the server) and kept for failure messages.
//! Dropping the [`Emulator`] kills the server, so a panicking test leaves nothing running.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::toolchain::{Toolchain, VENV_VARIABLE};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(90);

pub struct Emulator {
    child: Child,
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
    python: PathBuf,
    s3_script: PathBuf,
    venv: PathBuf,
}

impl Emulator {
    /// Starts moto and returns once it accepts connections. Panics with moto's output if it
    /// does not come up.
    pub fn start(toolchain: &Toolchain) -> Self {
        let launcher = toolchain.script("emulator");
        let mut child = Command::new(toolchain.python())
            .arg(&launcher)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .env("PYTHONUNBUFFERED", "1")
            // AWS managed policies (AmazonEKS*) exist only when moto loads them.
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", launcher.display()));

        let log = Arc::new(Mutex::new(Vec::new()));
        let (port_sender, port_receiver) = mpsc::channel();
        for stream in [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
            child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let log = Arc::clone(&log);
            let port_sender = port_sender.clone();
            std::thread::spawn(move || drain(stream, &log, &port_sender));
        }
        drop(port_sender);

        let mut emulator = Self {
            child,
            port: 0,
            log,
            python: toolchain.python(),
            s3_script: toolchain.script("s3"),
            venv: toolchain.venv.clone(),
        };
        emulator.port = match port_receiver.recv_timeout(STARTUP_TIMEOUT) {
            Ok(port) => port,
            Err(_) => panic!(
                "the emulator did not report its port within {STARTUP_TIMEOUT:?}; output:\n{}",
                emulator.output()
            ),
        };
        emulator.wait_until_listening();
        emulator
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`, the endpoint of every AWS service the emulator offers.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Everything moto printed so far (request log and errors).
    pub fn output(&self) -> String {
        self.log.lock().map(|lines| lines.join("\n")).unwrap_or_default()
    }

    /// A position in moto's request log, for counting requests made after it.
    pub fn log_mark(&self) -> usize {
        self.log.lock().map(|lines| lines.len()).unwrap_or_default()
    }

    /// Requests to the AWS query APIs (EC2, STS, IAM: `POST /`) logged after `mark`. Terraform's
    /// S3 backend addresses buckets by path, so its requests are never counted here.
    pub fn query_api_requests_since(&self, mark: usize) -> Vec<String> {
        self.log
            .lock()
            .map(|lines| lines.iter().skip(mark).filter(|line| line.contains("\"POST / HTTP")).cloned().collect())
            .unwrap_or_default()
    }

    /// Waits (up to 10 s) until moto has logged `count` query-API requests after `mark`: its log
    /// lines arrive on a reader thread, a little after the answer, so a test that calls AWS itself
    /// must wait for its own request to be logged before it takes a mark that excludes it.
    pub fn wait_for_query_api_requests(&self, mark: usize, count: usize) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while self.query_api_requests_since(mark).len() < count {
            assert!(std::time::Instant::now() < deadline, "moto never logged {count} request(s) after mark {mark}");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// Creates an S3 bucket (e.g. for Terraform's state) through the S3 API.
    pub fn create_bucket(&self, bucket: &str) {
        self.s3(&["create-bucket", bucket]);
    }

    /// Keys of every object in `bucket`, through the S3 API.
    pub fn list_keys(&self, bucket: &str) -> Vec<String> {
        let stdout = self.s3(&["list-keys", bucket]);
        serde_json::from_str(&stdout).unwrap_or_else(|error| panic!("scripts/s3 printed {stdout:?}: {error}"))
    }

    /// The body of an object, through the S3 API.
    pub fn get_object(&self, bucket: &str, key: &str) -> String {
        self.s3(&["get-object", bucket, key])
    }

    /// Writes an object, through the S3 API.
    pub fn put_object(&self, bucket: &str, key: &str, body: &str) {
        self.s3_with_input(&["put-object", bucket, key], body);
    }

    /// Deletes an object, through the S3 API.
    pub fn delete_object(&self, bucket: &str, key: &str) {
        self.s3(&["delete-object", bucket, key]);
    }

    fn s3(&self, arguments: &[&str]) -> String {
        self.s3_with_input(arguments, "")
    }

    fn s3_with_input(&self, arguments: &[&str], input: &str) -> String {
        let endpoint = self.endpoint();
        let mut child = Command::new(&self.python)
            .arg(&self.s3_script)
            .args(["--endpoint", &endpoint])
            .args(arguments)
            .env(VENV_VARIABLE, &self.venv)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot run scripts/s3: {error}"));
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(input.as_bytes()).expect("write to scripts/s3");
        }
        let output = child.wait_with_output().unwrap_or_else(|error| panic!("scripts/s3 failed: {error}"));
        if !output.status.success() {
            panic!(
                "scripts/s3 {arguments:?} failed ({}):\n{}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn wait_until_listening(&mut self) {
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("moto exited with {status} before listening; output:\n{}", self.output());
            }
            if Instant::now() > deadline {
                panic!("moto did not listen on {address} within {STARTUP_TIMEOUT:?}; output:\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Keeps reading one of moto's output streams, reporting the port from werkzeug's
/// "Running on http://127.0.0.1:PORT" line.
fn drain(stream: Box<dyn Read + Send>, log: &Mutex<Vec<String>>, port_sender: &mpsc::Sender<u16>) {
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else { break };
        if let Some(port) = reported_port(&line) {
            let _ = port_sender.send(port);
        }
        if let Ok(mut lines) = log.lock() {
            lines.push(line);
        }
    }
}

fn reported_port(line: &str) -> Option<u16> {
    let rest = line.split_once("Running on http://127.0.0.1:")?.1;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().filter(|port| *port != 0)
}
