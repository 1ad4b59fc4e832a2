//! The reconciler: BitbucketTokens in, rendered Secrets and status out.

pub mod backoff;
pub mod context;
pub mod error;
pub mod events;
pub mod gate;
pub mod index;
pub mod load;
pub mod own_writes;
pub mod reconcile;
pub mod rejections;
pub mod resume;
pub mod retained;
pub mod rollout;
pub mod run;
pub mod schedule;
pub mod settings;
pub mod shutdown;
pub mod source;
pub mod status;
pub mod target;
pub mod validate;
pub mod validation_cache;
pub mod verdict;

pub use run::{StartError, run};
pub use settings::RunArgs;
