//! bitbucket-token-operator: validates Bitbucket tokens and renders git-credential Secrets.

pub mod api;
pub mod bitbucket;
pub mod check;
pub mod cli;
pub mod controller;
pub mod crdgen;
mod digest;
pub mod http;
pub mod kubectl;
pub mod leader;
pub mod lease_owner;
pub mod metrics;
pub mod render;
pub mod telemetry;
pub mod token;
pub mod token_metrics;
