//! Shared support for the integration tests: a real control plane, a namespace per test, the CRD,
//! waits with timeouts, the Bitbucket fixtures (`world`), the rendered-Secret helpers (`rendered`)
//! and the OpenAPI contract (`contract`). The tests reuse the control plane that `make test` (or
//! `scripts/with-cluster.sh`) started; when run alone they start one with `scripts/cluster-up.sh`
//! and leave it running for the next run (stop it with `make cluster-down`).
#![allow(dead_code)]

pub mod cluster;
pub mod contract;
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
pub mod rendered;
pub mod world;
