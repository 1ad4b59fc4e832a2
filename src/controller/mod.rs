//! The reconciler: BitbucketTokens in, rendered Secrets and status out.

pub(crate) mod backoff;
pub(crate) mod context;
pub(crate) mod error;
pub(crate) mod events;
pub(crate) mod fence;
pub(crate) mod gate;
pub(crate) mod index;
pub(crate) mod load;
pub(crate) mod own_writes;
pub mod reconcile;
pub(crate) mod rejections;
pub(crate) mod resume;
pub(crate) mod retained;
pub mod rollout;
pub mod run;
pub(crate) mod schedule;
pub mod settings;
pub(crate) mod shutdown;
pub(crate) mod source;
pub(crate) mod status;
pub mod target;
pub(crate) mod validate;
pub(crate) mod validation_cache;
pub(crate) mod verdict;

pub use run::{StartError, run};
pub use settings::RunArgs;
