//! Every integration test of the operator, in one test binary that links once (issue 17). Each
//! module below was a test binary of its own; `scripts/integration-tests.sh` (called by `make
//! test`) runs the modules one after another, each with its tests in parallel as before, because
//! some modules install cluster-wide objects (the chart, the node's pods) that the others must not
//! see. One module alone: `cargo test --test integration -- operator::`.

mod support;

use support::{contract, rendered, world};

mod alerts;
mod bitbucket_client;
mod chart;
mod check_cli;
mod consumers;
mod control_plane;
mod examples;
mod git_e2e;
mod git_faults;
mod image;
mod kubectl_bbt;
mod leader;
mod node;
mod operator;
