//! The tests that drive the provider crate from outside without Terraform or the AWS emulator:
//! the go-plugin transport in-process, the generated reference docs, and the permission-boundary
//! fence judged by an independent policy simulator and linter (node and parliament, so those are
//! `#[ignore]`d and run by `make test`). One test binary, so the AWS SDK is linked once; run one
//! module with e.g. `cargo test --test integration transport::`.

mod docs;
mod policy_fence;
mod transport;
