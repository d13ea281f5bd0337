//! The release artefacts `make release` publishes, made by its packaging step
//! (`scripts/release package`) from the debug binary: the layout a provider registry and Terraform
//! Cloud's private registry expect, checksums that match the files, the manifest, the refusal to
//! name a binary after a version it does not carry, and a GPG signature that verifies with a
//! throwaway key and stops verifying once SHA256SUMS is altered (that one needs gpg, so it is
//! `#[ignore]`d and run by `make test`).

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use crate::release_artefacts::{
    self as release, NAME, PROVIDER_BINARY, VERSION, binary_name, manifest_name, read_sums, sha256_hex, sums_name,
    zip_entries, zip_name,
};

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read the output directory")
        .map(|entry| entry.expect("directory entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn packaging_writes_the_registry_layout() {
    let out = tempfile::tempdir().expect("temp dir");
    release::package_debug_build(out.path(), &[]);

    let mut expected = vec![zip_name(), manifest_name(), sums_name()];
    expected.sort();
    assert_eq!(files_in(out.path()), expected, "no signing key is configured, so no .sig either");

    // The zip holds one file, the binary named for the version, executable by everyone.
    let zip = std::fs::read(out.path().join(zip_name())).expect("read the zip");
    let entries = zip_entries(&zip);
    let binary_size = std::fs::metadata(PROVIDER_BINARY).expect("the provider binary").len();
    assert_eq!(entries.len(), 1, "the zip holds {entries:?}");
    assert_eq!(entries[0].name, binary_name(), "the zip's one entry");
    assert_eq!(
        entries[0].mode,
        0o100_755,
        "mode of {} is {:o}: a regular executable file",
        binary_name(),
        entries[0].mode
    );
    assert_eq!(entries[0].uncompressed_size, binary_size, "the zipped binary is the provider binary");

    // SHA256SUMS: sha256sum's format, one line per zip and the manifest, matching the files.
    let sums = read_sums(&out.path().join(sums_name()));
    let mut listed: Vec<String> = sums.iter().map(|(_, name)| name.clone()).collect();
    listed.sort();
    let mut hashed = vec![zip_name(), manifest_name()];
    hashed.sort();
    assert_eq!(listed, hashed, "SHA256SUMS lists exactly the zip and the manifest");
    for (hash, name) in &sums {
        let actual = sha256_hex(&std::fs::read(out.path().join(name)).expect("read a listed file"));
        assert_eq!(*hash, actual, "SHA256SUMS' hash of {name}");
    }

    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join(manifest_name())).expect("read the manifest"))
            .expect("the manifest is JSON");
    assert_eq!(manifest, serde_json::json!({"version": 1, "metadata": {"protocol_versions": ["6.0"]}}));

    // Packaged again, the zip is byte for byte the same (fixed times, fixed order).
    release::package_debug_build(out.path(), &[]);
    assert_eq!(std::fs::read(out.path().join(zip_name())).expect("read the zip again"), zip, "the zip is reproducible");
}

#[test]
fn packaging_refuses_a_version_the_binary_does_not_carry() {
    let out = tempfile::tempdir().expect("temp dir");
    let refused = release::run_package(PROVIDER_BINARY, "9.9.9", out.path(), &[]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains(&format!("not '{NAME} 9.9.9'")),
        "packaging the {VERSION} binary as 9.9.9 was not refused for its version:\n{}",
        release::describe(&refused)
    );
    for not_semver in ["v1.0.0", "1.0", "01.2.3", "1.2.3-"] {
        let refused = release::run_package(PROVIDER_BINARY, not_semver, out.path(), &[]);
        assert!(
            !refused.status.success() && String::from_utf8_lossy(&refused.stderr).contains("not a semantic version"),
            "version {not_semver:?} was not refused as semver:\n{}",
            release::describe(&refused)
        );
    }
    assert!(files_in(out.path()).is_empty(), "refused packaging wrote {:?}", files_in(out.path()));
}

/// A private gpg home with one throwaway signing key; its agent is stopped on drop.
struct ThrowawayKey {
    home: tempfile::TempDir,
    fingerprint: String,
}

impl ThrowawayKey {
    fn generate() -> Self {
        let home = tempfile::Builder::new().prefix("gpg").tempdir().expect("temp gpg home");
        let generated = gpg(
            home.path(),
            &[
                "--passphrase",
                "",
                "--quick-gen-key",
                "Release Test <release-test@example.invalid>",
                "default",
                "sign",
                "1d",
            ],
        );
        assert!(generated.status.success(), "gpg could not generate a key:\n{}", release::describe(&generated));
        let listed = gpg(home.path(), &["--with-colons", "--list-secret-keys"]);
        let listing = String::from_utf8_lossy(&listed.stdout);
        let fingerprint = listing
            .lines()
            .find_map(|line| line.strip_prefix("fpr:"))
            .and_then(|rest| rest.split(':').find(|field| !field.is_empty()))
            .unwrap_or_else(|| panic!("no fingerprint in gpg's listing:\n{listing}"))
            .to_owned();
        Self { home, fingerprint }
    }

    fn verify(&self, signature: &Path, file: &Path) -> std::process::Output {
        let mut arguments = vec!["--verify".to_owned()];
        arguments.extend([signature, file].map(|path| path.display().to_string()));
        let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
        gpg(self.home.path(), &arguments)
    }
}

impl Drop for ThrowawayKey {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf").args(["--kill", "gpg-agent"]).env("GNUPGHOME", self.home.path()).status();
    }
}

fn gpg(home: &Path, arguments: &[&str]) -> std::process::Output {
    Command::new("gpg")
        .arg("--batch")
        .args(arguments)
        .env("GNUPGHOME", home)
        .output()
        .unwrap_or_else(|error| panic!("cannot run gpg (install gnupg, or run `make test`): {error}"))
}

#[test]
#[ignore = "needs gpg (gnupg): run `make test`"]
fn signature_verifies_and_fails_once_the_checksums_change() {
    let key = ThrowawayKey::generate();
    let out = tempfile::tempdir().expect("temp dir");
    let environment = [("GNUPGHOME", key.home.path().as_os_str()), ("GPG_FINGERPRINT", OsStr::new(&key.fingerprint))];
    release::package_debug_build(out.path(), &environment);

    let sums = out.path().join(sums_name());
    let signature = out.path().join(format!("{}.sig", sums_name()));
    let binary_signature = std::fs::read(&signature).expect("a signing key is configured, so the .sig exists");
    assert_ne!(binary_signature.first(), Some(&b'-'), "the signature is binary, not ASCII-armoured");
    let verified = key.verify(&signature, &sums);
    assert!(
        verified.status.success(),
        "gpg --verify of the release signature failed:\n{}",
        release::describe(&verified)
    );
    assert!(
        String::from_utf8_lossy(&verified.stderr).contains("Good signature"),
        "gpg --verify did not report a good signature:\n{}",
        release::describe(&verified)
    );

    let mut altered = std::fs::read_to_string(&sums).expect("read SHA256SUMS");
    altered.push_str(&format!("{}  {NAME}_{VERSION}_windows_amd64.zip\n", "0".repeat(64)));
    std::fs::write(&sums, altered).expect("alter SHA256SUMS");
    let rejected = key.verify(&signature, &sums);
    assert!(
        !rejected.status.success() && String::from_utf8_lossy(&rejected.stderr).contains("BAD signature"),
        "gpg --verify accepted an altered SHA256SUMS:\n{}",
        release::describe(&rejected)
    );
}

#[test]
fn the_binary_reports_its_version_and_logs_it_at_start() {
    let asked = Command::new(PROVIDER_BINARY).arg("--version").output().expect("run the provider with --version");
    assert!(asked.status.success(), "--version failed:\n{}", release::describe(&asked));
    assert_eq!(String::from_utf8_lossy(&asked.stdout), format!("{NAME} {VERSION}\n"));

    // Started as Terraform starts it, the first log line names the provider, version and protocol.
    let mut started = Command::new(PROVIDER_BINARY)
        .env_clear()
        .env("TF_PLUGIN_MAGIC_COOKIE", terraform_provider_retool::plugin::handshake::MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "6")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the provider");
    let mut first_line = String::new();
    let read = std::io::BufRead::read_line(
        &mut std::io::BufReader::new(started.stderr.take().expect("piped stderr")),
        &mut first_line,
    );
    let _ = started.kill();
    let _ = started.wait();
    read.expect("read the provider's first log line");
    let line: serde_json::Value = serde_json::from_str(&first_line).expect("an hclog JSON line");
    assert_eq!(line["@level"], "info", "{first_line}");
    assert_eq!(line["version"], VERSION, "{first_line}");
    assert_eq!(line["protocol"], 6, "{first_line}");
    assert_eq!(line["provider"], "registry.terraform.io/retool-byoc/retool", "{first_line}");
}
