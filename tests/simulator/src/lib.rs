//! Bitbucket Cloud and Data Center simulator for the operator's tests and demo.
//!
//! One HTTPS server (own CA, see [`Simulator::ca_pem`]) serves the Cloud API under
//! `/2.0` and the Data Center API under `{context_path}/rest`, reproducing the
//! authentication rules, status codes, bodies, headers, pagination and rate limits
//! described in `bitbucket-api.md`, and serves real git repositories over smart HTTP
//! (`git http-backend`) on Cloud and Data Center clone URLs with the same tokens. It is a
//! dev-dependency only and never part of the operator.

mod auth;
mod cloud;
mod cloud_query;
pub mod contract;
mod control;
mod datacenter;
mod dc_token;
mod error;
mod faults;
mod fixture;
mod git;
mod ids;
mod pagination;
mod ratelimit;
mod recorder;
mod router;
mod server;
mod simulator;
mod state;
mod sync;
mod tls;

pub use dc_token::{DC_TOKEN_PREFIX, dc_legacy_token_secret, dc_token_id, dc_token_secret};
pub use error::SimulatorError;
pub use faults::Fault;
pub use fixture::{
    CloudFixture, CloudProject, CloudRepository, CloudUser, DEFAULT_CONTEXT_PATH,
    DataCenterFixture, DcProject, DcUser, Fixture, RepoPermission, SimTokenKind, TokenFixture,
    Workspace,
};
pub use git::{GitRequest, GitService, SeenHeader};
pub use recorder::{AuthSeen, Platform, RecordedRequest};
pub use simulator::Simulator;
