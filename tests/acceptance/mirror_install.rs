//! Installing the provider the way its users do: from release artefacts, through `terraform init`,
//! with no `dev_overrides`.
//!
//! The debug binary is packaged by `scripts/release package` (what `make release` runs) and laid
//! out as a `filesystem_mirror` (packed layout) and as a `network_mirror` served over HTTPS from
//! loopback. For each, a real `terraform init` installs it and `.terraform.lock.hcl` must record the
//! version and the `h1:` hash of the unpacked package, computed here independently. Terraform
//! records only `h1:` when installing from a mirror (found by running it: `zh:` comes only from a
//! registry's signed SHA256SUMS), so the test then writes the lock file a user would commit from
//! our SHA256SUMS (`zh:`, the zip's sha256) and shows that `init -lockfile=readonly` accepts it, and
//! refuses a lock file whose hash is not the package's. Finally the example is planned and applied
//! against the emulator with the installed provider, a second plan is empty, a second readonly init
//! succeeds, and destroy leaves no VPC behind.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::support::https::HttpsDirectory;
use crate::support::release::{self, VERSION, h1_hash, zh_hash, zip_name};
use crate::support::workspace::PROVIDER_SOURCE;
use crate::support::{Emulator, Installation, Toolchain, Workspace, acceptance_toolchain, aws};

/// The example applied with the installed provider: one instance through the module.
const EXAMPLE: &str = "complete";

/// The provider's address in the lock file.
const LOCKED_ADDRESS: &str = "registry.terraform.io/retool-byoc/retool";

/// The mirror directory of the provider: `<mirror>/registry.terraform.io/retool-byoc/retool`.
fn provider_dir(mirror: &Path) -> PathBuf {
    mirror.join("registry.terraform.io").join(PROVIDER_SOURCE)
}

/// A `provider_installation` block that installs our provider by `method` from `location` (the
/// method's `path` or `url` attribute) and nothing else from anywhere but the registry.
fn installation(method: &str, location: &str) -> String {
    format!(
        "provider_installation {{\n  {method} {{\n    {location}\n    include = [\"{PROVIDER_SOURCE}\"]\n  }}\n  \
         direct {{\n    exclude = [\"{PROVIDER_SOURCE}\"]\n  }}\n}}\n"
    )
}

/// What both tests start from: their toolchain and private emulator, and the debug build packaged
/// into `<scratch>/dist` with its zip already in the mirror tree `<scratch>/mirror`.
struct Packaged {
    toolchain: Toolchain,
    emulator: Emulator,
    scratch: tempfile::TempDir,
}

impl Packaged {
    fn new(test_name: &str) -> Self {
        let toolchain = acceptance_toolchain(test_name);
        let emulator = Emulator::start(&toolchain);
        let scratch = tempfile::tempdir().expect("temp dir");
        let packaged = Self { toolchain, emulator, scratch };
        release::package_debug_build(&packaged.dist(), &[]);
        let provider = provider_dir(&packaged.mirror());
        std::fs::create_dir_all(&provider).expect("create the mirror");
        std::fs::copy(packaged.dist().join(zip_name()), provider.join(zip_name())).expect("put the zip in the mirror");
        packaged
    }

    fn dist(&self) -> PathBuf {
        self.scratch.path().join("dist")
    }

    fn mirror(&self) -> PathBuf {
        self.scratch.path().join("mirror")
    }

    fn workspace(&self, provider_installation: String, settings: Vec<(String, String)>) -> Workspace {
        let installation = Installation::Mirror { provider_installation, settings };
        Workspace::with_installation(&self.toolchain, &self.emulator, installation)
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "acceptance test: needs TF_ACC=1 and the test venv (make test)"]
async fn filesystem_mirror_installs_the_release_and_locks_its_hashes() {
    // Packed layout: the zip itself, under the provider's hostname/namespace/type.
    let packaged = Packaged::new("filesystem_mirror_installs_the_release_and_locks_its_hashes");
    let location = format!("path = \"{}\"", packaged.mirror().display());
    let workspace = packaged.workspace(installation("filesystem_mirror", &location), Vec::new());
    install_and_apply(&workspace, &packaged.emulator, &packaged.dist()).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "acceptance test: needs TF_ACC=1 and the test venv (make test)"]
async fn network_mirror_installs_the_release_and_locks_its_hashes() {
    // The network mirror protocol: index.json lists the versions, <version>.json the archives
    // per platform (URL relative to it) with the hashes a client may check them by.
    let packaged = Packaged::new("network_mirror_installs_the_release_and_locks_its_hashes");
    let provider = provider_dir(&packaged.mirror());
    let index = json!({ "versions": { VERSION: {} } });
    std::fs::write(provider.join("index.json"), index.to_string()).expect("write index.json");
    let hashes = [zh_hash(&packaged.dist())];
    let archives = json!({ "archives": { release::platform(): { "url": zip_name(), "hashes": hashes } } });
    std::fs::write(provider.join(format!("{VERSION}.json")), archives.to_string()).expect("write the version file");

    let server = HttpsDirectory::start(&packaged.mirror(), &packaged.scratch.path().join("mirror-ca.pem")).await;
    let settings = vec![("SSL_CERT_FILE".to_owned(), server.certificate_file().display().to_string())];
    let location = format!("url = \"{}\"", server.url());
    let workspace = packaged.workspace(installation("network_mirror", &location), settings);
    install_and_apply(&workspace, &packaged.emulator, &packaged.dist()).await;

    let zip_path = format!("/registry.terraform.io/{PROVIDER_SOURCE}/{}", zip_name());
    let requests = server.requests();
    assert!(
        requests.contains(&zip_path),
        "Terraform never downloaded {zip_path} from the network mirror; it asked for {requests:?}"
    );
}

/// The steps both mirror kinds share, from `init` to `destroy`.
async fn install_and_apply(workspace: &Workspace, emulator: &Emulator, dist: &Path) {
    let endpoint = emulator.endpoint();
    // The example's deployment applies Retool's workloads to its cluster: a test server stands for it.
    let kubernetes = workspace.start_cluster(&["retool-prod"]).await.example_variables();
    workspace
        .use_example(EXAMPLE, &format!("aws_endpoint = \"{endpoint}\"\ndeletion_protection = false\n{kubernetes}"));
    let lock_file = workspace.terraform().working_dir().join(".terraform.lock.hcl");
    let data_dir = workspace.terraform().working_dir().join(".terraform");

    let init = workspace.init_example(&[]).await.expect("init installs the provider from the mirror");
    assert!(
        init.stdout.contains(&format!("Installed {PROVIDER_SOURCE} v{VERSION}")),
        "init did not report installing {PROVIDER_SOURCE} v{VERSION}:\n{init}"
    );
    let (version, hashes) = locked(&std::fs::read_to_string(&lock_file).expect("init wrote .terraform.lock.hcl"));
    assert_eq!(version, VERSION, "the lock file's version");
    let (h1, zh) = (h1_hash(), zh_hash(dist));
    assert!(hashes.contains(&h1), "the lock file records {hashes:?}, not the package's {h1}");
    assert!(
        hashes.iter().all(|hash| *hash == h1 || *hash == zh),
        "the lock file records {hashes:?}: hashes other than the package's {h1} and {zh}"
    );

    // The lock file a user commits from our SHA256SUMS: accepted by a readonly init that installs
    // afresh (no .terraform), and refused when its hash is not the package's.
    std::fs::write(&lock_file, lock_file_with(&[&zh])).expect("write the lock file");
    std::fs::remove_dir_all(&data_dir).expect("remove .terraform");
    workspace.init_example(&["-lockfile=readonly"]).await.expect("a lock file with SHA256SUMS' zh: hash is accepted");
    let wrong = format!("zh:{}", "0".repeat(64));
    std::fs::write(&lock_file, lock_file_with(&[&wrong])).expect("write a wrong lock file");
    std::fs::remove_dir_all(&data_dir).expect("remove .terraform");
    let refused = workspace
        .init_example_fails(&["-lockfile=readonly"])
        .await
        .expect("init -lockfile=readonly refuses a lock file whose only hash is not the package's");
    assert!(
        // Terraform wraps its messages: compare with the line breaks as spaces.
        refused.stderr.split_whitespace().collect::<Vec<_>>().join(" ").contains("doesn't match any of the checksums"),
        "init -lockfile=readonly failed, but not on the package's checksum:\n{refused}"
    );
    std::fs::write(&lock_file, lock_file_with(&[&h1, &zh])).expect("write the lock file");
    workspace.init_example(&["-lockfile=readonly"]).await.expect("init with the committed lock file");

    let terraform = workspace.terraform();
    terraform.plan().await.expect("plan with the installed provider").assert_changes("first plan");
    terraform.apply().await.expect("apply with the installed provider");
    let ec2 = aws::ec2(&endpoint);
    let vpcs = network_vpcs(&terraform.show_json().await.expect("show the state"));
    assert!(!vpcs.is_empty(), "the example's state holds no retool_network");
    for vpc in &vpcs {
        let found = ec2.describe_vpcs().vpc_ids(vpc).send().await.expect("DescribeVpcs");
        assert_eq!(found.vpcs().len(), 1, "the applied network's VPC {vpc} is not in the emulator");
    }
    terraform.plan().await.expect("second plan").assert_empty("second plan after apply");
    workspace.init_example(&["-lockfile=readonly"]).await.expect("a second init -lockfile=readonly");
    assert_eq!(
        locked(&std::fs::read_to_string(&lock_file).expect("read the lock file")),
        (VERSION.to_owned(), vec![h1.clone(), zh.clone()]),
        "the readonly inits changed the lock file"
    );

    terraform.destroy().await.expect("destroy");
    let left = ec2.describe_vpcs().send().await.expect("DescribeVpcs");
    let left: Vec<&str> = left.vpcs().iter().filter_map(|vpc| vpc.vpc_id()).collect();
    for vpc in &vpcs {
        assert!(!left.contains(&vpc.as_str()), "destroy left the VPC {vpc} in the emulator");
    }
}

/// A lock file for our provider at [`VERSION`] with `hashes`.
fn lock_file_with(hashes: &[&str]) -> String {
    let hashes: String = hashes.iter().map(|hash| format!("    \"{hash}\",\n")).collect();
    format!("provider \"{LOCKED_ADDRESS}\" {{\n  version = \"{VERSION}\"\n  hashes = [\n{hashes}  ]\n}}\n")
}

/// The version and hashes the lock file records for our provider (read line by line: the file is
/// Terraform's own rendering, one attribute or hash per line).
fn locked(lock_file: &str) -> (String, Vec<String>) {
    let block = lock_file
        .split_once(&format!("provider \"{LOCKED_ADDRESS}\" {{"))
        .map(|(_, rest)| rest.split_once("\n}").map_or(rest, |(block, _)| block))
        .unwrap_or_else(|| panic!("the lock file has no block for {LOCKED_ADDRESS}:\n{lock_file}"));
    let quoted = |line: &str| line.split('"').nth(1).map(str::to_owned);
    let version = block
        .lines()
        .find(|line| line.trim_start().starts_with("version"))
        .and_then(quoted)
        .unwrap_or_else(|| panic!("no version in the lock file's block:\n{block}"));
    let hashes = block
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("\"h1:") || line.starts_with("\"zh:"))
        .filter_map(quoted)
        .collect();
    (version, hashes)
}

/// The VPC ids of every `retool_network` in a `show -json` state, modules included.
fn network_vpcs(state: &Value) -> Vec<String> {
    fn walk(module: &Value, found: &mut Vec<String>) {
        for resource in module["resources"].as_array().into_iter().flatten() {
            if resource["type"] == "retool_network" {
                found.extend(resource["values"]["vpc_id"].as_str().map(str::to_owned));
            }
        }
        for child in module["child_modules"].as_array().into_iter().flatten() {
            walk(child, found);
        }
    }
    let mut found = Vec::new();
    walk(&state["values"]["root_module"], &mut found);
    found
}
