//! bitbucket-token-operator: validates Bitbucket tokens and renders git-credential Secrets.

pub mod api;
pub mod bitbucket;
pub mod check;
pub mod cli;
pub mod controller;
pub mod crdgen;
mod digest;
pub(crate) mod http;
pub mod kubectl;
pub(crate) mod leader;
pub(crate) mod metrics;
pub mod render;
pub(crate) mod telemetry;
pub mod token;
pub(crate) mod token_metrics;
