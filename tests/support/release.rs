//! The release artefacts of the debug provider, and the hashes Terraform checks them by.
//!
//! `scripts/release package` is what `make release` runs on the release build; the tests run it on
//! the debug build (a release build is too slow for every test run) under the crate's version, which
//! the debug binary carries. The checks here are written independently of the script: the zip's
//! central directory is read by hand, and the `h1:` hash is computed from the binary, not the zip.
//! Shared by the integration tests (artefact layout, signature) and the acceptance tests (mirror
//! install).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;

use base64::Engine as _;

/// The version the tests package the debug binary as: the one it reports (`--version`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The debug provider binary cargo built for the tests.
pub const PROVIDER_BINARY: &str = env!("CARGO_BIN_EXE_terraform-provider-retool");

/// The provider's type-qualified binary name, the prefix of every artefact.
pub const NAME: &str = "terraform-provider-retool";

/// Terraform's name for this machine's platform, e.g. `linux_amd64`.
pub fn platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("{}_{arch}", std::env::consts::OS)
}

/// `terraform-provider-retool_<v>_<os>_<arch>.zip` for this machine.
pub fn zip_name() -> String {
    format!("{NAME}_{VERSION}_{}.zip", platform())
}

/// The one file inside the zip: `terraform-provider-retool_v<v>`.
pub fn binary_name() -> String {
    format!("{NAME}_v{VERSION}")
}

pub fn sums_name() -> String {
    format!("{NAME}_{VERSION}_SHA256SUMS")
}

pub fn manifest_name() -> String {
    format!("{NAME}_{VERSION}_manifest.json")
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts").join("release")
}

/// Runs `scripts/release package` on `binary` as `version` into `out`, with `environment` added
/// (e.g. the signing key), and returns what it did whatever the outcome.
pub fn run_package(binary: &str, version: &str, out: &Path, environment: &[(&str, &OsStr)]) -> Output {
    let mut command = std::process::Command::new(script());
    command.args(["package", "--binary", binary, "--version", version, "--out"]).arg(out);
    command.env_remove("GPG_FINGERPRINT").env_remove("GPG_KEY_ID");
    for (name, value) in environment {
        command.env(name, value);
    }
    command.output().unwrap_or_else(|error| panic!("cannot run {} (needs python3): {error}", script().display()))
}

/// Packages the debug binary into `out` (unsigned unless `environment` names a key); panics with
/// the script's output if it fails.
pub fn package_debug_build(out: &Path, environment: &[(&str, &OsStr)]) {
    let output = run_package(PROVIDER_BINARY, VERSION, out, environment);
    assert!(output.status.success(), "scripts/release package failed:\n{}", describe(&output));
}

/// The exit status and both streams of a finished command.
pub fn describe(output: &Output) -> String {
    format!(
        "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The `(hash, file name)` lines of a SHA256SUMS file; panics on a line not in sha256sum's format.
pub fn read_sums(path: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()));
    text.lines()
        .map(|line| {
            let (hash, name) = line.split_once("  ").unwrap_or_else(|| panic!("not `<hash>  <file>`: {line:?}"));
            assert!(
                hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
                "not a lower-case sha256: {line:?}"
            );
            (hash.to_owned(), name.to_owned())
        })
        .collect()
}

/// The `zh:` hash Terraform's registry protocol uses for a package: sha256 of the zip, from the
/// SHA256SUMS in `dist`.
pub fn zh_hash(dist: &Path) -> String {
    let zip = zip_name();
    let (hash, _) = read_sums(&dist.join(sums_name()))
        .into_iter()
        .find(|(_, name)| *name == zip)
        .unwrap_or_else(|| panic!("SHA256SUMS in {} has no line for {zip}", dist.display()));
    format!("zh:{hash}")
}

/// The `h1:` hash of the unpacked package (Go's dirhash "Hash1", which Terraform uses): base64 of
/// the sha256 of the sorted lines `<sha256 hex>  <relative path>\n`, here one line for the binary.
pub fn h1_hash() -> String {
    let binary = std::fs::read(PROVIDER_BINARY).expect("read the provider binary");
    let lines = format!("{}  {}\n", sha256_hex(&binary), binary_name());
    let summary = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, lines.as_bytes());
    format!("h1:{}", base64::engine::general_purpose::STANDARD.encode(summary.as_ref()))
}

/// One entry of a zip's central directory.
#[derive(Debug, PartialEq, Eq)]
pub struct ZipEntry {
    pub name: String,
    /// Unix mode (file type and permissions) from the external attributes.
    pub mode: u32,
    pub uncompressed_size: u64,
}

/// Reads the central directory of a zip (no zip64, no archive comment: what the script writes).
pub fn zip_entries(zip: &[u8]) -> Vec<ZipEntry> {
    const END_OF_CENTRAL_DIRECTORY: u32 = 0x0605_4b50;
    const CENTRAL_FILE_HEADER: u32 = 0x0201_4b50;
    let u16_at = |at: usize| u16::from_le_bytes([zip[at], zip[at + 1]]);
    let u32_at = |at: usize| u32::from_le_bytes([zip[at], zip[at + 1], zip[at + 2], zip[at + 3]]);
    let end = zip.len().checked_sub(22).expect("a zip is at least 22 bytes");
    assert_eq!(u32_at(end), END_OF_CENTRAL_DIRECTORY, "no end-of-central-directory record at the end of the zip");
    let count = usize::from(u16_at(end + 10));
    let mut at = u32_at(end + 16) as usize;
    (0..count)
        .map(|_| {
            assert_eq!(u32_at(at), CENTRAL_FILE_HEADER, "bad central directory header at {at}");
            let made_by_system = zip[at + 5];
            assert_eq!(made_by_system, 3, "entry not made by a Unix system: its mode bits would be ignored");
            let name_length = usize::from(u16_at(at + 28));
            let skip = usize::from(u16_at(at + 30)) + usize::from(u16_at(at + 32));
            let entry = ZipEntry {
                name: String::from_utf8(zip[at + 46..at + 46 + name_length].to_vec()).expect("UTF-8 entry name"),
                mode: u32_at(at + 38) >> 16,
                uncompressed_size: u64::from(u32_at(at + 24)),
            };
            at += 46 + name_length + skip;
            entry
        })
        .collect()
}
