//! One test's Terraform working directory, wired to that test's emulator.
//!
//! Layout of the temp dir (removed when the workspace is dropped):
//! `provider/` a private copy of the provider binary (other builds may rewrite target/ while tests
//! run), `terraformrc` the CLI config whose `dev_overrides` point Terraform at that copy,
//! `mirror/` the same binary as a filesystem mirror, `config/` the root module (`main.tf`,
//! `.terraform/`), `plugin-cache/`, and empty AWS config files so no profile of the machine's
//! user is read.
//!
//! The mirror exists for `terraform init`: Terraform before 1.15 still asks the registry for a
//! dev-overridden provider during init (and fails offline); with the mirror, init installs it
//! from disk, and every later command runs the `dev_overrides` binary. State lives in the emulator's S3, in a
//! bucket of the workspace's own, with S3-native locking (`use_lockfile`).
//!
//! A workspace made with [`Installation::Mirror`] has no `dev_overrides` and no `provider/` or
//! `mirror/`: its CLI config is the test's own `provider_installation` block, so `terraform init`
//! installs the provider as a user's would, from a release, and writes the lock file.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use tempfile::TempDir;

use super::emulator::Emulator;
use super::kubelet::FakeKubelet;
use super::kubernetes::{KubernetesOptions, KubernetesServer};
use super::release::{PROVIDER_BINARY, VERSION, platform};
use super::terraform::{CommandOutput, Terraform, TerraformError};
use super::toolchain::{Toolchain, VENV_VARIABLE};

/// Where Terraform keeps the state inside the workspace's bucket.
pub const STATE_KEY: &str = "acceptance/terraform.tfstate";

/// The provider's address as `dev_overrides` and `required_providers` name it.
pub const PROVIDER_SOURCE: &str = "retool-byoc/retool";

/// How Terraform finds the provider in a workspace.
pub enum Installation {
    /// `dev_overrides` on a private copy of the debug binary, which also sits in a filesystem
    /// mirror for `init`: what most tests use.
    DevOverrides,
    /// The CLI config is this `provider_installation` block alone (no `dev_overrides`), and
    /// Terraform runs with these extra environment settings (e.g. `SSL_CERT_FILE`).
    Mirror { provider_installation: String, settings: Vec<(String, String)> },
}

pub struct Workspace {
    dir: TempDir,
    bucket: String,
    endpoint: String,
    terraform: Terraform,
    /// The Kubernetes API the deployments' workloads go to, once started.
    cluster: OnceLock<Arc<TestCluster>>,
}

/// A real Kubernetes API server standing for a workspace's EKS clusters, with the fake kubelet
/// that runs its pods.
pub struct TestCluster {
    pub server: KubernetesServer,
    pub kubelet: FakeKubelet,
}

impl TestCluster {
    /// `terraform.tfvars` lines that point an example's `kubernetes_endpoint` and
    /// `kubernetes_ca_certificate` variables at this server (the CA as a quoted HCL string).
    pub fn example_variables(&self) -> String {
        let ca = serde_json::to_string(self.server.ca_pem()).expect("a string is JSON");
        format!("kubernetes_endpoint = \"{}\"\nkubernetes_ca_certificate = {ca}\n", self.server.url())
    }
}

impl Workspace {
    /// Prepares a fresh workspace with its own state bucket in `emulator`, running the debug
    /// binary through `dev_overrides`.
    pub fn new(toolchain: &Toolchain, emulator: &Emulator) -> Self {
        Self::with_installation(toolchain, emulator, Installation::DevOverrides)
    }

    /// Prepares a fresh workspace with its own state bucket in `emulator`, where Terraform finds
    /// the provider as `installation` says.
    pub fn with_installation(toolchain: &Toolchain, emulator: &Emulator, installation: Installation) -> Self {
        static WORKSPACES: AtomicUsize = AtomicUsize::new(0);
        let dir =
            tempfile::Builder::new().prefix("retool-acceptance-").tempdir().expect("create the workspace's temp dir");
        let root = dir.path();
        for sub_dir in [&root.join("config"), &root.join("plugin-cache"), &root.join("aws")] {
            std::fs::create_dir_all(sub_dir).expect("create workspace directories");
        }
        let (cli_config_text, extra_settings) = match installation {
            Installation::DevOverrides => (dev_override_installation(root), Vec::new()),
            Installation::Mirror { provider_installation, settings } => (provider_installation, settings),
        };
        let cli_config = root.join("terraformrc");
        std::fs::write(&cli_config, cli_config_text).expect("write the CLI config");
        for file in ["config", "credentials"] {
            std::fs::write(root.join("aws").join(file), "").expect("write empty AWS config files");
        }

        let bucket = format!("tfstate-{}", WORKSPACES.fetch_add(1, Ordering::Relaxed));
        emulator.create_bucket(&bucket);

        let endpoint = emulator.endpoint();
        let mut settings = environment(toolchain, root, &cli_config, &endpoint);
        settings.extend(extra_settings);
        let terraform = Terraform::new(toolchain.terraform.clone(), root.join("config"), settings);
        Self { dir, bucket, endpoint, terraform, cluster: OnceLock::new() }
    }

    /// Starts the Kubernetes API server (and kubelet) of the deployments named `deployments`
    /// (their EKS clusters have the same names), which every provider block written from now on
    /// points `endpoints.kubernetes` at. A workspace has one; asking again returns it.
    pub async fn start_cluster(&self, deployments: &[&str]) -> &TestCluster {
        if self.cluster.get().is_none() {
            let options = KubernetesOptions::new(&self.endpoint, &deployments.join("+"));
            let server = KubernetesServer::start(&options).await;
            let kubelet = FakeKubelet::start(server.client()).await;
            let _ = self.cluster.set(Arc::new(TestCluster { server, kubelet }));
        }
        self.cluster().expect("the cluster was just started")
    }

    /// Points this workspace's provider blocks at `other`'s Kubernetes API server, if it has one:
    /// a second state that imports or adopts the first one's deployments reaches the same clusters.
    pub fn share_cluster_of(&self, other: &Workspace) {
        if let Some(cluster) = other.cluster.get() {
            let _ = self.cluster.set(Arc::clone(cluster));
        }
    }

    /// The workspace's Kubernetes API server, if started.
    pub fn cluster(&self) -> Option<&TestCluster> {
        self.cluster.get().map(|cluster| cluster.as_ref())
    }

    pub fn terraform(&self) -> &Terraform {
        &self.terraform
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `config/main.tf`: the `terraform` block (S3 backend on the emulator, our provider's
    /// source) followed by `body`.
    pub fn write_main(&self, body: &str) {
        let required_providers =
            format!("  required_providers {{\n    retool = {{\n      source = \"{PROVIDER_SOURCE}\"\n    }}\n  }}\n");
        self.write_main_tf(&required_providers, body);
    }

    /// Like [`Workspace::write_main`] for configurations that use only Terraform's built-in
    /// resources, so the provider binary is never started.
    pub fn write_main_builtin_only(&self, body: &str) {
        self.write_main_tf("", body);
    }

    fn write_main_tf(&self, required_providers: &str, body: &str) {
        let contents = format!("terraform {{\n{required_providers}{}}}\n\n{body}\n", self.backend_block());
        std::fs::write(self.terraform.working_dir().join("main.tf"), contents).expect("write main.tf");
    }

    /// The `backend "s3"` block: this workspace's bucket on the emulator, locked with a lock
    /// object in S3 (`use_lockfile`).
    fn backend_block(&self) -> String {
        let settings: String = self.backend_settings().lines().map(|line| format!("    {line}\n")).collect();
        format!("  backend \"s3\" {{\n    key          = \"{STATE_KEY}\"\n    use_lockfile = true\n{settings}  }}\n")
    }

    /// The S3 backend settings that point at this workspace's bucket on the emulator: what a user
    /// puts in a `-backend-config` file to run an example against an emulator.
    fn backend_settings(&self) -> String {
        let endpoint = &self.endpoint;
        let bucket = &self.bucket;
        format!(
            r#"bucket                      = "{bucket}"
region                      = "us-east-1"
use_path_style              = true
skip_credentials_validation = true
skip_requesting_account_id  = true
skip_metadata_api_check     = true
skip_region_validation      = true
endpoints = {{
  s3 = "{endpoint}"
}}
"#
        )
    }

    /// Writes `backend.tfbackend` (the backend settings of [`Workspace::backend_settings`]) in the
    /// workspace's root and returns its path, for `terraform init -backend-config=PATH`.
    pub fn write_backend_config(&self) -> PathBuf {
        let path = self.root().join("backend.tfbackend");
        std::fs::write(&path, self.backend_settings()).expect("write the backend config file");
        path
    }

    /// Copies the repository's `examples/` tree into the workspace (so an example's relative
    /// module sources such as `../modules/retool-byoc` resolve) and returns the copy's path.
    /// Terraform's own files in the repository's copy (`.terraform/`, lock files, plans) are left
    /// out, so a developer's earlier run cannot change the test.
    pub fn copy_examples(&self) -> PathBuf {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let target = self.root().join("examples");
        copy_tree(&source, &target);
        target
    }

    /// The `terraform` command run in `dir` (e.g. a copied example) instead of `config/`, with a
    /// data directory of its own there.
    pub fn terraform_in(&self, dir: &Path) -> Terraform {
        self.terraform.in_dir(dir)
    }

    /// Puts the `.tf` files of `examples/<name>` in the config dir, `examples/modules` next to it
    /// (examples call the module as `../modules/...`), `variables` as `terraform.tfvars`, and a
    /// backend file for this workspace's bucket that [`Workspace::init_example`] passes to init.
    pub fn use_example(&self, name: &str, variables: &str) {
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let config_dir = self.terraform.working_dir();
        copy_tree(&examples.join(name), config_dir);
        if examples.join("modules").is_dir() {
            copy_tree(&examples.join("modules"), &self.root().join("modules"));
        }
        std::fs::write(config_dir.join("terraform.tfvars"), variables).expect("write terraform.tfvars");
        self.write_backend_config();
    }

    /// `terraform init` of an example placed by [`Workspace::use_example`], with `extra` arguments
    /// (e.g. `-lockfile=readonly`).
    pub async fn init_example(&self, extra: &[&str]) -> Result<CommandOutput, TerraformError> {
        let backend = self.backend_config_argument();
        self.terraform.succeed(&[&["init", "-input=false", "-no-color", backend.as_str()][..], extra].concat()).await
    }

    /// Like [`Workspace::init_example`], but init must fail; returns what it printed.
    pub async fn init_example_fails(&self, extra: &[&str]) -> Result<CommandOutput, TerraformError> {
        let backend = self.backend_config_argument();
        self.terraform.fail(&[&["init", "-input=false", "-no-color", backend.as_str()][..], extra].concat()).await
    }

    fn backend_config_argument(&self) -> String {
        format!("-backend-config={}", self.write_backend_config().display())
    }

    /// A `provider "retool"` block with every service endpoint on the emulator.
    pub fn provider_block(&self) -> String {
        self.provider_block_with("")
    }

    /// A `provider "retool"` block with every service endpoint on the emulator, plus `extra`
    /// arguments or blocks (e.g. `default_tags`).
    pub fn provider_block_with(&self, extra: &str) -> String {
        let endpoint = &self.endpoint;
        let endpoints: String = ["ec2", "eks", "elasticache", "iam", "kms", "rds", "s3", "secretsmanager", "sts"]
            .iter()
            .map(|service| format!("    {service:<14} = \"{endpoint}\"\n"))
            .collect();
        let kubernetes = match self.cluster() {
            Some(cluster) => format!(
                "    kubernetes                = \"{}\"\n    kubernetes_ca_certificate = file(\"{}\")\n",
                cluster.server.url(),
                cluster.server.ca_file().display()
            ),
            None => String::new(),
        };
        format!(
            "provider \"retool\" {{\n  region = \"us-east-1\"\n  endpoints {{\n{endpoints}{kubernetes}  }}\n{extra}}}\n"
        )
    }
}

/// Sets up `provider/` (a private copy of the debug binary) and `mirror/` (the same, for init)
/// under `root`, and returns the CLI config that points Terraform at them.
fn dev_override_installation(root: &Path) -> String {
    let provider_dir = root.join("provider");
    let mirror_dir = root.join("mirror");
    let mirror_package = mirror_dir.join("registry.terraform.io").join(PROVIDER_SOURCE).join(VERSION).join(platform());
    for sub_dir in [&provider_dir, &mirror_package] {
        std::fs::create_dir_all(sub_dir).expect("create workspace directories");
    }
    let provider_copy = provider_dir.join("terraform-provider-retool");
    std::fs::copy(PROVIDER_BINARY, &provider_copy)
        .unwrap_or_else(|error| panic!("copy the provider binary {PROVIDER_BINARY}: {error}"));
    std::fs::hard_link(&provider_copy, mirror_package.join("terraform-provider-retool"))
        .expect("link the provider into the filesystem mirror");
    cli_config_hcl(&provider_dir, &mirror_dir)
}

fn cli_config_hcl(provider_dir: &Path, mirror_dir: &Path) -> String {
    format!(
        r#"provider_installation {{
  dev_overrides {{
    "{PROVIDER_SOURCE}" = "{provider}"
  }}
  filesystem_mirror {{
    path    = "{mirror}"
    include = ["{PROVIDER_SOURCE}"]
  }}
  direct {{
    exclude = ["{PROVIDER_SOURCE}"]
  }}
}}
"#,
        provider = provider_dir.display(),
        mirror = mirror_dir.display(),
    )
}

fn environment(toolchain: &Toolchain, root: &Path, cli_config: &Path, endpoint: &str) -> Vec<(String, String)> {
    let path = |relative: &str| -> String { root.join(relative).display().to_string() };
    let pairs: [(&str, String); 16] = [
        ("TF_CLI_CONFIG_FILE", cli_config.display().to_string()),
        ("TF_DATA_DIR", path("config/.terraform")),
        ("TF_PLUGIN_CACHE_DIR", path("plugin-cache")),
        ("TF_IN_AUTOMATION", "1".into()),
        ("TF_INPUT", "0".into()),
        ("CHECKPOINT_DISABLE", "1".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_CONFIG_FILE", path("aws/config")),
        ("AWS_SHARED_CREDENTIALS_FILE", path("aws/credentials")),
        ("AWS_MAX_ATTEMPTS", "3".into()),
        (VENV_VARIABLE, toolchain.venv.display().to_string()),
    ];
    pairs.into_iter().map(|(name, value)| (name.to_owned(), value)).collect()
}

/// A `retool_network "net"` named `name` in two zones with a single NAT gateway: the smallest
/// network a deployment test runs in (every test has an emulator of its own, so one CIDR serves).
pub fn two_zone_network(name: &str) -> String {
    format!(
        r#"resource "retool_network" "net" {{
  name               = "{name}"
  cidr_block         = "10.44.0.0/16"
  availability_zones = ["us-east-1a", "us-east-1b"]
  nat_gateways       = "single"
}}
"#
    )
}

/// [`two_zone_network`] and the smallest deployment on it, both named `name`, with a database that
/// destroy may delete without a final snapshot.
pub fn network_and_deployment(name: &str) -> String {
    let network = two_zone_network(name);
    format!(
        r#"{network}
resource "retool_deployment" "app" {{
  name           = "{name}"
  network_id     = retool_network.net.id
  retool_version = "3.148.0-stable"
  domain         = "retool.{name}.test"
  database {{
    deletion_protection = false
    skip_final_snapshot = true
  }}
}}
"#
    )
}

/// Copies the directory tree `source` to `target`, leaving out Terraform's working files.
fn copy_tree(source: &Path, target: &Path) {
    std::fs::create_dir_all(target).unwrap_or_else(|error| panic!("create {}: {error}", target.display()));
    let entries = std::fs::read_dir(source).unwrap_or_else(|error| panic!("read {}: {error}", source.display()));
    for entry in entries {
        let entry = entry.expect("read a directory entry");
        let name = entry.file_name();
        let name_text = name.to_string_lossy();
        if name_text.starts_with(".terraform") || name_text.starts_with("terraform.tfstate") || name_text == "tfplan" {
            continue;
        }
        let from = entry.path();
        let to = target.join(&name);
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&from, &to);
        } else {
            std::fs::copy(&from, &to).unwrap_or_else(|error| panic!("copy {}: {error}", from.display()));
        }
    }
}
