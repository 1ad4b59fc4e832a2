//! The reconciler: BitbucketTokens in, rendered Secrets and status out.

pub mod error;
pub mod events;
pub mod reasons;
pub mod schedule;
pub mod settings;
pub mod source;
pub mod status;
pub mod validation_cache;
pub mod verdict;

pub use settings::RunArgs;
