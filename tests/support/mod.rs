//! Shared support for integration tests: a real control plane, a namespace per test, the CRD, and
//! waits with timeouts. Each test binary reuses the control plane that `make test` (or
//! `scripts/with-cluster.sh`) started; when run alone it starts one with `scripts/cluster-up.sh`
//! and leaves it running for the next binary (stop it with `make cluster-down`).
#![allow(dead_code)]

pub mod cluster;
pub mod git;
pub mod helm;
pub mod kubelet;
pub mod namespace;
pub mod node;
pub mod wait;

#[allow(unused_imports)]
pub use cluster::{client, ensure_crd, kubectl};
#[allow(unused_imports)]
pub use namespace::TestNamespace;
#[allow(unused_imports)]
pub use wait::{wait_for, wait_rendered, wait_until};
pub mod operator;
