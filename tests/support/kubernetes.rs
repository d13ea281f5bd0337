//! A real Kubernetes control plane per test: etcd, kube-apiserver and kube-controller-manager on
//! loopback ports, started from the binaries `scripts/kubernetes-test-server` builds (Kubernetes
//! 1.20.2 from Debian's source package; see the README's prerequisites).
//!
//! Why a real server: what the provider does on the cluster — server-side apply with a field
//! manager, conflicts, validation, discovery of API versions, and rollouts driven by the real
//! deployment controller — is what a test double would get wrong. There is no kubelet: the fake one
//! of [`super::kubelet`] binds pods and reports them ready (or failing) so the controllers run their
//! real logic.
//!
//! The API server trusts two kinds of bearer tokens: a static admin token (group `system:masters`)
//! for the test itself, and EKS tokens, which it sends to the emulator's authenticator (a token
//! webhook, scripts/emulator_ext/eks_access.py) — so the provider's tokens are checked as EKS would,
//! against the cluster's access entries. Its serving certificate is self-signed (`--cert-dir`); the
//! CA a client must trust is [`KubernetesServer::ca_pem`], also written to a file.
//!
//! Everything lives in a temporary directory and dies with the [`KubernetesServer`]: Drop kills the
//! three processes, waits for them and removes the directory. Ports are picked by binding port 0 and
//! releasing it; a start that loses the port to another test is retried.

use std::fs::File;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kube::api::{Api, DynamicObject, GetParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::json;

/// Environment variable naming the directory with kube-apiserver, kube-controller-manager and etcd
/// (`make test` sets it from `scripts/kubernetes-test-server`).
pub const KUBERNETES_BIN_VARIABLE: &str = "RETOOL_KUBERNETES_BIN";
/// The API server's `/readyz` within this time of its start, or the start failed (~6 s measured).
const READY_TIMEOUT: Duration = Duration::from_secs(90);
const START_ATTEMPTS: usize = 3;
/// The user of the static admin token.
pub const ADMIN_USER: &str = "test-admin";

/// What a test asks of its Kubernetes server.
#[derive(Debug, Clone)]
pub struct KubernetesOptions {
    /// The emulator (`http://127.0.0.1:PORT`) whose authenticator checks EKS bearer tokens.
    pub emulator_endpoint: String,
    /// The EKS cluster whose access entries grant access (the `x-k8s-aws-id` tokens must carry),
    /// or several joined by `+` when one server stands for the clusters of several deployments.
    pub cluster_name: String,
}

impl KubernetesOptions {
    /// Options for the EKS cluster `cluster_name` of the emulator at `emulator_endpoint`.
    pub fn new(emulator_endpoint: &str, cluster_name: &str) -> Self {
        Self { emulator_endpoint: emulator_endpoint.to_owned(), cluster_name: cluster_name.to_owned() }
    }
}

/// etcd + kube-apiserver + kube-controller-manager, running until dropped.
pub struct KubernetesServer {
    processes: Vec<(&'static str, Child)>,
    url: String,
    ca_pem: String,
    ca_file: PathBuf,
    admin_token: String,
    /// Set once the server has written its CA.
    client: Option<kube::Client>,
    started_in: Duration,
    // Last: removed after the processes are gone.
    dir: tempfile::TempDir,
}

impl KubernetesServer {
    /// Starts the control plane and returns once `/readyz` answers `ok` and the External Secrets
    /// Operator's CRDs are served ([`external_secrets_crds`]). Panics with the processes' output
    /// if it does not come up.
    pub async fn start(options: &KubernetesOptions) -> Self {
        let bin = binaries();
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            match Self::try_start(&bin, options).await {
                Ok(server) => {
                    server.install_external_secrets_crds().await;
                    return server;
                }
                // Another test took a port between our probe and the process's bind: try new ports.
                Err(failure) if failure.contains("address already in use") => failures.push(failure),
                Err(failure) => panic!("the Kubernetes test server did not start:\n{failure}"),
            }
        }
        panic!("the Kubernetes test server lost its ports {START_ATTEMPTS} times:\n{}", failures.join("\n---\n"))
    }

    async fn try_start(bin: &Path, options: &KubernetesOptions) -> Result<Self, String> {
        let started = Instant::now();
        let dir = tempfile::Builder::new()
            .prefix("kubernetes-test-server.")
            .tempdir()
            .map_err(|error| format!("cannot create a temporary directory: {error}"))?;
        let path = dir.path().to_path_buf();
        let [etcd_client, etcd_peer, secure_port] = free_ports();
        let admin_token = uuid::Uuid::new_v4().simple().to_string();

        write(&path.join("tokens.csv"), &format!("{admin_token},{ADMIN_USER},{ADMIN_USER},\"system:masters\"\n"));
        let service_account_key =
            rcgen::KeyPair::generate().map_err(|error| format!("cannot generate the service-account key: {error}"))?;
        write(&path.join("service-account.key"), &service_account_key.serialize_pem());
        // 1.20 reads public keys only from this file (not a PKCS#8 private key).
        write(&path.join("service-account.pub"), &service_account_key.public_key_pem());
        let authenticator = format!(
            "{}/_test/eks/authenticate/{}",
            options.emulator_endpoint.trim_end_matches('/'),
            options.cluster_name
        );
        write(&path.join("webhook.kubeconfig"), &webhook_kubeconfig(&authenticator));

        let mut server = Self {
            processes: Vec::new(),
            url: format!("https://127.0.0.1:{secure_port}"),
            ca_pem: String::new(),
            ca_file: path.join("ca.crt"),
            admin_token,
            client: None,
            started_in: Duration::ZERO,
            dir,
        };
        let etcd_client_url = format!("http://127.0.0.1:{etcd_client}");
        let etcd_peer_url = format!("http://127.0.0.1:{etcd_peer}");
        server.spawn(
            "etcd",
            Command::new(bin.join("etcd")).args([
                "--name=test".to_owned(),
                format!("--data-dir={}", path.join("etcd").display()),
                format!("--listen-client-urls={etcd_client_url}"),
                format!("--advertise-client-urls={etcd_client_url}"),
                format!("--listen-peer-urls={etcd_peer_url}"),
                format!("--initial-advertise-peer-urls={etcd_peer_url}"),
                format!("--initial-cluster=test={etcd_peer_url}"),
            ]),
        )?;
        server.spawn(
            "kube-apiserver",
            Command::new(bin.join("kube-apiserver")).args([
                format!("--etcd-servers={etcd_client_url}"),
                "--bind-address=127.0.0.1".to_owned(),
                "--advertise-address=127.0.0.1".to_owned(),
                format!("--secure-port={secure_port}"),
                "--insecure-port=0".to_owned(),
                format!("--cert-dir={}", path.join("certs").display()),
                format!("--token-auth-file={}", path.join("tokens.csv").display()),
                format!("--authentication-token-webhook-config-file={}", path.join("webhook.kubeconfig").display()),
                "--authentication-token-webhook-version=v1".to_owned(),
                // Every request asks the authenticator: a removed access entry counts at once.
                "--authentication-token-webhook-cache-ttl=0s".to_owned(),
                "--authorization-mode=RBAC".to_owned(),
                "--service-cluster-ip-range=10.0.0.0/24".to_owned(),
                "--service-account-issuer=https://kubernetes.default.svc".to_owned(),
                format!("--service-account-key-file={}", path.join("service-account.pub").display()),
                format!("--service-account-signing-key-file={}", path.join("service-account.key").display()),
                "--disable-admission-plugins=ServiceAccount".to_owned(),
                "--allow-privileged=true".to_owned(),
                "--endpoint-reconciler-type=none".to_owned(),
            ]),
        )?;

        server.ca_pem = server.wait_for_ca().await?;
        write(&server.ca_file, &server.ca_pem);
        let kubeconfig = path.join("admin.kubeconfig");
        write(&kubeconfig, &admin_kubeconfig(&server.url, &server.ca_file, &server.admin_token));
        server.client = Some(client_from(&kubeconfig).await?);
        server.wait_until_ready().await?;

        server.spawn(
            "kube-controller-manager",
            Command::new(bin.join("kube-controller-manager")).args([
                format!("--kubeconfig={}", kubeconfig.display()),
                "--controllers=deployment,replicaset,garbagecollector,namespace".to_owned(),
                "--leader-elect=false".to_owned(),
                "--port=0".to_owned(),
                "--secure-port=0".to_owned(),
            ]),
        )?;
        server.started_in = started.elapsed();
        Ok(server)
    }

    /// `https://127.0.0.1:PORT`, the API server.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The CA (PEM) that signed the API server's serving certificate: what a client must trust.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The file holding [`Self::ca_pem`].
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// The static admin token (user `test-admin`, group `system:masters`) of the test itself.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// A client of the admin.
    pub fn client(&self) -> kube::Client {
        self.client.clone().expect("the client exists once the server started")
    }

    /// How long the start took, until `/readyz` and the controller manager's launch.
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// Resident memory of each process (name, KiB), from /proc.
    pub fn memory_kib(&self) -> Vec<(&'static str, u64)> {
        self.processes.iter().map(|(name, child)| (*name, resident_kib(child.id()))).collect()
    }

    /// What each process printed so far (the last 60 lines each), for failure messages.
    pub fn output(&self) -> String {
        self.processes
            .iter()
            .map(|(name, _)| {
                let log = std::fs::read_to_string(self.dir.path().join(format!("{name}.log"))).unwrap_or_default();
                let lines: Vec<&str> = log.lines().collect();
                let tail = lines.get(lines.len().saturating_sub(60)..).unwrap_or_default().join("\n");
                format!("== {name} ==\n{tail}")
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Creates [`external_secrets_crds`] and waits until the server serves them (`Established`).
    async fn install_external_secrets_crds(&self) {
        let resource =
            ApiResource::from_gvk(&GroupVersionKind::gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"));
        let api: Api<DynamicObject> = Api::all_with(self.client(), &resource);
        let crds = external_secrets_crds();
        for crd in &crds {
            let object: DynamicObject = serde_json::from_value(crd.clone()).expect("a CRD object");
            let name = object.metadata.name.clone().unwrap_or_default();
            api.create(&PostParams::default(), &object)
                .await
                .unwrap_or_else(|error| panic!("cannot create the CRD {name}: {error}"));
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        for crd in &crds {
            let name = crd["metadata"]["name"].as_str().unwrap_or_default();
            loop {
                let found = api.get(name).await.ok().map(|crd| crd.data["status"]["conditions"].clone());
                let established =
                    found.and_then(|conditions| conditions.as_array().cloned()).is_some_and(|conditions| {
                        conditions
                            .iter()
                            .any(|condition| condition["type"] == "Established" && condition["status"] == "True")
                    });
                if established {
                    break;
                }
                assert!(Instant::now() < deadline, "the CRD {name} was not established within 60 s");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    fn spawn(&mut self, name: &'static str, command: &mut Command) -> Result<(), String> {
        let log_path = self.dir.path().join(format!("{name}.log"));
        let log = File::create(&log_path).map_err(|error| format!("cannot create {}: {error}", log_path.display()))?;
        let log_err = log.try_clone().map_err(|error| format!("cannot share {}: {error}", log_path.display()))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .spawn()
            .map_err(|error| format!("cannot start {name} ({:?}): {error}", command.get_program()))?;
        self.processes.push((name, child));
        Ok(())
    }

    /// Fails with the output when a process has exited.
    fn check_running(&mut self) -> Result<(), String> {
        let exited: Vec<String> = self
            .processes
            .iter_mut()
            .filter_map(|(name, child)| match child.try_wait() {
                Ok(Some(status)) => Some(format!("{name} exited with {status}")),
                _ => None,
            })
            .collect();
        if exited.is_empty() { Ok(()) } else { Err(format!("{}\n{}", exited.join("; "), self.output())) }
    }

    /// The CA the API server generated with its self-signed serving certificate: the last
    /// certificate of `apiserver.crt` in its `--cert-dir` (serving certificate, then its CA).
    async fn wait_for_ca(&mut self) -> Result<String, String> {
        let certificate = self.dir.path().join("certs").join("apiserver.crt");
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            self.check_running()?;
            if let Ok(pem) = std::fs::read_to_string(&certificate) {
                let blocks: Vec<&str> = pem.split_inclusive("-----END CERTIFICATE-----\n").collect();
                if pem.ends_with("-----END CERTIFICATE-----\n")
                    && let Some(last) = blocks.last()
                {
                    return Ok(last.trim_start().to_owned());
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "kube-apiserver wrote no {} in {READY_TIMEOUT:?}\n{}",
                    certificate.display(),
                    self.output()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn wait_until_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            self.check_running()?;
            let request = kube::core::Request::new("")
                .get("readyz", &GetParams::default())
                .map_err(|error| format!("cannot build the /readyz request: {error}"))?;
            let last = match self.client().request_text(request).await {
                Ok(body) if body.trim() == "ok" => return Ok(()),
                Ok(body) => body,
                Err(error) => error.to_string(),
            };
            if Instant::now() > deadline {
                return Err(format!("kube-apiserver not ready in {READY_TIMEOUT:?} (last: {last})\n{}", self.output()));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for KubernetesServer {
    fn drop(&mut self) {
        // Controller manager first, etcd last, so none logs the others' disappearance for long.
        for (_, child) in self.processes.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The directory with the binaries: `RETOOL_KUBERNETES_BIN`, else what `scripts/kubernetes-test-server`
/// prints (at once when its cache is built; it builds otherwise, 15 to 20 minutes).
fn binaries() -> PathBuf {
    if let Some(dir) = std::env::var_os(KUBERNETES_BIN_VARIABLE) {
        return PathBuf::from(dir);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts").join("kubernetes-test-server");
    let output = Command::new(&script)
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", script.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let dir = stdout.lines().last().unwrap_or_default().trim().to_owned();
    assert!(
        output.status.success() && !dir.is_empty(),
        "{} failed ({}); set {KUBERNETES_BIN_VARIABLE} to a directory with kube-apiserver, \
         kube-controller-manager and etcd, or run the script to see why",
        script.display(),
        output.status
    );
    PathBuf::from(dir)
}

fn free_ports<const N: usize>() -> [u16; N] {
    // All bound at once, so the N ports differ; released on return for the processes to bind.
    let listeners: Vec<TcpListener> =
        (0..N).map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a loopback port")).collect();
    std::array::from_fn(|index| listeners[index].local_addr().expect("a bound port").port())
}

fn write(path: &Path, contents: &str) {
    std::fs::write(path, contents).unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
}

fn resident_kib(pid: u32) -> u64 {
    let mut status = String::new();
    let _ = File::open(format!("/proc/{pid}/status")).and_then(|mut file| file.read_to_string(&mut status));
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

/// The API server's token webhook: the emulator's authenticator, over plain HTTP on loopback.
fn webhook_kubeconfig(authenticator: &str) -> String {
    json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "eks-authenticator", "cluster": {"server": authenticator}}],
        "users": [{"name": "kube-apiserver", "user": {}}],
        "contexts": [{"name": "webhook", "context": {"cluster": "eks-authenticator", "user": "kube-apiserver"}}],
        "current-context": "webhook",
    })
    .to_string()
}

/// A kubeconfig of the admin (JSON is YAML): for the controller manager and the test's client.
fn admin_kubeconfig(url: &str, ca_file: &Path, token: &str) -> String {
    json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "test", "cluster": {"server": url, "certificate-authority": ca_file}}],
        "users": [{"name": ADMIN_USER, "user": {"token": token}}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": ADMIN_USER}}],
        "current-context": "test",
    })
    .to_string()
}

async fn client_from(kubeconfig: &Path) -> Result<kube::Client, String> {
    let file =
        Kubeconfig::read_from(kubeconfig).map_err(|error| format!("cannot read {}: {error}", kubeconfig.display()))?;
    let config = kube::Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
        .await
        .map_err(|error| format!("bad kubeconfig {}: {error}", kubeconfig.display()))?;
    kube::Client::try_from(config).map_err(|error| format!("cannot build a client: {error}"))
}

/// The External Secrets Operator's CRDs as the provider would install them — the release file it
/// embeds (`third_party/external-secrets/<version>/bundle.yaml`), each marked with the provider's
/// `managed-by` label and the file's SHA-256, so the provider finds them current and writes none
/// — but for one change: empty-string `default`s are dropped. This Kubernetes 1.20 server refuses
/// them (`default: Invalid value: "null": in body must be of type string`, for the upstream file
/// sent as is), which the API servers of the Kubernetes versions EKS runs accept; the unit tests
/// check the file itself with kubernetes-validate for those versions.
pub fn external_secrets_crds() -> Vec<serde_json::Value> {
    let releases = Path::new(env!("CARGO_MANIFEST_DIR")).join("third_party/external-secrets");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&releases)
        .expect("third_party/external-secrets")
        .filter_map(|entry| entry.ok().map(|entry| entry.path().join("bundle.yaml")))
        .filter(|file| file.is_file())
        .collect();
    assert_eq!(files.len(), 1, "one pinned release of the External Secrets Operator: {files:?}");
    let text = std::fs::read_to_string(files.remove(0)).expect("the CRD file");
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    let sha256: String = digest.as_ref().iter().map(|byte| format!("{byte:02x}")).collect();
    let mut crds = Vec::new();
    for document in serde_yaml_ng::Deserializer::from_str(&text) {
        let mut crd: serde_json::Value = serde::Deserialize::deserialize(document).expect("a YAML document");
        if crd.is_null() {
            continue;
        }
        drop_empty_string_defaults(&mut crd);
        crd["metadata"]["labels"] = json!({"app.kubernetes.io/managed-by": "terraform-provider-retool"});
        crd["metadata"]["annotations"] = json!({"retool.com/source-sha256": sha256});
        crds.push(crd);
    }
    crds
}

fn drop_empty_string_defaults(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            if map.get("default").is_some_and(|default| default.as_str() == Some("")) {
                map.remove("default");
            }
            map.values_mut().for_each(drop_empty_string_defaults);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_empty_string_defaults),
        _ => {}
    }
}
