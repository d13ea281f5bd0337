//! The tests that drive the provider crate from outside without Terraform or the AWS emulator:
//! the go-plugin transport in-process, the generated reference docs, the release artefacts, and the permission-boundary
//! fence judged by an independent policy simulator and linter (node and parliament, so those are
//! `#[ignore]`d and run by `make test`). One test binary, so the AWS SDK is linked once; run one
//! module with e.g. `cargo test --test integration transport::`.

// A test crate: a failed unwrap, expect, panic or index is a failed test, which is the point
// (clippy.toml allows them inside #[test] functions; these allow them in the helpers too).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod docs;
mod policy_fence;
mod release;
// The release artefacts' helpers, shared with the acceptance tests' mirror install; the hashes
// only those use are unused here.
#[path = "../support/release.rs"]
#[allow(dead_code)]
mod release_artefacts;
mod robustness;
mod transport;
