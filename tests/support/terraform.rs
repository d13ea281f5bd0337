//! Runs the real `terraform` CLI in one test's workspace and reports what happened.
//!
//! The environment is built from scratch (not inherited) so nothing on the developer's machine
//! (AWS profiles, TF_* settings, a ~/.terraformrc) changes a test's outcome, and so no request
//! can leave for real AWS: fake static credentials, IMDS disabled, every endpoint on loopback.
//! Failures carry the command line, exit code and both output streams.

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// A Terraform command that takes longer than this is killed and reported.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(600);

/// Variables passed through from the caller's environment: what a process needs to run at all,
/// plus Terraform's and the provider's logging switches for debugging a failing test.
const INHERITED_VARIABLES: &[&str] =
    &["PATH", "HOME", "TMPDIR", "LANG", "TF_LOG", "TF_LOG_PROVIDER", "TF_LOG_CORE", "TF_LOG_PATH", "RUST_BACKTRACE"];

/// The `terraform` command bound to one working directory and environment.
pub struct Terraform {
    command: Vec<PathBuf>,
    working_dir: PathBuf,
    environment: Vec<(String, String)>,
}

/// What a finished Terraform command printed.
#[derive(Clone)]
pub struct CommandOutput {
    pub command: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A Terraform command that did not do what the test required.
pub struct TerraformError {
    pub reason: String,
    pub output: CommandOutput,
}

/// Result of `terraform plan -detailed-exitcode`.
pub struct PlanOutcome {
    pub has_changes: bool,
    pub output: CommandOutput,
}

impl Terraform {
    pub fn new(command: Vec<PathBuf>, working_dir: PathBuf, settings: Vec<(String, String)>) -> Self {
        let mut environment: Vec<(String, String)> = INHERITED_VARIABLES
            .iter()
            .filter_map(|name| std::env::var(name).ok().map(|value| ((*name).to_owned(), value)))
            .collect();
        environment.extend(settings);
        Self { command, working_dir, environment }
    }

    /// The same command with one more environment setting (e.g. `TF_LOG=trace` for one test).
    pub fn with_setting(&self, name: &str, value: &str) -> Self {
        let mut environment: Vec<(String, String)> =
            self.environment.iter().filter(|(known, _)| known != name).cloned().collect();
        environment.push((name.to_owned(), value.to_owned()));
        Self { command: self.command.clone(), working_dir: self.working_dir.clone(), environment }
    }

    /// The same command run in `dir`, with its own data directory `dir/.terraform`.
    pub fn in_dir(&self, dir: &Path) -> Self {
        let data_dir = dir.join(".terraform").display().to_string();
        let moved =
            Self { command: self.command.clone(), working_dir: dir.to_owned(), environment: self.environment.clone() };
        moved.with_setting("TF_DATA_DIR", &data_dir)
    }

    /// Writes an executable shell script at `path` that runs this `terraform` command with its
    /// arguments, for programs that take a terraform binary (e.g. `TERRAFORM=PATH`).
    pub fn write_wrapper(&self, path: &Path) {
        let quoted: Vec<String> = self
            .command
            .iter()
            .map(|part| format!("'{}'", part.display().to_string().replace('\'', r"'\''")))
            .collect();
        std::fs::write(path, format!("#!/bin/sh\nexec {} \"$@\"\n", quoted.join(" ")))
            .expect("write the terraform wrapper");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("make the wrapper executable");
    }

    pub fn working_dir(&self) -> &Path {
        &self.working_dir
    }

    /// Runs `terraform ARGS` and returns its output whatever the exit code.
    pub async fn run(&self, arguments: &[&str]) -> CommandOutput {
        let (program, leading) = self.command.split_first().expect("terraform command is never empty");
        let all: Vec<&OsStr> =
            leading.iter().map(|part| part.as_os_str()).chain(arguments.iter().map(OsStr::new)).collect();
        self.execute(format!("terraform {}", arguments.join(" ")), program, &all, &[]).await
    }

    /// Starts `terraform ARGS` with its output piped, without waiting for it (a test that kills
    /// Terraform part-way keeps the child).
    pub fn spawn(&self, arguments: &[&str]) -> tokio::process::Child {
        let (program, leading) = self.command.split_first().expect("terraform command is never empty");
        let all: Vec<&OsStr> =
            leading.iter().map(|part| part.as_os_str()).chain(arguments.iter().map(OsStr::new)).collect();
        self.start(&format!("terraform {}", arguments.join(" ")), program, &all, &[])
    }

    /// Runs `program ARGS` (not Terraform: e.g. a pipeline script that runs Terraform) in the
    /// working directory with this command's environment plus `extra`, and returns its output
    /// whatever the exit code.
    pub async fn run_program(&self, program: &Path, arguments: &[&str], extra: &[(&str, &str)]) -> CommandOutput {
        let all: Vec<&OsStr> = arguments.iter().map(OsStr::new).collect();
        self.execute(format!("{} {}", program.display(), arguments.join(" ")), program, &all, extra).await
    }

    /// Runs `program` with `arguments` (described as `command_line` in failures), waits for it at
    /// most [`COMMAND_TIMEOUT`] and collects what it printed.
    async fn execute(
        &self,
        command_line: String,
        program: &Path,
        arguments: &[&OsStr],
        extra: &[(&str, &str)],
    ) -> CommandOutput {
        let child = self.start(&command_line, program, arguments, extra);
        let output = match tokio::time::timeout(COMMAND_TIMEOUT, child.wait_with_output()).await {
            Ok(Ok(output)) => output,
            Ok(Err(error)) => panic!("waiting for `{command_line}` failed: {error}"),
            Err(_) => panic!("`{command_line}` did not finish within {COMMAND_TIMEOUT:?}"),
        };
        CommandOutput {
            command: command_line,
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Starts `program` in the working directory with this command's environment plus `extra`,
    /// its output piped.
    fn start(
        &self,
        command_line: &str,
        program: &Path,
        arguments: &[&OsStr],
        extra: &[(&str, &str)],
    ) -> tokio::process::Child {
        tokio::process::Command::new(program)
            .args(arguments)
            .current_dir(&self.working_dir)
            .env_clear()
            .envs(self.environment.iter().map(|(name, value)| (name, value)))
            .envs(extra.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start `{command_line}` ({program:?}): {error}"))
    }

    /// Runs `terraform ARGS` and requires exit code 0.
    pub async fn succeed(&self, arguments: &[&str]) -> Result<CommandOutput, TerraformError> {
        let output = self.run(arguments).await;
        if output.code == 0 { Ok(output) } else { Err(TerraformError::new("exited with an error", output)) }
    }

    /// Runs `terraform ARGS` and requires it to fail (exit code 1); returns what it printed.
    pub async fn fail(&self, arguments: &[&str]) -> Result<CommandOutput, TerraformError> {
        let output = self.run(arguments).await;
        if output.code == 1 { Ok(output) } else { Err(TerraformError::new("was expected to fail but did not", output)) }
    }

    pub async fn init(&self) -> Result<CommandOutput, TerraformError> {
        self.succeed(&["init", "-input=false", "-no-color"]).await
    }

    pub async fn validate(&self) -> Result<CommandOutput, TerraformError> {
        self.succeed(&["validate", "-no-color"]).await
    }

    /// `terraform plan -detailed-exitcode`: tells an empty plan (0) from one with changes (2).
    pub async fn plan(&self) -> Result<PlanOutcome, TerraformError> {
        self.plan_with(&[]).await
    }

    /// `terraform plan -refresh-only -detailed-exitcode`.
    pub async fn plan_refresh_only(&self) -> Result<PlanOutcome, TerraformError> {
        self.plan_with(&["-refresh-only"]).await
    }

    pub async fn plan_with(&self, extra: &[&str]) -> Result<PlanOutcome, TerraformError> {
        let mut arguments = vec!["plan", "-input=false", "-no-color", "-detailed-exitcode"];
        arguments.extend_from_slice(extra);
        let output = self.run(&arguments).await;
        match output.code {
            0 => Ok(PlanOutcome { has_changes: false, output }),
            2 => Ok(PlanOutcome { has_changes: true, output }),
            _ => Err(TerraformError::new("plan failed", output)),
        }
    }

    /// Saves a plan and returns Terraform's JSON rendering of it (`show -json PLANFILE`).
    pub async fn plan_json(&self) -> Result<serde_json::Value, TerraformError> {
        self.succeed(&["plan", "-input=false", "-no-color", "-out=acceptance.tfplan"]).await?;
        let shown = self.succeed(&["show", "-json", "-no-color", "acceptance.tfplan"]).await?;
        parse_json(shown)
    }

    pub async fn apply(&self) -> Result<CommandOutput, TerraformError> {
        self.succeed(&["apply", "-input=false", "-no-color", "-auto-approve"]).await
    }

    pub async fn import(&self, address: &str, id: &str) -> Result<CommandOutput, TerraformError> {
        self.succeed(&["import", "-input=false", "-no-color", address, id]).await
    }

    pub async fn destroy(&self) -> Result<CommandOutput, TerraformError> {
        self.succeed(&["destroy", "-input=false", "-no-color", "-auto-approve"]).await
    }

    /// The current state as Terraform's JSON (`show -json`).
    pub async fn show_json(&self) -> Result<serde_json::Value, TerraformError> {
        parse_json(self.succeed(&["show", "-json", "-no-color"]).await?)
    }

    /// Root module outputs as `{ name: value }` (`output -json`, values unwrapped).
    pub async fn outputs(&self) -> Result<serde_json::Value, TerraformError> {
        let outputs = parse_json(self.succeed(&["output", "-json", "-no-color"]).await?)?;
        let values = outputs
            .as_object()
            .map(|map| map.iter().map(|(name, output)| (name.clone(), output["value"].clone())).collect())
            .unwrap_or_default();
        Ok(serde_json::Value::Object(values))
    }
}

fn parse_json(output: CommandOutput) -> Result<serde_json::Value, TerraformError> {
    serde_json::from_str(&output.stdout)
        .map_err(|error| TerraformError::new(&format!("printed invalid JSON ({error})"), output))
}

impl PlanOutcome {
    /// Panics, showing the plan, unless Terraform planned no changes.
    #[track_caller]
    pub fn assert_empty(&self, context: &str) {
        assert!(
            !self.has_changes,
            "{context}: expected an empty plan, but Terraform planned changes:\n{}",
            self.output
        );
    }

    /// Panics, showing the plan, unless Terraform planned changes.
    #[track_caller]
    pub fn assert_changes(&self, context: &str) {
        assert!(self.has_changes, "{context}: expected planned changes, but the plan was empty:\n{}", self.output);
    }
}

impl TerraformError {
    fn new(reason: &str, output: CommandOutput) -> Self {
        Self { reason: reason.to_owned(), output }
    }
}

impl fmt::Display for CommandOutput {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "$ {} (exit code {})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command, self.code, self.stdout, self.stderr
        )
    }
}

impl fmt::Debug for CommandOutput {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, formatter)
    }
}

impl fmt::Display for TerraformError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "`{}` {}\n{}", self.output.command, self.reason, self.output)
    }
}

// `Result::expect` prints the error with Debug: make that the readable rendering too.
impl fmt::Debug for TerraformError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, formatter)
    }
}

impl std::error::Error for TerraformError {}
