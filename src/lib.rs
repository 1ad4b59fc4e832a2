//! bitbucket-token-operator: validates Bitbucket tokens and renders git-credential Secrets.

pub mod api;
pub mod cli;
pub mod crdgen;
pub mod token;
